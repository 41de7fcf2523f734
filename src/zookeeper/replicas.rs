//! The replicated log's replicas found through ZooKeeper (Mesos's log
//! network over the group `<path>/log_replicas`): each master's replica
//! joins as an ephemeral sequential znode holding its pid, and every member
//! sees the current set. A leader builds its log from the replicas alive
//! when it is elected.

use std::time::Duration;

use tokio::sync::watch;
use tracing::{info, warn};
use zookeeper_client::CreateMode;

use super::group::{self, Session};
use super::{spawn, url::ZkUrl, AbortOnDrop, ZkError};

/// The group's child holding the replicas, as Mesos names it.
pub const LOG_REPLICAS: &str = "log_replicas";

/// This node's membership, and the members' pids as last read.
pub struct ReplicaGroup {
    members: watch::Receiver<Vec<String>>,
    _task: AbortOnDrop,
}

impl ReplicaGroup {
    /// Joins `<url path>/log_replicas` with `pid` (a replica's pid) and
    /// follows the members until dropped. Must run inside a tokio runtime.
    pub fn join(
        url: &ZkUrl,
        session_timeout: Duration,
        pid: String,
    ) -> Result<ReplicaGroup, ZkError> {
        let (tx, rx) = watch::channel(Vec::new());
        let group = url.join(LOG_REPLICAS);
        let task = spawn(run(group, session_timeout, pid, tx))?;
        Ok(ReplicaGroup {
            members: rx,
            _task: AbortOnDrop(task),
        })
    }

    /// The replicas' pids as last read.
    pub fn members(&self) -> Vec<String> {
        self.members.borrow().clone()
    }

    /// Resolves when the members differ from `seen`.
    pub async fn changed_from(&self, seen: &[String]) {
        let mut rx = self.members.clone();
        loop {
            if rx.borrow_and_update().as_slice() != seen {
                return;
            }
            if rx.changed().await.is_err() {
                // The group is gone: nothing will change any more.
                std::future::pending::<()>().await;
            }
        }
    }

    /// Waits until at least `n` replicas are members, or `timeout` passes;
    /// returns the members then.
    pub async fn at_least(&self, n: usize, timeout: Duration) -> Vec<String> {
        let mut rx = self.members.clone();
        let wait = async {
            loop {
                if rx.borrow_and_update().len() >= n {
                    return;
                }
                if rx.changed().await.is_err() {
                    return;
                }
            }
        };
        let _ = tokio::time::timeout(timeout, wait).await;
        self.members()
    }
}

async fn run(
    url: ZkUrl,
    session_timeout: Duration,
    pid: String,
    members: watch::Sender<Vec<String>>,
) {
    loop {
        let mut session = Session::open(&url, session_timeout).await;
        let client = session.client().clone();
        let created = async {
            group::ensure_path(&client, &url).await?;
            let options = CreateMode::EphemeralSequential.with_acls(url.acls());
            client
                .create(&url.child(""), pid.as_bytes(), &options)
                .await
        };
        match created.await {
            Ok((_, sequence)) => info!(%pid, member = %sequence, "joined the log replicas"),
            Err(e) => {
                warn!(error = %e, "cannot join the log replicas; trying a new session");
                continue;
            }
        }
        loop {
            let client = session.client().clone();
            let listed = tokio::select! {
                _ = session.lost() => break,
                r = client.list_and_watch_children(url.path()) => r,
            };
            let Ok((children, watcher)) = listed else {
                break;
            };
            let mut pids = Vec::new();
            for child in children {
                if let Ok((data, _)) = client.get_data(&url.child(&child)).await {
                    if let Ok(text) = String::from_utf8(data) {
                        pids.push(text);
                    }
                }
            }
            pids.sort();
            members.send_replace(pids);
            tokio::select! {
                _ = session.lost() => break,
                _ = watcher.changed() => {}
            }
        }
        warn!("lost the ZooKeeper session of the log replicas; joining again");
        members.send_replace(Vec::new());
    }
}
