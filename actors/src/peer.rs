//! Sessions: one TCP connection per pair of nodes, carrying frames both ways.
//!
//! A session is opened on demand by the first send to a node, or accepted
//! when another node connects first; either way it is registered under the
//! peer's listening address and then used for every message to that node,
//! so messages from one process to another keep their order. Each session
//! has a reader task, which decodes frames and hands them to their
//! processes, and a writer task. Senders append encoded frames to the
//! session's outbox and wake the writer only when the outbox was empty, so
//! under load many frames leave in one `write` call. If two nodes connect to
//! each other at the same moment, each keeps the connection it registered
//! first and still reads from the other; nothing is lost or reordered.
//!
//! A session ends when its connection breaks, a frame fails to decode, or
//! nothing arrives for the peer timeout; then frames still queued are
//! dropped (and counted), links into the peer fire, and the next send opens
//! a new connection.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::task::AbortHandle;
use wire::codec::control;
use wire::{Frame, FrameError, Message, Preamble};

use crate::metrics::lock;
use crate::node::{Entry, Inner, Node};
use crate::pid::Pid;
use crate::process::Pending;

/// Bytes read from a socket at a time, at least.
const READ_CHUNK: usize = 64 * 1024;
/// A write buffer larger than this is not kept for reuse.
const MAX_SPARE: usize = 4 * 1024 * 1024;

pub(crate) struct Session {
    peer: SocketAddr,
    outbox: Mutex<Outbox>,
    wake: Notify,
    tasks: Mutex<Vec<AbortHandle>>,
}

#[derive(Default)]
struct Outbox {
    buf: Vec<u8>,
    /// Frames in `buf`, for counting what a broken connection drops.
    queued: u64,
    closed: bool,
}

impl Session {
    fn new(peer: SocketAddr) -> Session {
        Session {
            peer,
            outbox: Mutex::new(Outbox::default()),
            wake: Notify::new(),
            tasks: Mutex::new(Vec::new()),
        }
    }

    /// A session to `peer` whose connection is being opened; frames sent
    /// meanwhile wait in its outbox.
    pub(crate) fn connect(node: &Node, peer: SocketAddr) -> Arc<Session> {
        let session = Arc::new(Session::new(peer));
        let task = node
            .inner
            .runtime
            .spawn(dial(node.clone(), session.clone()));
        lock(&session.tasks).push(task.abort_handle());
        session
    }

    /// Appends one frame to the outbox. Never blocks on the network.
    pub(crate) fn enqueue<M: Serialize + ?Sized>(
        &self,
        inner: &Inner,
        from: &str,
        to: &str,
        name: &str,
        message: &M,
    ) {
        let mut out = lock(&self.outbox);
        if out.closed {
            inner.stats.dropped_on_disconnect.inc();
            return;
        }
        if out.buf.len() >= inner.config.max_outbox {
            // The peer does not keep up: drop rather than grow without bound.
            drop(out);
            inner.stats.outbox_full.inc();
            return;
        }
        let was_empty = out.buf.is_empty();
        if let Err(e) = Frame::encode(
            &mut out.buf,
            from,
            to,
            name,
            message,
            inner.config.max_frame,
        ) {
            drop(out);
            inner.stats.unencodable.inc();
            tracing::warn!(peer = %self.peer, message = name, "dropping message: {e}");
            return;
        }
        out.queued += 1;
        drop(out);
        if was_empty {
            self.wake.notify_one();
        }
    }

    /// Ends the session: drops what is queued and, if it was the registered
    /// session for its peer, fires the links into that peer.
    pub(crate) fn close(self: &Arc<Self>, node: &Node) {
        {
            let mut out = lock(&self.outbox);
            if out.closed {
                return;
            }
            out.closed = true;
            node.inner.stats.dropped_on_disconnect.add(out.queued);
            out.buf = Vec::new();
        }
        for task in lock(&self.tasks).drain(..) {
            task.abort();
        }
        let registered = {
            let mut peers = lock(&node.inner.peers);
            if peers.get(&self.peer).is_some_and(|s| Arc::ptr_eq(s, self)) {
                peers.remove(&self.peer);
                true
            } else {
                false
            }
        };
        if registered {
            node.peer_lost(self.peer);
        }
    }

    fn is_closed(&self) -> bool {
        lock(&self.outbox).closed
    }

    /// Starts the reader and writer on an established connection.
    fn run(self: &Arc<Self>, node: &Node, stream: TcpStream, leftover: Vec<u8>) {
        let (rd, wr) = stream.into_split();
        let reader = node
            .inner
            .runtime
            .spawn(read_loop(node.clone(), self.clone(), rd, leftover));
        let writer = node
            .inner
            .runtime
            .spawn(write_loop(node.clone(), self.clone(), wr));
        lock(&self.tasks).extend([reader.abort_handle(), writer.abort_handle()]);
        if self.is_closed() {
            reader.abort();
            writer.abort();
        }
    }
}

/// Exchanges preambles; returns the peer's and any bytes read past it.
async fn handshake(
    node: &Node,
    stream: &mut TcpStream,
) -> Result<(Preamble, Vec<u8>), HandshakeError> {
    let mut ours = Vec::new();
    Preamble::encode(&node.address().to_string(), &mut ours);
    stream.write_all(&ours).await?;
    let mut buf = Vec::with_capacity(READ_CHUNK);
    loop {
        if let Some((preamble, used)) = Preamble::decode(&buf)? {
            buf.drain(..used);
            return Ok((preamble, buf));
        }
        if stream.read_buf(&mut buf).await? == 0 {
            return Err(HandshakeError::Io(std::io::ErrorKind::UnexpectedEof.into()));
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum HandshakeError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Frame(#[from] FrameError),
    #[error("timed out")]
    Timeout,
}

async fn dial(node: Node, session: Arc<Session>) {
    let peer = session.peer;
    let attempt = async {
        let mut stream = TcpStream::connect(peer).await?;
        stream.set_nodelay(true)?;
        let (preamble, leftover) = handshake(&node, &mut stream).await?;
        Ok::<_, HandshakeError>((stream, preamble, leftover))
    };
    match tokio::time::timeout(node.inner.config.connect_timeout, attempt).await {
        Ok(Ok((stream, preamble, leftover))) => {
            if preamble.address != peer.to_string() {
                tracing::debug!(%peer, announced = preamble.address, "peer announces another address");
            }
            session.run(&node, stream, leftover);
        }
        result => {
            let error = match result {
                Ok(Err(e)) => e,
                _ => HandshakeError::Timeout,
            };
            if let HandshakeError::Frame(e) = &error {
                node.inner.stats.refused_peers.inc();
                tracing::warn!(%peer, "refusing peer: {e}");
            } else {
                tracing::debug!(%peer, "could not connect: {error}");
            }
            session.close(&node);
        }
    }
}

/// Serves a connection whose first byte was the frame magic.
pub(crate) async fn accept(node: Node, mut stream: TcpStream, remote: SocketAddr) {
    let _ = stream.set_nodelay(true);
    let timeout = node.inner.config.connect_timeout;
    let result = match tokio::time::timeout(timeout, handshake(&node, &mut stream)).await {
        Ok(r) => r,
        Err(_) => Err(HandshakeError::Timeout),
    };
    let (preamble, leftover) = match result {
        Ok(ok) => ok,
        Err(HandshakeError::Frame(e)) => {
            node.inner.stats.refused_peers.inc();
            tracing::warn!(%remote, "refusing connection: {e}");
            return;
        }
        Err(e) => {
            tracing::debug!(%remote, "connection ended during handshake: {e}");
            return;
        }
    };
    let Ok(peer) = preamble.address.parse::<SocketAddr>() else {
        node.inner.stats.refused_peers.inc();
        tracing::warn!(%remote, address = preamble.address, "refusing connection: announced address is not ip:port");
        return;
    };
    if peer == node.address() {
        // Registering it would make its close look like losing this very
        // node, firing every local link.
        node.inner.stats.refused_peers.inc();
        tracing::warn!(%remote, "refusing connection: peer announces this node's own address");
        return;
    }
    let session = Arc::new(Session::new(peer));
    lock(&node.inner.peers)
        .entry(peer)
        .or_insert_with(|| session.clone());
    session.run(&node, stream, leftover);
}

async fn write_loop(node: Node, session: Arc<Session>, mut wr: OwnedWriteHalf) {
    let interval = node.inner.config.heartbeat_interval;
    let mut spare = Vec::with_capacity(READ_CHUNK);
    loop {
        let woken = tokio::time::timeout(interval, session.wake.notified())
            .await
            .is_ok();
        {
            let mut out = lock(&session.outbox);
            if out.closed {
                return;
            }
            std::mem::swap(&mut out.buf, &mut spare);
            out.queued = 0;
        }
        if spare.is_empty() {
            if woken {
                continue;
            }
            let max = node.inner.config.max_frame;
            let _ = Frame::encode(
                &mut spare,
                "",
                "",
                control::Heartbeat::NAME,
                &control::Heartbeat,
                max,
            );
        }
        // A peer that stops reading must not stall the writer forever.
        match tokio::time::timeout(node.inner.config.peer_timeout, wr.write_all(&spare)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::debug!(peer = %session.peer, "write failed: {e}");
                break;
            }
            Err(_) => {
                tracing::warn!(peer = %session.peer, "peer stopped reading; closing the connection");
                break;
            }
        }
        spare.clear();
        if spare.capacity() > MAX_SPARE {
            spare = Vec::with_capacity(READ_CHUNK);
        }
    }
    session.close(&node);
}

async fn read_loop(node: Node, session: Arc<Session>, mut rd: OwnedReadHalf, mut buf: Vec<u8>) {
    let max = node.inner.config.max_frame;
    let timeout = node.inner.config.peer_timeout;
    let mut cache = Cache::default();
    loop {
        let mut pos = 0;
        let decoded = loop {
            match Frame::decode(&buf[pos..], max) {
                Ok(Some((frame, used))) => {
                    if let Err(e) = node.dispatch(session.peer, frame, &mut cache) {
                        // Counted by `dispatch` as undecodable.
                        break Err(e);
                    }
                    pos += used;
                }
                Ok(None) => break Ok(()),
                Err(e) => {
                    cache.flush();
                    match e {
                        FrameError::TooLarge { .. } => node.inner.stats.oversized_frames.inc(),
                        _ => node.inner.stats.malformed_frames.inc(),
                    }
                    break Err(e);
                }
            }
        };
        // Everything this read brought goes to its processes now.
        cache.flush();
        if let Err(e) = decoded {
            tracing::warn!(peer = %session.peer, "closing connection: {e}");
            break;
        }
        buf.drain(..pos);
        if buf.capacity() - buf.len() < READ_CHUNK / 4 {
            buf.reserve(READ_CHUNK);
        }
        match tokio::time::timeout(timeout, rd.read_buf(&mut buf)).await {
            Ok(Ok(0)) => break,
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::debug!(peer = %session.peer, "read failed: {e}");
                break;
            }
            Err(_) => {
                tracing::warn!(peer = %session.peer, "no traffic for {timeout:?}; declaring the peer dead");
                break;
            }
        }
        if buf.is_empty() && buf.capacity() > MAX_SPARE {
            buf = Vec::with_capacity(READ_CHUNK);
        }
    }
    session.close(&node);
}

/// A reader's memo of its last sender and receiver, so a stream of frames
/// between the same two processes costs no allocation or lock per frame.
#[derive(Default)]
pub(crate) struct Cache {
    from: Option<Pid>,
    to: Option<(u64, String, Option<Arc<Entry>>)>,
    /// Messages decoded for one process, not yet in its mailbox.
    pending: Option<(Arc<Entry>, Pending, usize)>,
}

/// Most messages held back for one batch, to bound latency and memory.
const MAX_BATCH: usize = 1024;

impl Cache {
    /// Hands the pending batch to its process.
    fn flush(&mut self) {
        flush(&mut self.pending);
    }
}

fn flush(pending: &mut Option<(Arc<Entry>, Pending, usize)>) {
    if let Some((entry, batch, _)) = pending.take() {
        (entry.batcher.send)(batch);
    }
}

impl Node {
    /// Hands one received frame to its process. An error means the peer sent
    /// something undecodable and the connection must close.
    fn dispatch(
        &self,
        peer: SocketAddr,
        frame: Frame<'_>,
        cache: &mut Cache,
    ) -> Result<(), FrameError> {
        if frame.to.is_empty() {
            // Keep order: what came before a control message (an exit
            // notice, say) is delivered before it.
            cache.flush();
            return self.dispatch_control(peer, frame);
        }
        let from = match &cache.from {
            Some(pid) if pid.id() == frame.from && pid.address() == peer => pid.clone(),
            _ => {
                let pid = Pid::new(frame.from, peer);
                cache.from = Some(pid.clone());
                pid
            }
        };
        let generation = self.registry_generation();
        let hit = matches!(&cache.to, Some((g, id, _)) if *g == generation && id == frame.to);
        if !hit {
            let entry = self.entry(frame.to);
            cache.to = Some((generation, frame.to.to_owned(), entry));
        }
        // Borrowed from the cache: no reference count changes per frame.
        let Some((_, _, Some(entry))) = &cache.to else {
            self.inner.stats.unknown_process.inc();
            tracing::debug!(%from, to = frame.to, name = frame.name, "dropping message for an unknown process");
            return Ok(());
        };
        let Some(decode) = entry.decoders.get(frame.name) else {
            self.inner.stats.unknown_message.inc();
            tracing::debug!(%from, to = frame.to, name = frame.name, "dropping a message the process does not accept");
            return Ok(());
        };
        let same =
            matches!(&cache.pending, Some((e, _, n)) if Arc::ptr_eq(e, entry) && *n < MAX_BATCH);
        if !same {
            let entry = entry.clone();
            flush(&mut cache.pending);
            let batch = (entry.batcher.start)();
            cache.pending = Some((entry, batch, 0));
        }
        let Some((_, batch, count)) = &mut cache.pending else {
            return Ok(());
        };
        *count += 1;
        decode(frame.payload, from, batch).inspect_err(|_| self.inner.stats.undecodable.inc())
    }

    fn dispatch_control(&self, peer: SocketAddr, frame: Frame<'_>) -> Result<(), FrameError> {
        self.control(peer, frame)
            .inspect_err(|_| self.inner.stats.undecodable.inc())
    }

    fn control(&self, peer: SocketAddr, frame: Frame<'_>) -> Result<(), FrameError> {
        match frame.name {
            control::Heartbeat::NAME => {}
            control::Link::NAME => {
                self.remote_link(peer, wire::codec::decode_payload(frame.payload)?);
            }
            control::Exited::NAME => {
                self.remote_exited(peer, wire::codec::decode_payload(frame.payload)?);
            }
            other => {
                self.inner.stats.unknown_message.inc();
                tracing::debug!(%peer, name = other, "dropping an unknown control message");
            }
        }
        Ok(())
    }
}
