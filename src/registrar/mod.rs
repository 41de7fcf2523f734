//! The registrar (Mesos's `src/master/registrar.cpp`): keeps the registry
//! (`wire::registry`) in a durable store and applies operations to it
//! atomically, batching those that queue up while a store is in flight.
//!
//! - `store.rs`: where the registry lives ([`Store`]: in memory, or the
//!   replicated log);
//! - `process.rs`: the `registrar(1)` process: recover, then apply.

pub mod process;
pub mod store;

pub use process::{Apply, Recover, Registrar, RegistrarError};
pub use store::{InMemoryStore, Store, StoreError};
