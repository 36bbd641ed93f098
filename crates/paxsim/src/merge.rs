//! `paxsim merge`: the JSON summaries of a campaign's shards, made one.
//!
//! The shards must be of one campaign: the same seed range (`seed_start`,
//! `seed_last`), pins and flaws, and shard count N, each index at most
//! once. An index without a summary is a missing shard; a shard stopped by
//! a signal is an interrupted one; the merge names both, with the seeds
//! they did not run, and exits 1, as it does for any failure. A summary
//! that is malformed or of another campaign is bad input (exit 2, naming
//! the file and the field). A shard that stopped at its own `--duration`
//! did what it was asked, as a single campaign does: its unrun seeds are
//! listed, not counted as a gap.
//!
//! The result is itself a summary, in the same form (`--json`), with the
//! shards in `merged.shards`; merging it again gives it back.

use std::collections::BTreeMap;
use std::process::ExitCode;

use crate::campaign::Totals;
use crate::cli::MergeArgs;
use crate::error::InputError;
use crate::fuzz;
use crate::pins;
use crate::shard::ShardSource;
use crate::summary;
use crate::summary_file::{FailureRecord, Merged, Ops, Progression, ShardRecord, SummaryFile};
use crate::units::Shard;

/// The most shards one merge takes: each missing one is listed.
pub const SHARDS_MAX: u64 = 100_000;

pub fn command(args: MergeArgs) -> Result<ExitCode, InputError> {
    for (flag, file) in [("--summary", &args.summary), ("--junit", &args.junit)] {
        if let Some(file) = file {
            fuzz::create_parent(flag, file)?;
        }
    }
    let mut inputs = Vec::new();
    for path in crate::input::expand(&args.paths, "summaries")? {
        let summary = SummaryFile::read(&path)?;
        inputs.push((path.display().to_string(), summary));
    }
    let merged = merge(&inputs)?;
    let json = serde_json::to_value(&merged).expect("a summary always serializes");
    if args.json {
        println!("{json}");
    } else {
        print_human(&merged, inputs.len());
    }
    let errors = fuzz::write_reports(&json, args.summary.as_deref(), args.junit.as_deref());
    for error in &errors {
        eprintln!("error: {error}");
    }
    if !errors.is_empty() {
        return Ok(ExitCode::from(2));
    }
    Ok(if verdict(&merged).is_some() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// One summary of the shards `inputs` (file name, summary), or why they
/// are not the shards of one campaign.
pub fn merge(inputs: &[(String, SummaryFile)]) -> Result<SummaryFile, InputError> {
    let Some((first_file, first)) = inputs.first() else {
        return Err(InputError::new("no summaries to merge"));
    };
    if let [(_, only)] = inputs
        && only.merged.is_some()
    {
        // A merged summary alone is already the merge; its own record of
        // its shards (the missing and interrupted ones) must survive.
        return Ok(only.clone());
    }
    for (file, summary) in &inputs[1..] {
        same_campaign(first_file, first, file, summary)?;
    }
    let count = first.shard.count;
    if count > SHARDS_MAX {
        return Err(InputError(format!(
            "{first_file}: shard: {} has more shards than a merge takes ({SHARDS_MAX})",
            first.shard
        )));
    }
    let mut by_index: BTreeMap<u64, (&str, &SummaryFile)> = BTreeMap::new();
    for (file, summary) in inputs {
        if let Some((other, _)) = by_index.insert(summary.shard.index, (file, summary)) {
            return Err(InputError(format!(
                "{file}: shard: {} again ({other} is that shard too): a shard merged twice \
                 would count its seeds twice",
                summary.shard
            )));
        }
    }
    let records: Vec<ShardRecord> = (0..count)
        .map(|index| match by_index.get(&index) {
            Some((file, summary)) => ShardRecord {
                shard: summary.shard,
                file: Some(file.to_string()),
                seeds_run: summary.seeds_run,
                interrupted: summary.interrupted,
                signal: summary.signal.clone(),
                not_covered: summary.not_covered,
            },
            None => missing_record(first, Shard { index, count }),
        })
        .collect();
    let summaries: Vec<&SummaryFile> = inputs.iter().map(|(_, summary)| summary).collect();
    Ok(combine(first, &summaries, records))
}

/// A shard with no summary: none of its seeds ran.
fn missing_record(first: &SummaryFile, shard: Shard) -> ShardRecord {
    let plan = crate::campaign::Plan {
        shard,
        ..first.plan()
    };
    let planned = first.seed_last.map(|_| plan.seeds_in_shard());
    ShardRecord {
        shard,
        file: None,
        seeds_run: 0,
        interrupted: false,
        signal: None,
        not_covered: Some(summary::progression(&plan, 0, planned)),
    }
}

/// Two summaries of one campaign agree on everything that makes one.
fn same_campaign(
    first_file: &str,
    first: &SummaryFile,
    file: &str,
    summary: &SummaryFile,
) -> Result<(), InputError> {
    let show = |value: Option<u64>| value.map_or("null".into(), |value| value.to_string());
    let differs = |field: &str, this: String, that: String| {
        Err(InputError(format!(
            "{file}: {field} is {this}, but {first_file} has {that}: \
             these are not the shards of one campaign"
        )))
    };
    if summary.seed_start != first.seed_start {
        return differs(
            "seed_start",
            summary.seed_start.to_string(),
            first.seed_start.to_string(),
        );
    }
    if summary.seed_last != first.seed_last {
        return differs("seed_last", show(summary.seed_last), show(first.seed_last));
    }
    if summary.shard.count != first.shard.count {
        return differs(
            "shard",
            format!("{} (of {})", summary.shard, summary.shard.count),
            format!("{} (of {})", first.shard, first.shard.count),
        );
    }
    if summary.flaws != first.flaws {
        return differs(
            "flaws",
            serde_json::to_string(&summary.flaws).unwrap_or_default(),
            serde_json::to_string(&first.flaws).unwrap_or_default(),
        );
    }
    if summary.pins != first.pins {
        return differs(
            "pins",
            pins::describe(&summary.pins),
            pins::describe(&first.pins),
        );
    }
    Ok(())
}

/// The merged summary: sums, the failures by seed, and which seeds ran.
fn combine(
    first: &SummaryFile,
    summaries: &[&SummaryFile],
    records: Vec<ShardRecord>,
) -> SummaryFile {
    let sum = |field: fn(&SummaryFile) -> u64| summaries.iter().map(|s| field(s)).sum::<u64>();
    let mut failures: Vec<FailureRecord> = summaries
        .iter()
        .flat_map(|summary| summary.failures.iter().cloned())
        .collect();
    failures.sort_by_key(|failure| failure.seed);
    failures.dedup();
    let mut nondeterministic: Vec<u64> = summaries
        .iter()
        .flat_map(|summary| summary.nondeterministic.iter().copied())
        .collect();
    nondeterministic.sort_unstable();
    nondeterministic.dedup();
    let mut probes: BTreeMap<String, u64> = BTreeMap::new();
    for (name, hits) in summaries.iter().flat_map(|summary| &summary.probes) {
        *probes.entry(name.clone()).or_default() += hits;
    }
    let mut files_written: Vec<String> = summaries
        .iter()
        .flat_map(|summary| summary.files_written.iter().cloned())
        .collect();
    files_written.sort();
    let seeds_run = sum(|s| s.seeds_run);
    let seeds_without_completed_ops = sum(|s| s.seeds_without_completed_ops);
    let warning = Totals {
        seeds_run,
        seeds_without_completed_ops,
        ..Totals::default()
    }
    .empty_seeds_warning();
    let whole = SummaryFile {
        shard: Shard::ALL,
        merged: None,
        ..first.clone()
    };
    let (seeds_planned, covered, not_covered) = coverage(&whole, &records);
    SummaryFile {
        seeds_run,
        seed_start: first.seed_start,
        seed_last: first.seed_last,
        shard: Shard::ALL,
        shard_source: ShardSource::new("merge"),
        seeds_planned,
        covered,
        not_covered,
        flaws: first.flaws.clone(),
        pins: first.pins.clone(),
        interrupted: summaries.iter().any(|summary| summary.interrupted),
        signal: summaries.iter().find_map(|summary| summary.signal.clone()),
        events: sum(|s| s.events),
        ops: Ops {
            invoked: sum(|s| s.ops.invoked),
            completed: sum(|s| s.ops.completed),
            abandoned: sum(|s| s.ops.abandoned),
        },
        seeds_without_completed_ops,
        warnings: warning.into_iter().collect(),
        elapsed_s: summaries.iter().map(|s| s.elapsed_s).fold(0.0, f64::max),
        events_per_sec: summaries.iter().map(|s| s.events_per_sec).sum(),
        failures,
        nondeterministic,
        probes,
        files_written,
        merged: Some(Merged { shards: records }),
        other: serde_json::Map::new(),
    }
}

/// `seeds_planned`, `covered` and `not_covered` of the whole range: the
/// longest prefix of it that ran, and the rest.
fn coverage(
    whole: &SummaryFile,
    records: &[ShardRecord],
) -> (Option<u64>, Option<Progression>, Option<Progression>) {
    let plan = whole.plan();
    let planned = whole.seed_last.map(|_| plan.seeds_in_shard());
    // The first seed a shard did not run, as an index from seed_start.
    let first_unrun = records
        .iter()
        .filter_map(|record| record.not_covered?.first_seed)
        .map(|seed| seed - whole.seed_start)
        .min();
    let prefix = match (first_unrun, planned) {
        (Some(index), _) => index,
        (None, Some(planned)) => planned,
        // Unbounded, and no shard says where it stopped: nothing is known.
        (None, None) => 0,
    };
    let coverage = crate::campaign::Coverage {
        positions_run: prefix,
        positions_planned: planned,
    };
    let (covered, not_covered) = summary::coverage_progressions(&plan, &coverage);
    (planned, covered, not_covered)
}

/// `Some(why)` if the merged campaign is not a pass: failures, or shards
/// missing or interrupted.
pub fn verdict(merged: &SummaryFile) -> Option<String> {
    let mut reasons = Vec::new();
    let failed = merged.failures.len() + merged.nondeterministic.len();
    if failed > 0 {
        reasons.push(format!("FAIL ({failed} seeds)"));
    }
    let records = merged.shard_records();
    let missing = records.iter().filter(|r| r.file.is_none()).count();
    let interrupted = records.iter().filter(|r| r.interrupted).count();
    if missing + interrupted > 0 {
        let mut parts = Vec::new();
        if missing > 0 {
            parts.push(format!("{missing} of {} shards missing", records.len()));
        }
        if interrupted > 0 {
            parts.push(format!("{interrupted} interrupted"));
        }
        reasons.push(format!("INCOMPLETE ({})", parts.join(", ")));
    }
    (!reasons.is_empty()).then(|| reasons.join("; "))
}

fn print_human(merged: &SummaryFile, files: usize) {
    let range = match merged.seed_last {
        Some(last) => format!("{}..={last}", merged.seed_start),
        None => format!("{}..", merged.seed_start),
    };
    let records = merged.shard_records();
    let summaries = if files == 1 { "summary" } else { "summaries" };
    println!(
        "paxsim merge: {files} {summaries}, {} shards of seeds {range}, pins and flaws: {}",
        records.len(),
        pins::describe(&merged.all_pins())
    );
    let of = merged
        .seeds_planned
        .map(|planned| format!(" of {planned}"))
        .unwrap_or_default();
    println!("seeds run: {}{of}", merged.seeds_run);
    if merged.seed_last.is_none() {
        let prefix = merged
            .covered
            .map_or("none".into(), |seeds| seeds.describe());
        println!(
            "bounded by time: every seed ran in {prefix}; past them each shard ran \
             as far as its --duration allowed"
        );
    }
    println!(
        "events: {} (the longest shard took {:.2}s; {:.2}M events/s over all shards)",
        merged.events,
        merged.elapsed_s,
        merged.events_per_sec / 1e6
    );
    println!(
        "operations: {} invoked, {} completed, {} abandoned (given up, outcome unknown); \
         {} seeds completed none",
        merged.ops.invoked,
        merged.ops.completed,
        merged.ops.abandoned,
        merged.seeds_without_completed_ops
    );
    println!("probes:");
    // In the order `fuzz` prints them; names this build does not know last.
    let known: Vec<&str> = sim::Probes::default()
        .iter()
        .map(|(name, _)| name)
        .collect();
    let unknown = merged
        .probes
        .keys()
        .map(String::as_str)
        .filter(|name| !known.contains(name));
    for name in known.iter().copied().chain(unknown) {
        let Some(hits) = merged.probes.get(name) else {
            continue;
        };
        let note = if *hits == 0 { "  (never hit)" } else { "" };
        println!("  {name:<36} {hits:>10}{note}");
    }
    if merged.failures.is_empty() {
        println!("failures: none");
    } else {
        println!("failures: {}", merged.failures.len());
        for failure in &merged.failures {
            print_failure(failure);
        }
    }
    if !merged.nondeterministic.is_empty() {
        println!("nondeterministic: {}", merged.nondeterministic.len());
        let pins = merged.all_pins();
        for seed in &merged.nondeterministic {
            println!("  seed {seed}: two runs gave different digests");
            println!("    replay: {}", summary::replay_command(*seed, &pins));
        }
    }
    for record in &records {
        if let Some(line) = shard_line(merged, record) {
            println!("{line}");
        }
    }
    for warning in &merged.warnings {
        println!("warning: {warning}");
    }
    match verdict(merged) {
        Some(reasons) => println!("result: {reasons}"),
        None => println!("result: PASS"),
    }
}

fn print_failure(failure: &FailureRecord) {
    let location = failure.location();
    let location = if location.is_empty() {
        String::new()
    } else {
        format!(" {location}")
    };
    println!("  seed {}: {}{location}", failure.seed, failure.invariant);
    for line in failure.message.lines() {
        println!("    {line}");
    }
    println!("    replay: {}", failure.replay);
    println!("    shrink: {}", failure.shrink);
}

/// What a shard left out, if anything.
fn shard_line(merged: &SummaryFile, record: &ShardRecord) -> Option<String> {
    let not_run = record
        .not_covered
        .map_or("none".into(), |seeds| seeds.describe());
    let Some(file) = &record.file else {
        return Some(format!(
            "shard {} missing: no summary; not run: {not_run}",
            record.shard
        ));
    };
    if let Some(signal) = &record.signal {
        return Some(format!(
            "shard {} ({file}) interrupted by {signal} after {} seeds; not run: {not_run}",
            record.shard, record.seeds_run
        ));
    }
    (merged.seed_last.is_some() && record.not_covered.is_some()).then(|| {
        format!(
            "shard {} ({file}) stopped at its --duration after {} seeds; not run: {not_run}",
            record.shard, record.seeds_run
        )
    })
}
