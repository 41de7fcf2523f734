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
//! | `launcher/linux.rs` | [`LinuxLauncher`]: a freezer cgroup per container, killed through it, found again from it, orphans destroyed | `LinuxLauncher` |
//! | `cgroups/` | finding the hierarchies, making, freezing, killing and removing cgroups, their control files parsed | `linux/cgroups.cpp` |
//! | `isolator/` | the [`Isolator`]s `--isolation` names: `cgroups/cpu`, `cgroups/mem` (OOM as a [`Limitation`]), `cgroups/pids`, `disk/du`, `posix/*` | `isolators/cgroups`, `isolators/posix/disk.cpp` |
//! | `config.rs` | `--launcher`, `--isolation` and the cgroups flags checked against the machine at start | `MesosContainerizer::create` |
//! | `handle.rs` | the [`Container`] handle: wait, signal the whole container, destroy, kill when dropped | `Launcher::destroy`, the containerizer's `wait` |
//! | `exit.rs` | wait statuses and signal names as Mesos prints them | `WSTRINGIFY`, `strsignal` |
//! | `containerizer.rs` | the [`Containerizer`] seam; launching a [`LaunchSpec`] with its sandbox, user and output files, recovery, usage | `MesosContainerizer` |
//! | `composing.rs` | the [`ComposingContainerizer`]: the containerizers of `--containerizers`, each taking its containers | `ComposingContainerizer` |
//! | `docker/` | the Docker containerizer and the `docker` CLI client | `DockerContainerizer`, `src/docker/` |
//! | `environment.rs` | the `MESOS_*` environment an executor is given, written and parsed side by side | `executorEnvironment` in `slave/slave.cpp`, the executor driver's reading of it |
//!
//! The agent holds the containerizer the flags choose: the Mesos one alone,
//! or, with `--containerizers=docker,mesos`, a composing one that gives
//! each container to the first containerizer that takes it.

pub mod cgroups;
pub mod composing;
pub mod config;
pub mod containerizer;
pub mod docker;
pub mod environment;
pub mod exit;
pub mod handle;
pub mod isolator;
pub mod launcher;
pub mod proc;
pub mod sandbox;

pub use composing::ComposingContainerizer;
pub use config::{ContainerConfig, IsolatorKind, LauncherKind};
pub use containerizer::{Containerizer, LaunchSpec, MesosContainerizer};
pub use environment::{EnvironmentError, ExecutorEnvironment};
pub use exit::{signal_name, ExitStatus, WaitError};
pub use handle::{Container, LimitationCell, WeakContainer};
pub use isolator::{Isolator, LimitKind, Limitation};
pub use launcher::{
    command_line, lookup_user, recover, spawn, Grouping, Isolation, LaunchError, Launcher,
    LinuxLauncher, Output, PosixLauncher, RunAs, SpawnOptions,
};
pub use proc::{is_alive, of_pids, of_sessions, process_start_time, stat_field, Usage};
pub use sandbox::{check_id, create_sandbox, runs_dir, sandbox_dir, SandboxError, LATEST};
