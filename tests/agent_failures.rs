//! What frameworks hear when an agent or an executor dies, on a real
//! cluster: `mesos-master` and `mesos-agent` as child processes, frameworks
//! on the library's scheduler driver in the test.
//!
//! - An agent killed with SIGKILL: the master sees its connection break.
//!   Tasks of frameworks that do not checkpoint are lost at once
//!   (TASK_LOST, REASON_AGENT_DISCONNECTED), as Mesos does; tasks of
//!   checkpointing frameworks wait for the agent until its pings time out,
//!   then become TASK_UNREACHABLE (PARTITION_AWARE frameworks) or TASK_LOST
//!   (others), with REASON_AGENT_REMOVED. Every framework hears slave_lost.
//! - An executor killed with SIGKILL: its task fails (TASK_FAILED from the
//!   agent), its task process dies with it, and its resources are offered
//!   again.

mod common;

use std::time::{Duration, Instant};

use common::cluster::{command_name, kill_processes_in, Cluster, EXECUTOR};
use common::framework::{command_task, info, Event, Framework};
use wire::mesos::capability;
use wire::resources::Resources;
use wire::task::{Reason, Source, TaskState};

/// Pings every second, two missed pongs make an agent unreachable: a dead
/// agent is noticed within about three seconds.
const SHORT_PINGS: &[&str] = &["--agent_ping_timeout=1secs", "--max_agent_ping_timeouts=2"];
const AGENT: &str = "cpus:4;mem:1024";
const TASK: &str = "cpus:1;mem:128";
/// The bound this file promises for news of a dead agent.
const LOSS_BOUND: Duration = Duration::from_secs(15);
const WAIT: Duration = Duration::from_secs(10);

/// Waits for the `slave_lost` callback after `since`; returns when it came.
async fn agent_lost_since(framework: &Framework, agent: &str, since: Instant) -> Instant {
    framework
        .wait_for("slave_lost", LOSS_BOUND, |events| {
            events.iter().find_map(|(at, e)| match e {
                Event::AgentLost(id) if id.as_str() == agent && *at >= since => Some(*at),
                _ => None,
            })
        })
        .await
}

#[actix::test]
async fn tasks_of_a_framework_that_does_not_checkpoint_are_lost_when_their_agent_dies() {
    let mut cluster = Cluster::start(SHORT_PINGS, &[AGENT]);
    let agent_id = cluster.agent_id(0);
    let framework = Framework::start(cluster.master_address(), info("plain")).await;
    framework.registered().await;
    framework
        .launch(vec![command_task("sleep", "sleep 1000")], TASK, None)
        .await;
    framework.update("sleep", TaskState::Running, WAIT).await;
    assert!(!cluster.processes_of_agent(0).is_empty());

    let killed = Instant::now();
    cluster.agents[0].kill();

    let (lost_at, lost) = framework
        .update_since("sleep", TaskState::Lost, killed, LOSS_BOUND)
        .await;
    assert_eq!(lost.source, Some(Source::Master), "{lost:?}");
    assert_eq!(lost.reason, Some(Reason::AgentDisconnected), "{lost:?}");
    assert_eq!(lost.agent_id.as_ref().map(|a| a.as_str()), Some(&*agent_id));
    let gone_at = agent_lost_since(&framework, &agent_id, killed).await;
    eprintln!(
        "TASK_LOST {:?} and slave_lost {:?} after the agent was killed",
        lost_at - killed,
        gone_at - killed
    );

    // The executor sees its agent go and, as the framework does not
    // checkpoint, kills its task and exits (within its shutdown grace
    // period, 5 s by default).
    let exited = common::poll_async(WAIT, || {
        cluster.processes_of_agent(0).is_empty().then(Instant::now)
    })
    .await;
    let Some(exited) = exited else {
        let left = cluster.processes_of_agent(0);
        panic!(
            "still running: {:?}",
            left.into_iter().map(command_name).collect::<Vec<_>>()
        );
    };
    eprintln!(
        "executor and task gone {:?} after the agent was killed",
        exited - killed
    );
}

#[actix::test]
async fn a_dead_agents_tasks_are_unreachable_to_partition_aware_frameworks_and_lost_to_others() {
    let mut cluster = Cluster::start(SHORT_PINGS, &[AGENT]);
    let agent_id = cluster.agent_id(0);
    let mut aware_info = info("aware");
    aware_info.checkpoint = true;
    aware_info
        .capabilities
        .push(capability::PARTITION_AWARE.into());
    let aware = Framework::start(cluster.master_address(), aware_info).await;
    aware.registered().await;
    aware
        .launch(vec![command_task("aware-sleep", "sleep 1000")], TASK, None)
        .await;
    aware.update("aware-sleep", TaskState::Running, WAIT).await;
    let mut plain_info = info("plain");
    plain_info.checkpoint = true;
    let plain = Framework::start(cluster.master_address(), plain_info).await;
    plain.registered().await;
    plain
        .launch(vec![command_task("plain-sleep", "sleep 1000")], TASK, None)
        .await;
    plain.update("plain-sleep", TaskState::Running, WAIT).await;

    let killed = Instant::now();
    cluster.agents[0].kill();

    let (unreachable_at, unreachable) = aware
        .update_since("aware-sleep", TaskState::Unreachable, killed, LOSS_BOUND)
        .await;
    let (lost_at, lost) = plain
        .update_since("plain-sleep", TaskState::Lost, killed, LOSS_BOUND)
        .await;
    for status in [&unreachable, &lost] {
        assert_eq!(status.source, Some(Source::Master), "{status:?}");
        assert_eq!(status.reason, Some(Reason::AgentRemoved), "{status:?}");
    }
    // Not before the pings have had their chance (2 x 1 s).
    assert!(unreachable_at - killed >= Duration::from_secs(1));
    // Partition-aware frameworks never see TASK_LOST.
    assert!(
        aware
            .updates("aware-sleep")
            .iter()
            .all(|s| s.state != TaskState::Lost),
        "{:?}",
        aware.updates("aware-sleep")
    );
    let aware_gone = agent_lost_since(&aware, &agent_id, killed).await;
    let plain_gone = agent_lost_since(&plain, &agent_id, killed).await;
    eprintln!(
        "after the agent was killed: TASK_UNREACHABLE {:?}, TASK_LOST {:?}, slave_lost {:?} and {:?}",
        unreachable_at - killed,
        lost_at - killed,
        aware_gone - killed,
        plain_gone - killed
    );
    let state = cluster.master_json("/master/state");
    assert_eq!(state["unreachable_slaves"], 1, "{state}");
    // Their tasks stay visible, as Mesos lists them: among their
    // framework's unreachable tasks, whatever its partition capability.
    for (name, task, task_state) in [
        ("aware", "aware-sleep", "TASK_UNREACHABLE"),
        ("plain", "plain-sleep", "TASK_LOST"),
    ] {
        let framework = state["frameworks"]
            .as_array()
            .and_then(|fs| fs.iter().find(|f| f["name"] == name))
            .unwrap_or_else(|| panic!("no framework {name}: {state}"));
        let unreachable = framework["unreachable_tasks"].as_array();
        assert_eq!(unreachable.map(Vec::len), Some(1), "{framework}");
        assert_eq!(framework["unreachable_tasks"][0]["id"], task, "{framework}");
        assert_eq!(
            framework["unreachable_tasks"][0]["state"], task_state,
            "{framework}"
        );
        assert_eq!(framework["tasks"].as_array().map(Vec::len), Some(0));
        assert_eq!(
            framework["completed_tasks"].as_array().map(Vec::len),
            Some(0)
        );
    }
    let tasks = cluster.master_json("/master/tasks?limit=-1");
    let listed: Vec<&str> = tasks["tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["id"].as_str())
        .collect();
    assert!(
        listed.contains(&"aware-sleep") && listed.contains(&"plain-sleep"),
        "{tasks}"
    );
    assert_eq!(
        common::cluster::metric(cluster.master_address(), "master/tasks_unreachable"),
        Some(1.0),
        "only the TASK_UNREACHABLE one counts"
    );

    // Executors of checkpointing frameworks wait for their agent to
    // recover; with the agent gone for good, the test kills them.
    assert!(!cluster.processes_of_agent(0).is_empty());
    let left = kill_processes_in(&cluster.agent_dir(0), WAIT);
    assert!(left.is_empty(), "could not kill {left:?}");
}

#[actix::test]
async fn a_task_whose_executor_dies_fails_and_its_resources_are_offered_again() {
    let cluster = Cluster::start(&[], &[AGENT]);
    let agent_id = cluster.agent_id(0);
    let framework = Framework::start(cluster.master_address(), info("victim")).await;
    framework.registered().await;
    framework
        .launch(vec![command_task("sleep", "sleep 1000")], TASK, None)
        .await;
    framework.update("sleep", TaskState::Running, WAIT).await;

    // The command executor runs in the sandbox the agent reports.
    let state = cluster.agent_state(0);
    let sandbox = state["frameworks"][0]["executors"][0]["directory"]
        .as_str()
        .expect("executor directory")
        .to_owned();
    let executors: Vec<i32> = cluster
        .processes_of_agent(0)
        .into_iter()
        .filter(|p| command_name(*p) == EXECUTOR)
        .collect();
    let [executor] = executors[..] else {
        panic!("expected one executor, found {executors:?}");
    };
    let cwd = std::fs::read_link(format!("/proc/{executor}/cwd")).expect("executor cwd");
    assert_eq!(cwd, std::path::Path::new(&sandbox).canonicalize().unwrap());

    let killed = Instant::now();
    // SAFETY: a plain system call on the executor's pid.
    assert_eq!(unsafe { libc::kill(executor, libc::SIGKILL) }, 0);

    let (failed_at, failed) = framework
        .update_since("sleep", TaskState::Failed, killed, WAIT)
        .await;
    assert_eq!(failed.source, Some(Source::Agent), "{failed:?}");
    assert!(
        matches!(
            failed.reason,
            Some(Reason::CommandExecutorFailed | Reason::ExecutorTerminated)
        ),
        "{failed:?}"
    );
    // The task's processes went with their executor.
    let alone = common::poll_async(WAIT, || {
        cluster.processes_of_agent(0).is_empty().then_some(())
    })
    .await;
    assert!(
        alone.is_some(),
        "left running: {:?}",
        cluster
            .processes_of_agent(0)
            .into_iter()
            .map(command_name)
            .collect::<Vec<_>>()
    );
    // What the launch left was refused for an hour, so an offer now means
    // the task's resources came back.
    let task = Resources::parse(TASK, "*").unwrap();
    let offered_at = framework
        .wait_for("the task's resources offered again", WAIT, |events| {
            events.iter().find_map(|(at, e)| match e {
                Event::Offers(offers)
                    if *at >= failed_at
                        && offers.iter().any(|o| {
                            o.agent_id.as_str() == agent_id && o.resources.contains(&task)
                        }) =>
                {
                    Some(*at)
                }
                _ => None,
            })
        })
        .await;
    eprintln!(
        "TASK_FAILED {:?} and a new offer {:?} after the executor was killed",
        failed_at - killed,
        offered_at - killed
    );
}

#[actix::test]
async fn unreachable_agents_leave_the_registry_after_the_maximum_age() {
    let flags: Vec<&str> = SHORT_PINGS
        .iter()
        .copied()
        .chain([
            "--registry_gc_interval=200ms",
            "--registry_max_agent_age=2secs",
        ])
        .collect();
    let mut cluster = Cluster::start(&flags, &[AGENT]);
    cluster.agent_id(0);
    cluster.agents[0].kill();
    let unreachable = |c: &Cluster| c.master_json("/master/state")["unreachable_slaves"].as_u64();
    let marked = common::poll_async(LOSS_BOUND, || {
        (unreachable(&cluster) == Some(1)).then_some(())
    })
    .await;
    assert!(
        marked.is_some(),
        "the dead agent was never marked unreachable"
    );
    let pruned =
        common::poll_async(WAIT, || (unreachable(&cluster) == Some(0)).then_some(())).await;
    assert!(
        pruned.is_some(),
        "the unreachable agent outlived --registry_max_agent_age"
    );
}
