//! Feeding a node's outputs to the safety checker: the one function the
//! simulator (`node_io`) and the explorer (`explore`) both call for every
//! output they carry out, so that both run literally the same checks.
//!
//! The checker looks at a `Prepare`, `Promise` or `Accepted` as it is sent
//! (the ghost records acceptances as they leave acceptors), at a `Chosen`
//! write as it is persisted (what the node learned), and at every `Applied`
//! slot. Crashes and restarts are not outputs: the caller calls
//! `on_crash` and `on_restart` itself.

use paxos::{DurableWrite, Message, NodeId, Output};

use super::{Place, SafetyChecker};
use crate::report::Violation;

impl SafetyChecker {
    /// Whether [`SafetyChecker::observe`] looks at `output` at all. A caller
    /// that shares the checker between states copies it only for these.
    pub fn watches(output: &Output) -> bool {
        match output {
            Output::Send { message, .. } => matches!(
                message,
                Message::Prepare { .. } | Message::Promise { .. } | Message::Accepted { .. }
            ),
            Output::Persist(write) => matches!(write, DurableWrite::Chosen { .. }),
            Output::Applied { .. } => true,
            Output::SetTimer { .. } | Output::Reply { .. } | Output::Probe(_) => false,
        }
    }

    /// Node `node` emitted `output`, about to be carried out. Returns
    /// whether it was an acceptance that chose a value (by the ghost's count).
    pub fn observe(
        &mut self,
        place: Place,
        node: NodeId,
        output: &Output,
    ) -> Result<bool, Box<Violation>> {
        if !SafetyChecker::watches(output) {
            return Ok(false);
        }
        match output {
            Output::Send { message, .. } => match message {
                Message::Prepare { ballot, .. } => self.on_prepare(place, node, *ballot)?,
                Message::Promise { ballot, .. } => self.on_promise(place, node, *ballot)?,
                Message::Accepted {
                    ballot,
                    slot,
                    command,
                } => return self.on_accepted(place, node, *ballot, *slot, command),
                _ => unreachable!("watches() admits only the messages above"),
            },
            Output::Persist(DurableWrite::Chosen { slot, command }) => {
                self.on_learned(place, node, *slot, command)?
            }
            Output::Applied {
                slot,
                command,
                result,
            } => self.on_applied(place, node, *slot, command, result.as_ref())?,
            _ => unreachable!("watches() admits only the outputs above"),
        }
        Ok(false)
    }
}
