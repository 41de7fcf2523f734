//! The Rust scheduler driver: how a framework written in Rust plugs into a
//! running cluster (Mesos's `MesosSchedulerDriver`, `src/sched/sched.cpp`),
//! and `mesos-execute`, the one-task framework built on it
//! (`src/cli/execute.cpp`).
//!
//! A framework implements [`Scheduler`]; the driver is a process
//! (`scheduler-<uuid>`) that registers the framework with the master
//! (`master@host:port`), turns the master's messages into the scheduler's
//! callbacks, and turns the calls the scheduler makes on the
//! [`SchedulerDriver`] it is handed (or on a cloneable [`SchedulerCalls`],
//! from outside the process) into messages to the master.
//!
//! Three names, the same three as on the executor's side
//! ([`crate::executor::driver`]), each after the Mesos type it plays:
//!
//! | name | what it is | who holds it |
//! |---|---|---|
//! | `SchedulerProcess` | the actor (Mesos's `SchedulerProcess`): registration, events to callbacks | the node |
//! | [`SchedulerDriver`] | what a callback acts with (Mesos's `SchedulerDriver`) | each [`Scheduler`] callback |
//! | [`SchedulerHandle`] | the running driver, from outside: its pid, its [`SchedulerCalls`], join | whoever called [`start`] |
//!
//! [`SchedulerCalls`] has no counterpart for executors: it is the
//! [`SchedulerDriver`]'s calls queued to the process from anywhere (another
//! process, a signal handler, a test), which only schedulers need.
//!
//! ```text
//!   framework's Scheduler  <── callbacks ──  driver process  <── master's messages
//!          │                                  ▲      │
//!          └── SchedulerDriver / SchedulerCalls ┘    └──> Subscribe, Accept, Decline,
//!                                                        Kill, Acknowledge, Teardown, ...
//! ```
//!
//! Messages the driver receives (from the master unless noted):
//! `FrameworkRegistered`, `FrameworkReregistered`, `FrameworkError`,
//! `ResourceOffers`, `RescindOffer`, `StatusUpdateMessage`, `AgentLost`,
//! `ExitedExecutor`, and `ExecutorToFramework` (from the master or straight
//! from an agent). It sends `Subscribe`, `Accept`, `Decline`, `Revive`,
//! `Suppress`, `Kill`, `Acknowledge`, `Reconcile`, `SendFrameworkMessage`,
//! `Teardown` and `Deactivate`, all to the master.
//!
//! [`run`] is the whole life of a driver for a `main`: an actix system, a
//! node, the driver process, and the wait until it stops.
//!
//! | file | owns |
//! |---|---|
//! | `driver.rs` | the [`Scheduler`] trait, [`SchedulerDriver`], [`SchedulerCalls`]: calls to messages |
//! | `process.rs` | the driver process (`SchedulerProcess`): registration, events to callbacks, acknowledgements |
//! | `start.rs` | [`start`], [`run`], [`SchedulerHandle`], `--master` parsing, the driver's node address |
//! | `execute.rs` | `mesos-execute`'s flags and its one-task scheduler |
//! | `offers.rs` | [`pick_resources`]: a task's resources out of an offer |

mod driver;
pub mod execute;
mod offers;
mod process;
mod start;

pub use driver::{Scheduler, SchedulerCalls, SchedulerDriver, Status};
pub use offers::pick_resources;
pub use start::{
    current_user, node_config_from_env, parse_master, run, run_with, start, DriverError,
    MasterSource, Options, SchedulerHandle,
};

#[cfg(test)]
mod tests;
