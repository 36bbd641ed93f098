//! Golden digests: a fixed list of runs whose digests, event counts and
//! outcomes are committed in `tests/data/digests.txt`.
//!
//! A refactor must not change one of them. A change that is meant to alter
//! runs (new draws, a new fault) regenerates the file on purpose with
//! `PAXSIM_BLESS=1 cargo test -p sim --test digests` and says so in its
//! commit, so every behavioural change is visible in review as a diff of
//! this file.

use std::fmt::Write as _;
use std::path::PathBuf;

use paxos::{Flaw, Mode};
use sim::{Pins, SimConfig};

/// Seeds run with the default swarm, one line each.
const SEEDS_DEFAULT: u64 = 300;
/// Seeds run per flaw, one line each.
const SEEDS_PER_FLAW: u64 = 12;
/// Seeds folded into one combined line, for breadth at little file size.
const SEEDS_FOLDED: u64 = 2_000;

fn data_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/digests.txt")
}

/// One run: `label seed digest events outcome`; a seed whose quorums
/// validation refused, as it must, is `refused`.
fn line(label: &str, seed: u64, pins: &Pins) -> String {
    let Some(report) = sim::run_admitted(SimConfig::draw(seed, pins))
        .expect("drawn configurations are valid or refused as expected")
    else {
        return format!("{label} {seed} - 0 refused");
    };
    format!(
        "{label} {seed} {:#018x} {} {}",
        report.digest,
        report.events,
        report.verdict.invariant_name().unwrap_or("pass")
    )
}

fn pinned(nodes: u8, mode: Mode) -> Pins {
    Pins {
        nodes: Some(nodes),
        mode: Some(mode),
        ..Pins::default()
    }
}

fn flawed(flaw: Flaw) -> Pins {
    Pins {
        flaws: sim::Invariant::shown_with(flaw),
        ..Pins::default()
    }
}

fn current() -> String {
    let mut text = String::from("# label seed digest events outcome\n");
    for seed in 0..SEEDS_DEFAULT {
        writeln!(text, "{}", line("default", seed, &Pins::default())).unwrap();
    }
    for (label, pins) in [
        ("nodes-1-leader", pinned(1, Mode::StableLeader)),
        ("nodes-2-leaderless", pinned(2, Mode::Leaderless)),
        ("nodes-4-leader", pinned(4, Mode::StableLeader)),
    ] {
        for seed in 0..SEEDS_PER_FLAW {
            writeln!(text, "{}", line(label, seed, &pins)).unwrap();
        }
    }
    for flaw in Flaw::ALL {
        for seed in 0..SEEDS_PER_FLAW {
            writeln!(text, "{}", line(flaw.name(), seed, &flawed(*flaw))).unwrap();
        }
    }
    let mut fold = 0u64;
    let mut events = 0u64;
    for seed in 0..SEEDS_FOLDED {
        let Some(report) = sim::run_admitted(SimConfig::draw(seed, &Pins::default())).unwrap()
        else {
            continue;
        };
        fold = (fold ^ report.digest).wrapping_mul(0x0000_0100_0000_01b3);
        events += report.events;
    }
    writeln!(text, "folded-0..{SEEDS_FOLDED} - {fold:#018x} {events} -").unwrap();
    text
}

#[test]
fn digests_match_the_committed_ones() {
    let current = current();
    let path = data_path();
    if std::env::var_os("PAXSIM_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &current).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).expect("tests/data/digests.txt is committed");
    let changed: Vec<String> = committed
        .lines()
        .zip(current.lines())
        .filter(|(old, new)| old != new)
        .map(|(old, new)| format!("  was: {old}\n  now: {new}"))
        .take(10)
        .collect();
    assert!(
        changed.is_empty() && committed.lines().count() == current.lines().count(),
        "runs changed ({} lines committed, {} now); first differences:\n{}\n\
         if the change is intended, rerun with PAXSIM_BLESS=1 and say why in the commit",
        committed.lines().count(),
        current.lines().count(),
        changed.join("\n")
    );
}
