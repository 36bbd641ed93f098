//! Faults that wait for a protocol moment rather than a time: `OnSend` and
//! `OnAccept` triggers, and the per-node send counts they are matched
//! against.
//!
//! Each trigger fires at most once, right after the send that matches it;
//! the driver schedules its action at the current time. The heal phase
//! disarms every trigger that has not fired.

use paxos::{Message, NodeId};

use crate::faults::{self, FaultAction, ScheduledFault, Trigger};

pub(crate) struct Triggers {
    /// Each trigger, its index among the explicit faults (`None`: the
    /// random plan's), and whether it has fired (it stays in the list).
    armed: Vec<(ScheduledFault, Option<usize>, bool)>,
    /// Per node, sends per message kind (indexed as `MESSAGE_KINDS`).
    sent_by_kind: Vec<[u32; faults::MESSAGE_KINDS.len()]>,
}

impl Triggers {
    pub(crate) fn new(nodes: u8) -> Triggers {
        Triggers {
            armed: Vec::new(),
            sent_by_kind: vec![[0; faults::MESSAGE_KINDS.len()]; usize::from(nodes)],
        }
    }

    /// Arm one more trigger. Faults at a time go to the queue instead.
    pub(crate) fn arm(&mut self, fault: ScheduledFault, explicit: Option<usize>) {
        assert!(
            !matches!(fault.trigger, Trigger::At { .. }),
            "a fault at a time is scheduled, not armed"
        );
        self.armed.push((fault, explicit, false));
    }

    /// Disarm every trigger: no fault strikes in the heal phase.
    pub(crate) fn disarm(&mut self) {
        self.armed.clear();
    }

    /// Count `from`'s send of `message`, and return the actions of the
    /// triggers it fires (with their explicit index), in the order they
    /// were armed.
    ///
    /// Sends are counted only while the list is not empty, fired triggers
    /// included: from the end of the boot, when the triggers are armed,
    /// until the heal. A node's boot outputs do not count towards the `nth`
    /// of an `OnSend` trigger.
    pub(crate) fn on_send(
        &mut self,
        from: NodeId,
        message: &Message,
    ) -> Vec<(FaultAction, Option<usize>)> {
        if self.armed.is_empty() {
            return Vec::new();
        }
        let kind = message.kind();
        let kind_index = faults::MESSAGE_KINDS
            .iter()
            .position(|known| *known == kind)
            .expect("every message kind is listed");
        let count = {
            let sent = &mut self.sent_by_kind[usize::from(from)][kind_index];
            *sent += 1;
            *sent
        };
        let accepted_slot = match message {
            Message::Accepted { slot, .. } => Some(*slot),
            _ => None,
        };
        let mut fire = Vec::new();
        for (fault, explicit, fired) in &mut self.armed {
            if *fired {
                continue;
            }
            let hit = match &fault.trigger {
                Trigger::OnSend { node, message, nth } => {
                    *node == from && message == kind && *nth == count
                }
                Trigger::OnAccept { node, slot } => *node == from && accepted_slot == Some(*slot),
                Trigger::At { .. } => false,
            };
            if hit {
                *fired = true;
                fire.push((fault.action.clone(), *explicit));
            }
        }
        fire
    }
}

#[cfg(test)]
mod tests {
    use paxos::{Ballot, Command};

    use super::*;

    fn prepare(round: u64) -> Message {
        Message::Prepare {
            ballot: Ballot { round, node: 0 },
            from_slot: 0,
        }
    }

    fn accepted(slot: u64) -> Message {
        Message::Accepted {
            ballot: Ballot { round: 1, node: 0 },
            slot,
            command: Command::Noop,
        }
    }

    fn crash(node: NodeId) -> FaultAction {
        FaultAction::Crash {
            node,
            down_us: None,
        }
    }

    #[test]
    fn on_send_fires_once_at_the_nth_send_of_that_kind_by_that_node() {
        let mut triggers = Triggers::new(3);
        triggers.arm(
            ScheduledFault {
                trigger: Trigger::OnSend {
                    node: 1,
                    message: "Prepare".into(),
                    nth: 2,
                },
                action: crash(1),
                optional: false,
            },
            None,
        );
        assert!(triggers.on_send(0, &prepare(1)).is_empty(), "another node");
        assert!(triggers.on_send(1, &accepted(0)).is_empty(), "another kind");
        assert!(triggers.on_send(1, &prepare(1)).is_empty(), "the first");
        assert_eq!(triggers.on_send(1, &prepare(2)), vec![(crash(1), None)]);
        assert!(triggers.on_send(1, &prepare(3)).is_empty(), "fired once");
    }

    #[test]
    fn on_accept_fires_for_its_slot_only() {
        let mut triggers = Triggers::new(3);
        triggers.arm(
            ScheduledFault {
                trigger: Trigger::OnAccept { node: 2, slot: 5 },
                action: crash(0),
                optional: false,
            },
            None,
        );
        triggers.arm(
            ScheduledFault {
                trigger: Trigger::OnAccept { node: 2, slot: 5 },
                action: crash(1),
                optional: false,
            },
            None,
        );
        assert!(triggers.on_send(2, &accepted(4)).is_empty());
        assert!(triggers.on_send(1, &accepted(5)).is_empty());
        assert_eq!(
            triggers.on_send(2, &accepted(5)),
            vec![(crash(0), None), (crash(1), None)],
            "both, in the order armed"
        );
    }

    #[test]
    fn sends_count_only_while_armed() {
        let mut triggers = Triggers::new(2);
        assert!(triggers.on_send(0, &prepare(1)).is_empty());
        triggers.arm(
            ScheduledFault {
                trigger: Trigger::OnSend {
                    node: 0,
                    message: "Prepare".into(),
                    nth: 1,
                },
                action: crash(0),
                optional: false,
            },
            None,
        );
        assert_eq!(
            triggers.on_send(0, &prepare(2)),
            vec![(crash(0), None)],
            "the send before arming did not count"
        );
        triggers.disarm();
        assert!(triggers.on_send(0, &prepare(3)).is_empty());
    }
}
