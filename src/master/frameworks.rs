//! Frameworks: subscription (new, re-registration, failover to a new
//! scheduler), deactivation, disconnection with its failover timeout, and
//! removal (teardown, or the timeout passed) with its tasks.

use std::collections::BTreeSet;
use std::time::Duration;

use actors::Pid;
use wire::agent::{ShutdownFramework, UpdateFramework};
use wire::ids::{AgentId, FrameworkId};
use wire::mesos::FrameworkInfo;
use wire::resources::Resources;
use wire::scheduler::{
    Deactivate, FrameworkError, FrameworkRegistered, FrameworkReregistered, Subscribe, Teardown,
};
use wire::task::{Reason, TaskState};

use super::core::Core;
use super::effects::{AllocatorCall, Effect, Effects, Now, Timer, ToAgent, ToScheduler};
use super::operator::OperatorEvent;
use super::state::FrameworkRecord;
use super::tasks::{master_status, Ending};

/// The longest failover timeout a timer is set for, so the timer
/// arithmetic cannot overflow; a year is forever here.
const MAX_FAILOVER_TIMEOUT: Duration = Duration::from_secs(365 * 86400);

impl Core {
    /// SUBSCRIBE: a new framework gets an id; a known one (re)connects,
    /// failing over from its old scheduler when `force` says so.
    pub fn subscribe(&mut self, msg: Subscribe, from: &Pid, now: Now, out: &mut Effects) {
        let mut info = msg.framework;
        let pid_text = from.to_string();
        if let Some(roles) = &self.flags.roles {
            if let Some(bad) = info.roles.iter().find(|r| *r != "*" && !roles.contains(r)) {
                let message = format!("Role '{bad}' is not present in the master's --roles");
                self.deliver(
                    &pid_text,
                    ToScheduler::Error(FrameworkError { message }),
                    out,
                );
                return;
            }
        }
        if info.roles.is_empty() {
            info.roles.push("*".into());
        }
        let Some(id) = info.id.clone() else {
            let id = self.state.new_framework_id();
            info.id = Some(id.clone());
            tracing::info!(framework = %id, name = info.name, %from, "registered framework");
            self.subscribed_new(id, info, None, from, now, out);
            return;
        };
        if self.state.is_completed_framework(&id) {
            let message = "Framework has been removed".into();
            self.deliver(
                &pid_text,
                ToScheduler::Error(FrameworkError { message }),
                out,
            );
            return;
        }
        out.push(Effect::CancelFailoverTimer(id.clone()));
        let Some(existing) = self.state.framework(&id).cloned() else {
            // Unknown id (for example after a master failover, before any
            // agent reported it): accept it under that id.
            tracing::info!(framework = %id, %from, "re-registered unknown framework");
            self.subscribed_new(id, info, Some(now.secs), from, now, out);
            return;
        };
        let same_pid = existing.pid.as_deref() == Some(pid_text.as_str());
        if existing.connected && !same_pid && !msg.force {
            let message = "Framework failed over: another scheduler is connected".into();
            self.deliver(
                &pid_text,
                ToScheduler::Error(FrameworkError { message }),
                out,
            );
            return;
        }
        if existing.connected && !same_pid {
            if let Some(old) = existing.pid.as_deref() {
                let message = "Framework failed over".into();
                let error = ToScheduler::Error(FrameworkError { message });
                self.deliver_with(old, error, &existing.info, out);
                // An HTTP framework's old stream ends here.
                out.push(Effect::EndStream(old.to_owned()));
            }
        }
        // Offers made to the old connection are void.
        self.rescind_offers_where(|o| o.framework_id == id, out);
        let was_recovered = existing.pid.is_none();
        if let Some(f) = self.state.framework_mut(&id) {
            f.pid = Some(pid_text.clone());
            f.connected = true;
            f.active = true;
            f.reregistered_time = Some(now.secs);
            let keep_id = f.id.clone();
            f.info = FrameworkInfo {
                id: Some(keep_id),
                ..info
            };
        }
        if was_recovered {
            let used: Vec<(AgentId, String, Resources)> = existing
                .tasks()
                .values()
                .filter(|t| !t.state.is_terminal())
                .map(|t| (t.agent_id.clone(), t.role.clone(), t.resources.clone()))
                .collect();
            let roles = self
                .state
                .framework(&id)
                .map(|f| f.info.roles.clone())
                .unwrap_or_default();
            out.allocator(AllocatorCall::AddFramework {
                framework_id: id.clone(),
                roles,
                used,
            });
        } else {
            out.allocator(AllocatorCall::ActivateFramework(id.clone()));
        }
        out.push(Effect::LinkScheduler(from.clone()));
        out.operator(OperatorEvent::FrameworkUpdated(id.clone()));
        tracing::info!(framework = %id, %from, failover = !same_pid, "framework re-registered");
        // Agents running its tasks learn the new scheduler pid.
        let agents: BTreeSet<AgentId> = existing
            .tasks()
            .values()
            .map(|t| t.agent_id.clone())
            .collect();
        for agent in agents {
            let update = UpdateFramework {
                framework_id: id.clone(),
                framework_pid: Some(pid_text.clone()),
            };
            self.to_agent(&agent, ToAgent::UpdateFramework(update), out);
        }
        self.count_call(&id, "subscribe");
        let master_info = self.info.clone();
        let answer = if same_pid && !was_recovered {
            ToScheduler::Reregistered(FrameworkReregistered {
                framework_id: id,
                master_info,
            })
        } else {
            ToScheduler::Registered(FrameworkRegistered {
                framework_id: id,
                master_info,
            })
        };
        self.deliver(&pid_text, answer, out);
    }

    /// Records a framework this master did not know (new, or known to an
    /// earlier master) and tells its scheduler it is registered.
    fn subscribed_new(
        &mut self,
        id: FrameworkId,
        info: FrameworkInfo,
        reregistered_time: Option<f64>,
        from: &Pid,
        now: Now,
        out: &mut Effects,
    ) {
        let pid_text = from.to_string();
        out.allocator(AllocatorCall::AddFramework {
            framework_id: id.clone(),
            roles: info.roles.clone(),
            used: Vec::new(),
        });
        let mut record = FrameworkRecord::new(id.clone(), info, Some(pid_text.clone()), now.secs);
        record.reregistered_time = reregistered_time;
        self.state.add_framework(record);
        out.operator(OperatorEvent::FrameworkAdded(id.clone()));
        self.count_call(&id, "subscribe");
        out.push(Effect::LinkScheduler(from.clone()));
        let registered = FrameworkRegistered {
            framework_id: id,
            master_info: self.info.clone(),
        };
        self.deliver(&pid_text, ToScheduler::Registered(registered), out);
    }

    /// TEARDOWN from the framework's scheduler.
    pub fn teardown(&mut self, msg: Teardown, from: &Pid, now: Now, out: &mut Effects) {
        self.count(|m| &m.messages_unregister_framework);
        if self.framework_from(&msg.framework_id, from).is_none() {
            self.dropped("Teardown", from);
            return;
        }
        self.count_call(&msg.framework_id, "teardown");
        self.remove_framework(&msg.framework_id, now, out);
    }

    /// DEACTIVATE: no more offers; the failover timeout starts only when
    /// the scheduler's connection actually goes, as in Mesos.
    pub fn deactivate(&mut self, msg: Deactivate, from: &Pid, out: &mut Effects) {
        self.count(|m| &m.messages_deactivate_framework);
        if self.framework_from(&msg.framework_id, from).is_none() {
            self.dropped("Deactivate", from);
            return;
        }
        if let Some(f) = self.state.framework_mut(&msg.framework_id) {
            f.active = false;
        }
        out.operator(OperatorEvent::FrameworkUpdated(msg.framework_id.clone()));
        out.allocator(AllocatorCall::DeactivateFramework(msg.framework_id.clone()));
        let id = msg.framework_id;
        self.rescind_offers_where(|o| o.framework_id == id, out);
    }

    /// Removes a framework: its tasks are shut down on every agent, its
    /// offers rescinded, its resources returned. Also an operator's
    /// `/master/teardown`.
    pub fn remove_framework(&mut self, framework_id: &FrameworkId, now: Now, out: &mut Effects) {
        out.push(Effect::CancelFailoverTimer(framework_id.clone()));
        self.rescind_offers_where(|o| &o.framework_id == framework_id, out);
        self.state.maintenance_mut().forget_framework(framework_id);
        let Some(framework) = self.state.framework(framework_id) else {
            return;
        };
        tracing::info!(framework = %framework_id, name = framework.info.name, "removing framework");
        let pid = framework.pid.clone();
        let framework_info = framework.info.clone();
        let task_ids: Vec<_> = framework.tasks().keys().cloned().collect();
        // Every agent, not only those running its tasks: executors outlive
        // their finished tasks, and the master does not track them.
        for agent in self.state.agents().keys() {
            let shutdown = ShutdownFramework {
                framework_id: framework_id.clone(),
            };
            self.to_agent(agent, ToAgent::ShutdownFramework(shutdown), out);
        }
        let removed = Ending {
            state: TaskState::Killed,
            reason: Reason::FrameworkRemoved,
            message: "Framework removed",
            tell: false,
            recover: false,
            refused: false,
        };
        for task_id in task_ids {
            let agent = self
                .state
                .task(framework_id, &task_id)
                .map(|t| t.agent_id.clone());
            self.end_task(framework_id, &task_id, agent.as_ref(), &removed, out);
        }
        // Its tasks on unreachable agents end as killed, as in Mesos.
        self.state.complete_unreachable_tasks(
            framework_id,
            self.flags.max_completed_tasks_per_framework,
            |t| {
                let mut status = master_status(
                    &t.task_id,
                    Some(&t.agent_id),
                    TaskState::Killed,
                    Reason::FrameworkRemoved,
                    "Framework removed",
                );
                status.executor_id = t.executor_id.clone();
                status
            },
        );
        out.allocator(AllocatorCall::RemoveFramework(framework_id.clone()));
        if let Some(pid) = pid {
            out.push(Effect::EndStream(pid));
        }
        let limit = self.flags.max_completed_frameworks;
        let mut info = framework_info;
        info.id = Some(framework_id.clone());
        self.state.complete_framework(framework_id, now.secs, limit);
        out.operator(OperatorEvent::FrameworkRemoved(info));
    }

    /// The framework's scheduler went away: no more offers; it has its
    /// failover timeout to come back.
    pub fn disconnect_framework(
        &mut self,
        framework_id: &FrameworkId,
        now: Now,
        out: &mut Effects,
    ) {
        let Some(f) = self.state.framework_mut(framework_id) else {
            return;
        };
        f.connected = false;
        f.active = false;
        out.operator(OperatorEvent::FrameworkUpdated(framework_id.clone()));
        let timeout =
            Duration::try_from_secs_f64(f.info.failover_timeout.max(0.0)).unwrap_or(Duration::MAX);
        tracing::info!(framework = %framework_id, "framework disconnected; failover timeout {timeout:?}");
        out.allocator(AllocatorCall::DeactivateFramework(framework_id.clone()));
        self.rescind_offers_where(|o| &o.framework_id == framework_id, out);
        if timeout.is_zero() {
            self.remove_framework(framework_id, now, out);
            return;
        }
        let timeout = timeout.min(MAX_FAILOVER_TIMEOUT);
        out.push(Effect::CancelFailoverTimer(framework_id.clone()));
        out.set(Timer::Failover(framework_id.clone(), timeout));
    }

    /// A disconnected framework's failover timeout passed.
    pub fn failover_expired(&mut self, id: &FrameworkId, now: Now, out: &mut Effects) {
        if self.state.framework(id).is_some_and(|f| !f.connected) {
            tracing::info!(framework = %id, "framework failover timeout expired");
            self.remove_framework(id, now, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::master::core::fixture::{admit, at, core, run_task, subscribe, told_states};

    #[test]
    fn a_removed_framework_has_its_tasks_killed_without_being_told() {
        let mut core = core(|_| {});
        let (a, b) = (admit(&mut core, 1), admit(&mut core, 2));
        let framework = subscribe(&mut core, 1, |_| {});
        run_task(&mut core, &framework, &a, "t");
        let mut out = Effects::default();
        core.remove_framework(&framework, at(5.0), &mut out);
        assert!(told_states(&out).is_empty());
        // Every agent shuts it down, not only the one running its task.
        let shutdowns = out
            .iter()
            .filter(|e| {
                matches!(
                    e,
                    Effect::ToAgent {
                        message: ToAgent::ShutdownFramework(_),
                        ..
                    }
                )
            })
            .count();
        assert_eq!(shutdowns, 2);
        assert!(core.state().framework(&framework).is_none());
        let done = core
            .state()
            .completed_frameworks()
            .back()
            .expect("completed");
        assert_eq!(done.unregistered_time, Some(5.0));
        let killed: Vec<TaskState> = done.completed_tasks().iter().map(|t| t.state).collect();
        assert_eq!(killed, [TaskState::Killed]);
        for agent in [&a, &b] {
            let used = core.state().agent(agent).map(|a| a.used().is_empty());
            assert_eq!(used, Some(true));
        }
        // A removed framework cannot come back under its id.
        let mut info = FrameworkInfo::new("root", "again");
        info.id = Some(framework);
        let mut out = Effects::default();
        let from = crate::master::core::fixture::scheduler_pid(1);
        core.subscribe(
            Subscribe {
                framework: info,
                force: false,
            },
            &from,
            at(6.0),
            &mut out,
        );
        assert!(out.iter().any(|e| matches!(
            e,
            Effect::ToScheduler { message: ToScheduler::Error(m), .. } if m.message == "Framework has been removed"
        )));
    }

    #[test]
    fn a_disconnected_framework_waits_its_failover_timeout() {
        for (failover_timeout, removed, timer) in [
            (0.0, true, None),
            (10.0, false, Some(Duration::from_secs(10))),
            (1e12, false, Some(MAX_FAILOVER_TIMEOUT)),
        ] {
            let mut core = core(|_| {});
            let framework = subscribe(&mut core, 1, |f| f.failover_timeout = failover_timeout);
            let mut out = Effects::default();
            core.disconnect_framework(&framework, at(2.0), &mut out);
            let set = out.iter().find_map(|e| match e {
                Effect::Set(Timer::Failover(_, after)) => Some(*after),
                _ => None,
            });
            assert_eq!(set, timer, "{failover_timeout}");
            assert_eq!(core.state().framework(&framework).is_none(), removed);
            if !removed {
                core.failover_expired(&framework, at(3.0), &mut Effects::default());
                assert!(core.state().framework(&framework).is_none());
            }
        }
    }

    #[test]
    fn a_second_scheduler_fails_over_only_with_force() {
        let mut core = core(|_| {});
        let framework = subscribe(&mut core, 1, |_| {});
        let info = core
            .state()
            .framework(&framework)
            .map(|f| f.info.clone())
            .unwrap();
        let other = crate::master::core::fixture::scheduler_pid(2);
        for (force, new_pid) in [(false, false), (true, true)] {
            let subscribe = Subscribe {
                framework: info.clone(),
                force,
            };
            core.subscribe(subscribe, &other, at(2.0), &mut Effects::default());
            let pid = core
                .state()
                .framework(&framework)
                .and_then(|f| f.pid.clone());
            assert_eq!(pid == Some(other.to_string()), new_pid, "force={force}");
        }
    }
}
