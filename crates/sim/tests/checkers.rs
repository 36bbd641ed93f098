//! The checkers catch every planted flaw, stay quiet without one, and each
//! can fail: a checker that cannot fail is a defect.

use std::sync::Arc;

use paxos::{Ballot, Command, Flaw, Flaws, Mode, Op, OpResult, Request};
use sim::check::{Place, SafetyChecker, ValueId};
use sim::{
    Admission, Invariant, Pins, ProbePoint, Probes, RunOptions, SimConfig, Simulation, Verdict,
};

/// The bound the issue sets: every flaw is caught within this many seeds.
const FLAW_SEEDS_MAX: u64 = 1_000;

/// One default seed's run; `None` when validation refused its quorums, as
/// the specification says it must (a share of the swarm asks for that).
fn run_seed(seed: u64, flaws: Flaws, checkers: bool) -> Option<sim::RunReport> {
    let pins = Pins {
        flaws,
        ..Pins::default()
    };
    let options = RunOptions {
        checkers,
        ..RunOptions::default()
    };
    match sim::admit(SimConfig::draw(seed, &pins), options).unwrap() {
        Admission::Run(simulation) => Some(simulation.run()),
        Admission::Refused { .. } => None,
    }
}

/// The first seed from 0 whose run fails, and how.
fn first_failure(flaws: Flaws, checkers: bool, seeds: u64) -> Option<(u64, Verdict)> {
    (0..seeds).find_map(|seed| {
        let report = run_seed(seed, flaws, checkers)?;
        (!report.verdict.is_pass()).then_some((seed, report.verdict))
    })
}

/// The first seed from 0 whose run `invariant` catches.
fn first_caught(flaws: Flaws, invariant: Invariant, seeds: u64) -> Option<u64> {
    (0..seeds).find(|seed| {
        run_seed(*seed, flaws, true).is_some_and(|report| {
            matches!(report.verdict, Verdict::Violation(violation) if violation.invariant == invariant)
        })
    })
}

/// The bound issue 13 sets for the disk's flaws: within 2,000 seeds.
const DISK_FLAW_SEEDS_MAX: u64 = 2_000;

fn assert_caught(flaw: Flaw) {
    assert_caught_within(flaw, FLAW_SEEDS_MAX);
}

fn assert_caught_within(flaw: Flaw, seeds: u64) {
    let expected = Invariant::catching(flaw);
    let found = first_caught(Invariant::shown_with(flaw), expected, seeds);
    assert!(
        found.is_some(),
        "flaw {flaw} was not caught by {} within {seeds} seeds",
        expected.name()
    );
}

macro_rules! disk_flaw_tests {
    ($($test:ident: $flaw:ident,)*) => {$(
        #[test]
        fn $test() {
            assert_caught_within(Flaw::$flaw, DISK_FLAW_SEEDS_MAX);
        }
    )*};
}

// A core whose batch is Send(Promise) then Persist(promise), or
// Send(Accepted) then Persist(acceptance), and the two recovery flaws.
disk_flaw_tests! {
    promise_sent_before_persist_is_caught: PromiseSentBeforePersist,
    accepted_sent_before_persist_is_caught: AcceptedSentBeforePersist,
    trust_corrupt_record_is_caught: TrustCorruptRecord,
    vote_while_recovering_is_caught: VoteWhileRecovering,
}

macro_rules! flaw_tests {
    ($($test:ident: $flaw:ident,)*) => {$(
        #[test]
        fn $test() {
            assert_caught(Flaw::$flaw);
        }
    )*};
}

flaw_tests! {
    promise_not_persisted_is_caught: PromiseNotPersisted,
    accept_not_persisted_is_caught: AcceptNotPersisted,
    ignore_promised_values_is_caught: IgnorePromisedValues,
    ballot_reuse_after_restart_is_caught: BallotReuseAfterRestart,
    ballot_without_node_id_is_caught: BallotWithoutNodeId,
    accept_below_promise_is_caught: AcceptBelowPromise,
    minority_quorum_is_caught: MinorityQuorum,
    double_count_votes_is_caught: DoubleCountVotes,
    learn_across_ballots_is_caught: LearnAcrossBallots,
    stale_leader_read_is_caught: StaleLeaderRead,
    no_client_dedup_is_caught: NoClientDedup,
    skip_gap_fill_is_caught: SkipGapFill,
    decide_with_all_is_caught: DecideWithAll,
    learn_with_phase1_quorum_is_caught: LearnWithPhase1Quorum,
    even_size_majority_is_caught: EvenSizeMajority,
    validation_off_by_one_is_caught: ValidationOffByOne,
    round_from_promise_is_caught: RoundFromPromise,
    same_as_always_true_is_caught: SameAsAlwaysTrue,
    heartbeat_keeps_no_timer_is_caught: HeartbeatKeepsNoTimer,
}

#[test]
fn every_flaw_has_a_test_above() {
    // The macro list names each flaw once; a new flaw must be added there.
    assert_eq!(Flaw::ALL.len(), 23);
}

#[test]
fn without_a_flaw_the_same_campaign_passes() {
    let mut refused = 0;
    for seed in 0..FLAW_SEEDS_MAX {
        let Some(report) = run_seed(seed, Flaws::NONE, true) else {
            refused += 1;
            continue;
        };
        assert!(
            report.verdict.is_pass(),
            "seed {seed} failed without a flaw: {:?}",
            report.verdict
        );
    }
    assert!(
        refused > 0,
        "the swarm asks for unsafe quorums now and then"
    );
}

#[test]
fn a_default_campaign_of_500_seeds_hits_every_probe() {
    let mut probes = Probes::default();
    for seed in 0..500 {
        match sim::admit(
            SimConfig::draw(seed, &Pins::default()),
            RunOptions::default(),
        )
        .unwrap()
        {
            Admission::Run(simulation) => probes.add(&simulation.run().probes),
            Admission::Refused {
                probes: refused, ..
            } => probes.add(&refused),
        }
    }
    for probe in ProbePoint::ALL {
        assert!(probes.count(probe) > 0, "probe {} never hit", probe.name());
    }
}

#[test]
fn with_the_checkers_off_the_flaws_go_unnoticed() {
    // The detection above comes from the checkers and nothing else: switch
    // them off and the same flawed seeds run to their end unjudged. Such a
    // run is `unchecked`, never a pass.
    for flaw in [
        Flaw::MinorityQuorum,
        Flaw::AcceptBelowPromise,
        Flaw::NoClientDedup,
    ] {
        let flaws = Flaws::NONE.with(flaw);
        let (seed, _) = first_failure(flaws, true, FLAW_SEEDS_MAX).expect("caught with checkers");
        let verdict = run_seed(seed, flaws, false).unwrap().verdict;
        assert_eq!(verdict, Verdict::Unchecked, "{flaw} seed {seed}");
        assert!(!verdict.is_pass());
        assert_eq!(verdict.label(), "unchecked");
    }
}

/// The configuration of scenario `name` in `scenarios/` (its own keys,
/// `name`, `description` and `expect`, taken out).
fn scenario_config(name: &str) -> SimConfig {
    let path = format!("{}/../../scenarios/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    let mut value: serde_json::Value = serde_json::from_str(&text).unwrap();
    let object = value.as_object_mut().unwrap();
    for key in ["name", "description", "expect"] {
        object.remove(key);
    }
    serde_json::from_value(value).unwrap()
}

#[test]
fn destroying_two_of_three_copies_of_a_chosen_value_is_caught() {
    // Explicit faults bypass the atlas: nodes 1 and 2 restart with their
    // records of slot 0 corrupt while node 0, the last copy, is down.
    let config = scenario_config("chosen-value-durable-two-copies-corrupt");
    let report = sim::run(config.clone()).unwrap();
    let Verdict::Violation(violation) = &report.verdict else {
        panic!("expected chosen-value-durable, got {:?}", report.verdict);
    };
    assert_eq!(violation.invariant, Invariant::ChosenValueDurable);
    assert_eq!(violation.slot, Some(0));
    assert!(
        violation
            .message
            .contains("keeps 1 intact copies on disk [n0]")
    );
    assert!(
        (violation.evidence.iter()).any(|e| e.note.contains("node 2: corrupt record accepted s0")),
        "the report lists the storage faults before it"
    );

    // One copy fewer is within what a quorum survives: without node 2's
    // damage, two copies stay and the same run passes.
    let mut spared = config;
    spared
        .faults
        .retain(|fault| !matches!(fault.action, sim::FaultAction::Corrupt { node: 2, .. }));
    assert_eq!(spared.faults.len(), 5);
    let report = sim::run(spared).unwrap();
    assert!(report.verdict.is_pass(), "{:?}", report.verdict);
}

#[test]
fn a_run_cut_short_is_stopped_not_a_pass() {
    let config = SimConfig::draw(3, &Pins::default());
    let whole = sim::run(config.clone()).unwrap();
    assert!(whole.verdict.is_pass(), "{:?}", whole.verdict);
    let options = RunOptions {
        stop_after_event: Some(10),
        ..RunOptions::default()
    };
    let cut = Simulation::new(config, options).unwrap().run();
    assert_eq!(cut.verdict, Verdict::Stopped { after_event: 10 });
    assert_eq!(cut.events, 11);
    assert!(!cut.verdict.is_pass());
    assert_eq!(cut.verdict.label(), "stopped");
    assert_eq!(cut.verdict.invariant_name(), Some("stopped"));
}

#[test]
fn a_violation_report_names_slot_values_ballots_and_acceptors() {
    let flaws = Flaws::NONE.with(Flaw::IgnorePromisedValues);
    let (seed, verdict) = first_failure(flaws, true, FLAW_SEEDS_MAX).unwrap();
    let Verdict::Violation(violation) = verdict else {
        panic!("seed {seed}: {verdict:?}");
    };
    assert_eq!(violation.invariant, Invariant::SingleChosenValue);
    assert!(violation.slot.is_some());
    assert!(violation.time_us > 0 && violation.event > 0);
    assert_eq!(violation.evidence.len(), 2);
    for evidence in &violation.evidence {
        assert!(evidence.ballot.is_some());
        assert!(!evidence.acceptors.is_empty());
    }
    assert_ne!(violation.evidence[0].value, violation.evidence[1].value);
    // The events leading up to it can be fetched by running again.
    let config = SimConfig::draw(
        seed,
        &Pins {
            flaws,
            ..Pins::default()
        },
    );
    let tail = sim::trace_until(&config, violation.event, 20).unwrap();
    assert_eq!(tail.len(), 20);
    assert_eq!(tail.last().unwrap().index, violation.event);
}

// ---------------------------------------------------------------- liveness

#[test]
fn liveness_fails_when_no_leader_can_emerge_in_time() {
    // A stable-leader cluster whose nodes wait ten times the liveness bound
    // before campaigning: no leader emerges in time, so nothing completes.
    let pins = Pins {
        nodes: Some(3),
        mode: Some(Mode::StableLeader),
        clients: Some(2),
        ..Pins::default()
    };
    let mut config = SimConfig::draw(3, &pins);
    config.fault_rates = sim::FaultRates::NONE;
    config.cluster.timing.election_timeout_us = 10 * config.limits.liveness_us;
    let report = sim::run(config).unwrap();
    let Verdict::Violation(violation) = report.verdict else {
        panic!("expected a liveness violation, got {:?}", report.verdict);
    };
    assert_eq!(violation.invariant, Invariant::Liveness);
    assert!(
        violation.message.contains("pending: [client"),
        "{}",
        violation.message
    );
    assert!(violation.message.contains("lead"), "{}", violation.message);
}

#[test]
fn a_limit_is_reported_as_a_limit_not_a_pass() {
    let mut config = SimConfig::draw(1, &Pins::default());
    config.limits.steps_max = 50;
    let report = sim::run(config).unwrap();
    assert_eq!(report.verdict, Verdict::Limit(sim::LimitKind::Steps));
    assert_eq!(report.verdict.outcome(), "limit");
}

#[test]
fn an_exhausted_linearizability_budget_is_inconclusive_not_a_pass() {
    let pins = Pins {
        clients: Some(6),
        keys: Some(1),
        ops_per_client: Some(30),
        ..Pins::default()
    };
    let mut config = SimConfig::draw(2, &pins);
    config.limits.linearizability_steps_max = 3;
    let report = sim::run(config).unwrap();
    assert!(
        matches!(report.verdict, Verdict::Inconclusive { .. }),
        "{:?}",
        report.verdict
    );
}

// ------------------------------------- the safety checker on planted events

fn put(client: u32, seq: u64, value: &str) -> Command {
    Command::Client(Arc::new(Request {
        client,
        seq,
        op: Op::Put {
            key: "user_profile:1".into(),
            value: Arc::new(serde_json::json!({ "name": value })),
        },
    }))
}

fn place() -> Place {
    Place {
        event: 7,
        time_us: 70,
    }
}

fn ballot(round: u64, node: u8) -> Ballot {
    Ballot::new(round, node)
}

#[test]
fn the_ghost_catches_two_values_chosen_in_one_slot() {
    let mut checker = SafetyChecker::new(3, 2);
    let (a, b) = (put(0, 1, "a"), put(1, 1, "b"));
    assert_eq!(
        checker.on_accepted(place(), 0, ballot(1, 0), 4, &a),
        Ok(false)
    );
    assert_eq!(
        checker.on_accepted(place(), 1, ballot(1, 0), 4, &a),
        Ok(true)
    );
    // A later ballot choosing another value: the headline violation.
    checker
        .on_accepted(place(), 2, ballot(2, 2), 4, &b)
        .unwrap();
    let violation = checker
        .on_accepted(place(), 1, ballot(2, 2), 4, &b)
        .unwrap_err();
    assert_eq!(violation.invariant, Invariant::SingleChosenValue);
    assert_eq!(violation.slot, Some(4));
    assert_eq!(violation.evidence[0].acceptors, vec![0, 1]);
    assert_eq!(violation.evidence[1].acceptors, vec![1, 2]);
}

#[test]
fn chosen_stays_chosen_after_its_acceptors_forget() {
    let mut checker = SafetyChecker::new(3, 2);
    let (a, b) = (put(0, 1, "a"), put(1, 1, "b"));
    checker
        .on_accepted(place(), 0, ballot(1, 0), 0, &a)
        .unwrap();
    checker
        .on_accepted(place(), 1, ballot(1, 0), 0, &a)
        .unwrap();
    checker.on_crash(0);
    checker.on_crash(1);
    assert_eq!(checker.chosen(0), Some(ValueId::of(&a)));
    let violation = checker.on_learned(place(), 2, 0, &b).unwrap_err();
    assert_eq!(violation.invariant, Invariant::LearnerAgreement);
}

#[test]
fn duplicate_votes_from_one_acceptor_do_not_choose() {
    let mut checker = SafetyChecker::new(3, 2);
    let a = put(0, 1, "a");
    assert_eq!(
        checker.on_accepted(place(), 0, ballot(1, 0), 0, &a),
        Ok(false)
    );
    assert_eq!(
        checker.on_accepted(place(), 0, ballot(1, 0), 0, &a),
        Ok(false)
    );
    assert!(checker.chosen(0).is_none());
    let violation = checker.on_learned(place(), 0, 0, &a).unwrap_err();
    assert_eq!(violation.invariant, Invariant::LearnerAgreement);
}

#[test]
fn votes_of_different_ballots_do_not_add_up() {
    let mut checker = SafetyChecker::new(3, 2);
    let a = put(0, 1, "a");
    checker
        .on_accepted(place(), 0, ballot(1, 0), 0, &a)
        .unwrap();
    assert_eq!(
        checker.on_accepted(place(), 1, ballot(2, 1), 0, &a),
        Ok(false)
    );
    assert!(checker.chosen(0).is_none());
}

#[test]
fn replica_gaps_and_version_jumps_and_disagreement_are_caught() {
    let mut checker = SafetyChecker::new(3, 2);
    let (a, b) = (put(0, 1, "a"), put(1, 1, "b"));
    for slot in 0..2 {
        let command = if slot == 0 { &a } else { &b };
        let ballot = ballot(1, 0);
        checker
            .on_accepted(place(), 0, ballot, slot, command)
            .unwrap();
        checker
            .on_accepted(place(), 1, ballot, slot, command)
            .unwrap();
    }
    let v1 = OpResult::Put { version: 1 };
    let v2 = OpResult::Put { version: 2 };
    // Replica 0 applies in order with versions 1, 2.
    checker.on_applied(place(), 0, 0, &a, Some(&v1)).unwrap();
    checker.on_applied(place(), 0, 1, &b, Some(&v2)).unwrap();
    // Replica 1 skips slot 0: a gap.
    let gap = checker
        .on_applied(place(), 1, 1, &b, Some(&v1))
        .unwrap_err();
    assert_eq!(gap.invariant, Invariant::ReplicaOrder);
    // Replica 2 jumps a version.
    let jump = checker
        .on_applied(place(), 2, 0, &a, Some(&v2))
        .unwrap_err();
    assert_eq!(jump.invariant, Invariant::VersionIncrement);
}

#[test]
fn replicas_disagreeing_on_a_version_are_caught() {
    // Two slots chosen with different writes; replica 1 applies the second
    // as version 1 after crashing and forgetting: version 1 -> two values.
    let mut checker = SafetyChecker::new(3, 2);
    let (a, b) = (put(0, 1, "a"), put(1, 1, "b"));
    for (slot, command) in [(0, &a), (1, &b)] {
        checker
            .on_accepted(place(), 0, ballot(1, 0), slot, command)
            .unwrap();
        checker
            .on_accepted(place(), 1, ballot(1, 0), slot, command)
            .unwrap();
    }
    let v1 = OpResult::Put { version: 1 };
    checker.on_applied(place(), 0, 0, &a, Some(&v1)).unwrap();
    checker.on_applied(place(), 1, 0, &a, Some(&v1)).unwrap();
    checker.on_crash(1);
    // After the crash the replica replays from 0: it applies slot 0 as a
    // no-op result (duplicate) and then slot 1 claiming version 1 again.
    checker.on_applied(place(), 1, 0, &a, None).unwrap();
    let violation = checker
        .on_applied(place(), 1, 1, &b, Some(&v1))
        .unwrap_err();
    assert_eq!(violation.invariant, Invariant::ReplicaAgreement);
}

#[test]
fn promises_and_ballots_only_go_up() {
    let mut checker = SafetyChecker::new(3, 2);
    checker.on_promise(place(), 0, ballot(5, 1)).unwrap();
    let lower = checker.on_promise(place(), 0, ballot(4, 2)).unwrap_err();
    assert_eq!(lower.invariant, Invariant::PromiseMonotonic);
    let below = checker
        .on_accepted(place(), 0, ballot(3, 1), 0, &put(0, 1, "a"))
        .unwrap_err();
    assert_eq!(below.invariant, Invariant::AcceptBelowPromise);
    checker.on_prepare(place(), 1, ballot(2, 1)).unwrap();
    checker.on_prepare(place(), 1, ballot(2, 1)).unwrap(); // a resend
    let lowered = checker.on_prepare(place(), 1, ballot(1, 1)).unwrap_err();
    assert_eq!(lowered.invariant, Invariant::BallotMonotonic);
}

#[test]
fn liveness_bounds_each_operation_not_the_whole_workload() {
    // Clients that think longer than the liveness bound between operations
    // are not stuck: each operation completes quickly, the workload just
    // takes long. Checked over a few seeds and both modes.
    for (seed, mode) in [
        (1, Mode::StableLeader),
        (2, Mode::Leaderless),
        (3, Mode::StableLeader),
    ] {
        let pins = Pins {
            nodes: Some(3),
            mode: Some(mode),
            clients: Some(2),
            ops_per_client: Some(6),
            ..Pins::default()
        };
        let mut config = SimConfig::draw(seed, &pins);
        config.fault_rates = sim::FaultRates::NONE;
        config.limits.liveness_us = 2_000_000;
        config.workload.think_us_max = 5_000_000;
        let report = sim::run(config).unwrap();
        assert!(
            report.verdict.is_pass(),
            "seed {seed}: {:?}",
            report.verdict
        );
        assert!(
            report.time_us > 2_000_000,
            "the workload outlasted the bound"
        );
    }
}

// ------------------------------------- checkers independent of the core

/// The core's own command comparison broken (`same-as-always-true`: any
/// two commands "the same"), with a flaw that chooses two values in one
/// slot: a checker that shared the comparison would see one value and
/// stay silent. These checkers name values themselves, so they catch it
/// at the same first seed as without the broken comparison.
#[test]
fn a_broken_core_comparison_does_not_silence_the_checkers() {
    let alone = Flaws::NONE.with(Flaw::IgnorePromisedValues);
    let both = Invariant::shown_with(Flaw::SameAsAlwaysTrue);
    assert!(both.contains(Flaw::SameAsAlwaysTrue) && both.contains(Flaw::IgnorePromisedValues));
    let invariant = Invariant::SingleChosenValue;
    let first = first_caught(alone, invariant, FLAW_SEEDS_MAX).expect("caught alone");
    assert_eq!(first_caught(both, invariant, FLAW_SEEDS_MAX), Some(first));
}

#[test]
fn the_checker_tells_two_values_apart_where_the_core_cannot() {
    // A node of a same-as-always-true cluster took an input on this thread:
    // from now on `Command::same_as` says yes to everything here.
    let mut config = paxos::Config::new(3, Mode::StableLeader);
    config.flaws = Flaws::NONE.with(Flaw::SameAsAlwaysTrue);
    paxos::Node::new(Arc::new(config), 0, &mut Vec::new());
    let (a, b) = (put(0, 1, "a"), put(1, 1, "b"));
    assert!(a.same_as(&b), "the core's comparison is broken");
    let mut checker = SafetyChecker::new(3, 2);
    checker
        .on_accepted(place(), 0, ballot(1, 0), 0, &a)
        .unwrap();
    let violation = checker
        .on_accepted(place(), 1, ballot(1, 0), 0, &b)
        .unwrap_err();
    assert_eq!(violation.invariant, Invariant::UniqueBallotValue);
    // Leave the thread's shared code clean for the next test on it.
    paxos::Node::new(
        Arc::new(paxos::Config::new(3, Mode::StableLeader)),
        0,
        &mut Vec::new(),
    );
}

// ------------------------------------------------- bounds on what a run holds

#[test]
fn a_run_that_queues_too_many_events_ends_as_a_limit() {
    let mut config = SimConfig::draw(1, &Pins::default());
    let whole = sim::run(config.clone()).unwrap();
    assert!(whole.verdict.is_pass(), "{:?}", whole.verdict);
    let cap = whole.counters.events_queued_max / 2;
    assert!(cap > 1, "{whole:?}");
    config.limits.queued_events_max = cap;
    let capped = sim::run(config).unwrap();
    assert_eq!(capped.verdict, Verdict::Limit(sim::LimitKind::Queue));
    assert_eq!(capped.verdict.label(), "limit");
    assert!(capped.counters.events_queued_max <= cap);
    assert!(capped.events < whole.events);
}

#[test]
fn a_run_whose_log_outgrows_its_bound_ends_as_a_limit() {
    let mut config = SimConfig::draw(1, &Pins::default());
    let whole = sim::run(config.clone()).unwrap();
    let slots = whole.counters.slots_chosen;
    assert!(slots > 4, "{whole:?}");
    config.limits.log_slots_max = slots / 2;
    let capped = sim::run(config).unwrap();
    assert_eq!(capped.verdict, Verdict::Limit(sim::LimitKind::Log));
    assert!(capped.events < whole.events);
}
