//! The executor driver: what connects an executor to the agent that
//! launched it (Mesos's `MesosExecutorDriver` and its `ExecutorProcess`, v0).
//!
//! The driver is a process, `executor(1)`, on a node of its own bound to
//! `LIBPROCESS_IP` (default 127.0.0.1) on a free port. It finds its agent
//! through the environment the agent sets ([`DriverConfig::from_env`]), or
//! takes the same facts explicitly ([`DriverConfig::new`]).
//!
//! Three names, the same three as on the scheduler's side
//! ([`crate::scheduler`]):
//!
//! | name | what it is | who holds it |
//! |---|---|---|
//! | [`ExecutorProcess`] | the actor: registers, turns the agent's messages into callbacks | the node |
//! | [`ExecutorDriver`] | what a callback acts with: updates, messages, stop, defer | each [`Executor`] callback |
//! | [`ExecutorHandle`] | the running driver, from outside: its pid, stop, join | whoever called [`start`] |
//!
//! Messages (all with the agent, `slave(1)@ip:port`):
//!
//! | direction | message | executor callback |
//! |---|---|---|
//! | sends | `executor::RegisterExecutor` (at start) | |
//! | receives | `executor::ExecutorRegistered` | [`Executor::registered`] |
//! | receives | `agent::RunTask` | [`Executor::launch_task`] |
//! | receives | `agent::RunTaskGroup` | [`Executor::launch_group`] |
//! | receives | `agent::KillTask` | [`Executor::kill_task`] |
//! | sends | `agent::StatusUpdateMessage` | [`ExecutorDriver::send_status_update`] |
//! | receives | `agent::StatusUpdateAcknowledgement` | [`Executor::acknowledged`] |
//! | sends | `agent::ExecutorToFramework` | [`ExecutorDriver::send_framework_message`] |
//! | receives | `agent::FrameworkToExecutor` | [`Executor::framework_message`] |
//! | receives | `agent::ShutdownExecutor` | [`Executor::shutdown`] |
//! | receives | `executor::ReconnectExecutor` (from a restarted agent) | |
//! | sends | `executor::ReregisterExecutor` (unacknowledged tasks and updates) | |
//! | receives | `executor::ExecutorReregistered` | [`Executor::reregistered`] |
//!
//! The driver links to the agent. If the connection breaks and the
//! framework does not checkpoint, the executor is shut down, as in Mesos; a
//! checkpointing executor waits `MESOS_RECOVERY_TIMEOUT` for the agent first.
//! A restarted agent that recovered the executor asks it to reconnect (from
//! the same pid: the agent restarts on its address); the driver links to it
//! again and re-registers with the tasks and updates the agent has not
//! acknowledged, which the new agent process may never have seen.
//! Once shutdown begins, the executor has `MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD`
//! to stop the driver; then the driver stops itself ([`DriverStatus::Aborted`]).
//!
//! Status updates are sent once: the agent is the reliable hop (it
//! checkpoints and retries towards the master). The driver keeps the
//! updates the agent has not acknowledged, as Mesos does for
//! re-registration.
//!
//! Callbacks run inside the driver's handlers and must not block. Work that
//! waits is handed to [`ExecutorDriver::defer`] (or
//! [`ExecutorDriver::delay`]), whose continuation runs later as another
//! callback on the executor.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

use actors::actix::SpawnHandle;
use actors::{Cx, Handle, Install, Node, NodeConfig, Pid, Process, ProcessRef, SpawnError};
use tokio::sync::oneshot;
use wire::agent::{
    ExecutorToFramework, FrameworkToExecutor, KillTask, RunTask, RunTaskGroup, ShutdownExecutor,
    StatusUpdateAcknowledgement, StatusUpdateMessage,
};
use wire::executor::{
    ExecutorRegistered, ExecutorReregistered, ReconnectExecutor, RegisterExecutor,
    ReregisterExecutor,
};
use wire::ids::{AgentId, ExecutorId, FrameworkId, TaskId};
use wire::mesos::{
    now_secs, AgentInfo, ExecutorInfo, FrameworkInfo, StatusUpdate, TaskInfo, TaskStatus,
};
use wire::task::{Source, TaskState};

use crate::container::{EnvironmentError, ExecutorEnvironment};
use crate::random;

pub use crate::container::environment::{DEFAULT_RECOVERY_TIMEOUT, DEFAULT_SHUTDOWN_GRACE_PERIOD};

/// An executor: what the driver calls as the agent's messages arrive.
/// Each callback gets the [`ExecutorDriver`] to send updates and messages,
/// to stop, and to wait for things without blocking.
pub trait Executor: Sized + Send + Unpin + 'static {
    /// The agent accepted the registration.
    fn registered(
        &mut self,
        driver: &mut ExecutorDriver<'_, Self>,
        executor_info: &ExecutorInfo,
        framework_info: &FrameworkInfo,
        agent_info: &AgentInfo,
    );

    /// A restarted agent took the executor back (after it had lost it).
    fn reregistered(&mut self, _driver: &mut ExecutorDriver<'_, Self>, _agent_info: &AgentInfo) {}

    /// Run `task`; report its progress with status updates.
    fn launch_task(&mut self, driver: &mut ExecutorDriver<'_, Self>, task: TaskInfo);

    /// Run a task group (Mesos's LAUNCH_GROUP): tasks that start together.
    /// By default each is launched on its own.
    fn launch_group(&mut self, driver: &mut ExecutorDriver<'_, Self>, tasks: Vec<TaskInfo>) {
        for task in tasks {
            self.launch_task(driver, task);
        }
    }

    /// Kill the task (it ends with TASK_KILLED).
    fn kill_task(&mut self, driver: &mut ExecutorDriver<'_, Self>, task_id: &TaskId);

    /// The agent has safely received the update `uuid` of `task_id`.
    fn acknowledged(
        &mut self,
        _driver: &mut ExecutorDriver<'_, Self>,
        _task_id: &TaskId,
        _uuid: &[u8],
    ) {
    }

    /// Data from the framework's scheduler.
    fn framework_message(&mut self, _driver: &mut ExecutorDriver<'_, Self>, _data: Vec<u8>) {}

    /// Kill every task and stop the driver: the agent asked, or was lost.
    /// The executor has the shutdown grace period to do so.
    fn shutdown(&mut self, driver: &mut ExecutorDriver<'_, Self>);

    /// The driver hit an error it cannot continue after; it stops once this
    /// returns.
    fn error(&mut self, _driver: &mut ExecutorDriver<'_, Self>, message: &str) {
        tracing::error!(message, "executor driver error");
    }
}

/// How a driver ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DriverStatus {
    /// The executor stopped it ([`ExecutorDriver::stop`]) or it was asked
    /// to stop.
    Stopped,
    /// It stopped on its own: an error, or a shutdown that took too long.
    Aborted,
}

/// Why a driver could not start, or a call was refused.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error("the driver is stopping")]
    NotRunning,
    #[error("executors may not send TASK_STAGING updates")]
    StagingUpdate,
    #[error("the agent id is not known yet (not registered, and no MESOS_SLAVE_ID)")]
    NoAgentId,
    #[error("cannot bind the executor's node on {ip}: {source}")]
    Bind {
        ip: IpAddr,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Spawn(#[from] SpawnError),
}

/// What the driver needs to know about its run.
#[derive(Debug, Clone, PartialEq)]
pub struct DriverConfig {
    /// The agent's pid (`MESOS_SLAVE_PID`).
    pub agent: Pid,
    /// Until registration tells it (`MESOS_SLAVE_ID`).
    pub agent_id: Option<AgentId>,
    /// `MESOS_FRAMEWORK_ID`.
    pub framework_id: FrameworkId,
    /// `MESOS_EXECUTOR_ID`.
    pub executor_id: ExecutorId,
    /// The sandbox on the host (`MESOS_DIRECTORY`).
    pub directory: PathBuf,
    /// The sandbox as the executor sees it (`MESOS_SANDBOX`; the directory
    /// if unset).
    pub sandbox: PathBuf,
    /// The agent's `ip:port` (`MESOS_AGENT_ENDPOINT`).
    pub agent_endpoint: Option<String>,
    /// Whether the framework checkpoints (`MESOS_CHECKPOINT=1`).
    pub checkpoint: bool,
    /// How long the executor has to stop once shutdown begins
    /// (`MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD`).
    pub shutdown_grace_period: Duration,
    /// How long a checkpointing executor waits for a lost agent
    /// (`MESOS_RECOVERY_TIMEOUT`).
    pub recovery_timeout: Duration,
    /// Where the driver's node listens (`LIBPROCESS_IP`, `LIBPROCESS_PORT`).
    pub ip: IpAddr,
    pub port: u16,
}

impl DriverConfig {
    /// A run with Mesos's defaults for everything not given.
    pub fn new(
        agent: Pid,
        framework_id: FrameworkId,
        executor_id: ExecutorId,
        directory: PathBuf,
    ) -> DriverConfig {
        DriverConfig {
            agent,
            agent_id: None,
            framework_id,
            executor_id,
            sandbox: directory.clone(),
            directory,
            agent_endpoint: None,
            checkpoint: false,
            shutdown_grace_period: DEFAULT_SHUTDOWN_GRACE_PERIOD,
            recovery_timeout: DEFAULT_RECOVERY_TIMEOUT,
            ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
        }
    }

    /// Reads the environment the agent gives its executors.
    pub fn from_env() -> Result<DriverConfig, EnvironmentError> {
        DriverConfig::from_vars(|name| std::env::var(name).ok())
    }

    /// As [`DriverConfig::from_env`], with the variables from `var`.
    pub fn from_vars(
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<DriverConfig, EnvironmentError> {
        ExecutorEnvironment::from_vars(var).map(DriverConfig::from)
    }
}

impl From<ExecutorEnvironment> for DriverConfig {
    /// The run the agent's environment describes (whether the command
    /// executor is to speak HTTP does not concern the driver).
    fn from(env: ExecutorEnvironment) -> DriverConfig {
        DriverConfig {
            agent: env.agent,
            agent_id: env.agent_id,
            framework_id: env.framework_id,
            executor_id: env.executor_id,
            directory: env.directory,
            sandbox: env.sandbox,
            agent_endpoint: env.agent_endpoint,
            checkpoint: env.checkpoint,
            shutdown_grace_period: env.shutdown_grace_period,
            recovery_timeout: env.recovery_timeout,
            ip: env.ip,
            port: env.port,
        }
    }
}

/// Binds the driver's node, spawns the driver with `executor` and
/// registers with the agent. Must run inside an actix system.
pub async fn start<E: Executor>(
    config: DriverConfig,
    executor: E,
) -> Result<ExecutorHandle<E>, DriverError> {
    let ip = config.ip;
    let node = Node::bind(NodeConfig {
        ip,
        port: config.port,
        ..NodeConfig::default()
    })
    .await
    .map_err(|source| DriverError::Bind { ip, source })?;
    let (done_tx, done) = oneshot::channel();
    let state = State {
        config,
        agent_id: None,
        connected: false,
        shutting_down: false,
        stopping: false,
        status: DriverStatus::Stopped,
        error: None,
        tasks: HashMap::new(),
        updates: Vec::new(),
        done: Some(done_tx),
        recovery_timer: None,
        kill_grace_cap: None,
    };
    let id = node.generate_id("executor");
    let process = node.spawn(id, ExecutorProcess { state, executor })?;
    Ok(ExecutorHandle {
        node,
        process,
        done,
    })
}

/// [`start`], then wait until the driver stops.
pub async fn run<E: Executor>(
    config: DriverConfig,
    executor: E,
) -> Result<DriverStatus, DriverError> {
    Ok(start(config, executor).await?.join().await)
}

/// A running driver, seen from outside its process (what [`start`]
/// returns; the scheduler's counterpart is
/// [`SchedulerHandle`](crate::scheduler::SchedulerHandle)).
pub struct ExecutorHandle<E: Executor> {
    node: Node,
    process: ProcessRef<ExecutorProcess<E>>,
    done: oneshot::Receiver<DriverStatus>,
}

impl<E: Executor> ExecutorHandle<E> {
    /// The driver's pid (`executor(1)@ip:port`).
    pub fn pid(&self) -> &Pid {
        self.process.pid()
    }

    pub fn node(&self) -> &Node {
        &self.node
    }

    /// Stops the driver from outside (the executor is dropped with it).
    pub fn stop(&self) {
        self.node.terminate(self.process.pid());
    }

    /// The updates the agent has not acknowledged yet, oldest first.
    pub async fn unacknowledged_updates(&self) -> Vec<StatusUpdate> {
        self.process
            .call(|driver: &mut ExecutorProcess<E>, _cx| driver.state.updates.clone())
            .await
            .unwrap_or_default()
    }

    /// Waits until the driver stops, then closes its node.
    pub async fn join(self) -> DriverStatus {
        let status = self.done.await.unwrap_or(DriverStatus::Aborted);
        self.node.shutdown();
        status
    }
}

/// The driver process (Mesos's `ExecutorProcess`): its bookkeeping and the
/// executor it calls.
pub struct ExecutorProcess<E: Executor> {
    state: State,
    executor: E,
}

struct State {
    config: DriverConfig,
    /// From registration, else from the environment.
    agent_id: Option<AgentId>,
    /// Registered, and the link to the agent holds.
    connected: bool,
    /// Shutdown began: no new tasks, kills or framework messages.
    shutting_down: bool,
    /// The process stops after the current callback.
    stopping: bool,
    /// Reported to `join` when the process stops.
    status: DriverStatus,
    /// An error to report through `Executor::error` after the current
    /// callback, after which the driver aborts.
    error: Option<String>,
    /// Tasks launched that have no acknowledged update yet.
    tasks: HashMap<TaskId, TaskInfo>,
    /// Updates sent and not yet acknowledged, oldest first.
    updates: Vec<StatusUpdate>,
    /// Fired when the process stops.
    done: Option<oneshot::Sender<DriverStatus>>,
    /// While waiting for a lost agent to come back.
    recovery_timer: Option<SpawnHandle>,
    /// During `Executor::kill_task`: the cap on the grace period the kill
    /// asks for, if any.
    kill_grace_cap: Option<Duration>,
}

/// What an executor's callbacks act with (Mesos's `ExecutorDriver`, the
/// interface an `Executor`'s callbacks are handed). See the module docs.
pub struct ExecutorDriver<'a, E: Executor> {
    state: &'a mut State,
    node: &'a Node,
    handle: &'a ProcessRef<ExecutorProcess<E>>,
}

impl<E: Executor> ExecutorDriver<'_, E> {
    pub fn config(&self) -> &DriverConfig {
        &self.state.config
    }

    /// Inside `Executor::kill_task`: the grace period `grace` of the
    /// task's kill policy, capped by what the kill asks for.
    pub fn kill_grace(&self, grace: Duration) -> Duration {
        self.state
            .kill_grace_cap
            .map_or(grace, |cap| cap.min(grace))
    }

    /// The driver's pid.
    pub fn pid(&self) -> &Pid {
        self.handle.pid()
    }

    /// The agent's id, once known.
    pub fn agent_id(&self) -> Option<&AgentId> {
        self.state.agent_id.as_ref()
    }

    /// Whether the agent accepted the registration and is still reachable.
    pub fn is_connected(&self) -> bool {
        self.state.connected
    }

    /// The updates the agent has not acknowledged yet, oldest first.
    pub fn unacknowledged_updates(&self) -> &[StatusUpdate] {
        &self.state.updates
    }

    /// The tasks launched that have no acknowledged update yet.
    pub fn unacknowledged_tasks(&self) -> impl Iterator<Item = &TaskInfo> {
        self.state.tasks.values()
    }

    /// [`Self::send_status_update`], a refusal logged rather than returned:
    /// what an executor does with an update it cannot send. The update's
    /// uuid, if it was sent.
    pub fn update(&mut self, status: TaskStatus) -> Option<Vec<u8>> {
        match self.send_status_update(status) {
            Ok(uuid) => Some(uuid),
            Err(e) => {
                tracing::error!(error = %e, "cannot send a status update");
                None
            }
        }
    }

    /// Sends `status` to the agent, filling in a fresh uuid, the source
    /// (executor), the executor and agent ids and the timestamps. Returns
    /// the uuid, which the acknowledgement will carry.
    pub fn send_status_update(&mut self, mut status: TaskStatus) -> Result<Vec<u8>, DriverError> {
        if self.state.stopping {
            return Err(DriverError::NotRunning);
        }
        if status.state == TaskState::Staging {
            // As Mesos: a protocol violation aborts the driver.
            self.state.error = Some("Attempted to send TASK_STAGING status update".to_owned());
            return Err(DriverError::StagingUpdate);
        }
        let uuid = random::uuid_v4().to_vec();
        let now = now_secs();
        let config = &self.state.config;
        status.uuid = Some(uuid.clone());
        status.source = Some(Source::Executor);
        status.executor_id = Some(config.executor_id.clone());
        status.agent_id = self.state.agent_id.clone();
        if status.timestamp <= 0.0 {
            status.timestamp = now;
        }
        let update = StatusUpdate {
            framework_id: config.framework_id.clone(),
            executor_id: Some(config.executor_id.clone()),
            agent_id: self.state.agent_id.clone(),
            status,
            timestamp: now,
            uuid: Some(uuid.clone()),
            latest_state: None,
        };
        tracing::info!(
            task = %update.status.task_id,
            state = %update.status.state,
            "sending status update"
        );
        self.state.updates.push(update.clone());
        let message = StatusUpdateMessage {
            update,
            pid: Some(self.pid().to_string()),
        };
        self.send(message);
        Ok(uuid)
    }

    /// Sends `data` to the framework's scheduler.
    pub fn send_framework_message(&mut self, data: Vec<u8>) -> Result<(), DriverError> {
        if self.state.stopping {
            return Err(DriverError::NotRunning);
        }
        let agent_id = self.state.agent_id.clone().ok_or(DriverError::NoAgentId)?;
        let config = &self.state.config;
        let message = ExecutorToFramework {
            agent_id,
            framework_id: config.framework_id.clone(),
            executor_id: config.executor_id.clone(),
            data,
        };
        self.send(message);
        Ok(())
    }

    /// Stops the driver after the current callback; `join` then returns
    /// [`DriverStatus::Stopped`] (unless it had aborted).
    pub fn stop(&mut self) {
        self.state.stopping = true;
    }

    /// Runs `work` without blocking the driver, then calls `then` with its
    /// output as a callback on the executor (if the driver still runs).
    pub fn defer<F, T>(
        &mut self,
        work: F,
        then: impl FnOnce(&mut E, &mut ExecutorDriver<'_, E>, T) + Send + 'static,
    ) where
        F: Future<Output = T> + 'static,
        T: Send + 'static,
    {
        let handle = self.handle.clone();
        actix::spawn(async move {
            let output = work.await;
            let me = handle.pid().clone();
            let then: ContinueFn<E> = Box::new(move |e, d| then(e, d, output));
            handle.tell(&me, Continue { then });
        });
    }

    /// Calls `then` as a callback on the executor after `after`.
    pub fn delay(
        &mut self,
        after: Duration,
        then: impl FnOnce(&mut E, &mut ExecutorDriver<'_, E>) + Send + 'static,
    ) {
        self.defer(tokio::time::sleep(after), move |e, d, ()| then(e, d));
    }

    fn send<M: wire::Message>(&self, message: M) {
        self.node
            .send(self.handle.pid(), &self.state.config.agent, message);
    }
}

/// A continuation of deferred work, run on the executor.
type ContinueFn<E> = Box<dyn for<'a> FnOnce(&mut E, &mut ExecutorDriver<'a, E>) + Send>;

struct Continue<E: Executor> {
    /// Runs on the executor with a fresh [`ExecutorDriver`].
    then: ContinueFn<E>,
}

/// The shutdown grace period passed.
struct ShutdownTimeout;

/// The recovery timeout passed after the agent was lost.
struct RecoveryTimeout;

impl<E: Executor> ExecutorProcess<E> {
    /// Calls the executor, then reports a pending error and stops if asked.
    fn call(&mut self, cx: &mut Cx<'_, Self>, f: impl FnOnce(&mut E, &mut ExecutorDriver<'_, E>)) {
        let handle = cx.handle();
        let node = cx.node().clone();
        let ExecutorProcess { state, executor } = self;
        f(
            executor,
            &mut ExecutorDriver {
                state,
                node: &node,
                handle: &handle,
            },
        );
        if let Some(message) = state.error.take() {
            executor.error(
                &mut ExecutorDriver {
                    state,
                    node: &node,
                    handle: &handle,
                },
                &message,
            );
            state.status = DriverStatus::Aborted;
            state.stopping = true;
        }
        if state.stopping {
            cx.stop();
        }
    }

    /// Whether a message claiming to be from the agent is.
    fn is_from_agent(&self, from: &Pid, what: &str) -> bool {
        if *from == self.state.config.agent {
            return true;
        }
        tracing::warn!(%from, what, "ignoring a message that is not from our agent");
        false
    }

    /// Asks the executor to shut down and gives it the grace period.
    fn shut_down(&mut self, cx: &mut Cx<'_, Self>) {
        if self.state.shutting_down {
            return;
        }
        self.state.shutting_down = true;
        let grace = self.state.config.shutdown_grace_period;
        cx.delay(grace, ShutdownTimeout);
        self.call(cx, |e, d| e.shutdown(d));
    }
}

impl<E: Executor> Process for ExecutorProcess<E> {
    fn install(i: &mut Install<Self>) {
        i.message::<ExecutorRegistered>()
            .message::<ReconnectExecutor>()
            .message::<ExecutorReregistered>()
            .message::<RunTask>()
            .message::<RunTaskGroup>()
            .message::<KillTask>()
            .message::<StatusUpdateAcknowledgement>()
            .message::<ShutdownExecutor>()
            .message::<FrameworkToExecutor>()
            .local::<Continue<E>>()
            .local::<ShutdownTimeout>()
            .local::<RecoveryTimeout>();
    }

    fn started(&mut self, cx: &mut Cx<'_, Self>) {
        self.state.agent_id = self.state.config.agent_id.clone();
        let config = &self.state.config;
        tracing::info!(
            executor = %config.executor_id,
            framework = %config.framework_id,
            agent = %config.agent,
            pid = %cx.me(),
            "registering with the agent"
        );
        cx.link(&config.agent);
        let register = RegisterExecutor {
            framework_id: config.framework_id.clone(),
            executor_id: config.executor_id.clone(),
        };
        cx.send(&config.agent, register);
    }

    fn exited(&mut self, pid: &Pid, cx: &mut Cx<'_, Self>) {
        if *pid != self.state.config.agent || self.state.shutting_down {
            return;
        }
        let was_connected = std::mem::replace(&mut self.state.connected, false);
        if self.state.config.checkpoint && was_connected {
            let timeout = self.state.config.recovery_timeout;
            tracing::info!(
                ?timeout,
                "agent exited, but the framework checkpoints: waiting for it to recover"
            );
            self.state.recovery_timer = Some(cx.delay(timeout, RecoveryTimeout));
            return;
        }
        tracing::info!("agent exited; shutting down (the framework does not checkpoint)");
        self.shut_down(cx);
    }

    fn stopped(&mut self) {
        tracing::info!(status = ?self.state.status, "executor driver stopped");
        if let Some(done) = self.state.done.take() {
            let _ = done.send(self.state.status);
        }
    }
}

impl<E: Executor> Handle<ExecutorRegistered> for ExecutorProcess<E> {
    fn handle(&mut self, m: ExecutorRegistered, from: &Pid, cx: &mut Cx<'_, Self>) {
        if !self.is_from_agent(from, "ExecutorRegistered") || self.state.shutting_down {
            return;
        }
        tracing::info!(agent_id = %m.agent_id, "registered with the agent");
        self.state.connected = true;
        self.state.agent_id = Some(m.agent_id.clone());
        self.call(cx, |e, d| {
            e.registered(d, &m.executor_info, &m.framework_info, &m.agent_info)
        });
    }
}

impl<E: Executor> Handle<ReconnectExecutor> for ExecutorProcess<E> {
    fn handle(&mut self, m: ReconnectExecutor, from: &Pid, cx: &mut Cx<'_, Self>) {
        if !self.is_from_agent(from, "ReconnectExecutor") || self.state.shutting_down {
            return;
        }
        tracing::info!(agent_id = %m.agent_id, "the agent restarted; re-registering with it");
        self.state.agent_id = Some(m.agent_id);
        let config = &self.state.config;
        // The old link died with the old agent process: link the new one.
        cx.link(&config.agent);
        let reregister = ReregisterExecutor {
            framework_id: config.framework_id.clone(),
            executor_id: config.executor_id.clone(),
            tasks: self.state.tasks.values().cloned().collect(),
            updates: self.state.updates.clone(),
        };
        cx.send(&config.agent, reregister);
    }
}

impl<E: Executor> Handle<ExecutorReregistered> for ExecutorProcess<E> {
    fn handle(&mut self, m: ExecutorReregistered, from: &Pid, cx: &mut Cx<'_, Self>) {
        if !self.is_from_agent(from, "ExecutorReregistered") || self.state.shutting_down {
            return;
        }
        tracing::info!(agent_id = %m.agent_id, "re-registered with the agent");
        self.state.connected = true;
        self.state.agent_id = Some(m.agent_id);
        if let Some(timer) = self.state.recovery_timer.take() {
            cx.cancel(timer);
        }
        self.call(cx, |e, d| e.reregistered(d, &m.agent_info));
    }
}

impl<E: Executor> Handle<RunTask> for ExecutorProcess<E> {
    fn handle(&mut self, m: RunTask, from: &Pid, cx: &mut Cx<'_, Self>) {
        if !self.is_from_agent(from, "RunTask") {
            return;
        }
        if self.state.shutting_down {
            tracing::warn!(task = %m.task.task_id, "ignoring a task sent during shutdown");
            return;
        }
        tracing::debug!(task = %m.task.task_id, "launching task");
        self.state
            .tasks
            .insert(m.task.task_id.clone(), m.task.clone());
        self.call(cx, |e, d| e.launch_task(d, m.task));
    }
}

impl<E: Executor> Handle<RunTaskGroup> for ExecutorProcess<E> {
    fn handle(&mut self, m: RunTaskGroup, from: &Pid, cx: &mut Cx<'_, Self>) {
        if !self.is_from_agent(from, "RunTaskGroup") {
            return;
        }
        if self.state.shutting_down {
            tracing::warn!(executor = %m.executor.executor_id, "ignoring a task group sent during shutdown");
            return;
        }
        tracing::debug!(tasks = m.tasks.len(), "launching task group");
        for task in &m.tasks {
            self.state.tasks.insert(task.task_id.clone(), task.clone());
        }
        self.call(cx, |e, d| e.launch_group(d, m.tasks));
    }
}

impl<E: Executor> Handle<KillTask> for ExecutorProcess<E> {
    fn handle(&mut self, m: KillTask, from: &Pid, cx: &mut Cx<'_, Self>) {
        if !self.is_from_agent(from, "KillTask") || self.state.shutting_down {
            return;
        }
        tracing::debug!(task = %m.task_id, "killing task");
        self.state.kill_grace_cap = m
            .grace_period
            .and_then(|s| Duration::try_from_secs_f64(s).ok());
        self.call(cx, |e, d| e.kill_task(d, &m.task_id));
        self.state.kill_grace_cap = None;
    }
}

impl<E: Executor> Handle<StatusUpdateAcknowledgement> for ExecutorProcess<E> {
    // Delivered during shutdown too, so an executor can stop as soon as its
    // last update is safe with the agent.
    fn handle(&mut self, m: StatusUpdateAcknowledgement, from: &Pid, cx: &mut Cx<'_, Self>) {
        if !self.is_from_agent(from, "StatusUpdateAcknowledgement") {
            return;
        }
        let before = self.state.updates.len();
        self.state
            .updates
            .retain(|u| u.uuid.as_deref() != Some(m.uuid.as_slice()));
        if self.state.updates.len() == before {
            tracing::warn!(task = %m.task_id, "ignoring an acknowledgement of an unknown update");
            return;
        }
        tracing::debug!(task = %m.task_id, "status update acknowledged");
        self.state.tasks.remove(&m.task_id);
        self.call(cx, |e, d| e.acknowledged(d, &m.task_id, &m.uuid));
    }
}

impl<E: Executor> Handle<ShutdownExecutor> for ExecutorProcess<E> {
    fn handle(&mut self, _: ShutdownExecutor, from: &Pid, cx: &mut Cx<'_, Self>) {
        if !self.is_from_agent(from, "ShutdownExecutor") {
            return;
        }
        tracing::info!("the agent asked the executor to shut down");
        self.shut_down(cx);
    }
}

impl<E: Executor> Handle<FrameworkToExecutor> for ExecutorProcess<E> {
    fn handle(&mut self, m: FrameworkToExecutor, from: &Pid, cx: &mut Cx<'_, Self>) {
        if !self.is_from_agent(from, "FrameworkToExecutor") || self.state.shutting_down {
            return;
        }
        self.call(cx, |e, d| e.framework_message(d, m.data));
    }
}

impl<E: Executor> Handle<Continue<E>> for ExecutorProcess<E> {
    fn handle(&mut self, Continue { then }: Continue<E>, _from: &Pid, cx: &mut Cx<'_, Self>) {
        self.call(cx, then);
    }
}

impl<E: Executor> Handle<ShutdownTimeout> for ExecutorProcess<E> {
    fn handle(&mut self, _: ShutdownTimeout, _from: &Pid, cx: &mut Cx<'_, Self>) {
        tracing::warn!(
            grace = ?self.state.config.shutdown_grace_period,
            "the executor did not stop within the shutdown grace period; stopping the driver"
        );
        self.state.status = DriverStatus::Aborted;
        cx.stop();
    }
}

impl<E: Executor> Handle<RecoveryTimeout> for ExecutorProcess<E> {
    fn handle(&mut self, _: RecoveryTimeout, _from: &Pid, cx: &mut Cx<'_, Self>) {
        if self.state.connected {
            return;
        }
        tracing::info!("the agent did not recover in time; shutting down");
        self.shut_down(cx);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Instant;

    use actors::testing::wait_until;
    use wire::mesos::CommandInfo;

    use super::*;
    use crate::executor::fake_agent::{command_task, Harness, Order, Setup, DEADLINE};

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    const REQUIRED: &[(&str, &str)] = &[
        ("MESOS_SLAVE_PID", "slave(1)@10.0.0.7:5051"),
        ("MESOS_FRAMEWORK_ID", "m-0001"),
        ("MESOS_EXECUTOR_ID", "web"),
        ("MESOS_DIRECTORY", "/var/lib/mesos/sandbox"),
    ];

    #[test]
    fn the_agents_environment_configures_the_driver() {
        let c = DriverConfig::from_vars(vars(REQUIRED)).unwrap();
        assert_eq!(c.agent.to_string(), "slave(1)@10.0.0.7:5051");
        assert_eq!(c.framework_id.as_str(), "m-0001");
        assert_eq!(c.executor_id.as_str(), "web");
        assert_eq!(c.sandbox, PathBuf::from("/var/lib/mesos/sandbox"));
        assert_eq!(c.directory, c.sandbox);
        assert_eq!(c.agent_id, None);
        assert!(!c.checkpoint);
        assert_eq!(c.shutdown_grace_period, Duration::from_secs(5));
        assert_eq!(c.ip, IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(c.port, 0);

        let mut all = REQUIRED.to_vec();
        all.extend([
            ("MESOS_SLAVE_ID", "m-S3"),
            ("MESOS_SANDBOX", "/mnt/mesos/sandbox"),
            ("MESOS_AGENT_ENDPOINT", "10.0.0.7:5051"),
            ("MESOS_CHECKPOINT", "1"),
            ("MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD", "8secs"),
            ("MESOS_RECOVERY_TIMEOUT", "1mins"),
            ("LIBPROCESS_IP", "10.0.0.8"),
            ("LIBPROCESS_PORT", "0"),
        ]);
        let c = DriverConfig::from_vars(vars(&all)).unwrap();
        assert_eq!(c.agent_id, Some(AgentId::new("m-S3")));
        assert_eq!(c.sandbox, PathBuf::from("/mnt/mesos/sandbox"));
        assert_eq!(c.directory, PathBuf::from("/var/lib/mesos/sandbox"));
        assert_eq!(c.agent_endpoint.as_deref(), Some("10.0.0.7:5051"));
        assert!(c.checkpoint);
        assert_eq!(c.shutdown_grace_period, Duration::from_secs(8));
        assert_eq!(c.recovery_timeout, Duration::from_secs(60));
        assert_eq!(c.ip.to_string(), "10.0.0.8");
    }

    #[test]
    fn a_missing_or_bad_variable_is_a_clear_error() {
        for (i, (name, _)) in REQUIRED.iter().enumerate() {
            let mut some = REQUIRED.to_vec();
            some.remove(i);
            let err = DriverConfig::from_vars(vars(&some)).unwrap_err();
            assert_eq!(err, EnvironmentError::Missing(name));
            assert!(err.to_string().contains(name));
        }
        for (name, value) in [
            ("MESOS_SLAVE_PID", "slave(1)"),
            ("MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD", "5"),
            ("LIBPROCESS_IP", "localhost"),
            ("LIBPROCESS_PORT", "99999"),
        ] {
            let mut bad = REQUIRED.to_vec();
            bad.retain(|(n, _)| *n != name);
            bad.push((name, value));
            assert!(
                matches!(DriverConfig::from_vars(vars(&bad)), Err(EnvironmentError::Bad { name: n, .. }) if n == name),
                "{name}={value}"
            );
        }
    }

    /// Records its callbacks; echoes framework messages; reports RUNNING
    /// for each task (and tries TASK_STAGING for a task named "staging").
    #[derive(Clone, Default)]
    struct Probe(Arc<Mutex<Vec<String>>>);

    impl Probe {
        fn note(&self, s: String) {
            self.0.lock().unwrap().push(s);
        }
        fn seen(&self) -> Vec<String> {
            self.0.lock().unwrap().clone()
        }
        async fn wait_for(&self, what: &str) -> bool {
            wait_until(DEADLINE, || self.seen().iter().any(|s| s == what)).await
        }
    }

    impl Executor for Probe {
        fn registered(
            &mut self,
            d: &mut ExecutorDriver<'_, Self>,
            _: &ExecutorInfo,
            framework: &FrameworkInfo,
            agent: &AgentInfo,
        ) {
            assert!(d.is_connected());
            self.note(format!("registered {} {}", framework.name, agent.hostname));
        }
        fn launch_task(&mut self, d: &mut ExecutorDriver<'_, Self>, task: TaskInfo) {
            self.note(format!("launch {}", task.task_id));
            assert_eq!(d.unacknowledged_tasks().count(), 1);
            let state = if task.name == "staging" {
                TaskState::Staging
            } else {
                TaskState::Running
            };
            let sent = d.send_status_update(TaskStatus::new(task.task_id, state));
            self.note(format!("sent {}", sent.is_ok()));
        }
        fn kill_task(&mut self, _: &mut ExecutorDriver<'_, Self>, task_id: &TaskId) {
            self.note(format!("kill {task_id}"));
        }
        fn acknowledged(&mut self, d: &mut ExecutorDriver<'_, Self>, task_id: &TaskId, _: &[u8]) {
            assert_eq!(d.unacknowledged_tasks().count(), 0);
            self.note(format!("ack {task_id}"));
        }
        fn framework_message(&mut self, d: &mut ExecutorDriver<'_, Self>, data: Vec<u8>) {
            self.note(format!("message {}", String::from_utf8_lossy(&data)));
            d.send_framework_message(b"pong".to_vec()).unwrap();
        }
        fn shutdown(&mut self, d: &mut ExecutorDriver<'_, Self>) {
            self.note("shutdown".into());
            d.stop();
        }
        fn error(&mut self, _: &mut ExecutorDriver<'_, Self>, message: &str) {
            self.note(format!("error {message}"));
        }
    }

    fn plain_task(name: &str) -> TaskInfo {
        let mut task = command_task(name, CommandInfo::shell("true"));
        task.name = name.to_owned();
        task
    }

    #[actix::test]
    async fn framework_messages_flow_both_ways_and_shutdown_reaches_the_executor() {
        let probe = Probe::default();
        let h = Harness::start(probe.clone(), Setup::default()).await;
        assert!(probe.wait_for("registered test framework localhost").await);
        h.order(Order::Message(b"ping".to_vec()));
        assert!(probe.wait_for("message ping").await);
        let log = h.log.clone();
        assert!(wait_until(DEADLINE, || log.framework_messages() == [b"pong".to_vec()]).await);
        h.order(Order::Kill(TaskId::new("t")));
        assert!(probe.wait_for("kill t").await);
        h.order(Order::Shutdown);
        assert_eq!(h.join().await, DriverStatus::Stopped);
        assert!(probe.seen().contains(&"shutdown".to_owned()));
    }

    #[actix::test]
    async fn updates_are_kept_until_the_agent_acknowledges_them() {
        let probe = Probe::default();
        let setup = Setup {
            auto_ack: false,
            tasks: vec![plain_task("t")],
            ..Setup::default()
        };
        let h = Harness::start(probe.clone(), setup).await;
        h.expect_states("t", &[TaskState::Running]).await;
        let unacked = h.driver.unacknowledged_updates().await;
        assert_eq!(unacked.len(), 1);
        assert_eq!(
            unacked.first().map(|u| u.status.state),
            Some(TaskState::Running)
        );
        h.order(Order::AckAll);
        assert!(probe.wait_for("ack t").await);
        assert!(h.driver.unacknowledged_updates().await.is_empty());
        // A second acknowledgement of the same update is ignored.
        h.order(Order::AckAll);
        h.order(Order::Shutdown);
        assert_eq!(h.join().await, DriverStatus::Stopped);
        assert_eq!(
            probe.seen().iter().filter(|s| s.starts_with("ack")).count(),
            1
        );
    }

    #[actix::test]
    async fn a_staging_update_is_refused_and_aborts_the_driver() {
        let probe = Probe::default();
        let setup = Setup {
            tasks: vec![plain_task("staging")],
            ..Setup::default()
        };
        let h = Harness::start(probe.clone(), setup).await;
        assert_eq!(h.join().await, DriverStatus::Aborted);
        let seen = probe.seen();
        assert!(seen.contains(&"sent false".to_owned()), "{seen:?}");
        assert!(seen.contains(&"error Attempted to send TASK_STAGING status update".to_owned()));
    }

    #[actix::test]
    async fn a_checkpointing_executor_waits_for_a_lost_agent_before_shutting_down() {
        let probe = Probe::default();
        let recovery = Duration::from_millis(500);
        let setup = Setup {
            checkpoint: true,
            recovery_timeout: recovery,
            ..Setup::default()
        };
        let h = Harness::start(probe.clone(), setup).await;
        assert!(probe.wait_for("registered test framework localhost").await);
        let lost = Instant::now();
        h.agent_node.shutdown();
        assert!(probe.wait_for("shutdown").await);
        assert!(
            lost.elapsed() >= recovery,
            "shut down before the recovery timeout"
        );
        assert_eq!(h.join().await, DriverStatus::Stopped);
    }

    #[actix::test]
    async fn an_executor_that_does_not_stop_is_stopped_after_the_grace_period() {
        /// Ignores shutdown.
        struct Stubborn;
        impl Executor for Stubborn {
            fn registered(
                &mut self,
                _: &mut ExecutorDriver<'_, Self>,
                _: &ExecutorInfo,
                _: &FrameworkInfo,
                _: &AgentInfo,
            ) {
            }
            fn launch_task(&mut self, _: &mut ExecutorDriver<'_, Self>, _: TaskInfo) {}
            fn kill_task(&mut self, _: &mut ExecutorDriver<'_, Self>, _: &TaskId) {}
            fn shutdown(&mut self, _: &mut ExecutorDriver<'_, Self>) {}
        }
        let setup = Setup {
            shutdown_grace_period: Duration::from_millis(300),
            ..Setup::default()
        };
        let h = Harness::start(Stubborn, setup).await;
        let log = h.log.clone();
        assert!(wait_until(DEADLINE, || !log.registrations().is_empty()).await);
        h.order(Order::Shutdown);
        assert_eq!(h.join().await, DriverStatus::Aborted);
    }
}
