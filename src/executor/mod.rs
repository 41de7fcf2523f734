//! Executors: the Rust executor driver, the command executor and the
//! default executor.
//!
//! | file | owns | Mesos |
//! |---|---|---|
//! | `driver.rs` | the [`driver::Executor`] trait and the driver process that registers with the agent and relays tasks, kills, status updates and framework messages | `MesosExecutorDriver` (`src/exec/exec.cpp`) |
//! | `command.rs` | the executor that runs one task's command (`mesos-executor`) | `CommandExecutor` (`src/launcher/executor.cpp`) |
//! | `default.rs` | the executor of task groups, one process group per task (`mesos-default-executor`) | `DefaultExecutor` (`src/launcher/default_executor.cpp`) |
//!
//! ```text
//! agent slave(1) ── RegisterExecutor / StatusUpdate ◄── executor(1) (driver.rs)
//!               ──► ExecutorRegistered / RunTask / KillTask / Ack / Shutdown
//!                                                       └─ calls an Executor (command.rs)
//!                                                            └─ the task: a process group of its own
//! ```

pub mod command;
pub mod default;
pub mod driver;
#[cfg(test)]
mod fake_agent;
