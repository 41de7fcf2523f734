//! The v1 scheduler API, `POST /api/v1/scheduler`, on the master process.
//!
//! A SUBSCRIBE call opens a RecordIO event stream (chunked JSON) carrying a
//! `Mesos-Stream-Id`; every other call names that stream in its header and
//! gets `202 Accepted`. An HTTP framework gets a stand-in pid
//! (`scheduler-http-<stream>@0.0.0.0:0`) so that it shares the master's one
//! offer and task model with frameworks on the Rust driver: calls become
//! the same messages, handled by the same handlers; messages to the
//! framework become events on its stream ([`ToEvent`]). The stream ends
//! when the framework is removed or fails over; a closed stream
//! disconnects the framework (its failover timeout starts).

use std::time::Duration;

use actors::http::{Method, Response, StatusCode};
use actors::{Cx, Handle, Pid, Reply, Request};
use bytes::Bytes;
use tokio::sync::mpsc::UnboundedSender;
use wire::agent::{ExecutorToFramework, ExitedExecutor, ShutdownExecutor, StatusUpdateMessage};
use wire::mesos::{FrameworkInfo, MasterInfo};
use wire::scheduler::{
    AgentLost, FrameworkError, FrameworkRegistered, FrameworkReregistered, RescindOffer,
    ResourceOffers,
};
use wire::v1::scheduler::Event;
use wire::v1::{parse_scheduler_call, SchedulerCall};

use super::process::Master;

/// `heartbeat_interval_seconds` announced in SUBSCRIBED, and how often
/// HEARTBEAT events follow.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(15);

/// One subscribed HTTP framework's event stream.
pub struct HttpStream {
    pub stream_id: String,
    events: UnboundedSender<Bytes>,
}

impl HttpStream {
    /// Writes one event; false when the client has gone.
    pub fn send(&self, event: &Event) -> bool {
        self.events.send(Bytes::from(event.to_record())).is_ok()
    }
}

/// What a message to a framework looks like as an event on its stream.
pub trait ToEvent {
    /// The v1 event type it becomes, lowercased (per-framework metrics).
    const EVENT: &'static str;
    fn to_event(&self, framework: &FrameworkInfo, master: &MasterInfo) -> Event;
}

impl ToEvent for FrameworkRegistered {
    const EVENT: &'static str = "subscribed";
    fn to_event(&self, _: &FrameworkInfo, _: &MasterInfo) -> Event {
        Event::subscribed(
            &self.framework_id,
            HEARTBEAT_INTERVAL.as_secs_f64(),
            &self.master_info,
        )
    }
}

impl ToEvent for FrameworkReregistered {
    const EVENT: &'static str = "subscribed";
    fn to_event(&self, _: &FrameworkInfo, _: &MasterInfo) -> Event {
        Event::subscribed(
            &self.framework_id,
            HEARTBEAT_INTERVAL.as_secs_f64(),
            &self.master_info,
        )
    }
}

impl ToEvent for FrameworkError {
    const EVENT: &'static str = "error";
    fn to_event(&self, _: &FrameworkInfo, _: &MasterInfo) -> Event {
        Event::error(&self.message)
    }
}

impl ToEvent for ResourceOffers {
    const EVENT: &'static str = "offers";
    fn to_event(&self, framework: &FrameworkInfo, _: &MasterInfo) -> Event {
        Event::offers(&self.offers, framework)
    }
}

impl ToEvent for RescindOffer {
    const EVENT: &'static str = "rescind";
    fn to_event(&self, _: &FrameworkInfo, _: &MasterInfo) -> Event {
        Event::rescind(&self.offer_id)
    }
}

impl ToEvent for StatusUpdateMessage {
    const EVENT: &'static str = "update";
    fn to_event(&self, _: &FrameworkInfo, _: &MasterInfo) -> Event {
        let mut status = self.update.status.clone();
        // Only updates that carry a uuid are to be acknowledged.
        status.uuid = self.update.uuid.clone();
        Event::update(&status)
    }
}

impl ToEvent for AgentLost {
    const EVENT: &'static str = "failure";
    fn to_event(&self, _: &FrameworkInfo, _: &MasterInfo) -> Event {
        Event::agent_failure(&self.agent_id)
    }
}

impl ToEvent for ExitedExecutor {
    const EVENT: &'static str = "failure";
    fn to_event(&self, _: &FrameworkInfo, _: &MasterInfo) -> Event {
        Event::executor_failure(self)
    }
}

impl ToEvent for ExecutorToFramework {
    const EVENT: &'static str = "message";
    fn to_event(&self, _: &FrameworkInfo, _: &MasterInfo) -> Event {
        Event::message(self)
    }
}

/// A framework's stream has closed (the client went away).
pub struct StreamClosed(pub String);
/// Time to send HEARTBEAT on every stream.
pub struct HeartbeatTick;

fn bad_request(message: impl Into<String>) -> Reply {
    Reply::Now(Response::text(StatusCode::BAD_REQUEST, message))
}

/// Whether an `Accept` header admits JSON (no header does).
fn accepts_json(req: &Request) -> bool {
    match req.header("accept") {
        None => true,
        Some(accept) => accept.split(',').any(|a| {
            let media = a.split(';').next().unwrap_or("").trim();
            matches!(media, "application/json" | "application/*" | "*/*")
        }),
    }
}

/// `POST /api/v1/scheduler`.
pub fn scheduler_api(master: &mut Master, req: Request, cx: &mut Cx<'_, Master>) -> Reply {
    if req.method != Method::POST {
        return Reply::Now(Response::text(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("Expecting a 'POST' request, received '{}'", req.method),
        ));
    }
    match req
        .header("content-type")
        .map(|c| c.split(';').next().unwrap_or("").trim())
    {
        None => return bad_request("Expecting 'Content-Type' to be present"),
        Some("application/json") => {}
        Some(other) => {
            return Reply::Now(Response::text(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("Expecting 'Content-Type' of application/json; '{other}' is not supported"),
            ))
        }
    }
    if let Some(redirect) = super::http::leader_only(master, &req) {
        return redirect;
    }
    if !master.is_recovered() {
        return Reply::Now(Response::text(
            StatusCode::SERVICE_UNAVAILABLE,
            "Master has not finished recovery",
        ));
    }
    let call = match parse_scheduler_call(&req.body) {
        Ok(call) => call,
        Err(e) => {
            let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
            return Reply::Now(Response::text(
                status,
                format!("Failed to validate scheduler::Call: {e}"),
            ));
        }
    };
    if let SchedulerCall::Subscribe { subscribe, .. } = call {
        if !accepts_json(&req) {
            return Reply::Now(Response::text(
                StatusCode::NOT_ACCEPTABLE,
                "Expecting 'Accept' to allow application/json",
            ));
        }
        if req.header("mesos-stream-id").is_some() {
            return bad_request("Subscribe calls should not include the 'Mesos-Stream-Id' header");
        }
        return subscribe_http(master, subscribe, cx);
    }
    let Some(framework_id) = call.framework_id().cloned() else {
        return bad_request("Expecting 'framework_id' to be present");
    };
    let Some(stream_id) = req.header("mesos-stream-id").map(str::to_owned) else {
        return bad_request("All non-subscribe calls should include the 'Mesos-Stream-Id' header");
    };
    let Some(framework) = master.state().frameworks.get(&framework_id) else {
        return bad_request("Framework cannot be found");
    };
    let pid_text = framework.pid.clone().unwrap_or_default();
    let Some(stream) = master.http_stream(&pid_text) else {
        return Reply::Now(Response::text(
            StatusCode::FORBIDDEN,
            "Framework is not connected via HTTP",
        ));
    };
    if stream.stream_id != stream_id {
        return bad_request(format!(
            "The stream ID '{stream_id}' included in this request didn't match the stream ID \
             currently associated with framework ID {framework_id}"
        ));
    }
    if !framework.connected {
        return Reply::Now(Response::text(
            StatusCode::FORBIDDEN,
            "Framework is not subscribed",
        ));
    }
    let Ok(pid) = pid_text.parse::<Pid>() else {
        return Reply::Now(Response::text(
            StatusCode::FORBIDDEN,
            "Framework is not subscribed",
        ));
    };
    let accepted = Reply::Now(Response::new(StatusCode::ACCEPTED, Bytes::new()));
    match call {
        SchedulerCall::Subscribe { .. } => accepted,
        SchedulerCall::Teardown(m) => {
            master.handle(m, &pid, cx);
            accepted
        }
        SchedulerCall::Accept {
            accept,
            unsupported,
        } => {
            for op in &unsupported {
                tracing::warn!(framework = %framework_id, "ignoring unsupported operation {op}");
            }
            master.handle(accept, &pid, cx);
            accepted
        }
        SchedulerCall::Decline(m) => {
            master.handle(m, &pid, cx);
            accepted
        }
        SchedulerCall::Revive(m) => {
            master.handle(m, &pid, cx);
            accepted
        }
        SchedulerCall::Suppress(m) => {
            master.handle(m, &pid, cx);
            accepted
        }
        SchedulerCall::Kill { kill, .. } => {
            master.handle(kill, &pid, cx);
            accepted
        }
        SchedulerCall::Shutdown {
            framework_id,
            executor_id,
            agent_id,
        } => {
            master.send_agent(
                &agent_id,
                ShutdownExecutor {
                    framework_id,
                    executor_id,
                },
                cx,
            );
            accepted
        }
        SchedulerCall::Acknowledge(m) => {
            master.handle(m, &pid, cx);
            accepted
        }
        SchedulerCall::Reconcile(m) => {
            master.handle(m, &pid, cx);
            accepted
        }
        SchedulerCall::Message(m) => {
            master.handle(m, &pid, cx);
            accepted
        }
        // The hierarchical allocator ignores requests, as Mesos's does;
        // there are no inverse offers without maintenance schedules.
        SchedulerCall::Request { .. }
        | SchedulerCall::AcceptInverseOffers { .. }
        | SchedulerCall::DeclineInverseOffers { .. } => accepted,
        SchedulerCall::AcknowledgeOperationStatus { .. }
        | SchedulerCall::ReconcileOperations { .. }
        | SchedulerCall::UpdateFramework { .. } => Reply::Now(Response::text(
            StatusCode::NOT_IMPLEMENTED,
            "Operation feedback and framework updates are not supported by this master",
        )),
    }
}

fn subscribe_http(
    master: &mut Master,
    subscribe: wire::scheduler::Subscribe,
    cx: &mut Cx<'_, Master>,
) -> Reply {
    let stream_id = uuid::Uuid::new_v4().to_string();
    let (response, events) = Response::stream(StatusCode::OK, "application/json");
    let response = response.with_header("Mesos-Stream-Id", &stream_id);
    let pid_text = format!("scheduler-http-{stream_id}@0.0.0.0:0");
    let Ok(pid) = pid_text.parse::<Pid>() else {
        return Reply::Now(Response::text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Cannot name the stream",
        ));
    };
    let watch = events.clone();
    master.add_http_stream(pid_text.clone(), HttpStream { stream_id, events });
    master.handle(subscribe, &pid, cx);
    if master.state().framework_by_pid(&pid_text).is_none() {
        // Refused: the ERROR event is on the stream; end it.
        master.remove_http_stream(&pid_text);
    } else {
        cx.defer(async move { watch.closed().await }, move |()| {
            StreamClosed(pid_text)
        });
    }
    Reply::Now(response)
}

impl Handle<StreamClosed> for Master {
    fn handle(&mut self, StreamClosed(pid): StreamClosed, _: &Pid, cx: &mut Cx<'_, Self>) {
        self.http_stream_closed(&pid, cx);
    }
}

impl Handle<HeartbeatTick> for Master {
    fn handle(&mut self, _: HeartbeatTick, _: &Pid, cx: &mut Cx<'_, Self>) {
        let closed = self.heartbeat_streams();
        for pid in closed {
            self.http_stream_closed(&pid, cx);
        }
        cx.delay(HEARTBEAT_INTERVAL, HeartbeatTick);
    }
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
}
