//! The scaling section: the same seeds as a real campaign at -j1 and at
//! -j2, and the speedup between them. Also the campaign helpers the memory
//! section reuses.

use std::sync::atomic::AtomicBool;

use serde_json::{Value, json};

use sim::Pins;

use super::{SectionReport, Target, finite_or_null, median, rate};
use crate::campaign::{self, CampaignResult, Plan};
use crate::progress::Counters;
use crate::units::Shard;

/// The targets, reported against and never asserted.
const TARGET_SPEEDUP_J2: f64 = 1.8;

/// The default campaign over `seeds` seeds from 0, no determinism reruns.
pub(super) fn default_plan(seeds: u64, jobs: usize) -> Plan {
    assert!(seeds > 0, "a campaign needs a seed");
    assert!(jobs > 0, "a campaign needs a worker");
    Plan {
        pins: Pins::default(),
        seed_start: 0,
        index_last: seeds - 1,
        shard: Shard::ALL,
        shard_source: crate::shard::ShardSource::new("default"),
        duration: None,
        jobs,
        determinism_ppm: 0,
        out: None,
        shrink: false,
        bounded: true,
    }
}

fn run_campaign(plan: &Plan) -> CampaignResult {
    let stop = AtomicBool::new(false);
    let result = campaign::run(plan, &stop, &Counters::default());
    assert_eq!(
        result.totals.seeds_run,
        plan.seeds_in_shard(),
        "a campaign with no stop and no duration runs every seed"
    );
    result
}

pub(super) fn run(seeds: u64, repeat: u64) -> SectionReport {
    let mut j1 = Vec::new();
    let mut j2 = Vec::new();
    for round in 1..=repeat {
        eprintln!("bench: scaling round {round}/{repeat}: {seeds} seeds at -j1");
        j1.push(run_campaign(&default_plan(seeds, 1)));
        eprintln!("bench: scaling round {round}/{repeat}: {seeds} seeds at -j2");
        j2.push(run_campaign(&default_plan(seeds, 2)));
    }
    let j1_rate = median(j1.iter().map(seeds_per_sec));
    let j2_rate = median(j2.iter().map(seeds_per_sec));
    let speedup = j2_rate / j1_rate;
    let value = json!({
        "seed_start": 0,
        "seeds": seeds,
        "repeat": repeat,
        "determinism_ppm": 0,
        "j1": campaign_rounds_json(&j1),
        "j2": campaign_rounds_json(&j2),
        "speedup_j2_over_j1": finite_or_null(speedup),
    });
    let targets = vec![Target {
        name: "speedup_j2_over_j1",
        comparison: ">=",
        threshold: TARGET_SPEEDUP_J2,
        measured: speedup,
        unit: "x",
    }];
    let table = vec![
        format!("campaign -j1                        {j1_rate:>10.0} seeds/s"),
        format!("campaign -j2                        {j2_rate:>10.0} seeds/s"),
        format!("speedup -j2 / -j1                   {speedup:>10.2}x"),
    ];
    SectionReport {
        value,
        targets,
        table,
    }
}

pub(super) fn seeds_per_sec(result: &CampaignResult) -> f64 {
    rate(result.totals.seeds_run, result.elapsed)
}

pub(super) fn events_per_sec(result: &CampaignResult) -> f64 {
    rate(result.totals.events, result.elapsed)
}

fn campaign_rounds_json(rounds: &[CampaignResult]) -> Value {
    let rates: Vec<f64> = rounds.iter().map(seeds_per_sec).collect();
    json!({
        "seeds_per_sec": median(rates.iter().copied()),
        "events_per_sec": median(rounds.iter().map(events_per_sec)),
        "elapsed_s": median(rounds.iter().map(|result| result.elapsed.as_secs_f64())),
        "seeds_per_sec_rounds": rates,
    })
}
