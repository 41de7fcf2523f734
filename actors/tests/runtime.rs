//! The runtime end to end, with toy processes: sends, order, links, timers,
//! continuations, HTTP routes and metrics, on one node and across nodes.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actors::http::StatusCode;
use actors::testing::{self, wait_until, Verdict};
use actors::{Cx, Handle, Install, Node, NodeConfig, Pid, Process, Reply, Request, Response};
use serde::{Deserialize, Serialize};

const DEADLINE: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Ping(u64);
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Pong(u64);
wire::messages! {
    Ping => "test.Ping",
    Pong => "test.Pong",
}

/// Answers every Ping with a Pong carrying the same number.
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

/// Records what it receives, and the exits it is told about.
#[derive(Clone, Default)]
struct Log {
    pongs: Arc<Mutex<Vec<u64>>>,
    exited: Arc<Mutex<Vec<Pid>>>,
    notes: Arc<Mutex<Vec<String>>>,
}

impl Log {
    fn pongs(&self) -> Vec<u64> {
        self.pongs.lock().unwrap().clone()
    }
    fn exited(&self) -> Vec<Pid> {
        self.exited.lock().unwrap().clone()
    }
    fn notes(&self) -> Vec<String> {
        self.notes.lock().unwrap().clone()
    }
}

struct Recorder {
    log: Log,
    count: u64,
}

/// A message only ever sent locally: no wire name needed.
struct Note(String);

impl Process for Recorder {
    fn install(i: &mut Install<Self>) {
        i.message::<Pong>().local::<Note>();
        i.route(
            "/count",
            |me: &mut Recorder, req: Request, _cx: &mut Cx<'_, Self>| {
                let body = format!(
                    "{{\"count\":{},\"q\":\"{}\"}}",
                    me.count,
                    req.query("q").unwrap_or("")
                );
                Reply::Now(Response::json(body))
            },
        );
        i.route(
            "/later",
            |_me: &mut Recorder, _req: Request, _cx: &mut Cx<'_, Self>| {
                Reply::later(async { Response::text(StatusCode::ACCEPTED, "done later") })
            },
        );
    }

    fn exited(&mut self, pid: &Pid, _cx: &mut Cx<'_, Self>) {
        self.log.exited.lock().unwrap().push(pid.clone());
    }
}

impl Handle<Pong> for Recorder {
    fn handle(&mut self, Pong(n): Pong, _from: &Pid, _cx: &mut Cx<'_, Self>) {
        self.count += 1;
        self.log.pongs.lock().unwrap().push(n);
    }
}

impl Handle<Note> for Recorder {
    fn handle(&mut self, Note(text): Note, _from: &Pid, _cx: &mut Cx<'_, Self>) {
        self.log.notes.lock().unwrap().push(text);
    }
}

fn recorder(node: &Node, id: &str) -> (Pid, Log) {
    let log = Log::default();
    let pid = node
        .spawn(
            id,
            Recorder {
                log: log.clone(),
                count: 0,
            },
        )
        .unwrap()
        .pid()
        .clone();
    (pid, log)
}

#[actix::test]
async fn local_messages_arrive_in_order() {
    let node = Node::bind(NodeConfig::default()).await.unwrap();
    let ponger = node.spawn("ponger", Ponger).unwrap();
    let (me, log) = recorder(&node, "recorder");
    for n in 0..1000 {
        node.send(&me, ponger.pid(), Ping(n));
    }
    assert!(wait_until(DEADLINE, || log.pongs().len() == 1000).await);
    assert_eq!(log.pongs(), (0..1000).collect::<Vec<_>>());
}

#[actix::test]
async fn remote_messages_arrive_in_order_over_one_connection() {
    let nodes = testing::cluster(2).await.unwrap();
    let ponger = nodes[1].spawn("ponger", Ponger).unwrap();
    let (me, log) = recorder(&nodes[0], "recorder");
    for n in 0..10_000 {
        nodes[0].send(&me, ponger.pid(), Ping(n));
    }
    assert!(wait_until(DEADLINE, || log.pongs().len() == 10_000).await);
    assert_eq!(log.pongs(), (0..10_000).collect::<Vec<_>>());
    // Replies came back over the connection node 0 opened: node 1 opened none.
    assert_eq!(
        nodes[0].metrics().snapshot()["actors/connections/refused"],
        0.0
    );
}

#[actix::test]
async fn spawning_a_taken_or_bad_id_is_refused() {
    let node = Node::bind(NodeConfig::default()).await.unwrap();
    node.spawn("p", Ponger).unwrap();
    assert!(matches!(
        node.spawn("p", Ponger),
        Err(actors::SpawnError::IdInUse(_))
    ));
    assert!(matches!(
        node.spawn("a/b", Ponger),
        Err(actors::SpawnError::BadId(_))
    ));
    assert_eq!(node.generate_id("slave"), "slave(1)");
    assert_eq!(node.generate_id("slave"), "slave(2)");
    assert!(node.lookup("p").is_some());
}

#[actix::test]
async fn link_reports_local_termination_and_missing_processes() {
    let node = Node::bind(NodeConfig::default()).await.unwrap();
    let ponger = node.spawn("ponger", Ponger).unwrap();
    let (me, log) = recorder(&node, "recorder");
    node.link(&me, ponger.pid());
    let ghost = Pid::new("ghost", node.address());
    node.link(&me, &ghost);
    node.terminate(ponger.pid());
    assert!(wait_until(DEADLINE, || log.exited().len() == 2).await);
    let mut exited = log.exited();
    exited.sort();
    assert_eq!(exited, vec![ghost, ponger.pid().clone()]);
    assert!(node.lookup("ponger").is_none());
}

#[actix::test]
async fn link_reports_remote_termination() {
    let nodes = testing::cluster(2).await.unwrap();
    let ponger = nodes[1].spawn("ponger", Ponger).unwrap();
    let (me, log) = recorder(&nodes[0], "recorder");
    nodes[0].link(&me, ponger.pid());
    let ghost = Pid::new("ghost", nodes[1].address());
    nodes[0].link(&me, &ghost);
    assert!(wait_until(DEADLINE, || log.exited() == vec![ghost.clone()]).await);
    nodes[1].terminate(ponger.pid());
    assert!(wait_until(DEADLINE, || log.exited().len() == 2).await);
    assert_eq!(log.exited()[1], *ponger.pid());
}

#[actix::test]
async fn link_reports_a_broken_connection_and_the_next_send_reconnects() {
    let nodes = testing::cluster(2).await.unwrap();
    let ponger = nodes[1].spawn("ponger", Ponger).unwrap();
    let (me, log) = recorder(&nodes[0], "recorder");
    nodes[0].link(&me, ponger.pid());
    nodes[0].send(&me, ponger.pid(), Ping(1));
    assert!(wait_until(DEADLINE, || log.pongs() == vec![1]).await);
    // Node 1 drops every connection (as if the network broke).
    nodes[1].shutdown_connections();
    assert!(wait_until(DEADLINE, || log.exited() == vec![ponger.pid().clone()]).await);
    nodes[0].send(&me, ponger.pid(), Ping(2));
    assert!(wait_until(DEADLINE, || log.pongs() == vec![1, 2]).await);
}

#[actix::test]
async fn link_reports_a_dead_node() {
    let nodes = testing::cluster(1).await.unwrap();
    let (me, log) = recorder(&nodes[0], "recorder");
    // A node in another thread's system, which then stops entirely.
    let (tx, rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        let system = actix::System::new();
        system.block_on(async move {
            let node = Node::bind(NodeConfig::default()).await.unwrap();
            let pid = node.spawn("ponger", Ponger).unwrap().pid().clone();
            tx.send(pid).unwrap();
            tokio::time::sleep(Duration::from_millis(300)).await;
        });
    });
    let remote = rx.recv().unwrap();
    nodes[0].link(&me, &remote);
    nodes[0].send(&me, &remote, Ping(7));
    assert!(wait_until(DEADLINE, || log.pongs() == vec![7]).await);
    thread.join().unwrap();
    assert!(wait_until(DEADLINE, || log.exited() == vec![remote.clone()]).await);
}

/// Counts ticks sent by delays and results of deferred work.
#[derive(Default)]
struct Ticker {
    ticks: Arc<Mutex<Vec<&'static str>>>,
}
struct Tick(&'static str);
struct Finished(u32);

impl Process for Ticker {
    fn install(i: &mut Install<Self>) {
        i.local::<Tick>().local::<Finished>();
    }
    fn started(&mut self, cx: &mut Cx<'_, Self>) {
        cx.delay(Duration::from_secs(60), Tick("minute"));
        let cancelled = cx.delay(Duration::from_secs(30), Tick("cancelled"));
        cx.cancel(cancelled);
        cx.defer(
            async {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                41
            },
            |n| Finished(n + 1),
        );
    }
}
impl Handle<Tick> for Ticker {
    fn handle(&mut self, Tick(what): Tick, _: &Pid, _: &mut Cx<'_, Self>) {
        self.ticks.lock().unwrap().push(what);
    }
}
impl Handle<Finished> for Ticker {
    fn handle(&mut self, Finished(n): Finished, _: &Pid, _: &mut Cx<'_, Self>) {
        assert_eq!(n, 42);
        self.ticks.lock().unwrap().push("finished");
    }
}

#[actix::test]
async fn delays_and_continuations_follow_the_paused_clock() {
    testing::pause();
    let node = Node::bind(NodeConfig::default()).await.unwrap();
    let ticks = Arc::new(Mutex::new(Vec::new()));
    node.spawn(
        "ticker",
        Ticker {
            ticks: ticks.clone(),
        },
    )
    .unwrap();
    testing::settle().await;
    testing::advance(Duration::from_secs(59)).await;
    assert!(ticks.lock().unwrap().is_empty());
    testing::advance(Duration::from_secs(2)).await;
    assert_eq!(*ticks.lock().unwrap(), vec!["minute"]);
    testing::advance(Duration::from_secs(3600)).await;
    assert_eq!(*ticks.lock().unwrap(), vec!["minute", "finished"]);
}

#[actix::test]
async fn node_delay_sends_after_the_duration_and_can_be_cancelled() {
    testing::pause();
    let node = Node::bind(NodeConfig::default()).await.unwrap();
    let (me, log) = recorder(&node, "recorder");
    let ponger = node.spawn("ponger", Ponger).unwrap();
    node.delay(Duration::from_secs(10), &me, ponger.pid(), Ping(1));
    node.delay(Duration::from_secs(5), &me, ponger.pid(), Ping(2))
        .cancel();
    testing::advance(Duration::from_secs(9)).await;
    assert!(log.pongs().is_empty());
    testing::advance(Duration::from_secs(2)).await;
    assert_eq!(log.pongs(), vec![1]);
}

#[actix::test]
async fn local_only_messages_move_without_a_wire_name() {
    let node = Node::bind(NodeConfig::default()).await.unwrap();
    let log = Log::default();
    let handle = node
        .spawn(
            "r",
            Recorder {
                log: log.clone(),
                count: 0,
            },
        )
        .unwrap();
    handle.tell(handle.pid(), Note("hello".into()));
    let count = handle.call(|me: &mut Recorder, _cx| me.count).await;
    assert_eq!(count, Some(0));
    assert_eq!(log.notes(), vec!["hello".to_string()]);
}

#[actix::test]
async fn filters_drop_hold_and_release_messages() {
    let node = Node::bind(NodeConfig::default()).await.unwrap();
    let ponger = node.spawn("ponger", Ponger).unwrap();
    let (me, log) = recorder(&node, "recorder");
    node.set_filter(|m| match m.name {
        "test.Ping" => Verdict::Hold,
        _ => Verdict::Deliver,
    });
    node.send(&me, ponger.pid(), Ping(1));
    node.send(&me, ponger.pid(), Ping(2));
    testing::settle().await;
    assert!(log.pongs().is_empty());
    assert_eq!(node.held().len(), 2);
    node.set_filter(|m| match m.name {
        "test.Pong" => Verdict::Drop,
        _ => Verdict::Deliver,
    });
    assert_eq!(node.release(|_| true), 2);
    testing::settle().await;
    assert!(log.pongs().is_empty(), "pongs were dropped");
    let recorder = testing::Recorder::default();
    node.set_filter(recorder.observer());
    node.send(&me, ponger.pid(), Ping(3));
    assert!(wait_until(DEADLINE, || log.pongs() == vec![3]).await);
    assert_eq!(recorder.count("test.Ping"), 1);
    assert_eq!(recorder.count("test.Pong"), 1);
}

async fn http_get(address: std::net::SocketAddr, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(address).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    let status = out
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = out.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    (status, body)
}

#[actix::test]
async fn http_routes_are_served_by_their_process_and_the_delegate() {
    let node = Node::bind(NodeConfig::default()).await.unwrap();
    let ponger = node.spawn("ponger", Ponger).unwrap();
    let (me, _log) = recorder(&node, "slave(1)");
    node.send(&me, ponger.pid(), Ping(1));
    node.send(&me, ponger.pid(), Ping(2));
    let a = node.address();
    let mut served = (0, String::new());
    for _ in 0..100 {
        served = http_get(a, "/slave(1)/count?q=a%20b").await;
        if served.1.contains("\"count\":2") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(served, (200, "{\"count\":2,\"q\":\"a b\"}".to_string()));
    assert_eq!(http_get(a, "/slave%281%29/count").await.0, 200);
    assert_eq!(
        http_get(a, "/slave(1)/later").await,
        (202, "done later".into())
    );
    assert_eq!(http_get(a, "/count").await.0, 404, "no delegate yet");
    node.set_delegate("slave(1)");
    assert_eq!(http_get(a, "/count").await.0, 200, "served by the delegate");
    assert_eq!(http_get(a, "/slave(1)/nothing").await.0, 404);
    assert!(node.expose("/api/count", "slave(1)", "/count"));
    assert!(
        !node.expose("/api/count", "ponger", "/count"),
        "first claim wins"
    );
    assert_eq!(http_get(a, "/api/count").await.0, 200);
    // As libprocess routes: trailing slashes do not matter, and the
    // longest route that prefixes the path in whole segments serves it.
    for path in [
        "/slave(1)/count/",
        "/slave(1)/count/more/segments",
        "/count/",
        "/api/count/",
        "/metrics/snapshot/",
        "/health/",
    ] {
        assert_eq!(http_get(a, path).await.0, 200, "{path}");
    }
    assert_eq!(http_get(a, "/slave(1)/countx").await.0, 404);
    assert_eq!(http_get(a, "/slave(1)/../count").await.0, 404);
    assert_eq!(http_get(a, "/health").await.0, 200);
    let (status, body) = http_get(a, "/metrics/snapshot").await;
    assert_eq!(status, 200);
    let metrics: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(metrics.as_object().unwrap().values().all(|v| v.is_number()));
    assert!(metrics["actors/http/not_found"].as_f64().unwrap() >= 3.0);
    let (_, jsonp) = http_get(a, "/metrics/snapshot?jsonp=cb").await;
    assert!(jsonp.starts_with("cb({") && jsonp.ends_with("});"));
}
