//! The registrar at the sizes of Mesos's registrar benchmark: admitting 10k
//! and 50k agents (each admission an operation on the registry, applied in
//! batches and stored once per batch) and recovering a registry of that
//! size. Targets: 50k admitted in ≤ 3 s and recovered in ≤ 0.5 s. The
//! baseline in the same run is the floor: serializing and deserializing a
//! registry of the same size once.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actors::{Node, NodeConfig};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use mesos::registrar::{Apply, InMemoryStore, RecoverRegistry, Registrar};
use wire::ids::AgentId;
use wire::mesos::{AgentInfo, MasterInfo};
use wire::registry::{Operation, Registry};
use wire::resources::Resources;

const SECOND: Duration = Duration::from_secs(60);

fn master() -> MasterInfo {
    MasterInfo {
        id: "bench".into(),
        ip: "127.0.0.1".into(),
        port: 5050,
        pid: "master@127.0.0.1:5050".into(),
        hostname: "localhost".into(),
        version: wire::mesos::VERSION.into(),
    }
}

fn agent(n: usize, resources: &Resources) -> AgentInfo {
    AgentInfo {
        hostname: format!("agent{n}.example.com"),
        port: 5051,
        resources: resources.clone(),
        attributes: vec![],
        id: Some(AgentId::new(format!("bench-S{n}"))),
    }
}

/// Admits `count` agents through a fresh registrar over `store`; returns
/// how long from the first operation sent to the last answered.
async fn admit(node: &Node, store: InMemoryStore, count: usize) -> Duration {
    let registrar = node
        .spawn(
            node.generate_id("registrar"),
            Registrar::new(Box::new(store), SECOND, SECOND),
        )
        .expect("spawn");
    let (tx, rx) = tokio::sync::oneshot::channel();
    registrar.tell(
        registrar.pid(),
        RecoverRegistry {
            master: master(),
            reply: Box::new(move |r| {
                let _ = tx.send(r.is_ok());
            }),
        },
    );
    assert!(rx.await.unwrap_or(false));
    let resources = Resources::parse("cpus:16;mem:65536;disk:100000;ports:[31000-32000]", "*")
        .expect("resources");
    let left = Arc::new(Mutex::new(count));
    let (done_tx, done) = tokio::sync::oneshot::channel();
    let done_tx = Arc::new(Mutex::new(Some(done_tx)));
    let started = Instant::now();
    for n in 0..count {
        let (left, done_tx) = (left.clone(), done_tx.clone());
        registrar.tell(
            registrar.pid(),
            Apply {
                operation: Operation::AdmitAgent(agent(n, &resources)),
                reply: Box::new(move |r| {
                    assert_eq!(r, Ok(true));
                    let mut left = left.lock().unwrap();
                    *left -= 1;
                    if *left == 0 {
                        if let Some(tx) = done_tx.lock().unwrap().take() {
                            let _ = tx.send(());
                        }
                    }
                }),
            },
        );
    }
    let _ = done.await;
    let took = started.elapsed();
    node.terminate(registrar.pid());
    took
}

/// Recovers the registry in `store` with a fresh registrar.
async fn recover(node: &Node, store: InMemoryStore, expect: usize) -> Duration {
    let registrar = node
        .spawn(
            node.generate_id("registrar"),
            Registrar::new(Box::new(store), SECOND, SECOND),
        )
        .expect("spawn");
    let (tx, rx) = tokio::sync::oneshot::channel();
    let started = Instant::now();
    registrar.tell(
        registrar.pid(),
        RecoverRegistry {
            master: master(),
            reply: Box::new(move |r| drop(tx.send(r.map(|reg| reg.agents.len())))),
        },
    );
    let agents = rx.await.expect("reply").expect("recovered");
    let took = started.elapsed();
    assert_eq!(agents, expect);
    node.terminate(registrar.pid());
    took
}

fn registrar(c: &mut Criterion) {
    let mut group = c.benchmark_group("registrar");
    group.sample_size(10);
    let system = actix::System::new();
    let node = system
        .block_on(Node::bind(NodeConfig::default()))
        .expect("node");
    for count in [10_000usize, 50_000] {
        group.bench_with_input(BenchmarkId::new("admit", count), &count, |b, &count| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    total += system.block_on(admit(&node, InMemoryStore::default(), count));
                }
                total
            })
        });
        let store = InMemoryStore::default();
        system.block_on(admit(&node, store.clone(), count));
        group.bench_with_input(BenchmarkId::new("recover", count), &count, |b, &count| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    total += system.block_on(recover(&node, store.clone(), count));
                }
                total
            })
        });
        let resources = Resources::parse("cpus:16;mem:65536;disk:100000;ports:[31000-32000]", "*")
            .expect("resources");
        let registry = Registry {
            master: Some(master()),
            agents: (0..count)
                .map(|n| {
                    let a = agent(n, &resources);
                    (a.id.clone().expect("id"), a)
                })
                .collect(),
            ..Registry::default()
        };
        group.bench_with_input(
            BenchmarkId::new("baseline_encode_decode_once", count),
            &registry,
            |b, registry| {
                b.iter(|| {
                    let bytes = postcard::to_allocvec(registry).expect("encode");
                    postcard::from_bytes::<Registry>(&bytes)
                        .expect("decode")
                        .agents
                        .len()
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, registrar);
criterion_main!(benches);
