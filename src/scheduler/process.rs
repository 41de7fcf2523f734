//! The scheduler driver process (Mesos's `SchedulerProcess` behind
//! `MesosSchedulerDriver`, `src/sched/sched.cpp`).
//!
//! One process per framework instance, id `scheduler-<uuid>`. It owns the
//! framework's [`Scheduler`] and the [`SchedulerDriver`] its callbacks act
//! on, and keeps them in step with the master:
//!
//! - Registration: `Subscribe { framework, force }` to the master at once,
//!   then again after a random delay in `[0, backoff]` until the master
//!   answers; `backoff` starts at 2 s and doubles, capped at
//!   min(1 min, failover_timeout / 10). `force` is true only while a
//!   FrameworkInfo that came with an id has not registered yet (a scheduler
//!   failing over); later re-subscriptions carry the id without `force`,
//!   so the master answers `FrameworkReregistered`, as with Mesos's driver.
//! - The master is linked: when its connection breaks the scheduler hears
//!   `disconnected` and the driver registers again.
//! - Messages not from the master are ignored and counted
//!   (`scheduler/ignored_messages`), except executor messages, which an
//!   agent may send straight to the scheduler.
//! - Status updates carrying a uuid are acknowledged to the master after
//!   the `status_update` callback returns (implicit acknowledgements), or
//!   only when the scheduler calls `acknowledge_status_update` (explicit).
//!   Updates without one (made by the master or the driver) never are.
//! - `FrameworkError` aborts the driver (deactivating the framework) and
//!   reaches the scheduler as `error`. Once the driver stops, aborts or
//!   fails the process ends and hands the scheduler back.
//!
//! Receives: `FrameworkRegistered`, `FrameworkReregistered`,
//! `FrameworkError`, `ResourceOffers`, `RescindOffer`, `StatusUpdateMessage`,
//! `AgentLost`, `ExitedExecutor`, `ExecutorToFramework`; locally, calls from
//! [`SchedulerCalls`](super::SchedulerCalls) and its own timers. Sends
//! `Subscribe` and `Acknowledge` itself, and the calls of `driver.rs`.

use std::time::Duration;

use actix::SpawnHandle;
use actors::metrics::Counter;
use actors::{Cx, Handle, Install, Pid, Process};
use tokio::sync::oneshot;
use wire::agent::{ExecutorToFramework, ExitedExecutor, StatusUpdateMessage};
use wire::ids::FrameworkId;
use wire::mesos::{MasterInfo, StatusUpdate};
use wire::scheduler::{
    Acknowledge, AgentLost, FrameworkError, FrameworkRegistered, FrameworkReregistered,
    RescindOffer, ResourceOffers, Subscribe,
};

use crate::random;
use crate::zookeeper::LeaderDetected;

use super::driver::{Call, Scheduler, SchedulerDriver, Status};

/// First registration backoff (Mesos's `DEFAULT_REGISTRATION_BACKOFF_FACTOR`).
pub(super) const REGISTRATION_BACKOFF: Duration = Duration::from_secs(2);
/// Largest registration backoff (`REGISTRATION_RETRY_INTERVAL_MAX`).
const REGISTRATION_BACKOFF_MAX: Duration = Duration::from_secs(60);

/// The delay before the next registration attempt, `unit` (in [0, 1]) of
/// the way to its bound, and the backoff for the attempt after: the bound is
/// `backoff` capped at 1 min and at a tenth of the failover timeout (so a
/// framework is back well before the master gives up on it), and doubles.
pub(super) fn registration_delay(
    backoff: Duration,
    failover_timeout: f64,
    unit: f64,
) -> (Duration, Duration) {
    let mut max = backoff.min(REGISTRATION_BACKOFF_MAX);
    if failover_timeout > 0.0 {
        if let Ok(timeout) = Duration::try_from_secs_f64(failover_timeout) {
            max = max.min(timeout / 10);
        }
    }
    (max.mul_f64(unit.clamp(0.0, 1.0)), max * 2)
}

/// Timer: try registering again; `backoff` bounds the next delay.
struct RetryRegistration {
    backoff: Duration,
}

/// An update the driver made up, delivered after the callback that caused
/// it (Mesos dispatches these to itself the same way).
struct DriverUpdate {
    /// Made by the driver itself: it carries no uuid and is never
    /// acknowledged.
    update: StatusUpdate,
}

pub(super) struct SchedulerProcess<S: Scheduler> {
    /// Present until the process stops and hands it back through `done`.
    pub(super) scheduler: Option<Box<S>>,
    pub(super) driver: SchedulerDriver,
    /// Whether the next Subscribe asks to replace a live registration:
    /// only before the first registration of a FrameworkInfo with an id.
    pub(super) failover: bool,
    /// The pending registration retry, if a registration is under way.
    pub(super) retry: Option<SpawnHandle>,
    /// Whether a link to the master is in place (cleared by `exited`).
    pub(super) linked: bool,
    /// Messages dropped for not coming from the master.
    pub(super) ignored: Counter,
    /// Taken when the process stops.
    pub(super) done: Option<oneshot::Sender<(Status, Box<S>)>>,
}

impl<S: Scheduler> SchedulerProcess<S> {
    /// Runs one callback, then delivers what the driver made up during it
    /// and ends the process if the callback stopped the driver.
    fn callback(&mut self, cx: &mut Cx<'_, Self>, f: impl FnOnce(&mut S, &mut SchedulerDriver)) {
        if let Some(scheduler) = self.scheduler.as_mut() {
            f(scheduler, &mut self.driver);
        }
        self.settle(cx);
    }

    fn settle(&mut self, cx: &mut Cx<'_, Self>) {
        let me = cx.handle();
        for update in self.driver.driver_updates.drain(..) {
            me.tell(cx.me(), DriverUpdate { update });
        }
        if !self.driver.is_running() {
            if let Some(retry) = self.retry.take() {
                cx.cancel(retry);
            }
            cx.stop();
        }
    }

    /// Mesos's `doReliableRegistration`: one Subscribe now, the next after a
    /// random delay, until registered.
    fn register(&mut self, backoff: Duration, cx: &mut Cx<'_, Self>) {
        self.retry = None;
        if !self.driver.is_running() || self.driver.connected {
            return;
        }
        if !self.linked {
            cx.link(&self.driver.master);
            self.linked = true;
        }
        let framework = self.driver.framework.clone();
        let force = self.failover && framework.id.is_some();
        tracing::debug!(master = %self.driver.master, force, "subscribing");
        cx.send(&self.driver.master, Subscribe { framework, force });
        let (delay, next) = registration_delay(
            backoff,
            self.driver.framework.failover_timeout,
            random::fraction(),
        );
        self.retry = Some(cx.delay(delay, RetryRegistration { backoff: next }));
    }

    /// Starts a new round of registration, dropping any pending retry.
    fn reregister(&mut self, cx: &mut Cx<'_, Self>) {
        if let Some(retry) = self.retry.take() {
            cx.cancel(retry);
        }
        self.register(REGISTRATION_BACKOFF, cx);
    }

    /// Whether an event from `from` may reach the scheduler: the driver
    /// runs, is registered, and `from` is the master.
    fn accept(&self, from: &Pid, what: &str) -> bool {
        if !self.driver.is_running() {
            tracing::debug!(what, "ignoring: the driver is not running");
            return false;
        }
        if !self.is_from_master(from, what) {
            return false;
        }
        if !self.driver.connected {
            tracing::debug!(what, "ignoring: not registered");
            return false;
        }
        true
    }

    fn is_from_master(&self, from: &Pid, what: &str) -> bool {
        if *from == self.driver.master {
            return true;
        }
        self.ignored.inc();
        tracing::warn!(%from, master = %self.driver.master, what,
            "ignoring a message that is not from the master");
        false
    }

    fn ours(&self, framework_id: &FrameworkId, what: &str) -> bool {
        if self.driver.framework.id.as_ref() == Some(framework_id) {
            return true;
        }
        self.ignored.inc();
        tracing::warn!(%framework_id, what, "ignoring a message for another framework");
        false
    }

    fn registered(
        &mut self,
        from: &Pid,
        framework_id: FrameworkId,
        master_info: MasterInfo,
        again: bool,
        cx: &mut Cx<'_, Self>,
    ) {
        if !self.driver.is_running() || !self.is_from_master(from, "registration") {
            return;
        }
        if self.driver.connected {
            tracing::debug!("ignoring a registration: already registered");
            return;
        }
        if let Some(retry) = self.retry.take() {
            cx.cancel(retry);
        }
        if again && self.driver.framework.id.as_ref() != Some(&framework_id) {
            tracing::warn!(%framework_id, previous = ?self.driver.framework.id,
                "re-registered under another framework id");
        }
        tracing::info!(%framework_id, master = %from, "framework registered");
        self.driver.framework.id = Some(framework_id.clone());
        self.driver.connected = true;
        self.failover = false;
        if again {
            self.callback(cx, |s, d| s.reregistered(d, master_info));
        } else {
            self.callback(cx, |s, d| s.registered(d, framework_id, master_info));
        }
    }

    fn status_update(&mut self, update: StatusUpdate, cx: &mut Cx<'_, Self>) {
        let mut status = update.status.clone();
        // Only updates that the agent keeps retrying carry a uuid; those
        // and no others are acknowledged.
        let uuid = update.uuid.clone().filter(|u| !u.is_empty());
        status.uuid = uuid.clone();
        if status.agent_id.is_none() {
            status.agent_id = update.agent_id.clone();
        }
        if status.executor_id.is_none() {
            status.executor_id = update.executor_id.clone();
        }
        tracing::debug!(task = %status.task_id, state = %status.state, "status update");
        if self.driver.implicit_acknowledgements {
            self.driver.pending_ack = match (&uuid, &status.agent_id, &self.driver.framework.id) {
                (Some(uuid), Some(agent_id), Some(framework_id)) => Some(Acknowledge {
                    framework_id: framework_id.clone(),
                    agent_id: agent_id.clone(),
                    task_id: status.task_id.clone(),
                    uuid: uuid.clone(),
                }),
                _ => None,
            };
        }
        self.callback(cx, |s, d| s.status_update(d, status));
        // After the callback, so an update is acknowledged only once the
        // scheduler has seen it (unless the callback stopped the driver,
        // which sent it already, or aborted it, which dropped it).
        self.driver.send_pending_ack();
    }
}

impl<S: Scheduler> Process for SchedulerProcess<S> {
    fn install(i: &mut Install<Self>) {
        i.message::<FrameworkRegistered>()
            .message::<FrameworkReregistered>()
            .message::<FrameworkError>()
            .message::<ResourceOffers>()
            .message::<RescindOffer>()
            .message::<StatusUpdateMessage>()
            .message::<AgentLost>()
            .message::<ExitedExecutor>()
            .message::<ExecutorToFramework>()
            .local::<Call>()
            .local::<RetryRegistration>()
            .local::<DriverUpdate>()
            .local::<LeaderDetected>();
    }

    fn started(&mut self, cx: &mut Cx<'_, Self>) {
        tracing::info!(master = %self.driver.master, pid = %cx.me(),
            framework = %self.driver.framework.name, "scheduler driver started");
        self.register(REGISTRATION_BACKOFF, cx);
    }

    fn exited(&mut self, pid: &Pid, cx: &mut Cx<'_, Self>) {
        if *pid != self.driver.master {
            return;
        }
        self.linked = false;
        if !self.driver.is_running() {
            return;
        }
        if self.driver.connected {
            tracing::warn!(master = %pid, "lost the master; registering again");
            self.driver.connected = false;
            self.callback(cx, |s, d| s.disconnected(d));
            self.reregister(cx);
        } else {
            // Still registering: the pending retry links again, so a master
            // that is down costs one attempt per backoff, not a busy loop.
            tracing::debug!(master = %pid, "master unreachable");
        }
    }

    fn stopped(&mut self) {
        let status = match &self.driver.status {
            Status::Running => Status::Aborted,
            other => other.clone(),
        };
        if let (Some(done), Some(scheduler)) = (self.done.take(), self.scheduler.take()) {
            let _ = done.send((status, scheduler));
        }
    }
}

impl<S: Scheduler> Handle<FrameworkRegistered> for SchedulerProcess<S> {
    fn handle(&mut self, m: FrameworkRegistered, from: &Pid, cx: &mut Cx<'_, Self>) {
        self.registered(from, m.framework_id, m.master_info, false, cx);
    }
}

impl<S: Scheduler> Handle<FrameworkReregistered> for SchedulerProcess<S> {
    fn handle(&mut self, m: FrameworkReregistered, from: &Pid, cx: &mut Cx<'_, Self>) {
        self.registered(from, m.framework_id, m.master_info, true, cx);
    }
}

impl<S: Scheduler> Handle<FrameworkError> for SchedulerProcess<S> {
    fn handle(&mut self, m: FrameworkError, from: &Pid, cx: &mut Cx<'_, Self>) {
        if !self.driver.is_running() || !self.is_from_master(from, "error") {
            return;
        }
        tracing::error!(message = %m.message, "the master reported an error; aborting");
        self.driver.deactivate();
        self.driver.status = Status::Error(m.message.clone());
        self.callback(cx, |s, d| s.error(d, m.message));
    }
}

impl<S: Scheduler> Handle<ResourceOffers> for SchedulerProcess<S> {
    fn handle(&mut self, m: ResourceOffers, from: &Pid, cx: &mut Cx<'_, Self>) {
        if !self.accept(from, "offers") || m.offers.is_empty() {
            return;
        }
        tracing::debug!(offers = m.offers.len(), "resource offers");
        self.callback(cx, |s, d| s.resource_offers(d, m.offers));
    }
}

impl<S: Scheduler> Handle<RescindOffer> for SchedulerProcess<S> {
    fn handle(&mut self, m: RescindOffer, from: &Pid, cx: &mut Cx<'_, Self>) {
        if self.accept(from, "rescind") {
            self.callback(cx, |s, d| s.offer_rescinded(d, m.offer_id));
        }
    }
}

impl<S: Scheduler> Handle<StatusUpdateMessage> for SchedulerProcess<S> {
    fn handle(&mut self, m: StatusUpdateMessage, from: &Pid, cx: &mut Cx<'_, Self>) {
        if self.accept(from, "status update") && self.ours(&m.update.framework_id, "status update")
        {
            self.status_update(m.update, cx);
        }
    }
}

impl<S: Scheduler> Handle<DriverUpdate> for SchedulerProcess<S> {
    fn handle(&mut self, DriverUpdate { update }: DriverUpdate, _: &Pid, cx: &mut Cx<'_, Self>) {
        if self.driver.is_running() {
            self.status_update(update, cx);
        }
    }
}

impl<S: Scheduler> Handle<AgentLost> for SchedulerProcess<S> {
    fn handle(&mut self, m: AgentLost, from: &Pid, cx: &mut Cx<'_, Self>) {
        if self.accept(from, "lost agent") {
            self.callback(cx, |s, d| s.slave_lost(d, m.agent_id));
        }
    }
}

impl<S: Scheduler> Handle<ExitedExecutor> for SchedulerProcess<S> {
    fn handle(&mut self, m: ExitedExecutor, from: &Pid, cx: &mut Cx<'_, Self>) {
        if self.accept(from, "exited executor") && self.ours(&m.framework_id, "exited executor") {
            self.callback(cx, |s, d| {
                s.executor_lost(d, m.executor_id, m.agent_id, m.status)
            });
        }
    }
}

impl<S: Scheduler> Handle<ExecutorToFramework> for SchedulerProcess<S> {
    // Agents send executor messages straight to the scheduler's pid when they
    // know it, so the sender is not checked (Mesos's driver does not either).
    fn handle(&mut self, m: ExecutorToFramework, _from: &Pid, cx: &mut Cx<'_, Self>) {
        if self.driver.is_running() && self.ours(&m.framework_id, "framework message") {
            self.callback(cx, |s, d| {
                s.framework_message(d, m.executor_id, m.agent_id, m.data)
            });
        }
    }
}

impl<S: Scheduler> Handle<Call> for SchedulerProcess<S> {
    fn handle(&mut self, call: Call, _: &Pid, cx: &mut Cx<'_, Self>) {
        self.driver.apply(call);
        self.settle(cx);
    }
}

impl<S: Scheduler> Handle<RetryRegistration> for SchedulerProcess<S> {
    fn handle(&mut self, m: RetryRegistration, _: &Pid, cx: &mut Cx<'_, Self>) {
        self.register(m.backoff, cx);
    }
}

impl<S: Scheduler> Handle<LeaderDetected> for SchedulerProcess<S> {
    fn handle(
        &mut self,
        LeaderDetected { leader }: LeaderDetected,
        _: &Pid,
        cx: &mut Cx<'_, Self>,
    ) {
        let Some(pid) = leader.and_then(|l| l.pid.parse::<Pid>().ok()) else {
            tracing::warn!("no leading master; waiting for one");
            return;
        };
        if pid == self.driver.master || !self.driver.is_running() {
            return;
        }
        tracing::info!(master = %pid, "new leading master detected; subscribing with it");
        self.driver.master = pid;
        self.linked = false;
        if self.driver.connected {
            self.driver.connected = false;
            self.callback(cx, |s, d| s.disconnected(d));
        }
        self.reregister(cx);
    }
}
