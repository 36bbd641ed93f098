//! The learner and the replica: count `Accepted` votes into decisions,
//! record what is chosen, and apply the chosen log to the key-value state.
//!
//! Rules it enforces: votes count per slot for one ballot only, one vote per
//! distinct acceptor; a phase-2 quorum of them chooses the value; a chosen
//! slot is recorded durably once and never changes; chosen slots are applied
//! strictly in order, with no gap skipped, each client request at most once
//! (the dedup table), and a reply goes only to a client this node owes one.

use std::sync::Arc;

use crate::command::{Command, OpResult, Reply, Request};
use crate::config::Mode;
use crate::durable::DurableWrite;
use crate::kv::Applied;
use crate::message::{Message, Output, Probe};
use crate::types::{Ballot, NodeId, NodeSet, Slot};

use super::{Node, Role, Tally};

impl Node {
    pub(super) fn on_accepted(
        &mut self,
        from: NodeId,
        ballot: Ballot,
        slot: Slot,
        command: Command,
        out: &mut Vec<Output>,
    ) {
        self.heard_accepted(from, ballot);
        if self.durable.chosen.contains_key(&slot) {
            return;
        }
        let quorum = self.decide_quorum();
        let across_ballots = flaw!(self.config, LearnAcrossBallots);
        let double_count = flaw!(self.config, DoubleCountVotes);
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
        if tally.vote_count >= quorum {
            let command = tally.command.clone();
            self.volatile.tallies.remove(&slot);
            self.learn(slot, command.clone(), out);
            self.broadcast_others(Message::Decide { slot, command }, out);
        }
    }

    /// The votes that decide a slot: a phase-2 quorum.
    fn decide_quorum(&self) -> usize {
        if flaw!(self.config, DecideWithAll) {
            // Flaw decide-with-all: waits for every replica's vote (a write
            // acknowledged by all), so any node down stops the log.
            return usize::from(self.config.nodes);
        }
        if flaw!(self.config, LearnWithPhase1Quorum) {
            // Flaw learn-with-phase1-quorum: the two quorum sizes swapped,
            // harmless while q1 >= q2 and unsafe once q1 < q2.
            return self.config.quorum_phase1();
        }
        self.config.quorum_phase2()
    }

    /// Record that `command` is chosen in `slot`, durably, and apply what
    /// has become contiguous.
    pub(super) fn learn(&mut self, slot: Slot, command: Command, out: &mut Vec<Output>) {
        if slot < self.volatile.applied_upto || self.durable.chosen.contains_key(&slot) {
            return;
        }
        self.volatile.tallies.remove(&slot);
        let write = DurableWrite::Chosen {
            slot,
            command: command.clone(),
        };
        self.persist(write, out);
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
        flaw!(self.config, SkipGapFill)
            && self.is_leader()
            && self.durable.chosen.range(slot..).next().is_some()
    }

    fn apply_request(&mut self, request: &Arc<Request>, out: &mut Vec<Output>) -> Option<OpResult> {
        let dedup = !flaw!(self.config, NoClientDedup);
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
}
