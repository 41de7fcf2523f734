//! The v1 operator API (`POST /api/v1`) on a real master and agent: every
//! call answers with Mesos's field names, a SUBSCRIBE client follows a
//! task's launch and an agent marked gone, the agent's own calls work
//! (including KILL_CONTAINER), and bad input to every call is a 4xx with a
//! one-line reason, never a crash.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use common::cluster::Cluster;
use common::framework::{command_task, info, Framework};
use serde_json::{json, Value};
use wire::ids::ExecutorId;
use wire::mesos::{CommandInfo, ExecutorInfo};
use wire::resources::Resources;
use wire::task::TaskState;

const WAIT: Duration = Duration::from_secs(20);
const JSON: (&str, &str) = ("Content-Type", "application/json");

/// POSTs `body` to `/api/v1` at `address`: the status and the body.
fn post_with(address: SocketAddr, headers: &[(&str, &str)], body: &[u8]) -> (u16, String) {
    let (status, _, body) = common::http_post(&address.to_string(), "/api/v1", headers, body);
    (status, body)
}

/// A call that must succeed; its JSON answer (`Value::Null` for none).
fn call(address: SocketAddr, body: Value) -> Value {
    let (status, text) = post_with(address, &[JSON], body.to_string().as_bytes());
    assert_eq!(status, 200, "{body}: {text}");
    if text.is_empty() {
        return Value::Null;
    }
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{body}: {e}: {text}"))
}

/// `{"type": kind}` answered as `{"type": kind, "<kind>": {...}}`; the payload.
fn get(address: SocketAddr, kind: &str) -> Value {
    let v = call(address, json!({ "type": kind }));
    assert_eq!(v["type"], kind, "{v}");
    let payload = v[kind.to_ascii_lowercase()].clone();
    assert!(payload.is_object(), "{kind}: {v}");
    payload
}

/// The events of a SUBSCRIBE stream, read on a thread of their own; the
/// connection closes when the receiver's stream is dropped.
struct Events {
    rx: Receiver<Value>,
    seen: Vec<Value>,
    _stream: TcpStream,
}

impl Events {
    fn subscribe(address: SocketAddr) -> Events {
        let body = br#"{"type":"SUBSCRIBE"}"#;
        let mut s = TcpStream::connect(address).expect("connect");
        write!(
            s,
            "POST /api/v1 HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nAccept: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .expect("write");
        s.write_all(body).expect("write");
        let reader = s.try_clone().expect("clone");
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(reader);
            let mut line = String::new();
            // The head: status line, headers, a blank line.
            loop {
                line.clear();
                if r.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                if line == "\r\n" {
                    break;
                }
            }
            common::read_records(r, tx);
        });
        Events {
            rx,
            seen: Vec::new(),
            _stream: s,
        }
    }

    /// Waits for the first event since the last match that `matches`;
    /// returns it. Sleeps on the runtime between tries, so the scheduler
    /// driver on it keeps running.
    async fn next_matching(&mut self, what: &str, matches: impl Fn(&Value) -> bool) -> Value {
        let end = Instant::now() + WAIT;
        loop {
            while let Ok(event) = self.rx.try_recv() {
                self.seen.push(event.clone());
                if matches(&event) {
                    return event;
                }
            }
            if Instant::now() >= end {
                panic!("no {what} on the event stream; saw {:#?}", self.seen);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Events {
    /// Waits for the stream to end (the master closed it), reading what
    /// was still on it.
    async fn ended(&mut self) {
        let end = Instant::now() + WAIT;
        loop {
            match self.rx.try_recv() {
                Ok(event) => self.seen.push(event),
                Err(std::sync::mpsc::TryRecvError::Disconnected) => return,
                Err(std::sync::mpsc::TryRecvError::Empty) => {
                    if Instant::now() >= end {
                        panic!("the stream did not end; saw {:#?}", self.seen);
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
    }
}

fn of_type(kind: &'static str) -> impl Fn(&Value) -> bool {
    move |e| e["type"] == kind
}

#[actix::test]
async fn operators_read_follow_and_change_the_cluster_through_the_v1_api() {
    let mut cluster = Cluster::start(&["--weights=web=2"], &["cpus:2;mem:512"]);
    let master = cluster.master_address();
    let agent_address = cluster.agents[0].address();
    let agent_id = cluster.agent_id(0);

    let mut events = Events::subscribe(master);
    let subscribed = events.next_matching("SUBSCRIBED", |_| true).await;
    assert_eq!(
        subscribed["type"], "SUBSCRIBED",
        "the stream starts with SUBSCRIBED"
    );
    let state = &subscribed["subscribed"]["get_state"];
    assert_eq!(
        state["get_agents"]["agents"][0]["agent_info"]["id"]["value"], agent_id,
        "{subscribed}"
    );
    assert_eq!(subscribed["subscribed"]["heartbeat_interval_seconds"], 15.0);
    let beat = events
        .next_matching("an event after SUBSCRIBED", |_| true)
        .await;
    assert_eq!(
        beat,
        json!({"type": "HEARTBEAT"}),
        "a heartbeat follows at once"
    );

    // A framework arrives and launches a task: the stream follows.
    let framework = Framework::start(master, info("operated")).await;
    let framework_id = framework.registered().await.to_string();
    let added = events
        .next_matching("FRAMEWORK_ADDED", of_type("FRAMEWORK_ADDED"))
        .await;
    assert_eq!(
        added["framework_added"]["framework"]["framework_info"]["id"]["value"],
        framework_id
    );
    framework
        .launch(
            vec![command_task("sleeper", "echo operator-output; sleep 1000")],
            "cpus:0.5;mem:64",
            None,
        )
        .await;
    let task_added = events
        .next_matching("TASK_ADDED", of_type("TASK_ADDED"))
        .await;
    let task = &task_added["task_added"]["task"];
    assert_eq!(task["task_id"]["value"], "sleeper", "{task_added}");
    assert_eq!(task["framework_id"]["value"], framework_id);
    assert_eq!(task["agent_id"]["value"], agent_id);
    assert_eq!(task["state"], "TASK_STAGING");
    // TASK_UPDATED(TASK_RUNNING) comes after TASK_ADDED: the wait starts
    // after it in the stream.
    let running = events
        .next_matching("TASK_UPDATED to TASK_RUNNING", |e| {
            e["type"] == "TASK_UPDATED" && e["task_updated"]["state"] == "TASK_RUNNING"
        })
        .await;
    let updated = &running["task_updated"];
    assert_eq!(updated["framework_id"]["value"], framework_id);
    assert_eq!(updated["status"]["task_id"]["value"], "sleeper");
    assert_eq!(updated["status"]["state"], "TASK_RUNNING");
    framework.update("sleeper", TaskState::Running, WAIT).await;

    // The read-only calls, with Mesos's field names.
    assert_eq!(get(master, "GET_HEALTH"), json!({"healthy": true}));
    let flags = get(master, "GET_FLAGS")["flags"].clone();
    assert!(
        flags
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "weights" && f["value"] == "web=2"),
        "{flags}"
    );
    assert!(get(master, "GET_VERSION")["version_info"]["version"].is_string());
    let metrics = call(
        master,
        json!({"type": "GET_METRICS", "get_metrics": {"timeout": {"nanoseconds": 5_000_000_000i64}}}),
    );
    let metric = |name: &str| {
        metrics["get_metrics"]["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == name)
            .map(|m| m["value"].clone())
    };
    assert_eq!(metric("master/elected"), Some(json!(1.0)), "{metrics}");
    assert_eq!(
        metric("master/operator_event_stream_subscribers"),
        Some(json!(1.0)),
        "{metrics}"
    );
    let tasks = get(master, "GET_TASKS");
    let t = &tasks["tasks"][0];
    assert_eq!(t["task_id"]["value"], "sleeper", "{tasks}");
    assert_eq!(t["agent_id"]["value"], agent_id);
    assert_eq!(t["state"], "TASK_RUNNING");
    assert!(t["resources"].as_array().is_some_and(|r| r
        .iter()
        .any(|r| r["name"] == "cpus" && r["scalar"]["value"] == 0.5)));
    assert!(t.get("slave_id").is_none(), "v1 names: {t}");
    let agents = get(master, "GET_AGENTS");
    let a = &agents["agents"][0];
    assert_eq!(a["agent_info"]["id"]["value"], agent_id, "{agents}");
    assert_eq!(a["active"], true);
    assert!(a["registered_time"]["nanoseconds"].is_i64());
    assert!(a["total_resources"].is_array());
    let frameworks = get(master, "GET_FRAMEWORKS");
    let f = &frameworks["frameworks"][0];
    assert_eq!(
        f["framework_info"]["id"]["value"], framework_id,
        "{frameworks}"
    );
    assert_eq!(f["connected"], true);
    let got_state = get(master, "GET_STATE");
    for part in ["get_tasks", "get_frameworks", "get_agents", "get_executors"] {
        assert!(got_state[part].is_object(), "{part}: {got_state}");
    }
    let master_info = get(master, "GET_MASTER");
    assert!(
        master_info["master_info"]["id"].is_string(),
        "{master_info}"
    );
    assert!(master_info["start_time"].is_f64());
    let roles = get(master, "GET_ROLES");
    assert!(
        roles["roles"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == "web" && r["weight"] == 2.0),
        "{roles}"
    );
    assert_eq!(get(master, "GET_OPERATIONS"), json!({}));
    assert_eq!(
        get(master, "GET_QUOTA"),
        json!({"status": {"infos": [], "configs": []}})
    );
    assert_eq!(get(master, "GET_MAINTENANCE_STATUS"), json!({"status": {}}));
    assert_eq!(
        get(master, "GET_MAINTENANCE_SCHEDULE"),
        json!({"schedule": {}})
    );
    get(master, "GET_EXECUTORS");
    assert_eq!(get(master, "GET_LOGGING_LEVEL"), json!({"level": 0}));
    call(
        master,
        json!({"type": "SET_LOGGING_LEVEL", "set_logging_level": {"level": 2, "duration": {"nanoseconds": 60_000_000_000i64}}}),
    );
    assert_eq!(get(master, "GET_LOGGING_LEVEL"), json!({"level": 2}));
    call(
        master,
        json!({"type": "UPDATE_WEIGHTS", "update_weights": {"weight_infos": [{"role": "web", "weight": 3.5}]}}),
    );
    let weights = get(master, "GET_WEIGHTS");
    assert_eq!(
        weights["weight_infos"],
        json!([{"role": "web", "weight": 3.5}]),
        "{weights}"
    );
    // An agent deactivated by an operator is shown so until reactivated.
    let agent_call = |kind: &str| {
        let field = kind.to_ascii_lowercase();
        json!({"type": kind, field: {"agent_id": {"value": agent_id}}})
    };
    call(master, agent_call("DEACTIVATE_AGENT"));
    let a = get(master, "GET_AGENTS")["agents"][0].clone();
    assert_eq!(
        (&a["active"], &a["deactivated"]),
        (&json!(false), &json!(true)),
        "{a}"
    );
    call(master, agent_call("REACTIVATE_AGENT"));
    let a = get(master, "GET_AGENTS")["agents"][0].clone();
    assert_eq!(
        (&a["active"], &a["deactivated"]),
        (&json!(true), &json!(false)),
        "{a}"
    );
    // A volume call without its volume is refused.
    let (status, text) = post_with(
        master,
        &[JSON],
        br#"{"type":"GROW_VOLUME","grow_volume":{"agent_id":{"value":"x"}}}"#,
    );
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("grow_volume.volume"), "{text}");

    // The agent's own calls.
    assert_eq!(get(agent_address, "GET_HEALTH"), json!({"healthy": true}));
    get(agent_address, "GET_FLAGS");
    get(agent_address, "GET_VERSION");
    get(agent_address, "GET_METRICS");
    let agent_tasks = get(agent_address, "GET_TASKS");
    assert_eq!(
        agent_tasks["launched_tasks"][0]["task_id"]["value"], "sleeper",
        "{agent_tasks}"
    );
    let agent_state = get(agent_address, "GET_STATE");
    assert_eq!(
        agent_state["get_frameworks"]["frameworks"][0]["framework_info"]["id"]["value"],
        framework_id,
        "{agent_state}"
    );
    let executors = get(agent_address, "GET_EXECUTORS");
    assert_eq!(
        executors["executors"][0]["executor_info"]["executor_id"]["value"], "sleeper",
        "{executors}"
    );
    let containers = get(agent_address, "GET_CONTAINERS");
    let container = &containers["containers"][0];
    assert_eq!(container["executor_id"]["value"], "sleeper", "{containers}");
    assert_eq!(container["framework_id"]["value"], framework_id);
    assert!(
        container["container_status"]["executor_pid"].is_i64(),
        "{containers}"
    );
    let container_id = container["container_id"]["value"]
        .as_str()
        .expect("a container id")
        .to_owned();
    // The sandbox, through LIST_FILES and READ_FILE.
    let directory = cluster.agent_state(0)["frameworks"][0]["executors"][0]["directory"]
        .as_str()
        .expect("the executor's directory")
        .to_owned();
    let listed = common::poll_async(WAIT, || {
        let v = call(
            agent_address,
            json!({"type": "LIST_FILES", "list_files": {"path": directory}}),
        );
        let infos = v["list_files"]["file_infos"].as_array()?.clone();
        infos
            .iter()
            .any(|i| i["path"].as_str().is_some_and(|p| p.ends_with("/stdout")))
            .then_some(infos)
    })
    .await
    .expect("stdout in the sandbox");
    assert!(listed
        .iter()
        .all(|i| i["mtime"]["nanoseconds"].is_i64() && i["mode"].is_u64()));
    let stdout = format!("{directory}/stdout");
    let read = common::poll_async(WAIT, || {
        let v = call(
            agent_address,
            json!({"type": "READ_FILE", "read_file": {"path": stdout, "offset": 0}}),
        );
        let data = v["read_file"]["data"].as_str()?;
        let text = decode_base64(data);
        text.contains("operator-output").then_some(v)
    })
    .await;
    assert!(read.is_some(), "READ_FILE of stdout");
    let (status, text) = post_with(
        agent_address,
        &[JSON],
        br#"{"type":"ATTACH_CONTAINER_OUTPUT","attach_container_output":{"container_id":{"value":"c"}}}"#,
    );
    assert_eq!(status, 501, "{text}");
    assert!(text.contains("not supported"), "{text}");
    // KILL_CONTAINER ends the executor, and with it the task.
    call(
        agent_address,
        json!({"type": "KILL_CONTAINER", "kill_container": {"container_id": {"value": container_id}}}),
    );
    let ended = events
        .next_matching("the killed container's task ending", |e| {
            e["type"] == "TASK_UPDATED"
                && e["task_updated"]["status"]["task_id"]["value"] == "sleeper"
                && e["task_updated"]["state"]
                    .as_str()
                    .is_some_and(|s| s != "TASK_RUNNING")
        })
        .await;
    assert_ne!(ended["task_updated"]["state"], "TASK_STAGING", "{ended}");
    // The ended executor and its task stay listed, as completed.
    let completed = common::poll_async(WAIT, || {
        let executors = get(agent_address, "GET_EXECUTORS");
        let done = executors["completed_executors"][0]["executor_info"]["executor_id"]["value"]
            == "sleeper";
        done.then_some(get(agent_address, "GET_TASKS"))
    })
    .await
    .expect("the killed executor among completed_executors");
    assert_eq!(
        completed["completed_tasks"][0]["task_id"]["value"], "sleeper",
        "{completed}"
    );

    // MARK_AGENT_GONE: AGENT_REMOVED on the stream, the agent leaves and
    // is told to shut down.
    call(master, agent_call("MARK_AGENT_GONE"));
    let removed = events
        .next_matching("AGENT_REMOVED", of_type("AGENT_REMOVED"))
        .await;
    assert_eq!(removed["agent_removed"]["agent_id"]["value"], agent_id);
    assert!(get(master, "GET_AGENTS").get("agents").is_none());
    let exited = cluster.agents[0].wait_exit(WAIT);
    assert!(exited.is_some(), "the gone agent was told to shut down");
    // TEARDOWN removes the framework: FRAMEWORK_REMOVED follows.
    call(
        master,
        json!({"type": "TEARDOWN", "teardown": {"framework_id": {"value": framework_id}}}),
    );
    let removed = events
        .next_matching("FRAMEWORK_REMOVED", of_type("FRAMEWORK_REMOVED"))
        .await;
    assert_eq!(
        removed["framework_removed"]["framework_info"]["id"]["value"],
        framework_id
    );
    // Marking it gone again is a no-op.
    call(master, agent_call("MARK_AGENT_GONE"));
}

/// Decodes standard base64 (what `bytes` fields carry in JSON).
fn decode_base64(text: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::new();
    for c in text.bytes().filter(|c| *c != b'=') {
        let Some(v) = ALPHABET.iter().position(|a| *a == c) else {
            break;
        };
        bits = (bits << 6) | v as u32;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[actix::test]
async fn bad_input_to_every_call_is_a_4xx_with_a_reason() {
    let cluster = Cluster::start(&[], &["cpus:1;mem:256"]);
    let master = cluster.master_address();
    let agent = cluster.agents[0].address();
    let oversized = format!(
        r#"{{"type":"GET_HEALTH","padding":"{}"}}"#,
        "x".repeat(2 << 20)
    );
    // (where, what, headers, body, status, text the reason holds)
    type Case<'a> = (
        SocketAddr,
        &'a str,
        Vec<(&'a str, &'a str)>,
        Vec<u8>,
        u16,
        &'a str,
    );
    let mut cases: Vec<Case> = Vec::new();
    for address in [master, agent] {
        cases.extend([
            (address, "not JSON", vec![JSON], b"{nope".to_vec(), 400, "JSON"),
            (address, "an array", vec![JSON], b"[1]".to_vec(), 400, "object"),
            (address, "no type", vec![JSON], b"{}".to_vec(), 400, "type"),
            (address, "a numeric type", vec![JSON], br#"{"type":3}"#.to_vec(), 400, ""),
            (address, "an unknown call", vec![JSON], br#"{"type":"FLY"}"#.to_vec(), 400, "FLY"),
            (address, "UNKNOWN", vec![JSON], br#"{"type":"UNKNOWN"}"#.to_vec(), 501, ""),
            (address, "no content type", vec![], br#"{"type":"GET_HEALTH"}"#.to_vec(), 400, "Content-Type"),
            (
                address,
                "protobuf",
                vec![("Content-Type", "application/x-protobuf")],
                br#"{"type":"GET_HEALTH"}"#.to_vec(),
                415,
                "application/x-protobuf",
            ),
            (
                address,
                "JSON not acceptable",
                vec![JSON, ("Accept", "application/x-protobuf")],
                br#"{"type":"GET_HEALTH"}"#.to_vec(),
                406,
                "Accept",
            ),
            (address, "oversized", vec![JSON], oversized.clone().into_bytes(), 400, "larger"),
            (
                address,
                "READ_FILE without offset",
                vec![JSON],
                br#"{"type":"READ_FILE","read_file":{"path":"/etc/hostname"}}"#.to_vec(),
                400,
                "offset",
            ),
            (
                address,
                "READ_FILE outside the sandboxes",
                vec![JSON],
                br#"{"type":"READ_FILE","read_file":{"path":"/etc/hostname","offset":0}}"#.to_vec(),
                0,
                "",
            ),
            (
                address,
                "LIST_FILES of a missing path",
                vec![JSON],
                br#"{"type":"LIST_FILES","list_files":{"path":"/no/such/dir"}}"#.to_vec(),
                404,
                "",
            ),
            (
                address,
                "SET_LOGGING_LEVEL with a string level",
                vec![JSON],
                br#"{"type":"SET_LOGGING_LEVEL","set_logging_level":{"level":"high","duration":{"nanoseconds":1}}}"#.to_vec(),
                400,
                "",
            ),
            (
                address,
                "GET_METRICS with a negative timeout",
                vec![JSON],
                br#"{"type":"GET_METRICS","get_metrics":{"timeout":{"nanoseconds":-1}}}"#.to_vec(),
                400,
                "negative",
            ),
        ]);
    }
    cases.extend([
        (master, "an unknown agent gone", vec![JSON], br#"{"type":"MARK_AGENT_GONE","mark_agent_gone":{"agent_id":{"value":"nope"}}}"#.to_vec(), 404, "nope"),
        (master, "an agent id of the wrong type", vec![JSON], br#"{"type":"MARK_AGENT_GONE","mark_agent_gone":{"agent_id":7}}"#.to_vec(), 400, ""),
        (master, "an unknown agent deactivated", vec![JSON], br#"{"type":"DEACTIVATE_AGENT","deactivate_agent":{"agent_id":{"value":"nope"}}}"#.to_vec(), 404, "nope"),
        (master, "an unknown agent reactivated", vec![JSON], br#"{"type":"REACTIVATE_AGENT","reactivate_agent":{"agent_id":{"value":"nope"}}}"#.to_vec(), 404, "nope"),
        (master, "an unknown framework torn down", vec![JSON], br#"{"type":"TEARDOWN","teardown":{"framework_id":{"value":"nope"}}}"#.to_vec(), 400, "No framework"),
        (master, "TEARDOWN without its payload", vec![JSON], br#"{"type":"TEARDOWN"}"#.to_vec(), 400, "teardown"),
        (master, "a negative weight", vec![JSON], br#"{"type":"UPDATE_WEIGHTS","update_weights":{"weight_infos":[{"role":"a","weight":-2}]}}"#.to_vec(), 400, "positive"),
        (master, "weights of the wrong type", vec![JSON], br#"{"type":"UPDATE_WEIGHTS","update_weights":{"weight_infos":{"role":"a"}}}"#.to_vec(), 400, ""),
        (master, "an agent call on the master", vec![JSON], br#"{"type":"GET_CONTAINERS"}"#.to_vec(), 400, "GET_CONTAINERS"),
        (master, "RESERVE_RESOURCES without an agent", vec![JSON], br#"{"type":"RESERVE_RESOURCES","reserve_resources":{"resources":[]}}"#.to_vec(), 400, "agent_id"),
        (agent, "a master call on the agent", vec![JSON], br#"{"type":"GET_AGENTS"}"#.to_vec(), 400, "GET_AGENTS"),
        (agent, "KILL_CONTAINER of an unknown container", vec![JSON], br#"{"type":"KILL_CONTAINER","kill_container":{"container_id":{"value":"nope"}}}"#.to_vec(), 404, "nope"),
        (agent, "KILL_CONTAINER without a container", vec![JSON], br#"{"type":"KILL_CONTAINER","kill_container":{}}"#.to_vec(), 400, "container_id"),
    ]);
    for (address, what, headers, body, status, text) in &cases {
        let (got, reason) = post_with(*address, headers, body);
        if *status == 0 {
            assert!(
                (400..500).contains(&got),
                "{what} at {address}: {got} {reason}"
            );
        } else {
            assert_eq!(got, *status, "{what} at {address}: {reason}");
        }
        assert!(reason.contains(text), "{what} at {address}: {reason}");
        assert!(
            !reason.trim_end().contains('\n'),
            "{what}: one line: {reason}"
        );
    }
    // GET is refused; both daemons still serve.
    let (status, _) = common::cluster::http_get(master, "/api/v1").expect("GET");
    assert_eq!(status, 405);
    assert_eq!(get(master, "GET_HEALTH"), json!({"healthy": true}));
    assert_eq!(get(agent, "GET_HEALTH"), json!({"healthy": true}));
}

/// pymesos's operator drivers (`MesosOperatorMasterDriver` and
/// `MesosOperatorAgentDriver`, from PyPI, installed by `scripts/setup.sh`),
/// unmodified, follow a task's launch on the event stream and read the
/// cluster and the agent through the calls.
#[actix::test]
async fn pymesos_operator_driver_follows_a_task_and_reads_the_cluster() {
    use std::process::{Command, Stdio};
    let cluster = Cluster::start(&[], &["cpus:1;mem:256"]);
    let master = cluster.master_address();
    let agent_id = cluster.agent_id(0);
    let mut child = Command::new(common::venv_python())
        .arg(common::pymesos_script("operator_follower.py"))
        .arg(master.to_string())
        .arg(cluster.agents[0].address().to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the pymesos operator driver");
    let stdout = child.stdout.take().expect("stdout");
    let stderr = child.stderr.take().expect("stderr");
    let _guard = common::Guard(child);
    let (tx, rx) = channel::<String>();
    let err_tx = tx.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if err_tx.send(format!("stderr: {line}")).is_err() {
                return;
            }
        }
    });
    let mut lines: Vec<String> = Vec::new();
    let mut wait_for = async |what: &str| {
        let end = Instant::now() + WAIT;
        loop {
            while let Ok(line) = rx.try_recv() {
                lines.push(line);
            }
            // The calls' answers and the stream's events come on two
            // threads of the driver: their lines interleave.
            if let Some(at) = lines.iter().position(|l| l.starts_with(what)) {
                return lines.remove(at);
            }
            if Instant::now() >= end {
                panic!("pymesos never said {what:?}; it said {lines:#?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    assert_eq!(wait_for("subscribed").await, "subscribed 1");
    let agents = wait_for("agents").await;
    assert!(agents.contains(&agent_id), "{agents}");
    wait_for("calls ok").await;
    wait_for("agent calls ok").await;
    let framework = Framework::start(master, info("followed")).await;
    framework.registered().await;
    wait_for("framework_added followed").await;
    framework
        .launch(
            vec![command_task("watched", "sleep 1000")],
            "cpus:0.5;mem:64",
            None,
        )
        .await;
    wait_for("task_added watched").await;
    wait_for("task_updated watched TASK_RUNNING").await;
}

#[actix::test]
async fn the_oldest_subscriber_is_closed_past_the_maximum() {
    let cluster = Cluster::start(
        &["--max_operator_event_stream_subscribers=1"],
        &["cpus:1;mem:128"],
    );
    let master = cluster.master_address();
    let mut first = Events::subscribe(master);
    first
        .next_matching("SUBSCRIBED", of_type("SUBSCRIBED"))
        .await;
    let mut second = Events::subscribe(master);
    second
        .next_matching("SUBSCRIBED", of_type("SUBSCRIBED"))
        .await;
    // The master closes the first stream to make room for the second.
    first.ended().await;
    let metrics = get(master, "GET_METRICS");
    let subscribers = metrics["metrics"]
        .as_array()
        .and_then(|m| {
            m.iter()
                .find(|m| m["name"] == "master/operator_event_stream_subscribers")
        })
        .map(|m| m["value"].clone());
    assert_eq!(subscribers, Some(json!(1.0)), "{metrics}");
}

/// Sends a request that is not valid HTTP, reads until the master closes
/// the connection, and waits until the master has counted it as refused
/// (it logs why, at debug, in the same step).
fn send_garbage(address: SocketAddr, refused_before: f64) {
    let mut stream = TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nno colon here\r\n\r\n")
        .unwrap();
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest);
    let counted = common::poll(WAIT, || {
        let n = common::cluster::metric(address, "actors/http/bad_requests")?;
        (n > refused_before).then_some(())
    });
    assert!(counted.is_some(), "the bad request is counted");
}

#[actix::test]
async fn set_logging_level_shows_debug_lines_for_its_duration_only() {
    let cluster = Cluster::start(&[], &["cpus:1;mem:128"]);
    let master = cluster.master_address();
    let logged = || cluster.master.log().matches("bad HTTP request").count();
    let counted = || common::cluster::metric(master, "actors/http/bad_requests").unwrap_or(0.0);
    let set = |level: u32, nanos: i64| {
        call(
            master,
            json!({"type": "SET_LOGGING_LEVEL", "set_logging_level": {"level": level, "duration": {"nanoseconds": nanos}}}),
        )
    };

    // At INFO the refusal is not logged; raised, it is.
    send_garbage(master, counted());
    set(1, 1_500_000_000);
    send_garbage(master, counted());
    let shown = common::poll(WAIT, || (logged() >= 1).then_some(()));
    assert!(
        shown.is_some(),
        "the raised level shows the refusal at debug"
    );
    assert_eq!(logged(), 1, "only the refusal made at the raised level");

    // After its duration the level is the daemon's own again.
    let back = common::poll_async(WAIT, || {
        (get(master, "GET_LOGGING_LEVEL") == json!({"level": 0})
            && cluster.master.log().contains("logging level back"))
        .then_some(())
    })
    .await;
    assert!(back.is_some(), "the level comes back after its duration");
    send_garbage(master, counted());
    set(1, 60_000_000_000);
    send_garbage(master, counted());
    let shown = common::poll(WAIT, || (logged() >= 2).then_some(()));
    assert!(shown.is_some(), "raised again, the refusal is shown again");
    assert_eq!(
        logged(),
        2,
        "the refusal made between the two raises was not logged"
    );
}

/// GET_EXECUTORS lists the executors the master knows: one launched with
/// a task group, under its agent, until it exits.
#[actix::test]
async fn get_executors_lists_a_launched_executor_with_its_agent() {
    let cluster = Cluster::start(&[], &["cpus:2;mem:512"]);
    let master = cluster.master_address();
    let agent_id = cluster.agent_id(0);
    let framework = Framework::start(master, info("executors")).await;
    let framework_id = framework.registered().await.to_string();
    assert!(
        get(master, "GET_EXECUTORS").get("executors").is_none(),
        "none before a launch"
    );
    let executor = ExecutorInfo {
        executor_id: ExecutorId::new("pod"),
        framework_id: None,
        command: CommandInfo {
            value: None,
            shell: false,
            arguments: Vec::new(),
            environment: Vec::new(),
            uris: Vec::new(),
            user: None,
        },
        resources: Resources::parse("cpus:0.1;mem:32", "*").expect("resources"),
        name: Some("a pod".into()),
        shutdown_grace_period: None,
        container: None,
    };
    framework
        .launch_group(
            executor,
            vec![command_task("short", "sleep 1")],
            "cpus:0.5;mem:64",
        )
        .await;
    framework.update("short", TaskState::Running, WAIT).await;
    let executors = get(master, "GET_EXECUTORS");
    let listed = executors["executors"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(listed.len(), 1, "{executors}");
    let e = &listed[0];
    assert_eq!(e["agent_id"]["value"], agent_id, "{e}");
    assert_eq!(e["executor_info"]["executor_id"]["value"], "pod", "{e}");
    assert_eq!(
        e["executor_info"]["framework_id"]["value"], framework_id,
        "{e}"
    );
    assert_eq!(e["executor_info"]["name"], "a pod", "{e}");
    let in_state = get(master, "GET_STATE");
    assert_eq!(
        in_state["get_executors"], executors,
        "GET_STATE carries the same list"
    );

    // The group's only task ends, its executor exits and is forgotten.
    framework.update("short", TaskState::Finished, WAIT).await;
    let deadline = Instant::now() + WAIT;
    while get(master, "GET_EXECUTORS").get("executors").is_some() {
        assert!(
            Instant::now() < deadline,
            "the exited executor is still listed: {}",
            get(master, "GET_EXECUTORS")
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
