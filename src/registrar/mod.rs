//! The registrar (Mesos's `src/master/registrar.cpp`): keeps the registry
//! (`wire::registry`) in a durable store and applies operations to it
//! atomically, batching those that queue up while a store is in flight.
//!
//! - `store.rs`: where the registry lives ([`Store`]: in memory, or the
//!   replicated log, `log_store.rs`);
//! - `process.rs`: the `registrar(1)` process: recover, then apply.
//!
//! Messages (local, from the master): [`RecoverRegistry`] once, then
//! [`Apply`] per registry operation; each is answered through the reply
//! callback it carries (the master turns those into its own
//! `RegistryRecovered`, `AgentAdmitted`, `AgentReadmitted` and
//! `RegistryFailed` messages).

pub mod log_store;
pub mod process;
pub mod store;

pub use log_store::LogStore;
pub use process::{Apply, RecoverRegistry, Registrar, RegistrarError};
pub use store::{InMemoryStore, Store, StoreError};
