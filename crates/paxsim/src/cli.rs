//! The command line: subcommands and their flags, parsed by clap.
//!
//! Values are checked here, at the edge (probabilities in 0..=1, shards
//! K < N, durations with units); clap reports a bad flag with exit code 2.
//! The configuration flags shared by the seed-drawing subcommands come
//! from the knob table, through `pins::ConfigArgs`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::pins::ConfigArgs;
use crate::units::{
    SeedStart, ShardArg, parse_duration, parse_jobs, parse_probability, parse_seed_start,
    parse_shard_arg,
};

/// Deterministic simulation testing for a Paxos key-value store.
///
/// Every run is decided by one u64 seed: `fuzz` runs many seeds, each
/// drawing its own cluster, network and fault mix; `replay` reruns one seed
/// in detail; `run` checks scenario and seed-corpus files against their
/// expected outcomes; `merge` puts the summaries of a campaign's shards
/// together. Exit codes: 0 all good, 1 a violation or an unmet
/// expectation, 2 bad usage, bad input or nothing to do, 130 or 143 a
/// campaign interrupted by SIGINT or SIGTERM.
#[derive(Parser, Debug)]
#[command(name = "paxsim", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    Fuzz(FuzzArgs),
    Replay(ReplayArgs),
    Run(RunArgs),
    Merge(MergeArgs),
    Shrink(ShrinkArgs),
    Export(ExportArgs),
    Bench(crate::bench::BenchArgs),
    Explore(crate::explore::ExploreArgs),
}

/// Run a campaign of seeds on every core and report failures.
///
/// Each seed draws its own configuration (swarm testing); the pinning flags
/// fix parts of it for every seed. Failures are listed sorted by seed, each
/// with the command that replays it; the output does not depend on -j.
#[derive(Args, Debug)]
pub struct FuzzArgs {
    /// How many seeds to run [default: 2000, or unbounded with --duration].
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub seeds: Option<u64>,
    /// The first seed, or `random` to draw one from the OS (it is printed).
    #[arg(long, value_name = "S", default_value = "0", value_parser = parse_seed_start,
          allow_negative_numbers = true)]
    pub seed_start: SeedStart,
    /// Stop handing out seeds after this much wall time: 30s, 5m, 1h.
    #[arg(long, value_name = "TIME", value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Worker threads [default: every core].
    #[arg(short = 'j', long, value_name = "N", value_parser = parse_jobs,
          allow_negative_numbers = true)]
    pub jobs: Option<usize>,
    /// Run only seed indices i with i % N == K (for splitting across
    /// machines); `auto` reads K and N from the CI environment: GitLab's
    /// CI_NODE_INDEX/CI_NODE_TOTAL, Buildkite's
    /// BUILDKITE_PARALLEL_JOB/BUILDKITE_PARALLEL_JOB_COUNT, CircleCI's
    /// CIRCLE_NODE_INDEX/CIRCLE_NODE_TOTAL, or a Kubernetes Indexed Job's
    /// JOB_COMPLETION_INDEX with --shard-count.
    #[arg(long, value_name = "K/N|auto", value_parser = parse_shard_arg)]
    pub shard: Option<ShardArg>,
    /// The number of shards, for --shard auto: needed with
    /// JOB_COMPLETION_INDEX, checked against the CI's count otherwise.
    #[arg(
        long,
        value_name = "N",
        requires = "shard",
        allow_negative_numbers = true
    )]
    pub shard_count: Option<u64>,
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Print one JSON object on stdout instead of the human summary.
    #[arg(long)]
    pub json: bool,
    /// Also write the JSON summary to FILE (atomically, even when the
    /// campaign is interrupted): what `paxsim merge` reads.
    #[arg(long, value_name = "FILE")]
    pub summary: Option<PathBuf>,
    /// Also write the result as JUnit XML to FILE, for CI test reports: a
    /// failing test case per failing seed, a passing one for a clean shard.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Check the flags, resolve the plan (seed range, shard, files) and
    /// print it, without running a seed.
    #[arg(long)]
    pub dry_run: bool,
    /// Write each failure here as a seed-corpus file that `paxsim run`
    /// replays, and beside it its timeline page (NAME.html).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Also shrink each failure and write the minimal scenario next to its
    /// failure file (NAME.shrunk.json). Needs --out.
    #[arg(long, requires = "out")]
    pub shrink: bool,
    /// Fraction of seeds (chosen from the seed) run twice to compare digests.
    #[arg(long, value_name = "RATE", default_value_t = 0.05, value_parser = parse_probability,
          allow_negative_numbers = true)]
    pub check_determinism: f64,
}

/// Rerun one seed: print its configuration, its outcome, and the trace.
///
/// Takes the same configuration and flaw flags as `fuzz`: the seed and the
/// flags together decide the run exactly. Or replays a scenario file.
#[derive(Args, Debug)]
pub struct ReplayArgs {
    /// The seed to replay.
    #[arg(
        long,
        value_name = "S",
        required_unless_present = "scenario",
        allow_negative_numbers = true
    )]
    pub seed: Option<u64>,
    /// Replay a scenario file instead of a seed (no configuration flags then).
    #[arg(long, value_name = "FILE", conflicts_with = "seed")]
    pub scenario: Option<PathBuf>,
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Print the whole timeline, one event per line.
    #[arg(long, conflicts_with = "json")]
    pub trace: bool,
    /// Write the whole timeline to FILE as JSON Lines.
    #[arg(long, value_name = "FILE")]
    pub trace_json: Option<PathBuf>,
    /// Write the run's timeline to FILE as a self-contained HTML page.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Print one JSON object instead: {seed, outcome, invariant, events,
    /// digest, violation, config}.
    #[arg(long)]
    pub json: bool,
}

/// Run scenario files and seed-corpus files and check their expectations.
///
/// A directory stands for every *.json file in it. A scenario file is one
/// JSON object with an explicit configuration; a seed-corpus file is
/// {"entries": [{"seed", "flaws", "pins", "expect"}, ...]}.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// Files or directories.
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
    /// Worker threads [default: every core].
    #[arg(short = 'j', long, value_name = "N", value_parser = parse_jobs,
          allow_negative_numbers = true)]
    pub jobs: Option<usize>,
    /// Print {"results": [{file, name, expected, actual, ok}]} instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Write a timeline page (HTML) here for every unmet expectation.
    #[arg(long, value_name = "DIR")]
    pub html: Option<PathBuf>,
}

/// Merge the JSON summaries of a campaign's shards into one.
///
/// Checks that the shards are of one campaign (seed range, pins, flaws,
/// shard count) and cover its range with no overlap, and names every shard
/// that is missing or was interrupted, with the seeds it left out.
/// Failures are listed by seed, operations and probes added up. Exit
/// codes: 0 every seed of the range ran and passed; 1 a failure, or a
/// shard missing or interrupted; 2 a summary that is malformed, or not of
/// the same campaign as the others.
#[derive(Args, Debug)]
pub struct MergeArgs {
    /// Summary files (`paxsim fuzz --json` or `--summary`), or directories
    /// standing for every *.json file in them.
    #[arg(value_name = "SUMMARY", required = true)]
    pub paths: Vec<PathBuf>,
    /// Print the merged summary as one JSON object, in the summary's own
    /// form (so merged summaries can be read like any other).
    #[arg(long)]
    pub json: bool,
    /// Also write the merged JSON summary to FILE (atomically).
    #[arg(long, value_name = "FILE")]
    pub summary: Option<PathBuf>,
    /// Also write the result as JUnit XML to FILE.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
}

/// Shrink a failing seed (or scenario) into a minimal regression scenario.
///
/// Materializes the seed's run (its drawn configuration, its random faults
/// as an explicit schedule, its client operations as scripts), checks that
/// this fails like the seed, then removes and simplifies for as long as the
/// same invariant still fails. Deterministic: the same input always gives
/// the same file. The scenario is written with `expect` set to the failure.
#[derive(Args, Debug)]
pub struct ShrinkArgs {
    /// The failing seed.
    #[arg(
        long,
        value_name = "S",
        required_unless_present = "scenario",
        allow_negative_numbers = true
    )]
    pub seed: Option<u64>,
    /// Shrink a failing scenario file instead (no configuration flags
    /// then); one with an exact schedule loses the steps it does not need.
    #[arg(long, value_name = "FILE", conflicts_with = "seed")]
    pub scenario: Option<PathBuf>,
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Where to write the shrunk scenario, e.g. scenarios/my-bug.json.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// The scenario's name [default: the file name without .json].
    #[arg(long)]
    pub name: Option<String>,
    /// Candidate runs to spend at most.
    #[arg(long, value_name = "N", default_value_t = sim::shrink::RUNS_MAX_DEFAULT,
          allow_negative_numbers = true)]
    pub runs_max: u64,
    /// Print one JSON object: {seed, invariant, before, after, runs, elapsed_s, file}.
    #[arg(long)]
    pub json: bool,
}

/// Write one seed's drawn configuration out as a scenario file.
///
/// The scenario reproduces the seed exactly (same seed, same fault rates,
/// so the same random fault plan) and can then be edited by hand.
#[derive(Args, Debug)]
pub struct ExportArgs {
    #[arg(long, value_name = "S", allow_negative_numbers = true)]
    pub seed: u64,
    #[command(flatten)]
    pub config: ConfigArgs,
    /// The scenario's name [default: the file name without .json].
    #[arg(long)]
    pub name: Option<String>,
    /// The scenario's description.
    #[arg(long, default_value = "")]
    pub description: String,
    /// The expected outcome [default: what the run actually does].
    #[arg(long, value_name = "OUTCOME")]
    pub expect: Option<String>,
    /// Where to write the scenario.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

/// Worker threads: the flag, or every core.
pub fn jobs_or_all_cores(jobs: Option<usize>) -> usize {
    jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(usize::from)
            .unwrap_or(1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }
}
