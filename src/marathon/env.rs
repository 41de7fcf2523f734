//! The environment Marathon gives a task: the app's `env`, then its
//! ports (`PORT0`…, `PORT`, `PORTS`, `PORT_<NAME>`, each with
//! `--env_vars_prefix`), `HOST`, and the `MARATHON_APP_*` and
//! `MESOS_TASK_ID` variables.

use std::collections::BTreeMap;

use super::app::App;

/// Label keys and values past this length are left out, as Marathon does.
const MAX_LABEL: usize = 512;

/// What a launch adds to the app's own definition.
pub struct Launch<'a> {
    pub task_id: &'a str,
    pub host: &'a str,
    /// Host ports (or, in a bridged network, container ports when no host
    /// port is mapped), in the app's port order.
    pub ports: &'a [u32],
    /// The names of those ports, where given.
    pub port_names: &'a [Option<String>],
    pub prefix: &'a str,
}

/// The variables of one task.
pub fn task_env(app: &App, launch: &Launch) -> BTreeMap<String, String> {
    let mut env = app.env.clone();
    let p = launch.prefix;
    for (i, port) in launch.ports.iter().enumerate() {
        env.insert(format!("{p}PORT{i}"), port.to_string());
        if let Some(Some(name)) = launch.port_names.get(i) {
            env.insert(format!("{p}PORT_{}", sanitize(name)), port.to_string());
        }
    }
    if let Some(first) = launch.ports.first() {
        env.insert(format!("{p}PORT"), first.to_string());
        let all: Vec<String> = launch.ports.iter().map(u32::to_string).collect();
        env.insert(format!("{p}PORTS"), all.join(","));
    }
    env.insert(format!("{p}HOST"), launch.host.to_owned());
    env.insert("MARATHON_APP_ID".into(), app.id.to_string());
    env.insert("MARATHON_APP_VERSION".into(), app.version.clone());
    let image = app
        .container
        .as_ref()
        .and_then(|c| c.docker.as_ref())
        .map(|d| d.image.clone());
    if let Some(image) = image {
        env.insert("MARATHON_APP_DOCKER_IMAGE".into(), image);
    }
    env.insert("MARATHON_APP_RESOURCE_CPUS".into(), app.cpus.to_string());
    env.insert("MARATHON_APP_RESOURCE_MEM".into(), app.mem.to_string());
    env.insert("MARATHON_APP_RESOURCE_DISK".into(), app.disk.to_string());
    env.insert("MARATHON_APP_RESOURCE_GPUS".into(), app.gpus.to_string());
    let labels: Vec<(&String, &String)> = app
        .labels
        .iter()
        .filter(|(k, v)| k.len() <= MAX_LABEL && v.len() <= MAX_LABEL)
        .collect();
    let names: Vec<String> = labels.iter().map(|(k, _)| sanitize(k)).collect();
    env.insert("MARATHON_APP_LABELS".into(), names.join(" "));
    for (name, (_, value)) in names.iter().zip(&labels) {
        env.insert(format!("MARATHON_APP_LABEL_{name}"), (*value).clone());
    }
    env.insert("MESOS_TASK_ID".into(), launch.task_id.to_owned());
    env
}

/// Upper case, and anything but letters, digits and `_` becomes `_`.
fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::marathon::path::PathId;
    use serde_json::json;

    #[test]
    fn a_task_sees_its_ports_host_and_app() {
        let mut app = App::from_json(
            &json!({"id": "/prod/web", "cmd": "x", "cpus": 0.5, "mem": 64,
                    "env": {"A": "b"}, "labels": {"team": "x", "haproxy-group": "ext"}}),
            &PathId::root(),
        )
        .unwrap();
        app.version = "2026-12-03T11:00:00.000Z".into();
        let names = [Some("http".to_owned()), None];
        let env = task_env(
            &app,
            &Launch {
                task_id: "prod_web.instance-1._app.1",
                host: "agent1",
                ports: &[31001, 31002],
                port_names: &names,
                prefix: "",
            },
        );
        let want = [
            ("A", "b"),
            ("PORT0", "31001"),
            ("PORT1", "31002"),
            ("PORT", "31001"),
            ("PORTS", "31001,31002"),
            ("PORT_HTTP", "31001"),
            ("HOST", "agent1"),
            ("MARATHON_APP_ID", "/prod/web"),
            ("MARATHON_APP_VERSION", "2026-12-03T11:00:00.000Z"),
            ("MARATHON_APP_RESOURCE_CPUS", "0.5"),
            ("MARATHON_APP_RESOURCE_MEM", "64"),
            ("MARATHON_APP_LABELS", "HAPROXY_GROUP TEAM"),
            ("MARATHON_APP_LABEL_HAPROXY_GROUP", "ext"),
            ("MESOS_TASK_ID", "prod_web.instance-1._app.1"),
        ];
        for (k, v) in want {
            assert_eq!(env.get(k).map(String::as_str), Some(v), "{k}");
        }
        assert!(!env.contains_key("MARATHON_APP_DOCKER_IMAGE"));
        let prefixed = task_env(
            &app,
            &Launch {
                task_id: "t",
                host: "h",
                ports: &[1],
                port_names: &[],
                prefix: "APP_",
            },
        );
        assert_eq!(prefixed.get("APP_PORT0").map(String::as_str), Some("1"));
        assert_eq!(prefixed.get("APP_HOST").map(String::as_str), Some("h"));
        assert!(!prefixed.contains_key("PORT0"));
    }
}
