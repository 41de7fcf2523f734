//! The `mesos-execute` binary against a scripted master in this test's
//! process: the messages it sends, the lines it prints, its exit code.

mod common;

use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actors::{Cx, Handle, Install, Node, NodeConfig, Pid, Process};
use wire::agent::StatusUpdateMessage;
use wire::ids::{AgentId, ExecutorId, FrameworkId, OfferId, TaskId};
use wire::mesos::{
    CommandInfo, Filters, MasterInfo, Offer, Operation, StatusUpdate, TaskInfo, TaskStatus,
};
use wire::resources::Resources;
use wire::scheduler::{
    Accept, Acknowledge, Decline, FrameworkRegistered, ResourceOffers, Subscribe, Suppress,
    Teardown,
};
use wire::task::{Reason, Source, TaskState};

const DEADLINE: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Subscribe(Subscribe),
    Accept(Accept),
    Decline(Decline),
    Suppress(Suppress),
    Acknowledge(Acknowledge),
    Teardown(Teardown),
}

/// Registers the framework, offers a too-small and a big agent, and
/// answers the launch with TASK_RUNNING then `terminal`.
struct ScriptedMaster {
    seen: Arc<Mutex<Vec<Seen>>>,
    terminal: TaskStatus,
}

fn offer(id: &str, agent: &str, resources: &str) -> Offer {
    Offer {
        id: OfferId::new(id),
        framework_id: FrameworkId::new("fw-1"),
        agent_id: AgentId::new(agent),
        hostname: "localhost".into(),
        agent_pid: "slave(1)@127.0.0.1:5051".into(),
        resources: Resources::parse(resources, "*").unwrap(),
        attributes: Vec::new(),
        executor_ids: Vec::new(),
        role: "*".into(),
        unavailability: None,
    }
}

fn update(status: TaskStatus, uuid: u8) -> StatusUpdateMessage {
    StatusUpdateMessage {
        update: StatusUpdate {
            framework_id: FrameworkId::new("fw-1"),
            executor_id: Some(ExecutorId::new("hi")),
            agent_id: Some(AgentId::new("a2")),
            timestamp: status.timestamp,
            status,
            uuid: Some(vec![uuid; 16]),
            latest_state: None,
        },
        pid: Some("slave(1)@127.0.0.1:5051".into()),
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

impl ScriptedMaster {
    fn record(&self, seen: Seen) {
        self.seen.lock().unwrap().push(seen);
    }
}

impl Handle<Subscribe> for ScriptedMaster {
    fn handle(&mut self, m: Subscribe, from: &Pid, cx: &mut Cx<'_, Self>) {
        self.record(Seen::Subscribe(m));
        let me = cx.me().clone();
        let master_info = MasterInfo {
            id: "m1".into(),
            ip: me.address().ip().to_string(),
            port: me.address().port(),
            pid: me.to_string(),
            hostname: "localhost".into(),
            version: wire::mesos::VERSION.into(),
        };
        cx.send(
            from,
            FrameworkRegistered {
                framework_id: FrameworkId::new("fw-1"),
                master_info,
            },
        );
        cx.send(
            from,
            ResourceOffers {
                offers: vec![
                    offer("o1", "a1", "cpus:0.5;mem:1024"),
                    offer("o2", "a2", "cpus:4;mem:4096;disk:100"),
                ],
            },
        );
    }
}

impl Handle<Accept> for ScriptedMaster {
    fn handle(&mut self, m: Accept, from: &Pid, cx: &mut Cx<'_, Self>) {
        self.record(Seen::Accept(m));
        let mut running = TaskStatus::new(TaskId::new("hi"), TaskState::Running);
        running.source = Some(Source::Executor);
        cx.send(from, update(running, 1));
        cx.send(from, update(self.terminal.clone(), 2));
    }
}

macro_rules! record {
    ($($ty:ident),+) => {$(
        impl Handle<$ty> for ScriptedMaster {
            fn handle(&mut self, m: $ty, _: &Pid, _: &mut Cx<'_, Self>) {
                self.record(Seen::$ty(m));
            }
        }
    )+};
}
record!(Decline, Suppress, Acknowledge, Teardown);

/// Runs `mesos-execute` with `args` against a scripted master that ends
/// the task with `terminal`; returns its output and what the master saw.
async fn execute(args: &[&str], terminal: TaskStatus) -> (Output, Vec<Seen>) {
    let node = Node::bind(NodeConfig::default()).await.unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let master = node
        .spawn(
            "master",
            ScriptedMaster {
                seen: seen.clone(),
                terminal,
            },
        )
        .unwrap()
        .pid()
        .clone();
    let mut command = Command::new(env!("CARGO_BIN_EXE_mesos-execute"));
    command
        .arg(format!("--master={}", master.address()))
        .args(args)
        .env("USER", "tester");
    // The child is waited for on a thread: this one runs the master.
    let child = std::thread::spawn(move || common::run_with_deadline(&mut command, DEADLINE));
    while !child.is_finished() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let output = child.join().unwrap();
    // The teardown may land just after the child exits.
    actors::testing::wait_until(Duration::from_secs(5), || {
        seen.lock()
            .unwrap()
            .iter()
            .any(|s| matches!(s, Seen::Teardown(_)))
    })
    .await;
    let seen = seen.lock().unwrap().clone();
    (output, seen)
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[actix::test]
async fn a_finished_command_exits_zero_after_tearing_the_framework_down() {
    let mut finished = TaskStatus::new(TaskId::new("hi"), TaskState::Finished);
    finished.source = Some(Source::Executor);
    finished.message = Some("Command exited with status 0".into());
    let (output, seen) = execute(&["--name=hi", "--command=echo hello"], finished).await;
    assert!(
        output.status.success(),
        "{output:?}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        stdout(&output),
        "Subscribed with ID fw-1\n\
         Submitted task 'hi' to agent 'a2'\n\
         Received status update TASK_RUNNING for task 'hi'\n\
         \x20 source: SOURCE_EXECUTOR\n\
         Received status update TASK_FINISHED for task 'hi'\n\
         \x20 message: 'Command exited with status 0'\n\
         \x20 source: SOURCE_EXECUTOR\n"
    );
    let Seen::Subscribe(subscribe) = &seen[0] else {
        panic!("{seen:?}")
    };
    assert_eq!(subscribe.framework.user, "tester");
    assert_eq!(subscribe.framework.name, "mesos-execute instance");
    assert_eq!(subscribe.framework.id, None);
    assert!(!subscribe.force);
    let fw = FrameworkId::new("fw-1");
    let ack = |uuid: u8| {
        Seen::Acknowledge(Acknowledge {
            framework_id: fw.clone(),
            agent_id: AgentId::new("a2"),
            task_id: TaskId::new("hi"),
            uuid: vec![uuid; 16],
        })
    };
    assert_eq!(
        seen[1..],
        [
            Seen::Decline(Decline {
                framework_id: fw.clone(),
                offer_ids: vec![OfferId::new("o1")],
                filters: Filters {
                    refuse_seconds: 3600.0
                },
            }),
            Seen::Accept(Accept {
                framework_id: fw.clone(),
                offer_ids: vec![OfferId::new("o2")],
                operations: vec![Operation::Launch {
                    task_infos: vec![TaskInfo {
                        name: "hi".into(),
                        task_id: TaskId::new("hi"),
                        agent_id: AgentId::new("a2"),
                        resources: Resources::parse("cpus:1;mem:128", "*").unwrap(),
                        command: Some(CommandInfo::shell("echo hello")),
                        executor: None,
                        data: None,
                        kill_grace_period: None,
                        meta: Default::default(),
                    }],
                }],
                filters: Filters::default(),
            }),
            Seen::Suppress(Suppress {
                framework_id: fw.clone(),
                roles: vec![],
            }),
            ack(1),
            ack(2),
            Seen::Teardown(Teardown {
                framework_id: fw.clone()
            }),
        ]
    );
}

#[actix::test]
async fn a_failed_command_exits_non_zero_and_says_why() {
    let mut failed = TaskStatus::new(TaskId::new("hi"), TaskState::Failed);
    failed.source = Some(Source::Executor);
    failed.message = Some("Command exited with status 3".into());
    failed.reason = Some(Reason::CommandExecutorFailed);
    let (output, seen) = execute(
        &[
            "--name=hi",
            "--command=exit 3",
            "--resources=cpus:0.1;mem:32",
        ],
        failed,
    )
    .await;
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let out = stdout(&output);
    assert!(
        out.ends_with(
            "Received status update TASK_FAILED for task 'hi'\n\
             \x20 message: 'Command exited with status 3'\n\
             \x20 source: SOURCE_EXECUTOR\n\
             \x20 reason: REASON_COMMAND_EXECUTOR_FAILED\n"
        ),
        "{out}"
    );
    // The small offer fits these resources and is taken first.
    assert!(
        seen.iter()
            .any(|s| matches!(s, Seen::Accept(a) if a.offer_ids == [OfferId::new("o1")])),
        "{seen:?}"
    );
    assert!(matches!(seen.last(), Some(Seen::Teardown(_))), "{seen:?}");
}

fn run(args: &[&str]) -> Output {
    common::run_with_deadline(
        Command::new(env!("CARGO_BIN_EXE_mesos-execute")).args(args),
        DEADLINE,
    )
}

#[test]
fn bad_invocations_fail_with_one_line() {
    let help = run(&["--help"]);
    assert!(help.status.success());
    for flag in ["--master", "--name", "--command", "--resources"] {
        assert!(stdout(&help).contains(flag), "{}", stdout(&help));
    }
    for (args, expected) in [
        (
            &["--name=hi", "--command=true"][..],
            "Flag 'master' is required",
        ),
        (&["--bogus"][..], "Failed to load unknown flag 'bogus'"),
        (
            &["--master=zk://", "--name=hi", "--command=true"][..],
            "names no server",
        ),
        (
            &["--master=127.0.0.1", "--name=hi", "--command=true"][..],
            "is not a master address",
        ),
    ] {
        let out = run(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    }
}
