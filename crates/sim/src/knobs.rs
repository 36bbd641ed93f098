//! The swarm knobs: each option a person may pin instead of letting the
//! seed draw it, described once, in the table at the end of this file.
//!
//! One entry names the knob, its type and [`Kind`] (how it is typed and
//! written), its help line, an optional range, and where a pinned value
//! goes in a drawn [`SimConfig`]. From that entry come: its field in
//! [`Pins`]; its part of [`Pins::apply`], which writes it over the drawn
//! value after the draw (or nothing, for the few pins the draw reads
//! itself, marked [`drawn`]); its [`Knob`] descriptor, from which the
//! command line builds its flag and prints it back; its key in the `pins`
//! object of a seed-corpus file ([`object`]); and the check of its value,
//! whose message names the knob. The simulator knows nothing of the
//! terminal: the command line builds its arguments from [`KNOBS`].
//!
//! Adding a knob is adding an entry. Applying pins after the draw keeps
//! every draw in place whatever is pinned, so a pin changes only its own
//! field (and the draw's stream, hence every digest, stays as it was).

use std::fmt::{self, Display};
use std::ops::RangeInclusive;

use serde::de::{Error as _, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserializer, Serializer};

use paxos::{Flaws, Mode, NODES_MAX};

use crate::bounds::{self, TIME_US_MAX};
use crate::config::{
    CLIENTS_MAX, HEAL_OPS_PER_CLIENT_MAX, KEYS_MAX, OPS_PER_CLIENT_MAX, SimConfig,
};
use crate::edge::{Choice, Count, Kind, Micros, Probability, Switch};
use crate::rng::Ppm;

/// One knob, for code that treats every knob alike: the command line
/// builds a flag from each, and prints the flags that pin them again.
pub struct Knob {
    /// The key in a corpus file's `pins`; with `-` for `_`, the flag.
    pub name: &'static str,
    /// One line for help text.
    pub help: &'static str,
    /// What the value is called in help text (`N`, `US`, `P`, `MODE`).
    pub value_name: &'static str,
    /// Takes no value: present means on.
    pub is_switch: bool,
    /// The values it may take, when they are few enough to list.
    pub choices: fn() -> Vec<&'static str>,
    /// Pin it from the text a person typed; the error names the knob.
    pub pin: fn(&mut Pins, &str) -> Result<(), String>,
    /// The text that pins it again; `None` when it is not pinned.
    pub shown: fn(&Pins) -> Option<String>,
    /// Pin some valid value, for tests that go over every knob.
    pub pin_sample: fn(&mut Pins),
}

/// The setter of a pin that [`SimConfig::draw`] reads while drawing,
/// because it shapes later draws (the cluster size bounds the quorum draw;
/// the delay range bounds the long tail; the core's size is clamped to the
/// cluster): nothing is left to do after.
pub fn drawn<T>(_config: &mut SimConfig, _value: T) {}

fn within<T: PartialOrd + Display>(
    name: &str,
    value: T,
    range: RangeInclusive<T>,
) -> Result<(), String> {
    if range.contains(&value) {
        Ok(())
    } else {
        Err(format!(
            "{name} is {value}, expected {}..={}",
            range.start(),
            range.end()
        ))
    }
}

macro_rules! knobs {
    (@name $field:ident) => { stringify!($field) };
    (@name $field:ident $name:literal) => { $name };
    ($(
        $(#[doc = $help:literal])+
        $field:ident $($name:literal)? : $ty:ty as $kind:ident $(check $check:ident)?
            $(in $range:expr)? => $set:expr;
    )*) => {
        /// Swarm options pinned instead of drawn: `None` lets the seed draw it.
        #[derive(Clone, Debug, Default, PartialEq, Eq)]
        pub struct Pins {
            $( $(#[doc = $help])+ pub $field: Option<$ty>, )*
            /// Deliberate flaws to switch on. A set, not a knob: files list
            /// it beside the pins (`flaws`), the command line repeats `--flaw`.
            pub flaws: Flaws,
        }

        /// Every knob, in the order help text, flags and files list them.
        pub const KNOBS: &[Knob] = &[$(
            Knob {
                name: knobs!(@name $field $($name)?),
                help: concat!($($help),+),
                value_name: <$kind as Kind<$ty>>::VALUE_NAME,
                is_switch: <$kind as Kind<$ty>>::IS_SWITCH,
                choices: <$kind as Kind<$ty>>::choices,
                pin: |pins, text| {
                    let name = knobs!(@name $field $($name)?);
                    let value = <$kind as Kind<$ty>>::parse(text)
                        .map_err(|error| format!("{name}: {error}"))?;
                    $( within(name, value, $range)?; )?
                    $( bounds::$check(name, value.into())?; )?
                    pins.$field = Some(value);
                    Ok(())
                },
                shown: |pins| pins.$field.and_then(<$kind as Kind<$ty>>::shown),
                pin_sample: |pins| {
                    // The low end of the knob's range, if it has one.
                    let samples = [$( *($range).start(), )? <$kind as Kind<$ty>>::sample()];
                    pins.$field = Some(samples[0]);
                },
            },
        )*];

        /// The keys a corpus file's `pins` object may hold.
        const NAMES: &[&str] = &[$( knobs!(@name $field $($name)?), )*];

        impl Pins {
            fn apply_knobs(&self, config: &mut SimConfig) {
                $(
                    if let Some(value) = self.$field {
                        let set: fn(&mut SimConfig, $ty) = $set;
                        set(config, value);
                    }
                )*
            }

            fn serialize_knobs<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut map = serializer.serialize_map(None)?;
                $(
                    if let Some(value) = self.$field
                        && <$kind as Kind<$ty>>::shown(value).is_some()
                    {
                        let name = knobs!(@name $field $($name)?);
                        map.serialize_entry(name, &<$kind as Kind<$ty>>::to_edge(value))?;
                    }
                )*
                map.end()
            }

            fn deserialize_knob<'de, A: MapAccess<'de>>(
                &mut self,
                key: &str,
                map: &mut A,
            ) -> Result<(), A::Error> {
                $(
                    let name = knobs!(@name $field $($name)?);
                    if key == name {
                        if self.$field.is_some() {
                            return Err(A::Error::duplicate_field(name));
                        }
                        let edge: <$kind as Kind<$ty>>::Edge = map.next_value()?;
                        let value = <$kind as Kind<$ty>>::from_edge(edge)
                            .map_err(|error| A::Error::custom(format!("{name}: {error}")))?;
                        $( within(name, value, $range).map_err(A::Error::custom)?; )?
                        $( bounds::$check(name, value.into()).map_err(A::Error::custom)?; )?
                        self.$field = Some(value);
                        return Ok(());
                    }
                )*
                Err(A::Error::unknown_field(key, NAMES))
            }
        }
    };
}

impl Pins {
    /// Write the pins over a drawn configuration: every knob that is
    /// pinned and not [`drawn`], then the flaws.
    pub fn apply(&self, config: &mut SimConfig) {
        self.apply_knobs(config);
        config.cluster.flaws = self.flaws;
    }

    /// Whether any knob is pinned (flaws aside).
    pub fn any_knob(&self) -> bool {
        *self
            != Pins {
                flaws: self.flaws,
                ..Pins::default()
            }
    }

    /// `seed`'s configuration under these pins, checked: the pins against
    /// each other, then the drawn whole. The message names the pin or field.
    /// A configuration that asks for quorums that need not intersect (a
    /// share of the swarm does, on purpose) is returned as drawn: refusing
    /// it is validation's job when the run starts, and that refusal is the
    /// seed's expected outcome ([`crate::admission`]).
    pub fn draw_checked(&self, seed: u64) -> Result<SimConfig, String> {
        if (self.quorum_phase1.is_some() || self.quorum_phase2.is_some()) && self.nodes.is_none() {
            // The drawn cluster size varies by seed; a fixed quorum would be
            // valid for some seeds and not for others.
            return Err("a pinned quorum needs a pinned cluster size: add nodes".into());
        }
        if let (Some(min), Some(max)) = (self.delay_us_min, self.delay_us_max)
            && min > max
        {
            return Err(format!(
                "delay_us_min ({min}) is above delay_us_max ({max})"
            ));
        }
        let config = SimConfig::draw(seed, self);
        if crate::admission::refusal_expected(&config) {
            return Ok(config);
        }
        config.validate()?;
        Ok(config)
    }
}

/// `#[serde(with = "sim::knobs::object")]`: the pinned knobs of a [`Pins`]
/// as one object, `{"nodes": 5, "drop": 0.1}`, probabilities as floats.
/// Flaws are not in it: files list them beside the pins.
pub mod object {
    use super::*;

    pub fn serialize<S: Serializer>(pins: &Pins, serializer: S) -> Result<S::Ok, S::Error> {
        pins.serialize_knobs(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Pins, D::Error> {
        deserializer.deserialize_map(PinsVisitor)
    }
}

struct PinsVisitor;

impl<'de> Visitor<'de> for PinsVisitor {
    type Value = Pins;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("an object of pins, e.g. {\"nodes\": 5, \"drop\": 0.1}")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Pins, A::Error> {
        let mut pins = Pins::default();
        while let Some(key) = map.next_key::<String>()? {
            pins.deserialize_knob(&key, &mut map)?;
        }
        Ok(pins)
    }
}

knobs! {
    /// Cluster size.
    nodes: u8 as Count in 1..=NODES_MAX as u8 => drawn;
    /// How proposals are driven.
    mode: Mode as Choice => |config, mode| config.cluster.mode = mode;
    /// Phase-1 (prepare) quorum size; needs nodes pinned too.
    quorum_phase1: u8 as Count => |config, size| config.cluster.quorum_phase1 = Some(size);
    /// Phase-2 (accept) quorum size; needs nodes pinned too.
    quorum_phase2: u8 as Count => |config, size| config.cluster.quorum_phase2 = Some(size);
    /// Allow quorums that need not intersect (q1 + q2 <= n).
    allow_unsafe_quorums: bool as Switch => |config, on| config.cluster.allow_unsafe_quorums = on;
    /// Message drop probability, 0..=1.
    drop_ppm "drop": Ppm as Probability => |config, ppm| config.network.drop_ppm = ppm;
    /// Message duplication probability, 0..=1.
    duplicate_ppm "duplicate": Ppm as Probability
        => |config, ppm| config.network.duplicate_ppm = ppm;
    /// Shortest network delay in microseconds.
    delay_us_min: u64 as Micros in 0..=TIME_US_MAX => drawn;
    /// Longest network delay in microseconds.
    delay_us_max: u64 as Micros in 0..=TIME_US_MAX => drawn;
    /// Mean time between random crashes (0: none, else at least 10000).
    crash_interval_us: u64 as Micros check fault_interval_us in 0..=TIME_US_MAX
        => |config, us| config.fault_rates.crash_interval_us = us;
    /// Mean time between random partitions (0: none, else at least 10000).
    partition_interval_us: u64 as Micros check fault_interval_us in 0..=TIME_US_MAX
        => |config, us| config.fault_rates.partition_interval_us = us;
    /// Mean time between random pauses (0: none, else at least 10000).
    pause_interval_us: u64 as Micros check fault_interval_us in 0..=TIME_US_MAX
        => |config, us| config.fault_rates.pause_interval_us = us;
    /// Random crashes at a protocol moment: a node's n-th send of a kind,
    /// an acceptance in a slot (0: none).
    triggered_crashes: u32 as Count in 0..=bounds::TRIGGERED_CRASHES_MAX
        => |config, count| config.fault_rates.triggered_crashes = count;
    /// Simulated clients.
    clients: u32 as Count in 1..=CLIENTS_MAX => |config, clients| config.workload.clients = clients;
    /// Distinct keys the clients share (few keys, much contention).
    keys: u32 as Count in 1..=KEYS_MAX => |config, keys| config.workload.keys = keys;
    /// Operations each client runs.
    ops_per_client: u32 as Count in 1..=OPS_PER_CLIENT_MAX
        => |config, ops| config.workload.ops_per_client = ops;
    /// Operations each client runs in the heal phase, after the others (at
    /// least one, so that every seed asks liveness of every client).
    heal_ops_per_client: u32 as Count in 1..=HEAL_OPS_PER_CLIENT_MAX
        => |config, ops| config.workload.heal_ops_per_client = ops;
    /// Nodes in the live core at the heal, clamped to each seed's cluster:
    /// at least its larger quorum, at most its size (7: a full heal).
    core_nodes: u8 as Count in 1..=NODES_MAX as u8 => drawn;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_knob_pinned() -> Pins {
        let mut pins = Pins::default();
        for knob in KNOBS {
            (knob.pin_sample)(&mut pins);
            assert!((knob.shown)(&pins).is_some(), "{} is pinned", knob.name);
        }
        pins
    }

    #[test]
    fn every_knob_reads_back_what_it_shows() {
        let pins = every_knob_pinned();
        let mut again = Pins::default();
        for knob in KNOBS {
            let text = (knob.shown)(&pins).unwrap();
            (knob.pin)(&mut again, &text).unwrap();
        }
        assert_eq!(again, pins);
        let names: Vec<&str> = KNOBS.iter().map(|knob| knob.name).collect();
        assert_eq!(names, NAMES);
    }

    #[test]
    fn every_knob_round_trips_through_a_pins_object() {
        #[derive(serde::Serialize, serde::Deserialize)]
        struct File {
            #[serde(with = "object")]
            pins: Pins,
        }
        let pins = every_knob_pinned();
        let text = serde_json::to_string(&File { pins: pins.clone() }).unwrap();
        let back: File = serde_json::from_str(&text).unwrap();
        assert_eq!(back.pins, pins, "{text}");
        assert!(text.contains(r#""drop":0.05"#), "{text}");
    }

    #[test]
    fn a_value_out_of_range_is_named() {
        let mut pins = Pins::default();
        let clients = KNOBS.iter().find(|knob| knob.name == "clients").unwrap();
        let error = (clients.pin)(&mut pins, "0").unwrap_err();
        assert_eq!(error, format!("clients is 0, expected 1..={CLIENTS_MAX}"));
        let drop = KNOBS.iter().find(|knob| knob.name == "drop").unwrap();
        assert!(
            (drop.pin)(&mut pins, "1.5")
                .unwrap_err()
                .starts_with("drop: ")
        );
        assert_eq!(pins, Pins::default(), "a rejected value pins nothing");
    }

    /// The pins `SimConfig::draw` reads while drawing: the cluster size, a
    /// quorum (which replaces the flexible pair), the delay range and the
    /// core's size.
    const READ_BY_THE_DRAW: [&str; 6] = [
        "nodes",
        "quorum_phase1",
        "quorum_phase2",
        "delay_us_min",
        "delay_us_max",
        "core_nodes",
    ];

    #[test]
    fn a_pinned_knob_changes_only_its_own_field() {
        for knob in KNOBS {
            let mut pins = Pins::default();
            (knob.pin_sample)(&mut pins);
            for seed in 0..50 {
                let drawn = SimConfig::draw(seed, &Pins::default());
                let mut pinned = SimConfig::draw(seed, &pins);
                let mut applied = drawn.clone();
                pins.apply(&mut applied);
                if READ_BY_THE_DRAW.contains(&knob.name) {
                    // The cluster, the network or the heal differs; nothing else.
                    pinned.network = drawn.network.clone();
                    pinned.cluster = drawn.cluster.clone();
                    pinned.heal = drawn.heal.clone();
                    assert_eq!(pinned, drawn, "{} (seed {seed})", knob.name);
                } else {
                    assert_eq!(pinned, applied, "{} (seed {seed})", knob.name);
                }
            }
        }
    }

    #[test]
    fn pins_are_checked_against_each_other() {
        let quorum = Pins {
            quorum_phase1: Some(2),
            ..Pins::default()
        };
        assert!(quorum.draw_checked(1).unwrap_err().contains("nodes"));
        let delays = Pins {
            delay_us_min: Some(20),
            delay_us_max: Some(10),
            ..Pins::default()
        };
        assert!(delays.draw_checked(1).unwrap_err().contains("delay_us_min"));
    }
}
