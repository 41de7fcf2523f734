//! `Offer`, as a framework with given capabilities sees it, and the offer
//! operations a framework answers with (`Offer.Operation`, LAUNCH and
//! LAUNCH_GROUP), plus the `Request` of the REQUEST call.

use serde::{Deserialize, Serialize};

use crate::ids::{AgentId, ExecutorId, FrameworkId, OfferId};
use crate::mesos;

use super::common::{OperationId, Url};
use super::tasks::{ExecutorInfo, TaskGroupInfo, TaskInfo};
use super::values::{resources_to_v1, AllocationInfo, Attribute, Resource, ResourceFormat};

/// `Offer`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Offer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<OfferId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub framework_id: Option<FrameworkId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<AgentId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<Url>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<Resource>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<Attribute>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub executor_ids: Vec<ExecutorId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocation_info: Option<AllocationInfo>,
    /// `Unavailability` of the agent's machine, when it is scheduled for
    /// maintenance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unavailability: Option<serde_json::Value>,
}

impl Offer {
    /// `offer` as `framework` sees it (see [`ResourceFormat::for_framework`]).
    pub fn from_internal(offer: &mesos::Offer, framework: &mesos::FrameworkInfo) -> Offer {
        let format = ResourceFormat::for_framework(framework, &offer.role);
        Offer {
            id: Some(offer.id.clone()),
            framework_id: Some(offer.framework_id.clone()),
            agent_id: Some(offer.agent_id.clone()),
            hostname: Some(offer.hostname.clone()),
            url: Url::of_agent(&offer.agent_pid, &offer.hostname),
            resources: resources_to_v1(&offer.resources, &format),
            attributes: offer
                .attributes
                .iter()
                .map(Attribute::from_internal)
                .collect(),
            executor_ids: offer.executor_ids.clone(),
            allocation_info: format.allocation_info(),
            unavailability: offer.unavailability.map(|u| u.to_json()),
        }
    }
}

/// `Offer.Operation.Launch`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Launch {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub task_infos: Vec<TaskInfo>,
}

/// `Offer.Operation.LaunchGroup`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LaunchGroup {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor: Option<ExecutorInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_group: Option<TaskGroupInfo>,
}

/// `Offer.Operation`. Only LAUNCH and LAUNCH_GROUP carry payloads this
/// implementation reads; the others are known by their type name alone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Operation {
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<OperationId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch: Option<Launch>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch_group: Option<LaunchGroup>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reserve: Option<OpResources>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unreserve: Option<OpResources>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create: Option<OpVolumes>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destroy: Option<OpVolumes>,
}

/// `Offer.Operation.Reserve` / `.Unreserve`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct OpResources {
    #[serde(default)]
    pub resources: Vec<Resource>,
}

/// `Offer.Operation.Create` / `.Destroy`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct OpVolumes {
    #[serde(default)]
    pub volumes: Vec<Resource>,
}

/// `Request` (the payload of the scheduler's REQUEST call).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<AgentId>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<Resource>,
}
