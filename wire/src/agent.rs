//! Messages between agents and the master (v0 `mesos.internal.*Slave*`,
//! `RunTaskMessage`, `StatusUpdateMessage` and friends).

use serde::{Deserialize, Serialize};

use crate::ids::{AgentId, ExecutorId, FrameworkId, TaskId};
use crate::mesos::{AgentInfo, ExecutorInfo, FrameworkInfo, StatusUpdate, Task, TaskInfo};

/// A new agent asks to be admitted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegisterAgent {
    pub info: AgentInfo,
    pub version: String,
}

/// An admitted agent (restarted, or after a master failover) reconnects,
/// reporting what it runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReregisterAgent {
    pub info: AgentInfo,
    pub version: String,
    pub tasks: Vec<Task>,
    pub executors: Vec<ExecutorInfo>,
    pub frameworks: Vec<FrameworkInfo>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentRegistered {
    pub agent_id: AgentId,
    /// agent_ping_timeout x max_agent_ping_timeouts, in seconds: without a
    /// ping for this long the agent looks for the master again.
    pub total_ping_timeout_seconds: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentReregistered {
    pub agent_id: AgentId,
    pub total_ping_timeout_seconds: f64,
}

/// The agent shuts down gracefully.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnregisterAgent {
    pub agent_id: AgentId,
}

/// Liveness check from the master; `connected` is whether the master
/// considers the agent registered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PingAgent {
    pub connected: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PongAgent;

/// The master tells the agent to shut down (it is not welcome).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShutdownAgent {
    pub message: String,
}

/// Launch a task (master -> agent, and agent -> executor).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunTask {
    pub framework: FrameworkInfo,
    /// The scheduler's pid, where framework messages go.
    pub framework_pid: Option<String>,
    pub task: TaskInfo,
}

/// Launch a task group under one executor (master -> agent, and agent ->
/// executor): Mesos's `RunTaskGroupMessage`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunTaskGroup {
    pub framework: FrameworkInfo,
    /// The scheduler's pid, where framework messages go.
    pub framework_pid: Option<String>,
    pub executor: ExecutorInfo,
    pub tasks: Vec<TaskInfo>,
}

/// Kill a task (master -> agent, and agent -> executor).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KillTask {
    pub framework_id: FrameworkId,
    pub task_id: TaskId,
    /// At most this many seconds between the polite signal and the kill,
    /// whatever the task's kill policy says (a drain's
    /// `max_grace_period`).
    pub grace_period: Option<f64>,
}

/// A status update on its way to the framework. `pid` is where the
/// acknowledgement goes (the agent, for updates the agent forwards).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusUpdateMessage {
    pub update: StatusUpdate,
    pub pid: Option<String>,
}

/// The framework received an update (master -> agent, agent -> executor).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusUpdateAcknowledgement {
    pub agent_id: AgentId,
    pub framework_id: FrameworkId,
    pub task_id: TaskId,
    pub uuid: Vec<u8>,
}

/// Shut down every executor of a framework.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShutdownFramework {
    pub framework_id: FrameworkId,
}

/// Shut down one executor (master -> agent, agent -> executor).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShutdownExecutor {
    pub framework_id: FrameworkId,
    pub executor_id: ExecutorId,
}

/// An executor terminated (agent -> master -> framework).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExitedExecutor {
    pub agent_id: AgentId,
    pub framework_id: FrameworkId,
    pub executor_id: ExecutorId,
    /// The wait status.
    pub status: i32,
}

/// Data from a framework to one of its executors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameworkToExecutor {
    pub agent_id: AgentId,
    pub framework_id: FrameworkId,
    pub executor_id: ExecutorId,
    pub data: Vec<u8>,
}

/// Data from an executor to its framework.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutorToFramework {
    pub agent_id: AgentId,
    pub framework_id: FrameworkId,
    pub executor_id: ExecutorId,
    pub data: Vec<u8>,
}

/// The master's latest view of a framework, pushed to agents after the
/// framework fails over (new pid).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpdateFramework {
    pub framework_id: FrameworkId,
    pub framework_pid: Option<String>,
}

/// The master tells an agent its new total after reservations or
/// volumes changed (Mesos's `CheckpointResourcesMessage`, carrying the
/// whole total here): the agent checkpoints it, makes or removes volume
/// directories, and reports it when it registers again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointResources {
    pub resources: crate::resources::Resources,
}

crate::messages! {
    CheckpointResources => "mesos.agent.CheckpointResources",
    RegisterAgent => "mesos.agent.RegisterAgent",
    ReregisterAgent => "mesos.agent.ReregisterAgent",
    AgentRegistered => "mesos.agent.AgentRegistered",
    AgentReregistered => "mesos.agent.AgentReregistered",
    UnregisterAgent => "mesos.agent.UnregisterAgent",
    PingAgent => "mesos.agent.PingAgent",
    PongAgent => "mesos.agent.PongAgent",
    ShutdownAgent => "mesos.agent.ShutdownAgent",
    RunTask => "mesos.agent.RunTask",
    RunTaskGroup => "mesos.agent.RunTaskGroup",
    KillTask => "mesos.agent.KillTask",
    StatusUpdateMessage => "mesos.agent.StatusUpdate",
    StatusUpdateAcknowledgement => "mesos.agent.StatusUpdateAcknowledgement",
    ShutdownFramework => "mesos.agent.ShutdownFramework",
    ShutdownExecutor => "mesos.agent.ShutdownExecutor",
    ExitedExecutor => "mesos.agent.ExitedExecutor",
    FrameworkToExecutor => "mesos.agent.FrameworkToExecutor",
    ExecutorToFramework => "mesos.agent.ExecutorToFramework",
    UpdateFramework => "mesos.agent.UpdateFramework",
}
