//! Garbage collection of finished sandboxes (Mesos's `GarbageCollector`,
//! driven by `--gc_delay`, `--gc_disk_headroom` and
//! `--disk_watch_interval`).
//!
//! Every `--disk_watch_interval` the agent sweeps
//! `<work_dir>/slaves/*/frameworks/*/executors/*/runs/*`: a run directory
//! that no executor the agent still holds uses, and that has not changed
//! for the allowed age, is removed; so are `latest` links left pointing at
//! nothing, and executor and framework directories left empty. The allowed
//! age is Mesos's: `gc_delay * max(0, 1 - gc_disk_headroom - disk usage)`,
//! so a filling disk shortens it down to nothing.
//!
//! The sweep does file system work and runs off the agent's thread; the
//! agent hands it the sandboxes to keep.
//!
//! The agent's handlers for it live here too: it sends itself [`GcTick`]
//! every `--disk_watch_interval`, and receives [`GcDone`] when a sweep
//! ended.

use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use actors::{Cx, Handle, Install, Pid};

use super::process::Agent;
use crate::container::LATEST;

/// Time to sweep finished sandboxes (`--disk_watch_interval`).
pub struct GcTick;

/// A sweep ended: what it removed, and the age it allowed.
pub struct GcDone {
    swept: Swept,
    max_age: Duration,
}

impl Agent {
    /// Installs the sweep's messages on the agent.
    pub(super) fn install_gc(i: &mut Install<Agent>) {
        i.local::<GcTick>().local::<GcDone>();
    }

    /// Sweeps once `--disk_watch_interval` has passed.
    pub(super) fn schedule_gc(&self, cx: &mut Cx<'_, Agent>) {
        cx.delay(self.flags.disk_watch_interval, GcTick);
    }
}

impl Handle<GcTick> for Agent {
    fn handle(&mut self, _: GcTick, _: &Pid, cx: &mut Cx<'_, Self>) {
        // Every sandbox of an executor the agent still holds stays, live or
        // not: its updates may still be pending.
        let keep: HashSet<PathBuf> = self
            .frameworks
            .values()
            .flat_map(|f| f.executors().values())
            .map(|e| e.directory().to_path_buf())
            .collect();
        let work_dir = self.flags.work_dir.clone();
        let (delay, headroom) = (self.flags.gc_delay, self.flags.gc_disk_headroom);
        cx.defer(
            async move {
                tokio::task::spawn_blocking(move || {
                    let usage = disk_usage(&work_dir).unwrap_or(0.0);
                    let max_age = max_age(delay, headroom, usage);
                    let swept = sweep(&work_dir.join("slaves"), &keep, max_age, SystemTime::now());
                    (swept, max_age)
                })
                .await
                .unwrap_or_default()
            },
            |(swept, max_age)| GcDone { swept, max_age },
        );
    }
}

impl Handle<GcDone> for Agent {
    fn handle(&mut self, done: GcDone, _: &Pid, cx: &mut Cx<'_, Self>) {
        if let Some(m) = &self.metrics {
            m.executor_directory_max_allowed_age_secs
                .set(done.max_age.as_secs_f64());
        }
        for run in &done.swept.runs {
            tracing::info!(sandbox = %run.display(), "removed a finished sandbox");
        }
        for e in &done.swept.errors {
            tracing::warn!("cannot remove a finished sandbox: {e}");
        }
        self.schedule_gc(cx);
    }
}

/// How long a finished sandbox may stay: `gc_delay` scaled down by how
/// full the disk is (`usage`, 0 to 1), as Mesos computes it.
pub fn max_age(gc_delay: Duration, headroom: f64, usage: f64) -> Duration {
    let factor = (1.0 - headroom - usage).clamp(0.0, 1.0);
    gc_delay.mul_f64(factor)
}

/// The used fraction (0 to 1) of the file system holding `path`.
pub fn disk_usage(path: &Path) -> Option<f64> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs writes into the zeroed struct we own and reads the
    // NUL-terminated path.
    let mut buf: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c_path.as_ptr(), &mut buf) } != 0 || buf.f_blocks == 0 {
        return None;
    }
    let total = buf.f_blocks as f64;
    Some((total - buf.f_bfree as f64) / total)
}

/// What one sweep removed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Swept {
    pub runs: Vec<PathBuf>,
    pub errors: Vec<String>,
}

/// Removes, under `slaves` (`<work_dir>/slaves`), the run directories not
/// in `keep` whose latest change is older than `max_age` at `now`, then
/// dangling `latest` links and empty executor and framework directories.
pub fn sweep(slaves: &Path, keep: &HashSet<PathBuf>, max_age: Duration, now: SystemTime) -> Swept {
    let mut swept = Swept::default();
    for agent in dirs(slaves) {
        let frameworks = agent.join("frameworks");
        for framework in dirs(&frameworks) {
            let executors = framework.join("executors");
            for executor in dirs(&executors) {
                let runs = executor.join("runs");
                for run in dirs(&runs) {
                    if keep.contains(&run) {
                        continue;
                    }
                    let old = last_change(&run)
                        .and_then(|t| now.duration_since(t).ok())
                        .is_some_and(|age| age >= max_age);
                    if !old {
                        continue;
                    }
                    match std::fs::remove_dir_all(&run) {
                        Ok(()) => swept.runs.push(run),
                        Err(e) => swept.errors.push(format!("{}: {e}", run.display())),
                    }
                }
                let latest = runs.join(LATEST);
                if latest.is_symlink() && !latest.exists() {
                    let _ = std::fs::remove_file(&latest);
                }
                remove_if_empty(&runs);
                remove_if_empty(&executor);
            }
            remove_if_empty(&executors);
            remove_if_empty(&framework);
        }
    }
    swept
}

/// The real directories in `dir` (not the `latest` links), sorted.
fn dirs(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect();
    out.sort();
    out
}

/// The latest modification of `dir` itself and of what it directly holds
/// (an executor appending to `stdout` changes the file, not the directory).
fn last_change(dir: &Path) -> Option<SystemTime> {
    let own = std::fs::symlink_metadata(dir)
        .and_then(|m| m.modified())
        .ok()?;
    let children = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|e| e.metadata().and_then(|m| m.modified()).ok());
    Some(children.fold(own, SystemTime::max))
}

fn remove_if_empty(dir: &Path) {
    let empty = std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_none());
    if empty {
        if let Err(e) = std::fs::remove_dir(dir) {
            if e.kind() != io::ErrorKind::NotFound {
                tracing::debug!(dir = %dir.display(), "cannot remove an empty directory: {e}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WEEK: Duration = Duration::from_secs(7 * 24 * 3600);

    #[test]
    fn the_allowed_age_shrinks_as_the_disk_fills() {
        assert_eq!(max_age(WEEK, 0.1, 0.0), WEEK.mul_f64(0.9));
        assert_eq!(max_age(WEEK, 0.1, 0.4), WEEK.mul_f64(0.5));
        assert_eq!(max_age(WEEK, 0.1, 0.95), Duration::ZERO);
        assert_eq!(max_age(WEEK, 0.0, 0.0), WEEK);
        assert!(disk_usage(Path::new("/")).is_some_and(|u| (0.0..=1.0).contains(&u)));
        assert_eq!(disk_usage(Path::new("/no/such/place")), None);
    }

    /// `slaves/a/frameworks/f/executors/<e>/runs/<r>` with a `stdout`, and
    /// `latest` pointing at it.
    fn run(slaves: &Path, executor: &str, run: &str) -> PathBuf {
        let runs = slaves
            .join("a/frameworks/f/executors")
            .join(executor)
            .join("runs");
        let dir = runs.join(run);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("stdout"), b"out").unwrap();
        let latest = runs.join(LATEST);
        let _ = std::fs::remove_file(&latest);
        std::os::unix::fs::symlink(run, latest).unwrap();
        dir
    }

    #[test]
    fn old_runs_go_kept_and_recent_ones_stay_and_empty_parents_follow() {
        let work = tempfile::tempdir().unwrap();
        let slaves = work.path().join("slaves");
        let done = run(&slaves, "e1", "r1");
        let active = run(&slaves, "e2", "r2");
        let keep: HashSet<PathBuf> = [active.clone()].into();
        let now = SystemTime::now();

        // Not old enough yet: nothing goes.
        let swept = sweep(&slaves, &keep, Duration::from_secs(3600), now);
        assert_eq!(swept, Swept::default());
        assert!(done.exists());

        // Old enough (seen from an hour later): the finished run goes with
        // its executor directory; the kept one stays.
        let later = now + Duration::from_secs(3601);
        let swept = sweep(&slaves, &keep, Duration::from_secs(3600), later);
        assert_eq!(swept.runs, std::slice::from_ref(&done));
        assert!(!done.exists());
        assert!(!slaves.join("a/frameworks/f/executors/e1").exists());
        assert!(active.join("stdout").exists());

        // Once nothing is kept, the framework directory goes too.
        let swept = sweep(&slaves, &HashSet::new(), Duration::ZERO, later);
        assert_eq!(swept.runs, [active]);
        assert!(!slaves.join("a/frameworks/f").exists());
        assert!(slaves.join("a/frameworks").exists());
    }

    #[test]
    fn a_dangling_latest_link_goes_with_the_run_it_named() {
        let work = tempfile::tempdir().unwrap();
        let slaves = work.path().join("slaves");
        let first = run(&slaves, "e", "r1");
        let second = run(&slaves, "e", "r2");
        let runs = second.parent().unwrap().to_path_buf();
        // `latest` names r2; r1 is old and unused, r2 is kept.
        let keep: HashSet<PathBuf> = [second.clone()].into();
        let later = SystemTime::now() + Duration::from_secs(10);
        let swept = sweep(&slaves, &keep, Duration::from_secs(1), later);
        assert_eq!(swept.runs, [first]);
        assert!(runs.join(LATEST).exists());
        let swept = sweep(&slaves, &HashSet::new(), Duration::from_secs(1), later);
        assert_eq!(swept.runs, [second]);
        assert!(!runs.exists(), "the runs directory and its link stayed");
    }
}
