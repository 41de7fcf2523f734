//! The cgroup launcher and the cgroups isolators on a real cluster:
//! `mesos-master` and `mesos-agent` (`--launcher=linux`,
//! `--isolation=cgroups/cpu,cgroups/mem`) as child processes, a framework
//! on the library's scheduler driver in the test. Each agent has a cgroups
//! root of its own, destroyed with the cluster.
//!
//! - a task's cpu shares and memory limit are in its container's cgroups,
//!   and `/containers` reports its usage and limit;
//! - a memory hog ends TASK_FAILED, REASON_CONTAINER_LIMITATION_MEMORY,
//!   from the agent;
//! - killing a task whose processes forked, double-forked and left its
//!   session leaves none of them alive and removes the cgroup;
//! - an agent restart recovers a running container from its cgroup and
//!   can still kill it; the containers of a framework that does not
//!   checkpoint are orphans to the restarted agent, destroyed.
//!
//! Skipped (saying why) where the machine cannot do cgroups: not root, or
//! no freezer and memory controller.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::cluster::{get_json, Cluster};
use common::framework::{command_task, info, Framework};
use mesos::container::cgroups::Hierarchies;
use mesos::container::is_alive;
use wire::ids::TaskId;
use wire::task::{Reason, Source, TaskState};

const AGENT: &str = "cpus:2;mem:1024";
const WAIT: Duration = Duration::from_secs(20);
const FLAGS: &[&str] = &["--launcher=linux", "--isolation=cgroups/cpu,cgroups/mem"];

/// The machine's hierarchies, or `None` (said why) where these tests
/// cannot run.
fn cgroups() -> Option<Hierarchies> {
    // SAFETY: geteuid only reads.
    if unsafe { libc::geteuid() } != 0 {
        println!("skipped: cgroups need root");
        return None;
    }
    let Ok(h) = Hierarchies::discover(Path::new("/sys/fs/cgroup")) else {
        println!("skipped: no cgroup hierarchy at /sys/fs/cgroup");
        return None;
    };
    for controller in ["freezer", "cpu", "cpuacct", "memory"] {
        if h.mount(controller).is_none() {
            println!("skipped: no {controller} cgroup controller");
            return None;
        }
    }
    Some(h)
}

/// A master and one agent with the cgroups flags and `extra`.
fn cluster(extra: &[&str]) -> Cluster {
    let mut cluster = Cluster::start(&[], &[]);
    let flags: Vec<&str> = FLAGS.iter().chain(extra).copied().collect();
    cluster.add_agent_with(AGENT, &flags);
    cluster
}

async fn framework(cluster: &Cluster, name: &str, checkpoint: bool) -> Framework {
    let mut info = info(name);
    info.checkpoint = checkpoint;
    let framework = Framework::start(cluster.master_address(), info).await;
    framework.registered().await;
    framework
}

/// The one container agent `n`'s `/containers` lists, once it lists one.
async fn the_container(cluster: &Cluster, n: usize) -> serde_json::Value {
    let address = cluster.agents[n].address();
    let found = common::poll_async(WAIT, || {
        let list = get_json(address, "/containers");
        let list = list.as_array()?;
        (list.len() == 1).then(|| list[0].clone())
    })
    .await;
    found.expect("/containers lists one container")
}

/// Container `id`'s cgroup in `controller` under agent `n`'s root.
fn cgroup(h: &Hierarchies, cluster: &Cluster, n: usize, controller: &str, id: &str) -> PathBuf {
    h.cgroup(controller, &cluster.cgroups_root(n), id)
        .expect("the controller")
        .path
}

fn pids(cgroup: &Path) -> Vec<i32> {
    std::fs::read_to_string(cgroup.join("cgroup.procs"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

fn read(path: PathBuf) -> String {
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .trim()
        .to_owned()
}

/// Waits until none of `pids` is alive and `cgroup` is gone.
async fn all_gone(pids: &[i32], cgroup: &Path) {
    let gone = common::poll_async(WAIT, || {
        (pids.iter().all(|p| !is_alive(*p)) && !cgroup.exists()).then_some(())
    })
    .await;
    let alive: Vec<_> = pids.iter().filter(|p| is_alive(**p)).collect();
    assert!(
        gone.is_some(),
        "alive: {alive:?}; {} exists: {}",
        cgroup.display(),
        cgroup.exists()
    );
}

#[actix::test]
async fn limits_are_in_the_containers_cgroups_and_containers_shows_its_usage() {
    let Some(h) = cgroups() else { return };
    let cluster = cluster(&[]);
    let framework = framework(&cluster, "limits", false).await;
    framework
        .launch(
            vec![command_task("limited", "sleep 600")],
            "cpus:0.5;mem:64",
            None,
        )
        .await;
    framework.update("limited", TaskState::Running, WAIT).await;
    let container = the_container(&cluster, 0).await;
    let id = container["container_id"].as_str().expect("container_id");
    assert_eq!(container["status"]["container_id"]["value"], id);
    assert!(container["status"]["executor_pid"].as_i64().unwrap_or(0) > 0);

    let cpu = cgroup(&h, &cluster, 0, "cpu", id);
    let memory = cgroup(&h, &cluster, 0, "memory", id);
    let freezer = cgroup(&h, &cluster, 0, "freezer", id);
    if h.version() == mesos::container::cgroups::Version::V1 {
        assert_eq!(read(cpu.join("cpu.shares")), "512");
        assert_eq!(
            read(memory.join("memory.limit_in_bytes")),
            (64u64 << 20).to_string()
        );
    }
    // The executor and its task are in the container's cgroups.
    let executor = container["status"]["executor_pid"].as_i64().unwrap() as i32;
    assert!(pids(&freezer).contains(&executor));
    assert!(pids(&freezer).len() >= 2, "{:?}", pids(&freezer));
    assert_eq!(pids(&memory), pids(&freezer));

    let statistics = &container["statistics"];
    assert!(
        statistics["mem_rss_bytes"].as_u64().unwrap_or(0) > 0,
        "{statistics:#}"
    );
    assert_eq!(statistics["mem_limit_bytes"], 64u64 << 20, "{statistics:#}");
    assert!(statistics["processes"].as_u64().unwrap_or(0) >= 2);
    assert!(statistics["mem_total_bytes"].as_u64().is_some());
    assert!(statistics["cpus_nr_throttled"].as_u64().is_some());
    assert_eq!(statistics["cpus_limit"], 0.5);
}

#[actix::test]
async fn a_memory_hog_fails_with_a_memory_limitation_from_the_agent() {
    let Some(_) = cgroups() else { return };
    let cluster = cluster(&[]);
    let framework = framework(&cluster, "hog", false).await;
    let hog = "python3 -c 'x = bytearray(200 * 1024 * 1024); import time; time.sleep(60)'";
    framework
        .launch(vec![command_task("hog", hog)], "cpus:0.5;mem:64", None)
        .await;
    let failed = framework.update("hog", TaskState::Failed, WAIT).await;
    assert_eq!(
        failed.reason,
        Some(Reason::ContainerLimitationMemory),
        "{failed:#?}"
    );
    assert_eq!(failed.source, Some(Source::Agent));
    let message = failed.message.unwrap_or_default();
    assert!(
        message.starts_with("Memory limit exceeded: Requested: 64MB Maximum Used: "),
        "{message}"
    );
    // Nothing said otherwise before.
    let states: Vec<TaskState> = framework.updates("hog").iter().map(|s| s.state).collect();
    assert!(
        !states.contains(&TaskState::Finished) && !states.contains(&TaskState::Killed),
        "{states:?}"
    );
}

/// Launches `task` running `script` under `framework`, waits for it to
/// run and for agent 0's container of it to hold at least `processes`
/// processes: the container's id, its freezer cgroup and those processes.
async fn running_in_cgroup(
    h: &Hierarchies,
    cluster: &Cluster,
    framework: &Framework,
    task: &str,
    script: &str,
    processes: usize,
) -> (String, PathBuf, Vec<i32>) {
    framework
        .launch(vec![command_task(task, script)], "cpus:0.5;mem:64", None)
        .await;
    framework.update(task, TaskState::Running, WAIT).await;
    let container = the_container(cluster, 0).await;
    let id = container["container_id"]
        .as_str()
        .expect("container_id")
        .to_owned();
    let freezer = cgroup(h, cluster, 0, "freezer", &id);
    let members = common::poll_async(WAIT, || {
        let p = pids(&freezer);
        (p.len() >= processes).then_some(p)
    })
    .await
    .unwrap_or_else(|| panic!("the container holds {:?}", pids(&freezer)));
    (id, freezer, members)
}

#[actix::test]
async fn killing_a_task_that_forked_and_left_its_session_leaves_nothing() {
    let Some(h) = cgroups() else { return };
    let cluster = cluster(&[]);
    let framework = framework(&cluster, "forks", false).await;
    let script = "sleep 600 & (sleep 600 &) ; setsid sleep 600 & \
                  sh -c 'setsid sh -c \"sleep 600\" &' ; exec sleep 600";
    // The executor, its task and the five sleeps (one a shell's).
    let (id, freezer, members) =
        running_in_cgroup(&h, &cluster, &framework, "forks", script, 7).await;
    framework.handle.kill_task(TaskId::new("forks"));
    framework.update("forks", TaskState::Killed, WAIT).await;
    all_gone(&members, &freezer).await;
    assert!(!cgroup(&h, &cluster, 0, "memory", &id).exists());
}

#[actix::test]
async fn a_restarted_agent_recovers_its_cgroup_container_and_can_kill_it() {
    let Some(h) = cgroups() else { return };
    let mut cluster = cluster(&[]);
    let framework = framework(&cluster, "recovering", true).await;
    let (id, freezer, before) = running_in_cgroup(
        &h,
        &cluster,
        &framework,
        "sleeper",
        "sleep 600 & exec sleep 600",
        3,
    )
    .await;

    cluster.agents[0].kill();
    cluster.restart_agent(0, FLAGS);
    let log = || cluster.agents[0].log();
    let reregistered = common::poll_async(WAIT, || {
        log().contains("executor re-registered").then_some(())
    })
    .await;
    assert!(reregistered.is_some(), "{}", log());
    // The same container, the same processes.
    assert_eq!(the_container(&cluster, 0).await["container_id"], id);
    let mut now = pids(&freezer);
    now.sort_unstable();
    let mut was = before.clone();
    was.sort_unstable();
    assert_eq!(now, was);

    framework.handle.kill_task(TaskId::new("sleeper"));
    framework.update("sleeper", TaskState::Killed, WAIT).await;
    all_gone(&before, &freezer).await;
}

#[actix::test]
async fn the_containers_a_dead_agent_left_are_destroyed_by_the_next_one() {
    let Some(h) = cgroups() else { return };
    let mut cluster = cluster(&[]);
    // Not checkpointing: the next agent does not take its executor back.
    let framework = framework(&cluster, "orphaned", false).await;
    let (id, freezer, before) = running_in_cgroup(
        &h,
        &cluster,
        &framework,
        "orphan",
        "setsid sleep 600 & exec sleep 600",
        3,
    )
    .await;

    cluster.agents[0].kill();
    // Without its agent the executor of a framework that does not
    // checkpoint may end its task and exit, but what left the task's
    // session runs on in the cgroup.
    assert!(before.iter().any(|p| is_alive(*p)));
    cluster.restart_agent(0, FLAGS);
    all_gone(&before, &freezer).await;
    assert!(!cgroup(&h, &cluster, 0, "memory", &id).exists());
    assert!(!cgroup(&h, &cluster, 0, "cpu", &id).exists());
}

#[actix::test]
async fn a_sandbox_over_its_disk_fails_with_a_disk_limitation_under_enforcement() {
    // disk/du needs no cgroups: the posix launcher runs it anywhere.
    let mut cluster = Cluster::start(&[], &[]);
    cluster.add_agent_with(
        "cpus:2;mem:1024;disk:100",
        &[
            "--launcher=posix",
            "--isolation=posix/cpu,posix/mem,disk/du",
            "--container_disk_watch_interval=100ms",
            "--enforce_container_disk_quota",
        ],
    );
    let framework = framework(&cluster, "filler", false).await;
    let fill = "head -c 3000000 /dev/zero > blob; exec sleep 600";
    framework
        .launch(
            vec![command_task("filler", fill)],
            "cpus:0.5;mem:64;disk:1",
            None,
        )
        .await;
    let failed = framework.update("filler", TaskState::Failed, WAIT).await;
    assert_eq!(
        failed.reason,
        Some(Reason::ContainerLimitationDisk),
        "{failed:#?}"
    );
    assert_eq!(failed.source, Some(Source::Agent));
    let message = failed.message.unwrap_or_default();
    assert!(
        message.starts_with("Disk usage (") && message.ends_with(") exceeds quota (1MB)"),
        "{message}"
    );
}

#[test]
fn what_the_machine_cannot_do_is_refused_at_start_with_one_line() {
    let dir = common::cluster::WorkDir::new("refused-");
    let refusals = [
        (
            vec!["--launcher=linux", "--cgroups_hierarchy=/nonexistent"],
            "the linux launcher needs",
        ),
        (
            vec![
                "--isolation=cgroups/mem",
                "--cgroups_hierarchy=/nonexistent",
            ],
            "the cgroups/mem isolator needs",
        ),
        (
            vec!["--isolation=cgroups/gpu"],
            "unsupported isolator 'cgroups/gpu'",
        ),
        (vec!["--launcher=lxc"], "unknown launcher 'lxc'"),
    ];
    for (flags, reason) in refusals {
        let mut args = vec![
            "--master=127.0.0.1:1".to_owned(),
            "--ip=127.0.0.1".to_owned(),
            "--port=0".to_owned(),
            format!("--work_dir={}", dir.path().display()),
        ];
        args.extend(flags.iter().map(|f| f.to_string()));
        let output = common::run_with_deadline(
            std::process::Command::new(env!("CARGO_BIN_EXE_mesos-agent")).args(&args),
            WAIT,
        );
        assert_eq!(output.status.code(), Some(1), "{flags:?}: {output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "{flags:?}: {stderr}");
        assert!(lines[0].contains(reason), "{flags:?}: {stderr}");
    }
}
