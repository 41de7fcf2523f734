//! The `marathon` process: the scheduler's core as an actor, its REST API
//! as the node's routes, its state kept in a [`Store`], and its leadership.
//!
//! Receives (local): [`Leadership`] (from the election, or at once without
//! one), [`MasterAt`] and `LeaderDetected` (where the Mesos master is),
//! [`Registered`], [`Offers`], [`Status`] (from the [`Forward`] scheduler
//! the driver calls back), and its own continuations ([`Loaded`],
//! [`Written`], [`DriverEnded`]) and timers. Sends, through the driver it
//! starts while it leads: launches, declines, kills, revive and suppress,
//! and reconciliation.
//!
//! # Leadership
//!
//! `Standby` (another instance leads: every request is proxied to it, see
//! [`super::proxy`]) → elected: `Recovering` (the store is loaded; requests
//! wait) → `Leading` (the core rebuilt from the store, the driver started
//! with the stored FrameworkID, known tasks reconciled). Losing leadership
//! (abdication, a lost ZooKeeper session) aborts the driver at once and
//! drops the core: the next leader recovers from the store. Each term has
//! a number; continuations of an earlier term are dropped.
//!
//! # Write before acting
//!
//! Work comes in rounds, one at a time. A round of events (offers, status
//! updates, ticks) runs on the core; a mutating request runs on a copy of
//! it. The differences with what the store holds ([`Persisted`]) are then
//! written, and only when the store said yes does the copy become the core,
//! the effects (launches, kills) go to Mesos and the request get its answer
//! (a 201 means the app is stored). A failed write answers 503 and changes
//! nothing; for events, the effects go out anyway (a task the store missed
//! is found by the implicit reconciliation of the next leader and killed)
//! and the write is retried. Reads are answered at once from the core.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actors::http::{Reply, Request, Response, StatusCode};
use actors::{Cx, Handle, Install, Pid, Process, ProcessRef};
use serde_json::{json, Value};
use tokio::sync::oneshot;
use wire::ids::FrameworkId;
use wire::mesos::{Filters, FrameworkInfo, MasterInfo, Offer, TaskStatus};

use super::api::{self, iso8601, Call, Context};
use super::app::App;
use super::error::{ApiError, Details};
use super::instances::{Core, Effect, Settings};
use super::leader::{Contest, Standing};
use super::path::PathId;
use super::proxy;
use super::store::{Changes, Persisted, Store, StoreError, MAX_RECORD_BYTES};
use crate::scheduler::{
    start, Options, Scheduler, SchedulerCalls, SchedulerDriver, Status as DriverStatus,
};
use crate::zookeeper::{LeaderDetected, ZkUrl};

/// How often launch timeouts and delays are looked at.
const TICK: Duration = Duration::from_secs(1);
/// The pause before a failed load or write is tried again.
const RETRY: Duration = Duration::from_secs(1);

/// The election's news.
pub struct Leadership(pub Standing);
/// The Mesos master found at start.
pub struct MasterAt(pub Pid);
pub struct Registered(pub u64, pub FrameworkId);
pub struct Offers(pub u64, pub Vec<Offer>);
pub struct Status(pub u64, pub TaskStatus);
struct Tick;
struct Loaded(
    u64,
    Result<std::collections::BTreeMap<String, Vec<u8>>, StoreError>,
);
struct Written(u64, Result<(), StoreError>);
struct RetryLoad(u64);
struct Repair(u64);
struct DriverEnded(u64, Result<DriverStatus, String>);
struct LeaderWaitOver(u64);

/// What the process is set up with.
pub struct Config {
    pub settings: Settings,
    /// `/v2/info` without the framework id.
    pub info: Value,
    /// This instance's `host:port`.
    pub me: String,
    /// The framework as it registers, without an id.
    pub framework: FrameworkInfo,
    pub store: Arc<dyn Store>,
    /// The election to join (the `--zk` URL and session timeout); without
    /// one this instance leads alone.
    pub election: Option<(ZkUrl, Duration)>,
    pub max_versions: usize,
    /// Told why, when the driver ends on its own (the master refused or
    /// removed the framework): the instance exits.
    pub ended: Option<oneshot::Sender<String>>,
}

#[derive(Debug, Clone, PartialEq)]
enum Role {
    /// Another instance leads, or none is known.
    Standby { leader: Option<String> },
    /// Elected; the store is being loaded.
    Recovering,
    /// Elected and recovered: the driver runs.
    Leading,
}

enum Event {
    Registered(FrameworkId),
    Offers(Vec<Offer>),
    Status(TaskStatus),
    Tick,
}

enum Queued {
    Event(Event),
    Request(Request, oneshot::Sender<Response>),
}

/// What waits for the write in flight.
enum Round {
    Events {
        effects: Vec<Effect>,
        changes: Changes,
    },
    Request {
        trial: Box<Core>,
        effects: Vec<Effect>,
        answer: Response,
        reply: oneshot::Sender<Response>,
        changes: Changes,
    },
}

struct Driver {
    calls: SchedulerCalls,
    pid: Pid,
}

pub struct MarathonProcess {
    /// Empty unless leading.
    core: Core,
    /// What the store holds, as last written or loaded (empty unless
    /// leading).
    persisted: Persisted,
    role: Role,
    /// Counts leadership changes; continuations carry the term they began in.
    term: u64,
    /// A load or a write is in flight: new work waits in `queue`.
    busy: bool,
    queue: VecDeque<Queued>,
    inflight: Option<Round>,
    /// Running only while leading.
    driver: Option<Driver>,
    /// The driver registered in this term.
    registered: bool,
    /// Effects decided before the driver registered.
    pending: Vec<Effect>,
    framework_id: Option<FrameworkId>,
    /// The leading Mesos master, once known.
    master: Option<Pid>,
    /// Requests on a standby waiting for a leader to be known, by number.
    waiting: Vec<(u64, Request, oneshot::Sender<Response>)>,
    next_waiting: u64,
    contest: Option<Contest>,
    config: Config,
}

fn now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

fn json_response(status: StatusCode, body: Value) -> Response {
    Response::new(status, body.to_string()).with_header("content-type", "application/json")
}

/// Answers `reply` with what `reply_now` comes to, now or later.
fn answer(reply: oneshot::Sender<Response>, with: Reply) {
    match with {
        Reply::Now(response) => {
            let _ = reply.send(response);
        }
        Reply::Later(future) => {
            actix::spawn(async move {
                let _ = reply.send(future.await);
            });
        }
    }
}

/// What the API is answered with beside the core.
struct ApiEnv<'a> {
    info: &'a Value,
    me: &'a str,
    framework_id: Option<&'a FrameworkId>,
    versions: &'a std::collections::BTreeMap<PathId, std::collections::BTreeMap<String, App>>,
}

/// The API's answer to `request` on `core`, as a response (with the
/// leader's header).
fn api_response(
    core: &mut Core,
    request: &Request,
    env: &ApiEnv,
    out: &mut Vec<Effect>,
) -> (StatusCode, Response) {
    let accept_text = request
        .header("accept")
        .is_some_and(|a| a.contains("text/plain") && !a.contains("json"));
    let call = Call {
        method: request.method.as_str(),
        path: &request.path,
        query: &request.query,
        body: &request.body,
        accept_text,
    };
    let now = now();
    let version = iso8601(now);
    let deployment = crate::random::uuid_v4_string();
    let mut info = env.info.clone();
    if let Some(id) = env.framework_id {
        info["frameworkId"] = json!(id.value);
    }
    let cx = Context {
        version: &version,
        deployment: &deployment,
        now,
        info: &info,
        leader: env.me,
        versions: env.versions,
    };
    let answer = api::handle(core, &call, &cx, out);
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response =
        Response::new(status, answer.body).with_header("content-type", answer.content_type);
    for (k, v) in &answer.headers {
        response = response.with_header(k, v);
    }
    (status, with_leader(response, env.me))
}

fn with_leader(response: Response, me: &str) -> Response {
    response.with_header(proxy::LEADER, &format!("http://{me}"))
}

fn is_read(request: &Request) -> bool {
    matches!(request.method.as_str(), "GET" | "HEAD")
}

/// A reply that comes when `rx` is answered (503 if it never is).
fn later(rx: oneshot::Receiver<Response>) -> Reply {
    Reply::later(async move {
        rx.await.unwrap_or_else(|_| {
            proxy::error(StatusCode::SERVICE_UNAVAILABLE, "The request was dropped")
        })
    })
}

impl MarathonProcess {
    pub fn new(config: Config) -> MarathonProcess {
        MarathonProcess {
            core: Core::new(config.settings.clone(), crate::random::seed()),
            persisted: Persisted::default(),
            role: Role::Standby { leader: None },
            term: 0,
            busy: false,
            queue: VecDeque::new(),
            inflight: None,
            driver: None,
            registered: false,
            pending: Vec::new(),
            framework_id: None,
            master: None,
            waiting: Vec::new(),
            next_waiting: 0,
            contest: None,
            config,
        }
    }

    fn apply(&mut self, effects: Vec<Effect>) {
        let Some(calls) = self
            .driver
            .as_ref()
            .map(|d| &d.calls)
            .filter(|_| self.registered)
        else {
            self.pending.extend(effects);
            return;
        };
        for effect in effects {
            match effect {
                Effect::Launch { offer, tasks } => {
                    tracing::info!(offer = %offer, tasks = tasks.len(), "launching");
                    calls.launch_tasks(
                        vec![offer],
                        tasks,
                        Filters {
                            refuse_seconds: 5.0,
                        },
                    );
                }
                Effect::Decline { offer, seconds } => calls.decline_offer(
                    offer,
                    Filters {
                        refuse_seconds: seconds,
                    },
                ),
                Effect::Kill(task) => calls.kill_task(task),
                Effect::Revive => calls.revive_offers(),
                Effect::Suppress => calls.suppress_offers(),
            }
        }
    }

    // ---- leadership ----

    fn leadership(&mut self, standing: Standing, cx: &mut Cx<'_, Self>) {
        match (standing.leading, &self.role) {
            (true, Role::Standby { .. }) => {
                self.term += 1;
                tracing::info!(term = self.term, "elected leader; recovering the state");
                self.role = Role::Recovering;
                self.busy = true;
                self.load(cx);
            }
            (true, _) => {}
            (false, Role::Standby { .. }) => {
                self.role = Role::Standby {
                    leader: standing.leader,
                };
            }
            (false, _) => self.step_down(standing.leader, cx),
        }
        // Requests that waited for a leader go where they now can.
        let known = !matches!(&self.role, Role::Standby { leader: None });
        if known {
            for (_, request, reply) in std::mem::take(&mut self.waiting) {
                let r = self.serve(request, cx);
                answer(reply, r);
            }
        }
    }

    /// Stops acting as the leader at once: the driver is aborted (the
    /// master keeps the framework for its failover timeout), the core and
    /// its copy of the store dropped.
    fn step_down(&mut self, leader: Option<String>, cx: &mut Cx<'_, Self>) {
        self.term += 1;
        tracing::warn!(
            term = self.term,
            ?leader,
            "no longer the leader; stopping the scheduler"
        );
        if let Some(driver) = self.driver.take() {
            driver.calls.abort();
        }
        self.registered = false;
        self.pending.clear();
        self.core = Core::new(self.config.settings.clone(), crate::random::seed());
        self.persisted = Persisted::default();
        self.framework_id = None;
        self.busy = false;
        self.role = Role::Standby { leader };
        if let Some(Round::Request { reply, .. }) = self.inflight.take() {
            let _ = reply.send(proxy::error(
                StatusCode::SERVICE_UNAVAILABLE,
                "Leadership was lost before the change was stored",
            ));
        }
        // Requests that waited for this leader go to the next one.
        for queued in std::mem::take(&mut self.queue) {
            if let Queued::Request(request, reply) = queued {
                let r = self.serve(request, cx);
                answer(reply, r);
            }
        }
    }

    fn load(&mut self, cx: &mut Cx<'_, Self>) {
        let term = self.term;
        cx.defer(self.config.store.load(), move |r| Loaded(term, r));
    }

    fn recovered(
        &mut self,
        raw: std::collections::BTreeMap<String, Vec<u8>>,
        cx: &mut Cx<'_, Self>,
    ) {
        let (persisted, warnings) = Persisted::decode(raw);
        for w in warnings {
            tracing::warn!("{w}");
        }
        let mut core = Core::new(self.config.settings.clone(), crate::random::seed());
        let mut out = Vec::new();
        core.restore(
            persisted.apps.values().cloned().collect(),
            persisted.instances.values().cloned().collect(),
            &mut out,
        );
        tracing::info!(
            apps = persisted.apps.len(),
            instances = persisted.instances.len(),
            framework = ?persisted.framework_id,
            store = %self.config.store.describe(),
            "recovered the state"
        );
        self.framework_id = persisted.framework_id.clone().map(FrameworkId::new);
        self.core = core;
        self.persisted = persisted;
        self.role = Role::Leading;
        self.busy = false;
        self.start_driver(cx);
        self.events_round(out, cx);
        self.drain(cx);
    }

    fn start_driver(&mut self, cx: &mut Cx<'_, Self>) {
        if self.role != Role::Leading || self.driver.is_some() {
            return;
        }
        let Some(master) = self.master.clone() else {
            tracing::info!("waiting for a Mesos master before registering");
            return;
        };
        let mut framework = self.config.framework.clone();
        framework.id = self.framework_id.clone();
        tracing::info!(framework = ?framework.id, %master, "registering with Mesos");
        let forward = Forward {
            process: cx.handle(),
            term: self.term,
        };
        match start(cx.node(), master, framework, forward, Options::default()) {
            Ok(handle) => {
                self.driver = Some(Driver {
                    calls: handle.calls(),
                    pid: handle.pid().clone(),
                });
                let term = self.term;
                cx.defer(handle.join(), move |r| {
                    DriverEnded(term, r.map(|(s, _)| s).map_err(|e| e.to_string()))
                });
            }
            Err(e) => tracing::error!("cannot start the scheduler driver: {e}"),
        }
    }

    // ---- rounds ----

    fn enqueue(&mut self, queued: Queued, cx: &mut Cx<'_, Self>) {
        self.queue.push_back(queued);
        self.drain(cx);
    }

    /// Runs the queued work until a write is in flight.
    fn drain(&mut self, cx: &mut Cx<'_, Self>) {
        while !self.busy && self.role == Role::Leading {
            match self.queue.pop_front() {
                None => break,
                Some(Queued::Request(request, reply)) => self.request_round(request, reply, cx),
                Some(Queued::Event(event)) => {
                    // Every event waiting goes into one round (one write).
                    let mut effects = Vec::new();
                    self.event(event, &mut effects);
                    while let Some(Queued::Event(_)) = self.queue.front() {
                        if let Some(Queued::Event(event)) = self.queue.pop_front() {
                            self.event(event, &mut effects);
                        }
                    }
                    self.events_round(effects, cx);
                }
            }
        }
    }

    fn event(&mut self, event: Event, effects: &mut Vec<Effect>) {
        match event {
            Event::Offers(offers) => self.core.offers(offers, now(), effects),
            Event::Status(status) => self.core.status(&status, now(), effects),
            Event::Tick => self.core.tick(now(), effects),
            Event::Registered(id) => {
                tracing::info!(framework = %id, "registered with Mesos");
                self.framework_id = Some(id);
                self.registered = true;
                // Whatever was decided before, offers are wanted if anything waits.
                effects.extend(
                    std::mem::take(&mut self.pending)
                        .into_iter()
                        .filter(|e| !matches!(e, Effect::Revive | Effect::Suppress)),
                );
                effects.push(Effect::Revive);
                self.reconcile();
            }
        }
    }

    /// Explicit reconciliation of every task the core knows, then implicit
    /// (the master answers with all of the framework's tasks, and those
    /// the core does not know are killed).
    fn reconcile(&self) {
        let Some(driver) = &self.driver else {
            return;
        };
        let statuses: Vec<TaskStatus> = self
            .core
            .live_tasks()
            .into_iter()
            .map(|(id, agent)| {
                let mut s = TaskStatus::new(id, wire::task::TaskState::Staging);
                s.agent_id = agent;
                s
            })
            .collect();
        tracing::info!(tasks = statuses.len(), "reconciling tasks with the master");
        if !statuses.is_empty() {
            driver.calls.reconcile_tasks(statuses);
        }
        driver.calls.reconcile_tasks(Vec::new());
    }

    fn framework_id_text(&self) -> Option<&str> {
        self.framework_id.as_ref().map(|f| f.value.as_str())
    }

    fn events_round(&mut self, effects: Vec<Effect>, cx: &mut Cx<'_, Self>) {
        let changes = match self.persisted.changes(
            &self.core,
            self.framework_id_text(),
            self.config.max_versions,
        ) {
            Ok(changes) => changes,
            Err(too_large) => {
                tracing::error!(app = %too_large.app, bytes = too_large.bytes, "an app is too large to store");
                Changes::default()
            }
        };
        if changes.is_empty() {
            self.apply(effects);
            return;
        }
        self.write(Round::Events { effects, changes }, cx);
    }

    fn write(&mut self, round: Round, cx: &mut Cx<'_, Self>) {
        let writes = match &round {
            Round::Events { changes, .. } | Round::Request { changes, .. } => {
                changes.writes.clone()
            }
        };
        tracing::debug!(writes = writes.len(), "storing");
        self.busy = true;
        self.inflight = Some(round);
        let term = self.term;
        cx.defer(self.config.store.apply(writes), move |r| Written(term, r));
    }

    fn written(&mut self, result: Result<(), StoreError>, cx: &mut Cx<'_, Self>) {
        self.busy = false;
        let Some(round) = self.inflight.take() else {
            return;
        };
        match (round, result) {
            (Round::Events { effects, changes }, Ok(())) => {
                self.persisted.commit(changes);
                self.apply(effects);
            }
            (
                Round::Request {
                    trial,
                    effects,
                    answer,
                    reply,
                    changes,
                },
                Ok(()),
            ) => {
                self.persisted.commit(changes);
                self.core = *trial;
                self.apply(effects);
                let _ = reply.send(answer);
            }
            (Round::Events { effects, changes }, Err(e)) => {
                tracing::error!("cannot store the state ({e}); acting anyway, retrying the write");
                self.persisted.failed(&changes);
                self.apply(effects);
                cx.delay(RETRY, Repair(self.term));
            }
            (Round::Request { reply, changes, .. }, Err(e)) => {
                tracing::error!("cannot store a change ({e}); refusing it");
                self.persisted.failed(&changes);
                let _ = reply.send(self.leader_headers(proxy::error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &format!("The change could not be stored: {e}"),
                )));
                // What the failed write may have left is set right soon.
                cx.delay(RETRY, Repair(self.term));
            }
        }
        self.drain(cx);
    }

    fn request_round(
        &mut self,
        request: Request,
        reply: oneshot::Sender<Response>,
        cx: &mut Cx<'_, Self>,
    ) {
        if is_read(&request) {
            let (_, response) = self.answer_on_core(&request, &mut Vec::new());
            let _ = reply.send(response);
            return;
        }
        let mut trial = Box::new(self.core.clone());
        let mut effects = Vec::new();
        let env = ApiEnv {
            info: &self.config.info,
            me: &self.config.me,
            framework_id: self.framework_id.as_ref(),
            versions: &self.persisted.versions,
        };
        let (status, response) = api_response(&mut trial, &request, &env, &mut effects);
        if !status.is_success() {
            let _ = reply.send(response);
            return;
        }
        let changes = match self.persisted.changes(
            &trial,
            self.framework_id_text(),
            self.config.max_versions,
        ) {
            Ok(changes) => changes,
            Err(too_large) => {
                let mut d = Details::default();
                d.push(
                    "/",
                    format!(
                        "The app's definition is {} bytes; at most {MAX_RECORD_BYTES} can be stored",
                        too_large.bytes
                    ),
                );
                let e = ApiError::Invalid(d);
                let _ = reply.send(
                    self.leader_headers(json_response(StatusCode::UNPROCESSABLE_ENTITY, e.body())),
                );
                return;
            }
        };
        if changes.is_empty() {
            self.core = *trial;
            self.apply(effects);
            let _ = reply.send(response);
            return;
        }
        self.write(
            Round::Request {
                trial,
                effects,
                answer: response,
                reply,
                changes,
            },
            cx,
        );
    }

    fn leader_headers(&self, response: Response) -> Response {
        with_leader(response, &self.config.me)
    }

    /// Answers `request` on the core itself: for reads, and changes that
    /// need no write.
    fn answer_on_core(
        &mut self,
        request: &Request,
        out: &mut Vec<Effect>,
    ) -> (StatusCode, Response) {
        let env = ApiEnv {
            info: &self.config.info,
            me: &self.config.me,
            framework_id: self.framework_id.as_ref(),
            versions: &self.persisted.versions,
        };
        api_response(&mut self.core, request, &env, out)
    }

    // ---- requests ----

    fn serve(&mut self, request: Request, cx: &mut Cx<'_, Self>) -> Reply {
        match &self.role {
            Role::Standby { leader } => {
                let leader = leader.clone();
                self.standby(request, leader, cx)
            }
            Role::Recovering => {
                let (tx, rx) = oneshot::channel();
                self.queue.push_back(Queued::Request(request, tx));
                later(rx)
            }
            Role::Leading => {
                if request.method.as_str() == "DELETE"
                    && request.path.trim_end_matches('/') == "/v2/leader"
                {
                    return Reply::Now(self.abdicate(cx));
                }
                if is_read(&request) {
                    // A read sees the state as last stored.
                    let (_, response) = self.answer_on_core(&request, &mut Vec::new());
                    return Reply::Now(response);
                }
                let (tx, rx) = oneshot::channel();
                self.enqueue(Queued::Request(request, tx), cx);
                later(rx)
            }
        }
    }

    fn standby(
        &mut self,
        request: Request,
        leader: Option<String>,
        cx: &mut Cx<'_, Self>,
    ) -> Reply {
        let me = self.config.me.clone();
        if proxy::is_loop(&request, &me) {
            tracing::error!(path = %request.path, "a proxying loop; refusing the request");
            return Reply::Now(proxy::error(StatusCode::BAD_GATEWAY, proxy::LOOP));
        }
        match leader.filter(|l| *l != me) {
            Some(leader) if request.path.starts_with("/v2/events") => {
                Reply::Now(proxy::redirect(&request, &leader))
            }
            Some(leader) => Reply::later(proxy::forward(request, leader, me)),
            None => {
                // Marathon holds a request 10 × 250 ms for a leader.
                let (tx, rx) = oneshot::channel();
                let n = self.next_waiting;
                self.next_waiting += 1;
                self.waiting.push((n, request, tx));
                cx.delay(proxy::LEADER_WAIT, LeaderWaitOver(n));
                later(rx)
            }
        }
    }

    /// `DELETE /v2/leader` on the leader: steps down; another instance
    /// takes over, and this one stands again.
    fn abdicate(&mut self, cx: &mut Cx<'_, Self>) -> Response {
        tracing::info!("abdicating on request");
        match &self.contest {
            Some(contest) => contest.abdicate(),
            None => {
                // Alone: step down and lead again, from the store.
                self.step_down(None, cx);
                let me = cx.me().clone();
                let leader = Some(self.config.me.clone());
                cx.node().send_local(
                    &me,
                    &me,
                    Leadership(Standing {
                        leading: true,
                        leader,
                    }),
                );
            }
        }
        self.leader_headers(json_response(
            StatusCode::OK,
            json!({"message": "Leadership abdicated"}),
        ))
    }
}

impl Process for MarathonProcess {
    fn install(i: &mut Install<Self>) {
        i.local::<Leadership>()
            .local::<MasterAt>()
            .local::<LeaderDetected>()
            .local::<Registered>()
            .local::<Offers>()
            .local::<Status>()
            .local::<Tick>()
            .local::<Loaded>()
            .local::<Written>()
            .local::<RetryLoad>()
            .local::<Repair>()
            .local::<DriverEnded>()
            .local::<LeaderWaitOver>()
            .route("/v2", |p, req, cx| p.serve(req, cx))
            .route("/ping", |p, req, cx| p.serve(req, cx));
    }

    fn started(&mut self, cx: &mut Cx<'_, Self>) {
        cx.delay(TICK, Tick);
        let (node, me) = (cx.node().clone(), cx.me().clone());
        match self.config.election.clone() {
            None => {
                let leader = Some(self.config.me.clone());
                node.send_local(
                    &me,
                    &me,
                    Leadership(Standing {
                        leading: true,
                        leader,
                    }),
                );
            }
            Some((url, session_timeout)) => {
                let report = move |standing: Standing| {
                    node.send_local(&me, &me, Leadership(standing));
                };
                match Contest::join(&url, session_timeout, self.config.me.clone(), report) {
                    Ok(contest) => self.contest = Some(contest),
                    Err(e) => {
                        tracing::error!("cannot join the leader election: {e}");
                        if let Some(ended) = self.config.ended.take() {
                            let _ = ended.send(e);
                        }
                    }
                }
            }
        }
    }
}

impl Handle<Leadership> for MarathonProcess {
    fn handle(&mut self, m: Leadership, _: &Pid, cx: &mut Cx<'_, Self>) {
        self.leadership(m.0, cx);
    }
}

impl Handle<MasterAt> for MarathonProcess {
    fn handle(&mut self, m: MasterAt, _: &Pid, cx: &mut Cx<'_, Self>) {
        if self.master.is_none() {
            self.master = Some(m.0);
            self.start_driver(cx);
        }
    }
}

impl Handle<LeaderDetected> for MarathonProcess {
    fn handle(&mut self, m: LeaderDetected, _: &Pid, cx: &mut Cx<'_, Self>) {
        if let Some(pid) = m.leader.as_ref().and_then(|l| l.pid.parse::<Pid>().ok()) {
            self.master = Some(pid);
        }
        match &self.driver {
            Some(driver) => {
                let pid = driver.pid.clone();
                cx.node().send_local(cx.me(), &pid, m);
            }
            None => self.start_driver(cx),
        }
    }
}

impl Handle<Registered> for MarathonProcess {
    fn handle(&mut self, m: Registered, _: &Pid, cx: &mut Cx<'_, Self>) {
        if m.0 == self.term && self.role == Role::Leading {
            self.enqueue(Queued::Event(Event::Registered(m.1)), cx);
        }
    }
}

impl Handle<Offers> for MarathonProcess {
    fn handle(&mut self, m: Offers, _: &Pid, cx: &mut Cx<'_, Self>) {
        if m.0 == self.term && self.role == Role::Leading {
            self.enqueue(Queued::Event(Event::Offers(m.1)), cx);
        }
    }
}

impl Handle<Status> for MarathonProcess {
    fn handle(&mut self, m: Status, _: &Pid, cx: &mut Cx<'_, Self>) {
        if m.0 == self.term && self.role == Role::Leading {
            self.enqueue(Queued::Event(Event::Status(m.1)), cx);
        }
    }
}

impl Handle<Tick> for MarathonProcess {
    fn handle(&mut self, _: Tick, _: &Pid, cx: &mut Cx<'_, Self>) {
        // Ticks are not worth a place in a queue that already has work.
        if self.role == Role::Leading && self.queue.is_empty() {
            self.enqueue(Queued::Event(Event::Tick), cx);
        }
        cx.delay(TICK, Tick);
    }
}

impl Handle<Loaded> for MarathonProcess {
    fn handle(&mut self, Loaded(term, result): Loaded, _: &Pid, cx: &mut Cx<'_, Self>) {
        if term != self.term || self.role != Role::Recovering {
            return;
        }
        match result {
            Ok(raw) => self.recovered(raw, cx),
            Err(e) => {
                tracing::error!("cannot load the state ({e}); retrying");
                cx.delay(RETRY, RetryLoad(term));
            }
        }
    }
}

impl Handle<RetryLoad> for MarathonProcess {
    fn handle(&mut self, RetryLoad(term): RetryLoad, _: &Pid, cx: &mut Cx<'_, Self>) {
        if term == self.term && self.role == Role::Recovering {
            self.load(cx);
        }
    }
}

impl Handle<Written> for MarathonProcess {
    fn handle(&mut self, Written(term, result): Written, _: &Pid, cx: &mut Cx<'_, Self>) {
        if term == self.term {
            self.written(result, cx);
        }
    }
}

impl Handle<Repair> for MarathonProcess {
    fn handle(&mut self, Repair(term): Repair, _: &Pid, cx: &mut Cx<'_, Self>) {
        // A busy store writes what is left with its next round.
        if term == self.term
            && !self.busy
            && self.role == Role::Leading
            && self.persisted.has_dirty()
        {
            self.events_round(Vec::new(), cx);
        }
    }
}

impl Handle<DriverEnded> for MarathonProcess {
    fn handle(&mut self, DriverEnded(term, result): DriverEnded, _: &Pid, _: &mut Cx<'_, Self>) {
        if term != self.term {
            return;
        }
        let reason = match result {
            Ok(status) => format!("the scheduler driver ended: {status:?}"),
            Err(e) => format!("the scheduler driver vanished: {e}"),
        };
        tracing::error!("{reason}");
        self.driver = None;
        if let Some(ended) = self.config.ended.take() {
            let _ = ended.send(reason);
        }
    }
}

impl Handle<LeaderWaitOver> for MarathonProcess {
    fn handle(&mut self, LeaderWaitOver(n): LeaderWaitOver, _: &Pid, _: &mut Cx<'_, Self>) {
        if let Some(at) = self.waiting.iter().position(|(m, _, _)| *m == n) {
            let (_, _, reply) = self.waiting.remove(at);
            let _ = reply.send(proxy::error(
                StatusCode::SERVICE_UNAVAILABLE,
                proxy::NO_LEADER,
            ));
        }
    }
}

/// The framework's callbacks, each handed to the marathon process with
/// the term the driver was started in.
pub struct Forward {
    process: ProcessRef<MarathonProcess>,
    term: u64,
}

impl Scheduler for Forward {
    fn registered(&mut self, driver: &mut SchedulerDriver, id: FrameworkId, _: MasterInfo) {
        self.process.tell(driver.pid(), Registered(self.term, id));
    }

    fn reregistered(&mut self, driver: &mut SchedulerDriver, _: MasterInfo) {
        if let Some(id) = driver.framework_id().cloned() {
            self.process.tell(driver.pid(), Registered(self.term, id));
        }
    }

    fn resource_offers(&mut self, driver: &mut SchedulerDriver, offers: Vec<Offer>) {
        self.process.tell(driver.pid(), Offers(self.term, offers));
    }

    fn status_update(&mut self, driver: &mut SchedulerDriver, status: TaskStatus) {
        self.process.tell(driver.pid(), Status(self.term, status));
    }

    fn error(&mut self, _: &mut SchedulerDriver, message: String) {
        tracing::error!("the master refused the framework: {message}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::marathon::store::MemoryStore;
    use actors::{Node, NodeConfig};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn request(node: &Node, method: &str, path: &str, body: &str) -> (u16, Value) {
        let mut s = tokio::net::TcpStream::connect(node.address())
            .await
            .unwrap();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        s.write_all(head.as_bytes()).await.unwrap();
        let mut raw = String::new();
        s.read_to_string(&mut raw).await.unwrap();
        let status = raw
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let body = raw.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        (status, serde_json::from_str(body).unwrap_or(Value::Null))
    }

    async fn marathon(store: Arc<MemoryStore>) -> Node {
        let node = Node::bind(NodeConfig::default()).await.unwrap();
        let me = node.address().to_string();
        let process = MarathonProcess::new(Config {
            settings: Settings::default(),
            info: json!({"name": "marathon"}),
            me,
            framework: FrameworkInfo::new("root", "marathon"),
            store,
            election: None,
            max_versions: 50,
            ended: None,
        });
        node.spawn("marathon", process).unwrap();
        node.set_delegate("marathon");
        node
    }

    #[actix::test]
    async fn a_failed_write_answers_503_and_changes_nothing() {
        let store = Arc::new(MemoryStore::new());
        let node = marathon(store.clone()).await;
        let (status, body) = request(
            &node,
            "POST",
            "/v2/apps",
            r#"{"id": "kept", "cmd": "sleep 60", "cpus": 0.1}"#,
        )
        .await;
        assert_eq!(status, 201, "{body}");
        assert!(
            store.records().contains_key("app/kept"),
            "stored before the answer"
        );

        store.fail(true);
        let (status, body) =
            request(&node, "POST", "/v2/apps", r#"{"id": "lost", "cmd": "x"}"#).await;
        assert_eq!(status, 503, "{body}");
        assert!(body["message"]
            .as_str()
            .unwrap()
            .contains("could not be stored"));
        assert_eq!(request(&node, "GET", "/v2/apps/lost", "").await.0, 404);
        let (status, _) = request(&node, "PUT", "/v2/apps/kept", r#"{"instances": 4}"#).await;
        assert_eq!(status, 503);
        let (_, app) = request(&node, "GET", "/v2/apps/kept", "").await;
        assert_eq!(app["app"]["instances"], 1, "the scale was not taken in");

        // A refused request writes nothing at all.
        let (status, _) = request(&node, "POST", "/v2/apps", r#"{"id": "Bad"}"#).await;
        assert_eq!(status, 422);

        store.fail(false);
        let (status, _) = request(&node, "POST", "/v2/apps", r#"{"id": "lost", "cmd": "x"}"#).await;
        assert_eq!(status, 201);
        let (_, apps) = request(&node, "GET", "/v2/apps", "").await;
        assert_eq!(apps["apps"].as_array().unwrap().len(), 2);
        node.shutdown();
    }

    #[actix::test]
    async fn an_app_too_large_to_store_is_422_and_recovery_reads_the_store() {
        let store = Arc::new(MemoryStore::new());
        let node = marathon(store.clone()).await;
        let env: serde_json::Map<String, Value> = (0..1500)
            .map(|n| (format!("K{n}"), json!("v".repeat(400))))
            .collect();
        let big = json!({"id": "big", "cmd": "x", "env": env}).to_string();
        let (status, body) = request(&node, "POST", "/v2/apps", &big).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["message"], "Object is not valid");
        assert!(store.records().is_empty());
        let (status, _) = request(
            &node,
            "POST",
            "/v2/apps",
            r#"{"id": "small", "cmd": "x", "instances": 2}"#,
        )
        .await;
        assert_eq!(status, 201);
        node.shutdown();

        // Another instance on the same store has the app.
        let node = marathon(store).await;
        let (status, app) = request(&node, "GET", "/v2/apps/small", "").await;
        assert_eq!((status, app["app"]["instances"].clone()), (200, json!(2)));
        node.shutdown();
    }
}
