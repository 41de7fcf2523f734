//! The agent's status update manager (Mesos's `TaskStatusUpdateManager`),
//! as an I/O-free core: one ordered stream of updates per task, of which
//! only the head is in flight to the master until acknowledged. The process
//! resends the head on a backoff (10 s doubling to 10 min, no limit) and
//! feeds acknowledgements back here.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use wire::ids::{FrameworkId, TaskId};
use wire::mesos::StatusUpdate;

/// First resend interval of an unacknowledged update.
pub const RETRY_MIN: Duration = Duration::from_secs(10);
/// Longest resend interval.
pub const RETRY_MAX: Duration = Duration::from_secs(600);

type Key = (FrameworkId, TaskId);

#[derive(Debug, Default)]
struct Stream {
    /// Updates not yet acknowledged; the front one is in flight.
    pending: VecDeque<StatusUpdate>,
    /// The interval before the next resend of the front update.
    backoff: Duration,
    /// A terminal update has been acknowledged: nothing more is accepted.
    closed: bool,
}

/// Why an acknowledgement was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AckError {
    #[error("no status update stream for task {0}")]
    UnknownTask(String),
    #[error("duplicate task status acknowledgement for task {0}")]
    Duplicate(String),
    #[error("unexpected acknowledgement for task {0}: it acknowledges an update that is not the oldest pending one")]
    OutOfOrder(String),
}

/// What the process must do after an event.
#[derive(Debug, Clone, PartialEq)]
pub enum Forward {
    /// Send this update to the master now and schedule a resend.
    Send(Box<StatusUpdate>, Duration),
    Nothing,
}

#[derive(Debug, Default)]
pub struct StatusUpdateManager {
    streams: HashMap<Key, Stream>,
}

impl StatusUpdateManager {
    /// Appends an update to its task's stream. Returns the update to send
    /// when it became the head. A duplicate (same uuid already pending) or
    /// an update after the stream closed is dropped.
    pub fn update(&mut self, update: StatusUpdate) -> Forward {
        let key = (update.framework_id.clone(), update.status.task_id.clone());
        let stream = self.streams.entry(key).or_default();
        if stream.closed || stream.pending.iter().any(|u| u.uuid == update.uuid) {
            return Forward::Nothing;
        }
        stream.pending.push_back(update);
        if stream.pending.len() == 1 {
            stream.backoff = RETRY_MIN;
            return head(stream);
        }
        Forward::Nothing
    }

    /// Applies an acknowledgement from the master; returns the next update
    /// to send, if any. Closes the stream after a terminal update.
    pub fn acknowledge(
        &mut self,
        framework: &FrameworkId,
        task: &TaskId,
        uuid: &[u8],
    ) -> Result<Forward, AckError> {
        let key = (framework.clone(), task.clone());
        let stream = self
            .streams
            .get_mut(&key)
            .ok_or_else(|| AckError::UnknownTask(task.to_string()))?;
        let Some(front) = stream.pending.front() else {
            return Err(AckError::Duplicate(task.to_string()));
        };
        if front.uuid.as_deref() != Some(uuid) {
            return Err(if stream.closed {
                AckError::Duplicate(task.to_string())
            } else {
                AckError::OutOfOrder(task.to_string())
            });
        }
        let acked = stream.pending.pop_front();
        if acked.is_some_and(|u| u.status.state.is_terminal()) {
            stream.closed = true;
            stream.pending.clear();
        }
        if stream.closed {
            self.streams.remove(&key);
            return Ok(Forward::Nothing);
        }
        stream.backoff = RETRY_MIN;
        Ok(head(stream))
    }

    /// A resend timer fired for the update `uuid`: resend it (with a longer
    /// backoff) if it is still the unacknowledged head.
    pub fn retry(&mut self, framework: &FrameworkId, task: &TaskId, uuid: &[u8]) -> Forward {
        let key = (framework.clone(), task.clone());
        let Some(stream) = self.streams.get_mut(&key) else {
            return Forward::Nothing;
        };
        if stream.pending.front().and_then(|u| u.uuid.as_deref()) != Some(uuid) {
            return Forward::Nothing;
        }
        stream.backoff = (stream.backoff * 2).min(RETRY_MAX);
        head(stream)
    }

    /// The heads of every stream, to resend after (re-)registering.
    pub fn heads(&self) -> Vec<StatusUpdate> {
        self.streams
            .values()
            .filter_map(|s| s.pending.front().cloned())
            .collect()
    }

    /// Whether any update of this task is still unacknowledged.
    pub fn has_pending(&self, framework: &FrameworkId, task: &TaskId) -> bool {
        self.streams
            .get(&(framework.clone(), task.clone()))
            .is_some_and(|s| !s.pending.is_empty())
    }

    /// The unacknowledged updates of a task, oldest first (what a
    /// checkpoint keeps; [`StatusUpdateManager::update`] takes them back).
    pub fn pending(&self, framework: &FrameworkId, task: &TaskId) -> Vec<StatusUpdate> {
        self.streams
            .get(&(framework.clone(), task.clone()))
            .map(|s| s.pending.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The unacknowledged updates of every task of one executor.
    pub fn pending_of_executor(
        &self,
        framework: &FrameworkId,
        executor: &wire::ids::ExecutorId,
    ) -> Vec<StatusUpdate> {
        let mut keys: Vec<&Key> = self
            .streams
            .iter()
            .filter(|((f, _), s)| {
                f == framework
                    && s.pending
                        .front()
                        .is_some_and(|u| u.executor_id.as_ref() == Some(executor))
            })
            .map(|(k, _)| k)
            .collect();
        keys.sort_by(|a, b| a.1.as_str().cmp(b.1.as_str()));
        keys.into_iter()
            .flat_map(|k| self.pending(&k.0, &k.1))
            .collect()
    }

    /// Drops every stream of a framework (it was removed).
    pub fn forget_framework(&mut self, framework: &FrameworkId) {
        self.streams.retain(|(f, _), _| f != framework);
    }
}

fn head(stream: &Stream) -> Forward {
    match stream.pending.front() {
        Some(u) => Forward::Send(Box::new(u.clone()), stream.backoff),
        None => Forward::Nothing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wire::mesos::TaskStatus;
    use wire::task::TaskState;

    fn update(task: &str, state: TaskState, uuid: u8) -> StatusUpdate {
        StatusUpdate {
            framework_id: FrameworkId::new("f"),
            executor_id: None,
            agent_id: None,
            status: TaskStatus::new(TaskId::new(task), state),
            timestamp: 0.0,
            uuid: Some(vec![uuid; 16]),
            latest_state: None,
        }
    }

    fn sent(f: Forward) -> (TaskState, Duration) {
        match f {
            Forward::Send(u, d) => (u.status.state, d),
            Forward::Nothing => panic!("nothing sent"),
        }
    }

    #[test]
    fn one_update_in_flight_per_task_in_order() {
        let mut m = StatusUpdateManager::default();
        let (f, t) = (FrameworkId::new("f"), TaskId::new("t"));
        assert_eq!(
            sent(m.update(update("t", TaskState::Starting, 1))),
            (TaskState::Starting, RETRY_MIN)
        );
        assert_eq!(
            m.update(update("t", TaskState::Running, 2)),
            Forward::Nothing
        );
        assert_eq!(
            m.update(update("t", TaskState::Finished, 3)),
            Forward::Nothing
        );
        // Another task has its own stream.
        assert_eq!(
            sent(m.update(update("u", TaskState::Running, 9))).0,
            TaskState::Running
        );
        assert_eq!(
            m.acknowledge(&f, &t, &[2; 16]),
            Err(AckError::OutOfOrder("t".into()))
        );
        assert_eq!(
            sent(m.acknowledge(&f, &t, &[1; 16]).unwrap()).0,
            TaskState::Running
        );
        assert_eq!(
            sent(m.acknowledge(&f, &t, &[2; 16]).unwrap()).0,
            TaskState::Finished
        );
        assert_eq!(m.acknowledge(&f, &t, &[3; 16]), Ok(Forward::Nothing));
        assert!(!m.has_pending(&f, &t));
        assert!(matches!(
            m.acknowledge(&f, &t, &[3; 16]),
            Err(AckError::UnknownTask(_))
        ));
    }

    #[test]
    fn retries_back_off_to_ten_minutes_and_stop_after_ack() {
        let mut m = StatusUpdateManager::default();
        let (f, t) = (FrameworkId::new("f"), TaskId::new("t"));
        m.update(update("t", TaskState::Running, 1));
        let mut last = RETRY_MIN;
        for _ in 0..10 {
            let (_, d) = sent(m.retry(&f, &t, &[1; 16]));
            assert!(d >= last && d <= RETRY_MAX);
            last = d;
        }
        assert_eq!(last, RETRY_MAX);
        assert_eq!(m.retry(&f, &t, &[7; 16]), Forward::Nothing, "stale timer");
        m.acknowledge(&f, &t, &[1; 16]).unwrap();
        assert_eq!(m.retry(&f, &t, &[1; 16]), Forward::Nothing);
    }

    #[test]
    fn duplicates_and_late_updates_are_dropped() {
        let mut m = StatusUpdateManager::default();
        let (f, t) = (FrameworkId::new("f"), TaskId::new("t"));
        m.update(update("t", TaskState::Running, 1));
        assert_eq!(
            m.update(update("t", TaskState::Running, 1)),
            Forward::Nothing
        );
        assert_eq!(m.heads().len(), 1);
        assert_eq!(m.pending(&f, &t).len(), 1);
        m.forget_framework(&f);
        assert!(!m.has_pending(&f, &t));
    }
}
