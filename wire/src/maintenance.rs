//! Maintenance as data (Mesos's `mesos/maintenance/maintenance.proto` and
//! the maintenance parts of `mesos.proto`): machines named by hostname
//! and/or IP, windows of unavailability, a schedule of windows, and the
//! mode each scheduled machine is in. The registry keeps the schedule and
//! the machines ([`Maintenance`]) so they survive a failover.
//!
//! The stored types derive serde for the registry's encoding (every field
//! always written); their JSON as Mesos writes it is built by the
//! `*_json` functions, and read by [`parse_schedule`] and
//! [`parse_machine_ids`].

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::v1::json as numbers;

/// `MachineID`: a machine is named by its hostname, its IP, or both.
/// Hostnames are kept lowercase, as they compare without case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct MachineId {
    pub hostname: Option<String>,
    pub ip: Option<String>,
}

impl MachineId {
    pub fn new(hostname: Option<&str>, ip: Option<&str>) -> MachineId {
        MachineId {
            hostname: hostname.map(str::to_ascii_lowercase),
            ip: ip.map(str::to_owned),
        }
    }

    /// Whether an agent on `hostname` at `ip` runs on this machine: every
    /// part the id names must be the agent's.
    pub fn matches(&self, hostname: &str, ip: &str) -> bool {
        let host_ok = self
            .hostname
            .as_deref()
            .is_none_or(|h| h.eq_ignore_ascii_case(hostname));
        let ip_ok = self.ip.as_deref().is_none_or(|i| i == ip);
        (self.hostname.is_some() || self.ip.is_some()) && host_ok && ip_ok
    }

    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        if let Some(h) = &self.hostname {
            m.insert("hostname".into(), json!(h));
        }
        if let Some(i) = &self.ip {
            m.insert("ip".into(), json!(i));
        }
        Value::Object(m)
    }
}

impl std::fmt::Display for MachineId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.hostname, &self.ip) {
            (Some(h), Some(i)) => write!(f, "{h} ({i})"),
            (Some(h), None) => write!(f, "{h}"),
            (None, Some(i)) => write!(f, "({i})"),
            (None, None) => write!(f, "()"),
        }
    }
}

/// `Unavailability`: from `start` (nanoseconds since the epoch), for
/// `duration` nanoseconds, or for ever when unset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unavailability {
    pub start_ns: i64,
    pub duration_ns: Option<i64>,
}

impl Unavailability {
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("start".into(), json!({ "nanoseconds": self.start_ns }));
        if let Some(d) = self.duration_ns {
            m.insert("duration".into(), json!({ "nanoseconds": d }));
        }
        Value::Object(m)
    }
}

/// `maintenance.Window`: machines unavailable together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub machine_ids: Vec<MachineId>,
    pub unavailability: Unavailability,
}

/// `MachineInfo.Mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MachineMode {
    /// In a schedule, still in use: frameworks are asked to leave it.
    Draining,
    /// Brought down by an operator: no agent of it may register.
    Down,
}

impl MachineMode {
    pub fn name(self) -> &'static str {
        match self {
            MachineMode::Draining => "DRAINING",
            MachineMode::Down => "DOWN",
        }
    }
}

/// `MachineInfo`: a scheduled machine and its mode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MachineInfo {
    pub id: MachineId,
    pub mode: MachineMode,
    pub unavailability: Option<Unavailability>,
}

/// What the registry keeps of maintenance: the schedule (Mesos keeps a
/// list of schedules and uses one) and the machines in it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Maintenance {
    pub windows: Vec<Window>,
    pub machines: Vec<MachineInfo>,
}

/// A schedule as JSON (`maintenance.Schedule`): empty lists left out.
pub fn schedule_json(windows: &[Window]) -> Value {
    if windows.is_empty() {
        return json!({});
    }
    let windows: Vec<Value> = windows
        .iter()
        .map(|w| {
            json!({
                "machine_ids": w.machine_ids.iter().map(MachineId::to_json).collect::<Vec<_>>(),
                "unavailability": w.unavailability.to_json(),
            })
        })
        .collect();
    json!({ "windows": windows })
}

/// Why a maintenance body could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

#[derive(Deserialize)]
struct MachineIdJson {
    #[serde(default)]
    hostname: Option<String>,
    #[serde(default)]
    ip: Option<String>,
}

#[derive(Deserialize)]
struct NanosJson {
    #[serde(deserialize_with = "numbers::number")]
    nanoseconds: i64,
}

#[derive(Deserialize)]
struct UnavailabilityJson {
    start: Option<NanosJson>,
    #[serde(default)]
    duration: Option<NanosJson>,
}

#[derive(Deserialize)]
struct WindowJson {
    #[serde(default)]
    machine_ids: Vec<MachineIdJson>,
    #[serde(default)]
    unavailability: Option<UnavailabilityJson>,
}

#[derive(Deserialize)]
struct ScheduleJson {
    #[serde(default)]
    windows: Vec<WindowJson>,
}

fn machine_id(m: MachineIdJson) -> MachineId {
    let blank = |s: Option<String>| s.filter(|s| !s.is_empty());
    MachineId::new(blank(m.hostname).as_deref(), blank(m.ip).as_deref())
}

/// Reads a `maintenance.Schedule` from JSON. Only its shape is checked
/// here; what it means for the cluster is checked by the master.
pub fn schedule_from_value(v: Value) -> Result<Vec<Window>, ParseError> {
    let s: ScheduleJson =
        serde_json::from_value(v).map_err(|e| ParseError(format!("Invalid schedule: {e}")))?;
    s.windows
        .into_iter()
        .map(|w| {
            let u = w
                .unavailability
                .ok_or_else(|| ParseError("Window is missing 'unavailability'".into()))?;
            let start = u
                .start
                .ok_or_else(|| ParseError("Window's unavailability is missing 'start'".into()))?;
            Ok(Window {
                machine_ids: w.machine_ids.into_iter().map(machine_id).collect(),
                unavailability: Unavailability {
                    start_ns: start.nanoseconds,
                    duration_ns: u.duration.map(|d| d.nanoseconds),
                },
            })
        })
        .collect()
}

/// Reads a `maintenance.Schedule` from a JSON body.
pub fn parse_schedule(body: &[u8]) -> Result<Vec<Window>, ParseError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| ParseError(format!("Failed to parse the schedule JSON: {e}")))?;
    schedule_from_value(v)
}

/// Reads a JSON array of `MachineID`s.
pub fn machine_ids_from_value(v: Value) -> Result<Vec<MachineId>, ParseError> {
    let ids: Vec<MachineIdJson> = serde_json::from_value(v)
        .map_err(|e| ParseError(format!("Invalid list of machines: {e}")))?;
    Ok(ids.into_iter().map(machine_id).collect())
}

/// Reads a JSON array of `MachineID`s from a body (`/machine/down`, `/up`).
pub fn parse_machine_ids(body: &[u8]) -> Result<Vec<MachineId>, ParseError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| ParseError(format!("Failed to parse the list of machines: {e}")))?;
    machine_ids_from_value(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schedule_reads_back_as_it_is_written() {
        let body = r#"{"windows":[{"machine_ids":[{"hostname":"Host1","ip":"10.0.0.1"},{"ip":"10.0.0.2"}],
            "unavailability":{"start":{"nanoseconds":"1000"},"duration":{"nanoseconds":5}}}]}"#;
        let windows = parse_schedule(body.as_bytes()).unwrap();
        assert_eq!(windows[0].machine_ids[0].hostname.as_deref(), Some("host1"));
        assert_eq!(windows[0].unavailability.start_ns, 1000);
        let again = parse_schedule(schedule_json(&windows).to_string().as_bytes()).unwrap();
        assert_eq!(again, windows);
        assert_eq!(schedule_json(&[]), json!({}));
    }

    #[test]
    fn bad_bodies_are_refused_with_a_reason() {
        for body in [
            "nope",
            r#"{"windows":[{"machine_ids":[{"hostname":"h"}]}]}"#,
            r#"{"windows":[{"machine_ids":[],"unavailability":{}}]}"#,
            r#"{"windows":"x"}"#,
        ] {
            assert!(parse_schedule(body.as_bytes()).is_err(), "{body}");
        }
        assert!(parse_machine_ids(br#"{"hostname":"h"}"#).is_err());
        assert_eq!(
            parse_machine_ids(br#"[{"hostname":"h","ip":""}]"#).unwrap(),
            vec![MachineId::new(Some("h"), None)]
        );
    }

    #[test]
    fn a_machine_matches_agents_by_the_parts_it_names() {
        let table = [
            (MachineId::new(Some("h"), None), "H", "1.1.1.1", true),
            (MachineId::new(None, Some("1.1.1.1")), "x", "1.1.1.1", true),
            (
                MachineId::new(Some("h"), Some("1.1.1.1")),
                "h",
                "2.2.2.2",
                false,
            ),
            (
                MachineId::new(Some("h"), Some("1.1.1.1")),
                "h",
                "1.1.1.1",
                true,
            ),
            (MachineId::new(None, None), "h", "1.1.1.1", false),
        ];
        for (id, host, ip, expected) in table {
            assert_eq!(id.matches(host, ip), expected, "{id} vs {host} {ip}");
        }
    }
}
