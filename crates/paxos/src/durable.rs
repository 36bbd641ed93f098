//! The durable half of a node: what survives a crash, and the one way it
//! changes.
//!
//! Every change is a [`DurableWrite`]. The node applies each write to its own
//! copy with [`Durable::apply`] and hands the same write to its caller as
//! `Output::Persist`; the caller applies it to its copy (its "disk") with the
//! same method before sending the messages that follow it. Both copies thus
//! go through the same assertions, and they agree unless a flaw skips the
//! `Persist` (the bug it models). After a crash the node is rebuilt from the
//! caller's copy alone with `Node::recover`, or, when the caller found
//! records it could not trust (a checksum failed, a read failed), with
//! `Node::recover_damaged` and the [`Damage`] it found: such a node
//! recovers from its peers before it votes again (`node/recovery.rs`).

use std::collections::BTreeMap;

use crate::command::Command;
use crate::types::{Ballot, Slot};

/// One change to durable state.
#[derive(Clone, Debug)]
pub enum DurableWrite {
    /// The acceptor promised `Ballot`. Written again, unchanged, when a
    /// re-sent `Prepare` is answered again, so that the answer waits for
    /// the promise to be durable like the first one did.
    Promised(Ballot),
    /// The proposer used a round this high; it will never use it again.
    /// Written again, unchanged, when a `Prepare` is resent, so that the
    /// resend waits for the disk like the first send did.
    RoundMax(u64),
    /// The acceptor accepted `command` in `slot` at `ballot`.
    Accepted {
        slot: Slot,
        ballot: Ballot,
        command: Command,
    },
    /// The learner learned that `command` is chosen in `slot`.
    Chosen { slot: Slot, command: Command },
}

/// Everything a node keeps across a crash.
#[derive(Clone, Debug, Default)]
pub struct Durable {
    /// Acceptor: the highest ballot promised. Never decreases.
    pub promised: Ballot,
    /// Proposer: the highest round this node has used in a ballot.
    pub round_max: u64,
    /// Acceptor: per slot, the highest-ballot value accepted.
    pub accepted: BTreeMap<Slot, (Ballot, Command)>,
    /// Learner: the chosen log. The key-value state is rebuilt from it.
    pub chosen: BTreeMap<Slot, Command>,
}

impl Durable {
    /// Apply one write, to the node's copy or the caller's. Asserts, at the
    /// writing end, what the node relies on when it reads its durable state
    /// back: a promise write never lowers the promise, nor a round write the
    /// round, a slot is chosen once, never changed, and (in a build without
    /// the flaws) an acceptance neither exceeds the promise nor lowers the
    /// slot's accepted ballot.
    pub fn apply(&mut self, write: &DurableWrite) {
        match write {
            DurableWrite::Promised(ballot) => {
                assert!(
                    *ballot >= self.promised,
                    "durable promise {ballot} lowers {}",
                    self.promised
                );
                self.promised = *ballot;
            }
            DurableWrite::RoundMax(round) => {
                assert!(
                    *round >= self.round_max,
                    "durable round {round} lowers {}",
                    self.round_max
                );
                self.round_max = *round;
            }
            DurableWrite::Accepted {
                slot,
                ballot,
                command,
            } => {
                // Without the flaws, an acceptance is at or below the promise
                // (which is raised first) and never lowers a slot's ballot.
                // accept-below-promise breaks the second, and
                // promise-not-persisted the first on the caller's copy.
                if cfg!(not(feature = "flaws")) {
                    assert!(
                        *ballot <= self.promised,
                        "slot {slot} accepted at {ballot} above the promise {}",
                        self.promised
                    );
                    let previous = self.accepted.get(slot).map(|(previous, _)| *previous);
                    assert!(
                        previous.is_none_or(|previous| previous <= *ballot),
                        "slot {slot} accepted at {ballot}, lower than before"
                    );
                }
                self.accepted.insert(*slot, (*ballot, command.clone()));
            }
            DurableWrite::Chosen { slot, command } => {
                assert!(
                    !self.chosen.contains_key(slot),
                    "slot {slot} chosen a second time"
                );
                self.chosen.insert(*slot, command.clone());
            }
        }
    }
}

/// What a caller found wrong with its durable copy when it read it back to
/// rebuild a node: the records whose checksum failed, or that could not be
/// read. Their content is unknown, so the node must not act as if it had
/// never promised or accepted: it recovers from its peers first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Damage {
    /// The promise record.
    pub promise: bool,
    /// The proposer's round record.
    pub round: bool,
    /// The slots whose acceptance record is damaged.
    pub accepted: Vec<Slot>,
    /// The slots whose chosen record is damaged: only a gap to catch up on.
    pub chosen: Vec<Slot>,
}

impl Damage {
    /// Whether the node's votes are at stake: a damaged promise, round or
    /// acceptance. A damaged chosen record alone is caught up like any gap.
    pub fn needs_recovery(&self) -> bool {
        self.promise || self.round || !self.accepted.is_empty()
    }

    pub fn is_clean(&self) -> bool {
        !self.needs_recovery() && self.chosen.is_empty()
    }
}
