//! Leader election among `marathon` instances sharing a `--zk`, in
//! Marathon 1.10's layout (Curator's LeaderLatch): under
//! `<zk path>/leader-curator` each instance holds an ephemeral sequential
//! znode `_c_<uuid>-latch-<10 digits>` whose data is its `host:port`; the
//! lowest sequence leads.
//!
//! A [`Contest`] runs as a task and reports a [`Standing`] on every change:
//! whether this instance leads, and who does. A lost session (expired, or
//! disconnected for the whole session timeout) reports "not leading, no
//! leader known" at once, before a new session joins again; the leader
//! must stop acting then, as another may already lead. [`Contest::abdicate`]
//! deletes this instance's znode (the next in line leads) and joins again
//! at the end of the line.

use std::time::Duration;

use tokio::sync::mpsc;
use tracing::{info, warn, Instrument};
use zookeeper_client::{Client, CreateMode};

use crate::zookeeper::group::Session;
use crate::zookeeper::ZkUrl;

/// The election's znode under the `--zk` path.
pub const LEADER_DIR: &str = "leader-curator";
/// What precedes the sequence in a member's name (Curator's lock name).
const LATCH: &str = "-latch-";

/// Where this instance stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    pub leading: bool,
    /// The leader's `host:port`, when known.
    pub leader: Option<String>,
}

/// The sequence of a member of the election, from its name.
pub fn sequence(name: &str) -> Option<u64> {
    let (_, digits) = name.rsplit_once(LATCH)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The member that leads among `children`: the lowest sequence.
pub fn leading_member(children: &[String]) -> Option<&str> {
    children
        .iter()
        .filter_map(|c| sequence(c).map(|s| (s, c.as_str())))
        .min()
        .map(|(_, c)| c)
}

/// A running candidacy; dropping it withdraws it (the session closes and
/// its znode goes).
pub struct Contest {
    commands: mpsc::UnboundedSender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Contest {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Contest {
    /// Joins the election at `url` (the `--zk` path) as `me` (`host:port`),
    /// calling `report` with each new standing. Must be called inside a
    /// tokio runtime.
    pub fn join(
        url: &ZkUrl,
        session_timeout: Duration,
        me: String,
        report: impl FnMut(Standing) + Send + 'static,
    ) -> Result<Contest, String> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| "leader election needs a tokio runtime".to_owned())?;
        let (commands, rx) = mpsc::unbounded_channel();
        let election = Election {
            url: url.join(LEADER_DIR),
            session_timeout,
            me,
            report: Box::new(report),
            last: None,
        };
        let span = tracing::info_span!("leader_election", dir = %election.url);
        let task = runtime.spawn(election.run(rx).instrument(span));
        Ok(Contest { commands, task })
    }

    /// Steps down (if leading) and joins again behind the others.
    pub fn abdicate(&self) {
        let _ = self.commands.send(());
    }
}

struct Election {
    /// `<zk path>/leader-curator`.
    url: ZkUrl,
    session_timeout: Duration,
    me: String,
    report: Box<dyn FnMut(Standing) + Send>,
    /// What was last reported, so that only changes are.
    last: Option<Standing>,
}

/// Why a membership ended.
enum Ended {
    Abdicated,
    /// The znode went (deleted by someone else).
    Removed,
    SessionLost(String),
}

impl Election {
    fn tell(&mut self, standing: Standing) {
        if self.last.as_ref() != Some(&standing) {
            self.last = Some(standing.clone());
            (self.report)(standing);
        }
    }

    async fn run(mut self, mut commands: mpsc::UnboundedReceiver<()>) {
        loop {
            let mut session = Session::open(&self.url, self.session_timeout).await;
            loop {
                match self.membership(&mut session, &mut commands).await {
                    Ended::Abdicated => {
                        info!("abdicated; joining the election again");
                        self.tell(Standing {
                            leading: false,
                            leader: None,
                        });
                    }
                    Ended::Removed => {
                        warn!("our election znode is gone; joining again");
                        self.tell(Standing {
                            leading: false,
                            leader: None,
                        });
                    }
                    Ended::SessionLost(reason) => {
                        warn!("lost leadership candidacy: {reason}");
                        self.tell(Standing {
                            leading: false,
                            leader: None,
                        });
                        break;
                    }
                }
            }
        }
    }

    /// One znode's life: created, watched until it ends.
    async fn membership(
        &mut self,
        session: &mut Session,
        commands: &mut mpsc::UnboundedReceiver<()>,
    ) -> Ended {
        let name = match self.create(session).await {
            Ok(name) => name,
            Err(reason) => return Ended::SessionLost(reason),
        };
        info!(member = %name, "joined the leader election");
        let path = self.url.child(&name);
        loop {
            let client = session.client().clone();
            let listed = tokio::select! {
                loss = session.lost() => return Ended::SessionLost(loss.to_string()),
                r = client.list_and_watch_children(self.url.path()) => r,
            };
            let (children, watcher) = match listed {
                Ok(listed) => listed,
                Err(zookeeper_client::Error::NoNode) => return Ended::Removed,
                Err(e) => match session.recover(&e).await {
                    Ok(()) => continue,
                    Err(loss) => return Ended::SessionLost(loss.to_string()),
                },
            };
            if !children.contains(&name) {
                return Ended::Removed;
            }
            let Some(first) = leading_member(&children).map(str::to_owned) else {
                return Ended::Removed;
            };
            let standing = if first == name {
                Standing {
                    leading: true,
                    leader: Some(self.me.clone()),
                }
            } else {
                match client.get_data(&self.url.child(&first)).await {
                    Ok((data, _)) => Standing {
                        leading: false,
                        leader: String::from_utf8(data).ok().filter(|d| !d.is_empty()),
                    },
                    // Gone meanwhile: the watch fires, look again.
                    Err(zookeeper_client::Error::NoNode) => continue,
                    Err(e) => match session.recover(&e).await {
                        Ok(()) => continue,
                        Err(loss) => return Ended::SessionLost(loss.to_string()),
                    },
                }
            };
            if standing.leading && self.last.as_ref().is_none_or(|s| !s.leading) {
                info!(member = %name, "elected leader");
            }
            self.tell(standing);
            tokio::select! {
                loss = session.lost() => return Ended::SessionLost(loss.to_string()),
                _ = watcher.changed() => {}
                command = commands.recv() => {
                    if command.is_none() {
                        // The contest was dropped; the task ends with it.
                        std::future::pending::<()>().await;
                    }
                    // Stop acting as leader before the next one starts.
                    self.tell(Standing { leading: false, leader: None });
                    if let Err(e) = client.delete(&path, None).await {
                        warn!(member = %name, error = %e, "could not delete our election znode");
                    }
                    return Ended::Abdicated;
                }
            }
        }
    }

    /// Creates this instance's znode (and the election's, if missing).
    async fn create(&mut self, session: &mut Session) -> Result<String, String> {
        let prefix = self
            .url
            .child(&format!("_c_{}{LATCH}", crate::random::uuid_v4_string()));
        let options = CreateMode::EphemeralSequential.with_acls(self.url.acls());
        loop {
            let client = session.client().clone();
            let attempt = async {
                crate::zookeeper::group::ensure_path(&client, &self.url).await?;
                client.create(&prefix, self.me.as_bytes(), &options).await
            };
            let created = tokio::select! {
                loss = session.lost() => return Err(loss.to_string()),
                r = attempt => r,
            };
            match created {
                Ok((_, sequence)) => {
                    let base = prefix.rsplit('/').next().unwrap_or_default();
                    return Ok(format!("{base}{sequence}"));
                }
                Err(e) => {
                    if e == zookeeper_client::Error::ConnectionLoss {
                        // It may exist without our hearing: ours has our
                        // uuid, so look for it before making another.
                        if let Ok(Some(name)) = own_member(&client, &self.url, &prefix).await {
                            return Ok(name);
                        }
                    }
                    session.recover(&e).await.map_err(|l| l.to_string())?;
                }
            }
        }
    }
}

async fn own_member(
    client: &Client,
    url: &ZkUrl,
    prefix: &str,
) -> Result<Option<String>, zookeeper_client::Error> {
    let base = prefix.rsplit('/').next().unwrap_or_default();
    Ok(client
        .list_children(url.path())
        .await?
        .into_iter()
        .find(|c| c.starts_with(base)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lowest_latch_sequence_leads() {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let children = names(&[
            "_c_b1d2-latch-0000000003",
            "_c_a0f1-latch-0000000001",
            "member_0000000000",
            "_c_ffff-latch-",
            "_c_e-latch-12x",
        ]);
        assert_eq!(leading_member(&children), Some("_c_a0f1-latch-0000000001"));
        assert_eq!(sequence("_c_9-latch-0000000042"), Some(42));
        assert_eq!(sequence("latch-1"), None);
        assert_eq!(leading_member(&names(&["zookeeper"])), None);
    }
}
