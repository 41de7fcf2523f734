//! The master's v1 operator API, `POST /api/v1` (Mesos's
//! `src/master/http.cpp` `Master::Http::api`), and its event stream.
//!
//! | file | owns |
//! |---|---|
//! | `calls.rs` | reading a call against a view of the master: answered now, or what the process is to do |
//! | `actions.rs` | the core's side of the calls that change something (agents gone, deactivated, reactivated; weights) |
//! | `json.rs` | records as the v1 operator JSON (`Task`, `Agent`, `Framework`, `GetState` ...) |
//! | `events.rs` | [`OperatorEvent`]s the core pushes, their JSON, the bounded fan-out to subscribers |
//!
//! The route and the subscribers live on the process
//! (`process/operator.rs`). Calls both the master and the agent answer
//! alike are in [`crate::operator_api`].

mod actions;
pub mod calls;
pub mod events;
pub mod json;

pub use actions::GONE_MESSAGE;
pub use events::{OperatorEvent, Subscribers};
