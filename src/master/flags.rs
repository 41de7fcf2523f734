//! `mesos-master` flags: names, defaults and checks as Mesos has them.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use crate::flags::{FlagError, Flags, Spec};

pub const SPECS: &[Spec] = &[
    Spec::value("ip", None, "IP address to listen on"),
    Spec::value("port", Some("5050"), "Port to listen on"),
    Spec::value("hostname", None, "Hostname to advertise (default: the IP)"),
    Spec::value("advertise_ip", None, "IP address other nodes should use"),
    Spec::value("advertise_port", None, "Port other nodes should use"),
    Spec::value("work_dir", None, "Where to keep the replicated log"),
    Spec::value(
        "log_dir",
        None,
        "Directory for log files (default: stderr only)",
    ),
    Spec::value("logging_level", Some("INFO"), "INFO, WARNING or ERROR"),
    Spec::value(
        "allocation_interval",
        Some("1secs"),
        "Interval between batch allocations",
    ),
    Spec::value(
        "offer_timeout",
        None,
        "Rescind offers not used within this duration",
    ),
    Spec::value(
        "agent_ping_timeout",
        Some("15secs"),
        "Time to wait for a pong from an agent",
    ),
    Spec::value(
        "max_agent_ping_timeouts",
        Some("5"),
        "Missed pongs before an agent is unreachable",
    ),
    Spec::value(
        "agent_reregister_timeout",
        Some("10mins"),
        "Time for agents to re-register after failover (at least 10mins)",
    ),
    Spec::value(
        "roles",
        None,
        "Deprecated whitelist of roles (comma-separated)",
    ),
    Spec::value("weights", None, "role=weight,role=weight"),
    Spec::value(
        "quorum",
        None,
        "Replicas needed for a registry write (with --zk)",
    ),
    Spec::value("zk", None, "zk://host:port,.../path for leader election"),
    Spec::value(
        "zk_session_timeout",
        Some("10secs"),
        "ZooKeeper session timeout",
    ),
    Spec::value(
        "registry",
        Some("replicated_log"),
        "replicated_log or in_memory",
    ),
    Spec::boolean(
        "registry_strict",
        false,
        "Disabled in Mesos, kept for compatibility: only false is accepted",
    ),
    Spec::value(
        "registry_fetch_timeout",
        Some("1mins"),
        "Timeout for fetching the registry",
    ),
    Spec::value(
        "registry_store_timeout",
        Some("20secs"),
        "Timeout for storing the registry",
    ),
    Spec::value(
        "registry_gc_interval",
        Some("15mins"),
        "How often old unreachable and gone agents are pruned from the registry",
    ),
    Spec::value(
        "registry_max_agent_age",
        Some("2weeks"),
        "Unreachable or gone agents older than this leave the registry",
    ),
    Spec::value(
        "registry_max_agent_count",
        Some("102400"),
        "Most unreachable (and gone) agents the registry keeps",
    ),
    Spec::value(
        "max_completed_frameworks",
        Some("50"),
        "Completed frameworks kept",
    ),
    Spec::value(
        "max_completed_tasks_per_framework",
        Some("1000"),
        "Completed tasks kept per framework",
    ),
    Spec::value("cluster", None, "Human-readable cluster name"),
    Spec::boolean(
        "publish_per_framework_metrics",
        true,
        "Publish master/frameworks/<name>/<id>/... metrics for each framework",
    ),
];

/// The shortest `--agent_reregister_timeout` allowed, as in Mesos.
pub const MIN_AGENT_REREGISTER_TIMEOUT: Duration = Duration::from_secs(600);

/// Typed master settings.
#[derive(Debug, Clone)]
pub struct MasterFlags {
    pub ip: Option<IpAddr>,
    pub port: u16,
    pub hostname: Option<String>,
    pub advertise_ip: Option<IpAddr>,
    pub advertise_port: Option<u16>,
    pub work_dir: Option<String>,
    pub log_dir: Option<String>,
    pub logging_level: String,
    pub allocation_interval: Duration,
    pub offer_timeout: Option<Duration>,
    pub agent_ping_timeout: Duration,
    pub max_agent_ping_timeouts: u32,
    pub agent_reregister_timeout: Duration,
    pub roles: Option<Vec<String>>,
    pub weights: HashMap<String, f64>,
    pub quorum: Option<usize>,
    pub zk: Option<String>,
    pub zk_session_timeout: Duration,
    pub registry: String,
    pub registry_fetch_timeout: Duration,
    pub registry_gc_interval: Duration,
    pub registry_max_agent_age: Duration,
    pub registry_max_agent_count: usize,
    pub registry_store_timeout: Duration,
    pub max_completed_frameworks: usize,
    pub publish_per_framework_metrics: bool,
    pub max_completed_tasks_per_framework: usize,
    pub cluster: Option<String>,
    /// Every flag as text, for `/master/flags`.
    pub all: Flags,
}

impl MasterFlags {
    pub fn from_flags(f: Flags) -> Result<MasterFlags, FlagError> {
        let bad = |name: &str, reason: String| FlagError::Bad {
            name: name.to_owned(),
            reason,
        };
        let required =
            |name: &str, d: Option<Duration>| d.ok_or_else(|| FlagError::Missing(name.to_owned()));
        let agent_ping_timeout = required("agent_ping_timeout", f.duration("agent_ping_timeout")?)?;
        if agent_ping_timeout < Duration::from_secs(1)
            || agent_ping_timeout > Duration::from_secs(15 * 60)
        {
            return Err(bad(
                "agent_ping_timeout",
                "must be between 1secs and 15mins".into(),
            ));
        }
        let max_agent_ping_timeouts = f.parse::<u32>("max_agent_ping_timeouts")?.unwrap_or(5);
        if max_agent_ping_timeouts < 1 {
            return Err(bad("max_agent_ping_timeouts", "must be at least 1".into()));
        }
        let registry = f.string("registry")?;
        if registry != "replicated_log" && registry != "in_memory" {
            return Err(bad(
                "registry",
                format!("'{registry}' is not replicated_log or in_memory"),
            ));
        }
        let weights = match f.get("weights") {
            None => HashMap::new(),
            Some(text) => parse_weights(text).map_err(|e| bad("weights", e))?,
        };
        let agent_reregister_timeout = required(
            "agent_reregister_timeout",
            f.duration("agent_reregister_timeout")?,
        )?;
        // Agents bound their re-registration retries by this minimum, so a
        // shorter timeout could mark agents unreachable that are still
        // trying (Mesos refuses it too).
        if agent_reregister_timeout < MIN_AGENT_REREGISTER_TIMEOUT {
            return Err(bad(
                "agent_reregister_timeout",
                "must be at least 10mins".into(),
            ));
        }
        if f.boolean("registry_strict")? {
            return Err(bad(
                "registry_strict",
                "support for --registry_strict has been disabled (as in Mesos)".into(),
            ));
        }
        let allocation_interval =
            required("allocation_interval", f.duration("allocation_interval")?)?;
        if allocation_interval.is_zero() {
            return Err(bad("allocation_interval", "must be positive".into()));
        }
        Ok(MasterFlags {
            ip: f.parse("ip")?,
            port: f.parse("port")?.unwrap_or(5050),
            hostname: f.get("hostname").map(str::to_owned),
            advertise_ip: f.parse("advertise_ip")?,
            advertise_port: f.parse("advertise_port")?,
            work_dir: f.get("work_dir").map(str::to_owned),
            log_dir: f.get("log_dir").map(str::to_owned),
            logging_level: f.string("logging_level")?,
            allocation_interval,
            offer_timeout: f.duration("offer_timeout")?,
            agent_ping_timeout,
            max_agent_ping_timeouts,
            agent_reregister_timeout,
            roles: f.get("roles").map(|r| {
                r.split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect()
            }),
            weights,
            quorum: f.parse("quorum")?,
            zk: f.get("zk").map(str::to_owned),
            zk_session_timeout: required("zk_session_timeout", f.duration("zk_session_timeout")?)?,
            registry,
            registry_gc_interval: required(
                "registry_gc_interval",
                f.duration("registry_gc_interval")?,
            )?,
            registry_max_agent_age: required(
                "registry_max_agent_age",
                f.duration("registry_max_agent_age")?,
            )?,
            registry_max_agent_count: f.parse("registry_max_agent_count")?.unwrap_or(102_400),
            registry_fetch_timeout: required(
                "registry_fetch_timeout",
                f.duration("registry_fetch_timeout")?,
            )?,
            registry_store_timeout: required(
                "registry_store_timeout",
                f.duration("registry_store_timeout")?,
            )?,
            max_completed_frameworks: f.parse("max_completed_frameworks")?.unwrap_or(50),
            publish_per_framework_metrics: f.boolean("publish_per_framework_metrics")?,
            max_completed_tasks_per_framework: f
                .parse("max_completed_tasks_per_framework")?
                .unwrap_or(1000),
            cluster: f.get("cluster").map(str::to_owned),
            all: f,
        })
    }

    /// Defaults, as if no flag were given.
    pub fn defaults() -> MasterFlags {
        match Flags::load(SPECS, Vec::new(), Vec::new()) {
            Ok(crate::flags::Outcome::Run(f)) => match MasterFlags::from_flags(f) {
                Ok(m) => m,
                Err(e) => unreachable!("defaults are valid: {e}"),
            },
            _ => unreachable!("no arguments give Run"),
        }
    }
}

/// Parses `role=weight,role=weight`.
pub fn parse_weights(text: &str) -> Result<HashMap<String, f64>, String> {
    let mut out = HashMap::new();
    for pair in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (role, weight) = pair
            .split_once('=')
            .ok_or_else(|| format!("'{pair}' is not role=weight"))?;
        let w: f64 = weight
            .trim()
            .parse()
            .map_err(|_| format!("weight '{weight}' of role '{role}' is not a number"))?;
        if !(w.is_finite() && w > 0.0) {
            return Err(format!("weight of role '{role}' must be positive"));
        }
        out.insert(role.trim().to_owned(), w);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flags::Outcome;

    fn load(args: &[&str]) -> Result<MasterFlags, FlagError> {
        match Flags::load(SPECS, args.iter().map(|s| s.to_string()), Vec::new())? {
            Outcome::Run(f) => MasterFlags::from_flags(f),
            _ => panic!("not run"),
        }
    }

    #[test]
    fn defaults_match_mesos() {
        let m = MasterFlags::defaults();
        assert_eq!(m.port, 5050);
        assert_eq!(m.allocation_interval, Duration::from_secs(1));
        assert_eq!(m.agent_ping_timeout, Duration::from_secs(15));
        assert_eq!(m.max_agent_ping_timeouts, 5);
        assert_eq!(m.agent_reregister_timeout, Duration::from_secs(600));
        assert_eq!(m.offer_timeout, None);
        assert_eq!(m.registry, "replicated_log");
    }

    #[test]
    fn bad_values_are_refused() {
        assert!(load(&["--agent_ping_timeout=0secs"]).is_err());
        assert!(load(&["--max_agent_ping_timeouts=0"]).is_err());
        assert!(load(&["--registry=leveldb"]).is_err());
        assert!(load(&["--weights=a=x"]).is_err());
        assert!(load(&["--port=99999"]).is_err());
        assert!(load(&["--allocation_interval=fast"]).is_err());
        assert!(load(&["--agent_reregister_timeout=9mins"]).is_err());
        assert!(load(&["--registry_strict"]).is_err());
        assert!(load(&["--registry_strict=false"]).is_ok());
        let m = load(&["--agent_reregister_timeout=1hrs"]).unwrap();
        assert_eq!(m.agent_reregister_timeout, Duration::from_secs(3600));
        let m = load(&["--weights=a=2,b=0.5", "--roles=a,b"]).unwrap();
        assert_eq!(m.weights["a"], 2.0);
        assert_eq!(m.roles, Some(vec!["a".to_string(), "b".to_string()]));
    }
}
