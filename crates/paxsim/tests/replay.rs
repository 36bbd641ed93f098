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
