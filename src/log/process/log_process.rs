//! [`LogProcess`] (`log(N)`): recovers the local replica through a
//! [`Recovery`] core and then, once started, runs the [`Coordinator`]. It
//! sends the cores' PromiseRequest, WriteRequest, RecoverRequest and
//! LearnedMessage to the replicas and feeds back their PromiseResponse,
//! WriteResponse and RecoverResponse; it asks its local replica through
//! [`Query`] and takes the calls of the [`Log`](super::Log) handle.

use std::collections::HashMap;

use actors::metrics::{Counter, Gauge};
use actors::{Cx, Handle, Install, Node, Pid, Process};
use tokio::sync::oneshot;
use wire::log::{PromiseResponse, RecoverResponse, Status, WriteResponse};

use crate::log::coordinator::{self, Coordinator, CoordinatorConfig};
use crate::log::recover::{self, Recovery};
use crate::log::{Outgoing, Request, Timing, To};
use crate::random::{self, Rng};

use super::replica_process::{Answer, Query, QueryKind, Summary};
use super::{LogError, ReplyTo, REASK, RECOVERY_REQUESTS, TICK};

/// How a log runs.
#[derive(Debug, Clone)]
pub struct LogConfig {
    /// Replicas whose agreement decides: more than half of `replicas`.
    pub quorum: usize,
    /// Every replica of the log, the local one included.
    pub replicas: Vec<Pid>,
    /// The replica on this node: recovered first, read from, and asked
    /// for its promise and missing positions.
    pub local: Pid,
    /// Initialise an all-EMPTY log by itself (Mesos's
    /// `--log_auto_initialize`, default true).
    pub auto_initialize: bool,
    /// Write rounds in flight at most.
    pub window: usize,
    /// Positions per write round at most.
    pub max_batch: usize,
    /// Metric names start with this (`"registrar/"` for the master).
    pub metrics_prefix: String,
    pub timing: Timing,
}

impl LogConfig {
    pub fn new(quorum: usize, local: Pid, replicas: Vec<Pid>) -> LogConfig {
        LogConfig {
            quorum,
            replicas,
            local,
            auto_initialize: true,
            window: 4,
            max_batch: 256,
            metrics_prefix: String::new(),
            timing: Timing::default_for_process(),
        }
    }
}

/// A call of [`Log`].
pub(super) enum Call {
    Recovered(ReplyTo<()>),
    Start(ReplyTo<u64>),
    Append(Vec<u8>, ReplyTo<u64>),
    Truncate(u64, ReplyTo<u64>),
    Read {
        from: u64,
        to: u64,
        reply: ReplyTo<Vec<(u64, Vec<u8>)>>,
    },
    Summary(ReplyTo<Summary>),
}

/// Why the log asked its replica something: what to do with the answer.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Ask {
    /// The status recovery starts from.
    RecoveryStart,
    SetStatus {
        status: Status,
        promised: Option<u64>,
    },
    RecoveryMissing {
        from: u64,
        to: u64,
    },
    /// The promise an election must beat.
    Elect,
    ElectionMissing {
        from: u64,
        to: u64,
    },
}

impl Ask {
    fn query(self) -> QueryKind {
        match self {
            Ask::RecoveryStart | Ask::Elect => QueryKind::Summary,
            Ask::SetStatus { status, promised } => QueryKind::Update { status, promised },
            Ask::RecoveryMissing { from, to } | Ask::ElectionMissing { from, to } => {
                QueryKind::Missing { from, to }
            }
        }
    }
}

/// The replica answered an [`Ask`].
struct Answered {
    ask: Ask,
    result: Result<Answer, LogError>,
}

/// Ask again after a failure.
struct Reask {
    ask: Ask,
}

/// The clock of the cores.
struct Tick;

/// Run for election again after losing one.
struct Reelect;

/// The log's writer and recovery driver. See the module docs.
pub struct LogProcess {
    config: LogConfig,
    /// Each replica's index in `config.replicas`.
    index: HashMap<Pid, usize>,
    /// Runs until the local replica votes; then `None`.
    recovery: Option<Recovery>,
    coordinator: Coordinator,
    /// Calls that wait for recovery, oldest first.
    gated: Vec<Call>,
    /// `start` calls waiting for the election to end.
    starting: Vec<ReplyTo<u64>>,
    /// Appends and truncations in the coordinator, by entry id.
    writes: HashMap<u64, ReplyTo<u64>>,
    /// The next entry id.
    next_id: u64,
    rng: Rng,
    recovered: Gauge,
    /// Answers from pids that are not replicas of this log.
    dropped: Counter,
}

impl LogProcess {
    pub fn new(config: LogConfig, node: &Node) -> Result<LogProcess, LogError> {
        let mut replicas = config.replicas.clone();
        if !replicas.contains(&config.local) {
            replicas.push(config.local.clone());
        }
        replicas.sort();
        replicas.dedup();
        if config.quorum == 0 || config.quorum > replicas.len() {
            return Err(LogError::Config(format!(
                "quorum {} with {} replicas",
                config.quorum,
                replicas.len()
            )));
        }
        if config.window == 0 || config.max_batch == 0 {
            return Err(LogError::Config("window and max_batch must be > 0".into()));
        }
        let config = LogConfig { replicas, ..config };
        let index = (0..)
            .zip(&config.replicas)
            .map(|(i, p)| (p.clone(), i))
            .collect();
        let seed = random::seed();
        let n = config.replicas.len();
        let coordinator = Coordinator::new(
            CoordinatorConfig {
                window: config.window,
                max_batch: config.max_batch,
                timing: config.timing,
                ..CoordinatorConfig::new(config.quorum, n)
            },
            random::range(1, RECOVERY_REQUESTS / 2),
            seed,
        );
        let recovery = Recovery::new(
            config.quorum,
            n,
            config.auto_initialize,
            config.timing,
            RECOVERY_REQUESTS + random::range(0, RECOVERY_REQUESTS / 2),
            seed ^ 1,
        );
        let metrics = node.metrics();
        let prefix = &config.metrics_prefix;
        metrics
            .gauge(&format!("{prefix}log/ensemble_size"))
            .set(n as f64);
        let recovered = metrics.gauge(&format!("{prefix}log/recovered"));
        recovered.set(0.0);
        let dropped = metrics.counter(&format!("{prefix}log/dropped_messages"));
        Ok(LogProcess {
            config,
            index,
            recovery: Some(recovery),
            coordinator,
            gated: Vec::new(),
            starting: Vec::new(),
            writes: HashMap::new(),
            next_id: 1,
            rng: Rng::with_seed(seed ^ 2),
            recovered,
            dropped,
        })
    }

    fn is_recovered(&self) -> bool {
        self.recovery.is_none()
    }

    fn ask(&self, ask: Ask, cx: &mut Cx<'_, Self>) {
        let (reply, answer) = oneshot::channel();
        let query = Query {
            kind: ask.query(),
            reply,
        };
        cx.node().send_local(cx.me(), &self.config.local, query);
        cx.defer(
            async move { answer.await.unwrap_or(Err(LogError::ReplicaGone)) },
            move |result| Answered { ask, result },
        );
    }

    fn send(&self, out: Outgoing, cx: &mut Cx<'_, Self>) {
        let send_one = |pid: &Pid, request: Request, cx: &mut Cx<'_, Self>| match request {
            Request::Promise(r) => cx.send(pid, r),
            Request::Write(r) => cx.send(pid, r),
            Request::Learned(r) => cx.send(pid, r),
            Request::Recover(r) => cx.send(pid, r),
        };
        match out.to {
            To::All => {
                for pid in &self.config.replicas {
                    send_one(pid, out.request.clone(), cx);
                }
            }
            To::One(i) => {
                if let Some(pid) = self.config.replicas.get(i) {
                    send_one(pid, out.request, cx);
                }
            }
        }
    }

    /// Carries out what recovery asked for.
    fn drive_recovery(&mut self, cx: &mut Cx<'_, Self>) {
        let Some(recovery) = &mut self.recovery else {
            return;
        };
        for out in recovery.drain() {
            match out {
                recover::Output::Send(o) => self.send(o, cx),
                recover::Output::SetStatus { status, promised } => {
                    tracing::info!(pid = %cx.me(), ?status, "replica status changes");
                    self.ask(Ask::SetStatus { status, promised }, cx);
                }
                recover::Output::QueryMissing { from, to } => {
                    self.ask(Ask::RecoveryMissing { from, to }, cx)
                }
                recover::Output::Recovered => {
                    tracing::info!(pid = %cx.me(), replica = %self.config.local, "replica is voting");
                    self.recovery = None;
                    self.recovered.set(1.0);
                    for call in std::mem::take(&mut self.gated) {
                        self.call(call, cx);
                    }
                    return;
                }
            }
        }
    }

    /// Carries out what the coordinator asked for.
    fn drive_coordinator(&mut self, cx: &mut Cx<'_, Self>) {
        for out in self.coordinator.drain() {
            match out {
                coordinator::Output::Send(o) => self.send(o, cx),
                coordinator::Output::QueryMissing { from, to } => {
                    self.ask(Ask::ElectionMissing { from, to }, cx)
                }
                coordinator::Output::Elected { position } => {
                    tracing::info!(pid = %cx.me(), position, proposal = self.coordinator.proposal(),
                        "elected coordinator of the log");
                    for reply in self.starting.drain(..) {
                        let _ = reply.send(Ok(position));
                    }
                }
                coordinator::Output::NotElected(error) => {
                    tracing::info!(pid = %cx.me(), %error, "not elected; trying again");
                    let t = self.config.timing.backoff;
                    let wait = TICK * self.rng.range(t, 2 * t).max(1) as u32;
                    cx.delay(wait, Reelect);
                }
                coordinator::Output::Written { id, position } => {
                    if let Some(reply) = self.writes.remove(&id) {
                        let _ = reply.send(Ok(position));
                    }
                }
                coordinator::Output::Failed { id, error } => {
                    if let Some(reply) = self.writes.remove(&id) {
                        let _ = reply.send(Err(error.into()));
                    }
                }
            }
        }
    }

    fn call(&mut self, call: Call, cx: &mut Cx<'_, Self>) {
        let gated = matches!(
            call,
            Call::Recovered(_) | Call::Start(_) | Call::Read { .. }
        );
        if gated && !self.is_recovered() {
            self.gated.push(call);
            return;
        }
        match call {
            Call::Recovered(reply) => {
                let _ = reply.send(Ok(()));
            }
            Call::Start(reply) => {
                self.starting.push(reply);
                if !self.coordinator.is_electing() {
                    self.ask(Ask::Elect, cx);
                }
            }
            Call::Append(bytes, reply) => {
                let id = self.entry(reply);
                self.coordinator.append(id, bytes);
                self.drive_coordinator(cx);
            }
            Call::Truncate(to, reply) => {
                let id = self.entry(reply);
                self.coordinator.truncate(id, to);
                self.drive_coordinator(cx);
            }
            Call::Read { from, to, reply } => {
                self.forward(QueryKind::Entries { from, to }, reply, cx, |a| match a {
                    Answer::Entries(e) => Some(e),
                    _ => None,
                });
            }
            Call::Summary(reply) => {
                self.forward(QueryKind::Summary, reply, cx, |a| match a {
                    Answer::Summary(s) => Some(s),
                    _ => None,
                });
            }
        }
    }

    /// Asks the local replica and hands its answer straight to the caller.
    fn forward<T: Send + 'static>(
        &self,
        kind: QueryKind,
        reply: ReplyTo<T>,
        cx: &mut Cx<'_, Self>,
        pick: impl FnOnce(Answer) -> Option<T> + Send + 'static,
    ) {
        let (tx, rx) = oneshot::channel();
        cx.node()
            .send_local(cx.me(), &self.config.local, Query { kind, reply: tx });
        actix::spawn(async move {
            let result = match rx.await {
                Ok(Ok(answer)) => pick(answer).ok_or(LogError::Replica("wrong answer".into())),
                Ok(Err(e)) => Err(e),
                Err(_) => Err(LogError::ReplicaGone),
            };
            let _ = reply.send(result);
        });
    }

    fn entry(&mut self, reply: ReplyTo<u64>) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.writes.insert(id, reply);
        id
    }

    fn replica_index(&self, from: &Pid) -> Option<usize> {
        let i = self.index.get(from).copied();
        if i.is_none() {
            self.dropped.inc();
            tracing::warn!(%from, "dropping a log answer from a pid that is not a replica");
        }
        i
    }
}

impl Process for LogProcess {
    fn install(i: &mut Install<Self>) {
        i.message::<PromiseResponse>()
            .message::<WriteResponse>()
            .message::<RecoverResponse>()
            .local::<Call>();
    }

    fn started(&mut self, cx: &mut Cx<'_, Self>) {
        self.ask(Ask::RecoveryStart, cx);
        cx.delay(TICK, Tick);
    }
}

impl Handle<Call> for LogProcess {
    fn handle(&mut self, call: Call, _from: &Pid, cx: &mut Cx<'_, Self>) {
        self.call(call, cx);
    }
}

impl Handle<PromiseResponse> for LogProcess {
    fn handle(&mut self, resp: PromiseResponse, from: &Pid, cx: &mut Cx<'_, Self>) {
        let Some(i) = self.replica_index(from) else {
            return;
        };
        match &mut self.recovery {
            Some(r) if resp.request >= RECOVERY_REQUESTS => {
                r.on_promise_response(i, &resp);
                self.drive_recovery(cx);
            }
            _ => {
                self.coordinator.on_promise_response(i, &resp);
                self.drive_coordinator(cx);
            }
        }
    }
}

impl Handle<WriteResponse> for LogProcess {
    fn handle(&mut self, resp: WriteResponse, from: &Pid, cx: &mut Cx<'_, Self>) {
        let Some(i) = self.replica_index(from) else {
            return;
        };
        match &mut self.recovery {
            Some(r) if resp.request >= RECOVERY_REQUESTS => {
                r.on_write_response(i, &resp);
                self.drive_recovery(cx);
            }
            _ => {
                self.coordinator.on_write_response(i, &resp);
                self.drive_coordinator(cx);
            }
        }
    }
}

impl Handle<RecoverResponse> for LogProcess {
    fn handle(&mut self, resp: RecoverResponse, from: &Pid, cx: &mut Cx<'_, Self>) {
        let Some(i) = self.replica_index(from) else {
            return;
        };
        if let Some(r) = &mut self.recovery {
            r.on_recover_response(i, &resp);
            self.drive_recovery(cx);
        }
    }
}

impl Handle<Answered> for LogProcess {
    fn handle(&mut self, Answered { ask, result }: Answered, _from: &Pid, cx: &mut Cx<'_, Self>) {
        let answer = match result {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(pid = %cx.me(), error = %e, ?ask, "the local replica did not answer; asking again");
                cx.delay(REASK, Reask { ask });
                return;
            }
        };
        match (ask, answer) {
            (Ask::RecoveryStart, Answer::Summary(s)) => {
                if let Some(r) = &mut self.recovery {
                    r.start(s.status);
                }
                self.drive_recovery(cx);
            }
            (Ask::SetStatus { status, .. }, Answer::Summary(_)) => {
                if let Some(r) = &mut self.recovery {
                    r.on_status_set(status);
                }
                self.drive_recovery(cx);
            }
            (Ask::RecoveryMissing { .. }, Answer::Missing(m)) => {
                if let Some(r) = &mut self.recovery {
                    r.on_missing(m);
                }
                self.drive_recovery(cx);
            }
            (Ask::Elect, Answer::Summary(s)) => {
                self.coordinator.elect(s.promised);
                self.drive_coordinator(cx);
            }
            (Ask::ElectionMissing { .. }, Answer::Missing(m)) => {
                self.coordinator.on_missing(m);
                self.drive_coordinator(cx);
            }
            (ask, answer) => {
                tracing::error!(?ask, ?answer, "the replica answered another question");
            }
        }
    }
}

impl Handle<Reask> for LogProcess {
    fn handle(&mut self, Reask { ask }: Reask, _from: &Pid, cx: &mut Cx<'_, Self>) {
        self.ask(ask, cx);
    }
}

impl Handle<Reelect> for LogProcess {
    fn handle(&mut self, _: Reelect, _from: &Pid, cx: &mut Cx<'_, Self>) {
        if !self.starting.is_empty() && !self.coordinator.is_electing() {
            self.ask(Ask::Elect, cx);
        }
    }
}

impl Handle<Tick> for LogProcess {
    fn handle(&mut self, _: Tick, _from: &Pid, cx: &mut Cx<'_, Self>) {
        if let Some(r) = &mut self.recovery {
            r.tick();
            self.drive_recovery(cx);
        } else {
            self.coordinator.tick();
            self.drive_coordinator(cx);
        }
        cx.delay(TICK, Tick);
    }
}
