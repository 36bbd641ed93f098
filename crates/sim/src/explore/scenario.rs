//! A counterexample as the simulator's own configuration: the explored
//! cluster and scripts, and the schedule (`schedule_of`) that replays it
//! exactly in a schedule-driven run (`crate::schedule`).

use super::{Action, ExploreConfig, KEYS_MAX};
use crate::config::{Limits, Mix, NetworkConfig, SimConfig, WorkloadConfig};
use crate::faults::FaultRates;
use crate::heal::HealPlan;

/// Virtual time between sending a message and its earliest delivery in
/// the written configuration; with a schedule only the steps' order counts.
const DELAY_US: u64 = 1_000;

/// A configuration whose run follows `schedule` over `config`'s cluster
/// and scripts. Nothing random shapes it: no faults are drawn, the network
/// neither drops nor duplicates, and clients write plain values.
pub fn sim_config(config: &ExploreConfig, schedule: Vec<Action>) -> SimConfig {
    let clients = config.scripts.len() as u32;
    SimConfig {
        seed: 0,
        cluster: config.cluster.clone(),
        network: NetworkConfig {
            delay_us_min: DELAY_US,
            delay_us_max: DELAY_US,
            tail_ppm: 0,
            tail_delay_us_max: None,
            drop_ppm: 0,
            duplicate_ppm: 0,
        },
        workload: WorkloadConfig {
            clients,
            keys: KEYS_MAX,
            ops_per_client: 0,
            heal_ops_per_client: 0,
            mix: Mix::default_for_files(),
            think_us_max: 10_000,
            request_timeout_us: 200_000,
            // A client gives up only past the timeouts explore allows it.
            attempts_max: u32::from(config.budgets.client_retries) + 1,
            scripts: config.scripts.clone(),
        },
        chaos_us: 10_000_000,
        heal_when_clients_done: true,
        fault_rates: FaultRates::NONE,
        faults: Vec::new(),
        heal: HealPlan::default(),
        // Instant and fault-free, as explore's disk is: a write is durable
        // as it is made, so no event outside the schedule ever happens.
        disk: crate::disk::DiskConfig::default(),
        limits: Limits::default(),
        schedule,
    }
}
