//! proptest strategies that generate whole scenarios: configurations,
//! explicit fault schedules and scripted workloads. Users can write their
//! own property tests over the harness with them; proptest's shrinking then
//! reduces a failure to a small scenario on its own.
//!
//! Compiled only with the `proptest` feature (`sim = { features =
//! ["proptest"] }` in a dev-dependency), so that proptest never reaches a
//! release build of the command line.
//!
//! ```no_run
//! use proptest::prelude::*;
//! proptest! {
//!     #[test]
//!     fn every_scenario_passes(config in sim::strategies::scenario(paxos::Flaws::NONE)) {
//!         let report = sim::run(config).unwrap();
//!         prop_assert!(report.verdict.is_pass(), "{:?}", report.verdict);
//!     }
//! }
//! ```

use proptest::collection::vec;
use proptest::prelude::*;

use paxos::{Config as ClusterConfig, Flaws, Mode, NodeId};

use crate::config::{Limits, NetworkConfig, ScriptedOp, SimConfig, WorkloadConfig};
use crate::faults::{FaultAction, FaultRates, Partition, ScheduledFault, Trigger};

/// Longest chaos phase a generated scenario has.
pub const CHAOS_US_MAX: u64 = 2_000_000;

pub fn mode() -> impl Strategy<Value = Mode> {
    prop_oneof![Just(Mode::StableLeader), Just(Mode::Leaderless)]
}

/// A cluster of 3, 5 or 7 nodes with majority quorums and `flaws`.
pub fn cluster(flaws: Flaws) -> impl Strategy<Value = ClusterConfig> {
    (prop_oneof![Just(3u8), Just(5), Just(7)], mode()).prop_map(move |(nodes, mode)| {
        let mut config = ClusterConfig::new(nodes, mode);
        config.flaws = flaws;
        config
    })
}

/// Delays, tails, drops and duplicates; shrinks towards a calm network.
pub fn network() -> impl Strategy<Value = NetworkConfig> {
    (
        10u64..1_000,
        0u64..10_000,
        0u32..50_000,
        0u32..100_000,
        0u32..100_000,
    )
        .prop_map(
            |(delay_us_min, spread_us, tail_ppm, drop_ppm, duplicate_ppm)| {
                let delay_us_max = delay_us_min + spread_us;
                NetworkConfig {
                    delay_us_min,
                    delay_us_max,
                    tail_ppm,
                    tail_delay_us_max: Some(delay_us_max + 50_000),
                    drop_ppm,
                    duplicate_ppm,
                }
            },
        )
}

fn node(nodes: u8) -> impl Strategy<Value = NodeId> {
    0..nodes
}

/// One partition shape over `nodes` nodes.
pub fn partition(nodes: u8) -> impl Strategy<Value = Partition> {
    let all: Vec<NodeId> = (0..nodes).collect();
    prop_oneof![
        node(nodes).prop_map(|node| Partition::Isolate { node }),
        proptest::sample::subsequence(all.clone(), 1..=usize::from(nodes / 2))
            .prop_map(|side| Partition::Split { side }),
        (proptest::sample::subsequence(all.clone(), 1..usize::from(nodes))).prop_map(move |from| {
            let to = (0..nodes).filter(|node| !from.contains(node)).collect();
            Partition::OneWay { from, to }
        }),
        node(nodes).prop_map(move |bridge| {
            let rest: Vec<NodeId> = (0..nodes).filter(|node| *node != bridge).collect();
            let (left, right) = rest.split_at(rest.len() / 2);
            Partition::Bridge {
                bridge,
                left: left.to_vec(),
                right: right.to_vec(),
            }
        }),
    ]
}

/// One fault action on a `nodes`-node cluster.
pub fn fault_action(nodes: u8) -> impl Strategy<Value = FaultAction> {
    prop_oneof![
        (node(nodes), 1_000u64..500_000).prop_map(|(node, down_us)| FaultAction::Crash {
            node,
            down_us: Some(down_us),
        }),
        (partition(nodes), 1_000u64..800_000).prop_map(|(partition, duration_us)| {
            FaultAction::Partition {
                partition,
                duration_us: Some(duration_us),
            }
        }),
        (node(nodes), 1_000u64..300_000)
            .prop_map(|(node, duration_us)| FaultAction::Pause { node, duration_us }),
        Just(FaultAction::Heal),
    ]
}

/// An explicit schedule of timed faults within the chaos phase.
pub fn fault_schedule(nodes: u8, faults_max: usize) -> impl Strategy<Value = Vec<ScheduledFault>> {
    vec(
        (0..CHAOS_US_MAX, fault_action(nodes)).prop_map(|(time_us, action)| ScheduledFault {
            trigger: Trigger::At { time_us },
            action,
            optional: false,
        }),
        0..=faults_max,
    )
}

/// One scripted operation on `keys` keys.
pub fn scripted_op(keys: u32) -> impl Strategy<Value = ScriptedOp> {
    prop_oneof![
        (0..keys).prop_map(|key| ScriptedOp::Put {
            key,
            at_us: None,
            after_heal: false,
        }),
        (0..keys).prop_map(|key| ScriptedOp::Get {
            key,
            at_us: None,
            after_heal: false,
        }),
        (0..keys).prop_map(|key| ScriptedOp::Cas {
            key,
            expected_version: None,
            at_us: None,
            after_heal: false,
        }),
    ]
}

/// Scripted clients: 1..=4 clients of up to `ops_max` operations each.
pub fn workload(ops_max: usize) -> impl Strategy<Value = WorkloadConfig> {
    (1u32..=3)
        .prop_flat_map(move |keys| {
            (
                Just(keys),
                vec(vec(scripted_op(keys), 0..=ops_max), 1..=4),
                0u64..20_000,
            )
        })
        .prop_map(|(keys, scripts, think_us_max)| WorkloadConfig {
            clients: scripts.len() as u32,
            keys,
            ops_per_client: 0,
            heal_ops_per_client: 0,
            mix: crate::Mix::put_get(400_000, 300_000),
            think_us_max,
            request_timeout_us: 200_000,
            attempts_max: 4,
            scripts,
        })
}

/// A whole scenario: seed, cluster with `flaws`, network, an explicit fault
/// schedule and scripted clients. No random faults: everything that goes
/// wrong is in the schedule, so proptest can shrink it.
pub fn scenario(flaws: Flaws) -> impl Strategy<Value = SimConfig> {
    (cluster(flaws), any::<u64>())
        .prop_flat_map(|(cluster, seed)| {
            let nodes = cluster.nodes;
            (
                Just(cluster),
                Just(seed),
                network(),
                fault_schedule(nodes, 8),
                workload(12),
                100_000..CHAOS_US_MAX,
            )
        })
        .prop_map(
            |(cluster, seed, network, faults, workload, chaos_us)| SimConfig {
                seed,
                cluster,
                network,
                chaos_us,
                heal_when_clients_done: true,
                fault_rates: FaultRates::NONE,
                faults,
                workload,
                disk: crate::disk::DiskConfig::default(),
                heal: crate::heal::HealPlan::default(),
                limits: Limits::default(),
                schedule: Vec::new(),
            },
        )
}
