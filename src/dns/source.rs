//! Where records come from: the leading master (detected through `zk`, or
//! the first of `masters` that answers), one `SUBSCRIBE` to its operator
//! API whose events are applied as they arrive, and its `/master/state`
//! every `refreshSeconds` as a consistency check (or as the only source
//! when the master has no event stream). A broken stream or a new leader
//! means a new subscription; the record set in place keeps being served
//! meanwhile, so there is no gap.
//!
//! Record sets are built on a thread of their own from snapshots of the
//! cluster, the newest first: a rebuild (hundreds of milliseconds at
//! 100,000 tasks) neither holds up the event stream nor the DNS answers,
//! and events that arrive during one are built together in the next.

use std::net::{IpAddr, UdpSocket};
use std::sync::atomic::Ordering;
use std::sync::{mpsc as std_mpsc, Arc};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::{Buf, Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tracing::{debug, info, warn};
use wire::mesos::MasterInfo;

use super::records::{self, Inputs};
use super::state::{Applied, Cluster};
use super::Shared;
use crate::zookeeper::{MasterDetector, ZkUrl, DEFAULT_SESSION_TIMEOUT};

/// How a master could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot reach {address}: {reason}")]
    Connect { address: String, reason: String },
    #[error("{address} answered {status}")]
    Status { address: String, status: StatusCode },
    #[error("{address}: {reason}")]
    Body { address: String, reason: String },
    #[error("no leading master detected through ZooKeeper within {0} seconds")]
    NoLeader(u64),
    #[error(transparent)]
    ZooKeeper(#[from] crate::zookeeper::ZkError),
    #[error("cannot start the thread that builds records: {0}")]
    Builder(std::io::Error),
}

/// A stream without a record for this long is taken for broken.
const STREAM_SILENCE: Duration = Duration::from_secs(30);
/// The pause between two attempts at a master.
const RETRY: Duration = Duration::from_millis(100);
/// The biggest RecordIO record taken.
const MAX_RECORD: usize = 256 * 1024 * 1024;

async fn send(
    address: &str,
    request: Request<Full<Bytes>>,
) -> Result<Response<Incoming>, SourceError> {
    let fail = |reason: String| SourceError::Connect {
        address: address.to_string(),
        reason,
    };
    let stream = TcpStream::connect(address)
        .await
        .map_err(|e| fail(e.to_string()))?;
    let _ = stream.set_nodelay(true);
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| fail(e.to_string()))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    sender
        .send_request(request)
        .await
        .map_err(|e| fail(e.to_string()))
}

fn request(
    method: hyper::Method,
    address: &str,
    path: &str,
    body: &'static str,
) -> Request<Full<Bytes>> {
    let mut r = Request::new(Full::new(Bytes::from_static(body.as_bytes())));
    *r.method_mut() = method;
    *r.uri_mut() = path.parse().unwrap_or_default();
    let headers = r.headers_mut();
    for (name, value) in [
        (hyper::header::HOST, address),
        (hyper::header::CONTENT_TYPE, "application/json"),
        (hyper::header::ACCEPT, "application/json"),
        (hyper::header::USER_AGENT, "Mesos-DNS"),
    ] {
        if let Ok(v) = hyper::header::HeaderValue::from_str(value) {
            headers.insert(name, v);
        }
    }
    r
}

/// The `host:port` a redirect's `Location` (`//host:port/api/v1`) names.
fn redirect_target(response: &Response<Incoming>) -> Option<String> {
    let location = response
        .headers()
        .get(hyper::header::LOCATION)?
        .to_str()
        .ok()?;
    let rest = location.split_once("//")?.1;
    Some(rest.split('/').next()?.to_string())
}

/// `GET /master/state` from `address`, following its `leader` once when
/// it names another master.
pub async fn fetch_state(address: &str, timeout: Duration) -> Result<Cluster, SourceError> {
    let once = |address: String| async move {
        let body_error = |reason: String| SourceError::Body {
            address: address.clone(),
            reason,
        };
        let fetch = async {
            let response = send(
                &address,
                request(hyper::Method::GET, &address, "/master/state", ""),
            )
            .await?;
            if response.status() != StatusCode::OK {
                return Err(SourceError::Status {
                    address: address.clone(),
                    status: response.status(),
                });
            }
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| body_error(e.to_string()))?
                .to_bytes();
            let value: Value =
                serde_json::from_slice(&body).map_err(|e| body_error(e.to_string()))?;
            Ok(Cluster::from_master_state(&value))
        };
        tokio::time::timeout(timeout, fetch)
            .await
            .map_err(|_| body_error("timed out".into()))?
    };
    let cluster = once(address.to_string()).await?;
    match cluster.leader.clone() {
        Some(leader) if leader != address => once(leader).await,
        _ => Ok(cluster),
    }
}

/// An open event stream and the master serving it.
struct Stream {
    master: String,
    body: Incoming,
}

enum Subscribed {
    Stream(Stream),
    /// The master has no event stream: poll it.
    Unsupported,
}

async fn subscribe(address: &str) -> Result<Subscribed, SourceError> {
    let mut address = address.to_string();
    for _ in 0..3 {
        let body = r#"{"type":"SUBSCRIBE"}"#;
        let response = send(
            &address,
            request(hyper::Method::POST, &address, "/api/v1", body),
        )
        .await?;
        match response.status() {
            StatusCode::OK => {
                return Ok(Subscribed::Stream(Stream {
                    master: address,
                    body: response.into_body(),
                }))
            }
            StatusCode::TEMPORARY_REDIRECT | StatusCode::PERMANENT_REDIRECT => {
                match redirect_target(&response) {
                    Some(leader) => address = leader,
                    None => break,
                }
            }
            StatusCode::NOT_FOUND | StatusCode::NOT_IMPLEMENTED => {
                return Ok(Subscribed::Unsupported)
            }
            status => return Err(SourceError::Status { address, status }),
        }
    }
    Err(SourceError::Status {
        address,
        status: StatusCode::TEMPORARY_REDIRECT,
    })
}

/// Splits complete RecordIO records (`<length>\n<bytes>`) off `buffer`.
pub fn take_records(buffer: &mut BytesMut) -> Result<Vec<Bytes>, String> {
    let mut out = Vec::new();
    loop {
        let Some(newline) = buffer.iter().position(|b| *b == b'\n') else {
            if buffer.len() > 20 {
                return Err("a record length without its newline".into());
            }
            return Ok(out);
        };
        let length: usize = std::str::from_utf8(&buffer[..newline])
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .filter(|n| *n <= MAX_RECORD)
            .ok_or("a bad record length")?;
        if buffer.len() < newline + 1 + length {
            return Ok(out);
        }
        buffer.advance(newline + 1);
        out.push(buffer.split_to(length).freeze());
    }
}

/// The addresses to try, the detected leader first.
fn candidates(leader: Option<&MasterInfo>, masters: &[String]) -> Vec<String> {
    let mut out: Vec<String> = leader
        .map(|l| format!("{}:{}", l.ip, l.port))
        .into_iter()
        .collect();
    for m in masters {
        if !out.contains(m) {
            out.push(m.clone());
        }
    }
    out
}

/// The addresses the `SOAMname` resolves to: the listener, or the host's
/// outward address when it listens on all of them.
pub fn self_ips(listener: IpAddr) -> Vec<IpAddr> {
    if !listener.is_unspecified() {
        return vec![listener];
    }
    // Connecting a UDP socket sends nothing; it only picks the route.
    UdpSocket::bind("0.0.0.0:0")
        .and_then(|s| {
            s.connect("192.0.2.1:53")?;
            s.local_addr()
        })
        .map(|a| vec![a.ip()])
        .unwrap_or_default()
}

/// Keeps the shared record set current until the runtime stops; an
/// error only when no leader could be found at all in time.
pub async fn run(shared: Arc<Shared>) -> Result<(), SourceError> {
    let config = &shared.config;
    let detector = if config.zk.is_empty() {
        None
    } else {
        let url = ZkUrl::parse(&config.zk).map_err(crate::zookeeper::ZkError::from)?;
        Some(MasterDetector::zookeeper(url, DEFAULT_SESSION_TIMEOUT)?)
    };
    let mut leader_rx = detector.as_ref().map(MasterDetector::subscribe);
    let builds = spawn_builder(shared.clone(), self_ips(config.listener))?;
    let mut source = Source {
        shared: shared.clone(),
        cluster: Arc::default(),
        builds,
    };
    let started = Instant::now();
    loop {
        let leader = leader_rx.as_ref().and_then(|rx| rx.borrow().clone());
        if leader_rx.is_some() && leader.is_none() {
            let timeout = config.zk_detection_timeout;
            if timeout > 0
                && shared.records().is_none()
                && started.elapsed() > Duration::from_secs(timeout)
            {
                return Err(SourceError::NoLeader(timeout));
            }
        }
        // A new leader's names change at once, before its state (a leader
        // still recovering answers 503 until it is done).
        if let Some(l) = &leader {
            let address = format!("{}:{}", l.ip, l.port);
            if shared.records().is_some() && source.cluster.leader.as_ref() != Some(&address) {
                info!(leader = %address, "a new leading master");
                Arc::make_mut(&mut source.cluster).leader = Some(address);
                source.publish();
            }
        }
        // With ZooKeeper, only the detected leader is followed.
        let list = if leader_rx.is_some() {
            candidates(leader.as_ref(), &[])
        } else {
            candidates(None, &config.masters)
        };
        for address in list {
            match subscribe(&address).await {
                Ok(Subscribed::Stream(stream)) => {
                    shared
                        .metrics
                        .resubscriptions
                        .fetch_add(1, Ordering::Relaxed);
                    info!(master = %stream.master, "subscribed to the master's events");
                    source.follow(stream, leader_rx.as_mut()).await;
                    break;
                }
                Ok(Subscribed::Unsupported) => {
                    info!(master = %address, "no event stream: polling the master's state");
                    source.poll(&address, leader_rx.as_mut()).await;
                    break;
                }
                Err(e) => debug!(error = %e, "subscribe"),
            }
        }
        match leader_rx.as_mut() {
            Some(rx) => {
                let _ = tokio::time::timeout(RETRY, rx.changed()).await;
            }
            None => tokio::time::sleep(RETRY).await,
        }
    }
}

struct Source {
    shared: Arc<Shared>,
    /// The cluster as the stream or the last state left it; shared with
    /// the builder while it builds from it.
    cluster: Arc<Cluster>,
    /// Snapshots to build record sets of.
    builds: std_mpsc::Sender<Arc<Cluster>>,
}

/// Starts the thread that builds and publishes a record set for each
/// snapshot sent, skipping to the newest when several are waiting. It
/// ends when the sender is dropped.
fn spawn_builder(
    shared: Arc<Shared>,
    self_ips: Vec<IpAddr>,
) -> Result<std_mpsc::Sender<Arc<Cluster>>, SourceError> {
    let (tx, rx) = std_mpsc::channel::<Arc<Cluster>>();
    std::thread::Builder::new()
        .name("dns-records".into())
        .spawn(move || {
            while let Ok(mut cluster) = rx.recv() {
                while let Ok(newer) = rx.try_recv() {
                    cluster = newer;
                }
                let set = records::build(
                    &cluster,
                    &Inputs {
                        config: &shared.config,
                        self_ips: &self_ips,
                    },
                );
                // Before the swap, so that the source's next change
                // need not copy the cluster.
                drop(cluster);
                shared.publish(set);
            }
        })
        .map_err(SourceError::Builder)?;
    Ok(tx)
}

fn unix_seconds() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// The running tasks and their agents: what the consistency check
/// compares (frameworks' pids are in one form only).
fn discoverable(c: &Cluster) -> Vec<(&str, &str, &str)> {
    c.tasks
        .values()
        .filter(|t| t.state == "TASK_RUNNING" && c.agents.contains_key(&t.agent_id))
        .map(|t| (t.framework_id.as_str(), t.id.as_str(), t.agent_id.as_str()))
        .collect()
}

impl Source {
    /// Has the record set rebuilt from the cluster as it is now.
    fn publish(&self) {
        let _ = self.builds.send(self.cluster.clone());
    }

    fn state_timeout(&self) -> Duration {
        Duration::from_secs(self.shared.config.state_timeout_seconds.max(1))
    }

    fn refresh(&self) -> Duration {
        Duration::from_secs(self.shared.config.refresh_seconds)
    }

    /// Applies the stream until it breaks or the leader changes.
    async fn follow(
        &mut self,
        stream: Stream,
        mut leader: Option<&mut watch::Receiver<Option<MasterInfo>>>,
    ) {
        let Stream { master, mut body } = stream;
        let mut buffer = BytesMut::new();
        let mut ticker = tokio::time::interval(self.refresh());
        ticker.tick().await;
        let (states_tx, mut states) = mpsc::channel::<Cluster>(1);
        let mut subscribed = false;
        loop {
            let leader_changed = async {
                match leader.as_deref_mut() {
                    Some(rx) => {
                        let _ = rx.changed().await;
                    }
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                frame = tokio::time::timeout(STREAM_SILENCE, body.frame()) => {
                    let Ok(Some(Ok(frame))) = frame else {
                        warn!(%master, "the event stream ended");
                        return;
                    };
                    let Ok(data) = frame.into_data() else { continue };
                    buffer.extend_from_slice(&data);
                    let records = match take_records(&mut buffer) {
                        Ok(records) => records,
                        Err(e) => {
                            warn!(%master, error = %e, "bad event stream");
                            return;
                        }
                    };
                    let mut changed = false;
                    for record in records {
                        let Ok(event) = serde_json::from_slice::<Value>(&record) else {
                            warn!(%master, "an event that is not JSON");
                            continue;
                        };
                        self.shared.metrics.events.fetch_add(1, Ordering::Relaxed);
                        if event["type"] == "SUBSCRIBED" {
                            self.cluster = Arc::new(Cluster::from_get_state(
                                &event["subscribed"]["get_state"],
                                Some(master.clone()),
                            ));
                            subscribed = true;
                            changed = true;
                        } else if subscribed
                            && event["type"] != "HEARTBEAT"
                            && Arc::make_mut(&mut self.cluster).apply(&event) == Applied::Changed
                        {
                            changed = true;
                            if let Some(t) = event["task_updated"]["status"]["timestamp"].as_f64() {
                                let lag = ((unix_seconds() - t) * 1000.0).max(0.0) as u64;
                                self.shared.metrics.event_lag_ms.store(lag, Ordering::Relaxed);
                            }
                        }
                    }
                    if changed {
                        self.publish();
                    }
                }
                _ = ticker.tick() => {
                    let (tx, address, timeout) = (states_tx.clone(), master.clone(), self.state_timeout());
                    tokio::spawn(async move {
                        match fetch_state(&address, timeout).await {
                            Ok(cluster) => { let _ = tx.try_send(cluster); }
                            Err(e) => warn!(error = %e, "state check"),
                        }
                    });
                }
                Some(state) = states.recv() => {
                    self.shared.metrics.reloads.fetch_add(1, Ordering::Relaxed);
                    if subscribed && discoverable(&state) != discoverable(&self.cluster) {
                        warn!(%master, "the master's state differs from the event stream's: taking the state");
                        self.shared.metrics.state_mismatches.fetch_add(1, Ordering::Relaxed);
                        let leader = self.cluster.leader.clone();
                        let mut state = state;
                        state.leader = state.leader.or(leader);
                        self.cluster = Arc::new(state);
                        self.publish();
                    }
                }
                _ = leader_changed => {
                    info!(%master, "the leading master changed: subscribing again");
                    return;
                }
            }
        }
    }

    /// Reloads the full state every `refreshSeconds` until the leader
    /// changes or the master stops answering.
    async fn poll(
        &mut self,
        address: &str,
        mut leader: Option<&mut watch::Receiver<Option<MasterInfo>>>,
    ) {
        loop {
            match fetch_state(address, self.state_timeout()).await {
                Ok(cluster) => {
                    self.shared.metrics.reloads.fetch_add(1, Ordering::Relaxed);
                    self.cluster = Arc::new(cluster);
                    self.publish();
                }
                Err(e) => {
                    warn!(error = %e, "reload failed; serving the previous records");
                    return;
                }
            }
            let wait = tokio::time::sleep(self.refresh());
            match leader.as_deref_mut() {
                Some(rx) => tokio::select! {
                    _ = wait => {}
                    _ = rx.changed() => return,
                },
                None => wait.await,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recordio_records_are_split_whole() {
        let mut b = BytesMut::from(&b"5\nhello3\nab"[..]);
        assert_eq!(take_records(&mut b).unwrap(), vec![Bytes::from("hello")]);
        b.extend_from_slice(b"c");
        assert_eq!(take_records(&mut b).unwrap(), vec![Bytes::from("abc")]);
        assert!(b.is_empty());
        let mut bad = BytesMut::from(&b"x\n"[..]);
        assert!(take_records(&mut bad).is_err());
        let mut huge = BytesMut::from(&b"999999999999\n"[..]);
        assert!(take_records(&mut huge).is_err());
    }

    #[test]
    fn the_detected_leader_is_tried_first() {
        let leader = MasterInfo {
            id: "x".into(),
            ip: "10.0.0.2".into(),
            port: 5050,
            pid: "master@10.0.0.2:5050".into(),
            hostname: "h".into(),
            version: "1".into(),
        };
        let masters = ["10.0.0.1:5050".to_string(), "10.0.0.2:5050".to_string()];
        assert_eq!(
            candidates(Some(&leader), &masters),
            vec!["10.0.0.2:5050", "10.0.0.1:5050"]
        );
        assert_eq!(candidates(None, &masters), masters.to_vec());
    }
}
