//! Quota as the allocator applies it (Mesos 1.9+ `QuotaConfig`): each
//! role's scalar guarantees and limits, what the role consumes against
//! them, and the two rules of an allocation cycle with quota:
//!
//! - roles below their guarantee are served first (stage 1), up to what
//!   they still lack of the guaranteed kinds;
//! - every other allocation (stage 2) leaves enough unreserved, unoffered
//!   resources in the cluster ("headroom") for the guarantees still unmet,
//!   and no allocation takes a role past its limits.
//!
//! A role consumes, as in Mesos, everything reserved for it (offered, used
//! or idle) plus the unreserved resources it is offered or uses. All
//! amounts are in thousandths ([`Milli`]), as Mesos compares scalars. No
//! I/O, no clock; [`HierarchicalAllocator`](super::HierarchicalAllocator)
//! builds a [`QuotaCycle`] at the start of each cycle and asks it how far
//! to cut each offer.

use std::collections::{BTreeMap, HashMap};

use wire::registry::QuotaConfig;
use wire::resources::{Milli, Resource, Resources, Value, UNRESERVED};

/// Scalar amounts by resource name, in thousandths.
pub type Amounts = BTreeMap<String, i64>;

/// The quotas of every role that has one, by role.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Quotas {
    /// Never holds a default (empty) config.
    by_role: BTreeMap<String, QuotaConfig>,
}

impl Quotas {
    /// Replaces the role's quota; a default config removes it.
    pub fn set(&mut self, config: QuotaConfig) {
        if config.is_default() {
            self.by_role.remove(&config.role);
        } else {
            self.by_role.insert(config.role.clone(), config);
        }
    }

    pub fn get(&self, role: &str) -> Option<&QuotaConfig> {
        self.by_role.get(role)
    }

    pub fn is_empty(&self) -> bool {
        self.by_role.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &QuotaConfig> {
        self.by_role.values()
    }
}

/// The unreserved scalars of `resources`, by name.
pub fn unreserved_amounts(resources: &Resources) -> Amounts {
    let mut out = Amounts::new();
    for r in resources.iter().filter(|r| r.role == UNRESERVED) {
        if let Value::Scalar(m) = r.value {
            *out.entry(r.name.clone()).or_default() += m.0;
        }
    }
    out
}

/// The scalars of `resources` reserved for `role`, by name.
pub fn reserved_amounts(resources: &Resources, role: &str) -> Amounts {
    let mut out = Amounts::new();
    for r in resources.iter().filter(|r| r.role == role) {
        if let Value::Scalar(m) = r.value {
            *out.entry(r.name.clone()).or_default() += m.0;
        }
    }
    out
}

fn add(to: &mut Amounts, from: &Amounts) {
    for (name, amount) in from {
        *to.entry(name.clone()).or_default() += amount;
    }
}

fn get(amounts: &Amounts, name: &str) -> i64 {
    amounts.get(name).copied().unwrap_or(0)
}

/// What the role still lacks of its guarantee, kind by kind (only kinds
/// with something lacking).
pub fn unsatisfied(config: &QuotaConfig, consumed: &Amounts) -> Amounts {
    config
        .guarantees
        .iter()
        .filter_map(|(name, Milli(g))| {
            let lack = g - get(consumed, name);
            (lack > 0).then(|| (name.clone(), lack))
        })
        .collect()
}

/// `offer` with each unreserved scalar cut to `caps` (kinds not named are
/// left whole). Reserved and non-scalar resources are never cut.
pub fn cut(offer: &Resources, caps: &Amounts) -> Resources {
    let mut excess = Resources::new();
    for r in offer.iter().filter(|r| r.role == UNRESERVED) {
        let (Value::Scalar(have), Some(cap)) = (&r.value, caps.get(&r.name)) else {
            continue;
        };
        let over = have.0 - cap.max(&0);
        if over > 0 {
            // One entry per name in `offer`, so these cannot clash.
            let _ = excess.add(Resource::scalar(&r.name, Milli(over).as_f64()));
        }
    }
    if excess.is_empty() {
        offer.clone()
    } else {
        offer.minus(&excess)
    }
}

/// Which pass of a cycle an offer is made in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Roles below their guarantee, up to it.
    Guarantees,
    /// Everyone, keeping the headroom unmet guarantees need.
    Rest,
}

/// One allocation cycle's view of quota: what each quota role consumes and
/// what unreserved resources are still unoffered, both updated as the cycle
/// makes offers.
#[derive(Debug)]
pub struct QuotaCycle<'a> {
    quotas: &'a Quotas,
    /// Consumption of every role with a quota.
    consumed: HashMap<String, Amounts>,
    /// Unreserved scalars nobody holds, on every agent.
    available: Amounts,
}

impl<'a> QuotaCycle<'a> {
    /// `agents` gives, for every agent, its total, what it has available
    /// and each holding as (role, resources).
    pub fn new<'b>(
        quotas: &'a Quotas,
        agents: impl IntoIterator<Item = AgentView<'b>>,
    ) -> QuotaCycle<'a> {
        let mut consumed: HashMap<String, Amounts> = quotas
            .iter()
            .map(|c| (c.role.clone(), Amounts::new()))
            .collect();
        let mut available = Amounts::new();
        for agent in agents {
            add(&mut available, &unreserved_amounts(agent.available));
            for (role, used) in consumed.iter_mut() {
                add(used, &reserved_amounts(agent.total, role));
            }
            for (role, held) in agent.holdings {
                if let Some(used) = consumed.get_mut(role) {
                    add(used, &unreserved_amounts(held));
                }
            }
        }
        QuotaCycle {
            quotas,
            consumed,
            available,
        }
    }

    pub fn consumed(&self, role: &str) -> Amounts {
        self.consumed.get(role).cloned().unwrap_or_default()
    }

    /// Whether the role has a guarantee it does not consume yet.
    pub fn below_guarantee(&self, role: &str) -> bool {
        self.quotas
            .get(role)
            .is_some_and(|c| !unsatisfied(c, &self.consumed(role)).is_empty())
    }

    /// What all unmet guarantees still need, except `role`'s own.
    fn required_by_others(&self, role: &str) -> Amounts {
        let mut out = Amounts::new();
        for config in self.quotas.iter().filter(|c| c.role != role) {
            add(&mut out, &unsatisfied(config, &self.consumed(&config.role)));
        }
        out
    }

    /// `candidate` (what `role` could be offered on one agent) cut as the
    /// stage allows: within the role's limits; in stage 1 the guaranteed
    /// kinds up to what the guarantee lacks; and outside the role's own
    /// lack, never into what other roles' guarantees need.
    pub fn cut(&self, role: &str, stage: Stage, candidate: &Resources) -> Resources {
        let config = self.quotas.get(role);
        let consumed = self.consumed(role);
        let own_lack = config
            .map(|c| unsatisfied(c, &consumed))
            .unwrap_or_default();
        let required = self.required_by_others(role);
        let mut caps = Amounts::new();
        for (name, have) in unreserved_amounts(candidate) {
            let needed = get(&required, &name);
            let mut cap = match needed {
                0 => have,
                _ => (get(&self.available, &name) - needed).max(0) + get(&own_lack, &name),
            };
            if stage == Stage::Guarantees
                && config.is_some_and(|c| c.guarantees.contains_key(&name))
            {
                cap = cap.min(get(&own_lack, &name));
            }
            if let Some(Milli(limit)) = config.and_then(|c| c.limits.get(&name)) {
                cap = cap.min((limit - get(&consumed, &name)).max(0));
            }
            if cap < have {
                caps.insert(name, cap);
            }
        }
        cut(candidate, &caps)
    }

    /// `role` was offered `offer`: it consumes its unreserved part, which
    /// is no longer available.
    pub fn offered(&mut self, role: &str, offer: &Resources) {
        let unreserved = unreserved_amounts(offer);
        for (name, amount) in &unreserved {
            if let Some(a) = self.available.get_mut(name) {
                *a -= amount;
            }
        }
        if let Some(used) = self.consumed.get_mut(role) {
            add(used, &unreserved);
        }
    }
}

/// One agent as [`QuotaCycle::new`] reads it.
pub struct AgentView<'b> {
    pub total: &'b Resources,
    pub available: &'b Resources,
    pub holdings: Vec<(&'b str, &'b Resources)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(text: &str) -> Resources {
        Resources::parse(text, "*").unwrap()
    }

    fn amounts(pairs: &[(&str, f64)]) -> BTreeMap<String, Milli> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), Milli::from_f64(*v)))
            .collect()
    }

    fn config(role: &str, guarantees: &[(&str, f64)], limits: &[(&str, f64)]) -> QuotaConfig {
        QuotaConfig {
            role: role.into(),
            guarantees: amounts(guarantees),
            limits: amounts(limits),
        }
    }

    #[test]
    fn a_default_config_removes_the_quota() {
        let mut q = Quotas::default();
        q.set(config("dev", &[("cpus", 1.0)], &[]));
        assert!(q.get("dev").is_some());
        q.set(config("dev", &[], &[]));
        assert!(q.is_empty());
    }

    #[test]
    fn cut_trims_only_unreserved_scalars_named() {
        let offer = res("cpus:4;mem:1024;cpus(dev):1;ports:[1-10]");
        let caps: Amounts = [("cpus".to_string(), 1500), ("disk".to_string(), 0)]
            .into_iter()
            .collect();
        assert_eq!(
            cut(&offer, &caps),
            res("cpus:1.5;mem:1024;cpus(dev):1;ports:[1-10]")
        );
        let zero: Amounts = [("cpus".to_string(), 0)].into_iter().collect();
        assert_eq!(cut(&offer, &zero), res("mem:1024;cpus(dev):1;ports:[1-10]"));
    }

    #[test]
    fn consumption_counts_reservations_and_unreserved_holdings() {
        let mut q = Quotas::default();
        q.set(config("dev", &[("cpus", 4.0)], &[]));
        let total = res("cpus:4;mem:1024;cpus(dev):2");
        let held = res("cpus:1;cpus(dev):1");
        let available = total.minus(&held);
        let cycle = QuotaCycle::new(
            &q,
            [AgentView {
                total: &total,
                available: &available,
                holdings: vec![("dev", &held)],
            }],
        );
        // 2 reserved (one of them held) + 1 unreserved held.
        assert_eq!(cycle.consumed("dev").get("cpus"), Some(&3000));
        assert!(cycle.below_guarantee("dev"));
    }

    /// Two roles on one agent of `cpus:4;mem:4096`: "dev" with quota,
    /// "ops" without; what each is offered in each stage, given what dev
    /// already holds.
    #[test]
    fn guarantees_first_headroom_kept_limits_never_passed() {
        struct Case {
            name: &'static str,
            dev: QuotaConfig,
            dev_holds: &'static str,
            stage: Stage,
            role: &'static str,
            offered: &'static str,
        }
        let g1 = config("dev", &[("cpus", 1.0)], &[]);
        let g3 = config("dev", &[("cpus", 3.0)], &[]);
        let l2 = config("dev", &[], &[("cpus", 2.0)]);
        let g1l2 = config("dev", &[("cpus", 1.0)], &[("cpus", 2.0)]);
        let cases = [
            Case {
                name: "stage 1 gives dev its guarantee and the unguaranteed kinds",
                dev: g1.clone(),
                dev_holds: "",
                stage: Stage::Guarantees,
                role: "dev",
                offered: "cpus:1;mem:4096",
            },
            Case {
                name: "another role cannot eat into dev's unmet guarantee",
                dev: g3.clone(),
                dev_holds: "",
                stage: Stage::Rest,
                role: "ops",
                offered: "cpus:1;mem:4096",
            },
            Case {
                name: "once the guarantee is met, no headroom is held",
                dev: g3.clone(),
                dev_holds: "cpus:3",
                stage: Stage::Rest,
                role: "ops",
                offered: "cpus:1;mem:4096",
            },
            Case {
                name: "dev itself may take what its guarantee lacks and more",
                dev: g1.clone(),
                dev_holds: "",
                stage: Stage::Rest,
                role: "dev",
                offered: "cpus:4;mem:4096",
            },
            Case {
                name: "a limit cuts the offer",
                dev: l2.clone(),
                dev_holds: "",
                stage: Stage::Rest,
                role: "dev",
                offered: "cpus:2;mem:4096",
            },
            Case {
                name: "a role at its limit gets none of that kind",
                dev: l2,
                dev_holds: "cpus:2",
                stage: Stage::Rest,
                role: "dev",
                offered: "mem:4096",
            },
            Case {
                name: "guarantee then limit",
                dev: g1l2.clone(),
                dev_holds: "cpus:1",
                stage: Stage::Rest,
                role: "dev",
                offered: "cpus:1;mem:4096",
            },
            Case {
                name: "a satisfied role is not served in stage 1",
                dev: g1l2,
                dev_holds: "cpus:1",
                stage: Stage::Guarantees,
                role: "dev",
                offered: "",
            },
        ];
        for case in cases {
            let mut q = Quotas::default();
            q.set(case.dev.clone());
            let total = res("cpus:4;mem:4096");
            let held = res(case.dev_holds);
            // The agent's leftover is what the role could be offered.
            let available = total.minus(&held);
            let cycle = QuotaCycle::new(
                &q,
                [AgentView {
                    total: &total,
                    available: &available,
                    holdings: vec![("dev", &held)],
                }],
            );
            if case.stage == Stage::Guarantees && !cycle.below_guarantee(case.role) {
                // Stage 1 skips satisfied roles.
                assert!(case.offered.is_empty(), "{}", case.name);
                continue;
            }
            let offered = cycle.cut(case.role, case.stage, &available);
            assert_eq!(offered, res(case.offered), "{}", case.name);
        }
    }

    #[test]
    fn offers_update_consumption_and_headroom() {
        let mut q = Quotas::default();
        q.set(config("dev", &[("cpus", 2.0)], &[]));
        let total = res("cpus:2;mem:64");
        let cycle_total = total.clone();
        let mut cycle = QuotaCycle::new(
            &q,
            [AgentView {
                total: &cycle_total,
                available: &total,
                holdings: vec![],
            }],
        );
        // Before dev is served, ops may take no cpus.
        assert_eq!(cycle.cut("ops", Stage::Rest, &total), res("mem:64"));
        cycle.offered("dev", &res("cpus:2"));
        assert!(!cycle.below_guarantee("dev"));
        // Its guarantee met, nothing is held back for dev any more.
        assert_eq!(cycle.cut("ops", Stage::Rest, &res("cpus:1")), res("cpus:1"));
    }
}
