//! A node's whole state, durable and volatile, fed to a caller's hasher
//! (see `crate::fingerprint` for the rules).
//!
//! Every field is named in a destructuring `let`, so a field added to
//! `Node` or `Volatile` does not compile until it is fingerprinted here.
//! The configuration is left out: every node of a cluster shares it, and a
//! caller that compares states of different clusters must hash it itself.

use std::hash::Hasher;

use crate::fingerprint::Fingerprint;

use super::{Node, Phase1, Phase2, Role, Tally, Volatile};

impl Fingerprint for Node {
    fn fingerprint<H: Hasher>(&self, state: &mut H) {
        let Node {
            config: _,
            id,
            durable,
            volatile,
        } = self;
        state.write_u8(*id);
        durable.fingerprint(state);
        volatile.fingerprint(state);
    }
}

impl Fingerprint for Volatile {
    fn fingerprint<H: Hasher>(&self, state: &mut H) {
        let Volatile {
            kv,
            applied_upto,
            role,
            leader_hint,
            round,
            tallies,
            queue,
            owed,
            catchup_peer_next,
            backing_off,
            campaigns_failed,
            gap_seen_at,
            recovery,
        } = self;
        kv.fingerprint(state);
        state.write_u64(*applied_upto);
        role.fingerprint(state);
        state.write_u16(leader_hint.map_or(u16::MAX, u16::from));
        state.write_u64(*round);
        state.write_usize(tallies.len());
        for (slot, tally) in tallies {
            state.write_u64(*slot);
            tally.fingerprint(state);
        }
        state.write_usize(queue.len());
        for request in queue {
            request.fingerprint(state);
        }
        state.write_usize(owed.len());
        for (client, seq) in owed {
            state.write_u32(*client);
            state.write_u64(*seq);
        }
        state.write_u8(*catchup_peer_next);
        state.write_u8(u8::from(*backing_off));
        state.write_u32(*campaigns_failed);
        state.write_u64(gap_seen_at.map_or(u64::MAX, |slot| slot));
        match recovery {
            None => state.write_u8(0),
            Some(recovery) => {
                state.write_u8(1);
                recovery.fingerprint(state);
            }
        }
    }
}

impl Fingerprint for Role {
    fn fingerprint<H: Hasher>(&self, state: &mut H) {
        match self {
            Role::Follower => state.write_u8(0),
            Role::Candidate(Phase1 {
                ballot,
                from_slot,
                promised_by,
                promise_count,
                reports,
            }) => {
                state.write_u8(1);
                ballot.fingerprint(state);
                state.write_u64(*from_slot);
                promised_by.fingerprint(state);
                state.write_usize(*promise_count);
                state.write_usize(reports.len());
                for (slot, (reported, command)) in reports {
                    state.write_u64(*slot);
                    reported.fingerprint(state);
                    command.fingerprint(state);
                }
            }
            Role::Leader(Phase2 {
                ballot,
                slot_next,
                proposals,
                unheard_retransmits,
            }) => {
                state.write_u8(2);
                ballot.fingerprint(state);
                state.write_u64(*slot_next);
                state.write_u32(*unheard_retransmits);
                state.write_usize(proposals.len());
                for (slot, command) in proposals {
                    state.write_u64(*slot);
                    command.fingerprint(state);
                }
            }
        }
    }
}

impl Fingerprint for Tally {
    fn fingerprint<H: Hasher>(&self, state: &mut H) {
        let Tally {
            ballot,
            command,
            voters,
            vote_count,
        } = self;
        ballot.fingerprint(state);
        command.fingerprint(state);
        voters.fingerprint(state);
        state.write_usize(*vote_count);
    }
}
