//! JSON models of the operator endpoints, written as Mesos writes them
//! (`src/common/http.cpp`): resources as an object of name -> number (or
//! `"[a-b, c-d]"` for ranges, `"{x, y}"` for sets) with cpus, gpus, mem and
//! disk always present; attributes as name -> value; ids flattened to
//! strings; times as float seconds.
//!
//! The models are `Serialize` views borrowing the state, so a large
//! document (`/master/state` of a big cluster) is written straight into
//! its output without building a tree of values first.

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::Value;
use wire::mesos::{Attribute, AttributeValue, Task, TaskStatus};
use wire::resources::{Resources, Value as RValue};

/// Kinds Mesos always writes, zero when absent.
const ALWAYS: [&str; 4] = ["cpus", "gpus", "mem", "disk"];

/// Mesos's resources object (scalars summed across roles).
pub struct ResourcesJson<'a>(pub &'a Resources);

impl Serialize for ResourcesJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.0;
        let mut map = s.serialize_map(None)?;
        for name in ALWAYS {
            map.serialize_entry(name, &r.scalar(name))?;
        }
        // No allocation per object where it can be helped: a kind is
        // written at its first entry (found by looking back, as objects
        // have a handful of entries), and one sorted list of ranges is
        // written as it is.
        for (i, res) in r.iter().enumerate() {
            let name = res.name.as_str();
            if ALWAYS.contains(&name) || r.iter().take(i).any(|x| x.name == name) {
                continue;
            }
            match &res.value {
                RValue::Scalar(_) => map.serialize_entry(name, &r.scalar(name))?,
                RValue::Ranges(first) => {
                    let alone = r.iter().skip(i + 1).all(|x| x.name != name);
                    if alone && first.windows(2).all(|w| w[0] <= w[1]) {
                        map.serialize_entry(name, &RangesText(first))?;
                        continue;
                    }
                    let mut all: Vec<(u64, u64)> = r
                        .iter()
                        .filter(|x| x.name == name)
                        .filter_map(|x| match &x.value {
                            RValue::Ranges(v) => Some(v.iter().copied()),
                            _ => None,
                        })
                        .flatten()
                        .collect();
                    all.sort_unstable();
                    map.serialize_entry(name, &RangesText(&all))?;
                }
                RValue::Set(_) => {
                    let items: Vec<&str> = r
                        .iter()
                        .filter(|x| x.name == name)
                        .filter_map(|x| match &x.value {
                            RValue::Set(v) => Some(v.iter().map(String::as_str)),
                            _ => None,
                        })
                        .flatten()
                        .collect();
                    map.serialize_entry(name, &format!("{{{}}}", items.join(", ")))?;
                }
            }
        }
        map.end()
    }
}

/// Ranges as Mesos writes them, `"[31000-31005, 32000-32000]"`
/// (what `format_ranges` makes), written into the output as they are
/// formatted rather than built as a string first.
pub struct RangesText<'a>(pub &'a [(u64, u64)]);

impl std::fmt::Display for RangesText<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[")?;
        for (i, (b, e)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{b}-{e}")?;
        }
        f.write_str("]")
    }
}

impl Serialize for RangesText<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Reserved resources by role: role -> resources object.
pub struct ReservedJson<'a>(pub &'a Resources);

impl Serialize for ReservedJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut roles: Vec<&str> = self
            .0
            .iter()
            .filter(|x| x.role != "*")
            .map(|x| x.role.as_str())
            .collect();
        roles.sort_unstable();
        roles.dedup();
        let mut map = s.serialize_map(Some(roles.len()))?;
        for role in roles {
            map.serialize_entry(role, &ResourcesJson(&of_role(self.0, |r| r == role)))?;
        }
        map.end()
    }
}

/// The format of the `*_full` fields: v1 resources after reservation
/// refinement, without allocation info.
const FULL: wire::v1::types::ResourceFormat = wire::v1::types::ResourceFormat {
    allocation_role: None,
    pre_refinement: false,
};

/// Reserved resources as role -> list of full v1 resources (each with its
/// reservations and disk info): `reserved_resources_full`.
pub struct ReservedFullJson<'a>(pub &'a Resources);

impl Serialize for ReservedFullJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let by_role = self.0.reserved_by_role();
        let mut map = s.serialize_map(Some(by_role.len()))?;
        for (role, r) in &by_role {
            map.serialize_entry(role, &wire::v1::types::resources_to_v1(r, &FULL))?;
        }
        map.end()
    }
}

/// The unreserved part as a list of full v1 resources:
/// `unreserved_resources_full`.
pub struct UnreservedFullJson<'a>(pub &'a Resources);

impl Serialize for UnreservedFullJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        wire::v1::types::resources_to_v1(&self.0.unreserved(), &FULL).serialize(s)
    }
}

/// The unreserved part, as a resources object.
pub struct UnreservedJson<'a>(pub &'a Resources);

impl Serialize for UnreservedJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.iter().all(|x| x.role == "*") {
            return ResourcesJson(self.0).serialize(s);
        }
        ResourcesJson(&of_role(self.0, |r| r == "*")).serialize(s)
    }
}

fn of_role(r: &Resources, keep: impl Fn(&str) -> bool) -> Resources {
    let mut out = Resources::new();
    for res in r.iter().filter(|x| keep(&x.role)) {
        // Entries of one role never clash in kind.
        let _ = out.add(res.clone());
    }
    out
}

/// Attributes as name -> value.
pub struct AttributesJson<'a>(pub &'a [Attribute]);

impl Serialize for AttributesJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for a in self.0 {
            match &a.value {
                AttributeValue::Scalar(n) => map.serialize_entry(&a.name, n)?,
                AttributeValue::Ranges(r) => map.serialize_entry(&a.name, &RangesText(r))?,
                AttributeValue::Set(x) => {
                    map.serialize_entry(&a.name, &format!("{{{}}}", x.join(", ")))?
                }
                AttributeValue::Text(t) => map.serialize_entry(&a.name, t)?,
            }
        }
        map.end()
    }
}

/// One entry of a task's `statuses`.
pub struct StatusJson<'a>(pub &'a TaskStatus);

impl Serialize for StatusJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let st = self.0;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("state", st.state.name())?;
        map.serialize_entry("timestamp", &st.timestamp)?;
        if let Some(h) = st.healthy {
            map.serialize_entry("healthy", &h)?;
        }
        map.end()
    }
}

/// A task as `/master/state`, `/master/tasks` and the agent's `/state`
/// write it.
pub struct TaskJson<'a>(pub &'a Task);

impl Serialize for TaskJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let t = self.0;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("id", &t.task_id.value)?;
        map.serialize_entry("name", &t.name)?;
        map.serialize_entry("framework_id", &t.framework_id.value)?;
        map.serialize_entry(
            "executor_id",
            t.executor_id
                .as_ref()
                .map(|e| e.value.as_str())
                .unwrap_or(""),
        )?;
        map.serialize_entry("slave_id", &t.agent_id.value)?;
        map.serialize_entry("state", t.state.name())?;
        map.serialize_entry("resources", &ResourcesJson(&t.resources))?;
        map.serialize_entry("role", &t.role)?;
        map.serialize_entry("statuses", &Seq(t.statuses.iter().map(StatusJson)))?;
        // As Mesos: present only when the task has them (Mesos-DNS and
        // other service discovery tools read these).
        if !t.meta.labels.is_empty() {
            let labels = t.meta.labels.iter().map(|l| match &l.value {
                Some(value) => serde_json::json!({"key": l.key, "value": value}),
                None => serde_json::json!({"key": l.key}),
            });
            map.serialize_entry("labels", &Seq(labels))?;
        }
        if let Some(discovery) = t
            .meta
            .discovery
            .as_deref()
            .and_then(|d| serde_json::from_str::<Value>(d).ok())
        {
            map.serialize_entry("discovery", &discovery)?;
        }
        if let Some(container) = &t.meta.container {
            map.serialize_entry(
                "container",
                &wire::v1::types::ContainerInfoJson::from_internal(container),
            )?;
        }
        map.end()
    }
}

/// Serializes an iterator as a JSON array without collecting it. The
/// iterator is cloned, so it must be cheap to clone (borrowing iterators).
pub struct Seq<I>(pub I);

impl<I> Serialize for Seq<I>
where
    I: Iterator + Clone,
    I::Item: Serialize,
{
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        for item in self.0.clone() {
            seq.serialize_element(&item)?;
        }
        seq.end()
    }
}

/// A view as a JSON value, for documents small enough not to matter.
pub fn to_value(view: impl Serialize) -> Value {
    serde_json::to_value(view).unwrap_or(Value::Null)
}

pub fn resources(r: &Resources) -> Value {
    to_value(ResourcesJson(r))
}

pub fn reserved_resources(r: &Resources) -> Value {
    to_value(ReservedJson(r))
}

pub fn unreserved_resources(r: &Resources) -> Value {
    to_value(UnreservedJson(r))
}

pub fn attributes(attrs: &[Attribute]) -> Value {
    to_value(AttributesJson(attrs))
}

pub fn task(t: &Task) -> Value {
    to_value(TaskJson(t))
}

/// `/version` of either daemon, as Mesos's `version` process writes it.
pub fn version() -> Value {
    serde_json::json!({
        "version": wire::mesos::VERSION,
        "build_date": "",
        "build_time": 0.0,
        "build_user": "",
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn resources_render_as_mesos_does() {
        let r = Resources::parse(
            "cpus:2;mem:1024;ports:[31000-32000];cpus(web):1;zones:{a,b}",
            "*",
        )
        .unwrap();
        let v = resources(&r);
        assert_eq!(v["cpus"], json!(3.0));
        assert_eq!(v["mem"], json!(1024.0));
        assert_eq!(v["gpus"], json!(0.0));
        assert_eq!(v["disk"], json!(0.0));
        assert_eq!(v["ports"], json!("[31000-32000]"));
        assert_eq!(v["zones"], json!("{a, b}"));
        assert_eq!(reserved_resources(&r)["web"]["cpus"], json!(1.0));
        assert_eq!(unreserved_resources(&r)["cpus"], json!(2.0));
        assert_eq!(
            to_value(ReservedFullJson(&r)),
            json!({"web": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 1.0},
                            "reservations": [{"type": "STATIC", "role": "web"}]}]})
        );
        let full = to_value(UnreservedFullJson(&r));
        assert_eq!(full.as_array().map(Vec::len), Some(4));
        assert_eq!(
            full[0],
            json!({"name": "cpus", "type": "SCALAR", "scalar": {"value": 2.0}})
        );
    }

    #[test]
    fn attributes_render_by_kind() {
        let a = wire::mesos::parse_attributes("rack:a;n:2;p:[1-3]").unwrap();
        assert_eq!(attributes(&a), json!({"rack": "a", "n": 2.0, "p": "[1-3]"}));
    }

    #[test]
    fn ranges_are_written_as_format_ranges_writes_them() {
        for ranges in [
            vec![],
            vec![(31000, 31000)],
            vec![(1, 3), (5, 9), (100, 200)],
        ] {
            let text = serde_json::to_string(&RangesText(&ranges)).unwrap();
            let string = wire::resources::format_ranges(&ranges);
            assert_eq!(text, serde_json::to_string(&string).unwrap());
        }
    }

    #[test]
    fn ranges_of_one_kind_in_several_entries_are_merged_in_order() {
        // Unsorted within one entry, and spread over two roles.
        let r = Resources::parse("ports:[9-10,1-2];ports(web):[5-6]", "*").unwrap();
        assert_eq!(resources(&r)["ports"], json!("[1-2, 5-6, 9-10]"));
        let r = Resources::parse("ports:[1-2,5-6]", "*").unwrap();
        assert_eq!(resources(&r)["ports"], json!("[1-2, 5-6]"));
    }
}
