//! The messages of `mesos/v1/mesos.proto` that the v1 scheduler and
//! executor APIs carry, in Mesos's JSON form, with conversions to and from
//! the internal types of [`crate::mesos`] and [`crate::resources`].
//!
//! Each struct mirrors its protobuf message field for field (names and
//! declaration order as in the `.proto`; fields the internal types cannot
//! hold are left out and ignored on input like any unknown field). Singular
//! fields without a default are `Option`s even when the `.proto` marks them
//! `required`: presence is checked by the conversion, which names the path
//! of what is missing (small leaf messages, the ids, `Value.Scalar`,
//! `Value.Range`, `Value.Text` and `DurationInfo`, keep their one required
//! field plain, and serde reports it missing with its line and column).
//! Fields with an explicit default are plain values and
//! are always written, as Mesos's `jsonify` does (see the module docs of
//! [`crate::v1`]). Empty repeated fields are not written.
//!
//! `from_internal` builds the JSON form of an internal value (it cannot
//! fail); `into_internal` checks and converts JSON input, failing with a
//! [`FieldError`].

use std::collections::BTreeSet;
use std::fmt;
use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

pub use crate::ids::{AgentId, ContainerId, ExecutorId, FrameworkId, OfferId, TaskId};
use crate::mesos;
use crate::resources::{self, Milli, Resources, UNRESERVED};
use crate::task::{Reason, Source, TaskState};

use super::json::{self, Bytes};

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

const MULTI_ROLE: &str = "MULTI_ROLE";
const RESERVATION_REFINEMENT: &str = "RESERVATION_REFINEMENT";

// ---------------------------------------------------------------------------
// Errors

/// One step of the path to a field: a field name or a list index.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Field(String),
    Index(usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Problem {
    Missing,
    Invalid(String),
}

/// A field of v1 input that is missing or holds a value the internal types
/// cannot take, with its path from the outermost converted message
/// (`subscribe.framework_info.user`, `launch.task_infos[0].resources[1]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    path: Vec<Segment>,
    problem: Problem,
}

impl FieldError {
    /// The required field `field` is absent.
    pub fn missing(field: &str) -> FieldError {
        FieldError {
            path: vec![Segment::Field(field.to_owned())],
            problem: Problem::Missing,
        }
    }

    /// `field` holds a value that is not acceptable, for `reason`.
    pub fn invalid(field: &str, reason: impl Into<String>) -> FieldError {
        FieldError {
            path: vec![Segment::Field(field.to_owned())],
            problem: Problem::Invalid(reason.into()),
        }
    }

    /// The message being converted is not acceptable as a whole.
    pub fn invalid_here(reason: impl Into<String>) -> FieldError {
        FieldError {
            path: Vec::new(),
            problem: Problem::Invalid(reason.into()),
        }
    }

    /// The same error seen from the message that holds this one in `field`.
    pub fn at(mut self, field: &str) -> FieldError {
        self.path.insert(0, Segment::Field(field.to_owned()));
        self
    }

    /// The same error seen from the list that holds this one at `index`.
    pub fn at_index(mut self, index: usize) -> FieldError {
        self.path.insert(0, Segment::Index(index));
        self
    }

    /// Whether a required field is missing (rather than holding a bad value).
    pub fn is_missing(&self) -> bool {
        self.problem == Problem::Missing
    }

    /// The dotted path of the field, `a.b[2].c`.
    pub fn path(&self) -> String {
        let mut out = String::new();
        for segment in &self.path {
            match segment {
                Segment::Field(name) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(name);
                }
                Segment::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        out
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = json::one_line(&self.path());
        match &self.problem {
            Problem::Missing => write!(f, "missing required field '{path}'"),
            Problem::Invalid(reason) if path.is_empty() => f.write_str(&json::one_line(reason)),
            Problem::Invalid(reason) => {
                write!(f, "invalid field '{path}': {}", json::one_line(reason))
            }
        }
    }
}

impl std::error::Error for FieldError {}

/// Adds the holding field to an error on the way out.
pub trait Within<T> {
    fn within(self, field: &str) -> Result<T, FieldError>;
}

impl<T> Within<T> for Result<T, FieldError> {
    fn within(self, field: &str) -> Result<T, FieldError> {
        self.map_err(|e| e.at(field))
    }
}

/// The value of the required field `field`.
pub fn required<T>(value: Option<T>, field: &str) -> Result<T, FieldError> {
    value.ok_or_else(|| FieldError::missing(field))
}

/// Converts each element of the repeated field `field`.
pub fn convert_list<A, B>(
    items: Vec<A>,
    field: &str,
    convert: impl Fn(A) -> Result<B, FieldError>,
) -> Result<Vec<B>, FieldError> {
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| convert(item).map_err(|e| e.at_index(i).at(field)))
        .collect()
}

/// A duration in seconds as a `DurationInfo`'s nanoseconds.
fn nanos(seconds: f64) -> i64 {
    // `as` saturates; the internal durations are finite and non-negative.
    (seconds * 1e9).round() as i64
}

/// Seconds from a duration field, which must not be negative.
fn seconds(d: &DurationInfo, field: &str) -> Result<f64, FieldError> {
    if d.nanoseconds < 0 {
        return Err(FieldError::invalid(field, "must not be negative"));
    }
    Ok(d.nanoseconds as f64 / 1e9)
}

fn yes() -> bool {
    true
}

// ---------------------------------------------------------------------------
// Ids and small shared messages

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

// ---------------------------------------------------------------------------
// Values, resources and attributes

/// `Value.Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ValueType {
    #[serde(rename = "SCALAR")]
    Scalar,
    #[serde(rename = "RANGES")]
    Ranges,
    #[serde(rename = "SET")]
    Set,
    #[serde(rename = "TEXT")]
    Text,
}

/// `Value.Scalar`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Scalar {
    #[serde(deserialize_with = "json::number")]
    pub value: f64,
}

/// `Value.Range`: inclusive bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Range {
    #[serde(deserialize_with = "json::number")]
    pub begin: u64,
    #[serde(deserialize_with = "json::number")]
    pub end: u64,
}

/// `Value.Ranges`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Ranges {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub range: Vec<Range>,
}

impl Ranges {
    fn from_pairs(pairs: &[(u64, u64)]) -> Ranges {
        Ranges {
            range: pairs
                .iter()
                .map(|&(begin, end)| Range { begin, end })
                .collect(),
        }
    }

    fn into_pairs(self, field: &str) -> Result<Vec<(u64, u64)>, FieldError> {
        let mut out = Vec::with_capacity(self.range.len());
        for r in self.range {
            if r.begin > r.end {
                return Err(FieldError::invalid(
                    field,
                    format!("range [{}-{}] begins after it ends", r.begin, r.end),
                ));
            }
            out.push((r.begin, r.end));
        }
        Ok(out)
    }
}

/// `Value.Set`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Set {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub item: Vec<String>,
}

/// `Value.Text`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Text {
    pub value: String,
}

/// `Resource.AllocationInfo`: the role a resource is allocated to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllocationInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

impl AllocationInfo {
    pub fn role(role: &str) -> AllocationInfo {
        AllocationInfo {
            role: Some(role.to_owned()),
        }
    }
}

/// `Resource.ReservationInfo.Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReservationType {
    #[serde(rename = "STATIC")]
    Static,
    #[serde(rename = "DYNAMIC")]
    Dynamic,
}

/// `Resource.ReservationInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReservationInfo {
    #[serde(
        rename = "type",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "json::lenient_enum"
    )]
    pub kind: Option<ReservationType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
}

/// How resources are written for one reader. Mesos adapts what it sends to
/// a framework's capabilities: only MULTI_ROLE frameworks see
/// `allocation_info`, and frameworks without RESERVATION_REFINEMENT get the
/// older format, where every resource names its `role` (`*` when
/// unreserved) instead of listing `reservations`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceFormat {
    /// Written as `allocation_info.role` on every resource when set.
    pub allocation_role: Option<String>,
    /// The pre-reservation-refinement format.
    pub pre_refinement: bool,
}

impl ResourceFormat {
    /// No allocation info, `role` on every resource: what readers that
    /// declare no capabilities expect (and what the agent's own resources
    /// look like to an executor).
    pub const LEGACY: ResourceFormat = ResourceFormat {
        allocation_role: None,
        pre_refinement: true,
    };

    /// The format for `framework`, for resources allocated to `role`.
    pub fn for_framework(framework: &mesos::FrameworkInfo, role: &str) -> ResourceFormat {
        ResourceFormat {
            allocation_role: framework
                .has_capability(MULTI_ROLE)
                .then(|| role.to_owned()),
            pre_refinement: !framework.has_capability(RESERVATION_REFINEMENT),
        }
    }

    /// `allocation_info` for an offer or resource in this format.
    fn allocation_info(&self) -> Option<AllocationInfo> {
        self.allocation_role.as_deref().map(AllocationInfo::role)
    }
}

/// `Resource`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ValueType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scalar: Option<Scalar>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ranges: Option<Ranges>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set: Option<Set>,
    /// Deprecated (pre-refinement format): `*` or the reserved role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocation_info: Option<AllocationInfo>,
    /// Reservations, innermost last (post-refinement format).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reservations: Vec<ReservationInfo>,
}

impl Resource {
    pub fn from_internal(r: &resources::Resource, format: &ResourceFormat) -> Resource {
        let (kind, scalar, ranges, set) = match &r.value {
            resources::Value::Scalar(m) => (
                ValueType::Scalar,
                Some(Scalar { value: m.as_f64() }),
                None,
                None,
            ),
            resources::Value::Ranges(pairs) => (
                ValueType::Ranges,
                None,
                Some(Ranges::from_pairs(pairs)),
                None,
            ),
            resources::Value::Set(items) => (
                ValueType::Set,
                None,
                None,
                Some(Set {
                    item: items.iter().cloned().collect(),
                }),
            ),
        };
        let (role, reservations) = if format.pre_refinement {
            (Some(r.role.clone()), Vec::new())
        } else if r.role == UNRESERVED {
            (None, Vec::new())
        } else {
            // Reservations here come from the agent's --resources: static.
            let reservation = ReservationInfo {
                kind: Some(ReservationType::Static),
                role: Some(r.role.clone()),
                principal: None,
            };
            (None, vec![reservation])
        };
        Resource {
            name: Some(r.name.clone()),
            kind: Some(kind),
            scalar,
            ranges,
            set,
            role,
            allocation_info: format.allocation_info(),
            reservations,
        }
    }

    /// The internal resource. The role is the innermost reservation's, else
    /// the deprecated `role`, else `*`; `allocation_info` is not kept (the
    /// master knows which role an offer was made to).
    pub fn into_internal(self) -> Result<resources::Resource, FieldError> {
        let name = required(self.name, "name")?;
        if name.is_empty() {
            return Err(FieldError::invalid("name", "must not be empty"));
        }
        let kind = required(self.kind, "type")?;
        let value = match kind {
            ValueType::Scalar => {
                let v = required(self.scalar, "scalar")?.value;
                if !v.is_finite() || v < 0.0 {
                    return Err(FieldError::invalid(
                        "scalar",
                        "must be a non-negative number",
                    ));
                }
                resources::Value::Scalar(Milli::from_f64(v))
            }
            ValueType::Ranges => {
                let pairs = required(self.ranges, "ranges")?.into_pairs("ranges")?;
                resources::Resource::ranges(&name, &pairs).value
            }
            ValueType::Set => resources::Value::Set(
                required(self.set, "set")?
                    .item
                    .into_iter()
                    .collect::<BTreeSet<_>>(),
            ),
            ValueType::Text => {
                return Err(FieldError::invalid(
                    "type",
                    "TEXT is not a type a resource can have",
                ))
            }
        };
        let role = self
            .reservations
            .into_iter()
            .next_back()
            .and_then(|r| r.role)
            .or(self.role)
            .unwrap_or_else(|| UNRESERVED.to_owned());
        Ok(resources::Resource { name, role, value })
    }
}

/// The resources of `resources` in `format`.
pub fn resources_to_v1(resources: &Resources, format: &ResourceFormat) -> Vec<Resource> {
    resources
        .iter()
        .map(|r| Resource::from_internal(r, format))
        .collect()
}

/// Merges a list of v1 resources into internal [`Resources`]. Errors name
/// the index of the offending resource; callers add the field name.
pub fn resources_from_v1(list: Vec<Resource>) -> Result<Resources, FieldError> {
    let mut out = Resources::new();
    for (i, r) in list.into_iter().enumerate() {
        let r = r.into_internal().map_err(|e| e.at_index(i))?;
        out.add(r)
            .map_err(|e| FieldError::invalid_here(e.to_string()).at_index(i))?;
    }
    Ok(out)
}

/// `Attribute`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attribute {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ValueType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scalar: Option<Scalar>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ranges: Option<Ranges>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set: Option<Set>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<Text>,
}

impl Attribute {
    pub fn from_internal(a: &mesos::Attribute) -> Attribute {
        let mut out = Attribute {
            name: Some(a.name.clone()),
            kind: None,
            scalar: None,
            ranges: None,
            set: None,
            text: None,
        };
        match &a.value {
            mesos::AttributeValue::Scalar(v) => {
                out.kind = Some(ValueType::Scalar);
                out.scalar = Some(Scalar { value: *v });
            }
            mesos::AttributeValue::Ranges(pairs) => {
                out.kind = Some(ValueType::Ranges);
                out.ranges = Some(Ranges::from_pairs(pairs));
            }
            mesos::AttributeValue::Set(items) => {
                out.kind = Some(ValueType::Set);
                out.set = Some(Set {
                    item: items.clone(),
                });
            }
            mesos::AttributeValue::Text(t) => {
                out.kind = Some(ValueType::Text);
                out.text = Some(Text { value: t.clone() });
            }
        }
        out
    }

    pub fn into_internal(self) -> Result<mesos::Attribute, FieldError> {
        let name = required(self.name, "name")?;
        let value = match required(self.kind, "type")? {
            ValueType::Scalar => {
                mesos::AttributeValue::Scalar(required(self.scalar, "scalar")?.value)
            }
            ValueType::Ranges => mesos::AttributeValue::Ranges(
                required(self.ranges, "ranges")?.into_pairs("ranges")?,
            ),
            ValueType::Set => mesos::AttributeValue::Set(required(self.set, "set")?.item),
            ValueType::Text => mesos::AttributeValue::Text(required(self.text, "text")?.value),
        };
        Ok(mesos::Attribute { name, value })
    }
}

// ---------------------------------------------------------------------------
// Masters, agents, frameworks

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

// ---------------------------------------------------------------------------
// Commands, executors, tasks

/// `CommandInfo.URI`. `extract` defaults to true and is always written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandUri {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executable: Option<bool>,
    #[serde(default = "yes")]
    pub extract: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<bool>,
}

/// `Environment.Variable.Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum VariableType {
    #[default]
    #[serde(rename = "VALUE")]
    Value,
    #[serde(rename = "SECRET")]
    Secret,
}

/// `Environment.Variable`. `type` defaults to VALUE and is always written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Variable {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(rename = "type", default)]
    pub kind: VariableType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// `Environment`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Environment {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variables: Vec<Variable>,
}

/// `CommandInfo`. `shell` defaults to true and is always written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandInfo {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uris: Vec<CommandUri>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<Environment>,
    #[serde(default = "yes")]
    pub shell: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub arguments: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

impl CommandInfo {
    /// `executable` is written only when true: the internal type cannot
    /// tell an explicit false from unset.
    pub fn from_internal(c: &mesos::CommandInfo) -> CommandInfo {
        CommandInfo {
            uris: c
                .uris
                .iter()
                .map(|u| CommandUri {
                    value: Some(u.value.clone()),
                    executable: u.executable.then_some(true),
                    extract: u.extract,
                    output_file: u.output_file.clone(),
                    cache: u.cache.then_some(true),
                })
                .collect(),
            environment: (!c.environment.is_empty()).then(|| Environment {
                variables: c
                    .environment
                    .iter()
                    .map(|(name, value)| Variable {
                        name: Some(name.clone()),
                        kind: VariableType::Value,
                        value: Some(value.clone()),
                    })
                    .collect(),
            }),
            shell: c.shell,
            value: c.value.clone(),
            arguments: c.arguments.clone(),
            user: c.user.clone(),
        }
    }

    pub fn into_internal(self) -> Result<mesos::CommandInfo, FieldError> {
        let uris = convert_list(self.uris, "uris", |u| {
            Ok(mesos::CommandUri {
                value: required(u.value, "value")?,
                executable: u.executable.unwrap_or(false),
                extract: u.extract,
                output_file: u.output_file,
                cache: u.cache.unwrap_or(false),
            })
        })?;
        let variables = self.environment.unwrap_or_default().variables;
        let environment = convert_list(variables, "variables", |v| {
            let name = required(v.name, "name")?;
            if v.kind == VariableType::Secret {
                return Err(FieldError::invalid(
                    "type",
                    "SECRET environment variables are not supported",
                ));
            }
            Ok((name, required(v.value, "value")?))
        })
        .within("environment")?;
        Ok(mesos::CommandInfo {
            value: self.value,
            shell: self.shell,
            arguments: self.arguments,
            environment,
            uris,
            user: self.user,
        })
    }

    /// Whether `c` says nothing at all (the internal form of an executor
    /// without a command, such as Mesos's default executor).
    fn is_blank(c: &mesos::CommandInfo) -> bool {
        c.value.is_none()
            && c.arguments.is_empty()
            && c.environment.is_empty()
            && c.uris.is_empty()
            && c.user.is_none()
    }

    fn blank() -> mesos::CommandInfo {
        mesos::CommandInfo {
            value: None,
            shell: true,
            arguments: Vec::new(),
            environment: Vec::new(),
            uris: Vec::new(),
            user: None,
        }
    }
}

/// `ExecutorInfo.Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExecutorType {
    #[serde(rename = "DEFAULT")]
    Default,
    #[serde(rename = "CUSTOM")]
    Custom,
}

/// `ExecutorInfo`. The internal type keeps no `type`: it is read and
/// dropped, and not written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutorInfo {
    #[serde(
        rename = "type",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "json::lenient_enum"
    )]
    pub kind: Option<ExecutorType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor_id: Option<ExecutorId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub framework_id: Option<FrameworkId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<CommandInfo>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<Resource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shutdown_grace_period: Option<DurationInfo>,
}

impl ExecutorInfo {
    pub fn from_internal(e: &mesos::ExecutorInfo, format: &ResourceFormat) -> ExecutorInfo {
        ExecutorInfo {
            kind: None,
            executor_id: Some(e.executor_id.clone()),
            framework_id: e.framework_id.clone(),
            command: (!CommandInfo::is_blank(&e.command))
                .then(|| CommandInfo::from_internal(&e.command)),
            resources: resources_to_v1(&e.resources, format),
            name: e.name.clone(),
            shutdown_grace_period: e.shutdown_grace_period.map(DurationInfo::from_seconds),
        }
    }

    /// An executor without a command (Mesos's default executor) gets a
    /// blank internal command: no value, no arguments.
    pub fn into_internal(self) -> Result<mesos::ExecutorInfo, FieldError> {
        Ok(mesos::ExecutorInfo {
            executor_id: required(self.executor_id, "executor_id")?,
            framework_id: self.framework_id,
            command: match self.command {
                Some(c) => c.into_internal().within("command")?,
                None => CommandInfo::blank(),
            },
            resources: resources_from_v1(self.resources).within("resources")?,
            name: self.name,
            shutdown_grace_period: self
                .shutdown_grace_period
                .map(|d| seconds(&d, "shutdown_grace_period"))
                .transpose()?,
        })
    }
}

/// `TaskInfo`. Holds `executor` or `command` (the master checks that
/// exactly one is set, as Mesos does when it validates a launch).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<TaskId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<AgentId>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<Resource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor: Option<ExecutorInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<CommandInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kill_policy: Option<KillPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Bytes>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Labels>,
    /// `DiscoveryInfo`, carried as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovery: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheckJson>,
}

/// `HealthCheck`, with Mesos's defaults for what it leaves out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthCheckJson {
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<CommandInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpCheckJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<TcpCheckJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_seconds: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval_seconds: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consecutive_failures: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_period_seconds: Option<f64>,
}

/// `HealthCheck.HTTPCheckInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpCheckJson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub statuses: Vec<u16>,
}

/// `HealthCheck.TCPCheckInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TcpCheckJson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
}

impl HealthCheckJson {
    pub fn from_internal(h: &mesos::HealthCheck) -> HealthCheckJson {
        let (kind, command, http, tcp) = match &h.check {
            mesos::Check::Command(c) => {
                ("COMMAND", Some(CommandInfo::from_internal(c)), None, None)
            }
            mesos::Check::Http {
                scheme,
                port,
                path,
                statuses,
            } => (
                "HTTP",
                None,
                Some(HttpCheckJson {
                    scheme: Some(scheme.clone()),
                    port: Some(*port),
                    path: Some(path.clone()),
                    statuses: statuses.clone(),
                }),
                None,
            ),
            mesos::Check::Tcp { port } => {
                ("TCP", None, None, Some(TcpCheckJson { port: Some(*port) }))
            }
        };
        HealthCheckJson {
            kind: Some(kind.to_owned()),
            command,
            http,
            tcp,
            delay_seconds: Some(h.delay_seconds),
            interval_seconds: Some(h.interval_seconds),
            timeout_seconds: Some(h.timeout_seconds),
            consecutive_failures: Some(h.consecutive_failures),
            grace_period_seconds: Some(h.grace_period_seconds),
        }
    }

    /// Checks it as Mesos does: the type (or, when left out, what is set)
    /// names the check, which must be described; times are not negative.
    pub fn into_internal(self) -> Result<mesos::HealthCheck, FieldError> {
        let kind = match self.kind.as_deref() {
            Some(k) => k.to_owned(),
            None if self.command.is_some() => "COMMAND".into(),
            None if self.http.is_some() => "HTTP".into(),
            None if self.tcp.is_some() => "TCP".into(),
            None => return Err(FieldError::invalid("type", "the check type is missing")),
        };
        let check = match kind.as_str() {
            "COMMAND" => mesos::Check::Command(
                required(self.command, "command")?
                    .into_internal()
                    .within("command")?,
            ),
            "HTTP" => {
                let http = required(self.http, "http")?;
                mesos::Check::Http {
                    scheme: http.scheme.unwrap_or_else(|| "http".into()),
                    port: required(http.port, "port").within("http")?,
                    path: http.path.unwrap_or_else(|| "/".into()),
                    statuses: http.statuses,
                }
            }
            "TCP" => mesos::Check::Tcp {
                port: required(required(self.tcp, "tcp")?.port, "port").within("tcp")?,
            },
            other => {
                return Err(FieldError::invalid(
                    "type",
                    format!("unsupported check type '{other}'"),
                ))
            }
        };
        let seconds = |v: Option<f64>, default: f64, name: &str| match v {
            None => Ok(default),
            Some(s) if s.is_finite() && s >= 0.0 => Ok(s),
            Some(_) => Err(FieldError::invalid(name, "must be a non-negative number")),
        };
        Ok(mesos::HealthCheck {
            check,
            delay_seconds: seconds(self.delay_seconds, 15.0, "delay_seconds")?,
            interval_seconds: seconds(self.interval_seconds, 10.0, "interval_seconds")?,
            timeout_seconds: seconds(self.timeout_seconds, 20.0, "timeout_seconds")?,
            consecutive_failures: self.consecutive_failures.unwrap_or(3),
            grace_period_seconds: seconds(self.grace_period_seconds, 10.0, "grace_period_seconds")?,
        })
    }
}

/// `Labels`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Labels {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<LabelJson>,
}

/// `Label`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelJson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

impl Labels {
    pub fn from_internal(labels: &[mesos::Label]) -> Option<Labels> {
        (!labels.is_empty()).then(|| Labels {
            labels: labels
                .iter()
                .map(|l| LabelJson {
                    key: Some(l.key.clone()),
                    value: l.value.clone(),
                })
                .collect(),
        })
    }

    pub fn into_internal(self) -> Result<Vec<mesos::Label>, FieldError> {
        convert_list(self.labels, "labels", |l| {
            Ok(mesos::Label {
                key: required(l.key, "key")?,
                value: l.value,
            })
        })
    }
}

impl TaskInfo {
    pub fn from_internal(t: &mesos::TaskInfo, format: &ResourceFormat) -> TaskInfo {
        TaskInfo {
            name: Some(t.name.clone()),
            task_id: Some(t.task_id.clone()),
            agent_id: Some(t.agent_id.clone()),
            resources: resources_to_v1(&t.resources, format),
            executor: t
                .executor
                .as_ref()
                .map(|e| ExecutorInfo::from_internal(e, format)),
            command: t.command.as_ref().map(CommandInfo::from_internal),
            kill_policy: t.kill_grace_period.map(KillPolicy::grace),
            data: t.data.clone().map(Bytes),
            labels: Labels::from_internal(&t.meta.labels),
            discovery: t
                .meta
                .discovery
                .as_deref()
                .and_then(|d| serde_json::from_str(d).ok()),
            health_check: t
                .meta
                .health_check
                .as_ref()
                .map(HealthCheckJson::from_internal),
        }
    }

    pub fn into_internal(self) -> Result<mesos::TaskInfo, FieldError> {
        Ok(mesos::TaskInfo {
            name: required(self.name, "name")?,
            task_id: required(self.task_id, "task_id")?,
            agent_id: required(self.agent_id, "agent_id")?,
            resources: resources_from_v1(self.resources).within("resources")?,
            command: self
                .command
                .map(CommandInfo::into_internal)
                .transpose()
                .within("command")?,
            executor: self
                .executor
                .map(ExecutorInfo::into_internal)
                .transpose()
                .within("executor")?,
            data: self.data.map(|b| b.0),
            kill_grace_period: match self.kill_policy {
                Some(p) => p.into_internal().within("kill_policy")?,
                None => None,
            },
            meta: mesos::TaskMeta {
                labels: self
                    .labels
                    .map(Labels::into_internal)
                    .transpose()
                    .within("labels")?
                    .unwrap_or_default(),
                discovery: match self.discovery {
                    None => None,
                    Some(d) if d.is_object() => Some(d.to_string()),
                    Some(_) => return Err(FieldError::invalid("discovery", "expected an object")),
                },
                health_check: self
                    .health_check
                    .map(HealthCheckJson::into_internal)
                    .transpose()
                    .within("health_check")?,
            },
        })
    }
}

/// `TaskGroupInfo`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TaskGroupInfo {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tasks: Vec<TaskInfo>,
}

/// `TaskStatus`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<TaskId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<TaskState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "json::lenient_enum"
    )]
    pub source: Option<Source>,
    /// Reasons this implementation does not know are dropped on input.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "json::lenient_enum"
    )]
    pub reason: Option<Reason>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Bytes>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<AgentId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor_id: Option<ExecutorId>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "json::opt_number"
    )]
    pub timestamp: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<Bytes>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthy: Option<bool>,
}

impl TaskStatus {
    pub fn from_internal(s: &mesos::TaskStatus) -> TaskStatus {
        TaskStatus {
            task_id: Some(s.task_id.clone()),
            state: Some(s.state),
            message: s.message.clone(),
            source: s.source,
            reason: s.reason,
            data: s.data.clone().map(Bytes),
            agent_id: s.agent_id.clone(),
            executor_id: s.executor_id.clone(),
            timestamp: Some(s.timestamp),
            uuid: s.uuid.clone().map(Bytes),
            healthy: s.healthy,
        }
    }

    /// A status without a timestamp is stamped now, as the internal
    /// constructor does.
    pub fn into_internal(self) -> Result<mesos::TaskStatus, FieldError> {
        Ok(mesos::TaskStatus {
            task_id: required(self.task_id, "task_id")?,
            state: required(self.state, "state")?,
            message: self.message,
            source: self.source,
            reason: self.reason,
            data: self.data.map(|b| b.0),
            agent_id: self.agent_id,
            executor_id: self.executor_id,
            timestamp: self.timestamp.unwrap_or_else(mesos::now_secs),
            uuid: self.uuid.map(|b| b.0),
            healthy: self.healthy,
        })
    }
}

// ---------------------------------------------------------------------------
// Offers and their operations

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
}

/// `Request` (the payload of the scheduler's REQUEST call).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<AgentId>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<Resource>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn res(text: &str) -> Resources {
        Resources::parse(text, "*").unwrap()
    }

    fn framework(caps: &[&str]) -> mesos::FrameworkInfo {
        let mut f = mesos::FrameworkInfo::new("root", "f");
        f.capabilities = caps.iter().map(|c| c.to_string()).collect();
        f
    }

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
    fn resources_follow_the_readers_format() {
        let r = res("cpus:4;mem(web):512;ports:[31000-32000];zones:{a,b}");
        let legacy = serde_json::to_value(resources_to_v1(&r, &ResourceFormat::LEGACY)).unwrap();
        assert_eq!(
            legacy,
            json!([
                {"name": "cpus", "type": "SCALAR", "scalar": {"value": 4.0}, "role": "*"},
                {"name": "mem", "type": "SCALAR", "scalar": {"value": 512.0}, "role": "web"},
                {"name": "ports", "type": "RANGES",
                 "ranges": {"range": [{"begin": 31000, "end": 32000}]}, "role": "*"},
                {"name": "zones", "type": "SET", "set": {"item": ["a", "b"]}, "role": "*"}
            ])
        );
        let modern = ResourceFormat::for_framework(
            &framework(&["MULTI_ROLE", "RESERVATION_REFINEMENT"]),
            "web",
        );
        let modern = serde_json::to_value(resources_to_v1(&r, &modern)).unwrap();
        assert_eq!(
            modern[0],
            json!({"name": "cpus", "type": "SCALAR", "scalar": {"value": 4.0},
                   "allocation_info": {"role": "web"}})
        );
        assert_eq!(
            modern[1],
            json!({"name": "mem", "type": "SCALAR", "scalar": {"value": 512.0},
                   "allocation_info": {"role": "web"},
                   "reservations": [{"type": "STATIC", "role": "web"}]})
        );
        // MULTI_ROLE alone: allocation info and the legacy role, as Mesos.
        let multi = ResourceFormat::for_framework(&framework(&["MULTI_ROLE"]), "*");
        assert_eq!(
            serde_json::to_value(Resource::from_internal(r.iter().next().unwrap(), &multi))
                .unwrap(),
            json!({"name": "cpus", "type": "SCALAR", "scalar": {"value": 4.0}, "role": "*",
                   "allocation_info": {"role": "*"}})
        );
    }

    #[test]
    fn resources_round_trip_in_every_format() {
        let r = res("cpus:0.5;cpus(web):1;mem:128;ports(web):[1-5,10-20];zones:{x}");
        for format in [
            ResourceFormat::LEGACY,
            ResourceFormat::for_framework(&framework(&["MULTI_ROLE"]), "web"),
            ResourceFormat::for_framework(&framework(&["RESERVATION_REFINEMENT"]), "*"),
        ] {
            let json = serde_json::to_string(&resources_to_v1(&r, &format)).unwrap();
            let back: Vec<Resource> = serde_json::from_str(&json).unwrap();
            assert_eq!(resources_from_v1(back).unwrap(), r, "{format:?}");
        }
    }

    #[test]
    fn resource_role_comes_from_reservations_then_role_then_star() {
        let read = |v: serde_json::Value| {
            serde_json::from_value::<Resource>(v)
                .unwrap()
                .into_internal()
                .unwrap()
                .role
        };
        let base = json!({"name": "cpus", "type": "SCALAR", "scalar": {"value": 1}});
        assert_eq!(read(base.clone()), "*");
        let mut with_role = base.clone();
        with_role["role"] = json!("a");
        assert_eq!(read(with_role.clone()), "a");
        with_role["reservations"] = json!([{"type": "STATIC", "role": "a"}, {"role": "a/b"}]);
        assert_eq!(read(with_role), "a/b");
    }

    #[test]
    fn bad_resources_name_the_field() {
        let cases = [
            (
                json!([{"type": "SCALAR", "scalar": {"value": 1}}]),
                "missing required field 'resources[0].name'",
            ),
            (
                json!([{"name": "cpus", "scalar": {"value": 1}}]),
                "missing required field 'resources[0].type'",
            ),
            (
                json!([{"name": "cpus", "type": "SCALAR"}]),
                "missing required field 'resources[0].scalar'",
            ),
            (
                json!([{"name": "cpus", "type": "SCALAR", "scalar": {"value": -1}}]),
                "invalid field 'resources[0].scalar': must be a non-negative number",
            ),
            (
                json!([{"name": "p", "type": "RANGES",
                        "ranges": {"range": [{"begin": 5, "end": 1}]}}]),
                "invalid field 'resources[0].ranges': range [5-1] begins after it ends",
            ),
            (
                json!([{"name": "t", "type": "TEXT", "text": {"value": "x"}}]),
                "invalid field 'resources[0].type': TEXT is not a type a resource can have",
            ),
            (
                json!([{"name": "x", "type": "SCALAR", "scalar": {"value": 1}},
                       {"name": "x", "type": "SET", "set": {"item": ["a"]}}]),
                "invalid field 'resources[1]': resource 'x' appears with two different kinds of value",
            ),
        ];
        for (input, expected) in cases {
            let list: Vec<Resource> = serde_json::from_value(input.clone()).unwrap();
            let err = resources_from_v1(list).unwrap_err().at("resources");
            assert_eq!(err.to_string(), expected, "{input}");
        }
    }

    #[test]
    fn attributes_round_trip() {
        let attrs = mesos::parse_attributes("rack:r1;weight:2.5;ports:[1-5];tags:{x,y}").unwrap();
        let v1: Vec<Attribute> = attrs.iter().map(Attribute::from_internal).collect();
        assert_eq!(
            serde_json::to_value(&v1[0]).unwrap(),
            json!({"name": "rack", "type": "TEXT", "text": {"value": "r1"}})
        );
        let back: Vec<mesos::Attribute> =
            v1.into_iter().map(|a| a.into_internal().unwrap()).collect();
        assert_eq!(back, attrs);
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

    fn task() -> mesos::TaskInfo {
        let mut command = mesos::CommandInfo::shell("echo hi");
        command.environment = vec![("K".into(), "V".into())];
        command.uris = vec![mesos::CommandUri {
            value: "http://h/x.tgz".into(),
            executable: false,
            extract: true,
            output_file: None,
            cache: false,
        }];
        mesos::TaskInfo {
            name: "t1".into(),
            task_id: TaskId::new("t1"),
            agent_id: AgentId::new("m-S0"),
            resources: res("cpus:1;mem:128"),
            command: Some(command),
            executor: None,
            data: Some(b"payload".to_vec()),
            kill_grace_period: Some(2.5),
            meta: Default::default(),
        }
    }

    #[test]
    fn task_info_renders_as_mesos_and_round_trips() {
        let t = task();
        let v1 = TaskInfo::from_internal(&t, &ResourceFormat::LEGACY);
        let value = serde_json::to_value(&v1).unwrap();
        assert_eq!(
            value["command"],
            json!({"uris": [{"value": "http://h/x.tgz", "extract": true}],
                   "environment": {"variables": [{"name": "K", "type": "VALUE", "value": "V"}]},
                   "shell": true, "value": "echo hi"})
        );
        assert_eq!(value["data"], json!("cGF5bG9hZA=="));
        assert_eq!(
            value["kill_policy"],
            json!({"grace_period": {"nanoseconds": 2_500_000_000i64}})
        );
        assert_eq!(v1.into_internal().unwrap(), t);

        let mut with_executor = t.clone();
        with_executor.command = None;
        with_executor.executor = Some(mesos::ExecutorInfo {
            executor_id: ExecutorId::new("e1"),
            framework_id: Some(FrameworkId::new("m-0000")),
            command: mesos::CommandInfo {
                shell: false,
                arguments: vec!["./my-exec".into(), "--x".into()],
                ..mesos::CommandInfo::shell("./my-exec")
            },
            resources: res("cpus:0.1"),
            name: Some("custom".into()),
            shutdown_grace_period: Some(5.0),
        });
        let v1 = TaskInfo::from_internal(&with_executor, &ResourceFormat::LEGACY);
        let value = serde_json::to_value(&v1).unwrap();
        assert_eq!(value["executor"]["executor_id"], json!({"value": "e1"}));
        assert_eq!(value["executor"]["command"]["shell"], json!(false));
        assert_eq!(
            value["executor"]["shutdown_grace_period"],
            json!({"nanoseconds": 5_000_000_000i64})
        );
        assert_eq!(v1.into_internal().unwrap(), with_executor);
    }

    #[test]
    fn executor_without_command_is_blank_inside_and_absent_outside() {
        let v1: ExecutorInfo =
            serde_json::from_value(json!({"type": "DEFAULT", "executor_id": {"value": "d"}}))
                .unwrap();
        assert_eq!(v1.kind, Some(ExecutorType::Default));
        let internal = v1.into_internal().unwrap();
        assert_eq!(internal.command.value, None);
        let out = serde_json::to_value(ExecutorInfo::from_internal(
            &internal,
            &ResourceFormat::LEGACY,
        ))
        .unwrap();
        assert_eq!(out, json!({"executor_id": {"value": "d"}}));
    }

    #[test]
    fn command_defaults_apply_when_absent() {
        let c: CommandInfo = serde_json::from_value(json!({
            "value": "./run", "uris": [{"value": "http://x"}],
            "environment": {"variables": [{"name": "A", "value": "1"}]}}))
        .unwrap();
        let c = c.into_internal().unwrap();
        assert!(c.shell);
        assert!(c.uris[0].extract);
        assert!(!c.uris[0].executable);
        let secret: CommandInfo = serde_json::from_value(json!({
            "environment": {"variables": [{"name": "A", "type": "SECRET"}]}}))
        .unwrap();
        assert_eq!(
            secret.into_internal().unwrap_err().to_string(),
            "invalid field 'environment.variables[0].type': SECRET environment variables are not supported"
        );
    }

    #[test]
    fn task_status_renders_as_mesos_and_round_trips() {
        let mut s = mesos::TaskStatus::new(TaskId::new("t1"), TaskState::Running);
        s.source = Some(Source::Executor);
        s.agent_id = Some(AgentId::new("m-S0"));
        s.executor_id = Some(ExecutorId::new("t1"));
        s.timestamp = 1_700_000_000.5;
        s.uuid = Some(vec![0xab; 16]);
        s.healthy = Some(true);
        let v1 = TaskStatus::from_internal(&s);
        assert_eq!(
            serde_json::to_value(&v1).unwrap(),
            json!({"task_id": {"value": "t1"}, "state": "TASK_RUNNING",
                   "source": "SOURCE_EXECUTOR", "agent_id": {"value": "m-S0"},
                   "executor_id": {"value": "t1"}, "timestamp": 1_700_000_000.5,
                   "uuid": "q6urq6urq6urq6urq6urqw==", "healthy": true})
        );
        assert_eq!(v1.into_internal().unwrap(), s);
        // An unknown reason is dropped; an unknown state is an error.
        let odd: TaskStatus = serde_json::from_value(json!({"task_id": {"value": "t"},
            "state": "TASK_FAILED", "reason": "REASON_CONTAINER_LIMITATION_MEMORY"}))
        .unwrap();
        assert_eq!(odd.reason, None);
        assert!(serde_json::from_value::<TaskStatus>(
            json!({"task_id": {"value": "t"}, "state": "TASK_BOGUS"})
        )
        .is_err());
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

    #[test]
    fn field_error_paths_read_naturally() {
        let e = FieldError::missing("user")
            .at("framework_info")
            .at("subscribe");
        assert_eq!(
            e.to_string(),
            "missing required field 'subscribe.framework_info.user'"
        );
        let e = FieldError::invalid("scalar", "bad\nvalue")
            .at_index(1)
            .at("resources")
            .at_index(0)
            .at("task_infos");
        assert_eq!(
            e.to_string(),
            "invalid field 'task_infos[0].resources[1].scalar': bad value"
        );
    }
}
