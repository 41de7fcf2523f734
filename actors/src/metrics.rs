//! Counters, gauges and timers, and the flat snapshot served at
//! `/metrics/snapshot` (libprocess's `process::metrics`).
//!
//! Metrics live in a [`Metrics`] registry owned by a node. Counters and set
//! gauges are atomics, so a handler bumps them without a lock; the registry
//! lock is taken only to add a metric and to take a snapshot. A timer keeps
//! its last value and a window of the most recent samples, from which the
//! snapshot derives `count`, `min`, `max` and percentiles, as Mesos does.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How many recent samples a timer keeps for its statistics.
pub const TIMER_WINDOW: usize = 1000;

/// A monotonically increasing count.
#[derive(Clone, Debug, Default)]
pub struct Counter(Arc<AtomicU64>);

impl Counter {
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A value that is set, not accumulated.
#[derive(Clone, Default)]
pub struct Gauge(Arc<AtomicU64>);

impl Gauge {
    pub fn set(&self, value: f64) {
        self.0.store(value.to_bits(), Ordering::Relaxed);
    }

    pub fn get(&self) -> f64 {
        f64::from_bits(self.0.load(Ordering::Relaxed))
    }
}

/// Durations, reported in milliseconds.
#[derive(Clone, Default)]
pub struct Timer(Arc<Mutex<TimerWindow>>);

#[derive(Default)]
struct TimerWindow {
    last_ms: Option<f64>,
    samples: std::collections::VecDeque<f64>,
}

impl Timer {
    pub fn record(&self, elapsed: Duration) {
        let ms = elapsed.as_secs_f64() * 1000.0;
        let mut w = lock(&self.0);
        w.last_ms = Some(ms);
        if w.samples.len() == TIMER_WINDOW {
            w.samples.pop_front();
        }
        w.samples.push_back(ms);
    }

    /// Appends this timer's keys under `name` to `out`.
    fn snapshot(&self, name: &str, out: &mut BTreeMap<String, f64>) {
        let w = lock(&self.0);
        let Some(last) = w.last_ms else {
            return;
        };
        out.insert(name.to_owned(), last);
        let mut sorted: Vec<f64> = w.samples.iter().copied().collect();
        sorted.sort_by(f64::total_cmp);
        out.insert(format!("{name}/count"), sorted.len() as f64);
        let (Some(min), Some(max)) = (sorted.first(), sorted.last()) else {
            return;
        };
        out.insert(format!("{name}/min"), *min);
        out.insert(format!("{name}/max"), *max);
        for (suffix, q) in [
            ("p50", 0.5),
            ("p90", 0.9),
            ("p95", 0.95),
            ("p99", 0.99),
            ("p999", 0.999),
            ("p9999", 0.9999),
        ] {
            out.insert(format!("{name}/{suffix}"), percentile(&sorted, q));
        }
    }
}

/// Linear interpolation between the closest ranks (what Mesos's
/// `Statistics` does), over an ascending, non-empty slice.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    let rank = q * (sorted.len() - 1) as f64;
    let lower = rank.floor() as usize;
    let upper = rank.ceil() as usize;
    let (Some(a), Some(b)) = (sorted.get(lower), sorted.get(upper)) else {
        return 0.0;
    };
    a + (b - a) * (rank - lower as f64)
}

type Pull = Arc<dyn Fn() -> f64 + Send + Sync>;

#[derive(Clone)]
enum Metric {
    Counter(Counter),
    Gauge(Gauge),
    Pull(Pull),
    Timer(Timer),
}

/// Values a process computes from its own state when a snapshot is taken,
/// read in its mailbox order (libprocess's gauges are deferred the same
/// way), so they are consistent with each other.
pub type Collector =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Vec<(String, f64)>> + Send>> + Send + Sync>;

/// A node's metrics, by name.
#[derive(Clone, Default)]
pub struct Metrics {
    all: Arc<Mutex<BTreeMap<String, Metric>>>,
    collectors: Arc<Mutex<Vec<Collector>>>,
}

impl Metrics {
    /// The counter called `name`, created at zero the first time.
    pub fn counter(&self, name: &str) -> Counter {
        match self.get_or_insert(name, || Metric::Counter(Counter::default())) {
            Metric::Counter(c) => c,
            _ => Counter::default(),
        }
    }

    /// The gauge called `name`, created at zero the first time.
    pub fn gauge(&self, name: &str) -> Gauge {
        match self.get_or_insert(name, || Metric::Gauge(Gauge::default())) {
            Metric::Gauge(g) => g,
            _ => Gauge::default(),
        }
    }

    /// A gauge whose value is read by calling `read` at snapshot time.
    /// Replaces any earlier metric of that name.
    pub fn pull_gauge(&self, name: &str, read: impl Fn() -> f64 + Send + Sync + 'static) {
        lock(&self.all).insert(name.to_owned(), Metric::Pull(Arc::new(read)));
    }

    /// The timer called `name` (by Mesos convention ending in `_ms`).
    pub fn timer(&self, name: &str) -> Timer {
        match self.get_or_insert(name, || Metric::Timer(Timer::default())) {
            Metric::Timer(t) => t,
            _ => Timer::default(),
        }
    }

    /// Adds a collector: at each snapshot it is awaited (within the
    /// snapshot's timeout) and its values merged in.
    pub fn collector(&self, collect: Collector) {
        lock(&self.collectors).push(collect);
    }

    /// Every metric, including what collectors report within `timeout`; a
    /// collector that does not answer in time contributes nothing.
    pub async fn snapshot_with_collectors(&self, timeout: Duration) -> BTreeMap<String, f64> {
        let mut out = self.snapshot();
        let collectors: Vec<Collector> = lock(&self.collectors).clone();
        let deadline = tokio::time::Instant::now() + timeout;
        for collect in collectors {
            if let Ok(values) = tokio::time::timeout_at(deadline, collect()).await {
                out.extend(values);
            }
        }
        out
    }

    /// Removes the metric called `name`.
    pub fn remove(&self, name: &str) {
        lock(&self.all).remove(name);
    }

    fn get_or_insert(&self, name: &str, make: impl FnOnce() -> Metric) -> Metric {
        let mut all = lock(&self.all);
        if let Some(m) = all.get(name) {
            if std::mem::discriminant(m) != std::mem::discriminant(&make()) {
                tracing::warn!(metric = name, "metric re-registered with another kind");
            }
            return m.clone();
        }
        let m = make();
        all.insert(name.to_owned(), m.clone());
        m
    }

    /// Every metric's current value: name -> number.
    pub fn snapshot(&self) -> BTreeMap<String, f64> {
        // Pull gauges run outside the lock: they may take locks of their own.
        let metrics: Vec<(String, Metric)> = lock(&self.all)
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut out = BTreeMap::new();
        for (name, metric) in metrics {
            match metric {
                Metric::Counter(c) => {
                    out.insert(name, c.get() as f64);
                }
                Metric::Gauge(g) => {
                    out.insert(name, g.get());
                }
                Metric::Pull(read) => {
                    out.insert(name, read());
                }
                Metric::Timer(t) => t.snapshot(&name, &mut out),
            }
        }
        out
    }

    /// The snapshot as the JSON object Mesos serves.
    pub fn snapshot_json(&self) -> String {
        to_json(self.snapshot())
    }
}

/// A snapshot as the flat JSON object Mesos serves (every value a number).
pub fn to_json(snapshot: BTreeMap<String, f64>) -> String {
    let map: serde_json::Map<String, serde_json::Value> = snapshot
        .into_iter()
        .map(|(k, v)| {
            let n = serde_json::Number::from_f64(v).unwrap_or_else(|| 0.into());
            (k, serde_json::Value::Number(n))
        })
        .collect();
    serde_json::Value::Object(map).to_string()
}

/// Registers libprocess's machine gauges: `system/cpus_total`,
/// `system/load_{1,5,15}min`, `system/mem_{total,free}_bytes`, read from
/// `/proc` at each snapshot.
pub fn register_system(metrics: &Metrics) {
    metrics.pull_gauge("system/cpus_total", || {
        std::thread::available_parallelism()
            .map(|n| n.get() as f64)
            .unwrap_or(1.0)
    });
    for (i, name) in ["system/load_1min", "system/load_5min", "system/load_15min"]
        .into_iter()
        .enumerate()
    {
        metrics.pull_gauge(name, move || {
            std::fs::read_to_string("/proc/loadavg")
                .ok()
                .and_then(|s| s.split_whitespace().nth(i).and_then(|v| v.parse().ok()))
                .unwrap_or(0.0)
        });
    }
    for (name, field) in [
        ("system/mem_total_bytes", "MemTotal:"),
        ("system/mem_free_bytes", "MemFree:"),
    ] {
        metrics.pull_gauge(name, move || meminfo_bytes(field).unwrap_or(0.0));
    }
}

fn meminfo_bytes(field: &str) -> Option<f64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with(field))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024.0)
}

/// Parses a snapshot `timeout` as libprocess writes durations (`5secs`,
/// `100ms`, `1mins`) or plain seconds.
pub fn parse_timeout(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: f64 = number.parse().ok()?;
    let seconds = match unit {
        "" | "secs" => n,
        "ms" => n / 1000.0,
        "us" => n / 1e6,
        "ns" => n / 1e9,
        "mins" => n * 60.0,
        "hrs" => n * 3600.0,
        _ => return None,
    };
    Duration::try_from_secs_f64(seconds).ok()
}

/// Locks a mutex, recovering the data if a panicking thread poisoned it:
/// metrics must stay readable whatever happened elsewhere.
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_gauges_appear_in_the_snapshot() {
        let m = Metrics::default();
        let c = m.counter("a/count");
        c.inc();
        c.add(2);
        m.counter("a/count").inc(); // same counter by name
        m.gauge("a/level").set(2.5);
        m.pull_gauge("a/pulled", || 7.0);
        let s = m.snapshot();
        assert_eq!(s["a/count"], 4.0);
        assert_eq!(s["a/level"], 2.5);
        assert_eq!(s["a/pulled"], 7.0);
    }

    #[test]
    fn timer_reports_last_value_count_and_percentiles() {
        let m = Metrics::default();
        let t = m.timer("x/store_ms");
        assert!(!m.snapshot().contains_key("x/store_ms"), "no samples yet");
        for ms in 1..=100u64 {
            t.record(Duration::from_millis(ms));
        }
        t.record(Duration::from_millis(7));
        let s = m.snapshot();
        assert_eq!(s["x/store_ms"], 7.0);
        assert_eq!(s["x/store_ms/count"], 101.0);
        assert_eq!(s["x/store_ms/min"], 1.0);
        assert_eq!(s["x/store_ms/max"], 100.0);
        assert!((s["x/store_ms/p50"] - 50.0).abs() < 1.0);
        assert!(s["x/store_ms/p99"] > 98.0 && s["x/store_ms/p99"] <= 100.0);
        for k in ["p90", "p95", "p999", "p9999"] {
            assert!(s.contains_key(&format!("x/store_ms/{k}")), "{k}");
        }
    }

    #[test]
    fn timer_window_keeps_only_recent_samples() {
        let t = Timer::default();
        for _ in 0..TIMER_WINDOW + 10 {
            t.record(Duration::from_millis(1));
        }
        let mut out = BTreeMap::new();
        t.snapshot("t", &mut out);
        assert_eq!(out["t/count"], TIMER_WINDOW as f64);
    }

    #[test]
    fn system_gauges_read_the_machine() {
        let m = Metrics::default();
        register_system(&m);
        let s = m.snapshot();
        assert!(s["system/cpus_total"] >= 1.0);
        assert!(s["system/mem_total_bytes"] > s["system/mem_free_bytes"]);
        assert!(s.contains_key("system/load_15min"));
    }

    #[test]
    fn timeouts_parse_as_libprocess_durations() {
        assert_eq!(parse_timeout("5secs"), Some(Duration::from_secs(5)));
        assert_eq!(parse_timeout("100ms"), Some(Duration::from_millis(100)));
        assert_eq!(parse_timeout("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_timeout("soon"), None);
    }

    #[actix::test]
    async fn collectors_join_the_snapshot_unless_they_miss_the_timeout() {
        let m = Metrics::default();
        m.counter("a").inc();
        m.collector(Arc::new(|| {
            Box::pin(async { vec![("b".to_string(), 2.0)] })
        }));
        m.collector(Arc::new(|| {
            Box::pin(async {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                vec![("late".to_string(), 1.0)]
            })
        }));
        let s = m.snapshot_with_collectors(Duration::from_millis(50)).await;
        assert_eq!(s["a"], 1.0);
        assert_eq!(s["b"], 2.0);
        assert!(!s.contains_key("late"));
    }

    #[test]
    fn snapshot_json_is_a_flat_object_of_numbers() {
        let m = Metrics::default();
        m.counter("n/c").inc();
        m.gauge("n/nan").set(f64::NAN);
        let v: serde_json::Value = serde_json::from_str(&m.snapshot_json()).unwrap();
        let obj = v.as_object().unwrap();
        assert_eq!(obj["n/c"], serde_json::json!(1.0));
        assert!(obj.values().all(|v| v.is_number()));
    }
}
