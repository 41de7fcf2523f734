//! The replicated log with real processes: three replicas on three nodes
//! of one OS process (loopback TCP between them), quorum 2, driven through
//! the `Log` handle the registrar uses.

use std::time::Duration;

use actors::testing::{self, wait_until, Verdict};
use actors::{Node, Pid};
use mesos::log::process::Summary;
use mesos::log::{Log, LogConfig, LogError, MemStorage, RedbStorage, ReplicaProcess, Storage};
use tokio::task::JoinSet;
use wire::log::Status;
use wire::Message;

const DEADLINE: Duration = Duration::from_secs(15);

struct Cluster {
    nodes: Vec<Node>,
    replicas: Vec<Pid>,
    logs: Vec<Log>,
}

/// Three nodes, each with a replica over storage from `storage` and a log.
async fn cluster<S: Storage>(mut storage: impl FnMut(usize) -> S) -> Cluster {
    let nodes = testing::cluster(3).await.expect("three nodes on loopback");
    let replicas: Vec<Pid> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| ReplicaProcess::spawn(n, storage(i)).expect("replica spawns"))
        .collect();
    let logs: Vec<Log> = nodes
        .iter()
        .zip(&replicas)
        .map(|(n, local)| {
            Log::spawn(n, LogConfig::new(2, local.clone(), replicas.clone())).expect("log spawns")
        })
        .collect();
    // Every replica votes before a test starts: a replica that loses its
    // disk while another is still initialising leaves no quorum that knows
    // the log (Mesos's auto-initialisation waits for everyone).
    for log in &logs {
        tokio::time::timeout(DEADLINE, log.recovered())
            .await
            .expect("recovered in time")
            .expect("recovered");
    }
    Cluster {
        nodes,
        replicas,
        logs,
    }
}

/// Appends every value concurrently through `log`; returns the positions
/// in the order of `values`.
async fn append_all(log: &Log, values: &[Vec<u8>]) -> Result<Vec<u64>, LogError> {
    let mut set = JoinSet::new();
    for (i, v) in values.iter().enumerate() {
        let (log, v) = (log.clone(), v.clone());
        set.spawn(async move { (i, log.append(v).await) });
    }
    let mut positions = vec![0; values.len()];
    while let Some(done) = set.join_next().await {
        let (i, result) = done.expect("append task");
        positions[i] = result?;
    }
    Ok(positions)
}

fn values(tag: &str, n: usize) -> Vec<Vec<u8>> {
    (0..n).map(|i| format!("{tag}-{i}").into_bytes()).collect()
}

/// Waits until `log` reads back `expected` over `from..=to`.
async fn reads_back(log: &Log, from: u64, to: u64, expected: &[(u64, Vec<u8>)]) -> bool {
    let end = tokio::time::Instant::now() + DEADLINE;
    loop {
        if let Ok(entries) = log.read(from, to).await {
            if entries == expected {
                return true;
            }
        }
        if tokio::time::Instant::now() >= end {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn summary(log: &Log) -> Summary {
    log.summary().await.expect("the replica answers")
}

#[actix::test]
async fn a_thousand_appends_are_read_back_from_every_replica() {
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let c = cluster(|i| RedbStorage::open_in_work_dir(dirs[i].path()).unwrap()).await;
    let start = tokio::time::timeout(DEADLINE, c.logs[0].start())
        .await
        .expect("elected in time")
        .expect("elected");
    let written = values("entry", 1000);
    let positions = append_all(&c.logs[0], &written).await.expect("appends");
    let mut expected: Vec<(u64, Vec<u8>)> = positions.iter().copied().zip(written).collect();
    expected.sort();
    let (first, last) = (start + 1, start + 1000);
    assert_eq!(expected.first().map(|e| e.0), Some(first));
    assert_eq!(expected.last().map(|e| e.0), Some(last));
    for log in &c.logs {
        assert!(reads_back(log, first, last, &expected).await);
    }
    let metrics = c.nodes[1].metrics().snapshot();
    assert_eq!(metrics["log/recovered"], 1.0);
    assert_eq!(metrics["log/ensemble_size"], 3.0);
    // The replicas' files hold the log across a restart of the storage.
    drop(c);
}

#[actix::test]
async fn appends_go_on_with_one_replica_terminated() {
    let c = cluster(|_| MemStorage::new()).await;
    let start = tokio::time::timeout(DEADLINE, c.logs[0].start())
        .await
        .expect("elected in time")
        .expect("elected");
    c.nodes[2].terminate(&c.replicas[2]);
    c.nodes[2].terminate(c.logs[2].pid());
    assert!(wait_until(DEADLINE, || c.nodes[2].lookup(c.replicas[2].id()).is_none()).await);
    let written = values("after", 100);
    let positions = append_all(&c.logs[0], &written)
        .await
        .expect("a quorum is left");
    let mut expected: Vec<(u64, Vec<u8>)> = positions.into_iter().zip(written).collect();
    expected.sort();
    assert!(reads_back(&c.logs[1], start + 1, start + 100, &expected).await);
}

#[actix::test]
async fn a_wiped_replica_catches_up_before_it_votes() {
    let c = cluster(|_| MemStorage::new()).await;
    let start = tokio::time::timeout(DEADLINE, c.logs[0].start())
        .await
        .expect("elected in time")
        .expect("elected");
    let before = values("before", 200);
    let positions = append_all(&c.logs[0], &before).await.expect("appends");
    let mut expected: Vec<(u64, Vec<u8>)> = positions.into_iter().zip(before).collect();

    // Replica 2 loses its disk: a new one under the same pid, empty.
    c.nodes[2].terminate(&c.replicas[2]);
    c.nodes[2].terminate(c.logs[2].pid());
    assert!(wait_until(DEADLINE, || c.nodes[2].lookup(c.replicas[2].id()).is_none()).await);
    // Hold back what it would learn, so it stays behind for a while.
    let wiped = c.replicas[2].clone();
    for node in &c.nodes {
        let wiped = wiped.clone();
        node.set_filter(move |m| {
            if m.to == wiped && m.name == wire::log::LearnedMessage::NAME {
                Verdict::Drop
            } else {
                Verdict::Deliver
            }
        });
    }
    let replica = ReplicaProcess::new(MemStorage::new()).unwrap();
    c.nodes[2]
        .spawn(wiped.id(), replica)
        .expect("same pid again");
    let log2 = Log::spawn(
        &c.nodes[2],
        LogConfig::new(2, wiped.clone(), c.replicas.clone()),
    )
    .unwrap();
    let recovering = {
        let log2 = log2.clone();
        let end = tokio::time::Instant::now() + DEADLINE;
        loop {
            if summary(&log2).await.status == Status::Recovering {
                break true;
            }
            if tokio::time::Instant::now() >= end {
                break false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    assert!(recovering, "the wiped replica starts catching up");
    // It does not vote meanwhile; the other two carry the appends.
    let during = values("during", 50);
    let positions = append_all(&c.logs[0], &during).await.expect("appends");
    expected.extend(positions.into_iter().zip(during));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(summary(&log2).await.status, Status::Recovering);

    for node in &c.nodes {
        node.clear_filter();
    }
    tokio::time::timeout(DEADLINE, log2.recovered())
        .await
        .expect("recovered in time")
        .expect("recovered");
    assert_eq!(summary(&log2).await.status, Status::Voting);
    expected.sort();
    let last = start + 200;
    let caught_up: Vec<(u64, Vec<u8>)> = expected.iter().filter(|e| e.0 <= last).cloned().collect();
    assert!(reads_back(&log2, start + 1, last, &caught_up).await);
}

#[actix::test]
async fn a_second_coordinator_demotes_the_first_and_nothing_is_lost() {
    let c = cluster(|_| MemStorage::new()).await;
    tokio::time::timeout(DEADLINE, c.logs[0].start())
        .await
        .expect("elected in time")
        .expect("elected");
    let first = values("first", 20);
    let positions = append_all(&c.logs[0], &first).await.expect("appends");
    let mut expected: Vec<(u64, Vec<u8>)> = positions.into_iter().zip(first).collect();

    let last = tokio::time::timeout(DEADLINE, c.logs[1].start())
        .await
        .expect("elected in time")
        .expect("the second coordinator is elected");
    assert!(matches!(
        c.logs[0].append(b"stale".to_vec()).await,
        Err(LogError::Coordinator(
            mesos::log::CoordinatorError::Demoted(_)
        ))
    ));
    let second = values("second", 20);
    let positions = append_all(&c.logs[1], &second).await.expect("appends");
    expected.extend(positions.into_iter().zip(second));
    expected.sort();
    let end = expected.last().map_or(last, |e| e.0);
    // Everything either coordinator reported is there; a demoted write
    // that nobody reported may be too (the new coordinator filled it).
    let read = c.logs[1].read(0, end).await.expect("read");
    for e in &expected {
        assert!(read.contains(e), "{e:?} lost");
    }
    // Nothing is there twice.
    let mut values: Vec<&Vec<u8>> = read.iter().map(|(_, v)| v).collect();
    values.sort();
    values.dedup();
    assert_eq!(values.len(), read.len());
}
