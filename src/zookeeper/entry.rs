//! What a master's group entry holds, byte for byte as Mesos writes it
//! (`src/master/contender/zookeeper.cpp`: `stringify(JSON::protobuf(info))`),
//! and reading any entry a Mesos detector reads
//! (`src/master/detector/zookeeper.cpp`).
//!
//! Mesos builds the JSON as a stout `JSON::Object`, whose keys live in a
//! `std::map`, so every object comes out with its keys in byte order and
//! no whitespace. The `ip` field is Mesos's quirk: the IPv4 address in
//! network byte order read as a native little-endian `u32`, so 127.0.0.1
//! is 16777343 (`wire::v1::types::ip_to_u32`).

use std::str::FromStr;

use serde::Serialize;
use wire::mesos::MasterInfo;
use wire::v1::types as v1;

/// The label of the members masters create: znodes `json.info_<seq>`.
pub const MASTER_INFO_JSON_LABEL: &str = "json.info";

/// Mesos before 0.24 wrote binary protobuf under this label.
pub const MASTER_INFO_LABEL: &str = "info";

/// The capabilities a Mesos 1.11 master announces (`MASTER_CAPABILITIES()`
/// in `src/master/constants.cpp`); this implementation reports 1.11.0.
pub const MASTER_CAPABILITIES: &[&str] = &["AGENT_UPDATE", "AGENT_DRAINING", "QUOTA_V2"];

/// Why a leader's entry could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    #[error("member '{0}' holds binary protobuf MasterInfo (label 'info', Mesos before 0.24), which is not supported")]
    LegacyProtobuf(String),
    #[error("member '{name}' has the unknown label '{label}'")]
    UnknownLabel { name: String, label: String },
    #[error("member '{name}' does not hold MasterInfo JSON: {reason}")]
    BadJson { name: String, reason: String },
    #[error("member '{name}' does not hold a master pid: {reason}")]
    BadPid { name: String, reason: String },
}

/// Keys in byte order: see the module docs.
#[derive(Serialize)]
struct MasterInfoJson<'a> {
    address: AddressJson<'a>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    capabilities: Vec<CapabilityJson<'a>>,
    hostname: &'a str,
    id: &'a str,
    ip: u32,
    pid: &'a str,
    port: u16,
    version: &'a str,
}

#[derive(Serialize)]
struct AddressJson<'a> {
    hostname: &'a str,
    ip: &'a str,
    port: u16,
}

#[derive(Serialize)]
struct CapabilityJson<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
}

/// The data of a master's `json.info_` member.
pub fn master_info_json(info: &MasterInfo, capabilities: &[String]) -> Vec<u8> {
    let json = MasterInfoJson {
        address: AddressJson {
            hostname: &info.hostname,
            ip: &info.ip,
            port: info.port,
        },
        capabilities: capabilities
            .iter()
            .map(|c| CapabilityJson { kind: c })
            .collect(),
        hostname: &info.hostname,
        id: &info.id,
        ip: v1::ip_to_u32(&info.ip),
        pid: &info.pid,
        port: info.port,
        version: &info.version,
    };
    // Serializing plain strings and numbers cannot fail.
    serde_json::to_vec(&json).unwrap_or_default()
}

/// Reads the entry of member `name` whose label is `label` (`None` for a
/// legacy member named by its sequence alone).
pub fn parse_entry(name: &str, label: Option<&str>, data: &[u8]) -> Result<MasterInfo, EntryError> {
    match label {
        Some(MASTER_INFO_JSON_LABEL) => {
            let bad = |reason: String| EntryError::BadJson {
                name: name.to_owned(),
                reason,
            };
            let json: v1::MasterInfo =
                serde_json::from_slice(data).map_err(|e| bad(e.to_string()))?;
            json.into_internal().map_err(|e| bad(e.to_string()))
        }
        Some(MASTER_INFO_LABEL) => Err(EntryError::LegacyProtobuf(name.to_owned())),
        Some(other) => Err(EntryError::UnknownLabel {
            name: name.to_owned(),
            label: other.to_owned(),
        }),
        None => parse_legacy_pid(name, data),
    }
}

/// Masters before Mesos 0.20 wrote their pid as plain text.
fn parse_legacy_pid(name: &str, data: &[u8]) -> Result<MasterInfo, EntryError> {
    let bad = |reason: String| EntryError::BadPid {
        name: name.to_owned(),
        reason,
    };
    let text = std::str::from_utf8(data)
        .map_err(|e| bad(e.to_string()))?
        .trim();
    let pid = actors::Pid::from_str(text).map_err(|e| bad(e.to_string()))?;
    Ok(master_info_of(&pid))
}

/// What is known of a master named only by its pid. The pid stands in for
/// the id: Mesos appends a random UUID, which would make the same master
/// look new on every read.
pub fn master_info_of(pid: &actors::Pid) -> MasterInfo {
    let ip = pid.address().ip().to_string();
    MasterInfo {
        id: pid.to_string(),
        hostname: ip.clone(),
        ip,
        port: pid.address().port(),
        pid: pid.to_string(),
        version: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> MasterInfo {
        MasterInfo {
            id: "8d8b7c4e-0000-4000-8000-000000000001".into(),
            ip: "127.0.0.1".into(),
            port: 5050,
            pid: "master@127.0.0.1:5050".into(),
            hostname: "m1".into(),
            version: "1.11.0".into(),
        }
    }

    fn capabilities() -> Vec<String> {
        MASTER_CAPABILITIES.iter().map(|c| c.to_string()).collect()
    }

    #[test]
    fn entries_are_mesos_bytes() {
        let bytes = master_info_json(&info(), &capabilities());
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            concat!(
                r#"{"address":{"hostname":"m1","ip":"127.0.0.1","port":5050},"#,
                r#""capabilities":[{"type":"AGENT_UPDATE"},{"type":"AGENT_DRAINING"},{"type":"QUOTA_V2"}],"#,
                r#""hostname":"m1","id":"8d8b7c4e-0000-4000-8000-000000000001","ip":16777343,"#,
                r#""pid":"master@127.0.0.1:5050","port":5050,"version":"1.11.0"}"#
            )
        );
        // No capabilities: the field is left out, as protobuf leaves out an
        // empty repeated field.
        let bare = String::from_utf8(master_info_json(&info(), &[])).unwrap();
        assert!(!bare.contains("capabilities"), "{bare}");
    }

    #[test]
    fn entries_read_back() {
        let bytes = master_info_json(&info(), &capabilities());
        assert_eq!(
            parse_entry("json.info_0000000003", Some("json.info"), &bytes),
            Ok(info())
        );
        // What a real Mesos master wrote, with a domain we do not model.
        let mesos = br#"{"address":{"hostname":"m2","ip":"10.0.0.5","port":5050},"domain":{"fault_domain":{"region":{"name":"r"},"zone":{"name":"z"}}},"hostname":"m2","id":"abc","ip":83886090,"pid":"master@10.0.0.5:5050","port":5050,"version":"1.12.0"}"#;
        let read = parse_entry("json.info_0000000000", Some("json.info"), mesos).unwrap();
        assert_eq!(
            (
                read.ip.as_str(),
                read.port,
                read.pid.as_str(),
                read.id.as_str()
            ),
            ("10.0.0.5", 5050, "master@10.0.0.5:5050", "abc")
        );
    }

    #[test]
    fn legacy_and_unknown_entries() {
        let legacy = parse_entry("0000000001", None, b"master@10.0.0.7:5050\n").unwrap();
        assert_eq!(
            (legacy.ip.as_str(), legacy.port, legacy.pid.as_str()),
            ("10.0.0.7", 5050, "master@10.0.0.7:5050")
        );
        // (label, data, which error)
        type Case = (Option<&'static str>, &'static [u8], fn(&EntryError) -> bool);
        let cases: &[Case] = &[
            (Some("info"), b"\x0a\x03abc", |e| {
                matches!(e, EntryError::LegacyProtobuf(_))
            }),
            (Some("other"), b"{}", |e| {
                matches!(e, EntryError::UnknownLabel { .. })
            }),
            (Some("json.info"), b"not json", |e| {
                matches!(e, EntryError::BadJson { .. })
            }),
            (Some("json.info"), br#"{"ip":1}"#, |e| {
                matches!(e, EntryError::BadJson { .. })
            }),
            (None, b"10.0.0.7:5050", |e| {
                matches!(e, EntryError::BadPid { .. })
            }),
            (None, b"\xff\xfe", |e| {
                matches!(e, EntryError::BadPid { .. })
            }),
        ];
        for (label, data, expected) in cases {
            let e = parse_entry("m", *label, data).unwrap_err();
            assert!(expected(&e), "{label:?}: {e:?}");
        }
    }
}
