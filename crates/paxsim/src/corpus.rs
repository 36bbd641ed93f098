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

use crate::atomic;
use crate::outcome::{Expect, Finding};
use crate::pins::{PinSpec, SeedSpec};

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
    #[serde(default, skip_serializing_if = "PinSpec::is_empty")]
    pub pins: PinSpec,
    pub expect: Expect,
    /// Why the entry is here, or what the failure looked like when found.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

impl CorpusEntry {
    pub fn spec(&self) -> SeedSpec {
        SeedSpec::new(self.pins.clone(), self.flaws.clone())
    }

    /// The entry's name, or `seed N` and the flags that reproduce it.
    pub fn display_name(&self) -> String {
        match &self.name {
            Some(name) => name.clone(),
            None => {
                let spec = self.spec();
                if spec == SeedSpec::default() {
                    format!("seed {}", self.seed)
                } else {
                    format!("seed {} {}", self.seed, spec.describe())
                }
            }
        }
    }
}

/// Write a failure found by a campaign to `dir`, as a one-entry corpus file.
pub fn write_failure(
    dir: &Path,
    seed: u64,
    spec: &SeedSpec,
    finding: &Finding,
) -> Result<PathBuf, String> {
    let expect = Expect::from_name(finding.label)
        .expect("every failure label is an expectation a file may hold");
    let note = finding.headline();
    let file = CorpusFile {
        entries: vec![CorpusEntry {
            name: None,
            seed,
            flaws: spec.flaws.clone(),
            pins: spec.pins.clone(),
            expect,
            note,
        }],
    };
    let path = dir.join(failure_file_name(seed, spec, finding.label));
    let mut text = serde_json::to_string_pretty(&file).expect("a corpus file always serializes");
    text.push('\n');
    atomic::write(&path, text.as_bytes())?;
    Ok(path)
}

/// `linearizability-seed-17-no-client-dedup.json`; a digest of the pins
/// keeps campaigns with different pins from overwriting each other.
fn failure_file_name(seed: u64, spec: &SeedSpec, label: &str) -> String {
    let mut name = format!("{label}-seed-{seed}");
    for flaw in &spec.flaws {
        name.push('-');
        name.push_str(flaw.name());
    }
    if !spec.pins.is_empty() {
        let flags = spec.to_flags().join(" ");
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
