//! Agent flags with real daemons:
//! - `--executor_environment_variables`: executors (and so command tasks)
//!   get the operator's environment instead of the agent's, with the
//!   variables Mesos sets for executors on top;
//! - `--gc_delay` and `--disk_watch_interval`: finished sandboxes are
//!   removed, running ones stay.

mod common;

use std::time::Duration;

use common::cluster::Cluster;
use common::framework::{command_task, info, Framework};
use wire::task::TaskState;

const WAIT: Duration = Duration::from_secs(15);

#[actix::test]
async fn executors_get_the_operators_environment_instead_of_the_agents() {
    let mut cluster = Cluster::start(&[], &["cpus:1;mem:256"]);
    cluster.agents[0].kill();
    cluster.restart_agent(
        0,
        &[r#"--executor_environment_variables={"PATH": "/usr/bin:/bin", "GREETING": "hello"}"#],
    );
    let framework = Framework::start(cluster.master_address(), info("environment")).await;
    framework.registered().await;
    framework
        .launch(
            vec![command_task("env", "env > env.txt")],
            "cpus:0.1;mem:32",
            None,
        )
        .await;
    framework.update("env", TaskState::Finished, WAIT).await;
    let agent_id = cluster.agent_id(0);
    let found = common::find_files(
        &cluster.agent_dir(0).join("slaves").join(&agent_id),
        "env.txt",
    );
    let text = std::fs::read_to_string(found.first().expect("env.txt in the sandbox"))
        .expect("read env.txt");
    let vars: Vec<&str> = text.lines().collect();
    assert!(vars.contains(&"GREETING=hello"), "{text}");
    assert!(vars.contains(&"PATH=/usr/bin:/bin"), "{text}");
    // Mesos's own variables still come...
    assert!(
        vars.iter().any(|v| v.starts_with("MESOS_SANDBOX=")),
        "{text}"
    );
    // ...but not the agent's environment (cargo runs the test, and so the
    // agent, with CARGO_MANIFEST_DIR).
    assert!(std::env::var("CARGO_MANIFEST_DIR").is_ok());
    assert!(
        !vars.iter().any(|v| v.starts_with("CARGO_MANIFEST_DIR=")),
        "{text}"
    );
}

#[actix::test]
async fn finished_sandboxes_are_collected_and_running_ones_kept() {
    let mut cluster = Cluster::start(&[], &["cpus:1;mem:256"]);
    cluster.agents[0].kill();
    cluster.restart_agent(0, &["--gc_delay=1secs", "--disk_watch_interval=1secs"]);
    let framework = Framework::start(cluster.master_address(), info("collected")).await;
    framework.registered().await;
    framework
        .launch(
            vec![
                command_task("done", "echo done"),
                command_task("running", "sleep 600"),
            ],
            "cpus:0.1;mem:32",
            None,
        )
        .await;
    framework.update("done", TaskState::Finished, WAIT).await;
    framework.update("running", TaskState::Running, WAIT).await;
    let frameworks = cluster
        .agent_dir(0)
        .join("slaves")
        .join(cluster.agent_id(0))
        .join("frameworks");
    let executor = |task: &str| {
        std::fs::read_dir(&frameworks)
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .map(|f| f.path().join("executors").join(task))
            .find(|p| p.exists())
    };
    // (The finished task's sandbox may already be gone here: the sweep
    // runs every second. That sandboxes are made shows in the running
    // task's, checked below.)
    let collected = common::poll_async(Duration::from_secs(30), || {
        executor("done").is_none().then_some(())
    })
    .await;
    assert!(
        collected.is_some(),
        "the finished sandbox was never collected"
    );
    // The sweep says how old a finished sandbox may get: under gc_delay.
    let agent = cluster.agents[0].address();
    let max_age = common::poll_async(Duration::from_secs(10), || {
        common::cluster::metric(agent, "slave/executor_directory_max_allowed_age_secs")
            .filter(|age| *age > 0.0)
    })
    .await;
    assert!(max_age.is_some_and(|age| age < 1.0), "{max_age:?}");
    assert!(common::cluster::metric(agent, "slave/recovery_time_secs").is_some_and(|t| t >= 0.0));
    let running = executor("running").expect("the running task's sandbox");
    assert!(running.join("runs").join("latest").join("stdout").exists());
}

/// What `id -un` says in the sandbox of task `task` of agent 0.
fn who_ran(cluster: &Cluster, task: &str) -> Option<String> {
    common::find_files(&cluster.agent_dir(0).join("slaves"), "who.txt")
        .into_iter()
        .find(|p| p.components().any(|c| c.as_os_str() == task))
        .and_then(|p| std::fs::read_to_string(p).ok())
        .map(|s| s.trim().to_owned())
}

/// `--switch_user` (the default): tasks run as their framework's user, and
/// fail if it does not exist; with `--switch_user=false` they run as the
/// agent's user. Switching needs root, which the agent is in CI.
#[actix::test]
async fn tasks_run_as_their_frameworks_user() {
    if common::current_user() != "root" {
        eprintln!("skipped: switching users needs root");
        return;
    }
    let mut cluster = Cluster::start(&[], &["cpus:1;mem:256"]);
    // The user must be able to reach its sandbox.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(cluster.dir(), std::fs::Permissions::from_mode(0o755))
        .expect("open the cluster's directory");
    let as_user = |user: &str, name: &str| {
        let mut info = info(name);
        info.user = user.to_owned();
        info
    };
    let mut nobody = Framework::start(cluster.master_address(), as_user("nobody", "nobody")).await;
    nobody.registered().await;
    nobody
        .launch(
            vec![command_task("as-nobody", "id -un > who.txt")],
            "cpus:0.1;mem:32",
            None,
        )
        .await;
    nobody.update("as-nobody", TaskState::Finished, WAIT).await;
    assert_eq!(who_ran(&cluster, "as-nobody").as_deref(), Some("nobody"));
    // Gone, so that the next framework is offered the agent.
    nobody.stop(false).await;

    let mut ghost = Framework::start(
        cluster.master_address(),
        as_user("no-such-user-here", "ghost"),
    )
    .await;
    ghost.registered().await;
    ghost
        .launch(
            vec![command_task("as-ghost", "id -un > who.txt")],
            "cpus:0.1;mem:32",
            None,
        )
        .await;
    let failed = ghost.update("as-ghost", TaskState::Failed, WAIT).await;
    let message = failed.message.unwrap_or_default();
    assert!(
        message.contains("Failed to get user information for 'no-such-user-here'"),
        "{message}"
    );
    ghost.stop(false).await;

    cluster.agents[0].kill();
    cluster.restart_agent(0, &["--switch_user=false"]);
    let unswitched =
        Framework::start(cluster.master_address(), as_user("nobody", "unswitched")).await;
    unswitched.registered().await;
    unswitched
        .launch(
            vec![command_task("as-agent", "id -un > who.txt")],
            "cpus:0.1;mem:32",
            None,
        )
        .await;
    unswitched
        .update("as-agent", TaskState::Finished, WAIT)
        .await;
    assert_eq!(who_ran(&cluster, "as-agent").as_deref(), Some("root"));
}
