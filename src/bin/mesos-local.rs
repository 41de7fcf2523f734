//! `mesos-local`: a master and `--num_slaves` agents in one process, the
//! embedded default. Agents keep their sandboxes under
//! `<work_dir>/agents/<n>`.

use mesos::agent::{flags as agent_flags, AgentFlags};
use mesos::flags::{Flags, Outcome, Spec};
use mesos::master::{flags as master_flags, MasterFlags};
use mesos::{daemon, logging};

const PROGRAM: &str = "mesos-local";

/// mesos-local's own flags; the rest are the master's and the agent's.
const OWN: &[Spec] = &[
    Spec::value("num_slaves", Some("1"), "Number of agents to run"),
    Spec::value("ip", Some("127.0.0.1"), "IP address to listen on"),
    Spec::value(
        "work_dir",
        Some("/tmp/mesos-local"),
        "Where the agents keep their sandboxes",
    ),
];

/// Master flags mesos-local passes through.
const FROM_MASTER: &[&str] = &[
    "port",
    "allocation_interval",
    "offer_timeout",
    "agent_ping_timeout",
    "max_agent_ping_timeouts",
    "log_dir",
    "logging_level",
];

/// Agent flags mesos-local passes to every agent.
const FROM_AGENT: &[&str] = &[
    "resources",
    "attributes",
    "executor_registration_timeout",
    "executor_shutdown_grace_period",
    "launcher",
    "isolation",
    "cgroups_hierarchy",
    "cgroups_enable_cfs",
];

fn specs() -> Vec<Spec> {
    let pick = |from: &[Spec], names: &[&str]| -> Vec<Spec> {
        from.iter()
            .filter(|s| names.contains(&s.name))
            .copied()
            .collect()
    };
    [
        OWN.to_vec(),
        pick(master_flags::SPECS, FROM_MASTER),
        pick(agent_flags::SPECS, FROM_AGENT),
    ]
    .concat()
}

/// Loads a daemon's typed flags from `name=value` pairs through its own table.
fn sub_flags(specs: &[Spec], pairs: &[(&str, Option<&str>)]) -> Flags {
    let args: Vec<String> = pairs
        .iter()
        .filter_map(|(k, v)| v.map(|v| format!("--{k}={v}")))
        .collect();
    match Flags::load(specs, args, Vec::new()) {
        Ok(Outcome::Run(f)) => f,
        Ok(_) => daemon::fail(PROGRAM, &"unexpected --help or --version"),
        Err(e) => daemon::fail(PROGRAM, &e),
    }
}

fn main() {
    let specs = specs();
    let f = daemon::load_flags(PROGRAM, &specs);
    let get = |n: &str| f.get(n);
    let num: usize = daemon::check(PROGRAM, f.parse("num_slaves")).unwrap_or(1);
    if num == 0 {
        daemon::fail(
            PROGRAM,
            &"Failed to load flag 'num_slaves': must be at least 1",
        );
    }
    let level = get("logging_level").unwrap_or("INFO").to_owned();
    if let Err(e) = logging::init(PROGRAM, &level, get("log_dir")) {
        daemon::fail(PROGRAM, &e);
    }
    let work_dir = get("work_dir").unwrap_or("/tmp/mesos-local").to_owned();
    let master_dir = format!("{work_dir}/master");
    let master = sub_flags(
        master_flags::SPECS,
        &[
            ("ip", get("ip")),
            ("port", get("port")),
            ("allocation_interval", get("allocation_interval")),
            ("offer_timeout", get("offer_timeout")),
            ("agent_ping_timeout", get("agent_ping_timeout")),
            ("max_agent_ping_timeouts", get("max_agent_ping_timeouts")),
            // The embedded default keeps a quorum-1 replicated log on disk.
            ("registry", Some("replicated_log")),
            ("work_dir", Some(&master_dir)),
            ("logging_level", Some(&level)),
        ],
    );
    let master = daemon::check(PROGRAM, MasterFlags::from_flags(master));
    let system = actix::System::new();
    let (notice, stops) = mesos::stop::channel();
    let result = system.block_on(async {
        let running = mesos::run::start_master(master, &notice).await?;
        let address = running.address.to_string();
        // One cgroups root per agent, the same across restarts of this
        // work_dir and apart from any other mesos-local's (whose agents
        // would otherwise take each other's containers for orphans).
        let cgroups_base = mesos::container::config::local_cgroups_prefix(&work_dir);
        for n in 1..=num {
            let dir = format!("{work_dir}/agents/{n}");
            let cgroups_root = format!("{cgroups_base}-{n}");
            let cfs = f.boolean("cgroups_enable_cfs").unwrap_or(false).to_string();
            let agent = sub_flags(
                agent_flags::SPECS,
                &[
                    ("master", Some(&address)),
                    ("work_dir", Some(&dir)),
                    ("resources", get("resources")),
                    ("attributes", get("attributes")),
                    (
                        "executor_registration_timeout",
                        get("executor_registration_timeout"),
                    ),
                    (
                        "executor_shutdown_grace_period",
                        get("executor_shutdown_grace_period"),
                    ),
                    ("registration_backoff_factor", Some("100ms")),
                    ("launcher", get("launcher")),
                    ("isolation", get("isolation")),
                    ("cgroups_hierarchy", get("cgroups_hierarchy")),
                    ("cgroups_root", Some(&cgroups_root)),
                    ("cgroups_enable_cfs", Some(&cfs)),
                ],
            );
            let agent = AgentFlags::from_flags(agent).map_err(|e| e.to_string())?;
            let id = Some(format!("slave({n})"));
            mesos::run::spawn_agent(&running.node, agent, id, &notice)?;
        }
        Ok::<_, String>(running)
    });
    match result {
        Ok(running) => {
            println!("mesos-local: master and {num} agent(s) running");
            println!(
                "Master started at http://{0} (state: http://{0}/master/state)",
                running.address
            );
            println!(
                "Run a task: mesos-execute --master={} --name=hi --command='echo hi'",
                running.address
            );
            daemon::serve(system, running, stops, master_stops_all);
        }
        Err(e) => daemon::fail(PROGRAM, &e),
    }
}

/// Under `mesos-local` the master's end is the daemon's end; an agent that
/// stops (shut down by the master, say) leaves the master and the other
/// agents running.
fn master_stops_all(stopped: &mesos::stop::Stopped) -> Option<i32> {
    (stopped.process.id() == mesos::master::MASTER_ID).then(|| daemon::exit_code(&stopped.reason))
}
