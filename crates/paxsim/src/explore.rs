//! `paxsim explore`: the flags that describe a small cluster and its
//! budgets, the search (`sim::explore`) run against a wall-time limit with
//! a progress display, and what it found: a verdict that says `pass` only
//! for an exhausted search, the counts, and a counterexample printed as the
//! schedule `paxsim run` replays, optionally written as a scenario file.
//!
//! Exit codes: 0 no violation within the bounds (`pass` or `bounded`), 1 a
//! violation, 2 bad input.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::builder::TypedValueParser;
use clap::{ArgAction, Args};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;

use paxos::{Flaw, Mode};
use sim::ScriptedOp;
use sim::explore::{
    self, Action, Bounds, Budgets, ExploreConfig, ExploreReport, Progress, Strategy, Verdict,
};

use crate::atomic;
use crate::error::InputError;
use crate::outcome::{self, Expect};
use crate::scenario::Scenario;
use crate::units::parse_duration;

/// Model-check a small cluster: every schedule up to the budgets.
///
/// Explores every interleaving of message deliveries, drops and duplicates,
/// timer firings, crashes and restarts, and client operations, within the
/// budgets, through the same core and checkers as `fuzz`. BFS returns a
/// shortest counterexample. `pass` means the search was exhaustive; a run
/// cut by --depth-max, --states-max or --time-max is `bounded`, never a
/// pass. Exit codes: 0 no violation within the bounds, 1 a violation, 2 bad
/// input. Time is abstract (any pending timer may fire at any step); a
/// partition is not a fault of its own here: its effect on a message is a
/// drop, within --drops.
#[derive(Args, Debug)]
pub struct ExploreArgs {
    /// Nodes in the cluster.
    #[arg(long, value_name = "N", default_value_t = 3,
          value_parser = clap::value_parser!(u8).range(2..=5))]
    pub nodes: u8,
    /// Clients, each running --ops Puts on key 0 (or use --script).
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u8).range(1..=3))]
    pub clients: u8,
    /// Operations per client: Puts on key 0.
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u8).range(0..=4))]
    pub ops: u8,
    /// One client's script, repeatable (replaces --clients and --ops):
    /// comma-separated `put:K`, `get:K`, `cas:K` with keys 0..=3, e.g.
    /// `--script get:0 --script put:0`.
    #[arg(long, value_name = "OPS", action = ArgAction::Append,
          conflicts_with_all = ["clients", "ops"])]
    pub script: Vec<String>,
    /// The node each client sends its first request to, one per client
    /// [default: client i to node i % nodes].
    #[arg(long, value_name = "NODE", action = ArgAction::Append)]
    pub target: Vec<u8>,
    /// How proposals are driven.
    #[arg(long, value_name = "MODE", default_value = "stable-leader",
          value_parser = ["stable-leader", "leaderless"])]
    pub mode: String,
    /// Phase-1 quorum size [default: a majority].
    #[arg(long, value_name = "Q")]
    pub quorum_phase1: Option<u8>,
    /// Phase-2 quorum size [default: a majority].
    #[arg(long, value_name = "Q")]
    pub quorum_phase2: Option<u8>,
    /// Turn on a deliberate flaw (repeatable).
    #[arg(long, value_name = "NAME", action = ArgAction::Append,
          value_parser = clap::builder::PossibleValuesParser::new(flaw_names())
              .map(|name| Flaw::from_name(&name).expect("clap admits only known flaws")))]
    pub flaw: Vec<Flaw>,
    /// Crashes a schedule may contain.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub crashes: u8,
    /// Restarts a schedule may contain.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub restarts: u8,
    /// Messages a schedule may drop (a partition's effect, message by message).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub drops: u8,
    /// Messages a schedule may duplicate.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub duplicates: u8,
    /// Election timer firings, over all nodes.
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub elections: u8,
    /// Heartbeat timer firings, over all nodes.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub heartbeats: u8,
    /// Retransmit timer firings, over all nodes.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub retransmits: u8,
    /// Catch-up timer firings, over all nodes.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub catchups: u8,
    /// Per operation: timeouts after which a client resends.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub client_retries: u8,
    /// Per operation: redirects a client follows.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub client_redirects: u8,
    /// Breadth first: a shortest counterexample (the default).
    #[arg(long, conflicts_with = "dfs")]
    pub bfs: bool,
    /// Depth first: memory for one path, any counterexample.
    #[arg(long)]
    pub dfs: bool,
    /// Take every order of independent steps (no sleep sets): the same
    /// states, more steps; to measure what the reduction saves.
    #[arg(long)]
    pub no_sleep_sets: bool,
    /// Keep the messages a receiver ignores for good in flight (no
    /// discarding): more states, the same terminal states and verdicts; to
    /// measure what the reduction saves.
    #[arg(long)]
    pub keep_ignored: bool,
    /// Steps from the initial state past which states are not expanded.
    #[arg(long, value_name = "N", default_value_t = 60)]
    pub depth_max: u32,
    /// Distinct states after which the search stops.
    #[arg(long, value_name = "N", default_value_t = 20_000_000)]
    pub states_max: u64,
    /// Wall time after which the search stops: 30s, 5m, 1h.
    #[arg(long, value_name = "TIME", default_value = "60s", value_parser = parse_duration)]
    pub time_max: Duration,
    /// Print one JSON object instead of the human report.
    #[arg(long)]
    pub json: bool,
    /// Write a counterexample here as a scenario file `paxsim run` replays.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// The scenario's name [default: the file name without .json].
    #[arg(long)]
    pub name: Option<String>,
}

fn flaw_names() -> Vec<&'static str> {
    Flaw::ALL.iter().map(|flaw| flaw.name()).collect()
}

pub fn command(args: ExploreArgs) -> Result<ExitCode, InputError> {
    let config = config_of(&args)?;
    config.validate().map_err(|error| {
        InputError(format!(
            "configuration from the flags: {}",
            flag_named(&error)
        ))
    })?;
    let strategy = if args.dfs {
        Strategy::Dfs
    } else {
        Strategy::Bfs
    };
    let bounds = Bounds {
        depth_max: args.depth_max,
        states_max: args.states_max,
    };
    if !args.json {
        eprintln!(
            "exploring {}",
            describe(&config, strategy, bounds, args.time_max)
        );
    }
    let started = Instant::now();
    let display = Display::new(!args.json);
    let mut progress = |progress: &Progress| {
        display.update(progress, started.elapsed());
        started.elapsed() < args.time_max
    };
    let reduction = explore::Reduction {
        sleep_sets: !args.no_sleep_sets,
        discard_ignored: !args.keep_ignored,
    };
    let report = explore::explore_with(&config, strategy, bounds, reduction, &mut progress)
        .map_err(|error| {
            InputError(format!(
                "configuration from the flags: {}",
                flag_named(&error)
            ))
        })?;
    display.finish();
    let elapsed = started.elapsed();
    let found = match &report.verdict {
        Verdict::Violation { actions, violation } => Some(Found::new(&config, actions, violation)?),
        _ => None,
    };
    let written = match (&args.out, &found) {
        (Some(path), Some(found)) => Some(write_scenario(&args, path, &config, found)?),
        _ => None,
    };
    if args.json {
        print_json(
            &config,
            strategy,
            bounds,
            &report,
            found.as_ref(),
            elapsed,
            written.as_ref(),
        );
    } else {
        print_human(
            &report,
            found.as_ref(),
            elapsed,
            written.as_ref(),
            args.out.is_some(),
        );
    }
    Ok(if found.is_some() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The explored configuration the flags describe.
fn config_of(args: &ExploreArgs) -> Result<ExploreConfig, InputError> {
    let mode = match args.mode.as_str() {
        "leaderless" => Mode::Leaderless,
        _ => Mode::StableLeader,
    };
    let mut cluster = paxos::Config::new(args.nodes, mode);
    cluster.quorum_phase1 = args.quorum_phase1;
    cluster.quorum_phase2 = args.quorum_phase2;
    cluster.flaws = args.flaw.iter().copied().collect();
    let scripts = if args.script.is_empty() {
        let put = ScriptedOp::Put {
            key: 0,
            at_us: None,
            after_heal: false,
        };
        vec![vec![put; usize::from(args.ops)]; usize::from(args.clients)]
    } else {
        args.script
            .iter()
            .enumerate()
            .map(|(index, text)| {
                parse_script(text).map_err(|error| {
                    InputError(format!("--script (client {index}) `{text}`: {error}"))
                })
            })
            .collect::<Result<_, _>>()?
    };
    Ok(ExploreConfig {
        cluster,
        scripts,
        targets: args.target.clone(),
        budgets: Budgets {
            crashes: args.crashes,
            restarts: args.restarts,
            drops: args.drops,
            duplicates: args.duplicates,
            election_timers: args.elections,
            heartbeat_timers: args.heartbeats,
            retransmit_timers: args.retransmits,
            catchup_timers: args.catchups,
            client_retries: args.client_retries,
            client_redirects: args.client_redirects,
        },
    })
}

/// `put:0,get:1,cas:0`.
fn parse_script(text: &str) -> Result<Vec<ScriptedOp>, String> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    text.split(',')
        .map(|op| {
            let (kind, key) = op
                .trim()
                .split_once(':')
                .ok_or_else(|| format!("`{op}` is not KIND:KEY, expected put:K, get:K or cas:K"))?;
            let key: u32 = key
                .parse()
                .map_err(|_| format!("`{key}` is not a key, expected 0..{}", explore::KEYS_MAX))?;
            Ok(match kind {
                "put" => ScriptedOp::Put {
                    key,
                    at_us: None,
                    after_heal: false,
                },
                "get" => ScriptedOp::Get {
                    key,
                    at_us: None,
                    after_heal: false,
                },
                "cas" => ScriptedOp::Cas {
                    key,
                    expected_version: None,
                    at_us: None,
                    after_heal: false,
                },
                _ => {
                    return Err(format!(
                        "`{kind}` is not an operation, expected put, get or cas"
                    ));
                }
            })
        })
        .collect()
}

/// An explore configuration error, with the flag that sets the field.
fn flag_named(error: &str) -> String {
    let flags = [
        (
            "cluster.quorum_phase1, quorum_phase2",
            "--quorum-phase1/--quorum-phase2",
        ),
        ("cluster.quorum_phase1", "--quorum-phase1"),
        ("cluster.quorum_phase2", "--quorum-phase2"),
        ("cluster.nodes", "--nodes"),
        ("scripts", "--script/--clients/--ops"),
        ("targets", "--target"),
    ];
    for (field, flag) in flags {
        if let Some(rest) = error.strip_prefix(field) {
            return format!("{flag} ({field}){rest}");
        }
    }
    error.to_string()
}

fn describe(
    config: &ExploreConfig,
    strategy: Strategy,
    bounds: Bounds,
    time_max: Duration,
) -> String {
    let cluster = &config.cluster;
    let flaws: Vec<&str> = cluster.flaws.iter().map(Flaw::name).collect();
    let scripts: Vec<String> = config
        .scripts
        .iter()
        .map(|script| {
            let ops: Vec<String> = script.iter().map(op_text).collect();
            format!("[{}]", ops.join(","))
        })
        .collect();
    format!(
        "{} nodes ({:?}), clients {}, flaws [{}], budgets {:?}; {strategy:?}, depth <= {}, \
         states <= {}, time <= {}s",
        cluster.nodes,
        cluster.mode,
        scripts.join(" "),
        flaws.join(", "),
        config.budgets,
        bounds.depth_max,
        bounds.states_max,
        time_max.as_secs_f64()
    )
}

fn op_text(op: &ScriptedOp) -> String {
    match op {
        ScriptedOp::Put { key, .. } => format!("put:{key}"),
        ScriptedOp::Get { key, .. } => format!("get:{key}"),
        ScriptedOp::Cas { key, .. } => format!("cas:{key}"),
    }
}

/// A violation and the schedule that replays it in the simulator.
struct Found {
    actions: Vec<Action>,
    schedule: Vec<Action>,
    invariant: &'static str,
    text: String,
}

impl Found {
    fn new(
        config: &ExploreConfig,
        actions: &[Action],
        violation: &sim::Violation,
    ) -> Result<Found, InputError> {
        let schedule = explore::schedule_of(config, actions)
            .map_err(|error| InputError(format!("the counterexample does not replay: {error}")))?;
        Ok(Found {
            actions: actions.to_vec(),
            schedule,
            invariant: violation.invariant.name(),
            text: violation.to_string(),
        })
    }
}

/// Write the counterexample as a scenario, after checking that the
/// simulator, reading the file back, fails with the same invariant.
fn write_scenario(
    args: &ExploreArgs,
    path: &std::path::Path,
    config: &ExploreConfig,
    found: &Found,
) -> Result<PathBuf, InputError> {
    let name = args.name.clone().unwrap_or_else(|| {
        path.file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_else(|| "explored".into())
    });
    let command: Vec<String> = std::env::args().skip(1).collect();
    let description = format!(
        "Found by `paxsim {}`: a counterexample of {} explore steps ({} schedule steps) that breaks {}.",
        command.join(" "),
        found.actions.len(),
        found.schedule.len(),
        found.invariant
    );
    let sim_config = explore::sim_config(config, found.schedule.clone());
    let expect = Expect::from_name(found.invariant).map_err(InputError)?;
    let scenario = Scenario::from_config(&name, &description, &sim_config, expect);
    let mut text = serde_json::to_string_pretty(&scenario).expect("a scenario always serializes");
    text.push('\n');
    let read_back: Scenario = serde_json::from_str(&text).expect("a written scenario parses");
    let read_config = read_back
        .to_config()
        .map_err(|error| InputError(format!("the scenario does not read back: {error}")))?;
    let actual = outcome::run(&read_config, false).actual();
    if actual != found.invariant {
        return Err(InputError(format!(
            "the scenario read back runs to {actual}, not {}; not written",
            found.invariant
        )));
    }
    atomic::write(path, text.as_bytes()).map_err(InputError)?;
    Ok(path.to_path_buf())
}

fn verdict_word(verdict: &Verdict) -> &'static str {
    match verdict {
        Verdict::Violation { .. } => "violation",
        Verdict::Pass => "pass",
        Verdict::Bounded { .. } => "bounded",
    }
}

fn print_human(
    report: &ExploreReport,
    found: Option<&Found>,
    elapsed: Duration,
    written: Option<&PathBuf>,
    asked_to_write: bool,
) {
    match &report.verdict {
        Verdict::Pass => {
            println!("verdict: pass: every state within the budgets explored, no violation")
        }
        Verdict::Bounded { bounds } => {
            let names: Vec<String> = bounds
                .iter()
                .map(|bound| format!("{bound:?}").to_lowercase())
                .collect();
            println!(
                "verdict: bounded by {}: no violation in what was explored; not a pass",
                names.join(", ")
            );
        }
        Verdict::Violation { .. } => {
            let found = found.expect("a violation is found");
            println!("verdict: violation: {}", found.invariant);
        }
    }
    print_counts(report, elapsed);
    let Some(found) = found else {
        return;
    };
    println!(
        "counterexample: {} steps; as the schedule `paxsim run` replays ({} events):",
        found.actions.len(),
        found.schedule.len()
    );
    for (index, action) in found.schedule.iter().enumerate() {
        println!("{index:>5} {action}");
    }
    println!("{}", found.text);
    match written {
        Some(path) => {
            println!("wrote {} (expect {})", path.display(), found.invariant);
            println!("check it: paxsim run {}", path.display());
            println!(
                "trace it: paxsim replay --scenario {} --trace",
                path.display()
            );
        }
        None if !asked_to_write => println!("write it as a scenario with --out FILE"),
        None => {}
    }
}

fn print_counts(report: &ExploreReport, elapsed: Duration) {
    let seconds = elapsed.as_secs_f64().max(1e-9);
    println!(
        "states: {} unique, {} generated, {} terminal; depth reached {}; frontier at most {}",
        report.states_unique,
        report.states_generated,
        report.states_terminal,
        report.depth_reached,
        report.frontier_max
    );
    println!(
        "speed: {:.0} unique states/s ({:.0} generated/s) over {seconds:.2}s; about {} bytes per state",
        report.states_per_second(elapsed),
        report.states_generated as f64 / seconds,
        report.bytes_per_state
    );
}

fn print_json(
    config: &ExploreConfig,
    strategy: Strategy,
    bounds: Bounds,
    report: &ExploreReport,
    found: Option<&Found>,
    elapsed: Duration,
    written: Option<&PathBuf>,
) {
    let seconds = elapsed.as_secs_f64().max(1e-9);
    let bounds_hit: Vec<_> = match &report.verdict {
        Verdict::Bounded { bounds } => bounds.clone(),
        _ => Vec::new(),
    };
    let object = json!({
        "verdict": verdict_word(&report.verdict),
        "bounds_hit": bounds_hit,
        "invariant": found.map(|found| found.invariant),
        "violation": found.map(|found| found.text.clone()),
        "counterexample": found.map(|found| &found.actions),
        "schedule": found.map(|found| &found.schedule),
        "states_generated": report.states_generated,
        "states_unique": report.states_unique,
        "states_terminal": report.states_terminal,
        "terminal_digest": format!("{:032x}", report.terminal_digest),
        "depth_reached": report.depth_reached,
        "frontier_max": report.frontier_max,
        "elapsed_s": seconds,
        "states_per_second": report.states_per_second(elapsed),
        "generated_per_second": report.states_generated as f64 / seconds,
        "bytes_per_state": report.bytes_per_state,
        "strategy": strategy,
        "bounds": bounds,
        "config": config,
        "file": written.map(|path| path.display().to_string()),
    });
    println!("{object}");
}

/// The progress display: a bar on a terminal, a plain line every few
/// seconds otherwise, nothing with --json.
struct Display {
    bar: Option<ProgressBar>,
    plain: bool,
    last_line: std::cell::Cell<Duration>,
}

const PLAIN_INTERVAL: Duration = Duration::from_secs(10);

impl Display {
    fn new(shown: bool) -> Display {
        let terminal = shown && std::io::stderr().is_terminal();
        let bar = terminal.then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {elapsed_precise} {msg}")
                    .expect("a valid template"),
            );
            bar
        });
        Display {
            bar,
            plain: shown && !terminal,
            last_line: std::cell::Cell::new(Duration::ZERO),
        }
    }

    fn update(&self, progress: &Progress, elapsed: Duration) {
        let line = || {
            format!(
                "states {} generated, {} unique, depth {}, frontier {}, {:.0} unique/s",
                progress.states_generated,
                progress.states_unique,
                progress.depth,
                progress.frontier,
                progress.states_unique as f64 / elapsed.as_secs_f64().max(1e-9)
            )
        };
        if let Some(bar) = &self.bar {
            bar.set_message(line());
            bar.tick();
        } else if self.plain && elapsed >= self.last_line.get() + PLAIN_INTERVAL {
            self.last_line.set(elapsed);
            eprintln!("{:.0}s: {}", elapsed.as_secs_f64(), line());
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
