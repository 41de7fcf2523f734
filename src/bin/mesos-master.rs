//! `mesos-master`: the master daemon.

use mesos::master::{flags, MasterFlags};
use mesos::{daemon, logging};

const PROGRAM: &str = "mesos-master";

fn main() {
    let f = daemon::load_flags(PROGRAM, flags::SPECS);
    let flags = daemon::check(PROGRAM, MasterFlags::from_flags(f));
    if let Err(e) = logging::init(PROGRAM, &flags.logging_level, flags.log_dir.as_deref()) {
        daemon::fail(PROGRAM, &e);
    }
    let system = actix::System::new();
    let (notice, stops) = mesos::stop::channel();
    let started = system.block_on(async move { mesos::run::start_master(flags, &notice).await });
    match started {
        Ok(running) => {
            println!("Master started at http://{}", running.address);
            daemon::serve(system, running, stops, daemon::exit_with_process);
        }
        Err(e) => daemon::fail(PROGRAM, &e),
    }
}
