//! Killing tasks and reconciling their state, on a real cluster
//! (`mesos-master` and a `mesos-agent` as child processes, the framework on
//! the library's scheduler driver in the test), with the answers Mesos
//! gives:
//!
//! - a kill of a running task ends it as TASK_KILLED, from its executor;
//!   a kill of a task the master does not know is answered as
//!   reconciliation would (TASK_LOST for a framework that is not
//!   PARTITION_AWARE);
//! - explicit reconciliation answers each task asked about: the latest
//!   state of a task the master knows (a terminal task is known until its
//!   terminal update is acknowledged), TASK_LOST for one it does not;
//! - implicit reconciliation (no tasks) answers with the latest state of
//!   every task the master knows.
//!
//! Answers come from the master (SOURCE_MASTER, REASON_RECONCILIATION) and
//! carry no uuid: they are not acknowledged.

mod common;

use std::time::{Duration, Instant};

use common::cluster::Cluster;
use common::framework::{command_task, info, Event, Framework};
use mesos::scheduler::Options;
use wire::ids::{AgentId, TaskId};
use wire::mesos::TaskStatus;
use wire::task::{Reason, Source, TaskState};

const WAIT: Duration = Duration::from_secs(10);

/// A reconciliation request for `task`, on `agent` if given.
fn asking(task: &str, agent: Option<&str>) -> TaskStatus {
    let mut status = TaskStatus::new(TaskId::new(task), TaskState::Running);
    status.agent_id = agent.map(AgentId::new);
    status
}

/// Reconciles `tasks` (all known tasks if empty), then asks about a task
/// nobody launched. Answers come back in order on one connection, so once
/// the sentinel's arrives, so have all others: returns them, sentinel
/// excluded, as task id and status.
async fn reconcile(framework: &Framework, tasks: Vec<TaskStatus>) -> Vec<(String, TaskStatus)> {
    let sentinel = format!("sentinel-{}", uuid_like());
    let since = Instant::now();
    framework.handle.reconcile_tasks(tasks);
    framework
        .handle
        .reconcile_tasks(vec![asking(&sentinel, None)]);
    framework
        .wait_for("reconciliation answers", WAIT, |events| {
            let answers: Vec<(String, TaskStatus)> = events
                .iter()
                .filter(|(at, _)| *at >= since)
                .filter_map(|(_, e)| match e {
                    Event::Update(s) if s.reason == Some(Reason::Reconciliation) => {
                        Some((s.task_id.to_string(), s.clone()))
                    }
                    _ => None,
                })
                .collect();
            let end = answers.iter().position(|(t, _)| *t == sentinel)?;
            Some(answers[..end].to_vec())
        })
        .await
}

fn uuid_like() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default()
}

/// Checks an answer is the master's reconciliation answer in `state`.
fn answered(answers: &[(String, TaskStatus)], task: &str, state: TaskState) {
    let found: Vec<&TaskStatus> = answers
        .iter()
        .filter(|(t, _)| t == task)
        .map(|(_, s)| s)
        .collect();
    let [status] = found[..] else {
        panic!("expected one answer for '{task}': {answers:#?}");
    };
    assert_eq!(status.state, state, "{status:?}");
    assert_eq!(status.source, Some(Source::Master), "{status:?}");
    assert_eq!(status.uuid, None, "{status:?}");
}

#[actix::test]
async fn killed_tasks_and_reconciliation_answer_as_mesos_does() {
    let cluster = Cluster::start(&[], &["cpus:4;mem:1024"]);
    let agent = cluster.agent_id(0);
    // Terminal updates wait for the test's acknowledgement.
    let options = Options {
        implicit_acknowledgements: false,
    };
    let framework =
        Framework::start_with(cluster.master_address(), info("reconciler"), options).await;
    framework.registered().await;
    framework
        .launch(
            vec![
                command_task("keep", "sleep 1000"),
                command_task("kill", "sleep 1000"),
            ],
            "cpus:1;mem:128",
            None,
        )
        .await;
    framework.update("keep", TaskState::Running, WAIT).await;
    framework.update("kill", TaskState::Running, WAIT).await;

    let asked = Instant::now();
    framework.handle.kill_task(TaskId::new("kill"));
    let (killed_at, killed) = framework
        .update_since("kill", TaskState::Killed, asked, WAIT)
        .await;
    assert_eq!(killed.source, Some(Source::Executor), "{killed:?}");
    assert!(killed.uuid.is_some(), "{killed:?}");
    eprintln!("TASK_KILLED {:?} after the kill", killed_at - asked);

    // Killing a task nobody launched is answered as reconciliation.
    let asked = Instant::now();
    framework.handle.kill_task(TaskId::new("never-launched"));
    let (_, unknown) = framework
        .update_since("never-launched", TaskState::Lost, asked, WAIT)
        .await;
    assert_eq!(unknown.source, Some(Source::Master), "{unknown:?}");
    assert_eq!(unknown.reason, Some(Reason::Reconciliation), "{unknown:?}");

    // Explicit: the killed task is still known (its TASK_KILLED is not
    // acknowledged); unknown tasks are lost, on a registered agent or none.
    let answers = reconcile(
        &framework,
        vec![
            asking("kill", Some(&agent)),
            asking("unknown", None),
            asking("unknown-on-agent", Some(&agent)),
        ],
    )
    .await;
    assert_eq!(answers.len(), 3, "{answers:#?}");
    answered(&answers, "kill", TaskState::Killed);
    answered(&answers, "unknown", TaskState::Lost);
    answered(&answers, "unknown-on-agent", TaskState::Lost);

    // Implicit: every task the master knows, in its latest state.
    let answers = reconcile(&framework, Vec::new()).await;
    assert_eq!(answers.len(), 2, "{answers:#?}");
    answered(&answers, "keep", TaskState::Running);
    answered(&answers, "kill", TaskState::Killed);

    // Once TASK_KILLED is acknowledged the master forgets the task.
    framework.handle.acknowledge_status_update(killed);
    let forgotten = common::poll_async(WAIT, || {
        let frameworks = cluster.master_json("/master/frameworks");
        let framework = &frameworks["frameworks"][0];
        let ids = |key: &str| -> Vec<(String, String)> {
            framework[key]
                .as_array()
                .into_iter()
                .flatten()
                .map(|t| (t["id"].to_string(), t["state"].to_string()))
                .collect()
        };
        let active = ids("tasks");
        let completed = ids("completed_tasks");
        let kill = ("\"kill\"".to_owned(), "\"TASK_KILLED\"".to_owned());
        (!active.iter().any(|(id, _)| *id == kill.0) && completed.contains(&kill)).then_some(())
    })
    .await;
    assert!(
        forgotten.is_some(),
        "{}",
        cluster.master_json("/master/frameworks")
    );
    let answers = reconcile(&framework, Vec::new()).await;
    assert_eq!(answers.len(), 1, "{answers:#?}");
    answered(&answers, "keep", TaskState::Running);
    let answers = reconcile(&framework, vec![asking("kill", Some(&agent))]).await;
    answered(&answers, "kill", TaskState::Lost);

    // The killed task's process is gone; the other still runs.
    cluster.await_processes(0, "sleep", 1).await;
    let sandboxes = cluster.agent_state(0)["frameworks"][0]["executors"].clone();
    let running: Vec<&str> = sandboxes
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|e| e["tasks"].as_array().into_iter().flatten())
        .filter_map(|t| t["id"].as_str())
        .collect();
    assert_eq!(running, ["keep"], "{sandboxes}");
}
