//! `--registry=replicated_log`: the registry kept in the masters' replicated
//! log, as Mesos's `LogStorage` keeps it with `diffsBetweenSnapshots = 0`:
//! every store appends a whole snapshot, then truncates the log below it,
//! so the log stays about one entry long; a fetch reads the latest entry.
//!
//! With ZooKeeper the replicas are the members of `<path>/log_replicas`:
//! the log is built at the first fetch, when this master has been elected,
//! from the replicas alive then.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actors::{Node, Pid};

use crate::log::{Log, LogConfig};
use crate::zookeeper::ReplicaGroup;

use super::store::{Store, StoreError, StoreFuture};

/// How long a new leader waits for every replica of the ensemble before it
/// makes do with a quorum (a fresh log needs them all to initialise).
const ENSEMBLE_WAIT: Duration = Duration::from_secs(10);

/// Where the log comes from.
enum Source {
    Ready(Log),
    /// Replicas found through ZooKeeper; the log is built on first use.
    Group {
        node: Node,
        local: Pid,
        quorum: usize,
        group: Arc<ReplicaGroup>,
    },
}

/// The registry in a replicated log.
pub struct LogStore {
    source: Arc<Mutex<Source>>,
    /// This master's membership of the replicas' group, for as long as
    /// the store lives (dropping it leaves the group).
    _group: Option<Arc<ReplicaGroup>>,
    /// The log started at once to recover the local replica.
    recovering: Arc<Mutex<Option<Log>>>,
    /// The registrar has fetched: this master leads, with its own log.
    elected: bool,
}

impl LogStore {
    pub fn new(log: Log) -> LogStore {
        LogStore {
            source: Arc::new(Mutex::new(Source::Ready(log))),
            _group: None,
            recovering: Arc::new(Mutex::new(None)),
            elected: true,
        }
    }

    /// A log over the replicas of `group`, of which `local` is this
    /// master's; built when first used.
    pub fn over_group(node: Node, local: Pid, quorum: usize, group: ReplicaGroup) -> LogStore {
        let group = Arc::new(group);
        let source = Arc::new(Mutex::new(Source::Group {
            node: node.clone(),
            local,
            quorum,
            group: group.clone(),
        }));
        let recovering = Arc::new(Mutex::new(None));
        // Every master runs a log at once, leading or not: that is what
        // initialises a fresh log and brings its replica back after a lost
        // disk. The leader builds its own at election, from the replicas
        // alive then.
        let (from, keep) = (source.clone(), recovering.clone());
        let watched = group.clone();
        actix::spawn(async move {
            // The members read at first may include replicas that just died
            // (their ephemeral nodes outlive them by a session timeout) and
            // miss ones that are starting: until the local replica votes,
            // follow the group, and start over when it changes.
            loop {
                let seen = watched.members();
                let (log, built_from) = match build_log_from(&from, true).await {
                    Ok(built) => built,
                    Err(e) => {
                        tracing::warn!("cannot start the replicated log yet: {e}");
                        watched.changed_from(&seen).await;
                        continue;
                    }
                };
                if let Ok(mut slot) = keep.lock() {
                    *slot = Some(log.clone());
                }
                tokio::select! {
                    recovered = log.recovered() => if recovered.is_ok() {
                        return;
                    },
                    _ = watched.changed_from(&built_from) => {
                        tracing::info!("the log replicas changed before recovery; starting over");
                    }
                }
                if let Ok(mut slot) = keep.lock() {
                    *slot = None;
                }
                node.terminate(log.pid());
            }
        });
        LogStore {
            source,
            _group: Some(group),
            recovering,
            elected: false,
        }
    }
}

fn failed(e: impl std::fmt::Display) -> StoreError {
    StoreError::Failed(e.to_string())
}

/// The log: a fixed one, or one built from the group's current members.
async fn log_of(source: &Arc<Mutex<Source>>) -> Result<Log, StoreError> {
    let ready = match &*source.lock().map_err(failed)? {
        Source::Ready(log) => Some(log.clone()),
        Source::Group { .. } => None,
    };
    match ready {
        Some(log) => Ok(log),
        None => build_log(source, false).await,
    }
}

/// Builds a log over the group's members alive now (its `log(N)` process
/// recovers the local replica at once).
///
/// `whole` waits (a while) for every replica of the ensemble, which a
/// fresh log needs to initialise; otherwise a quorum is enough.
async fn build_log(source: &Arc<Mutex<Source>>, whole: bool) -> Result<Log, StoreError> {
    build_log_from(source, whole).await.map(|(log, _)| log)
}

/// [`build_log`], with the group's members it was built from (none for a
/// fixed log).
async fn build_log_from(
    source: &Arc<Mutex<Source>>,
    whole: bool,
) -> Result<(Log, Vec<String>), StoreError> {
    let (node, local, quorum, group) = {
        let guard = source.lock().map_err(failed)?;
        match &*guard {
            Source::Ready(log) => return Ok((log.clone(), Vec::new())),
            Source::Group {
                node,
                local,
                quorum,
                group,
            } => (node.clone(), local.clone(), *quorum, group.clone()),
        }
    };
    let wanted = if whole { 2 * quorum - 1 } else { quorum };
    let members = group.at_least(wanted, ENSEMBLE_WAIT).await;
    let mut replicas: Vec<Pid> = members.iter().filter_map(|p| p.parse().ok()).collect();
    if !replicas.contains(&local) {
        replicas.push(local.clone());
    }
    if replicas.len() < quorum {
        return Err(StoreError::Failed(format!(
            "only {} of the {quorum} replicas needed are reachable",
            replicas.len()
        )));
    }
    tracing::info!(replicas = ?replicas, quorum, "building the replicated log from the live replicas");
    let mut config = LogConfig::new(quorum, local, replicas);
    config.metrics_prefix = "registrar/".into();
    Ok((Log::spawn(&node, config).map_err(failed)?, members))
}

impl Store for LogStore {
    fn fetch(&mut self) -> StoreFuture<Option<Vec<u8>>> {
        let source = self.source.clone();
        let elected = std::mem::replace(&mut self.elected, true);
        let recovering = self.recovering.clone();
        Box::pin(async move {
            // Elected now: write through a log over the replicas alive now,
            // kept for every later store. A quorum of them is enough once
            // the local replica votes; a fresh log needs them all.
            let log = if elected {
                log_of(&source).await?
            } else {
                // Let the log started at once finish recovering first: two
                // logs recovering one replica at the same time fight over it.
                let eager = async {
                    loop {
                        // A log replaced before it recovered is gone: wait
                        // for the one started after it.
                        if let Some(log) = recovering.lock().ok().and_then(|l| l.clone()) {
                            if log.recovered().await.is_ok() {
                                return log;
                            }
                        }
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                };
                let voting = match tokio::time::timeout(2 * ENSEMBLE_WAIT, eager).await {
                    Ok(log) => log
                        .summary()
                        .await
                        .is_ok_and(|s| s.status == wire::log::Status::Voting),
                    Err(_) => false,
                };
                let log = build_log(&source, !voting).await?;
                if let Ok(mut guard) = source.lock() {
                    *guard = Source::Ready(log.clone());
                }
                log
            };
            // Becoming the log's writer first fills every position up to the
            // end, so what the local replica holds is the whole log.
            let end = log.start().await.map_err(failed)?;
            let summary = log.summary().await.map_err(failed)?;
            if end < summary.begin || summary.end == 0 && summary.begin == 0 && end == 0 {
                return Ok(None);
            }
            let entries = log.read(summary.begin, end).await.map_err(failed)?;
            Ok(entries.into_iter().last().map(|(_, bytes)| bytes))
        })
    }

    fn store(&mut self, bytes: Vec<u8>) -> StoreFuture<()> {
        let source = self.source.clone();
        Box::pin(async move {
            let log = log_of(&source).await?;
            let position = log.append(bytes).await.map_err(failed)?;
            // Older snapshots are dead weight now.
            log.truncate(position).await.map_err(failed)?;
            Ok(())
        })
    }
}
