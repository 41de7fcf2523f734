//! The master (Mesos's `src/master`): admits agents, registers frameworks,
//! offers resources through the allocator, launches tasks and relays their
//! status updates, and keeps its registry through the registrar.
//!
//! A thin process around an I/O-free core: the core's methods take the
//! time and push [`effects::Effect`]s; the process carries them out in one
//! place (`Master::act`).
//!
//! | file | owns |
//! |---|---|
//! | `process.rs` | [`Master`]: the actor: its messages, `act`, handlers from agents, schedulers, the allocator, the registrar and timers |
//! | `process/routes.rs` | its routes (endpoints, v1 scheduler API) and HTTP frameworks' streams |
//! | `process/operator.rs` | `POST /api/v1` carried out, and the operator event stream's subscribers |
//! | `process/election.rs` | contending through ZooKeeper, becoming the leader, the detector's news |
//! | `process/outbox.rs` | carrying out effects: typed sends, timers, allocator calls, registry operations |
//! | `leadership.rs` | [`leadership::Phase`] (contending, recovering, leading, stopping) and the registrations held between election and recovery |
//! | `core.rs` | [`core::Core`]: records plus configuration; counting and addressing shared by the concerns below |
//! | `agents.rs` | admission, re-registration, reconfiguration, pings, lost connections, removal of an agent |
//! | `frameworks.rs` | subscription and failover, deactivation, disconnection, removal of a framework |
//! | `offers.rs` | allocations to offers, decline, rescind, offer timeout, revive and suppress |
//! | `tasks.rs` | accept and launch, kill, status updates, acknowledgements, reconciliation, the one way a task is ended |
//! | `validation.rs` | launch validation of tasks and task groups (pure) |
//! | `registry.rs` | what registry recovery brings, the re-registration deadline, pruning, registry failures |
//! | `maintenance.rs` | the maintenance schedule, machines DRAINING and DOWN, inverse offers and their answers |
//! | `drain.rs` | `DRAIN_AGENT`: an agent's tasks killed, DRAINING then DRAINED, gone if asked |
//! | `removal.rs` | marking agents unreachable, under `--agent_removal_rate_limit` |
//! | `state.rs` | [`state::State`]: agents, frameworks, offers, tasks with their invariants; private fields |
//! | `rendered.rs` | [`rendered::TaskRecord`]: a task with its JSON fragments for `/master/state` and the v1 API, forgotten on every change |
//! | `effects.rs` | what the core decides should happen: messages, allocator calls, registry operations, timers, exit |
//! | `view.rs` | [`view::MasterView`]: what endpoints and metrics read |
//! | `http.rs` | the operator endpoints (`/master/state`, `/master/slaves`, ...) |
//! | `scheduler_api.rs` | `POST /api/v1/scheduler`: reading calls, the v1 prelude, errors to responses |
//! | `operator/` | `POST /api/v1`, the v1 operator API: calls, their JSON, the operator event stream |
//! | `events.rs` | messages to a framework as v1 events; an HTTP framework's stream |
//! | `metrics.rs` | `master/*` and per-framework counters |
//! | `gauges.rs` | the gauges computed at snapshot time |
//! | `flags.rs` | `mesos-master` flags |
//! | `tests.rs` | the process in one node with fake agents and schedulers |
//!
//! Messages, by peer:
//! - from agents: `RegisterAgent`, `ReregisterAgent`, `UnregisterAgent`,
//!   `PongAgent`, `StatusUpdateMessage`, `ExitedExecutor`,
//!   `ExecutorToFramework`; to agents: `AgentRegistered`,
//!   `AgentReregistered`, `PingAgent`, `RunTask`, `RunTaskGroup`,
//!   `KillTask`, `StatusUpdateAcknowledgement`, `ShutdownFramework`,
//!   `ShutdownExecutor`, `FrameworkToExecutor`, `UpdateFramework`;
//! - from schedulers (or their v1 calls): `Subscribe`, `Accept`, `Decline`,
//!   `Revive`, `Suppress`, `Kill`, `Acknowledge`, `Reconcile`,
//!   `SendFrameworkMessage`, `Teardown`, `Deactivate`; to schedulers (or as
//!   v1 events): `FrameworkRegistered`, `FrameworkReregistered`,
//!   `FrameworkError`, `ResourceOffers`, `RescindOffer`,
//!   `StatusUpdateMessage`, `AgentLost`, `ExitedExecutor`,
//!   `ExecutorToFramework`;
//! - with the allocator (local): its messages through
//!   [`crate::allocator::AllocatorHandle`]; back: `Allocated`;
//! - with the registrar (local): `RecoverRegistry`, `Apply`; back:
//!   `RegistryRecovered`, `AgentAdmitted`, `AgentReadmitted`,
//!   `RegistryFailed`;
//! - from the election (local): `Contend`, `Elected`, `LostCandidacy`,
//!   `LeaderDetected`;
//! - to itself (timers and streams): `PingTick`, `OfferExpired`,
//!   `FailoverExpired`, `ReregisterTimeout`, `RemovalPermit`,
//!   `PruneRegistry`, `ContendAgain`, `HeartbeatTick`, `StreamClosed`,
//!   `OperatorStreamClosed`;
//! - from operators (`POST /api/v1`, `operator/`): the v1 operator calls;
//!   to them: `ShutdownAgent` to an agent marked gone, and the operator
//!   event stream.

mod agents;
pub mod core;
pub mod drain;
pub mod effects;
pub mod events;
pub mod flags;
mod frameworks;
mod gauges;
pub mod http;
pub mod leadership;
pub mod maintenance;
pub mod metrics;
mod offers;
pub mod operations;
pub mod operator;
pub mod process;
pub mod quota;
mod registry;
mod removal;
pub mod rendered;
pub mod reservation;
pub mod scheduler_api;
pub mod state;
pub mod tasks;
#[cfg(test)]
mod tests;
pub mod validation;
pub mod view;

pub use flags::MasterFlags;
pub use process::{Master, MASTER_ID};
