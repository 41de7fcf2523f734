//! The replicated log of the masters (Mesos's `src/log`): Multi-Paxos over
//! a static set of replicas, used by the registrar to store the registry.
//!
//! ```text
//! registrar ── Log (handle) ──► log(N) ─┬─ Recovery  (recover.rs)   until the replica votes
//!                                       ├─ Coordinator (coordinator.rs): elect, append, truncate
//!                                       │        │ PromiseRequest / WriteRequest / LearnedMessage
//!                                       ▼        ▼
//!                         log-replica(N) here and on the other masters (replica.rs over storage.rs)
//! ```
//!
//! The consensus logic is I/O-free, in the manner of raft-rs: the
//! [`Replica`], [`Coordinator`] and [`Recovery`] cores take messages and
//! ticks in and hand back what to send; [`process`] puts them on the actors
//! runtime and the simulation (`sim.rs`, tests only) drives them through a
//! network that loses, duplicates, reorders and delays messages. Their
//! jitter comes from a seeded [`crate::random::Rng`] given at construction,
//! so one seed replays one simulated run.
//!
//! Messages: `log-replica(N)` receives PromiseRequest, WriteRequest,
//! RecoverRequest and LearnedMessage (`wire::log`) from any master's
//! `log(N)` and answers PromiseResponse, WriteResponse and RecoverResponse;
//! `log(N)` sends those requests and receives those answers, and takes the
//! registrar's local calls (start, append, truncate, read) through [`Log`].
//!
//! | Mesos | here |
//! |---|---|
//! | `replica.cpp` (`ReplicaProcess`) | [`replica`] (core), [`process::ReplicaProcess`] (`process/replica_process.rs`) |
//! | `leveldb.cpp` (`LevelDBStorage`) | [`storage::RedbStorage`]; [`storage::MemStorage`] for tests |
//! | `coordinator.cpp` | [`coordinator`] |
//! | `consensus.cpp` (promise, write, fill), `catchup.cpp` | [`consensus`] |
//! | `recover.cpp` | [`recover`] |
//! | `log.cpp` (`LogProcess`, reader, writer), `network.hpp` | [`process::LogProcess`] (`process/log_process.rs`), [`process::Log`] (`process/handle.rs`) |

pub mod consensus;
pub mod coordinator;
pub mod positions;
pub mod process;
pub mod recover;
pub mod replica;
#[cfg(test)]
mod sim;
pub mod storage;

pub use coordinator::{Coordinator, CoordinatorConfig, CoordinatorError};
pub use positions::Positions;
pub use process::{Log, LogConfig, LogError, ReplicaProcess};
pub use recover::Recovery;
pub use replica::{Replica, ReplicaError};
pub use storage::{MemStorage, RedbStorage, Storage, StorageError};

use wire::log::{LearnedMessage, PromiseRequest, RecoverRequest, WriteRequest};

/// Which replicas a request goes to: indices into the log's list of
/// replicas, the same list on every core of one log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum To {
    All,
    One(usize),
}

/// A request a core wants sent to replicas.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    Promise(PromiseRequest),
    Write(WriteRequest),
    Learned(LearnedMessage),
    Recover(RecoverRequest),
}

/// A request and where it goes.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    pub to: To,
    pub request: Request,
}

/// The time constants of the cores, in ticks of the driver's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// A request without a quorum of answers after this long goes again to
    /// the replicas that have not answered (lost messages, dead peers).
    pub resend: u64,
    /// A contended fill retries with a higher proposal after a random wait
    /// in `[backoff, 2·backoff)` (Mesos: T = 100 ms), so that one proposer
    /// usually wins before the others wake.
    pub backoff: u64,
    /// A recover round without a result is started again after this long
    /// (Mesos: 10 s).
    pub recover_timeout: u64,
    /// A recover round that heard everyone and could not decide is run
    /// again after a random wait in `[retry, 2·retry)` (Mesos: 500 ms).
    pub recover_retry: u64,
}

impl Timing {
    /// The process's constants for a tick of [`process::TICK`] (50 ms).
    pub const fn default_for_process() -> Timing {
        Timing {
            resend: 20,
            backoff: 2,
            recover_timeout: 200,
            recover_retry: 10,
        }
    }
}

impl Default for Timing {
    fn default() -> Self {
        Timing::default_for_process()
    }
}

/// Request numbers of one asker: unique per asker, so an answer finds its
/// request and an answer to a finished one is dropped.
#[derive(Debug, Clone)]
pub struct RequestIds {
    /// The next number to hand out.
    next: u64,
}

impl RequestIds {
    pub fn starting_at(first: u64) -> RequestIds {
        RequestIds { next: first }
    }

    pub fn next_id(&mut self) -> u64 {
        let id = self.next;
        self.next = self.next.wrapping_add(1);
        id
    }
}
