//! The ghost state fed to a caller's hasher, for the explorer: two states
//! of a run that differ only in what the checker remembers (an acceptance
//! by a node that has since crashed and forgotten it) must not be merged.
//!
//! Every field is named in a destructuring `let`, so a field added to the
//! checker does not compile until it is fingerprinted here. Slots the ghost
//! has only looked up (empty records) are skipped: they remember nothing.

use std::hash::Hasher;

use paxos::fingerprint::str_fingerprint;
use paxos::{Fingerprint, NodeId};

use super::{BallotVotes, ReplicaGhost, SafetyChecker, SlotGhost, ValueId};

impl SafetyChecker {
    pub fn fingerprint<H: Hasher>(&self, state: &mut H) {
        let SafetyChecker {
            quorum_phase2,
            slots,
            promised_max,
            prepared_max,
            replicas,
            key_versions,
            slots_chosen,
        } = self;
        state.write_usize(*quorum_phase2);
        let nodes = NodeId::try_from(promised_max.len()).expect("at most 255 nodes");
        for (slot, ghost) in slots.iter().enumerate() {
            let SlotGhost { ballots, chosen } = ghost;
            if ballots.is_empty() && chosen.is_none() {
                continue;
            }
            state.write_usize(slot);
            // In ballot order, not arrival order: the ghost judges a slot's
            // ballots alike whichever acceptance came first, so two orders
            // of independent deliveries reach one fingerprint.
            state.write_usize(ballots.len());
            if ballots.is_sorted_by_key(|votes| votes.ballot) {
                for votes in ballots {
                    votes_fingerprint(votes, nodes, state);
                }
            } else {
                let mut sorted: Vec<&BallotVotes> = ballots.iter().collect();
                sorted.sort_unstable_by_key(|votes| votes.ballot);
                for votes in sorted {
                    votes_fingerprint(votes, nodes, state);
                }
            }
            // What was chosen, not which acceptances made it so: every
            // check compares the chosen value only, and the acceptors are
            // in `ballots` anyway. Two orders of the same acceptances then
            // meet in one state.
            match chosen {
                Some(votes) => {
                    state.write_u8(1);
                    votes.ballot.fingerprint(state);
                    value_fingerprint(votes.value, state);
                }
                None => state.write_u8(0),
            }
        }
        state.write_usize(usize::MAX);
        for ballot in promised_max {
            ballot.fingerprint(state);
        }
        for (ballot, restarted) in prepared_max {
            ballot.fingerprint(state);
            state.write_u8(u8::from(*restarted));
        }
        for ReplicaGhost {
            applied_next,
            versions,
        } in replicas
        {
            state.write_u64(*applied_next);
            state.write_usize(versions.len());
            for (key, version) in versions {
                str_fingerprint(key, state);
                state.write_u64(*version);
            }
        }
        state.write_usize(key_versions.len());
        for (key, commands) in key_versions {
            str_fingerprint(key, state);
            state.write_usize(commands.len());
            for command in commands {
                command.fingerprint(state);
            }
        }
        state.write_u64(*slots_chosen);
    }
}

fn votes_fingerprint<H: Hasher>(votes: &BallotVotes, nodes: NodeId, state: &mut H) {
    // `command` is kept only to describe the value in a report; every
    // check compares `value`, so two ghosts differing only there judge
    // alike.
    let BallotVotes {
        ballot,
        value,
        command: _,
        acceptors,
    } = votes;
    ballot.fingerprint(state);
    value_fingerprint(*value, state);
    // As one word of bits over the cluster's nodes (`Acceptors::iter`
    // scans all 64 possible ids, a tenth of the explorer's hashing).
    let bits = (0..nodes)
        .filter(|&node| acceptors.contains(node))
        .fold(0u64, |bits, node| bits | 1 << node);
    debug_assert_eq!(bits.count_ones() as usize, acceptors.len());
    state.write_u64(bits);
}

fn value_fingerprint<H: Hasher>(value: ValueId, state: &mut H) {
    match value {
        ValueId::Noop => state.write_u8(0),
        ValueId::Request { client, seq } => {
            state.write_u8(1);
            state.write_u32(client);
            state.write_u64(seq);
        }
    }
}
