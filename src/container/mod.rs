//! The container layer: where an executor run lives, how it is started,
//! signalled, waited for and taken back after an agent restart, and what
//! its processes use. The agent launches executors through it; the
//! executors launch their tasks and health checks through it. It knows
//! nothing of either: no actor, no message, only processes and paths.
//!
//! | file | owns | Mesos |
//! |---|---|---|
//! | `sandbox.rs` | sandbox paths under the work_dir, the ids allowed in them, the `latest` link | `slave/paths.cpp` |
//! | `proc.rs` | facts read from `/proc`: stat fields, liveness, start time, session members, per-session usage | `posix/cpu`, `posix/mem` isolators (`ResourceStatistics`) |
//! | `launcher.rs` | the [`Launcher`] seam; spawning into a session or process group of its own, recovering a running pid | `PosixLauncher` |
//! | `handle.rs` | the [`Container`] handle: wait, signal the whole container, destroy, kill when dropped | `Launcher::destroy`, the containerizer's `wait` |
//! | `exit.rs` | wait statuses and signal names as Mesos prints them | `WSTRINGIFY`, `strsignal` |
//! | `containerizer.rs` | the [`Containerizer`] seam; launching a [`LaunchSpec`] with its sandbox, user and output files, recovery, usage | `MesosContainerizer` |
//! | `composing.rs` | the [`ComposingContainerizer`]: the containerizers of `--containerizers`, each taking its containers | `ComposingContainerizer` |
//! | `docker/` | the Docker containerizer and the `docker` CLI client | `DockerContainerizer`, `src/docker/` |
//! | `environment.rs` | the `MESOS_*` environment an executor is given, written and parsed side by side | `executorEnvironment` in `slave/slave.cpp`, the executor driver's reading of it |
//!
//! Where the next pieces go: a cgroups launcher (`--launcher=linux`, with
//! a freezer so that a container's processes are found without scanning
//! `/proc`) is a second [`Launcher`] in `launcher/` beside the posix one;
//! isolators named as `--isolation` names them (`cgroups/cpu`,
//! `cgroups/mem`, ...) go in `isolator/`, the Mesos containerizer holding
//! the chosen ones. The agent holds a [`ComposingContainerizer`] of the
//! containerizers `--containerizers` names: the Mesos one and the Docker
//! one (`docker/`, through Debian's `docker.io`), which takes the
//! containers whose `ContainerInfo` is `DOCKER`.

pub mod composing;
pub mod containerizer;
pub mod docker;
pub mod environment;
pub mod exit;
pub mod handle;
pub mod launcher;
pub mod proc;
pub mod sandbox;

pub use composing::ComposingContainerizer;
pub use containerizer::{Containerizer, LaunchSpec, MesosContainerizer};
pub use environment::{EnvironmentError, ExecutorEnvironment};
pub use exit::{signal_name, ExitStatus, WaitError};
pub use handle::Container;
pub use launcher::{
    command_line, lookup_user, recover, spawn, Grouping, LaunchError, Launcher, Output,
    PosixLauncher, RunAs, SpawnOptions,
};
pub use proc::{is_alive, of_sessions, process_start_time, stat_field, Usage};
pub use sandbox::{check_id, create_sandbox, runs_dir, sandbox_dir, SandboxError, LATEST};
