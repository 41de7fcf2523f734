//! Agents: admission of new agents and re-registration of known ones
//! (through the registrar when the registry must change), reconfiguration,
//! unregistration, pings and pongs, lost connections, and the removal of an
//! agent with its tasks.

use std::collections::{BTreeMap, HashSet};

use actors::Pid;
use wire::agent::{
    AgentRegistered, AgentReregistered, PingAgent, PongAgent, RegisterAgent, ReregisterAgent,
    ShutdownFramework, UnregisterAgent,
};
use wire::ids::{AgentId, FrameworkId};
use wire::mesos::{AgentInfo, Task};
use wire::registry::Operation as RegistryOp;
use wire::resources::Resources;
use wire::scheduler::AgentLost;
use wire::task::{Reason, TaskState};

use super::core::Core;
use super::effects::{AllocatorCall, Effect, Effects, Now, Timer, ToAgent, ToScheduler};
use super::operator::OperatorEvent;
use super::state::{AgentRecord, FrameworkRecord, Removal};
use super::tasks::{master_status, Ending};

/// Sums of resources by framework and role.
type Used = BTreeMap<(FrameworkId, String), Resources>;

fn used_list(used: Used) -> Vec<(FrameworkId, String, Resources)> {
    used.into_iter()
        .map(|((f, role), r)| (f, role, r))
        .collect()
}

impl Core {
    /// Admits a new agent through the registrar (or answers a retry).
    pub fn register_agent(&mut self, msg: RegisterAgent, from: &Pid, out: &mut Effects) {
        let pid_text = from.to_string();
        if self.admitting.contains(&pid_text) {
            // A retry while the registrar admits it: the answer will come.
            return;
        }
        if self.refuse_if_down(&msg.info.hostname, from, out) {
            return;
        }
        if let Some(existing) = self.state.agent_by_pid(&pid_text).map(|a| a.id.clone()) {
            // A retry of a registration that already succeeded.
            let connected = self.state.agent(&existing).is_some_and(|a| a.connected);
            if connected {
                let total_ping_timeout_seconds = self.total_ping_timeout();
                out.to_agent(
                    from.clone(),
                    ToAgent::Registered(AgentRegistered {
                        agent_id: existing,
                        total_ping_timeout_seconds,
                    }),
                );
                return;
            }
            // The old incarnation is gone: remove it, admit afresh.
            let restarted = Ending {
                state: TaskState::Lost,
                reason: Reason::AgentRestarted,
                message: "Agent restarted",
                tell: true,
                recover: false,
                refused: false,
            };
            self.remove_agent(&existing, &restarted, out);
        }
        let id = self.state.new_agent_id();
        let mut info = msg.info;
        info.id = Some(id);
        self.admitting.insert(pid_text);
        out.push(Effect::Admit {
            pid: from.clone(),
            info,
            version: msg.version,
        });
    }

    /// The registrar admitted a new agent: it is linked and told its id.
    pub fn agent_admitted(
        &mut self,
        pid: &Pid,
        info: AgentInfo,
        version: String,
        now: Now,
        out: &mut Effects,
    ) {
        let Some(id) = info.id.clone() else {
            return;
        };
        tracing::info!(agent = %id, %pid, hostname = info.hostname, resources = %info.resources, "registered agent");
        out.allocator(AllocatorCall::AddAgent {
            agent_id: id.clone(),
            total: info.resources.clone(),
            used: Vec::new(),
        });
        self.state.add_agent(AgentRecord::new(
            id.clone(),
            info,
            pid.to_string(),
            version,
            now.secs,
        ));
        out.operator(OperatorEvent::AgentAdded(id.clone()));
        out.push(Effect::LinkAgent(pid.clone()));
        self.count(|m| &m.slave_registrations);
        let total_ping_timeout_seconds = self.total_ping_timeout();
        out.to_agent(
            pid.clone(),
            ToAgent::Registered(AgentRegistered {
                agent_id: id,
                total_ping_timeout_seconds,
            }),
        );
    }

    /// The registrar's answer for an agent is in (whatever it was).
    pub fn admission_done(&mut self, pid: &Pid) {
        self.admitting.remove(&pid.to_string());
    }

    /// Takes back a known agent, or has the registrar readmit one this
    /// master has not seen yet.
    pub fn reregister_or_readmit(
        &mut self,
        msg: ReregisterAgent,
        from: &Pid,
        now: Now,
        out: &mut Effects,
    ) {
        let Some(id) = msg.info.id.clone() else {
            tracing::warn!(%from, "re-registration without an agent id; ignoring");
            return;
        };
        if self.state.gone().contains_key(&id) {
            tracing::info!(agent = %id, %from, "refusing the re-registration of an agent marked gone");
            out.to_agent(
                from.clone(),
                ToAgent::Shutdown(wire::agent::ShutdownAgent {
                    message: super::operator::GONE_MESSAGE.into(),
                }),
            );
            return;
        }
        if self.refuse_if_down(&msg.info.hostname, from, out) {
            return;
        }
        if self.state.agent(&id).is_some() {
            self.reregister_agent(msg, from, false, now, out);
            return;
        }
        // Admitted before this master's election with the same info: the
        // registry already says all there is to say (as in Mesos).
        if self.state.recovered().get(&id) == Some(&msg.info) {
            self.state.take_recovered(&id);
            self.reregister_agent(msg, from, true, now, out);
            return;
        }
        // Recovered with other info, unreachable, or unknown: the registrar
        // must update or (re)admit it before it is back.
        if !self.admitting.insert(from.to_string()) {
            return;
        }
        let operation = if self.state.recovered().contains_key(&id) {
            RegistryOp::UpdateAgent(msg.info.clone())
        } else {
            RegistryOp::MarkReachable(msg.info.clone())
        };
        out.push(Effect::Readmit {
            pid: from.clone(),
            operation,
            message: msg,
        });
    }

    /// The registrar readmitted a returning agent.
    pub fn agent_readmitted(
        &mut self,
        pid: &Pid,
        msg: ReregisterAgent,
        now: Now,
        out: &mut Effects,
    ) {
        let recovered = msg
            .info
            .id
            .as_ref()
            .is_some_and(|id| self.state.take_recovered(id).is_some());
        self.reregister_agent(msg, pid, recovered, now, out);
    }

    /// Takes back an admitted agent. `recovered`: it was admitted before
    /// this master's election and comes back for the first time since.
    fn reregister_agent(
        &mut self,
        msg: ReregisterAgent,
        from: &Pid,
        recovered: bool,
        now: Now,
        out: &mut Effects,
    ) {
        let total_ping = self.total_ping_timeout();
        let Some(id) = msg.info.id.clone() else {
            tracing::warn!(%from, "re-registration without an agent id; ignoring");
            return;
        };
        let executors = msg.executors.clone();
        let mut removed = HashSet::new();
        if self.state.agent(&id).is_some() {
            self.state.set_agent_pid(&id, from.to_string());
            let Some(agent) = self.state.agent_mut(&id) else {
                return;
            };
            agent.connected = true;
            agent.active = !agent.deactivated;
            agent.pings_missed = 0;
            agent.reregistered_time = Some(now.secs);
            let reconfigured = agent.info.resources != msg.info.resources
                || agent.info.attributes != msg.info.attributes;
            let deactivated = agent.deactivated;
            if reconfigured {
                self.reconfigure_agent(&id, msg.info.clone(), out);
            }
            if !deactivated {
                out.allocator(AllocatorCall::ActivateAgent(id.clone()));
            }
        } else {
            removed = self.readmit_agent(&id, msg, from, recovered, now, out);
        }
        // The executors it runs, of frameworks still held (Mesos's master
        // learns them from the re-registration too).
        self.state.forget_executors_on(&id);
        for e in executors {
            if let Some(fid) = e.framework_id.clone() {
                if !removed.contains(&fid) {
                    self.state.add_executor(&fid, &id, e);
                }
            }
        }
        out.push(Effect::LinkAgent(from.clone()));
        self.count(|m| &m.slave_reregistrations);
        tracing::info!(agent = %id, pid = %from, "re-registered agent");
        out.to_agent(
            from.clone(),
            ToAgent::Reregistered(AgentReregistered {
                agent_id: id.clone(),
                total_ping_timeout_seconds: total_ping,
            }),
        );
        for framework_id in removed {
            tracing::info!(agent = %id, framework = %framework_id, "shutting down a removed framework on a returning agent");
            out.to_agent(
                from.clone(),
                ToAgent::ShutdownFramework(ShutdownFramework { framework_id }),
            );
        }
    }

    /// A known agent restarted with more resources or attributes
    /// (`--reconfiguration_policy=additive` on the agent): the registry,
    /// the allocator and this master's view take the new info; offers of
    /// the old resources are rescinded.
    fn reconfigure_agent(&mut self, id: &AgentId, info: AgentInfo, out: &mut Effects) {
        tracing::info!(agent = %id, resources = %info.resources, "agent restarted with new resources or attributes");
        self.rescind_offers_where(|o| &o.agent_id == id, out);
        out.record(RegistryOp::UpdateAgent(info.clone()));
        let mut used = Used::new();
        if let Some(agent) = self.state.agent(id) {
            for (framework_id, task_ids) in agent.tasks() {
                for t in task_ids
                    .iter()
                    .filter_map(|t| self.state.task(framework_id, t))
                {
                    if !t.state.is_terminal() {
                        let e = used
                            .entry((framework_id.clone(), t.role.clone()))
                            .or_default();
                        *e = e.plus(&t.resources);
                    }
                }
            }
        }
        out.allocator(AllocatorCall::RemoveAgent(id.clone()));
        out.allocator(AllocatorCall::AddAgent {
            agent_id: id.clone(),
            total: info.resources.clone(),
            used: used_list(used),
        });
        if let Some(agent) = self.state.agent_mut(id) {
            agent.info = info;
        }
    }

    /// An agent this master does not hold (it was admitted before this
    /// master's election, or marked unreachable, or is unknown) is back:
    /// it is admitted under its own id with what it runs. As in Mesos,
    /// frameworks removed meanwhile are shut down on it rather than
    /// revived, and connected frameworks hear the current state of the
    /// tasks of an agent that was unreachable or unknown (they were told
    /// TASK_LOST or TASK_UNREACHABLE, or nothing, before). Returns the
    /// removed frameworks to shut down on the agent.
    fn readmit_agent(
        &mut self,
        id: &AgentId,
        msg: ReregisterAgent,
        from: &Pid,
        recovered: bool,
        now: Now,
        out: &mut Effects,
    ) -> HashSet<FrameworkId> {
        let was_unreachable = self.state.forget_unreachable(id);
        let mut record = AgentRecord::new(
            id.clone(),
            msg.info.clone(),
            from.to_string(),
            msg.version.clone(),
            now.secs,
        );
        record.reregistered_time = Some(now.secs);
        self.state.add_agent(record);
        out.operator(OperatorEvent::AgentAdded(id.clone()));
        let removed: HashSet<FrameworkId> = msg
            .frameworks
            .iter()
            .filter_map(|f| f.id.clone())
            .filter(|fid| self.state.is_completed_framework(fid))
            .collect();
        for framework in &msg.frameworks {
            let Some(fid) = framework.id.clone() else {
                continue;
            };
            if removed.contains(&fid) {
                continue;
            }
            self.state.add_framework_if_absent(&fid, || {
                FrameworkRecord::new(fid.clone(), framework.clone(), None, now.secs)
            });
        }
        let tasks: Vec<Task> = msg
            .tasks
            .into_iter()
            .filter(|t| !removed.contains(&t.framework_id))
            .collect();
        let mut used = Used::new();
        for t in tasks.iter().filter(|t| !t.state.is_terminal()) {
            let e = used
                .entry((t.framework_id.clone(), t.role.clone()))
                .or_default();
            *e = e.plus(&t.resources);
        }
        out.allocator(AllocatorCall::AddAgent {
            agent_id: id.clone(),
            total: msg.info.resources.clone(),
            used: used_list(used),
        });
        let message = if was_unreachable {
            "Unreachable agent re-reregistered"
        } else {
            "Unknown agent reregistered"
        };
        for task in tasks {
            let Some(framework) = self.state.framework(&task.framework_id) else {
                continue;
            };
            // Operators hear of the tasks a master learns from an agent
            // (after a failover, or an agent back from unreachable).
            out.operator(OperatorEvent::TaskAdded {
                framework_id: task.framework_id.clone(),
                task_id: task.task_id.clone(),
            });
            if recovered {
                self.state.add_task(task);
                continue;
            }
            // Reported terminal here before; running again now.
            let connected = framework.connected;
            let mut status = master_status(
                &task.task_id,
                Some(id),
                task.state,
                Reason::AgentReregistered,
                message,
            );
            status.executor_id = task.executor_id.clone();
            let framework_id = task.framework_id.clone();
            self.state.add_task_again(task);
            if connected {
                self.master_update(&framework_id, status, out);
            }
        }
        removed
    }

    /// An agent asks to leave: it is removed from the registry and here.
    pub fn unregister_agent(&mut self, msg: UnregisterAgent, from: &Pid, out: &mut Effects) {
        if !self.is_agent(&msg.agent_id, from) {
            self.dropped("UnregisterAgent", from);
            return;
        }
        tracing::info!(agent = %msg.agent_id, "agent unregistered");
        out.record(RegistryOp::RemoveAgent(msg.agent_id.clone()));
        let unregistered = Ending {
            state: TaskState::Lost,
            reason: Reason::AgentRemoved,
            message: "Agent unregistered",
            tell: true,
            recover: false,
            refused: false,
        };
        self.remove_agent(&msg.agent_id, &unregistered, out);
    }

    /// An agent answered a ping.
    pub fn pong(&mut self, _: PongAgent, from: &Pid) {
        let id = self
            .state
            .agent_by_pid(&from.to_string())
            .map(|a| a.id.clone());
        if let Some(agent) = id.and_then(|id| self.state.agent_mut(&id)) {
            agent.pings_missed = 0;
        }
    }

    /// Pings every agent; one that missed `--max_agent_ping_timeouts`
    /// pings in a row is to be marked unreachable.
    pub fn ping_agents(&mut self, now: Now, out: &mut Effects) {
        let max = self.flags.max_agent_ping_timeouts;
        let mut lost = Vec::new();
        let ids: Vec<AgentId> = self.state.agents().keys().cloned().collect();
        for id in ids {
            let Some(agent) = self.state.agent_mut(&id) else {
                continue;
            };
            if agent.pings_missed >= max {
                lost.push(id);
                continue;
            }
            agent.pings_missed += 1;
            if let Ok(pid) = agent.pid().parse::<Pid>() {
                out.to_agent(pid, ToAgent::Ping(PingAgent { connected: true }));
            }
        }
        for id in lost {
            if self.removals.contains(&id) {
                continue;
            }
            tracing::warn!(agent = %id, "agent did not answer {max} pings; marking it unreachable");
            self.schedule_removal(Removal::Silent(id), now, out);
        }
        out.set(Timer::Ping(self.flags.agent_ping_timeout));
    }

    /// The connection to an agent broke: no more offers from it; tasks
    /// there of frameworks that do not checkpoint are lost now (their
    /// executors exit without the agent) and their resources recovered, as
    /// Mesos does; tasks of checkpointing frameworks wait for the agent to
    /// come back or its pings to time out.
    pub fn agent_disconnected(&mut self, agent: &AgentId, out: &mut Effects) {
        if let Some(a) = self.state.agent_mut(agent) {
            a.connected = false;
            a.active = false;
        }
        out.allocator(AllocatorCall::DeactivateAgent(agent.clone()));
        self.rescind_offers_where(|o| &o.agent_id == agent, out);
        let hostname = self
            .state
            .agent(agent)
            .map(|a| a.info.hostname.clone())
            .unwrap_or_default();
        let message = format!("Agent {hostname} disconnected");
        let lost = Ending {
            state: TaskState::Lost,
            reason: Reason::AgentDisconnected,
            message: &message,
            tell: true,
            recover: true,
            refused: false,
        };
        for (framework_id, task_id) in self.state.tasks_without_checkpoint(agent) {
            let Some(task) = self.state.task(&framework_id, &task_id) else {
                continue;
            };
            if !task.state.is_terminal() {
                tracing::info!(agent = %agent, framework = %framework_id, task = %task_id,
                    "task lost with its disconnected agent: the framework does not checkpoint");
            }
            self.end_task(&framework_id, &task_id, Some(agent), &lost, out);
        }
        // Pings go on; the agent is unreachable once they time out.
    }

    /// Removes an agent: its tasks end as `how` says, frameworks hear the
    /// agent is lost, and its resources leave the allocator.
    pub(super) fn remove_agent(&mut self, agent_id: &AgentId, how: &Ending<'_>, out: &mut Effects) {
        self.rescind_offers_where(|o| &o.agent_id == agent_id, out);
        let Some(agent) = self.state.agent(agent_id) else {
            return;
        };
        let tasks: Vec<(FrameworkId, Vec<wire::ids::TaskId>)> = agent
            .tasks()
            .iter()
            .map(|(f, ids)| (f.clone(), ids.iter().cloned().collect()))
            .collect();
        for (framework_id, task_ids) in tasks {
            for task_id in task_ids {
                self.end_task(&framework_id, &task_id, Some(agent_id), how, out);
            }
        }
        self.state.remove_agent(agent_id);
        out.operator(OperatorEvent::AgentRemoved(agent_id.clone()));
        out.allocator(AllocatorCall::RemoveAgent(agent_id.clone()));
        self.tell_agent_lost(agent_id, out);
        self.count(|m| &m.slave_removals);
    }

    /// Every framework hears that an agent is lost.
    pub(super) fn tell_agent_lost(&self, agent_id: &AgentId, out: &mut Effects) {
        for f in self.state.frameworks().keys() {
            self.to_framework(
                f,
                ToScheduler::AgentLost(AgentLost {
                    agent_id: agent_id.clone(),
                }),
                out,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::master::core::fixture::{
        admit, agent_pid, at, core, run_task, subscribe, told_states,
    };

    #[test]
    fn an_agent_that_misses_pings_is_marked_unreachable() {
        let mut core = core(|f| f.max_agent_ping_timeouts = 2);
        let agent = admit(&mut core, 1);
        let framework = subscribe(&mut core, 1, |_| {});
        run_task(&mut core, &framework, &agent, "t");
        for _ in 0..2 {
            let mut out = Effects::default();
            core.ping_agents(at(2.0), &mut out);
            assert!(out.iter().any(|e| matches!(
                e,
                Effect::ToAgent {
                    message: ToAgent::Ping(_),
                    ..
                }
            )));
        }
        assert!(core.state().unreachable().is_empty());
        let mut out = Effects::default();
        core.ping_agents(at(3.0), &mut out);
        assert_eq!(core.state().unreachable().get(&agent), Some(&3.0));
        assert!(core.state().agent(&agent).is_none());
        // A framework that is not partition-aware hears TASK_LOST.
        assert_eq!(told_states(&out), [("t".to_owned(), TaskState::Lost)]);
        assert!(out.iter().any(|e| matches!(
            e,
            Effect::Record(RegistryOp::MarkUnreachable { id, time }) if id == &agent && *time == 3.0
        )));
        assert!(out.iter().any(|e| matches!(
            e,
            Effect::ToScheduler { message: ToScheduler::AgentLost(m), .. } if m.agent_id == agent
        )));
    }

    #[test]
    fn a_pong_resets_the_missed_pings() {
        let mut core = core(|f| f.max_agent_ping_timeouts = 1);
        let agent = admit(&mut core, 1);
        core.ping_agents(at(2.0), &mut Effects::default());
        core.pong(PongAgent, &agent_pid(1));
        core.ping_agents(at(3.0), &mut Effects::default());
        assert!(core.state().agent(&agent).is_some());
    }

    #[test]
    fn a_disconnected_agent_loses_the_tasks_of_frameworks_that_do_not_checkpoint() {
        let mut core = core(|_| {});
        let agent = admit(&mut core, 1);
        let plain = subscribe(&mut core, 1, |_| {});
        let checkpointing = subscribe(&mut core, 2, |f| f.checkpoint = true);
        run_task(&mut core, &plain, &agent, "plain");
        run_task(&mut core, &checkpointing, &agent, "kept");
        let mut out = Effects::default();
        core.agent_disconnected(&agent, &mut out);
        assert_eq!(told_states(&out), [("plain".to_owned(), TaskState::Lost)]);
        // Its resources go back to the allocator at once.
        assert!(out.iter().any(|e| matches!(
            e,
            Effect::Allocator(AllocatorCall::Recover { framework_id, .. }) if framework_id == &plain
        )));
        let a = core.state().agent(&agent).expect("still admitted");
        assert!(!a.connected && !a.active);
        assert!(core
            .state()
            .task(&checkpointing, &wire::ids::TaskId::new("kept"))
            .is_some());
        assert!(core
            .state()
            .task(&plain, &wire::ids::TaskId::new("plain"))
            .is_none());
    }

    #[test]
    fn a_registration_retry_is_answered_without_a_second_admission() {
        let mut core = core(|_| {});
        let agent = admit(&mut core, 1);
        let retry = RegisterAgent {
            info: core.state().agent(&agent).map(|a| a.info.clone()).unwrap(),
            version: "1".into(),
        };
        let mut out = Effects::default();
        core.register_agent(retry, &agent_pid(1), &mut out);
        let answers: Vec<&Effect> = out.iter().collect();
        assert!(matches!(
            answers.as_slice(),
            [Effect::ToAgent { message: ToAgent::Registered(m), .. }] if m.agent_id == agent
        ));
    }
}
