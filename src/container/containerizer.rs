//! The containerizer: what the agent asks for to run an executor. It
//! launches a [`LaunchSpec`] in its sandbox (cwd, `stdout` and `stderr`
//! appended there, stdin from `/dev/null`, a new session, as the given user
//! once the sandbox is theirs), takes back the executors a previous agent
//! process launched, and reports what each container uses. Waiting for a
//! container and destroying it are done on the [`Container`] handle it
//! returns, which stands for Mesos's container id in `wait` and `destroy`.
//!
//! Mesos counterpart: `MesosContainerizer` over a launcher (`--launcher`)
//! and the isolators `--isolation` names ([`super::isolator`]): each
//! prepares its part of a container before the leader runs (the leader
//! joins their cgroups before exec), watches it for a limit being hit,
//! and measures it. The [`Containerizer`] trait is the seam for
//! `--containerizers`: the Docker containerizer is a second
//! implementation.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use wire::ids::ContainerId;
use wire::mesos::{CommandInfo, ContainerInfo};
use wire::resources::Resources;

use super::config::{ContainerConfig, IsolatorKind, LauncherKind};
use super::handle::{Container, LimitationCell};
use super::isolator::cgroups::{CgroupsCpu, CgroupsMem, CgroupsPids};
use super::isolator::disk::DiskDu;
use super::isolator::{Isolator, Posix, Watched};
use super::launcher::{
    append, lookup_user, Grouping, Isolation, LaunchError, Launcher, LinuxLauncher, Output,
    PosixLauncher, RunAs, SpawnOptions,
};
use super::proc::{of_pids, of_sessions, Usage};

/// What runs executors on an agent: one implementation per containerizer
/// in `--containerizers` (the Mesos containerizer now, Docker next).
pub trait Containerizer: std::fmt::Debug + Send + Sync {
    /// The name `--containerizers` gives it.
    fn name(&self) -> &'static str;

    /// Launches an executor: cwd and output files in `spec.sandbox`, stdin
    /// from `/dev/null`, in a new session. Must run inside a tokio runtime
    /// (an actix system), which then reaps it.
    fn launch(&self, spec: LaunchSpec) -> Result<Container, LaunchError>;

    /// Takes back container `id`, whose leader is `pid`, launched by a
    /// previous agent process for an executor of `container` (as its
    /// checkpointed `ExecutorInfo` has it: what tells a composing
    /// containerizer whose it is). Must run inside a tokio runtime.
    fn recover(
        &self,
        id: &ContainerId,
        pid: i32,
        container: Option<&ContainerInfo>,
    ) -> Result<Container, LaunchError>;

    /// Kills and removes what this containerizer launched in an earlier
    /// agent process that is not among `known` (the containers the agent
    /// recovered or has launched since): Mesos's orphan cleanup after
    /// recovery. Blocks.
    fn kill_orphans(&self, known: &[ContainerId]) {
        let _ = known;
    }

    /// Container `id`'s executor (of `container`) now holds `resources` (a
    /// task joined it): its limits follow. Does nothing by default.
    fn update(
        &self,
        id: &ContainerId,
        container: Option<&ContainerInfo>,
        resources: &Resources,
    ) -> Result<(), LaunchError> {
        let _ = (id, container, resources);
        Ok(())
    }

    /// What each running container uses, given by its id and its leader's
    /// pid; containers with no live process are left out. Blocks while it
    /// reads.
    fn usage(&self, containers: &[(ContainerId, i32)]) -> HashMap<ContainerId, Usage>;
}

/// Mesos's `MesosContainerizer`: executors run as plain processes under a
/// [`Launcher`] (the posix one by default), isolated by its isolators.
#[derive(Debug)]
pub struct MesosContainerizer {
    /// Starts and recovers every container of this containerizer.
    launcher: Box<dyn Launcher>,
    /// The `--isolation` entries, in order; shared with the exit hooks of
    /// running containers.
    isolators: Arc<Vec<Box<dyn Isolator>>>,
}

impl MesosContainerizer {
    pub fn new(launcher: Box<dyn Launcher>) -> MesosContainerizer {
        MesosContainerizer::with_isolators(launcher, Vec::new())
    }

    pub fn with_isolators(
        launcher: Box<dyn Launcher>,
        isolators: Vec<Box<dyn Isolator>>,
    ) -> MesosContainerizer {
        MesosContainerizer {
            launcher,
            isolators: Arc::new(isolators),
        }
    }

    /// The containerizer `config` (checked against the machine) describes.
    /// Anything the machine turned out not to have falls back to posix,
    /// with a warning: the check at start makes that rare.
    pub fn from_config(config: &ContainerConfig) -> MesosContainerizer {
        let hierarchies = config.hierarchies.as_ref();
        let missing = |what: &str| tracing::warn!("{what} is not available here; left out");
        let launcher: Box<dyn Launcher> = match (config.launcher, hierarchies) {
            (LauncherKind::Linux, Some(h)) => match LinuxLauncher::new(h, &config.root) {
                Some(l) => Box::new(l),
                None => {
                    missing("the linux launcher");
                    Box::new(PosixLauncher)
                }
            },
            _ => Box::new(PosixLauncher),
        };
        let mut isolators: Vec<Box<dyn Isolator>> = Vec::new();
        for kind in &config.isolators {
            let made: Option<Box<dyn Isolator>> = match kind {
                IsolatorKind::PosixCpu => Some(Box::new(Posix("posix/cpu"))),
                IsolatorKind::PosixMem => Some(Box::new(Posix("posix/mem"))),
                IsolatorKind::FilesystemPosix => Some(Box::new(Posix("filesystem/posix"))),
                IsolatorKind::DiskDu(name) => Some(Box::new(DiskDu::new(
                    name,
                    config.disk_watch_interval,
                    config.enforce_disk_quota,
                ))),
                IsolatorKind::CgroupsCpu => hierarchies
                    .and_then(|h| CgroupsCpu::new(h, &config.root, config.enable_cfs))
                    .map(|i| Box::new(i) as Box<dyn Isolator>),
                IsolatorKind::CgroupsMem => hierarchies
                    .and_then(|h| CgroupsMem::new(h, &config.root))
                    .map(|i| Box::new(i) as Box<dyn Isolator>),
                IsolatorKind::CgroupsPids => hierarchies
                    .and_then(|h| CgroupsPids::new(h, &config.root))
                    .map(|i| Box::new(i) as Box<dyn Isolator>),
            };
            match made {
                Some(isolator) => isolators.push(isolator),
                None => missing(kind.name()),
            }
        }
        MesosContainerizer::with_isolators(launcher, isolators)
    }

    /// The launcher's name (`--launcher`).
    pub fn launcher_name(&self) -> &'static str {
        self.launcher.name()
    }

    /// The isolators' names, in order.
    pub fn isolator_names(&self) -> Vec<&'static str> {
        self.isolators.iter().map(|i| i.name()).collect()
    }

    /// What the launcher needs of the isolators for container `id`: the
    /// cgroups to join, the limitation cell, and the exit hook that stops
    /// the watchers, takes the isolators' last word on a limit and cleans
    /// up. Also returns the list the watchers' handles go to.
    fn isolation(
        &self,
        id: &ContainerId,
        join: Vec<super::cgroups::Cgroup>,
    ) -> (Isolation, Arc<Mutex<Vec<tokio::task::AbortHandle>>>) {
        let limitation = LimitationCell::default();
        let watchers: Arc<Mutex<Vec<tokio::task::AbortHandle>>> = Arc::default();
        let on_exit = {
            let (id, isolators) = (id.clone(), self.isolators.clone());
            let (cell, watchers) = (limitation.clone(), watchers.clone());
            move || {
                if let Ok(mut watchers) = watchers.lock() {
                    for w in watchers.drain(..) {
                        w.abort();
                    }
                }
                if cell.get().is_none() {
                    if let Some(l) = isolators.iter().find_map(|i| i.finished(&id)) {
                        tracing::info!(container = %id, "{}", l.message);
                        let _ = cell.set(l);
                    }
                }
                for isolator in isolators.iter() {
                    isolator.cleanup(&id);
                }
            }
        };
        let isolation = Isolation {
            join,
            limitation,
            on_exit: Some(Box::new(on_exit)),
        };
        (isolation, watchers)
    }

    /// Starts the isolators' watchers on a running container.
    fn watch(
        &self,
        container: &Container,
        watched: Watched,
        watchers: &Mutex<Vec<tokio::task::AbortHandle>>,
    ) {
        if container.try_status().is_some() {
            return;
        }
        let started: Vec<_> = self
            .isolators
            .iter()
            .filter_map(|i| i.watch(&watched))
            .map(|h| h.abort_handle())
            .collect();
        if let Ok(mut list) = watchers.lock() {
            list.extend(started);
        }
    }
}

impl Default for MesosContainerizer {
    fn default() -> MesosContainerizer {
        MesosContainerizer::new(Box::new(PosixLauncher))
    }
}

impl Containerizer for MesosContainerizer {
    fn name(&self) -> &'static str {
        "mesos"
    }

    fn launch(&self, spec: LaunchSpec) -> Result<Container, LaunchError> {
        if let Some(why) = super::composing::refusal(spec.container.as_ref(), &["mesos"]) {
            return Err(LaunchError::Refused(why));
        }
        let user = match &spec.user {
            None => None,
            Some(name) => {
                let user = lookup_user(name)?;
                give_sandbox(&spec.sandbox, &user)?;
                Some(user)
            }
        };
        let id = spec.container_id.clone();
        let mut join = Vec::new();
        for isolator in self.isolators.iter() {
            match isolator.prepare(&id, &spec.resources) {
                Ok(cgroups) => join.extend(cgroups),
                Err(source) => {
                    for i in self.isolators.iter() {
                        i.cleanup(&id);
                    }
                    return Err(LaunchError::Isolator {
                        isolator: isolator.name(),
                        source,
                    });
                }
            }
        }
        let (isolation, watchers) = self.isolation(&id, join);
        let limitation = isolation.limitation.clone();
        let container = self.launcher.spawn(
            &id,
            &spec.command,
            SpawnOptions {
                cwd: Some(spec.sandbox.clone()),
                env: spec.env,
                inherit_env: spec.inherit_env,
                output: Output::Files(spec.sandbox.clone()),
                grouping: Grouping::NewSession,
                user,
            },
            isolation,
        );
        let container = match container {
            Ok(c) => c,
            Err(e) => {
                for i in self.isolators.iter() {
                    i.cleanup(&id);
                }
                return Err(e);
            }
        };
        let watched = Watched {
            id,
            sandbox: Some(spec.sandbox),
            resources: spec.resources,
            container: container.downgrade(),
            limitation,
        };
        self.watch(&container, watched, &watchers);
        Ok(container)
    }

    fn recover(
        &self,
        id: &ContainerId,
        pid: i32,
        _container: Option<&ContainerInfo>,
    ) -> Result<Container, LaunchError> {
        let (isolation, watchers) = self.isolation(id, Vec::new());
        let limitation = isolation.limitation.clone();
        let container = self.launcher.recover(id, pid, isolation)?;
        let watched = Watched {
            id: id.clone(),
            sandbox: None,
            resources: Resources::new(),
            container: container.downgrade(),
            limitation,
        };
        self.watch(&container, watched, &watchers);
        Ok(container)
    }

    fn kill_orphans(&self, known: &[ContainerId]) {
        self.launcher.kill_orphans(known);
        for isolator in self.isolators.iter() {
            isolator.kill_orphans(known);
        }
    }

    fn update(
        &self,
        id: &ContainerId,
        _container: Option<&ContainerInfo>,
        resources: &Resources,
    ) -> Result<(), LaunchError> {
        for isolator in self.isolators.iter() {
            isolator
                .update(id, resources)
                .map_err(|source| LaunchError::Isolator {
                    isolator: isolator.name(),
                    source,
                })?;
        }
        Ok(())
    }

    fn usage(&self, containers: &[(ContainerId, i32)]) -> HashMap<ContainerId, Usage> {
        // The cgroup launcher lists each container's processes; the posix
        // one leaves one walk over /proc for all sessions at once.
        let members: Vec<Option<Vec<i32>>> = containers
            .iter()
            .map(|(id, _)| self.launcher.members(id))
            .collect();
        let sessions: Vec<i32> = containers
            .iter()
            .zip(&members)
            .filter(|(_, m)| m.is_none())
            .map(|((_, pid), _)| *pid)
            .collect();
        let mut by_leader = if sessions.is_empty() {
            HashMap::new()
        } else {
            of_sessions(&sessions)
        };
        containers
            .iter()
            .zip(members)
            .filter_map(|((id, pid), members)| {
                let mut usage = match members {
                    Some(pids) if pids.is_empty() => return None,
                    Some(pids) => of_pids(&pids),
                    None => by_leader.remove(pid)?,
                };
                for isolator in self.isolators.iter() {
                    isolator.usage(id, &mut usage);
                }
                Some((id.clone(), usage))
            })
            .collect()
    }
}

/// What to run, where, with which environment: one executor launch.
#[derive(Debug, Clone, PartialEq)]
pub struct LaunchSpec {
    /// The container's id (Mesos's `ContainerID`), as the sandbox path has it.
    pub container_id: ContainerId,
    /// What the container is given (its executor's and its tasks'
    /// resources): what isolators enforce.
    pub resources: Resources,
    /// `shell` runs `/bin/sh -c <value>`; otherwise `value` is exec'd with
    /// `arguments` as argv. `command.environment` is not applied here: the
    /// caller merges it into `env`.
    pub command: CommandInfo,
    /// The working directory, where `stdout` and `stderr` are written.
    pub sandbox: PathBuf,
    /// Added to (and overriding) the agent's own environment, or, if not
    /// `inherit_env`, the whole environment.
    pub env: Vec<(String, String)>,
    /// Whether the agent's own environment is passed on (it is not when
    /// the operator names it with `--executor_environment_variables`).
    pub inherit_env: bool,
    /// The user to run as (`--switch_user`); the sandbox becomes theirs.
    pub user: Option<String>,
    /// What the executor asks to run in (for a command task, the task's
    /// `ContainerInfo`): it picks the containerizer.
    pub container: Option<wire::mesos::ContainerInfo>,
}

/// Makes the sandbox and its `stdout` and `stderr` the user's, so that the
/// container can write there once it runs as them.
fn give_sandbox(sandbox: &Path, user: &RunAs) -> Result<(), LaunchError> {
    let chown_error = |source| LaunchError::Chown {
        user: user.name.clone(),
        source,
    };
    for name in ["stdout", "stderr"] {
        drop(append(&sandbox.join(name))?);
    }
    for path in [
        sandbox.to_path_buf(),
        sandbox.join("stdout"),
        sandbox.join("stderr"),
    ] {
        std::os::unix::fs::chown(&path, Some(user.uid), Some(user.gid)).map_err(chown_error)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::launcher::tests::{sandbox, wait};

    fn shell(dir: &Path, script: &str) -> Container {
        launch(LaunchSpec {
            container_id: ContainerId::new("c1"),
            resources: Resources::new(),
            command: CommandInfo::shell(script),
            sandbox: dir.to_owned(),
            env: vec![("GREETING".into(), "hello".into())],
            inherit_env: true,
            user: None,
            container: None,
        })
    }

    fn launch(spec: LaunchSpec) -> Container {
        MesosContainerizer::default().launch(spec).unwrap()
    }

    #[tokio::test]
    async fn output_lands_in_the_sandbox_files() {
        let work = tempfile::tempdir().unwrap();
        let dir = sandbox(work.path(), "c1");
        let c = shell(&dir, "echo out $GREETING; echo err >&2; pwd");
        assert!(c.pid() > 0);
        assert!(wait(&c).await.success());
        let stdout = std::fs::read_to_string(dir.join("stdout")).unwrap();
        let pwd = std::fs::canonicalize(&dir).unwrap();
        assert_eq!(stdout, format!("out hello\n{}\n", pwd.display()));
        assert_eq!(
            std::fs::read_to_string(dir.join("stderr")).unwrap(),
            "err\n"
        );
        // A second run in the same sandbox appends.
        let again = shell(&dir, "echo again");
        wait(&again).await;
        assert!(std::fs::read_to_string(dir.join("stdout"))
            .unwrap()
            .ends_with("again\n"));
    }

    #[tokio::test]
    async fn exec_form_runs_the_program_with_its_argv() {
        let work = tempfile::tempdir().unwrap();
        let dir = sandbox(work.path(), "c1");
        let mut command = CommandInfo::shell("/bin/sh");
        command.shell = false;
        let script = r#"head -c 5 /proc/$$/cmdline; echo " $0|$1""#;
        command.arguments = vec![
            "my-sh".into(),
            "-c".into(),
            script.into(),
            "zero".into(),
            "x y".into(),
        ];
        let c = launch(LaunchSpec {
            container_id: ContainerId::new("c1"),
            resources: Resources::new(),
            command,
            sandbox: dir.clone(),
            env: Vec::new(),
            inherit_env: true,
            user: None,
            container: None,
        });
        assert!(wait(&c).await.success());
        assert_eq!(
            std::fs::read_to_string(dir.join("stdout")).unwrap(),
            "my-sh zero|x y\n"
        );
    }

    #[tokio::test]
    async fn a_program_that_cannot_start_is_an_error() {
        let work = tempfile::tempdir().unwrap();
        let dir = sandbox(work.path(), "c1");
        let mut command = CommandInfo::shell("/nonexistent/program");
        command.shell = false;
        let err = MesosContainerizer::default()
            .launch(LaunchSpec {
                container_id: ContainerId::new("c1"),
                resources: Resources::new(),
                command,
                sandbox: dir,
                env: Vec::new(),
                inherit_env: true,
                user: None,
                container: None,
            })
            .unwrap_err();
        assert!(matches!(err, LaunchError::Spawn { .. }), "{err}");
    }

    #[test]
    fn the_mesos_containerizer_runs_on_the_posix_launcher() {
        let containerizer = MesosContainerizer::default();
        assert_eq!(containerizer.name(), "mesos");
        assert_eq!(containerizer.launcher.name(), "posix");
    }
}
