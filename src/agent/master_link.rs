//! The agent's handlers for what comes from the master (and from the
//! leader detector): registration answers, pings, tasks to run or kill,
//! acknowledgements, framework changes and shutdowns. Each checks the
//! sender, asks the records in [`super::state`] and acts through the
//! process's shared acts.
//!
//! Receives: AgentRegistered, AgentReregistered, PingAgent, RunTask,
//! RunTaskGroup, KillTask, StatusUpdateAcknowledgement, ShutdownFramework,
//! ShutdownExecutor, FrameworkToExecutor, UpdateFramework, ShutdownAgent,
//! and from itself RegistrationRetry (in the process), PingTimeout,
//! RetryUpdate, LeaderDetected. Sends to the master: PongAgent,
//! StatusUpdateMessage; to executors: RunTask, RunTaskGroup, KillTask,
//! FrameworkToExecutor.

use std::time::Duration;

use actors::{Cx, Handle, Pid};
use wire::agent::{
    AgentRegistered, AgentReregistered, FrameworkToExecutor, KillTask, PingAgent, PongAgent,
    RunTask, RunTaskGroup, ShutdownAgent, ShutdownExecutor, ShutdownFramework,
    StatusUpdateAcknowledgement, StatusUpdateMessage, UpdateFramework,
};
use wire::ids::{AgentId, ExecutorId, FrameworkId, TaskId};
use wire::mesos::{ExecutorInfo, FrameworkInfo, TaskInfo};
use wire::resources::Resources;
use wire::task::{Reason, TaskState};

use super::launch;
use super::process::{Agent, PingTimeout, RegistrationRetry, RetryUpdate, DEFAULT_PING_TIMEOUT};
use super::state::{ExecutorPhase, HostedFramework, KillTarget, Lifecycle, TaskEnd};
use crate::stop::StopReason;
use crate::zookeeper::LeaderDetected;

impl Agent {
    fn on_registered(&mut self, agent_id: AgentId, total_ping: f64, cx: &mut Cx<'_, Self>) {
        if !matches!(self.lifecycle, Lifecycle::Disconnected { .. }) {
            // Registered already, or not registering (recovering,
            // terminating): nothing was asked.
            return;
        }
        tracing::info!(agent = %agent_id, "registered with the master");
        self.info.id = Some(agent_id);
        if let Err(e) = self.store.agent(&self.info) {
            tracing::error!("{e}");
        }
        self.lifecycle = Lifecycle::Running {
            ping_timeout: Duration::try_from_secs_f64(total_ping).unwrap_or(DEFAULT_PING_TIMEOUT),
        };
        self.reset_ping_watchdog(cx);
        // Updates that waited for a master go out now.
        let pid = cx.me().to_string();
        for update in self.updates.heads() {
            cx.send(
                &self.master,
                StatusUpdateMessage {
                    update,
                    pid: Some(pid.clone()),
                },
            );
        }
    }
}

/// The master's new total for this agent (reservations or volumes
/// changed): checkpointed before anything else, so that it is what the
/// agent reports after a restart, and volume directories follow it.
impl Handle<wire::agent::CheckpointResources> for Agent {
    fn handle(&mut self, msg: wire::agent::CheckpointResources, from: &Pid, _: &mut Cx<'_, Self>) {
        if !self.is_master(from) {
            return;
        }
        let old = std::mem::replace(&mut self.info.resources, msg.resources);
        tracing::info!(resources = %self.info.resources, "checkpointing the total the master gave");
        if let Err(e) = self.store.agent(&self.info) {
            tracing::error!("{e}");
        }
        for e in super::volumes::sync(&self.flags.work_dir, &old, &self.info.resources) {
            tracing::error!("{e}");
        }
    }
}

impl Handle<AgentRegistered> for Agent {
    fn handle(&mut self, msg: AgentRegistered, from: &Pid, cx: &mut Cx<'_, Self>) {
        if self.is_master(from) {
            self.on_registered(msg.agent_id, msg.total_ping_timeout_seconds, cx);
        }
    }
}

impl Handle<AgentReregistered> for Agent {
    fn handle(&mut self, msg: AgentReregistered, from: &Pid, cx: &mut Cx<'_, Self>) {
        if self.is_master(from) {
            self.on_registered(msg.agent_id, msg.total_ping_timeout_seconds, cx);
        }
    }
}

impl Handle<PingAgent> for Agent {
    fn handle(&mut self, msg: PingAgent, from: &Pid, cx: &mut Cx<'_, Self>) {
        if from.address() != self.master.address() {
            return;
        }
        cx.send(from, PongAgent);
        if self.is_registered() {
            self.reset_ping_watchdog(cx);
            if !msg.connected {
                // The master forgot us: register again.
                self.disconnect();
                self.register(cx);
            }
        }
    }
}

impl Handle<PingTimeout> for Agent {
    fn handle(&mut self, _: PingTimeout, _: &Pid, cx: &mut Cx<'_, Self>) {
        if let Lifecycle::Running { ping_timeout } = self.lifecycle {
            tracing::warn!("no ping from the master for {ping_timeout:?}; registering again");
            self.disconnect();
            self.register(cx);
        }
    }
}

impl Handle<LeaderDetected> for Agent {
    fn handle(&mut self, msg: LeaderDetected, _: &Pid, cx: &mut Cx<'_, Self>) {
        let Some(pid) = msg.leader.and_then(|l| l.pid.parse::<Pid>().ok()) else {
            tracing::warn!("no leading master; waiting for one");
            if self.is_registered() {
                self.lifecycle = Lifecycle::Disconnected {
                    backoff: self.flags.registration_backoff_factor,
                };
            }
            return;
        };
        if pid == self.master && self.is_registered() {
            return;
        }
        tracing::info!(master = %pid, "new leading master detected; registering with it");
        self.master = pid;
        self.disconnect();
        let backoff = self.flags.registration_backoff_factor;
        cx.delay(crate::random::upto(backoff), RegistrationRetry);
    }
}

impl Handle<RunTask> for Agent {
    fn handle(&mut self, msg: RunTask, from: &Pid, cx: &mut Cx<'_, Self>) {
        if !self.is_master(from) || !self.is_registered() {
            tracing::warn!(%from, "ignoring RunTask not from the registered master");
            return;
        }
        let Some(framework_id) = self.framework_for(&msg.framework, &msg.framework_pid) else {
            return;
        };
        let (executor, command_executor) =
            launch::executor_for(&self.flags.launcher_dir, &msg.task, &framework_id);
        let run = Run {
            framework: msg.framework,
            framework_pid: msg.framework_pid,
            executor,
            command_executor,
            tasks: vec![msg.task],
            group: false,
        };
        self.run(framework_id, run, cx);
    }
}

impl Handle<RunTaskGroup> for Agent {
    fn handle(&mut self, msg: RunTaskGroup, from: &Pid, cx: &mut Cx<'_, Self>) {
        if !self.is_master(from) || !self.is_registered() {
            tracing::warn!(%from, "ignoring RunTaskGroup not from the registered master");
            return;
        }
        let Some(framework_id) = self.framework_for(&msg.framework, &msg.framework_pid) else {
            return;
        };
        let executor =
            launch::group_executor(&self.flags.launcher_dir, &msg.executor, &framework_id);
        let run = Run {
            framework: msg.framework,
            framework_pid: msg.framework_pid,
            executor,
            command_executor: false,
            tasks: msg.tasks,
            group: true,
        };
        self.run(framework_id, run, cx);
    }
}

/// Tasks the master sends, for one executor: a lone task (RunTask) or a
/// task group (RunTaskGroup), which the executor is to get whole.
struct Run {
    framework: FrameworkInfo,
    framework_pid: Option<String>,
    executor: ExecutorInfo,
    command_executor: bool,
    tasks: Vec<TaskInfo>,
    group: bool,
}

impl Agent {
    /// The framework record of `info` (created on its first task), told its
    /// latest info and scheduler pid; `None` if `info` has no id.
    fn framework_for(&mut self, info: &FrameworkInfo, pid: &Option<String>) -> Option<FrameworkId> {
        let framework_id = info.id.clone()?;
        self.frameworks
            .entry(framework_id.clone())
            .or_insert_with(|| HostedFramework::new(info.clone(), pid.clone()))
            .update(info, pid);
        Some(framework_id)
    }

    /// Hands tasks to their executor: at once if it runs, queued until it
    /// registers otherwise (launching it if need be); lost if it is
    /// terminating, failed if it cannot be launched.
    fn run(&mut self, framework_id: FrameworkId, run: Run, cx: &mut Cx<'_, Self>) {
        let executor_id = run.executor.executor_id.clone();
        let ids: Vec<TaskId> = run.tasks.iter().map(|t| t.task_id.clone()).collect();
        tracing::info!(framework = %framework_id, executor = %executor_id, tasks = ?ids, "running tasks");
        let phase = self
            .frameworks
            .get(&framework_id)
            .and_then(|f| f.executor(&executor_id))
            .map(|e| e.phase());
        let key = (&framework_id, &executor_id);
        match phase {
            Some(ExecutorPhase::Terminating) => {
                let end = TaskEnd::new(
                    TaskState::Lost,
                    Reason::ExecutorTerminated,
                    "Executor is terminating",
                );
                self.end_tasks(key, &ids, &end, cx);
            }
            Some(ExecutorPhase::Running) => {
                let agent_id = self.info.id.clone();
                let Some(e) = self
                    .frameworks
                    .get_mut(&framework_id)
                    .and_then(|f| f.executor_mut(&executor_id))
                else {
                    return;
                };
                if let Some(agent_id) = agent_id {
                    e.stage(&run.tasks, &framework_id, &agent_id);
                }
                let executor = e.info().clone();
                // Volumes of a task joining a running executor (not for a
                // Docker container, whose mounts are fixed at its start).
                if !executor.container.as_ref().is_some_and(|c| c.is_docker()) {
                    let volumes = Resources::sum(run.tasks.iter().map(|t| &t.resources));
                    if let Err(err) =
                        super::volumes::link(&self.flags.work_dir, e.directory(), &volumes)
                    {
                        tracing::warn!(framework = %framework_id, executor = %executor_id, "{err}");
                    }
                }
                if run.group {
                    let message = RunTaskGroup {
                        framework: run.framework,
                        framework_pid: run.framework_pid,
                        executor,
                        tasks: run.tasks,
                    };
                    self.to_executor(&framework_id, &executor_id, message, cx);
                } else {
                    for task in run.tasks {
                        let message = RunTask {
                            framework: run.framework.clone(),
                            framework_pid: run.framework_pid.clone(),
                            task,
                        };
                        self.to_executor(&framework_id, &executor_id, message, cx);
                    }
                }
            }
            Some(ExecutorPhase::Registering) => self.queue(key, run),
            None => {
                let volumes = run
                    .tasks
                    .iter()
                    .fold(run.executor.resources.clone(), |all, t| {
                        all.plus(&t.resources)
                    })
                    .persistent_volumes();
                let launched = self.launch_executor(
                    &run.framework,
                    run.executor.clone(),
                    run.command_executor,
                    &volumes,
                    cx,
                );
                match launched {
                    Ok(()) => self.queue(key, run),
                    Err(e) => {
                        tracing::warn!(framework = %framework_id, executor = %executor_id, "launch failed: {e}");
                        if let Some(m) = &self.metrics {
                            m.container_launch_errors.inc();
                        }
                        let end = TaskEnd::new(TaskState::Failed, Reason::ContainerLaunchFailed, e);
                        self.end_tasks(key, &ids, &end, cx);
                    }
                }
            }
        }
        self.update_container(&framework_id, &executor_id);
        self.checkpoint_framework(&framework_id);
        self.checkpoint_executor(&framework_id, &executor_id);
    }

    /// Keeps tasks for their executor until it registers (a group stays
    /// one group).
    fn queue(&mut self, (framework_id, executor_id): (&FrameworkId, &ExecutorId), run: Run) {
        if let Some(e) = self
            .frameworks
            .get_mut(framework_id)
            .and_then(|f| f.executor_mut(executor_id))
        {
            e.queue(run.tasks, run.group);
        }
    }
}

impl Handle<RetryUpdate> for Agent {
    fn handle(&mut self, retry: RetryUpdate, _: &Pid, cx: &mut Cx<'_, Self>) {
        let forward = self
            .updates
            .retry(&retry.framework_id, &retry.task_id, &retry.uuid);
        self.send_forward(forward, cx);
    }
}

impl Handle<StatusUpdateAcknowledgement> for Agent {
    fn handle(&mut self, msg: StatusUpdateAcknowledgement, from: &Pid, cx: &mut Cx<'_, Self>) {
        if !self.is_master(from) {
            return;
        }
        match self
            .updates
            .acknowledge(&msg.framework_id, &msg.task_id, &msg.uuid)
        {
            Ok(forward) => self.send_forward(forward, cx),
            Err(e) => tracing::warn!(task = %msg.task_id, "{e}"),
        }
        let executor = self
            .frameworks
            .get(&msg.framework_id)
            .and_then(|f| f.executor_of_task(&msg.task_id));
        if let Some(executor_id) = executor {
            self.checkpoint_executor(&msg.framework_id, &executor_id);
        }
        self.garbage_collect();
    }
}

impl Handle<KillTask> for Agent {
    fn handle(&mut self, msg: KillTask, from: &Pid, cx: &mut Cx<'_, Self>) {
        if !self.is_master(from) {
            return;
        }
        let target = self
            .frameworks
            .get_mut(&msg.framework_id)
            .map_or(KillTarget::Unknown, |f| f.kill_target(&msg.task_id));
        match target {
            KillTarget::Unqueued(eid) => {
                let end = TaskEnd::new(
                    TaskState::Killed,
                    Reason::TaskKilledDuringLaunch,
                    "Killed before the executor registered",
                );
                self.agent_update((&msg.framework_id, Some(&eid), &msg.task_id), &end, cx);
                let idle = self
                    .frameworks
                    .get(&msg.framework_id)
                    .and_then(|f| f.executor(&eid))
                    .is_some_and(|e| e.is_idle());
                if idle {
                    self.shutdown_executor(&msg.framework_id, &eid, cx);
                }
            }
            KillTarget::Launched(eid) => {
                let framework_id = msg.framework_id.clone();
                self.to_executor(&framework_id, &eid, msg, cx);
            }
            KillTarget::Unknown => {
                // The master thinks the task is here; it is not.
                let executor = ExecutorId::new(msg.task_id.value.clone());
                let end = TaskEnd::new(
                    TaskState::Lost,
                    Reason::TaskUnknown,
                    "Task is unknown to the agent",
                );
                self.agent_update((&msg.framework_id, Some(&executor), &msg.task_id), &end, cx);
            }
        }
    }
}

impl Handle<ShutdownFramework> for Agent {
    fn handle(&mut self, msg: ShutdownFramework, from: &Pid, cx: &mut Cx<'_, Self>) {
        if !self.is_master(from) {
            return;
        }
        let executors: Vec<ExecutorId> = self
            .frameworks
            .get(&msg.framework_id)
            .map(|f| f.executors().keys().cloned().collect())
            .unwrap_or_default();
        tracing::info!(framework = %msg.framework_id, "shutting down framework");
        if let Some(f) = self.frameworks.get_mut(&msg.framework_id) {
            f.terminate();
        }
        for e in executors {
            self.shutdown_executor(&msg.framework_id, &e, cx);
        }
        self.updates.forget_framework(&msg.framework_id);
    }
}

impl Handle<ShutdownExecutor> for Agent {
    fn handle(&mut self, msg: ShutdownExecutor, from: &Pid, cx: &mut Cx<'_, Self>) {
        if self.is_master(from) {
            self.shutdown_executor(&msg.framework_id, &msg.executor_id, cx);
        }
    }
}

impl Handle<FrameworkToExecutor> for Agent {
    fn handle(&mut self, msg: FrameworkToExecutor, from: &Pid, cx: &mut Cx<'_, Self>) {
        if !self.is_master(from) {
            return;
        }
        let (framework_id, executor_id) = (msg.framework_id.clone(), msg.executor_id.clone());
        match self.to_executor(&framework_id, &executor_id, msg, cx) {
            true => {
                if let Some(m) = &self.metrics {
                    m.valid_framework_messages.inc();
                }
            }
            false => {
                tracing::warn!(executor = %executor_id, "dropping framework message for an unknown executor");
                if let Some(m) = &self.metrics {
                    m.invalid_framework_messages.inc();
                }
            }
        }
    }
}

impl Handle<UpdateFramework> for Agent {
    fn handle(&mut self, msg: UpdateFramework, from: &Pid, _: &mut Cx<'_, Self>) {
        if self.is_master(from) {
            if let Some(f) = self.frameworks.get_mut(&msg.framework_id) {
                f.set_pid(msg.framework_pid);
            }
            self.checkpoint_framework(&msg.framework_id);
        }
    }
}

impl Handle<ShutdownAgent> for Agent {
    fn handle(&mut self, msg: ShutdownAgent, from: &Pid, cx: &mut Cx<'_, Self>) {
        if !self.is_master(from) {
            return;
        }
        tracing::warn!("the master asked this agent to shut down: {}", msg.message);
        for executor in self
            .frameworks
            .values()
            .flat_map(|f| f.executors().values())
        {
            if let Some(c) = executor.container() {
                c.signal(libc::SIGKILL);
            }
        }
        self.terminate(StopReason::ShutdownByMaster(msg.message), cx);
    }
}
