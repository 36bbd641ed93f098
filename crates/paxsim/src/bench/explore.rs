//! The explore section: the explorer's speed on a fixed clean configuration
//! (unique and generated states per second, bytes per state, with and
//! without sleep sets, and with ignored messages discarded), and each
//! planted flaw found by BFS: the length of its shortest counterexample,
//! the states it took, and the seconds.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use sim::explore::cases::{cluster, explorable, flaw_case, put};
use sim::explore::{self, Bounds, Budgets, ExploreConfig, Reduction, Strategy, Verdict};

use super::{SectionReport, Target, rate};

/// The speed case stops here: enough for a steady rate, a few seconds.
const SPEED_STATES_MAX: u64 = 400_000;
/// A flaw search's wall-time limit (the target is under 60 s).
const FLAW_SECONDS_MAX: u64 = 60;
/// The anchor: Stateright 0.31 `examples/paxos.rs check-dfs 3`, as the
/// issue measured it (1,194,428 unique states in about 7.6 CPU-seconds).
const TARGET_UNIQUE_STATES_PER_SECOND: f64 = 157_000.0;

/// 3 nodes, two clients with one Put each on one key (to nodes 0 and 1),
/// two elections: the subtle case without its crash.
pub fn speed_case() -> ExploreConfig {
    ExploreConfig {
        cluster: cluster(None),
        scripts: vec![vec![put(0)], vec![put(0)]],
        targets: vec![0, 1],
        budgets: Budgets {
            election_timers: 2,
            ..Budgets::default()
        },
    }
}

pub(super) fn run() -> SectionReport {
    let mut table = Vec::new();
    let config = speed_case();
    let bounds = Bounds {
        depth_max: 200,
        states_max: SPEED_STATES_MAX,
    };
    let mut speeds = Vec::new();
    let mut unique_per_second = f64::NAN;
    // The target is judged on the engine's rate with no state merged
    // (sleep sets only): each distinct state is then one state of the
    // model, as in the anchor, which merges none. With ignored messages
    // discarded (the default), a distinct state stands for all those that
    // differ from it only by dead messages, so it costs more steps each and
    // far fewer are needed (README, Job 4).
    let modes = [(true, false), (false, false), (true, true)];
    for (sleep_sets, discard_ignored) in modes {
        let started = Instant::now();
        let report = explore::explore_with(
            &config,
            Strategy::Dfs,
            bounds,
            Reduction {
                sleep_sets,
                discard_ignored,
            },
            &mut |_| true,
        )
        .expect("the speed case is valid");
        let elapsed = started.elapsed();
        let unique = report.states_per_second(elapsed);
        if sleep_sets && !discard_ignored {
            unique_per_second = unique;
        }
        table.push(format!(
            "explore dfs, sleep sets {sleep_sets:<5} discard {discard_ignored:<5} {unique:>10.0} unique/s {:>10.0} generated/s {:>5} bytes/state",
            rate(report.states_generated, elapsed),
            report.bytes_per_state
        ));
        speeds.push(json!({
            "sleep_sets": sleep_sets,
            "discard_ignored": discard_ignored,
            "states_unique": report.states_unique,
            "states_generated": report.states_generated,
            "elapsed_s": elapsed.as_secs_f64(),
            "unique_states_per_second": unique,
            "generated_states_per_second": rate(report.states_generated, elapsed),
            "bytes_per_state": report.bytes_per_state,
        }));
    }
    let mut flaws = Vec::new();
    let mut slowest_s: f64 = 0.0;
    for flaw in explorable() {
        let config = flaw_case(flaw, true);
        let started = Instant::now();
        let limit = Duration::from_secs(FLAW_SECONDS_MAX);
        let bounds = Bounds {
            depth_max: 60,
            states_max: 20_000_000,
        };
        let report = explore::explore(&config, Strategy::Bfs, bounds, &mut |_| {
            started.elapsed() < limit
        })
        .expect("every flaw case is valid with its flaw on");
        let elapsed_s = started.elapsed().as_secs_f64();
        let (invariant, depth) = match &report.verdict {
            Verdict::Violation { actions, violation } => (
                Value::from(violation.invariant.name()),
                Value::from(actions.len()),
            ),
            _ => (Value::Null, Value::Null),
        };
        // A flaw not found counts as the whole limit and more.
        let counted_s = if invariant.is_null() {
            f64::INFINITY
        } else {
            elapsed_s
        };
        slowest_s = slowest_s.max(counted_s);
        table.push(format!(
            "explore {:<28} {:>24} depth {depth:>3} {:>9} states {elapsed_s:>7.3}s",
            flaw.name(),
            invariant.as_str().unwrap_or("not found"),
            report.states_unique
        ));
        flaws.push(json!({
            "flaw": flaw.name(),
            "nodes": config.cluster.nodes,
            "invariant": invariant,
            "depth": depth,
            "states_unique": report.states_unique,
            "states_generated": report.states_generated,
            "elapsed_s": elapsed_s,
        }));
    }
    let value = json!({
        "speed_case": "3 nodes, clients [put:0] [put:0] at nodes 0 and 1, 2 elections, DFS",
        "speed_states_max": SPEED_STATES_MAX,
        "speed": speeds,
        "flaws": flaws,
    });
    let targets = vec![
        Target {
            name: "explore_unique_states_per_second",
            comparison: ">=",
            threshold: TARGET_UNIQUE_STATES_PER_SECOND,
            measured: unique_per_second,
            unit: "states/s",
        },
        Target {
            name: "explore_slowest_flaw_s",
            comparison: "<",
            threshold: FLAW_SECONDS_MAX as f64,
            measured: slowest_s,
            unit: "s",
        },
    ];
    SectionReport {
        value,
        targets,
        table,
    }
}
