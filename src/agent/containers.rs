//! The agent's side of its executors' containers: the executor's
//! environment, launching a container, watching it end, shutting it down
//! (with the grace period) and what an executor's exit leaves to do. The
//! containers themselves are [`crate::container`]'s.
//!
//! Receives from itself: RegistrationTimeout, KillContainer,
//! ExecutorExited. Sends (through `Agent::act`) to executors:
//! ShutdownExecutor; to the master: ExitedExecutor.

use std::path::Path;

use actors::{Cx, Handle, Pid};
use wire::ids::{ContainerId, ExecutorId, FrameworkId};
use wire::mesos::{ExecutorInfo, FrameworkInfo};

use super::process::{Agent, ExecutorExited, KillContainer, RegistrationTimeout};
use super::state::{ExecutorRecord, TaskEnd};
use crate::container::{self, ExecutorEnvironment};
use wire::task::{Reason, TaskState};

impl Agent {
    /// The `MESOS_*` environment an executor starts with (the one place it
    /// is written; the executors parse it).
    pub(super) fn executor_env(
        &self,
        framework: &FrameworkInfo,
        executor: &ExecutorInfo,
        directory: &Path,
        me: &Pid,
    ) -> Vec<(String, String)> {
        let grace = executor
            .shutdown_grace_period
            .and_then(|s| std::time::Duration::try_from_secs_f64(s).ok())
            .unwrap_or(self.flags.executor_shutdown_grace_period);
        let mut env = ExecutorEnvironment {
            framework_id: framework.id.clone().unwrap_or_else(|| FrameworkId::new("")),
            executor_id: executor.executor_id.clone(),
            directory: directory.to_owned(),
            sandbox: directory.to_owned(),
            agent_id: self.agent_id().cloned(),
            agent: me.clone(),
            agent_endpoint: Some(me.address().to_string()),
            checkpoint: framework.checkpoint,
            http_command_executor: false,
            shutdown_grace_period: grace,
            recovery_timeout: self.flags.recovery_timeout,
            ip: me.address().ip(),
            port: 0,
        }
        .to_vars();
        if let Some(home) = &self.flags.frameworks_home {
            env.push((super::fetcher::HOME_VAR.into(), home.display().to_string()));
        }
        // The operator's fixed environment (Mesos's
        // --executor_environment_variables) replaces the agent's own; the
        // variables above and the command's own still apply on top.
        if let Some(fixed) = &self.flags.executor_environment_variables {
            env.splice(0..0, fixed.iter().cloned());
        }
        env.extend(executor.command.environment.iter().cloned());
        env
    }

    /// Starts an executor's container for `task`'s framework.
    pub(super) fn launch_executor(
        &mut self,
        framework: &FrameworkInfo,
        mut executor: ExecutorInfo,
        command_executor: bool,
        volumes: &wire::resources::Resources,
        cx: &mut Cx<'_, Self>,
    ) -> Result<(), String> {
        let (Some(framework_id), Some(agent_id)) = (framework.id.clone(), self.agent_id().cloned())
        else {
            return Err("agent is not registered".into());
        };
        let container_id = ContainerId::new(crate::random::uuid_v4_string());
        let directory = container::create_sandbox(
            &self.flags.work_dir,
            &agent_id,
            &framework_id,
            &executor.executor_id,
            &container_id,
        )
        .map_err(|e| format!("cannot create the sandbox: {e}"))?;
        // Persistent volumes of the executor and its first tasks.
        match executor.container.take() {
            Some(c) if c.is_docker() => {
                executor.container = Some(
                    super::volumes::into_docker(&self.flags.work_dir, c, volumes)
                        .map_err(|e| e.to_string())?,
                );
            }
            other => {
                executor.container = other;
                super::volumes::link(&self.flags.work_dir, &directory, volumes)
                    .map_err(|e| e.to_string())?;
            }
        }
        let mut env = self.executor_env(framework, &executor, &directory, cx.me());
        let (command, fetching) = super::fetcher::wrap(
            &executor.command,
            &self.flags.launcher_dir,
            &self.flags.fetcher_cache,
        );
        env.extend(fetching);
        let spec = container::LaunchSpec {
            container_id: container_id.clone(),
            resources: executor.resources.clone(),
            command,
            sandbox: directory.clone(),
            env,
            inherit_env: self.flags.executor_environment_variables.is_none(),
            // As Mesos's --switch_user: the command's user, else the
            // framework's.
            user: self
                .flags
                .switch_user
                .then(|| {
                    executor
                        .command
                        .user
                        .clone()
                        .unwrap_or_else(|| framework.user.clone())
                })
                .filter(|u| !u.is_empty()),
            container: executor.container.clone(),
        };
        let container = self
            .containerizer
            .launch(spec)
            .map_err(|e| format!("cannot launch the executor: {e}"))?;
        let os_pid = container.pid();
        tracing::info!(framework = %framework_id, executor = %executor.executor_id, container = %container_id, os_pid, "launched executor");
        let timer = cx.delay(
            self.flags.executor_registration_timeout,
            RegistrationTimeout {
                framework_id: framework_id.clone(),
                executor_id: executor.executor_id.clone(),
                container_id: container_id.clone(),
            },
        );
        let (fid, eid, cid) = (
            framework_id.clone(),
            executor.executor_id.clone(),
            container_id.clone(),
        );
        watch_executor(container.clone(), (fid, eid, cid), cx);
        let record = ExecutorRecord::launched(
            executor,
            (container_id, directory),
            command_executor,
            container,
            timer,
            container::process_start_time(os_pid),
        );
        if let Some(f) = self.frameworks.get_mut(&framework_id) {
            f.add_executor(record);
        }
        Ok(())
    }

    /// Brings the limits of an executor's container to what it now holds:
    /// its own resources and those of its unfinished and queued tasks
    /// (Mesos's `containerizer->update` when a task joins an executor).
    pub(super) fn update_container(&self, framework_id: &FrameworkId, executor_id: &ExecutorId) {
        let Some(e) = self
            .frameworks
            .get(framework_id)
            .and_then(|f| f.executor(executor_id))
            .filter(|e| e.container().is_some())
        else {
            return;
        };
        let held = e
            .tasks()
            .values()
            .filter(|t| !t.state.is_terminal())
            .map(|t| &t.resources)
            .chain(e.queued().iter().map(|t| &t.resources))
            .fold(e.info().resources.clone(), |all, r| all.plus(r));
        if let Err(err) =
            self.containerizer
                .update(e.container_id(), e.info().container.as_ref(), &held)
        {
            tracing::warn!(framework = %framework_id, executor = %executor_id, "cannot update the container's limits: {err}");
        }
    }

    /// Asks an executor to shut down, and kills its group after the grace
    /// period.
    pub(super) fn shutdown_executor(
        &mut self,
        framework_id: &FrameworkId,
        executor_id: &ExecutorId,
        cx: &mut Cx<'_, Self>,
    ) {
        let grace = self.flags.executor_shutdown_grace_period;
        let effects = self
            .frameworks
            .get_mut(framework_id)
            .and_then(|f| f.executor_mut(executor_id))
            .map(|e| e.shut_down(framework_id, grace))
            .unwrap_or_default();
        self.act(effects, cx);
    }

    /// An executor's process ended (or was found gone on recovery): its
    /// unfinished tasks fail (or end as the agent decided), and the master
    /// hears of a custom executor's exit.
    pub(super) fn executor_terminated(&mut self, msg: ExecutorExited, cx: &mut Cx<'_, Self>) {
        let Some(e) = self
            .frameworks
            .get_mut(&msg.framework_id)
            .and_then(|f| f.executor_mut(&msg.executor_id))
        else {
            return;
        };
        tracing::info!(framework = %msg.framework_id, executor = %msg.executor_id, "executor exited: {}", msg.message);
        if let Some(m) = &self.metrics {
            m.executors_terminated.inc();
        }
        let limited = msg.limitation.as_ref().map(limitation_end);
        let effects = e.exited_limited(&msg.framework_id, msg.status, &msg.message, limited);
        self.act(effects, cx);
        self.garbage_collect();
        self.check_recovery(cx);
    }
}

/// How the tasks of a container that hit `limitation` end: Mesos's
/// `TASK_FAILED` with `REASON_CONTAINER_LIMITATION_MEMORY` (or `_DISK`)
/// and the isolator's message.
pub(super) fn limitation_end(limitation: &container::Limitation) -> TaskEnd {
    let reason = match limitation.kind {
        container::LimitKind::Memory => Reason::ContainerLimitationMemory,
        container::LimitKind::Disk => Reason::ContainerLimitationDisk,
    };
    TaskEnd::new(TaskState::Failed, reason, limitation.message.clone())
}

/// Reports the end of an executor's container to the agent as
/// [`ExecutorExited`].
pub(super) fn watch_executor(
    container: container::Container,
    (framework_id, executor_id, container_id): (FrameworkId, ExecutorId, ContainerId),
    cx: &mut Cx<'_, Agent>,
) {
    cx.defer(
        async move {
            let exit = container.wait().await;
            // Set before the exit was published.
            (exit, container.limitation())
        },
        move |(exit, limitation)| {
            let (status, message) = match exit {
                Ok(status) => (status.raw(), status.to_string()),
                Err(e) => (-1, e.to_string()),
            };
            ExecutorExited {
                framework_id,
                executor_id,
                container_id,
                status,
                message,
                limitation,
            }
        },
    );
}

impl Handle<RegistrationTimeout> for Agent {
    fn handle(&mut self, timeout: RegistrationTimeout, _: &Pid, cx: &mut Cx<'_, Self>) {
        let (fid, eid) = (&timeout.framework_id, &timeout.executor_id);
        let Some(e) = self
            .frameworks
            .get_mut(fid)
            .and_then(|f| f.executor_mut(eid))
        else {
            return;
        };
        let effects = e.registration_timed_out(fid, &timeout.container_id);
        if !effects.is_empty() {
            tracing::warn!(framework = %fid, executor = %eid, "executor did not register in time; destroying it");
        }
        self.act(effects, cx);
    }
}

impl Handle<KillContainer> for Agent {
    fn handle(&mut self, kill: KillContainer, _: &Pid, _: &mut Cx<'_, Self>) {
        let run = self
            .frameworks
            .get(&kill.framework_id)
            .and_then(|f| f.executor(&kill.executor_id))
            .filter(|e| e.container_id() == &kill.container_id);
        if let Some(container) = run.and_then(|e| e.container()) {
            tracing::info!(framework = %kill.framework_id, executor = %kill.executor_id, "shutdown grace period over; killing the executor");
            container.signal(libc::SIGKILL);
        }
    }
}

impl Handle<ExecutorExited> for Agent {
    fn handle(&mut self, msg: ExecutorExited, _: &Pid, cx: &mut Cx<'_, Self>) {
        let current = self
            .frameworks
            .get(&msg.framework_id)
            .and_then(|f| f.executor(&msg.executor_id))
            .is_some_and(|e| e.container_id() == &msg.container_id);
        if current {
            self.executor_terminated(msg, cx);
        }
    }
}

/// The containerizer `--containerizers` names: each in the order given,
/// composed.
pub(super) fn containerizer_for(
    flags: &super::flags::AgentFlags,
) -> std::sync::Arc<dyn container::Containerizer> {
    let all: Vec<std::sync::Arc<dyn container::Containerizer>> = flags
        .containerizers
        .iter()
        .map(|name| -> std::sync::Arc<dyn container::Containerizer> {
            match name.as_str() {
                "docker" => std::sync::Arc::new(
                    container::docker::DockerContainerizer::new(flags.docker.clone())
                        .with_executors_as(&flags.containers),
                ),
                _ => std::sync::Arc::new(container::MesosContainerizer::from_config(
                    &flags.containers,
                )),
            }
        })
        .collect();
    if all.is_empty() {
        return std::sync::Arc::new(container::MesosContainerizer::from_config(
            &flags.containers,
        ));
    }
    std::sync::Arc::new(container::ComposingContainerizer::new(all))
}
