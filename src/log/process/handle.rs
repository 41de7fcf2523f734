//! [`Log`]: the handle the registrar holds on a `log(N)` process; each call
//! is a future of its result.

use actors::{Node, Pid, ProcessRef};
use tokio::sync::oneshot;

use super::log_process::{Call, LogConfig, LogProcess};
use super::replica_process::Summary;
use super::{LogError, ReplyTo};

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
