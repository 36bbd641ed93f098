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

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use crate::command::{ClientId, Command, OpResult, Reply, Request};
use crate::config::{Config, Flaw, Mode};
use crate::durable::{Durable, DurableWrite};
use crate::kv::{Applied, Kv};
use crate::message::{AcceptedEntry, Message, Output, Probe, Timer};
use crate::types::{Ballot, NodeId, NodeSet, Slot};

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
        assert!(id < config.nodes, "node id {id} outside the cluster");
        let mut kv = Kv::default();
        let mut applied_upto = 0;
        while let Some(command) = durable.chosen.get(&applied_upto) {
            if let Command::Client(request) = command {
                kv.apply(request, !config.has(Flaw::NoClientDedup));
            }
            applied_upto += 1;
        }
        let volatile = Volatile {
            kv,
            applied_upto,
            role: Role::Follower,
            leader_hint: None,
            round: durable.round_max,
            tallies: BTreeMap::new(),
            queue: VecDeque::new(),
            owed: BTreeMap::new(),
            catchup_peer_next: (id + 1) % config.nodes,
            backing_off: false,
            campaigns_failed: 0,
            gap_seen_at: None,
        };
        let node = Node {
            config,
            id,
            durable,
            volatile,
        };
        node.set_timer(Timer::Election, out);
        node.set_timer(Timer::Catchup, out);
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
                if self.is_leader()
                    && self.config.has(Flaw::StaleLeaderRead)
                    && !request.op.is_write()
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
        }
    }

    /// A timer this node set has fired.
    pub fn handle_timer(&mut self, timer: Timer, out: &mut Vec<Output>) {
        match timer {
            Timer::Election => self.on_election_timer(out),
            Timer::Heartbeat => {
                if let Role::Leader(phase2) = &self.volatile.role {
                    let message = Message::Heartbeat {
                        ballot: phase2.ballot,
                        applied_upto: self.volatile.applied_upto,
                    };
                    self.broadcast_others(message, out);
                    self.set_timer(Timer::Heartbeat, out);
                }
            }
            Timer::Retransmit => self.on_retransmit_timer(out),
            Timer::Catchup => {
                let peer = self.volatile.catchup_peer_next;
                self.volatile.catchup_peer_next = (peer + 1) % self.config.nodes;
                if peer != self.id {
                    self.request_catchup(peer, out);
                }
                self.fill_stuck_gap(out);
                self.set_timer(Timer::Catchup, out);
            }
        }
    }

    // -------------------------------------------------------------- acceptor

    fn on_prepare(&mut self, from: NodeId, ballot: Ballot, from_slot: Slot, out: &mut Vec<Output>) {
        self.observe_round(ballot);
        // A re-sent Prepare for the ballot already promised is answered
        // again: the promise stands, and the first answer may have been lost.
        let repeat = ballot == self.durable.promised && ballot != Ballot::ZERO;
        if ballot <= self.durable.promised && !repeat {
            out.push(Output::Probe(Probe::RejectedLowerBallot));
            let promised = self.durable.promised;
            self.send(from, Message::Nack { ballot, promised }, out);
            return;
        }
        // A repeat is already promised and durable: answer, write nothing.
        if !repeat {
            self.raise_promise(ballot, out);
        }
        let accepted = self
            .durable
            .accepted
            .range(from_slot..)
            .map(|(slot, (ballot, command))| AcceptedEntry {
                slot: *slot,
                ballot: *ballot,
                command: command.clone(),
            })
            .collect();
        self.send(from, Message::Promise { ballot, accepted }, out);
    }

    fn on_accept(
        &mut self,
        from: NodeId,
        ballot: Ballot,
        slot: Slot,
        command: Command,
        out: &mut Vec<Output>,
    ) {
        self.observe_round(ballot);
        let below_promise = ballot < self.durable.promised;
        // Flaw accept-below-promise: the acceptor forgets to compare the
        // ballot with its promise (the missing `if` of many hand-rolled Paxos).
        if below_promise && !self.config.has(Flaw::AcceptBelowPromise) {
            out.push(Output::Probe(Probe::RejectedLowerBallot));
            let promised = self.durable.promised;
            self.send(from, Message::Nack { ballot, promised }, out);
            return;
        }
        if ballot > self.durable.promised {
            self.raise_promise(ballot, out);
        }
        if self.config.mode == Mode::StableLeader {
            self.volatile.leader_hint = Some(from);
        }
        self.durable
            .accepted
            .insert(slot, (ballot, command.clone()));
        // Flaw accept-not-persisted: `Accepted` leaves before the acceptance
        // is on disk (an fsync skipped or batched past the reply).
        if !self.config.has(Flaw::AcceptNotPersisted) {
            out.push(Output::Persist(DurableWrite::Accepted {
                slot,
                ballot,
                command: command.clone(),
            }));
        }
        let message = Message::Accepted {
            ballot,
            slot,
            command,
        };
        self.send(from, message, out);
    }

    /// Raise the promise to `ballot`, durably, and step down from any lower
    /// ballot of our own.
    fn raise_promise(&mut self, ballot: Ballot, out: &mut Vec<Output>) {
        assert!(ballot > self.durable.promised);
        self.durable.promised = ballot;
        // Flaw promise-not-persisted: the promise leaves before it is on
        // disk, so a restart forgets it and can promise a lower ballot.
        if !self.config.has(Flaw::PromiseNotPersisted) {
            out.push(Output::Persist(DurableWrite::Promised(ballot)));
        }
        if self.ballot().is_some_and(|own| own < ballot) {
            self.step_down(out);
        }
    }

    // -------------------------------------------------------------- proposer

    fn start_phase1(&mut self, out: &mut Vec<Output>) {
        if matches!(self.volatile.role, Role::Candidate(_)) {
            // The last campaign timed out without a quorum of promises.
            self.campaign_failed();
        }
        let round = self.volatile.round + 1;
        self.volatile.round = round;
        self.durable.round_max = round;
        // Flaw ballot-reuse-after-restart: the round counter lives only in
        // memory, so after a restart the node hands out old ballots again.
        if !self.config.has(Flaw::BallotReuseAfterRestart) {
            out.push(Output::Persist(DurableWrite::RoundMax(round)));
        }
        // Flaw ballot-without-node-id: ballots are bare round numbers, so
        // two proposers can pick the same one.
        let node = if self.config.has(Flaw::BallotWithoutNodeId) {
            0
        } else {
            self.id
        };
        let ballot = Ballot::new(round, node);
        let from_slot = self.volatile.applied_upto;
        self.volatile.role = Role::Candidate(Phase1 {
            ballot,
            from_slot,
            promised_by: NodeSet::default(),
            promise_count: 0,
            reports: BTreeMap::new(),
        });
        self.broadcast_all(Message::Prepare { ballot, from_slot }, out);
        self.set_timer(Timer::Retransmit, out);
        self.set_timer(Timer::Election, out);
    }

    fn on_promise(
        &mut self,
        from: NodeId,
        ballot: Ballot,
        accepted: Vec<AcceptedEntry>,
        out: &mut Vec<Output>,
    ) {
        let quorum = self.config.quorum_phase1();
        let double_count = self.config.has(Flaw::DoubleCountVotes);
        // Flaw learn-across-ballots: the learner feeds every report of an
        // acceptance into the slot's one vote set, whatever its ballot.
        let reports_as_votes = self
            .config
            .has(Flaw::LearnAcrossBallots)
            .then(|| accepted.clone());
        let Role::Candidate(phase1) = &mut self.volatile.role else {
            return;
        };
        if phase1.ballot != ballot {
            return;
        }
        let fresh = phase1.promised_by.insert(from);
        // Flaw double-count-votes: a duplicated Promise counts again, as
        // when votes are kept in a counter instead of a set of voters.
        if !fresh && !double_count {
            return;
        }
        phase1.promise_count += 1;
        for entry in accepted {
            if entry.slot < phase1.from_slot {
                continue;
            }
            let higher = phase1
                .reports
                .get(&entry.slot)
                .is_none_or(|(reported, _)| entry.ballot > *reported);
            if higher {
                phase1
                    .reports
                    .insert(entry.slot, (entry.ballot, entry.command));
            }
        }
        let promised = phase1.promise_count >= quorum;
        for entry in reports_as_votes.into_iter().flatten() {
            self.on_accepted(from, entry.ballot, entry.slot, entry.command, out);
        }
        if promised && matches!(self.volatile.role, Role::Candidate(_)) {
            self.become_leader(out);
        }
    }

    /// Phase 1 succeeded: complete every slot the promises reported, fill the
    /// gaps with no-ops, then propose queued commands.
    fn become_leader(&mut self, out: &mut Vec<Output>) {
        let Role::Candidate(phase1) = std::mem::replace(&mut self.volatile.role, Role::Follower)
        else {
            unreachable!("become_leader without phase 1");
        };
        let slot_reported_max = phase1.reports.keys().next_back().copied();
        let mut phase2 = Phase2 {
            ballot: phase1.ballot,
            slot_next: phase1.from_slot,
            proposals: BTreeMap::new(),
        };
        if let Some(slot_max) = slot_reported_max {
            for slot in phase1.from_slot..=slot_max {
                if self.durable.chosen.contains_key(&slot) {
                    continue;
                }
                let command = match phase1.reports.get(&slot) {
                    Some((_, reported)) if self.config.has(Flaw::IgnorePromisedValues) => {
                        // Flaw ignore-promised-values: the proposer keeps its
                        // own value, dropping the one a promise reported.
                        let _ = reported;
                        match self.volatile.queue.pop_front() {
                            Some(request) => Command::Client(request),
                            None => Command::Noop,
                        }
                    }
                    Some((_, reported)) => {
                        out.push(Output::Probe(Probe::AdoptedValue));
                        reported.clone()
                    }
                    None => Command::Noop,
                };
                phase2.proposals.insert(slot, command);
            }
            phase2.slot_next = slot_max + 1;
        }
        let chosen_next = self
            .durable
            .chosen
            .keys()
            .next_back()
            .map_or(0, |slot| slot + 1);
        phase2.slot_next = phase2.slot_next.max(chosen_next);
        let ballot = phase2.ballot;
        let proposals: Vec<(Slot, Command)> = phase2
            .proposals
            .iter()
            .map(|(slot, command)| (*slot, command.clone()))
            .collect();
        self.volatile.role = Role::Leader(phase2);
        if self.config.mode == Mode::StableLeader {
            self.volatile.campaigns_failed = 0;
            out.push(Output::Probe(Probe::BecameLeader));
            self.volatile.leader_hint = Some(self.id);
            let message = Message::Heartbeat {
                ballot,
                applied_upto: self.volatile.applied_upto,
            };
            self.broadcast_others(message, out);
            self.set_timer(Timer::Heartbeat, out);
        }
        for (slot, command) in proposals {
            self.broadcast_all(
                Message::Accept {
                    ballot,
                    slot,
                    command,
                },
                out,
            );
        }
        self.propose_queued(out);
        self.set_timer(Timer::Retransmit, out);
        self.finish_if_idle(out);
    }

    /// Leader: move queued client requests into fresh slots.
    fn propose_queued(&mut self, out: &mut Vec<Output>) {
        loop {
            let Role::Leader(phase2) = &mut self.volatile.role else {
                return;
            };
            if phase2.proposals.len() >= PROPOSALS_INFLIGHT_MAX {
                return;
            }
            let Some(request) = self.volatile.queue.pop_front() else {
                return;
            };
            let slot = phase2.slot_next;
            phase2.slot_next += 1;
            let command = Command::Client(request);
            phase2.proposals.insert(slot, command.clone());
            let ballot = phase2.ballot;
            self.broadcast_all(
                Message::Accept {
                    ballot,
                    slot,
                    command,
                },
                out,
            );
        }
    }

    fn on_nack(&mut self, ballot: Ballot, promised: Ballot, out: &mut Vec<Output>) {
        self.observe_round(promised);
        if self.ballot() == Some(ballot) && promised > ballot {
            self.step_down(out);
        }
    }

    /// Give up our ballot. In leaderless mode, retry after a random backoff.
    fn step_down(&mut self, out: &mut Vec<Output>) {
        let role = std::mem::replace(&mut self.volatile.role, Role::Follower);
        if matches!(role, Role::Candidate(_)) || self.config.mode == Mode::Leaderless {
            self.campaign_failed();
        }
        if let Role::Leader(phase2) = role {
            // Our undecided commands go back in line; if a later leader
            // already chose them, the dedup table keeps them applied once.
            for command in phase2.proposals.into_values().rev() {
                if let Command::Client(request) = command {
                    self.requeue_front(request);
                }
            }
        }
        if self.volatile.leader_hint == Some(self.id) {
            self.volatile.leader_hint = None;
        }
        match self.config.mode {
            Mode::StableLeader => {
                // Followers do not hold requests: send their clients onward.
                let hint = self.volatile.leader_hint;
                while let Some(request) = self.volatile.queue.pop_front() {
                    let reply = Reply::Redirect { leader: hint };
                    self.reply(request.client, request.seq, reply, out);
                }
            }
            Mode::Leaderless => self.volatile.backing_off = true,
        }
        self.set_timer(Timer::Election, out);
    }

    fn campaign_failed(&mut self) {
        let failed = &mut self.volatile.campaigns_failed;
        *failed = (*failed + 1).min(BACKOFF_DOUBLINGS_MAX);
    }

    /// Leaderless: a proposer with nothing left in flight goes idle, or
    /// starts over for the requests that arrived meanwhile.
    fn finish_if_idle(&mut self, out: &mut Vec<Output>) {
        if self.config.mode != Mode::Leaderless {
            return;
        }
        let Role::Leader(phase2) = &self.volatile.role else {
            return;
        };
        if !phase2.proposals.is_empty() {
            return;
        }
        // A whole batch chosen: contention has cleared.
        self.volatile.campaigns_failed = 0;
        self.volatile.role = Role::Follower;
        if !self.volatile.queue.is_empty() {
            self.start_phase1(out);
        }
    }

    fn on_election_timer(&mut self, out: &mut Vec<Output>) {
        match self.config.mode {
            Mode::StableLeader => {
                if !self.is_leader() {
                    self.volatile.leader_hint = None;
                    self.start_phase1(out);
                }
            }
            Mode::Leaderless => {
                self.volatile.backing_off = false;
                if matches!(self.volatile.role, Role::Follower) && !self.volatile.queue.is_empty() {
                    self.start_phase1(out);
                }
            }
        }
    }

    fn on_retransmit_timer(&mut self, out: &mut Vec<Output>) {
        match &self.volatile.role {
            Role::Follower => return,
            Role::Candidate(phase1) => {
                let message = Message::Prepare {
                    ballot: phase1.ballot,
                    from_slot: phase1.from_slot,
                };
                let promised_by = phase1.promised_by;
                for to in 0..self.config.nodes {
                    if !promised_by.contains(to) {
                        self.send(to, message.clone(), out);
                    }
                }
            }
            Role::Leader(phase2) => {
                let ballot = phase2.ballot;
                let resend: Vec<(Slot, Command)> = phase2
                    .proposals
                    .iter()
                    .map(|(slot, command)| (*slot, command.clone()))
                    .collect();
                for (slot, command) in resend {
                    let voters = self
                        .volatile
                        .tallies
                        .get(&slot)
                        .filter(|tally| tally.ballot == ballot)
                        .map_or(NodeSet::default(), |tally| tally.voters);
                    let message = Message::Accept {
                        ballot,
                        slot,
                        command,
                    };
                    for to in 0..self.config.nodes {
                        if !voters.contains(to) {
                            self.send(to, message.clone(), out);
                        }
                    }
                }
            }
        }
        self.set_timer(Timer::Retransmit, out);
    }

    // --------------------------------------------------------------- learner

    fn on_accepted(
        &mut self,
        from: NodeId,
        ballot: Ballot,
        slot: Slot,
        command: Command,
        out: &mut Vec<Output>,
    ) {
        if self.durable.chosen.contains_key(&slot) {
            return;
        }
        let across_ballots = self.config.has(Flaw::LearnAcrossBallots);
        let double_count = self.config.has(Flaw::DoubleCountVotes);
        let tally = self.volatile.tallies.entry(slot).or_insert_with(|| Tally {
            ballot,
            command: command.clone(),
            voters: NodeSet::default(),
            vote_count: 0,
        });
        if ballot < tally.ballot && !across_ballots {
            return;
        }
        // Flaw learn-across-ballots: votes are kept per slot, not per
        // (slot, ballot), so acceptances of different ballots add up.
        if ballot > tally.ballot && !across_ballots {
            *tally = Tally {
                ballot,
                command: command.clone(),
                voters: NodeSet::default(),
                vote_count: 0,
            };
        }
        if across_ballots {
            tally.ballot = tally.ballot.max(ballot);
            tally.command = command;
        }
        let fresh = tally.voters.insert(from);
        // Flaw double-count-votes: a duplicated Accepted counts again.
        if !fresh && !double_count {
            return;
        }
        tally.vote_count += 1;
        if tally.vote_count >= self.config.quorum_phase2() {
            let command = tally.command.clone();
            self.volatile.tallies.remove(&slot);
            self.learn(slot, command.clone(), out);
            self.broadcast_others(Message::Decide { slot, command }, out);
        }
    }

    /// Record that `command` is chosen in `slot`, durably, and apply what
    /// has become contiguous.
    fn learn(&mut self, slot: Slot, command: Command, out: &mut Vec<Output>) {
        if slot < self.volatile.applied_upto || self.durable.chosen.contains_key(&slot) {
            return;
        }
        self.volatile.tallies.remove(&slot);
        self.durable.chosen.insert(slot, command.clone());
        out.push(Output::Persist(DurableWrite::Chosen {
            slot,
            command: command.clone(),
        }));
        self.settle_proposal(slot, &command);
        self.apply_chosen(out);
        if self.config.mode == Mode::StableLeader {
            self.propose_queued(out);
        }
        self.finish_if_idle(out);
    }

    /// A slot we proposed in was decided: drop the proposal, and put our
    /// command back in line if another one won the slot.
    fn settle_proposal(&mut self, slot: Slot, chosen: &Command) {
        let Role::Leader(phase2) = &mut self.volatile.role else {
            return;
        };
        let Some(proposed) = phase2.proposals.remove(&slot) else {
            return;
        };
        if proposed.same_as(chosen) {
            return;
        }
        if let Command::Client(request) = proposed {
            self.requeue_front(request);
        }
    }

    // --------------------------------------------------------------- replica

    fn apply_chosen(&mut self, out: &mut Vec<Output>) {
        loop {
            let slot = self.volatile.applied_upto;
            let command = match self.durable.chosen.get(&slot) {
                Some(command) => command.clone(),
                None if self.skips_gap(slot) => {
                    self.volatile.applied_upto = slot + 1;
                    continue;
                }
                None => return,
            };
            let result = match &command {
                Command::Noop => None,
                Command::Client(request) => self.apply_request(request, out),
            };
            self.volatile.applied_upto = slot + 1;
            out.push(Output::Applied {
                slot,
                command,
                result,
            });
        }
    }

    /// Flaw skip-gap-fill: a leader executes later slots without first
    /// completing an earlier one, jumping the gap once a later slot is chosen.
    fn skips_gap(&self, slot: Slot) -> bool {
        self.config.has(Flaw::SkipGapFill)
            && self.is_leader()
            && self.durable.chosen.range(slot..).next().is_some()
    }

    fn apply_request(&mut self, request: &Arc<Request>, out: &mut Vec<Output>) -> Option<OpResult> {
        let dedup = !self.config.has(Flaw::NoClientDedup);
        let result = match self.volatile.kv.apply(request, dedup) {
            Applied::Fresh(result) => {
                if matches!(result, OpResult::CasConflict { .. }) {
                    out.push(Output::Probe(Probe::CasConflict));
                }
                result
            }
            // Already applied: answer from the dedup table; the slot itself
            // changes nothing, so it reports no result of its own.
            Applied::Duplicate(result) => {
                self.reply(request.client, request.seq, Reply::Done(result), out);
                return None;
            }
            Applied::Stale => return None,
        };
        self.volatile
            .queue
            .retain(|queued| !(queued.client == request.client && queued.seq <= request.seq));
        self.reply(
            request.client,
            request.seq,
            Reply::Done(result.clone()),
            out,
        );
        Some(result)
    }

    fn dedup_lookup(&self, request: &Request) -> Option<Option<OpResult>> {
        // Flaw no-client-dedup: the dedup table is never consulted, so a
        // retry that reaches the log twice is applied twice.
        if self.config.has(Flaw::NoClientDedup) {
            return None;
        }
        let recorded = self.volatile.kv.session(request.client, request.seq)?;
        Some(recorded.cloned())
    }

    // ------------------------------------------------------------- catch-up

    fn on_heartbeat(
        &mut self,
        from: NodeId,
        ballot: Ballot,
        applied_upto: Slot,
        out: &mut Vec<Output>,
    ) {
        self.observe_round(ballot);
        if ballot < self.durable.promised {
            let promised = self.durable.promised;
            self.send(from, Message::Nack { ballot, promised }, out);
            return;
        }
        if self.ballot().is_some_and(|own| own < ballot) {
            // Name the new leader first, so the clients that `step_down`
            // redirects are sent to it rather than told "unknown".
            self.volatile.leader_hint = Some(from);
            self.step_down(out);
        }
        if self.is_leader() {
            return;
        }
        self.volatile.leader_hint = Some(from);
        self.volatile.campaigns_failed = 0;
        self.set_timer(Timer::Election, out);
        if applied_upto > self.volatile.applied_upto {
            self.request_catchup(from, out);
        }
    }

    /// Leaderless: a slot below a chosen one that stays empty for a whole
    /// catch-up interval was never chosen (its proposer gave it up), and no
    /// client request will make anyone run phase 1 again. Run phase 1 from
    /// it: the value rule completes it or a no-op fills it. (A stable leader
    /// fills gaps whenever it is elected.)
    fn fill_stuck_gap(&mut self, out: &mut Vec<Output>) {
        if self.config.mode != Mode::Leaderless {
            return;
        }
        let applied_upto = self.volatile.applied_upto;
        let gap = self.durable.chosen.range(applied_upto..).next().is_some();
        let seen_before = self.volatile.gap_seen_at == Some(applied_upto);
        self.volatile.gap_seen_at = gap.then_some(applied_upto);
        let idle = matches!(self.volatile.role, Role::Follower) && !self.volatile.backing_off;
        if gap && seen_before && idle {
            self.start_phase1(out);
        }
    }

    fn request_catchup(&mut self, peer: NodeId, out: &mut Vec<Output>) {
        let from_slot = self.volatile.applied_upto;
        self.send(peer, Message::CatchupRequest { from_slot }, out);
    }

    fn on_catchup_request(&mut self, from: NodeId, from_slot: Slot, out: &mut Vec<Output>) {
        let mut entries = Vec::new();
        let mut slot = from_slot;
        while let Some(command) = self.durable.chosen.get(&slot) {
            if entries.len() == CATCHUP_ENTRIES_MAX {
                break;
            }
            entries.push((slot, command.clone()));
            slot += 1;
        }
        if !entries.is_empty() {
            self.send(from, Message::CatchupReply { entries }, out);
        }
    }

    // --------------------------------------------------------------- helpers

    fn enqueue(&mut self, request: Arc<Request>, out: &mut Vec<Output>) {
        let owed = self.volatile.owed.entry(request.client).or_insert(0);
        *owed = (*owed).max(request.seq);
        let queued = self
            .volatile
            .queue
            .iter()
            .any(|queued| queued.client == request.client && queued.seq == request.seq);
        let in_flight = match &self.volatile.role {
            Role::Leader(phase2) => phase2
                .proposals
                .values()
                .any(|command| command.request_id() == Some((request.client, request.seq))),
            _ => false,
        };
        if queued || in_flight {
            return;
        }
        if self.volatile.queue.len() >= QUEUE_MAX {
            let reply = Reply::Redirect { leader: None };
            self.reply(request.client, request.seq, reply, out);
            return;
        }
        self.volatile.queue.push_back(request);
    }

    fn requeue_front(&mut self, request: Arc<Request>) {
        let applied = self
            .volatile
            .kv
            .session(request.client, request.seq)
            .is_some();
        if !applied && self.volatile.queue.len() < QUEUE_MAX {
            self.volatile.queue.push_front(request);
        }
    }

    /// Send `reply` if this node owes the client an answer for `seq`.
    fn reply(&mut self, client: ClientId, seq: u64, reply: Reply, out: &mut Vec<Output>) {
        if let Reply::Done(_) = reply {
            match self.volatile.owed.get(&client) {
                Some(owed) if *owed == seq => {
                    self.volatile.owed.remove(&client);
                }
                _ => return,
            }
        }
        out.push(Output::Reply { client, seq, reply });
    }

    fn observe_round(&mut self, ballot: Ballot) {
        self.volatile.round = self.volatile.round.max(ballot.round);
    }

    fn send(&self, to: NodeId, message: Message, out: &mut Vec<Output>) {
        out.push(Output::Send { to, message });
    }

    fn broadcast_all(&self, message: Message, out: &mut Vec<Output>) {
        for to in 0..self.config.nodes {
            self.send(to, message.clone(), out);
        }
    }

    fn broadcast_others(&self, message: Message, out: &mut Vec<Output>) {
        for to in 0..self.config.nodes {
            if to != self.id {
                self.send(to, message.clone(), out);
            }
        }
    }

    fn set_timer(&self, timer: Timer, out: &mut Vec<Output>) {
        let timing = &self.config.timing;
        let (delay_us, jitter_us) = match timer {
            Timer::Election => match self.config.mode {
                Mode::StableLeader => (timing.election_timeout_us, timing.election_jitter_us),
                Mode::Leaderless => (timing.retransmit_interval_us, timing.election_jitter_us),
            },
            Timer::Heartbeat => (timing.heartbeat_interval_us, 0),
            Timer::Retransmit => (timing.retransmit_interval_us, 0),
            Timer::Catchup => (timing.catchup_interval_us, timing.catchup_interval_us / 4),
        };
        let (delay_us, jitter_us) = if timer == Timer::Election {
            let factor = 1u64 << self.volatile.campaigns_failed;
            (delay_us * factor, jitter_us * factor)
        } else {
            (delay_us, jitter_us)
        };
        out.push(Output::SetTimer {
            timer,
            delay_us,
            jitter_us,
        });
    }
}

fn reply_to(request: &Request, reply: Reply) -> Output {
    Output::Reply {
        client: request.client,
        seq: request.seq,
        reply,
    }
}
