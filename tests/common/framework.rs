//! A framework driven from a test: the library's scheduler driver on a
//! node of its own (so each framework instance has its own pid), with a
//! scheduler that records every callback and when it came, for the test to
//! wait on. Must be used inside an actix system (`#[actix::test]`).

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actors::{Node, NodeConfig, Pid};
use mesos::scheduler::{
    pick_resources, start, Options, Scheduler, SchedulerCalls, SchedulerDriver, SchedulerHandle,
    Status,
};
use wire::ids::{AgentId, ExecutorId, FrameworkId, OfferId, TaskId};
use wire::mesos::{
    CommandInfo, ExecutorInfo, Filters, FrameworkInfo, MasterInfo, Offer, Operation, TaskInfo,
    TaskStatus,
};
use wire::resources::Resources;
use wire::task::TaskState;

/// A scheduler callback.
#[derive(Debug, Clone)]
pub enum Event {
    Registered(FrameworkId),
    Reregistered,
    Disconnected,
    Offers(Vec<Offer>),
    Rescinded(OfferId),
    Update(TaskStatus),
    AgentLost(AgentId),
    ExecutorLost(ExecutorId, AgentId, i32),
    Error(String),
}

type Log = Arc<Mutex<Vec<(Instant, Event)>>>;

/// Records callbacks. With explicit acknowledgements it acknowledges
/// non-terminal updates itself and leaves terminal ones to the test.
struct Recorder {
    log: Log,
    explicit_acks: bool,
}

impl Recorder {
    fn push(&self, event: Event) {
        self.log.lock().unwrap().push((Instant::now(), event));
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

    fn resource_offers(&mut self, _: &mut SchedulerDriver, offers: Vec<Offer>) {
        self.push(Event::Offers(offers));
    }

    fn offer_rescinded(&mut self, _: &mut SchedulerDriver, offer_id: OfferId) {
        self.push(Event::Rescinded(offer_id));
    }

    fn status_update(&mut self, driver: &mut SchedulerDriver, status: TaskStatus) {
        if self.explicit_acks && !status.state.is_terminal() {
            driver.acknowledge_status_update(&status);
        }
        self.push(Event::Update(status));
    }

    fn slave_lost(&mut self, _: &mut SchedulerDriver, agent_id: AgentId) {
        self.push(Event::AgentLost(agent_id));
    }

    fn executor_lost(&mut self, _: &mut SchedulerDriver, e: ExecutorId, a: AgentId, status: i32) {
        self.push(Event::ExecutorLost(e, a, status));
    }

    fn error(&mut self, _: &mut SchedulerDriver, message: String) {
        self.push(Event::Error(message));
    }
}

/// One framework instance: its driver, node and recorded callbacks.
pub struct Framework {
    pub handle: SchedulerCalls,
    log: Log,
    /// Offers the test has used (accepted), so they are not used twice.
    used: Mutex<HashSet<OfferId>>,
    node: Node,
    driver: Option<SchedulerHandle<Recorder>>,
}

/// A framework as tests register it: user `tester`, role `*`.
pub fn info(name: &str) -> FrameworkInfo {
    FrameworkInfo::new(&super::current_user(), name)
}

/// A command task; `Framework::launch` fills in its agent and resources.
pub fn command_task(id: &str, command: &str) -> TaskInfo {
    TaskInfo {
        name: id.into(),
        task_id: TaskId::new(id),
        agent_id: AgentId::new(""),
        resources: Resources::new(),
        command: Some(CommandInfo::shell(command)),
        executor: None,
        data: None,
        kill_grace_period: None,
        meta: Default::default(),
    }
}

/// A TCP health check that fails (nothing listens on its port), checked at
/// once and every 100 ms, killing after two failures.
pub fn failing_health_check() -> wire::mesos::HealthCheck {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    wire::mesos::HealthCheck {
        check: wire::mesos::Check::Tcp { port },
        delay_seconds: 0.0,
        interval_seconds: 0.1,
        timeout_seconds: 1.0,
        consecutive_failures: 2,
        grace_period_seconds: 0.0,
    }
}

/// What launched tasks leave of an offer is refused for this long, so
/// other frameworks get it and an offer after a launch means resources
/// came back.
const REFUSE_SECONDS: f64 = 3600.0;

impl Framework {
    /// Starts a driver registering `info` with the master at `master`,
    /// acknowledging updates implicitly.
    pub async fn start(master: SocketAddr, info: FrameworkInfo) -> Framework {
        Framework::start_with(master, info, Options::default()).await
    }

    pub async fn start_with(
        master: SocketAddr,
        info: FrameworkInfo,
        options: Options,
    ) -> Framework {
        let node = Node::bind(NodeConfig::default()).await.expect("bind node");
        let log = Log::default();
        let recorder = Recorder {
            log: log.clone(),
            explicit_acks: !options.implicit_acknowledgements,
        };
        let driver = start(&node, Pid::new("master", master), info, recorder, options)
            .expect("start driver");
        Framework {
            handle: driver.calls(),
            log,
            used: Mutex::new(HashSet::new()),
            node,
            driver: Some(driver),
        }
    }

    /// The driver's pid: the framework's pid at the master.
    pub fn pid(&self) -> Pid {
        self.handle.pid().clone()
    }

    pub fn events(&self) -> Vec<(Instant, Event)> {
        self.log.lock().unwrap().clone()
    }

    /// Waits until `find` finds something in the events; panics with the
    /// events if it has not after `deadline`.
    pub async fn wait_for<T>(
        &self,
        what: &str,
        deadline: Duration,
        mut find: impl FnMut(&[(Instant, Event)]) -> Option<T>,
    ) -> T {
        // `find` may read the events again through `self`: no lock held.
        let found = super::poll_async(deadline, || find(&self.events())).await;
        match found {
            Some(t) => t,
            None => panic!(
                "waited {deadline:?} for {what}; events: {:#?}",
                self.events()
            ),
        }
    }

    /// Waits for registration; returns the framework id.
    pub async fn registered(&self) -> FrameworkId {
        self.wait_for("registration", Duration::from_secs(10), |events| {
            events.iter().find_map(|(_, e)| match e {
                Event::Registered(id) => Some(id.clone()),
                _ => None,
            })
        })
        .await
    }

    /// Every update about `task`, in order of arrival.
    pub fn updates(&self, task: &str) -> Vec<TaskStatus> {
        self.updates_since(task, None)
            .into_iter()
            .map(|(_, s)| s)
            .collect()
    }

    fn updates_since(&self, task: &str, since: Option<Instant>) -> Vec<(Instant, TaskStatus)> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|(at, _)| since.is_none_or(|s| *at >= s))
            .filter_map(|(at, e)| match e {
                Event::Update(s) if s.task_id.as_str() == task => Some((*at, s.clone())),
                _ => None,
            })
            .collect()
    }

    /// Waits for an update of `task` in `state` arriving at or after
    /// `since`; returns it and when it came.
    pub async fn update_since(
        &self,
        task: &str,
        state: TaskState,
        since: Instant,
        deadline: Duration,
    ) -> (Instant, TaskStatus) {
        let what = format!("{state} for task '{task}'");
        self.wait_for(&what, deadline, |_| {
            self.updates_since(task, Some(since))
                .into_iter()
                .find(|(_, s)| s.state == state)
        })
        .await
    }

    /// Waits for the first update of `task` in `state`.
    pub async fn update(&self, task: &str, state: TaskState, deadline: Duration) -> TaskStatus {
        let what = format!("{state} for task '{task}'");
        self.wait_for(&what, deadline, |_| {
            self.updates(task).into_iter().find(|s| s.state == state)
        })
        .await
    }

    /// Offers received and neither rescinded nor used by the test.
    pub fn outstanding_offers(&self) -> Vec<Offer> {
        let events = self.log.lock().unwrap();
        let used = self.used.lock().unwrap();
        let rescinded: HashSet<&OfferId> = events
            .iter()
            .filter_map(|(_, e)| match e {
                Event::Rescinded(id) => Some(id),
                _ => None,
            })
            .collect();
        events
            .iter()
            .filter_map(|(_, e)| match e {
                Event::Offers(offers) => Some(offers),
                _ => None,
            })
            .flatten()
            .filter(|o| !rescinded.contains(&o.id) && !used.contains(&o.id))
            .cloned()
            .collect()
    }

    /// Waits for an outstanding offer that holds `resources` (on `agent`,
    /// if given) and launches `tasks` on it, each with those resources.
    /// What the tasks leave of the offer is refused for an hour. Returns
    /// the tasks as launched.
    pub async fn launch(
        &self,
        tasks: Vec<TaskInfo>,
        resources: &str,
        agent: Option<&str>,
    ) -> Vec<TaskInfo> {
        let (offer, left) = self
            .take_offer(
                "an offer to launch on",
                &Resources::new(),
                tasks.len(),
                resources,
                agent,
            )
            .await;
        let tasks = place(tasks, left, resources, &offer);
        self.handle.launch_tasks(
            vec![offer.id.clone()],
            tasks.clone(),
            Filters {
                refuse_seconds: REFUSE_SECONDS,
            },
        );
        tasks
    }

    /// As [`Framework::launch`], for a task group: waits for an offer that
    /// holds `resources` for each task plus `executor`'s resources, and
    /// launches `tasks` under `executor` with one LAUNCH_GROUP. Returns the
    /// tasks as launched.
    pub async fn launch_group(
        &self,
        mut executor: ExecutorInfo,
        tasks: Vec<TaskInfo>,
        resources: &str,
    ) -> Vec<TaskInfo> {
        let (offer, mut left) = self
            .take_offer(
                "an offer to launch a group on",
                &executor.resources,
                tasks.len(),
                resources,
                None,
            )
            .await;
        if let Some(picked) = pick_resources(&left, &executor.resources, &offer.role) {
            left = left.minus(&picked);
            executor.resources = picked;
        }
        let tasks = place(tasks, left, resources, &offer);
        self.handle.accept_offers(
            vec![offer.id.clone()],
            vec![Operation::LaunchGroup {
                executor,
                task_group: tasks.clone(),
            }],
            Filters {
                refuse_seconds: REFUSE_SECONDS,
            },
        );
        tasks
    }

    /// Waits for an outstanding offer (on `agent`, if given) that holds
    /// `extra` plus `resources` for each of `count` tasks, and takes it:
    /// returns it and its resources.
    async fn take_offer(
        &self,
        what: &str,
        extra: &Resources,
        count: usize,
        resources: &str,
        agent: Option<&str>,
    ) -> (Offer, Resources) {
        let each = Resources::parse(resources, "*").expect("resources");
        let mut all = extra.clone();
        for _ in 0..count {
            all = all.plus(&each);
        }
        let offer = self
            .wait_for(what, Duration::from_secs(10), |_| {
                self.outstanding_offers().into_iter().find(|o| {
                    agent.is_none_or(|a| o.agent_id.as_str() == a)
                        && pick_resources(&o.resources, &all, &o.role).is_some()
                })
            })
            .await;
        self.used.lock().unwrap().insert(offer.id.clone());
        let left = offer.resources.clone();
        (offer, left)
    }

    /// Stops the driver (with `failover`: the framework stays registered
    /// for its failover timeout) and waits for the driver to end.
    pub async fn stop(&mut self, failover: bool) -> Status {
        self.handle.stop(failover);
        let driver = self.driver.take().expect("driver running");
        let (status, _) = driver.join().await.expect("driver ended");
        status
    }
}

impl Drop for Framework {
    fn drop(&mut self) {
        self.handle.abort();
        self.node.shutdown();
    }
}

/// `tasks` on `offer`'s agent, each given `resources` out of `left`.
fn place(
    tasks: Vec<TaskInfo>,
    mut left: Resources,
    resources: &str,
    offer: &Offer,
) -> Vec<TaskInfo> {
    let each = Resources::parse(resources, "*").expect("resources");
    tasks
        .into_iter()
        .map(|mut t| {
            let picked = pick_resources(&left, &each, &offer.role).expect("fits");
            left = left.minus(&picked);
            t.resources = picked;
            t.agent_id = offer.agent_id.clone();
            t
        })
        .collect()
}
