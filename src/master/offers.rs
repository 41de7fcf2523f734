//! Offers: the allocator's allocations become offers to frameworks; offers
//! are declined, rescinded (the framework, its agent or its connection
//! went, or `--offer_timeout` passed) and their resources go back to the
//! allocator; revive and suppress go to the allocator.

use std::collections::{BTreeMap, BTreeSet};

use actors::Pid;
use wire::ids::{FrameworkId, OfferId};
use wire::mesos::Offer;
use wire::scheduler::{Decline, RescindOffer, ResourceOffers, Revive, Suppress};

use super::core::Core;
use super::effects::{AllocatorCall, Effect, Effects, Timer, ToScheduler};
use crate::allocator::Allocation;

impl Core {
    /// Allocations become offers, one `ResourceOffers` per framework; an
    /// allocation to a framework or agent that cannot take it now goes
    /// straight back.
    pub fn allocated(&mut self, allocations: Vec<Allocation>, out: &mut Effects) {
        let mut per_framework: BTreeMap<FrameworkId, Vec<Offer>> = BTreeMap::new();
        for allocation in allocations {
            let usable = self
                .state
                .framework(&allocation.framework_id)
                .is_some_and(|f| f.active && f.connected)
                && self
                    .state
                    .agent(&allocation.agent_id)
                    .is_some_and(|a| a.active);
            if !usable {
                out.allocator(AllocatorCall::Recover {
                    framework_id: allocation.framework_id,
                    agent_id: allocation.agent_id,
                    role: allocation.role,
                    resources: allocation.resources,
                    refuse: None,
                });
                continue;
            }
            let Some(agent) = self.state.agent(&allocation.agent_id) else {
                continue;
            };
            let executor_ids = agent
                .tasks()
                .get(&allocation.framework_id)
                .map(|ids| {
                    ids.iter()
                        .filter_map(|t| {
                            self.state
                                .task(&allocation.framework_id, t)
                                .and_then(|t| t.executor_id.clone())
                        })
                        .collect::<BTreeSet<_>>()
                        .into_iter()
                        .collect()
                })
                .unwrap_or_default();
            let (hostname, agent_pid) = (agent.info.hostname.clone(), agent.pid().to_owned());
            let attributes = agent.info.attributes.clone();
            let unavailability = self.unavailability_of(agent);
            let offer = Offer {
                id: self.state.new_offer_id(),
                framework_id: allocation.framework_id.clone(),
                agent_id: allocation.agent_id.clone(),
                hostname,
                agent_pid,
                resources: allocation.resources,
                attributes,
                executor_ids,
                role: allocation.role,
                unavailability,
            };
            if let Some(timeout) = self.flags.offer_timeout {
                out.set(Timer::Offer(offer.id.clone(), timeout));
            }
            self.state.add_offer(offer.clone());
            per_framework
                .entry(offer.framework_id.clone())
                .or_default()
                .push(offer);
        }
        for (framework_id, offers) in per_framework {
            if let Some(m) = self.state.framework_metrics(&framework_id) {
                m.offers_sent.add(offers.len() as u64);
            }
            self.to_framework(
                &framework_id,
                ToScheduler::Offers(ResourceOffers { offers }),
                out,
            );
        }
    }

    /// An offer is taken up by an accept: it is gone, and so is its timer.
    pub(super) fn use_offer(&mut self, id: &OfferId, out: &mut Effects) -> Option<Offer> {
        out.push(Effect::CancelOfferTimer(id.clone()));
        self.state.remove_offer(id)
    }

    /// Takes back an offer: the framework is told if `tell`, and the
    /// resources return to the allocator without a filter.
    pub(super) fn rescind_offer(&mut self, id: &OfferId, tell: bool, out: &mut Effects) {
        let Some(offer) = self.use_offer(id, out) else {
            return;
        };
        if tell {
            if let Some(m) = self.state.framework_metrics(&offer.framework_id) {
                m.offers_rescinded.inc();
            }
            self.to_framework(
                &offer.framework_id,
                ToScheduler::Rescind(RescindOffer {
                    offer_id: id.clone(),
                }),
                out,
            );
        }
        out.allocator(AllocatorCall::Recover {
            framework_id: offer.framework_id,
            agent_id: offer.agent_id,
            role: offer.role,
            resources: offer.resources,
            refuse: None,
        });
    }

    pub(super) fn rescind_offers_where(
        &mut self,
        which: impl Fn(&Offer) -> bool,
        out: &mut Effects,
    ) {
        let ids: Vec<OfferId> = self
            .state
            .offers()
            .values()
            .filter(|o| which(o))
            .map(|o| o.id.clone())
            .collect();
        for id in ids {
            self.rescind_offer(&id, true, out);
        }
    }

    /// `--offer_timeout` passed for an offer still outstanding.
    pub fn offer_expired(&mut self, id: &OfferId, out: &mut Effects) {
        if self.state.offer(id).is_some() {
            tracing::info!(offer = %id, "offer timed out; rescinding");
            self.rescind_offer(id, true, out);
        }
    }

    /// DECLINE: the framework's offers go back with its filter.
    pub fn decline(&mut self, msg: Decline, from: &Pid, out: &mut Effects) {
        self.count(|m| &m.messages_decline_offers);
        if self.framework_from(&msg.framework_id, from).is_none() {
            self.dropped("Decline", from);
            return;
        }
        self.count_call(&msg.framework_id, "decline");
        let refuse = crate::allocator::refuse_from_seconds(msg.filters.refuse_seconds);
        for id in &msg.offer_ids {
            let owned = self
                .state
                .offer(id)
                .is_some_and(|o| o.framework_id == msg.framework_id);
            if !owned {
                continue;
            }
            if let Some(m) = self.state.framework_metrics(&msg.framework_id) {
                m.offers_declined.inc();
            }
            if let Some(offer) = self.use_offer(id, out) {
                out.allocator(AllocatorCall::Recover {
                    framework_id: offer.framework_id,
                    agent_id: offer.agent_id,
                    role: offer.role,
                    resources: offer.resources,
                    refuse,
                });
            }
        }
    }

    /// REVIVE: the allocator offers the framework's roles again.
    pub fn revive(&mut self, msg: Revive, from: &Pid, out: &mut Effects) {
        self.count(|m| &m.messages_revive_offers);
        if self.framework_from(&msg.framework_id, from).is_none() {
            self.dropped("Revive", from);
            return;
        }
        self.count_call(&msg.framework_id, "revive");
        out.allocator(AllocatorCall::Revive(msg.framework_id, msg.roles));
    }

    /// SUPPRESS: the allocator stops offering the framework's roles.
    pub fn suppress(&mut self, msg: Suppress, from: &Pid, out: &mut Effects) {
        self.count(|m| &m.messages_suppress_offers);
        if self.framework_from(&msg.framework_id, from).is_none() {
            self.dropped("Suppress", from);
            return;
        }
        self.count_call(&msg.framework_id, "suppress");
        out.allocator(AllocatorCall::Suppress(msg.framework_id, msg.roles));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::master::core::fixture::{admit, core, subscribe};
    use wire::resources::Resources;

    fn allocation(framework: &FrameworkId, agent: &wire::ids::AgentId) -> Allocation {
        Allocation {
            framework_id: framework.clone(),
            agent_id: agent.clone(),
            role: "*".into(),
            resources: Resources::parse("cpus:1", "*").unwrap(),
        }
    }

    #[test]
    fn allocations_become_offers_only_for_active_frameworks_and_agents() {
        let mut core = core(|f| f.offer_timeout = Some(std::time::Duration::from_secs(5)));
        let agent = admit(&mut core, 1);
        let framework = subscribe(&mut core, 1, |_| {});
        let mut out = Effects::default();
        core.allocated(vec![allocation(&framework, &agent)], &mut out);
        assert_eq!(core.state().offers().len(), 1);
        assert!(out
            .iter()
            .any(|e| matches!(e, Effect::Set(Timer::Offer(_, _)))));
        assert!(out.iter().any(|e| matches!(
            e,
            Effect::ToScheduler { message: ToScheduler::Offers(m), .. } if m.offers.len() == 1
        )));
        // Deactivated, the framework's allocation goes straight back.
        core.state.framework_mut(&framework).unwrap().active = false;
        let mut out = Effects::default();
        core.allocated(vec![allocation(&framework, &agent)], &mut out);
        assert_eq!(core.state().offers().len(), 1);
        assert!(matches!(
            out.iter().collect::<Vec<_>>().as_slice(),
            [Effect::Allocator(AllocatorCall::Recover {
                refuse: None,
                ..
            })]
        ));
    }

    #[test]
    fn an_expired_offer_is_rescinded_and_its_resources_recovered() {
        let mut core = core(|_| {});
        let agent = admit(&mut core, 1);
        let framework = subscribe(&mut core, 1, |_| {});
        core.allocated(
            vec![allocation(&framework, &agent)],
            &mut Effects::default(),
        );
        let id = core.state().offers().keys().next().cloned().unwrap();
        let mut out = Effects::default();
        core.offer_expired(&id, &mut out);
        assert!(core.state().offers().is_empty());
        assert!(core.state().agent(&agent).unwrap().offered().is_empty());
        assert!(out.iter().any(|e| matches!(
            e,
            Effect::ToScheduler { message: ToScheduler::Rescind(m), .. } if m.offer_id == id
        )));
        assert!(out
            .iter()
            .any(|e| matches!(e, Effect::Allocator(AllocatorCall::Recover { .. }))));
        // Once gone, a second expiry does nothing.
        let mut out = Effects::default();
        core.offer_expired(&id, &mut out);
        assert!(out.is_empty());
    }
}
