//! The memory section: a small and a large campaign on every core, with
//! the process's peak resident set read after each; flat means the large
//! campaign peaks where the small one did.

use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::json;

use super::scaling::{default_plan, events_per_sec, seeds_per_sec};
use super::{SectionReport, Target, finite_or_null};
use crate::campaign::{self, CampaignResult, Plan};
use crate::cli::jobs_or_all_cores;
use crate::progress::{self, Counters};

/// The targets, reported against and never asserted.
/// "Flat": the largest campaign's peak at most this fraction above the smallest's.
const TARGET_PEAK_RSS_GROWTH_FRACTION: f64 = 0.10;
const TARGET_PEAK_RSS_MIB: f64 = 64.0;

const MIB: f64 = 1024.0 * 1024.0;

/// `VmHWM` (peak resident set) or `VmRSS` from /proc/self/status, in bytes.
fn proc_status_bytes(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status
        .lines()
        .find(|line| line.split(':').next() == Some(field))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn proc_status_mib(field: &str) -> Option<f64> {
    proc_status_bytes(field).map(|bytes| bytes as f64 / MIB)
}

/// Reset the peak resident set to the current one (Linux 4.0+), so that
/// each campaign's peak is its own. Whether it worked is reported.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

pub(super) fn run(sizes: &[u64]) -> SectionReport {
    let jobs = jobs_or_all_cores(None);
    let rss_mib_at_start = proc_status_mib("VmRSS");
    let mut campaigns = Vec::new();
    let mut peaks = Vec::new();
    let mut resets = Vec::new();
    for &seeds in sizes {
        eprintln!("bench: memory: a campaign of {seeds} seeds at -j{jobs}");
        let reset = reset_peak_rss();
        let result = run_campaign_with_progress(&default_plan(seeds, jobs));
        let peak_rss_mib = proc_status_mib("VmHWM");
        campaigns.push(json!({
            "seeds": seeds,
            "jobs": jobs,
            "hwm_reset_before": reset,
            "failures": result.totals.failures.len(),
            "elapsed_s": result.elapsed.as_secs_f64(),
            "seeds_per_sec": seeds_per_sec(&result),
            "events_per_sec": events_per_sec(&result),
            "peak_rss_mib": peak_rss_mib,
            "rss_mib": proc_status_mib("VmRSS"),
        }));
        peaks.push(peak_rss_mib);
        resets.push(reset);
    }
    let peaks: Option<Vec<f64>> = peaks.into_iter().collect();
    let growth = peaks.as_ref().map(|peaks| {
        let first = peaks.first().expect("at least two sizes");
        let last = peaks.last().expect("at least two sizes");
        (last - first) / first
    });
    let peak_max = peaks
        .as_ref()
        .map(|peaks| peaks.iter().copied().fold(0.0, f64::max));
    let hwm_reset = resets.iter().all(|reset| *reset);
    let note = if hwm_reset {
        "peak_rss_mib is VmHWM (peak resident set), reset through /proc/self/clear_refs before \
         each campaign, so each figure is that campaign's own peak; flat means the figures are \
         about equal"
    } else {
        "peak_rss_mib is VmHWM (peak resident set); it could not be reset, so it is monotone \
         over the process: flat means the later figures are about the first"
    };
    let value = json!({
        "jobs": jobs,
        "hwm_reset": hwm_reset,
        "note": note,
        "rss_mib_at_start": rss_mib_at_start,
        "campaigns": campaigns,
        "peak_rss_growth_fraction": growth.map(finite_or_null),
        "peak_rss_mib_max": peak_max,
    });
    let mut targets = Vec::new();
    let mut table = Vec::new();
    if let (Some(growth), Some(peak_max), Some(peaks)) = (growth, peak_max, &peaks) {
        targets.push(Target {
            name: "peak_rss_growth_fraction",
            comparison: "<=",
            threshold: TARGET_PEAK_RSS_GROWTH_FRACTION,
            measured: growth,
            unit: "of the smallest campaign's peak",
        });
        targets.push(Target {
            name: "peak_rss_mib",
            comparison: "<",
            threshold: TARGET_PEAK_RSS_MIB,
            measured: peak_max,
            unit: "MiB",
        });
        for (seeds, peak) in sizes.iter().zip(peaks) {
            table.push(format!(
                "peak RSS, {seeds:>7} seeds               {peak:>10.1} MiB"
            ));
        }
    } else {
        table.push("peak RSS                            unavailable (no /proc)".into());
    }
    SectionReport {
        value,
        targets,
        table,
    }
}

/// A campaign with the usual progress display on stderr.
fn run_campaign_with_progress(plan: &Plan) -> CampaignResult {
    let stop = AtomicBool::new(false);
    let counters = Counters::default();
    let finished = AtomicBool::new(false);
    let result = std::thread::scope(|scope| {
        scope.spawn(|| progress::show(&counters, Some(plan.seeds_in_shard()), &finished, None));
        let result = campaign::run(plan, &stop, &counters);
        finished.store(true, Ordering::SeqCst);
        result
    });
    assert_eq!(result.totals.seeds_run, plan.seeds_in_shard());
    result
}
