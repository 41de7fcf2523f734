//! A framework that plugs into a running cluster and runs N copies of a
//! command, as many per offer as fit (Mesos's `src/examples/test_framework.cpp`).
//! It exits 0 when every task finished, 1 if any ended otherwise.
//!
//! Against `mesos-local` (a master on 127.0.0.1:5050 and agents, in one
//! process), in two terminals:
//!
//! ```text
//! cargo run --bin mesos-local
//! cargo run --example test_framework -- --master 127.0.0.1:5050 --tasks 100
//! ```
//!
//! Flags (also read from `MESOS_<FLAG>`): `--master` (required), `--tasks`
//! (5), `--command` (`echo hello`), `--cpus` (0.1) and `--mem` (32) per task,
//! `--role` (`*`). `RUST_LOG=debug` shows the driver's messages.

use std::collections::BTreeSet;
use std::process::ExitCode;

use anyhow::{bail, Context};
use mesos::flags::{usage, Flags, Outcome, Spec};
use mesos::scheduler::{self, Scheduler, SchedulerDriver, Status};
use wire::ids::{FrameworkId, TaskId};
use wire::mesos::{CommandInfo, Filters, FrameworkInfo, MasterInfo, Offer, TaskInfo, TaskStatus};
use wire::resources::{Resource, Resources};
use wire::task::TaskState;

const SPECS: &[Spec] = &[
    Spec::value("master", None, "The master: host:port or master@host:port"),
    Spec::value("tasks", Some("5"), "How many tasks to run"),
    Spec::value(
        "command",
        Some("echo hello"),
        "Shell command each task runs",
    ),
    Spec::value("cpus", Some("0.1"), "CPUs per task"),
    Spec::value("mem", Some("32"), "Memory per task, in MB"),
    Spec::value("role", Some("*"), "Role to register in"),
];

/// Once every task is launched, offers are refused for this long.
const REFUSE_SECONDS: f64 = 3600.0;

struct TestFramework {
    total: usize,
    command: String,
    per_task: Resources,
    role: String,
    /// Tasks launched so far; task ids are 0..launched.
    launched: usize,
    /// Tasks that reached a terminal state, each counted once (an update
    /// can arrive twice when an acknowledgement is lost).
    done: BTreeSet<TaskId>,
    failed: usize,
}

impl TestFramework {
    fn succeeded(&self) -> bool {
        self.failed == 0 && self.done.len() == self.total
    }
}

impl Scheduler for TestFramework {
    fn registered(&mut self, _: &mut SchedulerDriver, id: FrameworkId, master: MasterInfo) {
        println!("Registered with master {} as framework {id}", master.pid);
    }

    fn reregistered(&mut self, _: &mut SchedulerDriver, master: MasterInfo) {
        println!("Re-registered with master {}", master.pid);
    }

    fn disconnected(&mut self, _: &mut SchedulerDriver) {
        println!("Disconnected from the master; registering again");
    }

    fn resource_offers(&mut self, driver: &mut SchedulerDriver, offers: Vec<Offer>) {
        for offer in offers {
            let mut left = offer.resources.clone();
            let mut tasks = Vec::new();
            while self.launched < self.total {
                let Some(resources) = scheduler::pick_resources(&left, &self.per_task, &self.role)
                else {
                    break;
                };
                left = left.minus(&resources);
                let id = self.launched.to_string();
                tasks.push(TaskInfo {
                    name: format!("test task {id}"),
                    task_id: TaskId::new(id),
                    agent_id: offer.agent_id.clone(),
                    resources,
                    command: Some(CommandInfo::shell(&self.command)),
                    executor: None,
                    data: None,
                    kill_grace_period: None,
                    meta: Default::default(),
                });
                self.launched += 1;
            }
            if tasks.is_empty() {
                let refuse_seconds = if self.launched == self.total {
                    REFUSE_SECONDS
                } else {
                    Filters::default().refuse_seconds
                };
                driver.decline_offer(offer.id, Filters { refuse_seconds });
                continue;
            }
            println!(
                "Launching {} task(s) on agent {} ({}/{} launched)",
                tasks.len(),
                offer.hostname,
                self.launched,
                self.total
            );
            driver.launch_tasks(vec![offer.id], tasks, Filters::default());
            if self.launched == self.total {
                driver.suppress_offers();
            }
        }
    }

    fn status_update(&mut self, driver: &mut SchedulerDriver, status: TaskStatus) {
        println!("Task {} is in state {}", status.task_id, status.state);
        if !status.state.is_terminal() || !self.done.insert(status.task_id.clone()) {
            return;
        }
        if status.state != TaskState::Finished {
            self.failed += 1;
            println!(
                "  task {} did not finish: {}",
                status.task_id,
                status.message.as_deref().unwrap_or("no message")
            );
        }
        println!("{}/{} tasks done", self.done.len(), self.total);
        if self.done.len() == self.total {
            driver.stop(false);
        }
    }

    fn error(&mut self, _: &mut SchedulerDriver, message: String) {
        eprintln!("Framework error: {message}");
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<ExitCode> {
    let flags = match Flags::load(SPECS, std::env::args().skip(1), std::env::vars())? {
        Outcome::Run(flags) => flags,
        Outcome::Help | Outcome::Version => {
            print!("{}", usage("test_framework", SPECS));
            return Ok(ExitCode::SUCCESS);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let master = flags.string("master")?;
    let total: usize = flags.parse("tasks")?.unwrap_or(5);
    let cpus: f64 = flags.parse("cpus")?.unwrap_or(0.1);
    let mem: f64 = flags.parse("mem")?.unwrap_or(32.0);
    if !(cpus > 0.0 && mem > 0.0) {
        bail!("--cpus and --mem must be positive");
    }
    let mut per_task = Resources::new();
    per_task.add(Resource::scalar("cpus", cpus))?;
    per_task.add(Resource::scalar("mem", mem))?;
    let role = flags.string("role")?;
    let user = scheduler::current_user().context("cannot tell the current user; set USER")?;
    let mut framework = FrameworkInfo::new(&user, "Test Framework (Rust)");
    framework.roles = vec![role.clone()];
    let test = TestFramework {
        total,
        command: flags.string("command")?,
        per_task,
        role,
        launched: 0,
        done: BTreeSet::new(),
        failed: 0,
    };
    if total == 0 {
        println!("Nothing to run");
        return Ok(ExitCode::SUCCESS);
    }
    let (status, test) = scheduler::run(&master, framework, test)?;
    println!(
        "{} of {} tasks finished, {} did not",
        test.done.len() - test.failed,
        test.total,
        test.failed
    );
    Ok(match status {
        Status::Stopped if test.succeeded() => ExitCode::SUCCESS,
        _ => ExitCode::FAILURE,
    })
}
