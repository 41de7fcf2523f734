//! The replicated log's append path, next to its baseline in the same run:
//!
//! 1. `fdatasync_file` (baseline): write a [`PAYLOAD`]-byte record to one
//!    local file and `fdatasync` it, one record at a time: what one durable
//!    append costs on this disk with no replication at all.
//! 2. `quorum_2_of_3/in_flight_1`: `Log::append` with one append in flight,
//!    three replicas (three nodes on loopback, each on its own arbiter
//!    thread) over `RedbStorage` in a temporary directory, quorum 2: the
//!    latency of a lone append (a promise-free round: write to all, commit
//!    with fsync on each replica, quorum of answers, learned broadcast).
//! 3. `quorum_2_of_3/in_flight_N`: N appends in flight, so the coordinator
//!    batches queued appends into rounds (up to 256 positions each, up to 4
//!    rounds in flight) and each replica commits a round, or several queued
//!    ones, with one fsync.
//!
//! After the criterion runs, a fixed run of each prints p50/p99 latency
//! and appends/s. Run with `cargo bench -p benches --bench log`.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix::System;
use actors::Pid;
use benches::{quantile, Site};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use mesos::log::{Log, LogConfig, RedbStorage, ReplicaProcess};
use tokio::task::JoinSet;

/// Bytes per appended entry.
const PAYLOAD: usize = 100;
/// Appends in flight for the batched runs.
const IN_FLIGHT: [u64; 2] = [16, 64];
/// Appends of each fixed run whose latencies are printed.
const REPORT_N: u64 = 20_000;

/// Three replicas on three sites and a log on each; the first is elected.
struct Cluster {
    sites: Vec<Site>,
    logs: Vec<Log>,
    _dirs: Vec<tempfile::TempDir>,
}

impl Cluster {
    fn start() -> Cluster {
        let sites: Vec<Site> = (0..3).map(|_| Site::start(None)).collect();
        let dirs: Vec<tempfile::TempDir> = (0..3)
            .map(|_| tempfile::tempdir().expect("a temporary directory"))
            .collect();
        let replicas: Vec<Pid> = sites
            .iter()
            .zip(&dirs)
            .map(|(site, dir)| {
                let node = site.node().clone();
                let path = dir.path().to_owned();
                site.block_on(move || async move {
                    let storage =
                        RedbStorage::open_in_work_dir(&path).expect("open the replica's file");
                    ReplicaProcess::spawn(&node, storage).expect("spawn a replica")
                })
            })
            .collect();
        let logs: Vec<Log> = sites
            .iter()
            .zip(&replicas)
            .map(|(site, local)| {
                let node = site.node().clone();
                let config = LogConfig::new(2, local.clone(), replicas.clone());
                site.block_on(
                    move || async move { Log::spawn(&node, config).expect("spawn a log") },
                )
            })
            .collect();
        for (site, log) in sites.iter().zip(&logs) {
            let log = log.clone();
            site.block_on(move || async move { log.recovered().await.expect("recovered") });
        }
        let writer = logs[0].clone();
        sites[0].block_on(move || async move { writer.start().await.expect("elected") });
        Cluster {
            sites,
            logs,
            _dirs: dirs,
        }
    }

    /// Appends `n` entries through the elected log with `in_flight` of them
    /// outstanding at any time; returns the wall time and each latency.
    fn appends(&self, n: u64, in_flight: u64) -> (Duration, Vec<Duration>) {
        let log = self.logs[0].clone();
        self.sites[0].block_on(move || async move {
            let started = Instant::now();
            let mut tasks = JoinSet::new();
            for w in 0..in_flight {
                let count = n / in_flight + u64::from(w < n % in_flight);
                let log = log.clone();
                tasks.spawn(async move {
                    let mut latencies = Vec::with_capacity(count as usize);
                    for _ in 0..count {
                        let t = Instant::now();
                        log.append(vec![7; PAYLOAD]).await.expect("append");
                        latencies.push(t.elapsed());
                    }
                    latencies
                });
            }
            let mut all = Vec::with_capacity(n as usize);
            while let Some(done) = tasks.join_next().await {
                all.extend(done.expect("an appender task"));
            }
            (started.elapsed(), all)
        })
    }

    fn stop(self) {
        for site in self.sites {
            site.stop();
        }
    }
}

/// `n` records of [`PAYLOAD`] bytes, each written and fdatasync'ed.
fn fsynced_records(file: &mut File, n: u64) -> (Duration, Vec<Duration>) {
    let record = [7u8; PAYLOAD];
    let mut latencies = Vec::with_capacity(n as usize);
    let started = Instant::now();
    for _ in 0..n {
        let t = Instant::now();
        file.write_all(&record).expect("write a record");
        file.sync_data().expect("fdatasync");
        latencies.push(t.elapsed());
    }
    (started.elapsed(), latencies)
}

fn report(what: &str, (elapsed, mut latencies): (Duration, Vec<Duration>)) {
    let n = latencies.len();
    let p50 = quantile(&mut latencies, 0.50);
    let p99 = quantile(&mut latencies, 0.99);
    println!(
        "{what}: {n} appends in {:.2} s = {:.0} appends/s, latency p50 {:.3} ms, p99 {:.3} ms",
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64(),
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
    );
}

fn open_baseline(dir: &Path) -> File {
    File::create(dir.join("baseline.log")).expect("create the baseline file")
}

fn log_append(c: &mut Criterion) {
    let _system = System::new();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = Arc::new(Mutex::new(open_baseline(dir.path())));
    let cluster = Cluster::start();

    let mut group = c.benchmark_group("log_append");
    group.throughput(Throughput::Elements(1));
    group.bench_function("fdatasync_file", |bench| {
        bench.iter_custom(|iters| fsynced_records(&mut file.lock().expect("file"), iters).0)
    });
    for in_flight in std::iter::once(1).chain(IN_FLIGHT) {
        let name = format!("quorum_2_of_3/in_flight_{in_flight}");
        group.bench_function(&name, |bench| {
            bench.iter_custom(|iters| cluster.appends(iters, in_flight).0)
        });
    }
    group.finish();

    report(
        "fdatasync_file",
        fsynced_records(&mut file.lock().expect("file"), REPORT_N / 4),
    );
    for in_flight in std::iter::once(1).chain(IN_FLIGHT) {
        let n = if in_flight == 1 {
            REPORT_N / 4
        } else {
            REPORT_N
        };
        report(
            &format!("quorum_2_of_3/in_flight_{in_flight}"),
            cluster.appends(n, in_flight),
        );
    }
    cluster.stop();
}

criterion_group! {
    name = log;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = log_append
}
criterion_main!(log);
