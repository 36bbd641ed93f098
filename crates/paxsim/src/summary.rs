//! A campaign's report: the human summary and the `--json` object.
//!
//! Both list failures sorted by seed, each with the exact commands that
//! replay and shrink it, and neither depends on the thread count (only the
//! timing figures do). Both say which seeds ran and which did not, so that
//! an interrupted campaign's summary, or the summaries of a campaign's
//! shards, show exactly what was covered.

use serde_json::{Value, json};

use sim::{Pins, SimConfig};

use crate::campaign::{CampaignResult, Coverage, Plan, SeedFailure};
use crate::interrupt::Signal;
use crate::outcome::format_time_us;
use crate::pins;
use crate::summary_file::Progression;

/// `paxsim replay --seed S <flags>`.
pub fn replay_command(seed: u64, pins: &Pins) -> String {
    command("replay", seed, pins, None)
}

/// `paxsim shrink --seed S <flags> --out scenarios/NAME.json`.
pub fn shrink_command(seed: u64, pins: &Pins, label: &str) -> String {
    let out = format!("scenarios/{label}-seed-{seed}.json");
    command("shrink", seed, pins, Some(out))
}

fn command(subcommand: &str, seed: u64, pins: &Pins, out: Option<String>) -> String {
    let mut words = vec![
        "paxsim".to_string(),
        subcommand.to_string(),
        "--seed".into(),
        seed.to_string(),
    ];
    words.extend(pins::to_flags(pins));
    if let Some(out) = out {
        words.push("--out".into());
        words.push(out);
    }
    words.join(" ")
}

fn seed_range(plan: &Plan) -> String {
    let last = plan.seed_start + plan.index_last;
    if plan.index_last == u64::MAX - plan.seed_start {
        format!("{}..", plan.seed_start)
    } else {
        format!("{}..={last}", plan.seed_start)
    }
}

fn events_per_second(result: &CampaignResult) -> f64 {
    result.totals.events as f64 / result.elapsed.as_secs_f64().max(1e-9)
}

/// The shard's seeds from `position` on, `count` of them or all the rest.
pub fn progression(plan: &Plan, position: u64, count: Option<u64>) -> Progression {
    Progression {
        first_seed: plan.seed_at(position),
        step: plan.shard.count,
        seeds: count,
    }
}

/// `seeds 7..=99`, or `seeds 7, 11, 15, ... (23 seeds)` in a shard.
fn seeds_from(plan: &Plan, position: u64, count: Option<u64>) -> String {
    progression(plan, position, count).describe()
}

/// The `covered` and `not_covered` fields: which of the shard's seeds ran.
pub fn coverage_progressions(
    plan: &Plan,
    coverage: &Coverage,
) -> (Option<Progression>, Option<Progression>) {
    let covered =
        (coverage.positions_run > 0).then(|| progression(plan, 0, Some(coverage.positions_run)));
    let not_covered = coverage
        .not_run()
        .map(|count| progression(plan, coverage.positions_run, count));
    (covered, not_covered)
}

/// ` from GitLab (CI_NODE_INDEX=2 CI_NODE_TOTAL=4)` for `--shard auto`.
pub fn shard_source_note(plan: &Plan) -> String {
    match plan.shard_source.from.as_str() {
        "flag" | "default" => String::new(),
        _ => format!(" {}", plan.shard_source.describe()),
    }
}

/// `interrupted by SIGINT: 120 of 2000 seeds run; not run: seeds 120..=1999`.
fn interruption_line(plan: &Plan, result: &CampaignResult, signal: Signal) -> String {
    let coverage = &result.coverage;
    let of = coverage
        .positions_planned
        .map(|planned| format!(" of {planned}"))
        .unwrap_or_default();
    let rest = match coverage.not_run() {
        Some(count) => format!(
            "; not run: {}",
            seeds_from(plan, coverage.positions_run, count)
        ),
        None => String::new(),
    };
    format!(
        "interrupted by {}: {}{of} seeds run{rest}",
        signal.name(),
        coverage.positions_run
    )
}

pub fn print_human(plan: &Plan, result: &CampaignResult, signal: Option<Signal>) {
    let totals = &result.totals;
    println!(
        "paxsim fuzz: {} seeds run from {} (shard {}{}), pins and flaws: {}",
        totals.seeds_run,
        seed_range(plan),
        plan.shard,
        shard_source_note(plan),
        pins::describe(&plan.pins)
    );
    if let Some(signal) = signal {
        println!("{}", interruption_line(plan, result, signal));
    }
    println!(
        "events: {} in {:.2}s ({:.2}M events/s)",
        totals.events,
        result.elapsed.as_secs_f64(),
        events_per_second(result) / 1e6
    );
    println!(
        "operations: {} invoked, {} completed, {} abandoned (given up, outcome unknown); \
         {} seeds completed none",
        totals.ops_invoked,
        totals.ops_completed,
        totals.ops_abandoned,
        totals.seeds_without_completed_ops
    );
    println!("probes:");
    for (name, hits) in totals.probes.iter() {
        let note = if hits == 0 { "  (never hit)" } else { "" };
        println!("  {name:<36} {hits:>10}{note}");
    }
    if totals.failures.is_empty() {
        println!("failures: none");
    } else {
        println!("failures: {}", totals.failures.len());
        for failure in &totals.failures {
            print_failure(plan, failure);
        }
    }
    if !totals.nondeterministic.is_empty() {
        println!("nondeterministic: {}", totals.nondeterministic.len());
        for (seed, difference) in &totals.nondeterministic {
            println!("  seed {seed}: {difference}");
            println!("    replay: {}", replay_command(*seed, &plan.pins));
        }
    }
    for path in &totals.files_written {
        println!("wrote {}", path.display());
    }
    let failed = totals.failures.len() + totals.nondeterministic.len();
    match signal {
        Some(signal) => println!(
            "result: INTERRUPTED ({} after {} seeds; {failed} failed among them)",
            signal.name(),
            totals.seeds_run
        ),
        None if failed == 0 => println!("result: PASS"),
        None => println!("result: FAIL ({failed} seeds)"),
    }
}

fn print_failure(plan: &Plan, failure: &SeedFailure) {
    let finding = &failure.finding;
    let location = finding.location();
    let location = if location.is_empty() {
        String::new()
    } else {
        format!(" {location}")
    };
    println!("  seed {}: {}{location}", failure.seed, finding.label);
    for line in finding.message.lines() {
        println!("    {line}");
    }
    println!("    replay: {}", replay_command(failure.seed, &plan.pins));
    println!(
        "    shrink: {}",
        shrink_command(failure.seed, &plan.pins, finding.label)
    );
}

pub fn to_json(plan: &Plan, result: &CampaignResult, signal: Option<Signal>) -> Value {
    let totals = &result.totals;
    let failures: Vec<Value> = totals
        .failures
        .iter()
        .map(|failure| {
            let finding = &failure.finding;
            // The seed's disk, as drawn (or pinned): what a storage fault
            // came from. Drawing again is cheap and runs nothing; a draw
            // that panicked (a `panic` finding) has none.
            let disk = crate::guarded::catch(|| SimConfig::draw(failure.seed, &plan.pins).disk)
                .ok()
                .map(|disk| serde_json::to_value(disk).expect("a disk configuration serializes"));
            json!({
                "seed": failure.seed,
                "invariant": finding.label,
                "event": finding.event,
                "time_us": finding.time_us,
                "time": finding.time_us.map(format_time_us),
                "slot": finding.slot,
                "key": finding.key,
                "node": finding.node,
                "message": finding.message,
                "replay": replay_command(failure.seed, &plan.pins),
                "shrink": shrink_command(failure.seed, &plan.pins, finding.label),
                "disk": disk,
            })
        })
        .collect();
    let probes: serde_json::Map<String, Value> = totals
        .probes
        .iter()
        .map(|(name, hits)| (name.to_string(), json!(hits)))
        .collect();
    let nondeterministic: Vec<u64> = totals
        .nondeterministic
        .iter()
        .map(|(seed, _)| *seed)
        .collect();
    let flaws: Vec<&str> = plan.pins.flaws.iter().map(|flaw| flaw.name()).collect();
    let (covered, not_covered) = coverage_progressions(plan, &result.coverage);
    json!({
        "seeds_run": totals.seeds_run,
        "seed_start": plan.seed_start,
        "seed_last": plan.bounded.then(|| plan.seed_start + plan.index_last),
        "shard": plan.shard.to_string(),
        "shard_source": plan.shard_source.to_json(),
        "seeds_planned": result.coverage.positions_planned,
        "covered": covered,
        "not_covered": not_covered,
        "flaws": flaws,
        "pins": pins::to_json(&plan.pins),
        "interrupted": signal.is_some(),
        "signal": signal.map(Signal::name),
        "events": totals.events,
        "ops": {
            "invoked": totals.ops_invoked,
            "completed": totals.ops_completed,
            "abandoned": totals.ops_abandoned,
        },
        "seeds_without_completed_ops": totals.seeds_without_completed_ops,
        "warnings": totals.empty_seeds_warning().into_iter().collect::<Vec<String>>(),
        "elapsed_s": result.elapsed.as_secs_f64(),
        "events_per_sec": events_per_second(result),
        "failures": failures,
        "nondeterministic": nondeterministic,
        "probes": probes,
        "files_written": totals.files_written,
    })
}
