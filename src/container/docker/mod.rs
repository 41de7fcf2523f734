//! The Docker containerizer (`--containerizers=docker,...`): runs the
//! executors of tasks whose `ContainerInfo` is `DOCKER`. A command task's
//! executor is `mesos-docker-executor` (see `crate::executor::docker`),
//! started here as a plain process with the flags that tell it how to
//! reach Docker; it runs the task as the Docker container
//! `mesos-<container id>`. The containerizer removes that container
//! `--docker_remove_delay` after its executor ended, and after an agent
//! restart removes the `mesos-*` containers of no known container
//! (`--docker_kill_orphans`).
//!
//! | file | owns | Mesos |
//! |---|---|---|
//! | `client.rs` | the `docker` CLI: argv of each command, running it, Docker's errors | `src/docker/docker.cpp` (`Docker`) |
//! | `inspect.rs` | reading `docker inspect` | `Docker::Container` |
//! | `usage.rs` | a container's usage from its cgroups | `DockerContainerizerProcess::usage` |
//! | `mod.rs` | the [`DockerContainerizer`] | `DockerContainerizer` (`slave/containerizer/docker.cpp`) |
//!
//! Custom executors in Docker containers (Mesos runs the executor itself
//! in the container) are refused.

pub mod client;
pub mod inspect;
pub mod usage;

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use wire::ids::ContainerId;
use wire::mesos::ContainerInfo;

use super::config::ContainerConfig;
use super::containerizer::{Containerizer, LaunchSpec, MesosContainerizer};
use super::handle::Container;
use super::launcher::LaunchError;
use super::proc::Usage;
use crate::flags::format_duration;

pub use client::{Docker, DockerError, RunOptions, NAME_PREFIX};
pub use inspect::{ContainerState, Inspect, Status};

/// The program the agent runs as the executor of a Docker command task.
pub const DOCKER_EXECUTOR: &str = "mesos-docker-executor";

/// The Docker containerizer's settings, from the agent's flags.
#[derive(Debug, Clone, PartialEq)]
pub struct DockerConfig {
    /// `--docker` and `--docker_socket`.
    pub docker: Docker,
    /// `--sandbox_directory`: where the sandbox is mounted inside.
    pub sandbox_directory: String,
    /// `--docker_stop_timeout`: how long `docker stop` of an orphan, or of
    /// a container whose executor died, waits before it kills.
    pub stop_timeout: Duration,
    /// `--docker_remove_delay`: how long an ended container is kept.
    pub remove_delay: Duration,
    /// `--docker_kill_orphans`.
    pub kill_orphans: bool,
}

/// The name of the Docker container of container `id`.
pub fn container_name(id: &ContainerId) -> String {
    format!("{NAME_PREFIX}{}", id.as_str())
}

/// Mesos's `DockerContainerizer`. See the module docs.
#[derive(Debug)]
pub struct DockerContainerizer {
    config: DockerConfig,
    /// Starts and takes back the executor processes.
    executors: MesosContainerizer,
}

impl DockerContainerizer {
    /// Executors under the posix launcher.
    pub fn new(config: DockerConfig) -> DockerContainerizer {
        DockerContainerizer {
            config,
            executors: MesosContainerizer::default(),
        }
    }

    /// Executors under the launcher `containers` names (`--launcher`), so
    /// that under the cgroup launcher a Docker task's executor is found,
    /// killed and taken back through its freezer cgroup like any other
    /// container, never by walking `/proc`. No isolator applies to it: the
    /// task's limits are on its Docker container.
    pub fn with_executors_as(mut self, containers: &ContainerConfig) -> DockerContainerizer {
        let launcher_only = ContainerConfig {
            isolators: Vec::new(),
            ..containers.clone()
        };
        self.executors = MesosContainerizer::from_config(&launcher_only);
        self
    }

    /// The flags `mesos-docker-executor` is given for container `id`.
    pub fn executor_arguments(&self, id: &ContainerId, sandbox: &Path) -> Vec<String> {
        let c = &self.config;
        vec![
            format!("--container={}", container_name(id)),
            format!("--docker={}", c.docker.program),
            format!("--docker_socket={}", c.docker.socket.display()),
            format!("--sandbox_directory={}", sandbox.display()),
            format!("--mapped_directory={}", c.sandbox_directory),
            format!("--stop_timeout={}", format_duration(c.stop_timeout)),
        ]
    }

    /// Stops container `id`'s Docker container once `executor` has ended
    /// (it has normally ended already), and removes it once the remove
    /// delay has passed.
    fn remove_when_done(&self, id: &ContainerId, executor: Container) {
        let docker = self.config.docker.clone();
        let delay = self.config.remove_delay;
        let stop_timeout = self.config.stop_timeout;
        let name = container_name(id);
        tokio::spawn(async move {
            let _ = executor.wait().await;
            drop(executor);
            // An executor killed before it could stop its container does
            // not leave it running.
            let stopped = tokio::task::spawn_blocking({
                let (docker, name) = (docker.clone(), name.clone());
                move || docker.stop(&name, stop_timeout)
            })
            .await;
            if let Ok(Err(e)) = stopped {
                tracing::debug!(container = %name, "docker stop after the executor ended: {e}");
            }
            tokio::time::sleep(delay).await;
            let outcome = tokio::task::spawn_blocking({
                let name = name.clone();
                move || docker.remove(&name)
            })
            .await;
            match outcome {
                Ok(Ok(())) => tracing::info!(container = %name, "removed the Docker container"),
                Ok(Err(DockerError::Failed { message, .. })) if client::is_no_such(&message) => {}
                Ok(Err(e)) => {
                    tracing::warn!(container = %name, "cannot remove the Docker container: {e}")
                }
                Err(e) => {
                    tracing::warn!(container = %name, "cannot remove the Docker container: {e}")
                }
            }
        });
    }
}

/// Whether `program` is the Docker executor (by its file name).
fn is_docker_executor(program: Option<&str>) -> bool {
    program
        .map(Path::new)
        .and_then(Path::file_name)
        .is_some_and(|n| n == DOCKER_EXECUTOR)
}

impl Containerizer for DockerContainerizer {
    fn name(&self) -> &'static str {
        "docker"
    }

    fn launch(&self, mut spec: LaunchSpec) -> Result<Container, LaunchError> {
        if !spec.container.as_ref().is_some_and(|c| c.is_docker()) {
            return Err(LaunchError::Refused(
                "the docker containerizer runs only DOCKER containers".into(),
            ));
        }
        if !is_docker_executor(spec.command.value.as_deref()) {
            return Err(LaunchError::Refused(
                "custom executors in Docker containers are not supported: give the task a command"
                    .into(),
            ));
        }
        let args = self.executor_arguments(&spec.container_id, &spec.sandbox);
        if spec.command.arguments.is_empty() {
            spec.command.arguments = spec.command.value.iter().cloned().collect();
        }
        spec.command.shell = false;
        spec.command.arguments.extend(args);
        let id = spec.container_id.clone();
        // The executor itself runs on the host, as any process.
        spec.container = None;
        let executor = self.executors.launch(spec)?;
        self.remove_when_done(&id, executor.clone());
        Ok(executor)
    }

    fn recover(
        &self,
        id: &ContainerId,
        pid: i32,
        container: Option<&ContainerInfo>,
    ) -> Result<Container, LaunchError> {
        let executor = self.executors.recover(id, pid, container)?;
        self.remove_when_done(id, executor.clone());
        Ok(executor)
    }

    fn kill_orphans(&self, known: &[ContainerId]) {
        if !self.config.kill_orphans {
            return;
        }
        let docker = &self.config.docker;
        let names = match docker.ps(NAME_PREFIX) {
            Ok(names) => names,
            Err(e) => {
                tracing::warn!("cannot list Docker containers to remove orphans: {e}");
                return;
            }
        };
        for name in orphans(&names, known) {
            if let Err(e) = docker.stop(&name, self.config.stop_timeout) {
                tracing::debug!(container = %name, "docker stop of an orphan: {e}");
            }
            match docker.remove(&name) {
                Ok(()) => tracing::info!(container = %name, "removed an orphan Docker container"),
                Err(e) => {
                    tracing::warn!(container = %name, "cannot remove an orphan Docker container: {e}")
                }
            }
        }
    }

    /// For each container that has a Docker container: its executor's
    /// session plus that container's cgroups. Others are left out.
    fn usage(&self, containers: &[(ContainerId, i32)]) -> HashMap<ContainerId, Usage> {
        if containers.is_empty() {
            return HashMap::new();
        }
        let names: Vec<String> = containers
            .iter()
            .map(|(id, _)| container_name(id))
            .collect();
        let ids = self.config.docker.ids(&names);
        let executors = self.executors.usage(containers);
        containers
            .iter()
            .filter_map(|(id, _)| {
                let docker_id = ids.get(&container_name(id))?;
                let inside = usage::of_container(Path::new("/sys/fs/cgroup"), docker_id)?;
                let mut total = executors.get(id).copied().unwrap_or_default();
                usage::add(&mut total, &inside);
                Some((id.clone(), total))
            })
            .collect()
    }
}

/// The `mesos-*` names among `names` that belong to none of `known`.
pub fn orphans(names: &[String], known: &[ContainerId]) -> Vec<String> {
    names
        .iter()
        .filter(|name| {
            let id = name.strip_prefix(NAME_PREFIX).unwrap_or(name);
            // `mesos-<id>.executor` is Mesos's name for an executor's own
            // container: it belongs to `<id>` too.
            let id = id.strip_suffix(".executor").unwrap_or(id);
            !known.iter().any(|k| k.as_str() == id)
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use wire::mesos::{CommandInfo, ContainerInfo, ContainerType, DockerInfo};
    use wire::resources::Resources;

    use super::*;

    fn config() -> DockerConfig {
        DockerConfig {
            docker: Docker::new("/usr/bin/docker", Path::new("/run/d.sock")),
            sandbox_directory: "/mnt/mesos/sandbox".into(),
            stop_timeout: Duration::ZERO,
            remove_delay: Duration::from_secs(6 * 3600),
            kill_orphans: true,
        }
    }

    #[test]
    fn orphans_are_the_mesos_containers_of_unknown_ids() {
        let names: Vec<String> = ["mesos-a", "mesos-b", "mesos-b.executor", "mesos-c"]
            .map(String::from)
            .to_vec();
        let known = [ContainerId::new("b"), ContainerId::new("x")];
        assert_eq!(orphans(&names, &known), ["mesos-a", "mesos-c"]);
        assert!(orphans(&names[1..3], &known).is_empty());
    }

    #[test]
    fn the_docker_executor_is_told_how_to_reach_docker() {
        let c = DockerContainerizer::new(config());
        assert_eq!(
            c.executor_arguments(&ContainerId::new("c1"), Path::new("/w/s")),
            [
                "--container=mesos-c1",
                "--docker=/usr/bin/docker",
                "--docker_socket=/run/d.sock",
                "--sandbox_directory=/w/s",
                "--mapped_directory=/mnt/mesos/sandbox",
                "--stop_timeout=0ns",
            ]
        );
    }

    #[test]
    fn only_docker_command_tasks_are_launched() {
        let c = DockerContainerizer::new(config());
        let docker = ContainerInfo {
            kind: ContainerType::Docker,
            docker: Some(DockerInfo::new("busybox")),
            volumes: Vec::new(),
            hostname: None,
            network_infos: Vec::new(),
        };
        let spec = |command: &str, container: Option<ContainerInfo>| LaunchSpec {
            container_id: ContainerId::new("c1"),
            resources: Resources::new(),
            command: CommandInfo::shell(command),
            sandbox: "/nonexistent".into(),
            env: Vec::new(),
            inherit_env: true,
            user: None,
            container,
        };
        let err = c
            .launch(spec("/bin/mesos-docker-executor", None))
            .unwrap_err();
        assert!(err.to_string().contains("only DOCKER"), "{err}");
        let err = c.launch(spec("./my-executor", Some(docker))).unwrap_err();
        assert!(
            err.to_string().starts_with("custom executors in Docker"),
            "{err}"
        );
        assert!(is_docker_executor(Some("/libexec/mesos-docker-executor")));
        assert!(!is_docker_executor(Some("/libexec/mesos-executor")));
    }
}
