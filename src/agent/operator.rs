//! The agent's v1 operator API, `POST /api/v1` (Mesos's `slave/http.cpp`
//! `Http::api`): the calls both APIs share (health, flags, version,
//! metrics, logging level, files, in [`crate::operator_api`]), the agent's
//! records as v1 JSON (`GET_STATE`, `GET_FRAMEWORKS`, `GET_EXECUTORS`,
//! `GET_TASKS`, `GET_AGENT`), `GET_CONTAINERS` with each container's usage
//! (the data of `/monitor/statistics`), and `KILL_CONTAINER`. The
//! streaming and nested-container calls are answered 501.

use actors::{Cx, Reply, Request};
use serde_json::{json, Value};
use tokio::time::Instant;
use wire::ids::ContainerId;
use wire::mesos::Task;
use wire::v1::types::{AgentInfo, ExecutorInfo, FrameworkInfo, ResourceFormat};
use wire::v1::{parse_agent_call, AgentCall};

use super::containers_http::{statistics_json, with_usage};
use super::process::Agent;
use super::state::{AgentView, HostedFramework};
use crate::operator_api::{self, object, ok_json, response, task, Common};
use crate::v1_http::{self, ApiError};
use wire::ids::FrameworkId;

/// A `Response.GetFrameworks.Framework`.
fn framework(id: &FrameworkId, f: &HostedFramework) -> Value {
    let mut info = f.info().clone();
    info.id = Some(id.clone());
    json!({ "framework_info": FrameworkInfo::from_internal(&info) })
}

/// `Response.GetFrameworks` of the agent, with those gone from it.
pub fn get_frameworks(agent: &AgentView<'_>) -> Value {
    let frameworks: Vec<Value> = agent
        .frameworks
        .iter()
        .map(|(id, f)| framework(id, f))
        .collect();
    let completed: Vec<Value> = agent
        .completed_frameworks
        .iter()
        .map(|(id, f)| framework(id, f))
        .collect();
    object(vec![
        ("frameworks", Value::Array(frameworks)),
        ("completed_frameworks", Value::Array(completed)),
    ])
}

/// A `Response.GetExecutors.Executor`.
fn executor(framework_id: &FrameworkId, info: &wire::mesos::ExecutorInfo) -> Value {
    let mut info = info.clone();
    info.framework_id = Some(framework_id.clone());
    json!({ "executor_info": ExecutorInfo::from_internal(&info, &ResourceFormat::LEGACY) })
}

/// Every framework the agent lists, running here or gone.
fn all_frameworks<'a>(
    agent: &'a AgentView<'_>,
) -> impl Iterator<Item = (&'a FrameworkId, &'a HostedFramework)> {
    agent
        .frameworks
        .iter()
        .chain(agent.completed_frameworks.iter().map(|(id, f)| (id, f)))
}

/// `Response.GetExecutors` of the agent: running executors, and those
/// that ended (their sandboxes stay until garbage collected).
pub fn get_executors(agent: &AgentView<'_>) -> Value {
    let executors: Vec<Value> = agent
        .frameworks
        .iter()
        .flat_map(|(id, f)| f.executors().values().map(move |e| executor(id, e.info())))
        .collect();
    let completed: Vec<Value> = all_frameworks(agent)
        .flat_map(|(id, f)| {
            f.completed_executors()
                .iter()
                .map(move |e| executor(id, &e.info))
        })
        .collect();
    object(vec![
        ("executors", Value::Array(executors)),
        ("completed_executors", Value::Array(completed)),
    ])
}

/// `Response.GetTasks` of the agent: tasks waiting for their executor
/// (queued, shown staging), launched (not terminal), terminated ones of
/// running executors, and completed ones of executors that ended.
pub fn get_tasks(agent: &AgentView<'_>) -> Value {
    let (mut queued, mut launched, mut terminated) = (Vec::new(), Vec::new(), Vec::new());
    let agent_id = agent
        .info
        .id
        .clone()
        .unwrap_or_else(|| wire::ids::AgentId::new(""));
    for (framework_id, f) in agent.frameworks {
        for e in f.executors().values() {
            for t in e.queued() {
                let staging = Task::staging(
                    t,
                    framework_id,
                    &agent_id,
                    &e.info().executor_id,
                    t.resources.clone(),
                    "*",
                );
                queued.push(task(&staging));
            }
            for t in e.tasks().values() {
                if t.state.is_terminal() {
                    terminated.push(task(t));
                } else {
                    launched.push(task(t));
                }
            }
        }
    }
    let completed: Vec<Value> = all_frameworks(agent)
        .flat_map(|(_, f)| f.completed_executors().iter())
        .flat_map(|e| e.tasks.iter().map(task))
        .collect();
    object(vec![
        ("queued_tasks", Value::Array(queued)),
        ("launched_tasks", Value::Array(launched)),
        ("terminated_tasks", Value::Array(terminated)),
        ("completed_tasks", Value::Array(completed)),
    ])
}

/// `Response.GetState` of the agent.
pub fn get_state(agent: &AgentView<'_>) -> Value {
    json!({
        "get_tasks": get_tasks(agent),
        "get_executors": get_executors(agent),
        "get_frameworks": get_frameworks(agent),
    })
}

/// `Response.GetAgent`.
pub fn get_agent(agent: &AgentView<'_>) -> Value {
    json!({ "agent_info": AgentInfo::from_internal(agent.info) })
}

/// `GET_CONTAINERS`: every running executor's container with what it
/// uses: the entries and statistics of `/containers`, in the v1 shape.
fn get_containers(agent: &AgentView<'_>) -> Reply {
    with_usage(agent, |entries, usage, now| {
        let containers: Vec<Value> = entries
            .iter()
            .map(|e| {
                let mut c = json!({
                    "framework_id": {"value": e.framework_id},
                    "executor_id": {"value": e.executor_id},
                    "container_id": {"value": e.container_id.value},
                    "container_status": {
                        "container_id": {"value": e.container_id.value},
                        "executor_pid": e.pid,
                    },
                });
                if !e.executor_name.is_empty() {
                    c["executor_name"] = json!(e.executor_name);
                }
                if let Some(u) = usage.get(&e.container_id) {
                    c["resource_statistics"] = statistics_json(e, u, now);
                }
                c
            })
            .collect();
        operator_api::json_response(&response(
            "GET_CONTAINERS",
            object(vec![("containers", Value::Array(containers))]),
        ))
    })
}

impl Agent {
    /// `POST /api/v1`.
    pub(super) fn operator_call(&mut self, req: Request, cx: &mut Cx<'_, Self>) -> Reply {
        v1_http::answer(self.serve_operator_call(req, cx))
    }

    fn serve_operator_call(
        &mut self,
        req: Request,
        cx: &mut Cx<'_, Self>,
    ) -> Result<Reply, ApiError> {
        operator_api::prelude(&req)?;
        let call = v1_http::parse_call("agent", &req.body, parse_agent_call)?;
        let view = self.view();
        let answer = |kind: &str, payload| Ok(ok_json(&response(kind, payload)));
        match call {
            AgentCall::Common(call) => {
                let level = self.logging.at(Instant::now());
                let me = cx.me().clone();
                match operator_api::common(call, self.flags.all.all(), level, cx.node(), &me) {
                    Common::Reply(reply) => Ok(reply),
                    Common::SetLoggingLevel { level, duration } => {
                        tracing::info!(level, ?duration, "logging level set by an operator");
                        crate::logging::raise(level, duration);
                        self.logging.set(level, duration, Instant::now());
                        Ok(operator_api::ok_empty())
                    }
                }
            }
            AgentCall::GetState => answer("GET_STATE", get_state(&view)),
            AgentCall::GetFrameworks => answer("GET_FRAMEWORKS", get_frameworks(&view)),
            AgentCall::GetExecutors => answer("GET_EXECUTORS", get_executors(&view)),
            AgentCall::GetTasks => answer("GET_TASKS", get_tasks(&view)),
            AgentCall::GetAgent => answer("GET_AGENT", get_agent(&view)),
            AgentCall::GetOperations => answer("GET_OPERATIONS", json!({})),
            AgentCall::GetContainers => Ok(get_containers(&view)),
            AgentCall::KillContainer {
                container_id,
                signal,
            } => self.kill_container(&container_id, signal),
            AgentCall::Unsupported(kind) => Err(ApiError::NotImplemented(format!(
                "The '{kind}' call is not supported by this agent yet"
            ))),
        }
    }

    /// KILL_CONTAINER: signals the executor's container (SIGKILL unless
    /// told otherwise); its end is then handled as any executor's.
    fn kill_container(
        &mut self,
        container_id: &ContainerId,
        signal: Option<i32>,
    ) -> Result<Reply, ApiError> {
        let not_found = || ApiError::NotFound(format!("Container {container_id} cannot be found"));
        let executor = self
            .frameworks
            .values()
            .flat_map(|f| f.executors().values())
            .find(|e| e.container_id() == container_id)
            .ok_or_else(not_found)?;
        let container = executor.container().ok_or_else(not_found)?;
        let signal = signal.unwrap_or(libc::SIGKILL);
        if !(1..=64).contains(&signal) {
            return Err(ApiError::BadRequest(format!("Invalid signal {signal}")));
        }
        tracing::info!(container = %container_id, executor = %executor.info().executor_id, signal, "killing a container at an operator's request");
        container.signal(signal);
        Ok(operator_api::ok_empty())
    }
}
