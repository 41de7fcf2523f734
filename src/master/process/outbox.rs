//! Carrying out effects that need more than one line: typed messages to
//! agents and schedulers (over an HTTP framework's stream if it has one),
//! timers, calls to the allocator, and registry operations whose answers
//! come back as messages to the master.

use actors::{Cx, Pid};
use wire::agent::ReregisterAgent;
use wire::mesos::{AgentInfo, FrameworkInfo};
use wire::registry::Operation as RegistryOp;

use super::{
    AgentAdmitted, AgentReadmitted, FailoverExpired, Master, OfferExpired, PingTick, PruneRegistry,
    RegistryFailed, RemovalPermit, ReregisterTimeout,
};
use crate::allocator::AllocatorHandle;
use crate::master::effects::{AllocatorCall, Timer, ToAgent, ToScheduler};
use crate::registrar::{Apply, RegistrarError};

impl Master {
    /// To a scheduler: an event on its HTTP stream, or a message to its pid.
    pub(super) fn deliver(
        &self,
        pid: &str,
        message: ToScheduler,
        framework: &FrameworkInfo,
        cx: &Cx<'_, Master>,
    ) {
        if let Some(stream) = self.http_streams.get(pid) {
            stream.send(&message.to_event(framework, self.core.info()));
            // Mesos's heartbeater beats once as it starts, right after
            // SUBSCRIBED: a client reading a line at a time then sees
            // SUBSCRIBED without waiting for the next event.
            if matches!(
                message,
                ToScheduler::Registered(_) | ToScheduler::Reregistered(_)
            ) {
                stream.send(&wire::v1::scheduler::Event::heartbeat());
                if let Some(m) = framework
                    .id
                    .as_ref()
                    .and_then(|id| self.core.state().framework_metrics(id))
                {
                    m.event("heartbeat");
                }
            }
        } else if let Ok(pid) = pid.parse::<Pid>() {
            send_to_scheduler(&pid, message, cx);
        }
    }

    /// Sets a timer; an offer's or a framework's replaces its earlier one.
    pub(super) fn set(&mut self, timer: Timer, cx: &mut Cx<'_, Self>) {
        match timer {
            Timer::Ping(after) => {
                cx.delay(after, PingTick);
            }
            Timer::Offer(offer_id, after) => {
                let handle = cx.delay(
                    after,
                    OfferExpired {
                        offer_id: offer_id.clone(),
                    },
                );
                if let Some(old) = self.offer_timers.insert(offer_id, handle) {
                    cx.cancel(old);
                }
            }
            Timer::Failover(framework_id, after) => {
                let handle = cx.delay(
                    after,
                    FailoverExpired {
                        framework_id: framework_id.clone(),
                    },
                );
                if let Some(old) = self.failover_timers.insert(framework_id, handle) {
                    cx.cancel(old);
                }
            }
            Timer::RemovalPermit(after) => {
                cx.delay(after, RemovalPermit);
            }
            Timer::ReregisterTimeout(after) => {
                cx.delay(after, ReregisterTimeout);
            }
            Timer::PruneRegistry(after) => {
                cx.delay(after, PruneRegistry);
            }
        }
    }

    /// Applies a registry operation; `reply` gets the outcome.
    pub(super) fn registry(
        &self,
        operation: RegistryOp,
        reply: Box<dyn FnOnce(Result<bool, RegistrarError>) + Send>,
    ) {
        match self.phase.registrar() {
            Some(r) => r.tell(r.pid(), Apply { operation, reply }),
            None => reply(Err(RegistrarError::NotRecovered)),
        }
    }

    /// A registry operation whose outcome matters only if it fails.
    pub(super) fn record(&self, operation: RegistryOp, cx: &Cx<'_, Master>) {
        let me = cx.handle();
        self.registry(
            operation,
            Box::new(move |result| {
                if let Err(error) = result {
                    me.tell(me.pid(), RegistryFailed { error });
                }
            }),
        );
    }

    /// Admits a new agent; the answer comes back as `AgentAdmitted`.
    pub(super) fn admit(&self, pid: Pid, info: AgentInfo, version: String, cx: &Cx<'_, Master>) {
        let (me, admitted) = (cx.handle(), info.clone());
        self.registry(
            RegistryOp::AdmitAgent(info),
            Box::new(move |result| {
                let info = admitted;
                me.tell(
                    me.pid(),
                    AgentAdmitted {
                        pid,
                        info,
                        version,
                        result,
                    },
                )
            }),
        );
    }

    /// Updates or (re)admits a returning agent; the answer comes back as
    /// `AgentReadmitted`.
    pub(super) fn readmit(
        &self,
        pid: Pid,
        operation: RegistryOp,
        message: ReregisterAgent,
        cx: &Cx<'_, Master>,
    ) {
        let me = cx.handle();
        self.registry(
            operation,
            Box::new(move |result| {
                me.tell(
                    me.pid(),
                    AgentReadmitted {
                        pid,
                        message,
                        result,
                    },
                )
            }),
        );
    }
}

pub(super) fn send_to_agent(to: &Pid, message: ToAgent, cx: &Cx<'_, Master>) {
    match message {
        ToAgent::Registered(m) => cx.send(to, m),
        ToAgent::Reregistered(m) => cx.send(to, m),
        ToAgent::Ping(m) => cx.send(to, m),
        ToAgent::RunTask(m) => cx.send(to, *m),
        ToAgent::RunTaskGroup(m) => cx.send(to, *m),
        ToAgent::KillTask(m) => cx.send(to, m),
        ToAgent::Acknowledge(m) => cx.send(to, m),
        ToAgent::ShutdownFramework(m) => cx.send(to, m),
        ToAgent::ShutdownExecutor(m) => cx.send(to, m),
        ToAgent::FrameworkToExecutor(m) => cx.send(to, m),
        ToAgent::UpdateFramework(m) => cx.send(to, m),
        ToAgent::Shutdown(m) => cx.send(to, m),
        ToAgent::CheckpointResources(m) => cx.send(to, m),
    }
}

fn send_to_scheduler(to: &Pid, message: ToScheduler, cx: &Cx<'_, Master>) {
    match message {
        ToScheduler::Registered(m) => cx.send(to, m),
        ToScheduler::Reregistered(m) => cx.send(to, m),
        ToScheduler::Error(m) => cx.send(to, m),
        ToScheduler::Offers(m) => cx.send(to, m),
        ToScheduler::Rescind(m) => cx.send(to, m),
        ToScheduler::Update(m) => cx.send(to, m),
        ToScheduler::AgentLost(m) => cx.send(to, m),
        ToScheduler::ExecutorExited(m) => cx.send(to, m),
        ToScheduler::Message(m) => cx.send(to, m),
        // The Rust driver has no inverse offer callback (nor the old
        // message): only HTTP frameworks hear of them.
        ToScheduler::InverseOffers(_) => {}
        // Nor has it an operation status callback.
        ToScheduler::OperationStatus(_) => {}
    }
}

pub(super) fn call_allocator(a: &AllocatorHandle, call: AllocatorCall) {
    match call {
        AllocatorCall::AddAgent {
            agent_id,
            total,
            used,
        } => a.add_agent(&agent_id, total, used),
        AllocatorCall::RemoveAgent(id) => a.remove_agent(&id),
        AllocatorCall::ActivateAgent(id) => a.activate_agent(&id),
        AllocatorCall::DeactivateAgent(id) => a.deactivate_agent(&id),
        AllocatorCall::AddFramework {
            framework_id,
            roles,
            used,
        } => a.add_framework(&framework_id, roles, used, true),
        AllocatorCall::RemoveFramework(id) => a.remove_framework(&id),
        AllocatorCall::ActivateFramework(id) => a.activate_framework(&id),
        AllocatorCall::DeactivateFramework(id) => a.deactivate_framework(&id),
        AllocatorCall::Recover {
            framework_id,
            agent_id,
            role,
            resources,
            refuse,
        } => a.recover(&framework_id, &agent_id, &role, resources, refuse),
        AllocatorCall::Suppress(id, roles) => a.suppress(&id, roles),
        AllocatorCall::Revive(id, roles) => a.revive(&id, roles),
        AllocatorCall::UpdateWeights(weights) => a.update_weights(weights),
        AllocatorCall::UpdateQuota(configs) => a.update_quota(configs),
        AllocatorCall::UpdateAgentTotal { agent_id, total } => {
            a.update_agent_total(&agent_id, total)
        }
        AllocatorCall::UpdateAllocation {
            framework_id,
            agent_id,
            role,
            from,
            to,
        } => a.update_allocation(&framework_id, &agent_id, &role, from, to),
    }
}
