//! `mesos-master` flags: names, defaults and checks as Mesos has them.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use crate::flags::{FlagError, Flags, Spec, Unsupported};

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
    Spec::value(
        "recovery_agent_removal_limit",
        Some("100%"),
        "After a failover, the most agents (a percentage of those admitted) that may be marked unreachable for not re-registering; beyond it the master exits instead",
    ),
    Spec::value(
        "agent_removal_rate_limit",
        None,
        "Most agents marked unreachable per duration, e.g. 1/10mins (default: no limit)",
    ),
    Spec::value(
        "min_allocatable_resources",
        Some("cpus:0.01|mem:32"),
        "Offer only resources holding one of these '|'-separated sets",
    ),
    Spec::value(
        "fair_sharing_excluded_resource_names",
        None,
        "Resource kinds left out of dominant shares (comma-separated)",
    ),
    Spec::value("allocator", Some("hierarchical"), "The allocator (hierarchical)"),
    Spec::value("role_sorter", Some("drf"), "Sorter between roles (drf)"),
    Spec::value(
        "framework_sorter",
        Some("drf"),
        "Sorter between a role's frameworks (drf)",
    ),
    Spec::value(
        "allocator_agent_recovery_factor",
        Some("0.80"),
        "With quota, the share of agents to await after a failover (not applied yet: offers start at once)",
    ),
    Spec::value(
        "allocator_recovery_timeout",
        Some("10mins"),
        "With quota, the longest wait for agents after a failover (not applied yet: offers start at once)",
    ),
    Spec::boolean("log_auto_initialize", true, "Initialize an empty replicated log by itself"),
    Spec::boolean("filter_gpu_resources", true, "Offer GPUs only to GPU-aware frameworks (accepted; no GPUs are offered here)"),
    Spec::value(
        "max_unreachable_tasks_per_framework",
        Some("1000"),
        "Unreachable tasks kept per framework (the oldest beyond are forgotten)",
    ),
    Spec::value(
        "max_operator_event_stream_subscribers",
        Some("1000"),
        "Most operator event stream subscribers; the oldest are closed to make room",
    ),
    Spec::boolean("authenticate_frameworks", false, "Require framework authentication (unsupported)"),
    Spec::boolean("authenticate_agents", false, "Require agent authentication (unsupported)"),
    Spec::boolean(
        "authenticate_http_frameworks",
        false,
        "Require HTTP framework authentication (unsupported)",
    ),
    Spec::boolean(
        "authenticate_http_readonly",
        false,
        "Require authentication of read-only endpoints (unsupported)",
    ),
    Spec::boolean(
        "authenticate_http_readwrite",
        false,
        "Require authentication of read-write endpoints (unsupported)",
    ),
    Spec::value("authenticators", Some("crammd5"), "Authenticator module"),
    Spec::value("authorizers", Some("local"), "Authorizer module"),
    Spec::value("http_authenticators", Some("basic"), "HTTP authenticator module"),
    Spec::value("credentials", None, "Credentials file (unsupported)"),
    Spec::value("acls", None, "ACLs (unsupported)"),
    Spec::value("rate_limits", None, "Framework rate limits (unsupported)"),
    Spec::value("firewall_rules", None, "Endpoint firewall rules (unsupported)"),
    Spec::value("whitelist", None, "Agent whitelist file (unsupported)"),
    Spec::value("domain", None, "Fault domain of this master (unsupported)"),
    Spec::boolean("require_agent_domain", false, "Require agents to have a domain (unsupported)"),
    Spec::boolean("root_submissions", true, "Let root submit frameworks"),
    Spec::value("webui_dir", None, "Web UI directory (there is no web UI; ignored)"),
    Spec::boolean("hostname_lookup", true, "Look up the hostname when --hostname is not given (accepted; the IP is advertised)"),
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
    /// `--agent_removal_rate_limit`: at most one removal per this long.
    pub agent_removal_interval: Option<Duration>,
    /// `--recovery_agent_removal_limit` as a fraction (1.0 for 100%).
    pub recovery_agent_removal_limit: f64,
    /// `--min_allocatable_resources`, one set per alternative.
    pub min_allocatable_resources: Vec<wire::resources::Resources>,
    pub fair_sharing_excluded_resource_names: Vec<String>,
    pub max_completed_tasks_per_framework: usize,
    /// `--max_unreachable_tasks_per_framework`.
    pub max_unreachable_tasks_per_framework: usize,
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
        refuse_unsupported(&f)?;
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
            agent_removal_interval: f
                .get("agent_removal_rate_limit")
                .map(parse_rate_limit)
                .transpose()
                .map_err(|e| bad("agent_removal_rate_limit", e))?,
            recovery_agent_removal_limit: parse_percentage(
                &f.string("recovery_agent_removal_limit")?,
            )
            .map_err(|e| bad("recovery_agent_removal_limit", e))?,
            min_allocatable_resources: parse_min_allocatable(
                &f.string("min_allocatable_resources")?,
            )
            .map_err(|e| bad("min_allocatable_resources", e))?,
            fair_sharing_excluded_resource_names: f
                .get("fair_sharing_excluded_resource_names")
                .map(|names| {
                    names
                        .split(',')
                        .map(|s| s.trim().to_owned())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            max_completed_tasks_per_framework: f
                .parse("max_completed_tasks_per_framework")?
                .unwrap_or(1000),
            max_unreachable_tasks_per_framework: f
                .parse("max_unreachable_tasks_per_framework")?
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

/// Mesos flags accepted for compatibility whose other values name features
/// this master does not have: a clear refusal beats silently running
/// without authentication, ACLs or a whitelist an operator asked for.
fn refuse_unsupported(f: &Flags) -> Result<(), FlagError> {
    let bad = |name: &str, reason: String| FlagError::Bad {
        name: name.to_owned(),
        reason,
    };
    Unsupported {
        only: &[
            ("allocator", "hierarchical"),
            ("role_sorter", "drf"),
            ("framework_sorter", "drf"),
            ("authenticators", "crammd5"),
            ("authorizers", "local"),
            ("http_authenticators", "basic"),
        ],
        only_false: &[
            "authenticate_frameworks",
            "authenticate_agents",
            "authenticate_http_frameworks",
            "authenticate_http_readonly",
            "authenticate_http_readwrite",
            "require_agent_domain",
        ],
        only_true: &["log_auto_initialize", "root_submissions"],
        unset: &[
            "credentials",
            "acls",
            "rate_limits",
            "firewall_rules",
            "whitelist",
            "domain",
        ],
    }
    .check(f)?;
    let factor: f64 = f.parse("allocator_agent_recovery_factor")?.unwrap_or(0.8);
    if !(0.0..=1.0).contains(&factor) {
        return Err(bad(
            "allocator_agent_recovery_factor",
            "must be between 0 and 1".into(),
        ));
    }
    f.duration("allocator_recovery_timeout")?;
    f.parse::<usize>("max_unreachable_tasks_per_framework")?;
    f.parse::<usize>("max_operator_event_stream_subscribers")?;
    Ok(())
}

/// `N/duration` (`1/10mins`): the interval between two removals.
pub fn parse_rate_limit(text: &str) -> Result<Duration, String> {
    let shape = || format!("'{text}' is not a rate like 1/10mins");
    let (count, per) = text.trim().split_once('/').ok_or_else(shape)?;
    let count: u32 = count.trim().parse().map_err(|_| shape())?;
    let per = crate::flags::parse_duration(per.trim()).map_err(|_| shape())?;
    if count == 0 || per.is_zero() {
        return Err(format!("'{text}' allows no removal at all"));
    }
    Ok(per / count)
}

/// `N%` (0 to 100) as a fraction.
pub fn parse_percentage(text: &str) -> Result<f64, String> {
    let number = text
        .trim()
        .strip_suffix('%')
        .ok_or_else(|| format!("'{text}' is not a percentage like 100%"))?;
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("'{text}' is not a percentage like 100%"))?;
    if !(0.0..=100.0).contains(&value) {
        return Err(format!("'{text}' is not between 0% and 100%"));
    }
    Ok(value / 100.0)
}

/// `cpus:0.01|mem:32`: alternatives separated by `|`, each a resources
/// text of quantities.
pub fn parse_min_allocatable(text: &str) -> Result<Vec<wire::resources::Resources>, String> {
    text.split('|')
        .map(|set| {
            let set = set.trim();
            let resources =
                wire::resources::Resources::parse(set, "*").map_err(|e| format!("'{set}': {e}"))?;
            if resources.is_empty() {
                return Err(format!("'{set}' names no resource quantity"));
            }
            Ok(resources)
        })
        .collect()
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
        for unsupported in [
            "--authenticate_frameworks",
            "--acls={\"permissive\": false}",
            "--whitelist=/etc/hosts",
            "--role_sorter=random",
            "--allocator=custom",
            "--log_auto_initialize=false",
            "--recovery_agent_removal_limit=150%",
            "--recovery_agent_removal_limit=50",
            "--min_allocatable_resources=cpus:x",
            "--allocator_agent_recovery_factor=2",
        ] {
            let e = load(&[unsupported]).unwrap_err().to_string();
            assert!(!e.contains('\n'), "{unsupported}: {e}");
        }
        let m = load(&[
            "--recovery_agent_removal_limit=25%",
            "--min_allocatable_resources=cpus:1;mem:64|disk:100",
            "--fair_sharing_excluded_resource_names=gpus, disk",
            "--authenticate_agents=false",
            "--webui_dir=/usr/share/mesos/webui",
        ])
        .unwrap();
        assert_eq!(m.recovery_agent_removal_limit, 0.25);
        assert_eq!(m.agent_removal_interval, None);
        let limited = load(&["--agent_removal_rate_limit=2/10mins"]).unwrap();
        assert_eq!(
            limited.agent_removal_interval,
            Some(Duration::from_secs(300))
        );
        for bad in ["1/0secs", "0/1mins", "fast", "1/soon"] {
            assert!(load(&[&format!("--agent_removal_rate_limit={bad}")]).is_err());
        }
        assert_eq!(m.min_allocatable_resources.len(), 2);
        assert_eq!(m.fair_sharing_excluded_resource_names, ["gpus", "disk"]);
        let m = load(&["--agent_reregister_timeout=1hrs"]).unwrap();
        assert_eq!(m.agent_reregister_timeout, Duration::from_secs(3600));
        let m = load(&["--weights=a=2,b=0.5", "--roles=a,b"]).unwrap();
        assert_eq!(m.weights["a"], 2.0);
        assert_eq!(m.roles, Some(vec!["a".to_string(), "b".to_string()]));
    }
}
