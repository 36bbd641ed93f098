//! The shipped scenarios and seed corpus meet their expectations; this is
//! also what CI runs.

mod common;

use common::{code, json, paxsim, scratch_dir, stderr, stdout};

fn run_all(dir: &str) -> serde_json::Value {
    let output = paxsim(&["run", dir, "--json"]);
    assert_eq!(
        code(&output),
        0,
        "{dir}: unmet expectations\n{}\n{}",
        stdout(&output),
        stderr(&output)
    );
    json(&output)
}

#[test]
fn scenarios_meet_their_expectations() {
    let report = run_all("scenarios");
    let results = report["results"].as_array().unwrap();
    assert!(results.len() >= 21, "{} scenarios", results.len());
    // Every flaw has a scenario that catches it.
    for flaw in paxos::Flaw::ALL {
        let name = format!("flaw-{}", flaw.name());
        let result = results
            .iter()
            .find(|result| result["name"] == name.as_str())
            .unwrap_or_else(|| panic!("no scenario {name}"));
        assert_ne!(result["actual"], "pass", "{name}");
    }
}

#[test]
fn the_seed_corpus_meets_its_expectations() {
    let report = run_all("seeds");
    let results = report["results"].as_array().unwrap();
    for flaw in paxos::Flaw::ALL {
        assert!(
            results.iter().any(|result| {
                result["name"]
                    .as_str()
                    .unwrap()
                    .contains(&format!("--flaw {}", flaw.name()))
                    && result["actual"] != "pass"
            }),
            "no failing corpus seed for {}",
            flaw.name()
        );
    }
}

#[test]
fn the_table_lists_every_entry_in_order() {
    let output = paxsim(&["run", "scenarios", "seeds"]);
    assert_eq!(code(&output), 0, "{}", stdout(&output));
    let text = stdout(&output);
    let files: Vec<&str> = text
        .lines()
        .skip(1)
        .take_while(|line| !line.is_empty())
        .map(|line| line.split_whitespace().next().unwrap())
        .collect();
    let mut sorted = files.clone();
    sorted.sort();
    assert_eq!(files, sorted);
    assert!(text.contains("0 unmet"), "{text}");
}

#[test]
fn an_unmet_expectation_exits_1_and_gets_a_timeline_page() {
    let dir = common::scratch_dir("unmet");
    let path = dir.join("unmet.json");
    std::fs::write(
        &path,
        r#"{"entries": [
            {"seed": 58, "flaws": ["accept-below-promise"], "expect": "pass"},
            {"seed": 58, "flaws": ["accept-below-promise"], "expect": "accept-below-promise"}
        ]}"#,
    )
    .unwrap();
    let pages = dir.join("pages");
    let output = paxsim(&[
        "run",
        path.to_str().unwrap(),
        "--html",
        pages.to_str().unwrap(),
    ]);
    assert_eq!(code(&output), 1, "{}", stdout(&output));
    assert!(stdout(&output).contains("FAIL"));
    // One page, for the unmet expectation only.
    let written: Vec<_> = std::fs::read_dir(&pages)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    assert_eq!(
        written,
        vec![pages.join("seed-58-flaw-accept-below-promise.html")]
    );
    let page = std::fs::read_to_string(&written[0]).unwrap();
    assert!(page.contains("expected pass, got accept-below-promise"));
    assert!(stdout(&output).contains("wrote the timeline page"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn an_exported_seed_is_a_scenario_that_replays_the_same_run() {
    let dir = common::scratch_dir("export");
    let path = dir.join("exported.json");
    let path_text = path.to_str().unwrap();
    let export = paxsim(&["export", "--seed", "9", "--drop", "0.2", "--out", path_text]);
    assert_eq!(code(&export), 0, "{}", stderr(&export));
    let seed_digest = stdout(&paxsim(&["replay", "--seed", "9", "--drop", "0.2"]))
        .lines()
        .last()
        .unwrap()
        .to_string();
    let scenario_digest = stdout(&paxsim(&["replay", "--scenario", path_text]))
        .lines()
        .last()
        .unwrap()
        .to_string();
    assert_eq!(seed_digest, scenario_digest);
    let run = paxsim(&["run", path_text]);
    assert_eq!(code(&run), 0, "{}", stdout(&run));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_scenario_that_misses_its_expected_probe_is_unmet() {
    let dir = common::scratch_dir("probe");
    let path = dir.join("probe.json");
    let text = common::VALID_SCENARIO.replace(
        r#""expect": "pass""#,
        r#""expect": "pass", "expect_probes": ["paused-node-resumes-with-backlog"]"#,
    );
    std::fs::write(&path, text).unwrap();
    let output = paxsim(&["run", path.to_str().unwrap(), "--json"]);
    assert_eq!(code(&output), 1, "{}", stdout(&output));
    let result = &json(&output)["results"][0];
    assert_eq!(result["actual"], "pass");
    assert_eq!(result["ok"], false);
    assert_eq!(
        result["missed_probes"][0],
        "paused-node-resumes-with-backlog"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_scenario_whose_fault_never_fires_fails_unless_the_fault_is_optional() {
    let dir = scratch_dir("unfired");
    let late = common::VALID_SCENARIO.replace(r#""time_us": 50000"#, r#""time_us": 90000000"#);
    let path = dir.join("late.json");
    std::fs::write(&path, &late).unwrap();
    let file = path.to_str().unwrap();
    let output = paxsim(&["run", file]);
    let text = stdout(&output);
    assert_eq!(code(&output), 1, "{text}");
    assert!(
        text.contains("expected pass, but fault faults[0] never fired (it was due at 90000000us"),
        "{text}"
    );
    let replay = paxsim(&["replay", "--scenario", file]);
    assert!(
        stdout(&replay).contains("fault faults[0] never fired"),
        "{}",
        stdout(&replay)
    );
    let optional = late.replace(
        r#""down_us": 10000 } }"#,
        r#""down_us": 10000 }, "optional": true }"#,
    );
    assert_ne!(optional, late);
    std::fs::write(&path, &optional).unwrap();
    let output = paxsim(&["run", file, "--json"]);
    assert_eq!(code(&output), 0, "{}", stdout(&output));
    let result = &json(&output)["results"][0];
    assert_eq!(result["unfired_faults"][0]["optional"], true, "{result}");
    std::fs::remove_dir_all(dir).unwrap();
}
