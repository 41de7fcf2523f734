//! The master's operator endpoints, JSON as Mesos writes it. Served by the
//! `master` process (also at the top level through the node's delegate),
//! so each answer is a consistent view of its state: every function here
//! reads a [`MasterView`]; the one that changes something
//! ([`teardown`]) returns what to do for the process to do it.

use actors::http::{with_jsonp, Response, StatusCode};
use actors::{Reply, Request};
use std::collections::BTreeSet;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::{json, Value};
use wire::ids::FrameworkId;
use wire::mesos::VERSION;
use wire::resources::Resources;
use wire::task::TaskState;

use super::rendered::{StateTaskJson, TaskRecord};
use super::state::{AgentRecord, FrameworkRecord};
use super::view::MasterView;
use crate::model::{self, Seq};

/// For endpoints only the leading master serves: a non-leader answers 307
/// to the leader (same path and query), or 503 when no leader is known.
pub fn leader_only(master: &MasterView<'_>, req: &Request) -> Option<Reply> {
    if master.elected {
        return None;
    }
    Some(Reply::Now(match master.leader {
        Some(leader) => {
            let query = if req.query.is_empty() {
                String::new()
            } else {
                let pairs: Vec<String> =
                    req.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
                format!("?{}", pairs.join("&"))
            };
            let location = format!("//{}:{}{}{query}", leader.hostname, leader.port, req.path);
            Response::new(StatusCode::TEMPORARY_REDIRECT, "").with_header("Location", &location)
        }
        None => Response::text(StatusCode::SERVICE_UNAVAILABLE, "No leader elected"),
    }))
}

pub fn json_reply(req: &Request, v: Value) -> Reply {
    Reply::Now(with_jsonp(v.to_string(), &req.query))
}

pub fn version() -> Value {
    model::version()
}

/// An agent as `/master/slaves` and `/master/state` write it.
struct AgentJson<'a>(&'a AgentRecord);

impl Serialize for AgentJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let a = self.0;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("id", &a.id.value)?;
        map.serialize_entry("pid", a.pid())?;
        map.serialize_entry("hostname", &a.info.hostname)?;
        map.serialize_entry("port", &a.info.port)?;
        map.serialize_entry("attributes", &model::AttributesJson(&a.info.attributes))?;
        map.serialize_entry("registered_time", &a.registered_time)?;
        if let Some(t) = a.reregistered_time {
            map.serialize_entry("reregistered_time", &t)?;
        }
        map.serialize_entry("resources", &model::ResourcesJson(&a.info.resources))?;
        map.serialize_entry("used_resources", &model::ResourcesJson(a.used()))?;
        map.serialize_entry("offered_resources", &model::ResourcesJson(a.offered()))?;
        map.serialize_entry(
            "reserved_resources",
            &model::ReservedJson(&a.info.resources),
        )?;
        map.serialize_entry(
            "reserved_resources_full",
            &model::ReservedFullJson(&a.info.resources),
        )?;
        map.serialize_entry(
            "unreserved_resources",
            &model::UnreservedJson(&a.info.resources),
        )?;
        map.serialize_entry(
            "unreserved_resources_full",
            &model::UnreservedFullJson(&a.info.resources),
        )?;
        map.serialize_entry("active", &a.active)?;
        map.serialize_entry("deactivated", &a.deactivated)?;
        if let Some(d) = &a.drain {
            map.serialize_entry("drain_info", &d.to_json())?;
        }
        map.serialize_entry("version", &a.version)?;
        map.serialize_entry("capabilities", &AGENT_CAPABILITIES)?;
        map.end()
    }
}

const AGENT_CAPABILITIES: [&str; 3] = ["MULTI_ROLE", "HIERARCHICAL_ROLE", "RESERVATION_REFINEMENT"];

/// An outstanding offer inside a framework object.
struct OfferJson<'a>(&'a wire::mesos::Offer);

impl Serialize for OfferJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let o = self.0;
        let mut map = s.serialize_map(Some(5))?;
        map.serialize_entry("id", &o.id.value)?;
        map.serialize_entry("framework_id", &o.framework_id.value)?;
        map.serialize_entry("slave_id", &o.agent_id.value)?;
        map.serialize_entry("allocation_info", &json!({"role": o.role}))?;
        map.serialize_entry("resources", &model::ResourcesJson(&o.resources))?;
        map.end()
    }
}

/// A framework as `/master/frameworks` and `/master/state` write it.
struct FrameworkJson<'a> {
    f: &'a FrameworkRecord,
    master: &'a MasterView<'a>,
}

impl Serialize for FrameworkJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let f = self.f;
        let used = f.used();
        let offers: Vec<&wire::mesos::Offer> = f
            .offers()
            .iter()
            .filter_map(|id| self.master.state.offer(id))
            .collect();
        let offered = Resources::sum(offers.iter().map(|o| &o.resources));
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("id", &f.id.value)?;
        map.serialize_entry("name", &f.info.name)?;
        if let Some(pid) = &f.pid {
            map.serialize_entry("pid", pid)?;
        }
        map.serialize_entry("user", &f.info.user)?;
        map.serialize_entry("hostname", f.info.hostname.as_deref().unwrap_or(""))?;
        map.serialize_entry("webui_url", f.info.webui_url.as_deref().unwrap_or(""))?;
        map.serialize_entry("failover_timeout", &f.info.failover_timeout)?;
        map.serialize_entry("checkpoint", &f.info.checkpoint)?;
        map.serialize_entry("capabilities", &f.info.capabilities)?;
        if let Some(p) = &f.info.principal {
            map.serialize_entry("principal", p)?;
        }
        if f.info.has_capability(wire::mesos::capability::MULTI_ROLE) {
            map.serialize_entry("roles", &f.info.roles)?;
        } else {
            map.serialize_entry("role", f.info.role())?;
        }
        map.serialize_entry("active", &f.active)?;
        map.serialize_entry("connected", &f.connected)?;
        map.serialize_entry("recovered", &f.pid.is_none())?;
        map.serialize_entry("registered_time", &f.registered_time)?;
        if let Some(t) = f.reregistered_time {
            map.serialize_entry("reregistered_time", &t)?;
        }
        map.serialize_entry("unregistered_time", &f.unregistered_time.unwrap_or(0.0))?;
        map.serialize_entry("used_resources", &model::ResourcesJson(used))?;
        map.serialize_entry("offered_resources", &model::ResourcesJson(&offered))?;
        map.serialize_entry("resources", &model::ResourcesJson(&used.plus(&offered)))?;
        // Each task from its kept fragment (`rendered.rs`).
        map.serialize_entry("tasks", &Seq(f.tasks().values().map(StateTaskJson)))?;
        map.serialize_entry(
            "unreachable_tasks",
            &Seq(f.unreachable_tasks().iter().map(StateTaskJson)),
        )?;
        map.serialize_entry(
            "completed_tasks",
            &Seq(f.completed_tasks().iter().map(StateTaskJson)),
        )?;
        map.serialize_entry("offers", &Seq(offers.iter().map(|o| OfferJson(o))))?;
        map.serialize_entry("executors", &[(); 0])?;
        map.serialize_entry("offer_constraints", &json!({}))?;
        map.end()
    }
}

fn framework_json<'a>(f: &'a FrameworkRecord, master: &'a MasterView<'a>) -> FrameworkJson<'a> {
    FrameworkJson { f, master }
}

/// What `/master/teardown` asks for.
pub enum Teardown {
    /// Remove this framework as if it had torn itself down (its tasks are
    /// killed); the answer is 200.
    Remove(FrameworkId),
    /// The request is refused with this answer.
    Refuse(Reply),
}

/// `POST /master/teardown` with `frameworkId=<id>` (form-encoded).
pub fn teardown(master: &MasterView<'_>, req: &Request) -> Teardown {
    match teardown_request(master, req) {
        Ok(id) => Teardown::Remove(id),
        Err(reply) => Teardown::Refuse(*reply),
    }
}

fn teardown_request(master: &MasterView<'_>, req: &Request) -> Result<FrameworkId, Box<Reply>> {
    if req.method != actors::http::Method::POST {
        return Err(Box::new(Reply::Now(Response::text(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("Expecting a 'POST' request, received '{}'", req.method),
        ))));
    }
    if let Some(redirect) = leader_only(master, req) {
        return Err(Box::new(redirect));
    }
    if !master.recovered {
        return Err(Box::new(Reply::Now(Response::text(
            StatusCode::SERVICE_UNAVAILABLE,
            "Master has not finished recovery",
        ))));
    }
    let body = String::from_utf8_lossy(&req.body);
    let form = actors::http::parse_query(body.trim());
    let Some((_, id)) = form.iter().find(|(k, _)| k == "frameworkId") else {
        return Err(Box::new(Reply::Now(Response::text(
            StatusCode::BAD_REQUEST,
            "Missing 'frameworkId' query parameter in the request body",
        ))));
    };
    let id = FrameworkId::new(id.clone());
    if master.state.framework(&id).is_none() {
        return Err(Box::new(Reply::Now(Response::text(
            StatusCode::BAD_REQUEST,
            "No framework found with specified ID",
        ))));
    }
    Ok(id)
}

pub fn state(master: &MasterView<'_>, req: &Request) -> Reply {
    if let Some(redirect) = leader_only(master, req) {
        return redirect;
    }
    Reply::Now(with_jsonp(state_json(master), &req.query))
}

/// `/master/state` as Mesos writes it.
pub fn state_json(master: &MasterView<'_>) -> String {
    // Threads pay off on large documents only.
    let tasks: usize = master
        .state
        .frameworks()
        .values()
        .map(|f| f.tasks().len())
        .sum();
    let threads = if tasks < PARALLEL_FROM_TASKS {
        1
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    };
    state_json_on(master, threads)
}

/// From how many tasks `/master/state` is rendered on several threads.
const PARALLEL_FROM_TASKS: usize = 10_000;

/// Which entries of `/master/state` a [`StateDoc`] writes: all of them,
/// or those before or after `frameworks` (which is then written apart).
#[derive(Clone, Copy, PartialEq)]
enum Part {
    Whole,
    Head,
    Tail,
}

/// `/master/state`, with the `frameworks` array (nearly all of a large
/// document: the tasks) rendered on up to `threads` threads, each writing
/// a run of frameworks, and the pieces joined. The state is only read, so
/// the threads share it; the bytes are those of a serial rendering.
fn state_json_on(master: &MasterView<'_>, threads: usize) -> String {
    let frameworks: Vec<&FrameworkRecord> = master.state.frameworks().values().collect();
    let threads = threads.clamp(1, frameworks.len().max(1));
    if threads == 1 {
        let tasks: usize = frameworks.iter().map(|f| f.tasks().len()).sum();
        let mut out = Vec::with_capacity(4096 + tasks * TASK_BYTES);
        // Writing into a Vec cannot fail; serde_json writes UTF-8.
        let _ = serde_json::to_writer(&mut out, &StateDoc(master, Part::Whole));
        return String::from_utf8(out).unwrap_or_default();
    }
    // Runs of about equal task counts, in the frameworks' order.
    let weight = |f: &FrameworkRecord| 1 + f.tasks().len();
    let total: usize = frameworks.iter().map(|f| weight(f)).sum();
    let mut runs: Vec<&[&FrameworkRecord]> = Vec::with_capacity(threads);
    let (mut start, mut sum) = (0, 0);
    for (i, f) in frameworks.iter().enumerate() {
        sum += weight(f);
        if sum * threads >= total * (runs.len() + 1) && runs.len() + 1 < threads {
            runs.push(&frameworks[start..=i]);
            start = i + 1;
        }
    }
    runs.push(&frameworks[start..]);
    // The first run's piece starts with the head, the others are appended
    // to it: the document is copied once at most. Each buffer is sized
    // for its tasks up front (about 370 bytes a task here), so it seldom
    // grows by copying.
    let head = serde_json::to_vec(&StateDoc(master, Part::Head)).unwrap_or_default();
    let tail = serde_json::to_vec(&StateDoc(master, Part::Tail)).unwrap_or_default();
    let size_of = |run: &[&FrameworkRecord]| {
        run.iter()
            .map(|f| 1024 + f.tasks().len() * TASK_BYTES)
            .sum::<usize>()
    };
    let mut pieces: Vec<Vec<u8>> = std::thread::scope(|scope| {
        let handles: Vec<_> = runs
            .iter()
            .enumerate()
            .map(|(n, run)| {
                let head = &head;
                scope.spawn(move || {
                    let mut out;
                    if n == 0 {
                        out = Vec::with_capacity(head.len() + 16 + size_of(run));
                        out.extend_from_slice(head.strip_suffix(b"}").unwrap_or(head));
                        out.extend_from_slice(b",\"frameworks\":[");
                    } else {
                        out = Vec::with_capacity(size_of(run));
                    }
                    let first = out.len();
                    for f in run.iter() {
                        if out.len() > first {
                            out.push(b',');
                        }
                        // Writing into a Vec cannot fail.
                        let _ = serde_json::to_writer(&mut out, &framework_json(f, master));
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let rest: usize = pieces.iter().skip(1).map(|p| p.len() + 1).sum();
    let mut out = std::mem::take(&mut pieces[0]);
    out.reserve(rest + tail.len() + 2);
    for piece in pieces.iter().skip(1).filter(|p| !p.is_empty()) {
        if !out.ends_with(b"[") {
            out.push(b',');
        }
        out.extend_from_slice(piece);
    }
    out.extend_from_slice(b"],");
    out.extend_from_slice(tail.strip_prefix(b"{").unwrap_or(&tail));
    // Only serde_json's output and ASCII punctuation went in.
    String::from_utf8(out).unwrap_or_default()
}

/// About how many bytes a task takes in `/master/state`, to size buffers.
const TASK_BYTES: usize = 400;

/// `/master/state`'s object, or part of it.
struct StateDoc<'a>(&'a MasterView<'a>, Part);

impl Serialize for StateDoc<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let master = self.0;
        let part = self.1;
        let s = master.state;
        let info = master.info;
        let mut map = ser.serialize_map(None)?;
        if part == Part::Tail {
            map.serialize_entry(
                "completed_frameworks",
                &Seq(s
                    .completed_frameworks()
                    .iter()
                    .map(|f| framework_json(f, master))),
            )?;
            map.serialize_entry("orphan_tasks", &[(); 0])?;
            map.serialize_entry("unregistered_frameworks", &[(); 0])?;
            return map.end();
        }
        map.serialize_entry("version", VERSION)?;
        map.serialize_entry("build_date", "")?;
        map.serialize_entry("build_time", &0.0)?;
        map.serialize_entry("build_user", "")?;
        map.serialize_entry("start_time", &master.start_time)?;
        map.serialize_entry("elected_time", &master.start_time)?;
        map.serialize_entry("id", &info.id)?;
        map.serialize_entry("pid", &info.pid)?;
        map.serialize_entry("hostname", &info.hostname)?;
        map.serialize_entry(
            "capabilities",
            &["AGENT_UPDATE", "AGENT_DRAINING", "QUOTA_V2"],
        )?;
        map.serialize_entry(
            "activated_slaves",
            &s.agents().values().filter(|a| a.active).count(),
        )?;
        map.serialize_entry(
            "deactivated_slaves",
            &s.agents().values().filter(|a| !a.active).count(),
        )?;
        map.serialize_entry("unreachable_slaves", &s.unreachable().len())?;
        map.serialize_entry("leader", &info.pid)?;
        map.serialize_entry(
            "leader_info",
            &json!({"id": info.id, "pid": info.pid, "port": info.port, "hostname": info.hostname}),
        )?;
        if let Some(cluster) = &master.flags.cluster {
            map.serialize_entry("cluster", cluster)?;
        }
        if let Some(dir) = &master.flags.log_dir {
            map.serialize_entry("log_dir", dir)?;
        }
        map.serialize_entry("flags", master.flags.all.all())?;
        map.serialize_entry("slaves", &Seq(s.agents().values().map(AgentJson)))?;
        map.serialize_entry("recovered_slaves", &[(); 0])?;
        if part == Part::Head {
            return map.end();
        }
        map.serialize_entry(
            "frameworks",
            &Seq(s.frameworks().values().map(|f| framework_json(f, master))),
        )?;
        map.serialize_entry(
            "completed_frameworks",
            &Seq(s
                .completed_frameworks()
                .iter()
                .map(|f| framework_json(f, master))),
        )?;
        map.serialize_entry("orphan_tasks", &[(); 0])?;
        map.serialize_entry("unregistered_frameworks", &[(); 0])?;
        map.end()
    }
}

pub fn slaves(master: &MasterView<'_>, req: &Request) -> Reply {
    if let Some(redirect) = leader_only(master, req) {
        return redirect;
    }
    Reply::Now(with_jsonp(
        slaves_json(master, req.query("slave_id")),
        &req.query,
    ))
}

/// `/master/slaves` as Mesos writes it, optionally for one agent.
pub fn slaves_json(master: &MasterView<'_>, only: Option<&str>) -> String {
    let agents = master
        .state
        .agents()
        .values()
        .filter(|a| only.is_none_or(|id| a.id.value == id))
        .map(AgentJson);
    struct Slaves<I>(Seq<I>, Vec<Value>);
    impl<I> Serialize for Slaves<I>
    where
        I: Iterator + Clone,
        I::Item: Serialize,
    {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut map = s.serialize_map(Some(2))?;
            map.serialize_entry("slaves", &self.0)?;
            map.serialize_entry("recovered_slaves", &self.1)?;
            map.end()
        }
    }
    serde_json::to_string(&Slaves(Seq(agents), recovered_slaves(master))).unwrap_or_default()
}

pub fn frameworks(master: &MasterView<'_>, req: &Request) -> Reply {
    if let Some(redirect) = leader_only(master, req) {
        return redirect;
    }
    let only = req.query("framework_id").map(str::to_owned);
    let keep = |f: &&FrameworkRecord| only.as_deref().is_none_or(|id| f.id.value == id);
    let s = master.state;
    let v = json!({
        "frameworks": s.frameworks().values().filter(keep).map(|f| framework_json(f, master)).collect::<Vec<_>>(),
        "completed_frameworks": s.completed_frameworks().iter().filter(keep).map(|f| framework_json(f, master)).collect::<Vec<_>>(),
        "unregistered_frameworks": [],
    });
    json_reply(req, v)
}

pub fn tasks(master: &MasterView<'_>, req: &Request) -> Reply {
    if let Some(redirect) = leader_only(master, req) {
        return redirect;
    }
    let (limit, offset) = match (
        page_parameter(req, "limit", 100, true),
        page_parameter(req, "offset", 0, false),
    ) {
        (Ok(l), Ok(o)) => (l, o),
        (Err(e), _) | (_, Err(e)) => return Reply::Now(Response::text(StatusCode::BAD_REQUEST, e)),
    };
    let ascending = req.query("order") == Some("asc");
    let framework = req.query("framework_id");
    let task_id = req.query("task_id");
    // Active and completed frameworks alike, as Mesos lists them.
    let mut all: Vec<&TaskRecord> = master
        .state
        .frameworks()
        .values()
        .chain(master.state.completed_frameworks().iter())
        .filter(|f| framework.is_none_or(|id| f.id.value == id))
        .flat_map(|f| {
            f.tasks()
                .values()
                .chain(f.unreachable_tasks().iter())
                .chain(f.completed_tasks().iter())
        })
        .filter(|t| task_id.is_none_or(|id| t.task_id.value == id))
        .collect();
    // By the first status's time, as Mesos sorts; tasks without a status
    // come first in ascending order.
    let time = |t: &TaskRecord| {
        t.statuses
            .first()
            .map_or(f64::NEG_INFINITY, |s| s.timestamp)
    };
    all.sort_by(|a, b| time(a).total_cmp(&time(b)));
    if !ascending {
        all.reverse();
    }
    let page = all
        .iter()
        .skip(offset)
        .take(limit)
        .map(|t| StateTaskJson(t));
    struct Tasks<I>(Seq<I>);
    impl<I> Serialize for Tasks<I>
    where
        I: Iterator + Clone,
        I::Item: Serialize,
    {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut map = s.serialize_map(Some(1))?;
            map.serialize_entry("tasks", &self.0)?;
            map.end()
        }
    }
    let body = serde_json::to_string(&Tasks(Seq(page))).unwrap_or_default();
    Reply::Now(with_jsonp(body, &req.query))
}

/// A paging parameter (`limit`, `offset`) of `req`: a count, `default`
/// when absent, and with `unlimited` also -1 for no limit (Mesos reads
/// these as signed numbers into unsigned counts, so -1 lists everything).
fn page_parameter(
    req: &Request,
    key: &str,
    default: usize,
    unlimited: bool,
) -> Result<usize, String> {
    let Some(v) = req.query(key) else {
        return Ok(default);
    };
    match v.trim().parse::<i64>() {
        Ok(-1) if unlimited => Ok(usize::MAX),
        Ok(n) if n >= 0 => Ok(usize::try_from(n).unwrap_or(usize::MAX)),
        Ok(_) if unlimited => Err(format!(
            "Invalid query parameter '{key}': '{v}' is negative (-1 means no limit)"
        )),
        Ok(_) => Err(format!(
            "Invalid query parameter '{key}': '{v}' is negative"
        )),
        Err(_) => Err(format!(
            "Failed to parse query parameter '{key}': '{v}' is not a number"
        )),
    }
}

pub fn flags(master: &MasterView<'_>, req: &Request) -> Reply {
    json_reply(req, json!({ "flags": master.flags.all.all() }))
}

pub fn redirect(master: &MasterView<'_>) -> Reply {
    let Some(info) = master.leader else {
        return Reply::Now(Response::text(
            StatusCode::SERVICE_UNAVAILABLE,
            "No leader elected",
        ));
    };
    let location = format!("//{}:{}", info.hostname, info.port);
    Reply::Now(Response::new(StatusCode::TEMPORARY_REDIRECT, "").with_header("Location", &location))
}

/// Counts of a set of tasks by state, as `"TASK_RUNNING": n` entries.
fn task_counts<'a>(tasks: impl Iterator<Item = &'a TaskRecord>) -> serde_json::Map<String, Value> {
    let mut counts: serde_json::Map<String, Value> = [
        TaskState::Staging,
        TaskState::Starting,
        TaskState::Running,
        TaskState::Killing,
        TaskState::Finished,
        TaskState::Killed,
        TaskState::Failed,
        TaskState::Lost,
        TaskState::Error,
        TaskState::Unreachable,
    ]
    .iter()
    .map(|s| (s.name().to_owned(), json!(0)))
    .collect();
    for t in tasks {
        let n = counts
            .get(t.state.name())
            .and_then(Value::as_u64)
            .unwrap_or(0);
        counts.insert(t.state.name().to_owned(), json!(n + 1));
    }
    counts
}

pub fn state_summary(master: &MasterView<'_>, req: &Request) -> Reply {
    if let Some(redirect) = leader_only(master, req) {
        return redirect;
    }
    let s = master.state;
    let all_tasks = || {
        s.frameworks()
            .values()
            .flat_map(|f| f.tasks().values().chain(f.completed_tasks().iter()))
    };
    let slaves: Vec<Value> = s
        .agents()
        .values()
        .map(|a| {
            let mut v = model::to_value(AgentJson(a));
            let tasks = all_tasks().filter(|t| t.agent_id == a.id);
            if let Value::Object(map) = &mut v {
                map.extend(task_counts(tasks));
                let ids: BTreeSet<&str> = all_tasks()
                    .filter(|t| t.agent_id == a.id)
                    .map(|t| t.framework_id.value.as_str())
                    .collect();
                map.insert("framework_ids".into(), json!(ids));
            }
            v
        })
        .collect();
    let frameworks: Vec<Value> = s
        .frameworks()
        .values()
        .map(|f| {
            let mut v = json!({
                "id": f.id.value,
                "name": f.info.name,
                "pid": f.pid.clone().unwrap_or_default(),
                "hostname": f.info.hostname.clone().unwrap_or_default(),
                "webui_url": f.info.webui_url.clone().unwrap_or_default(),
                "capabilities": f.info.capabilities,
                "active": f.active,
                "connected": f.connected,
            });
            if let Value::Object(map) = &mut v {
                map.extend(task_counts(
                    f.tasks()
                        .values()
                        .chain(f.unreachable_tasks().iter())
                        .chain(f.completed_tasks().iter()),
                ));
                let ids: BTreeSet<&str> = f
                    .tasks()
                    .values()
                    .map(|t| t.agent_id.value.as_str())
                    .collect();
                map.insert("slave_ids".into(), json!(ids));
            }
            v
        })
        .collect();
    let mut v = json!({
        "hostname": master.info.hostname,
        "slaves": slaves,
        "frameworks": frameworks,
    });
    if let Some(cluster) = &master.flags.cluster {
        v["cluster"] = json!(cluster);
    }
    json_reply(req, v)
}

pub fn roles(master: &MasterView<'_>, req: &Request) -> Reply {
    if let Some(redirect) = leader_only(master, req) {
        return redirect;
    }
    let s = master.state;
    let mut by_role: std::collections::BTreeMap<String, (Vec<&str>, Resources)> =
        Default::default();
    by_role.entry("*".into()).or_default();
    for role in master.flags.weights.keys().chain(s.quotas().keys()) {
        by_role.entry(role.clone()).or_default();
    }
    for f in s.frameworks().values() {
        for role in &f.info.roles {
            let e = by_role.entry(role.clone()).or_default();
            e.0.push(f.id.value.as_str());
        }
        for t in f.tasks().values().filter(|t| !t.state.is_terminal()) {
            let e = by_role.entry(t.role.clone()).or_default();
            for r in t.resources.iter() {
                let _ = e.1.add(r.clone());
            }
        }
    }
    let roles: Vec<Value> = by_role
        .iter()
        .map(|(name, (frameworks, resources))| {
            json!({
                "name": name,
                "weight": master.flags.weights.get(name).copied().unwrap_or(1.0),
                "frameworks": frameworks,
                "resources": model::resources(resources),
                "allocated": model::resources(resources),
                "quota": crate::master::quota::role_quota_json(
                    name,
                    s.quotas().get(name),
                    model::resources(resources),
                ),
            })
        })
        .collect();
    json_reply(req, json!({ "roles": roles }))
}

/// Agents from the registry that have not re-registered since this master
/// recovered: `id, hostname, port, attributes` as Mesos lists them.
fn recovered_slaves(master: &MasterView<'_>) -> Vec<Value> {
    master
        .state
        .recovered()
        .values()
        .map(|a| {
            json!({
                "id": a.id.as_ref().map(|i| i.value.clone()).unwrap_or_default(),
                "hostname": a.hostname,
                "port": a.port,
                "attributes": model::attributes(&a.attributes),
            })
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::master::flags::MasterFlags;
    use crate::master::state::State;
    use actors::Request;
    use wire::ids::TaskId;
    use wire::mesos::{parse_attributes, AgentInfo, FrameworkInfo, MasterInfo, Task, TaskStatus};

    /// A state of `frameworks` frameworks over 3 agents, with tasks spread
    /// unevenly (the first framework has none).
    pub(crate) fn state(frameworks: usize) -> State {
        let mut state = State::new("test");
        let resources = Resources::parse("cpus:0.5;mem:128;ports:[31000-31002]", "*").unwrap();
        let mut agents = Vec::new();
        for a in 0..3 {
            let id = state.new_agent_id();
            let info = AgentInfo {
                hostname: format!("agent-{a}"),
                port: 5051,
                resources: Resources::parse("cpus:8;mem:8192;ports:[31000-32000]", "*").unwrap(),
                attributes: parse_attributes("rack:r1").unwrap(),
                id: Some(id.clone()),
            };
            state.add_agent(AgentRecord::new(
                id.clone(),
                info,
                format!("slave(1)@10.0.0.{a}:5051"),
                VERSION.into(),
                1.0,
            ));
            agents.push(id);
        }
        for i in 0..frameworks {
            let id = state.new_framework_id();
            let info = FrameworkInfo::new("root", &format!("framework-{i}"));
            state.add_framework(FrameworkRecord::new(id.clone(), info, None, 1.0));
            for n in 0..i * 3 {
                let task_id = TaskId::new(format!("task-{i}-{n}"));
                let agent_id = agents[n % agents.len()].clone();
                let mut status = TaskStatus::new(task_id.clone(), TaskState::Running);
                status.agent_id = Some(agent_id.clone());
                state.add_task(Task {
                    name: format!("task-{n}"),
                    task_id,
                    framework_id: id.clone(),
                    executor_id: None,
                    agent_id,
                    state: TaskState::Running,
                    resources: resources.clone(),
                    statuses: vec![status],
                    status_update_state: Some(TaskState::Running),
                    status_update_uuid: None,
                    role: "*".into(),
                    meta: Default::default(),
                });
            }
        }
        state
    }

    /// Every document that writes tasks from their kept fragments, as
    /// rendered from `state` now.
    fn documents(state: &State) -> Vec<String> {
        let info = master_info();
        let flags = MasterFlags::defaults();
        let view = view(state, &info, &flags);
        let query = |q: &[(&str, &str)]| Request {
            method: actors::http::Method::GET,
            path: "/master/x".into(),
            route: "/x".into(),
            query: q
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            headers: Default::default(),
            body: Default::default(),
            remote: std::net::SocketAddr::from(([127, 0, 0, 1], 1)),
        };
        let body = |reply: Reply| match reply {
            Reply::Now(actors::http::Response {
                body: actors::http::Body::Full(b),
                ..
            }) => String::from_utf8_lossy(&b).into_owned(),
            _ => String::new(),
        };
        vec![
            state_json_on(&view, 1),
            state_json_on(&view, 3),
            body(tasks(&view, &query(&[("limit", "-1")]))),
            body(frameworks(&view, &query(&[]))),
            crate::master::operator::json::get_state_body(state),
        ]
    }

    fn master_info() -> MasterInfo {
        MasterInfo {
            id: "m".into(),
            ip: "127.0.0.1".into(),
            port: 5050,
            pid: "master@127.0.0.1:5050".into(),
            hostname: "localhost".into(),
            version: VERSION.into(),
        }
    }

    fn view<'a>(state: &'a State, info: &'a MasterInfo, flags: &'a MasterFlags) -> MasterView<'a> {
        MasterView {
            state,
            info,
            flags,
            start_time: 0.0,
            leader: Some(info),
            elected: true,
            recovered: true,
        }
    }

    /// One change to `state` through its methods, drawn by `rng`: any of
    /// the ways a task's record changes or moves.
    fn change(state: &mut State, rng: &mut crate::random::Rng, step: usize) {
        let frameworks: Vec<FrameworkId> = state.frameworks().keys().cloned().collect();
        let Some(framework) = frameworks
            .get(rng.range(0, frameworks.len() as u64) as usize)
            .cloned()
        else {
            return;
        };
        let tasks: Vec<TaskId> = state
            .framework(&framework)
            .map(|f| f.tasks().keys().cloned().collect())
            .unwrap_or_default();
        let task = tasks
            .get(rng.range(0, tasks.len() as u64) as usize)
            .cloned();
        let agents: Vec<wire::ids::AgentId> = state.agents().keys().cloned().collect();
        let agent = agents
            .get(rng.range(0, agents.len() as u64) as usize)
            .cloned();
        let states = [
            TaskState::Starting,
            TaskState::Running,
            TaskState::Killing,
            TaskState::Finished,
            TaskState::Failed,
            TaskState::Lost,
        ];
        match (rng.range(0, 9), task, agent) {
            (0..=2, Some(task), _) => {
                let mut status =
                    TaskStatus::new(task, states[rng.range(0, states.len() as u64) as usize]);
                status.timestamp = step as f64;
                status.healthy = rng.chance(1, 2).then(|| rng.chance(1, 2));
                state.update_task(&framework, &status, Some(&vec![step as u8; 16]));
            }
            (3, Some(task), _) => {
                state.set_status_update_state(&framework, &task, TaskState::Killing)
            }
            (4, Some(task), _) => {
                state.remove_task(&framework, &task, 5);
            }
            (5, Some(task), _) => state.remove_unreachable_task(&framework, &task, 3),
            (6, _, Some(agent)) => {
                let end = |_: &FrameworkRecord, t: &wire::mesos::Task| {
                    let mut s = TaskStatus::new(t.task_id.clone(), TaskState::Gone);
                    s.timestamp = step as f64;
                    s
                };
                state.complete_unreachable_tasks_on(&agent, 4, end);
            }
            (7, _, Some(agent)) => {
                // A completed task comes back, or a new one starts.
                let again = state
                    .framework(&framework)
                    .and_then(|f| f.completed_tasks().back())
                    .map(|t| t.task().clone());
                let mut t = match again {
                    Some(t) => t,
                    None => {
                        let mut t = state
                            .frameworks()
                            .values()
                            .flat_map(|f| f.tasks().values())
                            .next()
                            .map(|t| t.task().clone())
                            .unwrap_or_else(|| {
                                let tasks = super::tests::state(2);
                                let f = tasks.frameworks().values().last().unwrap();
                                f.tasks().values().next().unwrap().task().clone()
                            });
                        t.task_id = TaskId::new(format!("new-{step}"));
                        t
                    }
                };
                t.framework_id = framework.clone();
                t.agent_id = agent;
                t.state = TaskState::Running;
                state.add_task_again(t);
            }
            (8, _, Some(agent)) => {
                state.forget_unreachable(&agent);
            }
            _ => {
                if rng.chance(1, 4) {
                    state.complete_unreachable_tasks(&framework, 4, |t| {
                        TaskStatus::new(t.task_id.clone(), TaskState::Killed)
                    });
                }
            }
        }
    }

    #[test]
    fn kept_fragments_are_the_fresh_render_after_any_changes() {
        let mut rng = crate::random::Rng::with_seed(11);
        let mut state = state(4);
        for step in 0..300 {
            // Rendered once (fragments kept), changed, rendered again:
            // byte for byte what a render without kept fragments gives.
            let _ = documents(&state);
            change(&mut state, &mut rng, step);
            let kept = documents(&state);
            state.forget_rendered();
            assert_eq!(state.rendered_bytes(), 0);
            let fresh = documents(&state);
            for (kept, fresh) in kept.iter().zip(&fresh) {
                assert_eq!(kept, fresh, "after step {step}");
            }
            if step == 150 {
                let last = state.frameworks().keys().last().cloned().unwrap();
                state.complete_framework(&last, 3.0, 2);
            }
        }
        let counts = |s: &State| {
            s.frameworks()
                .values()
                .chain(s.completed_frameworks())
                .map(|f| {
                    (
                        f.tasks().len(),
                        f.unreachable_tasks().len(),
                        f.completed_tasks().len(),
                    )
                })
                .fold((0, 0, 0), |a, b| (a.0 + b.0, a.1 + b.1, a.2 + b.2))
        };
        let (active, unreachable, completed) = counts(&state);
        assert!(
            active > 0 && unreachable > 0 && completed > 0,
            "the changes reached every list: {active} active, {unreachable} unreachable, {completed} completed"
        );
    }

    #[test]
    fn state_on_several_threads_is_the_serial_document() {
        let info = MasterInfo {
            id: "m".into(),
            ip: "127.0.0.1".into(),
            port: 5050,
            pid: "master@127.0.0.1:5050".into(),
            hostname: "localhost".into(),
            version: VERSION.into(),
        };
        let flags = MasterFlags::defaults();
        for frameworks in [0, 1, 2, 7] {
            let state = state(frameworks);
            let view = MasterView {
                state: &state,
                info: &info,
                flags: &flags,
                start_time: 0.0,
                leader: Some(&info),
                elected: true,
                recovered: true,
            };
            let serial = serde_json::to_string(&StateDoc(&view, Part::Whole)).expect("serializes");
            let parsed: Value = serde_json::from_str(&serial).expect("JSON");
            assert_eq!(
                parsed["frameworks"].as_array().map(Vec::len),
                Some(frameworks)
            );
            for threads in [1, 2, 3, 16] {
                assert_eq!(
                    state_json_on(&view, threads),
                    serial,
                    "{frameworks} frameworks on {threads} threads"
                );
            }
            assert_eq!(state_json(&view), serial);
        }
    }
}
