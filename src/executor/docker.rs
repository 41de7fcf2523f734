//! The Docker executor (`mesos-docker-executor`; Mesos's `DockerExecutor`
//! in `src/docker/executor.cpp`): the executor the Docker containerizer
//! starts for a command task whose `ContainerInfo` is `DOCKER`.
//!
//! It runs exactly one task as the Docker container `--container`. On
//! launch it sends TASK_STARTING, makes the image present (pulled only
//! when missing, or always with `force_pull_image`), creates the container
//! (cpu shares and memory limit from the task's resources, the sandbox
//! mounted at `--mapped_directory`), starts it attached so that its output
//! lands in the executor's `stdout` and `stderr` (the sandbox files), and
//! sends TASK_RUNNING once `docker inspect` shows it started. When it ends
//! it reports, from `docker inspect`: TASK_FAILED with
//! REASON_CONTAINER_LIMITATION_MEMORY if the OOM killer struck (exit code
//! 0 included), TASK_KILLED after a kill, TASK_FINISHED for exit code 0,
//! else TASK_FAILED. An image that cannot be had or a container that
//! cannot be created fails the task with Docker's message.
//!
//! A kill sends TASK_KILLING (to frameworks that want it) and runs
//! `docker stop -t <grace>` (the task's kill grace period, else
//! the executor's shutdown grace period, as Mesos), then `docker kill` if
//! the container still runs. (`--stop_timeout` is read for compatibility;
//! Mesos's executor no longer uses it.)
//! Health checks run as the command executor runs them, COMMAND checks
//! inside the container (`docker exec`), HTTP and TCP checks in the
//! container's network namespace unless it is on the host's network.

use std::path::PathBuf;
use std::time::Duration;

use wire::ids::TaskId;
use wire::mesos::{
    capability, AgentInfo, Check, CommandInfo, DockerNetwork, ExecutorInfo, FrameworkInfo,
    TaskInfo, TaskStatus,
};
use wire::task::{Reason, TaskState};

use crate::container::docker::{ContainerState, Docker, DockerError, Inspect, RunOptions, Status};
use crate::container::{self, Container, Grouping, Output, SpawnOptions};
use crate::executor::command::ACK_WAIT;
use crate::executor::driver::{Executor, ExecutorDriver};
use crate::executor::health::{self, Health};
use crate::flags::{self, FlagError, Flags, Spec};

/// The flags the Docker containerizer passes (Mesos's names).
pub const SPECS: &[Spec] = &[
    Spec::value("container", None, "The name of the task's Docker container"),
    Spec::value("docker", Some("docker"), "The docker client"),
    Spec::value(
        "docker_socket",
        Some("/var/run/docker.sock"),
        "The Docker daemon's unix socket",
    ),
    Spec::value(
        "sandbox_directory",
        None,
        "The sandbox on the host (default: MESOS_DIRECTORY)",
    ),
    Spec::value(
        "mapped_directory",
        Some("/mnt/mesos/sandbox"),
        "Where the container sees the sandbox",
    ),
    Spec::value(
        "stop_timeout",
        Some("0ns"),
        "Accepted for compatibility (kills use the task's kill grace period, else the shutdown grace period)",
    ),
    Spec::value(
        "launcher_dir",
        None,
        "Directory of the Mesos helper binaries (accepted for compatibility)",
    ),
];

/// How often `docker inspect` is asked whether the container started.
const START_POLL: Duration = Duration::from_millis(100);
/// How long the attached client has, once the container ended, to pass
/// on the container's last output.
const ATTACH_DRAIN: Duration = Duration::from_secs(2);

/// What the executor knows from its flags.
#[derive(Debug, Clone, PartialEq)]
pub struct DockerExecutorConfig {
    pub docker: Docker,
    /// `mesos-<container id>`.
    pub container: String,
    /// The sandbox on the host; `None`: the driver's directory.
    pub sandbox: Option<PathBuf>,
    pub mapped_directory: String,
    pub stop_timeout: Duration,
}

impl DockerExecutorConfig {
    pub fn from_flags(f: &Flags) -> Result<DockerExecutorConfig, FlagError> {
        Ok(DockerExecutorConfig {
            docker: Docker::new(
                &f.string("docker")?,
                std::path::Path::new(&f.string("docker_socket")?),
            ),
            container: f.string("container")?,
            sandbox: f.get("sandbox_directory").map(PathBuf::from),
            mapped_directory: f.string("mapped_directory")?,
            stop_timeout: f.duration("stop_timeout")?.unwrap_or(Duration::ZERO),
        })
    }
}

/// Where the task is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Image and container being made ready.
    Preparing,
    /// `docker start -a` runs; not yet seen running.
    Starting,
    /// Seen running, with its init's pid on the host.
    Running { pid: i32 },
    /// Its end is being read or has been reported.
    Ended,
}

struct Task {
    id: TaskId,
    phase: Phase,
    /// `docker start -a`: ends when the container does.
    attach: Option<Container>,
    /// `docker stop`'s timeout when killed.
    kill_grace: Duration,
    killed: bool,
    network: DockerNetwork,
    health: Option<Health>,
    unhealthy: Option<String>,
}

/// The executor of one Docker task. See the module docs.
pub struct DockerExecutor {
    config: DockerExecutorConfig,
    /// From registration: whether to send TASK_KILLING.
    framework: Option<FrameworkInfo>,
    task: Option<Task>,
    /// The uuid of the terminal update, until acknowledged.
    terminal: Option<Vec<u8>>,
}

/// How a container that ended ends its task.
pub fn outcome(state: &ContainerState, memory_limit: u64, killed: bool) -> TaskStatusParts {
    let status = format!("Container exited with status {}", state.exit_code);
    if killed {
        return TaskStatusParts::new(TaskState::Killed, status, None);
    }
    if state.oom_killed {
        let limit = if memory_limit > 0 {
            format!("{}MB", memory_limit / (1024 * 1024))
        } else {
            "unknown".into()
        };
        return TaskStatusParts::new(
            TaskState::Failed,
            format!("Memory limit exceeded: the container was OOM-killed at its memory limit of {limit} ({status})"),
            Some(Reason::ContainerLimitationMemory),
        );
    }
    if state.exit_code == 0 {
        TaskStatusParts::new(TaskState::Finished, status, None)
    } else {
        TaskStatusParts::new(TaskState::Failed, status, None)
    }
}

/// The state, message and reason of an update.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskStatusParts {
    pub state: TaskState,
    pub message: String,
    pub reason: Option<Reason>,
}

impl TaskStatusParts {
    fn new(state: TaskState, message: String, reason: Option<Reason>) -> TaskStatusParts {
        TaskStatusParts {
            state,
            message,
            reason,
        }
    }

    fn status(self, task_id: &TaskId) -> TaskStatus {
        let mut s = TaskStatus::new(task_id.clone(), self.state);
        s.message = Some(self.message);
        s.reason = self.reason;
        s
    }
}

/// The task's cpus and mem, if it has them.
fn limits(task: &TaskInfo) -> (Option<f64>, Option<f64>) {
    let scalar = |name: &str| Some(task.resources.scalar(name)).filter(|v| *v > 0.0);
    (scalar("cpus"), scalar("mem"))
}

/// `docker exec <container> ...` running `command` inside the container.
pub fn exec_check(docker: &Docker, container: &str, command: &CommandInfo) -> CommandInfo {
    let mut argv = vec![
        docker.program.clone(),
        "-H".into(),
        format!("unix://{}", docker.socket.display()),
        "exec".into(),
    ];
    for (k, v) in &command.environment {
        argv.extend(["-e".into(), format!("{k}={v}")]);
    }
    argv.push(container.to_owned());
    if command.shell {
        argv.extend([
            "/bin/sh".into(),
            "-c".into(),
            command.value.clone().unwrap_or_default(),
        ]);
    } else {
        argv.extend(command.value.iter().cloned());
        argv.extend(command.arguments.iter().skip(1).cloned());
    }
    CommandInfo {
        value: Some(docker.program.clone()),
        shell: false,
        arguments: argv,
        environment: Vec::new(),
        uris: Vec::new(),
        user: None,
    }
}

/// Runs `check` in the network namespace of process `pid`: on a thread of
/// its own that joins it (sockets and children of that thread live there).
async fn check_in_netns(
    pid: i32,
    check: Check,
    timeout: Duration,
    sandbox: PathBuf,
) -> Result<(), String> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let result = (|| {
            let ns = std::fs::File::open(format!("/proc/{pid}/ns/net"))
                .map_err(|e| format!("cannot open the container's network namespace: {e}"))?;
            // SAFETY: setns on a namespace fd we hold, affecting only this
            // thread, which exits after the check.
            if unsafe { libc::setns(std::os::fd::AsRawFd::as_raw_fd(&ns), libc::CLONE_NEWNET) } != 0
            {
                return Err(format!(
                    "cannot enter the container's network namespace: {}",
                    std::io::Error::last_os_error()
                ));
            }
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("cannot run the check: {e}"))?;
            rt.block_on(health::run_check(check, timeout, sandbox))
        })();
        let _ = tx.send(result);
    });
    rx.await
        .unwrap_or_else(|_| Err("the check's thread ended without a result".into()))
}

impl DockerExecutor {
    pub fn new(config: DockerExecutorConfig) -> DockerExecutor {
        DockerExecutor {
            config,
            framework: None,
            task: None,
            terminal: None,
        }
    }

    /// Ends the task with a terminal update, then waits (bounded) for its
    /// acknowledgement.
    fn finish(&mut self, driver: &mut ExecutorDriver<'_, Self>, status: TaskStatus) {
        tracing::info!(task = %status.task_id, state = %status.state,
            message = status.message.as_deref().unwrap_or(""), "task ended");
        if let Some(t) = self.task.as_mut() {
            t.phase = Phase::Ended;
        }
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

    fn fail(&mut self, driver: &mut ExecutorDriver<'_, Self>, message: String) {
        let Some(id) = self.task.as_ref().map(|t| t.id.clone()) else {
            return;
        };
        let mut status = TaskStatus::new(id, TaskState::Failed);
        status.message = Some(message);
        self.finish(driver, status);
    }

    fn sandbox(&self, driver: &ExecutorDriver<'_, Self>) -> PathBuf {
        self.config
            .sandbox
            .clone()
            .unwrap_or_else(|| driver.config().directory.clone())
    }

    /// The image is there and the container created: start it attached.
    fn created(&mut self, driver: &mut ExecutorDriver<'_, Self>, result: Result<(), DockerError>) {
        let Some(task) = self.task.as_mut() else {
            return;
        };
        if let Err(e) = result {
            self.fail(driver, format!("Failed to launch container: {e}"));
            return;
        }
        if task.killed {
            let mut status = TaskStatus::new(task.id.clone(), TaskState::Killed);
            status.message = Some("Killed before the container started".into());
            self.finish(driver, status);
            return;
        }
        let docker = &self.config.docker;
        let mut start = CommandInfo::shell(&docker.program);
        start.shell = false;
        start.arguments = vec![
            docker.program.clone(),
            "-H".into(),
            format!("unix://{}", docker.socket.display()),
            "start".into(),
            "--attach".into(),
            self.config.container.clone(),
        ];
        let options = SpawnOptions {
            cwd: None,
            env: Vec::new(),
            inherit_env: true,
            output: Output::Inherit,
            grouping: Grouping::NewGroup,
            user: None,
        };
        let attach = match container::spawn(&start, options) {
            Ok(c) => c,
            Err(e) => {
                self.fail(driver, format!("Failed to start the container: {e}"));
                return;
            }
        };
        task.attach = Some(attach);
        task.phase = Phase::Starting;
        self.wait_for_end(driver);
        self.poll_started(driver);
    }

    /// Asks `docker inspect` whether the container started yet.
    fn poll_started(&mut self, driver: &mut ExecutorDriver<'_, Self>) {
        if !matches!(self.task.as_ref().map(|t| t.phase), Some(Phase::Starting)) {
            return;
        }
        let docker = self.config.docker.clone();
        let name = self.config.container.clone();
        driver.defer(
            blocking(move || docker.inspect(&name)),
            |me: &mut Self, d, result| me.inspected_start(d, result),
        );
    }

    fn inspected_start(
        &mut self,
        driver: &mut ExecutorDriver<'_, Self>,
        result: Result<Inspect, DockerError>,
    ) {
        let Some(task) = self.task.as_mut().filter(|t| t.phase == Phase::Starting) else {
            return;
        };
        match result {
            Ok(i) if i.state.status == Status::Running && i.state.pid > 0 => {
                task.phase = Phase::Running { pid: i.state.pid };
                tracing::info!(task = %task.id, container = %self.config.container, pid = i.state.pid, "container running");
                let (id, delay) = (task.id.clone(), task.health.as_ref().map(Health::delay));
                driver.update(TaskStatus::new(id, TaskState::Running));
                if let Some(delay) = delay {
                    driver.delay(delay, |me: &mut Self, d| me.health_check(d));
                }
            }
            // Ended before it was seen running: the attach's end reports.
            Ok(i) if i.state.status == Status::Exited || i.state.status == Status::Dead => {}
            Ok(_) | Err(_) => driver.delay(START_POLL, |me: &mut Self, d| me.poll_started(d)),
        }
    }

    /// `docker wait` until the container ends (an attached client can miss
    /// the end of a container that exits at once, so its end is not
    /// relied on), then, once the attached client has passed on the last
    /// output (or after [`ATTACH_DRAIN`]), `docker inspect` for how it ended.
    fn wait_for_end(&mut self, driver: &mut ExecutorDriver<'_, Self>) {
        let Some(task) = self.task.as_ref() else {
            return;
        };
        let attach = task.attach.clone();
        let docker = self.config.docker.clone();
        let name = self.config.container.clone();
        driver.defer(
            async move {
                let waited = blocking({
                    let (docker, name) = (docker.clone(), name.clone());
                    move || docker.output(&["wait", &name]).map(drop)
                })
                .await;
                if let Some(attach) = attach {
                    if tokio::time::timeout(ATTACH_DRAIN, attach.wait())
                        .await
                        .is_err()
                    {
                        attach.signal(libc::SIGKILL);
                    }
                }
                let inspected = blocking(move || docker.inspect(&name)).await;
                (waited, inspected)
            },
            |me: &mut Self, d, (waited, inspected)| me.waited(d, waited, inspected),
        );
    }

    fn waited(
        &mut self,
        driver: &mut ExecutorDriver<'_, Self>,
        waited: Result<(), DockerError>,
        inspected: Result<Inspect, DockerError>,
    ) {
        if let Some(task) = self.task.as_mut() {
            task.attach = None;
        }
        match (&waited, &inspected) {
            // `docker wait` gave up while the container still runs.
            (Err(e), Ok(i)) if i.state.status.is_live() => {
                tracing::warn!("docker wait failed ({e}); waiting again");
                driver.delay(START_POLL, |me: &mut Self, d| me.wait_for_end(d));
            }
            _ => self.ended(driver, inspected),
        }
    }

    fn ended(
        &mut self,
        driver: &mut ExecutorDriver<'_, Self>,
        result: Result<Inspect, DockerError>,
    ) {
        let Some(task) = self.task.as_mut() else {
            return;
        };
        let was_running = matches!(task.phase, Phase::Running { .. });
        let (id, killed) = (task.id.clone(), task.killed);
        let unhealthy = task.unhealthy.clone();
        match result {
            Ok(i) => {
                if !was_running
                    && !killed
                    && i.state.status == Status::Exited
                    && i.state.error.is_empty()
                {
                    // It ran, too briefly to be seen running.
                    driver.update(TaskStatus::new(id.clone(), TaskState::Running));
                }
                let mut status = if !i.state.error.is_empty() && !was_running {
                    let mut s = TaskStatus::new(id.clone(), TaskState::Failed);
                    s.message = Some(format!("Failed to launch container: {}", i.state.error));
                    s
                } else {
                    outcome(&i.state, i.memory_limit, killed).status(&id)
                };
                if let Some(why) = &unhealthy {
                    health::mark_unhealthy(&mut status, why);
                }
                self.finish(driver, status);
            }
            Err(e) => self.fail(driver, format!("Failed to inspect the container: {e}")),
        }
    }

    fn health_check(&mut self, driver: &mut ExecutorDriver<'_, Self>) {
        let Some(task) = self.task.as_ref() else {
            return;
        };
        let (Phase::Running { pid }, false) = (task.phase, task.killed) else {
            return;
        };
        let Some(h) = task.health.as_ref() else {
            return;
        };
        let timeout = h.timeout();
        let sandbox = self.sandbox(driver);
        let check = h.check.check.clone();
        let in_host_network = task.network == DockerNetwork::Host;
        let future: std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>>>> =
            match check {
                Check::Command(c) => {
                    let c = exec_check(&self.config.docker, &self.config.container, &c);
                    Box::pin(health::run_check(Check::Command(c), timeout, sandbox))
                }
                other if in_host_network => Box::pin(health::run_check(other, timeout, sandbox)),
                other => Box::pin(check_in_netns(pid, other, timeout, sandbox)),
            };
        driver.defer(future, |me: &mut Self, d, result| {
            me.health_checked(d, result)
        });
    }

    fn health_checked(
        &mut self,
        driver: &mut ExecutorDriver<'_, Self>,
        result: Result<(), String>,
    ) {
        let Some(task) = self
            .task
            .as_mut()
            .filter(|t| matches!(t.phase, Phase::Running { .. }) && !t.killed)
        else {
            return;
        };
        let Some(h) = task.health.as_mut() else {
            return;
        };
        let verdict = h.record(&task.id, result);
        let (task_id, interval) = (task.id.clone(), h.interval());
        if verdict.kill.is_some() {
            task.unhealthy = verdict.kill.clone();
        }
        if let Some((healthy, why)) = verdict.report {
            driver.update(health::health_update(task_id, healthy, why));
        }
        if verdict.kill.is_some() {
            self.kill(driver);
        } else {
            driver.delay(interval, |me: &mut Self, d| me.health_check(d));
        }
    }

    /// `docker stop -t <grace>`, then `docker kill` if it still runs.
    fn kill(&mut self, driver: &mut ExecutorDriver<'_, Self>) {
        let killing_state = self
            .framework
            .as_ref()
            .is_some_and(|f| f.has_capability(capability::TASK_KILLING_STATE));
        let Some(task) = self.task.as_mut() else {
            return;
        };
        if task.killed || task.phase == Phase::Ended {
            return;
        }
        task.killed = true;
        let grace = task.kill_grace;
        tracing::info!(task = %task.id, ?grace, "killing the task");
        let task_id = task.id.clone();
        let phase = task.phase;
        if killing_state {
            driver.update(TaskStatus::new(task_id, TaskState::Killing));
        }
        if phase == Phase::Preparing {
            // Reported once the preparation ends.
            return;
        }
        let docker = self.config.docker.clone();
        let name = self.config.container.clone();
        // The end is reported when the attached `docker start` ends.
        driver.defer(
            blocking(move || {
                if let Err(e) = docker.stop(&name, grace) {
                    tracing::warn!("docker stop failed ({e}); killing");
                    if let Err(e) = docker.kill(&name) {
                        tracing::warn!("docker kill failed: {e}");
                    }
                }
            }),
            |_, _, _| {},
        );
    }
}

/// Runs blocking Docker work off the driver's thread.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    match tokio::task::spawn_blocking(work).await {
        Ok(v) => v,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

impl Executor for DockerExecutor {
    fn registered(
        &mut self,
        _driver: &mut ExecutorDriver<'_, Self>,
        executor_info: &ExecutorInfo,
        framework_info: &FrameworkInfo,
        agent_info: &AgentInfo,
    ) {
        tracing::info!(executor = %executor_info.executor_id, framework = %framework_info.name,
            agent = %agent_info.hostname, container = %self.config.container, "docker executor registered");
        self.framework = Some(framework_info.clone());
    }

    fn launch_task(&mut self, driver: &mut ExecutorDriver<'_, Self>, task: TaskInfo) {
        if self.task.is_some() {
            let message = "Attempted to run multiple tasks using a \"docker\" executor";
            tracing::warn!(task = %task.task_id, message);
            let mut status = TaskStatus::new(task.task_id.clone(), TaskState::Failed);
            status.message = Some(message.to_owned());
            driver.update(status);
            return;
        }
        let docker_info = task
            .meta
            .container
            .as_ref()
            .filter(|c| c.is_docker())
            .and_then(|c| c.docker.clone());
        // As Mesos: the task's kill policy, else the executor's shutdown
        // grace period (which replaced `--stop_timeout` here).
        let kill_grace = task
            .kill_grace_period
            .and_then(|s| Duration::try_from_secs_f64(s).ok())
            .unwrap_or(driver.config().shutdown_grace_period);
        self.task = Some(Task {
            id: task.task_id.clone(),
            phase: Phase::Preparing,
            attach: None,
            kill_grace,
            killed: false,
            network: docker_info
                .as_ref()
                .map(|d| d.network)
                .unwrap_or(DockerNetwork::Host),
            health: task.meta.health_check.clone().map(Health::new),
            unhealthy: None,
        });
        let (Some(docker_info), Some(command)) = (docker_info, task.command.clone()) else {
            self.fail(
                driver,
                "The task has no command or no DOCKER container".to_owned(),
            );
            return;
        };
        driver.update(TaskStatus::new(task.task_id.clone(), TaskState::Starting));
        let (cpus, mem_mb) = limits(&task);
        let container = task.meta.container.clone();
        let options = RunOptions {
            name: self.config.container.clone(),
            docker: docker_info.clone(),
            volumes: container
                .as_ref()
                .map(|c| c.volumes.clone())
                .unwrap_or_default(),
            user_network: container
                .as_ref()
                .and_then(|c| c.user_network())
                .map(str::to_owned),
            hostname: container.and_then(|c| c.hostname),
            command,
            cpus,
            mem_mb,
            env: Vec::new(),
            sandbox: self.sandbox(driver),
            mapped_directory: self.config.mapped_directory.clone(),
        };
        let mut argv = match options.argv() {
            Ok(argv) => argv,
            Err(e) => {
                self.fail(driver, format!("Failed to launch container: {e}"));
                return;
            }
        };
        // Created first, so that Docker's refusal comes back as a message,
        // then started attached.
        argv[0] = "create".into();
        let docker = self.config.docker.clone();
        let image = docker_info.image.clone();
        let force = docker_info.force_pull_image;
        driver.defer(
            blocking(move || {
                docker.ensure_image(&image, force)?;
                docker.output(&argv).map(drop)
            }),
            |me: &mut Self, d, result| me.created(d, result),
        );
    }

    fn kill_task(&mut self, driver: &mut ExecutorDriver<'_, Self>, task_id: &TaskId) {
        match self.task.as_mut() {
            Some(task) if task.id == *task_id => {
                task.kill_grace = driver.kill_grace(task.kill_grace);
                self.kill(driver)
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
        match self.task.as_ref().map(|t| t.phase) {
            Some(Phase::Ended) | None => driver.stop(),
            Some(_) => {
                let limit = driver.config().shutdown_grace_period.mul_f64(0.8);
                if let Some(t) = self.task.as_mut() {
                    t.kill_grace = t.kill_grace.min(limit);
                }
                self.kill(driver);
            }
        }
    }
}

/// The `main` of `mesos-docker-executor`.
pub fn main() -> i32 {
    let program = "mesos-docker-executor";
    super::main_with(program, SPECS, |f| {
        DockerExecutorConfig::from_flags(f).map(DockerExecutor::new)
    })
}

/// Reads flags for tests and tools: `args` as the executor would.
pub fn config_from_args(args: &[&str]) -> Result<DockerExecutorConfig, FlagError> {
    match Flags::load(SPECS, args.iter().map(|s| s.to_string()), Vec::new())? {
        flags::Outcome::Run(f) => DockerExecutorConfig::from_flags(&f),
        _ => Err(FlagError::Missing("container".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(exit_code: i32, oom_killed: bool) -> ContainerState {
        ContainerState {
            status: Status::Exited,
            pid: 0,
            exit_code,
            oom_killed,
            error: String::new(),
        }
    }

    #[test]
    fn a_containers_end_decides_the_tasks() {
        let mb64 = 64 << 20;
        let cases = [
            (state(0, false), false, TaskState::Finished, None, "Container exited with status 0"),
            (state(3, false), false, TaskState::Failed, None, "Container exited with status 3"),
            (state(137, false), true, TaskState::Killed, None, "Container exited with status 137"),
            (state(137, true), true, TaskState::Killed, None, "Container exited with status 137"),
            (
                state(137, true),
                false,
                TaskState::Failed,
                Some(Reason::ContainerLimitationMemory),
                "Memory limit exceeded: the container was OOM-killed at its memory limit of 64MB (Container exited with status 137)",
            ),
            // Only a child was killed; PID 1 exited 0.
            (
                state(0, true),
                false,
                TaskState::Failed,
                Some(Reason::ContainerLimitationMemory),
                "Memory limit exceeded: the container was OOM-killed at its memory limit of 64MB (Container exited with status 0)",
            ),
        ];
        for (s, killed, want_state, want_reason, want_message) in cases {
            let got = outcome(&s, mb64, killed);
            assert_eq!(
                got,
                TaskStatusParts::new(want_state, want_message.into(), want_reason),
                "{s:?} killed={killed}"
            );
        }
    }

    #[test]
    fn command_checks_run_inside_the_container() {
        let docker = Docker::new("/usr/bin/docker", std::path::Path::new("/d.sock"));
        let c = exec_check(&docker, "mesos-c1", &CommandInfo::shell("test -f /x"));
        assert_eq!(c.value.as_deref(), Some("/usr/bin/docker"));
        assert_eq!(
            c.arguments,
            [
                "/usr/bin/docker",
                "-H",
                "unix:///d.sock",
                "exec",
                "mesos-c1",
                "/bin/sh",
                "-c",
                "test -f /x"
            ]
        );
        let mut exec = CommandInfo::shell("/bin/true");
        exec.shell = false;
        exec.arguments = vec!["true".into(), "--x".into()];
        exec.environment = vec![("A".into(), "1".into())];
        let c = exec_check(&docker, "mesos-c1", &exec);
        assert_eq!(
            c.arguments,
            [
                "/usr/bin/docker",
                "-H",
                "unix:///d.sock",
                "exec",
                "-e",
                "A=1",
                "mesos-c1",
                "/bin/true",
                "--x"
            ]
        );
    }

    /// A stand-in `docker` client: logs each call's subcommand to `calls`
    /// in its directory; `image inspect` takes a second, and finds images
    /// unless they are named `missing`; `pull` always fails.
    fn fake_docker(dir: &std::path::Path) -> Docker {
        use std::os::unix::fs::PermissionsExt;
        let script = dir.join("docker");
        let calls = dir.join("calls");
        std::fs::write(
            &script,
            format!(
                r#"#!/bin/sh
shift 2
echo "$1" >> {calls}
case "$1" in
  image) sleep 1; case "$*" in *missing*) echo "Error: No such image: missing" >&2; exit 1;; esac ;;
  pull) echo "Error response from daemon: pull access denied for missing" >&2; exit 1 ;;
esac
exit 0
"#,
                calls = calls.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        Docker::new(
            &script.display().to_string(),
            std::path::Path::new("/nowhere.sock"),
        )
    }

    fn docker_executor(docker: Docker) -> DockerExecutor {
        DockerExecutor::new(DockerExecutorConfig {
            docker,
            container: "mesos-c1".into(),
            sandbox: None,
            mapped_directory: "/mnt/mesos/sandbox".into(),
            stop_timeout: Duration::ZERO,
        })
    }

    fn task_of(image: &str) -> TaskInfo {
        let mut task =
            crate::executor::fake_agent::command_task("task-1", CommandInfo::shell("true"));
        task.meta.container = Some(wire::mesos::ContainerInfo {
            kind: wire::mesos::ContainerType::Docker,
            docker: Some(wire::mesos::DockerInfo::new(image)),
            volumes: Vec::new(),
            hostname: None,
            network_infos: Vec::new(),
        });
        task
    }

    #[actix::test]
    async fn a_kill_while_the_image_is_prepared_kills_before_the_start() {
        use crate::executor::fake_agent::{Harness, Order, Setup};
        let dir = tempfile::tempdir().unwrap();
        let setup = Setup {
            tasks: vec![task_of("present")],
            ..Setup::default()
        };
        let h = Harness::start(docker_executor(fake_docker(dir.path())), setup).await;
        h.expect_states("task-1", &[TaskState::Starting]).await;
        h.order(Order::Kill(TaskId::new("task-1")));
        h.expect_states("task-1", &[TaskState::Starting, TaskState::Killed])
            .await;
        assert_eq!(
            h.log.last_message("task-1").as_deref(),
            Some("Killed before the container started")
        );
        let calls = std::fs::read_to_string(dir.path().join("calls")).unwrap();
        assert!(!calls.contains("start"), "{calls}");
        h.join().await;
    }

    #[actix::test]
    async fn an_image_that_cannot_be_pulled_fails_with_dockers_message() {
        use crate::executor::fake_agent::{Harness, Setup};
        let dir = tempfile::tempdir().unwrap();
        let setup = Setup {
            tasks: vec![task_of("missing")],
            ..Setup::default()
        };
        let h = Harness::start(docker_executor(fake_docker(dir.path())), setup).await;
        h.expect_states("task-1", &[TaskState::Starting, TaskState::Failed])
            .await;
        let message = h.log.last_message("task-1").unwrap_or_default();
        assert!(
            message.starts_with("Failed to launch container: 'docker pull missing' failed: Error response from daemon: pull access denied"),
            "{message}"
        );
        let calls = std::fs::read_to_string(dir.path().join("calls")).unwrap();
        assert_eq!(calls, "image\npull\n");
        h.join().await;
    }

    #[test]
    fn flags_are_mesos_names() {
        let c = config_from_args(&[
            "--container=mesos-c1",
            "--docker=/usr/bin/docker",
            "--docker_socket=/d.sock",
            "--sandbox_directory=/w/s",
            "--mapped_directory=/mnt/mesos/sandbox",
            "--stop_timeout=2secs",
        ])
        .unwrap();
        assert_eq!(c.container, "mesos-c1");
        assert_eq!(
            c.docker,
            Docker::new("/usr/bin/docker", std::path::Path::new("/d.sock"))
        );
        assert_eq!(c.sandbox, Some(PathBuf::from("/w/s")));
        assert_eq!(c.stop_timeout, Duration::from_secs(2));
        assert!(config_from_args(&[]).is_err());
    }
}
