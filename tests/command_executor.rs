//! The real `mesos-executor` binary, launched the way the agent launches
//! it: by the containerizer, in a sandbox, with the agent's environment,
//! talking to a stand-in agent process in this test.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actors::testing::wait_until;
use actors::{Cx, Handle, Install, Node, NodeConfig, Pid, Process};
use mesos::container::{
    self, is_alive as alive, Container, Containerizer, LaunchSpec, MesosContainerizer,
};
use wire::agent::{RunTask, StatusUpdateAcknowledgement, StatusUpdateMessage};
use wire::executor::{ExecutorRegistered, RegisterExecutor};
use wire::ids::{AgentId, ContainerId, ExecutorId, FrameworkId, TaskId};
use wire::mesos::{AgentInfo, CommandInfo, ExecutorInfo, FrameworkInfo, TaskInfo};
use wire::resources::Resources;
use wire::task::TaskState;

const DEADLINE: Duration = Duration::from_secs(20);

/// Registers the executor, hands it one task, records and acknowledges
/// its updates.
struct Agent {
    task: Option<TaskInfo>,
    states: Arc<Mutex<Vec<TaskState>>>,
}

impl Process for Agent {
    fn install(i: &mut Install<Self>) {
        i.message::<RegisterExecutor>()
            .message::<StatusUpdateMessage>();
    }
}

impl Handle<RegisterExecutor> for Agent {
    fn handle(&mut self, m: RegisterExecutor, from: &Pid, cx: &mut Cx<'_, Self>) {
        let framework = FrameworkInfo::new("tester", "binary test");
        let registered = ExecutorRegistered {
            executor_info: ExecutorInfo {
                executor_id: m.executor_id.clone(),
                framework_id: Some(m.framework_id.clone()),
                command: CommandInfo::shell("mesos-executor"),
                resources: Resources::new(),
                name: None,
                shutdown_grace_period: None,
                container: None,
            },
            framework_id: m.framework_id,
            framework_info: framework.clone(),
            agent_id: AgentId::new("m-S0"),
            agent_info: AgentInfo {
                hostname: "localhost".into(),
                port: cx.me().address().port(),
                resources: Resources::new(),
                attributes: Vec::new(),
                id: Some(AgentId::new("m-S0")),
            },
        };
        cx.send(from, registered);
        if let Some(task) = self.task.take() {
            let run = RunTask {
                framework,
                framework_pid: None,
                task,
            };
            cx.send(from, run);
        }
    }
}

impl Handle<StatusUpdateMessage> for Agent {
    fn handle(&mut self, m: StatusUpdateMessage, from: &Pid, cx: &mut Cx<'_, Self>) {
        self.states.lock().unwrap().push(m.update.status.state);
        if let Some(uuid) = m.update.uuid {
            let ack = StatusUpdateAcknowledgement {
                agent_id: AgentId::new("m-S0"),
                framework_id: m.update.framework_id,
                task_id: m.update.status.task_id,
                uuid,
            };
            cx.send(from, ack);
        }
    }
}

struct Run {
    _node: Node,
    states: Arc<Mutex<Vec<TaskState>>>,
    container: Container,
    sandbox: std::path::PathBuf,
    _work: tempfile::TempDir,
}

/// Starts an agent process and, through the containerizer, the executor
/// binary for a command task running `command`.
async fn launch(command: &str) -> Run {
    let node = Node::bind(NodeConfig::default()).await.unwrap();
    let states = Arc::new(Mutex::new(Vec::new()));
    let task = TaskInfo {
        name: "t".into(),
        task_id: TaskId::new("t"),
        agent_id: AgentId::new("m-S0"),
        resources: Resources::new(),
        command: Some(CommandInfo::shell(command)),
        executor: None,
        data: None,
        kill_grace_period: None,
        meta: Default::default(),
    };
    let agent = node
        .spawn(
            "slave(1)",
            Agent {
                task: Some(task),
                states: states.clone(),
            },
        )
        .unwrap();
    let work = tempfile::tempdir().unwrap();
    let sandbox = container::create_sandbox(
        work.path(),
        &AgentId::new("m-S0"),
        &FrameworkId::new("m-0000"),
        &ExecutorId::new("t"),
        &ContainerId::new("c1"),
    )
    .unwrap();
    let dir = sandbox.display().to_string();
    let env = [
        ("MESOS_SLAVE_PID", agent.pid().to_string()),
        ("MESOS_SLAVE_ID", "m-S0".to_owned()),
        ("MESOS_FRAMEWORK_ID", "m-0000".to_owned()),
        ("MESOS_EXECUTOR_ID", "t".to_owned()),
        ("MESOS_DIRECTORY", dir.clone()),
        ("MESOS_SANDBOX", dir),
        ("MESOS_AGENT_ENDPOINT", agent.pid().address().to_string()),
        ("MESOS_CHECKPOINT", "0".to_owned()),
        ("MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD", "5secs".to_owned()),
        ("LIBPROCESS_IP", "127.0.0.1".to_owned()),
        ("LIBPROCESS_PORT", "0".to_owned()),
    ];
    let mut executor = CommandInfo::shell(env!("CARGO_BIN_EXE_mesos-executor"));
    executor.shell = false;
    executor.arguments = vec!["mesos-executor".into(), "--launcher_dir=/unused".into()];
    let container = MesosContainerizer::default()
        .launch(LaunchSpec {
            container_id: ContainerId::new("c1"),
            resources: Resources::new(),
            command: executor,
            sandbox: sandbox.clone(),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            inherit_env: true,
            user: None,
            container: None,
        })
        .unwrap();
    Run {
        _node: node,
        states,
        container,
        sandbox,
        _work: work,
    }
}

impl Run {
    fn states(&self) -> Vec<TaskState> {
        self.states.lock().unwrap().clone()
    }
}

async fn read_pid(path: &Path) -> i32 {
    let mut pid = None;
    wait_until(DEADLINE, || {
        pid = std::fs::read_to_string(path)
            .ok()
            .and_then(|s| s.trim().parse().ok());
        pid.is_some()
    })
    .await;
    pid.expect("the task never wrote its pid")
}

#[actix::test]
async fn the_executor_binary_runs_a_task_and_exits_zero() {
    let run = launch("echo hi; echo oops >&2").await;
    let status = tokio::time::timeout(DEADLINE, run.container.wait())
        .await
        .expect("mesos-executor did not exit in time")
        .unwrap();
    let stderr = std::fs::read_to_string(run.sandbox.join("stderr")).unwrap_or_default();
    assert_eq!(status.code(), Some(0), "{status}; stderr:\n{stderr}");
    assert_eq!(
        run.states(),
        [TaskState::Starting, TaskState::Running, TaskState::Finished]
    );
    // The task wrote through the executor's stdout and stderr, which the
    // containerizer pointed at the sandbox.
    let stdout = std::fs::read_to_string(run.sandbox.join("stdout")).unwrap();
    assert_eq!(stdout, "hi\n");
    assert!(stderr.contains("oops\n"), "{stderr}");
}

#[actix::test]
async fn destroying_the_executor_container_takes_its_task_with_it() {
    let run = launch("echo $$ > task.pid; sleep 100").await;
    let states = run.states.clone();
    assert!(wait_until(DEADLINE, || states.lock().unwrap().len() >= 2).await);
    let task = read_pid(&run.sandbox.join("task.pid")).await;
    assert!(alive(task));
    let status = tokio::time::timeout(DEADLINE, run.container.destroy(Duration::from_secs(5)))
        .await
        .expect("destroy did not finish in time")
        .unwrap();
    assert_eq!(status.signal(), Some(libc::SIGTERM), "{status}");
    assert!(
        wait_until(DEADLINE, || !alive(task)).await,
        "the task outlived its executor's container"
    );
}
