//! Storage faults at a crash and a restart, and the fault atlas that keeps
//! the random ones within what the protocol can survive.
//!
//! At a crash the disk loses its writes in flight (always), or keeps a
//! torn prefix of the oldest (`disk.torn`), the torn record after it back
//! as a corrupt record where the atlas allows that damage (else lost with
//! the rest). At a restart one promise or
//! acceptance record may come back corrupt (`disk.corrupt`, for good) or
//! unreadable (`disk.read_error`, that restart only); the node then
//! recovers from its peers (`paxos` `node/recovery.rs`).
//!
//! # The atlas
//!
//! Recovery asks `need = max(n - q1 + 1, n - q2 + 1)` peers that are not
//! recovering themselves. A random storage fault strikes node `x` only if:
//! 1. `need <= n - 1` (both quorums at least 2): otherwise no lost vote can
//!    be recovered;
//! 2. no other node is recovering or holds a corrupt record: so every peer
//!    that could answer has an intact disk, and damage never spreads over
//!    two nodes at once;
//! 3. `x` can find `need` live peers when it must: it is outside the heal
//!    core, or the core has `need` nodes besides it;
//! 4. the record's content is covered: at least `n - need` other nodes
//!    durably hold a promise at or above `x`'s promised ballot (for the
//!    promise record), or an acceptance in the slot at or above `x`'s
//!    ballot (for an acceptance record). Any `need` of the `n - 1` others
//!    then include one of them, so the replies carry what `x` lost.
//!
//! 5. for an acceptance record of slot `s` carrying value `c`: at least
//!    `q2` *other* nodes hold a copy of `c` for `s` (an intact durable
//!    acceptance of `s` carrying `c`, or an intact chosen record of `s`,
//!    as `durability` counts copies). If `c` was chosen, it then keeps a
//!    phase-2 quorum of intact copies without the damaged one, so the
//!    fault cannot break `chosen-value-durable`; condition 4 alone, with
//!    `n = 3` and `q2 = 2`, would let it strike one of the only two
//!    copies of a value just chosen.
//!
//! Condition 5 asks it of every acceptance, chosen or not, rather than of
//! the slots the safety checker's ghost records as chosen, for two
//! reasons. A slot not yet chosen can be chosen a moment later by the
//! very acceptance just damaged: its `Accepted` left before the crash and
//! is still in the network, and the ghost counts it when it was sent; the
//! ghost's rule would then have allowed leaving one copy. And the ghost is
//! kept only while the checkers run, while a run must be the same with
//! them off (`bench` measures their cost on the same runs). The price is
//! small: it spares a few acceptances that a finished slot no longer needs.
//!
//! So the same promise, or the same slot's acceptance, is never damaged on
//! more than one node, and never where its knowledge is not already on
//! enough intact disks: every injected fault is one the core must survive.
//! Explicit faults (`corrupt`, `read-error` in a scenario) bypass the atlas.

use paxos::NodeId;

use crate::disk::{RecordKey, record_key};
use crate::faults::FaultAction;
use crate::report::ProbePoint;
use crate::rng::{between, chance};
use crate::simulation::{Phase, Simulation};
use crate::spec::quorum_sizes;

impl Simulation {
    /// Node `id` loses power: its writes in flight are lost, or a prefix of
    /// the oldest is kept (a torn write). Always the same two draws.
    pub(crate) fn crash_disk(&mut self, id: NodeId) {
        let torn = chance(&mut self.disk_rng, self.config.disk.torn_ppm);
        let cut = between(&mut self.disk_rng, 0, u64::from(u32::MAX));
        let oldest = self.hosts[usize::from(id)].disk.oldest_write_len();
        let torn_at = (torn && oldest >= 2).then(|| 1 + (cut as usize) % (oldest - 1));
        // The torn record comes back corrupt: damage like any other, so
        // only where the atlas allows it; else it is lost like the rest of
        // the write, the prefix durable (two writes, the second lost).
        let torn_corrupt = torn_at.is_some_and(|kept| {
            let disk = &self.hosts[usize::from(id)].disk;
            let key = disk.oldest_write_key(kept).expect("within the write");
            self.atlas_allows_torn(id, key)
        });
        let disk = &mut self.hosts[usize::from(id)].disk;
        let loss = disk.crash(torn_at, torn_corrupt);
        self.durability_sync(id);
        if loss.lost > 0 {
            self.probes.hit(ProbePoint::WriteLostAtCrash);
            self.counters.records_lost += loss.lost as u64;
            self.record(Some(id), "disk-lost", || format!("{} records", loss.lost));
            self.note_storage_fault(id, format!("{} unsynced records lost", loss.lost));
        }
        if let Some(kept) = torn_at {
            self.probes.hit(ProbePoint::TornWrite);
            let torn = match loss.torn {
                Some(key) => {
                    self.counters.records_damaged += 1;
                    format!(", {key} torn (corrupt)")
                }
                None => String::new(),
            };
            self.record(Some(id), "disk-torn", || {
                format!("{kept} records of the torn write kept{torn}")
            });
            self.note_storage_fault(id, format!("torn write, {kept} records kept{torn}"));
        }
    }

    /// Node `id` restarts: the storage faults armed for it, then the random
    /// ones the atlas allows. Always the same four draws.
    pub(crate) fn damage_at_restart(&mut self, id: NodeId) {
        for (key, corrupt) in std::mem::take(&mut self.hosts[usize::from(id)].damage_armed) {
            self.damage(id, key, corrupt);
        }
        let corrupt = chance(&mut self.disk_rng, self.config.disk.corrupt_ppm);
        let unreadable = chance(&mut self.disk_rng, self.config.disk.read_error_ppm);
        let pick_corrupt = between(&mut self.disk_rng, 0, u64::from(u32::MAX));
        let pick_unreadable = between(&mut self.disk_rng, 0, u64::from(u32::MAX));
        for (strike, pick, is_corrupt) in [
            (corrupt, pick_corrupt, true),
            (unreadable, pick_unreadable, false),
        ] {
            if !strike || !self.atlas_allows_node(id) {
                continue;
            }
            let covered: Vec<RecordKey> = self.hosts[usize::from(id)]
                .disk
                .vote_records()
                .into_iter()
                .filter(|key| self.atlas_covers(id, *key))
                .collect();
            if let Some(key) = covered.get(pick as usize % covered.len().max(1)) {
                self.damage(id, *key, is_corrupt);
            }
        }
    }

    /// An explicit storage fault: armed for the node's next restart.
    pub(crate) fn arm_damage(&mut self, action: &FaultAction) {
        let (FaultAction::Corrupt { node, record, slot }
        | FaultAction::ReadError { node, record, slot }) = action
        else {
            unreachable!("only storage faults are armed");
        };
        let key = record_key(record, *slot).expect("validated");
        let corrupt = matches!(action, FaultAction::Corrupt { .. });
        self.hosts[usize::from(*node)]
            .damage_armed
            .push((key, corrupt));
    }

    fn damage(&mut self, id: NodeId, key: RecordKey, corrupt: bool) {
        let disk = &mut self.hosts[usize::from(id)].disk;
        let struck = if corrupt {
            disk.corrupt(key)
        } else {
            disk.fail_read(key)
        };
        self.durability_sync(id);
        if !struck {
            return;
        }
        let what = if corrupt { "corrupt" } else { "unreadable" };
        self.counters.records_damaged += 1;
        self.record(Some(id), "disk-damage", || format!("{what} {key}"));
        self.note_storage_fault(id, format!("{what} record {key}"));
        self.durability_check();
    }

    /// Whether a crash of node `id` may tear a write at record `key`: it
    /// comes back corrupt, so conditions 1 to 3 hold, and the older
    /// version it shadows, if any, is covered (4 and 5). A key with no
    /// older version loses nothing durable. Round and chosen records are
    /// never damaged.
    fn atlas_allows_torn(&self, id: NodeId, key: RecordKey) -> bool {
        if matches!(key, RecordKey::Round | RecordKey::Chosen { .. }) || !self.atlas_allows_node(id)
        {
            return false;
        }
        !self.hosts[usize::from(id)].disk.has_record(key) || self.atlas_covers(id, key)
    }

    /// Replies a recovering node needs, by the specification's quorums.
    fn recovery_need(&self) -> usize {
        let nodes = usize::from(self.cluster.nodes);
        let (phase1, phase2) = quorum_sizes(&self.cluster);
        (nodes + 1 - phase1.min(nodes)).max(nodes + 1 - phase2.min(nodes))
    }

    /// Conditions 1 to 3 of the atlas (module doc).
    fn atlas_allows_node(&self, id: NodeId) -> bool {
        let need = self.recovery_need();
        let nodes = usize::from(self.cluster.nodes);
        if need > nodes - 1 {
            return false;
        }
        let others_damaged = self.hosts.iter().enumerate().any(|(other, host)| {
            other != usize::from(id)
                && (host.disk.has_corrupt()
                    || host.node.as_ref().is_some_and(paxos::Node::is_recovering))
        });
        if others_damaged {
            return false;
        }
        let core = &self.heal_core.core;
        !core.contains(&id) || core.len() > need
    }

    /// Conditions 4 and 5 of the atlas: `key`'s content on node `id` is
    /// held, at or above, by at least `n - need` other intact disks; an
    /// acceptance's value, by at least `q2` other disks' copies.
    fn atlas_covers(&self, id: NodeId, key: RecordKey) -> bool {
        let disk = &self.hosts[usize::from(id)].disk;
        let holders = match key {
            RecordKey::Promise => {
                let Some(promised) = disk.intact_promise() else {
                    return false;
                };
                self.count_others(id, |other| {
                    other.disk.intact_promise().is_some_and(|b| b >= promised)
                })
            }
            RecordKey::Accepted { slot } => {
                let (Some(ballot), Some(value)) =
                    (disk.intact_accepted(slot), disk.intact_accepted_value(slot))
                else {
                    return false;
                };
                // Condition 5: the value keeps a phase-2 quorum of copies
                // without this one (`chosen-value-durable`).
                let (_, phase2) = quorum_sizes(&self.cluster);
                if self.count_others(id, |other| other.disk.holds_copy(slot, value)) < phase2 {
                    return false;
                }
                self.count_others(id, |other| {
                    other
                        .disk
                        .intact_accepted(slot)
                        .is_some_and(|b| b >= ballot)
                })
            }
            RecordKey::Round | RecordKey::Chosen { .. } => return false,
        };
        holders >= usize::from(self.cluster.nodes) - self.recovery_need()
    }

    fn count_others(&self, id: NodeId, holds: impl Fn(&crate::host::Host) -> bool) -> usize {
        (self.hosts.iter().enumerate())
            .filter(|(other, host)| *other != usize::from(id) && holds(host))
            .count()
    }

    /// Keep a storage fault for a violation's report (the first few).
    fn note_storage_fault(&mut self, id: NodeId, what: String) {
        const KEPT_MAX: usize = 32;
        if self.storage_faults.len() < KEPT_MAX {
            let phase = if self.phase == Phase::Chaos {
                ""
            } else {
                " (heal)"
            };
            self.storage_faults.push(format!(
                "event {} at {}us: node {id}: {what}{phase}",
                self.events, self.now_us
            ));
        }
    }
}
