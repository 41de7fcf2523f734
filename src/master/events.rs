//! Messages to a framework as the v1 events an HTTP framework reads on its
//! stream ([`ToEvent`]), and that stream ([`HttpStream`]).

use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc::UnboundedSender;
use wire::agent::{ExecutorToFramework, ExitedExecutor, StatusUpdateMessage};
use wire::mesos::{FrameworkInfo, MasterInfo};
use wire::scheduler::{
    AgentLost, FrameworkError, FrameworkRegistered, FrameworkReregistered, RescindOffer,
    ResourceOffers,
};
use wire::v1::scheduler::Event;

/// `heartbeat_interval_seconds` announced in SUBSCRIBED, and how often
/// HEARTBEAT events follow.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(15);

/// One subscribed HTTP framework's event stream.
pub struct HttpStream {
    pub stream_id: String,
    events: UnboundedSender<Bytes>,
}

impl HttpStream {
    pub fn new(stream_id: String, events: UnboundedSender<Bytes>) -> HttpStream {
        HttpStream { stream_id, events }
    }

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
