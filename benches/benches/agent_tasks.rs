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
//!   a second pass of `SYSCALL_TASKS` tasks with `perf stat` counting the
//!   system-call tracepoints of each of the agent's threads (not inherited
//!   by forks, so executors are not counted). Skipped with a message where
//!   perf cannot count them.
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
/// Tasks per syscall pass.
const SYSCALL_TASKS: usize = 1_000;
/// Idle processes started beside the agent in the "busy host" rows.
const IDLE: usize = 2_000;

fn main() {
    let tasks = env_size("AGENT_BENCH_TASKS", TASKS);
    let idle = env_size("AGENT_BENCH_IDLE", IDLE);
    let bins = release_binaries();
    let perf = which("perf").filter(|perf| perf_counts_syscalls(perf));
    if perf.is_none() {
        println!("perf cannot count system calls here: the syscall columns are left out");
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
            let syscalls = perf
                .as_deref()
                .map(|perf| run.syscall_pass(perf, SYSCALL_TASKS.min(tasks)));
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

impl Drop for Run {
    /// A failed run shows the end of both daemons' logs before its
    /// scratch directory goes.
    fn drop(&mut self) {
        if std::thread::panicking() {
            for (name, daemon) in [("master", &self.master), ("agent", &self.agent)] {
                let log = daemon.log();
                let kept = std::env::temp_dir().join(format!("agent-bench-{name}.log"));
                let _ = std::fs::write(&kept, &log);
                let tail: Vec<&str> = log.lines().rev().take(10).collect();
                eprintln!(
                    "--- the end of the {name}'s log (all of it in {}):",
                    kept.display()
                );
                for line in tail.iter().rev() {
                    eprintln!("{line}");
                }
            }
        }
    }
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

    /// Runs `tasks` tasks with `perf stat` counting the agent's system
    /// calls: in-kernel tracepoint counters on each of its threads, not
    /// inherited by the executors it forks. (Not `strace`: its ptrace stops
    /// slow the agent enough that, under the posix launcher beside 2,000
    /// processes, its thread stalls past the master's 10 s idle limit.)
    fn syscall_pass(&self, perf: &Path, tasks: usize) -> Syscalls {
        let output = self._dir.path().join("perf-stat.csv");
        let events: Vec<String> = COUNTED
            .iter()
            .map(|name| format!("syscalls:sys_enter_{name}"))
            .chain(std::iter::once("raw_syscalls:sys_enter".to_owned()))
            .collect();
        let mut counter = Command::new(perf)
            .args(["stat", "--no-inherit", "-x", ","])
            .arg("-o")
            .arg(&output)
            .arg("-e")
            .arg(events.join(","))
            .arg("-p")
            .arg(self.agent.os_pid().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start perf stat");
        // perf opens its counters within a moment; give it until the
        // output file appears (it writes its header at once).
        let end = Instant::now() + Duration::from_secs(10);
        while !output.exists() {
            assert!(Instant::now() < end, "perf stat did not start");
            std::thread::sleep(Duration::from_millis(10));
        }
        run_tasks(self.master.address(), tasks, "sys");
        // SAFETY: signalling our own child.
        unsafe { libc::kill(counter.id() as i32, libc::SIGINT) };
        let _ = counter.wait();
        let counts = parse_perf_stat(&std::fs::read_to_string(&output).unwrap_or_default());
        Syscalls { tasks, counts }
    }
}

/// The system calls counted by name; `all` is every system call.
const COUNTED: [&str; 3] = ["read", "openat", "statx"];

/// Whether `perf` can count system-call tracepoints here.
fn perf_counts_syscalls(perf: &Path) -> bool {
    Command::new(perf)
        .args([
            "stat",
            "-x",
            ",",
            "-e",
            "raw_syscalls:sys_enter",
            "--",
            "true",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `perf stat -x,` output: `count,unit,event,...` lines, counts by
/// system call name (`all` for `raw_syscalls:sys_enter`).
fn parse_perf_stat(text: &str) -> HashMap<String, u64> {
    let mut counts = HashMap::new();
    for line in text.lines() {
        let cols: Vec<&str> = line.split(',').collect();
        let (Some(count), Some(event)) = (cols.first(), cols.get(2)) else {
            continue;
        };
        let Ok(count) = count.trim().parse::<u64>() else {
            continue;
        };
        let name = match event.trim() {
            "raw_syscalls:sys_enter" => "all",
            other => match other.strip_prefix("syscalls:sys_enter_") {
                Some(name) => name,
                None => continue,
            },
        };
        counts.insert(name.to_owned(), count);
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
        self.per_task("all")
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
