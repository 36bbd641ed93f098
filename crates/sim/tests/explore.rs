//! The exhaustive explorer: every planted flaw found with a shortest
//! counterexample, the clean core passing the same budgets, bounds reported
//! as bounds, fingerprints and determinism.
//!
//! Each flaw has one small configuration (`case`) that names the budgets
//! it needs; the clean core is explored with the same budgets. The
//! `#[ignore]`d `flaw_table` measures them all in one run (release build):
//! `cargo test --release -p sim --test explore -- --ignored --nocapture`.

use std::time::Instant;

use paxos::Flaw;
use sim::Invariant;
use sim::ScriptedOp;
use sim::explore::cases::{UNEXPLORABLE, cluster, explorable, put};
use sim::explore::{
    self, Action, Bound, Bounds, Budgets, ExploreConfig, ExploreReport, Replayed, Strategy, Verdict,
};

fn case(flaw: Flaw, planted: bool) -> ExploreConfig {
    explore::cases::flaw_case(flaw, planted)
}

const BOUNDS: Bounds = Bounds {
    depth_max: 40,
    states_max: 20_000_000,
};

fn run(config: &ExploreConfig, strategy: Strategy, bounds: Bounds) -> ExploreReport {
    explore::explore(config, strategy, bounds, &mut |_| true).expect("a valid configuration")
}

/// The invariant each flaw's shortest counterexample breaks, and its length.
fn expected(flaw: Flaw) -> (Invariant, usize) {
    match flaw {
        Flaw::PromiseNotPersisted => (Invariant::PromiseMonotonic, 4),
        Flaw::AcceptNotPersisted => (Invariant::AcceptorDurability, 8),
        Flaw::IgnorePromisedValues => (Invariant::SingleChosenValue, 9),
        Flaw::BallotReuseAfterRestart => (Invariant::BallotMonotonic, 4),
        Flaw::BallotWithoutNodeId => (Invariant::UniqueBallotValue, 8),
        Flaw::AcceptBelowPromise => (Invariant::AcceptBelowPromise, 6),
        Flaw::MinorityQuorum => (Invariant::LearnerAgreement, 2),
        Flaw::DoubleCountVotes => (Invariant::LearnerAgreement, 7),
        Flaw::LearnAcrossBallots => (Invariant::LearnerAgreement, 7),
        Flaw::StaleLeaderRead => (Invariant::Linearizability, 10),
        Flaw::NoClientDedup => (Invariant::Linearizability, 12),
        Flaw::SkipGapFill => (Invariant::ReplicaOrder, 7),
        Flaw::LearnWithPhase1Quorum => (Invariant::LearnerAgreement, 2),
        Flaw::ValidationOffByOne => (Invariant::UnsafeQuorumsAdmitted, 0),
        Flaw::RoundFromPromise => (Invariant::BallotMonotonic, 4),
        Flaw::SameAsAlwaysTrue => (Invariant::SingleChosenValue, 9),
        Flaw::EvenSizeMajority => (Invariant::LearnerAgreement, 2),
        Flaw::DecideWithAll
        | Flaw::HeartbeatKeepsNoTimer
        | Flaw::PromiseSentBeforePersist
        | Flaw::AcceptedSentBeforePersist
        | Flaw::TrustCorruptRecord
        | Flaw::VoteWhileRecovering => {
            unreachable!("{flaw} is not explorable")
        }
    }
}

/// BFS finds `flaw` with a counterexample of the expected length that
/// breaks the expected invariant, and replaying it raises the violation at
/// its last action.
fn finds(flaw: Flaw) {
    let config = case(flaw, true);
    let report = run(&config, Strategy::Bfs, BOUNDS);
    let Verdict::Violation { actions, violation } = &report.verdict else {
        panic!("{flaw}: expected a violation, got {:?}", report.verdict);
    };
    let (invariant, length) = expected(flaw);
    let listing = numbered(actions);
    assert_eq!(
        violation.invariant, invariant,
        "{flaw}: {violation}\n{listing}"
    );
    assert_eq!(actions.len(), length, "{flaw}: counterexample\n{listing}");
    match explore::replay(&config, actions).expect("the counterexample replays") {
        Replayed::Violation { index, violation } => {
            assert_eq!(index, actions.len().saturating_sub(1), "{flaw}");
            assert_eq!(violation.invariant, invariant, "{flaw}");
        }
        Replayed::Clean => panic!("{flaw}: the counterexample replays clean"),
    }
}

fn numbered(actions: &[Action]) -> String {
    actions
        .iter()
        .enumerate()
        .map(|(index, action)| format!("{index:>4} {action}\n"))
        .collect()
}

#[test]
fn finds_promise_not_persisted() {
    finds(Flaw::PromiseNotPersisted);
}

#[test]
fn finds_accept_not_persisted() {
    finds(Flaw::AcceptNotPersisted);
}

#[test]
fn finds_ignore_promised_values() {
    finds(Flaw::IgnorePromisedValues);
}

#[test]
fn finds_ballot_reuse_after_restart() {
    finds(Flaw::BallotReuseAfterRestart);
}

#[test]
fn finds_ballot_without_node_id() {
    finds(Flaw::BallotWithoutNodeId);
}

#[test]
fn finds_accept_below_promise() {
    finds(Flaw::AcceptBelowPromise);
}

#[test]
fn finds_minority_quorum() {
    finds(Flaw::MinorityQuorum);
}

#[test]
fn finds_double_count_votes() {
    finds(Flaw::DoubleCountVotes);
}

#[test]
fn finds_learn_across_ballots() {
    finds(Flaw::LearnAcrossBallots);
}

#[test]
fn finds_stale_leader_read() {
    finds(Flaw::StaleLeaderRead);
}

#[test]
fn finds_no_client_dedup() {
    finds(Flaw::NoClientDedup);
}

#[test]
fn finds_skip_gap_fill() {
    finds(Flaw::SkipGapFill);
}

#[test]
fn finds_learn_with_phase1_quorum() {
    finds(Flaw::LearnWithPhase1Quorum);
}

#[test]
fn finds_round_from_promise() {
    finds(Flaw::RoundFromPromise);
}

#[test]
fn finds_validation_off_by_one() {
    finds(Flaw::ValidationOffByOne);
}

#[test]
fn finds_same_as_always_true() {
    finds(Flaw::SameAsAlwaysTrue);
}

#[test]
fn finds_even_size_majority_on_two_nodes() {
    finds(Flaw::EvenSizeMajority);
}

#[test]
fn liveness_cost_and_disk_flaws_show_no_safety_violation() {
    for flaw in UNEXPLORABLE {
        let report = run(&case(flaw, true), Strategy::Bfs, BOUNDS);
        assert_eq!(report.verdict, Verdict::Pass, "{flaw}");
    }
}

/// Every flaw, then the clean core with the same budgets to the same
/// depth (and at most 60 s): depth, states and seconds per line. Run in
/// release: see the module doc.
#[test]
#[ignore]
fn flaw_table() {
    println!(
        "| configuration | verdict | depth | states (unique) | generated | seconds | unique/s | bytes/state |"
    );
    println!("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    let mut listings = Vec::new();
    for flaw in explorable() {
        let mut depth = BOUNDS.depth_max;
        for planted in [true, false] {
            let config = case(flaw, planted);
            let bounds = Bounds {
                depth_max: depth,
                states_max: 5_000_000,
            };
            let start = Instant::now();
            let mut within_a_minute = |_: &explore::Progress| start.elapsed().as_secs() < 60;
            let report =
                match explore::explore(&config, Strategy::Bfs, bounds, &mut within_a_minute) {
                    Ok(report) => report,
                    Err(error) => {
                        println!("| clean core, {flaw} budgets | refused: {error} | | | | | | |");
                        continue;
                    }
                };
            let elapsed = start.elapsed();
            let (name, verdict) = match &report.verdict {
                Verdict::Violation { actions, violation } => {
                    depth = actions.len() as u32;
                    listings.push(format!("{flaw}: {violation}\n{}", numbered(actions)));
                    (
                        flaw.name().to_string(),
                        violation.invariant.name().to_string(),
                    )
                }
                Verdict::Pass => (
                    format!("clean core, {} budgets", flaw.name()),
                    "pass".into(),
                ),
                Verdict::Bounded { bounds } => (
                    format!("clean core, {} budgets", flaw.name()),
                    format!("bounded {bounds:?}"),
                ),
            };
            println!(
                "| {name} | {verdict} | {} | {} | {} | {:.2} | {:.0} | {} |",
                report.depth_reached,
                report.states_unique,
                report.states_generated,
                elapsed.as_secs_f64(),
                report.states_per_second(elapsed),
                report.bytes_per_state,
            );
        }
    }
    for listing in listings {
        println!("\n{listing}");
    }
}

#[test]
fn clean_core_passes_a_flaw_budget_exhaustively() {
    // One election, one crash and one restart, one Put: small enough to
    // exhaust, so the verdict is a pass, not a bound.
    let report = run(
        &case(Flaw::AcceptNotPersisted, false),
        Strategy::Bfs,
        BOUNDS,
    );
    assert_eq!(report.verdict, Verdict::Pass, "{report:?}");
    assert!(report.states_terminal > 0);
    assert!(report.depth_reached < BOUNDS.depth_max);
    let dfs = run(
        &case(Flaw::AcceptNotPersisted, false),
        Strategy::Dfs,
        BOUNDS,
    );
    assert_eq!(dfs.verdict, Verdict::Pass, "{dfs:?}");
    assert_eq!(
        dfs.states_unique, report.states_unique,
        "both searches see every state"
    );
}

#[test]
fn the_clean_core_shows_no_violation_where_each_flaw_shows_one() {
    for flaw in explorable() {
        let (_, length) = expected(flaw);
        let bounds = Bounds {
            depth_max: length as u32,
            ..BOUNDS
        };
        let config = case(flaw, false);
        if flaw == Flaw::ValidationOffByOne {
            // The clean core refuses quorums that need not intersect.
            let error = explore::explore(&config, Strategy::Bfs, bounds, &mut |_| true)
                .expect_err("the clean core refuses the quorums");
            assert!(error.contains("quorum"), "{error}");
            continue;
        }
        let report = run(&config, Strategy::Bfs, bounds);
        assert!(
            matches!(report.verdict, Verdict::Pass | Verdict::Bounded { .. }),
            "{flaw} budgets, clean core: {:?}",
            report.verdict
        );
    }
}

#[test]
fn a_depth_bound_is_reported_as_bounded_not_pass() {
    let bounds = Bounds {
        depth_max: 4,
        ..BOUNDS
    };
    let report = run(
        &case(Flaw::AcceptNotPersisted, false),
        Strategy::Bfs,
        bounds,
    );
    assert_eq!(
        report.verdict,
        Verdict::Bounded {
            bounds: vec![Bound::Depth]
        }
    );
    assert_eq!(report.depth_reached, 4);
}

#[test]
fn a_states_bound_and_a_stop_are_reported_as_bounded() {
    let config = case(Flaw::StaleLeaderRead, false);
    let bounds = Bounds {
        depth_max: 40,
        states_max: 1_000,
    };
    let report = run(&config, Strategy::Bfs, bounds);
    assert_eq!(
        report.verdict,
        Verdict::Bounded {
            bounds: vec![Bound::States]
        }
    );
    assert_eq!(report.states_unique, 1_000);
    let mut calls = 0;
    let mut stop_at_once = |_: &explore::Progress| {
        calls += 1;
        false
    };
    let report = explore::explore(&config, Strategy::Dfs, BOUNDS, &mut stop_at_once).unwrap();
    assert_eq!(
        report.verdict,
        Verdict::Bounded {
            bounds: vec![Bound::Stopped]
        }
    );
    assert!(calls >= 1);
}

#[test]
fn bfs_gives_a_shortest_counterexample() {
    let flaw = Flaw::IgnorePromisedValues;
    let config = case(flaw, true);
    let (invariant, length) = expected(flaw);
    // BFS is complete up to its depth bound: nothing one step shorter.
    let shorter = Bounds {
        depth_max: length as u32 - 1,
        ..BOUNDS
    };
    let report = run(&config, Strategy::Bfs, shorter);
    assert_eq!(
        report.verdict,
        Verdict::Bounded {
            bounds: vec![Bound::Depth]
        }
    );
    // DFS finds one too, no shorter.
    let report = run(&config, Strategy::Dfs, BOUNDS);
    let Verdict::Violation { actions, violation } = &report.verdict else {
        panic!("DFS: expected a violation, got {:?}", report.verdict);
    };
    assert!(actions.len() >= length, "{}", numbered(actions));
    let replayed = explore::replay(&config, actions).expect("DFS's counterexample replays");
    assert!(
        matches!(replayed, Replayed::Violation { index, .. } if index == actions.len() - 1),
        "{replayed:?}"
    );
    assert_eq!(violation.invariant, invariant);
}

#[test]
fn two_runs_give_the_same_counts_and_counterexample() {
    let config = case(Flaw::StaleLeaderRead, true);
    for strategy in [Strategy::Bfs, Strategy::Dfs] {
        let first = run(&config, strategy, BOUNDS);
        let second = run(&config, strategy, BOUNDS);
        assert!(matches!(first.verdict, Verdict::Violation { .. }));
        assert_eq!(first, second, "{strategy:?}");
    }
}

#[test]
fn fingerprints_are_equal_for_equal_states_and_differ_otherwise() {
    let config = case(Flaw::AcceptNotPersisted, false);
    let deliver = |to: u8| Action::Deliver {
        from: explore::Endpoint::Node(0),
        to: explore::Endpoint::Node(to),
        message: "Prepare(b1.0 from s0)".into(),
        duplicate: false,
        lost: false,
    };
    let election = Action::Timer {
        node: 0,
        timer: "election".into(),
    };
    // With a crash in the budget, n0's Prepare to itself waits for a step
    // of its own (a crash could come first).
    let local = Action::Local { node: 0 };
    let one_way = [election.clone(), local.clone(), deliver(1), deliver(2)];
    let other_way = [election.clone(), local, deliver(2), deliver(1)];
    let one = explore::fingerprints(&config, &one_way).unwrap();
    let other = explore::fingerprints(&config, &other_way).unwrap();
    // Same start, same end; different middles; every step changes the state.
    assert_eq!(one[0], other[0]);
    assert_eq!(one[4], other[4]);
    assert_ne!(one[3], other[3]);
    for pair in one.windows(2) {
        assert_ne!(pair[0], pair[1]);
    }
    assert_eq!(one, explore::fingerprints(&config, &one_way).unwrap());
    // An action that is not enabled is named.
    let error = explore::fingerprints(&config, &[deliver(1)]).unwrap_err();
    assert!(error.contains("action 0 is not enabled"), "{error}");
}

#[test]
fn a_counterexample_serializes_and_replays() {
    let config = case(Flaw::NoClientDedup, true);
    let report = run(&config, Strategy::Bfs, BOUNDS);
    let Verdict::Violation { actions, .. } = &report.verdict else {
        panic!("expected a violation, got {:?}", report.verdict);
    };
    let json = serde_json::to_string_pretty(actions).unwrap();
    assert!(json.contains(r#""action": "deliver""#), "{json}");
    assert!(json.contains(r#""from": "n0""#), "{json}");
    let parsed: Vec<Action> = serde_json::from_str(&json).unwrap();
    assert_eq!(&parsed, actions);
    let replayed = explore::replay(&config, &parsed).unwrap();
    assert!(
        matches!(replayed, Replayed::Violation { .. }),
        "{replayed:?}"
    );
    // The lines read like `replay --trace`.
    let listing = numbered(actions);
    assert!(listing.contains("n0  timer     election"), "{listing}");
    assert!(
        listing.contains("recv      (dup)") || listing.contains("(dup)"),
        "{listing}"
    );
}

#[test]
fn invalid_configurations_are_rejected_with_the_field() {
    let base = case(Flaw::AcceptNotPersisted, false);
    let mut config = base.clone();
    config.cluster.nodes = 6;
    let error = config.validate().unwrap_err();
    assert!(error.contains("cluster.nodes"), "{error}");
    let mut config = base.clone();
    config.scripts = vec![vec![ScriptedOp::Put {
        key: 0,
        at_us: Some(5),
        after_heal: false,
    }]];
    let error = config.validate().unwrap_err();
    assert!(error.contains("scripts[0][0].at_us"), "{error}");
    let mut config = base.clone();
    config.scripts = vec![vec![]; 4];
    let error = config.validate().unwrap_err();
    assert!(error.contains("scripts holds 4 clients"), "{error}");
    let mut config = base;
    config.targets = vec![3];
    let error = config.validate().unwrap_err();
    assert!(error.contains("targets names node 3"), "{error}");
    let error = explore::explore(&config, Strategy::Bfs, BOUNDS, &mut |_| true).unwrap_err();
    assert!(error.contains("targets"), "{error}");
}

/// The subtle case: 3 nodes, 2 clients with one Put each on one key, one
/// crash (and its restart); a proposer may crash after its Prepare and
/// before its Accept, and a rival must not choose a second value.
fn subtle_case(elections: u8, restarts: u8) -> ExploreConfig {
    ExploreConfig {
        cluster: cluster(None),
        scripts: vec![vec![put(0)], vec![put(0)]],
        targets: vec![0, 1],
        budgets: Budgets {
            crashes: 1,
            restarts,
            election_timers: elections,
            ..Budgets::default()
        },
    }
}

/// The subtle case, exhausted by DFS with every reduction: no violation
/// in any schedule within its budgets, and the counts the README gives
/// (about three minutes and 1.2 GB in a release build):
/// `cargo test --release -p sim --test explore subtle -- --ignored --nocapture`.
#[test]
#[ignore]
fn subtle_case_exhaustive() {
    let start = Instant::now();
    let bounds = Bounds {
        depth_max: 200,
        states_max: 100_000_000,
    };
    let report = explore::explore(&subtle_case(2, 0), Strategy::Dfs, bounds, &mut |_| true)
        .expect("a valid configuration");
    let elapsed = start.elapsed();
    println!(
        "subtle case: {:?} unique={} generated={} depth={} terminal={} {:.0}s {:.0} unique/s",
        report.verdict,
        report.states_unique,
        report.states_generated,
        report.depth_reached,
        report.states_terminal,
        elapsed.as_secs_f64(),
        report.states_per_second(elapsed)
    );
    assert_eq!(report.verdict, Verdict::Pass);
    assert_eq!(
        (report.states_unique, report.states_terminal),
        (7_616_553, 3_248)
    );
}

/// Speed, side by side with the anchor (see the report): the clean core
/// with two flaws' budgets, each exhausted by DFS and by BFS.
#[test]
#[ignore]
fn speed() {
    for flaw in [Flaw::AcceptNotPersisted, Flaw::NoClientDedup] {
        let config = case(flaw, false);
        for strategy in [Strategy::Dfs, Strategy::Bfs] {
            let start = Instant::now();
            let report = run(&config, strategy, BOUNDS);
            let elapsed = start.elapsed();
            println!(
                "{flaw} budgets, {strategy:?}: {:?} unique={} generated={} depth={} {:.2}s \
                 {:.0} unique/s {:.0} generated/s bytes/state={}",
                report.verdict,
                report.states_unique,
                report.states_generated,
                report.depth_reached,
                elapsed.as_secs_f64(),
                report.states_per_second(elapsed),
                report.states_generated as f64 / elapsed.as_secs_f64(),
                report.bytes_per_state
            );
        }
    }
}

/// Each flaw's counterexample, written as a schedule-driven configuration
/// and run by the simulator, breaks the same invariant at its last step;
/// the configuration survives a trip through its file form.
#[test]
fn counterexamples_replay_in_the_simulator() {
    for flaw in explorable() {
        let config = case(flaw, true);
        let report = run(&config, Strategy::Bfs, BOUNDS);
        let Verdict::Violation { actions, violation } = &report.verdict else {
            panic!("{flaw}: expected a violation, got {:?}", report.verdict);
        };
        let schedule = explore::schedule_of(&config, actions).expect("the schedule renders");
        assert!(schedule.len() >= actions.len().saturating_sub(1), "{flaw}");
        let sim_config = explore::sim_config(&config, schedule.clone());
        let json = serde_json::to_string_pretty(&sim_config).unwrap();
        let parsed: sim::SimConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(parsed, sim_config, "{flaw}: the file form round-trips");
        let outcome = sim::run(parsed).expect("a valid configuration");
        let sim::Verdict::Violation(found) = &outcome.verdict else {
            panic!(
                "{flaw}: the simulator ran the schedule to {:?}\n{}",
                outcome.verdict,
                numbered(&schedule)
            );
        };
        assert_eq!(
            found.invariant,
            violation.invariant,
            "{flaw}: {found}\n{}",
            numbered(&schedule)
        );
        // At the last action's step, or at a delivery it made within
        // itself (the simulator carries out all of a step's outputs first).
        assert!(outcome.events <= schedule.len() as u64, "{flaw}");
        assert!(outcome.events + 4 >= schedule.len() as u64, "{flaw}");
    }
}

/// Cases (by the flaw each was made for, explored clean) whose whole
/// space fits these bounds, so a search of them ends `Pass`.
const EXHAUSTED_CASES: [Flaw; 4] = [
    Flaw::AcceptNotPersisted,
    Flaw::PromiseNotPersisted,
    Flaw::DoubleCountVotes,
    Flaw::SkipGapFill,
];
const EXHAUSTED_BOUNDS: Bounds = Bounds {
    depth_max: 60,
    states_max: 2_000_000,
};

/// Sleep sets take fewer steps and reach exactly the same states: every
/// clean configuration of the flaw cases, exhausted both ways, has the
/// same distinct and terminal states.
#[test]
fn sleep_sets_reach_the_same_states_with_fewer_steps() {
    let bounds = EXHAUSTED_BOUNDS;
    for flaw in EXHAUSTED_CASES {
        let config = case(flaw, false);
        for strategy in [Strategy::Bfs, Strategy::Dfs] {
            let full = explore::explore_with(
                &config,
                strategy,
                bounds,
                explore::Reduction {
                    sleep_sets: false,
                    ..explore::Reduction::default()
                },
                &mut |_| true,
            )
            .unwrap();
            let reduced = run(&config, strategy, bounds);
            assert_eq!(full.verdict, Verdict::Pass, "{flaw} {strategy:?}");
            assert_eq!(reduced.verdict, Verdict::Pass, "{flaw} {strategy:?}");
            assert_eq!(
                full.states_unique, reduced.states_unique,
                "{flaw} {strategy:?}"
            );
            assert_eq!(
                (full.states_terminal, full.terminal_digest),
                (reduced.states_terminal, reduced.terminal_digest),
                "{flaw} {strategy:?}"
            );
            assert_eq!(
                full.depth_reached, reduced.depth_reached,
                "{flaw} {strategy:?}"
            );
            assert!(
                reduced.states_generated < full.states_generated,
                "{flaw} {strategy:?}: {} vs {}",
                reduced.states_generated,
                full.states_generated
            );
        }
    }
}

/// Configurations where messages die in flight, each small enough for a
/// search with no reduction: a crash with and without its restart, a
/// retransmit, two elections racing, heartbeats, leaderless proposals,
/// two clients racing to two nodes. No
/// drops or duplicates: a path that drops a dead message leaves a state
/// the discarding search matches with more budget left, not an equal one.
fn discard_cases() -> Vec<(&'static str, ExploreConfig)> {
    use paxos::Mode::{Leaderless, StableLeader};
    let budgets =
        |election_timers, crashes, restarts, retransmit_timers, heartbeat_timers| Budgets {
            election_timers,
            crashes,
            restarts,
            retransmit_timers,
            heartbeat_timers,
            client_redirects: 0,
            ..Budgets::default()
        };
    let two_puts = || (vec![vec![put(0)], vec![put(0)]], vec![0, 1]);
    let one_client = |script| (vec![script], vec![0]);
    let table = [
        (
            "two puts, one election, one crash",
            3,
            StableLeader,
            two_puts(),
            budgets(1, 1, 0, 0, 0),
        ),
        (
            "two puts, one election, a crash and its restart",
            3,
            StableLeader,
            two_puts(),
            budgets(1, 1, 1, 0, 0),
        ),
        (
            "two puts, one election, one retransmit",
            3,
            StableLeader,
            two_puts(),
            budgets(1, 0, 0, 1, 0),
        ),
        (
            "no operation, two elections, one crash",
            3,
            StableLeader,
            one_client(vec![]),
            budgets(2, 1, 0, 0, 0),
        ),
        (
            "no operation, two elections, one heartbeat",
            3,
            StableLeader,
            one_client(vec![]),
            budgets(2, 0, 0, 0, 1),
        ),
        (
            "one put, one election, one heartbeat",
            3,
            StableLeader,
            one_client(vec![put(0)]),
            budgets(1, 0, 0, 0, 1),
        ),
        (
            "two nodes, one put, two elections",
            2,
            StableLeader,
            one_client(vec![put(0)]),
            budgets(2, 0, 0, 0, 0),
        ),
        (
            "leaderless, two puts in a row, one election",
            3,
            Leaderless,
            one_client(vec![put(0), put(0)]),
            budgets(1, 0, 0, 0, 0),
        ),
        (
            "leaderless, one put, one crash",
            3,
            Leaderless,
            one_client(vec![put(0)]),
            budgets(0, 1, 0, 0, 0),
        ),
    ];
    let mut cases: Vec<(&'static str, ExploreConfig)> = table
        .into_iter()
        .map(|(name, nodes, mode, (scripts, targets), budgets)| {
            let config = ExploreConfig {
                cluster: paxos::Config::new(nodes, mode),
                scripts,
                targets,
                budgets,
            };
            (name, config)
        })
        .collect();
    for flaw in EXHAUSTED_CASES {
        cases.push((flaw.name(), case(flaw, false)));
    }
    cases
}

/// Discarding the messages a receiver ignores for good (`ignored`) loses
/// no state: every state a search with no reduction reaches, taken without
/// its dead messages, is one the discarding search reaches, and the
/// discarding search reaches nothing else. A rule that called a message
/// dead while a later state could still act on it would leave the second
/// set short (a heartbeat counted as dead once did). The reduction also
/// keeps the terminal states: the same count and digest.
#[test]
fn discarding_ignored_messages_merges_states_and_loses_none() {
    let mut merged_any = false;
    for (name, config) in discard_cases() {
        let (images, reached) =
            explore::discard_images(&config, 2_000_000).expect("small, clean cases");
        assert_eq!(images.len(), reached.len(), "{name}");
        assert!(images == reached, "{name}: the two sets differ");
        for strategy in [Strategy::Bfs, Strategy::Dfs] {
            let with = |discard_ignored| {
                explore::explore_with(
                    &config,
                    strategy,
                    EXHAUSTED_BOUNDS,
                    explore::Reduction {
                        discard_ignored,
                        ..explore::Reduction::default()
                    },
                    &mut |_| true,
                )
                .unwrap()
            };
            let (kept, discarded) = (with(false), with(true));
            assert_eq!(kept.verdict, Verdict::Pass, "{name} {strategy:?}");
            assert_eq!(discarded.verdict, Verdict::Pass, "{name} {strategy:?}");
            assert_eq!(
                discarded.states_unique as usize,
                reached.len(),
                "{name} {strategy:?}"
            );
            assert_eq!(
                (kept.states_terminal, kept.terminal_digest),
                (discarded.states_terminal, discarded.terminal_digest),
                "{name} {strategy:?}"
            );
            assert!(discarded.states_unique <= kept.states_unique, "{name}");
            merged_any |= discarded.states_unique < kept.states_unique;
            println!(
                "{name} {strategy:?}: {} states kept, {} discarded",
                kept.states_unique, discarded.states_unique
            );
        }
    }
    assert!(merged_any, "no case had a message to discard");
}

/// The counts of four exhausted clean configurations, by BFS and DFS, with
/// and without discarding ignored messages and sleep sets, pinned: a
/// change made for speed (how a state is stored, shared or fingerprinted)
/// must reach exactly the same states by exactly the same steps. A change
/// meant to alter the search re-pins them and says why. (Re-pinned when
/// discarding came in: the `discard=false` lines are the counts from
/// before it, unchanged.)
#[test]
fn counts_are_pinned() {
    let bounds = EXHAUSTED_BOUNDS;
    let mut seen = Vec::new();
    for flaw in EXHAUSTED_CASES {
        let config = case(flaw, false);
        for strategy in [Strategy::Bfs, Strategy::Dfs] {
            for discard_ignored in [true, false] {
                for sleep_sets in [true, false] {
                    let report = explore::explore_with(
                        &config,
                        strategy,
                        bounds,
                        explore::Reduction {
                            sleep_sets,
                            discard_ignored,
                        },
                        &mut |_| true,
                    )
                    .unwrap();
                    assert_eq!(report.verdict, Verdict::Pass, "{flaw} {strategy:?}");
                    seen.push(format!(
                        "{flaw} {strategy:?} discard={discard_ignored} sleep={sleep_sets}: \
                         unique={} generated={} terminal={} depth={}",
                        report.states_unique,
                        report.states_generated,
                        report.states_terminal,
                        report.depth_reached
                    ));
                }
            }
        }
    }
    let seen = seen.join("\n");
    println!("{seen}");
    assert_eq!(seen, PINNED_COUNTS.trim());
}

const PINNED_COUNTS: &str = "
accept-not-persisted Bfs discard=true sleep=true: unique=7840 generated=16933 terminal=84 depth=17
accept-not-persisted Bfs discard=true sleep=false: unique=7840 generated=29597 terminal=84 depth=17
accept-not-persisted Bfs discard=false sleep=true: unique=12648 generated=24023 terminal=84 depth=18
accept-not-persisted Bfs discard=false sleep=false: unique=12648 generated=45905 terminal=84 depth=18
accept-not-persisted Dfs discard=true sleep=true: unique=7840 generated=16462 terminal=84 depth=18
accept-not-persisted Dfs discard=true sleep=false: unique=7840 generated=29597 terminal=84 depth=18
accept-not-persisted Dfs discard=false sleep=true: unique=12648 generated=23497 terminal=84 depth=18
accept-not-persisted Dfs discard=false sleep=false: unique=12648 generated=45905 terminal=84 depth=18
promise-not-persisted Bfs discard=true sleep=true: unique=712 generated=1051 terminal=42 depth=9
promise-not-persisted Bfs discard=true sleep=false: unique=712 generated=1650 terminal=42 depth=9
promise-not-persisted Bfs discard=false sleep=true: unique=898 generated=1251 terminal=42 depth=10
promise-not-persisted Bfs discard=false sleep=false: unique=898 generated=2004 terminal=42 depth=10
promise-not-persisted Dfs discard=true sleep=true: unique=712 generated=1033 terminal=42 depth=10
promise-not-persisted Dfs discard=true sleep=false: unique=712 generated=1650 terminal=42 depth=10
promise-not-persisted Dfs discard=false sleep=true: unique=898 generated=1233 terminal=42 depth=10
promise-not-persisted Dfs discard=false sleep=false: unique=898 generated=2004 terminal=42 depth=10
double-count-votes Bfs discard=true sleep=true: unique=1364 generated=3701 terminal=8 depth=13
double-count-votes Bfs discard=true sleep=false: unique=1364 generated=5093 terminal=8 depth=13
double-count-votes Bfs discard=false sleep=true: unique=3800 generated=9538 terminal=8 depth=15
double-count-votes Bfs discard=false sleep=false: unique=3800 generated=14921 terminal=8 depth=15
double-count-votes Dfs discard=true sleep=true: unique=1364 generated=3701 terminal=8 depth=13
double-count-votes Dfs discard=true sleep=false: unique=1364 generated=5093 terminal=8 depth=13
double-count-votes Dfs discard=false sleep=true: unique=3800 generated=9538 terminal=8 depth=15
double-count-votes Dfs discard=false sleep=false: unique=3800 generated=14921 terminal=8 depth=15
skip-gap-fill Bfs discard=true sleep=true: unique=11789 generated=46537 terminal=12 depth=18
skip-gap-fill Bfs discard=true sleep=false: unique=11789 generated=58863 terminal=12 depth=18
skip-gap-fill Bfs discard=false sleep=true: unique=78341 generated=290132 terminal=12 depth=21
skip-gap-fill Bfs discard=false sleep=false: unique=78341 generated=426655 terminal=12 depth=21
skip-gap-fill Dfs discard=true sleep=true: unique=11789 generated=46537 terminal=12 depth=18
skip-gap-fill Dfs discard=true sleep=false: unique=11789 generated=58863 terminal=12 depth=18
skip-gap-fill Dfs discard=false sleep=true: unique=78341 generated=290132 terminal=12 depth=21
skip-gap-fill Dfs discard=false sleep=false: unique=78341 generated=426655 terminal=12 depth=21
";

/// The README's stale-read example (a Get and a Put, one redirect each):
/// its counterexample replays in the simulator. Node transitions reused
/// from other paths (`memo`) once made it report a read the simulator
/// does not confirm: the linearizability checker tells values apart by
/// pointer, and a reused node held another path's allocation of the
/// written value.
#[test]
fn reused_transitions_keep_the_written_values_identity() {
    let config = ExploreConfig {
        cluster: cluster(Some(Flaw::StaleLeaderRead)),
        scripts: vec![vec![explore::cases::get(0)], vec![put(0)]],
        targets: vec![0, 1],
        budgets: Budgets {
            election_timers: 2,
            client_redirects: 1,
            ..Budgets::default()
        },
    };
    let report = run(&config, Strategy::Bfs, BOUNDS);
    let Verdict::Violation { actions, violation } = &report.verdict else {
        panic!("expected a violation, got {:?}", report.verdict);
    };
    assert_eq!(violation.invariant, Invariant::Linearizability);
    assert_eq!(actions.len(), 10, "the shortest counterexample");
    let schedule = explore::schedule_of(&config, actions).expect("the schedule renders");
    let outcome = sim::run(explore::sim_config(&config, schedule)).expect("a valid configuration");
    assert!(
        matches!(&outcome.verdict, sim::Verdict::Violation(found) if found.invariant == Invariant::Linearizability),
        "the simulator ran it to {:?}",
        outcome.verdict
    );
}
