//! `Value`, `Resource` and `Attribute`, and [`ResourceFormat`], which
//! writes resources the way each reader expects (with or without
//! allocation info, before or after reservation refinement).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::mesos;
use crate::resources::{self, Milli, Resources, UNRESERVED};
use crate::v1::json;

use super::common::{MULTI_ROLE, RESERVATION_REFINEMENT};
use super::error::{required, FieldError};
use super::tasks::Labels;

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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Labels>,
}

impl ReservationInfo {
    /// The post-refinement form: type, role, principal, labels.
    fn from_internal(r: &resources::Reservation) -> ReservationInfo {
        ReservationInfo {
            kind: Some(match r.kind {
                resources::ReservationKind::Static => ReservationType::Static,
                resources::ReservationKind::Dynamic => ReservationType::Dynamic,
            }),
            role: Some(r.role.clone()),
            principal: r.principal.clone(),
            labels: Labels::from_internal(&r.labels),
        }
    }

    /// Reads one reservation of a stack. A missing type is STATIC for the
    /// first and DYNAMIC for refinements, the only kinds they can be.
    fn into_internal(
        self,
        index: usize,
        fallback_role: Option<&str>,
    ) -> Result<resources::Reservation, FieldError> {
        let role = match self.role.as_deref().or(fallback_role) {
            Some(role) => role.to_owned(),
            None => return Err(FieldError::missing("role")),
        };
        if role.is_empty() || role == UNRESERVED {
            return Err(FieldError::invalid(
                "role",
                format!("a reservation cannot be for role '{role}'"),
            ));
        }
        let kind = match self.kind {
            Some(ReservationType::Static) => resources::ReservationKind::Static,
            Some(ReservationType::Dynamic) => resources::ReservationKind::Dynamic,
            None if index == 0 => resources::ReservationKind::Static,
            None => resources::ReservationKind::Dynamic,
        };
        let labels = match self.labels {
            Some(l) => l.into_internal()?,
            None => Vec::new(),
        };
        Ok(resources::Reservation {
            kind,
            role,
            principal: self.principal,
            labels,
        })
    }
}

/// `Resource.DiskInfo.Persistence`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersistenceJson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
}

/// `Volume`, as a disk resource carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskVolumeJson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
}

/// `Resource.DiskInfo.Source.Path` / `.Mount`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceRoot {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root: Option<String>,
}

/// `Resource.DiskInfo.Source`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskSourceJson {
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<SourceRoot>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount: Option<SourceRoot>,
}

/// `Resource.DiskInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DiskInfoJson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistence: Option<PersistenceJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume: Option<DiskVolumeJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<DiskSourceJson>,
}

impl DiskInfoJson {
    fn from_internal(d: &resources::DiskInfo) -> DiskInfoJson {
        DiskInfoJson {
            persistence: d.persistence.as_ref().map(|p| PersistenceJson {
                id: Some(p.id.clone()),
                principal: p.principal.clone(),
            }),
            volume: d.volume.as_ref().map(|v| DiskVolumeJson {
                container_path: Some(v.container_path.clone()),
                mode: Some(
                    match v.mode {
                        resources::VolumeMode::Rw => "RW",
                        resources::VolumeMode::Ro => "RO",
                    }
                    .to_owned(),
                ),
            }),
            source: d.source.as_ref().map(|s| {
                let root = Some(SourceRoot {
                    root: s.root.clone(),
                });
                DiskSourceJson {
                    kind: Some(s.kind.clone()),
                    path: (s.kind == "PATH").then(|| root.clone()).flatten(),
                    mount: (s.kind == "MOUNT").then_some(root).flatten(),
                }
            }),
        }
    }

    fn into_internal(self) -> Result<resources::DiskInfo, FieldError> {
        let persistence = match self.persistence {
            None => None,
            Some(p) => {
                let id = required(p.id, "persistence.id")?;
                if id.is_empty() || id.contains('/') || id == "." || id == ".." {
                    return Err(FieldError::invalid(
                        "persistence.id",
                        "must be a non-empty name without '/'",
                    ));
                }
                Some(resources::Persistence {
                    id,
                    principal: p.principal,
                })
            }
        };
        let volume = match self.volume {
            None => None,
            Some(v) => {
                let container_path = required(v.container_path, "volume.container_path")?;
                if container_path.is_empty() {
                    return Err(FieldError::invalid(
                        "volume.container_path",
                        "must not be empty",
                    ));
                }
                let mode = match required(v.mode, "volume.mode")?.as_str() {
                    "RW" => resources::VolumeMode::Rw,
                    "RO" => resources::VolumeMode::Ro,
                    other => {
                        return Err(FieldError::invalid(
                            "volume.mode",
                            format!("'{other}' is not RW or RO"),
                        ))
                    }
                };
                Some(resources::Volume {
                    container_path,
                    mode,
                })
            }
        };
        let source = match self.source {
            None => None,
            Some(s) => {
                let kind = required(s.kind, "source.type")?;
                let root = match kind.as_str() {
                    "PATH" => s.path.and_then(|p| p.root),
                    "MOUNT" => s.mount.and_then(|p| p.root),
                    "BLOCK" | "RAW" => None,
                    other => {
                        return Err(FieldError::invalid(
                            "source.type",
                            format!("'{other}' is not PATH, MOUNT, BLOCK or RAW"),
                        ))
                    }
                };
                Some(resources::DiskSource { kind, root })
            }
        };
        Ok(resources::DiskInfo {
            persistence,
            volume,
            source,
        })
    }
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
    pub(super) fn allocation_info(&self) -> Option<AllocationInfo> {
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
    /// Deprecated (pre-refinement format): the principal and labels of a
    /// dynamic reservation for `role`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reservation: Option<ReservationInfo>,
    /// Reservations, innermost last (post-refinement format).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reservations: Vec<ReservationInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk: Option<DiskInfoJson>,
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
        let (role, reservation, reservations) = if format.pre_refinement {
            // The innermost reservation: a dynamic one keeps its principal
            // and labels in `reservation`, a static one has none.
            let reservation = r
                .reservations
                .last()
                .filter(|x| x.kind == resources::ReservationKind::Dynamic)
                .map(|x| ReservationInfo {
                    kind: None,
                    role: None,
                    principal: x.principal.clone(),
                    labels: Labels::from_internal(&x.labels),
                });
            (Some(r.role.clone()), reservation, Vec::new())
        } else {
            let stack = r
                .reservations
                .iter()
                .map(ReservationInfo::from_internal)
                .collect();
            (None, None, stack)
        };
        Resource {
            name: Some(r.name.clone()),
            kind: Some(kind),
            scalar,
            ranges,
            set,
            role,
            allocation_info: format.allocation_info(),
            reservation,
            reservations,
            disk: r.disk.as_ref().map(DiskInfoJson::from_internal),
        }
    }

    /// The internal resource. Its reservations are `reservations`, else
    /// (pre-refinement) one for the deprecated `role` unless it is `*`:
    /// DYNAMIC with the principal and labels of `reservation` when that is
    /// given, STATIC otherwise. `allocation_info` is not kept (the master
    /// knows which role an offer was made to).
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
        let mut stack = Vec::with_capacity(self.reservations.len());
        if !self.reservations.is_empty() {
            let mut outer: Option<String> = None;
            for (i, r) in self.reservations.into_iter().enumerate() {
                let fallback = if i == 0 { self.role.as_deref() } else { None };
                let r = r
                    .into_internal(i, fallback)
                    .map_err(|e| e.at_index(i).at("reservations"))?;
                if let Some(outer) = &outer {
                    if !resources::is_strict_subrole(&r.role, outer) {
                        return Err(FieldError::invalid(
                            "reservations",
                            format!(
                                "role '{}' does not refine the reservation for '{outer}'",
                                r.role
                            ),
                        ));
                    }
                }
                outer = Some(r.role.clone());
                stack.push(r);
            }
        } else if let Some(role) = self.role.filter(|r| r != UNRESERVED) {
            let reservation = match self.reservation {
                Some(info) => resources::Reservation {
                    kind: resources::ReservationKind::Dynamic,
                    ..info
                        .into_internal(0, Some(&role))
                        .map_err(|e| e.at("reservation"))?
                },
                None => resources::Reservation::new_static(&role),
            };
            // The deprecated form has no role in `reservation`: it is `role`.
            stack.push(resources::Reservation {
                role: role.clone(),
                ..reservation
            });
        }
        let disk = match self.disk {
            Some(d) => {
                if name != "disk" {
                    return Err(FieldError::invalid(
                        "disk",
                        format!("only 'disk' resources carry disk info, not '{name}'"),
                    ));
                }
                Some(d.into_internal().map_err(|e| e.at("disk"))?)
            }
            None => None,
        };
        Ok(resources::Resource::of(&name, value)
            .with_reservations(stack)
            .with_disk(disk))
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::v1::types::testing::{framework, res};

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

    fn read(v: serde_json::Value) -> Result<resources::Resource, String> {
        serde_json::from_value::<Resource>(v)
            .map_err(|e| e.to_string())?
            .into_internal()
            .map_err(|e| e.to_string())
    }

    #[test]
    fn reservations_and_volumes_read_and_write_as_mesos() {
        let modern = ResourceFormat::for_framework(&framework(&["RESERVATION_REFINEMENT"]), "*");
        let cases = [
            // (post-refinement JSON, pre-refinement JSON)
            (
                json!({"name": "cpus", "type": "SCALAR", "scalar": {"value": 1.0},
                       "reservations": [{"type": "DYNAMIC", "role": "a", "principal": "ops",
                                         "labels": {"labels": [{"key": "k", "value": "v"}]}}]}),
                json!({"name": "cpus", "type": "SCALAR", "scalar": {"value": 1.0}, "role": "a",
                       "reservation": {"principal": "ops",
                                       "labels": {"labels": [{"key": "k", "value": "v"}]}}}),
            ),
            (
                json!({"name": "mem", "type": "SCALAR", "scalar": {"value": 64.0},
                       "reservations": [{"type": "STATIC", "role": "a"}]}),
                json!({"name": "mem", "type": "SCALAR", "scalar": {"value": 64.0}, "role": "a"}),
            ),
            (
                json!({"name": "disk", "type": "SCALAR", "scalar": {"value": 10.0},
                       "reservations": [{"type": "DYNAMIC", "role": "a", "principal": "ops"}],
                       "disk": {"persistence": {"id": "v1", "principal": "ops"},
                                "volume": {"container_path": "vol", "mode": "RW"}}}),
                json!({"name": "disk", "type": "SCALAR", "scalar": {"value": 10.0}, "role": "a",
                       "reservation": {"principal": "ops"},
                       "disk": {"persistence": {"id": "v1", "principal": "ops"},
                                "volume": {"container_path": "vol", "mode": "RW"}}}),
            ),
            (
                json!({"name": "disk", "type": "SCALAR", "scalar": {"value": 10.0},
                       "disk": {"source": {"type": "MOUNT", "mount": {"root": "/mnt/d1"}}}}),
                json!({"name": "disk", "type": "SCALAR", "scalar": {"value": 10.0}, "role": "*",
                       "disk": {"source": {"type": "MOUNT", "mount": {"root": "/mnt/d1"}}}}),
            ),
        ];
        for (post, pre) in cases {
            let from_post = read(post.clone()).unwrap();
            let from_pre = read(pre.clone()).unwrap();
            assert_eq!(from_post, from_pre, "{post}");
            let out = |f: &ResourceFormat| {
                serde_json::to_value(Resource::from_internal(&from_post, f)).unwrap()
            };
            assert_eq!(out(&modern), post);
            assert_eq!(out(&ResourceFormat::LEGACY), pre);
        }
        // A refinement keeps the whole stack, innermost last.
        let refined = json!({"name": "cpus", "type": "SCALAR", "scalar": {"value": 1.0},
            "reservations": [{"type": "STATIC", "role": "a"},
                             {"type": "DYNAMIC", "role": "a/b", "principal": "p"}]});
        let r = read(refined.clone()).unwrap();
        assert_eq!(r.role, "a/b");
        assert_eq!(r.reservations.len(), 2);
        assert_eq!(
            serde_json::to_value(Resource::from_internal(&r, &modern)).unwrap(),
            refined
        );
    }

    #[test]
    fn bad_reservations_and_volumes_are_clear() {
        let cases = [
            (
                json!({"name": "cpus", "type": "SCALAR", "scalar": {"value": 1},
                       "reservations": [{"type": "DYNAMIC"}]}),
                "missing required field 'reservations[0].role'",
            ),
            (
                json!({"name": "cpus", "type": "SCALAR", "scalar": {"value": 1},
                       "reservations": [{"type": "DYNAMIC", "role": "*"}]}),
                "invalid field 'reservations[0].role': a reservation cannot be for role '*'",
            ),
            (
                json!({"name": "cpus", "type": "SCALAR", "scalar": {"value": 1},
                       "reservations": [{"role": "a"}, {"role": "b"}]}),
                "invalid field 'reservations': role 'b' does not refine the reservation for 'a'",
            ),
            (
                json!({"name": "cpus", "type": "SCALAR", "scalar": {"value": 1},
                       "disk": {"persistence": {"id": "v"}}}),
                "invalid field 'disk': only 'disk' resources carry disk info, not 'cpus'",
            ),
            (
                json!({"name": "disk", "type": "SCALAR", "scalar": {"value": 1},
                       "disk": {"persistence": {"id": "../x"}}}),
                "invalid field 'disk.persistence.id': must be a non-empty name without '/'",
            ),
            (
                json!({"name": "disk", "type": "SCALAR", "scalar": {"value": 1},
                       "disk": {"volume": {"container_path": "v", "mode": "RX"}}}),
                "invalid field 'disk.volume.mode': 'RX' is not RW or RO",
            ),
            (
                json!({"name": "disk", "type": "SCALAR", "scalar": {"value": 1},
                       "disk": {"source": {"type": "TAPE"}}}),
                "invalid field 'disk.source.type': 'TAPE' is not PATH, MOUNT, BLOCK or RAW",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(read(input.clone()).unwrap_err(), expected, "{input}");
        }
    }
}
