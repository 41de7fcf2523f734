//! The agent process (`slave(1)`): registers with the master, runs each
//! task's executor in a sandbox, relays launches, kills and framework
//! messages to executors, and carries status updates reliably to the master
//! through the status update manager.
//!
//! Receives from the master: AgentRegistered, AgentReregistered, PingAgent,
//! RunTask, KillTask, StatusUpdateAcknowledgement, ShutdownFramework,
//! ShutdownExecutor, FrameworkToExecutor, UpdateFramework, ShutdownAgent.
//! Receives from executors: RegisterExecutor, ReregisterExecutor,
//! StatusUpdateMessage, ExecutorToFramework. Sends to the master: RegisterAgent,
//! ReregisterAgent, PongAgent, StatusUpdateMessage, ExitedExecutor,
//! ExecutorToFramework. Sends to executors: ExecutorRegistered, RunTask,
//! KillTask, StatusUpdateAcknowledgement, ShutdownExecutor,
//! FrameworkToExecutor, ReconnectExecutor, ExecutorReregistered.
//!
//! Recovery (Mesos's agent recovery): what checkpointing frameworks run
//! here is checkpointed under `<work_dir>/meta` (see [`super::checkpoint`]).
//! A restarted agent reads it before registering, keeps its agent id,
//! watches the executors still alive and asks each to re-register
//! (ReconnectExecutor; v1 executors subscribe again by themselves); executors that do not within
//! `--executor_reregistration_timeout` are killed, those already gone are
//! terminated. Only then does it re-register with the master and resend
//! the updates the master had not acknowledged. With `--recover=cleanup`
//! it shuts the recovered executors down and exits instead.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::Duration;

use actors::actix::SpawnHandle;
use actors::{Cx, Handle, Install, Pid, Process};
use wire::agent::{
    AgentRegistered, AgentReregistered, ExecutorToFramework, ExitedExecutor, FrameworkToExecutor,
    KillTask, PingAgent, PongAgent, RegisterAgent, ReregisterAgent, RunTask, RunTaskGroup,
    ShutdownAgent, ShutdownExecutor, ShutdownFramework, StatusUpdateAcknowledgement,
    StatusUpdateMessage, UpdateFramework,
};
use wire::executor::{
    ExecutorRegistered, ExecutorReregistered, ReconnectExecutor, RegisterExecutor,
    ReregisterExecutor,
};
use wire::ids::{AgentId, ContainerId, ExecutorId, FrameworkId, TaskId};
use wire::mesos::{
    now_secs, AgentInfo, CommandInfo, ExecutorInfo, FrameworkInfo, StatusUpdate, Task, TaskInfo,
    TaskStatus, VERSION,
};
use wire::task::{Reason, Source, TaskState};

use super::checkpoint::{self, CheckpointedState, ExecutorCheckpoint, FrameworkCheckpoint};
use super::containerizer;
use super::executor_api::ToExecutorEvent;
use super::flags::{AgentFlags, Recover};
use super::status_updates::{Forward, StatusUpdateManager};
use bytes::Bytes;
use tokio::sync::mpsc::UnboundedSender;

/// The agent's process id, as Mesos names it.
pub const AGENT_ID: &str = "slave(1)";

/// Longest wait between registration attempts.
const REGISTER_RETRY_MAX: Duration = Duration::from_secs(60);
/// The ping timeout when the master's cannot be read.
const DEFAULT_PING_TIMEOUT: Duration = Duration::from_secs(75);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecutorPhase {
    Registering,
    Running,
    Terminating,
}

pub struct ExecutorRecord {
    pub info: ExecutorInfo,
    pub container_id: ContainerId,
    pub directory: PathBuf,
    pub phase: ExecutorPhase,
    /// Whether the agent made this executor to run a command task.
    pub command_executor: bool,
    /// The executor's process id once it registered (v0 executors).
    pub pid: Option<Pid>,
    /// The event stream of an executor subscribed over the v1 HTTP API.
    pub http: Option<UnboundedSender<Bytes>>,
    /// The executor's container while it runs (dropping the last handle of
    /// a running container kills it).
    pub container: Option<containerizer::Container>,
    /// Tasks waiting for the executor to register.
    pub queued: Vec<TaskInfo>,
    /// Which queued tasks came as one task group: each group still queued
    /// is handed to the executor in one `RunTaskGroup` (not checkpointed:
    /// after recovery they go one by one).
    pub queued_groups: Vec<Vec<TaskId>>,
    /// Tasks handed to the executor, with their latest state.
    pub tasks: HashMap<TaskId, Task>,
    registration_timer: Option<SpawnHandle>,
    /// The executor's OS pid and its start time, as checkpointed.
    os_pid: Option<i32>,
    os_start_time: Option<u64>,
    /// How its tasks end when it terminates, if the agent decided it
    /// (Mesos's `pendingTermination`): state, reason, message.
    pending_termination: Option<(TaskState, Reason, String)>,
}

pub struct HostedFramework {
    pub info: FrameworkInfo,
    pub pid: Option<String>,
    pub executors: HashMap<ExecutorId, ExecutorRecord>,
    /// The master shut the framework down (Mesos's TERMINATING): nobody
    /// will acknowledge its updates any more, so none are sent.
    pub terminating: bool,
}

/// Where the agent is in its life (Mesos's `Slave::State`: RECOVERING,
/// DISCONNECTED, RUNNING, TERMINATING), with what each state holds.
#[derive(Debug)]
pub enum Lifecycle {
    /// From construction until recovered executors have had their chance
    /// to re-register: no registration with the master yet. `checkpoint`
    /// is what the previous run left, until `started` takes it back.
    Recovering {
        checkpoint: Option<CheckpointedState>,
    },
    /// Not registered with a master: registering, the next retry within
    /// `backoff` (doubling up to a minute).
    Disconnected { backoff: Duration },
    /// Registered: without a ping for `ping_timeout` the agent registers
    /// again.
    Running { ping_timeout: Duration },
    /// Exiting (`--recover=cleanup`, or the master asked it to): nothing
    /// is registered any more.
    Terminating,
}

pub struct Agent {
    pub(super) flags: AgentFlags,
    /// What the master is told about this agent; `id` set once registered
    /// (or recovered).
    pub(super) info: AgentInfo,
    /// The master registered with, or to register with.
    pub(super) master: Pid,
    /// Recovering, disconnected, running or terminating.
    pub(super) lifecycle: Lifecycle,
    /// Fires when the master has not pinged for the total ping timeout;
    /// armed only while running.
    pub(super) ping_watchdog: Option<SpawnHandle>,
    /// Every framework with an executor here, keyed by its id.
    pub(super) frameworks: HashMap<FrameworkId, HostedFramework>,
    /// One ordered stream of unacknowledged updates per task.
    pub(super) updates: StatusUpdateManager,
    /// When the agent process was made, in seconds since the epoch.
    pub(super) start_time: f64,
    /// Set in `started`.
    pub(super) metrics: Option<super::metrics::AgentMetrics>,
    /// Where checkpoints go.
    pub(super) store: checkpoint::Store,
    /// Fires when recovered executors have had their time to re-register;
    /// armed only while recovering.
    pub(super) reregistration_timer: Option<SpawnHandle>,
}

/// Time to try registering again (while disconnected).
struct RegistrationRetry;
/// The master may have stopped pinging (checked against the watchdog).
struct PingTimeout;
/// Time to resend the head of a task's update stream if it is still
/// `uuid`.
struct RetryUpdate {
    framework_id: FrameworkId,
    task_id: TaskId,
    uuid: Vec<u8>,
}
/// An executor's container ended.
struct ExecutorExited {
    framework_id: FrameworkId,
    executor_id: ExecutorId,
    container_id: ContainerId,
    status: i32,
    message: String,
}
/// An executor run has had `--executor_registration_timeout` to register.
struct RegistrationTimeout {
    framework_id: FrameworkId,
    executor_id: ExecutorId,
    container_id: ContainerId,
}

/// Recovered executors have had `--executor_reregistration_timeout`.
struct ReregistrationTimeout;
/// The shutdown grace period of this executor run is over.
struct KillContainer {
    framework_id: FrameworkId,
    executor_id: ExecutorId,
    container_id: ContainerId,
}

impl Agent {
    pub fn new(flags: AgentFlags, info: AgentInfo, master: Pid) -> Agent {
        let flags_work_dir = flags.work_dir.clone();
        Agent {
            flags,
            info,
            master,
            lifecycle: Lifecycle::Recovering { checkpoint: None },
            ping_watchdog: None,
            frameworks: HashMap::new(),
            updates: StatusUpdateManager::default(),
            start_time: now_secs(),
            metrics: None,
            store: checkpoint::Store::new(&flags_work_dir),
            reregistration_timer: None,
        }
    }

    /// An agent that takes back what a previous run checkpointed
    /// ([`checkpoint::recover`]) when it starts.
    pub fn with_checkpoint(mut self, checkpoint: Option<CheckpointedState>) -> Agent {
        self.lifecycle = Lifecycle::Recovering { checkpoint };
        self
    }

    pub fn info(&self) -> &AgentInfo {
        &self.info
    }

    pub fn flags(&self) -> &AgentFlags {
        &self.flags
    }

    pub fn start_time(&self) -> f64 {
        self.start_time
    }

    pub fn master(&self) -> &Pid {
        &self.master
    }

    pub fn is_registered(&self) -> bool {
        matches!(self.lifecycle, Lifecycle::Running { .. })
    }

    /// Lost the master, or it forgot this agent: registering again, from
    /// the first backoff. Recovering or terminating, the agent stays so.
    pub(super) fn disconnect(&mut self) {
        if let Lifecycle::Running { .. } | Lifecycle::Disconnected { .. } = self.lifecycle {
            self.lifecycle = Lifecycle::Disconnected {
                backoff: self.flags.registration_backoff_factor,
            };
        }
    }

    /// The one place the agent ends its node: it stops the actix `System`.
    pub(super) fn terminate(&mut self, reason: &str) {
        tracing::info!("{reason}; exiting");
        self.lifecycle = Lifecycle::Terminating;
        actors::actix::System::current().stop();
    }

    fn agent_id(&self) -> Option<&AgentId> {
        self.info.id.as_ref()
    }

    fn register(&mut self, cx: &mut Cx<'_, Self>) {
        if !matches!(self.lifecycle, Lifecycle::Disconnected { .. }) {
            return;
        }
        cx.link(&self.master);
        match self.agent_id() {
            None => cx.send(
                &self.master,
                RegisterAgent {
                    info: self.info.clone(),
                    version: VERSION.into(),
                },
            ),
            Some(_) => {
                let (tasks, executors, frameworks) = self.report();
                cx.send(
                    &self.master,
                    ReregisterAgent {
                        info: self.info.clone(),
                        version: VERSION.into(),
                        tasks,
                        executors,
                        frameworks,
                    },
                );
            }
        }
        if let Lifecycle::Disconnected { backoff } = &mut self.lifecycle {
            let delay = random_upto(*backoff);
            *backoff = (*backoff * 2).min(REGISTER_RETRY_MAX);
            cx.delay(delay, RegistrationRetry);
        }
    }

    /// What this agent runs, for re-registration.
    fn report(&self) -> (Vec<Task>, Vec<ExecutorInfo>, Vec<FrameworkInfo>) {
        let mut tasks = Vec::new();
        let mut executors = Vec::new();
        let mut frameworks = Vec::new();
        for f in self.frameworks.values() {
            frameworks.push(f.info.clone());
            for e in f.executors.values() {
                executors.push(e.info.clone());
                tasks.extend(e.tasks.values().cloned());
                for q in &e.queued {
                    if let (Some(fid), Some(aid)) = (&f.info.id, self.agent_id()) {
                        tasks.push(staging_task(q, fid, aid, &e.info.executor_id));
                    }
                }
            }
        }
        (tasks, executors, frameworks)
    }

    /// Sends a message to an executor, over its event stream if it
    /// subscribed over HTTP. False when the executor is not subscribed.
    pub(super) fn to_executor<M: wire::Message + ToExecutorEvent>(
        &self,
        framework_id: &FrameworkId,
        executor_id: &ExecutorId,
        message: M,
        cx: &Cx<'_, Self>,
    ) -> bool {
        let Some(e) = self
            .frameworks
            .get(framework_id)
            .and_then(|f| f.executors.get(executor_id))
        else {
            return false;
        };
        if let Some(stream) = &e.http {
            return stream
                .send(Bytes::from(message.to_event().to_record()))
                .is_ok();
        }
        match &e.pid {
            Some(pid) => {
                cx.send(pid, message);
                true
            }
            None => false,
        }
    }

    fn is_master(&self, from: &Pid) -> bool {
        from == &self.master
    }

    fn reset_ping_watchdog(&mut self, cx: &mut Cx<'_, Self>) {
        if let Some(t) = self.ping_watchdog.take() {
            cx.cancel(t);
        }
        if let Lifecycle::Running { ping_timeout } = self.lifecycle {
            self.ping_watchdog = Some(cx.delay(ping_timeout, PingTimeout));
        }
    }

    /// A new update about a task, from an executor or made here: into its
    /// stream, and to the master if it is the stream's head.
    fn forward_update(&mut self, update: StatusUpdate, cx: &mut Cx<'_, Self>) {
        let terminating = self
            .frameworks
            .get(&update.framework_id)
            .is_some_and(|f| f.terminating);
        if terminating {
            // Kept, it would be retried forever and keep the framework
            // here: the master no longer knows it.
            tracing::info!(framework = %update.framework_id, task = %update.status.task_id,
                state = %update.status.state, "dropping a status update of a terminating framework");
            return;
        }
        let forward = self.updates.update(update);
        self.send_forward(forward, cx);
    }

    fn send_forward(&mut self, forward: Forward, cx: &mut Cx<'_, Self>) {
        let Forward::Send(update, backoff) = forward else {
            return;
        };
        let update = *update;
        if let Some(uuid) = update.uuid.clone() {
            cx.delay(
                backoff,
                RetryUpdate {
                    framework_id: update.framework_id.clone(),
                    task_id: update.status.task_id.clone(),
                    uuid,
                },
            );
        }
        if self.is_registered() {
            let pid = cx.me().to_string();
            cx.send(
                &self.master,
                StatusUpdateMessage {
                    update,
                    pid: Some(pid),
                },
            );
        }
    }

    /// An update the agent itself makes (launch failures, lost executors).
    fn agent_update(
        &mut self,
        (framework_id, executor_id, task_id): (&FrameworkId, Option<&ExecutorId>, &TaskId),
        state: TaskState,
        reason: Reason,
        message: &str,
        cx: &mut Cx<'_, Self>,
    ) {
        let uuid = new_uuid();
        let mut status = TaskStatus::new(task_id.clone(), state);
        status.source = Some(Source::Agent);
        status.reason = Some(reason);
        status.message = Some(message.to_owned());
        status.agent_id = self.agent_id().cloned();
        status.executor_id = executor_id.cloned();
        status.uuid = Some(uuid.clone());
        self.set_task_state(framework_id, executor_id, task_id, state);
        let update = StatusUpdate {
            framework_id: framework_id.clone(),
            executor_id: executor_id.cloned(),
            agent_id: self.agent_id().cloned(),
            timestamp: status.timestamp,
            status,
            uuid: Some(uuid),
            latest_state: Some(state),
        };
        self.forward_update(update, cx);
        if let Some(executor_id) = executor_id {
            self.checkpoint_executor(framework_id, executor_id);
        }
    }

    /// Records a task's new state; counts it when it becomes terminal.
    /// Tasks never handed to an executor (queued) are counted too.
    fn set_task_state(
        &mut self,
        framework_id: &FrameworkId,
        executor_id: Option<&ExecutorId>,
        task_id: &TaskId,
        state: TaskState,
    ) {
        let task = executor_id.and_then(|executor_id| {
            self.frameworks
                .get_mut(framework_id)
                .and_then(|f| f.executors.get_mut(executor_id))
                .and_then(|e| e.tasks.get_mut(task_id))
        });
        let newly_terminal = match task {
            Some(task) if !task.state.is_terminal() => {
                task.state = state;
                state.is_terminal()
            }
            Some(_) => false,
            None => state.is_terminal(),
        };
        if newly_terminal {
            if let Some(m) = &self.metrics {
                m.task_terminated(state);
            }
        }
    }

    fn executor_env(
        &self,
        framework: &FrameworkInfo,
        executor: &ExecutorInfo,
        directory: &std::path::Path,
        me: &Pid,
    ) -> Vec<(String, String)> {
        let grace = executor
            .shutdown_grace_period
            .and_then(|s| Duration::try_from_secs_f64(s).ok())
            .unwrap_or(self.flags.executor_shutdown_grace_period);
        let mut env = vec![
            (
                "MESOS_FRAMEWORK_ID".into(),
                framework
                    .id
                    .as_ref()
                    .map(|i| i.value.clone())
                    .unwrap_or_default(),
            ),
            (
                "MESOS_EXECUTOR_ID".into(),
                executor.executor_id.value.clone(),
            ),
            ("MESOS_DIRECTORY".into(), directory.display().to_string()),
            ("MESOS_SANDBOX".into(), directory.display().to_string()),
            (
                "MESOS_SLAVE_ID".into(),
                self.agent_id().map(|i| i.value.clone()).unwrap_or_default(),
            ),
            ("MESOS_SLAVE_PID".into(), me.to_string()),
            ("MESOS_AGENT_ENDPOINT".into(), me.address().to_string()),
            (
                "MESOS_CHECKPOINT".into(),
                if framework.checkpoint { "1" } else { "0" }.into(),
            ),
            ("MESOS_HTTP_COMMAND_EXECUTOR".into(), "0".into()),
            (
                "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD".into(),
                crate::flags::format_duration(grace),
            ),
            (
                "MESOS_RECOVERY_TIMEOUT".into(),
                crate::flags::format_duration(self.flags.recovery_timeout),
            ),
            ("LIBPROCESS_PORT".into(), "0".into()),
            ("LIBPROCESS_IP".into(), me.address().ip().to_string()),
        ];
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
    fn launch_executor(
        &mut self,
        framework: &FrameworkInfo,
        executor: ExecutorInfo,
        command_executor: bool,
        cx: &mut Cx<'_, Self>,
    ) -> Result<(), String> {
        let (Some(framework_id), Some(agent_id)) = (framework.id.clone(), self.agent_id().cloned())
        else {
            return Err("agent is not registered".into());
        };
        let container_id = ContainerId::new(uuid_string());
        let directory = containerizer::create_sandbox(
            &self.flags.work_dir,
            &agent_id,
            &framework_id,
            &executor.executor_id,
            &container_id,
        )
        .map_err(|e| format!("cannot create the sandbox: {e}"))?;
        let mut env = self.executor_env(framework, &executor, &directory, cx.me());
        let (command, fetching) = super::fetcher::wrap(
            &executor.command,
            &self.flags.launcher_dir,
            &self.flags.fetcher_cache,
        );
        env.extend(fetching);
        let container = containerizer::launch(containerizer::LaunchSpec {
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
        })
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
        let record = ExecutorRecord {
            info: executor.clone(),
            container_id,
            directory,
            phase: ExecutorPhase::Registering,
            command_executor,
            pid: None,
            http: None,
            container: Some(container),
            queued: Vec::new(),
            queued_groups: Vec::new(),
            tasks: HashMap::new(),
            registration_timer: Some(timer),
            os_pid: Some(os_pid),
            os_start_time: containerizer::process_start_time(os_pid),
            pending_termination: None,
        };
        if let Some(f) = self.frameworks.get_mut(&framework_id) {
            f.executors.insert(executor.executor_id, record);
        }
        Ok(())
    }

    /// The executor a task runs under: its own, or a command executor made
    /// for it (executor id = task id), as Mesos does.
    fn executor_for(&self, task: &TaskInfo, framework_id: &FrameworkId) -> (ExecutorInfo, bool) {
        if let Some(e) = &task.executor {
            let mut e = e.clone();
            e.framework_id = Some(framework_id.clone());
            return (e, false);
        }
        let program = self
            .flags
            .launcher_dir
            .join("mesos-executor")
            .display()
            .to_string();
        let shown = task
            .command
            .as_ref()
            .and_then(|c| c.value.clone())
            .unwrap_or_default();
        let mut command = CommandInfo {
            value: Some(program.clone()),
            shell: false,
            arguments: vec![program],
            environment: Vec::new(),
            uris: Vec::new(),
            user: None,
        };
        if let Some(c) = &task.command {
            command.environment = c.environment.clone();
            // The command executor inherits the task's URIs (fetched into
            // the sandbox before it starts) and user.
            command.uris = c.uris.clone();
            command.user = c.user.clone();
        }
        (
            ExecutorInfo {
                executor_id: ExecutorId::new(task.task_id.value.clone()),
                framework_id: Some(framework_id.clone()),
                command,
                resources: wire::resources::Resources::new(),
                name: Some(format!(
                    "Command Executor (Task: {}) (Command: sh -c '{shown}')",
                    task.task_id
                )),
                shutdown_grace_period: None,
            },
            true,
        )
    }

    /// A task group's executor: a blank command (Mesos's `type: DEFAULT`)
    /// becomes `<launcher_dir>/mesos-default-executor`, keeping the
    /// command's environment, URIs and user.
    fn group_executor(&self, executor: &ExecutorInfo, framework_id: &FrameworkId) -> ExecutorInfo {
        let mut executor = executor.clone();
        executor.framework_id = Some(framework_id.clone());
        if executor.is_default() {
            let program = self
                .flags
                .launcher_dir
                .join("mesos-default-executor")
                .display()
                .to_string();
            executor.command.value = Some(program.clone());
            executor.command.shell = false;
            executor.command.arguments = vec![program];
            if executor.name.is_none() {
                executor.name = Some("Default Executor".into());
            }
        }
        executor
    }

    /// Asks an executor to shut down, and kills its group after the grace
    /// period.
    fn shutdown_executor(
        &mut self,
        framework_id: &FrameworkId,
        executor_id: &ExecutorId,
        cx: &mut Cx<'_, Self>,
    ) {
        let grace = self.flags.executor_shutdown_grace_period;
        let Some(e) = self
            .frameworks
            .get_mut(framework_id)
            .and_then(|f| f.executors.get_mut(executor_id))
        else {
            return;
        };
        if e.phase == ExecutorPhase::Terminating {
            return;
        }
        e.phase = ExecutorPhase::Terminating;
        let queued: Vec<TaskId> = e.queued.drain(..).map(|t| t.task_id).collect();
        let pid = e.pid.clone();
        let container_id = e.container_id.clone();
        let grace = e
            .info
            .shutdown_grace_period
            .and_then(|s| Duration::try_from_secs_f64(s).ok())
            .unwrap_or(grace);
        let subscribed = pid.is_some() || e.http.is_some();
        match subscribed {
            true => {
                let shutdown = ShutdownExecutor {
                    framework_id: framework_id.clone(),
                    executor_id: executor_id.clone(),
                };
                self.to_executor(framework_id, executor_id, shutdown, cx);
                cx.delay(
                    grace,
                    KillContainer {
                        framework_id: framework_id.clone(),
                        executor_id: executor_id.clone(),
                        container_id,
                    },
                );
            }
            false => {
                if let Some(c) = &e.container {
                    c.signal(libc::SIGKILL);
                }
            }
        }
        for task_id in queued {
            self.agent_update(
                (framework_id, Some(executor_id), &task_id),
                TaskState::Killed,
                Reason::TaskKilledDuringLaunch,
                "Executor shut down before the task launched",
                cx,
            );
        }
    }

    /// Forgets executors that ended and whose tasks' updates are all
    /// acknowledged, and frameworks left with no executor.
    fn garbage_collect(&mut self) {
        let updates = &self.updates;
        let mut gone = Vec::new();
        for (fid, f) in self.frameworks.iter_mut() {
            f.executors.retain(|eid, e| {
                let alive = e.phase != ExecutorPhase::Terminating || e.container.is_some();
                let keep = alive || e.tasks.keys().any(|t| updates.has_pending(fid, t));
                if !keep && f.info.checkpoint {
                    gone.push((fid.clone(), eid.clone()));
                }
                keep
            });
        }
        for (fid, eid) in gone {
            if let Err(e) = self.store.remove_executor(&fid, &eid) {
                tracing::error!(framework = %fid, executor = %eid, "{e}");
            }
        }
        let store = &self.store;
        self.frameworks.retain(|fid, f| {
            let keep = !f.executors.is_empty();
            if !keep && f.info.checkpoint {
                if let Err(e) = store.remove_framework(fid) {
                    tracing::error!(framework = %fid, "{e}");
                }
            }
            keep
        });
    }

    /// Checkpoints a framework's info and pid, if it checkpoints.
    fn checkpoint_framework(&self, framework_id: &FrameworkId) {
        let Some(f) = self
            .frameworks
            .get(framework_id)
            .filter(|f| f.info.checkpoint)
        else {
            return;
        };
        let framework = FrameworkCheckpoint {
            info: f.info.clone(),
            pid: f.pid.clone(),
        };
        if let Err(e) = self.store.framework(&framework) {
            tracing::error!(framework = %framework_id, "{e}");
        }
    }

    /// Checkpoints an executor of a checkpointing framework as it is now:
    /// its process, its tasks and their unacknowledged updates. A failure
    /// is logged: running tasks matter more than a later recovery.
    fn checkpoint_executor(&self, framework_id: &FrameworkId, executor_id: &ExecutorId) {
        let Some(e) = self
            .frameworks
            .get(framework_id)
            .filter(|f| f.info.checkpoint)
            .and_then(|f| f.executors.get(executor_id))
        else {
            return;
        };
        let executor = ExecutorCheckpoint {
            info: e.info.clone(),
            framework_id: framework_id.clone(),
            container_id: e.container_id.clone(),
            directory: e.directory.clone(),
            command_executor: e.command_executor,
            os_pid: e.os_pid,
            os_start_time: e.os_start_time,
            libprocess_pid: e.pid.as_ref().map(Pid::to_string),
            terminated: e.phase == ExecutorPhase::Terminating && e.container.is_none(),
            queued: e.queued.clone(),
            tasks: e.tasks.values().cloned().collect(),
            updates: self.updates.pending_of_executor(framework_id, executor_id),
        };
        if let Err(err) = self.store.executor(&executor) {
            tracing::error!(framework = %framework_id, executor = %executor_id, "{err}");
        }
    }
}

/// Reports the end of an executor's container to the agent as
/// [`ExecutorExited`].
fn watch_executor(
    container: containerizer::Container,
    (framework_id, executor_id, container_id): (FrameworkId, ExecutorId, ContainerId),
    cx: &mut Cx<'_, Agent>,
) {
    cx.defer(async move { container.wait().await }, move |exit| {
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
        }
    });
}

fn staging_task(
    t: &TaskInfo,
    framework_id: &FrameworkId,
    agent_id: &AgentId,
    executor_id: &ExecutorId,
) -> Task {
    Task::staging(
        t,
        framework_id,
        agent_id,
        executor_id,
        t.resources.clone(),
        "*",
    )
}

/// 16 random bytes, as Mesos's status update uuids.
pub fn new_uuid() -> Vec<u8> {
    uuid::Uuid::new_v4().as_bytes().to_vec()
}

fn uuid_string() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A random duration in [0, max].
fn random_upto(max: Duration) -> Duration {
    let r = uuid::Uuid::new_v4().as_u128() % 1_000_000;
    max.mul_f64(r as f64 / 1_000_000.0)
}

impl Process for Agent {
    fn install(i: &mut Install<Self>) {
        i.message::<AgentRegistered>()
            .message::<AgentReregistered>()
            .message::<PingAgent>()
            .message::<RunTask>()
            .message::<RunTaskGroup>()
            .message::<KillTask>()
            .message::<StatusUpdateAcknowledgement>()
            .message::<ShutdownFramework>()
            .message::<ShutdownExecutor>()
            .message::<FrameworkToExecutor>()
            .message::<UpdateFramework>()
            .message::<ShutdownAgent>()
            .message::<RegisterExecutor>()
            .message::<ReregisterExecutor>()
            .message::<StatusUpdateMessage>()
            .message::<ExecutorToFramework>()
            .local::<RegistrationRetry>()
            .local::<PingTimeout>()
            .local::<RetryUpdate>()
            .local::<ExecutorExited>()
            .local::<RegistrationTimeout>()
            .local::<KillContainer>()
            .local::<ReregistrationTimeout>()
            .local::<MasterDetected>();
        Self::install_gc(i);
        i.route("/api/v1/executor", super::executor_api::executor_api);
        super::http::install(i);
    }

    fn started(&mut self, cx: &mut Cx<'_, Self>) {
        // Executors on the v1 API post to /api/v1/executor at the agent's
        // address; with several agents on one node the first one serves it.
        cx.node()
            .expose("/api/v1/executor", cx.me().id(), "/api/v1/executor");
        self.metrics = Some(super::metrics::AgentMetrics::new(cx.node().metrics()));
        let me = cx.handle();
        cx.node().metrics().collector(std::sync::Arc::new(move || {
            let me = me.clone();
            Box::pin(async move {
                me.call(|a, _| super::metrics::gauges(a))
                    .await
                    .unwrap_or_default()
            })
        }));
        tracing::info!(master = %self.master, resources = %self.info.resources, "agent started");
        self.schedule_gc(cx);
        if let Some(boot_id) = checkpoint::current_boot_id() {
            if let Err(e) = self.store.boot_id(&boot_id) {
                tracing::error!("{e}");
            }
        }
        let checkpoint = match &mut self.lifecycle {
            Lifecycle::Recovering { checkpoint } => checkpoint.take(),
            _ => None,
        };
        match checkpoint {
            Some(checkpoint) => self.recover(checkpoint, cx),
            None if self.flags.recover == Recover::Cleanup => {
                self.terminate("nothing to clean up (--recover=cleanup)");
            }
            None => {
                self.recovered_now();
                self.lifecycle = Lifecycle::Disconnected {
                    backoff: self.flags.registration_backoff_factor,
                };
                // Mesos waits a random part of the backoff before the first try.
                let first = random_upto(self.flags.registration_backoff_factor);
                cx.delay(first, RegistrationRetry);
            }
        }
    }

    fn exited(&mut self, pid: &Pid, cx: &mut Cx<'_, Self>) {
        if pid == &self.master {
            if self.is_registered() {
                tracing::warn!(master = %pid, "lost the master; registering again");
            }
            self.disconnect();
            let backoff = self.flags.registration_backoff_factor;
            cx.delay(random_upto(backoff), RegistrationRetry);
        }
    }
}

impl Handle<RegistrationRetry> for Agent {
    fn handle(&mut self, _: RegistrationRetry, _: &Pid, cx: &mut Cx<'_, Self>) {
        self.register(cx);
    }
}

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

impl Handle<RunTask> for Agent {
    fn handle(&mut self, msg: RunTask, from: &Pid, cx: &mut Cx<'_, Self>) {
        if !self.is_master(from) || !self.is_registered() {
            tracing::warn!(%from, "ignoring RunTask not from the registered master");
            return;
        }
        let Some(framework_id) = self.framework_for(&msg.framework, &msg.framework_pid) else {
            return;
        };
        let (executor, command_executor) = self.executor_for(&msg.task, &framework_id);
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
        let executor = self.group_executor(&msg.executor, &framework_id);
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
        let framework = self
            .frameworks
            .entry(framework_id.clone())
            .or_insert_with(|| HostedFramework {
                info: info.clone(),
                pid: pid.clone(),
                executors: HashMap::new(),
                terminating: false,
            });
        framework.info = info.clone();
        framework.pid = pid.clone();
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
            .and_then(|f| f.executors.get(&executor_id))
            .map(|e| e.phase);
        let fail = |agent: &mut Agent, state, reason, message: &str, cx: &mut Cx<'_, Self>| {
            for task_id in &ids {
                agent.agent_update(
                    (&framework_id, Some(&executor_id), task_id),
                    state,
                    reason,
                    message,
                    cx,
                );
            }
        };
        match phase {
            Some(ExecutorPhase::Terminating) => fail(
                self,
                TaskState::Lost,
                Reason::ExecutorTerminated,
                "Executor is terminating",
                cx,
            ),
            Some(ExecutorPhase::Running) => {
                let agent_id = self.info.id.clone();
                let Some(e) = self
                    .frameworks
                    .get_mut(&framework_id)
                    .and_then(|f| f.executors.get_mut(&executor_id))
                else {
                    return;
                };
                if let Some(agent_id) = agent_id {
                    for task in &run.tasks {
                        e.tasks.insert(
                            task.task_id.clone(),
                            staging_task(task, &framework_id, &agent_id, &executor_id),
                        );
                    }
                }
                let executor = e.info.clone();
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
            Some(ExecutorPhase::Registering) => self.queue(&framework_id, &executor_id, run),
            None => {
                let launched = self.launch_executor(
                    &run.framework,
                    run.executor.clone(),
                    run.command_executor,
                    cx,
                );
                match launched {
                    Ok(()) => self.queue(&framework_id, &executor_id, run),
                    Err(e) => {
                        tracing::warn!(framework = %framework_id, executor = %executor_id, "launch failed: {e}");
                        if let Some(m) = &self.metrics {
                            m.container_launch_errors.inc();
                        }
                        fail(
                            self,
                            TaskState::Failed,
                            Reason::ContainerLaunchFailed,
                            &e,
                            cx,
                        );
                    }
                }
            }
        }
        self.checkpoint_framework(&framework_id);
        self.checkpoint_executor(&framework_id, &executor_id);
    }

    /// Keeps tasks for their executor until it registers (a group stays
    /// one group).
    fn queue(&mut self, framework_id: &FrameworkId, executor_id: &ExecutorId, run: Run) {
        if let Some(e) = self
            .frameworks
            .get_mut(framework_id)
            .and_then(|f| f.executors.get_mut(executor_id))
        {
            if run.group {
                e.queued_groups
                    .push(run.tasks.iter().map(|t| t.task_id.clone()).collect());
            }
            e.queued.extend(run.tasks);
        }
    }
}

impl Agent {
    /// An executor of `framework_id` announced itself (v0 message or v1
    /// SUBSCRIBE): it is running now. Returns what it is to be told
    /// (ExecutorRegistered, its container, its queued tasks), or `None` if
    /// no such executor is waiting to register.
    pub(super) fn accept_executor(
        &mut self,
        framework_id: &FrameworkId,
        executor_id: &ExecutorId,
        link: ExecutorLink,
        cx: &mut Cx<'_, Self>,
    ) -> Option<(ExecutorRegistered, ContainerId, Vec<Launch>)> {
        let agent_id = self.info.id.clone().filter(|_| self.is_registered())?;
        let agent_info = self.info.clone();
        let f = self.frameworks.get_mut(framework_id)?;
        let framework_info = f.info.clone();
        let framework_pid = f.pid.clone();
        let e = f.executors.get_mut(executor_id)?;
        if e.phase != ExecutorPhase::Registering {
            return None;
        }
        e.phase = ExecutorPhase::Running;
        match link {
            ExecutorLink::Pid(pid) => e.pid = Some(pid),
            ExecutorLink::Http(stream) => e.http = Some(stream),
        }
        if let Some(t) = e.registration_timer.take() {
            cx.cancel(t);
        }
        tracing::info!(framework = %framework_id, executor = %executor_id, "executor registered");
        let registered = ExecutorRegistered {
            executor_info: e.info.clone(),
            framework_id: framework_id.clone(),
            framework_info: framework_info.clone(),
            agent_id: agent_id.clone(),
            agent_info,
        };
        let mut runs = Vec::new();
        let queued = std::mem::take(&mut e.queued);
        for task in &queued {
            e.tasks.insert(
                task.task_id.clone(),
                staging_task(task, framework_id, &agent_id, executor_id),
            );
        }
        let mut grouped = HashSet::new();
        for ids in std::mem::take(&mut e.queued_groups) {
            // A task killed while queued has left `queued`.
            let tasks: Vec<TaskInfo> = queued
                .iter()
                .filter(|t| ids.contains(&t.task_id))
                .cloned()
                .collect();
            grouped.extend(ids);
            if !tasks.is_empty() {
                runs.push(Launch::Group(RunTaskGroup {
                    framework: framework_info.clone(),
                    framework_pid: framework_pid.clone(),
                    executor: e.info.clone(),
                    tasks,
                }));
            }
        }
        for task in queued {
            if !grouped.contains(&task.task_id) {
                runs.push(Launch::Task(RunTask {
                    framework: framework_info.clone(),
                    framework_pid: framework_pid.clone(),
                    task,
                }));
            }
        }
        let container_id = e.container_id.clone();
        self.checkpoint_executor(framework_id, executor_id);
        Some((registered, container_id, runs))
    }
}

/// What a newly registered executor is handed: a task, or a task group.
// A few per registration, moved once: their size does not matter.
#[allow(clippy::large_enum_variant)]
pub(super) enum Launch {
    Task(RunTask),
    Group(RunTaskGroup),
}

/// How an executor is reached.
pub(super) enum ExecutorLink {
    Pid(Pid),
    Http(UnboundedSender<Bytes>),
}

impl Handle<RegisterExecutor> for Agent {
    fn handle(&mut self, msg: RegisterExecutor, from: &Pid, cx: &mut Cx<'_, Self>) {
        let link = ExecutorLink::Pid(from.clone());
        match self.accept_executor(&msg.framework_id, &msg.executor_id, link, cx) {
            Some((registered, _, runs)) => {
                cx.link(from);
                cx.send(from, registered);
                for run in runs {
                    match run {
                        Launch::Task(m) => cx.send(from, m),
                        Launch::Group(m) => cx.send(from, m),
                    }
                }
            }
            None => {
                tracing::warn!(%from, executor = %msg.executor_id, "registration of an unknown executor; shutting it down");
                cx.send(
                    from,
                    ShutdownExecutor {
                        framework_id: msg.framework_id,
                        executor_id: msg.executor_id,
                    },
                );
            }
        }
    }
}

impl Handle<RegistrationTimeout> for Agent {
    fn handle(
        &mut self,
        RegistrationTimeout {
            framework_id: fid,
            executor_id: eid,
            container_id: cid,
        }: RegistrationTimeout,
        _: &Pid,
        cx: &mut Cx<'_, Self>,
    ) {
        let Some(e) = self
            .frameworks
            .get_mut(&fid)
            .and_then(|f| f.executors.get_mut(&eid))
        else {
            return;
        };
        if e.container_id != cid || e.phase != ExecutorPhase::Registering {
            return;
        }
        tracing::warn!(framework = %fid, executor = %eid, "executor did not register in time; destroying it");
        e.phase = ExecutorPhase::Terminating;
        let queued: Vec<TaskId> = e.queued.drain(..).map(|t| t.task_id).collect();
        if let Some(c) = &e.container {
            c.signal(libc::SIGKILL);
        }
        for task in queued {
            self.agent_update(
                (&fid, Some(&eid), &task),
                TaskState::Failed,
                Reason::ExecutorRegistrationTimeout,
                "Executor did not register within the timeout",
                cx,
            );
        }
    }
}

impl Handle<KillContainer> for Agent {
    fn handle(
        &mut self,
        KillContainer {
            framework_id: fid,
            executor_id: eid,
            container_id: cid,
        }: KillContainer,
        _: &Pid,
        _: &mut Cx<'_, Self>,
    ) {
        let run = self
            .frameworks
            .get(&fid)
            .and_then(|f| f.executors.get(&eid))
            .filter(|e| e.container_id == cid);
        if let Some(container) = run.and_then(|e| e.container.as_ref()) {
            tracing::info!(framework = %fid, executor = %eid, "shutdown grace period over; killing the executor");
            container.signal(libc::SIGKILL);
        }
    }
}

impl Handle<ExecutorExited> for Agent {
    fn handle(&mut self, msg: ExecutorExited, _: &Pid, cx: &mut Cx<'_, Self>) {
        let current = self
            .frameworks
            .get(&msg.framework_id)
            .and_then(|f| f.executors.get(&msg.executor_id))
            .is_some_and(|e| e.container_id == msg.container_id);
        if current {
            self.executor_terminated(msg, cx);
        }
    }
}

impl Agent {
    /// An executor's process ended (or was found gone on recovery): its
    /// unfinished tasks fail (or end as the agent decided), and the master
    /// hears of a custom executor's exit.
    fn executor_terminated(&mut self, msg: ExecutorExited, cx: &mut Cx<'_, Self>) {
        let Some(e) = self
            .frameworks
            .get_mut(&msg.framework_id)
            .and_then(|f| f.executors.get_mut(&msg.executor_id))
        else {
            return;
        };
        tracing::info!(framework = %msg.framework_id, executor = %msg.executor_id, "executor exited: {}", msg.message);
        if let Some(m) = &self.metrics {
            m.executors_terminated.inc();
        }
        e.phase = ExecutorPhase::Terminating;
        e.container = None;
        if let Some(t) = e.registration_timer.take() {
            cx.cancel(t);
        }
        let command_executor = e.command_executor;
        let mut unfinished: Vec<TaskId> = e.queued.drain(..).map(|t| t.task_id).collect();
        unfinished.extend(
            e.tasks
                .values()
                .filter(|t| !t.state.is_terminal())
                .map(|t| t.task_id.clone()),
        );
        let (state, reason, message) = match e.pending_termination.take() {
            Some((state, reason, message)) => (state, reason, message),
            None if command_executor => (
                TaskState::Failed,
                Reason::CommandExecutorFailed,
                format!("Executor terminated: {}", msg.message),
            ),
            None => (
                TaskState::Failed,
                Reason::ExecutorTerminated,
                format!("Executor terminated: {}", msg.message),
            ),
        };
        for task in unfinished {
            self.agent_update(
                (&msg.framework_id, Some(&msg.executor_id), &task),
                state,
                reason,
                &message,
                cx,
            );
        }
        self.checkpoint_executor(&msg.framework_id, &msg.executor_id);
        if !command_executor {
            if let Some(agent_id) = self.info.id.clone() {
                cx.send(
                    &self.master,
                    ExitedExecutor {
                        agent_id,
                        framework_id: msg.framework_id.clone(),
                        executor_id: msg.executor_id.clone(),
                        status: msg.status,
                    },
                );
            }
        }
        self.garbage_collect();
        self.check_recovery(cx);
    }
}

impl Handle<StatusUpdateMessage> for Agent {
    fn handle(&mut self, msg: StatusUpdateMessage, from: &Pid, cx: &mut Cx<'_, Self>) {
        let known = msg.update.executor_id.as_ref().is_some_and(|eid| {
            self.frameworks
                .get(&msg.update.framework_id)
                .and_then(|f| f.executors.get(eid))
                .is_some_and(|e| e.pid.as_ref() == Some(from))
        });
        if !known || msg.update.uuid.is_none() {
            tracing::warn!(%from, task = %msg.update.status.task_id, "status update from an unknown executor or without a uuid; dropping");
            if let Some(m) = &self.metrics {
                m.invalid_status_updates.inc();
            }
            return;
        }
        self.executor_update(msg.update, cx);
    }
}

impl Agent {
    /// A status update from a subscribed executor (v0 message or v1 UPDATE
    /// call; the caller checked the sender and the uuid): acknowledged to
    /// the executor at once, since the agent is responsible from here, then
    /// carried to the master through the status update manager.
    pub(super) fn executor_update(&mut self, mut update: StatusUpdate, cx: &mut Cx<'_, Self>) {
        let (Some(executor_id), Some(uuid)) = (update.executor_id.clone(), update.uuid.clone())
        else {
            return;
        };
        if let Some(m) = &self.metrics {
            m.valid_status_updates.inc();
        }
        let ack = self
            .info
            .id
            .clone()
            .map(|agent_id| StatusUpdateAcknowledgement {
                agent_id,
                framework_id: update.framework_id.clone(),
                task_id: update.status.task_id.clone(),
                uuid: uuid.clone(),
            });
        let framework_id = update.framework_id.clone();
        // A re-registering executor resends what it holds unacknowledged;
        // what this agent already took (and checkpointed) is only
        // acknowledged again.
        let duplicate = self
            .frameworks
            .get(&framework_id)
            .and_then(|f| f.executors.get(&executor_id))
            .and_then(|e| e.tasks.get(&update.status.task_id))
            .is_some_and(|t| t.statuses.iter().any(|s| s.uuid.as_ref() == Some(&uuid)));
        if duplicate {
            if let Some(ack) = ack {
                self.to_executor(&framework_id, &executor_id, ack, cx);
            }
            return;
        }
        self.set_task_state(
            &update.framework_id,
            Some(&executor_id),
            &update.status.task_id,
            update.status.state,
        );
        if let Some(task) = self
            .frameworks
            .get_mut(&update.framework_id)
            .and_then(|f| f.executors.get_mut(&executor_id))
            .and_then(|e| e.tasks.get_mut(&update.status.task_id))
        {
            task.statuses.push(update.status.clone());
            update.latest_state = Some(task.state);
        }
        update.agent_id = self.info.id.clone();
        update.status.agent_id = self.info.id.clone();
        update.status.uuid = Some(uuid);
        self.forward_update(update, cx);
        // Acknowledged once safe here: the executor may forget it then.
        self.checkpoint_executor(&framework_id, &executor_id);
        if let Some(ack) = ack {
            self.to_executor(&framework_id, &executor_id, ack, cx);
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
        let executor = self.frameworks.get(&msg.framework_id).and_then(|f| {
            f.executors
                .iter()
                .find(|(_, e)| e.tasks.contains_key(&msg.task_id))
                .map(|(id, _)| id.clone())
        });
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
        let found = self.frameworks.get_mut(&msg.framework_id).and_then(|f| {
            f.executors.iter_mut().find_map(|(eid, e)| {
                if let Some(i) = e.queued.iter().position(|t| t.task_id == msg.task_id) {
                    e.queued.remove(i);
                    return Some((eid.clone(), None));
                }
                e.tasks
                    .contains_key(&msg.task_id)
                    .then(|| (eid.clone(), Some(())))
            })
        });
        match found {
            Some((eid, None)) => {
                self.agent_update(
                    (&msg.framework_id, Some(&eid), &msg.task_id),
                    TaskState::Killed,
                    Reason::TaskKilledDuringLaunch,
                    "Killed before the executor registered",
                    cx,
                );
                let empty = self
                    .frameworks
                    .get(&msg.framework_id)
                    .and_then(|f| f.executors.get(&eid))
                    .is_some_and(|e| e.queued.is_empty() && e.tasks.is_empty());
                if empty {
                    self.shutdown_executor(&msg.framework_id, &eid, cx);
                }
            }
            Some((eid, Some(()))) => {
                let framework_id = msg.framework_id.clone();
                self.to_executor(&framework_id, &eid, msg, cx);
            }
            None => {
                // The master thinks the task is here; it is not.
                let executor = ExecutorId::new(msg.task_id.value.clone());
                self.agent_update(
                    (&msg.framework_id, Some(&executor), &msg.task_id),
                    TaskState::Lost,
                    Reason::TaskUnknown,
                    "Task is unknown to the agent",
                    cx,
                );
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
            .map(|f| f.executors.keys().cloned().collect())
            .unwrap_or_default();
        tracing::info!(framework = %msg.framework_id, "shutting down framework");
        if let Some(f) = self.frameworks.get_mut(&msg.framework_id) {
            f.terminating = true;
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

impl Handle<ExecutorToFramework> for Agent {
    fn handle(&mut self, mut msg: ExecutorToFramework, from: &Pid, cx: &mut Cx<'_, Self>) {
        let known = self
            .frameworks
            .get(&msg.framework_id)
            .and_then(|f| f.executors.get(&msg.executor_id))
            .is_some_and(|e| e.pid.as_ref() == Some(from));
        let Some(agent_id) = self.info.id.clone() else {
            return;
        };
        if !known {
            if let Some(m) = &self.metrics {
                m.invalid_framework_messages.inc();
            }
            return;
        }
        msg.agent_id = agent_id;
        self.executor_message(msg, cx);
    }
}

impl Agent {
    /// Relays a message from a subscribed executor to its framework.
    pub(super) fn executor_message(&mut self, msg: ExecutorToFramework, cx: &mut Cx<'_, Self>) {
        if let Some(m) = &self.metrics {
            m.valid_framework_messages.inc();
        }
        cx.send(&self.master, msg);
    }
}

impl Handle<UpdateFramework> for Agent {
    fn handle(&mut self, msg: UpdateFramework, from: &Pid, _: &mut Cx<'_, Self>) {
        if self.is_master(from) {
            if let Some(f) = self.frameworks.get_mut(&msg.framework_id) {
                f.pid = msg.framework_pid;
            }
            self.checkpoint_framework(&msg.framework_id);
        }
    }
}

impl Handle<ShutdownAgent> for Agent {
    fn handle(&mut self, msg: ShutdownAgent, from: &Pid, _: &mut Cx<'_, Self>) {
        if !self.is_master(from) {
            return;
        }
        tracing::warn!("the master asked this agent to shut down: {}", msg.message);
        for executor in self.frameworks.values().flat_map(|f| f.executors.values()) {
            if let Some(c) = &executor.container {
                c.signal(libc::SIGKILL);
            }
        }
        self.terminate("the master asked this agent to shut down");
    }
}

/// The leading master changed (ZooKeeper detector); `None`: no leader.
pub struct MasterDetected(pub Option<wire::mesos::MasterInfo>);

impl Handle<MasterDetected> for Agent {
    fn handle(&mut self, MasterDetected(leader): MasterDetected, _: &Pid, cx: &mut Cx<'_, Self>) {
        let Some(pid) = leader.and_then(|l| l.pid.parse::<Pid>().ok()) else {
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
        cx.delay(random_upto(backoff), RegistrationRetry);
    }
}

impl Agent {
    /// Takes back what the previous run checkpointed: the agent id, the
    /// checkpointing frameworks, their executors (watched again if their
    /// process still runs) and unacknowledged status updates.
    fn recover(&mut self, recovered: CheckpointedState, cx: &mut Cx<'_, Self>) {
        let Some(agent_id) = recovered.agent.id.clone() else {
            return;
        };
        tracing::info!(agent = %agent_id, frameworks = recovered.frameworks.len(),
            recover = ?self.flags.recover, "recovering the checkpointed state");
        self.info.id = Some(agent_id.clone());
        for framework in recovered.frameworks {
            let Some(framework_id) = framework.framework.info.id.clone() else {
                continue;
            };
            self.frameworks.insert(
                framework_id.clone(),
                HostedFramework {
                    info: framework.framework.info,
                    pid: framework.framework.pid,
                    executors: HashMap::new(),
                    terminating: false,
                },
            );
            for executor in framework.executors {
                self.recover_executor(&framework_id, executor, &agent_id, cx);
            }
        }
        match self.flags.recover {
            Recover::Reconnect => {
                let timeout = self.flags.executor_reregistration_timeout;
                self.reregistration_timer = Some(cx.delay(timeout, ReregistrationTimeout));
            }
            Recover::Cleanup => {}
        }
        self.check_recovery(cx);
    }

    fn recover_executor(
        &mut self,
        framework_id: &FrameworkId,
        executor: ExecutorCheckpoint,
        agent_id: &AgentId,
        cx: &mut Cx<'_, Self>,
    ) {
        let executor_id = executor.info.executor_id.clone();
        for update in executor.updates {
            let forward = self.updates.update(update);
            self.send_forward(forward, cx);
        }
        // The same process: its pid names a process started when the
        // checkpointed one was (a recycled pid would not match).
        let same_process = |pid: i32| {
            executor.os_start_time.is_some()
                && containerizer::process_start_time(pid) == executor.os_start_time
        };
        let container = match executor.os_pid {
            Some(pid) if !executor.terminated && same_process(pid) => containerizer::recover(pid)
                .map_err(|e| {
                    tracing::warn!(executor = %executor_id, "cannot watch: {e}");
                    if let Some(m) = &self.metrics {
                        m.recovery_errors.inc();
                    }
                })
                .ok(),
            _ => None,
        };
        let pid = executor
            .libprocess_pid
            .as_deref()
            .and_then(|p| p.parse::<Pid>().ok());
        let live = container.is_some();
        let record = ExecutorRecord {
            info: executor.info,
            container_id: executor.container_id.clone(),
            directory: executor.directory,
            phase: if live {
                ExecutorPhase::Registering
            } else {
                ExecutorPhase::Terminating
            },
            command_executor: executor.command_executor,
            pid: pid.clone(),
            http: None,
            container: container.clone(),
            queued: executor.queued,
            queued_groups: Vec::new(),
            tasks: executor
                .tasks
                .into_iter()
                .map(|t| (t.task_id.clone(), t))
                .collect(),
            registration_timer: None,
            os_pid: executor.os_pid,
            os_start_time: executor.os_start_time,
            pending_termination: None,
        };
        if let Some(f) = self.frameworks.get_mut(framework_id) {
            f.executors.insert(executor_id.clone(), record);
        }
        match container {
            Some(container) => {
                tracing::info!(framework = %framework_id, executor = %executor_id,
                    os_pid = container.pid(), "recovered a live executor");
                watch_executor(
                    container,
                    (
                        framework_id.clone(),
                        executor_id.clone(),
                        executor.container_id,
                    ),
                    cx,
                );
                match (self.flags.recover, pid) {
                    (Recover::Reconnect, Some(pid)) => {
                        tracing::info!(executor = %executor_id, %pid, "sending a reconnect request to the executor");
                        let reconnect = ReconnectExecutor {
                            agent_id: agent_id.clone(),
                        };
                        cx.send(&pid, reconnect);
                    }
                    (Recover::Reconnect, None) => {
                        tracing::info!(executor = %executor_id,
                            "waiting for the executor to subscribe again (a v1 executor, or one that never registered)");
                    }
                    (Recover::Cleanup, _) => {
                        tracing::info!(executor = %executor_id, "shutting down a recovered executor (--recover=cleanup)");
                        self.shutdown_executor(framework_id, &executor_id, cx);
                    }
                }
            }
            None if !executor.terminated => {
                tracing::info!(framework = %framework_id, executor = %executor_id,
                    "the executor's process is gone");
                self.executor_terminated(
                    ExecutorExited {
                        framework_id: framework_id.clone(),
                        executor_id,
                        container_id: executor.container_id,
                        status: -1,
                        message: "the executor was gone when the agent recovered".into(),
                    },
                    cx,
                );
            }
            None => {}
        }
    }

    /// Recovery is over: `slave/recovery_time_secs` says how long it took.
    fn recovered_now(&self) {
        if let Some(m) = &self.metrics {
            m.recovery_time_secs
                .set((now_secs() - self.start_time).max(0.0));
        }
    }

    /// Ends recovery once no recovered executor is still expected to
    /// re-register: the agent registers with the master then. With
    /// `--recover=cleanup` the agent exits once every executor is gone.
    fn check_recovery(&mut self, cx: &mut Cx<'_, Self>) {
        if !self.is_recovering() {
            return;
        }
        let executors = || self.frameworks.values().flat_map(|f| f.executors.values());
        match self.flags.recover {
            Recover::Cleanup => {
                if executors().all(|e| e.container.is_none()) {
                    self.terminate("every recovered executor is gone (--recover=cleanup)");
                }
            }
            Recover::Reconnect => {
                if executors().any(|e| e.phase == ExecutorPhase::Registering) {
                    return;
                }
                self.lifecycle = Lifecycle::Disconnected {
                    backoff: self.flags.registration_backoff_factor,
                };
                if let Some(t) = self.reregistration_timer.take() {
                    cx.cancel(t);
                }
                tracing::info!("finished recovery; registering with the master");
                self.recovered_now();
                let first = random_upto(self.flags.registration_backoff_factor);
                cx.delay(first, RegistrationRetry);
            }
        }
    }
}

impl Handle<ReregistrationTimeout> for Agent {
    fn handle(&mut self, _: ReregistrationTimeout, _: &Pid, cx: &mut Cx<'_, Self>) {
        self.reregistration_timer = None;
        if !self.is_recovering() {
            return;
        }
        let timeout = self.flags.executor_reregistration_timeout;
        for (fid, f) in self.frameworks.iter_mut() {
            let state = if f
                .info
                .has_capability(wire::mesos::capability::PARTITION_AWARE)
            {
                TaskState::Gone
            } else {
                TaskState::Lost
            };
            for (eid, e) in f.executors.iter_mut() {
                if e.phase != ExecutorPhase::Registering {
                    continue;
                }
                tracing::warn!(framework = %fid, executor = %eid,
                    "executor did not re-register within {timeout:?}; killing it");
                e.phase = ExecutorPhase::Terminating;
                e.pending_termination = Some((
                    state,
                    Reason::ExecutorReregistrationTimeout,
                    format!(
                        "Executor did not reregister within {}",
                        crate::flags::format_duration(timeout)
                    ),
                ));
                if let Some(c) = &e.container {
                    c.signal(libc::SIGKILL);
                }
            }
        }
        self.check_recovery(cx);
    }
}

impl Handle<ReregisterExecutor> for Agent {
    fn handle(&mut self, msg: ReregisterExecutor, from: &Pid, cx: &mut Cx<'_, Self>) {
        let (fid, eid) = (msg.framework_id.clone(), msg.executor_id.clone());
        let known = msg.tasks.iter().map(|t| t.task_id.clone()).collect();
        let link = ExecutorLink::Pid(from.clone());
        if !self.reregister_executor(&fid, &eid, link, known, msg.updates, cx) {
            cx.send(
                from,
                ShutdownExecutor {
                    framework_id: fid,
                    executor_id: eid,
                },
            );
        }
    }
}

impl Agent {
    /// A recovered executor re-registers, over its pid (ReregisterExecutor)
    /// or, for a v1 executor, by subscribing while the agent recovers:
    /// it is greeted (ExecutorReregistered, or SUBSCRIBED on its stream),
    /// the updates it holds unacknowledged are taken, and tasks still
    /// staging that it does not `know` were lost in the restart, as Mesos
    /// decides. False, and nothing done, if the agent does not expect it.
    pub(super) fn reregister_executor(
        &mut self,
        fid: &FrameworkId,
        eid: &ExecutorId,
        link: ExecutorLink,
        known: HashSet<TaskId>,
        updates: Vec<StatusUpdate>,
        cx: &mut Cx<'_, Self>,
    ) -> bool {
        let Some(agent_id) = self.info.id.clone() else {
            return false;
        };
        let agent_info = self.info.clone();
        let Some(f) = self.frameworks.get_mut(fid).filter(|f| !f.terminating) else {
            tracing::warn!(framework = %fid, executor = %eid,
                "re-registration of an executor of an unknown framework; shutting it down");
            return false;
        };
        let partition_aware = f
            .info
            .has_capability(wire::mesos::capability::PARTITION_AWARE);
        let framework_info = f.info.clone();
        let Some(e) = f
            .executors
            .get_mut(eid)
            .filter(|e| e.phase == ExecutorPhase::Registering)
        else {
            tracing::warn!(framework = %fid, executor = %eid,
                "re-registration of an unknown or terminating executor; shutting it down");
            return false;
        };
        tracing::info!(framework = %fid, executor = %eid, "executor re-registered");
        e.phase = ExecutorPhase::Running;
        if let Some(t) = e.registration_timer.take() {
            cx.cancel(t);
        }
        let dropped: Vec<TaskId> = e
            .tasks
            .values()
            .filter(|t| t.state == TaskState::Staging && !known.contains(&t.task_id))
            .map(|t| t.task_id.clone())
            .collect();
        match link {
            ExecutorLink::Pid(pid) => {
                cx.link(&pid);
                cx.send(
                    &pid,
                    ExecutorReregistered {
                        agent_id: agent_id.clone(),
                        agent_info: agent_info.clone(),
                    },
                );
                e.pid = Some(pid);
            }
            ExecutorLink::Http(stream) => {
                let registered = ExecutorRegistered {
                    executor_info: e.info.clone(),
                    framework_id: fid.clone(),
                    framework_info,
                    agent_id: agent_id.clone(),
                    agent_info,
                };
                let subscribed =
                    wire::v1::executor::Event::subscribed(&registered, Some(&e.container_id));
                let _ = stream.send(Bytes::from(subscribed.to_record()));
                e.http = Some(stream);
            }
        }
        for update in updates {
            if &update.framework_id == fid && update.executor_id.as_ref() == Some(eid) {
                self.executor_update(update, cx);
            }
        }
        let state = if partition_aware {
            TaskState::Dropped
        } else {
            TaskState::Lost
        };
        for task in dropped {
            self.agent_update(
                (fid, Some(eid), &task),
                state,
                Reason::AgentRestarted,
                "Task launched during agent restart",
                cx,
            );
        }
        self.checkpoint_executor(fid, eid);
        self.check_recovery(cx);
        true
    }

    /// Still recovering: executors may re-register, the master waits.
    pub(super) fn is_recovering(&self) -> bool {
        matches!(self.lifecycle, Lifecycle::Recovering { .. })
    }
}
