//! `mesos-executor`: the command executor the agent launches for tasks that
//! bring a command rather than an executor. It runs the one task and exits
//! 0 once its terminal update is acknowledged (see
//! `mesos::executor::command`).

fn main() {
    let executor = mesos::executor::command::CommandExecutor::new();
    std::process::exit(mesos::executor::main_for("mesos-executor", executor));
}
