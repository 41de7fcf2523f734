//! Maintenance with real binaries: a schedule posted and read back, the
//! frameworks on a draining machine asked (inverse offers) and their
//! answers in the status, a machine brought down (its tasks end, its agent
//! is shut down and kept out) and up again, the schedule across a master
//! restart, `DRAIN_AGENT`, and bad input answered 4xx with a reason.
//!
//! The framework here is a v1 HTTP framework driven over a raw connection,
//! so that the events it reads are exactly what the master writes.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::cluster::{get_json, Cluster, Daemon};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(20);
const JSON: (&str, &str) = ("Content-Type", "application/json");
const HOST: &str = "maint-host-a";

/// POSTs `body` to `path` on `address`: the status and the body.
fn post(address: SocketAddr, path: &str, body: &str) -> (u16, String) {
    let (status, _, text) = common::http_post(&address.to_string(), path, &[JSON], body.as_bytes());
    (status, text)
}

/// An operator call that must succeed; its JSON answer (`Null` for none).
fn operator(address: SocketAddr, body: Value) -> Value {
    let (status, text) = post(address, "/api/v1", &body.to_string());
    assert_eq!(status, 200, "{body}: {text}");
    if text.is_empty() {
        return Value::Null;
    }
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{body}: {e}: {text}"))
}

/// The nanoseconds since the epoch.
fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

/// A schedule of one window holding `machines`, starting at `start`.
fn schedule(machines: Value, start: i64) -> Value {
    json!({"windows": [{
        "machine_ids": machines,
        "unavailability": {
            "start": {"nanoseconds": start},
            "duration": {"nanoseconds": 3_600_000_000_000i64}
        }
    }]})
}

fn machine() -> Value {
    json!({"hostname": HOST, "ip": "127.0.0.1"})
}

/// The machine ids of a schedule's windows, as `hostname/ip` strings.
fn scheduled(schedule: &Value) -> Vec<String> {
    schedule["windows"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|w| w["machine_ids"].as_array().cloned().unwrap_or_default())
        .map(|m| {
            format!(
                "{}/{}",
                m["hostname"].as_str().unwrap_or(""),
                m["ip"].as_str().unwrap_or("")
            )
        })
        .collect()
}

/// The agents `/master/slaves` lists, as (id, hostname, active).
fn slaves(cluster: &Cluster) -> Vec<(String, String, bool)> {
    cluster.master_json("/master/slaves")["slaves"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            (
                s["id"].as_str().unwrap_or("").to_owned(),
                s["hostname"].as_str().unwrap_or("").to_owned(),
                s["active"] == true,
            )
        })
        .collect()
}

/// A v1 HTTP framework: its stream read on a thread of its own, its calls
/// made with its stream id.
struct Framework {
    master: SocketAddr,
    id: String,
    stream_id: String,
    rx: Receiver<Value>,
    /// Every event read so far, in order.
    seen: Vec<Value>,
    _stream: TcpStream,
}

impl Framework {
    fn subscribe(master: SocketAddr, name: &str) -> Framework {
        let body = json!({"type": "SUBSCRIBE", "subscribe": {"framework_info": {
            "user": common::current_user(), "name": name
        }}})
        .to_string();
        let mut s = TcpStream::connect(master).expect("connect");
        write!(
            s,
            "POST /api/v1/scheduler HTTP/1.1\r\nHost: {master}\r\nContent-Type: application/json\r\nAccept: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .expect("write");
        s.write_all(body.as_bytes()).expect("write");
        let mut r = BufReader::new(s.try_clone().expect("clone"));
        let mut line = String::new();
        r.read_line(&mut line).expect("status line");
        assert!(line.contains(" 200"), "SUBSCRIBE: {line}");
        let mut stream_id = String::new();
        loop {
            line.clear();
            r.read_line(&mut line).expect("header");
            if line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("mesos-stream-id:") {
                stream_id = v.trim().to_owned();
            }
        }
        let (tx, rx) = channel();
        std::thread::spawn(move || common::read_records(r, tx));
        let mut framework = Framework {
            master,
            id: String::new(),
            stream_id,
            rx,
            seen: Vec::new(),
            _stream: s,
        };
        let subscribed = framework.next("SUBSCRIBED", |e| e["type"] == "SUBSCRIBED");
        framework.id = subscribed["subscribed"]["framework_id"]["value"]
            .as_str()
            .expect("a framework id")
            .to_owned();
        framework
    }

    /// Reads what arrived on the stream, acknowledging each update that
    /// asks for it (the agent sends a task's next update only then).
    fn pump(&mut self) {
        while let Ok(event) = self.rx.try_recv() {
            let status = &event["update"]["status"];
            if event["type"] == "UPDATE" && status.get("uuid").is_some() {
                self.accepted(
                    "ACKNOWLEDGE",
                    json!({"agent_id": status["agent_id"], "task_id": status["task_id"],
                           "uuid": status["uuid"]}),
                );
            }
            self.seen.push(event);
        }
    }

    /// Waits for an event that `matches` and takes it (the oldest such,
    /// of those not taken yet).
    fn next(&mut self, what: &str, matches: impl Fn(&Value) -> bool) -> Value {
        let end = Instant::now() + WAIT;
        loop {
            self.pump();
            if let Some(i) = self.seen.iter().position(&matches) {
                return self.seen.remove(i);
            }
            assert!(
                Instant::now() < end,
                "no {what} on the framework's stream; saw {:#?}",
                self.seen
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A call with the framework's id and stream id; its status and body.
    fn call(&self, kind: &str, payload: Value) -> (u16, String) {
        let mut body = json!({"framework_id": {"value": self.id}, "type": kind});
        if !payload.is_null() {
            body[kind.to_ascii_lowercase()] = payload;
        }
        let (status, _, text) = common::http_post(
            &self.master.to_string(),
            "/api/v1/scheduler",
            &[JSON, ("Mesos-Stream-Id", self.stream_id.as_str())],
            body.to_string().as_bytes(),
        );
        (status, text)
    }

    fn accepted(&self, kind: &str, payload: Value) {
        let (status, text) = self.call(kind, payload);
        assert_eq!(status, 202, "{kind}: {text}");
    }

    /// Waits for an offer (from `agent`, if given); returns it.
    fn offer(&mut self, agent: Option<&str>) -> Value {
        let event = self.next("an offer", |e| {
            e["type"] == "OFFERS"
                && e["offers"]["offers"].as_array().is_some_and(|o| {
                    o.iter()
                        .any(|o| agent.is_none_or(|a| o["agent_id"]["value"] == a))
                })
        });
        event["offers"]["offers"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|o| agent.is_none_or(|a| o["agent_id"]["value"] == a))
            .cloned()
            .expect("an offer")
    }

    /// Declines offers of `agent` until one says when the agent's machine
    /// goes away; returns that one.
    fn offer_with_unavailability(&mut self, agent: &str) -> Value {
        let end = Instant::now() + WAIT;
        loop {
            let offer = self.offer(Some(agent));
            if offer.get("unavailability").is_some() {
                return offer;
            }
            self.decline(&offer);
            assert!(Instant::now() < end, "no offer with an unavailability");
        }
    }

    fn decline(&self, offer: &Value) {
        self.accepted(
            "DECLINE",
            json!({"offer_ids": [offer["id"]], "filters": {"refuse_seconds": 0.5}}),
        );
    }

    /// Launches `command` as task `task` on `offer`, with a kill grace
    /// period of `grace` seconds.
    fn launch(&self, offer: &Value, task: &str, command: &str, grace: f64) {
        let scalar = |name: &str, value: f64| json!({"name": name, "type": "SCALAR", "scalar": {"value": value}});
        self.accepted(
            "ACCEPT",
            json!({
                "offer_ids": [offer["id"]],
                "operations": [{"type": "LAUNCH", "launch": {"task_infos": [{
                    "name": task,
                    "task_id": {"value": task},
                    "agent_id": offer["agent_id"],
                    "resources": [scalar("cpus", 0.1), scalar("mem", 32.0)],
                    "command": {"value": command},
                    "kill_policy": {"grace_period": {"nanoseconds": (grace * 1e9) as i64}}
                }]}}],
                "filters": {"refuse_seconds": 0.5}
            }),
        );
    }

    /// Waits for an update of `task` to `state`.
    fn update(&mut self, task: &str, state: &str) -> Value {
        self.next(&format!("{task} {state}"), |e| {
            e["type"] == "UPDATE"
                && e["update"]["status"]["task_id"]["value"] == task
                && e["update"]["status"]["state"] == state
        })
    }

    /// Waits for an inverse offer; returns it. Mesos writes inverse
    /// offers in an INVERSE_OFFERS event; an OFFERS event carrying them is
    /// read too.
    fn inverse_offer(&mut self) -> Value {
        let of = |e: &Value| -> Option<Value> {
            [
                &e["inverse_offers"]["inverse_offers"],
                &e["offers"]["inverse_offers"],
            ]
            .into_iter()
            .find_map(|list| list.as_array().and_then(|l| l.first().cloned()))
        };
        let event = self.next("an inverse offer", |e| of(e).is_some());
        of(&event).expect("an inverse offer")
    }
}

/// The status of the framework `framework` for the draining machine `host`
/// in `/master/maintenance/status`, if listed.
fn answer_of(status: &Value, host: &str, framework: &str) -> Option<String> {
    status["draining_machines"]
        .as_array()?
        .iter()
        .find(|m| m["id"]["hostname"] == host)?["statuses"]
        .as_array()?
        .iter()
        .find(|s| s["framework_id"]["value"] == framework)
        .and_then(|s| s["status"].as_str().map(str::to_owned))
}

fn down_hosts(status: &Value) -> Vec<String> {
    status["down_machines"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["hostname"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn a_scheduled_machine_drains_goes_down_and_comes_back_up() {
    let mut cluster = Cluster::start(&[], &[]);
    let hostname = format!("--hostname={HOST}");
    cluster.add_agent_with("cpus:1;mem:256", &[&hostname]);
    let master = cluster.master_address();
    let agent_id = cluster.agent_id(0);

    let mut framework = Framework::subscribe(master, "maintenance-test");
    let offer = framework.offer(Some(&agent_id));
    assert!(offer.get("unavailability").is_none(), "{offer}");
    framework.launch(&offer, "t1", "sleep 1000", 1.0);
    framework.update("t1", "TASK_RUNNING");

    // The schedule is taken, and read back through both surfaces.
    let start = now_ns() + 3_600_000_000_000;
    let (status, text) = post(
        master,
        "/master/maintenance/schedule",
        &schedule(json!([machine()]), start).to_string(),
    );
    assert_eq!(status, 200, "{text}");
    let read = cluster.master_json("/master/maintenance/schedule");
    assert_eq!(scheduled(&read), [format!("{HOST}/127.0.0.1")], "{read}");
    assert_eq!(
        read["windows"][0]["unavailability"]["start"]["nanoseconds"], start,
        "{read}"
    );
    let v1 = operator(master, json!({"type": "GET_MAINTENANCE_SCHEDULE"}));
    assert_eq!(v1["type"], "GET_MAINTENANCE_SCHEDULE", "{v1}");
    assert_eq!(
        scheduled(&v1["get_maintenance_schedule"]["schedule"]),
        [format!("{HOST}/127.0.0.1")],
        "{v1}"
    );

    // The framework running there is asked to leave, and its answer shows.
    let inverse = framework.inverse_offer();
    assert_eq!(inverse["agent_id"]["value"], agent_id.as_str(), "{inverse}");
    assert_eq!(
        inverse["unavailability"]["start"]["nanoseconds"], start,
        "{inverse}"
    );
    let status = cluster.master_json("/master/maintenance/status");
    assert_eq!(
        answer_of(&status, HOST, &framework.id).as_deref(),
        Some("UNKNOWN"),
        "{status}"
    );
    framework.accepted(
        "ACCEPT_INVERSE_OFFERS",
        json!({"inverse_offer_ids": [inverse["id"]]}),
    );
    let accepted = common::poll(WAIT, || {
        let status = cluster.master_json("/master/maintenance/status");
        (answer_of(&status, HOST, &framework.id).as_deref() == Some("ACCEPT")).then_some(())
    });
    assert!(
        accepted.is_some(),
        "{}",
        cluster.master_json("/master/maintenance/status")
    );
    let v1 = operator(master, json!({"type": "GET_MAINTENANCE_STATUS"}));
    let v1_status = &v1["get_maintenance_status"]["status"];
    assert_eq!(
        answer_of(v1_status, HOST, &framework.id).as_deref(),
        Some("ACCEPT"),
        "{v1}"
    );

    // Offers of the scheduled machine's agent say when it goes away.
    let offer = framework.offer_with_unavailability(&agent_id);
    assert_eq!(
        offer["unavailability"]["start"]["nanoseconds"], start,
        "{offer}"
    );
    framework.decline(&offer);

    // Bringing up a machine that is not down, or down one that is not in
    // a schedule, is refused with the reason.
    let (status, text) = post(
        master,
        "/master/machine/up",
        &json!([machine()]).to_string(),
    );
    assert_eq!(status, 400, "{text}");
    assert!(!text.trim().is_empty());
    let (status, text) = post(
        master,
        "/master/machine/down",
        &json!([{"hostname": "elsewhere"}]).to_string(),
    );
    assert_eq!(status, 400, "{text}");
    assert!(!text.trim().is_empty());

    // Down: the task ends as Mesos ends it, the agent is shut down and
    // leaves the master.
    let (status, text) = post(
        master,
        "/master/machine/down",
        &json!([machine()]).to_string(),
    );
    assert_eq!(status, 200, "{text}");
    framework.update("t1", "TASK_LOST");
    let removed = common::poll(WAIT, || slaves(&cluster).is_empty().then_some(()));
    assert!(removed.is_some(), "{:?}", slaves(&cluster));
    let status = cluster.master_json("/master/maintenance/status");
    assert_eq!(down_hosts(&status), [HOST], "{status}");
    assert!(
        cluster.agents[0].wait_exit(WAIT).is_some(),
        "the agent on a machine put down did not stop"
    );

    // While the machine is down its agent may not come back: told to shut
    // down again, it stops.
    cluster.restart_agent(0, &[&hostname]);
    assert!(
        cluster.agents[0].wait_exit(WAIT).is_some(),
        "an agent of a DOWN machine was not refused"
    );
    assert!(slaves(&cluster).is_empty(), "{:?}", slaves(&cluster));

    // Up: the machine leaves the schedule, and an agent started there
    // registers again.
    let (status, text) = post(
        master,
        "/master/machine/up",
        &json!([machine()]).to_string(),
    );
    assert_eq!(status, 200, "{text}");
    let status = cluster.master_json("/master/maintenance/status");
    assert!(down_hosts(&status).is_empty(), "{status}");
    let read = cluster.master_json("/master/maintenance/schedule");
    assert!(scheduled(&read).is_empty(), "{read}");
    cluster.restart_agent(0, &[&hostname]);
    let back = common::poll(WAIT, || {
        slaves(&cluster)
            .iter()
            .any(|(_, host, active)| host == HOST && *active)
            .then_some(())
    });
    assert!(back.is_some(), "{:?}", slaves(&cluster));
}

/// `mesos-master` on a free loopback port, its registry in `dir`.
fn master_daemon(dir: &Path, log: &str) -> Daemon {
    Daemon::start(
        "master",
        Path::new(env!("CARGO_BIN_EXE_mesos-master")),
        &[
            "--ip=127.0.0.1".to_owned(),
            "--port=0".to_owned(),
            format!("--work_dir={}", dir.display()),
        ],
        dir.join(log),
    )
}

/// Waits for a master to finish recovering (it serves the maintenance
/// endpoints only then).
fn wait_serving(address: SocketAddr) {
    let serving = common::poll(WAIT, || {
        common::cluster::http_get(address, "/master/maintenance/status")
            .ok()
            .filter(|(status, _)| *status == 200)
    });
    assert!(serving.is_some(), "the master at {address} did not recover");
}

/// How many times the master's registrar has stored the registry.
fn stores(address: SocketAddr) -> f64 {
    common::cluster::metric(address, "registrar/state_store_ms/count").unwrap_or(0.0)
}

#[test]
fn the_schedule_and_down_machines_survive_a_master_restart() {
    let dir = common::cluster::WorkDir::new("maintenance-registry-");
    let work = dir.path().join("master");
    std::fs::create_dir_all(&work).expect("work dir");
    let start = now_ns();
    let machines = json!([{"hostname": "m1.example"}, {"ip": "10.1.2.3"}]);
    {
        let mut master = master_daemon(&work, "master.log");
        let address = master.address();
        wait_serving(address);
        let before = common::poll(WAIT, || {
            let count = stores(address);
            (count >= 1.0).then_some(count)
        })
        .expect("the recovered registry stored");
        operator(
            address,
            json!({"type": "UPDATE_MAINTENANCE_SCHEDULE",
                   "update_maintenance_schedule": {"schedule": schedule(machines.clone(), start)}}),
        );
        operator(
            address,
            json!({"type": "START_MAINTENANCE",
                   "start_maintenance": {"machines": [{"hostname": "m1.example"}]}}),
        );
        let status = get_json(address, "/master/maintenance/status");
        assert_eq!(down_hosts(&status), ["m1.example"], "{status}");
        // Both changes stored (one store each: the first goes out at once,
        // the second comes after its answer) before the master is killed.
        let stored = common::poll(WAIT, || {
            (stores(address) >= before + 2.0
                && common::cluster::metric(address, "registrar/queued_operations") == Some(0.0))
            .then_some(())
        });
        assert!(stored.is_some(), "the registry did not store the changes");
        master.kill();
    }
    let master = master_daemon(&work, "master.restart.log");
    let address = master.address();
    wait_serving(address);
    let read = get_json(address, "/master/maintenance/schedule");
    let mut machines = scheduled(&read);
    machines.sort();
    assert_eq!(
        machines,
        ["/10.1.2.3".to_owned(), "m1.example/".to_owned()],
        "{read}"
    );
    let status = get_json(address, "/master/maintenance/status");
    assert_eq!(down_hosts(&status), ["m1.example"], "{status}");
    let draining: Vec<&Value> = status["draining_machines"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    assert!(
        draining.len() == 1 && draining[0]["id"]["ip"] == "10.1.2.3",
        "{status}"
    );
    // Up again after the restart, through the v1 call.
    operator(
        address,
        json!({"type": "STOP_MAINTENANCE",
               "stop_maintenance": {"machines": [{"hostname": "m1.example"}]}}),
    );
    let status = get_json(address, "/master/maintenance/status");
    assert!(down_hosts(&status).is_empty(), "{status}");
}

/// An agent as `GET_AGENTS` lists it.
fn v1_agent(master: SocketAddr, id: &str) -> Value {
    let agents = operator(master, json!({"type": "GET_AGENTS"}));
    agents["get_agents"]["agents"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|a| a["agent_info"]["id"]["value"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("agent {id} not in {agents}"))
}

/// An agent as `/master/slaves` lists it.
fn slave(cluster: &Cluster, id: &str) -> Value {
    let slaves = cluster.master_json("/master/slaves");
    slaves["slaves"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|a| a["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("agent {id} not in {slaves}"))
}

#[test]
fn a_drained_agent_has_its_tasks_killed_and_gets_no_offers_until_reactivated() {
    let cluster = Cluster::start(&[], &["cpus:1;mem:256"]);
    let master = cluster.master_address();
    let agent_id = cluster.agent_id(0);
    let mut framework = Framework::subscribe(master, "drain-test");
    let offer = framework.offer(Some(&agent_id));
    // The drain kills with the task's own kill policy (a cap on its grace
    // by `max_grace_period` is not carried to the executors yet).
    framework.launch(&offer, "t1", "sleep 1000", 2.0);
    framework.update("t1", "TASK_RUNNING");

    // Bad drains first: each a 4xx with a reason, the agent untouched.
    let bad = [
        json!({"type": "DRAIN_AGENT"}),
        json!({"type": "DRAIN_AGENT", "drain_agent": {}}),
        json!({"type": "DRAIN_AGENT", "drain_agent": {"agent_id": {"value": "no-such-agent"}}}),
        json!({"type": "DRAIN_AGENT", "drain_agent": {"agent_id": {"value": agent_id},
               "max_grace_period": {"nanoseconds": "soon"}}}),
        json!({"type": "DRAIN_AGENT", "drain_agent": {"agent_id": {"value": agent_id},
               "max_grace_period": {"nanoseconds": -1}}}),
    ];
    for body in bad {
        let (status, text) = post(master, "/api/v1", &body.to_string());
        assert!((400..500).contains(&status), "{body}: {status} {text}");
        assert!(!text.trim().is_empty(), "{body}: no reason");
    }
    assert_eq!(slave(&cluster, &agent_id)["deactivated"], false);

    // The drain: the task is killed, the agent deactivated, DRAINING then
    // DRAINED.
    operator(
        master,
        json!({"type": "DRAIN_AGENT", "drain_agent": {
            "agent_id": {"value": agent_id},
            "max_grace_period": {"nanoseconds": 1_000_000_000},
            "mark_gone": false
        }}),
    );
    let agent = v1_agent(master, &agent_id);
    assert_eq!(agent["deactivated"], true, "{agent}");
    let state = agent["drain_info"]["state"].as_str().unwrap_or("");
    assert!(state == "DRAINING" || state == "DRAINED", "{agent}");
    framework.update("t1", "TASK_KILLED");
    let drained = common::poll(WAIT, || {
        (v1_agent(master, &agent_id)["drain_info"]["state"] == "DRAINED").then_some(())
    });
    assert!(drained.is_some(), "{}", v1_agent(master, &agent_id));
    let listed = slave(&cluster, &agent_id);
    assert_eq!(listed["deactivated"], true, "{listed}");
    assert_eq!(listed["drain_info"]["state"], "DRAINED", "{listed}");
    assert_eq!(
        listed["drain_info"]["config"]["mark_gone"], false,
        "{listed}"
    );

    // Ten allocation cycles without an offer from the drained agent.
    framework.pump();
    let before = framework.seen.len();
    let quiet_until = Instant::now() + Duration::from_secs(1);
    while Instant::now() < quiet_until {
        framework.pump();
        std::thread::sleep(Duration::from_millis(50));
    }
    let offered = framework.seen[before..].iter().any(|e| {
        e["type"] == "OFFERS"
            && e["offers"]["offers"].as_array().is_some_and(|o| {
                o.iter()
                    .any(|o| o["agent_id"]["value"] == agent_id.as_str())
            })
    });
    assert!(
        !offered,
        "a drained agent was offered: {:#?}",
        framework.seen
    );
    framework.seen.clear();

    // Reactivated, it is offered again.
    operator(
        master,
        json!({"type": "REACTIVATE_AGENT", "reactivate_agent": {"agent_id": {"value": agent_id}}}),
    );
    framework.offer(Some(&agent_id));
    let listed = slave(&cluster, &agent_id);
    assert_eq!(listed["deactivated"], false, "{listed}");

    // Drained with `mark_gone`, the agent (with nothing left on it) is
    // marked gone and leaves the master.
    operator(
        master,
        json!({"type": "DRAIN_AGENT", "drain_agent": {
            "agent_id": {"value": agent_id}, "mark_gone": true
        }}),
    );
    let gone = common::poll(WAIT, || {
        let slaves = cluster.master_json("/master/slaves");
        let listed = slaves["slaves"]
            .as_array()
            .is_some_and(|a| a.iter().any(|s| s["id"] == agent_id.as_str()));
        (!listed).then_some(())
    });
    assert!(gone.is_some(), "{}", cluster.master_json("/master/slaves"));
}

#[test]
fn bad_maintenance_input_is_a_4xx_with_a_reason() {
    let cluster = Cluster::start(&[], &[]);
    let master = cluster.master_address();
    wait_serving(master);
    let start = now_ns();
    let window = |machines: Value| json!({"machine_ids": machines, "unavailability": {"start": {"nanoseconds": start}}});
    let schedules = [
        ("not JSON", "{windows".to_owned()),
        ("not an object", "[1]".to_owned()),
        (
            "a machine in two windows",
            json!({"windows": [window(json!([{"hostname": "a"}])), window(json!([{"hostname": "a"}]))]})
                .to_string(),
        ),
        (
            "a machine without hostname or ip",
            json!({"windows": [window(json!([{}]))]}).to_string(),
        ),
        (
            "an ip that is none",
            json!({"windows": [window(json!([{"ip": "not-an-ip"}]))]}).to_string(),
        ),
        (
            "a window without machines",
            json!({"windows": [window(json!([]))]}).to_string(),
        ),
        (
            "a window without unavailability",
            json!({"windows": [{"machine_ids": [{"hostname": "a"}]}]}).to_string(),
        ),
    ];
    for (case, body) in &schedules {
        let (status, text) = post(master, "/master/maintenance/schedule", body);
        assert_eq!(status, 400, "{case}: {text}");
        assert!(!text.trim().is_empty(), "{case}: no reason");
        // The same schedule through the v1 call.
        if let Ok(schedule) = serde_json::from_str::<Value>(body) {
            let call = json!({"type": "UPDATE_MAINTENANCE_SCHEDULE",
                              "update_maintenance_schedule": {"schedule": schedule}});
            let (status, text) = post(master, "/api/v1", &call.to_string());
            assert!((400..500).contains(&status), "v1 {case}: {status} {text}");
            assert!(!text.trim().is_empty(), "v1 {case}: no reason");
        }
    }
    // Nothing was taken.
    let read = cluster.master_json("/master/maintenance/schedule");
    assert!(scheduled(&read).is_empty(), "{read}");

    let machines = [
        ("not JSON", "[{".to_owned()),
        ("an empty list", "[]".to_owned()),
        ("not in a schedule", json!([{"hostname": "a"}]).to_string()),
        ("no hostname or ip", json!([{}]).to_string()),
    ];
    for path in ["/master/machine/down", "/master/machine/up"] {
        for (case, body) in &machines {
            let (status, text) = post(master, path, body);
            assert_eq!(status, 400, "{path} {case}: {text}");
            assert!(!text.trim().is_empty(), "{path} {case}: no reason");
        }
    }
    for (kind, field) in [
        ("START_MAINTENANCE", "start_maintenance"),
        ("STOP_MAINTENANCE", "stop_maintenance"),
    ] {
        for body in [
            json!({"type": kind}),
            json!({"type": kind, field: {"machines": [{"hostname": "a"}]}}),
        ] {
            let (status, text) = post(master, "/api/v1", &body.to_string());
            assert!((400..500).contains(&status), "{body}: {status} {text}");
            assert!(!text.trim().is_empty(), "{body}: no reason");
        }
    }

    // A machine scheduled but not down cannot be brought up; once down,
    // not down again.
    let (status, text) = post(
        master,
        "/master/maintenance/schedule",
        &schedule(json!([{"hostname": "a"}]), start).to_string(),
    );
    assert_eq!(status, 200, "{text}");
    let a = json!([{"hostname": "a"}]).to_string();
    assert_eq!(post(master, "/master/machine/up", &a).0, 400);
    assert_eq!(post(master, "/master/machine/down", &a).0, 200);
    let (status, text) = post(master, "/master/machine/down", &a);
    assert_eq!(status, 400, "{text}");
    // A down machine stays in the schedule: a schedule without it is refused.
    let (status, text) = post(
        master,
        "/master/maintenance/schedule",
        &json!({"windows": []}).to_string(),
    );
    assert_eq!(status, 400, "{text}");
    // Endpoints that change things want POST.
    for path in ["/master/machine/down", "/master/machine/up"] {
        let (status, _) = common::cluster::http_get(master, path).expect("GET");
        assert_eq!(status, 405, "GET {path}");
    }
}
