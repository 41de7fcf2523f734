//! The agent process (`slave(1)`, Mesos's `Slave`): the actor, its state,
//! its lifecycle, the messages it sends itself, and the few acts every
//! handler shares (registering, sending to an executor, checkpointing,
//! forgetting what ended). Its handlers live by peer in
//! `master_link.rs`, `executors.rs`, `containers.rs`,
//! `recovery.rs` and [`super::gc`], the status update relay in
//! `updates.rs`, and the records and decisions they consult in
//! [`super::state`]. See [`super`] for the messages it receives
//! and sends.
//!
//! Recovery (Mesos's agent recovery): what checkpointing frameworks run
//! here is checkpointed under `<work_dir>/meta` (see [`super::checkpoint`]).
//! A restarted agent reads it before registering, keeps its agent id,
//! watches the executors still alive and asks each to re-register
//! (ReconnectExecutor; v1 executors subscribe again by themselves);
//! executors that do not within `--executor_reregistration_timeout` are
//! killed, those already gone are terminated. Only then does it
//! re-register with the master and resend the updates the master had not
//! acknowledged. With `--recover=cleanup` it shuts the recovered executors
//! down and exits instead.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use actors::actix::SpawnHandle;
use actors::http::Request;
use actors::{Cx, Handle, Install, Pid, Process, Reply};
use bytes::Bytes;
use wire::agent::{
    AgentRegistered, AgentReregistered, ExecutorToFramework, ExitedExecutor, FrameworkToExecutor,
    KillTask, PingAgent, RegisterAgent, ReregisterAgent, RunTask, RunTaskGroup, ShutdownAgent,
    ShutdownExecutor, ShutdownFramework, StatusUpdateAcknowledgement, StatusUpdateMessage,
    UpdateFramework,
};
use wire::executor::{RegisterExecutor, ReregisterExecutor};
use wire::ids::{AgentId, ContainerId, ExecutorId, FrameworkId, TaskId};
use wire::mesos::{now_secs, AgentInfo, VERSION};

use super::checkpoint::{self, CheckpointedState};
use super::executor_api::ToExecutorEvent;
use super::flags::{AgentFlags, Recover};
use super::state::{self, AgentView, Effect, HostedFramework, Lifecycle};
use super::status_updates::StatusUpdateManager;
use crate::container::Containerizer;
use crate::stop::{StopNotice, StopReason};
use crate::zookeeper::LeaderDetected;

/// The agent's process id, as Mesos names it.
pub const AGENT_ID: &str = "slave(1)";

/// Longest wait between registration attempts.
pub(super) const REGISTER_RETRY_MAX: Duration = Duration::from_secs(60);
/// The ping timeout when the master's cannot be read.
pub(super) const DEFAULT_PING_TIMEOUT: Duration = Duration::from_secs(75);

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
    /// Frameworks that had executors here and have none left, oldest
    /// first, bounded: `/state` lists them with their ended executors.
    pub(super) completed_frameworks: VecDeque<(FrameworkId, HostedFramework)>,
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
    /// Launches and recovers every executor of this agent.
    pub(super) containerizer: std::sync::Arc<dyn Containerizer>,
    /// Where the agent says why it stopped, for its daemon to decide.
    pub(super) stop_notice: StopNotice,
    /// The verbosity an operator raised (`SET_LOGGING_LEVEL`), until when.
    pub(super) logging: crate::operator_api::LoggingLevel,
}

/// Time to try registering again (while disconnected).
pub(super) struct RegistrationRetry;
/// The master may have stopped pinging (checked against the watchdog).
pub(super) struct PingTimeout;
/// Time to resend the head of a task's update stream if it is still
/// `uuid`.
pub(super) struct RetryUpdate {
    pub(super) framework_id: FrameworkId,
    pub(super) task_id: TaskId,
    pub(super) uuid: Vec<u8>,
}
/// An executor's container ended (or was found gone on recovery).
pub(super) struct ExecutorExited {
    pub(super) framework_id: FrameworkId,
    pub(super) executor_id: ExecutorId,
    pub(super) container_id: ContainerId,
    pub(super) status: i32,
    pub(super) message: String,
    /// The limit an isolator saw the container hit, which ended it.
    pub(super) limitation: Option<crate::container::Limitation>,
}
/// An executor run has had `--executor_registration_timeout` to register.
pub(super) struct RegistrationTimeout {
    pub(super) framework_id: FrameworkId,
    pub(super) executor_id: ExecutorId,
    pub(super) container_id: ContainerId,
}
/// Recovered executors have had `--executor_reregistration_timeout`.
pub(super) struct ReregistrationTimeout;
/// The shutdown grace period of this executor run is over.
pub(super) struct KillContainer {
    pub(super) framework_id: FrameworkId,
    pub(super) executor_id: ExecutorId,
    pub(super) container_id: ContainerId,
}

impl Agent {
    pub fn new(flags: AgentFlags, info: AgentInfo, master: Pid) -> Agent {
        let flags_work_dir = flags.work_dir.clone();
        let containerizer = super::containers::containerizer_for(&flags);
        Agent {
            flags,
            info,
            master,
            lifecycle: Lifecycle::Recovering { checkpoint: None },
            ping_watchdog: None,
            frameworks: HashMap::new(),
            completed_frameworks: VecDeque::new(),
            updates: StatusUpdateManager::default(),
            start_time: now_secs(),
            metrics: None,
            store: checkpoint::Store::new(&flags_work_dir),
            reregistration_timer: None,
            containerizer,
            stop_notice: StopNotice::unheard(),
            logging: Default::default(),
        }
    }

    /// An agent that tells `notice` why it stops.
    pub fn with_stop_notice(mut self, notice: StopNotice) -> Agent {
        self.stop_notice = notice;
        self
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

    /// Still recovering: executors may re-register, the master waits.
    pub(super) fn is_recovering(&self) -> bool {
        matches!(self.lifecycle, Lifecycle::Recovering { .. })
    }

    /// What the endpoints and metrics read.
    pub(super) fn view(&self) -> AgentView<'_> {
        AgentView {
            info: &self.info,
            flags: &self.flags,
            start_time: self.start_time,
            master: self.is_registered().then_some(&self.master),
            frameworks: &self.frameworks,
            completed_frameworks: &self.completed_frameworks,
            containerizer: &self.containerizer,
        }
    }

    pub(super) fn agent_id(&self) -> Option<&AgentId> {
        self.info.id.as_ref()
    }

    pub(super) fn is_master(&self, from: &Pid) -> bool {
        from == &self.master
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

    /// The one place the agent stops: it ends its own process and tells
    /// its daemon why; the daemon decides what that means for the OS
    /// process.
    pub(super) fn terminate(&mut self, reason: StopReason, cx: &mut Cx<'_, Self>) {
        tracing::info!("the agent stops: {reason}");
        self.lifecycle = Lifecycle::Terminating;
        cx.stop();
        self.stop_notice.stopped(cx.me(), reason);
    }

    /// Sends RegisterAgent (or ReregisterAgent once it has an id) while
    /// disconnected, and retries after a random part of the backoff.
    pub(super) fn register(&mut self, cx: &mut Cx<'_, Self>) {
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
                let (tasks, executors, frameworks) =
                    state::report(&self.frameworks, self.agent_id());
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
            let delay = crate::random::upto(*backoff);
            *backoff = (*backoff * 2).min(REGISTER_RETRY_MAX);
            cx.delay(delay, RegistrationRetry);
        }
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
            .and_then(|f| f.executor(executor_id))
        else {
            return false;
        };
        if let Some(stream) = e.http() {
            return stream
                .send(Bytes::from(message.to_event().to_record()))
                .is_ok();
        }
        match e.pid() {
            Some(pid) => {
                cx.send(pid, message);
                true
            }
            None => false,
        }
    }

    pub(super) fn reset_ping_watchdog(&mut self, cx: &mut Cx<'_, Self>) {
        if let Some(t) = self.ping_watchdog.take() {
            cx.cancel(t);
        }
        if let Lifecycle::Running { ping_timeout } = self.lifecycle {
            self.ping_watchdog = Some(cx.delay(ping_timeout, PingTimeout));
        }
    }

    /// Carries out, in order, what the records decided about executor
    /// runs: the one place such decisions become messages, signals,
    /// timers and checkpoints.
    pub(super) fn act(&mut self, effects: Vec<Effect>, cx: &mut Cx<'_, Self>) {
        for effect in effects {
            match effect {
                Effect::AskToShutDown {
                    framework_id,
                    executor_id,
                    container_id,
                    grace,
                } => {
                    let shutdown = ShutdownExecutor {
                        framework_id: framework_id.clone(),
                        executor_id: executor_id.clone(),
                    };
                    self.to_executor(&framework_id, &executor_id, shutdown, cx);
                    cx.delay(
                        grace,
                        KillContainer {
                            framework_id,
                            executor_id,
                            container_id,
                        },
                    );
                }
                Effect::Kill {
                    framework_id,
                    executor_id,
                } => {
                    let container = self
                        .frameworks
                        .get(&framework_id)
                        .and_then(|f| f.executor(&executor_id))
                        .and_then(|e| e.container());
                    if let Some(c) = container {
                        c.signal(libc::SIGKILL);
                    }
                }
                Effect::EndTasks {
                    framework_id,
                    executor_id,
                    tasks,
                    end,
                } => self.end_tasks((&framework_id, &executor_id), &tasks, &end, cx),
                Effect::Cancel(timer) => {
                    cx.cancel(timer);
                }
                Effect::Checkpoint {
                    framework_id,
                    executor_id,
                } => self.checkpoint_executor(&framework_id, &executor_id),
                Effect::ReportExit {
                    framework_id,
                    executor_id,
                    status,
                } => {
                    if let Some(agent_id) = self.info.id.clone() {
                        let exited = ExitedExecutor {
                            agent_id,
                            framework_id,
                            executor_id,
                            status,
                        };
                        cx.send(&self.master, exited);
                    }
                }
            }
        }
    }

    /// Forgets executors that ended and whose tasks' updates are all
    /// acknowledged, and frameworks left with no executor (`/state` still
    /// lists them as completed).
    pub(super) fn garbage_collect(&mut self) {
        let updates = &self.updates;
        let keep = self.flags.max_completed_executors_per_framework;
        let mut gone = Vec::new();
        for (fid, f) in self.frameworks.iter_mut() {
            let forgotten = f.forget_ended(|t| updates.has_pending(fid, t), keep);
            if f.info().checkpoint {
                gone.extend(forgotten.into_iter().map(|eid| (fid.clone(), eid)));
            }
        }
        for (fid, eid) in gone {
            if let Err(e) = self.store.remove_executor(&fid, &eid) {
                tracing::error!(framework = %fid, executor = %eid, "{e}");
            }
        }
        let idle: Vec<FrameworkId> = self
            .frameworks
            .iter()
            .filter(|(_, f)| f.executors().is_empty())
            .map(|(fid, _)| fid.clone())
            .collect();
        for fid in idle {
            let Some(f) = self.frameworks.remove(&fid) else {
                continue;
            };
            if f.info().checkpoint {
                if let Err(e) = self.store.remove_framework(&fid) {
                    tracing::error!(framework = %fid, "{e}");
                }
            }
            state::archive_framework(&mut self.completed_frameworks, fid, f);
        }
    }

    /// Checkpoints a framework's info and pid, if it checkpoints.
    pub(super) fn checkpoint_framework(&self, framework_id: &FrameworkId) {
        let Some(f) = self
            .frameworks
            .get(framework_id)
            .filter(|f| f.info().checkpoint)
        else {
            return;
        };
        if let Err(e) = self.store.framework(&f.to_checkpoint()) {
            tracing::error!(framework = %framework_id, "{e}");
        }
    }

    /// Checkpoints an executor of a checkpointing framework as it is now:
    /// its process, its tasks and their unacknowledged updates. A failure
    /// is logged: running tasks matter more than a later recovery.
    pub(super) fn checkpoint_executor(&self, framework_id: &FrameworkId, executor_id: &ExecutorId) {
        let Some(e) = self
            .frameworks
            .get(framework_id)
            .filter(|f| f.info().checkpoint)
            .and_then(|f| f.executor(executor_id))
        else {
            return;
        };
        let updates = self.updates.pending_of_executor(framework_id, executor_id);
        if let Err(err) = self.store.executor(&e.to_checkpoint(framework_id, updates)) {
            tracing::error!(framework = %framework_id, executor = %executor_id, "{err}");
        }
    }
}

/// `POST /api/v1/executor`, served by [`Agent::executor_call`].
fn executor_route(agent: &mut Agent, req: Request, cx: &mut Cx<'_, Agent>) -> Reply {
    agent.executor_call(req, cx)
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
            .message::<wire::agent::CheckpointResources>()
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
            .local::<LeaderDetected>();
        Self::install_gc(i);
        i.route("/api/v1/executor", executor_route);
        i.route("/api/v1", |a, req, cx| a.operator_call(req, cx));
        // As on the master: pymesos's agent driver posts to `/api/v1/operator`.
        i.route("/api/v1/operator", |a, req, cx| a.operator_call(req, cx));
        i.route("/health", |_, _, _| super::http::health())
            .route("/state", |a, req, cx| {
                super::http::state(&a.view(), cx.me(), &req.query)
            })
            .route("/state.json", |a, req, cx| {
                super::http::state(&a.view(), cx.me(), &req.query)
            })
            .route("/monitor/statistics", |a, req, _| {
                super::http::statistics(&a.view(), req.query)
            })
            .route("/monitor/statistics.json", |a, req, _| {
                super::http::statistics(&a.view(), req.query)
            })
            .route("/flags", |a, req, _| {
                super::http::flags(&a.view(), &req.query)
            })
            .route("/version", |_, req, _| super::http::version(&req.query))
            .route("/containers", |a, req, _| {
                super::containers_http::containers(&a.view(), req.query)
            });
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
                me.call(|a, _| super::metrics::gauges(&a.view()))
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
            Some(checkpoint) => {
                self.recover(checkpoint, cx);
                self.kill_orphans();
            }
            None if self.flags.recover == Recover::Cleanup => {
                tracing::info!("nothing to clean up (--recover=cleanup)");
                self.terminate(StopReason::CleanedUp, cx);
            }
            None => {
                self.kill_orphans();
                self.recovered_now();
                self.lifecycle = Lifecycle::Disconnected {
                    backoff: self.flags.registration_backoff_factor,
                };
                // Mesos waits a random part of the backoff before the first try.
                let first = crate::random::upto(self.flags.registration_backoff_factor);
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
            cx.delay(crate::random::upto(backoff), RegistrationRetry);
        }
    }
}

impl Handle<RegistrationRetry> for Agent {
    fn handle(&mut self, _: RegistrationRetry, _: &Pid, cx: &mut Cx<'_, Self>) {
        self.register(cx);
    }
}
