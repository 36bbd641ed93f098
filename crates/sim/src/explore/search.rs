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
//! Nothing here reads a clock: the caller's progress callback decides when
//! to stop (a wall-time limit), and is asked only every
//! `PROGRESS_EVERY_STATES` expansions, so where a bounded run stops may
//! depend on the caller's clock, but which states come first never does.
//! Once a violation is found the compact path is replayed from the initial
//! state to render it as [`Action`]s.

use std::collections::{BTreeSet, VecDeque};
use std::rc::Rc;

use super::action::{Action, render};
use super::hash::Visited;
use super::state::{Model, State};
use super::step::{self, Checked, Step};
use super::{Bound, Bounds, ExploreReport, Progress, Verdict};
use crate::report::Violation;

/// Expansions between two calls of the progress callback.
const PROGRESS_EVERY_STATES: u64 = 4_096;
/// Expansions between two samples of a state's size, for the estimate.
const SIZE_SAMPLE_EVERY_STATES: u64 = 256;
/// A visited-set slot: the fingerprint and the table's control byte.
const VISITED_SLOT_BYTES: usize = 17;

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
    progress: &'a mut dyn FnMut(&Progress) -> bool,
    visited: Visited,
    generated: u64,
    expanded: u64,
    terminal: u64,
    depth_reached: u32,
    frontier_max: u64,
    state_bytes_max: usize,
    hit: BTreeSet<Bound>,
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
        progress: &'a mut dyn FnMut(&Progress) -> bool,
    ) -> Run<'a> {
        Run {
            model,
            bounds,
            progress,
            visited: Visited::default(),
            generated: 0,
            expanded: 0,
            terminal: 0,
            depth_reached: 0,
            frontier_max: 0,
            state_bytes_max: 0,
            hit: BTreeSet::new(),
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
        state
            .check_terminal(u64::from(depth))
            .map_err(|violation| Stop::Violation(steps_of(path), violation))
    }

    /// Take `step` from `state`, the step at `depth` of its path. Returns
    /// the successor if it is new.
    fn successor(
        &mut self,
        state: &State,
        path: &Path,
        step: Step,
        depth: u32,
    ) -> Result<Option<State>, Stop> {
        let mut next = state.clone();
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
        if !self.visited.insert(next.fingerprint(self.model)) {
            return Ok(None);
        }
        self.depth_reached = self.depth_reached.max(depth + 1);
        if self.visited.len() as u64 >= self.bounds.states_max {
            self.hit.insert(Bound::States);
            return Err(Stop::Bound);
        }
        Ok(Some(next))
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
        let bytes = self.visited.capacity() * VISITED_SLOT_BYTES
            + self.frontier_max as usize * self.state_bytes_max;
        ExploreReport {
            verdict,
            states_generated: self.generated,
            states_unique: self.visited.len() as u64,
            states_terminal: self.terminal,
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
    progress: &mut dyn FnMut(&Progress) -> bool,
) -> ExploreReport {
    let mut run = Run::new(model, bounds, progress);
    let stop = bfs_loop(&mut run);
    run.finish(stop.err())
}

fn bfs_loop(run: &mut Run<'_>) -> Result<(), Stop> {
    let initial =
        step::initial(run.model).map_err(|violation| Stop::Violation(Vec::new(), violation))?;
    run.visited.insert(initial.fingerprint(run.model));
    let mut frontier: VecDeque<(State, Path, u32)> = VecDeque::new();
    frontier.push_back((initial, None, 0));
    let mut steps = Vec::new();
    while let Some((state, path, depth)) = frontier.pop_front() {
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
        for &step in &steps {
            if let Some(next) = run.successor(&state, &path, step, depth)? {
                frontier.push_back((next, extend(&path, step), depth + 1));
            }
        }
    }
    Ok(())
}

/// One level of the DFS path: a state and the steps from it left to try.
struct Frame {
    state: State,
    steps: Vec<Step>,
    next: usize,
    depth: u32,
}

/// Depth-first search from the initial state.
pub(crate) fn dfs(
    model: &Model,
    bounds: Bounds,
    progress: &mut dyn FnMut(&Progress) -> bool,
) -> ExploreReport {
    let mut run = Run::new(model, bounds, progress);
    let stop = dfs_loop(&mut run);
    run.finish(stop.err())
}

fn dfs_loop(run: &mut Run<'_>) -> Result<(), Stop> {
    let initial =
        step::initial(run.model).map_err(|violation| Stop::Violation(Vec::new(), violation))?;
    run.visited.insert(initial.fingerprint(run.model));
    let mut stack: Vec<Frame> = Vec::new();
    // The steps taken to reach the top frame, as a shared list for reports.
    let mut path: Vec<Path> = vec![None];
    if let Some(frame) = dfs_frame(run, initial, &None, 0, 0)? {
        stack.push(frame);
    }
    while let Some(frame) = stack.last_mut() {
        let Some(&step) = frame.steps.get(frame.next) else {
            stack.pop();
            path.pop();
            continue;
        };
        frame.next += 1;
        let depth = frame.depth;
        let here = path.last().expect("one path per frame").clone();
        let Some(next) = run.successor(&frame.state, &here, step, depth)? else {
            continue;
        };
        let there = extend(&here, step);
        if let Some(frame) = dfs_frame(run, next, &there, depth + 1, stack.len())? {
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
    state: State,
    path: &Path,
    depth: u32,
    stack_len: usize,
) -> Result<Option<Frame>, Stop> {
    run.expand(&state, stack_len)?;
    let mut steps = Vec::new();
    state.enabled(run.model, &mut steps);
    if steps.is_empty() {
        run.terminal(&state, path, depth)?;
        return Ok(None);
    }
    if depth >= run.bounds.depth_max {
        run.hit.insert(Bound::Depth);
        return Ok(None);
    }
    Ok(Some(Frame {
        state,
        steps,
        next: 0,
        depth,
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
