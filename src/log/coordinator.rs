//! The proposer: wins an election, then appends and truncates (Mesos's
//! `CoordinatorProcess` in `src/log/coordinator.cpp`, without the actor).
//!
//! Election is Multi-Paxos with an *implicit* promise: one PromiseRequest
//! without a position asks every replica to refuse lower proposals on every
//! position it has no record for. A quorum of ACCEPTs makes the highest
//! `end` among them the last position that may hold a chosen value; the
//! positions up to it that the local replica has not learned are filled
//! ([`Filler`]) before the coordinator declares itself elected, so that
//! reads from the local replica are complete. Any REJECT loses the
//! election; the coordinator remembers the higher proposal and the caller
//! may try again.
//!
//! Elected, each append or truncate takes the next position. Appends are
//! *batched and pipelined*: entries queue while rounds are in flight; a
//! round carries up to `max_batch` consecutive positions in one
//! WriteRequest, and up to `window` rounds may be in flight at once. A
//! round needs a quorum of ACCEPTs; then its values are chosen, reported,
//! and broadcast in a LearnedMessage. Any REJECT demotes the coordinator:
//! every round not yet chosen and every queued entry fails, and the caller
//! must elect again (a write whose outcome is unknown must be filled by the
//! next election, MESOS-1038).
//!
//! Messages out: PromiseRequest, WriteRequest, LearnedMessage. In:
//! PromiseResponse, WriteResponse, plus the local replica's promise and its
//! missing positions, which the driver looks up when asked.

use std::collections::{BTreeMap, VecDeque};

use wire::log::{
    Action, ActionKind, LearnedMessage, PromiseRequest, PromiseResponse, ResponseKind,
    WriteRequest, WriteResponse,
};

use crate::random::Rng;

use super::consensus::{Filler, Tally};
use super::positions::Positions;
use super::{Outgoing, Request, RequestIds, Timing, To};

/// Why an election or a write did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoordinatorError {
    #[error("the coordinator is not elected")]
    NotElected,
    #[error("lost the election to proposal {0}")]
    Rejected(u64),
    #[error("a quorum of replicas is not voting")]
    Ignored,
    #[error("demoted: a replica has promised proposal {0}")]
    Demoted(u64),
}

/// The coordinator's knobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoordinatorConfig {
    /// Replicas whose ACCEPT makes a decision.
    pub quorum: usize,
    /// How many replicas there are (the driver's list).
    pub replicas: usize,
    /// Write rounds in flight at most (1 is Mesos's one write at a time).
    pub window: usize,
    /// Positions per write round at most.
    pub max_batch: usize,
    /// Payload bytes per write round at most (one entry always fits).
    pub max_batch_bytes: usize,
    pub timing: Timing,
}

impl CoordinatorConfig {
    pub fn new(quorum: usize, replicas: usize) -> CoordinatorConfig {
        CoordinatorConfig {
            quorum,
            replicas,
            window: 4,
            max_batch: 256,
            max_batch_bytes: 1 << 20,
            timing: Timing::default(),
        }
    }
}

/// What the coordinator asks of its driver, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    Send(Outgoing),
    /// Look up the positions in `from..=to` the local replica has not
    /// learned and pass them to [`Coordinator::on_missing`].
    QueryMissing {
        from: u64,
        to: u64,
    },
    /// Elected; `position` is the last position of the log (the next
    /// append goes after it).
    Elected {
        position: u64,
    },
    NotElected(CoordinatorError),
    /// Entry `id` is chosen at `position`.
    Written {
        id: u64,
        position: u64,
    },
    /// Entry `id` may or may not be in the log; the next election decides.
    Failed {
        id: u64,
        error: CoordinatorError,
    },
}

#[derive(Debug)]
enum State {
    Initial,
    /// The implicit promise is out.
    Promising {
        request: Request,
        tally: Tally,
        /// The highest `end` among the accepting replicas.
        end: u64,
        sent: u64,
    },
    /// Waiting for the local replica's missing positions up to `index`.
    Querying {
        index: u64,
        fill_proposal: u64,
    },
    /// Filling what the local replica misses up to `index`.
    Filling {
        index: u64,
        filler: Filler,
    },
    Elected,
}

/// One write round: consecutive positions from `position`.
#[derive(Debug)]
struct Round {
    position: u64,
    /// The caller's id of each entry, in position order.
    ids: Vec<u64>,
    /// The request, kept to send again and to learn from.
    request: WriteRequest,
    tally: Tally,
    sent: u64,
}

/// The proposer. See the module docs.
#[derive(Debug)]
pub struct Coordinator {
    config: CoordinatorConfig,
    state: State,
    /// The proposal of the last election; never below a rejection seen.
    proposal: u64,
    /// The next position to write; meaningful only when elected.
    index: u64,
    /// Entries taken while elected and not yet in a round, oldest first.
    queue: VecDeque<(u64, ActionKind)>,
    /// Rounds in flight, by request number.
    rounds: BTreeMap<u64, Round>,
    ids: RequestIds,
    /// Jitter for fill retries; seeded, so a simulation replays.
    rng: Rng,
    /// Ticks seen.
    now: u64,
    /// What the driver has not yet taken.
    out: Vec<Output>,
}

impl Coordinator {
    /// A coordinator whose request numbers start at `first_request` (so
    /// that several askers on one pid never share a number).
    pub fn new(config: CoordinatorConfig, first_request: u64, seed: u64) -> Coordinator {
        Coordinator {
            config,
            state: State::Initial,
            proposal: 0,
            index: 0,
            queue: VecDeque::new(),
            rounds: BTreeMap::new(),
            ids: RequestIds::starting_at(first_request),
            rng: Rng::with_seed(seed),
            now: 0,
            out: Vec::new(),
        }
    }

    /// Takes what the driver must do, in order.
    pub fn drain(&mut self) -> Vec<Output> {
        std::mem::take(&mut self.out)
    }

    pub fn is_elected(&self) -> bool {
        matches!(self.state, State::Elected)
    }

    pub fn is_electing(&self) -> bool {
        !matches!(self.state, State::Initial | State::Elected)
    }

    pub fn proposal(&self) -> u64 {
        self.proposal
    }

    /// Entries queued or in flight.
    pub fn pending(&self) -> usize {
        self.queue.len() + self.rounds.values().map(|r| r.ids.len()).sum::<usize>()
    }

    fn send(&mut self, to: To, request: Request) {
        self.out.push(Output::Send(Outgoing { to, request }));
    }

    /// Runs for election with a proposal above `local_promised` (the local
    /// replica's promise) and above any proposal seen. Does nothing while
    /// an election runs; reports the position again when elected.
    pub fn elect(&mut self, local_promised: u64) {
        match self.state {
            State::Initial => {}
            State::Elected => {
                let position = self.index.saturating_sub(1);
                self.out.push(Output::Elected { position });
                return;
            }
            _ => return,
        }
        self.proposal = self.proposal.max(local_promised).saturating_add(1);
        let request = Request::Promise(PromiseRequest {
            request: self.ids.next_id(),
            proposal: self.proposal,
            position: None,
        });
        self.send(To::All, request.clone());
        self.state = State::Promising {
            request,
            tally: Tally::new(self.config.replicas),
            end: 0,
            sent: self.now,
        };
    }

    /// Takes a replica's answer to a promise request.
    pub fn on_promise_response(&mut self, from: usize, resp: &PromiseResponse) {
        let quorum = self.config.quorum;
        match &mut self.state {
            State::Promising {
                request: Request::Promise(req),
                tally,
                end,
                ..
            } if req.request == resp.request => {
                // An accept without the replica's end cannot be counted: the
                // end it hides could hold a chosen value. Nor can one for
                // another proposal (an answer to an earlier incarnation).
                if resp.kind == ResponseKind::Accept
                    && (resp.position.is_none() || resp.proposal != req.proposal)
                {
                    return;
                }
                if !tally.record(from, resp.kind, resp.proposal) {
                    return;
                }
                if resp.kind == ResponseKind::Accept {
                    *end = (*end).max(resp.position.unwrap_or(0));
                }
                if tally.ignores >= quorum {
                    self.state = State::Initial;
                    self.out.push(Output::NotElected(CoordinatorError::Ignored));
                } else if tally.votes() >= quorum {
                    if let Some(bar) = tally.highest_reject {
                        self.proposal = self.proposal.max(bar);
                        self.state = State::Initial;
                        self.out
                            .push(Output::NotElected(CoordinatorError::Rejected(bar)));
                    } else {
                        let index = *end;
                        self.query(index, self.proposal.saturating_add(1));
                    }
                }
            }
            State::Filling { filler, .. } => {
                let mut sends = Vec::new();
                filler.on_promise(
                    from,
                    resp,
                    self.now,
                    &mut self.ids,
                    &mut self.rng,
                    &mut sends,
                );
                self.after_fill(sends);
            }
            _ => {}
        }
    }

    /// Asks the driver what the local replica misses up to `index`; the
    /// fill that follows starts at `fill_proposal` (Mesos uses the
    /// election's proposal + 1, which the implicit promise just made
    /// likely to win: MESOS-1165).
    fn query(&mut self, index: u64, fill_proposal: u64) {
        self.state = State::Querying {
            index,
            fill_proposal,
        };
        self.out.push(Output::QueryMissing { from: 0, to: index });
    }

    /// Takes the local replica's missing positions asked for by
    /// [`Output::QueryMissing`].
    pub fn on_missing(&mut self, missing: Positions) {
        let State::Querying {
            index,
            fill_proposal,
        } = self.state
        else {
            return;
        };
        if missing.is_empty() {
            self.state = State::Elected;
            self.index = index.saturating_add(1);
            self.out.push(Output::Elected { position: index });
            self.pump();
            return;
        }
        let mut filler = Filler::new(
            self.config.quorum,
            self.config.replicas,
            fill_proposal,
            missing,
            self.config.timing,
        );
        let mut sends = Vec::new();
        filler.pump(self.now, &mut self.ids, &mut sends);
        self.state = State::Filling { index, filler };
        self.after_fill(sends);
    }

    /// Passes on what a fill sends; once it is done, checks the local
    /// replica again (a learned message to it may have been lost).
    fn after_fill(&mut self, sends: Vec<Outgoing>) {
        self.out.extend(sends.into_iter().map(Output::Send));
        if let State::Filling { index, filler } = &self.state {
            if filler.is_done() {
                let (index, proposal) = (*index, filler.proposal());
                self.query(index, proposal);
            }
        }
    }

    /// Queues an append; fails at once when not elected.
    pub fn append(&mut self, id: u64, bytes: Vec<u8>) {
        self.submit(id, ActionKind::Append(bytes));
    }

    /// Queues a truncation of every position below `to`.
    pub fn truncate(&mut self, id: u64, to: u64) {
        self.submit(id, ActionKind::Truncate { to });
    }

    fn submit(&mut self, id: u64, kind: ActionKind) {
        if !self.is_elected() {
            self.out.push(Output::Failed {
                id,
                error: CoordinatorError::NotElected,
            });
            return;
        }
        self.queue.push_back((id, kind));
        self.pump();
    }

    /// Starts rounds while the window has room.
    fn pump(&mut self) {
        while self.rounds.len() < self.config.window && !self.queue.is_empty() {
            let mut ids = Vec::new();
            let mut actions = Vec::new();
            let mut bytes = 0usize;
            while let Some((_, kind)) = self.queue.front() {
                let size = match kind {
                    ActionKind::Append(b) => b.len(),
                    _ => 0,
                };
                let full = ids.len() >= self.config.max_batch
                    || (!ids.is_empty() && bytes + size > self.config.max_batch_bytes);
                if full {
                    break;
                }
                let Some((id, kind)) = self.queue.pop_front() else {
                    break;
                };
                bytes += size;
                ids.push(id);
                actions.push(kind);
            }
            let position = self.index;
            self.index = self.index.saturating_add(ids.len() as u64);
            let request = WriteRequest {
                request: self.ids.next_id(),
                proposal: self.proposal,
                position,
                learned: false,
                actions,
            };
            self.send(To::All, Request::Write(request.clone()));
            self.rounds.insert(
                request.request,
                Round {
                    position,
                    ids,
                    request,
                    tally: Tally::new(self.config.replicas),
                    sent: self.now,
                },
            );
        }
    }

    /// Takes a replica's answer to a write request.
    pub fn on_write_response(&mut self, from: usize, resp: &WriteResponse) {
        if let State::Filling { filler, .. } = &mut self.state {
            let mut sends = Vec::new();
            filler.on_write(
                from,
                resp,
                self.now,
                &mut self.ids,
                &mut self.rng,
                &mut sends,
            );
            self.after_fill(sends);
            return;
        }
        let quorum = self.config.quorum;
        let Some(round) = self.rounds.get_mut(&resp.request) else {
            return;
        };
        let stray = resp.position != round.position
            || (resp.kind == ResponseKind::Accept && resp.proposal != round.request.proposal);
        if stray || !round.tally.record(from, resp.kind, resp.proposal) {
            return;
        }
        if resp.kind == ResponseKind::Reject {
            self.demote(CoordinatorError::Demoted(resp.proposal));
        } else if round.tally.ignores >= quorum {
            self.demote(CoordinatorError::Ignored);
        } else if round.tally.accepts >= quorum {
            if let Some(round) = self.rounds.remove(&resp.request) {
                self.chosen(round);
            }
            self.pump();
        }
    }

    /// A round has a quorum: report it and tell every replica.
    fn chosen(&mut self, round: Round) {
        let proposal = round.request.proposal;
        let actions = (round.position..)
            .zip(round.request.actions)
            .map(|(position, kind)| Action {
                position,
                promised: proposal,
                performed: Some(proposal),
                learned: true,
                kind: Some(kind),
            })
            .collect();
        self.send(To::All, Request::Learned(LearnedMessage { actions }));
        for (position, id) in (round.position..).zip(round.ids) {
            self.out.push(Output::Written { id, position });
        }
    }

    /// Loses the lead: everything not chosen fails.
    fn demote(&mut self, error: CoordinatorError) {
        if let CoordinatorError::Demoted(p) = error {
            self.proposal = self.proposal.max(p);
        }
        self.state = State::Initial;
        let rounds = std::mem::take(&mut self.rounds);
        let ids = rounds
            .into_values()
            .flat_map(|r| r.ids)
            .chain(self.queue.drain(..).map(|(id, _)| id));
        let failed: Vec<Output> = ids
            .map(|id| Output::Failed {
                id,
                error: error.clone(),
            })
            .collect();
        self.out.extend(failed);
    }

    /// Advances the clock: sends again what went unanswered too long.
    pub fn tick(&mut self) {
        self.now += 1;
        let now = self.now;
        let resend = self.config.timing.resend;
        let mut sends = Vec::new();
        match &mut self.state {
            State::Promising {
                request,
                tally,
                sent,
                ..
            } => {
                if now.saturating_sub(*sent) >= resend {
                    *sent = now;
                    tally.resend(request, &mut sends);
                }
            }
            State::Filling { filler, .. } => {
                filler.tick(now, &mut self.ids, &mut sends);
            }
            State::Elected => {
                for round in self.rounds.values_mut() {
                    if now.saturating_sub(round.sent) >= resend {
                        round.sent = now;
                        round
                            .tally
                            .resend(&Request::Write(round.request.clone()), &mut sends);
                    }
                }
            }
            State::Initial | State::Querying { .. } => {}
        }
        self.after_fill(sends);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn coordinator() -> Coordinator {
        let mut config = CoordinatorConfig::new(2, 3);
        config.window = 2;
        config.max_batch = 3;
        Coordinator::new(config, 1, 7)
    }

    fn sends(out: &[Output]) -> Vec<&Request> {
        out.iter()
            .filter_map(|o| match o {
                Output::Send(s) => Some(&s.request),
                _ => None,
            })
            .collect()
    }

    fn promise_ok(req: u64, proposal: u64, end: u64) -> PromiseResponse {
        PromiseResponse {
            request: req,
            kind: ResponseKind::Accept,
            proposal,
            position: Some(end),
            action: None,
        }
    }

    /// Elects `c` with replicas at `end`, the local replica missing nothing.
    fn elected(c: &mut Coordinator, end: u64) {
        c.elect(0);
        let out = c.drain();
        let Some(Request::Promise(p)) = sends(&out).first().cloned().cloned() else {
            panic!("no promise request: {out:?}");
        };
        assert_eq!((p.proposal, p.position), (1, None));
        c.on_promise_response(0, &promise_ok(p.request, 1, end));
        c.on_promise_response(0, &promise_ok(p.request, 1, end));
        assert!(c.drain().is_empty(), "a duplicate answer does not count");
        c.on_promise_response(2, &promise_ok(p.request, 1, end.saturating_sub(1)));
        assert_eq!(c.drain(), vec![Output::QueryMissing { from: 0, to: end }]);
        c.on_missing(Positions::new());
        assert_eq!(c.drain(), vec![Output::Elected { position: end }]);
    }

    fn write_ok(req: &WriteRequest) -> WriteResponse {
        WriteResponse {
            request: req.request,
            kind: ResponseKind::Accept,
            proposal: req.proposal,
            position: req.position,
        }
    }

    #[test]
    fn appends_are_batched_into_a_window_of_rounds() {
        let mut c = coordinator();
        elected(&mut c, 4);
        for id in 0..8 {
            c.append(id, vec![id as u8]);
        }
        let out = c.drain();
        let writes: Vec<WriteRequest> = sends(&out)
            .into_iter()
            .filter_map(|r| match r {
                Request::Write(w) => Some(w.clone()),
                _ => None,
            })
            .collect();
        // The first entry goes alone; the window then has one slot for
        // the next three; the rest wait.
        assert_eq!(writes.len(), 2);
        assert_eq!((writes[0].position, writes[0].actions.len()), (5, 1));
        assert_eq!((writes[1].position, writes[1].actions.len()), (6, 1));
        assert_eq!(c.pending(), 8);
        c.on_write_response(1, &write_ok(&writes[1]));
        c.on_write_response(2, &write_ok(&writes[1]));
        let out = c.drain();
        assert!(out.contains(&Output::Written { id: 1, position: 6 }));
        let next: Vec<&WriteRequest> = sends(&out)
            .into_iter()
            .filter_map(|r| match r {
                Request::Write(w) => Some(w),
                _ => None,
            })
            .collect();
        assert_eq!((next[0].position, next[0].actions.len()), (7, 3));
        assert!(
            matches!(sends(&out)[0], Request::Learned(l) if l.actions.len() == 1 && l.actions[0].learned)
        );
    }

    #[test]
    fn any_reject_demotes_and_fails_everything_not_chosen() {
        let mut c = coordinator();
        elected(&mut c, 0);
        c.append(10, b"a".to_vec());
        c.append(11, b"b".to_vec());
        let out = c.drain();
        let Some(Request::Write(w)) = sends(&out).first().cloned().cloned() else {
            panic!("no write");
        };
        c.on_write_response(
            1,
            &WriteResponse {
                kind: ResponseKind::Reject,
                proposal: 9,
                ..write_ok(&w)
            },
        );
        let out = c.drain();
        assert!(out.contains(&Output::Failed {
            id: 10,
            error: CoordinatorError::Demoted(9)
        }));
        assert!(out.contains(&Output::Failed {
            id: 11,
            error: CoordinatorError::Demoted(9)
        }));
        assert!(!c.is_elected());
        c.append(12, b"c".to_vec());
        assert_eq!(
            c.drain(),
            vec![Output::Failed {
                id: 12,
                error: CoordinatorError::NotElected
            }]
        );
        // The next election goes above the proposal that demoted it.
        c.elect(0);
        let out = c.drain();
        assert!(matches!(sends(&out)[0], Request::Promise(p) if p.proposal == 10));
    }

    #[test]
    fn a_rejected_election_adopts_the_higher_proposal() {
        let mut c = coordinator();
        c.elect(4);
        let out = c.drain();
        let Some(Request::Promise(p)) = sends(&out).first().cloned().cloned() else {
            panic!("no promise");
        };
        assert_eq!(p.proposal, 5);
        c.on_promise_response(0, &promise_ok(p.request, 5, 0));
        c.on_promise_response(
            1,
            &PromiseResponse {
                request: p.request,
                kind: ResponseKind::Reject,
                proposal: 8,
                position: None,
                action: None,
            },
        );
        assert_eq!(
            c.drain(),
            vec![Output::NotElected(CoordinatorError::Rejected(8))]
        );
        c.elect(0);
        assert!(matches!(sends(&c.drain())[0], Request::Promise(p) if p.proposal == 9));
    }

    #[test]
    fn missing_positions_are_filled_before_the_election_ends() {
        let mut c = coordinator();
        c.elect(0);
        let out = c.drain();
        let Some(Request::Promise(p)) = sends(&out).first().cloned().cloned() else {
            panic!("no promise");
        };
        c.on_promise_response(0, &promise_ok(p.request, 1, 2));
        c.on_promise_response(1, &promise_ok(p.request, 1, 2));
        c.drain();
        c.on_missing(Positions::closed(2, 2));
        let out = c.drain();
        let Some(Request::Promise(fill)) = sends(&out).first().cloned().cloned() else {
            panic!("no explicit promise: {out:?}");
        };
        assert_eq!((fill.proposal, fill.position), (2, Some(2)));
        // One replica holds a value for position 2: it must be the one written.
        let held = Action {
            position: 2,
            promised: 1,
            performed: Some(1),
            learned: false,
            kind: Some(ActionKind::Append(b"old".to_vec())),
        };
        c.on_promise_response(
            0,
            &PromiseResponse {
                request: fill.request,
                kind: ResponseKind::Accept,
                proposal: 2,
                position: Some(2),
                action: Some(held),
            },
        );
        c.on_promise_response(1, &promise_ok(fill.request, 2, 2));
        let out = c.drain();
        let Some(Request::Write(w)) = sends(&out).first().cloned().cloned() else {
            panic!("no write: {out:?}");
        };
        assert_eq!(w.actions, vec![ActionKind::Append(b"old".to_vec())]);
        c.on_write_response(0, &write_ok(&w));
        c.on_write_response(2, &write_ok(&w));
        let out = c.drain();
        assert!(matches!(sends(&out)[0], Request::Learned(_)));
        assert_eq!(out.last(), Some(&Output::QueryMissing { from: 0, to: 2 }));
        c.on_missing(Positions::new());
        assert_eq!(c.drain(), vec![Output::Elected { position: 2 }]);
    }

    #[test]
    fn unanswered_rounds_are_sent_again_to_the_silent_replicas() {
        let mut c = coordinator();
        elected(&mut c, 0);
        c.append(1, b"a".to_vec());
        let out = c.drain();
        let Some(Request::Write(w)) = sends(&out).first().cloned().cloned() else {
            panic!("no write");
        };
        c.on_write_response(0, &write_ok(&w));
        for _ in 0..Timing::default().resend {
            c.tick();
        }
        let out = c.drain();
        let targets: Vec<To> = out
            .iter()
            .filter_map(|o| match o {
                Output::Send(s) => Some(s.to),
                _ => None,
            })
            .collect();
        assert_eq!(targets, vec![To::One(1), To::One(2)]);
    }
}
