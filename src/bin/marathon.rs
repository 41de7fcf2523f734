//! `marathon`: the long-running-service scheduler (see `mesos::marathon`).

use mesos::logging;
use mesos::marathon::flags::{parse, usage, Parsed};

const PROGRAM: &str = "marathon";

fn main() {
    let flags = match parse(std::env::args().skip(1), std::env::vars()) {
        Ok(Parsed::Run(flags)) => *flags,
        Ok(Parsed::Help) => {
            print!("{}", usage());
            return;
        }
        Err(e) => {
            eprintln!("{PROGRAM}: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = logging::init(PROGRAM, "INFO", None) {
        eprintln!("{PROGRAM}: {e}");
        std::process::exit(1);
    }
    if let Err(e) = mesos::marathon::run::run(flags) {
        eprintln!("{PROGRAM}: {e}");
        std::process::exit(1);
    }
}
