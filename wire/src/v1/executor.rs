//! The v1 executor API (`mesos/v1/executor/executor.proto`): the JSON
//! `Call` an executor POSTs to the agent's `/api/v1/executor`, checked and
//! turned into an [`ExecutorCall`] by [`parse_executor_call`]; and the JSON
//! `Event`s the agent streams back, built from internal messages by the
//! constructors on [`Event`]. The mapping table is in the docs of
//! [`crate::v1`].

use serde::{Deserialize, Serialize};

use crate::agent::{
    ExecutorToFramework, FrameworkToExecutor, RunTask, StatusUpdateAcknowledgement,
};
use crate::executor::{ExecutorRegistered, RegisterExecutor};
use crate::ids::{AgentId, ContainerId, ExecutorId, FrameworkId, TaskId};
use crate::mesos;
use crate::task::{Source, TaskState};

use super::json::Bytes;
use super::recordio::recordio;
use super::types::{
    convert_list, required, AgentInfo, ExecutorInfo, FieldError, FrameworkInfo, KillPolicy,
    ResourceFormat, TaskGroupInfo, TaskInfo, TaskStatus, Within,
};
use super::CallError;

// ---------------------------------------------------------------------------
// Call (JSON in)

/// `Call.Update`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Update {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<TaskStatus>,
}

/// `Call.Subscribe`: what a re-subscribing executor has not had
/// acknowledged.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Subscribe {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unacknowledged_tasks: Vec<TaskInfo>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unacknowledged_updates: Vec<Update>,
}

/// `Call.Message` and `Event.Message`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Bytes>,
}

/// `executor.Call` as JSON.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Call {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor_id: Option<ExecutorId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub framework_id: Option<FrameworkId>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscribe: Option<Subscribe>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<Update>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Message>,
}

/// A checked executor call, in internal terms.
#[derive(Debug, Clone, PartialEq)]
pub enum ExecutorCall {
    Subscribe {
        register: RegisterExecutor,
        unacknowledged_tasks: Vec<mesos::TaskInfo>,
        /// As UPDATE calls would give them (checked alike).
        unacknowledged_updates: Vec<mesos::StatusUpdate>,
    },
    /// `update` is as the agent's status update manager takes it, with
    /// `executor_id` set: the uuid (16 bytes), the source (SOURCE_EXECUTOR)
    /// and the executor id are checked; the agent sets `agent_id` on the
    /// update and its status.
    Update {
        executor_id: ExecutorId,
        update: mesos::StatusUpdate,
    },
    /// Becomes [`ExecutorToFramework`] with the agent's id
    /// ([`ExecutorCall::to_framework`]).
    Message {
        framework_id: FrameworkId,
        executor_id: ExecutorId,
        data: Vec<u8>,
    },
    /// Answered 202 at once; Mesos does not even look the executor up.
    Heartbeat {
        framework_id: FrameworkId,
        executor_id: ExecutorId,
    },
}

impl ExecutorCall {
    /// The framework and executor the call comes from.
    pub fn ids(&self) -> (&FrameworkId, &ExecutorId) {
        match self {
            ExecutorCall::Subscribe { register, .. } => {
                (&register.framework_id, &register.executor_id)
            }
            ExecutorCall::Update {
                executor_id,
                update,
            } => (&update.framework_id, executor_id),
            ExecutorCall::Message {
                framework_id,
                executor_id,
                ..
            }
            | ExecutorCall::Heartbeat {
                framework_id,
                executor_id,
            } => (framework_id, executor_id),
        }
    }

    /// A MESSAGE call as the message the agent forwards to the master.
    pub fn to_framework(&self, agent_id: &AgentId) -> Option<ExecutorToFramework> {
        match self {
            ExecutorCall::Message {
                framework_id,
                executor_id,
                data,
            } => Some(ExecutorToFramework {
                agent_id: agent_id.clone(),
                framework_id: framework_id.clone(),
                executor_id: executor_id.clone(),
                data: data.clone(),
            }),
            _ => None,
        }
    }
}

/// Parses and checks a JSON executor call body.
/// An executor's status as the agent's status update manager takes it.
fn executor_status_update(
    framework_id: &FrameworkId,
    executor_id: &ExecutorId,
    status: mesos::TaskStatus,
) -> mesos::StatusUpdate {
    mesos::StatusUpdate {
        framework_id: framework_id.clone(),
        executor_id: Some(executor_id.clone()),
        agent_id: status.agent_id.clone(),
        timestamp: status.timestamp,
        uuid: status.uuid.clone(),
        status,
        latest_state: None,
    }
}

pub fn parse_executor_call(body: &[u8]) -> Result<ExecutorCall, CallError> {
    let call: Call = super::call_from_json(body)?;
    call.into_internal()
}

impl Call {
    /// Checks the call as Mesos's executor endpoint does and converts it.
    pub fn into_internal(self) -> Result<ExecutorCall, CallError> {
        let kind = self.kind.clone();
        let known = match kind.as_deref() {
            None => return Err(CallError::validation("Expecting 'type' to be present")),
            Some(k @ ("SUBSCRIBE" | "UPDATE" | "MESSAGE" | "HEARTBEAT" | "UNKNOWN")) => k,
            Some(other) => return Err(CallError::unknown_type(other)),
        };
        let executor_id = self
            .executor_id
            .ok_or_else(|| CallError::validation("Expecting 'executor_id' to be present"))?;
        let framework_id = self
            .framework_id
            .ok_or_else(|| CallError::validation("Expecting 'framework_id' to be present"))?;
        match known {
            "SUBSCRIBE" => {
                let subscribe = self
                    .subscribe
                    .ok_or_else(|| CallError::validation("Expecting 'subscribe' to be present"))?;
                let tasks = convert_list(
                    subscribe.unacknowledged_tasks,
                    "unacknowledged_tasks",
                    TaskInfo::into_internal,
                )
                .within("subscribe")?;
                let statuses = convert_list(
                    subscribe.unacknowledged_updates,
                    "unacknowledged_updates",
                    |u| {
                        required(u.status, "status")
                            .and_then(|s| s.into_internal().within("status"))
                    },
                )
                .within("subscribe")?;
                let mut updates = Vec::with_capacity(statuses.len());
                for status in statuses {
                    check_update(&framework_id, &executor_id, &status)?;
                    updates.push(executor_status_update(&framework_id, &executor_id, status));
                }
                Ok(ExecutorCall::Subscribe {
                    register: RegisterExecutor {
                        framework_id,
                        executor_id,
                    },
                    unacknowledged_tasks: tasks,
                    unacknowledged_updates: updates,
                })
            }
            "UPDATE" => {
                let update = self
                    .update
                    .ok_or_else(|| CallError::validation("Expecting 'update' to be present"))?;
                let status = required(update.status, "status")
                    .and_then(|s| s.into_internal().within("status"))
                    .within("update")?;
                check_update(&framework_id, &executor_id, &status)?;
                Ok(ExecutorCall::Update {
                    update: executor_status_update(&framework_id, &executor_id, status),
                    executor_id,
                })
            }
            "MESSAGE" => {
                let message = self
                    .message
                    .ok_or_else(|| CallError::validation("Expecting 'message' to be present"))?;
                Ok(ExecutorCall::Message {
                    framework_id,
                    executor_id,
                    data: required(message.data, "data").within("message")?.0,
                })
            }
            "HEARTBEAT" => Ok(ExecutorCall::Heartbeat {
                framework_id,
                executor_id,
            }),
            _ => Err(CallError::Unimplemented),
        }
    }
}

/// Mesos's rules for an executor's status update.
fn check_update(
    framework_id: &FrameworkId,
    executor_id: &ExecutorId,
    status: &mesos::TaskStatus,
) -> Result<(), CallError> {
    match status.uuid.as_ref().map(Vec::len) {
        None => return Err(CallError::validation("Expecting 'uuid' to be present")),
        Some(16) => {}
        Some(n) => {
            return Err(
                FieldError::invalid("uuid", format!("a UUID is 16 bytes, not {n}"))
                    .at("status")
                    .at("update")
                    .into(),
            )
        }
    }
    if let Some(theirs) = &status.executor_id {
        if theirs != executor_id {
            return Err(CallError::validation(format!(
                "ExecutorID in Call: {executor_id} does not match ExecutorID in TaskStatus: {theirs}"
            )));
        }
    }
    if status.source != Some(Source::Executor) {
        return Err(CallError::validation(format!(
            "Received Call from executor {executor_id} of framework {framework_id} \
             with invalid source, expecting 'SOURCE_EXECUTOR'"
        )));
    }
    if status.state == TaskState::Staging {
        return Err(CallError::validation(format!(
            "Received TASK_STAGING from executor {executor_id} of framework {framework_id} \
             which is not allowed"
        )));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Event (JSON out)

/// `Event.Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventType {
    #[serde(rename = "SUBSCRIBED")]
    Subscribed,
    #[serde(rename = "LAUNCH")]
    Launch,
    #[serde(rename = "LAUNCH_GROUP")]
    LaunchGroup,
    #[serde(rename = "KILL")]
    Kill,
    #[serde(rename = "ACKNOWLEDGED")]
    Acknowledged,
    #[serde(rename = "MESSAGE")]
    Message,
    #[serde(rename = "ERROR")]
    Error,
    #[serde(rename = "SHUTDOWN")]
    Shutdown,
    #[serde(rename = "HEARTBEAT")]
    Heartbeat,
    #[serde(rename = "UNKNOWN")]
    Unknown,
}

/// `Event.Subscribed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subscribed {
    pub executor_info: ExecutorInfo,
    pub framework_info: FrameworkInfo,
    pub agent_info: AgentInfo,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_id: Option<ContainerId>,
}

/// `Event.Acknowledged`: the agent has durably taken the update `uuid`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acknowledged {
    pub task_id: TaskId,
    pub uuid: Bytes,
}

/// `Event.Launch`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Launch {
    pub task: TaskInfo,
}

/// `Event.LaunchGroup`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LaunchGroup {
    pub task_group: TaskGroupInfo,
}

/// `Event.Kill`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kill {
    pub task_id: TaskId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kill_policy: Option<KillPolicy>,
}

/// `Event.Error`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Error {
    pub message: String,
}

/// `executor.Event` as JSON: the type and the one payload it names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    #[serde(rename = "type")]
    pub kind: EventType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscribed: Option<Subscribed>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged: Option<Acknowledged>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch: Option<Launch>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch_group: Option<LaunchGroup>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kill: Option<Kill>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Message>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Error>,
}

impl Event {
    fn of(kind: EventType) -> Event {
        Event {
            kind,
            subscribed: None,
            acknowledged: None,
            launch: None,
            launch_group: None,
            kill: None,
            message: None,
            error: None,
        }
    }

    /// SUBSCRIBED, from `ExecutorRegistered`. The framework id is written
    /// into `framework_info.id` and `executor_info.framework_id`: clients
    /// (pymesos) check the first against their environment.
    pub fn subscribed(reg: &ExecutorRegistered, container_id: Option<&ContainerId>) -> Event {
        let format = ResourceFormat::for_framework(&reg.framework_info, reg.framework_info.role());
        let mut executor_info = ExecutorInfo::from_internal(&reg.executor_info, &format);
        executor_info.framework_id = Some(reg.framework_id.clone());
        let mut framework_info = FrameworkInfo::from_internal(&reg.framework_info);
        framework_info.id = Some(reg.framework_id.clone());
        Event {
            subscribed: Some(Subscribed {
                executor_info,
                framework_info,
                agent_info: AgentInfo::from_internal(&reg.agent_info),
                container_id: container_id.cloned(),
            }),
            ..Event::of(EventType::Subscribed)
        }
    }

    /// LAUNCH, from `RunTask`; resources as the framework sees them.
    pub fn launch(run: &RunTask) -> Event {
        let format = ResourceFormat::for_framework(&run.framework, run.framework.role());
        Event {
            launch: Some(Launch {
                task: TaskInfo::from_internal(&run.task, &format),
            }),
            ..Event::of(EventType::Launch)
        }
    }

    /// LAUNCH_GROUP of `tasks` for `framework`.
    pub fn launch_group(framework: &mesos::FrameworkInfo, tasks: &[mesos::TaskInfo]) -> Event {
        let format = ResourceFormat::for_framework(framework, framework.role());
        Event {
            launch_group: Some(LaunchGroup {
                task_group: TaskGroupInfo {
                    tasks: tasks
                        .iter()
                        .map(|t| TaskInfo::from_internal(t, &format))
                        .collect(),
                },
            }),
            ..Event::of(EventType::LaunchGroup)
        }
    }

    /// KILL, from `KillTask`, with the grace period (seconds) of the
    /// scheduler's kill policy if it gave one.
    pub fn kill(task_id: &TaskId, grace_period: Option<f64>) -> Event {
        Event {
            kill: Some(Kill {
                task_id: task_id.clone(),
                kill_policy: grace_period.map(KillPolicy::grace),
            }),
            ..Event::of(EventType::Kill)
        }
    }

    /// ACKNOWLEDGED, from `StatusUpdateAcknowledgement`.
    pub fn acknowledged(ack: &StatusUpdateAcknowledgement) -> Event {
        Event {
            acknowledged: Some(Acknowledged {
                task_id: ack.task_id.clone(),
                uuid: Bytes(ack.uuid.clone()),
            }),
            ..Event::of(EventType::Acknowledged)
        }
    }

    /// MESSAGE, from `FrameworkToExecutor`.
    pub fn message(msg: &FrameworkToExecutor) -> Event {
        Event {
            message: Some(Message {
                data: Some(Bytes(msg.data.clone())),
            }),
            ..Event::of(EventType::Message)
        }
    }

    pub fn error(message: &str) -> Event {
        Event {
            error: Some(Error {
                message: message.to_owned(),
            }),
            ..Event::of(EventType::Error)
        }
    }

    /// SHUTDOWN, from `ShutdownExecutor` (or the framework's shutdown).
    pub fn shutdown() -> Event {
        Event::of(EventType::Shutdown)
    }

    pub fn heartbeat() -> Event {
        Event::of(EventType::Heartbeat)
    }

    /// The event as JSON.
    pub fn to_json(&self) -> Vec<u8> {
        super::to_json(self)
    }

    /// The event as one RecordIO record of JSON, ready for the stream.
    pub fn to_record(&self) -> Vec<u8> {
        recordio(&self.to_json())
    }
}
