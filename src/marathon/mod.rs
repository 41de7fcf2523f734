//! `marathon`: the long-running-service scheduler, a framework on this
//! project's own scheduler driver with Marathon's REST API.
//!
//! The pure pieces, each tested on its own:
//! - [`path`]: app and group ids (`/prod/web`), resolved and checked.
//! - [`app`]: the AppDefinition read with Marathon's defaults and rules
//!   (400 for wrong types, 422 for broken rules, every problem at its JSON
//!   pointer), written back as Marathon's JSON, and partial updates.
//! - [`constraints`]: `UNIQUE`, `CLUSTER`, `GROUP_BY`, `LIKE`, `UNLIKE`,
//!   `MAX_PER`, `IS` against an agent's hostname and attributes.
//! - [`error`]: Marathon's error answers.
//! - [`read`]: field-by-field JSON reading that records type errors.
//! - [`flags`]: Marathon's flags and `MARATHON_*` environment.
//! - [`ports`]: host ports drawn from offers; service-port assignment
//!   (tested, not yet called: apps keep the service ports they give).
//! - [`backoff`]: the launch delay after failures.
//! - [`scale`]: which instances a scale-down kills.
//! - [`env`]: the environment of a task.
//! - [`api`]: the REST API v2 over the core, as statuses, bodies and
//!   effects.
//! - [`instances`]: the scheduler's core: apps, their instances, and what
//!   offers, status updates and time come to.
//! - [`store`]: the state as records (apps, their versions, instances,
//!   the framework id) in ZooKeeper or in files, and what a round of work
//!   must write.
//! - [`leader`]: leader election among instances in ZooKeeper.
//! - [`proxy`]: a standby's forwarding of requests to the leader.

pub mod api;
pub mod app;
pub mod backoff;
pub mod constraints;
pub mod env;
pub mod error;
pub mod flags;
pub mod instances;
pub mod leader;
pub mod path;
pub mod ports;
pub mod process;
pub mod proxy;
pub mod read;
pub mod run;
pub mod scale;
pub mod store;

// The actor and its start (the house shape: thin handlers over the core):
// - `process`: the marathon process, its routes, its leadership, the
//   rounds of work written to the store before they act, and the driver's
//   callbacks forwarded to it.
// - `run`: the node, the store and the process of one instance.
