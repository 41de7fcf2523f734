//! Master detectors (Mesos's `src/master/detector/zookeeper.cpp` on
//! `src/zookeeper/detector.cpp`, and `StandaloneMasterDetector`).
//!
//! A [`MasterDetector`] always knows the current leader as an
//! `Option<MasterInfo>` and tells every change, whichever kind it is:
//!
//! - ZooKeeper: a task lists the group with a watch, reads the entry of
//!   the member with the smallest sequence (`json.info` JSON, or a legacy
//!   member's plain pid), publishes it, and lists again on every change.
//!   While disconnected it keeps the last leader; once the session is lost
//!   (expired, or disconnected for the whole session timeout) the leader
//!   becomes `None` and a new session is opened.
//! - Standalone (`--master=host:port` or `master@host:port`): that master,
//!   always.
//!
//! Changes are published on a tokio `watch` channel: a reader sees the
//! latest value, and a burst of changes between two reads shows as the last
//! one, as Mesos's `detect(previous)` returns only the current leader.

use std::time::Duration;

use tokio::sync::watch;
use tracing::{info, info_span, warn, Instrument};
use wire::mesos::MasterInfo;

use super::entry::{master_info_of, parse_entry};
use super::group::{self, Session, SessionLoss};
use super::url::{MasterAddress, ZkUrl};
use super::{spawn, AbortOnDrop, Forwarding, ZkError};

/// The message a detector's reports become for the process that follows
/// it: the master (to notice another leader), the agent and the scheduler
/// driver (to (re-)register with `leader`). `None`: no leader is known.
#[derive(Debug, Clone, PartialEq)]
pub struct LeaderDetected {
    pub leader: Option<MasterInfo>,
}

/// Where the leading master is, now and on every change.
pub struct MasterDetector {
    leader: watch::Receiver<Option<MasterInfo>>,
    /// Keeps the publishing side alive as long as the detector.
    _source: Source,
}

enum Source {
    Standalone {
        _sender: watch::Sender<Option<MasterInfo>>,
    },
    ZooKeeper {
        _task: AbortOnDrop,
    },
}

/// The detector an agent's or scheduler's `--master` names (`zk://...`,
/// `file:///path`, `host:port`, `master@host:port`). ZooKeeper detectors
/// ask for `session_timeout` (`--zk_session_timeout`, 10 s by default) and
/// must be created inside a tokio runtime.
pub fn detector_for(
    master_flag: &str,
    session_timeout: Duration,
) -> Result<MasterDetector, ZkError> {
    match MasterAddress::parse(master_flag)? {
        MasterAddress::ZooKeeper(url) => MasterDetector::zookeeper(url, session_timeout),
        MasterAddress::Standalone(address) => {
            let pid = crate::daemon::resolve_pid(&address, "master")
                .map_err(|reason| ZkError::Resolve { address, reason })?;
            Ok(MasterDetector::standalone(master_info_of(&pid)))
        }
    }
}

impl MasterDetector {
    /// A fixed leader.
    pub fn standalone(leader: MasterInfo) -> MasterDetector {
        let (tx, rx) = watch::channel(Some(leader));
        MasterDetector {
            leader: rx,
            _source: Source::Standalone { _sender: tx },
        }
    }

    /// Follows the group at `url`. Must be called inside a tokio runtime:
    /// the detector's work runs there until the detector is dropped.
    pub fn zookeeper(url: ZkUrl, session_timeout: Duration) -> Result<MasterDetector, ZkError> {
        let (tx, rx) = watch::channel(None);
        let span = info_span!("detector", group = %url);
        let task = spawn(run(url, session_timeout, tx).instrument(span))?;
        Ok(MasterDetector {
            leader: rx,
            _source: Source::ZooKeeper {
                _task: AbortOnDrop(task),
            },
        })
    }

    /// The leader as last detected.
    pub fn leader(&self) -> Option<MasterInfo> {
        self.leader.borrow().clone()
    }

    /// A receiver of the leader and its changes.
    pub fn subscribe(&self) -> watch::Receiver<Option<MasterInfo>> {
        self.leader.clone()
    }

    /// Mesos's `detect(previous)`: the leader once it differs from
    /// `previous`.
    pub async fn detect(&self, previous: Option<&MasterInfo>) -> Option<MasterInfo> {
        let mut rx = self.leader.clone();
        loop {
            {
                let current = rx.borrow_and_update();
                if current.as_ref() != previous {
                    return current.clone();
                }
            }
            if rx.changed().await.is_err() {
                // The detector is going away; what it knew last stands.
                return rx.borrow().clone();
            }
        }
    }

    /// As [`MasterDetector::forward`], keeping the detector alive for as
    /// long as the returned [`Forwarding`]: what a daemon wants, which only
    /// cares about the changes.
    pub fn follow(
        self,
        mut f: impl FnMut(Option<MasterInfo>) + Send + 'static,
    ) -> Result<Forwarding, ZkError> {
        let mut rx = self.leader.clone();
        let task = spawn(async move {
            let _detector = self;
            loop {
                let leader = rx.borrow_and_update().clone();
                f(leader);
                if rx.changed().await.is_err() {
                    return;
                }
            }
        })?;
        Ok(Forwarding::new(task))
    }

    /// Calls `f` with the current leader and then with every change, on
    /// the current tokio runtime, until the detector or the returned
    /// [`Forwarding`] is dropped.
    pub fn forward(
        &self,
        mut f: impl FnMut(Option<MasterInfo>) + Send + 'static,
    ) -> Result<Forwarding, ZkError> {
        let mut rx = self.leader.clone();
        let task = spawn(async move {
            loop {
                let leader = rx.borrow_and_update().clone();
                f(leader);
                if rx.changed().await.is_err() {
                    return;
                }
            }
        })?;
        Ok(Forwarding::new(task))
    }
}

async fn run(url: ZkUrl, session_timeout: Duration, leader: watch::Sender<Option<MasterInfo>>) {
    loop {
        let mut session = Session::open(&url, session_timeout).await;
        if let Err(e) = group::ensure_path(session.client(), &url).await {
            // Only contenders need it; reading copes with its absence.
            warn!(error = %e, "cannot create the group's znode");
        }
        let loss = follow(&mut session, &url, &leader).await;
        warn!("{loss}; the leader is unknown until a new session reads the group");
        publish(&leader, None);
    }
}

/// Publishes the group's leader on every change until the session is lost.
async fn follow(
    session: &mut Session,
    url: &ZkUrl,
    leader: &watch::Sender<Option<MasterInfo>>,
) -> SessionLoss {
    loop {
        let client = session.client().clone();
        let listed = tokio::select! {
            loss = session.lost() => return loss,
            r = client.list_and_watch_children(url.path()) => r,
        };
        let (children, watcher) = match listed {
            Ok(listed) => listed,
            Err(zookeeper_client::Error::NoNode) => {
                // No group at all: no leader until the znode appears.
                publish(leader, None);
                let watched = tokio::select! {
                    loss = session.lost() => return loss,
                    r = client.check_and_watch_stat(url.path()) => r,
                };
                match watched {
                    Ok((Some(_), _)) => {}
                    Ok((None, watcher)) => tokio::select! {
                        loss = session.lost() => return loss,
                        _ = watcher.changed() => {}
                    },
                    Err(e) => {
                        if let Err(loss) = session.recover(&e).await {
                            return loss;
                        }
                    }
                }
                continue;
            }
            Err(e) => match session.recover(&e).await {
                Ok(()) => continue,
                Err(loss) => return loss,
            },
        };
        let current = match group::leader(&children) {
            None => None,
            Some(member) => {
                let read = tokio::select! {
                    loss = session.lost() => return loss,
                    r = client.get_data(&url.child(&member.name)) => r,
                };
                match read {
                    Ok((data, _)) => {
                        match parse_entry(&member.name, member.label.as_deref(), &data) {
                            Ok(info) => Some(info),
                            Err(e) => {
                                warn!("cannot read the leader's entry ({e}); reporting no leader");
                                None
                            }
                        }
                    }
                    // It left between the listing and the read: list again.
                    Err(zookeeper_client::Error::NoNode) => continue,
                    Err(e) => match session.recover(&e).await {
                        Ok(()) => continue,
                        Err(loss) => return loss,
                    },
                }
            }
        };
        publish(leader, current);
        tokio::select! {
            loss = session.lost() => return loss,
            _ = watcher.changed() => {}
        }
    }
}

fn publish(leader: &watch::Sender<Option<MasterInfo>>, current: Option<MasterInfo>) {
    leader.send_if_modified(|known| {
        if *known == current {
            return false;
        }
        match &current {
            Some(info) => info!(leader = %info.pid, id = %info.id, "detected a new leader"),
            None => info!("no leading master"),
        }
        *known = current;
        true
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standalone_flags_name_a_fixed_leader() {
        for flag in [
            "127.0.0.1:5050",
            "master@127.0.0.1:5050",
            " 127.0.0.1:5050\n",
        ] {
            let detector = detector_for(flag, Duration::from_secs(10)).unwrap();
            let leader = detector.leader().unwrap();
            assert_eq!(
                (leader.pid.as_str(), leader.ip.as_str(), leader.port),
                ("master@127.0.0.1:5050", "127.0.0.1", 5050),
                "{flag}"
            );
        }
        let named = detector_for("localhost:5050", Duration::from_secs(10)).unwrap();
        assert_eq!(named.leader().unwrap().pid, "master@127.0.0.1:5050");
        assert!(matches!(
            detector_for("nowhere.invalid:5050", Duration::from_secs(10)),
            Err(ZkError::Resolve { .. })
        ));
        assert!(matches!(
            detector_for("5050", Duration::from_secs(10)),
            Err(ZkError::Url(_))
        ));
    }

    #[test]
    fn zookeeper_detectors_need_a_runtime() {
        let url = ZkUrl::parse("zk://127.0.0.1:2181/mesos").unwrap();
        assert!(matches!(
            MasterDetector::zookeeper(url, Duration::from_secs(10)),
            Err(ZkError::NoRuntime)
        ));
    }

    #[tokio::test]
    async fn detect_waits_for_a_different_leader() {
        let (tx, rx) = watch::channel(None);
        let detector = MasterDetector {
            leader: rx,
            _source: Source::Standalone {
                _sender: tx.clone(),
            },
        };
        assert_eq!(detector.detect(Some(&info(1))).await, None);
        let later = tokio::spawn(async move {
            tokio::task::yield_now().await;
            tx.send_replace(Some(info(1)));
            tx.send_replace(Some(info(2)));
        });
        let detected = detector.detect(None).await;
        assert!(detected.is_some());
        later.await.unwrap();
        assert_eq!(detector.detect(Some(&info(1))).await, Some(info(2)));
    }

    fn info(n: u16) -> MasterInfo {
        let pid: actors::Pid = format!("master@127.0.0.1:{}", 5050 + n).parse().unwrap();
        master_info_of(&pid)
    }
}
