//! Sandbox paths and the ids in them: where each executor run lives under
//! the agent's work_dir, and the `latest` link to the newest run.
//!
//! Mesos counterpart: the executor directories of `src/slave/paths.cpp`
//! (`slaves/<agent>/frameworks/<framework>/executors/<executor>/runs/<container>`
//! and `runs/latest`).
//!
//! Ids in paths come from frameworks and the master: [`sandbox_dir`] refuses
//! any id that could name something other than one plain path component.

use std::io;
use std::path::{Path, PathBuf};

use wire::ids::{AgentId, ContainerId, ExecutorId, FrameworkId};

/// The link in `runs/` that names the newest run of an executor.
pub const LATEST: &str = "latest";

/// Why a sandbox could not be named or created.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("invalid {kind} id '{id}': {reason}")]
    BadId {
        kind: &'static str,
        id: String,
        reason: &'static str,
    },
    #[error("cannot create sandbox {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// Checks that `id` can be used as one path component: not empty, not `.`
/// or `..`, and without `/` or NUL.
pub fn check_id(kind: &'static str, id: &str) -> Result<(), SandboxError> {
    let reason = if id.is_empty() {
        "empty"
    } else if id == "." || id == ".." {
        "names a directory itself"
    } else if id.contains('/') {
        "contains '/'"
    } else if id.contains('\0') {
        "contains NUL"
    } else {
        return Ok(());
    };
    Err(SandboxError::BadId {
        kind,
        id: id.to_owned(),
        reason,
    })
}

/// `<work_dir>/slaves/<agent>/frameworks/<framework>/executors/<executor>/runs`:
/// the directory holding every run of one executor and the `latest` link.
pub fn runs_dir(
    work_dir: &Path,
    agent_id: &AgentId,
    framework_id: &FrameworkId,
    executor_id: &ExecutorId,
) -> Result<PathBuf, SandboxError> {
    check_id("agent", agent_id.as_str())?;
    check_id("framework", framework_id.as_str())?;
    check_id("executor", executor_id.as_str())?;
    Ok(work_dir
        .join("slaves")
        .join(agent_id.as_str())
        .join("frameworks")
        .join(framework_id.as_str())
        .join("executors")
        .join(executor_id.as_str())
        .join("runs"))
}

/// The sandbox of one executor run:
/// `<work_dir>/slaves/<agent>/frameworks/<framework>/executors/<executor>/runs/<container>`.
pub fn sandbox_dir(
    work_dir: &Path,
    agent_id: &AgentId,
    framework_id: &FrameworkId,
    executor_id: &ExecutorId,
    container_id: &ContainerId,
) -> Result<PathBuf, SandboxError> {
    check_id("container", container_id.as_str())?;
    if container_id.as_str() == LATEST {
        return Err(SandboxError::BadId {
            kind: "container",
            id: LATEST.to_owned(),
            reason: "is the name of the link to the newest run",
        });
    }
    Ok(runs_dir(work_dir, agent_id, framework_id, executor_id)?.join(container_id.as_str()))
}

/// Creates the sandbox of a run (and its parents) and points `runs/latest`
/// at it. The link is replaced atomically: a temporary link is renamed over
/// it, so readers see the old run or the new one, never no link.
pub fn create_sandbox(
    work_dir: &Path,
    agent_id: &AgentId,
    framework_id: &FrameworkId,
    executor_id: &ExecutorId,
    container_id: &ContainerId,
) -> Result<PathBuf, SandboxError> {
    let sandbox = sandbox_dir(work_dir, agent_id, framework_id, executor_id, container_id)?;
    let io_error = |path: &Path| {
        let path = path.to_owned();
        move |source| SandboxError::Io { path, source }
    };
    std::fs::create_dir_all(&sandbox).map_err(io_error(&sandbox))?;
    let runs = runs_dir(work_dir, agent_id, framework_id, executor_id)?;
    // Relative, so the tree stays valid if work_dir is moved. The temporary
    // name is unique per container, so concurrent launches do not collide.
    let temp = runs.join(format!(".{LATEST}.{}.tmp", container_id.as_str()));
    let _ = std::fs::remove_file(&temp);
    std::os::unix::fs::symlink(container_id.as_str(), &temp).map_err(io_error(&temp))?;
    let latest = runs.join(LATEST);
    if let Err(e) = std::fs::rename(&temp, &latest) {
        let _ = std::fs::remove_file(&temp);
        return Err(io_error(&latest)(e));
    }
    Ok(sandbox)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> (AgentId, FrameworkId, ExecutorId) {
        (
            AgentId::new("a-S0"),
            FrameworkId::new("a-0000"),
            ExecutorId::new("exec"),
        )
    }

    fn sandbox(work: &Path, container: &str) -> PathBuf {
        let (a, f, e) = ids();
        create_sandbox(work, &a, &f, &e, &ContainerId::new(container)).unwrap()
    }

    #[test]
    fn sandbox_paths_follow_the_mesos_layout() {
        let (a, f, e) = ids();
        let path = sandbox_dir(Path::new("/w"), &a, &f, &e, &ContainerId::new("c1")).unwrap();
        assert_eq!(
            path,
            Path::new("/w/slaves/a-S0/frameworks/a-0000/executors/exec/runs/c1")
        );
    }

    #[test]
    fn ids_that_could_escape_the_work_dir_are_refused() {
        let (a, f, e) = ids();
        let c = ContainerId::new("c");
        for bad in ["", ".", "..", "a/b", "../../etc", "x\0y"] {
            let bad_container = ContainerId::new(bad);
            assert!(matches!(
                sandbox_dir(Path::new("/w"), &a, &f, &e, &bad_container),
                Err(SandboxError::BadId {
                    kind: "container",
                    ..
                })
            ));
            assert!(sandbox_dir(Path::new("/w"), &AgentId::new(bad), &f, &e, &c).is_err());
            assert!(sandbox_dir(Path::new("/w"), &a, &FrameworkId::new(bad), &e, &c).is_err());
            assert!(sandbox_dir(Path::new("/w"), &a, &f, &ExecutorId::new(bad), &c).is_err());
        }
        assert!(sandbox_dir(Path::new("/w"), &a, &f, &e, &ContainerId::new(LATEST)).is_err());
        assert!(sandbox_dir(Path::new("/w"), &a, &f, &e, &ContainerId::new("..x")).is_ok());
    }

    #[test]
    fn latest_points_at_the_newest_run() {
        let work = tempfile::tempdir().unwrap();
        let first = sandbox(work.path(), "c1");
        assert!(first.is_dir());
        let latest = first.parent().unwrap().join(LATEST);
        assert_eq!(std::fs::read_link(&latest).unwrap(), Path::new("c1"));
        let second = sandbox(work.path(), "c2");
        assert_eq!(std::fs::read_link(&latest).unwrap(), Path::new("c2"));
        assert_eq!(
            std::fs::canonicalize(&latest).unwrap(),
            std::fs::canonicalize(second).unwrap()
        );
        // No temporary links are left behind.
        let names: Vec<String> = std::fs::read_dir(first.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        let mut names = names;
        names.sort();
        assert_eq!(names, ["c1", "c2", "latest"]);
    }
}
