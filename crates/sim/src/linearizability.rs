//! Per-key linearizability checking for the key-value store.
//!
//! The simulator splits a run's client history by key (keys are independent
//! registers) and calls [`check_key`] on each part. This module knows nothing
//! about JSON: values are `u64` ids interned by the caller, and every written
//! value is expected to be unique (the checker stays correct if they are not,
//! it only prunes less).
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
//! This is the Wing & Gong search as refined by Lowe and used by Knossos and
//! Porcupine. Completed operations become call/return events sorted by time
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
//! backtracking, on a linearizable history with unique values. Unlike
//! Porcupine, the checker does not split the history into quiescent segments.
//! Unanswered operations span every later quiescent point, and the search is
//! already linear, so that split would add risk for no gain.
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
//! [`Verdict::Inconclusive`].
//!
//! ## Self-check
//!
//! Before `Linearizable` is returned, the linearization found is replayed
//! against [`step`] on the caller's original values. The replay `assert!`s
//! that every completed result matches, that every completed operation is
//! present, and that real-time order is respected. A bug in the pruning can
//! therefore cause a panic, but never a silent pass.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A default step budget: far above what fuzz-sized histories need (2-8
/// steps per operation on linearizable histories).
pub const BUDGET_STEPS_DEFAULT: u64 = 2_000_000;

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
    /// No order exists. `longest_prefix` is the length (in operations, counting
    /// unanswered ones placed) of the deepest valid partial linearization the
    /// search reached. `stuck_op` is the index (into the input slice) of the
    /// operation that could not be placed after it.
    NotLinearizable {
        stuck_op: usize,
        longest_prefix: usize,
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
    let mut search = Search::new(&prepared);
    let verdict = search.run(budget_steps);
    if verdict == Verdict::Linearizable {
        let order: Vec<usize> = search
            .stack
            .iter()
            .map(|f| prepared.orig[f.op as usize])
            .collect();
        verify_witness(ops, &order);
    }
    verdict
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

// ---------------------------------------------------------------------------
// Preprocessing
// ---------------------------------------------------------------------------

const INF: u64 = u64::MAX;
const VAL_ABSENT: u32 = 0;
const VAL_UNREAD: u32 = 1;
const NO_CLASS: u32 = u32::MAX;

/// Internal state: the value is a code. `VAL_ABSENT`, `VAL_UNREAD` (a value no
/// completed `Get` returns), or `2 + i` for the i-th distinct value read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct IState {
    version: u64,
    val: u32,
}

impl IState {
    fn bits(self) -> u128 {
        ((self.version as u128) << 32) | self.val as u128
    }
}

/// What a completed operation's observed result demands of the model.
#[derive(Clone, Copy, Debug)]
enum Effect {
    /// No state change; current version must be this (`Get(None)`: 0, `CasConflict`).
    ReadVersion(u64),
    /// No state change; current state must be exactly this (`Get(Some)`).
    ReadState(IState),
    /// Write: current version must be `pre`; the new state is `(pre + 1, val)`.
    Write { pre: u64, val: u32 },
    /// The result can never be produced by the model.
    Impossible,
}

impl Effect {
    /// The version that must be current when the operation takes effect.
    fn req(self) -> u64 {
        match self {
            Effect::ReadVersion(v) => v,
            Effect::ReadState(s) => s.version,
            Effect::Write { pre, .. } => pre,
            Effect::Impossible => INF,
        }
    }
}

/// Who may produce a given version (rule 3). `reader` is the `Get` that imposes it.
#[derive(Clone, Copy, Debug)]
enum Required {
    One { writer: u32, reader: u32 },
    Nobody { reader: u32 },
}

struct Prepared {
    /// Internal id -> input index. Ids `0..m` are completed, `m..` unanswered writes.
    orig: Vec<usize>,
    m: usize,
    inv: Vec<u64>,
    /// Completed ops only.
    ret: Vec<u64>,
    effect: Vec<Effect>,
    /// Unanswered writes (index `id - m`): expected version (`None` = Put) and value code.
    unk_expected: Vec<Option<u64>>,
    unk_val: Vec<u32>,
    unk_class: Vec<u32>,
    /// Symmetry classes of unread unanswered writes, members sorted by invocation.
    classes: Vec<Vec<u32>>,
    put_class: Option<u32>,
    cas_class: HashMap<u64, u32, DetState>,
    /// Unanswered writes of values that are read but have several possible writers.
    free_read: Vec<u32>,
    required: HashMap<u64, Required, DetState>,
    /// Event list: entries `0..2m` sorted by time, then `HEAD`, `TAIL` sentinels.
    ent_op: Vec<u32>,
    ent_is_ret: Vec<bool>,
    call_ent: Vec<u32>,
    ret_ent: Vec<u32>,
}

impl Prepared {
    fn new(ops: &[Operation]) -> Prepared {
        for (i, o) in ops.iter().enumerate() {
            if let Some((ret, _)) = o.complete {
                assert!(
                    ret >= o.invoke_us,
                    "operation {i} returns at {ret} before its invocation at {}",
                    o.invoke_us
                );
            }
        }
        let completed: Vec<usize> = (0..ops.len())
            .filter(|&i| ops[i].complete.is_some())
            .collect();
        let unanswered: Vec<usize> = (0..ops.len())
            .filter(|&i| ops[i].complete.is_none() && !matches!(ops[i].op, KeyOp::Get))
            .collect();
        let m = completed.len();
        let orig: Vec<usize> = completed.iter().chain(unanswered.iter()).copied().collect();
        let n = orig.len();
        assert!(n < NO_CLASS as usize, "history too large");

        // Codes for values returned by completed Gets, in input order.
        let mut codes: HashMap<u64, u32, DetState> = HashMap::default();
        for &i in &completed {
            if let (KeyOp::Get, Some((_, KeyResult::Get(Some((x, v)))))) =
                (ops[i].op, ops[i].complete)
                && v >= 1
            {
                let next = 2 + codes.len() as u32;
                codes.entry(x).or_insert(next);
            }
        }
        let code_of = |x: u64| codes.get(&x).copied().unwrap_or(VAL_UNREAD);

        let effect: Vec<Effect> = completed
            .iter()
            .map(|&i| {
                let (_, res) = ops[i].complete.expect("completed");
                match (ops[i].op, res) {
                    (KeyOp::Put { value }, KeyResult::PutOk { version }) if version >= 1 => {
                        Effect::Write {
                            pre: version - 1,
                            val: code_of(value),
                        }
                    }
                    (KeyOp::Get, KeyResult::Get(None)) => Effect::ReadVersion(0),
                    (KeyOp::Get, KeyResult::Get(Some((x, v)))) if v >= 1 => {
                        Effect::ReadState(IState {
                            version: v,
                            val: code_of(x),
                        })
                    }
                    (
                        KeyOp::Cas {
                            expected_version,
                            value,
                        },
                        KeyResult::CasOk { version },
                    ) if expected_version.checked_add(1) == Some(version) => Effect::Write {
                        pre: expected_version,
                        val: code_of(value),
                    },
                    (
                        KeyOp::Cas {
                            expected_version, ..
                        },
                        KeyResult::CasConflict { current_version },
                    ) if current_version != expected_version => {
                        Effect::ReadVersion(current_version)
                    }
                    _ => Effect::Impossible,
                }
            })
            .collect();

        // Possible writers per value: every Put/Cas except completed Cas that conflicted.
        let mut writers: HashMap<u64, (u32, u32), DetState> = HashMap::default(); // value -> (count, some writer)
        for (id, &i) in orig.iter().enumerate() {
            let conflicted = matches!(ops[i].complete, Some((_, KeyResult::CasConflict { .. })));
            if let KeyOp::Put { value } | KeyOp::Cas { value, .. } = ops[i].op
                && !conflicted
            {
                let e = writers.entry(value).or_insert((0, id as u32));
                e.0 += 1;
            }
        }

        // Rule 3: required writer per version.
        let mut required: HashMap<u64, Required, DetState> = HashMap::default();
        for (id, &i) in completed.iter().enumerate() {
            if let (Effect::ReadState(s), Some((_, KeyResult::Get(Some((x, _)))))) =
                (effect[id], ops[i].complete)
            {
                let reader = id as u32;
                let want = match writers.get(&x) {
                    None => Required::Nobody { reader },
                    Some(&(1, w)) => Required::One { writer: w, reader },
                    Some(_) => continue,
                };
                let merged = match (required.get(&s.version), want) {
                    (None, w) => w,
                    (Some(&Required::One { writer: a, .. }), Required::One { writer: b, .. })
                        if a == b =>
                    {
                        continue;
                    }
                    (Some(&Required::Nobody { .. }), _) => continue,
                    (Some(_), _) => Required::Nobody { reader },
                };
                required.insert(s.version, merged);
            }
        }

        // Unanswered writes and their symmetry classes.
        let inv: Vec<u64> = orig.iter().map(|&i| ops[i].invoke_us).collect();
        let ret: Vec<u64> = completed
            .iter()
            .map(|&i| ops[i].complete.expect("completed").0)
            .collect();
        let mut unk_expected = Vec::with_capacity(n - m);
        let mut unk_val = Vec::with_capacity(n - m);
        let mut unk_class = Vec::with_capacity(n - m);
        let mut classes: Vec<Vec<u32>> = Vec::new();
        let mut class_key: HashMap<Option<u64>, u32, DetState> = HashMap::default();
        let mut free_read = Vec::new();
        for (k, &i) in unanswered.iter().enumerate() {
            let id = (m + k) as u32;
            let (expected, value) = match ops[i].op {
                KeyOp::Put { value } => (None, value),
                KeyOp::Cas {
                    expected_version,
                    value,
                } => (Some(expected_version), value),
                KeyOp::Get => unreachable!("unanswered gets are dropped"),
            };
            let val = code_of(value);
            let mut class = NO_CLASS;
            if val == VAL_UNREAD {
                let c = *class_key.entry(expected).or_insert_with(|| {
                    classes.push(Vec::new());
                    (classes.len() - 1) as u32
                });
                classes[c as usize].push(id);
                class = c;
            } else if writers.get(&value).is_some_and(|&(count, _)| count > 1) {
                free_read.push(id);
            } // else: unique writer of a read value, reachable through `required` only.
            unk_expected.push(expected);
            unk_val.push(val);
            unk_class.push(class);
        }
        for members in &mut classes {
            members.sort_by_key(|&id| (inv[id as usize], id));
        }
        let put_class = class_key.get(&None).copied();
        let cas_class = class_key
            .iter()
            .filter_map(|(k, &c)| k.map(|e| (e, c)))
            .collect();

        // Event list for completed ops: ties put calls first (equal times are concurrent).
        let mut events: Vec<(u64, bool, u32)> = Vec::with_capacity(2 * m);
        for id in 0..m {
            events.push((inv[id], false, id as u32));
            events.push((ret[id], true, id as u32));
        }
        events.sort_unstable();
        let mut ent_op = Vec::with_capacity(2 * m);
        let mut ent_is_ret = Vec::with_capacity(2 * m);
        let mut call_ent = vec![0u32; m];
        let mut ret_ent = vec![0u32; m];
        for (e, &(_, is_ret, id)) in events.iter().enumerate() {
            ent_op.push(id);
            ent_is_ret.push(is_ret);
            if is_ret {
                ret_ent[id as usize] = e as u32
            } else {
                call_ent[id as usize] = e as u32
            }
        }

        Prepared {
            orig,
            m,
            inv,
            ret,
            effect,
            unk_expected,
            unk_val,
            unk_class,
            classes,
            put_class,
            cas_class,
            free_read,
            required,
            ent_op,
            ent_is_ret,
            call_ent,
            ret_ent,
        }
    }
}

// ---------------------------------------------------------------------------
// Search
// ---------------------------------------------------------------------------

/// Deterministic hasher for keys that are already uniformly random (`u128`
/// fingerprints), with an FNV fallback for anything else.
#[derive(Default)]
struct DetHasher(u64);

impl Hasher for DetHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 =
                (self.0 ^ b as u64 ^ 0xcbf2_9ce4_8422_2325).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    fn write_u64(&mut self, x: u64) {
        self.0 = splitmix64(self.0 ^ x);
    }
    fn write_u128(&mut self, x: u128) {
        self.0 ^= (x as u64) ^ ((x >> 64) as u64).rotate_left(29);
    }
}

type DetState = BuildHasherDefault<DetHasher>;

fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The Zobrist key of internal operation `id`.
fn zobrist(id: u32) -> u128 {
    const SALT: u64 = 0x5eed_1a5e_0f00_d5ad;
    let a = splitmix64(SALT ^ (2 * id as u64));
    let b = splitmix64(SALT ^ (2 * id as u64 + 1));
    ((a as u128) << 64) | b as u128
}

/// Where to continue exploring a node.
#[derive(Clone, Copy, Debug)]
enum Cursor {
    /// Fresh node: look for a greedy read (rule 2).
    Start,
    /// Next event-list entry to try as a completed write.
    Window(u32),
    /// Unanswered writes: the write rule 3 requires (if any).
    UnkRequired,
    /// Unanswered writes: the unread `Cas` class expecting the current version.
    UnkCas,
    /// Unanswered writes: the unread `Put` class.
    UnkPut,
    /// Unanswered writes: `free_read[i..]`.
    UnkFree(u32),
    /// Node exhausted: backtrack.
    Done,
}

struct Frame {
    op: u32,
    prev_state: IState,
    /// Where to resume the parent node once this branch fails.
    resume: Cursor,
}

struct Search<'a> {
    p: &'a Prepared,
    head: u32,
    next: Vec<u32>,
    prev: Vec<u32>,
    /// Segment tree of `req` over unlinearized completed ops (`INF` once linearized).
    seg: Vec<u64>,
    seg_size: usize,
    lin: Vec<bool>,
    class_count: Vec<u32>,
    fp: u128,
    memo: HashSet<u128, DetState>,
    state: IState,
    stack: Vec<Frame>,
    remaining: usize,
    /// Deepest (prefix length, stuck internal id) seen; the first one wins ties.
    best: Option<(usize, u32)>,
    steps: u64,
}

impl<'a> Search<'a> {
    fn new(p: &'a Prepared) -> Search<'a> {
        let m = p.m;
        let n_ent = 2 * m;
        let head = n_ent as u32;
        let tail = head + 1;
        let mut next = vec![0u32; n_ent + 2];
        let mut prev = vec![0u32; n_ent + 2];
        // Sentinels link as HEAD -> 0 -> 1 -> ... -> TAIL.
        for e in 0..n_ent as u32 {
            next[e as usize] = e + 1;
            prev[e as usize] = if e == 0 { head } else { e - 1 };
        }
        if n_ent == 0 {
            next[head as usize] = tail;
            prev[tail as usize] = head;
        } else {
            next[head as usize] = 0;
            next[n_ent - 1] = tail;
            prev[tail as usize] = (n_ent - 1) as u32;
        }
        next[tail as usize] = tail;
        prev[head as usize] = head;

        let seg_size = m.next_power_of_two().max(1);
        let mut seg = vec![INF; 2 * seg_size];
        for id in 0..m {
            seg[seg_size + id] = p.effect[id].req();
        }
        for k in (1..seg_size).rev() {
            seg[k] = seg[2 * k].min(seg[2 * k + 1]);
        }
        Search {
            p,
            head,
            next,
            prev,
            seg,
            seg_size,
            lin: vec![false; p.orig.len()],
            class_count: vec![0; p.classes.len()],
            fp: 0,
            memo: HashSet::default(),
            state: IState {
                version: 0,
                val: VAL_ABSENT,
            },
            stack: Vec::new(),
            remaining: m,
            best: None,
            steps: 0,
        }
    }

    fn run(&mut self, budget: u64) -> Verdict {
        let mut cursor = Cursor::Start;
        loop {
            if self.remaining == 0 {
                return Verdict::Linearizable;
            }
            if self.steps >= budget {
                return Verdict::Inconclusive { steps: self.steps };
            }
            self.steps += 1;
            cursor = match cursor {
                Cursor::Start => self.start_node(),
                Cursor::Window(e) => self.try_window(e),
                Cursor::UnkRequired => self.try_unk_required(),
                Cursor::UnkCas => self.try_unk_class(true),
                Cursor::UnkPut => self.try_unk_class(false),
                Cursor::UnkFree(i) => self.try_unk_free(i),
                Cursor::Done => {
                    let depth = self.stack.len();
                    let stuck = self.first_return_op();
                    self.note(depth, stuck);
                    match self.stack.pop() {
                        None => {
                            let (longest_prefix, stuck) = self.best.expect("root noted");
                            return Verdict::NotLinearizable {
                                stuck_op: self.p.orig[stuck as usize],
                                longest_prefix,
                            };
                        }
                        Some(frame) => self.unlift(frame),
                    }
                }
            };
        }
    }

    fn is_ret(&self, e: u32) -> bool {
        // remaining > 0 guarantees a return entry before TAIL.
        assert!(
            e < self.head,
            "walked off the event list with ops remaining"
        );
        self.p.ent_is_ret[e as usize]
    }

    fn first_return_entry(&self) -> u32 {
        let mut e = self.next[self.head as usize];
        while !self.is_ret(e) {
            e = self.next[e as usize];
        }
        e
    }

    fn first_return_op(&self) -> u32 {
        self.p.ent_op[self.first_return_entry() as usize]
    }

    /// Time of the first remaining return: unanswered ops invoked up to it are candidates.
    fn frontier(&self) -> u64 {
        self.p.ret[self.first_return_op() as usize]
    }

    fn min_req(&self) -> u64 {
        self.seg[1]
    }

    fn note(&mut self, depth: usize, stuck: u32) {
        if self.best.is_none_or(|(d, _)| depth > d) {
            self.best = Some((depth, stuck));
        }
    }

    fn seg_set(&mut self, id: usize, value: u64) {
        let mut k = self.seg_size + id;
        self.seg[k] = value;
        while k > 1 {
            k /= 2;
            self.seg[k] = self.seg[2 * k].min(self.seg[2 * k + 1]);
        }
    }

    fn seg_argmin(&self) -> u32 {
        let mut k = 1;
        while k < self.seg_size {
            k = if self.seg[2 * k] == self.seg[k] {
                2 * k
            } else {
                2 * k + 1
            };
        }
        (k - self.seg_size) as u32
    }

    fn unlink(&mut self, e: u32) {
        let (p, n) = (self.prev[e as usize], self.next[e as usize]);
        self.next[p as usize] = n;
        self.prev[n as usize] = p;
    }

    fn relink(&mut self, e: u32) {
        let (p, n) = (self.prev[e as usize], self.next[e as usize]);
        assert!(
            self.next[p as usize] == n && self.prev[n as usize] == p,
            "relink out of LIFO order"
        );
        self.next[p as usize] = e;
        self.prev[n as usize] = e;
    }

    fn remove_completed(&mut self, id: u32) {
        self.unlink(self.p.call_ent[id as usize]);
        self.unlink(self.p.ret_ent[id as usize]);
        self.seg_set(id as usize, INF);
    }

    fn restore_completed(&mut self, id: u32) {
        self.relink(self.p.ret_ent[id as usize]);
        self.relink(self.p.call_ent[id as usize]);
        self.seg_set(id as usize, self.p.effect[id as usize].req());
    }

    /// Try to linearize `id` next, producing `new`. On success pushes a frame
    /// (the parent resumes at `resume` on backtrack) and returns true.
    fn try_lift(&mut self, id: u32, new: IState, resume: Cursor) -> bool {
        let completed = (id as usize) < self.p.m;
        assert!(!self.lin[id as usize], "lifting an already linearized op");
        if completed {
            self.remove_completed(id);
        }
        // Rule 1: every remaining completed op still needs a version >= new.version.
        if new.version > self.min_req() {
            let culprit = self.seg_argmin();
            if completed {
                self.restore_completed(id);
            }
            self.note(self.stack.len() + 1, culprit);
            return false;
        }
        let fp = self.fp ^ zobrist(id);
        if !self.memo.insert(fp ^ new.bits()) {
            if completed {
                self.restore_completed(id);
            }
            return false;
        }
        self.fp = fp;
        self.lin[id as usize] = true;
        if completed {
            self.remaining -= 1;
        } else {
            let class = self.p.unk_class[id as usize - self.p.m];
            if class != NO_CLASS {
                let count = &mut self.class_count[class as usize];
                assert_eq!(
                    self.p.classes[class as usize][*count as usize], id,
                    "class members must be linearized in order"
                );
                *count += 1;
            }
        }
        self.stack.push(Frame {
            op: id,
            prev_state: self.state,
            resume,
        });
        self.state = new;
        true
    }

    /// Undo the frame's lift and return where its parent resumes.
    fn unlift(&mut self, frame: Frame) -> Cursor {
        let id = frame.op;
        assert!(
            self.lin[id as usize],
            "unlifting an op that is not linearized"
        );
        self.lin[id as usize] = false;
        self.fp ^= zobrist(id);
        if (id as usize) < self.p.m {
            self.restore_completed(id);
            self.remaining += 1;
        } else {
            let class = self.p.unk_class[id as usize - self.p.m];
            if class != NO_CLASS {
                let count = &mut self.class_count[class as usize];
                *count -= 1;
                assert_eq!(
                    self.p.classes[class as usize][*count as usize], id,
                    "class members must be unlinearized in order"
                );
            }
        }
        self.state = frame.prev_state;
        frame.resume
    }

    fn read_matches(&self, id: u32) -> bool {
        match self.p.effect[id as usize] {
            Effect::ReadVersion(v) => self.state.version == v,
            Effect::ReadState(s) => self.state == s,
            Effect::Write { .. } | Effect::Impossible => false,
        }
    }

    /// Rule 2: linearize the first matching read in the window, with no alternatives.
    fn start_node(&mut self) -> Cursor {
        let mut e = self.next[self.head as usize];
        while !self.is_ret(e) {
            let id = self.p.ent_op[e as usize];
            if self.read_matches(id) {
                return if self.try_lift(id, self.state, Cursor::Done) {
                    Cursor::Start
                } else {
                    Cursor::Done
                };
            }
            e = self.next[e as usize];
        }
        Cursor::Window(self.next[self.head as usize])
    }

    /// Rule 3: may `id` produce version `v`? Records a diagnostic if not.
    fn writer_allowed(&mut self, id: u32, v: u64) -> bool {
        match self.p.required.get(&v) {
            None => true,
            Some(&Required::One { writer, .. }) if writer == id => true,
            Some(&Required::One { reader, .. } | &Required::Nobody { reader }) => {
                self.note(self.stack.len() + 1, reader);
                false
            }
        }
    }

    fn try_window(&mut self, e: u32) -> Cursor {
        if self.is_ret(e) {
            return Cursor::UnkRequired;
        }
        let id = self.p.ent_op[e as usize];
        let after = Cursor::Window(self.next[e as usize]);
        if let Effect::Write { pre, val } = self.p.effect[id as usize]
            && pre == self.state.version
            && self.writer_allowed(id, pre + 1)
            && self.try_lift(
                id,
                IState {
                    version: pre + 1,
                    val,
                },
                after,
            )
        {
            return Cursor::Start;
        }
        after
    }

    /// Can unanswered write `id` take effect now (available, not placed, effective)?
    fn unk_applicable(&self, id: u32, frontier: u64) -> bool {
        let k = id as usize - self.p.m;
        !self.lin[id as usize]
            && self.p.inv[id as usize] <= frontier
            && self.p.unk_expected[k].is_none_or(|e| e == self.state.version)
    }

    fn unk_new_state(&self, id: u32) -> IState {
        IState {
            version: self.state.version + 1,
            val: self.p.unk_val[id as usize - self.p.m],
        }
    }

    fn try_unk_required(&mut self) -> Cursor {
        let v = self.state.version;
        // Rule 4: only fill a gap, i.e. every remaining completed op needs > v.
        if v >= self.min_req() || self.p.m == self.p.orig.len() {
            return Cursor::Done;
        }
        match self.p.required.get(&(v + 1)) {
            None => Cursor::UnkCas,
            Some(&Required::Nobody { reader }) => {
                self.note(self.stack.len(), reader);
                Cursor::Done
            }
            Some(&Required::One { writer, reader }) => {
                if (writer as usize) >= self.p.m && self.unk_applicable(writer, self.frontier()) {
                    let new = self.unk_new_state(writer);
                    if self.try_lift(writer, new, Cursor::Done) {
                        return Cursor::Start;
                    }
                } else {
                    self.note(self.stack.len(), reader);
                }
                Cursor::Done
            }
        }
    }

    /// Rule 5: try the canonical member of an unread class.
    fn try_unk_class(&mut self, cas: bool) -> Cursor {
        let (class, skip_to) = if cas {
            (
                self.p.cas_class.get(&self.state.version).copied(),
                Cursor::UnkPut,
            )
        } else {
            (self.p.put_class, Cursor::UnkFree(0))
        };
        let Some(class) = class else { return skip_to };
        let members = &self.p.classes[class as usize];
        let Some(&id) = members.get(self.class_count[class as usize] as usize) else {
            return skip_to;
        };
        if !self.unk_applicable(id, self.frontier()) {
            return skip_to;
        }
        // An available unread Cas dominates the Put class: skip it afterwards.
        let resume = Cursor::UnkFree(0);
        let new = self.unk_new_state(id);
        if self.try_lift(id, new, resume) {
            Cursor::Start
        } else {
            resume
        }
    }

    fn try_unk_free(&mut self, from: u32) -> Cursor {
        let frontier = self.frontier();
        for i in from as usize..self.p.free_read.len() {
            let id = self.p.free_read[i];
            if self.unk_applicable(id, frontier) {
                let resume = Cursor::UnkFree(i as u32 + 1);
                let new = self.unk_new_state(id);
                return if self.try_lift(id, new, resume) {
                    Cursor::Start
                } else {
                    resume
                };
            }
        }
        Cursor::Done
    }
}

// ---------------------------------------------------------------------------
// History generator
// ---------------------------------------------------------------------------

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
