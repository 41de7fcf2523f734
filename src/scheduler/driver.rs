//! What a framework sees of the driver (Mesos's `Scheduler` and
//! `SchedulerDriver` interfaces, `include/mesos/scheduler.hpp`): the
//! [`Scheduler`] callbacks, the [`SchedulerDriver`] a callback is handed to
//! act on, and the [`SchedulerCalls`] for acting from outside the driver
//! process. Calls turn into messages to the master here; the process that
//! runs the callbacks is in `process.rs`.
//!
//! Calls after the driver stopped or aborted are ignored, as are calls
//! while the framework is not registered, except launches: those the
//! scheduler hears back about as `TASK_LOST` (`TASK_DROPPED` when
//! partition-aware) from the driver itself, as Mesos's driver does, so it
//! never waits for tasks the master never saw.

use std::sync::Arc;

use actors::{Node, Pid};
use wire::ids::{AgentId, ExecutorId, FrameworkId, OfferId, TaskId};
use wire::mesos::{
    capability, Filters, FrameworkInfo, MasterInfo, Offer, Operation, StatusUpdate, TaskInfo,
    TaskStatus,
};
use wire::resources::Resources;
use wire::scheduler::{
    Accept, Acknowledge, Deactivate, Decline, Kill, Reconcile, Revive, SendFrameworkMessage,
    Suppress, Teardown,
};
use wire::task::{Reason, Source, TaskState};

/// A framework's scheduler: the callbacks of Mesos's `Scheduler`. Each runs
/// on the driver process and may call the driver it is handed; none may
/// block.
#[allow(unused_variables)]
pub trait Scheduler: Send + 'static {
    /// The framework registered; `framework_id` is its id from now on.
    fn registered(
        &mut self,
        driver: &mut SchedulerDriver,
        framework_id: FrameworkId,
        master_info: MasterInfo,
    ) {
    }

    /// The framework registered again (after a lost connection).
    fn reregistered(&mut self, driver: &mut SchedulerDriver, master_info: MasterInfo) {}

    /// The connection to the master broke; the driver is registering again.
    fn disconnected(&mut self, driver: &mut SchedulerDriver) {}

    fn resource_offers(&mut self, driver: &mut SchedulerDriver, offers: Vec<Offer>);

    /// An offer is no longer valid; accepting it would fail.
    fn offer_rescinded(&mut self, driver: &mut SchedulerDriver, offer_id: OfferId) {}

    fn status_update(&mut self, driver: &mut SchedulerDriver, status: TaskStatus);

    /// Data an executor sent with `SendFrameworkMessage`.
    fn framework_message(
        &mut self,
        driver: &mut SchedulerDriver,
        executor_id: ExecutorId,
        agent_id: AgentId,
        data: Vec<u8>,
    ) {
    }

    /// An agent was lost (Mesos keeps the name `slaveLost`).
    fn slave_lost(&mut self, driver: &mut SchedulerDriver, agent_id: AgentId) {}

    /// An executor exited with wait status `status`.
    fn executor_lost(
        &mut self,
        driver: &mut SchedulerDriver,
        executor_id: ExecutorId,
        agent_id: AgentId,
        status: i32,
    ) {
    }

    /// The master refused or dropped the framework; the driver has aborted.
    fn error(&mut self, driver: &mut SchedulerDriver, message: String) {}
}

/// Where a driver is in its life. A driver ends in one of the last three.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Running,
    /// `stop` was called.
    Stopped,
    /// `abort` was called, or the process was terminated from outside.
    Aborted,
    /// The master sent an error; the driver aborted.
    Error(String),
}

/// What the scheduler can ask of the driver, from inside a callback (this
/// type) or from outside (through [`SchedulerCalls`]). Calls after the driver
/// stopped or aborted are ignored, as are calls (other than launches) while
/// it is not registered.
pub struct SchedulerDriver {
    pub(super) node: Node,
    /// This driver's process.
    pub(super) me: Pid,
    /// The master every call goes to and every event must come from.
    pub(super) master: Pid,
    /// Carries the id once registered.
    pub(super) framework: FrameworkInfo,
    /// Registered and not since disconnected.
    pub(super) connected: bool,
    pub(super) implicit_acknowledgements: bool,
    /// `Running` until stop, abort or error; the process ends right after.
    pub(super) status: Status,
    /// Updates the driver itself makes up (launches while disconnected),
    /// delivered to the scheduler after the current callback.
    pub(super) driver_updates: Vec<StatusUpdate>,
    /// The implicit acknowledgement of the update being delivered, sent
    /// when its callback returns, or before a stop the callback makes (so
    /// the master sees it before the Teardown).
    pub(super) pending_ack: Option<Acknowledge>,
}

impl SchedulerDriver {
    /// The framework's id, once registered.
    pub fn framework_id(&self) -> Option<&FrameworkId> {
        self.framework.id.as_ref()
    }

    pub fn framework(&self) -> &FrameworkInfo {
        &self.framework
    }

    pub fn master(&self) -> &Pid {
        &self.master
    }

    /// The driver process's pid (the framework's pid at the master).
    pub fn pid(&self) -> &Pid {
        &self.me
    }

    pub fn is_connected(&self) -> bool {
        self.connected
    }

    pub fn status(&self) -> &Status {
        &self.status
    }

    /// Accepts `offer_ids` with one operation launching `tasks`.
    pub fn launch_tasks(
        &mut self,
        offer_ids: Vec<OfferId>,
        tasks: Vec<TaskInfo>,
        filters: Filters,
    ) {
        let operations = vec![Operation::Launch { task_infos: tasks }];
        self.accept_offers(offer_ids, operations, filters);
    }

    /// Accepts offers (all from one agent) with `operations`; what they
    /// leave unused is declined with `filters`.
    pub fn accept_offers(
        &mut self,
        offer_ids: Vec<OfferId>,
        operations: Vec<Operation>,
        filters: Filters,
    ) {
        if !self.is_running() {
            return;
        }
        let Some(framework_id) = self.connected_id("accept") else {
            self.report_dropped_launches(&operations);
            return;
        };
        self.send(Accept {
            framework_id,
            offer_ids,
            operations,
            filters,
        });
    }

    /// Declines an offer; its resources are not offered again to this
    /// framework for `filters.refuse_seconds`.
    pub fn decline_offer(&mut self, offer_id: OfferId, filters: Filters) {
        if let Some(framework_id) = self.connected_id("decline") {
            self.send(Decline {
                framework_id,
                offer_ids: vec![offer_id],
                filters,
            });
        }
    }

    pub fn kill_task(&mut self, task_id: TaskId) {
        if let Some(framework_id) = self.connected_id("kill") {
            self.send(Kill {
                framework_id,
                task_id,
                agent_id: None,
            });
        }
    }

    /// Lifts every filter and suppression of this framework's roles.
    pub fn revive_offers(&mut self) {
        if let Some(framework_id) = self.connected_id("revive") {
            self.send(Revive {
                framework_id,
                roles: Vec::new(),
            });
        }
    }

    /// Asks for no more offers until `revive_offers`.
    pub fn suppress_offers(&mut self) {
        if let Some(framework_id) = self.connected_id("suppress") {
            self.send(Suppress {
                framework_id,
                roles: Vec::new(),
            });
        }
    }

    /// Acknowledges an update received through `status_update`; only for
    /// drivers with explicit acknowledgements. Updates without a uuid (from
    /// the master or the driver) need none and are skipped.
    pub fn acknowledge_status_update(&mut self, status: &TaskStatus) {
        if self.implicit_acknowledgements {
            tracing::warn!(task = %status.task_id,
                "ignoring an explicit acknowledgement: this driver acknowledges implicitly");
            return;
        }
        let Some(framework_id) = self.connected_id("acknowledge") else {
            return;
        };
        match (&status.uuid, &status.agent_id) {
            (Some(uuid), Some(agent_id)) => self.send(Acknowledge {
                framework_id,
                agent_id: agent_id.clone(),
                task_id: status.task_id.clone(),
                uuid: uuid.clone(),
            }),
            _ => tracing::debug!(task = %status.task_id, "update needs no acknowledgement"),
        }
    }

    /// Asks the master for the latest state of these tasks (of every task
    /// of the framework when empty); answers arrive as status updates.
    pub fn reconcile_tasks(&mut self, statuses: &[TaskStatus]) {
        if let Some(framework_id) = self.connected_id("reconcile") {
            let tasks = statuses
                .iter()
                .map(|s| (s.task_id.clone(), s.agent_id.clone()))
                .collect();
            self.send(Reconcile {
                framework_id,
                tasks,
            });
        }
    }

    /// Sends data to one of the framework's executors, through the master.
    pub fn send_framework_message(
        &mut self,
        executor_id: ExecutorId,
        agent_id: AgentId,
        data: Vec<u8>,
    ) {
        if let Some(framework_id) = self.connected_id("message") {
            self.send(SendFrameworkMessage {
                framework_id,
                agent_id,
                executor_id,
                data,
            });
        }
    }

    /// Accepted for compatibility and dropped: Mesos's allocator ignores
    /// resource requests, so there is no message for them.
    pub fn request_resources(&mut self, requests: Vec<Resources>) {
        tracing::debug!(
            requests = requests.len(),
            "ignoring a resource request: the allocator does not use them"
        );
    }

    /// Ends the driver. Without `failover` the framework is torn down (its
    /// tasks killed); with it the framework is deactivated and the master
    /// keeps it for its failover timeout, for another instance to take over.
    pub fn stop(&mut self, failover: bool) {
        if !self.is_running() {
            return;
        }
        tracing::info!(failover, framework = ?self.framework.id, "stopping the driver");
        self.send_pending_ack();
        if let Some(framework_id) = self.connected_id("stop") {
            if failover {
                self.send(Deactivate { framework_id });
            } else {
                self.send(Teardown { framework_id });
            }
        }
        self.status = Status::Stopped;
    }

    /// Ends the driver without tearing the framework down: the master stops
    /// sending to it and keeps it for its failover timeout.
    pub fn abort(&mut self) {
        if !self.is_running() {
            return;
        }
        tracing::info!(framework = ?self.framework.id, "aborting the driver");
        // As in Mesos: an aborted driver acknowledges nothing more.
        self.pending_ack = None;
        self.deactivate();
        self.status = Status::Aborted;
    }

    pub(super) fn send_pending_ack(&mut self) {
        if let Some(ack) = self.pending_ack.take() {
            if self.connected && matches!(self.status, Status::Running | Status::Stopped) {
                self.send(ack);
            }
        }
    }

    pub(super) fn deactivate(&mut self) {
        if let Some(framework_id) = self.connected_id("deactivate") {
            self.send(Deactivate { framework_id });
        }
    }

    pub(super) fn is_running(&self) -> bool {
        self.status == Status::Running
    }

    /// The framework id, when calls can go to the master now.
    pub(super) fn connected_id(&self, call: &str) -> Option<FrameworkId> {
        if !self.is_running() {
            tracing::debug!(call, "ignoring a call: the driver is not running");
            return None;
        }
        match (&self.framework.id, self.connected) {
            (Some(id), true) => Some(id.clone()),
            _ => {
                tracing::debug!(call, "ignoring a call: not registered with the master");
                None
            }
        }
    }

    /// Mesos's driver answers launches it cannot deliver with TASK_LOST (or
    /// TASK_DROPPED) so schedulers do not wait forever for tasks the master
    /// never saw.
    fn report_dropped_launches(&mut self, operations: &[Operation]) {
        let state = if self.framework.has_capability(capability::PARTITION_AWARE) {
            TaskState::Dropped
        } else {
            TaskState::Lost
        };
        for operation in operations {
            for task in operation.tasks() {
                let mut status = TaskStatus::new(task.task_id.clone(), state);
                status.message = Some("Master disconnected".to_owned());
                status.source = Some(Source::Master);
                status.reason = Some(Reason::MasterDisconnected);
                self.driver_updates.push(StatusUpdate {
                    framework_id: self
                        .framework
                        .id
                        .clone()
                        .unwrap_or_else(|| FrameworkId::new("")),
                    executor_id: None,
                    agent_id: None,
                    timestamp: status.timestamp,
                    status,
                    uuid: None,
                    latest_state: None,
                });
            }
        }
    }

    pub(super) fn send<M: wire::Message>(&self, message: M) {
        tracing::debug!(to = %self.master, message = M::NAME, "sending");
        self.node.send(&self.me, &self.master, message);
    }

    pub(super) fn apply(&mut self, call: Call) {
        match call {
            Call::Accept {
                offer_ids,
                operations,
                filters,
            } => self.accept_offers(offer_ids, operations, filters),
            Call::Decline { offer_id, filters } => self.decline_offer(offer_id, filters),
            Call::Kill { task_id } => self.kill_task(task_id),
            Call::Revive => self.revive_offers(),
            Call::Suppress => self.suppress_offers(),
            Call::Acknowledge { status } => self.acknowledge_status_update(&status),
            Call::Reconcile { statuses } => self.reconcile_tasks(&statuses),
            Call::Message {
                executor_id,
                agent_id,
                data,
            } => self.send_framework_message(executor_id, agent_id, data),
            Call::RequestResources { requests } => self.request_resources(requests),
            Call::Stop { failover } => self.stop(failover),
            Call::Abort => self.abort(),
        }
    }
}

/// A call made through a [`SchedulerCalls`], carried to the driver process.
pub(super) enum Call {
    Accept {
        offer_ids: Vec<OfferId>,
        operations: Vec<Operation>,
        filters: Filters,
    },
    Decline {
        offer_id: OfferId,
        filters: Filters,
    },
    Kill {
        task_id: TaskId,
    },
    Revive,
    Suppress,
    Acknowledge {
        status: TaskStatus,
    },
    Reconcile {
        statuses: Vec<TaskStatus>,
    },
    Message {
        executor_id: ExecutorId,
        agent_id: AgentId,
        data: Vec<u8>,
    },
    RequestResources {
        requests: Vec<Resources>,
    },
    Stop {
        failover: bool,
    },
    Abort,
}

/// The [`SchedulerDriver`]'s calls for code outside the driver process
/// (another process, a signal handler, a test), from
/// [`SchedulerHandle::calls`](super::SchedulerHandle::calls). Each call is
/// queued to the driver and made in its mailbox order; after the driver
/// ended it is dropped.
#[derive(Clone)]
pub struct SchedulerCalls {
    pid: Pid,
    tell: Arc<dyn Fn(Call) + Send + Sync>,
}

impl SchedulerCalls {
    pub(super) fn new(pid: Pid, tell: impl Fn(Call) + Send + Sync + 'static) -> SchedulerCalls {
        SchedulerCalls {
            pid,
            tell: Arc::new(tell),
        }
    }

    pub fn pid(&self) -> &Pid {
        &self.pid
    }

    pub fn launch_tasks(&self, offer_ids: Vec<OfferId>, tasks: Vec<TaskInfo>, filters: Filters) {
        let operations = vec![Operation::Launch { task_infos: tasks }];
        self.accept_offers(offer_ids, operations, filters);
    }

    pub fn accept_offers(
        &self,
        offer_ids: Vec<OfferId>,
        operations: Vec<Operation>,
        filters: Filters,
    ) {
        (self.tell)(Call::Accept {
            offer_ids,
            operations,
            filters,
        });
    }

    pub fn decline_offer(&self, offer_id: OfferId, filters: Filters) {
        (self.tell)(Call::Decline { offer_id, filters });
    }

    pub fn kill_task(&self, task_id: TaskId) {
        (self.tell)(Call::Kill { task_id });
    }

    pub fn revive_offers(&self) {
        (self.tell)(Call::Revive);
    }

    pub fn suppress_offers(&self) {
        (self.tell)(Call::Suppress);
    }

    pub fn acknowledge_status_update(&self, status: TaskStatus) {
        (self.tell)(Call::Acknowledge { status });
    }

    pub fn reconcile_tasks(&self, statuses: Vec<TaskStatus>) {
        (self.tell)(Call::Reconcile { statuses });
    }

    pub fn send_framework_message(
        &self,
        executor_id: ExecutorId,
        agent_id: AgentId,
        data: Vec<u8>,
    ) {
        (self.tell)(Call::Message {
            executor_id,
            agent_id,
            data,
        });
    }

    pub fn request_resources(&self, requests: Vec<Resources>) {
        (self.tell)(Call::RequestResources { requests });
    }

    pub fn stop(&self, failover: bool) {
        (self.tell)(Call::Stop { failover });
    }

    pub fn abort(&self) {
        (self.tell)(Call::Abort);
    }
}
