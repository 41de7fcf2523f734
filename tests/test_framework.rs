//! The `test_framework` example against a scripted master that offers
//! small agents one at a time and finishes every task it is given.

mod common;

use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actors::{Cx, Handle, Install, Node, NodeConfig, Pid, Process};
use wire::agent::StatusUpdateMessage;
use wire::ids::{AgentId, FrameworkId, OfferId};
use wire::mesos::{MasterInfo, Offer, StatusUpdate, TaskStatus};
use wire::resources::Resources;
use wire::scheduler::{
    Accept, Acknowledge, Decline, FrameworkRegistered, ResourceOffers, Subscribe, Suppress,
    Teardown,
};
use wire::task::TaskState;

const DEADLINE: Duration = Duration::from_secs(60);

#[derive(Default)]
struct Log {
    /// Tasks per Accept, in order.
    launches: Vec<Vec<String>>,
    acks: usize,
    teardowns: usize,
}

/// Offers one agent at a time (`cpus:0.3;mem:1000`), and another after
/// each launch; finishes every task at once, failing `fail` if set.
struct ScriptedMaster {
    log: Arc<Mutex<Log>>,
    offers: u32,
    fail: Option<String>,
}

impl ScriptedMaster {
    fn offer(&mut self, to: &Pid, cx: &mut Cx<'_, Self>) {
        self.offers += 1;
        let n = self.offers;
        cx.send(
            to,
            ResourceOffers {
                offers: vec![Offer {
                    id: OfferId::new(format!("o{n}")),
                    framework_id: FrameworkId::new("fw-1"),
                    agent_id: AgentId::new(format!("a{n}")),
                    hostname: format!("host{n}"),
                    agent_pid: "slave(1)@127.0.0.1:5051".into(),
                    resources: Resources::parse("cpus:0.3;mem:1000", "*").unwrap(),
                    attributes: Vec::new(),
                    executor_ids: Vec::new(),
                    role: "*".into(),
                    unavailability: None,
                }],
            },
        );
    }
}

impl Process for ScriptedMaster {
    fn install(i: &mut Install<Self>) {
        i.message::<Subscribe>()
            .message::<Accept>()
            .message::<Decline>()
            .message::<Suppress>()
            .message::<Acknowledge>()
            .message::<Teardown>();
    }
}

impl Handle<Subscribe> for ScriptedMaster {
    fn handle(&mut self, _: Subscribe, from: &Pid, cx: &mut Cx<'_, Self>) {
        let me = cx.me().clone();
        cx.send(
            from,
            FrameworkRegistered {
                framework_id: FrameworkId::new("fw-1"),
                master_info: MasterInfo {
                    id: "m1".into(),
                    ip: me.address().ip().to_string(),
                    port: me.address().port(),
                    pid: me.to_string(),
                    hostname: "localhost".into(),
                    version: wire::mesos::VERSION.into(),
                },
            },
        );
        self.offer(from, cx);
    }
}

impl Handle<Accept> for ScriptedMaster {
    fn handle(&mut self, m: Accept, from: &Pid, cx: &mut Cx<'_, Self>) {
        let mut ids = Vec::new();
        for operation in &m.operations {
            for task in operation.tasks() {
                let state = if self.fail.as_deref() == Some(task.task_id.as_str()) {
                    TaskState::Failed
                } else {
                    TaskState::Finished
                };
                ids.push(task.task_id.to_string());
                let status = TaskStatus::new(task.task_id.clone(), state);
                cx.send(
                    from,
                    StatusUpdateMessage {
                        update: StatusUpdate {
                            framework_id: FrameworkId::new("fw-1"),
                            executor_id: None,
                            agent_id: Some(task.agent_id.clone()),
                            timestamp: status.timestamp,
                            status,
                            uuid: Some(vec![7; 16]),
                            latest_state: None,
                        },
                        pid: None,
                    },
                );
            }
        }
        self.log.lock().unwrap().launches.push(ids);
        self.offer(from, cx);
    }
}

impl Handle<Decline> for ScriptedMaster {
    fn handle(&mut self, _: Decline, _: &Pid, _: &mut Cx<'_, Self>) {}
}

impl Handle<Suppress> for ScriptedMaster {
    fn handle(&mut self, _: Suppress, _: &Pid, _: &mut Cx<'_, Self>) {}
}

impl Handle<Acknowledge> for ScriptedMaster {
    fn handle(&mut self, _: Acknowledge, _: &Pid, _: &mut Cx<'_, Self>) {
        self.log.lock().unwrap().acks += 1;
    }
}

impl Handle<Teardown> for ScriptedMaster {
    fn handle(&mut self, _: Teardown, _: &Pid, _: &mut Cx<'_, Self>) {
        self.log.lock().unwrap().teardowns += 1;
    }
}

async fn run_framework(tasks: usize, fail: Option<&str>) -> (Output, Arc<Mutex<Log>>) {
    let node = Node::bind(NodeConfig::default()).await.unwrap();
    let log = Arc::new(Mutex::new(Log::default()));
    let master = node
        .spawn(
            "master",
            ScriptedMaster {
                log: log.clone(),
                offers: 0,
                fail: fail.map(str::to_owned),
            },
        )
        .unwrap()
        .pid()
        .clone();
    let mut command = Command::new(common::example("test_framework"));
    command
        .args(["--master", &master.address().to_string()])
        .args(["--tasks", &tasks.to_string()])
        .env("USER", "tester");
    // The child is waited for on a thread: this one runs the master.
    let child = std::thread::spawn(move || common::run_with_deadline(&mut command, DEADLINE));
    while !child.is_finished() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let output = child.join().unwrap();
    actors::testing::wait_until(Duration::from_secs(5), || {
        log.lock().unwrap().teardowns == 1
    })
    .await;
    (output, log)
}

#[actix::test]
async fn tasks_are_packed_into_offers_and_all_finish() {
    let (output, log) = run_framework(7, None).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}\n{stdout}");
    let log = log.lock().unwrap();
    // 0.3 cpus per offer, 0.1 per task.
    assert_eq!(
        log.launches,
        vec![vec!["0", "1", "2"], vec!["3", "4", "5"], vec!["6"],]
    );
    assert_eq!(log.acks, 7);
    assert_eq!(log.teardowns, 1);
    assert!(stdout.contains("7/7 tasks done"), "{stdout}");
    assert!(
        stdout.contains("7 of 7 tasks finished, 0 did not"),
        "{stdout}"
    );
}

#[actix::test]
async fn a_task_that_fails_makes_the_framework_fail() {
    let (output, log) = run_framework(4, Some("2")).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{output:?}\n{stdout}");
    assert!(
        stdout.contains("Task 2 is in state TASK_FAILED"),
        "{stdout}"
    );
    assert!(
        stdout.contains("3 of 4 tasks finished, 1 did not"),
        "{stdout}"
    );
    assert_eq!(log.lock().unwrap().teardowns, 1);
}
