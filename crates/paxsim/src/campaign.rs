//! The fuzz campaign: many seeds, on every core, failures sorted by seed.
//!
//! Workers pull the next position in the shard from one atomic counter;
//! each keeps its own totals, merged when all are done, so the report does
//! not depend on how seeds were spread over threads. A stop flag (SIGINT,
//! SIGTERM) or the wall-clock budget stops the handing out of positions;
//! seeds in flight finish (each is bounded by its `limits.steps_max`) and a
//! shrink in flight is abandoned at its next candidate run. Every position
//! handed out is run, so the seeds run are always the first positions of
//! the shard, without a gap: [`Coverage`] says which.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sim::rng::{PPM_ONE, Ppm};
use sim::{Pins, Probes, SimConfig};

use crate::corpus;
use crate::guarded;
use crate::outcome::{self, Finding, INVALID_CONFIG, PANIC};
use crate::progress::Counters;
use crate::shard::ShardSource;
use crate::shrink;
use crate::units::Shard;

/// What to run.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Pinned knobs and flaws, for every seed.
    pub pins: Pins,
    pub seed_start: u64,
    /// The last seed index to run, inclusive: seeds are `seed_start + i`.
    pub index_last: u64,
    pub shard: Shard,
    /// Where the shard came from (`--shard K/N`, or the CI environment).
    pub shard_source: ShardSource,
    /// Stop handing out seeds once this much wall time has passed.
    pub duration: Option<Duration>,
    pub jobs: usize,
    /// Seeds run twice to compare digests, in ppm of all seeds.
    pub determinism_ppm: Ppm,
    pub out: Option<PathBuf>,
    /// Shrink each failure into a scenario beside its failure file.
    pub shrink: bool,
    /// The seeds are counted (`--seeds`, or the default); false for a
    /// campaign bounded by wall time only, whose plan runs to the last seed.
    pub bounded: bool,
}

impl Plan {
    /// How many seeds the shard holds (the campaign may stop earlier). An
    /// unbounded campaign (`--duration` without `--seeds`) holds every seed
    /// from its start.
    pub fn seeds_in_shard(&self) -> u64 {
        if self.shard.index > self.index_last {
            0
        } else {
            // Saturates for the one shard that holds all 2^64 seeds.
            ((self.index_last - self.shard.index) / self.shard.count).saturating_add(1)
        }
    }

    /// The seed of the shard's `position`th seed, if in range.
    pub fn seed_at(&self, position: u64) -> Option<u64> {
        let index = self.index_at(position)?;
        Some(
            self.seed_start
                .checked_add(index)
                .expect("the plan keeps seed_start + index_last within u64"),
        )
    }

    /// The seed index of the shard's `position`th seed, if in range.
    fn index_at(&self, position: u64) -> Option<u64> {
        let index = position
            .checked_mul(self.shard.count)?
            .checked_add(self.shard.index)?;
        (index <= self.index_last).then_some(index)
    }
}

/// A seed that did not pass.
#[derive(Clone, Debug)]
pub struct SeedFailure {
    pub seed: u64,
    pub finding: Finding,
}

/// A campaign in which more than this share of seeds completes no client
/// operation says so: its passes checked little.
pub const EMPTY_SEEDS_WARNING_PPM: u64 = 50_000;

/// What a campaign found, merged over workers, sorted by seed.
#[derive(Debug, Default)]
pub struct Totals {
    pub seeds_run: u64,
    pub events: u64,
    /// Client operations over every seed: invoked, completed, abandoned.
    pub ops_invoked: u64,
    pub ops_completed: u64,
    pub ops_abandoned: u64,
    /// Seeds that ran and completed no client operation (a seed refused
    /// for its unsafe quorums, as it must be, runs nothing and is not one).
    pub seeds_without_completed_ops: u64,
    pub probes: Probes,
    pub failures: Vec<SeedFailure>,
    /// Seeds whose two runs differed, with how.
    pub nondeterministic: Vec<(u64, String)>,
    pub files_written: Vec<PathBuf>,
    pub write_errors: Vec<String>,
    /// Failures `--shrink` could not shrink, and why.
    pub shrink_failures: Vec<String>,
}

impl Totals {
    fn merge(&mut self, other: Totals) {
        self.seeds_run += other.seeds_run;
        self.events += other.events;
        self.ops_invoked += other.ops_invoked;
        self.ops_completed += other.ops_completed;
        self.ops_abandoned += other.ops_abandoned;
        self.seeds_without_completed_ops += other.seeds_without_completed_ops;
        self.probes.add(&other.probes);
        self.failures.extend(other.failures);
        self.nondeterministic.extend(other.nondeterministic);
        self.files_written.extend(other.files_written);
        self.write_errors.extend(other.write_errors);
        self.shrink_failures.extend(other.shrink_failures);
    }

    /// The warning for a campaign whose seeds mostly completed nothing.
    pub fn empty_seeds_warning(&self) -> Option<String> {
        let empty = u128::from(self.seeds_without_completed_ops);
        let limit = u128::from(self.seeds_run) * u128::from(EMPTY_SEEDS_WARNING_PPM);
        (empty * u128::from(PPM_ONE) > limit).then(|| {
            format!(
                "{} of {} seeds ({:.1}%) completed no client operation, more than {}%: a run \
                 that completes nothing checks little (are the pins too harsh, or does every \
                 seed fail at once?)",
                self.seeds_without_completed_ops,
                self.seeds_run,
                100.0 * self.seeds_without_completed_ops as f64 / self.seeds_run as f64,
                EMPTY_SEEDS_WARNING_PPM * 100 / u64::from(PPM_ONE),
            )
        })
    }

    fn sort(&mut self) {
        self.failures.sort_by_key(|failure| failure.seed);
        self.nondeterministic.sort_by_key(|(seed, _)| *seed);
        self.files_written.sort();
        self.write_errors.sort();
        self.shrink_failures.sort();
    }
}

#[derive(Debug)]
pub struct CampaignResult {
    pub totals: Totals,
    pub elapsed: Duration,
    /// The stop flag was raised: the campaign ended before its plan did.
    pub stopped: bool,
    /// Which seeds of the shard ran.
    pub coverage: Coverage,
}

/// Which seeds of the shard ran: always its first `positions_run`
/// positions, since every position handed out is run to its end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Coverage {
    pub positions_run: u64,
    /// The shard's positions in all: `None` when the campaign was bounded
    /// by wall time only.
    pub positions_planned: Option<u64>,
}

impl Coverage {
    /// Positions planned and not run, from `positions_run` on; `Some(None)`
    /// for an unbounded campaign's endless rest, `None` when all ran.
    pub fn not_run(&self) -> Option<Option<u64>> {
        match self.positions_planned {
            Some(planned) if planned == self.positions_run => None,
            Some(planned) => Some(Some(planned - self.positions_run)),
            None => Some(None),
        }
    }
}

/// Run the campaign. `stop` is raised from outside (a signal); `counters`
/// are read by the progress display while the campaign runs.
pub fn run(plan: &Plan, stop: &AtomicBool, counters: &Counters) -> CampaignResult {
    assert!(plan.jobs > 0, "a campaign needs at least one worker");
    assert!(
        plan.shard.index < plan.shard.count,
        "shard index out of range"
    );
    let started = Instant::now();
    let next_position = AtomicU64::new(0);
    let mut totals = Totals::default();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..plan.jobs)
            .map(|_| scope.spawn(|| worker(plan, stop, counters, &next_position, started)))
            .collect();
        for handle in workers {
            totals.merge(handle.join().expect("campaign workers catch every panic"));
        }
    });
    totals.sort();
    // Positions are handed out in order and each one handed out is run, so
    // the seeds run are the shard's first positions.
    let positions_run = next_position
        .load(Ordering::SeqCst)
        .min(plan.seeds_in_shard());
    assert_eq!(
        totals.seeds_run, positions_run,
        "every position handed out ran"
    );
    CampaignResult {
        totals,
        elapsed: started.elapsed(),
        stopped: stop.load(Ordering::SeqCst),
        coverage: Coverage {
            positions_run,
            positions_planned: plan.bounded.then(|| plan.seeds_in_shard()),
        },
    }
}

fn worker(
    plan: &Plan,
    stop: &AtomicBool,
    counters: &Counters,
    next_position: &AtomicU64,
    started: Instant,
) -> Totals {
    let mut totals = Totals::default();
    loop {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        if plan
            .duration
            .is_some_and(|duration| started.elapsed() >= duration)
        {
            break;
        }
        let position = next_position.fetch_add(1, Ordering::SeqCst);
        let Some(seed) = plan.seed_at(position) else {
            break;
        };
        run_seed(plan, seed, &mut totals, counters, stop);
    }
    totals
}

fn run_seed(plan: &Plan, seed: u64, totals: &mut Totals, counters: &Counters, stop: &AtomicBool) {
    let recheck = chosen_for_recheck(seed, plan.determinism_ppm);
    let outcome = match guarded::catch(|| SimConfig::draw(seed, &plan.pins)) {
        Ok(config) => outcome::run(&config, recheck),
        Err(panic) => panic_outcome(format!("while drawing the configuration: {panic}")),
    };
    totals.seeds_run += 1;
    totals.events += outcome.events;
    let ops = &outcome.counters;
    totals.ops_invoked += ops.ops_invoked;
    totals.ops_completed += ops.ops_completed;
    totals.ops_abandoned += ops.ops_abandoned;
    // A seed refused as it must be ran nothing, and checked what it had to.
    totals.seeds_without_completed_ops += u64::from(!outcome.refused && ops.ops_completed == 0);
    totals.probes.add(&outcome.probes);
    counters.seed_done(outcome.events, !outcome.is_pass());
    let context = FileContext {
        plan,
        counters,
        stop,
    };
    if let Some(finding) = outcome.finding {
        record_file(&context, seed, &finding, totals);
        totals.failures.push(SeedFailure { seed, finding });
    }
    if let Some(difference) = outcome.nondeterminism {
        let finding = Finding::bare(outcome::NONDETERMINISTIC, difference.clone());
        record_file(&context, seed, &finding, totals);
        totals.nondeterministic.push((seed, difference));
    }
}

fn panic_outcome(message: String) -> outcome::Outcome {
    outcome::Outcome {
        label: PANIC,
        events: 0,
        digest: None,
        probes: Probes::default(),
        counters: sim::Counters::default(),
        finding: Some(Finding::bare(PANIC, message)),
        unfired_faults: Vec::new(),
        refused: false,
        nondeterminism: None,
    }
}

/// What writing a failure's files needs besides the failure.
struct FileContext<'a> {
    plan: &'a Plan,
    counters: &'a Counters,
    /// Raised: abandon a shrink at its next candidate run.
    stop: &'a AtomicBool,
}

/// Write the failure file at once, so an interrupted campaign keeps it.
fn record_file(context: &FileContext, seed: u64, finding: &Finding, totals: &mut Totals) {
    let plan = context.plan;
    let Some(dir) = &plan.out else { return };
    if finding.label == INVALID_CONFIG {
        return;
    }
    let path = match corpus::write_failure(dir, seed, &plan.pins, finding) {
        Ok(path) => path,
        Err(error) => {
            totals.write_errors.push(error);
            return;
        }
    };
    totals.files_written.push(path.clone());
    // A panicking run leaves no timeline to draw.
    if finding.label != PANIC {
        match crate::pages::beside_failure(&path, seed, &plan.pins, finding.label) {
            Ok(page) => totals.files_written.push(page),
            Err(error) => totals.write_errors.push(error),
        }
    }
    let shrinkable = ![PANIC, outcome::NONDETERMINISTIC].contains(&finding.label);
    if plan.shrink && shrinkable {
        record_shrunk(context, seed, finding.label, &path, totals);
    }
}

/// `--shrink`: the minimal scenario, beside the failure file. Once the stop
/// flag is up the shrink is abandoned, and the failure stays unshrunk.
fn record_shrunk(
    context: &FileContext,
    seed: u64,
    label: &str,
    failure_path: &Path,
    totals: &mut Totals,
) {
    let plan = context.plan;
    let scenario_path = failure_path.with_extension("shrunk.json");
    let name = scenario_path
        .file_name()
        .map(|name| {
            name.to_string_lossy()
                .trim_end_matches(".shrunk.json")
                .to_string()
        })
        .unwrap_or_default();
    let config = SimConfig::draw(seed, &plan.pins);
    let runs_max = sim::shrink::RUNS_MAX_DEFAULT;
    let cancelled = || context.stop.load(Ordering::SeqCst);
    context.counters.shrink_started(seed);
    let origin = format!("seed {seed} ({})", crate::pins::describe(&plan.pins));
    let shrunk = shrink::shrink_to_file(
        &config,
        &origin,
        &scenario_path,
        &name,
        runs_max,
        &cancelled,
    );
    context.counters.shrink_ended(seed);
    match shrunk {
        Ok(report) => totals.files_written.push(report.path),
        Err(error) if cancelled() => totals.shrink_failures.push(format!(
            "{error} (interrupted: the failure is reported unshrunk; \
             shrink it with {})",
            crate::summary::shrink_command(seed, &plan.pins, label)
        )),
        Err(error) => totals.shrink_failures.push(error),
    }
}

/// Whether `seed` is one of the seeds run twice: decided by the seed alone,
/// so the same seeds are rechecked whatever the thread count or shard.
pub fn chosen_for_recheck(seed: u64, ppm: Ppm) -> bool {
    // SplitMix64's finalizer spreads consecutive seeds over the whole range.
    let mut x = seed ^ 0x9e37_79b9_7f4a_7c15;
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^= x >> 31;
    x % u64::from(PPM_ONE) < u64::from(ppm)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(index_last: u64, shard: Shard) -> Plan {
        Plan {
            pins: Pins::default(),
            seed_start: 0,
            index_last,
            shard,
            shard_source: ShardSource::new("flag"),
            duration: None,
            jobs: 1,
            determinism_ppm: 0,
            out: None,
            shrink: false,
            bounded: true,
        }
    }

    #[test]
    fn shards_partition_the_seed_indices() {
        for count in 1..5 {
            let mut seen = Vec::new();
            for index in 0..count {
                let plan = plan(9, Shard { index, count });
                let positions: Vec<u64> = (0..).map_while(|p| plan.index_at(p)).collect();
                assert_eq!(positions.len() as u64, plan.seeds_in_shard());
                seen.extend(positions);
            }
            seen.sort_unstable();
            assert_eq!(seen, (0..10).collect::<Vec<u64>>(), "{count} shards");
        }
    }

    #[test]
    fn a_stop_abandons_the_shrink_and_keeps_the_failure_unshrunk() {
        let dir = std::env::temp_dir().join(format!("paxsim-abandon-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let plan = Plan {
            pins: Pins {
                flaws: [paxos::Flaw::AcceptBelowPromise].into_iter().collect(),
                ..Pins::default()
            },
            out: Some(dir.clone()),
            shrink: true,
            ..plan(0, Shard::ALL)
        };
        // Seed 0 fails with this flaw; the stop is up while it runs.
        let stop = AtomicBool::new(true);
        let mut totals = Totals::default();
        run_seed(&plan, 0, &mut totals, &Counters::default(), &stop);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(totals.failures.len(), 1, "the failure is reported");
        let written: Vec<_> = (totals.files_written.iter())
            .map(|file| file.extension().unwrap().to_str().unwrap().to_string())
            .collect();
        assert_eq!(
            written,
            ["json", "html"],
            "its failure file and page, no scenario"
        );
        let [note] = totals.shrink_failures.as_slice() else {
            panic!("one note: {:?}", totals.shrink_failures);
        };
        assert!(note.contains("abandoned"), "{note}");
        assert!(note.contains("reported unshrunk"), "{note}");
    }

    #[test]
    fn more_than_five_percent_of_empty_seeds_is_a_warning() {
        let totals = |seeds_run, empty| Totals {
            seeds_run,
            seeds_without_completed_ops: empty,
            ..Totals::default()
        };
        assert_eq!(totals(100, 5).empty_seeds_warning(), None);
        let warning = totals(100, 6).empty_seeds_warning().unwrap();
        assert!(warning.starts_with("6 of 100 seeds (6.0%)"), "{warning}");
        assert_eq!(totals(0, 0).empty_seeds_warning(), None);
    }

    #[test]
    fn about_the_asked_fraction_is_rechecked() {
        let chosen = (0..100_000)
            .filter(|seed| chosen_for_recheck(*seed, 50_000))
            .count();
        assert!((4_000..6_000).contains(&chosen), "{chosen}");
        assert!((0..1_000).all(|seed| !chosen_for_recheck(seed, 0)));
        assert!((0..1_000).all(|seed| chosen_for_recheck(seed, PPM_ONE)));
    }
}
