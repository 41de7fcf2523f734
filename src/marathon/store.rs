//! Marathon's persistent state: what a leader writes before it answers or
//! acts, and what the next leader (or the same instance after a restart)
//! recovers.
//!
//! One record per entity, each far below ZooKeeper's 1 MiB node limit
//! (Marathon's issues 2101 and 3848 came from one node holding everything):
//!
//! | key | holds |
//! |---|---|
//! | `framework-id` | the FrameworkID the master gave, as text |
//! | `app/<app>` | the app's current definition (Marathon's JSON) |
//! | `app-version/<app>@<version>` | the definition at each version, the newest `--zk_max_versions` kept |
//! | `instance/<instance id>` | an instance that has had a task: its goal, launches, and the task (id, agent, state, version, host ports, health) |
//!
//! `<app>` is the app id with `/` as `_` (`/prod/web` is `prod_web`); ids
//! cannot hold `_`, so the name is unambiguous. An instance slot that never
//! had a task is not stored: recovery recreates it from the app's count.
//!
//! Two stores hold these keys: [`zk::ZkStore`] under `<--zk path>/state`,
//! and [`file::FileStore`] under `<--work_dir>/state`, one file per key.
//! [`Persisted`] is the leader's copy of what the store holds: each round
//! it compares the core with it, writes the differences, and takes them in
//! only once the store said yes.

pub mod file;
pub mod zk;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use wire::ids::{AgentId, TaskId};
use wire::task::TaskState;

use super::app::App;
use super::instances::{Core, Goal, Instance, Task};
use super::path::PathId;

/// The largest record written: half of ZooKeeper's default `jute.maxbuffer`
/// (1 MiB), so that a record and its version fit one transaction.
pub const MAX_RECORD_BYTES: usize = 512 * 1024;

/// Marathon's `--zk_max_versions` default.
pub const DEFAULT_MAX_VERSIONS: usize = 50;

pub const FRAMEWORK_ID: &str = "framework-id";
/// The directories of the keys, under the store's root.
pub const CATEGORIES: [&str; 3] = ["app", "app-version", "instance"];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("ZooKeeper: {0}")]
    ZooKeeper(String),
    #[error("{path}: {reason}")]
    Io { path: String, reason: String },
    #[error("the store did not answer within {0:?}")]
    Timeout(Duration),
    #[error("the store is closed")]
    Closed,
    #[error("the work dir {0} is in use by another marathon (its lock file is held)")]
    Locked(String),
}

/// One change to a key: its new value, or `None` to delete it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    pub key: String,
    pub data: Option<Vec<u8>>,
}

/// A store's answer, to be awaited on the process's runtime.
pub type Pending<T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + 'static>>;

/// Where the records live. Both operations may be called again after a
/// failure; `apply` of the same writes twice has the effect of once.
pub trait Store: Send + Sync {
    /// Every record, by key.
    fn load(&self) -> Pending<BTreeMap<String, Vec<u8>>>;
    /// Applies `writes` in order. On an error some of them may have been
    /// applied.
    fn apply(&self, writes: Vec<Write>) -> Pending<()>;
    /// Where, for logs.
    fn describe(&self) -> String;
}

pub fn app_key(id: &PathId) -> String {
    format!("app/{}", id.safe())
}

pub fn version_key(id: &PathId, version: &str) -> String {
    format!("app-version/{}@{version}", id.safe())
}

pub fn instance_key(id: &str) -> String {
    format!("instance/{id}")
}

/// A key's name is a single path segment of safe characters (what app
/// ids, versions and instance ids are made of): never `/`, `.` or `..`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-:@".contains(&b))
}

/// An instance as stored.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct InstanceRecord {
    id: String,
    app_id: String,
    goal: String,
    incarnation: u32,
    task: Option<TaskRecord>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TaskRecord {
    id: String,
    agent_id: String,
    host: String,
    #[serde(default)]
    attributes: BTreeMap<String, String>,
    #[serde(default)]
    ports: Vec<u32>,
    state: TaskState,
    /// Milliseconds since the Unix epoch.
    staged_at: u64,
    started_at: Option<u64>,
    healthy: Option<bool>,
    version: String,
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

pub fn encode_instance(i: &Instance) -> Vec<u8> {
    let record = InstanceRecord {
        id: i.id.clone(),
        app_id: i.app.to_string(),
        goal: match i.goal {
            Goal::Running => "Running".into(),
            Goal::Stopped => "Stopped".into(),
        },
        incarnation: i.incarnation,
        task: i.task.as_ref().map(|t| TaskRecord {
            id: t.id.value.clone(),
            agent_id: t.agent_id.value.clone(),
            host: t.host.clone(),
            attributes: t.attributes.clone(),
            ports: t.ports.clone(),
            state: t.state,
            staged_at: millis(t.staged_at),
            started_at: t.started_at.map(millis),
            healthy: t.healthy,
            version: t.version.clone(),
        }),
    };
    serde_json::to_vec(&record).unwrap_or_default()
}

pub fn decode_instance(data: &[u8]) -> Result<Instance, String> {
    let r: InstanceRecord = serde_json::from_slice(data).map_err(|e| e.to_string())?;
    let app = PathId::parse(&r.app_id, &PathId::root())?;
    let goal = match r.goal.as_str() {
        "Running" => Goal::Running,
        "Stopped" => Goal::Stopped,
        other => return Err(format!("unknown goal '{other}'")),
    };
    Ok(Instance {
        id: r.id,
        app,
        goal,
        incarnation: r.incarnation,
        task: r.task.map(|t| Task {
            id: TaskId::new(t.id),
            agent_id: AgentId::new(t.agent_id),
            host: t.host,
            attributes: t.attributes,
            ports: t.ports,
            state: t.state,
            staged_at: Duration::from_millis(t.staged_at),
            started_at: t.started_at.map(Duration::from_millis),
            healthy: t.healthy,
            version: t.version,
        }),
    })
}

pub fn encode_app(app: &App) -> Vec<u8> {
    app.to_json().to_string().into_bytes()
}

pub fn decode_app(data: &[u8]) -> Result<App, String> {
    let doc: Value = serde_json::from_slice(data).map_err(|e| e.to_string())?;
    App::from_json(&doc, &PathId::root()).map_err(|e| e.body().to_string())
}

/// An app whose definition is too big to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooLarge {
    pub app: PathId,
    pub bytes: usize,
}

/// What the store holds, as the leader last saw it succeed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Persisted {
    pub framework_id: Option<String>,
    pub apps: BTreeMap<PathId, App>,
    /// Every stored version of each app, by version.
    pub versions: BTreeMap<PathId, BTreeMap<String, App>>,
    /// The instances that have had a task.
    pub instances: BTreeMap<String, Instance>,
    /// Keys whose stored value is unknown: a write of them failed (and may
    /// or may not have landed). The next round writes them again.
    dirty: BTreeSet<String>,
}

/// One change of [`Persisted`], taken in once its write succeeded.
#[derive(Debug, Clone, PartialEq)]
enum Update {
    FrameworkId(Option<String>),
    App(PathId, Option<App>),
    Version(PathId, String, Option<App>),
    Instance(String, Option<Instance>),
}

/// The writes that bring the store to a core's state, and what the
/// copy becomes once they are done.
#[derive(Debug, Default)]
pub struct Changes {
    pub writes: Vec<Write>,
    updates: Vec<Update>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }
}

impl Persisted {
    /// Reads the records of a store; the ones that do not decode are left
    /// out, each with a warning.
    pub fn decode(raw: BTreeMap<String, Vec<u8>>) -> (Persisted, Vec<String>) {
        let mut p = Persisted::default();
        let mut warnings = Vec::new();
        for (key, data) in raw {
            let (category, name) = key.split_once('/').unwrap_or((key.as_str(), ""));
            let result = match category {
                FRAMEWORK_ID => match String::from_utf8(data) {
                    Ok(id) if !id.trim().is_empty() => {
                        p.framework_id = Some(id.trim().to_owned());
                        Ok(())
                    }
                    _ => Err("not a framework id".to_owned()),
                },
                "app" => decode_app(&data).and_then(|app| {
                    if app.id.safe() != name {
                        return Err(format!("holds app {}", app.id));
                    }
                    p.apps.insert(app.id.clone(), app);
                    Ok(())
                }),
                "app-version" => decode_app(&data).and_then(|app| {
                    let version = name.rsplit_once('@').map(|(_, v)| v).unwrap_or_default();
                    if version_key(&app.id, version) != key {
                        return Err(format!("holds app {}", app.id));
                    }
                    p.versions
                        .entry(app.id.clone())
                        .or_default()
                        .insert(version.to_owned(), app);
                    Ok(())
                }),
                "instance" => decode_instance(&data).and_then(|i| {
                    if i.id != name {
                        return Err(format!("holds instance {}", i.id));
                    }
                    p.instances.insert(i.id.clone(), i);
                    Ok(())
                }),
                _ => Err("not a key of ours".to_owned()),
            };
            if let Err(e) = result {
                // Left in place: what cannot be read is not destroyed.
                warnings.push(format!("skipping the stored record '{key}': {e}"));
            }
        }
        (p, warnings)
    }

    /// The writes that make the store hold `core`'s apps and instances and
    /// `framework_id`, keeping at most `max_versions` versions per app.
    pub fn changes(
        &self,
        core: &Core,
        framework_id: Option<&str>,
        max_versions: usize,
    ) -> Result<Changes, TooLarge> {
        let mut c = Changes::default();
        let put = |c: &mut Changes, key: String, data: Option<Vec<u8>>, update: Update| {
            c.writes.push(Write { key, data });
            c.updates.push(update);
        };

        let framework_id = framework_id.map(str::to_owned);
        if framework_id != self.framework_id || self.dirty.contains(FRAMEWORK_ID) {
            let data = framework_id.as_ref().map(|id| id.clone().into_bytes());
            put(
                &mut c,
                FRAMEWORK_ID.into(),
                data,
                Update::FrameworkId(framework_id),
            );
        }

        for app in core.apps() {
            let key = app_key(&app.id);
            let stored = self.apps.get(&app.id);
            let versions = self.versions.get(&app.id);
            let vkey = version_key(&app.id, &app.version);
            let app_changed = stored != Some(app) || self.dirty.contains(&key);
            let version_changed = versions.and_then(|v| v.get(&app.version)) != Some(app)
                || self.dirty.contains(&vkey);
            if !app_changed && !version_changed {
                continue;
            }
            let data = encode_app(app);
            if data.len() > MAX_RECORD_BYTES {
                return Err(TooLarge {
                    app: app.id.clone(),
                    bytes: data.len(),
                });
            }
            if app_changed {
                put(
                    &mut c,
                    key,
                    Some(data.clone()),
                    Update::App(app.id.clone(), Some(app.clone())),
                );
            }
            if version_changed {
                put(
                    &mut c,
                    vkey,
                    Some(data),
                    Update::Version(app.id.clone(), app.version.clone(), Some(app.clone())),
                );
                // The oldest go beyond the bound (ISO-8601 versions sort in
                // time order).
                let mut kept: Vec<&String> = versions
                    .map(|v| v.keys().filter(|k| **k != app.version).collect())
                    .unwrap_or_default();
                kept.sort();
                let excess = (kept.len() + 1).saturating_sub(max_versions.max(1));
                for old in kept.into_iter().take(excess) {
                    put(
                        &mut c,
                        version_key(&app.id, old),
                        None,
                        Update::Version(app.id.clone(), old.clone(), None),
                    );
                }
            }
        }
        for id in self.apps.keys().filter(|id| core.app(id).is_none()) {
            put(&mut c, app_key(id), None, Update::App(id.clone(), None));
            for version in self.versions.get(id).into_iter().flat_map(|v| v.keys()) {
                put(
                    &mut c,
                    version_key(id, version),
                    None,
                    Update::Version(id.clone(), version.clone(), None),
                );
            }
        }

        let mut present = BTreeSet::new();
        for i in core.instances().filter(|i| i.task.is_some()) {
            present.insert(i.id.as_str());
            let key = instance_key(&i.id);
            if self.instances.get(&i.id) != Some(i) || self.dirty.contains(&key) {
                put(
                    &mut c,
                    key,
                    Some(encode_instance(i)),
                    Update::Instance(i.id.clone(), Some(i.clone())),
                );
            }
        }
        for id in self
            .instances
            .keys()
            .filter(|id| !present.contains(id.as_str()))
        {
            put(
                &mut c,
                instance_key(id),
                None,
                Update::Instance(id.clone(), None),
            );
        }

        // The other keys a failed write left unknown: an old version the
        // copy still holds is written again, anything else deleted (a new
        // app of a request that was then refused, say).
        let written: BTreeSet<&str> = c.writes.iter().map(|w| w.key.as_str()).collect();
        let rest: Vec<Write> = self
            .dirty
            .iter()
            .filter(|k| !written.contains(k.as_str()))
            .map(|key| Write {
                key: key.clone(),
                data: self.stored_version(key).map(encode_app),
            })
            .collect();
        c.writes.extend(rest);
        Ok(c)
    }

    /// The version of an app `key` names, if the copy holds it.
    fn stored_version(&self, key: &str) -> Option<&App> {
        let name = key.strip_prefix("app-version/")?;
        let (_, version) = name.rsplit_once('@')?;
        self.versions
            .iter()
            .find(|(id, _)| version_key(id, version) == key)
            .and_then(|(_, v)| v.get(version))
    }

    /// The writes of `changes` are stored.
    pub fn commit(&mut self, changes: Changes) {
        for w in &changes.writes {
            self.dirty.remove(&w.key);
        }
        for update in changes.updates {
            match update {
                Update::FrameworkId(id) => self.framework_id = id,
                Update::App(id, Some(app)) => {
                    self.apps.insert(id, app);
                }
                Update::App(id, None) => {
                    self.apps.remove(&id);
                }
                Update::Version(id, version, Some(app)) => {
                    self.versions.entry(id).or_default().insert(version, app);
                }
                Update::Version(id, version, None) => {
                    if let Some(v) = self.versions.get_mut(&id) {
                        v.remove(&version);
                        if v.is_empty() {
                            self.versions.remove(&id);
                        }
                    }
                }
                Update::Instance(id, Some(i)) => {
                    self.instances.insert(id, i);
                }
                Update::Instance(id, None) => {
                    self.instances.remove(&id);
                }
            }
        }
    }

    /// The writes of `changes` failed: what their keys hold is unknown.
    pub fn failed(&mut self, changes: &Changes) {
        self.dirty
            .extend(changes.writes.iter().map(|w| w.key.clone()));
    }

    /// Whether a failed write left keys to write again.
    pub fn has_dirty(&self) -> bool {
        !self.dirty.is_empty()
    }

    /// An app's stored versions, newest first.
    pub fn versions_of(&self, id: &PathId) -> Vec<&App> {
        self.versions
            .get(id)
            .map(|v| v.values().rev().collect())
            .unwrap_or_default()
    }
}

/// A store in memory, for tests: it can be told to fail.
#[derive(Default)]
pub struct MemoryStore {
    records: std::sync::Mutex<BTreeMap<String, Vec<u8>>>,
    failing: std::sync::atomic::AtomicBool,
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// Every `apply` fails while `failing`.
    pub fn fail(&self, failing: bool) {
        self.failing
            .store(failing, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn records(&self) -> BTreeMap<String, Vec<u8>> {
        self.records.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

impl Store for MemoryStore {
    fn load(&self) -> Pending<BTreeMap<String, Vec<u8>>> {
        let records = self.records();
        Box::pin(async move { Ok(records) })
    }

    fn apply(&self, writes: Vec<Write>) -> Pending<()> {
        if self.failing.load(std::sync::atomic::Ordering::SeqCst) {
            return Box::pin(async {
                Err(StoreError::Io {
                    path: "memory".into(),
                    reason: "failing on purpose".into(),
                })
            });
        }
        if let Ok(mut records) = self.records.lock() {
            for w in writes {
                match w.data {
                    Some(data) => records.insert(w.key, data),
                    None => records.remove(&w.key),
                };
            }
        }
        Box::pin(async { Ok(()) })
    }

    fn describe(&self) -> String {
        "memory".into()
    }
}

/// Applies `changes` to `store` and, when that worked, to `persisted`;
/// for tests and tools that do not run in a process.
pub async fn write_through(
    store: &dyn Store,
    persisted: &mut Persisted,
    changes: Changes,
) -> Result<(), StoreError> {
    match store.apply(changes.writes.clone()).await {
        Ok(()) => {
            persisted.commit(changes);
            Ok(())
        }
        Err(e) => {
            persisted.failed(&changes);
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::marathon::instances::{Effect, Settings};
    use serde_json::json;
    use wire::ids::{FrameworkId, OfferId};
    use wire::mesos::{Offer, TaskStatus};
    use wire::resources::Resources;

    pub(crate) fn app(doc: Value) -> App {
        App::from_json(&doc, &PathId::root()).unwrap()
    }

    pub(crate) fn offer(n: u32) -> Offer {
        Offer {
            id: OfferId::new(format!("o{n}")),
            framework_id: FrameworkId::new("f"),
            agent_id: AgentId::new("a1"),
            hostname: "h1".into(),
            agent_pid: String::new(),
            resources: Resources::parse("cpus:8;mem:4096;ports:[31000-31099]", "*").unwrap(),
            attributes: Vec::new(),
            executor_ids: Vec::new(),
            role: "*".into(),
            unavailability: None,
        }
    }

    /// A core with `/web` (3 instances) launched on one offer, two running.
    fn running_core() -> (Core, Vec<TaskId>) {
        let mut core = Core::new(Settings::default(), 7);
        let mut out = Vec::new();
        core.create(
            app(json!({"id": "/web", "cmd": "serve", "cpus": 0.1, "mem": 8, "instances": 3})),
            "2026-01-01T00:00:00.000Z",
            &mut out,
        )
        .unwrap();
        let mut out = Vec::new();
        core.offers(vec![offer(1)], Duration::from_secs(10), &mut out);
        let tasks: Vec<TaskId> = out
            .iter()
            .flat_map(|e| match e {
                Effect::Launch { tasks, .. } => tasks.iter().map(|t| t.task_id.clone()).collect(),
                _ => Vec::new(),
            })
            .collect();
        for t in &tasks[..2] {
            core.status(
                &TaskStatus::new(t.clone(), TaskState::Running),
                Duration::from_secs(11),
                &mut Vec::new(),
            );
        }
        (core, tasks)
    }

    #[test]
    fn records_round_trip() {
        let (core, _) = running_core();
        for i in core.instances() {
            assert_eq!(&decode_instance(&encode_instance(i)).unwrap(), i);
        }
        let a = core.apps().next().unwrap();
        assert_eq!(&decode_app(&encode_app(a)).unwrap(), a);
        assert!(decode_instance(b"{\"id\": 1}").is_err());
        assert!(decode_app(b"[]").is_err());
    }

    #[test]
    fn a_round_writes_only_what_changed_and_recovery_reads_it_back() {
        let store = MemoryStore::new();
        let mut persisted = Persisted::default();
        let (mut core, tasks) = running_core();
        let changes = persisted.changes(&core, Some("fw-1"), 50).unwrap();
        let mut keys: Vec<&str> = changes.writes.iter().map(|w| w.key.as_str()).collect();
        keys.sort();
        assert_eq!(keys.len(), 6, "{keys:?}");
        assert_eq!(keys[0], "app-version/web@2026-01-01T00:00:00.000Z");
        assert_eq!(keys[1], "app/web");
        assert_eq!(keys[2], "framework-id");
        assert!(keys[3..]
            .iter()
            .all(|k| k.starts_with("instance/web.instance-")));
        block_on(write_through(&store, &mut persisted, changes)).unwrap();
        assert!(
            persisted
                .changes(&core, Some("fw-1"), 50)
                .unwrap()
                .is_empty(),
            "nothing changed since"
        );

        // One status update: one instance record.
        core.status(
            &TaskStatus::new(tasks[2].clone(), TaskState::Running),
            Duration::from_secs(12),
            &mut Vec::new(),
        );
        let changes = persisted.changes(&core, Some("fw-1"), 50).unwrap();
        assert_eq!(changes.writes.len(), 1);
        assert!(changes.writes[0].key.starts_with("instance/"));
        block_on(write_through(&store, &mut persisted, changes)).unwrap();

        let (loaded, warnings) = Persisted::decode(store.records());
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(loaded, persisted);
        assert_eq!(loaded.framework_id.as_deref(), Some("fw-1"));
        let running: Vec<&Instance> = loaded
            .instances
            .values()
            .filter(|i| {
                i.task
                    .as_ref()
                    .is_some_and(|t| t.state == TaskState::Running)
            })
            .collect();
        assert_eq!(running.len(), 3);

        // Deleting the app deletes its records once its tasks are gone.
        core.delete(
            &PathId::parse("/web", &PathId::root()).unwrap(),
            &mut Vec::new(),
        )
        .unwrap();
        for t in &tasks {
            core.status(
                &TaskStatus::new(t.clone(), TaskState::Killed),
                Duration::from_secs(13),
                &mut Vec::new(),
            );
        }
        let changes = persisted.changes(&core, Some("fw-1"), 50).unwrap();
        assert!(changes.writes.iter().all(|w| w.data.is_none()));
        block_on(write_through(&store, &mut persisted, changes)).unwrap();
        assert_eq!(store.records().keys().collect::<Vec<_>>(), ["framework-id"]);
    }

    #[test]
    fn versions_are_bounded_and_listed_newest_first() {
        let store = MemoryStore::new();
        let mut persisted = Persisted::default();
        let mut core = Core::new(Settings::default(), 1);
        core.create(
            app(json!({"id": "/v", "cmd": "c0"})),
            "2026-01-01T00:00:00.000Z",
            &mut Vec::new(),
        )
        .unwrap();
        for n in 1..5 {
            let changes = persisted.changes(&core, None, 3).unwrap();
            block_on(write_through(&store, &mut persisted, changes)).unwrap();
            core.update(
                app(json!({"id": "/v", "cmd": format!("c{n}")})),
                &format!("2026-01-01T00:00:0{n}.000Z"),
                &mut Vec::new(),
            )
            .unwrap();
        }
        let changes = persisted.changes(&core, None, 3).unwrap();
        block_on(write_through(&store, &mut persisted, changes)).unwrap();
        let id = PathId::parse("/v", &PathId::root()).unwrap();
        let versions: Vec<&str> = persisted
            .versions_of(&id)
            .iter()
            .map(|a| a.version.as_str())
            .collect();
        assert_eq!(
            versions,
            [
                "2026-01-01T00:00:04.000Z",
                "2026-01-01T00:00:03.000Z",
                "2026-01-01T00:00:02.000Z"
            ]
        );
        let stored = store
            .records()
            .keys()
            .filter(|k| k.starts_with("app-version/"))
            .count();
        assert_eq!(stored, 3);
    }

    #[test]
    fn a_failed_write_changes_nothing_and_is_written_again() {
        let store = MemoryStore::new();
        let mut persisted = Persisted::default();
        let mut core = Core::new(Settings::default(), 1);
        core.create(app(json!({"id": "/a", "cmd": "x"})), "v1", &mut Vec::new())
            .unwrap();
        store.fail(true);
        let changes = persisted.changes(&core, None, 50).unwrap();
        assert!(block_on(write_through(&store, &mut persisted, changes)).is_err());
        assert!(persisted.apps.is_empty(), "nothing taken in");
        assert!(persisted.has_dirty());

        // The change is withdrawn (the request that made it was refused):
        // the keys it may have written are deleted.
        let empty = Core::new(Settings::default(), 1);
        store.fail(false);
        let changes = persisted.changes(&empty, None, 50).unwrap();
        assert_eq!(changes.writes.len(), 2);
        assert!(changes.writes.iter().all(|w| w.data.is_none()));
        block_on(write_through(&store, &mut persisted, changes)).unwrap();
        assert!(!persisted.has_dirty());
        assert!(persisted.changes(&empty, None, 50).unwrap().is_empty());
    }

    #[test]
    fn too_large_apps_and_bad_records_are_refused() {
        let persisted = Persisted::default();
        let mut core = Core::new(Settings::default(), 1);
        let env: serde_json::Map<String, Value> = (0..2000)
            .map(|n| (format!("K{n}"), json!("v".repeat(400))))
            .collect();
        core.create(
            app(json!({"id": "/big", "cmd": "x", "env": env})),
            "v1",
            &mut Vec::new(),
        )
        .unwrap();
        let e = persisted.changes(&core, None, 50).unwrap_err();
        assert_eq!(e.app.to_string(), "/big");
        assert!(e.bytes > MAX_RECORD_BYTES);

        let mut raw = BTreeMap::new();
        raw.insert("app/x".to_owned(), b"not json".to_vec());
        raw.insert("instance/i".to_owned(), b"{}".to_vec());
        raw.insert("elsewhere".to_owned(), b"1".to_vec());
        raw.insert(
            "app/y".to_owned(),
            encode_app(&app(json!({"id": "/z", "cmd": "x"}))),
        );
        let (p, warnings) = Persisted::decode(raw);
        assert_eq!(warnings.len(), 4, "{warnings:?}");
        assert!(p.apps.is_empty());
        // Left alone: what cannot be read is not deleted.
        let changes = p
            .changes(&Core::new(Settings::default(), 1), None, 50)
            .unwrap();
        assert!(changes.is_empty());
    }

    #[test]
    fn names_are_single_safe_segments() {
        for good in [
            "web",
            "prod_web@2026-01-01T00:00:00.000Z",
            "a.instance-1._app.2",
        ] {
            assert!(valid_name(good), "{good}");
        }
        for bad in ["", ".", "..", "a/b", "a b", "a\0"] {
            assert!(!valid_name(bad), "{bad:?}");
        }
    }

    /// Runs a future to its end on a runtime of its own.
    pub(crate) fn block_on<T>(f: impl Future<Output = T>) -> T {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(f)
    }
}
