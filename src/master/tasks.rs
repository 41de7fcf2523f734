//! Tasks: accepting offers and launching (LAUNCH, LAUNCH_GROUP), killing,
//! status updates from agents and acknowledgements from schedulers,
//! reconciliation, and the one path by which the master itself ends a task
//! (`Core::end_task`). Reconciliation answers are a pure function at the
//! bottom; launch validation is in `validation.rs`.

use std::collections::BTreeSet;

use actors::Pid;
use wire::agent::{
    ExecutorToFramework, ExitedExecutor, FrameworkToExecutor, KillTask, RunTask, RunTaskGroup,
    StatusUpdateAcknowledgement, StatusUpdateMessage,
};
use wire::ids::{AgentId, ExecutorId, FrameworkId, TaskId};
use wire::mesos::{ExecutorInfo, Operation, Task, TaskInfo, TaskStatus};
use wire::resources::Resources;
use wire::scheduler::{Accept, Acknowledge, Kill, Reconcile, SendFrameworkMessage};
use wire::task::{Reason, Source, TaskState};

use super::core::Core;
use super::effects::{AllocatorCall, Effects, ToAgent, ToScheduler};
use super::operator::OperatorEvent;
use super::state::{FrameworkRecord, State};
use super::validation::{validate_task, validate_task_group, Refusal};

/// How the master ends a task it decided is over (its agent or framework
/// is gone, or it was refused).
pub(super) struct Ending<'a> {
    /// The state to report; partition-unaware frameworks see TASK_LOST for
    /// the states they do not know.
    pub state: TaskState,
    pub reason: Reason,
    pub message: &'a str,
    /// The framework is told (the status then names the task's executor).
    pub tell: bool,
    /// The task's resources go back to the allocator.
    pub recover: bool,
    /// The task was never held (refused at launch): only counted and told.
    pub refused: bool,
}

/// Where an accept launches: its framework, agent, the agent's pid, the
/// offers' role.
type Target<'a> = (&'a FrameworkRecord, &'a AgentId, &'a Pid, &'a String);

/// What is left of the accepted offers, and the task ids launched so far.
type Budget<'a> = (&'a mut Resources, &'a mut BTreeSet<TaskId>);

impl Core {
    /// Ends a task: a non-terminal held task gets a master-generated
    /// terminal status (counted, recorded, and as `how` says told and its
    /// resources recovered), then leaves the framework's active tasks.
    pub(super) fn end_task(
        &mut self,
        framework_id: &FrameworkId,
        task_id: &TaskId,
        agent_id: Option<&AgentId>,
        how: &Ending<'_>,
        out: &mut Effects,
    ) {
        // A refused task was never held (its id may even name another).
        let held = match how.refused {
            true => None,
            false => self.state.task(framework_id, task_id),
        };
        if !how.refused && held.is_none_or(|t| t.state.is_terminal()) {
            let limit = self.flags.max_completed_tasks_per_framework;
            self.state.remove_task(framework_id, task_id, limit);
            return;
        }
        let aware = self
            .state
            .framework(framework_id)
            .is_some_and(|f| f.partition_aware());
        let mut status = master_status(
            task_id,
            agent_id,
            how.state.for_framework(aware),
            how.reason,
            how.message,
        );
        if how.tell {
            status.executor_id = held.and_then(|t| t.executor_id.clone());
        }
        let role = held.map(|t| t.role.clone());
        self.count_terminal(framework_id, status.state, &status);
        if !how.refused {
            let resources = self.state.update_task(framework_id, &status, None);
            self.task_updated(framework_id, &status, out);
            if let (true, Some(resources), Some(agent_id), Some(role)) =
                (how.recover, resources, agent_id, role)
            {
                out.allocator(AllocatorCall::Recover {
                    framework_id: framework_id.clone(),
                    agent_id: agent_id.clone(),
                    role,
                    resources,
                    refuse: None,
                });
            }
        }
        if how.tell {
            self.master_update(framework_id, status, out);
        }
        if how.refused {
            return;
        }
        // Tasks of an agent marked unreachable stay listed apart (as
        // TASK_LOST for a framework that is not partition-aware), since
        // the agent may come back with them.
        if how.state == TaskState::Unreachable {
            let limit = self.flags.max_unreachable_tasks_per_framework;
            self.state
                .remove_unreachable_task(framework_id, task_id, limit);
        } else {
            let limit = self.flags.max_completed_tasks_per_framework;
            self.state.remove_task(framework_id, task_id, limit);
        }
    }

    /// Operators hear of a status applied to a task (with the state the
    /// task is in now).
    fn task_updated(&self, framework_id: &FrameworkId, status: &TaskStatus, out: &mut Effects) {
        if let Some(task) = self.state.task(framework_id, &status.task_id) {
            out.operator(OperatorEvent::TaskUpdated {
                framework_id: framework_id.clone(),
                status: status.clone(),
                state: task.state,
            });
        }
    }

    /// Tells the framework about tasks the master refused to launch.
    fn refuse_tasks(
        &mut self,
        framework_id: &FrameworkId,
        tasks: &[TaskInfo],
        refusal: &Refusal,
        out: &mut Effects,
    ) {
        let how = Ending {
            state: refusal.state,
            reason: refusal.reason,
            message: &refusal.message,
            tell: true,
            recover: false,
            refused: true,
        };
        for t in tasks {
            self.end_task(framework_id, &t.task_id, Some(&t.agent_id), &how, out);
        }
    }

    /// ACCEPT: every offer must exist, belong to the framework and share
    /// one agent; then its operations launch in order and what is left of
    /// the offers goes back to the allocator (with the call's filter).
    pub fn accept(&mut self, msg: Accept, from: &Pid, out: &mut Effects) {
        self.count(|m| &m.messages_launch_tasks);
        let Some(framework) = self.framework_from(&msg.framework_id, from).cloned() else {
            self.dropped("Accept", from);
            return;
        };
        self.count_call(&msg.framework_id, "accept");
        let tasks: Vec<TaskInfo> = msg
            .operations
            .iter()
            .flat_map(|op| op.tasks().iter().cloned())
            .collect();
        let mut offers = Vec::new();
        let mut error = None;
        let mut seen = BTreeSet::new();
        for id in &msg.offer_ids {
            if !seen.insert(id.clone()) {
                error = Some(format!("Offer {id} appears more than once"));
                continue;
            }
            match self.state.offer(id) {
                None => error = Some(format!("Offer {id} is no longer valid")),
                Some(o) if o.framework_id != msg.framework_id => {
                    error = Some(format!("Offer {id} belongs to another framework"))
                }
                Some(o) => offers.push(o.clone()),
            }
        }
        if msg.offer_ids.is_empty() {
            error = Some("No offers given".into());
        }
        if let Some(first) = offers.first() {
            if offers.iter().any(|o| o.agent_id != first.agent_id) {
                error = Some("Offers are for different agents".into());
            }
        }
        let first = offers.first().map(|o| (o.agent_id.clone(), o.role.clone()));
        let (agent_id, role) = match (error, first) {
            (None, Some(first)) => first,
            (error, _) => {
                let error = error.unwrap_or_else(|| "No offers given".into());
                tracing::warn!(framework = %msg.framework_id, "refusing accept: {error}");
                for o in &offers {
                    self.rescind_offer(&o.id, false, out);
                }
                self.refuse_tasks(&msg.framework_id, &tasks, &dropped(error), out);
                return;
            }
        };
        if let Some(m) = self.state.framework_metrics(&msg.framework_id) {
            m.offers_accepted.add(offers.len() as u64);
        }
        let mut available = Resources::new();
        for o in &offers {
            self.use_offer(&o.id, out);
            available = available.plus(&o.resources);
        }
        let Some(agent_pid) = self
            .state
            .agent(&agent_id)
            .and_then(|a| a.pid().parse::<Pid>().ok())
        else {
            let gone = dropped("Agent is gone".into());
            self.refuse_tasks(&msg.framework_id, &tasks, &gone, out);
            return;
        };
        let mut launched = BTreeSet::new();
        let mut singles = Vec::new();
        for operation in msg.operations {
            match operation {
                Operation::Launch { task_infos } => singles.extend(task_infos),
                Operation::LaunchGroup {
                    executor,
                    task_group,
                } => {
                    // Earlier LAUNCHes of this accept go first, as Mesos
                    // applies operations in order.
                    self.launch_tasks(
                        std::mem::take(&mut singles),
                        (&framework, &agent_id, &agent_pid, &role),
                        (&mut available, &mut launched),
                        out,
                    );
                    self.launch_group(
                        executor,
                        task_group,
                        (&framework, &agent_id, &agent_pid, &role),
                        (&mut available, &mut launched),
                        out,
                    );
                }
                Operation::Resources {
                    id,
                    kind,
                    resources,
                } => {
                    self.launch_tasks(
                        std::mem::take(&mut singles),
                        (&framework, &agent_id, &agent_pid, &role),
                        (&mut available, &mut launched),
                        out,
                    );
                    let op = super::operations::AcceptedOp {
                        framework: &framework,
                        agent_id: &agent_id,
                        role: &role,
                        id,
                        kind,
                        resources,
                    };
                    self.accept_resource_op(op, &mut available, out);
                }
            }
        }
        self.launch_tasks(
            singles,
            (&framework, &agent_id, &agent_pid, &role),
            (&mut available, &mut launched),
            out,
        );
        out.allocator(AllocatorCall::Recover {
            framework_id: msg.framework_id.clone(),
            agent_id,
            role,
            resources: available,
            refuse: crate::allocator::refuse_from_seconds(msg.filters.refuse_seconds),
        });
    }

    /// LAUNCH: each task is validated and sent on its own.
    fn launch_tasks(
        &mut self,
        tasks: Vec<TaskInfo>,
        (framework, agent_id, agent_pid, role): Target<'_>,
        (available, launched): Budget<'_>,
        out: &mut Effects,
    ) {
        let framework_id = &framework.id;
        for task in tasks {
            let record = self
                .state
                .framework(framework_id)
                .cloned()
                .unwrap_or(framework.clone());
            match validate_task(&task, &record, agent_id, available, launched) {
                Err(refusal) => {
                    tracing::warn!(framework = %framework_id, task = %task.task_id, "refusing task: {}", refusal.message);
                    self.refuse_tasks(framework_id, std::slice::from_ref(&task), &refusal, out);
                }
                Ok(()) => {
                    let mut used = task.resources.clone();
                    if let Some(e) = &task.executor {
                        used = used.plus(&e.resources);
                    }
                    *available = available.minus(&used);
                    launched.insert(task.task_id.clone());
                    // A command task's executor is named after it.
                    let executor_id = task.executor.as_ref().map_or_else(
                        || ExecutorId::new(task.task_id.value.clone()),
                        |e| e.executor_id.clone(),
                    );
                    self.state.add_task(Task::staging(
                        &task,
                        framework_id,
                        agent_id,
                        &executor_id,
                        used,
                        role,
                    ));
                    if let Some(e) = &task.executor {
                        self.state.add_executor(framework_id, agent_id, e.clone());
                    }
                    out.operator(OperatorEvent::TaskAdded {
                        framework_id: framework_id.clone(),
                        task_id: task.task_id.clone(),
                    });
                    tracing::info!(framework = %framework_id, task = %task.task_id, agent = %agent_id, "launching task");
                    out.to_agent(
                        agent_pid.clone(),
                        ToAgent::RunTask(Box::new(RunTask {
                            framework: framework.info.clone(),
                            framework_pid: framework.pid.clone(),
                            task,
                        })),
                    );
                }
            }
        }
    }

    /// LAUNCH_GROUP: the group is validated as one; valid, its tasks are
    /// STAGING and the agent gets them in one `RunTaskGroup`; invalid,
    /// every task of it is TASK_ERROR.
    fn launch_group(
        &mut self,
        mut executor: ExecutorInfo,
        tasks: Vec<TaskInfo>,
        (framework, agent_id, agent_pid, role): Target<'_>,
        (available, launched): Budget<'_>,
        out: &mut Effects,
    ) {
        let framework_id = &framework.id;
        let record = self
            .state
            .framework(framework_id)
            .cloned()
            .unwrap_or(framework.clone());
        let executor_running = record.tasks().values().any(|t| {
            &t.agent_id == agent_id
                && t.executor_id.as_ref() == Some(&executor.executor_id)
                && !t.state.is_terminal()
        });
        let checked = tasks
            .iter()
            .find(|t| launched.contains(&t.task_id))
            .map(|t| Refusal {
                state: TaskState::Error,
                reason: Reason::TaskGroupInvalid,
                message: format!("Task has duplicate ID: {}", t.task_id),
            })
            .map_or_else(
                || {
                    validate_task_group(
                        &executor,
                        &tasks,
                        &record,
                        agent_id,
                        available,
                        executor_running,
                    )
                },
                Err,
            );
        if let Err(refusal) = checked {
            tracing::warn!(framework = %framework_id, executor = %executor.executor_id, "refusing task group: {}", refusal.message);
            self.refuse_tasks(framework_id, &tasks, &refusal, out);
            return;
        }
        executor.framework_id = Some(framework_id.clone());
        // The executor's resources are accounted with the group's first
        // task, so they come back when the tasks are gone.
        let mut executor_resources = (!executor_running).then(|| executor.resources.clone());
        for task in &tasks {
            let mut used = task.resources.clone();
            if let Some(e) = executor_resources.take() {
                used = used.plus(&e);
            }
            *available = available.minus(&used);
            launched.insert(task.task_id.clone());
            self.state.add_task(Task::staging(
                task,
                framework_id,
                agent_id,
                &executor.executor_id,
                used,
                role,
            ));
            out.operator(OperatorEvent::TaskAdded {
                framework_id: framework_id.clone(),
                task_id: task.task_id.clone(),
            });
        }
        let ids: Vec<String> = tasks.iter().map(|t| t.task_id.value.clone()).collect();
        self.state
            .add_executor(framework_id, agent_id, executor.clone());
        tracing::info!(framework = %framework_id, executor = %executor.executor_id, agent = %agent_id, tasks = ?ids, "launching task group");
        out.to_agent(
            agent_pid.clone(),
            ToAgent::RunTaskGroup(Box::new(RunTaskGroup {
                framework: framework.info.clone(),
                framework_pid: framework.pid.clone(),
                executor,
                tasks,
            })),
        );
    }

    /// KILL: the agent running the task is told; an unknown task is
    /// answered as explicit reconciliation would.
    pub fn kill(&mut self, msg: Kill, from: &Pid, out: &mut Effects) {
        self.count(|m| &m.messages_kill_task);
        let Some(framework) = self.framework_from(&msg.framework_id, from) else {
            self.dropped("Kill", from);
            return;
        };
        framework.metrics.call("kill");
        match framework.tasks().get(&msg.task_id) {
            Some(task) => {
                let agent = task.agent_id.clone();
                tracing::info!(framework = %msg.framework_id, task = %msg.task_id, "killing task");
                self.to_agent(
                    &agent,
                    ToAgent::KillTask(KillTask {
                        framework_id: msg.framework_id,
                        task_id: msg.task_id,
                        grace_period: None,
                    }),
                    out,
                );
            }
            None => {
                let status =
                    reconcile_one(&self.state, framework, &msg.task_id, msg.agent_id.as_ref());
                if let Some(status) = status {
                    self.master_update(&msg.framework_id, status, out);
                }
            }
        }
    }

    /// A status update from the agent running the task: recorded (its
    /// resources recovered once terminal) and relayed to the framework.
    pub fn status_update(&mut self, msg: StatusUpdateMessage, from: &Pid, out: &mut Effects) {
        self.count(|m| &m.messages_status_update);
        let update = msg.update;
        let from_text = from.to_string();
        let agent_ok = update
            .agent_id
            .as_ref()
            .is_some_and(|id| self.is_agent(id, from));
        let role = self
            .state
            .task(&update.framework_id, &update.status.task_id)
            .map(|t| t.role.clone());
        let Some(role) = role.filter(|_| agent_ok) else {
            self.count(|m| &m.invalid_status_updates);
            tracing::warn!(%from, task = %update.status.task_id, framework = %update.framework_id,
                "ignoring status update from an unknown agent or for an unknown task");
            return;
        };
        self.count(|m| &m.valid_status_updates);
        let latest = update.latest_state.unwrap_or(update.status.state);
        let mut effective = update.status.clone();
        effective.state = latest;
        let recovered =
            self.state
                .update_task(&update.framework_id, &effective, update.uuid.as_ref());
        self.task_updated(&update.framework_id, &update.status, out);
        if let (Some(resources), Some(agent)) = (recovered, update.agent_id.as_ref()) {
            self.count_terminal(&update.framework_id, latest, &update.status);
            out.allocator(AllocatorCall::Recover {
                framework_id: update.framework_id.clone(),
                agent_id: agent.clone(),
                role,
                resources,
                refuse: None,
            });
        }
        // Keep the real update's status for the framework; record state.
        self.state.set_status_update_state(
            &update.framework_id,
            &update.status.task_id,
            update.status.state,
        );
        let framework_id = update.framework_id.clone();
        self.to_framework(
            &framework_id,
            ToScheduler::Update(StatusUpdateMessage {
                update,
                pid: Some(from_text),
            }),
            out,
        );
    }

    /// ACKNOWLEDGE: relayed to the agent; a task whose terminal update is
    /// acknowledged is done.
    pub fn acknowledge(&mut self, msg: Acknowledge, from: &Pid, out: &mut Effects) {
        self.count(|m| &m.messages_status_update_acknowledgement);
        let Some(framework) = self.framework_from(&msg.framework_id, from) else {
            self.dropped("Acknowledge", from);
            return;
        };
        framework.metrics.call("acknowledge");
        let Some(task) = framework.tasks().get(&msg.task_id) else {
            self.count(|m| &m.invalid_status_update_acknowledgements);
            return;
        };
        let terminal_acked = task.status_update_state.is_some_and(TaskState::is_terminal)
            && task.status_update_uuid.as_ref() == Some(&msg.uuid);
        self.count(|m| &m.valid_status_update_acknowledgements);
        self.to_agent(
            &msg.agent_id,
            ToAgent::Acknowledge(StatusUpdateAcknowledgement {
                agent_id: msg.agent_id.clone(),
                framework_id: msg.framework_id.clone(),
                task_id: msg.task_id.clone(),
                uuid: msg.uuid,
            }),
            out,
        );
        if terminal_acked {
            let limit = self.flags.max_completed_tasks_per_framework;
            self.state
                .remove_task(&msg.framework_id, &msg.task_id, limit);
        }
    }

    /// RECONCILE: the latest known state of the named tasks (or of all the
    /// framework's tasks), as master-generated updates.
    pub fn reconcile(&mut self, msg: Reconcile, from: &Pid, out: &mut Effects) {
        self.count(|m| &m.messages_reconcile_tasks);
        let Some(framework) = self.framework_from(&msg.framework_id, from) else {
            self.dropped("Reconcile", from);
            return;
        };
        framework.metrics.call("reconcile");
        let statuses: Vec<TaskStatus> = if msg.tasks.is_empty() {
            framework
                .tasks()
                .values()
                .filter_map(|t| {
                    reconcile_one(&self.state, framework, &t.task_id, Some(&t.agent_id))
                })
                .collect()
        } else {
            msg.tasks
                .iter()
                .filter_map(|(task, agent)| {
                    reconcile_one(&self.state, framework, task, agent.as_ref())
                })
                .collect()
        };
        for status in statuses {
            self.master_update(&msg.framework_id, status, out);
        }
    }

    /// MESSAGE from a scheduler to one of its executors, through its agent.
    pub fn framework_message(&mut self, msg: SendFrameworkMessage, from: &Pid, out: &mut Effects) {
        if self.framework_from(&msg.framework_id, from).is_none() {
            self.count(|m| &m.invalid_framework_to_executor_messages);
            self.dropped("SendFrameworkMessage", from);
            return;
        }
        self.count_call(&msg.framework_id, "message");
        self.count(|m| &m.valid_framework_to_executor_messages);
        self.to_agent(
            &msg.agent_id.clone(),
            ToAgent::FrameworkToExecutor(FrameworkToExecutor {
                agent_id: msg.agent_id,
                framework_id: msg.framework_id,
                executor_id: msg.executor_id,
                data: msg.data,
            }),
            out,
        );
    }

    /// A message from an executor to its framework, through its agent.
    pub fn executor_message(&mut self, msg: ExecutorToFramework, from: &Pid, out: &mut Effects) {
        if !self.is_agent(&msg.agent_id, from) {
            self.count(|m| &m.invalid_executor_to_framework_messages);
            self.dropped("ExecutorToFramework", from);
            return;
        }
        self.count(|m| &m.valid_executor_to_framework_messages);
        let framework_id = msg.framework_id.clone();
        self.to_framework(&framework_id, ToScheduler::Message(msg), out);
    }

    /// An executor exited on its agent: its framework is told.
    pub fn executor_exited(&mut self, msg: ExitedExecutor, from: &Pid, out: &mut Effects) {
        if !self.is_agent(&msg.agent_id, from) {
            self.dropped("ExitedExecutor", from);
            return;
        }
        let framework_id = msg.framework_id.clone();
        self.state
            .remove_executor(&framework_id, &msg.agent_id, &msg.executor_id);
        self.to_framework(&framework_id, ToScheduler::ExecutorExited(msg), out);
    }
}

/// A refusal of a whole accept (bad offers, gone agent).
fn dropped(message: String) -> Refusal {
    Refusal {
        state: TaskState::Dropped,
        reason: Reason::InvalidOffers,
        message,
    }
}

/// A status the master generates (no uuid: it is never acknowledged).
pub fn master_status(
    task_id: &TaskId,
    agent_id: Option<&AgentId>,
    state: TaskState,
    reason: Reason,
    message: &str,
) -> TaskStatus {
    let mut status = TaskStatus::new(task_id.clone(), state);
    status.source = Some(Source::Master);
    status.reason = Some(reason);
    status.message = Some(message.to_owned());
    status.agent_id = agent_id.cloned();
    status
}

/// The answer to explicit reconciliation of one task (Mesos's rules): the
/// latest state if known; no answer while its agent (or, without an agent,
/// any agent) was admitted before this master's election and has not
/// re-registered yet, since the task may well be running there; TASK_GONE
/// if the agent is registered but does not run it; TASK_UNREACHABLE if the
/// agent is unreachable; TASK_UNKNOWN if the agent is unknown.
/// Non-partition-aware frameworks see TASK_LOST for the last three.
pub fn reconcile_one(
    state: &State,
    framework: &FrameworkRecord,
    task_id: &TaskId,
    agent_id: Option<&AgentId>,
) -> Option<TaskStatus> {
    if let Some(task) = framework.tasks().get(task_id) {
        let mut status = master_status(
            task_id,
            Some(&task.agent_id),
            task.state,
            Reason::Reconciliation,
            "Reconciliation: Latest task state",
        );
        status.executor_id = task.executor_id.clone();
        return Some(status);
    }
    let transitioning = match agent_id {
        Some(a) => state.recovered().contains_key(a),
        None => !state.recovered().is_empty(),
    };
    if transitioning {
        return None;
    }
    let aware = framework.partition_aware();
    let (found, message) = match agent_id {
        Some(a) if state.agents().contains_key(a) => (
            TaskState::Gone,
            "Reconciliation: Task is unknown to the agent",
        ),
        Some(a) if state.unreachable().contains_key(a) => (
            TaskState::Unreachable,
            "Reconciliation: Task is unreachable",
        ),
        _ => (TaskState::Unknown, "Reconciliation: Task is unknown"),
    };
    Some(master_status(
        task_id,
        agent_id,
        found.for_framework(aware),
        Reason::Reconciliation,
        message,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::master::state::tests::{agent, framework, task};
    use wire::mesos::capability;

    #[test]
    fn reconciliation_answers_follow_mesos_rules() {
        let mut state = State::new("m");
        let known_agent = AgentId::new("m-S0");
        let gone_agent = AgentId::new("m-S9");
        state.mark_unreachable(gone_agent.clone(), 1.0);
        state.add_agent(agent(&known_agent));
        let t = TaskId::new("t");
        for (aware, agent, expected) in [
            (true, Some(&known_agent), TaskState::Gone),
            (true, Some(&gone_agent), TaskState::Unreachable),
            (true, None, TaskState::Unknown),
            (false, Some(&known_agent), TaskState::Lost),
            (false, Some(&gone_agent), TaskState::Lost),
            (false, None, TaskState::Lost),
        ] {
            let f = framework(aware);
            let status = reconcile_one(&state, &f, &t, agent).expect("an answer");
            assert_eq!(status.state, expected, "aware={aware} agent={agent:?}");
            assert_eq!(status.reason, Some(Reason::Reconciliation));
            assert_eq!(status.uuid, None);
        }
        // An agent admitted before this master's election that has not
        // re-registered yet: no answer about its tasks, nor about tasks
        // named without an agent, until it is back or unreachable.
        let recovered = AgentId::new("m-S5");
        state.add_recovered([(recovered.clone(), agent(&recovered).info)]);
        let f = framework(true);
        assert_eq!(reconcile_one(&state, &f, &t, Some(&recovered)), None);
        assert_eq!(reconcile_one(&state, &f, &t, None), None);
        let answer = reconcile_one(&state, &f, &t, Some(&known_agent)).map(|s| s.state);
        assert_eq!(answer, Some(TaskState::Gone));
    }

    use crate::master::core::fixture::{admit, core, scheduler_pid, subscribe, told_states};
    use crate::master::effects::Effect;
    use wire::mesos::Filters;

    fn launch(framework: &FrameworkId, offer: wire::ids::OfferId, tasks: Vec<TaskInfo>) -> Accept {
        Accept {
            framework_id: framework.clone(),
            offer_ids: vec![offer],
            operations: vec![Operation::Launch { task_infos: tasks }],
            filters: Filters {
                refuse_seconds: 5.0,
            },
        }
    }

    /// A core with one agent, one framework and one offer of the agent to it.
    fn offered() -> (Core, AgentId, FrameworkId, wire::ids::OfferId) {
        let mut core = core(|_| {});
        let agent = admit(&mut core, 1);
        let framework = subscribe(&mut core, 1, |_| {});
        let allocation = crate::allocator::Allocation {
            framework_id: framework.clone(),
            agent_id: agent.clone(),
            role: "*".into(),
            resources: Resources::parse("cpus:2;mem:256", "*").unwrap(),
        };
        core.allocated(vec![allocation], &mut Effects::default());
        let offer = core.state().offers().keys().next().cloned().unwrap();
        (core, agent, framework, offer)
    }

    fn on(agent: &AgentId, t: TaskInfo) -> TaskInfo {
        TaskInfo {
            agent_id: agent.clone(),
            ..t
        }
    }

    #[test]
    fn an_accepted_offer_launches_its_tasks_and_returns_the_rest() {
        let (mut core, agent, framework, offer) = offered();
        let mut out = Effects::default();
        let accept = launch(
            &framework,
            offer,
            vec![on(&agent, task("t", "cpus:1;mem:128"))],
        );
        core.accept(accept, &scheduler_pid(1), &mut out);
        assert!(core.state().offers().is_empty());
        let held = core
            .state()
            .task(&framework, &TaskId::new("t"))
            .map(|t| t.state);
        assert_eq!(held, Some(TaskState::Staging));
        assert!(out.iter().any(|e| matches!(
            e,
            Effect::ToAgent {
                message: ToAgent::RunTask(_),
                ..
            }
        )));
        let rest = out.iter().find_map(|e| match e {
            Effect::Allocator(AllocatorCall::Recover {
                resources, refuse, ..
            }) => Some((resources.scalar("cpus"), *refuse)),
            _ => None,
        });
        assert_eq!(rest, Some((1.0, Some(std::time::Duration::from_secs(5)))));
    }

    #[test]
    fn a_refused_task_reusing_a_held_id_leaves_the_held_task_alone() {
        let (mut core, agent, framework, offer) = offered();
        let accept = launch(
            &framework,
            offer,
            vec![on(&agent, task("t", "cpus:1;mem:128"))],
        );
        core.accept(accept, &scheduler_pid(1), &mut Effects::default());
        let allocation = crate::allocator::Allocation {
            framework_id: framework.clone(),
            agent_id: agent.clone(),
            role: "*".into(),
            resources: Resources::parse("cpus:1", "*").unwrap(),
        };
        core.allocated(vec![allocation], &mut Effects::default());
        let second = core.state().offers().keys().next().cloned().unwrap();
        let mut out = Effects::default();
        let again = launch(&framework, second, vec![on(&agent, task("t", "cpus:1"))]);
        core.accept(again, &scheduler_pid(1), &mut out);
        assert_eq!(told_states(&out), [("t".to_owned(), TaskState::Error)]);
        let held = core
            .state()
            .task(&framework, &TaskId::new("t"))
            .map(|t| t.state);
        assert_eq!(held, Some(TaskState::Staging));
    }

    #[test]
    fn an_accept_of_offers_it_does_not_hold_drops_its_tasks() {
        for (aware, told) in [(false, TaskState::Lost), (true, TaskState::Dropped)] {
            let mut core = core(|_| {});
            let agent = admit(&mut core, 1);
            let framework = subscribe(&mut core, 1, |f| {
                if aware {
                    f.capabilities.push(capability::PARTITION_AWARE.into());
                }
            });
            let mut out = Effects::default();
            let bogus = wire::ids::OfferId::new("nope");
            let accept = launch(&framework, bogus, vec![on(&agent, task("t", "cpus:1"))]);
            core.accept(accept, &scheduler_pid(1), &mut out);
            assert_eq!(told_states(&out), [("t".to_owned(), told)], "aware={aware}");
            assert!(core
                .state()
                .framework(&framework)
                .unwrap()
                .tasks()
                .is_empty());
        }
    }

    #[test]
    fn calls_from_another_pid_are_dropped() {
        let (mut core, agent, framework, offer) = offered();
        let mut out = Effects::default();
        let accept = launch(&framework, offer, vec![on(&agent, task("t", "cpus:1"))]);
        core.accept(accept, &scheduler_pid(9), &mut out);
        assert!(out.is_empty());
        assert_eq!(core.state().offers().len(), 1);
    }
}
