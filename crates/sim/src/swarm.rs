//! Swarm testing: one whole configuration drawn per seed, over the whole
//! space the core accepts.
//!
//! [`SimConfig::draw`] reads the swarm stream in one fixed order, one part
//! at a time: the cluster (size, mode, quorums), the network, the
//! protocol's timing (drawn against the network's delays), the chaos
//! phase and its fault rates, the workload, the heal core's size, and last
//! the operations each client runs in the heal phase (last, so that adding
//! it kept every earlier draw's value). Every
//! draw happens whether or not it is pinned, and most pins are written over
//! the drawn values at the end ([`Pins::apply`]), so a pin changes only its
//! own field. The few pins that shape later draws are read here: the
//! cluster size, a quorum (which replaces the drawn pair), the delay range
//! and the core's size (clamped to what the seed's cluster allows).
//!
//! The distribution (README, "Job 1"):
//! - nodes uniform in 1..=7, even sizes included; mode uniform;
//! - quorums: a majority for half the seeds; any intersecting pair
//!   (`q1 + q2 > n`, q1 below q2 included) for the other half, except
//!   that 2% of all seeds ask for a pair that need not intersect without
//!   `allow_unsafe_quorums`, which validation must refuse;
//! - timing: heartbeat, election timeout and jitter, retransmit and
//!   catch-up intervals, each kept sane against the others and against the
//!   (fast) network's delays;
//! - the network, faults and workload as before; the heal core's size
//!   uniform between the larger quorum and n; 1..=3 heal-phase operations
//!   per client.

use rand_chacha::ChaCha8Rng;

use paxos::{Config as ClusterConfig, Mode, Timing};

use crate::config::{Limits, Mix, NetworkConfig, SimConfig, WorkloadConfig};
use crate::disk::DiskConfig;
use crate::faults::FaultRates;
use crate::heal::HealPlan;
use crate::knobs::Pins;
use crate::rng::{self, Ppm, Stream, between, chance};
use crate::spec::quorum_sizes;

/// The largest cluster the swarm draws.
pub const NODES_DRAWN_MAX: u8 = 7;

/// The share of seeds that ask for quorums that need not intersect.
pub const UNSAFE_QUORUMS_PPM: Ppm = 20_000;

/// The share of the other seeds that run flexible quorums.
pub const FLEXIBLE_QUORUMS_PPM: Ppm = 500_000;

/// The share of seeds whose network is slow, WAN-like: its round trips
/// outlast the protocol's timeouts (proposers back off to cope).
pub const SLOW_NETWORK_PPM: Ppm = 100_000;

impl SimConfig {
    /// Swarm testing: the seed draws its own configuration, except what
    /// `pins` fixes (see the module doc for the order and the distribution).
    pub fn draw(seed: u64, pins: &Pins) -> SimConfig {
        let mut rng = rng::stream(seed, Stream::Swarm);
        let rng = &mut rng;
        let mut cluster = draw_cluster(rng, pins);
        let (network, fast_delay_us_max) = draw_network(rng, pins);
        cluster.timing = draw_timing(rng, fast_delay_us_max);
        let chaos_us = between(rng, 500_000, 4_000_000);
        let fault_rates = draw_fault_rates(rng);
        let mut workload = draw_workload(rng);
        let heal = draw_heal(rng, &cluster, pins);
        workload.heal_ops_per_client = between(rng, 1, 3) as u32;
        // The last draw, so that every earlier one keeps its value.
        let disk = draw_disk(rng);
        let mut config = SimConfig {
            seed,
            cluster,
            network,
            workload,
            chaos_us,
            heal_when_clients_done: true,
            fault_rates,
            faults: Vec::new(),
            disk,
            heal,
            limits: Limits::default(),
            schedule: Vec::new(),
        };
        pins.apply(&mut config);
        config
    }
}

/// Size, mode and quorums. A pinned quorum replaces the drawn pair (the
/// pin itself is applied after the draw).
fn draw_cluster(rng: &mut ChaCha8Rng, pins: &Pins) -> ClusterConfig {
    let nodes = pins
        .nodes
        .unwrap_or(between(rng, 1, u64::from(NODES_DRAWN_MAX)) as u8);
    let mode = Mode::ALL[between(rng, 0, Mode::ALL.len() as u64 - 1) as usize];
    let mut cluster = ClusterConfig::new(nodes, mode);
    let (quorum_phase1, quorum_phase2) = draw_quorums(rng, nodes);
    if pins.quorum_phase1.is_none() && pins.quorum_phase2.is_none() {
        cluster.quorum_phase1 = quorum_phase1;
        cluster.quorum_phase2 = quorum_phase2;
    }
    cluster
}

/// A majority (`None, None`), a flexible pair that intersects, or (a small
/// share) a pair that need not. Always the same five draws.
fn draw_quorums(rng: &mut ChaCha8Rng, nodes: u8) -> (Option<u8>, Option<u8>) {
    let n = u64::from(nodes);
    let unsafe_pair = chance(rng, UNSAFE_QUORUMS_PPM);
    let flexible = chance(rng, FLEXIBLE_QUORUMS_PPM);
    // An intersecting pair: any q1, then q2 with q1 + q2 > n.
    let phase1 = between(rng, 1, n);
    let phase2 = between(rng, n + 1 - phase1, n);
    // A pair that need not intersect: q1 + q2 <= n (none exists for n = 1).
    let disjoint1 = between(rng, 1, n.saturating_sub(1).max(1));
    let disjoint2 = between(rng, 1, n.saturating_sub(disjoint1).max(1));
    if unsafe_pair && nodes >= 2 {
        assert!(disjoint1 + disjoint2 <= n);
        (Some(disjoint1 as u8), Some(disjoint2 as u8))
    } else if flexible {
        assert!(phase1 + phase2 > n);
        (Some(phase1 as u8), Some(phase2 as u8))
    } else {
        (None, None)
    }
}

/// The delays, long tail, drops and duplicates. Also returns the longest
/// delay of the fast network the seed would have had, which the timing is
/// drawn against (a slow seed keeps timeouts its round trips outlast).
fn draw_network(rng: &mut ChaCha8Rng, pins: &Pins) -> (NetworkConfig, u64) {
    let slow = chance(rng, SLOW_NETWORK_PPM);
    let fast_delay_us_min = between(rng, 50, 1_000);
    let fast_spread_us = between(rng, 500, 20_000);
    let (delay_us_min, delay_spread_us) = if slow {
        (fast_delay_us_min * 20, fast_spread_us * 10)
    } else {
        (fast_delay_us_min, fast_spread_us)
    };
    let delay_us_min = pins.delay_us_min.unwrap_or(delay_us_min);
    // A pinned delay may be as large as a time may be: add within it.
    let delay_us_max = pins
        .delay_us_max
        .unwrap_or(add_us(delay_us_min, delay_spread_us))
        .max(delay_us_min);
    let tail_ppm = draw_rate(rng, 300_000, 1_000, 50_000);
    let network = NetworkConfig {
        delay_us_min,
        delay_us_max,
        tail_ppm,
        tail_delay_us_max: Some(add_us(delay_us_max, between(rng, 10_000, 200_000))),
        drop_ppm: draw_rate(rng, 250_000, 1_000, 100_000),
        duplicate_ppm: draw_rate(rng, 250_000, 1_000, 100_000),
    };
    (network, fast_delay_us_min + fast_spread_us)
}

/// The protocol's timing, sane against itself and the fast network: the
/// election timeout covers three heartbeats and a heartbeat's worst
/// lateness (two longest delays), and stays at most 150 ms, so that even
/// doubled `BACKOFF_DOUBLINGS_MAX` times, with its jitter, it is well
/// inside the liveness bound; the jitter is half to all of it; a
/// retransmit waits at least a round trip.
fn draw_timing(rng: &mut ChaCha8Rng, fast_delay_us_max: u64) -> Timing {
    let heartbeat_interval_us = between(rng, 5_000, 30_000);
    let election_floor_us =
        (3 * heartbeat_interval_us).max(heartbeat_interval_us + 2 * fast_delay_us_max);
    let election_timeout_us = between(rng, election_floor_us, election_floor_us.max(150_000));
    let election_jitter_us = between(rng, election_timeout_us / 2, election_timeout_us);
    let round_trip_us = (2 * fast_delay_us_max).max(5_000);
    let retransmit_interval_us = between(rng, round_trip_us, round_trip_us + 60_000);
    let catchup_interval_us = between(rng, 20_000, 100_000);
    Timing {
        heartbeat_interval_us,
        election_timeout_us,
        election_jitter_us,
        retransmit_interval_us,
        catchup_interval_us,
    }
}

fn draw_fault_rates(rng: &mut ChaCha8Rng) -> FaultRates {
    let crash_interval_us = draw_interval(rng, 250_000, 100_000, 2_000_000);
    let partition_interval_us = draw_interval(rng, 250_000, 100_000, 2_000_000);
    let pause_interval_us = draw_interval(rng, 400_000, 200_000, 3_000_000);
    let crash_down_us_max = between(rng, 10_000, 1_000_000);
    let partition_duration_us_max = between(rng, 10_000, 1_500_000);
    let pause_duration_us_max = between(rng, 10_000, 500_000);
    let triggered = chance(rng, 500_000);
    let triggered_crashes = between(rng, 1, 4) as u32;
    FaultRates {
        crash_interval_us,
        crash_down_us_max,
        partition_interval_us,
        partition_duration_us_max,
        pause_interval_us,
        pause_duration_us_max,
        triggered_crashes: if triggered { triggered_crashes } else { 0 },
    }
}

fn draw_workload(rng: &mut ChaCha8Rng) -> WorkloadConfig {
    let put_ppm = between(rng, 100_000, 600_000) as Ppm;
    let get_ppm = between(rng, 100_000, u64::from(900_000 - put_ppm)) as Ppm;
    WorkloadConfig {
        clients: between(rng, 1, 8) as u32,
        keys: between(rng, 1, 4) as u32,
        ops_per_client: between(rng, 5, 40) as u32,
        mix: Mix::put_get(put_ppm, get_ppm),
        think_us_max: between(rng, 0, 20_000),
        request_timeout_us: between(rng, 100_000, 400_000),
        attempts_max: between(rng, 2, 8) as u32,
        scripts: Vec::new(),
        // Drawn last of all, in `SimConfig::draw`.
        heal_ops_per_client: 0,
    }
}

/// The disk: writes durable after 20..=500 µs plus a spread of up to
/// 5 ms, a long tail (to 50 ms) on up to 5% of writes for most seeds; and
/// the storage faults, each off for a share of seeds: torn writes (off for
/// 30%, else 10%..=100% of crashes with a write in flight), corrupt records
/// and read errors at a restart (each off for 40%, else 5%..=50% of
/// restarts), within the fault atlas.
fn draw_disk(rng: &mut ChaCha8Rng) -> DiskConfig {
    let write_us_min = between(rng, 20, 500);
    let write_us_max = write_us_min + between(rng, 0, 5_000);
    DiskConfig {
        write_us_min,
        write_us_max,
        tail_ppm: draw_rate(rng, 300_000, 1_000, 50_000),
        tail_us_max: write_us_max + between(rng, 1_000, 50_000),
        torn_ppm: draw_rate(rng, 300_000, 100_000, 1_000_000),
        corrupt_ppm: draw_rate(rng, 400_000, 50_000, 500_000),
        read_error_ppm: draw_rate(rng, 400_000, 50_000, 500_000),
    }
}

/// The heal core's size: uniform between the larger quorum in force (pins
/// included) and the cluster's size. A pinned size is clamped into that
/// range, so one pin means the same for every cluster the seeds draw
/// (`--core-nodes 1`: the smallest core each allows; 7: a full heal).
fn draw_heal(rng: &mut ChaCha8Rng, cluster: &ClusterConfig, pins: &Pins) -> HealPlan {
    let mut quorums = cluster.clone();
    quorums.quorum_phase1 = pins.quorum_phase1.or(cluster.quorum_phase1);
    quorums.quorum_phase2 = pins.quorum_phase2.or(cluster.quorum_phase2);
    let (quorum_phase1, quorum_phase2) = quorum_sizes(&quorums);
    let nodes = cluster.nodes;
    let smallest = (quorum_phase1.max(quorum_phase2) as u8).clamp(1, nodes);
    let drawn = between(rng, u64::from(smallest), u64::from(nodes)) as u8;
    let size = pins
        .core_nodes
        .map_or(drawn, |pinned| pinned.clamp(smallest, nodes));
    HealPlan {
        core_nodes: (size < nodes).then_some(size),
        ..HealPlan::default()
    }
}

/// `a + b`, no larger than the largest time a configuration may hold.
fn add_us(a: u64, b: u64) -> u64 {
    a.saturating_add(b).min(crate::bounds::TIME_US_MAX)
}

/// Zero with probability `zero_ppm`, else uniform in `min..=max` ppm.
fn draw_rate(rng: &mut ChaCha8Rng, zero_ppm: Ppm, min: u64, max: u64) -> Ppm {
    let zero = chance(rng, zero_ppm);
    let rate = between(rng, min, max) as Ppm;
    if zero { 0 } else { rate }
}

/// Zero (off) with probability `zero_ppm`, else uniform in `min..=max` µs.
fn draw_interval(rng: &mut ChaCha8Rng, zero_ppm: Ppm, min: u64, max: u64) -> u64 {
    let zero = chance(rng, zero_ppm);
    let interval = between(rng, min, max);
    if zero { 0 } else { interval }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drawn(seeds: u64) -> Vec<SimConfig> {
        (0..seeds)
            .map(|seed| SimConfig::draw(seed, &Pins::default()))
            .collect()
    }

    #[test]
    fn every_size_and_every_kind_of_quorum_pair_is_drawn() {
        let configs = drawn(5_000);
        for nodes in 1..=NODES_DRAWN_MAX {
            assert!(
                configs.iter().any(|config| config.cluster.nodes == nodes),
                "{nodes} nodes never drawn"
            );
        }
        let pairs: Vec<(u8, usize, usize)> = configs
            .iter()
            .map(|config| {
                let (q1, q2) = quorum_sizes(&config.cluster);
                (config.cluster.nodes, q1, q2)
            })
            .collect();
        let smaller_first = pairs
            .iter()
            .filter(|(n, q1, q2)| q1 < q2 && q1 + q2 > usize::from(*n))
            .count();
        let disjoint = pairs
            .iter()
            .filter(|(n, q1, q2)| q1 + q2 <= usize::from(*n))
            .count();
        assert!(smaller_first > 200, "q1 < q2 drawn {smaller_first} times");
        // 2% of the seeds with two nodes or more: about 86 of 5,000.
        assert!((40..150).contains(&disjoint), "{disjoint} unsafe pairs");
        assert!(
            configs
                .iter()
                .all(|config| !config.cluster.allow_unsafe_quorums)
        );
    }

    #[test]
    fn timing_is_sane_and_the_core_holds_both_quorums() {
        for config in drawn(2_000) {
            let timing = config.cluster.timing;
            assert!(timing.election_timeout_us >= 3 * timing.heartbeat_interval_us);
            assert!(timing.election_timeout_us <= 150_000);
            assert!(timing.election_jitter_us <= timing.election_timeout_us);
            let (q1, q2) = quorum_sizes(&config.cluster);
            let size = usize::from(config.heal.size(config.cluster.nodes));
            assert!(size >= q1.max(q2).min(usize::from(config.cluster.nodes)));
            if q1 + q2 > usize::from(config.cluster.nodes) {
                config.validate().unwrap();
            }
        }
    }

    #[test]
    fn a_pinned_core_size_is_clamped_to_each_cluster() {
        for (pinned, seed) in [(1u8, 3u64), (7, 4), (1, 5), (7, 6)] {
            let pins = Pins {
                core_nodes: Some(pinned),
                ..Pins::default()
            };
            let config = SimConfig::draw(seed, &pins);
            let nodes = config.cluster.nodes;
            let (q1, q2) = quorum_sizes(&config.cluster);
            let expected = pinned.clamp((q1.max(q2) as u8).clamp(1, nodes), nodes);
            assert_eq!(config.heal.size(nodes), expected, "seed {seed}");
        }
    }
}
