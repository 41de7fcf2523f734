//! The message transport of the `actors` runtime, each bench next to a
//! baseline measured in the same run:
//!
//! 1. `local_one_way`: one sender pushes [`LOCAL_N`] `Tick(u64)` messages to
//!    one counting actor on the same thread, by
//!    [`actors::ProcessRef::tell`] (typed handle) and by [`Node::send`]
//!    (registry lookup by pid), against a raw tokio unbounded mpsc between
//!    two tasks, `ractor` and `kameo`.
//! 2. `local_ping_pong`: two processes on one node exchange Ping/Pong by pid
//!    ([`Cx::send`]), one in flight, [`PING_PONG_N`] round trips, against two
//!    tokio tasks ping-ponging over two unbounded mpsc channels.
//! 3. `remote_one_way`: a process on node A sends [`REMOTE_N`] 64-byte
//!    payloads by pid to a counting process on node B over loopback (each
//!    node on its own arbiter thread), against a raw TCP stream on the same
//!    threads carrying the very same frames, written in batches of [`CHUNK`].
//! 4. `remote_rtt`: one Ping/Pong in flight between a process on node A and
//!    one on node B, against a raw TCP ping-pong of the same frames (tokio,
//!    `TCP_NODELAY`). One iteration is one round trip; the p50/p99 of the
//!    individual round trips timed during the bench are printed after it.
//!
//! Everything local runs on one current-thread runtime (an actix `System`),
//! so every variant pays the same for scheduling. The two remote nodes'
//! threads are pinned to CPUs as `BENCH_PIN` says (see
//! [`benches::placement`]; by default one CPU each), and each raw baseline
//! runs on the same two threads. Run with
//! `cargo bench -p benches --bench transport`; results are in BENCHMARKS.md.

use std::convert::Infallible;
use std::sync::{mpsc as std_mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use actix::System;
use actors::{Cx, Handle, Install, Node, NodeConfig, Pid, Process};
use benches::messages::{Payload, Ping, Pong, Tick};
use benches::{placement, quantile, FrameReader, Site};
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Notify};
use wire::{Frame, Message, DEFAULT_MAX_FRAME};

/// Messages per iteration of `local_one_way`.
const LOCAL_N: u64 = 100_000;
/// Round trips per iteration of `local_ping_pong`.
const PING_PONG_N: u64 = 100_000;
/// Messages per iteration of `remote_one_way`.
const REMOTE_N: u64 = 100_000;
/// Messages the remote sender sends before it lets the runtime run its
/// writer; also the batch the raw TCP sender encodes per `write`.
const CHUNK: u64 = 1024;

const BLASTER: &str = "blaster";
const COUNTER: &str = "counter";
const PINGER: &str = "pinger";
const PONGER: &str = "ponger";

// ---------------------------------------------------------------------------
// Processes

/// Counts the messages it receives and calls `on_done` at every `n`th.
struct Counter {
    n: u64,
    seen: u64,
    on_done: Box<dyn FnMut() + Send>,
}

impl Counter {
    fn new(n: u64, on_done: impl FnMut() + Send + 'static) -> Counter {
        Counter {
            n,
            seen: 0,
            on_done: Box::new(on_done),
        }
    }

    fn count(&mut self) {
        self.seen += 1;
        if self.seen == self.n {
            self.seen = 0;
            (self.on_done)();
        }
    }
}

impl Process for Counter {
    fn install(i: &mut Install<Self>) {
        i.message::<Tick>().message::<Payload>();
    }
}

impl Handle<Tick> for Counter {
    fn handle(&mut self, _: Tick, _: &Pid, _: &mut Cx<'_, Self>) {
        self.count();
    }
}

impl Handle<Payload> for Counter {
    fn handle(&mut self, _: Payload, _: &Pid, _: &mut Cx<'_, Self>) {
        self.count();
    }
}

/// What a [`Pinger`] reports after a run of round trips.
struct Report {
    elapsed: Duration,
    /// Each round trip, when asked to record them.
    samples: Vec<Duration>,
}

/// Starts a run of `n` round trips with `ponger`.
struct Start {
    n: u64,
    ponger: Pid,
    record: bool,
}

/// Sends a Ping, and the next one when the Pong comes back, `n` times.
struct Pinger {
    left: u64,
    started: Instant,
    last: Instant,
    samples: Option<Vec<Duration>>,
    on_done: Box<dyn FnMut(Report) + Send>,
}

impl Pinger {
    fn new(on_done: impl FnMut(Report) + Send + 'static) -> Pinger {
        Pinger {
            left: 0,
            started: Instant::now(),
            last: Instant::now(),
            samples: None,
            on_done: Box::new(on_done),
        }
    }
}

impl Process for Pinger {
    fn install(i: &mut Install<Self>) {
        i.message::<Pong>().local::<Start>();
    }
}

impl Handle<Start> for Pinger {
    fn handle(&mut self, start: Start, _: &Pid, cx: &mut Cx<'_, Self>) {
        self.left = start.n;
        self.samples = start.record.then(|| Vec::with_capacity(start.n as usize));
        self.started = Instant::now();
        self.last = self.started;
        cx.send(&start.ponger, Ping(0));
    }
}

impl Handle<Pong> for Pinger {
    fn handle(&mut self, Pong(n): Pong, from: &Pid, cx: &mut Cx<'_, Self>) {
        if let Some(samples) = &mut self.samples {
            let now = Instant::now();
            samples.push(now - self.last);
            self.last = now;
        }
        self.left -= 1;
        if self.left == 0 {
            let report = Report {
                elapsed: self.started.elapsed(),
                samples: self.samples.take().unwrap_or_default(),
            };
            (self.on_done)(report);
        } else {
            cx.send(from, Ping(n + 1));
        }
    }
}

/// Answers every Ping with a Pong.
struct Ponger;

impl Process for Ponger {
    fn install(i: &mut Install<Self>) {
        i.message::<Ping>();
    }
}

impl Handle<Ping> for Ponger {
    fn handle(&mut self, Ping(n): Ping, from: &Pid, cx: &mut Cx<'_, Self>) {
        cx.send(from, Pong(n));
    }
}

/// Sends `n` payloads to `to`, [`CHUNK`] per handler, yielding to the
/// runtime (so the session's writer runs) between chunks.
struct Blaster {
    to: Pid,
    left: u64,
}

/// Starts a burst of this many payloads.
struct Burst(u64);
/// Sends the next chunk of the burst.
struct Continue;

impl Blaster {
    fn step(&mut self, cx: &mut Cx<'_, Self>) {
        let chunk = self.left.min(CHUNK);
        for _ in 0..chunk {
            cx.send(&self.to, Payload([0x5a; 64]));
        }
        self.left -= chunk;
        if self.left > 0 {
            cx.defer(tokio::task::yield_now(), |()| Continue);
        }
    }
}

impl Process for Blaster {
    fn install(i: &mut Install<Self>) {
        i.local::<Burst>().local::<Continue>();
    }
}

impl Handle<Burst> for Blaster {
    fn handle(&mut self, Burst(n): Burst, _: &Pid, cx: &mut Cx<'_, Self>) {
        self.left = n;
        self.step(cx);
    }
}

impl Handle<Continue> for Blaster {
    fn handle(&mut self, _: Continue, _: &Pid, cx: &mut Cx<'_, Self>) {
        self.step(cx);
    }
}

// ---------------------------------------------------------------------------
// The same counting actor in the other actor crates

/// A counter's state outside the runtime: the baselines count alike.
struct Count {
    n: u64,
    seen: u64,
    done: Arc<Notify>,
}

impl Count {
    fn tick(&mut self) {
        self.seen += 1;
        if self.seen == self.n {
            self.seen = 0;
            self.done.notify_one();
        }
    }
}

struct RactorCounter;

impl ractor::Actor for RactorCounter {
    type Msg = u64;
    type State = Count;
    type Arguments = Count;

    async fn pre_start(
        &self,
        _: ractor::ActorRef<u64>,
        count: Count,
    ) -> Result<Count, ractor::ActorProcessingErr> {
        Ok(count)
    }

    async fn handle(
        &self,
        _: ractor::ActorRef<u64>,
        _: u64,
        count: &mut Count,
    ) -> Result<(), ractor::ActorProcessingErr> {
        count.tick();
        Ok(())
    }
}

struct KameoCounter(Count);

impl kameo::Actor for KameoCounter {
    type Args = Self;
    type Error = Infallible;

    async fn on_start(me: Self, _: kameo::actor::ActorRef<Self>) -> Result<Self, Infallible> {
        Ok(me)
    }
}

impl kameo::message::Message<u64> for KameoCounter {
    type Reply = ();

    async fn handle(&mut self, _: u64, _: &mut kameo::message::Context<Self, ()>) {
        self.0.tick();
    }
}

// ---------------------------------------------------------------------------
// 1. Local one-way throughput

fn local_one_way(c: &mut Criterion) {
    let system = System::new();
    let done = Arc::new(Notify::new());
    let (node, counter) = system.block_on({
        let done = done.clone();
        async move {
            let node = Node::bind(NodeConfig::default()).await.expect("bind");
            let counter = node
                .spawn(COUNTER, Counter::new(LOCAL_N, move || done.notify_one()))
                .expect("spawn the counter");
            (node, counter)
        }
    });
    let from = Pid::new("sender", node.address());

    let mut group = c.benchmark_group("local_one_way");
    group.throughput(Throughput::Elements(LOCAL_N));

    group.bench_function("ours_tell", |b| {
        b.iter(|| {
            system.block_on(async {
                for i in 0..LOCAL_N {
                    counter.tell(&from, Tick(i));
                }
                done.notified().await;
            })
        })
    });

    group.bench_function("ours_send_by_pid", |b| {
        let to = counter.pid().clone();
        b.iter(|| {
            system.block_on(async {
                for i in 0..LOCAL_N {
                    node.send(&from, &to, Tick(i));
                }
                done.notified().await;
            })
        })
    });

    let tx = system.block_on({
        let mut count = Count {
            n: LOCAL_N,
            seen: 0,
            done: done.clone(),
        };
        async move {
            let (tx, mut rx) = mpsc::unbounded_channel::<u64>();
            tokio::spawn(async move {
                while rx.recv().await.is_some() {
                    count.tick();
                }
            });
            tx
        }
    });
    group.bench_function("tokio_mpsc", |b| {
        b.iter(|| {
            system.block_on(async {
                for i in 0..LOCAL_N {
                    tx.send(i).expect("receiver alive");
                }
                done.notified().await;
            })
        })
    });
    drop(tx);

    let (ractor_ref, ractor_task) = system.block_on({
        let count = Count {
            n: LOCAL_N,
            seen: 0,
            done: done.clone(),
        };
        async move {
            ractor::Actor::spawn(None, RactorCounter, count)
                .await
                .expect("spawn the ractor counter")
        }
    });
    group.bench_function("ractor", |b| {
        b.iter(|| {
            system.block_on(async {
                for i in 0..LOCAL_N {
                    ractor_ref.cast(i).expect("actor alive");
                }
                done.notified().await;
            })
        })
    });
    ractor_ref.stop(None);
    system
        .block_on(ractor_task)
        .expect("the ractor counter stops");

    let kameo_ref = system.block_on({
        let count = Count {
            n: LOCAL_N,
            seen: 0,
            done: done.clone(),
        };
        async move {
            <KameoCounter as kameo::actor::Spawn>::spawn_with_mailbox(
                KameoCounter(count),
                kameo::mailbox::unbounded(),
            )
        }
    });
    group.bench_function("kameo", |b| {
        b.iter(|| {
            system.block_on(async {
                for i in 0..LOCAL_N {
                    kameo_ref.tell(i).try_send().expect("actor alive");
                }
                done.notified().await;
            })
        })
    });
    system.block_on(async {
        let _ = kameo_ref.stop_gracefully().await;
        kameo_ref.wait_for_shutdown().await;
    });

    group.finish();
    node.shutdown();
}

// ---------------------------------------------------------------------------
// 2. Local request/reply

fn local_ping_pong(c: &mut Criterion) {
    let system = System::new();
    let done = Arc::new(Notify::new());
    let (node, pinger, ponger) = system.block_on({
        let done = done.clone();
        async move {
            let node = Node::bind(NodeConfig::default()).await.expect("bind");
            let pinger = node
                .spawn(PINGER, Pinger::new(move |_| done.notify_one()))
                .expect("spawn the pinger");
            let ponger = node.spawn(PONGER, Ponger).expect("spawn the ponger");
            (node, pinger, ponger)
        }
    });

    let mut group = c.benchmark_group("local_ping_pong");
    group.throughput(Throughput::Elements(PING_PONG_N));

    group.bench_function("ours_send_by_pid", |b| {
        b.iter(|| {
            system.block_on(async {
                let start = Start {
                    n: PING_PONG_N,
                    ponger: ponger.pid().clone(),
                    record: false,
                };
                pinger.tell(pinger.pid(), start);
                done.notified().await;
            })
        })
    });

    let start_tx = system.block_on({
        let done = done.clone();
        async move {
            let (start_tx, mut start_rx) = mpsc::unbounded_channel::<u64>();
            let (ping_tx, mut ping_rx) = mpsc::unbounded_channel::<u64>();
            let (pong_tx, mut pong_rx) = mpsc::unbounded_channel::<u64>();
            tokio::spawn(async move {
                while let Some(n) = ping_rx.recv().await {
                    if pong_tx.send(n).is_err() {
                        break;
                    }
                }
            });
            tokio::spawn(async move {
                while let Some(n) = start_rx.recv().await {
                    for i in 0..n {
                        ping_tx.send(i).expect("ponger alive");
                        pong_rx.recv().await.expect("ponger alive");
                    }
                    done.notify_one();
                }
            });
            start_tx
        }
    });
    group.bench_function("tokio_mpsc", |b| {
        b.iter(|| {
            system.block_on(async {
                start_tx.send(PING_PONG_N).expect("pinger alive");
                done.notified().await;
            })
        })
    });
    drop(start_tx);

    group.finish();
    node.shutdown();
}

// ---------------------------------------------------------------------------
// 3. Remote one-way throughput

fn remote_one_way(c: &mut Criterion) {
    let _system = System::new();
    let (cpu_a, cpu_b) = placement();
    let (a, b) = (Site::start(cpu_a), Site::start(cpu_b));

    let (done_tx, done_rx) = std_mpsc::channel();
    let counter = b
        .node()
        .spawn_on(
            &b.arbiter(),
            COUNTER,
            Counter::new(REMOTE_N, move || {
                let _ = done_tx.send(());
            }),
        )
        .expect("spawn the counter");
    let blaster = a
        .node()
        .spawn_on(
            &a.arbiter(),
            BLASTER,
            Blaster {
                to: counter.pid().clone(),
                left: 0,
            },
        )
        .expect("spawn the blaster");

    let mut group = c.benchmark_group("remote_one_way");
    group.throughput(Throughput::Elements(REMOTE_N));
    group.sampling_mode(SamplingMode::Flat);

    group.bench_function("ours_send_by_pid", |bench| {
        bench.iter(|| {
            blaster.tell(blaster.pid(), Burst(REMOTE_N));
            done_rx.recv().expect("the counter reports");
        })
    });

    let (raw_tx, raw_done) = raw_one_way(&a, &b);
    group.bench_function("raw_tcp", |bench| {
        bench.iter(|| {
            raw_tx.send(REMOTE_N).expect("raw sender alive");
            raw_done.recv().expect("raw receiver reports");
        })
    });
    drop(raw_tx);

    group.finish();
    a.stop();
    b.stop();
}

/// A raw TCP connection from site `a` to site `b`: `a` sends `n` payload
/// frames for each `n` put into the returned sender, encoding [`CHUNK`] per
/// write; `b` decodes the frames and reports every [`REMOTE_N`]th.
fn raw_one_way(a: &Site, b: &Site) -> (mpsc::UnboundedSender<u64>, std_mpsc::Receiver<()>) {
    let (done_tx, done_rx) = std_mpsc::channel();
    let address = b.block_on(move || async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("bound address");
        actix::spawn(async move {
            let (mut stream, _) = listener.accept().await.expect("accept");
            stream.set_nodelay(true).expect("nodelay");
            let mut reader = FrameReader::default();
            let mut seen = 0;
            while reader.fill(&mut stream).await.unwrap_or(0) > 0 {
                while let Some(frame) = reader.next_frame() {
                    std::hint::black_box(frame);
                    seen += 1;
                    if seen == REMOTE_N {
                        seen = 0;
                        let _ = done_tx.send(());
                    }
                }
            }
        });
        address
    });
    let (tx, mut rx) = mpsc::unbounded_channel::<u64>();
    a.block_on(move || async move {
        let mut stream = TcpStream::connect(address).await.expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        actix::spawn(async move {
            let mut buf = Vec::with_capacity(128 * CHUNK as usize);
            while let Some(mut left) = rx.recv().await {
                while left > 0 {
                    let chunk = left.min(CHUNK);
                    for _ in 0..chunk {
                        Frame::encode(
                            &mut buf,
                            BLASTER,
                            COUNTER,
                            Payload::NAME,
                            &Payload([0x5a; 64]),
                            DEFAULT_MAX_FRAME,
                        )
                        .expect("encode");
                    }
                    stream.write_all(&buf).await.expect("write");
                    buf.clear();
                    left -= chunk;
                }
            }
        });
    });
    (tx, done_rx)
}

// ---------------------------------------------------------------------------
// 4. Remote round-trip latency

/// Round trips timed during the bench, for the percentiles.
#[derive(Clone, Default)]
struct Samples(Arc<Mutex<Vec<Duration>>>);

impl Samples {
    fn add(&self, mut more: Vec<Duration>) {
        self.0.lock().expect("samples").append(&mut more);
    }

    fn print(&self, what: &str) {
        let mut samples = std::mem::take(&mut *self.0.lock().expect("samples"));
        if samples.is_empty() {
            return;
        }
        let p50 = quantile(&mut samples, 0.50);
        let p99 = quantile(&mut samples, 0.99);
        println!(
            "{what}: {} round trips, p50 {:.2} µs, p99 {:.2} µs",
            samples.len(),
            p50.as_secs_f64() * 1e6,
            p99.as_secs_f64() * 1e6,
        );
    }
}

fn remote_rtt(c: &mut Criterion) {
    let _system = System::new();
    let (cpu_a, cpu_b) = placement();
    let (a, b) = (Site::start(cpu_a), Site::start(cpu_b));

    let (report_tx, report_rx) = std_mpsc::channel::<Report>();
    let ponger = b
        .node()
        .spawn_on(&b.arbiter(), PONGER, Ponger)
        .expect("spawn the ponger");
    let pinger = a
        .node()
        .spawn_on(
            &a.arbiter(),
            PINGER,
            Pinger::new(move |report| {
                let _ = report_tx.send(report);
            }),
        )
        .expect("spawn the pinger");

    let mut group = c.benchmark_group("remote_rtt");
    group.throughput(Throughput::Elements(1));
    group.sample_size(20);

    let ours = Samples::default();
    group.bench_function("ours_send_by_pid", |bench| {
        bench.iter_custom(|iters| {
            let start = Start {
                n: iters,
                ponger: ponger.pid().clone(),
                record: true,
            };
            pinger.tell(pinger.pid(), start);
            let report = report_rx.recv().expect("the pinger reports");
            ours.add(report.samples);
            report.elapsed
        })
    });

    let (raw_tx, raw_rx) = raw_rtt(&a, &b);
    let raw = Samples::default();
    group.bench_function("raw_tcp", |bench| {
        bench.iter_custom(|iters| {
            raw_tx.send(iters).expect("raw pinger alive");
            let report = raw_rx.recv().expect("raw pinger reports");
            raw.add(report.samples);
            report.elapsed
        })
    });
    drop(raw_tx);

    group.finish();
    ours.print("remote_rtt/ours_send_by_pid");
    raw.print("remote_rtt/raw_tcp");
    a.stop();
    b.stop();
}

/// A raw TCP ping-pong of the same frames from site `a` to site `b`: for
/// each `n` put into the returned sender, `a` makes `n` round trips and
/// reports them.
fn raw_rtt(a: &Site, b: &Site) -> (mpsc::UnboundedSender<u64>, std_mpsc::Receiver<Report>) {
    let address = b.block_on(|| async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("bound address");
        actix::spawn(async move {
            let (mut stream, _) = listener.accept().await.expect("accept");
            stream.set_nodelay(true).expect("nodelay");
            let mut reader = FrameReader::default();
            let mut out = Vec::new();
            while reader.fill(&mut stream).await.unwrap_or(0) > 0 {
                while let Some(frame) = reader.next_frame() {
                    let Ping(n) = wire::codec::decode_payload(frame.payload).expect("a ping");
                    Frame::encode(
                        &mut out,
                        PONGER,
                        PINGER,
                        Pong::NAME,
                        &Pong(n),
                        DEFAULT_MAX_FRAME,
                    )
                    .expect("encode");
                }
                if !out.is_empty() && stream.write_all(&out).await.is_err() {
                    break;
                }
                out.clear();
            }
        });
        address
    });
    let (tx, mut rx) = mpsc::unbounded_channel::<u64>();
    let (report_tx, report_rx) = std_mpsc::channel();
    a.block_on(move || async move {
        let mut stream = TcpStream::connect(address).await.expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        actix::spawn(async move {
            let mut reader = FrameReader::default();
            let mut out = Vec::new();
            while let Some(n) = rx.recv().await {
                let mut samples = Vec::with_capacity(n as usize);
                let started = Instant::now();
                let mut last = started;
                for i in 0..n {
                    Frame::encode(
                        &mut out,
                        PINGER,
                        PONGER,
                        Ping::NAME,
                        &Ping(i),
                        DEFAULT_MAX_FRAME,
                    )
                    .expect("encode");
                    stream.write_all(&out).await.expect("write");
                    out.clear();
                    let pong = loop {
                        if let Some(frame) = reader.next_frame() {
                            break wire::codec::decode_payload::<Pong>(frame.payload)
                                .expect("a pong");
                        }
                        let read = reader.fill(&mut stream).await.expect("read");
                        assert!(read > 0, "the raw ponger hung up");
                    };
                    std::hint::black_box(pong);
                    let now = Instant::now();
                    samples.push(now - last);
                    last = now;
                }
                let report = Report {
                    elapsed: started.elapsed(),
                    samples,
                };
                if report_tx.send(report).is_err() {
                    break;
                }
            }
        });
    });
    (tx, report_rx)
}

criterion_group! {
    name = transport;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = local_one_way, local_ping_pong, remote_one_way, remote_rtt
}
criterion_main!(transport);
