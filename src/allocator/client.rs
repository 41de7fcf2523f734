//! The allocator's client, as the master holds it: spawns the allocator
//! process and turns the master's events into the allocator's messages. The
//! allocator is a separate process, as in Mesos, so allocation cycles never
//! hold up the master's mailbox; allocations come back through the callback
//! given at spawn.

use std::time::Duration;

use actors::{Node, ProcessRef};
use wire::ids::{AgentId, FrameworkId};
use wire::resources::Resources;

use super::config::AllocatorConfig;
use super::process::{self as msg, AllocatorProcess};
use super::state::Allocation;

/// A handle on the allocator process.
pub struct AllocatorHandle {
    process: ProcessRef<AllocatorProcess>,
}

impl AllocatorHandle {
    /// Spawns the allocator on `node`; `deliver` receives each batch.
    pub fn spawn(
        node: &Node,
        config: AllocatorConfig,
        deliver: impl Fn(Vec<Allocation>) + Send + 'static,
    ) -> Result<AllocatorHandle, String> {
        let process =
            AllocatorProcess::new(config, Box::new(deliver)).map_err(|e| e.to_string())?;
        let process = node
            .spawn(node.generate_id("allocator"), process)
            .map_err(|e| e.to_string())?;
        Ok(AllocatorHandle { process })
    }

    fn tell<M: Send + 'static>(&self, m: M)
    where
        AllocatorProcess: actors::Handle<M>,
    {
        self.process.tell(self.process.pid(), m);
    }

    pub fn add_agent(
        &self,
        agent_id: &AgentId,
        total: Resources,
        used: Vec<(FrameworkId, String, Resources)>,
    ) {
        self.tell(msg::AddAgent {
            agent_id: agent_id.clone(),
            total,
            used,
        });
    }

    pub fn remove_agent(&self, agent_id: &AgentId) {
        self.tell(msg::RemoveAgent {
            agent_id: agent_id.clone(),
        });
    }

    pub fn activate_agent(&self, agent_id: &AgentId) {
        self.tell(msg::ActivateAgent {
            agent_id: agent_id.clone(),
        });
    }

    pub fn deactivate_agent(&self, agent_id: &AgentId) {
        self.tell(msg::DeactivateAgent {
            agent_id: agent_id.clone(),
        });
    }

    pub fn add_framework(
        &self,
        framework_id: &FrameworkId,
        roles: Vec<String>,
        used: Vec<(AgentId, String, Resources)>,
        active: bool,
    ) {
        self.tell(msg::AddFramework {
            framework_id: framework_id.clone(),
            roles,
            used,
            active,
        });
    }

    pub fn remove_framework(&self, framework_id: &FrameworkId) {
        self.tell(msg::RemoveFramework {
            framework_id: framework_id.clone(),
        });
    }

    pub fn activate_framework(&self, framework_id: &FrameworkId) {
        self.tell(msg::ActivateFramework {
            framework_id: framework_id.clone(),
        });
    }

    pub fn deactivate_framework(&self, framework_id: &FrameworkId) {
        self.tell(msg::DeactivateFramework {
            framework_id: framework_id.clone(),
        });
    }

    /// Resources of `role` held by a framework on an agent come back; with
    /// `refuse`, they are not offered to it again for that long.
    pub fn recover(
        &self,
        framework_id: &FrameworkId,
        agent_id: &AgentId,
        role: &str,
        resources: Resources,
        refuse: Option<Duration>,
    ) {
        if resources.is_empty() {
            return;
        }
        self.tell(msg::RecoverResources {
            framework_id: framework_id.clone(),
            agent_id: agent_id.clone(),
            role: role.to_owned(),
            resources,
            refuse,
        });
    }

    pub fn suppress(&self, framework_id: &FrameworkId, roles: Vec<String>) {
        self.tell(msg::Suppress {
            framework_id: framework_id.clone(),
            roles,
        });
    }

    /// New weights for some roles (`UPDATE_WEIGHTS`).
    pub fn update_weights(&self, weights: std::collections::HashMap<String, f64>) {
        self.tell(msg::UpdateWeights { weights });
    }

    /// New quotas for some roles (`UPDATE_QUOTA`, `SET_QUOTA`, `REMOVE_QUOTA`).
    pub fn update_quota(&self, configs: Vec<wire::registry::QuotaConfig>) {
        self.tell(msg::UpdateQuota { configs });
    }

    /// An agent's total changed (an operator reserved, unreserved, or made
    /// or destroyed volumes of resources nobody holds).
    pub fn update_agent_total(&self, agent_id: &AgentId, total: Resources) {
        self.tell(msg::UpdateAgentTotal {
            agent_id: agent_id.clone(),
            total,
        });
    }

    /// A framework converted resources it holds on an agent.
    pub fn update_allocation(
        &self,
        framework_id: &FrameworkId,
        agent_id: &AgentId,
        role: &str,
        from: Resources,
        to: Resources,
    ) {
        self.tell(msg::UpdateAllocation {
            framework_id: framework_id.clone(),
            agent_id: agent_id.clone(),
            role: role.to_owned(),
            from,
            to,
        });
    }

    pub fn revive(&self, framework_id: &FrameworkId, roles: Vec<String>) {
        self.tell(msg::Revive {
            framework_id: framework_id.clone(),
            roles,
        });
    }
}
