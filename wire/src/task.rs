//! Task states, status sources and reasons, with Mesos's names, numbers and
//! terminal semantics (`TaskState` in `mesos.proto`).

use serde::{Deserialize, Serialize};

/// The state of a task. JSON names are Mesos's (`"TASK_RUNNING"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum TaskState {
    #[serde(rename = "TASK_STAGING")]
    Staging,
    #[serde(rename = "TASK_STARTING")]
    Starting,
    #[serde(rename = "TASK_RUNNING")]
    Running,
    #[serde(rename = "TASK_KILLING")]
    Killing,
    #[serde(rename = "TASK_FINISHED")]
    Finished,
    #[serde(rename = "TASK_FAILED")]
    Failed,
    #[serde(rename = "TASK_KILLED")]
    Killed,
    #[serde(rename = "TASK_ERROR")]
    Error,
    #[serde(rename = "TASK_LOST")]
    Lost,
    #[serde(rename = "TASK_DROPPED")]
    Dropped,
    #[serde(rename = "TASK_UNREACHABLE")]
    Unreachable,
    #[serde(rename = "TASK_GONE")]
    Gone,
    #[serde(rename = "TASK_GONE_BY_OPERATOR")]
    GoneByOperator,
    #[serde(rename = "TASK_UNKNOWN")]
    Unknown,
}

impl TaskState {
    pub const ALL: [TaskState; 14] = [
        TaskState::Staging,
        TaskState::Starting,
        TaskState::Running,
        TaskState::Killing,
        TaskState::Finished,
        TaskState::Failed,
        TaskState::Killed,
        TaskState::Error,
        TaskState::Lost,
        TaskState::Dropped,
        TaskState::Unreachable,
        TaskState::Gone,
        TaskState::GoneByOperator,
        TaskState::Unknown,
    ];

    /// Mesos's `isTerminalState`: no further update follows. `TASK_LOST` is
    /// terminal although a partitioned agent may later return.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            TaskState::Finished
                | TaskState::Failed
                | TaskState::Killed
                | TaskState::Error
                | TaskState::Lost
                | TaskState::Dropped
                | TaskState::Gone
                | TaskState::GoneByOperator
        )
    }

    /// The protobuf enum number.
    pub fn number(self) -> i32 {
        match self {
            TaskState::Starting => 0,
            TaskState::Running => 1,
            TaskState::Finished => 2,
            TaskState::Failed => 3,
            TaskState::Killed => 4,
            TaskState::Lost => 5,
            TaskState::Staging => 6,
            TaskState::Error => 7,
            TaskState::Killing => 8,
            TaskState::Dropped => 9,
            TaskState::Unreachable => 10,
            TaskState::Gone => 11,
            TaskState::GoneByOperator => 12,
            TaskState::Unknown => 13,
        }
    }

    /// The Mesos name, `TASK_RUNNING`.
    pub fn name(self) -> &'static str {
        match self {
            TaskState::Staging => "TASK_STAGING",
            TaskState::Starting => "TASK_STARTING",
            TaskState::Running => "TASK_RUNNING",
            TaskState::Killing => "TASK_KILLING",
            TaskState::Finished => "TASK_FINISHED",
            TaskState::Failed => "TASK_FAILED",
            TaskState::Killed => "TASK_KILLED",
            TaskState::Error => "TASK_ERROR",
            TaskState::Lost => "TASK_LOST",
            TaskState::Dropped => "TASK_DROPPED",
            TaskState::Unreachable => "TASK_UNREACHABLE",
            TaskState::Gone => "TASK_GONE",
            TaskState::GoneByOperator => "TASK_GONE_BY_OPERATOR",
            TaskState::Unknown => "TASK_UNKNOWN",
        }
    }

    /// The state a framework without the PARTITION_AWARE capability sees:
    /// the partition-aware states collapse to `TASK_LOST`.
    pub fn for_framework(self, partition_aware: bool) -> TaskState {
        match self {
            TaskState::Dropped
            | TaskState::Unreachable
            | TaskState::Gone
            | TaskState::GoneByOperator
            | TaskState::Unknown
                if !partition_aware =>
            {
                TaskState::Lost
            }
            other => other,
        }
    }
}

impl std::fmt::Display for TaskState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Who produced a status update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Source {
    #[serde(rename = "SOURCE_MASTER")]
    Master,
    #[serde(rename = "SOURCE_AGENT")]
    Agent,
    #[serde(rename = "SOURCE_EXECUTOR")]
    Executor,
}

/// Why a status update happened (the reasons this implementation emits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Reason {
    #[serde(rename = "REASON_COMMAND_EXECUTOR_FAILED")]
    CommandExecutorFailed,
    #[serde(rename = "REASON_EXECUTOR_TERMINATED")]
    ExecutorTerminated,
    #[serde(rename = "REASON_FRAMEWORK_REMOVED")]
    FrameworkRemoved,
    #[serde(rename = "REASON_INVALID_OFFERS")]
    InvalidOffers,
    #[serde(rename = "REASON_MASTER_DISCONNECTED")]
    MasterDisconnected,
    #[serde(rename = "REASON_RECONCILIATION")]
    Reconciliation,
    #[serde(rename = "REASON_AGENT_DISCONNECTED")]
    AgentDisconnected,
    #[serde(rename = "REASON_AGENT_REMOVED")]
    AgentRemoved,
    #[serde(rename = "REASON_AGENT_RESTARTED")]
    AgentRestarted,
    #[serde(rename = "REASON_AGENT_UNKNOWN")]
    AgentUnknown,
    #[serde(rename = "REASON_TASK_INVALID")]
    TaskInvalid,
    #[serde(rename = "REASON_TASK_GROUP_INVALID")]
    TaskGroupInvalid,
    #[serde(rename = "REASON_TASK_UNAUTHORIZED")]
    TaskUnauthorized,
    #[serde(rename = "REASON_TASK_UNKNOWN")]
    TaskUnknown,
    #[serde(rename = "REASON_CONTAINER_LAUNCH_FAILED")]
    ContainerLaunchFailed,
    #[serde(rename = "REASON_CONTAINER_LIMITATION")]
    ContainerLimitation,
    #[serde(rename = "REASON_CONTAINER_LIMITATION_DISK")]
    ContainerLimitationDisk,
    #[serde(rename = "REASON_CONTAINER_LIMITATION_MEMORY")]
    ContainerLimitationMemory,
    #[serde(rename = "REASON_EXECUTOR_REGISTRATION_TIMEOUT")]
    ExecutorRegistrationTimeout,
    #[serde(rename = "REASON_EXECUTOR_REREGISTRATION_TIMEOUT")]
    ExecutorReregistrationTimeout,
    #[serde(rename = "REASON_TASK_KILLED_DURING_LAUNCH")]
    TaskKilledDuringLaunch,
    #[serde(rename = "REASON_TASK_HEALTH_CHECK_STATUS_UPDATED")]
    TaskHealthCheckStatusUpdated,
    #[serde(rename = "REASON_AGENT_REMOVED_BY_OPERATOR")]
    AgentRemovedByOperator,
    #[serde(rename = "REASON_AGENT_REREGISTERED")]
    AgentReregistered,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_carry_mesos_numbers_names_and_terminality() {
        let numbers: std::collections::BTreeSet<i32> =
            TaskState::ALL.iter().map(|s| s.number()).collect();
        assert_eq!(numbers, (0..=13).collect());
        for s in TaskState::ALL {
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.name()));
        }
        let terminal: Vec<&str> = TaskState::ALL
            .iter()
            .filter(|s| s.is_terminal())
            .map(|s| s.name())
            .collect();
        assert_eq!(
            terminal,
            [
                "TASK_FINISHED",
                "TASK_FAILED",
                "TASK_KILLED",
                "TASK_ERROR",
                "TASK_LOST",
                "TASK_DROPPED",
                "TASK_GONE",
                "TASK_GONE_BY_OPERATOR"
            ]
        );
    }

    #[test]
    fn partition_aware_states_collapse_to_lost_for_older_frameworks() {
        assert_eq!(TaskState::Unreachable.for_framework(false), TaskState::Lost);
        assert_eq!(
            TaskState::Unreachable.for_framework(true),
            TaskState::Unreachable
        );
        assert_eq!(
            TaskState::Finished.for_framework(false),
            TaskState::Finished
        );
    }
}
