//! mesos-dns's hot paths: queries per second of A and SRV lookups over UDP
//! on loopback with 10,000 running tasks, against a baseline in the same
//! run; and the memory of 100,000 tasks' records.
//!
//! - ours: `mesos::dns::server::serve_udp` answering from the record set
//!   that `records::build` makes of 10,000 tasks (three agents);
//! - baseline: the floor for any server on the same library: one UDP
//!   loop that decodes the query with hickory-proto, looks the name up in
//!   a static zone of ready-made records (the same names and data) and
//!   encodes the reply within the client's UDP size (512 bytes, or its
//!   EDNS0 size) with the library's own truncating encoder, as
//!   hickory-server does; no shuffling, no additional section, no SOA,
//!   no metrics.
//!
//! The client is one thread keeping `WINDOW` queries in flight over one
//! socket, cycling through the tasks' names, `ROUNDS` times for `ROUND`
//! per server and row, the two servers taking turns (the machine is
//! shared: turns spread its other load over both). The
//! servers run on a current-thread tokio runtime on a thread of their own,
//! as `mesos-dns` does. Memory is counted by a global allocator that adds
//! up live bytes, before and after building the record set.
//!
//! Then the time from a task's `TASK_RUNNING` at the master until its
//! name resolves, for mesos-dns following the event stream and for the
//! same server polling `/master/state` every `refreshSeconds` (what
//! Mesos-DNS does): a stand-in master ([`fake_master`]) with 100 or
//! 10,000 running tasks flips one more task to running, in its state and
//! on its stream at the same instant, at a random phase of the refresh
//! period; a client queries the task's name every millisecond until it
//! answers. `refreshSeconds` is scaled down from the guide's 60 to
//! `REFRESH_SECONDS` so the bench stays quick: a poller's wait scales with
//! it, the stream's does not.
//!
//! Not a criterion bench (one row is seconds of load): `cargo bench -p
//! benches --bench dns`. `DNS_BENCH_TASKS` changes the 10,000.

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::str::FromStr;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hickory_proto::op::{Edns, Message, MessageType, Query};
use hickory_proto::rr::rdata::{A, SRV};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::{BinEncodable, BinEncoder};
use mesos::dns::records::{self, Inputs};
use mesos::dns::state::{Agent, Cluster, Framework, Task};
use mesos::dns::{server, source, Config, Shared};

#[path = "dns/fake_master.rs"]
mod fake_master;
use fake_master::{FakeMaster, FakeTask};

/// Live heap bytes.
static LIVE: AtomicIsize = AtomicIsize::new(0);

struct Counting;

// SAFETY: every call is passed to the system allocator unchanged; the
// counter only adds up the sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const TASKS: usize = 10_000;
const MEMORY_TASKS: usize = 100_000;
const WINDOW: usize = 32;
const ROUNDS: u32 = 6;
const ROUND: Duration = Duration::from_millis(500);
/// `refreshSeconds` of the update-latency rows (the guide's is 60).
const REFRESH_SECONDS: u64 = 1;
const TRIALS: usize = 10;

fn config() -> Config {
    Config {
        masters: vec!["127.0.0.1:5050".into()],
        listener: IpAddr::from([127, 0, 0, 1]),
        port: 0,
        ..Config::default()
    }
}

/// `tasks` running tasks of framework `marathon`, app `web<n % 100>`, on
/// three agents, each with one host port.
fn cluster(tasks: usize) -> Cluster {
    let mut c = Cluster {
        leader: Some("127.0.0.1:5050".into()),
        ..Cluster::default()
    };
    for a in 0..3u8 {
        c.agents.insert(
            format!("A-S{a}"),
            Agent {
                host: format!("10.0.0.{a}"),
                port: Some(5051),
                ips: vec![IpAddr::from([10, 0, 0, a])],
            },
        );
    }
    c.frameworks.insert(
        "F".into(),
        Framework {
            name: "marathon".into(),
            ips: vec![IpAddr::from([10, 0, 1, 1])],
            port: Some(8080),
        },
    );
    for i in 0..tasks {
        let id = format!("web{}.{i}", i % 100);
        c.tasks.insert(
            ("F".into(), id.clone()),
            Task {
                id,
                name: format!("web{}", i % 100),
                framework_id: "F".into(),
                agent_id: format!("A-S{}", i % 3),
                state: "TASK_RUNNING".into(),
                ports: vec![31000 + (i % 1000) as u16],
                ..Task::default()
            },
        );
    }
    c
}

fn build(c: &Cluster, config: &Config) -> records::RecordSet {
    records::build(
        c,
        &Inputs {
            config,
            self_ips: &[],
        },
    )
}

/// The query names of a row: each task's canonical A name, or each app's
/// SRV name.
fn names(rs: &records::RecordSet, qtype: RecordType) -> Vec<String> {
    let mut names: Vec<String> = match qtype {
        RecordType::SRV => rs
            .srv
            .keys()
            .filter(|n| n.starts_with("_web"))
            .cloned()
            .collect(),
        _ => rs.a.keys().filter(|n| n.contains("-s")).cloned().collect(),
    };
    names.sort();
    names
}

/// The baseline: a static zone answered by decode, lookup, encode.
async fn baseline(socket: tokio::net::UdpSocket, zone: HashMap<(Name, RecordType), Vec<Record>>) {
    let mut buf = vec![0u8; 4096];
    loop {
        let Ok((n, peer)) = socket.recv_from(&mut buf).await else {
            continue;
        };
        let Ok(request) = Message::from_vec(&buf[..n]) else {
            continue;
        };
        let Some(q) = request.queries().first() else {
            continue;
        };
        let mut reply = Message::new();
        reply
            .set_id(request.id())
            .set_message_type(MessageType::Response)
            .set_authoritative(true)
            .add_query(q.clone());
        if let Some(records) = zone.get(&(q.name().clone(), q.query_type())) {
            reply.add_answers(records.iter().cloned());
        }
        let max = request.max_payload().max(512);
        let mut bytes = Vec::with_capacity(usize::from(max));
        let mut encoder = BinEncoder::new(&mut bytes);
        encoder.set_max_size(max);
        if reply.emit(&mut encoder).is_ok() {
            let _ = socket.send_to(&bytes, peer).await;
        }
    }
}

fn zone(rs: &records::RecordSet) -> HashMap<(Name, RecordType), Vec<Record>> {
    let mut zone = HashMap::new();
    for (name, ips) in &rs.a {
        let Ok(owner) = Name::from_str(name) else {
            continue;
        };
        let records = ips
            .iter()
            .map(|ip| Record::from_rdata(owner.clone(), 60, RData::A(A(*ip))))
            .collect();
        zone.insert((owner, RecordType::A), records);
    }
    for (name, targets) in &rs.srv {
        let Ok(owner) = Name::from_str(name) else {
            continue;
        };
        let records = targets
            .iter()
            .filter_map(|(t, p)| {
                let target = Name::from_str(t).ok()?;
                Some(Record::from_rdata(
                    owner.clone(),
                    60,
                    RData::SRV(SRV::new(0, 1, *p, target)),
                ))
            })
            .collect();
        zone.insert((owner, RecordType::SRV), records);
    }
    zone
}

/// Queries per second answered by the server at `at`; `edns` is the UDP
/// size the queries offer (none: 512 bytes).
fn load(
    at: SocketAddr,
    names: &[String],
    qtype: RecordType,
    edns: Option<u16>,
    time: Duration,
) -> f64 {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let packets: Vec<Vec<u8>> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let mut m = Message::new();
            m.set_id(i as u16)
                .add_query(Query::query(Name::from_str(n).expect("name"), qtype));
            if let Some(size) = edns {
                let mut e = Edns::new();
                e.set_max_payload(size);
                m.set_edns(e);
            }
            m.to_vec().expect("encode")
        })
        .collect();
    let end = Instant::now() + time;
    let started = Instant::now();
    let (mut answered, mut next) = (0u64, 0usize);
    let mut buf = vec![0u8; 65535];
    while Instant::now() < end {
        for _ in 0..WINDOW {
            let _ = socket.send_to(&packets[next % packets.len()], at);
            next += 1;
        }
        for _ in 0..WINDOW {
            match socket.recv(&mut buf) {
                Ok(_) => answered += 1,
                Err(_) => break,
            }
        }
    }
    answered as f64 / started.elapsed().as_secs_f64()
}

/// Whether `name` has an A record at `at` now.
fn resolves(socket: &UdpSocket, at: SocketAddr, name: &Name) -> bool {
    let mut m = Message::new();
    m.set_id(fastrand::u16(..))
        .add_query(Query::query(name.clone(), RecordType::A));
    let Ok(packet) = m.to_vec() else {
        return false;
    };
    if socket.send_to(&packet, at).is_err() {
        return false;
    }
    // Replies to earlier queries that came after their timeout are skipped.
    let mut buf = vec![0u8; 4096];
    while let Ok(n) = socket.recv(&mut buf) {
        if let Ok(reply) = Message::from_vec(&buf[..n]) {
            if reply.id() == m.id() {
                return !reply.answers().is_empty();
            }
        }
    }
    false
}

/// Times from `TASK_RUNNING` at a stand-in master with `tasks` running
/// tasks to the task's name resolving, `TRIALS` times; `streams` says
/// whether the master has an event stream (else mesos-dns polls it).
fn update_latency(tasks: usize, streams: bool) -> Vec<Duration> {
    let fake_tasks: Vec<FakeTask> = (0..tasks)
        .map(|i| FakeTask {
            id: format!("web{}.{i}", i % 100),
            name: format!("web{}", i % 100),
            agent: i % 3,
            port: 31000 + (i % 1000) as u16,
            state: "TASK_RUNNING",
        })
        .collect();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let master = FakeMaster::start(fake_tasks, streams).await;
            let shared = Shared::new(Config {
                masters: vec![master.address().to_string()],
                refresh_seconds: REFRESH_SECONDS,
                ..config()
            });
            let (udp, _tcp) = server::bind(&shared).await.expect("bind");
            let at = udp.local_addr().expect("address");
            tokio::spawn(server::serve_udp(shared.clone(), udp));
            tokio::spawn(source::run(shared.clone()));
            ready_tx.send((master, shared, at)).expect("ready");
            std::future::pending::<()>().await;
        });
    });
    let (master, shared, at) = ready_rx.recv().expect("started");
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let wait = |what: &str, mut done: Box<dyn FnMut() -> bool + '_>| {
        let end = Instant::now() + Duration::from_secs(60);
        while !done() {
            assert!(
                Instant::now() < end,
                "{what} did not happen within a minute"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    };
    wait("the first load", Box::new(|| shared.records().is_some()));
    let mut out = Vec::new();
    for k in 0..TRIALS {
        let mut task = FakeTask {
            id: format!("new{k}.x"),
            name: format!("new{k}"),
            agent: k % 3,
            port: 40000 + k as u16,
            state: "TASK_STAGING",
        };
        let before = shared.records();
        master.change(task.clone(), streams.then(|| FakeMaster::task_added(&task)));
        if streams {
            // The staging task's own rebuild is over before the clock starts.
            wait(
                "the staging task's rebuild",
                Box::new(|| match (shared.records(), &before) {
                    (Some(now), Some(then)) => !Arc::ptr_eq(&now, then),
                    _ => false,
                }),
            );
        }
        // A random phase of the refresh period.
        std::thread::sleep(Duration::from_millis(fastrand::u64(
            0..REFRESH_SECONDS * 1000,
        )));
        let name = Name::from_str(&format!("new{k}.marathon.mesos.")).expect("name");
        task.state = "TASK_RUNNING";
        let event = streams.then(|| FakeMaster::task_updated(&task));
        let running = Instant::now();
        master.change(task, event);
        wait("resolving", Box::new(|| resolves(&socket, at, &name)));
        out.push(running.elapsed());
    }
    out.sort();
    out
}

fn main() {
    let tasks = std::env::var("DNS_BENCH_TASKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(TASKS);
    let c = cluster(tasks);
    let config = config();
    let rs = build(&c, &config);
    let zone = zone(&rs);
    let a_names = names(&rs, RecordType::A);
    let srv_names = names(&rs, RecordType::SRV);

    let shared = Shared::new(config.clone());
    shared.publish(rs);
    let ours = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    let theirs = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    let (ours_at, theirs_at) = (
        ours.local_addr().expect("a"),
        theirs.local_addr().expect("a"),
    );
    for (socket, is_ours) in [(ours, true), (theirs, false)] {
        let (shared, zone) = (Arc::clone(&shared), zone.clone());
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                socket.set_nonblocking(true).expect("nonblocking");
                let socket = tokio::net::UdpSocket::from_std(socket).expect("tokio socket");
                if is_ours {
                    server::serve_udp(shared, socket).await;
                } else {
                    baseline(socket, zone).await;
                }
            });
        });
    }
    std::thread::sleep(Duration::from_millis(200));

    println!(
        "{tasks} running tasks; {} A names, {} SRV names queried",
        a_names.len(),
        srv_names.len()
    );
    println!("| query | ours (qps) | static zone, same library (qps) | ours / baseline |");
    println!("|---|---|---|---|");
    for (label, names, qtype, edns) in [
        ("A, canonical task name", &a_names, RecordType::A, None),
        (
            "SRV, `_web<n>._tcp.marathon.mesos.` (100 targets each), 512 bytes",
            &srv_names,
            RecordType::SRV,
            None,
        ),
        (
            "SRV, the same, EDNS0 4096 bytes",
            &srv_names,
            RecordType::SRV,
            Some(4096),
        ),
    ] {
        let (mut ours, mut theirs) = (0.0, 0.0);
        for _ in 0..ROUNDS {
            theirs += load(theirs_at, names, qtype, edns, ROUND) / f64::from(ROUNDS);
            ours += load(ours_at, names, qtype, edns, ROUND) / f64::from(ROUNDS);
        }
        println!(
            "| {label} | {ours:.0} | {theirs:.0} | {:.2} |",
            ours / theirs
        );
    }

    println!();
    println!(
        "| running tasks | source | refreshSeconds | TASK_RUNNING -> resolvable: median | max | \
         rebuilding the record set |"
    );
    println!("|---|---|---|---|---|---|");
    for tasks in [100, tasks] {
        let c = cluster(tasks);
        let started = Instant::now();
        let _ = build(&c, &config);
        let rebuild = started.elapsed();
        for (label, streams) in [("event stream", true), ("polling /master/state", false)] {
            let times = update_latency(tasks, streams);
            println!(
                "| {tasks} | {label} | {REFRESH_SECONDS} | {:.1} ms | {:.1} ms | {:.1} ms |",
                times[times.len() / 2].as_secs_f64() * 1000.0,
                times[times.len() - 1].as_secs_f64() * 1000.0,
                rebuild.as_secs_f64() * 1000.0,
            );
        }
    }

    let before = LIVE.load(Ordering::Relaxed);
    let big = cluster(MEMORY_TASKS);
    let cluster_bytes = LIVE.load(Ordering::Relaxed) - before;
    let started = Instant::now();
    let set = build(&big, &config);
    let build_time = started.elapsed();
    let record_bytes = LIVE.load(Ordering::Relaxed) - before - cluster_bytes;
    println!();
    println!(
        "{MEMORY_TASKS} tasks: {} records in {:.1} MiB ({:.0} bytes per task), built in {build_time:?}; \
         the cluster view they come from: {:.1} MiB",
        set.len(),
        record_bytes as f64 / (1 << 20) as f64,
        record_bytes as f64 / MEMORY_TASKS as f64,
        cluster_bytes as f64 / (1 << 20) as f64,
    );
}
