//! The master's `POST /api/v1` on the process: carrying out what
//! `operator/calls.rs` reads a call to be, and the operator event stream's
//! subscribers (each event rendered once, when the core pushes it, and
//! shared by every subscriber).

use actors::http::{Response, StatusCode};
use actors::metrics::{Counter, Gauge};
use actors::{Cx, Handle, Pid, Reply, Request};
use tokio::time::Instant;

use super::{Master, RegistryFailed};
use crate::master::events::HEARTBEAT_INTERVAL;
use crate::master::operator::calls::{read_call, Act};
use crate::master::operator::events::{self, OperatorEvent, Subscribers};
use crate::master::quota;
use crate::operator_api::{self, Common, LoggingLevel};
use crate::v1_http;
use wire::registry::QuotaConfig;

/// The operator API's state on the process.
#[derive(Default)]
pub(super) struct OperatorApi {
    /// Clients following the event stream.
    subscribers: Subscribers,
    /// The verbosity an operator raised, and until when.
    logging: LoggingLevel,
    /// `master/operator_event_stream_subscribers` and the count of those
    /// dropped for falling behind; set once the process starts.
    metrics: Option<(Gauge, Counter)>,
}

/// A subscriber's client went away.
pub(super) struct OperatorStreamClosed {
    id: u64,
}

impl OperatorApi {
    pub(super) fn set_metrics(&mut self, m: &actors::metrics::Metrics) {
        self.metrics = Some((
            m.gauge("master/operator_event_stream_subscribers"),
            m.counter("master/operator_event_stream_subscribers_dropped"),
        ));
    }

    fn count(&self, dropped: usize) {
        if let Some((gauge, counter)) = &self.metrics {
            gauge.set(self.subscribers.len() as f64);
            counter.add(dropped as u64);
        }
    }

    /// Sends a record to every subscriber.
    fn publish(&mut self, record: &bytes::Bytes) {
        let done = self.subscribers.publish(record);
        if done.dropped > 0 {
            tracing::warn!(
                dropped = done.dropped,
                "dropping operator event subscribers that fell behind"
            );
        }
        if done.dropped + done.closed > 0 {
            self.count(done.dropped);
        }
    }
}

impl Master {
    /// `POST /api/v1`.
    pub(super) fn operator_api(&mut self, req: Request, cx: &mut Cx<'_, Self>) -> Reply {
        let act = match read_call(&self.view(), &req) {
            Ok(act) => act,
            Err(e) => return e.reply(),
        };
        match act {
            Act::Reply(reply) => reply,
            Act::Common(call) => {
                let level = self.operator.logging.at(Instant::now());
                let me = cx.me().clone();
                match operator_api::common(call, self.core.flags().all.all(), level, cx.node(), &me)
                {
                    Common::Reply(reply) => reply,
                    Common::SetLoggingLevel { level, duration } => {
                        tracing::info!(level, ?duration, "logging level set by an operator");
                        crate::logging::raise(level, duration);
                        self.operator.logging.set(level, duration, Instant::now());
                        operator_api::ok_empty()
                    }
                }
            }
            Act::Subscribe => self.operator_subscribe(cx),
            Act::UpdateWeights(weights) => {
                self.run(cx, |core, _, out| core.update_weights(weights, out));
                operator_api::ok_empty()
            }
            Act::UpdateQuota(configs) => self.store_quota(configs, cx),
            Act::Teardown(id) => {
                tracing::info!(framework = %id, "tearing the framework down at an operator's request");
                self.run(cx, |core, now, out| core.remove_framework(&id, now, out));
                operator_api::ok_empty()
            }
            Act::MarkAgentGone(id) => {
                self.run(cx, |core, now, out| core.mark_agent_gone(&id, now, out));
                operator_api::ok_empty()
            }
            Act::DeactivateAgent(id) => {
                self.run(cx, |core, _, out| core.deactivate_agent(&id, out));
                operator_api::ok_empty()
            }
            Act::ReactivateAgent(id) => {
                self.run(cx, |core, _, out| core.reactivate_agent(&id, out));
                operator_api::ok_empty()
            }
            Act::UpdateMaintenanceSchedule(windows) => {
                self.run(cx, |core, now, out| core.update_schedule(windows, now, out));
                operator_api::ok_empty()
            }
            Act::StartMaintenance(ids) => {
                self.run(cx, |core, _, out| core.start_maintenance(ids, out));
                operator_api::ok_empty()
            }
            Act::StopMaintenance(ids) => {
                self.run(cx, |core, _, out| core.stop_maintenance(ids, out));
                operator_api::ok_empty()
            }
            Act::DrainAgent {
                agent_id,
                max_grace_period,
                mark_gone,
            } => {
                self.run(cx, |core, now, out| {
                    core.drain_agent(&agent_id, max_grace_period, mark_gone, now, out)
                });
                operator_api::ok_empty()
            }
            Act::ResourceOp { agent_id, op } => self.resource_operation(&agent_id, op, cx),
        }
    }

    /// An operator's reservation or volume operation: 202 once applied
    /// (the agent checkpoints it), 400 if wrong, 409 if the agent has not
    /// the resources free (or the volume is in use).
    pub(super) fn resource_operation(
        &mut self,
        agent_id: &wire::ids::AgentId,
        op: crate::master::reservation::ResourceOp,
        cx: &mut Cx<'_, Self>,
    ) -> Reply {
        use crate::master::reservation::OpError;
        let outcome = self.run(cx, |core, _, out| {
            core.operator_resource_op(agent_id, op, out)
        });
        match outcome {
            Ok(()) => Reply::Now(Response::new(StatusCode::ACCEPTED, "")),
            Err(OpError::Invalid(m)) => Reply::Now(Response::text(StatusCode::BAD_REQUEST, &m)),
            Err(OpError::Unavailable(m)) => Reply::Now(Response::text(StatusCode::CONFLICT, &m)),
        }
    }

    /// Applies quotas an operator asked for; the answer waits until the
    /// registry holds them, so a quota that was acknowledged survives a
    /// failover.
    pub(super) fn store_quota(
        &mut self,
        configs: Vec<QuotaConfig>,
        cx: &mut Cx<'_, Self>,
    ) -> Reply {
        let (stored, outcome) = tokio::sync::oneshot::channel();
        let me = cx.handle();
        self.registry(
            quota::registry_operation(&configs),
            Box::new(move |result| {
                if let Err(error) = &result {
                    me.tell(
                        me.pid(),
                        RegistryFailed {
                            error: error.clone(),
                        },
                    );
                }
                let _ = stored.send(result.is_ok());
            }),
        );
        self.run(cx, |core, _, out| core.update_quota(configs, out));
        Reply::later(async move {
            match outcome.await {
                Ok(true) => Response::new(StatusCode::OK, ""),
                _ => Response::text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "The quota could not be stored in the registry",
                ),
            }
        })
    }

    /// SUBSCRIBE: a stream that starts with the whole state.
    fn operator_subscribe(&mut self, cx: &mut Cx<'_, Self>) -> Reply {
        let (response, stream) = Response::stream(StatusCode::OK, "application/json");
        // A heartbeat right after SUBSCRIBED, as Mesos's heartbeater sends
        // one at once: clients that read a record behind are not left
        // waiting on the state.
        let mut first = events::record(&events::subscribed(
            self.core.state(),
            HEARTBEAT_INTERVAL.as_secs_f64(),
        ))
        .to_vec();
        first.extend_from_slice(&events::record(&events::heartbeat()));
        let first = bytes::Bytes::from(first);
        let watch = stream.clone();
        let Some((id, dropped)) = self.operator.subscribers.join(stream, first) else {
            return v1_http::ApiError::Internal("The subscriber went away".into()).reply();
        };
        let max = self
            .core
            .flags()
            .all
            .get("max_operator_event_stream_subscribers")
            .and_then(|m| m.parse::<usize>().ok())
            .unwrap_or(1000);
        let closed = self.operator.subscribers.keep_at_most(max);
        if closed > 0 {
            tracing::info!(closed, max, "closing the oldest operator event streams (--max_operator_event_stream_subscribers)");
        }
        self.operator.count(0);
        tracing::info!(
            subscribers = self.operator.subscribers.len(),
            "an operator subscribed to the event stream"
        );
        // The watch lets go of the stream when the client leaves or when
        // the master drops the subscriber, whichever comes first: then no
        // sender is left and the stream ends.
        cx.defer(
            async move {
                tokio::select! {
                    () = watch.closed() => {}
                    _ = dropped => {}
                }
            },
            move |()| OperatorStreamClosed { id },
        );
        Reply::Now(response)
    }

    /// An event the core pushed: rendered once, for every subscriber.
    pub(super) fn operator_event(&mut self, event: OperatorEvent) {
        if self.operator.subscribers.is_empty() {
            return;
        }
        if let Some(json) = event.to_json(self.core.state()) {
            self.operator.publish(&events::record(&json));
        }
    }

    /// HEARTBEAT on the operator event stream.
    pub(super) fn operator_heartbeat(&mut self) {
        if !self.operator.subscribers.is_empty() {
            self.operator.publish(&events::record(&events::heartbeat()));
        }
    }
}

impl Handle<OperatorStreamClosed> for Master {
    fn handle(&mut self, msg: OperatorStreamClosed, _: &Pid, _: &mut Cx<'_, Self>) {
        if self.operator.subscribers.leave(msg.id) {
            self.operator.count(0);
            tracing::info!("an operator's event stream closed");
        }
    }
}
