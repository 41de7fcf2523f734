//! The master's records, without actors, clocks or I/O: admitted agents,
//! frameworks, outstanding offers and tasks, the agents known only from the
//! registry and those marked unreachable. Fields are private: every change
//! goes through a method here, which keeps these invariants:
//! - an offer id is in `offers` iff it is in its framework's and its
//!   agent's offer sets;
//! - a task is in its framework's `tasks` iff it is in its agent's `tasks`;
//!   terminal tasks stay there until their terminal update is acknowledged;
//! - a framework's `unreachable_tasks` are tasks of agents marked
//!   unreachable (no longer in any agent's `tasks`), until the agent comes
//!   back, leaves the registry, or the framework is removed;
//! - an agent's `used` equals the sum of its non-terminal tasks' resources,
//!   its `offered` the sum of its outstanding offers;
//! - `agent_pids` names each admitted agent by its current pid.
//!
//! Also here: the queue of agents waiting to be marked unreachable under
//! `--agent_removal_rate_limit` ([`Removals`]; the decisions are in
//! `removal.rs`).
//!
//! The decisions made on these records live beside them by concern
//! (`agents.rs`, `frameworks.rs`, `offers.rs`, `tasks.rs`, ...).

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use tokio::time::Instant;

use wire::ids::{AgentId, ExecutorId, FrameworkId, OfferId, TaskId};
use wire::mesos::{capability, AgentInfo, ExecutorInfo, FrameworkInfo, Offer, Task, TaskStatus};
use wire::resources::Resources;
use wire::task::TaskState;

use super::metrics::FrameworkMetrics;
use super::rendered::ActiveTasks;
pub use super::rendered::TaskRecord;

/// An admitted agent.
#[derive(Debug, Clone)]
pub struct AgentRecord {
    pub id: AgentId,
    pub info: AgentInfo,
    /// `slave(1)@ip:port`; changed only through [`State::set_agent_pid`].
    pid: String,
    pub version: String,
    pub registered_time: f64,
    pub reregistered_time: Option<f64>,
    /// The connection to the agent is up.
    pub connected: bool,
    /// Offers may be made from this agent (connected, not being removed
    /// and not deactivated).
    pub active: bool,
    /// An operator deactivated it (`DEACTIVATE_AGENT`): no offers from it
    /// until it is reactivated, even across reconnections.
    pub deactivated: bool,
    /// Its drain (`DRAIN_AGENT`), until it is reactivated.
    pub drain: Option<super::drain::Drain>,
    /// Pings sent since the last pong.
    pub pings_missed: u32,
    /// Tasks on this agent, by framework.
    tasks: BTreeMap<FrameworkId, BTreeSet<TaskId>>,
    /// Outstanding offers of this agent's resources.
    offers: BTreeSet<OfferId>,
    /// Resources of its non-terminal tasks.
    used: Resources,
    /// Resources in outstanding offers.
    offered: Resources,
}

impl AgentRecord {
    /// An agent (re)admitted at `now`, connected and active, with nothing
    /// on it yet.
    pub fn new(
        id: AgentId,
        info: AgentInfo,
        pid: String,
        version: String,
        now: f64,
    ) -> AgentRecord {
        AgentRecord {
            id,
            info,
            pid,
            version,
            registered_time: now,
            reregistered_time: None,
            connected: true,
            active: true,
            deactivated: false,
            drain: None,
            pings_missed: 0,
            tasks: BTreeMap::new(),
            offers: BTreeSet::new(),
            used: Resources::new(),
            offered: Resources::new(),
        }
    }

    pub fn pid(&self) -> &str {
        &self.pid
    }

    /// Tasks on this agent, by framework.
    pub fn tasks(&self) -> &BTreeMap<FrameworkId, BTreeSet<TaskId>> {
        &self.tasks
    }

    /// Outstanding offers of this agent's resources.
    pub fn offers(&self) -> &BTreeSet<OfferId> {
        &self.offers
    }

    /// Resources of its non-terminal tasks.
    pub fn used(&self) -> &Resources {
        &self.used
    }

    /// Resources in outstanding offers.
    pub fn offered(&self) -> &Resources {
        &self.offered
    }
}

/// A framework the master knows, connected or waiting for failover.
#[derive(Debug, Clone)]
pub struct FrameworkRecord {
    pub id: FrameworkId,
    pub info: FrameworkInfo,
    /// The scheduler's pid; `None` before it re-subscribes after a master
    /// failover (known only from agents).
    pub pid: Option<String>,
    pub connected: bool,
    pub active: bool,
    pub registered_time: f64,
    pub reregistered_time: Option<f64>,
    pub unregistered_time: Option<f64>,
    /// Active tasks, including terminal ones not yet acknowledged.
    tasks: ActiveTasks,
    /// Finished tasks, oldest first, bounded.
    completed_tasks: VecDeque<TaskRecord>,
    /// Tasks of agents marked unreachable, oldest first, bounded
    /// (`--max_unreachable_tasks_per_framework`): TASK_UNREACHABLE, or
    /// TASK_LOST for a framework that is not partition-aware.
    unreachable_tasks: VecDeque<TaskRecord>,
    /// Its outstanding offers.
    offers: BTreeSet<OfferId>,
    /// Its executors by agent, as Mesos's master knows them: from launches
    /// with an `ExecutorInfo` and from agents' re-registrations, until the
    /// executor exits, its agent is removed or the framework is.
    executors: BTreeMap<AgentId, BTreeMap<ExecutorId, ExecutorInfo>>,
    /// Its per-framework metrics (calls, events, offers, tasks).
    pub metrics: FrameworkMetrics,
}

impl FrameworkRecord {
    /// A framework first seen at `now`: connected if its scheduler's pid is
    /// known, else learned from an agent and waiting for its scheduler.
    pub fn new(
        id: FrameworkId,
        info: FrameworkInfo,
        pid: Option<String>,
        now: f64,
    ) -> FrameworkRecord {
        let connected = pid.is_some();
        FrameworkRecord {
            id,
            info,
            pid,
            connected,
            active: connected,
            registered_time: now,
            reregistered_time: None,
            unregistered_time: None,
            tasks: ActiveTasks::default(),
            completed_tasks: VecDeque::new(),
            unreachable_tasks: VecDeque::new(),
            offers: BTreeSet::new(),
            executors: BTreeMap::new(),
            metrics: Default::default(),
        }
    }

    pub fn partition_aware(&self) -> bool {
        self.info.has_capability(capability::PARTITION_AWARE)
    }

    /// Active tasks, including terminal ones not yet acknowledged.
    pub fn tasks(&self) -> &HashMap<TaskId, TaskRecord> {
        self.tasks.map()
    }

    /// The resources of its active tasks not terminal (summed once per
    /// change of its tasks).
    pub fn used(&self) -> &Resources {
        self.tasks.used()
    }

    /// Finished tasks, oldest first.
    pub fn completed_tasks(&self) -> &VecDeque<TaskRecord> {
        &self.completed_tasks
    }

    /// Tasks of agents marked unreachable, oldest first.
    pub fn unreachable_tasks(&self) -> &VecDeque<TaskRecord> {
        &self.unreachable_tasks
    }

    /// Moves the unreachable tasks `which` selects to the completed ones,
    /// each ended by the status `end` gives it; returns those statuses.
    fn complete_unreachable(
        &mut self,
        which: impl Fn(&Task) -> bool,
        completed_limit: usize,
        end: impl Fn(&FrameworkRecord, &Task) -> TaskStatus,
    ) -> Vec<TaskStatus> {
        let (ending, kept): (VecDeque<TaskRecord>, VecDeque<TaskRecord>) =
            std::mem::take(&mut self.unreachable_tasks)
                .into_iter()
                .partition(|t| which(t));
        self.unreachable_tasks = kept;
        let mut statuses = Vec::with_capacity(ending.len());
        for mut task in ending {
            let status = end(self, &task);
            let t = task.edit();
            t.state = status.state;
            t.statuses.push(status.clone());
            self.completed_tasks.push_back(task);
            statuses.push(status);
        }
        while self.completed_tasks.len() > completed_limit {
            self.completed_tasks.pop_front();
        }
        statuses
    }

    /// Its outstanding offers.
    pub fn offers(&self) -> &BTreeSet<OfferId> {
        &self.offers
    }

    /// Its executors, by agent.
    pub fn executors(&self) -> &BTreeMap<AgentId, BTreeMap<ExecutorId, ExecutorInfo>> {
        &self.executors
    }
}

/// Everything the master tracks.
#[derive(Debug, Default)]
pub struct State {
    /// Prefix of every id this master generates.
    master_id: String,
    /// Admitted agents; indexed by pid in `agent_pids`.
    agents: BTreeMap<AgentId, AgentRecord>,
    /// Agent ids by pid: linking and exits name agents by pid, and a scan
    /// of every agent per message is quadratic over a cluster's start.
    agent_pids: HashMap<String, AgentId>,
    /// Agents marked unreachable, with the time.
    unreachable: BTreeMap<AgentId, f64>,
    /// Agents admitted before this master (from the registry) that have
    /// not re-registered yet.
    recovered: BTreeMap<AgentId, AgentInfo>,
    /// Agents an operator marked gone, with the time: they may not come
    /// back.
    gone: BTreeMap<AgentId, f64>,
    /// Frameworks this master holds.
    frameworks: BTreeMap<FrameworkId, FrameworkRecord>,
    /// Removed frameworks, oldest first, bounded.
    completed_frameworks: VecDeque<FrameworkRecord>,
    /// Outstanding offers, each also in its agent's and framework's sets.
    offers: HashMap<OfferId, Offer>,
    /// Roles' quotas (from the registry and operators), none the default.
    quotas: BTreeMap<String, wire::registry::QuotaConfig>,
    /// The maintenance schedule, machines and inverse offers.
    maintenance: super::maintenance::Maintenance,
    next_agent: u64,
    next_framework: u64,
    next_offer: u64,
}

impl State {
    pub fn new(master_id: &str) -> State {
        State {
            master_id: master_id.to_owned(),
            ..State::default()
        }
    }

    pub fn quotas(&self) -> &BTreeMap<String, wire::registry::QuotaConfig> {
        &self.quotas
    }

    /// Replaces the role's quota; a default config removes it.
    pub fn set_quota(&mut self, config: wire::registry::QuotaConfig) {
        if config.is_default() {
            self.quotas.remove(&config.role);
        } else {
            self.quotas.insert(config.role.clone(), config);
        }
    }

    pub fn maintenance(&self) -> &super::maintenance::Maintenance {
        &self.maintenance
    }

    pub fn maintenance_mut(&mut self) -> &mut super::maintenance::Maintenance {
        &mut self.maintenance
    }

    pub fn new_agent_id(&mut self) -> AgentId {
        let id = AgentId::new(format!("{}-S{}", self.master_id, self.next_agent));
        self.next_agent += 1;
        id
    }

    pub fn new_framework_id(&mut self) -> FrameworkId {
        let id = FrameworkId::new(format!("{}-{:04}", self.master_id, self.next_framework));
        self.next_framework += 1;
        id
    }

    pub fn new_offer_id(&mut self) -> OfferId {
        let id = OfferId::new(format!("{}-O{}", self.master_id, self.next_offer));
        self.next_offer += 1;
        id
    }

    pub fn agents(&self) -> &BTreeMap<AgentId, AgentRecord> {
        &self.agents
    }

    pub fn agent(&self, id: &AgentId) -> Option<&AgentRecord> {
        self.agents.get(id)
    }

    /// An agent's own fields (connection, pings, info); its tasks, offers
    /// and pid change only through the methods of `State`.
    pub fn agent_mut(&mut self, id: &AgentId) -> Option<&mut AgentRecord> {
        self.agents.get_mut(id)
    }

    pub fn agent_by_pid(&self, pid: &str) -> Option<&AgentRecord> {
        self.agent_pids
            .get(pid)
            .and_then(|id| self.agents.get(id))
            .filter(|a| a.pid == pid)
    }

    pub fn add_agent(&mut self, agent: AgentRecord) {
        self.agent_pids.insert(agent.pid.clone(), agent.id.clone());
        if let Some(old) = self.agents.insert(agent.id.clone(), agent) {
            self.forget_pid(&old);
        }
    }

    /// The agent now speaks from `pid` (it restarted or re-registered).
    pub fn set_agent_pid(&mut self, id: &AgentId, pid: String) {
        let Some(agent) = self.agents.get_mut(id) else {
            return;
        };
        let old = std::mem::replace(&mut agent.pid, pid.clone());
        if self.agent_pids.get(&old) == Some(id) {
            self.agent_pids.remove(&old);
        }
        self.agent_pids.insert(pid, id.clone());
    }

    pub fn remove_agent(&mut self, id: &AgentId) -> Option<AgentRecord> {
        let agent = self.agents.remove(id)?;
        for f in self.frameworks.values_mut() {
            f.executors.remove(id);
        }
        self.forget_pid(&agent);
        Some(agent)
    }

    fn forget_pid(&mut self, agent: &AgentRecord) {
        if self.agent_pids.get(&agent.pid) == Some(&agent.id) {
            self.agent_pids.remove(&agent.pid);
        }
    }

    /// Agents marked unreachable, with the time.
    pub fn unreachable(&self) -> &BTreeMap<AgentId, f64> {
        &self.unreachable
    }

    pub fn mark_unreachable(&mut self, id: AgentId, time: f64) {
        self.unreachable.insert(id, time);
    }

    /// Forgets that an agent was unreachable (it is back), and with it the
    /// tasks listed as unreachable there: those it still runs it reports
    /// again. Returns whether it was unreachable.
    pub fn forget_unreachable(&mut self, id: &AgentId) -> bool {
        for f in self.frameworks.values_mut() {
            f.unreachable_tasks.retain(|t| &t.agent_id != id);
        }
        self.unreachable.remove(id).is_some()
    }

    /// Forgets unreachable agents marked before `before`, then the oldest
    /// beyond `max`, and with them their frameworks' unreachable tasks.
    pub fn prune_unreachable(&mut self, before: f64, max: usize) {
        let mut pruned: BTreeSet<AgentId> = BTreeSet::new();
        self.unreachable.retain(|id, t| {
            let keep = *t >= before;
            if !keep {
                pruned.insert(id.clone());
            }
            keep
        });
        while self.unreachable.len() > max {
            let oldest = self
                .unreachable
                .iter()
                .min_by(|a, b| a.1.total_cmp(b.1))
                .map(|(id, _)| id.clone());
            match oldest {
                Some(id) => {
                    self.unreachable.remove(&id);
                    pruned.insert(id);
                }
                None => break,
            };
        }
        if pruned.is_empty() {
            return;
        }
        for f in self.frameworks.values_mut() {
            f.unreachable_tasks
                .retain(|t| !pruned.contains(&t.agent_id));
        }
    }

    /// Agents an operator marked gone, with the time.
    pub fn gone(&self) -> &BTreeMap<AgentId, f64> {
        &self.gone
    }

    /// An agent is gone for good: it is neither unreachable nor recovered
    /// any more.
    pub fn mark_gone(&mut self, id: AgentId, time: f64) {
        self.unreachable.remove(&id);
        self.recovered.remove(&id);
        self.gone.insert(id, time);
    }

    /// Forgets gone agents marked before `before`.
    pub fn prune_gone(&mut self, before: f64) {
        self.gone.retain(|_, t| *t >= before);
    }

    /// Agents admitted before this master that have not re-registered.
    pub fn recovered(&self) -> &BTreeMap<AgentId, AgentInfo> {
        &self.recovered
    }

    pub fn add_recovered(&mut self, agents: impl IntoIterator<Item = (AgentId, AgentInfo)>) {
        self.recovered.extend(agents);
    }

    /// The agent admitted before this master is back (or given up on).
    pub fn take_recovered(&mut self, id: &AgentId) -> Option<AgentInfo> {
        self.recovered.remove(id)
    }

    pub fn frameworks(&self) -> &BTreeMap<FrameworkId, FrameworkRecord> {
        &self.frameworks
    }

    pub fn framework(&self, id: &FrameworkId) -> Option<&FrameworkRecord> {
        self.frameworks.get(id)
    }

    /// A framework's own fields (connection, info, times); its tasks and
    /// offers change only through the methods of `State`.
    pub fn framework_mut(&mut self, id: &FrameworkId) -> Option<&mut FrameworkRecord> {
        self.frameworks.get_mut(id)
    }

    pub fn framework_by_pid(&self, pid: &str) -> Option<&FrameworkRecord> {
        self.frameworks
            .values()
            .find(|f| f.pid.as_deref() == Some(pid))
    }

    /// The per-framework metrics of a framework, for counting at a site
    /// that knows only its id.
    pub fn framework_metrics(&self, id: &FrameworkId) -> Option<&FrameworkMetrics> {
        self.frameworks.get(id).map(|f| &f.metrics)
    }

    /// Holds a framework (replacing one of the same id).
    pub fn add_framework(&mut self, framework: FrameworkRecord) {
        self.frameworks.insert(framework.id.clone(), framework);
    }

    /// Holds the framework `make` builds, unless one of that id is held
    /// already: then nothing is built (a record registers its metrics, and
    /// a re-registering agent names frameworks the master mostly knows).
    pub fn add_framework_if_absent(
        &mut self,
        id: &FrameworkId,
        make: impl FnOnce() -> FrameworkRecord,
    ) {
        if !self.frameworks.contains_key(id) {
            let framework = make();
            self.frameworks.insert(framework.id.clone(), framework);
        }
    }

    /// Moves a framework (its tasks already removed) to the bounded list
    /// of completed frameworks, marked unregistered at `now`.
    pub fn complete_framework(&mut self, id: &FrameworkId, now: f64, limit: usize) {
        if let Some(mut f) = self.frameworks.remove(id) {
            f.executors.clear();
            f.connected = false;
            f.active = false;
            f.unregistered_time = Some(now);
            self.completed_frameworks.push_back(f);
            while self.completed_frameworks.len() > limit {
                self.completed_frameworks.pop_front();
            }
        }
    }

    /// Removed frameworks, oldest first.
    pub fn completed_frameworks(&self) -> &VecDeque<FrameworkRecord> {
        &self.completed_frameworks
    }

    pub fn is_completed_framework(&self, id: &FrameworkId) -> bool {
        self.completed_frameworks.iter().any(|f| &f.id == id)
    }

    pub fn offers(&self) -> &HashMap<OfferId, Offer> {
        &self.offers
    }

    pub fn offer(&self, id: &OfferId) -> Option<&Offer> {
        self.offers.get(id)
    }

    /// Records an offer in all three places.
    pub fn add_offer(&mut self, offer: Offer) {
        if let Some(f) = self.frameworks.get_mut(&offer.framework_id) {
            f.offers.insert(offer.id.clone());
        }
        if let Some(a) = self.agents.get_mut(&offer.agent_id) {
            a.offers.insert(offer.id.clone());
            a.offered = a.offered.plus(&offer.resources);
        }
        self.offers.insert(offer.id.clone(), offer);
    }

    /// Forgets an offer everywhere, returning it.
    pub fn remove_offer(&mut self, id: &OfferId) -> Option<Offer> {
        let offer = self.offers.remove(id)?;
        if let Some(f) = self.frameworks.get_mut(&offer.framework_id) {
            f.offers.remove(id);
        }
        if let Some(a) = self.agents.get_mut(&offer.agent_id) {
            a.offers.remove(id);
            a.offered = a.offered.minus(&offer.resources);
        }
        Some(offer)
    }

    /// Records an executor of a framework on an agent (launched, or
    /// reported by the agent), unless either is unknown.
    pub fn add_executor(
        &mut self,
        framework_id: &FrameworkId,
        agent_id: &AgentId,
        mut info: ExecutorInfo,
    ) {
        if !self.agents.contains_key(agent_id) {
            return;
        }
        if let Some(f) = self.frameworks.get_mut(framework_id) {
            info.framework_id = Some(framework_id.clone());
            f.executors
                .entry(agent_id.clone())
                .or_default()
                .insert(info.executor_id.clone(), info);
        }
    }

    /// Forgets every executor on an agent (it re-registers with those it
    /// runs now).
    pub fn forget_executors_on(&mut self, agent_id: &AgentId) {
        for f in self.frameworks.values_mut() {
            f.executors.remove(agent_id);
        }
    }

    /// Forgets an executor that exited.
    pub fn remove_executor(
        &mut self,
        framework_id: &FrameworkId,
        agent_id: &AgentId,
        executor_id: &ExecutorId,
    ) {
        let Some(f) = self.frameworks.get_mut(framework_id) else {
            return;
        };
        if let Some(on_agent) = f.executors.get_mut(agent_id) {
            on_agent.remove(executor_id);
            if on_agent.is_empty() {
                f.executors.remove(agent_id);
            }
        }
    }

    pub fn task(&self, framework_id: &FrameworkId, task_id: &TaskId) -> Option<&Task> {
        self.frameworks
            .get(framework_id)
            .and_then(|f| f.tasks.get(task_id))
            .map(TaskRecord::task)
    }

    /// Adds a task to its framework and agent, counting its resources as
    /// used unless it is already terminal.
    pub fn add_task(&mut self, task: Task) {
        if let Some(a) = self.agents.get_mut(&task.agent_id) {
            a.tasks
                .entry(task.framework_id.clone())
                .or_default()
                .insert(task.task_id.clone());
            if !task.state.is_terminal() {
                a.used = a.used.plus(&task.resources);
            }
        }
        if let Some(f) = self.frameworks.get_mut(&task.framework_id) {
            f.tasks.insert(task);
        }
    }

    /// Adds a task reported terminal before and running again (its agent
    /// was unreachable or unknown): it leaves the completed and the
    /// unreachable tasks.
    pub fn add_task_again(&mut self, task: Task) {
        if let Some(f) = self.frameworks.get_mut(&task.framework_id) {
            f.completed_tasks.retain(|t| t.task_id != task.task_id);
            f.unreachable_tasks.retain(|t| t.task_id != task.task_id);
        }
        self.add_task(task);
    }

    /// Applies a status to a task. Returns the task's resources when this
    /// update makes it terminal (they are to be recovered), else `None`.
    pub fn update_task(
        &mut self,
        framework_id: &FrameworkId,
        status: &TaskStatus,
        uuid: Option<&Vec<u8>>,
    ) -> Option<Resources> {
        let framework = self.frameworks.get_mut(framework_id)?;
        let task = framework.tasks.get_mut(&status.task_id)?.edit();
        let was_terminal = task.state.is_terminal();
        // A terminal state is final: a late non-terminal update (a retry)
        // must not revive the task.
        if !was_terminal {
            task.state = status.state;
        }
        task.status_update_state = Some(status.state);
        task.status_update_uuid = uuid.cloned();
        task.statuses.push(status.clone());
        if was_terminal || !status.state.is_terminal() {
            return None;
        }
        let resources = task.resources.clone();
        if let Some(a) = self.agents.get_mut(&task.agent_id) {
            a.used = a.used.minus(&resources);
        }
        Some(resources)
    }

    /// Records the state of the latest status update the agent sent for a
    /// task (which acknowledgements refer to).
    pub fn set_status_update_state(
        &mut self,
        framework_id: &FrameworkId,
        task_id: &TaskId,
        state: TaskState,
    ) {
        if let Some(task) = self
            .frameworks
            .get_mut(framework_id)
            .and_then(|f| f.tasks.get_mut(task_id))
        {
            task.edit().status_update_state = Some(state);
        }
    }

    /// Removes a task for good (acknowledged terminal, or its agent or
    /// framework is gone). Returns it, with its resources released from the
    /// agent if it was still running.
    pub fn remove_task(
        &mut self,
        framework_id: &FrameworkId,
        task_id: &TaskId,
        completed_limit: usize,
    ) -> Option<Task> {
        let task = self.take_task(framework_id, task_id)?;
        let framework = self.frameworks.get_mut(framework_id)?;
        let removed = task.task().clone();
        // Moved with its fragments: the task is the same.
        framework.completed_tasks.push_back(task);
        while framework.completed_tasks.len() > completed_limit {
            framework.completed_tasks.pop_front();
        }
        Some(removed)
    }

    /// Removes a task of an agent being marked unreachable: it leaves its
    /// agent (its resources released) and is kept among its framework's
    /// unreachable tasks, the oldest beyond `limit` forgotten.
    pub fn remove_unreachable_task(
        &mut self,
        framework_id: &FrameworkId,
        task_id: &TaskId,
        limit: usize,
    ) {
        let Some(task) = self.take_task(framework_id, task_id) else {
            return;
        };
        let Some(framework) = self.frameworks.get_mut(framework_id) else {
            return;
        };
        framework.unreachable_tasks.push_back(task);
        while framework.unreachable_tasks.len() > limit {
            framework.unreachable_tasks.pop_front();
        }
    }

    /// Moves a removed framework's unreachable tasks to its completed
    /// ones, each ended by the status `end` gives it.
    pub fn complete_unreachable_tasks(
        &mut self,
        framework_id: &FrameworkId,
        completed_limit: usize,
        end: impl Fn(&Task) -> TaskStatus,
    ) {
        if let Some(framework) = self.frameworks.get_mut(framework_id) {
            framework.complete_unreachable(|_| true, completed_limit, |_, t| end(t));
        }
    }

    /// Moves every framework's unreachable tasks on `agent_id` (an agent
    /// that will not come back) to its completed ones, each ended by the
    /// status `end` gives it; returns those statuses by framework, for the
    /// frameworks to be told.
    pub fn complete_unreachable_tasks_on(
        &mut self,
        agent_id: &AgentId,
        completed_limit: usize,
        end: impl Fn(&FrameworkRecord, &Task) -> TaskStatus,
    ) -> Vec<(FrameworkId, TaskStatus)> {
        let mut ended = Vec::new();
        for (id, framework) in self.frameworks.iter_mut() {
            let statuses =
                framework.complete_unreachable(|t| &t.agent_id == agent_id, completed_limit, &end);
            ended.extend(statuses.into_iter().map(|s| (id.clone(), s)));
        }
        ended
    }

    /// Takes a task out of its framework's and agent's active tasks,
    /// releasing its resources if it was not terminal.
    fn take_task(&mut self, framework_id: &FrameworkId, task_id: &TaskId) -> Option<TaskRecord> {
        let framework = self.frameworks.get_mut(framework_id)?;
        let task = framework.tasks.remove(task_id)?;
        if let Some(a) = self.agents.get_mut(&task.agent_id) {
            if let Some(set) = a.tasks.get_mut(framework_id) {
                set.remove(task_id);
                if set.is_empty() {
                    a.tasks.remove(framework_id);
                }
            }
            if !task.state.is_terminal() {
                a.used = a.used.minus(&task.resources);
            }
        }
        Some(task)
    }

    /// The tasks on `agent_id` of frameworks that do not checkpoint. Their
    /// executors exit when they lose their agent, so when the master loses
    /// the agent's connection it counts them lost at once (Mesos's
    /// `removeFramework(Slave*, Framework*)` from `Master::exited`).
    pub fn tasks_without_checkpoint(&self, agent_id: &AgentId) -> Vec<(FrameworkId, TaskId)> {
        let Some(agent) = self.agents.get(agent_id) else {
            return Vec::new();
        };
        agent
            .tasks
            .iter()
            .filter(|(f, _)| self.frameworks.get(*f).is_some_and(|f| !f.info.checkpoint))
            .flat_map(|(f, tasks)| tasks.iter().map(move |t| (f.clone(), t.clone())))
            .collect()
    }

    /// Every task record this master holds: active, unreachable and
    /// completed, of active and completed frameworks.
    fn task_records_mut(&mut self) -> impl Iterator<Item = &mut TaskRecord> {
        self.frameworks
            .values_mut()
            .chain(self.completed_frameworks.iter_mut())
            .flat_map(|f| {
                f.tasks
                    .values_mut()
                    .chain(f.unreachable_tasks.iter_mut())
                    .chain(f.completed_tasks.iter_mut())
            })
    }

    /// Forgets every task's kept JSON (`rendered.rs`): the next render
    /// is made afresh. For tests and measurements.
    pub fn forget_rendered(&mut self) {
        self.task_records_mut().for_each(TaskRecord::forget);
    }

    /// Bytes of JSON the tasks keep rendered (`rendered.rs`).
    pub fn rendered_bytes(&self) -> usize {
        self.frameworks
            .values()
            .chain(self.completed_frameworks.iter())
            .flat_map(|f| {
                f.tasks
                    .map()
                    .values()
                    .chain(f.unreachable_tasks.iter())
                    .chain(f.completed_tasks.iter())
            })
            .map(TaskRecord::rendered_len)
            .sum()
    }

    /// Counts of active tasks by state, for metrics; TASK_UNREACHABLE
    /// counts the unreachable tasks in that state, as Mesos counts them.
    pub fn task_counts(&self) -> BTreeMap<TaskState, usize> {
        let mut counts = BTreeMap::new();
        for f in self.frameworks.values() {
            for t in f.tasks.map().values() {
                *counts.entry(t.state).or_insert(0) += 1;
            }
            let unreachable = f
                .unreachable_tasks
                .iter()
                .filter(|t| t.state == TaskState::Unreachable)
                .count();
            if unreachable > 0 {
                *counts.entry(TaskState::Unreachable).or_insert(0) += unreachable;
            }
        }
        counts
    }
}

/// An agent to be marked unreachable.
#[derive(Debug, Clone, PartialEq)]
pub enum Removal {
    /// It stopped answering pings.
    Silent(AgentId),
    /// Admitted before this master's election, it did not re-register.
    NotBack(AgentId),
}

impl Removal {
    pub fn agent(&self) -> &AgentId {
        match self {
            Removal::Silent(id) | Removal::NotBack(id) => id,
        }
    }
}

/// The queue of rate-limited removals.
#[derive(Debug, Default)]
pub struct Removals {
    /// Removals waiting for their turn, oldest first.
    queue: VecDeque<Removal>,
    /// When the last rate-limited removal happened.
    last: Option<Instant>,
    /// A `RemovalPermit` timer is set (at most one at a time).
    permit_pending: bool,
}

impl Removals {
    /// Whether a removal of `agent` is queued.
    pub fn contains(&self, agent: &AgentId) -> bool {
        self.queue.iter().any(|r| r.agent() == agent)
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    pub fn push(&mut self, removal: Removal) {
        self.queue.push_back(removal);
    }

    /// The oldest queued removal.
    pub fn pop(&mut self) -> Option<Removal> {
        self.queue.pop_front()
    }

    /// When the last rate-limited removal happened.
    pub fn last(&self) -> Option<Instant> {
        self.last
    }

    pub fn set_last(&mut self, at: Instant) {
        self.last = Some(at);
    }

    /// A `RemovalPermit` timer is set.
    pub fn permit_pending(&self) -> bool {
        self.permit_pending
    }

    pub fn set_permit_pending(&mut self, pending: bool) {
        self.permit_pending = pending;
    }
}

/// Records for the master's tests, shared by its files' test modules.
#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn framework(aware: bool) -> FrameworkRecord {
        let mut info = FrameworkInfo::new("u", "f");
        if aware {
            info.capabilities.push(capability::PARTITION_AWARE.into());
        }
        FrameworkRecord::new(
            FrameworkId::new("m-0000"),
            info,
            Some("scheduler@1.2.3.4:5".into()),
            0.0,
        )
    }

    fn agent_at(id: &AgentId, pid: &str) -> AgentRecord {
        let info = AgentInfo {
            hostname: "h".into(),
            port: 5051,
            resources: Resources::new(),
            attributes: vec![],
            id: Some(id.clone()),
        };
        AgentRecord::new(id.clone(), info, pid.into(), "1".into(), 0.0)
    }

    pub(crate) fn agent(id: &AgentId) -> AgentRecord {
        agent_at(id, "slave(1)@1.1.1.1:5051")
    }

    /// A command task of `resources` on agent `m-S0`.
    pub(crate) fn task(id: &str, resources: &str) -> wire::mesos::TaskInfo {
        wire::mesos::TaskInfo {
            name: id.into(),
            task_id: TaskId::new(id),
            agent_id: AgentId::new("m-S0"),
            resources: Resources::parse(resources, "*").unwrap(),
            command: Some(wire::mesos::CommandInfo::shell("true")),
            executor: None,
            data: None,
            kill_grace_period: None,
            meta: Default::default(),
        }
    }

    fn running(framework: &str, task: &str, agent_id: &AgentId) -> Task {
        Task {
            name: task.into(),
            task_id: TaskId::new(task),
            framework_id: FrameworkId::new(framework),
            executor_id: None,
            agent_id: agent_id.clone(),
            state: TaskState::Running,
            resources: Resources::parse("cpus:1", "*").unwrap(),
            statuses: Vec::new(),
            status_update_state: None,
            status_update_uuid: None,
            role: "*".into(),
            meta: Default::default(),
        }
    }

    #[test]
    fn a_disconnected_agent_loses_only_tasks_of_frameworks_that_do_not_checkpoint() {
        let mut state = State::new("m");
        let agent_id = AgentId::new("m-S0");
        state.add_agent(agent(&agent_id));
        let mut checkpointing = framework(false);
        checkpointing.id = FrameworkId::new("m-0001");
        checkpointing.info.checkpoint = true;
        for f in [framework(false), checkpointing] {
            state.add_framework(f);
        }
        for (framework, task) in [("m-0000", "a"), ("m-0000", "b"), ("m-0001", "c")] {
            state.add_task(running(framework, task, &agent_id));
        }
        let plain = FrameworkId::new("m-0000");
        assert_eq!(
            state.tasks_without_checkpoint(&agent_id),
            [(plain.clone(), TaskId::new("a")), (plain, TaskId::new("b"))]
        );
        assert!(state
            .tasks_without_checkpoint(&AgentId::new("m-S9"))
            .is_empty());
    }

    #[test]
    fn ids_carry_the_master_id_and_counters() {
        let mut s = State::new("abc");
        assert_eq!(s.new_agent_id().value, "abc-S0");
        assert_eq!(s.new_agent_id().value, "abc-S1");
        assert_eq!(s.new_framework_id().value, "abc-0000");
        assert_eq!(s.new_offer_id().value, "abc-O0");
    }

    #[test]
    fn agents_are_found_by_their_current_pid_only() {
        let mut state = State::new("m");
        let (a, b) = (AgentId::new("m-S0"), AgentId::new("m-S1"));
        state.add_agent(agent(&a));
        state.add_agent(agent_at(&b, "slave(1)@2.2.2.2:5051"));
        let found = |s: &State, pid: &str| s.agent_by_pid(pid).map(|r| r.id.clone());
        assert_eq!(found(&state, "slave(1)@1.1.1.1:5051"), Some(a.clone()));
        assert_eq!(found(&state, "slave(1)@2.2.2.2:5051"), Some(b.clone()));
        // Re-registered from a new address: the old one names nobody.
        state.set_agent_pid(&a, "slave(1)@1.1.1.1:6000".into());
        assert_eq!(found(&state, "slave(1)@1.1.1.1:5051"), None);
        assert_eq!(found(&state, "slave(1)@1.1.1.1:6000"), Some(a.clone()));
        // A pid that moves to another agent leaves the first one's entry.
        state.set_agent_pid(&b, "slave(1)@1.1.1.1:6000".into());
        assert_eq!(found(&state, "slave(1)@1.1.1.1:6000"), Some(b.clone()));
        state.remove_agent(&b);
        assert_eq!(found(&state, "slave(1)@1.1.1.1:6000"), None);
        assert_eq!(state.agents().len(), 1);
    }

    #[test]
    fn a_task_counts_as_used_on_its_agent_until_it_is_terminal() {
        let mut state = State::new("m");
        let agent_id = AgentId::new("m-S0");
        state.add_agent(agent(&agent_id));
        state.add_framework(framework(false));
        let f = FrameworkId::new("m-0000");
        state.add_task(running("m-0000", "t", &agent_id));
        let used = |s: &State| s.agent(&agent_id).map(|a| a.used().scalar("cpus"));
        assert_eq!(used(&state), Some(1.0));
        let finished = TaskStatus::new(TaskId::new("t"), TaskState::Finished);
        assert!(state.update_task(&f, &finished, None).is_some());
        assert_eq!(used(&state), Some(0.0));
        // A second terminal update recovers nothing more.
        assert_eq!(state.update_task(&f, &finished, None), None);
        assert!(state.remove_task(&f, &TaskId::new("t"), 10).is_some());
        assert_eq!(used(&state), Some(0.0));
        assert!(state.agent(&agent_id).is_some_and(|a| a.tasks().is_empty()));
        assert_eq!(
            state.framework(&f).map(|f| f.completed_tasks().len()),
            Some(1)
        );
    }

    #[test]
    fn executors_are_known_until_they_exit_or_their_agent_or_framework_goes() {
        let mut state = State::new("m");
        let (a, b) = (AgentId::new("m-S0"), AgentId::new("m-S1"));
        state.add_agent(agent(&a));
        state.add_agent(agent_at(&b, "slave(1)@2.2.2.2:5051"));
        state.add_framework(framework(false));
        let f = FrameworkId::new("m-0000");
        let executor = |id: &str| ExecutorInfo {
            executor_id: ExecutorId::new(id),
            framework_id: None,
            command: wire::mesos::CommandInfo::shell("true"),
            resources: Resources::new(),
            name: None,
            shutdown_grace_period: None,
            container: None,
        };
        let known = |s: &State| -> Vec<(String, String)> {
            s.frameworks()
                .values()
                .chain(s.completed_frameworks())
                .flat_map(|f| f.executors().iter())
                .flat_map(|(agent, on)| {
                    on.values().map(move |e| {
                        assert!(e.framework_id.is_some(), "named after its framework");
                        (agent.value.clone(), e.executor_id.value.clone())
                    })
                })
                .collect()
        };
        state.add_executor(&f, &a, executor("e1"));
        state.add_executor(&f, &a, executor("e2"));
        state.add_executor(&f, &b, executor("e3"));
        // Of an unknown agent or framework: not recorded.
        state.add_executor(&f, &AgentId::new("m-S9"), executor("x"));
        state.add_executor(&FrameworkId::new("m-9"), &a, executor("y"));
        let pair = |a: &str, e: &str| (a.to_owned(), e.to_owned());
        assert_eq!(
            known(&state),
            [pair("m-S0", "e1"), pair("m-S0", "e2"), pair("m-S1", "e3")]
        );
        state.remove_executor(&f, &a, &ExecutorId::new("e1"));
        assert_eq!(known(&state), [pair("m-S0", "e2"), pair("m-S1", "e3")]);
        state.remove_agent(&b);
        assert_eq!(known(&state), [pair("m-S0", "e2")]);
        state.forget_executors_on(&a);
        assert!(known(&state).is_empty());
        state.add_executor(&f, &a, executor("e4"));
        state.complete_framework(&f, 1.0, 10);
        assert!(known(&state).is_empty(), "a removed framework has none");
    }

    #[test]
    fn unreachable_agents_are_pruned_by_age_then_by_count() {
        let mut state = State::new("m");
        for (id, time) in [("a", 1.0), ("b", 2.0), ("c", 3.0), ("d", 4.0)] {
            state.mark_unreachable(AgentId::new(id), time);
        }
        state.prune_unreachable(2.0, 2);
        let left: Vec<&str> = state
            .unreachable()
            .keys()
            .map(|a| a.value.as_str())
            .collect();
        assert_eq!(left, ["c", "d"]);
    }
}
