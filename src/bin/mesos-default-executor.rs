//! `mesos-default-executor`: the executor the agent launches for task
//! groups whose executor brings no command (Mesos's `type: DEFAULT`). It
//! reads its run from the environment the agent sets (`MESOS_SLAVE_PID`,
//! `MESOS_FRAMEWORK_ID`, `MESOS_EXECUTOR_ID`, `MESOS_DIRECTORY`, ...), runs
//! every task of its groups, and exits 0 once all have ended and their
//! terminal updates are acknowledged.

use anyhow::Context;
use mesos::executor::default::DefaultExecutor;
use mesos::executor::driver::{self, DriverConfig, DriverStatus};
use mesos::flags::{self, Flags, Outcome, Spec};

const SPECS: &[Spec] = &[Spec::value(
    "launcher_dir",
    None,
    "Directory of the Mesos helper binaries (accepted for compatibility)",
)];

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    match Flags::load(SPECS, std::env::args().skip(1), std::env::vars())? {
        Outcome::Run(_) => {}
        Outcome::Help => {
            print!("{}", flags::usage("mesos-default-executor", SPECS));
            return Ok(());
        }
        Outcome::Version => {
            println!("mesos-default-executor {}", wire::mesos::VERSION);
            return Ok(());
        }
    }
    let config = DriverConfig::from_env().context("reading the executor's environment")?;
    let system = actix::System::new();
    let status = system
        .block_on(driver::run(config, DefaultExecutor::new()))
        .context("running the executor driver")?;
    match status {
        DriverStatus::Stopped => Ok(()),
        DriverStatus::Aborted => std::process::exit(1),
    }
}
