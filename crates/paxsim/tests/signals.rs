//! Signals and pipes: SIGINT and SIGTERM stop a campaign with exit code 130
//! or 143 and a summary that says what ran and what did not; a reader that
//! goes away (`| head -1`) ends paxsim quietly.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{scratch_dir, workspace_root};
use serde_json::Value;

const SEEDS_PLANNED: u64 = 1_000_000;

/// A campaign far too long to finish, writing a file per failure to `out`.
fn start_campaign(out: &Path, extra: &[&str]) -> Child {
    let seeds = SEEDS_PLANNED.to_string();
    let mut args = vec![
        "fuzz",
        "--seeds",
        &seeds,
        "-j",
        "1",
        "--flaw",
        "no-client-dedup",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    Command::new(env!("CARGO_BIN_EXE_paxsim"))
        .args(&args)
        .current_dir(workspace_root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the paxsim binary runs")
}

/// Wait until the campaign has run some seeds: its first failure file is
/// written as soon as that seed ends. The bound only keeps a broken binary
/// from hanging the suite; nothing here measures time.
fn wait_for_a_failure_file(out: &Path) {
    let started = Instant::now();
    while std::fs::read_dir(out).unwrap().next().is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the campaign wrote no failure file"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn send(child: &Child, signal: &str) {
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Interrupt a campaign with `signal`, and return its exit code, stdout and stderr.
fn interrupted(signal: &str, extra: &[&str]) -> (i32, String, String) {
    let out = scratch_dir("signal");
    let child = start_campaign(&out, extra);
    wait_for_a_failure_file(&out);
    send(&child, signal);
    let output = child.wait_with_output().unwrap();
    std::fs::remove_dir_all(out).unwrap();
    let code = output.status.code().expect("paxsim exits by itself");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    (code, stdout, stderr)
}

#[test]
fn sigint_stops_the_campaign_with_130_and_a_json_summary() {
    let (code, stdout, stderr) = interrupted("-INT", &["--json"]);
    assert_eq!(code, 130, "{stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("stdout is one JSON object");
    assert_eq!(report["interrupted"], true, "{report}");
    assert_eq!(report["signal"], "SIGINT");
    let seeds_run = report["seeds_run"].as_u64().unwrap();
    assert!(seeds_run > 0 && seeds_run < SEEDS_PLANNED, "{report}");
    assert_eq!(report["seeds_planned"], SEEDS_PLANNED);
    assert_eq!(
        report["covered"],
        serde_json::json!({"first_seed": 0, "step": 1, "seeds": seeds_run})
    );
    assert_eq!(
        report["not_covered"],
        serde_json::json!({
            "first_seed": seeds_run,
            "step": 1,
            "seeds": SEEDS_PLANNED - seeds_run,
        })
    );
    assert!(
        !report["failures"].as_array().unwrap().is_empty(),
        "{report}"
    );
    assert!(
        stderr.contains("SIGINT: handing out no more seeds"),
        "{stderr}"
    );
}

#[test]
fn sigterm_stops_a_shard_with_143_and_names_what_it_did_not_cover() {
    let (code, stdout, stderr) = interrupted("-TERM", &["--shard", "1/3", "--json"]);
    assert_eq!(code, 143, "{stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("stdout is one JSON object");
    assert_eq!(report["signal"], "SIGTERM", "{report}");
    assert_eq!(report["shard"], "1/3");
    let seeds_run = report["seeds_run"].as_u64().unwrap();
    assert!(seeds_run > 0, "{report}");
    // The shard holds seeds 1, 4, 7, ...: its first `seeds_run` ran.
    let planned = SEEDS_PLANNED.div_ceil(3) - u64::from(SEEDS_PLANNED % 3 == 1);
    assert_eq!(report["seeds_planned"], planned, "{report}");
    assert_eq!(report["covered"]["first_seed"], 1);
    assert_eq!(report["not_covered"]["first_seed"], 1 + 3 * seeds_run);
    assert_eq!(report["not_covered"]["step"], 3);
    assert_eq!(report["not_covered"]["seeds"], planned - seeds_run);
}

#[test]
fn an_interrupted_campaign_never_reads_as_a_pass() {
    let (code, stdout, stderr) = interrupted("-INT", &[]);
    assert_eq!(code, 130, "{stderr}");
    let result = stdout.lines().last().unwrap_or_default();
    assert!(
        result.starts_with("result: INTERRUPTED (SIGINT after "),
        "{stdout}"
    );
    assert!(!stdout.contains("result: PASS"), "{stdout}");
    assert!(stdout.contains("interrupted by SIGINT: "), "{stdout}");
    assert!(
        stdout.contains(" of 1000000 seeds run; not run: seeds "),
        "{stdout}"
    );
}

/// Run `args` with stdout on a pipe whose reader takes one line and goes
/// away, as `| head -1` does; return the line, the exit code (`None`: ended
/// by a signal) and stderr.
fn head_1(args: &[&str]) -> (String, Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_paxsim"))
        .args(args)
        .current_dir(workspace_root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        stderr.read_to_string(&mut text).unwrap();
        text
    });
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    // The reader is gone: the pipe is closed.
    let status = child.wait().unwrap();
    (line, status.code(), errors.join().unwrap())
}

#[test]
fn a_closed_pipe_ends_paxsim_quietly() {
    // The campaign's summary lists hundreds of failures, far more than a
    // pipe buffers: paxsim writes into the closed pipe whatever the timing.
    for args in [
        &["fuzz", "--flaw", "minority-quorum", "--seeds", "600"][..],
        &["replay", "--seed", "15", "--trace"][..],
    ] {
        let (line, code, stderr) = head_1(args);
        assert!(!line.is_empty(), "{args:?}: no first line");
        assert_ne!(code, Some(101), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(!stderr.contains("Broken pipe"), "{args:?}: {stderr}");
    }
}
