//! The agent (Mesos's `mesos-agent`, `src/slave/`): the process that admits
//! itself to the master, runs executors in containers and relays their
//! status updates.
//!
//! So far this module holds the pieces the agent process builds on:
//!
//! | file | owns | Mesos |
//! |---|---|---|
//! | `containerizer.rs` | sandbox directories, launching an executor in a session of its own, waiting for it, destroying it | `slave/paths.cpp`, `MesosContainerizer` with the posix launcher |
//! | `resources.rs` | the agent's resources: `--resources` plus what the machine has | `Containerizer::resources` |

pub mod containerizer;
pub mod resources;
