//! The v1 scheduler `Event`s the master streams to a framework: their JSON
//! shape, and the constructors on [`Event`] that build each one from the
//! internal message the master would send a framework.

use serde::{Deserialize, Serialize};

use crate::agent::{ExecutorToFramework, ExitedExecutor};
use crate::ids::{AgentId, ExecutorId, FrameworkId, OfferId};
use crate::mesos;

use crate::v1::json::{self, Bytes};
use crate::v1::recordio::recordio;
use crate::v1::types::{MasterInfo, Offer, TaskStatus};

use super::call::Message;

/// `Event.Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventType {
    #[serde(rename = "SUBSCRIBED")]
    Subscribed,
    #[serde(rename = "OFFERS")]
    Offers,
    #[serde(rename = "INVERSE_OFFERS")]
    InverseOffers,
    #[serde(rename = "RESCIND")]
    Rescind,
    #[serde(rename = "RESCIND_INVERSE_OFFER")]
    RescindInverseOffer,
    #[serde(rename = "UPDATE")]
    Update,
    #[serde(rename = "UPDATE_OPERATION_STATUS")]
    UpdateOperationStatus,
    #[serde(rename = "MESSAGE")]
    Message,
    #[serde(rename = "FAILURE")]
    Failure,
    #[serde(rename = "ERROR")]
    Error,
    #[serde(rename = "HEARTBEAT")]
    Heartbeat,
    #[serde(rename = "UNKNOWN")]
    Unknown,
}

/// `Event.Subscribed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subscribed {
    pub framework_id: FrameworkId,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "json::opt_number"
    )]
    pub heartbeat_interval_seconds: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master_info: Option<MasterInfo>,
}

/// `Event.Offers`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Offers {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub offers: Vec<Offer>,
    /// `InverseOffer`s (maintenance), as JSON.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inverse_offers: Vec<serde_json::Value>,
}

/// `Event.Rescind`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rescind {
    pub offer_id: OfferId,
}

/// `Event.Update`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Update {
    pub status: TaskStatus,
}

/// `Event.Failure`: an executor exited (with `executor_id` and `status`)
/// or an agent was lost (`agent_id` alone).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<AgentId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor_id: Option<ExecutorId>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "json::opt_number"
    )]
    pub status: Option<i32>,
}

/// `Event.Error`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Error {
    pub message: String,
}

/// `scheduler.Event` as JSON: the type and the one payload it names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    #[serde(rename = "type")]
    pub kind: EventType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscribed: Option<Subscribed>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offers: Option<Offers>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rescind: Option<Rescind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<Update>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Message>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Error>,
    /// `Event.UpdateOperationStatus`: `{"status": OperationStatus}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_operation_status: Option<serde_json::Value>,
}

impl Event {
    fn of(kind: EventType) -> Event {
        Event {
            kind,
            subscribed: None,
            offers: None,
            rescind: None,
            update: None,
            message: None,
            failure: None,
            error: None,
            update_operation_status: None,
        }
    }

    /// UPDATE_OPERATION_STATUS for the operation `id` the framework named:
    /// `state` is `OPERATION_FINISHED`, `OPERATION_ERROR`, ...
    pub fn operation_status(
        id: &str,
        state: &str,
        message: Option<&str>,
        agent_id: Option<&crate::ids::AgentId>,
        uuid: &[u8],
    ) -> Event {
        let mut status = serde_json::json!({
            "operation_id": {"value": id},
            "state": state,
            "uuid": {"value": crate::v1::base64::encode(uuid)},
        });
        if let Some(m) = message {
            status["message"] = serde_json::Value::from(m);
        }
        if let Some(a) = agent_id {
            status["agent_id"] = serde_json::json!({"value": a.as_str()});
        }
        Event {
            update_operation_status: Some(serde_json::json!({ "status": status })),
            ..Event::of(EventType::UpdateOperationStatus)
        }
    }

    /// SUBSCRIBED, from `FrameworkRegistered` / `FrameworkReregistered`.
    pub fn subscribed(
        framework_id: &FrameworkId,
        heartbeat_interval_seconds: f64,
        master_info: &mesos::MasterInfo,
    ) -> Event {
        Event {
            subscribed: Some(Subscribed {
                framework_id: framework_id.clone(),
                heartbeat_interval_seconds: Some(heartbeat_interval_seconds),
                master_info: Some(MasterInfo::from_internal(master_info)),
            }),
            ..Event::of(EventType::Subscribed)
        }
    }

    /// OFFERS, from `ResourceOffers`, as `framework` sees them (its
    /// capabilities decide the resource format: see
    /// [`crate::v1::types::ResourceFormat::for_framework`]).
    pub fn offers(offers: &[mesos::Offer], framework: &mesos::FrameworkInfo) -> Event {
        Event {
            offers: Some(Offers {
                offers: offers
                    .iter()
                    .map(|o| Offer::from_internal(o, framework))
                    .collect(),
                inverse_offers: Vec::new(),
            }),
            ..Event::of(EventType::Offers)
        }
    }

    /// RESCIND, from `RescindOffer`.
    pub fn rescind(offer_id: &OfferId) -> Event {
        Event {
            rescind: Some(Rescind {
                offer_id: offer_id.clone(),
            }),
            ..Event::of(EventType::Rescind)
        }
    }

    /// UPDATE, from the status of a `StatusUpdateMessage`. The framework
    /// acknowledges it only if the status carries a uuid (updates the
    /// master makes up carry none).
    pub fn update(status: &mesos::TaskStatus) -> Event {
        Event {
            update: Some(Update {
                status: TaskStatus::from_internal(status),
            }),
            ..Event::of(EventType::Update)
        }
    }

    /// MESSAGE, from `ExecutorToFramework`.
    pub fn message(msg: &ExecutorToFramework) -> Event {
        Event {
            message: Some(Message {
                agent_id: Some(msg.agent_id.clone()),
                executor_id: Some(msg.executor_id.clone()),
                data: Some(Bytes(msg.data.clone())),
            }),
            ..Event::of(EventType::Message)
        }
    }

    /// FAILURE of an executor, from `ExitedExecutor`.
    pub fn executor_failure(exited: &ExitedExecutor) -> Event {
        Event {
            failure: Some(Failure {
                agent_id: Some(exited.agent_id.clone()),
                executor_id: Some(exited.executor_id.clone()),
                status: Some(exited.status),
            }),
            ..Event::of(EventType::Failure)
        }
    }

    /// FAILURE of an agent, from `AgentLost`.
    pub fn agent_failure(agent_id: &AgentId) -> Event {
        Event {
            failure: Some(Failure {
                agent_id: Some(agent_id.clone()),
                executor_id: None,
                status: None,
            }),
            ..Event::of(EventType::Failure)
        }
    }

    /// ERROR, from `FrameworkError`.
    pub fn error(message: &str) -> Event {
        Event {
            error: Some(Error {
                message: message.to_owned(),
            }),
            ..Event::of(EventType::Error)
        }
    }

    pub fn heartbeat() -> Event {
        Event::of(EventType::Heartbeat)
    }

    /// The event as JSON.
    pub fn to_json(&self) -> Vec<u8> {
        crate::v1::to_json(self)
    }

    /// The event as one RecordIO record of JSON, ready for the stream.
    pub fn to_record(&self) -> Vec<u8> {
        recordio(&self.to_json())
    }
}
