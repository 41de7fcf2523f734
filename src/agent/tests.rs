//! The agent process in one node with a fake master and a fake executor:
//! registration and re-registration, launches, kills, the status update
//! stream (retry and acknowledgement), executor exits and recovery.
//!
//! The fake master is a toy process that records what the agent sends it;
//! the test speaks for it by sending from its pid. The launched container
//! is a harmless `sleep`, and the executor inside it is impersonated by a
//! fake executor process that sends the executor's messages.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actors::testing::{self, wait_until};
use actors::{Cx, Handle, Install, Node, Pid, Process};
use wire::agent::{
    AgentRegistered, AgentReregistered, ExitedExecutor, KillTask, PingAgent, PongAgent,
    RegisterAgent, ReregisterAgent, RunTask, ShutdownAgent, ShutdownExecutor,
    StatusUpdateAcknowledgement, StatusUpdateMessage,
};
use wire::executor::{
    ExecutorRegistered, ExecutorReregistered, ReconnectExecutor, RegisterExecutor,
    ReregisterExecutor,
};
use wire::ids::{AgentId, ExecutorId, FrameworkId, TaskId};
use wire::mesos::{AgentInfo, CommandInfo, ExecutorInfo, FrameworkInfo, StatusUpdate, TaskInfo};
use wire::mesos::{TaskMeta, TaskStatus};
use wire::resources::Resources;
use wire::task::{Reason, TaskState};

use super::flags::SPECS;
use super::status_updates::RETRY_MIN;
use super::{checkpoint, Agent, AgentFlags};
use crate::container::is_alive;
use crate::executor::fake_agent::read_pid;
use crate::flags::{Flags, Outcome};
use crate::stop::{self, StopReason, StopWatch};

/// Every wait in these tests ends by this deadline.
const DEADLINE: Duration = Duration::from_secs(10);
const AGENT_ID: &str = "a-S0";
const FRAMEWORK_ID: &str = "a-0000";
const EXECUTOR_ID: &str = "sleeper";

/// A shared, append-only record of what a fake process heard.
struct Log<T>(Arc<Mutex<Vec<T>>>);

impl<T> Clone for Log<T> {
    fn clone(&self) -> Self {
        Log(self.0.clone())
    }
}

impl<T: Clone> Log<T> {
    fn new() -> Self {
        Log(Arc::new(Mutex::new(Vec::new())))
    }

    fn push(&self, item: T) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(item);
    }

    fn all(&self) -> Vec<T> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn matching<R>(&self, f: impl Fn(&T) -> Option<R>) -> Vec<R> {
        self.all().iter().filter_map(f).collect()
    }
}

/// What the fake master heard from the agent.
#[derive(Debug, Clone)]
enum ToMaster {
    Register(RegisterAgent),
    Reregister(Box<ReregisterAgent>),
    Pong,
    Update(Box<StatusUpdate>),
    ExitedExecutor(ExitedExecutor),
}

struct FakeMaster(Log<ToMaster>);

impl Process for FakeMaster {
    fn install(i: &mut Install<Self>) {
        i.message::<RegisterAgent>()
            .message::<ReregisterAgent>()
            .message::<PongAgent>()
            .message::<StatusUpdateMessage>()
            .message::<ExitedExecutor>();
    }
}

impl Handle<RegisterAgent> for FakeMaster {
    fn handle(&mut self, m: RegisterAgent, _: &Pid, _: &mut Cx<'_, Self>) {
        self.0.push(ToMaster::Register(m));
    }
}

impl Handle<ReregisterAgent> for FakeMaster {
    fn handle(&mut self, m: ReregisterAgent, _: &Pid, _: &mut Cx<'_, Self>) {
        self.0.push(ToMaster::Reregister(Box::new(m)));
    }
}

impl Handle<PongAgent> for FakeMaster {
    fn handle(&mut self, _: PongAgent, _: &Pid, _: &mut Cx<'_, Self>) {
        self.0.push(ToMaster::Pong);
    }
}

impl Handle<StatusUpdateMessage> for FakeMaster {
    fn handle(&mut self, m: StatusUpdateMessage, _: &Pid, _: &mut Cx<'_, Self>) {
        self.0.push(ToMaster::Update(Box::new(m.update)));
    }
}

impl Handle<ExitedExecutor> for FakeMaster {
    fn handle(&mut self, m: ExitedExecutor, _: &Pid, _: &mut Cx<'_, Self>) {
        self.0.push(ToMaster::ExitedExecutor(m));
    }
}

/// What the fake executor heard from the agent.
#[derive(Debug, Clone)]
enum ToExecutor {
    Registered(Box<ExecutorRegistered>),
    Reregistered(ExecutorReregistered),
    Reconnect(ReconnectExecutor),
    Run(Box<RunTask>),
    Kill(KillTask),
    Ack(StatusUpdateAcknowledgement),
    Shutdown,
}

struct FakeExecutor(Log<ToExecutor>);

impl Process for FakeExecutor {
    fn install(i: &mut Install<Self>) {
        i.message::<ExecutorRegistered>()
            .message::<ExecutorReregistered>()
            .message::<ReconnectExecutor>()
            .message::<RunTask>()
            .message::<KillTask>()
            .message::<StatusUpdateAcknowledgement>()
            .message::<ShutdownExecutor>();
    }
}

impl Handle<ExecutorRegistered> for FakeExecutor {
    fn handle(&mut self, m: ExecutorRegistered, _: &Pid, _: &mut Cx<'_, Self>) {
        self.0.push(ToExecutor::Registered(Box::new(m)));
    }
}

impl Handle<ExecutorReregistered> for FakeExecutor {
    fn handle(&mut self, m: ExecutorReregistered, _: &Pid, _: &mut Cx<'_, Self>) {
        self.0.push(ToExecutor::Reregistered(m));
    }
}

impl Handle<ReconnectExecutor> for FakeExecutor {
    fn handle(&mut self, m: ReconnectExecutor, _: &Pid, _: &mut Cx<'_, Self>) {
        self.0.push(ToExecutor::Reconnect(m));
    }
}

impl Handle<RunTask> for FakeExecutor {
    fn handle(&mut self, m: RunTask, _: &Pid, _: &mut Cx<'_, Self>) {
        self.0.push(ToExecutor::Run(Box::new(m)));
    }
}

impl Handle<KillTask> for FakeExecutor {
    fn handle(&mut self, m: KillTask, _: &Pid, _: &mut Cx<'_, Self>) {
        self.0.push(ToExecutor::Kill(m));
    }
}

impl Handle<StatusUpdateAcknowledgement> for FakeExecutor {
    fn handle(&mut self, m: StatusUpdateAcknowledgement, _: &Pid, _: &mut Cx<'_, Self>) {
        self.0.push(ToExecutor::Ack(m));
    }
}

impl Handle<ShutdownExecutor> for FakeExecutor {
    fn handle(&mut self, _: ShutdownExecutor, _: &Pid, _: &mut Cx<'_, Self>) {
        self.0.push(ToExecutor::Shutdown);
    }
}

/// The agent's flags for a test: its work_dir, quick registration and
/// whatever the test adds.
fn agent_flags(work_dir: &Path, extra: &[&str]) -> AgentFlags {
    let mut args = vec![
        "--master=127.0.0.1:5050".to_owned(),
        format!("--work_dir={}", work_dir.display()),
        "--registration_backoff_factor=10ms".to_owned(),
        // Containers run as the test's user.
        "--switch_user=false".to_owned(),
        // Sessions, not cgroups: the cgroup launcher has its own tests,
        // and tests running side by side must not share a cgroups root.
        "--launcher=posix".to_owned(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    match Flags::load(SPECS, args, Vec::new()) {
        Ok(Outcome::Run(f)) => AgentFlags::from_flags(f).expect("agent flags"),
        _ => panic!("the test's agent flags do not load"),
    }
}

fn agent_info(node: &Node) -> AgentInfo {
    AgentInfo {
        hostname: "localhost".into(),
        port: node.address().port(),
        resources: Resources::parse("cpus:2;mem:256", "*").expect("resources"),
        attributes: Vec::new(),
        id: None,
    }
}

fn framework(checkpoint: bool) -> FrameworkInfo {
    let mut f = FrameworkInfo::new("tester", "agent tests");
    f.id = Some(FrameworkId::new(FRAMEWORK_ID));
    f.checkpoint = checkpoint;
    f
}

/// A task under a custom executor whose container runs `command`.
fn task(id: &str, command: &str) -> TaskInfo {
    TaskInfo {
        name: id.to_owned(),
        task_id: TaskId::new(id),
        agent_id: AgentId::new(AGENT_ID),
        resources: Resources::parse("cpus:0.5;mem:32", "*").expect("resources"),
        command: None,
        executor: Some(ExecutorInfo {
            executor_id: ExecutorId::new(EXECUTOR_ID),
            framework_id: Some(FrameworkId::new(FRAMEWORK_ID)),
            command: CommandInfo::shell(command),
            resources: Resources::new(),
            name: Some("sleeper".into()),
            shutdown_grace_period: None,
            container: None,
        }),
        data: None,
        kill_grace_period: None,
        meta: TaskMeta::default(),
    }
}

/// One node with a fake master, an agent and a fake executor; the agent's
/// work_dir is removed when this is dropped.
struct Cluster {
    node: Node,
    master: Pid,
    to_master: Log<ToMaster>,
    agent: Pid,
    executor: Pid,
    to_executor: Log<ToExecutor>,
    /// What the agent says when it stops.
    stops: StopWatch,
    work_dir: tempfile::TempDir,
}

impl Cluster {
    async fn start(extra: &[&str]) -> Cluster {
        let node = testing::cluster(1).await.expect("node").remove(0);
        let work_dir = tempfile::tempdir().expect("work_dir");
        let to_master = Log::new();
        let master = node
            .spawn("master", FakeMaster(to_master.clone()))
            .expect("master")
            .pid()
            .clone();
        let to_executor = Log::new();
        let executor = node
            .spawn("executor(1)", FakeExecutor(to_executor.clone()))
            .expect("executor")
            .pid()
            .clone();
        let flags = agent_flags(work_dir.path(), extra);
        let (notice, stops) = stop::channel();
        let agent = node
            .spawn(
                super::AGENT_ID,
                Agent::new(flags, agent_info(&node), master.clone()).with_stop_notice(notice),
            )
            .expect("agent")
            .pid()
            .clone();
        Cluster {
            node,
            master,
            to_master,
            agent,
            executor,
            to_executor,
            stops,
            work_dir,
        }
    }

    /// Waits for the agent's RegisterAgent and answers it, as the master.
    async fn register(&self) {
        self.register_with_ping_timeout(1000.0).await;
    }

    /// As `register`, the master expecting to ping within `seconds`.
    async fn register_with_ping_timeout(&self, seconds: f64) {
        let log = self.to_master.clone();
        assert!(
            wait_until(DEADLINE, || !registrations(&log).is_empty()).await,
            "the agent never registered"
        );
        self.master_sends(AgentRegistered {
            agent_id: AgentId::new(AGENT_ID),
            total_ping_timeout_seconds: seconds,
        });
        testing::settle().await;
    }

    fn master_sends<M: wire::Message>(&self, message: M) {
        self.node.send(&self.master, &self.agent, message);
    }

    fn executor_sends<M: wire::Message>(&self, message: M) {
        self.node.send(&self.executor, &self.agent, message);
    }

    fn run(&self, task: TaskInfo, checkpoint: bool) {
        self.master_sends(RunTask {
            framework: framework(checkpoint),
            framework_pid: None,
            task,
        });
    }

    /// Registers the fake executor and waits for the agent's greeting.
    async fn register_executor(&self) -> ExecutorRegistered {
        self.executor_sends(RegisterExecutor {
            framework_id: FrameworkId::new(FRAMEWORK_ID),
            executor_id: ExecutorId::new(EXECUTOR_ID),
        });
        let mut registered = None;
        let log = self.to_executor.clone();
        wait_until(DEADLINE, || {
            registered = log
                .matching(|m| match m {
                    ToExecutor::Registered(r) => Some(r.clone()),
                    _ => None,
                })
                .pop();
            registered.is_some()
        })
        .await;
        let heard = self.to_master.all();
        *registered
            .unwrap_or_else(|| panic!("the executor was never greeted; the master heard {heard:?}"))
    }

    /// An update about `task` as the executor sends it.
    fn executor_update(&self, task: &str, state: TaskState, uuid: u8) {
        let mut status = TaskStatus::new(TaskId::new(task), state);
        status.executor_id = Some(ExecutorId::new(EXECUTOR_ID));
        status.uuid = Some(vec![uuid; 16]);
        self.executor_sends(StatusUpdateMessage {
            update: StatusUpdate {
                framework_id: FrameworkId::new(FRAMEWORK_ID),
                executor_id: Some(ExecutorId::new(EXECUTOR_ID)),
                agent_id: None,
                timestamp: status.timestamp,
                status,
                uuid: Some(vec![uuid; 16]),
                latest_state: None,
            },
            pid: None,
        });
    }

    /// The master acknowledges an update with this uuid.
    fn master_ack(&self, task: &str, uuid: Vec<u8>) {
        self.master_sends(StatusUpdateAcknowledgement {
            agent_id: AgentId::new(AGENT_ID),
            framework_id: FrameworkId::new(FRAMEWORK_ID),
            task_id: TaskId::new(task),
            uuid,
        });
    }

    /// The executor's sandbox, through the `latest` link of its runs.
    fn sandbox(&self) -> PathBuf {
        self.work_dir
            .path()
            .join("slaves")
            .join(AGENT_ID)
            .join("frameworks")
            .join(FRAMEWORK_ID)
            .join("executors")
            .join(EXECUTOR_ID)
            .join("runs")
            .join("latest")
    }

    /// Waits until the master heard updates of `task` in these states.
    async fn expect_states(&self, task: &str, states: &[TaskState]) {
        let log = self.to_master.clone();
        wait_until(DEADLINE, || updates(&log, task).len() >= states.len()).await;
        let seen: Vec<TaskState> = updates(&self.to_master, task)
            .iter()
            .map(|u| u.status.state)
            .collect();
        assert_eq!(seen, states, "states of {task} the master heard");
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.node.shutdown();
    }
}

fn registrations(log: &Log<ToMaster>) -> Vec<RegisterAgent> {
    log.matching(|m| match m {
        ToMaster::Register(r) => Some(r.clone()),
        _ => None,
    })
}

fn reregistrations(log: &Log<ToMaster>) -> Vec<ReregisterAgent> {
    log.matching(|m| match m {
        ToMaster::Reregister(r) => Some((**r).clone()),
        _ => None,
    })
}

fn updates(log: &Log<ToMaster>, task: &str) -> Vec<StatusUpdate> {
    log.matching(|m| match m {
        ToMaster::Update(u) if u.status.task_id.as_str() == task => Some((**u).clone()),
        _ => None,
    })
}

fn acks(log: &Log<ToExecutor>) -> Vec<StatusUpdateAcknowledgement> {
    log.matching(|m| match m {
        ToExecutor::Ack(a) => Some(a.clone()),
        _ => None,
    })
}

/// Kills a container's process from outside, as a crash would.
fn kill(pid: i32) {
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success(), "cannot kill {pid}");
}

#[actix::test]
async fn agent_registers_and_reregisters_when_the_master_forgets_it() {
    let c = Cluster::start(&[]).await;
    c.register().await;
    // Retries every few milliseconds may have gone out before the answer;
    // each of them is a new agent's.
    let first = registrations(&c.to_master);
    assert!(!first.is_empty());
    assert!(
        first.iter().all(|r| r.info.id.is_none()),
        "a new agent has no id yet"
    );

    // A ping from a master that no longer knows the agent.
    c.master_sends(PingAgent { connected: false });
    let log = c.to_master.clone();
    assert!(
        wait_until(DEADLINE, || !reregistrations(&log).is_empty()).await,
        "the agent did not re-register"
    );
    let again = reregistrations(&c.to_master);
    assert_eq!(again[0].info.id, Some(AgentId::new(AGENT_ID)));
    assert!(
        c.to_master
            .all()
            .iter()
            .any(|m| matches!(m, ToMaster::Pong)),
        "the ping was not answered"
    );
}

#[actix::test]
async fn a_shutdown_from_the_master_kills_the_executors_and_stops_the_agent_saying_why() {
    let mut c = Cluster::start(&[]).await;
    c.register().await;
    c.run(
        task("t1", "echo $$ > $MESOS_SANDBOX/pid; exec sleep 60"),
        false,
    );
    let pid = read_pid(&c.sandbox().join("pid")).await;
    c.master_sends(ShutdownAgent {
        message: "removed by the operator".into(),
    });
    let stopped = tokio::time::timeout(DEADLINE, c.stops.next())
        .await
        .expect("the agent did not say it stopped")
        .expect("the agent's notice is gone");
    assert_eq!(stopped.process, c.agent);
    assert_eq!(
        stopped.reason,
        StopReason::ShutdownByMaster("removed by the operator".into())
    );
    assert!(
        wait_until(DEADLINE, || !is_alive(pid)).await,
        "the executor outlived its agent"
    );
}

#[actix::test]
async fn a_launched_task_reaches_its_executor_once_it_registers() {
    let c = Cluster::start(&[]).await;
    c.register().await;
    c.run(
        task("t1", "echo $$ > $MESOS_SANDBOX/pid; exec sleep 60"),
        false,
    );
    let pid = read_pid(&c.sandbox().join("pid")).await;
    assert!(pid > 0, "the container did not start");

    let registered = c.register_executor().await;
    assert_eq!(registered.agent_id, AgentId::new(AGENT_ID));
    assert_eq!(registered.executor_info.executor_id.as_str(), EXECUTOR_ID);
    let log = c.to_executor.clone();
    let run = |log: &Log<ToExecutor>| {
        log.matching(|m| match m {
            ToExecutor::Run(r) => Some(r.task.task_id.clone()),
            _ => None,
        })
    };
    assert!(wait_until(DEADLINE, || !run(&log).is_empty()).await);
    assert_eq!(run(&c.to_executor), vec![TaskId::new("t1")]);
}

#[actix::test]
async fn killing_a_running_task_is_relayed_to_its_executor() {
    let c = Cluster::start(&[]).await;
    c.register().await;
    c.run(task("t1", "exec sleep 60"), false);
    c.register_executor().await;
    c.master_sends(KillTask {
        framework_id: FrameworkId::new(FRAMEWORK_ID),
        task_id: TaskId::new("t1"),
        grace_period: None,
    });
    let log = c.to_executor.clone();
    let kills = |log: &Log<ToExecutor>| {
        log.matching(|m| match m {
            ToExecutor::Kill(k) => Some(k.task_id.clone()),
            _ => None,
        })
    };
    assert!(
        wait_until(DEADLINE, || !kills(&log).is_empty()).await,
        "the kill did not reach the executor"
    );
    assert_eq!(kills(&c.to_executor), vec![TaskId::new("t1")]);
}

#[actix::test]
async fn killing_a_queued_task_ends_it_killed_and_destroys_the_idle_executor() {
    let c = Cluster::start(&[]).await;
    c.register().await;
    c.run(task("t1", "exec sleep 60"), false);
    testing::settle().await;
    c.master_sends(KillTask {
        framework_id: FrameworkId::new(FRAMEWORK_ID),
        task_id: TaskId::new("t1"),
        grace_period: None,
    });
    c.expect_states("t1", &[TaskState::Killed]).await;
    let killed = updates(&c.to_master, "t1");
    assert_eq!(
        killed[0].status.reason,
        Some(Reason::TaskKilledDuringLaunch)
    );
    // The executor never registered: its container is killed at once, and
    // the master hears that the executor exited.
    let log = c.to_master.clone();
    assert!(
        wait_until(DEADLINE, || log
            .all()
            .iter()
            .any(|m| matches!(m, ToMaster::ExitedExecutor(_))))
        .await,
        "the master did not hear of the executor's exit"
    );
}

#[actix::test]
async fn an_unknown_task_is_reported_lost_when_killed() {
    let c = Cluster::start(&[]).await;
    c.register().await;
    c.master_sends(KillTask {
        framework_id: FrameworkId::new(FRAMEWORK_ID),
        task_id: TaskId::new("nowhere"),
        grace_period: None,
    });
    c.expect_states("nowhere", &[TaskState::Lost]).await;
    assert_eq!(
        updates(&c.to_master, "nowhere")[0].status.reason,
        Some(Reason::TaskUnknown)
    );
}

#[actix::test]
async fn an_executor_update_is_acknowledged_to_it_and_relayed_to_the_master() {
    let c = Cluster::start(&[]).await;
    c.register().await;
    c.run(task("t1", "exec sleep 60"), false);
    c.register_executor().await;
    c.executor_update("t1", TaskState::Running, 1);
    c.expect_states("t1", &[TaskState::Running]).await;
    let relayed = updates(&c.to_master, "t1");
    assert_eq!(relayed[0].agent_id, Some(AgentId::new(AGENT_ID)));
    assert_eq!(relayed[0].latest_state, Some(TaskState::Running));
    let log = c.to_executor.clone();
    assert!(wait_until(DEADLINE, || !acks(&log).is_empty()).await);
    assert_eq!(acks(&c.to_executor)[0].uuid, vec![1; 16]);
}

#[actix::test]
async fn an_unacknowledged_update_is_resent_until_the_master_acknowledges_it() {
    testing::pause();
    let c = Cluster::start(&[]).await;
    c.register().await;
    c.run(task("t1", "exec sleep 60"), false);
    c.register_executor().await;
    c.executor_update("t1", TaskState::Running, 1);
    c.executor_update("t1", TaskState::Finished, 2);
    testing::settle().await;
    // Only the head of the stream is in flight.
    c.expect_states("t1", &[TaskState::Running]).await;

    testing::advance(RETRY_MIN + Duration::from_millis(10)).await;
    c.expect_states("t1", &[TaskState::Running, TaskState::Running])
        .await;

    // Acknowledged: the next update goes out, the first is never resent.
    c.master_ack("t1", vec![1; 16]);
    testing::settle().await;
    c.expect_states(
        "t1",
        &[TaskState::Running, TaskState::Running, TaskState::Finished],
    )
    .await;
    c.master_ack("t1", vec![2; 16]);
    testing::settle().await;
    testing::advance(RETRY_MIN * 4).await;
    c.expect_states(
        "t1",
        &[TaskState::Running, TaskState::Running, TaskState::Finished],
    )
    .await;
}

#[actix::test]
async fn an_executor_exit_fails_its_unfinished_tasks_and_tells_the_master() {
    let c = Cluster::start(&[]).await;
    c.register().await;
    c.run(
        task("t1", "echo $$ > $MESOS_SANDBOX/pid; exec sleep 60"),
        false,
    );
    let pid = read_pid(&c.sandbox().join("pid")).await;
    c.register_executor().await;
    c.executor_update("t1", TaskState::Running, 1);
    c.expect_states("t1", &[TaskState::Running]).await;
    // Acknowledged, so that the next update is the head of the stream.
    c.master_ack("t1", vec![1; 16]);
    testing::settle().await;

    kill(pid);
    c.expect_states("t1", &[TaskState::Running, TaskState::Failed])
        .await;
    let failed = updates(&c.to_master, "t1");
    assert_eq!(failed[1].status.reason, Some(Reason::ExecutorTerminated));
    let log = c.to_master.clone();
    let exited = |log: &Log<ToMaster>| {
        log.matching(|m| match m {
            ToMaster::ExitedExecutor(e) => Some(e.clone()),
            _ => None,
        })
    };
    assert!(wait_until(DEADLINE, || !exited(&log).is_empty()).await);
    assert_eq!(exited(&c.to_master)[0].executor_id.as_str(), EXECUTOR_ID);
}

#[actix::test]
async fn a_restarted_agent_takes_back_a_live_executor_and_reregisters() {
    let c = Cluster::start(&[]).await;
    c.register().await;
    c.run(task("t1", "exec sleep 60"), true);
    c.register_executor().await;
    c.executor_update("t1", TaskState::Running, 1);
    c.expect_states("t1", &[TaskState::Running]).await;

    // A second agent process reads what the first one checkpointed, as a
    // restarted agent does (the first keeps running: stopping it would
    // kill the container it holds).
    let recovered = checkpoint::recover(c.work_dir.path())
        .expect("checkpoint readable")
        .expect("something checkpointed");
    assert_eq!(recovered.agent.id, Some(AgentId::new(AGENT_ID)));
    let to_master = Log::new();
    let master = c
        .node
        .spawn("master2", FakeMaster(to_master.clone()))
        .expect("second master")
        .pid()
        .clone();
    let flags = agent_flags(c.work_dir.path(), &[]);
    let restarted = c
        .node
        .spawn(
            "slave(2)",
            Agent::new(flags, agent_info(&c.node), master.clone()).with_checkpoint(Some(recovered)),
        )
        .expect("restarted agent")
        .pid()
        .clone();

    // It asks the executor to reconnect, and registers with the master only
    // once the executor did.
    let log = c.to_executor.clone();
    let reconnects = |log: &Log<ToExecutor>| {
        log.matching(|m| match m {
            ToExecutor::Reconnect(r) => Some(r.agent_id.clone()),
            _ => None,
        })
    };
    assert!(
        wait_until(DEADLINE, || !reconnects(&log).is_empty()).await,
        "the restarted agent did not ask its executor to reconnect"
    );
    assert_eq!(reconnects(&c.to_executor), vec![AgentId::new(AGENT_ID)]);
    testing::settle().await;
    assert!(
        reregistrations(&to_master).is_empty(),
        "re-registered before its executor was back"
    );
    c.node.send(
        &c.executor,
        &restarted,
        ReregisterExecutor {
            framework_id: FrameworkId::new(FRAMEWORK_ID),
            executor_id: ExecutorId::new(EXECUTOR_ID),
            tasks: vec![task("t1", "exec sleep 60")],
            updates: Vec::new(),
        },
    );
    assert!(
        wait_until(DEADLINE, || log.all().iter().any(
            |m| matches!(m, ToExecutor::Reregistered(r) if r.agent_id.as_str() == AGENT_ID)
        ))
        .await,
        "the executor was not greeted again"
    );
    let log = to_master.clone();
    assert!(
        wait_until(DEADLINE, || !reregistrations(&log).is_empty()).await,
        "the restarted agent did not re-register"
    );
    let again = reregistrations(&to_master);
    assert_eq!(again[0].info.id, Some(AgentId::new(AGENT_ID)));
    let tasks: Vec<&str> = again[0].tasks.iter().map(|t| t.task_id.as_str()).collect();
    assert_eq!(tasks, vec!["t1"]);
    assert!(registrations(&to_master).is_empty());
}

#[actix::test]
async fn a_restarted_agent_fails_the_tasks_of_an_executor_that_is_gone() {
    let c = Cluster::start(&[]).await;
    c.register().await;
    c.run(
        task("t1", "echo $$ > $MESOS_SANDBOX/pid; exec sleep 60"),
        true,
    );
    let pid = read_pid(&c.sandbox().join("pid")).await;
    c.register_executor().await;
    c.executor_update("t1", TaskState::Running, 1);
    c.expect_states("t1", &[TaskState::Running]).await;
    c.master_ack("t1", vec![1; 16]);
    testing::settle().await;
    // Read before the exit is seen, as a checkpoint of a crashed agent.
    let recovered = checkpoint::recover(c.work_dir.path())
        .expect("checkpoint readable")
        .expect("something checkpointed");
    kill(pid);
    c.expect_states("t1", &[TaskState::Running, TaskState::Failed])
        .await;

    let to_master = Log::new();
    let master = c
        .node
        .spawn("master2", FakeMaster(to_master.clone()))
        .expect("second master")
        .pid()
        .clone();
    let other = tempfile::tempdir().expect("work_dir");
    let flags = agent_flags(other.path(), &[]);
    let restarted = c
        .node
        .spawn(
            "slave(2)",
            Agent::new(flags, agent_info(&c.node), master.clone()).with_checkpoint(Some(recovered)),
        )
        .expect("restarted agent")
        .pid()
        .clone();
    let log = to_master.clone();
    assert!(
        wait_until(DEADLINE, || !reregistrations(&log).is_empty()).await,
        "the restarted agent did not re-register"
    );
    assert!(
        updates(&to_master, "t1").is_empty(),
        "an update went out before the master took the agent back"
    );
    c.node.send(
        &master,
        &restarted,
        AgentReregistered {
            agent_id: AgentId::new(AGENT_ID),
            total_ping_timeout_seconds: 1000.0,
        },
    );
    assert!(wait_until(DEADLINE, || !updates(&log, "t1").is_empty()).await);
    let failed = updates(&to_master, "t1");
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].status.state, TaskState::Failed);
    assert_eq!(failed[0].status.reason, Some(Reason::ExecutorTerminated));
}

#[actix::test]
async fn an_agent_the_master_stops_pinging_registers_again() {
    testing::pause();
    let c = Cluster::start(&[]).await;
    c.register_with_ping_timeout(30.0).await;
    c.master_sends(PingAgent { connected: true });
    testing::advance(Duration::from_secs(20)).await;
    assert!(
        reregistrations(&c.to_master).is_empty(),
        "re-registered while the master pings"
    );
    // The ping restarted the watchdog: 30 s from it, not from registering.
    testing::advance(Duration::from_secs(11)).await;
    let log = c.to_master.clone();
    assert!(
        wait_until(DEADLINE, || !reregistrations(&log).is_empty()).await,
        "the agent did not register again without pings"
    );
    assert_eq!(
        reregistrations(&c.to_master)[0].info.id,
        Some(AgentId::new(AGENT_ID))
    );
}

#[actix::test]
async fn an_executor_that_never_registers_is_destroyed_and_its_tasks_fail() {
    let c = Cluster::start(&["--executor_registration_timeout=60secs"]).await;
    c.register().await;
    c.run(
        task("t1", "echo $$ > $MESOS_SANDBOX/pid; exec sleep 60"),
        false,
    );
    // The container runs in real time: the clock stops only once it has
    // started (a paused clock jumps ahead while the test polls for it), a
    // few real seconds at most into the 60 s timeout.
    let pid = read_pid(&c.sandbox().join("pid")).await;
    testing::pause();
    testing::advance(Duration::from_secs(30)).await;
    assert!(updates(&c.to_master, "t1").is_empty(), "failed too early");

    testing::advance(Duration::from_secs(31)).await;
    c.expect_states("t1", &[TaskState::Failed]).await;
    assert_eq!(
        updates(&c.to_master, "t1")[0].status.reason,
        Some(Reason::ExecutorRegistrationTimeout)
    );
    let log = c.to_master.clone();
    assert!(
        wait_until(DEADLINE, || log
            .all()
            .iter()
            .any(|m| matches!(m, ToMaster::ExitedExecutor(_))))
        .await,
        "the destroyed executor's exit was not reported"
    );
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}/cmdline")).exists()
            || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|s| s.contains(") Z")),
        "the container still runs"
    );
}
