//! `paxsim fuzz`: the JSON report, determinism across thread counts and
//! shards, failures with replay commands, and failure files that replay.

mod common;

use std::collections::BTreeSet;

use common::{code, json, paxsim, scratch_dir, stderr, stdout};
use serde_json::Value;

fn failures_of(report: &Value) -> Vec<(u64, String)> {
    report["failures"]
        .as_array()
        .expect("failures is a list")
        .iter()
        .map(|failure| {
            (
                failure["seed"].as_u64().unwrap(),
                failure["invariant"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn json_report_has_the_documented_fields() {
    let output = paxsim(&["fuzz", "--seeds", "20", "--json"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let report = json(&output);
    for field in [
        "seeds_run",
        "seed_start",
        "events",
        "elapsed_s",
        "events_per_sec",
        "failures",
        "nondeterministic",
        "probes",
    ] {
        assert!(report.get(field).is_some(), "missing `{field}` in {report}");
    }
    assert_eq!(report["seeds_run"], 20);
    assert_eq!(report["seed_start"], 0);
    assert_eq!(report["seeds_planned"], 20);
    assert_eq!(report["interrupted"], false);
    assert_eq!(report["signal"], Value::Null);
    assert_eq!(
        report["covered"],
        serde_json::json!({"first_seed": 0, "step": 1, "seeds": 20})
    );
    assert_eq!(report["not_covered"], Value::Null, "every planned seed ran");
    let ops = &report["ops"];
    let invoked = ops["invoked"].as_u64().unwrap();
    let completed = ops["completed"].as_u64().unwrap();
    assert!(completed > 0 && completed <= invoked, "{report}");
    assert!(
        ops["abandoned"].as_u64().unwrap() <= invoked - completed,
        "{report}"
    );
    assert_eq!(report["seeds_without_completed_ops"], 0, "{report}");
    assert_eq!(report["warnings"], serde_json::json!([]));
    assert!(report["events"].as_u64().unwrap() > 0);
    let probes = report["probes"].as_object().unwrap();
    assert!(
        probes.contains_key("crash-between-prepare-and-accept"),
        "{report}"
    );
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let run = |jobs: &str| {
        let output = paxsim(&[
            "fuzz",
            "--flaw",
            "no-client-dedup",
            "--seeds",
            "100",
            "-j",
            jobs,
            "--json",
        ]);
        assert_eq!(code(&output), 1, "{}", stderr(&output));
        json(&output)
    };
    let one = run("1");
    let two = run("2");
    assert!(!failures_of(&one).is_empty(), "the flaw was not caught");
    assert_eq!(failures_of(&one), failures_of(&two));
    assert_eq!(one["events"], two["events"]);
    assert_eq!(one["probes"], two["probes"]);
    assert_eq!(one["failures"], two["failures"]);
}

#[test]
fn two_shards_cover_exactly_the_unsharded_seeds() {
    let run = |extra: &[&str]| {
        let mut args = vec![
            "fuzz",
            "--flaw",
            "no-client-dedup",
            "--seeds",
            "60",
            "--json",
        ];
        args.extend_from_slice(extra);
        json(&paxsim(&args))
    };
    let whole = run(&[]);
    let first = run(&["--shard", "0/2"]);
    let second = run(&["--shard", "1/2"]);
    assert_eq!(first["seeds_run"], 30);
    assert_eq!(second["seeds_run"], 30);
    assert_eq!(
        second["covered"],
        serde_json::json!({"first_seed": 1, "step": 2, "seeds": 30})
    );
    let mut sharded: Vec<(u64, String)> = failures_of(&first);
    sharded.extend(failures_of(&second));
    sharded.sort();
    assert_eq!(sharded, failures_of(&whole));
    assert!(failures_of(&first).iter().all(|(seed, _)| seed % 2 == 0));
    assert!(failures_of(&second).iter().all(|(seed, _)| seed % 2 == 1));
    let events = first["events"].as_u64().unwrap() + second["events"].as_u64().unwrap();
    assert_eq!(events, whole["events"].as_u64().unwrap());
}

#[test]
fn a_flaw_campaign_fails_and_prints_replay_commands() {
    let output = paxsim(&["fuzz", "--flaw", "accept-below-promise", "--seeds", "40"]);
    assert_eq!(code(&output), 1);
    let text = stdout(&output);
    assert!(text.contains("accept-below-promise at event"), "{text}");
    assert!(
        text.contains("replay: paxsim replay --seed "),
        "no replay command:\n{text}"
    );
    assert!(text.contains("--flaw accept-below-promise"), "{text}");
    assert!(text.contains("shrink: paxsim shrink --seed "), "{text}");
    assert!(text.contains("result: FAIL"), "{text}");
    // The printed replay command reproduces the failure.
    let line = text
        .lines()
        .find(|line| line.contains("replay: paxsim replay"))
        .unwrap();
    let command = line.trim().trim_start_matches("replay: paxsim ");
    let args: Vec<&str> = command.split(' ').collect();
    let replay = paxsim(&args);
    assert_eq!(code(&replay), 1);
    assert!(stdout(&replay).contains("violation: accept-below-promise"));
}

#[test]
fn failure_files_replay_to_the_same_invariant() {
    let dir = scratch_dir("failures");
    let out = dir.to_str().unwrap();
    let output = paxsim(&[
        "fuzz",
        "--flaw",
        "ballot-without-node-id",
        "--seeds",
        "30",
        "--json",
        "--out",
        out,
    ]);
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    let report = json(&output);
    let failures = failures_of(&report);
    assert!(!failures.is_empty());
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let json_files: Vec<_> = (files.iter())
        .filter(|path| path.extension().unwrap() == "json")
        .collect();
    assert_eq!(
        json_files.len(),
        failures.len(),
        "one file per failure: {files:?}"
    );
    // Beside each failure file, its timeline page, and nothing else.
    assert_eq!(files.len(), 2 * failures.len(), "{files:?}");
    for path in json_files {
        let page = std::fs::read_to_string(path.with_extension("html")).unwrap();
        assert!(page.starts_with("<!doctype html>"), "{}", path.display());
        assert!(page.contains("unique-ballot-value"), "{}", path.display());
    }
    let run = paxsim(&["run", out, "--json"]);
    assert_eq!(code(&run), 0, "{}\n{}", stdout(&run), stderr(&run));
    let results = json(&run)["results"].as_array().unwrap().clone();
    let replayed: BTreeSet<(u64, String)> = results
        .iter()
        .map(|result| {
            assert_eq!(result["ok"], true, "{result}");
            assert_eq!(result["expected"], result["actual"]);
            let name = result["name"].as_str().unwrap();
            let seed = name.split(' ').nth(1).unwrap().parse().unwrap();
            (seed, result["actual"].as_str().unwrap().to_string())
        })
        .collect();
    assert_eq!(replayed, failures.into_iter().collect());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_healthy_campaign_passes_and_reports_probes() {
    let output = paxsim(&["fuzz", "--seeds", "50", "--check-determinism", "1"]);
    assert_eq!(code(&output), 0, "{}", stdout(&output));
    let text = stdout(&output);
    assert!(text.contains("50 seeds run from 0..=49"), "{text}");
    assert!(text.contains("probes:"), "{text}");
    assert!(text.contains("result: PASS"), "{text}");
}

#[test]
fn duration_bounds_an_unbounded_campaign() {
    let output = paxsim(&["fuzz", "--duration", "1s", "--json"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let report = json(&output);
    let seeds_run = report["seeds_run"].as_u64().unwrap();
    assert!(seeds_run > 0);
    // Bounded by time alone: nothing was planned, the rest is open.
    assert_eq!(report["seeds_planned"], Value::Null, "{report}");
    assert_eq!(report["interrupted"], false);
    assert_eq!(report["not_covered"]["first_seed"], seeds_run, "{report}");
    assert_eq!(report["not_covered"]["seeds"], Value::Null, "{report}");
}

#[test]
fn random_seed_start_is_printed() {
    let output = paxsim(&["fuzz", "--seed-start", "random", "--seeds", "3", "--json"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let start = json(&output)["seed_start"].as_u64().unwrap();
    assert!(stderr(&output).contains(&format!("seed start: {start}")));
}

#[test]
fn a_campaign_whose_seeds_complete_nothing_says_so() {
    // This flaw fails most seeds within their first few events, before any
    // operation completes.
    let output = paxsim(&[
        "fuzz",
        "--flaw",
        "ballot-without-node-id",
        "--seeds",
        "40",
        "--json",
    ]);
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    let report = json(&output);
    let empty = report["seeds_without_completed_ops"].as_u64().unwrap();
    assert!(empty * 20 > 40, "{report}");
    let warning = report["warnings"][0].as_str().unwrap();
    assert!(
        warning.contains("completed no client operation"),
        "{warning}"
    );
    assert!(stderr(&output).contains(&format!("warning: {warning}")));
}

#[test]
fn refused_unsafe_quorums_count_as_correct_and_admitted_ones_fail() {
    let output = paxsim(&["fuzz", "--seeds", "200", "--json"]);
    assert_eq!(code(&output), 0, "{}", stdout(&output));
    let report = json(&output);
    let refused = report["probes"]["unsafe-quorums-refused"].as_u64().unwrap();
    assert!(
        refused > 0,
        "the swarm asks for unsafe quorums now and then"
    );
    assert!(report["failures"].as_array().unwrap().is_empty());
    let output = paxsim(&[
        "fuzz",
        "--seeds",
        "200",
        "--flaw",
        "validation-off-by-one",
        "--json",
    ]);
    assert_eq!(code(&output), 1, "{}", stdout(&output));
    let failures = failures_of(&json(&output));
    assert!(!failures.is_empty());
    assert!(
        failures
            .iter()
            .all(|(_, label)| label == "unsafe-quorums-admitted"),
        "{failures:?}"
    );
}

#[test]
fn each_failure_reports_its_seeds_disk_settings() {
    let output = paxsim(&[
        "fuzz",
        "--flaw",
        "trust-corrupt-record",
        "--seeds",
        "10",
        "--json",
    ]);
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    let report = json(&output);
    let failures = report["failures"].as_array().unwrap();
    assert!(!failures.is_empty());
    for failure in failures {
        let seed = failure["seed"].as_u64().unwrap().to_string();
        let replay = paxsim(&[
            "replay",
            "--seed",
            &seed,
            "--flaw",
            "trust-corrupt-record",
            "--json",
        ]);
        let config = &json(&replay)["config"];
        assert_eq!(failure["disk"], config["disk"], "seed {seed}");
        assert!(failure["disk"].is_object(), "seed {seed}: {failure}");
    }
}
