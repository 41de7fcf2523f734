//! `mesos-dns` with real binaries: the deployment guide's config and
//! names, resolved by `dig`, dnspython and an in-process client; records
//! that follow tasks within milliseconds through the master's event
//! stream; the leader killed among three masters; names outside the
//! domain forwarded to an upstream on loopback; bad input of every kind
//! answered or dropped without a crash.

mod common;
#[path = "common/dns.rs"]
mod dns_common;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream, UdpSocket};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::cluster::{all_voting, get_json, http_get, metric, Cluster, Daemon, WorkDir};
use common::framework::{command_task, info, Framework};
use common::zookeeper::ZooKeeper;
use dns_common::{
    a_records, dig, dnspython, guide_config, query, resolves, srv_records, MesosDns, MESOS_DNS,
};
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{RData, Record, RecordType};
use serde_json::{json, Value};
use wire::ids::TaskId;
use wire::task::TaskState;

const WAIT: Duration = Duration::from_secs(20);
/// The issue's bound from a task's change to its records' change, plus
/// margin for a loaded 2-core machine (the measured figure is printed).
const UPDATE_BOUND: Duration = Duration::from_millis(250);

/// Polls every 2 ms until `condition` holds; when it first did.
fn first_time(deadline: Duration, mut condition: impl FnMut() -> bool) -> Option<Instant> {
    let end = Instant::now() + deadline;
    while Instant::now() < end {
        if condition() {
            return Some(Instant::now());
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    None
}

/// Runs `condition` polling on a thread from now on; the handle yields
/// when it first held.
fn watch(
    dns: SocketAddr,
    name: &'static str,
    want: bool,
) -> std::thread::JoinHandle<Option<Instant>> {
    std::thread::spawn(move || first_time(WAIT, || resolves(dns, name) == want))
}

fn task_port(state: &Value, task: &str) -> Option<u16> {
    let tasks = state["frameworks"]
        .as_array()?
        .iter()
        .flat_map(|f| f["tasks"].as_array().cloned().unwrap_or_default());
    for t in tasks {
        if t["id"] == task {
            let ports = t["resources"]["ports"].as_str()?;
            return ports
                .trim_matches(['[', ']'])
                .split('-')
                .next()?
                .parse()
                .ok();
        }
    }
    None
}

#[actix::test]
async fn the_guides_names_resolve_and_follow_the_task() {
    let cluster = Cluster::start(
        &[],
        &[
            "cpus:2;mem:512;ports:[31000-31999]",
            "cpus:2;mem:512;ports:[32000-32999]",
        ],
    );
    let dir = cluster.dir();
    let master = cluster.master_address().to_string();
    let dns = MesosDns::start(
        guide_config(&[("zk", json!("")), ("masters", json!([master]))]),
        &dir,
        "mesos-dns",
    );
    // Loaded: the master's own names answer.
    assert!(
        first_time(WAIT, || resolves(dns.dns, "leader.mesos.")).is_some(),
        "{}",
        dns.daemon.log()
    );
    let leader = query(dns.dns, "leader.mesos.", RecordType::A).expect("an answer");
    assert_eq!(a_records(&leader), vec![Ipv4Addr::LOCALHOST]);
    assert!(leader.authoritative());

    let framework = Framework::start(cluster.master_address(), info("marathon")).await;
    framework.registered().await;
    let agent = cluster.agent_id(1);
    let appears = watch(dns.dns, "mysql.marathon.mesos.", true);
    let launched = Instant::now();
    framework
        .launch(
            vec![command_task("mysql", "sleep 1000")],
            "cpus:0.5;mem:64;ports:[32172-32172]",
            Some(&agent),
        )
        .await;
    let (running_at, _) = framework
        .update_since("mysql", TaskState::Running, launched, WAIT)
        .await;
    let resolvable_at = appears
        .join()
        .expect("poller")
        .expect("mysql never resolved");
    let lag = resolvable_at.saturating_duration_since(running_at);
    eprintln!("TASK_RUNNING at the framework -> resolvable: {lag:?}");
    assert!(lag <= UPDATE_BOUND, "resolvable {lag:?} after TASK_RUNNING");

    // The master's state and the answers agree: the task's agent and port.
    let state = get_json(cluster.master_address(), "/master/state");
    let port = task_port(&state, "mysql").expect("the task's port in the state");
    assert_eq!(port, 32172);
    let tail = agent
        .rsplit('-')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let hash = mesos::dns::records::task_hash("mysql");
    let target = format!("mysql-{hash}-{tail}.marathon.slave.mesos.");
    let srv = query(dns.dns, "_mysql._tcp.marathon.mesos.", RecordType::SRV).expect("SRV");
    assert_eq!(srv_records(&srv), vec![(target.clone(), port)]);
    assert!(
        srv.additionals()
            .iter()
            .any(|r| r.data() == &RData::A(A(Ipv4Addr::LOCALHOST))),
        "the target's A record comes along: {srv:?}"
    );

    // dig and dnspython, as the guide uses them.
    assert_eq!(dig(dns.dns, "mysql.marathon.mesos", "A"), vec!["127.0.0.1"]);
    assert_eq!(
        dig(dns.dns, "_mysql._tcp.marathon.mesos", "SRV"),
        vec![format!("0 1 {port} {target}")]
    );
    assert_eq!(dig(dns.dns, &target, "A"), vec!["127.0.0.1"]);
    assert_eq!(
        dnspython(dns.dns, "_mysql._tcp.marathon.mesos", "SRV"),
        vec![format!("0 1 {port} {target}")]
    );
    assert_eq!(
        dnspython(dns.dns, "mysql.marathon.mesos", "A"),
        vec!["127.0.0.1"]
    );
    let nx = query(dns.dns, "nothing.marathon.mesos.", RecordType::A).expect("an answer");
    assert_eq!(nx.response_code(), ResponseCode::NXDomain);
    assert_eq!(nx.name_servers().len(), 1, "SOA in the authority section");

    // The HTTP API.
    let http = dns.http();
    assert_eq!(get_json(http, "/v1/version")["Service"], "Mesos-DNS");
    assert_eq!(get_json(http, "/v1/config")["SOAMname"], "ns1.mesos.");
    assert_eq!(
        get_json(http, "/v1/hosts/mysql.marathon.mesos"),
        json!([{"host": "mysql.marathon.mesos.", "ip": "127.0.0.1"}])
    );
    assert_eq!(
        get_json(http, "/v1/services/_mysql._tcp.marathon.mesos."),
        json!([{"service": "_mysql._tcp.marathon.mesos.", "host": target, "ip": "127.0.0.1",
                "port": port.to_string()}])
    );
    assert_eq!(
        get_json(http, "/v1/hosts/nothing.mesos"),
        json!([{"host": "", "ip": ""}])
    );
    let enumerate = get_json(http, "/v1/enumerate");
    assert_eq!(
        enumerate["frameworks"][0]["name"], "marathon",
        "{enumerate}"
    );
    assert_eq!(enumerate["frameworks"][0]["tasks"][0]["id"], "mysql");
    let axfr = get_json(http, "/v1/axfr");
    assert_eq!(
        axfr["Records"]["As"]["mysql.marathon.mesos."],
        json!(["127.0.0.1"])
    );
    assert_eq!(http_get(http, "/v1/hosts/x/ports").expect("answer").0, 501);
    assert!(metric(http, "dns/queries/A").is_some_and(|n| n >= 1.0));
    assert!(metric(http, "dns/rcode/NXDOMAIN").is_some_and(|n| n >= 1.0));
    assert!(metric(http, "dns/records").is_some_and(|n| n > 0.0));

    // Gone as soon as it ends.
    let disappears = watch(dns.dns, "mysql.marathon.mesos.", false);
    let asked = Instant::now();
    framework.handle.kill_task(TaskId::new("mysql"));
    let (killed_at, _) = framework
        .update_since("mysql", TaskState::Killed, asked, WAIT)
        .await;
    let gone_at = disappears
        .join()
        .expect("poller")
        .expect("mysql kept resolving");
    let lag = gone_at.saturating_duration_since(killed_at);
    eprintln!("TASK_KILLED at the framework -> not resolvable: {lag:?}");
    assert!(
        lag <= UPDATE_BOUND,
        "still resolvable {lag:?} after TASK_KILLED"
    );
    assert!(dig(dns.dns, "mysql.marathon.mesos", "A").is_empty());
}

/// A master of the group at `zk`.
fn start_master(n: usize, zk: &str, dir: &Path) -> Daemon {
    Daemon::start(
        &format!("master{n}"),
        Path::new(env!("CARGO_BIN_EXE_mesos-master")),
        &[
            "--ip=127.0.0.1".into(),
            "--port=0".into(),
            format!("--zk={zk}"),
            "--quorum=2".into(),
            "--zk_session_timeout=2secs".into(),
            format!("--work_dir={}", dir.join(format!("master{n}")).display()),
            "--allocation_interval=100ms".into(),
        ],
        dir.join(format!("master{n}.log")),
    )
}

fn leading(masters: &[Daemon]) -> Option<usize> {
    masters
        .iter()
        .position(|m| metric(m.address(), "master/elected") == Some(1.0))
}

#[test]
fn answers_keep_coming_through_a_failover_and_follow_the_new_leader() {
    let dir = WorkDir::new("dns-failover");
    let zk = ZooKeeper::start();
    let url = zk.url("/mesos");
    let mut masters: Vec<Daemon> = (0..3).map(|n| start_master(n, &url, &dir.path())).collect();
    let first = common::poll(WAIT, || leading(&masters)).expect("a leader");
    // Every replica of the log votes: two masters are then a quorum.
    assert!(
        common::wait_until(WAIT, || all_voting(&masters)),
        "replicas not voting"
    );
    let addresses: Vec<String> = masters.iter().map(|m| m.address().to_string()).collect();
    let dns = MesosDns::start(
        guide_config(&[("zk", json!(url)), ("masters", json!(addresses))]),
        &dir.path(),
        "mesos-dns",
    );
    let leader_port = |m: &Message| -> Option<u16> { srv_records(m).first().map(|(_, p)| *p) };
    let follows = |n: usize, masters: &[Daemon]| {
        query(dns.dns, "_leader._tcp.mesos.", RecordType::SRV).and_then(|m| leader_port(&m))
            == Some(masters[n].address().port())
    };
    assert!(
        common::poll(WAIT, || follows(first, &masters).then_some(())).is_some(),
        "{}",
        dns.daemon.log()
    );

    // Answers throughout: a querier counts queries without an answer.
    let stop = Arc::new(AtomicBool::new(false));
    let querier = {
        let (stop, at) = (stop.clone(), dns.dns);
        std::thread::spawn(move || {
            let (mut answered, mut failed) = (0u32, 0u32);
            while !stop.load(Ordering::Relaxed) {
                match query(at, "master.mesos.", RecordType::A) {
                    Some(m) if m.response_code() == ResponseCode::NoError => answered += 1,
                    _ => failed += 1,
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            (answered, failed)
        })
    };
    masters[first].kill();
    let killed = Instant::now();
    let next =
        common::poll(WAIT, || leading(&masters).filter(|n| *n != first)).expect("a new leader");
    let elected = killed.elapsed();
    let followed = common::poll(WAIT, || follows(next, &masters).then_some(()));
    let followed_after = killed.elapsed();
    // And the event stream again, once the new leader has recovered.
    let resubscribed = common::poll(Duration::from_secs(60), || {
        metric(dns.http(), "dns/resubscriptions")
            .filter(|n| *n >= 2.0)
            .map(|_| killed.elapsed())
    });
    stop.store(true, Ordering::Relaxed);
    let (answered, failed) = querier.join().expect("querier");
    eprintln!(
        "leader killed: new leader elected after {elected:?}, followed by mesos-dns after \
         {followed_after:?}, its events subscribed again after {resubscribed:?}; \
         {answered} queries answered, {failed} unanswered"
    );
    assert!(followed.is_some(), "{}", dns.daemon.log());
    assert!(resubscribed.is_some(), "{}", dns.daemon.log());
    assert_eq!(failed, 0, "queries went unanswered during the failover");
    assert!(answered > 10);
    let leader = query(dns.dns, "leader.mesos.", RecordType::A).expect("answer");
    assert_eq!(a_records(&leader), vec![Ipv4Addr::LOCALHOST]);
}

/// How many A records the upstream has for `big.example.org`; over UDP it
/// sends the first `BIG_OVER_UDP` with the TC bit.
const BIG: u8 = 40;
const BIG_OVER_UDP: u8 = 5;

/// The upstream's reply to `packet`: `10.9.8.7` for every name but
/// `big.example.org`, which has `BIG` addresses (truncated over UDP).
fn upstream_reply(packet: &[u8], tcp: bool) -> Option<Vec<u8>> {
    let request = Message::from_vec(packet).ok()?;
    let q = request.queries().first()?;
    let mut reply = Message::new();
    reply
        .set_id(request.id())
        .set_message_type(hickory_proto::op::MessageType::Response)
        .add_queries(request.queries().to_vec());
    let ips: Vec<Ipv4Addr> = if q.name().to_ascii() == "big.example.org." {
        let n = if tcp { BIG } else { BIG_OVER_UDP };
        reply.set_truncated(!tcp);
        (1..=n).map(|i| Ipv4Addr::new(10, 9, 8, i)).collect()
    } else {
        vec![Ipv4Addr::new(10, 9, 8, 7)]
    };
    for ip in ips {
        reply.add_answer(Record::from_rdata(q.name().clone(), 30, RData::A(A(ip))));
    }
    reply.to_vec().ok()
}

/// An upstream resolver on loopback, UDP and TCP on one port (see
/// [`upstream_reply`]); stops when the returned flag is set.
fn upstream() -> (SocketAddr, Arc<AtomicBool>) {
    let (socket, listener) = loop {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let port = socket.local_addr().expect("address").port();
        if let Ok(listener) = std::net::TcpListener::bind(("127.0.0.1", port)) {
            break (socket, listener);
        }
    };
    socket
        .set_read_timeout(Some(Duration::from_millis(50)))
        .expect("timeout");
    listener.set_nonblocking(true).expect("nonblocking");
    let address = socket.local_addr().expect("address");
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while !flag.load(Ordering::Relaxed) {
            let Ok((n, peer)) = socket.recv_from(&mut buf) else {
                continue;
            };
            if let Some(bytes) = upstream_reply(&buf[..n], false) {
                let _ = socket.send_to(&bytes, peer);
            }
        }
    });
    let flag = stop.clone();
    std::thread::spawn(move || {
        while !flag.load(Ordering::Relaxed) {
            let Ok((mut stream, _)) = listener.accept() else {
                // Non-blocking, so that the stop flag is seen.
                std::thread::sleep(Duration::from_millis(5));
                continue;
            };
            std::thread::spawn(move || {
                let _ = stream.set_nonblocking(false);
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let mut len = [0u8; 2];
                while stream.read_exact(&mut len).is_ok() {
                    let mut packet = vec![0u8; usize::from(u16::from_be_bytes(len))];
                    if stream.read_exact(&mut packet).is_err() {
                        return;
                    }
                    let Some(reply) = upstream_reply(&packet, true) else {
                        return;
                    };
                    let n = (reply.len() as u16).to_be_bytes();
                    if stream.write_all(&n).is_err() || stream.write_all(&reply).is_err() {
                        return;
                    }
                }
            });
        }
    });
    (address, stop)
}

/// `dig +short NAME A` with `extra` options.
fn dig_with(dns: SocketAddr, extra: &[&str], name: &str) -> Vec<String> {
    let port = dns.port().to_string();
    let mut args = vec!["@127.0.0.1", "-p", &port, "+short", "+tries=1", "+time=3"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&[name, "A"]);
    let out = std::process::Command::new("dig")
        .args(&args)
        .output()
        .expect("dig");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn names_outside_the_domain_go_to_the_upstream_and_bad_input_does_no_harm() {
    let dir = WorkDir::new("dns-forward");
    let (up, stop) = upstream();
    // No master answers: forwarding does not wait for records. The
    // `dead.` zone's resolver does not exist.
    let dns = MesosDns::start(
        guide_config(&[
            ("zk", json!("")),
            ("masters", json!(["127.0.0.1:1"])),
            ("resolvers", json!([up.to_string()])),
            ("zoneResolvers", json!({"dead": ["127.0.0.1:1"]})),
            ("timeout", json!(1)),
        ]),
        &dir.path(),
        "mesos-dns",
    );
    let forwarded = query(dns.dns, "www.example.org.", RecordType::A).expect("forwarded");
    assert_eq!(a_records(&forwarded), vec![Ipv4Addr::new(10, 9, 8, 7)]);
    assert_eq!(dig(dns.dns, "www.example.org", "A"), vec!["10.9.8.7"]);
    assert_eq!(
        dig_with(dns.dns, &["+tcp"], "www.example.org"),
        vec!["10.9.8.7"]
    );
    // A truncated upstream answer is passed on with its TC bit; the
    // client's retry over TCP is forwarded over TCP and gets it all.
    let big = query(dns.dns, "big.example.org.", RecordType::A).expect("forwarded");
    assert!(big.truncated(), "{big:?}");
    assert_eq!(a_records(&big).len(), usize::from(BIG_OVER_UDP));
    let retried = dig_with(dns.dns, &[], "big.example.org");
    assert_eq!(
        retried.len(),
        usize::from(BIG),
        "dig retries over TCP: {retried:?}"
    );
    assert_eq!(
        dig_with(dns.dns, &["+ignore"], "big.example.org").len(),
        usize::from(BIG_OVER_UDP)
    );
    // An upstream that does not answer: SERVFAIL, as Mesos-DNS answers.
    let dead = query(dns.dns, "x.dead.", RecordType::A).expect("an answer");
    assert_eq!(dead.response_code(), ResponseCode::ServFail);
    // Before the first load, names in the domain fail rather than lie.
    let early = query(dns.dns, "leader.mesos.", RecordType::A).expect("an answer");
    assert_eq!(early.response_code(), ResponseCode::ServFail);

    // Bad input: garbage, truncated and oversized datagrams, a TCP client
    // that lies about its length, garbage on the HTTP port.
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    socket
        .set_read_timeout(Some(Duration::from_millis(300)))
        .expect("timeout");
    let good = query_bytes("leader.mesos.");
    let cases: Vec<Vec<u8>> = vec![
        vec![],
        vec![0x12],
        vec![0xde, 0xad, 0xbe, 0xef],
        good[..good.len() - 3].to_vec(),
        vec![0xff; 12],
        vec![0u8; 60000],
        [good.clone(), vec![0xab; 2000]].concat(),
    ];
    for packet in &cases {
        socket.send_to(packet, dns.dns).expect("send");
        let mut buf = [0u8; 65535];
        if let Ok(n) = socket.recv(&mut buf) {
            assert!(
                Message::from_vec(&buf[..n]).is_ok(),
                "a reply that does not decode"
            );
        }
    }
    for bytes in [&b"\x00\x05abc"[..], b"\xff\xff\x01\x02", b"\x00"] {
        if let Ok(mut s) = TcpStream::connect(dns.dns) {
            let _ = s.write_all(bytes);
        }
    }
    let http = dns.http();
    for garbage in [
        &b"\x16\x03\x01\x02\x00garbage\r\n\r\n"[..],
        b"GET / HTTP/9.9\r\n\r\n",
        b"\r\n\r\n\r\n",
    ] {
        if let Ok(mut s) = TcpStream::connect(http) {
            s.set_read_timeout(Some(Duration::from_millis(500))).ok();
            let _ = s.write_all(garbage);
            let _ = s.read(&mut [0u8; 1024]);
        }
    }
    assert_eq!(http_get(http, "/nothing").expect("answer").0, 404);
    // Still up and answering.
    let after = query(dns.dns, "www.example.org.", RecordType::A).expect("still answering");
    assert_eq!(a_records(&after), vec![Ipv4Addr::new(10, 9, 8, 7)]);
    assert!(metric(http, "dns/failed").is_some_and(|n| n >= 3.0));
    assert!(metric(http, "dns/forwarded").is_some_and(|n| n >= 2.0));
    stop.store(true, Ordering::Relaxed);
}

fn query_bytes(name: &str) -> Vec<u8> {
    let mut m = Message::new();
    m.set_id(7).add_query(hickory_proto::op::Query::query(
        name.parse().expect("name"),
        RecordType::A,
    ));
    m.to_vec().expect("encode")
}

#[test]
fn the_guides_config_is_accepted_and_bad_configs_are_one_line_and_exit_1() {
    let dir = WorkDir::new("dns-config");
    let run = |config: &str| {
        let path = dir.path().join("config.json");
        std::fs::write(&path, config).expect("write");
        let mut command = std::process::Command::new(MESOS_DNS);
        command.arg(format!("-config={}", path.display()));
        common::run_with_deadline(&mut command, Duration::from_secs(10))
    };
    for (config, expected) in [
        (r#"{"masters": ["127.0.0.1:5050"], "port": "53"}"#, "'port'"),
        (r#"{"port": 53}"#, "'zk' or 'masters'"),
        (
            r#"{"masters": ["127.0.0.1:5050"], "IPSources": ["dhcp"]}"#,
            "IPSources",
        ),
        ("not json", "JSON"),
    ] {
        let out = run(config);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{config}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(stderr.contains(expected), "{config}: {stderr}");
    }
    let version = common::run_with_deadline(
        std::process::Command::new(MESOS_DNS).arg("-version"),
        Duration::from_secs(10),
    );
    assert!(version.status.success());
    // The guide's config as written parses (it then waits for its
    // ZooKeeper; the parse is what is checked here, in-process).
    assert!(mesos::dns::Config::parse(dns_common::GUIDE_CONFIG).is_ok());
}

/// One HTTP request with a JSON body; the status and the JSON answer.
fn send_json(address: SocketAddr, method: &str, path: &str, body: &str) -> (u16, Value) {
    let mut s = TcpStream::connect(address).expect("connect");
    s.set_read_timeout(Some(WAIT)).expect("timeout");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).expect("write");
    s.write_all(body.as_bytes()).expect("write");
    let mut raw = String::new();
    let _ = s.read_to_string(&mut raw);
    let status = raw
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = raw.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

#[test]
fn marathon_apps_resolve_by_their_app_names() {
    let cluster = Cluster::start(&[], &["cpus:2;mem:512;ports:[31000-31099]"]);
    let dir = cluster.dir();
    let marathon = Daemon::start(
        "marathon",
        Path::new(env!("CARGO_BIN_EXE_marathon")),
        &[
            format!("--master={}", cluster.master_address()),
            "--http_port=0".into(),
            "--disable_ha".into(),
        ],
        dir.join("marathon.log"),
    );
    let dns = MesosDns::start(
        guide_config(&[
            ("zk", json!("")),
            ("masters", json!([cluster.master_address().to_string()])),
        ]),
        &dir,
        "mesos-dns",
    );
    let (status, created) = send_json(
        marathon.address(),
        "POST",
        "/v2/apps",
        r#"{"id": "mysql", "cmd": "sleep 600", "cpus": 0.1, "mem": 16, "instances": 1,
            "portDefinitions": [{"port": 0, "name": "db", "protocol": "tcp"}]}"#,
    );
    assert_eq!(status, 201, "{created}");
    let task = common::poll(WAIT, || {
        let (_, app) = send_json(marathon.address(), "GET", "/v2/apps/mysql", "");
        let task = app["app"]["tasks"].as_array()?.first()?.clone();
        (task["state"] == "TASK_RUNNING").then_some(task)
    })
    .unwrap_or_else(|| panic!("mysql never ran: {}", marathon.log()));
    let id = task["id"].as_str().expect("a task id");
    let port = task["ports"][0].as_u64().expect("a host port") as u16;
    assert!((31000..=31099).contains(&port), "{task}");
    let tail = task["slaveId"]
        .as_str()
        .and_then(|a| a.rsplit('-').next())
        .expect("an agent id")
        .to_ascii_lowercase();
    // Marathon gives its tasks a DiscoveryInfo (name and ports): the SRV
    // target is the task's own name, and the `.slave.` form the agent's.
    let hash = mesos::dns::records::task_hash(id);
    let target = format!("mysql-{hash}-{tail}.marathon.mesos.");
    let srv = format!("0 1 {port} {target}");
    let answered = common::poll(WAIT, || {
        let lines = dig(dns.dns, "_mysql._tcp.marathon.mesos", "SRV");
        (!lines.is_empty()).then_some(lines)
    });
    assert_eq!(answered, Some(vec![srv.clone()]), "{}", dns.daemon.log());
    assert_eq!(dig(dns.dns, "mysql.marathon.mesos", "A"), vec!["127.0.0.1"]);
    assert_eq!(dig(dns.dns, &target, "A"), vec!["127.0.0.1"]);
    assert_eq!(
        dig(dns.dns, "_db._mysql._tcp.marathon.mesos", "SRV"),
        vec![srv.clone()]
    );
    assert_eq!(
        dig(dns.dns, "_mysql._tcp.marathon.slave.mesos", "SRV"),
        vec![format!(
            "0 1 {port} mysql-{hash}-{tail}.marathon.slave.mesos."
        )]
    );
    assert_eq!(
        dnspython(dns.dns, "_mysql._tcp.marathon.mesos", "SRV"),
        vec![srv]
    );
    // The app destroyed: its names go.
    let (status, _) = send_json(marathon.address(), "DELETE", "/v2/apps/mysql", "");
    assert_eq!(status, 200);
    assert!(
        common::wait_until(WAIT, || dig(dns.dns, "mysql.marathon.mesos", "A")
            .is_empty()),
        "mysql still resolves"
    );
}
