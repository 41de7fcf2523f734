//! The cluster manager: master, allocator, registrar, replicated log, agent,
//! executor and scheduler driver, each a process on the `actors` runtime.

pub mod agent;
pub mod allocator;
pub mod daemon;
pub mod executor;
pub mod flags;
pub mod master;
pub mod model;
pub mod run;
pub mod scheduler;
