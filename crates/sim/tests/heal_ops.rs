//! No empty passes: every client issues operations in the heal phase, so
//! every run asks liveness of every client, and a run's counters say how
//! many operations were invoked, completed and abandoned.

use std::collections::BTreeMap;

use sim::rng::PPM_ONE;
use sim::{Pins, SimConfig};

#[test]
fn every_client_issues_operations_in_the_heal_phase() {
    for seed in 0..150 {
        let config = SimConfig::draw(seed, &Pins::default());
        let workload = config.workload.clone();
        assert!(
            (1..=3).contains(&workload.heal_ops_per_client),
            "seed {seed}"
        );
        // A seed whose quorums need not intersect is refused, as it must be.
        let Some(report) = sim::run_admitted(config).unwrap() else {
            continue;
        };
        assert!(
            report.verdict.is_pass(),
            "seed {seed}: {:?}",
            report.verdict
        );
        let heal_us = report.heal_us.expect("a passing run healed");
        let mut after_heal: BTreeMap<u32, u32> = BTreeMap::new();
        for op in &report.history.ops {
            if op.invoke_us >= heal_us {
                *after_heal.entry(op.client).or_default() += 1;
            }
        }
        for client in 0..workload.clients {
            let issued = after_heal.get(&client).copied().unwrap_or(0);
            assert!(
                issued >= workload.heal_ops_per_client,
                "seed {seed}: client {client} issued {issued} operations after the heal"
            );
        }
        let counters = report.counters;
        let per_client = workload.ops_per_client + workload.heal_ops_per_client;
        assert_eq!(
            counters.ops_invoked,
            u64::from(workload.clients * per_client),
            "seed {seed}"
        );
        assert_eq!(counters.ops_invoked, report.history.ops.len() as u64);
        assert_eq!(
            counters.ops_completed + counters.ops_abandoned,
            counters.ops_invoked,
            "seed {seed}: a finished run has nothing in flight"
        );
    }
}

#[test]
fn with_every_message_dropped_the_heal_phase_still_completes_operations() {
    let pins = Pins {
        drop_ppm: Some(PPM_ONE),
        ..Pins::default()
    };
    let mut abandoned = 0;
    for seed in 0..20 {
        let config = SimConfig::draw(seed, &pins);
        let workload = config.workload.clone();
        let Some(report) = sim::run_admitted(config).unwrap() else {
            continue;
        };
        assert!(
            report.verdict.is_pass(),
            "seed {seed}: {:?}",
            report.verdict
        );
        let counters = report.counters;
        // Nothing gets through the chaos phase, so nothing completes in it;
        // the heal-phase operations, at least, complete after it.
        let heal_us = report.heal_us.expect("a passing run healed");
        let early = report
            .history
            .ops
            .iter()
            .filter_map(|op| op.complete.as_ref());
        assert!(
            early.clone().all(|(at_us, _)| *at_us >= heal_us),
            "seed {seed}"
        );
        let heal_ops = u64::from(workload.clients * workload.heal_ops_per_client);
        assert!(counters.ops_completed >= heal_ops, "seed {seed}");
        abandoned += counters.ops_abandoned;
    }
    assert!(abandoned > 0, "the chaos phase gave up on operations");
}

#[test]
fn a_materialized_passing_seed_replays_exactly_with_its_heal_phase_operations() {
    for seed in 0..40 {
        let config = SimConfig::draw(seed, &Pins::default());
        if sim::admission::refusal_expected(&config) {
            continue;
        }
        let (materialized, original) = sim::shrink::materialize(&config).unwrap();
        let marked = materialized
            .workload
            .scripts
            .iter()
            .flatten()
            .filter(|op| op.after_heal())
            .count() as u32;
        assert_eq!(
            marked,
            config.workload.clients * config.workload.heal_ops_per_client,
            "seed {seed}"
        );
        let replay = sim::run(materialized).unwrap();
        assert_eq!(replay.digest, original.digest, "seed {seed}");
        assert_eq!(replay.events, original.events, "seed {seed}");
    }
}
