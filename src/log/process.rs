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
//! `log/ensemble_size`, under an optional prefix, on the node's metrics.//!
//! | file | owns |
//! |---|---|
//! | `process/replica_process.rs` | [`ReplicaProcess`] and its [`Query`] interface |
//! | `process/log_process.rs` | [`LogProcess`] and its [`LogConfig`] |
//! | `process/handle.rs` | [`Log`], the handle to a [`LogProcess`] |

use std::time::Duration;

use actors::SpawnError;
use tokio::sync::oneshot;

use super::coordinator::CoordinatorError;
use super::replica::ReplicaError;

mod handle;
mod log_process;
mod replica_process;

pub use handle::Log;
pub use log_process::{LogConfig, LogProcess};
pub use replica_process::{Answer, Query, QueryKind, ReplicaProcess, Summary};

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

/// Where the result of a call goes.
pub type ReplyTo<T> = oneshot::Sender<Result<T, LogError>>;
