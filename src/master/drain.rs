//! Draining an agent (`DRAIN_AGENT`, Mesos's `master/master.cpp` drain
//! handling): the agent is deactivated so nothing new is offered from it,
//! its tasks are killed, and its drain state goes DRAINING → DRAINED once
//! none of its tasks is left running; with `mark_gone` it is then marked
//! gone. `REACTIVATE_AGENT` ends the drain.
//!
//! The kill goes to the task's executor, which ends the task with the
//! task's own kill policy, its grace period capped by `max_grace_period`.

use serde_json::{json, Value};
use wire::agent::KillTask;
use wire::ids::AgentId;

use super::core::Core;
use super::effects::{Effects, Now, ToAgent};

/// `DrainState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DrainState {
    Draining,
    Drained,
}

/// An agent's drain (`DrainInfo`).
#[derive(Debug, Clone, PartialEq)]
pub struct Drain {
    pub state: DrainState,
    /// Seconds a task may take to end, if the operator capped it.
    pub max_grace_period: Option<f64>,
    /// The agent is to be marked gone once drained.
    pub mark_gone: bool,
}

impl Drain {
    /// `DrainInfo` as JSON.
    pub fn to_json(&self) -> Value {
        let state = match self.state {
            DrainState::Draining => "DRAINING",
            DrainState::Drained => "DRAINED",
        };
        let mut config = serde_json::Map::new();
        if let Some(g) = self.max_grace_period {
            config.insert(
                "max_grace_period".into(),
                json!({ "nanoseconds": (g * 1e9).round() as i64 }),
            );
        }
        config.insert("mark_gone".into(), json!(self.mark_gone));
        json!({ "state": state, "config": Value::Object(config) })
    }
}

impl Core {
    /// Starts draining an admitted agent: no more offers from it and its
    /// tasks are killed.
    pub fn drain_agent(
        &mut self,
        id: &AgentId,
        max_grace_period: Option<f64>,
        mark_gone: bool,
        now: Now,
        out: &mut Effects,
    ) {
        if self.state.agent(id).is_none() {
            return;
        }
        tracing::info!(agent = %id, ?max_grace_period, mark_gone, "draining the agent at an operator's request");
        self.deactivate_agent(id, out);
        if let Some(agent) = self.state.agent_mut(id) {
            agent.drain = Some(Drain {
                state: DrainState::Draining,
                max_grace_period,
                mark_gone,
            });
        }
        let running: Vec<KillTask> = self
            .state
            .agent(id)
            .map(|a| {
                a.tasks()
                    .iter()
                    .flat_map(|(f, tasks)| {
                        tasks
                            .iter()
                            .filter(|t| {
                                self.state
                                    .task(f, t)
                                    .is_some_and(|t| !t.state.is_terminal())
                            })
                            .map(|t| KillTask {
                                framework_id: f.clone(),
                                task_id: t.clone(),
                                grace_period: max_grace_period,
                            })
                    })
                    .collect()
            })
            .unwrap_or_default();
        for kill in running {
            tracing::info!(agent = %id, framework = %kill.framework_id, task = %kill.task_id, "killing a task of a draining agent");
            self.to_agent(id, ToAgent::KillTask(kill), out);
        }
        self.drain_progress(id, now, out);
    }

    /// A draining agent with no task left running is drained (and gone,
    /// if the operator asked).
    pub fn drain_progress(&mut self, id: &AgentId, now: Now, out: &mut Effects) {
        let Some(drain) = self.state.agent(id).and_then(|a| a.drain.as_ref()) else {
            return;
        };
        if drain.state != DrainState::Draining {
            return;
        }
        let busy = self.state.agent(id).is_some_and(|a| {
            a.tasks().iter().any(|(f, tasks)| {
                tasks.iter().any(|t| {
                    self.state
                        .task(f, t)
                        .is_some_and(|t| !t.state.is_terminal())
                })
            })
        });
        if busy {
            return;
        }
        let mark_gone = drain.mark_gone;
        tracing::info!(agent = %id, "the agent is drained");
        if let Some(d) = self.state.agent_mut(id).and_then(|a| a.drain.as_mut()) {
            d.state = DrainState::Drained;
        }
        if mark_gone {
            self.mark_agent_gone(id, now, out);
        }
    }

    /// The drain of a reactivated agent is over.
    pub(super) fn end_drain(&mut self, id: &AgentId) {
        let drain = self.state.agent_mut(id).and_then(|a| a.drain.take());
        if drain.is_some() {
            tracing::info!(agent = %id, "the agent's drain ends: it is reactivated");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::master::core::fixture::{admit, at, core, run_task, subscribe};
    use crate::master::effects::Effect;
    use wire::ids::TaskId;
    use wire::mesos::TaskStatus;
    use wire::task::TaskState;

    fn kills(out: &Effects) -> Vec<(String, Option<f64>)> {
        out.iter()
            .filter_map(|e| match e {
                Effect::ToAgent {
                    message: ToAgent::KillTask(k),
                    ..
                } => Some((k.task_id.value.clone(), k.grace_period)),
                _ => None,
            })
            .collect()
    }

    fn finish(c: &mut Core, framework: &wire::ids::FrameworkId, task: &str) {
        let status = TaskStatus::new(TaskId::new(task), TaskState::Killed);
        c.state_mut().update_task(framework, &status, None);
    }

    #[test]
    fn a_drained_agent_is_deactivated_its_tasks_killed_then_drained() {
        for mark_gone in [false, true] {
            let mut c = core(|_| {});
            let agent = admit(&mut c, 1);
            let framework = subscribe(&mut c, 1, |_| {});
            run_task(&mut c, &framework, &agent, "t1");
            let mut out = Effects::default();
            c.drain_agent(&agent, Some(2.0), mark_gone, at(5.0), &mut out);
            assert_eq!(kills(&out), vec![("t1".to_owned(), Some(2.0))]);
            let drain = |c: &Core| c.state().agent(&agent).and_then(|a| a.drain.clone());
            assert!(c.state().agent(&agent).unwrap().deactivated);
            assert_eq!(drain(&c).map(|d| d.state), Some(DrainState::Draining));
            assert_eq!(
                drain(&c).unwrap().to_json(),
                json!({"state":"DRAINING","config":{"max_grace_period":{"nanoseconds":2_000_000_000i64},"mark_gone":mark_gone}})
            );
            finish(&mut c, &framework, "t1");
            c.drain_progress(&agent, at(6.0), &mut Effects::default());
            if mark_gone {
                assert!(c.state().gone().contains_key(&agent));
                assert!(c.state().agent(&agent).is_none());
            } else {
                assert_eq!(drain(&c).map(|d| d.state), Some(DrainState::Drained));
                c.reactivate_agent(&agent, &mut Effects::default());
                assert!(drain(&c).is_none());
                assert!(!c.state().agent(&agent).unwrap().deactivated);
            }
        }
    }

    #[test]
    fn an_agent_without_tasks_is_drained_at_once() {
        let mut c = core(|_| {});
        let agent = admit(&mut c, 1);
        let mut out = Effects::default();
        c.drain_agent(&agent, None, false, at(5.0), &mut out);
        assert!(kills(&out).is_empty());
        let drain = c
            .state()
            .agent(&agent)
            .and_then(|a| a.drain.clone())
            .unwrap();
        assert_eq!(drain.state, DrainState::Drained);
        assert_eq!(
            drain.to_json(),
            json!({"state":"DRAINED","config":{"mark_gone":false}})
        );
    }
}
