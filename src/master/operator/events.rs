//! The operator event stream (`SUBSCRIBE` on `/api/v1`): what the core
//! says happened ([`OperatorEvent`], pushed as an effect where the change
//! is made), each event rendered once into a RecordIO record, and the
//! bounded fan-out of records to subscribers ([`Subscribers`]).
//!
//! A subscriber whose client does not read falls behind; once more than
//! [`MAX_QUEUED`] of its records wait unsent it is dropped (its stream
//! ends), so a stuck client cannot grow the master's memory. A record is
//! one shared buffer: each subscriber's queue holds a reference to it and
//! a counter of what it still holds, not a copy.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use serde_json::{json, Value};
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::oneshot;
use wire::ids::{AgentId, FrameworkId, TaskId};
use wire::mesos::{FrameworkInfo, TaskStatus};
use wire::task::TaskState;
use wire::v1::types::TaskStatus as TaskStatusJson;

use super::json;
use crate::master::state::State;

/// How many records may wait for one subscriber before it is dropped.
pub const MAX_QUEUED: usize = 1000;

/// A change operators hear about, named by ids; rendered against the
/// master's state when it is sent.
#[derive(Debug, Clone, PartialEq)]
pub enum OperatorEvent {
    TaskAdded {
        framework_id: FrameworkId,
        task_id: TaskId,
    },
    /// `status` applied to a task now in `state`.
    TaskUpdated {
        framework_id: FrameworkId,
        status: TaskStatus,
        state: TaskState,
    },
    AgentAdded(AgentId),
    AgentRemoved(AgentId),
    FrameworkAdded(FrameworkId),
    FrameworkUpdated(FrameworkId),
    /// The framework's info, as the record of it may be gone.
    FrameworkRemoved(FrameworkInfo),
}

impl OperatorEvent {
    /// The v1 `Event` JSON, or `None` when what it names is no longer
    /// there to describe (then there is nothing to send).
    pub fn to_json(&self, state: &State) -> Option<Value> {
        Some(match self {
            OperatorEvent::TaskAdded {
                framework_id,
                task_id,
            } => {
                let task = state.task(framework_id, task_id).or_else(|| {
                    state
                        .framework(framework_id)?
                        .completed_tasks()
                        .iter()
                        .rev()
                        .find(|t| &t.task_id == task_id)
                        .map(|t| t.task())
                })?;
                json!({"type": "TASK_ADDED", "task_added": {"task": json::task(task)}})
            }
            OperatorEvent::TaskUpdated {
                framework_id,
                status,
                state: task_state,
            } => json!({
                "type": "TASK_UPDATED",
                "task_updated": {
                    "framework_id": framework_id,
                    "status": TaskStatusJson::from_internal(status),
                    "state": task_state.name(),
                },
            }),
            OperatorEvent::AgentAdded(id) => json!({
                "type": "AGENT_ADDED",
                "agent_added": {"agent": json::agent(state.agent(id)?)},
            }),
            OperatorEvent::AgentRemoved(id) => json!({
                "type": "AGENT_REMOVED",
                "agent_removed": {"agent_id": id},
            }),
            OperatorEvent::FrameworkAdded(id) => json!({
                "type": "FRAMEWORK_ADDED",
                "framework_added": {"framework": json::framework(state.framework(id)?, state)},
            }),
            OperatorEvent::FrameworkUpdated(id) => json!({
                "type": "FRAMEWORK_UPDATED",
                "framework_updated": {"framework": json::framework(state.framework(id)?, state)},
            }),
            OperatorEvent::FrameworkRemoved(info) => json!({
                "type": "FRAMEWORK_REMOVED",
                "framework_removed": {
                    "framework_info": wire::v1::types::FrameworkInfo::from_internal(info),
                },
            }),
        })
    }
}

/// `SUBSCRIBED`: the whole state, as GET_STATE answers it.
pub fn subscribed(state: &State, heartbeat_interval_seconds: f64) -> Value {
    json!({
        "type": "SUBSCRIBED",
        "subscribed": {
            "get_state": json::get_state(state),
            "heartbeat_interval_seconds": heartbeat_interval_seconds,
        },
    })
}

/// `HEARTBEAT`.
pub fn heartbeat() -> Value {
    json!({"type": "HEARTBEAT"})
}

/// One event as a RecordIO record (`<length>\n<json>`), ready to share.
pub fn record(event: &Value) -> Bytes {
    Bytes::from(wire::v1::recordio(event.to_string().as_bytes()))
}

/// A shared record in one subscriber's queue: while it waits, it counts
/// against that subscriber's bound.
struct Queued {
    record: Bytes,
    queued: Arc<AtomicUsize>,
}

impl AsRef<[u8]> for Queued {
    fn as_ref(&self) -> &[u8] {
        &self.record
    }
}

impl Drop for Queued {
    fn drop(&mut self) {
        self.queued.fetch_sub(1, Ordering::Relaxed);
    }
}

/// One subscriber's stream.
struct Subscriber {
    events: UnboundedSender<Bytes>,
    /// Records sent and not yet written out to the client.
    queued: Arc<AtomicUsize>,
    /// Dropped with the subscriber: whoever watches the stream for its
    /// client leaving lets go of it then, so the stream ends.
    _dropped: oneshot::Sender<()>,
}

/// What one publication did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Published {
    /// Subscribers the record was queued for.
    pub sent: usize,
    /// Subscribers dropped for falling behind.
    pub dropped: usize,
    /// Subscribers whose client had gone away.
    pub closed: usize,
}

/// The operator event stream's subscribers, by a number given on joining.
pub struct Subscribers {
    all: BTreeMap<u64, Subscriber>,
    next: u64,
    bound: usize,
}

impl Default for Subscribers {
    fn default() -> Subscribers {
        Subscribers::with_bound(MAX_QUEUED)
    }
}

impl Subscribers {
    /// Subscribers dropped once more than `bound` records wait for them.
    pub fn with_bound(bound: usize) -> Subscribers {
        Subscribers {
            all: BTreeMap::new(),
            next: 0,
            bound,
        }
    }

    pub fn len(&self) -> usize {
        self.all.len()
    }

    pub fn is_empty(&self) -> bool {
        self.all.is_empty()
    }

    /// A new subscriber on `events`, after its first record (SUBSCRIBED)
    /// is queued; `None` when its client has already gone. With its
    /// number comes what resolves once it is dropped (by [`Self::leave`],
    /// for falling behind, or to make room): a watch on the stream must
    /// end then, so that no sender is left and the stream ends.
    pub fn join(
        &mut self,
        events: UnboundedSender<Bytes>,
        first: Bytes,
    ) -> Option<(u64, oneshot::Receiver<()>)> {
        let (dropped, on_drop) = oneshot::channel();
        let subscriber = Subscriber {
            events,
            queued: Arc::new(AtomicUsize::new(0)),
            _dropped: dropped,
        };
        if !send(&subscriber, first) {
            return None;
        }
        let id = self.next;
        self.next += 1;
        self.all.insert(id, subscriber);
        Some((id, on_drop))
    }

    /// Closes the oldest streams until at most `max` remain; how many
    /// were closed.
    pub fn keep_at_most(&mut self, max: usize) -> usize {
        let mut closed = 0;
        while self.all.len() > max {
            if self.all.pop_first().is_none() {
                break;
            }
            closed += 1;
        }
        closed
    }

    /// A subscriber's client went away.
    pub fn leave(&mut self, id: u64) -> bool {
        self.all.remove(&id).is_some()
    }

    /// Queues `record` for every subscriber; those past their bound, or
    /// whose client is gone, are dropped.
    pub fn publish(&mut self, record: &Bytes) -> Published {
        let mut done = Published::default();
        let bound = self.bound;
        self.all.retain(|_, s| {
            if s.queued.load(Ordering::Relaxed) >= bound {
                done.dropped += 1;
                return false;
            }
            if send(s, record.clone()) {
                done.sent += 1;
                true
            } else {
                done.closed += 1;
                false
            }
        });
        done
    }
}

/// Queues a record for one subscriber; false when its client is gone.
fn send(s: &Subscriber, record: Bytes) -> bool {
    s.queued.fetch_add(1, Ordering::Relaxed);
    let queued = Queued {
        record,
        queued: s.queued.clone(),
    };
    // A failed send drops the record, which uncounts it.
    s.events.send(Bytes::from_owner(queued)).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::mpsc::unbounded_channel;

    fn text(b: &Bytes) -> String {
        String::from_utf8(b.to_vec()).unwrap()
    }

    #[test]
    fn a_record_is_length_then_json() {
        let r = record(&heartbeat());
        assert_eq!(text(&r), "20\n{\"type\":\"HEARTBEAT\"}");
    }

    #[test]
    fn every_subscriber_gets_the_same_shared_record_in_order() {
        let mut subs = Subscribers::with_bound(10);
        let (a, mut ra) = unbounded_channel();
        let (b, mut rb) = unbounded_channel();
        subs.join(a, Bytes::from_static(b"first")).unwrap();
        subs.join(b, Bytes::from_static(b"first")).unwrap();
        let one = record(&json!({"n": 1}));
        let two = record(&json!({"n": 2}));
        assert_eq!(subs.publish(&one).sent, 2);
        assert_eq!(subs.publish(&two).sent, 2);
        for rx in [&mut ra, &mut rb] {
            let got: Vec<String> = (0..3).map(|_| text(&rx.try_recv().unwrap())).collect();
            assert_eq!(got, vec!["first".to_owned(), text(&one), text(&two)]);
        }
    }

    #[test]
    fn a_subscriber_that_does_not_read_is_dropped_past_its_bound() {
        let mut subs = Subscribers::with_bound(3);
        let (slow, mut slow_rx) = unbounded_channel();
        let (fast, mut fast_rx) = unbounded_channel();
        subs.join(slow, Bytes::from_static(b"s")).unwrap();
        subs.join(fast, Bytes::from_static(b"s")).unwrap();
        let r = record(&heartbeat());
        let mut dropped = 0;
        for _ in 0..5 {
            // The fast client reads everything as it comes.
            while fast_rx.try_recv().is_ok() {}
            dropped += subs.publish(&r).dropped;
        }
        assert_eq!(dropped, 1);
        assert_eq!(subs.len(), 1);
        // What the slow one had queued is still readable, then its stream ends.
        let mut read = 0;
        while slow_rx.try_recv().is_ok() {
            read += 1;
        }
        assert_eq!(read, 3);
        assert_eq!(
            slow_rx.try_recv(),
            Err(tokio::sync::mpsc::error::TryRecvError::Disconnected)
        );
    }

    #[test]
    fn the_oldest_subscribers_make_room_for_new_ones() {
        let mut subs = Subscribers::default();
        let mut receivers = Vec::new();
        for _ in 0..3 {
            let (tx, rx) = unbounded_channel();
            subs.join(tx, Bytes::from_static(b"s")).unwrap();
            receivers.push(rx);
        }
        assert_eq!(subs.keep_at_most(2), 1);
        assert_eq!(subs.len(), 2);
        assert_eq!(subs.publish(&record(&heartbeat())).sent, 2);
        let mut oldest = receivers.remove(0);
        assert!(oldest.try_recv().is_ok(), "SUBSCRIBED was still delivered");
        assert!(oldest.try_recv().is_err(), "nothing after it");
        assert!(receivers.iter_mut().all(|r| r.try_recv().is_ok()));
    }

    #[test]
    fn reading_frees_room_in_the_queue() {
        let mut subs = Subscribers::with_bound(2);
        let (tx, mut rx) = unbounded_channel();
        subs.join(tx, Bytes::from_static(b"s")).unwrap();
        let r = record(&heartbeat());
        for _ in 0..10 {
            assert_eq!(subs.publish(&r).dropped, 0);
            while rx.try_recv().is_ok() {}
        }
        assert_eq!(subs.len(), 1);
    }

    #[test]
    fn a_gone_client_is_removed_on_the_next_publication() {
        let mut subs = Subscribers::default();
        let (tx, rx) = unbounded_channel();
        subs.join(tx, Bytes::from_static(b"s")).unwrap();
        drop(rx);
        assert_eq!(subs.publish(&record(&heartbeat())).closed, 1);
        assert!(subs.is_empty());
        let (tx, rx) = unbounded_channel::<Bytes>();
        drop(rx);
        assert!(subs.join(tx, Bytes::from_static(b"s")).is_none());
    }

    #[test]
    fn a_watch_hears_when_its_subscriber_is_dropped() {
        let mut subs = Subscribers::with_bound(1);
        let (tx, _rx) = unbounded_channel();
        let (id, mut on_drop) = subs.join(tx, Bytes::from_static(b"s")).unwrap();
        assert_eq!(on_drop.try_recv(), Err(oneshot::error::TryRecvError::Empty));
        // Past its bound (nothing read): dropped, and the watch hears it.
        subs.publish(&record(&heartbeat()));
        assert!(subs.is_empty());
        assert_eq!(
            on_drop.try_recv(),
            Err(oneshot::error::TryRecvError::Closed)
        );
        assert!(!subs.leave(id));
    }
}

#[cfg(test)]
mod rendering {
    use super::*;
    use crate::master::core::fixture::{admit, core, run_task, subscribe};
    use wire::mesos::TaskStatus;

    #[test]
    fn events_are_rendered_with_v1_names_from_the_records() {
        let mut c = core(|_| {});
        let agent = admit(&mut c, 1);
        let framework = subscribe(&mut c, 1, |_| {});
        run_task(&mut c, &framework, &agent, "t1");
        let state = c.state();
        let added = OperatorEvent::TaskAdded {
            framework_id: framework.clone(),
            task_id: TaskId::new("t1"),
        }
        .to_json(state)
        .unwrap();
        let task = &added["task_added"]["task"];
        assert_eq!(added["type"], "TASK_ADDED");
        assert_eq!(task["task_id"], json!({"value": "t1"}));
        assert_eq!(task["agent_id"], json!({"value": agent.value}));
        assert_eq!(task["framework_id"], json!({"value": framework.value}));
        assert_eq!(task["state"], "TASK_RUNNING");
        assert!(task.get("slave_id").is_none());
        let cpus = task["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == "cpus")
            .cloned()
            .unwrap();
        assert_eq!(cpus["scalar"]["value"], 1.0);
        assert_eq!(cpus["type"], "SCALAR");

        let status = TaskStatus::new(TaskId::new("t1"), TaskState::Finished);
        let updated = OperatorEvent::TaskUpdated {
            framework_id: framework.clone(),
            status,
            state: TaskState::Finished,
        }
        .to_json(state)
        .unwrap();
        assert_eq!(updated["task_updated"]["state"], "TASK_FINISHED");
        assert_eq!(updated["task_updated"]["status"]["state"], "TASK_FINISHED");
        assert_eq!(
            updated["task_updated"]["framework_id"],
            json!({"value": framework.value})
        );

        let agent_added = OperatorEvent::AgentAdded(agent.clone())
            .to_json(state)
            .unwrap();
        let a = &agent_added["agent_added"]["agent"];
        assert_eq!(a["agent_info"]["id"], json!({"value": agent.value}));
        assert_eq!(a["agent_info"]["hostname"], "agent1");
        assert_eq!(a["active"], true);
        assert!(a["registered_time"]["nanoseconds"].is_i64());

        let f = OperatorEvent::FrameworkUpdated(framework.clone())
            .to_json(state)
            .unwrap();
        let info = &f["framework_updated"]["framework"]["framework_info"];
        assert_eq!(info["id"], json!({"value": framework.value}));
        assert_eq!(info["name"], "framework 1");

        assert_eq!(
            OperatorEvent::AgentRemoved(agent.clone()).to_json(state),
            Some(
                json!({"type": "AGENT_REMOVED", "agent_removed": {"agent_id": {"value": agent.value}}})
            )
        );
        // What is no longer there is not described.
        assert_eq!(
            OperatorEvent::AgentAdded(AgentId::new("nope")).to_json(state),
            None
        );
    }

    #[test]
    fn subscribed_carries_the_whole_state_and_the_heartbeat_interval() {
        let mut c = core(|_| {});
        let agent = admit(&mut c, 1);
        let framework = subscribe(&mut c, 1, |_| {});
        run_task(&mut c, &framework, &agent, "t1");
        let s = subscribed(c.state(), 15.0);
        assert_eq!(s["type"], "SUBSCRIBED");
        assert_eq!(s["subscribed"]["heartbeat_interval_seconds"], 15.0);
        let state = &s["subscribed"]["get_state"];
        assert_eq!(state["get_tasks"]["tasks"][0]["task_id"]["value"], "t1");
        assert_eq!(
            state["get_agents"]["agents"][0]["agent_info"]["id"]["value"],
            agent.value
        );
        assert_eq!(
            state["get_frameworks"]["frameworks"][0]["framework_info"]["id"]["value"],
            framework.value
        );
    }
}
