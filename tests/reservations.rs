//! Dynamic reservations and persistent volumes on a real master and agent:
//! an operator reserves through `/master/reserve`, a v1 framework of the
//! role reserves and makes a volume in an ACCEPT (with operation feedback),
//! a task writes to the volume and later tasks of the same framework read
//! it back after the first ended, after an agent restart and after a master
//! restart; another role is never offered what is reserved; a volume in use
//! cannot be destroyed; operators unreserve and destroy; bad requests are
//! 4xx with a reason.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use common::cluster::{get_json, http_get, Cluster, Daemon};
use common::scheduler::{scalar, Scheduler};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(30);
const FORM: (&str, &str) = ("Content-Type", "application/x-www-form-urlencoded");

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// POSTs a form to one of the master's reservation endpoints.
fn post_form(master: SocketAddr, path: &str, fields: &[(&str, String)]) -> (u16, String) {
    let body: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect();
    let (status, _, text) = common::http_post(
        &master.to_string(),
        path,
        &[FORM],
        body.join("&").as_bytes(),
    );
    (status, text)
}

fn reserved(name: &str, value: f64) -> Value {
    json!({"name": name, "type": "SCALAR", "scalar": {"value": value},
        "reservations": [{"type": "DYNAMIC", "role": "db", "principal": "ops"}]})
}

fn volume(mb: f64) -> Value {
    let mut v = reserved("disk", mb);
    v["disk"] = json!({"persistence": {"id": "vol1", "principal": "ops"},
        "volume": {"container_path": "data", "mode": "RW"}});
    v
}

/// Whether a resource of an offer is reserved for a role or is a volume.
fn is_reserved(r: &Value) -> bool {
    r["reservations"].as_array().is_some_and(|l| !l.is_empty())
        || r["role"].as_str().is_some_and(|role| role != "*")
        || !r["disk"]["persistence"].is_null()
}

fn has_volume(offer: &Value) -> bool {
    offer["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|r| r["disk"]["persistence"]["id"] == "vol1")
}

/// Launches a command task on `offer` with `resources`, acknowledging its
/// updates until it ends; its terminal state.
fn run_task(db: &mut Scheduler, offer: &Value, id: &str, resources: Value, cmd: &str) -> String {
    let task = json!({"name": id, "task_id": {"value": id}, "agent_id": offer["agent_id"],
        "resources": resources, "command": {"shell": true, "value": cmd}});
    db.accept(
        offer,
        json!([{"type": "LAUNCH", "launch": {"task_infos": [task]}}]),
    );
    wait_task(db, id, true)
}

/// Acknowledges the updates of task `id` until it reaches a terminal state
/// (or, without `to_end`, TASK_RUNNING); that state.
fn wait_task(db: &mut Scheduler, id: &str, to_end: bool) -> String {
    let mut seen = 0;
    loop {
        let update = db.wait_event(&format!("update of {id}"), |e| {
            e["type"] == "UPDATE" && e["update"]["status"]["task_id"]["value"] == id
        });
        db.acknowledge(&update);
        db.events.retain(|e| e != &update);
        let state = update["update"]["status"]["state"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        seen += 1;
        let terminal = !matches!(
            state.as_str(),
            "TASK_STAGING" | "TASK_STARTING" | "TASK_RUNNING"
        );
        if terminal || (!to_end && state == "TASK_RUNNING") || seen > 10 {
            return state;
        }
    }
}

fn db_framework(id: Option<&str>) -> Value {
    let mut info = json!({"user": "root", "name": "db", "roles": ["db"], "principal": "ops",
        "failover_timeout": 3600.0,
        "capabilities": [{"type": "MULTI_ROLE"}, {"type": "RESERVATION_REFINEMENT"}]});
    if let Some(id) = id {
        info["id"] = json!({"value": id});
    }
    info
}

/// The agent's `reserved_resources_full` for role db, from `/master/slaves`.
fn master_reserved(master: SocketAddr) -> Vec<Value> {
    let slaves = get_json(master, "/master/slaves");
    slaves["slaves"][0]["reserved_resources_full"]["db"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn restart_master(cluster: &mut Cluster, port: u16) {
    let work_dir = cluster.dir().join("master");
    cluster.master.kill();
    let _ = cluster.master.wait_exit(WAIT);
    cluster.master = Daemon::start(
        "master",
        Path::new(env!("CARGO_BIN_EXE_mesos-master")),
        &[
            "--ip=127.0.0.1".to_owned(),
            format!("--port={port}"),
            "--allocation_interval=100ms".to_owned(),
            format!("--work_dir={}", work_dir.display()),
        ],
        cluster.dir().join("master-restarted.log"),
    );
}

#[test]
fn reservations_and_a_volume_survive_tasks_restarts_and_failover() {
    let mut cluster = Cluster::start(&[], &["cpus:4;mem:1024;disk:512"]);
    let master = cluster.master.address();
    let agent_id = cluster.agent_id(0);

    // Bad requests first: nothing changes.
    let one_cpu = json!([reserved("cpus", 1.0)]).to_string();
    type Form<'a> = Vec<(&'a str, String)>;
    let cases: Vec<(&str, Form<'_>, u16, &str)> = vec![
        (
            "/master/reserve",
            vec![("resources", one_cpu.clone())],
            400,
            "slaveId",
        ),
        (
            "/master/reserve",
            vec![("slaveId", "nope".into()), ("resources", one_cpu.clone())],
            400,
            "No agent",
        ),
        (
            "/master/reserve",
            vec![("slaveId", agent_id.clone()), ("resources", "[{".into())],
            400,
            "Error in parsing 'resources'",
        ),
        (
            "/master/reserve",
            vec![
                ("slaveId", agent_id.clone()),
                ("resources", json!([reserved("cpus", 64.0)]).to_string()),
            ],
            409,
            "Insufficient",
        ),
        (
            "/master/unreserve",
            vec![
                ("slaveId", agent_id.clone()),
                ("resources", one_cpu.clone()),
            ],
            409,
            "Insufficient",
        ),
        (
            "/master/create-volumes",
            vec![
                ("slaveId", agent_id.clone()),
                (
                    "volumes",
                    json!([{"name": "disk", "type": "SCALAR", "scalar": {"value": 8}}]).to_string(),
                ),
            ],
            400,
            "persistence",
        ),
    ];
    for (path, fields, status, text) in &cases {
        let (got, body) = post_form(master, path, fields);
        assert_eq!(got, *status, "{path} {fields:?}: {body}");
        assert!(body.contains(text), "{path} {fields:?}: {body}");
    }
    let (status, body) = http_get(master, "/master/reserve").expect("GET");
    assert_eq!(status, 405, "{body}");
    assert!(master_reserved(master).is_empty());

    // An operator reserves a cpu and memory for db.
    let (status, body) = post_form(
        master,
        "/master/reserve",
        &[
            ("slaveId", agent_id.clone()),
            (
                "resources",
                json!([reserved("cpus", 1.0), reserved("mem", 128.0)]).to_string(),
            ),
        ],
    );
    assert_eq!(status, 202, "{body}");
    let slaves = get_json(master, "/master/slaves");
    assert_eq!(
        slaves["slaves"][0]["reserved_resources"]["db"]["cpus"], 1.0,
        "{slaves}"
    );

    // web is never offered what db holds reserved.
    let mut web = Scheduler::subscribe(master, "web", "web");
    let web_offer = web.take_offer("unreserved cpus", |o| scalar(o, "cpus") > 0.0);
    assert!(
        !web_offer["resources"]
            .as_array()
            .into_iter()
            .flatten()
            .any(is_reserved),
        "web was offered reserved resources: {web_offer}"
    );
    assert!(scalar(&web_offer, "cpus") <= 3.0, "{web_offer}");
    web.decline(&web_offer, 3600.0);

    // db reserves disk and makes a volume of it in one ACCEPT, with
    // feedback, and its first task writes to the volume.
    let mut db = Scheduler::subscribe_with(master, db_framework(None));
    let framework_id = db.framework_id.clone();
    let offer = db.take_offer("db's reservation", |o| {
        o["resources"]
            .as_array()
            .into_iter()
            .flatten()
            .any(is_reserved)
            && scalar(o, "disk") >= 64.0
    });
    db.accept(
        &offer,
        json!([
            {"type": "RESERVE", "id": {"value": "reserve-disk"},
             "reserve": {"resources": [reserved("disk", 64.0)]}},
            {"type": "CREATE", "id": {"value": "create-vol1"},
             "create": {"volumes": [volume(64.0)]}},
            {"type": "LAUNCH", "launch": {"task_infos": [{
                "name": "writer", "task_id": {"value": "writer"}, "agent_id": offer["agent_id"],
                "resources": [reserved("cpus", 0.1), reserved("mem", 32.0), volume(64.0)],
                "command": {"shell": true, "value": "echo hello > data/f"}}]}},
        ]),
    );
    for id in ["reserve-disk", "create-vol1"] {
        let status = db.wait_event(id, |e| {
            e["type"] == "UPDATE_OPERATION_STATUS"
                && e["update_operation_status"]["status"]["operation_id"]["value"] == id
        });
        assert_eq!(
            status["update_operation_status"]["status"]["state"], "OPERATION_FINISHED",
            "{status}"
        );
    }
    assert_eq!(wait_task(&mut db, "writer", true), "TASK_FINISHED");
    let on_agent = cluster.dir().join("agent0/volumes/roles/db/vol1/f");
    assert_eq!(
        std::fs::read_to_string(&on_agent)
            .expect("the volume's file")
            .trim(),
        "hello"
    );
    let held = master_reserved(master);
    assert!(
        held.iter()
            .any(|r| r["disk"]["persistence"]["id"] == "vol1"),
        "{held:?}"
    );

    // A second task of db reads what the first wrote.
    let read = "test \"$(cat data/f)\" = hello";
    let offer = db.take_offer("the volume", has_volume);
    let task_resources = json!([reserved("cpus", 0.1), reserved("mem", 32.0), volume(64.0)]);
    assert_eq!(
        run_task(&mut db, &offer, "reader-1", task_resources.clone(), read),
        "TASK_FINISHED"
    );

    // The agent restarts: the reservations and the volume are its own.
    cluster.agents[0].kill();
    let _ = cluster.agents[0].wait_exit(WAIT);
    db.drain();
    db.offers.clear();
    cluster.restart_agent(0, &[]);
    let back = common::wait_until(WAIT, || {
        master_reserved(master)
            .iter()
            .any(|r| r["disk"]["persistence"]["id"] == "vol1")
            && get_json(master, "/master/slaves")["slaves"][0]["active"] == true
    });
    assert!(
        back,
        "after the agent restart: {:?}",
        master_reserved(master)
    );
    let offer = db.take_offer("the volume after the agent restart", has_volume);
    assert_eq!(
        run_task(&mut db, &offer, "reader-2", task_resources.clone(), read),
        "TASK_FINISHED"
    );

    // The master restarts; db re-subscribes as itself and still has it.
    drop(web);
    drop(db);
    restart_master(&mut cluster, master.port());
    let recovered = common::wait_until(WAIT, || {
        http_get(master, "/master/slaves").is_ok_and(|(s, body)| {
            s == 200
                && serde_json::from_str::<Value>(&body).is_ok_and(|v| {
                    v["slaves"][0]["reserved_resources_full"]["db"]
                        .as_array()
                        .is_some_and(|l| l.iter().any(|r| r["disk"]["persistence"]["id"] == "vol1"))
                })
        })
    });
    assert!(
        recovered,
        "after the master restart: {:?}",
        http_get(master, "/master/slaves")
    );
    let mut db = Scheduler::subscribe_with(master, db_framework(Some(&framework_id)));
    assert_eq!(db.framework_id, framework_id);
    let offer = db.take_offer("the volume after the master restart", has_volume);
    assert_eq!(
        run_task(&mut db, &offer, "reader-3", task_resources.clone(), read),
        "TASK_FINISHED"
    );

    // A volume in use is not destroyed; once free it is, with its data.
    let offer = db.take_offer("the volume again", has_volume);
    let task = json!({"name": "sleeper", "task_id": {"value": "sleeper"},
        "agent_id": offer["agent_id"], "resources": task_resources,
        "command": {"shell": true, "value": "sleep 600"}});
    db.accept(
        &offer,
        json!([{"type": "LAUNCH", "launch": {"task_infos": [task]}}]),
    );
    assert_eq!(wait_task(&mut db, "sleeper", false), "TASK_RUNNING");
    let volumes = json!([volume(64.0)]).to_string();
    let destroy = [("slaveId", agent_id.clone()), ("volumes", volumes.clone())];
    let (status, body) = post_form(master, "/master/destroy-volumes", &destroy);
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("in use"), "{body}");
    let (status, text) = db.call(json!({
        "framework_id": {"value": framework_id}, "type": "KILL",
        "kill": {"task_id": {"value": "sleeper"}, "agent_id": offer["agent_id"]}}));
    assert_eq!(status, 202, "KILL: {text}");
    assert_eq!(wait_task(&mut db, "sleeper", true), "TASK_KILLED");
    // db holds offers of the volume: the operator's call rescinds them.
    let destroyed = common::poll(WAIT, || {
        let (status, body) = post_form(master, "/master/destroy-volumes", &destroy);
        (status != 409).then_some((status, body))
    });
    let (status, body) = destroyed.expect("the volume is freed");
    assert_eq!(status, 202, "{body}");
    let gone = common::wait_until(WAIT, || !on_agent.exists());
    assert!(gone, "the volume's directory is still there");

    // The operator gives back what was reserved.
    let all = json!([
        reserved("cpus", 1.0),
        reserved("mem", 128.0),
        reserved("disk", 64.0)
    ]);
    let unreserved = common::poll(WAIT, || {
        let (status, body) = post_form(
            master,
            "/master/unreserve",
            &[
                ("slaveId", agent_id.clone()),
                ("resources", all.to_string()),
            ],
        );
        (status != 409).then_some((status, body))
    });
    let (status, body) = unreserved.expect("the reservations are freed");
    assert_eq!(status, 202, "{body}");
    assert!(
        master_reserved(master).is_empty(),
        "{:?}",
        master_reserved(master)
    );
}

#[test]
fn operations_refused_in_an_accept_are_dropped_with_feedback() {
    let cluster = Cluster::start(&[], &["cpus:2;mem:512;disk:128"]);
    let master = cluster.master.address();
    let mut db = Scheduler::subscribe_with(master, db_framework(None));
    let offer = db.take_offer("anything", |o| scalar(o, "cpus") > 0.0);
    let mut other_role = reserved("cpus", 1.0);
    other_role["reservations"][0]["role"] = json!("web");
    db.accept(
        &offer,
        json!([
            {"type": "RESERVE", "id": {"value": "wrong-role"},
             "reserve": {"resources": [other_role]}},
            {"type": "RESERVE", "id": {"value": "too-much"},
             "reserve": {"resources": [reserved("cpus", 16.0)]}},
            {"type": "DESTROY", "id": {"value": "no-volume"},
             "destroy": {"volumes": [volume(8.0)]}},
            {"type": "RESERVE", "id": {"value": "fine"},
             "reserve": {"resources": [reserved("cpus", 1.0)]}},
        ]),
    );
    for (id, state, text) in [
        (
            "wrong-role",
            "OPERATION_ERROR",
            "can only reserve resources with roles db",
        ),
        ("too-much", "OPERATION_ERROR", "Insufficient"),
        ("no-volume", "OPERATION_ERROR", "Insufficient"),
        ("fine", "OPERATION_FINISHED", ""),
    ] {
        let event = db.wait_event(id, |e| {
            e["update_operation_status"]["status"]["operation_id"]["value"] == id
        });
        let status = &event["update_operation_status"]["status"];
        assert_eq!(status["state"], state, "{event}");
        assert!(
            status["message"]
                .as_str()
                .unwrap_or_default()
                .contains(text),
            "{event}"
        );
    }
    let held = master_reserved(master);
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!(held[0]["name"], "cpus", "{held:?}");
    assert_eq!(held[0]["scalar"]["value"], 1.0, "{held:?}");
    // The operator API answers bad calls with a status and a reason.
    let calls = [
        (
            json!({"type": "RESERVE_RESOURCES", "reserve_resources": {
                "agent_id": {"value": "nope"}, "resources": [reserved("cpus", 1.0)]}}),
            404,
        ),
        (
            json!({"type": "RESERVE_RESOURCES", "reserve_resources": {
                "agent_id": {"value": cluster.agent_id(0)},
                "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 1}}]}}),
            400,
        ),
        (
            json!({"type": "UNRESERVE_RESOURCES", "unreserve_resources": {
                "agent_id": {"value": cluster.agent_id(0)}, "resources": [reserved("mem", 1.0)]}}),
            409,
        ),
        (json!({"type": "CREATE_VOLUMES"}), 400),
    ];
    for (call, status) in calls {
        let (got, _, body) = common::http_post(
            &master.to_string(),
            "/api/v1",
            &[("Content-Type", "application/json")],
            call.to_string().as_bytes(),
        );
        assert_eq!(got, status, "{call}: {body}");
        assert!(!body.is_empty(), "{call}: no reason given");
    }
    // An operator makes a volume, grows it and shrinks it.
    let agent = json!({"value": cluster.agent_id(0)});
    let addition = reserved("disk", 16.0);
    for call in [
        json!({"type": "RESERVE_RESOURCES", "reserve_resources": {
            "agent_id": agent, "resources": [reserved("disk", 32.0)]}}),
        json!({"type": "CREATE_VOLUMES", "create_volumes": {
            "agent_id": agent, "volumes": [volume(16.0)]}}),
        json!({"type": "GROW_VOLUME", "grow_volume": {
            "agent_id": agent, "volume": volume(16.0), "addition": addition}}),
        json!({"type": "SHRINK_VOLUME", "shrink_volume": {
            "agent_id": agent, "volume": volume(32.0), "subtract": {"value": 24}}}),
    ] {
        let (got, _, body) = common::http_post(
            &master.to_string(),
            "/api/v1",
            &[("Content-Type", "application/json")],
            call.to_string().as_bytes(),
        );
        assert_eq!(got, 202, "{call}: {body}");
    }
    let size: Vec<f64> = master_reserved(master)
        .iter()
        .filter(|r| r["disk"]["persistence"]["id"] == "vol1")
        .filter_map(|r| r["scalar"]["value"].as_f64())
        .collect();
    assert_eq!(size, vec![8.0], "{:?}", master_reserved(master));
    let (got, _, body) = common::http_post(
        &master.to_string(),
        "/api/v1",
        &[("Content-Type", "application/json")],
        json!({"type": "SHRINK_VOLUME", "shrink_volume": {
            "agent_id": agent, "volume": volume(8.0), "subtract": {"value": 8}}})
        .to_string()
        .as_bytes(),
    );
    assert_eq!(got, 400, "{body}");
    let (got, _, body) = common::http_post(
        &master.to_string(),
        "/api/v1",
        &[("Content-Type", "application/json")],
        json!({"type": "UNRESERVE_RESOURCES", "unreserve_resources": {
            "agent_id": {"value": cluster.agent_id(0)}, "resources": [reserved("cpus", 1.0)]}})
        .to_string()
        .as_bytes(),
    );
    // db's offers may hold the reserved cpu: they are rescinded for it.
    assert_eq!(got, 202, "{body}");
    let held = master_reserved(master);
    assert!(held.iter().all(|r| r["name"] == "disk"), "{held:?}");
}
