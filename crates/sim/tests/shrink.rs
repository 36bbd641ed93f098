//! Shrinking keeps the failure, is deterministic, and really shrinks.

use paxos::Flaw;
use sim::shrink::{self, ShrinkError};
use sim::{Pins, SimConfig};

fn first_failing(flaw: Flaw) -> SimConfig {
    let pins = Pins {
        flaws: sim::Invariant::shown_with(flaw),
        ..Pins::default()
    };
    (0..1_000)
        .map(|seed| SimConfig::draw(seed, &pins))
        .find(|config| {
            sim::run_admitted(config.clone())
                .unwrap()
                .is_some_and(|report| !report.verdict.is_pass())
        })
        .expect("the flaw is caught within 1,000 seeds")
}

#[test]
fn a_materialized_seed_replays_the_same_run() {
    for flaw in [
        Flaw::MinorityQuorum,
        Flaw::NoClientDedup,
        Flaw::BallotReuseAfterRestart,
    ] {
        let config = first_failing(flaw);
        let original = sim::run(config.clone()).unwrap();
        let (materialized, _) = shrink::materialize(&config).unwrap();
        assert!(materialized.fault_rates == sim::FaultRates::NONE);
        assert!(!materialized.workload.scripts.is_empty());
        let replay = sim::run(materialized).unwrap();
        assert_eq!(replay.digest, original.digest, "{flaw}");
        assert_eq!(replay.verdict, original.verdict, "{flaw}");
    }
}

#[test]
fn every_flaw_shrinks_to_a_quarter_and_still_fails_the_same_way() {
    for flaw in Flaw::ALL {
        let config = first_failing(*flaw);
        let shrunk = shrink::shrink(&config, shrink::RUNS_MAX_DEFAULT).unwrap();
        let before = shrunk.before.faults + shrunk.before.ops;
        let after = shrunk.after.faults + shrunk.after.ops;
        assert!(
            after * 4 <= before,
            "{flaw}: {after} faults + ops after shrinking, {before} before"
        );
        let replay = sim::run(shrunk.shrunk.clone()).unwrap();
        assert_eq!(
            replay.verdict.invariant_name(),
            Some(shrunk.invariant),
            "{flaw}"
        );
        assert_eq!(
            shrunk.invariant,
            sim::Invariant::catching(*flaw).name(),
            "{flaw} shrank to another failure"
        );
    }
}

#[test]
fn shrinking_is_deterministic() {
    for flaw in [Flaw::StaleLeaderRead, Flaw::DoubleCountVotes] {
        let config = first_failing(flaw);
        let first = shrink::shrink(&config, shrink::RUNS_MAX_DEFAULT).unwrap();
        let second = shrink::shrink(&config, shrink::RUNS_MAX_DEFAULT).unwrap();
        assert_eq!(first.shrunk, second.shrunk, "{flaw}");
        assert_eq!(first.runs, second.runs, "{flaw}");
        assert_eq!(first.after, second.after, "{flaw}");
    }
}

#[test]
fn a_passing_seed_has_nothing_to_shrink() {
    let config = SimConfig::draw(0, &Pins::default());
    assert_eq!(
        shrink::shrink(&config, 100).unwrap_err(),
        ShrinkError::Passes
    );
}

#[test]
fn the_budget_bounds_the_work() {
    let config = first_failing(Flaw::NoClientDedup);
    let shrunk = shrink::shrink(&config, 10).unwrap();
    // Ten candidate runs, plus the seed's run and the materialized check.
    assert!(shrunk.runs <= 12, "{} runs", shrunk.runs);
    let replay = sim::run(shrunk.shrunk).unwrap();
    assert_eq!(replay.verdict.invariant_name(), Some(shrunk.invariant));
}

#[test]
fn scripts_drawn_offline_are_the_operations_a_client_would_draw() {
    // With no history at all, every operation is drawn from the client's
    // stream offline; running those scripts must replay the drawn run.
    for seed in [3, 11, 42] {
        let config = SimConfig::draw(seed, &Pins::default());
        let original = sim::run(config.clone()).unwrap();
        let mut scripted = config.clone();
        scripted.workload.scripts = sim::workload::scripts_of(
            seed,
            &config.workload,
            config.cluster.nodes,
            &sim::workload::History::default(),
        );
        let ops: usize = scripted.workload.scripts.iter().map(Vec::len).sum();
        let workload = &config.workload;
        assert_eq!(
            ops as u32,
            workload.clients * (workload.ops_per_client + workload.heal_ops_per_client)
        );
        let replay = sim::run(scripted).unwrap();
        assert_eq!(replay.digest, original.digest, "seed {seed}");
        assert_eq!(replay.history.ops.len(), original.history.ops.len());
    }
}

#[test]
fn a_shrink_is_abandoned_at_its_next_run_once_told() {
    use std::cell::Cell;
    let config = first_failing(Flaw::NoClientDedup);
    // The hook is asked before every run; the sixth answer is "stop".
    let asked = Cell::new(0u64);
    let cancelled = || {
        asked.set(asked.get() + 1);
        asked.get() >= 6
    };
    let error = shrink::shrink_with(&config, shrink::RUNS_MAX_DEFAULT, &cancelled).unwrap_err();
    // Five runs: the seed's, the materialized check and three candidates.
    assert_eq!(error, ShrinkError::Abandoned { runs: 5 });
    assert_eq!(asked.get(), 6, "no run, and no question, after the stop");
    let never = shrink::shrink_with(&config, 10, &|| false).unwrap();
    assert_eq!(never.invariant, "linearizability");
}

#[test]
fn a_disk_flaw_shrinks_to_a_simpler_disk_and_still_fails() {
    // The disk's fault rates that the failure does not need are zeroed,
    // and where it needs no latency the disk becomes instant; what stays
    // is what the failure needs.
    for flaw in [
        Flaw::PromiseSentBeforePersist,
        Flaw::AcceptedSentBeforePersist,
        Flaw::TrustCorruptRecord,
    ] {
        let config = first_failing(flaw);
        let before = config.disk.clone();
        let shrunk = shrink::shrink(&config, shrink::RUNS_MAX_DEFAULT).unwrap();
        let after = &shrunk.shrunk.disk;
        if flaw == Flaw::TrustCorruptRecord {
            // It needs a damaged record, not a slow disk.
            assert!(after.instant(), "{flaw}: {after:?}");
        } else {
            // It needs the window between a send and the write, no damage.
            assert!(!after.instant(), "{flaw}: {after:?}");
            assert_eq!(
                (after.torn_ppm, after.corrupt_ppm, after.read_error_ppm),
                (0, 0, 0),
                "{flaw}"
            );
        }
        assert!(after.torn_ppm <= before.torn_ppm, "{flaw}");
        assert!(after.corrupt_ppm <= before.corrupt_ppm, "{flaw}");
        assert!(after.read_error_ppm <= before.read_error_ppm, "{flaw}");
        assert!(after.write_us_max <= before.write_us_max, "{flaw}");
        assert_ne!(*after, before, "{flaw}: the disk did not get simpler");
        let replay = sim::run(shrunk.shrunk.clone()).unwrap();
        assert_eq!(
            replay.verdict.invariant_name(),
            Some(shrunk.invariant),
            "{flaw}"
        );
    }
}
