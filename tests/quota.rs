//! Quota on a real master and agents, seen by v1 HTTP frameworks in
//! different roles: a limit caps what a role is offered, a guarantee is
//! kept for its role (other roles are offered only the rest) and given to
//! it when it comes, the quota metrics and `/roles` show it, quotas survive
//! a master restart, and bad requests are 4xx with a reason.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

use common::cluster::{get_json, http_get, metric, Cluster, Daemon};
use common::scheduler::Scheduler;
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(20);
const JSON: (&str, &str) = ("Content-Type", "application/json");

/// POSTs `body` to `path`: the status and the body.
fn post(address: SocketAddr, path: &str, body: &str) -> (u16, String) {
    let (status, _, text) = common::http_post(&address.to_string(), path, &[JSON], body.as_bytes());
    (status, text)
}

/// Sends an HTTP request with any method; the status and the body.
fn request(address: SocketAddr, method: &str, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(address).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).ok();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    )
    .expect("write");
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).to_string();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    (status, body.to_owned())
}

fn update_quota(address: SocketAddr, configs: Value, force: bool) -> (u16, String) {
    let call = json!({
        "type": "UPDATE_QUOTA",
        "update_quota": {"force": force, "quota_configs": configs},
    });
    post(address, "/api/v1", &call.to_string())
}

fn quota_metric(master: SocketAddr, role: &str, kind: &str, what: &str) -> Option<f64> {
    metric(
        master,
        &format!("allocator/mesos/quota/roles/{role}/resources/{kind}/{what}"),
    )
}

#[test]
fn a_limit_caps_a_role_and_a_guarantee_is_kept_for_its_role() {
    // 4 cpus in all.
    let cluster = Cluster::start(&[], &["cpus:2;mem:512", "cpus:2;mem:512"]);
    let master = cluster.master.address();
    let (status, text) = update_quota(
        master,
        json!([
            {"role": "dev", "guarantees": {"cpus": {"value": 2}}, "limits": {"cpus": {"value": 2}}},
            {"role": "ops", "limits": {"cpus": {"value": 1}}},
        ]),
        false,
    );
    assert_eq!(status, 200, "{text}");

    // "ops" may have 1 cpu however much is free, even while a task of it
    // holds that cpu.
    let mut ops = Scheduler::subscribe(master, "ops", "ops");
    ops.offered_settles_at(1.0, "ops, at its limit");
    ops.launch("ops-task", 1.0);
    // Starting is enough: updates past the first wait for an
    // acknowledgement this scheduler does not send.
    let started = common::wait_until(WAIT, || {
        let tasks = get_json(master, "/master/tasks");
        tasks["tasks"].as_array().is_some_and(|t| {
            t.iter()
                .any(|t| t["id"] == "ops-task" && t["state"] == "TASK_STARTING")
        })
    });
    assert!(
        started,
        "the ops task never started: {}",
        get_json(master, "/master/tasks")
    );
    ops.offered_settles_at(0.0, "ops, its task holding its limit");

    // "web" has no quota: of the 3 cpus left, 2 are held back for dev.
    let mut web = Scheduler::subscribe(master, "web", "web");
    web.offered_settles_at(1.0, "web, beside dev's unmet guarantee");

    // dev comes and gets what was kept for it.
    let mut dev = Scheduler::subscribe(master, "dev", "dev");
    dev.offered_settles_at(2.0, "dev, its guarantee");
    ops.offered_settles_at(0.0, "ops, still at its limit");

    // The metrics and the operator's views say the same.
    let metrics_ok = common::wait_until(WAIT, || {
        quota_metric(master, "dev", "cpus", "guarantee") == Some(2.0)
            && quota_metric(master, "dev", "cpus", "offered_or_allocated") == Some(2.0)
            && quota_metric(master, "ops", "cpus", "limit") == Some(1.0)
            && quota_metric(master, "ops", "cpus", "offered_or_allocated") == Some(1.0)
    });
    assert!(
        metrics_ok,
        "quota metrics: {:?}",
        http_get(master, "/metrics/snapshot")
    );
    let (status, text) = post(master, "/api/v1", r#"{"type":"GET_QUOTA"}"#);
    assert_eq!(status, 200, "{text}");
    let got: Value = serde_json::from_str(&text).expect("GET_QUOTA JSON");
    assert_eq!(
        got["get_quota"]["status"]["configs"],
        json!([
            {"role": "dev", "guarantees": {"cpus": {"value": 2.0}}, "limits": {"cpus": {"value": 2.0}}},
            {"role": "ops", "limits": {"cpus": {"value": 1.0}}},
        ]),
        "{got}"
    );
    let roles = get_json(master, "/master/roles");
    let dev_role = roles["roles"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["name"] == "dev"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        dev_role["quota"]["guarantee"],
        json!({"cpus": 2.0}),
        "{roles}"
    );
    let (status, text) = post(master, "/api/v1", r#"{"type":"GET_ROLES"}"#);
    assert_eq!(status, 200, "{text}");
    let got: Value = serde_json::from_str(&text).expect("GET_ROLES JSON");
    let dev_role = got["get_roles"]["roles"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["name"] == "dev"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        dev_role["quota"]["guarantees"]["cpus"]["value"], 2.0,
        "{got}"
    );

    // Once ops has no limit, it is offered what is free (dev is at its
    // own limit, so it is not).
    let (status, text) = post(
        master,
        "/api/v1",
        r#"{"type":"REMOVE_QUOTA","remove_quota":{"role":"ops"}}"#,
    );
    assert_eq!(status, 200, "{text}");
    // Everything is held (offers to dev and web, ops's task) but what web
    // or dev give back; web declines its cpu, which may now go to ops.
    web.drain();
    let offer_ids: Vec<Value> = web.offers.iter().map(|o| o["id"].clone()).collect();
    let (status, text) = web.call(json!({
        "framework_id": {"value": web.framework_id},
        "type": "DECLINE",
        "decline": {"offer_ids": offer_ids, "filters": {"refuse_seconds": 3600}},
    }));
    assert_eq!(status, 202, "DECLINE: {text}");
    ops.offered_settles_at(1.0, "ops, without a limit");
}

#[test]
fn quota_survives_a_master_restart_and_bad_requests_are_refused() {
    let mut cluster = Cluster::start(&[], &["cpus:2;mem:512"]);
    let master = cluster.master.address();
    let cases: &[(Value, bool, u16, &str)] = &[
        (
            json!([{"role": "dev", "guarantees": {"cpus": {"value": 2}}, "limits": {"cpus": {"value": 1}}}]),
            false,
            400,
            "not within limits",
        ),
        (
            json!([{"role": "dev", "guarantees": {"cpus": {"value": 64}}}]),
            false,
            409,
            "use 'force'",
        ),
        (
            json!([{"role": "*", "guarantees": {"cpus": {"value": 1}}}]),
            false,
            400,
            "'*'",
        ),
        (
            json!([{"role": "dev", "guarantees": {"cpus": {"value": -1}}}]),
            false,
            400,
            "negative",
        ),
        (
            json!([{"role": "dev", "limits": {"ports": {"ranges": {"range": []}}}}]),
            false,
            400,
            "scalar",
        ),
        (json!({"role": "dev"}), false, 400, "array"),
    ];
    for (configs, force, status, text) in cases {
        let (got, body) = update_quota(master, configs.clone(), *force);
        assert_eq!(got, *status, "{configs}: {body}");
        assert!(body.contains(text), "{configs}: {body}");
    }
    let (status, body) = post(master, "/master/quota", "{not json");
    assert_eq!(status, 400, "{body}");
    let (status, body) = request(master, "DELETE", "/master/quota/nobody");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("no quota"), "{body}");
    let (status, body) = request(master, "PUT", "/master/quota");
    assert_eq!(status, 405, "{body}");

    // The old endpoint sets guarantee and limit alike, once per role;
    // beyond the cluster only with force.
    let request_body =
        r#"{"role":"dev","guarantee":[{"name":"cpus","type":"SCALAR","scalar":{"value":1}}]}"#;
    let (status, body) = post(master, "/master/quota", request_body);
    assert_eq!(status, 200, "{body}");
    let (status, body) = post(master, "/master/quota", request_body);
    assert_eq!(status, 400, "a second SET for the role: {body}");
    let (status, body) = update_quota(
        master,
        json!([{"role": "big", "guarantees": {"cpus": {"value": 64}}}]),
        true,
    );
    assert_eq!(status, 200, "{body}");
    let status_before = get_json(master, "/master/quota");
    assert_eq!(
        status_before["configs"],
        json!([
            {"role": "big", "guarantees": {"cpus": {"value": 64.0}}},
            {"role": "dev", "guarantees": {"cpus": {"value": 1.0}}, "limits": {"cpus": {"value": 1.0}}},
        ]),
        "{status_before}"
    );
    // Also served at the top level, as the master's endpoints are.
    assert_eq!(get_json(master, "/quota"), status_before);
    let (status, body) = request(master, "DELETE", "/quota/big");
    assert_eq!(status, 200, "{body}");

    // The master restarts on its work dir: the quota is read back from
    // the registry.
    let work_dir = cluster.dir().join("master");
    cluster.master.kill();
    let _ = cluster.master.wait_exit(WAIT);
    cluster.master = Daemon::start(
        "master",
        Path::new(env!("CARGO_BIN_EXE_mesos-master")),
        &[
            "--ip=127.0.0.1".to_owned(),
            "--port=0".to_owned(),
            "--allocation_interval=100ms".to_owned(),
            format!("--work_dir={}", work_dir.display()),
        ],
        cluster.dir().join("master-restarted.log"),
    );
    let master = cluster.master.address();
    let recovered = common::poll(WAIT, || {
        let (status, body) = http_get(master, "/master/quota").ok()?;
        (status == 200).then_some(body)
    })
    .expect("the restarted master serves /quota");
    let after: Value = serde_json::from_str(&recovered).expect("quota JSON");
    assert_eq!(
        after["configs"],
        json!([{"role": "dev", "guarantees": {"cpus": {"value": 1.0}}, "limits": {"cpus": {"value": 1.0}}}]),
        "{after}"
    );
    assert_eq!(
        after["infos"][0]["guarantee"][0]["scalar"]["value"], 1.0,
        "{after}"
    );
    let metric_back = common::wait_until(WAIT, || {
        quota_metric(master, "dev", "cpus", "limit") == Some(1.0)
    });
    assert!(
        metric_back,
        "the restarted allocator does not know the quota"
    );
}
