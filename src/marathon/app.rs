//! Marathon's AppDefinition: read from a request with Marathon's defaults,
//! checked with its rules, and written back as its JSON.
//!
//! Reading and checking are two steps, as in Marathon: a field of the
//! wrong type is a 400 `Invalid JSON`, a well-typed value that breaks a
//! rule a 422 `Object is not valid`, each with every problem at its JSON
//! pointer. A partial update is the stored app's JSON with the request's
//! top-level fields laid over it, read again.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::constraints::Constraint;
use super::error::{ApiError, Details};
use super::path::PathId;
use super::read::Object;

/// How a container is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerType {
    Docker,
    Mesos,
}

/// `container.docker.network` (deprecated in Marathon, still what the
/// guides write).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DockerNetwork {
    Bridge,
    Host,
    None,
    User,
}

impl DockerNetwork {
    pub fn name(self) -> &'static str {
        match self {
            DockerNetwork::Bridge => "BRIDGE",
            DockerNetwork::Host => "HOST",
            DockerNetwork::None => "NONE",
            DockerNetwork::User => "USER",
        }
    }
}

/// A port of an app on host networking.
#[derive(Debug, Clone, PartialEq)]
pub struct PortDefinition {
    pub port: u32,
    pub protocol: String,
    pub name: Option<String>,
    pub labels: BTreeMap<String, String>,
}

/// A container port and the host and service ports it is reached at.
#[derive(Debug, Clone, PartialEq)]
pub struct PortMapping {
    pub container_port: u32,
    /// `None`: no host port (a container network).
    pub host_port: Option<u32>,
    pub service_port: u32,
    pub protocol: String,
    pub name: Option<String>,
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Volume {
    pub container_path: String,
    pub host_path: Option<String>,
    pub mode: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Docker {
    pub image: String,
    pub network: Option<DockerNetwork>,
    pub privileged: bool,
    pub force_pull_image: bool,
    pub parameters: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Container {
    pub kind: ContainerType,
    pub docker: Option<Docker>,
    pub port_mappings: Option<Vec<PortMapping>>,
    pub volumes: Vec<Volume>,
}

/// The protocols of health checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthProtocol {
    Http,
    Https,
    Tcp,
    Command,
    MesosHttp,
    MesosHttps,
    MesosTcp,
}

impl HealthProtocol {
    const ALL: [HealthProtocol; 7] = [
        HealthProtocol::Http,
        HealthProtocol::Https,
        HealthProtocol::Tcp,
        HealthProtocol::Command,
        HealthProtocol::MesosHttp,
        HealthProtocol::MesosHttps,
        HealthProtocol::MesosTcp,
    ];

    pub fn name(self) -> &'static str {
        match self {
            HealthProtocol::Http => "HTTP",
            HealthProtocol::Https => "HTTPS",
            HealthProtocol::Tcp => "TCP",
            HealthProtocol::Command => "COMMAND",
            HealthProtocol::MesosHttp => "MESOS_HTTP",
            HealthProtocol::MesosHttps => "MESOS_HTTPS",
            HealthProtocol::MesosTcp => "MESOS_TCP",
        }
    }

    /// Run by the executor on the agent, not by the scheduler.
    pub fn by_mesos(self) -> bool {
        matches!(
            self,
            HealthProtocol::Command
                | HealthProtocol::MesosHttp
                | HealthProtocol::MesosHttps
                | HealthProtocol::MesosTcp
        )
    }

    fn has_path(self) -> bool {
        matches!(
            self,
            HealthProtocol::Http
                | HealthProtocol::Https
                | HealthProtocol::MesosHttp
                | HealthProtocol::MesosHttps
        )
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct HealthCheck {
    pub protocol: HealthProtocol,
    pub path: Option<String>,
    pub port_index: Option<u32>,
    pub port: Option<u32>,
    pub command: Option<String>,
    pub grace_period_seconds: u64,
    pub interval_seconds: u64,
    pub timeout_seconds: u64,
    pub max_consecutive_failures: u32,
    pub delay_seconds: u64,
    pub ignore_http1xx: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UpgradeStrategy {
    pub minimum_health_capacity: f64,
    pub maximum_over_capacity: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnreachableStrategy {
    Disabled,
    Enabled {
        inactive_after_seconds: u64,
        expunge_after_seconds: u64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KillSelection {
    YoungestFirst,
    OldestFirst,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Fetch {
    pub uri: String,
    pub extract: bool,
    pub executable: bool,
    pub cache: bool,
    pub dest_path: Option<String>,
}

/// One app, with every default filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct App {
    pub id: PathId,
    pub cmd: Option<String>,
    pub args: Option<Vec<String>>,
    pub user: Option<String>,
    pub env: BTreeMap<String, String>,
    pub instances: u32,
    pub cpus: f64,
    pub mem: f64,
    pub disk: f64,
    pub gpus: u32,
    pub executor: String,
    pub constraints: Vec<Constraint>,
    pub fetch: Vec<Fetch>,
    pub container: Option<Container>,
    pub port_definitions: Vec<PortDefinition>,
    pub require_ports: bool,
    pub health_checks: Vec<HealthCheck>,
    pub backoff_seconds: u64,
    pub backoff_factor: f64,
    pub max_launch_delay_seconds: u64,
    pub upgrade_strategy: UpgradeStrategy,
    pub unreachable_strategy: UnreachableStrategy,
    pub kill_selection: KillSelection,
    pub accepted_resource_roles: Option<Vec<String>>,
    pub dependencies: Vec<PathId>,
    pub labels: BTreeMap<String, String>,
    pub task_kill_grace_period_seconds: Option<u64>,
    /// Set by the scheduler when the app is stored (ISO-8601).
    pub version: String,
}

/// The limits a request's numbers must stay in.
const MIN_CPUS: f64 = 0.001;
const MAX_INSTANCES: i64 = i32::MAX as i64;

impl App {
    /// Reads an app from a request's JSON, resolving a relative id against
    /// `base`, then checks it.
    pub fn from_json(doc: &Value, base: &PathId) -> Result<App, ApiError> {
        let mut types = Details::default();
        let mut rules = Details::default();
        let app = read_app(doc, base, &mut types, &mut rules);
        if !types.is_empty() {
            return Err(ApiError::InvalidJson(types));
        }
        let app = app.ok_or_else(|| ApiError::InvalidJson(types.clone()))?;
        app.check(&mut rules);
        if rules.is_empty() {
            Ok(app)
        } else {
            Err(ApiError::Invalid(rules))
        }
    }

    /// The app's ports on the host side: one per port definition (host
    /// networking) or per port mapping with a host port.
    pub fn host_port_count(&self) -> usize {
        match self.port_mappings() {
            Some(mappings) => mappings.iter().filter(|m| m.host_port.is_some()).count(),
            None => self.port_definitions.len(),
        }
    }

    /// The port mappings, if the app runs in a bridged or user network.
    pub fn port_mappings(&self) -> Option<&[PortMapping]> {
        let c = self.container.as_ref()?;
        let bridged = c
            .docker
            .as_ref()
            .and_then(|d| d.network)
            .is_none_or(|n| matches!(n, DockerNetwork::Bridge | DockerNetwork::User));
        if !bridged {
            return None;
        }
        c.port_mappings.as_deref()
    }

    /// Marathon's rules, each broken one recorded at its path.
    fn check(&self, rules: &mut Details) {
        if let Some(problem) = self.id.app_id_problem() {
            rules.push("/id", problem);
        }
        if self.cmd.is_some() && self.args.is_some() {
            rules.push(
                "/",
                "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'.",
            );
        }
        if self.cmd.is_none() && self.args.is_none() && self.container.is_none() {
            rules.push(
                "/",
                "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'.",
            );
        }
        if self.cmd.as_deref() == Some("") {
            rules.push("/cmd", "must not be empty");
        }
        if self.cpus < MIN_CPUS {
            rules.push(
                "/cpus",
                format!("got {}, expected {MIN_CPUS} or more", self.cpus),
            );
        }
        if self.mem < 0.0 {
            rules.push("/mem", format!("got {}, expected 0.0 or more", self.mem));
        }
        if self.disk < 0.0 {
            rules.push("/disk", format!("got {}, expected 0.0 or more", self.disk));
        }
        if self.backoff_factor < 1.0 {
            rules.push(
                "/backoffFactor",
                format!("got {}, expected 1.0 or more", self.backoff_factor),
            );
        }
        let u = self.upgrade_strategy;
        for (name, v) in [
            ("minimumHealthCapacity", u.minimum_health_capacity),
            ("maximumOverCapacity", u.maximum_over_capacity),
        ] {
            if !(0.0..=1.0).contains(&v) {
                let why = if v > 1.0 {
                    "is greater than 1"
                } else {
                    "is less than 0"
                };
                rules.push(&format!("/upgradeStrategy/{name}"), why);
            }
        }
        if let UnreachableStrategy::Enabled {
            inactive_after_seconds,
            expunge_after_seconds,
        } = self.unreachable_strategy
        {
            if inactive_after_seconds > expunge_after_seconds {
                rules.push(
                    "/unreachableStrategy/inactiveAfterSeconds",
                    "inactiveAfterSeconds must be less or equal to expungeAfterSeconds",
                );
            }
        }
        let mut names = Vec::new();
        for (i, p) in self.port_definitions.iter().enumerate() {
            if let Some(n) = &p.name {
                names.push((format!("/portDefinitions/{i}/name"), n.clone()));
            }
        }
        if let Some(c) = &self.container {
            if c.kind == ContainerType::Docker && c.docker.is_none() {
                rules.push("/container/docker", "must not be empty");
            }
            if let Some(d) = &c.docker {
                if d.image.is_empty() {
                    rules.push("/container/docker/image", "must not be empty");
                }
            }
            for (i, m) in c.port_mappings.iter().flatten().enumerate() {
                if let Some(n) = &m.name {
                    names.push((format!("/container/portMappings/{i}/name"), n.clone()));
                }
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for (path, name) in names {
            if !seen.insert(name) {
                rules.push(&path, "Port names must be unique.");
            }
        }
        if self.require_ports && self.port_definitions.iter().any(|p| p.port == 0) {
            rules.push(
                "/requirePorts",
                "requirePorts is true, but some ports are 0: every port must be given",
            );
        }
        let ports = self
            .host_port_count()
            .max(self.port_mappings().map_or(0, |m| m.len()));
        let mesos_checks = self
            .health_checks
            .iter()
            .filter(|h| h.protocol.by_mesos())
            .count();
        if mesos_checks > 0 && mesos_checks < self.health_checks.len() {
            rules.push(
                "/healthChecks",
                "Mesos and Marathon health checks cannot be mixed in one app",
            );
        }
        for (i, h) in self.health_checks.iter().enumerate() {
            let at = |f: &str| format!("/healthChecks/{i}{f}");
            if h.protocol == HealthProtocol::Command && h.command.is_none() {
                rules.push(&at("/command"), "COMMAND health checks require a command");
            }
            if h.protocol != HealthProtocol::Command && h.port.is_none() {
                let index = h.port_index.unwrap_or(0) as usize;
                if index >= ports {
                    rules.push(
                        &at("/portIndex"),
                        format!("Health check port index {index} must address an element of the app's {ports} ports"),
                    );
                }
            }
            if h.timeout_seconds >= h.interval_seconds {
                rules.push(
                    &at("/timeoutSeconds"),
                    "timeoutSeconds must be smaller than intervalSeconds",
                );
            }
        }
        for (i, d) in self.dependencies.iter().enumerate() {
            if *d == self.id {
                rules.push(
                    &format!("/dependencies/{i}"),
                    "An app cannot depend on itself",
                );
            }
        }
    }

    /// The app as Marathon writes it (`GET /v2/apps/{id}` without the
    /// runtime counts, which the scheduler adds).
    pub fn to_json(&self) -> Value {
        let mut o = Map::new();
        let mut put = |k: &str, v: Value| {
            o.insert(k.to_owned(), v);
        };
        put("id", json!(self.id.to_string()));
        if let Some(cmd) = &self.cmd {
            put("cmd", json!(cmd));
        }
        if let Some(args) = &self.args {
            put("args", json!(args));
        }
        if let Some(user) = &self.user {
            put("user", json!(user));
        }
        put("env", json!(self.env));
        put("instances", json!(self.instances));
        put("cpus", json!(self.cpus));
        put("mem", json!(self.mem));
        put("disk", json!(self.disk));
        put("gpus", json!(self.gpus));
        put("executor", json!(self.executor));
        put(
            "constraints",
            Value::Array(self.constraints.iter().map(Constraint::to_json).collect()),
        );
        put(
            "uris",
            json!(self.fetch.iter().map(|f| &f.uri).collect::<Vec<_>>()),
        );
        put(
            "fetch",
            Value::Array(
                self.fetch
                    .iter()
                    .map(|f| {
                        let mut v = json!({"uri": f.uri, "extract": f.extract,
                                           "executable": f.executable, "cache": f.cache});
                        if let Some(d) = &f.dest_path {
                            v["destPath"] = json!(d);
                        }
                        v
                    })
                    .collect(),
            ),
        );
        put("storeUrls", json!([]));
        put("backoffSeconds", json!(self.backoff_seconds));
        put("backoffFactor", json!(self.backoff_factor));
        put(
            "maxLaunchDelaySeconds",
            json!(self.max_launch_delay_seconds),
        );
        if let Some(c) = &self.container {
            put("container", container_json(c));
        }
        put(
            "healthChecks",
            Value::Array(self.health_checks.iter().map(health_check_json).collect()),
        );
        put("readinessChecks", json!([]));
        put(
            "dependencies",
            json!(self
                .dependencies
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()),
        );
        put(
            "upgradeStrategy",
            json!({"minimumHealthCapacity": self.upgrade_strategy.minimum_health_capacity,
                   "maximumOverCapacity": self.upgrade_strategy.maximum_over_capacity}),
        );
        put(
            "unreachableStrategy",
            match self.unreachable_strategy {
                UnreachableStrategy::Disabled => json!("disabled"),
                UnreachableStrategy::Enabled {
                    inactive_after_seconds,
                    expunge_after_seconds,
                } => json!({"inactiveAfterSeconds": inactive_after_seconds,
                            "expungeAfterSeconds": expunge_after_seconds}),
            },
        );
        put(
            "killSelection",
            json!(match self.kill_selection {
                KillSelection::YoungestFirst => "YOUNGEST_FIRST",
                KillSelection::OldestFirst => "OLDEST_FIRST",
            }),
        );
        put("labels", json!(self.labels));
        if let Some(roles) = &self.accepted_resource_roles {
            put("acceptedResourceRoles", json!(roles));
        }
        put(
            "portDefinitions",
            Value::Array(
                self.port_definitions
                    .iter()
                    .map(|p| {
                        let mut v = json!({"port": p.port, "protocol": p.protocol});
                        if let Some(n) = &p.name {
                            v["name"] = json!(n);
                        }
                        if !p.labels.is_empty() {
                            v["labels"] = json!(p.labels);
                        }
                        v
                    })
                    .collect(),
            ),
        );
        put("requirePorts", json!(self.require_ports));
        if let Some(g) = self.task_kill_grace_period_seconds {
            put("taskKillGracePeriodSeconds", json!(g));
        }
        put(
            "networks",
            match self
                .container
                .as_ref()
                .and_then(|c| c.docker.as_ref())
                .and_then(|d| d.network)
            {
                Some(DockerNetwork::Bridge) => json!([{"mode": "container/bridge"}]),
                Some(DockerNetwork::User) => json!([{"mode": "container"}]),
                _ => json!([{"mode": "host"}]),
            },
        );
        put("version", json!(self.version));
        Value::Object(o)
    }
}

fn container_json(c: &Container) -> Value {
    let mut v = json!({
        "type": match c.kind { ContainerType::Docker => "DOCKER", ContainerType::Mesos => "MESOS" },
        "volumes": c.volumes.iter().map(|v| {
            let mut j = json!({"containerPath": v.container_path, "mode": v.mode});
            if let Some(h) = &v.host_path { j["hostPath"] = json!(h); }
            j
        }).collect::<Vec<_>>(),
    });
    if let Some(d) = &c.docker {
        let mut dj = json!({
            "image": d.image,
            "privileged": d.privileged,
            "forcePullImage": d.force_pull_image,
            "parameters": d.parameters.iter().map(|(k, v)| json!({"key": k, "value": v})).collect::<Vec<_>>(),
        });
        if let Some(n) = d.network {
            dj["network"] = json!(n.name());
        }
        v["docker"] = dj;
    }
    if let Some(mappings) = &c.port_mappings {
        v["portMappings"] = mappings
            .iter()
            .map(|m| {
                let mut j = json!({"containerPort": m.container_port,
                                   "servicePort": m.service_port, "protocol": m.protocol});
                if let Some(h) = m.host_port {
                    j["hostPort"] = json!(h);
                }
                if let Some(n) = &m.name {
                    j["name"] = json!(n);
                }
                if !m.labels.is_empty() {
                    j["labels"] = json!(m.labels);
                }
                j
            })
            .collect();
    }
    v
}

fn health_check_json(h: &HealthCheck) -> Value {
    let mut v = json!({
        "protocol": h.protocol.name(),
        "gracePeriodSeconds": h.grace_period_seconds,
        "intervalSeconds": h.interval_seconds,
        "timeoutSeconds": h.timeout_seconds,
        "maxConsecutiveFailures": h.max_consecutive_failures,
        "ignoreHttp1xx": h.ignore_http1xx,
    });
    if let Some(p) = &h.path {
        v["path"] = json!(p);
    }
    if let Some(p) = h.port {
        v["port"] = json!(p);
    }
    if let Some(i) = h.port_index {
        v["portIndex"] = json!(i);
    }
    if let Some(c) = &h.command {
        v["command"] = json!({ "value": c });
    }
    if h.protocol.by_mesos() {
        v["delaySeconds"] = json!(h.delay_seconds);
    }
    v
}

/// A whole number in `[0, max]` at `key`, else the default; a value out
/// of range is a rule broken.
fn bounded(o: &mut Object, rules: &mut Details, key: &str, max: i64) -> Option<u64> {
    let n = o.integer(key)?;
    if n < 0 || n > max {
        rules.push(
            &o.path_of(key),
            format!("got {n}, expected between 0 and {max}"),
        );
        return None;
    }
    Some(n as u64)
}

fn read_app(doc: &Value, base: &PathId, types: &mut Details, rules: &mut Details) -> Option<App> {
    let mut o = Object::new(doc, "", types);
    let id = match o.string("id") {
        None if !o.has("id") => {
            rules.push("/id", "must not be empty");
            PathId::root()
        }
        None => PathId::root(),
        Some(text) => match PathId::parse(&text, base) {
            Ok(id) => id,
            Err(why) => {
                rules.push("/id", why);
                PathId::root()
            }
        },
    };
    let cmd = o.string("cmd");
    let args = o.strings("args");
    let user = o.string("user");
    let env = read_env(&mut o);
    let instances = bounded(&mut o, rules, "instances", MAX_INSTANCES).unwrap_or(1) as u32;
    let cpus = o.number("cpus").unwrap_or(1.0);
    let mem = o.number("mem").unwrap_or(128.0);
    let disk = o.number("disk").unwrap_or(0.0);
    let gpus = bounded(&mut o, rules, "gpus", MAX_INSTANCES).unwrap_or(0) as u32;
    let executor = o.string("executor").unwrap_or_default();
    let mut constraints = Vec::new();
    for (path, item) in o.array("constraints").unwrap_or_default() {
        match item.as_array() {
            None => o.errors().push(&path, super::read::EXPECTED_ARRAY),
            Some(items) => match Constraint::read(items) {
                Ok(c) => constraints.push(c),
                Err(why) => rules.push(&path, why),
            },
        }
    }
    let mut fetch: Vec<Fetch> = o
        .strings("uris")
        .unwrap_or_default()
        .into_iter()
        .map(|uri| Fetch {
            extract: true,
            executable: false,
            cache: false,
            dest_path: None,
            uri,
        })
        .collect();
    for (path, item) in o.array("fetch").unwrap_or_default() {
        let mut f = Object::new(item, &path, o.errors());
        match f.string("uri") {
            Some(uri) => {
                let extract = f.boolean("extract").unwrap_or(true);
                let executable = f.boolean("executable").unwrap_or(false);
                let cache = f.boolean("cache").unwrap_or(false);
                let dest_path = f.string("destPath");
                if uri.len() > 1024 {
                    rules.push(&format!("{path}/uri"), "must be at most 1024 characters");
                }
                fetch.retain(|e| e.uri != uri);
                fetch.push(Fetch {
                    uri,
                    extract,
                    executable,
                    cache,
                    dest_path,
                });
            }
            None => rules.push(&format!("{path}/uri"), "must not be empty"),
        }
    }
    let container = o
        .object("container")
        .and_then(|(path, v)| read_container(v, &path, o.errors(), rules));
    let require_ports = o.boolean("requirePorts").unwrap_or(false);
    let port_definitions = read_port_definitions(&mut o, rules);
    let health_checks = o
        .array("healthChecks")
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(path, v)| read_health_check(v, &path, o.errors(), rules))
        .collect();
    let backoff_seconds = bounded(&mut o, rules, "backoffSeconds", MAX_INSTANCES).unwrap_or(1);
    let backoff_factor = o.number("backoffFactor").unwrap_or(1.15);
    let max_launch_delay_seconds =
        bounded(&mut o, rules, "maxLaunchDelaySeconds", MAX_INSTANCES).unwrap_or(300);
    let upgrade_strategy = match o.object("upgradeStrategy") {
        Some((path, v)) => {
            let mut u = Object::new(v, &path, o.errors());
            UpgradeStrategy {
                minimum_health_capacity: u.number("minimumHealthCapacity").unwrap_or(1.0),
                maximum_over_capacity: u.number("maximumOverCapacity").unwrap_or(1.0),
            }
        }
        None => UpgradeStrategy {
            minimum_health_capacity: 1.0,
            maximum_over_capacity: 1.0,
        },
    };
    let unreachable_strategy = match o.raw("unreachableStrategy") {
        None => UnreachableStrategy::Enabled {
            inactive_after_seconds: 0,
            expunge_after_seconds: 0,
        },
        Some(Value::String(s)) if s == "disabled" => UnreachableStrategy::Disabled,
        Some(Value::String(s)) => {
            rules.push(
                "/unreachableStrategy",
                format!("'{s}' is not 'disabled' nor an object"),
            );
            UnreachableStrategy::Disabled
        }
        Some(v) => {
            let mut u = Object::new(v, "/unreachableStrategy", o.errors());
            let mut nonneg = |u: &mut Object, key: &str, default: u64| {
                bounded(u, rules, key, i64::MAX).unwrap_or(default)
            };
            UnreachableStrategy::Enabled {
                inactive_after_seconds: nonneg(&mut u, "inactiveAfterSeconds", 0),
                expunge_after_seconds: nonneg(&mut u, "expungeAfterSeconds", 0),
            }
        }
    };
    let kill_selection = match o.string("killSelection").as_deref() {
        None | Some("YOUNGEST_FIRST") => KillSelection::YoungestFirst,
        Some("OLDEST_FIRST") => KillSelection::OldestFirst,
        Some(other) => {
            rules.push(
                "/killSelection",
                format!("'{other}' is not one of YOUNGEST_FIRST, OLDEST_FIRST"),
            );
            KillSelection::YoungestFirst
        }
    };
    let accepted_resource_roles = o.strings("acceptedResourceRoles");
    let mut dependencies = Vec::new();
    for (i, d) in o
        .strings("dependencies")
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        match PathId::parse(&d, &id.parent()) {
            Ok(p) => dependencies.push(p),
            Err(why) => rules.push(&format!("/dependencies/{i}"), why),
        }
    }
    let labels = o.string_map("labels").unwrap_or_default();
    let task_kill_grace_period_seconds =
        bounded(&mut o, rules, "taskKillGracePeriodSeconds", i64::MAX);
    let version = o.string("version").unwrap_or_default();
    Some(App {
        id,
        cmd,
        args,
        user,
        env,
        instances,
        cpus,
        mem,
        disk,
        gpus,
        executor,
        constraints,
        fetch,
        container,
        port_definitions,
        require_ports,
        health_checks,
        backoff_seconds,
        backoff_factor,
        max_launch_delay_seconds,
        upgrade_strategy,
        unreachable_strategy,
        kill_selection,
        accepted_resource_roles,
        dependencies,
        labels,
        task_kill_grace_period_seconds,
        version,
    })
}

/// `env`: strings (a `{"secret": ..}` reference is kept as its name, for
/// the security issue to resolve).
fn read_env(o: &mut Object) -> BTreeMap<String, String> {
    let Some(v) = o.raw("env") else {
        return BTreeMap::new();
    };
    let Some(map) = v.as_object() else {
        let path = o.path_of("env");
        o.errors().push(&path, super::read::EXPECTED_OBJECT);
        return BTreeMap::new();
    };
    let mut out = BTreeMap::new();
    for (k, v) in map {
        match v {
            Value::String(s) => {
                out.insert(k.clone(), s.clone());
            }
            // Numbers and booleans are common in hand-written files; Marathon
            // refuses them, and so do we, at their path.
            _ => o
                .errors()
                .push(&format!("/env/{k}"), super::read::EXPECTED_STRING),
        }
    }
    out
}

fn read_port_definitions(o: &mut Object, rules: &mut Details) -> Vec<PortDefinition> {
    let default = || {
        vec![PortDefinition {
            port: 0,
            protocol: "tcp".into(),
            name: Some("default".into()),
            labels: BTreeMap::new(),
        }]
    };
    if let Some(items) = o.array("portDefinitions") {
        return items
            .into_iter()
            .map(|(path, v)| {
                let mut p = Object::new(v, &path, o.errors());
                let port = bounded(&mut p, rules, "port", 65535).unwrap_or(0) as u32;
                let protocol = read_protocol(&mut p, rules);
                PortDefinition {
                    port,
                    protocol,
                    name: p.string("name"),
                    labels: p.string_map("labels").unwrap_or_default(),
                }
            })
            .collect();
    }
    if let Some(items) = o.array("ports") {
        return items
            .into_iter()
            .filter_map(|(path, v)| match v.as_u64() {
                Some(port) if port <= 65535 => Some(PortDefinition {
                    port: port as u32,
                    protocol: "tcp".into(),
                    name: None,
                    labels: BTreeMap::new(),
                }),
                _ => {
                    rules.push(&path, "must be a port number between 0 and 65535");
                    None
                }
            })
            .collect();
    }
    default()
}

fn read_protocol(p: &mut Object, rules: &mut Details) -> String {
    let protocol = p.string("protocol").unwrap_or_else(|| "tcp".into());
    if !matches!(protocol.as_str(), "tcp" | "udp" | "udp,tcp" | "tcp,udp") {
        rules.push(
            &p.path_of("protocol"),
            format!("'{protocol}' is not one of tcp, udp, udp,tcp"),
        );
    }
    protocol
}

fn read_port_mappings(
    items: Vec<(String, &Value)>,
    types: &mut Details,
    rules: &mut Details,
    bridged: bool,
) -> Vec<PortMapping> {
    items
        .into_iter()
        .map(|(path, v)| {
            let mut m = Object::new(v, &path, types);
            let container_port = bounded(&mut m, rules, "containerPort", 65535).unwrap_or(0) as u32;
            let host_port = bounded(&mut m, rules, "hostPort", 65535)
                .map(|p| p as u32)
                .or(bridged.then_some(0));
            let service_port = bounded(&mut m, rules, "servicePort", 65535).unwrap_or(0) as u32;
            let protocol = read_protocol(&mut m, rules);
            PortMapping {
                container_port,
                host_port,
                service_port,
                protocol,
                name: m.string("name"),
                labels: m.string_map("labels").unwrap_or_default(),
            }
        })
        .collect()
}

fn read_container(
    v: &Value,
    path: &str,
    types: &mut Details,
    rules: &mut Details,
) -> Option<Container> {
    let mut c = Object::new(v, path, types);
    let kind = match c.string("type").as_deref() {
        None | Some("DOCKER") => ContainerType::Docker,
        Some("MESOS") => ContainerType::Mesos,
        Some(other) => {
            rules.push(
                &c.path_of("type"),
                format!("'{other}' is not one of DOCKER, MESOS"),
            );
            ContainerType::Docker
        }
    };
    let mut volumes = Vec::new();
    for (vpath, item) in c.array("volumes").unwrap_or_default() {
        let mut vo = Object::new(item, &vpath, c.errors());
        let container_path = vo.string("containerPath");
        let host_path = vo.string("hostPath");
        let mode = vo.string("mode").unwrap_or_else(|| "RW".into());
        if !matches!(mode.as_str(), "RW" | "RO") {
            rules.push(
                &format!("{vpath}/mode"),
                format!("'{mode}' is not one of RW, RO"),
            );
        }
        match container_path {
            Some(container_path) if !container_path.is_empty() => volumes.push(Volume {
                container_path,
                host_path,
                mode,
            }),
            _ => rules.push(&format!("{vpath}/containerPath"), "must not be empty"),
        }
    }
    let mut docker = None;
    let mut legacy_mappings = None;
    if let Some((dpath, dv)) = c.object("docker") {
        let mut d = Object::new(dv, &dpath, c.errors());
        let image = d.string("image").unwrap_or_default();
        let network = match d.string("network").as_deref() {
            None => None,
            Some("BRIDGE") => Some(DockerNetwork::Bridge),
            Some("HOST") => Some(DockerNetwork::Host),
            Some("NONE") => Some(DockerNetwork::None),
            Some("USER") => Some(DockerNetwork::User),
            Some(other) => {
                rules.push(
                    &d.path_of("network"),
                    format!("'{other}' is not one of BRIDGE, HOST, NONE, USER"),
                );
                None
            }
        };
        let privileged = d.boolean("privileged").unwrap_or(false);
        let force_pull_image = d.boolean("forcePullImage").unwrap_or(false);
        let mut parameters = Vec::new();
        for (ppath, p) in d.array("parameters").unwrap_or_default() {
            let mut po = Object::new(p, &ppath, d.errors());
            match (po.string("key"), po.string("value")) {
                (Some(k), Some(v)) => parameters.push((k, v)),
                _ => rules.push(&ppath, "a parameter needs a key and a value"),
            }
        }
        let bridged = matches!(network, Some(DockerNetwork::Bridge));
        legacy_mappings = d
            .array("portMappings")
            .map(|items| read_port_mappings(items, d.errors(), rules, bridged));
        docker = Some(Docker {
            image,
            network,
            privileged,
            force_pull_image,
            parameters,
        });
    }
    let bridged = docker
        .as_ref()
        .and_then(|d| d.network)
        .is_none_or(|n| n == DockerNetwork::Bridge);
    let mut port_mappings = c
        .array("portMappings")
        .map(|items| read_port_mappings(items, c.errors(), rules, bridged))
        .or(legacy_mappings);
    let networked = docker
        .as_ref()
        .and_then(|d| d.network)
        .is_some_and(|n| matches!(n, DockerNetwork::Bridge | DockerNetwork::User));
    if port_mappings.is_none() && networked {
        // Omitted in a bridged app: one default mapping, as Marathon adds.
        port_mappings = Some(vec![PortMapping {
            container_port: 0,
            host_port: bridged.then_some(0),
            service_port: 0,
            protocol: "tcp".into(),
            name: Some("default".into()),
            labels: BTreeMap::new(),
        }]);
    }
    Some(Container {
        kind,
        docker,
        port_mappings,
        volumes,
    })
}

fn read_health_check(
    v: &Value,
    path: &str,
    types: &mut Details,
    rules: &mut Details,
) -> Option<HealthCheck> {
    let mut h = Object::new(v, path, types);
    let protocol = match h.string("protocol") {
        None => HealthProtocol::Http,
        Some(p) => match HealthProtocol::ALL.iter().find(|k| k.name() == p) {
            Some(k) => *k,
            None => {
                rules.push(
                    &h.path_of("protocol"),
                    format!("'{p}' is not one of HTTP, HTTPS, TCP, COMMAND, MESOS_HTTP, MESOS_HTTPS, MESOS_TCP"),
                );
                return None;
            }
        },
    };
    let path_value = h.string("path");
    let port_index = bounded(&mut h, rules, "portIndex", 65535).map(|p| p as u32);
    let port = bounded(&mut h, rules, "port", 65535).map(|p| p as u32);
    let command = h
        .object("command")
        .and_then(|(cpath, cv)| Object::new(cv, &cpath, h.errors()).string("value"));
    let max = i64::from(i32::MAX);
    Some(HealthCheck {
        protocol,
        path: path_value.or_else(|| protocol.has_path().then(|| "/".to_owned())),
        // Neither given: the first port, as Marathon fills it in.
        port_index: port_index
            .or((port.is_none() && protocol != HealthProtocol::Command).then_some(0)),
        port,
        command,
        grace_period_seconds: bounded(&mut h, rules, "gracePeriodSeconds", max).unwrap_or(300),
        interval_seconds: bounded(&mut h, rules, "intervalSeconds", max).unwrap_or(60),
        timeout_seconds: bounded(&mut h, rules, "timeoutSeconds", max).unwrap_or(20),
        max_consecutive_failures: bounded(&mut h, rules, "maxConsecutiveFailures", max).unwrap_or(3)
            as u32,
        delay_seconds: bounded(&mut h, rules, "delaySeconds", max).unwrap_or(15),
        ignore_http1xx: h.boolean("ignoreHttp1xx").unwrap_or(false),
    })
}

/// A partial update: the stored app's JSON with the request's top-level
/// fields laid over it (`null` removes a field, so its default returns).
pub fn merge(stored: &Value, patch: &Value) -> Value {
    let mut out = stored.clone();
    if let (Some(o), Some(p)) = (out.as_object_mut(), patch.as_object()) {
        for (k, v) in p {
            if v.is_null() {
                o.remove(k);
            } else {
                o.insert(k.clone(), v.clone());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(doc: Value) -> Result<App, ApiError> {
        App::from_json(&doc, &PathId::root())
    }

    fn problems(e: &ApiError) -> Vec<String> {
        let (ApiError::Invalid(d) | ApiError::InvalidJson(d)) = e else {
            panic!("{e:?}");
        };
        d.iter().map(|d| d.path.clone()).collect()
    }

    #[test]
    fn the_guides_apps_are_read_with_marathons_defaults() {
        let sleep = read(
            json!({"id": "sleep-cluster", "cmd": "sleep 60", "instances": 3,
            "constraints": [["hostname", "CLUSTER", "a.specific.node.com"]]}),
        )
        .unwrap();
        assert_eq!(sleep.id.to_string(), "/sleep-cluster");
        assert_eq!(
            (sleep.cpus, sleep.mem, sleep.disk, sleep.instances),
            (1.0, 128.0, 0.0, 3)
        );
        assert_eq!(
            (
                sleep.backoff_seconds,
                sleep.backoff_factor,
                sleep.max_launch_delay_seconds
            ),
            (1, 1.15, 300)
        );
        assert_eq!(sleep.kill_selection, KillSelection::YoungestFirst);
        assert_eq!(sleep.port_definitions.len(), 1);
        assert_eq!(sleep.port_definitions[0].name.as_deref(), Some("default"));
        assert_eq!(
            sleep.upgrade_strategy,
            UpgradeStrategy {
                minimum_health_capacity: 1.0,
                maximum_over_capacity: 1.0
            }
        );
        let j = sleep.to_json();
        assert_eq!(
            j["constraints"],
            json!([["hostname", "CLUSTER", "a.specific.node.com"]])
        );
        assert_eq!(
            j["portDefinitions"],
            json!([{"port": 0, "protocol": "tcp", "name": "default"}])
        );
        assert_eq!(
            j["unreachableStrategy"],
            json!({"inactiveAfterSeconds": 0, "expungeAfterSeconds": 0})
        );

        let mysql = read(json!({"id": "mysql", "cpus": 0.5, "mem": 64.0, "instances": 1,
            "container": {"type": "DOCKER", "docker": {"image": "ppc64le/mysql", "network": "BRIDGE",
              "portMappings": [{"containerPort": 3306, "hostPort": 0, "servicePort": 0, "protocol": "tcp"}]}},
            "env": {"MYSQL_ROOT_PASSWORD": "password", "MYSQL_USER": "test"}}))
        .unwrap();
        let mappings = mysql.port_mappings().unwrap();
        assert_eq!(mappings.len(), 1);
        assert_eq!(
            (mappings[0].container_port, mappings[0].host_port),
            (3306, Some(0))
        );
        assert_eq!(mysql.host_port_count(), 1);
        assert_eq!(mysql.env["MYSQL_USER"], "test");
        let j = mysql.to_json();
        assert_eq!(j["container"]["docker"]["network"], "BRIDGE");
        assert_eq!(j["container"]["portMappings"][0]["containerPort"], 3306);
        assert_eq!(j["networks"], json!([{"mode": "container/bridge"}]));

        let dns = read(
            json!({"cmd": "/opt/mesos-dns -config=/opt/config.json", "cpus": 1.0,
            "mem": 1024, "id": "mesos-dns", "instances": 1}),
        )
        .unwrap();
        assert_eq!(dns.mem, 1024.0);
    }

    #[test]
    fn wrong_types_are_400_with_every_path() {
        let e = read(
            json!({"id": 5, "cpus": "x", "instances": "3", "env": {"A": 1},
                            "constraints": ["hostname"]}),
        )
        .unwrap_err();
        assert_eq!(e.status(), 400);
        assert_eq!(
            problems(&e),
            ["/id", "/env/A", "/instances", "/cpus", "/constraints/0"]
        );
        assert_eq!(e.body()["message"], "Invalid JSON");
    }

    #[test]
    fn broken_rules_are_422_with_every_path() {
        let cases: &[(Value, &[&str])] = &[
            (json!({"id": "/a"}), &["/"]),
            (json!({"cmd": "x"}), &["/id"]),
            (json!({"id": "/Bad", "cmd": "x"}), &["/id"]),
            (json!({"id": "/a/tasks", "cmd": "x"}), &["/id"]),
            (json!({"id": "/a", "cmd": "x", "args": ["y"]}), &["/"]),
            (json!({"id": "/a", "cmd": "x", "cpus": 0}), &["/cpus"]),
            (json!({"id": "/a", "cmd": "x", "mem": -1}), &["/mem"]),
            (
                json!({"id": "/a", "cmd": "x", "instances": -1}),
                &["/instances"],
            ),
            (
                json!({"id": "/a", "cmd": "x", "backoffFactor": 0.5}),
                &["/backoffFactor"],
            ),
            (
                json!({"id": "/a", "cmd": "x", "upgradeStrategy": {"minimumHealthCapacity": 1.5}}),
                &["/upgradeStrategy/minimumHealthCapacity"],
            ),
            (
                json!({"id": "/a", "cmd": "x", "constraints": [["hostname", "NOPE"]]}),
                &["/constraints/0"],
            ),
            (
                json!({"id": "/a", "cmd": "x", "killSelection": "RANDOM"}),
                &["/killSelection"],
            ),
            (
                json!({"id": "/a", "cmd": "x", "portDefinitions": [{"port": 70000}]}),
                &["/portDefinitions/0/port"],
            ),
            (
                json!({"id": "/a", "cmd": "x", "portDefinitions": [{"port": 1, "name": "p"}, {"port": 2, "name": "p"}]}),
                &["/portDefinitions/1/name"],
            ),
            (
                json!({"id": "/a", "cmd": "x", "requirePorts": true, "portDefinitions": [{"port": 0}]}),
                &["/requirePorts"],
            ),
            (
                json!({"id": "/a", "cmd": "x", "healthChecks": [{"protocol": "HTTP", "portIndex": 3}]}),
                &["/healthChecks/0/portIndex"],
            ),
            (
                json!({"id": "/a", "cmd": "x", "healthChecks": [{"protocol": "COMMAND"}]}),
                &["/healthChecks/0/command"],
            ),
            (
                json!({"id": "/a", "cmd": "x", "healthChecks": [{"protocol": "ICMP"}]}),
                &["/healthChecks/0/protocol"],
            ),
            (
                json!({"id": "/a", "container": {"type": "DOCKER", "docker": {"image": ""}}}),
                &["/container/docker/image"],
            ),
            (
                json!({"id": "/a", "cmd": "x", "unreachableStrategy": {"inactiveAfterSeconds": 10, "expungeAfterSeconds": 5}}),
                &["/unreachableStrategy/inactiveAfterSeconds"],
            ),
            (
                json!({"id": "/a", "cmd": "x", "dependencies": ["/a"]}),
                &["/dependencies/0"],
            ),
        ];
        for (doc, want) in cases {
            let e = read(doc.clone()).unwrap_err();
            assert_eq!(e.status(), 422, "{doc}: {:?}", e.body());
            assert_eq!(problems(&e), *want, "{doc}");
        }
    }

    #[test]
    fn health_checks_take_marathons_defaults() {
        let app = read(json!({"id": "/a", "cmd": "x", "healthChecks": [{}]})).unwrap();
        let http = &app.health_checks[0];
        assert_eq!(http.protocol, HealthProtocol::Http);
        assert_eq!(http.path.as_deref(), Some("/"));
        assert_eq!(
            (
                http.grace_period_seconds,
                http.interval_seconds,
                http.timeout_seconds,
                http.max_consecutive_failures
            ),
            (300, 60, 20, 3)
        );
        assert_eq!(http.port_index, Some(0));
        let command = read(json!({"id": "/a", "cmd": "x",
            "healthChecks": [{"protocol": "COMMAND", "command": {"value": "true"}}]}))
        .unwrap();
        assert!(command.health_checks[0].protocol.by_mesos());
        assert_eq!(command.health_checks[0].port_index, None);
        assert_eq!(read(command.to_json()).unwrap(), command);
        let mixed = read(json!({"id": "/a", "cmd": "x", "healthChecks": [{},
            {"protocol": "COMMAND", "command": {"value": "true"}}]}));
        assert_eq!(problems(&mixed.unwrap_err()), ["/healthChecks"]);
    }

    #[test]
    fn a_partial_update_keeps_what_it_does_not_name() {
        let app = read(json!({"id": "/a", "cmd": "sleep 1", "instances": 2, "labels": {"x": "y"}}))
            .unwrap();
        let merged = merge(&app.to_json(), &json!({"instances": 5, "labels": null}));
        let updated = read(merged).unwrap();
        assert_eq!(updated.instances, 5);
        assert_eq!(updated.cmd.as_deref(), Some("sleep 1"));
        assert!(updated.labels.is_empty());
        // What an app writes, it reads back the same.
        assert_eq!(read(app.to_json()).unwrap(), app);
    }
}
