//! Resources as Mesos models them: named scalars (`cpus`, `mem`, `disk`),
//! ranges (`ports`) and sets, each unreserved (`*`) or reserved for a role
//! through a stack of reservations (static from the agent's flag, dynamic
//! from RESERVE operations, each refinement a deeper role `a/b` on top of
//! `a`), and for `disk` optionally a persistent volume ([`DiskInfo`]).
//!
//! [`Resources`] is a normalized bag: at most one entry per (name,
//! reservations, disk info), persistent volumes never merged, scalars kept
//! in fixed point with three decimals as Mesos compares them, ranges merged
//! and sorted. Addition, subtraction and containment are the
//! arithmetic the allocator and the master's offer checks need. Text and
//! JSON parsing follow the agent's `--resources` flag.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::mesos::Label;

/// The role of unreserved resources.
pub const UNRESERVED: &str = "*";

/// A scalar in thousandths: Mesos compares scalars at three decimals.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct Milli(pub i64);

impl Milli {
    pub fn from_f64(v: f64) -> Milli {
        Milli((v * 1000.0).round() as i64)
    }

    pub fn as_f64(self) -> f64 {
        self.0 as f64 / 1000.0
    }
}

/// The value of one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Value {
    Scalar(Milli),
    /// Inclusive, sorted, non-overlapping, non-adjacent intervals.
    Ranges(Vec<(u64, u64)>),
    Set(BTreeSet<String>),
}

/// `Resource.ReservationInfo.Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReservationKind {
    /// From the agent's `--resources`; cannot be unreserved.
    Static,
    /// Made by a RESERVE operation; UNRESERVE takes it back.
    Dynamic,
}

/// One reservation of a resource's stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reservation {
    pub kind: ReservationKind,
    pub role: String,
    pub principal: Option<String>,
    pub labels: Vec<Label>,
}

impl Reservation {
    pub fn new_static(role: &str) -> Reservation {
        Reservation {
            kind: ReservationKind::Static,
            role: role.to_owned(),
            principal: None,
            labels: Vec::new(),
        }
    }

    pub fn dynamic(role: &str, principal: Option<&str>) -> Reservation {
        Reservation {
            kind: ReservationKind::Dynamic,
            role: role.to_owned(),
            principal: principal.map(str::to_owned),
            labels: Vec::new(),
        }
    }
}

/// `Resource.DiskInfo.Persistence`: what makes a disk a persistent volume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Persistence {
    pub id: String,
    pub principal: Option<String>,
}

/// `Volume.Mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum VolumeMode {
    Rw,
    Ro,
}

/// `Volume` as a disk resource carries it: where tasks see the volume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Volume {
    pub container_path: String,
    pub mode: VolumeMode,
}

/// `Resource.DiskInfo.Source`: a disk that is not the agent's work dir.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskSource {
    /// `PATH`, `MOUNT`, `BLOCK` or `RAW`.
    pub kind: String,
    /// `path.root` or `mount.root`.
    pub root: Option<String>,
}

/// `Resource.DiskInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DiskInfo {
    pub persistence: Option<Persistence>,
    pub volume: Option<Volume>,
    pub source: Option<DiskSource>,
}

/// One named resource with its reservations. `role` is the innermost
/// reservation's role (`*` when unreserved), kept alongside the stack so
/// that code that only cares about the role reads one field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resource {
    pub name: String,
    pub role: String,
    pub value: Value,
    /// Outermost first; empty when unreserved.
    #[serde(default)]
    pub reservations: Vec<Reservation>,
    #[serde(default)]
    pub disk: Option<DiskInfo>,
}

impl Resource {
    pub fn scalar(name: &str, value: f64) -> Resource {
        Resource::of(name, Value::Scalar(Milli::from_f64(value)))
    }

    pub fn ranges(name: &str, ranges: &[(u64, u64)]) -> Resource {
        Resource::of(name, Value::Ranges(normalize_ranges(ranges.to_vec())))
    }

    /// An unreserved resource with `value`.
    pub fn of(name: &str, value: Value) -> Resource {
        Resource {
            name: name.to_owned(),
            role: UNRESERVED.to_owned(),
            value,
            reservations: Vec::new(),
            disk: None,
        }
    }

    /// Statically reserved for `role` (unreserved for `*`), replacing any
    /// reservations, as the agent's `--resources` flag reserves.
    pub fn with_role(mut self, role: &str) -> Resource {
        self.reservations = if role == UNRESERVED {
            Vec::new()
        } else {
            vec![Reservation::new_static(role)]
        };
        self.role = role.to_owned();
        self
    }

    /// With `reservations` as the stack (outermost first).
    pub fn with_reservations(mut self, reservations: Vec<Reservation>) -> Resource {
        self.role = reservations
            .last()
            .map_or_else(|| UNRESERVED.to_owned(), |r| r.role.clone());
        self.reservations = reservations;
        self
    }

    /// One more reservation on top (a reservation or its refinement).
    pub fn push_reservation(self, reservation: Reservation) -> Resource {
        let mut stack = self.reservations.clone();
        stack.push(reservation);
        self.with_reservations(stack)
    }

    /// Without the innermost reservation.
    pub fn pop_reservation(self) -> Resource {
        let mut stack = self.reservations.clone();
        stack.pop();
        self.with_reservations(stack)
    }

    /// The same scalar resource with another amount.
    pub fn with_size(mut self, value: f64) -> Resource {
        self.value = Value::Scalar(Milli::from_f64(value));
        self
    }

    pub fn with_disk(mut self, disk: Option<DiskInfo>) -> Resource {
        self.disk = disk;
        self
    }

    pub fn is_reserved(&self) -> bool {
        !self.reservations.is_empty()
    }

    /// Whether the innermost reservation is dynamic.
    pub fn is_dynamically_reserved(&self) -> bool {
        self.reservations
            .last()
            .is_some_and(|r| r.kind == ReservationKind::Dynamic)
    }

    /// The persistence of a persistent volume.
    pub fn persistence(&self) -> Option<&Persistence> {
        self.disk.as_ref().and_then(|d| d.persistence.as_ref())
    }

    pub fn is_persistent_volume(&self) -> bool {
        self.persistence().is_some()
    }

    /// Whether `role` may be given this resource: unreserved, reserved for
    /// `role`, or reserved for an ancestor of `role` (`a` for `a/b`).
    pub fn allocatable_to(&self, role: &str) -> bool {
        self.role == UNRESERVED || self.role == role || is_strict_subrole(role, &self.role)
    }

    /// The same resource apart from its amount: entries with the same key
    /// merge, others stay apart.
    fn same_key(&self, other: &Resource) -> bool {
        self.name == other.name
            && self.role == other.role
            && self.reservations == other.reservations
            && self.disk == other.disk
    }

    /// Whether `other` may be merged into this entry. Persistent volumes
    /// never merge: each is one thing with one id.
    fn addable(&self, other: &Resource) -> bool {
        self.same_key(other) && !self.is_persistent_volume()
    }

    fn is_empty(&self) -> bool {
        match &self.value {
            Value::Scalar(m) => m.0 <= 0,
            Value::Ranges(r) => r.is_empty(),
            Value::Set(s) => s.is_empty(),
        }
    }
}

/// Why a resource string or document could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResourceError {
    #[error("bad resource '{0}': expected name[(role)]:value")]
    Syntax(String),
    #[error("bad value for resource '{name}': {reason}")]
    Value { name: String, reason: String },
    #[error("resource '{0}' appears with two different kinds of value")]
    KindMismatch(String),
    #[error("bad resources JSON: {0}")]
    Json(String),
}

/// A normalized collection of resources.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Resources(Vec<Resource>);

impl Resources {
    pub fn new() -> Resources {
        Resources::default()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Resource> {
        self.0.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds one resource, merging with an entry of the same name and role.
    pub fn add(&mut self, r: Resource) -> Result<(), ResourceError> {
        if r.is_empty() {
            return Ok(());
        }
        if let Some(e) = self.0.iter().find(|e| e.name == r.name) {
            if std::mem::discriminant(&e.value) != std::mem::discriminant(&r.value) {
                return Err(ResourceError::KindMismatch(r.name));
            }
        }
        match self.0.iter_mut().find(|e| e.addable(&r)) {
            None => self.0.push(r),
            Some(e) => match (&mut e.value, r.value) {
                (Value::Scalar(a), Value::Scalar(b)) => a.0 += b.0,
                (Value::Ranges(a), Value::Ranges(b)) => {
                    a.extend(b);
                    *a = normalize_ranges(std::mem::take(a));
                }
                (Value::Set(a), Value::Set(b)) => a.extend(b),
                _ => return Err(ResourceError::KindMismatch(r.name)),
            },
        }
        Ok(())
    }

    /// The sum of many collections, as repeated [`Resources::add`] would
    /// give it, but in one pass: names and roles are copied once per entry
    /// of the result and ranges are normalized once at the end, so summing
    /// the ports of thousands of tasks costs a sort, not a merge per task.
    /// Entries whose kinds clash with an earlier one are left out, as
    /// `plus` leaves them.
    pub fn sum<'a>(all: impl IntoIterator<Item = &'a Resources>) -> Resources {
        let mut out: Vec<Resource> = Vec::new();
        for r in all.into_iter().flat_map(Resources::iter) {
            if r.is_empty() {
                continue;
            }
            match out.iter_mut().find(|e| e.addable(r)) {
                None => out.push(r.clone()),
                Some(e) => match (&mut e.value, &r.value) {
                    (Value::Scalar(a), Value::Scalar(b)) => a.0 += b.0,
                    (Value::Ranges(a), Value::Ranges(b)) => a.extend_from_slice(b),
                    (Value::Set(a), Value::Set(b)) => a.extend(b.iter().cloned()),
                    _ => {}
                },
            }
        }
        for e in &mut out {
            if let Value::Ranges(r) = &mut e.value {
                *r = normalize_ranges(std::mem::take(r));
            }
        }
        Resources(out)
    }

    /// `self + other`.
    pub fn plus(&self, other: &Resources) -> Resources {
        let mut out = self.clone();
        for r in other.iter() {
            // Kinds match by construction of each side; a mismatch is ignored.
            let _ = out.add(r.clone());
        }
        out
    }

    /// `self - other`, dropping what becomes empty. Subtracting what is not
    /// there leaves the rest unchanged (scalars floor at zero). A persistent
    /// volume goes only as a whole.
    pub fn minus(&self, other: &Resources) -> Resources {
        let mut out = self.clone();
        for r in other.iter() {
            if r.is_persistent_volume() {
                if let Some(i) = out.0.iter().position(|e| e == r) {
                    out.0.remove(i);
                }
                continue;
            }
            if let Some(e) = out.0.iter_mut().find(|e| e.same_key(r)) {
                match (&mut e.value, &r.value) {
                    (Value::Scalar(a), Value::Scalar(b)) => a.0 = (a.0 - b.0).max(0),
                    (Value::Ranges(a), Value::Ranges(b)) => *a = subtract_ranges(a, b),
                    (Value::Set(a), Value::Set(b)) => a.retain(|x| !b.contains(x)),
                    _ => {}
                }
            }
        }
        out.0.retain(|r| !r.is_empty());
        out
    }

    /// Whether every resource of `other` is within `self` (same
    /// reservations and disk info; a persistent volume whole).
    pub fn contains(&self, other: &Resources) -> bool {
        if other.iter().any(Resource::is_persistent_volume) {
            let mut left = self.clone();
            for r in other.iter() {
                if !left.contains_one(r) {
                    return false;
                }
                left = left.minus(&Resources(vec![r.clone()]));
            }
            return true;
        }
        other.iter().all(|r| self.contains_one(r))
    }

    fn contains_one(&self, r: &Resource) -> bool {
        if r.is_persistent_volume() {
            return self.0.iter().any(|e| e == r);
        }
        self.0
            .iter()
            .find(|e| e.same_key(r))
            .is_some_and(|e| match (&e.value, &r.value) {
                (Value::Scalar(a), Value::Scalar(b)) => a >= b,
                (Value::Ranges(a), Value::Ranges(b)) => subtract_ranges(b, a).is_empty(),
                (Value::Set(a), Value::Set(b)) => b.is_subset(a),
                _ => false,
            })
    }

    /// The total of scalar `name` across roles.
    pub fn scalar(&self, name: &str) -> f64 {
        self.0
            .iter()
            .filter(|r| r.name == name)
            .map(|r| match r.value {
                Value::Scalar(m) => m.0,
                _ => 0,
            })
            .sum::<i64>() as f64
            / 1000.0
    }

    /// The resources `role` may be offered: the unreserved ones and those
    /// reserved for `role` or one of its ancestors.
    pub fn allocatable_to(&self, role: &str) -> Resources {
        self.filter(|r| r.allocatable_to(role))
    }

    /// The entries for which `keep` holds.
    pub fn filter(&self, keep: impl Fn(&Resource) -> bool) -> Resources {
        Resources(self.0.iter().filter(|r| keep(r)).cloned().collect())
    }

    /// The unreserved resources.
    pub fn unreserved(&self) -> Resources {
        self.filter(|r| !r.is_reserved())
    }

    /// The reserved resources, by innermost role, as `/master/state`'s
    /// `reserved_resources` groups them.
    pub fn reserved_by_role(&self) -> std::collections::BTreeMap<String, Resources> {
        let mut out: std::collections::BTreeMap<String, Resources> = Default::default();
        for r in self.0.iter().filter(|r| r.is_reserved()) {
            let _ = out.entry(r.role.clone()).or_default().add(r.clone());
        }
        out
    }

    /// The persistent volumes.
    pub fn persistent_volumes(&self) -> Resources {
        self.filter(Resource::is_persistent_volume)
    }

    /// Parses the agent's `--resources` text (`cpus:4;mem:1024;ports(*):[31000-32000]`)
    /// or its JSON form (an array of Mesos `Resource` objects).
    pub fn parse(text: &str, default_role: &str) -> Result<Resources, ResourceError> {
        let text = text.trim();
        if text.starts_with('[') && serde_json::from_str::<serde_json::Value>(text).is_ok() {
            return Self::parse_json(text, default_role);
        }
        let mut out = Resources::new();
        for item in text.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            let (head, value) = item
                .split_once(':')
                .ok_or_else(|| ResourceError::Syntax(item.to_owned()))?;
            let (name, role) = match head.split_once('(') {
                Some((name, rest)) => {
                    let role = rest
                        .strip_suffix(')')
                        .ok_or_else(|| ResourceError::Syntax(item.to_owned()))?;
                    (name.trim(), role.trim())
                }
                None => (head.trim(), default_role),
            };
            if name.is_empty() || role.is_empty() {
                return Err(ResourceError::Syntax(item.to_owned()));
            }
            let value = parse_value(name, value.trim())?;
            out.add(Resource::of(name, value).with_role(role))?;
        }
        Ok(out)
    }

    fn parse_json(text: &str, default_role: &str) -> Result<Resources, ResourceError> {
        #[derive(Deserialize)]
        struct JsonScalar {
            value: f64,
        }
        #[derive(Deserialize)]
        struct JsonRange {
            begin: u64,
            end: u64,
        }
        #[derive(Deserialize)]
        struct JsonRanges {
            #[serde(default)]
            range: Vec<JsonRange>,
        }
        #[derive(Deserialize)]
        struct JsonSet {
            #[serde(default)]
            item: Vec<String>,
        }
        #[derive(Deserialize)]
        struct JsonResource {
            name: String,
            #[serde(rename = "type")]
            kind: String,
            scalar: Option<JsonScalar>,
            ranges: Option<JsonRanges>,
            set: Option<JsonSet>,
            role: Option<String>,
        }
        let items: Vec<JsonResource> =
            serde_json::from_str(text).map_err(|e| ResourceError::Json(e.to_string()))?;
        let mut out = Resources::new();
        for r in items {
            let bad = |reason: &str| ResourceError::Value {
                name: r.name.clone(),
                reason: reason.to_owned(),
            };
            let value = match r.kind.as_str() {
                "SCALAR" => {
                    let v = r
                        .scalar
                        .as_ref()
                        .ok_or_else(|| bad("missing scalar"))?
                        .value;
                    if !v.is_finite() || v < 0.0 {
                        return Err(bad("scalar must be a non-negative number"));
                    }
                    Value::Scalar(Milli::from_f64(v))
                }
                "RANGES" => {
                    let ranges = r.ranges.as_ref().ok_or_else(|| bad("missing ranges"))?;
                    let list: Vec<(u64, u64)> =
                        ranges.range.iter().map(|x| (x.begin, x.end)).collect();
                    if list.iter().any(|(b, e)| b > e) {
                        return Err(bad("range begins after it ends"));
                    }
                    Value::Ranges(normalize_ranges(list))
                }
                "SET" => Value::Set(
                    r.set
                        .as_ref()
                        .ok_or_else(|| bad("missing set"))?
                        .item
                        .iter()
                        .cloned()
                        .collect(),
                ),
                other => return Err(bad(&format!("unsupported type {other}"))),
            };
            let role = r.role.clone().unwrap_or_else(|| default_role.to_owned());
            out.add(Resource::of(&r.name, value).with_role(&role))?;
        }
        Ok(out)
    }
}

fn parse_value(name: &str, text: &str) -> Result<Value, ResourceError> {
    let bad = |reason: &str| ResourceError::Value {
        name: name.to_owned(),
        reason: format!("{reason} in '{text}'"),
    };
    if let Some(inner) = text.strip_prefix('[') {
        let inner = inner
            .strip_suffix(']')
            .ok_or_else(|| bad("unterminated range list"))?;
        let mut ranges = Vec::new();
        for part in inner.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (b, e) = part
                .split_once('-')
                .ok_or_else(|| bad("expected begin-end"))?;
            let b: u64 = b
                .trim()
                .parse()
                .map_err(|_| bad("range bound is not a number"))?;
            let e: u64 = e
                .trim()
                .parse()
                .map_err(|_| bad("range bound is not a number"))?;
            if b > e {
                return Err(bad("range begins after it ends"));
            }
            ranges.push((b, e));
        }
        return Ok(Value::Ranges(normalize_ranges(ranges)));
    }
    if let Some(inner) = text.strip_prefix('{') {
        let inner = inner
            .strip_suffix('}')
            .ok_or_else(|| bad("unterminated set"))?;
        return Ok(Value::Set(
            inner
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        ));
    }
    let v: f64 = text.parse().map_err(|_| bad("not a number"))?;
    if !v.is_finite() || v < 0.0 {
        return Err(bad("must be a non-negative number"));
    }
    Ok(Value::Scalar(Milli::from_f64(v)))
}

fn normalize_ranges(mut r: Vec<(u64, u64)>) -> Vec<(u64, u64)> {
    r.sort_unstable();
    let mut out: Vec<(u64, u64)> = Vec::with_capacity(r.len());
    for (b, e) in r {
        match out.last_mut() {
            Some(last) if b <= last.1.saturating_add(1) => last.1 = last.1.max(e),
            _ => out.push((b, e)),
        }
    }
    out
}

fn subtract_ranges(a: &[(u64, u64)], b: &[(u64, u64)]) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    for &(mut start, end) in a {
        let mut alive = true;
        for &(bs, be) in b {
            if be < start || bs > end {
                continue;
            }
            if bs > start {
                out.push((start, bs - 1));
            }
            if be >= end {
                alive = false;
                break;
            }
            start = be + 1;
        }
        if alive && start <= end {
            out.push((start, end));
        }
    }
    out
}

/// Whether `role` lies strictly below `ancestor` in the role tree
/// (`a/b/c` below `a/b` and `a`).
pub fn is_strict_subrole(role: &str, ancestor: &str) -> bool {
    role.len() > ancestor.len()
        && role.starts_with(ancestor)
        && role.as_bytes().get(ancestor.len()) == Some(&b'/')
}

/// Renders ranges as Mesos does in its JSON models: `[31000-32000, 40000-40100]`.
pub fn format_ranges(r: &[(u64, u64)]) -> String {
    let parts: Vec<String> = r.iter().map(|(b, e)| format!("{b}-{e}")).collect();
    format!("[{}]", parts.join(", "))
}

impl fmt::Display for Resources {
    /// The `--resources` text form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|r| {
                let value = match &r.value {
                    Value::Scalar(m) => format!("{}", m.as_f64()),
                    Value::Ranges(x) => format_ranges(x).replace(", ", ","),
                    Value::Set(s) => {
                        format!("{{{}}}", s.iter().cloned().collect::<Vec<_>>().join(","))
                    }
                };
                format!("{}({}):{}", r.name, r.role, value)
            })
            .collect();
        f.write_str(&parts.join(";"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sum_is_repeated_addition() {
        let parts: Vec<Resources> = [
            "cpus:1;mem:128;ports:[31005-31005]",
            "cpus:0.5;ports:[31000-31001];zones:{a}",
            "cpus(web):2;ports:[31002-31004,31010-31010];zones:{b}",
            "mem:64;ports:[31006-31006]",
            "",
        ]
        .iter()
        .map(|t| Resources::parse(t, "*").unwrap())
        .collect();
        let mut added = Resources::new();
        for p in &parts {
            added = added.plus(p);
        }
        assert_eq!(Resources::sum(&parts), added);
        assert_eq!(Resources::sum(&parts).scalar("cpus"), 3.5);
        assert!(Resources::sum(std::iter::empty()).is_empty());
    }

    fn res(text: &str) -> Resources {
        Resources::parse(text, "*").unwrap()
    }

    #[test]
    fn parses_the_agent_flag_syntax() {
        let r = res("cpus:4;mem:4096;disk:10000;ports(*):[7000-8000, 31000-32000];gpus:0.5");
        assert_eq!(r.scalar("cpus"), 4.0);
        assert_eq!(r.scalar("mem"), 4096.0);
        assert_eq!(r.scalar("gpus"), 0.5);
        let ports = r.iter().find(|x| x.name == "ports").unwrap();
        assert_eq!(
            ports.value,
            Value::Ranges(vec![(7000, 8000), (31000, 32000)])
        );
        let reserved = res("cpus(web):2;cpus:1");
        assert_eq!(reserved.scalar("cpus"), 3.0);
        assert_eq!(reserved.allocatable_to("db").scalar("cpus"), 1.0);
        assert_eq!(reserved.allocatable_to("web").scalar("cpus"), 3.0);
        let set = res("zones:{a,b}");
        assert_eq!(
            set.iter().next().unwrap().value,
            Value::Set(["a".into(), "b".into()].into())
        );
    }

    #[test]
    fn parses_the_json_form() {
        let r = Resources::parse(
            r#"[{"name":"cpus","type":"SCALAR","scalar":{"value":2}},
                {"name":"ports","type":"RANGES","ranges":{"range":[{"begin":1,"end":5}]},"role":"r"}]"#,
            "*",
        )
        .unwrap();
        assert_eq!(r.scalar("cpus"), 2.0);
        assert_eq!(r.iter().nth(1).unwrap().role, "r");
    }

    #[test]
    fn bad_resources_are_clear_errors() {
        for bad in [
            "cpus",
            "cpus:abc",
            "cpus:-1",
            "ports:[5-1]",
            "ports:[1-2",
            "cpus(:1",
            "cpus:1;cpus:[1-2]",
            "[{\"name\":\"x\",\"type\":\"SCALAR\"}]",
        ] {
            assert!(Resources::parse(bad, "*").is_err(), "{bad}");
        }
    }

    #[test]
    fn arithmetic_merges_subtracts_and_contains() {
        let total = res("cpus:4;mem:1024;ports:[31000-32000]");
        let used = res("cpus:1.5;mem:1000;ports:[31000-31000,31500-31600]");
        assert!(total.contains(&used));
        let free = total.minus(&used);
        assert_eq!(free.scalar("cpus"), 2.5);
        assert_eq!(free.scalar("mem"), 24.0);
        let ports = free.iter().find(|x| x.name == "ports").unwrap();
        assert_eq!(
            ports.value,
            Value::Ranges(vec![(31001, 31499), (31601, 32000)])
        );
        assert!(!free.contains(&used));
        assert_eq!(free.plus(&used), total);
        assert!(!total.contains(&res("cpus(web):1")), "roles differ");
        assert!(total.minus(&total).is_empty());
    }

    #[test]
    fn scalars_compare_at_three_decimals() {
        let a = res("cpus:0.1;cpus:0.2");
        assert!(a.contains(&res("cpus:0.3")));
        assert!(res("cpus:0.3").contains(&a));
    }

    #[test]
    fn ranges_render_as_mesos_does() {
        assert_eq!(format_ranges(&[(31000, 32000)]), "[31000-32000]");
        assert_eq!(format_ranges(&[(1, 2), (5, 9)]), "[1-2, 5-9]");
    }

    fn volume(id: &str, role: &str, mb: f64) -> Resource {
        Resource::scalar("disk", mb)
            .push_reservation(Reservation::dynamic(role, Some("ops")))
            .with_disk(Some(DiskInfo {
                persistence: Some(Persistence {
                    id: id.to_owned(),
                    principal: Some("ops".into()),
                }),
                volume: Some(Volume {
                    container_path: "vol".into(),
                    mode: VolumeMode::Rw,
                }),
                source: None,
            }))
    }

    fn of(list: Vec<Resource>) -> Resources {
        let mut out = Resources::new();
        for r in list {
            out.add(r).unwrap();
        }
        out
    }

    #[test]
    fn reservations_and_volumes_keep_entries_apart() {
        let stat = Resource::scalar("cpus", 1.0).with_role("a");
        let dynamic =
            Resource::scalar("cpus", 1.0).push_reservation(Reservation::dynamic("a", None));
        let refined = dynamic
            .clone()
            .push_reservation(Reservation::dynamic("a/b", None));
        let other_principal =
            Resource::scalar("cpus", 1.0).push_reservation(Reservation::dynamic("a", Some("p")));
        let cases: Vec<(&str, Vec<Resource>, usize, f64)> = vec![
            (
                "same static merges",
                vec![stat.clone(), stat.clone()],
                1,
                2.0,
            ),
            (
                "static and dynamic apart",
                vec![stat.clone(), dynamic.clone()],
                2,
                2.0,
            ),
            (
                "dynamic and refined apart",
                vec![dynamic.clone(), refined.clone()],
                2,
                2.0,
            ),
            (
                "principals apart",
                vec![dynamic.clone(), other_principal],
                2,
                2.0,
            ),
            (
                "same dynamic merges",
                vec![dynamic.clone(), dynamic.clone()],
                1,
                2.0,
            ),
            (
                "volumes never merge",
                vec![volume("v1", "a", 10.0), volume("v1", "a", 10.0)],
                2,
                0.0,
            ),
            (
                "two volumes",
                vec![volume("v1", "a", 10.0), volume("v2", "a", 10.0)],
                2,
                0.0,
            ),
        ];
        for (what, list, entries, cpus) in cases {
            let r = of(list);
            assert_eq!(r.iter().count(), entries, "{what}");
            assert_eq!(r.scalar("cpus"), cpus, "{what}");
        }
        assert_eq!(refined.role, "a/b");
        assert_eq!(refined.clone().pop_reservation(), dynamic);
        assert_eq!(
            dynamic.clone().pop_reservation(),
            Resource::scalar("cpus", 1.0)
        );
        assert!(dynamic.is_dynamically_reserved() && !stat.is_dynamically_reserved());
        assert_eq!(
            Resource::scalar("cpus", 1.0).with_role("*").reservations,
            vec![]
        );
    }

    #[test]
    fn arithmetic_respects_reservations_and_volumes() {
        let v1 = volume("v1", "a", 10.0);
        let total = of(vec![
            Resource::scalar("disk", 100.0),
            Resource::scalar("disk", 50.0).push_reservation(Reservation::dynamic("a", Some("ops"))),
            v1.clone(),
        ]);
        let plain = |mb| Resources::parse(&format!("disk:{mb}"), "*").unwrap();
        let cases: Vec<(&str, Resources, bool)> = vec![
            ("unreserved part", plain(100.0), true),
            ("too much unreserved", plain(101.0), false),
            ("the volume", of(vec![v1.clone()]), true),
            ("the volume twice", of(vec![v1.clone(), v1.clone()]), false),
            ("another volume", of(vec![volume("v2", "a", 10.0)]), false),
            (
                "the volume smaller",
                of(vec![volume("v1", "a", 5.0)]),
                false,
            ),
            (
                "static instead of dynamic",
                of(vec![Resource::scalar("disk", 1.0).with_role("a")]),
                false,
            ),
        ];
        for (what, part, contained) in cases {
            assert_eq!(total.contains(&part), contained, "{what}");
        }
        let without = total.minus(&of(vec![v1.clone()]));
        assert_eq!(without.persistent_volumes(), Resources::new());
        assert_eq!(without.plus(&of(vec![v1.clone()])), total);
        assert_eq!(
            total.minus(&of(vec![volume("v1", "a", 5.0)])),
            total,
            "volumes go whole"
        );
        assert_eq!(total.unreserved(), plain(100.0));
        let by_role = total.reserved_by_role();
        assert_eq!(by_role.len(), 1);
        assert_eq!(by_role.get("a").map(|r| r.iter().count()), Some(2));
    }

    #[test]
    fn reservations_are_allocatable_to_their_role_and_its_subroles() {
        let r = of(vec![
            Resource::scalar("cpus", 1.0),
            Resource::scalar("cpus", 2.0).with_role("a"),
            Resource::scalar("cpus", 4.0)
                .push_reservation(Reservation::dynamic("a", None))
                .push_reservation(Reservation::dynamic("a/b", None)),
            Resource::scalar("cpus", 8.0).with_role("ab"),
        ]);
        for (role, cpus) in [
            ("*", 1.0),
            ("a", 3.0),
            ("a/b", 7.0),
            ("a/b/c", 7.0),
            ("a/c", 3.0),
            ("ab", 9.0),
            ("b", 1.0),
        ] {
            assert_eq!(r.allocatable_to(role).scalar("cpus"), cpus, "{role}");
        }
        assert!(is_strict_subrole("a/b", "a"));
        assert!(!is_strict_subrole("a", "a"));
        assert!(!is_strict_subrole("ab", "a"));
    }
}
