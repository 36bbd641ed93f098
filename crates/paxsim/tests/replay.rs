//! `paxsim replay`: configuration first, digest last, reproducible, and a
//! trace as JSON Lines.

mod common;

use common::{code, json, paxsim, scratch_dir, stderr, stdout};

#[test]
fn prints_the_configuration_first_and_the_digest_last() {
    let output = paxsim(&["replay", "--seed", "3"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.starts_with("{\n"), "{text}");
    let config_end = text.find("\n}\n").expect("the configuration ends") + 3;
    let config: serde_json::Value = serde_json::from_str(&text[..config_end]).unwrap();
    assert_eq!(config["seed"], 3);
    let last = text.lines().last().unwrap();
    assert!(last.starts_with("digest: 0x"), "{last}");
}

#[test]
fn the_same_seed_gives_the_same_digest() {
    let digest = |args: &[&str]| {
        let output = paxsim(args);
        stdout(&output).lines().last().unwrap().to_string()
    };
    let first = digest(&["replay", "--seed", "11", "--drop", "0.1"]);
    let second = digest(&["replay", "--seed", "11", "--drop", "0.1"]);
    assert_eq!(first, second);
    let other = digest(&["replay", "--seed", "12", "--drop", "0.1"]);
    assert_ne!(first, other);
}

#[test]
fn a_violation_prints_the_report_and_the_events_before_it() {
    // Seed 58 is in the corpus as a failing seed for this flaw.
    let output = paxsim(&["replay", "--seed", "58", "--flaw", "accept-below-promise"]);
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("violation: accept-below-promise"), "{text}");
    assert!(text.contains("events up to event"), "{text}");
    assert!(text.lines().last().unwrap().starts_with("digest: 0x"));
}

#[test]
fn json_mode_prints_one_object() {
    let output = paxsim(&["replay", "--seed", "5", "--json"]);
    let report = json(&output);
    for field in ["seed", "outcome", "invariant", "events", "digest", "config"] {
        assert!(report.get(field).is_some(), "missing `{field}`: {report}");
    }
    assert_eq!(report["seed"], 5);
    assert_eq!(report["config"]["seed"], 5);
}

#[test]
fn trace_json_writes_one_event_per_line() {
    let dir = scratch_dir("trace");
    let path = dir.join("trace.jsonl");
    let output = paxsim(&[
        "replay",
        "--seed",
        "2",
        "--json",
        "--trace-json",
        path.to_str().unwrap(),
    ]);
    let events = json(&output)["events"].as_u64().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(!lines.is_empty());
    let mut index_previous = None;
    for line in &lines {
        let event: serde_json::Value = serde_json::from_str(line).unwrap();
        let index = event["index"].as_u64().expect("every event has an index");
        assert!(index < events, "{line}");
        assert!(index_previous <= Some(index), "indices never fall: {line}");
        index_previous = Some(index);
        assert!(event["time_us"].is_u64(), "{line}");
        assert!(event["event"].is_string(), "{line}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn trace_prints_the_timeline() {
    let output = paxsim(&["replay", "--seed", "2", "--trace"]);
    let text = stdout(&output);
    assert!(text.contains("trace ("), "{text}");
    assert!(text.contains(" recv "), "{text}");
}

/// `client C seq S`, as the report names the operation that cannot be placed.
fn blamed(text: &str) -> String {
    let before = text
        .split(" cannot be placed after the longest")
        .next()
        .expect("the report blames an operation");
    let at = before
        .rfind("client ")
        .expect("the blamed operation is named");
    before[at..].to_string()
}

#[test]
fn a_linearizability_failure_shows_the_events_of_its_operations() {
    // The check runs at the end of the run: the last events are long past
    // the operations involved, so the tail also shows theirs.
    let output = paxsim(&[
        "replay",
        "--scenario",
        "scenarios/flaw-stale-leader-read.json",
    ]);
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    let text = stdout(&output);
    let blamed = blamed(&text);
    let (client, seq) = blamed
        .trim_start_matches("client ")
        .split_once(" seq ")
        .unwrap();
    let context = &text[text
        .find("the events of ")
        .expect("the context names its operations")..];
    assert!(
        context.contains(&format!("client {client} invokes seq {seq} ")),
        "{context}"
    );
    assert!(
        context.contains(&format!("-> client {client} seq {seq}: ")),
        "the reply: {context}"
    );
    assert!(context.contains("    ...\n"), "gaps are marked: {context}");
    // The tail still ends at the violation's event.
    let violation_event: u64 = text
        .split("violation: linearizability at event ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .unwrap()
        .parse()
        .unwrap();
    let last_line = context
        .lines()
        .take_while(|line| !line.is_empty())
        .last()
        .unwrap();
    let last_index: u64 = last_line
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        last_index <= violation_event && last_index + 5 >= violation_event,
        "{last_line}"
    );
}

#[test]
fn reports_and_traces_say_values_as_json_not_rust_debug() {
    let mut scenarios: Vec<_> = std::fs::read_dir(common::workspace_root().join("scenarios"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "json")
        })
        .collect();
    scenarios.sort();
    assert!(scenarios.len() >= 12);
    for path in scenarios {
        let output = paxsim(&["replay", "--scenario", path.to_str().unwrap(), "--trace"]);
        let text = stdout(&output);
        for debug in ["Some(", "None", "Object {", "String(", "Number(", " { "] {
            let line = text.lines().find(|line| line.contains(debug));
            assert!(line.is_none(), "{}: {line:?}", path.display());
        }
    }
}

#[test]
fn html_writes_the_page_of_the_same_run() {
    let dir = scratch_dir("html");
    let page = dir.join("run.html");
    let plain = paxsim(&["replay", "--seed", "3"]);
    let output = paxsim(&["replay", "--seed", "3", "--html", page.to_str().unwrap()]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let digest = |output: &std::process::Output| stdout(output).lines().last().unwrap().to_string();
    assert_eq!(
        digest(&output),
        digest(&plain),
        "recording the page alters nothing"
    );
    assert!(stdout(&output).contains("wrote the timeline page to"));
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.starts_with("<!doctype html>"));
    assert!(
        html.contains("paxsim replay --seed 3"),
        "the page says how to replay it"
    );
    // A file that cannot be written is bad input, exit 2.
    let output = paxsim(&["replay", "--seed", "3", "--html", "/nonexistent/dir/x.html"]);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("/nonexistent/dir/x.html"),
        "{}",
        stderr(&output)
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_seed_asking_for_unsafe_quorums_is_refused_as_expected() {
    // Seed 24 of the default swarm asks for q1 = 2, q2 = 1 in three nodes:
    // validation must refuse it, and that refusal is its correct outcome.
    let output = paxsim(&["replay", "--seed", "24"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("seed 24: refused as expected"), "{text}");
    assert!(text.contains("need not intersect"), "{text}");
    let output = paxsim(&["replay", "--seed", "24", "--json"]);
    assert_eq!(json(&output)["outcome"], "refused");
    // With the validation bug that admits it, the run is a failure of its own.
    let output = paxsim(&["replay", "--seed", "24", "--flaw", "validation-off-by-one"]);
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    assert!(
        stdout(&output).contains("unsafe-quorums-admitted"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn a_partial_heal_names_its_core() {
    let output = paxsim(&["replay", "--seed", "0"]);
    let text = stdout(&output);
    assert!(
        text.contains("heal: core [1, 2, 3, 4]; n0, n5 crashed"),
        "{text}"
    );
    let output = paxsim(&["replay", "--seed", "0", "--json"]);
    assert_eq!(json(&output)["heal"]["excluded"], serde_json::json!([0, 5]));
}
