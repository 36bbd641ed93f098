//! Which messages a running node ignores for good: handling one changes
//! nothing now, and nothing the node can become before a restart would
//! act on it. A model checker uses this to take such messages out of
//! flight (`sim::explore::ignored`); the rules sit here, beside the
//! handlers they read, so that a change to a handler is a change here too.
//!
//! Each rule is a condition that, once true, stays true while the node
//! runs, under which the handler returns before doing anything:
//! - `Accepted(b, s)` with `s` in the durable chosen log: `on_accepted`
//!   returns after `heard_accepted`, which resets the leader's
//!   unheard-retransmit count when the node leads with `b` and the sender
//!   is another node. That count only rises on a retransmit timer, and the
//!   node never leads with `b` again once its ballot is not `b` and its
//!   round has reached `b`'s (a new ballot takes a round above it). The
//!   chosen log only grows.
//! - `Decide(s)` with `s` chosen and no further than `CATCHUP_LAG_SLOTS`
//!   past the applied prefix: `learn` returns, and no catch-up is asked.
//!   The applied prefix only grows.
//! - `CatchupReply` whose every slot is chosen: each `learn` returns.
//! - `Promise(b)` when the node is not a candidate with `b` and its round
//!   has reached `b`'s: `on_promise` returns, and the node is never a
//!   candidate with `b` again.
//! - `Nack(b, promised)` when the round has reached `promised`'s and the
//!   node's ballot is not `b` (nor ever will be again) or `promised` is
//!   not above `b`: `observe_round` and `on_nack` change nothing.
//!
//! Every other kind may be answered or may move a hint back (a stale
//! `Heartbeat` does), so it is never ignored for good. A restart rebuilds
//! the volatile state, so none of this holds across one.

use crate::message::Message;
use crate::types::NodeId;

use super::{CATCHUP_LAG_SLOTS, Node, Role};

impl Node {
    /// Whether this node ignores `message` from `from` now and for as long
    /// as it runs (the rules above). `retransmits_ahead`: whether a
    /// retransmit timer may still fire on this node.
    pub fn ignores_for_good(
        &self,
        from: NodeId,
        message: &Message,
        retransmits_ahead: bool,
    ) -> bool {
        let chosen = |slot| self.durable.chosen.contains_key(&slot);
        let round = self.volatile.round;
        match message {
            Message::Accepted { ballot, slot, .. } => {
                let never_leads_with = self.ballot() != Some(*ballot) && ballot.round <= round;
                chosen(*slot) && (from == self.id || !retransmits_ahead || never_leads_with)
            }
            Message::Decide { slot, .. } => {
                chosen(*slot) && *slot <= self.volatile.applied_upto + CATCHUP_LAG_SLOTS
            }
            Message::CatchupReply { entries } => entries.iter().all(|(slot, _)| chosen(*slot)),
            Message::Promise { ballot, .. } => {
                let candidate = matches!(&self.volatile.role,
                    Role::Candidate(phase1) if phase1.ballot == *ballot);
                !candidate && ballot.round <= round
            }
            Message::Nack { ballot, promised } => {
                promised.round <= round && (self.ballot() != Some(*ballot) || promised <= ballot)
            }
            Message::Prepare { .. }
            | Message::Accept { .. }
            | Message::Heartbeat { .. }
            | Message::CatchupRequest { .. }
            | Message::RecoveryRequest
            | Message::RecoveryReply { .. } => false,
        }
    }
}
