//! The hierarchical DRF allocator as pure bookkeeping: Mesos's
//! `HierarchicalAllocatorProcess` (`src/master/allocator/mesos/hierarchical.cpp`)
//! without the process around it. It does no I/O and reads no clock: the
//! caller passes `now` (time since any fixed epoch) to whatever depends on
//! time, and sends the [`Allocation`]s that [`HierarchicalAllocator::allocate`]
//! returns.
//!
//! It owns which agents and frameworks exist, what each agent has and what
//! each framework holds on it (offered or used by tasks: "allocated" either
//! way, until [`HierarchicalAllocator::recover_resources`]), refused-offer
//! filters, suppressed roles, and two levels of [`DrfSorter`]: one over
//! roles, one per role over its frameworks. The per-agent and per-framework
//! records it keeps are in `records.rs`; what configures it and the errors
//! it returns are in `config.rs`.
//!
//! Quota (guarantees first, headroom, limits) is decided in `quota.rs`;
//! with no quota configured a cycle never consults it.
//!
//! Not modelled (yet): hierarchical roles (`eng/backend` is one flat
//! name here, and reservations go to exactly their role), revocable and
//! shared resources, maintenance and inverse offers, agent whitelists,
//! framework capabilities and per-framework `offer_filters`.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use wire::ids::{AgentId, FrameworkId};
use wire::registry::QuotaConfig;
use wire::resources::{Resource, Resources, Value, UNRESERVED};

use crate::random::Rng;

use super::config::{validate_weights, AllocatorConfig, AllocatorError, MAX_REFUSE};
use super::quota::{AgentView, QuotaCycle, Quotas, Stage};
use super::records::{add_into, Agent, Filter, Framework};
use super::sorter::{DrfSorter, Quantities, SortKey};

/// Resources of one agent handed to one framework for one of its roles.
#[derive(Debug, Clone, PartialEq)]
pub struct Allocation {
    pub framework_id: FrameworkId,
    pub role: String,
    pub agent_id: AgentId,
    pub resources: Resources,
}

/// Mesos's hierarchical DRF allocator, minus the process. See the module
/// docs.
#[derive(Debug)]
pub struct HierarchicalAllocator {
    /// Fixed at construction except `weights`, which follows
    /// `update_weights`.
    config: AllocatorConfig,
    /// Every agent, in no meaningful order; `agent_index` maps ids here.
    agents: Vec<Agent>,
    /// Agent id to its position in `agents`, for every agent.
    agent_index: HashMap<AgentId, usize>,
    /// Every added framework, by id text (the name of its sorter clients).
    frameworks: HashMap<String, Framework>,
    /// Agents holding resources of frameworks not added yet, by framework
    /// id text; consumed when the framework is added. May name agents that
    /// no longer hold anything for it.
    awaiting: HashMap<String, BTreeSet<AgentId>>,
    /// Every role some framework is tracked under; always active.
    roles: DrfSorter,
    /// One sorter per client of `roles`, over the frameworks tracked under
    /// that role; never empty.
    framework_sorters: HashMap<String, DrfSorter>,
    /// The scalars of every agent's total.
    total: Quantities,
    /// The scalars of every agent's holdings.
    allocated: Quantities,
    /// Shuffles agents each cycle, as Mesos does, so none is always
    /// first; seeded from the config, so a run replays.
    rng: Rng,
    /// Roles' guarantees and limits; empty unless an operator set some.
    quotas: Quotas,
}

impl HierarchicalAllocator {
    pub fn new(config: AllocatorConfig) -> Result<HierarchicalAllocator, AllocatorError> {
        validate_weights(&config.weights)?;
        let mut roles = DrfSorter::new(config.fair_sharing_excluded_resource_names.clone());
        for (role, weight) in &config.weights {
            roles.set_weight(role, *weight);
        }
        Ok(HierarchicalAllocator {
            rng: Rng::with_seed(config.seed),
            config,
            agents: Vec::new(),
            agent_index: HashMap::new(),
            frameworks: HashMap::new(),
            awaiting: HashMap::new(),
            roles,
            framework_sorters: HashMap::new(),
            total: Quantities::default(),
            allocated: Quantities::default(),
            quotas: Quotas::default(),
        })
    }

    pub fn config(&self) -> &AllocatorConfig {
        &self.config
    }

    /// Adds a framework subscribed to `roles`. `used` lists what it holds
    /// (by agent and role); an agent's part of it may already have come
    /// with that agent's [`add_agent`](Self::add_agent), and is not counted
    /// twice. Holdings on agents not added yet are ignored: they come with
    /// the agent.
    pub fn add_framework(
        &mut self,
        id: FrameworkId,
        roles: Vec<String>,
        used: Vec<(AgentId, String, Resources)>,
        active: bool,
    ) -> Result<(), AllocatorError> {
        let key = id.value.clone();
        if self.frameworks.contains_key(&key) {
            return Err(AllocatorError::FrameworkExists(id));
        }
        let framework = Framework {
            id,
            roles: roles.into_iter().collect(),
            active,
            suppressed: BTreeSet::new(),
            filters: HashMap::new(),
        };
        let subscribed: Vec<String> = framework.roles.iter().cloned().collect();
        self.frameworks.insert(key.clone(), framework);
        for role in &subscribed {
            self.track(&key, role);
        }
        let mut holding: BTreeSet<AgentId> = self.awaiting.remove(&key).unwrap_or_default();
        for (agent_id, role, resources) in used {
            let Some(agent) = self.agent_mut(&agent_id) else {
                continue;
            };
            let missing = match agent.held(&key, &role) {
                Some(known) => resources.minus(known),
                None => resources,
            };
            if !missing.is_empty() {
                agent.add_used(&key, &role, &missing);
                self.allocated.add(&missing);
            }
            holding.insert(agent_id);
        }
        for agent_id in holding {
            let held: Vec<(String, Resources)> = self
                .agent(&agent_id)
                .map(|a| {
                    a.holdings
                        .iter()
                        .filter(|h| *h.framework == *key)
                        .map(|h| (h.role.to_string(), h.resources.clone()))
                        .collect()
                })
                .unwrap_or_default();
            for (role, resources) in held {
                self.track(&key, &role);
                self.track_allocated(&key, &role, &resources);
            }
        }
        Ok(())
    }

    /// Forgets a framework; everything it held goes back to its agents.
    pub fn remove_framework(&mut self, id: &FrameworkId) {
        let key = id.as_str();
        if self.frameworks.remove(key).is_none() {
            return;
        }
        for agent in &mut self.agents {
            for h in agent.release_framework(key) {
                self.allocated.subtract(&h.resources);
                self.roles.unallocated(&h.role, &h.resources);
            }
        }
        let roles = &mut self.roles;
        self.framework_sorters.retain(|role, sorter| {
            sorter.remove(key);
            let keep = !sorter.is_empty();
            if !keep {
                roles.remove(role);
            }
            keep
        });
    }

    pub fn activate_framework(&mut self, id: &FrameworkId) {
        self.set_framework_active(id, true);
    }

    /// Stops offers to the framework and drops its filters; it keeps what
    /// it holds.
    pub fn deactivate_framework(&mut self, id: &FrameworkId) {
        self.set_framework_active(id, false);
    }

    /// Adds an agent with its total and what frameworks (added or not yet)
    /// already hold on it, by framework and role.
    pub fn add_agent(
        &mut self,
        id: AgentId,
        total: Resources,
        used: Vec<(FrameworkId, String, Resources)>,
    ) -> Result<(), AllocatorError> {
        if self.agent_index.contains_key(&id) {
            return Err(AllocatorError::AgentExists(id));
        }
        let mut agent = Agent {
            id: id.clone(),
            available: total.clone(),
            total,
            holdings: Vec::new(),
            active: true,
        };
        self.add_total(&agent.total);
        let mut tracked = Vec::new();
        for (framework_id, role, resources) in used {
            agent.add_used(framework_id.as_str(), &role, &resources);
            self.allocated.add(&resources);
            if self.frameworks.contains_key(framework_id.as_str()) {
                tracked.push((framework_id.value, role, resources));
            } else {
                self.awaiting
                    .entry(framework_id.value)
                    .or_default()
                    .insert(id.clone());
            }
        }
        self.agent_index.insert(id, self.agents.len());
        self.agents.push(agent);
        for (framework, role, resources) in tracked {
            self.track(&framework, &role);
            self.track_allocated(&framework, &role, &resources);
        }
        Ok(())
    }

    /// Forgets an agent, what was held on it, and the filters naming it.
    pub fn remove_agent(&mut self, id: &AgentId) {
        let Some(index) = self.agent_index.remove(id) else {
            return;
        };
        if index >= self.agents.len() {
            return;
        }
        let agent = self.agents.swap_remove(index);
        if let Some(moved) = self.agents.get(index) {
            self.agent_index.insert(moved.id.clone(), index);
        }
        for h in &agent.holdings {
            self.allocated.subtract(&h.resources);
            if self.frameworks.contains_key(&*h.framework) {
                self.untrack_allocated(&h.framework, &h.role, &h.resources);
            }
        }
        self.remove_total(&agent.total);
        for framework in self.frameworks.values_mut() {
            framework.filters.retain(|_, by_agent| {
                by_agent.remove(id);
                !by_agent.is_empty()
            });
        }
    }

    pub fn activate_agent(&mut self, id: &AgentId) {
        if let Some(agent) = self.agent_mut(id) {
            agent.active = true;
        }
    }

    /// Stops offers of the agent; what is held there stays held.
    pub fn deactivate_agent(&mut self, id: &AgentId) {
        if let Some(agent) = self.agent_mut(id) {
            agent.active = false;
        }
    }

    /// Replaces an agent's total (its resources changed on restart, or
    /// were reserved). What is held there stays held.
    pub fn update_agent_total(&mut self, id: &AgentId, total: Resources) {
        let Some(agent) = self.agent_mut(id) else {
            return;
        };
        let old = std::mem::replace(&mut agent.total, total.clone());
        agent.recompute_available();
        self.remove_total(&old);
        self.add_total(&total);
    }

    /// `framework` converted resources it holds on `agent` under `role`
    /// (RESERVE, UNRESERVE, CREATE or DESTROY in an accept): it holds `to`
    /// in place of `from`, and the agent's total changes the same way.
    /// Nothing happens unless it holds all of `from` there.
    pub fn update_allocation(
        &mut self,
        framework: &FrameworkId,
        agent: &AgentId,
        role: &str,
        from: &Resources,
        to: &Resources,
    ) {
        let key = framework.as_str();
        let Some(agent_state) = self.agent_mut(agent) else {
            return;
        };
        if !agent_state
            .held(key, role)
            .is_some_and(|held| held.contains(from))
        {
            return;
        }
        let released = agent_state.release(key, role, from);
        agent_state.total = agent_state.total.minus(&released).plus(to);
        agent_state.recompute_available();
        agent_state.add_used(key, role, to);
        self.remove_total(&released);
        self.add_total(to);
        self.allocated.subtract(&released);
        self.allocated.add(to);
        if self.frameworks.contains_key(key) {
            self.untrack_allocated(key, role, &released);
            self.track_allocated(key, role, to);
        }
    }

    /// `resources` that `framework` held on `agent` under `role` come back:
    /// an offer declined, rescinded or timed out, the unused part of an
    /// accept, or a finished task's resources. With `refuse` longer than
    /// zero, the framework is not offered those resources on that agent for
    /// that role again until `now + max(refuse, allocation_interval)`
    /// (`refuse` capped at 365 days).
    pub fn recover_resources(
        &mut self,
        framework: &FrameworkId,
        agent: &AgentId,
        role: &str,
        resources: &Resources,
        refuse: Option<Duration>,
        now: Duration,
    ) {
        if resources.is_empty() {
            return;
        }
        let key = framework.as_str();
        let Some(index) = self.agent_index.get(agent).copied() else {
            return;
        };
        let Some(agent_state) = self.agents.get_mut(index) else {
            return;
        };
        let released = agent_state.release(key, role, resources);
        self.allocated.subtract(&released);
        if !self.frameworks.contains_key(key) {
            return;
        }
        self.untrack_allocated(key, role, &released);
        let Some(refuse) = refuse.filter(|d| !d.is_zero()) else {
            return;
        };
        let timeout = refuse.min(MAX_REFUSE).max(self.config.allocation_interval);
        if let Some(framework) = self.frameworks.get_mut(key) {
            framework
                .filters
                .entry(role.to_owned())
                .or_default()
                .entry(agent.clone())
                .or_default()
                .push(Filter {
                    resources: resources.clone(),
                    expires: now.saturating_add(timeout),
                });
        }
    }

    /// Stops offers to the framework for `roles` (all its roles when empty).
    pub fn suppress(&mut self, framework: &FrameworkId, roles: Vec<String>) {
        let Some(f) = self.frameworks.get_mut(framework.as_str()) else {
            return;
        };
        let roles = if roles.is_empty() {
            f.roles.iter().cloned().collect()
        } else {
            roles
        };
        for role in roles {
            if f.roles.contains(&role) {
                f.suppressed.insert(role);
            }
        }
        self.sync_activity(framework.as_str());
    }

    /// Clears the framework's filters for `roles` (all its roles when
    /// empty) and lifts their suppression.
    pub fn revive(&mut self, framework: &FrameworkId, roles: Vec<String>) {
        let Some(f) = self.frameworks.get_mut(framework.as_str()) else {
            return;
        };
        let roles = if roles.is_empty() {
            f.roles.iter().cloned().collect()
        } else {
            roles
        };
        for role in roles {
            f.filters.remove(&role);
            f.suppressed.remove(&role);
        }
        self.sync_activity(framework.as_str());
    }

    /// Sets the weights of the roles named; others keep theirs. Nothing
    /// changes if any weight is not a positive number.
    pub fn update_weights(&mut self, weights: HashMap<String, f64>) -> Result<(), AllocatorError> {
        validate_weights(&weights)?;
        for (role, weight) in weights {
            self.roles.set_weight(&role, weight);
            self.config.weights.insert(role, weight);
        }
        Ok(())
    }

    /// Replaces the quotas of the roles named (a default config removes
    /// one); the next cycle follows them.
    pub fn update_quota(&mut self, configs: Vec<QuotaConfig>) {
        for config in configs {
            self.quotas.set(config);
        }
    }

    pub fn quotas(&self) -> &Quotas {
        &self.quotas
    }

    /// How much of scalar `kind` the role is offered or holds.
    pub fn role_offered_or_allocated(&self, role: &str, kind: &str) -> f64 {
        self.roles.allocation(role, kind) as f64 / 1000.0
    }

    /// One allocation cycle over every agent (`None`) or over the agents
    /// named. Each agent's available resources go, whole, to the first
    /// framework in DRF order (roles first, then the role's frameworks) that
    /// is not filtered; reservations go only to their role's frameworks.
    pub fn allocate(&mut self, now: Duration, agents: Option<&[AgentId]>) -> Vec<Allocation> {
        let mut order: Vec<usize> = match agents {
            None => {
                self.expire_filters(now);
                (0..self.agents.len()).collect()
            }
            Some(ids) => {
                let mut order: Vec<usize> = ids
                    .iter()
                    .filter_map(|id| self.agent_index.get(id).copied())
                    .collect();
                order.sort_unstable();
                order.dedup();
                order
            }
        };
        self.rng.shuffle(&mut order);
        if !self.quotas.is_empty() {
            return self.allocate_with_quota(&order, now);
        }

        let HierarchicalAllocator {
            config,
            agents,
            frameworks,
            roles,
            framework_sorters,
            allocated,
            ..
        } = self;
        let min = &config.min_allocatable;
        let mut out = Vec::new();
        for index in order {
            let Some(agent) = agents.get_mut(index) else {
                continue;
            };
            if !agent.active || !allocatable(min, &agent.available) {
                continue;
            }
            let mut role_cursor: Option<SortKey> = None;
            while let Some(role_key) = roles.next_after(role_cursor.as_ref()) {
                let role = role_key.name();
                if let Some(sorter) = framework_sorters.get_mut(role) {
                    if let Some((chosen, framework_id)) =
                        choose_framework(sorter, frameworks, role, agent, min, None, now)
                    {
                        let offer = agent.take_offer(role);
                        let picked = Picked {
                            framework: &chosen,
                            framework_id,
                            role: &role_key,
                        };
                        out.push(record_offer(agent, picked, offer, allocated, sorter, roles));
                    }
                }
                role_cursor = Some(role_key);
                if !allocatable(min, &agent.available) {
                    break;
                }
            }
        }
        out
    }

    /// A cycle with quota: first roles below their guarantee, over every
    /// agent, then everyone, each offer cut as `quota.rs` allows.
    fn allocate_with_quota(&mut self, order: &[usize], now: Duration) -> Vec<Allocation> {
        let HierarchicalAllocator {
            config,
            agents,
            frameworks,
            roles,
            framework_sorters,
            allocated,
            quotas,
            ..
        } = self;
        let mut cycle = QuotaCycle::new(
            quotas,
            agents.iter().map(|a| AgentView {
                total: &a.total,
                available: &a.available,
                holdings: a
                    .holdings
                    .iter()
                    .map(|h| (&*h.role, &h.resources))
                    .collect(),
            }),
        );
        let min = &config.min_allocatable;
        let mut out = Vec::new();
        for stage in [Stage::Guarantees, Stage::Rest] {
            for &index in order {
                let Some(agent) = agents.get_mut(index) else {
                    continue;
                };
                if !agent.active || !allocatable(min, &agent.available) {
                    continue;
                }
                let mut role_cursor: Option<SortKey> = None;
                while let Some(role_key) = roles.next_after(role_cursor.as_ref()) {
                    let role = role_key.name();
                    let serve = stage == Stage::Rest || cycle.below_guarantee(role);
                    if let (true, Some(sorter)) = (serve, framework_sorters.get_mut(role)) {
                        let offer = cycle.cut(role, stage, &agent.available.allocatable_to(role));
                        let chosen = match allocatable(min, &offer) {
                            true => choose_framework(
                                sorter,
                                frameworks,
                                role,
                                agent,
                                min,
                                Some(&offer),
                                now,
                            ),
                            false => None,
                        };
                        if let Some((chosen, framework_id)) = chosen {
                            agent.available = agent.available.minus(&offer);
                            cycle.offered(role, &offer);
                            let picked = Picked {
                                framework: &chosen,
                                framework_id,
                                role: &role_key,
                            };
                            out.push(record_offer(agent, picked, offer, allocated, sorter, roles));
                        }
                    }
                    role_cursor = Some(role_key);
                    if !allocatable(min, &agent.available) {
                        break;
                    }
                }
            }
        }
        out
    }

    /// Drops every filter that has expired by `now`.
    pub fn expire_filters(&mut self, now: Duration) {
        for framework in self.frameworks.values_mut() {
            framework.filters.retain(|_, by_agent| {
                by_agent.retain(|_, filters| {
                    filters.retain(|f| f.expires > now);
                    !filters.is_empty()
                });
                !by_agent.is_empty()
            });
        }
    }

    /// The cluster's total of scalar `kind`.
    pub fn total(&self, kind: &str) -> f64 {
        self.total.get(kind) as f64 / 1000.0
    }

    /// How much of scalar `kind` is offered or used, cluster-wide.
    /// Each role some framework is tracked under, with its unweighted
    /// dominant share of the cluster (offered or allocated).
    pub fn role_shares(&self) -> Vec<(String, f64)> {
        self.roles.dominant_shares()
    }

    pub fn offered_or_allocated(&self, kind: &str) -> f64 {
        self.allocated.get(kind) as f64 / 1000.0
    }

    /// What the agent has that nobody holds.
    pub fn available(&self, agent: &AgentId) -> Option<&Resources> {
        self.agent(agent).map(|a| &a.available)
    }

    /// What the framework holds on the agent, across its roles.
    pub fn held(&self, framework: &FrameworkId, agent: &AgentId) -> Resources {
        let mut out = Resources::new();
        for h in self.agent(agent).iter().flat_map(|a| &a.holdings) {
            if *h.framework == *framework.as_str() {
                add_into(&mut out, &h.resources);
            }
        }
        out
    }

    /// The role's weighted dominant share, if some framework is under it.
    pub fn role_share(&self, role: &str) -> Option<f64> {
        self.roles.share(role)
    }

    pub fn agent_count(&self) -> usize {
        self.agents.len()
    }

    pub fn framework_count(&self) -> usize {
        self.frameworks.len()
    }

    fn agent(&self, id: &AgentId) -> Option<&Agent> {
        self.agent_index
            .get(id)
            .and_then(|&index| self.agents.get(index))
    }

    fn agent_mut(&mut self, id: &AgentId) -> Option<&mut Agent> {
        self.agent_index
            .get(id)
            .and_then(|&index| self.agents.get_mut(index))
    }

    fn add_total(&mut self, resources: &Resources) {
        self.total.add(resources);
        self.roles.add_total(resources);
        for sorter in self.framework_sorters.values_mut() {
            sorter.add_total(resources);
        }
    }

    fn remove_total(&mut self, resources: &Resources) {
        self.total.subtract(resources);
        self.roles.remove_total(resources);
        for sorter in self.framework_sorters.values_mut() {
            sorter.remove_total(resources);
        }
    }

    /// Makes `framework` a client of `role`'s sorter (creating the role),
    /// active exactly when it should get offers for that role.
    fn track(&mut self, framework: &str, role: &str) {
        if !self.framework_sorters.contains_key(role) {
            let mut sorter =
                DrfSorter::new(self.config.fair_sharing_excluded_resource_names.clone());
            sorter.set_total(self.total.clone());
            self.framework_sorters.insert(role.to_owned(), sorter);
            self.roles.add(role);
            self.roles.activate(role);
        }
        let eligible = self
            .frameworks
            .get(framework)
            .is_some_and(|f| f.eligible(role));
        if let Some(sorter) = self.framework_sorters.get_mut(role) {
            sorter.add(framework);
            sorter.set_active(framework, eligible);
        }
    }

    fn track_allocated(&mut self, framework: &str, role: &str, resources: &Resources) {
        if let Some(sorter) = self.framework_sorters.get_mut(role) {
            sorter.allocated(framework, resources);
        }
        self.roles.allocated(role, resources);
    }

    fn untrack_allocated(&mut self, framework: &str, role: &str, resources: &Resources) {
        if let Some(sorter) = self.framework_sorters.get_mut(role) {
            sorter.unallocated(framework, resources);
        }
        self.roles.unallocated(role, resources);
    }

    fn set_framework_active(&mut self, id: &FrameworkId, active: bool) {
        let Some(f) = self.frameworks.get_mut(id.as_str()) else {
            return;
        };
        f.active = active;
        if !active {
            // As Mesos: a framework that comes back starts without filters.
            f.filters.clear();
        }
        self.sync_activity(id.as_str());
    }

    /// Brings the framework's place in every role's order in line with its
    /// state.
    fn sync_activity(&mut self, framework: &str) {
        let Some(f) = self.frameworks.get(framework) else {
            return;
        };
        for (role, sorter) in &mut self.framework_sorters {
            if sorter.contains(framework) {
                sorter.set_active(framework, f.eligible(role));
            }
        }
    }
}

/// The first framework of `role`, in DRF order, that may take what `agent`
/// has for that role (or `given`, that cut down). Frameworks come out of
/// the sorter only while active and unsuppressed, so only filters remain
/// to check.
/// The framework an offer goes to, and the role it is made in.
struct Picked<'a> {
    framework: &'a SortKey,
    framework_id: FrameworkId,
    role: &'a SortKey,
}

/// Books `offer` (already taken out of the agent's available resources)
/// to the framework picked: held on the agent, counted in the totals and
/// both sorters, and returned as the allocation to send.
fn record_offer(
    agent: &mut Agent,
    picked: Picked<'_>,
    offer: Resources,
    allocated: &mut Quantities,
    sorter: &mut DrfSorter,
    roles: &mut DrfSorter,
) -> Allocation {
    let role = picked.role.name();
    agent.hold(
        picked.framework.shared_name(),
        picked.role.shared_name(),
        &offer,
    );
    allocated.add(&offer);
    sorter.allocated(picked.framework.name(), &offer);
    roles.allocated(role, &offer);
    Allocation {
        framework_id: picked.framework_id,
        role: role.to_owned(),
        agent_id: agent.id.clone(),
        resources: offer,
    }
}

fn choose_framework(
    sorter: &mut DrfSorter,
    frameworks: &HashMap<String, Framework>,
    role: &str,
    agent: &Agent,
    min: &[Resources],
    given: Option<&Resources>,
    now: Duration,
) -> Option<(SortKey, FrameworkId)> {
    let mut cursor = sorter.next_after(None)?;
    if given.is_none() && !allocatable_to_role(min, &agent.available, role) {
        return None;
    }
    // Built only if some framework has filters here: most have none.
    let mut offer: Option<Resources> = given.cloned();
    loop {
        if let Some(framework) = frameworks.get(cursor.name()) {
            let filtered = framework.has_filters(role, &agent.id) && {
                let offer = offer.get_or_insert_with(|| agent.available.allocatable_to(role));
                framework.is_filtered(role, &agent.id, offer, now)
            };
            if !filtered {
                let id = framework.id.clone();
                return Some((cursor, id));
            }
        }
        cursor = sorter.next_after(Some(&cursor))?;
    }
}

/// Whether `resources` are worth an offer: they hold one of the `min` sets
/// (by quantity, whatever the roles), or anything when `min` is empty.
fn allocatable(min: &[Resources], resources: &Resources) -> bool {
    worth_offering(min, resources, |_| true)
}

/// Whether what `role` may be offered of `available` (its reservations and
/// the unreserved part) is worth an offer; copies nothing.
fn allocatable_to_role(min: &[Resources], available: &Resources, role: &str) -> bool {
    worth_offering(min, available, |r| r.role == UNRESERVED || r.role == role)
}

fn worth_offering(
    min: &[Resources],
    resources: &Resources,
    keep: impl Fn(&Resource) -> bool,
) -> bool {
    if !resources.iter().any(&keep) {
        return false;
    }
    min.is_empty()
        || min.iter().any(|set| {
            set.iter().all(|need| {
                // Quantities by name across roles: a scalar's value, the
                // number of ports in ranges, the number of items in a set.
                let have: f64 = resources
                    .iter()
                    .filter(|r| r.name == need.name && keep(r))
                    .map(|r| amount(&r.value))
                    .sum();
                have >= amount(&need.value)
            })
        })
}

fn amount(value: &Value) -> f64 {
    match value {
        Value::Scalar(m) => m.as_f64(),
        Value::Ranges(ranges) => ranges
            .iter()
            .map(|(b, e)| e.saturating_sub(*b).saturating_add(1) as f64)
            .sum(),
        Value::Set(items) => items.len() as f64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::allocator::config::default_min_allocatable;

    const SEC: Duration = Duration::from_secs(1);

    fn res(text: &str) -> Resources {
        Resources::parse(text, "*").unwrap()
    }

    fn fw(n: &str) -> FrameworkId {
        FrameworkId::new(n)
    }

    fn ag(n: &str) -> AgentId {
        AgentId::new(n)
    }

    fn allocator() -> HierarchicalAllocator {
        HierarchicalAllocator::new(AllocatorConfig::default()).unwrap()
    }

    /// `frameworks` as (id, role), `agents` identical agents `a0..`.
    fn cluster(frameworks: &[(&str, &str)], agents: usize, each: &str) -> HierarchicalAllocator {
        let mut a = allocator();
        for (id, role) in frameworks {
            a.add_framework(fw(id), vec![role.to_string()], vec![], true)
                .unwrap();
        }
        for i in 0..agents {
            a.add_agent(ag(&format!("a{i}")), res(each), vec![])
                .unwrap();
        }
        a
    }

    fn count_by_framework(allocations: &[Allocation]) -> HashMap<String, usize> {
        let mut out = HashMap::new();
        for x in allocations {
            *out.entry(x.framework_id.value.clone()).or_default() += 1;
        }
        out
    }

    fn recover_all(a: &mut HierarchicalAllocator, allocations: &[Allocation]) {
        for x in allocations {
            a.recover_resources(
                &x.framework_id,
                &x.agent_id,
                &x.role,
                &x.resources,
                None,
                Duration::ZERO,
            );
        }
    }

    #[test]
    fn identical_agents_are_split_evenly_between_two_frameworks() {
        let mut a = cluster(&[("f1", "*"), ("f2", "*")], 10, "cpus:4;mem:4096");
        let out = a.allocate(Duration::ZERO, None);
        assert_eq!(out.len(), 10);
        let counts = count_by_framework(&out);
        assert_eq!(counts["f1"], 5);
        assert_eq!(counts["f2"], 5);
        assert!(a.allocate(Duration::ZERO, None).is_empty(), "all allocated");
    }

    /// The scenario of Mesos's `DominantShareMetrics` test.
    #[test]
    fn role_shares_follow_allocations_and_leave_with_the_last_framework() {
        let mut a = cluster(&[("f1", "roleA")], 1, "cpus:1;mem:1024");
        let shares = |a: &HierarchicalAllocator| a.role_shares();
        let first = a.allocate(Duration::ZERO, None);
        assert_eq!(shares(&a), [("roleA".to_string(), 1.0)]);
        // Declined (with a filter): nothing held, a zero share.
        for x in &first {
            a.recover_resources(
                &x.framework_id,
                &x.agent_id,
                &x.role,
                &x.resources,
                Some(Duration::from_secs(3600)),
                Duration::ZERO,
            );
        }
        assert_eq!(shares(&a), [("roleA".to_string(), 0.0)]);
        // A second framework in another role takes the whole agent.
        a.add_framework(fw("f2"), vec!["roleB".into()], vec![], true)
            .unwrap();
        a.allocate(Duration::ZERO, None);
        assert_eq!(
            shares(&a),
            [("roleA".to_string(), 0.0), ("roleB".to_string(), 1.0)]
        );
        // A second agent goes to roleA: half each.
        a.add_agent(ag("a1"), res("cpus:1;mem:1024"), vec![])
            .unwrap();
        a.allocate(Duration::ZERO, None);
        assert_eq!(
            shares(&a),
            [("roleA".to_string(), 0.5), ("roleB".to_string(), 0.5)]
        );
        // The role leaves with its last framework.
        a.remove_framework(&fw("f2"));
        assert_eq!(shares(&a), [("roleA".to_string(), 0.5)]);
    }

    #[test]
    fn each_agent_goes_whole_to_one_framework() {
        let total = "cpus:4;mem:4096;disk:100;ports:[31000-32000]";
        let mut a = cluster(&[("f1", "*")], 2, total);
        let out = a.allocate(Duration::ZERO, None);
        assert_eq!(out.len(), 2);
        for x in &out {
            assert_eq!(x.resources, res(total));
            assert_eq!(x.role, "*");
            assert_eq!(a.held(&fw("f1"), &x.agent_id), res(total));
            assert_eq!(a.available(&x.agent_id), Some(&Resources::new()));
        }
        assert_eq!(a.total("cpus"), 8.0);
        assert_eq!(a.offered_or_allocated("cpus"), 8.0);
    }

    #[test]
    fn weights_scale_what_a_role_gets() {
        // (weight of role a, agents a gets, agents b gets) out of 30.
        for (weight, want_a, want_b) in [(1.0, 15, 15), (2.0, 20, 10), (5.0, 25, 5)] {
            let mut a = cluster(&[("fa", "a"), ("fb", "b")], 0, "");
            a.update_weights(HashMap::from([("a".to_string(), weight)]))
                .unwrap();
            for i in 0..30 {
                a.add_agent(ag(&format!("a{i}")), res("cpus:1;mem:100"), vec![])
                    .unwrap();
            }
            let counts = count_by_framework(&a.allocate(Duration::ZERO, None));
            let (got_a, got_b) = (counts["fa"], counts["fb"]);
            assert!(
                got_a.abs_diff(want_a) <= 1 && got_b.abs_diff(want_b) <= 1,
                "weight {weight}: a got {got_a}, b got {got_b}"
            );
        }
    }

    #[test]
    fn weights_from_the_config_apply_and_bad_weights_are_refused() {
        let config = AllocatorConfig {
            weights: HashMap::from([("a".to_string(), 3.0)]),
            ..AllocatorConfig::default()
        };
        let mut a = HierarchicalAllocator::new(config).unwrap();
        a.add_framework(fw("fa"), vec!["a".into()], vec![], true)
            .unwrap();
        a.add_agent(ag("x"), res("cpus:3;mem:300"), vec![]).unwrap();
        a.allocate(Duration::ZERO, None);
        assert_eq!(a.role_share("a"), Some(1.0 / 3.0));
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let err = a
                .update_weights(HashMap::from([("a".to_string(), bad)]))
                .unwrap_err();
            assert!(matches!(err, AllocatorError::BadWeight { .. }), "{bad}");
        }
        assert_eq!(a.role_share("a"), Some(1.0 / 3.0), "unchanged");
        let bad = AllocatorConfig {
            weights: HashMap::from([("a".to_string(), 0.0)]),
            ..AllocatorConfig::default()
        };
        assert!(HierarchicalAllocator::new(bad).is_err());
    }

    #[test]
    fn refused_resources_are_filtered_until_the_filter_expires() {
        let total = "cpus:4;mem:4096";
        // (refuse, allocation interval, last time still filtered, first time offered again)
        let day = 24 * 60 * 60 * SEC;
        let cases = [
            (Some(5 * SEC), SEC, 4 * SEC, 5 * SEC),
            // Shorter than the interval: the interval wins.
            (Some(SEC / 2), SEC, SEC * 9 / 10, SEC),
            (Some(400 * day), SEC, 364 * day, 365 * day),
            // No filter at all.
            (Some(Duration::ZERO), SEC, Duration::ZERO, Duration::ZERO),
            (None, SEC, Duration::ZERO, Duration::ZERO),
        ];
        for (refuse, interval, filtered_at, offered_at) in cases {
            let config = AllocatorConfig {
                allocation_interval: interval,
                ..AllocatorConfig::default()
            };
            let mut a = HierarchicalAllocator::new(config).unwrap();
            a.add_framework(fw("f"), vec!["*".into()], vec![], true)
                .unwrap();
            a.add_agent(ag("x"), res(total), vec![]).unwrap();
            assert_eq!(a.allocate(Duration::ZERO, None).len(), 1);
            a.recover_resources(&fw("f"), &ag("x"), "*", &res(total), refuse, Duration::ZERO);
            if filtered_at > Duration::ZERO {
                assert!(
                    a.allocate(filtered_at, None).is_empty(),
                    "{refuse:?}: filtered at {filtered_at:?}"
                );
            }
            let out = a.allocate(offered_at, None);
            assert_eq!(out.len(), 1, "{refuse:?}: offered at {offered_at:?}");
        }
    }

    #[test]
    fn a_filter_hides_only_what_it_covers() {
        let mut a = cluster(&[("f", "*"), ("g", "*")], 1, "cpus:4;mem:4096");
        let out = a.allocate(Duration::ZERO, None);
        let first = &out[0];
        // The first framework declines everything for a minute.
        a.recover_resources(
            &first.framework_id,
            &first.agent_id,
            "*",
            &first.resources,
            Some(60 * SEC),
            Duration::ZERO,
        );
        // Filtered for it, the agent goes to the other framework.
        let out = a.allocate(SEC, None);
        assert_eq!(out.len(), 1);
        assert_ne!(out[0].framework_id, first.framework_id);
        // The other takes half and frees the rest; what is left (less than
        // what was refused) stays filtered for the first framework.
        let other = out[0].clone();
        a.recover_resources(
            &other.framework_id,
            &other.agent_id,
            "*",
            &res("cpus:2;mem:2048"),
            Some(60 * SEC),
            SEC,
        );
        assert!(a.allocate(2 * SEC, None).is_empty());
        // Once the agent has more than was refused, the filter no longer
        // covers the offer.
        a.update_agent_total(&ag("a0"), res("cpus:8;mem:8192"));
        let out = a.allocate(3 * SEC, None);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].framework_id, first.framework_id);
        assert_eq!(out[0].resources, res("cpus:6;mem:6144"));
    }

    #[test]
    fn suppressed_roles_get_nothing_until_revived_and_revive_clears_filters() {
        let mut a = cluster(&[("f", "*")], 1, "cpus:4;mem:4096");
        a.suppress(&fw("f"), vec![]);
        assert!(a.allocate(Duration::ZERO, None).is_empty());
        a.revive(&fw("f"), vec![]);
        let out = a.allocate(Duration::ZERO, None);
        assert_eq!(out.len(), 1);
        a.recover_resources(
            &fw("f"),
            &ag("a0"),
            "*",
            &out[0].resources,
            Some(3600 * SEC),
            Duration::ZERO,
        );
        assert!(a.allocate(SEC, None).is_empty(), "filtered");
        a.revive(&fw("f"), vec!["*".into()]);
        assert_eq!(a.allocate(SEC, None).len(), 1, "revive dropped the filter");
    }

    #[test]
    fn suppressing_one_role_leaves_the_others() {
        let mut a = allocator();
        a.add_framework(fw("f"), vec!["a".into(), "b".into()], vec![], true)
            .unwrap();
        a.add_agent(ag("x"), res("cpus:1;mem:64"), vec![]).unwrap();
        a.suppress(&fw("f"), vec!["a".into()]);
        let out = a.allocate(Duration::ZERO, None);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].role, "b");
    }

    #[test]
    fn deactivated_frameworks_and_agents_get_nothing() {
        type Step = fn(&mut HierarchicalAllocator);
        let cases: [(&str, Step, Step); 2] = [
            (
                "framework",
                |a| a.deactivate_framework(&fw("f")),
                |a| a.activate_framework(&fw("f")),
            ),
            (
                "agent",
                |a| a.deactivate_agent(&ag("a0")),
                |a| a.activate_agent(&ag("a0")),
            ),
        ];
        for (what, deactivate, activate) in cases {
            let mut a = cluster(&[("f", "*")], 1, "cpus:4;mem:4096");
            deactivate(&mut a);
            assert!(a.allocate(Duration::ZERO, None).is_empty(), "{what}");
            activate(&mut a);
            assert_eq!(a.allocate(Duration::ZERO, None).len(), 1, "{what}");
        }
        let mut a = allocator();
        a.add_framework(fw("f"), vec!["*".into()], vec![], false)
            .unwrap();
        a.add_agent(ag("x"), res("cpus:1;mem:64"), vec![]).unwrap();
        assert!(
            a.allocate(Duration::ZERO, None).is_empty(),
            "added inactive"
        );
    }

    #[test]
    fn offers_must_hold_the_minimum_allocatable_resources() {
        let custom = vec![res("cpus:1;mem:100"), res("gpus:1")];
        // (min sets, agent, offered?)
        let cases = [
            (default_min_allocatable(), "cpus:0.01", true),
            (default_min_allocatable(), "mem:32", true),
            (default_min_allocatable(), "cpus:0.009;mem:31", false),
            (default_min_allocatable(), "disk:1000;ports:[1-1000]", false),
            (custom.clone(), "cpus:1;mem:100", true),
            (custom.clone(), "cpus:1;mem:99", false),
            (custom.clone(), "gpus:1", true),
            (vec![res("ports:[1-10]")], "ports:[5-14]", true),
            (vec![res("ports:[1-10]")], "ports:[5-13]", false),
            (vec![], "disk:1", true),
        ];
        for (min, agent, offered) in cases {
            let config = AllocatorConfig {
                min_allocatable: min,
                ..AllocatorConfig::default()
            };
            let mut a = HierarchicalAllocator::new(config).unwrap();
            a.add_framework(fw("f"), vec!["*".into()], vec![], true)
                .unwrap();
            a.add_agent(ag("x"), res(agent), vec![]).unwrap();
            let out = a.allocate(Duration::ZERO, None);
            assert_eq!(!out.is_empty(), offered, "{agent}");
        }
    }

    #[test]
    fn reserved_resources_go_only_to_their_role() {
        let mut a = allocator();
        a.add_framework(fw("db"), vec!["db".into()], vec![], true)
            .unwrap();
        a.add_framework(fw("web"), vec!["web".into()], vec![], true)
            .unwrap();
        a.add_agent(
            ag("x"),
            res("cpus(web):2;mem(web):512;cpus:1;mem:256"),
            vec![],
        )
        .unwrap();
        let out = a.allocate(Duration::ZERO, None);
        let by_fw: HashMap<&str, &Allocation> =
            out.iter().map(|x| (x.framework_id.as_str(), x)).collect();
        // "db" sorts first (equal shares): it takes the unreserved part only.
        assert_eq!(by_fw["db"].resources, res("cpus:1;mem:256"));
        assert_eq!(by_fw["db"].role, "db");
        assert_eq!(
            by_fw["web"].resources,
            res("cpus(web):2;mem(web):512"),
            "the reservation still goes to its role"
        );
        // With only a reservation left, other roles are not offered it.
        let mut a = allocator();
        a.add_framework(fw("db"), vec!["db".into()], vec![], true)
            .unwrap();
        a.add_agent(ag("x"), res("cpus(web):2;mem(web):512"), vec![])
            .unwrap();
        assert!(a.allocate(Duration::ZERO, None).is_empty());
    }

    #[test]
    fn recovered_resources_are_offered_in_the_next_cycle() {
        let mut a = cluster(&[("f", "*")], 3, "cpus:2;mem:2048");
        let out = a.allocate(Duration::ZERO, None);
        assert_eq!(out.len(), 3);
        assert!(a.allocate(SEC, None).is_empty());
        // A task used part of one agent; the rest comes back.
        let x = &out[0];
        a.recover_resources(
            &x.framework_id,
            &x.agent_id,
            "*",
            &res("cpus:1;mem:1024"),
            None,
            SEC,
        );
        assert_eq!(a.offered_or_allocated("cpus"), 5.0);
        let again = a.allocate(2 * SEC, None);
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].agent_id, x.agent_id);
        assert_eq!(again[0].resources, res("cpus:1;mem:1024"));
        // Recovering what is not held changes nothing.
        a.recover_resources(&fw("f"), &ag("nope"), "*", &res("cpus:1"), None, SEC);
        a.recover_resources(&fw("nope"), &x.agent_id, "*", &res("cpus:1"), None, SEC);
        assert_eq!(a.offered_or_allocated("cpus"), 6.0);
    }

    #[test]
    fn prompt_allocation_visits_only_the_agents_named() {
        let mut a = cluster(&[("f", "*")], 4, "cpus:1;mem:64");
        let out = a.allocate(
            Duration::ZERO,
            Some(&[ag("a1"), ag("a3"), ag("a3"), ag("zz")]),
        );
        let mut agents: Vec<&str> = out.iter().map(|x| x.agent_id.as_str()).collect();
        agents.sort();
        assert_eq!(agents, ["a1", "a3"]);
        assert_eq!(a.allocate(Duration::ZERO, None).len(), 2, "the rest");
    }

    #[test]
    fn the_next_agent_goes_to_whoever_has_the_lowest_share_now() {
        let mut a = cluster(&[("big", "*"), ("small", "*")], 0, "");
        a.add_agent(
            ag("held"),
            res("cpus:8;mem:8192"),
            vec![(fw("big"), "*".into(), res("cpus:8;mem:8192"))],
        )
        .unwrap();
        for i in 0..3 {
            a.add_agent(ag(&format!("a{i}")), res("cpus:2;mem:2048"), vec![])
                .unwrap();
        }
        // "big" holds 8 of 14 cpus; "small" gets agents until it passes it.
        let counts = count_by_framework(&a.allocate(Duration::ZERO, None));
        assert_eq!(counts.get("small"), Some(&3));
        assert_eq!(counts.get("big"), None);
    }

    #[test]
    fn used_resources_count_whichever_of_agent_and_framework_comes_first() {
        let used = res("cpus:3;mem:3072");
        // The agent re-registers before the framework.
        let mut a = allocator();
        a.add_agent(
            ag("x"),
            res("cpus:4;mem:4096"),
            vec![(fw("f"), "r".into(), used.clone())],
        )
        .unwrap();
        a.add_framework(
            fw("f"),
            vec!["r".into()],
            vec![(ag("x"), "r".into(), used.clone())],
            true,
        )
        .unwrap();
        assert_eq!(a.role_share("r"), Some(0.75));
        assert_eq!(a.available(&ag("x")), Some(&res("cpus:1;mem:1024")));
        assert_eq!(a.offered_or_allocated("cpus"), 3.0);
        // The framework comes first.
        let mut b = allocator();
        b.add_framework(
            fw("f"),
            vec!["r".into()],
            vec![(ag("x"), "r".into(), used.clone())],
            true,
        )
        .unwrap();
        b.add_agent(
            ag("x"),
            res("cpus:4;mem:4096"),
            vec![(fw("f"), "r".into(), used.clone())],
        )
        .unwrap();
        assert_eq!(b.role_share("r"), Some(0.75));
        assert_eq!(b.available(&ag("x")), Some(&res("cpus:1;mem:1024")));
        assert_eq!(b.offered_or_allocated("cpus"), 3.0);
        assert!(matches!(
            b.add_agent(ag("x"), Resources::new(), vec![]),
            Err(AllocatorError::AgentExists(_))
        ));
        assert!(matches!(
            b.add_framework(fw("f"), vec![], vec![], true),
            Err(AllocatorError::FrameworkExists(_))
        ));
    }

    #[test]
    fn removing_a_framework_frees_what_it_held() {
        let mut a = cluster(&[("f", "*"), ("g", "*")], 2, "cpus:1;mem:64");
        let out = a.allocate(Duration::ZERO, None);
        assert_eq!(out.len(), 2);
        a.remove_framework(&fw("f"));
        assert_eq!(a.framework_count(), 1);
        assert_eq!(a.offered_or_allocated("cpus"), 1.0);
        let again = a.allocate(SEC, None);
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].framework_id, fw("g"));
        a.remove_framework(&fw("g"));
        assert_eq!(
            a.role_share("*"),
            None,
            "the role left with its last framework"
        );
    }

    #[test]
    fn removing_an_agent_takes_its_resources_out_of_the_shares() {
        let mut a = cluster(&[("f", "*")], 2, "cpus:1;mem:64");
        let out = a.allocate(Duration::ZERO, None);
        assert_eq!(a.role_share("*"), Some(1.0));
        a.recover_resources(
            &fw("f"),
            &out[0].agent_id,
            "*",
            &out[0].resources,
            Some(60 * SEC),
            Duration::ZERO,
        );
        assert_eq!(a.role_share("*"), Some(0.5));
        a.remove_agent(&out[1].agent_id);
        assert_eq!(a.agent_count(), 1);
        assert_eq!(a.total("cpus"), 1.0);
        assert_eq!(a.offered_or_allocated("cpus"), 0.0);
        assert_eq!(a.role_share("*"), Some(0.0));
        // The removed agent's id is free again, without the old filter.
        a.remove_agent(&out[0].agent_id);
        a.add_agent(out[0].agent_id.clone(), res("cpus:1;mem:64"), vec![])
            .unwrap();
        assert_eq!(a.allocate(SEC, None).len(), 1);
    }

    #[test]
    fn a_framework_in_two_roles_gets_one_allocation_per_role() {
        let mut a = allocator();
        a.add_framework(fw("f"), vec!["a".into(), "b".into()], vec![], true)
            .unwrap();
        a.add_agent(ag("x"), res("cpus(a):1;cpus(b):2;cpus:1;mem:64"), vec![])
            .unwrap();
        let mut out = a.allocate(Duration::ZERO, None);
        out.sort_by(|x, y| x.role.cmp(&y.role));
        assert_eq!(out.len(), 2);
        assert_eq!((out[0].role.as_str(), out[1].role.as_str()), ("a", "b"));
        assert_eq!(out[0].resources, res("cpus(a):1;cpus:1;mem:64"));
        assert_eq!(out[1].resources, res("cpus(b):2"));
    }

    fn quota(role: &str, guarantees: &str, limits: &str) -> QuotaConfig {
        let amounts = |text: &str| {
            res(text)
                .iter()
                .filter_map(|r| match r.value {
                    Value::Scalar(m) => Some((r.name.clone(), m)),
                    _ => None,
                })
                .collect()
        };
        QuotaConfig {
            role: role.into(),
            guarantees: amounts(guarantees),
            limits: amounts(limits),
        }
    }

    /// Offered cpus by role in `allocations`.
    fn cpus_by_role(allocations: &[Allocation]) -> HashMap<String, f64> {
        let mut out = HashMap::new();
        for x in allocations {
            *out.entry(x.role.clone()).or_default() += x.resources.scalar("cpus");
        }
        out
    }

    #[test]
    fn a_role_below_its_guarantee_is_served_first_and_others_leave_it_room() {
        // "aaa" sorts first by name, so without quota it would get the
        // first agent; with "zzz" guaranteed 3 cpus of 4 agents' 4, "zzz"
        // gets 3 and "aaa" only what is not held back.
        let mut a = cluster(&[("f1", "aaa"), ("f2", "zzz")], 4, "cpus:1;mem:1024");
        a.update_quota(vec![quota("zzz", "cpus:3", "")]);
        let out = a.allocate(Duration::ZERO, None);
        let cpus = cpus_by_role(&out);
        assert_eq!(cpus.get("zzz"), Some(&3.0), "{out:?}");
        assert_eq!(cpus.get("aaa"), Some(&1.0), "{out:?}");
    }

    #[test]
    fn headroom_is_kept_for_a_guarantee_with_no_framework_yet() {
        let mut a = cluster(&[("f1", "ops")], 2, "cpus:2;mem:1024");
        a.update_quota(vec![quota("dev", "cpus:3", "")]);
        let out = a.allocate(Duration::ZERO, None);
        // Of 4 cpus, 3 are held back for dev; ops gets 1 (and all memory).
        assert_eq!(cpus_by_role(&out).get("ops"), Some(&1.0), "{out:?}");
        let mem: f64 = out.iter().map(|x| x.resources.scalar("mem")).sum();
        assert_eq!(mem, 2048.0);
        // dev arrives and gets what was kept for it.
        a.add_framework(fw("d"), vec!["dev".into()], vec![], true)
            .unwrap();
        let out = a.allocate(SEC, None);
        assert_eq!(cpus_by_role(&out).get("dev"), Some(&3.0), "{out:?}");
        // Removing the quota frees nothing more here, but the next agent
        // goes to anyone.
        a.update_quota(vec![quota("dev", "", "")]);
        assert!(a.quotas().is_empty());
    }

    #[test]
    fn a_role_never_gets_past_its_limit() {
        let mut a = cluster(&[("f1", "dev")], 3, "cpus:2;mem:1024");
        a.update_quota(vec![quota("dev", "", "cpus:3")]);
        let out = a.allocate(Duration::ZERO, None);
        assert_eq!(cpus_by_role(&out).get("dev"), Some(&3.0), "{out:?}");
        // More agents, more cycles: still no cpus beyond the limit.
        a.add_agent(ag("more"), res("cpus:8;mem:64"), vec![])
            .unwrap();
        let out = a.allocate(SEC, None);
        assert_eq!(cpus_by_role(&out).get("dev").copied().unwrap_or(0.0), 0.0);
        assert_eq!(a.role_offered_or_allocated("dev", "cpus"), 3.0);
        // Declined cpus come back and may be offered again, up to the limit.
        let first = a
            .agents
            .iter()
            .find_map(|ag| {
                ag.holdings
                    .first()
                    .map(|h| (ag.id.clone(), h.resources.clone()))
            })
            .unwrap();
        a.recover_resources(&fw("f1"), &first.0, "dev", &first.1, None, SEC);
        let out = a.allocate(2 * SEC, None);
        assert_eq!(
            cpus_by_role(&out).get("dev").copied().unwrap_or(0.0),
            first.1.scalar("cpus")
        );
        assert_eq!(a.role_offered_or_allocated("dev", "cpus"), 3.0);
    }

    #[test]
    fn reservations_count_towards_guarantee_and_limit() {
        let mut a = allocator();
        a.add_framework(fw("d"), vec!["dev".into()], vec![], true)
            .unwrap();
        a.add_agent(ag("x"), res("cpus(dev):2;cpus:4;mem:1024"), vec![])
            .unwrap();
        a.update_quota(vec![quota("dev", "cpus:2", "cpus:3")]);
        let out = a.allocate(Duration::ZERO, None);
        // The 2 reserved cpus meet the guarantee; the limit leaves room for
        // one unreserved cpu.
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].resources, res("cpus(dev):2;cpus:1;mem:1024"));
    }

    #[test]
    fn the_agent_order_changes_between_cycles() {
        let mut a = cluster(&[("f", "*")], 20, "cpus:1;mem:64");
        let first: Vec<AgentId> = a
            .allocate(Duration::ZERO, None)
            .iter()
            .map(|x| x.agent_id.clone())
            .collect();
        let out = a.allocate(Duration::ZERO, None);
        assert!(out.is_empty());
        let all: Vec<Allocation> = first
            .iter()
            .map(|id| Allocation {
                framework_id: fw("f"),
                role: "*".into(),
                agent_id: id.clone(),
                resources: res("cpus:1;mem:64"),
            })
            .collect();
        recover_all(&mut a, &all);
        let second: Vec<AgentId> = a
            .allocate(Duration::ZERO, None)
            .iter()
            .map(|x| x.agent_id.clone())
            .collect();
        assert_eq!(first.len(), 20);
        assert_ne!(first, second);
    }
}
