//! The DNS server's counters and gauges, served on its HTTP port at
//! `/metrics/snapshot` in the flat `{"key": number}` form Mesos's
//! endpoints use.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

#[derive(Default)]
pub struct Metrics {
    /// `dns/queries/<qtype>` and `dns/rcode/<rcode>`.
    by_key: Mutex<BTreeMap<String, u64>>,
    pub forwarded: AtomicU64,
    pub forward_failures: AtomicU64,
    /// Packets that did not decode, or could not be answered.
    pub failed: AtomicU64,
    records: AtomicU64,
    /// Unix milliseconds of the last swap of the record set.
    last_update_ms: AtomicU64,
    pub events: AtomicU64,
    /// Milliseconds from a task status's timestamp to its records.
    pub event_lag_ms: AtomicU64,
    pub reloads: AtomicU64,
    pub resubscriptions: AtomicU64,
    /// Full states that disagreed with what the stream had built.
    pub state_mismatches: AtomicU64,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Metrics {
    fn bump(&self, key: String) {
        let mut map = match self.by_key.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        *map.entry(key).or_default() += 1;
    }

    /// One answered query of `qtype` with `rcode`.
    pub fn answered(&self, qtype: &str, rcode: &str) {
        self.bump(format!("dns/queries/{qtype}"));
        self.bump(format!("dns/rcode/{rcode}"));
    }

    pub fn loaded(&self, records: usize) {
        self.records.store(records as u64, Ordering::Relaxed);
        self.last_update_ms.store(now_ms(), Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> Value {
        let mut out = serde_json::Map::new();
        if let Ok(map) = self.by_key.lock() {
            for (k, v) in map.iter() {
                out.insert(k.clone(), json!(v));
            }
        }
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        for (k, v) in [
            ("dns/forwarded", load(&self.forwarded)),
            ("dns/forward_failures", load(&self.forward_failures)),
            ("dns/failed", load(&self.failed)),
            ("dns/records", load(&self.records)),
            ("dns/last_update_ms", load(&self.last_update_ms)),
            ("dns/events", load(&self.events)),
            ("dns/event_lag_ms", load(&self.event_lag_ms)),
            ("dns/reloads", load(&self.reloads)),
            ("dns/resubscriptions", load(&self.resubscriptions)),
            ("dns/state_mismatches", load(&self.state_mismatches)),
        ] {
            out.insert(k.into(), json!(v));
        }
        Value::Object(out)
    }
}
