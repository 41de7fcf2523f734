//! Marathon's flags: `--name value` or `--name=value`, booleans as
//! `--name` (and `--disable_name` for those that default on), each also
//! read from `MARATHON_<NAME>` (a boolean set by an empty value). A flag
//! given both ways is an error, as in Marathon.

use std::collections::BTreeMap;
use std::time::Duration;

/// Where state is kept without ZooKeeper.
pub const DEFAULT_WORK_DIR: &str = "/tmp/marathon";

/// One flag: its name, default, and whether it is a toggle.
struct Spec {
    name: &'static str,
    default: Option<&'static str>,
    toggle: bool,
    help: &'static str,
}

const fn value(name: &'static str, default: Option<&'static str>, help: &'static str) -> Spec {
    Spec {
        name,
        default,
        toggle: false,
        help,
    }
}

const fn toggle(name: &'static str, default: bool, help: &'static str) -> Spec {
    Spec {
        name,
        default: Some(if default { "true" } else { "false" }),
        toggle: true,
        help,
    }
}

const SPECS: &[Spec] = &[
    value(
        "master",
        None,
        "The Mesos master: host:port or zk://host:port/mesos (required)",
    ),
    value(
        "zk",
        Some("zk://localhost:2181/marathon"),
        "ZooKeeper for state and leader election; when not given, state is kept under --work_dir and there is no election",
    ),
    toggle(
        "ha",
        true,
        "Run in high-availability mode with leader election",
    ),
    value("http_port", Some("8080"), "The port of the REST API"),
    value("http_address", None, "The address to listen on"),
    value(
        "hostname",
        None,
        "The host name advertised to Mesos and other instances",
    ),
    value(
        "framework_name",
        Some("marathon"),
        "The framework's name in Mesos",
    ),
    value("mesos_role", None, "The Mesos role to register in"),
    value("mesos_user", None, "The user tasks run as by default"),
    value(
        "failover_timeout",
        Some("604800"),
        "Seconds Mesos keeps the framework after it disconnects",
    ),
    value(
        "task_launch_timeout",
        Some("300000"),
        "Milliseconds a task may take to be TASK_RUNNING",
    ),
    value("local_port_min", Some("10000"), "The lowest service port"),
    value("local_port_max", Some("20000"), "The highest service port"),
    value(
        "env_vars_prefix",
        None,
        "A prefix for the PORT and HOST variables of tasks",
    ),
    value(
        "max_instances_per_offer",
        Some("5"),
        "Instances launched from one offer at most",
    ),
    value(
        "kill_retry_timeout",
        Some("10000"),
        "Milliseconds before an unanswered kill is sent again",
    ),
    value(
        "event_stream_max_outstanding_messages",
        Some("50"),
        "Events that may wait for a /v2/events client before it is dropped",
    ),
    value(
        "zk_session_timeout",
        Some("10000"),
        "ZooKeeper session timeout (ms)",
    ),
    value(
        "reconciliation_interval",
        Some("600000"),
        "Milliseconds between task reconciliations",
    ),
    value(
        "scale_apps_interval",
        Some("300000"),
        "Milliseconds between scale checks",
    ),
    value(
        "decline_offer_duration",
        Some("120000"),
        "Milliseconds declined offers are refused",
    ),
    value(
        "zk_timeout",
        Some("10000"),
        "Milliseconds a ZooKeeper read or write may take (ms)",
    ),
    value(
        "zk_max_versions",
        Some("50"),
        "Versions of each app kept in the state",
    ),
    value(
        "work_dir",
        Some(DEFAULT_WORK_DIR),
        "Where state is kept when --zk is not given",
    ),
    value(
        "mesos_authentication_principal",
        None,
        "The principal to authenticate with",
    ),
    value(
        "mesos_authentication_secret_file",
        None,
        "The file holding the secret",
    ),
];

/// Marathon's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct MarathonFlags {
    pub master: String,
    pub zk: String,
    /// Whether `--zk` (or `MARATHON_ZK`) was given: without it state is
    /// kept in files under `work_dir` and there is no leader election.
    pub zk_given: bool,
    pub ha: bool,
    pub http_port: u16,
    pub http_address: Option<String>,
    pub hostname: Option<String>,
    pub framework_name: String,
    pub mesos_role: Option<String>,
    pub mesos_user: Option<String>,
    pub failover_timeout: f64,
    pub task_launch_timeout: Duration,
    pub local_port_min: u32,
    pub local_port_max: u32,
    pub env_vars_prefix: String,
    pub max_instances_per_offer: usize,
    pub kill_retry_timeout: Duration,
    pub event_stream_max_outstanding_messages: usize,
    pub zk_session_timeout: Duration,
    pub reconciliation_interval: Duration,
    pub scale_apps_interval: Duration,
    pub decline_offer_duration: Duration,
    pub zk_timeout: Duration,
    pub zk_max_versions: usize,
    pub work_dir: String,
    pub principal: Option<String>,
    pub secret_file: Option<String>,
    /// Every flag as given or defaulted, for `/v2/info`.
    pub all: BTreeMap<String, String>,
}

/// What the command line asked for.
#[derive(Debug, PartialEq)]
pub enum Parsed {
    Run(Box<MarathonFlags>),
    Help,
}

pub fn usage() -> String {
    let mut out = String::from("Usage: marathon [options]\n\n");
    for s in SPECS {
        let default = s
            .default
            .map(|d| format!(" (default: {d})"))
            .unwrap_or_default();
        let name = if s.toggle {
            format!("--[disable_]{}", s.name)
        } else {
            format!("--{} <value>", s.name)
        };
        out.push_str(&format!("  {name:<44} {}{default}\n", s.help));
    }
    out
}

/// Reads the arguments (without the program) and the environment.
pub fn parse(
    args: impl IntoIterator<Item = String>,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Parsed, String> {
    let mut given: BTreeMap<&'static str, String> = BTreeMap::new();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        if arg == "--help" || arg == "-h" {
            return Ok(Parsed::Help);
        }
        let Some(body) = arg.strip_prefix("--") else {
            return Err(format!("Unexpected argument '{arg}'"));
        };
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v.to_owned())),
            None => (body, None),
        };
        let (spec, negated) = match SPECS.iter().find(|s| s.name == name) {
            Some(s) => (s, false),
            None => match name
                .strip_prefix("disable_")
                .and_then(|n| SPECS.iter().find(|s| s.name == n && s.toggle))
            {
                Some(s) => (s, true),
                None => return Err(format!("Unknown option '--{name}'")),
            },
        };
        let v = if spec.toggle {
            match inline.as_deref() {
                None => (!negated).to_string(),
                Some("true") if !negated => "true".into(),
                Some("false") if !negated => "false".into(),
                Some(other) => return Err(format!("Bad value '{other}' for '--{name}'")),
            }
        } else {
            match inline {
                Some(v) => v,
                None => args
                    .next()
                    .ok_or_else(|| format!("Option '--{name}' needs a value"))?,
            }
        };
        if given.insert(spec.name, v).is_some() {
            return Err(format!("Option '--{}' given twice", spec.name));
        }
    }
    for (key, v) in env {
        let Some(name) = key.strip_prefix("MARATHON_") else {
            continue;
        };
        let name = name.to_ascii_lowercase();
        let (spec, negated) = match SPECS.iter().find(|s| s.name == name) {
            Some(s) => (s, false),
            None => match name
                .strip_prefix("disable_")
                .and_then(|n| SPECS.iter().find(|s| s.name == n && s.toggle))
            {
                Some(s) => (s, true),
                // Other MARATHON_ variables (MARATHON_APP_ID in a task's own
                // environment) are not flags.
                None => continue,
            },
        };
        if given.contains_key(spec.name) {
            return Err(format!(
                "Option '--{}' is given both on the command line and as {key}",
                spec.name
            ));
        }
        let v = if spec.toggle {
            match v.as_str() {
                "" | "true" => (!negated).to_string(),
                "false" => negated.to_string(),
                other => return Err(format!("Bad value '{other}' for {key}")),
            }
        } else {
            v
        };
        given.insert(spec.name, v);
    }
    let mut all = BTreeMap::new();
    for s in SPECS {
        if let Some(v) = given.get(s.name).cloned().or(s.default.map(str::to_owned)) {
            all.insert(s.name.to_owned(), v);
        }
    }
    let get = |n: &str| all.get(n).cloned();
    let number = |n: &str| -> Result<u64, String> {
        let v = get(n).unwrap_or_default();
        v.parse::<u64>()
            .map_err(|_| format!("Bad value '{v}' for '--{n}': expected a whole number"))
    };
    let millis = |n: &str| number(n).map(Duration::from_millis);
    let master = get("master").ok_or("Required option 'master' not found")?;
    let http_port = number("http_port")?;
    let http_port = u16::try_from(http_port)
        .map_err(|_| format!("Bad value '{http_port}' for '--http_port'"))?;
    let local_port_min = number("local_port_min")? as u32;
    let local_port_max = number("local_port_max")? as u32;
    if local_port_min > local_port_max {
        return Err("local_port_min must not be greater than local_port_max".into());
    }
    let failover = get("failover_timeout").unwrap_or_default();
    let failover_timeout = failover
        .parse::<f64>()
        .ok()
        .filter(|v| *v >= 0.0)
        .ok_or(format!("Bad value '{failover}' for '--failover_timeout'"))?;
    Ok(Parsed::Run(Box::new(MarathonFlags {
        master,
        zk: get("zk").unwrap_or_default(),
        zk_given: given.contains_key("zk"),
        ha: get("ha").as_deref() == Some("true"),
        http_port,
        http_address: get("http_address"),
        hostname: get("hostname"),
        framework_name: get("framework_name").unwrap_or_default(),
        mesos_role: get("mesos_role"),
        mesos_user: get("mesos_user"),
        failover_timeout,
        task_launch_timeout: millis("task_launch_timeout")?,
        local_port_min,
        local_port_max,
        env_vars_prefix: get("env_vars_prefix").unwrap_or_default(),
        max_instances_per_offer: number("max_instances_per_offer")? as usize,
        kill_retry_timeout: millis("kill_retry_timeout")?,
        event_stream_max_outstanding_messages: number("event_stream_max_outstanding_messages")?
            as usize,
        zk_session_timeout: millis("zk_session_timeout")?,
        reconciliation_interval: millis("reconciliation_interval")?,
        scale_apps_interval: millis("scale_apps_interval")?,
        decline_offer_duration: millis("decline_offer_duration")?,
        zk_timeout: millis("zk_timeout")?,
        zk_max_versions: number("zk_max_versions")? as usize,
        work_dir: get("work_dir").unwrap_or_default(),
        principal: get("mesos_authentication_principal"),
        secret_file: get("mesos_authentication_secret_file"),
        all,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str], env: &[(&str, &str)]) -> Result<MarathonFlags, String> {
        let args = args.iter().map(|s| s.to_string());
        let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string()));
        match parse(args, env)? {
            Parsed::Run(f) => Ok(*f),
            Parsed::Help => Err("help".into()),
        }
    }

    #[test]
    fn the_guides_sysconfig_and_marathons_defaults() {
        let f = run(
            &[],
            &[
                ("MARATHON_MASTER", "zk://localhost:2181/mesos"),
                ("MARATHON_ZK", "zk://localhost:2181/marathon"),
                ("MARATHON_TASK_LAUNCH_TIMEOUT", "600000"),
                ("MARATHON_APP_ID", "/not-a-flag"),
            ],
        )
        .unwrap();
        assert_eq!(f.master, "zk://localhost:2181/mesos");
        assert_eq!(f.task_launch_timeout, Duration::from_secs(600));
        assert_eq!(f.http_port, 8080);
        assert_eq!(f.framework_name, "marathon");
        assert_eq!(f.failover_timeout, 604800.0);
        assert_eq!((f.local_port_min, f.local_port_max), (10000, 20000));
        assert!(f.ha);
        assert!(f.zk_given);
        assert_eq!(f.decline_offer_duration, Duration::from_secs(120));
        assert_eq!(f.zk_max_versions, 50);
        assert_eq!(f.zk_timeout, Duration::from_secs(10));
        let f = run(&["--master=m:5050"], &[]).unwrap();
        assert!(!f.zk_given, "the default ZooKeeper is not a choice of one");
        assert_eq!(f.work_dir, DEFAULT_WORK_DIR);
    }

    #[test]
    fn both_forms_toggles_and_errors() {
        let f = run(
            &[
                "--master",
                "127.0.0.1:5050",
                "--http_port=9090",
                "--disable_ha",
            ],
            &[],
        )
        .unwrap();
        assert_eq!(
            (f.master.as_str(), f.http_port, f.ha),
            ("127.0.0.1:5050", 9090, false)
        );
        let f = run(&["--master=m:5050"], &[("MARATHON_DISABLE_HA", "")]).unwrap();
        assert!(!f.ha, "an empty value sets a boolean");
        let f = run(&["--master=m:5050", "--ha"], &[]).unwrap();
        assert!(f.ha);
        // (arguments, environment) that must be refused
        type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)]);
        let bad: &[Case] = &[
            (&[], &[]),
            (&["--master=m"], &[("MARATHON_MASTER", "n")]),
            (&["--master=m", "--nope=1"], &[]),
            (&["--master=m", "--http_port=eighty"], &[]),
            (&["--master=m", "--http_port=70000"], &[]),
            (&["--master=m", "--local_port_min=30000"], &[]),
            (&["--master=m", "--master=n"], &[]),
            (&["--master"], &[]),
            (&["master"], &[]),
        ];
        for (args, env) in bad {
            assert!(run(args, env).is_err(), "{args:?} {env:?}");
        }
        assert_eq!(
            parse(vec!["--help".to_owned()], Vec::new()),
            Ok(Parsed::Help)
        );
        assert!(usage().contains("--[disable_]ha"));
    }
}
