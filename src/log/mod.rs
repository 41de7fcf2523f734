//! The replicated log of the masters (Mesos's `src/log`): Multi-Paxos over
//! a static set of replicas, used by the registrar to store the registry.
//!
//! | Mesos | here |
//! |---|---|
//! | `replica.cpp` (`ReplicaProcess`) | [`replica`] (core) |
//! | `leveldb.cpp` (`LevelDBStorage`) | [`storage::RedbStorage`]; [`storage::MemStorage`] for tests |

pub mod positions;
pub mod replica;
pub mod storage;

pub use positions::Positions;
pub use replica::{Replica, ReplicaError};
pub use storage::{MemStorage, RedbStorage, Storage, StorageError};
