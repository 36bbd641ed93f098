//! How a node emits its effects: messages to peers and timers.
//!
//! Rules it enforces: every message goes out as an `Output::Send` (a node
//! sends to itself like to any peer); every timer is a relative delay plus a
//! jitter bound for the caller to draw, and the election timer doubles with
//! each failed campaign.

use crate::config::Mode;
use crate::message::{Message, Output, Timer};
use crate::types::NodeId;

use super::Node;

impl Node {
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
