//! Reservations and volumes applied to agents: RESERVE, UNRESERVE, CREATE
//! and DESTROY from a framework's ACCEPT (on what it was offered) or from
//! an operator (on what nobody holds). The checks and the arithmetic are
//! [`super::reservation`]'s; this is where an agent's total changes. The
//! master's record, the registry (so a new leader starts from it), the
//! allocator and the agent (which checkpoints it and makes or removes
//! volume directories) all get the new total.

use wire::agent::CheckpointResources;
use wire::ids::AgentId;
use wire::mesos::{FrameworkInfo, ResourceOpKind};
use wire::registry::Operation as RegistryOp;
use wire::resources::Resources;

use super::core::Core;
use super::effects::{AllocatorCall, Effects, OperationStatus, ToAgent, ToScheduler};
use super::reservation::{apply, validate, OpError, Requester, ResourceOp};
use super::state::FrameworkRecord;

/// The operation of `kind` on `resources`.
pub fn resource_op(kind: ResourceOpKind, resources: Resources) -> ResourceOp {
    match kind {
        ResourceOpKind::Reserve => ResourceOp::Reserve(resources),
        ResourceOpKind::Unreserve => ResourceOp::Unreserve(resources),
        ResourceOpKind::Create => ResourceOp::Create(resources),
        ResourceOpKind::Destroy => ResourceOp::Destroy(resources),
    }
}

/// One RESERVE/UNRESERVE/CREATE/DESTROY of an ACCEPT.
pub(super) struct AcceptedOp<'a> {
    pub framework: &'a FrameworkRecord,
    pub agent_id: &'a AgentId,
    /// The role the offers were made to.
    pub role: &'a str,
    /// The framework's operation id, when it asked for feedback.
    pub id: Option<String>,
    pub kind: ResourceOpKind,
    pub resources: Resources,
}

impl Core {
    /// What the agent's tasks (and their executors) use now.
    fn used_on(&self, agent_id: &AgentId) -> Resources {
        let Some(agent) = self.state.agent(agent_id) else {
            return Resources::new();
        };
        let mut used = Resources::new();
        for (framework_id, ids) in agent.tasks() {
            for task in ids.iter().filter_map(|t| self.state.task(framework_id, t)) {
                if !task.state.is_terminal() {
                    used = used.plus(&task.resources);
                }
            }
        }
        used
    }

    /// A DESTROY of a volume a live task uses is refused, as in Mesos.
    fn refuse_volumes_in_use(&self, agent_id: &AgentId, op: &ResourceOp) -> Result<(), OpError> {
        let ResourceOp::Destroy(volumes) = op else {
            return Ok(());
        };
        let used = self.used_on(agent_id).persistent_volumes();
        for v in volumes.iter() {
            let Some(p) = v.persistence() else { continue };
            let busy = used
                .iter()
                .any(|u| u.role == v.role && u.persistence().is_some_and(|q| q.id == p.id));
            if busy {
                return Err(OpError::Unavailable(format!(
                    "Persistent volume '{}' of role '{}' is in use by a task",
                    p.id, v.role
                )));
            }
        }
        Ok(())
    }

    /// The agent's new total goes to the master's record, the registry and
    /// the agent.
    fn set_agent_total(&mut self, agent_id: &AgentId, total: Resources, out: &mut Effects) {
        let Some(agent) = self.state.agent_mut(agent_id) else {
            return;
        };
        agent.info.resources = total.clone();
        out.record(RegistryOp::UpdateAgent(agent.info.clone()));
        self.to_agent(
            agent_id,
            ToAgent::CheckpointResources(CheckpointResources { resources: total }),
            out,
        );
    }

    /// Applies one RESERVE/UNRESERVE/CREATE/DESTROY of an ACCEPT to the
    /// offered resources left (`available`), which the framework holds. A
    /// refused operation is dropped (and the others go on), as in Mesos;
    /// with an id, the framework hears OPERATION_FINISHED or
    /// OPERATION_ERROR.
    pub(super) fn accept_resource_op(
        &mut self,
        op: AcceptedOp<'_>,
        available: &mut Resources,
        out: &mut Effects,
    ) {
        let info: &FrameworkInfo = &op.framework.info;
        let who = Requester {
            principal: info.principal.as_deref(),
            framework_roles: Some(&info.roles),
        };
        let operation = resource_op(op.kind, op.resources);
        let outcome = validate(&operation, &who)
            .and_then(|()| self.refuse_volumes_in_use(op.agent_id, &operation))
            .and_then(|()| {
                let total = self
                    .state
                    .agent(op.agent_id)
                    .map(|a| a.info.resources.clone())
                    .unwrap_or_default();
                Ok((apply(available, &operation)?, apply(&total, &operation)?))
            });
        let (state, message) = match outcome {
            Err(e) => {
                tracing::warn!(framework = %op.framework.id, agent = %op.agent_id, "dropping {} operation: {e}", op.kind.name());
                ("OPERATION_ERROR", Some(e.to_string()))
            }
            Ok((left, total)) => {
                tracing::info!(framework = %op.framework.id, agent = %op.agent_id, "applying {} operation", op.kind.name());
                out.allocator(AllocatorCall::UpdateAllocation {
                    framework_id: op.framework.id.clone(),
                    agent_id: op.agent_id.clone(),
                    role: op.role.to_owned(),
                    from: available.clone(),
                    to: left.clone(),
                });
                *available = left;
                self.set_agent_total(op.agent_id, total, out);
                ("OPERATION_FINISHED", None)
            }
        };
        if let Some(operation_id) = op.id {
            self.to_framework(
                &op.framework.id,
                ToScheduler::OperationStatus(OperationStatus {
                    operation_id,
                    state,
                    message,
                    agent_id: op.agent_id.clone(),
                }),
                out,
            );
        }
    }

    /// An operator's RESERVE_RESOURCES, UNRESERVE_RESOURCES, CREATE_VOLUMES,
    /// DESTROY_VOLUMES, GROW_VOLUME or SHRINK_VOLUME (or `/master/reserve` ...) on resources no task
    /// uses. Offers of the agent are rescinded when what they hold is
    /// needed, as Mesos does.
    pub fn operator_resource_op(
        &mut self,
        agent_id: &AgentId,
        operation: ResourceOp,
        out: &mut Effects,
    ) -> Result<(), OpError> {
        validate(&operation, &Requester::default())?;
        let Some(agent) = self.state.agent(agent_id) else {
            return Err(OpError::Invalid(format!("Agent '{agent_id}' not found")));
        };
        let total = agent.info.resources.clone();
        self.refuse_volumes_in_use(agent_id, &operation)?;
        let free = total.minus(&self.used_on(agent_id));
        let offered = Resources::sum(
            self.state
                .offers()
                .values()
                .filter(|o| &o.agent_id == agent_id)
                .map(|o| &o.resources),
        );
        if apply(&free.minus(&offered), &operation).is_err() {
            // Enough once the offers are back (or not at all: then the
            // offers stay).
            apply(&free, &operation)?;
            self.rescind_offers_where(|o| &o.agent_id == agent_id, out);
        }
        let total = apply(&total, &operation)?;
        tracing::info!(agent = %agent_id, "applying {} operation of an operator", operation.name());
        out.allocator(AllocatorCall::UpdateAgentTotal {
            agent_id: agent_id.clone(),
            total: total.clone(),
        });
        self.set_agent_total(agent_id, total, out);
        Ok(())
    }
}
