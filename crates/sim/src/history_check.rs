//! The clients' history checked for linearizability at the end of a run,
//! key by key, and the report of a failure in terms people can act on: the
//! operation that cannot be placed, the longest linearizable prefix before
//! it, and for a read, the writes it could have observed and the one it
//! contradicts. Values are JSON throughout (`text`).
//!
//! The search lives in `linearizability`, which knows nothing of JSON: this
//! file turns the history into its `u64`-valued operations and its verdict
//! back into the history's own operations.

use std::collections::BTreeMap;
use std::sync::Arc;

use paxos::{Key, Op, OpResult};

use crate::check::{Place, violation};
use crate::linearizability::{self, KeyOp, KeyResult, Operation};
use crate::report::{Evidence, Invariant, Violation};
use crate::text;
use crate::workload::{History, OpRecord};

/// How many writes a read could have observed the report lists at most.
const OBSERVABLE_LISTED_MAX: usize = 8;

/// The outcome of checking a history key by key.
pub enum HistoryVerdict {
    Linearizable,
    Violation(Box<Violation>, Box<KeyFailure>),
    Inconclusive { key: String, steps: u64 },
}

/// A linearizability failure on one key, in indices into the history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyFailure {
    pub key: String,
    /// Every operation on the key, in invocation order.
    pub ops: Vec<usize>,
    /// The longest linearizable prefix, in linearization order.
    pub prefix: Vec<usize>,
    /// Whether `prefix` is the longest there is, not only the longest found
    /// within the search's budget.
    pub exhaustive: bool,
    /// The operation that cannot be placed after `prefix`.
    pub unplaceable: usize,
    /// If it is a read: the writes it could have observed, in real time
    /// (invoked before it returned, and not overwritten by a write that
    /// completed before it was invoked).
    pub observable: Vec<usize>,
    /// The write its result contradicts, if one does: for a read, the last
    /// write completed before it was invoked, newer than what it returned
    /// (or the writer of what it returned, at another version); for a
    /// write, another that returned the same version.
    pub contradicted: Option<usize>,
}

/// Check the client history for linearizability, one key at a time.
pub fn check_history(history: &History, place: Place, budget_steps: u64) -> HistoryVerdict {
    let mut interner = ValueIds::default();
    let mut per_key: BTreeMap<Key, (Vec<Operation>, Vec<usize>)> = BTreeMap::new();
    for (index, record) in history.ops.iter().enumerate() {
        let (ops, indices) = per_key.entry(record.op.key().clone()).or_default();
        ops.push(key_operation(record, &mut interner));
        indices.push(index);
    }
    for (key, (ops, indices)) in per_key {
        match linearizability::check_key(&ops, budget_steps) {
            linearizability::Verdict::Linearizable => {}
            linearizability::Verdict::Inconclusive { steps } => {
                return HistoryVerdict::Inconclusive {
                    key: key.to_string(),
                    steps,
                };
            }
            linearizability::Verdict::NotLinearizable {
                stuck_op,
                longest_prefix,
                exhaustive,
            } => {
                let failure = key_failure(
                    history,
                    &key,
                    indices.clone(),
                    longest_prefix.iter().map(|&i| indices[i]).collect(),
                    exhaustive,
                    indices[stuck_op],
                );
                let report = report(history, &failure, place);
                return HistoryVerdict::Violation(report, Box::new(failure));
            }
        }
    }
    HistoryVerdict::Linearizable
}

fn key_operation(record: &OpRecord, interner: &mut ValueIds) -> Operation {
    let op = match &record.op {
        Op::Put { value, .. } => KeyOp::Put {
            value: interner.id(value),
        },
        Op::Get { .. } => KeyOp::Get,
        Op::Cas {
            expected_version,
            value,
            ..
        } => KeyOp::Cas {
            expected_version: *expected_version,
            value: interner.id(value),
        },
    };
    let complete = record.complete.as_ref().map(|(time_us, result)| {
        let result = match result {
            OpResult::Put { version } => KeyResult::PutOk { version: *version },
            OpResult::Get { found } => KeyResult::Get(
                found
                    .as_ref()
                    .map(|(value, version)| (interner.id(value), *version)),
            ),
            OpResult::CasOk { version } => KeyResult::CasOk { version: *version },
            OpResult::CasConflict { current_version } => KeyResult::CasConflict {
                current_version: *current_version,
            },
        };
        (*time_us, result)
    });
    Operation {
        client: record.client,
        op,
        invoke_us: record.invoke_us,
        complete,
    }
}

fn key_failure(
    history: &History,
    key: &str,
    ops: Vec<usize>,
    prefix: Vec<usize>,
    exhaustive: bool,
    unplaceable: usize,
) -> KeyFailure {
    let stuck = &history.ops[unplaceable];
    let (observable, contradicted) = match &stuck.complete {
        Some((_, OpResult::Get { found })) => {
            let observable = observable_writes(history, &ops, stuck);
            let found = found.as_ref().map(|(value, version)| (value, *version));
            (
                observable,
                contradicted_by_read(history, &ops, stuck, found),
            )
        }
        Some((_, OpResult::Put { version } | OpResult::CasOk { version })) => {
            let same = ops.iter().copied().find(|&other| {
                other != unplaceable && written_version(&history.ops[other]) == Some(*version)
            });
            (Vec::new(), same)
        }
        _ => (Vec::new(), None),
    };
    KeyFailure {
        key: key.to_string(),
        ops,
        prefix,
        exhaustive,
        unplaceable,
        observable,
        contradicted,
    }
}

/// The version a write certainly produced: a completed Put or successful Cas.
fn written_version(record: &OpRecord) -> Option<u64> {
    match record.complete {
        Some((_, OpResult::Put { version } | OpResult::CasOk { version })) => Some(version),
        _ => None,
    }
}

/// Whether `record` may have written: a Put or Cas not answered with a conflict.
fn may_write(record: &OpRecord) -> bool {
    record.op.is_write() && !matches!(record.complete, Some((_, OpResult::CasConflict { .. })))
}

/// The writes on the key that `read` could have observed in real time.
fn observable_writes(history: &History, ops: &[usize], read: &OpRecord) -> Vec<usize> {
    let read_return_us = read
        .complete
        .as_ref()
        .map_or(u64::MAX, |(time_us, _)| *time_us);
    let completed_before_read = |record: &OpRecord| {
        written_version(record).is_some()
            && record
                .complete
                .as_ref()
                .is_some_and(|(time_us, _)| *time_us < read.invoke_us)
    };
    ops.iter()
        .copied()
        .filter(|&index| {
            let write = &history.ops[index];
            if !may_write(write) || write.invoke_us > read_return_us {
                return false;
            }
            let Some((write_return_us, _)) = &write.complete else {
                // Never answered: it may have taken effect just before the read.
                return true;
            };
            // Overwritten for sure: a later write completed before the read began.
            !ops.iter().any(|&other| {
                let other = &history.ops[other];
                completed_before_read(other) && other.invoke_us > *write_return_us
            })
        })
        .collect()
}

/// The write a read's result contradicts, if one does.
fn contradicted_by_read(
    history: &History,
    ops: &[usize],
    read: &OpRecord,
    found: Option<(&paxos::Value, u64)>,
) -> Option<usize> {
    let seen_version = found.map_or(0, |(_, version)| version);
    // The newest write that had completed before the read was invoked.
    let newest_before = ops
        .iter()
        .copied()
        .filter_map(|index| {
            let write = &history.ops[index];
            let (return_us, _) = write.complete.as_ref()?;
            let version = written_version(write)?;
            (*return_us < read.invoke_us).then_some((version, index))
        })
        .max();
    if let Some((version, index)) = newest_before
        && version > seen_version
    {
        return Some(index);
    }
    // Otherwise what it returned was written, but as another version.
    let (value, version) = found?;
    ops.iter().copied().find(|&index| {
        let write = &history.ops[index];
        let wrote_value = match &write.op {
            Op::Put { value: written, .. } | Op::Cas { value: written, .. } => written == value,
            Op::Get { .. } => false,
        };
        wrote_value && written_version(write).is_some_and(|written| written != version)
    })
}

/// The violation's text: which operation cannot be placed after how long a
/// prefix, and what its result contradicts.
fn report(history: &History, failure: &KeyFailure, place: Place) -> Box<Violation> {
    let stuck = &history.ops[failure.unplaceable];
    let longest = if failure.exhaustive {
        "the longest linearizable prefix"
    } else {
        "the longest linearizable prefix found within the search budget"
    };
    let mut report = violation(
        Invariant::Linearizability,
        place,
        format!(
            "no linearization of {} on {}: client {} seq {} cannot be placed after {longest} ({})",
            operations(failure.ops.len()),
            failure.key,
            stuck.client,
            stuck.seq,
            operations(failure.prefix.len())
        ),
    );
    report.key = Some(failure.key.clone());
    report.ops.push(failure.unplaceable);
    let state = prefix_states(history, &failure.prefix)
        .pop()
        .unwrap_or_else(|| text::state(0, None));
    report.evidence.push(evidence(
        stuck,
        format!(
            "{}: cannot be placed after the prefix, which leaves the key at {state}",
            timing(stuck)
        ),
    ));
    if let Some(index) = failure.contradicted {
        report.ops.push(index);
        let write = &history.ops[index];
        let why = if stuck.op.is_write() {
            "contradicted: it returned the same version"
        } else if write
            .complete
            .as_ref()
            .is_some_and(|(time_us, _)| *time_us < stuck.invoke_us)
        {
            "contradicted: it completed before the read was invoked, so the read had to \
             observe it or a later write, and returned an older state"
        } else {
            "contradicted: it wrote the value the read returned, as another version"
        };
        report
            .evidence
            .push(evidence(write, format!("{}: {why}", timing(write))));
    }
    if !stuck.op.is_write() {
        if failure.observable.is_empty() {
            report.evidence.push(Evidence {
                value: format!("{{\"value\":null,\"version\":0}} on {}", failure.key),
                ballot: None,
                acceptors: Vec::new(),
                note: "the only state the read could have observed: no write to the key came before it".into(),
            });
        }
        let others = failure
            .observable
            .iter()
            .filter(|&&index| Some(index) != failure.contradicted);
        for &index in others.clone().take(OBSERVABLE_LISTED_MAX) {
            let write = &history.ops[index];
            report.evidence.push(evidence(
                write,
                format!("{}: the read could have observed it", timing(write)),
            ));
        }
        let more = others.count().saturating_sub(OBSERVABLE_LISTED_MAX);
        if more > 0 {
            report.evidence.push(Evidence {
                value: format!("and {more} more writes the read could have observed"),
                ballot: None,
                acceptors: Vec::new(),
                note: String::new(),
            });
        }
    }
    report
}

/// The key's state after each operation of `prefix` (a linearizable order
/// of history indices), as people read it: `v2 {"name":"Bob"}`.
pub fn prefix_states(history: &History, prefix: &[usize]) -> Vec<String> {
    let mut version = 0;
    let mut value = None;
    let mut states = Vec::with_capacity(prefix.len());
    for &index in prefix {
        let record = &history.ops[index];
        match (&record.op, &record.complete) {
            (Op::Get { .. }, _) | (_, Some((_, OpResult::CasConflict { .. }))) => {}
            (
                Op::Cas {
                    expected_version, ..
                },
                None,
            ) if *expected_version != version => {}
            (Op::Put { value: written, .. } | Op::Cas { value: written, .. }, _) => {
                version += 1;
                value = Some(written.clone());
            }
        }
        states.push(text::state(version, value.as_ref()));
    }
    states
}

/// `1 operation`, `3 operations`.
fn operations(count: usize) -> String {
    if count == 1 {
        "1 operation".into()
    } else {
        format!("{count} operations")
    }
}

fn evidence(record: &OpRecord, note: String) -> Evidence {
    Evidence {
        value: text::request(record.client, record.seq, &record.op),
        ballot: None,
        acceptors: Vec::new(),
        note,
    }
}

/// `invoked at 10us, returned {"version":2} at 40us`, or `never answered`.
fn timing(record: &OpRecord) -> String {
    match &record.complete {
        Some((time_us, result)) => format!(
            "invoked at {}us, returned {} at {time_us}us",
            record.invoke_us,
            text::result(result)
        ),
        None => format!("invoked at {}us, never answered", record.invoke_us),
    }
}

/// Interns values as small ids by pointer. Values travel as shared
/// pointers and are never deep-copied, and every value comes from a write
/// the history holds, so its allocation outlives the check and one pointer
/// names one value.
#[derive(Default)]
struct ValueIds {
    by_pointer: BTreeMap<usize, u64>,
}

impl ValueIds {
    fn id(&mut self, value: &paxos::Value) -> u64 {
        let next = self.by_pointer.len() as u64;
        *self
            .by_pointer
            .entry(Arc::as_ptr(value) as usize)
            .or_insert(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(name: &str) -> paxos::Value {
        Arc::new(serde_json::json!({ "name": name }))
    }

    fn record(client: u32, seq: u64, op: Op, span_us: (u64, u64), result: OpResult) -> OpRecord {
        OpRecord {
            client,
            seq,
            op,
            invoke_us: span_us.0,
            complete: Some((span_us.1, result)),
            attempts: 1,
        }
    }

    fn put(
        client: u32,
        seq: u64,
        value: &paxos::Value,
        span_us: (u64, u64),
        version: u64,
    ) -> OpRecord {
        let op = Op::Put {
            key: "k".into(),
            value: value.clone(),
        };
        record(client, seq, op, span_us, OpResult::Put { version })
    }

    fn get(
        client: u32,
        seq: u64,
        span_us: (u64, u64),
        found: Option<(&paxos::Value, u64)>,
    ) -> OpRecord {
        let found = found.map(|(value, version)| (value.clone(), version));
        record(
            client,
            seq,
            Op::Get { key: "k".into() },
            span_us,
            OpResult::Get { found },
        )
    }

    fn failure(history: &History) -> (Box<Violation>, Box<KeyFailure>) {
        match check_history(history, Place::default(), 1_000_000) {
            HistoryVerdict::Violation(violation, failure) => (violation, failure),
            _ => panic!("the history is not linearizable"),
        }
    }

    #[test]
    fn a_stale_read_names_what_it_could_observe_and_what_it_contradicts() {
        let (alice, bob, carol) = (value("Alice"), value("Bob"), value("Carol"));
        let history = History {
            ops: vec![
                put(0, 1, &alice, (0, 10), 1),
                put(0, 2, &bob, (20, 30), 2),
                // Concurrent with the read: it may or may not have been seen.
                put(1, 1, &carol, (35, 60), 3),
                get(2, 1, (40, 50), Some((&alice, 1))),
            ],
        };
        let (violation, failure) = failure(&history);
        assert_eq!(failure.unplaceable, 3);
        // Carol's write may come first: the longest prefix places it too.
        assert_eq!(failure.prefix, vec![0, 1, 2]);
        assert_eq!(
            failure.contradicted,
            Some(1),
            "Bob completed before the read"
        );
        assert_eq!(
            failure.observable,
            vec![1, 2],
            "Alice was overwritten by Bob"
        );
        assert_eq!(violation.ops, vec![3, 1]);
        let text = violation.to_string();
        assert!(
            text.contains(r#"client 2 seq 1: Get(k) (invoked at 40us, returned {"value":{"name":"Alice"},"version":1} at 50us: cannot be placed after the prefix, which leaves the key at v3 {"name":"Carol"})"#),
            "{text}"
        );
        assert!(
            text.contains(r#"client 0 seq 2: Put(k, {"name":"Bob"}) (invoked at 20us, returned {"version":2} at 30us: contradicted"#),
            "{text}"
        );
        assert!(
            text.contains(r#"client 1 seq 1: Put(k, {"name":"Carol"}) (invoked at 35us, returned {"version":3} at 60us: the read could have observed it)"#),
            "{text}"
        );
        assert!(
            text.contains("after the longest linearizable prefix (3 operations)"),
            "{text}"
        );
    }

    #[test]
    fn a_read_of_nothing_after_writes_contradicts_the_last_of_them() {
        let mut ops: Vec<OpRecord> = (1..=5)
            .map(|version| {
                put(
                    0,
                    version,
                    &value("Alice"),
                    (version * 10, version * 10 + 5),
                    version,
                )
            })
            .collect();
        ops.push(get(1, 1, (100, 110), None));
        let (violation, failure) = failure(&History { ops });
        assert_eq!(failure.unplaceable, 5);
        assert_eq!(failure.prefix.len(), 5);
        assert_eq!(failure.contradicted, Some(4), "the last write, version 5");
        assert_eq!(failure.observable, vec![4]);
        let text = violation.to_string();
        assert!(
            text.contains(r#"returned {"value":null,"version":0} at 110us: cannot be placed after the prefix, which leaves the key at v5 {"name":"Alice"}"#),
            "{text}"
        );
        assert!(!text.contains("Some("), "{text}");
    }
}
