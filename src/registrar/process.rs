//! The `registrar(1)` process. Receives (local messages): [`RecoverRegistry`] once,
//! then [`Apply`] for each registry operation. Answers through the reply
//! callback each carries. Operations that arrive while a store is in flight
//! are applied together and stored once (Mesos's batching). A store that
//! fails or times out aborts the registrar for good: every later operation
//! fails, and the master, which cannot go on without a registry, stops.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use actors::metrics::{Gauge, Timer};
use actors::{Cx, Handle, Install, Pid, Process};
use wire::mesos::MasterInfo;
use wire::registry::{Operation, Registry, RegistryError};

use super::store::{Store, StoreError};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RegistrarError {
    #[error("the registrar has not recovered the registry yet")]
    NotRecovered,
    #[error("the registrar aborted after a failed store: {0}")]
    Aborted(String),
    #[error("{0}")]
    Refused(#[from] RegistryError),
    #[error("fetching the registry failed: {0}")]
    Fetch(String),
    #[error("the registry in the store cannot be read: {0}")]
    Corrupt(String),
}

type RecoverReply = Box<dyn FnOnce(Result<Registry, RegistrarError>) + Send>;
type ApplyReply = Box<dyn FnOnce(Result<bool, RegistrarError>) + Send>;

/// Read the registry and record `master` as the one that recovered it.
/// The reply gets the registry as it was before this master.
pub struct RecoverRegistry {
    pub master: MasterInfo,
    pub reply: RecoverReply,
}

/// Apply one operation; the reply says whether it changed the registry.
pub struct Apply {
    pub operation: Operation,
    pub reply: ApplyReply,
}

struct Fetched(Result<Option<Vec<u8>>, StoreError>, Instant);
struct Stored(Result<(), StoreError>, Instant);

enum Phase {
    /// Waiting for `RecoverRegistry`.
    Idle,
    /// Fetching; the reply waits.
    Fetching(MasterInfo, RecoverReply),
    /// Recovered: operations are applied.
    Ready,
    /// A store failed; nothing more is applied.
    Aborted(String),
}

struct InFlight {
    /// The registry as it will be once the store lands.
    next: Registry,
    /// Each operation's outcome, to answer once stored.
    replies: Vec<(ApplyReply, Result<bool, RegistrarError>)>,
    /// Set for the store that completes recovery.
    recovered: Option<(RecoverReply, Registry)>,
}

pub struct Registrar {
    store: Box<dyn Store>,
    fetch_timeout: Duration,
    store_timeout: Duration,
    phase: Phase,
    /// The registry as durably stored; `None` until recovered.
    registry: Option<Registry>,
    /// Operations waiting for the store in flight to finish.
    queue: VecDeque<Apply>,
    /// The store in flight, if any.
    in_flight: Option<InFlight>,
    metrics: Option<RegistrarMetrics>,
}

struct RegistrarMetrics {
    queued: Gauge,
    size: Gauge,
    fetch_ms: Timer,
    store_ms: Timer,
}

impl Registrar {
    pub fn new(
        store: Box<dyn Store>,
        fetch_timeout: Duration,
        store_timeout: Duration,
    ) -> Registrar {
        Registrar {
            store,
            fetch_timeout,
            store_timeout,
            phase: Phase::Idle,
            registry: None,
            queue: VecDeque::new(),
            in_flight: None,
            metrics: None,
        }
    }

    pub fn registry(&self) -> Option<&Registry> {
        self.registry.as_ref()
    }

    fn start_store(&mut self, next: Registry, in_flight: InFlight, cx: &mut Cx<'_, Self>) {
        let bytes = match postcard::to_allocvec(&next) {
            Ok(b) => b,
            Err(e) => {
                self.abort(
                    format!("cannot serialize the registry: {e}"),
                    Some(in_flight),
                );
                return;
            }
        };
        if let Some(m) = &self.metrics {
            m.size.set(bytes.len() as f64);
        }
        let write = self.store.store(bytes);
        let timeout = self.store_timeout;
        let started = Instant::now();
        self.in_flight = Some(in_flight);
        cx.defer(
            async move {
                match tokio::time::timeout(timeout, write).await {
                    Ok(r) => r,
                    Err(_) => Err(StoreError::Failed(format!("timed out after {timeout:?}"))),
                }
            },
            move |r| Stored(r, started),
        );
    }

    /// Applies every queued operation to a copy and stores it once.
    fn flush(&mut self, cx: &mut Cx<'_, Self>) {
        if self.in_flight.is_some() || self.queue.is_empty() {
            return;
        }
        let Some(current) = self.registry.clone() else {
            return;
        };
        let mut next = current;
        let mut replies = Vec::with_capacity(self.queue.len());
        for apply in self.queue.drain(..) {
            let outcome = apply
                .operation
                .apply(&mut next)
                .map_err(RegistrarError::from);
            replies.push((apply.reply, outcome));
        }
        self.update_queue_gauge();
        if !replies
            .iter()
            .any(|(_, outcome)| matches!(outcome, Ok(true)))
        {
            // Nothing changed (re-admitting agents already admitted, say):
            // what is stored already says it, so there is nothing to write.
            for (reply, outcome) in replies {
                reply(outcome);
            }
            return;
        }
        let in_flight = InFlight {
            next: next.clone(),
            replies,
            recovered: None,
        };
        self.start_store(next, in_flight, cx);
    }

    fn abort(&mut self, reason: String, in_flight: Option<InFlight>) {
        tracing::error!("registrar aborted: {reason}");
        self.phase = Phase::Aborted(reason.clone());
        if let Some(f) = in_flight {
            for (reply, _) in f.replies {
                reply(Err(RegistrarError::Aborted(reason.clone())));
            }
            if let Some((reply, _)) = f.recovered {
                reply(Err(RegistrarError::Aborted(reason.clone())));
            }
        }
        for apply in self.queue.drain(..) {
            (apply.reply)(Err(RegistrarError::Aborted(reason.clone())));
        }
    }

    fn update_queue_gauge(&self) {
        if let Some(m) = &self.metrics {
            m.queued.set(self.queue.len() as f64);
        }
    }
}

impl Process for Registrar {
    fn install(i: &mut Install<Self>) {
        i.local::<RecoverRegistry>()
            .local::<Apply>()
            .local::<Fetched>()
            .local::<Stored>();
    }

    fn started(&mut self, cx: &mut Cx<'_, Self>) {
        let m = cx.node().metrics();
        self.metrics = Some(RegistrarMetrics {
            queued: m.gauge("registrar/queued_operations"),
            size: m.gauge("registrar/registry_size_bytes"),
            fetch_ms: m.timer("registrar/state_fetch_ms"),
            store_ms: m.timer("registrar/state_store_ms"),
        });
    }
}

impl Handle<RecoverRegistry> for Registrar {
    fn handle(&mut self, msg: RecoverRegistry, _: &Pid, cx: &mut Cx<'_, Self>) {
        if !matches!(self.phase, Phase::Idle) {
            (msg.reply)(Err(RegistrarError::Aborted("recover asked twice".into())));
            return;
        }
        let read = self.store.fetch();
        let timeout = self.fetch_timeout;
        let started = Instant::now();
        self.phase = Phase::Fetching(msg.master, msg.reply);
        cx.defer(
            async move {
                match tokio::time::timeout(timeout, read).await {
                    Ok(r) => r,
                    Err(_) => Err(StoreError::Failed(format!("timed out after {timeout:?}"))),
                }
            },
            move |r| Fetched(r, started),
        );
    }
}

impl Handle<Fetched> for Registrar {
    fn handle(&mut self, Fetched(result, started): Fetched, _: &Pid, cx: &mut Cx<'_, Self>) {
        let Phase::Fetching(master, reply) = std::mem::replace(&mut self.phase, Phase::Idle) else {
            return;
        };
        if let Some(m) = &self.metrics {
            m.fetch_ms.record(started.elapsed());
        }
        let registry = match result {
            Ok(None) => Registry::default(),
            Ok(Some(bytes)) => match postcard::from_bytes::<Registry>(&bytes) {
                Ok(r) => r,
                Err(e) => {
                    let e = RegistrarError::Corrupt(e.to_string());
                    self.phase = Phase::Aborted(e.to_string());
                    reply(Err(e));
                    return;
                }
            },
            Err(e) => {
                let e = RegistrarError::Fetch(e.to_string());
                self.phase = Phase::Aborted(e.to_string());
                reply(Err(e));
                return;
            }
        };
        tracing::info!(
            agents = registry.agents.len(),
            unreachable = registry.unreachable.len(),
            "registry fetched"
        );
        // Recovery ends with a store naming this master as the last leader.
        let mut next = registry.clone();
        let _ = wire::registry::Operation::Recover(master).apply(&mut next);
        self.phase = Phase::Ready;
        self.registry = Some(registry.clone());
        let in_flight = InFlight {
            next: next.clone(),
            replies: Vec::new(),
            recovered: Some((reply, registry)),
        };
        self.start_store(next, in_flight, cx);
    }
}

impl Handle<Apply> for Registrar {
    fn handle(&mut self, msg: Apply, _: &Pid, cx: &mut Cx<'_, Self>) {
        match &self.phase {
            Phase::Aborted(reason) => (msg.reply)(Err(RegistrarError::Aborted(reason.clone()))),
            Phase::Idle => (msg.reply)(Err(RegistrarError::NotRecovered)),
            // Applied once the registry is recovered.
            Phase::Fetching(..) => {
                self.queue.push_back(msg);
                self.update_queue_gauge();
            }
            Phase::Ready => {
                self.queue.push_back(msg);
                self.update_queue_gauge();
                self.flush(cx);
            }
        }
    }
}

impl Handle<Stored> for Registrar {
    fn handle(&mut self, Stored(result, started): Stored, _: &Pid, cx: &mut Cx<'_, Self>) {
        let Some(in_flight) = self.in_flight.take() else {
            return;
        };
        if let Some(m) = &self.metrics {
            m.store_ms.record(started.elapsed());
        }
        if let Err(e) = result {
            self.abort(e.to_string(), Some(in_flight));
            return;
        }
        self.registry = Some(in_flight.next);
        for (reply, outcome) in in_flight.replies {
            reply(outcome);
        }
        if let Some((reply, before)) = in_flight.recovered {
            reply(Ok(before));
        }
        self.flush(cx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registrar::InMemoryStore;
    use std::sync::{Arc, Mutex};
    use wire::ids::AgentId;
    use wire::mesos::AgentInfo;
    use wire::resources::Resources;

    fn master() -> MasterInfo {
        MasterInfo {
            id: "m1".into(),
            ip: "127.0.0.1".into(),
            port: 5050,
            pid: "master@127.0.0.1:5050".into(),
            hostname: "h".into(),
            version: "1".into(),
        }
    }

    fn agent(id: &str) -> AgentInfo {
        AgentInfo {
            hostname: "h".into(),
            port: 5051,
            resources: Resources::new(),
            attributes: vec![],
            id: Some(AgentId::new(id)),
        }
    }

    type Outcomes = Arc<Mutex<Vec<Result<bool, RegistrarError>>>>;

    fn apply(r: &actors::ProcessRef<Registrar>, op: Operation, out: &Outcomes) {
        let out = out.clone();
        r.tell(
            r.pid(),
            Apply {
                operation: op,
                reply: Box::new(move |res| out.lock().unwrap().push(res)),
            },
        );
    }

    #[actix::test]
    async fn operations_are_applied_after_recovery_and_survive_a_new_registrar() {
        let node = actors::Node::bind(actors::NodeConfig::default())
            .await
            .unwrap();
        let store = InMemoryStore::default();
        let second = Duration::from_secs(1);
        let r = node
            .spawn(
                "registrar(1)",
                Registrar::new(Box::new(store.clone()), second, second),
            )
            .unwrap();
        let out: Outcomes = Default::default();
        apply(&r, Operation::AdmitAgent(agent("early")), &out);
        let recovered: Arc<Mutex<Option<Registry>>> = Default::default();
        let rec = recovered.clone();
        r.tell(
            r.pid(),
            RecoverRegistry {
                master: master(),
                reply: Box::new(move |res| *rec.lock().unwrap() = res.ok()),
            },
        );
        for id in ["a", "b", "c"] {
            apply(&r, Operation::AdmitAgent(agent(id)), &out);
        }
        apply(&r, Operation::AdmitAgent(agent("a")), &out);
        assert!(
            actors::testing::wait_until(Duration::from_secs(5), || out.lock().unwrap().len() == 5)
                .await
        );
        let outcomes = out.lock().unwrap().clone();
        assert_eq!(outcomes[0], Err(RegistrarError::NotRecovered));
        assert_eq!(&outcomes[1..4], &[Ok(true), Ok(true), Ok(true)]);
        assert!(matches!(outcomes[4], Err(RegistrarError::Refused(_))));
        assert_eq!(recovered.lock().unwrap().clone(), Some(Registry::default()));

        // A second registrar over the same store (a restarted master) sees them.
        let r2 = node
            .spawn(
                "registrar(2)",
                Registrar::new(Box::new(store), second, second),
            )
            .unwrap();
        let again: Arc<Mutex<Option<Registry>>> = Default::default();
        let rec = again.clone();
        r2.tell(
            r2.pid(),
            RecoverRegistry {
                master: master(),
                reply: Box::new(move |res| *rec.lock().unwrap() = res.ok()),
            },
        );
        assert!(
            actors::testing::wait_until(Duration::from_secs(5), || again.lock().unwrap().is_some())
                .await
        );
        let registry = again.lock().unwrap().clone().unwrap();
        assert_eq!(registry.agents.len(), 3);
        assert_eq!(
            registry.master,
            Some(master()),
            "the first master recorded itself"
        );
        let metrics = node.metrics().snapshot();
        assert!(metrics["registrar/state_store_ms/count"] >= 2.0);
        assert!(metrics["registrar/registry_size_bytes"] > 0.0);
        assert!(metrics.contains_key("registrar/state_fetch_ms"));

        // Operations that change nothing are answered without a store.
        let stores = metrics["registrar/state_store_ms/count"];
        let out: Outcomes = Default::default();
        apply(&r2, Operation::MarkReachable(agent("b")), &out);
        assert!(
            actors::testing::wait_until(Duration::from_secs(5), || out.lock().unwrap().len() == 1)
                .await
        );
        assert_eq!(out.lock().unwrap()[0], Ok(false));
        assert_eq!(
            node.metrics().snapshot()["registrar/state_store_ms/count"],
            stores
        );
    }

    /// A store whose writes fail.
    struct Broken;

    impl Store for Broken {
        fn fetch(&mut self) -> super::super::store::StoreFuture<Option<Vec<u8>>> {
            Box::pin(async { Ok(None) })
        }
        fn store(&mut self, _: Vec<u8>) -> super::super::store::StoreFuture<()> {
            Box::pin(async { Err(StoreError::Failed("disk on fire".into())) })
        }
    }

    #[actix::test]
    async fn a_failed_store_aborts_the_registrar_for_good() {
        let node = actors::Node::bind(actors::NodeConfig::default())
            .await
            .unwrap();
        let second = Duration::from_secs(1);
        let r = node
            .spawn(
                "registrar(1)",
                Registrar::new(Box::new(Broken), second, second),
            )
            .unwrap();
        let failed: Arc<Mutex<Option<RegistrarError>>> = Default::default();
        let f = failed.clone();
        r.tell(
            r.pid(),
            RecoverRegistry {
                master: master(),
                reply: Box::new(move |res| *f.lock().unwrap() = res.err()),
            },
        );
        assert!(
            actors::testing::wait_until(Duration::from_secs(5), || failed
                .lock()
                .unwrap()
                .is_some())
            .await
        );
        let out: Outcomes = Default::default();
        apply(&r, Operation::AdmitAgent(agent("a")), &out);
        assert!(
            actors::testing::wait_until(Duration::from_secs(5), || out.lock().unwrap().len() == 1)
                .await
        );
        assert!(matches!(
            out.lock().unwrap()[0],
            Err(RegistrarError::Aborted(_))
        ));
    }
}
