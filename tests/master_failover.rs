//! High availability with real binaries and a real ZooKeeper: three
//! masters elect a leader; agents, and frameworks through `mesos-execute`,
//! follow it; killing the leader (SIGKILL) five times in a row loses no task
//! and no framework id; a pymesos framework follows new leaders the same way.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::cluster::{all_voting, get_json, metric, Daemon, WorkDir};
use common::zookeeper::ZooKeeper;
use common::Guard;

const MASTER: &str = env!("CARGO_BIN_EXE_mesos-master");
const EXECUTE: &str = env!("CARGO_BIN_EXE_mesos-execute");

/// The bound on one failover, from the kill to a new leader serving with
/// both agents re-registered and both frameworks back: the ZooKeeper
/// session timeout (2 s) for the dead leader's node to go, plus election,
/// registry recovery and re-registration (well under a second here), plus
/// margin for a loaded 2-core machine.
const FAILOVER_BOUND: Duration = Duration::from_secs(20);

fn start_master(n: usize, zk: &str, dir: &Path) -> Daemon {
    let work = dir.join(format!("master{n}"));
    Daemon::start(
        &format!("master{n}"),
        Path::new(MASTER),
        &[
            "--ip=127.0.0.1".into(),
            "--port=0".into(),
            format!("--zk={zk}"),
            "--quorum=2".into(),
            "--zk_session_timeout=2secs".into(),
            format!("--work_dir={}", work.display()),
            "--allocation_interval=100ms".into(),
        ],
        dir.join(format!("master{n}.log")),
    )
}

/// The leading master among `masters`, if one serves as leader.
fn leader(masters: &[Daemon]) -> Option<usize> {
    masters
        .iter()
        .position(|m| metric(m.address(), "master/elected") == Some(1.0))
}

/// What a healthy leader shows: `agents` agents active, the frameworks
/// connected under their ids, `tasks` tasks running.
fn healthy(leader: SocketAddr, framework_ids: &[String], agents: u64, tasks: usize) -> bool {
    let state = get_json(leader, "/master/state");
    let active = state["activated_slaves"].as_u64() == Some(agents);
    let frameworks = state["frameworks"].as_array().cloned().unwrap_or_default();
    let connected = framework_ids.iter().all(|id| {
        frameworks
            .iter()
            .any(|f| f["id"] == id.as_str() && f["connected"] == true && f["active"] == true)
    });
    let running = frameworks
        .iter()
        .flat_map(|f| f["tasks"].as_array().cloned().unwrap_or_default())
        .filter(|t| t["state"] == "TASK_RUNNING")
        .count();
    active && connected && running == tasks
}

#[test]
fn killing_the_leader_five_times_loses_no_task_and_no_framework() {
    let dir = WorkDir::new("failover");
    let zk = ZooKeeper::start();
    let url = zk.url("/mesos");
    let mut masters: Vec<Daemon> = (0..3).map(|n| start_master(n, &url, &dir.path())).collect();
    let _agents: Vec<Daemon> = (0..2).map(|n| start_agent(n, &url, &dir.path())).collect();
    // Two frameworks, each with a long task (one cpu each: one per agent).
    let frameworks: Vec<(Guard, std::path::PathBuf)> = (0..2)
        .map(|n| {
            let out = dir.path().join(format!("execute{n}.out"));
            let child = Command::new(EXECUTE)
                .args([
                    format!("--master={url}"),
                    format!("--name=long-{n}"),
                    "--command=sleep 600".into(),
                    "--resources=cpus:1;mem:64".into(),
                ])
                .stdout(std::fs::File::create(&out).expect("out"))
                .stderr(Stdio::null())
                .spawn()
                .expect("mesos-execute");
            (Guard(child), out)
        })
        .collect();
    let logs = |masters: &[Daemon]| -> String {
        masters
            .iter()
            .map(|m| m.log())
            .collect::<Vec<_>>()
            .join("\n----\n")
    };
    // The frameworks' ids, as they print them on subscribing.
    let ids: Vec<String> = frameworks
        .iter()
        .map(|(_, out)| {
            common::poll(Duration::from_secs(30), || {
                std::fs::read_to_string(out).ok().and_then(|text| {
                    text.lines()
                        .find_map(|l| l.strip_prefix("Subscribed with ID "))
                        .map(|id| id.trim().to_string())
                })
            })
            .unwrap_or_else(|| panic!("a framework never subscribed:\n{}", logs(&masters)))
        })
        .collect();
    let first = common::poll(Duration::from_secs(30), || {
        leader(&masters)
            .filter(|&l| healthy(masters[l].address(), &ids, 2, 2) && all_voting(&masters))
    })
    .unwrap_or_else(|| panic!("the cluster never became healthy:\n{}", logs(&masters)));
    let mut current = first;
    let mut times = Vec::new();
    for round in 1..=5 {
        let old_id = get_json(masters[current].address(), "/master/state")["id"].clone();
        let killed_at = Instant::now();
        masters[current].kill();
        let next = common::poll(FAILOVER_BOUND, || {
            leader(&masters)
                .filter(|&l| l != current)
                .filter(|&l| healthy(masters[l].address(), &ids, 2, 2))
        })
        .unwrap_or_else(|| {
            let agents: Vec<String> = _agents.iter().map(|a| a.log()).collect();
            panic!(
                "round {round}: no healthy new leader within {FAILOVER_BOUND:?}:\n{}\n==== agents\n{}",
                logs(&masters),
                agents.join("\n----\n")
            )
        });
        times.push(killed_at.elapsed());
        let state = get_json(masters[next].address(), "/master/state");
        assert_ne!(state["id"], old_id, "round {round}: the leader changed");
        // The killed master comes back as a contender, as a supervisor would
        // restart it.
        masters[current] = start_master(current, &url, &dir.path());
        // Its replica catches up before the next round.
        let caught_up = common::poll(Duration::from_secs(20), || {
            all_voting(&masters).then_some(())
        });
        assert!(
            caught_up.is_some(),
            "round {round}: the restarted replica never caught up:\n{}",
            logs(&masters)
        );
        current = next;
    }
    eprintln!("failover times (kill to healthy new leader): {times:?}");
    for (child, out) in &frameworks {
        let _ = child;
        let text = std::fs::read_to_string(out).unwrap_or_default();
        assert!(
            !text.contains("TASK_LOST") && !text.contains("TASK_FAILED"),
            "a task was lost:\n{text}"
        );
    }
}

fn start_agent(n: usize, zk: &str, dir: &Path) -> Daemon {
    common::cluster::agent_daemon(n, zk, dir, &["--zk_session_timeout=2secs"])
}

/// Whether `address` answers at all (a master that stopped does not).
fn answers(address: SocketAddr) -> bool {
    common::cluster::http_get(address, "/health").is_ok()
}

#[test]
fn masters_stop_leading_while_zookeeper_is_away_and_resume_when_it_returns() {
    let dir = WorkDir::new("zk-outage");
    let mut zk = ZooKeeper::start();
    let url = zk.url("/mesos");
    let mut masters: Vec<Daemon> = (0..3).map(|n| start_master(n, &url, &dir.path())).collect();
    let _agent = start_agent(0, &url, &dir.path());
    let logs = |masters: &[Daemon]| -> String {
        masters
            .iter()
            .map(|m| m.log())
            .collect::<Vec<_>>()
            .join("\n----\n")
    };
    let serving = |masters: &[Daemon]| {
        leader(masters)
            .filter(|&l| get_json(masters[l].address(), "/master/state")["activated_slaves"] == 1)
    };
    let first = common::poll(Duration::from_secs(30), || serving(&masters))
        .unwrap_or_else(|| panic!("no leader with the agent:\n{}", logs(&masters)));

    zk.stop();
    // Past the session timeout no master leads: the leader stops (as Mesos's
    // does), the others wait for ZooKeeper to contend again.
    let stopped = common::poll(Duration::from_secs(15), || {
        (leader(&masters).is_none() && !answers(masters[first].address())).then_some(())
    });
    assert!(
        stopped.is_some(),
        "a master still leads without ZooKeeper:\n{}",
        logs(&masters)
    );

    zk.restart();
    // A supervisor restarts the master that stopped.
    masters[first] = start_master(first, &url, &dir.path());
    let back = common::poll(Duration::from_secs(30), || serving(&masters));
    assert!(
        back.is_some(),
        "no leader once ZooKeeper returned:\n{}",
        logs(&masters)
    );
}

/// The agents a master knows: registered ones and those recovered from the
/// registry that have not come back yet.
fn known_agents(master: SocketAddr) -> (Vec<String>, Vec<String>) {
    let slaves = get_json(master, "/master/slaves");
    let ids = |key: &str| -> Vec<String> {
        let mut ids: Vec<String> = slaves[key]
            .as_array()
            .map(|l| {
                l.iter()
                    .filter_map(|a| a["id"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        ids.sort();
        ids
    };
    (ids("slaves"), ids("recovered_slaves"))
}

/// A follower's disk is wiped, then the leader dies; later every master
/// restarts at once. Both times the new leader must still know the agent that
/// left for good, which only the replicated registry remembers.
#[test]
fn the_registry_survives_a_wiped_replica_and_a_full_restart() {
    let dir = WorkDir::new("registry-ha");
    let zk = ZooKeeper::start();
    let url = zk.url("/mesos");
    let mut masters: Vec<Daemon> = (0..3).map(|n| start_master(n, &url, &dir.path())).collect();
    let mut agents = [
        start_agent(0, &url, &dir.path()),
        start_agent(1, &url, &dir.path()),
    ];
    let logs = |masters: &[Daemon]| -> String {
        masters
            .iter()
            .map(|m| m.log())
            .collect::<Vec<_>>()
            .join("\n----\n")
    };
    let (first, admitted) = common::poll(Duration::from_secs(30), || {
        let l = leader(&masters)?;
        let (live, _) = known_agents(masters[l].address());
        // A healthy ensemble first: every replica votes, so the registry
        // is on a quorum before one of them loses its disk.
        (live.len() == 2 && all_voting(&masters)).then_some((l, live))
    })
    .unwrap_or_else(|| panic!("agents never registered:\n{}", logs(&masters)));
    // One agent goes for good: from now on only the registry remembers it.
    // Its id is whatever the master gave it; registration order is not fixed.
    let lost = get_json(agents[1].address(), "/state")["id"]
        .as_str()
        .map(str::to_owned)
        .expect("the agent reports its id");
    assert!(admitted.contains(&lost), "{lost} not in {admitted:?}");
    agents[1].kill();
    let remembers_both = |masters: &[Daemon]| {
        let l = leader(masters)?;
        let (live, recovered) = known_agents(masters[l].address());
        let mut all = [live.clone(), recovered.clone()].concat();
        all.sort();
        (all == admitted && recovered.contains(&lost)).then_some(l)
    };

    // A follower loses its disk and comes back empty; then the leader dies.
    let wiped = (0..3).find(|&n| n != first).expect("a follower");
    masters[wiped].kill();
    let _ = std::fs::remove_dir_all(dir.path().join(format!("master{wiped}")));
    masters[wiped] = start_master(wiped, &url, &dir.path());
    masters[first].kill();
    masters[first] = start_master(first, &url, &dir.path());
    // ...and the wiped replica has caught up: it votes again.
    let after_wipe = common::poll(Duration::from_secs(40), || {
        remembers_both(&masters).filter(|_| all_voting(&masters))
    });
    assert!(
        after_wipe.is_some(),
        "the registry was lost, or the wiped replica never caught up, after a failover:\n{}",
        logs(&masters)
    );

    // Every master goes, then comes back.
    for m in masters.iter_mut() {
        m.kill();
    }
    let masters: Vec<Daemon> = (0..3).map(|n| start_master(n, &url, &dir.path())).collect();
    let after_restart = common::poll(Duration::from_secs(40), || remembers_both(&masters));
    assert!(
        after_restart.is_some(),
        "the registry was lost in a full restart:\n{}",
        logs(&masters)
    );
}

/// A third-party HTTP framework through failovers: pymesos follows the
/// leader with its own ZooKeeper detector and re-subscribes under its id,
/// and its task keeps running.
#[test]
fn a_pymesos_framework_follows_new_leaders_and_keeps_its_task() {
    let dir = WorkDir::new("failover-pymesos");
    let zk = ZooKeeper::start();
    let url = zk.url("/mesos");
    let mut masters: Vec<Daemon> = (0..3).map(|n| start_master(n, &url, &dir.path())).collect();
    let _agent = start_agent(0, &url, &dir.path());
    let out = dir.path().join("pymesos.out");
    let _scheduler = Guard(
        Command::new(common::venv_python())
            .arg(common::pymesos_script("failover_scheduler.py"))
            .arg(&url)
            .stdout(std::fs::File::create(&out).expect("out"))
            .stderr(std::fs::File::create(dir.path().join("pymesos.err")).expect("err"))
            .spawn()
            .expect("start the pymesos scheduler"),
    );
    let printed = || std::fs::read_to_string(&out).unwrap_or_default();
    let why = |masters: &[Daemon]| {
        let logs: Vec<String> = masters.iter().map(|m| m.log()).collect();
        format!(
            "pymesos:\n{}\n{}\nmasters:\n{}",
            printed(),
            std::fs::read_to_string(dir.path().join("pymesos.err")).unwrap_or_default(),
            logs.join("\n----\n")
        )
    };
    let id = common::poll(Duration::from_secs(60), || {
        printed()
            .lines()
            .find_map(|l| l.strip_prefix("registered "))
            .map(|id| id.trim().to_string())
    })
    .unwrap_or_else(|| panic!("pymesos never registered:\n{}", why(&masters)));
    let ids = [id];
    let mut current = common::poll(Duration::from_secs(60), || {
        leader(&masters)
            .filter(|&l| healthy(masters[l].address(), &ids, 1, 1) && all_voting(&masters))
    })
    .unwrap_or_else(|| panic!("the task never ran:\n{}", why(&masters)));
    for round in 1..=2 {
        masters[current].kill();
        let next = common::poll(FAILOVER_BOUND, || {
            leader(&masters)
                .filter(|&l| l != current)
                .filter(|&l| healthy(masters[l].address(), &ids, 1, 1))
                .filter(|_| printed().matches("reregistered").count() >= round)
        })
        .unwrap_or_else(|| panic!("round {round}: pymesos not back:\n{}", why(&masters)));
        masters[current] = start_master(current, &url, &dir.path());
        assert!(
            common::poll(Duration::from_secs(20), || all_voting(&masters)
                .then_some(()))
            .is_some(),
            "round {round}: the restarted replica never caught up:\n{}",
            why(&masters)
        );
        current = next;
    }
    let text = printed();
    assert_eq!(text.matches("registered ").count(), 1, "{text}");
    for bad in [
        "TASK_LOST",
        "TASK_FAILED",
        "TASK_KILLED",
        "TASK_UNREACHABLE",
        "error",
    ] {
        assert!(!text.contains(bad), "{bad}:\n{text}");
    }
}
