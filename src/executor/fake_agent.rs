//! A stand-in agent for executor tests: a toy process on a node of its own
//! that answers `RegisterExecutor` with `ExecutorRegistered` and the tasks
//! it was given, records status updates (acknowledging them unless told
//! not to), and sends kills, shutdowns, tasks and framework messages when
//! the test orders them.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actors::testing::wait_until;
use actors::{Cx, Handle, Install, Node, NodeConfig, Pid, Process, ProcessRef};
use wire::agent::{
    ExecutorToFramework, FrameworkToExecutor, KillTask, RunTask, ShutdownExecutor,
    StatusUpdateAcknowledgement, StatusUpdateMessage,
};
use wire::executor::{ExecutorRegistered, RegisterExecutor};
use wire::ids::{AgentId, ExecutorId, FrameworkId, TaskId};
use wire::mesos::{AgentInfo, CommandInfo, ExecutorInfo, FrameworkInfo, TaskInfo};
use wire::resources::Resources;
use wire::task::TaskState;

use crate::executor::driver::{self, DriverConfig, DriverStatus, Executor, ExecutorHandle};

/// Every wait in these tests ends by this deadline.
pub const DEADLINE: Duration = Duration::from_secs(10);

pub const AGENT_ID: &str = "m-S0";
pub const FRAMEWORK_ID: &str = "m-0000";
pub const EXECUTOR_ID: &str = "task-1";

/// What the agent saw.
#[derive(Clone, Default)]
pub struct AgentLog(Arc<Mutex<Seen>>);

#[derive(Default)]
struct Seen {
    registrations: Vec<Pid>,
    updates: Vec<StatusUpdateMessage>,
    framework_messages: Vec<Vec<u8>>,
}

impl AgentLog {
    fn with<R>(&self, f: impl FnOnce(&mut Seen) -> R) -> R {
        f(&mut self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }

    pub fn registrations(&self) -> Vec<Pid> {
        self.with(|s| s.registrations.clone())
    }

    pub fn updates(&self) -> Vec<StatusUpdateMessage> {
        self.with(|s| s.updates.clone())
    }

    pub fn framework_messages(&self) -> Vec<Vec<u8>> {
        self.with(|s| s.framework_messages.clone())
    }

    /// The states reported for `task`, in order.
    pub fn states(&self, task: &str) -> Vec<TaskState> {
        self.with(|s| {
            s.updates
                .iter()
                .filter(|m| m.update.status.task_id.as_str() == task)
                .map(|m| m.update.status.state)
                .collect()
        })
    }

    /// The message of the latest update of `task`.
    pub fn last_message(&self, task: &str) -> Option<String> {
        self.with(|s| {
            s.updates
                .iter()
                .rev()
                .find(|m| m.update.status.task_id.as_str() == task)
                .and_then(|m| m.update.status.message.clone())
        })
    }
}

/// What a test tells the agent to do.
pub enum Order {
    Run(Box<TaskInfo>),
    Kill(TaskId),
    Shutdown,
    Message(Vec<u8>),
    /// Acknowledge every update received so far.
    AckAll,
}

pub struct FakeAgent {
    log: AgentLog,
    framework: FrameworkInfo,
    /// Sent right after registration.
    tasks: Vec<TaskInfo>,
    auto_ack: bool,
    /// The executor, once it registered.
    executor: Option<Pid>,
}

impl FakeAgent {
    fn ack(&self, m: &StatusUpdateMessage, from: &Pid, cx: &mut Cx<'_, Self>) {
        let Some(uuid) = m.update.uuid.clone() else {
            return;
        };
        let to = m
            .pid
            .as_deref()
            .and_then(|p| p.parse::<Pid>().ok())
            .unwrap_or_else(|| from.clone());
        let ack = StatusUpdateAcknowledgement {
            agent_id: AgentId::new(AGENT_ID),
            framework_id: m.update.framework_id.clone(),
            task_id: m.update.status.task_id.clone(),
            uuid,
        };
        cx.send(&to, ack);
    }

    fn run(&self, task: TaskInfo, cx: &mut Cx<'_, Self>) {
        if let Some(executor) = &self.executor {
            let run = RunTask {
                framework: self.framework.clone(),
                framework_pid: None,
                task,
            };
            cx.send(executor, run);
        }
    }
}

impl Process for FakeAgent {
    fn install(i: &mut Install<Self>) {
        i.message::<RegisterExecutor>()
            .message::<StatusUpdateMessage>()
            .message::<ExecutorToFramework>()
            .local::<Order>();
    }
}

impl Handle<RegisterExecutor> for FakeAgent {
    fn handle(&mut self, m: RegisterExecutor, from: &Pid, cx: &mut Cx<'_, Self>) {
        self.log.with(|s| s.registrations.push(from.clone()));
        self.executor = Some(from.clone());
        let registered = ExecutorRegistered {
            executor_info: ExecutorInfo {
                executor_id: m.executor_id,
                framework_id: Some(m.framework_id.clone()),
                command: CommandInfo::shell("mesos-executor"),
                resources: Resources::new(),
                name: None,
                shutdown_grace_period: None,
                container: None,
            },
            framework_id: m.framework_id,
            framework_info: self.framework.clone(),
            agent_id: AgentId::new(AGENT_ID),
            agent_info: AgentInfo {
                hostname: "localhost".into(),
                port: cx.me().address().port(),
                resources: Resources::new(),
                attributes: Vec::new(),
                id: Some(AgentId::new(AGENT_ID)),
            },
        };
        cx.send(from, registered);
        for task in std::mem::take(&mut self.tasks) {
            self.run(task, cx);
        }
    }
}

impl Handle<StatusUpdateMessage> for FakeAgent {
    fn handle(&mut self, m: StatusUpdateMessage, from: &Pid, cx: &mut Cx<'_, Self>) {
        if self.auto_ack {
            self.ack(&m, from, cx);
        }
        self.log.with(|s| s.updates.push(m));
    }
}

impl Handle<ExecutorToFramework> for FakeAgent {
    fn handle(&mut self, m: ExecutorToFramework, _from: &Pid, _cx: &mut Cx<'_, Self>) {
        self.log.with(|s| s.framework_messages.push(m.data));
    }
}

impl Handle<Order> for FakeAgent {
    fn handle(&mut self, order: Order, _from: &Pid, cx: &mut Cx<'_, Self>) {
        let Some(executor) = self.executor.clone() else {
            return;
        };
        let framework_id = FrameworkId::new(FRAMEWORK_ID);
        match order {
            Order::Run(task) => self.run(*task, cx),
            Order::Kill(task_id) => cx.send(
                &executor,
                KillTask {
                    framework_id,
                    task_id,
                    grace_period: None,
                },
            ),
            Order::Shutdown => cx.send(
                &executor,
                ShutdownExecutor {
                    framework_id,
                    executor_id: ExecutorId::new(EXECUTOR_ID),
                },
            ),
            Order::Message(data) => cx.send(
                &executor,
                FrameworkToExecutor {
                    agent_id: AgentId::new(AGENT_ID),
                    framework_id,
                    executor_id: ExecutorId::new(EXECUTOR_ID),
                    data,
                },
            ),
            Order::AckAll => {
                for m in self.log.updates() {
                    self.ack(&m, &executor, cx);
                }
            }
        }
    }
}

/// A command task as a framework would send it.
pub fn command_task(id: &str, command: CommandInfo) -> TaskInfo {
    TaskInfo {
        name: id.to_owned(),
        task_id: TaskId::new(id),
        agent_id: AgentId::new(AGENT_ID),
        resources: Resources::new(),
        command: Some(command),
        executor: None,
        data: None,
        kill_grace_period: None,
        meta: Default::default(),
    }
}

/// A fake agent and an executor driver talking to it, each on its own
/// node, with a sandbox that is removed when the harness is dropped.
pub struct Harness<E: Executor> {
    pub agent_node: Node,
    pub agent: ProcessRef<FakeAgent>,
    pub log: AgentLog,
    pub driver: ExecutorHandle<E>,
    pub sandbox: tempfile::TempDir,
}

/// How to set a harness up.
pub struct Setup {
    pub framework: FrameworkInfo,
    pub tasks: Vec<TaskInfo>,
    pub auto_ack: bool,
    pub shutdown_grace_period: Duration,
    pub checkpoint: bool,
    pub recovery_timeout: Duration,
}

impl Default for Setup {
    fn default() -> Self {
        let mut framework = FrameworkInfo::new("tester", "test framework");
        framework.id = Some(FrameworkId::new(FRAMEWORK_ID));
        Setup {
            framework,
            tasks: Vec::new(),
            auto_ack: true,
            shutdown_grace_period: driver::DEFAULT_SHUTDOWN_GRACE_PERIOD,
            checkpoint: false,
            recovery_timeout: driver::DEFAULT_RECOVERY_TIMEOUT,
        }
    }
}

impl<E: Executor> Harness<E> {
    pub async fn start(executor: E, setup: Setup) -> Harness<E> {
        let agent_node = Node::bind(NodeConfig::default()).await.expect("agent node");
        let log = AgentLog::default();
        let agent = agent_node
            .spawn(
                "slave(1)",
                FakeAgent {
                    log: log.clone(),
                    framework: setup.framework,
                    tasks: setup.tasks,
                    auto_ack: setup.auto_ack,
                    executor: None,
                },
            )
            .expect("agent process");
        let sandbox = tempfile::tempdir().expect("sandbox");
        let mut config = DriverConfig::new(
            agent.pid().clone(),
            FrameworkId::new(FRAMEWORK_ID),
            ExecutorId::new(EXECUTOR_ID),
            sandbox.path().to_owned(),
        );
        config.shutdown_grace_period = setup.shutdown_grace_period;
        config.checkpoint = setup.checkpoint;
        config.recovery_timeout = setup.recovery_timeout;
        let driver = driver::start(config, executor).await.expect("driver");
        Harness {
            agent_node,
            agent,
            log,
            driver,
            sandbox,
        }
    }

    pub fn order(&self, order: Order) {
        self.agent.tell(self.agent.pid(), order);
    }

    /// Waits (bounded) until `task` has reported exactly `states`.
    pub async fn expect_states(&self, task: &str, states: &[TaskState]) {
        let log = self.log.clone();
        let reached = wait_until(DEADLINE, || log.states(task).len() >= states.len()).await;
        assert!(reached, "{task} reported only {:?}", self.log.states(task));
        assert_eq!(self.log.states(task), states, "states of {task}");
    }

    /// Waits (bounded) for the driver to stop.
    pub async fn join(self) -> DriverStatus {
        let status = tokio::time::timeout(DEADLINE, self.driver.join())
            .await
            .expect("the driver did not stop in time");
        self.agent_node.shutdown();
        status
    }
}

/// Whether `pid` is a live process (zombies count as dead).
pub fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

/// Waits (bounded) for a file holding a pid, written by a task.
pub async fn read_pid(path: &Path) -> i32 {
    let mut pid = None;
    wait_until(DEADLINE, || {
        pid = std::fs::read_to_string(path)
            .ok()
            .and_then(|s| s.trim().parse().ok());
        pid.is_some()
    })
    .await;
    pid.unwrap_or_else(|| panic!("{} never appeared", path.display()))
}

/// Waits (bounded) for `pid` to be gone.
pub async fn gone(pid: i32) -> bool {
    wait_until(DEADLINE, || !alive(pid)).await
}
