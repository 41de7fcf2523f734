//! The master's core: its records ([`State`]) with what the master is
//! configured with, and the helpers every concern shares (counting,
//! addressing agents and schedulers). The decisions themselves are `impl
//! Core` blocks in the files named by concern: `agents.rs`,
//! `frameworks.rs`, `offers.rs`, `tasks.rs`, `registry.rs`, `removal.rs`.
//! No actor, clock or I/O here: time comes in as [`Now`](super::effects::Now), and every method
//! pushes what should happen onto [`Effects`] for the process to carry out.

use std::collections::HashSet;

use actors::metrics::Counter;
use actors::Pid;
use wire::agent::StatusUpdateMessage;
use wire::ids::{AgentId, FrameworkId};
use wire::mesos::{FrameworkInfo, MasterInfo, StatusUpdate, TaskStatus};
use wire::task::TaskState;

use super::effects::{Effect, Effects, ToAgent, ToScheduler};
use super::flags::MasterFlags;
use super::metrics::MasterMetrics;
use super::state::{FrameworkRecord, Removals, State};

pub struct Core {
    /// The master's flags, as given at construction.
    pub(super) flags: MasterFlags,
    /// What frameworks and agents are told about this master.
    pub(super) info: MasterInfo,
    /// The records; changed only through its methods.
    pub(super) state: State,
    /// Set once the process has started; counting is skipped before.
    pub(super) metrics: Option<MasterMetrics>,
    /// Pids of agents whose (re)admission the registrar is working on.
    pub(super) admitting: HashSet<String>,
    /// How many agents the registry admitted when this master recovered it.
    pub(super) recovered_total: usize,
    /// Agents waiting to be marked unreachable (`--agent_removal_rate_limit`).
    pub(super) removals: Removals,
}

impl Core {
    pub fn new(flags: MasterFlags, info: MasterInfo) -> Core {
        Core {
            state: State::new(&info.id),
            flags,
            info,
            metrics: None,
            admitting: HashSet::new(),
            recovered_total: 0,
            removals: Removals::default(),
        }
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    /// For tests and benches that build a master's records directly.
    pub fn state_mut(&mut self) -> &mut State {
        &mut self.state
    }

    pub fn info(&self) -> &MasterInfo {
        &self.info
    }

    pub fn flags(&self) -> &MasterFlags {
        &self.flags
    }

    pub fn set_metrics(&mut self, metrics: MasterMetrics) {
        self.metrics = Some(metrics);
    }

    pub fn metrics(&self) -> Option<&MasterMetrics> {
        self.metrics.as_ref()
    }

    /// Counts one on a counter of the master's metrics, when it has them.
    pub fn count(&self, counter: impl FnOnce(&MasterMetrics) -> &Counter) {
        if let Some(m) = self.metrics() {
            counter(m).inc();
        }
    }

    /// Counts a task of framework `id` reaching terminal `state`, in the
    /// master's and the framework's metrics.
    pub(super) fn count_terminal(&self, id: &FrameworkId, state: TaskState, status: &TaskStatus) {
        if let Some(m) = self.metrics() {
            m.count_terminal(state, status);
        }
        if let Some(m) = self.state.framework_metrics(id) {
            m.terminal(state);
        }
    }

    /// Counts a call (of `metrics::CALL_TYPES`) from framework `id`.
    pub(super) fn count_call(&self, id: &FrameworkId, kind: &str) {
        if let Some(m) = self.state.framework_metrics(id) {
            m.call(kind);
        }
    }

    /// A message from a sender that is not who it should be.
    pub fn dropped(&self, what: &str, from: &Pid) {
        self.count(|m| &m.dropped_messages);
        tracing::warn!(%from, "dropping {what}: sender is not a registered agent or framework");
    }

    /// The framework whose scheduler is `from`, if `id` names it.
    pub fn framework_from(&self, id: &FrameworkId, from: &Pid) -> Option<&FrameworkRecord> {
        self.state
            .framework(id)
            .filter(|f| f.pid.as_deref() == Some(from.to_string().as_str()))
    }

    /// Whether `from` is the agent `id`.
    pub fn is_agent(&self, id: &AgentId, from: &Pid) -> bool {
        self.state
            .agent(id)
            .is_some_and(|a| a.pid() == from.to_string())
    }

    pub(super) fn total_ping_timeout(&self) -> f64 {
        self.flags.agent_ping_timeout.as_secs_f64() * f64::from(self.flags.max_agent_ping_timeouts)
    }

    /// To a framework's scheduler, if it is connected.
    pub(super) fn to_framework(
        &self,
        framework_id: &FrameworkId,
        message: ToScheduler,
        out: &mut Effects,
    ) {
        let Some(f) = self.state.framework(framework_id).filter(|f| f.connected) else {
            return;
        };
        if let Some(pid) = f.pid.as_deref() {
            self.deliver_with(pid, message, &f.info, out);
        }
    }

    /// To a scheduler's pid (or stream), the event rendered for `framework`.
    pub(super) fn deliver_with(
        &self,
        pid: &str,
        message: ToScheduler,
        framework: &FrameworkInfo,
        out: &mut Effects,
    ) {
        if let Some(m) = framework
            .id
            .as_ref()
            .and_then(|id| self.state.framework_metrics(id))
        {
            m.event(message.event_type());
        }
        out.push(Effect::ToScheduler {
            pid: pid.to_owned(),
            framework: framework.clone(),
            message,
        });
    }

    /// As `deliver_with`, for the framework (if any) whose scheduler is `pid`.
    pub(super) fn deliver(&self, pid: &str, message: ToScheduler, out: &mut Effects) {
        let info = self
            .state
            .framework_by_pid(pid)
            .map(|f| f.info.clone())
            .unwrap_or_else(|| FrameworkInfo::new("", ""));
        self.deliver_with(pid, message, &info, out);
    }

    /// To an admitted agent.
    pub(super) fn to_agent(&self, agent_id: &AgentId, message: ToAgent, out: &mut Effects) {
        if let Some(pid) = self
            .state
            .agent(agent_id)
            .and_then(|a| a.pid().parse::<Pid>().ok())
        {
            out.to_agent(pid, message);
        }
    }

    /// A master-generated update (never acknowledged) to a framework.
    pub(super) fn master_update(
        &self,
        framework_id: &FrameworkId,
        status: TaskStatus,
        out: &mut Effects,
    ) {
        let update = StatusUpdate {
            framework_id: framework_id.clone(),
            executor_id: status.executor_id.clone(),
            agent_id: status.agent_id.clone(),
            timestamp: status.timestamp,
            status,
            uuid: None,
            latest_state: None,
        };
        self.to_framework(
            framework_id,
            ToScheduler::Update(StatusUpdateMessage { update, pid: None }),
            out,
        );
    }
}

/// Building blocks for the core's tests: a core, agents admitted and
/// frameworks subscribed through the core's own methods.
#[cfg(test)]
pub(super) mod fixture {
    use super::*;
    use crate::master::effects::Now;
    use wire::agent::RegisterAgent;
    use wire::ids::TaskId;
    use wire::mesos::{AgentInfo, Task};
    use wire::resources::Resources;
    use wire::scheduler::Subscribe;

    pub fn core(configure: impl FnOnce(&mut MasterFlags)) -> Core {
        let mut flags = MasterFlags::defaults();
        configure(&mut flags);
        let info = MasterInfo {
            id: "m".into(),
            ip: "127.0.0.1".into(),
            port: 5050,
            pid: "master@127.0.0.1:5050".into(),
            hostname: "localhost".into(),
            version: wire::mesos::VERSION.into(),
        };
        Core::new(flags, info)
    }

    pub fn at(secs: f64) -> Now {
        Now {
            secs,
            instant: tokio::time::Instant::now(),
        }
    }

    pub fn agent_pid(n: u8) -> Pid {
        format!("slave(1)@10.0.0.{n}:5051").parse().unwrap()
    }

    pub fn scheduler_pid(n: u8) -> Pid {
        format!("scheduler-{n}@10.1.0.1:4000").parse().unwrap()
    }

    /// Registers and admits an agent at `agent_pid(n)`.
    pub fn admit(core: &mut Core, n: u8) -> AgentId {
        let pid = agent_pid(n);
        let info = AgentInfo {
            hostname: format!("agent{n}"),
            port: 5051,
            resources: Resources::parse("cpus:4;mem:1024", "*").unwrap(),
            attributes: Vec::new(),
            id: None,
        };
        let register = RegisterAgent {
            info,
            version: "1".into(),
        };
        let mut out = Effects::default();
        core.register_agent(register, &pid, &mut out);
        let admitted = out.into_iter().find_map(|e| match e {
            Effect::Admit { info, version, .. } => Some((info, version)),
            _ => None,
        });
        let (info, version) = admitted.expect("an admission");
        let id = info.id.clone().expect("an id");
        core.admission_done(&pid);
        core.agent_admitted(&pid, info, version, at(1.0), &mut Effects::default());
        id
    }

    /// Subscribes a new framework from `scheduler_pid(n)`.
    pub fn subscribe(
        core: &mut Core,
        n: u8,
        configure: impl FnOnce(&mut FrameworkInfo),
    ) -> FrameworkId {
        let mut info = FrameworkInfo::new("root", &format!("framework {n}"));
        configure(&mut info);
        let subscribe = Subscribe {
            framework: info,
            force: false,
        };
        core.subscribe(
            subscribe,
            &scheduler_pid(n),
            at(1.0),
            &mut Effects::default(),
        );
        core.state()
            .framework_by_pid(&scheduler_pid(n).to_string())
            .map(|f| f.id.clone())
            .expect("subscribed")
    }

    /// Puts a running task of `framework` on `agent`.
    pub fn run_task(core: &mut Core, framework: &FrameworkId, agent: &AgentId, task: &str) {
        core.state_mut().add_task(Task {
            name: task.into(),
            task_id: TaskId::new(task),
            framework_id: framework.clone(),
            executor_id: None,
            agent_id: agent.clone(),
            state: TaskState::Running,
            resources: Resources::parse("cpus:1;mem:128", "*").unwrap(),
            statuses: Vec::new(),
            status_update_state: None,
            status_update_uuid: None,
            role: "*".into(),
            meta: Default::default(),
        });
    }

    /// The task states frameworks are told about, in order.
    pub fn told_states(out: &Effects) -> Vec<(String, TaskState)> {
        out.iter()
            .filter_map(|e| match e {
                Effect::ToScheduler {
                    message: ToScheduler::Update(m),
                    ..
                } => Some((m.update.status.task_id.value.clone(), m.update.status.state)),
                _ => None,
            })
            .collect()
    }
}
