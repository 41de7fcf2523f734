//! `disk/du` (and its older name `posix/disk`): every
//! `--container_disk_watch_interval` the sandbox is measured with
//! `du -k -s`; the result is the container's `disk_used_bytes`, and with
//! `--enforce_container_disk_quota` a sandbox over its `disk` resource
//! ends the container with a disk [`Limitation`].
//!
//! Mesos counterpart: `slave/containerizer/mesos/isolators/posix/disk.cpp`
//! (`DiskUsageCollector`, the message "Disk usage (...) exceeds quota
//! (...)").

use std::collections::HashMap;
use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wire::ids::ContainerId;
use wire::resources::Resources;

use super::{bytes_text, megabytes, Isolator, LimitKind, Limitation, Watched};
use crate::container::cgroups::Cgroup;
use crate::container::proc::Usage;

/// What is known of one container's disk.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Disk {
    /// The last `du` result, once one was taken.
    used: Option<u64>,
    /// Its `disk` resource in bytes; none if it was given none.
    limit: Option<u64>,
}

/// `disk/du`.
#[derive(Debug)]
pub struct DiskDu {
    name: &'static str,
    interval: Duration,
    enforce: bool,
    /// Every prepared container's disk, until cleaned up.
    disks: Arc<Mutex<HashMap<ContainerId, Disk>>>,
}

impl DiskDu {
    /// Under `name` (`disk/du` or `posix/disk`), measuring every
    /// `interval`, killing containers over their disk if `enforce`.
    pub fn new(name: &'static str, interval: Duration, enforce: bool) -> DiskDu {
        DiskDu {
            name,
            interval,
            enforce,
            disks: Arc::default(),
        }
    }

    fn set_limit(&self, id: &ContainerId, resources: &Resources) {
        let disk = resources.scalar("disk");
        let limit = (disk > 0.0).then(|| megabytes(disk));
        if let Ok(mut disks) = self.disks.lock() {
            disks.entry(id.clone()).or_default().limit = limit;
        }
    }
}

/// The bytes `du -k -s` printed (its first field is KiB).
pub fn parse_du(output: &str) -> Option<u64> {
    let kib: u64 = output.split_whitespace().next()?.parse().ok()?;
    kib.checked_mul(1024)
}

/// Runs `du -k -s` on `dir`.
async fn du(dir: &Path) -> io::Result<u64> {
    let out = tokio::process::Command::new("du")
        .arg("-k")
        .arg("-s")
        .arg(dir)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .output()
        .await?;
    // du exits 1 when a file vanished while it walked: its sum stands.
    parse_du(&String::from_utf8_lossy(&out.stdout))
        .ok_or_else(|| io::Error::other(format!("du printed no size ({})", out.status)))
}

impl Isolator for DiskDu {
    fn name(&self) -> &'static str {
        self.name
    }

    fn prepare(&self, id: &ContainerId, resources: &Resources) -> io::Result<Vec<Cgroup>> {
        self.set_limit(id, resources);
        Ok(Vec::new())
    }

    fn update(&self, id: &ContainerId, resources: &Resources) -> io::Result<()> {
        self.set_limit(id, resources);
        Ok(())
    }

    fn watch(&self, watched: &Watched) -> Option<tokio::task::JoinHandle<()>> {
        let sandbox = watched.sandbox.clone()?;
        let watched = watched.clone();
        let disks = self.disks.clone();
        let (interval, enforce) = (self.interval, self.enforce);
        Some(tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if watched.ended() {
                    return;
                }
                let used = match du(&sandbox).await {
                    Ok(used) => used,
                    Err(e) => {
                        tracing::debug!(container = %watched.id, "cannot measure the sandbox: {e}");
                        continue;
                    }
                };
                let limit = match disks.lock() {
                    Ok(mut disks) => {
                        let disk = disks.entry(watched.id.clone()).or_default();
                        disk.used = Some(used);
                        disk.limit
                    }
                    Err(_) => None,
                };
                if let Some(limit) = limit.filter(|l| enforce && used > *l) {
                    watched.limit_hit(Limitation {
                        kind: LimitKind::Disk,
                        message: format!(
                            "Disk usage ({}) exceeds quota ({})",
                            bytes_text(used),
                            bytes_text(limit)
                        ),
                    });
                    return;
                }
            }
        }))
    }

    fn usage(&self, id: &ContainerId, usage: &mut Usage) {
        let disk = self
            .disks
            .lock()
            .ok()
            .and_then(|d| d.get(id).copied())
            .unwrap_or_default();
        usage.disk_used_bytes = disk.used;
        usage.disk_limit_bytes = disk.limit;
    }

    fn cleanup(&self, id: &ContainerId) {
        if let Ok(mut disks) = self.disks.lock() {
            disks.remove(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn du_output_is_kibibytes() {
        let cases = [
            ("12\t/var/sandbox\n", Some(12 * 1024)),
            ("0\t.\n", Some(0)),
            ("", None),
            ("du: cannot read\n", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_du(text), want, "{text:?}");
        }
    }

    #[tokio::test]
    async fn a_sandbox_is_measured() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("blob"), vec![7u8; 256 * 1024]).unwrap();
        let used = du(dir.path()).await.unwrap();
        assert!(used >= 256 * 1024, "{used}");
    }
}
