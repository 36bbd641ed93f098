//! The linearizability section: the checker alone on generated histories,
//! over a grid of history lengths and concurrent clients.

use std::time::Instant;

use serde_json::{Value, json};

use sim::linearizability::{self, BUDGET_STEPS_DEFAULT};

use super::{SectionReport, Target, median};

/// The linearizability grid: history lengths and concurrent clients.
const LINEARIZABILITY_OPS: [usize; 2] = [1_000, 10_000];
const LINEARIZABILITY_CLIENTS: [u32; 3] = [2, 4, 8];
/// The targets, reported against and never asserted.
const TARGET_LINEARIZABILITY_10K_8_CLIENTS_MS: f64 = 1_000.0;

pub(super) fn run(histories: u64) -> SectionReport {
    let mut cases = Vec::new();
    let mut table = Vec::new();
    let mut target_ms = f64::NAN;
    for ops in LINEARIZABILITY_OPS {
        for clients in LINEARIZABILITY_CLIENTS {
            eprintln!(
                "bench: linearizability: {histories} histories of {ops} ops, {clients} clients"
            );
            let case = linearizability_case(ops, clients, histories);
            if ops == 10_000 && clients == 8 {
                target_ms = case.max_ms;
            }
            table.push(format!(
                "linearizability {ops:>5} ops {clients} clients {:>10.2} ms (median)",
                case.median_ms
            ));
            cases.push(case.to_json(ops, clients, histories));
        }
    }
    let value = json!({
        "budget_steps": BUDGET_STEPS_DEFAULT,
        "histories_per_case": histories,
        "cases": cases,
    });
    let targets = vec![Target {
        name: "linearizability_10000_ops_8_clients_max_ms",
        comparison: "<",
        threshold: TARGET_LINEARIZABILITY_10K_8_CLIENTS_MS,
        measured: target_ms,
        unit: "ms",
    }];
    SectionReport {
        value,
        targets,
        table,
    }
}

struct CheckTimes {
    median_ms: f64,
    max_ms: f64,
    times_ms: Vec<f64>,
    /// Verdict counts: generated histories are linearizable by construction.
    linearizable: u64,
    not_linearizable: u64,
    inconclusive: u64,
}

impl CheckTimes {
    fn to_json(&self, ops: usize, clients: u32, histories: u64) -> Value {
        json!({
            "ops": ops,
            "clients": clients,
            "histories": histories,
            "median_ms": self.median_ms,
            "max_ms": self.max_ms,
            "times_ms": self.times_ms,
            "linearizable": self.linearizable,
            "not_linearizable": self.not_linearizable,
            "inconclusive": self.inconclusive,
        })
    }
}

fn linearizability_case(ops: usize, clients: u32, histories: u64) -> CheckTimes {
    let mut times = CheckTimes {
        median_ms: 0.0,
        max_ms: 0.0,
        times_ms: Vec::new(),
        linearizable: 0,
        not_linearizable: 0,
        inconclusive: 0,
    };
    for seed in 0..histories {
        let history = linearizability::generate_history(seed, ops, clients);
        assert_eq!(history.len(), ops);
        let started = Instant::now();
        let verdict = linearizability::check_key(&history, BUDGET_STEPS_DEFAULT);
        times.times_ms.push(started.elapsed().as_secs_f64() * 1e3);
        match verdict {
            linearizability::Verdict::Linearizable => times.linearizable += 1,
            linearizability::Verdict::NotLinearizable { .. } => times.not_linearizable += 1,
            linearizability::Verdict::Inconclusive { .. } => times.inconclusive += 1,
        }
    }
    times.median_ms = median(times.times_ms.iter().copied());
    times.max_ms = times.times_ms.iter().copied().fold(0.0, f64::max);
    times
}
