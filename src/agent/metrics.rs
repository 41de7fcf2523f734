//! The agent's metrics under Mesos's keys (`slave/...`): counters bumped by
//! the handlers, and gauges computed from the agent's state at snapshot
//! time (a collector, read in the agent's mailbox order).

use actors::metrics::{Counter, Gauge, Metrics};
use wire::task::TaskState;

use super::state::{AgentView, ExecutorPhase};

pub struct AgentMetrics {
    metrics: Metrics,
    pub valid_status_updates: Counter,
    pub invalid_status_updates: Counter,
    pub valid_framework_messages: Counter,
    pub invalid_framework_messages: Counter,
    pub executors_terminated: Counter,
    pub container_launch_errors: Counter,
    /// Recovered executors the agent could not take back.
    pub recovery_errors: Counter,
    /// From the agent's start to the end of its recovery.
    pub recovery_time_secs: Gauge,
    /// How old a finished sandbox may get, as of the last sweep.
    pub executor_directory_max_allowed_age_secs: Gauge,
}

impl AgentMetrics {
    pub fn new(m: &Metrics) -> AgentMetrics {
        let c = |name: &str| m.counter(&format!("slave/{name}"));
        let metrics = AgentMetrics {
            metrics: m.clone(),
            valid_status_updates: c("valid_status_updates"),
            invalid_status_updates: c("invalid_status_updates"),
            valid_framework_messages: c("valid_framework_messages"),
            invalid_framework_messages: c("invalid_framework_messages"),
            executors_terminated: c("executors_terminated"),
            container_launch_errors: c("container_launch_errors"),
            recovery_errors: c("recovery_errors"),
            recovery_time_secs: m.gauge("slave/recovery_time_secs"),
            executor_directory_max_allowed_age_secs: m
                .gauge("slave/executor_directory_max_allowed_age_secs"),
        };
        c("executors_preempted");
        for state in TERMINAL {
            metrics.terminal(state);
        }
        metrics
    }

    fn terminal(&self, state: TaskState) -> Counter {
        let name = state
            .name()
            .trim_start_matches("TASK_")
            .to_ascii_lowercase();
        self.metrics.counter(&format!("slave/tasks_{name}"))
    }

    /// Counts a task that reached a terminal state on this agent.
    pub fn task_terminated(&self, state: TaskState) {
        if TERMINAL.contains(&state) {
            self.terminal(state).inc();
        }
    }
}

/// The terminal states the agent counts, as Mesos does.
const TERMINAL: [TaskState; 5] = [
    TaskState::Finished,
    TaskState::Failed,
    TaskState::Killed,
    TaskState::Lost,
    TaskState::Gone,
];

/// The agent's gauges from its current state.
pub fn gauges(agent: &AgentView<'_>) -> Vec<(String, f64)> {
    let mut out: Vec<(String, f64)> = Vec::new();
    let mut put = |k: &str, v: f64| out.push((format!("slave/{k}"), v));
    put(
        "uptime_secs",
        (wire::mesos::now_secs() - agent.start_time).max(0.0),
    );
    put("registered", if agent.master.is_some() { 1.0 } else { 0.0 });
    put("frameworks_active", agent.frameworks.len() as f64);
    let executors: Vec<_> = agent.executors().collect();
    let phase = |p: ExecutorPhase| executors.iter().filter(|e| e.phase() == p).count() as f64;
    put("executors_registering", phase(ExecutorPhase::Registering));
    put("executors_running", phase(ExecutorPhase::Running));
    put("executors_terminating", phase(ExecutorPhase::Terminating));
    let tasks: Vec<_> = executors.iter().flat_map(|e| e.tasks().values()).collect();
    let queued: usize = executors.iter().map(|e| e.queued().len()).sum();
    let count = |s: TaskState| tasks.iter().filter(|t| t.state == s).count() as f64;
    put("tasks_staging", count(TaskState::Staging) + queued as f64);
    put("tasks_starting", count(TaskState::Starting));
    put("tasks_running", count(TaskState::Running));
    put("tasks_killing", count(TaskState::Killing));
    let total = &agent.info.resources;
    let used = tasks
        .iter()
        .filter(|t| !t.state.is_terminal())
        .fold(wire::resources::Resources::new(), |acc, t| {
            acc.plus(&t.resources)
        });
    for kind in ["cpus", "gpus", "mem", "disk"] {
        let (t, u) = (total.scalar(kind), used.scalar(kind));
        put(&format!("{kind}_total"), t);
        put(&format!("{kind}_used"), u);
        put(
            &format!("{kind}_percent"),
            if t > 0.0 { u / t } else { 0.0 },
        );
        put(&format!("{kind}_revocable_total"), 0.0);
        put(&format!("{kind}_revocable_used"), 0.0);
        put(&format!("{kind}_revocable_percent"), 0.0);
    }
    out
}
