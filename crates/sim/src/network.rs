//! The packet network: per-message delay, loss, duplication, and partitions.
//!
//! Every message between two different endpoints goes through [`Network::fate`],
//! which draws from the network stream alone, and always the same numbers:
//! whatever the rates and whatever the message's fate, so that changing a
//! rate (as the shrinker does) never shifts a later message's draws.
//! Reordering is not a separate fault: it follows from independent delays.

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

    /// One delay. Draws whether it takes the long tail, a normal delay and
    /// a long-tail delay, every time, and keeps one of the two delays.
    fn delay_us(&mut self) -> u64 {
        let config = &self.config;
        let tail = chance(&mut self.rng, config.tail_ppm);
        let normal_us = between(&mut self.rng, config.delay_us_min, config.delay_us_max);
        let tail_us = between(&mut self.rng, config.delay_us_max, config.tail_us_max());
        if tail { tail_us } else { normal_us }
    }

    /// How far the network stream has been read, in 32-bit words.
    pub fn words_drawn(&self) -> u128 {
        self.rng.get_word_pos()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{self, Stream};

    fn network(tail_ppm: u32, drop_ppm: u32, duplicate_ppm: u32) -> Network {
        let config = NetworkConfig {
            delay_us_min: 100,
            delay_us_max: 5_000,
            tail_ppm,
            tail_delay_us_max: Some(200_000),
            drop_ppm,
            duplicate_ppm,
        };
        Network::new(config, 3, rng::stream(7, Stream::Network))
    }

    #[test]
    fn rates_never_shift_the_draws_of_later_messages() {
        let mut plain = network(0, 0, 0);
        let mut rough = network(300_000, 200_000, 250_000);
        let mut unaffected = 0;
        for message in 0..2_000u32 {
            let link = Some(((message % 3) as u8, ((message + 1) % 3) as u8));
            let (a, b) = (plain.fate(link), rough.fate(link));
            assert_eq!(
                plain.words_drawn(),
                rough.words_drawn(),
                "message {message}: the streams drifted apart"
            );
            let Fate::Deliver { delay_us, .. } = a else {
                panic!("nothing is dropped at rate 0: {a:?}");
            };
            // A message the rough network neither dropped nor sent down
            // the long tail got the very same delay.
            if let Fate::Deliver {
                delay_us: rough_us, ..
            } = b
                && rough_us <= 5_000
            {
                assert_eq!(rough_us, delay_us, "message {message}");
                unaffected += 1;
            }
        }
        assert!(unaffected > 500, "{unaffected} messages compared");
    }
}
