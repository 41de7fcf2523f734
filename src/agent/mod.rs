//! The agent (Mesos's `mesos-agent`, `src/slave/`): the process that admits
//! itself to the master, runs executors in containers and relays their
//! status updates.
//!
//! The agent is one process, [`Agent`]: a thin actor (`process.rs`) whose
//! handlers sit by peer in their own files and consult the records and
//! decisions of an I/O-free core (`state.rs`); endpoints and metrics read
//! a view of it. Files import each other one way: handlers → process →
//! core.
//!
//! | file | owns | Mesos |
//! |---|---|---|
//! | `process.rs` | the actor: its state and lifecycle (recovering, disconnected, running, terminating), the messages it sends itself, registration, and `act`, the one place the core's decisions about executor runs become messages, signals, timers and checkpoints, and the acts handlers share (registering, to an executor, forgetting what ended) | `slave/slave.cpp` (`Slave`) |
//! | `state.rs` | the I/O-free core: the agent's lifecycle, framework and executor records, executor phases, the effects their transitions return, how tasks end when their executor does, what re-registration drops, the view endpoints read | `slave/slave.hpp` (`Framework`, `Executor`) |
//! | `launch.rs` | launch decisions: which executor a task gets (its own, a command executor, the default executor of a group), a task as handed to it | `Slave::getExecutorInfo` |
//! | `master_link.rs` | handlers for the master and the leader detector: registration answers, pings, run/kill, acknowledgements, framework changes, shutdown | `Slave::registered`, `runTask`, `killTask`, ... |
//! | `executors.rs` | handlers for executors over both APIs: (re-)registration, updates, framework messages | `Slave::registerExecutor`, `statusUpdate`, ... |
//! | `containers.rs` | the executor environment, launching, watching, shutting down executors' containers, and executor exits | `Slave::launchExecutor`, `executorTerminated` |
//! | `updates.rs` | the status update relay: updates made here or from executors, into their streams, to the master | `Slave::statusUpdate`, `forward` |
//! | `recovery.rs` | taking back a checkpoint: executors reconnected, timed out or gone | `Slave::recover`, `reregisterExecutorTimeout` |
//! | `gc.rs` | sweeping finished sandboxes, and its handlers | `GarbageCollector` |
//! | `checkpoint.rs` | what survives an agent restart, under `<work_dir>/meta` | `slave/state.cpp`, `slave/paths.cpp` |
//! | `status_updates.rs` | ordered, acknowledged, retried status update streams | `TaskStatusUpdateManager` |
//! | `executor_api.rs` | the v1 executor API: request prelude, refusals, messages as events | `slave/http.cpp` (`executor`) |
//! | `http.rs` | `/state`, `/monitor/statistics`, `/flags`, `/health` | `slave/http.cpp` |
//! | `containers_http.rs` | `/containers`: each container's status and usage | `slave/http.cpp` (`containers`) |
//! | `operator.rs` | the v1 operator API, `POST /api/v1`: the agent's calls and their JSON | `slave/http.cpp` (`api`) |
//! | `metrics.rs` | `slave/...` counters and gauges | `Slave::Metrics` |
//! | `flags.rs` | `mesos-agent` flags | `slave/flags.cpp` |
//! | `resources.rs` | the agent's resources: `--resources` plus what the machine has | `Containerizer::resources` |
//! | `fetcher.rs` | fetching a command's URIs into the sandbox before it runs | `slave/containerizer/fetcher.cpp` |
//! | `tests.rs` | the agent against a fake master and a fake executor | `src/tests/slave_tests.cpp` |
//!
//! Messages, by peer:
//!
//! | peer | receives | sends |
//! |---|---|---|
//! | master | AgentRegistered, AgentReregistered, PingAgent, RunTask, RunTaskGroup, KillTask, StatusUpdateAcknowledgement, ShutdownFramework, ShutdownExecutor, FrameworkToExecutor, UpdateFramework, ShutdownAgent | RegisterAgent, ReregisterAgent, PongAgent, StatusUpdateMessage, ExitedExecutor, ExecutorToFramework |
//! | leader detector | LeaderDetected | |
//! | executors (v0) | RegisterExecutor, ReregisterExecutor, StatusUpdateMessage, ExecutorToFramework | ExecutorRegistered, ExecutorReregistered, ReconnectExecutor, RunTask, RunTaskGroup, KillTask, StatusUpdateAcknowledgement, FrameworkToExecutor, ShutdownExecutor |
//! | executors (v1, `POST /api/v1/executor`) | SUBSCRIBE, UPDATE, MESSAGE, HEARTBEAT | SUBSCRIBED, LAUNCH, LAUNCH_GROUP, KILL, ACKNOWLEDGED, MESSAGE, SHUTDOWN |
//! | operators (v1, `POST /api/v1`) | GET_STATE, GET_CONTAINERS, KILL_CONTAINER, ... (`operator.rs`) | their answers |
//! | itself | RegistrationRetry, PingTimeout, RetryUpdate, RegistrationTimeout, KillContainer, ExecutorExited, ReregistrationTimeout, GcTick, GcDone | |

pub mod checkpoint;
mod containers;
pub mod containers_http;
pub mod executor_api;
mod executors;
pub mod fetcher;
pub mod flags;
pub mod gc;
pub mod http;
pub mod launch;
mod master_link;
pub mod metrics;
pub mod operator;
pub mod process;
mod recovery;
pub mod resources;
pub mod state;
pub mod status_updates;
mod updates;
pub mod volumes;

#[cfg(test)]
mod tests;

pub use flags::AgentFlags;
pub use process::{Agent, AGENT_ID};
