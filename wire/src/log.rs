//! Messages of the replicated log (Mesos's `src/messages/log.proto`,
//! package `mesos.internal.log`): the Paxos requests a coordinator or a
//! recovering replica sends to the replicas, their answers, and the records
//! ([`Action`], [`Metadata`]) a replica keeps in its storage.
//!
//! Every request carries a `request` number chosen by the asker and echoed
//! in the response: the asker is one process that may have several requests
//! in flight (libprocess gives each request its own `__req_res__` process
//! instead), and answers go back to the pid the request came from.
//!
//! One deviation from `log.proto`: a [`WriteRequest`] covers a run of
//! consecutive positions (one [`ActionKind`] each) and a [`LearnedMessage`]
//! carries several actions, so that one round (and one disk commit per
//! replica) carries a batch of appends. A single-position write is a run of
//! one. [`RecoverResponse`] also carries the replica's promise, so that a
//! replica that lost its disk comes back promising no less than its peers.

use serde::{Deserialize, Serialize};

/// How a replica answered a promise or a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResponseKind {
    Accept,
    /// Promised to a higher proposal; the response's `proposal` says which.
    Reject,
    /// The replica is not VOTING (or cannot take this request); ask others.
    Ignored,
}

/// Where a replica is in its life (Mesos's `Metadata.Status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Status {
    /// A normal member of the Paxos group.
    Voting,
    /// Catching up after it lost its state; does not vote.
    Recovering,
    /// First phase of auto-initialisation of an all-empty log.
    Starting,
    /// Never initialised (a new or wiped disk).
    Empty,
}

/// What a position holds once a value was written there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ActionKind {
    /// No value. A `tombstone` stands for a position that was truncated.
    Nop { tombstone: bool },
    /// An entry of the log.
    Append(#[serde(with = "bytes")] Vec<u8>),
    /// Every position before `to` may be deleted.
    Truncate { to: u64 },
}

/// One position of the log as a replica stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Action {
    pub position: u64,
    /// The highest proposal this position was promised to.
    pub promised: u64,
    /// The proposal whose value is stored; set together with `kind`.
    pub performed: Option<u64>,
    /// Whether the value is known to be chosen.
    pub learned: bool,
    /// The value; `None` when the position was only promised.
    pub kind: Option<ActionKind>,
}

/// A replica's own record (Mesos's `Metadata`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    pub status: Status,
    /// The highest implicit promise given.
    pub promised: u64,
}

impl Default for Metadata {
    fn default() -> Self {
        Metadata {
            status: Status::Empty,
            promised: 0,
        }
    }
}

/// Promise not to accept lower proposals: for one `position` (explicit), or
/// for every position without a record (implicit, `position: None`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromiseRequest {
    pub request: u64,
    pub proposal: u64,
    pub position: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromiseResponse {
    pub request: u64,
    pub kind: ResponseKind,
    /// The request's proposal on accept; the one promised instead on reject.
    pub proposal: u64,
    /// Implicit accept: the replica's last written position (its `end`).
    pub position: Option<u64>,
    /// Explicit accept: what the position held before this promise.
    pub action: Option<Action>,
}

/// Write `actions[i]` at `position + i`, for each `i`, with `proposal`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteRequest {
    pub request: u64,
    pub proposal: u64,
    pub position: u64,
    /// The values are already known to be chosen.
    pub learned: bool,
    pub actions: Vec<ActionKind>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteResponse {
    pub request: u64,
    pub kind: ResponseKind,
    /// The request's proposal on accept; the one promised instead on reject.
    pub proposal: u64,
    /// The first position of the request.
    pub position: u64,
}

/// These actions were chosen (one-way, not acknowledged).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LearnedMessage {
    pub actions: Vec<Action>,
}

/// What is your status, and which positions do you hold?
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoverRequest {
    pub request: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoverResponse {
    pub request: u64,
    pub status: Status,
    /// The first position not truncated (set when VOTING).
    pub begin: Option<u64>,
    /// The last position written (set when VOTING).
    pub end: Option<u64>,
    /// The highest implicit promise given (set when VOTING).
    pub promised: Option<u64>,
}

crate::messages! {
    PromiseRequest => "mesos.log.PromiseRequest",
    PromiseResponse => "mesos.log.PromiseResponse",
    WriteRequest => "mesos.log.WriteRequest",
    WriteResponse => "mesos.log.WriteResponse",
    LearnedMessage => "mesos.log.LearnedMessage",
    RecoverRequest => "mesos.log.RecoverRequest",
    RecoverResponse => "mesos.log.RecoverResponse",
}

/// Bytes as one serde byte string (postcard: a length and the bytes), not
/// as a sequence of numbers.
mod bytes {
    use serde::de::{Error, SeqAccess, Visitor};
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(value)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        d.deserialize_byte_buf(BytesVisitor)
    }

    struct BytesVisitor;

    impl<'de> Visitor<'de> for BytesVisitor {
        type Value = Vec<u8>;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("bytes")
        }

        fn visit_bytes<E: Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
            Ok(v.to_vec())
        }

        fn visit_byte_buf<E: Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
            Ok(v)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
            while let Some(b) = seq.next_element()? {
                out.push(b);
            }
            Ok(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_append_is_its_bytes_plus_a_few() {
        let kind = ActionKind::Append(vec![7; 100]);
        let encoded = postcard::to_allocvec(&kind).unwrap();
        // One byte of variant, one of length, then the bytes.
        assert_eq!(encoded.len(), 102);
        assert_eq!(postcard::from_bytes::<ActionKind>(&encoded).unwrap(), kind);
    }

    #[test]
    fn a_write_request_round_trips() {
        let req = WriteRequest {
            request: 9,
            proposal: 3,
            position: 17,
            learned: false,
            actions: vec![
                ActionKind::Append(b"a".to_vec()),
                ActionKind::Nop { tombstone: false },
                ActionKind::Truncate { to: 4 },
            ],
        };
        let encoded = postcard::to_allocvec(&req).unwrap();
        assert_eq!(postcard::from_bytes::<WriteRequest>(&encoded).unwrap(), req);
    }
}
