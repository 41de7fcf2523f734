//! Messages between executors and their agent (the executor driver's side
//! of v0). Task launch, kill, status updates and their acknowledgements and
//! framework messages reuse the agent-family messages.

use serde::{Deserialize, Serialize};

use crate::ids::{AgentId, ExecutorId, FrameworkId};
use crate::mesos::{AgentInfo, ExecutorInfo, FrameworkInfo, StatusUpdate, TaskInfo};

/// An executor started by the agent announces itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegisterExecutor {
    pub framework_id: FrameworkId,
    pub executor_id: ExecutorId,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutorRegistered {
    pub executor_info: ExecutorInfo,
    pub framework_id: FrameworkId,
    pub framework_info: FrameworkInfo,
    pub agent_id: AgentId,
    pub agent_info: AgentInfo,
}

/// A restarted agent that recovered this executor from its checkpoint asks
/// it to re-register (Mesos's `ReconnectExecutorMessage`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReconnectExecutor {
    pub agent_id: AgentId,
}

/// An executor answers a reconnect with what the restarted agent may have
/// missed: the tasks and the status updates it holds unacknowledged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReregisterExecutor {
    pub framework_id: FrameworkId,
    pub executor_id: ExecutorId,
    pub tasks: Vec<TaskInfo>,
    pub updates: Vec<StatusUpdate>,
}

/// The restarted agent took the executor back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutorReregistered {
    pub agent_id: AgentId,
    pub agent_info: AgentInfo,
}

crate::messages! {
    RegisterExecutor => "mesos.executor.RegisterExecutor",
    ExecutorRegistered => "mesos.executor.ExecutorRegistered",
    ReconnectExecutor => "mesos.executor.ReconnectExecutor",
    ReregisterExecutor => "mesos.executor.ReregisterExecutor",
    ExecutorReregistered => "mesos.executor.ExecutorReregistered",
}
