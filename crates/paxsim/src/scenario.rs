//! Scenario files: one explicit, hand-editable configuration and the
//! outcome it must have.
//!
//! A scenario is a `sim::SimConfig` in that type's own serde form (its
//! attributes give the defaults `scenarios/README.md` documents, and
//! probabilities as floats in 0..=1), with a name, a description and the
//! expectation beside its fields at the top level. Nothing here mirrors a
//! configuration field: reading a scenario takes the keys it owns and hands
//! every other key to `SimConfig`'s deserializer, so a new configuration
//! field is one edit, in `sim`. Any `SimConfig` converts to a scenario and
//! back without loss, so a failing seed can be written out, edited and kept
//! as a regression.

use std::fmt;

use serde::de::value::MapAccessDeserializer;
use serde::de::{DeserializeSeed, Error as _, IntoDeserializer, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use sim::{ProbePoint, SimConfig};

use crate::outcome::Expect;

#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    pub config: SimConfig,
    pub expect: Expect,
    /// Probes the run must hit at least once, so that a scenario whose
    /// fault stops landing (after a change to the core) fails loudly
    /// instead of passing vacuously.
    pub expect_probes: Vec<ProbeName>,
}

/// The name of one of `sim::ProbePoint::ALL`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProbeName(pub &'static str);

impl Serialize for ProbeName {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for ProbeName {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<ProbeName, D::Error> {
        let name = String::deserialize(deserializer)?;
        let names: Vec<&'static str> = ProbePoint::ALL.iter().map(|probe| probe.name()).collect();
        names
            .iter()
            .find(|known| **known == name)
            .map(|known| ProbeName(known))
            .ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "unknown probe `{name}`, expected one of: {}",
                    names.join(", ")
                ))
            })
    }
}

impl Scenario {
    /// Write `config` out as a scenario, losslessly.
    pub fn from_config(
        name: &str,
        description: &str,
        config: &SimConfig,
        expect: Expect,
    ) -> Scenario {
        Scenario {
            name: name.to_string(),
            description: description.to_string(),
            config: config.clone(),
            expect,
            expect_probes: Vec::new(),
        }
    }

    /// The exact configuration, checked (`SimConfig::validate`, which
    /// bounds every number); an error names the field.
    pub fn to_config(&self) -> Result<SimConfig, String> {
        self.config.validate()?;
        Ok(self.config.clone())
    }
}

/// The scenario's own keys, in the order a written file lists them around
/// the configuration's.
impl Serialize for Scenario {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Written<'a> {
            name: &'a str,
            #[serde(skip_serializing_if = "str::is_empty")]
            description: &'a str,
            #[serde(flatten)]
            config: &'a SimConfig,
            expect: &'a Expect,
            #[serde(skip_serializing_if = "<[ProbeName]>::is_empty")]
            expect_probes: &'a [ProbeName],
        }
        Written {
            name: &self.name,
            description: &self.description,
            config: &self.config,
            expect: &self.expect,
            expect_probes: &self.expect_probes,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Scenario {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Scenario, D::Error> {
        deserializer.deserialize_map(ScenarioVisitor)
    }
}

struct ScenarioVisitor;

impl<'de> Visitor<'de> for ScenarioVisitor {
    type Value = Scenario;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a scenario object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Scenario, A::Error> {
        let mut own = OwnKeys::default();
        let config = SimConfig::deserialize(MapAccessDeserializer::new(ConfigKeys {
            map,
            own: &mut own,
        }))?;
        Ok(Scenario {
            name: own.name.ok_or_else(|| A::Error::missing_field("name"))?,
            description: own.description.unwrap_or_default(),
            config,
            expect: own
                .expect
                .ok_or_else(|| A::Error::missing_field("expect"))?,
            expect_probes: own.expect_probes.unwrap_or_default(),
        })
    }
}

/// The values of the keys a scenario adds to its configuration's.
#[derive(Default)]
struct OwnKeys {
    name: Option<String>,
    description: Option<String>,
    expect: Option<Expect>,
    expect_probes: Option<Vec<ProbeName>>,
}

/// A scenario's map as `SimConfig` sees it: the scenario's own keys are
/// read into `own` as they pass, and every other key goes on, so that
/// `SimConfig` reports an unknown one. Values are read from the file
/// itself, so errors keep their line, column and field path.
struct ConfigKeys<'a, A> {
    map: A,
    own: &'a mut OwnKeys,
}

impl<'de, A: MapAccess<'de>> ConfigKeys<'_, A> {
    fn take<T: Deserialize<'de>>(
        &mut self,
        slot: fn(&mut OwnKeys) -> &mut Option<T>,
        key: &'static str,
    ) -> Result<(), A::Error> {
        let value = self.map.next_value()?;
        let slot = slot(self.own);
        if slot.is_some() {
            return Err(A::Error::duplicate_field(key));
        }
        *slot = Some(value);
        Ok(())
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for ConfigKeys<'_, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        while let Some(key) = self.map.next_key::<String>()? {
            match key.as_str() {
                "name" => self.take(|own| &mut own.name, "name")?,
                "description" => self.take(|own| &mut own.description, "description")?,
                "expect" => self.take(|own| &mut own.expect, "expect")?,
                "expect_probes" => self.take(|own| &mut own.expect_probes, "expect_probes")?,
                "flaws" => {
                    return Err(A::Error::custom(
                        "flaws: a scenario lists its flaws in the cluster now, as \
                         cluster.flaws (\"cluster\": {\"nodes\": 3, \"mode\": \"leaderless\", \
                         \"flaws\": [\"no-client-dedup\"]})",
                    ));
                }
                // Only an unknown key fails here; serde's message lists
                // the configuration's keys, so add the scenario's.
                _ => {
                    return seed.deserialize(key.into_deserializer()).map(Some).map_err(
                        |error: A::Error| {
                            A::Error::custom(format!(
                                "{error}, or the scenario's own `name`, `description`, \
                                 `expect`, `expect_probes`"
                            ))
                        },
                    );
                }
            }
        }
        Ok(None)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.map.next_value_seed(seed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_drawn_config_round_trips_through_a_scenario_file() {
        let flaws: sim::Pins = sim::Pins {
            flaws: [paxos::Flaw::NoClientDedup].into_iter().collect(),
            ..sim::Pins::default()
        };
        for seed in 0..300 {
            let pins = if seed % 2 == 0 {
                sim::Pins::default()
            } else {
                flaws.clone()
            };
            let config = SimConfig::draw(seed, &pins);
            if sim::admission::refusal_expected(&config) {
                // Asks for quorums that need not intersect: not a valid file.
                assert!(config.validate().is_err(), "seed {seed}");
                continue;
            }
            let scenario = Scenario::from_config("drawn", "", &config, Expect("pass"));
            assert_eq!(scenario.to_config().as_ref(), Ok(&config), "seed {seed}");
            let text = serde_json::to_string_pretty(&scenario).unwrap();
            let back: Scenario = serde_json::from_str(&text).unwrap();
            assert_eq!(
                back.to_config().as_ref(),
                Ok(&config),
                "seed {seed} via JSON"
            );
        }
    }

    #[test]
    fn times_beyond_the_limit_are_named() {
        let config = SimConfig::draw(1, &sim::Pins::default());
        let mut scenario = Scenario::from_config("t", "", &config, Expect("pass"));
        scenario.config.faults.push(sim::ScheduledFault {
            trigger: sim::Trigger::At { time_us: 5 },
            action: sim::FaultAction::Crash {
                node: 0,
                down_us: Some(u64::MAX),
            },
            optional: false,
        });
        let error = scenario.to_config().unwrap_err();
        assert!(error.starts_with("faults[0].action.down_us is"), "{error}");
    }
}
