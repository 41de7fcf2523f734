//! The registry: what the masters keep durably (Mesos's
//! `mesos.internal.Registry`): the last leading master, the admitted agents,
//! and the agents marked unreachable or gone, with when. Frameworks and
//! tasks are not in it; they are re-learned from agents and schedulers
//! after a failover. Quota configurations (`quota_configs`) are kept here
//! too, so a role's guarantees and limits survive a failover.
//!
//! Operations ([`Operation`]) change a registry atomically: `apply` either
//! changes it and says whether anything changed, or refuses with a reason
//! and leaves it as it was.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ids::AgentId;
use crate::mesos::{AgentInfo, MasterInfo};
use crate::resources::Milli;

/// One role's quota (Mesos's `quota.QuotaConfig`): scalar guarantees
/// and limits by resource name. No guarantees and no limits is the
/// default quota, which is kept as no entry at all.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct QuotaConfig {
    pub role: String,
    pub guarantees: BTreeMap<String, Milli>,
    pub limits: BTreeMap<String, Milli>,
}

impl QuotaConfig {
    /// Whether this is the default quota (nothing guaranteed, no limit).
    pub fn is_default(&self) -> bool {
        self.guarantees.is_empty() && self.limits.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Registry {
    /// The master that last recovered this registry.
    pub master: Option<MasterInfo>,
    /// Admitted agents by id (each info carries its id too). A map, so
    /// that admitting the 50,000th agent costs no more than the first.
    pub agents: BTreeMap<AgentId, AgentInfo>,
    /// Agents marked unreachable, with the time (seconds since the epoch).
    pub unreachable: Vec<(AgentId, f64)>,
    /// Agents an operator marked gone, with the time.
    pub gone: Vec<(AgentId, f64)>,
    /// Roles' quotas, one per role, none of them the default.
    #[serde(default)]
    pub quota_configs: Vec<QuotaConfig>,
    /// The maintenance schedule and the machines in it.
    pub maintenance: crate::maintenance::Maintenance,
}

impl Registry {
    pub fn is_admitted(&self, id: &AgentId) -> bool {
        self.agents.contains_key(id)
    }

    pub fn is_unreachable(&self, id: &AgentId) -> bool {
        self.unreachable.iter().any(|(a, _)| a == id)
    }

    pub fn is_gone(&self, id: &AgentId) -> bool {
        self.gone.iter().any(|(a, _)| a == id)
    }
}

/// A change to the registry (Mesos's registry operations).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Operation {
    /// A master recovered the registry and now leads.
    Recover(MasterInfo),
    /// A new agent is admitted.
    AdmitAgent(AgentInfo),
    /// An admitted agent's information changed.
    UpdateAgent(AgentInfo),
    /// An admitted agent lost contact: it moves to the unreachable list.
    MarkUnreachable { id: AgentId, time: f64 },
    /// An unreachable (or unknown) agent came back and is admitted again.
    MarkReachable(AgentInfo),
    /// An agent left gracefully.
    RemoveAgent(AgentId),
    /// An operator declared the agent gone for good.
    MarkGone { id: AgentId, time: f64 },
    /// Forget unreachable and gone entries older than `before`, and keep at
    /// most `max` of each (oldest dropped first).
    Prune { before: f64, max: usize },
    /// Each config replaces its role's quota; a default one removes it.
    UpdateQuota(Vec<QuotaConfig>),
    /// The maintenance schedule or a machine's mode changed: the whole of
    /// what is kept of maintenance, as the master now has it.
    UpdateMaintenance(crate::maintenance::Maintenance),
}

/// Why an operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    #[error("agent {0} is already admitted")]
    AlreadyAdmitted(String),
    #[error("agent {0} is not admitted")]
    NotAdmitted(String),
    #[error("agent {0} is already gone")]
    AlreadyGone(String),
    #[error("agent information carries no id")]
    NoId,
}

impl Operation {
    /// Applies the operation. `Ok(true)` if the registry changed,
    /// `Ok(false)` if there was nothing to do; on `Err` it is unchanged.
    pub fn apply(&self, registry: &mut Registry) -> Result<bool, RegistryError> {
        match self {
            Operation::Recover(info) => {
                registry.master = Some(info.clone());
                Ok(true)
            }
            Operation::AdmitAgent(info) => {
                let id = info.id.clone().ok_or(RegistryError::NoId)?;
                if registry.is_admitted(&id) {
                    return Err(RegistryError::AlreadyAdmitted(id.value));
                }
                registry.agents.insert(id, info.clone());
                Ok(true)
            }
            Operation::UpdateAgent(info) => {
                let id = info.id.as_ref().ok_or(RegistryError::NoId)?;
                let slot = registry
                    .agents
                    .get_mut(id)
                    .ok_or_else(|| RegistryError::NotAdmitted(id.value.clone()))?;
                if slot == info {
                    return Ok(false);
                }
                *slot = info.clone();
                Ok(true)
            }
            Operation::MarkUnreachable { id, time } => {
                registry
                    .agents
                    .remove(id)
                    .ok_or_else(|| RegistryError::NotAdmitted(id.value.clone()))?;
                registry.unreachable.push((id.clone(), *time));
                Ok(true)
            }
            Operation::MarkReachable(info) => {
                let id = info.id.clone().ok_or(RegistryError::NoId)?;
                if registry.is_admitted(&id) {
                    return Ok(false);
                }
                registry.unreachable.retain(|(a, _)| a != &id);
                registry.agents.insert(id, info.clone());
                Ok(true)
            }
            Operation::RemoveAgent(id) => {
                registry
                    .agents
                    .remove(id)
                    .ok_or_else(|| RegistryError::NotAdmitted(id.value.clone()))?;
                Ok(true)
            }
            Operation::MarkGone { id, time } => {
                if registry.is_gone(id) {
                    return Err(RegistryError::AlreadyGone(id.value.clone()));
                }
                registry.agents.remove(id);
                registry.unreachable.retain(|(a, _)| a != id);
                registry.gone.push((id.clone(), *time));
                Ok(true)
            }
            Operation::Prune { before, max } => {
                let (u, g) = (registry.unreachable.len(), registry.gone.len());
                for list in [&mut registry.unreachable, &mut registry.gone] {
                    list.retain(|(_, t)| t >= before);
                    list.sort_by(|a, b| a.1.total_cmp(&b.1));
                    let excess = list.len().saturating_sub(*max);
                    list.drain(..excess);
                }
                Ok(u != registry.unreachable.len() || g != registry.gone.len())
            }
            Operation::UpdateQuota(configs) => {
                let before = registry.quota_configs.clone();
                for config in configs {
                    registry.quota_configs.retain(|c| c.role != config.role);
                    if !config.is_default() {
                        registry.quota_configs.push(config.clone());
                    }
                }
                registry.quota_configs.sort_by(|a, b| a.role.cmp(&b.role));
                Ok(before != registry.quota_configs)
            }
            Operation::UpdateMaintenance(m) => {
                let changed = &registry.maintenance != m;
                registry.maintenance = m.clone();
                Ok(changed)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::Resources;

    fn agent(id: &str) -> AgentInfo {
        AgentInfo {
            hostname: "h".into(),
            port: 5051,
            resources: Resources::new(),
            attributes: vec![],
            id: Some(AgentId::new(id)),
        }
    }

    #[test]
    fn admit_unreachable_reachable_remove_gone() {
        let mut r = Registry::default();
        let a = AgentId::new("a");
        assert_eq!(Operation::AdmitAgent(agent("a")).apply(&mut r), Ok(true));
        assert!(matches!(
            Operation::AdmitAgent(agent("a")).apply(&mut r),
            Err(RegistryError::AlreadyAdmitted(_))
        ));
        assert_eq!(Operation::UpdateAgent(agent("a")).apply(&mut r), Ok(false));
        let mut changed = agent("a");
        changed.hostname = "h2".into();
        assert_eq!(Operation::UpdateAgent(changed).apply(&mut r), Ok(true));
        assert_eq!(
            Operation::MarkUnreachable {
                id: a.clone(),
                time: 5.0
            }
            .apply(&mut r),
            Ok(true)
        );
        assert!(!r.is_admitted(&a) && r.is_unreachable(&a));
        assert!(Operation::MarkUnreachable {
            id: a.clone(),
            time: 6.0
        }
        .apply(&mut r)
        .is_err());
        assert_eq!(Operation::MarkReachable(agent("a")).apply(&mut r), Ok(true));
        assert!(r.is_admitted(&a) && !r.is_unreachable(&a));
        assert_eq!(
            Operation::MarkReachable(agent("a")).apply(&mut r),
            Ok(false)
        );
        assert_eq!(Operation::RemoveAgent(a.clone()).apply(&mut r), Ok(true));
        assert!(Operation::RemoveAgent(a.clone()).apply(&mut r).is_err());
        assert_eq!(
            Operation::MarkGone {
                id: a.clone(),
                time: 1.0
            }
            .apply(&mut r),
            Ok(true)
        );
        assert!(Operation::MarkGone {
            id: a.clone(),
            time: 1.0
        }
        .apply(&mut r)
        .is_err());
    }

    #[test]
    fn quota_configs_are_replaced_by_role_and_the_default_removes_one() {
        let config = |role: &str, cpus: i64| QuotaConfig {
            role: role.into(),
            guarantees: BTreeMap::from([("cpus".to_string(), Milli(cpus))]),
            limits: BTreeMap::new(),
        };
        let mut r = Registry::default();
        let op = Operation::UpdateQuota(vec![config("b", 1000), config("a", 500)]);
        assert_eq!(op.apply(&mut r), Ok(true));
        assert_eq!(op.apply(&mut r), Ok(false), "the same again");
        assert_eq!(r.quota_configs, [config("a", 500), config("b", 1000)]);
        let replaced = Operation::UpdateQuota(vec![config("a", 2000)]);
        assert_eq!(replaced.apply(&mut r), Ok(true));
        assert_eq!(r.quota_configs, [config("a", 2000), config("b", 1000)]);
        let removed = Operation::UpdateQuota(vec![QuotaConfig {
            role: "b".into(),
            ..QuotaConfig::default()
        }]);
        assert_eq!(removed.apply(&mut r), Ok(true));
        assert_eq!(r.quota_configs, [config("a", 2000)]);
    }

    #[test]
    fn a_refused_operation_changes_nothing() {
        let mut r = Registry::default();
        Operation::AdmitAgent(agent("a")).apply(&mut r).unwrap();
        let before = r.clone();
        let mut no_id = agent("x");
        no_id.id = None;
        for op in [
            Operation::AdmitAgent(agent("a")),
            Operation::AdmitAgent(no_id),
            Operation::RemoveAgent(AgentId::new("zz")),
            Operation::UpdateAgent(agent("zz")),
        ] {
            assert!(op.apply(&mut r).is_err(), "{op:?}");
            assert_eq!(r, before);
        }
    }

    #[test]
    fn prune_drops_old_and_excess_entries() {
        let mut r = Registry::default();
        for (i, t) in [1.0, 2.0, 3.0, 4.0].iter().enumerate() {
            r.unreachable.push((AgentId::new(format!("u{i}")), *t));
        }
        assert_eq!(
            Operation::Prune {
                before: 2.0,
                max: 2
            }
            .apply(&mut r),
            Ok(true)
        );
        let kept: Vec<f64> = r.unreachable.iter().map(|(_, t)| *t).collect();
        assert_eq!(kept, vec![3.0, 4.0]);
        assert_eq!(
            Operation::Prune {
                before: 0.0,
                max: 10
            }
            .apply(&mut r),
            Ok(false)
        );
    }
}
