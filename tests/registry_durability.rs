//! The registry survives the master: with `--registry=replicated_log` a
//! restarted master recovers the agents admitted before from the log in its
//! work_dir, and an agent that outlived the restart comes back under its id.

mod common;

use std::path::Path;
use std::time::Duration;

use common::cluster::{get_json, Daemon, WorkDir};

const MASTER: &str = env!("CARGO_BIN_EXE_mesos-master");

fn start_master(port: u16, dir: &Path, log: &str) -> Daemon {
    Daemon::start(
        "master",
        Path::new(MASTER),
        &[
            "--ip=127.0.0.1".into(),
            format!("--port={port}"),
            "--registry=replicated_log".into(),
            format!("--work_dir={}", dir.join("master").display()),
        ],
        dir.join(log),
    )
}

fn start_agent(n: usize, master: &str, dir: &Path) -> Daemon {
    common::cluster::agent_daemon(n, master, dir, &[])
}

fn agent_ids(slaves: &serde_json::Value, key: &str) -> Vec<String> {
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
}

#[test]
fn a_restarted_master_recovers_its_agents_from_the_replicated_log() {
    let dir = WorkDir::new("registry");
    let port = common::zookeeper::free_port();
    let mut master = start_master(port, &dir.path(), "master1.log");
    let address = master.address().to_string();
    let agents = [
        start_agent(0, &address, &dir.path()),
        start_agent(1, &address, &dir.path()),
    ];
    let admitted = common::poll(Duration::from_secs(20), || {
        let ids = agent_ids(&get_json(master.address(), "/master/slaves"), "slaves");
        (ids.len() == 2).then_some(ids)
    })
    .unwrap_or_else(|| panic!("agents never registered:\n{}", master.log()));

    // The whole control plane goes: the master and one agent.
    master.kill();
    let [survivor, mut lost] = agents;
    lost.kill();
    let master = start_master(port, &dir.path(), "master2.log");
    assert!(
        master.log().contains("recovered the registry")
            || common::poll(Duration::from_secs(10), || {
                master
                    .log()
                    .contains("recovered the registry")
                    .then_some(())
            })
            .is_some(),
        "{}",
        master.log()
    );
    // The surviving agent re-registers under its old id; the lost one is
    // still known from the registry, waiting for --agent_reregister_timeout.
    let back = common::poll(Duration::from_secs(20), || {
        let slaves = get_json(master.address(), "/master/slaves");
        let live = agent_ids(&slaves, "slaves");
        let recovered = agent_ids(&slaves, "recovered_slaves");
        (live.len() == 1 && recovered.len() == 1).then_some((live, recovered))
    })
    .unwrap_or_else(|| {
        panic!(
            "the registry was not recovered:\n{}\n{}",
            master.log(),
            survivor.log()
        )
    });
    let mut all = [back.0, back.1].concat();
    all.sort();
    assert_eq!(all, admitted, "the same two agents, under the same ids");
}
