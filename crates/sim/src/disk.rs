//! A node's simulated disk: writes that take time to become durable, are
//! lost when the power goes, can tear, and records that come back corrupt
//! or unreadable.
//!
//! The disk holds records, one per durable fact (the promise, the round,
//! an acceptance per slot, a chosen entry per slot), each a `DurableWrite`
//! with a checksum taken when it was written. A `Persist` output is a
//! record on its way: consecutive `Persist`s of one output batch form one
//! write, which becomes durable after a latency drawn from the disk stream
//! (a range, and now and then a long tail), never before an earlier write.
//! The messages a batch sends after a `Persist` are held here until that
//! write is durable (`node_io`).
//!
//! What can go wrong:
//! - a crash loses every write not yet durable, and the messages held for
//!   them (always);
//! - a torn write: at a crash, a prefix of the oldest pending write's
//!   records reached the platter, and the record after it, torn, fails
//!   its checksum. Recovery cannot tell it from a corrupt record (a
//!   checksum alone cannot, FAST'18): it shadows the older intact version
//!   of its key and comes back as a corrupt record, so the core recovers
//!   from its peers. Only where the atlas allows that damage; elsewhere
//!   the torn record is lost with the rest, the prefix kept (`atlas`);
//! - a corrupt record: a durable record fails its checksum at recovery,
//!   and stays corrupt until rewritten;
//! - a latent read error: a durable record cannot be read at recovery
//!   (this time only).
//!
//! Recovery reads the intact records and names the damaged ones
//! (`paxos::Damage`); the core then recovers from its peers. Which records
//! may be damaged is the fault atlas's call (`lifecycle`): only what the
//! protocol can survive.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde::{Deserialize, Serialize};

use paxos::{Ballot, Command, Damage, Durable, DurableWrite, Slot};

use crate::edge::probability;
use crate::rng::Ppm;
use crate::spec::ValueId;

/// How a node's disk behaves. In files probabilities are floats in 0..=1;
/// a file that gives no `disk` has an instant disk with no faults (every
/// write durable at once, as before disks were simulated).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DiskConfig {
    /// A write becomes durable `write_us_min..=write_us_max` after it is
    /// issued (0 and 0: at once, no event).
    pub write_us_min: u64,
    pub write_us_max: u64,
    /// A write takes the long tail, up to `tail_us_max`, this often.
    #[serde(rename = "tail", with = "probability", skip_serializing_if = "is_zero")]
    pub tail_ppm: Ppm,
    pub tail_us_max: u64,
    /// At a crash with a write pending, part of it is durable this often.
    #[serde(rename = "torn", with = "probability", skip_serializing_if = "is_zero")]
    pub torn_ppm: Ppm,
    /// At a restart, one durable promise or acceptance record fails its
    /// checksum this often (within the fault atlas).
    #[serde(
        rename = "corrupt",
        with = "probability",
        skip_serializing_if = "is_zero"
    )]
    pub corrupt_ppm: Ppm,
    /// At a restart, one durable promise or acceptance record cannot be
    /// read this often (within the fault atlas).
    #[serde(
        rename = "read_error",
        with = "probability",
        skip_serializing_if = "is_zero"
    )]
    pub read_error_ppm: Ppm,
}

fn is_zero(ppm: &Ppm) -> bool {
    *ppm == 0
}

impl DiskConfig {
    /// Whether every write is durable the moment it is issued.
    pub fn instant(&self) -> bool {
        self.write_us_max == 0 && (self.tail_ppm == 0 || self.tail_us_max == 0)
    }

    pub fn is_default(&self) -> bool {
        *self == DiskConfig::default()
    }
}

/// Which record of a node's disk: what a storage fault names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "record", deny_unknown_fields)]
pub enum RecordKey {
    Promise,
    Round,
    Accepted { slot: Slot },
    Chosen { slot: Slot },
}

impl RecordKey {
    pub fn of(write: &DurableWrite) -> RecordKey {
        match write {
            DurableWrite::Promised(_) => RecordKey::Promise,
            DurableWrite::RoundMax(_) => RecordKey::Round,
            DurableWrite::Accepted { slot, .. } => RecordKey::Accepted { slot: *slot },
            DurableWrite::Chosen { slot, .. } => RecordKey::Chosen { slot: *slot },
        }
    }

    /// The name a trigger or a trace line uses for this kind of record.
    pub fn kind(self) -> &'static str {
        match self {
            RecordKey::Promise => "promise",
            RecordKey::Round => "round",
            RecordKey::Accepted { .. } => "accepted",
            RecordKey::Chosen { .. } => "chosen",
        }
    }
}

/// `promise`, `round`, `accepted s3`, `chosen s3`: as traces and reports
/// name a record.
impl std::fmt::Display for RecordKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecordKey::Accepted { slot } | RecordKey::Chosen { slot } => {
                write!(f, "{} s{slot}", self.kind())
            }
            _ => f.write_str(self.kind()),
        }
    }
}

/// The damaged records a read found, as a trace names them:
/// `promise, accepted s3`.
pub fn describe_damage(damage: &Damage) -> String {
    let mut names: Vec<String> = Vec::new();
    if damage.promise {
        names.push("promise".into());
    }
    if damage.round {
        names.push("round".into());
    }
    names.extend(
        damage
            .accepted
            .iter()
            .map(|slot| format!("accepted s{slot}")),
    );
    names.extend(damage.chosen.iter().map(|slot| format!("chosen s{slot}")));
    names.join(", ")
}

/// The record a storage fault names: `promise` or `round`, or `accepted`
/// or `chosen` with a slot. The message says what would be right.
pub fn record_key(record: &str, slot: Option<Slot>) -> Result<RecordKey, String> {
    match (record, slot) {
        ("promise", None) => Ok(RecordKey::Promise),
        ("round", None) => Ok(RecordKey::Round),
        ("accepted", Some(slot)) => Ok(RecordKey::Accepted { slot }),
        ("chosen", Some(slot)) => Ok(RecordKey::Chosen { slot }),
        ("promise" | "round", Some(_)) => Err(format!("record `{record}` takes no slot")),
        ("accepted" | "chosen", None) => Err(format!("record `{record}` needs a slot")),
        _ => Err(format!(
            "unknown record `{record}`, expected one of {}",
            RECORD_KINDS.join(", ")
        )),
    }
}

/// The record kinds an `on-write` trigger may name.
pub const RECORD_KINDS: [&str; 4] = ["promise", "round", "accepted", "chosen"];

/// One durable record and the checksum written with it.
#[derive(Clone, Debug)]
struct Record {
    write: DurableWrite,
    checksum: u64,
}

impl Record {
    fn new(write: DurableWrite) -> Record {
        let checksum = checksum(&write);
        Record { write, checksum }
    }

    fn intact(&self) -> bool {
        self.checksum == checksum(&self.write)
    }
}

/// A cheap checksum over a record's identifying words.
fn checksum(write: &DurableWrite) -> u64 {
    let fold = |words: &[u64]| {
        words.iter().fold(0x9e37_79b9_7f4a_7c15u64, |sum, word| {
            (sum ^ word)
                .wrapping_mul(0x0000_0100_0000_01b3)
                .rotate_left(29)
        })
    };
    let ballot = |ballot: &Ballot| ballot.round << 8 | u64::from(ballot.node);
    let command = |command: &Command| match command {
        Command::Noop => 0,
        Command::Client(request) => u64::from(request.client) << 32 ^ request.seq,
    };
    match write {
        DurableWrite::Promised(b) => fold(&[1, ballot(b)]),
        DurableWrite::RoundMax(round) => fold(&[2, *round]),
        DurableWrite::Accepted {
            slot,
            ballot: b,
            command: c,
        } => fold(&[3, *slot, ballot(b), command(c)]),
        DurableWrite::Chosen { slot, command: c } => fold(&[4, *slot, command(c)]),
    }
}

/// A write on its way to durability.
#[derive(Debug)]
struct Pending {
    id: u64,
    records: Vec<DurableWrite>,
}

/// What a crash did to the writes in flight.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct CrashLoss {
    /// Records lost.
    pub(crate) lost: usize,
    /// Records of a torn write that were durable after all.
    pub(crate) torn_kept: usize,
    /// The torn record, now on the platter and corrupt.
    pub(crate) torn: Option<RecordKey>,
}

/// One node's disk.
#[derive(Debug, Default)]
pub(crate) struct Disk {
    records: BTreeMap<RecordKey, Record>,
    /// Records unreadable at the next restart only (a latent read error).
    unreadable: BTreeSet<RecordKey>,
    pending: VecDeque<Pending>,
    write_next: u64,
    /// When the last write issued becomes durable: writes finish in order.
    durable_at_last_us: u64,
    /// Chosen records held, for the log bound.
    chosen_count: u64,
    /// Slots whose acceptance or chosen record changed since the
    /// simulator last looked (`durability`).
    touched: Vec<Touched>,
}

/// An acceptance or chosen record of `slot` changed: it is now intact and
/// carries `value`, or (`None`) it was damaged.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Touched {
    pub(crate) slot: Slot,
    pub(crate) value: Option<ValueId>,
}

impl Disk {
    /// Issue `record` as part of write `write_id` (a new write when the id
    /// is new); durable at once if `durable_now`.
    pub(crate) fn issue(&mut self, record: DurableWrite, write_id: Option<u64>) -> u64 {
        match (write_id, self.pending.back_mut()) {
            (Some(id), Some(last)) if last.id == id => {
                last.records.push(record);
                id
            }
            _ => {
                let id = self.write_next;
                self.write_next += 1;
                self.pending.push_back(Pending {
                    id,
                    records: vec![record],
                });
                id
            }
        }
    }

    /// Write `record` durably at once (an instant disk).
    pub(crate) fn write_now(&mut self, record: DurableWrite) {
        assert!(
            self.pending.is_empty(),
            "an instant disk has no write in flight"
        );
        self.store(record);
    }

    /// When a write issued now with latency `latency_us` becomes durable:
    /// never before an earlier write.
    pub(crate) fn durable_at(&mut self, now_us: u64, latency_us: u64) -> u64 {
        let at = now_us
            .saturating_add(latency_us)
            .max(self.durable_at_last_us);
        self.durable_at_last_us = at;
        at
    }

    /// Writes up to and including `write_id` are durable now. Returns how
    /// many records that made durable.
    pub(crate) fn complete(&mut self, write_id: u64) -> usize {
        let mut records = 0;
        while self
            .pending
            .front()
            .is_some_and(|write| write.id <= write_id)
        {
            let write = self.pending.pop_front().expect("checked");
            records += write.records.len();
            for record in write.records {
                self.store(record);
            }
        }
        records
    }

    fn store(&mut self, write: DurableWrite) {
        // The disk stores what it is told: judging the order of a node's
        // votes is the checkers' job, which a flawed core must reach.
        let key = RecordKey::of(&write);
        let value = match &write {
            DurableWrite::Accepted { command, .. } | DurableWrite::Chosen { command, .. } => {
                Some(ValueId::of(command))
            }
            _ => None,
        };
        self.touch(key, value);
        let record = Record::new(write);
        if self.records.insert(key, record).is_none() && matches!(key, RecordKey::Chosen { .. }) {
            self.chosen_count += 1;
        }
        self.unreadable.remove(&key);
    }

    /// Note a change to `key`'s record: now intact with `value`, or
    /// (`None`) damaged.
    fn touch(&mut self, key: RecordKey, value: Option<ValueId>) {
        if let RecordKey::Accepted { slot } | RecordKey::Chosen { slot } = key {
            self.touched.push(Touched { slot, value });
        }
    }

    /// The records touched since the last call; hand the vector back with
    /// [`Disk::give_back_touched`] to reuse it.
    pub(crate) fn take_touched(&mut self) -> Vec<Touched> {
        std::mem::take(&mut self.touched)
    }

    pub(crate) fn give_back_touched(&mut self, touched: Vec<Touched>) {
        debug_assert!(touched.is_empty() && self.touched.is_empty());
        self.touched = touched;
    }

    /// Whether a write is in flight.
    pub(crate) fn writing(&self) -> bool {
        !self.pending.is_empty()
    }

    /// The power goes: every write in flight is lost, except, if `torn_at`
    /// is given, that many records of the oldest one (fewer than it holds).
    /// With `torn_corrupt`, the next one is torn: on the platter, failing
    /// its checksum. It shadows the older version of its key, as a log
    /// cannot tell a torn tail from a corrupt record by the checksum alone
    /// (FAST'18). Without, it is lost with the rest.
    pub(crate) fn crash(&mut self, torn_at: Option<usize>, torn_corrupt: bool) -> CrashLoss {
        let mut loss = CrashLoss::default();
        if let Some(kept) = torn_at
            && let Some(oldest) = self.pending.pop_front()
        {
            assert!(
                kept < oldest.records.len(),
                "a torn write keeps only a prefix"
            );
            loss.torn_kept = kept;
            loss.lost += oldest.records.len() - kept;
            let mut records = oldest.records.into_iter();
            for record in records.by_ref().take(kept) {
                self.store(record);
            }
            let torn = records.next().expect("a record after the prefix");
            if torn_corrupt {
                let key = RecordKey::of(&torn);
                self.store(torn);
                self.corrupt(key);
                loss.torn = Some(key);
            }
        }
        loss.lost += self
            .pending
            .iter()
            .map(|write| write.records.len())
            .sum::<usize>();
        self.pending.clear();
        self.durable_at_last_us = 0;
        loss
    }

    /// Records in the oldest write in flight, for drawing a torn prefix.
    pub(crate) fn oldest_write_len(&self) -> usize {
        self.pending.front().map_or(0, |write| write.records.len())
    }

    /// The key of record `index` of the oldest write in flight: the record
    /// a crash keeping `index` records tears.
    pub(crate) fn oldest_write_key(&self, index: usize) -> Option<RecordKey> {
        let write = self.pending.front()?;
        write.records.get(index).map(RecordKey::of)
    }

    /// Whether the disk holds a record for `key`, intact or not.
    pub(crate) fn has_record(&self, key: RecordKey) -> bool {
        self.records.contains_key(&key)
    }

    /// Corrupt `key`'s record: it fails its checksum from now on. False
    /// when there is no such record.
    pub(crate) fn corrupt(&mut self, key: RecordKey) -> bool {
        self.touch(key, None);
        match self.records.get_mut(&key) {
            Some(record) => {
                record.checksum ^= 1;
                true
            }
            None => false,
        }
    }

    /// Make `key`'s record unreadable at the next restart. False when there
    /// is no such record.
    pub(crate) fn fail_read(&mut self, key: RecordKey) -> bool {
        self.records.contains_key(&key) && self.unreadable.insert(key)
    }

    /// Whether a record fails its checksum.
    pub(crate) fn has_corrupt(&self) -> bool {
        self.records.values().any(|record| !record.intact())
    }

    /// The intact durable promise and acceptances, for the fault atlas.
    pub(crate) fn intact_promise(&self) -> Option<Ballot> {
        match self.records.get(&RecordKey::Promise) {
            Some(record) if record.intact() => match record.write {
                DurableWrite::Promised(ballot) => Some(ballot),
                _ => unreachable!("keyed by kind"),
            },
            _ => None,
        }
    }

    pub(crate) fn intact_accepted(&self, slot: Slot) -> Option<Ballot> {
        match self.records.get(&RecordKey::Accepted { slot }) {
            Some(record) if record.intact() => match &record.write {
                DurableWrite::Accepted { ballot, .. } => Some(*ballot),
                _ => unreachable!("keyed by kind"),
            },
            _ => None,
        }
    }

    /// The value of the intact acceptance record of `slot`, if any.
    pub(crate) fn intact_accepted_value(&self, slot: Slot) -> Option<ValueId> {
        match self.records.get(&RecordKey::Accepted { slot }) {
            Some(record) if record.intact() => match &record.write {
                DurableWrite::Accepted { command, .. } => Some(ValueId::of(command)),
                _ => unreachable!("keyed by kind"),
            },
            _ => None,
        }
    }

    /// Whether this disk holds a copy of `value` for `slot`: an intact
    /// durable acceptance of `slot` carrying it, or an intact chosen record
    /// of `slot` carrying it (`durability`'s definition of a copy). A
    /// record with a latent read error is intact on the platter: a copy.
    pub(crate) fn holds_copy(&self, slot: Slot, value: ValueId) -> bool {
        let holds = |key: RecordKey| match self.records.get(&key) {
            Some(record) if record.intact() => match &record.write {
                DurableWrite::Accepted { command, .. } | DurableWrite::Chosen { command, .. } => {
                    ValueId::of(command) == value
                }
                _ => unreachable!("keyed by kind"),
            },
            _ => false,
        };
        holds(RecordKey::Accepted { slot }) || holds(RecordKey::Chosen { slot })
    }

    /// The promise and acceptance records a storage fault could strike.
    pub(crate) fn vote_records(&self) -> Vec<RecordKey> {
        self.records
            .keys()
            .copied()
            .filter(|key| matches!(key, RecordKey::Promise | RecordKey::Accepted { .. }))
            .collect()
    }

    pub(crate) fn chosen_count(&self) -> u64 {
        self.chosen_count
    }

    /// Read the disk back to rebuild the node: the intact records, and the
    /// damaged ones named. Unreadable records are readable again afterwards.
    pub(crate) fn read(&mut self) -> (Durable, Damage) {
        assert!(
            self.pending.is_empty(),
            "a restarted node has no write in flight"
        );
        let mut durable = Durable::default();
        let mut damage = Damage::default();
        for (key, record) in &self.records {
            if !record.intact() || self.unreadable.contains(key) {
                match key {
                    RecordKey::Promise => damage.promise = true,
                    RecordKey::Round => damage.round = true,
                    RecordKey::Accepted { slot } => damage.accepted.push(*slot),
                    RecordKey::Chosen { slot } => damage.chosen.push(*slot),
                }
                continue;
            }
            // Set fields directly: an intact acceptance may be above an
            // intact promise when the promise record is the damaged one.
            match &record.write {
                DurableWrite::Promised(ballot) => durable.promised = *ballot,
                DurableWrite::RoundMax(round) => durable.round_max = *round,
                DurableWrite::Accepted {
                    slot,
                    ballot,
                    command,
                } => {
                    durable.accepted.insert(*slot, (*ballot, command.clone()));
                }
                DurableWrite::Chosen { slot, command } => {
                    durable.chosen.insert(*slot, command.clone());
                }
            }
        }
        self.unreadable.clear();
        (durable, damage)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn promise(round: u64) -> DurableWrite {
        DurableWrite::Promised(Ballot::new(round, 0))
    }

    #[test]
    fn only_durable_writes_survive_a_crash() {
        let mut disk = Disk::default();
        disk.write_now(promise(1));
        let first = disk.issue(promise(2), None);
        let second = disk.issue(promise(3), None);
        assert_ne!(first, second);
        assert_eq!(disk.complete(first), 1);
        assert_eq!(
            disk.crash(None, false),
            CrashLoss {
                lost: 1,
                torn_kept: 0,
                torn: None
            }
        );
        let (durable, damage) = disk.read();
        assert_eq!(durable.promised, Ballot::new(2, 0));
        assert!(damage.is_clean());
    }

    #[test]
    fn a_torn_write_keeps_a_prefix_and_a_corrupt_record_is_named() {
        let mut disk = Disk::default();
        let write = disk.issue(promise(1), None);
        let accepted = DurableWrite::Accepted {
            slot: 4,
            ballot: Ballot::new(1, 0),
            command: Command::Noop,
        };
        assert_eq!(
            disk.issue(accepted, Some(write)),
            write,
            "one write, two records"
        );
        assert_eq!(disk.oldest_write_len(), 2);
        assert_eq!(
            disk.crash(Some(1), true),
            CrashLoss {
                lost: 1,
                torn_kept: 1,
                torn: Some(RecordKey::Accepted { slot: 4 })
            }
        );
        assert!(
            disk.intact_accepted(4).is_none(),
            "the torn record is corrupt"
        );
        assert!(disk.corrupt(RecordKey::Promise));
        assert!(
            !disk.corrupt(RecordKey::Accepted { slot: 9 }),
            "no such record"
        );
        let (durable, damage) = disk.read();
        assert_eq!(durable.promised, Ballot::ZERO);
        assert!(damage.promise && damage.needs_recovery());
        assert_eq!(damage.accepted, vec![4], "a torn tail reads as corrupt");
        assert!(disk.has_corrupt(), "corrupt until rewritten");
        disk.write_now(promise(5));
        assert!(disk.has_corrupt(), "the torn acceptance still is");
        disk.write_now(DurableWrite::Accepted {
            slot: 4,
            ballot: Ballot::new(5, 0),
            command: Command::Noop,
        });
        assert!(!disk.has_corrupt());
    }

    #[test]
    fn a_torn_record_shadows_the_older_intact_version_of_its_key() {
        let mut disk = Disk::default();
        disk.write_now(promise(1));
        let write = disk.issue(DurableWrite::RoundMax(3), None);
        disk.issue(promise(2), Some(write));
        assert_eq!(disk.oldest_write_key(1), Some(RecordKey::Promise));
        let loss = disk.crash(Some(1), true);
        assert_eq!(loss.torn, Some(RecordKey::Promise));
        assert!(disk.intact_promise().is_none(), "promise 1 is shadowed");
        let (durable, damage) = disk.read();
        assert_eq!(durable.round_max, 3, "the prefix is durable");
        assert!(damage.promise, "the torn promise reads as corrupt");
    }

    #[test]
    fn a_read_error_strikes_one_restart_only() {
        let mut disk = Disk::default();
        disk.write_now(promise(1));
        assert!(disk.fail_read(RecordKey::Promise));
        assert!(disk.read().1.promise);
        assert!(!disk.read().1.promise);
    }
}
