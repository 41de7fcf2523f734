//! The master process in one node with fake agents: what it does with
//! agents that write to it between its election and the recovery of its
//! registry.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actors::testing::{self, wait_until};
use actors::{Cx, Handle, Install, Node, Pid, Process};
use tokio::sync::Notify;
use wire::agent::{
    AgentRegistered, AgentReregistered, RegisterAgent, ReregisterAgent, ShutdownFramework,
    StatusUpdateMessage,
};
use wire::ids::{AgentId, FrameworkId, TaskId};
use wire::mesos::{AgentInfo, FrameworkInfo, MasterInfo, Task};
use wire::registry::{Operation as RegistryOp, Registry};
use wire::resources::Resources;
use wire::scheduler::{AgentLost, FrameworkRegistered, Reconcile, Subscribe, Teardown};
use wire::task::{Reason, TaskState};

use super::flags::MIN_AGENT_REREGISTER_TIMEOUT;
use super::process::Elected;
use super::{Master, MasterFlags, MASTER_ID};
use crate::registrar::store::StoreFuture;
use crate::registrar::{InMemoryStore, Store};
use crate::stop::{self, StopReason};
use crate::zookeeper::LeaderDetected;

const DEADLINE: Duration = Duration::from_secs(10);

/// An in-memory registry whose first fetch waits until the test opens it.
struct GatedStore {
    inner: InMemoryStore,
    gate: Arc<Notify>,
}

impl Store for GatedStore {
    fn fetch(&mut self) -> StoreFuture<Option<Vec<u8>>> {
        let (gate, fetch) = (self.gate.clone(), self.inner.fetch());
        Box::pin(async move {
            gate.notified().await;
            fetch.await
        })
    }

    fn store(&mut self, bytes: Vec<u8>) -> StoreFuture<()> {
        self.inner.store(bytes)
    }
}

/// What a fake agent heard from the master.
#[derive(Debug, Clone, PartialEq)]
enum Heard {
    Registered(AgentId),
    Reregistered(AgentId),
    Shutdown(FrameworkId),
}

type Log = Arc<Mutex<Vec<Heard>>>;

struct FakeAgent(Log);

impl Process for FakeAgent {
    fn install(i: &mut Install<Self>) {
        i.message::<AgentRegistered>()
            .message::<AgentReregistered>()
            .message::<ShutdownFramework>();
    }
}

impl Handle<AgentRegistered> for FakeAgent {
    fn handle(&mut self, m: AgentRegistered, _: &Pid, _: &mut Cx<'_, Self>) {
        self.0.lock().unwrap().push(Heard::Registered(m.agent_id));
    }
}

impl Handle<AgentReregistered> for FakeAgent {
    fn handle(&mut self, m: AgentReregistered, _: &Pid, _: &mut Cx<'_, Self>) {
        self.0.lock().unwrap().push(Heard::Reregistered(m.agent_id));
    }
}

impl Handle<ShutdownFramework> for FakeAgent {
    fn handle(&mut self, m: ShutdownFramework, _: &Pid, _: &mut Cx<'_, Self>) {
        self.0.lock().unwrap().push(Heard::Shutdown(m.framework_id));
    }
}

fn agent_info(id: Option<&str>) -> AgentInfo {
    AgentInfo {
        hostname: "localhost".into(),
        port: 5051,
        resources: Resources::parse("cpus:1;mem:128", "*").unwrap(),
        attributes: Vec::new(),
        id: id.map(AgentId::new),
    }
}

fn heard(log: &Log) -> Vec<Heard> {
    log.lock().unwrap().clone()
}

/// MasterInfo for a master on `node`.
fn master_info(node: &Node) -> MasterInfo {
    let address = node.address();
    MasterInfo {
        id: "m1".into(),
        ip: address.ip().to_string(),
        port: address.port(),
        pid: format!("{MASTER_ID}@{address}"),
        hostname: "localhost".into(),
        version: wire::mesos::VERSION.into(),
    }
}

/// A master that leads only once told `Elected` (it has `--zk`), over a
/// registry that recovers only once the returned gate is opened.
fn spawn_master(node: &Node) -> (Pid, MasterInfo, Arc<Notify>) {
    let mut flags = MasterFlags::defaults();
    flags.zk = Some("zk://127.0.0.1:1/mesos".into());
    let info = master_info(node);
    let gate = Arc::new(Notify::new());
    let store = GatedStore {
        inner: InMemoryStore::default(),
        gate: gate.clone(),
    };
    let master = node
        .spawn(MASTER_ID, Master::new(flags, info.clone(), Box::new(store)))
        .unwrap();
    (master.pid().clone(), info, gate)
}

#[actix::test]
async fn a_leading_master_that_detects_another_leader_stops_saying_it_conceded() {
    let node = testing::cluster(1).await.unwrap().remove(0);
    let mut flags = MasterFlags::defaults();
    flags.zk = Some("zk://127.0.0.1:1/mesos".into());
    let info = master_info(&node);
    let (notice, mut stops) = stop::channel();
    let master = Master::new(flags, info.clone(), Box::new(InMemoryStore::default()))
        .with_stop_notice(notice);
    let master = node.spawn(MASTER_ID, master).unwrap().pid().clone();
    node.send_local(&master, &master, Elected);
    // Itself as the leader changes nothing.
    node.send_local(
        &master,
        &master,
        LeaderDetected {
            leader: Some(info.clone()),
        },
    );
    testing::settle().await;
    assert!(stops.try_next().is_none(), "stopped while leading");
    let other = MasterInfo {
        id: "m2".into(),
        ..info
    };
    node.send_local(
        &master,
        &master,
        LeaderDetected {
            leader: Some(other),
        },
    );
    let stopped = tokio::time::timeout(Duration::from_secs(10), stops.next())
        .await
        .expect("the master did not say it stopped")
        .expect("the master's notice is gone");
    assert_eq!(stopped.process, master);
    assert_eq!(stopped.reason, StopReason::ConcededLeadership);
}

#[actix::test]
async fn registrations_during_recovery_are_answered_once_recovered() {
    let node = testing::cluster(1).await.unwrap().remove(0);
    let (master, info, gate) = spawn_master(&node);
    let logs: Vec<Log> = (0..3).map(|_| Log::default()).collect();
    let agents: Vec<Pid> = logs
        .iter()
        .enumerate()
        .map(|(n, log)| {
            node.spawn(format!("agent{n}"), FakeAgent(log.clone()))
                .unwrap()
                .pid()
                .clone()
        })
        .collect();
    let reregister = |id: &str| ReregisterAgent {
        info: agent_info(Some(id)),
        version: wire::mesos::VERSION.into(),
        tasks: Vec::new(),
        executors: Vec::new(),
        frameworks: Vec::new(),
    };

    // Before the election: a master that does not lead drops it.
    node.send(&agents[0], &master, reregister("early"));
    testing::settle().await;
    // Detected as the leader before the election's own notice: held...
    node.send_local(&master, &master, LeaderDetected { leader: Some(info) });
    node.send(&agents[1], &master, reregister("a1-old"));
    testing::settle().await;
    // ...and elected, recovering: held, not answered yet, and a retry
    // replaces what the same agent sent before.
    node.send_local(&master, &master, Elected);
    node.send(&agents[1], &master, reregister("a1"));
    node.send(
        &agents[2],
        &master,
        RegisterAgent {
            info: agent_info(None),
            version: wire::mesos::VERSION.into(),
        },
    );
    testing::settle().await;
    assert!(logs.iter().all(|l| heard(l).is_empty()));

    gate.notify_one();
    assert!(
        wait_until(DEADLINE, || !heard(&logs[1]).is_empty()
            && !heard(&logs[2]).is_empty())
        .await,
        "held registrations were not answered after recovery"
    );
    assert_eq!(
        heard(&logs[1]),
        vec![Heard::Reregistered(AgentId::new("a1"))]
    );
    assert!(matches!(heard(&logs[2]).as_slice(), [Heard::Registered(_)]));
    testing::settle().await;
    assert!(
        heard(&logs[0]).is_empty(),
        "a message to a follower was kept"
    );
    assert_eq!(
        heard(&logs[1]).len(),
        1,
        "the replaced retry was answered too"
    );
}

/// A fake agent `process` (running nothing) re-registers as agent `id`.
fn agent_returns(node: &Node, master: &Pid, process: &str, id: &str) {
    let agent = node
        .spawn(process, FakeAgent(Log::default()))
        .unwrap()
        .pid()
        .clone();
    node.send(
        &agent,
        master,
        ReregisterAgent {
            info: agent_info(Some(id)),
            version: wire::mesos::VERSION.into(),
            tasks: Vec::new(),
            executors: Vec::new(),
            frameworks: Vec::new(),
        },
    );
}

/// A registry store admitting agents `ids`, as a previous leader left it.
async fn registry_admitting(ids: &[&str]) -> InMemoryStore {
    let mut registry = Registry::default();
    for id in ids {
        RegistryOp::AdmitAgent(agent_info(Some(id)))
            .apply(&mut registry)
            .unwrap();
    }
    let mut store = InMemoryStore::default();
    let _ = store.store(postcard::to_allocvec(&registry).unwrap()).await;
    store
}

/// What a fake scheduler heard from the master.
#[derive(Debug, Clone, PartialEq)]
enum Told {
    Registered(FrameworkId),
    AgentLost(AgentId),
    Update(TaskId, TaskState),
    /// An update with its reason and message.
    Detailed(TaskId, TaskState, Option<Reason>, Option<String>),
}

struct FakeScheduler(Arc<Mutex<Vec<Told>>>);

impl Process for FakeScheduler {
    fn install(i: &mut Install<Self>) {
        i.message::<FrameworkRegistered>()
            .message::<AgentLost>()
            .message::<StatusUpdateMessage>();
    }
}

impl Handle<FrameworkRegistered> for FakeScheduler {
    fn handle(&mut self, m: FrameworkRegistered, _: &Pid, _: &mut Cx<'_, Self>) {
        self.0
            .lock()
            .unwrap()
            .push(Told::Registered(m.framework_id));
    }
}

impl Handle<AgentLost> for FakeScheduler {
    fn handle(&mut self, m: AgentLost, _: &Pid, _: &mut Cx<'_, Self>) {
        self.0.lock().unwrap().push(Told::AgentLost(m.agent_id));
    }
}

impl Handle<StatusUpdateMessage> for FakeScheduler {
    fn handle(&mut self, m: StatusUpdateMessage, _: &Pid, _: &mut Cx<'_, Self>) {
        let status = m.update.status;
        let mut told = self.0.lock().unwrap();
        told.push(Told::Detailed(
            status.task_id.clone(),
            status.state,
            status.reason,
            status.message,
        ));
        told.push(Told::Update(status.task_id, status.state));
    }
}

#[actix::test]
async fn agents_that_do_not_come_back_in_time_become_unreachable() {
    testing::pause();
    let node = testing::cluster(1).await.unwrap().remove(0);
    // A registry that admits one agent, as a previous leader left it.
    let away = AgentId::new("away");
    let mut store = registry_admitting(&["away"]).await;
    let master = node
        .spawn(
            MASTER_ID,
            Master::new(
                MasterFlags::defaults(),
                master_info(&node),
                Box::new(store.clone()),
            ),
        )
        .unwrap()
        .pid()
        .clone();
    // Once the master has recovered (it drops what comes before).
    testing::settle().await;
    let (scheduler, told, framework) = subscribed(&node, &master, "waiting").await;
    let reconcile = || Reconcile {
        framework_id: framework.clone(),
        tasks: vec![(TaskId::new("t1"), Some(away.clone()))],
    };

    // Within the timeout: the agent may come back, so no answer.
    node.send(&scheduler, &master, reconcile());
    testing::advance(MIN_AGENT_REREGISTER_TIMEOUT - Duration::from_secs(1)).await;
    testing::settle().await;
    assert_eq!(told.lock().unwrap().len(), 1, "{:?}", told.lock().unwrap());

    // Past it: unreachable, in the registry too; frameworks hear of it and
    // reconciliation answers TASK_LOST (the framework is not partition-aware).
    testing::advance(Duration::from_secs(2)).await;
    testing::settle().await;
    assert!(told
        .lock()
        .unwrap()
        .contains(&Told::AgentLost(away.clone())));
    node.send(&scheduler, &master, reconcile());
    testing::settle().await;
    assert_eq!(
        told.lock().unwrap().last(),
        Some(&Told::Update(TaskId::new("t1"), TaskState::Lost))
    );
    let stored: Registry = postcard::from_bytes(&store.fetch().await.unwrap().unwrap()).unwrap();
    assert!(stored.agents.is_empty());
    assert_eq!(
        stored
            .unreachable
            .iter()
            .map(|(id, _)| id)
            .collect::<Vec<_>>(),
        vec![&away]
    );
}

/// Spawns a fake scheduler and subscribes it (the master must have
/// recovered: it drops what comes before); returns its pid, what it heard,
/// and its framework id.
async fn subscribed(
    node: &Node,
    master: &Pid,
    name: &str,
) -> (Pid, Arc<Mutex<Vec<Told>>>, FrameworkId) {
    let told = Arc::new(Mutex::new(Vec::new()));
    let process_id = name.replace(|c: char| !c.is_ascii_alphanumeric(), "-");
    let pid = node
        .spawn(process_id, FakeScheduler(told.clone()))
        .unwrap()
        .pid()
        .clone();
    node.send(
        &pid,
        master,
        Subscribe {
            framework: FrameworkInfo::new("root", name),
            force: false,
        },
    );
    let registered = || {
        told.lock().unwrap().iter().find_map(|t| match t {
            Told::Registered(id) => Some(id.clone()),
            _ => None,
        })
    };
    assert!(wait_until(DEADLINE, || registered().is_some()).await);
    let id = registered().expect("registered");
    (pid, told, id)
}

#[actix::test]
async fn an_unreachable_agent_that_returns_brings_its_tasks_back_and_removed_frameworks_down() {
    testing::pause();
    let node = testing::cluster(1).await.unwrap().remove(0);
    let store = InMemoryStore::default();
    let process = node
        .spawn(
            MASTER_ID,
            Master::new(MasterFlags::defaults(), master_info(&node), Box::new(store)),
        )
        .unwrap();
    let master = process.pid().clone();
    testing::settle().await;
    let (_, told, live) = subscribed(&node, &master, "live").await;
    let (gone_pid, _, gone) = subscribed(&node, &master, "gone").await;
    node.send(
        &gone_pid,
        &master,
        Teardown {
            framework_id: gone.clone(),
        },
    );
    let heard = Log::default();
    let agent = node
        .spawn("slave(1)", FakeAgent(heard.clone()))
        .unwrap()
        .pid()
        .clone();
    node.send(
        &agent,
        &master,
        RegisterAgent {
            info: agent_info(None),
            version: wire::mesos::VERSION.into(),
        },
    );
    testing::settle().await;
    let id = match heard.lock().unwrap().first() {
        Some(Heard::Registered(id)) => id.clone(),
        other => panic!("not registered: {other:?}"),
    };
    // The fake agent answers no ping: after 5 pings 15 s apart it is
    // unreachable (steps of 16 s: a timer fires just after its due time).
    for _ in 0..8 {
        testing::advance(Duration::from_secs(16)).await;
    }
    let unreachable = process
        .call(|m, _| m.state().unreachable().len())
        .await
        .unwrap();
    assert!(
        told.lock().unwrap().contains(&Told::AgentLost(id.clone())),
        "{:?} unreachable {unreachable}",
        told.lock().unwrap()
    );

    // It comes back reporting a task of each framework.
    let task = |framework: &FrameworkId, name: &str| Task {
        name: name.into(),
        task_id: TaskId::new(name),
        framework_id: framework.clone(),
        executor_id: None,
        agent_id: id.clone(),
        state: TaskState::Running,
        resources: Resources::parse("cpus:0.1;mem:32", "*").unwrap(),
        statuses: Vec::new(),
        status_update_state: Some(TaskState::Running),
        status_update_uuid: None,
        role: "*".into(),
        meta: Default::default(),
    };
    let framework = |fid: &FrameworkId, name: &str| {
        let mut info = FrameworkInfo::new("root", name);
        info.id = Some(fid.clone());
        info
    };
    node.send(
        &agent,
        &master,
        ReregisterAgent {
            info: agent_info(Some(&id.value)),
            version: wire::mesos::VERSION.into(),
            tasks: vec![task(&live, "live-task"), task(&gone, "gone-task")],
            executors: Vec::new(),
            frameworks: vec![framework(&live, "live"), framework(&gone, "gone")],
        },
    );
    testing::settle().await;
    assert_eq!(
        heard.lock().unwrap().clone()[1..],
        [
            Heard::Reregistered(id.clone()),
            Heard::Shutdown(gone.clone())
        ]
    );
    assert!(told.lock().unwrap().contains(&Told::Detailed(
        TaskId::new("live-task"),
        TaskState::Running,
        Some(Reason::AgentReregistered),
        Some("Unreachable agent re-reregistered".into()),
    )));
    // The master holds the live task again, and not the removed framework.
    let (live_tasks, revived) = process
        .call(move |m, _| {
            let state = m.state();
            let tasks: Vec<(TaskId, TaskState)> = state.frameworks()[&live]
                .tasks()
                .values()
                .map(|t| (t.task_id.clone(), t.state))
                .collect();
            (tasks, state.frameworks().contains_key(&gone))
        })
        .await
        .unwrap();
    assert_eq!(live_tasks, [(TaskId::new("live-task"), TaskState::Running)]);
    assert!(!revived, "a removed framework came back");
}

/// Polls the node's snapshot (collectors included) until `key` reads
/// `value`; returns the last snapshot.
async fn wait_metric(node: &Node, key: &str, value: f64) -> BTreeMap<String, f64> {
    let end = std::time::Instant::now() + DEADLINE;
    loop {
        let m = node.metrics().snapshot_with_collectors(DEADLINE).await;
        if m.get(key) == Some(&value) || std::time::Instant::now() >= end {
            return m;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[actix::test]
async fn per_framework_metrics_follow_calls_and_events_and_leave_with_the_framework() {
    let node = testing::cluster(1).await.unwrap().remove(0);
    let process = node
        .spawn(
            MASTER_ID,
            Master::new(
                MasterFlags::defaults(),
                master_info(&node),
                Box::new(InMemoryStore::default()),
            ),
        )
        .unwrap();
    let master = process.pid().clone();
    let mut recovered = false;
    for _ in 0..500 {
        recovered = process.call(|m, _| m.is_recovered()).await == Some(true);
        if recovered {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(recovered);
    let (scheduler, _, id) = subscribed(&node, &master, "my framework/x").await;
    node.send(
        &scheduler,
        &master,
        Reconcile {
            framework_id: id.clone(),
            tasks: Vec::new(),
        },
    );
    let prefix = format!("master/frameworks/my%20framework%2Fx/{id}/");
    let metrics = wait_metric(&node, &format!("{prefix}calls/reconcile"), 1.0).await;
    let get = |k: &str| metrics.get(&format!("{prefix}{k}")).copied();
    assert_eq!(get("calls/reconcile"), Some(1.0), "{metrics:?}");
    assert_eq!(get("subscribed"), Some(1.0));
    assert_eq!(get("calls/subscribe"), Some(1.0));
    assert_eq!(get("calls"), Some(2.0));
    assert_eq!(get("events/subscribed"), Some(1.0));
    assert_eq!(get("events"), Some(1.0));
    assert_eq!(get("offers/sent"), Some(0.0));
    assert_eq!(get("tasks/active/task_running"), Some(0.0));
    assert_eq!(get("tasks/terminal/task_finished"), Some(0.0));

    node.send(
        &scheduler,
        &master,
        Teardown {
            framework_id: id.clone(),
        },
    );
    let mut gone = false;
    for _ in 0..500 {
        let m = node.metrics().snapshot_with_collectors(DEADLINE).await;
        if !m.keys().any(|k| k.starts_with(&prefix)) {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(gone, "the framework's metrics outlived it");
}

/// A master recovering a registry of agents `a1` and `a2`, with
/// `--recovery_agent_removal_limit` at `limit`, where only `a1` comes back:
/// what a subscribed framework heard, the registry, and whether the master
/// still runs, once the re-register timeout has passed.
async fn one_of_two_agents_back(limit: f64) -> (Vec<Told>, Registry, bool) {
    let node = testing::cluster(1).await.unwrap().remove(0);
    let mut store = registry_admitting(&["a1", "a2"]).await;
    let mut flags = MasterFlags::defaults();
    flags.recovery_agent_removal_limit = limit;
    let process = node
        .spawn(
            MASTER_ID,
            Master::new(flags, master_info(&node), Box::new(store.clone())),
        )
        .unwrap();
    let master = process.pid().clone();
    testing::settle().await;
    let (_, told, _) = subscribed(&node, &master, "watching").await;
    agent_returns(&node, &master, "slave(1)", "a1");
    testing::settle().await;
    testing::advance(MIN_AGENT_REREGISTER_TIMEOUT + Duration::from_secs(1)).await;
    let stored = postcard::from_bytes(&store.fetch().await.unwrap().unwrap()).unwrap();
    let told = told.lock().unwrap().clone();
    testing::settle().await;
    (told, stored, process.is_alive())
}

#[actix::test]
async fn within_the_removal_limit_missing_agents_become_unreachable() {
    testing::pause();
    let (told, stored, running) = one_of_two_agents_back(0.5).await;
    assert!(running);
    assert!(told.contains(&Told::AgentLost(AgentId::new("a2"))));
    assert_eq!(stored.unreachable.len(), 1);
    assert_eq!(stored.agents.len(), 1);
}

#[actix::test]
async fn beyond_the_removal_limit_the_master_exits_and_forgets_no_agent() {
    testing::pause();
    let (told, stored, running) = one_of_two_agents_back(0.4).await;
    assert!(!running, "the master went on");
    assert!(!told.iter().any(|t| matches!(t, Told::AgentLost(_))));
    assert!(stored.unreachable.is_empty());
    assert_eq!(stored.agents.len(), 2);
}

#[actix::test]
async fn the_removal_rate_limit_spaces_removals_and_spares_agents_that_come_back() {
    testing::pause();
    let node = testing::cluster(1).await.unwrap().remove(0);
    let mut store = registry_admitting(&["a1", "a2", "a3"]).await;
    let mut flags = MasterFlags::defaults();
    flags.agent_removal_interval = Some(Duration::from_secs(60));
    let master = node
        .spawn(
            MASTER_ID,
            Master::new(flags, master_info(&node), Box::new(store.clone())),
        )
        .unwrap()
        .pid()
        .clone();
    testing::settle().await;
    let (_, told, _) = subscribed(&node, &master, "watching").await;
    let lost = || -> Vec<AgentId> {
        told.lock()
            .unwrap()
            .iter()
            .filter_map(|t| match t {
                Told::AgentLost(id) => Some(id.clone()),
                _ => None,
            })
            .collect()
    };
    // None comes back in time: the first goes at once...
    testing::advance(MIN_AGENT_REREGISTER_TIMEOUT + Duration::from_secs(1)).await;
    assert_eq!(lost(), [AgentId::new("a1")]);
    // ...a3 returns while waiting its turn...
    agent_returns(&node, &master, "slave(3)", "a3");
    testing::settle().await;
    // ...a2 goes a minute later, and a3 is spared.
    testing::advance(Duration::from_secs(30)).await;
    assert_eq!(lost().len(), 1, "a removal came before its permit");
    testing::advance(Duration::from_secs(31)).await;
    assert_eq!(lost(), [AgentId::new("a1"), AgentId::new("a2")]);
    testing::advance(Duration::from_secs(61)).await;
    assert_eq!(lost().len(), 2);
    let metrics = node.metrics().snapshot();
    assert_eq!(metrics["master/slave_unreachable_scheduled"], 3.0);
    assert_eq!(metrics["master/slave_unreachable_completed"], 2.0);
    assert_eq!(metrics["master/slave_unreachable_canceled"], 1.0);
    let stored: Registry = postcard::from_bytes(&store.fetch().await.unwrap().unwrap()).unwrap();
    assert_eq!(stored.unreachable.len(), 2);
    assert!(stored.agents.contains_key(&AgentId::new("a3")));
}
