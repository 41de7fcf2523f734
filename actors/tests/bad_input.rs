//! Bad input from the network never panics a node, never leaves a
//! connection hanging, and is counted. Each test points raw TCP connections
//! at a node running a toy process, sends one kind of bad bytes per
//! connection, checks how the node answers (closes, keeps serving, or
//! replies with an HTTP error) and which counter moved, and ends by proving
//! the node still works end to end: `/health` answers and a ping from
//! another node gets its pong.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use actors::http::StatusCode;
use actors::testing::wait_until;
use actors::{Cx, Handle, Install, Node, NodeConfig, Pid, Process, Reply, Request, Response};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wire::{Frame, Preamble, MAGIC, VERSION};

/// Longest any single expectation may take.
const DEADLINE: Duration = Duration::from_secs(10);
/// The frame cap of the node under test.
const MAX_FRAME: usize = 1024;
/// The HTTP body cap of the node under test.
const MAX_HTTP_BODY: usize = 64;

const REFUSED: &str = "actors/connections/refused";
const OVERSIZED: &str = "actors/frames/oversized";
const MALFORMED: &str = "actors/frames/malformed";
const UNKNOWN_PROCESS: &str = "actors/dropped_messages/unknown_process";
const UNKNOWN_MESSAGE: &str = "actors/dropped_messages/unknown_message";
const UNDECODABLE: &str = "actors/dropped_messages/undecodable";
const HTTP_BAD_REQUESTS: &str = "actors/http/bad_requests";
const HTTP_NOT_FOUND: &str = "actors/http/not_found";
const HTTP_TOO_LARGE: &str = "actors/http/too_large";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Ping(u64);
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Pong(u64);
wire::messages! {
    Ping => "test.Ping",
    Pong => "test.Pong",
}

/// Answers every Ping with a Pong and records it; echoes bodies POSTed to
/// `/echo`.
struct Ponger {
    pings: Arc<Mutex<Vec<u64>>>,
}

impl Process for Ponger {
    fn install(i: &mut Install<Self>) {
        i.message::<Ping>();
        i.route(
            "/echo",
            |_me: &mut Ponger, req: Request, _cx: &mut Cx<'_, Self>| {
                Reply::Now(Response::new(StatusCode::OK, req.body))
            },
        );
    }
}

impl Handle<Ping> for Ponger {
    fn handle(&mut self, Ping(n): Ping, from: &Pid, cx: &mut Cx<'_, Self>) {
        self.pings.lock().unwrap().push(n);
        cx.send(from, Pong(n));
    }
}

/// Records the pongs it receives.
struct Recorder {
    pongs: Arc<Mutex<Vec<u64>>>,
}

impl Process for Recorder {
    fn install(i: &mut Install<Self>) {
        i.message::<Pong>();
    }
}

impl Handle<Pong> for Recorder {
    fn handle(&mut self, Pong(n): Pong, _from: &Pid, _cx: &mut Cx<'_, Self>) {
        self.pongs.lock().unwrap().push(n);
    }
}

/// Records the exits it is told about through links.
struct Watcher {
    exited: Arc<Mutex<Vec<Pid>>>,
}

impl Process for Watcher {
    fn exited(&mut self, pid: &Pid, _cx: &mut Cx<'_, Self>) {
        self.exited.lock().unwrap().push(pid.clone());
    }
}

/// The node under attack, its ponger's log, and a panic watch.
struct Target {
    node: Node,
    pings: Arc<Mutex<Vec<u64>>>,
    panics: PanicProbe,
}

impl Target {
    async fn start(config: NodeConfig) -> Target {
        let panics = PanicProbe::new();
        let node = Node::bind(config).await.unwrap();
        let pings = Arc::new(Mutex::new(Vec::new()));
        node.spawn(
            "ponger",
            Ponger {
                pings: pings.clone(),
            },
        )
        .unwrap();
        Target {
            node,
            pings,
            panics,
        }
    }

    fn pings(&self) -> Vec<u64> {
        self.pings.lock().unwrap().clone()
    }

    fn count(&self, name: &str) -> u64 {
        let snapshot = self.node.metrics().snapshot();
        let value = *snapshot
            .get(name)
            .unwrap_or_else(|| panic!("no metric {name}"));
        value as u64
    }

    /// Waits until counter `name` reads `expected`, then checks it.
    async fn expect_count(&self, name: &str, expected: u64, case: &str) {
        wait_until(DEADLINE, || self.count(name) == expected).await;
        assert_eq!(self.count(name), expected, "{name} after {case}");
    }

    /// The node answers HTTP and frames end to end, and nothing panicked on
    /// this test's thread (where the node's tasks and processes run).
    async fn still_serves(&self) {
        let (status, text) = http(
            self.node.address(),
            b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert_eq!(status, Some(200), "GET /health answered {text:?}");

        let other = Node::bind(NodeConfig::default()).await.unwrap();
        let pongs = Arc::new(Mutex::new(Vec::new()));
        let me = other
            .spawn(
                "recorder",
                Recorder {
                    pongs: pongs.clone(),
                },
            )
            .unwrap()
            .pid()
            .clone();
        let ponger = self.node.lookup("ponger").expect("the ponger is alive");
        other.send(&me, &ponger, Ping(4242));
        let ponged = wait_until(DEADLINE, || *pongs.lock().unwrap() == vec![4242]).await;
        assert!(ponged, "no pong from the node under test");
        other.shutdown();

        self.panics.assert_none();
    }
}

/// The node under test: small frame and body caps, short handshake timeout.
fn small_caps() -> NodeConfig {
    NodeConfig {
        max_frame: MAX_FRAME,
        max_http_body: MAX_HTTP_BODY,
        connect_timeout: Duration::from_secs(1),
        ..NodeConfig::default()
    }
}

/// Counts panics per thread. A node's tasks and processes run on the thread
/// of the `#[actix::test]` that started it, and tokio swallows a panicking
/// task, so a panic there would otherwise go unseen.
struct PanicProbe {
    thread: String,
    before: usize,
}

static PANICS: Mutex<Vec<String>> = Mutex::new(Vec::new());

impl PanicProbe {
    fn new() -> PanicProbe {
        static HOOK: Once = Once::new();
        HOOK.call_once(|| {
            let default = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                let thread = std::thread::current().name().unwrap_or("").to_owned();
                PANICS
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(thread);
                default(info);
            }));
        });
        let thread = std::thread::current().name().unwrap_or("").to_owned();
        let before = Self::on(&thread);
        PanicProbe { thread, before }
    }

    fn on(thread: &str) -> usize {
        let panics = PANICS.lock().unwrap_or_else(|e| e.into_inner());
        panics.iter().filter(|t| *t == thread).count()
    }

    fn assert_none(&self) {
        let panics = Self::on(&self.thread) - self.before;
        assert_eq!(panics, 0, "the node panicked (see stderr)");
    }
}

/// Reads and discards until the node closes the connection (end of stream
/// or reset). Fails if it stays open past the deadline. Returns what was
/// read.
async fn expect_closed(stream: &mut TcpStream, case: &str) -> Vec<u8> {
    let mut seen = Vec::new();
    let closed = tokio::time::timeout(DEADLINE, async {
        let mut chunk = [0u8; 4096];
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => seen.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "{case}: the node left the connection open");
    seen
}

async fn connect(node: &Node) -> TcpStream {
    let stream = TcpStream::connect(node.address()).await.unwrap();
    stream.set_nodelay(true).unwrap();
    stream
}

/// A preamble with any version and any address bytes.
fn preamble(version: u16, address: &[u8]) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&(address.len() as u16).to_le_bytes());
    out.extend_from_slice(address);
    out
}

/// One frame carrying `message`.
fn frame<M: Serialize>(from: &str, to: &str, name: &str, message: &M) -> Vec<u8> {
    let mut out = Vec::new();
    Frame::encode(&mut out, from, to, name, message, usize::MAX).unwrap();
    out
}

/// One frame with a payload of raw bytes.
fn raw_frame(from: &str, to: &str, name: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    Frame::encode_raw(&mut out, from, to, name, payload, usize::MAX).unwrap();
    out
}

/// One frame with an arbitrary body (header and payload) after its length.
fn frame_with_body(body: &[u8]) -> Vec<u8> {
    let mut out = (body.len() as u32).to_le_bytes().to_vec();
    out.extend_from_slice(body);
    out
}

/// A raw frame connection that has completed the handshake, announcing its
/// own local address (unique per connection) as its node address, so that
/// replies to it come back over this very connection.
struct Peer {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Peer {
    async fn connect(node: &Node) -> Peer {
        let mut stream = connect(node).await;
        let address = stream.local_addr().unwrap().to_string();
        let mut ours = Vec::new();
        Preamble::encode(&address, &mut ours);
        stream.write_all(&ours).await.unwrap();
        let mut peer = Peer {
            stream,
            buf: Vec::new(),
        };
        let theirs = read_preamble(&mut peer.stream, &mut peer.buf).await;
        assert_eq!(theirs.address, node.address().to_string());
        peer
    }

    async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
    }

    /// The next frame from the node that is not a heartbeat, as
    /// (from, to, name, payload).
    async fn next_message(&mut self) -> (String, String, String, Vec<u8>) {
        let next = tokio::time::timeout(DEADLINE, async {
            loop {
                let decoded =
                    Frame::decode(&self.buf, usize::MAX).expect("the node sent a bad frame");
                if let Some((f, used)) = decoded {
                    let message: (String, String, String, Vec<u8>) =
                        (f.from.into(), f.to.into(), f.name.into(), f.payload.into());
                    self.buf.drain(..used);
                    if message.1.is_empty() && message.2 == "actors.Heartbeat" {
                        continue;
                    }
                    return message;
                }
                let n = self.stream.read_buf(&mut self.buf).await.unwrap();
                assert!(n > 0, "the node closed the connection");
            }
        })
        .await;
        next.expect("no message from the node")
    }

    /// Sends a valid Ping to the ponger and expects its Pong back over this
    /// connection: the connection is open and the stream is in sync.
    async fn ping_pong(&mut self, n: u64) {
        self.send(&frame("client", "ponger", "test.Ping", &Ping(n)))
            .await;
        let (from, to, name, payload) = self.next_message().await;
        assert_eq!(
            (from.as_str(), to.as_str(), name.as_str()),
            ("ponger", "client", "test.Pong")
        );
        assert_eq!(wire::codec::decode_payload::<Pong>(&payload), Ok(Pong(n)));
    }
}

/// Reads a preamble from `stream` into `buf` and returns it, leaving any
/// bytes after it in `buf`.
async fn read_preamble(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Preamble {
    let read = tokio::time::timeout(DEADLINE, async {
        loop {
            if let Some((p, used)) = Preamble::decode(buf).expect("the node sent a bad preamble") {
                buf.drain(..used);
                return p;
            }
            let n = stream.read_buf(buf).await.unwrap();
            assert!(n > 0, "the node closed before sending its preamble");
        }
    })
    .await;
    let preamble = read.expect("no preamble from the node");
    assert_eq!(preamble.version, VERSION);
    preamble
}

/// Sends `request` on a fresh connection and reads until the node closes
/// it. Returns the status code, if a status line came back, and the text.
async fn http(address: SocketAddr, request: &[u8]) -> (Option<u16>, String) {
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream.write_all(request).await.unwrap();
    let case = String::from_utf8_lossy(request).into_owned();
    let out = expect_closed(&mut stream, &case).await;
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok());
    (status, text)
}

#[actix::test]
async fn a_wrong_magic_is_refused_and_closed() {
    let t = Target::start(small_caps()).await;
    let cases: [(&str, Vec<u8>); 4] = [
        (
            "letters",
            [&[0x89][..], b"XYZ garbage garbage garbage"].concat(),
        ),
        ("zeros", vec![0x89, 0, 0, 0, 0, 0, 0, 0]),
        ("last byte off", [&MAGIC[..3], &[b'B', 1, 0, 0, 0]].concat()),
        ("all ones", vec![0x89, 0xff, 0xff, 0xff, 0xff]),
    ];
    for (i, (case, bytes)) in cases.iter().enumerate() {
        let mut stream = connect(&t.node).await;
        stream.write_all(bytes).await.unwrap();
        expect_closed(&mut stream, case).await;
        t.expect_count(REFUSED, i as u64 + 1, case).await;
    }
    assert!(t.pings().is_empty());
    t.still_serves().await;
}

#[actix::test]
async fn a_bad_preamble_is_refused_after_the_node_sent_its_own() {
    let t = Target::start(small_caps()).await;
    let cases: [(&str, Vec<u8>); 7] = [
        ("version 2", preamble(VERSION + 1, b"127.0.0.1:1")),
        ("version 0", preamble(0, b"127.0.0.1:1")),
        ("version max", preamble(u16::MAX, b"127.0.0.1:1")),
        ("address too long", preamble(VERSION, &[b'1'; 300])),
        (
            "address not UTF-8",
            preamble(VERSION, &[0xff, 0xfe, b':', b'1']),
        ),
        ("address not ip:port", preamble(VERSION, b"not an address")),
        ("empty address", preamble(VERSION, b"")),
    ];
    for (i, (case, bytes)) in cases.iter().enumerate() {
        // The first byte makes the node take this for a frame connection;
        // it then sends its own preamble before reading ours, so a refused
        // peer can log whom it reached and which version it speaks.
        let mut stream = connect(&t.node).await;
        stream.write_all(&bytes[..1]).await.unwrap();
        let mut buf = Vec::new();
        let theirs = read_preamble(&mut stream, &mut buf).await;
        assert_eq!(theirs.address, t.node.address().to_string(), "{case}");
        assert!(
            buf.is_empty(),
            "{case}: the node sent more than its preamble"
        );
        stream.write_all(&bytes[1..]).await.unwrap();
        expect_closed(&mut stream, case).await;
        t.expect_count(REFUSED, i as u64 + 1, case).await;
    }
    t.still_serves().await;
}

#[actix::test]
async fn silent_and_truncated_handshakes_are_closed() {
    let t = Target::start(small_caps()).await;
    // Nothing at all, the first byte only, and most of a preamble: each
    // waits for the connect timeout (1 s here) and is closed.
    let mut ours = Vec::new();
    Preamble::encode("127.0.0.1:1", &mut ours);
    let cases: [(&str, &[u8]); 3] = [
        ("silence", &[]),
        ("first byte only", &ours[..1]),
        ("most of a preamble", &ours[..ours.len() - 1]),
    ];
    for (case, bytes) in cases {
        let mut stream = connect(&t.node).await;
        stream.write_all(bytes).await.unwrap();
        expect_closed(&mut stream, case).await;
    }
    // The same, then end of stream at once.
    for (case, bytes) in cases {
        let mut stream = connect(&t.node).await;
        stream.write_all(bytes).await.unwrap();
        stream.shutdown().await.unwrap();
        expect_closed(&mut stream, case).await;
    }
    // A handshake that did not finish refuses nothing: the peer said nothing wrong.
    assert_eq!(t.count(REFUSED), 0);
    t.still_serves().await;
}

#[actix::test]
async fn a_silent_peer_is_dropped_after_the_peer_timeout() {
    let timeout = Duration::from_secs(1);
    let t = Target::start(NodeConfig {
        peer_timeout: timeout,
        ..small_caps()
    })
    .await;
    let mut peer = Peer::connect(&t.node).await;
    peer.ping_pong(1).await;
    // The node last heard from us before it sent the pong.
    let quiet_since = std::time::Instant::now();
    expect_closed(&mut peer.stream, "silence after the handshake").await;
    let waited = quiet_since.elapsed();
    assert!(
        waited >= timeout / 2,
        "closed after {waited:?}, before the peer timeout of {timeout:?}"
    );
    t.still_serves().await;
}

#[actix::test]
async fn an_oversized_frame_is_refused_before_its_body() {
    let t = Target::start(small_caps()).await;
    let over = (MAX_FRAME as u32 + 1).to_le_bytes();
    let cases: [(&str, Vec<u8>); 4] = [
        ("length cap + 1, no body", over.to_vec()),
        ("length u32::MAX, no body", u32::MAX.to_le_bytes().to_vec()),
        (
            "length cap + 1, some body",
            [&over[..], &[0u8; 100][..]].concat(),
        ),
        (
            "a whole frame over the cap",
            raw_frame("client", "ponger", "test.Ping", &[0; MAX_FRAME]),
        ),
    ];
    for (i, (case, bytes)) in cases.iter().enumerate() {
        let mut peer = Peer::connect(&t.node).await;
        peer.send(bytes).await;
        expect_closed(&mut peer.stream, case).await;
        t.expect_count(OVERSIZED, i as u64 + 1, case).await;
    }
    // A frame of exactly the cap is accepted (dropped here: no process has
    // the message), and the connection goes on.
    let header_only = raw_frame("client", "ponger", "test.Padding", &[]);
    let padding = MAX_FRAME - (header_only.len() - wire::codec::LENGTH_PREFIX);
    let at_cap = raw_frame("client", "ponger", "test.Padding", &vec![0; padding]);
    assert_eq!(at_cap.len(), wire::codec::LENGTH_PREFIX + MAX_FRAME);
    let mut peer = Peer::connect(&t.node).await;
    peer.send(&at_cap).await;
    peer.ping_pong(1).await;
    assert_eq!(t.count(UNKNOWN_MESSAGE), 1);
    assert_eq!(t.count(OVERSIZED), cases.len() as u64);
    assert_eq!(t.pings(), vec![1]);
    t.still_serves().await;
}

#[actix::test]
async fn a_truncated_frame_then_end_of_stream_is_harmless() {
    let t = Target::start(small_caps()).await;
    let ping = frame("client", "ponger", "test.Ping", &Ping(7));
    let cases: [(&str, &[u8]); 4] = [
        ("half a frame", &ping[..ping.len() / 2]),
        ("all but the last byte", &ping[..ping.len() - 1]),
        ("half a length prefix", &ping[..2]),
        ("a length prefix only", &ping[..4]),
    ];
    for (case, bytes) in cases {
        let mut peer = Peer::connect(&t.node).await;
        peer.send(bytes).await;
        peer.stream.shutdown().await.unwrap();
        expect_closed(&mut peer.stream, case).await;
    }
    assert!(t.pings().is_empty(), "a partial frame was delivered");
    t.still_serves().await;
}

#[actix::test]
async fn a_garbage_header_is_malformed_and_closes_the_connection() {
    let t = Target::start(small_caps()).await;
    let mut bad_utf8 = vec![1, 0xff]; // from: one byte, not UTF-8
    bad_utf8.extend_from_slice(&[6]);
    bad_utf8.extend_from_slice(b"ponger");
    bad_utf8.extend_from_slice(&[9]);
    bad_utf8.extend_from_slice(b"test.Ping");
    let cases: [(&str, Vec<u8>); 6] = [
        ("all ones", frame_with_body(&[0xff; 8])),
        ("empty body", frame_with_body(&[])),
        ("strings not UTF-8", frame_with_body(&bad_utf8)),
        (
            "a string longer than the body",
            frame_with_body(&[50, b'a', b'b']),
        ),
        ("two strings only", frame_with_body(&[1, b'a', 1, b'b'])),
        (
            "varint overflow",
            frame_with_body(&[
                0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
            ]),
        ),
    ];
    for (i, (case, bytes)) in cases.iter().enumerate() {
        let mut peer = Peer::connect(&t.node).await;
        peer.send(bytes).await;
        expect_closed(&mut peer.stream, case).await;
        t.expect_count(MALFORMED, i as u64 + 1, case).await;
    }
    // The same garbage in the same segment as the preamble (the bytes read
    // past the preamble during the handshake) is caught just the same.
    let mut stream = connect(&t.node).await;
    let mut bytes = Vec::new();
    Preamble::encode(&stream.local_addr().unwrap().to_string(), &mut bytes);
    bytes.extend_from_slice(&frame_with_body(&[0xff; 8]));
    stream.write_all(&bytes).await.unwrap();
    expect_closed(&mut stream, "garbage right after the preamble").await;
    t.expect_count(
        MALFORMED,
        cases.len() as u64 + 1,
        "garbage after the preamble",
    )
    .await;
    assert!(t.pings().is_empty());
    t.still_serves().await;
}

#[actix::test]
async fn a_message_for_an_unknown_process_is_dropped_and_the_connection_stays_open() {
    let t = Target::start(small_caps()).await;
    let mut peer = Peer::connect(&t.node).await;
    let to = ["nobody", "ponger/extra", "ponger@127.0.0.1:1", "Ponger"];
    for (i, to) in to.iter().enumerate() {
        peer.send(&frame("client", to, "test.Ping", &Ping(1))).await;
        t.expect_count(UNKNOWN_PROCESS, i as u64 + 1, to).await;
    }
    // Still open and in sync: a valid ping on the same connection is answered on it.
    peer.ping_pong(2).await;
    assert_eq!(t.pings(), vec![2]);
    assert_eq!(t.count(MALFORMED), 0);
    t.still_serves().await;
}

#[actix::test]
async fn an_unknown_message_is_dropped_and_the_connection_stays_open() {
    let t = Target::start(small_caps()).await;
    let mut peer = Peer::connect(&t.node).await;
    let cases: [(&str, &str, &str); 4] = [
        ("a name nobody defines", "ponger", "test.Nope"),
        ("the empty name", "ponger", ""),
        ("a name the ponger does not accept", "ponger", "test.Pong"),
        ("an unknown control message", "", "test.Nope"),
    ];
    for (i, (case, to, name)) in cases.iter().enumerate() {
        peer.send(&frame("client", to, name, &Ping(1))).await;
        t.expect_count(UNKNOWN_MESSAGE, i as u64 + 1, case).await;
    }
    peer.ping_pong(3).await;
    assert_eq!(t.pings(), vec![3]);
    assert_eq!(t.count(MALFORMED), 0);
    t.still_serves().await;
}

#[actix::test]
async fn an_undecodable_payload_closes_the_connection() {
    let t = Target::start(small_caps()).await;
    let ping = postcard::to_allocvec(&Ping(7)).unwrap();
    let cases: [(&str, Vec<u8>); 3] = [
        ("varint overflow", vec![0xff; 11]),
        ("empty payload", vec![]),
        ("trailing bytes", [&ping[..], &[0]].concat()),
    ];
    for (i, (case, payload)) in cases.iter().enumerate() {
        let mut peer = Peer::connect(&t.node).await;
        peer.send(&raw_frame("client", "ponger", "test.Ping", payload))
            .await;
        expect_closed(&mut peer.stream, case).await;
        t.expect_count(UNDECODABLE, i as u64 + 1, case).await;
    }
    // The frames themselves were sound: counted once, as undecodable.
    assert_eq!(t.count(MALFORMED), 0);
    assert!(t.pings().is_empty());
    t.still_serves().await;
}

#[actix::test]
async fn malformed_http_gets_a_400_and_is_counted() {
    let t = Target::start(small_caps()).await;
    let cases: [&[u8]; 6] = [
        b"GET / HTTP/1.1\r\nBad Header\r\n\r\n",
        b"hello, this is not HTTP\r\n\r\n",
        b"\x00\x01\x02\x03 binary\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n",
        b"GET / HTTP/9.9\r\nHost: x\r\n\r\n",
        b"GET /\x7f HTTP/1.1\r\nHost: x\r\n\r\n",
    ];
    for (i, request) in cases.iter().enumerate() {
        let case = String::from_utf8_lossy(request);
        let (status, text) = http(t.node.address(), request).await;
        assert_eq!(status, Some(400), "{case:?} answered {text:?}");
        t.expect_count(HTTP_BAD_REQUESTS, i as u64 + 1, &case).await;
    }
    t.still_serves().await;
}

#[actix::test]
async fn an_http_body_over_the_limit_gets_a_413() {
    let t = Target::start(small_caps()).await;
    // Within the limit the route answers, so the 413s below are the limit's.
    let body = "x".repeat(MAX_HTTP_BODY);
    let request = format!(
        "POST /ponger/echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let (status, text) = http(t.node.address(), request.as_bytes()).await;
    assert_eq!(status, Some(200), "{text:?}");
    assert!(text.ends_with(&body), "{text:?}");

    let body = "x".repeat(MAX_HTTP_BODY + 1);
    let chunked = format!("{:x}\r\n{body}\r\n0\r\n\r\n", body.len());
    let cases = [
        format!(
            "POST /ponger/echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        ),
        format!(
            "POST /ponger/echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
             Transfer-Encoding: chunked\r\n\r\n{chunked}"
        ),
    ];
    for (i, request) in cases.iter().enumerate() {
        let (status, text) = http(t.node.address(), request.as_bytes()).await;
        assert_eq!(status, Some(413), "{request:?} answered {text:?}");
        t.expect_count(HTTP_TOO_LARGE, i as u64 + 1, request).await;
    }
    assert_eq!(t.count(HTTP_BAD_REQUESTS), 0);
    t.still_serves().await;
}

#[actix::test]
async fn a_broken_http_body_gets_a_400_and_is_counted_once() {
    let t = Target::start(small_caps()).await;
    let request = b"POST /ponger/echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
                    Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n";
    let (status, text) = http(t.node.address(), request).await;
    assert_eq!(status, Some(400), "{text:?}");
    t.expect_count(HTTP_BAD_REQUESTS, 1, "a bad chunk size")
        .await;
    t.still_serves().await;
}

#[actix::test]
async fn unknown_http_paths_get_a_404_and_are_counted() {
    let t = Target::start(small_caps()).await;
    let paths = [
        "/nobody/x",
        "/ponger/nothing",
        "/ponger/../health",
        "/",
        "/%ff%fe/echo",
    ];
    for (i, path) in paths.iter().enumerate() {
        let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let (status, text) = http(t.node.address(), request.as_bytes()).await;
        assert_eq!(status, Some(404), "{path} answered {text:?}");
        t.expect_count(HTTP_NOT_FOUND, i as u64 + 1, path).await;
    }
    t.still_serves().await;
}

#[actix::test]
async fn a_peer_announcing_the_nodes_own_address_cannot_cancel_local_links() {
    let t = Target::start(small_caps()).await;
    let exited = Arc::new(Mutex::new(Vec::new()));
    let watcher = Watcher {
        exited: exited.clone(),
    };
    let watcher = t.node.spawn("watcher", watcher).unwrap();
    let linkee = Watcher {
        exited: Arc::new(Mutex::new(Vec::new())),
    };
    let linkee = t.node.spawn("linkee", linkee).unwrap();
    t.node.link(watcher.pid(), linkee.pid());

    // A stranger claims to be this very node (a forged or misconfigured
    // advertise address), then goes away. Whether the node refuses it or
    // serves it, its leaving must not look like this node's processes
    // becoming unreachable.
    let mut stream = connect(&t.node).await;
    let mut bytes = Vec::new();
    Preamble::encode(&t.node.address().to_string(), &mut bytes);
    stream.write_all(&bytes).await.unwrap();
    read_preamble(&mut stream, &mut Vec::new()).await;
    stream.shutdown().await.unwrap();
    expect_closed(&mut stream, "a preamble with the node's own address").await;

    t.node.terminate(linkee.pid());
    let fired = wait_until(DEADLINE, || exited.lock().unwrap().len() == 1).await;
    assert!(
        fired,
        "the local link was lost: closing a connection that announced the \
         node's own address dropped every local link (Node::peer_lost)"
    );
    assert_eq!(*exited.lock().unwrap(), vec![linkee.pid().clone()]);
    t.still_serves().await;
}
