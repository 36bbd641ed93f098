//! Learning: when a value counts as chosen, how the decision spreads, and
//! how a lagging replica catches up.

mod common;

use common::*;
use paxos::{AcceptedEntry, Command, DurableWrite, Message, Mode, OpResult, Output, Timer};

fn has_persist_chosen(out: &[Output]) -> bool {
    out.iter()
        .any(|o| matches!(o, Output::Persist(DurableWrite::Chosen { .. })))
}

/// Node 0 of 5 leads (stable mode) with `Ballot(1, 0)`.
fn leader_of_five() -> Solo {
    let mut solo = Solo::new(config(5, Mode::StableLeader), 0);
    solo.timer(Timer::Election);
    let own = solo.node.ballot().unwrap();
    for from in 0..3 {
        solo.feed(
            from,
            Message::Promise {
                ballot: own,
                accepted: Vec::<AcceptedEntry>::new(),
            },
        );
    }
    assert!(solo.node.is_leader());
    solo
}

fn accepted(round: u64, node: u8, slot: u64, command: &Command) -> Message {
    Message::Accepted {
        ballot: ballot(round, node),
        slot,
        command: command.clone(),
    }
}

#[test]
fn chosen_needs_a_phase2_quorum_of_distinct_acceptors() {
    let mut solo = leader_of_five();
    let request = put(1, 1, "k", 5);
    let out = solo.client(request.clone());
    assert_eq!(accepts(&out).len(), 5);
    let proposed = command(&request);

    for (from, expect_chosen) in [(1, false), (1, false), (2, false), (2, false), (0, true)] {
        let out = solo.feed(from, accepted(1, 0, 0, &proposed));
        let decides: Vec<u8> = sends(&out)
            .iter()
            .filter(|(_, message)| matches!(message, Message::Decide { .. }))
            .map(|(to, _)| *to)
            .collect();
        if !expect_chosen {
            assert!(
                !has_persist_chosen(&out),
                "chosen too early, at a vote from {from}"
            );
            assert!(decides.is_empty());
            continue;
        }
        let persist_at = position(&out, |o| {
            matches!(o, Output::Persist(DurableWrite::Chosen { slot: 0, .. }))
        })
        .expect("decision persisted");
        let decide_at = position(&out, |o| is_send_kind(o, "Decide")).expect("decision broadcast");
        assert!(
            persist_at < decide_at,
            "Persist(Chosen) must precede Decide"
        );
        assert_eq!(decides, vec![1, 2, 3, 4], "Decide to every other node");
        assert_eq!(
            replies(&out),
            vec![(1, 1, paxos::Reply::Done(OpResult::Put { version: 1 }))]
        );
    }
    assert_eq!(request_id(&solo.durable.chosen[&0]), Some((1, 1)));
    assert_eq!(solo.node.applied_upto(), 1);

    // Later votes for a decided slot change nothing.
    let out = solo.feed(3, accepted(1, 0, 0, &proposed));
    assert!(out.is_empty(), "late vote produced {out:?}");
}

#[test]
fn accepted_messages_of_different_ballots_do_not_combine() {
    let mut solo = Solo::new(config(5, Mode::StableLeader), 3);
    let old = command(&put(1, 1, "k", 1));
    let new = command(&put(2, 1, "k", 2));

    // Ballot 1.1 carries `old`, ballot 2.0 carries `new`.
    for (from, round, node, voted) in [
        (1, 1, 1, &old),
        (2, 1, 1, &old),
        (0, 2, 0, &new),
        (4, 2, 0, &new),
    ] {
        let out = solo.feed(from, accepted(round, node, 0, voted));
        assert!(
            !has_persist_chosen(&out),
            "two votes at each ballot are no quorum of 3"
        );
    }
    // A vote for the older ballot, now superseded, still does not combine.
    let out = solo.feed(3, accepted(1, 1, 0, &old));
    assert!(!has_persist_chosen(&out));

    let out = solo.feed(3, accepted(2, 0, 0, &new));
    assert!(
        has_persist_chosen(&out),
        "a third vote at the same ballot chooses"
    );
    assert_eq!(request_id(&solo.durable.chosen[&0]), Some((2, 1)));
}

#[test]
fn a_decide_is_persisted_applied_and_idempotent() {
    let mut solo = Solo::new(config(3, Mode::StableLeader), 1);
    let chosen = command(&put(4, 1, "k", 8));

    let out = solo.feed(
        0,
        Message::Decide {
            slot: 0,
            command: chosen.clone(),
        },
    );

    assert!(has_persist_chosen(&out));
    assert!(
        out.iter()
            .any(|o| matches!(o, Output::Applied { slot: 0, .. }))
    );
    assert_eq!(solo.node.applied_upto(), 1);
    assert_eq!(solo.node.kv().version("k"), 1);
    assert!(
        replies(&out).is_empty(),
        "the follower owes this client nothing"
    );

    let out = solo.feed(
        2,
        Message::Decide {
            slot: 0,
            command: chosen,
        },
    );
    assert!(persists(&out).is_empty());
    assert_eq!(
        solo.node.kv().version("k"),
        1,
        "a second Decide is not applied again"
    );
}

#[test]
fn decides_out_of_order_apply_in_order() {
    let mut solo = Solo::new(config(3, Mode::StableLeader), 1);
    solo.feed(
        0,
        Message::Decide {
            slot: 1,
            command: command(&cas(4, 2, "k", 1, 2)),
        },
    );
    assert_eq!(solo.node.applied_upto(), 0, "slot 0 is not known yet");
    solo.feed(
        0,
        Message::Decide {
            slot: 0,
            command: command(&put(4, 1, "k", 1)),
        },
    );
    assert_eq!(solo.node.applied_upto(), 2);
    let (value, version) = solo.node.kv().get("k").unwrap();
    assert_eq!(
        (value.as_i64(), version),
        (Some(2), 2),
        "the Cas saw the Put first"
    );
}

#[test]
fn a_decide_far_ahead_asks_for_catchup_at_once() {
    let mut solo = Solo::new(config(3, Mode::StableLeader), 1);
    let out = solo.feed(
        2,
        Message::Decide {
            slot: 20,
            command: Command::Noop,
        },
    );
    let sent = sends(&out);
    assert!(
        matches!(&sent[..], [(2, Message::CatchupRequest { from_slot: 0 })]),
        "expected a CatchupRequest to the sender, got {sent:?}"
    );
}

/// Node 2 misses everything while isolated, then catches up from its
/// periodic catch-up timer alone.
#[test]
fn a_lagging_replica_catches_up_by_request() {
    let mut cluster = Cluster::new(config(3, Mode::StableLeader));
    cluster.elect(0);
    cluster.isolate(2);
    for seq in 1..=5 {
        cluster.client(0, put(1, seq, "k", seq as i64));
        cluster.deliver_all();
        assert_eq!(cluster.result(1, seq), OpResult::Put { version: seq });
    }
    assert!(cluster.chosen(2).is_empty());
    cluster.heal(2);

    cluster.timer(2, Timer::Catchup);
    let request_sent = cluster
        .network
        .iter()
        .any(|e| e.from == 2 && matches!(e.message, Message::CatchupRequest { from_slot: 0 }));
    assert!(request_sent);
    cluster.deliver_all();

    assert_eq!(cluster.node(2).applied_upto(), 5);
    assert_eq!(cluster.chosen(2).len(), 5);
    assert_eq!(cluster.node(2).kv().version("k"), 5);
    cluster.assert_agreement();
}

/// A heartbeat that shows the leader ahead makes a follower ask, and more
/// than one reply's worth of entries arrives over several heartbeats.
#[test]
fn a_lagging_replica_catches_up_from_heartbeats() {
    let mut cluster = Cluster::new(config(3, Mode::StableLeader));
    cluster.elect(0);
    cluster.isolate(1);
    let ops: u64 = 100;
    for seq in 1..=ops {
        cluster.client(0, put(1, seq, "k", seq as i64));
        cluster.deliver_all();
    }
    assert_eq!(cluster.node(0).applied_upto(), ops);
    cluster.heal(1);
    for _ in 0..3 {
        cluster.timer(0, Timer::Heartbeat);
        cluster.deliver_all();
    }
    assert_eq!(cluster.node(1).applied_upto(), ops);
    assert_eq!(cluster.node(1).kv().version("k"), ops);
    cluster.assert_agreement();
}

#[test]
fn every_replica_applies_the_same_log() {
    for mode in Mode::ALL {
        let mut cluster = Cluster::new(config(3, mode));
        if mode == Mode::StableLeader {
            cluster.elect(1);
        }
        let entry = |seq: u64| {
            if mode == Mode::StableLeader {
                1
            } else {
                (seq % 3) as u8
            }
        };
        for seq in 1..=9 {
            cluster.client(entry(seq), put(seq as u32, 1, "k", seq as i64));
        }
        let requests: Vec<(u32, u64)> = (1..=9).map(|client| (client, 1)).collect();
        assert!(
            cluster.run_until(10_000_000, |c| c.all_done(&requests)),
            "{mode:?}: some client unanswered"
        );
        // Let stragglers learn too: catch-up timers bring every replica level.
        let applied_all = |c: &Cluster| {
            let log_len = c.durables.iter().map(|d| d.chosen.len()).max().unwrap() as u64;
            (0..3).all(|id| c.node(id).applied_upto() == log_len)
        };
        assert!(
            cluster.run_until(cluster.now_us + 1_000_000, applied_all),
            "{mode:?}"
        );
        cluster.assert_agreement();
        // Compare the client commands only: leaderless proposers may fill
        // gaps with no-ops, and every replica applies the same ones.
        let logs: Vec<Vec<Option<(u32, u64)>>> = (0..3)
            .map(|id| {
                cluster.applied[id]
                    .iter()
                    .map(|(_, c, _)| request_id(c))
                    .collect()
            })
            .collect();
        assert_eq!(logs[0], logs[1], "{mode:?}");
        assert_eq!(logs[0], logs[2], "{mode:?}");
        assert_eq!(cluster.node(0).kv().version("k"), 9, "{mode:?}");
    }
}
