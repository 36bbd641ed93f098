//! Helpers shared by the command-line tests: run the built binary, make
//! scratch directories.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU64, Ordering};

/// Run `paxsim` with `args` from the workspace root.
pub fn paxsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_paxsim"))
        .args(args)
        .current_dir(workspace_root())
        .output()
        .expect("the paxsim binary runs")
}

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn code(output: &Output) -> i32 {
    output
        .status
        .code()
        .expect("paxsim exits, it is not killed")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("stdout is UTF-8")
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).expect("stderr is UTF-8")
}

/// A fresh, empty directory under the system temp dir, unique per call.
pub fn scratch_dir(label: &str) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let unique = COUNTER.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!(
        "paxsim-test-{label}-{}-{unique}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("the temp dir is writable");
    dir
}

/// A small valid scenario, as text, for tests to break one field of.
pub const VALID_SCENARIO: &str = r#"{
  "name": "small",
  "seed": 1,
  "cluster": { "nodes": 3, "mode": "stable-leader", "flaws": [] },
  "network": { "delay_us_min": 100, "delay_us_max": 1000 },
  "workload": { "clients": 2, "keys": 1, "ops_per_client": 3 },
  "chaos_us": 100000,
  "faults": [
    { "when": { "kind": "at", "time_us": 50000 },
      "action": { "fault": "crash", "node": 1, "down_us": 10000 } }
  ],
  "expect": "pass"
}
"#;

/// Parse stdout as one JSON object.
pub fn json(output: &Output) -> serde_json::Value {
    serde_json::from_str(&stdout(output))
        .unwrap_or_else(|error| panic!("stdout is one JSON object ({error}):\n{}", stdout(output)))
}
