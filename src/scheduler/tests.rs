//! The driver against a fake master: a toy process with id `master` that
//! records what it receives and answers `Subscribe` as the real master
//! does. Most tests keep both on one node with the clock paused, so
//! registration backoffs pass instantly; the connection tests put them on
//! two nodes, over real sockets.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actors::testing::{self, wait_until};
use actors::{Cx, Handle, Install, Node, NodeConfig, Pid, Process};
use wire::agent::{ExecutorToFramework, ExitedExecutor, StatusUpdateMessage};
use wire::ids::{AgentId, ExecutorId, FrameworkId, OfferId, TaskId};
use wire::mesos::{
    CommandInfo, Filters, FrameworkInfo, MasterInfo, Offer, Operation, StatusUpdate, TaskInfo,
    TaskStatus,
};
use wire::resources::Resources;
use wire::scheduler::{
    Accept, Acknowledge, AgentLost, Deactivate, Decline, FrameworkError, FrameworkRegistered,
    FrameworkReregistered, Kill, Reconcile, RescindOffer, ResourceOffers, Revive,
    SendFrameworkMessage, Subscribe, Suppress, Teardown,
};
use wire::task::{Reason, Source, TaskState};

use super::*;

const DEADLINE: Duration = Duration::from_secs(10);

/// What the fake master received.
#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Subscribe(Subscribe),
    Accept(Accept),
    Decline(Decline),
    Kill(Kill),
    Revive(Revive),
    Suppress(Suppress),
    Acknowledge(Acknowledge),
    Reconcile(Reconcile),
    Message(SendFrameworkMessage),
    Teardown(Teardown),
    Deactivate(Deactivate),
}

type Log<T> = Arc<Mutex<Vec<T>>>;

fn take<T: Clone>(log: &Log<T>) -> Vec<T> {
    log.lock().unwrap().clone()
}

/// Registers frameworks as the master does: a new one gets `fw-1`, one
/// failing over (`force`) is registered anew, one re-subscribing without
/// `force` is re-registered. Drops the first `ignore` Subscribes.
struct FakeMaster {
    seen: Log<Seen>,
    ignore: usize,
}

fn master_info(pid: &Pid) -> MasterInfo {
    MasterInfo {
        id: "m1".into(),
        ip: pid.address().ip().to_string(),
        port: pid.address().port(),
        pid: pid.to_string(),
        hostname: "localhost".into(),
        version: wire::mesos::VERSION.into(),
    }
}

impl Process for FakeMaster {
    fn install(i: &mut Install<Self>) {
        i.message::<Subscribe>()
            .message::<Accept>()
            .message::<Decline>()
            .message::<Kill>()
            .message::<Revive>()
            .message::<Suppress>()
            .message::<Acknowledge>()
            .message::<Reconcile>()
            .message::<SendFrameworkMessage>()
            .message::<Teardown>()
            .message::<Deactivate>();
    }
}

impl Handle<Subscribe> for FakeMaster {
    fn handle(&mut self, m: Subscribe, from: &Pid, cx: &mut Cx<'_, Self>) {
        self.seen.lock().unwrap().push(Seen::Subscribe(m.clone()));
        if self.ignore > 0 {
            self.ignore -= 1;
            return;
        }
        let info = master_info(cx.me());
        match m.framework.id {
            None => cx.send(
                from,
                FrameworkRegistered {
                    framework_id: FrameworkId::new("fw-1"),
                    master_info: info,
                },
            ),
            Some(id) if m.force => cx.send(
                from,
                FrameworkRegistered {
                    framework_id: id,
                    master_info: info,
                },
            ),
            Some(id) => cx.send(
                from,
                FrameworkReregistered {
                    framework_id: id,
                    master_info: info,
                },
            ),
        }
    }
}

macro_rules! record {
    ($($ty:ident),+) => {$(
        impl Handle<$ty> for FakeMaster {
            fn handle(&mut self, m: $ty, _: &Pid, _: &mut Cx<'_, Self>) {
                self.seen.lock().unwrap().push(Seen::$ty(m));
            }
        }
    )+};
}
record!(
    Accept,
    Decline,
    Kill,
    Revive,
    Suppress,
    Acknowledge,
    Reconcile,
    Teardown,
    Deactivate
);

impl Handle<SendFrameworkMessage> for FakeMaster {
    fn handle(&mut self, m: SendFrameworkMessage, _: &Pid, _: &mut Cx<'_, Self>) {
        self.seen.lock().unwrap().push(Seen::Message(m));
    }
}

/// What the scheduler was told.
#[derive(Debug, Clone, PartialEq)]
enum Event {
    Registered(FrameworkId),
    Reregistered,
    Disconnected,
    Offers(Vec<OfferId>),
    Rescinded(OfferId),
    Update(TaskStatus),
    Message(ExecutorId, AgentId, Vec<u8>),
    AgentLost(AgentId),
    ExecutorLost(ExecutorId, AgentId, i32),
    Error(String),
}

type OnOffers = Box<dyn FnMut(&mut SchedulerDriver, &[Offer]) + Send>;

/// Records its callbacks; on offers it runs `on_offers`, if set.
struct Recorder {
    events: Log<Event>,
    on_offers: Option<OnOffers>,
}

impl Recorder {
    fn push(&self, e: Event) {
        self.events.lock().unwrap().push(e);
    }
}

impl Scheduler for Recorder {
    fn registered(&mut self, _: &mut SchedulerDriver, id: FrameworkId, _: MasterInfo) {
        self.push(Event::Registered(id));
    }
    fn reregistered(&mut self, _: &mut SchedulerDriver, _: MasterInfo) {
        self.push(Event::Reregistered);
    }
    fn disconnected(&mut self, _: &mut SchedulerDriver) {
        self.push(Event::Disconnected);
    }
    fn resource_offers(&mut self, driver: &mut SchedulerDriver, offers: Vec<Offer>) {
        self.push(Event::Offers(offers.iter().map(|o| o.id.clone()).collect()));
        if let Some(f) = self.on_offers.as_mut() {
            f(driver, &offers);
        }
    }
    fn offer_rescinded(&mut self, _: &mut SchedulerDriver, offer_id: OfferId) {
        self.push(Event::Rescinded(offer_id));
    }
    fn status_update(&mut self, _: &mut SchedulerDriver, status: TaskStatus) {
        self.push(Event::Update(status));
    }
    fn framework_message(
        &mut self,
        _: &mut SchedulerDriver,
        executor_id: ExecutorId,
        agent_id: AgentId,
        data: Vec<u8>,
    ) {
        self.push(Event::Message(executor_id, agent_id, data));
    }
    fn slave_lost(&mut self, _: &mut SchedulerDriver, agent_id: AgentId) {
        self.push(Event::AgentLost(agent_id));
    }
    fn executor_lost(
        &mut self,
        _: &mut SchedulerDriver,
        executor_id: ExecutorId,
        agent_id: AgentId,
        status: i32,
    ) {
        self.push(Event::ExecutorLost(executor_id, agent_id, status));
    }
    fn error(&mut self, _: &mut SchedulerDriver, message: String) {
        self.push(Event::Error(message));
    }
}

/// A fake master and a driver, on one node or two.
struct Setup {
    master_node: Node,
    master: Pid,
    seen: Log<Seen>,
    events: Log<Event>,
    driver: SchedulerHandle<Recorder>,
}

struct Config {
    framework: FrameworkInfo,
    options: Options,
    ignore: usize,
    two_nodes: bool,
    on_offers: Option<OnOffers>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            framework: FrameworkInfo::new("tester", "test framework"),
            options: Options::default(),
            ignore: 0,
            two_nodes: false,
            on_offers: None,
        }
    }
}

async fn setup(config: Config) -> Setup {
    let master_node = Node::bind(NodeConfig::default()).await.unwrap();
    let driver_node = if config.two_nodes {
        Node::bind(NodeConfig::default()).await.unwrap()
    } else {
        master_node.clone()
    };
    let seen = Log::default();
    let master = master_node
        .spawn(
            "master",
            FakeMaster {
                seen: seen.clone(),
                ignore: config.ignore,
            },
        )
        .unwrap()
        .pid()
        .clone();
    let events = Log::default();
    let recorder = Recorder {
        events: events.clone(),
        on_offers: config.on_offers,
    };
    let driver = start(
        &driver_node,
        master.clone(),
        config.framework,
        recorder,
        config.options,
    )
    .unwrap();
    Setup {
        master_node,
        master,
        seen,
        events,
        driver,
    }
}

impl Setup {
    fn subscribes(&self) -> Vec<Subscribe> {
        take(&self.seen)
            .into_iter()
            .filter_map(|s| match s {
                Seen::Subscribe(s) => Some(s),
                _ => None,
            })
            .collect()
    }

    fn acks(&self) -> Vec<Acknowledge> {
        take(&self.seen)
            .into_iter()
            .filter_map(|s| match s {
                Seen::Acknowledge(a) => Some(a),
                _ => None,
            })
            .collect()
    }

    /// Sends `message` to the driver as the master.
    fn send_as_master<M: wire::Message>(&self, message: M) {
        self.master_node
            .send(&self.master, self.driver.pid(), message);
    }

    fn updates(&self) -> Vec<TaskStatus> {
        take(&self.events)
            .into_iter()
            .filter_map(|e| match e {
                Event::Update(s) => Some(s),
                _ => None,
            })
            .collect()
    }
}

/// A driver registered with the fake master, on a paused clock.
async fn registered(config: Config) -> Setup {
    testing::pause();
    let s = setup(config).await;
    testing::settle().await;
    assert_eq!(
        take(&s.events),
        vec![Event::Registered(FrameworkId::new("fw-1"))]
    );
    s
}

fn offer(id: &str, agent: &str) -> Offer {
    Offer {
        id: OfferId::new(id),
        framework_id: FrameworkId::new("fw-1"),
        agent_id: AgentId::new(agent),
        hostname: "host".into(),
        agent_pid: "slave(1)@127.0.0.1:5051".into(),
        resources: Resources::parse("cpus:2;mem:1024", "*").unwrap(),
        attributes: Vec::new(),
        executor_ids: Vec::new(),
        role: "*".into(),
        unavailability: None,
    }
}

fn task(id: &str, agent: &str) -> TaskInfo {
    TaskInfo {
        name: id.into(),
        task_id: TaskId::new(id),
        agent_id: AgentId::new(agent),
        resources: Resources::parse("cpus:1;mem:128", "*").unwrap(),
        command: Some(CommandInfo::shell("true")),
        executor: None,
        data: None,
        kill_grace_period: None,
        meta: Default::default(),
    }
}

fn update(task: &str, state: TaskState, uuid: Option<&[u8]>) -> StatusUpdateMessage {
    let mut status = TaskStatus::new(TaskId::new(task), state);
    status.agent_id = Some(AgentId::new("a1"));
    StatusUpdateMessage {
        update: StatusUpdate {
            framework_id: FrameworkId::new("fw-1"),
            executor_id: Some(ExecutorId::new(task)),
            agent_id: Some(AgentId::new("a1")),
            timestamp: status.timestamp,
            status,
            uuid: uuid.map(<[u8]>::to_vec),
            latest_state: None,
        },
        pid: uuid.map(|_| "slave(1)@127.0.0.1:5051".to_owned()),
    }
}

#[actix::test]
async fn registration_retries_within_the_backoff_until_the_master_answers() {
    testing::pause();
    let s = setup(Config {
        ignore: 2,
        ..Config::default()
    })
    .await;
    testing::settle().await;
    assert_eq!(s.subscribes().len(), 1, "the first attempt is immediate");
    assert!(take(&s.events).is_empty());
    // The first retry comes within the initial backoff of 2 s...
    testing::advance(Duration::from_secs(2)).await;
    assert_eq!(s.subscribes().len(), 2);
    // ...the next within twice that.
    testing::advance(Duration::from_secs(4)).await;
    assert_eq!(s.subscribes().len(), 3);
    assert_eq!(
        take(&s.events),
        vec![Event::Registered(FrameworkId::new("fw-1"))]
    );
    for sub in s.subscribes() {
        assert!(!sub.force);
        assert_eq!(sub.framework.id, None);
        assert_eq!(sub.framework.user, "tester");
        assert_eq!(sub.framework.name, "test framework");
    }
    // Registered: no more attempts.
    testing::advance(Duration::from_secs(600)).await;
    assert_eq!(s.subscribes().len(), 3);
}

#[test]
fn registration_backoff_doubles_up_to_a_minute_and_a_tenth_of_the_failover_timeout() {
    use super::process::registration_delay as delay;
    let s = Duration::from_secs;
    // At most the backoff, which doubles...
    assert_eq!(delay(s(2), 0.0, 1.0), (s(2), s(4)));
    assert_eq!(delay(s(4), 0.0, 1.0), (s(4), s(8)));
    assert_eq!(delay(s(4), 0.0, 0.5), (s(2), s(8)));
    assert_eq!(delay(s(4), 0.0, 0.0), (s(0), s(8)));
    // ...up to a minute...
    assert_eq!(delay(s(64), 0.0, 1.0), (s(60), s(120)));
    assert_eq!(delay(s(120), 0.0, 1.0), (s(60), s(120)));
    // ...and a tenth of the failover timeout.
    let ms = Duration::from_millis;
    assert_eq!(delay(s(2), 1.0, 1.0), (ms(100), ms(200)));
    assert_eq!(delay(ms(200), 1.0, 1.0), (ms(100), ms(200)));
    assert_eq!(delay(s(8), 3600.0, 1.0), (s(8), s(16)));
    // Nonsense timeouts are ignored.
    assert_eq!(delay(s(2), f64::INFINITY, 1.0), (s(2), s(4)));
    assert_eq!(delay(s(2), -1.0, 1.0), (s(2), s(4)));
}

#[actix::test]
async fn registration_backoff_is_capped_by_a_tenth_of_the_failover_timeout() {
    testing::pause();
    let mut framework = FrameworkInfo::new("tester", "test framework");
    framework.failover_timeout = 1.0;
    let s = setup(Config {
        framework,
        ignore: 1000,
        ..Config::default()
    })
    .await;
    testing::settle().await;
    for _ in 0..6 {
        testing::advance(Duration::from_millis(100)).await;
    }
    testing::settle().await;
    // Every delay is at most 100 ms, so five retries have fired by 500 ms
    // (a retry due at exactly the end of a step is delivered by the next
    // step or the settle); with the uncapped 2 s, 4 s, ... backoff five in
    // 600 ms would be rare luck.
    assert!(s.subscribes().len() >= 6, "{}", s.subscribes().len());
}

#[actix::test]
async fn a_framework_that_has_an_id_fails_over_with_force() {
    testing::pause();
    let mut framework = FrameworkInfo::new("tester", "test framework");
    framework.id = Some(FrameworkId::new("fw-old"));
    let s = setup(Config {
        framework,
        ..Config::default()
    })
    .await;
    testing::settle().await;
    let subs = s.subscribes();
    assert_eq!(subs.len(), 1);
    assert!(subs[0].force);
    assert_eq!(subs[0].framework.id, Some(FrameworkId::new("fw-old")));
    assert_eq!(
        take(&s.events),
        vec![Event::Registered(FrameworkId::new("fw-old"))]
    );
}

#[actix::test]
async fn offers_reach_the_scheduler_and_launch_tasks_accepts_them() {
    let s = registered(Config {
        on_offers: Some(Box::new(|driver, offers| {
            driver.launch_tasks(
                vec![offers[0].id.clone()],
                vec![task("t1", "a1")],
                Filters::default(),
            );
            driver.decline_offer(
                offers[1].id.clone(),
                Filters {
                    refuse_seconds: 3600.0,
                },
            );
        })),
        ..Config::default()
    })
    .await;
    s.send_as_master(ResourceOffers {
        offers: vec![offer("o1", "a1"), offer("o2", "a2")],
    });
    testing::settle().await;
    assert_eq!(
        take(&s.events)[1..],
        [Event::Offers(vec![OfferId::new("o1"), OfferId::new("o2")])]
    );
    let seen = take(&s.seen);
    assert_eq!(
        seen[1..],
        [
            Seen::Accept(Accept {
                framework_id: FrameworkId::new("fw-1"),
                offer_ids: vec![OfferId::new("o1")],
                operations: vec![Operation::Launch {
                    task_infos: vec![task("t1", "a1")]
                }],
                filters: Filters::default(),
            }),
            Seen::Decline(Decline {
                framework_id: FrameworkId::new("fw-1"),
                offer_ids: vec![OfferId::new("o2")],
                filters: Filters {
                    refuse_seconds: 3600.0
                },
            }),
        ]
    );
}

#[actix::test]
async fn only_updates_that_carry_a_uuid_are_acknowledged() {
    let s = registered(Config::default()).await;
    s.send_as_master(update("t1", TaskState::Running, Some(b"0123456789abcdef")));
    // Made by the master (reconciliation, invalid offers): no uuid.
    s.send_as_master(update("t2", TaskState::Lost, None));
    testing::settle().await;
    let updates = s.updates();
    assert_eq!(updates.len(), 2);
    assert_eq!(updates[0].state, TaskState::Running);
    assert_eq!(updates[0].uuid.as_deref(), Some(&b"0123456789abcdef"[..]));
    assert_eq!(updates[0].agent_id, Some(AgentId::new("a1")));
    assert_eq!(updates[1].uuid, None);
    assert_eq!(
        s.acks(),
        vec![Acknowledge {
            framework_id: FrameworkId::new("fw-1"),
            agent_id: AgentId::new("a1"),
            task_id: TaskId::new("t1"),
            uuid: b"0123456789abcdef".to_vec(),
        }]
    );
}

#[actix::test]
async fn explicit_acknowledgements_wait_for_the_scheduler() {
    let s = registered(Config {
        options: Options {
            implicit_acknowledgements: false,
        },
        ..Config::default()
    })
    .await;
    s.send_as_master(update("t1", TaskState::Finished, Some(b"0123456789abcdef")));
    testing::settle().await;
    assert_eq!(s.updates().len(), 1);
    testing::advance(Duration::from_secs(60)).await;
    assert!(s.acks().is_empty(), "the driver must not ack by itself");
    let handle = s.driver.calls();
    handle.acknowledge_status_update(s.updates()[0].clone());
    testing::settle().await;
    assert_eq!(s.acks().len(), 1);
    assert_eq!(s.acks()[0].uuid, b"0123456789abcdef".to_vec());
    // An update that needs no acknowledgement sends none.
    s.send_as_master(update("t2", TaskState::Lost, None));
    testing::settle().await;
    handle.acknowledge_status_update(s.updates()[1].clone());
    testing::settle().await;
    assert_eq!(s.acks().len(), 1);
}

#[actix::test]
async fn messages_not_from_the_master_are_ignored_and_counted() {
    let s = registered(Config::default()).await;
    let impostor = Pid::new("master", "127.0.0.1:1".parse().unwrap());
    s.master_node.send(
        &impostor,
        s.driver.pid(),
        ResourceOffers {
            offers: vec![offer("o1", "a1")],
        },
    );
    s.master_node.send(
        &impostor,
        s.driver.pid(),
        FrameworkError {
            message: "go away".into(),
        },
    );
    s.master_node.send(
        &impostor,
        s.driver.pid(),
        update("t1", TaskState::Lost, None),
    );
    testing::settle().await;
    assert_eq!(take(&s.events).len(), 1, "only the registration");
    assert_eq!(
        s.master_node.metrics().snapshot()["scheduler/ignored_messages"],
        3.0
    );
    s.send_as_master(RescindOffer {
        offer_id: OfferId::new("o9"),
    });
    testing::settle().await;
    assert_eq!(
        take(&s.events).last(),
        Some(&Event::Rescinded(OfferId::new("o9")))
    );
}

#[actix::test]
async fn master_events_reach_their_callbacks() {
    let s = registered(Config::default()).await;
    s.send_as_master(RescindOffer {
        offer_id: OfferId::new("o1"),
    });
    s.send_as_master(AgentLost {
        agent_id: AgentId::new("a1"),
    });
    s.send_as_master(ExitedExecutor {
        agent_id: AgentId::new("a1"),
        framework_id: FrameworkId::new("fw-1"),
        executor_id: ExecutorId::new("e1"),
        status: 256,
    });
    // Agents send executor messages straight to the scheduler.
    let agent = Pid::new("slave(1)", s.master_node.address());
    s.master_node.send(
        &agent,
        s.driver.pid(),
        ExecutorToFramework {
            agent_id: AgentId::new("a1"),
            framework_id: FrameworkId::new("fw-1"),
            executor_id: ExecutorId::new("e1"),
            data: b"hi".to_vec(),
        },
    );
    testing::settle().await;
    assert_eq!(
        take(&s.events)[1..],
        [
            Event::Rescinded(OfferId::new("o1")),
            Event::AgentLost(AgentId::new("a1")),
            Event::ExecutorLost(ExecutorId::new("e1"), AgentId::new("a1"), 256),
            Event::Message(ExecutorId::new("e1"), AgentId::new("a1"), b"hi".to_vec()),
        ]
    );
}

#[actix::test]
async fn calls_become_messages_to_the_master() {
    let s = registered(Config::default()).await;
    let handle = s.driver.calls();
    handle.kill_task(TaskId::new("t1"));
    handle.revive_offers();
    handle.suppress_offers();
    let mut status = TaskStatus::new(TaskId::new("t1"), TaskState::Running);
    status.agent_id = Some(AgentId::new("a1"));
    handle.reconcile_tasks(vec![status]);
    handle.send_framework_message(ExecutorId::new("e1"), AgentId::new("a1"), b"x".to_vec());
    handle.request_resources(vec![Resources::parse("cpus:1", "*").unwrap()]);
    testing::settle().await;
    let fw = FrameworkId::new("fw-1");
    assert_eq!(
        take(&s.seen)[1..],
        [
            Seen::Kill(Kill {
                framework_id: fw.clone(),
                task_id: TaskId::new("t1"),
                agent_id: None,
            }),
            Seen::Revive(Revive {
                framework_id: fw.clone(),
                roles: vec![],
            }),
            Seen::Suppress(Suppress {
                framework_id: fw.clone(),
                roles: vec![],
            }),
            Seen::Reconcile(Reconcile {
                framework_id: fw.clone(),
                tasks: vec![(TaskId::new("t1"), Some(AgentId::new("a1")))],
            }),
            Seen::Message(SendFrameworkMessage {
                framework_id: fw,
                agent_id: AgentId::new("a1"),
                executor_id: ExecutorId::new("e1"),
                data: b"x".to_vec(),
            }),
        ]
    );
}

#[actix::test]
async fn launching_while_unregistered_reports_the_tasks_lost() {
    testing::pause();
    let s = setup(Config {
        ignore: 1000,
        ..Config::default()
    })
    .await;
    testing::settle().await;
    s.driver.calls().launch_tasks(
        vec![OfferId::new("o1")],
        vec![task("t1", "a1")],
        Filters::default(),
    );
    s.driver.calls().kill_task(TaskId::new("t1"));
    testing::settle().await;
    let updates = s.updates();
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0].task_id, TaskId::new("t1"));
    assert_eq!(updates[0].state, TaskState::Lost);
    assert_eq!(updates[0].source, Some(Source::Master));
    assert_eq!(updates[0].reason, Some(Reason::MasterDisconnected));
    assert_eq!(updates[0].uuid, None);
    assert!(
        take(&s.seen)
            .iter()
            .all(|m| matches!(m, Seen::Subscribe(_))),
        "nothing but subscriptions reached the master"
    );
}

#[actix::test]
async fn stop_without_failover_tears_the_framework_down() {
    let s = registered(Config::default()).await;
    s.driver.calls().stop(false);
    testing::settle().await;
    let handle = s.driver.calls();
    let (status, scheduler) = s.driver.join().await.unwrap();
    assert_eq!(status, Status::Stopped);
    assert_eq!(take(&scheduler.events).len(), 1);
    assert_eq!(
        take(&s.seen)[1..],
        [Seen::Teardown(Teardown {
            framework_id: FrameworkId::new("fw-1")
        })]
    );
    // Calls to a stopped driver go nowhere.
    handle.revive_offers();
    testing::settle().await;
    assert_eq!(take(&s.seen).len(), 2);
}

#[actix::test]
async fn stop_with_failover_deactivates_the_framework() {
    let s = registered(Config::default()).await;
    s.driver.calls().stop(true);
    let (status, _) = s.driver.join().await.unwrap();
    assert_eq!(status, Status::Stopped);
    testing::settle().await;
    assert_eq!(
        take(&s.seen)[1..],
        [Seen::Deactivate(Deactivate {
            framework_id: FrameworkId::new("fw-1")
        })]
    );
}

#[actix::test]
async fn abort_deactivates_the_framework() {
    let s = registered(Config::default()).await;
    s.driver.calls().abort();
    let (status, _) = s.driver.join().await.unwrap();
    assert_eq!(status, Status::Aborted);
    testing::settle().await;
    assert_eq!(
        take(&s.seen)[1..],
        [Seen::Deactivate(Deactivate {
            framework_id: FrameworkId::new("fw-1")
        })]
    );
}

#[actix::test]
async fn a_framework_error_aborts_the_driver_and_reaches_the_scheduler() {
    let s = registered(Config::default()).await;
    s.send_as_master(FrameworkError {
        message: "Framework failed over".into(),
    });
    // Anything after the error is not delivered.
    s.send_as_master(RescindOffer {
        offer_id: OfferId::new("o1"),
    });
    let events = s.events.clone();
    let (status, _) = s.driver.join().await.unwrap();
    assert_eq!(status, Status::Error("Framework failed over".into()));
    assert_eq!(
        take(&events)[1..],
        [Event::Error("Framework failed over".into())]
    );
    testing::settle().await;
    assert_eq!(
        take(&s.seen)[1..],
        [Seen::Deactivate(Deactivate {
            framework_id: FrameworkId::new("fw-1")
        })]
    );
}

/// A scheduler that stops its driver from a callback, as `mesos-execute`
/// does on its task's terminal update.
struct StopOnTerminal;

impl Scheduler for StopOnTerminal {
    fn resource_offers(&mut self, _: &mut SchedulerDriver, _: Vec<Offer>) {}
    fn status_update(&mut self, driver: &mut SchedulerDriver, status: TaskStatus) {
        if status.state.is_terminal() {
            driver.stop(false);
        }
    }
}

#[actix::test]
async fn a_callback_can_stop_the_driver_after_acknowledging() {
    testing::pause();
    let node = Node::bind(NodeConfig::default()).await.unwrap();
    let seen = Log::default();
    let master = node
        .spawn(
            "master",
            FakeMaster {
                seen: seen.clone(),
                ignore: 0,
            },
        )
        .unwrap()
        .pid()
        .clone();
    let framework = FrameworkInfo::new("tester", "t");
    let driver = start(
        &node,
        master.clone(),
        framework,
        StopOnTerminal,
        Options::default(),
    )
    .unwrap();
    testing::settle().await;
    node.send(
        &master,
        driver.pid(),
        update("t1", TaskState::Finished, Some(b"0123456789abcdef")),
    );
    let (status, _) = driver.join().await.unwrap();
    assert_eq!(status, Status::Stopped);
    testing::settle().await;
    let seen = take(&seen);
    // The update is acknowledged before the teardown, so the agent can
    // clean up the task's stream.
    assert!(
        matches!(seen[1..], [Seen::Acknowledge(_), Seen::Teardown(_)]),
        "{seen:?}"
    );
}

#[actix::test]
async fn a_broken_connection_reports_disconnected_and_registers_again() {
    let s = setup(Config {
        two_nodes: true,
        on_offers: Some(Box::new(|driver, offers| {
            driver.launch_tasks(
                vec![offers[0].id.clone()],
                vec![task("t1", "a1")],
                Filters::default(),
            );
        })),
        ..Config::default()
    })
    .await;
    assert!(
        wait_until(DEADLINE, || take(&s.events)
            == vec![Event::Registered(FrameworkId::new("fw-1"))])
        .await
    );
    // The master's node drops every connection, as a network failure would.
    s.master_node.shutdown_connections();
    assert!(
        wait_until(DEADLINE, || take(&s.events).len() == 3).await,
        "{:?}",
        take(&s.events)
    );
    assert_eq!(
        take(&s.events)[1..],
        [Event::Disconnected, Event::Reregistered]
    );
    let subs = s.subscribes();
    assert_eq!(subs.len(), 2);
    assert_eq!(subs[1].framework.id, Some(FrameworkId::new("fw-1")));
    assert!(!subs[1].force, "same scheduler, same pid: not a failover");
    // Events and calls cross the new connection.
    s.send_as_master(ResourceOffers {
        offers: vec![offer("o1", "a1")],
    });
    assert!(
        wait_until(DEADLINE, || take(&s.seen)
            .iter()
            .any(|m| matches!(m, Seen::Accept(_))))
        .await
    );
}

#[actix::test]
async fn a_driver_keeps_registering_while_the_master_is_down() {
    // A master address where nothing listens.
    let node = Node::bind(NodeConfig::default()).await.unwrap();
    let gone = Node::bind(NodeConfig::default()).await.unwrap();
    let address = gone.address();
    gone.shutdown();
    drop(gone);
    testing::pause();
    let sent = testing::Recorder::default();
    node.set_filter(sent.observer());
    let events = Log::default();
    let recorder = Recorder {
        events: events.clone(),
        on_offers: None,
    };
    let master = Pid::new("master", address);
    let driver = start(
        &node,
        master,
        FrameworkInfo::new("t", "t"),
        recorder,
        Options::default(),
    )
    .unwrap();
    for _ in 0..20 {
        testing::advance(Duration::from_secs(30)).await;
    }
    assert!(driver.calls().pid().id().starts_with("scheduler-"));
    assert!(take(&events).is_empty());
    // Ten minutes of attempts, paced by the backoff rather than by
    // connection failures.
    let attempts = sent.count(<Subscribe as wire::Message>::NAME);
    assert!((3..=200).contains(&attempts), "{attempts} attempts");
    driver.calls().stop(false);
    let (status, _) = driver.join().await.unwrap();
    assert_eq!(status, Status::Stopped);
}

#[test]
fn master_addresses_parse_as_mesos_accepts_them() {
    let pid = parse_master("127.0.0.1:5050").unwrap();
    assert_eq!(pid.to_string(), "master@127.0.0.1:5050");
    let pid = parse_master("master@10.0.0.1:5050").unwrap();
    assert_eq!(pid.to_string(), "master@10.0.0.1:5050");
    let pid = parse_master("localhost:5050").unwrap();
    assert_eq!(pid.id(), "master");
    assert_eq!(pid.address().port(), 5050);
    assert!(pid.address().ip().is_loopback());
    for unsupported in ["zk://127.0.0.1:2181/mesos", "file:///etc/mesos/master"] {
        let err = parse_master(unsupported).unwrap_err();
        assert!(matches!(err, DriverError::UnsupportedMaster(_)), "{err}");
        assert!(err.to_string().contains("host:port"), "{err}");
    }
    for bad in [
        "5050",
        "127.0.0.1",
        "host:port",
        "@1.2.3.4:5",
        "",
        "a/b@1.2.3.4:5",
    ] {
        assert!(
            matches!(parse_master(bad), Err(DriverError::BadMaster(_))),
            "{bad}"
        );
    }
}

#[test]
fn libprocess_variables_choose_the_driver_address() {
    let env = |pairs: &[(&str, &str)]| {
        node_config_from_env(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<Vec<_>>(),
        )
    };
    let c = env(&[]).unwrap();
    assert!(c.ip.is_loopback());
    assert_eq!(c.port, 0);
    let c = env(&[
        ("LIBPROCESS_IP", "0.0.0.0"),
        ("LIBPROCESS_PORT", "7000"),
        ("LIBPROCESS_ADVERTISE_IP", "10.1.2.3"),
        ("PATH", "/bin"),
    ])
    .unwrap();
    assert_eq!(c.ip.to_string(), "0.0.0.0");
    assert_eq!(c.port, 7000);
    assert_eq!(
        c.advertise_ip.map(|i| i.to_string()),
        Some("10.1.2.3".into())
    );
    assert!(env(&[("LIBPROCESS_PORT", "x")]).is_err());
}
