//! Seed-corpus files: seeds worth keeping, each with its pins, flaws and
//! expected outcome.
//!
//! `{"entries": [{"seed": 17, "flaws": [...], "pins": {...}, "expect": "..."}]}`.
//! A corpus entry is short because the seed draws the rest of the
//! configuration. `fuzz --out DIR` writes every failure in this same
//! format, expecting the failure's own outcome, so `paxsim run DIR`
//! replays them and copying one into `seeds/` makes it a regression.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use paxos::Flaw;
use sim::Pins;

use crate::atomic;
use crate::outcome::{Expect, Finding};
use crate::pins;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorpusFile {
    pub entries: Vec<CorpusEntry>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorpusEntry {
    /// [default: `seed N` and the flaws]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub seed: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flaws: Vec<Flaw>,
    /// The pinned knobs, by the names `sim::KNOBS` gives them; the flaws
    /// are `flaws`, beside them.
    #[serde(
        default,
        skip_serializing_if = "no_knob_pinned",
        with = "sim::knobs::object"
    )]
    pub pins: Pins,
    pub expect: Expect,
    /// Why the entry is here, or what the failure looked like when found.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

fn no_knob_pinned(pins: &Pins) -> bool {
    !pins.any_knob()
}

impl CorpusEntry {
    /// The pinned knobs and the flaws together.
    pub fn pins(&self) -> Pins {
        Pins {
            flaws: self.flaws.iter().copied().collect(),
            ..self.pins.clone()
        }
    }

    /// The entry's name, or `seed N` and the flags that reproduce it.
    pub fn display_name(&self) -> String {
        match &self.name {
            Some(name) => name.clone(),
            None => {
                let pins = self.pins();
                if pins == Pins::default() {
                    format!("seed {}", self.seed)
                } else {
                    format!("seed {} {}", self.seed, pins::describe(&pins))
                }
            }
        }
    }
}

/// Write a failure found by a campaign to `dir`, as a one-entry corpus file.
pub fn write_failure(
    dir: &Path,
    seed: u64,
    pins: &Pins,
    finding: &Finding,
) -> Result<PathBuf, String> {
    let expect = Expect::from_name(finding.label)
        .expect("every failure label is an expectation a file may hold");
    let note = finding.headline();
    let file = CorpusFile {
        entries: vec![CorpusEntry {
            name: None,
            seed,
            flaws: pins.flaws.iter().collect(),
            pins: pins.clone(),
            expect,
            note,
        }],
    };
    let path = dir.join(failure_file_name(seed, pins, finding.label));
    let mut text = serde_json::to_string_pretty(&file).expect("a corpus file always serializes");
    text.push('\n');
    atomic::write(&path, text.as_bytes())?;
    Ok(path)
}

/// `linearizability-seed-17-no-client-dedup.json`; a digest of the pins
/// keeps campaigns with different pins from overwriting each other.
fn failure_file_name(seed: u64, pins: &Pins, label: &str) -> String {
    let mut name = format!("{label}-seed-{seed}");
    for flaw in pins.flaws.iter() {
        name.push('-');
        name.push_str(flaw.name());
    }
    if pins.any_knob() {
        let flags = pins::to_flags(pins).join(" ");
        name.push_str(&format!("-pins-{:08x}", fnv1a(flags.as_bytes()) as u32));
    }
    name.push_str(".json");
    name
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
