//! The shared vocabulary of the cluster: what describes a master, an agent,
//! a framework, a task, an executor, an offer and a status update. These are
//! the payloads of the messages in `agent`, `scheduler` and `executor`;
//! Mesos's protobufs of the same names are the model (fields keep Mesos's
//! names and defaults). Pids travel as their `id@ip:port` text.

use serde::{Deserialize, Serialize};

use crate::ids::{AgentId, ContainerId, ExecutorId, FrameworkId, OfferId, TaskId};
use crate::resources::Resources;
use crate::task::{Reason, Source, TaskState};

/// The version this implementation reports (plain numbers: clients parse it).
pub const VERSION: &str = "1.11.0";

/// Framework capabilities this implementation acts on.
pub mod capability {
    pub const PARTITION_AWARE: &str = "PARTITION_AWARE";
    pub const MULTI_ROLE: &str = "MULTI_ROLE";
    pub const TASK_KILLING_STATE: &str = "TASK_KILLING_STATE";
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MasterInfo {
    /// A random UUID, new for every master process.
    pub id: String,
    pub ip: String,
    pub port: u16,
    /// `master@ip:port`.
    pub pid: String,
    pub hostname: String,
    pub version: String,
}

/// An attribute value as the agent's `--attributes` flag gives it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AttributeValue {
    Scalar(f64),
    Ranges(Vec<(u64, u64)>),
    Set(Vec<String>),
    Text(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attribute {
    pub name: String,
    pub value: AttributeValue,
}

/// Parses `rack:a;zone:b;weight:2.5;range:[1-5]` into attributes. Values
/// that are numbers become scalars, `[a-b]` ranges, `{x,y}` sets, and any
/// other text stays text.
pub fn parse_attributes(text: &str) -> Result<Vec<Attribute>, String> {
    let mut out = Vec::new();
    for item in text.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        let (name, value) = item
            .split_once(':')
            .ok_or_else(|| format!("bad attribute '{item}': expected name:value"))?;
        let (name, value) = (name.trim(), value.trim());
        if name.is_empty() {
            return Err(format!("bad attribute '{item}': empty name"));
        }
        let value = if let Ok(n) = value.parse::<f64>() {
            AttributeValue::Scalar(n)
        } else if value.starts_with('[') {
            match crate::resources::Resources::parse(&format!("r:{value}"), "*")
                .ok()
                .and_then(|r| r.iter().next().map(|r| r.value.clone()))
            {
                Some(crate::resources::Value::Ranges(r)) => AttributeValue::Ranges(r),
                _ => return Err(format!("bad attribute '{item}': bad ranges")),
            }
        } else if let Some(inner) = value.strip_prefix('{').and_then(|v| v.strip_suffix('}')) {
            AttributeValue::Set(inner.split(',').map(|s| s.trim().to_owned()).collect())
        } else {
            AttributeValue::Text(value.to_owned())
        };
        out.push(Attribute {
            name: name.to_owned(),
            value,
        });
    }
    Ok(out)
}

/// What an agent tells the master about itself (v0 `SlaveInfo`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentInfo {
    pub hostname: String,
    pub port: u16,
    pub resources: Resources,
    pub attributes: Vec<Attribute>,
    /// Set once the master has admitted the agent.
    pub id: Option<AgentId>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameworkInfo {
    pub user: String,
    pub name: String,
    /// Set when re-subscribing.
    pub id: Option<FrameworkId>,
    /// Seconds the master keeps the framework after it disconnects.
    pub failover_timeout: f64,
    pub checkpoint: bool,
    pub roles: Vec<String>,
    pub hostname: Option<String>,
    pub principal: Option<String>,
    pub webui_url: Option<String>,
    pub capabilities: Vec<String>,
}

impl FrameworkInfo {
    /// A framework in role `*` with no failover timeout.
    pub fn new(user: &str, name: &str) -> FrameworkInfo {
        FrameworkInfo {
            user: user.to_owned(),
            name: name.to_owned(),
            id: None,
            failover_timeout: 0.0,
            checkpoint: false,
            roles: vec!["*".to_owned()],
            hostname: None,
            principal: None,
            webui_url: None,
            capabilities: Vec::new(),
        }
    }

    pub fn has_capability(&self, capability: &str) -> bool {
        self.capabilities.iter().any(|c| c == capability)
    }

    /// The role offers are made in: the first role (`*` if none).
    pub fn role(&self) -> &str {
        self.roles.first().map(String::as_str).unwrap_or("*")
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandUri {
    pub value: String,
    pub executable: bool,
    pub extract: bool,
    /// The file name in the sandbox (default: the URI's last component).
    pub output_file: Option<String>,
    /// Keep a copy in the agent's fetcher cache and fetch from there next
    /// time.
    pub cache: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandInfo {
    /// With `shell`, run as `sh -c <value>`; otherwise the program to exec.
    pub value: Option<String>,
    pub shell: bool,
    /// argv when not `shell` (`argv[0]` included).
    pub arguments: Vec<String>,
    pub environment: Vec<(String, String)>,
    pub uris: Vec<CommandUri>,
    pub user: Option<String>,
}

impl CommandInfo {
    pub fn shell(command: &str) -> CommandInfo {
        CommandInfo {
            value: Some(command.to_owned()),
            shell: true,
            arguments: Vec::new(),
            environment: Vec::new(),
            uris: Vec::new(),
            user: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutorInfo {
    pub executor_id: ExecutorId,
    pub framework_id: Option<FrameworkId>,
    pub command: CommandInfo,
    pub resources: Resources,
    pub name: Option<String>,
    /// Seconds; overrides the agent's `--executor_shutdown_grace_period`.
    pub shutdown_grace_period: Option<f64>,
    /// What the executor runs in (for a command task, the task's).
    pub container: Option<ContainerInfo>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskInfo {
    pub name: String,
    pub task_id: TaskId,
    pub agent_id: AgentId,
    pub resources: Resources,
    /// Exactly one of `command` and `executor`.
    pub command: Option<CommandInfo>,
    pub executor: Option<ExecutorInfo>,
    pub data: Option<Vec<u8>>,
    /// Seconds between SIGTERM and SIGKILL when the task is killed.
    pub kill_grace_period: Option<f64>,
    pub meta: TaskMeta,
}

/// What a framework attaches to a task for others to read (service
/// discovery tools read them from `/master/state`): labels, and its
/// `DiscoveryInfo` kept as the JSON object the framework gave.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TaskMeta {
    pub labels: Vec<Label>,
    pub discovery: Option<String>,
    /// Checked by the command executor while the task runs.
    pub health_check: Option<HealthCheck>,
    /// `TaskInfo.container`: what the task asks to run in.
    pub container: Option<ContainerInfo>,
}

/// `HealthCheck`: how, and how often, the command executor checks a
/// running task; after `consecutive_failures` failures (not counting those
/// within `grace_period_seconds` of the start, before the first success)
/// the task is killed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthCheck {
    pub check: Check,
    pub delay_seconds: f64,
    pub interval_seconds: f64,
    pub timeout_seconds: f64,
    pub consecutive_failures: u32,
    pub grace_period_seconds: f64,
}

/// What a health check does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Check {
    /// Healthy when the command exits 0.
    Command(CommandInfo),
    /// Healthy when `GET scheme://127.0.0.1:port/path` answers one of
    /// `statuses` (any 2xx or 3xx when empty).
    Http {
        scheme: String,
        port: u16,
        path: String,
        statuses: Vec<u16>,
    },
    /// Healthy when a TCP connection to 127.0.0.1:port opens.
    Tcp { port: u16 },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Label {
    pub key: String,
    pub value: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskStatus {
    pub task_id: TaskId,
    pub state: TaskState,
    pub message: Option<String>,
    pub source: Option<Source>,
    pub reason: Option<Reason>,
    pub data: Option<Vec<u8>>,
    pub agent_id: Option<AgentId>,
    pub executor_id: Option<ExecutorId>,
    /// Seconds since the epoch.
    pub timestamp: f64,
    /// 16 bytes; only updates that carry one are acknowledged.
    pub uuid: Option<Vec<u8>>,
    pub healthy: Option<bool>,
}

impl TaskStatus {
    pub fn new(task_id: TaskId, state: TaskState) -> TaskStatus {
        TaskStatus {
            task_id,
            state,
            message: None,
            source: None,
            reason: None,
            data: None,
            agent_id: None,
            executor_id: None,
            timestamp: now_secs(),
            uuid: None,
            healthy: None,
        }
    }
}

/// A status update travelling executor -> agent -> master -> framework.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusUpdate {
    pub framework_id: FrameworkId,
    pub executor_id: Option<ExecutorId>,
    pub agent_id: Option<AgentId>,
    pub status: TaskStatus,
    pub timestamp: f64,
    pub uuid: Option<Vec<u8>>,
    /// The task's latest state at the agent when this update was sent.
    pub latest_state: Option<TaskState>,
}

/// A task as the master and agent track it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub name: String,
    pub task_id: TaskId,
    pub framework_id: FrameworkId,
    pub executor_id: Option<ExecutorId>,
    pub agent_id: AgentId,
    pub state: TaskState,
    pub resources: Resources,
    pub statuses: Vec<TaskStatus>,
    /// The latest state the framework has been sent.
    pub status_update_state: Option<TaskState>,
    pub status_update_uuid: Option<Vec<u8>>,
    pub role: String,
    /// The labels and discovery info of its TaskInfo.
    pub meta: TaskMeta,
}

impl Task {
    /// `info` as a task just launched (TASK_STAGING), holding `resources`
    /// of `role`, run by `executor_id` on `agent_id`.
    pub fn staging(
        info: &TaskInfo,
        framework_id: &FrameworkId,
        agent_id: &AgentId,
        executor_id: &ExecutorId,
        resources: Resources,
        role: &str,
    ) -> Task {
        Task {
            name: info.name.clone(),
            task_id: info.task_id.clone(),
            framework_id: framework_id.clone(),
            executor_id: Some(executor_id.clone()),
            agent_id: agent_id.clone(),
            state: TaskState::Staging,
            resources,
            statuses: Vec::new(),
            status_update_state: None,
            status_update_uuid: None,
            role: role.to_owned(),
            meta: info.meta.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Offer {
    pub id: OfferId,
    pub framework_id: FrameworkId,
    pub agent_id: AgentId,
    pub hostname: String,
    /// The agent's pid, `slave(1)@ip:port`.
    pub agent_pid: String,
    pub resources: Resources,
    pub attributes: Vec<Attribute>,
    pub executor_ids: Vec<ExecutorId>,
    pub role: String,
    /// When the agent's machine is to be unavailable (maintenance).
    pub unavailability: Option<crate::maintenance::Unavailability>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Filters {
    /// Seconds before declined resources are offered again.
    pub refuse_seconds: f64,
}

impl Default for Filters {
    fn default() -> Self {
        Filters {
            refuse_seconds: 5.0,
        }
    }
}

/// What a framework does with accepted offers.
// A handful of operations per accept, moved once: their size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Operation {
    Launch {
        task_infos: Vec<TaskInfo>,
    },
    /// Mesos's LAUNCH_GROUP: tasks that start together under `executor`
    /// (a pod); an executor with a blank command is the default executor.
    LaunchGroup {
        executor: ExecutorInfo,
        task_group: Vec<TaskInfo>,
    },
    /// RESERVE, UNRESERVE, CREATE or DESTROY of offered resources; `id`
    /// is the framework's operation id, when it wants feedback.
    Resources {
        id: Option<String>,
        kind: ResourceOpKind,
        resources: Resources,
    },
}

/// What an operation on offered (or, for an operator, unused) resources
/// does to them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResourceOpKind {
    Reserve,
    Unreserve,
    Create,
    Destroy,
}

impl ResourceOpKind {
    /// Mesos's name of the offer operation.
    pub fn name(self) -> &'static str {
        match self {
            ResourceOpKind::Reserve => "RESERVE",
            ResourceOpKind::Unreserve => "UNRESERVE",
            ResourceOpKind::Create => "CREATE",
            ResourceOpKind::Destroy => "DESTROY",
        }
    }
}

impl Operation {
    /// The tasks the operation launches.
    pub fn tasks(&self) -> &[TaskInfo] {
        match self {
            Operation::Launch { task_infos } => task_infos,
            Operation::LaunchGroup { task_group, .. } => task_group,
            Operation::Resources { .. } => &[],
        }
    }
}

impl ExecutorInfo {
    /// An executor without a command: Mesos's `type: DEFAULT`, which the
    /// agent runs as `mesos-default-executor`.
    pub fn is_default(&self) -> bool {
        self.command.value.as_deref().is_none_or(str::is_empty) && self.command.arguments.is_empty()
    }
}

/// The container run of an executor: its container id and sandbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContainerRun {
    pub container_id: ContainerId,
    pub directory: String,
}

/// Mesos's `ContainerInfo`: what a task or executor asks to run in. The
/// Docker containerizer takes `Docker` ones; `Mesos` ones (or none) run on
/// the Mesos containerizer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContainerInfo {
    pub kind: ContainerType,
    /// Set with (and only meaningful for) `ContainerType::Docker`.
    pub docker: Option<DockerInfo>,
    pub volumes: Vec<Volume>,
    pub hostname: Option<String>,
    /// `network_infos`: the networks the container joins; a Docker `USER`
    /// network is the first one's name.
    pub network_infos: Vec<NetworkInfo>,
}

impl ContainerInfo {
    /// Whether it asks for the Docker containerizer.
    pub fn is_docker(&self) -> bool {
        self.kind == ContainerType::Docker
    }

    /// The name of the network a Docker `USER` container joins.
    pub fn user_network(&self) -> Option<&str> {
        self.network_infos.iter().find_map(|n| n.name.as_deref())
    }
}

/// `NetworkInfo`, as far as it names a network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkInfo {
    pub name: Option<String>,
}

/// `ContainerInfo.Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ContainerType {
    #[serde(rename = "DOCKER")]
    Docker,
    #[serde(rename = "MESOS")]
    Mesos,
}

/// `ContainerInfo.DockerInfo`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DockerInfo {
    pub image: String,
    pub network: DockerNetwork,
    pub port_mappings: Vec<PortMapping>,
    pub privileged: bool,
    /// Passed to `docker run` as `--key=value`, in order.
    pub parameters: Vec<Parameter>,
    /// Pull even when the image is present.
    pub force_pull_image: bool,
}

impl DockerInfo {
    /// A container of `image` on the host's network, as Mesos defaults.
    pub fn new(image: &str) -> DockerInfo {
        DockerInfo {
            image: image.to_owned(),
            network: DockerNetwork::Host,
            port_mappings: Vec::new(),
            privileged: false,
            parameters: Vec::new(),
            force_pull_image: false,
        }
    }
}

/// `ContainerInfo.DockerInfo.Network`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DockerNetwork {
    #[serde(rename = "HOST")]
    Host,
    #[serde(rename = "BRIDGE")]
    Bridge,
    #[serde(rename = "NONE")]
    None,
    #[serde(rename = "USER")]
    User,
}

/// `ContainerInfo.DockerInfo.PortMapping`: a host port (one of the task's
/// `ports`) forwarded to a port of the container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortMapping {
    pub host_port: u32,
    pub container_port: u32,
    /// `tcp` (the default) or `udp`.
    pub protocol: Option<String>,
}

/// `Parameter`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parameter {
    pub key: String,
    pub value: String,
}

/// `Volume`: a host path mounted in the container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Volume {
    pub container_path: String,
    pub host_path: Option<String>,
    pub mode: VolumeMode,
}

/// `Volume.Mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum VolumeMode {
    #[serde(rename = "RW")]
    Rw,
    #[serde(rename = "RO")]
    Ro,
}

/// Seconds since the Unix epoch, as Mesos timestamps are.
pub fn now_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_parse_by_kind() {
        let a = parse_attributes("rack:a;zone:b;weight:2.5;ports:[1-5];tags:{x,y}").unwrap();
        assert_eq!(a[0].value, AttributeValue::Text("a".into()));
        assert_eq!(a[2].value, AttributeValue::Scalar(2.5));
        assert_eq!(a[3].value, AttributeValue::Ranges(vec![(1, 5)]));
        assert_eq!(
            a[4].value,
            AttributeValue::Set(vec!["x".into(), "y".into()])
        );
        assert!(parse_attributes("rack").is_err());
        assert!(parse_attributes(":x").is_err());
        assert!(parse_attributes("p:[5-1]").is_err());
    }
}
