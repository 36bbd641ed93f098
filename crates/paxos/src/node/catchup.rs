//! Following a leader and catching up: heartbeats, catch-up requests and
//! replies, and (leaderless) restarting phase 1 at a gap nobody fills.
//!
//! Rules it enforces: a heartbeat below the promise is refused; a heartbeat
//! from a higher ballot makes a proposer step down and names the new leader;
//! each catch-up tick asks the next peer in turn for the chosen entries from
//! the first unapplied slot, and a heartbeat or `Decide` that shows the node
//! behind asks its sender at once; a reply carries at most
//! `CATCHUP_ENTRIES_MAX` contiguous chosen entries.

use crate::config::Mode;
use crate::message::{Message, Output, Timer};
use crate::types::{Ballot, NodeId, Slot};

use super::{CATCHUP_ENTRIES_MAX, Node, Role};

impl Node {
    pub(super) fn on_heartbeat(
        &mut self,
        from: NodeId,
        ballot: Ballot,
        applied_upto: Slot,
        out: &mut Vec<Output>,
    ) {
        self.observe_round(ballot);
        if ballot < self.durable.promised {
            let promised = self.durable.promised;
            self.send(from, Message::Nack { ballot, promised }, out);
            return;
        }
        if self.ballot().is_some_and(|own| own < ballot) {
            // Name the new leader first, so the clients that `step_down`
            // redirects are sent to it rather than told "unknown".
            self.volatile.leader_hint = Some(from);
            self.step_down(out);
        }
        if self.is_leader() {
            return;
        }
        self.volatile.leader_hint = Some(from);
        self.volatile.campaigns_failed = 0;
        // Flaw heartbeat-keeps-no-timer: the election timer is armed once
        // and never pushed back by the leader's heartbeats.
        if !flaw!(self.config, HeartbeatKeepsNoTimer) {
            self.set_timer(Timer::Election, out);
        }
        if applied_upto > self.volatile.applied_upto {
            self.request_catchup(from, out);
        }
    }

    /// Leaderless: a slot below a chosen one that stays empty for a whole
    /// catch-up interval was never chosen (its proposer gave it up), and no
    /// client request will make anyone run phase 1 again. Run phase 1 from
    /// it: the value rule completes it or a no-op fills it. (A stable leader
    /// fills gaps whenever it is elected.)
    pub(super) fn fill_stuck_gap(&mut self, out: &mut Vec<Output>) {
        if self.config.mode != Mode::Leaderless {
            return;
        }
        let applied_upto = self.volatile.applied_upto;
        let gap = self.durable.chosen.range(applied_upto..).next().is_some();
        let seen_before = self.volatile.gap_seen_at == Some(applied_upto);
        self.volatile.gap_seen_at = gap.then_some(applied_upto);
        let idle = matches!(self.volatile.role, Role::Follower) && !self.volatile.backing_off;
        if gap && seen_before && idle {
            self.start_phase1(out);
        }
    }

    pub(super) fn request_catchup(&mut self, peer: NodeId, out: &mut Vec<Output>) {
        let from_slot = self.volatile.applied_upto;
        self.send(peer, Message::CatchupRequest { from_slot }, out);
    }

    pub(super) fn on_catchup_request(
        &mut self,
        from: NodeId,
        from_slot: Slot,
        out: &mut Vec<Output>,
    ) {
        let mut entries = Vec::new();
        let mut slot = from_slot;
        while let Some(command) = self.durable.chosen.get(&slot) {
            if entries.len() == CATCHUP_ENTRIES_MAX {
                break;
            }
            entries.push((slot, command.clone()));
            slot += 1;
        }
        if !entries.is_empty() {
            self.send(from, Message::CatchupReply { entries }, out);
        }
    }

    /// Ask the next peer in turn for chosen entries, and check for a gap
    /// nobody fills.
    pub(super) fn on_catchup_timer(&mut self, out: &mut Vec<Output>) {
        let peer = self.volatile.catchup_peer_next;
        self.volatile.catchup_peer_next = (peer + 1) % self.config.nodes;
        if peer != self.id {
            self.request_catchup(peer, out);
        }
        self.fill_stuck_gap(out);
        self.set_timer(Timer::Catchup, out);
    }
}
