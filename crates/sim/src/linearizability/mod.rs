//! Per-key linearizability checking for the key-value store.
//!
//! The simulator splits a run's client history by key (keys are independent
//! registers) and calls [`check_key`] on each part. This module knows nothing
//! about JSON: values are `u64` ids interned by the caller, and every written
//! value is expected to be unique (the checker stays correct if they are not,
//! it only prunes less).
//!
//! This file owns the model ([`step`]), the public entry ([`check_key`]) and
//! the self-check of every linearization found. `prepare` turns a history
//! into the search's tables, `search` runs the search, `explain` says why a
//! history failed (the longest linearizable prefix and the operation that
//! cannot come next), and `generator` (behind the `history-generator`
//! feature, for tests and benchmarks) makes linearizable histories.
//!
//! # Model
//!
//! One key is a versioned register, [`KeyState`] `{ version, value }`, initially
//! `{ 0, None }`. [`step`] is the sequential specification: `Put` writes and
//! bumps the version, `Get` observes, `Cas` writes and bumps the version iff the
//! expected version is the current one and otherwise reports the current one.
//!
//! # Algorithm
//!
//! This is the Wing & Gong search as refined by Lowe (WGL), the algorithm of
//! Knossos's `wgl` checker and of Porcupine. Completed operations become call/return events sorted by time
//! (ties: calls first, so equal timestamps count as *concurrent*, the
//! permissive reading). Events sit in a doubly linked list. A search node is
//! a partial linearization: the set `S` of linearized operations plus the model
//! state reached. Its candidates are the unlinearized operations whose call
//! comes before the first remaining return (nothing left has to precede them
//! in real time). The search lifts a candidate out of the list if the model
//! gives the result that was observed, and backtracks when a node has no
//! candidates left. It uses an explicit stack, so 10,000 operations can't
//! overflow the call stack. A memo of visited `(S, state)` pairs stops it from
//! exploring any configuration twice. It succeeds once every completed
//! operation is linearized.
//!
//! An operation that was never answered (`complete: None`) returns at +∞.
//! It is optional: it may have taken effect at any point after its
//! invocation, or never. A linearization that places it after every completed
//! operation can just drop it, so it never has to be linearized. Unanswered
//! `Get`s have no effect and are dropped up front. Unanswered writes are not
//! in the event list. They are offered separately, as described below.
//!
//! ## Model-aware pruning (each rule is sound, i.e. it never loses a linearization)
//!
//! Every completed result pins the version that must be current when the
//! operation takes effect, its *required version* `req`. For `PutOk{v}` it is
//! `v-1`. For `Get(Some((_, v)))` and `CasConflict{v}` it is `v`. For `Get(None)`
//! it is 0, and for `CasOk` it is the expected version. Versions never
//! decrease, so:
//!
//! 1. **Version look-ahead.** A move is taken only if the new version is `<=`
//!    the minimum `req` of all still-unlinearized completed operations (a
//!    segment tree keeps that minimum). Otherwise that operation could never
//!    be linearized.
//! 2. **Greedy reads.** If a candidate that changes nothing (`Get`,
//!    `CasConflict`) matches the current state, it is linearized next, with no
//!    alternatives tried at this node. Proof: take any completion `α r β`.
//!    Moving `r` to the front keeps every real-time constraint, because no
//!    remaining operation must precede a candidate. It also keeps every
//!    result, because `r` does not change the state. If that child is already
//!    in the memo, the node fails.
//! 3. **Required writer.** The state at version `t` is reached exactly once. If
//!    a completed `Get` read `(x, t)` and exactly one operation can ever write
//!    `x`, then the write producing `t` must be that operation. No other write
//!    may produce `t`. If two reads need different writers, or `x` has no
//!    possible writer, nothing may produce `t`.
//! 4. **Unanswered writes only fill version gaps.** An unanswered write raises
//!    the version, so by rule 1 it can only be placed when every remaining
//!    completed operation needs a higher version. An unanswered `Cas` that
//!    would conflict has no effect and is never placed.
//! 5. **Symmetry of unread unanswered writes.** If no completed `Get` ever
//!    returns a write's value, its value can never be observed, so the model
//!    stores it as a single `UNREAD` token. All available unread unanswered
//!    `Put`s are then interchangeable, and so are all unread unanswered `Cas`es
//!    with the same expected version. Only the earliest-invoked unlinearized
//!    member of each class is tried, so the linearized members of a class are
//!    always a prefix of it (asserted). The unread `Cas` expecting the current
//!    version also dominates an unread `Put`. It produces the same state and
//!    could never be used later, while the `Put` could. So when it is
//!    available, the `Put` class is not tried at this node.
//!
//! Together these rules make the search follow a single path, with no
//! backtracking, on a linearizable history with unique values.
//!
//! Like Porcupine, the checker splits a history only by key (Porcupine's
//! `Partition` function, which a model may supply; the simulator calls
//! [`check_key`] per key), never in time: neither looks for quiescent
//! points. Unanswered operations would span them anyway, and the search is
//! already linear on the histories the simulator produces. Porcupine keeps
//! unanswered operations as ordinary ones returning at the end of time and
//! prunes by its cache alone; rules 1 to 5 are this checker's own.
//!
//! ## Explaining a failure
//!
//! A history found not linearizable is searched once more
//! (`search::Mode::Explain`) without rules 1, 3 and 4, which cut branches
//! that cannot be completed and so may cut the longest prefixes; rules 2 and
//! 5 never shorten a prefix and stay. That walk keeps the order of its
//! deepest dead end, the valid partial linearization placing the most
//! completed operations: Porcupine's longest partial linearization, which
//! the report and the timeline page draw. After it every operation that
//! could come next fails; the one blamed is one that can never be placed,
//! because it needs a version the key has already passed (or the current
//! one with another value), if there is one. Should the explanation find a
//! whole linearization, the decision's pruning was wrong: it panics, with the
//! linearization self-checked first.
//!
//! ## Memo and budget
//!
//! `S` is fingerprinted with 128-bit Zobrist hashing. Each operation gets a
//! fixed pseudo-random key, and the keys are XOR-ed in or out as operations
//! are lifted and unlifted. A memo lookup is O(1) and an entry is 16 bytes.
//! The memo key is `Z(S) ^ (version << 32 | value)`, and the map uses a
//! fixed (deterministic) hasher. Two different configurations collide with
//! probability 2^-128 per pair. A collision can only *prune* a branch. It can
//! turn a pass into `NotLinearizable`, never the other way round. Every step
//! of the search (a node start, a candidate tried, a backtrack) counts
//! against the budget. The memo gains at most one entry per step, so memory
//! is bounded by the budget. When the budget runs out the verdict is
//! [`Verdict::Inconclusive`]. The explanation has a budget of the same size;
//! if it runs out, its deepest prefix is extended greedily and reported as
//! the longest found, not the longest there is.
//!
//! ## Self-check
//!
//! Before `Linearizable` is returned, the linearization found is replayed
//! against [`step`] on the caller's original values. The replay `assert!`s
//! that every completed result matches, that every completed operation is
//! present, and that real-time order is respected. A bug in the pruning can
//! therefore cause a panic, but never a silent pass.

mod explain;
#[cfg(feature = "history-generator")]
mod generator;
mod prepare;
mod search;

#[cfg(feature = "history-generator")]
pub use generator::generate_history;

use prepare::Prepared;
use search::{Ended, Mode, Search};

/// The default step budget, the one default there is: the simulator's
/// `limits.linearizability_steps_max` starts from it. Far above what
/// fuzz-sized histories need (2-8 steps per operation on linearizable
/// histories).
pub const BUDGET_STEPS_DEFAULT: u64 = 1_000_000;

/// An operation on a single key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyOp {
    Put { value: u64 },
    Get,
    Cas { expected_version: u64, value: u64 },
}

/// The observed (or model-produced) result of a [`KeyOp`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyResult {
    PutOk {
        version: u64,
    },
    /// `None` if the key is absent, else `(value, version)`.
    Get(Option<(u64, u64)>),
    CasOk {
        version: u64,
    },
    CasConflict {
        current_version: u64,
    },
}

/// The state of one key. Reachable states have `value.is_some()` iff
/// `version > 0`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct KeyState {
    pub version: u64,
    pub value: Option<u64>,
}

/// One client operation on the key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operation {
    pub client: u32,
    pub op: KeyOp,
    pub invoke_us: u64,
    /// `Some((return_us, result))` if answered. `None` means never answered: it
    /// may or may not have taken effect, at any time after `invoke_us`.
    pub complete: Option<(u64, KeyResult)>,
}

/// The outcome of [`check_key`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Linearizable,
    /// No order exists. `longest_prefix` is a longest linearizable prefix:
    /// input indices in linearization order (unanswered writes included
    /// where they take effect), a valid partial linearization that places
    /// the most completed operations; the longest there is if `exhaustive`,
    /// else the longest found within the budget. `stuck_op` (an input index)
    /// is a completed operation that could come next after it, in real
    /// time, and whose result the model cannot give there.
    NotLinearizable {
        stuck_op: usize,
        longest_prefix: Vec<usize>,
        exhaustive: bool,
    },
    /// The search exceeded `budget_steps` without deciding. Never treat as pass.
    Inconclusive {
        steps: u64,
    },
}

/// Apply the model: returns the next state and the result `op` produces.
pub fn step(state: KeyState, op: KeyOp) -> (KeyState, KeyResult) {
    match op {
        KeyOp::Put { value } => {
            let version = state.version + 1;
            (
                KeyState {
                    version,
                    value: Some(value),
                },
                KeyResult::PutOk { version },
            )
        }
        KeyOp::Get => {
            let seen = if state.version == 0 {
                None
            } else {
                state.value.map(|v| (v, state.version))
            };
            (state, KeyResult::Get(seen))
        }
        KeyOp::Cas {
            expected_version,
            value,
        } => {
            if state.version == expected_version {
                let version = state.version + 1;
                (
                    KeyState {
                        version,
                        value: Some(value),
                    },
                    KeyResult::CasOk { version },
                )
            } else {
                (
                    state,
                    KeyResult::CasConflict {
                        current_version: state.version,
                    },
                )
            }
        }
    }
}

/// Decide whether one key's history is linearizable. See the module docs.
///
/// Panics if an operation completes before it is invoked (a harness bug).
pub fn check_key(ops: &[Operation], budget_steps: u64) -> Verdict {
    let prepared = Prepared::new(ops);
    let mut search = Search::new(&prepared, Mode::Decide);
    match search.run(budget_steps) {
        Ended::Linearizable => {
            verify_witness(ops, &search.linearization());
            Verdict::Linearizable
        }
        Ended::OutOfBudget { steps } => Verdict::Inconclusive { steps },
        Ended::Exhausted { stuck } => explain::explain(ops, &prepared, stuck, budget_steps),
    }
}

/// Replays a claimed linearization against the model with the caller's own
/// values and asserts it is valid.
fn verify_witness(ops: &[Operation], order: &[usize]) {
    let mut state = KeyState::default();
    let mut placed = vec![false; ops.len()];
    for &i in order {
        assert!(!placed[i], "linearization places operation {i} twice");
        placed[i] = true;
        let (next, result) = step(state, ops[i].op);
        if let Some((_, observed)) = ops[i].complete {
            assert_eq!(
                result, observed,
                "linearization replay mismatch at operation {i}"
            );
        }
        state = next;
    }
    for (i, op) in ops.iter().enumerate() {
        assert!(
            op.complete.is_none() || placed[i],
            "completed operation {i} missing from linearization"
        );
    }
    // Real time: nothing placed later may have returned before an earlier one was invoked.
    let mut min_later_return = u64::MAX;
    for &i in order.iter().rev() {
        assert!(
            ops[i].invoke_us <= min_later_return,
            "linearization violates real-time order at operation {i}"
        );
        if let Some((ret, _)) = ops[i].complete {
            min_later_return = min_later_return.min(ret);
        }
    }
}
