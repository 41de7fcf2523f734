//! Leadership on the process: standing for election through ZooKeeper,
//! becoming the leader (the registrar is spawned and recovers the
//! registry), and what the contender and the detector report.

use std::time::Duration;

use actors::{Cx, Handle, Pid};

use super::{Master, RegistryRecovered};
use crate::master::leadership::Phase;
use crate::registrar::{RecoverRegistry, Registrar};
use crate::stop::StopReason;
use crate::zookeeper::LeaderDetected;

/// Pause before contending again, so an unreachable ZooKeeper costs one
/// attempt a second rather than a busy loop.
const CONTEND_RETRY: Duration = Duration::from_secs(1);

/// This master won the election (ZooKeeper contender).
pub struct Elected;
/// This master lost its candidacy (its ZooKeeper session or node is gone).
pub struct LostCandidacy;
/// Stand for election through ZooKeeper with this contender.
pub struct Contend {
    pub contender: crate::zookeeper::MasterContender,
}
/// Try to contend again after a failure or a lost candidacy.
pub(super) struct ContendAgain;

impl Master {
    /// Starts leading: the registrar recovers the registry, then the master
    /// serves.
    pub(super) fn become_leader(&mut self, cx: &mut Cx<'_, Self>) {
        let (store, held) = match std::mem::replace(&mut self.phase, Phase::Stopping) {
            Phase::Contending { store, held, .. } => (store, held),
            other => {
                self.phase = other;
                return;
            }
        };
        let info = self.core.info().clone();
        tracing::info!(
            id = info.id,
            pid = info.pid,
            "elected as the leading master"
        );
        let flags = self.core.flags();
        let registrar = Registrar::new(
            store,
            flags.registry_fetch_timeout,
            flags.registry_store_timeout,
        );
        match cx
            .node()
            .spawn(cx.node().generate_id("registrar"), registrar)
        {
            Ok(registrar) => {
                let me = cx.handle();
                registrar.tell(
                    registrar.pid(),
                    RecoverRegistry {
                        master: info,
                        reply: Box::new(move |result| {
                            me.tell(me.pid(), RegistryRecovered { result })
                        }),
                    },
                );
                self.phase = Phase::Recovering { registrar, held };
            }
            Err(e) => self.exit(
                StopReason::RegistryFailed(format!("cannot start the registrar: {e}")),
                cx,
            ),
        }
    }

    fn contend(&mut self, cx: &mut Cx<'_, Self>) {
        use crate::zookeeper::ContenderEvent;
        let Some(contender) = &self.contender else {
            return;
        };
        let candidacy = contender
            .contend(self.core.info())
            .map_err(|e| e.to_string());
        let (node, me) = (cx.node().clone(), cx.me().clone());
        let forwarding = candidacy.and_then(|c| {
            c.forward(move |event| match event {
                ContenderEvent::Elected => node.send_local(&me, &me, Elected),
                ContenderEvent::LostCandidacy(reason) => {
                    tracing::warn!("candidacy lost: {reason:?}");
                    node.send_local(&me, &me, LostCandidacy)
                }
            })
            .map_err(|e| e.to_string())
        });
        match forwarding {
            Ok(f) => self.candidacy = Some(f),
            Err(e) => {
                tracing::warn!("cannot contend for leadership: {e}; trying again");
                cx.delay(CONTEND_RETRY, ContendAgain);
            }
        }
    }
}

impl Handle<Elected> for Master {
    fn handle(&mut self, _: Elected, _: &Pid, cx: &mut Cx<'_, Self>) {
        if !self.phase.elected() {
            self.become_leader(cx);
        }
    }
}

impl Handle<LostCandidacy> for Master {
    fn handle(&mut self, _: LostCandidacy, _: &Pid, cx: &mut Cx<'_, Self>) {
        self.candidacy = None;
        if self.phase.elected() {
            // Mesos's master exits here ("Lost candidacy as a leader"): two
            // masters must never both act as leader, and a supervisor
            // restarts this one as a contender.
            self.exit(StopReason::LostLeadership, cx);
        } else {
            tracing::warn!("lost candidacy while not leading; contending again");
            cx.delay(CONTEND_RETRY, ContendAgain);
        }
    }
}

impl Handle<Contend> for Master {
    fn handle(&mut self, msg: Contend, _: &Pid, cx: &mut Cx<'_, Self>) {
        self.contender = Some(msg.contender);
        self.contend(cx);
    }
}

impl Handle<ContendAgain> for Master {
    fn handle(&mut self, _: ContendAgain, _: &Pid, cx: &mut Cx<'_, Self>) {
        if !self.phase.elected() && self.candidacy.is_none() {
            self.contend(cx);
        }
    }
}

impl Handle<LeaderDetected> for Master {
    fn handle(&mut self, msg: LeaderDetected, _: &Pid, cx: &mut Cx<'_, Self>) {
        let leader = msg.leader;
        let me = self.core.info().id.clone();
        if self.phase.elected() && leader.as_ref().is_some_and(|l| l.id != me) {
            return self.exit(StopReason::ConcededLeadership, cx);
        }
        if let Phase::Contending {
            leader: known,
            held,
            ..
        } = &mut self.phase
        {
            tracing::info!(leader = ?leader.as_ref().map(|l| &l.pid), "leading master changed");
            let leads = leader.as_ref().is_some_and(|l| l.id == me);
            *known = leader;
            if !leads {
                // Held on the promise of leading, which another master got.
                *held = Default::default();
            }
        }
    }
}
