//! Frameworks that go away, on a real cluster (`mesos-master` and a
//! `mesos-agent` as child processes):
//!
//! - a framework with a failover timeout whose scheduler stops with
//!   failover is kept by the master; a new scheduler instance (another
//!   node, another pid) subscribing with the same framework id is
//!   registered under it, finds its task still running and can kill it;
//! - a framework without a failover timeout whose scheduler process dies
//!   (`mesos-execute`, killed with SIGKILL) is removed as soon as its
//!   connection breaks, and its tasks are killed.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::cluster::{Cluster, EXECUTOR};
use common::framework::{command_task, info, Framework};
use mesos::scheduler::Status;
use wire::ids::{AgentId, TaskId};
use wire::mesos::TaskStatus;
use wire::task::{Reason, Source, TaskState};

const WAIT: Duration = Duration::from_secs(10);
const AGENT: &str = "cpus:4;mem:1024";

/// The frameworks the master lists under `key` with this id.
fn master_framework(cluster: &Cluster, key: &str, id: &str) -> Option<serde_json::Value> {
    cluster.master_json("/master/frameworks")[key]
        .as_array()?
        .iter()
        .find(|f| f["id"] == id)
        .cloned()
}

/// The state agent 0 reports for `task` of framework `id`.
fn agent_task_state(cluster: &Cluster, id: &str, task: &str) -> Option<String> {
    let state = cluster.agent_state(0);
    let framework = state["frameworks"]
        .as_array()?
        .iter()
        .find(|f| f["id"] == id)?
        .clone();
    let executors = framework["executors"].as_array()?.clone();
    executors
        .iter()
        .flat_map(|e| e["tasks"].as_array().cloned().unwrap_or_default())
        .find(|t| t["id"] == task)
        .and_then(|t| t["state"].as_str().map(str::to_owned))
}

#[actix::test]
async fn a_framework_failing_over_within_its_timeout_keeps_its_running_task() {
    let cluster = Cluster::start(&[], &[AGENT]);
    let agent = cluster.agent_id(0);
    let mut framework_info = info("phoenix");
    framework_info.failover_timeout = 60.0;
    let mut first = Framework::start(cluster.master_address(), framework_info.clone()).await;
    let id = first.registered().await;
    first
        .launch(
            vec![command_task("sleep", "sleep 1000")],
            "cpus:1;mem:128",
            None,
        )
        .await;
    first.update("sleep", TaskState::Running, WAIT).await;

    assert_eq!(first.stop(true).await, Status::Stopped);
    let disconnected = common::poll_async(WAIT, || {
        master_framework(&cluster, "frameworks", id.as_str()).filter(|f| f["connected"] == false)
    })
    .await;
    assert!(
        disconnected.is_some(),
        "the master did not keep the framework"
    );

    let failed_over = Instant::now();
    framework_info.id = Some(id.clone());
    let second = Framework::start(cluster.master_address(), framework_info).await;
    assert_ne!(second.pid(), first.pid());
    assert_eq!(second.registered().await, id);
    eprintln!(
        "registered again {:?} after starting",
        failed_over.elapsed()
    );
    let listed = master_framework(&cluster, "frameworks", id.as_str()).expect("framework");
    assert_eq!(listed["connected"], true, "{listed}");
    assert_eq!(listed["pid"], second.pid().to_string(), "{listed}");

    // The task survived the failover.
    let mut asking = TaskStatus::new(TaskId::new("sleep"), TaskState::Running);
    asking.agent_id = Some(AgentId::new(&agent));
    let since = Instant::now();
    second.handle.reconcile_tasks(vec![asking]);
    let (_, answer) = second
        .update_since("sleep", TaskState::Running, since, WAIT)
        .await;
    assert_eq!(answer.reason, Some(Reason::Reconciliation), "{answer:?}");
    assert_eq!(
        agent_task_state(&cluster, id.as_str(), "sleep").as_deref(),
        Some("TASK_RUNNING")
    );
    cluster.await_processes(0, "sleep", 1).await;

    // And the new instance can kill it.
    let since = Instant::now();
    second.handle.kill_task(TaskId::new("sleep"));
    let (_, killed) = second
        .update_since("sleep", TaskState::Killed, since, WAIT)
        .await;
    assert_eq!(killed.source, Some(Source::Executor), "{killed:?}");
    cluster.await_processes(0, "sleep", 0).await;
}

#[actix::test]
async fn a_framework_without_failover_timeout_has_its_tasks_killed_when_it_disconnects() {
    let cluster = Cluster::start(&[], &[AGENT]);
    let mut execute = Command::new(env!("CARGO_BIN_EXE_mesos-execute"));
    execute
        .arg(format!("--master={}", cluster.master_address()))
        .args(["--name=doomed", "--command=sleep 1000"])
        .env("USER", common::current_user())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = common::Guard(execute.spawn().expect("spawn mesos-execute"));
    let stdout = child.0.stdout.take().expect("stdout");
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = lines.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            seen.lock().unwrap().push(line);
        }
    });
    let running = common::poll_async(WAIT, || {
        let lines = lines.lock().unwrap();
        let id = lines
            .iter()
            .find_map(|l| l.strip_prefix("Subscribed with ID "))?
            .to_owned();
        lines
            .iter()
            .any(|l| l.starts_with("Received status update TASK_RUNNING"))
            .then_some(id)
    })
    .await;
    let Some(id) = running else {
        panic!(
            "mesos-execute's task did not start: {:?}",
            lines.lock().unwrap()
        );
    };
    cluster.await_processes(0, "sleep", 1).await;
    let killed = Instant::now();
    let _ = child.0.kill();
    let _ = child.0.wait();

    // The master removes the framework as soon as the connection breaks.
    let removed = common::poll_async(WAIT, || {
        let f = master_framework(&cluster, "completed_frameworks", &id)?;
        let task = f["completed_tasks"]
            .as_array()?
            .iter()
            .find(|t| t["id"] == "doomed")?
            .clone();
        (task["state"] == "TASK_KILLED").then(Instant::now)
    })
    .await;
    let Some(removed) = removed else {
        panic!("{}", cluster.master_json("/master/frameworks"));
    };
    // The agent shuts the framework's executor down, which kills the task,
    // and then forgets the framework.
    cluster.await_processes(0, "sleep", 0).await;
    let task_gone = Instant::now();
    let forgotten = common::poll_async(WAIT, || {
        let state = cluster.agent_state(0);
        let frameworks = state["frameworks"].as_array()?.clone();
        (!frameworks.iter().any(|f| f["id"] == id.as_str())).then(Instant::now)
    })
    .await;
    let Some(forgotten) = forgotten else {
        panic!(
            "the agent still has the framework: {}",
            cluster.agent_state(0)
        );
    };
    cluster.await_processes(0, EXECUTOR, 0).await;
    eprintln!(
        "after the scheduler was killed: framework removed {:?}, task gone {:?}, \
         the agent forgot the framework {:?}",
        removed - killed,
        task_gone - killed,
        forgotten - killed
    );
}
