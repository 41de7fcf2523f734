//! Test support: message filters (deliver, drop, hold, observe), a clock
//! that tests control, waiting on conditions, and in-process clusters.
//!
//! Filters see every message a node sends by pid (`Node::send`, `Cx::send`,
//! delays), local or remote, before it leaves the sender's node. They cost
//! one atomic load per send when none is set. Clock control (`pause`,
//! `advance`) needs the `testing` feature and a current-thread runtime, as
//! actix's `System` is; paused time suits processes on one node, since a
//! paused clock jumps ahead whenever every task waits, including on sockets.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::metrics::lock;
use crate::node::{Node, NodeConfig};
use crate::pid::Pid;

/// What a filter decides for one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Deliver,
    Drop,
    /// Keep it until `Node::release` lets it go.
    Hold,
}

/// A message as a filter sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageInfo {
    pub from: Pid,
    pub to: Pid,
    pub name: &'static str,
}

type FilterFn = Arc<dyn Fn(&MessageInfo) -> Verdict + Send + Sync>;
type Deliver = Box<dyn FnOnce() + Send>;

#[derive(Default)]
pub(crate) struct Hooks {
    active: AtomicBool,
    filter: Mutex<Option<FilterFn>>,
    held: Mutex<Vec<(MessageInfo, Deliver)>>,
}

impl Hooks {
    pub(crate) fn is_active(&self) -> bool {
        self.active.load(Ordering::Relaxed)
    }

    pub(crate) fn verdict(&self, from: &Pid, to: &Pid, name: &'static str) -> Verdict {
        let filter = lock(&self.filter).clone();
        match filter {
            Some(f) => f(&MessageInfo {
                from: from.clone(),
                to: to.clone(),
                name,
            }),
            None => Verdict::Deliver,
        }
    }

    pub(crate) fn hold(&self, from: &Pid, to: &Pid, name: &'static str, deliver: Deliver) {
        let info = MessageInfo {
            from: from.clone(),
            to: to.clone(),
            name,
        };
        lock(&self.held).push((info, deliver));
    }
}

impl Node {
    /// Runs `filter` on every message this node sends from now on.
    pub fn set_filter(&self, filter: impl Fn(&MessageInfo) -> Verdict + Send + Sync + 'static) {
        *lock(&self.inner.hooks.filter) = Some(Arc::new(filter));
        self.inner.hooks.active.store(true, Ordering::Relaxed);
    }

    /// Removes the filter; held messages stay held until released.
    pub fn clear_filter(&self) {
        self.inner.hooks.active.store(false, Ordering::Relaxed);
        *lock(&self.inner.hooks.filter) = None;
    }

    /// The messages currently held, oldest first.
    pub fn held(&self) -> Vec<MessageInfo> {
        lock(&self.inner.hooks.held)
            .iter()
            .map(|(info, _)| info.clone())
            .collect()
    }

    /// Sends the held messages that match `which`, oldest first, past the
    /// filter. Returns how many were released.
    pub fn release(&self, which: impl Fn(&MessageInfo) -> bool) -> usize {
        let released: Vec<Deliver> = {
            let mut held = lock(&self.inner.hooks.held);
            let (go, stay): (Vec<_>, Vec<_>) = held.drain(..).partition(|(info, _)| which(info));
            *held = stay;
            go.into_iter().map(|(_, deliver)| deliver).collect()
        };
        let n = released.len();
        for deliver in released {
            deliver();
        }
        n
    }
}

/// Records the messages a filter sees.
#[derive(Clone, Default)]
pub struct Recorder {
    seen: Arc<Mutex<Vec<MessageInfo>>>,
}

impl Recorder {
    pub fn record(&self, info: &MessageInfo) {
        lock(&self.seen).push(info.clone());
    }

    /// A filter that records and delivers everything.
    pub fn observer(&self) -> impl Fn(&MessageInfo) -> Verdict + Send + Sync + 'static {
        let me = self.clone();
        move |info| {
            me.record(info);
            Verdict::Deliver
        }
    }

    pub fn messages(&self) -> Vec<MessageInfo> {
        lock(&self.seen).clone()
    }

    pub fn count(&self, name: &str) -> usize {
        lock(&self.seen).iter().filter(|m| m.name == name).count()
    }
}

/// Polls `condition` until it holds or `deadline` (real time) passes.
/// Returns whether it held.
pub async fn wait_until(deadline: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + deadline;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Lets every task that is ready run, repeatedly, so messages already sent
/// between local processes are handled (libprocess's `Clock::settle`).
pub async fn settle() {
    for _ in 0..64 {
        tokio::task::yield_now().await;
    }
}

/// Stops tokio's clock: time moves only by `advance` (or by itself when
/// every task waits on a timer).
#[cfg(feature = "testing")]
pub fn pause() {
    tokio::time::pause();
}

/// Moves the paused clock forward, firing due timers, then settles.
#[cfg(feature = "testing")]
pub async fn advance(by: Duration) {
    tokio::time::advance(by).await;
    settle().await;
}

/// `n` nodes on loopback in this runtime, each on a free port.
pub async fn cluster(n: usize) -> std::io::Result<Vec<Node>> {
    let mut nodes = Vec::with_capacity(n);
    for _ in 0..n {
        nodes.push(Node::bind(NodeConfig::default()).await?);
    }
    Ok(nodes)
}
