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
    let running = executor("running").expect("the running task's sandbox");
    assert!(running.join("runs").join("latest").join("stdout").exists());
}
