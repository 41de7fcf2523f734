//! What the master's core decides should happen, as values: messages to
//! agents and schedulers, calls to the allocator and the registrar, links,
//! timers, and the end of the process. The core (`core.rs` and the files by
//! concern) only pushes these; the process (`process.rs`, its one `act`
//! function) carries them out, in order.

use std::time::Duration;

use actors::Pid;
use tokio::time::Instant;
use wire::agent::{
    AgentRegistered, AgentReregistered, ExecutorToFramework, ExitedExecutor, FrameworkToExecutor,
    KillTask, PingAgent, ReregisterAgent, RunTask, RunTaskGroup, ShutdownAgent, ShutdownExecutor,
    ShutdownFramework, StatusUpdateAcknowledgement, StatusUpdateMessage, UpdateFramework,
};
use wire::ids::{AgentId, FrameworkId, OfferId};
use wire::mesos::{AgentInfo, FrameworkInfo, MasterInfo};
use wire::registry::Operation as RegistryOp;
use wire::resources::Resources;
use wire::scheduler::{
    AgentLost, FrameworkError, FrameworkRegistered, FrameworkReregistered, RescindOffer,
    ResourceOffers,
};
use wire::v1::scheduler::Event;

use super::events::ToEvent;
use super::operator::OperatorEvent;
use crate::stop::StopReason;

/// The time a decision is made at: wall clock seconds (for records and
/// the registry) and the monotonic instant (for rate limits).
#[derive(Debug, Clone, Copy)]
pub struct Now {
    pub secs: f64,
    pub instant: Instant,
}

/// A message from the master to an agent.
#[derive(Debug)]
pub enum ToAgent {
    Registered(AgentRegistered),
    Reregistered(AgentReregistered),
    Ping(PingAgent),
    RunTask(Box<RunTask>),
    RunTaskGroup(Box<RunTaskGroup>),
    KillTask(KillTask),
    Acknowledge(StatusUpdateAcknowledgement),
    ShutdownFramework(ShutdownFramework),
    ShutdownExecutor(ShutdownExecutor),
    FrameworkToExecutor(FrameworkToExecutor),
    UpdateFramework(UpdateFramework),
    Shutdown(ShutdownAgent),
    CheckpointResources(wire::agent::CheckpointResources),
}

/// A message from the master to a framework's scheduler (a v1 event on an
/// HTTP framework's stream).
#[derive(Debug)]
pub enum ToScheduler {
    Registered(FrameworkRegistered),
    Reregistered(FrameworkReregistered),
    Error(FrameworkError),
    Offers(ResourceOffers),
    Rescind(RescindOffer),
    Update(StatusUpdateMessage),
    AgentLost(AgentLost),
    ExecutorExited(ExitedExecutor),
    Message(ExecutorToFramework),
    /// Inverse offers (maintenance): an OFFERS event with
    /// `inverse_offers`, for HTTP frameworks only.
    InverseOffers(Vec<super::maintenance::InverseOffer>),
    /// Feedback on an offer operation the framework gave an id: an
    /// UPDATE_OPERATION_STATUS event, for HTTP frameworks only.
    OperationStatus(OperationStatus),
}

/// The state of an offer operation, for its framework.
#[derive(Debug, Clone, PartialEq)]
pub struct OperationStatus {
    pub operation_id: String,
    /// `OPERATION_FINISHED`, `OPERATION_ERROR` or `OPERATION_FAILED`.
    pub state: &'static str,
    pub message: Option<String>,
    pub agent_id: AgentId,
}

impl ToScheduler {
    /// The v1 event type it becomes, lowercased (per-framework metrics).
    pub fn event_type(&self) -> &'static str {
        match self {
            ToScheduler::Registered(_) => FrameworkRegistered::EVENT,
            ToScheduler::Reregistered(_) => FrameworkReregistered::EVENT,
            ToScheduler::Error(_) => FrameworkError::EVENT,
            ToScheduler::Offers(_) => ResourceOffers::EVENT,
            ToScheduler::Rescind(_) => RescindOffer::EVENT,
            ToScheduler::Update(_) => StatusUpdateMessage::EVENT,
            ToScheduler::AgentLost(_) => AgentLost::EVENT,
            ToScheduler::ExecutorExited(_) => ExitedExecutor::EVENT,
            ToScheduler::Message(_) => ExecutorToFramework::EVENT,
            ToScheduler::InverseOffers(_) => ResourceOffers::EVENT,
            ToScheduler::OperationStatus(_) => "update_operation_status",
        }
    }

    /// The event an HTTP framework gets for it.
    pub fn to_event(&self, framework: &FrameworkInfo, master: &MasterInfo) -> Event {
        match self {
            ToScheduler::Registered(m) => m.to_event(framework, master),
            ToScheduler::Reregistered(m) => m.to_event(framework, master),
            ToScheduler::Error(m) => m.to_event(framework, master),
            ToScheduler::Offers(m) => m.to_event(framework, master),
            ToScheduler::Rescind(m) => m.to_event(framework, master),
            ToScheduler::Update(m) => m.to_event(framework, master),
            ToScheduler::AgentLost(m) => m.to_event(framework, master),
            ToScheduler::ExecutorExited(m) => m.to_event(framework, master),
            ToScheduler::Message(m) => m.to_event(framework, master),
            ToScheduler::InverseOffers(offers) => super::maintenance::inverse_offers_event(offers),
            ToScheduler::OperationStatus(s) => Event::operation_status(
                &s.operation_id,
                s.state,
                s.message.as_deref(),
                Some(&s.agent_id),
                &crate::random::uuid_v4(),
            ),
        }
    }
}

/// A call to the allocator process.
#[derive(Debug)]
pub enum AllocatorCall {
    AddAgent {
        agent_id: AgentId,
        total: Resources,
        used: Vec<(FrameworkId, String, Resources)>,
    },
    RemoveAgent(AgentId),
    ActivateAgent(AgentId),
    DeactivateAgent(AgentId),
    AddFramework {
        framework_id: FrameworkId,
        roles: Vec<String>,
        used: Vec<(AgentId, String, Resources)>,
    },
    RemoveFramework(FrameworkId),
    ActivateFramework(FrameworkId),
    DeactivateFramework(FrameworkId),
    /// Resources of `role` come back; with `refuse`, not offered to the
    /// framework again for that long.
    Recover {
        framework_id: FrameworkId,
        agent_id: AgentId,
        role: String,
        resources: Resources,
        refuse: Option<Duration>,
    },
    Suppress(FrameworkId, Vec<String>),
    Revive(FrameworkId, Vec<String>),
    /// New weights of these roles (the others keep theirs).
    UpdateWeights(std::collections::HashMap<String, f64>),
    /// New quotas of these roles (a default config removes one).
    UpdateQuota(Vec<wire::registry::QuotaConfig>),
    /// An agent's new total (an operator changed unused resources).
    UpdateAgentTotal {
        agent_id: AgentId,
        total: Resources,
    },
    /// A framework converted offered resources it holds.
    UpdateAllocation {
        framework_id: FrameworkId,
        agent_id: AgentId,
        role: String,
        from: Resources,
        to: Resources,
    },
}

/// A timer the master sets; each fires as a message to itself.
#[derive(Debug, Clone, PartialEq)]
pub enum Timer {
    /// Ping every agent.
    Ping(Duration),
    /// The offer outlived `--offer_timeout`.
    Offer(OfferId, Duration),
    /// A disconnected framework's failover timeout.
    Failover(FrameworkId, Duration),
    /// The next removal `--agent_removal_rate_limit` allows.
    RemovalPermit(Duration),
    /// Agents admitted before this master must have re-registered by then.
    ReregisterTimeout(Duration),
    /// Time to prune the registry (`--registry_gc_interval`).
    PruneRegistry(Duration),
}

/// One thing the core decided should happen.
#[derive(Debug)]
pub enum Effect {
    /// A message to an agent's pid.
    ToAgent {
        to: Pid,
        message: ToAgent,
    },
    /// A message to a scheduler: over its HTTP stream if it has one, else
    /// to its pid. `framework` is what the event is rendered for.
    ToScheduler {
        pid: String,
        framework: FrameworkInfo,
        message: ToScheduler,
    },
    /// Link to an agent.
    LinkAgent(Pid),
    /// Link to a scheduler, unless it is on an HTTP stream (whose end is
    /// noticed on the stream itself).
    LinkScheduler(Pid),
    /// End a framework's HTTP event stream (its response completes).
    EndStream(String),
    Allocator(AllocatorCall),
    /// A registry operation whose outcome matters only if it fails.
    Record(RegistryOp),
    /// Admit a new agent; the answer comes back as `AgentAdmitted`.
    Admit {
        pid: Pid,
        info: AgentInfo,
        version: String,
    },
    /// Update or (re)admit a returning agent; the answer comes back as
    /// `AgentReadmitted`.
    Readmit {
        pid: Pid,
        operation: RegistryOp,
        message: ReregisterAgent,
    },
    Set(Timer),
    CancelOfferTimer(OfferId),
    CancelFailoverTimer(FrameworkId),
    /// Something operators following the event stream hear about.
    Operator(OperatorEvent),
    /// The master cannot go on: the process stops and tells its daemon why.
    Exit(StopReason),
}

/// The effects of one decision, in the order they are to happen.
#[derive(Debug, Default)]
pub struct Effects(Vec<Effect>);

impl Effects {
    pub fn push(&mut self, effect: Effect) {
        self.0.push(effect);
    }

    pub fn to_agent(&mut self, to: Pid, message: ToAgent) {
        self.0.push(Effect::ToAgent { to, message });
    }

    pub fn allocator(&mut self, call: AllocatorCall) {
        self.0.push(Effect::Allocator(call));
    }

    pub fn record(&mut self, operation: RegistryOp) {
        self.0.push(Effect::Record(operation));
    }

    pub fn operator(&mut self, event: OperatorEvent) {
        self.0.push(Effect::Operator(event));
    }

    pub fn set(&mut self, timer: Timer) {
        self.0.push(Effect::Set(timer));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Effect> {
        self.0.iter()
    }
}

impl IntoIterator for Effects {
    type Item = Effect;
    type IntoIter = std::vec::IntoIter<Effect>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}
