//! The scheduler's decisions, with no actor, clock or I/O: the apps, their
//! instances and what each offer and status update comes to.
//!
//! An instance is a slot an app wants filled (goal `Running`) or emptied
//! (goal `Stopped`); each launch of it is a task (`<app>.instance-<uuid>._app.<n>`,
//! `n` counting its launches). Offers fill the slots that have no live
//! task, subject to the app's resources, roles, constraints, ports and
//! launch delay; a task that ends is launched again while its goal is
//! `Running` (after the backoff if it failed), and forgotten with its slot
//! when the goal is `Stopped`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::{json, Value};
use wire::ids::{AgentId, OfferId, TaskId};
use wire::mesos::{
    AttributeValue, CommandInfo, CommandUri, Label, Offer, TaskInfo, TaskMeta, TaskStatus,
};
use wire::resources::{Resource, Resources, Value as ResourceValue};
use wire::task::TaskState;

use super::app::App;
use super::backoff::{Backoff, Policy};
use super::constraints;
use super::env::{task_env, Launch};
use super::error::ApiError;
use super::path::PathId;
use super::ports::take_host_ports;
use super::scale::{choose, Candidate, Condition};
use crate::random::Rng;
use crate::scheduler::pick_resources;

/// What the process must do for the core.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Launch {
        offer: OfferId,
        tasks: Vec<TaskInfo>,
    },
    Decline {
        offer: OfferId,
        seconds: f64,
    },
    Kill(TaskId),
    Revive,
    Suppress,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Goal {
    Running,
    Stopped,
}

/// One launch of an instance.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    pub id: TaskId,
    pub agent_id: AgentId,
    pub host: String,
    pub attributes: BTreeMap<String, String>,
    pub ports: Vec<u32>,
    pub state: TaskState,
    pub staged_at: Duration,
    pub started_at: Option<Duration>,
    pub healthy: Option<bool>,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    pub id: String,
    pub app: PathId,
    pub goal: Goal,
    /// Launches so far.
    pub incarnation: u32,
    pub task: Option<Task>,
}

impl Instance {
    fn live(&self) -> Option<&Task> {
        self.task.as_ref().filter(|t| !t.state.is_terminal())
    }
}

/// What the core is set up with (Marathon's flags).
#[derive(Debug, Clone)]
pub struct Settings {
    pub role: String,
    pub env_prefix: String,
    pub decline_seconds: f64,
    pub max_instances_per_offer: usize,
    pub task_launch_timeout: Duration,
    /// How long a kill may go unanswered before it is sent again
    /// (Marathon's `--kill_retry_timeout`).
    pub kill_retry: Duration,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            role: "*".into(),
            env_prefix: String::new(),
            decline_seconds: 120.0,
            max_instances_per_offer: 5,
            task_launch_timeout: Duration::from_secs(300),
            kill_retry: Duration::from_secs(10),
        }
    }
}

#[derive(Clone)]
pub struct Core {
    settings: Settings,
    apps: BTreeMap<PathId, App>,
    instances: BTreeMap<String, Instance>,
    backoffs: BTreeMap<PathId, Backoff>,
    /// When `tick` last ran.
    last_tick: Duration,
    /// The values of `hostname` and each attribute offers have shown.
    seen: BTreeMap<String, BTreeSet<String>>,
    /// Whether offers are wanted now (so that revive/suppress are sent
    /// only on a change).
    wanting: bool,
    /// Tasks of stopped instances still live, and when a kill for each
    /// was last known to be sent: a kill can be lost (an agent or master
    /// failing over), so it is sent again after `kill_retry`.
    killing: BTreeMap<TaskId, Duration>,
    rng: Rng,
}

impl Core {
    pub fn new(settings: Settings, seed: u64) -> Core {
        Core {
            settings,
            apps: BTreeMap::new(),
            instances: BTreeMap::new(),
            backoffs: BTreeMap::new(),
            seen: BTreeMap::new(),
            last_tick: Duration::ZERO,
            wanting: false,
            killing: BTreeMap::new(),
            rng: Rng::with_seed(seed),
        }
    }

    pub fn apps(&self) -> impl Iterator<Item = &App> {
        self.apps.values()
    }

    pub fn app(&self, id: &PathId) -> Option<&App> {
        self.apps.get(id)
    }

    pub fn instances_of<'a>(&'a self, id: &'a PathId) -> impl Iterator<Item = &'a Instance> + 'a {
        self.instances.values().filter(move |i| &i.app == id)
    }

    pub fn instances(&self) -> impl Iterator<Item = &Instance> {
        self.instances.values()
    }

    /// A new app, `version` its timestamp.
    pub fn create(
        &mut self,
        mut app: App,
        version: &str,
        out: &mut Vec<Effect>,
    ) -> Result<(), ApiError> {
        if self.apps.contains_key(&app.id) {
            return Err(ApiError::Conflict {
                message: format!("An app with id [{}] already exists.", app.id),
                deployments: Vec::new(),
            });
        }
        app.version = version.to_owned();
        let id = app.id.clone();
        self.apps.insert(id.clone(), app);
        self.converge(&id, out);
        Ok(())
    }

    /// Takes in what a new leader recovered: the stored apps and the
    /// instances that had tasks (their states as last stored, to be
    /// reconciled with the master). Slots missing from an app's count are
    /// added as by a scale; an instance of an app that is gone is stopped;
    /// a stopped instance whose task may still run is killed again (the
    /// kill may have been lost with the previous leader).
    pub fn restore(&mut self, apps: Vec<App>, instances: Vec<Instance>, out: &mut Vec<Effect>) {
        for app in apps {
            self.apps.insert(app.id.clone(), app);
        }
        for mut instance in instances {
            if !self.apps.contains_key(&instance.app) {
                instance.goal = Goal::Stopped;
            }
            match (instance.goal, instance.live()) {
                (Goal::Stopped, None) => continue,
                (Goal::Stopped, Some(t)) => out.push(Effect::Kill(t.id.clone())),
                (Goal::Running, _) => {}
            }
            self.instances.insert(instance.id.clone(), instance);
        }
        let ids: Vec<PathId> = self.apps.keys().cloned().collect();
        for id in ids {
            self.converge(&id, out);
        }
        self.want_offers(out);
    }

    /// Replaces an app. A change of anything but `instances` is a new
    /// version: its running instances are replaced (killed, then launched
    /// again with the new definition) and its backoff starts over.
    pub fn update(
        &mut self,
        app: App,
        version: &str,
        out: &mut Vec<Effect>,
    ) -> Result<(), ApiError> {
        self.replace(app, version, false, out)
    }

    /// A rolling restart: the same definition at a new version.
    pub fn restart(
        &mut self,
        app: App,
        version: &str,
        out: &mut Vec<Effect>,
    ) -> Result<(), ApiError> {
        self.replace(app, version, true, out)
    }

    fn replace(
        &mut self,
        mut app: App,
        version: &str,
        restart: bool,
        out: &mut Vec<Effect>,
    ) -> Result<(), ApiError> {
        let Some(old) = self.apps.get(&app.id) else {
            return Err(ApiError::app_not_found(&app.id.to_string()));
        };
        let mut same = app.clone();
        same.instances = old.instances;
        same.version = old.version.clone();
        let config_changed = restart || same != *old;
        app.version = if config_changed {
            version.to_owned()
        } else {
            old.version.clone()
        };
        let id = app.id.clone();
        self.apps.insert(id.clone(), app);
        if config_changed {
            self.backoffs.remove(&id);
            // Each instance keeps its slot; its old task is killed and the
            // relaunch takes the new definition.
            let live: Vec<TaskId> = self
                .instances_of(&id)
                .filter(|i| i.goal == Goal::Running)
                .filter_map(|i| i.live().map(|t| t.id.clone()))
                .collect();
            out.extend(live.into_iter().map(Effect::Kill));
        }
        self.converge(&id, out);
        Ok(())
    }

    /// Removes an app: every instance is stopped.
    pub fn delete(&mut self, id: &PathId, out: &mut Vec<Effect>) -> Result<(), ApiError> {
        if self.apps.remove(id).is_none() {
            return Err(ApiError::app_not_found(&id.to_string()));
        }
        self.backoffs.remove(id);
        let ids: Vec<String> = self.instances_of(id).map(|i| i.id.clone()).collect();
        for iid in ids {
            self.stop(&iid, out);
        }
        self.want_offers(out);
        Ok(())
    }

    /// Operator kills (`DELETE /v2/apps/{id}/tasks/{task}`): with `scale`
    /// the instance goes; without, it is launched again.
    pub fn kill_tasks(
        &mut self,
        tasks: &[TaskId],
        scale: bool,
        out: &mut Vec<Effect>,
    ) -> Vec<TaskId> {
        let mut killed = Vec::new();
        for task in tasks {
            let Some(instance) = self
                .instances
                .values()
                .find(|i| i.task.as_ref().is_some_and(|t| &t.id == task))
                .map(|i| (i.id.clone(), i.app.clone()))
            else {
                continue;
            };
            killed.push(task.clone());
            if scale {
                if let Some(app) = self.apps.get_mut(&instance.1) {
                    app.instances = app.instances.saturating_sub(1);
                }
                self.stop(&instance.0, out);
            } else {
                out.push(Effect::Kill(task.clone()));
            }
        }
        killed
    }

    fn stop(&mut self, instance: &str, out: &mut Vec<Effect>) {
        let Some(i) = self.instances.get_mut(instance) else {
            return;
        };
        i.goal = Goal::Stopped;
        match i.live() {
            Some(t) => out.push(Effect::Kill(t.id.clone())),
            None => {
                self.instances.remove(instance);
            }
        }
    }

    /// Makes the app's slots match its `instances`: new slots to launch,
    /// or the extra ones stopped in Marathon's kill order.
    fn converge(&mut self, id: &PathId, out: &mut Vec<Effect>) {
        let Some(app) = self.apps.get(id) else {
            return;
        };
        let wanted = app.instances as usize;
        let selection = app.kill_selection;
        let spread_field = app
            .constraints
            .iter()
            .find(|c| {
                use super::constraints::Operator::*;
                matches!(c.operator, GroupBy | Unique | MaxPer)
            })
            .map(|c| c.field.clone());
        let running: Vec<&Instance> = self
            .instances_of(id)
            .filter(|i| i.goal == Goal::Running)
            .collect();
        let mut added = false;
        if running.len() < wanted {
            added = true;
            for _ in running.len()..wanted {
                let iid = format!("{}.instance-{}", id.safe(), crate::random::uuid_v4_string());
                self.instances.insert(
                    iid.clone(),
                    Instance {
                        id: iid,
                        app: id.clone(),
                        goal: Goal::Running,
                        incarnation: 0,
                        task: None,
                    },
                );
            }
        } else if running.len() > wanted {
            let candidates: Vec<Candidate> = running
                .iter()
                .map(|i| Candidate {
                    id: i.id.clone(),
                    condition: match i.live().map(|t| t.state) {
                        None => Condition::Staging,
                        Some(TaskState::Unreachable) => Condition::Unreachable,
                        Some(TaskState::Staging) => Condition::Staging,
                        Some(TaskState::Starting) => Condition::Starting,
                        Some(TaskState::Running) => Condition::Running,
                        Some(_) => Condition::Other,
                    },
                    since: i.task.as_ref().map_or(Duration::MAX, |t| t.staged_at),
                    spread_value: spread_field.as_ref().and_then(|f| {
                        let t = i.live()?;
                        constraints::field_value(f, &t.host, &t.attributes).map(str::to_owned)
                    }),
                })
                .collect();
            for iid in choose(&candidates, running.len() - wanted, &[], selection) {
                self.stop(&iid, out);
            }
        }
        if added {
            // New work: offers declined for others are wanted again.
            self.revive(out);
        } else {
            self.want_offers(out);
        }
    }

    /// Asks for offers again even if already wanting: declined offers
    /// stay filtered for `decline_seconds` unless revived.
    fn revive(&mut self, out: &mut Vec<Effect>) {
        self.wanting = true;
        out.push(Effect::Revive);
    }

    /// Changes an app's instance count (the scale of `PUT {"instances": n}`).
    pub fn scale(
        &mut self,
        id: &PathId,
        instances: u32,
        out: &mut Vec<Effect>,
    ) -> Result<(), ApiError> {
        let app = self
            .apps
            .get_mut(id)
            .ok_or_else(|| ApiError::app_not_found(&id.to_string()))?;
        app.instances = instances;
        self.converge(id, out);
        Ok(())
    }

    /// Slots waiting for a launch, by app.
    fn waiting(&self, now: Duration) -> Vec<(PathId, String)> {
        self.instances
            .values()
            .filter(|i| i.goal == Goal::Running && i.live().is_none())
            .filter(|i| self.backoffs.get(&i.app).is_none_or(|b| b.allows(now)))
            .map(|i| (i.app.clone(), i.id.clone()))
            .collect()
    }

    /// The instances waiting to launch and the delay of their app
    /// (`/v2/queue`).
    pub fn queue(&self, now: Duration) -> Vec<(PathId, usize, Duration)> {
        let mut by_app: BTreeMap<&PathId, usize> = BTreeMap::new();
        for i in self.instances.values() {
            if i.goal == Goal::Running && i.live().is_none() {
                *by_app.entry(&i.app).or_default() += 1;
            }
        }
        by_app
            .into_iter()
            .map(|(id, n)| {
                let left = self
                    .backoffs
                    .get(id)
                    .map_or(Duration::ZERO, |b| b.left(now));
                (id.clone(), n, left)
            })
            .collect()
    }

    /// `DELETE /v2/queue/{id}/delay`.
    pub fn reset_delay(&mut self, id: &PathId) -> bool {
        self.backoffs.remove(id).is_some()
    }

    fn want_offers(&mut self, out: &mut Vec<Effect>) {
        let wanting = self
            .instances
            .values()
            .any(|i| i.goal == Goal::Running && i.live().is_none());
        if wanting != self.wanting {
            self.wanting = wanting;
            out.push(if wanting {
                Effect::Revive
            } else {
                Effect::Suppress
            });
        }
    }

    /// Offers: each fills what waiting slots it can; the rest is declined.
    pub fn offers(&mut self, offers: Vec<Offer>, now: Duration, out: &mut Vec<Effect>) {
        for offer in offers {
            let tasks = self.fill(&offer, now);
            if tasks.is_empty() {
                out.push(Effect::Decline {
                    offer: offer.id,
                    seconds: self.settings.decline_seconds,
                });
            } else {
                out.push(Effect::Launch {
                    offer: offer.id,
                    tasks,
                });
            }
        }
        self.want_offers(out);
    }

    fn fill(&mut self, offer: &Offer, now: Duration) -> Vec<TaskInfo> {
        let attributes: BTreeMap<String, String> = offer
            .attributes
            .iter()
            .map(|a| (a.name.clone(), attribute_text(&a.value)))
            .collect();
        for (name, value) in attributes
            .iter()
            .chain([(&"hostname".to_owned(), &offer.hostname)])
        {
            self.seen
                .entry(name.clone())
                .or_default()
                .insert(value.clone());
        }
        let mut left = offer.resources.clone();
        let mut tasks = Vec::new();
        for (app_id, iid) in self.waiting(now) {
            if tasks.len() >= self.settings.max_instances_per_offer {
                break;
            }
            let Some(app) = self.apps.get(&app_id) else {
                continue;
            };
            let placed: Vec<(String, BTreeMap<String, String>)> = self
                .instances_of(&app_id)
                .filter_map(|i| i.live())
                .map(|t| (t.host.clone(), t.attributes.clone()))
                .collect();
            if !constraints::all_admit(
                &app.constraints,
                &offer.hostname,
                &attributes,
                &placed,
                &self.seen,
            ) {
                continue;
            }
            let Some((resources, ports)) = take(app, &left, &self.settings.role, &mut self.rng)
            else {
                continue;
            };
            left = left.minus(&resources);
            let Some(instance) = self.instances.get_mut(&iid) else {
                continue;
            };
            instance.incarnation += 1;
            let task_id = TaskId::new(format!("{iid}._app.{}", instance.incarnation));
            let info = task_info(
                app,
                &task_id,
                offer,
                resources,
                &ports,
                &self.settings.env_prefix,
            );
            instance.task = Some(Task {
                id: task_id,
                agent_id: offer.agent_id.clone(),
                host: offer.hostname.clone(),
                attributes: attributes.clone(),
                ports,
                state: TaskState::Staging,
                staged_at: now,
                started_at: None,
                healthy: None,
                version: app.version.clone(),
            });
            tasks.push(info);
        }
        tasks
    }

    /// A status update for one of our tasks.
    pub fn status(&mut self, status: &TaskStatus, now: Duration, out: &mut Vec<Effect>) {
        let Some(iid) = self
            .instances
            .values()
            .find(|i| i.task.as_ref().is_some_and(|t| t.id == status.task_id))
            .map(|i| i.id.clone())
        else {
            // Not ours (any more): a task left over, to be killed if live.
            if !status.state.is_terminal() {
                out.push(Effect::Kill(status.task_id.clone()));
            }
            return;
        };
        let Some(instance) = self.instances.get_mut(&iid) else {
            return;
        };
        let app_id = instance.app.clone();
        let goal = instance.goal;
        if let Some(task) = instance.task.as_mut() {
            task.state = status.state;
            if status.healthy.is_some() {
                task.healthy = status.healthy;
            }
            if status.state == TaskState::Running && task.started_at.is_none() {
                task.started_at = Some(now);
            }
        }
        if !status.state.is_terminal() {
            return;
        }
        match goal {
            Goal::Stopped => {
                self.instances.remove(&iid);
            }
            Goal::Running => {
                // A kill does not delay the next launch; anything else does.
                if status.state == TaskState::Killed {
                    self.revive(out);
                    return;
                }
                if let Some(app) = self.apps.get(&app_id) {
                    let policy = Policy {
                        seconds: app.backoff_seconds,
                        factor: app.backoff_factor,
                        max_seconds: app.max_launch_delay_seconds,
                    };
                    let previous = self.backoffs.get(&app_id).copied();
                    self.backoffs
                        .insert(app_id.clone(), Backoff::failed(previous, policy, now));
                }
            }
        }
        self.want_offers(out);
    }

    /// Periodic work: tasks not running within the launch timeout are
    /// killed (and so replaced); the offers wanted are revived once a
    /// delay has passed.
    pub fn tick(&mut self, now: Duration, out: &mut Vec<Effect>) {
        let timeout = self.settings.task_launch_timeout;
        for i in self.instances.values() {
            if let Some(t) = i.live() {
                let launching = matches!(t.state, TaskState::Staging | TaskState::Starting);
                if launching && now.saturating_sub(t.staged_at) > timeout {
                    out.push(Effect::Kill(t.id.clone()));
                }
            }
        }
        self.retry_kills(now, out);
        // A delay that ended since the last tick: its slots want offers
        // now, not when earlier declines run out.
        let ended: Vec<PathId> = self
            .backoffs
            .iter()
            .filter(|(_, b)| b.allows(now) && !b.allows(self.last_tick))
            .map(|(id, _)| id.clone())
            .collect();
        self.last_tick = now;
        if ended
            .iter()
            .any(|id| self.waiting(now).iter().any(|(a, _)| a == id))
        {
            self.revive(out);
        }
    }

    /// Kills again the live tasks of stopped instances whose kill has
    /// gone unanswered for `kill_retry`. A task first seen here was
    /// killed when its instance stopped, so its clock starts now.
    fn retry_kills(&mut self, now: Duration, out: &mut Vec<Effect>) {
        let retry = self.settings.kill_retry;
        let stopping: BTreeSet<TaskId> = self
            .instances
            .values()
            .filter(|i| i.goal == Goal::Stopped)
            .filter_map(|i| i.live())
            .map(|t| t.id.clone())
            .collect();
        self.killing.retain(|id, _| stopping.contains(id));
        for id in stopping {
            let sent = self.killing.entry(id.clone()).or_insert(now);
            if now.saturating_sub(*sent) >= retry {
                tracing::info!(task = %id, "a kill went unanswered; sending it again");
                out.push(Effect::Kill(id));
                *sent = now;
            }
        }
    }

    /// Tasks to reconcile with the master: every live one.
    pub fn live_tasks(&self) -> Vec<(TaskId, Option<AgentId>)> {
        self.instances
            .values()
            .filter_map(|i| i.live())
            .map(|t| (t.id.clone(), Some(t.agent_id.clone())))
            .collect()
    }

    /// Counts of an app's tasks by Marathon's buckets.
    pub fn counts(&self, id: &PathId) -> Counts {
        let mut c = Counts::default();
        for t in self.instances_of(id).filter_map(|i| i.live()) {
            match t.state {
                TaskState::Running => c.running += 1,
                TaskState::Staging | TaskState::Starting => c.staged += 1,
                _ => {}
            }
            match t.healthy {
                Some(true) => c.healthy += 1,
                Some(false) => c.unhealthy += 1,
                None => {}
            }
        }
        c
    }
}

/// The app's resources out of what is left of an offer, in the roles
/// it accepts, and its host ports.
fn take(
    app: &App,
    left: &Resources,
    framework_role: &str,
    rng: &mut Rng,
) -> Option<(Resources, Vec<u32>)> {
    let roles = app
        .accepted_resource_roles
        .clone()
        .unwrap_or_else(|| vec!["*".to_owned(), framework_role.to_owned()]);
    let mut wanted = Resources::new();
    for (name, v) in [("cpus", app.cpus), ("mem", app.mem), ("disk", app.disk)] {
        if v > 0.0 {
            let _ = wanted.add(Resource::scalar(name, v));
        }
    }
    let role = roles
        .iter()
        .find(|r| r.as_str() != "*")
        .map_or("*", String::as_str);
    let mut picked = pick_resources(left, &wanted, role)?;
    if picked.iter().any(|r| !roles.contains(&r.role)) {
        return None;
    }
    let requested: Vec<u32> = match app.port_mappings() {
        Some(m) => m.iter().filter_map(|m| m.host_port).collect(),
        None => app
            .port_definitions
            .iter()
            .map(|p| if app.require_ports { p.port } else { 0 })
            .collect(),
    };
    let mut ports = Vec::new();
    if !requested.is_empty() {
        let offered: Vec<(u64, u64)> = left
            .iter()
            .filter(|r| r.name == "ports" && roles.contains(&r.role))
            .flat_map(|r| match &r.value {
                ResourceValue::Ranges(rs) => rs.clone(),
                _ => Vec::new(),
            })
            .collect();
        ports = take_host_ports(&requested, &offered, rng)?;
        let role = left
            .iter()
            .find(|r| r.name == "ports" && roles.contains(&r.role))
            .map_or("*".to_owned(), |r| r.role.clone());
        let ranges: Vec<(u64, u64)> = ports
            .iter()
            .map(|p| (u64::from(*p), u64::from(*p)))
            .collect();
        let _ = picked.add(Resource::ranges("ports", &ranges).with_role(&role));
    }
    Some((picked, ports))
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub staged: usize,
    pub running: usize,
    pub healthy: usize,
    pub unhealthy: usize,
}

pub fn state_name(state: TaskState) -> String {
    serde_json::to_value(state)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The Mesos task of one launch: command, environment, fetch, labels and
/// DiscoveryInfo (`name` the reversed app path, ports named as the app
/// names them).
fn task_info(
    app: &App,
    id: &TaskId,
    offer: &Offer,
    resources: Resources,
    ports: &[u32],
    prefix: &str,
) -> TaskInfo {
    let names: Vec<Option<String>> = match app.port_mappings() {
        Some(m) => m
            .iter()
            .filter(|m| m.host_port.is_some())
            .map(|m| m.name.clone())
            .collect(),
        None => app
            .port_definitions
            .iter()
            .map(|p| p.name.clone())
            .collect(),
    };
    let env = task_env(
        app,
        &Launch {
            task_id: &id.value,
            host: &offer.hostname,
            ports,
            port_names: &names,
            prefix,
        },
    );
    let mut command = match (&app.cmd, &app.args) {
        (Some(cmd), _) => CommandInfo::shell(cmd),
        (None, Some(args)) => CommandInfo {
            value: args.first().cloned(),
            shell: false,
            arguments: args.clone(),
            ..CommandInfo::shell("")
        },
        (None, None) => CommandInfo {
            value: None,
            shell: false,
            ..CommandInfo::shell("")
        },
    };
    command.environment = env.into_iter().collect();
    command.user = app.user.clone();
    command.uris = app
        .fetch
        .iter()
        .map(|f| CommandUri {
            value: f.uri.clone(),
            executable: f.executable,
            extract: f.extract,
            output_file: f.dest_path.clone(),
            cache: f.cache,
        })
        .collect();
    let protocol_of = |i: usize| -> String {
        match app.port_mappings() {
            Some(m) => m
                .iter()
                .filter(|m| m.host_port.is_some())
                .nth(i)
                .map(|m| m.protocol.clone()),
            None => app.port_definitions.get(i).map(|p| p.protocol.clone()),
        }
        .unwrap_or_else(|| "tcp".into())
    };
    let discovery_ports: Vec<Value> = ports
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut port = json!({"number": p, "protocol": protocol_of(i)});
            if let Some(Some(name)) = names.get(i) {
                port["name"] = json!(name);
            }
            port
        })
        .collect();
    let discovery = json!({
        "visibility": "FRAMEWORK",
        "name": app.id.reversed_dotted(),
        "ports": {"ports": discovery_ports},
    });
    TaskInfo {
        name: app.id.reversed_dotted(),
        task_id: id.clone(),
        agent_id: offer.agent_id.clone(),
        resources,
        command: Some(command),
        executor: None,
        data: None,
        kill_grace_period: app.task_kill_grace_period_seconds.map(|s| s as f64),
        meta: TaskMeta {
            labels: app
                .labels
                .iter()
                .map(|(k, v)| Label {
                    key: k.clone(),
                    value: Some(v.clone()),
                })
                .collect(),
            discovery: Some(discovery.to_string()),
            ..TaskMeta::default()
        },
    }
}

/// An attribute's value as constraints compare it: as Mesos prints it,
/// scalars at three decimals.
fn attribute_text(v: &AttributeValue) -> String {
    match v {
        AttributeValue::Scalar(n) => {
            let rounded = (n * 1000.0).round() / 1000.0;
            format!("{rounded}")
        }
        AttributeValue::Ranges(r) => {
            let parts: Vec<String> = r.iter().map(|(b, e)| format!("{b}-{e}")).collect();
            format!("[{}]", parts.join(","))
        }
        AttributeValue::Set(items) => format!("{{{}}}", items.join(",")),
        AttributeValue::Text(t) => t.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wire::ids::FrameworkId;
    use wire::mesos::Attribute;

    fn app(doc: Value) -> App {
        App::from_json(&doc, &PathId::root()).unwrap()
    }

    fn offer(n: u32, host: &str, resources: &str, attrs: &[(&str, &str)]) -> Offer {
        Offer {
            id: OfferId::new(format!("o{n}")),
            framework_id: FrameworkId::new("f"),
            agent_id: AgentId::new(format!("a-{host}")),
            hostname: host.into(),
            agent_pid: String::new(),
            resources: Resources::parse(resources, "*").unwrap(),
            attributes: attrs
                .iter()
                .map(|(k, v)| Attribute {
                    name: (*k).into(),
                    value: AttributeValue::Text((*v).into()),
                })
                .collect(),
            executor_ids: Vec::new(),
            role: "*".into(),
            unavailability: None,
        }
    }

    fn launched(out: &[Effect]) -> Vec<TaskInfo> {
        out.iter()
            .filter_map(|e| match e {
                Effect::Launch { tasks, .. } => Some(tasks.clone()),
                _ => None,
            })
            .flatten()
            .collect()
    }

    fn kills(out: &[Effect]) -> Vec<TaskId> {
        out.iter()
            .filter_map(|e| match e {
                Effect::Kill(t) => Some(t.clone()),
                _ => None,
            })
            .collect()
    }

    fn status(core: &mut Core, task: &TaskId, state: TaskState, now: u64) -> Vec<Effect> {
        let mut out = Vec::new();
        core.status(
            &TaskStatus::new(task.clone(), state),
            Duration::from_secs(now),
            &mut out,
        );
        out
    }

    const BIG: &str = "cpus:8;mem:4096;disk:1000;ports:[31000-31099]";

    #[test]
    fn offers_fill_waiting_instances_with_the_apps_task() {
        let mut core = Core::new(Settings::default(), 1);
        let mut out = Vec::new();
        core.create(
            app(json!({"id": "/prod/web", "cmd": "serve $PORT0", "cpus": 1, "mem": 64, "instances": 3,
                       "labels": {"team": "x"}})),
            "v1",
            &mut out,
        )
        .unwrap();
        assert_eq!(out, [Effect::Revive], "offers wanted once something waits");
        let mut out = Vec::new();
        core.offers(
            vec![offer(1, "h1", "cpus:2;mem:1024;ports:[31000-31010]", &[])],
            Duration::ZERO,
            &mut out,
        );
        let tasks = launched(&out);
        assert_eq!(tasks.len(), 2, "two fit the offer's cpus");
        let t = &tasks[0];
        assert_eq!(t.name, "web.prod");
        assert!(
            t.task_id.value.starts_with("prod_web.instance-"),
            "{}",
            t.task_id
        );
        assert!(t.task_id.value.ends_with("._app.1"), "{}", t.task_id);
        assert_eq!(t.resources.scalar("cpus"), 1.0);
        let command = t.command.as_ref().unwrap();
        let env: BTreeMap<_, _> = command.environment.iter().cloned().collect();
        let port: u64 = env["PORT0"].parse().unwrap();
        assert!((31000..=31010).contains(&port));
        assert_eq!(env["MARATHON_APP_ID"], "/prod/web");
        let discovery: Value = serde_json::from_str(t.meta.discovery.as_ref().unwrap()).unwrap();
        assert_eq!(discovery["name"], "web.prod");
        assert_eq!(discovery["ports"]["ports"][0]["number"], port);
        assert_eq!(t.meta.labels[0].key, "team");
        assert_eq!(
            core.counts(&app(json!({"id": "/prod/web", "cmd": "x"})).id)
                .staged,
            2
        );

        // The third comes from the next offer; then nothing waits.
        let mut out = Vec::new();
        core.offers(vec![offer(2, "h2", BIG, &[])], Duration::ZERO, &mut out);
        assert_eq!(launched(&out).len(), 1);
        assert!(out.contains(&Effect::Suppress), "{out:?}");
        let mut out = Vec::new();
        core.offers(vec![offer(3, "h3", BIG, &[])], Duration::ZERO, &mut out);
        assert!(matches!(out.as_slice(), [Effect::Decline { seconds, .. }] if *seconds == 120.0));
    }

    #[test]
    fn constraints_place_and_refuse() {
        let mut core = Core::new(Settings::default(), 2);
        let mut out = Vec::new();
        core.create(
            app(
                json!({"id": "/u", "cmd": "x", "cpus": 0.1, "mem": 1, "instances": 2,
                       "constraints": [["hostname", "UNIQUE"], ["rack", "LIKE", "r[12]"]]}),
            ),
            "v1",
            &mut out,
        )
        .unwrap();
        let mut out = Vec::new();
        core.offers(
            vec![
                offer(1, "h1", BIG, &[("rack", "r1")]),
                offer(2, "h1", BIG, &[("rack", "r1")]),
                offer(3, "h3", BIG, &[("rack", "r3")]),
                offer(4, "h4", BIG, &[]),
                offer(5, "h5", BIG, &[("rack", "r2")]),
            ],
            Duration::ZERO,
            &mut out,
        );
        let hosts: Vec<String> = out
            .iter()
            .filter_map(|e| match e {
                Effect::Launch { offer, tasks } => Some(format!("{}:{}", offer, tasks.len())),
                _ => None,
            })
            .collect();
        assert_eq!(hosts, ["o1:1", "o5:1"], "one per host, only racks r1/r2");
    }

    #[test]
    fn failed_tasks_are_relaunched_after_a_growing_delay_and_kills_do_not_delay() {
        let mut core = Core::new(Settings::default(), 3);
        let mut out = Vec::new();
        core.create(
            app(json!({"id": "/f", "cmd": "false", "cpus": 0.1, "mem": 1, "backoffSeconds": 10, "backoffFactor": 2})),
            "v1",
            &mut out,
        )
        .unwrap();
        let launch = |core: &mut Core, at: u64| {
            let mut out = Vec::new();
            core.offers(
                vec![offer(at as u32, "h1", BIG, &[])],
                Duration::from_secs(at),
                &mut out,
            );
            launched(&out)
        };
        let first = launch(&mut core, 0);
        assert_eq!(first.len(), 1);
        status(&mut core, &first[0].task_id, TaskState::Failed, 1);
        assert!(launch(&mut core, 5).is_empty(), "inside the 10 s delay");
        let second = launch(&mut core, 11);
        assert_eq!(second.len(), 1);
        assert!(
            second[0].task_id.value.ends_with("._app.2"),
            "the same instance again"
        );
        status(&mut core, &second[0].task_id, TaskState::Failed, 12);
        assert!(
            launch(&mut core, 25).is_empty(),
            "the delay doubled to 20 s"
        );
        let third = launch(&mut core, 33);
        assert_eq!(third.len(), 1);
        status(&mut core, &third[0].task_id, TaskState::Killed, 34);
        assert!(core.queue(Duration::from_secs(34))[0].2 <= Duration::from_secs(19));
        assert!(core.reset_delay(&PathId::parse("/f", &PathId::root()).unwrap()));
        assert_eq!(
            launch(&mut core, 35).len(),
            1,
            "a reset delay launches at once"
        );
    }

    #[test]
    fn scaling_down_kills_the_youngest_and_delete_stops_all() {
        let mut core = Core::new(Settings::default(), 4);
        let id = PathId::parse("/s", &PathId::root()).unwrap();
        let mut out = Vec::new();
        core.create(
            app(json!({"id": "/s", "cmd": "x", "cpus": 0.1, "mem": 1, "instances": 3})),
            "v1",
            &mut out,
        )
        .unwrap();
        let mut tasks = Vec::new();
        for at in 0..3 {
            let mut out = Vec::new();
            core.offers(
                vec![offer(at, "h1", "cpus:0.1;mem:1;ports:[31000-31010]", &[])],
                Duration::from_secs(at.into()),
                &mut out,
            );
            tasks.extend(launched(&out));
        }
        assert_eq!(tasks.len(), 3);
        for t in &tasks {
            status(&mut core, &t.task_id, TaskState::Running, 5);
        }
        assert_eq!(core.counts(&id).running, 3);
        let mut out = Vec::new();
        core.scale(&id, 1, &mut out).unwrap();
        let mut killed = kills(&out);
        killed.sort();
        let mut youngest = vec![tasks[1].task_id.clone(), tasks[2].task_id.clone()];
        youngest.sort();
        assert_eq!(killed, youngest);
        for t in &killed {
            status(&mut core, t, TaskState::Killed, 6);
        }
        assert_eq!(
            core.instances_of(&id).count(),
            1,
            "stopped slots are forgotten"
        );
        let mut out = Vec::new();
        core.delete(&id, &mut out).unwrap();
        assert_eq!(kills(&out), [tasks[0].task_id.clone()]);
        assert!(core.app(&id).is_none());
        assert!(core.delete(&id, &mut Vec::new()).is_err());
        let mut out = Vec::new();
        core.status(
            &TaskStatus::new(TaskId::new("stranger"), TaskState::Running),
            Duration::ZERO,
            &mut out,
        );
        assert_eq!(
            kills(&out),
            [TaskId::new("stranger")],
            "a task not ours is killed"
        );
    }

    #[test]
    fn an_unanswered_kill_is_sent_again_after_the_retry_timeout() {
        let mut core = Core::new(Settings::default(), 4);
        let id = PathId::parse("/k", &PathId::root()).unwrap();
        core.create(
            app(json!({"id": "/k", "cmd": "x", "cpus": 0.1, "mem": 1, "instances": 2})),
            "v1",
            &mut Vec::new(),
        )
        .unwrap();
        let mut out = Vec::new();
        core.offers(vec![offer(0, "h1", BIG, &[])], Duration::ZERO, &mut out);
        let tasks = launched(&out);
        assert_eq!(tasks.len(), 2);
        for t in &tasks {
            status(&mut core, &t.task_id, TaskState::Running, 1);
        }
        let mut out = Vec::new();
        core.scale(&id, 1, &mut out).unwrap();
        let killed = kills(&out);
        assert_eq!(killed.len(), 1);
        let tick = |core: &mut Core, at: u64| {
            let mut out = Vec::new();
            core.tick(Duration::from_secs(at), &mut out);
            kills(&out)
        };
        // The kill is lost: nothing comes back.
        assert!(tick(&mut core, 2).is_empty(), "the clock starts");
        assert!(tick(&mut core, 11).is_empty(), "not yet 10 s");
        assert_eq!(tick(&mut core, 12), killed, "sent again after 10 s");
        assert!(tick(&mut core, 13).is_empty(), "then waits again");
        assert_eq!(tick(&mut core, 22), killed);
        // The task that kept running is not killed.
        let kept: Vec<TaskId> = tasks
            .iter()
            .map(|t| t.task_id.clone())
            .filter(|t| !killed.contains(t))
            .collect();
        assert_eq!(kept.len(), 1);
        // Once the kill is answered, no more kills.
        status(&mut core, &killed[0], TaskState::Killed, 23);
        assert!(tick(&mut core, 40).is_empty());
        assert_eq!(core.counts(&id).running, 1);
    }

    #[test]
    fn a_restored_core_keeps_running_tasks_fills_missing_slots_and_kills_stopped_ones() {
        let mut before = Core::new(Settings::default(), 6);
        let mut out = Vec::new();
        before
            .create(
                app(json!({"id": "/r", "cmd": "x", "cpus": 0.1, "mem": 1, "instances": 2})),
                "v1",
                &mut out,
            )
            .unwrap();
        let mut out = Vec::new();
        before.offers(vec![offer(1, "h1", BIG, &[])], Duration::ZERO, &mut out);
        let tasks = launched(&out);
        assert_eq!(tasks.len(), 2);
        status(&mut before, &tasks[0].task_id, TaskState::Running, 1);
        let apps: Vec<App> = before.apps().cloned().collect();
        let mut instances: Vec<Instance> = before.instances().cloned().collect();
        // One instance was stored stopped (a scale-down whose kill was lost).
        let stopped = instances
            .iter_mut()
            .find(|i| i.task.as_ref().is_some_and(|t| t.id == tasks[1].task_id))
            .unwrap();
        stopped.goal = Goal::Stopped;

        let mut after = Core::new(Settings::default(), 7);
        let mut out = Vec::new();
        after.restore(apps, instances, &mut out);
        assert_eq!(kills(&out), std::slice::from_ref(&tasks[1].task_id));
        assert!(out.contains(&Effect::Revive), "a slot waits: {out:?}");
        let id = PathId::parse("/r", &PathId::root()).unwrap();
        assert_eq!(after.counts(&id).running, 1, "not restarted");
        assert_eq!(after.instances_of(&id).count(), 3, "2 wanted + 1 stopping");
        let mut out = Vec::new();
        after.offers(vec![offer(2, "h2", BIG, &[])], Duration::ZERO, &mut out);
        assert_eq!(launched(&out).len(), 1, "only the missing one launches");
    }

    #[test]
    fn a_new_version_replaces_tasks_and_a_slow_launch_is_killed() {
        let settings = Settings {
            task_launch_timeout: Duration::from_secs(60),
            ..Settings::default()
        };
        let mut core = Core::new(settings, 5);
        let mut out = Vec::new();
        core.create(
            app(json!({"id": "/v", "cmd": "a", "cpus": 0.1, "mem": 1})),
            "v1",
            &mut out,
        )
        .unwrap();
        let mut out = Vec::new();
        core.offers(vec![offer(1, "h1", BIG, &[])], Duration::ZERO, &mut out);
        let task = launched(&out).remove(0);
        let mut out = Vec::new();
        core.tick(Duration::from_secs(61), &mut out);
        assert_eq!(
            kills(&out),
            std::slice::from_ref(&task.task_id),
            "not running within the timeout"
        );
        status(&mut core, &task.task_id, TaskState::Running, 62);
        let mut out = Vec::new();
        core.update(
            app(json!({"id": "/v", "cmd": "b", "cpus": 0.1, "mem": 1})),
            "v2",
            &mut out,
        )
        .unwrap();
        assert_eq!(kills(&out), std::slice::from_ref(&task.task_id));
        status(&mut core, &task.task_id, TaskState::Killed, 63);
        let mut out = Vec::new();
        core.offers(
            vec![offer(2, "h1", BIG, &[])],
            Duration::from_secs(63),
            &mut out,
        );
        let next = launched(&out);
        assert_eq!(
            next[0].command.as_ref().unwrap().value.as_deref(),
            Some("b")
        );
        // Only the instance count changing is not a new version.
        let mut out = Vec::new();
        core.update(
            app(json!({"id": "/v", "cmd": "b", "cpus": 0.1, "mem": 1, "instances": 2})),
            "v3",
            &mut out,
        )
        .unwrap();
        assert!(kills(&out).is_empty());
        assert_eq!(
            core.app(&PathId::parse("/v", &PathId::root()).unwrap())
                .unwrap()
                .version,
            "v2"
        );
    }
}
