//! What mesos-dns knows of the cluster: agents, frameworks and their tasks,
//! read from the master's `/master/state` (v0 JSON) or from the operator
//! event stream (`SUBSCRIBED`'s `get_state`, then `TASK_ADDED`,
//! `TASK_UPDATED`, `AGENT_*`, `FRAMEWORK_*`), in one shape. Pure: no I/O
//! beyond resolving a host name that is not an IP. Outside data is read
//! leniently: what is missing or malformed is left out, never a panic.

use std::collections::BTreeMap;
use std::net::{IpAddr, ToSocketAddrs};

use serde_json::Value;

/// An agent as records need it.
#[derive(Debug, Clone, PartialEq)]
pub struct Agent {
    /// The host of its pid (`slave(1)@host:port`).
    pub host: String,
    pub port: Option<u16>,
    /// `host` as IPs (itself when it is one, else resolved).
    pub ips: Vec<IpAddr>,
}

/// A framework as records need it.
#[derive(Debug, Clone, PartialEq)]
pub struct Framework {
    pub name: String,
    pub ips: Vec<IpAddr>,
    /// The scheduler's port, when its pid is known.
    pub port: Option<u16>,
}

/// A DiscoveryInfo port.
#[derive(Debug, Clone, PartialEq)]
pub struct DiscoveryPort {
    pub number: u16,
    pub name: String,
    pub protocol: String,
}

/// A task as records need it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Task {
    pub id: String,
    pub name: String,
    pub framework_id: String,
    pub agent_id: String,
    /// `TASK_RUNNING`, ...
    pub state: String,
    /// The latest status's `healthy`, when it says.
    pub healthy: Option<bool>,
    /// From the latest `TASK_RUNNING` status.
    pub netinfo_ips: Vec<IpAddr>,
    pub mesos_ips: Vec<IpAddr>,
    pub docker_ips: Vec<IpAddr>,
    /// Timestamp of the status the IPs above come from.
    pub running_timestamp: f64,
    /// The `ports` resource, expanded.
    pub ports: Vec<u16>,
    /// DiscoveryInfo's name; empty when it has none.
    pub discovery_name: String,
    pub discovery_ports: Vec<DiscoveryPort>,
}

/// The cluster as last heard of.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cluster {
    /// `ip:port` of the leading master.
    pub leader: Option<String>,
    pub agents: BTreeMap<String, Agent>,
    pub frameworks: BTreeMap<String, Framework>,
    /// By (framework id, task id).
    pub tasks: BTreeMap<(String, String), Task>,
}

/// An event of the stream that changes nothing records need (`HEARTBEAT`,
/// unknown types, tasks never added) is `Ignored`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Changed,
    Ignored,
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    let mut v = v;
    for key in path {
        v = &v[*key];
    }
    v.as_str().unwrap_or("")
}

fn list(v: &Value) -> &[Value] {
    v.as_array().map(Vec::as_slice).unwrap_or(&[])
}

/// `name@host:port` -> (host, port).
fn pid_host_port(pid: &str) -> Option<(String, Option<u16>)> {
    let address = pid.split_once('@')?.1;
    let (host, port) = address.rsplit_once(':')?;
    Some((host.to_string(), port.parse().ok()))
}

/// The host as IPs: itself when it is one, else resolved (an empty list
/// when it does not resolve).
pub fn host_ips(host: &str) -> Vec<IpAddr> {
    if host.is_empty() {
        return Vec::new();
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        return vec![ip];
    }
    let mut ips: Vec<IpAddr> = (host, 0)
        .to_socket_addrs()
        .map(|addrs| addrs.map(|a| a.ip()).collect())
        .unwrap_or_default();
    ips.dedup();
    ips
}

fn ips_of(texts: impl Iterator<Item = String>) -> Vec<IpAddr> {
    texts.filter_map(|t| t.parse().ok()).collect()
}

/// `"[31000-31001, 31005-31005]"` expanded.
fn parse_port_ranges(text: &str) -> Vec<u16> {
    let mut ports = Vec::new();
    for range in text.trim_matches(|c| c == '[' || c == ']').split(',') {
        let Some((a, b)) = range.trim().split_once('-') else {
            continue;
        };
        if let (Ok(a), Ok(b)) = (a.trim().parse::<u16>(), b.trim().parse::<u16>()) {
            ports.extend(a..=b.max(a));
        }
    }
    ports
}

/// The v1 `ports` resource (`ranges.range[] {begin, end}`).
fn v1_ports(resources: &Value) -> Vec<u16> {
    let mut ports = Vec::new();
    for r in list(resources) {
        if r["name"] != "ports" {
            continue;
        }
        for range in list(&r["ranges"]["range"]) {
            let (Some(a), Some(b)) = (range["begin"].as_u64(), range["end"].as_u64()) else {
                continue;
            };
            if let (Ok(a), Ok(b)) = (u16::try_from(a), u16::try_from(b)) {
                ports.extend(a..=b.max(a));
            }
        }
    }
    ports
}

fn discovery(task: &mut Task, d: &Value) {
    task.discovery_name = str_at(d, &["name"]).to_string();
    task.discovery_ports = list(&d["ports"]["ports"])
        .iter()
        .filter_map(|p| {
            Some(DiscoveryPort {
                number: u16::try_from(p["number"].as_u64()?).ok()?,
                name: str_at(p, &["name"]).to_string(),
                protocol: str_at(p, &["protocol"]).to_string(),
            })
        })
        .collect();
}

/// A status's labels: v0 `[{key, value}]`, v1 `{labels: [...]}`.
fn label_ips(status: &Value, key: &str) -> Vec<IpAddr> {
    let labels = if status["labels"].is_array() {
        list(&status["labels"])
    } else {
        list(&status["labels"]["labels"])
    };
    ips_of(
        labels
            .iter()
            .filter(|l| l["key"] == key)
            .map(|l| str_at(l, &["value"]).to_string()),
    )
}

/// Takes a status (v0 or v1 JSON) in: its health when it is the newest,
/// and its IPs when it is the latest `TASK_RUNNING` one.
fn apply_status(task: &mut Task, status: &Value, newest: bool) {
    if newest {
        task.healthy = status["healthy"].as_bool();
    }
    if status["state"] != "TASK_RUNNING" {
        return;
    }
    let timestamp = status["timestamp"].as_f64().unwrap_or(0.0);
    if !newest && timestamp < task.running_timestamp {
        return;
    }
    task.running_timestamp = timestamp;
    task.netinfo_ips = ips_of(
        list(&status["container_status"]["network_infos"])
            .iter()
            .flat_map(|n| {
                let many: Vec<String> = list(&n["ip_addresses"])
                    .iter()
                    .map(|a| str_at(a, &["ip_address"]).to_string())
                    .collect();
                if many.is_empty() {
                    // Mesos 0.25's single `ip_address`.
                    vec![str_at(n, &["ip_address"]).to_string()]
                } else {
                    many
                }
            }),
    );
    task.mesos_ips = label_ips(status, "MesosContainerizer.NetworkSettings.IPAddress");
    task.docker_ips = label_ips(status, "Docker.NetworkSettings.IPAddress");
}

/// All of a task's statuses, in no particular order (as Mesos-DNS warns).
fn take_statuses(task: &mut Task, statuses: &[Value]) {
    let stamp = |s: &Value| s["timestamp"].as_f64().unwrap_or(0.0);
    let newest = statuses
        .iter()
        .enumerate()
        .max_by(|(_, a), (_, b)| stamp(a).total_cmp(&stamp(b)))
        .map(|(i, _)| i);
    for (i, s) in statuses.iter().enumerate() {
        apply_status(task, s, Some(i) == newest);
    }
}

/// A v1 `Task`.
fn v1_task(t: &Value) -> Task {
    let mut task = Task {
        id: str_at(t, &["task_id", "value"]).to_string(),
        name: str_at(t, &["name"]).to_string(),
        framework_id: str_at(t, &["framework_id", "value"]).to_string(),
        agent_id: str_at(t, &["agent_id", "value"]).to_string(),
        state: str_at(t, &["state"]).to_string(),
        ports: v1_ports(&t["resources"]),
        ..Task::default()
    };
    discovery(&mut task, &t["discovery"]);
    take_statuses(&mut task, list(&t["statuses"]));
    task
}

/// A v0 (`/master/state`) task.
fn v0_task(t: &Value) -> Task {
    let mut task = Task {
        id: str_at(t, &["id"]).to_string(),
        name: str_at(t, &["name"]).to_string(),
        framework_id: str_at(t, &["framework_id"]).to_string(),
        agent_id: str_at(t, &["slave_id"]).to_string(),
        state: str_at(t, &["state"]).to_string(),
        ports: parse_port_ranges(str_at(t, &["resources", "ports"])),
        ..Task::default()
    };
    discovery(&mut task, &t["discovery"]);
    take_statuses(&mut task, list(&t["statuses"]));
    task
}

/// A v1 `Response.GetAgents.Agent`.
fn v1_agent(a: &Value) -> Option<(String, Agent)> {
    let id = str_at(a, &["agent_info", "id", "value"]).to_string();
    if id.is_empty() {
        return None;
    }
    let (host, port) = pid_host_port(str_at(a, &["pid"])).unwrap_or_else(|| {
        (
            str_at(a, &["agent_info", "hostname"]).to_string(),
            a["agent_info"]["port"]
                .as_u64()
                .and_then(|p| u16::try_from(p).ok()),
        )
    });
    let ips = host_ips(&host);
    Some((id, Agent { host, port, ips }))
}

/// A v1 `FrameworkInfo` (the v1 API has no scheduler pid).
fn v1_framework(info: &Value) -> Option<(String, Framework)> {
    let id = str_at(info, &["id", "value"]).to_string();
    if id.is_empty() {
        return None;
    }
    Some((
        id,
        Framework {
            name: str_at(info, &["name"]).to_string(),
            ips: host_ips(str_at(info, &["hostname"])),
            port: None,
        },
    ))
}

impl Cluster {
    /// From the v0 `/master/state`.
    pub fn from_master_state(state: &Value) -> Cluster {
        let mut c = Cluster {
            leader: pid_host_port(str_at(state, &["leader"]))
                .and_then(|(h, p)| Some(format!("{h}:{}", p?))),
            ..Cluster::default()
        };
        for a in list(&state["slaves"]) {
            let id = str_at(a, &["id"]).to_string();
            if id.is_empty() {
                continue;
            }
            let (host, port) = pid_host_port(str_at(a, &["pid"]))
                .unwrap_or_else(|| (str_at(a, &["hostname"]).to_string(), None));
            let ips = host_ips(&host);
            c.agents.insert(id, Agent { host, port, ips });
        }
        for f in list(&state["frameworks"]) {
            let id = str_at(f, &["id"]).to_string();
            if id.is_empty() {
                continue;
            }
            let (host, port) = pid_host_port(str_at(f, &["pid"]))
                .unwrap_or_else(|| (str_at(f, &["hostname"]).to_string(), None));
            c.frameworks.insert(
                id.clone(),
                Framework {
                    name: str_at(f, &["name"]).to_string(),
                    ips: host_ips(&host),
                    port,
                },
            );
            for t in list(&f["tasks"]) {
                let mut task = v0_task(t);
                if task.framework_id.is_empty() {
                    task.framework_id = id.clone();
                }
                c.tasks
                    .insert((task.framework_id.clone(), task.id.clone()), task);
            }
        }
        c
    }

    /// From `SUBSCRIBED`'s `get_state` (or a `GET_STATE` answer's); the
    /// leader is the master that sent it.
    pub fn from_get_state(get_state: &Value, leader: Option<String>) -> Cluster {
        let mut c = Cluster {
            leader,
            ..Cluster::default()
        };
        for a in list(&get_state["get_agents"]["agents"]) {
            if let Some((id, agent)) = v1_agent(a) {
                c.agents.insert(id, agent);
            }
        }
        for f in list(&get_state["get_frameworks"]["frameworks"]) {
            if let Some((id, fw)) = v1_framework(&f["framework_info"]) {
                c.frameworks.insert(id, fw);
            }
        }
        for t in list(&get_state["get_tasks"]["tasks"]) {
            let task = v1_task(t);
            c.tasks
                .insert((task.framework_id.clone(), task.id.clone()), task);
        }
        c
    }

    /// Applies one v1 operator `Event` other than `SUBSCRIBED`.
    pub fn apply(&mut self, event: &Value) -> Applied {
        match event["type"].as_str().unwrap_or("") {
            "TASK_ADDED" => {
                let task = v1_task(&event["task_added"]["task"]);
                if task.id.is_empty() {
                    return Applied::Ignored;
                }
                self.tasks
                    .insert((task.framework_id.clone(), task.id.clone()), task);
            }
            "TASK_UPDATED" => {
                let update = &event["task_updated"];
                let status = &update["status"];
                let key = (
                    str_at(update, &["framework_id", "value"]).to_string(),
                    str_at(status, &["task_id", "value"]).to_string(),
                );
                let Some(task) = self.tasks.get_mut(&key) else {
                    return Applied::Ignored;
                };
                task.state = str_at(update, &["state"]).to_string();
                apply_status(task, status, true);
            }
            "AGENT_ADDED" => {
                let Some((id, agent)) = v1_agent(&event["agent_added"]["agent"]) else {
                    return Applied::Ignored;
                };
                self.agents.insert(id, agent);
            }
            "AGENT_REMOVED" => {
                let id = str_at(&event["agent_removed"], &["agent_id", "value"]);
                if self.agents.remove(id).is_none() {
                    return Applied::Ignored;
                }
            }
            kind @ ("FRAMEWORK_ADDED" | "FRAMEWORK_UPDATED") => {
                let body = if kind == "FRAMEWORK_ADDED" {
                    &event["framework_added"]
                } else {
                    &event["framework_updated"]
                };
                let Some((id, fw)) = v1_framework(&body["framework"]["framework_info"]) else {
                    return Applied::Ignored;
                };
                self.frameworks.insert(id, fw);
            }
            "FRAMEWORK_REMOVED" => {
                let id = str_at(
                    &event["framework_removed"]["framework_info"],
                    &["id", "value"],
                );
                if self.frameworks.remove(id).is_none() {
                    return Applied::Ignored;
                }
                self.tasks.retain(|(f, _), _| f != id);
            }
            _ => return Applied::Ignored,
        }
        Applied::Changed
    }
}

/// The cluster the unit tests build records from: the leader at
/// `10.0.0.1:5050`, agent `X-S16` at `10.0.0.2:5051`, framework `F`
/// named `marathon` with its scheduler at `10.0.0.3:4000`, and running
/// tasks of their choosing.
#[cfg(test)]
pub(crate) mod fixture {
    use std::net::IpAddr;

    use super::{Agent, Cluster, Framework, Task};

    pub const AGENT: &str = "X-S16";

    pub fn cluster(tasks: impl IntoIterator<Item = Task>) -> Cluster {
        let mut c = Cluster {
            leader: Some("10.0.0.1:5050".into()),
            ..Cluster::default()
        };
        c.agents.insert(
            AGENT.into(),
            Agent {
                host: "10.0.0.2".into(),
                port: Some(5051),
                ips: vec![IpAddr::from([10, 0, 0, 2])],
            },
        );
        c.frameworks.insert(
            "F".into(),
            Framework {
                name: "marathon".into(),
                ips: vec![IpAddr::from([10, 0, 0, 3])],
                port: Some(4000),
            },
        );
        for task in tasks {
            c.tasks
                .insert((task.framework_id.clone(), task.id.clone()), task);
        }
        c
    }

    /// A running task of `F` on `X-S16` with one host port.
    pub fn task(id: &str, name: &str, port: u16) -> Task {
        Task {
            id: id.into(),
            name: name.into(),
            framework_id: "F".into(),
            agent_id: AGENT.into(),
            state: "TASK_RUNNING".into(),
            ports: vec![port],
            ..Task::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn port_ranges_expand() {
        assert_eq!(
            parse_port_ranges("[31000-31001, 31005-31005]"),
            vec![31000, 31001, 31005]
        );
        assert_eq!(parse_port_ranges(""), Vec::<u16>::new());
        assert_eq!(parse_port_ranges("[x-1, 70000-70001]"), Vec::<u16>::new());
    }

    #[test]
    fn v0_state_is_read() {
        let state = json!({
            "leader": "master@10.0.0.1:5050",
            "slaves": [{"id": "A-S16", "hostname": "h", "pid": "slave(1)@10.0.0.2:5051"}],
            "frameworks": [{"id": "F", "name": "marathon", "pid": "scheduler-1@10.0.0.3:4000",
                "tasks": [{"id": "mysql.1", "name": "mysql", "framework_id": "F", "slave_id": "A-S16",
                    "state": "TASK_RUNNING", "resources": {"ports": "[31172-31172]"},
                    "statuses": [
                        {"state": "TASK_RUNNING", "timestamp": 2.0, "healthy": true,
                         "labels": [{"key": "Docker.NetworkSettings.IPAddress", "value": "172.17.0.2"}],
                         "container_status": {"network_infos": [{"ip_addresses": [{"ip_address": "192.168.0.9"}]}]}},
                        {"state": "TASK_STARTING", "timestamp": 1.0}]}]}]
        });
        let c = Cluster::from_master_state(&state);
        assert_eq!(c.leader.as_deref(), Some("10.0.0.1:5050"));
        assert_eq!(c.agents["A-S16"].ips, vec![IpAddr::from([10, 0, 0, 2])]);
        assert_eq!(c.frameworks["F"].port, Some(4000));
        let t = &c.tasks[&("F".to_string(), "mysql.1".to_string())];
        assert_eq!(t.ports, vec![31172]);
        assert_eq!(t.healthy, Some(true));
        assert_eq!(t.netinfo_ips, vec![IpAddr::from([192, 168, 0, 9])]);
        assert_eq!(t.docker_ips, vec![IpAddr::from([172, 17, 0, 2])]);
    }

    #[test]
    fn malformed_state_is_read_as_far_as_it_goes() {
        for v in [
            json!(null),
            json!([1]),
            json!({"slaves": 3, "frameworks": [{"tasks": "x"}]}),
        ] {
            assert_eq!(Cluster::from_master_state(&v), Cluster::default());
            assert!(Cluster::from_get_state(&v, None).tasks.is_empty());
        }
    }

    #[test]
    fn events_change_the_cluster() {
        let get_state = json!({
            "get_agents": {"agents": [{"agent_info": {"id": {"value": "A-S1"}, "hostname": "h", "port": 5051},
                                       "pid": "slave(1)@127.0.0.1:5051"}]},
            "get_frameworks": {"frameworks": [{"framework_info": {"id": {"value": "F"}, "name": "fw", "hostname": "127.0.0.1"}}]},
        });
        let mut c = Cluster::from_get_state(&get_state, Some("127.0.0.1:5050".into()));
        let task = json!({"type": "TASK_ADDED", "task_added": {"task": {
            "task_id": {"value": "t1"}, "name": "web", "framework_id": {"value": "F"},
            "agent_id": {"value": "A-S1"}, "state": "TASK_STAGING",
            "resources": [{"name": "ports", "type": "RANGES", "ranges": {"range": [{"begin": 31000, "end": 31001}]}}],
            "discovery": {"name": "web", "ports": {"ports": [{"number": 80, "name": "http", "protocol": "tcp"}]}}}}});
        assert_eq!(c.apply(&task), Applied::Changed);
        let key = ("F".to_string(), "t1".to_string());
        assert_eq!(c.tasks[&key].ports, vec![31000, 31001]);
        assert_eq!(c.tasks[&key].discovery_ports[0].name, "http");
        let running = json!({"type": "TASK_UPDATED", "task_updated": {"framework_id": {"value": "F"},
            "state": "TASK_RUNNING", "status": {"task_id": {"value": "t1"}, "state": "TASK_RUNNING",
            "healthy": false, "timestamp": 5.0}}});
        assert_eq!(c.apply(&running), Applied::Changed);
        assert_eq!(c.tasks[&key].state, "TASK_RUNNING");
        assert_eq!(c.tasks[&key].healthy, Some(false));
        assert_eq!(c.apply(&json!({"type": "HEARTBEAT"})), Applied::Ignored);
        assert_eq!(c.apply(&json!({"type": "TASK_UPDATED"})), Applied::Ignored);
        let removed =
            json!({"type": "AGENT_REMOVED", "agent_removed": {"agent_id": {"value": "A-S1"}}});
        assert_eq!(c.apply(&removed), Applied::Changed);
        assert!(c.agents.is_empty());
        let gone = json!({"type": "FRAMEWORK_REMOVED", "framework_removed": {"framework_info": {"id": {"value": "F"}}}});
        assert_eq!(c.apply(&gone), Applied::Changed);
        assert!(c.tasks.is_empty() && c.frameworks.is_empty());
    }
}
