//! The agent's records and decisions (Mesos's `Framework`, `Executor` and
//! the choices in `slave.cpp`), with no actor, clock or I/O: the agent's
//! lifecycle, what runs here, how each executor run moves through its
//! phases (each step returning the [`Effect`]s it calls for), how tasks
//! end when their executor does, and what
//! a restarted agent makes of a checkpoint. The process
//! ([`super::process`]) asks, and sends, signals, checkpoints and sets
//! timers on what it is handed back (`Agent::act`).
//!
//! The records hold the handles of what they describe (the container, the
//! executor's pid or event stream, the registration timer) so that one
//! removal forgets them all; this module never uses them.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::time::Duration;

use actors::actix::SpawnHandle;
use actors::Pid;
use bytes::Bytes;
use tokio::sync::mpsc::UnboundedSender;
use wire::agent::{RunTask, RunTaskGroup};
use wire::ids::{AgentId, ContainerId, ExecutorId, FrameworkId, TaskId};
use wire::mesos::{
    capability, AgentInfo, ExecutorInfo, FrameworkInfo, StatusUpdate, Task, TaskInfo, TaskStatus,
};
use wire::task::{Reason, TaskState};

use super::checkpoint::{CheckpointedState, ExecutorCheckpoint, FrameworkCheckpoint};
use super::flags::AgentFlags;
use super::launch::staging_task;
use crate::container::Container;

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

/// Where an executor run is: waiting for its executor to register, running
/// (the executor registered), or on its way out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecutorPhase {
    Registering,
    Running,
    Terminating,
}

/// How an executor is reached.
pub enum ExecutorLink {
    /// A v0 executor, by its process id.
    Pid(Pid),
    /// A v1 executor, over its event stream.
    Http(UnboundedSender<Bytes>),
}

/// How a task ends when the agent ends it: state, reason, message.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskEnd {
    pub state: TaskState,
    pub reason: Reason,
    pub message: String,
}

impl TaskEnd {
    pub fn new(state: TaskState, reason: Reason, message: impl Into<String>) -> TaskEnd {
        TaskEnd {
            state,
            reason,
            message: message.into(),
        }
    }
}

/// What a newly registered executor is handed: a task, or a task group.
// A few per registration, moved once: their size does not matter.
#[allow(clippy::large_enum_variant)]
pub enum Launch {
    Task(RunTask),
    Group(RunTaskGroup),
}

/// What the agent is to do about an executor run, as the records decide
/// it; the process carries each out, in order, in `Agent::act`.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Ask the executor to shut down, and kill this run's container once
    /// `grace` has passed.
    AskToShutDown {
        framework_id: FrameworkId,
        executor_id: ExecutorId,
        container_id: ContainerId,
        grace: Duration,
    },
    /// Kill the executor's container now.
    Kill {
        framework_id: FrameworkId,
        executor_id: ExecutorId,
    },
    /// End these tasks of the executor, an update each.
    EndTasks {
        framework_id: FrameworkId,
        executor_id: ExecutorId,
        tasks: Vec<TaskId>,
        end: TaskEnd,
    },
    /// A timer that is no longer needed.
    Cancel(SpawnHandle),
    /// Checkpoint the executor as it is now.
    Checkpoint {
        framework_id: FrameworkId,
        executor_id: ExecutorId,
    },
    /// Tell the master the executor exited with this wait status.
    ReportExit {
        framework_id: FrameworkId,
        executor_id: ExecutorId,
        status: i32,
    },
}

/// Tasks an ended executor keeps for `/state` (Mesos's
/// `MAX_COMPLETED_TASKS_PER_EXECUTOR`).
pub const MAX_COMPLETED_TASKS_PER_EXECUTOR: usize = 200;

/// Frameworks gone from this agent that `/state` still lists (Mesos's
/// `MAX_COMPLETED_FRAMEWORKS`).
pub const MAX_COMPLETED_FRAMEWORKS: usize = 50;

/// An executor run that ended and was forgotten, as `/state` still lists
/// it among its framework's `completed_executors`, so that the sandbox of
/// a finished task can be found (it stays until garbage collected).
#[derive(Debug, Clone, PartialEq)]
pub struct CompletedExecutor {
    pub info: ExecutorInfo,
    pub container_id: ContainerId,
    pub directory: PathBuf,
    /// Its tasks as they ended, at most `MAX_COMPLETED_TASKS_PER_EXECUTOR`.
    pub tasks: Vec<Task>,
}

/// One executor run on this agent and its tasks.
pub struct ExecutorRecord {
    info: ExecutorInfo,
    /// This run's container; a relaunch gets another.
    container_id: ContainerId,
    /// This run's sandbox.
    directory: PathBuf,
    phase: ExecutorPhase,
    /// Whether the agent made this executor to run a command task.
    command_executor: bool,
    /// The executor's process id once it registered (v0 executors).
    pid: Option<Pid>,
    /// The event stream of an executor subscribed over the v1 HTTP API.
    http: Option<UnboundedSender<Bytes>>,
    /// The executor's container while it runs (dropping the last handle of
    /// a running container kills it); `None` once it exited.
    container: Option<Container>,
    /// Tasks waiting for the executor to register.
    queued: Vec<TaskInfo>,
    /// Which queued tasks came as one task group: each group still queued
    /// is handed to the executor in one `RunTaskGroup` (not checkpointed:
    /// after recovery they go one by one).
    queued_groups: Vec<Vec<TaskId>>,
    /// Tasks handed to the executor, with their latest state.
    tasks: HashMap<TaskId, Task>,
    /// Armed while the executor has yet to register.
    registration_timer: Option<SpawnHandle>,
    /// The executor's OS pid and its start time, as checkpointed.
    os_pid: Option<i32>,
    os_start_time: Option<u64>,
    /// How its tasks end when it terminates, if the agent decided it
    /// (Mesos's `pendingTermination`).
    pending_termination: Option<TaskEnd>,
}

impl ExecutorRecord {
    /// A run just launched in `container`, waiting for its executor.
    pub fn launched(
        info: ExecutorInfo,
        (container_id, directory): (ContainerId, PathBuf),
        command_executor: bool,
        container: Container,
        registration_timer: SpawnHandle,
        os_start_time: Option<u64>,
    ) -> ExecutorRecord {
        ExecutorRecord {
            info,
            container_id,
            directory,
            phase: ExecutorPhase::Registering,
            command_executor,
            pid: None,
            http: None,
            os_pid: Some(container.pid()),
            container: Some(container),
            queued: Vec::new(),
            queued_groups: Vec::new(),
            tasks: HashMap::new(),
            registration_timer: Some(registration_timer),
            os_start_time,
            pending_termination: None,
        }
    }

    /// A run a previous agent checkpointed: waiting to re-register if its
    /// `container` still runs, terminating otherwise.
    pub fn recovered(
        checkpoint: ExecutorCheckpoint,
        container: Option<Container>,
        pid: Option<Pid>,
    ) -> ExecutorRecord {
        ExecutorRecord {
            info: checkpoint.info,
            container_id: checkpoint.container_id,
            directory: checkpoint.directory,
            phase: match container {
                Some(_) => ExecutorPhase::Registering,
                None => ExecutorPhase::Terminating,
            },
            command_executor: checkpoint.command_executor,
            pid,
            http: None,
            container,
            queued: checkpoint.queued,
            queued_groups: Vec::new(),
            tasks: checkpoint
                .tasks
                .into_iter()
                .map(|t| (t.task_id.clone(), t))
                .collect(),
            registration_timer: None,
            os_pid: checkpoint.os_pid,
            os_start_time: checkpoint.os_start_time,
            pending_termination: None,
        }
    }

    pub fn info(&self) -> &ExecutorInfo {
        &self.info
    }

    pub fn container_id(&self) -> &ContainerId {
        &self.container_id
    }

    pub fn directory(&self) -> &Path {
        &self.directory
    }

    pub fn phase(&self) -> ExecutorPhase {
        self.phase
    }

    pub fn pid(&self) -> Option<&Pid> {
        self.pid.as_ref()
    }

    pub fn http(&self) -> Option<&UnboundedSender<Bytes>> {
        self.http.as_ref()
    }

    pub fn container(&self) -> Option<&Container> {
        self.container.as_ref()
    }

    pub fn queued(&self) -> &[TaskInfo] {
        &self.queued
    }

    pub fn tasks(&self) -> &HashMap<TaskId, Task> {
        &self.tasks
    }

    /// Whether the executor registered over either API.
    pub fn is_subscribed(&self) -> bool {
        self.pid.is_some() || self.http.is_some()
    }

    /// The executor's process may still run (or its exit was not seen).
    pub fn is_alive(&self) -> bool {
        self.phase != ExecutorPhase::Terminating || self.container.is_some()
    }

    /// No task queued or handed to the executor.
    pub fn is_idle(&self) -> bool {
        self.queued.is_empty() && self.tasks.is_empty()
    }

    /// Its shutdown grace period: its own, else the agent's.
    pub fn grace(&self, default: Duration) -> Duration {
        self.info
            .shutdown_grace_period
            .and_then(|s| Duration::try_from_secs_f64(s).ok())
            .unwrap_or(default)
    }

    /// Keeps tasks until the executor registers (a group stays one group).
    pub fn queue(&mut self, tasks: Vec<TaskInfo>, group: bool) {
        if group {
            self.queued_groups
                .push(tasks.iter().map(|t| t.task_id.clone()).collect());
        }
        self.queued.extend(tasks);
    }

    /// Records tasks handed to the running executor, staging.
    pub fn stage(&mut self, tasks: &[TaskInfo], framework_id: &FrameworkId, agent_id: &AgentId) {
        for task in tasks {
            let staged = staging_task(task, framework_id, agent_id, &self.info.executor_id);
            self.tasks.insert(task.task_id.clone(), staged);
        }
    }

    /// Takes a task out of the queue; false if it was not queued.
    pub fn unqueue(&mut self, task_id: &TaskId) -> bool {
        match self.queued.iter().position(|t| &t.task_id == task_id) {
            Some(i) => {
                self.queued.remove(i);
                true
            }
            None => false,
        }
    }

    /// The executor registered (or re-registered): running from now on.
    /// Returns the registration timer to cancel.
    pub fn run(&mut self) -> Option<SpawnHandle> {
        self.phase = ExecutorPhase::Running;
        self.registration_timer.take()
    }

    /// How the agent reaches the executor from now on.
    pub fn set_link(&mut self, link: ExecutorLink) {
        match link {
            ExecutorLink::Pid(pid) => self.pid = Some(pid),
            ExecutorLink::Http(stream) => self.http = Some(stream),
        }
    }

    /// The queued tasks, now staging, as the executor is to get them: each
    /// group whole, the rest one by one.
    pub fn take_launches(
        &mut self,
        framework: (&FrameworkInfo, &Option<String>),
        framework_id: &FrameworkId,
        agent_id: &AgentId,
    ) -> Vec<Launch> {
        let (framework_info, framework_pid) = framework;
        let queued = std::mem::take(&mut self.queued);
        self.stage(&queued, framework_id, agent_id);
        let mut launches = Vec::new();
        let mut grouped = HashSet::new();
        for ids in std::mem::take(&mut self.queued_groups) {
            // A task killed while queued has left `queued`.
            let tasks: Vec<TaskInfo> = queued
                .iter()
                .filter(|t| ids.contains(&t.task_id))
                .cloned()
                .collect();
            grouped.extend(ids);
            if !tasks.is_empty() {
                launches.push(Launch::Group(RunTaskGroup {
                    framework: framework_info.clone(),
                    framework_pid: framework_pid.clone(),
                    executor: self.info.clone(),
                    tasks,
                }));
            }
        }
        for task in queued {
            if !grouped.contains(&task.task_id) {
                launches.push(Launch::Task(RunTask {
                    framework: framework_info.clone(),
                    framework_pid: framework_pid.clone(),
                    task,
                }));
            }
        }
        launches
    }

    fn kill(&self, framework_id: &FrameworkId) -> Effect {
        Effect::Kill {
            framework_id: framework_id.clone(),
            executor_id: self.info.executor_id.clone(),
        }
    }

    /// Ends the queued tasks (they will never launch) with `end`.
    fn end_queued(&mut self, framework_id: &FrameworkId, end: TaskEnd) -> Effect {
        Effect::EndTasks {
            framework_id: framework_id.clone(),
            executor_id: self.info.executor_id.clone(),
            tasks: self.queued.drain(..).map(|t| t.task_id).collect(),
            end,
        }
    }

    /// The agent shuts the executor down: terminating from now on. A
    /// subscribed executor is asked to and killed after its grace period
    /// (`default_grace` unless its own), any other killed at once; queued
    /// tasks end killed. Nothing if it was terminating already.
    pub fn shut_down(
        &mut self,
        framework_id: &FrameworkId,
        default_grace: Duration,
    ) -> Vec<Effect> {
        if self.phase == ExecutorPhase::Terminating {
            return Vec::new();
        }
        self.phase = ExecutorPhase::Terminating;
        let stop = match self.is_subscribed() {
            true => Effect::AskToShutDown {
                framework_id: framework_id.clone(),
                executor_id: self.info.executor_id.clone(),
                container_id: self.container_id.clone(),
                grace: self.grace(default_grace),
            },
            false => self.kill(framework_id),
        };
        let end = TaskEnd::new(
            TaskState::Killed,
            Reason::TaskKilledDuringLaunch,
            "Executor shut down before the task launched",
        );
        vec![stop, self.end_queued(framework_id, end)]
    }

    /// The registration timeout of run `container_id` fired. If that run
    /// is still registering it is destroyed and its queued tasks fail;
    /// nothing otherwise.
    pub fn registration_timed_out(
        &mut self,
        framework_id: &FrameworkId,
        container_id: &ContainerId,
    ) -> Vec<Effect> {
        if &self.container_id != container_id || self.phase != ExecutorPhase::Registering {
            return Vec::new();
        }
        self.phase = ExecutorPhase::Terminating;
        let end = TaskEnd::new(
            TaskState::Failed,
            Reason::ExecutorRegistrationTimeout,
            "Executor did not register within the timeout",
        );
        vec![self.kill(framework_id), self.end_queued(framework_id, end)]
    }

    /// A recovered executor did not re-register in time: killed, its tasks
    /// to end with `end` once it exits. Nothing if it was not waiting.
    pub fn reregistration_timed_out(
        &mut self,
        framework_id: &FrameworkId,
        end: TaskEnd,
    ) -> Vec<Effect> {
        if self.phase != ExecutorPhase::Registering {
            return Vec::new();
        }
        self.phase = ExecutorPhase::Terminating;
        self.pending_termination = Some(end);
        vec![self.kill(framework_id)]
    }

    /// The executor's process ended with wait `status` (`message` says
    /// how): its unfinished tasks (queued ones too) end as the agent
    /// decided, else fail as Mesos decides; the run is checkpointed; the
    /// master hears of the exit of an executor of the framework's own (not
    /// of a command executor the agent made).
    pub fn exited(
        &mut self,
        framework_id: &FrameworkId,
        status: i32,
        message: &str,
    ) -> Vec<Effect> {
        self.exited_limited(framework_id, status, message, None)
    }

    /// [`ExecutorRecord::exited`], for a container that an isolator ended
    /// because it hit a limit: its unfinished tasks end as `limited` says
    /// (Mesos's `REASON_CONTAINER_LIMITATION_*`), whatever else was
    /// pending.
    pub fn exited_limited(
        &mut self,
        framework_id: &FrameworkId,
        status: i32,
        message: &str,
        limited: Option<TaskEnd>,
    ) -> Vec<Effect> {
        self.phase = ExecutorPhase::Terminating;
        self.container = None;
        let mut unfinished: Vec<TaskId> = self.queued.drain(..).map(|t| t.task_id).collect();
        unfinished.extend(
            self.tasks
                .values()
                .filter(|t| !t.state.is_terminal())
                .map(|t| t.task_id.clone()),
        );
        let pending = self.pending_termination.take();
        let end = match limited.or(pending) {
            Some(end) => end,
            None if self.command_executor => TaskEnd::new(
                TaskState::Failed,
                Reason::CommandExecutorFailed,
                format!("Executor terminated: {message}"),
            ),
            None => TaskEnd::new(
                TaskState::Failed,
                Reason::ExecutorTerminated,
                format!("Executor terminated: {message}"),
            ),
        };
        let executor_id = self.info.executor_id.clone();
        let mut effects: Vec<Effect> = self
            .registration_timer
            .take()
            .map(Effect::Cancel)
            .into_iter()
            .collect();
        effects.push(Effect::EndTasks {
            framework_id: framework_id.clone(),
            executor_id: executor_id.clone(),
            tasks: unfinished,
            end,
        });
        effects.push(Effect::Checkpoint {
            framework_id: framework_id.clone(),
            executor_id: executor_id.clone(),
        });
        if !self.command_executor {
            effects.push(Effect::ReportExit {
                framework_id: framework_id.clone(),
                executor_id,
                status,
            });
        }
        effects
    }

    /// Tasks still staging that a re-registering executor does not `know`:
    /// they were lost in the agent's restart.
    pub fn unknown_staging(&self, known: &HashSet<TaskId>) -> Vec<TaskId> {
        self.tasks
            .values()
            .filter(|t| t.state == TaskState::Staging && !known.contains(&t.task_id))
            .map(|t| t.task_id.clone())
            .collect()
    }

    /// Records a task's new state. `Some(true)` when it just became
    /// terminal, `None` if the executor has no such task.
    pub fn set_task_state(&mut self, task_id: &TaskId, state: TaskState) -> Option<bool> {
        let task = self.tasks.get_mut(task_id)?;
        if task.state.is_terminal() {
            return Some(false);
        }
        task.state = state;
        Some(state.is_terminal())
    }

    /// Whether an update with `uuid` about `task_id` was taken already.
    pub fn has_status(&self, task_id: &TaskId, uuid: &[u8]) -> bool {
        self.tasks
            .get(task_id)
            .is_some_and(|t| t.statuses.iter().any(|s| s.uuid.as_deref() == Some(uuid)))
    }

    /// Keeps a status of one of its tasks; returns the task's state.
    pub fn record_status(&mut self, status: &TaskStatus) -> Option<TaskState> {
        let task = self.tasks.get_mut(&status.task_id)?;
        task.statuses.push(status.clone());
        Some(task.state)
    }

    /// What survives an agent restart of this run, with the updates of its
    /// tasks still unacknowledged.
    /// What `/state` keeps of this run once it is forgotten.
    fn into_completed(self) -> CompletedExecutor {
        let mut tasks: Vec<Task> = self.tasks.into_values().collect();
        let time = |t: &Task| t.statuses.last().map_or(0.0, |s| s.timestamp);
        tasks.sort_by(|a, b| time(a).total_cmp(&time(b)));
        let excess = tasks.len().saturating_sub(MAX_COMPLETED_TASKS_PER_EXECUTOR);
        tasks.drain(..excess);
        CompletedExecutor {
            info: self.info,
            container_id: self.container_id,
            directory: self.directory,
            tasks,
        }
    }

    pub fn to_checkpoint(
        &self,
        framework_id: &FrameworkId,
        updates: Vec<StatusUpdate>,
    ) -> ExecutorCheckpoint {
        ExecutorCheckpoint {
            info: self.info.clone(),
            framework_id: framework_id.clone(),
            container_id: self.container_id.clone(),
            directory: self.directory.clone(),
            command_executor: self.command_executor,
            os_pid: self.os_pid,
            os_start_time: self.os_start_time,
            libprocess_pid: self.pid.as_ref().map(Pid::to_string),
            terminated: self.phase == ExecutorPhase::Terminating && self.container.is_none(),
            queued: self.queued.clone(),
            tasks: self.tasks.values().cloned().collect(),
            updates,
        }
    }
}

/// Where a task the master wants killed is.
#[derive(Debug, Clone, PartialEq)]
pub enum KillTarget {
    /// It was queued for this executor, and is not any more.
    Unqueued(ExecutorId),
    /// This executor has it.
    Launched(ExecutorId),
    /// Not here.
    Unknown,
}

/// A framework with executors on this agent.
pub struct HostedFramework {
    info: FrameworkInfo,
    /// The scheduler's pid, where framework messages go.
    pid: Option<String>,
    executors: HashMap<ExecutorId, ExecutorRecord>,
    /// Executor runs that ended and were forgotten, oldest first, bounded
    /// by `--max_completed_executors_per_framework`.
    completed_executors: VecDeque<CompletedExecutor>,
    /// The master shut the framework down (Mesos's TERMINATING): nobody
    /// will acknowledge its updates any more, so none are sent.
    terminating: bool,
}

impl HostedFramework {
    pub fn new(info: FrameworkInfo, pid: Option<String>) -> HostedFramework {
        HostedFramework {
            info,
            pid,
            executors: HashMap::new(),
            completed_executors: VecDeque::new(),
            terminating: false,
        }
    }

    pub fn info(&self) -> &FrameworkInfo {
        &self.info
    }

    pub fn pid(&self) -> &Option<String> {
        &self.pid
    }

    pub fn is_terminating(&self) -> bool {
        self.terminating
    }

    pub fn executors(&self) -> &HashMap<ExecutorId, ExecutorRecord> {
        &self.executors
    }

    /// Executor runs that ended, oldest first.
    pub fn completed_executors(&self) -> &VecDeque<CompletedExecutor> {
        &self.completed_executors
    }

    pub fn executor(&self, executor_id: &ExecutorId) -> Option<&ExecutorRecord> {
        self.executors.get(executor_id)
    }

    pub fn executor_mut(&mut self, executor_id: &ExecutorId) -> Option<&mut ExecutorRecord> {
        self.executors.get_mut(executor_id)
    }

    pub fn add_executor(&mut self, record: ExecutorRecord) {
        self.executors
            .insert(record.info.executor_id.clone(), record);
    }

    /// Its latest info and scheduler pid, from the master.
    pub fn update(&mut self, info: &FrameworkInfo, pid: &Option<String>) {
        self.info = info.clone();
        self.pid = pid.clone();
    }

    pub fn set_pid(&mut self, pid: Option<String>) {
        self.pid = pid;
    }

    /// The master shut it down.
    pub fn terminate(&mut self) {
        self.terminating = true;
    }

    /// Partition-aware frameworks hear `aware`, the others `otherwise`.
    pub fn lost_state(&self, aware: TaskState, otherwise: TaskState) -> TaskState {
        match self.info.has_capability(capability::PARTITION_AWARE) {
            true => aware,
            false => otherwise,
        }
    }

    /// Finds a task to kill, taking it out of a queue if it was queued.
    pub fn kill_target(&mut self, task_id: &TaskId) -> KillTarget {
        for (eid, e) in self.executors.iter_mut() {
            if e.unqueue(task_id) {
                return KillTarget::Unqueued(eid.clone());
            }
            if e.tasks.contains_key(task_id) {
                return KillTarget::Launched(eid.clone());
            }
        }
        KillTarget::Unknown
    }

    /// The executor a launched task runs under.
    pub fn executor_of_task(&self, task_id: &TaskId) -> Option<ExecutorId> {
        self.executors
            .iter()
            .find(|(_, e)| e.tasks.contains_key(task_id))
            .map(|(id, _)| id.clone())
    }

    /// Forgets executors that ended and whose tasks have no update left
    /// (`pending` says), returning the ids of those forgotten. Each is
    /// kept as a completed executor, the oldest beyond `keep_completed`
    /// dropped.
    pub fn forget_ended(
        &mut self,
        pending: impl Fn(&TaskId) -> bool,
        keep_completed: usize,
    ) -> Vec<ExecutorId> {
        let (ended, live): (Vec<_>, Vec<_>) = std::mem::take(&mut self.executors)
            .into_iter()
            .partition(|(_, e)| !e.is_alive() && !e.tasks.keys().any(&pending));
        self.executors = live.into_iter().collect();
        let gone = ended.iter().map(|(eid, _)| eid.clone()).collect();
        for (_, e) in ended {
            self.completed_executors.push_back(e.into_completed());
        }
        while self.completed_executors.len() > keep_completed {
            self.completed_executors.pop_front();
        }
        gone
    }

    pub fn to_checkpoint(&self) -> FrameworkCheckpoint {
        FrameworkCheckpoint {
            info: self.info.clone(),
            pid: self.pid.clone(),
        }
    }
}

/// What the agent shows of itself to its endpoints and metrics: read
/// only, taken in the agent's mailbox order.
pub struct AgentView<'a> {
    pub info: &'a AgentInfo,
    pub flags: &'a AgentFlags,
    /// When the agent process was made, in seconds since the epoch.
    pub start_time: f64,
    /// The master, while registered with it.
    pub master: Option<&'a Pid>,
    pub frameworks: &'a HashMap<FrameworkId, HostedFramework>,
    /// Frameworks gone from this agent, oldest first.
    pub completed_frameworks: &'a VecDeque<(FrameworkId, HostedFramework)>,
    /// What runs the executors, for their usage.
    pub containerizer: &'a std::sync::Arc<dyn crate::container::Containerizer>,
}

impl AgentView<'_> {
    /// Every executor run on this agent.
    pub fn executors(&self) -> impl Iterator<Item = &ExecutorRecord> {
        self.frameworks.values().flat_map(|f| f.executors.values())
    }
}

/// Keeps a framework gone from this agent (no executor left) for `/state`,
/// forgetting the oldest beyond `MAX_COMPLETED_FRAMEWORKS`.
pub fn archive_framework(
    completed: &mut VecDeque<(FrameworkId, HostedFramework)>,
    id: FrameworkId,
    framework: HostedFramework,
) {
    completed.push_back((id, framework));
    while completed.len() > MAX_COMPLETED_FRAMEWORKS {
        completed.pop_front();
    }
}

/// What this agent runs, for re-registration: tasks (queued ones as
/// staging), executors and frameworks.
pub fn report(
    frameworks: &HashMap<FrameworkId, HostedFramework>,
    agent_id: Option<&AgentId>,
) -> (Vec<Task>, Vec<ExecutorInfo>, Vec<FrameworkInfo>) {
    let mut tasks = Vec::new();
    let mut executors = Vec::new();
    let mut infos = Vec::new();
    for f in frameworks.values() {
        infos.push(f.info.clone());
        for e in f.executors.values() {
            executors.push(e.info.clone());
            tasks.extend(e.tasks.values().cloned());
            for q in &e.queued {
                if let (Some(fid), Some(aid)) = (&f.info.id, agent_id) {
                    tasks.push(staging_task(q, fid, aid, &e.info.executor_id));
                }
            }
        }
    }
    (tasks, executors, infos)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::launch::tests::task;
    use wire::mesos::CommandInfo;
    use wire::resources::Resources;

    fn executor_info(id: &str) -> ExecutorInfo {
        ExecutorInfo {
            executor_id: ExecutorId::new(id),
            framework_id: None,
            command: CommandInfo::shell("sleep 1"),
            resources: Resources::new(),
            name: None,
            shutdown_grace_period: Some(2.5),
            container: None,
        }
    }

    fn checkpointed(tasks: Vec<Task>, queued: Vec<TaskInfo>, command: bool) -> ExecutorRecord {
        ExecutorRecord::recovered(
            ExecutorCheckpoint {
                info: executor_info("e"),
                framework_id: FrameworkId::new("f"),
                container_id: ContainerId::new("c"),
                directory: PathBuf::from("/sandbox"),
                command_executor: command,
                os_pid: None,
                os_start_time: None,
                libprocess_pid: None,
                terminated: false,
                queued,
                tasks,
                updates: Vec::new(),
            },
            None,
            None,
        )
    }

    fn staged(id: &str, state: TaskState) -> Task {
        let mut t = staging_task(
            &task(id, None),
            &FrameworkId::new("f"),
            &AgentId::new("a"),
            &ExecutorId::new("e"),
        );
        t.state = state;
        t
    }

    fn ended(effects: &[Effect]) -> Vec<(Vec<String>, TaskEnd)> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::EndTasks { tasks, end, .. } => {
                    let mut ids: Vec<String> = tasks.iter().map(|t| t.value.clone()).collect();
                    ids.sort();
                    Some((ids, end.clone()))
                }
                _ => None,
            })
            .collect()
    }

    /// An ended run of executor `id` in container `c-<id>`.
    fn ended_run(id: &str, tasks: Vec<Task>) -> ExecutorRecord {
        let mut e = checkpointed(tasks, Vec::new(), true);
        e.info.executor_id = ExecutorId::new(id);
        e.container_id = ContainerId::new(format!("c-{id}"));
        e.directory = PathBuf::from(format!("/sandbox/{id}"));
        e
    }

    #[test]
    fn forgotten_executors_are_kept_as_completed_ones_within_the_bound() {
        let mut f = HostedFramework::new(FrameworkInfo::new("root", "f"), None);
        f.add_executor(ended_run("a", vec![staged("ta", TaskState::Finished)]));
        f.add_executor(ended_run("pending", vec![staged("tp", TaskState::Failed)]));
        let gone = f.forget_ended(|t| t.value == "tp", 2);
        assert_eq!(gone, [ExecutorId::new("a")]);
        assert_eq!(
            f.completed_executors()
                .iter()
                .map(|e| (e.info.executor_id.value.as_str(), e.directory.clone()))
                .collect::<Vec<_>>(),
            [("a", PathBuf::from("/sandbox/a"))]
        );
        let done = &f.completed_executors()[0];
        assert_eq!(done.container_id, ContainerId::new("c-a"));
        assert_eq!(done.tasks.len(), 1);
        assert_eq!(done.tasks[0].state, TaskState::Finished);
        assert!(
            f.executor(&ExecutorId::new("pending")).is_some(),
            "an update is pending"
        );

        // The oldest beyond the bound are forgotten for good.
        for id in ["b", "c"] {
            f.add_executor(ended_run(id, Vec::new()));
            f.forget_ended(|t| t.value == "tp", 2);
        }
        let ids: Vec<&str> = f
            .completed_executors()
            .iter()
            .map(|e| e.info.executor_id.value.as_str())
            .collect();
        assert_eq!(ids, ["b", "c"]);
    }

    #[test]
    fn completed_frameworks_are_bounded() {
        let mut completed = VecDeque::new();
        for n in 0..MAX_COMPLETED_FRAMEWORKS + 3 {
            let id = FrameworkId::new(format!("f{n}"));
            let f = HostedFramework::new(FrameworkInfo::new("root", "f"), None);
            archive_framework(&mut completed, id, f);
        }
        assert_eq!(completed.len(), MAX_COMPLETED_FRAMEWORKS);
        assert_eq!(
            completed.front().map(|(id, _)| id.value.as_str()),
            Some("f3")
        );
    }

    #[test]
    fn an_executor_exit_fails_what_is_unfinished_with_the_reason_of_its_kind() {
        let f = FrameworkId::new("f");
        let cases = [
            (true, Reason::CommandExecutorFailed, false),
            (false, Reason::ExecutorTerminated, true),
        ];
        for (command, reason, reported) in cases {
            let mut e = checkpointed(
                vec![
                    staged("running", TaskState::Running),
                    staged("done", TaskState::Finished),
                ],
                vec![task("queued", None)],
                command,
            );
            let effects = e.exited(&f, 9, "killed by signal 9");
            let end = TaskEnd::new(
                TaskState::Failed,
                reason,
                "Executor terminated: killed by signal 9",
            );
            assert_eq!(
                ended(&effects),
                vec![(vec!["queued".to_owned(), "running".to_owned()], end)]
            );
            let report = Effect::ReportExit {
                framework_id: f.clone(),
                executor_id: ExecutorId::new("e"),
                status: 9,
            };
            assert_eq!(effects.contains(&report), reported, "command: {command}");
            assert_eq!(e.phase(), ExecutorPhase::Terminating);
            assert!(e.queued().is_empty());
        }
    }

    #[test]
    fn an_executor_that_missed_reregistration_is_killed_and_ends_its_tasks_as_decided() {
        let f = FrameworkId::new("f");
        let mut e = checkpointed(vec![staged("t", TaskState::Running)], Vec::new(), false);
        let late = |state| TaskEnd::new(state, Reason::ExecutorReregistrationTimeout, "late");
        // Recovered without a live container: not waiting to re-register.
        assert!(e
            .reregistration_timed_out(&f, late(TaskState::Lost))
            .is_empty());
        e.phase = ExecutorPhase::Registering;
        let kill = Effect::Kill {
            framework_id: f.clone(),
            executor_id: ExecutorId::new("e"),
        };
        assert_eq!(
            e.reregistration_timed_out(&f, late(TaskState::Gone)),
            vec![kill]
        );
        assert_eq!(
            ended(&e.exited(&f, 9, "gone")),
            vec![(vec!["t".to_owned()], late(TaskState::Gone))]
        );
    }

    #[test]
    fn a_shutdown_kills_an_unsubscribed_executor_and_drops_the_queue_once() {
        let f = FrameworkId::new("f");
        let mut e = checkpointed(Vec::new(), vec![task("q", None)], false);
        e.phase = ExecutorPhase::Running;
        let effects = e.shut_down(&f, Duration::from_secs(5));
        assert!(matches!(effects.first(), Some(Effect::Kill { .. })));
        assert_eq!(ended(&effects)[0].0, vec!["q".to_owned()]);
        assert_eq!(ended(&effects)[0].1.state, TaskState::Killed);
        assert!(e.shut_down(&f, Duration::from_secs(5)).is_empty());
    }

    #[test]
    fn a_subscribed_executor_is_asked_to_shut_down_within_its_own_grace() {
        let f = FrameworkId::new("f");
        let mut e = checkpointed(Vec::new(), Vec::new(), false);
        e.phase = ExecutorPhase::Running;
        e.set_link(ExecutorLink::Pid(
            "executor(1)@127.0.0.1:1".parse().expect("pid"),
        ));
        let effects = e.shut_down(&f, Duration::from_secs(5));
        assert_eq!(
            effects.first(),
            Some(&Effect::AskToShutDown {
                framework_id: f.clone(),
                executor_id: ExecutorId::new("e"),
                container_id: ContainerId::new("c"),
                grace: Duration::from_millis(2500),
            })
        );
    }

    #[test]
    fn only_the_current_run_times_out_registering() {
        let f = FrameworkId::new("f");
        let mut e = checkpointed(Vec::new(), vec![task("q", None)], false);
        e.phase = ExecutorPhase::Registering;
        assert!(e
            .registration_timed_out(&f, &ContainerId::new("older"))
            .is_empty());
        let effects = e.registration_timed_out(&f, &ContainerId::new("c"));
        assert!(matches!(effects.first(), Some(Effect::Kill { .. })));
        assert_eq!(
            ended(&effects)[0].1.reason,
            Reason::ExecutorRegistrationTimeout
        );
        assert!(e
            .registration_timed_out(&f, &ContainerId::new("c"))
            .is_empty());
    }

    #[test]
    fn queued_groups_launch_whole_and_killed_tasks_not_at_all() {
        let mut e = checkpointed(Vec::new(), Vec::new(), false);
        e.queue(vec![task("g1", None), task("g2", None)], true);
        e.queue(vec![task("lone", None)], false);
        assert!(e.unqueue(&TaskId::new("g2")));
        let framework = FrameworkInfo::new("u", "f");
        let launches = e.take_launches(
            (&framework, &None),
            &FrameworkId::new("f"),
            &AgentId::new("a"),
        );
        let shapes: Vec<Vec<&str>> = launches
            .iter()
            .map(|l| match l {
                Launch::Group(g) => g.tasks.iter().map(|t| t.task_id.as_str()).collect(),
                Launch::Task(t) => vec![t.task.task_id.as_str()],
            })
            .collect();
        assert_eq!(shapes, vec![vec!["g1"], vec!["lone"]]);
        assert_eq!(e.tasks().len(), 2, "both are staging now");
    }

    #[test]
    fn a_reregistering_executor_loses_the_staging_tasks_it_does_not_know() {
        let e = checkpointed(
            vec![
                staged("known", TaskState::Staging),
                staged("unknown", TaskState::Staging),
                staged("running", TaskState::Running),
            ],
            Vec::new(),
            false,
        );
        let known = HashSet::from([TaskId::new("known")]);
        assert_eq!(e.unknown_staging(&known), vec![TaskId::new("unknown")]);
    }

    #[test]
    fn a_terminal_task_keeps_its_state() {
        let mut e = checkpointed(vec![staged("t", TaskState::Running)], Vec::new(), false);
        let t = TaskId::new("t");
        assert_eq!(e.set_task_state(&t, TaskState::Finished), Some(true));
        assert_eq!(e.set_task_state(&t, TaskState::Failed), Some(false));
        assert_eq!(e.tasks()[&t].state, TaskState::Finished);
        assert_eq!(
            e.set_task_state(&TaskId::new("other"), TaskState::Failed),
            None
        );
    }

    #[test]
    fn a_kill_finds_queued_then_launched_tasks() {
        let mut f = HostedFramework::new(FrameworkInfo::new("u", "f"), None);
        let mut e = checkpointed(
            vec![staged("launched", TaskState::Running)],
            Vec::new(),
            false,
        );
        e.queue(vec![task("queued", None)], false);
        f.add_executor(e);
        let eid = ExecutorId::new("e");
        assert_eq!(
            f.kill_target(&TaskId::new("queued")),
            KillTarget::Unqueued(eid.clone())
        );
        assert_eq!(
            f.kill_target(&TaskId::new("queued")),
            KillTarget::Unknown,
            "taken out of the queue"
        );
        assert_eq!(
            f.kill_target(&TaskId::new("launched")),
            KillTarget::Launched(eid)
        );
    }
}
