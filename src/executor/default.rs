//! The default executor (`mesos-default-executor`; Mesos's
//! `DefaultExecutor` in `src/launcher/default_executor.cpp`): the executor
//! the agent starts for a task group (LAUNCH_GROUP) whose executor brings
//! no command of its own.
//!
//! Each task of a group runs as its own child process group in the
//! executor's sandbox, as the command executor runs its one task:
//! TASK_STARTING, the command, TASK_RUNNING, then TASK_FINISHED,
//! TASK_FAILED or TASK_KILLED with the command's exit as the message.
//!
//! Kill policy, as Mesos's: when a task of a group ends FAILED or KILLED
//! (and the executor is not shutting down), the other live tasks of that
//! group are killed. A kill sends TASK_KILLING (to frameworks with the
//! TASK_KILLING_STATE capability), SIGTERM, and SIGKILL after the task's
//! `kill_grace_period` (3 s by default). Shutdown kills every task. Once
//! every task is terminal and its terminal update acknowledged (or
//! [`ACK_WAIT`] after the last one ended), the executor stops its driver.
//!
//! Each task's `health_check` runs as in the command executor (see
//! [`super::health`]); a task killed for failing it ends TASK_KILLED with
//! `healthy: false`, and the kill policy then takes the rest of its group.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use wire::ids::TaskId;
use wire::mesos::{capability, AgentInfo, ExecutorInfo, FrameworkInfo, TaskInfo, TaskStatus};
use wire::task::TaskState;

use crate::container::{Container, ExitStatus, WaitError};
use crate::executor::command::{kill_grace, outcome, spawn_command, ACK_WAIT};
use crate::executor::driver::{Executor, ExecutorDriver};
use crate::executor::health::{self, Health};

/// The executor of task groups. See the module docs.
#[derive(Default)]
pub struct DefaultExecutor {
    /// From registration: whether to send TASK_KILLING.
    framework: Option<FrameworkInfo>,
    /// Every task launched, live or ended.
    tasks: BTreeMap<TaskId, Child>,
    /// The groups launched, by index; a task's `group` points here.
    groups: Vec<Vec<TaskId>>,
    /// Uuids of terminal updates the agent has not acknowledged yet.
    unacknowledged: HashSet<Vec<u8>>,
    /// Shutdown was asked: ends are not met with the kill policy.
    shutting_down: bool,
}

struct Child {
    /// Index into `DefaultExecutor::groups`.
    group: usize,
    /// While the command runs.
    container: Option<Container>,
    kill_grace: Duration,
    /// A kill was requested: the command's end is reported as TASK_KILLED.
    killed: bool,
    /// Its terminal update was sent.
    terminal: bool,
    /// Its health check and how it has gone, if it has one.
    health: Option<Health>,
    /// Killed for failing its health check: why.
    unhealthy: Option<String>,
}

impl DefaultExecutor {
    pub fn new() -> DefaultExecutor {
        DefaultExecutor::default()
    }

    /// Starts one task of group `group`.
    fn start(&mut self, driver: &mut ExecutorDriver<'_, Self>, task: TaskInfo, group: usize) {
        let task_id = task.task_id.clone();
        if self.tasks.contains_key(&task_id) {
            tracing::warn!(task = %task_id, "ignoring a second launch of a task");
            return;
        }
        self.tasks.insert(
            task_id.clone(),
            Child {
                group,
                container: None,
                kill_grace: kill_grace(&task),
                killed: false,
                terminal: false,
                health: task.meta.health_check.clone().map(Health::new),
                unhealthy: None,
            },
        );
        let Some(command) = task.command else {
            self.ended(
                driver,
                &task_id,
                TaskState::Failed,
                "The task has no command".into(),
            );
            return;
        };
        driver.update(TaskStatus::new(task_id.clone(), TaskState::Starting));
        let container = match spawn_command(&command, driver.config().sandbox.clone()) {
            Ok(container) => container,
            Err(message) => {
                self.ended(driver, &task_id, TaskState::Failed, message);
                return;
            }
        };
        tracing::info!(task = %task_id, pid = container.pid(), "task started");
        if let Some(child) = self.tasks.get_mut(&task_id) {
            child.container = Some(container.clone());
        }
        driver.update(TaskStatus::new(task_id.clone(), TaskState::Running));
        let delay = self
            .tasks
            .get(&task_id)
            .and_then(|c| c.health.as_ref())
            .map(Health::delay);
        if let Some(delay) = delay {
            let checked = task_id.clone();
            driver.delay(delay, move |me: &mut Self, d| me.health_check(d, checked));
        }
        driver.defer(
            async move { container.wait().await },
            move |me: &mut Self, driver, result| me.reaped(driver, &task_id, result),
        );
    }

    /// Runs a task's health check once, if the task still runs.
    fn health_check(&mut self, driver: &mut ExecutorDriver<'_, Self>, task_id: TaskId) {
        let Some(child) = self.tasks.get(&task_id) else {
            return;
        };
        let Some(h) = child
            .health
            .as_ref()
            .filter(|_| child.container.is_some() && !child.killed)
        else {
            return;
        };
        let (check, timeout) = (h.check.check.clone(), h.timeout());
        let sandbox = driver.config().sandbox.clone();
        driver.defer(
            health::run_check(check, timeout, sandbox),
            move |me: &mut Self, d, result| me.health_checked(d, task_id, result),
        );
    }

    fn health_checked(
        &mut self,
        driver: &mut ExecutorDriver<'_, Self>,
        task_id: TaskId,
        result: Result<(), String>,
    ) {
        let Some(child) = self
            .tasks
            .get_mut(&task_id)
            .filter(|c| c.container.is_some() && !c.killed)
        else {
            return;
        };
        let Some(h) = child.health.as_mut() else {
            return;
        };
        let verdict = h.record(&task_id, result);
        let interval = h.interval();
        if verdict.kill.is_some() {
            child.unhealthy = verdict.kill.clone();
        }
        if let Some((healthy, why)) = verdict.report {
            driver.update(health::health_update(task_id.clone(), healthy, why));
        }
        if verdict.kill.is_some() {
            self.kill(driver, &task_id, None);
        } else {
            driver.delay(interval, move |me: &mut Self, d| {
                me.health_check(d, task_id)
            });
        }
    }

    /// A task's command ended (or could not be waited for).
    fn reaped(
        &mut self,
        driver: &mut ExecutorDriver<'_, Self>,
        task_id: &TaskId,
        result: Result<ExitStatus, WaitError>,
    ) {
        let Some(child) = self.tasks.get_mut(task_id) else {
            return;
        };
        child.container = None;
        let (state, message) = outcome(result, child.killed);
        self.ended(driver, task_id, state, message);
    }

    /// Sends a task's terminal update, applies the kill policy, and stops
    /// once everything is over.
    fn ended(
        &mut self,
        driver: &mut ExecutorDriver<'_, Self>,
        task_id: &TaskId,
        state: TaskState,
        message: String,
    ) {
        let Some(child) = self.tasks.get_mut(task_id) else {
            return;
        };
        child.terminal = true;
        let group = child.group;
        tracing::info!(task = %task_id, %state, message, "task ended");
        let mut status = TaskStatus::new(task_id.clone(), state);
        status.message = Some(message);
        if let Some(why) = &child.unhealthy {
            health::mark_unhealthy(&mut status, why);
        }
        if let Some(uuid) = driver.update(status) {
            self.unacknowledged.insert(uuid);
        }
        if !self.shutting_down && matches!(state, TaskState::Failed | TaskState::Killed) {
            let others: Vec<TaskId> = self
                .groups
                .get(group)
                .into_iter()
                .flatten()
                .filter(|id| *id != task_id)
                .cloned()
                .collect();
            if !others.is_empty() {
                tracing::info!(task = %task_id, group = ?others, "killing the rest of the task group");
            }
            for other in others {
                self.kill(driver, &other, None);
            }
        }
        if self.all_terminal() {
            driver.delay(ACK_WAIT, |me: &mut Self, driver| {
                if !me.unacknowledged.is_empty() {
                    tracing::warn!(wait = ?ACK_WAIT, "terminal updates not acknowledged; stopping");
                    driver.stop();
                }
            });
            self.stop_if_done(driver);
        }
    }

    fn all_terminal(&self) -> bool {
        self.tasks.values().all(|c| c.terminal)
    }

    fn stop_if_done(&mut self, driver: &mut ExecutorDriver<'_, Self>) {
        if !self.tasks.is_empty() && self.all_terminal() && self.unacknowledged.is_empty() {
            tracing::info!("every task ended and was acknowledged; stopping");
            driver.stop();
        }
    }

    /// SIGTERM to the task's process group, SIGKILL after its grace (or
    /// `limit`, if shorter). Its end is reported by the wait begun at
    /// launch.
    fn kill(
        &mut self,
        driver: &mut ExecutorDriver<'_, Self>,
        task_id: &TaskId,
        limit: Option<Duration>,
    ) {
        let killing_state = self
            .framework
            .as_ref()
            .is_some_and(|f| f.has_capability(capability::TASK_KILLING_STATE));
        let Some(child) = self.tasks.get_mut(task_id) else {
            return;
        };
        let Some(container) = child.container.clone() else {
            return;
        };
        if child.killed {
            return;
        }
        child.killed = true;
        let grace = limit.map_or(child.kill_grace, |l| l.min(child.kill_grace));
        tracing::info!(task = %task_id, ?grace, "killing the task");
        if killing_state {
            driver.update(TaskStatus::new(task_id.clone(), TaskState::Killing));
        }
        driver.defer(async move { container.destroy(grace).await }, |_, _, _| {});
    }
}

impl Executor for DefaultExecutor {
    fn registered(
        &mut self,
        _driver: &mut ExecutorDriver<'_, Self>,
        executor_info: &ExecutorInfo,
        framework_info: &FrameworkInfo,
        agent_info: &AgentInfo,
    ) {
        tracing::info!(executor = %executor_info.executor_id, framework = %framework_info.name,
            agent = %agent_info.hostname, "default executor registered");
        self.framework = Some(framework_info.clone());
    }

    /// A lone task is a group of one.
    fn launch_task(&mut self, driver: &mut ExecutorDriver<'_, Self>, task: TaskInfo) {
        self.launch_group(driver, vec![task]);
    }

    fn launch_group(&mut self, driver: &mut ExecutorDriver<'_, Self>, tasks: Vec<TaskInfo>) {
        let group = self.groups.len();
        self.groups
            .push(tasks.iter().map(|t| t.task_id.clone()).collect());
        for task in tasks {
            self.start(driver, task, group);
        }
    }

    fn kill_task(&mut self, driver: &mut ExecutorDriver<'_, Self>, task_id: &TaskId) {
        if let Some(grace) = self
            .tasks
            .get(task_id)
            .map(|c| driver.kill_grace(c.kill_grace))
        {
            self.kill(driver, task_id, Some(grace));
        } else {
            tracing::warn!(task = %task_id, "ignoring a kill of a task this executor does not run");
        }
    }

    fn acknowledged(
        &mut self,
        driver: &mut ExecutorDriver<'_, Self>,
        _task_id: &TaskId,
        uuid: &[u8],
    ) {
        if self.unacknowledged.remove(uuid) {
            self.stop_if_done(driver);
        }
    }

    fn shutdown(&mut self, driver: &mut ExecutorDriver<'_, Self>) {
        self.shutting_down = true;
        let live: Vec<TaskId> = self
            .tasks
            .iter()
            .filter(|(_, c)| c.container.is_some())
            .map(|(id, _)| id.clone())
            .collect();
        if live.is_empty() {
            driver.stop();
            return;
        }
        // Leave the driver part of its own grace period to report the
        // kills before it gives up.
        let limit = driver.config().shutdown_grace_period.mul_f64(0.8);
        for task_id in live {
            self.kill(driver, &task_id, Some(limit));
        }
    }
}
