//! The acceptor's rules, one message at a time.

mod common;

use common::*;
use paxos::{DurableWrite, Message, Mode, Output, Probe};

const ACCEPTOR: u8 = 1;

fn acceptor() -> Solo {
    Solo::new(config(3, Mode::StableLeader), ACCEPTOR)
}

fn accept(ballot: paxos::Ballot, slot: u64, number: i64) -> Message {
    Message::Accept {
        ballot,
        slot,
        command: command(&put(9, number as u64, "k", number)),
    }
}

#[test]
fn prepare_above_promise_persists_then_promises_entries_from_slot() {
    let mut solo = acceptor();
    solo.feed(0, accept(ballot(1, 0), 0, 10));
    solo.feed(0, accept(ballot(1, 0), 2, 12));
    solo.feed(0, accept(ballot(1, 0), 5, 15));

    let b = ballot(2, 2);
    let out = solo.feed(
        2,
        Message::Prepare {
            ballot: b,
            from_slot: 2,
        },
    );

    let persist_at = position(&out, |o| is_persist_promised(o, b)).expect("promise persisted");
    let promise_at = position(&out, |o| is_send_kind(o, "Promise")).expect("promise sent");
    assert!(
        persist_at < promise_at,
        "Persist(Promised) must precede the Promise"
    );
    let sent = sends(&out);
    assert_eq!(sent.len(), 1);
    let (
        to,
        Message::Promise {
            ballot: promised,
            accepted,
        },
    ) = &sent[0]
    else {
        panic!("expected a Promise, got {sent:?}");
    };
    assert_eq!(*to, 2);
    assert_eq!(*promised, b);
    let slots: Vec<u64> = accepted.iter().map(|entry| entry.slot).collect();
    assert_eq!(
        slots,
        vec![2, 5],
        "entries at or after from_slot, and only those"
    );
    assert!(accepted.iter().all(|entry| entry.ballot == ballot(1, 0)));
    assert_eq!(request_id(&accepted[0].command), Some((9, 12)));
    assert_eq!(solo.node.promised(), b);
    assert_eq!(solo.durable.promised, b);
}

#[test]
fn prepare_below_promise_is_nacked_with_the_promise() {
    let mut solo = acceptor();
    solo.feed(
        2,
        Message::Prepare {
            ballot: ballot(5, 2),
            from_slot: 0,
        },
    );

    let out = solo.feed(
        0,
        Message::Prepare {
            ballot: ballot(3, 0),
            from_slot: 0,
        },
    );

    assert!(persists(&out).is_empty(), "a refusal writes nothing");
    let sent = sends(&out);
    assert_eq!(sent.len(), 1);
    let (
        to,
        Message::Nack {
            ballot: refused,
            promised,
        },
    ) = &sent[0]
    else {
        panic!("expected a Nack, got {sent:?}");
    };
    assert_eq!(*to, 0);
    assert_eq!(*refused, ballot(3, 0));
    assert_eq!(*promised, ballot(5, 2));
    assert_eq!(solo.node.promised(), ballot(5, 2));
    assert!(probes(&out).contains(&Probe::RejectedLowerBallot));
}

#[test]
fn prepare_with_same_round_lower_node_is_nacked() {
    let mut solo = acceptor();
    solo.feed(
        2,
        Message::Prepare {
            ballot: ballot(4, 2),
            from_slot: 0,
        },
    );
    let out = solo.feed(
        0,
        Message::Prepare {
            ballot: ballot(4, 0),
            from_slot: 0,
        },
    );
    assert!(
        matches!(&sends(&out)[..], [(0, Message::Nack { promised, .. })] if *promised == ballot(4, 2))
    );
}

#[test]
fn prepare_with_zero_ballot_is_nacked() {
    let mut solo = acceptor();
    let out = solo.feed(
        0,
        Message::Prepare {
            ballot: paxos::Ballot::ZERO,
            from_slot: 0,
        },
    );
    assert!(matches!(&sends(&out)[..], [(0, Message::Nack { .. })]));
    assert!(persists(&out).is_empty());
}

/// A proposer re-sends its Prepare when the Promise was lost; the acceptor
/// must answer again (the promise stands) without tripping over itself, and
/// write the promise again first: the first write may not be durable yet,
/// and an answer that left before it would be forgotten by a crash.
#[test]
fn repeated_prepare_for_the_promised_ballot_is_answered_again() {
    let mut solo = acceptor();
    let b = ballot(3, 2);
    solo.feed(
        2,
        Message::Prepare {
            ballot: b,
            from_slot: 0,
        },
    );
    solo.feed(2, accept(b, 0, 1));

    let out = solo.feed(
        2,
        Message::Prepare {
            ballot: b,
            from_slot: 0,
        },
    );

    assert!(
        matches!(&persists(&out)[..], [DurableWrite::Promised(again)] if *again == b),
        "the promise is written again, unchanged"
    );
    assert!(
        matches!(out.first(), Some(Output::Persist(_))),
        "the write comes before the answer it guards"
    );
    let sent = sends(&out);
    let [
        (
            2,
            Message::Promise {
                ballot: promised,
                accepted,
            },
        ),
    ] = &sent[..]
    else {
        panic!("expected a repeated Promise, got {sent:?}");
    };
    assert_eq!(*promised, b);
    assert_eq!(accepted.len(), 1);
    assert_eq!(solo.node.promised(), b);
}

#[test]
fn accept_at_the_promised_ballot_is_accepted_and_persisted_first() {
    let mut solo = acceptor();
    let b = ballot(2, 0);
    solo.feed(
        0,
        Message::Prepare {
            ballot: b,
            from_slot: 0,
        },
    );

    let out = solo.feed(0, accept(b, 3, 7));

    let persist_at =
        position(&out, |o| is_persist_accepted(o, 3, b)).expect("acceptance persisted");
    let sent_at = position(&out, |o| is_send_kind(o, "Accepted")).expect("Accepted sent");
    assert!(
        persist_at < sent_at,
        "Persist(Accepted) must precede the Accepted"
    );
    assert!(
        !out.iter()
            .any(|o| matches!(o, Output::Persist(DurableWrite::Promised(_)))),
        "an equal ballot does not rewrite the promise"
    );
    let sent = sends(&out);
    let [
        (
            0,
            Message::Accepted {
                ballot: accepted_at,
                slot: 3,
                command,
            },
        ),
    ] = &sent[..]
    else {
        panic!("expected Accepted to the proposer, got {sent:?}");
    };
    assert_eq!(*accepted_at, b);
    assert_eq!(request_id(command), Some((9, 7)));
    let (durable_ballot, durable_command) = &solo.durable.accepted[&3];
    assert_eq!(*durable_ballot, b);
    assert_eq!(request_id(durable_command), Some((9, 7)));
}

#[test]
fn accept_below_the_promise_is_nacked_and_not_recorded() {
    let mut solo = acceptor();
    solo.feed(
        2,
        Message::Prepare {
            ballot: ballot(4, 2),
            from_slot: 0,
        },
    );

    let out = solo.feed(0, accept(ballot(3, 0), 0, 1));

    assert!(persists(&out).is_empty());
    let sent = sends(&out);
    let [
        (
            0,
            Message::Nack {
                ballot: refused,
                promised,
            },
        ),
    ] = &sent[..]
    else {
        panic!("expected a Nack, got {sent:?}");
    };
    assert_eq!(*refused, ballot(3, 0));
    assert_eq!(*promised, ballot(4, 2));
    assert!(solo.durable.accepted.is_empty());
    assert!(solo.node.durable().accepted.is_empty());
}

#[test]
fn accept_above_the_promise_raises_it_durably() {
    let mut solo = acceptor();
    solo.feed(
        0,
        Message::Prepare {
            ballot: ballot(1, 0),
            from_slot: 0,
        },
    );
    let b = ballot(6, 2);

    let out = solo.feed(2, accept(b, 0, 1));

    let promise_at = position(&out, |o| is_persist_promised(o, b)).expect("promise raised durably");
    let sent_at = position(&out, |o| is_send_kind(o, "Accepted")).expect("Accepted sent");
    assert!(promise_at < sent_at);
    assert_eq!(solo.node.promised(), b);
    assert_eq!(solo.durable.promised, b);

    // The raised promise binds: a Prepare between the two ballots is refused.
    let out = solo.feed(
        0,
        Message::Prepare {
            ballot: ballot(5, 0),
            from_slot: 0,
        },
    );
    assert!(matches!(&sends(&out)[..], [(0, Message::Nack { promised, .. })] if *promised == b));
}

#[test]
fn a_later_accept_in_a_slot_replaces_the_earlier_one() {
    let mut solo = acceptor();
    solo.feed(0, accept(ballot(1, 0), 0, 1));
    solo.feed(2, accept(ballot(2, 2), 0, 2));
    let out = solo.feed(
        0,
        Message::Prepare {
            ballot: ballot(3, 0),
            from_slot: 0,
        },
    );
    let sent = sends(&out);
    let [(_, Message::Promise { accepted, .. })] = &sent[..] else {
        panic!("expected a Promise, got {sent:?}");
    };
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0].ballot, ballot(2, 2));
    assert_eq!(request_id(&accepted[0].command), Some((9, 2)));
}

#[test]
fn promise_and_acceptances_survive_a_restart() {
    let mut solo = acceptor();
    let b = ballot(4, 2);
    solo.feed(
        2,
        Message::Prepare {
            ballot: b,
            from_slot: 0,
        },
    );
    solo.feed(2, accept(b, 1, 11));

    let mut solo = solo.restart();

    assert_eq!(solo.node.promised(), b);
    let out = solo.feed(0, accept(ballot(3, 0), 1, 99));
    assert!(matches!(&sends(&out)[..], [(0, Message::Nack { .. })]));
    let out = solo.feed(
        0,
        Message::Prepare {
            ballot: ballot(5, 0),
            from_slot: 0,
        },
    );
    let sent = sends(&out);
    let [(_, Message::Promise { accepted, .. })] = &sent[..] else {
        panic!("expected a Promise, got {sent:?}");
    };
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0].slot, 1);
    assert_eq!(accepted[0].ballot, b);
    assert_eq!(request_id(&accepted[0].command), Some((9, 11)));
}
