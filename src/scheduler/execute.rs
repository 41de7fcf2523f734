//! `mesos-execute`: run one command as a one-task framework (Mesos's
//! `src/cli/execute.cpp`). The binary in `src/bin/mesos-execute.rs` only
//! reads flags and runs the driver; this module owns the flags table, the
//! framework and task it builds, and the [`CommandScheduler`].
//!
//! The scheduler launches the task (id = `--name`, command run with
//! `sh -c`) on the first offer that holds `--resources`, declines every
//! other offer for an hour, prints each status update as Mesos's
//! `mesos-execute` does, and on the task's terminal update tears the
//! framework down. The exit code is 0 only for `TASK_FINISHED`.

use std::io::Write;

use serde::Serialize;
use wire::ids::{FrameworkId, TaskId};
use wire::mesos::{
    CommandInfo, ContainerInfo, ContainerType, DockerInfo, Filters, FrameworkInfo, MasterInfo,
    Offer, TaskInfo, TaskMeta, TaskStatus,
};
use wire::resources::{ResourceError, Resources};
use wire::task::TaskState;

use super::driver::{Scheduler, SchedulerDriver};
use super::offers::pick_resources;
use crate::flags::{FlagError, Flags, Spec};

/// The flags `mesos-execute` accepts.
pub const SPECS: &[Spec] = &[
    Spec::value(
        "master",
        None,
        "The master to register with: host:port or master@host:port",
    ),
    Spec::value("name", None, "Name for the command; also the task id"),
    Spec::value("command", None, "Shell command to launch (run with sh -c)"),
    Spec::value(
        "resources",
        Some("cpus:1;mem:128"),
        "Resources for the command",
    ),
    Spec::value(
        "framework_name",
        Some("mesos-execute instance"),
        "Name the framework registers with",
    ),
    Spec::value("role", Some("*"), "Role to use when registering"),
    Spec::value(
        "docker_image",
        None,
        "Run the command in a Docker container of this image (the agent needs --containerizers=docker,mesos)",
    ),
    Spec::boolean(
        "checkpoint",
        false,
        "Have the agent checkpoint the task, so it survives an agent restart",
    ),
];

/// Offers that cannot hold the task are refused for this long, so the
/// master offers them to others (Mesos's `mesos-execute` suppresses).
const REFUSE_SECONDS: f64 = 3600.0;

/// Why `mesos-execute` cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ExecuteError {
    #[error(transparent)]
    Flag(#[from] FlagError),
    #[error("Failed to load flag 'resources': {0}")]
    Resources(ResourceError),
    #[error("Failed to load flag 'resources': no resources given")]
    NoResources,
    #[error("Failed to find the current user: set USER")]
    NoUser,
}

/// What to run, and as which framework.
#[derive(Debug, Clone, PartialEq)]
pub struct Execute {
    pub master: String,
    pub name: String,
    pub command: String,
    pub resources: Resources,
    pub framework: FrameworkInfo,
    /// `--docker_image`: the task runs in a Docker container of it.
    pub docker_image: Option<String>,
}

impl Execute {
    /// Reads `SPECS` flags; `user` is who the task runs as.
    pub fn from_flags(flags: &Flags, user: Option<String>) -> Result<Execute, ExecuteError> {
        let master = flags.string("master")?;
        let name = flags.string("name")?;
        let command = flags.string("command")?;
        let role = flags.string("role")?;
        let resources =
            Resources::parse(&flags.string("resources")?, "*").map_err(ExecuteError::Resources)?;
        if resources.is_empty() {
            return Err(ExecuteError::NoResources);
        }
        let user = user.ok_or(ExecuteError::NoUser)?;
        let mut framework = FrameworkInfo::new(&user, &flags.string("framework_name")?);
        framework.roles = vec![role];
        framework.checkpoint = flags.boolean("checkpoint")?;
        let docker_image = flags.get("docker_image").map(str::to_owned);
        if docker_image.as_deref().is_some_and(|i| i.trim().is_empty()) {
            return Err(ExecuteError::Flag(FlagError::Bad {
                name: "docker_image".into(),
                reason: "must not be empty".into(),
            }));
        }
        Ok(Execute {
            master,
            name,
            command,
            resources,
            framework,
            docker_image,
        })
    }
}

/// The one-task scheduler.
pub struct CommandScheduler {
    execute: Execute,
    /// Set once the task went out in an Accept; later offers are declined.
    launched: bool,
    /// The task's terminal state, once it has one.
    outcome: Option<TaskState>,
    /// Where the user-facing lines go (stdout in the binary).
    out: Box<dyn Write + Send>,
}

impl CommandScheduler {
    pub fn new(execute: Execute, out: Box<dyn Write + Send>) -> CommandScheduler {
        CommandScheduler {
            execute,
            launched: false,
            outcome: None,
            out,
        }
    }

    /// The task's terminal state, if it reached one.
    pub fn outcome(&self) -> Option<TaskState> {
        self.outcome
    }

    /// 0 for `TASK_FINISHED`, 1 for any other ending.
    pub fn exit_code(&self) -> u8 {
        match self.outcome {
            Some(TaskState::Finished) => 0,
            _ => 1,
        }
    }

    fn task(&self, offer: &Offer, resources: Resources) -> TaskInfo {
        TaskInfo {
            name: self.execute.name.clone(),
            task_id: TaskId::new(self.execute.name.as_str()),
            agent_id: offer.agent_id.clone(),
            resources,
            command: Some(CommandInfo::shell(&self.execute.command)),
            executor: None,
            data: None,
            kill_grace_period: None,
            meta: TaskMeta {
                container: self
                    .execute
                    .docker_image
                    .as_deref()
                    .map(|image| ContainerInfo {
                        kind: ContainerType::Docker,
                        docker: Some(DockerInfo::new(image)),
                        volumes: Vec::new(),
                        hostname: None,
                        network_infos: Vec::new(),
                    }),
                ..TaskMeta::default()
            },
        }
    }

    fn say(&mut self, line: std::fmt::Arguments<'_>) {
        // A closed stdout must not take the framework down with it.
        let _ = writeln!(self.out, "{line}");
        let _ = self.out.flush();
    }
}

/// The Mesos name of an enum value (`SOURCE_EXECUTOR`), as serialized.
fn mesos_name<T: Serialize + std::fmt::Debug>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => format!("{value:?}"),
    }
}

impl Scheduler for CommandScheduler {
    fn registered(&mut self, _: &mut SchedulerDriver, id: FrameworkId, _: MasterInfo) {
        self.say(format_args!("Subscribed with ID {id}"));
    }

    fn resource_offers(&mut self, driver: &mut SchedulerDriver, offers: Vec<Offer>) {
        let role = self.execute.framework.role().to_owned();
        for offer in offers {
            let fits = pick_resources(&offer.resources, &self.execute.resources, &role);
            match fits {
                Some(resources) if !self.launched => {
                    let task = self.task(&offer, resources);
                    driver.launch_tasks(vec![offer.id.clone()], vec![task], Filters::default());
                    self.launched = true;
                    let name = self.execute.name.clone();
                    self.say(format_args!(
                        "Submitted task '{name}' to agent '{}'",
                        offer.agent_id
                    ));
                    driver.suppress_offers();
                }
                _ => driver.decline_offer(
                    offer.id,
                    Filters {
                        refuse_seconds: REFUSE_SECONDS,
                    },
                ),
            }
        }
    }

    fn status_update(&mut self, driver: &mut SchedulerDriver, status: TaskStatus) {
        self.say(format_args!(
            "Received status update {} for task '{}'",
            status.state, status.task_id
        ));
        if let Some(message) = &status.message {
            self.say(format_args!("  message: '{message}'"));
        }
        if let Some(source) = &status.source {
            self.say(format_args!("  source: {}", mesos_name(source)));
        }
        if let Some(reason) = &status.reason {
            self.say(format_args!("  reason: {}", mesos_name(reason)));
        }
        if let Some(healthy) = status.healthy {
            self.say(format_args!("  healthy?: {healthy}"));
        }
        if status.task_id.as_str() == self.execute.name && status.state.is_terminal() {
            self.outcome = Some(status.state);
            driver.stop(false);
        }
    }

    fn error(&mut self, _: &mut SchedulerDriver, message: String) {
        self.say(format_args!("Received an ERROR event: {message}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flags::Outcome;

    fn load(args: &[&str]) -> Result<Execute, ExecuteError> {
        let flags = match Flags::load(SPECS, args.iter().map(|s| s.to_string()), Vec::new())? {
            Outcome::Run(f) => f,
            other => panic!("{other:?}"),
        };
        Execute::from_flags(&flags, Some("alice".into()))
    }

    #[test]
    fn flags_build_the_framework_and_the_command() {
        let e = load(&["--master=127.0.0.1:5050", "--name=hi", "--command=echo hi"]).unwrap();
        assert_eq!(e.master, "127.0.0.1:5050");
        assert_eq!(e.command, "echo hi");
        assert_eq!(
            e.resources,
            Resources::parse("cpus:1;mem:128", "*").unwrap()
        );
        assert_eq!(e.framework.name, "mesos-execute instance");
        assert_eq!(e.framework.user, "alice");
        assert_eq!(e.framework.roles, vec!["*".to_string()]);
        assert_eq!(e.framework.id, None);
        let e = load(&[
            "--master=m:1",
            "--name=n",
            "--command=c",
            "--resources=cpus:0.5",
            "--role=web",
            "--framework_name=mine",
            "--checkpoint",
        ])
        .unwrap();
        assert_eq!(e.resources, Resources::parse("cpus:0.5", "*").unwrap());
        assert_eq!(e.framework.role(), "web");
        assert_eq!(e.framework.name, "mine");
        assert!(e.framework.checkpoint);
        assert_eq!(e.docker_image, None);
        let e = load(&[
            "--master=m:1",
            "--name=n",
            "--command=c",
            "--docker_image=busybox:latest",
        ])
        .unwrap();
        assert_eq!(e.docker_image.as_deref(), Some("busybox:latest"));
    }

    #[test]
    fn missing_or_bad_flags_are_one_line_errors() {
        for (args, expected) in [
            (
                &["--name=n", "--command=c"][..],
                "Flag 'master' is required",
            ),
            (
                &["--master=m:1", "--command=c"][..],
                "Flag 'name' is required",
            ),
            (
                &["--master=m:1", "--name=n"][..],
                "Flag 'command' is required",
            ),
            (
                &[
                    "--master=m:1",
                    "--name=n",
                    "--command=c",
                    "--resources=cpus",
                ][..],
                "Failed to load flag 'resources'",
            ),
        ] {
            let err = load(args).unwrap_err().to_string();
            assert!(err.starts_with(expected), "{args:?}: {err}");
            assert!(!err.contains('\n'), "{err}");
        }
    }

    #[test]
    fn enum_values_print_with_their_mesos_names() {
        assert_eq!(mesos_name(&wire::task::Source::Executor), "SOURCE_EXECUTOR");
        assert_eq!(
            mesos_name(&wire::task::Reason::CommandExecutorFailed),
            "REASON_COMMAND_EXECUTOR_FAILED"
        );
    }
}
