//! The master's cost of operator API subscribers: 1,000 short command
//! tasks through a real `mesos-master` and `mesos-agent` (posix launcher),
//! once with no `SUBSCRIBE` client (the baseline) and once with 100 of
//! them reading the event stream.
//!
//! What is measured, per row: the master's CPU time (user + system of its
//! OS process, from `/proc/<pid>/stat`) from just before the first launch
//! until every subscriber has read the event of every task's end, divided
//! by the number of tasks; and the events the subscribers read in all.
//! Each subscriber is a thread reading the chunked RecordIO stream and
//! counting events; the bench fails unless each saw a `TASK_ADDED` and a
//! `TASK_UPDATED` to `TASK_FINISHED` for every task, and as many
//! `TASK_UPDATED`s as every other subscriber.
//!
//! Not a criterion bench: one sample is a whole cluster run. Run alone on
//! a quiet machine: `cargo bench -p benches --bench operator_stream`.
//! `OPERATOR_BENCH_TASKS` and `OPERATOR_BENCH_SUBSCRIBERS` change the
//! sizes (1,000 and 100).

#[path = "../../tests/common/mod.rs"]
#[allow(unused_imports)]
mod common;

#[path = "support/mod.rs"]
mod support;

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{cpu_ticks, env_size, release_binaries, run_tasks, ticks_to_duration, Pair};

const TASKS: usize = 1_000;
const SUBSCRIBERS: usize = 100;
/// The prefix of the bench's task ids (`run_tasks` names them `<tag>-<n>`).
const TAG: &str = "op";
/// The longest a wait on the subscribers may take.
const WAIT: Duration = Duration::from_secs(120);

fn main() {
    let tasks = env_size("OPERATOR_BENCH_TASKS", TASKS);
    let subscribers = env_size("OPERATOR_BENCH_SUBSCRIBERS", SUBSCRIBERS);
    let bins = release_binaries();
    let mut rows: Vec<Row> = Vec::new();
    for n in [0, subscribers] {
        let pair = Pair::start(&bins, "operator-bench", "posix")
            .expect("the agent starts with --launcher=posix");
        let row = run(&pair, n, tasks);
        println!("{}", row.line(rows.first()));
        rows.push(row);
    }
    println!();
    println!("| subscribers | master CPU per task | extra CPU ratio | events delivered |");
    println!("|---|---|---|---|");
    for row in &rows {
        println!("{}", row.line(rows.first()));
    }
}

/// One row: `n` subscribers on the stream while `tasks` tasks run.
fn run(pair: &Pair, n: usize, tasks: usize) -> Row {
    let master = pair.master.address();
    let clients: Vec<Subscriber> = (0..n).map(|_| Subscriber::start(master, tasks)).collect();
    wait_for("every subscriber's SUBSCRIBED", || {
        clients
            .iter()
            .all(|c| c.counts.subscribed.load(Ordering::SeqCst))
    });
    let before = cpu_ticks(pair.master.os_pid());
    let started = Instant::now();
    run_tasks(master, tasks, TAG);
    wait_for("every task's end on every stream", || {
        clients
            .iter()
            .all(|c| c.counts.finished.load(Ordering::SeqCst) >= tasks)
    });
    let after = cpu_ticks(pair.master.os_pid());
    let wall = started.elapsed();
    let seen: Vec<Seen> = clients.into_iter().map(Subscriber::stop).collect();
    for (i, s) in seen.iter().enumerate() {
        assert_eq!(s.added, tasks, "subscriber {i}: a TASK_ADDED per task");
        assert_eq!(
            s.finished, tasks,
            "subscriber {i}: a TASK_FINISHED per task"
        );
        assert_eq!(
            s.updated, seen[0].updated,
            "subscriber {i}: as many TASK_UPDATED as subscriber 0"
        );
    }
    Row {
        subscribers: n,
        tasks,
        wall,
        cpu: ticks_to_duration(after.saturating_sub(before)),
        events: seen.iter().map(|s| s.events).sum(),
    }
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let end = Instant::now() + WAIT;
    while !done() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

// ---------------------------------------------------------------------------
// A SUBSCRIBE client.

/// What a subscriber's reader shows while it runs.
#[derive(Default)]
struct Counts {
    subscribed: AtomicBool,
    /// Bench tasks whose `TASK_FINISHED` update was read.
    finished: AtomicUsize,
}

/// What a subscriber read, in all.
struct Seen {
    events: usize,
    added: usize,
    updated: usize,
    finished: usize,
}

struct Subscriber {
    counts: Arc<Counts>,
    stream: TcpStream,
    reader: JoinHandle<Seen>,
}

impl Subscriber {
    fn start(master: SocketAddr, tasks: usize) -> Subscriber {
        let body = br#"{"type":"SUBSCRIBE"}"#;
        let mut stream = TcpStream::connect(master).expect("connect to the master");
        write!(
            stream,
            "POST /api/v1 HTTP/1.1\r\nHost: {master}\r\nContent-Type: application/json\r\nAccept: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .expect("send SUBSCRIBE");
        stream.write_all(body).expect("send SUBSCRIBE");
        let counts = Arc::new(Counts::default());
        let reader = {
            let stream = stream.try_clone().expect("clone the stream");
            let counts = counts.clone();
            std::thread::spawn(move || read_events(stream, &counts, tasks))
        };
        Subscriber {
            counts,
            stream,
            reader,
        }
    }

    /// Closes the connection and returns what was read.
    fn stop(self) -> Seen {
        let _ = self.stream.shutdown(Shutdown::Both);
        self.reader.join().expect("the reader thread")
    }
}

/// Reads the stream until it ends: the chunked body's RecordIO records
/// (`<length>\n<json>`), counted by type.
fn read_events(stream: TcpStream, counts: &Counts, tasks: usize) -> Seen {
    let mut seen = Seen {
        events: 0,
        added: 0,
        updated: 0,
        finished: 0,
    };
    let mut added: HashSet<String> = HashSet::with_capacity(tasks);
    let mut finished: HashSet<String> = HashSet::with_capacity(tasks);
    let mut r = BufReader::new(stream);
    let mut line = String::new();
    // The head: status line, headers, a blank line.
    line.clear();
    if r.read_line(&mut line).unwrap_or(0) == 0 {
        return seen;
    }
    assert!(
        line.starts_with("HTTP/1.1 200"),
        "SUBSCRIBE answered {line}"
    );
    loop {
        line.clear();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return seen;
        }
        if line == "\r\n" {
            break;
        }
    }
    let mut pending: Vec<u8> = Vec::new();
    loop {
        line.clear();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        let Ok(size) = usize::from_str_radix(line.trim(), 16) else {
            break;
        };
        if size == 0 {
            break;
        }
        let start = pending.len();
        pending.resize(start + size + 2, 0);
        if r.read_exact(&mut pending[start..]).is_err() {
            break;
        }
        pending.truncate(start + size);
        // Whole records off the front of what has come.
        let mut used = 0;
        while let Some(newline) = pending[used..].iter().position(|b| *b == b'\n') {
            let len: usize = std::str::from_utf8(&pending[used..used + newline])
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .expect("a RecordIO length");
            let body = used + newline + 1;
            if pending.len() < body + len {
                break;
            }
            let event: Value =
                serde_json::from_slice(&pending[body..body + len]).expect("an event is JSON");
            used = body + len;
            seen.events += 1;
            match event["type"].as_str() {
                Some("SUBSCRIBED") => counts.subscribed.store(true, Ordering::SeqCst),
                Some("TASK_ADDED") => {
                    let id = &event["task_added"]["task"]["task_id"]["value"];
                    if let Some(id) = id.as_str().filter(|id| is_bench_task(id)) {
                        added.insert(id.to_owned());
                    }
                }
                Some("TASK_UPDATED") => {
                    let update = &event["task_updated"];
                    let id = &update["status"]["task_id"]["value"];
                    if let Some(id) = id.as_str().filter(|id| is_bench_task(id)) {
                        seen.updated += 1;
                        if update["state"] == "TASK_FINISHED" && finished.insert(id.to_owned()) {
                            counts.finished.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                }
                _ => {}
            }
        }
        pending.drain(..used);
    }
    seen.added = added.len();
    seen.finished = finished.len();
    seen
}

fn is_bench_task(id: &str) -> bool {
    id.strip_prefix(TAG)
        .is_some_and(|rest| rest.starts_with('-'))
}

// ---------------------------------------------------------------------------
// Results.

struct Row {
    subscribers: usize,
    tasks: usize,
    wall: Duration,
    cpu: Duration,
    events: usize,
}

impl Row {
    fn per_task_ms(&self) -> f64 {
        self.cpu.as_secs_f64() * 1000.0 / self.tasks.max(1) as f64
    }

    /// The table's line; the ratio is against `baseline` (the first row).
    fn line(&self, baseline: Option<&Row>) -> String {
        let ratio = match baseline {
            Some(b) if b.per_task_ms() > 0.0 => {
                format!("{:.2}", self.per_task_ms() / b.per_task_ms())
            }
            _ => "1.00".to_owned(),
        };
        format!(
            "| {} | {:.3} ms | {ratio} | {} |  ({} tasks in {:.1} s)",
            self.subscribers,
            self.per_task_ms(),
            self.events,
            self.tasks,
            self.wall.as_secs_f64(),
        )
    }
}
