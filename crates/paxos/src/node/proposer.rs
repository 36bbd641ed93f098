//! The proposer: campaigns (phase 1), leads (phase 2), steps down, and
//! drives the election and retransmit timers.
//!
//! Rules it enforces: a new ballot's round is above every round this node
//! has used (durably recorded) or seen; with a phase-1 quorum of promises it
//! proposes, in every slot a promise reported, the value with the highest
//! reported ballot (the value rule), fills the unreported slots below with
//! no-ops, and only then proposes its own commands, in fresh slots; at most
//! `PROPOSALS_INFLIGHT_MAX` client commands are in phase 2 at once; a higher
//! ballot makes it step down, and so does hearing no other node for
//! `LEADER_UNHEARD_RETRANSMITS_MAX` retransmits while proposing (stable-leader
//! mode); repeated failures back off (at most `BACKOFF_DOUBLINGS_MAX`
//! doublings).

use std::collections::BTreeMap;

use crate::command::{Command, Reply};
use crate::config::Mode;
use crate::durable::DurableWrite;
use crate::message::{AcceptedEntry, Message, Output, Probe, Timer};
use crate::types::{Ballot, NodeId, NodeSet, Slot};

use super::{
    BACKOFF_DOUBLINGS_MAX, LEADER_UNHEARD_RETRANSMITS_MAX, Node, PROPOSALS_INFLIGHT_MAX, Phase1,
    Phase2, Role,
};

impl Node {
    pub(super) fn start_phase1(&mut self, out: &mut Vec<Output>) {
        if matches!(self.volatile.role, Role::Candidate(_)) {
            // The last campaign timed out without a quorum of promises.
            self.campaign_failed();
        }
        let round = self.volatile.round + 1;
        self.volatile.round = round;
        let write = DurableWrite::RoundMax(round);
        // Flaw round-from-promise writes no round at all: the proposer
        // keeps no durable record of the rounds it used, and a restart
        // derives the round from the promise (`Node::recover`).
        if flaw!(self.config, BallotReuseAfterRestart) {
            // Flaw ballot-reuse-after-restart: the round counter lives only in
            // memory, so after a restart the node hands out old ballots again.
            self.persist_skipped(write);
        } else if !flaw!(self.config, RoundFromPromise) {
            self.persist(write, out);
        }
        // Flaw ballot-without-node-id: ballots are bare round numbers, so
        // two proposers can pick the same one.
        let node = if flaw!(self.config, BallotWithoutNodeId) {
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

    pub(super) fn on_promise(
        &mut self,
        from: NodeId,
        ballot: Ballot,
        accepted: Vec<AcceptedEntry>,
        out: &mut Vec<Output>,
    ) {
        let quorum = self.config.quorum_phase1();
        let double_count = flaw!(self.config, DoubleCountVotes);
        // Flaw learn-across-ballots: the learner feeds every report of an
        // acceptance into the slot's one vote set, whatever its ballot.
        let reports_as_votes = flaw!(self.config, LearnAcrossBallots).then(|| accepted.clone());
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
            unheard_retransmits: 0,
        };
        if let Some(slot_max) = slot_reported_max {
            for slot in phase1.from_slot..=slot_max {
                if self.durable.chosen.contains_key(&slot) {
                    continue;
                }
                let command = match phase1.reports.get(&slot) {
                    Some((_, reported)) if flaw!(self.config, IgnorePromisedValues) => {
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
    pub(super) fn propose_queued(&mut self, out: &mut Vec<Output>) {
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

    pub(super) fn on_nack(&mut self, ballot: Ballot, promised: Ballot, out: &mut Vec<Output>) {
        self.observe_round(promised);
        if self.ballot() == Some(ballot) && promised > ballot {
            self.step_down(out);
        }
    }

    /// Give up our ballot. In leaderless mode, retry after a random backoff.
    pub(super) fn step_down(&mut self, out: &mut Vec<Output>) {
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
    pub(super) fn finish_if_idle(&mut self, out: &mut Vec<Output>) {
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

    pub(super) fn on_election_timer(&mut self, out: &mut Vec<Output>) {
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

    pub(super) fn on_retransmit_timer(&mut self, out: &mut Vec<Output>) {
        if self.unheard_too_long() {
            // Cut off from every acceptor: stop heartbeating, so that the
            // followers time out and elect a leader they can reach.
            self.campaign_failed();
            self.step_down(out);
            return;
        }
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

    /// Stable leader: count one more retransmit with proposals outstanding,
    /// and say whether it has now gone too long without hearing any other
    /// node.
    fn unheard_too_long(&mut self) -> bool {
        if self.config.mode != Mode::StableLeader {
            return false;
        }
        let Role::Leader(phase2) = &mut self.volatile.role else {
            return false;
        };
        if phase2.proposals.is_empty() {
            phase2.unheard_retransmits = 0;
            return false;
        }
        phase2.unheard_retransmits += 1;
        phase2.unheard_retransmits > LEADER_UNHEARD_RETRANSMITS_MAX
    }

    /// An acceptance of our ballot arrived from `from`: if another node,
    /// the leader is still heard.
    pub(super) fn heard_accepted(&mut self, from: NodeId, ballot: Ballot) {
        if let Role::Leader(phase2) = &mut self.volatile.role
            && phase2.ballot == ballot
            && from != self.id
        {
            phase2.unheard_retransmits = 0;
        }
    }

    pub(super) fn observe_round(&mut self, ballot: Ballot) {
        self.volatile.round = self.volatile.round.max(ballot.round);
    }

    /// Leader: tell the followers it is alive and how far it has applied.
    pub(super) fn on_heartbeat_timer(&mut self, out: &mut Vec<Output>) {
        if let Role::Leader(phase2) = &self.volatile.role {
            let message = Message::Heartbeat {
                ballot: phase2.ballot,
                applied_upto: self.volatile.applied_upto,
            };
            self.broadcast_others(message, out);
            self.set_timer(Timer::Heartbeat, out);
        }
    }
}
