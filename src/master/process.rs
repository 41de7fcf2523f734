//! The master process (`master`): admits agents, registers frameworks,
//! turns the allocator's allocations into offers, launches tasks, relays
//! status updates and acknowledgements, reconciles, and notices lost agents
//! (ping/pong) and lost frameworks (links, failover timeouts).
//!
//! Receives from agents: RegisterAgent, ReregisterAgent, UnregisterAgent,
//! PongAgent, StatusUpdateMessage, ExitedExecutor, ExecutorToFramework.
//! Receives from schedulers: Subscribe, Accept, Decline, Revive, Suppress,
//! Kill, Acknowledge, Reconcile, SendFrameworkMessage, Teardown, Deactivate.
//! Sends to agents: AgentRegistered, AgentReregistered, PingAgent, RunTask, RunTaskGroup,
//! KillTask, StatusUpdateAcknowledgement, ShutdownFramework,
//! FrameworkToExecutor, UpdateFramework, ShutdownAgent. Sends to schedulers:
//! FrameworkRegistered, FrameworkReregistered, FrameworkError,
//! ResourceOffers, RescindOffer, StatusUpdateMessage, AgentLost,
//! ExitedExecutor, ExecutorToFramework.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::time::Duration;

use tokio::time::Instant;

use actors::actix::SpawnHandle;
use actors::metrics::Counter;
use actors::{Cx, Handle, Install, Pid, Process};
use wire::agent::*;
use wire::ids::{AgentId, FrameworkId, OfferId};
use wire::mesos::{now_secs, MasterInfo, Offer, Operation, StatusUpdate, Task, TaskStatus};
use wire::resources::Resources;
use wire::scheduler::*;
use wire::task::{Reason, TaskState};

use super::allocation::{Allocation, AllocatorHandle};
use super::flags::MasterFlags;
use super::metrics::{self, MasterMetrics};
use super::scheduler_api::{HeartbeatTick, HttpStream, StreamClosed, ToEvent, HEARTBEAT_INTERVAL};
use super::state::{
    master_status, reconcile_one, validate_task, validate_task_group, AgentRecord, FrameworkRecord,
    Refusal, State,
};
use crate::registrar::{Apply, Recover, Registrar, RegistrarError, Store};
use actors::ProcessRef;
use std::collections::HashSet;
use wire::registry::{Operation as RegistryOp, Registry};

/// The master's process id, fixed as in Mesos.
pub const MASTER_ID: &str = "master";

pub struct Master {
    flags: MasterFlags,
    /// What frameworks and agents are told about this master.
    info: MasterInfo,
    state: State,
    /// Set in `started`: the allocator process this master drives.
    allocator: Option<AllocatorHandle>,
    /// Pending failover timeouts of disconnected frameworks.
    failover_timers: HashMap<FrameworkId, SpawnHandle>,
    /// Pending `--offer_timeout` rescinds.
    offer_timers: HashMap<OfferId, SpawnHandle>,
    /// Event streams of HTTP frameworks, by their stand-in pid.
    http_streams: HashMap<String, HttpStream>,
    /// Where the registry lives; handed to the registrar in `started`.
    store: Option<Box<dyn Store>>,
    /// The registrar process; set in `started`.
    registrar: Option<ProcessRef<Registrar>>,
    /// The registry has been recovered: until then messages are dropped.
    recovered: bool,
    /// Pids of agents whose (re)admission the registrar is working on.
    admitting: HashSet<String>,
    /// How many agents the registry admitted when this master recovered it.
    recovered_total: usize,
    /// Agents waiting to be marked unreachable (`--agent_removal_rate_limit`).
    removals: VecDeque<Removal>,
    /// When the last rate-limited removal happened.
    last_removal: Option<Instant>,
    /// A `RemovalPermit` is on its way.
    removal_timer: bool,
    /// Agent (re)registrations that reached this master after it was
    /// elected and before its registry was recovered.
    held: HeldRegistrations,
    /// Leads without an election (no ZooKeeper).
    standalone: bool,
    /// This master won the election.
    elected: bool,
    /// The leading master as last detected (this one once elected).
    leader: Option<MasterInfo>,
    /// How this master stands for election (ZooKeeper), if it does.
    contender: Option<crate::zookeeper::MasterContender>,
    /// The current candidacy; dropping it withdraws from the election.
    candidacy: Option<crate::zookeeper::Forwarding>,
    metrics: Option<MasterMetrics>,
    start_time: f64,
}

/// Allocations from the allocator process.
pub struct Allocated(pub Vec<Allocation>);
/// Time to ping every agent and count missed pongs.
struct PingTick;
/// An offer outlived `--offer_timeout`.
struct OfferExpired(OfferId);
/// A disconnected framework did not come back within its failover timeout.
struct FailoverExpired(FrameworkId);

impl Master {
    /// A master keeping its registry in `store`.
    pub fn new(flags: MasterFlags, info: MasterInfo, store: Box<dyn Store>) -> Master {
        let standalone = flags.zk.is_none();
        Master {
            state: State::new(&info.id),
            flags,
            info,
            allocator: None,
            failover_timers: HashMap::new(),
            offer_timers: HashMap::new(),
            http_streams: HashMap::new(),
            store: Some(store),
            registrar: None,
            recovered: false,
            admitting: HashSet::new(),
            recovered_total: 0,
            removals: VecDeque::new(),
            last_removal: None,
            removal_timer: false,
            held: HeldRegistrations::default(),
            standalone,
            elected: false,
            leader: None,
            contender: None,
            candidacy: None,
            metrics: None,
            start_time: now_secs(),
        }
    }

    pub fn info(&self) -> &MasterInfo {
        &self.info
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    /// For tests and benches that build a master's state directly.
    pub fn state_mut(&mut self) -> &mut State {
        &mut self.state
    }

    pub fn flags(&self) -> &MasterFlags {
        &self.flags
    }

    pub fn start_time(&self) -> f64 {
        self.start_time
    }

    fn allocator(&self) -> Option<&AllocatorHandle> {
        self.allocator.as_ref()
    }

    fn metrics(&self) -> Option<&MasterMetrics> {
        self.metrics.as_ref()
    }

    /// Counts a task of framework `id` reaching terminal `state`, in the
    /// master's and the framework's metrics.
    fn count_terminal(&self, id: &FrameworkId, state: TaskState, status: &TaskStatus) {
        if let Some(m) = self.metrics() {
            m.count_terminal(state, status);
        }
        if let Some(m) = metrics::of(&self.state.frameworks, id) {
            m.terminal(state);
        }
    }

    /// Counts a call (of `metrics::CALL_TYPES`) from framework `id`.
    fn count_call(&self, id: &FrameworkId, kind: &str) {
        if let Some(m) = metrics::of(&self.state.frameworks, id) {
            m.call(kind);
        }
    }

    /// Counts one on a counter of the master's metrics, when it has them.
    fn count(&self, counter: impl FnOnce(&MasterMetrics) -> &Counter) {
        if let Some(m) = self.metrics() {
            counter(m).inc();
        }
    }

    /// Whether the registry is recovered; messages before that are
    /// dropped and counted, as Mesos does.
    fn ready(&self, what: &str, from: &Pid) -> bool {
        if !self.recovered {
            self.count(|m| &m.dropped_messages);
            tracing::debug!(%from, "dropping {what}: the registry is not recovered yet");
        }
        self.recovered
    }

    pub fn is_recovered(&self) -> bool {
        self.recovered
    }

    fn total_ping_timeout(&self) -> f64 {
        self.flags.agent_ping_timeout.as_secs_f64() * f64::from(self.flags.max_agent_ping_timeouts)
    }

    /// Applies a registry operation; `reply` gets the outcome.
    fn registry(
        &self,
        operation: RegistryOp,
        reply: Box<dyn FnOnce(Result<bool, RegistrarError>) + Send>,
    ) {
        match &self.registrar {
            Some(r) => r.tell(r.pid(), Apply { operation, reply }),
            None => reply(Err(RegistrarError::NotRecovered)),
        }
    }

    /// Applies a registry operation whose outcome only matters if the
    /// registrar failed.
    fn record(&self, operation: RegistryOp, cx: &Cx<'_, Self>) {
        let me = cx.handle();
        self.registry(
            operation,
            Box::new(move |result| {
                if let Err(e) = result {
                    me.tell(me.pid(), RegistryFailed(e));
                }
            }),
        );
    }

    /// The master cannot go on without its registry: like Mesos, it stops,
    /// for a supervisor (or another master) to take over.
    fn registry_failed(&mut self, error: &RegistrarError, cx: &mut Cx<'_, Self>) {
        match error {
            RegistrarError::Refused(e) => tracing::warn!("registry operation refused: {e}"),
            fatal => {
                tracing::error!("registry failure, the master stops: {fatal}");
                let _ = cx;
                actors::actix::System::current().stop_with_code(1);
            }
        }
    }

    fn dropped(&self, what: &str, from: &Pid) {
        self.count(|m| &m.dropped_messages);
        tracing::warn!(%from, "dropping {what}: sender is not a registered agent or framework");
    }

    /// The framework whose scheduler is `from`, if `id` names it.
    fn framework_from(&self, id: &FrameworkId, from: &Pid) -> Option<&FrameworkRecord> {
        self.state
            .frameworks
            .get(id)
            .filter(|f| f.pid.as_deref() == Some(from.to_string().as_str()))
    }

    fn send_to_framework<M: wire::Message + ToEvent>(
        &self,
        framework_id: &FrameworkId,
        message: M,
        cx: &Cx<'_, Self>,
    ) {
        let Some(f) = self
            .state
            .frameworks
            .get(framework_id)
            .filter(|f| f.connected)
        else {
            return;
        };
        if let Some(pid) = f.pid.as_deref() {
            self.deliver_with(pid, message, &f.info, cx);
        }
    }

    /// Sends a message to a framework's scheduler: over its HTTP stream as
    /// an event, or to its pid.
    fn deliver_with<M: wire::Message + ToEvent>(
        &self,
        pid: &str,
        message: M,
        framework: &FrameworkInfo,
        cx: &Cx<'_, Self>,
    ) {
        if let Some(m) = framework
            .id
            .as_ref()
            .and_then(|id| metrics::of(&self.state.frameworks, id))
        {
            m.event(M::EVENT);
        }
        if let Some(stream) = self.http_streams.get(pid) {
            stream.send(&message.to_event(framework, &self.info));
        } else if let Ok(pid) = pid.parse::<Pid>() {
            cx.send(&pid, message);
        }
    }

    /// As `deliver_with`, for the framework (if any) whose scheduler is `pid`.
    fn deliver<M: wire::Message + ToEvent>(&self, pid: &str, message: M, cx: &Cx<'_, Self>) {
        let info = self
            .state
            .framework_by_pid(pid)
            .map(|f| f.info.clone())
            .unwrap_or_else(|| FrameworkInfo::new("", ""));
        self.deliver_with(pid, message, &info, cx);
    }

    /// Links to a framework's scheduler, unless it is on an HTTP stream
    /// (whose end is noticed on the stream itself).
    fn link_framework(&self, pid: &Pid, cx: &Cx<'_, Self>) {
        if !self.http_streams.contains_key(&pid.to_string()) {
            cx.link(pid);
        }
    }

    pub(super) fn http_stream(&self, pid: &str) -> Option<&HttpStream> {
        self.http_streams.get(pid)
    }

    pub(super) fn add_http_stream(&mut self, pid: String, stream: HttpStream) {
        self.http_streams.insert(pid, stream);
    }

    /// Ends a framework's event stream (the response completes).
    pub(super) fn remove_http_stream(&mut self, pid: &str) {
        self.http_streams.remove(pid);
    }

    /// The client of an HTTP framework went away: it is disconnected, with
    /// its failover timeout to come back.
    pub(super) fn http_stream_closed(&mut self, pid: &str, cx: &mut Cx<'_, Self>) {
        if self.http_streams.remove(pid).is_none() {
            return;
        }
        if let Some(id) = self.state.framework_by_pid(pid).map(|f| f.id.clone()) {
            tracing::info!(framework = %id, "HTTP event stream closed");
            self.disconnect_framework(&id, cx);
        }
    }

    /// Sends HEARTBEAT on every stream; returns the pids of closed ones.
    pub(super) fn heartbeat_streams(&self) -> Vec<String> {
        let beat = wire::v1::scheduler::Event::heartbeat();
        self.http_streams
            .iter()
            .inspect(|(pid, _)| {
                if let Some(f) = self.state.framework_by_pid(pid) {
                    f.metrics.event("heartbeat");
                }
            })
            .filter(|(_, s)| !s.send(&beat))
            .map(|(pid, _)| pid.clone())
            .collect()
    }

    pub(super) fn send_agent<M: wire::Message>(
        &self,
        agent_id: &AgentId,
        message: M,
        cx: &Cx<'_, Self>,
    ) {
        self.send_to_agent(agent_id, message, cx);
    }

    fn send_to_agent<M: wire::Message>(&self, agent_id: &AgentId, message: M, cx: &Cx<'_, Self>) {
        if let Some(pid) = self
            .state
            .agents
            .get(agent_id)
            .and_then(|a| a.pid.parse::<Pid>().ok())
        {
            cx.send(&pid, message);
        }
    }

    /// Sends a master-generated update (never acknowledged) to a framework.
    fn send_master_update(
        &self,
        framework_id: &FrameworkId,
        status: TaskStatus,
        cx: &Cx<'_, Self>,
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
        self.send_to_framework(framework_id, StatusUpdateMessage { update, pid: None }, cx);
    }

    /// Takes back an offer: the framework is told if `tell`, and the
    /// resources return to the allocator without a filter.
    fn rescind_offer(&mut self, id: &OfferId, tell: bool, cx: &mut Cx<'_, Self>) {
        if let Some(timer) = self.offer_timers.remove(id) {
            cx.cancel(timer);
        }
        let Some(offer) = self.state.remove_offer(id) else {
            return;
        };
        if tell {
            if let Some(m) = metrics::of(&self.state.frameworks, &offer.framework_id) {
                m.offers_rescinded.inc();
            }
            self.send_to_framework(
                &offer.framework_id,
                RescindOffer {
                    offer_id: id.clone(),
                },
                cx,
            );
        }
        if let Some(a) = self.allocator() {
            a.recover(
                &offer.framework_id,
                &offer.agent_id,
                &offer.role,
                offer.resources,
                None,
            );
        }
    }

    fn rescind_offers_where(&mut self, which: impl Fn(&Offer) -> bool, cx: &mut Cx<'_, Self>) {
        let ids: Vec<OfferId> = self
            .state
            .offers
            .values()
            .filter(|o| which(o))
            .map(|o| o.id.clone())
            .collect();
        for id in ids {
            self.rescind_offer(&id, true, cx);
        }
    }

    fn ping_agents(&mut self, cx: &mut Cx<'_, Self>) {
        let max = self.flags.max_agent_ping_timeouts;
        let mut lost = Vec::new();
        for agent in self.state.agents.values_mut() {
            if agent.pings_missed >= max {
                lost.push(agent.id.clone());
                continue;
            }
            agent.pings_missed += 1;
            if let Ok(pid) = agent.pid.parse::<Pid>() {
                cx.send(&pid, PingAgent { connected: true });
            }
        }
        for id in lost {
            if self.removals.iter().any(|r| r.agent() == &id) {
                continue;
            }
            tracing::warn!(agent = %id, "agent did not answer {max} pings; marking it unreachable");
            self.schedule_removal(Removal::Silent(id), cx);
        }
        cx.delay(self.flags.agent_ping_timeout, PingTick);
    }

    /// Removes an agent the master lost contact with: its tasks go to their
    /// frameworks as TASK_UNREACHABLE (or TASK_LOST), frameworks hear the
    /// agent is lost, and its resources leave the allocator.
    fn mark_unreachable(&mut self, agent_id: &AgentId, cx: &mut Cx<'_, Self>) {
        let now = now_secs();
        self.record(
            RegistryOp::MarkUnreachable {
                id: agent_id.clone(),
                time: now,
            },
            cx,
        );
        self.remove_agent(
            agent_id,
            TaskState::Unreachable,
            Reason::AgentRemoved,
            "Agent is unreachable",
            cx,
        );
        self.state.unreachable.insert(agent_id.clone(), now_secs());
        self.count(|m| &m.slave_unreachable_completed);
    }

    fn remove_agent(
        &mut self,
        agent_id: &AgentId,
        state: TaskState,
        reason: Reason,
        message: &str,
        cx: &mut Cx<'_, Self>,
    ) {
        self.rescind_offers_where(|o| &o.agent_id == agent_id, cx);
        let Some(agent) = self.state.agents.get(agent_id).cloned() else {
            return;
        };
        let limit = self.flags.max_completed_tasks_per_framework;
        for (framework_id, task_ids) in &agent.tasks {
            let aware = self
                .state
                .frameworks
                .get(framework_id)
                .is_some_and(|f| f.partition_aware());
            for task_id in task_ids {
                let terminal = self
                    .state
                    .frameworks
                    .get(framework_id)
                    .and_then(|f| f.tasks.get(task_id))
                    .is_none_or(|t| t.state.is_terminal());
                if !terminal {
                    let mut status = master_status(
                        task_id,
                        Some(agent_id),
                        state.for_framework(aware),
                        reason,
                        message,
                    );
                    status.executor_id = self
                        .state
                        .frameworks
                        .get(framework_id)
                        .and_then(|f| f.tasks.get(task_id))
                        .and_then(|t| t.executor_id.clone());
                    self.count_terminal(framework_id, status.state, &status);
                    self.state.update_task(framework_id, &status, None);
                    self.send_master_update(framework_id, status, cx);
                }
                self.state.remove_task(framework_id, task_id, limit);
            }
        }
        self.state.remove_agent(agent_id);
        if let Some(a) = self.allocator() {
            a.remove_agent(agent_id);
        }
        let frameworks: Vec<FrameworkId> = self.state.frameworks.keys().cloned().collect();
        for f in frameworks {
            self.send_to_framework(
                &f,
                AgentLost {
                    agent_id: agent_id.clone(),
                },
                cx,
            );
        }
        self.count(|m| &m.slave_removals);
    }

    /// The connection to an agent broke: tasks there of frameworks that do
    /// not checkpoint are lost now (their executors exit without the agent)
    /// and their resources recovered, as Mesos does; tasks of checkpointing
    /// frameworks wait for the agent to come back or its pings to time out.
    fn lose_tasks_without_checkpoint(&mut self, agent_id: &AgentId, cx: &mut Cx<'_, Self>) {
        let hostname = self
            .state
            .agents
            .get(agent_id)
            .map(|a| a.info.hostname.clone())
            .unwrap_or_default();
        let limit = self.flags.max_completed_tasks_per_framework;
        for (framework_id, task_id) in self.state.tasks_without_checkpoint(agent_id) {
            let Some(task) = self
                .state
                .frameworks
                .get(&framework_id)
                .and_then(|f| f.tasks.get(&task_id))
            else {
                continue;
            };
            if !task.state.is_terminal() {
                let role = task.role.clone();
                let mut status = master_status(
                    &task_id,
                    Some(agent_id),
                    TaskState::Lost,
                    Reason::AgentDisconnected,
                    &format!("Agent {hostname} disconnected"),
                );
                status.executor_id = task.executor_id.clone();
                tracing::info!(agent = %agent_id, framework = %framework_id, task = %task_id,
                    "task lost with its disconnected agent: the framework does not checkpoint");
                self.count_terminal(&framework_id, TaskState::Lost, &status);
                if let Some(resources) = self.state.update_task(&framework_id, &status, None) {
                    if let Some(a) = self.allocator() {
                        a.recover(&framework_id, agent_id, &role, resources, None);
                    }
                }
                self.send_master_update(&framework_id, status, cx);
            }
            self.state.remove_task(&framework_id, &task_id, limit);
        }
    }

    /// Removes a framework: its tasks are shut down on every agent, its
    /// offers rescinded, its resources returned.
    /// An operator's `/master/teardown`.
    pub(super) fn teardown_framework(&mut self, framework_id: &FrameworkId, cx: &mut Cx<'_, Self>) {
        self.remove_framework(framework_id, cx);
    }

    fn remove_framework(&mut self, framework_id: &FrameworkId, cx: &mut Cx<'_, Self>) {
        if let Some(t) = self.failover_timers.remove(framework_id) {
            cx.cancel(t);
        }
        self.rescind_offers_where(|o| &o.framework_id == framework_id, cx);
        let Some(framework) = self.state.frameworks.get(framework_id).cloned() else {
            return;
        };
        tracing::info!(framework = %framework_id, name = framework.info.name, "removing framework");
        // Every agent, not only those running its tasks: executors outlive
        // their finished tasks, and the master does not track them.
        let agents: Vec<AgentId> = self.state.agents.keys().cloned().collect();
        for agent in &agents {
            self.send_to_agent(
                agent,
                ShutdownFramework {
                    framework_id: framework_id.clone(),
                },
                cx,
            );
        }
        let limit = self.flags.max_completed_tasks_per_framework;
        for (task_id, task) in &framework.tasks {
            if !task.state.is_terminal() {
                let status = master_status(
                    task_id,
                    Some(&task.agent_id),
                    TaskState::Killed,
                    Reason::FrameworkRemoved,
                    "Framework removed",
                );
                self.count_terminal(framework_id, TaskState::Killed, &status);
                self.state.update_task(framework_id, &status, None);
            }
            self.state.remove_task(framework_id, task_id, limit);
        }
        if let Some(a) = self.allocator() {
            a.remove_framework(framework_id);
        }
        if let Some(pid) = framework.pid.as_deref() {
            self.remove_http_stream(pid);
        }
        if let Some(mut f) = self.state.frameworks.remove(framework_id) {
            f.connected = false;
            f.active = false;
            f.unregistered_time = Some(now_secs());
            self.state.completed_frameworks.push_back(f);
            while self.state.completed_frameworks.len() > self.flags.max_completed_frameworks {
                self.state.completed_frameworks.pop_front();
            }
        }
    }

    /// The framework's scheduler went away: no more offers; it has its
    /// failover timeout to come back.
    fn disconnect_framework(&mut self, framework_id: &FrameworkId, cx: &mut Cx<'_, Self>) {
        let Some(f) = self.state.frameworks.get_mut(framework_id) else {
            return;
        };
        f.connected = false;
        f.active = false;
        let timeout =
            Duration::try_from_secs_f64(f.info.failover_timeout.max(0.0)).unwrap_or(Duration::MAX);
        tracing::info!(framework = %framework_id, "framework disconnected; failover timeout {timeout:?}");
        if let Some(a) = self.allocator() {
            a.deactivate_framework(framework_id);
        }
        self.rescind_offers_where(|o| &o.framework_id == framework_id, cx);
        if timeout.is_zero() {
            self.remove_framework(framework_id, cx);
            return;
        }
        // Cap so the timer arithmetic cannot overflow; a year is forever here.
        let timeout = timeout.min(Duration::from_secs(365 * 86400));
        let timer = cx.delay(timeout, FailoverExpired(framework_id.clone()));
        if let Some(old) = self.failover_timers.insert(framework_id.clone(), timer) {
            cx.cancel(old);
        }
    }

    /// Hands resources back for tasks the master refused to launch.
    fn refuse_tasks(
        &self,
        framework_id: &FrameworkId,
        tasks: &[wire::mesos::TaskInfo],
        state: TaskState,
        reason: Reason,
        message: &str,
        cx: &Cx<'_, Self>,
    ) {
        let aware = self
            .state
            .frameworks
            .get(framework_id)
            .is_some_and(|f| f.partition_aware());
        for t in tasks {
            let state = if state == TaskState::Dropped && !aware {
                TaskState::Lost
            } else {
                state
            };
            let status = master_status(&t.task_id, Some(&t.agent_id), state, reason, message);
            self.count_terminal(framework_id, state, &status);
            self.send_master_update(framework_id, status, cx);
        }
    }
}

impl Process for Master {
    fn install(i: &mut Install<Self>) {
        i.message::<RegisterAgent>()
            .message::<ReregisterAgent>()
            .message::<UnregisterAgent>()
            .message::<PongAgent>()
            .message::<StatusUpdateMessage>()
            .message::<ExitedExecutor>()
            .message::<ExecutorToFramework>()
            .message::<Subscribe>()
            .message::<Accept>()
            .message::<Decline>()
            .message::<Revive>()
            .message::<Suppress>()
            .message::<Kill>()
            .message::<Acknowledge>()
            .message::<Reconcile>()
            .message::<SendFrameworkMessage>()
            .message::<Teardown>()
            .message::<Deactivate>()
            .local::<Allocated>()
            .local::<PingTick>()
            .local::<OfferExpired>()
            .local::<FailoverExpired>()
            .local::<StreamClosed>()
            .local::<Recovered>()
            .local::<RegistryFailed>()
            .local::<ReregisterTimeout>()
            .local::<RemovalPermit>()
            .local::<AgentAdmitted>()
            .local::<AgentReadmitted>()
            .local::<Elected>()
            .local::<LostCandidacy>()
            .local::<LeaderChanged>()
            .local::<Contend>()
            .local::<PruneRegistry>()
            .local::<ContendAgain>()
            .local::<HeartbeatTick>();
        i.route("/api/v1/scheduler", super::scheduler_api::scheduler_api);
        super::http::install(i);
    }

    fn started(&mut self, cx: &mut Cx<'_, Self>) {
        self.metrics = Some(MasterMetrics::new(cx.node().metrics()));
        let me = cx.handle();
        cx.node().metrics().collector(std::sync::Arc::new(move || {
            let me = me.clone();
            Box::pin(async move {
                me.call(|m, _| super::metrics::gauges(m))
                    .await
                    .unwrap_or_default()
            })
        }));
        let me = cx.handle();
        let allocator = AllocatorHandle::spawn(cx.node(), &self.flags, move |allocations| {
            me.tell(me.pid(), Allocated(allocations));
        });
        match allocator {
            Ok(a) => self.allocator = Some(a),
            Err(e) => {
                tracing::error!("cannot start the allocator: {e}");
                cx.stop();
                return;
            }
        }
        cx.delay(self.flags.agent_ping_timeout, PingTick);
        cx.delay(HEARTBEAT_INTERVAL, HeartbeatTick);
        if self.standalone {
            self.become_leader(cx);
        } else {
            tracing::info!(
                id = self.info.id,
                pid = self.info.pid,
                "master started; waiting to be elected"
            );
        }
    }

    fn exited(&mut self, pid: &Pid, cx: &mut Cx<'_, Self>) {
        let text = pid.to_string();
        if let Some(agent) = self.state.agent_by_pid(&text).map(|a| a.id.clone()) {
            tracing::info!(agent = %agent, %pid, "agent disconnected");
            if let Some(a) = self.state.agents.get_mut(&agent) {
                a.connected = false;
                a.active = false;
            }
            if let Some(alloc) = self.allocator() {
                alloc.deactivate_agent(&agent);
            }
            self.rescind_offers_where(|o| o.agent_id == agent, cx);
            self.lose_tasks_without_checkpoint(&agent, cx);
            // Pings go on; the agent is unreachable once they time out.
        }
        if let Some(framework) = self.state.framework_by_pid(&text).map(|f| f.id.clone()) {
            self.disconnect_framework(&framework, cx);
        }
    }
}

impl Handle<PingTick> for Master {
    fn handle(&mut self, _: PingTick, _: &Pid, cx: &mut Cx<'_, Self>) {
        self.ping_agents(cx);
    }
}

impl Handle<PongAgent> for Master {
    fn handle(&mut self, _: PongAgent, from: &Pid, _: &mut Cx<'_, Self>) {
        let id = self
            .state
            .agent_by_pid(&from.to_string())
            .map(|a| a.id.clone());
        if let Some(agent) = id.and_then(|id| self.state.agents.get_mut(&id)) {
            agent.pings_missed = 0;
        }
    }
}

impl Handle<RegisterAgent> for Master {
    fn handle(&mut self, msg: RegisterAgent, from: &Pid, cx: &mut Cx<'_, Self>) {
        self.count(|m| &m.messages_register_slave);
        self.agent_arrives(Held::Register(msg), from, cx);
    }
}

impl Master {
    /// Admits a new agent through the registrar (or answers a retry).
    fn register_agent(&mut self, msg: RegisterAgent, from: &Pid, cx: &mut Cx<'_, Self>) {
        let pid_text = from.to_string();
        if self.admitting.contains(&pid_text) {
            // A retry while the registrar admits it: the answer will come.
            return;
        }
        if let Some(existing) = self.state.agent_by_pid(&pid_text).map(|a| a.id.clone()) {
            // A retry of a registration that already succeeded.
            let connected = self
                .state
                .agents
                .get(&existing)
                .is_some_and(|a| a.connected);
            if connected {
                let total_ping_timeout_seconds = self.total_ping_timeout();
                cx.send(
                    from,
                    AgentRegistered {
                        agent_id: existing,
                        total_ping_timeout_seconds,
                    },
                );
                return;
            }
            // The old incarnation is gone: remove it, admit afresh.
            self.remove_agent(
                &existing,
                TaskState::Lost,
                Reason::AgentRestarted,
                "Agent restarted",
                cx,
            );
        }
        let id = self.state.new_agent_id();
        let mut info = msg.info;
        info.id = Some(id);
        self.admitting.insert(pid_text);
        let (me, pid, version, admitted) = (cx.handle(), from.clone(), msg.version, info.clone());
        self.registry(
            RegistryOp::AdmitAgent(info),
            Box::new(move |result| {
                me.tell(
                    me.pid(),
                    AgentAdmitted {
                        pid,
                        info: admitted,
                        version,
                        result,
                    },
                )
            }),
        );
    }
}

/// The registrar has (or has not) admitted a new agent.
struct AgentAdmitted {
    pid: Pid,
    info: wire::mesos::AgentInfo,
    version: String,
    result: Result<bool, RegistrarError>,
}

impl Handle<AgentAdmitted> for Master {
    fn handle(&mut self, msg: AgentAdmitted, _: &Pid, cx: &mut Cx<'_, Self>) {
        let pid_text = msg.pid.to_string();
        self.admitting.remove(&pid_text);
        if let Err(e) = msg.result {
            self.registry_failed(&e, cx);
            return;
        }
        let Some(id) = msg.info.id.clone() else {
            return;
        };
        let now = now_secs();
        tracing::info!(agent = %id, pid = %msg.pid, hostname = msg.info.hostname, resources = %msg.info.resources, "registered agent");
        if let Some(a) = self.allocator() {
            a.add_agent(&id, msg.info.resources.clone(), Vec::new());
        }
        self.state.add_agent(AgentRecord::new(
            id.clone(),
            msg.info,
            pid_text,
            msg.version,
            now,
        ));
        cx.link(&msg.pid);
        self.count(|m| &m.slave_registrations);
        let total_ping_timeout_seconds = self.total_ping_timeout();
        cx.send(
            &msg.pid,
            AgentRegistered {
                agent_id: id,
                total_ping_timeout_seconds,
            },
        );
    }
}

impl Handle<ReregisterAgent> for Master {
    fn handle(&mut self, msg: ReregisterAgent, from: &Pid, cx: &mut Cx<'_, Self>) {
        self.count(|m| &m.messages_reregister_slave);
        self.agent_arrives(Held::Reregister(msg), from, cx);
    }
}

impl Master {
    /// Takes back a known agent, or has the registrar readmit one this
    /// master has not seen yet.
    fn reregister_or_readmit(&mut self, msg: ReregisterAgent, from: &Pid, cx: &mut Cx<'_, Self>) {
        let Some(id) = msg.info.id.clone() else {
            tracing::warn!(%from, "re-registration without an agent id; ignoring");
            return;
        };
        if self.state.agents.contains_key(&id) {
            self.reregister_agent(msg, from, false, cx);
            return;
        }
        // Admitted before this master's election with the same info: the
        // registry already says all there is to say (as in Mesos).
        if self.state.recovered.get(&id) == Some(&msg.info) {
            self.state.recovered.remove(&id);
            self.reregister_agent(msg, from, true, cx);
            return;
        }
        // Recovered with other info, unreachable, or unknown: the registrar
        // must update or (re)admit it before it is back.
        let pid_text = from.to_string();
        if !self.admitting.insert(pid_text) {
            return;
        }
        let operation = if self.state.recovered.contains_key(&id) {
            RegistryOp::UpdateAgent(msg.info.clone())
        } else {
            RegistryOp::MarkReachable(msg.info.clone())
        };
        let (me, pid) = (cx.handle(), from.clone());
        self.registry(
            operation,
            Box::new(move |result| me.tell(me.pid(), AgentReadmitted { pid, msg, result })),
        );
    }
}

/// The registrar has (or has not) readmitted a returning agent.
struct AgentReadmitted {
    pid: Pid,
    msg: ReregisterAgent,
    result: Result<bool, RegistrarError>,
}

impl Handle<AgentReadmitted> for Master {
    fn handle(&mut self, m: AgentReadmitted, _: &Pid, cx: &mut Cx<'_, Self>) {
        self.admitting.remove(&m.pid.to_string());
        if let Err(e) = m.result {
            self.registry_failed(&e, cx);
            return;
        }
        let recovered = m
            .msg
            .info
            .id
            .as_ref()
            .is_some_and(|id| self.state.recovered.remove(id).is_some());
        self.reregister_agent(m.msg, &m.pid, recovered, cx);
    }
}

impl Master {
    /// Takes back an agent that was admitted before: it reports what it
    /// runs, which the master adds to its view.
    /// Takes back an admitted agent. `recovered`: it was admitted before
    /// this master's election and comes back for the first time since.
    fn reregister_agent(
        &mut self,
        msg: ReregisterAgent,
        from: &Pid,
        recovered: bool,
        cx: &mut Cx<'_, Self>,
    ) {
        let total_ping = self.flags.agent_ping_timeout.as_secs_f64()
            * f64::from(self.flags.max_agent_ping_timeouts);
        let Some(id) = msg.info.id.clone() else {
            tracing::warn!(%from, "re-registration without an agent id; ignoring");
            return;
        };
        let now = now_secs();
        let known = self.state.agents.contains_key(&id);
        let mut removed = HashSet::new();
        if known {
            self.state.set_agent_pid(&id, from.to_string());
            let agent = match self.state.agents.get_mut(&id) {
                Some(a) => a,
                None => return,
            };
            agent.connected = true;
            agent.active = true;
            agent.pings_missed = 0;
            agent.reregistered_time = Some(now);
            let reconfigured = agent.info.resources != msg.info.resources
                || agent.info.attributes != msg.info.attributes;
            if reconfigured {
                self.reconfigure_agent(&id, msg.info.clone(), cx);
            }
            if let Some(a) = self.allocator() {
                a.activate_agent(&id);
            }
        } else {
            removed = self.readmit_agent(&id, msg, from, recovered, now, cx);
        }
        cx.link(from);
        self.count(|m| &m.slave_reregistrations);
        tracing::info!(agent = %id, pid = %from, "re-registered agent");
        cx.send(
            from,
            AgentReregistered {
                agent_id: id.clone(),
                total_ping_timeout_seconds: total_ping,
            },
        );
        for framework_id in removed {
            tracing::info!(agent = %id, framework = %framework_id, "shutting down a removed framework on a returning agent");
            cx.send(from, ShutdownFramework { framework_id });
        }
    }
}

impl Master {
    /// A known agent restarted with more resources or attributes
    /// (`--reconfiguration_policy=additive` on the agent): the registry,
    /// the allocator and this master's view take the new info; offers of
    /// the old resources are rescinded.
    fn reconfigure_agent(
        &mut self,
        id: &AgentId,
        info: wire::mesos::AgentInfo,
        cx: &mut Cx<'_, Self>,
    ) {
        tracing::info!(agent = %id, resources = %info.resources, "agent restarted with new resources or attributes");
        self.rescind_offers_where(|o| &o.agent_id == id, cx);
        self.record(RegistryOp::UpdateAgent(info.clone()), cx);
        let mut used: BTreeMap<(FrameworkId, String), Resources> = BTreeMap::new();
        if let Some(agent) = self.state.agents.get(id) {
            for (framework_id, task_ids) in &agent.tasks {
                let Some(f) = self.state.frameworks.get(framework_id) else {
                    continue;
                };
                for t in task_ids.iter().filter_map(|t| f.tasks.get(t)) {
                    if !t.state.is_terminal() {
                        let e = used
                            .entry((framework_id.clone(), t.role.clone()))
                            .or_default();
                        *e = e.plus(&t.resources);
                    }
                }
            }
        }
        if let Some(a) = self.allocator() {
            a.remove_agent(id);
            let used = used
                .into_iter()
                .map(|((f, role), r)| (f, role, r))
                .collect();
            a.add_agent(id, info.resources.clone(), used);
        }
        if let Some(agent) = self.state.agents.get_mut(id) {
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
        now: f64,
        cx: &mut Cx<'_, Self>,
    ) -> HashSet<FrameworkId> {
        let was_unreachable = self.state.unreachable.remove(id).is_some();
        let mut record = AgentRecord::new(
            id.clone(),
            msg.info.clone(),
            from.to_string(),
            msg.version.clone(),
            now,
        );
        record.reregistered_time = Some(now);
        self.state.add_agent(record);
        let removed: HashSet<FrameworkId> = msg
            .frameworks
            .iter()
            .filter_map(|f| f.id.clone())
            .filter(|fid| self.state.completed_frameworks.iter().any(|c| &c.id == fid))
            .collect();
        for framework in &msg.frameworks {
            let Some(fid) = framework.id.clone() else {
                continue;
            };
            if removed.contains(&fid) {
                continue;
            }
            self.state
                .frameworks
                .entry(fid.clone())
                .or_insert_with(|| FrameworkRecord::new(fid.clone(), framework.clone(), None, now));
        }
        let tasks: Vec<wire::mesos::Task> = msg
            .tasks
            .into_iter()
            .filter(|t| !removed.contains(&t.framework_id))
            .collect();
        let mut used: BTreeMap<(FrameworkId, String), Resources> = BTreeMap::new();
        for t in tasks.iter().filter(|t| !t.state.is_terminal()) {
            let e = used
                .entry((t.framework_id.clone(), t.role.clone()))
                .or_default();
            *e = e.plus(&t.resources);
        }
        if let Some(a) = self.allocator() {
            let used = used
                .into_iter()
                .map(|((f, role), r)| (f, role, r))
                .collect();
            a.add_agent(id, msg.info.resources.clone(), used);
        }
        let message = if was_unreachable {
            "Unreachable agent re-reregistered"
        } else {
            "Unknown agent reregistered"
        };
        for task in tasks {
            let Some(framework) = self.state.frameworks.get_mut(&task.framework_id) else {
                continue;
            };
            if recovered {
                self.state.add_task(task);
                continue;
            }
            // Reported terminal here before; running again now.
            framework
                .completed_tasks
                .retain(|t| t.task_id != task.task_id);
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
            self.state.add_task(task);
            if connected {
                self.send_master_update(&framework_id, status, cx);
            }
        }
        removed
    }
}

impl Handle<UnregisterAgent> for Master {
    fn handle(&mut self, msg: UnregisterAgent, from: &Pid, cx: &mut Cx<'_, Self>) {
        let matches = self
            .state
            .agents
            .get(&msg.agent_id)
            .is_some_and(|a| a.pid == from.to_string());
        if !matches {
            self.dropped("UnregisterAgent", from);
            return;
        }
        tracing::info!(agent = %msg.agent_id, "agent unregistered");
        self.record(RegistryOp::RemoveAgent(msg.agent_id.clone()), cx);
        self.remove_agent(
            &msg.agent_id,
            TaskState::Lost,
            Reason::AgentRemoved,
            "Agent unregistered",
            cx,
        );
    }
}

impl Master {
    /// Records a framework this master did not know (new, or known to an
    /// earlier master) and tells its scheduler it is registered.
    fn subscribed_new(
        &mut self,
        id: FrameworkId,
        info: FrameworkInfo,
        reregistered_time: Option<f64>,
        from: &Pid,
        cx: &mut Cx<'_, Self>,
    ) {
        let pid_text = from.to_string();
        if let Some(a) = self.allocator() {
            a.add_framework(&id, info.roles.clone(), Vec::new(), true);
        }
        let mut record = FrameworkRecord::new(id.clone(), info, Some(pid_text.clone()), now_secs());
        record.reregistered_time = reregistered_time;
        self.state.frameworks.insert(id.clone(), record);
        self.count_call(&id, "subscribe");
        self.link_framework(from, cx);
        self.deliver(
            &pid_text,
            FrameworkRegistered {
                framework_id: id,
                master_info: self.info.clone(),
            },
            cx,
        );
    }
}

impl Handle<Subscribe> for Master {
    fn handle(&mut self, msg: Subscribe, from: &Pid, cx: &mut Cx<'_, Self>) {
        self.count(|m| &m.messages_register_framework);
        if !self.ready("Subscribe", from) {
            return;
        }
        let mut info = msg.framework;
        let pid_text = from.to_string();
        if let Some(roles) = &self.flags.roles {
            if let Some(bad) = info.roles.iter().find(|r| *r != "*" && !roles.contains(r)) {
                self.deliver(
                    &pid_text,
                    FrameworkError {
                        message: format!("Role '{bad}' is not present in the master's --roles"),
                    },
                    cx,
                );
                return;
            }
        }
        if info.roles.is_empty() {
            info.roles.push("*".into());
        }
        let now = now_secs();
        let Some(id) = info.id.clone() else {
            let id = self.state.new_framework_id();
            info.id = Some(id.clone());
            tracing::info!(framework = %id, name = info.name, %from, "registered framework");
            self.subscribed_new(id, info, None, from, cx);
            return;
        };
        if self.state.completed_frameworks.iter().any(|f| f.id == id) {
            self.deliver(
                &pid_text,
                FrameworkError {
                    message: "Framework has been removed".into(),
                },
                cx,
            );
            return;
        }
        if let Some(t) = self.failover_timers.remove(&id) {
            cx.cancel(t);
        }
        let Some(existing) = self.state.frameworks.get(&id).cloned() else {
            // Unknown id (for example after a master failover, before any
            // agent reported it): accept it under that id.
            tracing::info!(framework = %id, %from, "re-registered unknown framework");
            self.subscribed_new(id, info, Some(now), from, cx);
            return;
        };
        let same_pid = existing.pid.as_deref() == Some(pid_text.as_str());
        if existing.connected && !same_pid && !msg.force {
            self.deliver(
                &pid_text,
                FrameworkError {
                    message: "Framework failed over: another scheduler is connected".into(),
                },
                cx,
            );
            return;
        }
        if existing.connected && !same_pid {
            if let Some(old) = existing.pid.as_deref() {
                self.deliver_with(
                    old,
                    FrameworkError {
                        message: "Framework failed over".into(),
                    },
                    &existing.info,
                    cx,
                );
                // An HTTP framework's old stream ends here.
                self.remove_http_stream(old);
            }
        }
        // Offers made to the old connection are void.
        self.rescind_offers_where(|o| o.framework_id == id, cx);
        let was_recovered = existing.pid.is_none();
        if let Some(f) = self.state.frameworks.get_mut(&id) {
            f.pid = Some(pid_text.clone());
            f.connected = true;
            f.active = true;
            f.reregistered_time = Some(now);
            let keep_id = f.id.clone();
            f.info = FrameworkInfo {
                id: Some(keep_id),
                ..info
            };
        }
        if let Some(a) = self.allocator() {
            if was_recovered {
                let used: Vec<(AgentId, String, Resources)> = existing
                    .tasks
                    .values()
                    .filter(|t| !t.state.is_terminal())
                    .map(|t| (t.agent_id.clone(), t.role.clone(), t.resources.clone()))
                    .collect();
                let roles = self
                    .state
                    .frameworks
                    .get(&id)
                    .map(|f| f.info.roles.clone())
                    .unwrap_or_default();
                a.add_framework(&id, roles, used, true);
            } else {
                a.activate_framework(&id);
            }
        }
        self.link_framework(from, cx);
        tracing::info!(framework = %id, %from, failover = !same_pid, "framework re-registered");
        // Agents running its tasks learn the new scheduler pid.
        let agents: BTreeSet<AgentId> = existing
            .tasks
            .values()
            .map(|t| t.agent_id.clone())
            .collect();
        for agent in agents {
            self.send_to_agent(
                &agent,
                UpdateFramework {
                    framework_id: id.clone(),
                    framework_pid: Some(pid_text.clone()),
                },
                cx,
            );
        }
        self.count_call(&id, "subscribe");
        if same_pid && !was_recovered {
            self.deliver(
                &pid_text,
                FrameworkReregistered {
                    framework_id: id,
                    master_info: self.info.clone(),
                },
                cx,
            );
        } else {
            self.deliver(
                &pid_text,
                FrameworkRegistered {
                    framework_id: id,
                    master_info: self.info.clone(),
                },
                cx,
            );
        }
    }
}

use wire::mesos::FrameworkInfo;

impl Handle<Allocated> for Master {
    fn handle(&mut self, Allocated(allocations): Allocated, _: &Pid, cx: &mut Cx<'_, Self>) {
        let mut per_framework: BTreeMap<FrameworkId, Vec<Offer>> = BTreeMap::new();
        for allocation in allocations {
            let usable = self
                .state
                .frameworks
                .get(&allocation.framework_id)
                .is_some_and(|f| f.active && f.connected)
                && self
                    .state
                    .agents
                    .get(&allocation.agent_id)
                    .is_some_and(|a| a.active);
            if !usable {
                if let Some(a) = self.allocator() {
                    a.recover(
                        &allocation.framework_id,
                        &allocation.agent_id,
                        &allocation.role,
                        allocation.resources,
                        None,
                    );
                }
                continue;
            }
            let Some(agent) = self.state.agents.get(&allocation.agent_id) else {
                continue;
            };
            let executor_ids = agent
                .tasks
                .get(&allocation.framework_id)
                .map(|ids| {
                    let f = self.state.frameworks.get(&allocation.framework_id);
                    ids.iter()
                        .filter_map(|t| {
                            f.and_then(|f| f.tasks.get(t))
                                .and_then(|t| t.executor_id.clone())
                        })
                        .collect::<BTreeSet<_>>()
                        .into_iter()
                        .collect()
                })
                .unwrap_or_default();
            let offer = Offer {
                id: OfferId::new(String::new()),
                framework_id: allocation.framework_id.clone(),
                agent_id: allocation.agent_id.clone(),
                hostname: agent.info.hostname.clone(),
                agent_pid: agent.pid.clone(),
                resources: allocation.resources,
                attributes: agent.info.attributes.clone(),
                executor_ids,
                role: allocation.role,
            };
            let offer = Offer {
                id: self.state.new_offer_id(),
                ..offer
            };
            if let Some(timeout) = self.flags.offer_timeout {
                let timer = cx.delay(timeout, OfferExpired(offer.id.clone()));
                self.offer_timers.insert(offer.id.clone(), timer);
            }
            self.state.add_offer(offer.clone());
            per_framework
                .entry(offer.framework_id.clone())
                .or_default()
                .push(offer);
        }
        for (framework_id, offers) in per_framework {
            if let Some(m) = metrics::of(&self.state.frameworks, &framework_id) {
                m.offers_sent.add(offers.len() as u64);
            }
            self.send_to_framework(&framework_id, ResourceOffers { offers }, cx);
        }
    }
}

impl Handle<OfferExpired> for Master {
    fn handle(&mut self, OfferExpired(id): OfferExpired, _: &Pid, cx: &mut Cx<'_, Self>) {
        self.offer_timers.remove(&id);
        if self.state.offers.contains_key(&id) {
            tracing::info!(offer = %id, "offer timed out; rescinding");
            self.rescind_offer(&id, true, cx);
        }
    }
}

impl Handle<FailoverExpired> for Master {
    fn handle(&mut self, FailoverExpired(id): FailoverExpired, _: &Pid, cx: &mut Cx<'_, Self>) {
        self.failover_timers.remove(&id);
        if self.state.frameworks.get(&id).is_some_and(|f| !f.connected) {
            tracing::info!(framework = %id, "framework failover timeout expired");
            self.remove_framework(&id, cx);
        }
    }
}

impl Handle<Accept> for Master {
    fn handle(&mut self, msg: Accept, from: &Pid, cx: &mut Cx<'_, Self>) {
        self.count(|m| &m.messages_launch_tasks);
        let Some(framework) = self.framework_from(&msg.framework_id, from).cloned() else {
            self.dropped("Accept", from);
            return;
        };
        self.count_call(&msg.framework_id, "accept");
        let tasks: Vec<wire::mesos::TaskInfo> = msg
            .operations
            .iter()
            .flat_map(|op| op.tasks().iter().cloned())
            .collect();
        // Every offer must exist, belong to this framework, and share one agent.
        let mut offers = Vec::new();
        let mut error = None;
        let mut seen = BTreeSet::new();
        for id in &msg.offer_ids {
            if !seen.insert(id.clone()) {
                error = Some(format!("Offer {id} appears more than once"));
                continue;
            }
            match self.state.offers.get(id) {
                None => error = Some(format!("Offer {id} is no longer valid")),
                Some(o) if o.framework_id != msg.framework_id => {
                    error = Some(format!("Offer {id} belongs to another framework"))
                }
                Some(o) => offers.push(o.clone()),
            }
        }
        if msg.offer_ids.is_empty() {
            error = Some("No offers given".into());
        }
        if let Some(first) = offers.first() {
            if offers.iter().any(|o| o.agent_id != first.agent_id) {
                error = Some("Offers are for different agents".into());
            }
        }
        if let Some(error) = error {
            tracing::warn!(framework = %msg.framework_id, "refusing accept: {error}");
            for o in &offers {
                self.rescind_offer(&o.id, false, cx);
            }
            self.refuse_tasks(
                &msg.framework_id,
                &tasks,
                TaskState::Dropped,
                Reason::InvalidOffers,
                &error,
                cx,
            );
            return;
        }
        if let Some(m) = metrics::of(&self.state.frameworks, &msg.framework_id) {
            m.offers_accepted.add(offers.len() as u64);
        }
        let agent_id = offers[0].agent_id.clone();
        let mut available = Resources::new();
        for o in &offers {
            if let Some(timer) = self.offer_timers.remove(&o.id) {
                cx.cancel(timer);
            }
            self.state.remove_offer(&o.id);
            available = available.plus(&o.resources);
        }
        let role = offers[0].role.clone();
        let Some(agent_pid) = self
            .state
            .agents
            .get(&agent_id)
            .and_then(|a| a.pid.parse::<Pid>().ok())
        else {
            self.refuse_tasks(
                &msg.framework_id,
                &tasks,
                TaskState::Dropped,
                Reason::InvalidOffers,
                "Agent is gone",
                cx,
            );
            return;
        };
        let mut launched = BTreeSet::new();
        let mut singles = Vec::new();
        for operation in msg.operations {
            match operation {
                Operation::Launch { task_infos } => singles.extend(task_infos),
                Operation::LaunchGroup {
                    executor,
                    task_group,
                } => {
                    // Earlier LAUNCHes of this accept go first, as Mesos
                    // applies operations in order.
                    self.launch_tasks(
                        std::mem::take(&mut singles),
                        (&framework, &agent_id, &agent_pid, &role),
                        (&mut available, &mut launched),
                        cx,
                    );
                    self.launch_group(
                        executor,
                        task_group,
                        (&framework, &agent_id, &agent_pid, &role),
                        (&mut available, &mut launched),
                        cx,
                    );
                }
            }
        }
        self.launch_tasks(
            singles,
            (&framework, &agent_id, &agent_pid, &role),
            (&mut available, &mut launched),
            cx,
        );
        if let Some(a) = self.allocator() {
            let refuse = crate::allocator::refuse_from_seconds(msg.filters.refuse_seconds);
            a.recover(&msg.framework_id, &agent_id, &role, available, refuse);
        }
    }
}

/// Where an accept launches: its framework, agent, the agent's pid, the
/// offers' role.
type Target<'a> = (&'a FrameworkRecord, &'a AgentId, &'a Pid, &'a String);

/// What is left of the accepted offers, and the task ids launched so far.
type Budget<'a> = (&'a mut Resources, &'a mut BTreeSet<wire::ids::TaskId>);

impl Master {
    /// LAUNCH: each task is validated and sent on its own.
    fn launch_tasks(
        &mut self,
        tasks: Vec<wire::mesos::TaskInfo>,
        (framework, agent_id, agent_pid, role): Target<'_>,
        (available, launched): Budget<'_>,
        cx: &mut Cx<'_, Self>,
    ) {
        let framework_id = &framework.id;
        for task in tasks {
            let record = self
                .state
                .frameworks
                .get(framework_id)
                .cloned()
                .unwrap_or(framework.clone());
            match validate_task(&task, &record, agent_id, available, launched) {
                Err(refusal) => {
                    tracing::warn!(framework = %framework_id, task = %task.task_id, "refusing task: {}", refusal.message);
                    self.refuse_tasks(
                        framework_id,
                        std::slice::from_ref(&task),
                        refusal.state,
                        refusal.reason,
                        &refusal.message,
                        cx,
                    );
                }
                Ok(()) => {
                    let mut used = task.resources.clone();
                    if let Some(e) = &task.executor {
                        used = used.plus(&e.resources);
                    }
                    *available = available.minus(&used);
                    launched.insert(task.task_id.clone());
                    // A command task's executor is named after it.
                    let executor_id = task.executor.as_ref().map_or_else(
                        || wire::ids::ExecutorId::new(task.task_id.value.clone()),
                        |e| e.executor_id.clone(),
                    );
                    self.state.add_task(Task::staging(
                        &task,
                        framework_id,
                        agent_id,
                        &executor_id,
                        used,
                        role,
                    ));
                    tracing::info!(framework = %framework_id, task = %task.task_id, agent = %agent_id, "launching task");
                    cx.send(
                        agent_pid,
                        RunTask {
                            framework: framework.info.clone(),
                            framework_pid: framework.pid.clone(),
                            task,
                        },
                    );
                }
            }
        }
    }

    /// LAUNCH_GROUP: the group is validated as one; valid, its tasks are
    /// STAGING and the agent gets them in one `RunTaskGroup`; invalid,
    /// every task of it is TASK_ERROR.
    fn launch_group(
        &mut self,
        mut executor: wire::mesos::ExecutorInfo,
        tasks: Vec<wire::mesos::TaskInfo>,
        (framework, agent_id, agent_pid, role): Target<'_>,
        (available, launched): Budget<'_>,
        cx: &mut Cx<'_, Self>,
    ) {
        let framework_id = &framework.id;
        let record = self
            .state
            .frameworks
            .get(framework_id)
            .cloned()
            .unwrap_or(framework.clone());
        let executor_running = record.tasks.values().any(|t| {
            &t.agent_id == agent_id
                && t.executor_id.as_ref() == Some(&executor.executor_id)
                && !t.state.is_terminal()
        });
        let checked = tasks
            .iter()
            .find(|t| launched.contains(&t.task_id))
            .map(|t| Refusal {
                state: TaskState::Error,
                reason: Reason::TaskGroupInvalid,
                message: format!("Task has duplicate ID: {}", t.task_id),
            })
            .map_or_else(
                || {
                    validate_task_group(
                        &executor,
                        &tasks,
                        &record,
                        agent_id,
                        available,
                        executor_running,
                    )
                },
                Err,
            );
        if let Err(refusal) = checked {
            tracing::warn!(framework = %framework_id, executor = %executor.executor_id, "refusing task group: {}", refusal.message);
            self.refuse_tasks(
                framework_id,
                &tasks,
                refusal.state,
                refusal.reason,
                &refusal.message,
                cx,
            );
            return;
        }
        executor.framework_id = Some(framework_id.clone());
        // The executor's resources are accounted with the group's first
        // task, so they come back when the tasks are gone.
        let mut executor_resources = (!executor_running).then(|| executor.resources.clone());
        for task in &tasks {
            let mut used = task.resources.clone();
            if let Some(e) = executor_resources.take() {
                used = used.plus(&e);
            }
            *available = available.minus(&used);
            launched.insert(task.task_id.clone());
            self.state.add_task(Task::staging(
                task,
                framework_id,
                agent_id,
                &executor.executor_id,
                used,
                role,
            ));
        }
        let ids: Vec<String> = tasks.iter().map(|t| t.task_id.value.clone()).collect();
        tracing::info!(framework = %framework_id, executor = %executor.executor_id, agent = %agent_id, tasks = ?ids, "launching task group");
        cx.send(
            agent_pid,
            RunTaskGroup {
                framework: framework.info.clone(),
                framework_pid: framework.pid.clone(),
                executor,
                tasks,
            },
        );
    }
}

impl Handle<Decline> for Master {
    fn handle(&mut self, msg: Decline, from: &Pid, cx: &mut Cx<'_, Self>) {
        self.count(|m| &m.messages_decline_offers);
        if self.framework_from(&msg.framework_id, from).is_none() {
            self.dropped("Decline", from);
            return;
        }
        self.count_call(&msg.framework_id, "decline");
        let refuse = crate::allocator::refuse_from_seconds(msg.filters.refuse_seconds);
        for id in &msg.offer_ids {
            let owned = self
                .state
                .offers
                .get(id)
                .is_some_and(|o| o.framework_id == msg.framework_id);
            if !owned {
                continue;
            }
            if let Some(m) = metrics::of(&self.state.frameworks, &msg.framework_id) {
                m.offers_declined.inc();
            }
            if let Some(timer) = self.offer_timers.remove(id) {
                cx.cancel(timer);
            }
            if let Some(offer) = self.state.remove_offer(id) {
                if let Some(a) = self.allocator() {
                    a.recover(
                        &offer.framework_id,
                        &offer.agent_id,
                        &offer.role,
                        offer.resources,
                        refuse,
                    );
                }
            }
        }
    }
}

impl Handle<Revive> for Master {
    fn handle(&mut self, msg: Revive, from: &Pid, _: &mut Cx<'_, Self>) {
        self.count(|m| &m.messages_revive_offers);
        if let Some(a) = self.allocator_for("Revive", &msg.framework_id, from) {
            a.revive(&msg.framework_id, msg.roles);
            self.count_call(&msg.framework_id, "revive");
        }
    }
}

impl Handle<Suppress> for Master {
    fn handle(&mut self, msg: Suppress, from: &Pid, _: &mut Cx<'_, Self>) {
        self.count(|m| &m.messages_suppress_offers);
        if let Some(a) = self.allocator_for("Suppress", &msg.framework_id, from) {
            a.suppress(&msg.framework_id, msg.roles);
            self.count_call(&msg.framework_id, "suppress");
        }
    }
}

impl Master {
    /// The allocator, for a call that framework `id`'s scheduler (`from`)
    /// makes; `None` (and the call dropped and counted) otherwise.
    fn allocator_for(&self, what: &str, id: &FrameworkId, from: &Pid) -> Option<&AllocatorHandle> {
        if self.framework_from(id, from).is_none() {
            self.dropped(what, from);
            return None;
        }
        self.allocator()
    }
}

impl Handle<Kill> for Master {
    fn handle(&mut self, msg: Kill, from: &Pid, cx: &mut Cx<'_, Self>) {
        self.count(|m| &m.messages_kill_task);
        let Some(framework) = self.framework_from(&msg.framework_id, from) else {
            self.dropped("Kill", from);
            return;
        };
        framework.metrics.call("kill");
        match framework.tasks.get(&msg.task_id) {
            Some(task) => {
                let agent = task.agent_id.clone();
                tracing::info!(framework = %msg.framework_id, task = %msg.task_id, "killing task");
                self.send_to_agent(
                    &agent,
                    KillTask {
                        framework_id: msg.framework_id,
                        task_id: msg.task_id,
                    },
                    cx,
                );
            }
            None => {
                // Unknown task: answer as explicit reconciliation would.
                let status =
                    reconcile_one(&self.state, framework, &msg.task_id, msg.agent_id.as_ref());
                if let Some(status) = status {
                    self.send_master_update(&msg.framework_id, status, cx);
                }
            }
        }
    }
}

impl Handle<StatusUpdateMessage> for Master {
    fn handle(&mut self, msg: StatusUpdateMessage, from: &Pid, cx: &mut Cx<'_, Self>) {
        self.count(|m| &m.messages_status_update);
        let update = msg.update;
        let from_text = from.to_string();
        let agent_ok = update
            .agent_id
            .as_ref()
            .and_then(|id| self.state.agents.get(id))
            .is_some_and(|a| a.pid == from_text);
        let known = self
            .state
            .frameworks
            .get(&update.framework_id)
            .is_some_and(|f| f.tasks.contains_key(&update.status.task_id));
        if !agent_ok || !known {
            self.count(|m| &m.invalid_status_updates);
            tracing::warn!(%from, task = %update.status.task_id, framework = %update.framework_id,
                "ignoring status update from an unknown agent or for an unknown task");
            return;
        }
        self.count(|m| &m.valid_status_updates);
        let latest = update.latest_state.unwrap_or(update.status.state);
        let role = self
            .state
            .frameworks
            .get(&update.framework_id)
            .and_then(|f| f.tasks.get(&update.status.task_id))
            .map(|t| t.role.clone())
            .unwrap_or_else(|| "*".into());
        let mut effective = update.status.clone();
        effective.state = latest;
        let recovered =
            self.state
                .update_task(&update.framework_id, &effective, update.uuid.as_ref());
        if let (Some(resources), Some(agent)) = (recovered, update.agent_id.as_ref()) {
            self.count_terminal(&update.framework_id, latest, &update.status);
            if let Some(a) = self.allocator() {
                a.recover(&update.framework_id, agent, &role, resources, None);
            }
        }
        // Keep the real update's status for the framework; record state.
        if let Some(task) = self
            .state
            .frameworks
            .get_mut(&update.framework_id)
            .and_then(|f| f.tasks.get_mut(&update.status.task_id))
        {
            task.status_update_state = Some(update.status.state);
        }
        let framework_id = update.framework_id.clone();
        self.send_to_framework(
            &framework_id,
            StatusUpdateMessage {
                update,
                pid: Some(from_text),
            },
            cx,
        );
    }
}

impl Handle<Acknowledge> for Master {
    fn handle(&mut self, msg: Acknowledge, from: &Pid, cx: &mut Cx<'_, Self>) {
        self.count(|m| &m.messages_status_update_acknowledgement);
        let Some(framework) = self.framework_from(&msg.framework_id, from) else {
            self.dropped("Acknowledge", from);
            return;
        };
        framework.metrics.call("acknowledge");
        let Some(task) = framework.tasks.get(&msg.task_id) else {
            self.count(|m| &m.invalid_status_update_acknowledgements);
            return;
        };
        let terminal_acked = task.status_update_state.is_some_and(TaskState::is_terminal)
            && task.status_update_uuid.as_ref() == Some(&msg.uuid);
        self.count(|m| &m.valid_status_update_acknowledgements);
        self.send_to_agent(
            &msg.agent_id,
            StatusUpdateAcknowledgement {
                agent_id: msg.agent_id.clone(),
                framework_id: msg.framework_id.clone(),
                task_id: msg.task_id.clone(),
                uuid: msg.uuid,
            },
            cx,
        );
        if terminal_acked {
            let limit = self.flags.max_completed_tasks_per_framework;
            self.state
                .remove_task(&msg.framework_id, &msg.task_id, limit);
        }
    }
}

impl Handle<Reconcile> for Master {
    fn handle(&mut self, msg: Reconcile, from: &Pid, cx: &mut Cx<'_, Self>) {
        self.count(|m| &m.messages_reconcile_tasks);
        let Some(framework) = self.framework_from(&msg.framework_id, from) else {
            self.dropped("Reconcile", from);
            return;
        };
        framework.metrics.call("reconcile");
        let statuses: Vec<TaskStatus> = if msg.tasks.is_empty() {
            framework
                .tasks
                .values()
                .filter_map(|t| {
                    reconcile_one(&self.state, framework, &t.task_id, Some(&t.agent_id))
                })
                .collect()
        } else {
            msg.tasks
                .iter()
                .filter_map(|(task, agent)| {
                    reconcile_one(&self.state, framework, task, agent.as_ref())
                })
                .collect()
        };
        for status in statuses {
            self.send_master_update(&msg.framework_id, status, cx);
        }
    }
}

impl Handle<SendFrameworkMessage> for Master {
    fn handle(&mut self, msg: SendFrameworkMessage, from: &Pid, cx: &mut Cx<'_, Self>) {
        if self.framework_from(&msg.framework_id, from).is_none() {
            self.count(|m| &m.invalid_framework_to_executor_messages);
            self.dropped("SendFrameworkMessage", from);
            return;
        }
        self.count_call(&msg.framework_id, "message");
        self.count(|m| &m.valid_framework_to_executor_messages);
        self.send_to_agent(
            &msg.agent_id.clone(),
            FrameworkToExecutor {
                agent_id: msg.agent_id,
                framework_id: msg.framework_id,
                executor_id: msg.executor_id,
                data: msg.data,
            },
            cx,
        );
    }
}

impl Handle<ExecutorToFramework> for Master {
    fn handle(&mut self, msg: ExecutorToFramework, from: &Pid, cx: &mut Cx<'_, Self>) {
        let from_agent = self
            .state
            .agents
            .get(&msg.agent_id)
            .is_some_and(|a| a.pid == from.to_string());
        if !from_agent {
            self.count(|m| &m.invalid_executor_to_framework_messages);
            self.dropped("ExecutorToFramework", from);
            return;
        }
        self.count(|m| &m.valid_executor_to_framework_messages);
        let framework_id = msg.framework_id.clone();
        self.send_to_framework(&framework_id, msg, cx);
    }
}

impl Handle<ExitedExecutor> for Master {
    fn handle(&mut self, msg: ExitedExecutor, from: &Pid, cx: &mut Cx<'_, Self>) {
        let from_agent = self
            .state
            .agents
            .get(&msg.agent_id)
            .is_some_and(|a| a.pid == from.to_string());
        if !from_agent {
            self.dropped("ExitedExecutor", from);
            return;
        }
        let framework_id = msg.framework_id.clone();
        self.send_to_framework(&framework_id, msg, cx);
    }
}

impl Handle<Teardown> for Master {
    fn handle(&mut self, msg: Teardown, from: &Pid, cx: &mut Cx<'_, Self>) {
        self.count(|m| &m.messages_unregister_framework);
        if self.framework_from(&msg.framework_id, from).is_none() {
            self.dropped("Teardown", from);
            return;
        }
        self.count_call(&msg.framework_id, "teardown");
        self.remove_framework(&msg.framework_id, cx);
    }
}

impl Handle<Deactivate> for Master {
    fn handle(&mut self, msg: Deactivate, from: &Pid, cx: &mut Cx<'_, Self>) {
        self.count(|m| &m.messages_deactivate_framework);
        if self.framework_from(&msg.framework_id, from).is_none() {
            self.dropped("Deactivate", from);
            return;
        }
        // No more offers; the failover timeout starts only when the
        // scheduler's connection actually goes (`exited`), as in Mesos.
        if let Some(f) = self.state.frameworks.get_mut(&msg.framework_id) {
            f.active = false;
        }
        if let Some(a) = self.allocator() {
            a.deactivate_framework(&msg.framework_id);
        }
        let id = msg.framework_id.clone();
        self.rescind_offers_where(|o| o.framework_id == id, cx);
    }
}

/// The registrar recovered the registry (or could not).
struct Recovered(Result<Registry, RegistrarError>);
/// A registry operation failed.
struct RegistryFailed(RegistrarError);
/// Agents admitted before this master that have not come back by now are
/// unreachable.
struct ReregisterTimeout;

impl Handle<Recovered> for Master {
    fn handle(&mut self, Recovered(result): Recovered, _: &Pid, cx: &mut Cx<'_, Self>) {
        let registry = match result {
            Ok(r) => r,
            Err(e) => {
                self.registry_failed(&e, cx);
                return;
            }
        };
        tracing::info!(
            agents = registry.agents.len(),
            unreachable = registry.unreachable.len(),
            "recovered the registry; agents admitted before have {:?} to re-register",
            self.flags.agent_reregister_timeout
        );
        self.recovered_total = registry.agents.len();
        self.state.recovered.extend(registry.agents);
        for (id, time) in registry.unreachable {
            self.state.unreachable.insert(id, time);
        }
        self.recovered = true;
        self.release_held(cx);
        cx.delay(self.flags.registry_gc_interval, PruneRegistry);
        if !self.state.recovered.is_empty() {
            cx.delay(self.flags.agent_reregister_timeout, ReregisterTimeout);
        }
    }
}

impl Handle<RegistryFailed> for Master {
    fn handle(&mut self, RegistryFailed(e): RegistryFailed, _: &Pid, cx: &mut Cx<'_, Self>) {
        self.registry_failed(&e, cx);
    }
}

impl Handle<ReregisterTimeout> for Master {
    fn handle(&mut self, _: ReregisterTimeout, _: &Pid, cx: &mut Cx<'_, Self>) {
        let missing: Vec<AgentId> = self.state.recovered.keys().cloned().collect();
        if missing.is_empty() {
            return;
        }
        let fraction = missing.len() as f64 / self.recovered_total.max(1) as f64;
        if fraction > self.flags.recovery_agent_removal_limit {
            // A safety valve, as in Mesos: so many agents missing at once
            // looks like a failure of the cluster rather than of agents, and
            // a human should look before the registry forgets them.
            tracing::error!(
                missing = missing.len(),
                admitted = self.recovered_total,
                limit = self.flags.recovery_agent_removal_limit,
                "post-recovery agent removal limit exceeded: {:.0}% of the admitted agents did not re-register; exiting instead of marking them unreachable",
                fraction * 100.0
            );
            cx.stop();
            actors::actix::System::current().stop_with_code(1);
            return;
        }
        tracing::warn!(
            agents = missing.len(),
            "agents did not re-register in time; marking them unreachable"
        );
        for id in missing {
            self.schedule_removal(Removal::NotBack(id), cx);
        }
    }
}

impl Master {
    /// Marks unreachable an agent admitted before this master's election
    /// that did not come back: only the registry and frameworks knew it.
    fn mark_recovered_unreachable(&mut self, id: &AgentId, cx: &mut Cx<'_, Self>) {
        let now = now_secs();
        self.state.recovered.remove(id);
        self.state.unreachable.insert(id.clone(), now);
        self.record(
            RegistryOp::MarkUnreachable {
                id: id.clone(),
                time: now,
            },
            cx,
        );
        self.count(|m| &m.recovery_slave_removals);
        self.count(|m| &m.slave_unreachable_completed);
        let frameworks: Vec<FrameworkId> = self.state.frameworks.keys().cloned().collect();
        for f in frameworks {
            self.send_to_framework(
                &f,
                AgentLost {
                    agent_id: id.clone(),
                },
                cx,
            );
        }
    }

    /// Marks an agent unreachable now, or, under
    /// `--agent_removal_rate_limit`, once a permit comes (if it is still
    /// failing then).
    fn schedule_removal(&mut self, removal: Removal, cx: &mut Cx<'_, Self>) {
        if self.flags.agent_removal_interval.is_none() {
            self.remove(removal, cx);
            return;
        }
        self.count(|m| &m.slave_unreachable_scheduled);
        self.removals.push_back(removal);
        self.next_removal(cx);
    }

    /// Carries out queued removals as the rate limit allows.
    fn next_removal(&mut self, cx: &mut Cx<'_, Self>) {
        let Some(interval) = self.flags.agent_removal_interval else {
            return;
        };
        while !self.removal_timer && !self.removals.is_empty() {
            let due = self.last_removal.map_or(Duration::ZERO, |t| {
                (t + interval).saturating_duration_since(Instant::now())
            });
            if !due.is_zero() {
                self.removal_timer = true;
                cx.delay(due, RemovalPermit);
                return;
            }
            let Some(removal) = self.removals.pop_front() else {
                return;
            };
            let still_failing = match &removal {
                Removal::Silent(id) => self
                    .state
                    .agents
                    .get(id)
                    .is_some_and(|a| a.pings_missed >= self.flags.max_agent_ping_timeouts),
                Removal::NotBack(id) => self.state.recovered.contains_key(id),
            };
            if still_failing {
                self.last_removal = Some(Instant::now());
                self.remove(removal, cx);
            } else {
                tracing::info!(agent = %removal.agent(), "agent back before its removal; canceled");
                self.count(|m| &m.slave_unreachable_canceled);
            }
        }
    }

    fn remove(&mut self, removal: Removal, cx: &mut Cx<'_, Self>) {
        match removal {
            Removal::Silent(id) => self.mark_unreachable(&id, cx),
            Removal::NotBack(id) => self.mark_recovered_unreachable(&id, cx),
        }
    }
}

/// An agent to be marked unreachable.
enum Removal {
    /// It stopped answering pings.
    Silent(AgentId),
    /// Admitted before this master's election, it did not re-register.
    NotBack(AgentId),
}

impl Removal {
    fn agent(&self) -> &AgentId {
        match self {
            Removal::Silent(id) | Removal::NotBack(id) => id,
        }
    }
}

/// `--agent_removal_rate_limit` allows the next removal.
struct RemovalPermit;

impl Handle<RemovalPermit> for Master {
    fn handle(&mut self, _: RemovalPermit, _: &Pid, cx: &mut Cx<'_, Self>) {
        self.removal_timer = false;
        self.next_removal(cx);
    }
}

/// An agent's (re)registration held while the registry recovers.
enum Held {
    Register(RegisterAgent),
    Reregister(ReregisterAgent),
}

impl Held {
    /// A rough measure of the memory a held message takes: one per message
    /// and one per task, executor and framework it carries.
    fn weight(&self) -> usize {
        match self {
            Held::Register(_) => 1,
            Held::Reregister(m) => 1 + m.tasks.len() + m.executors.len() + m.frameworks.len(),
        }
    }
}

/// Most weight (see [`Held::weight`]) held at once: room for 50k agents
/// with 40 tasks each. Beyond it messages are dropped, as before election,
/// and their agents' retries bring them back.
const HELD_WEIGHT_LIMIT: usize = 2_000_000;

/// Registrations that arrive between election and recovery. Agents detect
/// the new leader when its contender does, so nearly all of them write
/// during the registry's recovery; Mesos drops those and waits for each
/// agent's retry (a random wait of up to twice `--registration_backoff_factor`),
/// where holding them lets the master answer every agent as soon as it has
/// recovered. One entry per agent pid: a retry replaces what it held.
#[derive(Default)]
struct HeldRegistrations {
    messages: Vec<(Pid, Held)>,
    by_pid: HashMap<String, usize>,
    weight: usize,
}

impl Master {
    /// Elected, or detected as the leader ahead of the election's own
    /// notice, and not yet recovered: what agents send now is held.
    fn recovering_to_lead(&self) -> bool {
        !self.recovered
            && (self.elected || self.leader.as_ref().is_some_and(|l| l.id == self.info.id))
    }

    fn hold(&mut self, from: &Pid, message: Held) {
        let held = &mut self.held;
        let weight = message.weight();
        match held.by_pid.get(&from.to_string()) {
            Some(&i) => {
                let Some(slot) = held.messages.get_mut(i) else {
                    return;
                };
                held.weight = held.weight - slot.1.weight() + weight;
                slot.1 = message;
            }
            None if held.weight + weight <= HELD_WEIGHT_LIMIT => {
                held.by_pid.insert(from.to_string(), held.messages.len());
                held.messages.push((from.clone(), message));
                held.weight += weight;
            }
            None => {
                self.count(|m| &m.dropped_messages);
                tracing::debug!(%from, "dropping an agent registration: too many held while recovering");
            }
        }
    }

    /// Handles what was held, in the order it arrived.
    fn release_held(&mut self, cx: &mut Cx<'_, Self>) {
        let held = std::mem::take(&mut self.held);
        if !held.messages.is_empty() {
            tracing::info!(
                messages = held.messages.len(),
                "handling agent registrations held during recovery"
            );
        }
        for (from, message) in held.messages {
            self.agent_arrives(message, &from, cx);
        }
    }

    /// An agent's (re)registration: held while this master recovers to
    /// lead, dropped by a master that does not lead, handled otherwise.
    fn agent_arrives(&mut self, message: Held, from: &Pid, cx: &mut Cx<'_, Self>) {
        if self.recovering_to_lead() {
            self.hold(from, message);
            return;
        }
        let what = match &message {
            Held::Register(_) => "RegisterAgent",
            Held::Reregister(_) => "ReregisterAgent",
        };
        if !self.ready(what, from) {
            return;
        }
        match message {
            Held::Register(m) => self.register_agent(m, from, cx),
            Held::Reregister(m) => self.reregister_or_readmit(m, from, cx),
        }
    }
}

/// This master won the election (ZooKeeper contender).
pub struct Elected;
/// This master lost its candidacy (its ZooKeeper session or node is gone).
pub struct LostCandidacy;
/// The leading master changed (ZooKeeper detector); `None`: no leader.
pub struct LeaderChanged(pub Option<MasterInfo>);

impl Master {
    /// Starts leading: the registrar recovers the registry, then the master
    /// serves.
    fn become_leader(&mut self, cx: &mut Cx<'_, Self>) {
        let Some(store) = self.store.take() else {
            return;
        };
        self.elected = true;
        self.leader = Some(self.info.clone());
        tracing::info!(
            id = self.info.id,
            pid = self.info.pid,
            "elected as the leading master"
        );
        let registrar = Registrar::new(
            store,
            self.flags.registry_fetch_timeout,
            self.flags.registry_store_timeout,
        );
        match cx
            .node()
            .spawn(cx.node().generate_id("registrar"), registrar)
        {
            Ok(r) => {
                let me = cx.handle();
                r.tell(
                    r.pid(),
                    Recover {
                        master: self.info.clone(),
                        reply: Box::new(move |result| me.tell(me.pid(), Recovered(result))),
                    },
                );
                self.registrar = Some(r);
            }
            Err(e) => {
                tracing::error!("cannot start the registrar: {e}");
                actors::actix::System::current().stop_with_code(1);
            }
        }
    }

    /// Whether this master leads (elected; it may still be recovering).
    pub fn is_leader(&self) -> bool {
        self.elected
    }

    /// The leading master as this master knows it.
    pub fn leader(&self) -> Option<&MasterInfo> {
        self.leader.as_ref()
    }
}

impl Handle<Elected> for Master {
    fn handle(&mut self, _: Elected, _: &Pid, cx: &mut Cx<'_, Self>) {
        if !self.elected {
            self.become_leader(cx);
        }
    }
}

impl Handle<LostCandidacy> for Master {
    fn handle(&mut self, _: LostCandidacy, _: &Pid, cx: &mut Cx<'_, Self>) {
        self.candidacy = None;
        if self.elected {
            // Mesos's master exits here ("Lost candidacy as a leader"): two
            // masters must never both act as leader, and a supervisor
            // restarts this one as a contender.
            tracing::error!("lost candidacy as the leading master; stopping");
            actors::actix::System::current().stop_with_code(1);
        } else {
            tracing::warn!("lost candidacy while not leading; contending again");
            cx.delay(CONTEND_RETRY, ContendAgain);
        }
    }
}

/// Stand for election through ZooKeeper with this contender.
pub struct Contend(pub crate::zookeeper::MasterContender);
/// Try to contend again after a failure or a lost candidacy.
struct ContendAgain;

/// Pause before contending again, so an unreachable ZooKeeper costs one
/// attempt a second rather than a busy loop.
const CONTEND_RETRY: Duration = Duration::from_secs(1);

impl Handle<Contend> for Master {
    fn handle(&mut self, Contend(contender): Contend, _: &Pid, cx: &mut Cx<'_, Self>) {
        self.contender = Some(contender);
        self.contend(cx);
    }
}

impl Handle<ContendAgain> for Master {
    fn handle(&mut self, _: ContendAgain, _: &Pid, cx: &mut Cx<'_, Self>) {
        if !self.elected && self.candidacy.is_none() {
            self.contend(cx);
        }
    }
}

impl Master {
    fn contend(&mut self, cx: &mut Cx<'_, Self>) {
        use crate::zookeeper::ContenderEvent;
        let Some(contender) = &self.contender else {
            return;
        };
        let candidacy = contender.contend(&self.info).map_err(|e| e.to_string());
        let (node, me) = (cx.node().clone(), cx.me().clone());
        let forwarding = candidacy.and_then(|c| {
            c.forward(move |event| match event {
                ContenderEvent::Elected => node.send_local(&me, &me, Elected),
                ContenderEvent::LostCandidacy(reason) => {
                    tracing::warn!("candidacy lost: {reason:?}");
                    node.send_local(&me, &me, LostCandidacy)
                }
            })
            .map_err(|e| e.to_string())
        });
        match forwarding {
            Ok(f) => self.candidacy = Some(f),
            Err(e) => {
                tracing::warn!("cannot contend for leadership: {e}; trying again");
                cx.delay(CONTEND_RETRY, ContendAgain);
            }
        }
    }
}

impl Handle<LeaderChanged> for Master {
    fn handle(&mut self, LeaderChanged(leader): LeaderChanged, _: &Pid, _: &mut Cx<'_, Self>) {
        if self.elected && leader.as_ref().is_some_and(|l| l.id != self.info.id) {
            tracing::error!("another master leads; stopping (conceded leadership)");
            actors::actix::System::current().stop_with_code(1);
            return;
        }
        if !self.elected {
            tracing::info!(leader = ?leader.as_ref().map(|l| &l.pid), "leading master changed");
            self.leader = leader;
            if !self.recovering_to_lead() {
                // Held on the promise of leading, which another master got.
                self.held = HeldRegistrations::default();
            }
        }
    }
}

/// Time to forget old unreachable and gone agents (`--registry_gc_interval`).
struct PruneRegistry;

impl Handle<PruneRegistry> for Master {
    fn handle(&mut self, _: PruneRegistry, _: &Pid, cx: &mut Cx<'_, Self>) {
        let before = now_secs() - self.flags.registry_max_agent_age.as_secs_f64();
        let max = self.flags.registry_max_agent_count;
        self.record(RegistryOp::Prune { before, max }, cx);
        // The master's own view follows the same rule.
        self.state.unreachable.retain(|_, t| *t >= before);
        while self.state.unreachable.len() > max {
            let oldest = self
                .state
                .unreachable
                .iter()
                .min_by(|a, b| a.1.total_cmp(b.1))
                .map(|(id, _)| id.clone());
            match oldest {
                Some(id) => self.state.unreachable.remove(&id),
                None => break,
            };
        }
        cx.delay(self.flags.registry_gc_interval, PruneRegistry);
    }
}
