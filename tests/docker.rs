//! The Docker containerizer on a real cluster and a real Docker engine:
//! `mesos-master` and `mesos-agent --containerizers=docker,mesos` as child
//! processes, a private `dockerd` (see `common::docker`) with a local
//! busybox image, a framework on the library's scheduler driver.
//!
//! - a DOCKER command task runs under `mesos-docker-executor`, finishes,
//!   and leaves its output in the sandbox's `stdout`/`stderr`, with its
//!   volumes mounted; its container shows in the state endpoints;
//! - its cpus and mem are the container's `cpu.shares` and memory limit,
//!   its parameters reach `docker run`, its usage counts the container;
//! - a memory hog ends TASK_FAILED with REASON_CONTAINER_LIMITATION_MEMORY;
//! - a kill ends TASK_KILLED and leaves no container; COMMAND health
//!   checks run inside the container;
//! - a container whose executor dies is stopped;
//! - an agent restart recovers a running Docker container (and removes a
//!   stray `mesos-*` one), which can still be killed;
//! - a BRIDGE container answers on its mapped host port, and its health
//!   check runs inside its network;
//! - a missing image, or a program missing from it, fails the task with
//!   Docker's message; a present image is not pulled unless forced;
//! - DOCKER on a mesos-only agent fails with a clear reason, while MESOS
//!   containers keep running there.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::cluster::{get_json, http_get, Cluster};
use common::docker::{Dockerd, IMAGE};
use common::framework::{command_task, info, Framework};
use wire::ids::TaskId;
use wire::mesos::{
    Check, ContainerInfo, ContainerType, DockerInfo, DockerNetwork, HealthCheck, PortMapping,
    TaskInfo,
};
use wire::task::{Reason, TaskState};

const AGENT: &str = "cpus:2;mem:1024";
const TASK: &str = "cpus:0.5;mem:64";
const WAIT: Duration = Duration::from_secs(30);

/// A task running `command` in a DOCKER container of `image`.
fn docker_task(id: &str, command: &str, image: &str) -> TaskInfo {
    let mut task = command_task(id, command);
    // busybox's `sleep` as PID 1 ignores SIGTERM: keep kills short.
    task.kill_grace_period = Some(0.5);
    task.meta.container = Some(ContainerInfo {
        kind: ContainerType::Docker,
        docker: Some(DockerInfo::new(image)),
        volumes: Vec::new(),
        hostname: None,
        network_infos: Vec::new(),
    });
    task
}

/// A cluster of one agent using `docker`'s daemon, ended containers
/// removed at once, plus `extra` agent flags.
fn cluster(docker: &Dockerd, resources: &str, extra: &[&str]) -> Cluster {
    let mut flags = docker.agent_flags();
    flags.push("--docker_remove_delay=0ns".into());
    flags.extend(extra.iter().map(|f| f.to_string()));
    Cluster::start_with(&[], &[resources], &flags)
}

async fn framework(cluster: &Cluster, name: &str, checkpoint: bool) -> Framework {
    let mut info = info(name);
    info.checkpoint = checkpoint;
    let framework = Framework::start(cluster.master_address(), info).await;
    framework.registered().await;
    framework
}

/// The latest run of `executor`'s sandbox on agent 0.
fn sandbox(cluster: &Cluster, executor: &str) -> PathBuf {
    let slaves = cluster.agent_dir(0).join("slaves");
    let found = common::poll(WAIT, || {
        for agent in std::fs::read_dir(&slaves).ok()?.flatten() {
            for f in std::fs::read_dir(agent.path().join("frameworks"))
                .ok()?
                .flatten()
            {
                let run = f
                    .path()
                    .join("executors")
                    .join(executor)
                    .join("runs/latest");
                if run.exists() {
                    return Some(run);
                }
            }
        }
        None
    });
    found.unwrap_or_else(|| panic!("no sandbox of executor {executor}"))
}

/// Calls `f` every 200 ms (Docker's CLI is not cheap) until it returns
/// `Some` or [`WAIT`] passes, the runtime running meanwhile.
async fn poll<T>(mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let end = std::time::Instant::now() + WAIT;
    loop {
        if let Some(t) = f() {
            return Some(t);
        }
        if std::time::Instant::now() >= end {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The one `mesos-*` container's name, once there is one.
async fn the_container(docker: &Dockerd) -> String {
    let found = poll(|| {
        let names = docker.containers("mesos-");
        (names.len() == 1).then(|| names[0].clone())
    })
    .await;
    found.unwrap_or_else(|| panic!("not one mesos container: {:?}", docker.containers("mesos-")))
}

async fn no_mesos_container_left(docker: &Dockerd) {
    let gone = poll(|| docker.containers("mesos-").is_empty().then_some(())).await;
    assert!(
        gone.is_some(),
        "containers left: {:?}",
        docker.containers("mesos-")
    );
}

/// Waits until the master lists agent `id` as active again.
async fn agent_back(cluster: &Cluster, id: &str) {
    let back = common::poll_async(WAIT, || {
        let slaves = cluster.master_json("/master/slaves");
        slaves["slaves"]
            .as_array()?
            .iter()
            .any(|s| s["id"] == id && s["active"] == true)
            .then_some(())
    })
    .await;
    assert!(back.is_some(), "the agent did not come back");
}

/// The task object with `id` anywhere in a state document.
fn find_task(v: &serde_json::Value, id: &str) -> Option<serde_json::Value> {
    match v {
        serde_json::Value::Object(o)
            if o.get("id").is_some_and(|i| i == id) && o.contains_key("state") =>
        {
            Some(v.clone())
        }
        serde_json::Value::Object(o) => o.values().find_map(|x| find_task(x, id)),
        serde_json::Value::Array(a) => a.iter().find_map(|x| find_task(x, id)),
        _ => None,
    }
}

fn states(framework: &Framework, task: &str) -> Vec<TaskState> {
    framework.updates(task).iter().map(|s| s.state).collect()
}

#[actix::test]
async fn a_docker_task_runs_and_finishes_with_its_output_in_the_sandbox() {
    let Some(docker) = Dockerd::get() else { return };
    let cluster = cluster(&docker, AGENT, &[]);
    let framework = framework(&cluster, "docker-echo", false).await;
    let shared = tempfile::tempdir().expect("temp dir");
    std::fs::write(shared.path().join("given"), "from the host\n").expect("write");
    let command =
        "echo hello from $MESOS_SANDBOX; echo oops >&2; echo made > $MESOS_SANDBOX/made; \
                   cat /data/given; touch /data/written 2>/dev/null || echo read-only";
    let mut task = docker_task("echo", command, IMAGE);
    if let Some(c) = task.meta.container.as_mut() {
        c.volumes = vec![wire::mesos::Volume {
            container_path: "/data".into(),
            host_path: Some(shared.path().display().to_string()),
            mode: wire::mesos::VolumeMode::Ro,
        }];
    }
    framework.launch(vec![task], TASK, None).await;
    let finished = framework.update("echo", TaskState::Finished, WAIT).await;
    assert_eq!(
        finished.message.as_deref(),
        Some("Container exited with status 0")
    );
    assert_eq!(
        states(&framework, "echo"),
        [TaskState::Starting, TaskState::Running, TaskState::Finished]
    );
    let dir = sandbox(&cluster, "echo");
    let stdout = std::fs::read_to_string(dir.join("stdout")).unwrap_or_default();
    assert!(stdout.contains("hello from /mnt/mesos/sandbox"), "{stdout}");
    // The volume is there, read-only.
    assert!(stdout.contains("from the host\nread-only"), "{stdout}");
    assert!(!shared.path().join("written").exists());
    let stderr = std::fs::read_to_string(dir.join("stderr")).unwrap_or_default();
    assert!(stderr.contains("oops"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(dir.join("made")).unwrap_or_default(),
        "made\n"
    );
    // The master shows the task's container as Mesos does.
    let state = cluster.master_json("/master/state");
    let task = state["completed_frameworks"]
        .as_array()
        .into_iter()
        .chain(state["frameworks"].as_array())
        .flatten()
        .flat_map(|f| {
            f["tasks"]
                .as_array()
                .into_iter()
                .chain(f["completed_tasks"].as_array())
                .flatten()
        })
        .find(|t| t["id"] == "echo")
        .cloned()
        .unwrap_or_default();
    assert_eq!(task["container"]["type"], "DOCKER", "{task:#}");
    assert_eq!(task["container"]["docker"]["image"], IMAGE, "{task:#}");
    assert_eq!(task["container"]["docker"]["network"], "HOST", "{task:#}");
    // And the agent's /state.
    let agent_state = cluster.agent_state(0);
    let on_agent = find_task(&agent_state, "echo").unwrap_or_default();
    assert_eq!(on_agent["container"]["type"], "DOCKER", "{agent_state:#}");
    // And so does the v1 operator API.
    let (code, _, body) = common::http_post(
        &cluster.master_address().to_string(),
        "/api/v1",
        &[
            ("Content-Type", "application/json"),
            ("Accept", "application/json"),
        ],
        br#"{"type": "GET_TASKS"}"#,
    );
    assert_eq!(code, 200, "{body}");
    let tasks: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    let listed = tasks["get_tasks"]
        .as_object()
        .into_iter()
        .flat_map(|o| o.values())
        .filter_map(|v| v.as_array())
        .flatten()
        .find(|t| t["task_id"]["value"] == "echo")
        .cloned()
        .unwrap_or_default();
    assert_eq!(listed["container"]["type"], "DOCKER", "{tasks:#}");
    no_mesos_container_left(&docker).await;
}

#[actix::test]
async fn cpu_shares_and_memory_limit_show_in_the_containers_cgroup() {
    let Some(docker) = Dockerd::get() else { return };
    let cluster = cluster(&docker, AGENT, &[]);
    let framework = framework(&cluster, "docker-limits", false).await;
    framework
        .launch(
            vec![{
                let mut t = docker_task("limited", "sleep 600", IMAGE);
                if let Some(d) = t.meta.container.as_mut().and_then(|c| c.docker.as_mut()) {
                    d.parameters = vec![wire::mesos::Parameter {
                        key: "label".into(),
                        value: "mesos.test=limits".into(),
                    }];
                }
                t
            }],
            "cpus:0.5;mem:96",
            None,
        )
        .await;
    framework.update("limited", TaskState::Running, WAIT).await;
    let name = the_container(&docker).await;
    let inspect = docker.inspect(&name).expect("inspect");
    let id = inspect["Id"].as_str().expect("container id").to_owned();
    let read = |path: String| {
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{path}: {e}"))
            .trim()
            .to_owned()
    };
    assert_eq!(
        read(format!("/sys/fs/cgroup/cpu/docker/{id}/cpu.shares")),
        "512"
    );
    assert_eq!(
        read(format!(
            "/sys/fs/cgroup/memory/docker/{id}/memory.limit_in_bytes"
        )),
        (96u64 << 20).to_string()
    );
    // Parameters reach `docker run` as --key=value.
    assert_eq!(
        inspect["Config"]["Labels"]["mesos.test"], "limits",
        "{inspect:#}"
    );
    assert_eq!(
        inspect["Config"]["Env"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| *e == "MESOS_SANDBOX=/mnt/mesos/sandbox")
            .count(),
        1,
        "{:#}",
        inspect["Config"]["Env"]
    );
    // Its usage counts the container's processes with its executor's.
    let statistics = get_json(cluster.agents[0].address(), "/slave(1)/monitor/statistics");
    let used = &statistics[0]["statistics"];
    let in_container = inspect["State"]["Pid"].as_i64().unwrap_or(0);
    assert!(in_container > 0);
    assert!(
        used["processes"].as_u64().is_some_and(|n| n >= 3),
        "{statistics}"
    );
    assert!(
        used["mem_rss_bytes"].as_u64().is_some_and(|n| n > 0),
        "{statistics}"
    );
    framework.handle.kill_task(TaskId::new("limited"));
    framework.update("limited", TaskState::Killed, WAIT).await;
}

#[actix::test]
async fn a_memory_hog_fails_with_the_memory_limitation_reason() {
    let Some(docker) = Dockerd::get() else { return };
    let cluster = cluster(&docker, AGENT, &[]);
    let framework = framework(&cluster, "docker-hog", false).await;
    // dd's 256 MB buffer is past the 32 MB limit (and any swap allowance);
    // the pipeline's status is cat's, so the container may even exit 0.
    let hog = "dd if=/dev/zero bs=256M count=1 | cat > /dev/null; sleep 1";
    framework
        .launch(
            vec![docker_task("hog", hog, IMAGE)],
            "cpus:0.5;mem:32",
            None,
        )
        .await;
    let failed = framework.update("hog", TaskState::Failed, WAIT).await;
    assert_eq!(
        failed.reason,
        Some(Reason::ContainerLimitationMemory),
        "{failed:?}"
    );
    let message = failed.message.unwrap_or_default();
    assert!(message.contains("memory limit of 32MB"), "{message}");
}

#[actix::test]
async fn a_kill_ends_task_killed_and_leaves_no_container() {
    let Some(docker) = Dockerd::get() else { return };
    let cluster = cluster(&docker, AGENT, &[]);
    let framework = framework(&cluster, "docker-kill", false).await;
    // The file exists only inside the container: the check runs there.
    let inside = "/tmp/only-inside-the-container";
    assert!(!std::path::Path::new(inside).exists());
    let mut task = docker_task("victim", &format!("touch {inside}; exec sleep 600"), IMAGE);
    task.meta.health_check = Some(HealthCheck {
        check: Check::Command(wire::mesos::CommandInfo::shell(&format!(
            "test -f {inside}"
        ))),
        delay_seconds: 0.0,
        interval_seconds: 0.2,
        timeout_seconds: 5.0,
        consecutive_failures: 30,
        grace_period_seconds: 10.0,
    });
    framework.launch(vec![task], TASK, None).await;
    framework.update("victim", TaskState::Running, WAIT).await;
    let healthy = framework
        .wait_for("a healthy report", WAIT, |_| {
            framework
                .updates("victim")
                .into_iter()
                .find(|s| s.healthy == Some(true))
        })
        .await;
    assert_eq!(healthy.state, TaskState::Running);
    let name = the_container(&docker).await;
    assert_eq!(
        docker.inspect(&name).expect("inspect")["State"]["Status"],
        "running"
    );
    framework.handle.kill_task(TaskId::new("victim"));
    let killed = framework.update("victim", TaskState::Killed, WAIT).await;
    assert!(
        killed
            .message
            .as_deref()
            .unwrap_or("")
            .starts_with("Container exited"),
        "{killed:?}"
    );
    no_mesos_container_left(&docker).await;
    // The executor is gone too.
    let gone =
        poll(|| (cluster.count_processes_of_agent(0, "mesos-docker-ex") == 0).then_some(())).await;
    assert!(gone.is_some(), "the docker executor still runs");
}

#[actix::test]
async fn an_agent_restart_recovers_a_running_docker_container() {
    let Some(docker) = Dockerd::get() else { return };
    let mut cluster = cluster(&docker, AGENT, &[]);
    let agent_id = cluster.agent_id(0);
    let framework = framework(&cluster, "docker-recovery", true).await;
    framework
        .launch(
            vec![docker_task("survivor", "sleep 600", IMAGE)],
            TASK,
            None,
        )
        .await;
    framework.update("survivor", TaskState::Running, WAIT).await;
    let name = the_container(&docker).await;
    let before = docker.inspect(&name).expect("inspect");
    // A container of no known run, as a dead agent might leave.
    docker.run(&[
        "run",
        "-d",
        "--net=none",
        "--name",
        "mesos-stray",
        IMAGE,
        "sleep",
        "600",
    ]);

    cluster.agents[0].kill();
    cluster.restart_agent(0, &[]);
    agent_back(&cluster, &agent_id).await;
    let stray_removed =
        poll(|| (docker.containers("mesos-") == [name.clone()]).then_some(())).await;
    assert!(
        stray_removed.is_some(),
        "containers: {:?}",
        docker.containers("mesos-")
    );
    let after = docker.inspect(&name).expect("inspect after the restart");
    assert_eq!(after["Id"], before["Id"]);
    assert_eq!(after["State"]["Pid"], before["State"]["Pid"]);
    assert_eq!(after["State"]["Status"], "running");
    let log = cluster.agents[0].log();
    assert!(log.contains("executor re-registered"), "{log}");
    assert!(
        !states(&framework, "survivor")
            .iter()
            .any(|s| s.is_terminal()),
        "{:?}",
        framework.updates("survivor")
    );

    framework.handle.kill_task(TaskId::new("survivor"));
    framework.update("survivor", TaskState::Killed, WAIT).await;
    no_mesos_container_left(&docker).await;
}

#[actix::test]
async fn a_bridge_container_answers_on_its_host_port() {
    let Some(docker) = Dockerd::with_bridge() else {
        return;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let resources = format!("{AGENT};ports(*):[{port}-{port}]");
    let cluster = cluster(&docker, &resources, &[]);
    let framework = framework(&cluster, "docker-bridge", false).await;
    let serve = "mkdir -p /www && echo bridged > /www/index.html && exec httpd -f -p 80 -h /www";
    let mut task = docker_task("web", serve, IMAGE);
    if let Some(d) = task.meta.container.as_mut().and_then(|c| c.docker.as_mut()) {
        d.network = DockerNetwork::Bridge;
        d.port_mappings = vec![PortMapping {
            host_port: u32::from(port),
            container_port: 80,
            protocol: Some("tcp".into()),
        }];
    }
    // Port 80 listens only inside the container: the check must run there.
    task.meta.health_check = Some(HealthCheck {
        check: Check::Tcp { port: 80 },
        delay_seconds: 0.0,
        interval_seconds: 0.2,
        timeout_seconds: 5.0,
        consecutive_failures: 30,
        grace_period_seconds: 10.0,
    });
    framework
        .launch(
            vec![task],
            &format!("cpus:0.5;mem:64;ports(*):[{port}-{port}]"),
            None,
        )
        .await;
    framework.update("web", TaskState::Running, WAIT).await;
    let address: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    let answer = poll(|| match http_get(address, "/index.html") {
        Ok((200, body)) => Some(body),
        _ => None,
    })
    .await;
    let body = answer.unwrap_or_else(|| panic!("nothing answered on port {port}"));
    assert!(body.contains("bridged"), "{body}");
    let healthy = framework
        .wait_for("a healthy report", WAIT, |_| {
            framework
                .updates("web")
                .into_iter()
                .find(|s| s.healthy == Some(true))
        })
        .await;
    assert_eq!(healthy.state, TaskState::Running);
    framework.handle.kill_task(TaskId::new("web"));
    framework.update("web", TaskState::Killed, WAIT).await;
    no_mesos_container_left(&docker).await;
}

#[actix::test]
async fn a_missing_image_fails_the_task_with_dockers_message() {
    let Some(docker) = Dockerd::get() else { return };
    let cluster = cluster(&docker, AGENT, &[]);
    let framework = framework(&cluster, "docker-missing", false).await;
    // A registry that refuses at once: nothing here can pull.
    let image = "127.0.0.1:1/no-such-image:never";
    framework
        .launch(vec![docker_task("nowhere", "true", image)], TASK, None)
        .await;
    let failed = framework.update("nowhere", TaskState::Failed, WAIT).await;
    let message = failed.message.unwrap_or_default();
    assert!(
        message.starts_with("Failed to launch container:"),
        "{message}"
    );
    assert!(message.contains("127.0.0.1:1"), "{message}");
    assert!(!states(&framework, "nowhere").contains(&TaskState::Running));
    assert!(docker.containers("mesos-").is_empty());

    // A present image is used as it is, unless a pull is forced.
    let local = "127.0.0.1:1/busybox-test:latest";
    docker.run(&["tag", IMAGE, local]);
    let mut forced = docker_task("forced", "true", local);
    if let Some(d) = forced
        .meta
        .container
        .as_mut()
        .and_then(|c| c.docker.as_mut())
    {
        d.force_pull_image = true;
    }
    framework
        .launch(
            vec![docker_task("present", "true", local), forced],
            TASK,
            None,
        )
        .await;
    framework.update("present", TaskState::Finished, WAIT).await;
    let failed = framework.update("forced", TaskState::Failed, WAIT).await;
    let message = failed.message.unwrap_or_default();
    assert!(message.contains("pull"), "{message}");

    // A custom executor in a Docker container is refused, clearly.
    let mut custom = command_task("custom", "true");
    custom.command = None;
    custom.executor = Some(wire::mesos::ExecutorInfo {
        executor_id: wire::ids::ExecutorId::new("my-executor"),
        framework_id: None,
        command: wire::mesos::CommandInfo::shell("./my-executor"),
        resources: wire::resources::Resources::new(),
        name: None,
        shutdown_grace_period: None,
        container: docker_task("x", "true", IMAGE).meta.container,
    });
    framework.launch(vec![custom], TASK, None).await;
    let refused = framework.update("custom", TaskState::Failed, WAIT).await;
    assert_eq!(refused.reason, Some(Reason::ContainerLaunchFailed));
    let message = refused.message.unwrap_or_default();
    assert!(
        message.contains("custom executors in Docker containers are not supported"),
        "{message}"
    );

    // A program the image does not have: Docker's reason, not a hang.
    let mut missing_program = docker_task("noprogram", "/no/such/program", IMAGE);
    if let Some(c) = missing_program.command.as_mut() {
        c.shell = false;
        c.arguments = vec!["/no/such/program".into()];
    }
    framework.launch(vec![missing_program], TASK, None).await;
    let failed = framework.update("noprogram", TaskState::Failed, WAIT).await;
    let message = failed.message.unwrap_or_default();
    assert!(message.contains("/no/such/program"), "{message}");
}

#[actix::test]
async fn docker_on_a_mesos_only_agent_fails_clearly_and_mesos_containers_run() {
    let cluster = Cluster::start(&[], &[AGENT]);
    let framework = framework(&cluster, "mesos-only", false).await;
    let mut mesos = command_task("plain", "echo plain");
    mesos.meta.container = Some(ContainerInfo {
        kind: ContainerType::Mesos,
        docker: None,
        volumes: Vec::new(),
        hostname: None,
        network_infos: Vec::new(),
    });
    let mut mesos_with_docker = command_task("confused", "true");
    mesos_with_docker.meta.container = Some(ContainerInfo {
        kind: ContainerType::Mesos,
        docker: Some(DockerInfo::new(IMAGE)),
        volumes: Vec::new(),
        hostname: None,
        network_infos: Vec::new(),
    });
    framework
        .launch(
            vec![
                docker_task("dockerish", "true", IMAGE),
                mesos,
                mesos_with_docker,
            ],
            TASK,
            None,
        )
        .await;
    let failed = framework.update("dockerish", TaskState::Failed, WAIT).await;
    assert_eq!(failed.reason, Some(Reason::ContainerLaunchFailed));
    let message = failed.message.unwrap_or_default();
    assert!(
        message.contains("asks for a DOCKER container")
            && message.contains("--containerizers=docker,mesos"),
        "{message}"
    );
    let refused = framework.update("confused", TaskState::Failed, WAIT).await;
    let message = refused.message.unwrap_or_default();
    assert!(
        message.contains("ContainerInfo.docker is set on a MESOS container"),
        "{message}"
    );
    framework.update("plain", TaskState::Finished, WAIT).await;
}

#[actix::test]
async fn mesos_execute_runs_a_command_in_a_docker_image() {
    let Some(docker) = Dockerd::get() else { return };
    let cluster = cluster(&docker, AGENT, &[]);
    let out = common::run_with_deadline(
        std::process::Command::new(env!("CARGO_BIN_EXE_mesos-execute"))
            .arg(format!("--master={}", cluster.master_address()))
            .args([
                "--name=in-docker",
                "--command=test -x /bin/busybox && echo inside $MESOS_CONTAINER_NAME",
                "--resources=cpus:0.5;mem:64",
            ])
            .arg(format!("--docker_image={IMAGE}")),
        WAIT,
    );
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{printed}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(printed.contains("TASK_FINISHED"), "{printed}");
    let stdout =
        std::fs::read_to_string(sandbox(&cluster, "in-docker").join("stdout")).unwrap_or_default();
    assert!(stdout.contains("inside mesos-"), "{stdout}");
}

#[actix::test]
async fn a_container_whose_executor_dies_does_not_outlive_it() {
    let Some(docker) = Dockerd::get() else { return };
    // Kept after it ends: what stops it is the executor's end, not removal.
    let cluster = cluster(&docker, AGENT, &["--docker_remove_delay=1hrs"]);
    let framework = framework(&cluster, "docker-orphaned", false).await;
    framework
        .launch(
            vec![docker_task("abandoned", "sleep 600", IMAGE)],
            TASK,
            None,
        )
        .await;
    framework
        .update("abandoned", TaskState::Running, WAIT)
        .await;
    let name = the_container(&docker).await;
    let executor = cluster
        .processes_of_agent(0)
        .into_iter()
        .find(|p| common::cluster::command_name(*p) == "mesos-docker-ex")
        .expect("the docker executor");
    // SAFETY: killing a process of this test's cluster.
    unsafe {
        libc::kill(executor, libc::SIGKILL);
    }
    let failed = framework.update("abandoned", TaskState::Failed, WAIT).await;
    assert!(failed.message.is_some(), "{failed:?}");
    let stopped = poll(|| {
        let state = docker.inspect(&name)?["State"]["Status"].clone();
        (state == "exited").then_some(())
    })
    .await;
    assert!(stopped.is_some(), "{:?}", docker.inspect(&name));
}

/// The agent as the deployment guides start it: `--containerizers=docker,mesos`
/// and `--isolation=cgroups/cpu,cgroups/mem`, the launcher left at its
/// default. A command task and a Docker task run side by side with their
/// limits enforced (the command task's in its own cgroups, the Docker
/// task's in its container's), both survive an agent restart, and both
/// can be killed afterwards without leaving a process, a cgroup or a
/// container behind.
#[actix::test]
async fn an_agent_started_as_the_guides_start_it_runs_and_keeps_both_kinds() {
    let Some(docker) = Dockerd::get() else { return };
    let Ok(h) =
        mesos::container::cgroups::Hierarchies::discover(std::path::Path::new("/sys/fs/cgroup"))
    else {
        println!("skipped: no cgroup hierarchy at /sys/fs/cgroup");
        return;
    };
    let mut cluster = cluster(&docker, AGENT, &["--isolation=cgroups/cpu,cgroups/mem"]);
    let agent_id = cluster.agent_id(0);
    let framework = framework(&cluster, "as-the-guides", true).await;
    framework
        .launch(
            vec![
                command_task("plain", "sleep 600"),
                docker_task("boxed", "sleep 600", IMAGE),
            ],
            TASK,
            None,
        )
        .await;
    framework.update("plain", TaskState::Running, WAIT).await;
    framework.update("boxed", TaskState::Running, WAIT).await;

    // The command task's own cgroups hold its limits.
    let address = cluster.agents[0].address();
    let plain = common::poll_async(WAIT, || {
        let list = get_json(address, "/containers");
        list.as_array()?
            .iter()
            .find(|c| c["executor_id"] == "plain")
            .and_then(|c| c["container_id"].as_str().map(str::to_owned))
    })
    .await
    .expect("/containers lists the command task's container");
    let root = cluster.cgroups_root(0);
    let cgroup = |controller: &str| {
        h.cgroup(controller, &root, &plain)
            .expect("the controller")
            .path
    };
    let read = |path: PathBuf| {
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .trim()
            .to_owned()
    };
    assert_eq!(read(cgroup("cpu").join("cpu.shares")), "512");
    assert_eq!(
        read(cgroup("memory").join("memory.limit_in_bytes")),
        (64u64 << 20).to_string()
    );
    let members = read(cgroup("freezer").join("cgroup.procs"));
    assert!(
        !members.is_empty(),
        "the command task's freezer cgroup is empty"
    );
    // The Docker task's container holds its own.
    let name = the_container(&docker).await;
    let before = docker.inspect(&name).expect("inspect");
    assert_eq!(before["HostConfig"]["CpuShares"], 512);
    assert_eq!(before["HostConfig"]["Memory"], 64u64 << 20);

    cluster.agents[0].kill();
    cluster.restart_agent(0, &[]);
    agent_back(&cluster, &agent_id).await;
    // Both kept running through the restart: the same processes, the same
    // container.
    assert_eq!(read(cgroup("freezer").join("cgroup.procs")), members);
    let after = docker.inspect(&name).expect("inspect after the restart");
    assert_eq!(after["Id"], before["Id"]);
    assert_eq!(after["State"]["Status"], "running");
    for task in ["plain", "boxed"] {
        assert!(
            !states(&framework, task).iter().any(|s| s.is_terminal()),
            "{task}: {:?}",
            framework.updates(task)
        );
    }

    let pids: Vec<i32> = members
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    framework.handle.kill_task(TaskId::new("plain"));
    framework.handle.kill_task(TaskId::new("boxed"));
    framework.update("plain", TaskState::Killed, WAIT).await;
    framework.update("boxed", TaskState::Killed, WAIT).await;
    no_mesos_container_left(&docker).await;
    let freezer = cgroup("freezer");
    let gone = common::poll_async(WAIT, || {
        (!freezer.exists() && pids.iter().all(|p| !mesos::container::is_alive(*p))).then_some(())
    })
    .await;
    assert!(
        gone.is_some(),
        "{} or its processes outlived the kill",
        freezer.display()
    );
}

/// A user-defined Docker network of the test's own, removed (with its
/// bridge) when dropped, before the daemon goes.
struct UserNetwork<'a> {
    docker: &'a Dockerd,
    name: String,
}

impl Drop for UserNetwork<'_> {
    fn drop(&mut self) {
        let _ = self.docker.command(&["network", "rm", &self.name]).output();
    }
}

/// A `USER` container joins the network its `network_infos` names.
#[actix::test]
async fn a_user_network_container_joins_the_named_network() {
    let Some(docker) = Dockerd::with_bridge() else {
        return;
    };
    let network = UserNetwork {
        docker: &docker,
        name: format!("mesos-test-user-{}", std::process::id()),
    };
    docker.run(&["network", "create", &network.name]);
    let cluster = cluster(&docker, AGENT, &[]);
    let framework = framework(&cluster, "docker-user-network", false).await;
    let mut task = docker_task("joined", "sleep 600", IMAGE);
    if let Some(c) = task.meta.container.as_mut() {
        c.network_infos = vec![wire::mesos::NetworkInfo {
            name: Some(network.name.clone()),
        }];
        if let Some(d) = c.docker.as_mut() {
            d.network = DockerNetwork::User;
        }
    }
    framework.launch(vec![task], TASK, None).await;
    framework.update("joined", TaskState::Running, WAIT).await;
    let name = the_container(&docker).await;
    let inspect = docker.inspect(&name).expect("inspect");
    let networks = &inspect["NetworkSettings"]["Networks"];
    assert!(
        networks.get(&network.name).is_some(),
        "not on {}: {networks}",
        network.name
    );
    framework.handle.kill_task(TaskId::new("joined"));
    framework.update("joined", TaskState::Killed, WAIT).await;
    no_mesos_container_left(&docker).await;
}
