//! One place for bounds: the largest (and a few smallest) values every
//! numeric input of a run may take, and the check of a [`SimConfig`]
//! against them, which [`SimConfig::validate`] runs first.
//!
//! Whatever reaches a run — a scenario file, a corpus entry's pins, the
//! command line's flags, `export` — is validated, so with these bounds no
//! sum the simulator forms can overflow: every time and duration is at
//! most [`TIME_US_MAX`], so `now + delay`, even after the core's largest
//! backoff, stays far below `u64::MAX`. They also bound what a run holds
//! in memory: the random fault plan (at most `2 * CHAOS_US_MAX /
//! FAULT_INTERVAL_US_MIN` faults of each timed kind and at most
//! `TRIGGERED_CRASHES_MAX` triggered crashes, all drawn up front), the
//! explicit schedule and the scripts. Two limits bound what grows with a
//! run's length and end it as a `limit`: the events waiting in the queue
//! (`limits.queued_events_max`) and the slots in a node's log
//! (`limits.log_slots_max`, since the core keeps its whole log).

use paxos::Timing;

use crate::config::{HEAL_OPS_PER_CLIENT_MAX, OPS_PER_CLIENT_MAX, SimConfig};
use crate::faults::{FaultAction, Trigger};

/// The largest time or duration anywhere in a run's configuration, about
/// 31 years of virtual time.
pub const TIME_US_MAX: u64 = 1_000_000_000_000_000;

/// The longest chaos phase: 100 seconds of virtual time (the swarm draws
/// at most 4). With [`FAULT_INTERVAL_US_MIN`] it bounds the random plan.
pub const CHAOS_US_MAX: u64 = 100_000_000;

/// The shortest mean interval between random faults of one kind (0 turns
/// the kind off): a fault every 10 ms of virtual time. Each step of the
/// plan is at least half the interval, so one kind plans at most 20,000
/// faults over the longest chaos phase.
pub const FAULT_INTERVAL_US_MIN: u64 = 10_000;

/// The most explicit faults a configuration may schedule.
pub const FAULTS_MAX: usize = 10_000;

/// The most steps an exact schedule (`schedule`) may list.
pub const SCHEDULE_STEPS_MAX: usize = 100_000;

/// The most random message-triggered crashes (`fault_rates.
/// triggered_crashes`) the plan may draw; each is one fault, drawn up front.
pub const TRIGGERED_CRASHES_MAX: u32 = 16;

/// The largest `limits.steps_max` and `limits.linearizability_steps_max`.
pub const STEPS_MAX_LIMIT: u64 = 1_000_000_000;

/// The largest `limits.queued_events_max`.
pub const QUEUED_EVENTS_MAX_LIMIT: u64 = 10_000_000;

/// The largest `limits.log_slots_max`.
pub const LOG_SLOTS_MAX_LIMIT: u64 = 10_000_000;

/// `name` is a time or a duration in range.
pub fn time_us(name: &str, us: u64) -> Result<(), String> {
    if us > TIME_US_MAX {
        return Err(format!(
            "{name} is {us}, expected at most {TIME_US_MAX} (microseconds)"
        ));
    }
    Ok(())
}

/// `name` is a random fault's mean interval: 0 (off) or at least
/// [`FAULT_INTERVAL_US_MIN`].
pub fn fault_interval_us(name: &str, us: u64) -> Result<(), String> {
    if us != 0 && us < FAULT_INTERVAL_US_MIN {
        return Err(format!(
            "{name} is {us}, expected 0 (off) or {FAULT_INTERVAL_US_MIN}..={TIME_US_MAX} \
             (microseconds): a shorter interval would plan millions of faults"
        ));
    }
    time_us(name, us)
}

fn at_most(name: &str, value: u64, max: u64) -> Result<(), String> {
    if value > max {
        return Err(format!("{name} is {value}, expected at most {max}"));
    }
    Ok(())
}

fn positive(name: &str, value: u64) -> Result<(), String> {
    if value == 0 {
        return Err(format!("{name} is 0, expected at least 1"));
    }
    Ok(())
}

/// Check every bounded number of `config`; the message names the field.
pub(crate) fn check(config: &SimConfig) -> Result<(), String> {
    timing(&config.cluster.timing)?;
    let network = &config.network;
    time_us("network.delay_us_min", network.delay_us_min)?;
    time_us("network.delay_us_max", network.delay_us_max)?;
    if let Some(tail_us) = network.tail_delay_us_max {
        time_us("network.tail_delay_us_max", tail_us)?;
    }
    let workload = &config.workload;
    time_us("workload.think_us_max", workload.think_us_max)?;
    time_us("workload.request_timeout_us", workload.request_timeout_us)?;
    let script_ops_max = u64::from(OPS_PER_CLIENT_MAX) + u64::from(HEAL_OPS_PER_CLIENT_MAX);
    for (client, script) in workload.scripts.iter().enumerate() {
        at_most(
            &format!("workload.scripts[{client}] length"),
            script.len() as u64,
            script_ops_max,
        )?;
        for (index, op) in script.iter().enumerate() {
            if let Some(at_us) = op.at_us() {
                time_us(&format!("workload.scripts[{client}][{index}].at_us"), at_us)?;
            }
        }
    }
    at_most("chaos_us", config.chaos_us, CHAOS_US_MAX)?;
    let rates = &config.fault_rates;
    for (name, interval_us, duration_us) in [
        ("crash", rates.crash_interval_us, rates.crash_down_us_max),
        (
            "partition",
            rates.partition_interval_us,
            rates.partition_duration_us_max,
        ),
        (
            "pause",
            rates.pause_interval_us,
            rates.pause_duration_us_max,
        ),
    ] {
        fault_interval_us(&format!("fault_rates.{name}_interval_us"), interval_us)?;
        let duration_name = if name == "crash" {
            "fault_rates.crash_down_us_max".to_string()
        } else {
            format!("fault_rates.{name}_duration_us_max")
        };
        time_us(&duration_name, duration_us)?;
    }
    at_most(
        "fault_rates.triggered_crashes",
        u64::from(rates.triggered_crashes),
        u64::from(TRIGGERED_CRASHES_MAX),
    )?;
    at_most(
        "faults (their number)",
        config.faults.len() as u64,
        FAULTS_MAX as u64,
    )?;
    at_most(
        "schedule (its steps)",
        config.schedule.len() as u64,
        SCHEDULE_STEPS_MAX as u64,
    )?;
    for (index, fault) in config.faults.iter().enumerate() {
        if let Trigger::At { time_us: at } = fault.trigger {
            time_us(&format!("faults[{index}].when.time_us"), at)?;
        }
        let duration = match &fault.action {
            FaultAction::Crash { down_us, .. } => down_us.map(|us| ("down_us", us)),
            FaultAction::Partition { duration_us, .. } => duration_us.map(|us| ("duration_us", us)),
            FaultAction::Pause { duration_us, .. } => Some(("duration_us", *duration_us)),
            FaultAction::Restart { .. }
            | FaultAction::Heal
            | FaultAction::Corrupt { .. }
            | FaultAction::ReadError { .. } => None,
        };
        if let Some((field, us)) = duration {
            time_us(&format!("faults[{index}].action.{field}"), us)?;
        }
    }
    let limits = &config.limits;
    positive("limits.steps_max", limits.steps_max)?;
    at_most("limits.steps_max", limits.steps_max, STEPS_MAX_LIMIT)?;
    positive("limits.time_us_max", limits.time_us_max)?;
    time_us("limits.time_us_max", limits.time_us_max)?;
    positive("limits.liveness_us", limits.liveness_us)?;
    time_us("limits.liveness_us", limits.liveness_us)?;
    at_most(
        "limits.linearizability_steps_max",
        limits.linearizability_steps_max,
        STEPS_MAX_LIMIT,
    )?;
    positive("limits.queued_events_max", limits.queued_events_max)?;
    at_most(
        "limits.queued_events_max",
        limits.queued_events_max,
        QUEUED_EVENTS_MAX_LIMIT,
    )?;
    positive("limits.log_slots_max", limits.log_slots_max)?;
    at_most(
        "limits.log_slots_max",
        limits.log_slots_max,
        LOG_SLOTS_MAX_LIMIT,
    )
}

/// The core's timers: each a time in range (the core multiplies the
/// election timeout by at most 2^5 when backing off, far below overflow).
fn timing(timing: &Timing) -> Result<(), String> {
    for (name, us) in [
        ("heartbeat_interval_us", timing.heartbeat_interval_us),
        ("election_timeout_us", timing.election_timeout_us),
        ("election_jitter_us", timing.election_jitter_us),
        ("retransmit_interval_us", timing.retransmit_interval_us),
        ("catchup_interval_us", timing.catchup_interval_us),
    ] {
        time_us(&format!("cluster.timing.{name}"), us)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::knobs::Pins;

    /// An edit that breaks one bound, and how the error begins.
    type Case = (fn(&mut SimConfig), &'static str);

    fn drawn() -> SimConfig {
        SimConfig::draw(1, &Pins::default())
    }

    #[test]
    fn every_bound_names_its_field() {
        let cases: Vec<Case> = vec![
            (
                |c| c.network.delay_us_max = TIME_US_MAX + 1,
                "network.delay_us_max is",
            ),
            (
                |c| c.cluster.timing.election_jitter_us = u64::MAX,
                "cluster.timing.election_jitter_us",
            ),
            (|c| c.chaos_us = CHAOS_US_MAX + 1, "chaos_us is"),
            (
                |c| c.fault_rates.crash_interval_us = 1,
                "fault_rates.crash_interval_us is 1, expected 0 (off)",
            ),
            (
                |c| c.fault_rates.pause_duration_us_max = u64::MAX,
                "fault_rates.pause_duration_us_max",
            ),
            (|c| c.limits.steps_max = 0, "limits.steps_max is 0"),
            (
                |c| c.limits.queued_events_max = u64::MAX,
                "limits.queued_events_max is",
            ),
            (|c| c.limits.liveness_us = 0, "limits.liveness_us is 0"),
            (
                |c| c.fault_rates.triggered_crashes = TRIGGERED_CRASHES_MAX + 1,
                "fault_rates.triggered_crashes is 17",
            ),
        ];
        for (edit, needle) in cases {
            let mut config = drawn();
            edit(&mut config);
            let error = config.validate().unwrap_err();
            assert!(error.starts_with(needle), "{error} (expected {needle})");
        }
        let mut config = drawn();
        config.fault_rates.crash_interval_us = FAULT_INTERVAL_US_MIN;
        config.chaos_us = CHAOS_US_MAX;
        config.validate().unwrap();
    }

    #[test]
    fn the_plan_at_the_bounds_stays_bounded() {
        let mut config = drawn();
        config.chaos_us = CHAOS_US_MAX;
        config.fault_rates.crash_interval_us = FAULT_INTERVAL_US_MIN;
        config.fault_rates.partition_interval_us = FAULT_INTERVAL_US_MIN;
        config.fault_rates.pause_interval_us = FAULT_INTERVAL_US_MIN;
        config.validate().unwrap();
        let mut rng = crate::rng::stream(config.seed, crate::rng::Stream::Faults);
        let plan = crate::faults::plan(&mut rng, &config.fault_rates, 5, config.chaos_us);
        let bound = 3 * 2 * CHAOS_US_MAX / FAULT_INTERVAL_US_MIN;
        assert!(plan.len() as u64 <= bound, "{} faults planned", plan.len());
        // A huge interval cannot overflow the plan's arithmetic either.
        config.fault_rates.crash_interval_us = TIME_US_MAX;
        let plan = crate::faults::plan(&mut rng, &config.fault_rates, 5, config.chaos_us);
        assert!(plan.len() as u64 <= bound);
    }
}
