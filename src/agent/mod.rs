//! The agent (Mesos's `mesos-agent`, `src/slave/`): the process that admits
//! itself to the master, runs executors in containers and relays their
//! status updates.
//!
//! | file | owns | Mesos |
//! |---|---|---|
//! | `process.rs` | the agent process: registration, executors, task relay | `slave/slave.cpp` |
//! | `checkpoint.rs` | what survives an agent restart, under `<work_dir>/meta` | `slave/state.cpp`, `slave/paths.cpp` |
//! | `status_updates.rs` | ordered, acknowledged, retried status update streams | `TaskStatusUpdateManager` |
//! | `flags.rs` | `mesos-agent` flags | `slave/flags.cpp` |
//! | `http.rs` | `/state`, `/flags`, `/health` | `slave/http.cpp` |
//! | `containerizer.rs` | sandbox directories, launching an executor in a session of its own, waiting for it, destroying it | `slave/paths.cpp`, `MesosContainerizer` with the posix launcher |
//! | `resources.rs` | the agent's resources: `--resources` plus what the machine has | `Containerizer::resources` |

pub mod checkpoint;
pub mod containerizer;
pub mod executor_api;
pub mod fetcher;
pub mod flags;
pub mod gc;
pub mod http;
pub mod metrics;
pub mod process;
pub mod resources;
pub mod status_updates;
pub mod usage;

#[cfg(test)]
mod tests;

pub use flags::AgentFlags;
pub use process::{Agent, AGENT_ID};
