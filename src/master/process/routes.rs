//! The master's HTTP side: its routes (operator endpoints and the v1
//! scheduler API), and the event streams of HTTP frameworks (subscribe,
//! heartbeats, a client going away). What each request means is decided
//! in `http.rs` and `scheduler_api.rs` from a view of the master; this
//! file carries it out on the process.

use actors::http::{Response, StatusCode};
use actors::{Cx, Handle, Install, Pid, Reply, Request};
use wire::agent::ShutdownExecutor;
use wire::mesos::ResourceOpKind;
use wire::scheduler::Subscribe;
use wire::v1::SchedulerCall;

use super::Master;
use crate::master::effects::ToAgent;
use crate::master::events::HEARTBEAT_INTERVAL;
use crate::master::http;
use crate::master::maintenance::Answer;
use crate::master::quota;
use crate::master::scheduler_api::{self, ApiCall};
use crate::v1_http;

/// An HTTP framework's stream has closed (the client went away).
pub(super) struct StreamClosed {
    pid: String,
}
/// Time to send HEARTBEAT on every stream.
pub(super) struct HeartbeatTick;

/// The master's routes, each answered in its mailbox order.
pub(super) fn install(i: &mut Install<Master>) {
    i.route("/api/v1/scheduler", |m, req, cx| m.scheduler_api(req, cx))
        .route("/api/v1", |m, req, cx| m.operator_api(req, cx))
        // libprocess routes by prefix, so Mesos answers operator calls under
        // `/api/v1/operator` too, where pymesos's operator drivers send them.
        .route("/api/v1/operator", |m, req, cx| m.operator_api(req, cx))
        .route("/health", |_, _, _| {
            Reply::Now(Response::new(StatusCode::OK, ""))
        })
        .route("/state", |m, req, _| http::state(&m.view(), &req))
        .route("/state.json", |m, req, _| http::state(&m.view(), &req))
        .route("/slaves", |m, req, _| http::slaves(&m.view(), &req))
        .route("/frameworks", |m, req, _| http::frameworks(&m.view(), &req))
        .route("/tasks", |m, req, _| http::tasks(&m.view(), &req))
        .route("/flags", |m, req, _| http::flags(&m.view(), &req))
        .route("/state-summary", |m, req, _| {
            http::state_summary(&m.view(), &req)
        })
        .route("/roles", |m, req, _| http::roles(&m.view(), &req))
        .route("/redirect", |m, _, _| http::redirect(&m.view()))
        .route("/teardown", |m, req, cx| m.teardown_endpoint(req, cx))
        .route("/quota", |m, req, cx| m.quota_endpoint(req, cx))
        .route("/maintenance/schedule", |m, req, cx| {
            m.maintenance_schedule(req, cx)
        })
        .route("/maintenance/status", |m, req, _| m.maintenance_status(req))
        .route("/machine/down", |m, req, cx| m.machines(req, true, cx))
        .route("/machine/up", |m, req, cx| m.machines(req, false, cx))
        .route("/reserve", |m, req, cx| {
            m.resources_endpoint(req, ResourceOpKind::Reserve, cx)
        })
        .route("/unreserve", |m, req, cx| {
            m.resources_endpoint(req, ResourceOpKind::Unreserve, cx)
        })
        .route("/create-volumes", |m, req, cx| {
            m.resources_endpoint(req, ResourceOpKind::Create, cx)
        })
        .route("/destroy-volumes", |m, req, cx| {
            m.resources_endpoint(req, ResourceOpKind::Destroy, cx)
        })
        .route("/version", |_, req, _| {
            http::json_reply(&req, http::version())
        });
}

impl Master {
    /// The client of an HTTP framework went away: it is disconnected, with
    /// its failover timeout to come back.
    fn http_stream_closed(&mut self, pid: &str, cx: &mut Cx<'_, Self>) {
        if self.http_streams.remove(pid).is_none() {
            return;
        }
        if let Some(id) = self
            .core
            .state()
            .framework_by_pid(pid)
            .map(|f| f.id.clone())
        {
            tracing::info!(framework = %id, "HTTP event stream closed");
            self.run(cx, |core, now, out| {
                core.disconnect_framework(&id, now, out)
            });
        }
    }

    /// `POST /api/v1/scheduler`: read the call, then carry it out.
    fn scheduler_api(&mut self, req: Request, cx: &mut Cx<'_, Self>) -> Reply {
        let call = scheduler_api::read_call(&self.view(), &self.http_streams, &req);
        match call {
            Err(e) => e.reply(),
            Ok(ApiCall::Reply(reply)) => reply,
            Ok(ApiCall::Subscribe(subscribe)) => self.subscribe_http(subscribe, cx),
            Ok(ApiCall::Call { pid, call }) => self.scheduler_call(&pid, call, cx),
        }
    }

    /// SUBSCRIBE over HTTP: the framework's messages become events on the
    /// stream this opens.
    fn subscribe_http(&mut self, subscribe: Subscribe, cx: &mut Cx<'_, Self>) -> Reply {
        let opened = match scheduler_api::open_stream() {
            Ok(opened) => opened,
            Err(e) => return e.reply(),
        };
        let pid_text = opened.pid.to_string();
        self.http_streams.insert(pid_text.clone(), opened.stream);
        self.handle(subscribe, &opened.pid, cx);
        if self.core.state().framework_by_pid(&pid_text).is_none() {
            // Refused: the ERROR event is on the stream; end it.
            self.http_streams.remove(&pid_text);
        } else {
            let watch = opened.watch;
            cx.defer(async move { watch.closed().await }, move |()| {
                StreamClosed { pid: pid_text }
            });
        }
        Reply::Now(opened.response)
    }

    /// A call of a subscribed HTTP framework, as its stand-in pid's message.
    fn scheduler_call(&mut self, pid: &Pid, call: SchedulerCall, cx: &mut Cx<'_, Self>) -> Reply {
        match call {
            SchedulerCall::Subscribe { .. } => {}
            SchedulerCall::Teardown(m) => self.handle(m, pid, cx),
            SchedulerCall::Accept {
                accept,
                unsupported,
            } => {
                for op in &unsupported {
                    tracing::warn!(framework = %accept.framework_id, "ignoring unsupported operation {op}");
                }
                self.handle(accept, pid, cx);
            }
            SchedulerCall::Decline(m) => self.handle(m, pid, cx),
            SchedulerCall::Revive(m) => self.handle(m, pid, cx),
            SchedulerCall::Suppress(m) => self.handle(m, pid, cx),
            SchedulerCall::Kill { kill, .. } => self.handle(kill, pid, cx),
            SchedulerCall::Shutdown {
                framework_id,
                executor_id,
                agent_id,
            } => {
                let shutdown = ShutdownExecutor {
                    framework_id,
                    executor_id,
                };
                self.run(cx, |core, _, out| {
                    core.to_agent(&agent_id, ToAgent::ShutdownExecutor(shutdown), out)
                });
            }
            SchedulerCall::Acknowledge(m) => self.handle(m, pid, cx),
            SchedulerCall::Reconcile(m) => self.handle(m, pid, cx),
            SchedulerCall::Message(m) => self.handle(m, pid, cx),
            SchedulerCall::AcceptInverseOffers {
                framework_id,
                inverse_offer_ids,
                ..
            } => self.run(cx, |core, now, _| {
                core.answer_inverse_offers(
                    &framework_id,
                    &inverse_offer_ids,
                    Answer::Accept,
                    pid,
                    now,
                )
            }),
            SchedulerCall::DeclineInverseOffers {
                framework_id,
                inverse_offer_ids,
                ..
            } => self.run(cx, |core, now, _| {
                core.answer_inverse_offers(
                    &framework_id,
                    &inverse_offer_ids,
                    Answer::Decline,
                    pid,
                    now,
                )
            }),
            // The hierarchical allocator ignores requests, as Mesos's does.
            SchedulerCall::Request { .. } => {}
            SchedulerCall::AcknowledgeOperationStatus { .. }
            | SchedulerCall::ReconcileOperations { .. }
            | SchedulerCall::UpdateFramework { .. } => {
                return scheduler_api::not_implemented().reply()
            }
        }
        v1_http::accepted()
    }

    /// `POST /master/teardown`: an operator removes a framework.
    /// `/quota`: answered from the view, or quotas to apply.
    fn quota_endpoint(&mut self, req: Request, cx: &mut Cx<'_, Self>) -> Reply {
        match quota::endpoint(&self.view(), &req) {
            quota::Endpoint::Reply(reply) => reply,
            quota::Endpoint::Update(configs) => self.store_quota(configs, cx),
        }
    }

    fn teardown_endpoint(&mut self, req: Request, cx: &mut Cx<'_, Self>) -> Reply {
        match http::teardown(&self.view(), &req) {
            http::Teardown::Refuse(reply) => reply,
            http::Teardown::Remove(id) => {
                tracing::info!(framework = %id, "tearing the framework down at an operator's request");
                self.run(cx, |core, now, out| core.remove_framework(&id, now, out));
                Reply::Now(Response::new(StatusCode::OK, ""))
            }
        }
    }
}

impl Handle<StreamClosed> for Master {
    fn handle(&mut self, msg: StreamClosed, _: &Pid, cx: &mut Cx<'_, Self>) {
        self.http_stream_closed(&msg.pid, cx);
    }
}

impl Handle<HeartbeatTick> for Master {
    fn handle(&mut self, _: HeartbeatTick, _: &Pid, cx: &mut Cx<'_, Self>) {
        let beat = wire::v1::scheduler::Event::heartbeat();
        let state = self.core.state();
        let closed: Vec<String> = self
            .http_streams
            .iter()
            .inspect(|(pid, _)| {
                if let Some(f) = state.framework_by_pid(pid) {
                    f.metrics.event("heartbeat");
                }
            })
            .filter(|(_, s)| !s.send(&beat))
            .map(|(pid, _)| pid.clone())
            .collect();
        for pid in closed {
            self.http_stream_closed(&pid, cx);
        }
        self.operator_heartbeat();
        cx.delay(HEARTBEAT_INTERVAL, HeartbeatTick);
    }
}
