//! The `MESOS_*` environment of an executor: what the agent tells each
//! executor it launches (who its agent is, which framework and executor it
//! runs, where its sandbox is, how long it has to shut down) and how the
//! executor reads it back. Writing ([`ExecutorEnvironment::to_vars`]) and
//! parsing ([`ExecutorEnvironment::from_vars`]) sit side by side so that the
//! two ends cannot drift apart.
//!
//! Mesos counterpart: `executorEnvironment` in `src/slave/slave.cpp` and
//! the executor driver's reading of the same variables. The agent adds the
//! operator's `--executor_environment_variables`, the fetcher's variables
//! and the command's own environment around this list.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

use actors::Pid;
use wire::ids::{AgentId, ExecutorId, FrameworkId};

use crate::flags::{format_duration, parse_duration};

/// Mesos's `DEFAULT_EXECUTOR_SHUTDOWN_GRACE_PERIOD`.
pub const DEFAULT_SHUTDOWN_GRACE_PERIOD: Duration = Duration::from_secs(5);
/// Mesos's `DEFAULT_RECOVERY_TIMEOUT` (the agent's `--recovery_timeout`).
pub const DEFAULT_RECOVERY_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// The variables' names, as Mesos spells them (`SLAVE`, not `AGENT`).
mod var {
    pub const FRAMEWORK_ID: &str = "MESOS_FRAMEWORK_ID";
    pub const EXECUTOR_ID: &str = "MESOS_EXECUTOR_ID";
    pub const DIRECTORY: &str = "MESOS_DIRECTORY";
    pub const SANDBOX: &str = "MESOS_SANDBOX";
    pub const AGENT_ID: &str = "MESOS_SLAVE_ID";
    pub const AGENT_PID: &str = "MESOS_SLAVE_PID";
    pub const AGENT_ENDPOINT: &str = "MESOS_AGENT_ENDPOINT";
    pub const CHECKPOINT: &str = "MESOS_CHECKPOINT";
    pub const HTTP_COMMAND_EXECUTOR: &str = "MESOS_HTTP_COMMAND_EXECUTOR";
    pub const SHUTDOWN_GRACE_PERIOD: &str = "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD";
    pub const RECOVERY_TIMEOUT: &str = "MESOS_RECOVERY_TIMEOUT";
    pub const PORT: &str = "LIBPROCESS_PORT";
    pub const IP: &str = "LIBPROCESS_IP";
}

/// Why the environment does not describe an executor run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvironmentError {
    #[error("expecting '{0}' in the environment: executors are started by an agent")]
    Missing(&'static str),
    #[error("bad {name}='{value}': {reason}")]
    Bad {
        name: &'static str,
        value: String,
        reason: String,
    },
}

/// What an executor is told about its run.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutorEnvironment {
    /// `MESOS_FRAMEWORK_ID`; required.
    pub framework_id: FrameworkId,
    /// `MESOS_EXECUTOR_ID`; required.
    pub executor_id: ExecutorId,
    /// The sandbox on the host (`MESOS_DIRECTORY`); required.
    pub directory: PathBuf,
    /// The sandbox as the executor sees it (`MESOS_SANDBOX`; the directory
    /// if unset).
    pub sandbox: PathBuf,
    /// `MESOS_SLAVE_ID`: written empty, and read as `None`, before the
    /// agent is registered.
    pub agent_id: Option<AgentId>,
    /// The agent's pid (`MESOS_SLAVE_PID`); required.
    pub agent: Pid,
    /// The agent's `ip:port` (`MESOS_AGENT_ENDPOINT`), written only if set.
    pub agent_endpoint: Option<String>,
    /// Whether the framework checkpoints (`MESOS_CHECKPOINT=1`).
    pub checkpoint: bool,
    /// Whether the command executor is to use the v1 HTTP API
    /// (`MESOS_HTTP_COMMAND_EXECUTOR=1`; this agent always writes 0).
    pub http_command_executor: bool,
    /// How long the executor has to stop once shutdown begins
    /// (`MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD`, a Mesos duration).
    pub shutdown_grace_period: Duration,
    /// How long a checkpointing executor waits for a lost agent
    /// (`MESOS_RECOVERY_TIMEOUT`).
    pub recovery_timeout: Duration,
    /// Where the executor's node listens (`LIBPROCESS_IP`, default
    /// 127.0.0.1, and `LIBPROCESS_PORT`, default 0: any free port).
    pub ip: IpAddr,
    pub port: u16,
}

impl ExecutorEnvironment {
    /// The variables, in the order the agent sets them.
    pub fn to_vars(&self) -> Vec<(String, String)> {
        let flag = |b: bool| if b { "1" } else { "0" }.to_owned();
        let mut vars = vec![
            (var::FRAMEWORK_ID, self.framework_id.value.clone()),
            (var::EXECUTOR_ID, self.executor_id.value.clone()),
            (var::DIRECTORY, self.directory.display().to_string()),
            (var::SANDBOX, self.sandbox.display().to_string()),
            (
                var::AGENT_ID,
                self.agent_id
                    .as_ref()
                    .map(|i| i.value.clone())
                    .unwrap_or_default(),
            ),
            (var::AGENT_PID, self.agent.to_string()),
        ];
        if let Some(endpoint) = &self.agent_endpoint {
            vars.push((var::AGENT_ENDPOINT, endpoint.clone()));
        }
        vars.extend([
            (var::CHECKPOINT, flag(self.checkpoint)),
            (var::HTTP_COMMAND_EXECUTOR, flag(self.http_command_executor)),
            (
                var::SHUTDOWN_GRACE_PERIOD,
                format_duration(self.shutdown_grace_period),
            ),
            (
                var::RECOVERY_TIMEOUT,
                format_duration(self.recovery_timeout),
            ),
            (var::PORT, self.port.to_string()),
            (var::IP, self.ip.to_string()),
        ]);
        vars.into_iter()
            .map(|(name, value)| (name.to_owned(), value))
            .collect()
    }

    /// Reads the environment of this process.
    pub fn from_env() -> Result<ExecutorEnvironment, EnvironmentError> {
        ExecutorEnvironment::from_vars(|name| std::env::var(name).ok())
    }

    /// Reads the variables `var` gives. Empty values count as unset, except
    /// for `MESOS_AGENT_ENDPOINT` (kept as given) and the durations (an
    /// error).
    pub fn from_vars(
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<ExecutorEnvironment, EnvironmentError> {
        let set = |name: &str| var(name).filter(|v| !v.is_empty());
        let required = |name: &'static str| set(name).ok_or(EnvironmentError::Missing(name));
        let bad = |name: &'static str, value: &str, reason: String| EnvironmentError::Bad {
            name,
            value: value.to_owned(),
            reason,
        };
        let duration = |name: &'static str, default: Duration| match var(name) {
            Some(v) => parse_duration(&v).map_err(|reason| bad(name, &v, reason)),
            None => Ok(default),
        };
        let pid_text = required(var::AGENT_PID)?;
        let agent: Pid = pid_text
            .parse()
            .map_err(|e: actors::PidError| bad(var::AGENT_PID, &pid_text, e.to_string()))?;
        let framework_id = FrameworkId::new(required(var::FRAMEWORK_ID)?);
        let executor_id = ExecutorId::new(required(var::EXECUTOR_ID)?);
        let directory = PathBuf::from(required(var::DIRECTORY)?);
        let sandbox = set(var::SANDBOX).map_or_else(|| directory.clone(), PathBuf::from);
        let shutdown_grace_period =
            duration(var::SHUTDOWN_GRACE_PERIOD, DEFAULT_SHUTDOWN_GRACE_PERIOD)?;
        let recovery_timeout = duration(var::RECOVERY_TIMEOUT, DEFAULT_RECOVERY_TIMEOUT)?;
        let ip = match set(var::IP) {
            Some(ip) => ip
                .parse()
                .map_err(|e: std::net::AddrParseError| bad(var::IP, &ip, e.to_string()))?,
            None => IpAddr::V4(Ipv4Addr::LOCALHOST),
        };
        let port = match set(var::PORT) {
            Some(port) => port
                .parse()
                .map_err(|e: std::num::ParseIntError| bad(var::PORT, &port, e.to_string()))?,
            None => 0,
        };
        Ok(ExecutorEnvironment {
            framework_id,
            executor_id,
            directory,
            sandbox,
            agent_id: set(var::AGENT_ID).map(AgentId::new),
            agent,
            agent_endpoint: var(var::AGENT_ENDPOINT),
            checkpoint: var(var::CHECKPOINT).as_deref() == Some("1"),
            http_command_executor: var(var::HTTP_COMMAND_EXECUTOR).as_deref() == Some("1"),
            shutdown_grace_period,
            recovery_timeout,
            ip,
            port,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(vars: Vec<(String, String)>) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars.into_iter().collect();
        move |name| map.get(name).cloned()
    }

    fn pairs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn example() -> ExecutorEnvironment {
        ExecutorEnvironment {
            framework_id: FrameworkId::new("m-0001"),
            executor_id: ExecutorId::new("web"),
            directory: PathBuf::from("/var/lib/mesos/sandbox"),
            sandbox: PathBuf::from("/var/lib/mesos/sandbox"),
            agent_id: Some(AgentId::new("m-S3")),
            agent: "slave(1)@10.0.0.7:5051".parse().unwrap(),
            agent_endpoint: Some("10.0.0.7:5051".into()),
            checkpoint: true,
            http_command_executor: false,
            shutdown_grace_period: Duration::from_secs(8),
            recovery_timeout: Duration::from_secs(60),
            ip: "10.0.0.7".parse().unwrap(),
            port: 0,
        }
    }

    const REQUIRED: &[(&str, &str)] = &[
        ("MESOS_SLAVE_PID", "slave(1)@10.0.0.7:5051"),
        ("MESOS_FRAMEWORK_ID", "m-0001"),
        ("MESOS_EXECUTOR_ID", "web"),
        ("MESOS_DIRECTORY", "/var/lib/mesos/sandbox"),
    ];

    #[test]
    fn the_agent_writes_every_variable_in_its_order() {
        assert_eq!(
            example().to_vars(),
            pairs(&[
                ("MESOS_FRAMEWORK_ID", "m-0001"),
                ("MESOS_EXECUTOR_ID", "web"),
                ("MESOS_DIRECTORY", "/var/lib/mesos/sandbox"),
                ("MESOS_SANDBOX", "/var/lib/mesos/sandbox"),
                ("MESOS_SLAVE_ID", "m-S3"),
                ("MESOS_SLAVE_PID", "slave(1)@10.0.0.7:5051"),
                ("MESOS_AGENT_ENDPOINT", "10.0.0.7:5051"),
                ("MESOS_CHECKPOINT", "1"),
                ("MESOS_HTTP_COMMAND_EXECUTOR", "0"),
                ("MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD", "8secs"),
                ("MESOS_RECOVERY_TIMEOUT", "1mins"),
                ("LIBPROCESS_PORT", "0"),
                ("LIBPROCESS_IP", "10.0.0.7"),
            ])
        );
    }

    #[test]
    fn what_the_agent_writes_the_executor_reads_back() {
        let written = example();
        assert_eq!(
            ExecutorEnvironment::from_vars(lookup(written.to_vars())),
            Ok(written)
        );
        let unregistered = ExecutorEnvironment {
            agent_id: None,
            agent_endpoint: None,
            checkpoint: false,
            http_command_executor: true,
            sandbox: PathBuf::from("/mnt/mesos/sandbox"),
            ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            port: 5052,
            ..example()
        };
        let vars = unregistered.to_vars();
        assert!(vars.contains(&("MESOS_SLAVE_ID".into(), String::new())));
        assert!(!vars.iter().any(|(name, _)| name == "MESOS_AGENT_ENDPOINT"));
        assert_eq!(
            ExecutorEnvironment::from_vars(lookup(vars)),
            Ok(unregistered)
        );
    }

    #[test]
    fn only_the_required_variables_give_the_defaults() {
        let env = ExecutorEnvironment::from_vars(lookup(pairs(REQUIRED))).unwrap();
        assert_eq!(env.sandbox, env.directory);
        assert_eq!(env.agent_id, None);
        assert_eq!(env.agent_endpoint, None);
        assert!(!env.checkpoint && !env.http_command_executor);
        assert_eq!(env.shutdown_grace_period, DEFAULT_SHUTDOWN_GRACE_PERIOD);
        assert_eq!(env.recovery_timeout, DEFAULT_RECOVERY_TIMEOUT);
        assert_eq!((env.ip, env.port), (IpAddr::V4(Ipv4Addr::LOCALHOST), 0));
    }

    #[test]
    fn a_missing_or_empty_required_variable_is_named() {
        for (i, (name, _)) in REQUIRED.iter().enumerate() {
            let mut some = pairs(REQUIRED);
            some.remove(i);
            let err = ExecutorEnvironment::from_vars(lookup(some.clone())).unwrap_err();
            assert_eq!(err, EnvironmentError::Missing(name));
            assert_eq!(
                err.to_string(),
                format!("expecting '{name}' in the environment: executors are started by an agent")
            );
            some.push((name.to_string(), String::new()));
            let err = ExecutorEnvironment::from_vars(lookup(some)).unwrap_err();
            assert_eq!(err, EnvironmentError::Missing(name));
        }
    }

    #[test]
    fn bad_values_are_refused_with_the_value_and_the_reason() {
        for (name, value, reason) in [
            ("MESOS_SLAVE_PID", "slave(1)", None),
            (
                "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD",
                "5",
                Some("'5' has no unit (e.g. 5secs)"),
            ),
            (
                "MESOS_RECOVERY_TIMEOUT",
                "",
                Some("'' has no unit (e.g. 5secs)"),
            ),
            (
                "LIBPROCESS_IP",
                "localhost",
                Some("invalid IP address syntax"),
            ),
            (
                "LIBPROCESS_PORT",
                "99999",
                Some("number too large to fit in target type"),
            ),
        ] {
            let mut bad = pairs(REQUIRED);
            bad.retain(|(n, _)| n != name);
            bad.push((name.to_owned(), value.to_owned()));
            let err = ExecutorEnvironment::from_vars(lookup(bad)).unwrap_err();
            let EnvironmentError::Bad {
                name: n,
                value: v,
                reason: r,
            } = &err
            else {
                panic!("{name}={value}: {err:?}");
            };
            assert_eq!((*n, v.as_str()), (name, value));
            if let Some(reason) = reason {
                assert_eq!(r, reason);
            }
            assert!(
                err.to_string()
                    .starts_with(&format!("bad {name}='{value}': ")),
                "{err}"
            );
        }
    }
}
