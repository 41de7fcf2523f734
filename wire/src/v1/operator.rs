//! The v1 operator API's calls (`POST /api/v1` on the master and on the
//! agent): their JSON shape as `mesos/v1/master/master.proto` and
//! `mesos/v1/agent/agent.proto` define it, and [`parse_master_call`] /
//! [`parse_agent_call`], which check a body and give a [`MasterCall`] or an
//! [`AgentCall`].
//!
//! The agent's calls this implementation does not carry out yet (its
//! streaming container calls) are still read and checked, so that a
//! malformed one is a 400 like any other, and come back as `Unsupported`
//! with their type name for the server to answer 501.

use serde::Deserialize;

use crate::ids::{AgentId, ContainerId, FrameworkId};
use crate::maintenance::{self, MachineId, Window};
use crate::v1::json;
use crate::v1::types::{DurationInfo, Resource};
use crate::v1::CallError;

/// `Call.GetMetrics` (master and agent).
#[derive(Debug, Clone, Default, Deserialize)]
struct GetMetrics {
    #[serde(default)]
    timeout: Option<DurationInfo>,
}

/// `Call.SetLoggingLevel`.
#[derive(Debug, Clone, Deserialize)]
struct SetLoggingLevel {
    #[serde(default, deserialize_with = "json::opt_number")]
    level: Option<u32>,
    #[serde(default)]
    duration: Option<DurationInfo>,
}

/// `Call.ListFiles`.
#[derive(Debug, Clone, Deserialize)]
struct ListFiles {
    #[serde(default)]
    path: Option<String>,
}

/// `Call.ReadFile`.
#[derive(Debug, Clone, Deserialize)]
struct ReadFile {
    #[serde(default)]
    path: Option<String>,
    #[serde(default, deserialize_with = "json::opt_number")]
    offset: Option<u64>,
    #[serde(default, deserialize_with = "json::opt_number")]
    length: Option<u64>,
}

/// `WeightInfo`.
#[derive(Debug, Clone, Deserialize)]
struct WeightInfo {
    #[serde(deserialize_with = "json::number")]
    weight: f64,
    #[serde(default)]
    role: Option<String>,
}

/// `Call.UpdateWeights`.
#[derive(Debug, Clone, Deserialize)]
struct UpdateWeights {
    #[serde(default)]
    weight_infos: Vec<WeightInfo>,
}

/// The payloads that name one agent (`MarkAgentGone`, `DeactivateAgent`,
/// `ReactivateAgent`).
#[derive(Debug, Clone, Deserialize)]
struct OfAgent {
    #[serde(default)]
    agent_id: Option<AgentId>,
}

/// `Call.DrainAgent`.
#[derive(Debug, Clone, Deserialize)]
struct DrainAgent {
    #[serde(default)]
    agent_id: Option<AgentId>,
    #[serde(default)]
    max_grace_period: Option<DurationInfo>,
    #[serde(default)]
    mark_gone: Option<bool>,
}

/// `Call.Teardown`.
#[derive(Debug, Clone, Deserialize)]
struct Teardown {
    #[serde(default)]
    framework_id: Option<FrameworkId>,
}

/// The payloads of reservation and volume calls: an agent and resources.
#[derive(Debug, Clone, Deserialize)]
struct OfResources {
    #[serde(default)]
    agent_id: Option<AgentId>,
    #[serde(default)]
    resources: Vec<Resource>,
    #[serde(default)]
    volumes: Vec<Resource>,
}

/// `Call.RemoveQuota`.
#[derive(Debug, Clone, Deserialize)]
struct RemoveQuota {
    #[serde(default)]
    role: Option<String>,
}

/// `ContainerID`, with its parent chain (nested containers) left out.
#[derive(Debug, Clone, Deserialize)]
struct ContainerIdJson {
    value: String,
}

/// `Call.KillContainer` (and the nested-container calls' payloads).
#[derive(Debug, Clone, Deserialize)]
struct OfContainer {
    #[serde(default)]
    container_id: Option<ContainerIdJson>,
    #[serde(default, deserialize_with = "json::opt_number")]
    signal: Option<i32>,
}

/// `grow_volume`: a volume and the disk it grows by.
#[derive(Debug, Clone, Deserialize)]
struct GrowVolume {
    #[serde(default)]
    agent_id: Option<AgentId>,
    #[serde(default)]
    volume: Option<Resource>,
    #[serde(default)]
    addition: Option<Resource>,
}

/// `Value.Scalar`.
#[derive(Debug, Clone, Deserialize)]
struct ScalarValue {
    #[serde(default, deserialize_with = "json::opt_number")]
    value: Option<f64>,
}

/// `shrink_volume`: a volume and how much of it to give back.
#[derive(Debug, Clone, Deserialize)]
struct ShrinkVolume {
    #[serde(default)]
    agent_id: Option<AgentId>,
    #[serde(default)]
    volume: Option<Resource>,
    #[serde(default)]
    subtract: Option<ScalarValue>,
}

/// Any payload object this implementation does not look into.
type Opaque = serde_json::Map<String, serde_json::Value>;

/// The body of a master or agent `Call`: the type and every payload
/// field either API has; unknown fields are ignored.
#[derive(Debug, Clone, Deserialize)]
struct Call {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    get_metrics: Option<GetMetrics>,
    #[serde(default)]
    set_logging_level: Option<SetLoggingLevel>,
    #[serde(default)]
    list_files: Option<ListFiles>,
    #[serde(default)]
    read_file: Option<ReadFile>,
    #[serde(default)]
    update_weights: Option<UpdateWeights>,
    #[serde(default)]
    reserve_resources: Option<OfResources>,
    #[serde(default)]
    unreserve_resources: Option<OfResources>,
    #[serde(default)]
    create_volumes: Option<OfResources>,
    #[serde(default)]
    destroy_volumes: Option<OfResources>,
    #[serde(default)]
    grow_volume: Option<GrowVolume>,
    #[serde(default)]
    shrink_volume: Option<ShrinkVolume>,
    #[serde(default)]
    update_maintenance_schedule: Option<Opaque>,
    #[serde(default)]
    start_maintenance: Option<Opaque>,
    #[serde(default)]
    stop_maintenance: Option<Opaque>,
    #[serde(default)]
    update_quota: Option<Opaque>,
    #[serde(default)]
    set_quota: Option<Opaque>,
    #[serde(default)]
    remove_quota: Option<RemoveQuota>,
    #[serde(default)]
    teardown: Option<Teardown>,
    #[serde(default)]
    mark_agent_gone: Option<OfAgent>,
    #[serde(default)]
    drain_agent: Option<DrainAgent>,
    #[serde(default)]
    deactivate_agent: Option<OfAgent>,
    #[serde(default)]
    reactivate_agent: Option<OfAgent>,
    #[serde(default)]
    kill_container: Option<OfContainer>,
}

/// What both APIs share: the process's own health, flags, version,
/// metrics, logging level and files.
#[derive(Debug, Clone, PartialEq)]
pub enum CommonCall {
    GetHealth,
    GetFlags,
    GetVersion,
    /// How long to wait for the metrics (seconds), if the caller says.
    GetMetrics {
        timeout: Option<f64>,
    },
    GetLoggingLevel,
    /// Raise the verbosity to `level` for `duration` seconds.
    SetLoggingLevel {
        level: u32,
        duration: f64,
    },
    ListFiles {
        path: String,
    },
    ReadFile {
        path: String,
        offset: u64,
        length: Option<u64>,
    },
}

/// A call to the master's `/api/v1`.
#[derive(Debug, Clone, PartialEq)]
pub enum MasterCall {
    Common(CommonCall),
    GetState,
    GetAgents,
    GetFrameworks,
    GetExecutors,
    GetOperations,
    GetTasks,
    GetRoles,
    GetWeights,
    /// New weights by role.
    UpdateWeights(Vec<(String, f64)>),
    GetMaster,
    Subscribe,
    GetMaintenanceStatus,
    GetMaintenanceSchedule,
    GetQuota,
    /// `update_quota` (`force`, `quota_configs`), read by the master,
    /// which knows the cluster its checks need.
    UpdateQuota(serde_json::Map<String, serde_json::Value>),
    /// `set_quota.quota_request` (`role`, `guarantee`, `force`).
    SetQuota(serde_json::Map<String, serde_json::Value>),
    RemoveQuota(String),
    Teardown(FrameworkId),
    MarkAgentGone(AgentId),
    DeactivateAgent(AgentId),
    ReactivateAgent(AgentId),
    /// A new maintenance schedule (its windows).
    UpdateMaintenanceSchedule(Vec<Window>),
    /// Machines to bring down.
    StartMaintenance(Vec<MachineId>),
    /// Machines to bring back up.
    StopMaintenance(Vec<MachineId>),
    /// Drain an agent: `max_grace_period` in seconds.
    DrainAgent {
        agent_id: AgentId,
        max_grace_period: Option<f64>,
        mark_gone: bool,
    },
    /// RESERVE_RESOURCES, UNRESERVE_RESOURCES, CREATE_VOLUMES or
    /// DESTROY_VOLUMES on an agent.
    Resources {
        agent_id: AgentId,
        kind: crate::mesos::ResourceOpKind,
        resources: crate::resources::Resources,
    },
    GrowVolume {
        agent_id: AgentId,
        volume: Box<crate::resources::Resource>,
        addition: Box<crate::resources::Resource>,
    },
    ShrinkVolume {
        agent_id: AgentId,
        volume: Box<crate::resources::Resource>,
        subtract: f64,
    },
}

/// A call to the agent's `/api/v1`.
#[derive(Debug, Clone, PartialEq)]
pub enum AgentCall {
    Common(CommonCall),
    GetState,
    GetContainers,
    GetFrameworks,
    GetExecutors,
    GetOperations,
    GetTasks,
    GetAgent,
    /// Send `signal` (SIGKILL when unset) to a container: the agent
    /// destroys it.
    KillContainer {
        container_id: ContainerId,
        signal: Option<i32>,
    },
    /// A well-formed call of this type that is not carried out yet.
    Unsupported(&'static str),
}

/// The agent's call types that are read but answered 501 for now (the
/// container calls, most of them streaming).
const AGENT_UNSUPPORTED: [&str; 16] = [
    "GET_RESOURCE_PROVIDERS",
    "LAUNCH_NESTED_CONTAINER",
    "WAIT_NESTED_CONTAINER",
    "KILL_NESTED_CONTAINER",
    "REMOVE_NESTED_CONTAINER",
    "LAUNCH_NESTED_CONTAINER_SESSION",
    "ATTACH_CONTAINER_INPUT",
    "ATTACH_CONTAINER_OUTPUT",
    "LAUNCH_CONTAINER",
    "WAIT_CONTAINER",
    "REMOVE_CONTAINER",
    "ADD_RESOURCE_PROVIDER_CONFIG",
    "UPDATE_RESOURCE_PROVIDER_CONFIG",
    "REMOVE_RESOURCE_PROVIDER_CONFIG",
    "MARK_RESOURCE_PROVIDER_GONE",
    "PRUNE_IMAGES",
];

fn missing(field: &str) -> CallError {
    CallError::validation(format!("Expecting '{field}' to be present"))
}

/// The type name of a call, refusing a missing or `UNKNOWN` type.
fn type_name(call: &Call) -> Result<&str, CallError> {
    match call.kind.as_deref() {
        None => Err(missing("type")),
        Some("UNKNOWN") => Err(CallError::Unimplemented),
        Some(name) => Ok(name),
    }
}

fn non_negative(d: &DurationInfo, field: &str) -> Result<f64, CallError> {
    if d.nanoseconds < 0 {
        return Err(CallError::validation(format!(
            "'{field}' must not be negative"
        )));
    }
    Ok(d.nanoseconds as f64 / 1e9)
}

/// The calls both APIs have, or `None` when `name` is none of them.
fn common(name: &str, call: &mut Call) -> Result<Option<CommonCall>, CallError> {
    Ok(Some(match name {
        "GET_HEALTH" => CommonCall::GetHealth,
        "GET_FLAGS" => CommonCall::GetFlags,
        "GET_VERSION" => CommonCall::GetVersion,
        "GET_METRICS" => {
            let timeout = match call.get_metrics.take().and_then(|m| m.timeout) {
                Some(d) => Some(non_negative(&d, "get_metrics.timeout")?),
                None => None,
            };
            CommonCall::GetMetrics { timeout }
        }
        "GET_LOGGING_LEVEL" => CommonCall::GetLoggingLevel,
        "SET_LOGGING_LEVEL" => {
            let set = call
                .set_logging_level
                .take()
                .ok_or_else(|| missing("set_logging_level"))?;
            let level = set
                .level
                .ok_or_else(|| missing("set_logging_level.level"))?;
            let duration = set
                .duration
                .ok_or_else(|| missing("set_logging_level.duration"))?;
            CommonCall::SetLoggingLevel {
                level,
                duration: non_negative(&duration, "set_logging_level.duration")?,
            }
        }
        "LIST_FILES" => {
            let list = call
                .list_files
                .take()
                .ok_or_else(|| missing("list_files"))?;
            CommonCall::ListFiles {
                path: list.path.ok_or_else(|| missing("list_files.path"))?,
            }
        }
        "READ_FILE" => {
            let read = call.read_file.take().ok_or_else(|| missing("read_file"))?;
            CommonCall::ReadFile {
                path: read.path.ok_or_else(|| missing("read_file.path"))?,
                offset: read.offset.ok_or_else(|| missing("read_file.offset"))?,
                length: read.length,
            }
        }
        _ => return Ok(None),
    }))
}

fn agent_of(payload: Option<OfAgent>, field: &str) -> Result<AgentId, CallError> {
    payload
        .ok_or_else(|| missing(field))?
        .agent_id
        .ok_or_else(|| missing(&format!("{field}.agent_id")))
}

/// Reads a body POSTed to the master's `/api/v1`.
pub fn parse_master_call(body: &[u8]) -> Result<MasterCall, CallError> {
    let mut call: Call = crate::v1::call_from_json(body)?;
    let name = type_name(&call)?.to_owned();
    if let Some(c) = common(&name, &mut call)? {
        return Ok(MasterCall::Common(c));
    }
    Ok(match name.as_str() {
        "GET_STATE" => MasterCall::GetState,
        "GET_AGENTS" => MasterCall::GetAgents,
        "GET_FRAMEWORKS" => MasterCall::GetFrameworks,
        "GET_EXECUTORS" => MasterCall::GetExecutors,
        "GET_OPERATIONS" => MasterCall::GetOperations,
        "GET_TASKS" => MasterCall::GetTasks,
        "GET_ROLES" => MasterCall::GetRoles,
        "GET_WEIGHTS" => MasterCall::GetWeights,
        "GET_MASTER" => MasterCall::GetMaster,
        "SUBSCRIBE" => MasterCall::Subscribe,
        "GET_MAINTENANCE_STATUS" => MasterCall::GetMaintenanceStatus,
        "GET_MAINTENANCE_SCHEDULE" => MasterCall::GetMaintenanceSchedule,
        "GET_QUOTA" => MasterCall::GetQuota,
        "UPDATE_QUOTA" => {
            MasterCall::UpdateQuota(call.update_quota.ok_or_else(|| missing("update_quota"))?)
        }
        "SET_QUOTA" => {
            let set = call.set_quota.ok_or_else(|| missing("set_quota"))?;
            match set.get("quota_request") {
                Some(serde_json::Value::Object(request)) => MasterCall::SetQuota(request.clone()),
                Some(_) => {
                    return Err(CallError::validation(
                        "'set_quota.quota_request' must be an object",
                    ))
                }
                None => return Err(missing("set_quota.quota_request")),
            }
        }
        "REMOVE_QUOTA" => MasterCall::RemoveQuota(
            call.remove_quota
                .ok_or_else(|| missing("remove_quota"))?
                .role
                .ok_or_else(|| missing("remove_quota.role"))?,
        ),
        "UPDATE_WEIGHTS" => {
            let update = call
                .update_weights
                .ok_or_else(|| missing("update_weights"))?;
            let mut weights = Vec::new();
            for (i, w) in update.weight_infos.into_iter().enumerate() {
                let role = w
                    .role
                    .ok_or_else(|| missing(&format!("update_weights.weight_infos[{i}].role")))?;
                if !(w.weight > 0.0 && w.weight.is_finite()) {
                    return Err(CallError::validation(format!(
                        "Invalid weight '{}' for role '{role}': weights must be positive",
                        w.weight
                    )));
                }
                weights.push((role, w.weight));
            }
            MasterCall::UpdateWeights(weights)
        }
        "TEARDOWN" => MasterCall::Teardown(
            call.teardown
                .ok_or_else(|| missing("teardown"))?
                .framework_id
                .ok_or_else(|| missing("teardown.framework_id"))?,
        ),
        "MARK_AGENT_GONE" => {
            MasterCall::MarkAgentGone(agent_of(call.mark_agent_gone, "mark_agent_gone")?)
        }
        "DEACTIVATE_AGENT" => {
            MasterCall::DeactivateAgent(agent_of(call.deactivate_agent, "deactivate_agent")?)
        }
        "REACTIVATE_AGENT" => {
            MasterCall::ReactivateAgent(agent_of(call.reactivate_agent, "reactivate_agent")?)
        }
        "UPDATE_MAINTENANCE_SCHEDULE" => {
            let schedule = call
                .update_maintenance_schedule
                .and_then(|mut p| p.remove("schedule"))
                .ok_or_else(|| missing("update_maintenance_schedule.schedule"))?;
            MasterCall::UpdateMaintenanceSchedule(
                maintenance::schedule_from_value(schedule)
                    .map_err(|e| CallError::validation(e.0))?,
            )
        }
        "START_MAINTENANCE" => {
            MasterCall::StartMaintenance(machines(call.start_maintenance, "start_maintenance")?)
        }
        "STOP_MAINTENANCE" => {
            MasterCall::StopMaintenance(machines(call.stop_maintenance, "stop_maintenance")?)
        }
        "DRAIN_AGENT" => {
            let drain = call.drain_agent.ok_or_else(|| missing("drain_agent"))?;
            let agent_id = drain
                .agent_id
                .ok_or_else(|| missing("drain_agent.agent_id"))?;
            let max_grace_period = match drain.max_grace_period {
                Some(d) => Some(non_negative(&d, "drain_agent.max_grace_period")?),
                None => None,
            };
            MasterCall::DrainAgent {
                agent_id,
                max_grace_period,
                mark_gone: drain.mark_gone.unwrap_or(false),
            }
        }
        "RESERVE_RESOURCES" => resources_call(
            call.reserve_resources,
            "reserve_resources",
            crate::mesos::ResourceOpKind::Reserve,
        )?,
        "UNRESERVE_RESOURCES" => resources_call(
            call.unreserve_resources,
            "unreserve_resources",
            crate::mesos::ResourceOpKind::Unreserve,
        )?,
        "CREATE_VOLUMES" => resources_call(
            call.create_volumes,
            "create_volumes",
            crate::mesos::ResourceOpKind::Create,
        )?,
        "DESTROY_VOLUMES" => resources_call(
            call.destroy_volumes,
            "destroy_volumes",
            crate::mesos::ResourceOpKind::Destroy,
        )?,
        "GROW_VOLUME" => {
            let grow = call.grow_volume.ok_or_else(|| missing("grow_volume"))?;
            MasterCall::GrowVolume {
                agent_id: grow
                    .agent_id
                    .ok_or_else(|| missing("grow_volume.agent_id"))?,
                volume: Box::new(one_resource(grow.volume, "grow_volume.volume")?),
                addition: Box::new(one_resource(grow.addition, "grow_volume.addition")?),
            }
        }
        "SHRINK_VOLUME" => {
            let shrink = call.shrink_volume.ok_or_else(|| missing("shrink_volume"))?;
            MasterCall::ShrinkVolume {
                agent_id: shrink
                    .agent_id
                    .ok_or_else(|| missing("shrink_volume.agent_id"))?,
                volume: Box::new(one_resource(shrink.volume, "shrink_volume.volume")?),
                subtract: shrink
                    .subtract
                    .and_then(|s| s.value)
                    .ok_or_else(|| missing("shrink_volume.subtract.value"))?,
            }
        }
        other => return Err(CallError::unknown_type(other)),
    })
}

/// A reservation or volume call: its agent and resources (`resources`
/// for reservations, `volumes` for volumes).
fn resources_call(
    payload: Option<OfResources>,
    field: &str,
    kind: crate::mesos::ResourceOpKind,
) -> Result<MasterCall, CallError> {
    let payload = payload.ok_or_else(|| missing(field))?;
    let agent_id = payload
        .agent_id
        .ok_or_else(|| missing(&format!("{field}.agent_id")))?;
    let (inner, list) = match kind {
        crate::mesos::ResourceOpKind::Reserve | crate::mesos::ResourceOpKind::Unreserve => {
            ("resources", payload.resources)
        }
        _ => ("volumes", payload.volumes),
    };
    let resources = crate::v1::types::resources_from_v1(list)
        .map_err(|e| CallError::validation(format!("Invalid '{field}.{inner}': {e}")))?;
    Ok(MasterCall::Resources {
        agent_id,
        kind,
        resources,
    })
}

/// The `machines` of a START_MAINTENANCE or STOP_MAINTENANCE payload.
fn machines(payload: Option<Opaque>, field: &str) -> Result<Vec<MachineId>, CallError> {
    let list = payload
        .and_then(|mut p| p.remove("machines"))
        .unwrap_or_else(|| serde_json::Value::Array(Vec::new()));
    maintenance::machine_ids_from_value(list)
        .map_err(|e| CallError::validation(format!("{field}: {e}")))
}

/// A required single resource of a payload.
fn one_resource(r: Option<Resource>, field: &str) -> Result<crate::resources::Resource, CallError> {
    r.ok_or_else(|| missing(field))?
        .into_internal()
        .map_err(|e| CallError::validation(format!("Invalid '{field}': {e}")))
}

/// Reads a body POSTed to the agent's `/api/v1`.
pub fn parse_agent_call(body: &[u8]) -> Result<AgentCall, CallError> {
    let mut call: Call = crate::v1::call_from_json(body)?;
    let name = type_name(&call)?.to_owned();
    if let Some(c) = common(&name, &mut call)? {
        return Ok(AgentCall::Common(c));
    }
    Ok(match name.as_str() {
        "GET_STATE" => AgentCall::GetState,
        "GET_CONTAINERS" => AgentCall::GetContainers,
        "GET_FRAMEWORKS" => AgentCall::GetFrameworks,
        "GET_EXECUTORS" => AgentCall::GetExecutors,
        "GET_OPERATIONS" => AgentCall::GetOperations,
        "GET_TASKS" => AgentCall::GetTasks,
        "GET_AGENT" => AgentCall::GetAgent,
        "KILL_CONTAINER" => {
            let kill = call
                .kill_container
                .ok_or_else(|| missing("kill_container"))?;
            let id = kill
                .container_id
                .ok_or_else(|| missing("kill_container.container_id"))?;
            AgentCall::KillContainer {
                container_id: ContainerId::new(id.value),
                signal: kill.signal,
            }
        }
        other => match AGENT_UNSUPPORTED.iter().find(|n| **n == other) {
            Some(kind) => AgentCall::Unsupported(kind),
            None => return Err(CallError::unknown_type(other)),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn master(body: &str) -> Result<MasterCall, CallError> {
        parse_master_call(body.as_bytes())
    }

    #[test]
    fn master_calls_are_read_with_their_payloads() {
        let table: &[(&str, MasterCall)] = &[
            (
                r#"{"type":"GET_HEALTH"}"#,
                MasterCall::Common(CommonCall::GetHealth),
            ),
            (
                r#"{"type":"GET_METRICS","get_metrics":{"timeout":{"nanoseconds":5000000000}}}"#,
                MasterCall::Common(CommonCall::GetMetrics { timeout: Some(5.0) }),
            ),
            (
                r#"{"type":"GET_METRICS"}"#,
                MasterCall::Common(CommonCall::GetMetrics { timeout: None }),
            ),
            (
                r#"{"type":"SET_LOGGING_LEVEL","set_logging_level":{"level":"2","duration":{"nanoseconds":60000000000}}}"#,
                MasterCall::Common(CommonCall::SetLoggingLevel {
                    level: 2,
                    duration: 60.0,
                }),
            ),
            (
                r#"{"type":"READ_FILE","read_file":{"path":"/x","offset":3,"length":10}}"#,
                MasterCall::Common(CommonCall::ReadFile {
                    path: "/x".into(),
                    offset: 3,
                    length: Some(10),
                }),
            ),
            (r#"{"type":"GET_TASKS"}"#, MasterCall::GetTasks),
            (r#"{"type":"SUBSCRIBE"}"#, MasterCall::Subscribe),
            (
                r#"{"type":"UPDATE_WEIGHTS","update_weights":{"weight_infos":[{"role":"a","weight":2.5}]}}"#,
                MasterCall::UpdateWeights(vec![("a".into(), 2.5)]),
            ),
            (
                r#"{"type":"MARK_AGENT_GONE","mark_agent_gone":{"agent_id":{"value":"m-S1"}}}"#,
                MasterCall::MarkAgentGone(AgentId::new("m-S1")),
            ),
            (
                r#"{"type":"TEARDOWN","teardown":{"framework_id":{"value":"m-0001"}}}"#,
                MasterCall::Teardown(FrameworkId::new("m-0001")),
            ),
            (
                r#"{"type":"RESERVE_RESOURCES","reserve_resources":{"agent_id":{"value":"a"},"resources":[]}}"#,
                MasterCall::Resources {
                    agent_id: AgentId::new("a"),
                    kind: crate::mesos::ResourceOpKind::Reserve,
                    resources: crate::resources::Resources::new(),
                },
            ),
            (
                r#"{"type":"START_MAINTENANCE","start_maintenance":{"machines":[{"hostname":"h"}]}}"#,
                MasterCall::StartMaintenance(vec![MachineId::new(Some("h"), None)]),
            ),
            (
                r#"{"type":"STOP_MAINTENANCE","stop_maintenance":{"machines":[{"ip":"1.2.3.4"}]}}"#,
                MasterCall::StopMaintenance(vec![MachineId::new(None, Some("1.2.3.4"))]),
            ),
            (
                r#"{"type":"UPDATE_MAINTENANCE_SCHEDULE","update_maintenance_schedule":{"schedule":{}}}"#,
                MasterCall::UpdateMaintenanceSchedule(Vec::new()),
            ),
            (
                r#"{"type":"DRAIN_AGENT","drain_agent":{"agent_id":{"value":"a"},"max_grace_period":{"nanoseconds":1500000000}}}"#,
                MasterCall::DrainAgent {
                    agent_id: AgentId::new("a"),
                    max_grace_period: Some(1.5),
                    mark_gone: false,
                },
            ),
        ];
        for (body, expected) in table {
            assert_eq!(master(body).as_ref(), Ok(expected), "{body}");
        }
    }

    #[test]
    fn bad_master_calls_are_refused_with_a_status_and_one_line() {
        let table: &[(&str, u16, &str)] = &[
            ("", 400, "Failed to parse body into JSON"),
            ("[1]", 400, "expected a JSON object"),
            (r#"{}"#, 400, "Expecting 'type' to be present"),
            (r#"{"type":"UNKNOWN"}"#, 501, "UNKNOWN"),
            (r#"{"type":"LAUNCH_ROCKETS"}"#, 400, "LAUNCH_ROCKETS"),
            (r#"{"type":7}"#, 400, "Failed to convert JSON"),
            (r#"{"type":"READ_FILE"}"#, 400, "'read_file'"),
            (
                r#"{"type":"READ_FILE","read_file":{"path":"/x"}}"#,
                400,
                "'read_file.offset'",
            ),
            (
                r#"{"type":"READ_FILE","read_file":{"path":"/x","offset":-1}}"#,
                400,
                "unsigned",
            ),
            (
                r#"{"type":"GET_METRICS","get_metrics":{"timeout":{"nanoseconds":"soon"}}}"#,
                400,
                "64-bit",
            ),
            (r#"{"type":"MARK_AGENT_GONE"}"#, 400, "'mark_agent_gone'"),
            (
                r#"{"type":"UPDATE_MAINTENANCE_SCHEDULE","update_maintenance_schedule":{}}"#,
                400,
                "'update_maintenance_schedule.schedule'",
            ),
            (
                r#"{"type":"START_MAINTENANCE","start_maintenance":{"machines":{"hostname":"h"}}}"#,
                400,
                "Invalid list of machines",
            ),
            (
                r#"{"type":"DRAIN_AGENT","drain_agent":{"agent_id":{"value":"a"},"max_grace_period":{"nanoseconds":-1}}}"#,
                400,
                "must not be negative",
            ),
            (
                r#"{"type":"MARK_AGENT_GONE","mark_agent_gone":{}}"#,
                400,
                "'mark_agent_gone.agent_id'",
            ),
            (
                r#"{"type":"MARK_AGENT_GONE","mark_agent_gone":{"agent_id":"a"}}"#,
                400,
                "Failed to convert JSON",
            ),
            (
                r#"{"type":"UPDATE_WEIGHTS","update_weights":{"weight_infos":[{"role":"a","weight":-1}]}}"#,
                400,
                "weights must be positive",
            ),
            (
                r#"{"type":"RESERVE_RESOURCES"}"#,
                400,
                "'reserve_resources'",
            ),
            (
                r#"{"type":"CREATE_VOLUMES","create_volumes":{"volumes":[]}}"#,
                400,
                "'create_volumes.agent_id'",
            ),
            (
                r#"{"type":"RESERVE_RESOURCES","reserve_resources":{"agent_id":{"value":"a"},"resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":-1}}]}}"#,
                400,
                "Invalid 'reserve_resources.resources'",
            ),
            (r#"{"type":"UPDATE_QUOTA"}"#, 400, "'update_quota'"),
            (
                r#"{"type":"SET_LOGGING_LEVEL","set_logging_level":{"level":1}}"#,
                400,
                "'set_logging_level.duration'",
            ),
        ];
        for (body, status, text) in table {
            let err = master(body).expect_err(body);
            assert_eq!(err.status(), *status, "{body}: {err}");
            let message = err.to_string();
            assert!(message.contains(text), "{body}: {message}");
            assert!(!message.contains('\n'), "{body}: {message}");
        }
    }

    #[test]
    fn agent_calls_are_read_and_streaming_ones_are_unsupported() {
        let table: &[(&str, Result<AgentCall, u16>)] = &[
            (r#"{"type":"GET_CONTAINERS"}"#, Ok(AgentCall::GetContainers)),
            (
                r#"{"type":"LIST_FILES","list_files":{"path":"/tmp"}}"#,
                Ok(AgentCall::Common(CommonCall::ListFiles {
                    path: "/tmp".into(),
                })),
            ),
            (
                r#"{"type":"KILL_CONTAINER","kill_container":{"container_id":{"value":"c1"},"signal":15}}"#,
                Ok(AgentCall::KillContainer {
                    container_id: ContainerId::new("c1"),
                    signal: Some(15),
                }),
            ),
            (
                r#"{"type":"ATTACH_CONTAINER_OUTPUT","attach_container_output":{}}"#,
                Ok(AgentCall::Unsupported("ATTACH_CONTAINER_OUTPUT")),
            ),
            (r#"{"type":"KILL_CONTAINER"}"#, Err(400)),
            (
                r#"{"type":"KILL_CONTAINER","kill_container":{"container_id":{}}}"#,
                Err(400),
            ),
            (r#"{"type":"GET_AGENTS"}"#, Err(400)),
            (r#"{"type":"UNKNOWN"}"#, Err(501)),
        ];
        for (body, expected) in table {
            let got = parse_agent_call(body.as_bytes()).map_err(|e| e.status());
            assert_eq!(&got, expected, "{body}");
        }
    }
}
