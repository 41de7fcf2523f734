//! Reading a call to the master's `/api/v1` against a view of the master:
//! the read-only calls are answered here, from the view; the others say
//! what the process is to do ([`Act`]).

use actors::http::{Response, StatusCode};
use actors::{Reply, Request};
use serde_json::json;
use wire::ids::{AgentId, FrameworkId};
use wire::maintenance::{MachineId, Window};
use wire::registry::QuotaConfig;
use wire::v1::{parse_master_call, CommonCall, MasterCall};

use super::json;
use crate::master::http::leader_only;
use crate::master::operations;
use crate::master::quota;
use crate::master::reservation::ResourceOp;
use crate::master::view::MasterView;
use crate::operator_api::{self, ok_json, response};
use crate::v1_http::{self, ApiError};

/// What a request to `/api/v1` comes to.
pub enum Act {
    /// Answered already (a read-only call, a redirect, a no-op).
    Reply(Reply),
    /// A call the agent's API has too, answered by the process.
    Common(CommonCall),
    /// Open an event stream.
    Subscribe,
    UpdateWeights(Vec<(String, f64)>),
    /// Checked quotas to apply (a default config removes a role's).
    UpdateQuota(Vec<QuotaConfig>),
    Teardown(FrameworkId),
    MarkAgentGone(AgentId),
    DeactivateAgent(AgentId),
    ReactivateAgent(AgentId),
    UpdateMaintenanceSchedule(Vec<Window>),
    StartMaintenance(Vec<MachineId>),
    StopMaintenance(Vec<MachineId>),
    DrainAgent {
        agent_id: AgentId,
        max_grace_period: Option<f64>,
        mark_gone: bool,
    },
    /// Reserve, unreserve, create, destroy, grow or shrink volumes of
    /// unused resources.
    ResourceOp {
        agent_id: AgentId,
        op: ResourceOp,
    },
}

/// Reads a request: refused, answered now, or an [`Act`] for the process.
pub fn read_call(master: &MasterView<'_>, req: &Request) -> Result<Act, ApiError> {
    // As Mesos: a master that does not lead redirects any request, and one
    // still recovering serves none, before the request is looked at.
    if let Some(redirect) = leader_only(master, req) {
        return Ok(Act::Reply(redirect));
    }
    if !master.recovered {
        return Err(ApiError::Unavailable(
            "Master has not finished recovery".into(),
        ));
    }
    operator_api::prelude(req)?;
    let call = v1_http::parse_call("master", &req.body, parse_master_call)?;
    let state = master.state;
    let answer = |kind: &str, payload| Ok(Act::Reply(ok_json(&response(kind, payload))));
    match call {
        MasterCall::Common(c) => Ok(Act::Common(c)),
        // Written as it is rendered: a large state never becomes a tree.
        MasterCall::GetState => Ok(Act::Reply(Reply::Now(
            Response::new(StatusCode::OK, json::get_state_body(state))
                .with_header("Content-Type", "application/json"),
        ))),
        MasterCall::GetAgents => answer("GET_AGENTS", json::get_agents(state)),
        MasterCall::GetFrameworks => answer("GET_FRAMEWORKS", json::get_frameworks(state)),
        MasterCall::GetExecutors => answer("GET_EXECUTORS", json::get_executors(state)),
        MasterCall::GetTasks => answer("GET_TASKS", json::get_tasks(state)),
        MasterCall::GetOperations => answer("GET_OPERATIONS", json!({})),
        MasterCall::GetRoles => answer("GET_ROLES", json::get_roles(master, &master.flags.weights)),
        MasterCall::GetWeights => answer("GET_WEIGHTS", json::get_weights(&master.flags.weights)),
        MasterCall::GetMaster => answer("GET_MASTER", json::get_master(master)),
        MasterCall::GetMaintenanceStatus => answer(
            "GET_MAINTENANCE_STATUS",
            json!({"status": state.maintenance().status_json()}),
        ),
        MasterCall::GetMaintenanceSchedule => answer(
            "GET_MAINTENANCE_SCHEDULE",
            json!({"schedule": state.maintenance().schedule_json()}),
        ),
        MasterCall::UpdateMaintenanceSchedule(windows) => {
            state
                .maintenance()
                .check_schedule(&windows)
                .map_err(ApiError::BadRequest)?;
            Ok(Act::UpdateMaintenanceSchedule(windows))
        }
        MasterCall::StartMaintenance(ids) => {
            state
                .maintenance()
                .check_down(&ids)
                .map_err(ApiError::BadRequest)?;
            Ok(Act::StartMaintenance(ids))
        }
        MasterCall::StopMaintenance(ids) => {
            state
                .maintenance()
                .check_up(&ids)
                .map_err(ApiError::BadRequest)?;
            Ok(Act::StopMaintenance(ids))
        }
        MasterCall::DrainAgent {
            agent_id,
            max_grace_period,
            mark_gone,
        } => {
            state
                .agent(&agent_id)
                .ok_or_else(|| agent_not_found(&agent_id))?;
            Ok(Act::DrainAgent {
                agent_id,
                max_grace_period,
                mark_gone,
            })
        }
        MasterCall::GetQuota => answer(
            "GET_QUOTA",
            json!({"status": quota::status_json(state.quotas())}),
        ),
        MasterCall::UpdateQuota(payload) => {
            let (force, configs) = quota::parse_update(&payload)?;
            Ok(Act::UpdateQuota(quota::check_update(
                master, force, configs,
            )?))
        }
        MasterCall::SetQuota(request) => {
            let (force, config) = quota::parse_request(&request)?;
            Ok(Act::UpdateQuota(quota::check_set(master, force, config)?))
        }
        MasterCall::RemoveQuota(role) => Ok(Act::UpdateQuota(quota::check_remove(master, &role)?)),
        MasterCall::Subscribe => Ok(Act::Subscribe),
        MasterCall::UpdateWeights(w) => Ok(Act::UpdateWeights(w)),
        MasterCall::Teardown(id) => {
            if state.framework(&id).is_none() {
                return Err(ApiError::BadRequest(format!(
                    "No framework found with ID {id}"
                )));
            }
            Ok(Act::Teardown(id))
        }
        MasterCall::MarkAgentGone(id) => {
            if state.gone().contains_key(&id) {
                // Already gone: nothing more to do (as Mesos answers).
                return Ok(Act::Reply(operator_api::ok_empty()));
            }
            let known = state.agent(&id).is_some()
                || state.recovered().contains_key(&id)
                || state.unreachable().contains_key(&id);
            if !known {
                return Err(agent_not_found(&id));
            }
            Ok(Act::MarkAgentGone(id))
        }
        MasterCall::DeactivateAgent(id) => {
            state.agent(&id).ok_or_else(|| agent_not_found(&id))?;
            Ok(Act::DeactivateAgent(id))
        }
        MasterCall::ReactivateAgent(id) => {
            state.agent(&id).ok_or_else(|| agent_not_found(&id))?;
            Ok(Act::ReactivateAgent(id))
        }
        MasterCall::Resources {
            agent_id,
            kind,
            resources,
        } => resource_op(master, agent_id, operations::resource_op(kind, resources)),
        MasterCall::GrowVolume {
            agent_id,
            volume,
            addition,
        } => resource_op(master, agent_id, ResourceOp::Grow { volume, addition }),
        MasterCall::ShrinkVolume {
            agent_id,
            volume,
            subtract,
        } => resource_op(master, agent_id, ResourceOp::Shrink { volume, subtract }),
    }
}

fn resource_op(
    master: &MasterView<'_>,
    agent_id: AgentId,
    op: ResourceOp,
) -> Result<Act, ApiError> {
    master
        .state
        .agent(&agent_id)
        .ok_or_else(|| agent_not_found(&agent_id))?;
    Ok(Act::ResourceOp { agent_id, op })
}

fn agent_not_found(id: &AgentId) -> ApiError {
    ApiError::NotFound(format!("Agent '{id}' not found"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::master::core::fixture::{admit, core};
    use actors::http::{HeaderMap, Method};
    use bytes::Bytes;

    fn request(body: &str) -> Request {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", "application/json".parse().unwrap());
        Request {
            method: Method::POST,
            path: "/api/v1".into(),
            route: "/api/v1".into(),
            query: Vec::new(),
            headers,
            body: Bytes::from(body.to_owned()),
            remote: "127.0.0.1:1".parse().unwrap(),
        }
    }

    /// What a call comes to: a status answered now, or the act's name.
    fn outcome(view: &MasterView<'_>, body: &str) -> Result<String, u16> {
        match read_call(view, &request(body)) {
            Err(e) => Err(e.status().as_u16()),
            Ok(Act::Reply(Reply::Now(r))) => Ok(format!("reply {}", r.status.as_u16())),
            Ok(Act::Reply(Reply::Later(_))) => Ok("later".into()),
            Ok(Act::Common(_)) => Ok("common".into()),
            Ok(Act::Subscribe) => Ok("subscribe".into()),
            Ok(Act::UpdateWeights(_)) => Ok("weights".into()),
            Ok(Act::UpdateQuota(_)) => Ok("quota".into()),
            Ok(Act::Teardown(_)) => Ok("teardown".into()),
            Ok(Act::MarkAgentGone(_)) => Ok("gone".into()),
            Ok(Act::DeactivateAgent(_)) => Ok("deactivate".into()),
            Ok(Act::ReactivateAgent(_)) => Ok("reactivate".into()),
            Ok(Act::UpdateMaintenanceSchedule(_)) => Ok("schedule".into()),
            Ok(Act::StartMaintenance(_)) => Ok("down".into()),
            Ok(Act::StopMaintenance(_)) => Ok("up".into()),
            Ok(Act::DrainAgent { .. }) => Ok("drain".into()),
            Ok(Act::ResourceOp { .. }) => Ok("resources".into()),
        }
    }

    #[test]
    fn calls_are_checked_against_the_records() {
        let mut c = core(|_| {});
        let agent = admit(&mut c, 1);
        let gone = wire::ids::AgentId::new("gone-one");
        c.state_mut().mark_gone(gone.clone(), 1.0);
        let view = MasterView {
            state: c.state(),
            info: c.info(),
            flags: c.flags(),
            start_time: 0.0,
            leader: Some(c.info()),
            elected: true,
            recovered: true,
        };
        let on = |kind: &str, id: &str| {
            format!(
                r#"{{"type":"{kind}","{}":{{"agent_id":{{"value":"{id}"}}}}}}"#,
                kind.to_ascii_lowercase()
            )
        };
        let table: Vec<(String, Result<String, u16>)> = vec![
            (r#"{"type":"GET_TASKS"}"#.into(), Ok("reply 200".into())),
            (r#"{"type":"GET_HEALTH"}"#.into(), Ok("common".into())),
            (r#"{"type":"SUBSCRIBE"}"#.into(), Ok("subscribe".into())),
            (on("MARK_AGENT_GONE", &agent.value), Ok("gone".into())),
            (on("MARK_AGENT_GONE", &gone.value), Ok("reply 200".into())),
            (on("MARK_AGENT_GONE", "nope"), Err(404)),
            (
                on("DEACTIVATE_AGENT", &agent.value),
                Ok("deactivate".into()),
            ),
            (on("REACTIVATE_AGENT", "nope"), Err(404)),
            (
                r#"{"type":"TEARDOWN","teardown":{"framework_id":{"value":"nope"}}}"#.into(),
                Err(400),
            ),
            (on("DRAIN_AGENT", &agent.value), Ok("drain".into())),
            (on("DRAIN_AGENT", "nope"), Err(404)),
            (
                r#"{"type":"STOP_MAINTENANCE","stop_maintenance":{"machines":[{"hostname":"h"}]}}"#
                    .into(),
                Err(400),
            ),
            (
                r#"{"type":"UPDATE_MAINTENANCE_SCHEDULE","update_maintenance_schedule":{"schedule":{"windows":[{"machine_ids":[{"hostname":"h"}],"unavailability":{"start":{"nanoseconds":1}}}]}}}"#
                    .into(),
                Ok("schedule".into()),
            ),
            (
                r#"{"type":"GET_MAINTENANCE_STATUS"}"#.into(),
                Ok("reply 200".into()),
            ),
            (
                r#"{"type":"UPDATE_QUOTA","update_quota":{"force":true,"quota_configs":[{"role":"dev","guarantees":{"cpus":{"value":1}},"limits":{"cpus":{"value":2}}}]}}"#.into(),
                Ok("quota".into()),
            ),
            (
                r#"{"type":"UPDATE_QUOTA","update_quota":{"force":true,"quota_configs":[{"role":"dev","guarantees":{"cpus":{"value":3}},"limits":{"cpus":{"value":2}}}]}}"#.into(),
                Err(400),
            ),
            (
                r#"{"type":"UPDATE_QUOTA","update_quota":{"quota_configs":[{"role":"dev","guarantees":{"cpus":{"value":100000}}}]}}"#.into(),
                Err(409),
            ),
            (
                r#"{"type":"SET_QUOTA","set_quota":{"quota_request":{"role":"*","guarantee":[{"name":"cpus","type":"SCALAR","scalar":{"value":1}}]}}}"#.into(),
                Err(400),
            ),
            (
                r#"{"type":"REMOVE_QUOTA","remove_quota":{"role":"dev"}}"#.into(),
                Err(400),
            ),
            (r#"{"type":"GET_QUOTA"}"#.into(), Ok("reply 200".into())),
            (r#"{"type":"GET_CONTAINERS"}"#.into(), Err(400)),
        ];
        for (body, expected) in table {
            assert_eq!(outcome(&view, &body), expected, "{body}");
        }
    }

    #[test]
    fn a_recovering_master_serves_no_call_and_others_redirect() {
        let c = core(|_| {});
        let mut leader = c.info().clone();
        leader.hostname = "leader.example".into();
        let recovering = MasterView {
            state: c.state(),
            info: c.info(),
            flags: c.flags(),
            start_time: 0.0,
            leader: Some(c.info()),
            elected: true,
            recovered: false,
        };
        assert_eq!(outcome(&recovering, r#"{"type":"GET_STATE"}"#), Err(503));
        assert_eq!(outcome(&recovering, r#"{"type":"GET_VERSION"}"#), Err(503));
        let follower = MasterView {
            elected: false,
            leader: Some(&leader),
            ..recovering
        };
        assert_eq!(
            outcome(&follower, r#"{"type":"GET_STATE"}"#),
            Ok("reply 307".into())
        );
    }
}
