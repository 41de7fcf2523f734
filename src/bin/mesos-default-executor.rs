//! `mesos-default-executor`: the executor the agent launches for task
//! groups whose executor brings no command (Mesos's `type: DEFAULT`). It
//! runs every task of its groups and exits 0 once all have ended and their
//! terminal updates are acknowledged (see `mesos::executor::default`).

fn main() {
    let executor = mesos::executor::default::DefaultExecutor::new();
    std::process::exit(mesos::executor::main_for(
        "mesos-default-executor",
        executor,
    ));
}
