//! The agent's handlers for what comes from executors, over either API:
//! registration and re-registration (v0 messages, or a v1 SUBSCRIBE on
//! `POST /api/v1/executor`), status updates and messages for the
//! framework. Both APIs end in the same functions here; the v1 request
//! reading and answers are [`super::executor_api`]'s.
//!
//! Receives: RegisterExecutor, ReregisterExecutor, StatusUpdateMessage,
//! ExecutorToFramework, and the v1 calls SUBSCRIBE, UPDATE, MESSAGE,
//! HEARTBEAT. Sends to executors: ExecutorRegistered, ExecutorReregistered,
//! RunTask, RunTaskGroup, StatusUpdateAcknowledgement, ShutdownExecutor
//! (or the matching v1 events); to the master: StatusUpdateMessage,
//! ExecutorToFramework.

use std::collections::HashSet;

use actors::http::{Response, StatusCode};
use actors::{Cx, Handle, Pid, Reply, Request};
use bytes::Bytes;
use wire::agent::{
    ExecutorToFramework, ShutdownExecutor, StatusUpdateAcknowledgement, StatusUpdateMessage,
};
use wire::executor::{
    ExecutorRegistered, ExecutorReregistered, RegisterExecutor, ReregisterExecutor,
};
use wire::ids::{ContainerId, ExecutorId, FrameworkId, TaskId};
use wire::mesos::StatusUpdate;
use wire::task::{Reason, TaskState};
use wire::v1::executor::Event;
use wire::v1::ExecutorCall;

use super::executor_api::{self, ExecutorRefusal, ToExecutorEvent};
use super::process::Agent;
use super::state::{ExecutorLink, ExecutorPhase, Launch, TaskEnd};
use crate::v1_http::{self, ApiError};

impl Agent {
    /// An executor of `framework_id` announced itself (v0 message or v1
    /// SUBSCRIBE): it is running now. Returns what it is to be told
    /// (ExecutorRegistered, its container, its queued tasks), or `None` if
    /// no such executor is waiting to register.
    fn accept_executor(
        &mut self,
        framework_id: &FrameworkId,
        executor_id: &ExecutorId,
        link: ExecutorLink,
        cx: &mut Cx<'_, Self>,
    ) -> Option<(ExecutorRegistered, ContainerId, Vec<Launch>)> {
        let agent_id = self.info.id.clone().filter(|_| self.is_registered())?;
        let agent_info = self.info.clone();
        let f = self.frameworks.get_mut(framework_id)?;
        let framework_info = f.info().clone();
        let framework_pid = f.pid().clone();
        let e = f.executor_mut(executor_id)?;
        if e.phase() != ExecutorPhase::Registering {
            return None;
        }
        if let Some(t) = e.run() {
            cx.cancel(t);
        }
        e.set_link(link);
        tracing::info!(framework = %framework_id, executor = %executor_id, "executor registered");
        let registered = ExecutorRegistered {
            executor_info: e.info().clone(),
            framework_id: framework_id.clone(),
            framework_info: framework_info.clone(),
            agent_id: agent_id.clone(),
            agent_info,
        };
        let launches = e.take_launches((&framework_info, &framework_pid), framework_id, &agent_id);
        let container_id = e.container_id().clone();
        self.checkpoint_executor(framework_id, executor_id);
        Some((registered, container_id, launches))
    }

    /// A status update from a subscribed executor (v0 message or v1 UPDATE
    /// call; the caller checked the sender and the uuid): acknowledged to
    /// the executor at once, since the agent is responsible from here, then
    /// carried to the master through the status update manager.
    fn executor_update(&mut self, mut update: StatusUpdate, cx: &mut Cx<'_, Self>) {
        let (Some(executor_id), Some(uuid)) = (update.executor_id.clone(), update.uuid.clone())
        else {
            return;
        };
        if let Some(m) = &self.metrics {
            m.valid_status_updates.inc();
        }
        let ack = self
            .info
            .id
            .clone()
            .map(|agent_id| StatusUpdateAcknowledgement {
                agent_id,
                framework_id: update.framework_id.clone(),
                task_id: update.status.task_id.clone(),
                uuid: uuid.clone(),
            });
        let framework_id = update.framework_id.clone();
        // A re-registering executor resends what it holds unacknowledged;
        // what this agent already took (and checkpointed) is only
        // acknowledged again.
        let duplicate = self
            .frameworks
            .get(&framework_id)
            .and_then(|f| f.executor(&executor_id))
            .is_some_and(|e| e.has_status(&update.status.task_id, &uuid));
        if duplicate {
            if let Some(ack) = ack {
                self.to_executor(&framework_id, &executor_id, ack, cx);
            }
            return;
        }
        self.set_task_state(
            &update.framework_id,
            Some(&executor_id),
            &update.status.task_id,
            update.status.state,
        );
        if let Some(state) = self
            .frameworks
            .get_mut(&update.framework_id)
            .and_then(|f| f.executor_mut(&executor_id))
            .and_then(|e| e.record_status(&update.status))
        {
            update.latest_state = Some(state);
        }
        update.agent_id = self.info.id.clone();
        update.status.agent_id = self.info.id.clone();
        update.status.uuid = Some(uuid);
        self.forward_update(update, cx);
        // Acknowledged once safe here: the executor may forget it then.
        self.checkpoint_executor(&framework_id, &executor_id);
        if let Some(ack) = ack {
            self.to_executor(&framework_id, &executor_id, ack, cx);
        }
    }

    /// Relays a message from a subscribed executor to its framework.
    fn executor_message(&mut self, msg: ExecutorToFramework, cx: &mut Cx<'_, Self>) {
        if let Some(m) = &self.metrics {
            m.valid_framework_messages.inc();
        }
        cx.send(&self.master, msg);
    }

    /// A recovered executor re-registers, over its pid (ReregisterExecutor)
    /// or, for a v1 executor, by subscribing while the agent recovers:
    /// it is greeted (ExecutorReregistered, or SUBSCRIBED on its stream),
    /// the updates it holds unacknowledged are taken, and tasks still
    /// staging that it does not `know` were lost in the restart, as Mesos
    /// decides. False, and nothing done, if the agent does not expect it.
    fn reregister_executor(
        &mut self,
        (fid, eid): (&FrameworkId, &ExecutorId),
        link: ExecutorLink,
        known: HashSet<TaskId>,
        updates: Vec<StatusUpdate>,
        cx: &mut Cx<'_, Self>,
    ) -> bool {
        let Some(agent_id) = self.info.id.clone() else {
            return false;
        };
        let agent_info = self.info.clone();
        let Some(f) = self.frameworks.get_mut(fid).filter(|f| !f.is_terminating()) else {
            tracing::warn!(framework = %fid, executor = %eid,
                "re-registration of an executor of an unknown framework; shutting it down");
            return false;
        };
        let dropped_state = f.lost_state(TaskState::Dropped, TaskState::Lost);
        let framework_info = f.info().clone();
        let Some(e) = f
            .executor_mut(eid)
            .filter(|e| e.phase() == ExecutorPhase::Registering)
        else {
            tracing::warn!(framework = %fid, executor = %eid,
                "re-registration of an unknown or terminating executor; shutting it down");
            return false;
        };
        tracing::info!(framework = %fid, executor = %eid, "executor re-registered");
        if let Some(t) = e.run() {
            cx.cancel(t);
        }
        let dropped = e.unknown_staging(&known);
        match link {
            ExecutorLink::Pid(pid) => {
                cx.link(&pid);
                cx.send(
                    &pid,
                    ExecutorReregistered {
                        agent_id: agent_id.clone(),
                        agent_info: agent_info.clone(),
                    },
                );
                e.set_link(ExecutorLink::Pid(pid));
            }
            ExecutorLink::Http(stream) => {
                let registered = ExecutorRegistered {
                    executor_info: e.info().clone(),
                    framework_id: fid.clone(),
                    framework_info,
                    agent_id: agent_id.clone(),
                    agent_info,
                };
                let subscribed = Event::subscribed(&registered, Some(e.container_id()));
                let _ = stream.send(Bytes::from(subscribed.to_record()));
                e.set_link(ExecutorLink::Http(stream));
            }
        }
        for update in updates {
            if &update.framework_id == fid && update.executor_id.as_ref() == Some(eid) {
                self.executor_update(update, cx);
            }
        }
        let end = TaskEnd::new(
            dropped_state,
            Reason::AgentRestarted,
            "Task launched during agent restart",
        );
        self.end_tasks((fid, eid), &dropped, &end, cx);
        self.checkpoint_executor(fid, eid);
        self.check_recovery(cx);
        true
    }

    /// `POST /api/v1/executor`: the v1 executor API over the same
    /// functions as the v0 messages.
    pub(super) fn executor_call(&mut self, req: Request, cx: &mut Cx<'_, Self>) -> Reply {
        v1_http::answer(self.serve_executor_call(req, cx))
    }

    fn serve_executor_call(
        &mut self,
        req: Request,
        cx: &mut Cx<'_, Self>,
    ) -> Result<Reply, ApiError> {
        let call = executor_api::read_call(&req)?;
        let accepted = v1_http::accepted;
        if let ExecutorCall::Heartbeat { .. } = call {
            return Ok(accepted());
        }
        let (framework_id, executor_id) = {
            let (f, e) = call.ids();
            (f.clone(), e.clone())
        };
        let Some(executor) = self
            .frameworks
            .get(&framework_id)
            .and_then(|f| f.executor(&executor_id))
        else {
            return Err(ExecutorRefusal::UnknownExecutor {
                framework_id,
                executor_id,
            }
            .into());
        };
        let subscribed = executor.http().is_some();
        match call {
            ExecutorCall::Subscribe {
                register,
                unacknowledged_tasks,
                unacknowledged_updates,
            } => {
                let (response, events) = Response::stream(StatusCode::OK, "application/json");
                let link = ExecutorLink::Http(events.clone());
                let key = (&register.framework_id, &register.executor_id);
                if self.is_recovering() {
                    // A v1 executor of the agent's previous run, back after
                    // the restart: the agent does not ask it to (it has no
                    // pid), it subscribes again with what it holds
                    // unacknowledged.
                    let known = unacknowledged_tasks
                        .into_iter()
                        .map(|t| t.task_id)
                        .collect();
                    return match self.reregister_executor(
                        key,
                        link,
                        known,
                        unacknowledged_updates,
                        cx,
                    ) {
                        true => Ok(Reply::Now(response)),
                        false => Err(ExecutorRefusal::NotResubscribing.into()),
                    };
                }
                let (registered, container_id, launches) = self
                    .accept_executor(key.0, key.1, link, cx)
                    .ok_or(ExecutorRefusal::NotSubscribing)?;
                let _ = events.send(Bytes::from(
                    Event::subscribed(&registered, Some(&container_id)).to_record(),
                ));
                for launch in &launches {
                    let event = match launch {
                        Launch::Task(m) => m.to_event(),
                        Launch::Group(m) => m.to_event(),
                    };
                    let _ = events.send(Bytes::from(event.to_record()));
                }
                Ok(Reply::Now(response))
            }
            _ if !subscribed => Err(ExecutorRefusal::NotSubscribed.into()),
            ExecutorCall::Update { update, .. } => {
                self.executor_update(update, cx);
                Ok(accepted())
            }
            call @ ExecutorCall::Message { .. } => {
                if let Some(msg) = self.info.id.clone().and_then(|id| call.to_framework(&id)) {
                    self.executor_message(msg, cx);
                }
                Ok(accepted())
            }
            ExecutorCall::Heartbeat { .. } => Ok(accepted()),
        }
    }
}

impl Handle<RegisterExecutor> for Agent {
    fn handle(&mut self, msg: RegisterExecutor, from: &Pid, cx: &mut Cx<'_, Self>) {
        let link = ExecutorLink::Pid(from.clone());
        match self.accept_executor(&msg.framework_id, &msg.executor_id, link, cx) {
            Some((registered, _, launches)) => {
                cx.link(from);
                cx.send(from, registered);
                for launch in launches {
                    match launch {
                        Launch::Task(m) => cx.send(from, m),
                        Launch::Group(m) => cx.send(from, m),
                    }
                }
            }
            None => {
                tracing::warn!(%from, executor = %msg.executor_id, "registration of an unknown executor; shutting it down");
                cx.send(
                    from,
                    ShutdownExecutor {
                        framework_id: msg.framework_id,
                        executor_id: msg.executor_id,
                    },
                );
            }
        }
    }
}

impl Handle<ReregisterExecutor> for Agent {
    fn handle(&mut self, msg: ReregisterExecutor, from: &Pid, cx: &mut Cx<'_, Self>) {
        let (fid, eid) = (msg.framework_id.clone(), msg.executor_id.clone());
        let known = msg.tasks.iter().map(|t| t.task_id.clone()).collect();
        let link = ExecutorLink::Pid(from.clone());
        if !self.reregister_executor((&fid, &eid), link, known, msg.updates, cx) {
            cx.send(
                from,
                ShutdownExecutor {
                    framework_id: fid,
                    executor_id: eid,
                },
            );
        }
    }
}

impl Handle<StatusUpdateMessage> for Agent {
    fn handle(&mut self, msg: StatusUpdateMessage, from: &Pid, cx: &mut Cx<'_, Self>) {
        let known = msg.update.executor_id.as_ref().is_some_and(|eid| {
            self.frameworks
                .get(&msg.update.framework_id)
                .and_then(|f| f.executor(eid))
                .is_some_and(|e| e.pid() == Some(from))
        });
        if !known || msg.update.uuid.is_none() {
            tracing::warn!(%from, task = %msg.update.status.task_id, "status update from an unknown executor or without a uuid; dropping");
            if let Some(m) = &self.metrics {
                m.invalid_status_updates.inc();
            }
            return;
        }
        self.executor_update(msg.update, cx);
    }
}

impl Handle<ExecutorToFramework> for Agent {
    fn handle(&mut self, mut msg: ExecutorToFramework, from: &Pid, cx: &mut Cx<'_, Self>) {
        let known = self
            .frameworks
            .get(&msg.framework_id)
            .and_then(|f| f.executor(&msg.executor_id))
            .is_some_and(|e| e.pid() == Some(from));
        let Some(agent_id) = self.info.id.clone() else {
            return;
        };
        if !known {
            if let Some(m) = &self.metrics {
                m.invalid_framework_messages.inc();
            }
            return;
        }
        msg.agent_id = agent_id;
        self.executor_message(msg, cx);
    }
}
