//! The v1 executor API, `POST /api/v1/executor`, on the agent process.
//!
//! SUBSCRIBE opens the executor's event stream (chunked RecordIO): it is
//! answered with SUBSCRIBED, a LAUNCH per queued task and a LAUNCH_GROUP
//! per queued task group. UPDATE, MESSAGE
//! and HEARTBEAT are answered 202. From then on the agent's messages to
//! that executor (launch, kill, acknowledgement, framework message,
//! shutdown) are written to the stream as events ([`ToExecutorEvent`]), so
//! v0 and v1 executors share one code path in the agent.

use actors::http::{Method, Response, StatusCode};
use actors::{Cx, Reply, Request};
use bytes::Bytes;
use wire::agent::{
    FrameworkToExecutor, KillTask, RunTask, RunTaskGroup, ShutdownExecutor,
    StatusUpdateAcknowledgement,
};
use wire::v1::executor::Event;
use wire::v1::{parse_executor_call, ExecutorCall};

use super::process::{Agent, ExecutorLink, Launch};

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

fn text(status: StatusCode, message: impl Into<String>) -> Reply {
    Reply::Now(Response::text(status, message))
}

/// `POST /api/v1/executor`.
pub fn executor_api(agent: &mut Agent, req: Request, cx: &mut Cx<'_, Agent>) -> Reply {
    if req.method != Method::POST {
        return text(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("Expecting a 'POST' request, received '{}'", req.method),
        );
    }
    match req
        .header("content-type")
        .map(|c| c.split(';').next().unwrap_or("").trim())
    {
        None => {
            return text(
                StatusCode::BAD_REQUEST,
                "Expecting 'Content-Type' to be present",
            )
        }
        Some("application/json") => {}
        Some(other) => {
            return text(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("Expecting 'Content-Type' of application/json; '{other}' is not supported"),
            )
        }
    }
    let call = match parse_executor_call(&req.body) {
        Ok(call) => call,
        Err(e) => {
            let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
            return text(status, format!("Failed to validate executor::Call: {e}"));
        }
    };
    let accepted = Reply::Now(Response::new(StatusCode::ACCEPTED, Bytes::new()));
    if let ExecutorCall::Heartbeat { .. } = call {
        return accepted;
    }
    let (framework_id, executor_id) = {
        let (f, e) = call.ids();
        (f.clone(), e.clone())
    };
    let Some(executor) = agent
        .frameworks
        .get(&framework_id)
        .and_then(|f| f.executors.get(&executor_id))
    else {
        return text(
            StatusCode::BAD_REQUEST,
            format!("Executor '{executor_id}' of framework '{framework_id}' cannot be found"),
        );
    };
    let subscribed = executor.http.is_some();
    match call {
        ExecutorCall::Subscribe {
            register,
            unacknowledged_tasks,
            unacknowledged_updates,
        } => {
            let (response, events) = Response::stream(StatusCode::OK, "application/json");
            let link = ExecutorLink::Http(events.clone());
            if agent.is_recovering() {
                // A v1 executor of the agent's previous run, back after the
                // restart: the agent does not ask it to (it has no pid), it
                // subscribes again with what it holds unacknowledged.
                let known = unacknowledged_tasks
                    .into_iter()
                    .map(|t| t.task_id)
                    .collect();
                return if agent.reregister_executor(
                    &register.framework_id,
                    &register.executor_id,
                    link,
                    known,
                    unacknowledged_updates,
                    cx,
                ) {
                    Reply::Now(response)
                } else {
                    text(
                        StatusCode::BAD_REQUEST,
                        "The executor is not waiting to re-subscribe",
                    )
                };
            }
            match agent.accept_executor(&register.framework_id, &register.executor_id, link, cx) {
                Some((registered, container_id, runs)) => {
                    let _ = events.send(Bytes::from(
                        Event::subscribed(&registered, Some(&container_id)).to_record(),
                    ));
                    for run in &runs {
                        let event = match run {
                            Launch::Task(m) => m.to_event(),
                            Launch::Group(m) => m.to_event(),
                        };
                        let _ = events.send(Bytes::from(event.to_record()));
                    }
                    Reply::Now(response)
                }
                None => text(
                    StatusCode::BAD_REQUEST,
                    "The executor is not waiting to subscribe",
                ),
            }
        }
        _ if !subscribed => text(StatusCode::FORBIDDEN, "Executor is not subscribed"),
        ExecutorCall::Update { update, .. } => {
            agent.executor_update(update, cx);
            accepted
        }
        call @ ExecutorCall::Message { .. } => {
            if let Some(msg) = agent
                .info()
                .id
                .clone()
                .and_then(|id| call.to_framework(&id))
            {
                agent.executor_message(msg, cx);
            }
            accepted
        }
        ExecutorCall::Heartbeat { .. } => accepted,
    }
}
