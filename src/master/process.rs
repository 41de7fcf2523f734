//! The master process (`master`): the actor around the master's core. Each
//! handler checks where it stands, hands the message to the core with the
//! time, and passes what the core decided to `Master::act`, the one place
//! that sends, links, sets and cancels timers, talks to the allocator and
//! the registrar, and stops the process. The process itself owns only what
//! an actor has: its leadership [`Phase`] (with the store, the registrar
//! and held registrations), timers, HTTP event streams, the allocator's
//! client and the ZooKeeper candidacy.
//!
//! Handlers by peer: agents, schedulers and the allocator here, the HTTP
//! side in `process/routes.rs`, the election in `process/election.rs`;
//! effects that take more than a line are carried out in
//! `process/outbox.rs`. The messages it receives and sends are listed in
//! `mod.rs`.

mod election;
mod maintenance;
mod operator;
mod outbox;
mod resources;
mod routes;

use election::ContendAgain;
pub use election::{Contend, Elected, LostCandidacy};
use outbox::{call_allocator, send_to_agent};
use routes::{HeartbeatTick, StreamClosed};

use std::collections::HashMap;
use tokio::time::Instant;

use actors::actix::SpawnHandle;
use actors::{Cx, Handle, Install, Pid, Process};
use wire::agent::{
    ExecutorToFramework, ExitedExecutor, PongAgent, RegisterAgent, ReregisterAgent,
    StatusUpdateMessage, UnregisterAgent,
};
use wire::ids::{FrameworkId, OfferId};
use wire::mesos::{now_secs, AgentInfo, MasterInfo};
use wire::registry::Registry;
use wire::scheduler::{
    Accept, Acknowledge, Deactivate, Decline, Kill, Reconcile, Revive, SendFrameworkMessage,
    Subscribe, Suppress, Teardown,
};

use super::core::Core;
use super::effects::{Effect, Effects, Now};
use super::events::{HttpStream, HEARTBEAT_INTERVAL};
use super::flags::MasterFlags;
use super::gauges::gauges;
use super::leadership::{Held, Phase};
use super::metrics::MasterMetrics;
use super::state::State;
use super::view::MasterView;
use crate::allocator::{Allocation, AllocatorConfig, AllocatorHandle};
use crate::registrar::{RegistrarError, Store};
use crate::stop::{StopNotice, StopReason};
use crate::zookeeper::LeaderDetected;

/// The master's process id, fixed as in Mesos.
pub const MASTER_ID: &str = "master";

pub struct Master {
    /// The records and every decision on them.
    core: Core,
    /// Where the master stands: contending, recovering, leading, stopping.
    phase: Phase,
    /// Set in `started`: the allocator process this master drives.
    allocator: Option<AllocatorHandle>,
    /// Pending failover timeouts of disconnected frameworks.
    failover_timers: HashMap<FrameworkId, SpawnHandle>,
    /// Pending `--offer_timeout` rescinds, one per outstanding offer.
    offer_timers: HashMap<OfferId, SpawnHandle>,
    /// Event streams of HTTP frameworks, by their stand-in pid.
    http_streams: HashMap<String, HttpStream>,
    /// The operator API's subscribers and logging level.
    operator: operator::OperatorApi,
    /// How this master stands for election (ZooKeeper), if it does.
    contender: Option<crate::zookeeper::MasterContender>,
    /// The current candidacy; dropping it withdraws from the election.
    candidacy: Option<crate::zookeeper::Forwarding>,
    /// When this master was constructed (seconds since the epoch).
    start_time: f64,
    /// Where the master says why it stopped, for its daemon to decide.
    stop_notice: StopNotice,
}

/// Allocations from the allocator process.
pub struct Allocated {
    pub allocations: Vec<Allocation>,
}
/// Time to ping every agent and count missed pongs.
struct PingTick;
/// An offer outlived `--offer_timeout`.
struct OfferExpired {
    offer_id: OfferId,
}
/// A disconnected framework did not come back within its failover timeout.
struct FailoverExpired {
    framework_id: FrameworkId,
}
/// The registrar recovered the registry (or could not).
struct RegistryRecovered {
    result: Result<Registry, RegistrarError>,
}
/// A registry operation failed.
struct RegistryFailed {
    error: RegistrarError,
}
/// Agents admitted before this master that have not come back by now are
/// unreachable.
struct ReregisterTimeout;
/// `--agent_removal_rate_limit` allows the next removal.
struct RemovalPermit;
/// Time to forget old unreachable and gone agents (`--registry_gc_interval`).
struct PruneRegistry;
/// The registrar has (or has not) admitted a new agent.
struct AgentAdmitted {
    pid: Pid,
    info: AgentInfo,
    version: String,
    result: Result<bool, RegistrarError>,
}
/// The registrar has (or has not) readmitted a returning agent.
struct AgentReadmitted {
    pid: Pid,
    message: ReregisterAgent,
    result: Result<bool, RegistrarError>,
}

/// The time now, for the core: the only clock reads of the master.
fn now() -> Now {
    Now {
        secs: now_secs(),
        instant: Instant::now(),
    }
}

/// The allocator's configuration from the master's flags.
fn allocator_config(flags: &MasterFlags) -> AllocatorConfig {
    AllocatorConfig {
        weights: flags.weights.clone(),
        min_allocatable: flags.min_allocatable_resources.clone(),
        fair_sharing_excluded_resource_names: flags.fair_sharing_excluded_resource_names.clone(),
        allocation_interval: flags.allocation_interval,
        seed: crate::random::seed(),
    }
}

impl Master {
    /// A master keeping its registry in `store`.
    pub fn new(flags: MasterFlags, info: MasterInfo, store: Box<dyn Store>) -> Master {
        Master {
            core: Core::new(flags, info),
            phase: Phase::new(store),
            allocator: None,
            failover_timers: HashMap::new(),
            offer_timers: HashMap::new(),
            http_streams: HashMap::new(),
            operator: operator::OperatorApi::default(),
            contender: None,
            candidacy: None,
            start_time: now_secs(),
            stop_notice: StopNotice::unheard(),
        }
    }

    /// A master that tells `notice` why it stops.
    pub fn with_stop_notice(mut self, notice: StopNotice) -> Master {
        self.stop_notice = notice;
        self
    }

    pub fn info(&self) -> &MasterInfo {
        self.core.info()
    }

    pub fn state(&self) -> &State {
        self.core.state()
    }

    /// For tests and benches that build a master's state directly.
    pub fn state_mut(&mut self) -> &mut State {
        self.core.state_mut()
    }

    pub fn flags(&self) -> &MasterFlags {
        self.core.flags()
    }

    pub fn start_time(&self) -> f64 {
        self.start_time
    }

    /// Whether the registry is recovered (the master serves).
    pub fn is_recovered(&self) -> bool {
        self.phase.recovered()
    }

    /// Whether this master leads (elected; it may still be recovering).
    pub fn is_leader(&self) -> bool {
        self.phase.elected()
    }

    /// The leading master as this master knows it.
    pub fn leader(&self) -> Option<&MasterInfo> {
        self.phase.leader(self.core.info())
    }

    /// What endpoints and metrics read.
    pub fn view(&self) -> MasterView<'_> {
        MasterView {
            state: self.core.state(),
            info: self.core.info(),
            flags: self.core.flags(),
            start_time: self.start_time,
            leader: self.leader(),
            elected: self.phase.elected(),
            recovered: self.phase.recovered(),
        }
    }

    /// Hands the core the time and a place for its decisions, then acts.
    fn run<R>(
        &mut self,
        cx: &mut Cx<'_, Self>,
        decide: impl FnOnce(&mut Core, Now, &mut Effects) -> R,
    ) -> R {
        let mut out = Effects::default();
        let answer = decide(&mut self.core, now(), &mut out);
        self.act(out, cx);
        answer
    }

    /// Carries out what the core decided, in order.
    fn act(&mut self, effects: Effects, cx: &mut Cx<'_, Self>) {
        for effect in effects {
            match effect {
                Effect::ToAgent { to, message } => send_to_agent(&to, message, cx),
                Effect::ToScheduler {
                    pid,
                    framework,
                    message,
                } => self.deliver(&pid, message, &framework, cx),
                Effect::LinkAgent(pid) => cx.link(&pid),
                Effect::LinkScheduler(pid) => {
                    if !self.http_streams.contains_key(&pid.to_string()) {
                        cx.link(&pid);
                    }
                }
                Effect::EndStream(pid) => {
                    self.http_streams.remove(&pid);
                }
                Effect::Allocator(call) => {
                    if let Some(a) = &self.allocator {
                        call_allocator(a, call);
                    }
                }
                Effect::Record(operation) => self.record(operation, cx),
                Effect::Admit { pid, info, version } => self.admit(pid, info, version, cx),
                Effect::Readmit {
                    pid,
                    operation,
                    message,
                } => self.readmit(pid, operation, message, cx),
                Effect::Set(timer) => self.set(timer, cx),
                Effect::CancelOfferTimer(id) => {
                    if let Some(timer) = self.offer_timers.remove(&id) {
                        cx.cancel(timer);
                    }
                }
                Effect::CancelFailoverTimer(id) => {
                    if let Some(timer) = self.failover_timers.remove(&id) {
                        cx.cancel(timer);
                    }
                }
                Effect::Operator(event) => self.operator_event(event),
                Effect::Exit(reason) => self.exit(reason, cx),
            }
        }
    }

    /// The one place the master stops: it ends its own process and tells
    /// its daemon why; the daemon decides what that means for the OS
    /// process.
    fn exit(&mut self, reason: StopReason, cx: &mut Cx<'_, Self>) {
        tracing::error!("the master stops: {reason}");
        self.phase = Phase::Stopping;
        cx.stop();
        self.stop_notice.stopped(cx.me(), reason);
    }

    /// Whether the registry is recovered; messages before that are
    /// dropped and counted, as Mesos does.
    fn ready(&self, what: &str, from: &Pid) -> bool {
        let recovered = self.phase.recovered();
        if !recovered {
            self.core.count(|m| &m.dropped_messages);
            tracing::debug!(%from, "dropping {what}: the registry is not recovered yet");
        }
        recovered
    }

    /// An agent's (re)registration: held while this master recovers to
    /// lead, dropped by a master that does not lead, handled otherwise.
    fn agent_arrives(&mut self, message: Held, from: &Pid, cx: &mut Cx<'_, Self>) {
        if let Some(held) = self.phase.holding(self.core.info()) {
            if !held.hold(from, message) {
                self.core.count(|m| &m.dropped_messages);
                tracing::debug!(%from, "dropping an agent registration: too many held while recovering");
            }
            return;
        }
        if !self.ready(message.name(), from) {
            return;
        }
        match message {
            Held::Register(m) => self.run(cx, |core, _, out| core.register_agent(m, from, out)),
            Held::Reregister(m) => self.run(cx, |core, now, out| {
                core.reregister_or_readmit(m, from, now, out)
            }),
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
            .local::<RegistryRecovered>()
            .local::<RegistryFailed>()
            .local::<ReregisterTimeout>()
            .local::<RemovalPermit>()
            .local::<AgentAdmitted>()
            .local::<AgentReadmitted>()
            .local::<Elected>()
            .local::<LostCandidacy>()
            .local::<LeaderDetected>()
            .local::<Contend>()
            .local::<PruneRegistry>()
            .local::<ContendAgain>()
            .local::<HeartbeatTick>()
            .local::<operator::OperatorStreamClosed>();
        routes::install(i);
    }

    fn started(&mut self, cx: &mut Cx<'_, Self>) {
        self.core
            .set_metrics(MasterMetrics::new(cx.node().metrics()));
        self.operator.set_metrics(cx.node().metrics());
        let me = cx.handle();
        cx.node().metrics().collector(std::sync::Arc::new(move || {
            let me = me.clone();
            Box::pin(async move {
                me.call(|m, _| gauges(&m.view(), now_secs()))
                    .await
                    .unwrap_or_default()
            })
        }));
        let me = cx.handle();
        let config = allocator_config(self.core.flags());
        let allocator = AllocatorHandle::spawn(cx.node(), config, move |allocations| {
            me.tell(me.pid(), Allocated { allocations });
        });
        match allocator {
            Ok(a) => self.allocator = Some(a),
            Err(e) => {
                self.exit(
                    StopReason::StartFailed(format!("cannot start the allocator: {e}")),
                    cx,
                );
                return;
            }
        }
        cx.delay(self.core.flags().agent_ping_timeout, PingTick);
        cx.delay(HEARTBEAT_INTERVAL, HeartbeatTick);
        if self.core.flags().zk.is_none() {
            self.become_leader(cx);
        } else {
            let info = self.core.info();
            tracing::info!(
                id = info.id,
                pid = info.pid,
                "master started; waiting to be elected"
            );
        }
    }

    fn exited(&mut self, pid: &Pid, cx: &mut Cx<'_, Self>) {
        let text = pid.to_string();
        let state = self.core.state();
        let agent = state.agent_by_pid(&text).map(|a| a.id.clone());
        if let Some(agent) = agent {
            tracing::info!(agent = %agent, %pid, "agent disconnected");
            self.run(cx, |core, _, out| core.agent_disconnected(&agent, out));
        }
        let framework = self
            .core
            .state()
            .framework_by_pid(&text)
            .map(|f| f.id.clone());
        if let Some(framework) = framework {
            self.run(cx, |core, now, out| {
                core.disconnect_framework(&framework, now, out)
            });
        }
    }
}

/// Handlers that hand a peer's message and its sender to the core: the
/// core checks the sender and decides; `act` carries the decision out.
macro_rules! to_core {
    ($($message:ty => $method:ident),* $(,)?) => {$(
        impl Handle<$message> for Master {
            fn handle(&mut self, msg: $message, from: &Pid, cx: &mut Cx<'_, Self>) {
                self.run(cx, |core, _, out| core.$method(msg, from, out));
            }
        }
    )*};
}

/// Timers that carry nothing: the core decides at the time they fire.
macro_rules! at_time {
    ($($message:ty => $method:ident),* $(,)?) => {$(
        impl Handle<$message> for Master {
            fn handle(&mut self, _: $message, _: &Pid, cx: &mut Cx<'_, Self>) {
                self.run(cx, |core, now, out| core.$method(now, out));
            }
        }
    )*};
}

// From agents.

impl Handle<RegisterAgent> for Master {
    fn handle(&mut self, msg: RegisterAgent, from: &Pid, cx: &mut Cx<'_, Self>) {
        self.core.count(|m| &m.messages_register_slave);
        self.agent_arrives(Held::Register(msg), from, cx);
    }
}

impl Handle<ReregisterAgent> for Master {
    fn handle(&mut self, msg: ReregisterAgent, from: &Pid, cx: &mut Cx<'_, Self>) {
        self.core.count(|m| &m.messages_reregister_slave);
        self.agent_arrives(Held::Reregister(msg), from, cx);
    }
}

impl Handle<PongAgent> for Master {
    fn handle(&mut self, msg: PongAgent, from: &Pid, _: &mut Cx<'_, Self>) {
        self.core.pong(msg, from);
    }
}

impl Handle<StatusUpdateMessage> for Master {
    fn handle(&mut self, msg: StatusUpdateMessage, from: &Pid, cx: &mut Cx<'_, Self>) {
        let agent = msg.update.agent_id.clone();
        self.run(cx, |core, now, out| {
            core.status_update(msg, from, out);
            // A task of a draining agent ending may finish its drain.
            if let Some(agent) = agent {
                core.drain_progress(&agent, now, out);
            }
        });
    }
}

to_core! {
    UnregisterAgent => unregister_agent,
    ExitedExecutor => executor_exited,
    ExecutorToFramework => executor_message,
}

// From schedulers (over the wire, or their v1 calls: `routes.rs`).

impl Handle<Subscribe> for Master {
    fn handle(&mut self, msg: Subscribe, from: &Pid, cx: &mut Cx<'_, Self>) {
        self.core.count(|m| &m.messages_register_framework);
        if self.ready("Subscribe", from) {
            self.run(cx, |core, now, out| core.subscribe(msg, from, now, out));
        }
    }
}

impl Handle<Teardown> for Master {
    fn handle(&mut self, msg: Teardown, from: &Pid, cx: &mut Cx<'_, Self>) {
        self.run(cx, |core, now, out| core.teardown(msg, from, now, out));
    }
}

to_core! {
    Accept => accept,
    Decline => decline,
    Revive => revive,
    Suppress => suppress,
    Kill => kill,
    Acknowledge => acknowledge,
    Reconcile => reconcile,
    SendFrameworkMessage => framework_message,
    Deactivate => deactivate,
}

// From the allocator.

impl Handle<Allocated> for Master {
    fn handle(&mut self, msg: Allocated, _: &Pid, cx: &mut Cx<'_, Self>) {
        self.run(cx, |core, _, out| core.allocated(msg.allocations, out));
    }
}

// From the registrar.

impl Handle<RegistryRecovered> for Master {
    fn handle(&mut self, msg: RegistryRecovered, _: &Pid, cx: &mut Cx<'_, Self>) {
        let registry = match msg.result {
            Ok(registry) => registry,
            Err(e) => return self.run(cx, |core, _, out| core.registry_failed(&e, out)),
        };
        let held = match std::mem::replace(&mut self.phase, Phase::Stopping) {
            Phase::Recovering { registrar, held } => {
                self.phase = Phase::Leading { registrar };
                held
            }
            other => {
                self.phase = other;
                return;
            }
        };
        self.core.registry_recovered(registry);
        let held = held.release();
        if !held.is_empty() {
            tracing::info!(
                messages = held.len(),
                "handling agent registrations held during recovery"
            );
        }
        for (from, message) in held {
            self.agent_arrives(message, &from, cx);
        }
        self.run(cx, |core, _, out| {
            core.recovery_timers(out);
            core.announce_quota(out);
        });
    }
}

impl Handle<RegistryFailed> for Master {
    fn handle(&mut self, msg: RegistryFailed, _: &Pid, cx: &mut Cx<'_, Self>) {
        self.run(cx, |core, _, out| core.registry_failed(&msg.error, out));
    }
}

impl Handle<AgentAdmitted> for Master {
    fn handle(&mut self, msg: AgentAdmitted, _: &Pid, cx: &mut Cx<'_, Self>) {
        self.core.admission_done(&msg.pid);
        self.run(cx, |core, now, out| match msg.result {
            Err(e) => core.registry_failed(&e, out),
            Ok(_) => core.agent_admitted(&msg.pid, msg.info, msg.version, now, out),
        });
    }
}

impl Handle<AgentReadmitted> for Master {
    fn handle(&mut self, msg: AgentReadmitted, _: &Pid, cx: &mut Cx<'_, Self>) {
        self.core.admission_done(&msg.pid);
        self.run(cx, |core, now, out| match msg.result {
            Err(e) => core.registry_failed(&e, out),
            Ok(_) => core.agent_readmitted(&msg.pid, msg.message, now, out),
        });
    }
}

// Timers.

at_time! {
    PingTick => ping_agents,
    ReregisterTimeout => reregister_timeout,
    RemovalPermit => removal_permit,
    PruneRegistry => prune_registry,
}

impl Handle<OfferExpired> for Master {
    fn handle(&mut self, msg: OfferExpired, _: &Pid, cx: &mut Cx<'_, Self>) {
        self.offer_timers.remove(&msg.offer_id);
        self.run(cx, |core, _, out| core.offer_expired(&msg.offer_id, out));
    }
}

impl Handle<FailoverExpired> for Master {
    fn handle(&mut self, msg: FailoverExpired, _: &Pid, cx: &mut Cx<'_, Self>) {
        self.failover_timers.remove(&msg.framework_id);
        self.run(cx, |core, now, out| {
            core.failover_expired(&msg.framework_id, now, out)
        });
    }
}
