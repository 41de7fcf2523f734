//! `mesos-agent` flags: names, defaults and checks as Mesos has them.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::flags::{FlagError, Flags, Spec, Unsupported};

pub const SPECS: &[Spec] = &[
    Spec::value(
        "master",
        None,
        "host:port of the master (zk:// and file:// come with high availability)",
    ),
    Spec::value("ip", None, "IP address to listen on"),
    Spec::value("port", Some("5051"), "Port to listen on"),
    Spec::value("hostname", None, "Hostname to advertise (default: the IP)"),
    Spec::value("advertise_ip", None, "IP address other nodes should use"),
    Spec::value("advertise_port", None, "Port other nodes should use"),
    Spec::value(
        "work_dir",
        None,
        "Where sandboxes and checkpoints live (required)",
    ),
    Spec::value(
        "log_dir",
        None,
        "Directory for log files (default: stderr only)",
    ),
    Spec::value("logging_level", Some("INFO"), "INFO, WARNING or ERROR"),
    Spec::value(
        "resources",
        None,
        "e.g. cpus:4;mem:4096;ports(*):[31000-32000], or JSON",
    ),
    Spec::value("attributes", None, "e.g. rack:a;zone:b"),
    Spec::value(
        "default_role",
        Some("*"),
        "Role of resources given without one",
    ),
    Spec::value(
        "executor_registration_timeout",
        Some("1mins"),
        "Time an executor has to register",
    ),
    Spec::value(
        "executor_shutdown_grace_period",
        Some("5secs"),
        "Time between SIGTERM and SIGKILL for executors",
    ),
    Spec::value(
        "recover",
        Some("reconnect"),
        "reconnect: take back the live executors of checkpointing frameworks after a restart; cleanup: kill them and exit",
    ),
    Spec::value(
        "reconfiguration_policy",
        Some("equal"),
        "equal: a restarted agent keeps its id only with the same resources and attributes; additive: also with more",
    ),
    Spec::value(
        "executor_reregistration_timeout",
        Some("2secs"),
        "Time a recovered executor has to re-register after a restart (at most 15secs)",
    ),
    Spec::value(
        "recovery_timeout",
        Some("15mins"),
        "Time executors of checkpointing frameworks wait for a lost agent to come back",
    ),
    Spec::value(
        "registration_backoff_factor",
        Some("1secs"),
        "Initial backoff of registration retries",
    ),
    Spec::value(
        "containerizers",
        Some("mesos"),
        "Comma-separated containerizers, tried in order (docker, mesos)",
    ),
    Spec::value("docker", Some("docker"), "The docker client the docker containerizer runs"),
    Spec::value(
        "docker_socket",
        Some("/var/run/docker.sock"),
        "The unix socket of the Docker daemon",
    ),
    Spec::value(
        "docker_stop_timeout",
        Some("0ns"),
        "How long docker stop of an orphan container waits before killing it (tasks are killed with their kill grace period)",
    ),
    Spec::value(
        "docker_remove_delay",
        Some("6hrs"),
        "How long an ended Docker container is kept before it is removed",
    ),
    Spec::boolean(
        "docker_kill_orphans",
        true,
        "After a restart, remove the mesos-* Docker containers of no known container",
    ),
    Spec::value(
        "docker_mesos_image",
        None,
        "The image the agent itself runs in (unsupported: the agent runs on the host)",
    ),
    Spec::value(
        "isolation",
        Some("posix/cpu,posix/mem"),
        "Isolators: posix/cpu, posix/mem, posix/disk, disk/du, cgroups/cpu, cgroups/mem, cgroups/pids, cgroups/all",
    ),
    Spec::value(
        "launcher",
        None,
        "posix or linux (a freezer cgroup per container); default linux as root where the freezer or a cgroup2 is mounted, else posix",
    ),
    Spec::value(
        "cgroups_hierarchy",
        Some("/sys/fs/cgroup"),
        "Where the cgroup hierarchies are mounted",
    ),
    Spec::value(
        "cgroups_root",
        Some("mesos"),
        "The cgroup under which every container's cgroups are made",
    ),
    Spec::boolean(
        "cgroups_enable_cfs",
        false,
        "cgroups/cpu also sets a CFS quota of cpus x 100ms a 100ms period",
    ),
    Spec::value(
        "container_disk_watch_interval",
        Some("15secs"),
        "How often disk/du measures each sandbox",
    ),
    Spec::boolean(
        "enforce_container_disk_quota",
        false,
        "disk/du kills a container whose sandbox is over its disk resource",
    ),
    Spec::value(
        "executor_environment_variables",
        None,
        "JSON object of variables every executor gets (instead of the agent's environment)",
    ),
    Spec::boolean("strict", true, "Recovery errors are fatal (only true)"),
    Spec::value("gc_delay", Some("1weeks"), "Keep finished sandboxes at most this long"),
    Spec::value(
        "gc_disk_headroom",
        Some("0.1"),
        "Disk headroom that shortens gc_delay",
    ),
    Spec::value(
        "disk_watch_interval",
        Some("1mins"),
        "How often disk usage is checked",
    ),
    Spec::boolean(
        "switch_user",
        true,
        "Run executors and tasks as their command's or framework's user",
    ),
    Spec::value(
        "sandbox_directory",
        Some("/mnt/mesos/sandbox"),
        "Where a Docker container sees its sandbox (other tasks see their sandbox in place)",
    ),
    Spec::value("frameworks_home", None, "Directory prepended to relative executor paths"),
    Spec::value("fetcher_cache_dir", Some("/tmp/mesos/fetch"), "Fetcher cache directory"),
    Spec::value("fetcher_cache_size", Some("2GB"), "Fetcher cache size"),
    Spec::value(
        "max_completed_executors_per_framework",
        Some("150"),
        "Completed executors /state keeps per framework",
    ),
    Spec::value(
        "http_heartbeat_interval",
        Some("30secs"),
        "Heartbeats on attach streams (accepted; no attach API here)",
    ),
    Spec::boolean(
        "http_command_executor",
        false,
        "Run the v1 command executor (only false)",
    ),
    Spec::boolean(
        "http_executor_domain_sockets",
        false,
        "v1 executors over a domain socket (only false)",
    ),
    Spec::boolean(
        "authenticate_http_executors",
        false,
        "Require executor authentication (only false)",
    ),
    Spec::boolean(
        "authenticate_http_readonly",
        false,
        "Require authentication of read-only endpoints (only false)",
    ),
    Spec::boolean(
        "authenticate_http_readwrite",
        false,
        "Require authentication of read-write endpoints (only false)",
    ),
    Spec::value("authenticatee", Some("crammd5"), "Authenticatee module"),
    Spec::value("http_authenticators", Some("basic"), "HTTP authenticator module"),
    Spec::value("credential", None, "Credential file (unsupported)"),
    Spec::value("modules", None, "Modules (unsupported)"),
    Spec::value("modules_dir", None, "Modules directory (unsupported)"),
    Spec::value("domain", None, "Fault domain of this agent (unsupported)"),
    Spec::value("firewall_rules", None, "Endpoint firewall rules (unsupported)"),
    Spec::value(
        "ip_discovery_command",
        None,
        "Command printing the IP to use (unsupported: use --ip)",
    ),
    Spec::boolean(
        "hostname_lookup",
        true,
        "Look up the hostname when --hostname is not given (accepted; the IP is advertised)",
    ),
    Spec::value(
        "launcher_dir",
        None,
        "Directory holding mesos-executor (default: this binary's)",
    ),
    Spec::value(
        "zk_session_timeout",
        Some("10secs"),
        "ZooKeeper session timeout",
    ),
];

/// Mesos's `MAX_EXECUTOR_REREGISTRATION_TIMEOUT`.
pub const MAX_EXECUTOR_REREGISTRATION_TIMEOUT: Duration = Duration::from_secs(15);

/// What a restarted agent does with the executors its previous run left
/// (`--recover`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recover {
    /// Reconnect to the live executors of checkpointing frameworks.
    Reconnect,
    /// Kill them, and exit once they are gone.
    Cleanup,
}

/// A JSON object of strings, as `--executor_environment_variables` takes.
fn parse_environment(text: &str) -> Result<Vec<(String, String)>, String> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let object = value
        .as_object()
        .ok_or_else(|| "expected a JSON object".to_owned())?;
    object
        .iter()
        .map(|(k, v)| match v.as_str() {
            Some(v) => Ok((k.clone(), v.to_owned())),
            None => Err(format!("the value of '{k}' is not a string")),
        })
        .collect()
}

/// What may change across a restart that keeps the agent id
/// (`--reconfiguration_policy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReconfigurationPolicy {
    /// Nothing.
    Equal,
    /// Resources and attributes may be added, none removed or changed.
    Additive,
}

/// Typed agent settings.
#[derive(Debug, Clone)]
pub struct AgentFlags {
    pub master: String,
    pub ip: Option<IpAddr>,
    pub port: u16,
    pub hostname: Option<String>,
    pub advertise_ip: Option<IpAddr>,
    pub advertise_port: Option<u16>,
    pub work_dir: PathBuf,
    pub log_dir: Option<String>,
    pub logging_level: String,
    pub resources: Option<String>,
    pub attributes: Option<String>,
    pub default_role: String,
    pub executor_registration_timeout: Duration,
    pub executor_shutdown_grace_period: Duration,
    pub registration_backoff_factor: Duration,
    /// `--executor_environment_variables`: what executors get instead of
    /// the agent's own environment.
    pub executor_environment_variables: Option<Vec<(String, String)>>,
    /// Run executors as their command's or framework's user.
    pub switch_user: bool,
    /// The fetcher's cache (`--fetcher_cache_dir`, `--fetcher_cache_size`).
    pub fetcher_cache: super::fetcher::Cache,
    /// Where relative fetcher URIs are found (`--frameworks_home`).
    pub frameworks_home: Option<PathBuf>,
    /// Finished sandboxes are removed at most this long after their last
    /// change (`--gc_delay`), sooner as the disk fills.
    pub gc_delay: Duration,
    pub gc_disk_headroom: f64,
    /// How often sandboxes are swept (`--disk_watch_interval`).
    pub disk_watch_interval: Duration,
    pub recover: Recover,
    pub reconfiguration_policy: ReconfigurationPolicy,
    pub executor_reregistration_timeout: Duration,
    pub recovery_timeout: Duration,
    pub launcher_dir: PathBuf,
    pub zk_session_timeout: Duration,
    /// Ended executor runs `/state` lists per framework
    /// (`--max_completed_executors_per_framework`).
    pub max_completed_executors_per_framework: usize,
    /// `--containerizers`: `mesos` and `docker`, in the order given.
    pub containerizers: Vec<String>,
    /// The Docker containerizer's flags (`--docker`, `--docker_socket`,
    /// `--docker_stop_timeout`, `--docker_remove_delay`,
    /// `--docker_kill_orphans`, `--sandbox_directory`).
    pub docker: crate::container::docker::DockerConfig,
    /// The Mesos containerizer's launcher, isolators and cgroups
    /// (`--launcher`, `--isolation`, `--cgroups_*`, ...), checked against
    /// this machine.
    pub containers: crate::container::ContainerConfig,
    /// Every flag as text, for `/flags`.
    pub all: Flags,
}

impl AgentFlags {
    pub fn from_flags(f: Flags) -> Result<AgentFlags, FlagError> {
        let bad = |name: &str, reason: String| FlagError::Bad {
            name: name.to_owned(),
            reason,
        };
        let required =
            |name: &str, d: Option<Duration>| d.ok_or_else(|| FlagError::Missing(name.to_owned()));
        let master = f.string("master")?;
        let mut containerizers: Vec<String> = Vec::new();
        for c in f.string("containerizers")?.split(',').map(str::trim) {
            match c {
                "mesos" | "docker" if containerizers.iter().any(|k| k == c) => {
                    return Err(bad("containerizers", format!("'{c}' is given twice")))
                }
                "mesos" | "docker" => containerizers.push(c.to_owned()),
                other => {
                    return Err(bad(
                        "containerizers",
                        format!("unknown containerizer '{other}'"),
                    ))
                }
            }
        }
        let docker = crate::container::docker::DockerConfig {
            docker: crate::container::docker::Docker::new(
                &f.string("docker")?,
                std::path::Path::new(&f.string("docker_socket")?),
            ),
            sandbox_directory: f.string("sandbox_directory")?,
            stop_timeout: required("docker_stop_timeout", f.duration("docker_stop_timeout")?)?,
            remove_delay: required("docker_remove_delay", f.duration("docker_remove_delay")?)?,
            kill_orphans: f.boolean("docker_kill_orphans")?,
        };
        if !docker.sandbox_directory.starts_with('/') {
            return Err(bad("sandbox_directory", "must be an absolute path".into()));
        }
        Unsupported {
            only: &[
                ("authenticatee", "crammd5"),
                ("http_authenticators", "basic"),
            ],
            only_false: &[
                "http_command_executor",
                "http_executor_domain_sockets",
                "authenticate_http_executors",
                "authenticate_http_readonly",
                "authenticate_http_readwrite",
            ],
            only_true: &["strict"],
            unset: &[
                "credential",
                "modules",
                "modules_dir",
                "domain",
                "firewall_rules",
                "ip_discovery_command",
                "docker_mesos_image",
            ],
        }
        .check(&f)?;
        f.duration("http_heartbeat_interval")?;
        let gc_delay = required("gc_delay", f.duration("gc_delay")?)?;
        let disk_watch_interval =
            required("disk_watch_interval", f.duration("disk_watch_interval")?)?;
        if disk_watch_interval.is_zero() {
            return Err(bad("disk_watch_interval", "must be positive".into()));
        }
        let gc_disk_headroom: f64 = f.parse("gc_disk_headroom")?.unwrap_or(0.1);
        if !(0.0..=1.0).contains(&gc_disk_headroom) {
            return Err(bad(
                "gc_disk_headroom",
                "must be between 0.0 and 1.0".into(),
            ));
        }
        let max_completed_executors_per_framework = f
            .parse::<usize>("max_completed_executors_per_framework")?
            .unwrap_or(150);
        let executor_environment_variables = match f.get("executor_environment_variables") {
            None => None,
            Some(text) => Some(
                parse_environment(text).map_err(|e| bad("executor_environment_variables", e))?,
            ),
        };
        let containers = {
            let isolation = f.string("isolation")?;
            let hierarchy = PathBuf::from(f.string("cgroups_hierarchy")?);
            let root = f.string("cgroups_root")?;
            let requested = crate::container::config::Requested {
                launcher: f.get("launcher"),
                isolation: &isolation,
                hierarchy: &hierarchy,
                root: &root,
                enable_cfs: f.boolean("cgroups_enable_cfs")?,
                disk_watch_interval: required(
                    "container_disk_watch_interval",
                    f.duration("container_disk_watch_interval")?,
                )?,
                enforce_disk_quota: f.boolean("enforce_container_disk_quota")?,
            };
            let machine = crate::container::config::Machine::probe(&hierarchy);
            crate::container::ContainerConfig::check(&requested, &machine)
                .map_err(|r| bad(r.flag, r.reason))?
        };
        let recover = match f.string("recover")?.as_str() {
            "reconnect" => Recover::Reconnect,
            "cleanup" => Recover::Cleanup,
            other => {
                return Err(bad(
                    "recover",
                    format!("unknown option '{other}' (expected reconnect or cleanup)"),
                ))
            }
        };
        let reconfiguration_policy = match f.string("reconfiguration_policy")?.as_str() {
            "equal" => ReconfigurationPolicy::Equal,
            "additive" => ReconfigurationPolicy::Additive,
            other => {
                return Err(bad(
                    "reconfiguration_policy",
                    format!("unknown policy '{other}' (expected equal or additive)"),
                ))
            }
        };
        let executor_reregistration_timeout = required(
            "executor_reregistration_timeout",
            f.duration("executor_reregistration_timeout")?,
        )?;
        if executor_reregistration_timeout > MAX_EXECUTOR_REREGISTRATION_TIMEOUT {
            return Err(bad(
                "executor_reregistration_timeout",
                "expected not more than 15secs".into(),
            ));
        }
        let launcher_dir = match f.get("launcher_dir") {
            Some(d) => PathBuf::from(d),
            None => std::env::current_exe()
                .ok()
                .and_then(|p| p.parent().map(PathBuf::from))
                .unwrap_or_else(|| PathBuf::from(".")),
        };
        Ok(AgentFlags {
            master,
            ip: f.parse("ip")?,
            port: f.parse("port")?.unwrap_or(5051),
            hostname: f.get("hostname").map(str::to_owned),
            advertise_ip: f.parse("advertise_ip")?,
            advertise_port: f.parse("advertise_port")?,
            work_dir: PathBuf::from(f.string("work_dir")?),
            log_dir: f.get("log_dir").map(str::to_owned),
            logging_level: f.string("logging_level")?,
            resources: f.get("resources").map(str::to_owned),
            attributes: f.get("attributes").map(str::to_owned),
            default_role: f.string("default_role")?,
            executor_registration_timeout: required(
                "executor_registration_timeout",
                f.duration("executor_registration_timeout")?,
            )?,
            executor_shutdown_grace_period: required(
                "executor_shutdown_grace_period",
                f.duration("executor_shutdown_grace_period")?,
            )?,
            registration_backoff_factor: required(
                "registration_backoff_factor",
                f.duration("registration_backoff_factor")?,
            )?,
            executor_environment_variables,
            switch_user: f.boolean("switch_user")?,
            fetcher_cache: super::fetcher::Cache {
                dir: PathBuf::from(f.string("fetcher_cache_dir")?),
                size: super::fetcher::parse_size(&f.string("fetcher_cache_size")?)
                    .map_err(|e| bad("fetcher_cache_size", e))?,
            },
            frameworks_home: f
                .get("frameworks_home")
                .filter(|h| !h.is_empty())
                .map(PathBuf::from),
            gc_delay,
            gc_disk_headroom,
            disk_watch_interval,
            recover,
            reconfiguration_policy,
            executor_reregistration_timeout,
            recovery_timeout: required("recovery_timeout", f.duration("recovery_timeout")?)?,
            launcher_dir,
            zk_session_timeout: required("zk_session_timeout", f.duration("zk_session_timeout")?)?,
            max_completed_executors_per_framework,
            containerizers,
            docker,
            containers,
            all: f,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flags::Outcome;

    fn load(args: &[&str]) -> Result<AgentFlags, FlagError> {
        match Flags::load(SPECS, args.iter().map(|s| s.to_string()), Vec::new())? {
            Outcome::Run(f) => AgentFlags::from_flags(f),
            _ => panic!("not run"),
        }
    }

    #[test]
    fn defaults_match_mesos() {
        let a = load(&["--master=127.0.0.1:5050", "--work_dir=/tmp/x"]).unwrap();
        assert_eq!(a.port, 5051);
        assert_eq!(a.executor_registration_timeout, Duration::from_secs(60));
        assert_eq!(a.executor_shutdown_grace_period, Duration::from_secs(5));
        assert_eq!(a.default_role, "*");
        assert_eq!(a.recover, Recover::Reconnect);
        assert_eq!(a.executor_reregistration_timeout, Duration::from_secs(2));
        assert_eq!(a.recovery_timeout, Duration::from_secs(15 * 60));
        let c = load(&["--master=m:5050", "--work_dir=/x", "--recover=cleanup"]).unwrap();
        assert_eq!(c.recover, Recover::Cleanup);
        assert_eq!(a.containerizers, ["mesos"]);
        assert_eq!(a.docker.docker.program, "docker");
        assert_eq!(
            a.docker.docker.socket,
            std::path::Path::new("/var/run/docker.sock")
        );
        assert_eq!(a.docker.stop_timeout, Duration::ZERO);
        assert_eq!(a.docker.remove_delay, Duration::from_secs(6 * 3600));
        assert!(a.docker.kill_orphans);
        assert_eq!(a.docker.sandbox_directory, "/mnt/mesos/sandbox");
        let d = load(&[
            "--master=m:5050",
            "--work_dir=/x",
            "--containerizers=docker,mesos",
            "--docker=/usr/bin/docker",
            "--docker_socket=/tmp/d.sock",
            "--docker_remove_delay=0ns",
            "--docker_kill_orphans=false",
        ])
        .unwrap();
        assert_eq!(d.containerizers, ["docker", "mesos"]);
        assert_eq!(d.docker.docker.program, "/usr/bin/docker");
        assert_eq!(d.docker.remove_delay, Duration::ZERO);
        assert!(!d.docker.kill_orphans);
    }

    #[test]
    fn refuses_what_it_cannot_do() {
        assert!(matches!(
            load(&["--work_dir=/tmp/x"]),
            Err(FlagError::Missing(_))
        ));
        assert!(matches!(
            load(&["--master=m:5050"]),
            Err(FlagError::Missing(_))
        ));
        for bad in [
            "--containerizers=mesos,mesos",
            "--containerizers=rkt",
            "--docker_mesos_image=mesos:latest",
            "--sandbox_directory=relative",
        ] {
            let err = load(&["--master=m:5050", "--work_dir=/x", bad]).unwrap_err();
            assert!(!err.to_string().contains('\n'), "{bad}: {err}");
        }
        assert!(load(&[
            "--master=m:5050",
            "--work_dir=/x",
            "--isolation=cgroups/gpu"
        ])
        .is_err());
        assert!(load(&["--master=zk://h:2181/mesos", "--work_dir=/x"]).is_ok());
        let base = ["--master=m:5050", "--work_dir=/x"];
        for unsupported in [
            "--executor_environment_variables=[1]",
            "--executor_environment_variables={\"A\": 1}",
            "--executor_environment_variables=nope",
            "--strict=false",
            "--http_command_executor",
            "--modules=file:///etc/hosts",
            "--ip_discovery_command=hostname -i",
            "--authenticatee=custom",
            "--gc_delay=soon",
            "--gc_disk_headroom=1.5",
            "--fetcher_cache_size=lots",
            "--disk_watch_interval=0secs",
            "--launcher=lxc",
            "--cgroups_root=../escape",
            "--container_disk_watch_interval=0secs",
        ] {
            let mut args = base.to_vec();
            args.push(unsupported);
            let e = load(&args).unwrap_err().to_string();
            assert!(!e.contains('\n'), "{unsupported}: {e}");
        }
        let mut args = base.to_vec();
        args.extend([
            "--executor_environment_variables={\"PATH\": \"/bin\"}",
            "--gc_delay=2days",
            "--switch_user=false",
            "--sandbox_directory=/sandbox",
        ]);
        let a = load(&args).unwrap();
        assert_eq!(
            a.executor_environment_variables,
            Some(vec![("PATH".to_string(), "/bin".to_string())])
        );
        assert!(load(&["--master=m:5050", "--work_dir=/x", "--recover=maybe"]).is_err());
        assert!(load(&[
            "--master=m:5050",
            "--work_dir=/x",
            "--executor_reregistration_timeout=16secs"
        ])
        .is_err());
    }
}
