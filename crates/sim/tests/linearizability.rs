//! Tests for the per-key linearizability checker.

use proptest::prelude::*;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sim::linearizability::*;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

fn done(client: u32, op: KeyOp, invoke_us: u64, return_us: u64, result: KeyResult) -> Operation {
    Operation {
        client,
        op,
        invoke_us,
        complete: Some((return_us, result)),
    }
}

fn pending(client: u32, op: KeyOp, invoke_us: u64) -> Operation {
    Operation {
        client,
        op,
        invoke_us,
        complete: None,
    }
}

fn put(value: u64) -> KeyOp {
    KeyOp::Put { value }
}

fn cas(expected_version: u64, value: u64) -> KeyOp {
    KeyOp::Cas {
        expected_version,
        value,
    }
}

const GET: KeyOp = KeyOp::Get;

fn put_ok(version: u64) -> KeyResult {
    KeyResult::PutOk { version }
}

fn got(value: u64, version: u64) -> KeyResult {
    KeyResult::Get(Some((value, version)))
}

const ABSENT: KeyResult = KeyResult::Get(None);

fn check(ops: &[Operation]) -> Verdict {
    check_key(ops, BUDGET_STEPS_DEFAULT)
}

fn is_not_linearizable(v: &Verdict) -> bool {
    matches!(v, Verdict::NotLinearizable { .. })
}

/// The definition, by exhaustive search: is there a subset of the unanswered
/// operations and an order of it plus all completed operations that respects
/// real time (`a` before `b` whenever `a` returned before `b` was invoked) and
/// reproduces every completed result under `step`?
fn brute_force(ops: &[Operation]) -> bool {
    fn go(ops: &[Operation], placed: &mut Vec<bool>, state: KeyState) -> bool {
        if ops
            .iter()
            .zip(placed.iter())
            .all(|(o, &p)| p || o.complete.is_none())
        {
            return true;
        }
        for c in 0..ops.len() {
            if placed[c] {
                continue;
            }
            // Every completed op that returned before `c` was invoked must already be placed.
            let blocked = ops.iter().enumerate().any(|(a, o)| {
                !placed[a] && a != c && o.complete.is_some_and(|(ret, _)| ret < ops[c].invoke_us)
            });
            if blocked {
                continue;
            }
            let (next, result) = step(state, ops[c].op);
            if ops[c]
                .complete
                .is_some_and(|(_, observed)| observed != result)
            {
                continue;
            }
            placed[c] = true;
            let ok = go(ops, placed, next);
            placed[c] = false;
            if ok {
                return true;
            }
        }
        false
    }
    assert!(ops.len() <= 8, "brute force is exponential");
    go(ops, &mut vec![false; ops.len()], KeyState::default())
}

/// A small random history: either arbitrary (values from a tiny range, so
/// duplicates and coincidences happen) or a generated one with one field
/// possibly mutated.
fn small_history(seed: u64) -> Vec<Operation> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n = rng.random_range(1..=7usize);
    if rng.random_bool(0.5) {
        let mut h = generate_history(rng.random(), n, rng.random_range(1..=4u32));
        if rng.random_bool(0.6) {
            let i = rng.random_range(0..h.len());
            let bump = |x: u64, up: bool| if up { x + 1 } else { x.saturating_sub(1) };
            let up = rng.random_bool(0.5);
            if let Some((_, r)) = &mut h[i].complete {
                *r = match *r {
                    KeyResult::PutOk { version } => KeyResult::PutOk {
                        version: bump(version, up),
                    },
                    KeyResult::CasOk { version } => KeyResult::CasOk {
                        version: bump(version, up),
                    },
                    KeyResult::CasConflict { current_version } => KeyResult::CasConflict {
                        current_version: bump(current_version, up),
                    },
                    KeyResult::Get(None) => got(1, 1),
                    KeyResult::Get(Some((x, v))) if up => got(x, v + 1),
                    KeyResult::Get(Some((x, v))) => got(x + 1, v),
                };
            } else {
                h[i].invoke_us += rng.random_range(0..100);
            }
        }
        return h;
    }
    (0..n)
        .map(|i| {
            let value = rng.random_range(1..=3u64);
            let op = match rng.random_range(0..3) {
                0 => GET,
                1 => put(value),
                _ => cas(rng.random_range(0..=2), value),
            };
            let invoke_us = rng.random_range(0..30u64);
            let complete = rng.random_bool(0.75).then(|| {
                let v = rng.random_range(0..=3u64);
                let result = match (op, rng.random_range(0..20)) {
                    (_, 0) => put_ok(v), // occasionally a result of the wrong kind
                    (KeyOp::Put { .. }, _) => put_ok(v),
                    (KeyOp::Get, k) if k < 6 => ABSENT,
                    (KeyOp::Get, _) => got(rng.random_range(1..=3), v),
                    (KeyOp::Cas { .. }, k) if k < 10 => KeyResult::CasOk { version: v },
                    (KeyOp::Cas { .. }, _) => KeyResult::CasConflict { current_version: v },
                };
                (invoke_us + rng.random_range(0..15u64), result)
            });
            Operation {
                client: i as u32,
                op,
                invoke_us,
                complete,
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------

#[test]
fn step_implements_the_register_model() {
    let s0 = KeyState::default();
    assert_eq!(step(s0, GET), (s0, ABSENT));
    let (s1, r) = step(s0, put(7));
    assert_eq!(
        (s1, r),
        (
            KeyState {
                version: 1,
                value: Some(7)
            },
            put_ok(1)
        )
    );
    assert_eq!(step(s1, GET), (s1, got(7, 1)));
    assert_eq!(
        step(s1, cas(0, 9)),
        (s1, KeyResult::CasConflict { current_version: 1 })
    );
    let (s2, r) = step(s1, cas(1, 9));
    assert_eq!(
        (s2, r),
        (
            KeyState {
                version: 2,
                value: Some(9)
            },
            KeyResult::CasOk { version: 2 }
        )
    );
    // Cas expecting 0 on an absent key creates it.
    assert_eq!(step(s0, cas(0, 3)).1, KeyResult::CasOk { version: 1 });
}

// ---------------------------------------------------------------------------
// Hand-written histories
// ---------------------------------------------------------------------------

#[test]
fn empty_history_and_unanswered_gets_pass() {
    assert_eq!(check(&[]), Verdict::Linearizable);
    // Unanswered ops only: nothing needs explaining.
    let h = [
        pending(0, GET, 5),
        pending(1, put(1), 6),
        pending(2, cas(3, 2), 7),
    ];
    assert_eq!(check(&h), Verdict::Linearizable);
}

#[test]
fn sequential_history_passes() {
    let h = [
        done(0, GET, 0, 10, ABSENT),
        done(0, put(1), 20, 30, put_ok(1)),
        done(1, GET, 40, 50, got(1, 1)),
        done(1, put(2), 60, 70, put_ok(2)),
        done(0, GET, 80, 90, got(2, 2)),
        done(0, cas(2, 3), 100, 110, KeyResult::CasOk { version: 3 }),
        done(1, GET, 120, 130, got(3, 3)),
    ];
    assert_eq!(check(&h), Verdict::Linearizable);
    assert!(brute_force(&h));
}

#[test]
fn stale_read_fails_and_is_blamed() {
    let h = [
        done(0, put(1), 0, 10, put_ok(1)),
        done(0, put(2), 20, 30, put_ok(2)),
        done(1, GET, 40, 50, got(1, 1)), // Put(2) completed before this Get was invoked
    ];
    assert_eq!(
        check(&h),
        Verdict::NotLinearizable {
            stuck_op: 2,
            longest_prefix: vec![0, 1],
            exhaustive: true,
        }
    );
    // The same read concurrent with Put(2) is fine.
    let mut ok = h.clone();
    ok[2].invoke_us = 25;
    assert_eq!(check(&ok), Verdict::Linearizable);
}

#[test]
fn lost_update_fails() {
    let h = [
        done(0, put(1), 0, 10, put_ok(1)),
        done(1, put(2), 20, 30, put_ok(1)),
    ];
    assert_eq!(
        check(&h),
        Verdict::NotLinearizable {
            stuck_op: 1,
            longest_prefix: vec![0],
            exhaustive: true,
        }
    );
    // Even when concurrent, two writes cannot produce the same version.
    let concurrent = [
        done(0, put(1), 0, 30, put_ok(1)),
        done(1, put(2), 10, 40, put_ok(1)),
    ];
    assert!(is_not_linearizable(&check(&concurrent)));
}

#[test]
fn concurrent_ops_that_can_be_ordered_pass() {
    let h = [
        done(0, put(1), 0, 100, put_ok(1)),
        done(1, GET, 10, 20, ABSENT),    // before the put took effect
        done(2, GET, 30, 40, got(1, 1)), // after
        done(1, GET, 50, 60, got(1, 1)),
    ];
    assert_eq!(check(&h), Verdict::Linearizable);
    // Two overlapping puts that took effect in the opposite order of invocation.
    let h = [
        done(0, put(1), 0, 50, put_ok(2)),
        done(1, put(2), 10, 20, put_ok(1)),
        done(2, GET, 60, 70, got(1, 2)),
    ];
    assert_eq!(check(&h), Verdict::Linearizable);
    // ...but not if the first put returned before the second was invoked.
    let mut bad = h.clone();
    bad[0].complete = Some((5, put_ok(2)));
    assert!(is_not_linearizable(&check(&bad)));
    // A read that goes back in time across overlapping reads fails.
    let h = [
        done(0, put(1), 0, 100, put_ok(1)),
        done(1, GET, 10, 20, got(1, 1)),
        done(2, GET, 30, 40, ABSENT),
    ];
    assert!(is_not_linearizable(&check(&h)));
}

#[test]
fn equal_timestamps_count_as_concurrent() {
    // The Get is invoked at the same microsecond Put(2) returns.
    let h = [
        done(0, put(1), 0, 10, put_ok(1)),
        done(0, put(2), 10, 20, put_ok(2)),
        done(1, GET, 20, 30, got(1, 1)),
    ];
    assert_eq!(check(&h), Verdict::Linearizable);
    assert!(brute_force(&h));
}

#[test]
fn cas_semantics() {
    let ok = [
        done(0, cas(0, 1), 0, 10, KeyResult::CasOk { version: 1 }), // creates the key
        done(
            1,
            cas(0, 2),
            20,
            30,
            KeyResult::CasConflict { current_version: 1 },
        ),
        done(0, cas(1, 3), 40, 50, KeyResult::CasOk { version: 2 }),
        done(1, GET, 60, 70, got(3, 2)),
    ];
    assert_eq!(check(&ok), Verdict::Linearizable);

    // Two Cas expecting version 0 cannot both succeed.
    let both = [
        done(0, cas(0, 1), 0, 10, KeyResult::CasOk { version: 1 }),
        done(1, cas(0, 2), 20, 30, KeyResult::CasOk { version: 1 }),
    ];
    assert!(is_not_linearizable(&check(&both)));

    // A conflict must report a version different from the expected one...
    let same = [done(
        0,
        cas(0, 1),
        0,
        10,
        KeyResult::CasConflict { current_version: 0 },
    )];
    assert_eq!(
        check(&same),
        Verdict::NotLinearizable {
            stuck_op: 0,
            longest_prefix: vec![],
            exhaustive: true,
        }
    );
    // ...and the actual current version.
    let wrong = [
        done(0, put(1), 0, 10, put_ok(1)),
        done(
            1,
            cas(0, 2),
            20,
            30,
            KeyResult::CasConflict { current_version: 2 },
        ),
    ];
    assert!(is_not_linearizable(&check(&wrong)));
    // A Cas cannot succeed with a version other than expected + 1.
    let skip = [done(0, cas(0, 1), 0, 10, KeyResult::CasOk { version: 2 })];
    assert!(is_not_linearizable(&check(&skip)));
    // A conflicting Cas does not change the state.
    let no_effect = [
        done(0, put(1), 0, 10, put_ok(1)),
        done(
            1,
            cas(0, 2),
            20,
            30,
            KeyResult::CasConflict { current_version: 1 },
        ),
        done(0, GET, 40, 50, got(2, 2)),
    ];
    assert!(is_not_linearizable(&check(&no_effect)));
}

#[test]
fn unanswered_put_that_must_have_taken_effect_passes() {
    let h = [pending(0, put(1), 0), done(1, GET, 10, 20, got(1, 1))];
    assert_eq!(check(&h), Verdict::Linearizable);
    // Without the unanswered put the read is unexplainable.
    assert!(is_not_linearizable(&check(&h[1..])));

    // An unanswered put explains a version gap without its value being read.
    let gap = [
        pending(0, put(1), 0),
        done(1, put(2), 10, 20, put_ok(2)),
        done(2, GET, 30, 40, got(2, 2)),
    ];
    assert_eq!(check(&gap), Verdict::Linearizable);
    // One unanswered put cannot explain a gap of two.
    let mut gap2 = gap.clone();
    gap2[1].complete = Some((20, put_ok(3)));
    gap2[2].complete = Some((40, got(2, 3)));
    assert!(is_not_linearizable(&check(&gap2)));
    // But two can.
    let mut gap2b = gap2.to_vec();
    gap2b.push(pending(3, put(9), 1));
    assert_eq!(check(&gap2b), Verdict::Linearizable);

    // Unanswered Cas: takes effect only if the expected version matches.
    let h = [pending(0, cas(0, 5), 0), done(1, GET, 10, 20, got(5, 1))];
    assert_eq!(check(&h), Verdict::Linearizable);
    let h = [pending(0, cas(1, 5), 0), done(1, GET, 10, 20, got(5, 1))];
    assert!(is_not_linearizable(&check(&h)));
}

#[test]
fn order_of_unanswered_writes_matters_with_duplicate_values() {
    // Values 5 and 6 each have two writers. The same set of linearized ops
    // ({Put 5, Put 6} unanswered) is reached with two different states, and
    // only one of them (6 then 5) explains the read.
    let h = [
        pending(0, put(5), 0),
        pending(1, put(6), 0),
        done(2, GET, 50, 60, got(5, 2)),
        done(2, put(5), 100, 110, put_ok(3)),
        done(2, put(6), 120, 130, put_ok(4)),
        done(2, GET, 140, 150, got(6, 4)),
    ];
    assert_eq!(check(&h), Verdict::Linearizable);
    assert!(brute_force(&h));
    let mut bad = h.to_vec();
    bad[2].complete = Some((60, got(5, 3)));
    assert!(is_not_linearizable(&check(&bad)));
    assert!(!brute_force(&bad));
}

#[test]
fn unanswered_put_may_also_never_take_effect() {
    let h = [
        pending(0, put(1), 0),
        done(1, GET, 10, 20, ABSENT),
        done(1, put(2), 30, 40, put_ok(1)),
        done(1, GET, 1_000, 1_010, got(2, 1)),
    ];
    assert_eq!(check(&h), Verdict::Linearizable);
}

#[test]
fn unanswered_put_read_before_its_invocation_fails() {
    let h = [done(1, GET, 0, 10, got(1, 1)), pending(0, put(1), 20)];
    assert!(is_not_linearizable(&check(&h)));
    // Invoked while the read was in flight: fine.
    let h = [done(1, GET, 0, 10, got(1, 1)), pending(0, put(1), 5)];
    assert_eq!(check(&h), Verdict::Linearizable);
}

#[test]
fn read_of_a_value_nobody_wrote_fails() {
    let h = [
        done(0, put(1), 0, 10, put_ok(1)),
        done(1, GET, 20, 30, got(42, 1)),
    ];
    assert_eq!(
        check(&h),
        Verdict::NotLinearizable {
            stuck_op: 1,
            longest_prefix: vec![0],
            exhaustive: true,
        }
    );
}

#[test]
fn not_linearizable_reports_valid_indices() {
    for seed in 0..300 {
        let h = small_history(seed);
        if let Verdict::NotLinearizable {
            stuck_op,
            longest_prefix,
            ..
        } = check(&h)
        {
            assert!(
                stuck_op < h.len() && longest_prefix.iter().all(|&i| i < h.len()),
                "seed {seed}"
            );
            assert!(
                h[stuck_op].complete.is_some(),
                "seed {seed}: blamed an unanswered op"
            );
        }
    }
}

#[test]
#[should_panic(expected = "before its invocation")]
fn malformed_timestamps_panic() {
    check(&[done(0, GET, 10, 5, ABSENT)]);
}

// ---------------------------------------------------------------------------
// Generated histories
// ---------------------------------------------------------------------------

#[test]
fn generator_is_deterministic_and_well_formed() {
    assert_eq!(generate_history(7, 500, 4), generate_history(7, 500, 4));
    assert_ne!(generate_history(7, 500, 4), generate_history(8, 500, 4));
    let h = generate_history(3, 2_000, 5);
    assert_eq!(h.len(), 2_000);
    // Each client is sequential: an answered op returns before its next invocation.
    for c in 0..5 {
        let mine: Vec<&Operation> = h.iter().filter(|o| o.client == c).collect();
        assert!(mine.len() > 100);
        for w in mine.windows(2) {
            let free = w[0].complete.map_or(w[0].invoke_us, |(ret, _)| ret);
            assert!(free <= w[1].invoke_us);
        }
    }
    let unanswered = h.iter().filter(|o| o.complete.is_none()).count();
    assert!((20..=200).contains(&unanswered), "{unanswered} unanswered");
    let conflicts = h
        .iter()
        .filter(|o| matches!(o.complete, Some((_, KeyResult::CasConflict { .. }))))
        .count();
    let cas_ok = h
        .iter()
        .filter(|o| matches!(o.complete, Some((_, KeyResult::CasOk { .. }))))
        .count();
    assert!(conflicts > 20 && cas_ok > 20);
}

#[test]
fn generated_histories_are_linearizable() {
    for seed in 0..400u64 {
        let ops = [0, 1, 2, 5, 20, 100, 300][seed as usize % 7];
        let clients = 1 + (seed % 8) as u32;
        let h = generate_history(seed, ops, clients);
        assert_eq!(
            check(&h),
            Verdict::Linearizable,
            "seed {seed} ops {ops} clients {clients}"
        );
    }
    for (seed, clients) in [(1, 2), (2, 4), (3, 8), (4, 16)] {
        let h = generate_history(seed, 10_000, clients);
        assert_eq!(
            check(&h),
            Verdict::Linearizable,
            "seed {seed} clients {clients}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn generated_histories_are_linearizable_prop(seed in any::<u64>(), ops in 0usize..2_000, clients in 1u32..=8) {
        let h = generate_history(seed, ops, clients);
        prop_assert_eq!(check(&h), Verdict::Linearizable);
    }
}

/// Indices of completed ops matching `pred`.
fn completed_where(h: &[Operation], pred: impl Fn(&KeyOp, &KeyResult) -> bool) -> Vec<usize> {
    (0..h.len())
        .filter(|&i| h[i].complete.is_some_and(|(_, r)| pred(&h[i].op, &r)))
        .collect()
}

#[test]
fn provably_wrong_mutations_are_caught() {
    let mut tried = [0usize; 4];
    for seed in 0..60u64 {
        let clients = 2 + (seed % 7) as u32;
        let h = generate_history(seed, 1_500, clients);
        let writes = h.iter().filter(|o| !matches!(o.op, KeyOp::Get)).count() as u64;
        let reads = completed_where(&h, |_, r| matches!(r, KeyResult::Get(Some(_))));
        let puts = completed_where(&h, |_, r| matches!(r, KeyResult::PutOk { .. }));
        let pick = |v: &[usize], k: u64| v[(k as usize * 7919) % v.len()];

        // 1. A read of a value nobody wrote (generated values are 1..=ops).
        let mut m = h.clone();
        let i = pick(&reads, seed);
        if let Some((_, KeyResult::Get(Some((x, _))))) = &mut m[i].complete {
            *x = u64::MAX;
        }
        assert!(
            is_not_linearizable(&check(&m)),
            "seed {seed}: foreign value"
        );
        tried[0] += 1;

        // 2. Two completed writes claiming the same version.
        let mut m = h.clone();
        let (a, b) = (pick(&puts, seed), pick(&puts, seed + 1));
        if a != b {
            let Some((_, KeyResult::PutOk { version })) = h[b].complete else {
                unreachable!()
            };
            m[a].complete = Some((h[a].complete.unwrap().0, put_ok(version)));
            assert!(
                is_not_linearizable(&check(&m)),
                "seed {seed}: duplicate version"
            );
            tried[1] += 1;
        }

        // 3. A read of a version higher than the number of writes in the history.
        let mut m = h.clone();
        let i = pick(&reads, seed + 2);
        if let Some((_, KeyResult::Get(Some((_, v))))) = &mut m[i].complete {
            *v = writes + 1;
        }
        assert!(
            is_not_linearizable(&check(&m)),
            "seed {seed}: impossible version"
        );
        tried[2] += 1;

        // 4. A read whose value was written by a *completed* op, bumped to a later
        //    version: the unique writer of that value claims a different version.
        let completed_value = |x: u64| {
            h.iter().any(|o| {
                o.complete.is_some_and(|(_, r)| {
                    matches!(r, KeyResult::PutOk { .. } | KeyResult::CasOk { .. })
                }) && matches!(o.op, KeyOp::Put { value } | KeyOp::Cas { value, .. } if value == x)
            })
        };
        let eligible: Vec<usize> = reads
            .iter()
            .copied()
            .filter(|&i| matches!(h[i].complete, Some((_, KeyResult::Get(Some((x, _))))) if completed_value(x)))
            .collect();
        let mut m = h.clone();
        let i = pick(&eligible, seed + 3);
        if let Some((_, KeyResult::Get(Some((_, v))))) = &mut m[i].complete {
            *v += 1;
        }
        assert!(
            is_not_linearizable(&check(&m)),
            "seed {seed}: bumped read version"
        );
        tried[3] += 1;
    }
    assert!(tried.iter().all(|&t| t >= 50), "{tried:?}");
}

#[test]
fn most_random_version_bumps_are_caught() {
    let mut caught = 0;
    let total = 200;
    for seed in 0..total {
        let h = generate_history(seed, 500, 4);
        let completed = completed_where(&h, |_, _| true);
        let i = completed[seed as usize * 31 % completed.len()];
        let mut m = h.clone();
        if let Some((_, r)) = &mut m[i].complete {
            *r = match *r {
                KeyResult::PutOk { version } => put_ok(version + 1),
                KeyResult::CasOk { version } => KeyResult::CasOk {
                    version: version + 1,
                },
                KeyResult::CasConflict { current_version } => KeyResult::CasConflict {
                    current_version: current_version + 1,
                },
                KeyResult::Get(None) => got(1, 1),
                KeyResult::Get(Some((x, v))) => got(x, v + 1),
            };
        }
        let v = check(&m);
        assert!(!matches!(v, Verdict::Inconclusive { .. }), "seed {seed}");
        caught += (v != Verdict::Linearizable) as u32;
    }
    assert!(
        caught >= total as u32 * 8 / 10,
        "only {caught}/{total} bumps caught"
    );
}

#[test]
fn verdict_does_not_depend_on_input_order() {
    for seed in 0..300u64 {
        let mut h = small_history(seed);
        if seed % 3 == 0 {
            h = generate_history(seed, 200, 3);
        }
        let expected = check(&h) == Verdict::Linearizable;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        for i in (1..h.len()).rev() {
            h.swap(i, rng.random_range(0..=i));
        }
        assert_eq!(check(&h) == Verdict::Linearizable, expected, "seed {seed}");
    }
}

// ---------------------------------------------------------------------------
// Budget
// ---------------------------------------------------------------------------

#[test]
fn tiny_budget_is_inconclusive() {
    let h = generate_history(11, 5_000, 8);
    assert_eq!(check_key(&h, 100), Verdict::Inconclusive { steps: 100 });
    assert_eq!(check_key(&h, 0), Verdict::Inconclusive { steps: 0 });
    assert_eq!(check_key(&h, BUDGET_STEPS_DEFAULT), Verdict::Linearizable);
    // A failing history is not reported as failing within too small a budget either.
    let bad = [
        done(0, put(1), 0, 10, put_ok(1)),
        done(0, put(2), 20, 30, put_ok(2)),
        done(1, GET, 40, 50, got(1, 1)),
    ];
    assert!(matches!(check_key(&bad, 2), Verdict::Inconclusive { .. }));
}

#[test]
fn the_simulator_and_the_module_share_one_default_budget() {
    assert_eq!(
        sim::Limits::default().linearizability_steps_max,
        BUDGET_STEPS_DEFAULT
    );
}

// ---------------------------------------------------------------------------
// Agreement with the brute-force definition
// ---------------------------------------------------------------------------

fn agrees(seed: u64) -> Result<bool, String> {
    let h = small_history(seed);
    let reference = brute_force(&h);
    let verdict = check(&h);
    let explained = match &verdict {
        Verdict::NotLinearizable {
            stuck_op,
            longest_prefix,
            exhaustive,
        } => check_explanation(&h, *stuck_op, longest_prefix, *exhaustive),
        _ => Ok(()),
    };
    match (&verdict, reference, explained) {
        (Verdict::Linearizable, true, _) | (Verdict::NotLinearizable { .. }, false, Ok(())) => {
            Ok(reference)
        }
        (_, _, explained) => Err(format!(
            "seed {seed}: check_key {verdict:?}, brute force {reference}, explanation \
             {explained:?}\n{h:#?}"
        )),
    }
}

/// Whether `c` may be placed next after the operations `placed`: every
/// completed operation that returned before `c` was invoked is placed.
fn may_come_next(h: &[Operation], placed: &[bool], c: usize) -> bool {
    !h.iter().enumerate().any(|(a, o)| {
        !placed[a] && a != c && o.complete.is_some_and(|(ret, _)| ret < h[c].invoke_us)
    })
}

/// The most completed operations any valid prefix places, by exhaustive
/// search over every order (the definition, with no pruning at all).
fn longest_prefix_completed(h: &[Operation]) -> usize {
    fn go(h: &[Operation], placed: &mut Vec<bool>, state: KeyState) -> usize {
        let mut best = 0;
        for c in 0..h.len() {
            if placed[c] || !may_come_next(h, placed, c) {
                continue;
            }
            let (next, result) = step(state, h[c].op);
            if h[c]
                .complete
                .is_some_and(|(_, observed)| observed != result)
            {
                continue;
            }
            placed[c] = true;
            let deeper = go(h, placed, next) + usize::from(h[c].complete.is_some());
            placed[c] = false;
            best = best.max(deeper);
        }
        best
    }
    assert!(h.len() <= 8, "brute force is exponential");
    go(h, &mut vec![false; h.len()], KeyState::default())
}

/// The version a completed operation needs to be current when it takes
/// effect, read off its result; `None` for a result the model never gives.
fn required_version(o: &Operation) -> Option<u64> {
    match (o.op, o.complete?.1) {
        (KeyOp::Put { .. }, KeyResult::PutOk { version }) => version.checked_sub(1),
        (KeyOp::Get, KeyResult::Get(None)) => Some(0),
        (KeyOp::Get, KeyResult::Get(Some((_, version)))) => Some(version),
        (
            KeyOp::Cas {
                expected_version, ..
            },
            KeyResult::CasOk { version },
        ) if version == expected_version + 1 => Some(expected_version),
        (
            KeyOp::Cas {
                expected_version, ..
            },
            KeyResult::CasConflict { current_version },
        ) if current_version != expected_version => Some(current_version),
        _ => None,
    }
}

/// The explanation of a failure, judged by brute force: the prefix is a
/// valid partial linearization placing as many completed operations as any
/// can; the blamed operation is completed, could come next in real time,
/// and its result is not the model's there; and if some such operation
/// needs a version the key has already reached or passed (so it can never
/// be placed), the blamed one is such an operation.
fn check_explanation(
    h: &[Operation],
    stuck: usize,
    prefix: &[usize],
    exhaustive: bool,
) -> Result<(), String> {
    if !exhaustive {
        return Err("a small history is explained exhaustively".into());
    }
    let mut placed = vec![false; h.len()];
    let mut state = KeyState::default();
    for &i in prefix {
        if placed[i] || !may_come_next(h, &placed, i) {
            return Err(format!("the prefix cannot place {i} there"));
        }
        let (next, result) = step(state, h[i].op);
        if h[i]
            .complete
            .is_some_and(|(_, observed)| observed != result)
        {
            return Err(format!("the prefix places {i}, whose result differs there"));
        }
        placed[i] = true;
        state = next;
    }
    let completed = prefix.iter().filter(|&&i| h[i].complete.is_some()).count();
    let longest = longest_prefix_completed(h);
    if completed != longest {
        return Err(format!(
            "the prefix places {completed} completed operations, the longest {longest}"
        ));
    }
    let fails_next = |c: usize| {
        !placed[c]
            && may_come_next(h, &placed, c)
            && h[c]
                .complete
                .is_some_and(|(_, observed)| step(state, h[c].op).1 != observed)
    };
    if !fails_next(stuck) {
        return Err(format!("operation {stuck} is not one that fails next"));
    }
    let stale = |c: usize| required_version(&h[c]).is_none_or(|v| v <= state.version);
    if (0..h.len()).any(|c| fails_next(c) && stale(c)) && !stale(stuck) {
        return Err(format!(
            "operation {stuck} may yet be placed, while another never can"
        ));
    }
    Ok(())
}

#[test]
fn the_read_that_cannot_be_placed_is_blamed_after_the_longest_prefix() {
    // An unanswered Put that a quick read observes, 27 completed writes in a
    // row, then a read that finds the key absent. The last read is the one
    // that cannot be placed, after all 29 others; the quick read is
    // innocent. (The search once blamed the quick read, after an empty
    // order: rejecting the unanswered Put, it recorded no operation.)
    let build = |writes: u64| {
        let mut h = vec![pending(0, put(100), 0), done(1, GET, 1, 2, got(100, 1))];
        for i in 1..=writes {
            h.push(done(2, put(i), 10 * i, 10 * i + 5, put_ok(i + 1)));
        }
        h.push(done(3, GET, 1_000, 1_010, ABSENT));
        h
    };
    let h = build(27);
    let Verdict::NotLinearizable {
        stuck_op,
        longest_prefix,
        exhaustive,
    } = check(&h)
    else {
        panic!("the history is not linearizable");
    };
    assert_eq!(stuck_op, 29, "the read of nothing is blamed");
    assert!(exhaustive);
    assert_eq!(longest_prefix, (0..29).collect::<Vec<usize>>());
    // The same shape, small enough for the brute force to judge.
    let small = build(3);
    assert!(!brute_force(&small));
    let Verdict::NotLinearizable {
        stuck_op,
        longest_prefix,
        exhaustive,
    } = check(&small)
    else {
        panic!("the small history is not linearizable");
    };
    assert_eq!(stuck_op, 5);
    assert_eq!(
        check_explanation(&small, stuck_op, &longest_prefix, exhaustive),
        Ok(())
    );
}

#[test]
fn explanations_place_the_unanswered_writes_they_need() {
    // A read of an unanswered Put's value, then a stale read: the longest
    // prefix places the unanswered Put before the first read.
    let h = [
        pending(0, put(7), 0),
        done(1, GET, 5, 10, got(7, 1)),
        done(1, put(8), 20, 30, put_ok(2)),
        done(2, GET, 40, 50, got(7, 1)),
    ];
    let Verdict::NotLinearizable {
        stuck_op,
        longest_prefix,
        exhaustive,
    } = check(&h)
    else {
        panic!("the stale read fails");
    };
    assert_eq!((stuck_op, longest_prefix.clone()), (3, vec![0, 1, 2]));
    assert_eq!(
        check_explanation(&h, stuck_op, &longest_prefix, exhaustive),
        Ok(())
    );
}

#[test]
fn agrees_with_brute_force_on_many_small_histories() {
    let (mut yes, mut no) = (0, 0);
    for seed in 0..20_000u64 {
        match agrees(seed) {
            Ok(true) => yes += 1,
            Ok(false) => no += 1,
            Err(e) => panic!("{e}"),
        }
    }
    // Both outcomes must be well represented for the comparison to mean anything.
    assert!(yes > 3_000 && no > 3_000, "{yes} linearizable, {no} not");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3_000))]
    #[test]
    fn agrees_with_brute_force(seed in any::<u64>()) {
        if let Err(e) = agrees(seed) {
            return Err(TestCaseError::fail(e));
        }
    }
}
