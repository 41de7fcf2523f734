//! `mesos-execute`: runs one command on the cluster as a one-task framework
//! and exits with 0 when it finishes (Mesos's `mesos-execute`).
//!
//! ```text
//! mesos-execute --master=127.0.0.1:5050 --name=hi --command='echo hello'
//! ```
//!
//! Flags are also read from `MESOS_<FLAG>`; the logic is in
//! `mesos::scheduler::execute`.

use std::process::ExitCode;

use mesos::flags::{usage, Flags, Outcome};
use mesos::scheduler::execute::{CommandScheduler, Execute, SPECS};
use mesos::scheduler::{self, Status};

fn main() -> ExitCode {
    let flags = match Flags::load(SPECS, std::env::args().skip(1), std::env::vars()) {
        Ok(Outcome::Run(flags)) => flags,
        Ok(Outcome::Help) => {
            print!("{}", usage("mesos-execute", SPECS));
            return ExitCode::SUCCESS;
        }
        Ok(Outcome::Version) => {
            println!("mesos-execute {}", wire::mesos::VERSION);
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    match run(&flags) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(flags: &Flags) -> anyhow::Result<ExitCode> {
    let execute = Execute::from_flags(flags, scheduler::current_user())?;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let master = execute.master.clone();
    let framework = execute.framework.clone();
    let command = CommandScheduler::new(execute, Box::new(std::io::stdout()));
    let (status, command) = scheduler::run(&master, framework, command)?;
    if let Status::Error(_) | Status::Aborted = status {
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::from(command.exit_code()))
}
