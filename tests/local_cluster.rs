//! The embedded default end to end: `mesos-local` with real agents and
//! executors, driven by `mesos-execute` and the `test_framework` example.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{Daemon, TempDir};

const LOCAL: &str = env!("CARGO_BIN_EXE_mesos-local");
const EXECUTE: &str = env!("CARGO_BIN_EXE_mesos-execute");

fn local(dir: &TempDir, agents: usize, resources: &str) -> Daemon {
    Daemon::start(
        LOCAL,
        &[
            "--port=0",
            &format!("--num_slaves={agents}"),
            &format!("--work_dir={}", dir.path().display()),
            &format!("--resources={resources}"),
            "--allocation_interval=100ms",
        ],
    )
}

#[test]
fn mesos_execute_runs_echo_hi_to_finished_with_hi_in_the_sandbox() {
    let dir = TempDir::new("execute");
    let cluster = local(&dir, 1, "cpus:2;mem:1024");
    let out = common::run_with_deadline(
        Command::new(EXECUTE).args([
            &format!("--master={}", cluster.address),
            "--name=hi",
            "--command=echo hi",
        ]),
        Duration::from_secs(60),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        cluster.log()
    );
    for state in ["TASK_STARTING", "TASK_RUNNING", "TASK_FINISHED"] {
        assert!(
            stdout.contains(&format!("Received status update {state} for task 'hi'")),
            "{stdout}"
        );
    }
    let outputs = common::find_files(dir.path(), "stdout");
    assert!(
        outputs
            .iter()
            .any(|p| std::fs::read_to_string(p).is_ok_and(|s| s.contains("hi"))),
        "no sandbox stdout holds 'hi': {outputs:?}"
    );
    // The sandbox layout operators know, with its `latest` link.
    let sandbox = outputs.first().expect("a sandbox");
    let text = sandbox.display().to_string();
    assert!(
        text.contains("/slaves/")
            && text.contains("/frameworks/")
            && text.contains("/executors/hi/runs/"),
        "{text}"
    );
    let runs = sandbox.parent().and_then(|p| p.parent()).expect("runs dir");
    assert!(runs.join("latest").join("stdout").exists());

    // The sandbox through /files, and nothing outside the sandboxes.
    let dir_q = sandbox.parent().expect("sandbox dir").display().to_string();
    let (status, body) = common::http_get(&cluster.address, &format!("/files/browse?path={dir_q}"));
    assert_eq!(status, 200, "{body}");
    let listing: serde_json::Value = serde_json::from_str(&body).expect("browse JSON");
    let entry = listing
        .as_array()
        .and_then(|l| {
            l.iter()
                .find(|e| e["path"].as_str().is_some_and(|p| p.ends_with("/stdout")))
        })
        .expect("stdout listed");
    for key in ["nlink", "size", "mtime", "mode", "uid", "gid"] {
        assert!(entry.get(key).is_some(), "{key} missing in {entry}");
    }
    let file_q = sandbox.display().to_string();
    let (status, body) = common::http_get(
        &cluster.address,
        &format!("/files/read?path={file_q}&offset=0"),
    );
    assert_eq!(status, 200);
    let read: serde_json::Value = serde_json::from_str(&body).expect("read JSON");
    assert!(
        read["data"].as_str().is_some_and(|d| d.contains("hi")),
        "{body}"
    );
    assert_eq!(read["offset"], 0);
    let (_, body) = common::http_get(
        &cluster.address,
        &format!("/files/read?path={file_q}&offset=-1"),
    );
    let size: serde_json::Value = serde_json::from_str(&body).expect("size JSON");
    assert_eq!(size["data"], "");
    assert!(size["offset"].as_u64().is_some_and(|n| n >= 3));
    let (status, body) =
        common::http_get(&cluster.address, &format!("/files/download?path={file_q}"));
    assert_eq!(status, 200);
    assert!(body.contains("hi"));
    for (path, expected) in [
        ("/files/read?path=/etc/passwd&offset=0".to_string(), 403),
        (
            format!(
                "/files/read?path={dir_q}/{}etc/passwd&offset=0",
                "../".repeat(30)
            ),
            403,
        ),
        (format!("/files/browse?path={dir_q}/nonexistent"), 404),
        ("/files/browse".to_string(), 400),
        (format!("/files/read?path={file_q}&offset=x"), 400),
    ] {
        assert_eq!(
            common::http_get(&cluster.address, &path).0,
            expected,
            "{path}"
        );
    }

    // The metrics operators watch, every value a number.
    let (status, body) = common::http_get(&cluster.address, "/metrics/snapshot");
    assert_eq!(status, 200);
    let metrics: serde_json::Value = serde_json::from_str(&body).expect("metrics JSON");
    let m = metrics.as_object().expect("a flat object");
    assert!(m.values().all(|v| v.is_number()), "{body}");
    let get = |k: &str| {
        m.get(k)
            .and_then(|v| v.as_f64())
            .unwrap_or_else(|| panic!("no {k} in {body}"))
    };
    assert_eq!(get("master/elected"), 1.0);
    assert_eq!(get("master/slaves_active"), 1.0);
    assert_eq!(get("master/tasks_finished"), 1.0);
    assert_eq!(get("master/tasks_running"), 0.0);
    assert_eq!(get("master/cpus_total"), 2.0);
    assert_eq!(get("master/mem_total"), 1024.0);
    assert!(get("master/uptime_secs") > 0.0);
    assert!(get("master/messages_register_framework") >= 1.0);
    assert!(get("allocator/mesos/allocation_runs") >= 1.0);
    assert_eq!(get("slave/registered"), 1.0);
    assert_eq!(get("slave/tasks_finished"), 1.0);
    assert!(get("slave/valid_status_updates") >= 3.0);
    assert!(get("system/cpus_total") >= 1.0);
    assert!(get("system/mem_total_bytes") > 0.0);
}

#[test]
fn a_failing_command_makes_mesos_execute_fail() {
    let dir = TempDir::new("execute-fail");
    let cluster = local(&dir, 1, "cpus:1;mem:256");
    let out = common::run_with_deadline(
        Command::new(EXECUTE).args([
            &format!("--master={}", cluster.address),
            "--name=bad",
            "--command=exit 3",
        ]),
        Duration::from_secs(60),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    assert!(stdout.contains("TASK_FAILED"), "{stdout}");
    assert!(stdout.contains("Command exited with status 3"), "{stdout}");
}

#[test]
fn a_hundred_tasks_across_two_agents_all_finish() {
    let dir = TempDir::new("hundred");
    let cluster = local(&dir, 2, "cpus:4;mem:1024");
    let out = common::run_with_deadline(
        Command::new(common::example("test_framework")).args([
            "--master",
            &cluster.address,
            "--tasks",
            "100",
        ]),
        Duration::from_secs(120),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        cluster.log()
    );
    // The master saw every task finish, on both agents.
    let (status, body) = common::http_get(&cluster.address, "/master/state");
    assert_eq!(status, 200);
    let state: serde_json::Value = serde_json::from_str(&body).expect("state JSON");
    let frameworks = state["completed_frameworks"]
        .as_array()
        .expect("completed frameworks");
    let tasks: Vec<&serde_json::Value> = frameworks
        .iter()
        .flat_map(|f| f["completed_tasks"].as_array().into_iter().flatten())
        .collect();
    assert_eq!(tasks.len(), 100, "{body}");
    assert!(tasks.iter().all(|t| t["state"] == "TASK_FINISHED"));
    let agents: std::collections::BTreeSet<&str> = tasks
        .iter()
        .filter_map(|t| t["slave_id"].as_str())
        .collect();
    assert_eq!(agents.len(), 2, "tasks ran on {agents:?}");
}
