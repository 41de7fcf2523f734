//! The command executor (`mesos-executor`; Mesos's `CommandExecutor` in
//! `src/launcher/executor.cpp`): the executor the agent starts for a task
//! that brings a command instead of an executor of its own.
//!
//! It runs exactly one task. On launch it sends TASK_STARTING, starts the
//! command (`/bin/sh -c <value>`, or the exec form) in the sandbox in a
//! process group of its own, with the executor's stdout and stderr (which
//! the agent points at the sandbox files), and sends TASK_RUNNING. When the
//! command exits it sends TASK_FINISHED (status 0), TASK_KILLED (killed on
//! request) or TASK_FAILED, with `Command exited with status N` or
//! `Command terminated with signal S` as the message.
//!
//! A kill sends TASK_KILLING (to frameworks with the TASK_KILLING_STATE
//! capability), SIGTERM to the task's group, and SIGKILL after the task's
//! `kill_grace_period` (3 s by default). Shutdown kills the task the same
//! way. Once the terminal update is acknowledged by the agent (or after
//! [`ACK_WAIT`] without one), the executor stops its driver.
//!
//! A task's `health_check` (COMMAND, HTTP or TCP, as Mesos's command
//! executor runs them) starts `delay_seconds` after the task and repeats
//! every `interval_seconds`, each check bounded by `timeout_seconds`. A
//! change of health is reported as TASK_RUNNING with `healthy` and
//! REASON_TASK_HEALTH_CHECK_STATUS_UPDATED; failures before the first
//! success within `grace_period_seconds` do not count; after
//! `consecutive_failures` failures in a row the task is killed, its
//! terminal update saying `healthy: false`.

use std::time::Duration;

use wire::ids::TaskId;
use wire::mesos::{capability, AgentInfo, ExecutorInfo, FrameworkInfo, TaskInfo, TaskStatus};
use wire::task::TaskState;

use crate::container::{self, Container, ExitStatus, Grouping, Output, SpawnOptions, WaitError};
use crate::executor::driver::{Executor, ExecutorDriver};
use crate::executor::health::{self, Health};

/// How long a task gets between SIGTERM and SIGKILL unless it says.
pub const DEFAULT_KILL_GRACE_PERIOD: Duration = Duration::from_secs(3);

/// How long to wait for the agent to acknowledge the terminal update
/// before stopping anyway.
pub const ACK_WAIT: Duration = Duration::from_secs(5);

/// The grace between SIGTERM and SIGKILL when `task` is killed.
pub(super) fn kill_grace(task: &TaskInfo) -> Duration {
    task.kill_grace_period
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .unwrap_or(DEFAULT_KILL_GRACE_PERIOD)
}

/// Starts a task's command in the sandbox, in a process group of its own,
/// with the executor's output (and user).
pub(super) fn spawn_command(
    command: &wire::mesos::CommandInfo,
    sandbox: std::path::PathBuf,
) -> Result<Container, String> {
    let options = SpawnOptions {
        cwd: Some(sandbox),
        env: command.environment.clone(),
        inherit_env: true,
        output: Output::Inherit,
        // The executor already runs as the task's user.
        user: None,
        grouping: Grouping::NewGroup,
    };
    container::spawn(command, options).map_err(|e| format!("Failed to launch command: {e}"))
}

/// How a task whose command ended with `result` ends: TASK_FINISHED on
/// success, TASK_KILLED if it was `killed`, else TASK_FAILED.
pub(super) fn outcome(result: Result<ExitStatus, WaitError>, killed: bool) -> (TaskState, String) {
    match result {
        Ok(status) if status.success() => (TaskState::Finished, format!("Command {status}")),
        Ok(status) if killed => (TaskState::Killed, format!("Command {status}")),
        Ok(status) => (TaskState::Failed, format!("Command {status}")),
        Err(e) => (
            TaskState::Failed,
            format!("Failed to wait for the command: {e}"),
        ),
    }
}

/// The executor of one command task. See the module docs.
#[derive(Default)]
pub struct CommandExecutor {
    /// From registration: whether to send TASK_KILLING.
    framework: Option<FrameworkInfo>,
    /// The one task, from its launch on.
    task: Option<Task>,
    /// The uuid of our task's terminal update, until the agent acknowledges
    /// it. (A refused second task's TASK_FAILED is not ours.)
    terminal: Option<Vec<u8>>,
}

struct Task {
    id: TaskId,
    /// While the command runs; `None` before it starts and after it ended.
    container: Option<Container>,
    kill_grace: Duration,
    /// A kill was requested: the command's end is reported as TASK_KILLED.
    killed: bool,
    /// Its health check and how it has gone, if it has one.
    health: Option<Health>,
    /// Killed for failing its health check: why.
    unhealthy: Option<String>,
}

impl CommandExecutor {
    pub fn new() -> CommandExecutor {
        CommandExecutor::default()
    }

    /// Ends the task with a terminal update, then waits (bounded) for its
    /// acknowledgement.
    fn finish(&mut self, driver: &mut ExecutorDriver<'_, Self>, status: TaskStatus) {
        tracing::info!(task = %status.task_id, state = %status.state,
            message = status.message.as_deref().unwrap_or(""), "task ended");
        let Some(uuid) = driver.update(status) else {
            driver.stop();
            return;
        };
        self.terminal = Some(uuid);
        driver.delay(ACK_WAIT, |me: &mut Self, driver| {
            if me.terminal.is_some() {
                tracing::warn!(wait = ?ACK_WAIT, "no acknowledgement of the terminal update; stopping");
                driver.stop();
            }
        });
    }

    fn failed(task_id: &TaskId, message: String) -> TaskStatus {
        let mut status = TaskStatus::new(task_id.clone(), TaskState::Failed);
        status.message = Some(message);
        status
    }

    /// The command ended (or could not be waited for).
    fn reaped(
        &mut self,
        driver: &mut ExecutorDriver<'_, Self>,
        result: Result<ExitStatus, WaitError>,
    ) {
        let Some(task) = self.task.as_mut() else {
            return;
        };
        task.container = None;
        let (state, message) = outcome(result, task.killed);
        let mut status = TaskStatus::new(task.id.clone(), state);
        status.message = Some(message);
        if let Some(why) = &task.unhealthy {
            health::mark_unhealthy(&mut status, why);
        }
        self.finish(driver, status);
    }

    /// Runs the task's health check once, if the task still runs.
    fn health_check(&mut self, driver: &mut ExecutorDriver<'_, Self>) {
        let Some(task) = self.task.as_ref() else {
            return;
        };
        let Some(h) = task
            .health
            .as_ref()
            .filter(|_| task.container.is_some() && !task.killed)
        else {
            return;
        };
        let (check, timeout) = (h.check.check.clone(), h.timeout());
        let sandbox = driver.config().sandbox.clone();
        driver.defer(
            health::run_check(check, timeout, sandbox),
            |me: &mut Self, d, result| me.health_checked(d, result),
        );
    }

    fn health_checked(
        &mut self,
        driver: &mut ExecutorDriver<'_, Self>,
        result: Result<(), String>,
    ) {
        let Some(task) = self
            .task
            .as_mut()
            .filter(|t| t.container.is_some() && !t.killed)
        else {
            return;
        };
        let Some(h) = task.health.as_mut() else {
            return;
        };
        let verdict = h.record(&task.id, result);
        let (task_id, grace, interval) = (task.id.clone(), task.kill_grace, h.interval());
        if verdict.kill.is_some() {
            task.unhealthy = verdict.kill.clone();
        }
        if let Some((healthy, why)) = verdict.report {
            driver.update(health::health_update(task_id, healthy, why));
        }
        if verdict.kill.is_some() {
            self.kill(driver, grace);
        } else {
            driver.delay(interval, |me: &mut Self, d| me.health_check(d));
        }
    }

    /// SIGTERM to the task's group, SIGKILL after `grace`.
    fn kill(&mut self, driver: &mut ExecutorDriver<'_, Self>, grace: Duration) {
        let killing_state = self
            .framework
            .as_ref()
            .is_some_and(|f| f.has_capability(capability::TASK_KILLING_STATE));
        let Some(task) = self.task.as_mut() else {
            return;
        };
        let Some(container) = task.container.clone() else {
            return;
        };
        if task.killed {
            return;
        }
        task.killed = true;
        tracing::info!(task = %task.id, ?grace, "killing the task");
        let task_id = task.id.clone();
        if killing_state {
            driver.update(TaskStatus::new(task_id, TaskState::Killing));
        }
        // The end is reported by the wait started at launch.
        driver.defer(async move { container.destroy(grace).await }, |_, _, _| {});
    }
}

impl Executor for CommandExecutor {
    fn registered(
        &mut self,
        _driver: &mut ExecutorDriver<'_, Self>,
        executor_info: &ExecutorInfo,
        framework_info: &FrameworkInfo,
        agent_info: &AgentInfo,
    ) {
        tracing::info!(executor = %executor_info.executor_id, framework = %framework_info.name,
            agent = %agent_info.hostname, "command executor registered");
        self.framework = Some(framework_info.clone());
    }

    fn launch_task(&mut self, driver: &mut ExecutorDriver<'_, Self>, task: TaskInfo) {
        if self.task.is_some() {
            let message = "Attempted to run multiple tasks using a \"command\" executor";
            tracing::warn!(task = %task.task_id, message);
            driver.update(Self::failed(&task.task_id, message.to_owned()));
            return;
        }
        self.task = Some(Task {
            id: task.task_id.clone(),
            container: None,
            kill_grace: kill_grace(&task),
            killed: false,
            health: task.meta.health_check.clone().map(Health::new),
            unhealthy: None,
        });
        let Some(command) = task.command else {
            let status = Self::failed(&task.task_id, "The task has no command".to_owned());
            self.finish(driver, status);
            return;
        };
        driver.update(TaskStatus::new(task.task_id.clone(), TaskState::Starting));
        let container = match spawn_command(&command, driver.config().sandbox.clone()) {
            Ok(container) => container,
            Err(e) => {
                let status = Self::failed(&task.task_id, e);
                self.finish(driver, status);
                return;
            }
        };
        tracing::info!(task = %task.task_id, pid = container.pid(), "task started");
        if let Some(t) = self.task.as_mut() {
            t.container = Some(container.clone());
        }
        driver.update(TaskStatus::new(task.task_id, TaskState::Running));
        driver.defer(
            async move { container.wait().await },
            |me: &mut Self, driver, result| me.reaped(driver, result),
        );
        if let Some(delay) = self
            .task
            .as_ref()
            .and_then(|t| t.health.as_ref())
            .map(Health::delay)
        {
            driver.delay(delay, |me: &mut Self, d| me.health_check(d));
        }
    }

    fn kill_task(&mut self, driver: &mut ExecutorDriver<'_, Self>, task_id: &TaskId) {
        match &self.task {
            Some(task) if task.id == *task_id => {
                let grace = driver.kill_grace(task.kill_grace);
                self.kill(driver, grace);
            }
            _ => {
                tracing::warn!(task = %task_id, "ignoring a kill of a task this executor does not run")
            }
        }
    }

    fn acknowledged(
        &mut self,
        driver: &mut ExecutorDriver<'_, Self>,
        _task_id: &TaskId,
        uuid: &[u8],
    ) {
        if self.terminal.as_deref() == Some(uuid) {
            tracing::info!("terminal update acknowledged; stopping");
            self.terminal = None;
            driver.stop();
        }
    }

    fn shutdown(&mut self, driver: &mut ExecutorDriver<'_, Self>) {
        let running = self
            .task
            .as_ref()
            .and_then(|t| t.container.as_ref().map(|_| t.kill_grace));
        match running {
            Some(grace) => {
                // Leave the driver part of its own grace period to report
                // the kill before it gives up.
                let limit = driver.config().shutdown_grace_period.mul_f64(0.8);
                self.kill(driver, grace.min(limit));
            }
            None => driver.stop(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use wire::mesos::{Check, CommandInfo, HealthCheck};
    use wire::task::{Reason, Source};

    use super::*;
    use crate::executor::driver::DriverStatus;
    use crate::executor::fake_agent::{
        command_task, gone, read_pid, Harness, Order, Setup, AGENT_ID, EXECUTOR_ID, FRAMEWORK_ID,
    };

    use TaskState::{Failed, Finished, Killed, Killing, Running, Starting};

    async fn run_one(task: TaskInfo, setup: Setup) -> Harness<CommandExecutor> {
        let setup = Setup {
            tasks: vec![task],
            ..setup
        };
        Harness::start(CommandExecutor::new(), setup).await
    }

    fn shell_task(command: &str) -> TaskInfo {
        command_task("task-1", CommandInfo::shell(command))
    }

    #[actix::test]
    async fn a_command_that_succeeds_finishes_and_the_executor_stops() {
        let h = run_one(shell_task("echo hi"), Setup::default()).await;
        h.expect_states("task-1", &[Starting, Running, Finished])
            .await;
        assert_eq!(
            h.log.last_message("task-1").as_deref(),
            Some("Command exited with status 0")
        );
        // The driver filled in what the agent relies on.
        let driver_pid = h.driver.pid().to_string();
        for m in h.log.updates() {
            let u = &m.update;
            assert_eq!(m.pid.as_deref(), Some(driver_pid.as_str()));
            assert_eq!(u.framework_id.as_str(), FRAMEWORK_ID);
            assert_eq!(
                u.executor_id.as_ref().map(|e| e.as_str()),
                Some(EXECUTOR_ID)
            );
            assert_eq!(u.agent_id.as_ref().map(|a| a.as_str()), Some(AGENT_ID));
            assert_eq!(u.uuid.as_ref().map(Vec::len), Some(16));
            assert_eq!(u.status.uuid, u.uuid);
            assert_eq!(u.status.source, Some(Source::Executor));
            assert_eq!(u.status.executor_id, u.executor_id);
            assert!(u.timestamp > 0.0);
        }
        assert_eq!(h.log.registrations(), vec![h.driver.pid().clone()]);
        assert!(h.driver.pid().id().starts_with("executor("));
        assert_eq!(h.join().await, DriverStatus::Stopped);
    }

    /// A task with `check`, checked at once and every 50 ms, failures
    /// counting from the start.
    fn checked_task(command: &str, check: Check, failures: u32) -> TaskInfo {
        let mut task = shell_task(command);
        task.meta.health_check = Some(HealthCheck {
            check,
            delay_seconds: 0.0,
            interval_seconds: 0.05,
            timeout_seconds: 5.0,
            consecutive_failures: failures,
            grace_period_seconds: 0.0,
        });
        task
    }

    fn health_reports(h: &Harness<CommandExecutor>) -> Vec<(TaskState, Option<bool>)> {
        h.log
            .updates()
            .iter()
            .map(|m| (m.update.status.state, m.update.status.healthy))
            .filter(|(_, healthy)| healthy.is_some())
            .collect()
    }

    #[actix::test]
    async fn a_passing_health_check_reports_the_task_healthy_once() {
        let check = Check::Command(CommandInfo::shell("test -d ."));
        let h = run_one(checked_task("sleep 1", check, 3), Setup::default()).await;
        h.expect_states("task-1", &[Starting, Running, Running, Finished])
            .await;
        assert_eq!(health_reports(&h), [(Running, Some(true))]);
        let healthy = h
            .log
            .updates()
            .into_iter()
            .find(|m| m.update.status.healthy.is_some())
            .map(|m| m.update.status.reason);
        assert_eq!(healthy, Some(Some(Reason::TaskHealthCheckStatusUpdated)));
        assert_eq!(h.join().await, DriverStatus::Stopped);
    }

    #[actix::test]
    async fn an_http_health_check_asks_the_task_over_http() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            use std::io::{Read, Write};
            for stream in listener.incoming().flatten().take(50) {
                let mut stream = stream;
                let _ = stream.read(&mut [0u8; 1024]);
                let _ = stream.write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
            }
        });
        let check = Check::Http {
            scheme: "http".into(),
            port,
            path: "health".into(),
            statuses: Vec::new(),
        };
        let h = run_one(checked_task("sleep 1", check, 3), Setup::default()).await;
        h.expect_states("task-1", &[Starting, Running, Running, Finished])
            .await;
        assert_eq!(health_reports(&h), [(Running, Some(true))]);
        assert_eq!(h.join().await, DriverStatus::Stopped);
    }

    #[actix::test]
    async fn a_task_failing_its_health_check_is_killed_unhealthy() {
        // A port nothing listens on.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap();
        let h = run_one(
            checked_task("sleep 600", Check::Tcp { port }, 2),
            Setup::default(),
        )
        .await;
        h.expect_states("task-1", &[Starting, Running, Running, Killed])
            .await;
        assert_eq!(
            health_reports(&h),
            [(Running, Some(false)), (Killed, Some(false))]
        );
        let message = h.log.last_message("task-1").unwrap_or_default();
        assert!(message.contains("failing its health check"), "{message}");
        assert_eq!(h.join().await, DriverStatus::Stopped);
    }

    #[actix::test]
    async fn a_command_that_exits_non_zero_fails_with_its_status() {
        let h = run_one(shell_task("exit 3"), Setup::default()).await;
        h.expect_states("task-1", &[Starting, Running, Failed])
            .await;
        assert_eq!(
            h.log.last_message("task-1").as_deref(),
            Some("Command exited with status 3")
        );
        assert_eq!(h.join().await, DriverStatus::Stopped);
    }

    #[actix::test]
    async fn the_task_runs_in_the_sandbox_with_its_environment() {
        let mut command = CommandInfo::shell("echo \"$GREETING\" > greeting; pwd > where");
        command.environment = vec![("GREETING".into(), "hello".into())];
        let h = run_one(command_task("task-1", command), Setup::default()).await;
        h.expect_states("task-1", &[Starting, Running, Finished])
            .await;
        let dir = h.sandbox.path().to_owned();
        assert_eq!(
            std::fs::read_to_string(dir.join("greeting")).unwrap(),
            "hello\n"
        );
        let pwd = std::fs::read_to_string(dir.join("where")).unwrap();
        assert_eq!(
            std::fs::canonicalize(pwd.trim()).unwrap(),
            std::fs::canonicalize(&dir).unwrap()
        );
        assert_eq!(h.join().await, DriverStatus::Stopped);
    }

    #[actix::test]
    async fn a_command_that_cannot_start_fails_with_the_reason() {
        let mut command = CommandInfo::shell("/nonexistent/program");
        command.shell = false;
        let h = run_one(command_task("task-1", command), Setup::default()).await;
        h.expect_states("task-1", &[Starting, Failed]).await;
        let message = h.log.last_message("task-1").unwrap_or_default();
        assert!(
            message.starts_with("Failed to launch command: cannot start '/nonexistent/program'"),
            "{message}"
        );
        assert_eq!(h.join().await, DriverStatus::Stopped);
    }

    #[actix::test]
    async fn a_killed_task_is_reported_killing_then_killed_within_its_grace() {
        let mut setup = Setup::default();
        setup
            .framework
            .capabilities
            .push(capability::TASK_KILLING_STATE.to_owned());
        let h = run_one(shell_task("echo $$ > task.pid; sleep 100"), setup).await;
        h.expect_states("task-1", &[Starting, Running]).await;
        let pid = read_pid(&h.sandbox.path().join("task.pid")).await;
        let asked = Instant::now();
        h.order(Order::Kill(TaskId::new("task-1")));
        h.expect_states("task-1", &[Starting, Running, Killing, Killed])
            .await;
        assert!(
            asked.elapsed() < DEFAULT_KILL_GRACE_PERIOD,
            "SIGTERM was enough"
        );
        assert_eq!(
            h.log.last_message("task-1").as_deref(),
            Some("Command terminated with signal Terminated")
        );
        assert!(gone(pid).await, "the task's shell survived");
        assert_eq!(h.join().await, DriverStatus::Stopped);
    }

    #[actix::test]
    async fn a_task_that_ignores_sigterm_is_killed_after_its_grace() {
        let mut task = shell_task("trap '' TERM; echo $$ > task.pid; sleep 100");
        task.kill_grace_period = Some(0.5);
        let h = run_one(task, Setup::default()).await;
        h.expect_states("task-1", &[Starting, Running]).await;
        let pid = read_pid(&h.sandbox.path().join("task.pid")).await;
        let asked = Instant::now();
        h.order(Order::Kill(TaskId::new("task-1")));
        // No TASK_KILLING: the framework lacks the capability.
        h.expect_states("task-1", &[Starting, Running, Killed])
            .await;
        assert!(
            asked.elapsed() >= Duration::from_millis(500),
            "killed before the grace"
        );
        assert_eq!(
            h.log.last_message("task-1").as_deref(),
            Some("Command terminated with signal Killed")
        );
        assert!(gone(pid).await);
        assert_eq!(h.join().await, DriverStatus::Stopped);
    }

    #[actix::test]
    async fn a_second_task_is_refused() {
        let h = run_one(shell_task("sleep 100"), Setup::default()).await;
        h.expect_states("task-1", &[Starting, Running]).await;
        let second = command_task("task-2", CommandInfo::shell("true"));
        h.order(Order::Run(Box::new(second)));
        h.expect_states("task-2", &[Failed]).await;
        assert_eq!(
            h.log.last_message("task-2").as_deref(),
            Some("Attempted to run multiple tasks using a \"command\" executor")
        );
        h.order(Order::Kill(TaskId::new("task-1")));
        h.expect_states("task-1", &[Starting, Running, Killed])
            .await;
        assert_eq!(h.join().await, DriverStatus::Stopped);
    }

    #[actix::test]
    async fn shutdown_kills_the_task_and_stops() {
        let h = run_one(
            shell_task("echo $$ > task.pid; sleep 100"),
            Setup::default(),
        )
        .await;
        h.expect_states("task-1", &[Starting, Running]).await;
        let pid = read_pid(&h.sandbox.path().join("task.pid")).await;
        h.order(Order::Shutdown);
        h.expect_states("task-1", &[Starting, Running, Killed])
            .await;
        assert!(gone(pid).await);
        assert_eq!(h.join().await, DriverStatus::Stopped);
    }

    #[actix::test]
    async fn losing_the_agent_without_checkpointing_shuts_the_executor_down() {
        let setup = Setup {
            shutdown_grace_period: Duration::from_secs(1),
            ..Setup::default()
        };
        let h = run_one(shell_task("echo $$ > task.pid; sleep 100"), setup).await;
        h.expect_states("task-1", &[Starting, Running]).await;
        let pid = read_pid(&h.sandbox.path().join("task.pid")).await;
        h.agent_node.shutdown();
        // TASK_KILLED cannot reach the agent, so no acknowledgement comes:
        // the grace period ends the driver.
        assert_eq!(h.join().await, DriverStatus::Aborted);
        assert!(gone(pid).await, "the task outlived its executor");
    }

    #[actix::test]
    async fn without_an_acknowledgement_the_executor_stops_after_a_bounded_wait() {
        let setup = Setup {
            auto_ack: false,
            ..Setup::default()
        };
        let h = run_one(shell_task("true"), setup).await;
        h.expect_states("task-1", &[Starting, Running, Finished])
            .await;
        let unacked = h.driver.unacknowledged_updates().await;
        assert_eq!(
            unacked.iter().map(|u| u.status.state).collect::<Vec<_>>(),
            [Starting, Running, Finished]
        );
        let started = Instant::now();
        let status = tokio::time::timeout(ACK_WAIT * 2, h.driver.join())
            .await
            .expect("the executor waited too long for an acknowledgement");
        assert_eq!(status, DriverStatus::Stopped);
        assert!(started.elapsed() < ACK_WAIT + Duration::from_secs(1));
    }
}
