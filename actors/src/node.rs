//! A node: one listener, the registry of its processes, and its sessions to
//! other nodes (libprocess's `ProcessManager` and `SocketManager`).
//!
//! ```text
//! Node ──┬─ registry: id -> Entry (decoders by wire name, typed mailboxes, routes)
//!        ├─ links (link.rs): who watches whom, locally and across nodes
//!        ├─ peers (peer.rs): one Session per remote node, each a reader and a writer task
//!        ├─ listener: accepts frames and HTTP on one port (http.rs tells them apart)
//!        └─ metrics (metrics.rs): served at /metrics/snapshot
//! ```
//!
//! A `Node` is a cheap handle; there is no global node, so one OS process can
//! host several (the in-process clusters of `testing`).

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use actix::{Actor, ArbiterHandle, Recipient};
use tokio::net::TcpListener;
use tokio::task::AbortHandle;

use crate::link::Links;
use crate::metrics::{lock, Counter, Metrics};
use crate::peer::Session;
use crate::pid::Pid;
use crate::process::{
    self, Batcher, Decoder, Envelope, ExitedNotice, Install, Process, ProcessRef,
};
use crate::process::{RouteRequest, Terminate};
use crate::testing::{Hooks, Verdict};

/// How a node listens and talks to peers.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// Address to bind.
    pub ip: IpAddr,
    /// Port to bind; 0 picks a free one.
    pub port: u16,
    /// Address other nodes should use, when it differs from the bound one.
    pub advertise_ip: Option<IpAddr>,
    pub advertise_port: Option<u16>,
    /// Largest frame body accepted or sent, in bytes.
    pub max_frame: usize,
    /// Largest HTTP request body accepted, in bytes (413 beyond).
    pub max_http_body: usize,
    /// An idle connection carries a heartbeat this often.
    pub heartbeat_interval: Duration,
    /// A connection that carried nothing for this long is declared dead.
    pub peer_timeout: Duration,
    /// How long to wait for a connection and the peer's preamble.
    pub connect_timeout: Duration,
    /// Bytes queued for one peer beyond which new messages to it are
    /// dropped (and counted) instead of queued.
    pub max_outbox: usize,
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig {
            ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            advertise_ip: None,
            advertise_port: None,
            max_frame: wire::DEFAULT_MAX_FRAME,
            max_http_body: wire::DEFAULT_MAX_FRAME,
            heartbeat_interval: Duration::from_secs(2),
            peer_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            max_outbox: 256 * 1024 * 1024,
        }
    }
}

/// Why a process could not be spawned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpawnError {
    #[error("process id '{0}' is already in use on this node")]
    IdInUse(String),
    #[error("'{0}' is not a valid process id (empty, or contains '/' or '@')")]
    BadId(String),
    #[error("process '{id}' declared an invalid installation: {reason}")]
    BadInstall { id: String, reason: String },
}

/// Counters of the runtime's own drops and refusals.
pub(crate) struct Stats {
    pub(crate) unknown_process: Counter,
    pub(crate) unknown_message: Counter,
    pub(crate) undecodable: Counter,
    pub(crate) malformed_frames: Counter,
    pub(crate) oversized_frames: Counter,
    pub(crate) refused_peers: Counter,
    pub(crate) unencodable: Counter,
    pub(crate) dropped_on_disconnect: Counter,
    pub(crate) outbox_full: Counter,
    pub(crate) http_bad_requests: Counter,
    pub(crate) http_not_found: Counter,
    pub(crate) http_too_large: Counter,
}

impl Stats {
    fn new(m: &Metrics) -> Stats {
        Stats {
            unknown_process: m.counter("actors/dropped_messages/unknown_process"),
            unknown_message: m.counter("actors/dropped_messages/unknown_message"),
            undecodable: m.counter("actors/dropped_messages/undecodable"),
            malformed_frames: m.counter("actors/frames/malformed"),
            oversized_frames: m.counter("actors/frames/oversized"),
            refused_peers: m.counter("actors/connections/refused"),
            unencodable: m.counter("actors/dropped_messages/unencodable"),
            dropped_on_disconnect: m.counter("actors/dropped_messages/disconnected"),
            outbox_full: m.counter("actors/dropped_messages/outbox_full"),
            http_bad_requests: m.counter("actors/http/bad_requests"),
            http_not_found: m.counter("actors/http/not_found"),
            http_too_large: m.counter("actors/http/too_large"),
        }
    }
}

/// A process as the node sees it.
pub(crate) struct Entry {
    serial: u64,
    pub(crate) decoders: HashMap<&'static str, Decoder>,
    pub(crate) batcher: Batcher,
    typed: HashMap<TypeId, Box<dyn Any + Send + Sync>>,
    pub(crate) exited: Recipient<ExitedNotice>,
    terminate: Recipient<Terminate>,
    pub(crate) http: Recipient<RouteRequest>,
    pub(crate) routes: Vec<String>,
}

#[derive(Default)]
pub(crate) struct Registry {
    pub(crate) by_id: HashMap<Arc<str>, Arc<Entry>>,
}

pub(crate) struct Inner {
    pub(crate) address: SocketAddr,
    pub(crate) config: NodeConfig,
    pub(crate) runtime: tokio::runtime::Handle,
    pub(crate) registry: RwLock<Registry>,
    /// Bumped after every registry change, so readers may cache lookups.
    generation: AtomicU64,
    /// Lock order: `links` before `registry`.
    pub(crate) links: Mutex<Links>,
    pub(crate) peers: Mutex<HashMap<SocketAddr, Arc<Session>>>,
    pub(crate) metrics: Metrics,
    pub(crate) stats: Stats,
    pub(crate) hooks: Hooks,
    pub(crate) delegate: RwLock<Option<String>>,
    /// Top-level paths served by a process's route: path -> (id, route).
    pub(crate) exposed: RwLock<HashMap<String, (String, String)>>,
    ids: Mutex<HashMap<String, u64>>,
    serials: AtomicU64,
    listener: Mutex<Option<AbortHandle>>,
}

/// A handle to a node. Clones share the node.
#[derive(Clone)]
pub struct Node {
    pub(crate) inner: Arc<Inner>,
}

impl Node {
    /// Binds the listener and starts serving. Must run inside the tokio
    /// runtime (an actix `System`) that will drive the node's I/O.
    pub async fn bind(config: NodeConfig) -> std::io::Result<Node> {
        let listener = TcpListener::bind((config.ip, config.port)).await?;
        let bound = listener.local_addr()?;
        let ip = match config.advertise_ip {
            Some(ip) => ip,
            None if bound.ip().is_unspecified() => {
                tracing::warn!(
                    "listening on {bound} without an address to advertise; \
                     advertising 127.0.0.1, so only local peers can reach this node"
                );
                IpAddr::V4(Ipv4Addr::LOCALHOST)
            }
            None => bound.ip(),
        };
        let address = SocketAddr::new(ip, config.advertise_port.unwrap_or(bound.port()));
        let metrics = Metrics::default();
        crate::metrics::register_system(&metrics);
        let node = Node {
            inner: Arc::new(Inner {
                address,
                runtime: tokio::runtime::Handle::current(),
                registry: RwLock::new(Registry::default()),
                generation: AtomicU64::new(0),
                links: Mutex::new(Links::default()),
                peers: Mutex::new(HashMap::new()),
                stats: Stats::new(&metrics),
                metrics,
                hooks: Hooks::default(),
                delegate: RwLock::new(None),
                exposed: RwLock::new(HashMap::new()),
                ids: Mutex::new(HashMap::new()),
                serials: AtomicU64::new(1),
                listener: Mutex::new(None),
                config,
            }),
        };
        let accept = node.inner.runtime.spawn(crate::http::accept_loop(
            Arc::downgrade(&node.inner),
            listener,
        ));
        *lock(&node.inner.listener) = Some(accept.abort_handle());
        tracing::info!(%address, "node listening");
        Ok(node)
    }

    /// The address other nodes reach this one at.
    pub fn address(&self) -> SocketAddr {
        self.inner.address
    }

    pub fn config(&self) -> &NodeConfig {
        &self.inner.config
    }

    /// This node's metrics, served at `/metrics/snapshot`.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// A fresh id `prefix(N)`, N counting from 1 per prefix (libprocess's
    /// `ID::generate`).
    pub fn generate_id(&self, prefix: &str) -> String {
        let mut ids = lock(&self.inner.ids);
        let n = ids.entry(prefix.to_owned()).or_insert(0);
        *n += 1;
        format!("{prefix}({n})")
    }

    /// Requests whose first path segment names no process go to `id`, with
    /// the path prefixed by `/<id>` (Mesos serves `/state` from `master`).
    pub fn set_delegate(&self, id: &str) {
        *self
            .inner
            .delegate
            .write()
            .unwrap_or_else(|e| e.into_inner()) = Some(id.to_owned());
    }

    /// Serves the top-level `path` with process `id`'s `route` (Mesos
    /// serves `/api/v1/executor` from the agent). The first process to
    /// claim a path keeps it; returns whether this call got it.
    pub fn expose(&self, path: &str, id: &str, route: &str) -> bool {
        let mut exposed = write(&self.inner.exposed);
        if exposed.contains_key(path) {
            return false;
        }
        exposed.insert(path.to_owned(), (id.to_owned(), route.to_owned()));
        true
    }

    /// Spawns `process` under `id` on the current arbiter.
    pub fn spawn<P: Process>(
        &self,
        id: impl Into<String>,
        process: P,
    ) -> Result<ProcessRef<P>, SpawnError> {
        self.spawn_on(&actix::Arbiter::current(), id, process)
    }

    /// Spawns `process` under `id` on `arbiter` (its own thread).
    pub fn spawn_on<P: Process>(
        &self,
        arbiter: &ArbiterHandle,
        id: impl Into<String>,
        process: P,
    ) -> Result<ProcessRef<P>, SpawnError> {
        let id: String = id.into();
        if id.is_empty() || id.contains('/') || id.contains('@') {
            return Err(SpawnError::BadId(id));
        }
        let id: Arc<str> = id.into();
        if read(&self.inner.registry).by_id.contains_key(&id) {
            return Err(SpawnError::IdInUse(id.to_string()));
        }
        let pid = Pid::new(id.clone(), self.address());
        let serial = self.inner.serials.fetch_add(1, Ordering::Relaxed);
        let (node, actor_pid) = (self.clone(), pid.clone());
        let addr = process::ProcessActor::start_in_arbiter(arbiter, move |_| {
            process::actor(process, actor_pid, node, serial)
        });
        let mut install = Install::new(addr.clone());
        P::install(&mut install);
        let handle = ProcessRef::new(pid, addr);
        if !install.errors.is_empty() {
            handle.terminate_now();
            return Err(SpawnError::BadInstall {
                id: id.to_string(),
                reason: install.errors.join("; "),
            });
        }
        let entry = Entry {
            serial,
            exited: install.exited(),
            terminate: install.terminate(),
            http: install.http(),
            routes: install.route_names(),
            decoders: std::mem::take(&mut install.decoders),
            batcher: install.batcher(),
            typed: std::mem::take(&mut install.typed),
        };
        {
            let mut registry = write(&self.inner.registry);
            if registry.by_id.contains_key(&id) {
                drop(registry);
                handle.terminate_now();
                return Err(SpawnError::IdInUse(id.to_string()));
            }
            registry.by_id.insert(id.clone(), Arc::new(entry));
            self.inner.generation.fetch_add(1, Ordering::Release);
        }
        if !handle.is_alive() {
            // It stopped before it was registered: unregister it again.
            self.process_stopped(handle.pid(), serial);
        }
        tracing::debug!(pid = %handle.pid(), "process spawned");
        Ok(handle)
    }

    /// Asks the process `pid` (on this node) to terminate.
    pub fn terminate(&self, pid: &Pid) {
        if let Some(entry) = self.entry(pid.id()) {
            entry.terminate.do_send(Terminate);
        }
    }

    /// The pid of the local process `id`, if it exists.
    pub fn lookup(&self, id: &str) -> Option<Pid> {
        self.entry(id).map(|_| Pid::new(id, self.address()))
    }

    /// Ids of the local processes.
    pub fn process_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = read(&self.inner.registry)
            .by_id
            .keys()
            .map(|k| k.to_string())
            .collect();
        ids.sort();
        ids
    }

    pub(crate) fn registry_generation(&self) -> u64 {
        self.inner.generation.load(Ordering::Acquire)
    }

    pub(crate) fn entry(&self, id: &str) -> Option<Arc<Entry>> {
        read(&self.inner.registry).by_id.get(id).cloned()
    }

    /// Sends `message` from `from` to `to`. A local receiver gets the value
    /// itself; a remote one gets one frame on this node's connection to its
    /// node (opened on demand). Never blocks; failures are counted, not
    /// returned (as libprocess's `send`).
    pub fn send<M: wire::Message>(&self, from: &Pid, to: &Pid, message: M) {
        if self.inner.hooks.is_active() {
            match self.inner.hooks.verdict(from, to, M::NAME) {
                Verdict::Deliver => {}
                Verdict::Drop => return,
                Verdict::Hold => {
                    let (node, f, t) = (self.clone(), from.clone(), to.clone());
                    self.inner.hooks.hold(
                        from,
                        to,
                        M::NAME,
                        Box::new(move || node.send_unfiltered(&f, &t, message)),
                    );
                    return;
                }
            }
        }
        self.send_unfiltered(from, to, message);
    }

    /// Delivers a message that has no wire name to a process on this node
    /// (libprocess's `dispatch`). A pid on another node is refused.
    pub fn send_local<M: Send + 'static>(&self, from: &Pid, to: &Pid, message: M) {
        if to.address() == self.inner.address {
            self.deliver_local(from, to, message);
        } else {
            self.inner.stats.unknown_process.inc();
            tracing::warn!(%to, "a local-only message cannot go to another node");
        }
    }

    fn send_unfiltered<M: wire::Message>(&self, from: &Pid, to: &Pid, message: M) {
        if to.address() == self.inner.address {
            self.deliver_local(from, to, message);
        } else {
            self.session(to.address())
                .enqueue(&self.inner, from.id(), to.id(), M::NAME, &message);
        }
    }

    fn deliver_local<M: Send + 'static>(&self, from: &Pid, to: &Pid, message: M) {
        let registry = read(&self.inner.registry);
        let Some(entry) = registry.by_id.get(to.id()) else {
            self.inner.stats.unknown_process.inc();
            tracing::debug!(%from, %to, "dropping message for an unknown process");
            return;
        };
        let recipient = entry
            .typed
            .get(&TypeId::of::<M>())
            .and_then(|r| r.downcast_ref::<Recipient<Envelope<M>>>());
        match recipient {
            Some(r) => r.do_send(Envelope {
                from: from.clone(),
                body: message,
            }),
            None => {
                self.inner.stats.unknown_message.inc();
                tracing::debug!(%from, %to, message = std::any::type_name::<M>(),
                    "dropping a message the process does not handle");
            }
        }
    }

    /// The session to the node at `address`, opening one if needed.
    pub(crate) fn session(&self, address: SocketAddr) -> Arc<Session> {
        let mut peers = lock(&self.inner.peers);
        if let Some(s) = peers.get(&address) {
            return s.clone();
        }
        let session = Session::connect(self, address);
        peers.insert(address, session.clone());
        session
    }

    /// Stops accepting connections and closes every session. Processes keep
    /// running until their system stops.
    pub fn shutdown(&self) {
        if let Some(listener) = lock(&self.inner.listener).take() {
            listener.abort();
        }
        self.shutdown_connections();
    }

    /// Closes every session, as a network failure would: links into other
    /// nodes fire and the next send reconnects.
    pub fn shutdown_connections(&self) {
        let sessions: Vec<Arc<Session>> = lock(&self.inner.peers).values().cloned().collect();
        for s in sessions {
            s.close(self);
        }
    }

    /// Unregisters a stopped process and tells its watchers.
    pub(crate) fn process_stopped(&self, pid: &Pid, serial: u64) {
        let mut links = lock(&self.inner.links);
        {
            let mut registry = write(&self.inner.registry);
            match registry.by_id.get(pid.id()) {
                Some(e) if e.serial == serial => {
                    registry.by_id.remove(pid.id());
                    self.inner.generation.fetch_add(1, Ordering::Release);
                }
                _ => return,
            }
        }
        let watchers = links.take_watchers(pid);
        drop(links);
        tracing::debug!(%pid, "process terminated");
        for watcher in watchers {
            self.notify_exited(&watcher, pid.clone());
        }
    }
}

impl<P: Process> ProcessRef<P> {
    fn terminate_now(&self) {
        self.addr().do_send(Terminate);
    }
}

pub(crate) fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|e| e.into_inner())
}
