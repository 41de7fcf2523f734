//! The cluster manager: master, allocator, agent, executor and scheduler
//! driver, each a process on the `actors` runtime, exchanging the typed
//! messages of the `wire` crate.
//!
//! ```text
//! mesos-master node                          mesos-agent node
//!   master ──────── allocator(1)               slave(1) ── status update manager
//!     │  offers, launches, updates                │  runs executors in sandboxes
//!     │◄────────────── frames ───────────────────►│
//!     │                                           │  frames
//!   scheduler-<uuid> (framework node)          executor(1) (mesos-executor)
//! ```
//!
//! | Mesos component | here |
//! |---|---|
//! | `src/master/master.cpp` | [`master::process`] (handlers), [`master::state`] (bookkeeping) |
//! | `src/master/allocator/mesos/hierarchical.cpp`, DRF sorter | [`allocator`] |
//! | `src/slave/slave.cpp` | [`agent::process`] |
//! | `TaskStatusUpdateManager` | [`agent::status_updates`] |
//! | `MesosContainerizer` + posix launcher | [`container`] |
//! | `src/launcher/executor.cpp` (command executor), `MesosExecutorDriver` | [`executor`] |
//! | `MesosSchedulerDriver`, `mesos-execute` | [`scheduler`] |
//! | `src/master/http.cpp`, `src/slave/http.cpp`, `src/common/http.cpp` | `master::http`, `agent::http`, [`model`] |
//! | `src/files/files.cpp` | [`files`] |
//! | `src/master/registrar.cpp`, registry operations | [`registrar`], `wire::registry` |
//! | `src/master/contender/`, `src/master/detector/`, `src/zookeeper/` | [`zookeeper`] |
//! | `src/log/` (replicated log: replica, coordinator, recover) | [`log`] |
//! | stout flags | [`flags`] |
//! | `src/master/main.cpp`, `src/slave/main.cpp`, `src/local/` | `src/bin/*`, [`run`], [`daemon`] |

pub mod agent;
pub mod allocator;
pub mod container;
pub mod daemon;
pub mod executor;
pub mod files;
pub mod flags;
pub mod log;
pub mod master;
pub mod model;
pub mod random;
pub mod registrar;
pub mod run;
pub mod scheduler;
pub mod stop;
pub mod v1_http;
pub mod zookeeper;
