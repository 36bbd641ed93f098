//! The harsher world: partial heals, message-triggered crashes in the
//! random plan, efficiency budgets, and the whole configuration space. Each
//! capability does what it says, and each is what catches a bug the old
//! world let pass.

use paxos::{Flaw, Flaws, Mode};
use sim::{
    Exclusion, FaultRates, HealPlan, Invariant, NetworkConfig, Pins, RunOptions, RunReport,
    SimConfig, Simulation, Trigger, Verdict,
};

fn traced(config: SimConfig) -> RunReport {
    let options = RunOptions {
        trace: true,
        ..RunOptions::default()
    };
    Simulation::new(config, options).unwrap().run()
}

/// Five stable-leader nodes, four clients with work left for the heal
/// phase (it begins at 0.4 s), a quiet network; the heal keeps nodes 3 and
/// 4 out, `how`.
fn kept_out(how: Exclusion) -> SimConfig {
    let pins = Pins {
        nodes: Some(5),
        mode: Some(Mode::StableLeader),
        clients: Some(4),
        ops_per_client: Some(20),
        ..Pins::default()
    };
    let mut config = SimConfig::draw(1, &pins);
    config.network = NetworkConfig {
        delay_us_min: 200,
        delay_us_max: 2_000,
        tail_ppm: 0,
        tail_delay_us_max: None,
        drop_ppm: 0,
        duplicate_ppm: 0,
    };
    config.fault_rates = FaultRates::NONE;
    config.chaos_us = 400_000;
    config.heal_when_clients_done = false;
    config.heal = HealPlan {
        core_nodes: None,
        core: Some(vec![0, 1, 2]),
        excluded: Some(how),
    };
    config
}

/// The trace lines after the heal phase began and every message sent
/// before it (at most 2 ms on the way) arrived.
fn after_heal(report: &RunReport) -> Vec<&sim::TraceEvent> {
    let heal = report.heal_us.expect("the heal phase began");
    report
        .trace
        .iter()
        .filter(|line| line.time_us > heal + 2_000)
        .collect()
}

fn excluded(node: Option<u8>) -> bool {
    matches!(node, Some(3 | 4))
}

#[test]
fn a_crashed_node_stays_down_and_the_core_alone_must_converge() {
    let report = traced(kept_out(Exclusion::Crashed));
    assert_eq!(report.verdict, Verdict::Pass);
    let core = report.heal_core.as_ref().unwrap();
    assert_eq!(
        (core.core.clone(), core.excluded.clone()),
        (vec![0, 1, 2], vec![3, 4])
    );
    assert_eq!(report.applied_upto[3], None, "kept down");
    assert_eq!(report.applied_upto[4], None, "kept down");
    assert!(
        report.applied_upto[..3]
            .iter()
            .all(|applied| applied.is_some())
    );
    assert!(
        after_heal(&report)
            .iter()
            .all(|line| !(excluded(line.node) && line.event == "restart"))
    );
    assert!(
        report.history.ops.iter().all(|op| op.complete.is_some()),
        "every operation finished"
    );
}

#[test]
fn a_paused_node_handles_nothing_in_the_heal_phase() {
    let report = traced(kept_out(Exclusion::Paused));
    assert_eq!(report.verdict, Verdict::Pass);
    let after = after_heal(&report);
    assert!(
        after
            .iter()
            .any(|line| excluded(line.node) && line.event == "deferred")
    );
    assert!(!after.iter().any(|line| {
        excluded(line.node) && matches!(line.event, "recv" | "timer" | "request" | "resume")
    }));
}

#[test]
fn a_cut_node_runs_but_no_link_to_the_core_carries_anything() {
    let report = traced(kept_out(Exclusion::Cut));
    assert_eq!(report.verdict, Verdict::Pass);
    let after = after_heal(&report);
    assert!(
        after
            .iter()
            .any(|line| excluded(line.node) && line.event == "timer")
    );
    for line in &after {
        if line.event == "recv" {
            let from: u8 = line.detail.rsplit("<- n").next().unwrap().parse().unwrap();
            assert_eq!(excluded(line.node), excluded(Some(from)), "{line}");
        }
    }
    assert!(after.iter().any(|line| line.event == "blocked"));
}

#[test]
fn a_node_cut_one_way_still_talks_to_the_core_and_hears_nothing() {
    let report = traced(kept_out(Exclusion::CutOneWay));
    assert_eq!(report.verdict, Verdict::Pass);
    let after = after_heal(&report);
    let recv_from = |line: &sim::TraceEvent| -> Option<u8> {
        (line.event == "recv").then(|| line.detail.rsplit("<- n").next().unwrap().parse().unwrap())
    };
    let core_hears_excluded = after.iter().any(|line| {
        !excluded(line.node) && recv_from(line).is_some_and(|from| excluded(Some(from)))
    });
    assert!(
        core_hears_excluded,
        "the excluded nodes still reach the core"
    );
    let excluded_hears_core = after.iter().any(|line| {
        excluded(line.node) && recv_from(line).is_some_and(|from| !excluded(Some(from)))
    });
    assert!(!excluded_hears_core, "nothing from the core reaches them");
}

#[test]
fn a_leader_cut_one_way_is_replaced() {
    // The node that leads when the heal begins is the one kept out, one
    // way: it can still heartbeat the core and hears nothing back. The
    // core must elect a leader of its own and finish the work.
    let mut found = 0;
    for seed in 0..40 {
        let mut config = kept_out(Exclusion::CutOneWay);
        config.seed = seed;
        let probe = traced(config.clone());
        let Some(leader) = leader_at_heal(&probe) else {
            continue;
        };
        let others: Vec<u8> = (0..5).filter(|node| *node != leader).collect();
        config.heal.core = Some(others[..3].to_vec());
        let report = sim::run(config).unwrap();
        assert_eq!(
            report.verdict,
            Verdict::Pass,
            "seed {seed}, n{leader} kept out"
        );
        found += 1;
    }
    assert!(found >= 5, "only {found} runs had a leader at the heal");
}

/// The last node to heartbeat before the heal phase, if it still leads.
fn leader_at_heal(report: &RunReport) -> Option<u8> {
    let heal = report.heal_us?;
    report
        .trace
        .iter()
        .filter(|line| line.time_us <= heal && line.detail.starts_with("Heartbeat"))
        .filter_map(|line| line.detail.rsplit("<- n").next()?.parse().ok())
        .next_back()
}

// ------------------------------------------------ what catches what, and why

/// The first of `seeds` whose run `invariant` catches with `pins`.
fn first_caught(pins: &Pins, invariant: Invariant, seeds: u64) -> Option<u64> {
    (0..seeds).find(|seed| {
        let Some(report) = sim::run_admitted(SimConfig::draw(*seed, pins)).unwrap() else {
            return false;
        };
        matches!(report.verdict, Verdict::Violation(violation) if violation.invariant == invariant)
    })
}

fn flawed(flaw: Flaw) -> Pins {
    Pins {
        flaws: Flaws::NONE.with(flaw),
        ..Pins::default()
    }
}

#[test]
fn a_core_that_needs_every_node_fails_only_under_a_partial_heal() {
    let partial = flawed(Flaw::DecideWithAll);
    let found = first_caught(&partial, Invariant::Liveness, 1_000).expect("caught");
    // The same seeds with every node healed (a pinned core size of 7 is
    // clamped to each cluster's size): the flaw goes unnoticed.
    let full = Pins {
        core_nodes: Some(7),
        ..partial
    };
    assert_eq!(first_caught(&full, Invariant::Liveness, found + 100), None);
}

#[test]
fn a_ballot_recovery_bug_needs_a_crash_at_a_protocol_moment() {
    let triggered = flawed(Flaw::RoundFromPromise);
    let found = first_caught(&triggered, Invariant::BallotMonotonic, 1_000).expect("caught");
    let timed_only = Pins {
        triggered_crashes: Some(0),
        ..triggered
    };
    assert_eq!(
        first_caught(&timed_only, Invariant::BallotMonotonic, found + 300),
        None
    );
}

#[test]
fn learning_with_the_phase1_quorum_is_caught_once_q1_can_be_below_q2() {
    let flaw = flawed(Flaw::LearnWithPhase1Quorum);
    let seed = first_caught(&flaw, Invariant::LearnerAgreement, 1_000).expect("caught");
    let config = SimConfig::draw(seed, &flaw);
    let (q1, q2) = sim::check::quorum_sizes(&config.cluster);
    assert!(q1 < q2, "seed {seed}: caught with q1 {q1}, q2 {q2}");
}

#[test]
fn even_size_majority_is_caught_on_an_even_cluster() {
    let flaw = flawed(Flaw::EvenSizeMajority);
    let seed = first_caught(&flaw, Invariant::LearnerAgreement, 1_000).expect("caught");
    assert_eq!(
        SimConfig::draw(seed, &flaw).cluster.nodes % 2,
        0,
        "seed {seed}"
    );
}

// ------------------------------------------------------ the random fault plan

#[test]
fn triggered_crashes_materialize_into_the_explicit_schedule() {
    let mut checked = 0;
    for seed in 0..60 {
        let config = SimConfig::draw(seed, &Pins::default());
        if config.fault_rates.triggered_crashes == 0 || sim::admission::refusal_expected(&config) {
            continue;
        }
        let original = sim::run(config.clone()).unwrap();
        let (materialized, _) = sim::shrink::materialize(&config).unwrap();
        let triggered = materialized
            .faults
            .iter()
            .filter(|fault| !matches!(fault.trigger, Trigger::At { .. }))
            .count();
        assert_eq!(triggered as u32, config.fault_rates.triggered_crashes);
        let replay = sim::run(materialized).unwrap();
        assert_eq!(replay.digest, original.digest, "seed {seed}");
        checked += 1;
    }
    assert!(checked >= 10, "{checked} seeds with triggered crashes");
}

// ------------------------------------------------------------------ budgets

/// The first clean default seed whose report satisfies `wanted`.
fn clean_seed(wanted: impl Fn(&RunReport) -> bool) -> SimConfig {
    (0..2_000)
        .map(|seed| SimConfig::draw(seed, &Pins::default()))
        .find(|config| {
            sim::run_admitted(config.clone())
                .unwrap()
                .is_some_and(|report| report.verdict.is_pass() && wanted(&report))
        })
        .expect("such a seed within 2,000")
}

fn violated(config: SimConfig) -> Invariant {
    match sim::run(config).unwrap().verdict {
        Verdict::Violation(violation) => violation.invariant,
        other => panic!("expected a budget violation, got {other:?}"),
    }
}

#[test]
fn each_budget_is_counted_in_a_real_run_and_enforced() {
    let mut config = clean_seed(|report| report.efficiency.leader_changes >= 1);
    config.limits.leader_changes_max = 0;
    assert_eq!(violated(config), Invariant::LeaderChangeBudget);

    let mut config = clean_seed(|report| report.efficiency.messages_per_command().is_some());
    config.limits.messages_per_command_max = 1;
    assert_eq!(violated(config), Invariant::MessageBudget);

    let mut config = clean_seed(|report| report.efficiency.retries_per_op_max >= 1);
    config.limits.retries_per_op_max = 0;
    assert_eq!(violated(config), Invariant::RetryBudget);
}

#[test]
fn followers_that_never_reset_their_election_timer_blow_the_leader_change_budget() {
    let flaw = flawed(Flaw::HeartbeatKeepsNoTimer);
    assert!(first_caught(&flaw, Invariant::LeaderChangeBudget, 1_000).is_some());
}
