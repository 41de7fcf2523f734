//! The agent's endpoints, JSON as Mesos writes it: `/health`, `/state`
//! (`/state.json`), `/monitor/statistics` (`.json`), `/flags` and
//! `/version`, one function each. They read an [`AgentView`], never the
//! agent itself; the agent process routes them (also at the top level
//! through the node's delegate), so each answer is a consistent view of
//! its state.

use actors::http::{with_jsonp, Response, StatusCode};
use actors::{Pid, Reply};
use serde_json::{json, Value};
use wire::mesos::VERSION;
use wire::resources::Resources;

use super::state::{AgentView, CompletedExecutor, ExecutorRecord, HostedFramework};
use crate::model;

/// The query parameters of a request (`jsonp` is honoured).
type Query = [(String, String)];

/// `/health`.
pub fn health() -> Reply {
    Reply::Now(Response::new(StatusCode::OK, ""))
}

/// `/version` (Mesos serves it on every daemon).
pub fn version(query: &Query) -> Reply {
    Reply::Now(with_jsonp(model::version().to_string(), query))
}

/// `/flags`.
pub fn flags(agent: &AgentView<'_>, query: &Query) -> Reply {
    Reply::Now(with_jsonp(
        json!({"flags": agent.flags.all.all()}).to_string(),
        query,
    ))
}

/// `/monitor/statistics`: for each running executor, what its container
/// uses (from `/proc`, off the agent's thread) against what it was given.
pub fn statistics(agent: &AgentView<'_>, query: Vec<(String, String)>) -> Reply {
    super::containers_http::with_usage(agent, move |entries, usage, now| {
        let result: Vec<Value> = entries
            .iter()
            .filter_map(|e| {
                let u = usage.get(&e.container_id)?;
                Some(json!({
                    "framework_id": e.framework_id,
                    "executor_id": e.executor_id,
                    "executor_name": e.executor_name,
                    "source": "",
                    "statistics": {
                        "timestamp": now,
                        "processes": u.processes,
                        "threads": u.threads,
                        "cpus_user_time_secs": u.cpus_user_time_secs,
                        "cpus_system_time_secs": u.cpus_system_time_secs,
                        "cpus_limit": e.cpus,
                        "mem_rss_bytes": u.mem_rss_bytes,
                        "mem_limit_bytes": (e.mem_mb * 1024.0 * 1024.0) as u64,
                    },
                }))
            })
            .collect();
        with_jsonp(Value::Array(result).to_string(), &query)
    })
}

fn executor_json(e: &ExecutorRecord, framework_id: &str) -> Value {
    let (done, live): (Vec<_>, Vec<_>) = e.tasks().values().partition(|t| t.state.is_terminal());
    json!({
        "id": e.info().executor_id.value,
        "name": e.info().name.clone().unwrap_or_default(),
        "source": "",
        "container": e.container_id().value,
        "directory": e.directory().display().to_string(),
        "framework_id": framework_id,
        "resources": model::resources(&e.info().resources.plus(&live.iter().fold(Resources::new(), |a, t| a.plus(&t.resources)))),
        "tasks": live.into_iter().map(model::task).collect::<Vec<_>>(),
        "queued_tasks": e.queued().iter().map(|t| json!({
            "id": t.task_id.value,
            "name": t.name,
            "framework_id": framework_id,
            "executor_id": e.info().executor_id.value,
            "resources": model::resources(&t.resources),
        })).collect::<Vec<_>>(),
        "completed_tasks": done.into_iter().map(model::task).collect::<Vec<_>>(),
    })
}

/// An executor run that ended, as Mesos lists it among a framework's
/// `completed_executors`: no live or queued task, its tasks completed.
fn completed_executor_json(e: &CompletedExecutor, framework_id: &str) -> Value {
    json!({
        "id": e.info.executor_id.value,
        "name": e.info.name.clone().unwrap_or_default(),
        "source": "",
        "container": e.container_id.value,
        "directory": e.directory.display().to_string(),
        "framework_id": framework_id,
        "resources": model::resources(&e.info.resources),
        "tasks": [],
        "queued_tasks": [],
        "completed_tasks": e.tasks.iter().map(model::task).collect::<Vec<_>>(),
    })
}

fn framework_json(id: &str, f: &HostedFramework) -> Value {
    let info = f.info();
    let mut v = json!({
        "id": id,
        "name": info.name,
        "user": info.user,
        "failover_timeout": info.failover_timeout,
        "checkpoint": info.checkpoint,
        "hostname": info.hostname.clone().unwrap_or_default(),
        "executors": f.executors().values().map(|e| executor_json(e, id)).collect::<Vec<_>>(),
        "completed_executors": f.completed_executors().iter().map(|e| completed_executor_json(e, id)).collect::<Vec<_>>(),
    });
    if info.has_capability(wire::mesos::capability::MULTI_ROLE) {
        v["roles"] = json!(info.roles);
    } else {
        v["role"] = json!(info.role());
    }
    v
}

/// `/state`: the agent, its frameworks, executors and tasks; `me` is the
/// agent's pid.
pub fn state(agent: &AgentView<'_>, me: &Pid, query: &Query) -> Reply {
    let info = agent.info;
    let mut v = json!({
        "version": VERSION,
        "build_date": "",
        "build_time": 0.0,
        "build_user": "",
        "start_time": agent.start_time,
        "id": info.id.as_ref().map(|i| i.value.clone()).unwrap_or_default(),
        "pid": me.to_string(),
        "hostname": info.hostname,
        "capabilities": ["MULTI_ROLE", "HIERARCHICAL_ROLE", "RESERVATION_REFINEMENT"],
        "resources": model::resources(&info.resources),
        "reserved_resources": model::reserved_resources(&info.resources),
        "unreserved_resources": model::unreserved_resources(&info.resources),
        "attributes": model::attributes(&info.attributes),
        "flags": agent.flags.all.all(),
        "frameworks": agent.frameworks.iter().map(|(id, f)| framework_json(&id.value, f)).collect::<Vec<_>>(),
        "completed_frameworks": agent.completed_frameworks.iter().map(|(id, f)| framework_json(&id.value, f)).collect::<Vec<_>>(),
    });
    if let Some(master) = agent.master {
        v["master_hostname"] = json!(master.address().ip().to_string());
    }
    Reply::Now(with_jsonp(v.to_string(), query))
}
