//! A campaign's JSON summary as a type, for what reads summaries back:
//! `merge` (the shards of one campaign) and `--junit`.
//!
//! `summary::to_json` writes the object; a test checks that what it writes
//! reads back into this type and serializes to the same JSON, so that the
//! writer and the reader cannot drift apart. Fields this type does not name
//! are carried through untouched (`other`), so a field added to the summary
//! later survives a merge. Reading checks each summary on its own: the
//! fields that say which seeds ran must agree with each other and with the
//! shard, so that a merge can trust them.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use paxos::Flaw;
use sim::Pins;

use crate::campaign::{Coverage, Plan};
use crate::error::InputError;
use crate::input;
use crate::outcome::Expect;
use crate::shard::ShardSource;
use crate::summary;
use crate::units::{Shard, parse_shard};

/// `{first_seed, step, seeds}`: the seeds `first_seed`, `first_seed +
/// step`, ..., `seeds` of them (`None`: to the last seed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Progression {
    pub first_seed: Option<u64>,
    pub step: u64,
    pub seeds: Option<u64>,
}

impl Progression {
    /// `seeds 7..=99`, `seeds 7..`, or `seeds 7, 11, ... every 4th (23 seeds)`.
    pub fn describe(&self) -> String {
        let Some(first) = self.first_seed else {
            return "no seeds".into();
        };
        let step = self.step;
        if step == 1 {
            return match self.seeds {
                Some(count) => format!("seeds {first}..={}", first + (count - 1)),
                None => format!("seeds {first}.."),
            };
        }
        let count_text = self.seeds.map_or("to the last seed".to_string(), |count| {
            format!("{count} seeds")
        });
        format!(
            "seeds {first}, {}, ... every {} ({count_text})",
            first.saturating_add(step),
            ordinal(step)
        )
    }
}

/// `2nd`, `3rd`, `4th`, `11th`, `21st`.
fn ordinal(number: u64) -> String {
    let suffix = match (number % 10, number % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{number}{suffix}")
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ops {
    pub invoked: u64,
    pub completed: u64,
    pub abandoned: u64,
}

/// One failing seed, as the summary lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FailureRecord {
    pub seed: u64,
    pub invariant: String,
    pub event: Option<u64>,
    pub time_us: Option<u64>,
    pub time: Option<String>,
    pub slot: Option<u64>,
    pub key: Option<String>,
    pub node: Option<u8>,
    /// The report: its first line, then evidence lines.
    pub message: String,
    pub replay: String,
    pub shrink: String,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl FailureRecord {
    /// `at event 12 (t=0.003004s) slot 4 key k node 2`, as much as is known.
    pub fn location(&self) -> String {
        crate::outcome::location(
            self.event,
            self.time.as_deref(),
            self.slot,
            self.key.as_deref(),
            self.node,
        )
    }
}

/// What one shard of a merged summary did; `file` is `None` for a shard
/// whose summary was missing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShardRecord {
    #[serde(with = "shard_text")]
    pub shard: Shard,
    pub file: Option<String>,
    pub seeds_run: u64,
    pub interrupted: bool,
    pub signal: Option<String>,
    pub not_covered: Option<Progression>,
}

/// What only a merged summary has: its shards, the missing ones included.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Merged {
    pub shards: Vec<ShardRecord>,
}

/// A campaign's summary, as `fuzz --json` prints it and `merge` reads and
/// writes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SummaryFile {
    pub seeds_run: u64,
    pub seed_start: u64,
    /// The campaign's last seed; `None` for one bounded by wall time only.
    pub seed_last: Option<u64>,
    #[serde(with = "shard_text")]
    pub shard: Shard,
    pub shard_source: ShardSource,
    pub seeds_planned: Option<u64>,
    pub covered: Option<Progression>,
    pub not_covered: Option<Progression>,
    pub flaws: Vec<Flaw>,
    /// The pinned knobs; the flaws are `flaws`.
    #[serde(with = "sim::knobs::object")]
    pub pins: Pins,
    pub interrupted: bool,
    pub signal: Option<String>,
    pub events: u64,
    pub ops: Ops,
    pub seeds_without_completed_ops: u64,
    pub warnings: Vec<String>,
    pub elapsed_s: f64,
    pub events_per_sec: f64,
    pub failures: Vec<FailureRecord>,
    pub nondeterministic: Vec<u64>,
    pub probes: BTreeMap<String, u64>,
    pub files_written: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged: Option<Merged>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// Fields a summary must have even where their value may be null (serde
/// would take a missing optional field for null).
const REQUIRED: &[&str] = &[
    "seed_last",
    "seeds_planned",
    "covered",
    "not_covered",
    "signal",
];

impl SummaryFile {
    /// Read and check one summary file; errors name the file and the field.
    pub fn read(path: &Path) -> Result<SummaryFile, InputError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|error| InputError(format!("{file}: {error}")))?;
        if text.trim().is_empty() {
            return Err(InputError(format!(
                "{file}: the file is empty, expected the JSON summary of `paxsim fuzz --json`"
            )));
        }
        let value: Value =
            serde_json::from_str(&text).map_err(|error| input::syntax_error(&file, &error))?;
        let Some(object) = value.as_object() else {
            return Err(InputError(format!(
                "{file}: expected a JSON object, the summary of `paxsim fuzz --json`"
            )));
        };
        if let Some(field) = REQUIRED.iter().find(|field| !object.contains_key(**field)) {
            return Err(InputError(format!(
                "{file}: missing field `{field}`: is this the summary of `paxsim fuzz --json` \
                 (of this version)?"
            )));
        }
        let summary: SummaryFile = input::parse(&file, &text)?;
        summary
            .check()
            .map_err(|error| InputError(format!("{file}: {error}")))?;
        Ok(summary)
    }

    /// The pinned knobs and the flaws together.
    pub fn all_pins(&self) -> Pins {
        Pins {
            flaws: self.flaws.iter().copied().collect(),
            ..self.pins.clone()
        }
    }

    /// The plan this summary's shard ran, as far as the summary says.
    pub fn plan(&self) -> Plan {
        let bounded = self.seed_last.is_some();
        let index_last = match self.seed_last {
            Some(last) => last - self.seed_start,
            None => u64::MAX - self.seed_start,
        };
        Plan {
            pins: self.all_pins(),
            seed_start: self.seed_start,
            index_last,
            shard: self.shard,
            shard_source: self.shard_source.clone(),
            duration: None,
            jobs: 1,
            determinism_ppm: 0,
            out: None,
            shrink: false,
            bounded,
        }
    }

    /// The shards this summary stands for: its merged shards, or itself.
    pub fn shard_records(&self) -> Vec<ShardRecord> {
        match &self.merged {
            Some(merged) => merged.shards.clone(),
            None => vec![ShardRecord {
                shard: self.shard,
                file: None,
                seeds_run: self.seeds_run,
                interrupted: self.interrupted,
                signal: self.signal.clone(),
                not_covered: self.not_covered,
            }],
        }
    }

    /// The fields that say what ran agree with each other: `field: why`.
    pub fn check(&self) -> Result<(), String> {
        if let Some(last) = self.seed_last
            && last < self.seed_start
        {
            return Err(format!(
                "seed_last: {last} is below seed_start {}",
                self.seed_start
            ));
        }
        if self.interrupted != self.signal.is_some() {
            return Err(format!(
                "signal: {}, but interrupted is {}",
                json(&self.signal),
                self.interrupted
            ));
        }
        if let Some(merged) = &self.merged {
            return self.check_merged(merged);
        }
        let plan = self.plan();
        let planned = self.seed_last.map(|_| plan.seeds_in_shard());
        if self.seeds_planned != planned {
            return Err(format!(
                "seeds_planned: {} for shard {} of seeds {}..{}, expected {}",
                show(self.seeds_planned),
                self.shard,
                self.seed_start,
                self.seed_last
                    .map_or(String::new(), |last| format!("={last}")),
                show(planned)
            ));
        }
        if planned.is_some_and(|planned| self.seeds_run > planned) {
            return Err(format!(
                "seeds_run: {} is more than the {} seeds the shard holds",
                self.seeds_run,
                show(planned)
            ));
        }
        let coverage = Coverage {
            positions_run: self.seeds_run,
            positions_planned: planned,
        };
        let (covered, not_covered) = summary::coverage_progressions(&plan, &coverage);
        if self.covered != covered {
            return Err(format!(
                "covered: {} does not match seeds_run {} in shard {} from seed {}, expected {}",
                json(&self.covered),
                self.seeds_run,
                self.shard,
                self.seed_start,
                json(&covered)
            ));
        }
        if self.not_covered != not_covered {
            return Err(format!(
                "not_covered: {} does not match the {} seeds run of the {} planned, expected {}",
                json(&self.not_covered),
                self.seeds_run,
                show(planned),
                json(&not_covered)
            ));
        }
        let ran = |seed: u64| self.position_of(seed).is_some_and(|p| p < self.seeds_run);
        for (index, failure) in self.failures.iter().enumerate() {
            if !ran(failure.seed) {
                return Err(format!(
                    "failures[{index}].seed: seed {} is not among the seeds this shard ran ({})",
                    failure.seed,
                    covered.map_or("none".into(), |covered| covered.describe())
                ));
            }
            Expect::from_name(&failure.invariant)
                .map_err(|error| format!("failures[{index}].invariant: {error}"))?;
        }
        for (index, seed) in self.nondeterministic.iter().enumerate() {
            if !ran(*seed) {
                return Err(format!(
                    "nondeterministic[{index}]: seed {seed} is not among the seeds this shard ran"
                ));
            }
        }
        Ok(())
    }

    /// A merged summary covers the whole range (shard 0/1) but, its shards
    /// having run different numbers of seeds, not always a prefix of it:
    /// `covered` is the longest prefix that ran, `not_covered` the rest.
    fn check_merged(&self, merged: &Merged) -> Result<(), String> {
        if self.shard != Shard::ALL {
            return Err(format!(
                "shard: {} in a merged summary, which stands for the whole range, 0/1",
                self.shard
            ));
        }
        let planned = self.seed_last.map(|_| self.plan().seeds_in_shard());
        if self.seeds_planned != planned {
            return Err(format!(
                "seeds_planned: {}, expected {} for seeds {}..{}",
                show(self.seeds_planned),
                show(planned),
                self.seed_start,
                self.seed_last
                    .map_or(String::new(), |last| format!("={last}"))
            ));
        }
        let prefix = self.covered.map_or(0, |covered| covered.seeds.unwrap_or(0));
        let expected_covered = (prefix > 0).then_some(Progression {
            first_seed: Some(self.seed_start),
            step: 1,
            seeds: Some(prefix),
        });
        if self.covered != expected_covered || prefix > self.seeds_run {
            return Err(format!(
                "covered: {} is not a prefix of the range of at most seeds_run {} seeds",
                json(&self.covered),
                self.seeds_run
            ));
        }
        let coverage = Coverage {
            positions_run: prefix,
            positions_planned: planned,
        };
        let (_, not_covered) = summary::coverage_progressions(&self.plan(), &coverage);
        if self.not_covered != not_covered {
            return Err(format!(
                "not_covered: {} does not follow covered {}, expected {}",
                json(&self.not_covered),
                json(&self.covered),
                json(&not_covered)
            ));
        }
        if merged.shards.is_empty() {
            return Err("merged.shards: empty, expected the merged shards".into());
        }
        let in_range = |seed: u64| self.position_of(seed).is_some();
        if let Some(index) = self.failures.iter().position(|f| !in_range(f.seed)) {
            return Err(format!(
                "failures[{index}].seed: seed {} is outside the campaign's seeds",
                self.failures[index].seed
            ));
        }
        Ok(())
    }

    /// The position of `seed` in this summary's shard, if it is in it.
    pub fn position_of(&self, seed: u64) -> Option<u64> {
        let index = seed.checked_sub(self.seed_start)?;
        if let Some(last) = self.seed_last
            && seed > last
        {
            return None;
        }
        let offset = index.checked_sub(self.shard.index)?;
        (offset % self.shard.count == 0).then_some(offset / self.shard.count)
    }
}

fn show(value: Option<u64>) -> String {
    value.map_or("null".into(), |value| value.to_string())
}

fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("summary values always serialize")
}

/// A shard as its text, `K/N`.
mod shard_text {
    use super::*;

    pub fn serialize<S: Serializer>(shard: &Shard, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(shard)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Shard, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse_shard(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;

    use crate::campaign;
    use crate::progress::Counters;

    fn shard_plan() -> Plan {
        let mut source = ShardSource::new("gitlab");
        source.variables.insert("CI_NODE_INDEX".into(), "2".into());
        source.variables.insert("CI_NODE_TOTAL".into(), "3".into());
        Plan {
            pins: Pins {
                nodes: Some(3),
                flaws: [Flaw::NoClientDedup].into_iter().collect(),
                ..Pins::default()
            },
            seed_start: 5,
            index_last: 20,
            shard: Shard { index: 1, count: 3 },
            shard_source: source,
            duration: None,
            jobs: 1,
            determinism_ppm: 0,
            out: None,
            shrink: false,
            bounded: true,
        }
    }

    #[test]
    fn what_fuzz_writes_reads_back_as_the_same_json() {
        let plan = shard_plan();
        let result = campaign::run(&plan, &AtomicBool::new(false), &Counters::default());
        assert!(
            !result.totals.failures.is_empty(),
            "the flaw fails some seed"
        );
        let json = summary::to_json(&plan, &result, None);
        let file: SummaryFile = serde_json::from_value(json.clone()).unwrap();
        file.check().unwrap();
        // Nothing is lost, fields the type does not name (`other`) included.
        assert_eq!(serde_json::to_value(&file).unwrap(), json);
        assert_eq!(file.plan().seeds_in_shard(), plan.seeds_in_shard());
        assert_eq!(file.all_pins(), plan.pins);
        // A field a later version adds survives a read and a write.
        let mut newer = json.clone();
        newer["disk"] = serde_json::json!({"latency_us": 5});
        newer["failures"][0]["config"] = serde_json::json!({"nodes": 3});
        let file: SummaryFile = serde_json::from_value(newer.clone()).unwrap();
        assert_eq!(serde_json::to_value(&file).unwrap(), newer);
    }

    #[test]
    fn a_summary_whose_fields_disagree_names_the_field() {
        let plan = shard_plan();
        let result = campaign::run(&plan, &AtomicBool::new(false), &Counters::default());
        let good: SummaryFile =
            serde_json::from_value(summary::to_json(&plan, &result, None)).unwrap();
        let broken = |change: &dyn Fn(&mut SummaryFile)| {
            let mut summary = good.clone();
            change(&mut summary);
            summary.check().unwrap_err()
        };
        assert!(broken(&|s| s.seeds_run -= 1).starts_with("covered:"));
        assert!(broken(&|s| s.seeds_planned = Some(99)).starts_with("seeds_planned:"));
        assert!(broken(&|s| s.seed_last = Some(1)).starts_with("seed_last:"));
        assert!(broken(&|s| s.not_covered = s.covered).starts_with("not_covered:"));
        assert!(broken(&|s| s.interrupted = true).starts_with("signal:"));
        // Seed 7 is shard 2/3's (index 2 from seed 5), not this shard's.
        assert!(broken(&|s| s.failures[0].seed = 7).starts_with("failures[0].seed:"));
        assert!(
            broken(&|s| s.failures[0].invariant = "bogus".into())
                .starts_with("failures[0].invariant:")
        );
        assert!(broken(&|s| s.nondeterministic.push(4)).starts_with("nondeterministic[0]:"));
    }

    #[test]
    fn progressions_read_as_seeds() {
        let progression = |first_seed, step, seeds| Progression {
            first_seed,
            step,
            seeds,
        };
        assert_eq!(progression(Some(7), 1, Some(93)).describe(), "seeds 7..=99");
        assert_eq!(progression(Some(7), 1, None).describe(), "seeds 7..");
        assert_eq!(
            progression(Some(7), 4, Some(23)).describe(),
            "seeds 7, 11, ... every 4th (23 seeds)"
        );
        assert_eq!(
            progression(Some(7), 4, None).describe(),
            "seeds 7, 11, ... every 4th (to the last seed)"
        );
        assert_eq!(progression(None, 4, Some(0)).describe(), "no seeds");
        let ordinals: Vec<String> = [2, 3, 4, 11, 12, 13, 21, 22, 101, 111]
            .into_iter()
            .map(ordinal)
            .collect();
        assert_eq!(
            ordinals,
            [
                "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st", "111th"
            ]
        );
    }
}
