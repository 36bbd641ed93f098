//! One Paxos node: proposer, acceptor, learner and replica at once.
//!
//! # The algorithm
//!
//! **Acceptor.** Keeps `promised`, the highest ballot it promised, and per
//! slot the highest-ballot value it accepted. `Prepare(b)` with `b` above
//! `promised` raises the promise (durably) and answers `Promise(b, accepted
//! entries)`; a `Prepare` with a lower ballot gets `Nack(promised)` so the
//! proposer backs off instead of waiting. `Accept(b, slot, value)` is
//! accepted if and only if `b >= promised`; the acceptance is made durable
//! before `Accepted` leaves.
//!
//! **Proposer.** Picks a ballot `(round, node)` with a round above every
//! round it has used (durably recorded) or seen. Phase 1 asks for promises
//! for every slot from its first unchosen slot on. With a phase-1 quorum of
//! promises it must, for every slot some promise reported, propose the value
//! with the highest ballot among the reports (the value rule); slots below
//! the highest reported one that nobody reported are filled with no-ops, so
//! that later slots can execute. Only then are its own commands proposed, in
//! fresh slots.
//!
//! **Learner.** A proposer tallies `Accepted` per slot, for a single ballot
//! only; a phase-2 quorum of distinct acceptors chooses the value. The
//! learner records the decision durably and broadcasts `Decide`. A node that
//! sees it is behind asks a peer for the chosen entries (`CatchupRequest`).
//!
//! **Replica.** Applies chosen slots strictly in order to the key-value
//! state machine and answers the clients it owes a reply.
//!
//! **Modes.** In stable-leader mode the winner of phase 1 stays leader,
//! heartbeats, and runs only phase 2 per command until it sees a higher
//! ballot; followers campaign after an election timeout with jitter and
//! redirect clients. In leaderless mode every batch of proposals runs both
//! phases and the proposer goes idle afterwards; a refused proposer backs
//! off for a random time and tries again with a higher ballot.
//!
//! # Layout
//!
//! This file holds the state (durable and volatile, as two types), the
//! constructors, the getters and the `handle_*` inputs, which only dispatch.
//! Each role's handlers live in their own file: `acceptor`, `proposer`,
//! `learner` (with the replica), `catchup` (following a leader, catching
//! up), `clients` (the request queue and replies), `outputs` (sends,
//! timers), `recovery` (a node whose disk lost votes asks its peers
//! before it votes again) and `fingerprint` (the whole state fed to a
//! hasher).

mod acceptor;
mod catchup;
mod clients;
mod fingerprint;
mod ignored;
mod learner;
mod outputs;
mod proposer;
mod recovery;

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use crate::command::{ClientId, Command, OpResult, Reply, Request};
use crate::config::{Config, Mode};
use crate::durable::{Damage, Durable};
use crate::kv::Kv;
use crate::message::{Message, Output, Probe, Timer};
use crate::types::{Ballot, NodeId, NodeSet, Slot};

use clients::reply_to;

/// Client requests a node holds while it cannot propose them yet.
pub const QUEUE_MAX: usize = 256;
/// Client commands one proposer keeps in phase 2 at once.
pub const PROPOSALS_INFLIGHT_MAX: usize = 32;
/// Chosen entries in one `CatchupReply`.
pub const CATCHUP_ENTRIES_MAX: usize = 64;
/// A proposer whose campaigns keep failing doubles its election timeout and
/// jitter, at most this many times (x32), so that when messages take longer
/// than the timeout it still waits long enough to hear its promises.
pub const BACKOFF_DOUBLINGS_MAX: u32 = 5;
/// How far behind a `Decide` must show a node to be before it asks for
/// catch-up at once; smaller gaps are mostly reordering and fill themselves.
pub const CATCHUP_LAG_SLOTS: Slot = 4;
/// A stable leader with proposals outstanding that hears no `Accepted` from
/// any other node over this many retransmits steps down. Followers take its
/// heartbeats as long as it sends them, so a leader that can still send but
/// no longer hear (a one-way cut) would otherwise hold the cluster forever.
/// Generous, so that a slow network's round trips (up to about twenty
/// retransmit intervals in the swarm) never trip it.
pub const LEADER_UNHEARD_RETRANSMITS_MAX: u32 = 32;

/// A proposer's phase 1 in progress.
#[derive(Clone, Debug)]
struct Phase1 {
    ballot: Ballot,
    from_slot: Slot,
    promised_by: NodeSet,
    promise_count: usize,
    /// Per slot, the highest-ballot accepted value any promise reported.
    reports: BTreeMap<Slot, (Ballot, Command)>,
}

/// A proposer that owns `ballot` for every slot from `from_slot` on.
#[derive(Clone, Debug)]
struct Phase2 {
    ballot: Ballot,
    slot_next: Slot,
    /// Undecided proposals, by slot.
    proposals: BTreeMap<Slot, Command>,
    /// Retransmits since an `Accepted` from another node last arrived.
    unheard_retransmits: u32,
}

#[derive(Clone, Debug)]
enum Role {
    Follower,
    Candidate(Phase1),
    Leader(Phase2),
}

/// A learner's count of `Accepted` votes for one slot.
#[derive(Clone, Debug)]
struct Tally {
    ballot: Ballot,
    command: Command,
    voters: NodeSet,
    vote_count: usize,
}

/// Everything a crash loses.
#[derive(Clone, Debug)]
struct Volatile {
    kv: Kv,
    /// The next slot to apply; every slot below it is applied.
    applied_upto: Slot,
    role: Role,
    leader_hint: Option<NodeId>,
    /// The highest round used or seen; a new ballot goes above it.
    round: u64,
    tallies: BTreeMap<Slot, Tally>,
    queue: VecDeque<Arc<Request>>,
    /// Per client, the sequence number this node owes a reply for.
    owed: BTreeMap<ClientId, u64>,
    catchup_peer_next: NodeId,
    /// Leaderless: refused recently; wait for the election timer to retry.
    backing_off: bool,
    /// Campaigns that failed in a row; the election timeout doubles with each.
    campaigns_failed: u32,
    /// Leaderless: the first unapplied slot, when the last catch-up tick
    /// found it empty below a chosen slot.
    gap_seen_at: Option<Slot>,
    /// Recovering from damaged records: no vote until enough peers answer.
    recovery: Option<recovery::Recovery>,
}

/// One node. Build it with [`Node::new`] or [`Node::recover`], then feed it
/// inputs through the `handle_*` methods.
#[derive(Clone, Debug)]
pub struct Node {
    config: Arc<Config>,
    id: NodeId,
    durable: Durable,
    volatile: Volatile,
}

impl Node {
    /// A node booting for the first time, with empty durable state.
    pub fn new(config: Arc<Config>, id: NodeId, out: &mut Vec<Output>) -> Node {
        Node::recover(config, id, Durable::default(), out)
    }

    /// Rebuild a node from its durable state alone: replay the chosen log
    /// into the state machine and start the timers.
    pub fn recover(
        config: Arc<Config>,
        id: NodeId,
        durable: Durable,
        out: &mut Vec<Output>,
    ) -> Node {
        Node::recover_damaged(config, id, durable, &Damage::default(), out)
    }

    /// Rebuild a node from the intact part of its durable state, knowing
    /// that the records `damage` names were lost: with a damaged promise or
    /// acceptance it recovers from its peers before it votes again
    /// (`recovery`). With no damage, the same as [`Node::recover`].
    pub fn recover_damaged(
        config: Arc<Config>,
        id: NodeId,
        durable: Durable,
        damage: &Damage,
        out: &mut Vec<Output>,
    ) -> Node {
        assert!(id < config.nodes, "node id {id} outside the cluster");
        enter(&config);
        let mut kv = Kv::default();
        let mut applied_upto = 0;
        while let Some(command) = durable.chosen.get(&applied_upto) {
            if let Command::Client(request) = command {
                kv.apply(request, !flaw!(config, NoClientDedup));
            }
            applied_upto += 1;
        }
        // Flaw round-from-promise: the next ballot is derived from the
        // acceptor's promise, the proposer keeping no durable record of the
        // rounds it used, so a Prepare sent just before a crash (and not yet
        // promised by this node itself) is forgotten and its ballot reused.
        let round = if flaw!(config, RoundFromPromise) {
            durable.promised.round
        } else {
            durable.round_max
        };
        let volatile = Volatile {
            kv,
            applied_upto,
            role: Role::Follower,
            leader_hint: None,
            round,
            tallies: BTreeMap::new(),
            queue: VecDeque::new(),
            owed: BTreeMap::new(),
            catchup_peer_next: (id + 1) % config.nodes,
            backing_off: false,
            campaigns_failed: 0,
            gap_seen_at: None,
            recovery: None,
        };
        let mut node = Node {
            config,
            id,
            durable,
            volatile,
        };
        node.set_timer(Timer::Election, out);
        node.set_timer(Timer::Catchup, out);
        node.begin_recovery(damage, out);
        node
    }

    pub fn id(&self) -> NodeId {
        self.id
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The durable state as this node believes it; what the caller
    /// persisted may lag only where a flaw skips a write.
    pub fn durable(&self) -> &Durable {
        &self.durable
    }

    pub fn promised(&self) -> Ballot {
        self.durable.promised
    }

    pub fn kv(&self) -> &Kv {
        &self.volatile.kv
    }

    pub fn applied_upto(&self) -> Slot {
        self.volatile.applied_upto
    }

    pub fn is_leader(&self) -> bool {
        matches!(self.volatile.role, Role::Leader(_))
    }

    /// The ballot this node is campaigning or leading with, if any.
    pub fn ballot(&self) -> Option<Ballot> {
        match &self.volatile.role {
            Role::Follower => None,
            Role::Candidate(phase1) => Some(phase1.ballot),
            Role::Leader(phase2) => Some(phase2.ballot),
        }
    }

    pub fn leader_hint(&self) -> Option<NodeId> {
        self.volatile.leader_hint
    }

    /// "follower", "candidate" or "leader"; in leaderless mode a node is a
    /// candidate or leader only while it drives a proposal.
    pub fn role_name(&self) -> &'static str {
        match self.volatile.role {
            Role::Follower => "follower",
            Role::Candidate(_) => "candidate",
            Role::Leader(_) => "leader",
        }
    }

    /// Client requests waiting at this node for a proposal slot.
    pub fn queue_len(&self) -> usize {
        self.volatile.queue.len()
    }

    // ---------------------------------------------------------------- inputs

    /// A client request arrived.
    pub fn handle_client(&mut self, request: Arc<Request>, out: &mut Vec<Output>) {
        enter(&self.config);
        if let Some(recorded) = self.dedup_lookup(&request) {
            if let Some(result) = recorded {
                out.push(Output::Probe(Probe::DedupHit));
                out.push(reply_to(&request, Reply::Done(result)));
            }
            return;
        }
        match self.config.mode {
            Mode::StableLeader => {
                if !self.is_leader() && !matches!(self.volatile.role, Role::Candidate(_)) {
                    let leader = self
                        .volatile
                        .leader_hint
                        .filter(|&leader| leader != self.id);
                    out.push(reply_to(&request, Reply::Redirect { leader }));
                    return;
                }
                if self.is_leader() && flaw!(self.config, StaleLeaderRead) && !request.op.is_write()
                {
                    // Flaw stale-leader-read: a leader that may have been
                    // deposed serves a read locally, without a quorum.
                    let result = OpResult::Get {
                        found: self.volatile.kv.get(request.op.key()),
                    };
                    out.push(reply_to(&request, Reply::Done(result)));
                    return;
                }
                self.enqueue(request, out);
                self.propose_queued(out);
            }
            Mode::Leaderless => {
                self.enqueue(request, out);
                let idle = matches!(self.volatile.role, Role::Follower);
                if idle && !self.volatile.backing_off {
                    self.start_phase1(out);
                }
            }
        }
    }

    /// A message from node `from` arrived.
    pub fn handle_message(&mut self, from: NodeId, message: Message, out: &mut Vec<Output>) {
        enter(&self.config);
        assert!(from < self.config.nodes, "message from unknown node {from}");
        match message {
            Message::Prepare { ballot, from_slot } => self.on_prepare(from, ballot, from_slot, out),
            Message::Promise { ballot, accepted } => self.on_promise(from, ballot, accepted, out),
            Message::Nack { ballot, promised } => self.on_nack(ballot, promised, out),
            Message::Accept {
                ballot,
                slot,
                command,
            } => self.on_accept(from, ballot, slot, command, out),
            Message::Accepted {
                ballot,
                slot,
                command,
            } => self.on_accepted(from, ballot, slot, command, out),
            Message::Decide { slot, command } => {
                self.learn(slot, command, out);
                // Far behind: ask now rather than at the next catch-up tick.
                if slot > self.volatile.applied_upto + CATCHUP_LAG_SLOTS {
                    self.request_catchup(from, out);
                }
            }
            Message::Heartbeat {
                ballot,
                applied_upto,
            } => self.on_heartbeat(from, ballot, applied_upto, out),
            Message::CatchupRequest { from_slot } => self.on_catchup_request(from, from_slot, out),
            Message::CatchupReply { entries } => {
                for (slot, command) in entries {
                    self.learn(slot, command, out);
                }
            }
            Message::RecoveryRequest => self.on_recovery_request(from, out),
            Message::RecoveryReply {
                promised,
                round,
                accepted,
            } => self.on_recovery_reply(from, promised, round, accepted, out),
        }
    }

    /// A timer this node set has fired.
    pub fn handle_timer(&mut self, timer: Timer, out: &mut Vec<Output>) {
        enter(&self.config);
        match timer {
            Timer::Election => self.on_election_timer(out),
            Timer::Heartbeat => self.on_heartbeat_timer(out),
            Timer::Retransmit => self.on_retransmit_timer(out),
            Timer::Catchup => self.on_catchup_timer(out),
        }
    }
}

/// Every input starts here: with the `flaws` feature, the code every caller
/// shares on this thread takes this cluster's flaws (see `crate::flaws`);
/// without it, nothing.
fn enter(config: &Config) {
    #[cfg(feature = "flaws")]
    crate::flaws::enter(config);
    #[cfg(not(feature = "flaws"))]
    let _ = config;
}
