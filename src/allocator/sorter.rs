//! The DRF sorter: orders clients (roles, or the frameworks of one role) by
//! dominant share, as Mesos's `DRFSorter` (`src/master/allocator/sorter/drf`).
//!
//! A client's dominant share is the largest, over scalar resource kinds, of
//! what it holds divided by the cluster's total of that kind, divided by the
//! client's weight. Lower shares come first; ties go to the client chosen
//! fewer times so far, then to the smaller name.
//!
//! The order is a `BTreeSet` of keys that is kept current on every change to
//! one client (O(log n) per allocation), so the allocator walks it lazily
//! instead of sorting every client for every agent as Mesos does. A change
//! of the cluster total changes every share at once; it only marks the order
//! stale, and the next read rebuilds it, so adding ten thousand agents costs
//! one rebuild, not ten thousand.

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use wire::resources::{Resources, Value};

/// Scalar amounts by resource name, in thousandths, summed across roles.
/// Clusters have a handful of kinds, so a short vector beats a map.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Quantities(Vec<(String, i64)>);

impl Quantities {
    /// The scalars of `resources`.
    pub fn of(resources: &Resources) -> Quantities {
        let mut q = Quantities::default();
        q.add(resources);
        q
    }

    /// The amount of `name`, in thousandths.
    pub fn get(&self, name: &str) -> i64 {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map_or(0, |(_, v)| *v)
    }

    pub fn add(&mut self, resources: &Resources) {
        for r in resources.iter() {
            if let Value::Scalar(m) = r.value {
                self.change(&r.name, m.0);
            }
        }
    }

    /// Takes `resources` away, flooring each kind at zero.
    pub fn subtract(&mut self, resources: &Resources) {
        for r in resources.iter() {
            if let Value::Scalar(m) = r.value {
                self.change(&r.name, -m.0);
            }
        }
    }

    fn change(&mut self, name: &str, delta: i64) {
        match self.0.iter_mut().find(|(n, _)| n == name) {
            Some((_, v)) => *v = (*v + delta).max(0),
            None if delta > 0 => self.0.push((name.to_owned(), delta)),
            None => {}
        }
    }

    fn iter(&self) -> impl Iterator<Item = (&str, i64)> {
        self.0.iter().map(|(n, v)| (n.as_str(), *v))
    }
}

/// A client's place in the order. Cheap to clone; the allocator keeps one
/// as a cursor while it changes other clients' places.
#[derive(Debug, Clone)]
pub struct SortKey {
    share: f64,
    count: u64,
    name: Arc<str>,
}

impl SortKey {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The name as a shared string, for the allocator's records: cloning it
    /// allocates nothing.
    pub(crate) fn shared_name(&self) -> &Arc<str> {
        &self.name
    }

    pub fn share(&self) -> f64 {
        self.share
    }
}

impl PartialEq for SortKey {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for SortKey {}

impl PartialOrd for SortKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SortKey {
    fn cmp(&self, other: &Self) -> Ordering {
        self.share
            .total_cmp(&other.share)
            .then(self.count.cmp(&other.count))
            .then_with(|| self.name.cmp(&other.name))
    }
}

#[derive(Debug)]
struct Client {
    /// Scalars allocated to this client, never negative.
    allocated: Quantities,
    /// Times this client was chosen; the first tie-breaker.
    count: u64,
    /// Only active clients are in the order.
    active: bool,
    /// The key under which this client sits in the order, when it is active
    /// and the order is not stale.
    key: SortKey,
}

/// Clients ordered by weighted dominant share. See the module docs.
#[derive(Debug, Default)]
pub struct DrfSorter {
    /// Every client, active or not.
    clients: HashMap<Arc<str>, Client>,
    /// Exactly the active clients, each under its `Client::key`, unless
    /// `stale`.
    order: BTreeSet<SortKey>,
    /// The cluster's scalars: the denominators of every share.
    total: Quantities,
    /// Kinds left out of shares (`--fair_sharing_excluded_resource_names`).
    excluded: HashSet<String>,
    /// Weights by client name, set before or after the client exists;
    /// a missing entry means 1.0. Every value is finite and positive.
    weights: HashMap<String, f64>,
    /// Set when the total or a weight changed under the order; the next read
    /// rebuilds it.
    stale: bool,
}

impl DrfSorter {
    pub fn new(excluded: impl IntoIterator<Item = String>) -> DrfSorter {
        DrfSorter {
            excluded: excluded.into_iter().collect(),
            ..DrfSorter::default()
        }
    }

    /// Adds an inactive client; adding an existing one does nothing.
    pub fn add(&mut self, name: &str) {
        if self.clients.contains_key(name) {
            return;
        }
        let name: Arc<str> = name.into();
        let client = Client {
            allocated: Quantities::default(),
            count: 0,
            active: false,
            key: SortKey {
                share: 0.0,
                count: 0,
                name: name.clone(),
            },
        };
        self.clients.insert(name, client);
    }

    /// Forgets a client and what it was allocated.
    pub fn remove(&mut self, name: &str) {
        if let Some(client) = self.clients.remove(name) {
            if client.active && !self.stale {
                self.order.remove(&client.key);
            }
        }
    }

    pub fn contains(&self, name: &str) -> bool {
        self.clients.contains_key(name)
    }

    pub fn is_empty(&self) -> bool {
        self.clients.is_empty()
    }

    pub fn is_active(&self, name: &str) -> bool {
        self.clients.get(name).is_some_and(|c| c.active)
    }

    /// Puts the client in the order.
    pub fn activate(&mut self, name: &str) {
        self.set_active(name, true);
    }

    /// Takes the client out of the order; it keeps its allocation.
    pub fn deactivate(&mut self, name: &str) {
        self.set_active(name, false);
    }

    pub fn set_active(&mut self, name: &str, active: bool) {
        let Some(client) = self.clients.get_mut(name) else {
            return;
        };
        if client.active == active {
            return;
        }
        client.active = active;
        if self.stale {
            return;
        }
        if active {
            client.key = key_of(client, &self.total, &self.excluded, &self.weights);
            self.order.insert(client.key.clone());
        } else {
            self.order.remove(&client.key);
        }
    }

    /// Records that `resources` went to `name` and counts one more choice.
    pub fn allocated(&mut self, name: &str, resources: &Resources) {
        self.update(name, |c| {
            c.allocated.add(resources);
            c.count += 1;
        });
    }

    /// Records that `resources` came back from `name`.
    pub fn unallocated(&mut self, name: &str, resources: &Resources) {
        self.update(name, |c| c.allocated.subtract(resources));
    }

    /// Adds an agent's resources to the cluster total.
    pub fn add_total(&mut self, resources: &Resources) {
        self.total.add(resources);
        self.stale = true;
    }

    /// Replaces the cluster total, as when a sorter joins a running cluster.
    pub fn set_total(&mut self, total: Quantities) {
        self.total = total;
        self.stale = true;
    }

    /// Takes an agent's resources out of the cluster total.
    pub fn remove_total(&mut self, resources: &Resources) {
        self.total.subtract(resources);
        self.stale = true;
    }

    /// Sets a client's weight (also for clients added later). Weights that
    /// are not finite and positive are ignored: the caller validates.
    pub fn set_weight(&mut self, name: &str, weight: f64) {
        if !(weight.is_finite() && weight > 0.0) {
            return;
        }
        self.weights.insert(name.to_owned(), weight);
        self.stale = true;
    }

    /// The client's weighted dominant share.
    pub fn share(&self, name: &str) -> Option<f64> {
        let client = self.clients.get(name)?;
        Some(share_of(client, &self.total, &self.excluded, &self.weights))
    }

    /// Every client with its unweighted dominant share, by name (Mesos's
    /// `allocator/mesos/roles/<role>/shares/dominant`).
    pub fn dominant_shares(&self) -> Vec<(String, f64)> {
        let unweighted = HashMap::new();
        let mut out: Vec<(String, f64)> = self
            .clients
            .values()
            .map(|c| {
                let share = share_of(c, &self.total, &self.excluded, &unweighted);
                (c.key.name.to_string(), share)
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// The amount of scalar `kind` allocated to `name`, in thousandths.
    pub fn allocation(&self, name: &str, kind: &str) -> i64 {
        self.clients.get(name).map_or(0, |c| c.allocated.get(kind))
    }

    /// The first active client after `after` (from the start when `None`).
    /// A cursor whose client has since moved still works: the walk resumes
    /// at the place the cursor names, and the moved client may come again.
    pub fn next_after(&mut self, after: Option<&SortKey>) -> Option<SortKey> {
        self.refresh();
        match after {
            None => self.order.first().cloned(),
            Some(key) => self
                .order
                .range((std::ops::Bound::Excluded(key), std::ops::Bound::Unbounded))
                .next()
                .cloned(),
        }
    }

    /// The active clients in order.
    pub fn sorted(&mut self) -> Vec<String> {
        self.refresh();
        self.order.iter().map(|k| k.name.to_string()).collect()
    }

    fn update(&mut self, name: &str, change: impl FnOnce(&mut Client)) {
        let Some(client) = self.clients.get_mut(name) else {
            return;
        };
        let placed = client.active && !self.stale;
        if placed {
            self.order.remove(&client.key);
        }
        change(client);
        if placed {
            client.key = key_of(client, &self.total, &self.excluded, &self.weights);
            self.order.insert(client.key.clone());
        }
    }

    fn refresh(&mut self) {
        if !self.stale {
            return;
        }
        self.order.clear();
        for client in self.clients.values_mut() {
            if client.active {
                client.key = key_of(client, &self.total, &self.excluded, &self.weights);
                self.order.insert(client.key.clone());
            }
        }
        self.stale = false;
    }
}

fn share_of(
    client: &Client,
    total: &Quantities,
    excluded: &HashSet<String>,
    weights: &HashMap<String, f64>,
) -> f64 {
    let dominant = total
        .iter()
        .filter(|(kind, t)| *t > 0 && !excluded.contains(*kind))
        .map(|(kind, t)| client.allocated.get(kind) as f64 / t as f64)
        .fold(0.0, f64::max);
    dominant / weights.get(&*client.key.name).copied().unwrap_or(1.0)
}

fn key_of(
    client: &Client,
    total: &Quantities,
    excluded: &HashSet<String>,
    weights: &HashMap<String, f64>,
) -> SortKey {
    SortKey {
        share: share_of(client, total, excluded, weights),
        count: client.count,
        name: client.key.name.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(text: &str) -> Resources {
        Resources::parse(text, "*").unwrap()
    }

    fn sorter(names: &[&str]) -> DrfSorter {
        let mut s = DrfSorter::new([]);
        s.add_total(&res("cpus:100;mem:1000"));
        for n in names {
            s.add(n);
            s.activate(n);
        }
        s
    }

    #[test]
    fn orders_by_dominant_share_then_count_then_name() {
        let mut s = sorter(&["c", "b", "a"]);
        assert_eq!(s.sorted(), ["a", "b", "c"], "all zero: by name");
        s.allocated("a", &res("cpus:10")); // 0.1
        s.allocated("b", &res("mem:50")); // 0.05
        assert_eq!(s.sorted(), ["c", "b", "a"]);
        s.allocated("c", &res("mem:25"));
        s.allocated("c", &res("mem:25"));
        // b and c both hold 0.05 of mem; b was chosen fewer times.
        assert_eq!(s.sorted(), ["b", "c", "a"]);
        s.unallocated("a", &res("cpus:10"));
        assert_eq!(s.sorted(), ["a", "b", "c"]);
    }

    #[test]
    fn dominant_share_is_the_largest_fraction_over_kinds() {
        let mut s = sorter(&["x"]);
        s.allocated("x", &res("cpus:10;mem:500"));
        assert_eq!(s.share("x"), Some(0.5));
        assert_eq!(s.allocation("x", "cpus"), 10_000);
    }

    #[test]
    fn weights_divide_the_share() {
        let mut s = sorter(&["heavy", "light"]);
        s.set_weight("heavy", 2.0);
        s.set_weight("light", -1.0); // ignored
        s.allocated("heavy", &res("cpus:30"));
        s.allocated("light", &res("cpus:20"));
        assert_eq!(s.share("heavy"), Some(0.15));
        assert_eq!(s.share("light"), Some(0.2));
        assert_eq!(s.sorted(), ["heavy", "light"]);
    }

    #[test]
    fn excluded_kinds_do_not_count() {
        let mut s = DrfSorter::new(["gpus".to_owned()]);
        s.add_total(&res("cpus:10;gpus:1"));
        s.add("x");
        s.activate("x");
        s.allocated("x", &res("cpus:1;gpus:1"));
        assert_eq!(s.share("x"), Some(0.1));
    }

    #[test]
    fn inactive_and_removed_clients_leave_the_order() {
        let mut s = sorter(&["a", "b", "c"]);
        s.deactivate("b");
        assert_eq!(s.sorted(), ["a", "c"]);
        assert!(!s.is_active("b"));
        s.allocated("b", &res("cpus:1"));
        s.activate("b");
        assert_eq!(s.sorted(), ["a", "c", "b"]);
        s.remove("a");
        assert_eq!(s.sorted(), ["c", "b"]);
        assert!(!s.contains("a"));
    }

    #[test]
    fn a_new_total_reorders_lazily() {
        let mut s = sorter(&["cpu_heavy", "mem_heavy"]);
        s.allocated("cpu_heavy", &res("cpus:10")); // 0.1
        s.allocated("mem_heavy", &res("mem:200")); // 0.2
        assert_eq!(s.sorted(), ["cpu_heavy", "mem_heavy"]);
        // Ten times the memory: mem_heavy now holds 0.02.
        s.add_total(&res("mem:9000"));
        assert_eq!(s.sorted(), ["mem_heavy", "cpu_heavy"]);
    }

    #[test]
    fn a_cursor_survives_changes_to_other_clients() {
        let mut s = sorter(&["a", "b", "c"]);
        let first = s.next_after(None).unwrap();
        assert_eq!(first.name(), "a");
        // `a` moves to the back; the walk goes on from where it was.
        s.allocated("a", &res("cpus:1"));
        let second = s.next_after(Some(&first)).unwrap();
        assert_eq!(second.name(), "b");
        let third = s.next_after(Some(&second)).unwrap();
        assert_eq!(third.name(), "c");
        let again = s.next_after(Some(&third)).unwrap();
        assert_eq!(again.name(), "a");
        assert!(s.next_after(Some(&again)).is_none());
    }
}
