//! The durable half of a node: what survives a crash.
//!
//! A node never writes this directly to disk. It hands each change to its
//! caller as `Output::Persist(DurableWrite)`; the caller applies the write to
//! its own copy (its "disk") with [`Durable::apply`] before sending the
//! messages that follow it. After a crash the node is rebuilt from that copy
//! alone with `Node::recover`.

use std::collections::BTreeMap;

use crate::command::Command;
use crate::types::{Ballot, Slot};

/// One change to durable state.
#[derive(Clone, Debug)]
pub enum DurableWrite {
    /// The acceptor promised `Ballot`.
    Promised(Ballot),
    /// The proposer used a round this high; it will never use it again.
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
    /// Apply one write, as the caller's storage does. Asserts the durable
    /// invariants at the writing end: promises and rounds never decrease.
    pub fn apply(&mut self, write: &DurableWrite) {
        match write {
            DurableWrite::Promised(ballot) => {
                assert!(*ballot >= self.promised, "durable promise decreased");
                self.promised = *ballot;
            }
            DurableWrite::RoundMax(round) => {
                assert!(*round >= self.round_max, "durable round decreased");
                self.round_max = *round;
            }
            DurableWrite::Accepted {
                slot,
                ballot,
                command,
            } => {
                self.accepted.insert(*slot, (*ballot, command.clone()));
            }
            DurableWrite::Chosen { slot, command } => {
                self.chosen.entry(*slot).or_insert_with(|| command.clone());
            }
        }
    }
}
