//! How a node emits its effects: durable writes, messages to peers, timers.
//!
//! Rules it enforces: durable state changes only here, one `DurableWrite` at
//! a time, applied to the node's own copy with `Durable::apply` (which
//! asserts the durable invariants) and handed to the caller as
//! `Output::Persist` ahead of the sends it guards; every message goes out as
//! an `Output::Send` (a node sends to itself like to any peer); every timer
//! is a relative delay plus a jitter bound for the caller to draw, and the
//! election timer doubles with each failed campaign.

use crate::config::Mode;
use crate::durable::DurableWrite;
use crate::message::{Message, Output, Timer};
use crate::types::NodeId;

use super::Node;

impl Node {
    /// Change durable state: apply `write` to this node's own copy and ask
    /// the caller to make it durable. Outputs pushed after it (the sends it
    /// guards) are carried out only once it is on disk.
    pub(super) fn persist(&mut self, write: DurableWrite, out: &mut Vec<Output>) {
        self.durable.apply(&write);
        out.push(Output::Persist(write));
    }

    /// Only for the flaws that skip a write: the node believes the change,
    /// but the caller never hears of it, so a restart forgets it.
    pub(super) fn persist_skipped(&mut self, write: DurableWrite) {
        self.durable.apply(&write);
    }

    pub(super) fn send(&self, to: NodeId, message: Message, out: &mut Vec<Output>) {
        out.push(Output::Send { to, message });
    }

    pub(super) fn broadcast_all(&self, message: Message, out: &mut Vec<Output>) {
        for to in 0..self.config.nodes {
            self.send(to, message.clone(), out);
        }
    }

    pub(super) fn broadcast_others(&self, message: Message, out: &mut Vec<Output>) {
        for to in 0..self.config.nodes {
            if to != self.id {
                self.send(to, message.clone(), out);
            }
        }
    }

    pub(super) fn set_timer(&self, timer: Timer, out: &mut Vec<Output>) {
        let timing = &self.config.timing;
        let (delay_us, jitter_us) = match timer {
            Timer::Election => match self.config.mode {
                Mode::StableLeader => (timing.election_timeout_us, timing.election_jitter_us),
                Mode::Leaderless => (timing.retransmit_interval_us, timing.election_jitter_us),
            },
            Timer::Heartbeat => (timing.heartbeat_interval_us, 0),
            Timer::Retransmit => (timing.retransmit_interval_us, 0),
            Timer::Catchup => (timing.catchup_interval_us, timing.catchup_interval_us / 4),
        };
        let (delay_us, jitter_us) = if timer == Timer::Election {
            let factor = 1u64 << self.volatile.campaigns_failed;
            (delay_us * factor, jitter_us * factor)
        } else {
            (delay_us, jitter_us)
        };
        out.push(Output::SetTimer {
            timer,
            delay_us,
            jitter_us,
        });
    }
}
