//! The agent's recovery (Mesos's `Slave::recover`): taking back what a
//! previous run checkpointed, watching the executors still alive, and
//! ending recovery once each re-registered or ran out of time. With
//! `--recover=cleanup` the agent shuts them down and exits instead.
//!
//! Receives from itself: ReregistrationTimeout. Sends to executors:
//! ReconnectExecutor; to the master (through the status update manager,
//! once registered): the updates it had not acknowledged.

use actors::{Cx, Handle, Pid};
use wire::executor::ReconnectExecutor;
use wire::ids::{AgentId, FrameworkId};
use wire::mesos::now_secs;
use wire::task::{Reason, TaskState};

use super::checkpoint::{CheckpointedState, ExecutorCheckpoint};
use super::containers::watch_executor;
use super::flags::Recover;
use super::process::{Agent, ExecutorExited, RegistrationRetry, ReregistrationTimeout};
use super::state::{ExecutorPhase, ExecutorRecord, HostedFramework, Lifecycle, TaskEnd};
use crate::container;
use crate::stop::StopReason;

impl Agent {
    /// Takes back what the previous run checkpointed: the agent id, the
    /// checkpointing frameworks, their executors (watched again if their
    /// process still runs) and unacknowledged status updates.
    pub(super) fn recover(&mut self, recovered: CheckpointedState, cx: &mut Cx<'_, Self>) {
        let Some(agent_id) = recovered.agent.id.clone() else {
            return;
        };
        tracing::info!(agent = %agent_id, frameworks = recovered.frameworks.len(),
            recover = ?self.flags.recover, "recovering the checkpointed state");
        self.info.id = Some(agent_id.clone());
        for framework in recovered.frameworks {
            let Some(framework_id) = framework.framework.info.id.clone() else {
                continue;
            };
            self.frameworks.insert(
                framework_id.clone(),
                HostedFramework::new(framework.framework.info, framework.framework.pid),
            );
            for executor in framework.executors {
                self.recover_executor(&framework_id, executor, &agent_id, cx);
            }
        }
        match self.flags.recover {
            Recover::Reconnect => {
                let timeout = self.flags.executor_reregistration_timeout;
                self.reregistration_timer = Some(cx.delay(timeout, ReregistrationTimeout));
            }
            Recover::Cleanup => {}
        }
        self.check_recovery(cx);
    }

    fn recover_executor(
        &mut self,
        framework_id: &FrameworkId,
        mut executor: ExecutorCheckpoint,
        agent_id: &AgentId,
        cx: &mut Cx<'_, Self>,
    ) {
        let executor_id = executor.info.executor_id.clone();
        for update in std::mem::take(&mut executor.updates) {
            let forward = self.updates.update(update);
            self.send_forward(forward, cx);
        }
        // The same process: its pid names a process started when the
        // checkpointed one was (a recycled pid would not match).
        let same_process = |pid: i32| {
            executor.os_start_time.is_some()
                && container::process_start_time(pid) == executor.os_start_time
        };
        let container = match executor.os_pid {
            Some(pid) if !executor.terminated && same_process(pid) => self
                .containerizer
                .recover(
                    &executor.container_id,
                    pid,
                    executor.info.container.as_ref(),
                )
                .map_err(|e| {
                    tracing::warn!(executor = %executor_id, "cannot watch: {e}");
                    if let Some(m) = &self.metrics {
                        m.recovery_errors.inc();
                    }
                })
                .ok(),
            _ => None,
        };
        let pid = executor
            .libprocess_pid
            .as_deref()
            .and_then(|p| p.parse::<Pid>().ok());
        let (container_id, terminated) = (executor.container_id.clone(), executor.terminated);
        let record = ExecutorRecord::recovered(executor, container.clone(), pid.clone());
        if let Some(f) = self.frameworks.get_mut(framework_id) {
            f.add_executor(record);
        }
        match container {
            Some(container) => {
                tracing::info!(framework = %framework_id, executor = %executor_id,
                    os_pid = container.pid(), "recovered a live executor");
                watch_executor(
                    container,
                    (framework_id.clone(), executor_id.clone(), container_id),
                    cx,
                );
                match (self.flags.recover, pid) {
                    (Recover::Reconnect, Some(pid)) => {
                        tracing::info!(executor = %executor_id, %pid, "sending a reconnect request to the executor");
                        let reconnect = ReconnectExecutor {
                            agent_id: agent_id.clone(),
                        };
                        cx.send(&pid, reconnect);
                    }
                    (Recover::Reconnect, None) => {
                        tracing::info!(executor = %executor_id,
                            "waiting for the executor to subscribe again (a v1 executor, or one that never registered)");
                    }
                    (Recover::Cleanup, _) => {
                        tracing::info!(executor = %executor_id, "shutting down a recovered executor (--recover=cleanup)");
                        self.shutdown_executor(framework_id, &executor_id, cx);
                    }
                }
            }
            None if !terminated => {
                tracing::info!(framework = %framework_id, executor = %executor_id,
                    "the executor's process is gone");
                self.executor_terminated(
                    ExecutorExited {
                        framework_id: framework_id.clone(),
                        executor_id,
                        container_id,
                        status: -1,
                        message: "the executor was gone when the agent recovered".into(),
                        limitation: None,
                    },
                    cx,
                );
            }
            None => {}
        }
    }

    /// Recovery is over: `slave/recovery_time_secs` says how long it took.
    /// Has the containerizer kill what an earlier agent process launched
    /// and this one did not take back. Runs before the agent registers,
    /// so nothing launched since can be mistaken for an orphan.
    pub(super) fn kill_orphans(&self) {
        let known: Vec<_> = self
            .frameworks
            .values()
            .flat_map(|f| f.executors().values())
            .filter(|e| e.container().is_some())
            .map(|e| e.container_id().clone())
            .collect();
        self.containerizer.kill_orphans(&known);
    }

    pub(super) fn recovered_now(&self) {
        if let Some(m) = &self.metrics {
            m.recovery_time_secs
                .set((now_secs() - self.start_time).max(0.0));
        }
    }

    /// Ends recovery once no recovered executor is still expected to
    /// re-register: the agent registers with the master then. With
    /// `--recover=cleanup` the agent exits once every executor is gone.
    pub(super) fn check_recovery(&mut self, cx: &mut Cx<'_, Self>) {
        if !self.is_recovering() {
            return;
        }
        let executors = || {
            self.frameworks
                .values()
                .flat_map(|f| f.executors().values())
        };
        match self.flags.recover {
            Recover::Cleanup => {
                if executors().all(|e| e.container().is_none()) {
                    tracing::info!("every recovered executor is gone (--recover=cleanup)");
                    self.terminate(StopReason::CleanedUp, cx);
                }
            }
            Recover::Reconnect => {
                if executors().any(|e| e.phase() == ExecutorPhase::Registering) {
                    return;
                }
                self.lifecycle = Lifecycle::Disconnected {
                    backoff: self.flags.registration_backoff_factor,
                };
                if let Some(t) = self.reregistration_timer.take() {
                    cx.cancel(t);
                }
                tracing::info!("finished recovery; registering with the master");
                self.recovered_now();
                let first = crate::random::upto(self.flags.registration_backoff_factor);
                cx.delay(first, RegistrationRetry);
            }
        }
    }
}

impl Handle<ReregistrationTimeout> for Agent {
    fn handle(&mut self, _: ReregistrationTimeout, _: &Pid, cx: &mut Cx<'_, Self>) {
        self.reregistration_timer = None;
        if !self.is_recovering() {
            return;
        }
        let timeout = self.flags.executor_reregistration_timeout;
        let mut effects = Vec::new();
        for (fid, f) in self.frameworks.iter_mut() {
            let end = TaskEnd::new(
                f.lost_state(TaskState::Gone, TaskState::Lost),
                Reason::ExecutorReregistrationTimeout,
                format!(
                    "Executor did not reregister within {}",
                    crate::flags::format_duration(timeout)
                ),
            );
            let waiting: Vec<_> = f.executors().keys().cloned().collect();
            for eid in waiting {
                let Some(e) = f.executor_mut(&eid) else {
                    continue;
                };
                let kill = e.reregistration_timed_out(fid, end.clone());
                if !kill.is_empty() {
                    tracing::warn!(framework = %fid, executor = %eid,
                        "executor did not re-register within {timeout:?}; killing it");
                }
                effects.extend(kill);
            }
        }
        self.act(effects, cx);
        self.check_recovery(cx);
    }
}
