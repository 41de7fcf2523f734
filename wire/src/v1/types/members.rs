//! The members of a cluster as the v1 APIs describe them: `MasterInfo`
//! (with the `ip` quirk of MESOS-1201), `AgentInfo` and `FrameworkInfo`
//! (with Mesos's rules on roles and capabilities).

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use crate::ids::{AgentId, FrameworkId};
use crate::mesos;
use crate::resources::UNRESERVED;
use crate::v1::json;

use super::common::{Address, FRAMEWORK_CAPABILITIES, MULTI_ROLE};
use super::error::{convert_list, required, FieldError, Within};
use super::values::{resources_from_v1, resources_to_v1, Attribute, Resource, ResourceFormat};

/// `MasterInfo.ip`: the IPv4 address in network byte order read as a
/// native integer on the little-endian hosts Mesos runs on (MESOS-1201), so
/// 10.0.0.1 is 16777226. Anything but an IPv4 address gives 0.
pub fn ip_to_u32(ip: &str) -> u32 {
    ip.parse::<Ipv4Addr>()
        .map(|a| u32::from_le_bytes(a.octets()))
        .unwrap_or(0)
}

/// The IPv4 address of a `MasterInfo.ip`.
pub fn ip_from_u32(ip: u32) -> Ipv4Addr {
    Ipv4Addr::from(ip.to_le_bytes())
}

/// A capability entry (`{"type": "MULTI_ROLE"}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capability {
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// `MasterInfo`. `port` defaults to 5050 and is always written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MasterInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "json::opt_number"
    )]
    pub ip: Option<u32>,
    #[serde(default = "master_port", deserialize_with = "json::number")]
    pub port: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
}

fn master_port() -> u32 {
    5050
}

impl MasterInfo {
    pub fn from_internal(m: &mesos::MasterInfo) -> MasterInfo {
        MasterInfo {
            id: Some(m.id.clone()),
            ip: Some(ip_to_u32(&m.ip)),
            port: u32::from(m.port),
            pid: Some(m.pid.clone()),
            hostname: Some(m.hostname.clone()),
            version: Some(m.version.clone()),
            address: Some(Address {
                hostname: Some(m.hostname.clone()),
                ip: Some(m.ip.clone()),
                port: Some(i32::from(m.port)),
            }),
        }
    }

    /// The internal form; `address` is preferred over the `ip` quirk, as
    /// Mesos advises clients.
    pub fn into_internal(self) -> Result<mesos::MasterInfo, FieldError> {
        let id = required(self.id, "id")?;
        let address = self.address.unwrap_or(Address {
            hostname: None,
            ip: None,
            port: None,
        });
        let ip = match (address.ip, self.ip) {
            (Some(ip), _) => ip,
            (None, Some(n)) => ip_from_u32(n).to_string(),
            (None, None) => return Err(FieldError::missing("ip")),
        };
        let port = address.port.map_or(Ok(self.port), u32::try_from);
        let port = port
            .ok()
            .and_then(|p| u16::try_from(p).ok())
            .ok_or_else(|| FieldError::invalid("port", "not a TCP port"))?;
        let hostname = self
            .hostname
            .or(address.hostname)
            .unwrap_or_else(|| ip.clone());
        Ok(mesos::MasterInfo {
            pid: self.pid.unwrap_or_else(|| format!("master@{ip}:{port}")),
            id,
            ip,
            port,
            hostname,
            version: self.version.unwrap_or_default(),
        })
    }
}

/// `AgentInfo`. `port` defaults to 5051 and is always written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(default = "agent_port", deserialize_with = "json::number")]
    pub port: i32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<Resource>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<Attribute>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<AgentId>,
}

fn agent_port() -> i32 {
    5051
}

impl AgentInfo {
    /// The agent's resources are written in the legacy format (`role` on
    /// each, no allocation): they belong to no framework.
    pub fn from_internal(a: &mesos::AgentInfo) -> AgentInfo {
        AgentInfo {
            hostname: Some(a.hostname.clone()),
            port: i32::from(a.port),
            resources: resources_to_v1(&a.resources, &ResourceFormat::LEGACY),
            attributes: a.attributes.iter().map(Attribute::from_internal).collect(),
            id: a.id.clone(),
        }
    }

    pub fn into_internal(self) -> Result<mesos::AgentInfo, FieldError> {
        Ok(mesos::AgentInfo {
            hostname: required(self.hostname, "hostname")?,
            port: u16::try_from(self.port)
                .map_err(|_| FieldError::invalid("port", "not a TCP port"))?,
            resources: resources_from_v1(self.resources).within("resources")?,
            attributes: convert_list(self.attributes, "attributes", Attribute::into_internal)?,
            id: self.id,
        })
    }
}

/// `FrameworkInfo`. `failover_timeout` (0) and `checkpoint` (false) have
/// defaults and are always written; `role` is deprecated and written only
/// when set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameworkInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<FrameworkId>,
    #[serde(default, deserialize_with = "json::number")]
    pub failover_timeout: f64,
    #[serde(default)]
    pub checkpoint: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webui_url: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capabilities: Vec<Capability>,
}

impl FrameworkInfo {
    /// A MULTI_ROLE framework is written with `roles`, any other with the
    /// single `role` it has.
    pub fn from_internal(f: &mesos::FrameworkInfo) -> FrameworkInfo {
        let multi_role = f.has_capability(MULTI_ROLE);
        FrameworkInfo {
            user: Some(f.user.clone()),
            name: Some(f.name.clone()),
            id: f.id.clone(),
            failover_timeout: f.failover_timeout,
            checkpoint: f.checkpoint,
            role: (!multi_role).then(|| f.role().to_owned()),
            roles: if multi_role {
                f.roles.clone()
            } else {
                Vec::new()
            },
            hostname: f.hostname.clone(),
            principal: f.principal.clone(),
            webui_url: f.webui_url.clone(),
            capabilities: f
                .capabilities
                .iter()
                .map(|c| Capability {
                    kind: Some(c.clone()),
                })
                .collect(),
        }
    }

    /// Checks `user` and `name`, the failover timeout, and Mesos's rule on
    /// roles: `roles` with MULTI_ROLE, otherwise `role` (default `*`).
    pub fn into_internal(self) -> Result<mesos::FrameworkInfo, FieldError> {
        let user = required(self.user, "user")?;
        let name = required(self.name, "name")?;
        if !self.failover_timeout.is_finite() || self.failover_timeout < 0.0 {
            return Err(FieldError::invalid(
                "failover_timeout",
                "must be a non-negative number of seconds",
            ));
        }
        let mut capabilities: Vec<String> = Vec::new();
        for name in self.capabilities.into_iter().filter_map(|c| c.kind) {
            if FRAMEWORK_CAPABILITIES.contains(&name.as_str()) && !capabilities.contains(&name) {
                capabilities.push(name);
            }
        }
        let multi_role = capabilities.iter().any(|c| c == MULTI_ROLE);
        let roles = if multi_role {
            if self.role.is_some() {
                return Err(FieldError::invalid(
                    "role",
                    "must not be set when the framework is MULTI_ROLE capable (use 'roles')",
                ));
            }
            self.roles
        } else {
            if !self.roles.is_empty() {
                return Err(FieldError::invalid(
                    "roles",
                    "must not be set when the framework is not MULTI_ROLE capable",
                ));
            }
            vec![self.role.unwrap_or_else(|| UNRESERVED.to_owned())]
        };
        Ok(mesos::FrameworkInfo {
            user,
            name,
            id: self.id,
            failover_timeout: self.failover_timeout,
            checkpoint: self.checkpoint,
            roles,
            hostname: self.hostname,
            principal: self.principal,
            webui_url: self.webui_url,
            capabilities,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::v1::types::testing::res;

    #[test]
    fn master_ip_is_network_order_read_little_endian() {
        assert_eq!(ip_to_u32("10.0.0.1"), 16777226);
        assert_eq!(ip_from_u32(16777226), Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!(ip_to_u32("127.0.0.1"), 16777343);
        assert_eq!(ip_to_u32("m1.example"), 0);
    }

    #[test]
    fn master_info_renders_as_mesos_and_reads_back() {
        let m = mesos::MasterInfo {
            id: "mid".into(),
            ip: "10.0.0.5".into(),
            port: 5050,
            pid: "master@10.0.0.5:5050".into(),
            hostname: "m1".into(),
            version: "1.11.0".into(),
        };
        let v1 = MasterInfo::from_internal(&m);
        assert_eq!(
            serde_json::to_value(&v1).unwrap(),
            json!({"id": "mid", "ip": 83886090u32, "port": 5050, "pid": "master@10.0.0.5:5050",
                   "hostname": "m1", "version": "1.11.0",
                   "address": {"hostname": "m1", "ip": "10.0.0.5", "port": 5050}})
        );
        assert_eq!(v1.into_internal().unwrap(), m);
        // Only the quirky ip: still readable; the pid is made up.
        let bare: MasterInfo = serde_json::from_value(json!({"id": "x", "ip": 16777343})).unwrap();
        let bare = bare.into_internal().unwrap();
        assert_eq!((bare.ip.as_str(), bare.port), ("127.0.0.1", 5050));
        assert_eq!(bare.pid, "master@127.0.0.1:5050");
    }

    #[test]
    fn framework_info_writes_defaults_and_checks_roles() {
        let f = mesos::FrameworkInfo::new("root", "f");
        assert_eq!(
            serde_json::to_value(FrameworkInfo::from_internal(&f)).unwrap(),
            json!({"user": "root", "name": "f", "failover_timeout": 0.0, "checkpoint": false,
                   "role": "*"})
        );
        let read = |v: serde_json::Value| {
            serde_json::from_value::<FrameworkInfo>(v)
                .unwrap()
                .into_internal()
        };
        let plain = read(json!({"user": "u", "name": "n"})).unwrap();
        assert_eq!(plain.roles, vec!["*"]);
        let multi = read(json!({"user": "u", "name": "n", "roles": ["a", "b"],
            "capabilities": [{"type": "MULTI_ROLE"}, {"type": "NOT_A_CAPABILITY"}, {}]}))
        .unwrap();
        assert_eq!(multi.roles, vec!["a", "b"]);
        assert_eq!(multi.capabilities, vec!["MULTI_ROLE"]);
        let back = FrameworkInfo::from_internal(&multi);
        assert_eq!(back.roles, vec!["a", "b"]);
        assert_eq!(back.role, None);
        assert_eq!(back.into_internal().unwrap(), multi);
        assert!(read(json!({"user": "u", "name": "n", "roles": ["a"]})).is_err());
        assert!(read(json!({"user": "u", "name": "n", "role": "a",
            "capabilities": [{"type": "MULTI_ROLE"}]}))
        .is_err());
        assert_eq!(
            read(json!({"name": "n"})).unwrap_err().to_string(),
            "missing required field 'user'"
        );
        assert!(read(json!({"user": "u", "name": "n", "failover_timeout": -1})).is_err());
    }

    #[test]
    fn agent_info_round_trips() {
        let a = mesos::AgentInfo {
            hostname: "a1".into(),
            port: 5051,
            resources: res("cpus:2;ports:[31000-32000]"),
            attributes: mesos::parse_attributes("rack:r1").unwrap(),
            id: Some(AgentId::new("m-S0")),
        };
        let v1 = AgentInfo::from_internal(&a);
        let value = serde_json::to_value(&v1).unwrap();
        assert_eq!(value["port"], json!(5051));
        assert_eq!(value["resources"][0]["role"], json!("*"));
        assert_eq!(v1.into_internal().unwrap(), a);
    }
}
