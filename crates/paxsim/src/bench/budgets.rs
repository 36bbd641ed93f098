//! The budgets section: the clean core's heal-phase efficiency over many
//! default seeds, with the budgets lifted so that no run stops at one; the
//! percentiles of each figure, and the limit each suggests (ten times the
//! 99.9th percentile), against the defaults in `sim::Limits`.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};

use sim::{Efficiency, Limits, Pins, SimConfig};

use super::throughput::run_config;
use super::{SectionReport, Target};
use crate::cli::jobs_or_all_cores;

/// A limit is this many times the clean core's 99.9th percentile.
const MARGIN: u64 = 10;

/// The figures of every seed that ran.
/// The figures of every seed that ran and whose budgets are judged (its
/// network keeps the protocol's timing assumptions), each as `(value,
/// seed)` so that the worst seeds can be named.
#[derive(Default)]
struct Gathered {
    leader_changes: Vec<(u64, u64)>,
    messages_per_command: Vec<(u64, u64)>,
    retries_per_op: Vec<(u64, u64)>,
    /// Seeds that ran, those whose budgets are judged, and those refused
    /// as expected.
    ran: u64,
    judged: u64,
    refused: u64,
    /// Seeds that failed otherwise (a violation, a limit, a panic): a clean
    /// core should have none.
    failures: Vec<u64>,
}

impl Gathered {
    fn add(&mut self, seed: u64, efficiency: Option<(Efficiency, bool)>) {
        let Some((efficiency, passed)) = efficiency else {
            self.refused += 1;
            return;
        };
        self.ran += 1;
        if !passed {
            self.failures.push(seed);
        }
        if !efficiency.judged {
            return;
        }
        self.judged += 1;
        self.leader_changes.push((efficiency.leader_changes, seed));
        if let Some(per_command) = efficiency.messages_per_command() {
            self.messages_per_command.push((per_command, seed));
        }
        self.retries_per_op
            .push((u64::from(efficiency.retries_per_op_max), seed));
    }

    fn merge(&mut self, other: Gathered) {
        self.leader_changes.extend(other.leader_changes);
        self.messages_per_command.extend(other.messages_per_command);
        self.retries_per_op.extend(other.retries_per_op);
        self.ran += other.ran;
        self.judged += other.judged;
        self.refused += other.refused;
        self.failures.extend(other.failures);
    }
}

/// One seed with the budgets lifted: its figures and whether it passed,
/// or `None` when refused as expected; a panic counts as a failure.
fn measure(seed: u64) -> Option<(Efficiency, bool)> {
    let mut config = SimConfig::draw(seed, &Pins::default());
    config.limits.leader_changes_max = u64::MAX;
    config.limits.messages_per_command_max = u64::MAX;
    config.limits.retries_per_op_max = u32::MAX;
    match run_config(config, true) {
        Ok(Some(report)) => Some((report.efficiency, report.verdict.is_pass())),
        Ok(None) => None,
        Err(_) => Some((Efficiency::default(), false)),
    }
}

fn gather(seeds: u64) -> Gathered {
    let next = AtomicU64::new(0);
    let total = Mutex::new(Gathered::default());
    std::thread::scope(|scope| {
        for _ in 0..jobs_or_all_cores(None) {
            scope.spawn(|| {
                let mut mine = Gathered::default();
                loop {
                    let seed = next.fetch_add(1, Ordering::SeqCst);
                    if seed >= seeds {
                        break;
                    }
                    if seed.is_multiple_of(10_000) && seed > 0 {
                        eprintln!("bench: budgets: {seed}/{seeds} seeds");
                    }
                    mine.add(seed, measure(seed));
                }
                total.lock().expect("no worker panics").merge(mine);
            });
        }
    });
    let mut total = total.into_inner().expect("no worker panics");
    total.failures.sort_unstable();
    total
}

/// The nearest-rank percentile `per_mille / 1000` of `values`.
fn percentile(sorted: &[u64], per_mille: u64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (sorted.len() as u64 * per_mille).div_ceil(1_000).max(1);
    Some(sorted[rank as usize - 1])
}

/// One figure's distribution, the limit it suggests and the default.
fn figure(name: &'static str, mut pairs: Vec<(u64, u64)>, default: u64) -> (Value, Target, String) {
    pairs.sort_unstable();
    let values: Vec<u64> = pairs.iter().map(|(value, _)| *value).collect();
    let p50 = percentile(&values, 500);
    let p99 = percentile(&values, 990);
    let p999 = percentile(&values, 999);
    let max = values.last().copied();
    // The worst seeds, worst first, to look at.
    let worst: Vec<u64> = pairs.iter().rev().take(5).map(|(_, seed)| *seed).collect();
    let suggested = p999.map(|p| (p * MARGIN).max(MARGIN));
    let value = json!({
        "runs_with_figure": values.len(),
        "p50": p50,
        "p99": p99,
        "p999": p999,
        "max": max,
        "worst_seeds": worst,
        "suggested_limit": suggested,
        "default_limit": default,
    });
    let target = Target {
        name,
        comparison: ">=",
        threshold: suggested.unwrap_or(0) as f64,
        measured: default as f64,
        unit: "(default limit vs 10 x p99.9)",
    };
    let row = format!(
        "budget {name:<24} p50 {} p99 {} p99.9 {} max {} (seeds {worst:?}); 10 x p99.9 = {}, default {default}",
        show(p50),
        show(p99),
        show(p999),
        show(max),
        show(suggested)
    );
    (value, target, row)
}

fn show(value: Option<u64>) -> String {
    value.map_or("-".into(), |value| value.to_string())
}

pub(super) fn run(seeds: u64) -> SectionReport {
    let gathered = gather(seeds);
    let defaults = Limits::default();
    let (leader, leader_target, leader_row) = figure(
        "leader_changes_max",
        gathered.leader_changes,
        defaults.leader_changes_max,
    );
    let (messages, messages_target, messages_row) = figure(
        "messages_per_command_max",
        gathered.messages_per_command,
        defaults.messages_per_command_max,
    );
    let (retries, retries_target, retries_row) = figure(
        "retries_per_op_max",
        gathered.retries_per_op,
        u64::from(defaults.retries_per_op_max),
    );
    let value = json!({
        "seed_start": 0,
        "seeds": seeds,
        "ran": gathered.ran,
        "judged": gathered.judged,
        "refused_as_expected": gathered.refused,
        "failures": gathered.failures.len(),
        "failing_seeds": gathered.failures.iter().take(20).collect::<Vec<_>>(),
        "margin": MARGIN,
        "leader_changes": leader,
        "messages_per_command": messages,
        "retries_per_op": retries,
    });
    let mut table = vec![leader_row, messages_row, retries_row];
    if !gathered.failures.is_empty() {
        table.push(format!(
            "budgets: {} clean seeds failed otherwise (first: {:?})",
            gathered.failures.len(),
            &gathered.failures[..gathered.failures.len().min(5)]
        ));
    }
    SectionReport {
        value,
        targets: vec![leader_target, messages_target, retries_target],
        table,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let values: Vec<u64> = (1..=1_000).collect();
        assert_eq!(percentile(&values, 500), Some(500));
        assert_eq!(percentile(&values, 999), Some(999));
        assert_eq!(percentile(&values, 1_000), Some(1_000));
        assert_eq!(percentile(&[7], 999), Some(7));
        assert_eq!(percentile(&[], 999), None);
    }
}
