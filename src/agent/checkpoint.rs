//! Agent checkpoints (Mesos's `src/slave/state.cpp` and the `meta` half of
//! `src/slave/paths.cpp`): what a restarted agent reads to take back the
//! executors its previous run left behind.
//!
//! Everything lives under `<work_dir>/meta/`, one JSON file per fact, each
//! written atomically (temporary file, fsync, rename, fsync of the
//! directory), so a crash leaves the old version or the new one:
//!
//! ```text
//! meta/boot_id                                   the host's boot id when the agent last started
//! meta/agent.json                                AgentInfo, with the id the master gave
//! meta/frameworks/<framework>/framework.json     FrameworkInfo and the scheduler's pid
//! meta/frameworks/<framework>/executors/<executor>.json
//!     ExecutorInfo, container id, sandbox, the executor's OS pid (and its
//!     start time, against pid reuse) and libprocess pid, its tasks, and the
//!     status updates not yet acknowledged by the master
//! ```
//!
//! Only frameworks with `checkpoint: true` get framework and executor
//! files, as in Mesos. Reading ([`recover`]) is strict: a file that exists
//! and does not parse is an error naming it, and the agent refuses to start
//! (the operator decides whether to remove the state).

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use wire::ids::{ContainerId, ExecutorId, FrameworkId};
use wire::mesos::{AgentInfo, ExecutorInfo, FrameworkInfo, StatusUpdate, Task, TaskInfo};

use crate::container::check_id;

const META: &str = "meta";
const BOOT_ID: &str = "boot_id";
const AGENT: &str = "agent.json";
const FRAMEWORKS: &str = "frameworks";
const FRAMEWORK: &str = "framework.json";
const EXECUTORS: &str = "executors";
const JSON: &str = "json";

/// Why a checkpoint could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("cannot write checkpoint {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot read checkpoint {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("corrupt checkpoint {path}: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    #[error("cannot checkpoint: {0}")]
    BadId(#[from] crate::container::SandboxError),
}

/// A checkpointing framework.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameworkCheckpoint {
    pub info: FrameworkInfo,
    /// The scheduler's pid, where framework messages go.
    pub pid: Option<String>,
}

/// One executor run of a checkpointing framework, and its tasks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutorCheckpoint {
    pub info: ExecutorInfo,
    pub framework_id: FrameworkId,
    pub container_id: ContainerId,
    pub directory: PathBuf,
    pub command_executor: bool,
    /// The OS pid of the executor (the leader of its session).
    pub os_pid: Option<i32>,
    /// The process's start time (`/proc/<pid>/stat`), so a recycled pid is
    /// not taken for the executor.
    pub os_start_time: Option<u64>,
    /// The executor driver's pid once it registered.
    pub libprocess_pid: Option<String>,
    /// The executor process has exited; only unacknowledged updates keep
    /// the record.
    pub terminated: bool,
    /// Tasks waiting for the executor to register.
    pub queued: Vec<TaskInfo>,
    /// Tasks handed to the executor, with their latest state.
    pub tasks: Vec<Task>,
    /// Status updates of these tasks not yet acknowledged by the master,
    /// oldest first per task.
    pub updates: Vec<StatusUpdate>,
}

/// What a previous run of the agent left in `meta/`.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckpointedState {
    /// The boot id the previous run recorded, if any.
    pub boot_id: Option<String>,
    pub agent: AgentInfo,
    pub frameworks: Vec<CheckpointedFramework>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CheckpointedFramework {
    pub framework: FrameworkCheckpoint,
    pub executors: Vec<ExecutorCheckpoint>,
}

/// Whether an agent that checkpointed `old` may restart as `new` under its
/// old id (Mesos's `--reconfiguration_policy`): the same hostname and port
/// always (executors know the agent by its address), and the same
/// resources and attributes (`Equal`) or at least the old ones
/// (`Additive`). The error says what differs.
pub fn compatible(
    old: &AgentInfo,
    new: &AgentInfo,
    policy: super::flags::ReconfigurationPolicy,
) -> Result<(), String> {
    use super::flags::ReconfigurationPolicy::{Additive, Equal};
    if old.hostname != new.hostname {
        return Err(format!(
            "hostname changed from '{}' to '{}'",
            old.hostname, new.hostname
        ));
    }
    if old.port != new.port {
        return Err(format!("port changed from {} to {}", old.port, new.port));
    }
    // What the master's operations made of the resources is compared as
    // what it was made from.
    let old_resources = super::resources::unconverted(&old.resources);
    let (resources_ok, attributes_ok) = match policy {
        Equal => (
            old_resources == new.resources,
            old.attributes == new.attributes,
        ),
        Additive => (
            new.resources.contains(&old_resources),
            old.attributes.iter().all(|a| new.attributes.contains(a)),
        ),
    };
    if !resources_ok {
        return Err(format!(
            "resources changed from '{}' to '{}'",
            old_resources, new.resources
        ));
    }
    if !attributes_ok {
        return Err("attributes changed".into());
    }
    Ok(())
}

/// `<work_dir>/meta`.
pub fn meta_dir(work_dir: &Path) -> PathBuf {
    work_dir.join(META)
}

/// The host's boot id (`/proc/sys/kernel/random/boot_id`), as Mesos's
/// `os::bootId`; `None` where the kernel does not tell.
pub fn current_boot_id() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// Writes `bytes` to `path` so that readers see the old content or the new
/// one, even across a crash: a temporary file beside it is written and
/// fsynced, renamed over `path`, and the directory is fsynced.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::other("the path has no parent directory"))?;
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::other("the path has no file name"))?;
    std::fs::create_dir_all(dir)?;
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(name);
    temp_name.push(".tmp");
    let temp = dir.join(temp_name);
    let written = (|| {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(e);
    }
    std::fs::File::open(dir)?.sync_all()
}

/// Where the checkpoints of one agent go; every write is atomic.
#[derive(Debug, Clone)]
pub struct Store {
    meta: PathBuf,
}

impl Store {
    pub fn new(work_dir: &Path) -> Store {
        Store {
            meta: meta_dir(work_dir),
        }
    }

    pub fn meta(&self) -> &Path {
        &self.meta
    }

    fn framework_dir(&self, framework_id: &FrameworkId) -> Result<PathBuf, CheckpointError> {
        check_id("framework", framework_id.as_str())?;
        Ok(self.meta.join(FRAMEWORKS).join(framework_id.as_str()))
    }

    fn executor_path(
        &self,
        framework_id: &FrameworkId,
        executor_id: &ExecutorId,
    ) -> Result<PathBuf, CheckpointError> {
        check_id("executor", executor_id.as_str())?;
        Ok(self
            .framework_dir(framework_id)?
            .join(EXECUTORS)
            .join(format!("{}.{JSON}", executor_id.as_str())))
    }

    fn write<T: Serialize>(&self, path: PathBuf, value: &T) -> Result<(), CheckpointError> {
        let bytes = serde_json::to_vec_pretty(value).map_err(|e| CheckpointError::Write {
            path: path.clone(),
            source: io::Error::other(e),
        })?;
        write_atomically(&path, &bytes).map_err(|source| CheckpointError::Write { path, source })
    }

    pub fn boot_id(&self, boot_id: &str) -> Result<(), CheckpointError> {
        let path = self.meta.join(BOOT_ID);
        write_atomically(&path, boot_id.as_bytes())
            .map_err(|source| CheckpointError::Write { path, source })
    }

    pub fn agent(&self, info: &AgentInfo) -> Result<(), CheckpointError> {
        self.write(self.meta.join(AGENT), info)
    }

    pub fn framework(&self, checkpoint: &FrameworkCheckpoint) -> Result<(), CheckpointError> {
        let Some(id) = &checkpoint.info.id else {
            return Ok(());
        };
        self.write(self.framework_dir(id)?.join(FRAMEWORK), checkpoint)
    }

    pub fn executor(&self, checkpoint: &ExecutorCheckpoint) -> Result<(), CheckpointError> {
        let path = self.executor_path(&checkpoint.framework_id, &checkpoint.info.executor_id)?;
        self.write(path, checkpoint)
    }

    /// Forgets an executor whose tasks are all done and acknowledged.
    pub fn remove_executor(
        &self,
        framework_id: &FrameworkId,
        executor_id: &ExecutorId,
    ) -> Result<(), CheckpointError> {
        let path = self.executor_path(framework_id, executor_id)?;
        remove(&path, false)
    }

    /// Forgets a framework with no executor left here.
    pub fn remove_framework(&self, framework_id: &FrameworkId) -> Result<(), CheckpointError> {
        let path = self.framework_dir(framework_id)?;
        remove(&path, true)
    }

    /// Forgets everything (the host rebooted: nothing left can be taken
    /// back).
    pub fn clear(&self) -> Result<(), CheckpointError> {
        remove(&self.meta, true)
    }
}

/// Removes a file, or a directory and what it holds; what is already gone
/// is fine.
fn remove(path: &Path, directory: bool) -> Result<(), CheckpointError> {
    let removed = if directory {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
    match removed {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(CheckpointError::Write {
            path: path.to_owned(),
            source: e,
        }),
        _ => Ok(()),
    }
}

fn read<T: DeserializeOwned>(path: &Path) -> Result<T, CheckpointError> {
    let bytes = std::fs::read(path).map_err(|source| CheckpointError::Read {
        path: path.to_owned(),
        source,
    })?;
    serde_json::from_slice(&bytes).map_err(|e| CheckpointError::Corrupt {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

/// The entries of `dir` that are not temporary files of an interrupted
/// write (those start with a dot); none if `dir` does not exist.
fn entries(dir: &Path) -> Result<Vec<PathBuf>, CheckpointError> {
    let listing = match std::fs::read_dir(dir) {
        Ok(l) => l,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(CheckpointError::Read {
                path: dir.to_owned(),
                source,
            })
        }
    };
    let mut paths = Vec::new();
    for entry in listing {
        let entry = entry.map_err(|source| CheckpointError::Read {
            path: dir.to_owned(),
            source,
        })?;
        if !entry.file_name().to_string_lossy().starts_with('.') {
            paths.push(entry.path());
        }
    }
    paths.sort();
    Ok(paths)
}

/// Reads what a previous run checkpointed under `<work_dir>/meta`: `None`
/// if it never registered (no agent file).
pub fn recover(work_dir: &Path) -> Result<Option<CheckpointedState>, CheckpointError> {
    let meta = meta_dir(work_dir);
    let agent_path = meta.join(AGENT);
    if !agent_path.exists() {
        return Ok(None);
    }
    let agent: AgentInfo = read(&agent_path)?;
    if agent.id.is_none() {
        return Err(CheckpointError::Corrupt {
            path: agent_path,
            reason: "the agent has no id".into(),
        });
    }
    let boot_id = match std::fs::read_to_string(meta.join(BOOT_ID)) {
        Ok(s) => Some(s.trim().to_owned()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(source) => {
            return Err(CheckpointError::Read {
                path: meta.join(BOOT_ID),
                source,
            })
        }
    };
    let mut frameworks = Vec::new();
    for dir in entries(&meta.join(FRAMEWORKS))? {
        let framework_path = dir.join(FRAMEWORK);
        let executor_paths = entries(&dir.join(EXECUTORS))?;
        if !framework_path.exists() {
            if executor_paths.is_empty() {
                // The agent stopped between creating the directory and
                // renaming the first file into it.
                continue;
            }
            return Err(CheckpointError::Corrupt {
                path: framework_path,
                reason: "missing, while the framework has executors".into(),
            });
        }
        let framework: FrameworkCheckpoint = read(&framework_path)?;
        let Some(framework_id) = framework.info.id.clone() else {
            return Err(CheckpointError::Corrupt {
                path: framework_path,
                reason: "the framework has no id".into(),
            });
        };
        let mut executors = Vec::new();
        for path in executor_paths {
            let executor: ExecutorCheckpoint = read(&path)?;
            if executor.framework_id != framework_id {
                return Err(CheckpointError::Corrupt {
                    path,
                    reason: format!(
                        "the executor belongs to framework {}, not {framework_id}",
                        executor.framework_id
                    ),
                });
            }
            executors.push(executor);
        }
        frameworks.push(CheckpointedFramework {
            framework,
            executors,
        });
    }
    Ok(Some(CheckpointedState {
        boot_id,
        agent,
        frameworks,
    }))
}

#[cfg(test)]
mod compatibility_tests {
    use super::super::flags::ReconfigurationPolicy::{Additive, Equal};
    use super::*;
    use wire::resources::Resources;

    fn info(resources: &str, attributes: &str, port: u16) -> AgentInfo {
        AgentInfo {
            hostname: "h".into(),
            port,
            resources: Resources::parse(resources, "*").unwrap(),
            attributes: wire::mesos::parse_attributes(attributes).unwrap(),
            id: None,
        }
    }

    #[test]
    fn a_restart_keeps_the_id_only_with_compatible_info() {
        let old = info("cpus:2;mem:1024", "rack:a", 5051);
        assert_eq!(compatible(&old, &old, Equal), Ok(()));
        let more = info("cpus:4;mem:1024", "rack:a;zone:z", 5051);
        assert!(compatible(&old, &more, Equal).is_err());
        assert_eq!(compatible(&old, &more, Additive), Ok(()));
        let less = info("cpus:1;mem:1024", "rack:a", 5051);
        let e = compatible(&old, &less, Additive).unwrap_err();
        assert!(e.contains("resources changed"), "{e}");
        let moved = info("cpus:2;mem:1024", "rack:b", 5051);
        assert!(compatible(&old, &moved, Additive).is_err());
        let elsewhere = info("cpus:2;mem:1024", "rack:a", 5052);
        let e = compatible(&old, &elsewhere, Additive).unwrap_err();
        assert!(e.contains("port"), "{e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wire::ids::{AgentId, TaskId};
    use wire::mesos::{CommandInfo, TaskStatus};
    use wire::resources::Resources;
    use wire::task::TaskState;

    fn agent() -> AgentInfo {
        AgentInfo {
            hostname: "h".into(),
            port: 5051,
            resources: Resources::new(),
            attributes: Vec::new(),
            id: Some(AgentId::new("m-S1")),
        }
    }

    fn framework() -> FrameworkCheckpoint {
        let mut info = FrameworkInfo::new("u", "f");
        info.id = Some(FrameworkId::new("m-0001"));
        info.checkpoint = true;
        FrameworkCheckpoint {
            info,
            pid: Some("scheduler@127.0.0.1:9".into()),
        }
    }

    fn executor(name: &str) -> ExecutorCheckpoint {
        let mut status = TaskStatus::new(TaskId::new(name), TaskState::Running);
        status.timestamp = 1.0;
        ExecutorCheckpoint {
            info: ExecutorInfo {
                executor_id: ExecutorId::new(name),
                framework_id: Some(FrameworkId::new("m-0001")),
                command: CommandInfo::shell("true"),
                resources: Resources::new(),
                name: None,
                shutdown_grace_period: None,
                container: None,
            },
            framework_id: FrameworkId::new("m-0001"),
            container_id: ContainerId::new("c1"),
            directory: PathBuf::from("/w/sandbox"),
            command_executor: true,
            os_pid: Some(42),
            os_start_time: Some(7),
            libprocess_pid: Some("executor(1)@127.0.0.1:1234".into()),
            terminated: false,
            queued: Vec::new(),
            tasks: Vec::new(),
            updates: vec![StatusUpdate {
                framework_id: FrameworkId::new("m-0001"),
                executor_id: Some(ExecutorId::new(name)),
                agent_id: None,
                status,
                timestamp: 1.0,
                uuid: Some(vec![1; 16]),
                latest_state: None,
            }],
        }
    }

    #[test]
    fn what_is_written_is_recovered() {
        let work = tempfile::tempdir().unwrap();
        let store = Store::new(work.path());
        assert_eq!(recover(work.path()).unwrap(), None, "nothing yet");
        store.boot_id("boot-1").unwrap();
        store.agent(&agent()).unwrap();
        store.framework(&framework()).unwrap();
        store.executor(&executor("a")).unwrap();
        store.executor(&executor("b")).unwrap();
        let r = recover(work.path()).unwrap().unwrap();
        assert_eq!(r.boot_id.as_deref(), Some("boot-1"));
        assert_eq!(r.agent, agent());
        assert_eq!(r.frameworks.len(), 1);
        let f = r.frameworks.first().unwrap();
        assert_eq!(f.framework, framework());
        assert_eq!(f.executors, vec![executor("a"), executor("b")]);

        store
            .remove_executor(&FrameworkId::new("m-0001"), &ExecutorId::new("a"))
            .unwrap();
        let r = recover(work.path()).unwrap().unwrap();
        assert_eq!(r.frameworks.first().unwrap().executors, vec![executor("b")]);
        store.remove_framework(&FrameworkId::new("m-0001")).unwrap();
        assert!(recover(work.path()).unwrap().unwrap().frameworks.is_empty());
        // Removing what is gone is not an error.
        store.remove_framework(&FrameworkId::new("m-0001")).unwrap();
    }

    #[test]
    fn a_write_replaces_the_file_whole_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("f.json");
        write_atomically(&path, b"first, and longer").unwrap();
        write_atomically(&path, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["f.json"]);
    }

    #[test]
    fn an_interrupted_write_is_ignored() {
        let work = tempfile::tempdir().unwrap();
        let store = Store::new(work.path());
        store.agent(&agent()).unwrap();
        store.framework(&framework()).unwrap();
        store.executor(&executor("a")).unwrap();
        // What a crash between creating and renaming the temporary leaves.
        let executors = store.meta().join("frameworks/m-0001/executors");
        std::fs::write(executors.join(".b.json.tmp"), b"{\"info\": ").unwrap();
        let orphan = store.meta().join("frameworks/m-0002/executors");
        std::fs::create_dir_all(&orphan).unwrap();
        std::fs::write(orphan.join(".x.json.tmp"), b"").unwrap();
        let r = recover(work.path()).unwrap().unwrap();
        assert_eq!(r.frameworks.len(), 1);
        assert_eq!(r.frameworks.first().unwrap().executors.len(), 1);
    }

    #[test]
    fn a_corrupt_file_is_an_error_naming_it() {
        let work = tempfile::tempdir().unwrap();
        let store = Store::new(work.path());
        store.agent(&agent()).unwrap();
        store.framework(&framework()).unwrap();
        let bad = store.meta().join("frameworks/m-0001/executors/a.json");
        std::fs::create_dir_all(bad.parent().unwrap()).unwrap();
        std::fs::write(&bad, b"{\"info\": {\"executor_id\"").unwrap();
        let err = recover(work.path()).unwrap_err();
        assert!(matches!(&err, CheckpointError::Corrupt { path, .. } if path == &bad));
        assert!(err.to_string().contains("a.json"), "{err}");

        std::fs::write(store.meta().join("agent.json"), b"not json").unwrap();
        assert!(matches!(
            recover(work.path()),
            Err(CheckpointError::Corrupt { .. })
        ));
        std::fs::write(store.meta().join("agent.json"), b"").unwrap();
        assert!(matches!(
            recover(work.path()),
            Err(CheckpointError::Corrupt { .. })
        ));
    }

    #[test]
    fn an_executor_without_its_framework_is_an_error() {
        let work = tempfile::tempdir().unwrap();
        let store = Store::new(work.path());
        store.agent(&agent()).unwrap();
        store.executor(&executor("a")).unwrap();
        assert!(matches!(
            recover(work.path()),
            Err(CheckpointError::Corrupt { .. })
        ));
    }

    #[test]
    fn ids_that_could_escape_meta_are_refused() {
        let work = tempfile::tempdir().unwrap();
        let store = Store::new(work.path());
        let mut bad = executor("a");
        bad.framework_id = FrameworkId::new("..");
        assert!(matches!(
            store.executor(&bad),
            Err(CheckpointError::BadId(_))
        ));
    }
}
