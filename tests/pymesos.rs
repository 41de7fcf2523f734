//! A real third-party client, pymesos 0.3.15 from PyPI (installed into
//! `.venv` by `scripts/setup.sh`), drives the v1 HTTP APIs of a
//! `mesos-local` cluster.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{Daemon, TempDir};

const LOCAL: &str = env!("CARGO_BIN_EXE_mesos-local");

#[test]
fn a_pymesos_scheduler_runs_twenty_command_tasks_to_finished() {
    let dir = TempDir::new("pymesos-scheduler");
    let cluster = Daemon::start(
        LOCAL,
        &[
            "--port=0",
            &format!("--work_dir={}", dir.path().display()),
            "--resources=cpus:2;mem:1024",
            "--allocation_interval=100ms",
        ],
    );
    let out = common::run_with_deadline(
        Command::new(common::venv_python()).args([
            common::pymesos_script("scheduler.py").display().to_string(),
            cluster.address.clone(),
            "20".into(),
        ]),
        Duration::from_secs(90),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        cluster.log()
    );
    assert!(stdout.contains("finished 20 failed []"), "{stdout}");
    // Every task went through the states a command task goes through.
    for n in 0..20 {
        for state in ["TASK_STARTING", "TASK_RUNNING", "TASK_FINISHED"] {
            assert!(
                stdout.contains(&format!("update task-{n} {state}")),
                "task-{n} {state}\n{stdout}"
            );
        }
    }
    // The framework tore itself down and the master knows it finished.
    let (_, body) = common::http_get(&cluster.address, "/master/frameworks");
    let v: serde_json::Value = serde_json::from_str(&body).expect("frameworks JSON");
    assert_eq!(v["frameworks"].as_array().map(Vec::len), Some(0), "{body}");
    let done = v["completed_frameworks"][0]["completed_tasks"]
        .as_array()
        .map(Vec::len);
    assert_eq!(done, Some(20), "{body}");
}

#[test]
fn a_pymesos_executor_runs_as_a_custom_executor_and_messages_its_framework() {
    let dir = TempDir::new("pymesos-executor");
    let cluster = Daemon::start(
        LOCAL,
        &[
            "--port=0",
            &format!("--work_dir={}", dir.path().display()),
            "--resources=cpus:2;mem:1024",
            "--allocation_interval=100ms",
        ],
    );
    let out = common::run_with_deadline(
        Command::new(common::venv_python()).args([
            common::pymesos_script("executor_scheduler.py")
                .display()
                .to_string(),
            cluster.address.clone(),
            common::venv_python().display().to_string(),
            common::pymesos_script("executor.py").display().to_string(),
        ]),
        Duration::from_secs(90),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        cluster.log()
    );
    assert!(stdout.contains("update custom-1 TASK_RUNNING"), "{stdout}");
    assert!(
        stdout.contains("message pymesos-executor hello from custom-1"),
        "{stdout}"
    );
    assert!(stdout.contains("update custom-1 TASK_FINISHED"), "{stdout}");
    // The framework's teardown shut the executor down: its sandbox shows a
    // run that ended, and no executor of this test is left running.
    let gone = common::wait_until(Duration::from_secs(20), || {
        common::processes_in(dir.path()).is_empty()
    });
    assert!(
        gone,
        "executors outlived their framework: {:?}",
        common::processes_in(dir.path())
    );
}
