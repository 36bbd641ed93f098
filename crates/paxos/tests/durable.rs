//! `Durable::apply`, the one way durable state changes: the invariants it
//! asserts at the writing end, and that a node's own copy and its caller's
//! disk, both built by it, agree.

mod common;

use common::*;
use paxos::{Command, Durable, DurableWrite, Mode};

#[test]
fn writes_build_the_durable_state() {
    let mut durable = Durable::default();
    let request = put(1, 1, "k", 1);
    durable.apply(&DurableWrite::RoundMax(3));
    durable.apply(&DurableWrite::Promised(ballot(3, 1)));
    durable.apply(&DurableWrite::Accepted {
        slot: 0,
        ballot: ballot(3, 1),
        command: command(&request),
    });
    durable.apply(&DurableWrite::Chosen {
        slot: 1,
        command: Command::Noop,
    });
    assert_eq!(durable.round_max, 3);
    assert_eq!(durable.promised, ballot(3, 1));
    let (accepted_ballot, accepted) = &durable.accepted[&0];
    assert_eq!(*accepted_ballot, ballot(3, 1));
    assert_eq!(request_id(accepted), Some((1, 1)));
    assert_eq!(durable.chosen.len(), 1);
    assert!(is_noop(&durable.chosen[&1]));
}

#[test]
#[should_panic(expected = "durable promise 2.0 lowers 2.1")]
fn a_promise_never_falls() {
    let mut durable = Durable::default();
    durable.apply(&DurableWrite::Promised(ballot(2, 1)));
    durable.apply(&DurableWrite::Promised(ballot(2, 0)));
}

/// A node answers a re-sent `Prepare` by writing its promise again,
/// unchanged, so that the answer waits for the disk; lowering it is a bug.
#[test]
#[should_panic(expected = "durable promise 2.0 lowers 2.1")]
fn a_promise_write_never_lowers_the_promise() {
    let mut durable = Durable::default();
    durable.apply(&DurableWrite::Promised(ballot(2, 1)));
    // Written again unchanged, for a repeated answer: allowed.
    durable.apply(&DurableWrite::Promised(ballot(2, 1)));
    durable.apply(&DurableWrite::Promised(ballot(2, 0)));
}

#[test]
#[should_panic(expected = "durable round 3 lowers 4")]
fn a_round_never_falls() {
    let mut durable = Durable::default();
    durable.apply(&DurableWrite::RoundMax(4));
    // Written again unchanged, for a resent Prepare: allowed.
    durable.apply(&DurableWrite::RoundMax(4));
    durable.apply(&DurableWrite::RoundMax(3));
}

#[test]
#[should_panic(expected = "slot 7 chosen a second time")]
fn a_slot_is_chosen_once() {
    let mut durable = Durable::default();
    let chosen = DurableWrite::Chosen {
        slot: 7,
        command: Command::Noop,
    };
    durable.apply(&chosen);
    durable.apply(&chosen);
}

/// The node changes its durable state only through the writes it hands its
/// caller, so after elections, commands, a crash and a recovery every live
/// node's own copy equals what its caller persisted.
#[test]
fn the_node_copy_and_the_disk_agree() {
    for mode in Mode::ALL {
        let mut cluster = Cluster::with_seed(config(3, mode), 11);
        if mode == Mode::StableLeader {
            cluster.elect(0);
        }
        for client in 1..=4u32 {
            // Leaderless: every node proposes; stable leader: node 0 leads.
            let to = match mode {
                Mode::StableLeader => 0,
                Mode::Leaderless => (client % 3) as u8,
            };
            cluster.client(to, put(client, 1, "k", client as i64));
        }
        let first: Vec<(u32, u64)> = (1..=4).map(|client| (client, 1)).collect();
        assert!(
            cluster.run_until(2_000_000, |c| c.all_done(&first)),
            "{mode:?}: the first requests complete"
        );
        cluster.crash(1);
        cluster.recover(1);
        // A follower would redirect the client: send it to the leader.
        let to = (0..3u8)
            .find(|&id| mode == Mode::Leaderless || cluster.node(id).is_leader())
            .expect("a stable leader");
        cluster.client(to, put(9, 1, "k", 9));
        assert!(
            cluster.run_until(cluster.now_us + 2_000_000, |c| c.all_done(&[(9, 1)])),
            "{mode:?}: the last request completes"
        );
        // Five requests were applied somewhere; let every node catch up.
        let caught_up = |c: &Cluster| (0..3).all(|id| c.node(id).applied_upto() >= 5);
        assert!(
            cluster.run_until(cluster.now_us + 2_000_000, caught_up),
            "{mode:?}: every node catches up"
        );
        for id in 0..3u8 {
            let node = format!("{:?}", cluster.node(id).durable());
            let disk = format!("{:?}", cluster.durables[id as usize]);
            assert_eq!(node, disk, "{mode:?}: node {id}");
        }
    }
}
