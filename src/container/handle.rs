//! The handle to a launched container: its leader's pid, how it ended,
//! waiting for it, signalling all of it, destroying it (SIGTERM, then
//! SIGKILL after a grace period).
//!
//! A [`Container`] is what its launcher says its [`Scope`] is: the session
//! (or, for [`Grouping::NewGroup`], the process group) its leader heads,
//! found through `/proc` (posix), or a freezer cgroup, whose processes the
//! kernel lists (linux). Signals go to every process in it, and
//! once the leader has exited whatever is left of it is killed: a container
//! never outlives its leader, and dropping the last handle to a running
//! container kills it. The launcher that made the handle reaps the leader.
//! When an isolator saw the container hit a limit, the handle carries that
//! [`Limitation`], set before the exit is published.
//!
//! [`Grouping::NewGroup`]: super::Grouping::NewGroup

use std::io;
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use tokio::sync::watch;

use super::cgroups::Cgroup;
use super::exit::{ExitStatus, WaitError};
use super::isolator::Limitation;
use super::proc::session_members;

/// Where an isolator records the limit a container hit; set once, before
/// the container's exit is published, so that whoever waits sees it.
pub type LimitationCell = Arc<OnceLock<Limitation>>;

/// Which processes make up a container, as its launcher decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Scope {
    /// The session the leader (this pid) heads, found through `/proc`.
    Session(i32),
    /// The process group the leader (this pid) heads.
    Group(i32),
    /// Every process in this (freezer) cgroup.
    Cgroup(Cgroup),
}

impl Scope {
    /// Sends `signal` to every process of the scope. SIGKILL to a cgroup
    /// freezes it first, so that nothing forks out of reach meanwhile.
    pub(super) fn signal(&self, signal: i32) {
        match self {
            Scope::Session(pid) => signal_container(*pid, true, signal),
            Scope::Group(pid) => signal_container(*pid, false, signal),
            Scope::Cgroup(cgroup) => {
                let sent = if signal == libc::SIGKILL {
                    cgroup.kill_all()
                } else {
                    cgroup.signal_all(signal)
                };
                if let Err(e) = sent {
                    if e.kind() != io::ErrorKind::NotFound {
                        tracing::warn!(cgroup = %cgroup.path.display(), "cannot signal the container: {e}");
                    }
                }
            }
        }
    }
}

/// How the leader ended, as its launcher publishes it: `None` while it
/// runs, then `Ok` with its status or `Err` with why that cannot be known.
pub(super) type ExitReceiver = watch::Receiver<Option<Result<ExitStatus, String>>>;

/// A launched process and the session or group it leads. Clones share it.
#[derive(Clone)]
pub struct Container {
    inner: Arc<Inner>,
}

struct Inner {
    /// The leader's pid, which is also the group's (and session's) id.
    pid: i32,
    /// The processes that make up the container.
    scope: Scope,
    /// `Some` once the leader has been reaped.
    exit: ExitReceiver,
    /// The limit the container hit, if one did.
    limitation: LimitationCell,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if self.exit.borrow().is_none() {
            tracing::debug!(
                pid = self.pid,
                "container dropped while running; killing it"
            );
            self.scope.signal(libc::SIGKILL);
        }
    }
}

impl std::fmt::Debug for Container {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Container")
            .field("pid", &self.inner.pid)
            .field("status", &self.try_status())
            .finish()
    }
}

impl Container {
    /// The handle to a container whose leader is `pid`; `exit` becomes
    /// `Some` once the launcher has seen the leader end.
    pub(super) fn new(
        pid: i32,
        scope: Scope,
        exit: ExitReceiver,
        limitation: LimitationCell,
    ) -> Container {
        Container {
            inner: Arc::new(Inner {
                pid,
                scope,
                exit,
                limitation,
            }),
        }
    }

    /// The limit an isolator saw this container hit (which ended it), if
    /// one did. Known by the time [`Container::wait`] returns.
    pub fn limitation(&self) -> Option<Limitation> {
        self.inner.limitation.get().cloned()
    }

    /// A handle that does not keep the container alive (dropping every
    /// strong one still kills it): for watchers that may end it.
    pub fn downgrade(&self) -> WeakContainer {
        WeakContainer(Arc::downgrade(&self.inner))
    }

    /// The leader's OS pid.
    pub fn pid(&self) -> i32 {
        self.inner.pid
    }

    /// How the leader ended, if it has.
    pub fn try_status(&self) -> Option<Result<ExitStatus, WaitError>> {
        self.inner.exit.borrow().as_ref().map(|r| self.to_result(r))
    }

    fn to_result(&self, r: &Result<ExitStatus, String>) -> Result<ExitStatus, WaitError> {
        r.clone().map_err(|reason| WaitError {
            pid: self.inner.pid,
            reason,
        })
    }

    /// Waits until the leader has exited and been reaped. Any number of
    /// waiters may wait at once.
    pub async fn wait(&self) -> Result<ExitStatus, WaitError> {
        let mut rx = self.inner.exit.clone();
        let outcome = match rx.wait_for(Option::is_some).await {
            Ok(done) => done.as_ref().map(|r| self.to_result(r)),
            Err(_) => None,
        };
        outcome.unwrap_or_else(|| {
            Err(WaitError {
                pid: self.inner.pid,
                reason: "its reaper stopped (the runtime shut down)".to_owned(),
            })
        })
    }

    /// Sends `signal` to the leader's process group (`killpg`). Does
    /// nothing once the leader has exited (the container is gone then).
    pub fn signal_group(&self, signal: i32) -> io::Result<()> {
        if self.try_status().is_some() {
            return Ok(());
        }
        // SAFETY: plain system call; the group id is our child's pid, which
        // cannot be reused before the reaper has reaped it.
        if unsafe { libc::killpg(self.inner.pid, signal) } == -1 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::ESRCH) {
                return Err(e);
            }
        }
        Ok(())
    }

    /// Sends `signal` to every process of the container: the leader's group
    /// and, if it leads a session, every other process in that session.
    pub fn signal(&self, signal: i32) {
        if self.try_status().is_none() {
            self.inner.scope.signal(signal);
        }
    }

    /// Stops the container: SIGTERM to all of it, then, if the leader is
    /// still running after `grace`, SIGKILL. Returns once the leader has
    /// exited (how it ended).
    pub async fn destroy(&self, grace: Duration) -> Result<ExitStatus, WaitError> {
        if let Some(done) = self.try_status() {
            return done;
        }
        tracing::debug!(pid = self.inner.pid, ?grace, "destroying container");
        self.signal(libc::SIGTERM);
        if let Ok(done) = tokio::time::timeout(grace, self.wait()).await {
            return done;
        }
        tracing::info!(
            pid = self.inner.pid,
            ?grace,
            "container still running after its grace period; killing it"
        );
        self.signal(libc::SIGKILL);
        self.wait().await
    }
}

/// A [`Container`] that does not keep it alive.
#[derive(Debug, Clone)]
pub struct WeakContainer(Weak<Inner>);

impl WeakContainer {
    /// The container, while some handle to it is held.
    pub fn upgrade(&self) -> Option<Container> {
        self.0.upgrade().map(|inner| Container { inner })
    }
}

/// Signals the group `pid` leads and, with `session`, every process of the
/// session it leads (processes that moved to another group of the session
/// are still part of the container). Errors mean nobody was left to signal.
fn signal_container(pid: i32, session: bool, signal: i32) {
    // SAFETY: plain system calls on ids of processes we launched.
    unsafe {
        libc::killpg(pid, signal);
    }
    if session {
        for member in session_members(pid) {
            // SAFETY: as above.
            unsafe {
                libc::kill(member, signal);
            }
        }
    }
}
