//! Leadership: the master's phase ([`Phase`]: contending, recovering the
//! registry, leading, stopping), each holding what it has, and the agent
//! registrations held between election and recovery
//! ([`HeldRegistrations`]).

use std::collections::HashMap;

use actors::{Pid, ProcessRef};
use wire::agent::{RegisterAgent, ReregisterAgent};
use wire::mesos::MasterInfo;

use crate::registrar::{Registrar, Store};

/// Where the master stands.
pub enum Phase {
    /// Not elected (yet). `leader` is the leading master as last detected;
    /// registrations are held once that is this master (the detector may
    /// tell before the contender does).
    Contending {
        /// Where the registry lives, for the registrar once elected.
        store: Box<dyn Store>,
        leader: Option<MasterInfo>,
        held: HeldRegistrations,
    },
    /// Elected; the registrar is recovering the registry. Agents'
    /// registrations are held, everything else is dropped.
    Recovering {
        registrar: ProcessRef<Registrar>,
        held: HeldRegistrations,
    },
    /// Elected with the registry recovered: the master serves.
    Leading { registrar: ProcessRef<Registrar> },
    /// The master decided to stop (or could not start its registrar).
    Stopping,
}

impl Phase {
    pub fn new(store: Box<dyn Store>) -> Phase {
        Phase::Contending {
            store,
            leader: None,
            held: HeldRegistrations::default(),
        }
    }

    /// Elected (it may still be recovering).
    pub fn elected(&self) -> bool {
        matches!(self, Phase::Recovering { .. } | Phase::Leading { .. })
    }

    /// The registry is recovered and the master serves.
    pub fn recovered(&self) -> bool {
        matches!(self, Phase::Leading { .. })
    }

    /// The leading master as this master knows it (itself once elected).
    pub fn leader<'a>(&'a self, me: &'a MasterInfo) -> Option<&'a MasterInfo> {
        match self {
            Phase::Contending { leader, .. } => leader.as_ref(),
            Phase::Recovering { .. } | Phase::Leading { .. } => Some(me),
            Phase::Stopping => None,
        }
    }

    /// The registrar, once elected.
    pub fn registrar(&self) -> Option<&ProcessRef<Registrar>> {
        match self {
            Phase::Recovering { registrar, .. } | Phase::Leading { registrar } => Some(registrar),
            Phase::Contending { .. } | Phase::Stopping => None,
        }
    }

    /// Where agents' registrations are held now: elected, or detected as
    /// the leader ahead of the election's own notice, and not yet
    /// recovered.
    pub fn holding(&mut self, me: &MasterInfo) -> Option<&mut HeldRegistrations> {
        match self {
            Phase::Recovering { held, .. } => Some(held),
            Phase::Contending { leader, held, .. }
                if leader.as_ref().is_some_and(|l| l.id == me.id) =>
            {
                Some(held)
            }
            _ => None,
        }
    }
}

/// An agent's (re)registration held while the registry recovers.
pub enum Held {
    Register(RegisterAgent),
    Reregister(ReregisterAgent),
}

impl Held {
    /// A rough measure of the memory a held message takes: one per message
    /// and one per task, executor and framework it carries.
    fn weight(&self) -> usize {
        match self {
            Held::Register(_) => 1,
            Held::Reregister(m) => 1 + m.tasks.len() + m.executors.len() + m.frameworks.len(),
        }
    }

    /// The message's name, for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Held::Register(_) => "RegisterAgent",
            Held::Reregister(_) => "ReregisterAgent",
        }
    }
}

/// Most weight (see [`Held::weight`]) held at once: room for 50k agents
/// with 40 tasks each. Beyond it messages are dropped, as before election,
/// and their agents' retries bring them back.
const HELD_WEIGHT_LIMIT: usize = 2_000_000;

/// Registrations that arrive between election and recovery. Agents detect
/// the new leader when its contender does, so nearly all of them write
/// during the registry's recovery; Mesos drops those and waits for each
/// agent's retry (a random wait of up to twice `--registration_backoff_factor`),
/// where holding them lets the master answer every agent as soon as it has
/// recovered. One entry per agent pid: a retry replaces what it held.
#[derive(Default)]
pub struct HeldRegistrations {
    /// In arrival order (of each pid's first message).
    messages: Vec<(Pid, Held)>,
    /// Index into `messages` by sender pid.
    by_pid: HashMap<String, usize>,
    /// Sum of the weights of `messages`.
    weight: usize,
}

impl HeldRegistrations {
    /// Holds `message` from `from`, replacing what that pid held; false
    /// when it is dropped for want of room.
    pub fn hold(&mut self, from: &Pid, message: Held) -> bool {
        let weight = message.weight();
        match self.by_pid.get(&from.to_string()) {
            Some(&i) => {
                let Some(slot) = self.messages.get_mut(i) else {
                    return true;
                };
                self.weight = self.weight - slot.1.weight() + weight;
                slot.1 = message;
                true
            }
            None if self.weight + weight <= HELD_WEIGHT_LIMIT => {
                self.by_pid.insert(from.to_string(), self.messages.len());
                self.messages.push((from.clone(), message));
                self.weight += weight;
                true
            }
            None => false,
        }
    }

    /// What was held, in the order it arrived.
    pub fn release(self) -> Vec<(Pid, Held)> {
        self.messages
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wire::mesos::AgentInfo;
    use wire::resources::Resources;

    fn register(host: &str) -> Held {
        Held::Register(RegisterAgent {
            info: AgentInfo {
                hostname: host.into(),
                port: 5051,
                resources: Resources::new(),
                attributes: Vec::new(),
                id: None,
            },
            version: "1".into(),
        })
    }

    fn pid(text: &str) -> Pid {
        text.parse().unwrap()
    }

    #[test]
    fn a_retry_replaces_what_its_agent_held_and_keeps_its_place() {
        let mut held = HeldRegistrations::default();
        assert!(held.hold(&pid("slave(1)@1.1.1.1:5051"), register("a")));
        assert!(held.hold(&pid("slave(1)@2.2.2.2:5051"), register("b")));
        assert!(held.hold(&pid("slave(1)@1.1.1.1:5051"), register("a2")));
        let hosts: Vec<String> = held
            .release()
            .into_iter()
            .map(|(_, m)| match m {
                Held::Register(r) => r.info.hostname,
                Held::Reregister(r) => r.info.hostname,
            })
            .collect();
        assert_eq!(hosts, ["a2", "b"]);
    }

    #[test]
    fn registrations_are_held_only_while_this_master_is_about_to_lead() {
        let me = MasterInfo {
            id: "me".into(),
            ip: "127.0.0.1".into(),
            port: 5050,
            pid: "master@127.0.0.1:5050".into(),
            hostname: "localhost".into(),
            version: "1".into(),
        };
        let other = MasterInfo {
            id: "other".into(),
            ..me.clone()
        };
        for (leader, holds) in [
            (None, false),
            (Some(other), false),
            (Some(me.clone()), true),
        ] {
            let mut phase = Phase::Contending {
                store: Box::new(crate::registrar::InMemoryStore::default()),
                leader,
                held: HeldRegistrations::default(),
            };
            assert_eq!(phase.holding(&me).is_some(), holds);
            assert!(!phase.elected());
        }
        assert!(Phase::Stopping.leader(&me).is_none());
    }
}
