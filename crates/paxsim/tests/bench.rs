//! `paxsim bench`: with tiny parameters, stdout is exactly one JSON object
//! with every section, figure and target, and every flaw is found within
//! the bound. No speed is asserted: the machine running the tests is not
//! the one the targets are about.

mod common;

use common::{code, json, paxsim, stderr, stdout};
use serde_json::Value;

/// Every section and the figures in it that must be positive numbers.
const SECTIONS: [(&str, &[&str]); 7] = [
    ("throughput", &["seeds", "elapsed_s"]),
    ("scaling", &["seeds", "speedup_j2_over_j1", "elapsed_s"]),
    ("memory", &["jobs", "peak_rss_mib_max", "elapsed_s"]),
    ("linearizability", &["budget_steps", "histories_per_case"]),
    ("flaws", &["starts", "seeds_max_per_start", "flaws_total"]),
    ("budgets", &["seeds", "ran", "margin", "elapsed_s"]),
    ("explore", &["speed_states_max", "elapsed_s"]),
];

const TARGETS: [&str; 11] = [
    "events_per_sec_checkers_on",
    "checker_cost_fraction",
    "speedup_j2_over_j1",
    "peak_rss_growth_fraction",
    "peak_rss_mib",
    "linearizability_10000_ops_8_clients_max_ms",
    "leader_changes_max",
    "messages_per_command_max",
    "retries_per_op_max",
    "explore_unique_states_per_second",
    "explore_slowest_flaw_s",
];

const FLAW_SEEDS_MAX: u64 = 1_000;

fn bench(extra: &[&str]) -> Value {
    let mut args = vec![
        "bench",
        "--seeds",
        "20",
        "--repeat",
        "1",
        "--memory-seeds",
        "50,100",
        "--flaw-starts",
        "1",
        "--linearizability-histories",
        "1",
        "--budget-seeds",
        "60",
    ];
    args.extend(extra);
    let output = paxsim(&args);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    // Exactly one JSON value, and it is an object.
    let text = stdout(&output);
    let mut values = serde_json::Deserializer::from_str(&text).into_iter::<Value>();
    let first = values.next().expect("stdout holds a JSON value");
    assert!(first.expect("it parses").is_object(), "{text}");
    assert!(values.next().is_none(), "more than one JSON value:\n{text}");
    json(&output)
}

fn number(value: &Value, path: &str) -> f64 {
    let figure = value
        .pointer(path)
        .unwrap_or_else(|| panic!("missing {path} in {value}"));
    let number = figure
        .as_f64()
        .unwrap_or_else(|| panic!("{path} is not a number: {figure}"));
    assert!(number.is_finite(), "{path} is {number}");
    number
}

fn positive(value: &Value, path: &str) -> f64 {
    let number = number(value, path);
    assert!(number > 0.0, "{path} is {number}, expected above 0");
    number
}

#[test]
fn every_section_figure_and_target_is_reported() {
    let report = bench(&[]);
    for (section, figures) in SECTIONS {
        assert!(report.get(section).is_some(), "missing `{section}`");
        for figure in figures {
            positive(&report, &format!("/{section}/{figure}"));
        }
    }
    positive(&report, "/elapsed_s");
    positive(&report, "/machine/available_parallelism");
    let command_line = report["machine"]["command_line"].as_str().unwrap();
    assert!(command_line.contains("bench"), "{command_line}");
    for target in TARGETS {
        let entry = &report["targets"][target];
        assert!(entry["met"].is_boolean(), "target {target}: {entry}");
        assert!(entry["target"].is_string(), "target {target}: {entry}");
        number(entry, "/threshold");
        number(entry, "/measured");
    }
    throughput_figures(&report["throughput"]);
    scaling_figures(&report["scaling"]);
    memory_figures(&report["memory"]);
    linearizability_figures(&report["linearizability"]);
    flaw_figures(&report["flaws"]);
    budget_figures(&report["budgets"]);
    explore_figures(&report["explore"]);
}

fn explore_figures(section: &Value) {
    for index in 0..2 {
        for figure in [
            "states_unique",
            "states_generated",
            "unique_states_per_second",
            "bytes_per_state",
        ] {
            positive(section, &format!("/speed/{index}/{figure}"));
        }
    }
    let flaws = section["flaws"].as_array().expect("a flaw list");
    assert_eq!(flaws.len(), 17, "every explorable flaw: {section}");
    for flaw in flaws {
        assert!(flaw["invariant"].is_string(), "found: {flaw}");
        number(flaw, "/depth");
    }
}

fn budget_figures(section: &Value) {
    assert_eq!(section["seeds"], 60);
    assert_eq!(section["failures"], 0, "the clean core passes: {section}");
    for figure in ["leader_changes", "messages_per_command", "retries_per_op"] {
        let entry = &section[figure];
        for key in ["p50", "p99", "p999", "max", "default_limit"] {
            number(entry, &format!("/{key}"));
        }
        assert!(entry["worst_seeds"].is_array(), "{entry}");
    }
}

fn throughput_figures(section: &Value) {
    for side in ["checkers_on", "checkers_off"] {
        for figure in [
            "events",
            "events_per_sec",
            "events_per_sec_best",
            "seeds_per_sec",
            "elapsed_s",
        ] {
            positive(section, &format!("/{side}/{figure}"));
        }
    }
    // With the checkers off every seed is `unchecked`, by design, and not a
    // failure; with them on, none is.
    let seeds = section["seeds"].as_u64().unwrap();
    assert_eq!(section["checkers_off"]["unchecked"], seeds, "{section}");
    assert_eq!(section["checkers_off"]["failures"], 0, "{section}");
    assert_eq!(section["checkers_on"]["unchecked"], 0, "{section}");
    assert_eq!(section["checkers_on"]["failures"], 0, "{section}");
    // The cost may come out negative on a noisy machine, but it is a number.
    number(section, "/checker_cost_fraction");
    number(section, "/checker_cost_fraction_best");
}

fn scaling_figures(section: &Value) {
    for jobs in ["j1", "j2"] {
        for figure in ["seeds_per_sec", "events_per_sec", "elapsed_s"] {
            positive(section, &format!("/{jobs}/{figure}"));
        }
    }
}

fn memory_figures(section: &Value) {
    let campaigns = section["campaigns"]
        .as_array()
        .expect("campaigns is a list");
    let sizes: Vec<u64> = campaigns
        .iter()
        .map(|campaign| campaign["seeds"].as_u64().unwrap())
        .collect();
    assert_eq!(sizes, [50, 100]);
    for campaign in campaigns {
        for figure in ["peak_rss_mib", "rss_mib", "seeds_per_sec", "elapsed_s"] {
            positive(campaign, &format!("/{figure}"));
        }
    }
    number(section, "/peak_rss_growth_fraction");
    assert!(section["note"].is_string());
}

fn linearizability_figures(section: &Value) {
    let cases = section["cases"].as_array().expect("cases is a list");
    let mut grid: Vec<(u64, u64)> = cases
        .iter()
        .map(|case| {
            (
                case["ops"].as_u64().unwrap(),
                case["clients"].as_u64().unwrap(),
            )
        })
        .collect();
    grid.sort_unstable();
    let expected: Vec<(u64, u64)> = [1_000, 10_000]
        .into_iter()
        .flat_map(|ops| [2, 4, 8].map(|clients| (ops, clients)))
        .collect();
    assert_eq!(grid, expected);
    for case in cases {
        positive(case, "/median_ms");
        positive(case, "/max_ms");
        // Generated histories are linearizable by construction.
        assert_eq!(case["linearizable"], case["histories"], "{case}");
    }
}

fn flaw_figures(section: &Value) {
    assert_eq!(section["seeds_max_per_start"], FLAW_SEEDS_MAX);
    let results = section["results"].as_array().expect("results is a list");
    let mut names: Vec<&str> = results
        .iter()
        .map(|result| result["flaw"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    let mut expected: Vec<&str> = paxos::Flaw::ALL.iter().map(|flaw| flaw.name()).collect();
    expected.sort_unstable();
    assert_eq!(names, expected);
    for result in results {
        let flaw = paxos::Flaw::from_name(result["flaw"].as_str().unwrap()).unwrap();
        assert_eq!(
            result["invariant"],
            sim::Invariant::catching(flaw).name(),
            "{result}"
        );
        let seeds = positive(result, "/first_start_seeds");
        assert!(seeds <= FLAW_SEEDS_MAX as f64, "{result}");
        number(result, "/first_start_elapsed_s");
        let median = positive(result, "/median_seeds");
        assert!(median <= FLAW_SEEDS_MAX as f64, "{result}");
        number(result, "/median_elapsed_s");
    }
}

#[test]
fn only_runs_the_sections_asked_for() {
    let report = bench(&["--only", "linearizability", "--only", "flaws"]);
    for section in [
        "linearizability",
        "flaws",
        "targets",
        "machine",
        "elapsed_s",
    ] {
        assert!(report.get(section).is_some(), "missing `{section}`");
    }
    for section in ["throughput", "scaling", "memory", "budgets"] {
        assert!(
            report.get(section).is_none(),
            "`{section}` was not asked for"
        );
    }
    let targets = report["targets"].as_object().unwrap();
    let names: Vec<&str> = targets.keys().map(String::as_str).collect();
    assert_eq!(names, ["linearizability_10000_ops_8_clients_max_ms"]);
}

#[test]
fn memory_sizes_must_grow() {
    let output = paxsim(&["bench", "--memory-seeds", "100,50", "--only", "memory"]);
    assert_eq!(code(&output), 2, "{}", stderr(&output));
    assert!(
        stderr(&output).contains("--memory-seeds"),
        "{}",
        stderr(&output)
    );
    assert!(stdout(&output).is_empty());
}
