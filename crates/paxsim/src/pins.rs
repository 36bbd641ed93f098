//! What, besides the seed, decides a swarm run: pinned options and flaws.
//!
//! The same [`SeedSpec`] comes from command-line flags (`fuzz`, `replay`),
//! from seed-corpus files, and goes back out as flags in the replay and
//! shrink commands a failure prints. Probabilities are floats here, at the
//! edge, and ppm in `sim::Pins`.

use serde::{Deserialize, Serialize};

use paxos::{Flaw, Mode, NODES_MAX};
use sim::{Pins, SimConfig};

use sim::edge::{ppm_to_probability, probability_to_ppm};

/// Bounds on workload pins, so that a typo cannot make one seed run for hours.
pub const CLIENTS_MAX: u32 = 1_000;
pub const KEYS_MAX: u32 = 10_000;
pub const OPS_PER_CLIENT_MAX: u32 = 100_000;

/// Swarm options fixed instead of drawn. Absent: the seed draws it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PinSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nodes: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quorum_phase1: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quorum_phase2: Option<u8>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub allow_unsafe_quorums: bool,
    /// Probability in 0..=1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop: Option<f64>,
    /// Probability in 0..=1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_us_min: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_us_max: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crash_interval_us: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition_interval_us: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pause_interval_us: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clients: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ops_per_client: Option<u32>,
}

fn is_false(value: &bool) -> bool {
    !*value
}

impl PinSpec {
    pub fn is_empty(&self) -> bool {
        *self == PinSpec::default()
    }
}

/// Pins plus flaws: everything that turns a seed into a configuration.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SeedSpec {
    pub pins: PinSpec,
    /// Sorted, without repeats.
    pub flaws: Vec<Flaw>,
}

impl SeedSpec {
    pub fn new(pins: PinSpec, mut flaws: Vec<Flaw>) -> SeedSpec {
        flaws.sort_unstable();
        flaws.dedup();
        SeedSpec { pins, flaws }
    }

    /// Check the pins and convert them; the message names the pin.
    pub fn to_sim(&self) -> Result<Pins, String> {
        let pins = &self.pins;
        if let Some(nodes) = pins.nodes
            && (nodes == 0 || usize::from(nodes) > NODES_MAX)
        {
            return Err(format!("nodes is {nodes}, expected 1..={NODES_MAX}"));
        }
        if (pins.quorum_phase1.is_some() || pins.quorum_phase2.is_some()) && pins.nodes.is_none() {
            // The drawn cluster size varies by seed; a fixed quorum would be
            // valid for some seeds and not for others.
            return Err("a pinned quorum needs a pinned cluster size: add nodes".into());
        }
        if let (Some(min), Some(max)) = (pins.delay_us_min, pins.delay_us_max)
            && min > max
        {
            return Err(format!(
                "delay_us_min ({min}) is above delay_us_max ({max})"
            ));
        }
        for (name, value, max) in [
            ("clients", pins.clients, CLIENTS_MAX),
            ("keys", pins.keys, KEYS_MAX),
            ("ops_per_client", pins.ops_per_client, OPS_PER_CLIENT_MAX),
        ] {
            match value {
                Some(0) => return Err(format!("{name} is 0, expected at least 1")),
                Some(value) if value > max => {
                    return Err(format!("{name} is {value}, expected at most {max}"));
                }
                _ => {}
            }
        }
        let ppm = |name: &str, value: Option<f64>| {
            value
                .map(probability_to_ppm)
                .transpose()
                .map_err(|error| format!("{name}: {error}"))
        };
        Ok(Pins {
            nodes: pins.nodes,
            mode: pins.mode,
            quorum_phase1: pins.quorum_phase1,
            quorum_phase2: pins.quorum_phase2,
            allow_unsafe_quorums: pins.allow_unsafe_quorums,
            drop_ppm: ppm("drop", pins.drop)?,
            duplicate_ppm: ppm("duplicate", pins.duplicate)?,
            delay_us_min: pins.delay_us_min,
            delay_us_max: pins.delay_us_max,
            crash_interval_us: pins.crash_interval_us,
            partition_interval_us: pins.partition_interval_us,
            pause_interval_us: pins.pause_interval_us,
            clients: pins.clients,
            keys: pins.keys,
            ops_per_client: pins.ops_per_client,
            flaws: self.flaws.iter().copied().collect(),
        })
    }

    /// Check that the pins make a valid configuration at all, by drawing
    /// one. Pins can still clash with a draw only through the cluster, and
    /// the cluster is fully pinned whenever a quorum is.
    pub fn check(&self, seed: u64) -> Result<Pins, String> {
        let pins = self.to_sim()?;
        SimConfig::draw(seed, &pins).validate()?;
        Ok(pins)
    }

    /// The command-line flags that give these pins and flaws, in a fixed order.
    pub fn to_flags(&self) -> Vec<String> {
        let pins = &self.pins;
        let mut flags = Vec::new();
        let mut push = |name: &str, value: Option<String>| {
            if let Some(value) = value {
                flags.push(format!("--{name}"));
                flags.push(value);
            }
        };
        push("nodes", pins.nodes.map(|v| v.to_string()));
        push("mode", pins.mode.map(|v| v.name().to_string()));
        push("quorum-phase1", pins.quorum_phase1.map(|v| v.to_string()));
        push("quorum-phase2", pins.quorum_phase2.map(|v| v.to_string()));
        push("drop", pins.drop.map(canonical_probability));
        push("duplicate", pins.duplicate.map(canonical_probability));
        match (pins.delay_us_min, pins.delay_us_max) {
            (Some(min), Some(max)) => push("delay-us", Some(format!("{min}..{max}"))),
            (min, max) => {
                push("delay-us-min", min.map(|v| v.to_string()));
                push("delay-us-max", max.map(|v| v.to_string()));
            }
        }
        push(
            "crash-interval-us",
            pins.crash_interval_us.map(|v| v.to_string()),
        );
        push(
            "partition-interval-us",
            pins.partition_interval_us.map(|v| v.to_string()),
        );
        push(
            "pause-interval-us",
            pins.pause_interval_us.map(|v| v.to_string()),
        );
        push("clients", pins.clients.map(|v| v.to_string()));
        push("keys", pins.keys.map(|v| v.to_string()));
        push("ops-per-client", pins.ops_per_client.map(|v| v.to_string()));
        for flaw in &self.flaws {
            push("flaw", Some(flaw.name().to_string()));
        }
        if pins.allow_unsafe_quorums {
            flags.push("--allow-unsafe-quorums".into());
        }
        flags
    }

    /// A short description: `nodes=3 drop=0.1 flaws=no-client-dedup`, or `none`.
    pub fn describe(&self) -> String {
        let flags = self.to_flags();
        if flags.is_empty() {
            "none".into()
        } else {
            flags.join(" ")
        }
    }
}

/// The float a ppm stands for, printed so it parses back to the same ppm.
fn canonical_probability(probability: f64) -> String {
    match probability_to_ppm(probability) {
        Ok(ppm) => ppm_to_probability(ppm).to_string(),
        Err(_) => probability.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quorum_pin_needs_a_cluster_size() {
        let spec = SeedSpec::new(
            PinSpec {
                quorum_phase1: Some(2),
                ..PinSpec::default()
            },
            vec![],
        );
        assert!(spec.to_sim().unwrap_err().contains("nodes"));
    }

    #[test]
    fn flags_name_every_pin() {
        let spec = SeedSpec::new(
            PinSpec {
                nodes: Some(5),
                drop: Some(0.05),
                delay_us_min: Some(10),
                delay_us_max: Some(20),
                allow_unsafe_quorums: true,
                ..PinSpec::default()
            },
            vec![
                Flaw::NoClientDedup,
                Flaw::PromiseNotPersisted,
                Flaw::NoClientDedup,
            ],
        );
        assert_eq!(
            spec.to_flags().join(" "),
            "--nodes 5 --drop 0.05 --delay-us 10..20 --flaw promise-not-persisted \
             --flaw no-client-dedup --allow-unsafe-quorums"
        );
    }
}
