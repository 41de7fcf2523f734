//! Master contenders (Mesos's `src/master/contender/zookeeper.cpp` on
//! `src/zookeeper/contender.cpp`, and the standalone contender).
//!
//! A [`MasterContender`] is configuration; [`MasterContender::contend`]
//! starts one candidacy and hands back its [`Candidacy`], which delivers
//! [`ContenderEvent`]s:
//!
//! - With ZooKeeper, the master joins the group as an ephemeral sequential
//!   znode `<path>/json.info_<10-digit sequence>` holding its MasterInfo
//!   JSON (see `entry.rs`), after creating `<path>` if missing. It is
//!   `Elected` once its member has the smallest sequence, and it has
//!   `LostCandidacy` when the session is lost (expired, or disconnected
//!   for the whole session timeout) or its znode disappears. Until the
//!   znode exists, failures are retried, with a new session if need be.
//! - Standalone (no `--zk`), the master is `Elected` at once and forever.
//!
//! A candidacy ends after `LostCandidacy`; to stand again, call `contend`
//! again. Dropping the [`Candidacy`] withdraws it: the session is closed
//! and ZooKeeper deletes the znode at once, so the next master is elected
//! without waiting for a session timeout.

use std::fmt;
use std::time::Duration;

use tokio::sync::mpsc;
use tracing::{info, info_span, warn, Instrument};
use wire::mesos::MasterInfo;
use zookeeper_client::{Client, CreateMode};

use super::entry::{master_info_json, MASTER_CAPABILITIES, MASTER_INFO_JSON_LABEL};
use super::group::{self, Member, Session, SessionLoss};
use super::url::{parse_zk_flag, UrlError, ZkUrl};
use super::{spawn, AbortOnDrop, Forwarding, ZkError};

/// What a candidacy reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContenderEvent {
    /// This master leads. Reported at most once per candidacy.
    Elected,
    /// The candidacy is over; nothing follows.
    LostCandidacy(LostReason),
}

/// Why a candidacy ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LostReason {
    /// The ZooKeeper session ended: see [`SessionLoss`].
    Session(SessionLoss),
    /// The member znode went away while the session lived (someone
    /// deleted it, or the group's znode).
    MembershipRemoved,
}

impl fmt::Display for LostReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LostReason::Session(loss) => loss.fmt(f),
            LostReason::MembershipRemoved => f.write_str("the group membership was removed"),
        }
    }
}

/// How a master stands for election.
#[derive(Debug, Clone)]
pub struct MasterContender {
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    Standalone,
    ZooKeeper {
        url: ZkUrl,
        session_timeout: Duration,
        capabilities: Vec<String>,
    },
}

impl MasterContender {
    /// No ZooKeeper: elected at once.
    pub fn standalone() -> MasterContender {
        MasterContender {
            kind: Kind::Standalone,
        }
    }

    /// Contends in the group at `url`, asking for `session_timeout`
    /// (`--zk_session_timeout`, 10 s by default), announcing Mesos 1.11's
    /// master capabilities.
    pub fn zookeeper(url: ZkUrl, session_timeout: Duration) -> MasterContender {
        MasterContender {
            kind: Kind::ZooKeeper {
                url,
                session_timeout,
                capabilities: MASTER_CAPABILITIES.iter().map(|c| c.to_string()).collect(),
            },
        }
    }

    /// From a master's `--zk` (`zk://...` or `file:///path`); standalone
    /// when the flag is absent.
    pub fn from_flag(
        zk: Option<&str>,
        session_timeout: Duration,
    ) -> Result<MasterContender, UrlError> {
        match zk {
            None => Ok(MasterContender::standalone()),
            Some(flag) => Ok(MasterContender::zookeeper(
                parse_zk_flag(flag)?,
                session_timeout,
            )),
        }
    }

    /// Replaces the capabilities written into the entry (the
    /// `capabilities` array of the MasterInfo JSON).
    pub fn with_capabilities(mut self, list: impl IntoIterator<Item = String>) -> Self {
        if let Kind::ZooKeeper { capabilities, .. } = &mut self.kind {
            *capabilities = list.into_iter().collect();
        }
        self
    }

    /// Starts a candidacy for the master `info`. Must be called inside a
    /// tokio runtime (a node's, an actix arbiter's): the candidacy's work
    /// runs there.
    pub fn contend(&self, info: &MasterInfo) -> Result<Candidacy, ZkError> {
        let (tx, rx) = mpsc::unbounded_channel();
        match &self.kind {
            Kind::Standalone => {
                let _ = tx.send(ContenderEvent::Elected);
                Ok(Candidacy {
                    events: rx,
                    _standalone: Some(tx),
                    _task: None,
                })
            }
            Kind::ZooKeeper {
                url,
                session_timeout,
                capabilities,
            } => {
                let data = master_info_json(info, capabilities);
                let span = info_span!("contender", group = %url, master = %info.pid);
                let task = spawn(run(url.clone(), *session_timeout, data, tx).instrument(span))?;
                Ok(Candidacy {
                    events: rx,
                    _standalone: None,
                    _task: Some(AbortOnDrop(task)),
                })
            }
        }
    }
}

/// One candidacy. Dropping it withdraws it.
pub struct Candidacy {
    events: mpsc::UnboundedReceiver<ContenderEvent>,
    /// Standalone: keeps the channel open so `next` waits forever after
    /// `Elected` rather than reporting an end.
    _standalone: Option<mpsc::UnboundedSender<ContenderEvent>>,
    /// ZooKeeper: the task holding the session; aborting it closes the
    /// session.
    _task: Option<AbortOnDrop>,
}

impl Candidacy {
    /// The next event; `None` once the candidacy is over and every event
    /// was taken.
    pub async fn next(&mut self) -> Option<ContenderEvent> {
        self.events.recv().await
    }

    /// The next event if one is waiting.
    pub fn try_next(&mut self) -> Option<ContenderEvent> {
        self.events.try_recv().ok()
    }

    /// Calls `f` with every event, on the current tokio runtime, until the
    /// candidacy is over. The candidacy now lives as long as the returned
    /// [`Forwarding`]: drop that to withdraw.
    pub fn forward(
        mut self,
        mut f: impl FnMut(ContenderEvent) + Send + 'static,
    ) -> Result<Forwarding, ZkError> {
        let task = spawn(async move {
            while let Some(event) = self.next().await {
                f(event);
            }
        })?;
        Ok(Forwarding::new(task))
    }
}

async fn run(
    url: ZkUrl,
    session_timeout: Duration,
    data: Vec<u8>,
    events: mpsc::UnboundedSender<ContenderEvent>,
) {
    let (mut session, member) = join(&url, session_timeout, &data).await;
    info!(member = %member, "joined the group");
    let reason = hold(&mut session, &url, &member, &events).await;
    warn!(member = %member, "lost candidacy: {reason}");
    let _ = events.send(ContenderEvent::LostCandidacy(reason));
    // Dropping the session closes it if it still lives, so a znode that
    // outlived its candidacy (membership declared lost while only
    // disconnected) goes as soon as ZooKeeper hears from us.
}

/// Creates the member, with as many sessions as it takes.
async fn join(url: &ZkUrl, session_timeout: Duration, data: &[u8]) -> (Session, String) {
    loop {
        let mut session = Session::open(url, session_timeout).await;
        match create_member(&mut session, url, data).await {
            Ok(name) => return (session, name),
            Err(loss) => warn!("{loss} before joining the group; starting a new session"),
        }
    }
}

async fn create_member(
    session: &mut Session,
    url: &ZkUrl,
    data: &[u8],
) -> Result<String, SessionLoss> {
    let prefix = url.child(&format!("{MASTER_INFO_JSON_LABEL}_"));
    let options = CreateMode::EphemeralSequential.with_acls(url.acls());
    // After a connection loss the create may have happened without us
    // hearing: look for our own member before creating another, or a
    // stray member of ours could lead with nobody holding it.
    let mut maybe_created = false;
    loop {
        let client = session.client().clone();
        if maybe_created {
            match own_member(&client, url).await {
                Ok(Some(name)) => return Ok(name),
                Ok(None) => {}
                Err(e) => {
                    session.recover(&e).await?;
                    continue;
                }
            }
        }
        let attempt = async {
            group::ensure_path(&client, url).await?;
            client.create(&prefix, data, &options).await
        };
        let created = tokio::select! {
            loss = session.lost() => return Err(loss),
            r = attempt => r,
        };
        match created {
            Ok((_, sequence)) => return Ok(format!("{MASTER_INFO_JSON_LABEL}_{sequence}")),
            Err(e) => {
                maybe_created |= e == zookeeper_client::Error::ConnectionLoss;
                session.recover(&e).await?;
            }
        }
    }
}

/// A `json.info_` member owned by this client's session, if any.
async fn own_member(
    client: &Client,
    url: &ZkUrl,
) -> Result<Option<String>, zookeeper_client::Error> {
    let owner = client.session_id().0;
    for name in client.list_children(url.path()).await? {
        let ours = Member::parse(&name)
            .is_some_and(|m| m.label.as_deref() == Some(MASTER_INFO_JSON_LABEL));
        if !ours {
            continue;
        }
        if let Some(stat) = client.check_stat(&url.child(&name)).await? {
            if stat.ephemeral_owner == owner {
                return Ok(Some(name));
            }
        }
    }
    Ok(None)
}

/// Watches the group until the candidacy ends; reports `Elected` once.
async fn hold(
    session: &mut Session,
    url: &ZkUrl,
    member: &str,
    events: &mpsc::UnboundedSender<ContenderEvent>,
) -> LostReason {
    let mut elected = false;
    loop {
        let client = session.client().clone();
        let listed = tokio::select! {
            loss = session.lost() => return LostReason::Session(loss),
            r = client.list_and_watch_children(url.path()) => r,
        };
        let (children, watcher) = match listed {
            Ok(listed) => listed,
            Err(zookeeper_client::Error::NoNode) => return LostReason::MembershipRemoved,
            Err(e) => match session.recover(&e).await {
                Ok(()) => continue,
                Err(loss) => return LostReason::Session(loss),
            },
        };
        if !children.iter().any(|c| c == member) {
            return LostReason::MembershipRemoved;
        }
        if !elected && group::leader(&children).is_some_and(|l| l.name == member) {
            elected = true;
            info!(member = %member, "elected leader");
            let _ = events.send(ContenderEvent::Elected);
        }
        tokio::select! {
            loss = session.lost() => return LostReason::Session(loss),
            _ = watcher.changed() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> MasterInfo {
        MasterInfo {
            id: "m".into(),
            ip: "127.0.0.1".into(),
            port: 5050,
            pid: "master@127.0.0.1:5050".into(),
            hostname: "localhost".into(),
            version: wire::mesos::VERSION.into(),
        }
    }

    #[tokio::test]
    async fn standalone_masters_are_elected_at_once_and_for_good() {
        let mut candidacy = MasterContender::standalone().contend(&info()).unwrap();
        assert_eq!(candidacy.next().await, Some(ContenderEvent::Elected));
        assert_eq!(candidacy.try_next(), None);
    }

    #[test]
    fn zookeeper_candidacies_need_a_runtime() {
        let url = ZkUrl::parse("zk://127.0.0.1:2181/mesos").unwrap();
        let contender = MasterContender::zookeeper(url, Duration::from_secs(10));
        assert!(matches!(
            contender.contend(&info()),
            Err(ZkError::NoRuntime)
        ));
    }

    #[test]
    fn the_zk_flag_picks_the_kind() {
        let standalone = MasterContender::from_flag(None, Duration::from_secs(10)).unwrap();
        assert!(matches!(standalone.kind, Kind::Standalone));
        let zk = MasterContender::from_flag(Some("zk://h:1/m"), Duration::from_secs(10)).unwrap();
        assert!(
            matches!(zk.kind, Kind::ZooKeeper { ref capabilities, .. } if capabilities.len() == 3)
        );
        assert!(MasterContender::from_flag(Some("h:1"), Duration::from_secs(10)).is_err());
    }
}
