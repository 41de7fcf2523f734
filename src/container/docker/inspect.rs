//! What `docker inspect --type=container` says about a container, read
//! from its JSON: the state (status, pid, exit code, whether the kernel's
//! OOM killer ended it), the memory limit, and the container's address.
//!
//! Mesos counterpart: `Docker::Container::create` in `src/docker/docker.cpp`.

use serde::Deserialize;

/// A container as `docker inspect` describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Inspect {
    /// The full container id (the name of its cgroups).
    pub id: String,
    /// The name without Docker's leading `/`.
    pub name: String,
    pub state: ContainerState,
    /// `HostConfig.Memory`: the limit in bytes (0: none).
    pub memory_limit: u64,
    /// The container's address on its network (empty on `host`/`none`).
    pub ip_address: String,
}

/// `State`.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerState {
    pub status: Status,
    /// The init process's pid on the host; 0 unless running.
    pub pid: i32,
    pub exit_code: i32,
    /// Set when the OOM killer killed a process of the container, even if
    /// its init then exited 0: read both.
    pub oom_killed: bool,
    /// Docker's own error, e.g. why the container could not start.
    pub error: String,
}

/// `State.Status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Created,
    Running,
    Paused,
    Restarting,
    Removing,
    Exited,
    Dead,
}

impl Status {
    fn parse(text: &str) -> Option<Status> {
        Some(match text {
            "created" => Status::Created,
            "running" => Status::Running,
            "paused" => Status::Paused,
            "restarting" => Status::Restarting,
            "removing" => Status::Removing,
            "exited" => Status::Exited,
            "dead" => Status::Dead,
            _ => return None,
        })
    }

    /// Whether its processes may still run.
    pub fn is_live(self) -> bool {
        matches!(
            self,
            Status::Running | Status::Paused | Status::Restarting | Status::Created
        )
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Raw {
    id: String,
    #[serde(default)]
    name: String,
    state: RawState,
    #[serde(default)]
    host_config: Option<RawHostConfig>,
    #[serde(default)]
    network_settings: Option<RawNetwork>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawState {
    status: String,
    #[serde(default)]
    pid: i32,
    #[serde(default)]
    exit_code: i32,
    #[serde(default, rename = "OOMKilled")]
    oom_killed: bool,
    #[serde(default)]
    error: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawHostConfig {
    #[serde(default)]
    memory: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawNetwork {
    #[serde(default, rename = "IPAddress")]
    ip_address: String,
    #[serde(default)]
    networks: std::collections::BTreeMap<String, RawEndpoint>,
}

#[derive(Deserialize)]
struct RawEndpoint {
    #[serde(default, rename = "IPAddress")]
    ip_address: String,
}

/// Reads the output of `docker inspect` of one container (a JSON array of
/// one object).
pub fn parse_inspect(text: &str) -> Result<Inspect, String> {
    let mut all: Vec<Raw> = serde_json::from_str(text).map_err(|e| e.to_string())?;
    if all.len() != 1 {
        return Err(format!("expected one container, got {}", all.len()));
    }
    let raw = all.remove(0);
    let status = Status::parse(&raw.state.status)
        .ok_or_else(|| format!("unknown status '{}'", raw.state.status))?;
    let ip_address = raw
        .network_settings
        .map(|n| {
            if n.ip_address.is_empty() {
                n.networks
                    .into_values()
                    .map(|e| e.ip_address)
                    .find(|ip| !ip.is_empty())
                    .unwrap_or_default()
            } else {
                n.ip_address
            }
        })
        .unwrap_or_default();
    Ok(Inspect {
        id: raw.id,
        name: raw.name.trim_start_matches('/').to_owned(),
        state: ContainerState {
            status,
            pid: raw.state.pid,
            exit_code: raw.state.exit_code,
            oom_killed: raw.state.oom_killed,
            error: raw.state.error,
        },
        memory_limit: raw.host_config.map(|h| h.memory).unwrap_or(0),
        ip_address,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const RUNNING: &str = r#"[{"Id": "abc123", "Name": "/mesos-c1",
        "State": {"Status": "running", "Running": true, "Pid": 4242, "ExitCode": 0,
                  "OOMKilled": false, "Error": ""},
        "HostConfig": {"Memory": 67108864},
        "NetworkSettings": {"IPAddress": "172.17.0.2", "Networks": {}}}]"#;

    #[test]
    fn inspect_output_is_read_for_state_limit_and_address() {
        let i = parse_inspect(RUNNING).unwrap();
        assert_eq!(i.id, "abc123");
        assert_eq!(i.name, "mesos-c1");
        assert_eq!(i.state.status, Status::Running);
        assert_eq!(i.state.pid, 4242);
        assert_eq!(i.memory_limit, 64 << 20);
        assert_eq!(i.ip_address, "172.17.0.2");

        let cases = [
            // An OOM kill of a child: exit 0 but OOMKilled.
            (
                r#"[{"Id": "x", "State": {"Status": "exited", "ExitCode": 0, "OOMKilled": true}}]"#,
                Status::Exited,
                0,
                true,
            ),
            (
                r#"[{"Id": "x", "State": {"Status": "exited", "ExitCode": 137, "OOMKilled": true}}]"#,
                Status::Exited,
                137,
                true,
            ),
            (
                r#"[{"Id": "x", "State": {"Status": "created", "Error": "exec: nope"}}]"#,
                Status::Created,
                0,
                false,
            ),
        ];
        for (text, status, code, oom) in cases {
            let i = parse_inspect(text).unwrap();
            assert_eq!(
                (i.state.status, i.state.exit_code, i.state.oom_killed),
                (status, code, oom),
                "{text}"
            );
        }
        // A user network's address is under Networks.
        let user = r#"[{"Id": "x", "State": {"Status": "running"},
            "NetworkSettings": {"IPAddress": "", "Networks": {"app": {"IPAddress": "10.0.0.5"}}}}]"#;
        assert_eq!(parse_inspect(user).unwrap().ip_address, "10.0.0.5");
    }

    #[test]
    fn bad_inspect_output_is_an_error() {
        for text in [
            "",
            "[]",
            "{}",
            r#"[{"Id": "x"}]"#,
            r#"[{"Id": "x", "State": {"Status": "weird"}}]"#,
            &format!("[{0},{0}]", &RUNNING[1..RUNNING.len() - 1]),
        ] {
            assert!(parse_inspect(text).is_err(), "{text}");
        }
    }
}
