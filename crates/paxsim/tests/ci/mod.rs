//! Helpers for the tests of campaigns across machines (merge, --shard
//! auto, JUnit, the CI and Kubernetes manifests, the README's commands):
//! run the built binary in a directory of the test's own, with a clean CI
//! environment.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

/// Every variable `--shard auto` reads: removed from each command's
/// environment, so that the CI these tests run in cannot leak into them.
pub const SHARD_VARIABLES: [&str; 7] = [
    "CI_NODE_INDEX",
    "CI_NODE_TOTAL",
    "BUILDKITE_PARALLEL_JOB",
    "BUILDKITE_PARALLEL_JOB_COUNT",
    "CIRCLE_NODE_INDEX",
    "CIRCLE_NODE_TOTAL",
    "JOB_COMPLETION_INDEX",
];

/// `paxsim ARGS` in `dir`, with `env` set and every other shard variable unset.
pub fn paxsim_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_paxsim"));
    command.args(args).current_dir(dir);
    for variable in SHARD_VARIABLES {
        command.env_remove(variable);
    }
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().expect("the paxsim binary runs")
}

pub fn read_json(path: &Path) -> serde_json::Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

pub fn write_json(path: &Path, value: &serde_json::Value) {
    std::fs::write(path, serde_json::to_string_pretty(value).unwrap()).unwrap();
}
