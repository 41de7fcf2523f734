//! The agent's cost per task: 1,000 short command tasks through a real
//! `mesos-master` and `mesos-agent`, under each launcher, with and without
//! 2,000 idle processes on the host beside it.
//!
//! What is measured, per configuration:
//! - the agent's CPU time per task: user + system time of the agent's OS
//!   process (all its threads; not its executors, which are separate
//!   processes) across the whole run, divided by the number of tasks;
//! - the launch-to-`TASK_RUNNING` latency: from the scheduler's
//!   `launch_tasks` to its `TASK_RUNNING` update (median and 90th
//!   percentile), master hop included;
//! - the agent's system calls per task (`read`, `openat`, `statx`, all), in
//!   a second pass of `SYSCALL_TASKS` tasks with `strace -c` attached to
//!   each of the agent's threads (not following forks, so executors are
//!   not counted). Skipped with a message when `strace` is missing.
//!
//! The baseline, in the same run: the posix launcher (a container is a
//! session, found through `/proc`) against the cgroup launcher (a
//! container is a freezer cgroup), each with 0 and with 2,000 idle
//! processes. The cgroup rows are skipped, with a message, where the agent
//! refuses `--launcher=linux`.
//!
//! Not a criterion bench: one sample is a whole cluster run of a thousand
//! tasks, and what is reported is a cost per task and a latency
//! distribution over those tasks, not the time of a closure. Run alone on
//! a quiet machine: `cargo bench -p benches --bench agent_tasks`.
//! `AGENT_BENCH_TASKS` and `AGENT_BENCH_IDLE` change the sizes.

#[path = "../../tests/common/mod.rs"]
#[allow(unused_imports)]
mod common;

#[path = "support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::cluster::{Daemon, WorkDir};
use support::{cpu_ticks, env_size, percentile, release_binaries, run_tasks, ticks_to_duration};

/// Tasks per CPU pass.
const TASKS: usize = 1_000;
/// Tasks per syscall pass (strace slows the agent down).
const SYSCALL_TASKS: usize = 200;
/// Idle processes started beside the agent in the "busy host" rows.
const IDLE: usize = 2_000;

fn main() {
    let tasks = env_size("AGENT_BENCH_TASKS", TASKS);
    let idle = env_size("AGENT_BENCH_IDLE", IDLE);
    let bins = release_binaries();
    let strace = which("strace");
    if strace.is_none() {
        println!("strace not found: the syscall columns are left out (apt-get install strace)");
    }
    let mut rows = Vec::new();
    for launcher in ["posix", "linux"] {
        for idle in [0, idle] {
            let run = Run::start(&bins, launcher);
            let Some(run) = run else {
                println!("the agent refuses --launcher={launcher} here: its rows are left out");
                break;
            };
            let _idle = IdleProcesses::start(idle);
            let cpu = run.cpu_pass(tasks);
            let syscalls = strace
                .as_deref()
                .map(|strace| run.syscall_pass(strace, SYSCALL_TASKS.min(tasks)));
            let row = Row {
                launcher,
                idle,
                cpu,
                syscalls,
            };
            println!("{}", row.line());
            rows.push(row);
        }
    }
    println!();
    println!("| launcher | idle processes | agent CPU per task | launch→RUNNING p50 | p90 | read | openat | statx | all syscalls per task |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for row in &rows {
        println!("{}", row.line());
    }
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|p| p.is_file())
    })
}

// ---------------------------------------------------------------------------
// One configuration's cluster.

/// A master and one agent under `launcher`, in a scratch directory.
struct Run {
    agent: Daemon,
    master: Daemon,
    _dir: WorkDir,
}

impl Run {
    /// Starts the cluster and waits for the agent to register; `None` if
    /// the agent exits at start (it refuses the launcher).
    fn start(bins: &Path, launcher: &str) -> Option<Run> {
        let cluster = support::Pair::start(bins, "agent-bench", launcher)?;
        Some(Run {
            agent: cluster.agent,
            master: cluster.master,
            _dir: cluster.dir,
        })
    }

    /// Runs `tasks` tasks and measures the agent's CPU time and the
    /// launch latencies.
    fn cpu_pass(&self, tasks: usize) -> CpuPass {
        let before = cpu_ticks(self.agent.os_pid());
        let started = Instant::now();
        let load = run_tasks(self.master.address(), tasks, "cpu");
        let wall = started.elapsed();
        let after = cpu_ticks(self.agent.os_pid());
        let mut latencies = load.latencies();
        latencies.sort();
        CpuPass {
            tasks,
            wall,
            cpu: ticks_to_duration(after.saturating_sub(before)),
            p50: percentile(&latencies, 0.5),
            p90: percentile(&latencies, 0.9),
        }
    }

    /// Runs `tasks` tasks with strace attached to the agent's threads.
    fn syscall_pass(&self, strace: &Path, tasks: usize) -> Syscalls {
        let threads = threads_of(self.agent.os_pid());
        let output = self._dir.path().join("strace.txt");
        let mut command = Command::new(strace);
        command.arg("-c").arg("-q").arg("-o").arg(&output);
        for tid in &threads {
            command.arg("-p").arg(tid.to_string());
        }
        let mut tracer = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start strace");
        // strace attaches within a moment; give it until the agent's
        // threads show a tracer.
        let end = Instant::now() + Duration::from_secs(10);
        while !threads.iter().all(|t| traced(self.agent.os_pid(), *t)) {
            assert!(Instant::now() < end, "strace did not attach");
            std::thread::sleep(Duration::from_millis(10));
        }
        run_tasks(self.master.address(), tasks, "sys");
        // SAFETY: signalling our own child.
        unsafe { libc::kill(tracer.id() as i32, libc::SIGINT) };
        let _ = tracer.wait();
        let counts = parse_strace(&std::fs::read_to_string(&output).unwrap_or_default());
        Syscalls { tasks, counts }
    }
}

/// Whether thread `tid` of `pid` has a tracer.
fn traced(pid: u32, tid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("TracerPid:"))
                .map(|v| v.trim() != "0")
        })
        .unwrap_or(false)
}

fn threads_of(pid: u32) -> Vec<u32> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| e.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// `strace -c`'s table: calls by syscall name.
fn parse_strace(text: &str) -> HashMap<String, u64> {
    let mut counts = HashMap::new();
    for line in text.lines() {
        let cols: Vec<&str> = line.split_whitespace().collect();
        // "% time  seconds  usecs/call  calls  [errors]  syscall"
        if cols.len() < 5 || cols[0].parse::<f64>().is_err() {
            continue;
        }
        let Some(name) = cols.last() else { continue };
        if *name == "total" {
            continue;
        }
        if let Ok(calls) = cols[3].parse::<u64>() {
            counts.insert((*name).to_owned(), calls);
        }
    }
    counts
}

// ---------------------------------------------------------------------------
// Idle processes: a busy host's process table.

struct IdleProcesses(Vec<Child>);

impl IdleProcesses {
    fn start(n: usize) -> IdleProcesses {
        let children = (0..n)
            .map(|_| {
                Command::new("sleep")
                    .arg("3600")
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("start an idle process")
            })
            .collect();
        IdleProcesses(children)
    }
}

impl Drop for IdleProcesses {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
        }
        for child in &mut self.0 {
            let _ = child.wait();
        }
    }
}

// ---------------------------------------------------------------------------
// Results.

struct CpuPass {
    tasks: usize,
    wall: Duration,
    cpu: Duration,
    p50: Duration,
    p90: Duration,
}

struct Syscalls {
    tasks: usize,
    counts: HashMap<String, u64>,
}

impl Syscalls {
    fn per_task(&self, name: &str) -> f64 {
        self.counts.get(name).copied().unwrap_or(0) as f64 / self.tasks.max(1) as f64
    }

    fn all_per_task(&self) -> f64 {
        self.counts.values().sum::<u64>() as f64 / self.tasks.max(1) as f64
    }
}

struct Row {
    launcher: &'static str,
    idle: usize,
    cpu: CpuPass,
    syscalls: Option<Syscalls>,
}

impl Row {
    fn line(&self) -> String {
        let per_task = self.cpu.cpu.as_secs_f64() * 1000.0 / self.cpu.tasks.max(1) as f64;
        let sys = match &self.syscalls {
            Some(s) => format!(
                "{:.0} | {:.0} | {:.0} | {:.0}",
                s.per_task("read"),
                s.per_task("openat"),
                s.per_task("statx"),
                s.all_per_task()
            ),
            None => "- | - | - | -".to_owned(),
        };
        format!(
            "| {} | {} | {:.2} ms | {:.1} ms | {:.1} ms | {sys} |  ({} tasks in {:.1} s)",
            self.launcher,
            self.idle,
            per_task,
            self.cpu.p50.as_secs_f64() * 1000.0,
            self.cpu.p90.as_secs_f64() * 1000.0,
            self.cpu.tasks,
            self.cpu.wall.as_secs_f64(),
        )
    }
}

// ---------------------------------------------------------------------------
