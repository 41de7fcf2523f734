//! Executors: the Rust executor driver, the command executor and the
//! default executor.
//!
//! | file | owns | Mesos |
//! |---|---|---|
//! | `driver.rs` | the [`driver::Executor`] trait; the driver process ([`driver::ExecutorProcess`]) that registers with the agent and relays tasks, kills, status updates and framework messages; what callbacks act with ([`driver::ExecutorDriver`]); the running driver ([`driver::ExecutorHandle`]) | `MesosExecutorDriver` (`src/exec/exec.cpp`) |
//! | `command.rs` | the executor that runs one task's command (`mesos-executor`) | `CommandExecutor` (`src/launcher/executor.cpp`) |
//! | `docker.rs` | the executor of a command task in a Docker container (`mesos-docker-executor`) | `DockerExecutor` (`src/docker/executor.cpp`) |
//! | `default.rs` | the executor of task groups, one process group per task (`mesos-default-executor`) | `DefaultExecutor` (`src/launcher/default_executor.cpp`) |
//! | `health.rs` | running a task's health check and keeping its score | `HealthChecker` |
//! | `fake_agent.rs` | (tests) a stand-in agent that executors register with | |
//!
//! The driver's names mirror the scheduler driver's ([`crate::scheduler`]):
//! `ExecutorProcess` / `SchedulerProcess` are the actors,
//! `ExecutorDriver` / `SchedulerDriver` what callbacks act with,
//! `ExecutorHandle` / `SchedulerHandle` the running driver seen from outside.
//!
//! The driver process receives, from the agent: `ExecutorRegistered`,
//! `ExecutorReregistered`, `ReconnectExecutor`, `RunTask`, `RunTaskGroup`,
//! `KillTask`, `StatusUpdateAcknowledgement`, `FrameworkToExecutor`,
//! `ShutdownExecutor`. It sends, to the agent: `RegisterExecutor`,
//! `ReregisterExecutor`, `StatusUpdateMessage`, `ExecutorToFramework`.
//!
//! ```text
//! agent slave(1) ── RegisterExecutor / StatusUpdate ◄── executor(1) (driver.rs)
//!               ──► ExecutorRegistered / RunTask / KillTask / Ack / Shutdown
//!                                                       └─ calls an Executor (command.rs)
//!                                                            └─ the task: a process group of its own
//! ```

pub mod command;
pub mod default;
pub mod docker;
pub mod driver;
#[cfg(test)]
pub(crate) mod fake_agent;
pub mod health;

use crate::flags::{self, Flags, Outcome, Spec};

const SPECS: &[Spec] = &[Spec::value(
    "launcher_dir",
    None,
    "Directory of the Mesos helper binaries (accepted for compatibility)",
)];

/// The `main` of an executor binary the agent launches (`program` names
/// it): logs to stderr, answers `--help` and `--version`, reads the run
/// from the environment the agent sets (`MESOS_SLAVE_PID`,
/// `MESOS_FRAMEWORK_ID`, `MESOS_EXECUTOR_ID`, `MESOS_DIRECTORY`, ...) and
/// drives `executor` until it stops. Returns the exit code: 0 once the
/// driver stopped, 1 if it was aborted or could not start.
pub fn main_for<E: driver::Executor>(program: &str, executor: E) -> i32 {
    main_with(program, SPECS, |_| Ok(executor))
}

/// As [`main_for`], with the flags of `specs`, from which `make` builds
/// the executor.
pub fn main_with<E: driver::Executor>(
    program: &str,
    specs: &[Spec],
    make: impl FnOnce(&Flags) -> Result<E, flags::FlagError>,
) -> i32 {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let executor = match Flags::load(specs, std::env::args().skip(1), std::env::vars()) {
        Ok(Outcome::Run(f)) => match make(&f) {
            Ok(executor) => executor,
            Err(e) => {
                eprintln!("{program}: {e}");
                return 1;
            }
        },
        Ok(Outcome::Help) => {
            print!("{}", flags::usage(program, specs));
            return 0;
        }
        Ok(Outcome::Version) => {
            println!("{program} {}", wire::mesos::VERSION);
            return 0;
        }
        Err(e) => {
            eprintln!("{program}: {e}");
            return 1;
        }
    };
    let config = match driver::DriverConfig::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("{program}: reading the executor's environment: {e}");
            return 1;
        }
    };
    let system = actix::System::new();
    match system.block_on(driver::run(config, executor)) {
        Ok(driver::DriverStatus::Stopped) => 0,
        Ok(driver::DriverStatus::Aborted) => 1,
        Err(e) => {
            eprintln!("{program}: running the executor driver: {e}");
            1
        }
    }
}
