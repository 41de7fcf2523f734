//! The allocator's records of what it knows: each agent with its total,
//! what every (framework, role) holds on it and what is left, and each
//! framework with its roles, activity, suppressed roles and refused-offer
//! filters. The arithmetic that keeps an agent's `available` in line with
//! its holdings lives here; [`HierarchicalAllocator`](super::HierarchicalAllocator)
//! decides when to call it.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use wire::ids::{AgentId, FrameworkId};
use wire::resources::{Resources, UNRESERVED};

/// Refused resources not to offer again before `expires`.
#[derive(Debug, Clone)]
pub(super) struct Filter {
    pub(super) resources: Resources,
    pub(super) expires: Duration,
}

/// What one framework holds on one agent under one role.
#[derive(Debug)]
pub(super) struct Holding {
    pub(super) framework: Arc<str>,
    pub(super) role: Arc<str>,
    /// Never empty.
    pub(super) resources: Resources,
}

/// One agent as the allocator sees it.
#[derive(Debug)]
pub(super) struct Agent {
    pub(super) id: AgentId,
    /// What the agent has; the sorters' totals include it.
    pub(super) total: Resources,
    /// What frameworks (added to the allocator or not yet) hold here, one
    /// entry per (framework, role). A handful at most, so a vector.
    pub(super) holdings: Vec<Holding>,
    /// `total` minus every holding, kept so a fully allocated agent costs
    /// nothing.
    pub(super) available: Resources,
    /// Deactivated agents are never offered.
    pub(super) active: bool,
}

impl Agent {
    /// Records that `framework` holds `resources` (taken from `available`
    /// by the caller) under `role`.
    pub(super) fn hold(&mut self, framework: &Arc<str>, role: &Arc<str>, resources: &Resources) {
        match self
            .holdings
            .iter_mut()
            .find(|h| h.framework == *framework && h.role == *role)
        {
            Some(h) => add_into(&mut h.resources, resources),
            None if resources.is_empty() => {}
            None => self.holdings.push(Holding {
                framework: framework.clone(),
                role: role.clone(),
                resources: resources.clone(),
            }),
        }
    }

    /// Records resources a framework already used when the allocator
    /// learnt of them.
    pub(super) fn add_used(&mut self, framework: &str, role: &str, resources: &Resources) {
        self.available = self.available.minus(resources);
        self.hold(&Arc::from(framework), &Arc::from(role), resources);
    }

    pub(super) fn held(&self, framework: &str, role: &str) -> Option<&Resources> {
        self.holdings
            .iter()
            .find(|h| &*h.framework == framework && &*h.role == role)
            .map(|h| &h.resources)
    }

    /// Gives back what `framework` holds of `resources` under `role` and
    /// returns that part.
    pub(super) fn release(
        &mut self,
        framework: &str,
        role: &str,
        resources: &Resources,
    ) -> Resources {
        let Some(pos) = self
            .holdings
            .iter()
            .position(|h| &*h.framework == framework && &*h.role == role)
        else {
            return Resources::new();
        };
        let Some(holding) = self.holdings.get_mut(pos) else {
            return Resources::new();
        };
        let released = if holding.resources == *resources {
            // The usual case (a whole offer declined): no arithmetic.
            self.holdings.swap_remove(pos).resources
        } else {
            let released = intersection(&holding.resources, resources);
            holding.resources = holding.resources.minus(&released);
            if holding.resources.is_empty() {
                self.holdings.swap_remove(pos);
            }
            released
        };
        self.recompute_available();
        released
    }

    /// Drops every holding of `framework` and returns them.
    pub(super) fn release_framework(&mut self, framework: &str) -> Vec<Holding> {
        if !self.holdings.iter().any(|h| &*h.framework == framework) {
            return Vec::new();
        }
        let (gone, kept) = std::mem::take(&mut self.holdings)
            .into_iter()
            .partition(|h| &*h.framework == framework);
        self.holdings = kept;
        self.recompute_available();
        gone
    }

    pub(super) fn recompute_available(&mut self) {
        // Recomputed rather than added to, so `available` never exceeds
        // `total` whatever the caller recovered.
        let mut available = self.total.clone();
        for h in &self.holdings {
            available = available.minus(&h.resources);
        }
        self.available = available;
    }

    /// Takes out of `available` everything `role` may be offered.
    pub(super) fn take_offer(&mut self, role: &str) -> Resources {
        if self
            .available
            .iter()
            .all(|r| r.role == UNRESERVED || r.role == role)
        {
            std::mem::take(&mut self.available)
        } else {
            let offer = self.available.allocatable_to(role);
            self.available = self.available.minus(&offer);
            offer
        }
    }
}

/// One added framework as the allocator sees it.
#[derive(Debug)]
pub(super) struct Framework {
    pub(super) id: FrameworkId,
    /// The roles it subscribed to; its client is in each one's sorter.
    pub(super) roles: BTreeSet<String>,
    /// Deactivated frameworks are in no sorter's order.
    pub(super) active: bool,
    /// A subset of `roles` that gets no offers until revived.
    pub(super) suppressed: BTreeSet<String>,
    /// Refused-offer filters by role, then agent; no list is empty.
    pub(super) filters: HashMap<String, HashMap<AgentId, Vec<Filter>>>,
}

impl Framework {
    pub(super) fn eligible(&self, role: &str) -> bool {
        self.active && self.roles.contains(role) && !self.suppressed.contains(role)
    }

    pub(super) fn has_filters(&self, role: &str, agent: &AgentId) -> bool {
        self.filters
            .get(role)
            .is_some_and(|by_agent| by_agent.contains_key(agent))
    }

    pub(super) fn is_filtered(
        &self,
        role: &str,
        agent: &AgentId,
        offer: &Resources,
        now: Duration,
    ) -> bool {
        self.filters
            .get(role)
            .and_then(|by_agent| by_agent.get(agent))
            .is_some_and(|filters| {
                filters
                    .iter()
                    .any(|f| f.expires > now && f.resources.contains(offer))
            })
    }
}

pub(super) fn add_into(to: &mut Resources, from: &Resources) {
    for r in from.iter() {
        // Both sides come from one agent's resources, so kinds agree; a
        // mismatch would be the agent's error and is left out.
        let _ = to.add(r.clone());
    }
}

/// What `a` and `b` have in common (the smaller scalar, common ranges and
/// items), role by role.
fn intersection(a: &Resources, b: &Resources) -> Resources {
    a.minus(&a.minus(b))
}
