//! Master failover with 10k emulated agents and 100k tasks.
//!
//! Three `mesos-master` daemons (`--quorum=2`, the registry in the
//! replicated log) run over a real ZooKeeper. The agents are emulated in
//! this process, as in Mesos's own failover benchmark: 10,000 processes on
//! one node, each reporting 2 frameworks with 5 running tasks apiece when it
//! re-registers. They follow the leader through one ZooKeeper detector and
//! write to a new leader as soon as it is detected, retrying after 1 s if
//! they hear nothing.
//!
//! One iteration: SIGKILL the leading master, then wait until every agent
//! has been told `AgentReregistered` by the new leader. The time measured
//! runs from the kill to that moment. The killed master is then started
//! again on its old work_dir, and the next iteration begins once all three
//! replicas vote again.
//!
//! The baseline, measured in the same iterations: the time from the kill to
//! the moment ZooKeeper lets the detector see the new leader. ZooKeeper has
//! to expire the dead leader's session first (`--zk_session_timeout=2secs`
//! here; the server checks expiry every tick of 500 ms), so no
//! implementation can do better. What comes after it is ours: election,
//! registry recovery and the re-registration of every agent. The phases are
//! printed at the end.

#[path = "../../tests/common/mod.rs"]
#[allow(unused_imports)]
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use actors::{Cx, Handle, Install, Node, NodeConfig, Pid, Process};
use common::cluster::{all_voting, Daemon, WorkDir};
use common::zookeeper::ZooKeeper;
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};
use wire::agent::{
    AgentRegistered, AgentReregistered, PingAgent, PongAgent, RegisterAgent, ReregisterAgent,
};
use wire::ids::{AgentId, FrameworkId, TaskId};
use wire::mesos::{AgentInfo, FrameworkInfo, Task};
use wire::resources::Resources;
use wire::task::TaskState;

const AGENTS: usize = 10_000;
const FRAMEWORKS_PER_AGENT: usize = 2;
const TASKS_PER_FRAMEWORK: usize = 5;
const SESSION_TIMEOUT: &str = "2secs";
/// An emulated agent that heard nothing from the master it wrote to
/// writes again after this long (Mesos's `--registration_backoff_factor`).
const RETRY: Duration = Duration::from_secs(1);
/// The longest any wait in the bench may take before it fails.
const DEADLINE: Duration = Duration::from_secs(120);

// ---------------------------------------------------------------------------
// What the emulated agents have heard, shared with the bench thread.

/// Times of one leader's reign, as the agents saw it.
#[derive(Debug, Clone, Copy, Default)]
struct Reign {
    /// The detector named this leader.
    detected: Option<Instant>,
    /// The first agent was answered.
    first: Option<Instant>,
    /// Every agent was answered.
    all: Option<Instant>,
    answered: usize,
}

#[derive(Default)]
struct Shared {
    /// Bumped each time the detector names a new leader.
    epoch: u64,
    leader: Option<Pid>,
    reign: Reign,
    retries: usize,
}

#[derive(Default)]
struct Progress {
    shared: Mutex<Shared>,
    changed: Condvar,
}

impl Progress {
    fn new_leader(&self, leader: Pid) -> u64 {
        let mut s = self.shared.lock().unwrap();
        s.epoch += 1;
        s.leader = Some(leader);
        s.reign = Reign {
            detected: Some(Instant::now()),
            ..Reign::default()
        };
        self.changed.notify_all();
        s.epoch
    }

    fn answered(&self, epoch: u64) {
        let mut s = self.shared.lock().unwrap();
        if s.epoch != epoch {
            return;
        }
        let now = Instant::now();
        s.reign.answered += 1;
        s.reign.first.get_or_insert(now);
        if s.reign.answered == AGENTS {
            s.reign.all = Some(now);
            self.changed.notify_all();
        }
    }

    fn retried(&self) {
        self.shared.lock().unwrap().retries += 1;
    }

    /// Waits until a leader newer than `after` has answered every agent.
    fn wait_all_answered(&self, after: u64) -> (u64, Pid, Reign) {
        let end = Instant::now() + DEADLINE;
        let mut s = self.shared.lock().unwrap();
        loop {
            if s.epoch > after && s.reign.all.is_some() {
                let leader = s.leader.clone().expect("a leader");
                return (s.epoch, leader, s.reign);
            }
            let left = end.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "agents not all answered within {DEADLINE:?}: epoch {} ({} after {after}), {} of {AGENTS} answered",
                s.epoch,
                s.leader.as_ref().map(|p| p.to_string()).unwrap_or_default(),
                s.reign.answered
            );
            s = self.changed.wait_timeout(s, left).unwrap().0;
        }
    }
}

// ---------------------------------------------------------------------------
// An emulated agent: registers once, then re-registers with every new
// leader, reporting its tasks.

struct EmulatedAgent {
    info: AgentInfo,
    frameworks: Vec<FrameworkInfo>,
    tasks: Vec<Task>,
    master: Option<Pid>,
    epoch: u64,
    answered: u64,
    progress: Arc<Progress>,
}

/// The detector named a new leader.
struct NewLeader {
    master: Pid,
    epoch: u64,
}

/// No answer yet from the leader of this epoch?
struct Retry(u64);

impl EmulatedAgent {
    fn new(n: usize, progress: Arc<Progress>) -> EmulatedAgent {
        let frameworks = (0..FRAMEWORKS_PER_AGENT)
            .map(|f| {
                let mut info = FrameworkInfo::new("root", &format!("framework{f}"));
                info.id = Some(FrameworkId::new(format!("framework{f}")));
                info
            })
            .collect();
        EmulatedAgent {
            info: AgentInfo {
                hostname: format!("agent{n}.example.com"),
                port: 5051,
                resources: Resources::parse("cpus:24;mem:65536;disk:1000000", "*")
                    .expect("resources"),
                attributes: Vec::new(),
                id: None,
            },
            frameworks,
            tasks: Vec::new(),
            master: None,
            epoch: 0,
            answered: 0,
            progress,
        }
    }

    /// The running tasks it reports, once it has an id.
    fn make_tasks(&mut self, agent: &AgentId) {
        let resources = Resources::parse("cpus:0.1;mem:32", "*").expect("resources");
        self.tasks = (0..FRAMEWORKS_PER_AGENT * TASKS_PER_FRAMEWORK)
            .map(|t| Task {
                name: format!("task {t}"),
                task_id: TaskId::new(format!("{agent}-task{t}")),
                framework_id: FrameworkId::new(format!("framework{}", t / TASKS_PER_FRAMEWORK)),
                executor_id: None,
                agent_id: agent.clone(),
                state: TaskState::Running,
                resources: resources.clone(),
                statuses: Vec::new(),
                status_update_state: Some(TaskState::Running),
                status_update_uuid: None,
                role: "*".into(),
                meta: Default::default(),
            })
            .collect();
    }

    fn write(&self, cx: &mut Cx<'_, Self>) {
        let Some(master) = &self.master else {
            return;
        };
        let version = wire::mesos::VERSION.to_string();
        if self.info.id.is_none() {
            cx.send(
                master,
                RegisterAgent {
                    info: self.info.clone(),
                    version,
                },
            );
        } else {
            cx.send(
                master,
                ReregisterAgent {
                    info: self.info.clone(),
                    version,
                    tasks: self.tasks.clone(),
                    executors: Vec::new(),
                    frameworks: self.frameworks.clone(),
                },
            );
        }
    }

    fn answered(&mut self) {
        if self.answered < self.epoch {
            self.answered = self.epoch;
            self.progress.answered(self.epoch);
        }
    }
}

impl Process for EmulatedAgent {
    fn install(i: &mut Install<Self>) {
        i.message::<AgentRegistered>()
            .message::<AgentReregistered>()
            .message::<PingAgent>()
            .local::<NewLeader>()
            .local::<Retry>();
    }
}

impl Handle<NewLeader> for EmulatedAgent {
    fn handle(&mut self, m: NewLeader, _: &Pid, cx: &mut Cx<'_, Self>) {
        self.master = Some(m.master);
        self.epoch = m.epoch;
        self.write(cx);
        cx.delay(RETRY, Retry(m.epoch));
    }
}

impl Handle<Retry> for EmulatedAgent {
    fn handle(&mut self, Retry(epoch): Retry, _: &Pid, cx: &mut Cx<'_, Self>) {
        if epoch == self.epoch && self.answered < epoch {
            self.progress.retried();
            self.write(cx);
            cx.delay(RETRY, Retry(epoch));
        }
    }
}

impl Handle<AgentRegistered> for EmulatedAgent {
    fn handle(&mut self, m: AgentRegistered, _: &Pid, _: &mut Cx<'_, Self>) {
        if self.info.id.is_none() {
            self.make_tasks(&m.agent_id);
            self.info.id = Some(m.agent_id);
        }
        self.answered();
    }
}

impl Handle<AgentReregistered> for EmulatedAgent {
    fn handle(&mut self, _: AgentReregistered, _: &Pid, _: &mut Cx<'_, Self>) {
        self.answered();
    }
}

impl Handle<PingAgent> for EmulatedAgent {
    fn handle(&mut self, _: PingAgent, from: &Pid, cx: &mut Cx<'_, Self>) {
        cx.send(from, PongAgent);
    }
}

/// Runs the emulated agents and their detector on an actix system of
/// their own thread, for as long as the bench runs.
fn start_agents(zk: &str) -> Arc<Progress> {
    let progress = Arc::new(Progress::default());
    let (zk, shared) = (zk.to_owned(), progress.clone());
    std::thread::spawn(move || {
        let system = actix::System::new();
        system.block_on(async move {
            let node = Node::bind(NodeConfig::default())
                .await
                .expect("bind a node");
            let agents: Vec<Pid> = (0..AGENTS)
                .map(|n| {
                    node.spawn(
                        format!("slave({})", n + 1),
                        EmulatedAgent::new(n, shared.clone()),
                    )
                    .expect("spawn an agent")
                    .pid()
                    .clone()
                })
                .collect();
            let detector =
                mesos::zookeeper::detector_for(&zk, Duration::from_secs(10)).expect("a detector");
            let following = detector
                .follow(move |leader| {
                    let Some(master) = leader.and_then(|l| l.pid.parse::<Pid>().ok()) else {
                        return;
                    };
                    let epoch = shared.new_leader(master.clone());
                    for agent in &agents {
                        node.send_local(
                            agent,
                            agent,
                            NewLeader {
                                master: master.clone(),
                                epoch,
                            },
                        );
                    }
                })
                .expect("follow the leader");
            // Kept for the life of the thread.
            std::mem::forget(following);
        });
        system.run().expect("the agents' system");
    });
    progress
}

// ---------------------------------------------------------------------------
// The masters.

/// `mesos-master` from this workspace, built in release mode beside the
/// bench if it is missing or stale.
fn master_binary() -> PathBuf {
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
        .args(["build", "--release", "-p", "mesos", "--bin", "mesos-master"])
        .arg("--target-dir")
        .arg(target_dir)
        .current_dir(workspace)
        .status()
        .expect("run cargo build");
    assert!(status.success(), "cargo build of mesos-master failed");
    profile_dir.join("mesos-master")
}

struct Masters {
    binary: PathBuf,
    zk: String,
    dir: WorkDir,
    daemons: Vec<Daemon>,
    starts: usize,
}

impl Masters {
    fn start(binary: PathBuf, zk: String) -> Masters {
        let mut masters = Masters {
            binary,
            zk,
            dir: WorkDir::new("failover-bench"),
            daemons: Vec::new(),
            starts: 0,
        };
        for n in 0..3 {
            let daemon = masters.launch(n);
            masters.daemons.push(daemon);
        }
        masters
    }

    fn launch(&mut self, n: usize) -> Daemon {
        self.starts += 1;
        let dir = self.dir.path();
        Daemon::start(
            &format!("master{n}"),
            &self.binary,
            &[
                "--ip=127.0.0.1".into(),
                "--port=0".into(),
                format!("--zk={}", self.zk),
                "--quorum=2".into(),
                format!("--zk_session_timeout={SESSION_TIMEOUT}"),
                format!("--work_dir={}", dir.join(format!("master{n}")).display()),
            ],
            dir.join(format!("master{n}-{}.log", self.starts)),
        )
    }

    fn index_of(&self, pid: &Pid) -> usize {
        self.daemons
            .iter()
            .position(|d| d.address() == pid.address())
            .expect("the leader is one of ours")
    }

    /// Waits until every master's replica of the registry's log votes.
    fn wait_all_voting(&self) {
        let end = Instant::now() + DEADLINE;
        while !all_voting(&self.daemons) {
            assert!(Instant::now() < end, "replicas not all voting");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

// ---------------------------------------------------------------------------

/// What one failover took, from the kill, and what the new leader held.
struct Phases {
    detected: Duration,
    first: Duration,
    all: Duration,
    /// The new leader's resident memory once every agent is back, MiB.
    rss_mib: f64,
}

/// Resident memory of an OS process, MiB (`VmRSS` of `/proc/<pid>/status`).
fn rss_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

fn failover(c: &mut Criterion) {
    let binary = master_binary();
    let zk = ZooKeeper::start();
    let url = zk.url("/mesos");
    let mut masters = Masters::start(binary, url.clone());
    masters.wait_all_voting();
    let progress = start_agents(&url);
    let (mut epoch, mut leader, _) = progress.wait_all_answered(0);
    eprintln!("{AGENTS} emulated agents registered with {leader}");

    let mut phases: Vec<Phases> = Vec::new();
    let mut group = c.benchmark_group("failover");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(1))
        .measurement_time(Duration::from_secs(1));
    group.bench_function("10k_agents_100k_tasks/kill_to_all_reregistered", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                masters.wait_all_voting();
                let n = masters.index_of(&leader);
                let killed = Instant::now();
                masters.daemons[n].kill();
                let (e, l, reign) = progress.wait_all_answered(epoch);
                let since = |t: Option<Instant>| t.expect("recorded").duration_since(killed);
                phases.push(Phases {
                    detected: since(reign.detected),
                    first: since(reign.first),
                    all: since(reign.all),
                    rss_mib: rss_mib(masters.daemons[masters.index_of(&l)].os_pid()),
                });
                total += since(reign.all);
                (epoch, leader) = (e, l);
                masters.daemons[n] = masters.launch(n);
            }
            total
        })
    });
    group.finish();
    report(&phases, progress.shared.lock().unwrap().retries);
}

fn report(phases: &[Phases], retries: usize) {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let column = |f: &dyn Fn(&Phases) -> f64, unit: &str| {
        let mut v: Vec<f64> = phases.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        match v.as_slice() {
            [] => String::from("-"),
            v => format!(
                "min {:7.1}  median {:7.1}  max {:7.1} {unit}",
                v[0],
                v[v.len() / 2],
                v[v.len() - 1]
            ),
        }
    };
    eprintln!(
        "\nfailover phases over {} kills ({AGENTS} agents, {} tasks):",
        phases.len(),
        AGENTS * FRAMEWORKS_PER_AGENT * TASKS_PER_FRAMEWORK
    );
    eprintln!(
        "  kill -> new leader detected (ZooKeeper floor): {}",
        column(&|p| ms(p.detected), "ms")
    );
    eprintln!(
        "  kill -> first agent re-registered:             {}",
        column(&|p| ms(p.first), "ms")
    );
    eprintln!(
        "  kill -> all agents re-registered:              {}",
        column(&|p| ms(p.all), "ms")
    );
    eprintln!(
        "  detected -> all agents re-registered (ours):   {}",
        column(&|p| ms(p.all - p.detected), "ms")
    );
    eprintln!(
        "  new leader's resident memory, all agents back: {}",
        column(&|p| p.rss_mib, "MiB")
    );
    eprintln!("  agent retries after {RETRY:?} without an answer: {retries}");
}

criterion_group!(benches, failover);
criterion_main!(benches);
