//! Launch decisions, I/O-free: which executor a task runs under (its own,
//! a command executor made for it, or the default executor of a task
//! group), and what a task looks like once handed to it.

use std::path::Path;

use wire::ids::{AgentId, ExecutorId, FrameworkId};
use wire::mesos::{CommandInfo, ExecutorInfo, Task, TaskInfo};

/// The executor a task runs under: its own, or a command executor made
/// for it (executor id = task id), as Mesos does. True for the latter.
pub fn executor_for(
    launcher_dir: &Path,
    task: &TaskInfo,
    framework_id: &FrameworkId,
) -> (ExecutorInfo, bool) {
    if let Some(e) = &task.executor {
        let mut e = e.clone();
        e.framework_id = Some(framework_id.clone());
        return (e, false);
    }
    // A DOCKER task's command runs in its container, under the Docker
    // executor (which the Docker containerizer tells how to reach Docker).
    let container = task.meta.container.clone();
    let name = match &container {
        Some(c) if c.is_docker() => crate::container::docker::DOCKER_EXECUTOR,
        _ => "mesos-executor",
    };
    let program = launcher_dir.join(name).display().to_string();
    let shown = task
        .command
        .as_ref()
        .and_then(|c| c.value.clone())
        .unwrap_or_default();
    let mut command = CommandInfo {
        value: Some(program.clone()),
        shell: false,
        arguments: vec![program],
        environment: Vec::new(),
        uris: Vec::new(),
        user: None,
    };
    if let Some(c) = &task.command {
        command.environment = c.environment.clone();
        // The command executor inherits the task's URIs (fetched into
        // the sandbox before it starts) and user.
        command.uris = c.uris.clone();
        command.user = c.user.clone();
    }
    (
        ExecutorInfo {
            executor_id: ExecutorId::new(task.task_id.value.clone()),
            framework_id: Some(framework_id.clone()),
            command,
            resources: wire::resources::Resources::new(),
            name: Some(format!(
                "Command Executor (Task: {}) (Command: sh -c '{shown}')",
                task.task_id
            )),
            shutdown_grace_period: None,
            container,
        },
        true,
    )
}

/// A task group's executor: a blank command (Mesos's `type: DEFAULT`)
/// becomes `<launcher_dir>/mesos-default-executor`, keeping the command's
/// environment, URIs and user.
pub fn group_executor(
    launcher_dir: &Path,
    executor: &ExecutorInfo,
    framework_id: &FrameworkId,
) -> ExecutorInfo {
    let mut executor = executor.clone();
    executor.framework_id = Some(framework_id.clone());
    if executor.is_default() {
        let program = launcher_dir
            .join("mesos-default-executor")
            .display()
            .to_string();
        executor.command.value = Some(program.clone());
        executor.command.shell = false;
        executor.command.arguments = vec![program];
        if executor.name.is_none() {
            executor.name = Some("Default Executor".into());
        }
    }
    executor
}

/// A task as handed to its executor, before any update.
pub fn staging_task(
    t: &TaskInfo,
    framework_id: &FrameworkId,
    agent_id: &AgentId,
    executor_id: &ExecutorId,
) -> Task {
    Task::staging(
        t,
        framework_id,
        agent_id,
        executor_id,
        t.resources.clone(),
        "*",
    )
}

/// Tasks and executors for the agent's tests, shared by its files' test
/// modules.
#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use wire::ids::TaskId;
    use wire::resources::Resources;

    pub(in crate::agent) fn task(id: &str, executor: Option<ExecutorInfo>) -> TaskInfo {
        TaskInfo {
            name: id.into(),
            task_id: TaskId::new(id),
            agent_id: AgentId::new("a"),
            resources: Resources::new(),
            command: executor.is_none().then(|| CommandInfo::shell("echo hi")),
            executor,
            data: None,
            kill_grace_period: None,
            meta: Default::default(),
        }
    }

    fn executor_info(id: &str) -> ExecutorInfo {
        ExecutorInfo {
            executor_id: ExecutorId::new(id),
            framework_id: None,
            command: CommandInfo::shell("sleep 1"),
            resources: Resources::new(),
            name: None,
            container: None,
            shutdown_grace_period: None,
        }
    }

    #[test]
    fn a_command_task_gets_a_command_executor_named_after_it() {
        let (e, command) = executor_for(
            Path::new("/libexec"),
            &task("t1", None),
            &FrameworkId::new("f"),
        );
        assert!(command);
        assert_eq!(e.executor_id.as_str(), "t1");
        assert_eq!(e.command.value.as_deref(), Some("/libexec/mesos-executor"));
        assert_eq!(e.framework_id, Some(FrameworkId::new("f")));
        let (own, command) = executor_for(
            Path::new("/libexec"),
            &task("t2", Some(executor_info("mine"))),
            &FrameworkId::new("f"),
        );
        assert!(!command);
        assert_eq!(own.executor_id.as_str(), "mine");

        let mut in_docker = task("t3", None);
        in_docker.meta.container = Some(wire::mesos::ContainerInfo {
            kind: wire::mesos::ContainerType::Docker,
            docker: Some(wire::mesos::DockerInfo::new("busybox")),
            volumes: Vec::new(),
            hostname: None,
            network_infos: Vec::new(),
        });
        let (e, command) = executor_for(Path::new("/libexec"), &in_docker, &FrameworkId::new("f"));
        assert!(command);
        assert_eq!(
            e.command.value.as_deref(),
            Some("/libexec/mesos-docker-executor")
        );
        assert_eq!(e.container, in_docker.meta.container);
    }

    #[test]
    fn a_blank_group_executor_becomes_the_default_executor() {
        let mut blank = executor_info("group");
        blank.command = CommandInfo {
            value: None,
            shell: false,
            arguments: Vec::new(),
            environment: vec![("A".into(), "1".into())],
            uris: Vec::new(),
            user: None,
        };
        let e = group_executor(Path::new("/libexec"), &blank, &FrameworkId::new("f"));
        assert_eq!(
            e.command.value.as_deref(),
            Some("/libexec/mesos-default-executor")
        );
        assert_eq!(e.name.as_deref(), Some("Default Executor"));
        assert_eq!(e.command.environment, blank.command.environment);
        let own = group_executor(
            Path::new("/libexec"),
            &executor_info("own"),
            &FrameworkId::new("f"),
        );
        assert_eq!(own.command.value.as_deref(), Some("sleep 1"));
        assert_eq!(own.framework_id, Some(FrameworkId::new("f")));
    }
}
