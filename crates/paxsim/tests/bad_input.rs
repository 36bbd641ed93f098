//! Bad input never panics: it exits with code 2 and a message that names
//! the file and the field (or the flag).

mod common;

use common::{VALID_SCENARIO, code, paxsim, scratch_dir, stderr};

/// Write `text` as a scenario file, run it, and expect exit 2 with every
/// one of `needles` in the message.
fn rejects(label: &str, text: &str, needles: &[&str]) {
    let dir = scratch_dir(label);
    let path = dir.join(format!("{label}.json"));
    std::fs::write(&path, text).unwrap();
    let output = paxsim(&["run", path.to_str().unwrap()]);
    let message = stderr(&output);
    assert_eq!(
        code(&output),
        2,
        "{label}: expected exit 2, stderr:\n{message}"
    );
    assert!(
        message.contains(&format!("{label}.json")),
        "{label}: the message names no file:\n{message}"
    );
    for needle in needles {
        assert!(
            message.contains(needle),
            "{label}: the message lacks `{needle}`:\n{message}"
        );
    }
    assert!(
        !message.contains("panicked"),
        "{label}: panicked:\n{message}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

fn replace(from: &str, to: &str) -> String {
    assert!(
        VALID_SCENARIO.contains(from),
        "the base scenario has `{from}`"
    );
    VALID_SCENARIO.replacen(from, to, 1)
}

#[test]
fn the_valid_base_scenario_runs() {
    let dir = scratch_dir("valid");
    let path = dir.join("valid.json");
    std::fs::write(&path, VALID_SCENARIO).unwrap();
    let output = paxsim(&["run", path.to_str().unwrap()]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn truncated_json() {
    let cut = &VALID_SCENARIO[..VALID_SCENARIO.len() / 2];
    rejects("truncated", cut, &["EOF while parsing"]);
}

#[test]
fn wrong_type_names_line_column_and_path() {
    let text = replace(r#""clients": 2"#, r#""clients": "3""#);
    rejects(
        "wrong-type",
        &text,
        &[
            "wrong-type.json:6:",
            "workload.clients",
            "invalid type: string \"3\"",
        ],
    );
}

#[test]
fn unknown_field() {
    let text = replace(r#""keys": 1"#, r#""keys": 1, "keyz": 2"#);
    rejects(
        "unknown-field",
        &text,
        &["workload", "unknown field `keyz`"],
    );
}

#[test]
fn zero_nodes() {
    let text = replace(r#""nodes": 3"#, r#""nodes": 0"#);
    rejects("zero-nodes", &text, &["cluster.nodes", "nodes is 0"]);
}

#[test]
fn quorum_larger_than_the_cluster() {
    let text = replace(r#""nodes": 3,"#, r#""nodes": 3, "quorum_phase1": 4,"#);
    rejects(
        "big-quorum",
        &text,
        &["cluster.quorum_phase1", "quorum is 4"],
    );
}

#[test]
fn non_intersecting_quorums_without_the_opt_in() {
    let text = replace(
        r#""nodes": 3,"#,
        r#""nodes": 3, "quorum_phase1": 1, "quorum_phase2": 2,"#,
    );
    rejects(
        "no-intersection",
        &text,
        &["cluster.quorum_phase1", "allow_unsafe_quorums"],
    );
}

#[test]
fn unknown_flaw() {
    let text = replace(r#""flaws": []"#, r#""flaws": ["forgetful-acceptor"]"#);
    rejects(
        "unknown-flaw",
        &text,
        &[
            "flaws[0]",
            "unknown flaw `forgetful-acceptor`",
            "no-client-dedup",
        ],
    );
}

#[test]
fn flaws_at_the_top_are_the_old_format() {
    let text = replace(r#""expect": "pass""#, r#""flaws": [], "expect": "pass""#);
    rejects("old-flaws", &text, &["flaws", "cluster.flaws"]);
}

#[test]
fn a_probability_out_of_range_names_the_field() {
    let text = replace(
        r#""delay_us_max": 1000"#,
        r#""delay_us_max": 1000, "drop": 1.5"#,
    );
    rejects("bad-drop", &text, &["network.drop", "1.5", "0..=1"]);
}

#[test]
fn a_mix_that_does_not_sum_to_one() {
    let text = replace(
        r#""ops_per_client": 3"#,
        r#""ops_per_client": 3, "mix": {"put": 0.5, "get": 0.5, "cas": 0.5}"#,
    );
    rejects("bad-mix", &text, &["workload.mix", "expected 1"]);
}

#[test]
fn too_many_clients() {
    let text = replace(r#""clients": 2"#, r#""clients": 2000"#);
    rejects("many-clients", &text, &["workload.clients", "at most 1000"]);
}

#[test]
fn negative_time() {
    let text = replace(r#""time_us": 50000"#, r#""time_us": -5"#);
    rejects("negative-time", &text, &["faults[0]", "-5"]);
}

#[test]
fn time_beyond_u64() {
    let text = replace(
        r#""chaos_us": 100000"#,
        r#""chaos_us": 18446744073709551616"#,
    );
    rejects("huge-time", &text, &["chaos_us"]);
}

#[test]
fn time_that_would_overflow_the_simulation() {
    let text = replace(r#""down_us": 10000"#, r#""down_us": 18446744073709551615"#);
    rejects(
        "overflow-time",
        &text,
        &["faults[0].action.down_us", "at most"],
    );
}

#[test]
fn fault_on_a_node_that_does_not_exist() {
    let text = replace(r#""node": 1,"#, r#""node": 7,"#);
    rejects("ghost-node", &text, &["faults[0]", "node 7 does not exist"]);
}

#[test]
fn empty_file() {
    rejects("empty", "  \n", &["empty"]);
}

#[test]
fn unknown_expectation() {
    let text = replace(r#""expect": "pass""#, r#""expect": "passes""#);
    rejects(
        "bad-expect",
        &text,
        &["expect", "unknown expectation `passes`"],
    );
}

#[test]
fn corpus_entry_with_an_unknown_pin() {
    let text = r#"{"entries": [{"seed": 1, "pins": {"nodez": 3}, "expect": "pass"}]}"#;
    rejects(
        "bad-pin",
        text,
        &["entries[0].pins", "unknown field `nodez`"],
    );
}

#[test]
fn corpus_entry_with_an_invalid_pin() {
    let text = r#"{"entries": [{"seed": 1, "pins": {"drop": 1.5}, "expect": "pass"}]}"#;
    rejects("bad-probability", text, &["entries[0].pins", "drop"]);
}

#[test]
fn a_directory_without_scenarios() {
    let dir = scratch_dir("no-scenarios");
    std::fs::write(dir.join("notes.txt"), "not a scenario").unwrap();
    let output = paxsim(&["run", dir.to_str().unwrap()]);
    assert_eq!(code(&output), 2);
    let message = stderr(&output);
    assert!(message.contains(dir.to_str().unwrap()), "{message}");
    assert!(message.contains("no scenario"), "{message}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// Flags clap or the command rejects, and a word the message must hold.
#[test]
fn bad_flags_exit_2_and_name_the_flag() {
    let cases: [(&[&str], &str); 7] = [
        (&["fuzz", "--jobs", "0"], "--jobs"),
        (&["fuzz", "--shard", "3/2"], "--shard"),
        (&["fuzz", "--shard", "0/0"], "--shard"),
        (&["fuzz", "--duration", "5parsecs"], "5parsecs"),
        (
            &["fuzz", "--seed-start", "18446744073709551616"],
            "--seed-start",
        ),
        (&["fuzz", "--flaw", "forgetful-acceptor"], "no-client-dedup"),
        (&["fuzz", "--drop", "1.5"], "--drop"),
    ];
    for (args, needle) in cases {
        let output = paxsim(args);
        let message = stderr(&output);
        assert_eq!(code(&output), 2, "{args:?}: {message}");
        assert!(
            message.contains(needle),
            "{args:?} lacks `{needle}`: {message}"
        );
    }
}

#[test]
fn a_campaign_that_would_run_nothing_exits_2() {
    for args in [
        &["fuzz", "--seeds", "0"][..],
        &["fuzz", "--duration", "0s"][..],
        &["fuzz", "--seeds", "2", "--shard", "3/4"][..],
    ] {
        let output = paxsim(args);
        let message = stderr(&output);
        assert_eq!(code(&output), 2, "{args:?}: {message}");
        assert!(message.contains("would run nothing"), "{args:?}: {message}");
    }
}

#[test]
fn a_negative_number_is_judged_as_a_value() {
    let cases: [(&[&str], &str); 4] = [
        (
            &["fuzz", "--drop", "-0.1"],
            "probability -0.1 is out of range",
        ),
        (
            &["replay", "--seed", "1", "--duplicate", "-1"],
            "probability -1 is out of range",
        ),
        (&["fuzz", "--seeds", "-5"], "-5"),
        (&["fuzz", "--nodes", "-3"], "`-3` is not a whole number"),
    ];
    for (args, needle) in cases {
        let output = paxsim(args);
        let message = stderr(&output);
        assert_eq!(code(&output), 2, "{args:?}: {message}");
        assert!(
            message.contains(needle),
            "{args:?} lacks `{needle}`: {message}"
        );
        assert!(
            !message.contains("unexpected argument"),
            "{args:?}: {message}"
        );
    }
}

#[test]
fn a_quorum_pin_without_nodes_is_rejected() {
    let output = paxsim(&["replay", "--seed", "1", "--quorum-phase1", "2"]);
    assert_eq!(code(&output), 2);
    assert!(stderr(&output).contains("nodes"), "{}", stderr(&output));
}

#[test]
fn seeds_past_the_largest_seed_are_rejected() {
    let output = paxsim(&[
        "fuzz",
        "--seed-start",
        "18446744073709551615",
        "--seeds",
        "2",
    ]);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("largest seed"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn unknown_probe() {
    let text = replace(
        r#""expect": "pass""#,
        r#""expect": "pass", "expect_probes": ["nope"]"#,
    );
    rejects(
        "bad-probe",
        &text,
        &["expect_probes[0]", "unknown probe `nope`"],
    );
}

// The fields shrinking added: scripts with hold-back times, and the heal rule.

fn scripted(op: &str) -> String {
    replace(
        r#""ops_per_client": 3 }"#,
        &format!(r#""ops_per_client": 3, "scripts": [[{op}], []] }}"#),
    )
}

#[test]
fn a_script_for_a_key_that_does_not_exist() {
    let text = scripted(r#"{"op": "put", "key": 4}"#);
    rejects("script-key", &text, &["workload.scripts[0][0]", "key 4"]);
}

#[test]
fn an_overflowing_hold_back_time() {
    let text = scripted(r#"{"op": "get", "key": 0, "at_us": 99999999999999999999}"#);
    rejects("script-at-overflow", &text, &["workload.scripts[0][0]"]);
}

#[test]
fn a_hold_back_time_past_the_time_limit() {
    let text = scripted(r#"{"op": "get", "key": 0, "at_us": 10000000000000000}"#);
    rejects("script-at-limit", &text, &["workload.scripts[0][0].at_us"]);
}

#[test]
fn scripts_for_a_client_that_does_not_exist() {
    let text = replace(
        r#""ops_per_client": 3 }"#,
        r#""ops_per_client": 3, "scripts": [[], [], []] }"#,
    );
    rejects(
        "script-clients",
        &text,
        &["workload.scripts", "workload.clients is 2"],
    );
}

#[test]
fn a_heal_rule_of_the_wrong_type() {
    let text = replace(
        r#""chaos_us": 100000,"#,
        r#""chaos_us": 100000, "heal_when_clients_done": "yes","#,
    );
    rejects(
        "heal-rule",
        &text,
        &["heal_when_clients_done", "expected a boolean"],
    );
}

#[test]
fn a_trigger_on_the_zeroth_send() {
    let text = replace(
        r#"{ "kind": "at", "time_us": 50000 }"#,
        r#"{ "kind": "on-send", "node": 1, "message": "Prepare", "nth": 0 }"#,
    );
    rejects(
        "nth-zero",
        &text,
        &["faults[0].when.nth is 0", "at least 1"],
    );
}

#[test]
fn numbers_past_their_bounds_exit_2_and_name_the_field() {
    let cases: [(&[&str], &str); 5] = [
        (
            &["fuzz", "--crash-interval-us", "1"],
            "crash_interval_us is 1, expected 0 (off) or 10000",
        ),
        (
            &[
                "replay",
                "--seed",
                "1",
                "--delay-us-max",
                "1000000000000001",
            ],
            "delay_us_max is",
        ),
        (
            &[
                "export",
                "--seed",
                "1",
                "--delay-us-min",
                "18446744073709551615",
                "--out",
                "/dev/null",
            ],
            "delay_us_min is",
        ),
        (
            &["fuzz", "--pause-interval-us", "9999"],
            "--pause-interval-us",
        ),
        (
            &[
                "shrink",
                "--seed",
                "1",
                "--partition-interval-us",
                "5",
                "--out",
                "/dev/null",
            ],
            "partition_interval_us is 5",
        ),
    ];
    for (args, needle) in cases {
        let output = paxsim(args);
        let message = stderr(&output);
        assert_eq!(code(&output), 2, "{args:?}: {message}");
        assert!(
            message.contains(needle),
            "{args:?} lacks `{needle}`: {message}"
        );
        assert!(!message.contains("panicked"), "{args:?}: {message}");
    }
}

#[test]
fn the_largest_pins_allowed_export_and_replay_without_overflow() {
    // Every pinned time at its bound: the draw adds to them, the run
    // schedules at now + them; nothing may overflow or panic.
    let dir = scratch_dir("huge-pins");
    let out = dir.join("huge.json");
    let pins = [
        "--delay-us-min",
        "1000000000000000",
        "--crash-interval-us",
        "1000000000000000",
        "--partition-interval-us",
        "10000",
    ];
    let mut args = vec!["export", "--seed", "3", "--out", out.to_str().unwrap()];
    args.extend(pins);
    let output = paxsim(&args);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let replay = paxsim(&["replay", "--scenario", out.to_str().unwrap(), "--json"]);
    let report = common::json(&replay);
    // Every message between nodes takes the longest time a configuration
    // may hold: the run cannot pass, and says why.
    assert_eq!(report["outcome"], "violation", "{report}");
    assert_eq!(report["invariant"], "liveness", "{report}");
    let scenario = paxsim(&["run", out.to_str().unwrap()]);
    assert_eq!(code(&scenario), 0, "{}", common::stdout(&scenario));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_chaos_phase_past_its_bound() {
    let text = replace(r#""chaos_us": 100000"#, r#""chaos_us": 100000001"#);
    rejects(
        "long-chaos",
        &text,
        &["chaos_us is 100000001", "at most 100000000"],
    );
}
