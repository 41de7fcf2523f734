//! What runs on an agent: `CommandInfo` (with its URIs and environment),
//! `ExecutorInfo`, `TaskInfo` (with its health check and labels),
//! `TaskGroupInfo`, and the `TaskStatus` that reports on a task.

use serde::{Deserialize, Serialize};

use crate::ids::{AgentId, ExecutorId, FrameworkId, TaskId};
use crate::mesos;
use crate::task::{Reason, Source, TaskState};
use crate::v1::json::{self, Bytes};

use super::common::{seconds, DurationInfo, KillPolicy};
use super::containers::ContainerInfoJson;
use super::error::{convert_list, required, FieldError, Within};
use super::values::{resources_from_v1, resources_to_v1, Resource, ResourceFormat};

fn yes() -> bool {
    true
}

/// `CommandInfo.URI`. `extract` defaults to true and is always written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandUri {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executable: Option<bool>,
    #[serde(default = "yes")]
    pub extract: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<bool>,
}

/// `Environment.Variable.Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum VariableType {
    #[default]
    #[serde(rename = "VALUE")]
    Value,
    #[serde(rename = "SECRET")]
    Secret,
}

/// `Environment.Variable`. `type` defaults to VALUE and is always written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Variable {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(rename = "type", default)]
    pub kind: VariableType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// `Environment`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Environment {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variables: Vec<Variable>,
}

/// `CommandInfo`. `shell` defaults to true and is always written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandInfo {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uris: Vec<CommandUri>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<Environment>,
    #[serde(default = "yes")]
    pub shell: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub arguments: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

impl CommandInfo {
    /// `executable` is written only when true: the internal type cannot
    /// tell an explicit false from unset.
    pub fn from_internal(c: &mesos::CommandInfo) -> CommandInfo {
        CommandInfo {
            uris: c
                .uris
                .iter()
                .map(|u| CommandUri {
                    value: Some(u.value.clone()),
                    executable: u.executable.then_some(true),
                    extract: u.extract,
                    output_file: u.output_file.clone(),
                    cache: u.cache.then_some(true),
                })
                .collect(),
            environment: (!c.environment.is_empty()).then(|| Environment {
                variables: c
                    .environment
                    .iter()
                    .map(|(name, value)| Variable {
                        name: Some(name.clone()),
                        kind: VariableType::Value,
                        value: Some(value.clone()),
                    })
                    .collect(),
            }),
            shell: c.shell,
            value: c.value.clone(),
            arguments: c.arguments.clone(),
            user: c.user.clone(),
        }
    }

    pub fn into_internal(self) -> Result<mesos::CommandInfo, FieldError> {
        let uris = convert_list(self.uris, "uris", |u| {
            Ok(mesos::CommandUri {
                value: required(u.value, "value")?,
                executable: u.executable.unwrap_or(false),
                extract: u.extract,
                output_file: u.output_file,
                cache: u.cache.unwrap_or(false),
            })
        })?;
        let variables = self.environment.unwrap_or_default().variables;
        let environment = convert_list(variables, "variables", |v| {
            let name = required(v.name, "name")?;
            if v.kind == VariableType::Secret {
                return Err(FieldError::invalid(
                    "type",
                    "SECRET environment variables are not supported",
                ));
            }
            Ok((name, required(v.value, "value")?))
        })
        .within("environment")?;
        Ok(mesos::CommandInfo {
            value: self.value,
            shell: self.shell,
            arguments: self.arguments,
            environment,
            uris,
            user: self.user,
        })
    }

    /// Whether `c` says nothing at all (the internal form of an executor
    /// without a command, such as Mesos's default executor).
    fn is_blank(c: &mesos::CommandInfo) -> bool {
        c.value.is_none()
            && c.arguments.is_empty()
            && c.environment.is_empty()
            && c.uris.is_empty()
            && c.user.is_none()
    }

    fn blank() -> mesos::CommandInfo {
        mesos::CommandInfo {
            value: None,
            shell: true,
            arguments: Vec::new(),
            environment: Vec::new(),
            uris: Vec::new(),
            user: None,
        }
    }
}

/// `ExecutorInfo.Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExecutorType {
    #[serde(rename = "DEFAULT")]
    Default,
    #[serde(rename = "CUSTOM")]
    Custom,
}

/// `ExecutorInfo`. The internal type keeps no `type`: it is read and
/// dropped, and not written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutorInfo {
    #[serde(
        rename = "type",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "json::lenient_enum"
    )]
    pub kind: Option<ExecutorType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor_id: Option<ExecutorId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub framework_id: Option<FrameworkId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<CommandInfo>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<Resource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<ContainerInfoJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shutdown_grace_period: Option<DurationInfo>,
}

impl ExecutorInfo {
    pub fn from_internal(e: &mesos::ExecutorInfo, format: &ResourceFormat) -> ExecutorInfo {
        ExecutorInfo {
            kind: None,
            executor_id: Some(e.executor_id.clone()),
            framework_id: e.framework_id.clone(),
            command: (!CommandInfo::is_blank(&e.command))
                .then(|| CommandInfo::from_internal(&e.command)),
            resources: resources_to_v1(&e.resources, format),
            name: e.name.clone(),
            container: e.container.as_ref().map(ContainerInfoJson::from_internal),
            shutdown_grace_period: e.shutdown_grace_period.map(DurationInfo::from_seconds),
        }
    }

    /// An executor without a command (Mesos's default executor) gets a
    /// blank internal command: no value, no arguments.
    pub fn into_internal(self) -> Result<mesos::ExecutorInfo, FieldError> {
        Ok(mesos::ExecutorInfo {
            executor_id: required(self.executor_id, "executor_id")?,
            framework_id: self.framework_id,
            command: match self.command {
                Some(c) => c.into_internal().within("command")?,
                None => CommandInfo::blank(),
            },
            resources: resources_from_v1(self.resources).within("resources")?,
            name: self.name,
            shutdown_grace_period: self
                .shutdown_grace_period
                .map(|d| seconds(&d, "shutdown_grace_period"))
                .transpose()?,
            container: self
                .container
                .map(ContainerInfoJson::into_internal)
                .transpose()
                .within("container")?,
        })
    }
}

/// `TaskInfo`. Holds `executor` or `command` (the master checks that
/// exactly one is set, as Mesos does when it validates a launch).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<TaskId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<AgentId>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<Resource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor: Option<ExecutorInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<CommandInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<ContainerInfoJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kill_policy: Option<KillPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Bytes>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Labels>,
    /// `DiscoveryInfo`, carried as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovery: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheckJson>,
}

/// `HealthCheck`, with Mesos's defaults for what it leaves out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthCheckJson {
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<CommandInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpCheckJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<TcpCheckJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_seconds: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval_seconds: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consecutive_failures: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_period_seconds: Option<f64>,
}

/// `HealthCheck.HTTPCheckInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpCheckJson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub statuses: Vec<u16>,
}

/// `HealthCheck.TCPCheckInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TcpCheckJson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
}

impl HealthCheckJson {
    pub fn from_internal(h: &mesos::HealthCheck) -> HealthCheckJson {
        let (kind, command, http, tcp) = match &h.check {
            mesos::Check::Command(c) => {
                ("COMMAND", Some(CommandInfo::from_internal(c)), None, None)
            }
            mesos::Check::Http {
                scheme,
                port,
                path,
                statuses,
            } => (
                "HTTP",
                None,
                Some(HttpCheckJson {
                    scheme: Some(scheme.clone()),
                    port: Some(*port),
                    path: Some(path.clone()),
                    statuses: statuses.clone(),
                }),
                None,
            ),
            mesos::Check::Tcp { port } => {
                ("TCP", None, None, Some(TcpCheckJson { port: Some(*port) }))
            }
        };
        HealthCheckJson {
            kind: Some(kind.to_owned()),
            command,
            http,
            tcp,
            delay_seconds: Some(h.delay_seconds),
            interval_seconds: Some(h.interval_seconds),
            timeout_seconds: Some(h.timeout_seconds),
            consecutive_failures: Some(h.consecutive_failures),
            grace_period_seconds: Some(h.grace_period_seconds),
        }
    }

    /// Checks it as Mesos does: the type (or, when left out, what is set)
    /// names the check, which must be described; times are not negative.
    pub fn into_internal(self) -> Result<mesos::HealthCheck, FieldError> {
        let kind = match self.kind.as_deref() {
            Some(k) => k.to_owned(),
            None if self.command.is_some() => "COMMAND".into(),
            None if self.http.is_some() => "HTTP".into(),
            None if self.tcp.is_some() => "TCP".into(),
            None => return Err(FieldError::invalid("type", "the check type is missing")),
        };
        let check = match kind.as_str() {
            "COMMAND" => mesos::Check::Command(
                required(self.command, "command")?
                    .into_internal()
                    .within("command")?,
            ),
            "HTTP" => {
                let http = required(self.http, "http")?;
                mesos::Check::Http {
                    scheme: http.scheme.unwrap_or_else(|| "http".into()),
                    port: required(http.port, "port").within("http")?,
                    path: http.path.unwrap_or_else(|| "/".into()),
                    statuses: http.statuses,
                }
            }
            "TCP" => mesos::Check::Tcp {
                port: required(required(self.tcp, "tcp")?.port, "port").within("tcp")?,
            },
            other => {
                return Err(FieldError::invalid(
                    "type",
                    format!("unsupported check type '{other}'"),
                ))
            }
        };
        let seconds = |v: Option<f64>, default: f64, name: &str| match v {
            None => Ok(default),
            Some(s) if s.is_finite() && s >= 0.0 => Ok(s),
            Some(_) => Err(FieldError::invalid(name, "must be a non-negative number")),
        };
        Ok(mesos::HealthCheck {
            check,
            delay_seconds: seconds(self.delay_seconds, 15.0, "delay_seconds")?,
            interval_seconds: seconds(self.interval_seconds, 10.0, "interval_seconds")?,
            timeout_seconds: seconds(self.timeout_seconds, 20.0, "timeout_seconds")?,
            consecutive_failures: self.consecutive_failures.unwrap_or(3),
            grace_period_seconds: seconds(self.grace_period_seconds, 10.0, "grace_period_seconds")?,
        })
    }
}

/// `Labels`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Labels {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<LabelJson>,
}

/// `Label`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelJson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

impl Labels {
    pub fn from_internal(labels: &[mesos::Label]) -> Option<Labels> {
        (!labels.is_empty()).then(|| Labels {
            labels: labels
                .iter()
                .map(|l| LabelJson {
                    key: Some(l.key.clone()),
                    value: l.value.clone(),
                })
                .collect(),
        })
    }

    pub fn into_internal(self) -> Result<Vec<mesos::Label>, FieldError> {
        convert_list(self.labels, "labels", |l| {
            Ok(mesos::Label {
                key: required(l.key, "key")?,
                value: l.value,
            })
        })
    }
}

impl TaskInfo {
    pub fn from_internal(t: &mesos::TaskInfo, format: &ResourceFormat) -> TaskInfo {
        TaskInfo {
            name: Some(t.name.clone()),
            task_id: Some(t.task_id.clone()),
            agent_id: Some(t.agent_id.clone()),
            resources: resources_to_v1(&t.resources, format),
            executor: t
                .executor
                .as_ref()
                .map(|e| ExecutorInfo::from_internal(e, format)),
            command: t.command.as_ref().map(CommandInfo::from_internal),
            container: t
                .meta
                .container
                .as_ref()
                .map(ContainerInfoJson::from_internal),
            kill_policy: t.kill_grace_period.map(KillPolicy::grace),
            data: t.data.clone().map(Bytes),
            labels: Labels::from_internal(&t.meta.labels),
            discovery: t
                .meta
                .discovery
                .as_deref()
                .and_then(|d| serde_json::from_str(d).ok()),
            health_check: t
                .meta
                .health_check
                .as_ref()
                .map(HealthCheckJson::from_internal),
        }
    }

    pub fn into_internal(self) -> Result<mesos::TaskInfo, FieldError> {
        Ok(mesos::TaskInfo {
            name: required(self.name, "name")?,
            task_id: required(self.task_id, "task_id")?,
            agent_id: required(self.agent_id, "agent_id")?,
            resources: resources_from_v1(self.resources).within("resources")?,
            command: self
                .command
                .map(CommandInfo::into_internal)
                .transpose()
                .within("command")?,
            executor: self
                .executor
                .map(ExecutorInfo::into_internal)
                .transpose()
                .within("executor")?,
            data: self.data.map(|b| b.0),
            kill_grace_period: match self.kill_policy {
                Some(p) => p.into_internal().within("kill_policy")?,
                None => None,
            },
            meta: mesos::TaskMeta {
                labels: self
                    .labels
                    .map(Labels::into_internal)
                    .transpose()
                    .within("labels")?
                    .unwrap_or_default(),
                discovery: match self.discovery {
                    None => None,
                    Some(d) if d.is_object() => Some(d.to_string()),
                    Some(_) => return Err(FieldError::invalid("discovery", "expected an object")),
                },
                health_check: self
                    .health_check
                    .map(HealthCheckJson::into_internal)
                    .transpose()
                    .within("health_check")?,
                container: self
                    .container
                    .map(ContainerInfoJson::into_internal)
                    .transpose()
                    .within("container")?,
            },
        })
    }
}

/// `TaskGroupInfo`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TaskGroupInfo {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tasks: Vec<TaskInfo>,
}

/// `TaskStatus`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<TaskId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<TaskState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "json::lenient_enum"
    )]
    pub source: Option<Source>,
    /// Reasons this implementation does not know are dropped on input.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "json::lenient_enum"
    )]
    pub reason: Option<Reason>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Bytes>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<AgentId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor_id: Option<ExecutorId>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "json::opt_number"
    )]
    pub timestamp: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<Bytes>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthy: Option<bool>,
}

impl TaskStatus {
    pub fn from_internal(s: &mesos::TaskStatus) -> TaskStatus {
        TaskStatus {
            task_id: Some(s.task_id.clone()),
            state: Some(s.state),
            message: s.message.clone(),
            source: s.source,
            reason: s.reason,
            data: s.data.clone().map(Bytes),
            agent_id: s.agent_id.clone(),
            executor_id: s.executor_id.clone(),
            timestamp: Some(s.timestamp),
            uuid: s.uuid.clone().map(Bytes),
            healthy: s.healthy,
        }
    }

    /// A status without a timestamp is stamped now, as the internal
    /// constructor does.
    pub fn into_internal(self) -> Result<mesos::TaskStatus, FieldError> {
        Ok(mesos::TaskStatus {
            task_id: required(self.task_id, "task_id")?,
            state: required(self.state, "state")?,
            message: self.message,
            source: self.source,
            reason: self.reason,
            data: self.data.map(|b| b.0),
            agent_id: self.agent_id,
            executor_id: self.executor_id,
            timestamp: self.timestamp.unwrap_or_else(mesos::now_secs),
            uuid: self.uuid.map(|b| b.0),
            healthy: self.healthy,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::v1::types::testing::res;

    fn task() -> mesos::TaskInfo {
        let mut command = mesos::CommandInfo::shell("echo hi");
        command.environment = vec![("K".into(), "V".into())];
        command.uris = vec![mesos::CommandUri {
            value: "http://h/x.tgz".into(),
            executable: false,
            extract: true,
            output_file: None,
            cache: false,
        }];
        mesos::TaskInfo {
            name: "t1".into(),
            task_id: TaskId::new("t1"),
            agent_id: AgentId::new("m-S0"),
            resources: res("cpus:1;mem:128"),
            command: Some(command),
            executor: None,
            data: Some(b"payload".to_vec()),
            kill_grace_period: Some(2.5),
            meta: Default::default(),
        }
    }

    #[test]
    fn task_info_renders_as_mesos_and_round_trips() {
        let t = task();
        let v1 = TaskInfo::from_internal(&t, &ResourceFormat::LEGACY);
        let value = serde_json::to_value(&v1).unwrap();
        assert_eq!(
            value["command"],
            json!({"uris": [{"value": "http://h/x.tgz", "extract": true}],
                   "environment": {"variables": [{"name": "K", "type": "VALUE", "value": "V"}]},
                   "shell": true, "value": "echo hi"})
        );
        assert_eq!(value["data"], json!("cGF5bG9hZA=="));
        assert_eq!(
            value["kill_policy"],
            json!({"grace_period": {"nanoseconds": 2_500_000_000i64}})
        );
        assert_eq!(v1.into_internal().unwrap(), t);

        let mut in_docker = t.clone();
        in_docker.meta.container = Some(mesos::ContainerInfo {
            kind: mesos::ContainerType::Docker,
            docker: Some(mesos::DockerInfo::new("busybox")),
            volumes: Vec::new(),
            hostname: None,
            network_infos: Vec::new(),
        });
        let v1 = TaskInfo::from_internal(&in_docker, &ResourceFormat::LEGACY);
        let value = serde_json::to_value(&v1).unwrap();
        assert_eq!(
            value["container"],
            json!({"type": "DOCKER", "docker": {"image": "busybox", "network": "HOST", "privileged": false}})
        );
        assert_eq!(v1.into_internal().unwrap(), in_docker);

        let mut with_executor = t.clone();
        with_executor.command = None;
        with_executor.executor = Some(mesos::ExecutorInfo {
            executor_id: ExecutorId::new("e1"),
            framework_id: Some(FrameworkId::new("m-0000")),
            command: mesos::CommandInfo {
                shell: false,
                arguments: vec!["./my-exec".into(), "--x".into()],
                ..mesos::CommandInfo::shell("./my-exec")
            },
            resources: res("cpus:0.1"),
            name: Some("custom".into()),
            shutdown_grace_period: Some(5.0),
            container: None,
        });
        let v1 = TaskInfo::from_internal(&with_executor, &ResourceFormat::LEGACY);
        let value = serde_json::to_value(&v1).unwrap();
        assert_eq!(value["executor"]["executor_id"], json!({"value": "e1"}));
        assert_eq!(value["executor"]["command"]["shell"], json!(false));
        assert_eq!(
            value["executor"]["shutdown_grace_period"],
            json!({"nanoseconds": 5_000_000_000i64})
        );
        assert_eq!(v1.into_internal().unwrap(), with_executor);
    }

    #[test]
    fn executor_without_command_is_blank_inside_and_absent_outside() {
        let v1: ExecutorInfo =
            serde_json::from_value(json!({"type": "DEFAULT", "executor_id": {"value": "d"}}))
                .unwrap();
        assert_eq!(v1.kind, Some(ExecutorType::Default));
        let internal = v1.into_internal().unwrap();
        assert_eq!(internal.command.value, None);
        let out = serde_json::to_value(ExecutorInfo::from_internal(
            &internal,
            &ResourceFormat::LEGACY,
        ))
        .unwrap();
        assert_eq!(out, json!({"executor_id": {"value": "d"}}));
    }

    #[test]
    fn command_defaults_apply_when_absent() {
        let c: CommandInfo = serde_json::from_value(json!({
            "value": "./run", "uris": [{"value": "http://x"}],
            "environment": {"variables": [{"name": "A", "value": "1"}]}}))
        .unwrap();
        let c = c.into_internal().unwrap();
        assert!(c.shell);
        assert!(c.uris[0].extract);
        assert!(!c.uris[0].executable);
        let secret: CommandInfo = serde_json::from_value(json!({
            "environment": {"variables": [{"name": "A", "type": "SECRET"}]}}))
        .unwrap();
        assert_eq!(
            secret.into_internal().unwrap_err().to_string(),
            "invalid field 'environment.variables[0].type': SECRET environment variables are not supported"
        );
    }

    #[test]
    fn task_status_renders_as_mesos_and_round_trips() {
        let mut s = mesos::TaskStatus::new(TaskId::new("t1"), TaskState::Running);
        s.source = Some(Source::Executor);
        s.agent_id = Some(AgentId::new("m-S0"));
        s.executor_id = Some(ExecutorId::new("t1"));
        s.timestamp = 1_700_000_000.5;
        s.uuid = Some(vec![0xab; 16]);
        s.healthy = Some(true);
        let v1 = TaskStatus::from_internal(&s);
        assert_eq!(
            serde_json::to_value(&v1).unwrap(),
            json!({"task_id": {"value": "t1"}, "state": "TASK_RUNNING",
                   "source": "SOURCE_EXECUTOR", "agent_id": {"value": "m-S0"},
                   "executor_id": {"value": "t1"}, "timestamp": 1_700_000_000.5,
                   "uuid": "q6urq6urq6urq6urq6urqw==", "healthy": true})
        );
        assert_eq!(v1.into_internal().unwrap(), s);
        // An unknown reason is dropped; an unknown state is an error.
        let odd: TaskStatus = serde_json::from_value(json!({"task_id": {"value": "t"},
            "state": "TASK_FAILED", "reason": "REASON_CONTAINER_PREEMPTED"}))
        .unwrap();
        assert_eq!(odd.reason, None);
        assert!(serde_json::from_value::<TaskStatus>(
            json!({"task_id": {"value": "t"}, "state": "TASK_BOGUS"})
        )
        .is_err());
    }
}
