//! Faults: what can go wrong, when it strikes, and the random fault plan.
//!
//! A run's faults are an explicit list of [`ScheduledFault`]s. Random faults
//! (swarm testing) are drawn up front from the fault stream into that same
//! list, so a failing seed's faults can be written out, edited and shrunk
//! like any hand-written schedule: crashes, partitions and pauses at random
//! times, and crashes at a protocol moment (a node's n-th send of a kind, an
//! acceptance in a slot), which a timed crash almost never lands on.
//!
//! The fault stream's draws come in one fixed order ([`draw`]): the heal
//! core first, then the plan.

use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use paxos::NodeId;

use crate::config::SimConfig;
use crate::heal::{self, HealCore};
use crate::rng::{self, Stream, between};

/// A network partition. Links are directed; a symmetric shape cuts both
/// directions of every link between its sides.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "shape", deny_unknown_fields)]
pub enum Partition {
    /// Cut one node off from every other node, both ways.
    Isolate { node: NodeId },
    /// Split the cluster: `side` on one side, everyone else on the other.
    Split { side: Vec<NodeId> },
    /// `bridge` sees both `left` and `right`; they do not see each other.
    Bridge {
        bridge: NodeId,
        left: Vec<NodeId>,
        right: Vec<NodeId>,
    },
    /// One-way cut: messages from any of `from` to any of `to` are lost;
    /// the other direction still works.
    OneWay { from: Vec<NodeId>, to: Vec<NodeId> },
    /// Arbitrary groups: only nodes in the same group talk.
    Groups { groups: Vec<Vec<NodeId>> },
}

impl Partition {
    /// Every node the shape names.
    pub fn nodes(&self) -> Vec<NodeId> {
        match self {
            Partition::Isolate { node } => vec![*node],
            Partition::Split { side } => side.clone(),
            Partition::Bridge {
                bridge,
                left,
                right,
            } => std::iter::once(*bridge)
                .chain(left.iter().copied())
                .chain(right.iter().copied())
                .collect(),
            Partition::OneWay { from, to } => from.iter().chain(to).copied().collect(),
            Partition::Groups { groups } => groups.iter().flatten().copied().collect(),
        }
    }

    /// The directed links `(from, to)` this shape cuts in an `nodes`-node cluster.
    pub fn cut_links(&self, nodes: u8) -> Vec<(NodeId, NodeId)> {
        let all = 0..nodes;
        let mut links = Vec::new();
        let cut_both = |a: NodeId, b: NodeId, links: &mut Vec<(NodeId, NodeId)>| {
            links.push((a, b));
            links.push((b, a));
        };
        match self {
            Partition::Isolate { node } => {
                for other in all.filter(|other| other != node) {
                    cut_both(*node, other, &mut links);
                }
            }
            Partition::Split { side } => {
                for a in side {
                    for b in all.clone().filter(|b| !side.contains(b)) {
                        cut_both(*a, b, &mut links);
                    }
                }
            }
            Partition::Bridge { left, right, .. } => {
                for a in left {
                    for b in right {
                        cut_both(*a, *b, &mut links);
                    }
                }
            }
            Partition::OneWay { from, to } => {
                for a in from {
                    for b in to {
                        if a != b {
                            links.push((*a, *b));
                        }
                    }
                }
            }
            Partition::Groups { groups } => {
                let group_of = |node: NodeId| groups.iter().position(|g| g.contains(&node));
                for a in all.clone() {
                    for b in all.clone() {
                        if a != b && group_of(a) != group_of(b) {
                            links.push((a, b));
                        }
                    }
                }
            }
        }
        links.sort_unstable();
        links.dedup();
        links
    }

    /// A shape must cut something and name each node once.
    pub fn validate(&self, nodes: u8) -> Result<(), String> {
        let named = self.nodes();
        let mut sorted = named.clone();
        sorted.sort_unstable();
        sorted.dedup();
        if sorted.len() != named.len() {
            return Err(format!("{} names a node twice: {named:?}", self.name()));
        }
        if let Some(node) = named.iter().find(|node| **node >= nodes) {
            return Err(format!(
                "node {node} does not exist in a {nodes}-node cluster (nodes are 0..={})",
                nodes.saturating_sub(1)
            ));
        }
        let empty = match self {
            Partition::Isolate { .. } => false,
            Partition::Split { side } => side.is_empty() || side.len() == usize::from(nodes),
            Partition::Bridge { left, right, .. } => left.is_empty() || right.is_empty(),
            Partition::OneWay { from, to } => from.is_empty() || to.is_empty(),
            Partition::Groups { groups } => groups.iter().filter(|g| !g.is_empty()).count() < 2,
        };
        if empty {
            return Err(format!(
                "{} cuts no link: every side needs at least one node",
                self.name()
            ));
        }
        Ok(())
    }

    pub fn name(&self) -> &'static str {
        match self {
            Partition::Isolate { .. } => "isolate",
            Partition::Split { .. } => "split",
            Partition::Bridge { .. } => "bridge",
            Partition::OneWay { .. } => "one-way",
            Partition::Groups { .. } => "groups",
        }
    }
}

/// What a fault does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "fault", deny_unknown_fields)]
pub enum FaultAction {
    /// Crash `node`: it loses its volatile state and pending timers and keeps
    /// its durable state. It restarts after `down_us`, or when the heal
    /// phase begins if `down_us` is absent.
    Crash {
        node: NodeId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        down_us: Option<u64>,
    },
    /// Restart `node` now, if it is down.
    Restart { node: NodeId },
    /// Cut links. Replaces any partition in force. Heals after
    /// `duration_us`, or when the heal phase begins if absent.
    Partition {
        partition: Partition,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        duration_us: Option<u64>,
    },
    /// Restore every link.
    Heal,
    /// Stop `node` from handling anything for `duration_us`: its messages
    /// and timers wait and are handled late, all at once.
    Pause { node: NodeId, duration_us: u64 },
}

impl FaultAction {
    pub fn name(&self) -> &'static str {
        match self {
            FaultAction::Crash { .. } => "crash",
            FaultAction::Restart { .. } => "restart",
            FaultAction::Partition { .. } => "partition",
            FaultAction::Heal => "heal",
            FaultAction::Pause { .. } => "pause",
        }
    }

    /// Every node the action names, for validation.
    pub fn nodes(&self) -> Vec<NodeId> {
        match self {
            FaultAction::Crash { node, .. }
            | FaultAction::Restart { node }
            | FaultAction::Pause { node, .. } => vec![*node],
            FaultAction::Partition { partition, .. } => partition.nodes(),
            FaultAction::Heal => Vec::new(),
        }
    }
}

/// When a scheduled fault fires.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind", deny_unknown_fields)]
pub enum Trigger {
    /// At a virtual time.
    At { time_us: u64 },
    /// Right after `node` sends its `nth` (from 1) message of kind `message`
    /// (`Prepare`, `Accept`, `Accepted`, ...).
    OnSend {
        node: NodeId,
        message: String,
        #[serde(default = "one")]
        nth: u32,
    },
    /// Right after `node`, as an acceptor, accepts a value in `slot`.
    OnAccept { node: NodeId, slot: u64 },
}

fn one() -> u32 {
    1
}

/// The message kinds a trigger may name.
pub const MESSAGE_KINDS: [&str; 9] = [
    "Prepare",
    "Promise",
    "Nack",
    "Accept",
    "Accepted",
    "Decide",
    "Heartbeat",
    "CatchupRequest",
    "CatchupReply",
];

/// A fault and when it fires: `{"when": {...}, "action": {...}}`.
///
/// A run reports every explicit fault that never fired (its time came
/// after the heal or after the run's end, its trigger never matched): a
/// regression whose fault no longer fires has lost its purpose, so a
/// scenario with one fails, unless the fault is marked `optional`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduledFault {
    #[serde(rename = "when")]
    pub trigger: Trigger,
    pub action: FaultAction,
    /// The scenario means it if it fires and does not mind if it does not.
    #[serde(default, skip_serializing_if = "is_false")]
    pub optional: bool,
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// Rates of random faults during the chaos phase. A zero interval turns
/// that kind off.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRates {
    /// Mean time between crashes.
    pub crash_interval_us: u64,
    /// A crashed node stays down up to this long.
    pub crash_down_us_max: u64,
    /// Mean time between partitions.
    pub partition_interval_us: u64,
    /// A partition lasts up to this long.
    pub partition_duration_us_max: u64,
    /// Mean time between pauses.
    pub pause_interval_us: u64,
    /// A pause lasts up to this long.
    pub pause_duration_us_max: u64,
    /// Crashes armed on a protocol moment, besides the timed ones: each
    /// crashes a node right after its n-th send of one kind (Prepare,
    /// Promise, Accept, Accepted, Decide) or its acceptance in a slot, and
    /// restarts it after up to `crash_down_us_max`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub triggered_crashes: u32,
}

fn is_zero(count: &u32) -> bool {
    *count == 0
}

impl FaultRates {
    pub const NONE: FaultRates = FaultRates {
        crash_interval_us: 0,
        crash_down_us_max: 0,
        partition_interval_us: 0,
        partition_duration_us_max: 0,
        pause_interval_us: 0,
        pause_duration_us_max: 0,
        triggered_crashes: 0,
    };
}

/// The message kinds a random triggered crash may wait for: the protocol's
/// own steps, where a crash in between is what recovery must survive.
pub const TRIGGER_KINDS: [&str; 5] = ["Prepare", "Promise", "Accept", "Accepted", "Decide"];

/// The largest slot a random `OnAccept` crash waits for.
pub const TRIGGER_SLOT_MAX: u64 = 15;

/// Everything a run draws from its fault stream, in the stream's order.
pub struct FaultDraws {
    pub heal: HealCore,
    /// The random faults, in the order they are armed or scheduled.
    pub planned: Vec<ScheduledFault>,
}

/// The fault stream of `config`'s seed, drawn in its one fixed order: the
/// heal core, then the random plan. The driver and the shrinker both call
/// this, so a materialized run draws exactly what the seed drew.
pub fn draw(config: &SimConfig) -> FaultDraws {
    let mut rng = rng::stream(config.seed, Stream::Faults);
    let nodes = config.cluster.nodes;
    let heal = heal::draw_core(&mut rng, &config.heal, nodes);
    let planned = plan(&mut rng, &config.fault_rates, nodes, config.chaos_us);
    FaultDraws { heal, planned }
}

/// Draws one random fault action.
type DrawAction<'a> = dyn Fn(&mut ChaCha8Rng) -> FaultAction + 'a;

/// Draw the random faults of a chaos phase of `chaos_us`: the timed ones
/// in time order, then the triggered crashes. Each kind is its own
/// process, drawn in a fixed order from `rng`.
pub fn plan(
    rng: &mut ChaCha8Rng,
    rates: &FaultRates,
    nodes: u8,
    chaos_us: u64,
) -> Vec<ScheduledFault> {
    let mut faults = Vec::new();
    let processes: [(u64, &DrawAction); 3] = [
        (rates.crash_interval_us, &|rng| FaultAction::Crash {
            node: between(rng, 0, u64::from(nodes) - 1) as NodeId,
            down_us: Some(between(rng, 1_000, rates.crash_down_us_max.max(1_000))),
        }),
        (rates.partition_interval_us, &|rng| FaultAction::Partition {
            partition: draw_partition(rng, nodes),
            duration_us: Some(between(
                rng,
                1_000,
                rates.partition_duration_us_max.max(1_000),
            )),
        }),
        (rates.pause_interval_us, &|rng| FaultAction::Pause {
            node: between(rng, 0, u64::from(nodes) - 1) as NodeId,
            duration_us: between(rng, 1_000, rates.pause_duration_us_max.max(1_000)),
        }),
    ];
    for (index, (interval_us, draw)) in processes.into_iter().enumerate() {
        // A one-node cluster has no link to cut.
        let partition_impossible = index == 1 && nodes < 2;
        if interval_us == 0 || partition_impossible {
            continue;
        }
        let mut time_us: u64 = 0;
        loop {
            // Saturating: an interval may be as large as a time may be.
            let step_us = between(rng, interval_us / 2, interval_us.saturating_mul(3) / 2);
            time_us = time_us.saturating_add(step_us.max(1));
            if time_us >= chaos_us {
                break;
            }
            faults.push(ScheduledFault {
                trigger: Trigger::At { time_us },
                action: draw(rng),
                optional: false,
            });
        }
    }
    faults.sort_by_key(|fault| match fault.trigger {
        Trigger::At { time_us } => time_us,
        _ => unreachable!("the timed processes draw only timed faults"),
    });
    for _ in 0..rates.triggered_crashes {
        faults.push(draw_triggered_crash(rng, rates, nodes));
    }
    faults
}

/// One crash at a protocol moment: node `n` crashes right after its `nth`
/// send of a kind, or right after it accepts in a slot. The same draws
/// whichever it is.
fn draw_triggered_crash(rng: &mut ChaCha8Rng, rates: &FaultRates, nodes: u8) -> ScheduledFault {
    let node = between(rng, 0, u64::from(nodes) - 1) as NodeId;
    let kind = between(rng, 0, TRIGGER_KINDS.len() as u64) as usize;
    let nth = between(rng, 1, 4 * u64::from(nodes)) as u32;
    let slot = between(rng, 0, TRIGGER_SLOT_MAX);
    let down_us = between(rng, 1_000, rates.crash_down_us_max.max(1_000));
    let trigger = match TRIGGER_KINDS.get(kind) {
        Some(message) => Trigger::OnSend {
            node,
            message: (*message).to_string(),
            nth,
        },
        None => Trigger::OnAccept { node, slot },
    };
    ScheduledFault {
        trigger,
        action: FaultAction::Crash {
            node,
            down_us: Some(down_us),
        },
        optional: false,
    }
}

/// One of the partition shapes, uniformly.
fn draw_partition(rng: &mut ChaCha8Rng, nodes: u8) -> Partition {
    let node = |rng: &mut ChaCha8Rng| between(rng, 0, u64::from(nodes) - 1) as NodeId;
    let mut shuffled: Vec<NodeId> = (0..nodes).collect();
    for i in (1..shuffled.len()).rev() {
        let j = between(rng, 0, i as u64) as usize;
        shuffled.swap(i, j);
    }
    let minority = usize::from(nodes).saturating_sub(1) / 2;
    match between(rng, 0, 4) {
        0 => Partition::Isolate { node: node(rng) },
        1 => Partition::Split {
            side: sorted(&shuffled[..minority.max(1)]),
        },
        // A bridge needs a node on each side of it.
        2 if nodes < 3 => Partition::Isolate { node: node(rng) },
        2 => {
            let rest = &shuffled[1..];
            let half = rest.len() / 2;
            Partition::Bridge {
                bridge: shuffled[0],
                left: sorted(&rest[..half]),
                right: sorted(&rest[half..]),
            }
        }
        3 => {
            let cut = between(rng, 1, u64::from(nodes) - 1) as usize;
            Partition::OneWay {
                from: sorted(&shuffled[..cut]),
                to: sorted(&shuffled[cut..]),
            }
        }
        _ => {
            let groups_count = between(rng, 2, u64::from(nodes).min(3)) as usize;
            let mut groups = vec![Vec::new(); groups_count];
            for (index, node) in shuffled.iter().enumerate() {
                groups[index % groups_count].push(*node);
            }
            groups.iter_mut().for_each(|group| group.sort_unstable());
            Partition::Groups { groups }
        }
    }
}

fn sorted(nodes: &[NodeId]) -> Vec<NodeId> {
    let mut nodes = nodes.to_vec();
    nodes.sort_unstable();
    nodes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheduled_faults_round_trip_through_json() {
        let faults = vec![
            ScheduledFault {
                trigger: Trigger::OnSend {
                    node: 0,
                    message: "Prepare".into(),
                    nth: 1,
                },
                action: FaultAction::Crash {
                    node: 0,
                    down_us: Some(5_000),
                },
                optional: false,
            },
            ScheduledFault {
                trigger: Trigger::At { time_us: 10 },
                action: FaultAction::Partition {
                    partition: Partition::Bridge {
                        bridge: 0,
                        left: vec![1],
                        right: vec![2],
                    },
                    duration_us: None,
                },
                optional: false,
            },
        ];
        let text = serde_json::to_string(&faults).unwrap();
        let back: Vec<ScheduledFault> = serde_json::from_str(&text).unwrap();
        assert_eq!(back, faults);
        let unknown =
            r#"{"when": {"kind": "at", "time_us": 1, "extra": 2}, "action": {"fault": "heal"}}"#;
        assert!(serde_json::from_str::<ScheduledFault>(unknown).is_err());
    }

    #[test]
    fn partitions_cut_exactly_their_links() {
        let isolate = Partition::Isolate { node: 1 }.cut_links(3);
        assert_eq!(isolate, vec![(0, 1), (1, 0), (1, 2), (2, 1)]);
        let one_way = Partition::OneWay {
            from: vec![0],
            to: vec![1, 2],
        }
        .cut_links(3);
        assert_eq!(one_way, vec![(0, 1), (0, 2)]);
        let bridge = Partition::Bridge {
            bridge: 0,
            left: vec![1],
            right: vec![2],
        }
        .cut_links(3);
        assert_eq!(bridge, vec![(1, 2), (2, 1)]);
        let split = Partition::Split { side: vec![0, 1] }.cut_links(5);
        assert_eq!(split.len(), 2 * 2 * 3);
        assert!(split.iter().all(|(a, b)| (*a < 2) != (*b < 2)));
        let groups = Partition::Groups {
            groups: vec![vec![0, 2], vec![1]],
        }
        .cut_links(3);
        assert_eq!(groups, vec![(0, 1), (1, 0), (1, 2), (2, 1)]);
    }
}

#[cfg(test)]
mod plan_tests {
    use super::*;
    use crate::rng::{self, Stream};

    #[test]
    fn planned_faults_are_valid_for_every_cluster_size() {
        let rates = FaultRates {
            crash_interval_us: 50_000,
            crash_down_us_max: 100_000,
            partition_interval_us: 20_000,
            partition_duration_us_max: 100_000,
            pause_interval_us: 50_000,
            pause_duration_us_max: 100_000,
            triggered_crashes: 4,
        };
        for nodes in 1..=7 {
            for seed in 0..20 {
                let mut rng = rng::stream(seed, Stream::Faults);
                let planned = plan(&mut rng, &rates, nodes, 2_000_000);
                for fault in &planned {
                    if let FaultAction::Partition { partition, .. } = &fault.action {
                        partition.validate(nodes).unwrap();
                    }
                    assert!(fault.action.nodes().iter().all(|node| *node < nodes));
                }
                let triggered: Vec<&ScheduledFault> = planned
                    .iter()
                    .filter(|fault| !matches!(fault.trigger, Trigger::At { .. }))
                    .collect();
                assert_eq!(triggered.len(), 4, "every triggered crash is planned");
                for fault in triggered {
                    let (Trigger::OnSend { node, .. } | Trigger::OnAccept { node, .. }) =
                        fault.trigger
                    else {
                        unreachable!()
                    };
                    assert!(node < nodes);
                    assert!(
                        matches!(fault.action, FaultAction::Crash { node: crashed, .. } if crashed == node),
                        "a triggered crash crashes the node it waits for"
                    );
                }
            }
        }
    }

    #[test]
    fn shapes_that_cut_nothing_or_repeat_nodes_are_rejected() {
        assert!(Partition::Split { side: vec![] }.validate(3).is_err());
        assert!(
            Partition::Split {
                side: vec![0, 1, 2]
            }
            .validate(3)
            .is_err()
        );
        let bridge = Partition::Bridge {
            bridge: 0,
            left: vec![0],
            right: vec![1],
        };
        assert!(bridge.validate(3).unwrap_err().contains("twice"));
        let groups = Partition::Groups {
            groups: vec![vec![0, 1, 2]],
        };
        assert!(groups.validate(3).is_err());
        assert!(Partition::Isolate { node: 3 }.validate(3).is_err());
        assert!(Partition::Isolate { node: 2 }.validate(3).is_ok());
    }
}
