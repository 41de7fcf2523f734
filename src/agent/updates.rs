//! The agent's status update relay: an update made here (launch failures,
//! kills before launch, lost executors) or taken from an executor goes into
//! its task's stream in the status update manager
//! ([`super::status_updates`]), and the head of each stream goes to the
//! master (while registered) with a resend timer. The task's state on the
//! agent follows, and a task that becomes terminal is counted.
//!
//! Sends to the master: StatusUpdateMessage; to itself: RetryUpdate.

use actors::Cx;
use wire::agent::StatusUpdateMessage;
use wire::ids::{ExecutorId, FrameworkId, TaskId};
use wire::mesos::{StatusUpdate, TaskStatus};
use wire::task::{Source, TaskState};

use super::process::{Agent, RetryUpdate};
use super::state::TaskEnd;
use super::status_updates::Forward;

impl Agent {
    /// A new update about a task, from an executor or made here: into its
    /// stream, and to the master if it is the stream's head.
    pub(super) fn forward_update(&mut self, update: StatusUpdate, cx: &mut Cx<'_, Self>) {
        let terminating = self
            .frameworks
            .get(&update.framework_id)
            .is_some_and(|f| f.is_terminating());
        if terminating {
            // Kept, it would be retried forever and keep the framework
            // here: the master no longer knows it.
            tracing::info!(framework = %update.framework_id, task = %update.status.task_id,
                state = %update.status.state, "dropping a status update of a terminating framework");
            return;
        }
        let forward = self.updates.update(update);
        self.send_forward(forward, cx);
    }

    /// Carries out what the status update manager decided: the update to
    /// the master (while registered) and its resend timer.
    pub(super) fn send_forward(&mut self, forward: Forward, cx: &mut Cx<'_, Self>) {
        let Forward::Send(update, backoff) = forward else {
            return;
        };
        let update = *update;
        if let Some(uuid) = update.uuid.clone() {
            cx.delay(
                backoff,
                RetryUpdate {
                    framework_id: update.framework_id.clone(),
                    task_id: update.status.task_id.clone(),
                    uuid,
                },
            );
        }
        if self.is_registered() {
            let pid = cx.me().to_string();
            cx.send(
                &self.master,
                StatusUpdateMessage {
                    update,
                    pid: Some(pid),
                },
            );
        }
    }

    /// An update the agent itself makes (launch failures, lost executors).
    pub(super) fn agent_update(
        &mut self,
        (framework_id, executor_id, task_id): (&FrameworkId, Option<&ExecutorId>, &TaskId),
        end: &TaskEnd,
        cx: &mut Cx<'_, Self>,
    ) {
        let uuid = crate::random::uuid_v4().to_vec();
        let mut status = TaskStatus::new(task_id.clone(), end.state);
        status.source = Some(Source::Agent);
        status.reason = Some(end.reason);
        status.message = Some(end.message.clone());
        status.agent_id = self.agent_id().cloned();
        status.executor_id = executor_id.cloned();
        status.uuid = Some(uuid.clone());
        self.set_task_state(framework_id, executor_id, task_id, end.state);
        let update = StatusUpdate {
            framework_id: framework_id.clone(),
            executor_id: executor_id.cloned(),
            agent_id: self.agent_id().cloned(),
            timestamp: status.timestamp,
            status,
            uuid: Some(uuid),
            latest_state: Some(end.state),
        };
        self.forward_update(update, cx);
        if let Some(executor_id) = executor_id {
            self.checkpoint_executor(framework_id, executor_id);
        }
    }

    /// Ends each of `tasks` of an executor as the agent decided.
    pub(super) fn end_tasks(
        &mut self,
        (framework_id, executor_id): (&FrameworkId, &ExecutorId),
        tasks: &[TaskId],
        end: &TaskEnd,
        cx: &mut Cx<'_, Self>,
    ) {
        for task_id in tasks {
            self.agent_update((framework_id, Some(executor_id), task_id), end, cx);
        }
    }

    /// Records a task's new state; counts it when it becomes terminal.
    /// Tasks never handed to an executor (queued) are counted too.
    pub(super) fn set_task_state(
        &mut self,
        framework_id: &FrameworkId,
        executor_id: Option<&ExecutorId>,
        task_id: &TaskId,
        state: TaskState,
    ) {
        let newly_terminal = executor_id
            .and_then(|executor_id| {
                self.frameworks
                    .get_mut(framework_id)
                    .and_then(|f| f.executor_mut(executor_id))
                    .and_then(|e| e.set_task_state(task_id, state))
            })
            .unwrap_or(state.is_terminal());
        if newly_terminal {
            if let Some(m) = &self.metrics {
                m.task_terminated(state);
            }
        }
    }
}
