//! The v1 scheduler `Call` a framework POSTs to `/api/v1/scheduler`: its
//! JSON shape (one struct per call payload), and [`parse_scheduler_call`],
//! which checks a body as Mesos does and turns it into a [`SchedulerCall`]
//! of internal messages.

use serde::{Deserialize, Serialize};

use crate::ids::{AgentId, ExecutorId, FrameworkId, OfferId, TaskId};
use crate::mesos;
use crate::resources::Resources;
use crate::scheduler as sched;

use crate::v1::json::{self, Bytes};
use crate::v1::types::{
    convert_list, required, resources_from_v1, FieldError, Filters, FrameworkInfo, KillPolicy,
    OperationId, Request, TaskInfo, Within,
};
use crate::v1::CallError;

/// `Call.Type`. `UNKNOWN` is not a variant: it is refused while parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallType {
    Subscribe,
    Teardown,
    Accept,
    Decline,
    AcceptInverseOffers,
    DeclineInverseOffers,
    Revive,
    Kill,
    Shutdown,
    Acknowledge,
    AcknowledgeOperationStatus,
    Reconcile,
    ReconcileOperations,
    Message,
    Request,
    Suppress,
    UpdateFramework,
}

impl CallType {
    pub const ALL: [CallType; 17] = [
        CallType::Subscribe,
        CallType::Teardown,
        CallType::Accept,
        CallType::Decline,
        CallType::AcceptInverseOffers,
        CallType::DeclineInverseOffers,
        CallType::Revive,
        CallType::Kill,
        CallType::Shutdown,
        CallType::Acknowledge,
        CallType::AcknowledgeOperationStatus,
        CallType::Reconcile,
        CallType::ReconcileOperations,
        CallType::Message,
        CallType::Request,
        CallType::Suppress,
        CallType::UpdateFramework,
    ];

    /// The name in JSON, `ACCEPT`.
    pub fn name(self) -> &'static str {
        match self {
            CallType::Subscribe => "SUBSCRIBE",
            CallType::Teardown => "TEARDOWN",
            CallType::Accept => "ACCEPT",
            CallType::Decline => "DECLINE",
            CallType::AcceptInverseOffers => "ACCEPT_INVERSE_OFFERS",
            CallType::DeclineInverseOffers => "DECLINE_INVERSE_OFFERS",
            CallType::Revive => "REVIVE",
            CallType::Kill => "KILL",
            CallType::Shutdown => "SHUTDOWN",
            CallType::Acknowledge => "ACKNOWLEDGE",
            CallType::AcknowledgeOperationStatus => "ACKNOWLEDGE_OPERATION_STATUS",
            CallType::Reconcile => "RECONCILE",
            CallType::ReconcileOperations => "RECONCILE_OPERATIONS",
            CallType::Message => "MESSAGE",
            CallType::Request => "REQUEST",
            CallType::Suppress => "SUPPRESS",
            CallType::UpdateFramework => "UPDATE_FRAMEWORK",
        }
    }

    pub fn from_name(name: &str) -> Option<CallType> {
        CallType::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The payload field a call of this type carries, if any.
    fn payload(self) -> Option<&'static str> {
        match self {
            CallType::Teardown => None,
            CallType::Subscribe => Some("subscribe"),
            CallType::Accept => Some("accept"),
            CallType::Decline => Some("decline"),
            CallType::AcceptInverseOffers => Some("accept_inverse_offers"),
            CallType::DeclineInverseOffers => Some("decline_inverse_offers"),
            CallType::Revive => Some("revive"),
            CallType::Kill => Some("kill"),
            CallType::Shutdown => Some("shutdown"),
            CallType::Acknowledge => Some("acknowledge"),
            CallType::AcknowledgeOperationStatus => Some("acknowledge_operation_status"),
            CallType::Reconcile => Some("reconcile"),
            CallType::ReconcileOperations => Some("reconcile_operations"),
            CallType::Message => Some("message"),
            CallType::Request => Some("request"),
            CallType::Suppress => Some("suppress"),
            CallType::UpdateFramework => Some("update_framework"),
        }
    }
}

/// `Call.Subscribe`, and `Call.UpdateFramework` which has the same fields.
/// (`offer_constraints` is not supported and is ignored.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subscribe {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub framework_info: Option<FrameworkInfo>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suppressed_roles: Vec<String>,
}

/// `Call.Accept`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Accept {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub offer_ids: Vec<OfferId>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub operations: Vec<crate::v1::types::Operation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filters: Option<Filters>,
}

/// `Call.Decline`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decline {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub offer_ids: Vec<OfferId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filters: Option<Filters>,
}

/// `Call.AcceptInverseOffers` and `Call.DeclineInverseOffers`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InverseOffersReply {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inverse_offer_ids: Vec<OfferId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filters: Option<Filters>,
}

/// `Call.Revive` and `Call.Suppress`: no roles means all roles.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Roles {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
}

/// `Call.Kill`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kill {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<TaskId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<AgentId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kill_policy: Option<KillPolicy>,
}

/// `Call.Shutdown`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shutdown {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor_id: Option<ExecutorId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<AgentId>,
}

/// `Call.Acknowledge`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acknowledge {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<AgentId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<TaskId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<Bytes>,
}

/// `Call.AcknowledgeOperationStatus` (`resource_provider_id` is ignored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcknowledgeOperationStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<AgentId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<Bytes>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_id: Option<OperationId>,
}

/// `Call.Reconcile.Task`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconcileTask {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<TaskId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<AgentId>,
}

/// `Call.Reconcile`: no tasks means all of the framework's tasks.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Reconcile {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tasks: Vec<ReconcileTask>,
}

/// `Call.ReconcileOperations.Operation`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconcileOperation {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_id: Option<OperationId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<AgentId>,
}

/// `Call.ReconcileOperations`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ReconcileOperations {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub operations: Vec<ReconcileOperation>,
}

/// `Call.Message` and `Event.Message`: data between a framework and one of
/// its executors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<AgentId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor_id: Option<ExecutorId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Bytes>,
}

/// `Call.Request`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Requests {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requests: Vec<Request>,
}

/// `scheduler.Call` as JSON. `type` is kept as text so that an unknown
/// name can be reported as such.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Call {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub framework_id: Option<FrameworkId>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscribe: Option<Subscribe>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accept: Option<Accept>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decline: Option<Decline>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accept_inverse_offers: Option<InverseOffersReply>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decline_inverse_offers: Option<InverseOffersReply>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revive: Option<Roles>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kill: Option<Kill>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shutdown: Option<Shutdown>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledge: Option<Acknowledge>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledge_operation_status: Option<AcknowledgeOperationStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconcile: Option<Reconcile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconcile_operations: Option<ReconcileOperations>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Message>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<Requests>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppress: Option<Roles>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_framework: Option<Subscribe>,
}

/// One entry of a REQUEST call (the built-in allocator ignores requests).
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceRequest {
    pub agent_id: Option<AgentId>,
    pub resources: Resources,
}

/// A checked scheduler call, in internal terms. Where an internal message
/// exists the variant carries it ready to send to the master; the other
/// calls carry their fields.
#[derive(Debug, Clone, PartialEq)]
pub enum SchedulerCall {
    /// `force` is set: a new subscription replaces the framework's current
    /// one, as Mesos does for HTTP frameworks.
    Subscribe {
        subscribe: sched::Subscribe,
        suppressed_roles: Vec<String>,
    },
    Teardown(sched::Teardown),
    /// `accept` holds the LAUNCH and LAUNCH_GROUP operations, in order;
    /// any other operation type (RESERVE, CREATE, ...) is named in
    /// `unsupported`, for the endpoint to log and drop.
    Accept {
        accept: sched::Accept,
        unsupported: Vec<String>,
    },
    Decline(sched::Decline),
    Revive(sched::Revive),
    Suppress(sched::Suppress),
    /// `grace_period` (seconds) is the call's kill policy, if it has one.
    Kill {
        kill: sched::Kill,
        grace_period: Option<f64>,
    },
    /// The master sends `agent::ShutdownExecutor` to the agent.
    Shutdown {
        framework_id: FrameworkId,
        executor_id: ExecutorId,
        agent_id: AgentId,
    },
    /// The uuid is checked to be 16 bytes, as Mesos does.
    Acknowledge(sched::Acknowledge),
    Reconcile(sched::Reconcile),
    Message(sched::SendFrameworkMessage),
    Request {
        framework_id: FrameworkId,
        requests: Vec<ResourceRequest>,
    },
    AcceptInverseOffers {
        framework_id: FrameworkId,
        inverse_offer_ids: Vec<OfferId>,
        filters: mesos::Filters,
    },
    DeclineInverseOffers {
        framework_id: FrameworkId,
        inverse_offer_ids: Vec<OfferId>,
        filters: mesos::Filters,
    },
    AcknowledgeOperationStatus {
        framework_id: FrameworkId,
        agent_id: AgentId,
        operation_id: String,
        uuid: Vec<u8>,
    },
    ReconcileOperations {
        framework_id: FrameworkId,
        operations: Vec<(String, Option<AgentId>)>,
    },
    UpdateFramework {
        framework_info: mesos::FrameworkInfo,
        suppressed_roles: Vec<String>,
    },
}

impl SchedulerCall {
    pub fn call_type(&self) -> CallType {
        match self {
            SchedulerCall::Subscribe { .. } => CallType::Subscribe,
            SchedulerCall::Teardown(_) => CallType::Teardown,
            SchedulerCall::Accept { .. } => CallType::Accept,
            SchedulerCall::Decline(_) => CallType::Decline,
            SchedulerCall::Revive(_) => CallType::Revive,
            SchedulerCall::Suppress(_) => CallType::Suppress,
            SchedulerCall::Kill { .. } => CallType::Kill,
            SchedulerCall::Shutdown { .. } => CallType::Shutdown,
            SchedulerCall::Acknowledge(_) => CallType::Acknowledge,
            SchedulerCall::Reconcile(_) => CallType::Reconcile,
            SchedulerCall::Message(_) => CallType::Message,
            SchedulerCall::Request { .. } => CallType::Request,
            SchedulerCall::AcceptInverseOffers { .. } => CallType::AcceptInverseOffers,
            SchedulerCall::DeclineInverseOffers { .. } => CallType::DeclineInverseOffers,
            SchedulerCall::AcknowledgeOperationStatus { .. } => {
                CallType::AcknowledgeOperationStatus
            }
            SchedulerCall::ReconcileOperations { .. } => CallType::ReconcileOperations,
            SchedulerCall::UpdateFramework { .. } => CallType::UpdateFramework,
        }
    }

    /// The framework the call is for: the top-level `framework_id`, which
    /// every call but a first SUBSCRIBE has.
    pub fn framework_id(&self) -> Option<&FrameworkId> {
        match self {
            SchedulerCall::Subscribe { subscribe, .. } => subscribe.framework.id.as_ref(),
            SchedulerCall::Teardown(m) => Some(&m.framework_id),
            SchedulerCall::Accept { accept, .. } => Some(&accept.framework_id),
            SchedulerCall::Decline(m) => Some(&m.framework_id),
            SchedulerCall::Revive(m) => Some(&m.framework_id),
            SchedulerCall::Suppress(m) => Some(&m.framework_id),
            SchedulerCall::Kill { kill, .. } => Some(&kill.framework_id),
            SchedulerCall::Acknowledge(m) => Some(&m.framework_id),
            SchedulerCall::Reconcile(m) => Some(&m.framework_id),
            SchedulerCall::Message(m) => Some(&m.framework_id),
            SchedulerCall::UpdateFramework { framework_info, .. } => framework_info.id.as_ref(),
            SchedulerCall::Shutdown { framework_id, .. }
            | SchedulerCall::Request { framework_id, .. }
            | SchedulerCall::AcceptInverseOffers { framework_id, .. }
            | SchedulerCall::DeclineInverseOffers { framework_id, .. }
            | SchedulerCall::AcknowledgeOperationStatus { framework_id, .. }
            | SchedulerCall::ReconcileOperations { framework_id, .. } => Some(framework_id),
        }
    }
}

/// Parses and checks a JSON scheduler call body.
pub fn parse_scheduler_call(body: &[u8]) -> Result<SchedulerCall, CallError> {
    let call: Call = crate::v1::call_from_json(body)?;
    call.into_internal()
}

/// A status update uuid: 16 bytes.
fn uuid(bytes: Option<Bytes>, field: &str) -> Result<Vec<u8>, FieldError> {
    let bytes = required(bytes, field)?.0;
    if bytes.len() != 16 {
        return Err(FieldError::invalid(
            field,
            format!("a UUID is 16 bytes, not {}", bytes.len()),
        ));
    }
    Ok(bytes)
}

fn filters(f: Option<Filters>) -> mesos::Filters {
    f.unwrap_or_default().into_internal()
}

impl Call {
    /// Checks the call as Mesos's scheduler endpoint does and converts it.
    pub fn into_internal(self) -> Result<SchedulerCall, CallError> {
        let kind = match self.kind.as_deref() {
            None => return Err(CallError::validation("Expecting 'type' to be present")),
            Some("UNKNOWN") => {
                if self.framework_id.is_none() {
                    return Err(CallError::validation(
                        "Expecting 'framework_id' to be present",
                    ));
                }
                return Err(CallError::Unimplemented);
            }
            Some(name) => CallType::from_name(name).ok_or_else(|| CallError::unknown_type(name))?,
        };
        if kind == CallType::Subscribe {
            return self.into_subscribe();
        }
        let framework_id = self
            .framework_id
            .ok_or_else(|| CallError::validation("Expecting 'framework_id' to be present"))?;
        // TEARDOWN has no payload; REVIVE and SUPPRESS may leave theirs out.
        let missing = || {
            CallError::validation(format!(
                "Expecting '{}' to be present",
                kind.payload().unwrap_or_default()
            ))
        };
        let call = match kind {
            // Handled above, before the framework id is required.
            CallType::Subscribe => return Err(missing()),
            CallType::Teardown => SchedulerCall::Teardown(sched::Teardown { framework_id }),
            CallType::Accept => {
                let accept = self.accept.ok_or_else(missing)?;
                convert_accept(framework_id, accept).within("accept")?
            }
            CallType::Decline => {
                let decline = self.decline.ok_or_else(missing)?;
                SchedulerCall::Decline(sched::Decline {
                    framework_id,
                    offer_ids: decline.offer_ids,
                    filters: filters(decline.filters),
                })
            }
            CallType::AcceptInverseOffers => {
                let reply = self.accept_inverse_offers.ok_or_else(missing)?;
                SchedulerCall::AcceptInverseOffers {
                    framework_id,
                    inverse_offer_ids: reply.inverse_offer_ids,
                    filters: filters(reply.filters),
                }
            }
            CallType::DeclineInverseOffers => {
                let reply = self.decline_inverse_offers.ok_or_else(missing)?;
                SchedulerCall::DeclineInverseOffers {
                    framework_id,
                    inverse_offer_ids: reply.inverse_offer_ids,
                    filters: filters(reply.filters),
                }
            }
            CallType::Revive => SchedulerCall::Revive(sched::Revive {
                framework_id,
                roles: self.revive.unwrap_or_default().roles,
            }),
            CallType::Suppress => SchedulerCall::Suppress(sched::Suppress {
                framework_id,
                roles: self.suppress.unwrap_or_default().roles,
            }),
            CallType::Kill => {
                let kill = self.kill.ok_or_else(missing)?;
                let grace_period = match kill.kill_policy {
                    Some(p) => p.into_internal().within("kill_policy").within("kill")?,
                    None => None,
                };
                SchedulerCall::Kill {
                    kill: sched::Kill {
                        framework_id,
                        task_id: required(kill.task_id, "task_id").within("kill")?,
                        agent_id: kill.agent_id,
                    },
                    grace_period,
                }
            }
            CallType::Shutdown => {
                let shutdown = self.shutdown.ok_or_else(missing)?;
                SchedulerCall::Shutdown {
                    framework_id,
                    executor_id: required(shutdown.executor_id, "executor_id")
                        .within("shutdown")?,
                    agent_id: required(shutdown.agent_id, "agent_id").within("shutdown")?,
                }
            }
            CallType::Acknowledge => {
                let ack = self.acknowledge.ok_or_else(missing)?;
                SchedulerCall::Acknowledge(sched::Acknowledge {
                    framework_id,
                    agent_id: required(ack.agent_id, "agent_id").within("acknowledge")?,
                    task_id: required(ack.task_id, "task_id").within("acknowledge")?,
                    uuid: uuid(ack.uuid, "uuid").within("acknowledge")?,
                })
            }
            CallType::AcknowledgeOperationStatus => {
                let ack = self.acknowledge_operation_status.ok_or_else(missing)?;
                let within = "acknowledge_operation_status";
                let uuid = uuid(ack.uuid, "uuid").within(within)?;
                let operation_id = required(ack.operation_id, "operation_id").within(within)?;
                // Mesos takes no operation acknowledgement without an agent.
                let agent_id = ack
                    .agent_id
                    .ok_or_else(|| CallError::validation("Expecting 'agent_id' to be present"))?;
                SchedulerCall::AcknowledgeOperationStatus {
                    framework_id,
                    agent_id,
                    operation_id: operation_id.value,
                    uuid,
                }
            }
            CallType::Reconcile => {
                let reconcile = self.reconcile.ok_or_else(missing)?;
                let tasks = convert_list(reconcile.tasks, "tasks", |t| {
                    Ok((required(t.task_id, "task_id")?, t.agent_id))
                })
                .within("reconcile")?;
                SchedulerCall::Reconcile(sched::Reconcile {
                    framework_id,
                    tasks,
                })
            }
            CallType::ReconcileOperations => {
                let reconcile = self.reconcile_operations.ok_or_else(missing)?;
                let operations = convert_list(reconcile.operations, "operations", |o| {
                    Ok((required(o.operation_id, "operation_id")?.value, o.agent_id))
                })
                .within("reconcile_operations")?;
                SchedulerCall::ReconcileOperations {
                    framework_id,
                    operations,
                }
            }
            CallType::Message => {
                let message = self.message.ok_or_else(missing)?;
                SchedulerCall::Message(sched::SendFrameworkMessage {
                    framework_id,
                    agent_id: required(message.agent_id, "agent_id").within("message")?,
                    executor_id: required(message.executor_id, "executor_id").within("message")?,
                    data: required(message.data, "data").within("message")?.0,
                })
            }
            CallType::Request => {
                let request = self.request.ok_or_else(missing)?;
                let requests = convert_list(request.requests, "requests", |r| {
                    Ok(ResourceRequest {
                        agent_id: r.agent_id,
                        resources: resources_from_v1(r.resources).within("resources")?,
                    })
                })
                .within("request")?;
                SchedulerCall::Request {
                    framework_id,
                    requests,
                }
            }
            CallType::UpdateFramework => {
                let update = self.update_framework.ok_or_else(missing)?;
                let info = required(update.framework_info, "framework_info")
                    .and_then(|f| f.into_internal().within("framework_info"))
                    .within("update_framework")?;
                if info.id.as_ref() != Some(&framework_id) {
                    return Err(CallError::validation(
                        "'framework_id' differs from 'update_framework.framework_info.id'",
                    ));
                }
                SchedulerCall::UpdateFramework {
                    framework_info: info,
                    suppressed_roles: update.suppressed_roles,
                }
            }
        };
        Ok(call)
    }

    fn into_subscribe(self) -> Result<SchedulerCall, CallError> {
        let subscribe = self
            .subscribe
            .ok_or_else(|| CallError::validation("Expecting 'subscribe' to be present"))?;
        let framework = required(subscribe.framework_info, "framework_info")
            .and_then(|f| f.into_internal().within("framework_info"))
            .within("subscribe")?;
        if framework.id != self.framework_id {
            return Err(CallError::validation(
                "'framework_id' differs from 'subscribe.framework_info.id'",
            ));
        }
        Ok(SchedulerCall::Subscribe {
            subscribe: sched::Subscribe {
                framework,
                force: true,
            },
            suppressed_roles: subscribe.suppressed_roles,
        })
    }
}

fn convert_accept(framework_id: FrameworkId, accept: Accept) -> Result<SchedulerCall, FieldError> {
    let mut operations = Vec::new();
    let mut unsupported = Vec::new();
    for (i, op) in accept.operations.into_iter().enumerate() {
        let at = |e: FieldError| e.at_index(i).at("operations");
        match op.kind.as_deref() {
            Some("LAUNCH") => {
                let launch = required(op.launch, "launch").map_err(at)?;
                let task_infos =
                    convert_list(launch.task_infos, "task_infos", TaskInfo::into_internal)
                        .within("launch")
                        .map_err(at)?;
                operations.push(mesos::Operation::Launch { task_infos });
            }
            Some("LAUNCH_GROUP") => {
                let group = required(op.launch_group, "launch_group").map_err(at)?;
                let executor = required(group.executor, "executor")
                    .and_then(|e| e.into_internal().within("executor"))
                    .within("launch_group")
                    .map_err(at)?;
                let tasks = required(group.task_group, "task_group")
                    .and_then(|g| {
                        convert_list(g.tasks, "tasks", TaskInfo::into_internal).within("task_group")
                    })
                    .within("launch_group")
                    .map_err(at)?;
                operations.push(mesos::Operation::LaunchGroup {
                    executor,
                    task_group: tasks,
                });
            }
            Some(name @ ("RESERVE" | "UNRESERVE" | "CREATE" | "DESTROY")) => {
                let (kind, field, list) = match name {
                    "RESERVE" => (
                        mesos::ResourceOpKind::Reserve,
                        "reserve",
                        op.reserve.map(|r| r.resources),
                    ),
                    "UNRESERVE" => (
                        mesos::ResourceOpKind::Unreserve,
                        "unreserve",
                        op.unreserve.map(|r| r.resources),
                    ),
                    "CREATE" => (
                        mesos::ResourceOpKind::Create,
                        "create",
                        op.create.map(|c| c.volumes),
                    ),
                    _ => (
                        mesos::ResourceOpKind::Destroy,
                        "destroy",
                        op.destroy.map(|d| d.volumes),
                    ),
                };
                let inner = if matches!(
                    kind,
                    mesos::ResourceOpKind::Create | mesos::ResourceOpKind::Destroy
                ) {
                    "volumes"
                } else {
                    "resources"
                };
                let resources = required(list, field)
                    .and_then(|l| resources_from_v1(l).within(inner).within(field))
                    .map_err(at)?;
                operations.push(mesos::Operation::Resources {
                    id: op.id.map(|i| i.value),
                    kind,
                    resources,
                });
            }
            // An unknown name is unset in protobuf terms: Mesos ignores an
            // operation of type UNKNOWN.
            other => unsupported.push(json::one_line(other.unwrap_or("UNKNOWN"))),
        }
    }
    Ok(SchedulerCall::Accept {
        accept: sched::Accept {
            framework_id,
            offer_ids: accept.offer_ids,
            operations,
            filters: filters(accept.filters),
        },
        unsupported,
    })
}
