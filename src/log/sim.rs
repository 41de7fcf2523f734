//! A deterministic simulation of the replicated log: three replica cores,
//! recovery on every node and two competing coordinators (on nodes 0 and
//! 1), driven through a simulated network that loses, duplicates, reorders
//! and delays messages, cuts nodes off, and crashes and restarts nodes
//! (keeping their storage minus what was not fsynced, or wiping it). No
//! actors, no sockets, no clock: one seed is one run, so a failure replays
//! exactly.
//!
//! Checked on every run:
//! - no position ever holds two different learned values on any replicas
//!   (a truncation tombstone may stand in for a value below a learned
//!   truncation point: Mesos's rule);
//! - every append or truncate a coordinator reported as written is, after
//!   the network heals and each coordinator is elected again (filling what
//!   its replica lacks), learned with the same value on that coordinator's
//!   replica, or truncated away;
//! - after healing, every replica gets back to VOTING and both coordinators
//!   get elected (liveness).
//!
//! `cargo test --lib log::sim` runs 500 seeds (`LOG_SIM_SEEDS=n` for more);
//! `LOG_SIM_SEED=1234 cargo test --lib log::sim` replays one, and with
//! `LOG_SIM_TRACE=1 ... -- --nocapture` prints every event of it.

use std::collections::{BTreeMap, BTreeSet};

use wire::log::{ActionKind, PromiseResponse, RecoverResponse, Status, WriteResponse};

use crate::random::Rng;

use super::coordinator::{self, Coordinator, CoordinatorConfig, CoordinatorError};
use super::recover::{self, Recovery};
use super::replica::Replica;
use super::storage::MemStorage;
use super::{Outgoing, Request, Timing, To};

const REPLICAS: usize = 3;
const QUORUM: usize = 2;
/// Nodes that host a coordinator.
const COORDINATORS: [usize; 2] = [0, 1];
/// Milliseconds between ticks of the cores.
const TICK_MS: u64 = 10;
/// Milliseconds of chaos per run.
const CHAOS_MS: u64 = 1_500;
/// Milliseconds the healed cluster gets to recover and elect.
const HEAL_BUDGET_MS: u64 = 60_000;

const TIMING: Timing = Timing {
    resend: 5,
    backoff: 2,
    recover_timeout: 50,
    recover_retry: 3,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Role {
    Replica,
    Coordinator,
    Recovery,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Endpoint {
    node: usize,
    role: Role,
}

#[derive(Debug, Clone)]
enum Payload {
    Request(Request),
    Promise(PromiseResponse),
    Write(WriteResponse),
    Recover(RecoverResponse),
}

#[derive(Debug, Clone)]
struct Packet {
    from: Endpoint,
    to: Endpoint,
    payload: Payload,
}

/// How hostile one run is, drawn from its seed.
#[derive(Debug, Clone)]
struct Faults {
    /// Per mille of messages lost.
    loss: u64,
    /// Per mille of messages delivered twice.
    dup: u64,
    /// Largest delivery delay, ms (random delays reorder messages).
    max_delay: u64,
    /// Per mille of messages held up to a second, as by a sender that
    /// stalled (a paused VM, a long GC) and then carried on.
    stall: u64,
    /// Per-ms chance (per million) that a node crashes.
    crash: u64,
    /// Per mille of crashes that wipe the disk.
    wipe: u64,
    /// Per-ms chance (per million) that a node is cut off for a while.
    partition: u64,
    window: usize,
    max_batch: usize,
    /// Per mille of workload steps that truncate instead of append.
    truncate: u64,
}

impl Faults {
    fn draw(rng: &mut Rng) -> Faults {
        let pick = |rng: &mut Rng, options: &[u64]| {
            options
                .get(rng.range(0, options.len() as u64) as usize)
                .copied()
                .unwrap_or(0)
        };
        Faults {
            loss: pick(rng, &[0, 10, 50, 150]),
            dup: pick(rng, &[0, 20, 100]),
            max_delay: pick(rng, &[1, 5, 20]),
            stall: pick(rng, &[0, 5, 20]),
            crash: pick(rng, &[0, 500, 2_000]),
            wipe: pick(rng, &[0, 300, 700]),
            partition: pick(rng, &[0, 500, 2_000]),
            window: pick(rng, &[1, 2, 4]) as usize,
            max_batch: pick(rng, &[1, 3, 8]) as usize,
            truncate: pick(rng, &[0, 20, 100]),
        }
    }
}

/// A coordinator and the workload its node runs.
struct Writer {
    core: Coordinator,
    /// Entries submitted and not yet answered, by id.
    pending: BTreeMap<u64, ActionKind>,
    next_id: u64,
    /// Do not run for election before this time.
    next_election: u64,
    /// The last position this writer saw written (truncations stay below).
    last_written: Option<u64>,
    /// The position reported by the last election.
    elected: Option<u64>,
}

struct Node {
    /// The replica core; `None` while the node is down.
    replica: Option<Replica<MemStorage>>,
    /// The disk of a node that is down.
    disk: Option<MemStorage>,
    /// Runs while the replica is not VOTING.
    recovery: Option<Recovery>,
    writer: Option<Writer>,
    /// When a down node comes back.
    restart_at: u64,
    /// Cut off from every other node until then.
    isolated_until: u64,
}

struct Sim {
    rng: Rng,
    faults: Faults,
    chaos: bool,
    now: u64,
    /// Messages in flight by (delivery time, sequence).
    net: BTreeMap<(u64, u64), Packet>,
    seq: u64,
    nodes: Vec<Node>,
    /// The first learned value seen at each position, on any replica.
    chosen: BTreeMap<u64, ActionKind>,
    /// Positions where a tombstone met another learned value: allowed only
    /// below a learned truncation.
    tombstone_clashes: BTreeSet<u64>,
    /// Everything a coordinator reported written: (position, value).
    written: Vec<(u64, ActionKind)>,
    /// Appends submitted, to name values uniquely.
    appends: u64,
    stats: Stats,
    /// Print every event (`LOG_SIM_TRACE=1`, with one seed).
    trace: bool,
}

/// What happened in a run, to show that the faults bit.
#[derive(Debug, Clone, Copy, Default)]
struct Stats {
    crashes: u64,
    wipes: u64,
    elections: u64,
    demotions: u64,
    recoveries: u64,
    delivered: u64,
    written: u64,
}

impl std::ops::AddAssign for Stats {
    fn add_assign(&mut self, o: Stats) {
        self.crashes += o.crashes;
        self.wipes += o.wipes;
        self.elections += o.elections;
        self.demotions += o.demotions;
        self.recoveries += o.recoveries;
        self.delivered += o.delivered;
        self.written += o.written;
    }
}

fn is_tombstone(kind: &ActionKind) -> bool {
    matches!(kind, ActionKind::Nop { tombstone: true })
}

impl Sim {
    fn new(seed: u64) -> Sim {
        let mut rng = Rng::with_seed(seed);
        let faults = Faults::draw(&mut rng);
        let nodes = (0..REPLICAS)
            .map(|_| Node {
                replica: None,
                disk: Some(MemStorage::new()),
                recovery: None,
                writer: None,
                restart_at: 0,
                isolated_until: 0,
            })
            .collect();
        let mut sim = Sim {
            rng,
            faults,
            chaos: true,
            now: 0,
            net: BTreeMap::new(),
            seq: 0,
            nodes,
            chosen: BTreeMap::new(),
            tombstone_clashes: BTreeSet::new(),
            written: Vec::new(),
            appends: 0,
            stats: Stats::default(),
            trace: std::env::var_os("LOG_SIM_TRACE").is_some(),
        };
        for k in 0..REPLICAS {
            sim.boot(k);
        }
        sim
    }

    // -- nodes ---------------------------------------------------------

    /// Starts node `k` from its disk: replica, recovery, coordinator.
    fn boot(&mut self, k: usize) {
        if self.trace {
            println!("{:>6} node {k} boots", self.now);
        }
        // Each incarnation numbers its requests from a random point, as
        // the log process does, so answers meant for the previous one are
        // not taken for its own.
        let first_request = self.rng.range(1, 1 << 62);
        let seed = self.rng.next_u64();
        let node = &mut self.nodes[k];
        let disk = node.disk.take().unwrap_or_default();
        let replica = Replica::open(disk).expect("memory storage opens");
        let status = replica.status().unwrap_or(Status::Empty);
        node.replica = Some(replica);
        let mut recovery = Recovery::new(
            QUORUM,
            REPLICAS,
            true,
            TIMING,
            first_request | (1 << 62),
            seed,
        );
        recovery.start(status);
        node.recovery = Some(recovery);
        if COORDINATORS.contains(&k) {
            self.nodes[k].writer = Some(self.new_writer());
        }
        self.drive_recovery(k);
    }

    /// A fresh coordinator with no history, as after a restart.
    fn new_writer(&mut self) -> Writer {
        let config = CoordinatorConfig {
            window: self.faults.window,
            max_batch: self.faults.max_batch,
            timing: TIMING,
            ..CoordinatorConfig::new(QUORUM, REPLICAS)
        };
        let first_request = self.rng.range(1, 1 << 62);
        Writer {
            core: Coordinator::new(config, first_request, self.rng.next_u64()),
            pending: BTreeMap::new(),
            next_id: 1,
            next_election: 0,
            last_written: None,
            elected: None,
        }
    }

    /// Node `k` fails: in-memory state is gone, the disk keeps what was
    /// fsynced (or nothing, when wiped).
    fn crash(&mut self, k: usize, wipe: bool) {
        let node = &mut self.nodes[k];
        let Some(replica) = node.replica.take() else {
            return;
        };
        let mut disk = replica.into_storage();
        disk.crash();
        node.disk = Some(if wipe { MemStorage::new() } else { disk });
        node.recovery = None;
        node.writer = None;
        if self.trace {
            println!("{:>6} node {k} crashes (wipe: {wipe})", self.now);
        }
        self.stats.crashes += 1;
        self.stats.wipes += u64::from(wipe);
        let downtime = self.rng.range(10, 500);
        self.nodes[k].restart_at = self.now + downtime;
    }

    /// Whether the replica of `k` is VOTING on disk (up or down).
    fn stored_voting(&self, k: usize) -> bool {
        let node = &self.nodes[k];
        match (&node.replica, &node.disk) {
            (Some(r), _) => r.status() == Some(Status::Voting),
            (None, Some(d)) => {
                use super::storage::Storage;
                d.get_metadata().is_ok_and(|m| m.status == Status::Voting)
            }
            (None, None) => false,
        }
    }

    // -- network -------------------------------------------------------

    fn post(&mut self, from: Endpoint, to: Endpoint, payload: Payload) {
        if self.chaos {
            let cut = |n: &Node| n.isolated_until > self.now;
            if from.node != to.node && (cut(&self.nodes[from.node]) || cut(&self.nodes[to.node])) {
                return;
            }
            if self.rng.chance(self.faults.loss, 1000) {
                return;
            }
        }
        let copies = if self.chaos && self.rng.chance(self.faults.dup, 1000) {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let delay = if self.chaos && self.rng.chance(self.faults.stall, 1000) {
                self.rng.range(100, 1000)
            } else if self.chaos {
                self.rng.range(0, self.faults.max_delay + 1)
            } else {
                self.rng.range(0, 2)
            };
            self.seq += 1;
            self.net.insert(
                (self.now + delay, self.seq),
                Packet {
                    from,
                    to,
                    payload: payload.clone(),
                },
            );
        }
    }

    fn send(&mut self, from: Endpoint, out: Outgoing) {
        let targets: Vec<usize> = match out.to {
            To::All => (0..REPLICAS).collect(),
            To::One(i) => vec![i],
        };
        for node in targets {
            let to = Endpoint {
                node,
                role: Role::Replica,
            };
            self.post(from, to, Payload::Request(out.request.clone()));
        }
    }

    fn deliver(&mut self, packet: Packet) -> Result<(), String> {
        let k = packet.to.node;
        match (packet.to.role, packet.payload) {
            (Role::Replica, Payload::Request(request)) => self.at_replica(k, packet.from, request),
            (Role::Coordinator, payload) => {
                let from = packet.from.node;
                let Some(w) = &mut self.nodes[k].writer else {
                    return Ok(());
                };
                match payload {
                    Payload::Promise(r) => w.core.on_promise_response(from, &r),
                    Payload::Write(r) => w.core.on_write_response(from, &r),
                    _ => {}
                }
                self.drive_writer(k)
            }
            (Role::Recovery, payload) => {
                let from = packet.from.node;
                let Some(r) = &mut self.nodes[k].recovery else {
                    return Ok(());
                };
                match payload {
                    Payload::Promise(p) => r.on_promise_response(from, &p),
                    Payload::Write(w) => r.on_write_response(from, &w),
                    Payload::Recover(rr) => r.on_recover_response(from, &rr),
                    Payload::Request(_) => {}
                }
                self.drive_recovery(k);
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// A replica handles a request and, once committed, answers.
    fn at_replica(&mut self, k: usize, from: Endpoint, request: Request) -> Result<(), String> {
        let Some(replica) = &mut self.nodes[k].replica else {
            return Ok(());
        };
        let me = Endpoint {
            node: k,
            role: Role::Replica,
        };
        let answer = match &request {
            Request::Promise(p) => replica.promise(p).map(|r| Some(Payload::Promise(r))),
            Request::Write(w) => replica.write(w).map(|r| Some(Payload::Write(r))),
            Request::Recover(r) => replica.recover(r).map(|r| Some(Payload::Recover(r))),
            Request::Learned(l) => replica.learned(l).map(|()| None),
        };
        let answer = answer.map_err(|e| format!("replica {k}: {e}"))?;
        replica
            .commit()
            .map_err(|e| format!("replica {k} commit: {e}"))?;
        if let Request::Learned(l) = &request {
            let positions: Vec<u64> = l.actions.iter().map(|a| a.position).collect();
            for p in positions {
                self.check_learned(k, p)?;
            }
        }
        if let Some(payload) = answer {
            self.post(me, from, payload);
        }
        Ok(())
    }

    // -- checks --------------------------------------------------------

    /// What replica `k` learned at `p` agrees with what anyone learned.
    fn check_learned(&mut self, k: usize, p: u64) -> Result<(), String> {
        let Some(replica) = &self.nodes[k].replica else {
            return Ok(());
        };
        let Ok(Some(action)) = replica.action(p) else {
            return Ok(());
        };
        let (true, Some(kind)) = (action.learned, action.kind) else {
            return Ok(());
        };
        self.agree(p, kind, &format!("learned on replica {k}"))
    }

    fn agree(&mut self, p: u64, kind: ActionKind, what: &str) -> Result<(), String> {
        match self.chosen.get(&p) {
            None => {
                self.chosen.insert(p, kind);
            }
            Some(seen) if *seen == kind => {}
            Some(seen) if is_tombstone(seen) || is_tombstone(&kind) => {
                self.tombstone_clashes.insert(p);
            }
            Some(seen) => {
                return Err(format!(
                    "position {p}: {kind:?} {what} but {seen:?} was learned before"
                ))
            }
        }
        Ok(())
    }

    /// The highest truncation point any replica learned.
    fn truncated_below(&self) -> u64 {
        self.chosen
            .values()
            .filter_map(|k| match k {
                ActionKind::Truncate { to } => Some(*to),
                _ => None,
            })
            .max()
            .unwrap_or(0)
    }

    // -- drivers -------------------------------------------------------

    fn drive_writer(&mut self, k: usize) -> Result<(), String> {
        let me = Endpoint {
            node: k,
            role: Role::Coordinator,
        };
        loop {
            let Some(w) = &mut self.nodes[k].writer else {
                return Ok(());
            };
            let out = w.core.drain();
            if out.is_empty() {
                return Ok(());
            }
            for o in out {
                match o {
                    coordinator::Output::Send(s) => self.send(me, s),
                    coordinator::Output::QueryMissing { from, to } => {
                        let node = &mut self.nodes[k];
                        if let (Some(r), Some(w)) = (&node.replica, &mut node.writer) {
                            w.core.on_missing(r.missing(from, to));
                        }
                    }
                    coordinator::Output::Elected { position } => {
                        if self.trace {
                            println!("{:>6} writer {k} elected at {position}", self.now);
                        }
                        self.stats.elections += 1;
                        if let Some(w) = &mut self.nodes[k].writer {
                            w.elected = Some(position);
                            w.last_written = w.last_written.max(Some(position));
                        }
                    }
                    coordinator::Output::NotElected(_) => {
                        let wait = self.rng.range(10, 100);
                        if let Some(w) = &mut self.nodes[k].writer {
                            w.next_election = self.now + wait;
                        }
                    }
                    coordinator::Output::Written { id, position } => {
                        let Some(w) = &mut self.nodes[k].writer else {
                            continue;
                        };
                        let Some(kind) = w.pending.remove(&id) else {
                            return Err(format!("writer {k}: unknown entry {id} written"));
                        };
                        w.last_written = w.last_written.max(Some(position));
                        if self.trace {
                            println!("{:>6} writer {k} wrote {kind:?} at {position}", self.now);
                        }
                        self.written.push((position, kind.clone()));
                        if let Some(seen) = self.chosen.get(&position) {
                            if *seen != kind && !is_tombstone(seen) {
                                return Err(format!(
                                    "position {position}: writer {k} wrote {kind:?} but {seen:?} was learned"
                                ));
                            }
                        }
                    }
                    coordinator::Output::Failed { id, error } => {
                        if matches!(error, CoordinatorError::Demoted(_)) {
                            self.stats.demotions += 1;
                        }
                        if let Some(w) = &mut self.nodes[k].writer {
                            w.pending.remove(&id);
                        }
                    }
                }
            }
        }
    }

    fn drive_recovery(&mut self, k: usize) {
        let me = Endpoint {
            node: k,
            role: Role::Recovery,
        };
        loop {
            let Some(r) = &mut self.nodes[k].recovery else {
                return;
            };
            let out = r.drain();
            if out.is_empty() {
                return;
            }
            for o in out {
                let node = &mut self.nodes[k];
                match o {
                    recover::Output::Send(s) => self.send(me, s),
                    recover::Output::SetStatus { status, promised } => {
                        if let (Some(replica), Some(r)) = (&mut node.replica, &mut node.recovery) {
                            let stored = replica
                                .update(status, promised)
                                .and_then(|()| replica.commit());
                            if stored.is_ok() {
                                r.on_status_set(status);
                            }
                        }
                    }
                    recover::Output::QueryMissing { from, to } => {
                        if let (Some(replica), Some(r)) = (&node.replica, &mut node.recovery) {
                            r.on_missing(replica.missing(from, to));
                        }
                    }
                    recover::Output::Recovered => {
                        self.stats.recoveries += 1;
                        node.recovery = None;
                    }
                }
            }
        }
    }

    /// What a coordinator's node does of its own accord: run for election,
    /// append, truncate.
    fn workload(&mut self, k: usize) -> Result<(), String> {
        let voting = self.nodes[k].recovery.is_none()
            && self.nodes[k].replica.as_ref().and_then(|r| r.status()) == Some(Status::Voting);
        let promised = self.nodes[k].replica.as_ref().map_or(0, |r| r.promised());
        let now = self.now;
        let truncate = self.rng.chance(self.faults.truncate, 1000);
        let busy = self.rng.chance(1, 3);
        let Some(w) = &mut self.nodes[k].writer else {
            return Ok(());
        };
        if !voting {
            return Ok(());
        }
        if !w.core.is_elected() && !w.core.is_electing() && now >= w.next_election {
            w.core.elect(promised);
        } else if w.core.is_elected() && busy && w.pending.len() < 16 {
            let id = w.next_id;
            w.next_id += 1;
            match (truncate, w.last_written) {
                (true, Some(last)) if last > 2 => {
                    let to = last - 2;
                    w.pending.insert(id, ActionKind::Truncate { to });
                    w.core.truncate(id, to);
                }
                _ => {
                    self.appends += 1;
                    let value = format!("{k}:{}", self.appends).into_bytes();
                    w.pending.insert(id, ActionKind::Append(value.clone()));
                    w.core.append(id, value);
                }
            }
        }
        self.drive_writer(k)
    }

    fn tick_all(&mut self) -> Result<(), String> {
        for k in 0..REPLICAS {
            if let Some(r) = &mut self.nodes[k].recovery {
                r.tick();
                self.drive_recovery(k);
            }
            if let Some(w) = &mut self.nodes[k].writer {
                w.core.tick();
                self.drive_writer(k)?;
            }
        }
        Ok(())
    }

    /// One millisecond: faults, deliveries, the workload, and maybe a tick.
    fn step(&mut self, workload: bool) -> Result<(), String> {
        self.now += 1;
        if self.chaos {
            for k in 0..REPLICAS {
                if self.nodes[k].replica.is_some() && self.rng.chance(self.faults.crash, 1_000_000)
                {
                    // Losing a disk is survivable only while the others
                    // vote: a majority of blank disks cannot recover.
                    let others_vote = (0..REPLICAS)
                        .filter(|&o| o != k)
                        .all(|o| self.stored_voting(o));
                    let wipe = others_vote && self.rng.chance(self.faults.wipe, 1000);
                    self.crash(k, wipe);
                }
                if self.rng.chance(self.faults.partition, 1_000_000) {
                    self.nodes[k].isolated_until = self.now + self.rng.range(20, 400);
                }
            }
        }
        for k in 0..REPLICAS {
            if self.nodes[k].replica.is_none() && self.nodes[k].restart_at <= self.now {
                self.boot(k);
            }
        }
        while let Some(entry) = self.net.first_entry() {
            if entry.key().0 > self.now {
                break;
            }
            let packet = entry.remove();
            self.stats.delivered += 1;
            if self.trace {
                println!(
                    "{:>6} {:?} -> {:?}: {:?}",
                    self.now, packet.from, packet.to, packet.payload
                );
            }
            self.deliver(packet)?;
        }
        if workload {
            for k in COORDINATORS {
                self.workload(k)?;
            }
        }
        if self.now % TICK_MS == 0 {
            self.tick_all()?;
        }
        Ok(())
    }

    /// Steps until `done` holds; an error if the budget runs out.
    fn run_until(&mut self, what: &str, done: impl Fn(&Sim) -> bool) -> Result<(), String> {
        let deadline = self.now + HEAL_BUDGET_MS;
        while !done(self) {
            if self.now >= deadline {
                return Err(format!("stuck: {what} after {HEAL_BUDGET_MS} ms of calm"));
            }
            self.step(false)?;
        }
        Ok(())
    }

    fn run(&mut self) -> Result<(), String> {
        while self.now < CHAOS_MS {
            self.step(true)?;
        }
        // Heal: every node up, no more faults, and each coordinator in
        // turn elected (which fills what its replica lacks).
        self.chaos = false;
        for k in 0..REPLICAS {
            self.nodes[k].isolated_until = 0;
            if self.nodes[k].replica.is_none() {
                self.boot(k);
            }
        }
        self.run_until("replicas recovering", |s| {
            s.nodes.iter().all(|n| n.recovery.is_none())
        })?;
        for k in COORDINATORS {
            // A new coordinator, so the election fills what its replica
            // lacks (a coordinator elected earlier only reports again).
            let fresh = self.new_writer();
            self.nodes[k].writer = Some(fresh);
            let deadline = self.now + HEAL_BUDGET_MS;
            loop {
                let promised = self.nodes[k].replica.as_ref().map_or(0, |r| r.promised());
                let Some(w) = &mut self.nodes[k].writer else {
                    return Err(format!("writer {k} missing after heal"));
                };
                if w.elected.is_some() {
                    break;
                }
                if !w.core.is_electing() && self.now >= w.next_election {
                    w.core.elect(promised);
                    self.drive_writer(k)?;
                    continue;
                }
                if self.now >= deadline {
                    return Err(format!("stuck: writer {k} not elected after the heal"));
                }
                self.step(false)?;
            }
        }
        self.check_written()
    }

    /// Every reported write is learned on the replica of each coordinator
    /// elected after it (or truncated away there).
    fn check_written(&self) -> Result<(), String> {
        let below = self.truncated_below();
        if let Some(p) = self.tombstone_clashes.iter().find(|&&p| p >= below) {
            return Err(format!(
                "position {p}: a tombstone and a value were learned, but truncation only reached {below}"
            ));
        }
        for k in COORDINATORS {
            let node = &self.nodes[k];
            let (Some(replica), Some(w)) = (&node.replica, &node.writer) else {
                return Err(format!("node {k} down at the end"));
            };
            let Some(elected) = w.elected else {
                return Err(format!("writer {k} not elected at the end"));
            };
            for (p, kind) in &self.written {
                if *p > elected || *p < replica.begin() {
                    continue;
                }
                let action = replica
                    .action(*p)
                    .map_err(|e| format!("replica {k} at {p}: {e}"))?;
                match action {
                    Some(a) if a.learned && a.kind.as_ref() == Some(kind) => {}
                    other => {
                        return Err(format!(
                            "position {p}: {kind:?} was reported written but replica {k} (elected at {elected}) holds {other:?}"
                        ))
                    }
                }
            }
        }
        Ok(())
    }
}

fn run_seed(seed: u64) -> Result<Stats, String> {
    let mut sim = Sim::new(seed);
    sim.run()
        .map_err(|e| format!("{e} (faults {:?})", sim.faults))?;
    sim.stats.written = sim.written.len() as u64;
    Ok(sim.stats)
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

#[test]
fn the_log_stays_consistent_under_faults() {
    let seeds: Vec<u64> = match env_u64("LOG_SIM_SEED") {
        Some(seed) => vec![seed],
        None => (1..=env_u64("LOG_SIM_SEEDS").unwrap_or(500)).collect(),
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(4);
    let chunks: Vec<Vec<u64>> = (0..threads)
        .map(|t| seeds.iter().copied().skip(t).step_by(threads).collect())
        .collect();
    let results: Vec<(u64, Result<Stats, String>)> = std::thread::scope(|s| {
        let handles: Vec<_> = chunks
            .iter()
            .map(|chunk| {
                s.spawn(move || {
                    chunk
                        .iter()
                        .map(|&seed| (seed, run_seed(seed)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    assert_eq!(results.len(), seeds.len(), "a simulation thread panicked");
    let failures: Vec<String> = results
        .iter()
        .filter_map(|(seed, r)| r.as_ref().err().map(|e| format!("seed {seed}: {e}")))
        .collect();
    let mut total = Stats::default();
    for stats in results.iter().filter_map(|(_, r)| r.as_ref().ok()) {
        total += *stats;
    }
    println!("{} seeds: {total:?}", seeds.len());
    assert!(
        failures.is_empty(),
        "{} of {} seeds failed (replay one with LOG_SIM_SEED=<seed> cargo test --lib log::sim):\n{}",
        failures.len(),
        seeds.len(),
        failures.join("\n")
    );
    assert!(
        total.written > 10 * seeds.len() as u64,
        "the workload wrote almost nothing: {total:?}"
    );
}
