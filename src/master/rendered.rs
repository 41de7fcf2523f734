//! The master's records with their JSON kept beside them. A large
//! `/master/state` or `GET_STATE` is nearly all tasks, and a task changes
//! seldom next to how often a cluster's state is read, so each task keeps
//! the bytes it was last rendered as: one fragment for `/master/state`
//! ([`crate::model::TaskJson`]) and one for the v1 operator API
//! ([`crate::operator_api::task`]), each made on first use. A document is
//! then mostly copies of fragments.
//!
//! A fragment is right only while what it shows is unchanged, so the
//! task inside a [`TaskRecord`] is reached mutably only through
//! [`TaskRecord::edit`], which forgets the fragments first; no caller has
//! to remember to. A copy of a record ([`Clone`]) starts without
//! fragments.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::{Serialize, Serializer};
use serde_json::value::RawValue;
use wire::ids::TaskId;
use wire::mesos::Task;
use wire::resources::Resources;

/// One rendered JSON value, made on first use and forgotten on change.
/// Filling it takes `&self` (renders run on several threads reading the
/// same state); clearing it takes `&mut self`, as every change does.
#[derive(Default)]
pub struct Fragment(OnceLock<Box<RawValue>>);

impl Fragment {
    /// The fragment, rendered from `view` if it is not kept yet.
    pub fn get_or_render(&self, view: impl FnOnce() -> Box<RawValue>) -> &RawValue {
        self.0.get_or_init(view)
    }

    /// Forgets the fragment (what it showed is about to change).
    pub fn clear(&mut self) {
        self.0.take();
    }

    /// Bytes held: the JSON text, 0 when nothing is kept.
    pub fn len(&self) -> usize {
        self.0.get().map_or(0, |raw| raw.get().len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A copy starts empty: a copy may be changed through its owner's public
/// fields before it is rendered, so it must not carry the original's bytes.
impl Clone for Fragment {
    fn clone(&self) -> Fragment {
        Fragment::default()
    }
}

impl std::fmt::Debug for Fragment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Fragment({} bytes)", self.len())
    }
}

/// `view` rendered as a JSON fragment. Rendering into a `String` cannot
/// fail for the master's views (no maps with non-string keys); were it to,
/// the fragment is `null` rather than a panic.
pub fn render(view: impl Serialize) -> Box<RawValue> {
    serde_json::value::to_raw_value(&view).unwrap_or_else(|_| null())
}

fn null() -> Box<RawValue> {
    serde_json::value::to_raw_value(&()).unwrap_or_default()
}

/// A task as the master holds it: the task, and its fragments.
#[derive(Debug, Clone)]
pub struct TaskRecord {
    task: Task,
    /// Its `/master/state` object, or empty: never stale.
    state_json: Fragment,
    /// Its v1 `Task` object, or empty: never stale.
    v1_json: Fragment,
}

impl TaskRecord {
    pub fn new(task: Task) -> TaskRecord {
        TaskRecord {
            task,
            state_json: Fragment::default(),
            v1_json: Fragment::default(),
        }
    }

    pub fn task(&self) -> &Task {
        &self.task
    }

    /// The task, to change: its fragments are forgotten first.
    pub fn edit(&mut self) -> &mut Task {
        self.forget();
        &mut self.task
    }

    /// Forgets its fragments (the next render makes them afresh).
    pub fn forget(&mut self) {
        self.state_json.clear();
        self.v1_json.clear();
    }

    pub fn into_task(self) -> Task {
        self.task
    }

    /// Its object in `/master/state`, `/master/frameworks` and
    /// `/master/tasks`.
    pub fn state_json(&self) -> &RawValue {
        self.state_json
            .get_or_render(|| render(crate::model::TaskJson(&self.task)))
    }

    /// Its v1 `Task` object (`GET_STATE`, `GET_TASKS`, `TASK_ADDED`).
    pub fn v1_json(&self) -> &RawValue {
        self.v1_json
            .get_or_render(|| render(crate::operator_api::task(&self.task)))
    }

    /// Bytes of JSON this record keeps (for measuring the cache's cost).
    pub fn rendered_len(&self) -> usize {
        self.state_json.len() + self.v1_json.len()
    }
}

impl std::ops::Deref for TaskRecord {
    type Target = Task;

    fn deref(&self) -> &Task {
        &self.task
    }
}

/// A framework's active tasks with the sum of the resources of those not
/// terminal (its `used_resources`), summed on first use and forgotten on
/// every change: the tasks are changed only through the methods here.
#[derive(Debug, Clone, Default)]
pub struct ActiveTasks {
    tasks: HashMap<TaskId, TaskRecord>,
    /// The sum, or empty: never stale.
    used: OnceLock<Resources>,
}

impl ActiveTasks {
    pub fn map(&self) -> &HashMap<TaskId, TaskRecord> {
        &self.tasks
    }

    pub fn get(&self, id: &TaskId) -> Option<&TaskRecord> {
        self.tasks.get(id)
    }

    /// A task, to change (the sum is forgotten; the task's fragments are
    /// forgotten by [`TaskRecord::edit`]).
    pub fn get_mut(&mut self, id: &TaskId) -> Option<&mut TaskRecord> {
        self.used.take();
        self.tasks.get_mut(id)
    }

    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut TaskRecord> {
        self.used.take();
        self.tasks.values_mut()
    }

    pub fn insert(&mut self, task: Task) {
        self.used.take();
        self.tasks
            .insert(task.task_id.clone(), TaskRecord::new(task));
    }

    pub fn remove(&mut self, id: &TaskId) -> Option<TaskRecord> {
        self.used.take();
        self.tasks.remove(id)
    }

    /// The resources of the tasks not terminal.
    pub fn used(&self) -> &Resources {
        self.used.get_or_init(|| {
            Resources::sum(
                self.tasks
                    .values()
                    .filter(|t| !t.state.is_terminal())
                    .map(|t| &t.resources),
            )
        })
    }
}

/// A task's `/master/state` object, written from its fragment.
pub struct StateTaskJson<'a>(pub &'a TaskRecord);

impl Serialize for StateTaskJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.state_json().serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wire::ids::{AgentId, FrameworkId, TaskId};
    use wire::mesos::TaskStatus;
    use wire::task::TaskState;

    fn task() -> Task {
        Task {
            name: "t".into(),
            task_id: TaskId::new("t"),
            framework_id: FrameworkId::new("f"),
            executor_id: None,
            agent_id: AgentId::new("a"),
            state: TaskState::Staging,
            resources: wire::resources::Resources::parse("cpus:1", "*").unwrap(),
            statuses: Vec::new(),
            status_update_state: None,
            status_update_uuid: None,
            role: "*".into(),
            meta: Default::default(),
        }
    }

    #[test]
    fn an_edit_forgets_both_fragments() {
        let mut record = TaskRecord::new(task());
        assert_eq!(record.rendered_len(), 0, "nothing is rendered before use");
        let before = record.state_json().get().to_owned();
        let _ = record.v1_json();
        assert!(record.rendered_len() > 0);
        record.edit().state = TaskState::Running;
        assert_eq!(record.rendered_len(), 0);
        assert_ne!(record.state_json().get(), before);
        assert!(record.state_json().get().contains("TASK_RUNNING"));
        assert!(record.v1_json().get().contains("TASK_RUNNING"));
    }

    #[test]
    fn a_copy_starts_without_fragments() {
        let record = TaskRecord::new(task());
        let _ = record.state_json();
        let copy = record.clone();
        assert_eq!(copy.rendered_len(), 0);
        assert_eq!(copy.state_json().get(), record.state_json().get());
    }

    #[test]
    fn fragments_are_the_fresh_render() {
        let mut record = TaskRecord::new(task());
        let mut status = TaskStatus::new(TaskId::new("t"), TaskState::Running);
        status.timestamp = 1.5;
        record.edit().statuses.push(status);
        assert_eq!(
            record.state_json().get(),
            serde_json::to_string(&crate::model::TaskJson(record.task())).unwrap()
        );
        assert_eq!(
            record.v1_json().get(),
            crate::operator_api::task(record.task()).to_string()
        );
    }
}
