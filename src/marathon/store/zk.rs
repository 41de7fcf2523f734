//! The store in ZooKeeper: each key a persistent znode under
//! `<--zk path>/state` (`/marathon/state/app/prod_web`, ...), as Marathon
//! keeps its state under `/marathon/state`.
//!
//! A task owns the session and does one job at a time (a load, or a batch
//! of writes), opening a new session when the old one is lost. A batch is
//! written as ZooKeeper transactions (`multi`) of at most
//! [`MAX_TRANSACTION_BYTES`], so a batch that fits one is all or nothing.
//! Whether a znode exists (create, or set its data) is known from the last
//! load and the writes since; when a transaction fails on that, the
//! knowledge is refreshed and the transaction tried once more.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tracing::{info, warn, Instrument};
use zookeeper_client::{Client, CreateMode, Error as ZkError, MultiWriteError, SessionState};

use super::{valid_name, Pending, Store, StoreError, Write, CATEGORIES, FRAMEWORK_ID};
use crate::zookeeper::group::Session;
use crate::zookeeper::ZkUrl;

/// The data one transaction carries at most, well below the server's
/// 1 MiB `jute.maxbuffer`.
pub const MAX_TRANSACTION_BYTES: usize = 600 * 1024;
/// Operations in one transaction at most.
const MAX_TRANSACTION_OPS: usize = 500;

/// A znode's path and its new data (`None`: delete it).
type Op = (String, Option<Vec<u8>>);

enum Job {
    Load(oneshot::Sender<Result<BTreeMap<String, Vec<u8>>, StoreError>>),
    Apply(Vec<Write>, oneshot::Sender<Result<(), StoreError>>),
}

pub struct ZkStore {
    jobs: mpsc::UnboundedSender<Job>,
    root: String,
    /// How long a job may take before the caller hears it failed
    /// (Marathon's `--zk_timeout`).
    timeout: Duration,
    _task: AbortOnDrop,
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl ZkStore {
    /// Starts the store's task on the current tokio runtime (a process's
    /// arbiter, or a binary's system).
    pub fn open(
        url: &ZkUrl,
        session_timeout: Duration,
        timeout: Duration,
    ) -> Result<ZkStore, StoreError> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| StoreError::ZooKeeper("no tokio runtime to run in".into()))?;
        let root = url.child("state");
        let (jobs, rx) = mpsc::unbounded_channel();
        let worker = Worker {
            url: url.clone(),
            root: root.clone(),
            session_timeout,
            session: None,
            known: HashSet::new(),
        };
        let span = tracing::info_span!("marathon_store", root = %root);
        let task = runtime.spawn(worker.run(rx).instrument(span));
        Ok(ZkStore {
            jobs,
            root,
            timeout,
            _task: AbortOnDrop(task),
        })
    }

    fn ask<T: 'static>(
        &self,
        job: impl FnOnce(oneshot::Sender<Result<T, StoreError>>) -> Job,
    ) -> Pending<T> {
        let (tx, rx) = oneshot::channel();
        let sent = self.jobs.send(job(tx)).is_ok();
        let timeout = self.timeout;
        Box::pin(async move {
            if !sent {
                return Err(StoreError::Closed);
            }
            match tokio::time::timeout(timeout, rx).await {
                Ok(Ok(result)) => result,
                Ok(Err(_)) => Err(StoreError::Closed),
                Err(_) => Err(StoreError::Timeout(timeout)),
            }
        })
    }
}

impl Store for ZkStore {
    fn load(&self) -> Pending<BTreeMap<String, Vec<u8>>> {
        self.ask(Job::Load)
    }

    fn apply(&self, writes: Vec<Write>) -> Pending<()> {
        self.ask(|tx| Job::Apply(writes, tx))
    }

    fn describe(&self) -> String {
        format!("ZooKeeper under {}", self.root)
    }
}

struct Worker {
    url: ZkUrl,
    root: String,
    session_timeout: Duration,
    session: Option<Session>,
    /// The znodes known to exist.
    known: HashSet<String>,
}

fn zk(e: impl std::fmt::Display) -> StoreError {
    StoreError::ZooKeeper(e.to_string())
}

impl Worker {
    async fn run(mut self, mut jobs: mpsc::UnboundedReceiver<Job>) {
        while let Some(job) = jobs.recv().await {
            match job {
                Job::Load(reply) => {
                    // A caller that gave up is not answered, nor its work done.
                    if reply.is_closed() {
                        continue;
                    }
                    let result = self.load().await;
                    let _ = reply.send(result);
                }
                Job::Apply(writes, reply) => {
                    if reply.is_closed() {
                        continue;
                    }
                    let result = self.apply(writes).await;
                    let _ = reply.send(result);
                }
            }
        }
    }

    /// A live session, with the category znodes in place.
    async fn client(&mut self) -> Result<Client, StoreError> {
        let usable = self.session.as_ref().is_some_and(|s| {
            !matches!(
                s.client().state(),
                SessionState::Expired | SessionState::Closed | SessionState::AuthFailed
            )
        });
        if !usable {
            let session = Session::open(&self.url, self.session_timeout).await;
            let client = session.client().clone();
            let options = CreateMode::Persistent.with_acls(self.url.acls());
            for category in CATEGORIES {
                client
                    .mkdir(&format!("{}/{category}", self.root), &options)
                    .await
                    .map_err(zk)?;
            }
            info!("storing state in ZooKeeper");
            self.session = Some(session);
        }
        self.session
            .as_ref()
            .map(|s| s.client().clone())
            .ok_or(StoreError::Closed)
    }

    fn path(&self, key: &str) -> Option<String> {
        if key == FRAMEWORK_ID {
            return Some(format!("{}/{FRAMEWORK_ID}", self.root));
        }
        let (category, name) = key.split_once('/')?;
        (CATEGORIES.contains(&category) && valid_name(name))
            .then(|| format!("{}/{category}/{name}", self.root))
    }

    async fn load(&mut self) -> Result<BTreeMap<String, Vec<u8>>, StoreError> {
        let client = self.client().await?;
        let mut keys = vec![FRAMEWORK_ID.to_owned()];
        for category in CATEGORIES {
            let children = client
                .list_children(&format!("{}/{category}", self.root))
                .await
                .map_err(zk)?;
            keys.extend(
                children
                    .into_iter()
                    .filter(|n| valid_name(n))
                    .map(|n| format!("{category}/{n}")),
            );
        }
        // Every read is sent before the first answer is awaited.
        let reads: Vec<_> = keys
            .iter()
            .filter_map(|k| self.path(k).map(|p| (k.clone(), p)))
            .map(|(k, p)| {
                let read = client.get_data(&p);
                (k, p, read)
            })
            .collect();
        let mut records = BTreeMap::new();
        self.known.clear();
        for (key, path, read) in reads {
            match read.await {
                Ok((data, _)) => {
                    records.insert(key, data);
                    self.known.insert(path);
                }
                Err(ZkError::NoNode) => {}
                Err(e) => return Err(zk(e)),
            }
        }
        Ok(records)
    }

    async fn apply(&mut self, writes: Vec<Write>) -> Result<(), StoreError> {
        let mut ops = Vec::with_capacity(writes.len());
        for w in writes {
            let Some(path) = self.path(&w.key) else {
                return Err(zk(format!("'{}' is not a key of the store", w.key)));
            };
            ops.push((path, w.data));
        }
        let client = self.client().await?;
        for chunk in chunks(&ops) {
            if let Err(e) = self.transaction(&client, chunk).await {
                let retry = matches!(
                    e,
                    MultiWriteError::OperationFailed {
                        source: ZkError::NodeExists | ZkError::NoNode,
                        ..
                    }
                );
                if !retry {
                    return Err(zk(e));
                }
                warn!("the state in ZooKeeper is not as last seen ({e}); checking and retrying");
                self.refresh(&client, chunk).await?;
                self.transaction(&client, chunk).await.map_err(zk)?;
            }
        }
        Ok(())
    }

    /// One transaction: a create or a set per put, a delete per delete of
    /// a znode that exists.
    async fn transaction(&mut self, client: &Client, ops: &[Op]) -> Result<(), MultiWriteError> {
        let options = CreateMode::Persistent.with_acls(self.url.acls());
        let mut exists = self.known.clone();
        let mut writer = client.new_multi_writer();
        let mut any = false;
        for (path, data) in ops {
            match data {
                Some(data) if exists.contains(path) => writer.add_set_data(path, data, None)?,
                Some(data) => {
                    writer.add_create(path, data, &options)?;
                    exists.insert(path.clone());
                }
                None if exists.remove(path) => writer.add_delete(path, None)?,
                None => continue,
            }
            any = true;
        }
        if any {
            writer.commit().await?;
        }
        self.known = exists;
        Ok(())
    }

    async fn refresh(&mut self, client: &Client, ops: &[Op]) -> Result<(), StoreError> {
        let checks: Vec<_> = ops
            .iter()
            .map(|(path, _)| (path.clone(), client.check_stat(path)))
            .collect();
        for (path, check) in checks {
            match check.await.map_err(zk)? {
                Some(_) => self.known.insert(path),
                None => self.known.remove(&path),
            };
        }
        Ok(())
    }
}

/// Consecutive runs of operations within a transaction's bounds.
fn chunks(ops: &[Op]) -> Vec<&[Op]> {
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (n, (path, data)) in ops.iter().enumerate() {
        let size = path.len() + data.as_ref().map_or(0, Vec::len);
        if n > start && (bytes + size > MAX_TRANSACTION_BYTES || n - start >= MAX_TRANSACTION_OPS) {
            out.push(&ops[start..n]);
            start = n;
            bytes = 0;
        }
        bytes += size;
    }
    if start < ops.len() {
        out.push(&ops[start..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_split_by_size_and_count() {
        let op = |n: usize| (format!("/p{n}"), Some(vec![0u8; 200 * 1024]));
        let ops: Vec<_> = (0..7).map(op).collect();
        let sizes: Vec<usize> = chunks(&ops).iter().map(|c| c.len()).collect();
        assert_eq!(sizes, [2, 2, 2, 1], "three of 200 KiB exceed 600 KiB");
        let small: Vec<_> = (0..1200).map(|n| (format!("/s{n}"), None)).collect();
        let sizes: Vec<usize> = chunks(&small).iter().map(|c| c.len()).collect();
        assert_eq!(sizes, [500, 500, 200]);
        assert!(chunks(&[]).is_empty());
    }
}
