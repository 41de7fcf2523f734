//! The master (Mesos's `src/master`): the process that admits agents,
//! registers frameworks, offers resources through the allocator, launches
//! tasks and relays their status updates.
//!
//! - `process.rs`: the `master` process and its handlers;
//! - `state.rs`: pure bookkeeping and decisions (launch validation,
//!   reconciliation answers);
//! - `allocation.rs`: the link to the allocator process;
//! - `flags.rs`: `mesos-master` flags; `metrics.rs`: `master/*` metrics;
//!   `http.rs`: endpoints.

pub mod allocation;
pub mod flags;
pub mod http;
pub mod metrics;
pub mod process;
pub mod scheduler_api;
pub mod state;
#[cfg(test)]
mod tests;

pub use flags::MasterFlags;
pub use process::{Master, MASTER_ID};
