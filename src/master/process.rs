//! The master process (`master`): the actor around the master's core. Each
//! handler checks where it stands, hands the message to the core with the
//! time, and passes what the core decided to [`Master::act`], the one place
//! that sends, links, sets and cancels timers, talks to the allocator and
//! the registrar, and stops the process. The process itself owns only what
//! an actor has: its leadership [`Phase`] (with the store, the registrar
//! and held registrations), timers, HTTP event streams, the allocator's
//! client and the ZooKeeper candidacy.
//!
//! The messages it receives and sends are listed in `mod.rs`.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

use actors::actix::SpawnHandle;
use actors::{Cx, Handle, Install, Pid, Process, Reply, Request};
use wire::agent::{
    ExecutorToFramework, ExitedExecutor, PongAgent, RegisterAgent, ReregisterAgent,
    ShutdownExecutor, StatusUpdateMessage, UnregisterAgent,
};
use wire::ids::{FrameworkId, OfferId};
use wire::mesos::{now_secs, AgentInfo, MasterInfo};
use wire::registry::{Operation as RegistryOp, Registry};
use wire::scheduler::{
    Accept, Acknowledge, Deactivate, Decline, Kill, Reconcile, Revive, SendFrameworkMessage,
    Subscribe, Suppress, Teardown,
};
use wire::v1::SchedulerCall;

use super::core::Core;
use super::effects::{AllocatorCall, Effect, Effects, Now, Timer, ToAgent, ToScheduler};
use super::events::{HttpStream, HEARTBEAT_INTERVAL};
use super::flags::MasterFlags;
use super::gauges::gauges;
use super::http;
use super::leadership::{Held, Phase};
use super::metrics::MasterMetrics;
use super::scheduler_api::{self, ApiCall};
use super::state::State;
use super::view::MasterView;
use crate::allocator::{Allocation, AllocatorConfig, AllocatorHandle};
use crate::registrar::{Apply, RecoverRegistry, Registrar, RegistrarError, Store};

/// The master's process id, fixed as in Mesos.
pub const MASTER_ID: &str = "master";

/// Pause before contending again, so an unreachable ZooKeeper costs one
/// attempt a second rather than a busy loop.
const CONTEND_RETRY: Duration = Duration::from_secs(1);

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
    /// How this master stands for election (ZooKeeper), if it does.
    contender: Option<crate::zookeeper::MasterContender>,
    /// The current candidacy; dropping it withdraws from the election.
    candidacy: Option<crate::zookeeper::Forwarding>,
    /// When this master was constructed (seconds since the epoch).
    start_time: f64,
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
/// This master won the election (ZooKeeper contender).
pub struct Elected;
/// This master lost its candidacy (its ZooKeeper session or node is gone).
pub struct LostCandidacy;
/// The leading master changed (ZooKeeper detector); `None`: no leader.
pub struct LeaderChanged(pub Option<MasterInfo>);
/// Stand for election through ZooKeeper with this contender.
pub struct Contend {
    pub contender: crate::zookeeper::MasterContender,
}
/// Try to contend again after a failure or a lost candidacy.
struct ContendAgain;
/// An HTTP framework's stream has closed (the client went away).
struct StreamClosed {
    pid: String,
}
/// Time to send HEARTBEAT on every stream.
struct HeartbeatTick;

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
        seed: uuid::Uuid::new_v4().as_u64_pair().0,
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
            contender: None,
            candidacy: None,
            start_time: now_secs(),
        }
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
    fn run(&mut self, cx: &mut Cx<'_, Self>, decide: impl FnOnce(&mut Core, Now, &mut Effects)) {
        let mut out = Effects::default();
        decide(&mut self.core, now(), &mut out);
        self.act(out, cx);
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
                } => {
                    if let Some(stream) = self.http_streams.get(&pid) {
                        stream.send(&message.to_event(&framework, self.core.info()));
                    } else if let Ok(pid) = pid.parse::<Pid>() {
                        send_to_scheduler(&pid, message, cx);
                    }
                }
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
                Effect::Record(operation) => {
                    let me = cx.handle();
                    self.registry(
                        operation,
                        Box::new(move |result| {
                            if let Err(error) = result {
                                me.tell(me.pid(), RegistryFailed { error });
                            }
                        }),
                    );
                }
                Effect::Admit { pid, info, version } => {
                    let (me, admitted) = (cx.handle(), info.clone());
                    self.registry(
                        RegistryOp::AdmitAgent(info),
                        Box::new(move |result| {
                            let info = admitted;
                            me.tell(
                                me.pid(),
                                AgentAdmitted {
                                    pid,
                                    info,
                                    version,
                                    result,
                                },
                            )
                        }),
                    );
                }
                Effect::Readmit {
                    pid,
                    operation,
                    message,
                } => {
                    let me = cx.handle();
                    self.registry(
                        operation,
                        Box::new(move |result| {
                            me.tell(
                                me.pid(),
                                AgentReadmitted {
                                    pid,
                                    message,
                                    result,
                                },
                            )
                        }),
                    );
                }
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
                Effect::Exit { code, reason } => self.exit(code, &reason, cx),
            }
        }
    }

    fn set(&mut self, timer: Timer, cx: &mut Cx<'_, Self>) {
        match timer {
            Timer::Ping(after) => {
                cx.delay(after, PingTick);
            }
            Timer::Offer(offer_id, after) => {
                let handle = cx.delay(
                    after,
                    OfferExpired {
                        offer_id: offer_id.clone(),
                    },
                );
                if let Some(old) = self.offer_timers.insert(offer_id, handle) {
                    cx.cancel(old);
                }
            }
            Timer::Failover(framework_id, after) => {
                let handle = cx.delay(
                    after,
                    FailoverExpired {
                        framework_id: framework_id.clone(),
                    },
                );
                if let Some(old) = self.failover_timers.insert(framework_id, handle) {
                    cx.cancel(old);
                }
            }
            Timer::RemovalPermit(after) => {
                cx.delay(after, RemovalPermit);
            }
            Timer::ReregisterTimeout(after) => {
                cx.delay(after, ReregisterTimeout);
            }
            Timer::PruneRegistry(after) => {
                cx.delay(after, PruneRegistry);
            }
        }
    }

    /// The one place the master ends the whole process: it stops, and the
    /// actix system with it, with `code` for the daemon's exit.
    fn exit(&mut self, code: i32, reason: &str, cx: &mut Cx<'_, Self>) {
        tracing::error!(code, "the master stops: {reason}");
        self.phase = Phase::Stopping;
        cx.stop();
        actors::actix::System::current().stop_with_code(code);
    }

    /// Applies a registry operation; `reply` gets the outcome.
    fn registry(
        &self,
        operation: RegistryOp,
        reply: Box<dyn FnOnce(Result<bool, RegistrarError>) + Send>,
    ) {
        match self.phase.registrar() {
            Some(r) => r.tell(r.pid(), Apply { operation, reply }),
            None => reply(Err(RegistrarError::NotRecovered)),
        }
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

    /// Starts leading: the registrar recovers the registry, then the master
    /// serves.
    fn become_leader(&mut self, cx: &mut Cx<'_, Self>) {
        let (store, held) = match std::mem::replace(&mut self.phase, Phase::Stopping) {
            Phase::Contending { store, held, .. } => (store, held),
            other => {
                self.phase = other;
                return;
            }
        };
        let info = self.core.info().clone();
        tracing::info!(
            id = info.id,
            pid = info.pid,
            "elected as the leading master"
        );
        let flags = self.core.flags();
        let registrar = Registrar::new(
            store,
            flags.registry_fetch_timeout,
            flags.registry_store_timeout,
        );
        match cx
            .node()
            .spawn(cx.node().generate_id("registrar"), registrar)
        {
            Ok(registrar) => {
                let me = cx.handle();
                registrar.tell(
                    registrar.pid(),
                    RecoverRegistry {
                        master: info,
                        reply: Box::new(move |result| {
                            me.tell(me.pid(), RegistryRecovered { result })
                        }),
                    },
                );
                self.phase = Phase::Recovering { registrar, held };
            }
            Err(e) => self.exit(1, &format!("cannot start the registrar: {e}"), cx),
        }
    }

    fn contend(&mut self, cx: &mut Cx<'_, Self>) {
        use crate::zookeeper::ContenderEvent;
        let Some(contender) = &self.contender else {
            return;
        };
        let candidacy = contender
            .contend(self.core.info())
            .map_err(|e| e.to_string());
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

    /// The client of an HTTP framework went away: it is disconnected, with
    /// its failover timeout to come back.
    fn http_stream_closed(&mut self, pid: &str, cx: &mut Cx<'_, Self>) {
        if self.http_streams.remove(pid).is_none() {
            return;
        }
        if let Some(id) = self
            .core
            .state()
            .framework_by_pid(pid)
            .map(|f| f.id.clone())
        {
            tracing::info!(framework = %id, "HTTP event stream closed");
            self.run(cx, |core, now, out| {
                core.disconnect_framework(&id, now, out)
            });
        }
    }

    /// `POST /api/v1/scheduler`: read the call, then carry it out.
    fn scheduler_api(&mut self, req: Request, cx: &mut Cx<'_, Self>) -> Reply {
        let call = scheduler_api::read_call(&self.view(), &self.http_streams, &req);
        match call {
            Err(e) => scheduler_api::error_response(e),
            Ok(ApiCall::Reply(reply)) => reply,
            Ok(ApiCall::Subscribe(subscribe)) => self.subscribe_http(subscribe, cx),
            Ok(ApiCall::Call { pid, call }) => self.scheduler_call(&pid, call, cx),
        }
    }

    /// SUBSCRIBE over HTTP: the framework's messages become events on the
    /// stream this opens.
    fn subscribe_http(&mut self, subscribe: Subscribe, cx: &mut Cx<'_, Self>) -> Reply {
        let opened = match scheduler_api::open_stream() {
            Ok(opened) => opened,
            Err(e) => return scheduler_api::error_response(e),
        };
        let pid_text = opened.pid.to_string();
        self.http_streams.insert(pid_text.clone(), opened.stream);
        self.handle(subscribe, &opened.pid, cx);
        if self.core.state().framework_by_pid(&pid_text).is_none() {
            // Refused: the ERROR event is on the stream; end it.
            self.http_streams.remove(&pid_text);
        } else {
            let watch = opened.watch;
            cx.defer(async move { watch.closed().await }, move |()| {
                StreamClosed { pid: pid_text }
            });
        }
        Reply::Now(opened.response)
    }

    /// A call of a subscribed HTTP framework, as its stand-in pid's message.
    fn scheduler_call(&mut self, pid: &Pid, call: SchedulerCall, cx: &mut Cx<'_, Self>) -> Reply {
        match call {
            SchedulerCall::Subscribe { .. } => {}
            SchedulerCall::Teardown(m) => self.handle(m, pid, cx),
            SchedulerCall::Accept {
                accept,
                unsupported,
            } => {
                for op in &unsupported {
                    tracing::warn!(framework = %accept.framework_id, "ignoring unsupported operation {op}");
                }
                self.handle(accept, pid, cx);
            }
            SchedulerCall::Decline(m) => self.handle(m, pid, cx),
            SchedulerCall::Revive(m) => self.handle(m, pid, cx),
            SchedulerCall::Suppress(m) => self.handle(m, pid, cx),
            SchedulerCall::Kill { kill, .. } => self.handle(kill, pid, cx),
            SchedulerCall::Shutdown {
                framework_id,
                executor_id,
                agent_id,
            } => {
                let shutdown = ShutdownExecutor {
                    framework_id,
                    executor_id,
                };
                self.run(cx, |core, _, out| {
                    core.to_agent(&agent_id, ToAgent::ShutdownExecutor(shutdown), out)
                });
            }
            SchedulerCall::Acknowledge(m) => self.handle(m, pid, cx),
            SchedulerCall::Reconcile(m) => self.handle(m, pid, cx),
            SchedulerCall::Message(m) => self.handle(m, pid, cx),
            // The hierarchical allocator ignores requests, as Mesos's does;
            // there are no inverse offers without maintenance schedules.
            SchedulerCall::Request { .. }
            | SchedulerCall::AcceptInverseOffers { .. }
            | SchedulerCall::DeclineInverseOffers { .. } => {}
            SchedulerCall::AcknowledgeOperationStatus { .. }
            | SchedulerCall::ReconcileOperations { .. }
            | SchedulerCall::UpdateFramework { .. } => return scheduler_api::not_implemented(),
        }
        scheduler_api::accepted()
    }

    /// `POST /master/teardown`: an operator removes a framework.
    fn teardown_endpoint(&mut self, req: Request, cx: &mut Cx<'_, Self>) -> Reply {
        match http::teardown(&self.view(), &req) {
            http::Teardown::Refuse(reply) => reply,
            http::Teardown::Remove(id) => {
                tracing::info!(framework = %id, "tearing the framework down at an operator's request");
                self.run(cx, |core, now, out| core.remove_framework(&id, now, out));
                Reply::Now(actors::http::Response::new(
                    actors::http::StatusCode::OK,
                    "",
                ))
            }
        }
    }
}

fn send_to_agent(to: &Pid, message: ToAgent, cx: &Cx<'_, Master>) {
    match message {
        ToAgent::Registered(m) => cx.send(to, m),
        ToAgent::Reregistered(m) => cx.send(to, m),
        ToAgent::Ping(m) => cx.send(to, m),
        ToAgent::RunTask(m) => cx.send(to, *m),
        ToAgent::RunTaskGroup(m) => cx.send(to, *m),
        ToAgent::KillTask(m) => cx.send(to, m),
        ToAgent::Acknowledge(m) => cx.send(to, m),
        ToAgent::ShutdownFramework(m) => cx.send(to, m),
        ToAgent::ShutdownExecutor(m) => cx.send(to, m),
        ToAgent::FrameworkToExecutor(m) => cx.send(to, m),
        ToAgent::UpdateFramework(m) => cx.send(to, m),
    }
}

fn send_to_scheduler(to: &Pid, message: ToScheduler, cx: &Cx<'_, Master>) {
    match message {
        ToScheduler::Registered(m) => cx.send(to, m),
        ToScheduler::Reregistered(m) => cx.send(to, m),
        ToScheduler::Error(m) => cx.send(to, m),
        ToScheduler::Offers(m) => cx.send(to, m),
        ToScheduler::Rescind(m) => cx.send(to, m),
        ToScheduler::Update(m) => cx.send(to, m),
        ToScheduler::AgentLost(m) => cx.send(to, m),
        ToScheduler::ExecutorExited(m) => cx.send(to, m),
        ToScheduler::Message(m) => cx.send(to, m),
    }
}

fn call_allocator(a: &AllocatorHandle, call: AllocatorCall) {
    match call {
        AllocatorCall::AddAgent {
            agent_id,
            total,
            used,
        } => a.add_agent(&agent_id, total, used),
        AllocatorCall::RemoveAgent(id) => a.remove_agent(&id),
        AllocatorCall::ActivateAgent(id) => a.activate_agent(&id),
        AllocatorCall::DeactivateAgent(id) => a.deactivate_agent(&id),
        AllocatorCall::AddFramework {
            framework_id,
            roles,
            used,
        } => a.add_framework(&framework_id, roles, used, true),
        AllocatorCall::RemoveFramework(id) => a.remove_framework(&id),
        AllocatorCall::ActivateFramework(id) => a.activate_framework(&id),
        AllocatorCall::DeactivateFramework(id) => a.deactivate_framework(&id),
        AllocatorCall::Recover {
            framework_id,
            agent_id,
            role,
            resources,
            refuse,
        } => a.recover(&framework_id, &agent_id, &role, resources, refuse),
        AllocatorCall::Suppress(id, roles) => a.suppress(&id, roles),
        AllocatorCall::Revive(id, roles) => a.revive(&id, roles),
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
            .local::<LeaderChanged>()
            .local::<Contend>()
            .local::<PruneRegistry>()
            .local::<ContendAgain>()
            .local::<HeartbeatTick>();
        i.route("/api/v1/scheduler", |m, req, cx| m.scheduler_api(req, cx))
            .route("/health", |_, _, _| {
                Reply::Now(actors::http::Response::new(
                    actors::http::StatusCode::OK,
                    "",
                ))
            })
            .route("/state", |m, req, _| http::state(&m.view(), &req))
            .route("/state.json", |m, req, _| http::state(&m.view(), &req))
            .route("/slaves", |m, req, _| http::slaves(&m.view(), &req))
            .route("/frameworks", |m, req, _| http::frameworks(&m.view(), &req))
            .route("/tasks", |m, req, _| http::tasks(&m.view(), &req))
            .route("/flags", |m, req, _| http::flags(&m.view(), &req))
            .route("/state-summary", |m, req, _| {
                http::state_summary(&m.view(), &req)
            })
            .route("/roles", |m, req, _| http::roles(&m.view(), &req))
            .route("/redirect", |m, _, _| http::redirect(&m.view()))
            .route("/teardown", |m, req, cx| m.teardown_endpoint(req, cx))
            .route("/version", |_, req, _| {
                http::json_reply(&req, http::version())
            });
    }

    fn started(&mut self, cx: &mut Cx<'_, Self>) {
        self.core
            .set_metrics(MasterMetrics::new(cx.node().metrics()));
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
                tracing::error!("cannot start the allocator: {e}");
                cx.stop();
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

impl Handle<UnregisterAgent> for Master {
    fn handle(&mut self, msg: UnregisterAgent, from: &Pid, cx: &mut Cx<'_, Self>) {
        self.run(cx, |core, _, out| core.unregister_agent(msg, from, out));
    }
}

impl Handle<PongAgent> for Master {
    fn handle(&mut self, msg: PongAgent, from: &Pid, _: &mut Cx<'_, Self>) {
        self.core.pong(msg, from);
    }
}

impl Handle<StatusUpdateMessage> for Master {
    fn handle(&mut self, msg: StatusUpdateMessage, from: &Pid, cx: &mut Cx<'_, Self>) {
        self.run(cx, |core, _, out| core.status_update(msg, from, out));
    }
}

impl Handle<ExitedExecutor> for Master {
    fn handle(&mut self, msg: ExitedExecutor, from: &Pid, cx: &mut Cx<'_, Self>) {
        self.run(cx, |core, _, out| core.executor_exited(msg, from, out));
    }
}

impl Handle<ExecutorToFramework> for Master {
    fn handle(&mut self, msg: ExecutorToFramework, from: &Pid, cx: &mut Cx<'_, Self>) {
        self.run(cx, |core, _, out| core.executor_message(msg, from, out));
    }
}

// From schedulers.

impl Handle<Subscribe> for Master {
    fn handle(&mut self, msg: Subscribe, from: &Pid, cx: &mut Cx<'_, Self>) {
        self.core.count(|m| &m.messages_register_framework);
        if self.ready("Subscribe", from) {
            self.run(cx, |core, now, out| core.subscribe(msg, from, now, out));
        }
    }
}

impl Handle<Accept> for Master {
    fn handle(&mut self, msg: Accept, from: &Pid, cx: &mut Cx<'_, Self>) {
        self.run(cx, |core, _, out| core.accept(msg, from, out));
    }
}

impl Handle<Decline> for Master {
    fn handle(&mut self, msg: Decline, from: &Pid, cx: &mut Cx<'_, Self>) {
        self.run(cx, |core, _, out| core.decline(msg, from, out));
    }
}

impl Handle<Revive> for Master {
    fn handle(&mut self, msg: Revive, from: &Pid, cx: &mut Cx<'_, Self>) {
        self.run(cx, |core, _, out| core.revive(msg, from, out));
    }
}

impl Handle<Suppress> for Master {
    fn handle(&mut self, msg: Suppress, from: &Pid, cx: &mut Cx<'_, Self>) {
        self.run(cx, |core, _, out| core.suppress(msg, from, out));
    }
}

impl Handle<Kill> for Master {
    fn handle(&mut self, msg: Kill, from: &Pid, cx: &mut Cx<'_, Self>) {
        self.run(cx, |core, _, out| core.kill(msg, from, out));
    }
}

impl Handle<Acknowledge> for Master {
    fn handle(&mut self, msg: Acknowledge, from: &Pid, cx: &mut Cx<'_, Self>) {
        self.run(cx, |core, _, out| core.acknowledge(msg, from, out));
    }
}

impl Handle<Reconcile> for Master {
    fn handle(&mut self, msg: Reconcile, from: &Pid, cx: &mut Cx<'_, Self>) {
        self.run(cx, |core, _, out| core.reconcile(msg, from, out));
    }
}

impl Handle<SendFrameworkMessage> for Master {
    fn handle(&mut self, msg: SendFrameworkMessage, from: &Pid, cx: &mut Cx<'_, Self>) {
        self.run(cx, |core, _, out| core.framework_message(msg, from, out));
    }
}

impl Handle<Teardown> for Master {
    fn handle(&mut self, msg: Teardown, from: &Pid, cx: &mut Cx<'_, Self>) {
        self.run(cx, |core, now, out| core.teardown(msg, from, now, out));
    }
}

impl Handle<Deactivate> for Master {
    fn handle(&mut self, msg: Deactivate, from: &Pid, cx: &mut Cx<'_, Self>) {
        self.run(cx, |core, _, out| core.deactivate(msg, from, out));
    }
}

impl Handle<StreamClosed> for Master {
    fn handle(&mut self, msg: StreamClosed, _: &Pid, cx: &mut Cx<'_, Self>) {
        self.http_stream_closed(&msg.pid, cx);
    }
}

impl Handle<HeartbeatTick> for Master {
    fn handle(&mut self, _: HeartbeatTick, _: &Pid, cx: &mut Cx<'_, Self>) {
        let beat = wire::v1::scheduler::Event::heartbeat();
        let state = self.core.state();
        let closed: Vec<String> = self
            .http_streams
            .iter()
            .inspect(|(pid, _)| {
                if let Some(f) = state.framework_by_pid(pid) {
                    f.metrics.event("heartbeat");
                }
            })
            .filter(|(_, s)| !s.send(&beat))
            .map(|(pid, _)| pid.clone())
            .collect();
        for pid in closed {
            self.http_stream_closed(&pid, cx);
        }
        cx.delay(HEARTBEAT_INTERVAL, HeartbeatTick);
    }
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
        self.run(cx, |core, _, out| core.recovery_timers(out));
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

impl Handle<PingTick> for Master {
    fn handle(&mut self, _: PingTick, _: &Pid, cx: &mut Cx<'_, Self>) {
        self.run(cx, |core, now, out| core.ping_agents(now, out));
    }
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

impl Handle<ReregisterTimeout> for Master {
    fn handle(&mut self, _: ReregisterTimeout, _: &Pid, cx: &mut Cx<'_, Self>) {
        self.run(cx, |core, now, out| core.reregister_timeout(now, out));
    }
}

impl Handle<RemovalPermit> for Master {
    fn handle(&mut self, _: RemovalPermit, _: &Pid, cx: &mut Cx<'_, Self>) {
        self.run(cx, |core, now, out| core.removal_permit(now, out));
    }
}

impl Handle<PruneRegistry> for Master {
    fn handle(&mut self, _: PruneRegistry, _: &Pid, cx: &mut Cx<'_, Self>) {
        self.run(cx, |core, now, out| core.prune_registry(now, out));
    }
}

// From the election (ZooKeeper contender and detector).

impl Handle<Elected> for Master {
    fn handle(&mut self, _: Elected, _: &Pid, cx: &mut Cx<'_, Self>) {
        if !self.phase.elected() {
            self.become_leader(cx);
        }
    }
}

impl Handle<LostCandidacy> for Master {
    fn handle(&mut self, _: LostCandidacy, _: &Pid, cx: &mut Cx<'_, Self>) {
        self.candidacy = None;
        if self.phase.elected() {
            // Mesos's master exits here ("Lost candidacy as a leader"): two
            // masters must never both act as leader, and a supervisor
            // restarts this one as a contender.
            self.exit(1, "lost candidacy as the leading master", cx);
        } else {
            tracing::warn!("lost candidacy while not leading; contending again");
            cx.delay(CONTEND_RETRY, ContendAgain);
        }
    }
}

impl Handle<Contend> for Master {
    fn handle(&mut self, msg: Contend, _: &Pid, cx: &mut Cx<'_, Self>) {
        self.contender = Some(msg.contender);
        self.contend(cx);
    }
}

impl Handle<ContendAgain> for Master {
    fn handle(&mut self, _: ContendAgain, _: &Pid, cx: &mut Cx<'_, Self>) {
        if !self.phase.elected() && self.candidacy.is_none() {
            self.contend(cx);
        }
    }
}

impl Handle<LeaderChanged> for Master {
    fn handle(&mut self, LeaderChanged(leader): LeaderChanged, _: &Pid, cx: &mut Cx<'_, Self>) {
        let me = self.core.info().id.clone();
        if self.phase.elected() && leader.as_ref().is_some_and(|l| l.id != me) {
            return self.exit(1, "another master leads (conceded leadership)", cx);
        }
        if let Phase::Contending {
            leader: known,
            held,
            ..
        } = &mut self.phase
        {
            tracing::info!(leader = ?leader.as_ref().map(|l| &l.pid), "leading master changed");
            let leads = leader.as_ref().is_some_and(|l| l.id == me);
            *known = leader;
            if !leads {
                // Held on the promise of leading, which another master got.
                *held = Default::default();
            }
        }
    }
}
