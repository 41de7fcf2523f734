//! The replica's state machine: acceptor and learner of every log position
//! (Mesos's `ReplicaProcess` in `src/log/replica.cpp`, without the actor).
//!
//! It answers [`PromiseRequest`], [`WriteRequest`] and [`RecoverRequest`]
//! and takes [`LearnedMessage`]s, keeping its records in a [`Storage`]. It
//! does no I/O of its own beyond that storage and reads no clock. Changes
//! are *staged*: the answers a handler returns may be sent only after
//! [`Replica::commit`] succeeded, so that every promise and every accepted
//! write is on disk before anyone hears of it; one commit may cover many
//! requests (group commit).
//!
//! The rules are Mesos's:
//! - a replica that is not VOTING answers promises and writes IGNORED;
//! - an implicit promise (no position) is given once per proposal number,
//!   to a proposal above every one promised before, and answers with the
//!   replica's `end`;
//! - an explicit promise for a position is given to a proposal above the
//!   position's own promise (or the implicit one when the position has no
//!   record) and returns what the position held; a truncated position
//!   answers with a learned NOP tombstone;
//! - a write is rejected only when its proposal is *below* the promise;
//!   a learned position is never overwritten;
//! - a learned TRUNCATE(to) or NOP tombstone moves `begin` and lets the
//!   positions below it be deleted.
//!
//! Deviations. For safety: accepting a write raises the position's promise
//! to the write's proposal, as in Paxos; Mesos keeps the implicit promise
//! there, so a demoted coordinator's delayed write could replace a value
//! accepted under a higher proposal, and a later fill could then choose a
//! second value (the simulation found such a run). To save disk writes: an
//! explicit promise for a learned position returns the learned action
//! without storing a promise (its value can no longer change, so the
//! promise protects nothing); learned marks are committed without fsync
//! (losing one only makes a position look unlearned again, and the next
//! coordinator fills it with the same value).

use std::collections::BTreeMap;

use wire::log::{
    Action, ActionKind, LearnedMessage, Metadata, PromiseRequest, PromiseResponse, RecoverRequest,
    RecoverResponse, ResponseKind, Status, WriteRequest, WriteResponse,
};

use super::positions::Positions;
use super::storage::{Batch, Storage, StorageError};

/// Why a replica could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum ReplicaError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("the replica's storage failed and could not be reloaded; it answers nothing")]
    Broken,
    #[error("position {0} was truncated")]
    Truncated(u64),
    #[error("bad read range {from}..={to}: {reason}")]
    BadRange {
        from: u64,
        to: u64,
        reason: &'static str,
    },
}

/// What the replica knows of its log, rebuilt from storage at start.
#[derive(Debug, Clone)]
struct View {
    /// Status and implicit promise, staged changes included.
    metadata: Metadata,
    /// The first position not truncated by a learned TRUNCATE or tombstone.
    begin: u64,
    /// The highest position with a record (0 for a new log).
    end: u64,
    /// Positions in `begin..=end` with no record at all.
    holes: Positions,
    /// Positions at or above `begin` whose record is not learned.
    unlearned: Positions,
}

/// Changes not yet committed.
#[derive(Debug, Default)]
struct Staged {
    metadata: bool,
    truncate: Option<u64>,
    /// Invariant: no position below `truncate`.
    actions: BTreeMap<u64, Action>,
    durable: bool,
}

/// A replica over storage `S`. See the module docs.
pub struct Replica<S: Storage> {
    storage: S,
    /// `None` once storage failed and could not be read back: answers nothing.
    view: Option<View>,
    /// What the next commit writes; answers given since the last commit
    /// depend on it.
    staged: Staged,
}

impl<S: Storage> Replica<S> {
    /// Rebuilds the replica's view from `storage`.
    pub fn open(storage: S) -> Result<Replica<S>, ReplicaError> {
        let view = load(&storage)?;
        Ok(Replica {
            storage,
            view: Some(view),
            staged: Staged::default(),
        })
    }

    /// Gives the storage back (a simulated crash keeps it for the restart).
    pub fn into_storage(self) -> S {
        self.storage
    }

    fn view(&self) -> Result<&View, ReplicaError> {
        self.view.as_ref().ok_or(ReplicaError::Broken)
    }

    fn view_mut(&mut self) -> Result<&mut View, ReplicaError> {
        self.view.as_mut().ok_or(ReplicaError::Broken)
    }

    pub fn status(&self) -> Option<Status> {
        self.view.as_ref().map(|v| v.metadata.status)
    }

    /// The highest implicit promise given.
    pub fn promised(&self) -> u64 {
        self.view.as_ref().map_or(0, |v| v.metadata.promised)
    }

    /// The first position not truncated.
    pub fn begin(&self) -> u64 {
        self.view.as_ref().map_or(0, |v| v.begin)
    }

    /// The last position written.
    pub fn end(&self) -> u64 {
        self.view.as_ref().map_or(0, |v| v.end)
    }

    /// Whether `position` is not yet learned here (truncated positions
    /// count as learned).
    pub fn is_missing(&self, position: u64) -> bool {
        let Some(v) = &self.view else {
            return true;
        };
        if position < v.begin {
            false
        } else if position > v.end {
            true
        } else {
            v.unlearned.contains(position) || v.holes.contains(position)
        }
    }

    /// The positions in `from..=to` not yet learned here.
    pub fn missing(&self, from: u64, to: u64) -> Positions {
        let Some(v) = &self.view else {
            return Positions::closed(from, to);
        };
        let from = from.max(v.begin);
        let mut missing = v.unlearned.within(from, to);
        missing.extend(&v.holes.within(from, to));
        if to > v.end {
            missing.insert_closed(from.max(v.end.saturating_add(1)), to);
        }
        missing
    }

    /// The record at `position`, staged changes included.
    fn get(&self, position: u64) -> Result<Option<Action>, ReplicaError> {
        let v = self.view()?;
        if position < v.begin {
            return Err(ReplicaError::Truncated(position));
        }
        if position > v.end || v.holes.contains(position) {
            return Ok(None);
        }
        if let Some(a) = self.staged.actions.get(&position) {
            return Ok(Some(a.clone()));
        }
        Ok(self.storage.get_action(position)?)
    }

    /// Answers a promise request (staged: send after [`Replica::commit`]).
    pub fn promise(&mut self, req: &PromiseRequest) -> Result<PromiseResponse, ReplicaError> {
        let v = self.view()?;
        let answer = |kind, proposal, position, action| PromiseResponse {
            request: req.request,
            kind,
            proposal,
            position,
            action,
        };
        if v.metadata.status != Status::Voting {
            return Ok(answer(ResponseKind::Ignored, req.proposal, None, None));
        }
        let promised = v.metadata.promised;
        let Some(position) = req.position else {
            // Implicit: once per proposal number, so two coordinators that
            // picked the same number cannot both win.
            if req.proposal <= promised {
                return Ok(answer(ResponseKind::Reject, promised, None, None));
            }
            let end = v.end;
            self.view_mut()?.metadata.promised = req.proposal;
            self.staged.metadata = true;
            self.staged.durable = true;
            return Ok(answer(ResponseKind::Accept, req.proposal, Some(end), None));
        };
        if position < v.begin {
            // Truncated: a learned no-op stands in for whatever was there,
            // which is safe since every replica will learn the truncation.
            let tombstone = Action {
                position,
                promised,
                performed: Some(promised),
                learned: true,
                kind: Some(ActionKind::Nop { tombstone: true }),
            };
            return Ok(answer(
                ResponseKind::Accept,
                req.proposal,
                None,
                Some(tombstone),
            ));
        }
        match self.get(position)? {
            None => {
                // Implicitly promised already: a proposal at or below that
                // promise must not get this position.
                if req.proposal <= promised {
                    return Ok(answer(ResponseKind::Reject, promised, None, None));
                }
                self.stage(Action {
                    position,
                    promised: req.proposal,
                    performed: None,
                    learned: false,
                    kind: None,
                })?;
                Ok(answer(
                    ResponseKind::Accept,
                    req.proposal,
                    Some(position),
                    None,
                ))
            }
            Some(action) if action.learned => Ok(answer(
                ResponseKind::Accept,
                req.proposal,
                Some(position),
                Some(action),
            )),
            Some(action) => {
                if req.proposal <= action.promised {
                    return Ok(answer(ResponseKind::Reject, action.promised, None, None));
                }
                let mut promised = action.clone();
                promised.promised = req.proposal;
                self.stage(promised)?;
                Ok(answer(
                    ResponseKind::Accept,
                    req.proposal,
                    Some(position),
                    Some(action),
                ))
            }
        }
    }

    /// Answers a write of a run of positions (staged: send after
    /// [`Replica::commit`]). The run is taken whole or not at all.
    pub fn write(&mut self, req: &WriteRequest) -> Result<WriteResponse, ReplicaError> {
        let v = self.view()?;
        let answer = |kind, proposal| WriteResponse {
            request: req.request,
            kind,
            proposal,
            position: req.position,
        };
        if v.metadata.status != Status::Voting || req.actions.is_empty() {
            return Ok(answer(ResponseKind::Ignored, req.proposal));
        }
        let (begin, promised) = (v.begin, v.metadata.promised);
        let mut existing = Vec::with_capacity(req.actions.len());
        let mut rejected_by: Option<u64> = None;
        let mut conflict = false;
        for (offset, kind) in (0u64..).zip(&req.actions) {
            let Some(position) = req.position.checked_add(offset) else {
                return Ok(answer(ResponseKind::Ignored, req.proposal));
            };
            if position < begin {
                // Truncated: the writer is stale (Mesos does not answer).
                return Ok(answer(ResponseKind::Ignored, req.proposal));
            }
            let action = self.get(position)?;
            let bar = action.as_ref().map_or(promised, |a| a.promised);
            if req.proposal < bar {
                rejected_by = rejected_by.max(Some(bar));
            } else if let Some(a) = &action {
                // A learned value stays; a different one can only come from
                // a writer that lost (see MESOS-1271 in replica.cpp).
                conflict |= a.learned && a.kind.as_ref() != Some(kind);
            }
            existing.push(action);
        }
        if let Some(bar) = rejected_by {
            return Ok(answer(ResponseKind::Reject, bar));
        }
        if conflict {
            return Ok(answer(ResponseKind::Ignored, req.proposal));
        }
        for ((position, kind), action) in (req.position..).zip(&req.actions).zip(existing) {
            // Accepting a proposal promises it too (Paxos): Mesos keeps the
            // older promise, which lets a delayed write of a demoted
            // coordinator replace a value accepted under a higher proposal.
            let written = match action {
                Some(a) if a.learned => continue,
                Some(a) => Action {
                    promised: a.promised.max(req.proposal),
                    performed: Some(req.proposal),
                    learned: req.learned,
                    kind: Some(kind.clone()),
                    ..a
                },
                None => Action {
                    position,
                    promised: promised.max(req.proposal),
                    performed: Some(req.proposal),
                    learned: req.learned,
                    kind: Some(kind.clone()),
                },
            };
            self.stage(written)?;
        }
        Ok(answer(ResponseKind::Accept, req.proposal))
    }

    /// Records chosen actions (staged, committed without fsync).
    pub fn learned(&mut self, msg: &LearnedMessage) -> Result<(), ReplicaError> {
        for action in &msg.actions {
            if action.kind.is_none() || action.position < self.view()?.begin {
                continue;
            }
            let mut learned = action.clone();
            learned.learned = true;
            self.stage(learned)?;
        }
        Ok(())
    }

    /// Answers a recover request (nothing to commit).
    pub fn recover(&self, req: &RecoverRequest) -> Result<RecoverResponse, ReplicaError> {
        let v = self.view()?;
        let voting = v.metadata.status == Status::Voting;
        Ok(RecoverResponse {
            request: req.request,
            status: v.metadata.status,
            begin: voting.then_some(v.begin),
            end: voting.then_some(v.end),
            promised: voting.then_some(v.metadata.promised),
        })
    }

    /// Sets the status and raises the implicit promise to at least
    /// `promised` (staged, durable).
    pub fn update(&mut self, status: Status, promised: Option<u64>) -> Result<(), ReplicaError> {
        let m = &mut self.view_mut()?.metadata;
        m.status = status;
        m.promised = m.promised.max(promised.unwrap_or(0));
        self.staged.metadata = true;
        self.staged.durable = true;
        Ok(())
    }

    /// Whether anything awaits [`Replica::commit`].
    pub fn has_staged(&self) -> bool {
        self.staged.metadata || self.staged.truncate.is_some() || !self.staged.actions.is_empty()
    }

    /// Writes what was staged in one commit. On failure the staged
    /// changes are dropped, the view is rebuilt from storage, and the
    /// answers given since the last commit must not be sent.
    pub fn commit(&mut self) -> Result<(), ReplicaError> {
        if !self.has_staged() {
            return Ok(());
        }
        let staged = std::mem::take(&mut self.staged);
        let batch = Batch {
            metadata: match (staged.metadata, &self.view) {
                (true, Some(v)) => Some(v.metadata),
                _ => None,
            },
            truncate: staged.truncate,
            actions: staged.actions.into_values().collect(),
            durable: staged.durable,
        };
        if let Err(e) = self.storage.apply(batch) {
            self.view = load(&self.storage).ok();
            return Err(e.into());
        }
        Ok(())
    }

    /// The learned APPEND entries in `from..=to`, as Mesos's log reader
    /// returns them: the range must be within `begin..=end` and every
    /// position in it learned.
    pub fn entries(&self, from: u64, to: u64) -> Result<Vec<(u64, Vec<u8>)>, ReplicaError> {
        let v = self.view()?;
        let bad = |reason| ReplicaError::BadRange { from, to, reason };
        if to < from {
            return Err(bad("to < from"));
        }
        if from < v.begin {
            return Err(bad("truncated position"));
        }
        if to > v.end {
            return Err(bad("past end of log"));
        }
        if !v.holes.within(from, to).is_empty() {
            return Err(bad("includes missing entries"));
        }
        if !v.unlearned.within(from, to).is_empty() {
            return Err(bad("includes pending entries"));
        }
        let mut actions: BTreeMap<u64, Action> = self
            .storage
            .range(from, to)?
            .into_iter()
            .map(|a| (a.position, a))
            .collect();
        for (p, a) in self.staged.actions.range(from..=to) {
            actions.insert(*p, a.clone());
        }
        if actions.len() as u64 != to - from + 1 {
            return Err(bad("includes missing entries"));
        }
        Ok(actions
            .into_values()
            .filter_map(|a| match a.kind {
                Some(ActionKind::Append(bytes)) => Some((a.position, bytes)),
                _ => None,
            })
            .collect())
    }

    /// The stored action at `position`, for tests and checks.
    pub fn action(&self, position: u64) -> Result<Option<Action>, ReplicaError> {
        self.get(position)
    }

    /// Stages `action` and updates the view as Mesos's `persist` does.
    fn stage(&mut self, action: Action) -> Result<(), ReplicaError> {
        let position = action.position;
        let truncate_to = match (&action.kind, action.learned) {
            (Some(ActionKind::Truncate { to }), true) => Some(*to),
            (Some(ActionKind::Nop { tombstone: true }), true) => Some(position.saturating_add(1)),
            _ => None,
        };
        let durable = !action.learned;
        let v = self.view_mut()?;
        v.holes.remove(position);
        if action.learned {
            v.unlearned.remove(position);
        } else {
            v.unlearned.insert(position);
        }
        if position > v.end {
            v.holes.insert_range(v.end.saturating_add(1), position);
        }
        v.end = v.end.max(position);
        let mut truncated = None;
        if let Some(to) = truncate_to {
            v.holes.remove_below(to);
            v.unlearned.remove_below(to);
            if to > v.begin {
                v.begin = to;
                truncated = Some(to);
            }
        }
        self.staged.durable |= durable;
        self.staged.actions.insert(position, action);
        if let Some(to) = truncated {
            self.staged.truncate = self.staged.truncate.max(Some(to));
            self.staged.actions = self.staged.actions.split_off(&to);
        }
        Ok(())
    }
}

/// Rebuilds a replica's view from its storage (Mesos's `restore`).
fn load<S: Storage>(storage: &S) -> Result<View, ReplicaError> {
    let metadata = storage.get_metadata()?;
    let (mut begin, mut end) = (0u64, 0u64);
    let mut learned = Positions::new();
    let mut unlearned = Positions::new();
    storage.scan(&mut |a| {
        end = end.max(a.position);
        if a.learned {
            learned.insert(a.position);
            match a.kind {
                Some(ActionKind::Truncate { to }) => begin = begin.max(to),
                Some(ActionKind::Nop { tombstone: true }) => {
                    begin = begin.max(a.position.saturating_add(1))
                }
                _ => {}
            }
        } else {
            unlearned.insert(a.position);
        }
    })?;
    unlearned.remove_below(begin);
    // A new log has position 0 as a hole: the first coordinator fills it.
    let mut holes = Positions::closed(begin, end);
    holes.remove_all(&learned);
    holes.remove_all(&unlearned);
    Ok(View {
        metadata,
        begin,
        end,
        holes,
        unlearned,
    })
}

#[cfg(test)]
mod tests {
    use super::super::storage::MemStorage;
    use super::*;

    fn voting() -> Replica<MemStorage> {
        let mut r = Replica::open(MemStorage::new()).unwrap();
        r.update(Status::Voting, None).unwrap();
        r.commit().unwrap();
        r
    }

    fn promise(
        r: &mut Replica<MemStorage>,
        proposal: u64,
        position: Option<u64>,
    ) -> PromiseResponse {
        let resp = r
            .promise(&PromiseRequest {
                request: 1,
                proposal,
                position,
            })
            .unwrap();
        r.commit().unwrap();
        resp
    }

    fn write(
        r: &mut Replica<MemStorage>,
        proposal: u64,
        position: u64,
        values: &[&str],
    ) -> WriteResponse {
        let resp = r
            .write(&WriteRequest {
                request: 2,
                proposal,
                position,
                learned: false,
                actions: values.iter().map(|v| append(v)).collect(),
            })
            .unwrap();
        r.commit().unwrap();
        resp
    }

    fn append(v: &str) -> ActionKind {
        ActionKind::Append(v.as_bytes().to_vec())
    }

    fn learn(r: &mut Replica<MemStorage>, position: u64, kind: ActionKind) {
        r.learned(&LearnedMessage {
            actions: vec![Action {
                position,
                promised: 1,
                performed: Some(1),
                learned: true,
                kind: Some(kind),
            }],
        })
        .unwrap();
        r.commit().unwrap();
    }

    #[test]
    fn a_replica_that_is_not_voting_ignores_promises_and_writes() {
        let mut r = Replica::open(MemStorage::new()).unwrap();
        assert_eq!(r.status(), Some(Status::Empty));
        assert_eq!(promise(&mut r, 5, None).kind, ResponseKind::Ignored);
        assert_eq!(write(&mut r, 5, 0, &["a"]).kind, ResponseKind::Ignored);
        let rec = r.recover(&RecoverRequest { request: 3 }).unwrap();
        assert_eq!(
            (rec.status, rec.begin, rec.end),
            (Status::Empty, None, None)
        );
    }

    #[test]
    fn an_implicit_promise_is_given_once_per_proposal_and_reports_the_end() {
        let mut r = voting();
        let ok = promise(&mut r, 2, None);
        assert_eq!((ok.kind, ok.position), (ResponseKind::Accept, Some(0)));
        let again = promise(&mut r, 2, None);
        assert_eq!((again.kind, again.proposal), (ResponseKind::Reject, 2));
        assert_eq!(promise(&mut r, 1, None).kind, ResponseKind::Reject);
        assert_eq!(r.promised(), 2);
        // The promise survives a restart.
        let r = Replica::open(r.into_storage()).unwrap();
        assert_eq!(r.promised(), 2);
    }

    #[test]
    fn writes_are_rejected_only_below_the_promise() {
        let mut r = voting();
        promise(&mut r, 5, None);
        assert_eq!(write(&mut r, 4, 1, &["x"]).kind, ResponseKind::Reject);
        assert_eq!(write(&mut r, 4, 1, &["x"]).proposal, 5);
        assert_eq!(write(&mut r, 5, 1, &["a", "b"]).kind, ResponseKind::Accept);
        assert_eq!(write(&mut r, 6, 2, &["c"]).kind, ResponseKind::Accept);
        assert_eq!(r.end(), 2);
        assert_eq!(r.missing(0, 3).iter().collect::<Vec<_>>(), vec![0, 1, 2, 3]);
        let a = r.action(2).unwrap().unwrap();
        assert_eq!(
            (a.promised, a.performed, a.kind),
            (6, Some(6), Some(append("c")))
        );
        // Having accepted proposal 6, the position refuses a delayed write
        // of proposal 5.
        assert_eq!(write(&mut r, 5, 2, &["late"]).kind, ResponseKind::Reject);
    }

    #[test]
    fn an_explicit_promise_returns_what_the_position_held() {
        let mut r = voting();
        promise(&mut r, 3, None);
        write(&mut r, 3, 1, &["a"]);
        let low = promise(&mut r, 3, Some(1));
        assert_eq!((low.kind, low.proposal), (ResponseKind::Reject, 3));
        let high = promise(&mut r, 4, Some(1));
        assert_eq!(high.kind, ResponseKind::Accept);
        assert_eq!(high.action.unwrap().kind, Some(append("a")));
        assert_eq!(r.action(1).unwrap().unwrap().promised, 4);
        // A position without a record compares with the implicit promise,
        // and is then promised on its own.
        assert_eq!(promise(&mut r, 3, Some(7)).kind, ResponseKind::Reject);
        let fresh = promise(&mut r, 9, Some(7));
        assert_eq!((fresh.kind, fresh.action), (ResponseKind::Accept, None));
        assert_eq!(write(&mut r, 8, 7, &["z"]).kind, ResponseKind::Reject);
        assert!(
            r.missing(0, 7).contains(7),
            "a promise alone is not learned"
        );
    }

    #[test]
    fn a_learned_position_is_not_overwritten() {
        let mut r = voting();
        learn(&mut r, 1, append("a"));
        assert_eq!(write(&mut r, 9, 1, &["a"]).kind, ResponseKind::Accept);
        assert_eq!(write(&mut r, 9, 1, &["b"]).kind, ResponseKind::Ignored);
        let got = promise(&mut r, 1, Some(1));
        assert_eq!(got.kind, ResponseKind::Accept);
        assert!(got.action.unwrap().learned);
        assert_eq!(r.entries(1, 1).unwrap(), vec![(1, b"a".to_vec())]);
        assert!(!r.is_missing(1) && r.is_missing(0));
    }

    #[test]
    fn a_learned_truncate_moves_begin_and_deletes_what_is_below() {
        let mut r = voting();
        for p in 0..5 {
            learn(&mut r, p, append("v"));
        }
        learn(&mut r, 5, ActionKind::Truncate { to: 3 });
        assert_eq!((r.begin(), r.end()), (3, 5));
        assert!(matches!(r.action(1), Err(ReplicaError::Truncated(1))));
        let t = promise(&mut r, 1, Some(1));
        let tomb = t.action.unwrap();
        assert!(tomb.learned && tomb.kind == Some(ActionKind::Nop { tombstone: true }));
        assert_eq!(write(&mut r, 9, 2, &["x"]).kind, ResponseKind::Ignored);
        assert!(r.entries(2, 4).is_err());
        assert_eq!(r.entries(3, 5).unwrap().len(), 2);
        let r = Replica::open(r.into_storage()).unwrap();
        assert_eq!((r.begin(), r.end()), (3, 5));
        assert!(r.missing(0, 5).is_empty());
    }

    #[test]
    fn a_learned_tombstone_moves_begin_past_it() {
        let mut r = voting();
        learn(&mut r, 4, ActionKind::Nop { tombstone: true });
        assert_eq!((r.begin(), r.end()), (5, 4));
        assert!(r.missing(0, 6).iter().eq([5, 6]));
    }

    #[test]
    fn a_new_log_has_a_hole_at_position_zero() {
        let r = voting();
        assert_eq!((r.begin(), r.end()), (0, 0));
        assert!(r.is_missing(0));
        assert!(r.entries(0, 0).is_err());
    }

    #[test]
    fn holes_are_rebuilt_after_a_restart() {
        let mut r = voting();
        promise(&mut r, 1, None);
        write(&mut r, 1, 3, &["a"]);
        learn(&mut r, 5, append("b"));
        let r = Replica::open(r.into_storage()).unwrap();
        assert_eq!(
            r.missing(0, 6).iter().collect::<Vec<_>>(),
            vec![0, 1, 2, 3, 4, 6]
        );
    }

    #[test]
    fn an_unsynced_learned_mark_may_be_lost_in_a_crash_but_the_value_stays() {
        let mut r = voting();
        promise(&mut r, 1, None);
        write(&mut r, 1, 1, &["a"]);
        learn(&mut r, 1, append("a"));
        let mut storage = r.into_storage();
        storage.crash();
        let r = Replica::open(storage).unwrap();
        let a = r.action(1).unwrap().unwrap();
        assert!(!a.learned);
        assert_eq!(a.kind, Some(append("a")));
    }

    #[test]
    fn recover_reports_positions_and_promise_only_when_voting() {
        let mut r = voting();
        promise(&mut r, 4, None);
        learn(&mut r, 2, append("a"));
        let rec = r.recover(&RecoverRequest { request: 1 }).unwrap();
        assert_eq!(
            (rec.status, rec.begin, rec.end, rec.promised),
            (Status::Voting, Some(0), Some(2), Some(4))
        );
    }
}
