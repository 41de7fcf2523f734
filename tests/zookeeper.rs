//! Leader election and detection against a real ZooKeeper server (Debian's
//! package, started by `common::zookeeper`): who is elected, how fast the
//! next master takes over, what detectors in other processes see, and that
//! the znodes and their data are exactly Mesos's.
//!
//! Each "process" here is a thread driving its own current-thread tokio
//! runtime, as each daemon's node does; dropping one ends its ZooKeeper
//! session the way a crash does (the connection closes, the session is
//! left to expire).

mod common;

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::zookeeper::ZooKeeper;
use mesos::zookeeper::{
    Candidacy, ContenderEvent, Forwarding, LostReason, MasterContender, MasterDetector,
    SessionLoss, ZkUrl, DEFAULT_SESSION_TIMEOUT,
};
use wire::mesos::MasterInfo;
use zookeeper_client::{Client, CreateMode, Permission};

/// For the tests that wait a session out.
const SHORT_SESSION: Duration = Duration::from_secs(2);

/// From joining (or the leader leaving) to `Elected`, and from there to
/// every detector, when nothing has to expire first. Tens of milliseconds
/// on an idle machine; the margin is for a loaded one.
const ELECTION_BOUND: Duration = Duration::from_secs(5);

/// A stand-in for an OS process: a thread driving a current-thread tokio
/// runtime. Dropping it drops every task, as a crash would.
struct Proc {
    handle: tokio::runtime::Handle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Proc {
    fn new() -> Proc {
        let (handle_tx, handle_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a tokio runtime");
            handle_tx
                .send(runtime.handle().clone())
                .expect("send handle");
            runtime.block_on(async {
                let _ = stopped.await;
            });
        });
        Proc {
            handle: handle_rx.recv().expect("runtime handle"),
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Runs `f` with this process's runtime as the current one.
    fn enter<R>(&self, f: impl FnOnce() -> R) -> R {
        let _guard = self.handle.enter();
        f()
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.handle.block_on(future)
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn master(n: u16) -> MasterInfo {
    let port = 5050 + n;
    MasterInfo {
        id: format!("master-{n}"),
        ip: "127.0.0.1".into(),
        port,
        pid: format!("master@127.0.0.1:{port}"),
        hostname: "localhost".into(),
        version: wire::mesos::VERSION.into(),
    }
}

/// A candidacy and the events it has reported so far.
struct Candidate {
    candidacy: Candidacy,
    events: Vec<ContenderEvent>,
}

impl Candidate {
    fn new(proc: &Proc, contender: &MasterContender, info: &MasterInfo) -> Candidate {
        Candidate {
            candidacy: proc.enter(|| contender.contend(info)).expect("contend"),
            events: Vec::new(),
        }
    }

    fn poll(&mut self) -> &[ContenderEvent] {
        while let Some(event) = self.candidacy.try_next() {
            self.events.push(event);
        }
        &self.events
    }

    fn elected(&mut self) -> bool {
        self.poll().contains(&ContenderEvent::Elected)
    }

    fn lost(&mut self) -> Option<LostReason> {
        self.poll().iter().find_map(|e| match e {
            ContenderEvent::LostCandidacy(reason) => Some(*reason),
            ContenderEvent::Elected => None,
        })
    }
}

/// A detector in a process of its own, with every leader it reported.
struct Detector {
    detector: MasterDetector,
    history: Arc<Mutex<Vec<Option<String>>>>,
    _forwarding: Forwarding,
    _proc: Proc,
}

impl Detector {
    fn new(url: &ZkUrl, session_timeout: Duration) -> Detector {
        let proc = Proc::new();
        let history = Arc::new(Mutex::new(Vec::new()));
        let seen = history.clone();
        let (detector, forwarding) = proc.enter(|| {
            let detector =
                MasterDetector::zookeeper(url.clone(), session_timeout).expect("detector");
            let forwarding = detector
                .forward(move |leader| seen.lock().unwrap().push(leader.map(|l| l.pid)))
                .expect("forward");
            (detector, forwarding)
        });
        Detector {
            detector,
            history,
            _forwarding: forwarding,
            _proc: proc,
        }
    }

    fn leader(&self) -> Option<String> {
        self.detector.leader().map(|l| l.pid)
    }

    /// The leaders reported, without the `None` every detector starts with.
    fn history(&self) -> Vec<Option<String>> {
        let history = self.history.lock().unwrap();
        history
            .iter()
            .skip_while(|l| l.is_none())
            .cloned()
            .collect()
    }
}

/// A plain client for looking at what the masters wrote.
struct Inspector {
    client: Client,
    proc: Proc,
}

impl Inspector {
    fn new(zk: &ZooKeeper) -> Inspector {
        Inspector::connect(zk, None)
    }

    fn connect(zk: &ZooKeeper, digest: Option<&str>) -> Inspector {
        let proc = Proc::new();
        let mut connector = Client::connector().with_session_timeout(DEFAULT_SESSION_TIMEOUT);
        if let Some(digest) = digest {
            connector = connector.with_auth("digest", digest.as_bytes());
        }
        let client = proc
            .block_on(connector.connect(&zk.address()))
            .expect("inspector connects");
        Inspector { client, proc }
    }

    /// Sorted, as pymesos sorts them.
    fn children(&self, path: &str) -> Vec<String> {
        let mut children = self
            .proc
            .block_on(self.client.list_children(path))
            .unwrap_or_default();
        children.sort();
        children
    }

    fn data(&self, path: &str) -> Vec<u8> {
        self.proc
            .block_on(self.client.get_data(path))
            .unwrap_or_else(|e| panic!("get {path}: {e}"))
            .0
    }
}

/// Waits for `condition`, failing with `what` after `bound`; returns how
/// long it took.
fn wait_for(what: &str, bound: Duration, condition: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    assert!(
        common::wait_until(bound, condition),
        "{what}: not within {bound:?}"
    );
    start.elapsed()
}

/// Contends with each master in turn, each joining before the next starts,
/// so sequence order is contending order.
fn join_in_order(
    inspector: &Inspector,
    url: &ZkUrl,
    contender: &MasterContender,
    procs: &[Proc],
) -> Vec<Candidate> {
    let before = inspector.children(url.path()).len();
    let mut candidates = Vec::new();
    for (i, proc) in procs.iter().enumerate() {
        candidates.push(Candidate::new(proc, contender, &master(i as u16)));
        wait_for("a member joins", Duration::from_secs(10), || {
            inspector.children(url.path()).len() == before + i + 1
        });
    }
    candidates
}

#[test]
fn the_first_of_three_contenders_is_elected_and_writes_mesos_entries() {
    let zk = ZooKeeper::start();
    let url = ZkUrl::parse(&zk.url("/mesos/ha")).unwrap();
    let inspector = Inspector::new(&zk);
    let contender = MasterContender::zookeeper(url.clone(), DEFAULT_SESSION_TIMEOUT);
    let procs: Vec<Proc> = (0..3).map(|_| Proc::new()).collect();

    let start = Instant::now();
    let mut candidates = join_in_order(&inspector, &url, &contender, &procs);
    wait_for("the first contender is elected", ELECTION_BOUND, || {
        candidates[0].elected()
    });
    let first_election = start.elapsed();
    // Time for a wrong second claim to show.
    std::thread::sleep(Duration::from_millis(500));
    let elected: Vec<bool> = candidates.iter_mut().map(Candidate::elected).collect();
    assert_eq!(elected, [true, false, false]);

    // Mesos's names, in the order pymesos reads them: the first child is
    // the leader.
    assert_eq!(
        inspector.children("/mesos/ha"),
        [
            "json.info_0000000000",
            "json.info_0000000001",
            "json.info_0000000002"
        ]
    );
    // The path was made, empty, with its parent.
    assert_eq!(inspector.data("/mesos"), b"");
    assert_eq!(inspector.data("/mesos/ha"), b"");

    // Byte for byte what Mesos 1.11 writes for this MasterInfo.
    let data = inspector.data("/mesos/ha/json.info_0000000000");
    assert_eq!(
        String::from_utf8(data.clone()).unwrap(),
        concat!(
            r#"{"address":{"hostname":"localhost","ip":"127.0.0.1","port":5050},"#,
            r#""capabilities":[{"type":"AGENT_UPDATE"},{"type":"AGENT_DRAINING"},{"type":"QUOTA_V2"}],"#,
            r#""hostname":"localhost","id":"master-0","ip":16777343,"#,
            r#""pid":"master@127.0.0.1:5050","port":5050,"version":"1.11.0"}"#
        )
    );
    // And it reads back as MasterInfo, the ip being network byte order
    // read as a little-endian u32.
    let json: wire::v1::types::MasterInfo = serde_json::from_slice(&data).unwrap();
    assert_eq!(json.ip, Some(16777343));
    assert_eq!(
        wire::v1::types::ip_from_u32(16777343).to_string(),
        "127.0.0.1"
    );
    assert_eq!(json.into_internal().unwrap(), master(0));
    let second = inspector.data("/mesos/ha/json.info_0000000001");
    let second: serde_json::Value = serde_json::from_slice(&second).unwrap();
    assert_eq!(second["pid"], "master@127.0.0.1:5051");

    // A detector in another process sees the first.
    let detector = Detector::new(&url, DEFAULT_SESSION_TIMEOUT);
    let detected = wait_for("the detector sees the leader", ELECTION_BOUND, || {
        detector.leader().as_deref() == Some("master@127.0.0.1:5050")
    });
    eprintln!("first election {first_election:?} after the first contend (three joined one by one); detected in {detected:?}");
}

/// Whether every detector reports `pid` as the leader.
fn all_see<'a>(detectors: &'a [Detector], pid: Option<&'a str>) -> impl FnMut() -> bool + 'a {
    move || detectors.iter().all(|d| d.leader().as_deref() == pid)
}

#[test]
fn the_next_contender_is_elected_when_the_leader_withdraws_or_crashes() {
    let zk = ZooKeeper::start();
    let url = ZkUrl::parse(&zk.url("/mesos")).unwrap();
    let inspector = Inspector::new(&zk);
    let contender = MasterContender::zookeeper(url.clone(), SHORT_SESSION);
    let mut procs: Vec<Proc> = (0..3).map(|_| Proc::new()).collect();
    let mut candidates: Vec<Option<Candidate>> =
        join_in_order(&inspector, &url, &contender, &procs)
            .into_iter()
            .map(Some)
            .collect();
    let elected = |candidates: &mut [Option<Candidate>], i: usize| {
        candidates[i].as_mut().is_some_and(Candidate::elected)
    };
    let detectors = [
        Detector::new(&url, DEFAULT_SESSION_TIMEOUT),
        Detector::new(&url, DEFAULT_SESSION_TIMEOUT),
    ];
    wait_for("the first is elected", ELECTION_BOUND, || {
        elected(&mut candidates, 0)
    });
    wait_for(
        "every detector sees master 0",
        ELECTION_BOUND,
        all_see(&detectors, Some("master@127.0.0.1:5050")),
    );

    // Withdrawing closes the session: ZooKeeper deletes the znode at once.
    candidates[0] = None;
    let withdraw_failover = wait_for("the second is elected", ELECTION_BOUND, || {
        elected(&mut candidates, 1)
    });
    let withdraw_detected = withdraw_failover
        + wait_for(
            "every detector sees master 1",
            ELECTION_BOUND,
            all_see(&detectors, Some("master@127.0.0.1:5051")),
        );
    assert!(!elected(&mut candidates, 2));

    // A crash leaves the session to expire: the third waits it out.
    drop(procs.remove(1));
    let crash_failover = wait_for(
        "the third is elected after the second's session expires",
        SHORT_SESSION + Duration::from_secs(3),
        || elected(&mut candidates, 2),
    );
    assert!(
        crash_failover >= SHORT_SESSION / 2,
        "elected after {crash_failover:?}, before the crashed leader's session could expire"
    );
    let crash_detected = crash_failover
        + wait_for(
            "every detector sees master 2",
            ELECTION_BOUND,
            all_see(&detectors, Some("master@127.0.0.1:5052")),
        );

    // The last one withdraws: no leader.
    candidates[2] = None;
    wait_for(
        "every detector sees no leader",
        ELECTION_BOUND,
        all_see(&detectors, None),
    );
    for d in &detectors {
        assert_eq!(
            d.history(),
            [
                Some("master@127.0.0.1:5050".to_owned()),
                Some("master@127.0.0.1:5051".to_owned()),
                Some("master@127.0.0.1:5052".to_owned()),
                None
            ]
        );
    }
    eprintln!(
        "withdrawal: next elected in {withdraw_failover:?}, detectors followed in {withdraw_detected:?}; \
         crash ({}ms sessions): next elected in {crash_failover:?}, detectors followed in {crash_detected:?}",
        SHORT_SESSION.as_millis()
    );
}

#[test]
fn non_members_are_ignored_and_a_legacy_member_leads_until_it_leaves() {
    let zk = ZooKeeper::start();
    let url = ZkUrl::parse(&zk.url("/mesos")).unwrap();
    let inspector = Inspector::new(&zk);
    let persistent = CreateMode::Persistent.with_acls(zookeeper_client::Acls::anyone_all());
    for path in ["/mesos", "/mesos/log_replicas", "/mesos/json.info_latest"] {
        inspector
            .proc
            .block_on(inspector.client.create(path, b"", &persistent))
            .expect("create a non-member");
    }
    let contender = MasterContender::zookeeper(url.clone(), DEFAULT_SESSION_TIMEOUT);
    let procs = [Proc::new(), Proc::new()];
    let detector = Detector::new(&url, DEFAULT_SESSION_TIMEOUT);

    let mut first = Candidate::new(&procs[0], &contender, &master(0));
    wait_for("the only member is elected", ELECTION_BOUND, || {
        first.elected()
    });
    wait_for("the detector sees it", ELECTION_BOUND, || {
        detector.leader().as_deref() == Some("master@127.0.0.1:5050")
    });
    // Two children came first, so its sequence is 2; pymesos, reading the
    // alphabetically first child, finds the leader.
    assert_eq!(
        inspector.children("/mesos"),
        ["json.info_0000000002", "json.info_latest", "log_replicas"]
    );
    drop(first);
    wait_for("no members, no leader", ELECTION_BOUND, || {
        detector.leader().is_none()
    });

    // A master from before Mesos 0.20: no label, its pid as plain text.
    let ephemeral_sequential =
        CreateMode::EphemeralSequential.with_acls(zookeeper_client::Acls::anyone_all());
    let (_, sequence) = inspector
        .proc
        .block_on(inspector.client.create(
            "/mesos/",
            b"master@127.0.0.1:5999",
            &ephemeral_sequential,
        ))
        .expect("create a legacy member");
    wait_for(
        "the detector reads the legacy member",
        ELECTION_BOUND,
        || detector.leader().as_deref() == Some("master@127.0.0.1:5999"),
    );
    let mut second = Candidate::new(&procs[1], &contender, &master(1));
    wait_for("the second joins", Duration::from_secs(10), || {
        // log_replicas, json.info_latest, the legacy member and it.
        inspector.children("/mesos").len() == 4
    });
    std::thread::sleep(Duration::from_millis(500));
    assert!(!second.elected(), "elected under an older legacy member");
    assert_eq!(detector.leader().as_deref(), Some("master@127.0.0.1:5999"));

    inspector
        .proc
        .block_on(inspector.client.delete(&format!("/mesos/{sequence}"), None))
        .expect("delete the legacy member");
    wait_for("the second is elected", ELECTION_BOUND, || second.elected());
    wait_for("the detector sees it", ELECTION_BOUND, || {
        detector.leader().as_deref() == Some("master@127.0.0.1:5051")
    });
}

#[test]
fn a_leader_whose_znode_is_deleted_loses_candidacy() {
    let zk = ZooKeeper::start();
    let url = ZkUrl::parse(&zk.url("/mesos")).unwrap();
    let inspector = Inspector::new(&zk);
    let contender = MasterContender::zookeeper(url.clone(), DEFAULT_SESSION_TIMEOUT);
    let procs = [Proc::new(), Proc::new()];
    let mut candidates = join_in_order(&inspector, &url, &contender, &procs);
    wait_for("the first is elected", ELECTION_BOUND, || {
        candidates[0].elected()
    });

    inspector
        .proc
        .block_on(inspector.client.delete("/mesos/json.info_0000000000", None))
        .expect("delete the leader's znode");
    wait_for("the first loses candidacy", ELECTION_BOUND, || {
        candidates[0].lost().is_some()
    });
    assert_eq!(candidates[0].lost(), Some(LostReason::MembershipRemoved));
    wait_for("the second is elected", ELECTION_BOUND, || {
        candidates[1].elected()
    });
}

#[test]
fn credentials_give_members_creator_all_and_world_read_acls() {
    let zk = ZooKeeper::start();
    let url = ZkUrl::parse(&format!("zk://alice:s3cret@{}/secure/mesos", zk.address())).unwrap();
    let contender = MasterContender::zookeeper(url.clone(), DEFAULT_SESSION_TIMEOUT);
    let proc = Proc::new();
    let mut leader = Candidate::new(&proc, &contender, &master(0));
    wait_for("elected", ELECTION_BOUND, || leader.elected());

    let anonymous = Inspector::new(&zk);
    for path in [
        "/secure",
        "/secure/mesos",
        "/secure/mesos/json.info_0000000000",
    ] {
        let (acls, _) = anonymous
            .proc
            .block_on(anonymous.client.get_acl(path))
            .expect("get acl");
        // A digest id is `user:hash`; the user is what matters here.
        let acls: Vec<(Permission, String)> = acls
            .iter()
            .map(|a| {
                let who = a.id().split(':').next().unwrap_or_default();
                (a.permission(), format!("{}:{who}", a.scheme()))
            })
            .collect();
        assert_eq!(
            acls,
            [
                (Permission::READ, "world:anyone".to_owned()),
                (Permission::ALL, "digest:alice".to_owned())
            ],
            "{path}"
        );
    }
    let detector = Detector::new(
        &ZkUrl::parse(&zk.url("/secure/mesos")).unwrap(),
        DEFAULT_SESSION_TIMEOUT,
    );
    wait_for(
        "an anonymous detector sees the leader",
        ELECTION_BOUND,
        || detector.leader().as_deref() == Some("master@127.0.0.1:5050"),
    );
    // Anyone may read the leader; only alice may remove it.
    let _ = anonymous.data("/secure/mesos/json.info_0000000000");
    let refused = anonymous.proc.block_on(
        anonymous
            .client
            .delete("/secure/mesos/json.info_0000000000", None),
    );
    assert_eq!(refused, Err(zookeeper_client::Error::NoAuth));
    let alice = Inspector::connect(&zk, Some("alice:s3cret"));
    alice
        .proc
        .block_on(
            alice
                .client
                .delete("/secure/mesos/json.info_0000000000", None),
        )
        .expect("alice removes the leader");
    wait_for("the leader loses candidacy", ELECTION_BOUND, || {
        leader.lost() == Some(LostReason::MembershipRemoved)
    });
}

#[test]
fn a_zookeeper_outage_longer_than_the_session_loses_candidacy_then_contenders_elect_again() {
    let mut zk = ZooKeeper::start();
    let url = ZkUrl::parse(&zk.url("/mesos")).unwrap();
    let contender = MasterContender::zookeeper(url.clone(), SHORT_SESSION);
    let procs = [Proc::new(), Proc::new()];
    let detector = Detector::new(&url, SHORT_SESSION);
    {
        let inspector = Inspector::new(&zk);
        let mut candidates = join_in_order(&inspector, &url, &contender, &procs);
        wait_for("the first is elected", ELECTION_BOUND, || {
            candidates[0].elected()
        });
        wait_for("the detector sees it", ELECTION_BOUND, || {
            detector.leader().as_deref() == Some("master@127.0.0.1:5050")
        });
        drop(inspector);

        let outage = Instant::now();
        zk.stop();
        let leader_lost = wait_for(
            "the leader loses candidacy",
            SHORT_SESSION + Duration::from_secs(3),
            || candidates[0].lost().is_some(),
        );
        assert!(
            leader_lost >= SHORT_SESSION - Duration::from_millis(100),
            "lost after {leader_lost:?}, before the session timeout"
        );
        assert_eq!(
            candidates[0].lost(),
            Some(LostReason::Session(SessionLoss::Disconnected(
                SHORT_SESSION
            )))
        );
        wait_for("the other loses candidacy", Duration::from_secs(3), || {
            candidates[1].lost().is_some()
        });
        let detector_lost = wait_for(
            "the detector loses the leader",
            Duration::from_secs(3),
            || detector.leader().is_none(),
        ) + leader_lost;
        // Down for longer than the session timeout, then back.
        let down = SHORT_SESSION + Duration::from_secs(1);
        std::thread::sleep(down.saturating_sub(outage.elapsed()));
        zk.restart();
        eprintln!(
            "outage: candidacy lost after {leader_lost:?}, detector reported no leader after {detector_lost:?}, ZooKeeper down for {:?}",
            outage.elapsed()
        );
    }

    // As supervisors would restart them, both stand again with new sessions.
    let back = Instant::now();
    let mut first = Candidate::new(&procs[0], &contender, &master(0));
    // The old sessions come back with the server's data and expire a
    // session timeout later; their znodes go with them.
    let reelected = wait_for(
        "a contender is elected again",
        SHORT_SESSION * 2 + Duration::from_secs(5),
        || first.elected(),
    );
    let mut second = Candidate::new(&procs[1], &contender, &master(1));
    std::thread::sleep(Duration::from_millis(500));
    assert!(!second.elected(), "two leaders after the outage");
    wait_for(
        "the detector sees the leader again",
        Duration::from_secs(10),
        || detector.leader().as_deref() == Some("master@127.0.0.1:5050"),
    );
    eprintln!(
        "after ZooKeeper returned: elected again in {reelected:?}, detector back in {:?}",
        back.elapsed()
    );
}
