//! Resources as Mesos models them: named scalars (`cpus`, `mem`, `disk`),
//! ranges (`ports`) and sets, each unreserved (`*`) or reserved for a role.
//!
//! [`Resources`] is a normalized bag: at most one entry per (name, role),
//! scalars kept in fixed point with three decimals as Mesos compares them,
//! ranges merged and sorted. Addition, subtraction and containment are the
//! arithmetic the allocator and the master's offer checks need. Text and
//! JSON parsing follow the agent's `--resources` flag.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

/// The role of unreserved resources.
pub const UNRESERVED: &str = "*";

/// A scalar in thousandths: Mesos compares scalars at three decimals.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct Milli(pub i64);

impl Milli {
    pub fn from_f64(v: f64) -> Milli {
        Milli((v * 1000.0).round() as i64)
    }

    pub fn as_f64(self) -> f64 {
        self.0 as f64 / 1000.0
    }
}

/// The value of one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Value {
    Scalar(Milli),
    /// Inclusive, sorted, non-overlapping, non-adjacent intervals.
    Ranges(Vec<(u64, u64)>),
    Set(BTreeSet<String>),
}

/// One named resource with its role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resource {
    pub name: String,
    pub role: String,
    pub value: Value,
}

impl Resource {
    pub fn scalar(name: &str, value: f64) -> Resource {
        Resource {
            name: name.to_owned(),
            role: UNRESERVED.to_owned(),
            value: Value::Scalar(Milli::from_f64(value)),
        }
    }

    pub fn ranges(name: &str, ranges: &[(u64, u64)]) -> Resource {
        Resource {
            name: name.to_owned(),
            role: UNRESERVED.to_owned(),
            value: Value::Ranges(normalize_ranges(ranges.to_vec())),
        }
    }

    pub fn with_role(mut self, role: &str) -> Resource {
        self.role = role.to_owned();
        self
    }

    fn is_empty(&self) -> bool {
        match &self.value {
            Value::Scalar(m) => m.0 <= 0,
            Value::Ranges(r) => r.is_empty(),
            Value::Set(s) => s.is_empty(),
        }
    }
}

/// Why a resource string or document could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResourceError {
    #[error("bad resource '{0}': expected name[(role)]:value")]
    Syntax(String),
    #[error("bad value for resource '{name}': {reason}")]
    Value { name: String, reason: String },
    #[error("resource '{0}' appears with two different kinds of value")]
    KindMismatch(String),
    #[error("bad resources JSON: {0}")]
    Json(String),
}

/// A normalized collection of resources.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Resources(Vec<Resource>);

impl Resources {
    pub fn new() -> Resources {
        Resources::default()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Resource> {
        self.0.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds one resource, merging with an entry of the same name and role.
    pub fn add(&mut self, r: Resource) -> Result<(), ResourceError> {
        if r.is_empty() {
            return Ok(());
        }
        match self
            .0
            .iter_mut()
            .find(|e| e.name == r.name && e.role == r.role)
        {
            None => self.0.push(r),
            Some(e) => match (&mut e.value, r.value) {
                (Value::Scalar(a), Value::Scalar(b)) => a.0 += b.0,
                (Value::Ranges(a), Value::Ranges(b)) => {
                    a.extend(b);
                    *a = normalize_ranges(std::mem::take(a));
                }
                (Value::Set(a), Value::Set(b)) => a.extend(b),
                _ => return Err(ResourceError::KindMismatch(r.name)),
            },
        }
        Ok(())
    }

    /// The sum of many collections, as repeated [`Resources::add`] would
    /// give it, but in one pass: names and roles are copied once per entry
    /// of the result and ranges are normalized once at the end, so summing
    /// the ports of thousands of tasks costs a sort, not a merge per task.
    /// Entries whose kinds clash with an earlier one are left out, as
    /// `plus` leaves them.
    pub fn sum<'a>(all: impl IntoIterator<Item = &'a Resources>) -> Resources {
        let mut out: Vec<Resource> = Vec::new();
        for r in all.into_iter().flat_map(Resources::iter) {
            if r.is_empty() {
                continue;
            }
            match out
                .iter_mut()
                .find(|e| e.name == r.name && e.role == r.role)
            {
                None => out.push(r.clone()),
                Some(e) => match (&mut e.value, &r.value) {
                    (Value::Scalar(a), Value::Scalar(b)) => a.0 += b.0,
                    (Value::Ranges(a), Value::Ranges(b)) => a.extend_from_slice(b),
                    (Value::Set(a), Value::Set(b)) => a.extend(b.iter().cloned()),
                    _ => {}
                },
            }
        }
        for e in &mut out {
            if let Value::Ranges(r) = &mut e.value {
                *r = normalize_ranges(std::mem::take(r));
            }
        }
        Resources(out)
    }

    /// `self + other`.
    pub fn plus(&self, other: &Resources) -> Resources {
        let mut out = self.clone();
        for r in other.iter() {
            // Kinds match by construction of each side; a mismatch is ignored.
            let _ = out.add(r.clone());
        }
        out
    }

    /// `self - other`, dropping what becomes empty. Subtracting what is not
    /// there leaves the rest unchanged (scalars floor at zero).
    pub fn minus(&self, other: &Resources) -> Resources {
        let mut out = self.clone();
        for r in other.iter() {
            if let Some(e) = out
                .0
                .iter_mut()
                .find(|e| e.name == r.name && e.role == r.role)
            {
                match (&mut e.value, &r.value) {
                    (Value::Scalar(a), Value::Scalar(b)) => a.0 = (a.0 - b.0).max(0),
                    (Value::Ranges(a), Value::Ranges(b)) => *a = subtract_ranges(a, b),
                    (Value::Set(a), Value::Set(b)) => a.retain(|x| !b.contains(x)),
                    _ => {}
                }
            }
        }
        out.0.retain(|r| !r.is_empty());
        out
    }

    /// Whether every resource of `other` is within `self` (same role).
    pub fn contains(&self, other: &Resources) -> bool {
        other.iter().all(|r| {
            self.0
                .iter()
                .find(|e| e.name == r.name && e.role == r.role)
                .is_some_and(|e| match (&e.value, &r.value) {
                    (Value::Scalar(a), Value::Scalar(b)) => a >= b,
                    (Value::Ranges(a), Value::Ranges(b)) => subtract_ranges(b, a).is_empty(),
                    (Value::Set(a), Value::Set(b)) => b.is_subset(a),
                    _ => false,
                })
        })
    }

    /// The total of scalar `name` across roles.
    pub fn scalar(&self, name: &str) -> f64 {
        self.0
            .iter()
            .filter(|r| r.name == name)
            .map(|r| match r.value {
                Value::Scalar(m) => m.0,
                _ => 0,
            })
            .sum::<i64>() as f64
            / 1000.0
    }

    /// The resources reserved for `role` plus the unreserved ones.
    pub fn allocatable_to(&self, role: &str) -> Resources {
        Resources(
            self.0
                .iter()
                .filter(|r| r.role == UNRESERVED || r.role == role)
                .cloned()
                .collect(),
        )
    }

    /// Parses the agent's `--resources` text (`cpus:4;mem:1024;ports(*):[31000-32000]`)
    /// or its JSON form (an array of Mesos `Resource` objects).
    pub fn parse(text: &str, default_role: &str) -> Result<Resources, ResourceError> {
        let text = text.trim();
        if text.starts_with('[') && serde_json::from_str::<serde_json::Value>(text).is_ok() {
            return Self::parse_json(text, default_role);
        }
        let mut out = Resources::new();
        for item in text.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            let (head, value) = item
                .split_once(':')
                .ok_or_else(|| ResourceError::Syntax(item.to_owned()))?;
            let (name, role) = match head.split_once('(') {
                Some((name, rest)) => {
                    let role = rest
                        .strip_suffix(')')
                        .ok_or_else(|| ResourceError::Syntax(item.to_owned()))?;
                    (name.trim(), role.trim())
                }
                None => (head.trim(), default_role),
            };
            if name.is_empty() || role.is_empty() {
                return Err(ResourceError::Syntax(item.to_owned()));
            }
            let value = parse_value(name, value.trim())?;
            out.add(Resource {
                name: name.to_owned(),
                role: role.to_owned(),
                value,
            })?;
        }
        Ok(out)
    }

    fn parse_json(text: &str, default_role: &str) -> Result<Resources, ResourceError> {
        #[derive(Deserialize)]
        struct JsonScalar {
            value: f64,
        }
        #[derive(Deserialize)]
        struct JsonRange {
            begin: u64,
            end: u64,
        }
        #[derive(Deserialize)]
        struct JsonRanges {
            #[serde(default)]
            range: Vec<JsonRange>,
        }
        #[derive(Deserialize)]
        struct JsonSet {
            #[serde(default)]
            item: Vec<String>,
        }
        #[derive(Deserialize)]
        struct JsonResource {
            name: String,
            #[serde(rename = "type")]
            kind: String,
            scalar: Option<JsonScalar>,
            ranges: Option<JsonRanges>,
            set: Option<JsonSet>,
            role: Option<String>,
        }
        let items: Vec<JsonResource> =
            serde_json::from_str(text).map_err(|e| ResourceError::Json(e.to_string()))?;
        let mut out = Resources::new();
        for r in items {
            let bad = |reason: &str| ResourceError::Value {
                name: r.name.clone(),
                reason: reason.to_owned(),
            };
            let value = match r.kind.as_str() {
                "SCALAR" => {
                    let v = r
                        .scalar
                        .as_ref()
                        .ok_or_else(|| bad("missing scalar"))?
                        .value;
                    if !v.is_finite() || v < 0.0 {
                        return Err(bad("scalar must be a non-negative number"));
                    }
                    Value::Scalar(Milli::from_f64(v))
                }
                "RANGES" => {
                    let ranges = r.ranges.as_ref().ok_or_else(|| bad("missing ranges"))?;
                    let list: Vec<(u64, u64)> =
                        ranges.range.iter().map(|x| (x.begin, x.end)).collect();
                    if list.iter().any(|(b, e)| b > e) {
                        return Err(bad("range begins after it ends"));
                    }
                    Value::Ranges(normalize_ranges(list))
                }
                "SET" => Value::Set(
                    r.set
                        .as_ref()
                        .ok_or_else(|| bad("missing set"))?
                        .item
                        .iter()
                        .cloned()
                        .collect(),
                ),
                other => return Err(bad(&format!("unsupported type {other}"))),
            };
            let role = r.role.clone().unwrap_or_else(|| default_role.to_owned());
            out.add(Resource {
                name: r.name,
                role,
                value,
            })?;
        }
        Ok(out)
    }
}

fn parse_value(name: &str, text: &str) -> Result<Value, ResourceError> {
    let bad = |reason: &str| ResourceError::Value {
        name: name.to_owned(),
        reason: format!("{reason} in '{text}'"),
    };
    if let Some(inner) = text.strip_prefix('[') {
        let inner = inner
            .strip_suffix(']')
            .ok_or_else(|| bad("unterminated range list"))?;
        let mut ranges = Vec::new();
        for part in inner.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (b, e) = part
                .split_once('-')
                .ok_or_else(|| bad("expected begin-end"))?;
            let b: u64 = b
                .trim()
                .parse()
                .map_err(|_| bad("range bound is not a number"))?;
            let e: u64 = e
                .trim()
                .parse()
                .map_err(|_| bad("range bound is not a number"))?;
            if b > e {
                return Err(bad("range begins after it ends"));
            }
            ranges.push((b, e));
        }
        return Ok(Value::Ranges(normalize_ranges(ranges)));
    }
    if let Some(inner) = text.strip_prefix('{') {
        let inner = inner
            .strip_suffix('}')
            .ok_or_else(|| bad("unterminated set"))?;
        return Ok(Value::Set(
            inner
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        ));
    }
    let v: f64 = text.parse().map_err(|_| bad("not a number"))?;
    if !v.is_finite() || v < 0.0 {
        return Err(bad("must be a non-negative number"));
    }
    Ok(Value::Scalar(Milli::from_f64(v)))
}

fn normalize_ranges(mut r: Vec<(u64, u64)>) -> Vec<(u64, u64)> {
    r.sort_unstable();
    let mut out: Vec<(u64, u64)> = Vec::with_capacity(r.len());
    for (b, e) in r {
        match out.last_mut() {
            Some(last) if b <= last.1.saturating_add(1) => last.1 = last.1.max(e),
            _ => out.push((b, e)),
        }
    }
    out
}

fn subtract_ranges(a: &[(u64, u64)], b: &[(u64, u64)]) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    for &(mut start, end) in a {
        let mut alive = true;
        for &(bs, be) in b {
            if be < start || bs > end {
                continue;
            }
            if bs > start {
                out.push((start, bs - 1));
            }
            if be >= end {
                alive = false;
                break;
            }
            start = be + 1;
        }
        if alive && start <= end {
            out.push((start, end));
        }
    }
    out
}

/// Renders ranges as Mesos does in its JSON models: `[31000-32000, 40000-40100]`.
pub fn format_ranges(r: &[(u64, u64)]) -> String {
    let parts: Vec<String> = r.iter().map(|(b, e)| format!("{b}-{e}")).collect();
    format!("[{}]", parts.join(", "))
}

impl fmt::Display for Resources {
    /// The `--resources` text form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|r| {
                let value = match &r.value {
                    Value::Scalar(m) => format!("{}", m.as_f64()),
                    Value::Ranges(x) => format_ranges(x).replace(", ", ","),
                    Value::Set(s) => {
                        format!("{{{}}}", s.iter().cloned().collect::<Vec<_>>().join(","))
                    }
                };
                format!("{}({}):{}", r.name, r.role, value)
            })
            .collect();
        f.write_str(&parts.join(";"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sum_is_repeated_addition() {
        let parts: Vec<Resources> = [
            "cpus:1;mem:128;ports:[31005-31005]",
            "cpus:0.5;ports:[31000-31001];zones:{a}",
            "cpus(web):2;ports:[31002-31004,31010-31010];zones:{b}",
            "mem:64;ports:[31006-31006]",
            "",
        ]
        .iter()
        .map(|t| Resources::parse(t, "*").unwrap())
        .collect();
        let mut added = Resources::new();
        for p in &parts {
            added = added.plus(p);
        }
        assert_eq!(Resources::sum(&parts), added);
        assert_eq!(Resources::sum(&parts).scalar("cpus"), 3.5);
        assert!(Resources::sum(std::iter::empty()).is_empty());
    }

    fn res(text: &str) -> Resources {
        Resources::parse(text, "*").unwrap()
    }

    #[test]
    fn parses_the_agent_flag_syntax() {
        let r = res("cpus:4;mem:4096;disk:10000;ports(*):[7000-8000, 31000-32000];gpus:0.5");
        assert_eq!(r.scalar("cpus"), 4.0);
        assert_eq!(r.scalar("mem"), 4096.0);
        assert_eq!(r.scalar("gpus"), 0.5);
        let ports = r.iter().find(|x| x.name == "ports").unwrap();
        assert_eq!(
            ports.value,
            Value::Ranges(vec![(7000, 8000), (31000, 32000)])
        );
        let reserved = res("cpus(web):2;cpus:1");
        assert_eq!(reserved.scalar("cpus"), 3.0);
        assert_eq!(reserved.allocatable_to("db").scalar("cpus"), 1.0);
        assert_eq!(reserved.allocatable_to("web").scalar("cpus"), 3.0);
        let set = res("zones:{a,b}");
        assert_eq!(
            set.iter().next().unwrap().value,
            Value::Set(["a".into(), "b".into()].into())
        );
    }

    #[test]
    fn parses_the_json_form() {
        let r = Resources::parse(
            r#"[{"name":"cpus","type":"SCALAR","scalar":{"value":2}},
                {"name":"ports","type":"RANGES","ranges":{"range":[{"begin":1,"end":5}]},"role":"r"}]"#,
            "*",
        )
        .unwrap();
        assert_eq!(r.scalar("cpus"), 2.0);
        assert_eq!(r.iter().nth(1).unwrap().role, "r");
    }

    #[test]
    fn bad_resources_are_clear_errors() {
        for bad in [
            "cpus",
            "cpus:abc",
            "cpus:-1",
            "ports:[5-1]",
            "ports:[1-2",
            "cpus(:1",
            "cpus:1;cpus:[1-2]",
            "[{\"name\":\"x\",\"type\":\"SCALAR\"}]",
        ] {
            assert!(Resources::parse(bad, "*").is_err(), "{bad}");
        }
    }

    #[test]
    fn arithmetic_merges_subtracts_and_contains() {
        let total = res("cpus:4;mem:1024;ports:[31000-32000]");
        let used = res("cpus:1.5;mem:1000;ports:[31000-31000,31500-31600]");
        assert!(total.contains(&used));
        let free = total.minus(&used);
        assert_eq!(free.scalar("cpus"), 2.5);
        assert_eq!(free.scalar("mem"), 24.0);
        let ports = free.iter().find(|x| x.name == "ports").unwrap();
        assert_eq!(
            ports.value,
            Value::Ranges(vec![(31001, 31499), (31601, 32000)])
        );
        assert!(!free.contains(&used));
        assert_eq!(free.plus(&used), total);
        assert!(!total.contains(&res("cpus(web):1")), "roles differ");
        assert!(total.minus(&total).is_empty());
    }

    #[test]
    fn scalars_compare_at_three_decimals() {
        let a = res("cpus:0.1;cpus:0.2");
        assert!(a.contains(&res("cpus:0.3")));
        assert!(res("cpus:0.3").contains(&a));
    }

    #[test]
    fn ranges_render_as_mesos_does() {
        assert_eq!(format_ranges(&[(31000, 32000)]), "[31000-32000]");
        assert_eq!(format_ranges(&[(1, 2), (5, 9)]), "[1-2, 5-9]");
    }
}
