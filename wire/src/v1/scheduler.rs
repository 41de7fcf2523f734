//! The v1 scheduler API (`mesos/v1/scheduler/scheduler.proto`): the JSON
//! `Call` a framework POSTs to `/api/v1/scheduler`, checked and turned into
//! a [`SchedulerCall`] of internal messages by [`parse_scheduler_call`];
//! and the JSON `Event`s the master streams back, built from the internal
//! messages by the constructors on [`Event`]. The table of which internal
//! message maps to which call or event is in the docs of [`crate::v1`].
//!
//! | file | owns |
//! |---|---|
//! | `scheduler/call.rs` | the `Call` JSON types and [`parse_scheduler_call`] (JSON in) |
//! | `scheduler/event.rs` | the `Event` JSON types and their constructors (JSON out) |

mod call;
mod event;

pub use call::{
    parse_scheduler_call, Accept, Acknowledge, AcknowledgeOperationStatus, Call, CallType, Decline,
    InverseOffersReply, Kill, Message, Reconcile, ReconcileOperation, ReconcileOperations,
    ReconcileTask, Requests, ResourceRequest, Roles, SchedulerCall, Shutdown, Subscribe,
};
pub use event::{Error, Event, EventType, Failure, Offers, Rescind, Subscribed, Update};
