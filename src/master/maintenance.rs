//! Maintenance (Mesos's `master/maintenance.cpp` and the maintenance parts
//! of `master.cpp`): the schedule of machines with their windows, the mode
//! of each scheduled machine (DRAINING, DOWN), inverse offers asking the
//! frameworks that run on a draining machine to leave it, and their
//! answers. [`Maintenance`] is the pure bookkeeping (validation as Mesos
//! validates, the status and schedule as JSON); the `impl Core` block
//! below turns operator requests and framework answers into effects.
//!
//! Agents are matched to machines by the parts a machine id names: its
//! hostname (without case) and/or its IP, against the agent's hostname and
//! the IP of its pid.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use actors::Pid;
use serde_json::{json, Value};
use wire::agent::ShutdownAgent;
use wire::ids::{AgentId, FrameworkId, OfferId};
use wire::maintenance::{
    schedule_json, MachineId, MachineInfo, MachineMode, Maintenance as Stored, Unavailability,
    Window,
};
use wire::registry::Operation as RegistryOp;
use wire::task::{Reason, TaskState};

use super::core::Core;
use super::effects::{Effects, Now, ToAgent, ToScheduler};
use super::state::AgentRecord;
use super::tasks::Ending;

/// What an agent on a machine brought down is told.
pub const DOWN_MESSAGE: &str = "Operator initiated 'Machine DOWN'";
/// What an agent of a DOWN machine that tries to register is told.
pub const REFUSED_MESSAGE: &str = "Machine is `DOWN`";

/// A framework's answer to the inverse offers for a machine
/// (`InverseOfferStatus.Status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Unknown,
    Accept,
    Decline,
}

impl Answer {
    pub fn name(self) -> &'static str {
        match self {
            Answer::Unknown => "UNKNOWN",
            Answer::Accept => "ACCEPT",
            Answer::Decline => "DECLINE",
        }
    }
}

/// One scheduled machine.
#[derive(Debug, Clone, PartialEq)]
pub struct Machine {
    pub mode: MachineMode,
    /// Its window's unavailability.
    pub unavailability: Option<Unavailability>,
    /// Each framework asked to leave it: its answer and when.
    pub statuses: BTreeMap<FrameworkId, (Answer, f64)>,
}

/// An outstanding inverse offer: the framework is asked to give up what
/// it holds on the agent.
#[derive(Debug, Clone, PartialEq)]
pub struct InverseOffer {
    pub id: OfferId,
    pub framework_id: FrameworkId,
    pub agent_id: AgentId,
    pub machine: MachineId,
    pub hostname: String,
    pub agent_pid: String,
    pub unavailability: Option<Unavailability>,
}

/// The master's maintenance records.
#[derive(Debug, Default)]
pub struct Maintenance {
    /// The schedule, as the registry has it.
    windows: Vec<Window>,
    /// Every machine named in `windows`, and only those.
    machines: BTreeMap<MachineId, Machine>,
    /// Outstanding inverse offers, each for an agent of a DRAINING machine.
    inverse_offers: HashMap<OfferId, InverseOffer>,
}

fn refuse<T>(message: String) -> Result<T, String> {
    Err(message)
}

/// Checks a machine id as Mesos does: a hostname or an IP, and an IP
/// that parses.
fn valid_machine(id: &MachineId) -> Result<(), String> {
    if id.hostname.is_none() && id.ip.is_none() {
        return refuse("Both 'hostname' and 'ip' for a MachineID are empty".into());
    }
    if let Some(ip) = &id.ip {
        if ip.parse::<std::net::IpAddr>().is_err() {
            return refuse(format!("Failed to parse IP '{ip}' of machine '{id}'"));
        }
    }
    Ok(())
}

/// A list of machines to bring down or up: not empty, each valid, none
/// twice.
fn valid_list(ids: &[MachineId]) -> Result<(), String> {
    if ids.is_empty() {
        return refuse("List of machines is empty".into());
    }
    let mut seen = BTreeSet::new();
    for id in ids {
        valid_machine(id)?;
        if !seen.insert(id) {
            return refuse(format!("Machine '{id}' appears more than once in the list"));
        }
    }
    Ok(())
}

impl Maintenance {
    /// What the registry kept.
    pub fn recovered(stored: Stored) -> Maintenance {
        let machines = stored
            .machines
            .into_iter()
            .map(|m| {
                let machine = Machine {
                    mode: m.mode,
                    unavailability: m.unavailability,
                    statuses: BTreeMap::new(),
                };
                (m.id, machine)
            })
            .collect();
        Maintenance {
            windows: stored.windows,
            machines,
            inverse_offers: HashMap::new(),
        }
    }

    /// What the registry is to keep.
    pub fn stored(&self) -> Stored {
        Stored {
            windows: self.windows.clone(),
            machines: self
                .machines
                .iter()
                .map(|(id, m)| MachineInfo {
                    id: id.clone(),
                    mode: m.mode,
                    unavailability: m.unavailability,
                })
                .collect(),
        }
    }

    pub fn windows(&self) -> &[Window] {
        &self.windows
    }

    pub fn machines(&self) -> &BTreeMap<MachineId, Machine> {
        &self.machines
    }

    pub fn inverse_offers(&self) -> &HashMap<OfferId, InverseOffer> {
        &self.inverse_offers
    }

    /// The scheduled machine an agent on `hostname` at `ip` runs on.
    pub fn machine_of(&self, hostname: &str, ip: &str) -> Option<(&MachineId, &Machine)> {
        self.machines
            .iter()
            .find(|(id, _)| id.matches(hostname, ip))
    }

    /// Checks a new schedule: every window names machines, each valid and
    /// in one window only, and no DOWN machine is left out.
    pub fn check_schedule(&self, windows: &[Window]) -> Result<(), String> {
        let mut seen = BTreeSet::new();
        for w in windows {
            if w.machine_ids.is_empty() {
                return refuse("List of machines in the maintenance window is empty".into());
            }
            if w.unavailability.duration_ns.is_some_and(|d| d < 0) {
                return refuse("Unavailability 'duration' is negative".into());
            }
            for id in &w.machine_ids {
                valid_machine(id)?;
                if !seen.insert(id) {
                    return refuse(format!(
                        "Machine '{id}' appears more than once in the schedule"
                    ));
                }
            }
        }
        for (id, m) in &self.machines {
            if m.mode == MachineMode::Down && !seen.contains(id) {
                return refuse(format!(
                    "Machine '{id}' is deactivated and cannot be removed from the schedule"
                ));
            }
        }
        Ok(())
    }

    /// Takes a checked schedule: new machines are DRAINING, machines kept
    /// keep their mode and answers, the others are forgotten.
    pub fn set_schedule(&mut self, windows: Vec<Window>) {
        let mut machines = BTreeMap::new();
        for w in &windows {
            for id in &w.machine_ids {
                let mut m = self.machines.remove(id).unwrap_or(Machine {
                    mode: MachineMode::Draining,
                    unavailability: None,
                    statuses: BTreeMap::new(),
                });
                m.unavailability = Some(w.unavailability);
                machines.insert(id.clone(), m);
            }
        }
        self.machines = machines;
        self.windows = windows;
        let machines = &self.machines;
        self.inverse_offers.retain(|_, o| {
            machines
                .get(&o.machine)
                .is_some_and(|m| m.mode == MachineMode::Draining)
        });
    }

    /// Checks machines to bring down: each scheduled and DRAINING.
    pub fn check_down(&self, ids: &[MachineId]) -> Result<(), String> {
        valid_list(ids)?;
        for id in ids {
            match self.machines.get(id) {
                None => {
                    return refuse(format!(
                        "Machine '{id}' is not part of a maintenance schedule"
                    ))
                }
                Some(m) if m.mode != MachineMode::Draining => {
                    return refuse(format!(
                        "Machine '{id}' is not in DRAINING mode and cannot be brought down"
                    ))
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// Brings checked machines down; their inverse offers are over.
    pub fn set_down(&mut self, ids: &[MachineId]) {
        for id in ids {
            if let Some(m) = self.machines.get_mut(id) {
                m.mode = MachineMode::Down;
                m.statuses.clear();
            }
        }
        self.inverse_offers.retain(|_, o| !ids.contains(&o.machine));
    }

    /// Checks machines to bring up: each DOWN.
    pub fn check_up(&self, ids: &[MachineId]) -> Result<(), String> {
        valid_list(ids)?;
        for id in ids {
            if self.machines.get(id).map(|m| m.mode) != Some(MachineMode::Down) {
                return refuse(format!(
                    "Machine '{id}' is not in DOWN mode and cannot be brought up"
                ));
            }
        }
        Ok(())
    }

    /// Brings checked machines up: they leave the schedule (and a window
    /// left with no machine goes), as Mesos does.
    pub fn set_up(&mut self, ids: &[MachineId]) {
        for id in ids {
            self.machines.remove(id);
        }
        for w in &mut self.windows {
            w.machine_ids.retain(|m| !ids.contains(m));
        }
        self.windows.retain(|w| !w.machine_ids.is_empty());
    }

    /// Records an inverse offer sent, and the framework's answer as unknown
    /// until it gives one.
    pub fn add_inverse_offer(&mut self, offer: InverseOffer, now: f64) {
        if let Some(m) = self.machines.get_mut(&offer.machine) {
            m.statuses
                .entry(offer.framework_id.clone())
                .or_insert((Answer::Unknown, now));
        }
        self.inverse_offers.insert(offer.id.clone(), offer);
    }

    /// A framework answered its inverse offer `id`: the answer is kept
    /// on the machine and the offer is done. False if the offer is not
    /// the framework's.
    pub fn answer(
        &mut self,
        framework: &FrameworkId,
        id: &OfferId,
        answer: Answer,
        now: f64,
    ) -> bool {
        let Some(offer) = self
            .inverse_offers
            .get(id)
            .filter(|o| &o.framework_id == framework)
        else {
            return false;
        };
        if let Some(m) = self.machines.get_mut(&offer.machine) {
            m.statuses.insert(framework.clone(), (answer, now));
        }
        self.inverse_offers.remove(id);
        true
    }

    /// Whether the framework has been asked to leave the agent already
    /// (an inverse offer out, or an answer on its machine).
    pub fn asked(&self, framework: &FrameworkId, agent: &AgentId, machine: &MachineId) -> bool {
        self.inverse_offers
            .values()
            .any(|o| &o.framework_id == framework && &o.agent_id == agent)
            || self.machines.get(machine).is_some_and(|m| {
                m.statuses
                    .get(framework)
                    .is_some_and(|s| s.0 != Answer::Unknown)
            })
    }

    /// A framework is gone: its inverse offers and answers go with it.
    pub fn forget_framework(&mut self, framework: &FrameworkId) {
        self.inverse_offers
            .retain(|_, o| &o.framework_id != framework);
        for m in self.machines.values_mut() {
            m.statuses.remove(framework);
        }
    }

    /// `maintenance.ClusterStatus` as JSON.
    pub fn status_json(&self) -> Value {
        let mut draining = Vec::new();
        let mut down = Vec::new();
        for (id, m) in &self.machines {
            match m.mode {
                MachineMode::Down => down.push(id.to_json()),
                MachineMode::Draining => {
                    let mut entry = serde_json::Map::new();
                    entry.insert("id".into(), id.to_json());
                    let statuses: Vec<Value> = m
                        .statuses
                        .iter()
                        .map(|(f, (answer, at))| {
                            json!({
                                "status": answer.name(),
                                "framework_id": {"value": f.value},
                                "timestamp": {"nanoseconds": (at * 1e9).round() as i64},
                            })
                        })
                        .collect();
                    if !statuses.is_empty() {
                        entry.insert("statuses".into(), json!(statuses));
                    }
                    draining.push(Value::Object(entry));
                }
            }
        }
        let mut status = serde_json::Map::new();
        if !draining.is_empty() {
            status.insert("draining_machines".into(), json!(draining));
        }
        if !down.is_empty() {
            status.insert("down_machines".into(), json!(down));
        }
        Value::Object(status)
    }

    /// `maintenance.Schedule` as JSON.
    pub fn schedule_json(&self) -> Value {
        schedule_json(&self.windows)
    }
}

impl InverseOffer {
    /// `InverseOffer` as JSON (a whole agent: no resources named).
    pub fn to_json(&self) -> Value {
        let mut m = serde_json::Map::new();
        m.insert("id".into(), json!({"value": self.id.value}));
        if let Some(url) = wire::v1::types::Url::of_agent(&self.agent_pid, &self.hostname) {
            m.insert(
                "url".into(),
                serde_json::to_value(url).unwrap_or(Value::Null),
            );
        }
        m.insert(
            "framework_id".into(),
            json!({"value": self.framework_id.value}),
        );
        m.insert("agent_id".into(), json!({"value": self.agent_id.value}));
        let unavailability = self
            .unavailability
            .map(|u| u.to_json())
            .unwrap_or_else(|| json!({"start": {"nanoseconds": 0}}));
        m.insert("unavailability".into(), unavailability);
        Value::Object(m)
    }
}

/// The OFFERS event that carries inverse offers.
pub fn inverse_offers_event(offers: &[InverseOffer]) -> wire::v1::scheduler::Event {
    let mut event = wire::v1::scheduler::Event::heartbeat();
    event.kind = wire::v1::scheduler::EventType::Offers;
    event.offers = Some(wire::v1::scheduler::Offers {
        offers: Vec::new(),
        inverse_offers: offers.iter().map(InverseOffer::to_json).collect(),
    });
    event
}

/// The IP of an agent's pid (`slave(1)@ip:port`), as machines name it.
pub fn agent_ip(agent: &AgentRecord) -> String {
    agent
        .pid()
        .parse::<Pid>()
        .map(|p| p.address().ip().to_string())
        .unwrap_or_default()
}

impl Core {
    /// The registered agents on any of `machines`.
    fn agents_on(&self, machines: &[MachineId]) -> Vec<AgentId> {
        self.state
            .agents()
            .values()
            .filter(|a| {
                let ip = agent_ip(a);
                machines.iter().any(|m| m.matches(&a.info.hostname, &ip))
            })
            .map(|a| a.id.clone())
            .collect()
    }

    /// The unavailability offers of this agent carry, if its machine is
    /// scheduled.
    pub(super) fn unavailability_of(&self, agent: &AgentRecord) -> Option<Unavailability> {
        self.state
            .maintenance()
            .machine_of(&agent.info.hostname, &agent_ip(agent))
            .and_then(|(_, m)| m.unavailability)
    }

    /// An agent of a DOWN machine may not register: it is told to shut
    /// down. True if it was refused.
    pub(super) fn refuse_if_down(&self, hostname: &str, from: &Pid, out: &mut Effects) -> bool {
        let ip = from.address().ip().to_string();
        let down = self
            .state
            .maintenance()
            .machine_of(hostname, &ip)
            .filter(|(_, m)| m.mode == MachineMode::Down);
        let Some((machine, _)) = down else {
            return false;
        };
        tracing::warn!(%from, %machine, "refusing the registration of an agent: its machine is DOWN");
        out.to_agent(
            from.clone(),
            ToAgent::Shutdown(ShutdownAgent {
                message: REFUSED_MESSAGE.into(),
            }),
        );
        true
    }

    /// Keeps the maintenance records in the registry.
    fn record_maintenance(&self, out: &mut Effects) {
        out.record(RegistryOp::UpdateMaintenance(
            self.state.maintenance().stored(),
        ));
    }

    /// A new schedule (checked): offers of agents on machines whose
    /// window changed are rescinded, to come back with their
    /// unavailability, and frameworks on draining machines are asked to
    /// leave.
    pub fn update_schedule(&mut self, windows: Vec<Window>, now: Now, out: &mut Effects) {
        tracing::info!(windows = windows.len(), "updating the maintenance schedule");
        let before: BTreeMap<MachineId, Option<Unavailability>> = self
            .state
            .maintenance()
            .machines()
            .iter()
            .map(|(id, m)| (id.clone(), m.unavailability))
            .collect();
        self.state.maintenance_mut().set_schedule(windows);
        self.record_maintenance(out);
        let after: BTreeMap<MachineId, Option<Unavailability>> = self
            .state
            .maintenance()
            .machines()
            .iter()
            .map(|(id, m)| (id.clone(), m.unavailability))
            .collect();
        let changed: Vec<MachineId> = before
            .keys()
            .chain(after.keys())
            .filter(|id| before.get(*id) != after.get(*id))
            .cloned()
            .collect();
        let agents: BTreeSet<AgentId> = self.agents_on(&changed).into_iter().collect();
        self.rescind_offers_where(|o| agents.contains(&o.agent_id), out);
        self.send_inverse_offers(now, out);
    }

    /// Machines (checked) go down: their agents are told to shut down and
    /// removed, their tasks ending as the agent's removal ends them.
    pub fn start_maintenance(&mut self, ids: Vec<MachineId>, out: &mut Effects) {
        tracing::info!(
            machines = ids.len(),
            "bringing machines down for maintenance"
        );
        self.state.maintenance_mut().set_down(&ids);
        self.record_maintenance(out);
        let agents = self.agents_on(&ids);
        let removed = Ending {
            state: TaskState::Dropped,
            reason: Reason::AgentRemoved,
            message: DOWN_MESSAGE,
            tell: true,
            recover: false,
            refused: false,
        };
        for id in agents {
            tracing::info!(agent = %id, "removing the agent of a machine brought down");
            self.to_agent(
                &id,
                ToAgent::Shutdown(ShutdownAgent {
                    message: DOWN_MESSAGE.into(),
                }),
                out,
            );
            out.record(RegistryOp::RemoveAgent(id.clone()));
            self.remove_agent(&id, &removed, out);
        }
    }

    /// Machines (checked) come back up: they leave the schedule, and their
    /// agents may register again.
    pub fn stop_maintenance(&mut self, ids: Vec<MachineId>, out: &mut Effects) {
        tracing::info!(
            machines = ids.len(),
            "bringing machines up after maintenance"
        );
        self.state.maintenance_mut().set_up(&ids);
        self.record_maintenance(out);
    }

    /// Asks every framework running tasks on an agent of a DRAINING machine
    /// to leave it, once: an inverse offer per framework and agent.
    pub fn send_inverse_offers(&mut self, now: Now, out: &mut Effects) {
        let mut wanted: Vec<(FrameworkId, AgentId, MachineId, Option<Unavailability>)> = Vec::new();
        let maintenance = self.state.maintenance();
        for agent in self.state.agents().values() {
            let Some((machine, m)) = maintenance.machine_of(&agent.info.hostname, &agent_ip(agent))
            else {
                continue;
            };
            if m.mode != MachineMode::Draining {
                continue;
            }
            for (framework, tasks) in agent.tasks() {
                if tasks.is_empty() || maintenance.asked(framework, &agent.id, machine) {
                    continue;
                }
                wanted.push((
                    framework.clone(),
                    agent.id.clone(),
                    machine.clone(),
                    m.unavailability,
                ));
            }
        }
        let mut per_framework: BTreeMap<FrameworkId, Vec<InverseOffer>> = BTreeMap::new();
        for (framework_id, agent_id, machine, unavailability) in wanted {
            let Some(agent) = self.state.agent(&agent_id) else {
                continue;
            };
            let (hostname, agent_pid) = (agent.info.hostname.clone(), agent.pid().to_owned());
            let offer = InverseOffer {
                id: self.state.new_offer_id(),
                framework_id: framework_id.clone(),
                agent_id,
                machine,
                hostname,
                agent_pid,
                unavailability,
            };
            tracing::info!(framework = %framework_id, agent = %offer.agent_id, offer = %offer.id,
                "sending an inverse offer for an agent of a draining machine");
            self.state
                .maintenance_mut()
                .add_inverse_offer(offer.clone(), now.secs);
            per_framework.entry(framework_id).or_default().push(offer);
        }
        for (framework_id, offers) in per_framework {
            self.to_framework(&framework_id, ToScheduler::InverseOffers(offers), out);
        }
    }

    /// ACCEPT_INVERSE_OFFERS / DECLINE_INVERSE_OFFERS from the framework
    /// whose scheduler is `from`: its answers are kept on the machines.
    pub fn answer_inverse_offers(
        &mut self,
        framework_id: &FrameworkId,
        ids: &[OfferId],
        answer: Answer,
        from: &Pid,
        now: Now,
    ) {
        if self.framework_from(framework_id, from).is_none() {
            self.dropped("an answer to inverse offers", from);
            return;
        }
        for id in ids {
            if !self
                .state
                .maintenance_mut()
                .answer(framework_id, id, answer, now.secs)
            {
                tracing::warn!(framework = %framework_id, offer = %id, "ignoring an answer to an unknown inverse offer");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::master::core::fixture::{admit, at, core, run_task, subscribe, told_states};
    use crate::master::effects::Effect;

    fn id(host: &str) -> MachineId {
        MachineId::new(Some(host), None)
    }

    fn window(hosts: &[&str]) -> Window {
        Window {
            machine_ids: hosts.iter().map(|h| id(h)).collect(),
            unavailability: Unavailability {
                start_ns: 1_000,
                duration_ns: Some(10),
            },
        }
    }

    #[test]
    fn schedules_are_checked_as_mesos_checks_them() {
        let mut m = Maintenance::default();
        m.set_schedule(vec![window(&["a", "b"])]);
        m.set_down(&[id("b")]);
        let bad_ip = Window {
            machine_ids: vec![MachineId::new(None, Some("nope"))],
            ..window(&[])
        };
        let table: Vec<(Vec<Window>, Result<(), &str>)> = vec![
            (vec![window(&["a", "b"])], Ok(())),
            (vec![window(&["b"]), window(&["c"])], Ok(())),
            (
                vec![window(&[])],
                Err("List of machines in the maintenance window is empty"),
            ),
            (
                vec![window(&["b"]), window(&["b"])],
                Err("Machine 'b' appears more than once in the schedule"),
            ),
            (
                vec![window(&["a"])],
                Err("Machine 'b' is deactivated and cannot be removed from the schedule"),
            ),
            (
                vec![bad_ip],
                Err("Failed to parse IP 'nope' of machine '(nope)'"),
            ),
        ];
        for (windows, expected) in table {
            assert_eq!(
                m.check_schedule(&windows),
                expected.map_err(str::to_owned),
                "{windows:?}"
            );
        }
    }

    #[test]
    fn machines_go_down_only_from_draining_and_up_only_from_down() {
        let mut m = Maintenance::default();
        m.set_schedule(vec![window(&["a", "b"])]);
        let table: Vec<(&str, Vec<MachineId>, Result<(), String>)> = vec![
            ("down", vec![id("a")], Ok(())),
            ("down", vec![], Err("List of machines is empty".into())),
            (
                "down",
                vec![id("z")],
                Err("Machine 'z' is not part of a maintenance schedule".into()),
            ),
            (
                "down",
                vec![id("a"), id("a")],
                Err("Machine 'a' appears more than once in the list".into()),
            ),
            (
                "up",
                vec![id("a")],
                Err("Machine 'a' is not in DOWN mode and cannot be brought up".into()),
            ),
        ];
        for (what, ids, expected) in table {
            let got = match what {
                "down" => m.check_down(&ids),
                _ => m.check_up(&ids),
            };
            assert_eq!(got, expected, "{what} {ids:?}");
        }
        m.set_down(&[id("a")]);
        assert_eq!(
            m.check_down(&[id("a")]),
            Err("Machine 'a' is not in DRAINING mode and cannot be brought down".into())
        );
        assert_eq!(m.check_up(&[id("a")]), Ok(()));
        m.set_up(&[id("a")]);
        assert!(!m.machines().contains_key(&id("a")));
        assert_eq!(m.windows()[0].machine_ids, vec![id("b")]);
        m.set_schedule(vec![window(&["b"])]);
        m.set_up(&[id("b")]);
        assert!(m.windows().is_empty(), "an emptied window goes");
    }

    #[test]
    fn the_registry_keeps_the_schedule_and_modes() {
        let mut m = Maintenance::default();
        m.set_schedule(vec![window(&["a", "b"])]);
        m.set_down(&[id("a")]);
        let back = Maintenance::recovered(m.stored());
        assert_eq!(back.windows(), m.windows());
        assert_eq!(back.machines()[&id("a")].mode, MachineMode::Down);
        assert_eq!(back.machines()[&id("b")].mode, MachineMode::Draining);
        assert_eq!(
            back.status_json(),
            json!({"draining_machines":[{"id":{"hostname":"b"}}],"down_machines":[{"hostname":"a"}]})
        );
    }

    fn inverse_offers(out: &Effects) -> Vec<InverseOffer> {
        out.iter()
            .filter_map(|e| match e {
                Effect::ToScheduler {
                    message: ToScheduler::InverseOffers(o),
                    ..
                } => Some(o.clone()),
                _ => None,
            })
            .flatten()
            .collect()
    }

    #[test]
    fn frameworks_on_a_draining_machine_get_one_inverse_offer_and_answer_it() {
        let mut c = core(|_| {});
        let agent = admit(&mut c, 1);
        let framework = subscribe(&mut c, 1, |_| {});
        run_task(&mut c, &framework, &agent, "t1");
        let mut out = Effects::default();
        c.update_schedule(vec![window(&["agent1"])], at(5.0), &mut out);
        assert!(out
            .iter()
            .any(|e| matches!(e, Effect::Record(RegistryOp::UpdateMaintenance(_)))));
        let sent = inverse_offers(&out);
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].agent_id, agent);
        let status = c.state().maintenance().status_json();
        assert_eq!(
            status["draining_machines"][0]["statuses"][0]["status"],
            "UNKNOWN"
        );
        let mut again = Effects::default();
        c.send_inverse_offers(at(6.0), &mut again);
        assert!(inverse_offers(&again).is_empty(), "asked once");
        let from = crate::master::core::fixture::scheduler_pid(1);
        c.answer_inverse_offers(
            &framework,
            &[sent[0].id.clone()],
            Answer::Accept,
            &from,
            at(7.0),
        );
        let status = c.state().maintenance().status_json();
        assert_eq!(
            status["draining_machines"][0]["statuses"][0]["status"],
            "ACCEPT"
        );
        assert!(c.state().maintenance().inverse_offers().is_empty());
        let agent_record = c.state().agent(&agent).unwrap();
        assert_eq!(
            c.unavailability_of(agent_record).map(|u| u.start_ns),
            Some(1_000)
        );
    }

    #[test]
    fn a_machine_brought_down_removes_its_agents_and_refuses_them_until_up() {
        let mut c = core(|_| {});
        let agent = admit(&mut c, 1);
        let framework = subscribe(&mut c, 1, |_| {});
        run_task(&mut c, &framework, &agent, "t1");
        c.update_schedule(vec![window(&["agent1"])], at(5.0), &mut Effects::default());
        let mut out = Effects::default();
        c.start_maintenance(vec![id("agent1")], &mut out);
        assert!(c.state().agent(&agent).is_none());
        assert_eq!(told_states(&out), vec![("t1".to_owned(), TaskState::Lost)]);
        assert!(out.iter().any(|e| matches!(
            e,
            Effect::ToAgent {
                message: ToAgent::Shutdown(_),
                ..
            }
        )));
        let pid = crate::master::core::fixture::agent_pid(1);
        let mut out = Effects::default();
        assert!(c.refuse_if_down("agent1", &pid, &mut out));
        c.stop_maintenance(vec![id("agent1")], &mut Effects::default());
        assert!(!c.refuse_if_down("agent1", &pid, &mut Effects::default()));
        assert_eq!(c.state().maintenance().status_json(), json!({}));
    }
}
