//! `marathon` keeping its state and failing over, with real binaries: two
//! instances sharing a ZooKeeper elect a leader, the standby proxies to it,
//! an abdication and a SIGKILL of the leader hand over to the other
//! without restarting a task; a lost ZooKeeper session stops the leader;
//! a single instance with the file store keeps its apps and running tasks
//! across a restart and replaces the one that died meanwhile.

mod common;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::cluster::{Cluster, Daemon};
use common::zookeeper::ZooKeeper;
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(30);
/// From the leader's SIGKILL to the standby serving as leader: the
/// ZooKeeper session timeout of the dead leader (2 s) for its election
/// znode to go, then loading the state (milliseconds), with margin for a
/// loaded 2-core machine.
const TAKEOVER_BOUND: Duration = Duration::from_secs(15);

fn marathon(cluster: &Cluster, name: &str, extra: &[String]) -> Daemon {
    let mut args = vec![
        format!("--master={}", cluster.master_address()),
        "--http_port=0".into(),
        "--zk_session_timeout=2000".into(),
    ];
    args.extend_from_slice(extra);
    Daemon::start(
        name,
        Path::new(env!("CARGO_BIN_EXE_marathon")),
        &args,
        cluster.dir().join(format!("{name}.log")),
    )
}

struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Value,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn send(
    address: SocketAddr,
    method: &str,
    path: &str,
    body: &str,
    extra: &[(&str, &str)],
) -> Answer {
    let mut s = TcpStream::connect(address).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in extra {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body.as_bytes()).unwrap();
    let mut raw = String::new();
    let _ = s.read_to_string(&mut raw);
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((raw.as_str(), ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    // Bodies may come chunked: take the JSON between the chunk sizes.
    let json = serde_json::from_str(body).unwrap_or_else(|_| {
        let start = body.find(['{', '[']).unwrap_or(0);
        let end = body.rfind(['}', ']']).map_or(body.len(), |e| e + 1);
        serde_json::from_str(body.get(start..end).unwrap_or("")).unwrap_or(Value::Null)
    });
    Answer {
        status,
        headers,
        body: json,
    }
}

fn get(address: SocketAddr, path: &str) -> Answer {
    send(address, "GET", path, "", &[])
}

/// Who `address` says leads (proxied on a standby).
fn leader_of(address: SocketAddr) -> Option<String> {
    let a = get(address, "/v2/leader");
    (a.status == 200).then(|| a.body["leader"].as_str().map(str::to_owned))?
}

fn await_leader(address: SocketAddr, leader: SocketAddr, within: Duration) -> Duration {
    let start = Instant::now();
    let want = leader.to_string();
    let seen = common::poll(within, || (leader_of(address)? == want).then_some(()));
    assert!(
        seen.is_some(),
        "{address} never named {want} the leader within {within:?} (it says {:?})",
        leader_of(address)
    );
    start.elapsed()
}

/// The app's running task ids, once it has `running` tasks running.
fn await_running(address: SocketAddr, id: &str, running: usize) -> BTreeSet<String> {
    await_running_at(address, id, running, None)
}

/// The same, of tasks of `version` if given.
fn await_running_at(
    address: SocketAddr,
    id: &str,
    running: usize,
    version: Option<&str>,
) -> BTreeSet<String> {
    let ids = common::poll(WAIT, || {
        let a = get(address, &format!("/v2/apps/{id}"));
        let tasks = a.body["app"]["tasks"].as_array()?;
        let ids: BTreeSet<String> = tasks
            .iter()
            .filter(|t| t["state"] == "TASK_RUNNING")
            .filter(|t| version.is_none_or(|v| t["version"] == v))
            .filter_map(|t| t["id"].as_str().map(str::to_owned))
            .collect();
        (a.body["app"]["tasksRunning"] == running && ids.len() == running).then_some(ids)
    });
    ids.unwrap_or_else(|| {
        panic!(
            "{id} never had {running} running{}: {}",
            version.map(|v| format!(" at {v}")).unwrap_or_default(),
            get(address, &format!("/v2/apps/{id}")).body
        )
    })
}

/// The ids of the tasks the master has running.
fn running_at_master(cluster: &Cluster) -> BTreeSet<String> {
    let tasks = cluster.master_json("/master/tasks");
    tasks["tasks"]
        .as_array()
        .map(|t| {
            t.iter()
                .filter(|t| t["state"] == "TASK_RUNNING")
                .filter_map(|t| t["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn framework_ids(cluster: &Cluster) -> Vec<String> {
    let frameworks = cluster.master_json("/master/frameworks");
    frameworks["frameworks"]
        .as_array()
        .map(|f| {
            f.iter()
                .filter_map(|f| f["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The children of a znode, through a client of the test's own.
fn zk_children(zk: &ZooKeeper, path: &str) -> Vec<String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let client = zookeeper_client::Client::connect(&zk.address())
            .await
            .unwrap();
        let mut children = client.list_children(path).await.unwrap_or_default();
        children.sort();
        children
    })
}

#[test]
fn the_standby_proxies_and_takes_over_without_restarting_tasks() {
    let zk = ZooKeeper::start();
    let mut cluster = Cluster::start(&[], &[]);
    cluster.add_agent_with("cpus:4;mem:1024;ports:[31000-31100]", &[]);
    let ha = [format!("--zk={}", zk.url("/marathon"))];
    let mut first = marathon(&cluster, "marathon-a", &ha);
    let a = first.address();
    await_leader(a, a, WAIT);
    let mut second = marathon(&cluster, "marathon-b", &ha);
    let b = second.address();
    await_leader(b, a, WAIT);
    let members = zk_children(&zk, "/marathon/leader-curator");
    assert_eq!(members.len(), 2, "{members:?}");
    assert!(members
        .iter()
        .all(|m| m.starts_with("_c_") && m.contains("-latch-")));

    // Created through the standby: proxied, answered by the leader.
    let created = send(
        b,
        "POST",
        "/v2/apps",
        r#"{"id": "ha-sleepy", "cmd": "sleep 600", "cpus": 0.1, "mem": 16, "instances": 2}"#,
        &[],
    );
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(
        created.header("X-Marathon-Leader"),
        Some(format!("http://{a}").as_str())
    );
    assert_eq!(
        created.header("X-Marathon-Via"),
        Some(format!("1.1 {b}").as_str())
    );
    assert_eq!(created.header("Location"), Some("/v2/apps/ha-sleepy"));
    let tasks = await_running(b, "ha-sleepy", 2);
    assert_eq!(running_at_master(&cluster), tasks);
    let framework = framework_ids(&cluster);
    assert_eq!(framework.len(), 1, "{framework:?}");
    // One node per entity under <zk>/state.
    assert_eq!(zk_children(&zk, "/marathon/state/app"), ["ha-sleepy"]);
    assert_eq!(zk_children(&zk, "/marathon/state/instance").len(), 2);
    assert_eq!(zk_children(&zk, "/marathon/state/app-version").len(), 1);

    // A request that already came through the standby is a loop; the
    // event stream is redirected, not proxied.
    let looped = send(
        b,
        "GET",
        "/v2/apps",
        "",
        &[("X-Marathon-Via", &format!("1.1 {b}"))],
    );
    assert_eq!(
        (looped.status, looped.body["message"].as_str()),
        (502, Some("Detected proxying loop."))
    );
    let events = send(
        b,
        "GET",
        "/v2/events?event_type=status_update_event",
        "",
        &[],
    );
    assert_eq!(events.status, 307);
    assert_eq!(
        events.header("Location"),
        Some(format!("http://{a}/v2/events?event_type=status_update_event").as_str())
    );

    // Abdication through the standby: the other leads, the tasks stay.
    let abdicated = send(b, "DELETE", "/v2/leader", "", &[]);
    assert_eq!(abdicated.status, 200, "{}", abdicated.body);
    assert_eq!(abdicated.body["message"], "Leadership abdicated");
    await_leader(b, b, TAKEOVER_BOUND);
    await_leader(a, b, WAIT);
    assert_eq!(await_running(a, "ha-sleepy", 2), tasks, "no task restarted");
    assert_eq!(
        zk_children(&zk, "/marathon/leader-curator").len(),
        2,
        "it stands again"
    );

    // The leader is SIGKILLed: the standby takes over within the bound.
    second.kill();
    let took = await_leader(a, a, TAKEOVER_BOUND);
    println!("the standby led {took:?} after the leader's SIGKILL");
    let apps = get(a, "/v2/apps");
    let ids: Vec<&str> = apps.body["apps"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|x| x["id"].as_str())
        .collect();
    assert_eq!(ids, ["/ha-sleepy"]);
    assert_eq!(await_running(a, "ha-sleepy", 2), tasks, "the same tasks");
    let reregistered = common::poll(WAIT, || {
        let info = get(a, "/v2/info");
        (info.body["frameworkId"].as_str() == framework.first().map(String::as_str)).then_some(())
    });
    assert!(reregistered.is_some(), "{}", get(a, "/v2/info").body);
    assert_eq!(framework_ids(&cluster), framework, "the same framework");
    assert_eq!(
        running_at_master(&cluster),
        tasks,
        "the master runs the same tasks"
    );

    // Scaling up through the new leader works.
    let scaled = send(a, "PUT", "/v2/apps/ha-sleepy", r#"{"instances": 3}"#, &[]);
    assert_eq!(scaled.status, 200, "{}", scaled.body);
    let now = await_running(a, "ha-sleepy", 3);
    assert!(now.is_superset(&tasks), "{now:?} ⊇ {tasks:?}");
    assert_eq!(zk_children(&zk, "/marathon/state/instance").len(), 3);
    first.kill();
}

#[test]
fn a_restarted_marathon_keeps_its_apps_and_tasks_with_the_file_store() {
    let mut cluster = Cluster::start(&[], &[]);
    cluster.add_agent_with("cpus:4;mem:1024;ports:[31000-31100]", &[]);
    let work: PathBuf = cluster.dir().join("marathon-work");
    let flags = [format!("--work_dir={}", work.display())];
    let mut m = marathon(&cluster, "marathon-1", &flags);
    let created = send(
        m.address(),
        "POST",
        "/v2/apps",
        r#"{"id": "kept", "cmd": "sleep 600", "cpus": 0.1, "mem": 16, "instances": 2}"#,
        &[],
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let version = created.body["version"].as_str().unwrap().to_owned();
    await_running(m.address(), "kept", 2);
    // A change of definition: two versions kept.
    let changed = send(
        m.address(),
        "PUT",
        "/v2/apps/kept",
        r#"{"cmd": "sleep 700"}"#,
        &[],
    );
    assert_eq!(changed.status, 200, "{}", changed.body);
    let new_version = changed.body["version"].as_str().unwrap().to_owned();
    let tasks = await_running_at(m.address(), "kept", 2, Some(&new_version));
    let framework = framework_ids(&cluster);
    assert!(work.join("state/app/kept").exists());

    // A second instance cannot take the same work dir.
    let refused = common::run_with_deadline(
        std::process::Command::new(env!("CARGO_BIN_EXE_marathon")).args([
            format!("--master={}", cluster.master_address()),
            "--http_port=0".into(),
            format!("--work_dir={}", work.display()),
        ]),
        WAIT,
    );
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("in use"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );

    m.kill();
    // While no marathon runs, one task dies: the master tells the next one.
    let sleeper = cluster
        .processes_of_agent(0)
        .into_iter()
        .find(|p| common::cluster::command_name(*p) == "sleep")
        .expect("a sleep task on the agent");
    // SAFETY: a signal to a process of this test's agent.
    unsafe { libc::kill(sleeper, libc::SIGKILL) };
    let died = common::poll(WAIT, || {
        (running_at_master(&cluster).len() == 1).then_some(())
    });
    assert!(died.is_some(), "{:?}", running_at_master(&cluster));
    let survivor = running_at_master(&cluster);

    let m = marathon(&cluster, "marathon-2", &flags);
    // What it shows at first is the state as stored; the reconciliation
    // with the master then tells it one task died, and it replaces it.
    let now = common::poll(WAIT, || {
        let now = await_running(m.address(), "kept", 2);
        (now != tasks).then_some(now)
    })
    .expect("the dead task was never replaced");
    assert!(now.is_superset(&survivor), "the running task kept: {now:?}");
    assert_eq!(
        now.intersection(&tasks).count(),
        1,
        "the dead one replaced: {now:?}"
    );
    let replaced = now.difference(&tasks).next().unwrap();
    assert!(
        replaced.ends_with("._app.3"),
        "the same instance again: {replaced}"
    );
    let app = get(m.address(), "/v2/apps/kept");
    assert_eq!(app.body["app"]["cmd"], "sleep 700");
    let versions = get(m.address(), "/v2/apps/kept/versions");
    let listed = versions.body["versions"].as_array().unwrap();
    assert_eq!(listed.len(), 2, "{}", versions.body);
    assert_eq!(listed[1], version.as_str(), "newest first");
    let old = get(m.address(), &format!("/v2/apps/kept/versions/{version}"));
    assert_eq!(old.body["cmd"], "sleep 600");
    let reregistered = common::poll(WAIT, || {
        let info = get(m.address(), "/v2/info");
        (info.body["frameworkId"].as_str() == framework.first().map(String::as_str)).then_some(())
    });
    assert!(
        reregistered.is_some(),
        "{}",
        get(m.address(), "/v2/info").body
    );
    assert_eq!(framework_ids(&cluster), framework);
    assert_eq!(running_at_master(&cluster), now);
}

#[test]
fn a_lost_zookeeper_session_stops_the_leader_until_it_is_back() {
    let mut zk = ZooKeeper::start();
    let mut cluster = Cluster::start(&[], &[]);
    cluster.add_agent_with("cpus:4;mem:1024;ports:[31000-31100]", &[]);
    let mut m = marathon(
        &cluster,
        "marathon-zk",
        &[format!("--zk={}", zk.url("/marathon"))],
    );
    let a = m.address();
    await_leader(a, a, WAIT);
    let created = send(
        a,
        "POST",
        "/v2/apps",
        r#"{"id": "steady", "cmd": "sleep 600", "cpus": 0.1, "mem": 16}"#,
        &[],
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let tasks = await_running(a, "steady", 1);

    // ZooKeeper goes: once the session is given up (2 s), the instance no
    // longer leads and says so; the master keeps the framework, inactive.
    zk.stop();
    let start = Instant::now();
    let stepped_down = common::poll(TAKEOVER_BOUND, || {
        let answer = get(a, "/v2/apps");
        (answer.status == 503).then_some(answer)
    });
    let answer = stepped_down.expect("the leader kept leading without ZooKeeper");
    println!("stepped down {:?} after ZooKeeper went", start.elapsed());
    assert_eq!(
        answer.body["message"],
        "Could not determine the current leader"
    );
    let inactive = common::poll(WAIT, || {
        let frameworks = cluster.master_json("/master/frameworks");
        (frameworks["frameworks"][0]["active"] == false).then_some(())
    });
    assert!(
        inactive.is_some(),
        "{}",
        cluster.master_json("/master/frameworks")
    );
    assert_eq!(running_at_master(&cluster), tasks, "tasks are not touched");

    // Back: it leads again with the same tasks.
    zk.restart();
    await_leader(a, a, WAIT);
    assert_eq!(await_running(a, "steady", 1), tasks);
    let active = common::poll(WAIT, || {
        let frameworks = cluster.master_json("/master/frameworks");
        (frameworks["frameworks"][0]["active"] == true).then_some(())
    });
    assert!(
        active.is_some(),
        "{}",
        cluster.master_json("/master/frameworks")
    );
    m.kill();
}
