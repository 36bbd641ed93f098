//! The `chosen-value-durable` invariant: once chosen, a value always keeps
//! a phase-2 quorum of intact copies on disk, or is held by a live replica
//! that applied it.
//!
//! # What counts as a copy
//!
//! Node `x` holds a copy of value `c` chosen in slot `s` when `x`'s disk
//! has, durable and passing its checksum, an acceptance record of `s`
//! carrying `c` (at any ballot) or a chosen record of `s` carrying `c`.
//! Copies are counted per node, a node holding both counting once: the
//! recovery that would need them asks distinct peers. So:
//! - a write in flight is not a copy: a crash loses it;
//! - a record with a latent read error is a copy: it is intact on the
//!   platter, and only that restart fails to read it;
//! - a corrupt record is not a copy, until rewritten;
//! - an acceptance overwritten by one of another value is no longer one.
//!
//! A replica holds the value while it runs with the slot applied
//! (`Node::applied_upto() > s`), in memory; it stops at a crash. Replicas
//! apply in order, so "some live replica applied `s`" is `s <` the highest
//! `applied_upto` among live nodes. A paused node is live.
//!
//! # How it is checked
//!
//! Apart from the safety checker and its hot path (which the explorer
//! shares, on a world without disks): the simulator feeds this checker
//! when the ghost says a slot was chosen (the copies then are counted on
//! every disk, O(n)), and whenever a disk's record of a chosen slot
//! changes (a write durable, a torn write's records, a record damaged),
//! which re-counts that node's copy: O(1) when the record now holds the
//! chosen value, two disk lookups (O(log records)) otherwise. Chosen slots
//! with fewer than `q2` copies are kept in a sorted set (`weak`); the
//! invariant fails iff one of them is at or above the highest applied slot
//! of the live replicas, a range query over O(n) nodes. It is judged after
//! every record damaged and every crash (its writes lost or torn, its
//! applied state gone). A copy overwritten by another value (only a core
//! that lets a chosen slot accept another value) is counted at once and
//! judged at the next of those, so that the consensus checkers
//! (`single-chosen-value`, `learner-agreement`) name that bug first. A
//! slot chosen while a copy was still in flight (only a core that sends
//! `Accepted` before its write is durable) is weak from the start and
//! judged likewise.

use std::collections::BTreeSet;

use paxos::{Command, NodeId, Slot};

use crate::check::{Place, violation};
use crate::report::{Invariant, Violation};
use crate::simulation::Simulation;
use crate::spec::ValueId;

/// A chosen slot's value and the nodes holding a copy of it.
#[derive(Clone, Debug)]
struct Copies {
    value: ValueId,
    /// Kept to describe the value in a report.
    command: Command,
    /// Bit `n` set: node `n` holds a copy.
    holders: Holders,
}

/// A set of nodes as a bit mask (nodes are fewer than 64).
type Holders = u64;

fn bit(node: NodeId) -> Holders {
    assert!(node < 64, "node {node} outside the checker's set");
    1 << node
}

/// The copies of every chosen slot, and the slots short of a quorum.
#[derive(Clone, Debug)]
pub(crate) struct DurabilityChecker {
    quorum_phase2: usize,
    /// Indexed by slot: `Some` once chosen.
    chosen: Vec<Option<Copies>>,
    /// Chosen slots with fewer than `quorum_phase2` copies.
    weak: BTreeSet<Slot>,
}

impl DurabilityChecker {
    pub(crate) fn new(quorum_phase2: usize) -> DurabilityChecker {
        assert!(quorum_phase2 >= 1);
        DurabilityChecker {
            quorum_phase2,
            chosen: Vec::new(),
            weak: BTreeSet::new(),
        }
    }

    /// The value chosen in `slot`, if this checker was told.
    pub(crate) fn value(&self, slot: Slot) -> Option<ValueId> {
        self.copies(slot).map(|copies| copies.value)
    }

    fn copies(&self, slot: Slot) -> Option<&Copies> {
        let index = usize::try_from(slot).ok()?;
        self.chosen.get(index)?.as_ref()
    }

    /// `command` was chosen in `slot`; `holders` hold a copy now.
    pub(crate) fn on_chosen(&mut self, slot: Slot, command: &Command, holders: Holders) {
        let copies = Copies {
            value: ValueId::of(command),
            command: command.clone(),
            holders,
        };
        let index = usize::try_from(slot).expect("slot fits in memory");
        if index >= self.chosen.len() {
            self.chosen.resize_with(index + 1, || None);
        }
        let previous = self.chosen[index].replace(copies);
        assert!(previous.is_none(), "slot {slot} chosen twice");
        self.classify(slot, holders);
    }

    /// Node `node` does (or does not) hold a copy of `slot`'s chosen value
    /// now. Returns whether that lost a copy. A slot not chosen is ignored.
    pub(crate) fn on_copy(&mut self, slot: Slot, node: NodeId, holds: bool) -> bool {
        let Some(copies) = (usize::try_from(slot).ok())
            .and_then(|index| self.chosen.get_mut(index))
            .and_then(Option::as_mut)
        else {
            return false;
        };
        let had = copies.holders & bit(node) != 0;
        if had == holds {
            return false;
        }
        copies.holders ^= bit(node);
        let holders = copies.holders;
        self.classify(slot, holders);
        had
    }

    fn classify(&mut self, slot: Slot, holders: Holders) {
        if (holders.count_ones() as usize) < self.quorum_phase2 {
            self.weak.insert(slot);
        } else {
            self.weak.remove(&slot);
        }
    }

    /// The invariant, with `applied_upto` the highest among live replicas.
    pub(crate) fn check(&self, place: Place, applied_upto: Slot) -> Result<(), Box<Violation>> {
        let Some(slot) = self.weak.range(applied_upto..).next() else {
            return Ok(());
        };
        let copies = self.copies(*slot).expect("a weak slot was chosen");
        let holders: Vec<String> = (0..64)
            .filter(|node| copies.holders & bit(*node) != 0)
            .map(|node| format!("n{node}"))
            .collect();
        let mut found = violation(
            Invariant::ChosenValueDurable,
            place,
            format!(
                "the value chosen in slot {slot} ({}) keeps {} intact copies on disk [{}], \
                 fewer than a phase-2 quorum of {}, and no live replica applied it \
                 (highest applied slot {})",
                crate::check::describe(&copies.command),
                copies.holders.count_ones(),
                holders.join(", "),
                self.quorum_phase2,
                applied_upto
                    .checked_sub(1)
                    .map_or("none".into(), |slot| slot.to_string()),
            ),
        );
        found.slot = Some(*slot);
        Err(found)
    }
}

impl Simulation {
    /// The ghost says `command` was chosen in `slot`: count its copies.
    pub(crate) fn durability_chosen(&mut self, slot: Slot, command: &Command) {
        let value = ValueId::of(command);
        let mut holders: Holders = 0;
        for (id, host) in self.hosts.iter().enumerate() {
            if host.disk.holds_copy(slot, value) {
                holders |= bit(NodeId::try_from(id).expect("a node id"));
            }
        }
        self.durability.on_chosen(slot, command, holders);
    }

    /// Node `id`'s disk changed records: re-count its copies of the chosen
    /// slots it touched. Returns whether a copy was lost.
    pub(crate) fn durability_sync(&mut self, id: NodeId) -> bool {
        let disk = &mut self.hosts[usize::from(id)].disk;
        let mut touched = disk.take_touched();
        let mut lost = false;
        if self.options.checkers {
            let disk = &self.hosts[usize::from(id)].disk;
            for change in touched.drain(..) {
                let slot = change.slot;
                if let Some(value) = self.durability.value(slot) {
                    // A record now intact with the chosen value is a copy;
                    // otherwise the node's other record of the slot may be.
                    let holds = change.value == Some(value) || disk.holds_copy(slot, value);
                    lost |= self.durability.on_copy(slot, id, holds);
                }
            }
        }
        touched.clear();
        self.hosts[usize::from(id)].disk.give_back_touched(touched);
        lost
    }

    /// Judge `chosen-value-durable` now (after a copy or a holder may have
    /// gone).
    pub(crate) fn durability_check(&mut self) {
        if !self.options.checkers || self.violation.is_some() {
            return;
        }
        let applied_upto = (self.hosts.iter())
            .filter_map(|host| host.node.as_ref().map(paxos::Node::applied_upto))
            .max()
            .unwrap_or(0);
        let place = self.place();
        if let Err(violation) = self.durability.check(place, applied_upto) {
            self.violation = Some(violation);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place() -> Place {
        Place::default()
    }

    fn nodes(ids: &[NodeId]) -> Holders {
        ids.iter().fold(0, |set, id| set | bit(*id))
    }

    #[test]
    fn a_chosen_value_on_a_quorum_passes_and_fails_below_it() {
        let mut checker = DurabilityChecker::new(2);
        checker.on_chosen(3, &Command::Noop, nodes(&[0, 1]));
        assert!(checker.check(place(), 0).is_ok());
        assert!(checker.on_copy(3, 1, false), "a copy lost");
        let violation = checker.check(place(), 0).expect_err("one copy left");
        assert_eq!(violation.invariant, Invariant::ChosenValueDurable);
        assert_eq!(violation.slot, Some(3));
        assert!(violation.message.contains("keeps 1 intact copies"));
        assert!(!checker.on_copy(3, 2, true), "a copy gained is no loss");
        assert!(checker.check(place(), 0).is_ok(), "back to a quorum");
    }

    #[test]
    fn a_live_replica_that_applied_the_slot_holds_it() {
        let mut checker = DurabilityChecker::new(2);
        checker.on_chosen(3, &Command::Noop, nodes(&[0]));
        assert!(checker.check(place(), 4).is_ok(), "applied up to slot 3");
        assert!(checker.check(place(), 3).is_err(), "slot 3 not applied");
    }

    #[test]
    fn copies_count_nodes_and_unchosen_slots_are_ignored() {
        let mut checker = DurabilityChecker::new(2);
        assert!(!checker.on_copy(5, 0, false), "slot 5 not chosen");
        assert!(checker.value(5).is_none());
        checker.on_chosen(5, &Command::Noop, nodes(&[0, 1, 2]));
        assert!(!checker.on_copy(5, 0, true), "already a holder");
        assert!(checker.on_copy(5, 0, false));
        assert!(checker.check(place(), 0).is_ok(), "two copies left");
        assert!(checker.on_copy(5, 1, false));
        assert!(checker.check(place(), 0).is_err());
        // The lowest weak slot at or above the applied prefix is named.
        checker.on_chosen(7, &Command::Noop, 0);
        assert_eq!(checker.check(place(), 6).expect_err("7").slot, Some(7));
    }
}
