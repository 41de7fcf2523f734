//! The allocator process: Mesos's `HierarchicalAllocatorProcess` as an
//! actor around the I/O-free [`HierarchicalAllocator`].
//!
//! Receives (local only, from the master): [`AddFramework`],
//! [`RemoveFramework`], [`ActivateFramework`], [`DeactivateFramework`],
//! [`AddAgent`], [`RemoveAgent`], [`ActivateAgent`], [`DeactivateAgent`],
//! [`UpdateAgentTotal`], [`RecoverResources`], [`Suppress`], [`Revive`],
//! [`UpdateWeights`], [`UpdateQuota`]. Sends: each non-empty batch of [`Allocation`]s to the
//! callback it was built with (the master's offer path).
//!
//! It allocates every agent each `allocation_interval`, and soon after an
//! event frees or adds resources (agent added, resources recovered,
//! framework added, activated or revived) it allocates just the agents
//! concerned. Such prompt allocations are coalesced: however many events
//! arrive while one is pending, one cycle serves them all, once the mailbox
//! has caught up.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use actors::metrics::{Counter, Gauge, Timer};
use actors::{Cx, Handle, Install, Pid, Process};
use tokio::time::Instant;
use wire::ids::{AgentId, FrameworkId};
use wire::registry::QuotaConfig;
use wire::resources::Resources;

use super::config::{AllocatorConfig, AllocatorError};
use super::state::{Allocation, HierarchicalAllocator};

/// Where allocations go: the master passes a closure that tells itself.
pub type OfferCallback = Box<dyn Fn(Vec<Allocation>) + Send>;

/// A framework subscribed; `used` is what it already holds, by agent and
/// role (after a master failover).
#[derive(Debug, Clone, PartialEq)]
pub struct AddFramework {
    pub framework_id: FrameworkId,
    pub roles: Vec<String>,
    pub used: Vec<(AgentId, String, Resources)>,
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RemoveFramework {
    pub framework_id: FrameworkId,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ActivateFramework {
    pub framework_id: FrameworkId,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DeactivateFramework {
    pub framework_id: FrameworkId,
}

/// An agent was admitted; `used` is what frameworks hold on it, by
/// framework and role.
#[derive(Debug, Clone, PartialEq)]
pub struct AddAgent {
    pub agent_id: AgentId,
    pub total: Resources,
    pub used: Vec<(FrameworkId, String, Resources)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RemoveAgent {
    pub agent_id: AgentId,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ActivateAgent {
    pub agent_id: AgentId,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DeactivateAgent {
    pub agent_id: AgentId,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UpdateAgentTotal {
    pub agent_id: AgentId,
    pub total: Resources,
}

/// A framework converted resources it holds; see
/// [`HierarchicalAllocator::update_allocation`].
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateAllocation {
    pub framework_id: FrameworkId,
    pub agent_id: AgentId,
    pub role: String,
    pub from: Resources,
    pub to: Resources,
}

/// Resources a framework held come back; see
/// [`HierarchicalAllocator::recover_resources`].
#[derive(Debug, Clone, PartialEq)]
pub struct RecoverResources {
    pub framework_id: FrameworkId,
    pub agent_id: AgentId,
    pub role: String,
    pub resources: Resources,
    pub refuse: Option<Duration>,
}

/// No offers for `roles` (all the framework's roles when empty).
#[derive(Debug, Clone, PartialEq)]
pub struct Suppress {
    pub framework_id: FrameworkId,
    pub roles: Vec<String>,
}

/// Offers again for `roles` (all when empty), without filters.
#[derive(Debug, Clone, PartialEq)]
pub struct Revive {
    pub framework_id: FrameworkId,
    pub roles: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UpdateWeights {
    pub weights: HashMap<String, f64>,
}

/// Roles' new quotas (a default config removes one).
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateQuota {
    pub configs: Vec<QuotaConfig>,
}

/// The periodic cycle over every agent.
struct BatchAllocation;

/// The coalesced cycle over the agents that events touched.
struct PromptAllocation;

/// The agents waiting for a prompt allocation.
#[derive(Debug, Default)]
enum Pending {
    #[default]
    Nothing,
    Agents(BTreeSet<AgentId>),
    All,
}

/// The metrics Mesos's allocator publishes.
struct AllocatorMetrics {
    runs: Counter,
    run_ms: Timer,
    /// (kind, total, offered_or_allocated) for each kind Mesos reports.
    resources: Vec<(&'static str, Gauge, Gauge)>,
}

impl AllocatorMetrics {
    fn new(metrics: &actors::metrics::Metrics) -> AllocatorMetrics {
        let gauge = |kind: &str, what: &str| {
            metrics.gauge(&format!("allocator/mesos/resources/{kind}/{what}"))
        };
        AllocatorMetrics {
            runs: metrics.counter("allocator/mesos/allocation_runs"),
            run_ms: metrics.timer("allocator/mesos/allocation_run_ms"),
            resources: ["cpus", "mem", "disk"]
                .into_iter()
                .map(|kind| {
                    (
                        kind,
                        gauge(kind, "total"),
                        gauge(kind, "offered_or_allocated"),
                    )
                })
                .collect(),
        }
    }
}

/// The allocator as a process. See the module docs.
pub struct AllocatorProcess {
    /// All allocation state; only this process's handlers touch it.
    core: HierarchicalAllocator,
    /// Called with every non-empty batch of allocations, in order.
    offer: OfferCallback,
    /// The core's time zero: set when the process starts.
    epoch: Instant,
    /// Agents owed a prompt allocation; `Nothing` after every cycle that
    /// covered them.
    pending: Pending,
    /// Whether a `PromptAllocation` is on its way to this process.
    prompt_scheduled: bool,
    /// When the pending `BatchAllocation` is due: a multiple of the
    /// interval after `epoch`, so cycles do not drift by their own length.
    next_batch: Instant,
    /// Registered in `started`, on the node's metrics.
    metrics: Option<AllocatorMetrics>,
}

impl AllocatorProcess {
    pub fn new(
        config: AllocatorConfig,
        offer: OfferCallback,
    ) -> Result<AllocatorProcess, AllocatorError> {
        Ok(AllocatorProcess {
            core: HierarchicalAllocator::new(config)?,
            offer,
            epoch: Instant::now(),
            pending: Pending::Nothing,
            prompt_scheduled: false,
            next_batch: Instant::now(),
            metrics: None,
        })
    }

    /// The bookkeeping, for inspection (tests, HTTP endpoints).
    pub fn core(&self) -> &HierarchicalAllocator {
        &self.core
    }

    fn now(&self) -> Duration {
        Instant::now().saturating_duration_since(self.epoch)
    }

    fn want_prompt(&mut self, agents: Option<AgentId>, cx: &mut Cx<'_, Self>) {
        match (&mut self.pending, agents) {
            (Pending::All, _) => {}
            (pending, None) => *pending = Pending::All,
            (Pending::Agents(set), Some(agent)) => {
                set.insert(agent);
            }
            (pending @ Pending::Nothing, Some(agent)) => {
                *pending = Pending::Agents(BTreeSet::from([agent]));
            }
        }
        if !self.prompt_scheduled {
            self.prompt_scheduled = true;
            // Queued behind what is already in the mailbox, so a burst of
            // events is served by one cycle. (Not a zero `delay`: tokio's
            // timers round up to the next millisecond.)
            cx.handle().tell(cx.me(), PromptAllocation);
        }
    }

    fn run(&mut self, agents: Option<&[AgentId]>) {
        let started = std::time::Instant::now();
        let now = self.now();
        let allocations = self.core.allocate(now, agents);
        if let Some(m) = &self.metrics {
            m.runs.inc();
            m.run_ms.record(started.elapsed());
            for (kind, total, offered) in &m.resources {
                total.set(self.core.total(kind));
                offered.set(self.core.offered_or_allocated(kind));
            }
        }
        tracing::debug!(
            agents = agents.map_or(self.core.agent_count(), <[AgentId]>::len),
            allocations = allocations.len(),
            "allocation run"
        );
        if !allocations.is_empty() {
            (self.offer)(allocations);
        }
    }
}

impl Process for AllocatorProcess {
    fn install(i: &mut Install<Self>) {
        i.local::<AddFramework>()
            .local::<RemoveFramework>()
            .local::<ActivateFramework>()
            .local::<DeactivateFramework>()
            .local::<AddAgent>()
            .local::<RemoveAgent>()
            .local::<ActivateAgent>()
            .local::<DeactivateAgent>()
            .local::<UpdateAgentTotal>()
            .local::<UpdateAllocation>()
            .local::<RecoverResources>()
            .local::<Suppress>()
            .local::<Revive>()
            .local::<UpdateWeights>()
            .local::<UpdateQuota>()
            .local::<BatchAllocation>()
            .local::<PromptAllocation>();
    }

    fn started(&mut self, cx: &mut Cx<'_, Self>) {
        self.epoch = Instant::now();
        self.metrics = Some(AllocatorMetrics::new(cx.node().metrics()));
        // Per-role shares, read in mailbox order when a snapshot is taken,
        // so a role's gauge leaves with the role.
        let me = cx.handle();
        cx.node().metrics().collector(std::sync::Arc::new(move || {
            let me = me.clone();
            Box::pin(async move {
                me.call(|a, _| {
                    let mut out: Vec<(String, f64)> = a
                        .core
                        .role_shares()
                        .into_iter()
                        .map(|(role, share)| {
                            (
                                format!("allocator/mesos/roles/{role}/shares/dominant"),
                                share,
                            )
                        })
                        .collect();
                    out.extend(quota_metrics(&a.core));
                    out
                })
                .await
                .unwrap_or_default()
            })
        }));
        let interval = self.core.config().allocation_interval;
        self.next_batch = self.epoch + interval;
        cx.delay(interval, BatchAllocation);
    }
}

impl Handle<BatchAllocation> for AllocatorProcess {
    fn handle(&mut self, _: BatchAllocation, _from: &Pid, cx: &mut Cx<'_, Self>) {
        // Every agent is visited, so nothing stays owed.
        self.pending = Pending::Nothing;
        self.run(None);
        let interval = self.core.config().allocation_interval;
        let now = Instant::now();
        self.next_batch += interval;
        if self.next_batch <= now {
            // Overran a whole interval (or the clock jumped): start afresh.
            self.next_batch = now + interval;
        }
        cx.delay(self.next_batch - now, BatchAllocation);
    }
}

impl Handle<PromptAllocation> for AllocatorProcess {
    fn handle(&mut self, _: PromptAllocation, _from: &Pid, _cx: &mut Cx<'_, Self>) {
        self.prompt_scheduled = false;
        match std::mem::take(&mut self.pending) {
            Pending::Nothing => {}
            Pending::All => self.run(None),
            Pending::Agents(agents) => {
                let agents: Vec<AgentId> = agents.into_iter().collect();
                self.run(Some(&agents));
            }
        }
    }
}

impl Handle<AddFramework> for AllocatorProcess {
    fn handle(&mut self, m: AddFramework, _from: &Pid, cx: &mut Cx<'_, Self>) {
        let id = m.framework_id.clone();
        match self
            .core
            .add_framework(m.framework_id, m.roles, m.used, m.active)
        {
            Ok(()) => {
                tracing::info!(framework = %id, "added framework to the allocator");
                if m.active {
                    self.want_prompt(None, cx);
                }
            }
            Err(e) => tracing::warn!(framework = %id, "{e}"),
        }
    }
}

impl Handle<RemoveFramework> for AllocatorProcess {
    fn handle(&mut self, m: RemoveFramework, _from: &Pid, cx: &mut Cx<'_, Self>) {
        tracing::info!(framework = %m.framework_id, "removed framework from the allocator");
        self.core.remove_framework(&m.framework_id);
        // What it held is free again.
        self.want_prompt(None, cx);
    }
}

impl Handle<ActivateFramework> for AllocatorProcess {
    fn handle(&mut self, m: ActivateFramework, _from: &Pid, cx: &mut Cx<'_, Self>) {
        tracing::debug!(framework = %m.framework_id, "activating framework");
        self.core.activate_framework(&m.framework_id);
        self.want_prompt(None, cx);
    }
}

impl Handle<DeactivateFramework> for AllocatorProcess {
    fn handle(&mut self, m: DeactivateFramework, _from: &Pid, _cx: &mut Cx<'_, Self>) {
        tracing::debug!(framework = %m.framework_id, "deactivating framework");
        self.core.deactivate_framework(&m.framework_id);
    }
}

impl Handle<AddAgent> for AllocatorProcess {
    fn handle(&mut self, m: AddAgent, _from: &Pid, cx: &mut Cx<'_, Self>) {
        let id = m.agent_id.clone();
        match self.core.add_agent(m.agent_id, m.total, m.used) {
            Ok(()) => {
                tracing::info!(agent = %id, "added agent to the allocator");
                self.want_prompt(Some(id), cx);
            }
            Err(e) => tracing::warn!(agent = %id, "{e}"),
        }
    }
}

impl Handle<RemoveAgent> for AllocatorProcess {
    fn handle(&mut self, m: RemoveAgent, _from: &Pid, _cx: &mut Cx<'_, Self>) {
        tracing::info!(agent = %m.agent_id, "removed agent from the allocator");
        self.core.remove_agent(&m.agent_id);
    }
}

impl Handle<ActivateAgent> for AllocatorProcess {
    fn handle(&mut self, m: ActivateAgent, _from: &Pid, cx: &mut Cx<'_, Self>) {
        tracing::debug!(agent = %m.agent_id, "activating agent");
        self.core.activate_agent(&m.agent_id);
        self.want_prompt(Some(m.agent_id), cx);
    }
}

impl Handle<DeactivateAgent> for AllocatorProcess {
    fn handle(&mut self, m: DeactivateAgent, _from: &Pid, _cx: &mut Cx<'_, Self>) {
        tracing::debug!(agent = %m.agent_id, "deactivating agent");
        self.core.deactivate_agent(&m.agent_id);
    }
}

impl Handle<UpdateAgentTotal> for AllocatorProcess {
    fn handle(&mut self, m: UpdateAgentTotal, _from: &Pid, cx: &mut Cx<'_, Self>) {
        tracing::debug!(agent = %m.agent_id, total = %m.total, "updating agent total");
        self.core.update_agent_total(&m.agent_id, m.total);
        self.want_prompt(Some(m.agent_id), cx);
    }
}

impl Handle<UpdateAllocation> for AllocatorProcess {
    fn handle(&mut self, m: UpdateAllocation, _from: &Pid, _cx: &mut Cx<'_, Self>) {
        tracing::debug!(framework = %m.framework_id, agent = %m.agent_id, from = %m.from, to = %m.to, "converting held resources");
        self.core
            .update_allocation(&m.framework_id, &m.agent_id, &m.role, &m.from, &m.to);
    }
}

impl Handle<RecoverResources> for AllocatorProcess {
    fn handle(&mut self, m: RecoverResources, _from: &Pid, cx: &mut Cx<'_, Self>) {
        tracing::debug!(
            framework = %m.framework_id, agent = %m.agent_id, role = %m.role,
            resources = %m.resources, refuse = ?m.refuse, "recovering resources"
        );
        let now = self.now();
        self.core.recover_resources(
            &m.framework_id,
            &m.agent_id,
            &m.role,
            &m.resources,
            m.refuse,
            now,
        );
        self.want_prompt(Some(m.agent_id), cx);
    }
}

impl Handle<Suppress> for AllocatorProcess {
    fn handle(&mut self, m: Suppress, _from: &Pid, _cx: &mut Cx<'_, Self>) {
        tracing::debug!(framework = %m.framework_id, roles = ?m.roles, "suppressing offers");
        self.core.suppress(&m.framework_id, m.roles);
    }
}

impl Handle<Revive> for AllocatorProcess {
    fn handle(&mut self, m: Revive, _from: &Pid, cx: &mut Cx<'_, Self>) {
        tracing::debug!(framework = %m.framework_id, roles = ?m.roles, "reviving offers");
        self.core.revive(&m.framework_id, m.roles);
        self.want_prompt(None, cx);
    }
}

impl Handle<UpdateWeights> for AllocatorProcess {
    fn handle(&mut self, m: UpdateWeights, _from: &Pid, _cx: &mut Cx<'_, Self>) {
        match self.core.update_weights(m.weights) {
            Ok(()) => tracing::info!("updated role weights"),
            Err(e) => tracing::warn!("ignoring weights: {e}"),
        }
    }
}

impl Handle<UpdateQuota> for AllocatorProcess {
    fn handle(&mut self, m: UpdateQuota, _from: &Pid, cx: &mut Cx<'_, Self>) {
        let roles: Vec<&str> = m.configs.iter().map(|c| c.role.as_str()).collect();
        tracing::info!(?roles, "updated role quotas");
        self.core.update_quota(m.configs);
        // Lower guarantees or higher limits may free resources at once.
        self.want_prompt(None, cx);
    }
}

/// `allocator/mesos/quota/roles/<role>/resources/<kind>/{guarantee,limit,offered_or_allocated}`
/// for every role with a quota: its guarantees, its limits, and what it is
/// offered or holds of each kind named in either.
fn quota_metrics(core: &HierarchicalAllocator) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    for config in core.quotas().iter() {
        let role = &config.role;
        let key = |kind: &str, what: &str| {
            format!("allocator/mesos/quota/roles/{role}/resources/{kind}/{what}")
        };
        for (kind, m) in &config.guarantees {
            out.push((key(kind, "guarantee"), m.as_f64()));
        }
        for (kind, m) in &config.limits {
            out.push((key(kind, "limit"), m.as_f64()));
        }
        let kinds: BTreeSet<&String> = config
            .guarantees
            .keys()
            .chain(config.limits.keys())
            .collect();
        for kind in kinds {
            out.push((
                key(kind, "offered_or_allocated"),
                core.role_offered_or_allocated(role, kind),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use actors::testing::{advance, pause, settle};
    use actors::{Node, NodeConfig, ProcessRef};

    use super::*;

    const SEC: Duration = Duration::from_secs(1);

    type Batches = Arc<Mutex<Vec<Vec<Allocation>>>>;

    fn res(text: &str) -> Resources {
        Resources::parse(text, "*").unwrap()
    }

    async fn start() -> (Node, ProcessRef<AllocatorProcess>, Batches) {
        let node = Node::bind(NodeConfig::default()).await.unwrap();
        let batches = Batches::default();
        let sink = batches.clone();
        let config = AllocatorConfig {
            allocation_interval: SEC,
            ..AllocatorConfig::default()
        };
        let process = AllocatorProcess::new(
            config,
            Box::new(move |batch| sink.lock().unwrap().push(batch)),
        )
        .unwrap();
        let allocator = node.spawn("allocator", process).unwrap();
        settle().await;
        (node, allocator, batches)
    }

    fn runs(node: &Node) -> f64 {
        node.metrics().snapshot()["allocator/mesos/allocation_runs"]
    }

    #[actix::test]
    async fn events_are_served_promptly_and_every_agent_each_interval() {
        pause();
        let (node, allocator, batches) = start().await;
        let me = allocator.pid().clone();
        let (f, a1, a2) = (
            FrameworkId::new("f"),
            AgentId::new("a1"),
            AgentId::new("a2"),
        );
        allocator.tell(
            &me,
            AddFramework {
                framework_id: f.clone(),
                roles: vec!["*".into()],
                used: vec![],
                active: true,
            },
        );
        for agent in [&a1, &a2] {
            allocator.tell(
                &me,
                AddAgent {
                    agent_id: agent.clone(),
                    total: res("cpus:4;mem:4096"),
                    used: vec![],
                },
            );
        }
        settle().await;
        // No time passed: one prompt cycle served all three events.
        assert_eq!(runs(&node), 1.0);
        {
            let batches = batches.lock().unwrap();
            assert_eq!(batches.len(), 1);
            let mut agents: Vec<&str> = batches[0].iter().map(|x| x.agent_id.as_str()).collect();
            agents.sort();
            assert_eq!(agents, ["a1", "a2"]);
        }

        // Declined for three seconds: the prompt cycle and the batch cycles
        // at 1 s and 2 s leave it alone, the one at 3 s offers it again.
        allocator.tell(
            &me,
            RecoverResources {
                framework_id: f.clone(),
                agent_id: a1.clone(),
                role: "*".into(),
                resources: res("cpus:4;mem:4096"),
                refuse: Some(3 * SEC),
            },
        );
        settle().await;
        assert_eq!(runs(&node), 2.0);
        // Tokio's timers round up to the millisecond: look between ticks.
        advance(SEC / 2).await;
        assert_eq!(runs(&node), 2.0, "no cycle before the interval");
        advance(SEC).await;
        assert_eq!(runs(&node), 3.0, "the batch cycle at 1 s");
        advance(SEC).await;
        assert_eq!(runs(&node), 4.0, "the batch cycle at 2 s");
        assert_eq!(batches.lock().unwrap().len(), 1, "still filtered");
        advance(SEC).await;
        assert_eq!(runs(&node), 5.0);
        {
            let batches = batches.lock().unwrap();
            assert_eq!(batches.len(), 2);
            assert_eq!(batches[1].len(), 1);
            assert_eq!(batches[1][0].agent_id, a1);
        }

        // Resources given back without a filter are offered at once.
        allocator.tell(
            &me,
            RecoverResources {
                framework_id: f.clone(),
                agent_id: a2.clone(),
                role: "*".into(),
                resources: res("cpus:1"),
                refuse: None,
            },
        );
        settle().await;
        assert_eq!(batches.lock().unwrap().len(), 3);
        assert_eq!(batches.lock().unwrap()[2][0].resources, res("cpus:1"));

        let metrics = node.metrics().snapshot();
        assert_eq!(metrics["allocator/mesos/resources/cpus/total"], 8.0);
        assert_eq!(
            metrics["allocator/mesos/resources/cpus/offered_or_allocated"],
            8.0
        );
        assert_eq!(metrics["allocator/mesos/resources/mem/total"], 8192.0);
        assert!(metrics.contains_key("allocator/mesos/allocation_run_ms/p99"));
        let held = allocator
            .call(move |me: &mut AllocatorProcess, _| me.core().held(&f, &a2))
            .await;
        assert_eq!(held, Some(res("cpus:4;mem:4096")));
    }

    #[actix::test]
    async fn suppressed_frameworks_wait_for_revive() {
        pause();
        let (_node, allocator, batches) = start().await;
        let me = allocator.pid().clone();
        let f = FrameworkId::new("f");
        allocator.tell(
            &me,
            AddFramework {
                framework_id: f.clone(),
                roles: vec!["*".into()],
                used: vec![],
                active: true,
            },
        );
        allocator.tell(
            &me,
            Suppress {
                framework_id: f.clone(),
                roles: vec![],
            },
        );
        allocator.tell(
            &me,
            AddAgent {
                agent_id: AgentId::new("a"),
                total: res("cpus:1;mem:64"),
                used: vec![],
            },
        );
        settle().await;
        advance(5 * SEC).await;
        assert!(batches.lock().unwrap().is_empty());
        allocator.tell(
            &me,
            Revive {
                framework_id: f,
                roles: vec![],
            },
        );
        settle().await;
        assert_eq!(batches.lock().unwrap().len(), 1, "offered without waiting");
    }
}
