//! What the cluster benches share (`agent_tasks`, `operator_stream`): a
//! master and one agent from this workspace's release binaries, a
//! framework running N short command tasks, and a process's CPU time.
//!
//! Used with `#[path = "support/mod.rs"]`, beside `tests/common` as
//! `common`; each bench uses part of it.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::cluster::{get_json, Daemon, WorkDir};
use mesos::scheduler::{self, Scheduler, SchedulerDriver};
use wire::ids::{FrameworkId, TaskId};
use wire::mesos::{CommandInfo, Filters, FrameworkInfo, MasterInfo, Offer, TaskInfo, TaskStatus};
use wire::resources::{Resource, Resources};
use wire::task::TaskState;

/// What the agent offers: 40 tasks of 0.1 cpus run at once.
pub const AGENT_RESOURCES: &str = "cpus:4;mem:4096";
/// What each task takes.
pub const TASK_CPUS: f64 = 0.1;
pub const TASK_MEM: f64 = 32.0;
/// The longest any wait may take before the bench fails.
pub const DEADLINE: Duration = Duration::from_secs(300);

pub fn env_size(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

// ---------------------------------------------------------------------------
// The cluster.

/// A master and one agent under `launcher`, in a scratch directory
/// (removed, with both daemons stopped, when dropped).
pub struct Pair {
    pub agent: Daemon,
    pub master: Daemon,
    pub dir: WorkDir,
}

impl Pair {
    /// Starts the cluster and waits for the agent to register; `None` if
    /// the agent exits at start (it refuses the launcher).
    pub fn start(bins: &Path, tag: &str, launcher: &str) -> Option<Pair> {
        let dir = WorkDir::new(tag);
        let path = dir.path();
        let master = Daemon::start(
            "master",
            &bins.join("mesos-master"),
            &[
                "--ip=127.0.0.1".into(),
                "--port=0".into(),
                format!("--work_dir={}", path.join("master").display()),
            ],
            path.join("master.log"),
        );
        let mut args = vec![
            "--ip=127.0.0.1".to_owned(),
            "--port=0".to_owned(),
            format!("--master={}", master.address()),
            format!("--work_dir={}", path.join("agent").display()),
            format!("--resources={AGENT_RESOURCES}"),
            format!("--launcher_dir={}", bins.display()),
            format!("--launcher={launcher}"),
        ];
        if launcher == "linux" {
            // A root of its own, so nothing else on the host is touched.
            args.push(format!("--cgroups_root={tag}-{}", std::process::id()));
        }
        let agent = std::panic::catch_unwind(|| {
            Daemon::start(
                "agent",
                &bins.join("mesos-agent"),
                &args,
                path.join("agent.log"),
            )
        })
        .ok()?;
        let end = Instant::now() + DEADLINE;
        loop {
            let slaves = get_json(master.address(), "/master/slaves");
            if slaves["slaves"].as_array().is_some_and(|a| a.len() == 1) {
                break;
            }
            assert!(Instant::now() < end, "the agent did not register");
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(Pair { agent, master, dir })
    }
}

// ---------------------------------------------------------------------------
// CPU time.

/// `utime + stime` of an OS process, in clock ticks.
pub fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("the process's stat");
    let after_name = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 and 15 of stat(5); `fields` starts at field 3.
    let field = |n: usize| {
        fields
            .get(n - 3)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    field(14) + field(15)
}

pub fn ticks_to_duration(ticks: u64) -> Duration {
    // SAFETY: sysconf only reads configuration.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Duration::from_micros(ticks * 1_000_000 / hz)
}

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

// ---------------------------------------------------------------------------
// The load: a framework that runs N `true` tasks as fast as offers allow.

pub struct Load {
    pub total: usize,
    pub tag: &'static str,
    pub per_task: Resources,
    pub launched: usize,
    pub launched_at: HashMap<TaskId, Instant>,
    pub running_at: HashMap<TaskId, Instant>,
    pub done: usize,
    pub failed: Vec<String>,
}

impl Load {
    pub fn latencies(&self) -> Vec<Duration> {
        self.running_at
            .iter()
            .filter_map(|(id, at)| Some(at.duration_since(*self.launched_at.get(id)?)))
            .collect()
    }
}

impl Scheduler for Load {
    fn registered(&mut self, _: &mut SchedulerDriver, _: FrameworkId, _: MasterInfo) {}

    fn resource_offers(&mut self, driver: &mut SchedulerDriver, offers: Vec<Offer>) {
        for offer in offers {
            let mut left = offer.resources.clone();
            let mut tasks = Vec::new();
            while self.launched < self.total {
                let Some(resources) = scheduler::pick_resources(&left, &self.per_task, "*") else {
                    break;
                };
                left = left.minus(&resources);
                let id = TaskId::new(format!("{}-{}", self.tag, self.launched));
                tasks.push(TaskInfo {
                    name: id.value.clone(),
                    task_id: id,
                    agent_id: offer.agent_id.clone(),
                    resources,
                    command: Some(CommandInfo::shell("true")),
                    executor: None,
                    data: None,
                    kill_grace_period: None,
                    meta: Default::default(),
                });
                self.launched += 1;
            }
            if tasks.is_empty() {
                driver.decline_offer(offer.id, Filters::default());
                continue;
            }
            let now = Instant::now();
            for t in &tasks {
                self.launched_at.insert(t.task_id.clone(), now);
            }
            // Refuse nothing: what is left comes back at once.
            driver.launch_tasks(
                vec![offer.id],
                tasks,
                Filters {
                    refuse_seconds: 0.0,
                },
            );
        }
    }

    fn status_update(&mut self, driver: &mut SchedulerDriver, status: TaskStatus) {
        if status.state == TaskState::Running {
            self.running_at
                .entry(status.task_id.clone())
                .or_insert_with(Instant::now);
        }
        if !status.state.is_terminal() {
            return;
        }
        self.done += 1;
        if status.state != TaskState::Finished {
            self.failed.push(format!(
                "{} {}: {}",
                status.task_id,
                status.state,
                status.message.as_deref().unwrap_or("")
            ));
        }
        if self.done == self.total {
            driver.stop(false);
        }
    }

    fn error(&mut self, _: &mut SchedulerDriver, message: String) {
        panic!("framework error: {message}");
    }
}

pub fn run_tasks(master: std::net::SocketAddr, total: usize, tag: &'static str) -> Load {
    let mut per_task = Resources::new();
    per_task
        .add(Resource::scalar("cpus", TASK_CPUS))
        .expect("cpus");
    per_task
        .add(Resource::scalar("mem", TASK_MEM))
        .expect("mem");
    let user = scheduler::current_user().expect("the current user");
    let load = Load {
        total,
        tag,
        per_task,
        launched: 0,
        launched_at: HashMap::new(),
        running_at: HashMap::new(),
        done: 0,
        failed: Vec::new(),
    };
    let framework = FrameworkInfo::new(&user, "agent bench");
    let (_, load) = scheduler::run(&master.to_string(), framework, load).expect("the framework");
    assert!(
        load.failed.is_empty(),
        "{} tasks did not finish, e.g. {:?}",
        load.failed.len(),
        load.failed.first()
    );
    assert_eq!(load.done, total, "not every task ended");
    load
}

// ---------------------------------------------------------------------------

/// `mesos-master`, `mesos-agent` and the executors from this workspace,
/// built in release mode beside the bench; the directory holding them.
pub fn release_binaries() -> PathBuf {
    let exe = std::env::current_exe().expect("the bench's path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps");
    let target_dir = profile_dir.parent().expect("target");
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace");
    let status = Command::new(env!("CARGO"))
        .args(["build", "--release", "-p", "mesos", "--bins"])
        .arg("--target-dir")
        .arg(target_dir)
        .current_dir(workspace)
        .status()
        .expect("run cargo build");
    assert!(status.success(), "cargo build of the binaries failed");
    profile_dir.to_owned()
}
