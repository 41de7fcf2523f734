//! The registry as the master uses it: what it learns when the registrar
//! recovers it (agents admitted before, agents unreachable), the deadline
//! for those agents to come back (with its safety valve), pruning, and
//! what a failed registry operation means.

use wire::ids::AgentId;
use wire::registry::{Operation as RegistryOp, Registry};

use super::core::Core;
use super::effects::{Effect, Effects, Now, Timer};
use super::state::Removal;
use crate::registrar::RegistrarError;
use crate::stop::StopReason;

impl Core {
    /// The registrar recovered the registry: agents admitted before have
    /// `--agent_reregister_timeout` to come back.
    pub fn registry_recovered(&mut self, registry: Registry) {
        tracing::info!(
            agents = registry.agents.len(),
            unreachable = registry.unreachable.len(),
            "recovered the registry; agents admitted before have {:?} to re-register",
            self.flags.agent_reregister_timeout
        );
        self.recovered_total = registry.agents.len();
        self.recover_quota(&registry);
        *self.state.maintenance_mut() =
            super::maintenance::Maintenance::recovered(registry.maintenance);
        self.state.add_recovered(registry.agents);
        for (id, time) in registry.unreachable {
            self.state.mark_unreachable(id, time);
        }
        for (id, time) in registry.gone {
            self.state.mark_gone(id, time);
        }
    }

    /// Once the registry is recovered (and the registrations held during
    /// recovery handled): pruning starts, and agents admitted before that
    /// are still missing get their deadline.
    pub fn recovery_timers(&self, out: &mut Effects) {
        out.set(Timer::PruneRegistry(self.flags.registry_gc_interval));
        if !self.state.recovered().is_empty() {
            out.set(Timer::ReregisterTimeout(
                self.flags.agent_reregister_timeout,
            ));
        }
    }

    /// A registry operation failed. A refusal is logged; anything else
    /// leaves the master without a registry, and like Mesos it stops, for
    /// a supervisor (or another master) to take over.
    pub fn registry_failed(&self, error: &RegistrarError, out: &mut Effects) {
        match error {
            RegistrarError::Refused(e) => tracing::warn!("registry operation refused: {e}"),
            fatal => {
                tracing::error!("registry failure, the master stops: {fatal}");
                out.push(Effect::Exit(StopReason::RegistryFailed(fatal.to_string())));
            }
        }
    }

    /// Agents admitted before this master that have not come back by now
    /// are marked unreachable, unless so many are missing that the cluster
    /// rather than the agents looks broken.
    pub fn reregister_timeout(&mut self, now: Now, out: &mut Effects) {
        let missing: Vec<AgentId> = self.state.recovered().keys().cloned().collect();
        if missing.is_empty() {
            return;
        }
        let fraction = missing.len() as f64 / self.recovered_total.max(1) as f64;
        if fraction > self.flags.recovery_agent_removal_limit {
            // A safety valve, as in Mesos: a human should look before the
            // registry forgets them.
            tracing::error!(
                missing = missing.len(),
                admitted = self.recovered_total,
                limit = self.flags.recovery_agent_removal_limit,
                "post-recovery agent removal limit exceeded: {:.0}% of the admitted agents did not re-register; exiting instead of marking them unreachable",
                fraction * 100.0
            );
            out.push(Effect::Exit(StopReason::RemovalLimitExceeded {
                missing: missing.len(),
                admitted: self.recovered_total,
            }));
            return;
        }
        tracing::warn!(
            agents = missing.len(),
            "agents did not re-register in time; marking them unreachable"
        );
        for id in missing {
            self.schedule_removal(Removal::NotBack(id), now, out);
        }
    }

    /// Forgets old unreachable and gone agents (`--registry_gc_interval`),
    /// in the registry and here by the same rule.
    pub fn prune_registry(&mut self, now: Now, out: &mut Effects) {
        let before = now.secs - self.flags.registry_max_agent_age.as_secs_f64();
        let max = self.flags.registry_max_agent_count;
        out.record(RegistryOp::Prune { before, max });
        self.state.prune_unreachable(before, max);
        self.state.prune_gone(before);
        out.set(Timer::PruneRegistry(self.flags.registry_gc_interval));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::master::core::fixture::{at, core};
    use wire::mesos::AgentInfo;
    use wire::resources::Resources;

    fn registry(agents: usize) -> Registry {
        let mut registry = Registry::default();
        for n in 0..agents {
            let id = AgentId::new(format!("old-S{n}"));
            let info = AgentInfo {
                hostname: format!("agent{n}"),
                port: 5051,
                resources: Resources::new(),
                attributes: Vec::new(),
                id: Some(id.clone()),
            };
            registry.agents.insert(id, info);
        }
        registry
    }

    #[test]
    fn agents_that_do_not_come_back_are_unreachable_unless_too_many_are_missing() {
        for (limit, exits) in [(1.0, false), (0.5, true)] {
            let mut core = core(|f| f.recovery_agent_removal_limit = limit);
            core.registry_recovered(registry(2));
            let mut out = Effects::default();
            core.recovery_timers(&mut out);
            assert!(out
                .iter()
                .any(|e| matches!(e, Effect::Set(Timer::ReregisterTimeout(_)))));
            let mut out = Effects::default();
            core.reregister_timeout(at(9.0), &mut out);
            let exited = out
                .iter()
                .any(|e| matches!(e, Effect::Exit(StopReason::RemovalLimitExceeded { .. })));
            assert_eq!(exited, exits, "limit {limit}");
            assert_eq!(core.state().unreachable().len(), if exits { 0 } else { 2 });
        }
    }

    #[test]
    fn only_a_refused_operation_lets_the_master_go_on() {
        let core = core(|_| {});
        let refused = RegistrarError::Refused(wire::registry::RegistryError::NoId);
        for (error, exits) in [
            (refused, false),
            (RegistrarError::Aborted("store failed".into()), true),
        ] {
            let mut out = Effects::default();
            core.registry_failed(&error, &mut out);
            assert_eq!(!out.is_empty(), exits, "{error}");
        }
    }
}
