//! The master's records in the v1 operator API's JSON
//! (`mesos/v1/master/master.proto`): `Task`, `Response.GetAgents.Agent`,
//! `Response.GetFrameworks.Framework`, and the `GetTasks`, `GetAgents`,
//! `GetFrameworks`, `GetExecutors` and `GetState` answers built from them.
//! Field names are the `.proto`'s (`agent_id`, not `slave_id`); resources
//! are v1 `Resource` objects; times are `TimeInfo`s; empty repeated fields
//! are left out, as Mesos's JSON leaves them out.

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::{json, Map, Value};
use wire::resources::Resources;
use wire::v1::types::{AgentInfo, FrameworkInfo, Offer};

use crate::master::rendered::TaskRecord;
use crate::master::state::{AgentRecord, FrameworkRecord, State};
use crate::master::view::MasterView;
use crate::operator_api::{object, put, to_value};
pub use crate::operator_api::{resources, task};

/// A `TimeInfo` for `secs` seconds since the epoch.
pub fn time_info(secs: f64) -> Value {
    json!({ "nanoseconds": (secs * 1e9).round() as i64 })
}

const AGENT_CAPABILITIES: [&str; 3] = ["MULTI_ROLE", "HIERARCHICAL_ROLE", "RESERVATION_REFINEMENT"];

/// A `Response.GetAgents.Agent`.
pub fn agent(a: &AgentRecord) -> Value {
    let mut info = a.info.clone();
    info.id = Some(a.id.clone());
    let mut m = Map::new();
    m.insert(
        "agent_info".into(),
        to_value(AgentInfo::from_internal(&info)),
    );
    m.insert("active".into(), json!(a.active));
    m.insert("deactivated".into(), json!(a.deactivated));
    if let Some(d) = &a.drain {
        m.insert("drain_info".into(), d.to_json());
    }
    m.insert("version".into(), json!(a.version));
    m.insert("pid".into(), json!(a.pid()));
    m.insert("registered_time".into(), time_info(a.registered_time));
    if let Some(t) = a.reregistered_time {
        m.insert("reregistered_time".into(), time_info(t));
    }
    put(
        &mut m,
        "total_resources",
        resources(&a.info.resources, None),
    );
    put(&mut m, "allocated_resources", resources(a.used(), None));
    put(&mut m, "offered_resources", resources(a.offered(), None));
    m.insert(
        "capabilities".into(),
        json!(AGENT_CAPABILITIES
            .iter()
            .map(|c| json!({ "type": c }))
            .collect::<Vec<_>>()),
    );
    Value::Object(m)
}

/// A `Response.GetFrameworks.Framework`.
pub fn framework(f: &FrameworkRecord, state: &State) -> Value {
    let mut info = f.info.clone();
    info.id = Some(f.id.clone());
    let allocated = f.used();
    let offers: Vec<&wire::mesos::Offer> =
        f.offers().iter().filter_map(|id| state.offer(id)).collect();
    let mut offered = Resources::new();
    for o in &offers {
        offered = offered.plus(&o.resources);
    }
    let mut m = Map::new();
    m.insert(
        "framework_info".into(),
        to_value(FrameworkInfo::from_internal(&info)),
    );
    m.insert("active".into(), json!(f.active));
    m.insert("connected".into(), json!(f.connected));
    m.insert("recovered".into(), json!(f.pid.is_none()));
    m.insert("registered_time".into(), time_info(f.registered_time));
    if let Some(t) = f.reregistered_time {
        m.insert("reregistered_time".into(), time_info(t));
    }
    if let Some(t) = f.unregistered_time {
        m.insert("unregistered_time".into(), time_info(t));
    }
    put(
        &mut m,
        "offers",
        Value::Array(
            offers
                .iter()
                .map(|o| to_value(Offer::from_internal(o, &f.info)))
                .collect(),
        ),
    );
    put(&mut m, "allocated_resources", resources(allocated, None));
    put(&mut m, "offered_resources", resources(&offered, None));
    Value::Object(m)
}

/// `Response.GetTasks`: active tasks (those on unreachable agents apart)
/// and completed ones, of every framework.
pub fn get_tasks(state: &State) -> Value {
    let mut tasks = Vec::new();
    let mut unreachable = Vec::new();
    let mut completed = Vec::new();
    let all = state
        .frameworks()
        .values()
        .chain(state.completed_frameworks().iter());
    for f in all {
        tasks.extend(f.tasks().values().map(|t| task(t)));
        unreachable.extend(f.unreachable_tasks().iter().map(|t| task(t)));
        completed.extend(f.completed_tasks().iter().map(|t| task(t)));
    }
    object(vec![
        ("tasks", Value::Array(tasks)),
        ("unreachable_tasks", Value::Array(unreachable)),
        ("completed_tasks", Value::Array(completed)),
    ])
}

/// `Response.GetAgents`, with the agents from the registry that have not
/// come back since this master recovered.
pub fn get_agents(state: &State) -> Value {
    object(vec![
        (
            "agents",
            Value::Array(state.agents().values().map(agent).collect()),
        ),
        (
            "recovered_agents",
            Value::Array(
                state
                    .recovered()
                    .values()
                    .map(|a| to_value(AgentInfo::from_internal(a)))
                    .collect(),
            ),
        ),
    ])
}

/// `Response.GetFrameworks`.
pub fn get_frameworks(state: &State) -> Value {
    object(vec![
        (
            "frameworks",
            Value::Array(
                state
                    .frameworks()
                    .values()
                    .map(|f| framework(f, state))
                    .collect(),
            ),
        ),
        (
            "completed_frameworks",
            Value::Array(
                state
                    .completed_frameworks()
                    .iter()
                    .map(|f| framework(f, state))
                    .collect(),
            ),
        ),
    ])
}

/// `Response.GetExecutors`: every executor the master knows (launched
/// with an `ExecutorInfo`, or reported by a re-registering agent), with
/// its agent, as Mesos's master lists its frameworks' executors.
pub fn get_executors(state: &State) -> Value {
    let format = &wire::v1::types::ResourceFormat::LEGACY;
    let executors: Vec<Value> = state
        .frameworks()
        .values()
        .chain(state.completed_frameworks().iter())
        .flat_map(|f| f.executors().iter())
        .flat_map(|(agent_id, on_agent)| {
            on_agent.values().map(move |info| {
                json!({
                    "executor_info": wire::v1::types::ExecutorInfo::from_internal(info, format),
                    "agent_id": agent_id,
                })
            })
        })
        .collect();
    object(vec![("executors", Value::Array(executors))])
}

/// `Response.GetState`.
pub fn get_state(state: &State) -> Value {
    json!({
        "get_tasks": get_tasks(state),
        "get_executors": get_executors(state),
        "get_frameworks": get_frameworks(state),
        "get_agents": get_agents(state),
    })
}

/// The body of the answer to `GET_STATE`, `{"get_state": ..., "type":
/// "GET_STATE"}`, byte for byte what rendering
/// `response("GET_STATE", get_state(state))` gives, but written one
/// record at a time: each agent and framework becomes a value and is
/// written and dropped before the next, so a large state is never a whole
/// tree of values in memory, and each task is copied from the fragment it
/// keeps (`rendered.rs`), made from that same value on first use. Keys are in the order a `Value`'s
/// object writes them (sorted), and empty lists are left out as there.
pub fn get_state_body(state: &State) -> String {
    serde_json::to_string(&GetStateAnswer(state)).unwrap_or_default()
}

struct GetStateAnswer<'a>(&'a State);

impl Serialize for GetStateAnswer<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let mut map = ser.serialize_map(Some(2))?;
        map.serialize_entry("get_state", &GetState(self.0))?;
        map.serialize_entry("type", "GET_STATE")?;
        map.end()
    }
}

/// `Response.GetState`, streamed (see [`get_state_body`]).
struct GetState<'a>(&'a State);

impl Serialize for GetState<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let state = self.0;
        let all = || {
            state
                .frameworks()
                .values()
                .chain(state.completed_frameworks().iter())
        };
        let mut map = ser.serialize_map(Some(4))?;
        map.serialize_entry(
            "get_agents",
            &Lists2(
                ("agents", Lazy(|| state.agents().values().map(agent))),
                (
                    "recovered_agents",
                    Lazy(|| {
                        state
                            .recovered()
                            .values()
                            .map(|a| to_value(AgentInfo::from_internal(a)))
                    }),
                ),
            ),
        )?;
        map.serialize_entry("get_executors", &get_executors(state))?;
        map.serialize_entry(
            "get_frameworks",
            &Lists2(
                (
                    "completed_frameworks",
                    Lazy(|| {
                        state
                            .completed_frameworks()
                            .iter()
                            .map(|f| framework(f, state))
                    }),
                ),
                (
                    "frameworks",
                    Lazy(|| state.frameworks().values().map(|f| framework(f, state))),
                ),
            ),
        )?;
        map.serialize_entry(
            "get_tasks",
            &Lists3(
                (
                    "completed_tasks",
                    Lazy(|| {
                        all().flat_map(|f| f.completed_tasks().iter().map(TaskRecord::v1_json))
                    }),
                ),
                (
                    "tasks",
                    Lazy(|| all().flat_map(|f| f.tasks().values().map(TaskRecord::v1_json))),
                ),
                (
                    "unreachable_tasks",
                    Lazy(|| {
                        all().flat_map(|f| f.unreachable_tasks().iter().map(TaskRecord::v1_json))
                    }),
                ),
            ),
        )?;
        map.end()
    }
}

/// A list whose elements are made one at a time as they are written
/// (values, or tasks' kept fragments).
struct Lazy<F>(F);

impl<F, I> Lazy<F>
where
    F: Fn() -> I,
    I: Iterator,
    I::Item: Serialize,
{
    fn is_empty(&self) -> bool {
        (self.0)().next().is_none()
    }
}

impl<F, I> Serialize for Lazy<F>
where
    F: Fn() -> I,
    I: Iterator,
    I::Item: Serialize,
{
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let mut seq = ser.serialize_seq(None)?;
        for v in (self.0)() {
            seq.serialize_element(&v)?;
        }
        seq.end()
    }
}

/// Writes `list` under `key` unless it is empty (as [`put`] leaves it out).
fn put_list<M, F, I>(map: &mut M, (key, list): &(&str, Lazy<F>)) -> Result<(), M::Error>
where
    M: SerializeMap,
    F: Fn() -> I,
    I: Iterator,
    I::Item: Serialize,
{
    if list.is_empty() {
        return Ok(());
    }
    map.serialize_entry(key, list)
}

/// An object of two lists, keys in sorted order.
struct Lists2<A, B>((&'static str, Lazy<A>), (&'static str, Lazy<B>));

impl<A, B, IA, IB> Serialize for Lists2<A, B>
where
    A: Fn() -> IA,
    IA: Iterator,
    IA::Item: Serialize,
    B: Fn() -> IB,
    IB: Iterator,
    IB::Item: Serialize,
{
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let mut map = ser.serialize_map(None)?;
        put_list(&mut map, &self.0)?;
        put_list(&mut map, &self.1)?;
        map.end()
    }
}

/// An object of three lists, keys in sorted order.
struct Lists3<A, B, C>(
    (&'static str, Lazy<A>),
    (&'static str, Lazy<B>),
    (&'static str, Lazy<C>),
);

impl<A, B, C, IA, IB, IC> Serialize for Lists3<A, B, C>
where
    A: Fn() -> IA,
    IA: Iterator,
    IA::Item: Serialize,
    B: Fn() -> IB,
    IB: Iterator,
    IB::Item: Serialize,
    C: Fn() -> IC,
    IC: Iterator,
    IC::Item: Serialize,
{
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let mut map = ser.serialize_map(None)?;
        put_list(&mut map, &self.0)?;
        put_list(&mut map, &self.1)?;
        put_list(&mut map, &self.2)?;
        map.end()
    }
}

/// `Response.GetMaster`.
pub fn get_master(master: &MasterView<'_>) -> Value {
    json!({
        "master_info": wire::v1::types::MasterInfo::from_internal(master.info),
        "start_time": master.start_time,
        "elected_time": master.start_time,
    })
}

/// `Response.GetRoles`: every role with a weight, a framework or
/// allocated resources, and `*`.
pub fn get_roles(
    master: &MasterView<'_>,
    weights: &std::collections::HashMap<String, f64>,
) -> Value {
    let mut by_role: std::collections::BTreeMap<String, (Vec<Value>, Resources)> =
        Default::default();
    by_role.entry("*".into()).or_default();
    for role in weights.keys().chain(master.state.quotas().keys()) {
        by_role.entry(role.clone()).or_default();
    }
    for f in master.state.frameworks().values() {
        for role in &f.info.roles {
            by_role
                .entry(role.clone())
                .or_default()
                .0
                .push(to_value(&f.id));
        }
        for t in f.tasks().values().filter(|t| !t.state.is_terminal()) {
            let e = by_role.entry(t.role.clone()).or_default();
            e.1 = e.1.plus(&t.resources);
        }
    }
    let roles: Vec<Value> = by_role
        .into_iter()
        .map(|(name, (frameworks, allocated))| {
            let mut m = Map::new();
            m.insert("name".into(), json!(name));
            m.insert(
                "weight".into(),
                json!(weights.get(&name).copied().unwrap_or(1.0)),
            );
            put(&mut m, "frameworks", Value::Array(frameworks));
            put(&mut m, "resources", resources(&allocated, None));
            if let Some(q) = master.state.quotas().get(&name) {
                m.insert("quota".into(), crate::master::quota::config_json(q));
            }
            Value::Object(m)
        })
        .collect();
    object(vec![("roles", Value::Array(roles))])
}

/// `Response.GetWeights`.
pub fn get_weights(weights: &std::collections::HashMap<String, f64>) -> Value {
    let mut list: Vec<(&String, &f64)> = weights.iter().collect();
    list.sort_by(|a, b| a.0.cmp(b.0));
    object(vec![(
        "weight_infos",
        Value::Array(
            list.into_iter()
                .map(|(role, weight)| json!({"role": role, "weight": weight}))
                .collect(),
        ),
    )])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operator_api::response;

    #[test]
    fn get_state_streamed_is_the_tree_rendered() {
        for frameworks in [0, 1, 5] {
            let state = crate::master::http::tests::state(frameworks);
            let tree = response("GET_STATE", get_state(&state)).to_string();
            assert_eq!(get_state_body(&state), tree, "{frameworks} frameworks");
        }
        // Recovered agents and a completed framework too.
        let mut state = crate::master::http::tests::state(3);
        let id = state.frameworks().keys().last().cloned().unwrap();
        state.complete_framework(&id, 2.0, 10);
        let tree = response("GET_STATE", get_state(&state)).to_string();
        assert!(tree.contains("completed_frameworks"), "{tree}");
        assert_eq!(get_state_body(&state), tree);
    }
}
