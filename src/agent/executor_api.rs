//! The v1 executor API, `POST /api/v1/executor`: reading a call (over the
//! v1 APIs' shared prelude in [`crate::v1_http`]), the refusals only this
//! API makes ([`ExecutorRefusal`]), and what the agent's messages to an executor look
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

use actors::Request;
use wire::agent::{
    FrameworkToExecutor, KillTask, RunTask, RunTaskGroup, ShutdownExecutor,
    StatusUpdateAcknowledgement,
};
use wire::ids::{ExecutorId, FrameworkId};
use wire::v1::executor::Event;
use wire::v1::{parse_executor_call, ExecutorCall};

use crate::v1_http::{self, ApiError};

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
        Event::kill(&self.task_id, self.grace_period)
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

/// The refusals only the executor API makes; each becomes the shared
/// [`ApiError`] with the status Mesos answers it with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExecutorRefusal {
    /// 400: the call names an executor this agent does not have.
    #[error("Executor '{executor_id}' of framework '{framework_id}' cannot be found")]
    UnknownExecutor {
        framework_id: FrameworkId,
        executor_id: ExecutorId,
    },
    /// 400: a SUBSCRIBE during recovery from an executor not expected back.
    #[error("The executor is not waiting to re-subscribe")]
    NotResubscribing,
    /// 400: a SUBSCRIBE from an executor not waiting to register.
    #[error("The executor is not waiting to subscribe")]
    NotSubscribing,
    /// 403: a call other than SUBSCRIBE before the executor subscribed.
    #[error("Executor is not subscribed")]
    NotSubscribed,
}

impl From<ExecutorRefusal> for ApiError {
    fn from(refusal: ExecutorRefusal) -> ApiError {
        let text = refusal.to_string();
        match refusal {
            ExecutorRefusal::NotSubscribed => ApiError::Forbidden(text),
            ExecutorRefusal::UnknownExecutor { .. }
            | ExecutorRefusal::NotResubscribing
            | ExecutorRefusal::NotSubscribing => ApiError::BadRequest(text),
        }
    }
}

/// The request prelude: a POST of `application/json` (parameters after
/// `;` ignored), whose body is an executor call.
pub fn read_call(req: &Request) -> Result<ExecutorCall, ApiError> {
    v1_http::check_json_post(req)?;
    v1_http::parse_call("executor", &req.body, parse_executor_call)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actors::http::StatusCode;

    #[test]
    fn executor_refusals_keep_their_status_and_text() {
        let unknown = ExecutorRefusal::UnknownExecutor {
            framework_id: FrameworkId::new("f"),
            executor_id: ExecutorId::new("e"),
        };
        let table = [
            (
                unknown,
                StatusCode::BAD_REQUEST,
                "Executor 'e' of framework 'f' cannot be found",
            ),
            (
                ExecutorRefusal::NotResubscribing,
                StatusCode::BAD_REQUEST,
                "The executor is not waiting to re-subscribe",
            ),
            (
                ExecutorRefusal::NotSubscribing,
                StatusCode::BAD_REQUEST,
                "The executor is not waiting to subscribe",
            ),
            (
                ExecutorRefusal::NotSubscribed,
                StatusCode::FORBIDDEN,
                "Executor is not subscribed",
            ),
        ];
        for (refusal, status, text) in table {
            let error = ApiError::from(refusal);
            assert_eq!(
                (error.status(), error.to_string()),
                (status, text.to_owned())
            );
        }
    }
}
