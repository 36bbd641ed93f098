//! Messages their receiver ignores for good, taken out of flight.
//!
//! A message in flight whose delivery would change nothing (the node's
//! state, its disk, its timers, the checker's ghost, the history) and
//! never could, whatever happens first, is *dead*: delivering, dropping or
//! duplicating it can only spend a step. A state is stored without its
//! dead messages, so that two states that differ only by which of them are
//! still in flight are one state. That is a reduction of states, not only
//! of steps: in the subtle case most distinct states differed by nothing
//! but stale `Accepted`, `Decide`, `Promise` and `Nack` messages that a
//! learner, a former candidate or a leader will drop on arrival.
//!
//! Why nothing is lost. Let `a(s)` be `s` without its dead messages. A
//! step other than the delivery, drop or duplicate of a dead message does
//! the same thing to `s` and to `a(s)` (no handler sees the network), and
//! a message dead in `s` is dead in every state after it (below), so
//! `a(t(a(s))) = a(t(s))`: the search over the `a` states takes the same
//! steps, reaches `a` of every state the full search reaches, and raises
//! the same violations at the same places. A terminal state has nothing in
//! flight, so the terminal states (and their end-of-run checks) are the
//! same ones (`tests/explore.rs` compares them). A path that drops or
//! duplicates a dead message is matched by the same path without that
//! step, which leaves more budget and the same hosts, ghost and history.
//!
//! When a message is dead. Each rule names a condition on the receiver
//! that, once true, stays true while the node runs, and under which the
//! receiver's handler (`paxos::node`) returns before doing anything. A
//! restart rebuilds a node's volatile state, so the rules apply only once
//! no restart is left in the budget; a node that crashes then is down for
//! good, and its messages are discarded already (`State::bury_dead`).
//! - `Accepted(b, s)` to a node that has `s` in its durable chosen log:
//!   `on_accepted` returns after `heard_accepted`, which resets the
//!   leader's unheard-retransmit count if the node leads with `b` and the
//!   sender is another node. That count is never raised again once no
//!   retransmit timer can fire, and a node never leads with `b` again once
//!   its ballot is not `b` and its round has reached `b`'s (a new ballot
//!   takes a round above it). The chosen log only grows.
//! - `Decide(s)` to a node with `s` chosen and `s` no further than
//!   `CATCHUP_LAG_SLOTS` past its applied prefix: `learn` returns, and no
//!   catch-up is asked. The applied prefix only grows.
//! - `CatchupReply` whose every slot the node has chosen: each `learn`
//!   returns.
//! - `Promise(b)` to a node that is not a candidate with `b`, its round at
//!   or past `b`'s: `on_promise` returns, and the node is never a
//!   candidate with `b` again.
//! - `Nack(b, promised)` to a node whose round is at or past `promised`'s,
//!   when the node's ballot is not `b` (and never will be again) or
//!   `promised` is not above `b`: `observe_round` and `on_nack` change
//!   nothing.
//!
//! Every other kind (a `Prepare`, an `Accept`, a `Heartbeat`, a request
//! from a client) may be answered or may move a hint back, so it is never
//! dead. As a guard, a message the rules call dead is taken out only if
//! handling it now is seen to change nothing: the node's fingerprint stays
//! and it gives no output (computed once per node state and message,
//! `memo`). A rule that a flaw or a later change to the core makes wrong
//! therefore keeps the message in flight rather than hide a step, as long
//! as the handler still does something now.

use paxos::node::CATCHUP_LAG_SLOTS;
use paxos::{Message, Node, NodeId};

use super::Budgets;

/// Whether `message` from `from` is ignored by `node` now and for good
/// (the rules above; the caller checks that no restart is left and that
/// handling it now changes nothing). `used` are the budgets spent so far,
/// of `budgets`.
pub(crate) fn ignored_for_good(
    node: &Node,
    from: NodeId,
    message: &Message,
    used: &Budgets,
    budgets: &Budgets,
) -> bool {
    let chosen = |slot| node.durable().chosen.contains_key(&slot);
    let round = node.round();
    match message {
        Message::Accepted { ballot, slot, .. } => {
            let retransmits_spent = used.retransmit_timers >= budgets.retransmit_timers;
            let never_leads_with = node.ballot() != Some(*ballot) && ballot.round <= round;
            chosen(*slot) && (from == node.id() || retransmits_spent || never_leads_with)
        }
        Message::Decide { slot, .. } => {
            chosen(*slot) && *slot <= node.applied_upto() + CATCHUP_LAG_SLOTS
        }
        Message::CatchupReply { entries } => entries.iter().all(|(slot, _)| chosen(*slot)),
        Message::Promise { ballot, .. } => {
            let candidate = node.role_name() == "candidate" && node.ballot() == Some(*ballot);
            !candidate && ballot.round <= round
        }
        Message::Nack { ballot, promised } => {
            promised.round <= round && (node.ballot() != Some(*ballot) || promised <= ballot)
        }
        Message::Prepare { .. }
        | Message::Accept { .. }
        | Message::Heartbeat { .. }
        | Message::CatchupRequest { .. }
        | Message::RecoveryRequest
        | Message::RecoveryReply { .. } => false,
    }
}
