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
//! ([`read_call`]); the process carries it out. The HTTP prelude of the
//! v1 APIs is [`check_prelude`] and [`accepts_json`]; every refusal is an
//! [`ApiError`], turned into a response by [`error_response`] only.

use std::collections::HashMap;

use actors::http::{Method, Response, StatusCode};
use actors::{Pid, Reply, Request};
use bytes::Bytes;
use tokio::sync::mpsc::UnboundedSender;
use wire::scheduler::Subscribe;
use wire::v1::{parse_scheduler_call, SchedulerCall};

use super::events::HttpStream;
use super::http::leader_only;
use super::view::MasterView;

/// Why a v1 call is refused; each variant is one HTTP status.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    #[error("Expecting a 'POST' request, received '{0}'")]
    MethodNotAllowed(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("Expecting 'Content-Type' of application/json; '{0}' is not supported")]
    UnsupportedMediaType(String),
    #[error("Expecting 'Accept' to allow application/json")]
    NotAcceptable,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0}")]
    Unavailable(&'static str),
    /// The body is not a valid call; `status` is the parser's.
    #[error("Failed to validate scheduler::Call: {message}")]
    Invalid { status: u16, message: String },
    #[error("{0}")]
    NotImplemented(&'static str),
    #[error("{0}")]
    Internal(&'static str),
}

/// The one conversion of a refusal into its response.
pub fn error_response(error: ApiError) -> Reply {
    let status = match &error {
        ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
        ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
        ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ApiError::NotAcceptable => StatusCode::NOT_ACCEPTABLE,
        ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
        ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        ApiError::Invalid { status, .. } => {
            StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_REQUEST)
        }
        ApiError::NotImplemented(_) => StatusCode::NOT_IMPLEMENTED,
        ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    Reply::Now(Response::text(status, error.to_string()))
}

/// The prelude every v1 API call passes: a POST with a JSON body.
pub fn check_prelude(req: &Request) -> Result<(), ApiError> {
    if req.method != Method::POST {
        return Err(ApiError::MethodNotAllowed(req.method.to_string()));
    }
    match req
        .header("content-type")
        .map(|c| c.split(';').next().unwrap_or("").trim())
    {
        None => Err(ApiError::BadRequest(
            "Expecting 'Content-Type' to be present".into(),
        )),
        Some("application/json") => Ok(()),
        Some(other) => Err(ApiError::UnsupportedMediaType(other.to_owned())),
    }
}

/// Whether an `Accept` header admits JSON (no header does).
pub fn accepts_json(req: &Request) -> bool {
    match req.header("accept") {
        None => true,
        Some(accept) => accept.split(',').any(|a| {
            let media = a.split(';').next().unwrap_or("").trim();
            matches!(media, "application/json" | "application/*" | "*/*")
        }),
    }
}

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
    check_prelude(req)?;
    if let Some(redirect) = leader_only(master, req) {
        return Ok(ApiCall::Reply(redirect));
    }
    if !master.recovered {
        return Err(ApiError::Unavailable("Master has not finished recovery"));
    }
    let call = parse_scheduler_call(&req.body).map_err(|e| ApiError::Invalid {
        status: e.status(),
        message: e.to_string(),
    })?;
    if let SchedulerCall::Subscribe { subscribe, .. } = call {
        if !accepts_json(req) {
            return Err(ApiError::NotAcceptable);
        }
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
        return Err(ApiError::Forbidden("Framework is not connected via HTTP"));
    };
    if stream.stream_id != stream_id {
        return Err(ApiError::BadRequest(format!(
            "The stream ID '{stream_id}' included in this request didn't match the stream ID \
             currently associated with framework ID {framework_id}"
        )));
    }
    if !framework.connected {
        return Err(ApiError::Forbidden("Framework is not subscribed"));
    }
    let Ok(pid) = pid_text.parse::<Pid>() else {
        return Err(ApiError::Forbidden("Framework is not subscribed"));
    };
    Ok(ApiCall::Call { pid, call })
}

/// The answer to a call the master accepted.
pub fn accepted() -> Reply {
    Reply::Now(Response::new(StatusCode::ACCEPTED, Bytes::new()))
}

/// The answer to calls this master does not implement.
pub fn not_implemented() -> Reply {
    error_response(ApiError::NotImplemented(
        "Operation feedback and framework updates are not supported by this master",
    ))
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
    let stream_id = uuid::Uuid::new_v4().to_string();
    let (response, events) = Response::stream(StatusCode::OK, "application/json");
    let response = response.with_header("Mesos-Stream-Id", &stream_id);
    let pid_text = format!("scheduler-http-{stream_id}@0.0.0.0:0");
    let Ok(pid) = pid_text.parse::<Pid>() else {
        return Err(ApiError::Internal("Cannot name the stream"));
    };
    let watch = events.clone();
    Ok(OpenedStream {
        response,
        pid,
        stream: HttpStream::new(stream_id, events),
        watch,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(accept: Option<&str>) -> Request {
        let mut headers = actors::http::HeaderMap::new();
        if let Some(a) = accept {
            headers.insert("accept", a.parse().unwrap());
        }
        Request {
            method: Method::POST,
            path: "/api/v1/scheduler".into(),
            route: "/api/v1/scheduler".into(),
            query: vec![],
            headers,
            body: Bytes::new(),
            remote: "127.0.0.1:1".parse().unwrap(),
        }
    }

    #[test]
    fn accept_headers_that_admit_json() {
        for (accept, ok) in [
            (None, true),
            (Some("application/json"), true),
            (Some("*/*"), true),
            (Some("text/html, application/json;q=0.9"), true),
            (Some("application/x-protobuf"), false),
            (Some("text/plain"), false),
        ] {
            assert_eq!(accepts_json(&request(accept)), ok, "{accept:?}");
        }
    }

    #[test]
    fn the_prelude_wants_a_json_post() {
        let mut get = request(None);
        get.method = Method::GET;
        let json = |r: &mut Request, ct: &str| {
            r.headers.insert("content-type", ct.parse().unwrap());
        };
        let mut plain = request(None);
        json(&mut plain, "text/plain");
        let mut good = request(None);
        json(&mut good, "application/json; charset=utf-8");
        assert_eq!(
            check_prelude(&get),
            Err(ApiError::MethodNotAllowed("GET".into()))
        );
        assert!(matches!(
            check_prelude(&request(None)),
            Err(ApiError::BadRequest(_))
        ));
        assert_eq!(
            check_prelude(&plain),
            Err(ApiError::UnsupportedMediaType("text/plain".into()))
        );
        assert_eq!(check_prelude(&good), Ok(()));
    }
}
