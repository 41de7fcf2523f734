//! The `marathon` process: the scheduler's core as an actor, its REST API
//! as the node's routes, and the framework's driver feeding it.
//!
//! Receives (local): [`Attach`] (the driver's calls), [`Registered`],
//! [`Offers`], [`Status`] (from the [`Forward`] scheduler the driver
//! calls back), and its own [`Tick`]. Sends, through the driver: launches,
//! declines, kills, revive and suppress, and reconciliation.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actors::http::{Reply, Request, Response, StatusCode};
use actors::{Cx, Handle, Install, Pid, Process, ProcessRef};
use serde_json::{json, Value};
use wire::ids::FrameworkId;
use wire::mesos::{Filters, MasterInfo, Offer, TaskStatus};

use super::api::{self, iso8601, Call, Context};
use super::instances::{Core, Effect};
use crate::scheduler::{Scheduler, SchedulerCalls, SchedulerDriver};

/// How often launch timeouts and delays are looked at.
const TICK: Duration = Duration::from_secs(1);

pub struct Attach(pub SchedulerCalls);
pub struct Registered(pub FrameworkId);
pub struct Offers(pub Vec<Offer>);
pub struct Status(pub TaskStatus);
struct Tick;

pub struct MarathonProcess {
    core: Core,
    calls: Option<SchedulerCalls>,
    /// Effects decided before the driver was attached and registered.
    pending: Vec<Effect>,
    registered: bool,
    framework_id: Option<FrameworkId>,
    /// `/v2/info` without the framework id.
    info: Value,
    leader: String,
}

impl MarathonProcess {
    pub fn new(core: Core, info: Value, leader: String) -> MarathonProcess {
        MarathonProcess {
            core,
            calls: None,
            pending: Vec::new(),
            registered: false,
            framework_id: None,
            info,
            leader,
        }
    }

    fn now() -> Duration {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
    }

    fn apply(&mut self, effects: Vec<Effect>) {
        let Some(calls) = self.calls.as_ref().filter(|_| self.registered) else {
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

    fn serve(&mut self, request: Request) -> Reply {
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
        let now = Self::now();
        let version = iso8601(now);
        let deployment = crate::random::uuid_v4_string();
        let mut info = self.info.clone();
        if let Some(id) = &self.framework_id {
            info["frameworkId"] = json!(id.value);
        }
        let cx = Context {
            version: &version,
            deployment: &deployment,
            now,
            info: &info,
            leader: &self.leader,
        };
        let mut out = Vec::new();
        let answer = api::handle(&mut self.core, &call, &cx, &mut out);
        self.apply(out);
        let status =
            StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response =
            Response::new(status, answer.body).with_header("content-type", answer.content_type);
        for (k, v) in &answer.headers {
            response = response.with_header(k, v);
        }
        Reply::Now(response)
    }
}

impl Process for MarathonProcess {
    fn install(i: &mut Install<Self>) {
        i.local::<Attach>()
            .local::<Registered>()
            .local::<Offers>()
            .local::<Status>()
            .local::<Tick>()
            .route("/v2", |p, req, _| p.serve(req))
            .route("/ping", |p, req, _| p.serve(req));
    }

    fn started(&mut self, cx: &mut Cx<'_, Self>) {
        cx.delay(TICK, Tick);
    }
}

impl Handle<Attach> for MarathonProcess {
    fn handle(&mut self, m: Attach, _: &Pid, _: &mut Cx<'_, Self>) {
        self.calls = Some(m.0);
    }
}

impl Handle<Registered> for MarathonProcess {
    fn handle(&mut self, m: Registered, _: &Pid, _: &mut Cx<'_, Self>) {
        tracing::info!(framework = %m.0, "registered with Mesos");
        self.framework_id = Some(m.0);
        self.registered = true;
        let pending = std::mem::take(&mut self.pending);
        // Whatever was decided before, offers are wanted if anything waits.
        let mut effects: Vec<Effect> = pending
            .into_iter()
            .filter(|e| !matches!(e, Effect::Revive | Effect::Suppress))
            .collect();
        effects.push(Effect::Revive);
        self.apply(effects);
        if let Some(calls) = &self.calls {
            let statuses = self
                .core
                .live_tasks()
                .into_iter()
                .map(|(id, agent)| {
                    let mut s = TaskStatus::new(id, wire::task::TaskState::Staging);
                    s.agent_id = agent;
                    s
                })
                .collect();
            calls.reconcile_tasks(statuses);
        }
    }
}

impl Handle<Offers> for MarathonProcess {
    fn handle(&mut self, m: Offers, _: &Pid, _: &mut Cx<'_, Self>) {
        let mut out = Vec::new();
        self.core.offers(m.0, Self::now(), &mut out);
        self.apply(out);
    }
}

impl Handle<Status> for MarathonProcess {
    fn handle(&mut self, m: Status, _: &Pid, _: &mut Cx<'_, Self>) {
        let mut out = Vec::new();
        self.core.status(&m.0, Self::now(), &mut out);
        self.apply(out);
    }
}

impl Handle<Tick> for MarathonProcess {
    fn handle(&mut self, _: Tick, _: &Pid, cx: &mut Cx<'_, Self>) {
        let mut out = Vec::new();
        self.core.tick(Self::now(), &mut out);
        self.apply(out);
        cx.delay(TICK, Tick);
    }
}

/// The framework's callbacks, each handed to the marathon process.
pub struct Forward(pub ProcessRef<MarathonProcess>);

impl Scheduler for Forward {
    fn registered(&mut self, driver: &mut SchedulerDriver, id: FrameworkId, _: MasterInfo) {
        self.0.tell(driver.pid(), Registered(id));
    }

    fn reregistered(&mut self, driver: &mut SchedulerDriver, _: MasterInfo) {
        if let Some(id) = driver.framework_id().cloned() {
            self.0.tell(driver.pid(), Registered(id));
        }
    }

    fn resource_offers(&mut self, driver: &mut SchedulerDriver, offers: Vec<Offer>) {
        self.0.tell(driver.pid(), Offers(offers));
    }

    fn status_update(&mut self, driver: &mut SchedulerDriver, status: TaskStatus) {
        self.0.tell(driver.pid(), Status(status));
    }

    fn error(&mut self, _: &mut SchedulerDriver, message: String) {
        tracing::error!("the master refused the framework: {message}");
    }
}
