//! The master process in one node with fake agents: what it does with
//! agents that write to it between its election and the recovery of its
//! registry.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actors::testing::{self, wait_until};
use actors::{Cx, Handle, Install, Node, Pid, Process};
use tokio::sync::Notify;
use wire::agent::{AgentRegistered, AgentReregistered, RegisterAgent, ReregisterAgent};
use wire::ids::AgentId;
use wire::mesos::{AgentInfo, MasterInfo};
use wire::resources::Resources;

use super::process::{Elected, LeaderChanged};
use super::{Master, MasterFlags, MASTER_ID};
use crate::registrar::store::StoreFuture;
use crate::registrar::{InMemoryStore, Store};

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
}

type Log = Arc<Mutex<Vec<Heard>>>;

struct FakeAgent(Log);

impl Process for FakeAgent {
    fn install(i: &mut Install<Self>) {
        i.message::<AgentRegistered>()
            .message::<AgentReregistered>();
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

/// A master that leads only once told `Elected` (it has `--zk`), over a
/// registry that recovers only once the returned gate is opened.
fn spawn_master(node: &Node) -> (Pid, MasterInfo, Arc<Notify>) {
    let mut flags = MasterFlags::defaults();
    flags.zk = Some("zk://127.0.0.1:1/mesos".into());
    let address = node.address();
    let info = MasterInfo {
        id: "m1".into(),
        ip: address.ip().to_string(),
        port: address.port(),
        pid: format!("{MASTER_ID}@{address}"),
        hostname: "localhost".into(),
        version: wire::mesos::VERSION.into(),
    };
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
    node.send_local(&master, &master, LeaderChanged(Some(info)));
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
