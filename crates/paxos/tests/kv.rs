//! The replicated state machine: versions, Cas, and deduplication, on its
//! own and through a node.

mod common;

use common::*;
use paxos::kv::Applied;
use paxos::{Kv, Mode, Op, OpResult, Probe, Reply, Timer};

fn op(request: &std::sync::Arc<paxos::Request>) -> Op {
    request.op.clone()
}

#[test]
fn put_returns_versions_from_one_and_get_returns_value_and_version() {
    let mut kv = Kv::default();
    assert_eq!(
        kv.execute(&op(&get(1, 1, "k"))),
        OpResult::Get { found: None }
    );
    assert_eq!(kv.version("k"), 0);

    assert_eq!(
        kv.execute(&op(&put(1, 1, "k", 10))),
        OpResult::Put { version: 1 }
    );
    assert_eq!(
        kv.execute(&op(&put(1, 2, "k", 11))),
        OpResult::Put { version: 2 }
    );
    assert_eq!(
        kv.execute(&op(&put(1, 3, "other", 5))),
        OpResult::Put { version: 1 }
    );

    assert_eq!(
        kv.execute(&op(&get(1, 4, "k"))),
        OpResult::Get {
            found: Some((value(11), 2))
        }
    );
    assert_eq!(kv.get("other"), Some((value(5), 1)));
    assert_eq!(
        kv.execute(&op(&get(1, 5, "missing"))),
        OpResult::Get { found: None }
    );
}

#[test]
fn cas_writes_only_at_the_expected_version() {
    let mut kv = Kv::default();
    // Expected version 0 creates an absent key.
    assert_eq!(
        kv.execute(&op(&cas(1, 1, "k", 0, 1))),
        OpResult::CasOk { version: 1 }
    );
    // A stale expectation conflicts and changes nothing.
    assert_eq!(
        kv.execute(&op(&cas(1, 2, "k", 0, 2))),
        OpResult::CasConflict { current_version: 1 }
    );
    assert_eq!(
        kv.execute(&op(&cas(1, 3, "k", 5, 2))),
        OpResult::CasConflict { current_version: 1 }
    );
    assert_eq!(kv.get("k"), Some((value(1), 1)));
    // The right expectation writes, one version up.
    assert_eq!(
        kv.execute(&op(&cas(1, 4, "k", 1, 3))),
        OpResult::CasOk { version: 2 }
    );
    assert_eq!(kv.get("k"), Some((value(3), 2)));
    // Cas on an absent key with a nonzero expectation conflicts at 0.
    assert_eq!(
        kv.execute(&op(&cas(1, 5, "absent", 1, 3))),
        OpResult::CasConflict { current_version: 0 }
    );
    assert_eq!(kv.get("absent"), None);
}

#[test]
fn every_write_adds_exactly_one_version() {
    let mut kv = Kv::default();
    for expected in 1..=20u64 {
        let result = if expected % 2 == 0 {
            kv.execute(&op(&cas(1, expected, "k", expected - 1, expected as i64)))
        } else {
            kv.execute(&op(&put(1, expected, "k", expected as i64)))
        };
        let version = match result {
            OpResult::Put { version } | OpResult::CasOk { version } => version,
            other => panic!("write failed: {other:?}"),
        };
        assert_eq!(version, expected);
        assert_eq!(kv.version("k"), expected);
    }
}

#[test]
fn apply_dedups_by_client_and_sequence() {
    let mut kv = Kv::default();
    let first = put(1, 1, "k", 1);
    assert_eq!(
        kv.apply(&first, true),
        Applied::Fresh(OpResult::Put { version: 1 })
    );
    assert_eq!(
        kv.apply(&first, true),
        Applied::Duplicate(OpResult::Put { version: 1 })
    );
    assert_eq!(kv.version("k"), 1, "a duplicate is not applied again");
    assert_eq!(kv.session(1, 1), Some(Some(&OpResult::Put { version: 1 })));
    assert_eq!(kv.session(1, 2), None);

    // Another client's request with the same sequence number is fresh.
    assert_eq!(
        kv.apply(&put(2, 1, "k", 2), true),
        Applied::Fresh(OpResult::Put { version: 2 })
    );

    let second = put(1, 2, "k", 3);
    assert_eq!(
        kv.apply(&second, true),
        Applied::Fresh(OpResult::Put { version: 3 })
    );
    assert_eq!(
        kv.apply(&first, true),
        Applied::Stale,
        "older than the last applied"
    );
    assert_eq!(kv.version("k"), 3);
    assert_eq!(kv.session(1, 1), Some(None));

    // Without dedup (the flaw's path) a retry is applied again.
    assert_eq!(
        kv.apply(&second, false),
        Applied::Fresh(OpResult::Put { version: 4 })
    );
}

/// A 1-node stable-leader cluster, led, for driving requests end to end.
fn solo_leader() -> Solo {
    let mut solo = Solo::new(config(1, Mode::StableLeader), 0);
    let out = solo.timer(Timer::Election);
    solo.run_self(out);
    assert!(solo.node.is_leader());
    solo
}

#[test]
fn through_a_node_a_retry_is_answered_from_the_dedup_table() {
    for mode in Mode::ALL {
        let mut solo = match mode {
            Mode::StableLeader => solo_leader(),
            Mode::Leaderless => Solo::new(config(1, mode), 0),
        };
        let request = put(7, 1, "k", 1);
        let out = solo.client(request.clone());
        let out = solo.run_self(out);
        assert_eq!(
            replies(&out),
            vec![(7, 1, Reply::Done(OpResult::Put { version: 1 }))]
        );
        let applied = solo.node.applied_upto();

        let out = solo.client(request.clone());
        assert_eq!(
            replies(&out),
            vec![(7, 1, Reply::Done(OpResult::Put { version: 1 }))],
            "{mode:?}: the retry gets the recorded result"
        );
        assert!(probes(&out).contains(&Probe::DedupHit));
        assert!(
            sends(&out).is_empty(),
            "{mode:?}: nothing proposed for a retry"
        );
        assert_eq!(solo.node.applied_upto(), applied);
        assert_eq!(solo.node.kv().version("k"), 1);
    }
}

#[test]
fn a_retry_while_in_flight_is_proposed_once() {
    let mut cluster = Cluster::new(config(3, Mode::StableLeader));
    cluster.elect(0);
    let request = put(7, 1, "k", 1);
    cluster.client(0, request.clone());
    let accepts_sent = cluster.network.len();
    cluster.client(0, request.clone());
    assert_eq!(
        cluster.network.len(),
        accepts_sent,
        "the retry joined the proposal in flight"
    );
    cluster.deliver_all();
    assert_eq!(cluster.chosen(0).len(), 1);
    assert_eq!(cluster.result(7, 1), OpResult::Put { version: 1 });
}

/// Leaderless: the client's retry reaches a second node that has not heard
/// of the first proposal, so it adopts the request in slot 0 (value rule)
/// and proposes it again in slot 1. It is applied once, and both nodes
/// answer with the one result.
#[test]
fn a_request_chosen_twice_is_applied_once() {
    let mut cluster = Cluster::new(config(3, Mode::Leaderless));
    let request = put(7, 1, "k", 1);
    cluster.isolate(1);
    cluster.client(0, request.clone());
    cluster.deliver_all();
    assert_eq!(cluster.result(7, 1), OpResult::Put { version: 1 });
    cluster.heal(1);
    cluster.client(1, request.clone());
    cluster.deliver_all();

    let slots_with_request: Vec<u64> = cluster
        .chosen(1)
        .iter()
        .filter(|(_, command)| request_id(command) == Some((7, 1)))
        .map(|(slot, _)| *slot)
        .collect();
    assert_eq!(
        slots_with_request,
        vec![0, 1],
        "the request was chosen twice"
    );
    assert_eq!(cluster.node(1).applied_upto(), 2);
    assert_eq!(cluster.node(1).kv().version("k"), 1, "applied twice");
    let answers: Vec<(u8, Reply)> = cluster.replies.iter().map(|r| (r.0, r.3.clone())).collect();
    let answer = Reply::Done(OpResult::Put { version: 1 });
    assert_eq!(answers, vec![(0, answer.clone()), (1, answer)]);
}

#[test]
fn get_and_cas_go_through_the_log() {
    let mut solo = solo_leader();
    let run = |solo: &mut Solo, request| {
        let out = solo.client(request);
        let out = solo.run_self(out);
        let got = replies(&out);
        assert_eq!(got.len(), 1);
        done(&got[0].2).clone()
    };
    assert_eq!(
        run(&mut solo, get(1, 1, "k")),
        OpResult::Get { found: None }
    );
    assert_eq!(
        run(&mut solo, cas(1, 2, "k", 0, 4)),
        OpResult::CasOk { version: 1 }
    );
    assert_eq!(
        run(&mut solo, cas(1, 3, "k", 0, 5)),
        OpResult::CasConflict { current_version: 1 }
    );
    assert_eq!(
        run(&mut solo, get(1, 4, "k")),
        OpResult::Get {
            found: Some((value(4), 1))
        }
    );
    assert_eq!(
        solo.node.applied_upto(),
        4,
        "each operation, reads too, took a slot"
    );
}
