//! A process runtime in the manner of libprocess, built on actix.
//!
//! Every component of a distributed system built on this crate is a
//! *process*: an actix actor registered under an id on a *node*, addressed
//! by a [`Pid`] (`id@ip:port`), exchanging typed messages with other
//! processes on the same node (moved, never serialized) or on other nodes
//! (one frame each over one TCP connection per pair of nodes).
//!
//! | concept | libprocess | here |
//! |---|---|---|
//! | process id | `UPID` | [`Pid`] (`pid.rs`) |
//! | process | `ProcessBase` | [`Process`] + [`Handle<M>`], hosted by [`ProcessActor`] (`process.rs`) |
//! | process manager, sockets | `ProcessManager`, `SocketManager` | [`Node`] (`node.rs`), sessions (`peer.rs`) |
//! | `link` / `exited` | same | [`Node::link`], [`Process::exited`] (`link.rs`) |
//! | `delay`, `defer` | same | [`Node::delay`], [`Cx::delay`], [`Cx::defer`] (`timer.rs`, `process.rs`) |
//! | `route` | same | [`Install::route`] (`http.rs`) |
//! | metrics | `process::metrics` | [`metrics::Metrics`] (`metrics.rs`) |
//! | `Clock`, filters | `Clock::pause`, `MessageFilter` | [`testing`] |
//!
//! The runtime knows nothing of what the processes mean; the wire format of
//! frames lives in the `wire` crate.

pub mod http;
mod link;
pub mod metrics;
mod node;
mod peer;
pub mod pid;
mod process;
pub mod testing;
mod timer;

pub use actix;
pub use http::{Reply, Request, Response};
pub use node::{Node, NodeConfig, SpawnError};
pub use pid::{Pid, PidError};
pub use process::{Cx, Envelope, Handle, Install, Process, ProcessActor, ProcessRef};
pub use timer::Delay;
