//! JSON models of the operator endpoints, written as Mesos writes them
//! (`src/common/http.cpp`): resources as an object of name -> number (or
//! `"[a-b, c-d]"` for ranges, `"{x, y}"` for sets) with cpus, gpus, mem and
//! disk always present; attributes as name -> value; ids flattened to
//! strings; times as float seconds.

use serde_json::{json, Map, Value};
use wire::mesos::{Attribute, AttributeValue, Task, TaskStatus};
use wire::resources::{format_ranges, Resources, Value as RValue};

/// Mesos's resources object.
pub fn resources(r: &Resources) -> Value {
    let mut out = Map::new();
    for name in ["cpus", "gpus", "mem", "disk"] {
        out.insert(name.into(), json!(0.0));
    }
    // Sum scalars across roles; ranges and sets merge by name.
    let mut ranges: std::collections::BTreeMap<String, Vec<(u64, u64)>> = Default::default();
    let mut sets: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for res in r.iter() {
        match &res.value {
            RValue::Scalar(_) => {
                out.insert(res.name.clone(), json!(r.scalar(&res.name)));
            }
            RValue::Ranges(x) => ranges
                .entry(res.name.clone())
                .or_default()
                .extend(x.iter().copied()),
            RValue::Set(x) => sets
                .entry(res.name.clone())
                .or_default()
                .extend(x.iter().cloned()),
        }
    }
    for (name, mut x) in ranges {
        x.sort_unstable();
        out.insert(name, json!(format_ranges(&x)));
    }
    for (name, x) in sets {
        out.insert(name, json!(format!("{{{}}}", x.join(", "))));
    }
    Value::Object(out)
}

/// Resources split by role: role -> resources object, for reserved ones.
pub fn reserved_resources(r: &Resources) -> Value {
    let mut by_role: std::collections::BTreeMap<String, Resources> = Default::default();
    for res in r.iter().filter(|x| x.role != "*") {
        let _ = by_role
            .entry(res.role.clone())
            .or_default()
            .add(res.clone());
    }
    Value::Object(
        by_role
            .into_iter()
            .map(|(role, r)| (role, resources(&r)))
            .collect(),
    )
}

/// The unreserved part.
pub fn unreserved_resources(r: &Resources) -> Value {
    let mut out = Resources::new();
    for res in r.iter().filter(|x| x.role == "*") {
        let _ = out.add(res.clone());
    }
    resources(&out)
}

pub fn attributes(attrs: &[Attribute]) -> Value {
    let mut out = Map::new();
    for a in attrs {
        let v = match &a.value {
            AttributeValue::Scalar(n) => json!(n),
            AttributeValue::Ranges(r) => json!(format_ranges(r)),
            AttributeValue::Set(s) => json!(format!("{{{}}}", s.join(", "))),
            AttributeValue::Text(t) => json!(t),
        };
        out.insert(a.name.clone(), v);
    }
    Value::Object(out)
}

pub fn task_status(s: &TaskStatus) -> Value {
    let mut v = json!({
        "state": s.state.name(),
        "timestamp": s.timestamp,
    });
    if let Some(h) = s.healthy {
        v["healthy"] = json!(h);
    }
    v
}

pub fn task(t: &Task) -> Value {
    json!({
        "id": t.task_id.value,
        "name": t.name,
        "framework_id": t.framework_id.value,
        "executor_id": t.executor_id.as_ref().map(|e| e.value.clone()).unwrap_or_default(),
        "slave_id": t.agent_id.value,
        "state": t.state.name(),
        "resources": resources(&t.resources),
        "role": t.role,
        "statuses": t.statuses.iter().map(task_status).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_render_as_mesos_does() {
        let r = Resources::parse("cpus:2;mem:1024;ports:[31000-32000];cpus(web):1", "*").unwrap();
        let v = resources(&r);
        assert_eq!(v["cpus"], json!(3.0));
        assert_eq!(v["mem"], json!(1024.0));
        assert_eq!(v["gpus"], json!(0.0));
        assert_eq!(v["disk"], json!(0.0));
        assert_eq!(v["ports"], json!("[31000-32000]"));
        assert_eq!(reserved_resources(&r)["web"]["cpus"], json!(1.0));
        assert_eq!(unreserved_resources(&r)["cpus"], json!(2.0));
    }

    #[test]
    fn attributes_render_by_kind() {
        let a = wire::mesos::parse_attributes("rack:a;n:2;p:[1-3]").unwrap();
        assert_eq!(attributes(&a), json!({"rack": "a", "n": 2.0, "p": "[1-3]"}));
    }
}
