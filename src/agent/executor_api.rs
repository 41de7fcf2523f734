//! The v1 executor API, `POST /api/v1/executor`: reading a call and
//! answering refusals, and what the agent's messages to an executor look
//! like as events on its stream. The agent serves the calls in
//! `executors.rs` (`Agent::executor_call`), over the same functions
//! as the v0 messages.
//!
//! SUBSCRIBE opens the executor's event stream (chunked RecordIO): it is
//! answered with SUBSCRIBED, a LAUNCH per queued task and a LAUNCH_GROUP
//! per queued task group. UPDATE, MESSAGE and HEARTBEAT are answered 202.
//! From then on the agent's messages to that executor (launch, kill,
//! acknowledgement, framework message, shutdown) are written to the stream
//! as events ([`ToExecutorEvent`]), so v0 and v1 executors share one code
//! path in the agent.

use actors::http::{Method, Response, StatusCode};
use actors::{Reply, Request};
use wire::agent::{
    FrameworkToExecutor, KillTask, RunTask, RunTaskGroup, ShutdownExecutor,
    StatusUpdateAcknowledgement,
};
use wire::ids::{ExecutorId, FrameworkId};
use wire::v1::executor::Event;
use wire::v1::{parse_executor_call, CallError, ExecutorCall};

/// What a message to an executor looks like as an event on its stream.
pub trait ToExecutorEvent {
    fn to_event(&self) -> Event;
}

impl ToExecutorEvent for RunTask {
    fn to_event(&self) -> Event {
        Event::launch(self)
    }
}

impl ToExecutorEvent for RunTaskGroup {
    fn to_event(&self) -> Event {
        Event::launch_group(&self.framework, &self.tasks)
    }
}

impl ToExecutorEvent for KillTask {
    fn to_event(&self) -> Event {
        Event::kill(&self.task_id, None)
    }
}

impl ToExecutorEvent for StatusUpdateAcknowledgement {
    fn to_event(&self) -> Event {
        Event::acknowledged(self)
    }
}

impl ToExecutorEvent for FrameworkToExecutor {
    fn to_event(&self) -> Event {
        Event::message(self)
    }
}

impl ToExecutorEvent for ShutdownExecutor {
    fn to_event(&self) -> Event {
        Event::shutdown()
    }
}

/// Why a call to the executor API is refused; [`error_reply`] turns each
/// into its HTTP answer.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("Expecting a 'POST' request, received '{0}'")]
    NotPost(Method),
    #[error("Expecting 'Content-Type' to be present")]
    NoContentType,
    #[error("Expecting 'Content-Type' of application/json; '{0}' is not supported")]
    UnsupportedContentType(String),
    #[error("Failed to validate executor::Call: {0}")]
    InvalidCall(#[from] CallError),
    #[error("Executor '{executor_id}' of framework '{framework_id}' cannot be found")]
    UnknownExecutor {
        framework_id: FrameworkId,
        executor_id: ExecutorId,
    },
    #[error("The executor is not waiting to re-subscribe")]
    NotResubscribing,
    #[error("The executor is not waiting to subscribe")]
    NotSubscribing,
    #[error("Executor is not subscribed")]
    NotSubscribed,
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            ApiError::NotPost(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::UnsupportedContentType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::InvalidCall(e) => {
                StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST)
            }
            ApiError::NotSubscribed => StatusCode::FORBIDDEN,
            ApiError::NoContentType
            | ApiError::UnknownExecutor { .. }
            | ApiError::NotResubscribing
            | ApiError::NotSubscribing => StatusCode::BAD_REQUEST,
        }
    }
}

/// The one conversion of a refusal to its answer: its status, and its
/// message as the body.
pub fn error_reply(error: ApiError) -> Reply {
    Reply::Now(Response::text(error.status(), error.to_string()))
}

/// The request prelude: a POST of `application/json` (parameters after
/// `;` ignored), whose body is an executor call.
pub fn read_call(req: &Request) -> Result<ExecutorCall, ApiError> {
    if req.method != Method::POST {
        return Err(ApiError::NotPost(req.method.clone()));
    }
    match req
        .header("content-type")
        .map(|c| c.split(';').next().unwrap_or("").trim())
    {
        None => return Err(ApiError::NoContentType),
        Some("application/json") => {}
        Some(other) => return Err(ApiError::UnsupportedContentType(other.to_owned())),
    }
    Ok(parse_executor_call(&req.body)?)
}
