//! The master's counters under Mesos's metric keys (`master/...`), and
//! each framework's (`master/frameworks/<name>/<id>/...`). The gauges,
//! computed from the records when a snapshot is taken, are in `gauges.rs`.

use std::collections::HashMap;

use actors::metrics::{Counter, Metrics};
use wire::ids::FrameworkId;
use wire::mesos::TaskStatus;
use wire::task::TaskState;

pub struct MasterMetrics {
    metrics: Metrics,
    pub dropped_messages: Counter,
    pub slave_registrations: Counter,
    pub slave_reregistrations: Counter,
    pub slave_removals: Counter,
    pub slave_unreachable_scheduled: Counter,
    pub slave_unreachable_completed: Counter,
    pub slave_unreachable_canceled: Counter,
    pub recovery_slave_removals: Counter,
    pub messages_register_slave: Counter,
    pub messages_reregister_slave: Counter,
    pub messages_register_framework: Counter,
    pub messages_unregister_framework: Counter,
    pub messages_deactivate_framework: Counter,
    pub messages_launch_tasks: Counter,
    pub messages_decline_offers: Counter,
    pub messages_revive_offers: Counter,
    pub messages_suppress_offers: Counter,
    pub messages_kill_task: Counter,
    pub messages_status_update: Counter,
    pub messages_status_update_acknowledgement: Counter,
    pub messages_reconcile_tasks: Counter,
    pub valid_status_updates: Counter,
    pub invalid_status_updates: Counter,
    pub valid_status_update_acknowledgements: Counter,
    pub invalid_status_update_acknowledgements: Counter,
    pub valid_framework_to_executor_messages: Counter,
    pub invalid_framework_to_executor_messages: Counter,
    pub valid_executor_to_framework_messages: Counter,
    pub invalid_executor_to_framework_messages: Counter,
}

impl MasterMetrics {
    pub fn new(m: &Metrics) -> MasterMetrics {
        let c = |name: &str| m.counter(&format!("master/{name}"));
        let metrics = MasterMetrics {
            metrics: m.clone(),
            dropped_messages: c("dropped_messages"),
            slave_registrations: c("slave_registrations"),
            slave_reregistrations: c("slave_reregistrations"),
            slave_removals: c("slave_removals"),
            slave_unreachable_scheduled: c("slave_unreachable_scheduled"),
            slave_unreachable_completed: c("slave_unreachable_completed"),
            slave_unreachable_canceled: c("slave_unreachable_canceled"),
            recovery_slave_removals: c("recovery_slave_removals"),
            messages_register_slave: c("messages_register_slave"),
            messages_reregister_slave: c("messages_reregister_slave"),
            messages_register_framework: c("messages_register_framework"),
            messages_unregister_framework: c("messages_unregister_framework"),
            messages_deactivate_framework: c("messages_deactivate_framework"),
            messages_launch_tasks: c("messages_launch_tasks"),
            messages_decline_offers: c("messages_decline_offers"),
            messages_revive_offers: c("messages_revive_offers"),
            messages_suppress_offers: c("messages_suppress_offers"),
            messages_kill_task: c("messages_kill_task"),
            messages_status_update: c("messages_status_update"),
            messages_status_update_acknowledgement: c("messages_status_update_acknowledgement"),
            messages_reconcile_tasks: c("messages_reconcile_tasks"),
            valid_status_updates: c("valid_status_updates"),
            invalid_status_updates: c("invalid_status_updates"),
            valid_status_update_acknowledgements: c("valid_status_update_acknowledgements"),
            invalid_status_update_acknowledgements: c("invalid_status_update_acknowledgements"),
            valid_framework_to_executor_messages: c("valid_framework_to_executor_messages"),
            invalid_framework_to_executor_messages: c("invalid_framework_to_executor_messages"),
            valid_executor_to_framework_messages: c("valid_executor_to_framework_messages"),
            invalid_executor_to_framework_messages: c("invalid_executor_to_framework_messages"),
        };
        for state in TaskState::ALL.iter().filter(|s| s.is_terminal()) {
            metrics.terminal_counter(*state);
        }
        metrics
    }

    fn terminal_counter(&self, state: TaskState) -> Counter {
        let name = state
            .name()
            .trim_start_matches("TASK_")
            .to_ascii_lowercase();
        self.metrics.counter(&format!("master/tasks_{name}"))
    }

    /// Counts a task reaching a terminal state, in total and by source and
    /// reason (`master/task_lost/source_master/reason_invalid_offers`).
    pub fn count_terminal(&self, state: TaskState, status: &TaskStatus) {
        if !state.is_terminal() {
            return;
        }
        self.terminal_counter(state).inc();
        let source = status
            .source
            .and_then(|s| serde_json::to_value(s).ok())
            .and_then(|v| v.as_str().map(str::to_ascii_lowercase));
        let reason = status
            .reason
            .and_then(|r| serde_json::to_value(r).ok())
            .and_then(|v| v.as_str().map(str::to_ascii_lowercase));
        if let (Some(source), Some(reason)) = (source, reason) {
            let key = format!(
                "master/{}/{source}/{reason}",
                state.name().to_ascii_lowercase()
            );
            self.metrics.counter(&key).inc();
        }
    }
}

/// v1 scheduler call types, lowercased as in Mesos's per-framework keys
/// (`master/frameworks/<name>/<id>/calls/<type>`).
pub const CALL_TYPES: &[&str] = &[
    "subscribe",
    "teardown",
    "accept",
    "decline",
    "accept_inverse_offers",
    "decline_inverse_offers",
    "revive",
    "kill",
    "shutdown",
    "acknowledge",
    "acknowledge_operation_status",
    "reconcile",
    "reconcile_operations",
    "message",
    "request",
    "suppress",
    "update_framework",
];

/// v1 scheduler event types, lowercased (`.../events/<type>`).
pub const EVENT_TYPES: &[&str] = &[
    "subscribed",
    "offers",
    "inverse_offers",
    "rescind",
    "rescind_inverse_offer",
    "update",
    "update_operation_status",
    "message",
    "failure",
    "error",
    "heartbeat",
];

/// One framework's counters (Mesos's `FrameworkMetrics`), published under
/// `master/frameworks/<percent-encoded name>/<id>/` for as long as the
/// master holds the framework, when `--publish_per_framework_metrics`.
#[derive(Debug, Clone)]
pub struct FrameworkMetrics {
    calls: Counter,
    call_types: HashMap<&'static str, Counter>,
    events: Counter,
    event_types: HashMap<&'static str, Counter>,
    pub offers_sent: Counter,
    pub offers_accepted: Counter,
    pub offers_declined: Counter,
    pub offers_rescinded: Counter,
    terminal: HashMap<TaskState, Counter>,
}

impl Default for FrameworkMetrics {
    fn default() -> FrameworkMetrics {
        let zeros = |names: &[&'static str]| {
            names
                .iter()
                .map(|n| (*n, Counter::default()))
                .collect::<HashMap<_, _>>()
        };
        FrameworkMetrics {
            calls: Counter::default(),
            call_types: zeros(CALL_TYPES),
            events: Counter::default(),
            event_types: zeros(EVENT_TYPES),
            offers_sent: Counter::default(),
            offers_accepted: Counter::default(),
            offers_declined: Counter::default(),
            offers_rescinded: Counter::default(),
            terminal: TaskState::ALL
                .iter()
                .filter(|s| s.is_terminal())
                .map(|s| (*s, Counter::default()))
                .collect(),
        }
    }
}

impl FrameworkMetrics {
    /// A call of one of [`CALL_TYPES`] from the framework.
    pub fn call(&self, kind: &str) {
        self.calls.inc();
        if let Some(c) = self.call_types.get(kind) {
            c.inc();
        }
    }

    /// An event of one of [`EVENT_TYPES`] to the framework.
    pub fn event(&self, kind: &str) {
        self.events.inc();
        if let Some(c) = self.event_types.get(kind) {
            c.inc();
        }
    }

    /// One of the framework's tasks reached `state`.
    pub fn terminal(&self, state: TaskState) {
        if let Some(c) = self.terminal.get(&state) {
            c.inc();
        }
    }

    /// The framework's metrics, with its gauges (subscribed, active tasks
    /// by state) computed from what it is now.
    pub fn publish(&self, framework: PublishedFramework<'_>, out: &mut Vec<(String, f64)>) {
        let prefix = format!(
            "master/frameworks/{}/{}/",
            percent_encode(framework.name),
            framework.id
        );
        let mut put = |k: &str, v: f64| out.push((format!("{prefix}{k}"), v));
        put("subscribed", if framework.connected { 1.0 } else { 0.0 });
        put("calls", self.calls.get() as f64);
        for (kind, c) in &self.call_types {
            put(&format!("calls/{kind}"), c.get() as f64);
        }
        put("events", self.events.get() as f64);
        for (kind, c) in &self.event_types {
            put(&format!("events/{kind}"), c.get() as f64);
        }
        put("offers/sent", self.offers_sent.get() as f64);
        put("offers/accepted", self.offers_accepted.get() as f64);
        put("offers/declined", self.offers_declined.get() as f64);
        put("offers/rescinded", self.offers_rescinded.get() as f64);
        for (state, c) in &self.terminal {
            put(
                &format!("tasks/terminal/{}", state.name().to_ascii_lowercase()),
                c.get() as f64,
            );
        }
        for state in TaskState::ALL.iter().filter(|s| !s.is_terminal()) {
            let n = framework
                .tasks
                .clone()
                .filter(|t| t.state == *state)
                .count();
            put(
                &format!("tasks/active/{}", state.name().to_ascii_lowercase()),
                n as f64,
            );
        }
    }
}

/// What a framework's published metrics are computed from.
pub struct PublishedFramework<'a> {
    pub name: &'a str,
    pub id: &'a FrameworkId,
    pub connected: bool,
    /// Its active tasks.
    pub tasks:
        std::collections::hash_map::Values<'a, wire::ids::TaskId, super::rendered::TaskRecord>,
}

/// Percent-encodes all but RFC 3986's unreserved characters, as Mesos
/// encodes framework names in metric keys (`/` and spaces included).
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
