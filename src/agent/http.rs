//! The agent's endpoints, JSON as Mesos writes it. Served by the agent
//! process (also at the top level through the node's delegate), so each
//! answer is a consistent view of its state.

use actors::http::{with_jsonp, Response, StatusCode};
use actors::{Cx, Install, Reply, Request};
use serde_json::{json, Value};
use wire::mesos::VERSION;
use wire::resources::Resources;

use super::process::{Agent, ExecutorRecord, FrameworkRecord};
use crate::model;

pub fn install(i: &mut Install<Agent>) {
    i.route("/health", |_, _, _| {
        Reply::Now(Response::new(StatusCode::OK, ""))
    })
    .route("/state", state)
    .route("/state.json", state)
    .route("/flags", |agent, req, _| {
        Reply::Now(with_jsonp(
            json!({"flags": agent.flags().all.all()}).to_string(),
            &req.query,
        ))
    });
}

fn executor_json(e: &ExecutorRecord, framework_id: &str) -> Value {
    let (done, live): (Vec<_>, Vec<_>) = e.tasks.values().partition(|t| t.state.is_terminal());
    json!({
        "id": e.info.executor_id.value,
        "name": e.info.name.clone().unwrap_or_default(),
        "source": "",
        "container": e.container_id.value,
        "directory": e.directory.display().to_string(),
        "framework_id": framework_id,
        "resources": model::resources(&e.info.resources.plus(&live.iter().fold(Resources::new(), |a, t| a.plus(&t.resources)))),
        "tasks": live.into_iter().map(model::task).collect::<Vec<_>>(),
        "queued_tasks": e.queued.iter().map(|t| json!({
            "id": t.task_id.value,
            "name": t.name,
            "framework_id": framework_id,
            "executor_id": e.info.executor_id.value,
            "resources": model::resources(&t.resources),
        })).collect::<Vec<_>>(),
        "completed_tasks": done.into_iter().map(model::task).collect::<Vec<_>>(),
    })
}

fn framework_json(id: &str, f: &FrameworkRecord) -> Value {
    let mut v = json!({
        "id": id,
        "name": f.info.name,
        "user": f.info.user,
        "failover_timeout": f.info.failover_timeout,
        "checkpoint": f.info.checkpoint,
        "hostname": f.info.hostname.clone().unwrap_or_default(),
        "executors": f.executors.values().map(|e| executor_json(e, id)).collect::<Vec<_>>(),
        "completed_executors": [],
    });
    if f.info.has_capability(wire::mesos::capability::MULTI_ROLE) {
        v["roles"] = json!(f.info.roles);
    } else {
        v["role"] = json!(f.info.role());
    }
    v
}

fn state(agent: &mut Agent, req: Request, cx: &mut Cx<'_, Agent>) -> Reply {
    let info = agent.info();
    let mut v = json!({
        "version": VERSION,
        "build_date": "",
        "build_time": 0.0,
        "build_user": "",
        "start_time": agent.start_time(),
        "id": info.id.as_ref().map(|i| i.value.clone()).unwrap_or_default(),
        "pid": cx.me().to_string(),
        "hostname": info.hostname,
        "capabilities": ["MULTI_ROLE", "HIERARCHICAL_ROLE", "RESERVATION_REFINEMENT"],
        "resources": model::resources(&info.resources),
        "reserved_resources": model::reserved_resources(&info.resources),
        "unreserved_resources": model::unreserved_resources(&info.resources),
        "attributes": model::attributes(&info.attributes),
        "flags": agent.flags().all.all(),
        "frameworks": agent.frameworks.iter().map(|(id, f)| framework_json(&id.value, f)).collect::<Vec<_>>(),
        "completed_frameworks": [],
    });
    if agent.is_registered() {
        v["master_hostname"] = json!(agent.master().address().ip().to_string());
    }
    Reply::Now(with_jsonp(v.to_string(), &req.query))
}
