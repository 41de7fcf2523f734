//! The agent's `/containers` endpoint: for every running executor, its
//! container and what it uses, as Mesos's `slave/http.cpp` (`containers`)
//! writes it: `framework_id`, `executor_id`, `executor_name`, `source`,
//! `container_id`, `status` (`ContainerStatus`: the container id and the
//! executor's pid) and `statistics` (`ResourceStatistics`), the usage read
//! from the container's cgroups (or `/proc` under the posix isolators)
//! off the agent's thread.

use std::collections::HashMap;

use actors::http::{with_jsonp, Response};
use actors::Reply;
use serde_json::{json, Map, Value};
use wire::ids::ContainerId;

use super::state::AgentView;
use crate::container::Usage;

/// One running container, as read from the agent's state.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub framework_id: String,
    pub executor_id: String,
    pub executor_name: String,
    pub container_id: ContainerId,
    pub pid: i32,
    /// What the executor and its unfinished tasks hold.
    pub cpus: f64,
    pub mem_mb: f64,
}

/// Every running executor's container, as the agent's state has it, with
/// what the executor and its unfinished tasks hold.
pub fn running(agent: &AgentView<'_>) -> Vec<Entry> {
    agent
        .frameworks
        .iter()
        .flat_map(|(fid, f)| f.executors().values().map(move |e| (fid, e)))
        .filter_map(|(fid, e)| {
            let pid = e.container()?.pid();
            let held = e
                .tasks()
                .values()
                .filter(|t| !t.state.is_terminal())
                .fold(e.info().resources.clone(), |all, t| all.plus(&t.resources));
            Some(Entry {
                framework_id: fid.value.clone(),
                executor_id: e.info().executor_id.value.clone(),
                executor_name: e.info().name.clone().unwrap_or_default(),
                container_id: e.container_id().clone(),
                pid,
                cpus: held.scalar("cpus"),
                mem_mb: held.scalar("mem"),
            })
        })
        .collect()
}

/// Answers, once the containerizer has read what the running containers
/// use (off the agent's thread), with `render(entries, usage, now)`: what
/// `/containers`, `/monitor/statistics` and `GET_CONTAINERS` share.
pub fn with_usage(
    agent: &AgentView<'_>,
    render: impl FnOnce(&[Entry], &HashMap<ContainerId, Usage>, f64) -> Response + Send + 'static,
) -> Reply {
    let entries = running(agent);
    let containerizer = agent.containerizer.clone();
    Reply::later(async move {
        let ids: Vec<(ContainerId, i32)> = entries
            .iter()
            .map(|e| (e.container_id.clone(), e.pid))
            .collect();
        let usage = tokio::task::spawn_blocking(move || containerizer.usage(&ids))
            .await
            .unwrap_or_default();
        render(&entries, &usage, wire::mesos::now_secs())
    })
}

/// `/containers`.
pub fn containers(agent: &AgentView<'_>, query: Vec<(String, String)>) -> Reply {
    with_usage(agent, move |entries, usage, now| {
        let list: Vec<Value> = entries
            .iter()
            .map(|e| container_json(e, usage.get(&e.container_id), now))
            .collect();
        with_jsonp(Value::Array(list).to_string(), &query)
    })
}

/// One container's object; `statistics` only when its usage could be read.
pub fn container_json(entry: &Entry, usage: Option<&Usage>, now: f64) -> Value {
    let mut object = json!({
        "framework_id": entry.framework_id,
        "executor_id": entry.executor_id,
        "executor_name": entry.executor_name,
        "source": "",
        "container_id": entry.container_id.value,
        "status": {
            "container_id": {"value": entry.container_id.value},
            "executor_pid": entry.pid,
        },
    });
    if let (Some(u), Some(map)) = (usage, object.as_object_mut()) {
        map.insert("statistics".into(), statistics_json(entry, u, now));
    }
    object
}

/// Mesos's `ResourceStatistics` JSON: the figures measured, and the
/// limits (from the cgroups when they set them, else from the resources).
pub fn statistics_json(entry: &Entry, u: &Usage, now: f64) -> Value {
    let mut s = Map::new();
    let mut put = |key: &str, value: Value| {
        s.insert(key.to_owned(), value);
    };
    put("timestamp", json!(now));
    put("processes", json!(u.processes));
    put("threads", json!(u.threads));
    put("cpus_user_time_secs", json!(u.cpus_user_time_secs));
    put("cpus_system_time_secs", json!(u.cpus_system_time_secs));
    put("cpus_limit", json!(entry.cpus));
    if let Some(n) = u.cpus_nr_periods {
        put("cpus_nr_periods", json!(n));
    }
    if let Some(n) = u.cpus_nr_throttled {
        put("cpus_nr_throttled", json!(n));
    }
    if let Some(t) = u.cpus_throttled_time_secs {
        put("cpus_throttled_time_secs", json!(t));
    }
    put("mem_rss_bytes", json!(u.mem_rss_bytes));
    if let Some(total) = u.mem_total_bytes {
        put("mem_total_bytes", json!(total));
    }
    let mem_limit = u
        .mem_limit_bytes
        .unwrap_or((entry.mem_mb * 1024.0 * 1024.0) as u64);
    put("mem_limit_bytes", json!(mem_limit));
    if let Some(used) = u.disk_used_bytes {
        put("disk_used_bytes", json!(used));
    }
    if let Some(limit) = u.disk_limit_bytes {
        put("disk_limit_bytes", json!(limit));
    }
    Value::Object(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> Entry {
        Entry {
            framework_id: "f1".into(),
            executor_id: "e1".into(),
            executor_name: "sleepy".into(),
            container_id: ContainerId::new("c1"),
            pid: 42,
            cpus: 0.5,
            mem_mb: 64.0,
        }
    }

    #[test]
    fn a_container_is_written_as_mesos_writes_it() {
        let usage = Usage {
            processes: 2,
            threads: 3,
            cpus_user_time_secs: 1.5,
            cpus_system_time_secs: 0.25,
            cpus_nr_periods: Some(10),
            cpus_nr_throttled: Some(1),
            cpus_throttled_time_secs: Some(0.5),
            mem_rss_bytes: 4096,
            mem_total_bytes: Some(8192),
            mem_limit_bytes: Some(64 << 20),
            disk_used_bytes: Some(1024),
            disk_limit_bytes: None,
        };
        let got = container_json(&entry(), Some(&usage), 100.0);
        assert_eq!(
            got,
            json!({
                "framework_id": "f1",
                "executor_id": "e1",
                "executor_name": "sleepy",
                "source": "",
                "container_id": "c1",
                "status": {"container_id": {"value": "c1"}, "executor_pid": 42},
                "statistics": {
                    "timestamp": 100.0,
                    "processes": 2,
                    "threads": 3,
                    "cpus_user_time_secs": 1.5,
                    "cpus_system_time_secs": 0.25,
                    "cpus_limit": 0.5,
                    "cpus_nr_periods": 10,
                    "cpus_nr_throttled": 1,
                    "cpus_throttled_time_secs": 0.5,
                    "mem_rss_bytes": 4096,
                    "mem_total_bytes": 8192,
                    "mem_limit_bytes": 67108864,
                    "disk_used_bytes": 1024,
                },
            })
        );
    }

    #[test]
    fn without_usage_there_are_no_statistics_and_limits_fall_back_to_resources() {
        let got = container_json(&entry(), None, 1.0);
        assert!(got.get("statistics").is_none());
        let posix = statistics_json(&entry(), &Usage::default(), 1.0);
        assert_eq!(posix["mem_limit_bytes"], 64 << 20);
        assert!(posix.get("cpus_nr_throttled").is_none());
    }
}
