//! The ZooKeeper group both the contender and the detector stand on
//! (Mesos's `src/zookeeper/group.cpp`): a session that is declared lost the
//! way Mesos declares it, the group's znode, and who its members are.
//!
//! - Members are the children named `<label>_<sequence>` (the label may
//!   hold `_`) or, from old Mesos, `<sequence>` alone. Anything else, such
//!   as the replicated log's `log_replicas`, is not a member.
//! - The leader is the member with the smallest sequence, whatever its
//!   label: the oldest.
//! - A session is lost when ZooKeeper expires it, or when it has been
//!   disconnected for the whole negotiated session timeout. The second is
//!   Mesos's rule: a client cut off from ZooKeeper cannot hear that its
//!   session expired, and after that long the rest of the cluster may
//!   already have moved on.

use std::fmt;
use std::time::Duration;

use tokio::time::Instant;
use tracing::{info, warn};
use zookeeper_client::{Client, CreateMode, SessionState, StateWatcher};

use super::url::ZkUrl;

/// A member of the group, parsed from its znode name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub name: String,
    /// `None` for a legacy member named by its sequence alone.
    pub label: Option<String>,
    pub sequence: u64,
}

impl Member {
    /// `None` when `name` is not a member (see the module docs).
    pub fn parse(name: &str) -> Option<Member> {
        let (label, digits) = match name.rsplit_once('_') {
            Some((label, digits)) if !label.is_empty() => (Some(label), digits),
            Some(_) => return None,
            None => (None, name),
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(Member {
            name: name.to_owned(),
            label: label.map(str::to_owned),
            sequence: digits.parse().ok()?,
        })
    }
}

/// The member with the smallest sequence among `children`.
pub fn leader(children: &[String]) -> Option<Member> {
    children
        .iter()
        .filter_map(|c| Member::parse(c))
        .min_by(|a, b| (a.sequence, &a.name).cmp(&(b.sequence, &b.name)))
}

/// How a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionLoss {
    /// ZooKeeper said the session expired.
    Expired,
    /// Disconnected for the whole session timeout; declared expired here.
    Disconnected(Duration),
    /// The client closed, or ZooKeeper refused its credentials.
    Closed,
}

impl fmt::Display for SessionLoss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionLoss::Expired => f.write_str("the ZooKeeper session expired"),
            SessionLoss::Disconnected(t) => write!(
                f,
                "disconnected from ZooKeeper for the whole session timeout ({}ms)",
                t.as_millis()
            ),
            SessionLoss::Closed => f.write_str("the ZooKeeper session was closed"),
        }
    }
}

/// One ZooKeeper session and what is known of its state.
pub struct Session {
    client: Client,
    state: StateWatcher,
    /// The negotiated timeout: how long a disconnection may last.
    timeout: Duration,
    /// When the current disconnection was first seen; `None` while
    /// connected.
    disconnected_since: Option<Instant>,
}

const FIRST_RETRY: Duration = Duration::from_millis(100);
const LAST_RETRY: Duration = Duration::from_secs(2);

impl Session {
    /// Connects, retrying until ZooKeeper answers. Asks for
    /// `session_timeout`; the server may grant another.
    pub async fn open(url: &ZkUrl, session_timeout: Duration) -> Session {
        let mut delay = FIRST_RETRY;
        loop {
            let mut connector = Client::connector().with_session_timeout(session_timeout);
            if let Some(credentials) = url.credentials() {
                connector = connector.with_auth("digest", &credentials.digest());
            }
            match connector.connect(url.servers()).await {
                Ok(client) => {
                    let timeout = client.session_timeout();
                    info!(
                        session = %client.session_id(),
                        timeout_ms = timeout.as_millis() as u64,
                        "connected to ZooKeeper"
                    );
                    return Session {
                        state: client.state_watcher(),
                        client,
                        timeout,
                        disconnected_since: None,
                    };
                }
                Err(e) => {
                    warn!(servers = url.servers(), error = %e,
                        "cannot reach ZooKeeper; retrying in {}ms", delay.as_millis());
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(LAST_RETRY);
                }
            }
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Resolves when the session is lost; pending while it lives. Safe to
    /// cancel and call again.
    pub async fn lost(&mut self) -> SessionLoss {
        loop {
            if let Err(loss) = self.wait(false).await {
                return loss;
            }
        }
    }

    /// Resolves once connected, or with the loss if the session is lost
    /// first.
    pub async fn connected(&mut self) -> Result<(), SessionLoss> {
        self.wait(true).await
    }

    /// After an operation failed with `error`: waits out a disconnection,
    /// or pauses a little before the caller retries, unless the session
    /// is lost meanwhile.
    pub async fn recover(&mut self, error: &zookeeper_client::Error) -> Result<(), SessionLoss> {
        use zookeeper_client::Error as E;
        match error {
            E::ConnectionLoss | E::SessionExpired | E::ClientClosed | E::AuthFailed => {
                self.connected().await?;
                // The failure may be seen before the state changes; never
                // spin on it.
                tokio::time::sleep(Duration::from_millis(50)).await;
                Ok(())
            }
            other => {
                warn!(error = %other, "ZooKeeper operation failed; retrying");
                tokio::select! {
                    loss = self.lost() => Err(loss),
                    _ = tokio::time::sleep(LAST_RETRY) => Ok(()),
                }
            }
        }
    }

    /// Follows state changes until connected (when `until_connected`) or
    /// the session is lost.
    async fn wait(&mut self, until_connected: bool) -> Result<(), SessionLoss> {
        loop {
            match self.state.state() {
                SessionState::Expired => return Err(SessionLoss::Expired),
                SessionState::Closed | SessionState::AuthFailed => return Err(SessionLoss::Closed),
                SessionState::Disconnected => {
                    self.disconnected_since.get_or_insert_with(Instant::now);
                }
                SessionState::SyncConnected | SessionState::ConnectedReadOnly => {
                    self.disconnected_since = None;
                    if until_connected {
                        return Ok(());
                    }
                }
            }
            match self.disconnected_since {
                Some(since) => {
                    tokio::select! {
                        _ = tokio::time::sleep_until(since + self.timeout) => {
                            return Err(SessionLoss::Disconnected(self.timeout));
                        }
                        _ = self.state.changed() => {}
                    }
                }
                None => {
                    self.state.changed().await;
                }
            }
        }
    }
}

/// Creates the group's znode and its parents, empty, when missing (as
/// Mesos's group does on connecting).
pub async fn ensure_path(client: &Client, url: &ZkUrl) -> Result<(), zookeeper_client::Error> {
    if url.path() == "/" {
        return Ok(());
    }
    // Usually there already: a read needs no create permission.
    if client.check_stat(url.path()).await?.is_some() {
        return Ok(());
    }
    client
        .mkdir(url.path(), &CreateMode::Persistent.with_acls(url.acls()))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_names_parse() {
        // (name, (label, sequence) when a member)
        type Case = (&'static str, Option<(Option<&'static str>, u64)>);
        let cases: &[Case] = &[
            ("json.info_0000000000", Some((Some("json.info"), 0))),
            ("json.info_0000000012", Some((Some("json.info"), 12))),
            ("info_0000000003", Some((Some("info"), 3))),
            ("a_b_0000000004", Some((Some("a_b"), 4))),
            ("0000000005", Some((None, 5))),
            (
                "json.info_0000000000000000006",
                Some((Some("json.info"), 6)),
            ),
            ("log_replicas", None),
            ("json.info_", None),
            ("json.info_x1", None),
            ("json.info_+1", None),
            ("_0000000001", None),
            ("", None),
            ("zookeeper", None),
            ("json.info_99999999999999999999999", None),
        ];
        for (name, expected) in cases {
            let got = Member::parse(name).map(|m| (m.label, m.sequence));
            let expected = expected.map(|(l, s)| (l.map(str::to_owned), s));
            assert_eq!(got, expected, "{name}");
        }
    }

    #[test]
    fn the_smallest_sequence_leads_whatever_its_label() {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let lead = |v: &[&str]| leader(&names(v)).map(|m| m.name);
        assert_eq!(
            lead(&[
                "json.info_0000000002",
                "log_replicas",
                "json.info_0000000001"
            ]),
            Some("json.info_0000000001".into())
        );
        assert_eq!(
            lead(&["json.info_0000000002", "0000000001"]),
            Some("0000000001".into())
        );
        assert_eq!(lead(&["log_replicas", "zookeeper"]), None);
        assert_eq!(lead(&[]), None);
    }
}
