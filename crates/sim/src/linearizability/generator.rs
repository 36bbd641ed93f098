//! A generator of linearizable single-key histories, for tests and
//! benchmarks of the checker. Compiled only with the `history-generator`
//! feature, so it stays out of the public API of a normal build.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{KeyOp, KeyState, Operation, step};

/// Fraction of generated operations that are never answered.
const GEN_UNANSWERED: f64 = 0.05;

/// A linearizable history for benchmarks and tests. `clients` sequential
/// clients (at least 1) run `ops` operations in total against an atomic
/// register. Each operation takes effect at a random point inside a random
/// latency window. About 5% are never answered (`complete: None`). Half of
/// those took effect, the rest never did, and the client gives up after a
/// timeout and moves on. The mix is 40% `Get`, 35% `Put`, 25% `Cas`. Written
/// values are unique. Deterministic from `seed` (ChaCha8Rng).
pub fn generate_history(seed: u64, ops: usize, clients: u32) -> Vec<Operation> {
    assert!(clients >= 1, "generate_history needs at least one client");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    struct Plan {
        client: u32,
        kind: u8,
        inv: u64,
        lin: u64,
        ret: u64,
        answered: bool,
        effective: bool,
    }
    let mut free_at: Vec<u64> = (0..clients).map(|_| rng.random_range(0..50u64)).collect();
    let mut plans = Vec::with_capacity(ops);
    for _ in 0..ops {
        // The client that is free first issues next (ties: lowest id).
        let client = (0..clients as usize)
            .min_by_key(|&c| (free_at[c], c))
            .expect("clients >= 1");
        let inv = free_at[client];
        let latency = rng.random_range(1..=200u64);
        let lin = inv + rng.random_range(0..=latency);
        let ret = inv + latency;
        let answered = !rng.random_bool(GEN_UNANSWERED);
        let effective = answered || rng.random_bool(0.5);
        let kind = match rng.random_range(0..100u32) {
            0..40 => 0u8, // Get
            40..75 => 1,  // Put
            _ => 2,       // Cas
        };
        free_at[client] = if answered {
            ret + rng.random_range(0..=30u64)
        } else {
            ret + rng.random_range(100..=300u64) // timeout, then move on
        };
        plans.push(Plan {
            client: client as u32,
            kind,
            inv,
            lin,
            ret,
            answered,
            effective,
        });
    }
    // Apply effective operations in linearization-point order.
    let mut order: Vec<usize> = (0..ops).collect();
    order.sort_by_key(|&i| (plans[i].lin, i));
    let mut state = KeyState::default();
    let mut out: Vec<Option<Operation>> = vec![None; ops];
    for i in order {
        let plan = &plans[i];
        let value = i as u64 + 1;
        let op = match plan.kind {
            0 => KeyOp::Get,
            1 => KeyOp::Put { value },
            _ => {
                let expected_version = if rng.random_bool(0.6) {
                    state.version
                } else {
                    rng.random_range(state.version.saturating_sub(2)..=state.version + 1)
                };
                KeyOp::Cas {
                    expected_version,
                    value,
                }
            }
        };
        let complete = if plan.effective {
            let (next, result) = step(state, op);
            state = next;
            plan.answered.then_some((plan.ret, result))
        } else {
            None
        };
        out[i] = Some(Operation {
            client: plan.client,
            op,
            invoke_us: plan.inv,
            complete,
        });
    }
    out.into_iter()
        .map(|o| o.expect("every op generated"))
        .collect()
}
