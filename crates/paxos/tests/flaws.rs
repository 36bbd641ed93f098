//! Each deliberate flaw is live: with it on, the node deviates exactly where
//! the real bug would; with it off (checked by the other test files), not.
//! Also the flaws' names, their serde form and the `flaws` config field.
//! Compiled only with the `flaws` feature, which the crate's own tests turn
//! on through a dev-dependency on itself (see Cargo.toml).
#![cfg(feature = "flaws")]

mod common;

use common::*;
use paxos::{
    AcceptedEntry, Command, Config, DurableWrite, Flaw, Flaws, Message, Mode, OpResult, Output,
    Reply, Timer,
};

fn flawed(nodes: u8, mode: Mode, flaw: Flaw, id: u8) -> Solo {
    Solo::new(config_with_flaws(nodes, mode, &[flaw]), id)
}

fn accept(round: u64, node: u8, slot: u64) -> Message {
    Message::Accept {
        ballot: ballot(round, node),
        slot,
        command: Command::Noop,
    }
}

fn is_persist_promised_any(output: &Output) -> bool {
    matches!(output, Output::Persist(DurableWrite::Promised(_)))
}

#[test]
fn accept_below_promise_sends_accepted_below_the_promise() {
    let mut solo = flawed(3, Mode::StableLeader, Flaw::AcceptBelowPromise, 1);
    solo.feed(
        2,
        Message::Prepare {
            ballot: ballot(5, 2),
            from_slot: 0,
        },
    );
    let out = solo.feed(0, accept(3, 0, 0));
    assert!(
        matches!(&sends(&out)[..], [(0, Message::Accepted { ballot: b, .. })] if *b == ballot(3, 0)),
        "expected Accepted at 3.0 below the promise 5.2, got {:?}",
        sends(&out)
    );
    assert_eq!(
        solo.node.promised(),
        ballot(5, 2),
        "the promise itself stays"
    );
}

#[test]
fn promise_not_persisted_writes_no_promise_and_forgets_it_on_restart() {
    let mut solo = flawed(3, Mode::StableLeader, Flaw::PromiseNotPersisted, 1);
    let out = solo.feed(
        2,
        Message::Prepare {
            ballot: ballot(5, 2),
            from_slot: 0,
        },
    );
    assert!(
        sends(&out)
            .iter()
            .any(|(_, m)| matches!(m, Message::Promise { .. }))
    );
    assert!(
        !out.iter().any(is_persist_promised_any),
        "no Persist(Promised)"
    );
    let mut solo = solo.restart();
    assert_eq!(solo.node.promised(), paxos::Ballot::ZERO);
    let out = solo.feed(
        0,
        Message::Prepare {
            ballot: ballot(3, 0),
            from_slot: 0,
        },
    );
    assert!(
        sends(&out)
            .iter()
            .any(|(_, m)| matches!(m, Message::Promise { .. })),
        "after the restart it promises a lower ballot"
    );
}

#[test]
fn accept_not_persisted_writes_no_acceptance() {
    let mut solo = flawed(3, Mode::StableLeader, Flaw::AcceptNotPersisted, 1);
    let out = solo.feed(0, accept(1, 0, 0));
    assert!(
        sends(&out)
            .iter()
            .any(|(_, m)| matches!(m, Message::Accepted { .. }))
    );
    assert!(
        !out.iter()
            .any(|o| matches!(o, Output::Persist(DurableWrite::Accepted { .. })))
    );
    assert!(solo.restart().node.durable().accepted.is_empty());
}

#[test]
fn minority_quorum_is_half_rounded_down() {
    for (nodes, quorum) in [(2, 1), (3, 1), (4, 2), (5, 2), (6, 3)] {
        let config = config_with_flaws(nodes, Mode::StableLeader, &[Flaw::MinorityQuorum]);
        assert_eq!(config.quorum_phase1(), quorum);
        assert_eq!(config.quorum_phase2(), quorum);
        assert_eq!(config.quorum_phase2(), nodes as usize / 2);
        assert_eq!(
            Config::new(nodes, Mode::StableLeader).quorum_phase2(),
            nodes as usize / 2 + 1
        );
    }
}

#[test]
fn double_count_votes_counts_a_duplicate_promise_and_accepted() {
    let mut solo = flawed(3, Mode::StableLeader, Flaw::DoubleCountVotes, 0);
    solo.timer(Timer::Election);
    let own = solo.node.ballot().unwrap();
    let promise = || Message::Promise {
        ballot: own,
        accepted: Vec::<AcceptedEntry>::new(),
    };
    solo.feed(1, promise());
    assert!(!solo.node.is_leader());
    solo.feed(1, promise());
    assert!(
        solo.node.is_leader(),
        "one acceptor's promise counted twice"
    );

    solo.client(put(1, 1, "k", 1));
    let vote = Message::Accepted {
        ballot: own,
        slot: 0,
        command: command(&put(1, 1, "k", 1)),
    };
    solo.feed(2, vote.clone());
    assert!(solo.durable.chosen.is_empty());
    let out = solo.feed(2, vote);
    assert!(
        solo.durable.chosen.contains_key(&0),
        "one acceptor's vote counted twice"
    );
    assert_eq!(
        replies(&out),
        vec![(1, 1, Reply::Done(OpResult::Put { version: 1 }))]
    );
}

#[test]
fn learn_across_ballots_combines_votes_of_different_ballots() {
    let mut solo = flawed(3, Mode::StableLeader, Flaw::LearnAcrossBallots, 0);
    let noop = Command::Noop;
    solo.feed(
        1,
        Message::Accepted {
            ballot: ballot(1, 1),
            slot: 0,
            command: noop.clone(),
        },
    );
    solo.feed(
        2,
        Message::Accepted {
            ballot: ballot(2, 2),
            slot: 0,
            command: noop,
        },
    );
    assert!(
        solo.durable.chosen.contains_key(&0),
        "1.1 and 2.2 votes made a quorum"
    );
}

#[test]
fn ignore_promised_values_proposes_its_own_value() {
    let mut solo = flawed(3, Mode::StableLeader, Flaw::IgnorePromisedValues, 0);
    solo.timer(Timer::Election);
    let own = solo.node.ballot().unwrap();
    solo.client(put(1, 1, "own", 1));
    let reported = AcceptedEntry {
        slot: 0,
        ballot: ballot(0, 2),
        command: command(&put(2, 1, "r", 2)),
    };
    solo.feed(
        1,
        Message::Promise {
            ballot: own,
            accepted: vec![reported],
        },
    );
    let out = solo.feed(
        2,
        Message::Promise {
            ballot: own,
            accepted: vec![],
        },
    );
    let proposed = proposals(&out);
    assert_eq!(
        request_id(&proposed[&0]),
        Some((1, 1)),
        "own value, not the reported one"
    );
}

#[test]
fn ballot_reuse_after_restart_reuses_a_ballot() {
    let mut solo = flawed(3, Mode::StableLeader, Flaw::BallotReuseAfterRestart, 1);
    let out = solo.timer(Timer::Election);
    assert!(
        !out.iter()
            .any(|o| matches!(o, Output::Persist(DurableWrite::RoundMax(_))))
    );
    let first = prepare_ballots(&out)[0];
    let mut solo = solo.restart();
    let out = solo.timer(Timer::Election);
    assert_eq!(prepare_ballots(&out)[0], first, "the same ballot twice");
}

#[test]
fn ballot_without_node_id_gives_equal_ballots_to_two_proposers() {
    let config = config_with_flaws(3, Mode::StableLeader, &[Flaw::BallotWithoutNodeId]);
    let mut one = Solo::new(config.clone(), 1);
    let mut two = Solo::new(config, 2);
    let b1 = prepare_ballots(&one.timer(Timer::Election))[0];
    let b2 = prepare_ballots(&two.timer(Timer::Election))[0];
    assert_eq!(b1, b2);
}

#[test]
fn stale_leader_read_answers_a_get_locally() {
    let mut solo = flawed(1, Mode::StableLeader, Flaw::StaleLeaderRead, 0);
    let out = solo.timer(Timer::Election);
    solo.run_self(out);
    assert!(solo.node.is_leader());
    let out = solo.client(get(1, 1, "k"));
    assert_eq!(
        replies(&out),
        vec![(1, 1, Reply::Done(OpResult::Get { found: None }))]
    );
    assert!(
        sends(&out).is_empty(),
        "no Accept: the read skipped the log"
    );
}

#[test]
fn no_client_dedup_applies_a_retry_again() {
    let mut solo = flawed(1, Mode::StableLeader, Flaw::NoClientDedup, 0);
    let out = solo.timer(Timer::Election);
    solo.run_self(out);
    let request = put(1, 1, "k", 1);
    for expected_version in [1, 2] {
        let out = solo.client(request.clone());
        let out = solo.run_self(out);
        assert_eq!(
            replies(&out),
            vec![(
                1,
                1,
                Reply::Done(OpResult::Put {
                    version: expected_version
                })
            )]
        );
    }
}

#[test]
fn skip_gap_fill_executes_past_an_unchosen_slot() {
    for (flaws, applied_upto) in [(&[Flaw::SkipGapFill][..], 2), (&[][..], 0)] {
        let mut solo = Solo::new(config_with_flaws(1, Mode::StableLeader, flaws), 0);
        let out = solo.timer(Timer::Election);
        solo.run_self(out);
        assert!(solo.node.is_leader());
        solo.feed(
            0,
            Message::Decide {
                slot: 1,
                command: command(&put(1, 1, "k", 1)),
            },
        );
        assert_eq!(solo.node.applied_upto(), applied_upto, "flaws {flaws:?}");
    }
}

#[test]
fn flaws_are_empty_by_default() {
    assert!(Flaws::default().is_empty());
    assert_eq!(Flaws::default(), Flaws::NONE);
    let config = Config::new(3, Mode::Leaderless);
    assert!(config.flaws.is_empty());
    for flaw in Flaw::ALL {
        assert!(!config.has(*flaw), "{flaw} is on by default");
    }
    let parsed: Config = serde_json::from_str(r#"{"nodes": 3, "mode": "leaderless"}"#).unwrap();
    assert!(parsed.flaws.is_empty());
    assert_eq!(parsed, config);
}

#[test]
fn names_round_trip_and_unknown_names_are_explained() {
    for flaw in Flaw::ALL {
        assert_eq!(Flaw::from_name(flaw.name()), Some(*flaw));
        assert!(!flaw.breaks().is_empty());
    }
    let flaws: Flaws = [Flaw::MinorityQuorum, Flaw::NoClientDedup]
        .into_iter()
        .collect();
    let json = serde_json::to_string(&flaws).unwrap();
    assert_eq!(json, r#"["minority-quorum","no-client-dedup"]"#);
    assert_eq!(serde_json::from_str::<Flaws>(&json).unwrap(), flaws);

    let error = serde_json::from_str::<Flaws>(r#"["minority-quorums"]"#).unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("unknown flaw `minority-quorums`"),
        "{message}"
    );
    assert!(
        message.contains("minority-quorum,"),
        "lists the known flaws: {message}"
    );
}

#[test]
fn a_config_file_switches_flaws_on_by_name() {
    let json = r#"{"nodes": 3, "mode": "leaderless", "flaws": ["minority-quorum"]}"#;
    let config: Config = serde_json::from_str(json).unwrap();
    assert!(config.has(Flaw::MinorityQuorum));
    assert_eq!(config.flaws.iter().count(), 1);
    assert_eq!(config.quorum_phase1(), 1);
    let error = serde_json::from_str::<Config>(
        r#"{"nodes": 3, "mode": "leaderless", "flaws": ["minority"]}"#,
    )
    .unwrap_err();
    assert!(
        error.to_string().contains("unknown flaw `minority`"),
        "{error}"
    );
}

// ------------------------------------------ the flaws of the harsher world

/// A leader of `nodes` with a client's request proposed in slot 0.
fn proposing(config: std::sync::Arc<Config>) -> (Solo, paxos::Ballot) {
    let mut solo = Solo::new(config, 0);
    let out = solo.timer(Timer::Election);
    solo.run_self(out);
    let own = solo.node.ballot().unwrap();
    for from in 1..solo.node.config().nodes {
        solo.feed(
            from,
            Message::Promise {
                ballot: own,
                accepted: vec![],
            },
        );
    }
    assert!(solo.node.is_leader());
    let out = solo.client(put(1, 1, "k", 1));
    solo.run_self(out);
    (solo, own)
}

fn vote(solo: &mut Solo, from: u8, own: paxos::Ballot) {
    solo.feed(
        from,
        Message::Accepted {
            ballot: own,
            slot: 0,
            command: command(&put(1, 1, "k", 1)),
        },
    );
}

#[test]
fn decide_with_all_waits_for_every_vote() {
    for (flaws, decided_after) in [(&[Flaw::DecideWithAll][..], 4), (&[][..], 2)] {
        let (mut solo, own) = proposing(config_with_flaws(5, Mode::StableLeader, flaws));
        // Its own vote is in; each other node's follows.
        let mut votes = 1;
        while !solo.durable.chosen.contains_key(&0) {
            vote(&mut solo, votes, own);
            votes += 1;
            assert!(votes <= 5, "never decided");
        }
        assert_eq!(votes - 1, decided_after, "flaws {flaws:?}");
    }
}

#[test]
fn learn_with_phase1_quorum_decides_on_q1_votes() {
    let flexible = |flaws: &[Flaw]| {
        let mut config = Config::new(5, Mode::StableLeader);
        config.quorum_phase1 = Some(2);
        config.quorum_phase2 = Some(4);
        config.flaws = flaws.iter().copied().collect();
        config.validate().unwrap();
        std::sync::Arc::new(config)
    };
    for (flaws, decided) in [(&[Flaw::LearnWithPhase1Quorum][..], true), (&[][..], false)] {
        let (mut solo, own) = proposing(flexible(flaws));
        vote(&mut solo, 1, own);
        assert_eq!(
            solo.durable.chosen.contains_key(&0),
            decided,
            "two votes of a q2 of four, flaws {flaws:?}"
        );
    }
}

#[test]
fn even_size_majority_is_exactly_half_for_even_sizes_only() {
    for (nodes, quorum) in [(1, 1), (2, 1), (3, 2), (4, 2), (5, 3), (6, 3), (7, 4)] {
        let config = config_with_flaws(nodes, Mode::StableLeader, &[Flaw::EvenSizeMajority]);
        assert_eq!(config.quorum_phase1(), quorum, "{nodes} nodes");
        assert_eq!(config.quorum_phase2(), quorum, "{nodes} nodes");
        assert_eq!(
            config.majority(),
            nodes / 2 + 1,
            "validation keeps the right one"
        );
    }
}

#[test]
fn validation_off_by_one_admits_quorums_that_exactly_halve_the_cluster() {
    let pair = |flaws: &[Flaw], q1, q2| {
        let mut config = Config::new(4, Mode::StableLeader);
        config.quorum_phase1 = Some(q1);
        config.quorum_phase2 = Some(q2);
        config.flaws = flaws.iter().copied().collect();
        config.validate()
    };
    assert!(pair(&[], 2, 2).is_err());
    assert!(pair(&[Flaw::ValidationOffByOne], 2, 2).is_ok(), "2 + 2 = 4");
    assert!(
        pair(&[Flaw::ValidationOffByOne], 1, 2).is_err(),
        "1 + 2 < 4"
    );
    assert!(pair(&[Flaw::ValidationOffByOne], 2, 3).is_ok());
}

#[test]
fn round_from_promise_reuses_a_ballot_prepared_but_not_yet_promised() {
    for (flaws, reused) in [(&[Flaw::RoundFromPromise][..], true), (&[][..], false)] {
        let mut solo = Solo::new(config_with_flaws(3, Mode::StableLeader, flaws), 1);
        let out = solo.timer(Timer::Election);
        let sent = prepare_ballots(&out)[0];
        // It crashes before its own Prepare reaches its own acceptor.
        let mut solo = solo.restart();
        let out = solo.timer(Timer::Election);
        let again = prepare_ballots(&out)[0];
        assert_eq!(
            again == sent,
            reused,
            "flaws {flaws:?}: {sent} then {again}"
        );
        if !reused {
            assert!(again > sent);
        }
    }
}

#[test]
fn same_as_always_true_breaks_the_shared_comparison_on_the_thread() {
    let (a, b) = (command(&put(1, 1, "k", 1)), command(&put(2, 1, "k", 2)));
    // A node of a clean cluster took an input on this thread last.
    Solo::new(config(3, Mode::StableLeader), 0);
    assert!(!a.same_as(&b));
    // Once a node of a flawed cluster does, every caller here sees the bug.
    Solo::new(
        config_with_flaws(3, Mode::StableLeader, &[Flaw::SameAsAlwaysTrue]),
        0,
    );
    assert!(a.same_as(&b), "the flawed comparison");
    let other_thread = std::thread::spawn(move || a.same_as(&b)).join().unwrap();
    assert!(!other_thread, "another thread's runs are untouched");
    Solo::new(config(3, Mode::StableLeader), 0);
}

#[test]
fn heartbeat_keeps_no_timer_leaves_the_election_timer_running() {
    for (flaws, rearmed) in [(&[Flaw::HeartbeatKeepsNoTimer][..], false), (&[][..], true)] {
        let mut solo = Solo::new(config_with_flaws(3, Mode::StableLeader, flaws), 1);
        let out = solo.feed(
            0,
            Message::Heartbeat {
                ballot: ballot(1, 0),
                applied_upto: 0,
            },
        );
        let election = out.iter().any(|output| {
            matches!(
                output,
                Output::SetTimer {
                    timer: Timer::Election,
                    ..
                }
            )
        });
        assert_eq!(election, rearmed, "flaws {flaws:?}");
        assert_eq!(solo.node.leader_hint(), Some(0));
    }
}
