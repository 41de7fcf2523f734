//! `mesos-agent`: the agent daemon.

use mesos::agent::{flags, AgentFlags};
use mesos::{daemon, logging};

const PROGRAM: &str = "mesos-agent";

fn main() {
    let f = daemon::load_flags(PROGRAM, flags::SPECS);
    let flags = daemon::check(PROGRAM, AgentFlags::from_flags(f));
    if let Err(e) = logging::init(PROGRAM, &flags.logging_level, flags.log_dir.as_deref()) {
        daemon::fail(PROGRAM, &e);
    }
    let system = actix::System::new();
    let (notice, stops) = mesos::stop::channel();
    let started =
        system.block_on(async move { mesos::run::start_agent(flags, None, &notice).await });
    match started {
        Ok(running) => {
            println!("Agent started at http://{}", running.address);
            daemon::serve(system, running, stops, daemon::exit_with_process);
        }
        Err(e) => daemon::fail(PROGRAM, &e),
    }
}
