//! The master's gauges (`master/slaves_active`, `master/cpus_used`, ...
//! and, with `--publish_per_framework_metrics`, each framework's), computed
//! from a view of the master when a snapshot is taken.

use wire::task::TaskState;

use super::metrics::PublishedFramework;
use super::view::MasterView;

/// The master's gauges, computed from its state when a snapshot is taken
/// (registered as a collector, so they are read in the master's mailbox
/// order and agree with each other).
pub fn gauges(master: &MasterView<'_>, now: f64) -> Vec<(String, f64)> {
    let s = master.state;
    let mut out: Vec<(String, f64)> = Vec::new();
    let mut put = |k: &str, v: f64| out.push((format!("master/{k}"), v));
    put("uptime_secs", (now - master.start_time).max(0.0));
    put("elected", if master.elected { 1.0 } else { 0.0 });
    let agents: Vec<_> = s.agents().values().collect();
    let frameworks: Vec<_> = s.frameworks().values().collect();
    fn count<T>(items: &[&T], keep: impl Fn(&T) -> bool) -> f64 {
        items.iter().filter(|x| keep(x)).count() as f64
    }
    put("slaves_active", count(&agents, |a| a.active));
    put("slaves_inactive", count(&agents, |a| !a.active));
    put("slaves_connected", count(&agents, |a| a.connected));
    put("slaves_disconnected", count(&agents, |a| !a.connected));
    put("slaves_unreachable", s.unreachable().len() as f64);
    put("frameworks_active", count(&frameworks, |f| f.active));
    put("frameworks_inactive", count(&frameworks, |f| !f.active));
    put("frameworks_connected", count(&frameworks, |f| f.connected));
    put(
        "frameworks_disconnected",
        count(&frameworks, |f| !f.connected),
    );
    put("outstanding_offers", s.offers().len() as f64);
    let counts = s.task_counts();
    for state in [
        TaskState::Staging,
        TaskState::Starting,
        TaskState::Running,
        TaskState::Killing,
        TaskState::Unreachable,
    ] {
        let name = state
            .name()
            .trim_start_matches("TASK_")
            .to_ascii_lowercase();
        put(
            &format!("tasks_{name}"),
            counts.get(&state).copied().unwrap_or(0) as f64,
        );
    }
    for kind in ["cpus", "gpus", "mem", "disk"] {
        let total: f64 = s
            .agents()
            .values()
            .map(|a| a.info.resources.scalar(kind))
            .sum();
        let used: f64 = s.agents().values().map(|a| a.used().scalar(kind)).sum();
        put(&format!("{kind}_total"), total);
        put(&format!("{kind}_used"), used);
        put(
            &format!("{kind}_percent"),
            if total > 0.0 { used / total } else { 0.0 },
        );
        // No revocable resources yet.
        put(&format!("{kind}_revocable_total"), 0.0);
        put(&format!("{kind}_revocable_used"), 0.0);
        put(&format!("{kind}_revocable_percent"), 0.0);
    }
    // Mailbox depths are not observable through actix; reported as zero.
    put("event_queue_messages", 0.0);
    put("event_queue_dispatches", 0.0);
    put("event_queue_http_requests", 0.0);
    if master.flags.publish_per_framework_metrics {
        for f in s.frameworks().values() {
            let published = PublishedFramework {
                name: &f.info.name,
                id: &f.id,
                connected: f.connected,
                tasks: f.tasks().values(),
            };
            f.metrics.publish(published, &mut out);
        }
    }
    out
}
