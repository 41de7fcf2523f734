//! Launch validation (Mesos's task and task group validation): whether a
//! task of an ACCEPT, or a LAUNCH_GROUP as a whole, may run on what is
//! left of the accepted offers. Pure functions; `tasks.rs` acts on their
//! answer.

use std::collections::BTreeSet;

use wire::ids::{AgentId, TaskId};
use wire::mesos::{ExecutorInfo, TaskInfo};
use wire::resources::Resources;
use wire::task::{Reason, TaskState};

use super::state::FrameworkRecord;

/// Why a task in an accept was refused.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub state: TaskState,
    pub reason: Reason,
    pub message: String,
}

/// Checks one task against what is left of the accepted offers.
pub fn validate_task(
    task: &TaskInfo,
    framework: &FrameworkRecord,
    agent_id: &AgentId,
    available: &Resources,
    launched_now: &BTreeSet<TaskId>,
) -> Result<(), Refusal> {
    let invalid = |message: String| Refusal {
        state: TaskState::Error,
        reason: Reason::TaskInvalid,
        message,
    };
    if task.task_id.value.is_empty() {
        return Err(invalid("Task ID must not be empty".into()));
    }
    if framework.tasks().contains_key(&task.task_id) || launched_now.contains(&task.task_id) {
        return Err(invalid(format!("Task has duplicate ID: {}", task.task_id)));
    }
    if &task.agent_id != agent_id {
        return Err(invalid(format!(
            "Task uses agent {} but the offer is for agent {agent_id}",
            task.agent_id
        )));
    }
    match (&task.command, &task.executor) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                "Task should have at most one of CommandInfo or ExecutorInfo present".into(),
            ))
        }
        (None, None) => {
            return Err(invalid(
                "Task should have at least one of CommandInfo or ExecutorInfo present".into(),
            ))
        }
        (Some(c), None) if c.shell && c.value.as_deref().is_none_or(str::is_empty) => {
            return Err(invalid("Task's command has no value".into()))
        }
        (Some(c), None) if !c.shell && c.value.is_none() => {
            return Err(invalid("Task's command has no value".into()))
        }
        _ => {}
    }
    if task.resources.is_empty() {
        return Err(invalid("Task uses no resources".into()));
    }
    let mut needed = task.resources.clone();
    if let Some(e) = &task.executor {
        needed = needed.plus(&e.resources);
    }
    if !available.contains(&needed) {
        return Err(invalid(format!(
            "Task uses more resources {needed} than available {available}"
        )));
    }
    Ok(())
}

/// Checks a LAUNCH_GROUP (Mesos's task group validation): every task must
/// pass [`validate_task`] once the group's executor stands in for its own,
/// a task may name no other executor, a task needs a command to run under
/// the default executor, and the group with its executor (unless
/// `executor_running`) must fit `available`. Any error refuses the whole
/// group with REASON_TASK_GROUP_INVALID.
pub fn validate_task_group(
    executor: &ExecutorInfo,
    tasks: &[TaskInfo],
    framework: &FrameworkRecord,
    agent_id: &AgentId,
    available: &Resources,
    executor_running: bool,
) -> Result<(), Refusal> {
    let invalid = |message: String| Refusal {
        state: TaskState::Error,
        reason: Reason::TaskGroupInvalid,
        message,
    };
    if executor.executor_id.value.is_empty() {
        return Err(invalid("'ExecutorInfo.executor_id' must be set".into()));
    }
    if tasks.is_empty() {
        return Err(invalid("Task group has no tasks".into()));
    }
    let mut launched = BTreeSet::new();
    let mut total = Resources::new();
    for task in tasks {
        if let Some(own) = &task.executor {
            if own.executor_id != executor.executor_id || own.command != executor.command {
                return Err(invalid(format!(
                    "The executor '{}' set in task '{}' is different from executor '{}'",
                    own.executor_id, task.task_id, executor.executor_id
                )));
            }
        }
        if task.command.is_none() {
            return Err(invalid(format!(
                "Task '{}' of a task group must have a command",
                task.task_id
            )));
        }
        // The group's executor is accounted once, below.
        let mut alone = task.clone();
        alone.executor = None;
        validate_task(&alone, framework, agent_id, available, &launched)
            .map_err(|r| invalid(format!("Task '{}' is invalid: {}", task.task_id, r.message)))?;
        launched.insert(task.task_id.clone());
        total = total.plus(&task.resources);
    }
    if !executor_running {
        total = total.plus(&executor.resources);
    }
    if !available.contains(&total) {
        return Err(invalid(format!(
            "Total resources {total} required by task group and its executor are more than \
             available {available}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::master::state::tests::{framework, task};
    use wire::mesos::CommandInfo;

    #[test]
    fn launches_are_validated_against_the_offer() {
        let f = framework(false);
        let agent = AgentId::new("m-S0");
        let available = Resources::parse("cpus:1;mem:128", "*").unwrap();
        let none = BTreeSet::new();
        assert!(validate_task(&task("t", "cpus:1;mem:128"), &f, &agent, &available, &none).is_ok());
        let cases = [
            (task("t", "cpus:2"), "more resources"),
            (task("", "cpus:1"), "must not be empty"),
            (task("t", ""), "no resources"),
            (
                TaskInfo {
                    command: None,
                    ..task("t", "cpus:1")
                },
                "at least one",
            ),
            (
                TaskInfo {
                    command: Some(CommandInfo::shell("")),
                    ..task("t", "cpus:1")
                },
                "no value",
            ),
            (
                TaskInfo {
                    agent_id: AgentId::new("other"),
                    ..task("t", "cpus:1")
                },
                "but the offer is for agent",
            ),
        ];
        for (t, expected) in cases {
            let refusal = validate_task(&t, &f, &agent, &available, &none).unwrap_err();
            assert_eq!(refusal.state, TaskState::Error);
            assert_eq!(refusal.reason, Reason::TaskInvalid);
            assert!(
                refusal.message.contains(expected),
                "{}: {}",
                expected,
                refusal.message
            );
        }
        let launched: BTreeSet<TaskId> = [TaskId::new("t")].into();
        let dup =
            validate_task(&task("t", "cpus:1"), &f, &agent, &available, &launched).unwrap_err();
        assert!(dup.message.contains("duplicate"));
    }

    fn executor(id: &str, command: CommandInfo, resources: &str) -> ExecutorInfo {
        ExecutorInfo {
            executor_id: wire::ids::ExecutorId::new(id),
            framework_id: None,
            command,
            resources: Resources::parse(resources, "*").unwrap(),
            name: None,
            shutdown_grace_period: None,
            container: None,
        }
    }

    fn blank() -> CommandInfo {
        CommandInfo {
            value: None,
            shell: false,
            ..CommandInfo::shell("")
        }
    }

    #[test]
    fn task_groups_are_validated_as_a_whole() {
        let f = framework(false);
        let agent = AgentId::new("m-S0");
        let available = Resources::parse("cpus:2;mem:256", "*").unwrap();
        let pod = executor("pod", blank(), "cpus:0.5;mem:64");
        let group = [task("a", "cpus:0.5;mem:64"), task("b", "cpus:0.5;mem:64")];
        assert!(validate_task_group(&pod, &group, &f, &agent, &available, false).is_ok());
        // A task may name the group's own executor.
        let same = TaskInfo {
            executor: Some(pod.clone()),
            ..task("c", "cpus:0.5")
        };
        assert!(validate_task_group(&pod, &[same], &f, &agent, &available, false).is_ok());
        // The executor's resources count only if it is not running yet.
        let big = [task("a", "cpus:1;mem:64"), task("b", "cpus:1;mem:64")];
        assert!(validate_task_group(&pod, &big, &f, &agent, &available, true).is_ok());
        let other = executor("other", CommandInfo::shell("./run"), "cpus:0.1");
        let cases = [
            (pod.clone(), group.to_vec(), "", true),
            (
                executor("", blank(), "cpus:0.1"),
                group.to_vec(),
                "executor_id",
                false,
            ),
            (pod.clone(), Vec::new(), "no tasks", false),
            (
                pod.clone(),
                vec![
                    task("a", "cpus:0.5"),
                    TaskInfo {
                        executor: Some(other),
                        command: None,
                        ..task("b", "cpus:0.5")
                    },
                ],
                "is different from executor 'pod'",
                false,
            ),
            (
                pod.clone(),
                vec![TaskInfo {
                    command: None,
                    ..task("a", "cpus:0.5")
                }],
                "must have a command",
                false,
            ),
            (
                pod.clone(),
                vec![task("a", "cpus:0.5"), task("a", "cpus:0.5")],
                "duplicate ID",
                false,
            ),
            (
                pod.clone(),
                vec![TaskInfo {
                    agent_id: AgentId::new("other"),
                    ..task("a", "cpus:0.5")
                }],
                "but the offer is for agent",
                false,
            ),
            (pod.clone(), big.to_vec(), "more than available", false),
        ];
        for (e, tasks, expected, ok) in cases {
            let result = validate_task_group(&e, &tasks, &f, &agent, &available, false);
            if ok {
                assert!(result.is_ok(), "{result:?}");
                continue;
            }
            let refusal = result.unwrap_err();
            assert_eq!(refusal.state, TaskState::Error);
            assert_eq!(refusal.reason, Reason::TaskGroupInvalid);
            assert!(
                refusal.message.contains(expected),
                "{}: {}",
                expected,
                refusal.message
            );
        }
    }
}
