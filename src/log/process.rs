//! The replicated log on the actors runtime (Mesos's `ReplicaProcess`,
//! `LogProcess`, `LogReaderProcess` and `LogWriterProcess`).
//!
//! - [`ReplicaProcess`] (`log-replica(N)`) hosts a [`Replica`] core. It
//!   receives PromiseRequest, WriteRequest, RecoverRequest and
//!   LearnedMessage from any node, and local [`Query`]s from its log; it
//!   answers PromiseResponse, WriteResponse and RecoverResponse to the
//!   sender's pid. Disk work runs on tokio's blocking pool so the node's
//!   thread never waits on an fsync: while one commit runs, requests queue,
//!   and the next job handles them all and commits once (group commit).
//!   Answers leave only after their commit.
//! - [`LogProcess`] (`log(N)`) recovers the local replica ([`Recovery`])
//!   and then, when asked to start, runs the [`Coordinator`]. It sends the
//!   cores' requests to the replicas and feeds their answers back; it
//!   receives the responses above and the local calls of [`Log`].
//! - [`Log`] is the handle the registrar holds: `start`, `append`,
//!   `truncate`, `read` return futures, to be turned into messages with
//!   `Cx::defer`.
//!
//! The replicas are a static set of pids given at construction (ZooKeeper
//! membership comes later). Metrics: `log/recovered` (1 once VOTING) and
//! `log/ensemble_size`, under an optional prefix, on the node's metrics.

use std::collections::HashMap;
use std::time::Duration;

use actors::metrics::{Counter, Gauge};
use actors::{Cx, Handle, Install, Node, Pid, Process, ProcessRef, SpawnError};
use tokio::sync::oneshot;
use wire::log::{
    LearnedMessage, PromiseRequest, PromiseResponse, RecoverRequest, RecoverResponse, Status,
    WriteRequest, WriteResponse,
};

use crate::random::{self, Rng};

use super::coordinator::{self, Coordinator, CoordinatorConfig, CoordinatorError};
use super::positions::Positions;
use super::recover::{self, Recovery};
use super::replica::{Replica, ReplicaError};
use super::storage::Storage;
use super::{Outgoing, Request, Timing, To};

/// The period of the log's clock: retries and time-outs count these.
pub const TICK: Duration = Duration::from_millis(50);

/// A failed query of the local replica is asked again after this long.
const REASK: Duration = Duration::from_secs(1);

/// Request numbers of recovery are at or above this, the coordinator's
/// below, so an answer to one is never taken for the other's. Each starts
/// at a random point of its half, so answers meant for an earlier
/// incarnation of the same pid find no request.
const RECOVERY_REQUESTS: u64 = 1 << 62;

/// Why a log operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogError {
    #[error(transparent)]
    Coordinator(#[from] CoordinatorError),
    #[error("the local replica failed: {0}")]
    Replica(String),
    #[error("the local replica is gone")]
    ReplicaGone,
    #[error("the log process is gone")]
    LogGone,
    #[error("bad log configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Spawn(#[from] SpawnError),
}

impl From<ReplicaError> for LogError {
    fn from(e: ReplicaError) -> Self {
        LogError::Replica(e.to_string())
    }
}

// ---------------------------------------------------------------------------
// The replica process

/// What the local log asks its replica; the answer comes on `reply`.
pub struct Query {
    pub kind: QueryKind,
    pub reply: ReplyTo<Answer>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum QueryKind {
    Summary,
    Missing {
        from: u64,
        to: u64,
    },
    Entries {
        from: u64,
        to: u64,
    },
    /// Store a status and raise the promise (durably, before answering).
    Update {
        status: Status,
        promised: Option<u64>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Summary(Summary),
    Missing(Positions),
    Entries(Vec<(u64, Vec<u8>)>),
}

/// A replica's state at a glance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub status: Status,
    pub promised: u64,
    pub begin: u64,
    pub end: u64,
}

/// Work for the replica core, in arrival order.
enum Work {
    Promise(Pid, PromiseRequest),
    Write(Pid, WriteRequest),
    Recover(Pid, RecoverRequest),
    Learned(LearnedMessage),
    Query(Query),
}

/// An answer to send once its commit is done.
enum Reply {
    Promise(PromiseResponse),
    Write(WriteResponse),
    Recover(RecoverResponse),
}

/// A job came back from the blocking pool.
struct Processed<S: Storage> {
    core: Replica<S>,
    replies: Vec<(Pid, Reply)>,
}

/// Hosts a replica core. See the module docs.
pub struct ReplicaProcess<S: Storage> {
    /// `None` while a job has the core on the blocking pool.
    core: Option<Replica<S>>,
    /// Work that arrived while the core was away, oldest first.
    inbox: Vec<Work>,
}

impl<S: Storage> ReplicaProcess<S> {
    /// A replica over `storage`, its state read back from it.
    pub fn new(storage: S) -> Result<ReplicaProcess<S>, ReplicaError> {
        Ok(ReplicaProcess {
            core: Some(Replica::open(storage)?),
            inbox: Vec::new(),
        })
    }

    /// Spawns a replica over `storage` as `log-replica(N)` on `node`.
    pub fn spawn(node: &Node, storage: S) -> Result<Pid, LogError> {
        let process = ReplicaProcess::new(storage)?;
        let id = node.generate_id("log-replica");
        Ok(node.spawn(id, process)?.pid().clone())
    }

    fn push(&mut self, work: Work, cx: &mut Cx<'_, Self>) {
        self.inbox.push(work);
        self.kick(cx);
    }

    /// Sends the queued work to the blocking pool if the core is home.
    fn kick(&mut self, cx: &mut Cx<'_, Self>) {
        if self.inbox.is_empty() {
            return;
        }
        let Some(core) = self.core.take() else {
            return;
        };
        let work = std::mem::take(&mut self.inbox);
        cx.defer(
            tokio::task::spawn_blocking(move || run(core, work)),
            |done| done,
        );
    }
}

/// Handles `work` in order, commits once, then answers the local queries;
/// the wire answers go back to the process to be sent.
fn run<S: Storage>(mut core: Replica<S>, work: Vec<Work>) -> Processed<S> {
    let mut replies = Vec::new();
    let mut answers = Vec::new();
    for item in work {
        match item {
            Work::Promise(from, req) => match core.promise(&req) {
                Ok(resp) => replies.push((from, Reply::Promise(resp))),
                Err(e) => tracing::error!(%from, error = %e, "cannot answer a promise request"),
            },
            Work::Write(from, req) => match core.write(&req) {
                Ok(resp) => replies.push((from, Reply::Write(resp))),
                Err(e) => tracing::error!(%from, error = %e, "cannot answer a write request"),
            },
            Work::Recover(from, req) => match core.recover(&req) {
                Ok(resp) => replies.push((from, Reply::Recover(resp))),
                Err(e) => tracing::error!(%from, error = %e, "cannot answer a recover request"),
            },
            Work::Learned(msg) => {
                if let Err(e) = core.learned(&msg) {
                    tracing::error!(error = %e, "cannot record learned actions");
                }
            }
            Work::Query(q) => {
                let answer = answer(&mut core, &q.kind);
                answers.push((q.reply, answer));
            }
        }
    }
    if let Err(e) = core.commit() {
        tracing::error!(error = %e, "replica commit failed; its answers are withheld");
        replies.clear();
        for (reply, _) in answers {
            let _ = reply.send(Err(LogError::Replica(e.to_string())));
        }
        return Processed { core, replies };
    }
    for (reply, answer) in answers {
        let _ = reply.send(answer);
    }
    Processed { core, replies }
}

fn answer<S: Storage>(core: &mut Replica<S>, kind: &QueryKind) -> Result<Answer, LogError> {
    let summary = |core: &Replica<S>| {
        Ok(Answer::Summary(Summary {
            status: core.status().ok_or(ReplicaError::Broken)?,
            promised: core.promised(),
            begin: core.begin(),
            end: core.end(),
        }))
    };
    match kind {
        QueryKind::Summary => summary(core),
        QueryKind::Missing { from, to } => Ok(Answer::Missing(core.missing(*from, *to))),
        QueryKind::Entries { from, to } => Ok(Answer::Entries(core.entries(*from, *to)?)),
        QueryKind::Update { status, promised } => {
            core.update(*status, *promised)?;
            summary(core)
        }
    }
}

impl<S: Storage> Process for ReplicaProcess<S> {
    fn install(i: &mut Install<Self>) {
        i.message::<PromiseRequest>()
            .message::<WriteRequest>()
            .message::<RecoverRequest>()
            .message::<LearnedMessage>()
            .local::<Query>();
    }
}

impl<S: Storage> Handle<PromiseRequest> for ReplicaProcess<S> {
    fn handle(&mut self, req: PromiseRequest, from: &Pid, cx: &mut Cx<'_, Self>) {
        self.push(Work::Promise(from.clone(), req), cx);
    }
}

impl<S: Storage> Handle<WriteRequest> for ReplicaProcess<S> {
    fn handle(&mut self, req: WriteRequest, from: &Pid, cx: &mut Cx<'_, Self>) {
        self.push(Work::Write(from.clone(), req), cx);
    }
}

impl<S: Storage> Handle<RecoverRequest> for ReplicaProcess<S> {
    fn handle(&mut self, req: RecoverRequest, from: &Pid, cx: &mut Cx<'_, Self>) {
        self.push(Work::Recover(from.clone(), req), cx);
    }
}

impl<S: Storage> Handle<LearnedMessage> for ReplicaProcess<S> {
    fn handle(&mut self, msg: LearnedMessage, _from: &Pid, cx: &mut Cx<'_, Self>) {
        self.push(Work::Learned(msg), cx);
    }
}

impl<S: Storage> Handle<Query> for ReplicaProcess<S> {
    fn handle(&mut self, q: Query, _from: &Pid, cx: &mut Cx<'_, Self>) {
        self.push(Work::Query(q), cx);
    }
}

impl<S: Storage> Handle<Result<Processed<S>, tokio::task::JoinError>> for ReplicaProcess<S> {
    fn handle(
        &mut self,
        done: Result<Processed<S>, tokio::task::JoinError>,
        _from: &Pid,
        cx: &mut Cx<'_, Self>,
    ) {
        match done {
            Ok(Processed { core, replies }) => {
                self.core = Some(core);
                for (to, reply) in replies {
                    match reply {
                        Reply::Promise(r) => cx.send(&to, r),
                        Reply::Write(r) => cx.send(&to, r),
                        Reply::Recover(r) => cx.send(&to, r),
                    }
                }
                self.kick(cx);
            }
            Err(e) => {
                // The core went down with the job; without it the replica
                // cannot answer anything, so it stops and its log sees it gone.
                tracing::error!(pid = %cx.me(), error = %e, "replica job failed; stopping");
                cx.stop();
            }
        }
    }
}

// ---------------------------------------------------------------------------
// The log process

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

/// Where the result of a call goes.
pub type ReplyTo<T> = oneshot::Sender<Result<T, LogError>>;

/// A call of [`Log`].
enum Call {
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

// ---------------------------------------------------------------------------
// The handle

/// The registrar's handle to a log: each call is a future of its result.
#[derive(Clone)]
pub struct Log {
    process: ProcessRef<LogProcess>,
}

impl Log {
    /// Spawns the log process `log(N)` on `node`; it starts recovering the
    /// local replica at once.
    pub fn spawn(node: &Node, config: LogConfig) -> Result<Log, LogError> {
        let process = LogProcess::new(config, node)?;
        let id = node.generate_id("log");
        Ok(Log {
            process: node.spawn(id, process)?,
        })
    }

    pub fn pid(&self) -> &Pid {
        self.process.pid()
    }

    async fn call<T>(&self, make: impl FnOnce(ReplyTo<T>) -> Call) -> Result<T, LogError> {
        let (reply, answer) = oneshot::channel();
        self.process.tell(self.process.pid(), make(reply));
        answer.await.unwrap_or(Err(LogError::LogGone))
    }

    /// Resolves once the local replica is VOTING.
    pub async fn recovered(&self) -> Result<(), LogError> {
        self.call(Call::Recovered).await
    }

    /// Recovers, then runs for election until elected (Mesos's
    /// `LogWriter::start`, retried as the registrar does); resolves to the
    /// last position of the log. Bound it with a timeout if needed.
    pub async fn start(&self) -> Result<u64, LogError> {
        self.call(Call::Start).await
    }

    /// Appends `bytes`; resolves to its position once chosen. An error
    /// means demoted (or never elected): the entry may or may not be in
    /// the log, and `start` must be called again.
    pub async fn append(&self, bytes: Vec<u8>) -> Result<u64, LogError> {
        self.call(|reply| Call::Append(bytes, reply)).await
    }

    /// Truncates every position below `to`; resolves to the position of
    /// the truncation itself.
    pub async fn truncate(&self, to: u64) -> Result<u64, LogError> {
        self.call(|reply| Call::Truncate(to, reply)).await
    }

    /// The learned entries in `from..=to` of the local replica, as
    /// `(position, bytes)`; fails if any position in the range is
    /// truncated, missing or not yet learned.
    pub async fn read(&self, from: u64, to: u64) -> Result<Vec<(u64, Vec<u8>)>, LogError> {
        self.call(|reply| Call::Read { from, to, reply }).await
    }

    /// The local replica's status and positions, recovered or not.
    pub async fn summary(&self) -> Result<Summary, LogError> {
        self.call(Call::Summary).await
    }
}
