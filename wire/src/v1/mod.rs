//! The JSON forms of Mesos's v1 HTTP APIs (the scheduler API the master
//! serves at `/api/v1/scheduler`, the executor API the agent serves at
//! `/api/v1/executor`) and their conversions to and from the internal
//! messages that travel between our own nodes.
//!
//! The internal types ([`crate::mesos`], [`crate::scheduler`],
//! [`crate::agent`], [`crate::executor`]) are postcard-encoded, so they keep
//! plain serde derives; the types here are JSON-only and look exactly like
//! what Mesos writes and reads (protobuf's JSON as stout's `jsonify` and
//! parser do it): field names as in the `.proto`, enums by name, `bytes` as
//! base64, ids as `{"value": "..."}`, unset optional fields left out, empty
//! repeated fields left out, unknown fields ignored on input, numbers
//! accepted as JSON numbers or numeric strings, `null` taken as unset for
//! singular optional fields.
//!
//! # Defaults that are written
//!
//! Mesos's `jsonify` writes an unset optional field when it has an
//! explicit, non-deprecated default. These types do the same by holding
//! such fields as plain values (filled with the default when absent on
//! input) and always writing them:
//!
//! | field | default |
//! |---|---|
//! | `FrameworkInfo.failover_timeout` | `0` |
//! | `FrameworkInfo.checkpoint` | `false` |
//! | `CommandInfo.shell` | `true` |
//! | `CommandInfo.URI.extract` | `true` |
//! | `Environment.Variable.type` | `"VALUE"` |
//! | `Filters.refuse_seconds` | `5` |
//! | `MasterInfo.port` | `5050` |
//! | `AgentInfo.port` | `5051` |
//!
//! Deprecated defaults are not written when unset (`Resource.role`,
//! `FrameworkInfo.role`): they are written only where Mesos sets them, the
//! pre-refinement resource format and frameworks without MULTI_ROLE.
//!
//! # Scheduler API ([`scheduler`])
//!
//! Calls (JSON in) are in `scheduler/call.rs`, events (JSON out) in
//! `scheduler/event.rs`. [`parse_scheduler_call`] checks a body as Mesos does and gives a
//! [`SchedulerCall`]:
//!
//! | call | internal |
//! |---|---|
//! | SUBSCRIBE | [`crate::scheduler::Subscribe`] (`force`), plus `suppressed_roles` |
//! | TEARDOWN | [`crate::scheduler::Teardown`] |
//! | ACCEPT | [`crate::scheduler::Accept`] with the LAUNCH and LAUNCH_GROUP operations; other operations beside it |
//! | DECLINE | [`crate::scheduler::Decline`] |
//! | REVIVE / SUPPRESS | [`crate::scheduler::Revive`] / [`crate::scheduler::Suppress`] |
//! | KILL | [`crate::scheduler::Kill`], plus the kill policy's grace period |
//! | SHUTDOWN | fields for [`crate::agent::ShutdownExecutor`] to the agent |
//! | ACKNOWLEDGE | [`crate::scheduler::Acknowledge`] |
//! | RECONCILE | [`crate::scheduler::Reconcile`] |
//! | MESSAGE | [`crate::scheduler::SendFrameworkMessage`] |
//! | REQUEST, ACCEPT/DECLINE_INVERSE_OFFERS, ACKNOWLEDGE_OPERATION_STATUS, RECONCILE_OPERATIONS, UPDATE_FRAMEWORK | their fields (no internal message yet) |
//!
//! The master's stream answers with [`scheduler::Event`]s built from what
//! the master sends a framework:
//!
//! | internal | event |
//! |---|---|
//! | `FrameworkRegistered` / `FrameworkReregistered` | SUBSCRIBED ([`scheduler::Event::subscribed`]) |
//! | `ResourceOffers` | OFFERS ([`scheduler::Event::offers`], nested as `"offers":{"offers":[...]}`) |
//! | `RescindOffer` | RESCIND |
//! | `StatusUpdateMessage` | UPDATE (its `update.status`) |
//! | `ExecutorToFramework` | MESSAGE |
//! | `ExitedExecutor` | FAILURE with `executor_id` and `status` |
//! | `AgentLost` | FAILURE with `agent_id` alone |
//! | `FrameworkError` | ERROR |
//! | (every heartbeat interval) | HEARTBEAT |
//!
//! # Executor API ([`executor`])
//!
//! [`parse_executor_call`] gives an [`ExecutorCall`]: SUBSCRIBE is
//! [`crate::executor::RegisterExecutor`] plus the unacknowledged tasks and
//! updates; UPDATE is a [`crate::mesos::StatusUpdate`] (the agent fills in
//! its id); MESSAGE becomes [`crate::agent::ExecutorToFramework`] once the
//! agent adds its id; HEARTBEAT needs no answer but 202. Events from what
//! the agent sends an executor: `ExecutorRegistered` -> SUBSCRIBED,
//! `RunTask` -> LAUNCH, a task group -> LAUNCH_GROUP, `KillTask` -> KILL,
//! `StatusUpdateAcknowledgement` -> ACKNOWLEDGED, `FrameworkToExecutor` ->
//! MESSAGE, `ShutdownExecutor` -> SHUTDOWN, plus ERROR and HEARTBEAT.
//!
//! # Errors
//!
//! Every refusal is a [`CallError`] whose text is one line and whose
//! [`CallError::status`] is the HTTP status Mesos answers with: 501 for a
//! call of type `UNKNOWN`, 400 for everything else, including a type name
//! this API does not have (Mesos drops unknown enum names and then finds
//! no type). Event streams are framed with [`recordio()`].

pub mod base64;
pub mod executor;
pub(crate) mod json;
pub mod operator;
pub mod recordio;
pub mod scheduler;
pub mod types;

#[cfg(test)]
mod tests;

pub use executor::{parse_executor_call, ExecutorCall};
pub use json::Bytes;
pub use operator::{parse_agent_call, parse_master_call, AgentCall, CommonCall, MasterCall};
pub use recordio::{recordio, RecordIoError, RecordReader};
pub use scheduler::{parse_scheduler_call, SchedulerCall};
pub use types::FieldError;

/// Why a v1 call body was refused. Each message is one line, ready for the
/// body of the HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// The body is not JSON.
    #[error("Failed to parse body into JSON: {0}")]
    Json(String),
    /// JSON, but not a call: a value of the wrong type, a required field
    /// missing, a value the cluster cannot take.
    #[error("Failed to convert JSON into Call protobuf: {0}")]
    Invalid(String),
    /// A well-formed call that breaks a rule of the API (Mesos's call
    /// validation: the type, the framework id, the payload its type needs).
    #[error("Failed to validate Call: {0}")]
    Validation(String),
    /// `type` names no call of this API.
    #[error("Failed to validate Call: Expecting 'type' to be present (unknown type '{0}')")]
    UnknownType(String),
    /// `type` is `UNKNOWN`.
    #[error("Received 'UNKNOWN' call")]
    Unimplemented,
}

impl CallError {
    /// The HTTP status Mesos answers this refusal with.
    pub fn status(&self) -> u16 {
        match self {
            CallError::Unimplemented => 501,
            _ => 400,
        }
    }

    pub(crate) fn validation(reason: impl AsRef<str>) -> CallError {
        CallError::Validation(json::one_line(reason.as_ref()))
    }

    pub(crate) fn unknown_type(name: &str) -> CallError {
        CallError::UnknownType(json::one_line(name))
    }

    /// Sorts a serde_json failure: bad syntax is not JSON, anything else is
    /// JSON of the wrong shape.
    pub(crate) fn from_json(e: serde_json::Error) -> CallError {
        let text = json::one_line(&e.to_string());
        match e.classify() {
            serde_json::error::Category::Data => CallError::Invalid(text),
            _ => CallError::Json(text),
        }
    }
}

/// Deserializes a call body, which must be a JSON object. (serde would
/// also fill a struct from an array, positionally; protobuf would not.)
pub(crate) fn call_from_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, CallError> {
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return match serde_json::from_slice::<serde::de::IgnoredAny>(body) {
            Err(e) => Err(CallError::from_json(e)),
            Ok(_) => Err(CallError::Invalid("expected a JSON object".into())),
        };
    }
    serde_json::from_slice(body).map_err(CallError::from_json)
}

impl From<FieldError> for CallError {
    fn from(e: FieldError) -> CallError {
        CallError::Invalid(e.to_string())
    }
}

/// `value` as JSON. The v1 types hold no maps with non-string keys and no
/// serializer that can fail, so this cannot fail in practice; should it,
/// the result is an empty object rather than a panic.
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec())
}
