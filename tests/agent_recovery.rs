//! Agent recovery on a real cluster: `mesos-master` and `mesos-agent` as
//! child processes, a checkpointing framework on the library's scheduler
//! driver in the test. The agent is killed with SIGKILL and started again
//! on the same port and work dir, as an operator restarting it would.
//!
//! - `--recover=reconnect` (the default): the restarted agent keeps its
//!   id, the command executor re-registers with it, and the task goes on
//!   in the same OS process; the framework hears nothing bad, and a task
//!   that finishes after the restart still reports TASK_FINISHED.
//! - `--recover=cleanup`: the restarted agent shuts the executor down
//!   (its task dies with it) and exits.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::cluster::{command_name, kill_processes_in, Cluster, EXECUTOR};
use common::framework::{command_task, info, Framework};
use mesos::container::{is_alive as alive, process_start_time};
use wire::task::{Reason, Source, TaskState};

const AGENT: &str = "cpus:2;mem:512";
const TASK: &str = "cpus:1;mem:128";
const WAIT: Duration = Duration::from_secs(15);

/// A framework that checkpoints, registered with `cluster`'s master.
async fn checkpointing_framework(cluster: &Cluster, name: &str) -> Framework {
    let mut info = info(name);
    info.checkpoint = true;
    let framework = Framework::start(cluster.master_address(), info).await;
    framework.registered().await;
    framework
}

/// A cluster of one agent where checkpointing framework `name` runs task
/// `task` (`sleep 600`); with the agent's id.
async fn running_a_long_task(name: &str, task: &str) -> (Cluster, String, Framework) {
    let cluster = Cluster::start(&[], &[AGENT]);
    let agent_id = cluster.agent_id(0);
    let framework = checkpointing_framework(&cluster, name).await;
    framework
        .launch(vec![command_task(task, "sleep 600")], TASK, None)
        .await;
    framework.update(task, TaskState::Running, WAIT).await;
    (cluster, agent_id, framework)
}

/// The one live process called `command` in agent `n`'s work dir.
async fn process_of_agent(cluster: &Cluster, n: usize, command: &str) -> i32 {
    let found = common::poll_async(WAIT, || {
        let found: Vec<i32> = cluster
            .processes_of_agent(n)
            .into_iter()
            .filter(|p| command_name(*p) == command)
            .collect();
        (found.len() == 1).then(|| found[0])
    })
    .await;
    found.unwrap_or_else(|| panic!("agent{n} does not run one '{command}'"))
}

/// Waits until the master lists agent `id` as active again.
async fn agent_active(cluster: &Cluster, id: &str) {
    let active = common::poll_async(WAIT, || {
        let slaves = cluster.master_json("/master/slaves");
        slaves["slaves"]
            .as_array()?
            .iter()
            .any(|s| s["id"] == id && s["active"] == true)
            .then_some(())
    })
    .await;
    assert!(active.is_some(), "agent {id} did not become active again");
}

/// The state the master gives `task` in `/master/tasks`.
fn master_task_state(cluster: &Cluster, task: &str) -> Option<String> {
    let tasks = cluster.master_json("/master/tasks");
    tasks["tasks"]
        .as_array()?
        .iter()
        .find(|t| t["id"] == task)
        .and_then(|t| t["state"].as_str().map(str::to_owned))
}

/// The state `task` has in `/master/state` (under its framework).
fn master_state_task(cluster: &Cluster, task: &str) -> Option<String> {
    let state = cluster.master_json("/master/state");
    state["frameworks"]
        .as_array()?
        .iter()
        .filter_map(|f| f["tasks"].as_array())
        .flatten()
        .find(|t| t["id"] == task)
        .and_then(|t| t["state"].as_str().map(str::to_owned))
}

/// The latest sandbox of `executor` under agent `n`.
fn sandbox(cluster: &Cluster, n: usize, agent_id: &str, executor: &str) -> PathBuf {
    let frameworks = cluster
        .agent_dir(n)
        .join("slaves")
        .join(agent_id)
        .join("frameworks");
    let framework = std::fs::read_dir(&frameworks)
        .expect("frameworks directory")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.join("executors").join(executor).is_dir())
        .expect("the executor's framework directory");
    framework
        .join("executors")
        .join(executor)
        .join("runs")
        .join("latest")
}

/// No update of `task` says it ended badly.
fn never_lost_failed_or_killed(framework: &Framework, task: &str) {
    let bad: Vec<_> = framework
        .updates(task)
        .into_iter()
        .filter(|s| {
            matches!(
                s.state,
                TaskState::Lost | TaskState::Failed | TaskState::Killed
            )
        })
        .collect();
    assert!(bad.is_empty(), "unexpected updates: {bad:#?}");
}

fn exists(path: &Path) -> bool {
    path.exists()
}

#[actix::test]
async fn a_restarted_agent_keeps_its_id_and_its_running_task() {
    let (mut cluster, agent_id, framework) = running_a_long_task("recovering", "sleeper").await;
    let sleep = process_of_agent(&cluster, 0, "sleep").await;
    let executor = process_of_agent(&cluster, 0, EXECUTOR).await;
    let started = process_start_time(sleep);
    assert!(started.is_some());

    cluster.agents[0].kill();
    cluster.restart_agent(0, &[]);

    agent_active(&cluster, &agent_id).await;
    assert_eq!(cluster.agent_id(0), agent_id, "the agent changed its id");
    let running = common::poll_async(WAIT, || {
        (master_task_state(&cluster, "sleeper").as_deref() == Some("TASK_RUNNING")
            && master_state_task(&cluster, "sleeper").as_deref() == Some("TASK_RUNNING"))
        .then_some(())
    })
    .await;
    assert!(
        running.is_some(),
        "/master/tasks: {:?}, /master/state: {:?}",
        master_task_state(&cluster, "sleeper"),
        master_state_task(&cluster, "sleeper")
    );
    // The same processes, not new ones.
    assert!(alive(sleep), "the task's process is gone");
    assert_eq!(
        process_start_time(sleep),
        started,
        "the task's pid names another process"
    );
    assert_eq!(process_of_agent(&cluster, 0, "sleep").await, sleep);
    assert_eq!(process_of_agent(&cluster, 0, EXECUTOR).await, executor);
    let log = cluster.agents[0].log();
    assert!(log.contains("executor re-registered"), "{log}");
    never_lost_failed_or_killed(&framework, "sleeper");
    // The restarted agent reports the task as running, too.
    let state = cluster.agent_state(0);
    let tasks: Vec<_> = state["frameworks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["executors"].as_array())
        .flatten()
        .filter_map(|e| e["tasks"].as_array())
        .flatten()
        .filter(|t| t["id"] == "sleeper")
        .map(|t| t["state"].clone())
        .collect();
    assert_eq!(tasks, ["TASK_RUNNING"], "agent /state: {state:#}");
}

#[actix::test]
async fn a_task_that_finishes_after_the_restart_reports_task_finished() {
    let mut cluster = Cluster::start(&[], &[AGENT]);
    let agent_id = cluster.agent_id(0);
    let framework = checkpointing_framework(&cluster, "finishing").await;
    // Runs until the test lets it finish.
    let command = "while [ ! -e go ]; do sleep 0.1; done";
    framework
        .launch(vec![command_task("waiter", command)], TASK, None)
        .await;
    framework.update("waiter", TaskState::Running, WAIT).await;
    let executor = process_of_agent(&cluster, 0, EXECUTOR).await;

    cluster.agents[0].kill();
    cluster.restart_agent(0, &[]);
    agent_active(&cluster, &agent_id).await;
    assert_eq!(process_of_agent(&cluster, 0, EXECUTOR).await, executor);

    let go = sandbox(&cluster, 0, &agent_id, "waiter").join("go");
    assert!(!exists(&go));
    std::fs::write(&go, b"").expect("create go");
    framework.update("waiter", TaskState::Finished, WAIT).await;
    never_lost_failed_or_killed(&framework, "waiter");
    let finished = common::poll_async(WAIT, || {
        (master_task_state(&cluster, "waiter").as_deref() == Some("TASK_FINISHED")).then_some(())
    })
    .await;
    assert!(
        finished.is_some(),
        "{:?}",
        master_task_state(&cluster, "waiter")
    );
    // The executor stops once its last update is acknowledged.
    cluster.await_processes(0, EXECUTOR, 0).await;
}

#[actix::test]
async fn with_recover_cleanup_the_restarted_agent_kills_its_executors_and_exits() {
    let (mut cluster, _, _framework) = running_a_long_task("cleaned", "doomed").await;
    let sleep = process_of_agent(&cluster, 0, "sleep").await;

    cluster.agents[0].kill();
    cluster.restart_agent(0, &["--recover=cleanup"]);
    let exit = cluster.agents[0].wait_exit(WAIT);
    assert!(
        exit.is_some_and(|s| s.success()),
        "the agent did not exit: {exit:?}\n{}",
        cluster.agents[0].log()
    );
    let dead = common::poll_async(WAIT, || (!alive(sleep)).then_some(())).await;
    assert!(dead.is_some(), "the task still runs");
    let none_left = common::poll_async(WAIT, || {
        cluster.processes_of_agent(0).is_empty().then_some(())
    })
    .await;
    assert!(
        none_left.is_some(),
        "left: {:?}",
        cluster.processes_of_agent(0)
    );
}

#[actix::test]
async fn an_executor_that_does_not_reregister_in_time_is_killed_and_its_task_lost() {
    let (mut cluster, _, framework) = running_a_long_task("stuck", "frozen").await;
    let sleep = process_of_agent(&cluster, 0, "sleep").await;
    let executor = process_of_agent(&cluster, 0, EXECUTOR).await;

    cluster.agents[0].kill();
    // A stopped executor cannot answer the restarted agent.
    // SAFETY: a plain system call on a process of this test's cluster.
    unsafe {
        libc::kill(executor, libc::SIGSTOP);
    }
    let restarted = std::time::Instant::now();
    cluster.restart_agent(0, &["--executor_reregistration_timeout=1secs"]);

    let (_, lost) = framework
        .update_since("frozen", TaskState::Lost, restarted, WAIT)
        .await;
    assert_eq!(
        lost.reason,
        Some(Reason::ExecutorReregistrationTimeout),
        "{lost:?}"
    );
    assert_eq!(lost.source, Some(Source::Agent), "{lost:?}");
    let dead = common::poll_async(WAIT, || (!alive(sleep) && !alive(executor)).then_some(())).await;
    assert!(dead.is_some(), "the executor or its task still runs");
}

#[actix::test]
async fn an_executor_gone_while_the_agent_was_down_fails_its_task() {
    let (mut cluster, agent_id, framework) = running_a_long_task("orphaned", "vanished").await;
    let executor = process_of_agent(&cluster, 0, EXECUTOR).await;

    cluster.agents[0].kill();
    kill_processes_in(&cluster.agent_dir(0), WAIT);
    let gone = common::poll_async(WAIT, || (!alive(executor)).then_some(())).await;
    assert!(gone.is_some());
    let restarted = std::time::Instant::now();
    cluster.restart_agent(0, &[]);

    let (_, failed) = framework
        .update_since("vanished", TaskState::Failed, restarted, WAIT)
        .await;
    assert_eq!(failed.source, Some(Source::Agent), "{failed:?}");
    agent_active(&cluster, &agent_id).await;
}

#[test]
fn a_corrupt_checkpoint_stops_the_agent_with_one_line_naming_what_to_remove() {
    let dir = common::cluster::WorkDir::new("corrupt-");
    let meta = dir.path().join("meta");
    std::fs::create_dir_all(&meta).expect("meta");
    std::fs::write(meta.join("agent.json"), b"{\"hostname\": ").expect("write");
    let output = common::run_with_deadline(
        std::process::Command::new(env!("CARGO_BIN_EXE_mesos-agent")).args([
            "--master=127.0.0.1:1".to_owned(),
            "--ip=127.0.0.1".to_owned(),
            "--port=0".to_owned(),
            format!("--work_dir={}", dir.path().display()),
        ]),
        WAIT,
    );
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let line = stderr
        .lines()
        .find(|l| l.starts_with("mesos-agent:"))
        .unwrap_or_else(|| panic!("no error line in: {stderr}"));
    assert!(line.contains("agent.json"), "{line}");
    assert!(
        line.contains(&format!("remove {}", meta.display())),
        "{line}"
    );
}

/// Restarting an agent with more resources keeps its id only under
/// `--reconfiguration_policy=additive` (Mesos's default, `equal`, refuses
/// with one line); the master then offers the new total, and the task goes
/// on.
#[actix::test]
async fn a_restart_with_more_resources_needs_the_additive_policy() {
    let (mut cluster, agent_id, framework) = running_a_long_task("reconfigured", "sleeper").await;
    cluster.agents[0].kill();

    let more = "--resources=cpus:4;mem:512";
    let output = common::run_with_deadline(
        std::process::Command::new(env!("CARGO_BIN_EXE_mesos-agent")).args([
            format!("--master={}", cluster.master_address()),
            "--ip=127.0.0.1".to_owned(),
            format!("--port={}", cluster.agents[0].address().port()),
            format!("--work_dir={}", cluster.agent_dir(0).display()),
            more.to_owned(),
        ]),
        WAIT,
    );
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let line = stderr
        .lines()
        .find(|l| l.starts_with("mesos-agent:"))
        .unwrap_or_else(|| panic!("no error line in: {stderr}"));
    assert!(line.contains("incompatible agent info"), "{line}");
    assert!(line.contains("resources changed"), "{line}");

    cluster.restart_agent(0, &[more, "--reconfiguration_policy=additive"]);
    agent_active(&cluster, &agent_id).await;
    let cpus = common::poll_async(WAIT, || {
        let slaves = cluster.master_json("/master/slaves");
        let cpus = slaves["slaves"][0]["resources"]["cpus"].as_f64();
        // The allocator has the new total too.
        let metrics = cluster.master_json("/metrics/snapshot");
        let total = metrics["allocator/mesos/resources/cpus/total"].as_f64();
        (cpus == Some(4.0) && total == Some(4.0)).then_some(())
    })
    .await;
    assert!(cpus.is_some(), "{}", cluster.master_json("/master/slaves"));
    assert_eq!(cluster.agent_id(0), agent_id);
    assert_eq!(
        master_task_state(&cluster, "sleeper").as_deref(),
        Some("TASK_RUNNING")
    );
    never_lost_failed_or_killed(&framework, "sleeper");
}

/// A v1 (HTTP) executor, pymesos's, through an agent restart: the agent
/// cannot ask it to reconnect (it has no pid), so it waits for it to
/// subscribe again with what it holds unacknowledged; the task goes on in
/// the same executor process and still finishes.
#[actix::test]
async fn a_pymesos_executor_subscribes_again_after_the_agent_restarts() {
    let mut cluster = Cluster::start(&[], &[AGENT]);
    let agent_id = cluster.agent_id(0);
    let framework = checkpointing_framework(&cluster, "http-executor").await;
    let mut task = command_task("waiter", "unused");
    task.command = None;
    task.executor = Some(wire::mesos::ExecutorInfo {
        executor_id: wire::ids::ExecutorId::new("pymesos-executor"),
        framework_id: None,
        command: wire::mesos::CommandInfo::shell(&format!(
            "{} {}",
            common::venv_python().display(),
            common::pymesos_script("recovering_executor.py").display()
        )),
        resources: wire::resources::Resources::new(),
        name: Some("pymesos executor".into()),
        shutdown_grace_period: None,
        container: None,
    });
    framework.launch(vec![task], TASK, None).await;
    framework.update("waiter", TaskState::Running, WAIT).await;
    let sandbox = sandbox(&cluster, 0, &agent_id, "pymesos-executor");
    let pid: i32 = common::poll_async(WAIT, || {
        std::fs::read_to_string(sandbox.join("pid"))
            .ok()
            .and_then(|p| p.trim().parse().ok())
    })
    .await
    .expect("the executor wrote its pid");
    let started = process_start_time(pid);

    cluster.agents[0].kill();
    // pymesos retries its connection after 2 s, then 4 s: more than the
    // default 2 s the agent waits.
    cluster.restart_agent(0, &["--executor_reregistration_timeout=15secs"]);
    agent_active(&cluster, &agent_id).await;
    assert_eq!(
        master_task_state(&cluster, "waiter").as_deref(),
        Some("TASK_RUNNING")
    );
    assert_eq!(
        process_start_time(pid),
        started,
        "not the same executor process"
    );

    std::fs::write(sandbox.join("go"), b"").expect("let the task finish");
    framework.update("waiter", TaskState::Finished, WAIT).await;
    never_lost_failed_or_killed(&framework, "waiter");
}
