//! `paxsim explore` from the outside: a flaw's counterexample written as a
//! scenario that `paxsim run` meets, `replay --scenario --trace` traces and
//! `shrink --scenario` accepts; the verdict words and exit codes; the JSON
//! object; bad flags named with exit code 2.

mod common;

use common::{code, paxsim, scratch_dir, stderr, stdout};

#[test]
fn a_counterexample_becomes_a_scenario_that_run_replay_and_shrink_accept() {
    let dir = scratch_dir("explore");
    let file = dir.join("stale-read.json");
    let file = file.to_str().unwrap();
    let output = paxsim(&[
        "explore",
        "--flaw",
        "stale-leader-read",
        "--script",
        "get:0",
        "--script",
        "put:0",
        "--target",
        "0",
        "--target",
        "1",
        "--client-redirects",
        "0",
        "--out",
        file,
    ]);
    let text = stdout(&output);
    assert_eq!(code(&output), 1, "{text}{}", stderr(&output));
    assert!(
        text.contains("verdict: violation: linearizability"),
        "{text}"
    );
    // The schedule reads like `replay --trace`.
    assert!(text.contains("n0  timer     election"), "{text}");
    assert!(
        text.contains("--  client    client 0 invokes seq 1 at n0: Get(user_profile:0)"),
        "{text}"
    );
    let run = paxsim(&["run", file]);
    assert_eq!(code(&run), 0, "{}", stdout(&run));
    assert!(stdout(&run).contains("1 as expected"), "{}", stdout(&run));
    let replay = paxsim(&["replay", "--scenario", file, "--trace"]);
    let trace = stdout(&replay);
    assert_eq!(code(&replay), 1, "{trace}");
    assert!(trace.contains("linearizability"), "{trace}");
    assert!(trace.contains("n0  timer     election"), "{trace}");
    let shrunk = dir.join("shrunk.json");
    let shrink = paxsim(&[
        "shrink",
        "--scenario",
        file,
        "--out",
        shrunk.to_str().unwrap(),
    ]);
    assert_eq!(code(&shrink), 0, "{}{}", stdout(&shrink), stderr(&shrink));
    let run = paxsim(&["run", shrunk.to_str().unwrap()]);
    assert_eq!(code(&run), 0, "{}", stdout(&run));
}

#[test]
fn an_exhausted_search_passes_and_a_bounded_one_is_not_a_pass() {
    let output = paxsim(&["explore", "--elections", "1", "--json"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let object: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(object["verdict"], "pass");
    for field in [
        "states_generated",
        "states_unique",
        "depth_reached",
        "states_per_second",
        "bytes_per_state",
    ] {
        assert!(object[field].is_number(), "{field}: {object}");
    }
    assert!(object["counterexample"].is_null());
    let output = paxsim(&["explore", "--elections", "2", "--depth-max", "3", "--json"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let object: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(object["verdict"], "bounded");
    assert_eq!(object["bounds_hit"], serde_json::json!(["depth"]));
    let output = paxsim(&["explore", "--elections", "2", "--depth-max", "3"]);
    let text = stdout(&output);
    assert!(text.contains("verdict: bounded by depth"), "{text}");
    assert!(text.contains("not a pass"), "{text}");
    assert!(!text.contains("verdict: pass"), "{text}");
}

#[test]
fn bad_flags_are_named_with_exit_code_2() {
    for (args, named) in [
        (vec!["--nodes", "7"], "--nodes"),
        (vec!["--clients", "4"], "--clients"),
        (
            vec!["--quorum-phase1", "1", "--quorum-phase2", "2"],
            "--quorum-phase1",
        ),
        (vec!["--script", "put:9"], "--script"),
        (vec!["--script", "read:0"], "--script"),
        (vec!["--target", "5"], "--target"),
        (vec!["--flaw", "no-such-flaw"], "--flaw"),
        (vec!["--time-max", "soon"], "--time-max"),
        (vec!["--bfs", "--dfs"], "--dfs"),
    ] {
        let mut full = vec!["explore"];
        full.extend(&args);
        let output = paxsim(&full);
        assert_eq!(code(&output), 2, "{args:?}: {}", stderr(&output));
        assert!(
            stderr(&output).contains(named),
            "{args:?}: {}",
            stderr(&output)
        );
    }
}
