//! `--executor_environment_variables`: executors (and so command tasks)
//! get the operator's environment instead of the agent's, with the
//! variables Mesos sets for executors on top.

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
