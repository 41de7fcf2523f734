//! Messages between framework schedulers (the Rust driver) and the master:
//! the calls of Mesos's scheduler API and the events it answers with.
//! Status updates, executor messages and exited executors reach the
//! scheduler as the agent-family messages the master forwards.

use serde::{Deserialize, Serialize};

use crate::ids::{AgentId, ExecutorId, FrameworkId, OfferId, TaskId};
use crate::mesos::{Filters, FrameworkInfo, MasterInfo, Offer, Operation};

/// Register (no id in `framework`) or re-register (with its id). `force`
/// makes this connection replace a live one (scheduler failover).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subscribe {
    pub framework: FrameworkInfo,
    pub force: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameworkRegistered {
    pub framework_id: FrameworkId,
    pub master_info: MasterInfo,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameworkReregistered {
    pub framework_id: FrameworkId,
    pub master_info: MasterInfo,
}

/// The master refuses or drops the framework.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameworkError {
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceOffers {
    pub offers: Vec<Offer>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RescindOffer {
    pub offer_id: OfferId,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Accept {
    pub framework_id: FrameworkId,
    pub offer_ids: Vec<OfferId>,
    pub operations: Vec<Operation>,
    pub filters: Filters,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decline {
    pub framework_id: FrameworkId,
    pub offer_ids: Vec<OfferId>,
    pub filters: Filters,
}

/// Lift filters and suppression for `roles` (all roles when empty).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Revive {
    pub framework_id: FrameworkId,
    pub roles: Vec<String>,
}

/// Stop offers for `roles` (all roles when empty) until revived.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suppress {
    pub framework_id: FrameworkId,
    pub roles: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Kill {
    pub framework_id: FrameworkId,
    pub task_id: TaskId,
    pub agent_id: Option<AgentId>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Acknowledge {
    pub framework_id: FrameworkId,
    pub agent_id: AgentId,
    pub task_id: TaskId,
    pub uuid: Vec<u8>,
}

/// Ask for the latest state of `tasks`, or of every known task when empty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reconcile {
    pub framework_id: FrameworkId,
    pub tasks: Vec<(TaskId, Option<AgentId>)>,
}

/// Data for one of the framework's executors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SendFrameworkMessage {
    pub framework_id: FrameworkId,
    pub agent_id: AgentId,
    pub executor_id: ExecutorId,
    pub data: Vec<u8>,
}

/// Remove the framework and kill all its tasks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Teardown {
    pub framework_id: FrameworkId,
}

/// The scheduler goes away but expects to fail over (driver stop with
/// failover): the master starts the failover timeout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deactivate {
    pub framework_id: FrameworkId,
}

/// An agent was lost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentLost {
    pub agent_id: AgentId,
}

crate::messages! {
    Subscribe => "mesos.scheduler.Subscribe",
    FrameworkRegistered => "mesos.scheduler.FrameworkRegistered",
    FrameworkReregistered => "mesos.scheduler.FrameworkReregistered",
    FrameworkError => "mesos.scheduler.FrameworkError",
    ResourceOffers => "mesos.scheduler.ResourceOffers",
    RescindOffer => "mesos.scheduler.RescindOffer",
    Accept => "mesos.scheduler.Accept",
    Decline => "mesos.scheduler.Decline",
    Revive => "mesos.scheduler.Revive",
    Suppress => "mesos.scheduler.Suppress",
    Kill => "mesos.scheduler.Kill",
    Acknowledge => "mesos.scheduler.Acknowledge",
    Reconcile => "mesos.scheduler.Reconcile",
    SendFrameworkMessage => "mesos.scheduler.SendFrameworkMessage",
    Teardown => "mesos.scheduler.Teardown",
    Deactivate => "mesos.scheduler.Deactivate",
    AgentLost => "mesos.scheduler.AgentLost",
}
