//! `marathon` on a real cluster: the guides' requests, scaling, placement
//! constraints, restarts with backoff, and destroying an app.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use common::cluster::{Cluster, Daemon};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(30);

fn marathon(cluster: &Cluster) -> Daemon {
    Daemon::start(
        "marathon",
        Path::new(env!("CARGO_BIN_EXE_marathon")),
        &[
            format!("--master={}", cluster.master_address()),
            "--http_port=0".into(),
            "--disable_ha".into(),
            format!("--work_dir={}", cluster.dir().join("marathon").display()),
        ],
        cluster.dir().join("marathon.log"),
    )
}

/// One request; the status and the JSON body (`Null` if none or not JSON).
fn request(address: SocketAddr, method: &str, path: &str, body: &str) -> (u16, Value) {
    let mut s = TcpStream::connect(address).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body.as_bytes()).unwrap();
    let mut raw = String::new();
    let _ = s.read_to_string(&mut raw);
    let status = raw
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = raw.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

fn app(address: SocketAddr, id: &str) -> Value {
    let (status, body) = request(address, "GET", &format!("/v2/apps/{id}"), "");
    assert_eq!(status, 200, "{body}");
    body["app"].clone()
}

/// Waits until the app has `running` tasks running (and no more); how long it took.
fn await_running(address: SocketAddr, id: &str, running: u64) -> Duration {
    let start = Instant::now();
    let reached = common::poll(WAIT, || {
        let a = app(address, id);
        (a["tasksRunning"] == running
            && a["tasks"].as_array().map(Vec::len) == Some(running as usize))
        .then_some(())
    });
    assert!(
        reached.is_some(),
        "{id} never had {running} running: {}",
        app(address, id)
    );
    start.elapsed()
}

fn running_at_master(cluster: &Cluster) -> usize {
    let tasks = cluster.master_json("/master/tasks");
    tasks["tasks"].as_array().map_or(0, |t| {
        t.iter().filter(|t| t["state"] == "TASK_RUNNING").count()
    })
}

#[test]
fn apps_are_created_scaled_constrained_restarted_and_destroyed() {
    let mut cluster = Cluster::start(&[], &[]);
    cluster.add_agent_with(
        "cpus:4;mem:1024;ports:[31000-31100]",
        &["--hostname=agent-a", "--attributes=rack:r1"],
    );
    cluster.add_agent_with(
        "cpus:4;mem:1024;ports:[31000-31100]",
        &["--hostname=agent-b", "--attributes=rack:r2"],
    );
    let m = marathon(&cluster);
    let address = m.address();
    assert_eq!(
        request(address, "GET", "/v2/info", "").1["name"],
        "marathon"
    );

    // Create, then scale 1 -> 5 -> 2.
    let (status, created) = request(
        address,
        "POST",
        "/v2/apps",
        r#"{"id": "sleepy", "cmd": "sleep 600", "cpus": 0.1, "mem": 16, "instances": 1}"#,
    );
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["id"], "/sleepy");
    await_running(address, "sleepy", 1);
    let (status, _) = request(address, "PUT", "/v2/apps/sleepy", r#"{"instances": 5}"#);
    assert_eq!(status, 200);
    let up = await_running(address, "sleepy", 5);
    println!("scaled 1 -> 5 in {up:?}");
    assert!(up < Duration::from_secs(10), "{up:?}");
    let (status, _) = request(address, "PUT", "/v2/apps/sleepy", r#"{"instances": 2}"#);
    assert_eq!(status, 200);
    await_running(address, "sleepy", 2);
    let at_master = common::poll(WAIT, || (running_at_master(&cluster) == 2).then_some(()));
    assert!(
        at_master.is_some(),
        "the master still runs {}",
        running_at_master(&cluster)
    );
    let tasks = app(address, "sleepy")["tasks"].clone();
    for t in tasks.as_array().unwrap() {
        let port = t["ports"][0].as_u64().unwrap();
        assert!((31000..=31100).contains(&port), "{t}");
    }

    // GROUP_BY rack spreads; the guide's CLUSTER to an unknown host waits.
    let (status, _) = request(
        address,
        "POST",
        "/v2/apps",
        r#"{"id": "spread", "cmd": "sleep 600", "cpus": 0.1, "mem": 16, "instances": 4, "constraints": [["rack", "GROUP_BY"]]}"#,
    );
    assert_eq!(status, 201);
    await_running(address, "spread", 4);
    let hosts: Vec<String> = app(address, "spread")["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["host"].as_str().unwrap().to_owned())
        .collect();
    let on_a = hosts.iter().filter(|h| *h == "agent-a").count();
    assert_eq!((on_a, hosts.len() - on_a), (2, 2), "{hosts:?}");
    let (status, _) = request(
        address,
        "POST",
        "/v2/apps",
        r#"{"id": "sleep-cluster", "cmd": "sleep 60", "instances": 3, "cpus": 0.1, "mem": 16, "constraints": [["hostname", "CLUSTER", "a.specific.node.com"]]}"#,
    );
    assert_eq!(status, 201);
    let queued = common::poll(WAIT, || {
        let (_, q) = request(address, "GET", "/v2/queue", "");
        let entry = q["queue"]
            .as_array()?
            .iter()
            .find(|e| e["app"]["id"] == "/sleep-cluster")?
            .clone();
        (entry["count"] == 3).then_some(())
    });
    assert!(queued.is_some(), "the constrained app waits in the queue");
    assert_eq!(app(address, "sleep-cluster")["tasksRunning"], 0);

    // The guide's request with its trailing comma is 400, as Marathon answers.
    let (status, body) = request(
        address,
        "POST",
        "/v2/apps",
        r#"{"cmd": "mesos-dns", "cpus": 1.0, "mem": 1024, "id": "mesos-dns", "instances": 1,}"#,
    );
    assert_eq!(
        (status, body["message"].clone()),
        (400, json!("Invalid JSON"))
    );
    let (status, body) = request(
        address,
        "POST",
        "/v2/apps",
        r#"{"id": "Bad_Id", "cmd": "x"}"#,
    );
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["details"][0]["path"], "/id");

    // A failing command is launched again, each time after a longer delay.
    let (status, _) = request(
        address,
        "POST",
        "/v2/apps",
        r#"{"id": "crashy", "cmd": "exit 1", "cpus": 0.1, "mem": 16, "backoffSeconds": 1, "backoffFactor": 2}"#,
    );
    assert_eq!(status, 201);
    let mut launches: Vec<(String, Instant)> = Vec::new();
    let relaunched = common::poll(WAIT, || {
        let tasks = cluster.master_json("/master/tasks");
        for t in tasks["tasks"].as_array()? {
            let id = t["id"].as_str()?.to_owned();
            if id.starts_with("crashy.") && !launches.iter().any(|(l, _)| *l == id) {
                launches.push((id, Instant::now()));
            }
        }
        (launches.len() >= 3).then_some(())
    });
    assert!(relaunched.is_some(), "launches seen: {launches:?}");
    assert!(
        launches.iter().any(|(id, _)| id.ends_with("._app.3")),
        "{launches:?}"
    );
    let gap = launches[2].1 - launches[1].1;
    assert!(
        gap >= Duration::from_millis(1500),
        "the second delay doubled: {gap:?}"
    );

    // Destroyed: 404, and its tasks are gone from the master.
    for id in ["sleepy", "spread", "sleep-cluster", "crashy"] {
        let (status, body) = request(address, "DELETE", &format!("/v2/apps/{id}"), "");
        assert_eq!(status, 200, "{body}");
    }
    let (status, body) = request(address, "GET", "/v2/apps/sleepy", "");
    assert_eq!(
        (status, body),
        (404, json!({"message": "App '/sleepy' does not exist"}))
    );
    let gone = common::poll(WAIT, || (running_at_master(&cluster) == 0).then_some(()));
    assert!(
        gone.is_some(),
        "tasks left running: {}",
        running_at_master(&cluster)
    );
}
