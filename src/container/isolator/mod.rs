//! Isolators: each enforces and measures one resource of a container, as
//! `--isolation` names them (Mesos's names). The Mesos containerizer holds
//! the chosen ones; for every container it asks each to [`prepare`] (make
//! its cgroups and set the limits, which the leader joins before exec), to
//! [`update`] when the executor's resources change, to [`watch`] for a
//! limit being hit, to say after the end whether one was ([`finished`]),
//! to add to its [`usage`] and to [`cleanup`].
//!
//! | name | file | Mesos |
//! |---|---|---|
//! | `cgroups/cpu` | `cgroups.rs` | `CgroupsIsolatorProcess` with the cpu and cpuacct subsystems |
//! | `cgroups/mem` | `cgroups.rs` | the memory subsystem, its OOM listener |
//! | `cgroups/pids` | `cgroups.rs` | the pids subsystem (counted, not limited) |
//! | `disk/du` (`posix/disk`) | `disk.rs` | `DiskUsageCollector`, `--enforce_container_disk_quota` |
//! | `posix/cpu`, `posix/mem` | here | usage summed from `/proc`, no enforcement |
//!
//! [`prepare`]: Isolator::prepare
//! [`update`]: Isolator::update
//! [`watch`]: Isolator::watch
//! [`finished`]: Isolator::finished
//! [`usage`]: Isolator::usage
//! [`cleanup`]: Isolator::cleanup

pub mod cgroups;
pub mod disk;

use std::io;
use std::path::PathBuf;

use wire::ids::ContainerId;
use wire::resources::Resources;

use super::cgroups::Cgroup;
use super::handle::{LimitationCell, WeakContainer};
use super::proc::Usage;

/// Which limit a container hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitKind {
    Memory,
    Disk,
}

/// A limit a container hit, which ended it: Mesos's
/// `ContainerLimitation` (the agent turns it into the reason
/// `REASON_CONTAINER_LIMITATION_MEMORY` or `_DISK` of its tasks' end).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limitation {
    pub kind: LimitKind,
    /// What was asked for and what was used, as Mesos words it.
    pub message: String,
}

/// A running container, as a watcher sees it.
#[derive(Debug, Clone)]
pub struct Watched {
    pub id: ContainerId,
    /// Its sandbox (unknown for a recovered container).
    pub sandbox: Option<PathBuf>,
    /// What it was given (empty for a recovered container).
    pub resources: Resources,
    /// The container, to end it once a limit is hit.
    pub container: WeakContainer,
    /// Where the limit hit is recorded, before the container is killed.
    pub limitation: LimitationCell,
}

impl Watched {
    /// Records `limitation` (unless one already is) and kills the
    /// container: its end then carries it.
    pub fn limit_hit(&self, limitation: Limitation) {
        tracing::info!(container = %self.id, "{}", limitation.message);
        let _ = self.limitation.set(limitation);
        if let Some(container) = self.container.upgrade() {
            container.signal(libc::SIGKILL);
        }
    }

    /// Whether the container has ended (or every handle to it is gone).
    pub fn ended(&self) -> bool {
        self.container
            .upgrade()
            .is_none_or(|c| c.try_status().is_some())
    }
}

/// One `--isolation` entry.
pub trait Isolator: std::fmt::Debug + Send + Sync {
    /// The name `--isolation` gives it.
    fn name(&self) -> &'static str;

    /// Makes container `id`'s part ready before its leader runs, limited
    /// to `resources`; returns the cgroups the leader is to join.
    fn prepare(&self, id: &ContainerId, resources: &Resources) -> io::Result<Vec<Cgroup>> {
        let _ = (id, resources);
        Ok(Vec::new())
    }

    /// The container's resources changed (a task joined its executor).
    fn update(&self, id: &ContainerId, resources: &Resources) -> io::Result<()> {
        let _ = (id, resources);
        Ok(())
    }

    /// Starts watching a running container for a limit being hit; the
    /// task ends by itself once the container has.
    fn watch(&self, watched: &Watched) -> Option<tokio::task::JoinHandle<()>> {
        let _ = watched;
        None
    }

    /// After the container's processes are all gone: a limit it hit that
    /// no watcher reported (e.g. an out-of-memory kill seen only in the
    /// counters).
    fn finished(&self, id: &ContainerId) -> Option<Limitation> {
        let _ = id;
        None
    }

    /// Adds what this isolator measures of container `id` to `usage`.
    fn usage(&self, id: &ContainerId, usage: &mut Usage) {
        let _ = (id, usage);
    }

    /// Removes what [`Isolator::prepare`] made, once the container's
    /// processes are gone.
    fn cleanup(&self, id: &ContainerId) {
        let _ = id;
    }

    /// Removes what this isolator has of containers not in `known`
    /// (after the launcher killed their processes). Blocks.
    fn kill_orphans(&self, known: &[ContainerId]) {
        let _ = known;
    }
}

/// `posix/cpu` and `posix/mem`: no enforcement; the container's usage is
/// read from `/proc` by the containerizer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Posix(pub &'static str);

impl Isolator for Posix {
    fn name(&self) -> &'static str {
        self.0
    }
}

/// Bytes in `mb` megabytes, as Mesos's `Megabytes`.
pub fn megabytes(mb: f64) -> u64 {
    (mb.max(0.0) * 1024.0 * 1024.0) as u64
}

/// `bytes` as Mesos prints a `Bytes` value: in the largest unit that
/// loses nothing (`64MB`, `1GB`, `66048KB`, `100B`).
pub fn bytes_text(bytes: u64) -> String {
    const UNITS: &[(u64, &str)] = &[
        (1 << 40, "TB"),
        (1 << 30, "GB"),
        (1 << 20, "MB"),
        (1 << 10, "KB"),
    ];
    UNITS
        .iter()
        .find(|(size, _)| bytes >= *size && bytes % size == 0)
        .map(|(size, unit)| format!("{}{unit}", bytes / size))
        .unwrap_or_else(|| format!("{bytes}B"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_counts_print_as_mesos_prints_them() {
        let cases = [
            (64 << 20, "64MB"),
            (1 << 30, "1GB"),
            (512 << 10, "512KB"),
            (100, "100B"),
            (0, "0B"),
            ((64 << 20) + (512 << 10), "66048KB"),
            (1000, "1000B"),
        ];
        for (bytes, text) in cases {
            assert_eq!(bytes_text(bytes), text, "{bytes}");
        }
        assert_eq!(megabytes(64.0), 64 << 20);
        assert_eq!(megabytes(-1.0), 0);
    }
}
