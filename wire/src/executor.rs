//! Messages between executors and their agent (the executor driver's side
//! of v0). Task launch, kill, status updates and their acknowledgements and
//! framework messages reuse the agent-family messages.

use serde::{Deserialize, Serialize};

use crate::ids::{AgentId, ExecutorId, FrameworkId};
use crate::mesos::{AgentInfo, ExecutorInfo, FrameworkInfo};

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

crate::messages! {
    RegisterExecutor => "mesos.executor.RegisterExecutor",
    ExecutorRegistered => "mesos.executor.ExecutorRegistered",
}
