//! Marathon's REST API v2 over the scheduler's core: each request becomes
//! a status, a JSON body, headers, and the effects the core decided. No
//! I/O here; the process answers and carries the effects out.
//!
//! Served: `/v2/apps` (GET with `id`/`cmd` filters, POST), `/v2/apps/{id}`
//! (GET, PUT with `partialUpdate`, PATCH, DELETE), `/v2/apps/{id}/tasks`
//! (GET, also text/plain), `DELETE /v2/apps/{id}/tasks/{task}` (`scale`),
//! `/v2/apps/{id}/restart`, `/v2/tasks` (with `status`, text/plain),
//! `POST /v2/tasks/delete`, `/v2/queue` and `DELETE /v2/queue/{id}/delay`,
//! `/v2/deployments` (always empty: changes are applied at once, there are
//! no deployment plans yet), `/v2/info`, `GET /v2/leader`, `/ping`.
//! `DELETE /v2/leader`, proxying and storage are the process's.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{json, Value};
use wire::ids::TaskId;

use super::app::{merge, App};
use super::error::ApiError;
use super::instances::{state_name, Core, Effect, Instance, Task};
use super::path::PathId;

/// A request as the API sees it.
pub struct Call<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a [(String, String)],
    pub body: &'a [u8],
    pub accept_text: bool,
}

impl Call<'_> {
    fn flag(&self, key: &str, default: bool) -> bool {
        match self.query.iter().find(|(k, _)| k == key) {
            Some((_, v)) => v != "false",
            None => default,
        }
    }

    fn param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// The answer to one request.
#[derive(Debug, PartialEq)]
pub struct Answer {
    pub status: u16,
    pub body: String,
    pub content_type: &'static str,
    pub headers: Vec<(&'static str, String)>,
}

impl Answer {
    fn json(status: u16, body: Value) -> Answer {
        Answer {
            status,
            body: body.to_string(),
            content_type: "application/json",
            headers: Vec::new(),
        }
    }

    fn text(body: String) -> Answer {
        Answer {
            status: 200,
            body,
            content_type: "text/plain",
            headers: Vec::new(),
        }
    }

    fn error(e: ApiError) -> Answer {
        Answer::json(e.status(), e.body())
    }

    /// A change: `{deploymentId, version}` and the header naming it.
    fn deployment(status: u16, deployment: &str, version: &str) -> Answer {
        let mut a = Answer::json(
            status,
            json!({"deploymentId": deployment, "version": version}),
        );
        a.headers
            .push(("Marathon-Deployment-Id", deployment.to_owned()));
        a
    }
}

/// What the process knows beside the core.
pub struct Context<'a> {
    /// The time of a change: the version it gets (ISO-8601).
    pub version: &'a str,
    /// A fresh deployment id.
    pub deployment: &'a str,
    pub now: Duration,
    /// `/v2/info`.
    pub info: &'a Value,
    /// `host:port` of the leader (this instance, without HA).
    pub leader: &'a str,
    /// The stored versions of each app, by version.
    pub versions: &'a BTreeMap<PathId, BTreeMap<String, App>>,
}

/// Routes one request.
pub fn handle(core: &mut Core, call: &Call, cx: &Context, out: &mut Vec<Effect>) -> Answer {
    let path = call.path.trim_end_matches('/');
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match (call.method, segments.as_slice()) {
        ("GET", ["ping"]) => Answer::text("pong".into()),
        ("GET", ["v2", "info"]) => Answer::json(200, cx.info.clone()),
        ("GET", ["v2", "leader"]) => Answer::json(200, json!({ "leader": cx.leader })),
        ("GET", ["v2", "deployments"]) => Answer::json(200, json!([])),
        ("GET", ["v2", "queue"]) => queue(core, cx.now),
        ("DELETE", ["v2", "queue", rest @ .., "delay"]) => match app_id(rest) {
            Ok(id) if core.reset_delay(&id) || core.app(&id).is_some() => {
                Answer::json(204, Value::Null).with_empty_body()
            }
            Ok(id) => Answer::error(ApiError::app_not_found(&id.to_string())),
            Err(e) => Answer::error(e),
        },
        ("GET", ["v2", "tasks"]) => tasks(core, None, call),
        ("POST", ["v2", "tasks", "delete"]) => delete_tasks(core, call, cx, out),
        ("GET", ["v2", "apps"]) => list_apps(core, call),
        ("POST", ["v2", "apps"]) => create(core, call, cx, out),
        (_, ["v2", "apps", rest @ ..]) => app_route(core, call, cx, rest, out),
        _ => Answer::json(
            404,
            json!({"message": format!("Path {path} does not exist")}),
        ),
    }
}

impl Answer {
    fn with_empty_body(mut self) -> Answer {
        self.body.clear();
        self
    }
}

fn app_id(segments: &[&str]) -> Result<PathId, ApiError> {
    PathId::parse(&segments.join("/"), &PathId::root())
        .map_err(|e| ApiError::BadRequest(format!("Invalid app id: {e}")))
}

fn app_route(
    core: &mut Core,
    call: &Call,
    cx: &Context,
    rest: &[&str],
    out: &mut Vec<Effect>,
) -> Answer {
    // The app's path, then maybe `tasks[/id]`, `restart` or `versions`.
    let (id_part, sub) = match rest
        .iter()
        .position(|s| matches!(*s, "tasks" | "restart" | "versions"))
    {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, &[][..]),
    };
    let id = match app_id(id_part) {
        Ok(id) => id,
        Err(e) => return Answer::error(e),
    };
    match (call.method, sub) {
        ("GET", []) => match core.app(&id) {
            Some(app) => Answer::json(200, json!({ "app": app_json(core, app, true) })),
            None => Answer::error(ApiError::app_not_found(&id.to_string())),
        },
        ("PUT", []) | ("PATCH", []) => put(core, call, cx, &id, out),
        ("DELETE", []) => match core.delete(&id, out) {
            Ok(()) => Answer::deployment(200, cx.deployment, cx.version),
            Err(e) => Answer::error(e),
        },
        ("GET", ["tasks"]) => match core.app(&id) {
            Some(_) => tasks(core, Some(&id), call),
            None => Answer::error(ApiError::app_not_found(&id.to_string())),
        },
        ("DELETE", ["tasks", task]) => {
            if core.app(&id).is_none() {
                return Answer::error(ApiError::app_not_found(&id.to_string()));
            }
            let scale = call.flag("scale", false);
            let found = core.instances_of(&id).find_map(|i| {
                i.task
                    .as_ref()
                    .filter(|t| t.id.value == *task)
                    .map(|t| task_json(i, t))
            });
            let Some(json) = found else {
                return Answer::json(
                    404,
                    json!({"message": format!("Task '{task}' does not exist")}),
                );
            };
            core.kill_tasks(&[TaskId::new(*task)], scale, out);
            if scale {
                Answer::deployment(200, cx.deployment, cx.version)
            } else {
                Answer::json(200, json!({ "task": json }))
            }
        }
        ("DELETE", ["tasks"]) => {
            if core.app(&id).is_none() {
                return Answer::error(ApiError::app_not_found(&id.to_string()));
            }
            let host = call.param("host");
            let chosen: Vec<(TaskId, Value)> = core
                .instances_of(&id)
                .filter_map(|i| i.task.as_ref().map(|t| (i, t)))
                .filter(|(_, t)| !t.state.is_terminal() && host.is_none_or(|h| h == t.host))
                .map(|(i, t)| (t.id.clone(), task_json(i, t)))
                .collect();
            let scale = call.flag("scale", false);
            let ids: Vec<TaskId> = chosen.iter().map(|(t, _)| t.clone()).collect();
            core.kill_tasks(&ids, scale, out);
            if scale {
                Answer::deployment(200, cx.deployment, cx.version)
            } else {
                let tasks: Vec<Value> = chosen.into_iter().map(|(_, j)| j).collect();
                Answer::json(200, json!({ "tasks": tasks }))
            }
        }
        ("POST", ["restart"]) => {
            let Some(app) = core.app(&id).cloned() else {
                return Answer::error(ApiError::app_not_found(&id.to_string()));
            };
            // A restart is the same definition at a new version.
            let mut fresh = app;
            fresh.version = String::new();
            match core.restart(fresh, cx.version, out) {
                Ok(()) => Answer::deployment(200, cx.deployment, cx.version),
                Err(e) => Answer::error(e),
            }
        }
        ("GET", ["versions"]) => match core.app(&id) {
            Some(app) => {
                // Newest first, as Marathon lists them.
                let mut versions: Vec<&str> = cx
                    .versions
                    .get(&id)
                    .map(|v| v.keys().rev().map(String::as_str).collect())
                    .unwrap_or_default();
                if !versions.contains(&app.version.as_str()) {
                    versions.insert(0, &app.version);
                }
                Answer::json(200, json!({ "versions": versions }))
            }
            None => Answer::error(ApiError::app_not_found(&id.to_string())),
        },
        ("GET", ["versions", v]) => match core.app(&id) {
            Some(app) if app.version == *v => Answer::json(200, app.to_json()),
            Some(_) => match cx.versions.get(&id).and_then(|m| m.get(*v)) {
                Some(old) => Answer::json(200, old.to_json()),
                None => Answer::error(ApiError::app_not_found(&id.to_string())),
            },
            None => Answer::error(ApiError::app_not_found(&id.to_string())),
        },
        _ => Answer::json(405, json!({"message": "Method not allowed"})),
    }
}

fn parse_body(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::not_json(&e))
}

fn create(core: &mut Core, call: &Call, cx: &Context, out: &mut Vec<Effect>) -> Answer {
    let result = parse_body(call.body)
        .and_then(|doc| App::from_json(&doc, &PathId::root()))
        .and_then(|app| {
            let id = app.id.clone();
            core.create(app, cx.version, out).map(|()| id)
        });
    match result {
        Ok(id) => {
            let Some(app) = core.app(&id) else {
                return Answer::error(ApiError::app_not_found(&id.to_string()));
            };
            let mut body = app_json(core, app, false);
            body["deployments"] = json!([{ "id": cx.deployment }]);
            let mut a = Answer::json(201, body);
            a.headers.push(("Location", format!("/v2/apps{id}")));
            a.headers
                .push(("Marathon-Deployment-Id", cx.deployment.to_owned()));
            a
        }
        Err(e) => Answer::error(e),
    }
}

/// PUT (`partialUpdate`, default true) and PATCH: the stored app's JSON
/// with the request's fields over it; PUT of an unknown app creates it.
fn put(core: &mut Core, call: &Call, cx: &Context, id: &PathId, out: &mut Vec<Effect>) -> Answer {
    let doc = match parse_body(call.body) {
        Ok(doc) => doc,
        Err(e) => return Answer::error(e),
    };
    if !doc.is_object() {
        return Answer::error(ApiError::BadRequest("Expected an app object".into()));
    }
    let patch = call.method == "PATCH";
    // Only the count changing is a scale, not a new version.
    let only_instances = doc
        .as_object()
        .is_some_and(|o| o.keys().all(|k| k == "instances" || k == "id"));
    let partial = patch || call.flag("partialUpdate", true);
    let existing = core.app(id).map(App::to_json);
    if existing.is_none() && patch {
        return Answer::error(ApiError::app_not_found(&id.to_string()));
    }
    let mut merged = match (&existing, partial) {
        (Some(stored), true) => merge(stored, &doc),
        _ => doc,
    };
    merged["id"] = json!(id.to_string());
    let app = match App::from_json(&merged, &PathId::root()) {
        Ok(app) => app,
        Err(e) => return Answer::error(e),
    };
    let result = match existing {
        None => core.create(app, cx.version, out).map(|()| 201),
        Some(_) if only_instances && partial => core.scale(id, app.instances, out).map(|()| 200),
        Some(_) => core.update(app, cx.version, out).map(|()| 200),
    };
    match result {
        Ok(status) => Answer::deployment(status, cx.deployment, cx.version),
        Err(e) => Answer::error(e),
    }
}

fn list_apps(core: &Core, call: &Call) -> Answer {
    let id_filter = call.param("id");
    let cmd_filter = call.param("cmd");
    let embed_tasks = call
        .query
        .iter()
        .any(|(k, v)| k == "embed" && (v == "apps.tasks" || v == "app.tasks"));
    let apps: Vec<Value> = core
        .apps()
        .filter(|a| id_filter.is_none_or(|f| a.id.to_string().contains(f)))
        .filter(|a| cmd_filter.is_none_or(|f| a.cmd.as_deref().is_some_and(|c| c.contains(f))))
        .map(|a| app_json(core, a, embed_tasks))
        .collect();
    Answer::json(200, json!({ "apps": apps }))
}

/// An app with its runtime counts (and tasks when asked).
pub fn app_json(core: &Core, app: &App, with_tasks: bool) -> Value {
    let mut v = app.to_json();
    let counts = core.counts(&app.id);
    v["tasksStaged"] = json!(counts.staged);
    v["tasksRunning"] = json!(counts.running);
    v["tasksHealthy"] = json!(counts.healthy);
    v["tasksUnhealthy"] = json!(counts.unhealthy);
    v["deployments"] = json!([]);
    if with_tasks {
        v["tasks"] = Value::Array(
            live_tasks(core, Some(&app.id))
                .map(|(i, t)| task_json(i, t))
                .collect(),
        );
    }
    v
}

fn live_tasks<'a>(
    core: &'a Core,
    app: Option<&'a PathId>,
) -> impl Iterator<Item = (&'a Instance, &'a Task)> + 'a {
    core.instances()
        .filter(move |i| app.is_none_or(|a| &i.app == a))
        .filter_map(|i| {
            i.task
                .as_ref()
                .filter(|t| !t.state.is_terminal())
                .map(|t| (i, t))
        })
}

/// A task as Marathon shows it.
pub fn task_json(instance: &Instance, t: &Task) -> Value {
    let mut v = json!({
        "id": t.id.value,
        "appId": instance.app.to_string(),
        "host": t.host,
        "ports": t.ports,
        "servicePorts": [],
        "slaveId": t.agent_id.value,
        "state": state_name(t.state),
        "stagedAt": iso8601(t.staged_at),
        "version": t.version,
        "ipAddresses": [],
    });
    if let Some(started) = t.started_at {
        v["startedAt"] = json!(iso8601(started));
    }
    if let Some(healthy) = t.healthy {
        v["healthCheckResults"] = json!([{"alive": healthy, "instanceId": instance.id}]);
    }
    v
}

fn tasks(core: &Core, app: Option<&PathId>, call: &Call) -> Answer {
    let wanted: Vec<&str> = call
        .query
        .iter()
        .filter(|(k, _)| k == "status" || k == "status[]")
        .map(|(_, v)| v.as_str())
        .collect();
    let selected: Vec<(&Instance, &Task)> = live_tasks(core, app)
        .filter(|(_, t)| {
            wanted.is_empty()
                || wanted.iter().any(|w| {
                    state_name(t.state)
                        .strip_prefix("TASK_")
                        .is_some_and(|s| s.eq_ignore_ascii_case(w))
                })
        })
        .collect();
    if call.accept_text {
        // `appId<TAB>servicePort<TAB>host:port...`, one line per app port.
        let mut lines = Vec::new();
        for app in core.apps().filter(|a| app.is_none_or(|id| &a.id == id)) {
            let of_app: Vec<&(&Instance, &Task)> =
                selected.iter().filter(|(i, _)| i.app == app.id).collect();
            let port_count = app.host_port_count().max(1);
            for p in 0..port_count {
                let mut line = format!("{}\t{}\t", app.id.safe(), 0);
                for (_, t) in &of_app {
                    if let Some(port) = t.ports.get(p) {
                        line.push_str(&format!("{}:{}\t", t.host, port));
                    }
                }
                lines.push(line);
            }
        }
        return Answer::text(lines.join("\n") + "\n");
    }
    let tasks: Vec<Value> = selected.into_iter().map(|(i, t)| task_json(i, t)).collect();
    Answer::json(200, json!({ "tasks": tasks }))
}

fn delete_tasks(core: &mut Core, call: &Call, cx: &Context, out: &mut Vec<Effect>) -> Answer {
    let doc = match parse_body(call.body) {
        Ok(doc) => doc,
        Err(e) => return Answer::error(e),
    };
    let Some(ids) = doc["ids"].as_array() else {
        return Answer::error(ApiError::BadRequest("Expected {\"ids\": [...]}".into()));
    };
    let ids: Vec<TaskId> = ids
        .iter()
        .filter_map(Value::as_str)
        .map(TaskId::new)
        .collect();
    let known: Vec<Value> = core
        .instances()
        .filter_map(|i| {
            i.task
                .as_ref()
                .filter(|t| ids.contains(&t.id))
                .map(|t| task_json(i, t))
        })
        .collect();
    if known.len() < ids.len() {
        return Answer::error(ApiError::BadRequest("Some task ids are unknown".into()));
    }
    let scale = call.flag("scale", false);
    core.kill_tasks(&ids, scale, out);
    if scale {
        Answer::deployment(200, cx.deployment, cx.version)
    } else {
        Answer::json(200, json!({ "tasks": known }))
    }
}

fn queue(core: &Core, now: Duration) -> Answer {
    let queue: Vec<Value> = core
        .queue(now)
        .into_iter()
        .filter_map(|(id, count, left)| {
            let app = core.app(&id)?;
            Some(json!({
                "count": count,
                "delay": {"timeLeftSeconds": left.as_secs(), "overdue": left.is_zero()},
                "app": app.to_json(),
                "since": iso8601(now),
            }))
        })
        .collect();
    Answer::json(200, json!({ "queue": queue }))
}

/// `2026-12-03T11:00:00.123Z` for a time since the Unix epoch.
pub fn iso8601(since_epoch: Duration) -> String {
    let secs = since_epoch.as_secs();
    let millis = since_epoch.subsec_millis();
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Days to a civil date (proleptic Gregorian).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::marathon::instances::Settings;

    fn call<'a>(method: &'a str, path: &'a str, body: &'a str) -> Call<'a> {
        Call {
            method,
            path,
            query: &[],
            body: body.as_bytes(),
            accept_text: false,
        }
    }

    fn run(core: &mut Core, c: &Call) -> (Answer, Vec<Effect>) {
        let info = json!({"name": "marathon"});
        let versions = BTreeMap::new();
        let cx = Context {
            version: "2026-12-03T11:00:00.000Z",
            deployment: "d-1",
            now: Duration::from_secs(1_764_759_600),
            info: &info,
            leader: "127.0.0.1:8080",
            versions: &versions,
        };
        let mut out = Vec::new();
        let a = handle(core, c, &cx, &mut out);
        (a, out)
    }

    fn body(a: &Answer) -> Value {
        serde_json::from_str(&a.body).unwrap()
    }

    #[test]
    fn apps_are_created_read_scaled_and_destroyed() {
        let mut core = Core::new(Settings::default(), 1);
        let (a, out) = run(
            &mut core,
            &call(
                "POST",
                "/v2/apps",
                r#"{"id": "sleep", "cmd": "sleep 60", "instances": 3}"#,
            ),
        );
        assert_eq!(a.status, 201, "{}", a.body);
        assert!(a
            .headers
            .contains(&("Location", "/v2/apps/sleep".to_owned())));
        assert!(a
            .headers
            .iter()
            .any(|(k, _)| *k == "Marathon-Deployment-Id"));
        let created = body(&a);
        assert_eq!(created["id"], "/sleep");
        assert_eq!(created["tasksRunning"], 0);
        assert_eq!(created["deployments"], json!([{"id": "d-1"}]));
        assert_eq!(out, [Effect::Revive]);

        let (a, _) = run(
            &mut core,
            &call("POST", "/v2/apps", r#"{"id": "sleep", "cmd": "x"}"#),
        );
        assert_eq!(
            (a.status, body(&a)["message"].clone()),
            (409, json!("An app with id [/sleep] already exists."))
        );

        let (a, _) = run(&mut core, &call("GET", "/v2/apps/sleep", ""));
        assert_eq!(a.status, 200);
        assert_eq!(body(&a)["app"]["instances"], 3);
        assert_eq!(body(&a)["app"]["tasks"], json!([]));

        let (a, _) = run(
            &mut core,
            &call("PUT", "/v2/apps/sleep", r#"{"instances": 1}"#),
        );
        assert_eq!(a.status, 200, "{}", a.body);
        assert_eq!(body(&a)["deploymentId"], "d-1");
        let (a, _) = run(&mut core, &call("GET", "/v2/apps", ""));
        assert_eq!(body(&a)["apps"][0]["instances"], 1);
        assert_eq!(
            body(&a)["apps"][0]["cmd"],
            "sleep 60",
            "a partial update keeps the rest"
        );

        let (a, _) = run(&mut core, &call("DELETE", "/v2/apps/sleep", ""));
        assert_eq!(a.status, 200);
        let (a, _) = run(&mut core, &call("GET", "/v2/apps/sleep", ""));
        assert_eq!(
            (a.status, body(&a)),
            (404, json!({"message": "App '/sleep' does not exist"}))
        );
    }

    #[test]
    fn bad_requests_get_marathons_errors() {
        let mut core = Core::new(Settings::default(), 2);
        // The guide's mesos-dns app, with its trailing comma.
        let (a, _) = run(
            &mut core,
            &call(
                "POST",
                "/v2/apps",
                r#"{"cmd": "mesos-dns", "cpus": 1.0, "mem": 1024, "id": "mesos-dns", "instances": 1,}"#,
            ),
        );
        assert_eq!(
            (a.status, body(&a)["message"].clone()),
            (400, json!("Invalid JSON"))
        );
        let (a, _) = run(
            &mut core,
            &call("POST", "/v2/apps", r#"{"id": "x", "cmd": "y", "cpus": -1}"#),
        );
        assert_eq!(a.status, 422);
        assert_eq!(body(&a)["details"][0]["path"], "/cpus");
        let (a, _) = run(
            &mut core,
            &call("PATCH", "/v2/apps/nope", r#"{"instances": 2}"#),
        );
        assert_eq!(a.status, 404);
        let (a, _) = run(&mut core, &call("GET", "/v2/nothing", ""));
        assert_eq!(a.status, 404);
        assert!(core.apps().next().is_none(), "nothing half-applied");
    }

    #[test]
    fn ping_info_and_text_tasks() {
        let mut core = Core::new(Settings::default(), 3);
        assert_eq!(run(&mut core, &call("GET", "/ping", "")).0.body, "pong");
        assert_eq!(
            body(&run(&mut core, &call("GET", "/v2/info", "")).0)["name"],
            "marathon"
        );
        assert_eq!(
            body(&run(&mut core, &call("GET", "/v2/leader", "")).0)["leader"],
            "127.0.0.1:8080"
        );
        let mut c = call("GET", "/v2/tasks", "");
        c.accept_text = true;
        assert_eq!(run(&mut core, &c).0.content_type, "text/plain");
    }

    #[test]
    fn times_are_iso8601() {
        assert_eq!(
            iso8601(Duration::from_millis(0)),
            "1970-01-01T00:00:00.000Z"
        );
        assert_eq!(
            iso8601(Duration::from_millis(951_782_400_123)),
            "2000-02-29T00:00:00.123Z"
        );
        assert_eq!(
            iso8601(Duration::from_secs(1_796_299_199)),
            "2026-12-03T11:59:59.000Z"
        );
    }
}
