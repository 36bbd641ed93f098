//! `--junit FILE` of `fuzz` and `merge`: well-formed JUnit XML with a
//! failing case per failing seed (invariant, report, replay command), a
//! passing case per clean shard, and an error case per shard that was
//! interrupted or missing.

mod ci;
mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ci::{paxsim_in, read_json};
use common::{code, scratch_dir, stderr, stdout};
use serde_json::Value;

/// A test case: name, and its `failure` or `error` (type, message, body).
type Case = (String, Option<(String, String, String, String)>);

/// The test cases of a JUnit file, after checking its counts add up.
fn cases(path: &Path) -> Vec<Case> {
    let text = std::fs::read_to_string(path).unwrap();
    let document = roxmltree::Document::parse(&text)
        .unwrap_or_else(|error| panic!("{}: not well-formed: {error}\n{text}", path.display()));
    let suite = document
        .descendants()
        .find(|node| node.has_tag_name("testsuite"))
        .expect("a testsuite");
    let cases: Vec<Case> = suite
        .children()
        .filter(|node| node.has_tag_name("testcase"))
        .map(|case| {
            assert_eq!(case.attribute("classname"), Some("paxsim.fuzz"));
            let outcome = case
                .children()
                .find(|node| node.has_tag_name("failure") || node.has_tag_name("error"))
                .map(|node| {
                    (
                        node.tag_name().name().to_string(),
                        node.attribute("type").unwrap_or_default().to_string(),
                        node.attribute("message").unwrap_or_default().to_string(),
                        node.text().unwrap_or_default().to_string(),
                    )
                });
            (case.attribute("name").unwrap().to_string(), outcome)
        })
        .collect();
    let count = |kind: &str| {
        cases
            .iter()
            .filter(|(_, outcome)| outcome.as_ref().is_some_and(|o| o.0 == kind))
            .count()
            .to_string()
    };
    assert_eq!(
        suite.attribute("tests"),
        Some(cases.len().to_string().as_str())
    );
    assert_eq!(suite.attribute("failures"), Some(count("failure").as_str()));
    assert_eq!(suite.attribute("errors"), Some(count("error").as_str()));
    cases
}

#[test]
fn every_failing_seed_is_a_failing_case_with_its_report_and_replay() {
    let dir = scratch_dir("junit-fail");
    let output = paxsim_in(
        &dir,
        &[
            "fuzz",
            "--seeds",
            "30",
            "--flaw",
            "no-client-dedup",
            "--json",
            "--summary",
            "reports/summary.json",
            "--junit",
            "reports/junit.xml",
        ],
        &[],
    );
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    let summary: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(read_json(&dir.join("reports/summary.json")), summary);
    let failures = summary["failures"].as_array().unwrap();
    assert!(failures.len() > 3, "{summary}");
    let cases = cases(&dir.join("reports/junit.xml"));
    assert_eq!(
        cases.len(),
        failures.len(),
        "no passing case for a failing shard"
    );
    for ((name, outcome), failure) in cases.iter().zip(failures) {
        let seed = failure["seed"].as_u64().unwrap();
        let invariant = failure["invariant"].as_str().unwrap();
        assert_eq!(name, &format!("seed {seed}: {invariant}"));
        let (element, kind, message, body) = outcome.as_ref().expect("a failure");
        assert_eq!((element.as_str(), kind.as_str()), ("failure", invariant));
        let report = failure["message"].as_str().unwrap();
        let first_line = report.lines().next().unwrap();
        assert!(message.starts_with(invariant), "{message}");
        assert!(message.ends_with(first_line), "{message}");
        assert!(
            body.contains(report),
            "the whole report is in the body: {body}"
        );
        assert!(
            body.contains(&format!(
                "replay: paxsim replay --seed {seed} --flaw no-client-dedup"
            )),
            "{body}"
        );
    }
}

#[test]
fn a_clean_shard_is_one_passing_case() {
    let dir = scratch_dir("junit-pass");
    let output = paxsim_in(
        &dir,
        &[
            "fuzz",
            "--seeds",
            "20",
            "--shard",
            "1/2",
            "--junit",
            "junit.xml",
        ],
        &[],
    );
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert_eq!(
        cases(&dir.join("junit.xml")),
        vec![("shard 1/2".to_string(), None)]
    );
}

#[test]
fn a_merge_marks_missing_and_interrupted_shards_as_errors() {
    let dir = scratch_dir("junit-merge");
    for index in 0..3 {
        let shard = format!("{index}/3");
        let file = format!("s{index}.json");
        let output = paxsim_in(
            &dir,
            &[
                "fuzz",
                "--seeds",
                "30",
                "--shard",
                &shard,
                "--summary",
                &file,
            ],
            &[],
        );
        assert_eq!(code(&output), 0, "{}", stderr(&output));
    }
    let path = dir.join("s1.json");
    let mut interrupted = read_json(&path);
    interrupted["seeds_run"] = 4.into();
    interrupted["covered"]["seeds"] = 4.into();
    interrupted["not_covered"] = serde_json::json!({"first_seed": 13, "step": 3, "seeds": 6});
    interrupted["interrupted"] = true.into();
    interrupted["signal"] = "SIGINT".into();
    ci::write_json(&path, &interrupted);
    let output = paxsim_in(
        &dir,
        &["merge", "s0.json", "s1.json", "--junit", "j.xml"],
        &[],
    );
    assert_eq!(code(&output), 1, "{}", stdout(&output));
    let cases = cases(&dir.join("j.xml"));
    assert_eq!(cases.len(), 3, "{cases:?}");
    assert_eq!(cases[0], ("shard 0/3".to_string(), None));
    let (name, outcome) = &cases[1];
    assert_eq!(name, "shard 1/3");
    let (element, kind, message, _) = outcome.as_ref().unwrap();
    assert_eq!((element.as_str(), kind.as_str()), ("error", "interrupted"));
    assert!(
        message.contains("SIGINT after 4 seeds; not run: seeds 13, 16, ... every 3rd (6 seeds)"),
        "{message}"
    );
    let (name, outcome) = &cases[2];
    assert_eq!(name, "shard 2/3");
    let (element, kind, message, _) = outcome.as_ref().unwrap();
    assert_eq!((element.as_str(), kind.as_str()), ("error", "missing"));
    assert!(
        message.contains("seeds 2, 5, ... every 3rd (10 seeds)"),
        "{message}"
    );
}

#[test]
fn an_interrupted_campaign_still_writes_its_reports() {
    let dir = scratch_dir("junit-signal");
    let mut child = Command::new(env!("CARGO_BIN_EXE_paxsim"))
        .args([
            "fuzz",
            "--seeds",
            "1000000",
            "-j",
            "1",
            "--flaw",
            "no-client-dedup",
            "--out",
            "failures",
            "--summary",
            "summary.json",
            "--junit",
            "junit.xml",
        ])
        .current_dir(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Some seed has run once its failure file is there. The bound only
    // keeps a broken binary from hanging the suite.
    let started = Instant::now();
    while std::fs::read_dir(dir.join("failures")).map_or(true, |mut d| d.next().is_none()) {
        assert!(started.elapsed() < Duration::from_secs(120), "no seed ran");
        std::thread::sleep(Duration::from_millis(50));
    }
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    assert_eq!(child.wait().unwrap().code(), Some(143));
    let summary = read_json(&dir.join("summary.json"));
    assert_eq!(summary["signal"], "SIGTERM");
    let cases = cases(&dir.join("junit.xml"));
    let (name, outcome) = cases.last().unwrap();
    assert_eq!(name, "shard 0/1");
    let (element, _, message, _) = outcome.as_ref().unwrap();
    assert_eq!(element, "error");
    assert!(message.contains("interrupted by SIGTERM"), "{message}");
    assert!(message.contains("not run: seeds"), "{message}");
    assert!(
        cases.len() > 1,
        "the failures found before the signal are cases too"
    );
}
