//! The master's bookkeeping, without actors, clocks or I/O: admitted
//! agents, frameworks, outstanding offers and tasks, and the pure decisions
//! made on them (is this launch valid, what does reconciliation answer).
//!
//! Invariants kept here and relied on by `process.rs`:
//! - an offer id is in `offers` iff it is in its framework's and its
//!   agent's offer sets;
//! - a task is in its framework's `tasks` iff it is in its agent's `tasks`;
//!   terminal tasks stay there until their terminal update is acknowledged;
//! - an agent's `used` equals the sum of its non-terminal tasks' resources.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use wire::ids::{AgentId, FrameworkId, OfferId, TaskId};
use wire::mesos::{
    capability, AgentInfo, ExecutorInfo, FrameworkInfo, Offer, Task, TaskInfo, TaskStatus,
};
use wire::resources::Resources;
use wire::task::{Reason, Source, TaskState};

/// An admitted agent.
#[derive(Debug, Clone)]
pub struct AgentRecord {
    pub id: AgentId,
    pub info: AgentInfo,
    /// `slave(1)@ip:port`.
    pub pid: String,
    pub version: String,
    pub registered_time: f64,
    pub reregistered_time: Option<f64>,
    /// The connection to the agent is up.
    pub connected: bool,
    /// Offers may be made from this agent (connected and not being removed).
    pub active: bool,
    /// Pings sent since the last pong.
    pub pings_missed: u32,
    /// Tasks on this agent, by framework.
    pub tasks: BTreeMap<FrameworkId, BTreeSet<TaskId>>,
    /// Outstanding offers of this agent's resources.
    pub offers: BTreeSet<OfferId>,
    /// Resources of its non-terminal tasks.
    pub used: Resources,
    /// Resources in outstanding offers.
    pub offered: Resources,
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
            pings_missed: 0,
            tasks: BTreeMap::new(),
            offers: BTreeSet::new(),
            used: Resources::new(),
            offered: Resources::new(),
        }
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
    pub tasks: HashMap<TaskId, Task>,
    /// Finished tasks, oldest first, bounded.
    pub completed_tasks: VecDeque<Task>,
    pub offers: BTreeSet<OfferId>,
    /// Its per-framework metrics (calls, events, offers, tasks).
    pub metrics: super::metrics::FrameworkMetrics,
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
            tasks: HashMap::new(),
            completed_tasks: VecDeque::new(),
            offers: BTreeSet::new(),
            metrics: Default::default(),
        }
    }

    pub fn partition_aware(&self) -> bool {
        self.info.has_capability(capability::PARTITION_AWARE)
    }
}

/// Everything the master tracks.
#[derive(Debug, Default)]
pub struct State {
    /// Prefix of every id this master generates.
    pub master_id: String,
    /// Add, re-address and remove agents with [`State::add_agent`],
    /// [`State::set_agent_pid`] and [`State::remove_agent`], which keep the
    /// index by pid true.
    pub agents: BTreeMap<AgentId, AgentRecord>,
    /// Agent ids by pid: linking and exits name agents by pid, and a scan
    /// of every agent per message is quadratic over a cluster's start.
    agent_pids: HashMap<String, AgentId>,
    /// Agents marked unreachable, with the time.
    pub unreachable: BTreeMap<AgentId, f64>,
    /// Agents admitted before this master (from the registry) that have
    /// not re-registered yet.
    pub recovered: BTreeMap<AgentId, AgentInfo>,
    pub frameworks: BTreeMap<FrameworkId, FrameworkRecord>,
    /// Removed frameworks, oldest first, bounded.
    pub completed_frameworks: VecDeque<FrameworkRecord>,
    pub offers: HashMap<OfferId, Offer>,
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
        self.forget_pid(&agent);
        Some(agent)
    }

    fn forget_pid(&mut self, agent: &AgentRecord) {
        if self.agent_pids.get(&agent.pid) == Some(&agent.id) {
            self.agent_pids.remove(&agent.pid);
        }
    }

    pub fn framework_by_pid(&self, pid: &str) -> Option<&FrameworkRecord> {
        self.frameworks
            .values()
            .find(|f| f.pid.as_deref() == Some(pid))
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
            f.tasks.insert(task.task_id.clone(), task);
        }
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
        let task = framework.tasks.get_mut(&status.task_id)?;
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

    /// Removes a task for good (acknowledged terminal, or its agent or
    /// framework is gone). Returns it, with its resources released from the
    /// agent if it was still running.
    pub fn remove_task(
        &mut self,
        framework_id: &FrameworkId,
        task_id: &TaskId,
        completed_limit: usize,
    ) -> Option<Task> {
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
        framework.completed_tasks.push_back(task.clone());
        while framework.completed_tasks.len() > completed_limit {
            framework.completed_tasks.pop_front();
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

    /// Counts of active tasks by state, for metrics.
    pub fn task_counts(&self) -> BTreeMap<TaskState, usize> {
        let mut counts = BTreeMap::new();
        for f in self.frameworks.values() {
            for t in f.tasks.values() {
                *counts.entry(t.state).or_insert(0) += 1;
            }
        }
        counts
    }
}

/// Why a task in an accept was refused.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub state: TaskState,
    pub reason: Reason,
    pub message: String,
}

/// Checks one task against what is left of the accepted offers.
pub fn validate_task(
    task: &TaskInfo,
    framework: &FrameworkRecord,
    agent_id: &AgentId,
    available: &Resources,
    launched_now: &BTreeSet<TaskId>,
) -> Result<(), Refusal> {
    let invalid = |message: String| Refusal {
        state: TaskState::Error,
        reason: Reason::TaskInvalid,
        message,
    };
    if task.task_id.value.is_empty() {
        return Err(invalid("Task ID must not be empty".into()));
    }
    if framework.tasks.contains_key(&task.task_id) || launched_now.contains(&task.task_id) {
        return Err(invalid(format!("Task has duplicate ID: {}", task.task_id)));
    }
    if &task.agent_id != agent_id {
        return Err(invalid(format!(
            "Task uses agent {} but the offer is for agent {agent_id}",
            task.agent_id
        )));
    }
    match (&task.command, &task.executor) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                "Task should have at most one of CommandInfo or ExecutorInfo present".into(),
            ))
        }
        (None, None) => {
            return Err(invalid(
                "Task should have at least one of CommandInfo or ExecutorInfo present".into(),
            ))
        }
        (Some(c), None) if c.shell && c.value.as_deref().is_none_or(str::is_empty) => {
            return Err(invalid("Task's command has no value".into()))
        }
        (Some(c), None) if !c.shell && c.value.is_none() => {
            return Err(invalid("Task's command has no value".into()))
        }
        _ => {}
    }
    if task.resources.is_empty() {
        return Err(invalid("Task uses no resources".into()));
    }
    let mut needed = task.resources.clone();
    if let Some(e) = &task.executor {
        needed = needed.plus(&e.resources);
    }
    if !available.contains(&needed) {
        return Err(invalid(format!(
            "Task uses more resources {needed} than available {available}"
        )));
    }
    Ok(())
}

/// Checks a LAUNCH_GROUP (Mesos's task group validation): every task must
/// pass [`validate_task`] once the group's executor stands in for its own,
/// a task may name no other executor, a task needs a command to run under
/// the default executor, and the group with its executor (unless
/// `executor_running`) must fit `available`. Any error refuses the whole
/// group with REASON_TASK_GROUP_INVALID.
pub fn validate_task_group(
    executor: &ExecutorInfo,
    tasks: &[TaskInfo],
    framework: &FrameworkRecord,
    agent_id: &AgentId,
    available: &Resources,
    executor_running: bool,
) -> Result<(), Refusal> {
    let invalid = |message: String| Refusal {
        state: TaskState::Error,
        reason: Reason::TaskGroupInvalid,
        message,
    };
    if executor.executor_id.value.is_empty() {
        return Err(invalid("'ExecutorInfo.executor_id' must be set".into()));
    }
    if tasks.is_empty() {
        return Err(invalid("Task group has no tasks".into()));
    }
    let mut launched = BTreeSet::new();
    let mut total = Resources::new();
    for task in tasks {
        if let Some(own) = &task.executor {
            if own.executor_id != executor.executor_id || own.command != executor.command {
                return Err(invalid(format!(
                    "The executor '{}' set in task '{}' is different from executor '{}'",
                    own.executor_id, task.task_id, executor.executor_id
                )));
            }
        }
        if task.command.is_none() {
            return Err(invalid(format!(
                "Task '{}' of a task group must have a command",
                task.task_id
            )));
        }
        // The group's executor is accounted once, below.
        let mut alone = task.clone();
        alone.executor = None;
        validate_task(&alone, framework, agent_id, available, &launched)
            .map_err(|r| invalid(format!("Task '{}' is invalid: {}", task.task_id, r.message)))?;
        launched.insert(task.task_id.clone());
        total = total.plus(&task.resources);
    }
    if !executor_running {
        total = total.plus(&executor.resources);
    }
    if !available.contains(&total) {
        return Err(invalid(format!(
            "Total resources {total} required by task group and its executor are more than \
             available {available}"
        )));
    }
    Ok(())
}

/// A status the master generates (no uuid: it is never acknowledged).
pub fn master_status(
    task_id: &TaskId,
    agent_id: Option<&AgentId>,
    state: TaskState,
    reason: Reason,
    message: &str,
) -> TaskStatus {
    let mut status = TaskStatus::new(task_id.clone(), state);
    status.source = Some(Source::Master);
    status.reason = Some(reason);
    status.message = Some(message.to_owned());
    status.agent_id = agent_id.cloned();
    status
}

/// The answer to explicit reconciliation of one task (Mesos's rules): the
/// latest state if known; no answer while its agent (or, without an agent,
/// any agent) was admitted before this master's election and has not
/// re-registered yet, since the task may well be running there; TASK_GONE
/// if the agent is registered but does not run it; TASK_UNREACHABLE if the
/// agent is unreachable; TASK_UNKNOWN if the agent is unknown.
/// Non-partition-aware frameworks see TASK_LOST for the last three.
pub fn reconcile_one(
    state: &State,
    framework: &FrameworkRecord,
    task_id: &TaskId,
    agent_id: Option<&AgentId>,
) -> Option<TaskStatus> {
    if let Some(task) = framework.tasks.get(task_id) {
        let mut status = master_status(
            task_id,
            Some(&task.agent_id),
            task.state,
            Reason::Reconciliation,
            "Reconciliation: Latest task state",
        );
        status.executor_id = task.executor_id.clone();
        return Some(status);
    }
    let transitioning = match agent_id {
        Some(a) => state.recovered.contains_key(a),
        None => !state.recovered.is_empty(),
    };
    if transitioning {
        return None;
    }
    let aware = framework.partition_aware();
    let (found, message) = match agent_id {
        Some(a) if state.agents.contains_key(a) => (
            TaskState::Gone,
            "Reconciliation: Task is unknown to the agent",
        ),
        Some(a) if state.unreachable.contains_key(a) => (
            TaskState::Unreachable,
            "Reconciliation: Task is unreachable",
        ),
        _ => (TaskState::Unknown, "Reconciliation: Task is unknown"),
    };
    Some(master_status(
        task_id,
        agent_id,
        found.for_framework(aware),
        Reason::Reconciliation,
        message,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use wire::mesos::CommandInfo;

    fn framework(aware: bool) -> FrameworkRecord {
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

    fn agent(id: &AgentId) -> AgentRecord {
        let info = AgentInfo {
            hostname: "h".into(),
            port: 5051,
            resources: Resources::new(),
            attributes: vec![],
            id: Some(id.clone()),
        };
        AgentRecord::new(
            id.clone(),
            info,
            "slave(1)@1.1.1.1:5051".into(),
            "1".into(),
            0.0,
        )
    }

    fn task(id: &str, resources: &str) -> TaskInfo {
        TaskInfo {
            name: id.into(),
            task_id: TaskId::new(id),
            agent_id: AgentId::new("m-S0"),
            resources: Resources::parse(resources, "*").unwrap(),
            command: Some(CommandInfo::shell("true")),
            executor: None,
            data: None,
            kill_grace_period: None,
            meta: Default::default(),
        }
    }

    #[test]
    fn launches_are_validated_against_the_offer() {
        let f = framework(false);
        let agent = AgentId::new("m-S0");
        let available = Resources::parse("cpus:1;mem:128", "*").unwrap();
        let none = BTreeSet::new();
        assert!(validate_task(&task("t", "cpus:1;mem:128"), &f, &agent, &available, &none).is_ok());
        let cases = [
            (task("t", "cpus:2"), "more resources"),
            (task("", "cpus:1"), "must not be empty"),
            (task("t", ""), "no resources"),
            (
                TaskInfo {
                    command: None,
                    ..task("t", "cpus:1")
                },
                "at least one",
            ),
            (
                TaskInfo {
                    command: Some(CommandInfo::shell("")),
                    ..task("t", "cpus:1")
                },
                "no value",
            ),
            (
                TaskInfo {
                    agent_id: AgentId::new("other"),
                    ..task("t", "cpus:1")
                },
                "but the offer is for agent",
            ),
        ];
        for (t, expected) in cases {
            let refusal = validate_task(&t, &f, &agent, &available, &none).unwrap_err();
            assert_eq!(refusal.state, TaskState::Error);
            assert_eq!(refusal.reason, Reason::TaskInvalid);
            assert!(
                refusal.message.contains(expected),
                "{}: {}",
                expected,
                refusal.message
            );
        }
        let launched: BTreeSet<TaskId> = [TaskId::new("t")].into();
        let dup =
            validate_task(&task("t", "cpus:1"), &f, &agent, &available, &launched).unwrap_err();
        assert!(dup.message.contains("duplicate"));
    }

    fn executor(id: &str, command: CommandInfo, resources: &str) -> ExecutorInfo {
        ExecutorInfo {
            executor_id: wire::ids::ExecutorId::new(id),
            framework_id: None,
            command,
            resources: Resources::parse(resources, "*").unwrap(),
            name: None,
            shutdown_grace_period: None,
        }
    }

    fn blank() -> CommandInfo {
        CommandInfo {
            value: None,
            shell: false,
            ..CommandInfo::shell("")
        }
    }

    #[test]
    fn task_groups_are_validated_as_a_whole() {
        let f = framework(false);
        let agent = AgentId::new("m-S0");
        let available = Resources::parse("cpus:2;mem:256", "*").unwrap();
        let pod = executor("pod", blank(), "cpus:0.5;mem:64");
        let group = [task("a", "cpus:0.5;mem:64"), task("b", "cpus:0.5;mem:64")];
        assert!(validate_task_group(&pod, &group, &f, &agent, &available, false).is_ok());
        // A task may name the group's own executor.
        let same = TaskInfo {
            executor: Some(pod.clone()),
            ..task("c", "cpus:0.5")
        };
        assert!(validate_task_group(&pod, &[same], &f, &agent, &available, false).is_ok());
        // The executor's resources count only if it is not running yet.
        let big = [task("a", "cpus:1;mem:64"), task("b", "cpus:1;mem:64")];
        assert!(validate_task_group(&pod, &big, &f, &agent, &available, true).is_ok());
        let other = executor("other", CommandInfo::shell("./run"), "cpus:0.1");
        let cases = [
            (pod.clone(), group.to_vec(), "", true),
            (
                executor("", blank(), "cpus:0.1"),
                group.to_vec(),
                "executor_id",
                false,
            ),
            (pod.clone(), Vec::new(), "no tasks", false),
            (
                pod.clone(),
                vec![
                    task("a", "cpus:0.5"),
                    TaskInfo {
                        executor: Some(other),
                        command: None,
                        ..task("b", "cpus:0.5")
                    },
                ],
                "is different from executor 'pod'",
                false,
            ),
            (
                pod.clone(),
                vec![TaskInfo {
                    command: None,
                    ..task("a", "cpus:0.5")
                }],
                "must have a command",
                false,
            ),
            (
                pod.clone(),
                vec![task("a", "cpus:0.5"), task("a", "cpus:0.5")],
                "duplicate ID",
                false,
            ),
            (
                pod.clone(),
                vec![TaskInfo {
                    agent_id: AgentId::new("other"),
                    ..task("a", "cpus:0.5")
                }],
                "but the offer is for agent",
                false,
            ),
            (pod.clone(), big.to_vec(), "more than available", false),
        ];
        for (e, tasks, expected, ok) in cases {
            let result = validate_task_group(&e, &tasks, &f, &agent, &available, false);
            if ok {
                assert!(result.is_ok(), "{result:?}");
                continue;
            }
            let refusal = result.unwrap_err();
            assert_eq!(refusal.state, TaskState::Error);
            assert_eq!(refusal.reason, Reason::TaskGroupInvalid);
            assert!(
                refusal.message.contains(expected),
                "{}: {}",
                expected,
                refusal.message
            );
        }
    }

    #[test]
    fn reconciliation_answers_follow_mesos_rules() {
        let mut state = State::new("m");
        let known_agent = AgentId::new("m-S0");
        let gone_agent = AgentId::new("m-S9");
        state.unreachable.insert(gone_agent.clone(), 1.0);
        state
            .agents
            .insert(known_agent.clone(), agent(&known_agent));
        let t = TaskId::new("t");
        for (aware, agent, expected) in [
            (true, Some(&known_agent), TaskState::Gone),
            (true, Some(&gone_agent), TaskState::Unreachable),
            (true, None, TaskState::Unknown),
            (false, Some(&known_agent), TaskState::Lost),
            (false, Some(&gone_agent), TaskState::Lost),
            (false, None, TaskState::Lost),
        ] {
            let f = framework(aware);
            let status = reconcile_one(&state, &f, &t, agent).expect("an answer");
            assert_eq!(status.state, expected, "aware={aware} agent={agent:?}");
            assert_eq!(status.reason, Some(Reason::Reconciliation));
            assert_eq!(status.uuid, None);
        }
        // An agent admitted before this master's election that has not
        // re-registered yet: no answer about its tasks, nor about tasks
        // named without an agent, until it is back or unreachable.
        let recovered = AgentId::new("m-S5");
        state
            .recovered
            .insert(recovered.clone(), agent(&recovered).info);
        let f = framework(true);
        assert_eq!(reconcile_one(&state, &f, &t, Some(&recovered)), None);
        assert_eq!(reconcile_one(&state, &f, &t, None), None);
        let answer = reconcile_one(&state, &f, &t, Some(&known_agent)).map(|s| s.state);
        assert_eq!(answer, Some(TaskState::Gone));
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
            state.frameworks.insert(f.id.clone(), f);
        }
        for (framework, task) in [("m-0000", "a"), ("m-0000", "b"), ("m-0001", "c")] {
            state.add_task(Task {
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
            });
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
        let mut other = agent(&b);
        other.pid = "slave(1)@2.2.2.2:5051".into();
        state.add_agent(other);
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
        assert_eq!(state.agents.len(), 1);
    }
}
