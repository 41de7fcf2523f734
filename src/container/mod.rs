//! The container layer: sandboxes, launching and signalling executors,
//! and what their processes use. The agent and the executors both use it.

pub mod containerizer;
pub mod usage;
