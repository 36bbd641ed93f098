//! The packet network: per-message delay, loss, duplication, and partitions.
//!
//! Every message between two different endpoints goes through [`Network::fate`],
//! which draws from the network stream alone. Reordering is not a separate
//! fault: it follows from independent delays.

use rand_chacha::ChaCha8Rng;

use paxos::NodeId;

use crate::config::NetworkConfig;
use crate::faults::Partition;
use crate::rng::{between, chance};

/// What happens to one message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    /// Delivered after `delay_us`, and if `duplicate_delay_us` is set, once
    /// more after that delay.
    Deliver {
        delay_us: u64,
        duplicate_delay_us: Option<u64>,
    },
    /// Lost on the wire.
    Dropped,
    /// Cut by a partition.
    Blocked,
}

pub struct Network {
    config: NetworkConfig,
    /// While false (the heal phase), nothing is dropped or duplicated.
    faulty: bool,
    /// `cut[from]` has bit `to` set when the link from `from` to `to` is cut.
    cut: Vec<u64>,
    partition: Option<Partition>,
    rng: ChaCha8Rng,
}

impl Network {
    pub fn new(config: NetworkConfig, nodes: u8, rng: ChaCha8Rng) -> Network {
        assert!(config.delay_us_min <= config.delay_us_max);
        Network {
            config,
            faulty: true,
            cut: vec![0; usize::from(nodes)],
            partition: None,
            rng,
        }
    }

    /// Cut the links of `partition`, replacing any partition in force.
    pub fn partition(&mut self, partition: Partition) {
        self.heal();
        let nodes = self.cut.len() as u8;
        for (from, to) in partition.cut_links(nodes) {
            self.cut[usize::from(from)] |= 1 << to;
        }
        self.partition = Some(partition);
    }

    /// Restore every link.
    pub fn heal(&mut self) {
        self.cut.iter_mut().for_each(|links| *links = 0);
        self.partition = None;
    }

    pub fn partitioned(&self) -> bool {
        self.partition.is_some()
    }

    /// Stop dropping and duplicating (the heal phase). Delays stay.
    pub fn calm(&mut self) {
        self.faulty = false;
    }

    pub fn link_up(&self, from: NodeId, to: NodeId) -> bool {
        self.cut[usize::from(from)] & (1 << to) == 0
    }

    /// The fate of a message from node `from` to node `to`. Client links
    /// pass `None`: partitions cut only links between nodes.
    pub fn fate(&mut self, link: Option<(NodeId, NodeId)>) -> Fate {
        // Draw the same numbers whatever the outcome, so one message's fate
        // never shifts the next one's.
        let dropped = chance(&mut self.rng, self.config.drop_ppm);
        let duplicated = chance(&mut self.rng, self.config.duplicate_ppm);
        let delay_us = self.delay_us();
        let duplicate_delay_us = self.delay_us();
        if let Some((from, to)) = link
            && !self.link_up(from, to)
        {
            return Fate::Blocked;
        }
        if self.faulty && dropped {
            return Fate::Dropped;
        }
        Fate::Deliver {
            delay_us,
            duplicate_delay_us: (self.faulty && duplicated).then_some(duplicate_delay_us),
        }
    }

    fn delay_us(&mut self) -> u64 {
        let config = &self.config;
        let tail = chance(&mut self.rng, config.tail_ppm);
        let normal_us = between(&mut self.rng, config.delay_us_min, config.delay_us_max);
        if tail {
            between(&mut self.rng, config.delay_us_max, config.tail_us_max())
        } else {
            normal_us
        }
    }
}
