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
}
