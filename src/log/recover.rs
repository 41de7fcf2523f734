//! Bringing a replica that is not VOTING into the Paxos group (Mesos's
//! `RecoverProcess` and `RecoverProtocolProcess` in `src/log/recover.cpp`,
//! without the actors).
//!
//! A round broadcasts RecoverRequest to every replica (this one included)
//! and tallies the statuses that come back:
//! - a quorum of VOTING answers: the replica becomes RECOVERING and catches
//!   up every position in `[lowest begin, highest end]` it has not learned
//!   (fill: explicit promise, write, learn), then becomes VOTING. Positions
//!   past that end cannot hold a chosen value (a quorum would have shown
//!   it), so voting on them is safe; before the catch-up it never votes.
//!   Deviation: it also raises its own promise to the highest promise among
//!   those answers, so a replica that lost its disk cannot help a stale
//!   coordinator to a quorum its peers already refused;
//! - auto-initialisation of a log no one has used, in two phases so that
//!   no replica ends up alone as VOTING: EMPTY becomes STARTING when
//!   EMPTY + STARTING answers reach the cluster size (2·quorum − 1), and
//!   STARTING becomes VOTING when STARTING + VOTING answers do.
//!
//! A round that heard from everyone without a decision runs again after a
//! random wait; one that times out runs again at once.
//!
//! Messages out: RecoverRequest, and the fill's PromiseRequest,
//! WriteRequest and LearnedMessage. In: RecoverResponse, PromiseResponse,
//! WriteResponse, plus the local replica's status and missing positions,
//! which the driver looks up when asked.

use wire::log::{PromiseResponse, RecoverRequest, RecoverResponse, Status, WriteResponse};

use crate::random::Rng;

use super::consensus::Filler;
use super::positions::Positions;
use super::{Outgoing, Request, RequestIds, Timing, To};

/// What recovery asks of its driver, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    Send(Outgoing),
    /// Store the local replica's status (and raise its promise to at
    /// least `promised`), then call [`Recovery::on_status_set`].
    SetStatus {
        status: Status,
        promised: Option<u64>,
    },
    /// Look up the positions in `from..=to` the local replica has not
    /// learned and pass them to [`Recovery::on_missing`].
    QueryMissing {
        from: u64,
        to: u64,
    },
    /// The local replica is VOTING.
    Recovered,
}

/// What the VOTING replicas of a successful round reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Range {
    begin: u64,
    end: u64,
    promised: u64,
}

#[derive(Debug)]
enum State {
    /// Not started: waiting for the local replica's status.
    Idle,
    Round {
        /// The local replica's status when the round began.
        status: Status,
        request: Request,
        /// Which replicas answered.
        answered: Vec<bool>,
        voting: usize,
        starting: usize,
        empty: usize,
        /// Over the VOTING answers (None until the first).
        range: Option<Range>,
        started: u64,
        sent: u64,
    },
    /// Waiting until `until` to run a round again.
    Waiting {
        status: Status,
        until: u64,
    },
    /// Waiting for the local replica to store `status`.
    Updating {
        status: Status,
        then: Then,
    },
    /// Waiting for the local replica's missing positions in the range.
    Querying {
        range: Range,
        fill_proposal: u64,
    },
    Filling {
        range: Range,
        filler: Filler,
    },
    Done,
}

/// What follows a status update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Then {
    Round(Status),
    CatchUp(Range),
    Finish,
}

/// Recovery of one replica. See the module docs.
#[derive(Debug)]
pub struct Recovery {
    /// VOTING answers needed to catch up; also sets the cluster size.
    quorum: usize,
    /// How many replicas there are (the driver's list, this one included).
    replicas: usize,
    /// Whether an all-EMPTY log may initialise itself.
    auto_initialize: bool,
    timing: Timing,
    /// Where recovery stands; `Done` once the replica votes.
    state: State,
    ids: RequestIds,
    /// Jitter for retries; seeded, so a simulation replays.
    rng: Rng,
    /// Ticks seen.
    now: u64,
    /// What the driver has not yet taken.
    out: Vec<Output>,
}

impl Recovery {
    pub fn new(
        quorum: usize,
        replicas: usize,
        auto_initialize: bool,
        timing: Timing,
        first_request: u64,
        seed: u64,
    ) -> Recovery {
        Recovery {
            quorum,
            replicas,
            auto_initialize,
            timing,
            state: State::Idle,
            ids: RequestIds::starting_at(first_request),
            rng: Rng::with_seed(seed),
            now: 0,
            out: Vec::new(),
        }
    }

    pub fn drain(&mut self) -> Vec<Output> {
        std::mem::take(&mut self.out)
    }

    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done)
    }

    /// The cluster size auto-initialisation waits for (Mesos assumes the
    /// smallest cluster the quorum allows).
    fn cluster_size(&self) -> usize {
        (2 * self.quorum).saturating_sub(1)
    }

    /// Starts from the local replica's stored status.
    pub fn start(&mut self, status: Status) {
        if !matches!(self.state, State::Idle) {
            return;
        }
        if status == Status::Voting {
            self.finish();
        } else {
            self.round(status);
        }
    }

    fn finish(&mut self) {
        self.state = State::Done;
        self.out.push(Output::Recovered);
    }

    fn round(&mut self, status: Status) {
        let request = Request::Recover(RecoverRequest {
            request: self.ids.next_id(),
        });
        self.out.push(Output::Send(Outgoing {
            to: To::All,
            request: request.clone(),
        }));
        self.state = State::Round {
            status,
            request,
            answered: vec![false; self.replicas],
            voting: 0,
            starting: 0,
            empty: 0,
            range: None,
            started: self.now,
            sent: self.now,
        };
    }

    fn update(&mut self, status: Status, promised: Option<u64>, then: Then) {
        self.state = State::Updating { status, then };
        self.out.push(Output::SetStatus { status, promised });
    }

    /// Takes a replica's answer to a recover request.
    pub fn on_recover_response(&mut self, from: usize, resp: &RecoverResponse) {
        let cluster = self.cluster_size();
        let State::Round {
            status,
            request: Request::Recover(req),
            answered,
            voting,
            starting,
            empty,
            range,
            ..
        } = &mut self.state
        else {
            return;
        };
        if req.request != resp.request {
            return;
        }
        let reported = match (resp.begin, resp.end, resp.promised) {
            (Some(begin), Some(end), Some(promised)) if begin <= end.saturating_add(1) => {
                Some(Range {
                    begin,
                    end,
                    promised,
                })
            }
            _ => None,
        };
        // A VOTING answer without its positions cannot be counted.
        if resp.status == Status::Voting && reported.is_none() {
            return;
        }
        match answered.get_mut(from) {
            Some(seen) if !*seen => *seen = true,
            _ => return,
        }
        match resp.status {
            Status::Voting => {
                *voting += 1;
                if let Some(r) = reported {
                    *range = Some(match *range {
                        None => r,
                        Some(acc) => Range {
                            begin: acc.begin.min(r.begin),
                            end: acc.end.max(r.end),
                            promised: acc.promised.max(r.promised),
                        },
                    });
                }
            }
            Status::Starting => *starting += 1,
            Status::Empty => *empty += 1,
            Status::Recovering => {}
        }
        let local = *status;
        if *voting >= self.quorum {
            if let Some(range) = *range {
                self.update(Status::Recovering, None, Then::CatchUp(range));
                return;
            }
        }
        if self.auto_initialize {
            if local == Status::Empty && *empty + *starting >= cluster {
                self.update(Status::Starting, None, Then::Round(Status::Starting));
                return;
            }
            if local == Status::Starting && *starting + *voting >= cluster {
                self.update(Status::Voting, None, Then::Finish);
                return;
            }
        }
        if answered.iter().all(|a| *a) {
            let wait = self
                .rng
                .range(self.timing.recover_retry, 2 * self.timing.recover_retry);
            self.state = State::Waiting {
                status: local,
                until: self.now + wait,
            };
        }
    }

    /// The local replica stored the status asked for.
    pub fn on_status_set(&mut self, status: Status) {
        let State::Updating {
            status: asked,
            then,
        } = self.state
        else {
            return;
        };
        if asked != status {
            return;
        }
        match then {
            Then::Round(status) => self.round(status),
            Then::CatchUp(range) => self.query(range, range.promised.saturating_add(1)),
            Then::Finish => self.finish(),
        }
    }

    fn query(&mut self, range: Range, fill_proposal: u64) {
        self.state = State::Querying {
            range,
            fill_proposal,
        };
        self.out.push(Output::QueryMissing {
            from: range.begin,
            to: range.end,
        });
    }

    /// Takes the local replica's missing positions asked for.
    pub fn on_missing(&mut self, missing: Positions) {
        let State::Querying {
            range,
            fill_proposal,
        } = self.state
        else {
            return;
        };
        if missing.is_empty() {
            self.update(Status::Voting, Some(range.promised), Then::Finish);
            return;
        }
        let mut filler = Filler::new(
            self.quorum,
            self.replicas,
            fill_proposal,
            missing,
            self.timing,
        );
        let mut sends = Vec::new();
        filler.pump(self.now, &mut self.ids, &mut sends);
        self.state = State::Filling { range, filler };
        self.after_fill(sends);
    }

    /// Passes on what the fill sends; once it is done, checks the local
    /// replica again, since it learns only through messages.
    fn after_fill(&mut self, sends: Vec<Outgoing>) {
        self.out.extend(sends.into_iter().map(Output::Send));
        if let State::Filling { range, filler } = &self.state {
            if filler.is_done() {
                let (range, proposal) = (*range, filler.proposal());
                self.query(range, proposal);
            }
        }
    }

    pub fn on_promise_response(&mut self, from: usize, resp: &PromiseResponse) {
        if let State::Filling { filler, .. } = &mut self.state {
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
    }

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
        }
    }

    /// Advances the clock: rounds time out or start again, requests go
    /// again to replicas that did not answer.
    pub fn tick(&mut self) {
        self.now += 1;
        let now = self.now;
        let mut sends = Vec::new();
        match &mut self.state {
            State::Round {
                status,
                request,
                answered,
                started,
                sent,
                ..
            } => {
                if now.saturating_sub(*started) >= self.timing.recover_timeout {
                    let status = *status;
                    self.round(status);
                } else if now.saturating_sub(*sent) >= self.timing.resend {
                    *sent = now;
                    for (i, _) in answered.iter().enumerate().filter(|(_, a)| !**a) {
                        sends.push(Outgoing {
                            to: To::One(i),
                            request: request.clone(),
                        });
                    }
                }
            }
            State::Waiting { status, until } if *until <= now => {
                let status = *status;
                self.round(status);
            }
            State::Filling { filler, .. } => filler.tick(now, &mut self.ids, &mut sends),
            _ => {}
        }
        self.after_fill(sends);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recovery() -> Recovery {
        Recovery::new(2, 3, true, Timing::default(), 1, 3)
    }

    fn request_of(out: &[Output]) -> u64 {
        out.iter()
            .find_map(|o| match o {
                Output::Send(Outgoing {
                    request: Request::Recover(r),
                    ..
                }) => Some(r.request),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no recover request in {out:?}"))
    }

    fn answer(request: u64, status: Status) -> RecoverResponse {
        let voting = status == Status::Voting;
        RecoverResponse {
            request,
            status,
            begin: voting.then_some(0),
            end: voting.then_some(5),
            promised: voting.then_some(3),
        }
    }

    #[test]
    fn a_voting_replica_is_recovered_at_once() {
        let mut r = recovery();
        r.start(Status::Voting);
        assert_eq!(r.drain(), vec![Output::Recovered]);
    }

    #[test]
    fn an_all_empty_cluster_initialises_in_two_phases() {
        let mut r = recovery();
        r.start(Status::Empty);
        let req = request_of(&r.drain());
        r.on_recover_response(0, &answer(req, Status::Empty));
        r.on_recover_response(1, &answer(req, Status::Starting));
        assert!(r.drain().is_empty());
        r.on_recover_response(2, &answer(req, Status::Empty));
        assert_eq!(
            r.drain(),
            vec![Output::SetStatus {
                status: Status::Starting,
                promised: None
            }]
        );
        r.on_status_set(Status::Starting);
        let req = request_of(&r.drain());
        r.on_recover_response(0, &answer(req, Status::Starting));
        r.on_recover_response(1, &answer(req, Status::Voting));
        // Someone is still EMPTY: wait and ask again.
        r.on_recover_response(2, &answer(req, Status::Empty));
        assert!(r.drain().is_empty());
        for _ in 0..2 * Timing::default().recover_retry {
            r.tick();
        }
        let req = request_of(&r.drain());
        for i in 0..3 {
            r.on_recover_response(i, &answer(req, Status::Starting));
        }
        assert_eq!(
            r.drain(),
            vec![Output::SetStatus {
                status: Status::Voting,
                promised: None
            }]
        );
        r.on_status_set(Status::Voting);
        assert_eq!(r.drain(), vec![Output::Recovered]);
    }

    #[test]
    fn a_quorum_of_voting_replicas_starts_a_catch_up_before_voting() {
        let mut r = recovery();
        r.start(Status::Empty);
        let req = request_of(&r.drain());
        r.on_recover_response(0, &answer(req, Status::Empty));
        r.on_recover_response(1, &answer(req, Status::Voting));
        r.on_recover_response(2, &answer(req, Status::Voting));
        assert_eq!(
            r.drain(),
            vec![Output::SetStatus {
                status: Status::Recovering,
                promised: None
            }]
        );
        r.on_status_set(Status::Recovering);
        assert_eq!(r.drain(), vec![Output::QueryMissing { from: 0, to: 5 }]);
        r.on_missing(Positions::closed(4, 5));
        let out = r.drain();
        let promises: Vec<(u64, Option<u64>)> = out
            .iter()
            .filter_map(|o| match o {
                Output::Send(Outgoing {
                    request: Request::Promise(p),
                    ..
                }) => Some((p.proposal, p.position)),
                _ => None,
            })
            .collect();
        assert_eq!(promises, vec![(4, Some(4)), (4, Some(5))]);
    }

    #[test]
    fn caught_up_replicas_vote_with_their_peers_promise() {
        let mut r = recovery();
        r.start(Status::Recovering);
        let req = request_of(&r.drain());
        r.on_recover_response(1, &answer(req, Status::Voting));
        r.on_recover_response(1, &answer(req, Status::Voting));
        assert!(r.drain().is_empty(), "one replica counts once");
        r.on_recover_response(2, &answer(req, Status::Voting));
        r.drain();
        r.on_status_set(Status::Recovering);
        r.drain();
        r.on_missing(Positions::new());
        assert_eq!(
            r.drain(),
            vec![Output::SetStatus {
                status: Status::Voting,
                promised: Some(3)
            }]
        );
    }
}
