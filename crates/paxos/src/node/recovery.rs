//! Protocol-aware recovery: a node whose disk lost votes asks its peers
//! before it votes again.
//!
//! # The rule
//!
//! A node rebuilt with a damaged promise or acceptance record (its caller
//! found the record's checksum wrong, or could not read it) does not know
//! what it promised or accepted there. It must not vote as if it had never
//! promised or accepted, so it is *recovering*: it answers no `Prepare` and
//! no `Accept`, proposes nothing, and sends `RecoveryRequest` to every peer
//! (again at every catch-up tick). A peer that is not recovering itself
//! answers `RecoveryReply` with its promise, the highest round it has used
//! or seen, and every entry it has accepted. Once replies from
//! `need = max(n - q1 + 1, n - q2 + 1)` distinct peers are in (never
//! counting itself), the node keeps, per slot, the highest-ballot entry
//! among its intact records and the replies; takes a round `R` above every
//! round reported and its own; promises `F = (R, itself)`, above every
//! promise reported; makes all that durable; and votes again.
//!
//! # Why it is safe
//!
//! - *A lost acceptance.* Say value `v` is chosen in slot `s` at ballot
//!   `c`, by a phase-2 quorum `Q2` that counted this node's vote. `Q2` has
//!   `q2 - 1` members besides this node among the `n - 1` others, so any
//!   `n - q2 + 1` of the others include one of them. Its intact record in
//!   `s` is at ballot `>= c`, and by Paxos's own invariant every entry at a
//!   ballot `>= c` in `s` carries `v`. The node keeps the highest entry it
//!   hears, so it reports `v` at `>= c` from then on, as an intact acceptor
//!   would. Keeping an entry it never accepted itself is harmless: every
//!   entry `(b, w)` any acceptor holds was proposed at `b`, and the value
//!   rule needs no more of the highest report than that.
//! - *A lost promise.* A promise at `b` matters through a phase-1 quorum
//!   `Q1` that counted it; any `n - q1 + 1` of the others include a member
//!   of `Q1` other than this node, whose promise is `>= b` once it made it.
//!   The node's new promise `F` is above every promise it hears, hence
//!   above `b`: it accepts nothing below a ballot it may have promised.
//! - *Its own ballots.* `R` is above every round it hears and above its own
//!   intact record; a round record is never damaged by the simulator (its
//!   fault atlas), so the proposer never reuses a ballot.
//!
//! The argument needs the peers that reply to have *already* promised or
//! accepted when they reply. A vote still travelling when the node
//! restarts (a peer that promises `b` only after answering) is outside it:
//! the simulator's fault atlas (`sim::disk`) damages a record only when at
//! least `n - need` other nodes durably hold a promise or acceptance that
//! covers it, and only one node at a time, so any `need` replies include
//! one. `need <= n - 1` needs `q1 >= 2` and `q2 >= 2`: with a quorum of one
//! a lost vote cannot be recovered, and such a node stays recovering.
//!
//! A node with a clean disk recovers as before, with no extra round.

use std::collections::BTreeMap;

use crate::command::Command;
use crate::durable::{Damage, DurableWrite};
use crate::message::{AcceptedEntry, Message, Output, Probe};
use crate::types::{Ballot, NodeId, NodeSet, Slot};

use super::Node;
use crate::fingerprint::{self, Fingerprint};

/// What a recovering node has heard so far.
#[derive(Clone, Debug, Default)]
pub(super) struct Recovery {
    replied: NodeSet,
    reply_count: usize,
    promised_max: Ballot,
    round_max: u64,
    /// Per slot, the highest-ballot entry reported.
    accepted: BTreeMap<Slot, (Ballot, Command)>,
}

impl Fingerprint for Recovery {
    fn fingerprint<H: std::hash::Hasher>(&self, state: &mut H) {
        let Recovery {
            replied,
            reply_count,
            promised_max,
            round_max,
            accepted,
        } = self;
        replied.fingerprint(state);
        state.write_usize(*reply_count);
        promised_max.fingerprint(state);
        state.write_u64(*round_max);
        fingerprint::accepted_fingerprint(accepted, state);
    }
}

impl Node {
    /// Replies from distinct peers a recovering node needs: enough that
    /// they meet every phase-1 and every phase-2 quorum in a node other
    /// than itself.
    pub fn recovery_replies_needed(&self) -> usize {
        let nodes = usize::from(self.config.nodes);
        let phase1 = self.config.quorum_phase1();
        let phase2 = self.config.quorum_phase2();
        (nodes + 1 - phase1.min(nodes)).max(nodes + 1 - phase2.min(nodes))
    }

    /// Whether this node is recovering from damaged records and so votes
    /// on nothing yet.
    pub fn is_recovering(&self) -> bool {
        self.volatile.recovery.is_some()
    }

    /// Just rebuilt with `damage`: begin recovering if votes are at stake.
    pub(super) fn begin_recovery(&mut self, damage: &Damage, out: &mut Vec<Output>) {
        if damage.is_clean() {
            return;
        }
        out.push(Output::Probe(Probe::CorruptRecordDetected));
        // Flaw trust-corrupt-record: a record that fails its checksum is
        // taken as never written (the unmodified ZooKeeper and LogCabin
        // behaviour of the FAST'18 protocol-aware recovery paper).
        if !damage.needs_recovery() || flaw!(self.config, TrustCorruptRecord) {
            return;
        }
        self.volatile.recovery = Some(Recovery::default());
        self.broadcast_others(Message::RecoveryRequest, out);
    }

    /// The catch-up tick of a recovering node: ask again, some peers may
    /// have been down or cut off.
    pub(super) fn recovery_tick(&self, out: &mut Vec<Output>) {
        if self.is_recovering() {
            self.broadcast_others(Message::RecoveryRequest, out);
        }
    }

    /// A peer asks what this node promised and accepted. A node that is
    /// recovering itself knows no more than its damaged disk: it says nothing.
    pub(super) fn on_recovery_request(&self, from: NodeId, out: &mut Vec<Output>) {
        if self.is_recovering() || from == self.id {
            return;
        }
        let accepted = self
            .durable
            .accepted
            .iter()
            .map(|(slot, (ballot, command))| AcceptedEntry {
                slot: *slot,
                ballot: *ballot,
                command: command.clone(),
            })
            .collect();
        let message = Message::RecoveryReply {
            promised: self.durable.promised,
            round: self.volatile.round.max(self.durable.round_max),
            accepted,
        };
        self.send(from, message, out);
    }

    /// A peer's answer; with enough of them, finish recovering.
    pub(super) fn on_recovery_reply(
        &mut self,
        from: NodeId,
        promised: Ballot,
        round: u64,
        accepted: Vec<AcceptedEntry>,
        out: &mut Vec<Output>,
    ) {
        let needed = self.recovery_replies_needed();
        let Some(recovery) = self.volatile.recovery.as_mut() else {
            return;
        };
        if from == self.id || recovery.replied.contains(from) {
            return;
        }
        recovery.replied.insert(from);
        recovery.reply_count += 1;
        recovery.promised_max = recovery.promised_max.max(promised);
        recovery.round_max = recovery.round_max.max(round);
        for entry in accepted {
            let higher = recovery
                .accepted
                .get(&entry.slot)
                .is_none_or(|(ballot, _)| *ballot < entry.ballot);
            if higher {
                recovery
                    .accepted
                    .insert(entry.slot, (entry.ballot, entry.command));
            }
        }
        if recovery.reply_count >= needed {
            self.finish_recovery(out);
        }
    }

    /// Enough peers answered: adopt what they reported, above anything this
    /// node could have promised, durably, and vote again.
    fn finish_recovery(&mut self, out: &mut Vec<Output>) {
        let recovery = self
            .volatile
            .recovery
            .take()
            .expect("only a recovering node finishes recovering");
        let round = recovery
            .round_max
            .max(recovery.promised_max.round)
            .max(self.durable.promised.round)
            .max(self.durable.round_max)
            .max(self.volatile.round)
            + 1;
        self.volatile.round = round;
        self.persist(DurableWrite::RoundMax(round), out);
        let promise = Ballot::new(round, self.id);
        assert!(
            promise > recovery.promised_max,
            "the new promise is above every reported one"
        );
        self.persist(DurableWrite::Promised(promise), out);
        for (slot, (ballot, command)) in recovery.accepted {
            let kept = self.durable.accepted.get(&slot).map(|(kept, _)| *kept);
            if kept.is_none_or(|kept| kept < ballot) {
                self.persist(
                    DurableWrite::Accepted {
                        slot,
                        ballot,
                        command,
                    },
                    out,
                );
            }
        }
        out.push(Output::Probe(Probe::RecoveredFromPeers));
    }

    /// Whether the acceptor may answer a `Prepare` or an `Accept` now.
    pub(super) fn may_vote(&self) -> bool {
        // Flaw vote-while-recovering: the node answers before its recovery
        // is complete (a vote cast from a disk known to be damaged, the bug
        // CTRL's recovery protocol closes).
        !self.is_recovering() || flaw!(self.config, VoteWhileRecovering)
    }
}
