//! `Node::ignores_for_good`: each rule holds where it says (handling the
//! message changes nothing: the same fingerprint, no output), keeps
//! holding as the node moves on, and stays false where a later state could
//! still act on the message.

mod common;

use std::hash::{DefaultHasher, Hasher};

use common::*;
use paxos::{Fingerprint, Message, Mode, Timer};

fn print(solo: &Solo) -> u64 {
    let mut hasher = DefaultHasher::new();
    solo.node.fingerprint(&mut hasher);
    hasher.finish()
}

/// `message` is ignored for good, and handling it changes nothing.
fn assert_ignored(solo: &mut Solo, from: u8, message: Message, retransmits_ahead: bool) {
    assert!(
        solo.node
            .ignores_for_good(from, &message, retransmits_ahead),
        "{message:?} should be ignored for good"
    );
    let before = print(solo);
    let out = solo.feed(from, message);
    assert!(out.is_empty(), "{out:?}");
    assert_eq!(print(solo), before, "handling it changed the node");
}

/// A leader (node 0, ballot 1.0) with slot 0 chosen by nodes 0 and 1.
fn leader_with_slot_0_chosen() -> (Solo, Message) {
    let mut solo = Solo::new(config(3, Mode::StableLeader), 0);
    solo.timer(Timer::Election);
    let own = solo.node.ballot().unwrap();
    for from in 0..3 {
        solo.feed(
            from,
            Message::Promise {
                ballot: own,
                accepted: vec![],
            },
        );
    }
    assert!(solo.node.is_leader());
    let request = put(7, 1, "user_profile:0", 1);
    solo.client(request.clone());
    let accepted = Message::Accepted {
        ballot: own,
        slot: 0,
        command: command(&request),
    };
    assert!(
        !solo.node.ignores_for_good(1, &accepted, false),
        "slot 0 is not chosen yet"
    );
    solo.feed(0, accepted.clone());
    solo.feed(1, accepted.clone());
    assert!(solo.node.durable().chosen.contains_key(&0));
    (solo, accepted)
}

#[test]
fn accepted_and_decide_for_a_chosen_slot_are_ignored_for_good() {
    let (mut solo, accepted) = leader_with_slot_0_chosen();
    // The leader with that ballot would reset its unheard-retransmit count
    // on an acceptance from another node: not for good while a retransmit
    // timer can still raise that count.
    assert!(!solo.node.ignores_for_good(2, &accepted, true));
    assert_ignored(&mut solo, 2, accepted.clone(), false);
    assert_ignored(&mut solo, 0, accepted.clone(), true);
    let Message::Accepted { command, .. } = accepted.clone() else {
        unreachable!()
    };
    let decide = Message::Decide { slot: 0, command };
    assert_ignored(&mut solo, 1, decide.clone(), true);
    // Still so once the node has moved to a later ballot, where the
    // acceptance's ballot is no longer its own.
    solo.timer(Timer::Election);
    solo.feed(
        1,
        Message::Heartbeat {
            ballot: ballot(5, 1),
            applied_upto: 0,
        },
    );
    assert_ignored(&mut solo, 2, accepted, true);
    assert_ignored(&mut solo, 1, decide, true);
}

#[test]
fn promises_and_nacks_for_a_past_ballot_are_ignored_for_good() {
    let mut solo = Solo::new(config(3, Mode::StableLeader), 0);
    solo.timer(Timer::Election);
    let first = solo.node.ballot().unwrap();
    solo.timer(Timer::Election);
    let second = solo.node.ballot().unwrap();
    assert!(second > first);
    let promise = |ballot| Message::Promise {
        ballot,
        accepted: vec![],
    };
    assert!(
        !solo.node.ignores_for_good(1, &promise(second), true),
        "the live campaign"
    );
    assert_ignored(&mut solo, 1, promise(first), true);
    // A Nack for the past ballot whose round the node has seen changes
    // nothing; one naming a higher round raises the node's round.
    assert_ignored(
        &mut solo,
        1,
        Message::Nack {
            ballot: first,
            promised: ballot(first.round, 1),
        },
        true,
    );
    let higher = Message::Nack {
        ballot: first,
        promised: ballot(9, 1),
    };
    assert!(!solo.node.ignores_for_good(1, &higher, true));
    let nack_live = Message::Nack {
        ballot: second,
        promised: ballot(second.round, 2),
    };
    assert!(
        !solo.node.ignores_for_good(1, &nack_live, true),
        "would depose the campaign"
    );
    // After another campaign the first ballot's promise stays ignored.
    solo.timer(Timer::Election);
    assert_ignored(&mut solo, 2, promise(first), true);
}

#[test]
fn prepares_accepts_and_heartbeats_are_never_ignored_for_good() {
    let (solo, accepted) = leader_with_slot_0_chosen();
    let Message::Accepted { command, .. } = accepted else {
        unreachable!()
    };
    // A stale heartbeat can move a follower's leader hint back.
    for message in [
        Message::Heartbeat {
            ballot: ballot(0, 0),
            applied_upto: 0,
        },
        Message::Prepare {
            ballot: ballot(0, 1),
            from_slot: 0,
        },
        Message::Accept {
            ballot: ballot(0, 1),
            slot: 0,
            command,
        },
    ] {
        assert!(
            !solo.node.ignores_for_good(1, &message, false),
            "{message:?}"
        );
    }
}
