//! Task groups (LAUNCH_GROUP) on a real cluster (`mesos-master` and a
//! `mesos-agent` as child processes, the framework on the library's
//! scheduler driver in the test), with the answers Mesos gives:
//!
//! - the tasks of a group run together under one default executor
//!   (`mesos-default-executor`) and each ends with its command's exit;
//! - when one task of a group fails, the default executor kills the rest
//!   of the group (TASK_KILLED);
//! - an invalid group (a task naming an executor of its own) is refused as
//!   a whole: TASK_ERROR, REASON_TASK_GROUP_INVALID, for every task.

mod common;

use std::time::Duration;

use common::cluster::Cluster;
use common::framework::{command_task, info, Framework};
use serde_json::Value;
use wire::ids::ExecutorId;
use wire::mesos::{CommandInfo, ExecutorInfo};
use wire::resources::Resources;
use wire::task::{Reason, Source, TaskState};

const WAIT: Duration = Duration::from_secs(15);

/// A default executor (no command) with `id`.
fn default_executor(id: &str) -> ExecutorInfo {
    ExecutorInfo {
        executor_id: ExecutorId::new(id),
        framework_id: None,
        command: CommandInfo {
            value: None,
            shell: false,
            arguments: Vec::new(),
            environment: Vec::new(),
            uris: Vec::new(),
            user: None,
        },
        resources: Resources::parse("cpus:0.1;mem:32", "*").expect("resources"),
        name: None,
        shutdown_grace_period: None,
        container: None,
    }
}

/// The ids of the tasks, live or done, each executor of agent 0 holds, by
/// executor id.
fn executors_of_agent(cluster: &Cluster) -> Vec<(String, Vec<String>)> {
    let state = cluster.agent_state(0);
    let ids = |tasks: &Value| -> Vec<String> {
        tasks
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t["id"].as_str().map(str::to_owned))
            .collect()
    };
    state["frameworks"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|f| f["executors"].as_array().cloned().unwrap_or_default())
        .map(|e| {
            let mut tasks = ids(&e["tasks"]);
            tasks.extend(ids(&e["completed_tasks"]));
            tasks.sort();
            (e["id"].as_str().unwrap_or_default().to_owned(), tasks)
        })
        .collect()
}

#[actix::test]
async fn a_task_group_runs_under_one_default_executor_and_finishes() {
    let cluster = Cluster::start(&[], &["cpus:4;mem:1024"]);
    let framework = Framework::start(cluster.master_address(), info("pods")).await;
    framework.registered().await;
    framework
        .launch_group(
            default_executor("pod"),
            vec![
                command_task("first", "sleep 2"),
                command_task("second", "sleep 2"),
            ],
            "cpus:1;mem:128",
        )
        .await;
    framework.update("first", TaskState::Running, WAIT).await;
    framework.update("second", TaskState::Running, WAIT).await;
    let executors = executors_of_agent(&cluster);
    assert_eq!(
        executors,
        vec![(
            "pod".to_owned(),
            vec!["first".to_owned(), "second".to_owned()]
        )],
        "one executor holds the whole group"
    );
    for task in ["first", "second"] {
        let finished = framework.update(task, TaskState::Finished, WAIT).await;
        assert_eq!(finished.source, Some(Source::Executor), "{finished:?}");
        let states: Vec<TaskState> = framework.updates(task).iter().map(|s| s.state).collect();
        assert_eq!(
            states,
            [TaskState::Starting, TaskState::Running, TaskState::Finished],
            "{task}"
        );
    }
    // The executor stops once its tasks are over (`comm` keeps 15 bytes).
    cluster.await_processes(0, "mesos-default-e", 0).await;
}

#[actix::test]
async fn a_failed_task_kills_the_rest_of_its_group() {
    let cluster = Cluster::start(&[], &["cpus:4;mem:1024"]);
    let framework = Framework::start(cluster.master_address(), info("pods")).await;
    framework.registered().await;
    framework
        .launch_group(
            default_executor("pod"),
            vec![
                command_task("fails", "sleep 1; exit 1"),
                command_task("sleeps", "sleep 600"),
            ],
            "cpus:1;mem:128",
        )
        .await;
    let failed = framework.update("fails", TaskState::Failed, WAIT).await;
    assert_eq!(
        failed.message.as_deref(),
        Some("Command exited with status 1"),
        "{failed:?}"
    );
    let killed = framework.update("sleeps", TaskState::Killed, WAIT).await;
    assert_eq!(killed.source, Some(Source::Executor), "{killed:?}");
}

#[actix::test]
async fn an_invalid_task_group_is_refused_as_a_whole() {
    let cluster = Cluster::start(&[], &["cpus:4;mem:1024"]);
    let framework = Framework::start(cluster.master_address(), info("pods")).await;
    framework.registered().await;
    let mut own = command_task("own-executor", "true");
    own.command = None;
    let mut other = default_executor("other");
    other.command = CommandInfo::shell("./my-executor");
    own.executor = Some(other);
    framework
        .launch_group(
            default_executor("pod"),
            vec![command_task("fine", "true"), own],
            "cpus:1;mem:128",
        )
        .await;
    for task in ["fine", "own-executor"] {
        let error = framework.update(task, TaskState::Error, WAIT).await;
        assert_eq!(error.source, Some(Source::Master), "{error:?}");
        assert_eq!(error.reason, Some(Reason::TaskGroupInvalid), "{error:?}");
    }
    assert!(executors_of_agent(&cluster).is_empty());
}

/// A task of a group failing its health check is killed unhealthy, and the
/// kill policy takes the rest of its group.
#[actix::test]
async fn a_group_task_failing_its_health_check_takes_its_group_down() {
    let cluster = Cluster::start(&[], &["cpus:4;mem:1024"]);
    let framework = Framework::start(cluster.master_address(), info("pods")).await;
    framework.registered().await;
    let mut checked = command_task("checked", "sleep 600");
    checked.meta.health_check = Some(common::framework::failing_health_check());
    framework
        .launch_group(
            default_executor("pod"),
            vec![checked, command_task("buddy", "sleep 600")],
            "cpus:1;mem:128",
        )
        .await;
    let killed = framework
        .update("checked", TaskState::Killed, Duration::from_secs(20))
        .await;
    assert_eq!(killed.healthy, Some(false), "{killed:?}");
    assert!(framework
        .updates("checked")
        .iter()
        .any(|s| s.state == TaskState::Running && s.healthy == Some(false)));
    framework.update("buddy", TaskState::Killed, WAIT).await;
}
