//! Removal of agents the master lost: marking them unreachable (in the
//! registry and here, their tasks ended, frameworks told), at most one per
//! `--agent_removal_rate_limit` interval when that flag is set.

use std::time::Duration;

use wire::ids::AgentId;
use wire::registry::Operation as RegistryOp;
use wire::task::{Reason, TaskState};

use super::core::Core;
use super::effects::{Effects, Now, Timer};
use super::state::Removal;
use super::tasks::Ending;

impl Core {
    /// Marks an agent unreachable now, or, under
    /// `--agent_removal_rate_limit`, once a permit comes (if it is still
    /// failing then).
    pub(super) fn schedule_removal(&mut self, removal: Removal, now: Now, out: &mut Effects) {
        if self.flags.agent_removal_interval.is_none() {
            self.remove(removal, now, out);
            return;
        }
        self.count(|m| &m.slave_unreachable_scheduled);
        self.removals.push(removal);
        self.next_removal(now, out);
    }

    /// The rate limit allows the next removal.
    pub fn removal_permit(&mut self, now: Now, out: &mut Effects) {
        self.removals.set_permit_pending(false);
        self.next_removal(now, out);
    }

    /// Carries out queued removals as the rate limit allows.
    fn next_removal(&mut self, now: Now, out: &mut Effects) {
        let Some(interval) = self.flags.agent_removal_interval else {
            return;
        };
        while !self.removals.permit_pending() && !self.removals.is_empty() {
            let due = self.removals.last().map_or(Duration::ZERO, |t| {
                (t + interval).saturating_duration_since(now.instant)
            });
            if !due.is_zero() {
                self.removals.set_permit_pending(true);
                out.set(Timer::RemovalPermit(due));
                return;
            }
            let Some(removal) = self.removals.pop() else {
                return;
            };
            let still_failing = match &removal {
                Removal::Silent(id) => self
                    .state
                    .agent(id)
                    .is_some_and(|a| a.pings_missed >= self.flags.max_agent_ping_timeouts),
                Removal::NotBack(id) => self.state.recovered().contains_key(id),
            };
            if still_failing {
                self.removals.set_last(now.instant);
                self.remove(removal, now, out);
            } else {
                tracing::info!(agent = %removal.agent(), "agent back before its removal; canceled");
                self.count(|m| &m.slave_unreachable_canceled);
            }
        }
    }

    fn remove(&mut self, removal: Removal, now: Now, out: &mut Effects) {
        match removal {
            Removal::Silent(id) => self.mark_unreachable(&id, now, out),
            Removal::NotBack(id) => self.mark_recovered_unreachable(&id, now, out),
        }
    }

    /// Removes an agent the master lost contact with: its tasks go to their
    /// frameworks as TASK_UNREACHABLE (or TASK_LOST), frameworks hear the
    /// agent is lost, and its resources leave the allocator.
    fn mark_unreachable(&mut self, agent_id: &AgentId, now: Now, out: &mut Effects) {
        out.record(RegistryOp::MarkUnreachable {
            id: agent_id.clone(),
            time: now.secs,
        });
        let unreachable = Ending {
            state: TaskState::Unreachable,
            reason: Reason::AgentRemoved,
            message: "Agent is unreachable",
            tell: true,
            recover: false,
            refused: false,
        };
        self.remove_agent(agent_id, &unreachable, out);
        self.state.mark_unreachable(agent_id.clone(), now.secs);
        self.count(|m| &m.slave_unreachable_completed);
    }

    /// Marks unreachable an agent admitted before this master's election
    /// that did not come back: only the registry and frameworks knew it.
    fn mark_recovered_unreachable(&mut self, id: &AgentId, now: Now, out: &mut Effects) {
        self.state.take_recovered(id);
        self.state.mark_unreachable(id.clone(), now.secs);
        out.record(RegistryOp::MarkUnreachable {
            id: id.clone(),
            time: now.secs,
        });
        self.count(|m| &m.recovery_slave_removals);
        self.count(|m| &m.slave_unreachable_completed);
        self.tell_agent_lost(id, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::master::core::fixture::{admit, core, run_task, subscribe};
    use crate::master::effects::Effect;

    /// Task ids with their states.
    type Listed = Vec<(String, TaskState)>;

    /// The ids and states of a framework's unreachable and completed tasks.
    fn listed(core: &Core, f: &wire::ids::FrameworkId) -> (Listed, Listed) {
        let record = core.state().framework(f).expect("held");
        let ids = |tasks: &std::collections::VecDeque<crate::master::state::TaskRecord>| {
            tasks
                .iter()
                .map(|t| (t.task_id.value.clone(), t.state))
                .collect::<Vec<_>>()
        };
        (
            ids(record.unreachable_tasks()),
            ids(record.completed_tasks()),
        )
    }

    #[test]
    fn tasks_of_an_unreachable_agent_stay_listed_for_either_partition_capability() {
        let mut core = core(|f| {
            f.max_agent_ping_timeouts = 0;
            f.max_unreachable_tasks_per_framework = 2;
        });
        let agent = admit(&mut core, 1);
        let plain = subscribe(&mut core, 1, |_| {});
        let aware = subscribe(&mut core, 2, |f| {
            f.capabilities
                .push(wire::mesos::capability::PARTITION_AWARE.into())
        });
        for t in ["p1", "p2", "p3"] {
            run_task(&mut core, &plain, &agent, t);
        }
        run_task(&mut core, &aware, &agent, "a1");
        core.ping_agents(
            crate::master::core::fixture::at(2.0),
            &mut Effects::default(),
        );
        assert!(core.state().unreachable().contains_key(&agent));
        // Kept apart from completed tasks, bounded, oldest forgotten.
        let (unreachable, completed) = listed(&core, &plain);
        assert_eq!(unreachable.len(), 2, "{unreachable:?}");
        assert!(unreachable.iter().all(|(_, s)| *s == TaskState::Lost));
        assert!(completed.is_empty(), "{completed:?}");
        assert_eq!(
            listed(&core, &aware).0,
            [("a1".to_owned(), TaskState::Unreachable)]
        );
        assert!(core.state().framework(&plain).unwrap().tasks().is_empty());
        assert_eq!(
            core.state().task_counts().get(&TaskState::Unreachable),
            Some(&1),
            "only TASK_UNREACHABLE ones count as unreachable"
        );

        // A removed framework's unreachable tasks end as killed.
        core.remove_framework(
            &aware,
            crate::master::core::fixture::at(3.0),
            &mut Effects::default(),
        );
        let done = core
            .state()
            .completed_frameworks()
            .back()
            .expect("completed");
        assert!(done.unreachable_tasks().is_empty());
        let killed = done.completed_tasks().back().expect("a completed task");
        assert_eq!(killed.state, TaskState::Killed);
        assert_eq!(
            killed.statuses.last().and_then(|s| s.reason),
            Some(Reason::FrameworkRemoved)
        );

        // Pruned from the registry: its tasks are forgotten with it.
        core.state_mut().prune_unreachable(10.0, 100);
        assert!(listed(&core, &plain).0.is_empty());
    }

    #[test]
    fn an_unreachable_agent_back_takes_its_unreachable_tasks_with_it() {
        let mut core = core(|f| f.max_agent_ping_timeouts = 0);
        let (agent, other) = (admit(&mut core, 1), admit(&mut core, 2));
        let plain = subscribe(&mut core, 1, |_| {});
        run_task(&mut core, &plain, &agent, "here");
        run_task(&mut core, &plain, &other, "there");
        core.ping_agents(
            crate::master::core::fixture::at(2.0),
            &mut Effects::default(),
        );
        assert_eq!(listed(&core, &plain).0.len(), 2);
        // Back: what it still runs it reports again; the rest is not its.
        assert!(core.state_mut().forget_unreachable(&agent));
        assert_eq!(
            listed(&core, &plain).0,
            [("there".to_owned(), TaskState::Lost)]
        );
    }

    #[test]
    fn an_unreachable_agent_marked_gone_ends_its_unreachable_tasks() {
        let mut core = core(|f| f.max_agent_ping_timeouts = 0);
        let agent = admit(&mut core, 1);
        let plain = subscribe(&mut core, 1, |_| {});
        let aware = subscribe(&mut core, 2, |f| {
            f.capabilities
                .push(wire::mesos::capability::PARTITION_AWARE.into())
        });
        run_task(&mut core, &plain, &agent, "p");
        run_task(&mut core, &aware, &agent, "a");
        let at = crate::master::core::fixture::at;
        core.ping_agents(at(2.0), &mut Effects::default());
        let mut out = Effects::default();
        core.mark_agent_gone(&agent, at(3.0), &mut out);
        let mut told = crate::master::core::fixture::told_states(&out);
        told.sort();
        assert_eq!(
            told,
            [
                ("a".to_owned(), TaskState::GoneByOperator),
                ("p".to_owned(), TaskState::Lost)
            ]
        );
        assert_eq!(
            listed(&core, &plain),
            (vec![], vec![("p".to_owned(), TaskState::Lost)])
        );
        assert_eq!(
            listed(&core, &aware),
            (vec![], vec![("a".to_owned(), TaskState::GoneByOperator)])
        );
    }

    #[test]
    fn removals_are_spaced_by_the_rate_limit() {
        let mut core = core(|f| {
            f.agent_removal_interval = Some(Duration::from_secs(10));
            f.max_agent_ping_timeouts = 0;
        });
        let (a, b) = (admit(&mut core, 1), admit(&mut core, 2));
        let start = crate::master::core::fixture::at(1.0);
        let mut out = Effects::default();
        core.ping_agents(start, &mut out);
        // The first goes now; the second waits for a permit.
        assert!(core.state().unreachable().contains_key(&a));
        assert!(core.state().agent(&b).is_some());
        assert!(core.removals.contains(&b));
        let permits: Vec<&Effect> = out
            .iter()
            .filter(|e| matches!(e, Effect::Set(Timer::RemovalPermit(_))))
            .collect();
        assert_eq!(permits.len(), 1);
        let later = Now {
            secs: 11.0,
            instant: start.instant + Duration::from_secs(10),
        };
        core.removal_permit(later, &mut Effects::default());
        assert!(core.state().unreachable().contains_key(&b));
    }

    #[test]
    fn an_agent_back_before_its_turn_is_not_removed() {
        let mut core = core(|f| {
            f.agent_removal_interval = Some(Duration::from_secs(10));
            f.max_agent_ping_timeouts = 0;
        });
        let (_, b) = (admit(&mut core, 1), admit(&mut core, 2));
        let start = crate::master::core::fixture::at(1.0);
        core.ping_agents(start, &mut Effects::default());
        core.pong(
            wire::agent::PongAgent,
            &crate::master::core::fixture::agent_pid(2),
        );
        // Still at the limit of 0 missed pings, it is failing: make it pass.
        core.flags.max_agent_ping_timeouts = 1;
        let later = Now {
            secs: 11.0,
            instant: start.instant + Duration::from_secs(10),
        };
        core.removal_permit(later, &mut Effects::default());
        assert!(core.state().agent(&b).is_some());
        assert!(!core.state().unreachable().contains_key(&b));
    }
}
