//! The core's side of the operator calls that change the cluster:
//! `MARK_AGENT_GONE`, `DEACTIVATE_AGENT`, `REACTIVATE_AGENT` and
//! `UPDATE_WEIGHTS`. Like every core decision they only change the records
//! and push effects; the call was checked against the records already
//! (`calls.rs`), so an id that is not there is simply nothing to do.

use std::collections::HashMap;

use wire::agent::ShutdownAgent;
use wire::ids::AgentId;
use wire::registry::Operation as RegistryOp;
use wire::task::{Reason, TaskState};

use crate::master::core::Core;
use crate::master::effects::{AllocatorCall, Effects, Now, ToAgent};
use crate::master::tasks::{master_status, Ending};

/// What a gone agent is told when it is (or comes back) connected.
pub const GONE_MESSAGE: &str = "Agent has been marked gone";

impl Core {
    /// An operator says the agent is gone for good: its tasks end as
    /// TASK_GONE_BY_OPERATOR (TASK_LOST for frameworks that are not
    /// partition aware), it is told to shut down, and it is held gone in
    /// the registry so it may not come back.
    pub fn mark_agent_gone(&mut self, id: &AgentId, now: Now, out: &mut Effects) {
        tracing::info!(agent = %id, "marking the agent gone at an operator's request");
        out.record(RegistryOp::MarkGone {
            id: id.clone(),
            time: now.secs,
        });
        if self.state.agent(id).is_some() {
            self.to_agent(
                id,
                ToAgent::Shutdown(ShutdownAgent {
                    message: GONE_MESSAGE.into(),
                }),
                out,
            );
            let gone = Ending {
                state: TaskState::GoneByOperator,
                reason: Reason::AgentRemovedByOperator,
                message: "Agent has been marked gone",
                tell: true,
                recover: false,
                refused: false,
            };
            self.remove_agent(id, &gone, out);
        } else {
            // Its tasks listed as unreachable end now, as Mesos ends them.
            let limit = self.flags.max_completed_tasks_per_framework;
            let ended = self.state.complete_unreachable_tasks_on(id, limit, |f, t| {
                let (state, reason) = match f.partition_aware() {
                    true => (TaskState::GoneByOperator, Reason::AgentRemovedByOperator),
                    false => (TaskState::Lost, Reason::AgentRemoved),
                };
                let mut status = master_status(&t.task_id, Some(id), state, reason, GONE_MESSAGE);
                status.executor_id = t.executor_id.clone();
                status
            });
            for (framework_id, status) in ended {
                out.operator(crate::master::operator::OperatorEvent::TaskUpdated {
                    framework_id: framework_id.clone(),
                    status: status.clone(),
                    state: status.state,
                });
                self.master_update(&framework_id, status, out);
            }
            self.tell_agent_lost(id, out);
        }
        self.state.mark_gone(id.clone(), now.secs);
    }

    /// No offers from the agent until it is reactivated; what it offered
    /// is rescinded.
    pub fn deactivate_agent(&mut self, id: &AgentId, out: &mut Effects) {
        let Some(agent) = self.state.agent_mut(id) else {
            return;
        };
        if agent.deactivated {
            return;
        }
        tracing::info!(agent = %id, "deactivating the agent at an operator's request");
        agent.deactivated = true;
        agent.active = false;
        self.rescind_offers_where(|o| &o.agent_id == id, out);
        out.allocator(AllocatorCall::DeactivateAgent(id.clone()));
    }

    /// The agent is offered again (once connected).
    pub fn reactivate_agent(&mut self, id: &AgentId, out: &mut Effects) {
        self.end_drain(id);
        let Some(agent) = self.state.agent_mut(id) else {
            return;
        };
        if !agent.deactivated {
            return;
        }
        tracing::info!(agent = %id, "reactivating the agent at an operator's request");
        agent.deactivated = false;
        agent.active = agent.connected;
        if agent.connected {
            out.allocator(AllocatorCall::ActivateAgent(id.clone()));
        }
    }

    /// New role weights, for `/roles` and the allocator alike.
    pub fn update_weights(&mut self, weights: Vec<(String, f64)>, out: &mut Effects) {
        let weights: HashMap<String, f64> = weights.into_iter().collect();
        tracing::info!(?weights, "updating role weights at an operator's request");
        self.flags.weights.extend(weights.clone());
        out.allocator(AllocatorCall::UpdateWeights(weights));
    }
}

#[cfg(test)]
mod tests {
    use crate::master::core::fixture::{
        admit, agent_pid, at, core, run_task, subscribe, told_states,
    };
    use crate::master::effects::{AllocatorCall, Effect, Effects, ToAgent};
    use crate::master::operator::OperatorEvent;
    use wire::task::TaskState;

    #[test]
    fn a_gone_agent_ends_its_tasks_is_shut_down_and_held_gone() {
        let mut c = core(|_| {});
        let agent = admit(&mut c, 1);
        let framework = subscribe(&mut c, 1, |f| {
            f.capabilities = vec!["PARTITION_AWARE".into()]
        });
        run_task(&mut c, &framework, &agent, "t1");
        let mut out = Effects::default();
        c.mark_agent_gone(&agent, at(10.0), &mut out);
        assert!(c.state().agent(&agent).is_none());
        assert!(c.state().gone().contains_key(&agent));
        assert_eq!(
            told_states(&out),
            vec![("t1".to_owned(), TaskState::GoneByOperator)]
        );
        assert!(out.iter().any(|e| matches!(
            e,
            Effect::ToAgent {
                message: ToAgent::Shutdown(_),
                ..
            }
        )));
        assert!(out.iter().any(|e| matches!(
            e,
            Effect::Record(wire::registry::Operation::MarkGone { .. })
        )));
        assert!(out.iter().any(
            |e| matches!(e, Effect::Operator(OperatorEvent::AgentRemoved(id)) if id == &agent)
        ));
    }

    #[test]
    fn a_gone_agent_that_comes_back_is_told_to_shut_down() {
        let mut c = core(|_| {});
        let agent = admit(&mut c, 1);
        let info = c.state().agent(&agent).unwrap().info.clone();
        c.mark_agent_gone(&agent, at(10.0), &mut Effects::default());
        let back = wire::agent::ReregisterAgent {
            info,
            version: "1".into(),
            tasks: Vec::new(),
            executors: Vec::new(),
            frameworks: Vec::new(),
        };
        let mut out = Effects::default();
        c.reregister_or_readmit(back, &agent_pid(1), at(11.0), &mut out);
        let told: Vec<&Effect> = out.iter().collect();
        assert!(
            matches!(
                told.as_slice(),
                [Effect::ToAgent {
                    message: ToAgent::Shutdown(_),
                    ..
                }]
            ),
            "{told:?}"
        );
        assert!(c.state().agent(&agent).is_none());
    }

    #[test]
    fn a_status_update_is_heard_by_operators_with_the_tasks_state() {
        let mut c = core(|_| {});
        let agent = admit(&mut c, 1);
        let framework = subscribe(&mut c, 1, |_| {});
        run_task(&mut c, &framework, &agent, "t1");
        let status =
            wire::mesos::TaskStatus::new(wire::ids::TaskId::new("t1"), TaskState::Finished);
        let update = wire::agent::StatusUpdateMessage {
            update: wire::mesos::StatusUpdate {
                framework_id: framework.clone(),
                executor_id: None,
                agent_id: Some(agent.clone()),
                status,
                timestamp: 1.0,
                uuid: Some(vec![7; 16]),
                latest_state: None,
            },
            pid: Some(agent_pid(1).to_string()),
        };
        let mut out = Effects::default();
        c.status_update(update, &agent_pid(1), &mut out);
        let heard: Vec<&OperatorEvent> = out
            .iter()
            .filter_map(|e| match e {
                Effect::Operator(event) => Some(event),
                _ => None,
            })
            .collect();
        assert!(
            matches!(
                heard.as_slice(),
                [OperatorEvent::TaskUpdated { state: TaskState::Finished, framework_id, .. }]
                    if framework_id == &framework
            ),
            "{heard:?}"
        );
    }

    #[test]
    fn a_deactivated_agent_stays_out_of_the_allocator_until_reactivated() {
        let mut c = core(|_| {});
        let agent = admit(&mut c, 1);
        let mut out = Effects::default();
        c.deactivate_agent(&agent, &mut out);
        let a = c.state().agent(&agent).unwrap();
        assert!(a.deactivated && !a.active);
        assert!(out
            .iter()
            .any(|e| matches!(e, Effect::Allocator(AllocatorCall::DeactivateAgent(_)))));
        let mut again = Effects::default();
        c.deactivate_agent(&agent, &mut again);
        assert!(again.is_empty(), "deactivating twice does nothing more");
        let mut out = Effects::default();
        c.reactivate_agent(&agent, &mut out);
        let a = c.state().agent(&agent).unwrap();
        assert!(!a.deactivated && a.active);
        assert!(out
            .iter()
            .any(|e| matches!(e, Effect::Allocator(AllocatorCall::ActivateAgent(_)))));
    }

    #[test]
    fn new_weights_reach_the_allocator_and_the_roles() {
        let mut c = core(|_| {});
        let mut out = Effects::default();
        c.update_weights(vec![("web".into(), 3.0)], &mut out);
        assert_eq!(c.flags().weights.get("web"), Some(&3.0));
        assert!(out.iter().any(
            |e| matches!(e, Effect::Allocator(AllocatorCall::UpdateWeights(w)) if w.get("web") == Some(&3.0))
        ));
    }
}
