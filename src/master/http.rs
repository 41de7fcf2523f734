//! The master's operator endpoints, JSON as Mesos writes it. Served by the
//! `master` process (also at the top level through the node's delegate),
//! so each answer is a consistent view of its state.

use actors::http::{with_jsonp, Response, StatusCode};
use actors::{Cx, Install, Reply, Request};
use serde_json::{json, Value};
use wire::mesos::VERSION;
use wire::resources::Resources;

use super::process::Master;
use super::state::{AgentRecord, FrameworkRecord};
use crate::model;

pub fn install(i: &mut Install<Master>) {
    i.route("/health", |_, _, _| {
        Reply::Now(Response::new(StatusCode::OK, ""))
    })
    .route("/state", state)
    .route("/state.json", state)
    .route("/slaves", slaves)
    .route("/frameworks", frameworks)
    .route("/tasks", tasks)
    .route("/flags", flags)
    .route("/redirect", redirect)
    .route("/version", |_, req, _| json_reply(&req, version()));
}

fn json_reply(req: &Request, v: Value) -> Reply {
    Reply::Now(with_jsonp(v.to_string(), &req.query))
}

pub fn version() -> Value {
    json!({
        "version": VERSION,
        "build_date": "",
        "build_time": 0.0,
        "build_user": "",
    })
}

fn agent_json(a: &AgentRecord) -> Value {
    json!({
        "id": a.id.value,
        "pid": a.pid,
        "hostname": a.info.hostname,
        "port": a.info.port,
        "attributes": model::attributes(&a.info.attributes),
        "registered_time": a.registered_time,
        "reregistered_time": a.reregistered_time,
        "resources": model::resources(&a.info.resources),
        "used_resources": model::resources(&a.used),
        "offered_resources": model::resources(&a.offered),
        "reserved_resources": model::reserved_resources(&a.info.resources),
        "unreserved_resources": model::unreserved_resources(&a.info.resources),
        "active": a.active,
        "deactivated": false,
        "version": a.version,
        "capabilities": ["MULTI_ROLE", "HIERARCHICAL_ROLE", "RESERVATION_REFINEMENT"],
    })
}

fn framework_json(f: &FrameworkRecord, master: &Master) -> Value {
    let used: Resources = f
        .tasks
        .values()
        .filter(|t| !t.state.is_terminal())
        .fold(Resources::new(), |acc, t| acc.plus(&t.resources));
    let offers: Vec<&wire::mesos::Offer> = f
        .offers
        .iter()
        .filter_map(|id| master.state().offers.get(id))
        .collect();
    let offered = offers
        .iter()
        .fold(Resources::new(), |acc, o| acc.plus(&o.resources));
    let mut v = json!({
        "id": f.id.value,
        "name": f.info.name,
        "user": f.info.user,
        "hostname": f.info.hostname.clone().unwrap_or_default(),
        "webui_url": f.info.webui_url.clone().unwrap_or_default(),
        "failover_timeout": f.info.failover_timeout,
        "checkpoint": f.info.checkpoint,
        "capabilities": f.info.capabilities,
        "active": f.active,
        "connected": f.connected,
        "recovered": f.pid.is_none(),
        "registered_time": f.registered_time,
        "unregistered_time": f.unregistered_time.unwrap_or(0.0),
        "used_resources": model::resources(&used),
        "offered_resources": model::resources(&offered),
        "resources": model::resources(&used.plus(&offered)),
        "tasks": f.tasks.values().filter(|t| t.state != wire::task::TaskState::Unreachable).map(model::task).collect::<Vec<_>>(),
        "unreachable_tasks": f.tasks.values().filter(|t| t.state == wire::task::TaskState::Unreachable).map(model::task).collect::<Vec<_>>(),
        "completed_tasks": f.completed_tasks.iter().map(model::task).collect::<Vec<_>>(),
        "offers": offers.iter().map(|o| json!({
            "id": o.id.value,
            "framework_id": o.framework_id.value,
            "slave_id": o.agent_id.value,
            "allocation_info": {"role": o.role},
            "resources": model::resources(&o.resources),
        })).collect::<Vec<_>>(),
        "executors": [],
        "offer_constraints": {},
    });
    if let Some(pid) = &f.pid {
        v["pid"] = json!(pid);
    }
    if let Some(p) = &f.info.principal {
        v["principal"] = json!(p);
    }
    if let Some(t) = f.reregistered_time {
        v["reregistered_time"] = json!(t);
    }
    if f.info.has_capability(wire::mesos::capability::MULTI_ROLE) {
        v["roles"] = json!(f.info.roles);
    } else {
        v["role"] = json!(f.info.role());
    }
    v
}

fn state(master: &mut Master, req: Request, _: &mut Cx<'_, Master>) -> Reply {
    let s = master.state();
    let info = master.info();
    let v = json!({
        "version": VERSION,
        "build_date": "",
        "build_time": 0.0,
        "build_user": "",
        "start_time": master.start_time(),
        "elected_time": master.start_time(),
        "id": info.id,
        "pid": info.pid,
        "hostname": info.hostname,
        "capabilities": ["AGENT_UPDATE", "AGENT_DRAINING", "QUOTA_V2"],
        "activated_slaves": s.agents.values().filter(|a| a.active).count(),
        "deactivated_slaves": s.agents.values().filter(|a| !a.active).count(),
        "unreachable_slaves": s.unreachable.len(),
        "leader": info.pid,
        "leader_info": {"id": info.id, "pid": info.pid, "port": info.port, "hostname": info.hostname},
        "flags": master.flags().all.all(),
        "slaves": s.agents.values().map(agent_json).collect::<Vec<_>>(),
        "recovered_slaves": [],
        "frameworks": s.frameworks.values().map(|f| framework_json(f, master)).collect::<Vec<_>>(),
        "completed_frameworks": s.completed_frameworks.iter().map(|f| framework_json(f, master)).collect::<Vec<_>>(),
        "orphan_tasks": [],
        "unregistered_frameworks": [],
    });
    json_reply(&req, v)
}

fn slaves(master: &mut Master, req: Request, _: &mut Cx<'_, Master>) -> Reply {
    let only = req.query("slave_id").map(str::to_owned);
    let list: Vec<Value> = master
        .state()
        .agents
        .values()
        .filter(|a| only.as_deref().is_none_or(|id| a.id.value == id))
        .map(agent_json)
        .collect();
    json_reply(&req, json!({"slaves": list, "recovered_slaves": []}))
}

fn frameworks(master: &mut Master, req: Request, _: &mut Cx<'_, Master>) -> Reply {
    let only = req.query("framework_id").map(str::to_owned);
    let keep = |f: &&FrameworkRecord| only.as_deref().is_none_or(|id| f.id.value == id);
    let s = master.state();
    let v = json!({
        "frameworks": s.frameworks.values().filter(keep).map(|f| framework_json(f, master)).collect::<Vec<_>>(),
        "completed_frameworks": s.completed_frameworks.iter().filter(keep).map(|f| framework_json(f, master)).collect::<Vec<_>>(),
        "unregistered_frameworks": [],
    });
    json_reply(&req, v)
}

fn tasks(master: &mut Master, req: Request, _: &mut Cx<'_, Master>) -> Reply {
    let parse = |key: &str, default: usize| -> Result<usize, String> {
        match req.query(key) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| {
                format!("Failed to parse query parameter '{key}': '{v}' is not a number")
            }),
        }
    };
    let (limit, offset) = match (parse("limit", 100), parse("offset", 0)) {
        (Ok(l), Ok(o)) => (l, o),
        (Err(e), _) | (_, Err(e)) => return Reply::Now(Response::text(StatusCode::BAD_REQUEST, e)),
    };
    let ascending = req.query("order") == Some("asc");
    let framework = req.query("framework_id");
    let task_id = req.query("task_id");
    let mut all: Vec<&wire::mesos::Task> = master
        .state()
        .frameworks
        .values()
        .filter(|f| framework.is_none_or(|id| f.id.value == id))
        .flat_map(|f| f.tasks.values().chain(f.completed_tasks.iter()))
        .filter(|t| task_id.is_none_or(|id| t.task_id.value == id))
        .collect();
    let time = |t: &wire::mesos::Task| t.statuses.last().map(|s| s.timestamp).unwrap_or(0.0);
    all.sort_by(|a, b| time(a).total_cmp(&time(b)));
    if !ascending {
        all.reverse();
    }
    let page: Vec<Value> = all
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(model::task)
        .collect();
    json_reply(&req, json!({ "tasks": page }))
}

fn flags(master: &mut Master, req: Request, _: &mut Cx<'_, Master>) -> Reply {
    json_reply(&req, json!({ "flags": master.flags().all.all() }))
}

fn redirect(master: &mut Master, _: Request, _: &mut Cx<'_, Master>) -> Reply {
    let info = master.info();
    let location = format!("//{}:{}", info.hostname, info.port);
    Reply::Now(Response::new(StatusCode::TEMPORARY_REDIRECT, "").with_header("Location", &location))
}
