//! The JSON forms of Mesos's v1 HTTP APIs (the scheduler API the master
//! serves at `/api/v1/scheduler`, the executor API the agent serves at
//! `/api/v1/executor`) and their conversions to and from the internal
//! messages that travel between our own nodes. So far: the messages of
//! `mesos.proto` they carry ([`types`]), base64 for `bytes` fields and the
//! RecordIO framing of event streams ([`recordio()`]).
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

pub mod base64;
mod json;
pub mod recordio;
pub mod types;

pub use json::Bytes;
pub use recordio::{recordio, RecordIoError, RecordReader};
pub use types::FieldError;
