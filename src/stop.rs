//! Why a process ended, and how its daemon hears it.
//!
//! A process that cannot go on (a master whose registry failed or that
//! lost its leadership, an agent the master shut down) stops itself and
//! says why through the [`StopNotice`] it was built with. It never stops
//! the actix `System`: the daemon that runs it holds the [`StopWatch`] and
//! decides what the reason means for the OS process, its exit code or, in
//! `mesos-local`, whether the other processes of the node go on (see
//! `daemon::serve`).

use actors::Pid;
use tokio::sync::mpsc;

/// Why a process stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    /// The master cannot use its registry: the registrar could not start,
    /// or recovering or writing the registry failed.
    RegistryFailed(String),
    /// A process the master needs (the allocator) could not start.
    StartFailed(String),
    /// After a failover, more admitted agents than
    /// `--recovery_agent_removal_limit` allows did not re-register.
    RemovalLimitExceeded { missing: usize, admitted: usize },
    /// The leading master's candidacy ended (its ZooKeeper session was
    /// lost): it must not go on acting as leader.
    LostLeadership,
    /// Another master leads while this one believed it led.
    ConcededLeadership,
    /// The master told this agent to shut down.
    ShutdownByMaster(String),
    /// `--recover=cleanup`: every recovered executor is gone.
    CleanedUp,
}

impl StopReason {
    /// Whether the process stopped because something went wrong (a
    /// supervisor should restart it), rather than because it was done or
    /// was told to stop.
    pub fn is_failure(&self) -> bool {
        !matches!(
            self,
            StopReason::ShutdownByMaster(_) | StopReason::CleanedUp
        )
    }
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StopReason::RegistryFailed(e) => write!(f, "registry failure: {e}"),
            StopReason::StartFailed(e) => write!(f, "could not start: {e}"),
            StopReason::RemovalLimitExceeded { missing, admitted } => write!(
                f,
                "{missing} of {admitted} admitted agents did not re-register \
                 (over --recovery_agent_removal_limit)"
            ),
            StopReason::LostLeadership => f.write_str("lost candidacy as the leading master"),
            StopReason::ConcededLeadership => f.write_str("another master leads"),
            StopReason::ShutdownByMaster(m) => write!(f, "the master asked to shut down: {m}"),
            StopReason::CleanedUp => f.write_str("recovered executors cleaned up"),
        }
    }
}

/// A process stopped, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stopped {
    pub process: Pid,
    pub reason: StopReason,
}

/// What a process is given to say that it stopped.
#[derive(Clone, Debug)]
pub struct StopNotice {
    tx: mpsc::UnboundedSender<Stopped>,
}

/// What a daemon holds to hear that one of its processes stopped.
#[derive(Debug)]
pub struct StopWatch {
    rx: mpsc::UnboundedReceiver<Stopped>,
}

/// A notice for processes and the watch that hears them; clone the notice
/// for every process of the daemon.
pub fn channel() -> (StopNotice, StopWatch) {
    let (tx, rx) = mpsc::unbounded_channel();
    (StopNotice { tx }, StopWatch { rx })
}

impl StopNotice {
    /// A notice nobody hears: for processes run by tests, which watch the
    /// process itself.
    pub fn unheard() -> StopNotice {
        channel().0
    }

    /// Tells the daemon that `process` stopped for `reason`.
    pub fn stopped(&self, process: &Pid, reason: StopReason) {
        // The daemon going away first is not this process's concern.
        let _ = self.tx.send(Stopped {
            process: process.clone(),
            reason,
        });
    }
}

impl StopWatch {
    /// The next process to stop; `None` once every notice is gone.
    pub async fn next(&mut self) -> Option<Stopped> {
        self.rx.recv().await
    }

    /// A process that has stopped already, without waiting.
    pub fn try_next(&mut self) -> Option<Stopped> {
        self.rx.try_recv().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_stop_reaches_the_watch_with_its_process_and_reason() {
        let (notice, mut watch) = channel();
        let pid: Pid = "master@127.0.0.1:5050".parse().unwrap();
        notice.clone().stopped(&pid, StopReason::LostLeadership);
        let stopped = watch.next().await.unwrap();
        assert_eq!(stopped.process, pid);
        assert_eq!(stopped.reason, StopReason::LostLeadership);
        drop(notice);
        assert_eq!(watch.next().await, None);
    }

    #[test]
    fn only_being_done_or_told_to_stop_is_not_a_failure() {
        let table = [
            (StopReason::RegistryFailed("io".into()), true),
            (StopReason::StartFailed("allocator".into()), true),
            (
                StopReason::RemovalLimitExceeded {
                    missing: 9,
                    admitted: 10,
                },
                true,
            ),
            (StopReason::LostLeadership, true),
            (StopReason::ConcededLeadership, true),
            (StopReason::ShutdownByMaster("bye".into()), false),
            (StopReason::CleanedUp, false),
        ];
        for (reason, failure) in table {
            assert_eq!(reason.is_failure(), failure, "{reason}");
        }
    }

    #[test]
    fn an_unheard_notice_does_not_fail() {
        let pid: Pid = "slave(1)@127.0.0.1:5051".parse().unwrap();
        StopNotice::unheard().stopped(&pid, StopReason::CleanedUp);
    }
}
