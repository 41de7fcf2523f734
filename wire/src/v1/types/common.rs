//! The ids and small messages the larger v1 types share: `OperationID`,
//! `DurationInfo`, `KillPolicy`, `Filters`, `Address`, `URL`, and the
//! framework capability names that decide how resources are written.

use serde::{Deserialize, Serialize};

use crate::mesos;
use crate::v1::json;

use super::error::FieldError;

/// Framework capabilities Mesos knows (`FrameworkInfo.Capability.Type`).
/// Other names are dropped on input, as protobuf drops unknown enum values.
pub const FRAMEWORK_CAPABILITIES: [&str; 8] = [
    "REVOCABLE_RESOURCES",
    "TASK_KILLING_STATE",
    "GPU_RESOURCES",
    "SHARED_RESOURCES",
    "PARTITION_AWARE",
    "MULTI_ROLE",
    "RESERVATION_REFINEMENT",
    "REGION_AWARE",
];

pub(super) const MULTI_ROLE: &str = "MULTI_ROLE";
pub(super) const RESERVATION_REFINEMENT: &str = "RESERVATION_REFINEMENT";

/// A duration in seconds as a `DurationInfo`'s nanoseconds.
fn nanos(seconds: f64) -> i64 {
    // `as` saturates; the internal durations are finite and non-negative.
    (seconds * 1e9).round() as i64
}

/// Seconds from a duration field, which must not be negative.
pub(super) fn seconds(d: &DurationInfo, field: &str) -> Result<f64, FieldError> {
    if d.nanoseconds < 0 {
        return Err(FieldError::invalid(field, "must not be negative"));
    }
    Ok(d.nanoseconds as f64 / 1e9)
}

/// `OperationID`: set by a framework on an offer operation to ask for
/// operation status updates.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OperationId {
    pub value: String,
}

/// `DurationInfo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DurationInfo {
    #[serde(deserialize_with = "json::number")]
    pub nanoseconds: i64,
}

impl DurationInfo {
    pub fn from_seconds(seconds: f64) -> DurationInfo {
        DurationInfo {
            nanoseconds: nanos(seconds),
        }
    }
}

/// `KillPolicy`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KillPolicy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_period: Option<DurationInfo>,
}

impl KillPolicy {
    /// A policy of `grace` seconds between SIGTERM and SIGKILL.
    pub fn grace(seconds: f64) -> KillPolicy {
        KillPolicy {
            grace_period: Some(DurationInfo::from_seconds(seconds)),
        }
    }

    /// The grace period in seconds, if set.
    pub fn into_internal(self) -> Result<Option<f64>, FieldError> {
        self.grace_period
            .map(|d| seconds(&d, "grace_period"))
            .transpose()
    }
}

/// `Filters`. `refuse_seconds` defaults to 5 and is always written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Filters {
    #[serde(default = "five_seconds", deserialize_with = "json::number")]
    pub refuse_seconds: f64,
}

fn five_seconds() -> f64 {
    5.0
}

impl Default for Filters {
    fn default() -> Self {
        Filters {
            refuse_seconds: five_seconds(),
        }
    }
}

impl Filters {
    pub fn from_internal(f: &mesos::Filters) -> Filters {
        Filters {
            refuse_seconds: f.refuse_seconds,
        }
    }

    /// Mesos ignores a refusal it cannot turn into a duration and uses the
    /// default; the allocator does the same, so any number is taken here.
    pub fn into_internal(self) -> mesos::Filters {
        mesos::Filters {
            refuse_seconds: self.refuse_seconds,
        }
    }
}

/// `Address`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "json::opt_number"
    )]
    pub port: Option<i32>,
}

/// `URL`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Url {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

impl Url {
    /// The URL of an agent from its pid (`slave(1)@10.0.0.7:5051` gives
    /// `http://10.0.0.7:5051/slave(1)`), as Mesos puts it in offers.
    pub fn of_agent(pid: &str, hostname: &str) -> Option<Url> {
        let (id, address) = pid.split_once('@')?;
        let (ip, port) = address.rsplit_once(':')?;
        let port: i32 = port.parse().ok()?;
        Some(Url {
            scheme: Some("http".into()),
            address: Some(Address {
                hostname: Some(hostname.to_owned()),
                ip: Some(ip.to_owned()),
                port: Some(port),
            }),
            path: Some(format!("/{id}")),
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn agent_url_comes_from_its_pid() {
        let url = Url::of_agent("slave(1)@10.0.0.7:5051", "a1").unwrap();
        assert_eq!(
            serde_json::to_value(url).unwrap(),
            json!({"scheme": "http", "address": {"hostname": "a1", "ip": "10.0.0.7", "port": 5051},
                   "path": "/slave(1)"})
        );
        assert_eq!(Url::of_agent("garbage", "a1"), None);
        assert_eq!(Url::of_agent("slave(1)@h:x", "a1"), None);
    }
}
