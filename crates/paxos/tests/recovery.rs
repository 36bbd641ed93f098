//! Crashes and recovery: what survives, and the value rule across a crash.

mod common;

use common::*;
use paxos::{Ballot, Message, Mode, OpResult, Output, Probe, Timer};

const A: u8 = 0;
const B: u8 = 1;
const C: u8 = 2;

/// The motivating case. Proposer A sends Prepare and crashes, keeping only
/// what it persisted. Proposer B runs both phases and gets vB chosen in
/// slot 0. A recovers from its durable state alone and prepares with a
/// higher ballot: the promises report vB, so A must propose vB in slot 0,
/// never its own vA, and the slot's chosen value stays vB everywhere.
fn adopt_after_crash(mode: Mode) {
    let mut cluster = Cluster::new(config(3, mode));
    let v_a = put(1, 1, "x", 100);
    let v_b = put(2, 1, "x", 200);

    // 1. A starts a proposal; its Prepare reaches itself and C, then A dies.
    match mode {
        Mode::StableLeader => {
            cluster.timer(A, Timer::Election);
            cluster.client(A, v_a.clone());
        }
        Mode::Leaderless => cluster.client(A, v_a.clone()),
    }
    let a_ballot_before = cluster.node(A).ballot().expect("A proposes");
    assert_eq!(
        cluster.durables[A as usize].round_max,
        a_ballot_before.round
    );
    let prepares: Vec<(u8, u8)> = cluster.network.iter().map(|e| (e.from, e.to)).collect();
    assert_eq!(prepares, vec![(A, A), (A, B), (A, C)]);
    cluster.step(); // A -> A
    cluster.step_unless(|_| true); // A -> B: lost
    cluster.step(); // A -> C
    assert_eq!(cluster.durables[A as usize].promised, a_ballot_before);
    cluster.crash(A);

    // 2. B runs both phases with A down; vB is chosen in slot 0.
    match mode {
        Mode::StableLeader => {
            cluster.timer(B, Timer::Election);
            cluster.deliver_all();
            assert!(cluster.node(B).is_leader());
        }
        Mode::Leaderless => {}
    }
    cluster.client(B, v_b.clone());
    assert!(cluster.run_until(1_000_000, |c| c.all_done(&[(2, 1)])));
    let b_ballot = cluster.outputs[B as usize]
        .iter()
        .filter_map(|o| match o {
            Output::Send {
                message: Message::Accept {
                    ballot, slot: 0, ..
                },
                ..
            } => Some(*ballot),
            _ => None,
        })
        .max()
        .expect("B proposed in slot 0");
    assert!(b_ballot > a_ballot_before);
    assert_eq!(request_id(&cluster.chosen(B)[&0]), Some((2, 1)));
    assert_eq!(cluster.result(2, 1), OpResult::Put { version: 1 });
    cluster.deliver_all(); // B's Decide to A is lost: A is down.
    assert!(
        cluster.chosen(A).is_empty(),
        "A's disk never heard of slot 0"
    );

    // 3. A recovers from its durable state and proposes again, retried vA.
    let outputs_before = cluster.outputs[A as usize].len();
    cluster.recover(A);
    match mode {
        Mode::StableLeader => {
            cluster.timer(A, Timer::Election);
            cluster.client(A, v_a.clone());
        }
        Mode::Leaderless => cluster.client(A, v_a.clone()),
    }
    let a_ballot_after = cluster.node(A).ballot().expect("A proposes again");
    assert!(
        a_ballot_after > a_ballot_before,
        "A reused or lowered its ballot"
    );
    assert!(
        cluster.run_until(cluster.now_us + 5_000_000, |c| c.all_done(&[(1, 1)])),
        "{mode:?}: A's request never completed"
    );

    // A proposed vB, never vA, in slot 0, at every ballot above B's.
    let a_after = &cluster.outputs[A as usize][outputs_before..];
    let slot0: Vec<(Ballot, Option<(u32, u64)>)> = accepts(a_after)
        .into_iter()
        .filter(|(_, _, slot, _)| *slot == 0)
        .map(|(_, ballot, _, command)| (ballot, request_id(&command)))
        .collect();
    assert!(
        !slot0.is_empty(),
        "{mode:?}: A, elected above B, must re-propose slot 0"
    );
    for (ballot, proposed) in &slot0 {
        assert!(*ballot > b_ballot);
        assert_eq!(
            *proposed,
            Some((2, 1)),
            "{mode:?}: A proposed its own value in slot 0"
        );
    }
    assert!(probes(a_after).contains(&Probe::AdoptedValue));

    // The chosen value of slot 0 stays vB everywhere; vA follows it.
    let log_len = |c: &Cluster| (0..3).all(|id| c.node(id).applied_upto() >= 2);
    assert!(cluster.run_until(cluster.now_us + 1_000_000, log_len));
    for id in [A, B, C] {
        assert_eq!(
            request_id(&cluster.chosen(id)[&0]),
            Some((2, 1)),
            "{mode:?} node {id}"
        );
        assert_eq!(cluster.node(id).kv().get("x").unwrap().1, 2);
    }
    assert_eq!(cluster.result(1, 1), OpResult::Put { version: 2 });
    cluster.assert_agreement();
}

#[test]
fn a_recovered_proposer_adopts_the_value_chosen_while_it_was_down_stable_leader() {
    adopt_after_crash(Mode::StableLeader);
}

#[test]
fn a_recovered_proposer_adopts_the_value_chosen_while_it_was_down_leaderless() {
    adopt_after_crash(Mode::Leaderless);
}

/// A leader gets its value accepted by a quorum, but every Accepted is lost
/// and it crashes. The value is chosen though nobody knows it; the next
/// leader must find it and finish it, and the client's retry is answered
/// without applying the write twice.
#[test]
fn a_value_accepted_by_a_quorum_survives_the_leaders_crash() {
    let mut cluster = Cluster::new(config(3, Mode::StableLeader));
    cluster.elect(A);
    let request = put(1, 1, "k", 7);
    cluster.client(A, request.clone());
    cluster.deliver_all_unless(|e| matches!(e.message, Message::Accepted { .. }) || e.to == C);
    assert!(cluster.chosen(A).is_empty());
    assert!(cluster.durables[B as usize].accepted.contains_key(&0));
    cluster.crash(A);

    cluster.elect(C);
    cluster.client(C, request.clone());
    cluster.deliver_all();

    assert_eq!(cluster.result(1, 1), OpResult::Put { version: 1 });
    for id in [B, C] {
        assert_eq!(request_id(&cluster.chosen(id)[&0]), Some((1, 1)));
        assert_eq!(cluster.node(id).kv().version("k"), 1, "applied once");
    }
    cluster.recover(A);
    cluster.timer(A, Timer::Catchup);
    cluster.deliver_all();
    assert_eq!(cluster.node(A).kv().version("k"), 1);
    cluster.assert_agreement();
}

#[test]
fn recovery_replays_the_chosen_log_into_the_state_machine() {
    for mode in Mode::ALL {
        let mut cluster = Cluster::new(config(3, mode));
        if mode == Mode::StableLeader {
            cluster.elect(B);
        }
        cluster.client(B, put(1, 1, "k", 1));
        cluster.client(B, cas(2, 1, "j", 0, 5));
        cluster.run_until(1_000_000, |c| c.all_done(&[(1, 1), (2, 1)]));
        let applied = cluster.node(B).applied_upto();
        let entries: Vec<_> = cluster
            .node(B)
            .kv()
            .entries()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();

        cluster.crash(B);
        cluster.recover(B);

        assert_eq!(cluster.node(B).applied_upto(), applied, "{mode:?}");
        let replayed: Vec<_> = cluster
            .node(B)
            .kv()
            .entries()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        assert_eq!(replayed, entries, "{mode:?}");
        // The dedup table is rebuilt too: a retry is answered, not re-applied.
        cluster.client(B, put(1, 1, "k", 1));
        assert_eq!(cluster.result(1, 1), OpResult::Put { version: 1 });
        assert_eq!(cluster.node(B).kv().version("k"), 1, "{mode:?}");
    }
}

/// Stable leader crashes: the others elect a new leader from their timers
/// alone, and the restarted node catches up.
#[test]
fn the_cluster_elects_a_new_leader_after_the_leader_crashes() {
    let mut cluster = Cluster::new(config(3, Mode::StableLeader));
    assert!(cluster.run_until(1_000_000, |c| (0..3).any(|id| c.node(id).is_leader())));
    let first = (0..3).find(|&id| cluster.node(id).is_leader()).unwrap();
    cluster.client(first, put(1, 1, "k", 1));
    assert!(cluster.run_until(cluster.now_us + 1_000_000, |c| c.all_done(&[(1, 1)])));

    cluster.crash(first);
    let others: Vec<u8> = (0..3).filter(|&id| id != first).collect();
    let new_leader = |c: &Cluster| others.iter().any(|&id| c.node(id).is_leader());
    assert!(cluster.run_until(cluster.now_us + 2_000_000, new_leader));
    let second = *others
        .iter()
        .find(|&&id| cluster.node(id).is_leader())
        .unwrap();
    cluster.client(second, put(1, 2, "k", 2));
    assert!(cluster.run_until(cluster.now_us + 1_000_000, |c| c.all_done(&[(1, 2)])));
    assert_eq!(cluster.result(1, 2), OpResult::Put { version: 2 });

    cluster.recover(first);
    let caught_up = |c: &Cluster| c.node(first).kv().version("k") == 2;
    assert!(cluster.run_until(cluster.now_us + 1_000_000, caught_up));
    cluster.assert_agreement();
}

/// A node rebuilt with a damaged promise record votes on nothing until
/// `max(n - q1 + 1, n - q2 + 1)` peers (two of four others in a majority
/// five) have answered; then its promise is above every promise reported,
/// it keeps the highest acceptance reported per slot, and it votes again.
#[test]
fn a_damaged_promise_is_recovered_from_peers_before_voting() {
    let five = config(5, Mode::StableLeader);
    let damage = paxos::Damage {
        promise: true,
        ..paxos::Damage::default()
    };
    let mut out = Vec::new();
    let mut node = paxos::Node::recover_damaged(
        five.clone(),
        A,
        paxos::Durable::default(),
        &damage,
        &mut out,
    );
    assert!(node.is_recovering());
    assert_eq!(node.recovery_replies_needed(), 3);
    assert!(probes(&out).contains(&Probe::CorruptRecordDetected));
    let asked: Vec<u8> = sends(&out)
        .into_iter()
        .filter(|(_, message)| matches!(message, Message::RecoveryRequest))
        .map(|(to, _)| to)
        .collect();
    assert_eq!(asked, vec![1, 2, 3, 4], "every peer, never itself");

    // While recovering: no answer to a Prepare, however low.
    let mut out = Vec::new();
    node.handle_message(
        B,
        Message::Prepare {
            ballot: ballot(1, 1),
            from_slot: 0,
        },
        &mut out,
    );
    assert!(sends(&out).is_empty(), "a recovering node does not vote");

    let entry = |round| paxos::AcceptedEntry {
        slot: 3,
        ballot: ballot(round, 2),
        command: paxos::Command::Noop,
    };
    let replies = [
        (B, ballot(7, 2), 7, vec![entry(5)]),
        (B, ballot(9, 2), 9, vec![]), // a duplicate reply counts once
        (C, ballot(4, 3), 4, vec![entry(6)]),
    ];
    for (from, promised, round, accepted) in replies {
        let mut out = Vec::new();
        node.handle_message(
            from,
            Message::RecoveryReply {
                promised,
                round,
                accepted,
            },
            &mut out,
        );
        assert!(node.is_recovering(), "still short of three peers");
    }
    let mut out = Vec::new();
    let reply = Message::RecoveryReply {
        promised: ballot(2, 4),
        round: 2,
        accepted: vec![],
    };
    node.handle_message(4, reply, &mut out);
    assert!(!node.is_recovering());
    assert!(probes(&out).contains(&Probe::RecoveredFromPeers));
    assert_eq!(
        node.promised(),
        ballot(8, A),
        "above the 7.2 promise reported"
    );
    assert_eq!(
        node.durable().accepted[&3].0,
        ballot(6, 2),
        "the highest entry"
    );
    assert!(
        out.iter()
            .any(|output| is_persist_promised(output, ballot(8, A)))
    );

    // Recovered: a Prepare above the new promise is answered again.
    let mut out = Vec::new();
    node.handle_message(
        B,
        Message::Prepare {
            ballot: ballot(9, 1),
            from_slot: 0,
        },
        &mut out,
    );
    assert!(matches!(&sends(&out)[..], [(1, Message::Promise { .. })]));
}

/// A clean disk recovers as before: no extra round.
#[test]
fn a_clean_disk_needs_no_recovery_round() {
    let mut out = Vec::new();
    let node = paxos::Node::recover(
        config(3, Mode::Leaderless),
        A,
        paxos::Durable::default(),
        &mut out,
    );
    assert!(!node.is_recovering());
    assert!(
        !sends(&out)
            .iter()
            .any(|(_, message)| matches!(message, Message::RecoveryRequest))
    );
}

/// A resent Prepare writes its round again first: the round's first write
/// may not be durable yet, and a resend that left before it would let a
/// crash forget a ballot already out (found by the simulated disk: a
/// restarted proposer reused its ballot).
#[test]
fn a_resent_prepare_waits_for_its_round_to_be_durable() {
    let mut solo = Solo::new(config(3, Mode::StableLeader), A);
    let first = solo.timer(Timer::Election);
    let round = prepare_ballots(&first)[0].round;
    let resent = solo.timer(Timer::Retransmit);
    assert!(
        matches!(resent.first(), Some(Output::Persist(paxos::DurableWrite::RoundMax(r))) if *r == round)
    );
    assert!(prepare_ballots(&resent).iter().all(|b| b.round == round));
}
