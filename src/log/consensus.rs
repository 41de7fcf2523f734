//! Single-decree Paxos rounds shared by the coordinator and recovery
//! (Mesos's `consensus.cpp` and `catchup.cpp`): counting a quorum of
//! answers ([`Tally`]) and filling positions ([`Filler`]: explicit promise,
//! then write of the value found or a NOP, then learn).
//!
//! Messages out: `PromiseRequest` (explicit), `WriteRequest` (one
//! position), `LearnedMessage`. In: `PromiseResponse`, `WriteResponse`.
//! No I/O, no clock: the owner passes ticks in and sends what comes out.

use std::collections::BTreeMap;

use wire::log::{
    Action, ActionKind, LearnedMessage, PromiseRequest, PromiseResponse, ResponseKind,
    WriteRequest, WriteResponse,
};

use crate::random::Rng;

use super::positions::Positions;
use super::{Outgoing, Request, RequestIds, Timing, To};

/// The answers of the replicas to one request; only the first answer of
/// each replica counts, so duplicated messages change nothing.
#[derive(Debug, Clone)]
pub struct Tally {
    /// Which replicas have answered, by index.
    answered: Vec<bool>,
    pub accepts: usize,
    pub rejects: usize,
    pub ignores: usize,
    /// The highest proposal a rejecting replica named.
    pub highest_reject: Option<u64>,
}

impl Tally {
    pub fn new(replicas: usize) -> Tally {
        Tally {
            answered: vec![false; replicas],
            accepts: 0,
            rejects: 0,
            ignores: 0,
            highest_reject: None,
        }
    }

    /// Counts `kind` from `replica`; false (and nothing counted) for a
    /// second answer or an unknown replica.
    pub fn record(&mut self, replica: usize, kind: ResponseKind, proposal: u64) -> bool {
        match self.answered.get_mut(replica) {
            Some(seen) if !*seen => *seen = true,
            _ => return false,
        }
        match kind {
            ResponseKind::Accept => self.accepts += 1,
            ResponseKind::Reject => {
                self.rejects += 1;
                self.highest_reject = self.highest_reject.max(Some(proposal));
            }
            ResponseKind::Ignored => self.ignores += 1,
        }
        true
    }

    /// Answers that took part in the vote (IGNORED did not).
    pub fn votes(&self) -> usize {
        self.accepts + self.rejects
    }

    /// The replicas that have not answered.
    pub fn silent(&self) -> impl Iterator<Item = usize> + '_ {
        self.answered
            .iter()
            .enumerate()
            .filter(|(_, a)| !**a)
            .map(|(i, _)| i)
    }

    /// Sends `request` again to every replica that has not answered.
    pub fn resend(&self, request: &Request, out: &mut Vec<Outgoing>) {
        for i in self.silent() {
            out.push(Outgoing {
                to: To::One(i),
                request: request.clone(),
            });
        }
    }
}

/// One position being filled.
#[derive(Debug)]
struct Fill {
    position: u64,
    /// The proposal of this attempt, for its promise and its write.
    proposal: u64,
    phase: Phase,
    tally: Tally,
    /// The tick the current request was last sent at.
    sent: u64,
    /// The current request, kept to send again.
    request: Request,
}

#[derive(Debug)]
enum Phase {
    /// Explicit promise out; the value with the highest `performed` among
    /// the accepting answers so far.
    Promise { highest: Option<(u64, ActionKind)> },
    /// Write of `kind` out.
    Write { kind: ActionKind },
}

/// Fills positions: for each, an explicit promise, then a write of the
/// value Paxos allows (the one accepted with the highest proposal, or a
/// NOP if there is none), then a broadcast of the learned value. A fill
/// that meets a higher promise retries with a higher proposal after a
/// random back-off, for ever (Mesos's `FillProcess`), so it terminates
/// once the competition stops. Several positions are filled at once.
#[derive(Debug)]
pub struct Filler {
    quorum: usize,
    replicas: usize,
    /// Fills in flight at most.
    window: usize,
    timing: Timing,
    /// The proposal the next attempt uses; above every rejection seen.
    proposal: u64,
    /// Positions not yet attempted.
    todo: Positions,
    /// Attempts in flight, by the number of their current request.
    fills: BTreeMap<u64, Fill>,
    /// Positions backing off: (tick to retry at, position).
    waiting: Vec<(u64, u64)>,
}

impl Filler {
    pub fn new(
        quorum: usize,
        replicas: usize,
        proposal: u64,
        positions: Positions,
        timing: Timing,
    ) -> Filler {
        Filler {
            quorum,
            replicas,
            window: 64,
            timing,
            proposal,
            todo: positions,
            fills: BTreeMap::new(),
            waiting: Vec::new(),
        }
    }

    /// The highest proposal used so far: a later fill starts there.
    pub fn proposal(&self) -> u64 {
        self.proposal
    }

    pub fn is_done(&self) -> bool {
        self.todo.is_empty() && self.fills.is_empty() && self.waiting.is_empty()
    }

    /// Starts attempts up to the window: retries that are due, then new
    /// positions.
    pub fn pump(&mut self, now: u64, ids: &mut RequestIds, out: &mut Vec<Outgoing>) {
        let mut due = Vec::new();
        self.waiting.retain(|&(at, position)| {
            let ready = at <= now;
            if ready {
                due.push(position);
            }
            !ready
        });
        for position in due {
            self.start(position, now, ids, out);
        }
        while self.fills.len() < self.window {
            let Some(position) = self.todo.pop_first() else {
                break;
            };
            self.start(position, now, ids, out);
        }
    }

    fn start(&mut self, position: u64, now: u64, ids: &mut RequestIds, out: &mut Vec<Outgoing>) {
        let request = Request::Promise(PromiseRequest {
            request: ids.next_id(),
            proposal: self.proposal,
            position: Some(position),
        });
        self.launch(
            Fill {
                position,
                proposal: self.proposal,
                phase: Phase::Promise { highest: None },
                tally: Tally::new(self.replicas),
                sent: now,
                request,
            },
            out,
        );
    }

    fn launch(&mut self, fill: Fill, out: &mut Vec<Outgoing>) {
        let id = match &fill.request {
            Request::Promise(p) => p.request,
            Request::Write(w) => w.request,
            _ => return,
        };
        out.push(Outgoing {
            to: To::All,
            request: fill.request.clone(),
        });
        self.fills.insert(id, fill);
    }

    /// Gives up on this attempt for now and retries after a random wait.
    fn back_off(&mut self, fill: Fill, now: u64, rng: &mut Rng) {
        let wait = rng.range(self.timing.backoff, 2 * self.timing.backoff);
        self.waiting.push((now + wait, fill.position));
    }

    fn learn(fill: &Fill, action: Action, out: &mut Vec<Outgoing>) {
        debug_assert_eq!(action.position, fill.position);
        out.push(Outgoing {
            to: To::All,
            request: Request::Learned(LearnedMessage {
                actions: vec![action],
            }),
        });
    }

    /// Takes an answer to an explicit promise of this filler.
    pub fn on_promise(
        &mut self,
        from: usize,
        resp: &PromiseResponse,
        now: u64,
        ids: &mut RequestIds,
        rng: &mut Rng,
        out: &mut Vec<Outgoing>,
    ) {
        let Some(fill) = self.fills.get_mut(&resp.request) else {
            return;
        };
        let Phase::Promise { highest } = &mut fill.phase else {
            return;
        };
        // An accept must speak of this position and proposal, or it is not
        // counted.
        if resp.kind == ResponseKind::Accept
            && (resp.proposal != fill.proposal
                || resp
                    .action
                    .as_ref()
                    .is_some_and(|a| a.position != fill.position))
        {
            return;
        }
        if !fill.tally.record(from, resp.kind, resp.proposal) {
            return;
        }
        if resp.kind == ResponseKind::Accept && fill.tally.rejects == 0 {
            if let Some(a) = &resp.action {
                if let (true, Some(kind)) = (a.learned, &a.kind) {
                    // Already chosen: just spread the word. Which learned
                    // answer is taken does not matter; a truncated
                    // position may answer with a tombstone, and it will be
                    // truncated everywhere in the end.
                    let learned = Action {
                        position: fill.position,
                        promised: fill.proposal,
                        performed: Some(fill.proposal),
                        learned: true,
                        kind: Some(kind.clone()),
                    };
                    if let Some(fill) = self.fills.remove(&resp.request) {
                        Filler::learn(&fill, learned, out);
                    }
                    self.pump(now, ids, out);
                    return;
                }
                if let (Some(performed), Some(kind)) = (a.performed, &a.kind) {
                    if highest.as_ref().is_none_or(|(p, _)| *p < performed) {
                        *highest = Some((performed, kind.clone()));
                    }
                }
            }
        }
        let decided = fill.tally.ignores >= self.quorum || fill.tally.votes() >= self.quorum;
        if !decided {
            return;
        }
        let Some(mut fill) = self.fills.remove(&resp.request) else {
            return;
        };
        if fill.tally.votes() < self.quorum {
            // A quorum is not voting (recovering, say): try again later.
            self.back_off(fill, now, rng);
        } else if let Some(bar) = fill.tally.highest_reject {
            self.proposal = self.proposal.max(bar.saturating_add(1));
            self.back_off(fill, now, rng);
        } else {
            // Paxos: the value accepted with the highest proposal, or any
            // value (a NOP) when no one accepted one.
            let kind = match std::mem::replace(&mut fill.phase, Phase::Promise { highest: None }) {
                Phase::Promise {
                    highest: Some((_, kind)),
                } => kind,
                _ => ActionKind::Nop { tombstone: false },
            };
            fill.request = Request::Write(WriteRequest {
                request: ids.next_id(),
                proposal: fill.proposal,
                position: fill.position,
                learned: false,
                actions: vec![kind.clone()],
            });
            fill.phase = Phase::Write { kind };
            fill.tally = Tally::new(self.replicas);
            fill.sent = now;
            self.launch(fill, out);
        }
        self.pump(now, ids, out);
    }

    /// Takes an answer to a write of this filler.
    pub fn on_write(
        &mut self,
        from: usize,
        resp: &WriteResponse,
        now: u64,
        ids: &mut RequestIds,
        rng: &mut Rng,
        out: &mut Vec<Outgoing>,
    ) {
        let Some(fill) = self.fills.get_mut(&resp.request) else {
            return;
        };
        let stray = resp.position != fill.position
            || (resp.kind == ResponseKind::Accept && resp.proposal != fill.proposal);
        if !matches!(fill.phase, Phase::Write { .. }) || stray {
            return;
        }
        if !fill.tally.record(from, resp.kind, resp.proposal) {
            return;
        }
        let decided = fill.tally.ignores >= self.quorum || fill.tally.votes() >= self.quorum;
        if !decided {
            return;
        }
        let Some(fill) = self.fills.remove(&resp.request) else {
            return;
        };
        if fill.tally.votes() < self.quorum {
            self.back_off(fill, now, rng);
        } else if let Some(bar) = fill.tally.highest_reject {
            self.proposal = self.proposal.max(bar.saturating_add(1));
            self.back_off(fill, now, rng);
        } else if let Phase::Write { kind } = &fill.phase {
            let learned = Action {
                position: fill.position,
                promised: fill.proposal,
                performed: Some(fill.proposal),
                learned: true,
                kind: Some(kind.clone()),
            };
            Filler::learn(&fill, learned, out);
        }
        self.pump(now, ids, out);
    }

    /// Sends stale requests again and starts retries that are due.
    pub fn tick(&mut self, now: u64, ids: &mut RequestIds, out: &mut Vec<Outgoing>) {
        for fill in self.fills.values_mut() {
            if now.saturating_sub(fill.sent) >= self.timing.resend {
                fill.sent = now;
                fill.tally.resend(&fill.request, out);
            }
        }
        self.pump(now, ids, out);
    }
}
