//! Shared pieces of the bench suites: the messages the benches exchange, a
//! node hosted on its own actix arbiter thread ([`Site`]) pinned to a CPU
//! ([`placement`]), a reader of raw frames for the TCP baselines
//! ([`FrameReader`]), and latency percentiles.

use std::future::Future;
use std::sync::mpsc as std_mpsc;
use std::time::Duration;

use actix::{Arbiter, ArbiterHandle};
use actors::{Node, NodeConfig};
use tokio::io::{AsyncRead, AsyncReadExt};
use wire::Frame;

/// The messages of the benches, with their wire names.
pub mod messages {
    use serde::{Deserialize, Serialize};

    /// A small message: one `u64` (one to ten bytes on the wire).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Tick(pub u64);

    /// The request of a ping-pong.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Ping(pub u64);

    /// The reply of a ping-pong.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Pong(pub u64);

    /// 64 bytes of payload, encoded as a one-byte length and the bytes
    /// themselves (65 bytes), with no allocation on either side.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Payload(#[serde(with = "serde_bytes")] pub [u8; 64]);

    wire::messages! {
        Tick => "bench.Tick",
        Ping => "bench.Ping",
        Pong => "bench.Pong",
        Payload => "bench.Payload",
    }
}

/// A node bound inside its own arbiter (one OS thread with a current-thread
/// tokio runtime), so that its I/O and its processes run on that thread.
///
/// Needs an actix `System` on the creating thread (`actix::System::new()`).
pub struct Site {
    arbiter: Arbiter,
    node: Node,
}

impl Site {
    /// Starts an arbiter, pinned to `cpu` if given, and binds a node on
    /// loopback inside it.
    pub fn start(cpu: Option<usize>) -> Site {
        let arbiter = Arbiter::new();
        let (tx, rx) = std_mpsc::channel();
        arbiter.spawn(async move {
            if let Some(cpu) = cpu {
                pin_current_thread(cpu);
            }
            let _ = tx.send(Node::bind(NodeConfig::default()).await);
        });
        let node = rx
            .recv()
            .expect("the arbiter ran the bind")
            .expect("bind a node on loopback");
        Site { arbiter, node }
    }

    pub fn node(&self) -> &Node {
        &self.node
    }

    pub fn arbiter(&self) -> ArbiterHandle {
        self.arbiter.handle()
    }

    /// Runs the future made by `make` on this site's thread (it need not be
    /// `Send`) and waits for its output.
    pub fn block_on<F, R>(&self, make: impl FnOnce() -> F + Send + 'static) -> R
    where
        F: Future<Output = R> + 'static,
        R: Send + 'static,
    {
        let (tx, rx) = std_mpsc::channel();
        self.arbiter.spawn_fn(move || {
            actix::spawn(async move {
                let _ = tx.send(make().await);
            });
        });
        rx.recv().expect("the future ran to completion")
    }

    /// Closes the node's connections, stops the arbiter (dropping its tasks
    /// and processes) and joins its thread.
    pub fn stop(self) {
        self.node.shutdown();
        self.arbiter.stop();
        self.arbiter
            .join()
            .expect("the arbiter thread exits cleanly");
    }
}

/// The CPUs for the two sites of a remote bench, from `BENCH_PIN`:
/// `split` (the default: CPU 0 and CPU 1, as two nodes on two machines
/// would each have their own), `same` (both on CPU 0) or `none` (left to
/// the OS scheduler).
///
/// Pinning makes the figures repeatable: left to itself, the scheduler
/// sometimes places both threads on one CPU, where a wake-up is a context
/// switch, and sometimes on two, where it is a cross-CPU interrupt to an
/// idle (halted) virtual CPU, and a ping-pong's round trip differs by a
/// factor of three or more between the two.
pub fn placement() -> (Option<usize>, Option<usize>) {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    match std::env::var("BENCH_PIN").as_deref() {
        Ok("none") => (None, None),
        Ok("same") => (Some(0), Some(0)),
        _ if cpus < 2 => (Some(0), Some(0)),
        _ => (Some(0), Some(1)),
    }
}

/// Pins the calling thread to one CPU (Linux only; elsewhere a no-op).
pub fn pin_current_thread(cpu: usize) {
    #[cfg(target_os = "linux")]
    // SAFETY: `set` is a plain bit set, initialized by CPU_ZERO before use,
    // and sched_setaffinity only reads it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_ZERO(&mut set);
        libc::CPU_SET(cpu, &mut set);
        let rc = libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
        assert_eq!(
            rc,
            0,
            "pin to CPU {cpu}: {}",
            std::io::Error::last_os_error()
        );
    }
    #[cfg(not(target_os = "linux"))]
    let _ = cpu;
}

/// Bytes read from a socket at a time, at least (as the runtime's reader).
const READ_CHUNK: usize = 64 * 1024;

/// Accumulates bytes from a stream and hands out the complete frames in it,
/// borrowed from its buffer, as the runtime's own reader does.
#[derive(Default)]
pub struct FrameReader {
    buf: Vec<u8>,
    pos: usize,
}

impl FrameReader {
    /// Drops the frames already handed out and reads more bytes. Returns how
    /// many were read; 0 means the stream ended.
    pub async fn fill(&mut self, rd: &mut (impl AsyncRead + Unpin)) -> std::io::Result<usize> {
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        if self.buf.capacity() - self.buf.len() < READ_CHUNK / 4 {
            self.buf.reserve(READ_CHUNK);
        }
        rd.read_buf(&mut self.buf).await
    }

    /// The next complete frame, if one has arrived.
    pub fn next_frame(&mut self) -> Option<Frame<'_>> {
        let rest = &self.buf[self.pos..];
        match Frame::decode(rest, wire::DEFAULT_MAX_FRAME).expect("a well-formed frame") {
            Some((frame, used)) => {
                self.pos += used;
                Some(frame)
            }
            None => None,
        }
    }
}

/// The `q`-quantile (0.0 to 1.0) of `samples`, which it sorts.
pub fn quantile(samples: &mut [Duration], q: f64) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    samples.sort_unstable();
    let rank = ((samples.len() - 1) as f64 * q).round() as usize;
    samples[rank]
}

#[cfg(test)]
mod tests {
    use super::messages::{Payload, Ping};
    use super::*;
    use wire::Message;

    #[test]
    fn payload_encodes_to_65_bytes() {
        let mut out = Vec::new();
        Frame::encode(&mut out, "a", "b", Payload::NAME, &Payload([7; 64]), 1024).unwrap();
        let (frame, _) = Frame::decode(&out, 1024).unwrap().unwrap();
        assert_eq!(frame.payload.len(), 65);
        let back: Payload = wire::codec::decode_payload(frame.payload).unwrap();
        assert_eq!(back, Payload([7; 64]));
    }

    #[test]
    fn reader_hands_out_frames_split_across_reads() {
        let mut bytes = Vec::new();
        for n in 0..3 {
            Frame::encode(&mut bytes, "a", "b", Ping::NAME, &Ping(n), 1024).unwrap();
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let seen = rt.block_on(async {
            let (mut tx, mut rx) = tokio::io::duplex(7);
            let writer = tokio::spawn(async move {
                tokio::io::AsyncWriteExt::write_all(&mut tx, &bytes)
                    .await
                    .unwrap();
            });
            let mut reader = FrameReader::default();
            let mut seen = Vec::new();
            while reader.fill(&mut rx).await.unwrap() > 0 {
                while let Some(frame) = reader.next_frame() {
                    seen.push(
                        wire::codec::decode_payload::<Ping>(frame.payload)
                            .unwrap()
                            .0,
                    );
                }
            }
            writer.await.unwrap();
            seen
        });
        assert_eq!(seen, vec![0, 1, 2]);
    }

    #[test]
    fn quantiles_pick_by_rank() {
        let mut s: Vec<Duration> = (1..=100).rev().map(Duration::from_micros).collect();
        assert_eq!(quantile(&mut s, 0.5), Duration::from_micros(51));
        assert_eq!(quantile(&mut s, 0.0), Duration::from_micros(1));
        assert_eq!(quantile(&mut s, 1.0), Duration::from_micros(100));
    }
}
