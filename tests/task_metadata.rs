//! A task's labels and discovery info, which service discovery tools
//! (Mesos-DNS and the like) read from the master's and agent's state, come
//! through from the framework as Mesos shows them.

mod common;

use std::time::Duration;

use common::cluster::Cluster;
use common::framework::{command_task, info, Framework};
use serde_json::{json, Value};
use wire::mesos::Label;
use wire::task::TaskState;

#[actix::test]
async fn labels_and_discovery_info_reach_the_state_endpoints() {
    let cluster = Cluster::start(&[], &["cpus:1;mem:256"]);
    let framework = Framework::start(cluster.master_address(), info("discovered")).await;
    framework.registered().await;
    let discovery = json!({"visibility": "EXTERNAL", "name": "web",
        "ports": {"ports": [{"number": 31000, "name": "http", "protocol": "tcp"}]}});
    let mut task = command_task("web", "sleep 600");
    task.meta.labels = vec![
        Label {
            key: "tier".into(),
            value: Some("front".into()),
        },
        Label {
            key: "canary".into(),
            value: None,
        },
    ];
    task.meta.discovery = Some(discovery.to_string());
    framework.launch(vec![task], "cpus:0.1;mem:32", None).await;
    framework
        .update("web", TaskState::Running, Duration::from_secs(15))
        .await;
    let labels = json!([{"key": "tier", "value": "front"}, {"key": "canary"}]);
    let check = |task: &Value, from: &str| {
        assert_eq!(task["labels"], labels, "{from}: {task}");
        assert_eq!(task["discovery"], discovery, "{from}: {task}");
    };
    let state = cluster.master_json("/master/state");
    check(&state["frameworks"][0]["tasks"][0], "/master/state");
    let tasks = cluster.master_json("/master/tasks");
    check(&tasks["tasks"][0], "/master/tasks");
    let agent = cluster.agent_state(0);
    check(
        &agent["frameworks"][0]["executors"][0]["tasks"][0],
        "agent /state",
    );
}

/// A health check goes with the task to its command executor: failing, it
/// gets the task killed, and the framework and `/master/state` see the
/// task unhealthy.
#[actix::test]
async fn a_task_failing_its_health_check_is_killed_and_shown_unhealthy() {
    let cluster = Cluster::start(&[], &["cpus:1;mem:256"]);
    let framework = Framework::start(cluster.master_address(), info("checked")).await;
    framework.registered().await;
    let mut task = command_task("unhealthy", "sleep 600");
    task.meta.health_check = Some(common::framework::failing_health_check());
    framework.launch(vec![task], "cpus:0.1;mem:32", None).await;
    let killed = framework
        .update("unhealthy", TaskState::Killed, Duration::from_secs(20))
        .await;
    assert_eq!(killed.healthy, Some(false));
    assert!(framework
        .updates("unhealthy")
        .iter()
        .any(|s| s.state == TaskState::Running && s.healthy == Some(false)));
    let state = cluster.master_json("/master/state");
    let statuses = state["completed_frameworks"][0]["completed_tasks"][0]["statuses"]
        .as_array()
        .cloned()
        .or_else(|| {
            state["frameworks"][0]["completed_tasks"][0]["statuses"]
                .as_array()
                .cloned()
        })
        .unwrap_or_default();
    assert!(statuses.iter().any(|s| s["healthy"] == false), "{state}");
}
