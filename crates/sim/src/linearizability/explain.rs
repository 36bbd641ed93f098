//! Why a key's history is not linearizable, in the terms Porcupine draws:
//! the longest linearizable prefix, and the operation that cannot come
//! after it.
//!
//! The prefix comes from a second walk of the search in explain mode (see
//! the module doc); the blame is worked out here from the caller's own
//! operations and the model, not from the search's tables.

use super::prepare::Prepared;
use super::search::{Ended, Mode, Search};
use super::{KeyOp, KeyResult, KeyState, Operation, Verdict, step, verify_witness};

/// The failure of `ops`, which the decision found not linearizable, with
/// `hint` (an input index) the operation that blocked the decision's
/// deepest point: preferred when it is one of the operations to blame.
pub(super) fn explain(
    ops: &[Operation],
    prepared: &Prepared,
    hint: usize,
    budget_steps: u64,
) -> Verdict {
    let mut search = Search::new(prepared, Mode::Explain);
    let exhaustive = match search.run(budget_steps) {
        Ended::Exhausted { .. } => true,
        Ended::OutOfBudget { .. } => false,
        Ended::Linearizable => {
            let order = search.linearization();
            verify_witness(ops, &order);
            panic!(
                "the linearizability search rejected a linearizable history (a pruning rule \
                 is unsound); a linearization: {order:?}"
            );
        }
    };
    let mut prefix = search.deepest_prefix();
    let stuck_op = blame(ops, &mut prefix, hint);
    Verdict::NotLinearizable {
        stuck_op,
        longest_prefix: prefix,
        exhaustive,
    }
}

/// The operation that cannot be placed after `prefix`: among the completed
/// operations that could come next in real time and whose result the model
/// cannot give there, one that can never be placed (it needs a version the
/// key has passed, or the current one with another value), `hint` first,
/// then the earliest to return. If every candidate could be placed (only
/// after an explanation cut short by its budget), the prefix is extended by
/// the earliest to return, and so on.
fn blame(ops: &[Operation], prefix: &mut Vec<usize>, hint: usize) -> usize {
    let mut placed = vec![false; ops.len()];
    let mut state = KeyState::default();
    for &index in prefix.iter() {
        assert!(!placed[index], "the prefix places operation {index} twice");
        placed[index] = true;
        state = step(state, ops[index].op).0;
    }
    loop {
        let remaining = || (0..ops.len()).filter(|&i| !placed[i] && ops[i].complete.is_some());
        let Some(frontier_us) = remaining().map(|i| returned(&ops[i]).0).min() else {
            panic!(
                "the linearizability search rejected a linearizable history (a pruning rule is \
                 unsound): every completed operation fits after {prefix:?}"
            );
        };
        let mut candidates: Vec<usize> = remaining()
            .filter(|&i| ops[i].invoke_us <= frontier_us)
            .collect();
        candidates.sort_by_key(|&i| (returned(&ops[i]).0, i));
        let failing: Vec<usize> = candidates
            .iter()
            .copied()
            .filter(|&i| step(state, ops[i].op).1 != returned(&ops[i]).1)
            .collect();
        let Some(&first_failing) = failing.first() else {
            let next = candidates[0];
            placed[next] = true;
            state = step(state, ops[next].op).0;
            prefix.push(next);
            continue;
        };
        let stale: Vec<usize> = failing
            .iter()
            .copied()
            .filter(|&i| never_placeable(state, &ops[i]))
            .collect();
        if stale.contains(&hint) {
            return hint;
        }
        if let Some(&first) = stale.first() {
            return first;
        }
        return if failing.contains(&hint) {
            hint
        } else {
            first_failing
        };
    }
}

fn returned(op: &Operation) -> (u64, KeyResult) {
    op.complete.expect("only completed operations are blamed")
}

/// Whether completed `op`, whose result the model does not give in `state`,
/// can never take effect later: versions only grow, so an operation needing
/// the current version or an older one, or a result the model never gives
/// at all, is stuck for good. One needing a later version may yet be placed.
fn never_placeable(state: KeyState, op: &Operation) -> bool {
    let required_version = match (op.op, returned(op).1) {
        (KeyOp::Put { .. }, KeyResult::PutOk { version }) => version.checked_sub(1),
        (KeyOp::Get, KeyResult::Get(None)) => Some(0),
        (KeyOp::Get, KeyResult::Get(Some((_, version)))) => Some(version),
        (
            KeyOp::Cas {
                expected_version, ..
            },
            KeyResult::CasOk { version },
        ) if expected_version.checked_add(1) == Some(version) => Some(expected_version),
        (
            KeyOp::Cas {
                expected_version, ..
            },
            KeyResult::CasConflict { current_version },
        ) if current_version != expected_version => Some(current_version),
        _ => None,
    };
    required_version.is_none_or(|version| version <= state.version)
}
