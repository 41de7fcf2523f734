//! Leader election and leader detection through ZooKeeper, in Mesos's
//! layout, so Mesos's own masters, agents and frameworks (and pymesos,
//! which reads the alphabetically first child) interoperate with ours.
//!
//! | Mesos | here |
//! |---|---|
//! | `src/zookeeper/url.cpp`, `MasterDetector::create` | [`url`]: `zk://`, `file://`, `host:port` |
//! | `src/zookeeper/group.cpp` | `group.rs`: sessions, members, the leader |
//! | `src/master/contender/zookeeper.cpp`, standalone contender | [`contender`]: [`MasterContender`], [`Candidacy`] |
//! | `src/master/detector/zookeeper.cpp`, standalone detector | [`detector`]: [`MasterDetector`], [`detector_for`] |
//! | `JSON::protobuf(MasterInfo)` | [`entry`]: the member's data |
//!
//! The ZooKeeper layout: under the group's path (created empty with its
//! parents when missing), each master is an ephemeral sequential znode
//! `json.info_<10 digits>` holding its MasterInfo JSON; the smallest
//! sequence leads. Children that are not `<label>_<digits>` (the
//! replicated log's `log_replicas`) are not members.
//!
//! # Sessions
//!
//! Every contender and detector has a session of its own (as in Mesos,
//! where each builds its own group), asking for `--zk_session_timeout`
//! ([`DEFAULT_SESSION_TIMEOUT`]); the server may grant less or more. A
//! session counts as lost when ZooKeeper expires it or when it has been
//! disconnected for the whole granted timeout, which is when ZooKeeper may
//! have expired it without being able to say so.
//!
//! # What a master does with its candidacy
//!
//! As Mesos's master, ours should:
//! - on `Elected`: become the leader (record the election time, recover
//!   the registry);
//! - on `LostCandidacy` while leading: **exit**, logging
//!   `Lost candidacy as a leader ... committing suicide!` as Mesos does.
//!   Another master may already lead, and a process that kept its in-memory
//!   state as leader could act on stale state; a supervisor (systemd,
//!   Marathon) restarts it as a fresh candidate. This module leaves the exit
//!   to the master: it only reports;
//! - on `LostCandidacy` while not leading: call [`MasterContender::contend`]
//!   again;
//! - when its detector reports a leader other than itself while it leads:
//!   exit too (Mesos's "Conceded leadership").
//!
//! Agents and schedulers only detect: on `None` they stop trusting the old
//! leader; on `Some(info)` they (re-)register with `info.pid`.
//!
//! # Use from a process on the `actors` runtime
//!
//! Everything here runs as tokio tasks on the runtime current when it is
//! created. Inside a process handler (`started`, for instance) that is the
//! process's own arbiter runtime, so create the detector or candidacy there
//! and turn its reports into messages to the process with
//! `ProcessRef::tell` (or `Node::send_local` to a pid, after
//! `Install::local::<M>()`):
//!
//! ```ignore
//! // In the master's `started(&mut self, cx)`; the master keeps the guard.
//! let (node, me) = (cx.node().clone(), cx.me().clone());
//! let candidacy = contender.contend(&info)?;                 // MasterContender
//! let forwarding = candidacy.forward(move |event| match event {
//!     ContenderEvent::Elected => node.send_local(&me, &me, Elected),
//!     ContenderEvent::LostCandidacy(reason) => { /* tell the master */ }
//! })?;
//!
//! // An agent, a scheduler, or a master watching for other leaders:
//! let detector = detector_for(&flags.master, flags.zk_session_timeout)?;
//! let following = detector.follow(move |leader| {
//!     node.send_local(&to, &to, LeaderDetected { leader })   // Install::local::<LeaderDetected>()
//! })?;
//! ```
//!
//! Outside a process (a binary's `main` inside an actix `System`) the same
//! calls work on the system's runtime. Dropping a [`Candidacy`] or the
//! [`Forwarding`] that owns it withdraws the candidacy at once; dropping a
//! [`MasterDetector`] stops its task and closes its session.

pub mod contender;
pub mod detector;
pub mod entry;
pub(crate) mod group;
pub mod replicas;
pub mod url;

use std::future::Future;
use std::time::Duration;

use tokio::task::JoinHandle;

pub use contender::{Candidacy, ContenderEvent, LostReason, MasterContender};
pub use detector::{detector_for, LeaderDetected, MasterDetector};
pub use entry::{MASTER_CAPABILITIES, MASTER_INFO_JSON_LABEL};
pub use group::SessionLoss;
pub use replicas::ReplicaGroup;
pub use url::{parse_zk_flag, MasterAddress, UrlError, ZkUrl};

/// `--zk_session_timeout`'s default, for masters and agents alike.
pub const DEFAULT_SESSION_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a contender or detector could not start.
#[derive(Debug, thiserror::Error)]
pub enum ZkError {
    #[error(transparent)]
    Url(#[from] UrlError),
    #[error("cannot resolve the master address '{address}': {reason}")]
    Resolve { address: String, reason: String },
    #[error("ZooKeeper contenders and detectors must start inside a tokio runtime")]
    NoRuntime,
}

/// A task forwarding reports to a callback; dropping it stops the task
/// (and withdraws a candidacy it owns). [`Forwarding::detach`] lets it run
/// on its own.
#[must_use = "dropping a Forwarding stops it at once"]
pub struct Forwarding(Option<JoinHandle<()>>);

impl Forwarding {
    fn new(task: JoinHandle<()>) -> Forwarding {
        Forwarding(Some(task))
    }

    /// Lets the task run until its source ends.
    pub fn detach(mut self) {
        self.0 = None;
    }
}

impl Drop for Forwarding {
    fn drop(&mut self) {
        if let Some(task) = self.0.take() {
            task.abort();
        }
    }
}

/// A task that stops when its owner goes away.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Spawns on the current runtime, or says there is none (rather than
/// panicking as `tokio::spawn` would).
fn spawn(task: impl Future<Output = ()> + Send + 'static) -> Result<JoinHandle<()>, ZkError> {
    let runtime = tokio::runtime::Handle::try_current().map_err(|_| ZkError::NoRuntime)?;
    Ok(runtime.spawn(task))
}
