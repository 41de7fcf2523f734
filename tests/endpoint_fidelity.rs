//! Details of the endpoints that real clients depend on, on a real
//! cluster (`mesos-master` and `mesos-agent` as child processes):
//!
//! - every endpoint also answers with a trailing slash, and a path is
//!   served by the longest route that prefixes it, as libprocess routes;
//! - `/master/tasks` takes `limit=-1` for no limit, and refuses other bad
//!   paging values with a 400 that says why;
//! - agents serve `/version`;
//! - the agent's `/state` lists ended executors (`completed_executors`)
//!   and frameworks (`completed_frameworks`), bounded, so the sandbox of a
//!   finished task can be found and read;
//! - a v1 scheduler stream beats right after SUBSCRIBED.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::cluster::{get_json, http_get, Cluster};
use common::framework::{command_task, info, Framework};
use serde_json::Value;
use wire::task::TaskState;

const AGENT: &str = "cpus:4;mem:1024";
const TASK: &str = "cpus:1;mem:64";
const WAIT: Duration = Duration::from_secs(20);

fn status_of(address: std::net::SocketAddr, path: &str) -> (u16, String) {
    http_get(address, path).unwrap_or_else(|e| panic!("GET {address}{path}: {e}"))
}

#[test]
fn endpoints_answer_with_a_trailing_slash_and_by_their_longest_prefix() {
    let cluster = Cluster::start(&[], &[AGENT]);
    let master = cluster.master_address();
    let agent = cluster.agents[0].address();
    for (address, path, key) in [
        (master, "/master/frameworks/", "frameworks"),
        (master, "/master/slaves/", "slaves"),
        (master, "/master/state/", "slaves"),
        (master, "/master/tasks/", "tasks"),
        (master, "/master/tasks/anything/below", "tasks"),
        (master, "/state/", "slaves"),
        (master, "/version/", "version"),
        (agent, "/state/", "frameworks"),
        (agent, "/slave(1)/state/", "frameworks"),
        (agent, "/slave(1)/flags/", "flags"),
    ] {
        let v = get_json(address, path);
        assert!(v.get(key).is_some(), "{path} lacks '{key}': {v}");
    }
    let metrics = get_json(master, "/metrics/snapshot/");
    assert_eq!(metrics["master/elected"], 1.0, "{metrics}");
    for (address, path) in [
        (master, "/master/nothing/"),
        (master, "/master/tasksx"),
        (agent, "/slave(1)/nothing"),
    ] {
        assert_eq!(status_of(address, path).0, 404, "{path}");
    }
}

#[test]
fn agents_serve_the_version_the_master_serves() {
    let cluster = Cluster::start(&[], &[AGENT]);
    let master = get_json(cluster.master_address(), "/version");
    let agent = cluster.agents[0].address();
    for path in ["/version", "/slave(1)/version", "/version?jsonp=x"] {
        let (status, body) = status_of(agent, path);
        assert_eq!(status, 200, "{path}: {body}");
        if path.contains("jsonp") {
            assert!(body.starts_with("x({") && body.ends_with("});"), "{body}");
            continue;
        }
        let v: Value = serde_json::from_str(&body).expect("version JSON");
        assert_eq!(v, master, "{path}");
        for key in ["version", "build_date", "build_time", "build_user"] {
            assert!(v.get(key).is_some(), "{path} lacks {key}: {v}");
        }
    }
}

/// The ids of `/master/tasks` with `query`.
fn task_ids(cluster: &Cluster, query: &str) -> Vec<String> {
    cluster.master_json(&format!("/master/tasks{query}"))["tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["id"].as_str().map(str::to_owned))
        .collect()
}

#[actix::test]
async fn tasks_take_limit_minus_one_for_no_limit_and_refuse_other_bad_paging() {
    let cluster = Cluster::start(&[], &[AGENT]);
    let mut framework = Framework::start(cluster.master_address(), info("paged")).await;
    framework.registered().await;
    let tasks = (0..3)
        .map(|n| command_task(&format!("t{n}"), "true"))
        .collect();
    framework.launch(tasks, TASK, None).await;
    for n in 0..3 {
        framework
            .update(&format!("t{n}"), TaskState::Finished, WAIT)
            .await;
    }
    let mut all = task_ids(&cluster, "?limit=-1");
    all.sort();
    assert_eq!(all, ["t0", "t1", "t2"]);
    assert_eq!(task_ids(&cluster, "?limit=1").len(), 1);
    assert_eq!(task_ids(&cluster, "?limit=-1&offset=2").len(), 1);
    assert_eq!(task_ids(&cluster, "?limit=0").len(), 0);
    // Oldest first with order=asc, newest first by default.
    let asc = task_ids(&cluster, "?limit=-1&order=asc");
    let mut desc = task_ids(&cluster, "?limit=-1");
    desc.reverse();
    assert_eq!(asc, desc);
    let master = cluster.master_address();
    for (query, says) in [
        ("limit=-2", "negative"),
        ("limit=lots", "not a number"),
        ("offset=-1", "negative"),
        ("offset=1.5", "not a number"),
    ] {
        let (status, body) = status_of(master, &format!("/master/tasks?{query}"));
        assert_eq!(status, 400, "{query}: {body}");
        assert!(body.contains(says), "{query}: {body}");
    }
    // A framework torn down is completed; its tasks are still listed.
    framework.stop(false).await;
    let completed = common::poll_async(WAIT, || {
        let state = cluster.master_json("/master/frameworks");
        (state["completed_frameworks"].as_array().map(Vec::len) == Some(1)).then_some(())
    })
    .await;
    assert!(completed.is_some(), "the framework was not completed");
    assert_eq!(task_ids(&cluster, "?limit=-1").len(), 3);
}

/// Every ended executor `/state` lists, from live and completed
/// frameworks alike.
fn completed_executors(state: &Value) -> Vec<Value> {
    ["frameworks", "completed_frameworks"]
        .iter()
        .flat_map(|k| state[*k].as_array().cloned().unwrap_or_default())
        .flat_map(|f| {
            f["completed_executors"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .collect()
}

/// The ended executor whose completed tasks hold `task`, once `/state`
/// lists it.
async fn completed_executor_of(cluster: &Cluster, task: &str) -> Value {
    let found = common::poll_async(WAIT, || {
        completed_executors(&cluster.agent_state(0))
            .into_iter()
            .find(|e| {
                e["completed_tasks"]
                    .as_array()
                    .is_some_and(|ts| ts.iter().any(|t| t["id"] == task))
            })
    })
    .await;
    found.unwrap_or_else(|| {
        panic!(
            "no completed executor of {task}: {}",
            cluster.agent_state(0)
        )
    })
}

#[actix::test]
async fn the_sandbox_of_a_finished_task_is_found_through_the_agents_completed_executors() {
    let cluster = Cluster::start(&[], &[AGENT]);
    let framework = Framework::start(cluster.master_address(), info("finished")).await;
    let framework_id = framework.registered().await;
    framework
        .launch(
            vec![command_task("echo", "echo output-of-a-finished-task")],
            TASK,
            None,
        )
        .await;
    framework.update("echo", TaskState::Finished, WAIT).await;
    let executor = completed_executor_of(&cluster, "echo").await;
    assert_eq!(executor["id"], "echo", "{executor}");
    assert_eq!(
        executor["framework_id"],
        framework_id.as_str(),
        "{executor}"
    );
    assert_eq!(executor["tasks"], serde_json::json!([]), "{executor}");
    assert_eq!(
        executor["queued_tasks"],
        serde_json::json!([]),
        "{executor}"
    );
    assert_eq!(executor["completed_tasks"][0]["state"], "TASK_FINISHED");
    assert!(executor["container"]
        .as_str()
        .is_some_and(|c| !c.is_empty()));
    // With no executor left the framework is listed as completed.
    let state = cluster.agent_state(0);
    let done = state["completed_frameworks"]
        .as_array()
        .and_then(|fs| fs.iter().find(|f| f["id"] == framework_id.as_str()))
        .unwrap_or_else(|| panic!("not a completed framework: {state}"));
    assert_eq!(done["executors"], serde_json::json!([]), "{done}");
    // The directory it names is the task's sandbox: its output is read
    // through the agent's files endpoint, as tools read it.
    let directory = executor["directory"].as_str().expect("a directory");
    let agent = cluster.agents[0].address();
    let path = format!("{directory}/stdout");
    let read = get_json(agent, &format!("/files/read?path={path}&offset=0"));
    assert!(
        read["data"]
            .as_str()
            .is_some_and(|d| d.contains("output-of-a-finished-task")),
        "{read}"
    );
}

#[actix::test]
async fn completed_executors_are_bounded_per_framework() {
    let mut cluster = Cluster::start(&[], &[]);
    cluster.add_agent(AGENT);
    // Restart the agent with a bound of one completed executor.
    cluster.agents[0].kill();
    cluster.restart_agent(0, &["--max_completed_executors_per_framework=1"]);
    let registered = common::poll(WAIT, || {
        let slaves = cluster.master_json("/master/slaves");
        (slaves["slaves"][0]["active"] == true).then_some(())
    });
    assert!(registered.is_some(), "the agent did not register");
    let framework = Framework::start(cluster.master_address(), info("bounded")).await;
    framework.registered().await;
    // A long task keeps the framework on the agent while two others end.
    framework
        .launch(
            vec![
                command_task("long", "sleep 600"),
                command_task("first", "true"),
            ],
            TASK,
            None,
        )
        .await;
    framework.update("first", TaskState::Finished, WAIT).await;
    completed_executor_of(&cluster, "first").await;
    framework
        .launch(vec![command_task("second", "true")], TASK, None)
        .await;
    framework.update("second", TaskState::Finished, WAIT).await;
    completed_executor_of(&cluster, "second").await;
    let state = cluster.agent_state(0);
    let ids: Vec<Value> = completed_executors(&state)
        .iter()
        .map(|e| e["id"].clone())
        .collect();
    assert_eq!(ids, [serde_json::json!("second")], "{state}");
    let live: Vec<Value> = state["frameworks"][0]["executors"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| e["id"].clone())
        .collect();
    assert_eq!(live, [serde_json::json!("long")], "{state}");
}

/// Reads from `stream` until `done` holds for what was read or `deadline`
/// passes; returns what was read.
fn read_until(stream: &mut TcpStream, deadline: Duration, done: impl Fn(&str) -> bool) -> String {
    let end = Instant::now() + deadline;
    let mut text = String::new();
    let mut buf = [0u8; 4096];
    while !done(&text) && Instant::now() < end {
        stream
            .set_read_timeout(Some(Duration::from_millis(200)))
            .ok();
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => text.push_str(&String::from_utf8_lossy(&buf[..n])),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => panic!("reading the stream: {e}"),
        }
    }
    text
}

#[test]
fn a_scheduler_stream_beats_right_after_subscribed() {
    // With an agent registered, the master has recovered its registry.
    let cluster = Cluster::start(&[], &[AGENT]);
    let address = cluster.master_address();
    let body = format!(
        r#"{{"type":"SUBSCRIBE","subscribe":{{"framework_info":{{"user":"{}","name":"beating"}}}}}}"#,
        common::current_user()
    );
    let mut stream = TcpStream::connect(address).expect("connect");
    write!(
        stream,
        "POST /api/v1/scheduler HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nAccept: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .expect("write");
    // The periodic beat comes every 15 s: one within 5 s is the first.
    let text = read_until(&mut stream, Duration::from_secs(5), |t| {
        t.contains(r#""type":"HEARTBEAT""#)
    });
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    let subscribed = text.find(r#""type":"SUBSCRIBED""#);
    let heartbeat = text.find(r#""type":"HEARTBEAT""#);
    assert!(
        matches!((subscribed, heartbeat), (Some(s), Some(h)) if s < h),
        "SUBSCRIBED then HEARTBEAT expected: {text}"
    );
    // Nothing came between them.
    let between = &text[subscribed.unwrap_or(0)..heartbeat.unwrap_or(0)];
    assert_eq!(between.matches(r#""type":""#).count(), 1, "{text}");
}
