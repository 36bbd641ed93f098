//! The two searches over the transition relation (`step`), and what they
//! count.
//!
//! Both keep a visited set of 128-bit state fingerprints and never expand
//! a state twice. BFS expands states in order of depth, so the first
//! violation it meets is at the least depth any violation has: a shortest
//! counterexample. Each frontier entry holds its path as a shared list of
//! compact steps (a state's path shares its parent's), so no parent map is
//! kept. DFS holds one path of frames (a state and the steps left to try),
//! so its memory beyond the visited set grows with depth, not breadth. A
//! depth-bounded DFS may first meet a state deep, not expand it, and then
//! skip it when it meets it again shallower; the depth bound is then hit,
//! and the result is `Bounded`, never `Pass`.
//!
//! Both use sleep sets (Godefroid): from a state, once a step has been
//! taken, a later sibling step independent of it (`footprint`) need not
//! take it again afterwards, since both orders reach the same state and
//! raise the same violations; the first step *sleeps* in the sibling's
//! successor, and in its successors for as long as the steps taken are
//! independent of it. Sleep sets cut steps, never states: every state the
//! full search reaches is still reached, at the same depth. With a visited
//! set, a state met again with a sleep set that lacks steps the first
//! visit slept on is expanded again by exactly those steps (what each
//! state slept on is kept until then), so no step is lost.
//!
//! Nothing here reads a clock: the caller's progress callback decides when
//! to stop (a wall-time limit), and is asked only every
//! `PROGRESS_EVERY_STATES` expansions, so where a bounded run stops may
//! depend on the caller's clock, but which states come first never does.
//! Once a violation is found the compact path is replayed from the initial
//! state to render it as [`Action`]s.

use std::collections::{BTreeSet, VecDeque};
use std::rc::Rc;

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::BuildHasherDefault;

use super::action::{Action, render};
use super::footprint::Footprint;
use super::hash::PassThrough;
use super::state::{Model, State};
use super::step::{self, Checked, Step};
use super::{Bound, Bounds, ExploreReport, Progress, Reduction, Verdict};
use crate::report::Violation;

/// Expansions between two calls of the progress callback.
const PROGRESS_EVERY_STATES: u64 = 4_096;
/// Expansions between two samples of a state's size, for the estimate.
const SIZE_SAMPLE_EVERY_STATES: u64 = 256;
/// Spare vectors kept for DFS frames, at most (one per frame of a deep path).
const SPARE_VECTORS_MAX: usize = 256;
/// Spare states kept from popped DFS frames, at most: each keeps the parts
/// it shares alive until it is overwritten, so few are kept.
const SPARE_STATES_MAX: usize = 16;
/// A remembered node transition (`memo`), counting its node in full.
const MEMO_NODE_BYTES: usize = 2_048;
/// A remembered checker transition, counting its ghost in full.
const MEMO_CHECKER_BYTES: usize = 512;
/// A visited-set slot: the fingerprint, what the state slept on (a boxed
/// slice, or none) and the table's control byte.
const VISITED_SLOT_BYTES: usize = 16 + 16 + 1;

/// Steps a state sleeps on, each with its footprint.
type Sleep = Vec<(Step, Footprint)>;

/// The visited states by fingerprint, each with the steps it slept on
/// when first met and has not taken since, if any (the steps alone: their
/// footprints are not needed again). One table, so that meeting a state
/// again costs one lookup.
type Seen = HashMap<u128, Option<Box<[Step]>>, BuildHasherDefault<PassThrough>>;

/// How a successor was met.
enum Met {
    /// For the first time: expand it.
    New,
    /// Again, with a sleep set lacking these steps: take only them.
    Again(Vec<Step>),
    /// Again, with nothing new to take.
    Seen,
}

/// One step of a path, sharing the rest of the path with its siblings.
struct PathNode {
    step: Step,
    parent: Path,
}

type Path = Option<Rc<PathNode>>;

fn extend(path: &Path, step: Step) -> Path {
    Some(Rc::new(PathNode {
        step,
        parent: path.clone(),
    }))
}

fn steps_of(path: &Path) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut at = path;
    while let Some(node) = at {
        steps.push(node.step);
        at = &node.parent;
    }
    steps.reverse();
    steps
}

/// The counters and bounds of one search.
struct Run<'a> {
    model: &'a Model,
    bounds: Bounds,
    reduction: Reduction,
    progress: &'a mut dyn FnMut(&Progress) -> bool,
    visited: Seen,
    generated: u64,
    expanded: u64,
    terminal: u64,
    terminal_digest: u128,
    depth_reached: u32,
    frontier_max: u64,
    state_bytes_max: usize,
    hit: BTreeSet<Bound>,
    /// Vectors of popped DFS frames (steps, and steps taken), kept for the
    /// next frames: a frame per state would otherwise allocate its own.
    spare_steps: Vec<Vec<Step>>,
    spare_sleeps: Vec<Sleep>,
    /// A state to overwrite with the next successor: most successors were
    /// met before and are dropped at once, so one spare serves them all.
    spare_state: Option<Box<State>>,
    /// States of popped DFS frames, to become the spare when a new state
    /// takes it (at most `SPARE_STATES_MAX`). States are boxed here and on
    /// the path, so that handing one on moves a pointer, not the state.
    #[expect(
        clippy::vec_box,
        reason = "a spare is moved out into `spare_state` as a box: a pointer moved, no state copied"
    )]
    spare_states: Vec<Box<State>>,
}

/// Why a search loop ended early.
enum Stop {
    Violation(Vec<Step>, Box<Violation>),
    Bound,
}

impl<'a> Run<'a> {
    fn new(
        model: &'a Model,
        bounds: Bounds,
        reduction: Reduction,
        progress: &'a mut dyn FnMut(&Progress) -> bool,
    ) -> Run<'a> {
        Run {
            model,
            bounds,
            reduction,
            progress,
            visited: Seen::default(),
            generated: 0,
            expanded: 0,
            terminal: 0,
            terminal_digest: 0,
            depth_reached: 0,
            frontier_max: 0,
            state_bytes_max: 0,
            hit: BTreeSet::new(),
            spare_steps: Vec::new(),
            spare_sleeps: Vec::new(),
            spare_state: None,
            spare_states: Vec::new(),
        }
    }

    fn progress_now(&self, frontier: usize) -> Progress {
        Progress {
            states_generated: self.generated,
            states_unique: self.visited.len() as u64,
            depth: self.depth_reached,
            frontier: frontier as u64,
        }
    }

    /// Count one expansion of `state`; ask the caller whether to go on.
    fn expand(&mut self, state: &State, frontier: usize) -> Result<(), Stop> {
        self.expanded += 1;
        self.frontier_max = self.frontier_max.max(frontier as u64 + 1);
        if self.expanded % SIZE_SAMPLE_EVERY_STATES == 1 {
            self.state_bytes_max = self.state_bytes_max.max(state.approx_bytes());
        }
        if self.expanded.is_multiple_of(PROGRESS_EVERY_STATES) {
            let progress = self.progress_now(frontier);
            if !(self.progress)(&progress) {
                self.hit.insert(Bound::Stopped);
                return Err(Stop::Bound);
            }
        }
        Ok(())
    }

    /// A state with no step enabled: the end-of-run checks.
    fn terminal(&mut self, state: &State, path: &Path, depth: u32) -> Result<(), Stop> {
        self.terminal += 1;
        self.terminal_digest = self
            .terminal_digest
            .wrapping_add(state.fingerprint(self.model));
        state
            .check_terminal(u64::from(depth))
            .map_err(|violation| Stop::Violation(steps_of(path), violation))
    }

    /// Take `step` from `state`, the step at `depth` of its path, into the
    /// spare state (`spare_state`, made if there is none): what the step
    /// touched, and the successor's fingerprint. The successor stays
    /// there: a caller that keeps it takes it out (`take_successor`).
    fn successor(
        &mut self,
        state: &State,
        path: &Path,
        step: Step,
        depth: u32,
    ) -> Result<(Footprint, u128), Stop> {
        if self.spare_state.is_none() {
            self.spare_state = self.spare_states.pop();
        }
        let next = match &mut self.spare_state {
            Some(next) => {
                next.copy_from(state);
                next
            }
            None => self.spare_state.insert(Box::new(state.clone())),
        };
        self.generated += 1;
        match next.apply(self.model, step, u64::from(depth)) {
            Ok(Checked::Fine) => {}
            Ok(Checked::Inconclusive) => {
                self.hit.insert(Bound::Linearizability);
            }
            Err(violation) => {
                let mut steps = steps_of(path);
                steps.push(step);
                return Err(Stop::Violation(steps, violation));
            }
        }
        Ok((next.footprint, next.fingerprint(self.model)))
    }

    /// Keep a state no longer needed, to be overwritten by a successor.
    fn recycle_state(&mut self, state: Box<State>) {
        if self.spare_state.is_none() {
            self.spare_state = Some(state);
        } else if self.spare_states.len() < SPARE_STATES_MAX {
            self.spare_states.push(state);
        }
    }

    /// The successor the last `successor` made, to keep.
    fn take_successor(&mut self) -> Box<State> {
        self.spare_state.take().expect("a successor was just made")
    }

    /// The sleep set after a step with `footprint` (empty without sleep
    /// sets), in a spare vector if there is one.
    fn sleep_after(&mut self, sleep: &Sleep, done: &Sleep, footprint: &Footprint) -> Sleep {
        let mut next = self.spare_sleeps.pop().unwrap_or_default();
        debug_assert!(next.is_empty(), "spare vectors are kept empty");
        if self.reduction.sleep_sets {
            sleep_after(sleep, done, footprint, &mut next);
        }
        next
    }

    /// Keep a sleep set no longer needed for the next ones.
    fn recycle_sleep(&mut self, mut sleep: Sleep) {
        sleep.clear();
        // As many as frames can be on the path at once, no more.
        if self.spare_sleeps.len() < SPARE_VECTORS_MAX {
            self.spare_sleeps.push(sleep);
        }
    }

    /// Keep a popped frame's vectors for the next frames.
    fn recycle(&mut self, frame: Frame) {
        let Frame {
            state,
            mut steps,
            done,
            sleep,
            ..
        } = frame;
        self.recycle_state(state);
        steps.clear();
        // As many as frames can be on the path at once, no more.
        if self.spare_steps.len() < SPARE_VECTORS_MAX {
            self.spare_steps.push(steps);
        }
        self.recycle_sleep(done);
        self.recycle_sleep(sleep);
    }

    /// Whether the state with fingerprint `print` was met before and has
    /// no step left to take, whatever its sleep set now: then that sleep
    /// set need not even be computed.
    fn seen_for_good(&self, print: u128) -> bool {
        matches!(self.visited.get(&print), Some(None))
    }

    /// Record meeting the state with fingerprint `print` with sleep set
    /// `sleep`, at `depth`.
    fn meet(&mut self, print: u128, sleep: &Sleep, depth: u32) -> Result<Met, Stop> {
        let record = match self.visited.entry(print) {
            Entry::Occupied(occupied) => occupied.into_mut(),
            Entry::Vacant(vacant) => {
                let slept =
                    (!sleep.is_empty()).then(|| sleep.iter().map(|(step, _)| *step).collect());
                vacant.insert(slept);
                self.depth_reached = self.depth_reached.max(depth);
                if self.visited.len() as u64 >= self.bounds.states_max {
                    self.hit.insert(Bound::States);
                    return Err(Stop::Bound);
                }
                return Ok(Met::New);
            }
        };
        let Some(slept) = record else {
            return Ok(Met::Seen);
        };
        let asleep = |step: &Step| sleep.iter().any(|(other, _)| other == step);
        // Most often every step it slept on sleeps now too: nothing to take.
        if slept.iter().all(asleep) {
            return Ok(Met::Seen);
        }
        let missing: Vec<Step> = slept.iter().copied().filter(|step| !asleep(step)).collect();
        let kept: Box<[Step]> = slept.iter().copied().filter(|step| asleep(step)).collect();
        *record = (!kept.is_empty()).then_some(kept);
        Ok(Met::Again(missing))
    }

    fn finish(self, stop: Option<Stop>) -> super::ExploreReport {
        // The last report; a request to stop now cuts nothing.
        let progress = self.progress_now(0);
        let _ = (self.progress)(&progress);
        let verdict = match stop {
            Some(Stop::Violation(steps, violation)) => Verdict::Violation {
                actions: actions_of(self.model, &steps, &violation),
                violation,
            },
            _ if !self.hit.is_empty() => Verdict::Bounded {
                bounds: self.hit.iter().copied().collect(),
            },
            _ => Verdict::Pass,
        };
        let unique = self.visited.len().max(1);
        let sleeping: usize = self
            .visited
            .values()
            .flatten()
            .map(|sleep| sleep.len() * size_of::<Step>())
            .sum();
        let (nodes_memo, checkers_memo) = self.model.memo.borrow().len();
        let bytes = self.visited.capacity() * VISITED_SLOT_BYTES
            + nodes_memo * MEMO_NODE_BYTES
            + checkers_memo * MEMO_CHECKER_BYTES
            + sleeping
            + self.frontier_max as usize * self.state_bytes_max;
        ExploreReport {
            verdict,
            states_generated: self.generated,
            states_unique: self.visited.len() as u64,
            states_terminal: self.terminal,
            terminal_digest: self.terminal_digest,
            depth_reached: self.depth_reached,
            frontier_max: self.frontier_max,
            bytes_per_state: (bytes / unique) as u64,
        }
    }
}

/// Breadth-first search from the initial state.
pub(crate) fn bfs(
    model: &Model,
    bounds: Bounds,
    reduction: Reduction,
    progress: &mut dyn FnMut(&Progress) -> bool,
) -> ExploreReport {
    let mut run = Run::new(model, bounds, reduction, progress);
    let stop = bfs_loop(&mut run);
    run.finish(stop.err())
}

/// A state waiting to be expanded: its path, depth and sleep set, and,
/// when it was met again, the only steps left to take from it.
struct Pending {
    state: Box<State>,
    path: Path,
    depth: u32,
    sleep: Sleep,
    only: Option<Vec<Step>>,
}

fn bfs_loop(run: &mut Run<'_>) -> Result<(), Stop> {
    let initial =
        step::initial(run.model).map_err(|violation| Stop::Violation(Vec::new(), violation))?;
    run.visited.insert(initial.fingerprint(run.model), None);
    let mut frontier: VecDeque<Pending> = VecDeque::new();
    frontier.push_back(Pending {
        state: Box::new(initial),
        path: None,
        depth: 0,
        sleep: Vec::new(),
        only: None,
    });
    let mut steps = Vec::new();
    while let Some(pending) = frontier.pop_front() {
        let Pending {
            state,
            path,
            depth,
            sleep,
            only,
        } = pending;
        run.expand(&state, frontier.len())?;
        state.enabled(run.model, &mut steps);
        if steps.is_empty() {
            run.terminal(&state, &path, depth)?;
            continue;
        }
        if depth >= run.bounds.depth_max {
            run.hit.insert(Bound::Depth);
            continue;
        }
        let mut done: Sleep = Vec::new();
        for &step in &steps {
            if !wanted(step, &sleep, only.as_deref()) {
                continue;
            }
            let (footprint, print) = run.successor(&state, &path, step, depth)?;
            if run.seen_for_good(print) {
                done.push((step, footprint));
                continue;
            }
            let next_sleep = run.sleep_after(&sleep, &done, &footprint);
            done.push((step, footprint));
            let only = match run.meet(print, &next_sleep, depth + 1)? {
                Met::New => None,
                Met::Again(missing) => Some(missing),
                Met::Seen => {
                    run.recycle_sleep(next_sleep);
                    continue;
                }
            };
            frontier.push_back(Pending {
                state: run.take_successor(),
                path: extend(&path, step),
                depth: depth + 1,
                sleep: next_sleep,
                only,
            });
        }
    }
    Ok(())
}

/// Whether to take `step`: not asleep, and among `only` if given.
fn wanted(step: Step, sleep: &Sleep, only: Option<&[Step]>) -> bool {
    !sleep.iter().any(|(other, _)| *other == step) && only.is_none_or(|only| only.contains(&step))
}

/// The sleep set after a step with `footprint`, into `next`: the steps
/// asleep before it and its siblings taken before it, those independent of
/// it.
fn sleep_after(sleep: &Sleep, done: &Sleep, footprint: &Footprint, next: &mut Sleep) {
    next.reserve(sleep.len() + done.len());
    for entry in sleep.iter().chain(done) {
        if entry.1.independent(footprint) {
            next.push(*entry);
        }
    }
}

/// One level of the DFS path: a state, its sleep set, the steps from it
/// left to try and those taken.
struct Frame {
    state: Box<State>,
    steps: Vec<Step>,
    next: usize,
    depth: u32,
    sleep: Sleep,
    done: Sleep,
    only: Option<Vec<Step>>,
}

/// Depth-first search from the initial state.
pub(crate) fn dfs(
    model: &Model,
    bounds: Bounds,
    reduction: Reduction,
    progress: &mut dyn FnMut(&Progress) -> bool,
) -> ExploreReport {
    let mut run = Run::new(model, bounds, reduction, progress);
    let stop = dfs_loop(&mut run);
    run.finish(stop.err())
}

fn dfs_loop(run: &mut Run<'_>) -> Result<(), Stop> {
    let initial =
        step::initial(run.model).map_err(|violation| Stop::Violation(Vec::new(), violation))?;
    run.visited.insert(initial.fingerprint(run.model), None);
    let mut stack: Vec<Frame> = Vec::new();
    // The steps taken to reach the top frame, as a shared list for reports.
    let mut path: Vec<Path> = vec![None];
    if let Some(frame) = dfs_frame(run, Box::new(initial), &None, 0, 0, Vec::new(), None)? {
        stack.push(frame);
    }
    while let Some(frame) = stack.last_mut() {
        let Some(&step) = frame.steps.get(frame.next) else {
            let frame = stack.pop().expect("the frame just looked at");
            run.recycle(frame);
            path.pop();
            continue;
        };
        frame.next += 1;
        if !wanted(step, &frame.sleep, frame.only.as_deref()) {
            continue;
        }
        let depth = frame.depth;
        let here = path.last().expect("one path per frame").clone();
        let (footprint, print) = run.successor(&frame.state, &here, step, depth)?;
        if run.seen_for_good(print) {
            frame.done.push((step, footprint));
            continue;
        }
        let next_sleep = run.sleep_after(&frame.sleep, &frame.done, &footprint);
        frame.done.push((step, footprint));
        let only = match run.meet(print, &next_sleep, depth + 1)? {
            Met::New => None,
            Met::Again(missing) => Some(missing),
            Met::Seen => {
                run.recycle_sleep(next_sleep);
                continue;
            }
        };
        let there = extend(&here, step);
        let stack_len = stack.len();
        let next = run.take_successor();
        if let Some(frame) = dfs_frame(run, next, &there, depth + 1, stack_len, next_sleep, only)? {
            stack.push(frame);
            path.push(there);
        }
    }
    Ok(())
}

/// Expand `state` at `depth` into a frame, unless it is terminal or at the
/// depth bound.
fn dfs_frame(
    run: &mut Run<'_>,
    state: Box<State>,
    path: &Path,
    depth: u32,
    stack_len: usize,
    sleep: Sleep,
    only: Option<Vec<Step>>,
) -> Result<Option<Frame>, Stop> {
    run.expand(&state, stack_len)?;
    let mut steps = run.spare_steps.pop().unwrap_or_default();
    state.enabled(run.model, &mut steps);
    if steps.is_empty() {
        run.spare_steps.push(steps);
        run.recycle_sleep(sleep);
        run.terminal(&state, path, depth)?;
        run.recycle_state(state);
        return Ok(None);
    }
    if depth >= run.bounds.depth_max {
        run.spare_steps.push(steps);
        run.recycle_sleep(sleep);
        run.hit.insert(Bound::Depth);
        run.recycle_state(state);
        return Ok(None);
    }
    let done = run.spare_sleeps.pop().unwrap_or_default();
    Ok(Some(Frame {
        state,
        steps,
        next: 0,
        depth,
        sleep,
        done,
        only,
    }))
}

/// Render a violating path as actions, by running it again from the
/// initial state; the run must end in the same violation.
fn actions_of(model: &Model, steps: &[Step], violation: &Violation) -> Vec<Action> {
    if steps.is_empty() {
        // The initial state itself violates (an unsafe cluster admitted).
        return Vec::new();
    }
    let mut state = step::initial(model).expect("the initial state was checked already");
    let mut actions = Vec::with_capacity(steps.len());
    for (index, &step) in steps.iter().enumerate() {
        actions.push(render(&state, model, step));
        let outcome = state.apply(model, step, index as u64);
        if index + 1 == steps.len() {
            if let Err(again) = outcome {
                assert_eq!(again.invariant, violation.invariant, "replay diverged");
            }
        } else {
            assert!(
                outcome.is_ok(),
                "a counterexample's prefix raised a violation"
            );
        }
    }
    actions
}

/// Every state reachable from the initial one, by a plain breadth-first
/// search with no reduction, each mapped by `image` to a fingerprint; `None`
/// past `states_max` states or at a violation. For tests of the reductions
/// (`discard_images`).
pub(crate) fn reachable(
    model: &Model,
    states_max: usize,
    image: &mut dyn FnMut(&State) -> u128,
) -> Option<BTreeSet<u128>> {
    let initial = step::initial(model).ok()?;
    let mut seen = std::collections::HashSet::new();
    let mut images = BTreeSet::new();
    seen.insert(initial.fingerprint(model));
    images.insert(image(&initial));
    let mut frontier = VecDeque::from([initial]);
    let mut steps = Vec::new();
    while let Some(state) = frontier.pop_front() {
        state.enabled(model, &mut steps);
        for &step in &steps {
            let mut next = state.clone();
            next.apply(model, step, 0).ok()?;
            if seen.insert(next.fingerprint(model)) {
                if seen.len() > states_max {
                    return None;
                }
                images.insert(image(&next));
                frontier.push_back(next);
            }
        }
    }
    Some(images)
}
