//! What the master's and the agent's v1 operator APIs (`POST /api/v1`)
//! share: the request prelude (a JSON POST; a protobuf body is refused
//! with 415, as this implementation speaks JSON only), the body size
//! bound, and the calls both answer the same way: `GET_HEALTH`,
//! `GET_FLAGS`, `GET_VERSION`, `GET_METRICS`, `GET_LOGGING_LEVEL`,
//! `SET_LOGGING_LEVEL`, `LIST_FILES` and `READ_FILE` (the latter two from
//! the node's `files` process, the data of `/files/browse` and
//! `/files/read`).
//!
//! Answers are Mesos's `Response` JSON: `{"type": "GET_X", "get_x": {...}}`.

use std::collections::BTreeMap;
use std::time::Duration;

use actors::http::{Response, StatusCode};
use actors::{Node, Pid, Reply, Request};
use serde_json::{json, Map, Value};
use tokio::time::Instant;
use wire::mesos::Task;
use wire::mesos::VERSION;
use wire::resources::Resources;
use wire::v1::types::{resources_to_v1, HealthCheckJson, Labels, ResourceFormat, TaskStatus};
use wire::v1::CommonCall;

use crate::files::{AskFiles, FilesAnswer, FilesCall, FILES_ID};
use crate::v1_http::{self, ApiError};

/// The largest call body taken (calls are small; a bigger one is refused
/// before it is parsed).
pub const MAX_BODY: usize = 1 << 20;

/// How long GET_METRICS waits for processes' values without a timeout.
const DEFAULT_METRICS_TIMEOUT: Duration = Duration::from_secs(5);

/// Checks a call request before its body is read: a POST, JSON in, JSON
/// acceptable back, and not oversized.
pub fn prelude(req: &Request) -> Result<(), ApiError> {
    v1_http::check_json_post(req)?;
    v1_http::check_accepts_json(req)?;
    if req.body.len() > MAX_BODY {
        return Err(ApiError::BadRequest(format!(
            "Request body of {} bytes is larger than the {MAX_BODY} bytes allowed",
            req.body.len()
        )));
    }
    Ok(())
}

/// A `Response` of `kind` (`GET_TASKS`) carrying `payload` under its
/// lowercase field.
pub fn response(kind: &str, payload: Value) -> Value {
    let mut v = json!({ "type": kind });
    v[kind.to_ascii_lowercase()] = payload;
    v
}

/// A JSON answer, 200.
pub fn ok_json(v: &Value) -> Reply {
    Reply::Now(json_response(v))
}

/// An empty 200, the answer to a call that changes something.
pub fn ok_empty() -> Reply {
    Reply::Now(Response::new(StatusCode::OK, ""))
}

/// The verbosity `SET_LOGGING_LEVEL` raised, until when (glog's `v`,
/// which Mesos raises for a while and then puts back).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LoggingLevel {
    raised: Option<(u32, Instant)>,
}

impl LoggingLevel {
    /// The level at `now`: the raised one until it expires, else 0.
    pub fn at(&self, now: Instant) -> u32 {
        match self.raised {
            Some((level, until)) if now < until => level,
            _ => 0,
        }
    }

    /// Raise to `level` for `duration` from `now`.
    pub fn set(&mut self, level: u32, duration: Duration, now: Instant) {
        self.raised = Some((level, now + duration));
    }
}

/// What the process must do for a common call.
pub enum Common {
    /// Answered now.
    Reply(Reply),
    /// Record the level (the process owns its [`LoggingLevel`]).
    SetLoggingLevel { level: u32, duration: Duration },
}

/// Answers a call both APIs have. `flags` are the process's flags,
/// `level` its logging level now.
pub fn common(
    call: CommonCall,
    flags: &BTreeMap<String, String>,
    level: u32,
    node: &Node,
    me: &Pid,
) -> Common {
    Common::Reply(match call {
        CommonCall::GetHealth => ok_json(&response("GET_HEALTH", json!({"healthy": true}))),
        CommonCall::GetFlags => ok_json(&get_flags(flags)),
        CommonCall::GetVersion => ok_json(&get_version()),
        CommonCall::GetLoggingLevel => {
            ok_json(&response("GET_LOGGING_LEVEL", json!({ "level": level })))
        }
        CommonCall::SetLoggingLevel { level, duration } => {
            return Common::SetLoggingLevel {
                level,
                duration: Duration::from_secs_f64(duration.min(1e9)),
            }
        }
        CommonCall::GetMetrics { timeout } => {
            let timeout = timeout
                .map(|t| Duration::from_secs_f64(t.min(3600.0)))
                .unwrap_or(DEFAULT_METRICS_TIMEOUT);
            let metrics = node.metrics().clone();
            Reply::later(async move {
                let snapshot = metrics.snapshot_with_collectors(timeout).await;
                json_response(&get_metrics(&snapshot))
            })
        }
        CommonCall::ListFiles { path } => ask_files(node, me, FilesCall::List { path }),
        CommonCall::ReadFile {
            path,
            offset,
            length,
        } => ask_files(
            node,
            me,
            FilesCall::Read {
                path,
                offset,
                length,
            },
        ),
    })
}

/// `GET_FLAGS`: every flag with its value.
pub fn get_flags(flags: &BTreeMap<String, String>) -> Value {
    let list: Vec<Value> = flags
        .iter()
        .map(|(name, value)| json!({"name": name, "value": value}))
        .collect();
    response("GET_FLAGS", json!({ "flags": list }))
}

/// `GET_VERSION`.
pub fn get_version() -> Value {
    response(
        "GET_VERSION",
        json!({"version_info": {
            "version": VERSION,
            "build_date": "",
            "build_time": 0.0,
            "build_user": "",
        }}),
    )
}

/// `GET_METRICS` from a snapshot.
pub fn get_metrics(snapshot: &BTreeMap<String, f64>) -> Value {
    let list: Vec<Value> = snapshot
        .iter()
        .map(|(name, value)| json!({"name": name, "value": value}))
        .collect();
    response("GET_METRICS", json!({ "metrics": list }))
}

/// A `/files/browse` entry as a v1 `FileInfo`: `mtime` a `TimeInfo`,
/// `mode` the numeric `st_mode`.
pub fn file_info(entry: &Value) -> Value {
    let mut v = entry.clone();
    if let Some(secs) = entry.get("mtime").and_then(Value::as_i64) {
        v["mtime"] = json!({ "nanoseconds": secs.saturating_mul(1_000_000_000) });
    }
    if let Some(mode) = entry.get("mode").and_then(Value::as_str) {
        v["mode"] = json!(mode_bits(mode));
    }
    v
}

/// `drwxr-x---` back to `st_mode` bits.
fn mode_bits(mode: &str) -> u32 {
    let mut chars = mode.chars();
    let kind = match chars.next() {
        Some('d') => 0o040000,
        Some('l') => 0o120000,
        _ => 0o100000,
    };
    chars
        .take(9)
        .enumerate()
        .filter(|(_, c)| *c != '-')
        .fold(kind, |bits, (i, _)| bits | (1 << (8 - i)))
}

/// Asks the node's `files` process, answering when it does.
fn ask_files(node: &Node, me: &Pid, call: FilesCall) -> Reply {
    let Some(files) = node.lookup(FILES_ID) else {
        return ApiError::NotFound("No files are served by this process".into()).reply();
    };
    let (reply, answer) = tokio::sync::oneshot::channel();
    node.send_local(me, &files, AskFiles { call, reply });
    Reply::later(async move {
        let refused = |status: StatusCode, text: String| Response::text(status, text);
        match answer.await {
            Err(_) => refused(
                StatusCode::SERVICE_UNAVAILABLE,
                "The files process did not answer".into(),
            ),
            Ok(Err(e)) => refused(e.status(), e.to_string()),
            Ok(Ok(FilesAnswer::Listed(entries))) => json_response(&response(
                "LIST_FILES",
                json!({ "file_infos": entries.iter().map(file_info).collect::<Vec<_>>() }),
            )),
            Ok(Ok(FilesAnswer::Read { size, data })) => json_response(&response(
                "READ_FILE",
                json!({ "size": size, "data": wire::v1::base64::encode(&data) }),
            )),
        }
    })
}

/// Inserts `value` under `key` unless it is an empty list (protobuf's JSON
/// leaves empty repeated fields out).
pub fn put(map: &mut Map<String, Value>, key: &str, value: Value) {
    if value.as_array().is_some_and(Vec::is_empty) {
        return;
    }
    map.insert(key.to_owned(), value);
}

/// An object of these entries, empty lists left out.
pub fn object(entries: Vec<(&str, Value)>) -> Value {
    let mut m = Map::new();
    for (k, v) in entries {
        put(&mut m, k, v);
    }
    Value::Object(m)
}

pub fn to_value(v: impl serde::Serialize) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// `resources` as v1 `Resource`s: the role on each (and, when `role` is
/// given, the allocation to it), as Mesos's endpoints write them.
pub fn resources(resources: &Resources, role: Option<&str>) -> Value {
    let format = ResourceFormat {
        allocation_role: role.map(str::to_owned),
        pre_refinement: true,
    };
    serde_json::to_value(resources_to_v1(resources, &format)).unwrap_or(Value::Null)
}

/// A `Task`.
pub fn task(t: &Task) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), json!(t.name));
    m.insert("task_id".into(), to_value(&t.task_id));
    m.insert("framework_id".into(), to_value(&t.framework_id));
    if let Some(e) = &t.executor_id {
        m.insert("executor_id".into(), to_value(e));
    }
    m.insert("agent_id".into(), to_value(&t.agent_id));
    m.insert("state".into(), json!(t.state.name()));
    put(&mut m, "resources", resources(&t.resources, Some(&t.role)));
    put(
        &mut m,
        "statuses",
        Value::Array(
            t.statuses
                .iter()
                .map(|s| to_value(TaskStatus::from_internal(s)))
                .collect(),
        ),
    );
    if let Some(s) = t.status_update_state {
        m.insert("status_update_state".into(), json!(s.name()));
    }
    if let Some(uuid) = &t.status_update_uuid {
        m.insert(
            "status_update_uuid".into(),
            json!(wire::v1::base64::encode(uuid)),
        );
    }
    if let Some(labels) = Labels::from_internal(&t.meta.labels) {
        m.insert("labels".into(), to_value(labels));
    }
    if let Some(h) = &t.meta.health_check {
        m.insert(
            "health_check".into(),
            to_value(HealthCheckJson::from_internal(h)),
        );
    }
    if let Some(c) = &t.meta.container {
        m.insert(
            "container".into(),
            to_value(wire::v1::types::ContainerInfoJson::from_internal(c)),
        );
    }
    // As /master/state shows it: service discovery (mesos-dns) reads it.
    if let Some(discovery) = t
        .meta
        .discovery
        .as_deref()
        .and_then(|d| serde_json::from_str::<Value>(d).ok())
    {
        m.insert("discovery".into(), discovery);
    }
    Value::Object(m)
}

/// A JSON response, 200.
pub fn json_response(v: &Value) -> Response {
    Response::new(StatusCode::OK, v.to_string()).with_header("Content-Type", "application/json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_nest_their_payload_under_the_lowercase_type() {
        assert_eq!(
            response("GET_HEALTH", json!({"healthy": true})),
            json!({"type": "GET_HEALTH", "get_health": {"healthy": true}})
        );
        let flags: BTreeMap<String, String> = [("port".to_owned(), "5050".to_owned())].into();
        assert_eq!(
            get_flags(&flags)["get_flags"]["flags"],
            json!([{"name": "port", "value": "5050"}])
        );
        let snapshot: BTreeMap<String, f64> = [("master/elected".to_owned(), 1.0)].into();
        assert_eq!(
            get_metrics(&snapshot)["get_metrics"]["metrics"],
            json!([{"name": "master/elected", "value": 1.0}])
        );
    }

    #[test]
    fn browse_entries_become_file_infos() {
        let entry = json!({"path": "/x", "mtime": 2, "mode": "drwxr-x---", "size": 1});
        let v = file_info(&entry);
        assert_eq!(v["mtime"], json!({"nanoseconds": 2_000_000_000i64}));
        assert_eq!(v["mode"], json!(0o040750));
        assert_eq!(
            file_info(&json!({"mode": "-rw-r--r--"}))["mode"],
            json!(0o100644)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_raised_logging_level_falls_back_when_its_time_is_up() {
        let mut level = LoggingLevel::default();
        let now = Instant::now();
        assert_eq!(level.at(now), 0);
        level.set(3, Duration::from_secs(60), now);
        assert_eq!(level.at(now + Duration::from_secs(59)), 3);
        assert_eq!(level.at(now + Duration::from_secs(60)), 0);
    }
}
