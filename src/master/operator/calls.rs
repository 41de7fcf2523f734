//! Reading a call to the master's `/api/v1` against a view of the master:
//! the read-only calls are answered here, from the view; the others say
//! what the process is to do ([`Act`]).

use actors::{Reply, Request};
use serde_json::json;
use wire::ids::{AgentId, FrameworkId};
use wire::v1::{parse_master_call, CommonCall, MasterCall};

use super::json;
use crate::master::http::leader_only;
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
    Teardown(FrameworkId),
    MarkAgentGone(AgentId),
    DeactivateAgent(AgentId),
    ReactivateAgent(AgentId),
}

/// Reads a request: refused, answered now, or an [`Act`] for the process.
pub fn read_call(master: &MasterView<'_>, req: &Request) -> Result<Act, ApiError> {
    operator_api::prelude(req)?;
    if let Some(redirect) = leader_only(master, req) {
        return Ok(Act::Reply(redirect));
    }
    let call = v1_http::parse_call("master", &req.body, parse_master_call)?;
    if let MasterCall::Common(c) = call {
        return Ok(Act::Common(c));
    }
    if !master.recovered {
        return Err(ApiError::Unavailable(
            "Master has not finished recovery".into(),
        ));
    }
    let state = master.state;
    let answer = |kind: &str, payload| Ok(Act::Reply(ok_json(&response(kind, payload))));
    match call {
        MasterCall::Common(c) => Ok(Act::Common(c)),
        MasterCall::GetState => answer("GET_STATE", json::get_state(state)),
        MasterCall::GetAgents => answer("GET_AGENTS", json::get_agents(state)),
        MasterCall::GetFrameworks => answer("GET_FRAMEWORKS", json::get_frameworks(state)),
        MasterCall::GetExecutors => answer("GET_EXECUTORS", json::get_executors(state)),
        MasterCall::GetTasks => answer("GET_TASKS", json::get_tasks(state)),
        MasterCall::GetOperations => answer("GET_OPERATIONS", json!({})),
        MasterCall::GetRoles => answer("GET_ROLES", json::get_roles(master, &master.flags.weights)),
        MasterCall::GetWeights => answer("GET_WEIGHTS", json::get_weights(&master.flags.weights)),
        MasterCall::GetMaster => answer("GET_MASTER", json::get_master(master)),
        MasterCall::GetMaintenanceStatus => answer("GET_MAINTENANCE_STATUS", json!({"status": {}})),
        MasterCall::GetMaintenanceSchedule => {
            answer("GET_MAINTENANCE_SCHEDULE", json!({"schedule": {}}))
        }
        MasterCall::GetQuota => answer("GET_QUOTA", json!({"status": {}})),
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
        MasterCall::Unsupported(kind) => Err(ApiError::NotImplemented(format!(
            "The '{kind}' call is not supported by this master yet"
        ))),
    }
}

fn agent_not_found(id: &AgentId) -> ApiError {
    ApiError::NotFound(format!("Agent '{id}' not found"))
}
