//! The operator endpoints answer with Mesos's documented fields, so tools
//! that parse Mesos's JSON parse ours (field lists from Mesos's
//! `src/master/readonly_handler.cpp`, `src/slave/http.cpp` and
//! `docs/endpoints`).

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::{Daemon, Guard, TempDir};
use serde_json::Value;

const LOCAL: &str = env!("CARGO_BIN_EXE_mesos-local");
const EXECUTE: &str = env!("CARGO_BIN_EXE_mesos-execute");

fn get(address: &str, path: &str) -> Value {
    let (status, body) = common::http_get(address, path);
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"))
}

fn has_keys(v: &Value, keys: &[&str], what: &str) {
    let obj = v
        .as_object()
        .unwrap_or_else(|| panic!("{what} is not an object: {v}"));
    let missing: Vec<&&str> = keys.iter().filter(|k| !obj.contains_key(**k)).collect();
    assert!(missing.is_empty(), "{what} lacks {missing:?}: {v}");
}

const RESOURCE_KEYS: &[&str] = &["cpus", "gpus", "mem", "disk"];
const TASK_KEYS: &[&str] = &[
    "id",
    "name",
    "framework_id",
    "executor_id",
    "slave_id",
    "state",
    "resources",
    "role",
    "statuses",
];

/// `mesos-local` in `dir` with `flags`, and `mesos-execute` running
/// `command` on it; returns once the task runs.
fn running_a_task(dir: &TempDir, flags: &[&str], command: &str) -> (Daemon, Guard) {
    let work_dir = format!("--work_dir={}", dir.path().display());
    let mut args = vec!["--port=0", work_dir.as_str()];
    args.extend_from_slice(flags);
    let cluster = Daemon::start(LOCAL, &args);
    let a = cluster.address.clone();
    let framework = Guard(
        Command::new(EXECUTE)
            .args([
                format!("--master={a}"),
                "--name=sleeper".into(),
                format!("--command={command}"),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mesos-execute"),
    );
    assert!(
        common::wait_until(Duration::from_secs(30), || {
            common::http_get(&a, "/master/state")
                .1
                .contains("TASK_RUNNING")
        }),
        "the task never ran:\n{}",
        cluster.log()
    );
    (cluster, framework)
}

#[test]
fn endpoints_carry_mesos_fields() {
    let dir = TempDir::new("endpoints");
    // A running task, so frameworks and tasks are not empty.
    let (cluster, _framework) = running_a_task(
        &dir,
        &[
            "--resources=cpus:2;mem:1024;ports:[31000-32000]",
            "--attributes=rack:r1",
        ],
        "sleep 60",
    );
    let a = cluster.address.clone();

    let slaves = get(&a, "/master/slaves");
    has_keys(&slaves, &["slaves", "recovered_slaves"], "/master/slaves");
    let agent = &slaves["slaves"][0];
    has_keys(
        agent,
        &[
            "id",
            "pid",
            "hostname",
            "port",
            "resources",
            "used_resources",
            "offered_resources",
            "reserved_resources",
            "reserved_resources_full",
            "unreserved_resources",
            "unreserved_resources_full",
            "attributes",
            "registered_time",
            "active",
            "version",
            "capabilities",
        ],
        "a slave",
    );
    has_keys(&agent["resources"], RESOURCE_KEYS, "slave resources");
    assert_eq!(agent["resources"]["ports"], "[31000-32000]");
    assert_eq!(
        agent["unreserved_resources_full"][0]["type"], "SCALAR",
        "unreserved_resources_full lists v1 resources"
    );
    assert_eq!(agent["attributes"]["rack"], "r1");
    assert!(agent["pid"]
        .as_str()
        .is_some_and(|p| p.starts_with("slave(1)@")));
    assert_eq!(
        agent["used_resources"]["cpus"], 1.0,
        "mesos-execute's default task takes 1 cpu"
    );

    let state = get(&a, "/master/state");
    has_keys(
        &state,
        &[
            "version",
            "build_date",
            "build_time",
            "build_user",
            "start_time",
            "elected_time",
            "id",
            "pid",
            "hostname",
            "capabilities",
            "activated_slaves",
            "deactivated_slaves",
            "unreachable_slaves",
            "leader",
            "leader_info",
            "flags",
            "slaves",
            "recovered_slaves",
            "frameworks",
            "completed_frameworks",
            "orphan_tasks",
            "unregistered_frameworks",
        ],
        "/master/state",
    );
    assert_eq!(state["activated_slaves"], 1);
    let framework = &state["frameworks"][0];
    has_keys(
        framework,
        &[
            "id",
            "name",
            "pid",
            "used_resources",
            "offered_resources",
            "capabilities",
            "hostname",
            "webui_url",
            "active",
            "connected",
            "recovered",
            "user",
            "failover_timeout",
            "checkpoint",
            "registered_time",
            "unregistered_time",
            "resources",
            "tasks",
            "unreachable_tasks",
            "completed_tasks",
            "offers",
            "executors",
            "offer_constraints",
        ],
        "a framework",
    );
    assert!(framework.get("role").is_some() || framework.get("roles").is_some());
    let task = &framework["tasks"][0];
    has_keys(task, TASK_KEYS, "a task");
    assert_eq!(task["state"], "TASK_RUNNING");
    assert!(task["statuses"][0].get("timestamp").is_some());
    let legacy = get(&a, "/master/state.json");
    assert_eq!(legacy["id"], state["id"]);
    assert_eq!(
        get(&a, "/state")["id"],
        state["id"],
        "/state is the master's through the delegate"
    );

    let frameworks = get(&a, "/master/frameworks");
    has_keys(
        &frameworks,
        &[
            "frameworks",
            "completed_frameworks",
            "unregistered_frameworks",
        ],
        "/master/frameworks",
    );
    let tasks = get(&a, "/master/tasks?limit=10&offset=0&order=asc");
    has_keys(&tasks["tasks"][0], TASK_KEYS, "/master/tasks entry");
    assert_eq!(
        get(&a, "/master/tasks?offset=5")["tasks"]
            .as_array()
            .map(Vec::len),
        Some(0)
    );
    assert_eq!(common::http_get(&a, "/master/tasks?limit=x").0, 400);

    let summary = get(&a, "/master/state-summary");
    has_keys(
        &summary,
        &["hostname", "slaves", "frameworks"],
        "/master/state-summary",
    );
    assert_eq!(summary["slaves"][0]["TASK_RUNNING"], 1);
    has_keys(
        &summary["frameworks"][0],
        &["id", "name", "TASK_RUNNING", "slave_ids"],
        "summary framework",
    );
    let roles = get(&a, "/master/roles");
    has_keys(
        &roles["roles"][0],
        &["name", "weight", "frameworks", "resources"],
        "a role",
    );
    let flags = get(&a, "/master/flags");
    assert!(flags["flags"]["port"].is_string(), "{flags}");

    let (status, head, _) = common::http_post(&a, "/master/redirect", &[], b"");
    assert_eq!(status, 307);
    assert!(
        head.to_ascii_lowercase()
            .contains(&format!("location: //{a}")),
        "{head}"
    );
    assert_eq!(common::http_get(&a, "/master/health").0, 200);
    assert_eq!(common::http_get(&a, "/health").0, 200);
    let version = get(&a, "/version");
    let v = version["version"].as_str().expect("version");
    assert!(
        v.split('.').all(|part| part.parse::<u32>().is_ok()),
        "pymesos parses each part as an int: {v}"
    );

    // The agent's own endpoints, at its process id (the node's top level
    // belongs to the master in mesos-local).
    let agent_state = get(&a, "/slave(1)/state");
    has_keys(
        &agent_state,
        &[
            "version",
            "build_date",
            "build_time",
            "build_user",
            "start_time",
            "id",
            "pid",
            "hostname",
            "capabilities",
            "resources",
            "reserved_resources",
            "unreserved_resources",
            "attributes",
            "flags",
            "frameworks",
            "completed_frameworks",
            "master_hostname",
        ],
        "agent /state",
    );
    let af = &agent_state["frameworks"][0];
    has_keys(
        af,
        &[
            "id",
            "name",
            "user",
            "failover_timeout",
            "checkpoint",
            "hostname",
            "executors",
            "completed_executors",
        ],
        "agent framework",
    );
    has_keys(
        &af["executors"][0],
        &[
            "id",
            "name",
            "source",
            "container",
            "directory",
            "resources",
            "tasks",
            "queued_tasks",
            "completed_tasks",
        ],
        "agent executor",
    );
    assert!(get(&a, "/slave(1)/flags")["flags"]["work_dir"].is_string());
    assert_eq!(common::http_get(&a, "/slave(1)/health").0, 200);

    let (status, body) = common::http_get(&a, "/metrics/snapshot?timeout=5secs&jsonp=cb");
    assert_eq!(status, 200);
    assert!(body.starts_with("cb({") && body.ends_with("});"), "{body}");
    assert_eq!(
        common::http_get(&a, "/metrics/snapshot?timeout=never").0,
        400
    );
    let metrics = get(&a, "/metrics/snapshot");
    for key in [
        "master/slaves_active",
        "master/tasks_running",
        "master/elected",
        "master/uptime_secs",
        "master/frameworks_active",
        "master/outstanding_offers",
        "master/cpus_total",
        "master/cpus_used",
        "master/cpus_percent",
        "master/dropped_messages",
        "master/valid_status_updates",
        "master/invalid_status_updates",
        "allocator/mesos/allocation_runs",
        "slave/tasks_running",
        "slave/executors_running",
        "slave/recovery_errors",
        "slave/recovery_time_secs",
        "slave/executor_directory_max_allowed_age_secs",
        "slave/uptime_secs",
        "system/load_1min",
        "system/cpus_total",
        "system/mem_total_bytes",
    ] {
        assert!(
            metrics[key].is_number(),
            "{key} missing from /metrics/snapshot"
        );
    }
    assert_eq!(metrics["master/tasks_running"], 1.0);
    assert_eq!(metrics["slave/tasks_running"], 1.0);
    // What the running task's container uses, against what it was given.
    let statistics = get(&a, "/slave(1)/monitor/statistics");
    let entries = statistics.as_array().cloned().unwrap_or_default();
    assert_eq!(entries.len(), 1, "{statistics}");
    has_keys(
        &entries[0],
        &[
            "framework_id",
            "executor_id",
            "executor_name",
            "source",
            "statistics",
        ],
        "monitor entry",
    );
    let used = &entries[0]["statistics"];
    assert_eq!(used["cpus_limit"], 1.0, "{used}");
    assert_eq!(used["mem_limit_bytes"], 128 * 1024 * 1024, "{used}");
    assert!(used["processes"].as_u64().is_some_and(|n| n >= 2), "{used}");
    assert!(
        used["mem_rss_bytes"].as_u64().is_some_and(|n| n > 0),
        "{used}"
    );
    assert!(used["cpus_user_time_secs"].is_number() && used["timestamp"].is_number());
    // The role's dominant share: its task holds one of two cpus.
    let share = metrics["allocator/mesos/roles/*/shares/dominant"].as_f64();
    assert!(share.is_some_and(|s| (0.5..=1.0).contains(&s)), "{share:?}");
    // Per-framework metrics, under the framework's name and id.
    let framework = &get(&a, "/master/frameworks")["frameworks"][0];
    let (framework_id, name) = (&framework["id"], &framework["name"]);
    assert_eq!(name, "mesos-execute instance");
    let prefix = format!(
        "master/frameworks/mesos-execute%20instance/{}/",
        framework_id.as_str().unwrap_or_default()
    );
    let of = |key: &str| metrics[format!("{prefix}{key}")].as_f64();
    assert_eq!(of("subscribed"), Some(1.0), "{metrics}");
    assert_eq!(of("calls/subscribe"), Some(1.0));
    assert_eq!(of("calls/accept"), Some(1.0));
    assert!(of("offers/sent").is_some_and(|n| n >= 1.0));
    assert_eq!(of("offers/accepted"), Some(1.0));
    assert_eq!(of("tasks/active/task_running"), Some(1.0));
    assert!(
        of("events/update").is_some_and(|n| n >= 2.0),
        "STARTING and RUNNING"
    );
}

/// `POST /master/teardown` (`frameworkId=<id>`, form-encoded), as operators
/// use it: bad requests are refused with Mesos's answers; a good one
/// removes the framework and kills its task.
#[test]
fn an_operator_tears_a_framework_down() {
    let dir = TempDir::new("teardown");
    let (cluster, _framework) = running_a_task(&dir, &["--resources=cpus:1;mem:256"], "sleep 600");
    let a = cluster.address.clone();
    let id = get(&a, "/master/frameworks")["frameworks"][0]["id"]
        .as_str()
        .map(str::to_owned)
        .expect("a framework id");
    let form = [("Content-Type", "application/x-www-form-urlencoded")];
    assert_eq!(common::http_get(&a, "/master/teardown").0, 405);
    let (status, _, body) = common::http_post(&a, "/master/teardown", &form, b"id=x");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("Missing 'frameworkId'"), "{body}");
    let (status, _, body) = common::http_post(&a, "/master/teardown", &form, b"frameworkId=nope");
    assert_eq!(
        (status, body.as_str()),
        (400, "No framework found with specified ID")
    );

    let request = format!("frameworkId={id}");
    let (status, _, body) = common::http_post(&a, "/master/teardown", &form, request.as_bytes());
    assert_eq!(status, 200, "{body}");
    let frameworks = get(&a, "/master/frameworks");
    assert_eq!(frameworks["frameworks"].as_array().map(Vec::len), Some(0));
    let done = &frameworks["completed_frameworks"][0];
    assert_eq!(done["id"], id.as_str());
    assert_eq!(done["completed_tasks"][0]["state"], "TASK_KILLED");
}
