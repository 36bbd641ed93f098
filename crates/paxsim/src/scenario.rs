//! Scenario files: one explicit, hand-editable configuration and the
//! outcome it must have.
//!
//! A scenario converts to a `sim::SimConfig` exactly, and any `SimConfig`
//! converts back ([`Scenario::from_config`]) without loss, so a failing
//! seed can be written out, edited and kept as a regression. The format
//! differs from `SimConfig` only where people read it: probabilities are
//! floats in 0..=1 (`drop: 0.05`) instead of ppm, flaws sit at the top,
//! and most fields have defaults (documented in `scenarios/README.md`).

use serde::{Deserialize, Serialize};

use paxos::{Flaw, Mode, Timing};
use sim::{
    FaultRates, Limits, NetworkConfig, ProbePoint, ScheduledFault, ScriptedOp, SimConfig,
    WorkloadConfig,
};

use crate::outcome::Expect;
use crate::pins::{CLIENTS_MAX, KEYS_MAX, OPS_PER_CLIENT_MAX};
use crate::units::{ppm_to_probability, probability_to_ppm};

/// No time or duration in a scenario may exceed this (about 31 years of
/// virtual time), so that the simulator's sums of times cannot overflow.
pub const TIME_US_LIMIT: u64 = 1_000_000_000_000_000;

/// The workload defaults for fields a scenario leaves out.
pub const MIX_DEFAULT: Mix = Mix {
    put: 0.4,
    get: 0.4,
    cas: 0.2,
};
pub const THINK_US_MAX_DEFAULT: u64 = 10_000;
pub const REQUEST_TIMEOUT_US_DEFAULT: u64 = 200_000;
pub const ATTEMPTS_MAX_DEFAULT: u32 = 4;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    pub seed: u64,
    pub cluster: ClusterSpec,
    pub network: NetworkSpec,
    pub workload: WorkloadSpec,
    /// How long random and timed faults may strike before the heal phase.
    pub chaos_us: u64,
    /// Heal as soon as every client is done instead of at `chaos_us`.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub heal_when_clients_done: bool,
    /// Random faults drawn from the seed; absent means none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault_rates: Option<FaultRates>,
    #[serde(default)]
    pub faults: Vec<ScheduledFault>,
    #[serde(default)]
    pub flaws: Vec<Flaw>,
    #[serde(default, skip_serializing_if = "LimitsSpec::is_default")]
    pub limits: LimitsSpec,
    pub expect: Expect,
    /// Probes the run must hit at least once, so that a scenario whose
    /// fault stops landing (after a change to the core) fails loudly
    /// instead of passing vacuously.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
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

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSpec {
    pub nodes: u8,
    pub mode: Mode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quorum_phase1: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quorum_phase2: Option<u8>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub allow_unsafe_quorums: bool,
    #[serde(default, skip_serializing_if = "TimingSpec::is_default")]
    pub timing: TimingSpec,
}

/// `paxos::Timing`, each field defaulting to `Timing::default()`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimingSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat_interval_us: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub election_timeout_us: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub election_jitter_us: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retransmit_interval_us: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catchup_interval_us: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSpec {
    pub delay_us_min: u64,
    pub delay_us_max: u64,
    /// Probability that a message takes the long tail [default 0].
    #[serde(default, skip_serializing_if = "is_zero")]
    pub tail: f64,
    /// [default: delay_us_max]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tail_delay_us_max: Option<u64>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub drop: f64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub duplicate: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadSpec {
    pub clients: u32,
    pub keys: u32,
    pub ops_per_client: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mix: Option<Mix>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub think_us_max: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_timeout_us: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts_max: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scripts: Vec<Vec<ScriptedOp>>,
}

/// The operation mix; the three must sum to 1.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mix {
    pub put: f64,
    pub get: f64,
    pub cas: f64,
}

/// `sim::Limits`, each field defaulting to `Limits::default()`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps_max: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_us_max: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liveness_us: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linearizability_steps_max: Option<u64>,
}

fn is_false(value: &bool) -> bool {
    !*value
}

fn is_true(value: &bool) -> bool {
    *value
}

fn yes() -> bool {
    true
}

fn is_zero(value: &f64) -> bool {
    *value == 0.0
}

/// `Some(value)` unless it equals the default, for writing files that
/// show only what differs.
fn unless_default<T: PartialEq>(value: T, default: T) -> Option<T> {
    (value != default).then_some(value)
}

impl TimingSpec {
    fn is_default(&self) -> bool {
        *self == TimingSpec::default()
    }

    fn to_timing(&self) -> Timing {
        let default = Timing::default();
        Timing {
            heartbeat_interval_us: self
                .heartbeat_interval_us
                .unwrap_or(default.heartbeat_interval_us),
            election_timeout_us: self
                .election_timeout_us
                .unwrap_or(default.election_timeout_us),
            election_jitter_us: self
                .election_jitter_us
                .unwrap_or(default.election_jitter_us),
            retransmit_interval_us: self
                .retransmit_interval_us
                .unwrap_or(default.retransmit_interval_us),
            catchup_interval_us: self
                .catchup_interval_us
                .unwrap_or(default.catchup_interval_us),
        }
    }

    fn from_timing(timing: &Timing) -> TimingSpec {
        let default = Timing::default();
        TimingSpec {
            heartbeat_interval_us: unless_default(
                timing.heartbeat_interval_us,
                default.heartbeat_interval_us,
            ),
            election_timeout_us: unless_default(
                timing.election_timeout_us,
                default.election_timeout_us,
            ),
            election_jitter_us: unless_default(
                timing.election_jitter_us,
                default.election_jitter_us,
            ),
            retransmit_interval_us: unless_default(
                timing.retransmit_interval_us,
                default.retransmit_interval_us,
            ),
            catchup_interval_us: unless_default(
                timing.catchup_interval_us,
                default.catchup_interval_us,
            ),
        }
    }
}

impl LimitsSpec {
    fn is_default(&self) -> bool {
        *self == LimitsSpec::default()
    }

    fn to_limits(&self) -> Limits {
        let default = Limits::default();
        Limits {
            steps_max: self.steps_max.unwrap_or(default.steps_max),
            time_us_max: self.time_us_max.unwrap_or(default.time_us_max),
            liveness_us: self.liveness_us.unwrap_or(default.liveness_us),
            linearizability_steps_max: self
                .linearizability_steps_max
                .unwrap_or(default.linearizability_steps_max),
        }
    }

    fn from_limits(limits: &Limits) -> LimitsSpec {
        let default = Limits::default();
        LimitsSpec {
            steps_max: unless_default(limits.steps_max, default.steps_max),
            time_us_max: unless_default(limits.time_us_max, default.time_us_max),
            liveness_us: unless_default(limits.liveness_us, default.liveness_us),
            linearizability_steps_max: unless_default(
                limits.linearizability_steps_max,
                default.linearizability_steps_max,
            ),
        }
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
        let cluster = &config.cluster;
        let network = &config.network;
        let workload = &config.workload;
        let put_ppm = workload.put_ppm;
        let get_ppm = workload.get_ppm;
        let cas_ppm = sim::rng::PPM_ONE - put_ppm - get_ppm;
        Scenario {
            name: name.to_string(),
            description: description.to_string(),
            seed: config.seed,
            cluster: ClusterSpec {
                nodes: cluster.nodes,
                mode: cluster.mode,
                quorum_phase1: cluster.quorum_phase1,
                quorum_phase2: cluster.quorum_phase2,
                allow_unsafe_quorums: cluster.allow_unsafe_quorums,
                timing: TimingSpec::from_timing(&cluster.timing),
            },
            network: NetworkSpec {
                delay_us_min: network.delay_us_min,
                delay_us_max: network.delay_us_max,
                tail: ppm_to_probability(network.tail_ppm),
                tail_delay_us_max: unless_default(network.tail_delay_us_max, network.delay_us_max),
                drop: ppm_to_probability(network.drop_ppm),
                duplicate: ppm_to_probability(network.duplicate_ppm),
            },
            workload: WorkloadSpec {
                clients: workload.clients,
                keys: workload.keys,
                ops_per_client: workload.ops_per_client,
                mix: Some(Mix {
                    put: ppm_to_probability(put_ppm),
                    get: ppm_to_probability(get_ppm),
                    cas: ppm_to_probability(cas_ppm),
                }),
                think_us_max: Some(workload.think_us_max),
                request_timeout_us: Some(workload.request_timeout_us),
                attempts_max: Some(workload.attempts_max),
                scripts: workload.scripts.clone(),
            },
            chaos_us: config.chaos_us,
            heal_when_clients_done: config.heal_when_clients_done,
            fault_rates: unless_default(config.fault_rates.clone(), FaultRates::NONE),
            faults: config.faults.clone(),
            flaws: cluster.flaws.iter().collect(),
            limits: LimitsSpec::from_limits(&config.limits),
            expect,
            expect_probes: Vec::new(),
        }
    }

    /// The exact configuration, checked; an error names the field.
    pub fn to_config(&self) -> Result<SimConfig, String> {
        self.check_times()?;
        let cluster = self.cluster_config()?;
        let network = self.network_config()?;
        let workload = self.workload_config()?;
        let config = SimConfig {
            seed: self.seed,
            cluster,
            network,
            chaos_us: self.chaos_us,
            heal_when_clients_done: self.heal_when_clients_done,
            fault_rates: self.fault_rates.clone().unwrap_or(FaultRates::NONE),
            faults: self.faults.clone(),
            workload,
            limits: self.limits.to_limits(),
        };
        config.validate()?;
        Ok(config)
    }

    fn cluster_config(&self) -> Result<paxos::Config, String> {
        let spec = &self.cluster;
        let cluster = paxos::Config {
            nodes: spec.nodes,
            mode: spec.mode,
            quorum_phase1: spec.quorum_phase1,
            quorum_phase2: spec.quorum_phase2,
            allow_unsafe_quorums: spec.allow_unsafe_quorums,
            timing: spec.timing.to_timing(),
            flaws: self.flaws.iter().copied().collect(),
        };
        cluster
            .validate()
            .map_err(|error| format!("cluster.{}: {error}", error.field()))?;
        Ok(cluster)
    }

    fn network_config(&self) -> Result<NetworkConfig, String> {
        let spec = &self.network;
        let ppm = |field: &str, value: f64| {
            probability_to_ppm(value).map_err(|error| format!("network.{field}: {error}"))
        };
        Ok(NetworkConfig {
            delay_us_min: spec.delay_us_min,
            delay_us_max: spec.delay_us_max,
            tail_ppm: ppm("tail", spec.tail)?,
            tail_delay_us_max: spec.tail_delay_us_max.unwrap_or(spec.delay_us_max),
            drop_ppm: ppm("drop", spec.drop)?,
            duplicate_ppm: ppm("duplicate", spec.duplicate)?,
        })
    }

    fn workload_config(&self) -> Result<WorkloadConfig, String> {
        let spec = &self.workload;
        for (field, value, max) in [
            ("clients", spec.clients, CLIENTS_MAX),
            ("keys", spec.keys, KEYS_MAX),
            ("ops_per_client", spec.ops_per_client, OPS_PER_CLIENT_MAX),
        ] {
            if value > max {
                return Err(format!(
                    "workload.{field} is {value}, expected at most {max}"
                ));
            }
        }
        let mix = spec.mix.unwrap_or(MIX_DEFAULT);
        let ppm = |field: &str, value: f64| {
            probability_to_ppm(value).map_err(|error| format!("workload.mix.{field}: {error}"))
        };
        let put_ppm = ppm("put", mix.put)?;
        let get_ppm = ppm("get", mix.get)?;
        let cas_ppm = ppm("cas", mix.cas)?;
        if put_ppm + get_ppm + cas_ppm != sim::rng::PPM_ONE {
            return Err(format!(
                "workload.mix: put + get + cas is {}, expected 1",
                mix.put + mix.get + mix.cas
            ));
        }
        Ok(WorkloadConfig {
            clients: spec.clients,
            keys: spec.keys,
            ops_per_client: spec.ops_per_client,
            put_ppm,
            get_ppm,
            think_us_max: spec.think_us_max.unwrap_or(THINK_US_MAX_DEFAULT),
            request_timeout_us: spec
                .request_timeout_us
                .unwrap_or(REQUEST_TIMEOUT_US_DEFAULT),
            attempts_max: spec.attempts_max.unwrap_or(ATTEMPTS_MAX_DEFAULT),
            scripts: spec.scripts.clone(),
        })
    }

    /// Every field whose name ends in `_us` (or `_us_min`, `_us_max`) is a
    /// time or a duration and must stay below [`TIME_US_LIMIT`].
    fn check_times(&self) -> Result<(), String> {
        let value = serde_json::to_value(self).expect("a scenario always serializes");
        check_times_in(&value, "")
    }
}

fn check_times_in(value: &serde_json::Value, path: &str) -> Result<(), String> {
    match value {
        serde_json::Value::Object(fields) => {
            for (name, field) in fields {
                let field_path = if path.is_empty() {
                    name.clone()
                } else {
                    format!("{path}.{name}")
                };
                let is_time = name.ends_with("_us") || name.contains("_us_");
                if is_time
                    && let Some(time_us) = field.as_u64()
                    && time_us > TIME_US_LIMIT
                {
                    return Err(format!(
                        "{field_path} is {time_us}, expected at most {TIME_US_LIMIT} (microseconds)"
                    ));
                }
                check_times_in(field, &field_path)?;
            }
            Ok(())
        }
        serde_json::Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                check_times_in(item, &format!("{path}[{index}]"))?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_drawn_config_round_trips_through_a_scenario_file() {
        let flaws: sim::Pins = sim::Pins {
            flaws: [Flaw::NoClientDedup].into_iter().collect(),
            ..sim::Pins::default()
        };
        for seed in 0..300 {
            let pins = if seed % 2 == 0 {
                sim::Pins::default()
            } else {
                flaws.clone()
            };
            let config = SimConfig::draw(seed, &pins);
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
        scenario.faults.push(ScheduledFault {
            trigger: sim::Trigger::At { time_us: 5 },
            action: sim::FaultAction::Crash {
                node: 0,
                down_us: Some(u64::MAX),
            },
        });
        let error = scenario.to_config().unwrap_err();
        assert!(error.starts_with("faults[0].action.down_us is"), "{error}");
    }
}
