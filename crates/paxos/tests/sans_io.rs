//! The core is sans-IO and deterministic: it names no socket, file, thread,
//! clock or random source, and the same inputs give the same outputs.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use paxos::{Mode, Timer};

/// Text that would mean the core does I/O, reads a clock, draws its own
/// randomness, or iterates in an order that varies between runs.
const FORBIDDEN: &[&str] = &[
    "std::net",
    "std::fs",
    "std::thread",
    "std::time",
    "std::env",
    "std::process",
    "std::io",
    "Instant",
    "SystemTime",
    "thread_rng",
    "OsRng",
    "getrandom",
    "rand::",
    "HashMap",
    "HashSet",
    "tokio",
    "async fn",
    ".await",
];

#[test]
fn the_core_uses_no_io_clock_or_randomness() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let paths = rust_files(&src);
    let files = paths.len();
    for path in paths {
        let text = std::fs::read_to_string(&path).unwrap();
        for (number, line) in text.lines().enumerate() {
            for word in FORBIDDEN {
                assert!(
                    !line.contains(word),
                    "{}:{}: `{word}` in the sans-IO core: {line}",
                    path.display(),
                    number + 1
                );
            }
            // A grouped import such as `use std::{fs, net}` hides the path.
            if let Some(group) = line.trim_start().strip_prefix("use std::{") {
                for module in ["fs", "net", "thread", "time", "env", "process", "io"] {
                    let named = group
                        .split(|c: char| !c.is_alphanumeric() && c != '_')
                        .any(|part| part == module);
                    assert!(
                        !named,
                        "{}:{}: std::{module} imported",
                        path.display(),
                        number + 1
                    );
                }
            }
        }
    }
    assert!(
        files >= 14,
        "found only {files} source files in {}",
        src.display()
    );
    let manifest =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml")).unwrap();
    let dependencies = manifest
        .split("[dependencies]")
        .nth(1)
        .and_then(|rest| rest.split("\n[").next())
        .unwrap_or("");
    for crate_name in ["rand", "tokio", "getrandom", "mio"] {
        assert!(
            !dependencies
                .lines()
                .any(|line| line.trim_start().starts_with(crate_name)),
            "the core depends on {crate_name}"
        );
    }
}

/// Every `.rs` file under `dir`, subdirectories included, in name order.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("source directory is readable")
        .map(|entry| entry.unwrap().path())
        .collect();
    entries.sort();
    let mut files = Vec::new();
    for path in entries {
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
    files
}

/// Two clusters fed the same inputs emit byte-for-byte the same outputs.
#[test]
fn the_same_inputs_give_the_same_outputs() {
    for mode in Mode::ALL {
        let run = || {
            let mut cluster = Cluster::with_seed(config(3, mode), 7);
            for client in 1..=6u32 {
                cluster.client((client % 3) as u8, put(client, 1, "k", client as i64));
            }
            cluster.timer(0, Timer::Election);
            cluster.run_until(2_000_000, |_| false);
            cluster
                .outputs
                .iter()
                .map(|outputs| format!("{outputs:?}"))
                .collect::<Vec<String>>()
        };
        let first = run();
        assert!(
            first.iter().all(|outputs| outputs.len() > 20),
            "{mode:?}: the run did work"
        );
        assert_eq!(first, run(), "{mode:?}");
    }
}
