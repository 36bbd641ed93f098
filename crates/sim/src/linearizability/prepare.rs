//! History preparation: turns one key's operations into the tables the
//! search walks. Completed operations get internal ids `0..m` and the
//! [`Effect`] their observed result demands; unanswered writes get ids `m..`,
//! a value code and, if their value is never read, a symmetry class (rule 5);
//! rule 3's required writers are worked out per version; and the completed
//! operations' calls and returns become one event list sorted by time.

use std::collections::{BTreeMap, HashMap};

use super::search::DetState;
use super::{KeyOp, KeyResult, Operation};

pub(super) const INF: u64 = u64::MAX;
pub(super) const VAL_ABSENT: u32 = 0;
pub(super) const VAL_UNREAD: u32 = 1;
pub(super) const NO_CLASS: u32 = u32::MAX;

/// Internal state: the value is a code. `VAL_ABSENT`, `VAL_UNREAD` (a value no
/// completed `Get` returns), or `2 + i` for the i-th distinct value read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct IState {
    pub(super) version: u64,
    pub(super) val: u32,
}

impl IState {
    pub(super) fn bits(self) -> u128 {
        ((self.version as u128) << 32) | self.val as u128
    }
}

/// What a completed operation's observed result demands of the model.
#[derive(Clone, Copy, Debug)]
pub(super) enum Effect {
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
    pub(super) fn req(self) -> u64 {
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
pub(super) enum Required {
    One { writer: u32, reader: u32 },
    Nobody { reader: u32 },
}

pub(super) struct Prepared {
    /// Internal id -> input index. Ids `0..m` are completed, `m..` unanswered writes.
    pub(super) orig: Vec<usize>,
    pub(super) m: usize,
    pub(super) inv: Vec<u64>,
    /// Completed ops only.
    pub(super) ret: Vec<u64>,
    pub(super) effect: Vec<Effect>,
    /// Unanswered writes (index `id - m`): expected version (`None` = Put) and value code.
    pub(super) unk_expected: Vec<Option<u64>>,
    pub(super) unk_val: Vec<u32>,
    pub(super) unk_class: Vec<u32>,
    /// Symmetry classes of unread unanswered writes, members sorted by invocation.
    pub(super) classes: Vec<Vec<u32>>,
    pub(super) put_class: Option<u32>,
    /// Expected version -> class. This map and `required` are only looked
    /// up, never iterated, so their order cannot shape a verdict.
    pub(super) cas_class: HashMap<u64, u32, DetState>,
    /// Unanswered writes of values that are read but have several possible writers.
    pub(super) free_read: Vec<u32>,
    /// Every unanswered write outside the symmetry classes: `free_read` and
    /// the sole writers of a read value. Deciding reaches the latter only
    /// through `required` (rule 3); explaining tries them all.
    pub(super) unclassed: Vec<u32>,
    pub(super) required: HashMap<u64, Required, DetState>,
    /// Event list: entries `0..2m` sorted by time, then `HEAD`, `TAIL` sentinels.
    pub(super) ent_op: Vec<u32>,
    pub(super) ent_is_ret: Vec<bool>,
    pub(super) call_ent: Vec<u32>,
    pub(super) ret_ent: Vec<u32>,
}

impl Prepared {
    pub(super) fn new(ops: &[Operation]) -> Prepared {
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
        // Ordered, because it is iterated below to build `cas_class`.
        let mut class_key: BTreeMap<Option<u64>, u32> = BTreeMap::new();
        let mut free_read = Vec::new();
        let mut unclassed = Vec::new();
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
            if class == NO_CLASS {
                unclassed.push(id);
            }
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
            unclassed,
            required,
            ent_op,
            ent_is_ret,
            call_ent,
            ret_ent,
        }
    }
}
