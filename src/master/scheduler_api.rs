//! The v1 scheduler API, `POST /api/v1/scheduler`, on the master process.
//!
//! A SUBSCRIBE call opens a RecordIO event stream (chunked JSON) carrying a
//! `Mesos-Stream-Id`; every other call names that stream in its header and
//! gets `202 Accepted`. An HTTP framework gets a stand-in pid
//! (`scheduler-http-<stream>@0.0.0.0:0`) so that it shares the master's one
//! offer and task model with frameworks on the Rust driver: calls become
//! the same messages, handled by the same handlers; messages to the
//! framework become events on its stream (`events.rs`). The stream ends
//! when the framework is removed or fails over; a closed stream
//! disconnects the framework (its failover timeout starts).
//!
//! This file decides, from a view of the master, what a request is
//! ([`read_call`]); the process carries it out. The prelude (POST, JSON,
//! `Accept`) and the answer to every refusal are the v1 APIs' shared ones
//! in [`crate::v1_http`].

use std::collections::HashMap;

use actors::http::{Response, StatusCode};
use actors::{Pid, Reply, Request};
use bytes::Bytes;
use tokio::sync::mpsc::UnboundedSender;
use wire::scheduler::Subscribe;
use wire::v1::{parse_scheduler_call, SchedulerCall};

use super::events::HttpStream;
use super::http::leader_only;
use super::view::MasterView;
use crate::v1_http::{self, ApiError};

/// What a request to `/api/v1/scheduler` is.
pub enum ApiCall {
    /// Answered now (a redirect, or the master cannot serve yet).
    Reply(Reply),
    /// SUBSCRIBE: open a stream and subscribe on it.
    Subscribe(Subscribe),
    /// A call of the framework subscribed on the stream whose stand-in pid
    /// is `pid`, to be handled as that pid's message and answered 202.
    Call { pid: Pid, call: SchedulerCall },
}

/// Reads a request against the master as it is: refused (an error), to be
/// answered now, a subscription, or a call from a subscribed framework.
pub fn read_call(
    master: &MasterView<'_>,
    streams: &HashMap<String, HttpStream>,
    req: &Request,
) -> Result<ApiCall, ApiError> {
    v1_http::check_json_post(req)?;
    if let Some(redirect) = leader_only(master, req) {
        return Ok(ApiCall::Reply(redirect));
    }
    if !master.recovered {
        return Err(ApiError::Unavailable(
            "Master has not finished recovery".into(),
        ));
    }
    let call = v1_http::parse_call("scheduler", &req.body, parse_scheduler_call)?;
    if let SchedulerCall::Subscribe { subscribe, .. } = call {
        v1_http::check_accepts_json(req)?;
        if req.header("mesos-stream-id").is_some() {
            return Err(ApiError::BadRequest(
                "Subscribe calls should not include the 'Mesos-Stream-Id' header".into(),
            ));
        }
        return Ok(ApiCall::Subscribe(subscribe));
    }
    let Some(framework_id) = call.framework_id().cloned() else {
        return Err(ApiError::BadRequest(
            "Expecting 'framework_id' to be present".into(),
        ));
    };
    let Some(stream_id) = req.header("mesos-stream-id") else {
        return Err(ApiError::BadRequest(
            "All non-subscribe calls should include the 'Mesos-Stream-Id' header".into(),
        ));
    };
    let Some(framework) = master.state.framework(&framework_id) else {
        return Err(ApiError::BadRequest("Framework cannot be found".into()));
    };
    let pid_text = framework.pid.clone().unwrap_or_default();
    let Some(stream) = streams.get(&pid_text) else {
        return Err(ApiError::Forbidden(
            "Framework is not connected via HTTP".into(),
        ));
    };
    if stream.stream_id != stream_id {
        return Err(ApiError::BadRequest(format!(
            "The stream ID '{stream_id}' included in this request didn't match the stream ID \
             currently associated with framework ID {framework_id}"
        )));
    }
    if !framework.connected {
        return Err(ApiError::Forbidden("Framework is not subscribed".into()));
    }
    let Ok(pid) = pid_text.parse::<Pid>() else {
        return Err(ApiError::Forbidden("Framework is not subscribed".into()));
    };
    Ok(ApiCall::Call { pid, call })
}

/// The refusal of calls this master does not implement.
pub fn not_implemented() -> ApiError {
    ApiError::NotImplemented(
        "Operation feedback and framework updates are not supported by this master".into(),
    )
}

/// A new subscriber's stream: the response that carries it, the stand-in
/// pid of its framework, and a sender to watch for the client leaving.
pub struct OpenedStream {
    pub response: Response,
    pub pid: Pid,
    pub stream: HttpStream,
    pub watch: UnboundedSender<Bytes>,
}

/// Opens the event stream of a SUBSCRIBE call.
pub fn open_stream() -> Result<OpenedStream, ApiError> {
    let stream_id = crate::random::uuid_v4_string();
    let (response, events) = Response::stream(StatusCode::OK, "application/json");
    let response = response.with_header("Mesos-Stream-Id", &stream_id);
    let pid_text = format!("scheduler-http-{stream_id}@0.0.0.0:0");
    let Ok(pid) = pid_text.parse::<Pid>() else {
        return Err(ApiError::Internal("Cannot name the stream".into()));
    };
    let watch = events.clone();
    Ok(OpenedStream {
        response,
        pid,
        stream: HttpStream::new(stream_id, events),
        watch,
    })
}
