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
//! When a message is dead: when its receiver's `paxos::Node::
//! ignores_for_good` says so. The rules live beside the handlers they read
//! (`crates/paxos/src/node/ignored.rs`), each a condition on the receiver
//! that, once true, stays true while it runs: an `Accepted`, `Decide` or
//! `CatchupReply` for slots already chosen, a `Promise` to a node no longer
//! a candidate with its ballot, a `Nack` whose round the node has reached.
//! A restart rebuilds a node's volatile state, so discarding applies only
//! once no restart is left in the budget; a node that crashes then is down
//! for good, and its messages are discarded already (`State::bury_dead`).
//! Explore tells the core whether a retransmit timer may still fire.
//!
//! As a guard, a message the rules call dead is taken out only if
//! handling it now is seen to change nothing: the node's fingerprint stays
//! and it gives no output (computed once per node state and message,
//! `memo`). A rule that a flaw or a later change to the core makes wrong
//! therefore keeps the message in flight rather than hide a step, as long
//! as the handler still does something now.

use paxos::{Message, Node, NodeId};

use super::Budgets;

/// Whether `message` from `from` is ignored by `node` now and for good
/// (the caller checks that no restart is left and that handling it now
/// changes nothing). `used` are the budgets spent so far, of `budgets`.
pub(crate) fn ignored_for_good(
    node: &Node,
    from: NodeId,
    message: &Message,
    used: &Budgets,
    budgets: &Budgets,
) -> bool {
    let retransmits_ahead = used.retransmit_timers < budgets.retransmit_timers;
    node.ignores_for_good(from, message, retransmits_ahead)
}
