//! [`ReplicaProcess`] (`log-replica(N)`): a [`Replica`] core on the actors
//! runtime. It receives PromiseRequest, WriteRequest, RecoverRequest and
//! LearnedMessage from any node's `log(N)`, and local [`Query`]s from its
//! own log; it answers PromiseResponse, WriteResponse and RecoverResponse
//! to the sender's pid once the work is committed, and a [`Query`] on its
//! reply channel. Disk work runs on tokio's blocking pool (group commit).

use actors::{Cx, Handle, Install, Node, Pid, Process};
use wire::log::{
    LearnedMessage, PromiseRequest, PromiseResponse, RecoverRequest, RecoverResponse, Status,
    WriteRequest, WriteResponse,
};

use crate::log::positions::Positions;
use crate::log::replica::{Replica, ReplicaError};
use crate::log::storage::Storage;

use super::{LogError, ReplyTo};

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
