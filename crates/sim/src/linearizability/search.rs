//! The search itself: a depth-first walk over partial linearizations with
//! an explicit stack, the five pruning rules of the module doc, a memo of
//! visited `(S, state)` pairs fingerprinted by Zobrist hashing, and the
//! deterministic hasher that memo (and `prepare`'s lookup maps) use.
//!
//! The same walk runs in two modes. [`Mode::Decide`] answers the question
//! with every rule on. [`Mode::Explain`] runs only on a history already
//! found not linearizable, with only the rules that never shorten a
//! prefix (2 and 5), and keeps the order of the deepest dead end: the
//! longest linearizable prefix that the report and the timeline show.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

use super::prepare::{Effect, INF, IState, NO_CLASS, Prepared, Required, VAL_ABSENT};

/// Deterministic hasher for keys that are already uniformly random (`u128`
/// fingerprints), with an FNV fallback for anything else.
#[derive(Default)]
pub(super) struct DetHasher(u64);

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

pub(super) type DetState = BuildHasherDefault<DetHasher>;

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

/// What the walk is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Mode {
    /// Is there a linearization? Every pruning rule is on.
    Decide,
    /// How far does one get? Rules 1, 3 and 4 only cut branches that cannot
    /// be completed, which may be the longest prefixes, so they are off;
    /// rules 2 and 5 never shorten a prefix and stay on.
    Explain,
}

/// How a walk ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Ended {
    /// Every completed operation is placed: [`Search::linearization`].
    Linearizable,
    /// Every branch was tried. `stuck` (an input index) is the operation
    /// that blocked the deepest point the walk reached.
    Exhausted { stuck: usize },
    /// The budget ran out after `steps` steps.
    OutOfBudget { steps: u64 },
}

struct Frame {
    op: u32,
    prev_state: IState,
    /// Where to resume the parent node once this branch fails.
    resume: Cursor,
}

pub(super) struct Search<'a> {
    p: &'a Prepared,
    mode: Mode,
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
    /// Explain mode: the order (input indices) of the dead end with the most
    /// completed operations, the first one found winning ties, and that count.
    deepest: Option<(usize, Vec<usize>)>,
    steps: u64,
}

impl<'a> Search<'a> {
    pub(super) fn new(p: &'a Prepared, mode: Mode) -> Search<'a> {
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
            mode,
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
            deepest: None,
            steps: 0,
        }
    }

    /// Explain mode: the longest prefix found (input indices, in order),
    /// without unanswered writes at its end (they place nothing after them).
    pub(super) fn deepest_prefix(&self) -> Vec<usize> {
        assert_eq!(
            self.mode,
            Mode::Explain,
            "only an explanation keeps a prefix"
        );
        self.deepest
            .as_ref()
            .map(|(_, prefix)| prefix.clone())
            .unwrap_or_default()
    }

    /// The linearization found so far, as indices into the caller's input,
    /// in order. After [`Verdict::Linearizable`], a complete one.
    pub(super) fn linearization(&self) -> Vec<usize> {
        self.stack
            .iter()
            .map(|frame| self.p.orig[frame.op as usize])
            .collect()
    }

    pub(super) fn run(&mut self, budget: u64) -> Ended {
        let mut cursor = Cursor::Start;
        loop {
            if self.remaining == 0 {
                return Ended::Linearizable;
            }
            if self.steps >= budget {
                return Ended::OutOfBudget { steps: self.steps };
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
                    if self.mode == Mode::Explain {
                        self.note_dead_end();
                    }
                    match self.stack.pop() {
                        None => {
                            let (_, stuck) = self.best.expect("root noted");
                            return Ended::Exhausted {
                                stuck: self.p.orig[stuck as usize],
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

    /// `stuck` blocked the search after a prefix of `depth` operations.
    fn note(&mut self, depth: usize, stuck: u32) {
        if self.best.is_none_or(|(d, _)| depth > d) {
            self.best = Some((depth, stuck));
        }
    }

    /// Explain mode: nothing more can be placed here. Keep this order if it
    /// placed more completed operations than any dead end before it. Each
    /// copy is of a strictly deeper prefix, so there are at most as many as
    /// completed operations.
    fn note_dead_end(&mut self) {
        let placed = self.p.m - self.remaining;
        if self.deepest.as_ref().is_some_and(|(d, _)| placed <= *d) {
            return;
        }
        let mut prefix: Vec<u32> = self.stack.iter().map(|frame| frame.op).collect();
        while prefix.last().is_some_and(|&id| id as usize >= self.p.m) {
            prefix.pop();
        }
        let prefix = prefix.iter().map(|&id| self.p.orig[id as usize]).collect();
        self.deepest = Some((placed, prefix));
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
        if self.mode == Mode::Decide && new.version > self.min_req() {
            let culprit = self.seg_argmin();
            if completed {
                self.restore_completed(id);
            }
            self.note(self.stack.len(), culprit);
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
        if self.mode == Mode::Explain {
            return true;
        }
        match self.p.required.get(&v) {
            None => true,
            Some(&Required::One { writer, .. }) if writer == id => true,
            Some(&Required::One { reader, .. } | &Required::Nobody { reader }) => {
                self.note(self.stack.len(), reader);
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
        if self.p.m == self.p.orig.len() {
            return Cursor::Done;
        }
        if self.mode == Mode::Explain {
            return Cursor::UnkCas;
        }
        let v = self.state.version;
        // Rule 4: only fill a gap, i.e. every remaining completed op needs > v.
        // Otherwise the op needing the lowest version blocks every write.
        if v >= self.min_req() {
            let blocking = self.seg_argmin();
            self.note(self.stack.len(), blocking);
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
            self.note_unk_blocked(id);
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

    /// Unanswered writes from `list[from..]`, where `list` is `free_read`
    /// when deciding and every unclassed one when explaining.
    fn try_unk_free(&mut self, from: u32) -> Cursor {
        let frontier = self.frontier();
        let p = self.p;
        let list = match self.mode {
            Mode::Decide => &p.free_read,
            Mode::Explain => &p.unclassed,
        };
        for (i, &id) in list.iter().enumerate().skip(from as usize) {
            if !self.unk_applicable(id, frontier) {
                self.note_unk_blocked(id);
                continue;
            }
            let resume = Cursor::UnkFree(i as u32 + 1);
            let new = self.unk_new_state(id);
            return if self.try_lift(id, new, resume) {
                Cursor::Start
            } else {
                resume
            };
        }
        Cursor::Done
    }

    /// Unanswered write `id` cannot be placed here. If it was invoked after
    /// the first remaining return, the operation returning there blocks it;
    /// a Cas expecting another version has no effect and is blocked by none.
    fn note_unk_blocked(&mut self, id: u32) {
        if !self.lin[id as usize] && self.p.inv[id as usize] > self.frontier() {
            let blocking = self.first_return_op();
            self.note(self.stack.len(), blocking);
        }
    }
}
