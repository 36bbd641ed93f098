//! `paxsim shrink` and `fuzz --shrink`: the written scenario is smaller,
//! deterministic, and fails again with the same invariant.

mod common;

use common::{code, json, paxsim, scratch_dir, stderr, stdout};

#[test]
fn a_shrunk_scenario_is_smaller_and_fails_the_same_way_under_run() {
    let dir = scratch_dir("shrink");
    let file = dir.join("dedup.json");
    let file = file.to_str().unwrap();
    let args = [
        "shrink",
        "--seed",
        "2",
        "--flaw",
        "no-client-dedup",
        "--out",
        file,
        "--json",
    ];
    let output = paxsim(&args);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let report = json(&output);
    assert_eq!(report["invariant"], "linearizability");
    let size = |sizes: &serde_json::Value| {
        sizes["faults"].as_u64().unwrap() + sizes["ops"].as_u64().unwrap()
    };
    let (before, after) = (size(&report["before"]), size(&report["after"]));
    assert!(after * 4 <= before, "{after} faults + ops left of {before}");

    let scenario: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    assert_eq!(scenario["expect"], "linearizability");
    assert_eq!(
        scenario["cluster"]["flaws"],
        serde_json::json!(["no-client-dedup"])
    );

    let run = paxsim(&["run", file, "--json"]);
    assert_eq!(code(&run), 0, "{}", stdout(&run));
    let results = json(&run);
    assert_eq!(results["results"][0]["actual"], "linearizability");
    assert_eq!(results["results"][0]["ok"], true);
}

#[test]
fn shrinking_is_deterministic_to_the_byte() {
    let dir = scratch_dir("shrink-twice");
    let first = dir.join("a.json");
    let second = dir.join("b.json");
    for file in [&first, &second] {
        let args = [
            "shrink",
            "--seed",
            "1",
            "--flaw",
            "double-count-votes",
            "--name",
            "same",
            "--out",
            file.to_str().unwrap(),
        ];
        assert_eq!(code(&paxsim(&args)), 0);
    }
    let first = std::fs::read(first).unwrap();
    assert!(!first.is_empty());
    assert_eq!(first, std::fs::read(second).unwrap());
}

#[test]
fn a_passing_seed_cannot_be_shrunk() {
    let dir = scratch_dir("shrink-pass");
    let file = dir.join("never.json");
    let output = paxsim(&["shrink", "--seed", "0", "--out", file.to_str().unwrap()]);
    assert_eq!(code(&output), 2);
    assert!(stderr(&output).contains("passes"), "{}", stderr(&output));
    assert!(!file.exists(), "nothing is written for a passing seed");
}

#[test]
fn fuzz_shrink_writes_a_scenario_beside_each_failure() {
    let dir = scratch_dir("fuzz-shrink");
    let out = dir.to_str().unwrap();
    let args = [
        "fuzz",
        "--seeds",
        "6",
        "--flaw",
        "minority-quorum",
        "--out",
        out,
        "--shrink",
        "--json",
    ];
    let output = paxsim(&args);
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    let failures = json(&output)["failures"].as_array().unwrap().len();
    assert!(failures > 0);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let shrunk = names
        .iter()
        .filter(|name| name.ends_with(".shrunk.json"))
        .count();
    assert_eq!(shrunk, failures, "{names:?}");
    for name in names.iter().filter(|name| name.ends_with(".shrunk.json")) {
        let failure = name.replace(".shrunk.json", ".json");
        assert!(
            names.contains(&failure),
            "{name} has no failure file beside it"
        );
    }
    let run = paxsim(&["run", out]);
    assert_eq!(code(&run), 0, "{}", stdout(&run));
}

#[test]
fn fuzz_shrink_needs_an_output_directory() {
    let output = paxsim(&["fuzz", "--seeds", "1", "--shrink"]);
    assert_eq!(code(&output), 2);
    assert!(stderr(&output).contains("--out"), "{}", stderr(&output));
}

#[test]
fn an_unwritable_output_is_bad_input_that_names_the_file() {
    let dir = scratch_dir("shrink-unwritable");
    let file = dir.join("missing-dir").join("x.json");
    let file = file.to_str().unwrap();
    let args = [
        "shrink",
        "--seed",
        "1",
        "--flaw",
        "minority-quorum",
        "--out",
        file,
    ];
    let output = paxsim(&args);
    assert_eq!(code(&output), 2);
    assert!(stderr(&output).contains(file), "{}", stderr(&output));
}
