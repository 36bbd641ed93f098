//! The exhaustive explorer: every planted flaw found with a shortest
//! counterexample, the clean core passing the same budgets, bounds reported
//! as bounds, fingerprints and determinism.
//!
//! Each flaw has one small configuration (`case`) that names the budgets
//! it needs; the clean core is explored with the same budgets. The
//! `#[ignore]`d `flaw_table` measures them all in one run (release build):
//! `cargo test --release -p sim --test explore -- --ignored --nocapture`.

use std::time::Instant;

use paxos::{Config, Flaw, Mode};
use sim::Invariant;
use sim::ScriptedOp;
use sim::explore::{
    self, Action, Bound, Bounds, Budgets, ExploreConfig, ExploreReport, Replayed, Strategy, Verdict,
};

fn put(key: u32) -> ScriptedOp {
    ScriptedOp::Put { key, at_us: None }
}

fn get(key: u32) -> ScriptedOp {
    ScriptedOp::Get { key, at_us: None }
}

/// A 3-node stable-leader cluster with `flaw` on, if any.
fn cluster(flaw: Option<Flaw>) -> Config {
    let mut cluster = Config::new(3, Mode::StableLeader);
    if let Some(flaw) = flaw {
        cluster.flaws = cluster.flaws.with(flaw);
    }
    cluster
}

/// The configuration that exposes `flaw`: the fewest clients, operations
/// and budgets its shortest counterexample needs. With `None` for the
/// cluster's flaw, the same budgets explore the clean core.
fn case(flaw: Flaw, planted: bool) -> ExploreConfig {
    let elections = |count| Budgets {
        election_timers: count,
        ..Budgets::default()
    };
    let crash_once = |budgets: Budgets| Budgets {
        crashes: 1,
        restarts: 1,
        ..budgets
    };
    let (scripts, targets, budgets, quorum_phase2) = match flaw {
        Flaw::PromiseNotPersisted => (vec![vec![]], vec![], crash_once(elections(1)), None),
        Flaw::AcceptNotPersisted => (vec![vec![put(0)]], vec![], crash_once(elections(1)), None),
        Flaw::IgnorePromisedValues => (vec![vec![put(0)]], vec![], elections(2), None),
        Flaw::BallotReuseAfterRestart => (vec![vec![]], vec![], crash_once(elections(2)), None),
        Flaw::BallotWithoutNodeId => (
            vec![vec![put(0)], vec![put(0)]],
            vec![0, 1],
            elections(2),
            None,
        ),
        Flaw::AcceptBelowPromise => (vec![vec![put(0)]], vec![], elections(2), None),
        Flaw::MinorityQuorum => (
            vec![vec![put(0)], vec![put(0)]],
            vec![0, 1],
            elections(2),
            None,
        ),
        Flaw::DoubleCountVotes => (
            vec![vec![put(0)]],
            vec![],
            Budgets {
                duplicates: 1,
                ..elections(1)
            },
            Some(3),
        ),
        Flaw::LearnAcrossBallots => (vec![vec![put(0)]], vec![], elections(2), None),
        Flaw::StaleLeaderRead => (
            vec![vec![get(0)], vec![put(0)]],
            vec![0, 1],
            elections(2),
            None,
        ),
        Flaw::NoClientDedup => (
            vec![vec![put(0)]],
            vec![],
            Budgets {
                duplicates: 1,
                ..elections(1)
            },
            None,
        ),
        Flaw::SkipGapFill => (
            vec![vec![put(0)], vec![put(1)]],
            vec![0, 0],
            elections(1),
            None,
        ),
    };
    let mut cluster = cluster(planted.then_some(flaw));
    cluster.quorum_phase2 = quorum_phase2;
    ExploreConfig {
        cluster,
        scripts,
        targets,
        budgets,
    }
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
        Flaw::PromiseNotPersisted => (Invariant::PromiseMonotonic, 3),
        Flaw::AcceptNotPersisted => (Invariant::AcceptorDurability, 7),
        Flaw::IgnorePromisedValues => (Invariant::SingleChosenValue, 10),
        Flaw::BallotReuseAfterRestart => (Invariant::BallotMonotonic, 4),
        Flaw::BallotWithoutNodeId => (Invariant::UniqueBallotValue, 10),
        Flaw::AcceptBelowPromise => (Invariant::AcceptBelowPromise, 7),
        Flaw::MinorityQuorum => (Invariant::SingleChosenValue, 6),
        Flaw::DoubleCountVotes => (Invariant::LearnerAgreement, 8),
        Flaw::LearnAcrossBallots => (Invariant::LearnerAgreement, 8),
        Flaw::StaleLeaderRead => (Invariant::Linearizability, 14),
        Flaw::NoClientDedup => (Invariant::Linearizability, 11),
        Flaw::SkipGapFill => (Invariant::ReplicaOrder, 9),
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
            assert_eq!(index, actions.len() - 1, "{flaw}");
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
    for &flaw in Flaw::ALL {
        let mut depth = BOUNDS.depth_max;
        for planted in [true, false] {
            let config = case(flaw, planted);
            let bounds = Bounds {
                depth_max: depth,
                states_max: 5_000_000,
            };
            let start = Instant::now();
            let mut within_a_minute = |_: &explore::Progress| start.elapsed().as_secs() < 60;
            let report = explore::explore(&config, Strategy::Bfs, bounds, &mut within_a_minute)
                .expect("a valid configuration");
            let elapsed = start.elapsed();
            let (name, verdict) = match &report.verdict {
                Verdict::Violation { actions, violation } => {
                    depth = actions.len() as u32;
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
}

#[test]
fn clean_core_passes_a_flaw_budget_exhaustively() {
    let report = run(
        &case(Flaw::AcceptNotPersisted, false),
        Strategy::Bfs,
        BOUNDS,
    );
    assert_eq!(report.verdict, Verdict::Pass, "{report:?}");
    assert!(report.states_terminal > 0);
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
}
