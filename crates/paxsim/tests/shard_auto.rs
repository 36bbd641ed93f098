//! `paxsim fuzz --shard auto`: the shard read from each CI's variables,
//! recorded in the summary; errors that name the variables; and
//! `--dry-run`, which shows the plan the environment resolves to.

mod ci;
mod common;

use ci::{SHARD_VARIABLES, paxsim_in};
use common::{code, scratch_dir, stderr, stdout};
use serde_json::{Value, json};

fn auto(env: &[(&str, &str)], extra: &[&str]) -> (i32, String, String) {
    let dir = scratch_dir("shard-auto");
    let mut args = vec!["fuzz", "--seeds", "12", "--shard", "auto", "--json"];
    args.extend(extra);
    let output = paxsim_in(&dir, &args, env);
    (code(&output), stdout(&output), stderr(&output))
}

fn shard_of(env: &[(&str, &str)], extra: &[&str]) -> Value {
    let (exit, out, err) = auto(env, extra);
    assert_eq!(exit, 0, "{env:?}: {err}");
    serde_json::from_str(&out).unwrap()
}

#[test]
fn each_provider_gives_its_shard_and_the_summary_says_where_from() {
    let gitlab = shard_of(&[("CI_NODE_INDEX", "2"), ("CI_NODE_TOTAL", "4")], &[]);
    // GitLab numbers its jobs from 1: job 2 of 4 is shard 1/4.
    assert_eq!(gitlab["shard"], "1/4");
    assert_eq!(
        gitlab["shard_source"],
        json!({"from": "gitlab", "variables": {"CI_NODE_INDEX": "2", "CI_NODE_TOTAL": "4"}})
    );
    assert_eq!(
        gitlab["covered"],
        json!({"first_seed": 1, "step": 4, "seeds": 3})
    );
    let buildkite = shard_of(
        &[
            ("BUILDKITE_PARALLEL_JOB", "2"),
            ("BUILDKITE_PARALLEL_JOB_COUNT", "3"),
        ],
        &[],
    );
    assert_eq!(buildkite["shard"], "2/3");
    assert_eq!(buildkite["shard_source"]["from"], "buildkite");
    let circle = shard_of(
        &[("CIRCLE_NODE_INDEX", "0"), ("CIRCLE_NODE_TOTAL", "2")],
        &[],
    );
    assert_eq!(circle["shard"], "0/2");
    let kubernetes = shard_of(&[("JOB_COMPLETION_INDEX", "5")], &["--shard-count", "6"]);
    assert_eq!(kubernetes["shard"], "5/6");
    assert_eq!(
        kubernetes["shard_source"],
        json!({"from": "kubernetes", "variables": {"JOB_COMPLETION_INDEX": "5"}})
    );
    let dir = scratch_dir("shard-flag");
    let args = ["fuzz", "--seeds", "4", "--shard", "1/2", "--json"];
    let flag = paxsim_in(
        &dir,
        &args,
        &[("CI_NODE_INDEX", "1"), ("CI_NODE_TOTAL", "2")],
    );
    let flag: Value = serde_json::from_str(&stdout(&flag)).unwrap();
    assert_eq!(
        flag["shard"], "1/2",
        "--shard K/N wins over the environment"
    );
    assert_eq!(
        flag["shard_source"],
        json!({"from": "flag", "variables": {}})
    );
}

#[test]
fn the_human_summary_names_the_variables() {
    let dir = scratch_dir("shard-auto-human");
    let output = paxsim_in(
        &dir,
        &["fuzz", "--seeds", "8", "--shard", "auto"],
        &[("CI_NODE_INDEX", "1"), ("CI_NODE_TOTAL", "2")],
    );
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(
        stdout(&output).contains("(shard 0/2 from GitLab (CI_NODE_INDEX=1 CI_NODE_TOTAL=2))"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn no_variable_set_exits_2_naming_every_variable_looked_for() {
    let (exit, out, err) = auto(&[], &[]);
    assert_eq!(exit, 2, "{out}");
    assert!(out.is_empty(), "nothing ran: {out}");
    for variable in SHARD_VARIABLES {
        assert!(err.contains(variable), "{variable} in {err}");
    }
    assert!(err.contains("--shard-count"), "{err}");
}

/// Variables set, extra flags, and what the error must say.
type ErrorCase<'a> = (&'a [(&'a str, &'a str)], &'a [&'a str], &'a [&'a str]);

#[test]
fn malformed_or_inconsistent_values_exit_2_naming_the_variable() {
    let cases: &[ErrorCase] = &[
        (
            &[("CI_NODE_INDEX", "0"), ("CI_NODE_TOTAL", "4")],
            &[],
            &["CI_NODE_INDEX=0", "from 1"],
        ),
        (
            &[("CI_NODE_INDEX", "two"), ("CI_NODE_TOTAL", "4")],
            &[],
            &["CI_NODE_INDEX=\"two\""],
        ),
        (
            &[("CIRCLE_NODE_INDEX", "2"), ("CIRCLE_NODE_TOTAL", "2")],
            &[],
            &["CIRCLE_NODE_INDEX=2", "0..=1"],
        ),
        (
            &[("BUILDKITE_PARALLEL_JOB", "1")],
            &[],
            &["BUILDKITE_PARALLEL_JOB_COUNT"],
        ),
        (
            &[("JOB_COMPLETION_INDEX", "1")],
            &[],
            &["JOB_COMPLETION_INDEX=1", "--shard-count"],
        ),
        (
            &[("JOB_COMPLETION_INDEX", "1")],
            &["--shard-count", "0"],
            &["--shard-count 0"],
        ),
        (
            &[("CI_NODE_INDEX", "1"), ("CI_NODE_TOTAL", "2")],
            &["--shard-count", "3"],
            &["--shard-count 3", "CI_NODE_TOTAL=2"],
        ),
        (
            &[
                ("CI_NODE_INDEX", "1"),
                ("CI_NODE_TOTAL", "2"),
                ("CIRCLE_NODE_INDEX", "0"),
                ("CIRCLE_NODE_TOTAL", "2"),
            ],
            &[],
            &["GitLab", "CircleCI", "--shard K/N"],
        ),
        // More shards than seeds: this one would hold no seed.
        (
            &[("JOB_COMPLETION_INDEX", "20")],
            &["--shard-count", "30"],
            &["holds no seed"],
        ),
    ];
    for (env, extra, needles) in cases {
        let (exit, out, err) = auto(env, extra);
        assert_eq!(exit, 2, "{env:?} {extra:?}: {out}");
        for needle in *needles {
            assert!(err.contains(needle), "{env:?}: {needle:?} in {err}");
        }
    }
    let dir = scratch_dir("shard-count-fixed");
    let output = paxsim_in(
        &dir,
        &[
            "fuzz",
            "--seeds",
            "8",
            "--shard",
            "1/2",
            "--shard-count",
            "2",
        ],
        &[],
    );
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("--shard auto"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_dry_run_shows_the_resolved_plan_and_runs_nothing() {
    let dir = scratch_dir("dry-run");
    let env = [("JOB_COMPLETION_INDEX", "3"), ("CI_NODE_TOTAL", "")];
    let args = [
        "fuzz",
        "--seeds",
        "400",
        "--shard",
        "auto",
        "--shard-count",
        "4",
        "--summary",
        "out/summary.json",
        "--junit",
        "out/junit.xml",
        "--out",
        "failures",
        "--shrink",
        "--dry-run",
    ];
    // CI_NODE_TOTAL set, even empty, is GitLab's too: two providers.
    let output = paxsim_in(&dir, &args, &env);
    assert_eq!(code(&output), 2, "{}", stdout(&output));
    let output = paxsim_in(&dir, &args, &env[..1]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.contains("shard 3/4 from a Kubernetes Indexed Job (JOB_COMPLETION_INDEX=3): seeds 3, 7, ... every 4th (100 seeds)"),
        "{text}"
    );
    assert!(
        text.contains("writes: out/summary.json (summary), out/junit.xml (JUnit), failures/ (failure files, shrunk)"),
        "{text}"
    );
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert!(left.is_empty(), "a dry run writes nothing: {left:?}");
    let mut json_args = args.to_vec();
    json_args.push("--json");
    let output = paxsim_in(&dir, &json_args, &env[..1]);
    let plan: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(plan["dry_run"], true);
    assert_eq!(plan["seeds_planned"], 100);
    assert_eq!(plan["shard"], "3/4");
    assert!(plan.get("events").is_none(), "{plan}");
    // A misspelled flag is still bad usage.
    let output = paxsim_in(&dir, &["fuzz", "--dry-run", "--seed", "4"], &[]);
    assert_eq!(code(&output), 2);
}
