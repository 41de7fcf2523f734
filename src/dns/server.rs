//! The DNS listeners: UDP and TCP on `listener:port`, each query decoded
//! with hickory-proto, decided by [`super::answer`], and either answered
//! from the current record set or relayed to an upstream over the
//! client's transport within `timeout`. Undecodable packets get `FORMERR`
//! when their id can be read and are dropped otherwise; nothing a client
//! sends ends a listener.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::op::{Message, ResponseCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tracing::{debug, warn};

use super::answer::{self, Decision, Reply};
use super::Shared;

/// The biggest datagram read; longer ones are cut and fail to decode.
const MAX_PACKET: usize = 65535;
/// A TCP client idle this long is closed.
const TCP_IDLE: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
}

/// Binds both listeners; `port` 0 picks a free one (the same for both
/// when it can).
pub async fn bind(shared: &Shared) -> std::io::Result<(UdpSocket, TcpListener)> {
    let address = SocketAddr::new(shared.config.listener, shared.config.port);
    let udp = UdpSocket::bind(address).await?;
    let tcp = TcpListener::bind(udp.local_addr()?).await?;
    Ok((udp, tcp))
}

/// A query that waits on an upstream.
pub struct Pending {
    request: Message,
    upstreams: Vec<SocketAddr>,
    qtype: String,
}

/// Answers one query packet from the records (`Ok(None)` drops it), or
/// says it is to be forwarded.
pub fn respond(
    shared: &Shared,
    packet: &[u8],
    transport: Transport,
) -> Result<Option<Vec<u8>>, Box<Pending>> {
    let config = &shared.config;
    let Ok(request) = Message::from_vec(packet) else {
        shared.metrics.failed.fetch_add(1, Ordering::Relaxed);
        debug!(bytes = packet.len(), "undecodable query");
        return Ok(answer::format_error(packet));
    };
    let qtype = request
        .queries()
        .first()
        .map_or("none".to_string(), |q| q.query_type().to_string());
    let loaded = shared.records();
    let reply = match answer::decide(&request, loaded.as_deref(), config) {
        Decision::Reply(m) => m,
        Decision::Forward(upstreams) => {
            return Err(Box::new(Pending {
                request,
                upstreams,
                qtype,
            }))
        }
    };
    Ok(finish(shared, &request, reply, &qtype, transport))
}

fn finish(
    shared: &Shared,
    request: &Message,
    reply: Reply,
    qtype: &str,
    transport: Transport,
) -> Option<Vec<u8>> {
    let max = match transport {
        Transport::Udp => answer::udp_size(request),
        Transport::Tcp => MAX_PACKET,
    };
    shared
        .metrics
        .answered(qtype, &rcode_name(reply.response_code()));
    let bytes = reply.encode(max, shared.config.set_truncate_bit);
    if bytes.is_none() {
        shared.metrics.failed.fetch_add(1, Ordering::Relaxed);
    }
    bytes
}

/// The rcode's mnemonic (RFC 1035, 2136) for metric keys.
fn rcode_name(rcode: ResponseCode) -> String {
    match rcode {
        ResponseCode::NoError => "NOERROR".into(),
        ResponseCode::FormErr => "FORMERR".into(),
        ResponseCode::ServFail => "SERVFAIL".into(),
        ResponseCode::NXDomain => "NXDOMAIN".into(),
        ResponseCode::NotImp => "NOTIMP".into(),
        ResponseCode::Refused => "REFUSED".into(),
        other => u16::from(other).to_string(),
    }
}

/// Forwards a pending query over the client's transport; `SERVFAIL` when
/// no upstream answers (as Mesos-DNS answers a failed exchange). A
/// truncated UDP answer is passed on as it is, TC bit and all, and the
/// client's retry over TCP is forwarded over TCP.
pub async fn relay(
    shared: &Shared,
    packet: &[u8],
    pending: Box<Pending>,
    transport: Transport,
) -> Option<Vec<u8>> {
    shared.metrics.forwarded.fetch_add(1, Ordering::Relaxed);
    let timeout = shared.config.timeout;
    if let Some(bytes) = forward(packet, &pending.upstreams, transport, timeout).await {
        shared.metrics.answered(&pending.qtype, "forwarded");
        return Some(bytes);
    }
    shared
        .metrics
        .forward_failures
        .fetch_add(1, Ordering::Relaxed);
    let reply = answer::error_reply(&pending.request, &shared.config, ResponseCode::ServFail);
    finish(shared, &pending.request, reply, &pending.qtype, transport)
}

/// Answers one query packet, forwarding when it must; `None` drops it.
pub async fn handle(shared: &Shared, packet: &[u8], transport: Transport) -> Option<Vec<u8>> {
    match respond(shared, packet, transport) {
        Ok(reply) => reply,
        Err(pending) => relay(shared, packet, pending, transport).await,
    }
}

/// Relays `packet` to the first upstream that answers it with a reply of
/// the same id.
async fn forward(
    packet: &[u8],
    upstreams: &[SocketAddr],
    transport: Transport,
    timeout_seconds: u64,
) -> Option<Vec<u8>> {
    let timeout = Duration::from_secs(timeout_seconds);
    let id = packet.get(..2)?;
    for upstream in upstreams {
        let exchange = async {
            match transport {
                Transport::Udp => {
                    let local: SocketAddr = if upstream.is_ipv4() {
                        ([0, 0, 0, 0], 0).into()
                    } else {
                        "[::]:0".parse().ok()?
                    };
                    let socket = UdpSocket::bind(local).await.ok()?;
                    socket.connect(upstream).await.ok()?;
                    socket.send(packet).await.ok()?;
                    let mut buf = vec![0u8; MAX_PACKET];
                    loop {
                        let n = socket.recv(&mut buf).await.ok()?;
                        if buf.get(..2) == Some(id) {
                            buf.truncate(n);
                            return Some(buf);
                        }
                    }
                }
                Transport::Tcp => {
                    let mut stream = TcpStream::connect(upstream).await.ok()?;
                    let len = u16::try_from(packet.len()).ok()?;
                    stream.write_all(&len.to_be_bytes()).await.ok()?;
                    stream.write_all(packet).await.ok()?;
                    let n = stream.read_u16().await.ok()?;
                    let mut buf = vec![0u8; usize::from(n)];
                    stream.read_exact(&mut buf).await.ok()?;
                    (buf.get(..2) == Some(id)).then_some(buf)
                }
            }
        };
        match tokio::time::timeout(timeout, exchange).await {
            Ok(Some(reply)) => return Some(reply),
            _ => warn!(%upstream, "forwarding failed"),
        }
    }
    None
}

/// Serves UDP until the socket fails.
pub async fn serve_udp(shared: Arc<Shared>, socket: UdpSocket) {
    let socket = Arc::new(socket);
    let mut buf = vec![0u8; MAX_PACKET];
    loop {
        let (n, peer) = match socket.recv_from(&mut buf).await {
            Ok(received) => received,
            Err(e) => {
                // ICMP port-unreachable from an earlier reply, and the like.
                debug!(error = %e, "udp receive");
                continue;
            }
        };
        let packet = buf.get(..n).unwrap_or_default();
        match respond(&shared, packet, Transport::Udp) {
            Ok(Some(bytes)) => {
                let _ = socket.send_to(&bytes, peer).await;
            }
            Ok(None) => {}
            Err(pending) => {
                let (shared, socket, packet) = (shared.clone(), socket.clone(), packet.to_vec());
                tokio::spawn(async move {
                    if let Some(bytes) = relay(&shared, &packet, pending, Transport::Udp).await {
                        let _ = socket.send_to(&bytes, peer).await;
                    }
                });
            }
        }
    }
}

/// Serves TCP until the listener fails; each client on its own task.
pub async fn serve_tcp(shared: Arc<Shared>, listener: TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        tokio::spawn(tcp_client(shared.clone(), stream));
    }
}

async fn tcp_client(shared: Arc<Shared>, mut stream: TcpStream) {
    loop {
        let Ok(Ok(len)) = tokio::time::timeout(TCP_IDLE, stream.read_u16()).await else {
            return;
        };
        let mut packet = vec![0u8; usize::from(len)];
        if !matches!(
            tokio::time::timeout(TCP_IDLE, stream.read_exact(&mut packet)).await,
            Ok(Ok(_))
        ) {
            return;
        }
        let Some(reply) = handle(&shared, &packet, Transport::Tcp).await else {
            return;
        };
        let Ok(n) = u16::try_from(reply.len()) else {
            return;
        };
        if stream.write_all(&n.to_be_bytes()).await.is_err()
            || stream.write_all(&reply).await.is_err()
        {
            return;
        }
    }
}
