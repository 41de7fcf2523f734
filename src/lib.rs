//! The cluster manager: master, allocator, registrar, replicated log,
//! agent, executors and scheduler driver, each a process on the `actors`
//! runtime, exchanging the typed messages of the `wire` crate.
//!
//! Every role has the same shape: a thin actor (`process.rs`) whose
//! handlers check the sender, ask an I/O-free core (records and decisions,
//! time passed in) what should happen, and carry that out in one place;
//! endpoints and metrics read a view of the core. Processes never stop the
//! OS process: they stop with a [`stop::StopReason`] and the daemon
//! ([`daemon::serve`]) decides the exit code.
//!
//! ```text
//! mesos-master node                                 mesos-agent node
//!   master ─┬─ allocator(1)   (offers)                slave(1)  (agent)
//!           ├─ registrar(1) ── log(1) ── log-replica(1)   │  status update manager,
//!           │                    ▲ Paxos with the other   │  checkpoints, gc
//!           │                    └ masters' replicas      │
//!           │◄──────────────── frames ───────────────────►│ launches through container/
//!           ▲  ZooKeeper contender + detector             ▼
//!   scheduler-<uuid> (framework node)                 executor(1) (mesos-executor,
//!     follows the leader through a detector             mesos-default-executor)
//! ```
//!
//! | Mesos component | here |
//! |---|---|
//! | `src/master/master.cpp` | [`master::process`] (the actor, handlers by peer, one `act`); [`master::core`] with `agents`, `frameworks`, `offers`, `tasks`, `registry`, `removal` (the decisions); [`master::state`] (the records); [`master::leadership`] (the phase) |
//! | `src/master/validators.cpp` | [`master::validation`] |
//! | `src/master/http.cpp` | [`master::http`], [`master::scheduler_api`], over [`v1_http`] |
//! | `src/master/allocator/mesos/hierarchical.cpp`, DRF sorter | [`allocator`] (and [`allocator::AllocatorHandle`], the master's client) |
//! | `src/master/registrar.cpp`, registry operations | [`registrar`], `wire::registry` |
//! | `src/log/` (replicated log: replica, coordinator, recover) | [`log`] |
//! | `src/master/contender/`, `src/master/detector/`, `src/zookeeper/` | [`zookeeper`] |
//! | `src/slave/slave.cpp` (`Slave`) | [`agent::process`] (handlers in `master_link`, `executors`, `containers`, `recovery`, `updates`) |
//! | `Framework`, `Executor` in `src/slave/slave.hpp` | [`agent::state`] |
//! | `TaskStatusUpdateManager` | [`agent::status_updates`] |
//! | `src/slave/state.cpp`, `src/slave/paths.cpp` (checkpoints) | [`agent::checkpoint`] |
//! | `GarbageCollector` | [`agent::gc`] |
//! | `src/slave/http.cpp` | `agent::http`, [`agent::executor_api`], over [`v1_http`] |
//! | `MesosContainerizer`, `PosixLauncher`, sandbox paths, executor environment | [`container`] |
//! | `LinuxLauncher`, `linux/cgroups.cpp`, the cgroups and `disk/du` isolators | [`container::launcher::LinuxLauncher`], [`container::cgroups`], [`container::isolator`] |
//! | `ComposingContainerizer`, `DockerContainerizer`, `src/docker/docker.cpp` | [`container::composing`], [`container::docker`] |
//! | `src/launcher/executor.cpp` (command executor), default executor, `src/docker/executor.cpp`, `MesosExecutorDriver` | [`executor`] |
//! | `MesosSchedulerDriver`, `mesos-execute` | [`scheduler`] |
//! | `src/common/http.cpp` (JSON views) | [`model`] |
//! | `src/files/files.cpp` | [`files`] |
//! | stout flags | [`flags`] |
//! | stout `UUID::random`, jitter | [`random`] |
//! | `src/master/main.cpp`, `src/slave/main.cpp`, `src/local/` | `src/bin/*`, [`run`], [`daemon`], [`stop`] |
//! | Mesos-DNS (`mesosphere/mesos-dns`) | [`dns`], `src/bin/mesos-dns.rs` |
//! | glog set-up, `--logging_level`, `--log_dir`, the `/logging/toggle` verbosity | [`logging`] |

pub mod agent;
pub mod allocator;
pub mod container;
pub mod daemon;
pub mod dns;
pub mod executor;
pub mod files;
pub mod flags;
pub mod log;
pub mod logging;
pub mod marathon;
pub mod master;
pub mod model;
pub mod operator_api;
pub mod random;
pub mod registrar;
pub mod run;
pub mod scheduler;
pub mod stop;
pub mod v1_http;
pub mod zookeeper;
