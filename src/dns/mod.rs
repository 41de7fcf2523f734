//! `mesos-dns`: a DNS server compatible with Mesos-DNS (its names,
//! records, config and HTTP API), fed by the leading master's operator
//! event stream instead of polling alone.
//!
//! | Mesos-DNS | here |
//! |---|---|
//! | `records/config.go` | [`config`]: `config.json`, defaults, validation |
//! | `records/state/` | [`state`]: the cluster from `/master/state` or the v1 event stream |
//! | `records/generator.go`, `records/labels/` | [`records`]: the record set (pure) |
//! | `resolver/resolver.go` (DNS) | [`answer`] (pure) and [`server`] (UDP, TCP, forwarding) |
//! | `resolver/resolver.go` (REST) | [`http`] |
//! | `detect/`, the reload loop in `main.go` | [`source`] |
//!
//! The source task keeps a [`state::Cluster`], applies each event as it
//! arrives, rebuilds the [`records::RecordSet`] and swaps it into the
//! shared [`Shared`] slot; the DNS and HTTP servers read whatever set is
//! current, and answer `SERVFAIL` until the first one is in.

pub mod answer;
pub mod config;
pub mod http;
pub mod metrics;
pub mod records;
pub mod server;
pub mod source;
pub mod state;

use std::sync::{Arc, RwLock};
use std::time::SystemTime;

pub use config::Config;
pub use records::RecordSet;

/// A loaded record set and when it was built.
pub struct Loaded {
    pub records: RecordSet,
    /// The SOA serial: unix seconds of the build.
    pub serial: u32,
    /// Answers built from `records` on first use.
    pub cache: answer::Cache,
}

impl Loaded {
    pub fn new(records: RecordSet, serial: u32) -> Loaded {
        Loaded {
            records,
            serial,
            cache: answer::Cache::default(),
        }
    }
}

/// What the source hands to the servers: the current record set, swapped
/// whole (readers clone the `Arc` and never wait on a rebuild).
pub struct Shared {
    pub config: Config,
    current: RwLock<Option<Arc<Loaded>>>,
    pub metrics: metrics::Metrics,
}

impl Shared {
    pub fn new(config: Config) -> Arc<Shared> {
        Arc::new(Shared {
            config,
            current: RwLock::new(None),
            metrics: metrics::Metrics::default(),
        })
    }

    /// The current record set, `None` before the first load.
    pub fn records(&self) -> Option<Arc<Loaded>> {
        match self.current.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Swaps `records` in.
    pub fn publish(&self, records: RecordSet) {
        let serial = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs() as u32)
            .unwrap_or(0);
        self.metrics.loaded(records.len());
        let loaded = Arc::new(Loaded::new(records, serial));
        match self.current.write() {
            Ok(mut guard) => *guard = Some(loaded),
            Err(poisoned) => *poisoned.into_inner() = Some(loaded),
        }
    }
}
