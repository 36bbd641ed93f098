//! Shrinking a schedule-driven configuration: drop the steps the failure
//! does not need, keeping the schedule valid.
//!
//! A candidate is the schedule without one step; it is kept if its run
//! still fails with the same invariant (a later step naming an event the
//! removal took away makes the run `schedule-diverged`, which is not the
//! same failure, so invalid schedules are never kept). Steps after the one
//! that raised the violation go first; then passes from the last step to
//! the first, until a pass removes nothing or the run budget is spent.
//! Last, each client's script is cut to the operations its steps invoke.
//! Candidates come in a fixed order: the same input gives the same output.

use crate::config::SimConfig;
use crate::explore::Action;
use crate::shrink::{ShrinkError, Shrunk, Sizes};
use crate::simulation::{RunOptions, RunReport, Simulation};

fn run(config: &SimConfig) -> Option<RunReport> {
    Some(
        Simulation::new(config.clone(), RunOptions::default())
            .ok()?
            .run(),
    )
}

/// Shrink `config`, which has a schedule and fails.
pub(crate) fn shrink(
    config: &SimConfig,
    runs_max: u64,
    cancelled: &dyn Fn() -> bool,
) -> Result<Shrunk, ShrinkError> {
    assert!(!config.schedule.is_empty());
    config.validate().map_err(ShrinkError::Invalid)?;
    let first = run(config).ok_or_else(|| ShrinkError::Invalid("does not validate".into()))?;
    let invariant = match &first.verdict {
        crate::Verdict::Diverged { step, reason } => {
            return Err(ShrinkError::Invalid(format!(
                "schedule[{step}] cannot be followed: {reason}"
            )));
        }
        verdict => verdict.invariant_name().ok_or(ShrinkError::Passes)?,
    };
    let before = Sizes::of(config, &first);
    let mut runs = 1;
    let mut current = config.clone();
    // Nothing after the step that failed ran.
    current.schedule.truncate(first.events as usize);
    let mut changed = true;
    while changed && runs < runs_max {
        changed = false;
        let mut index = current.schedule.len();
        while index > 0 && runs < runs_max {
            index -= 1;
            if cancelled() {
                return Err(ShrinkError::Abandoned { runs });
            }
            let mut candidate = current.clone();
            candidate.schedule.remove(index);
            runs += 1;
            if fails_alike(&candidate, invariant) {
                current = candidate;
                changed = true;
            }
        }
    }
    let mut trimmed = current.clone();
    for (client, script) in trimmed.workload.scripts.iter_mut().enumerate() {
        let invoked = current
            .schedule
            .iter()
            .filter(|action| matches!(action, Action::Invoke { client: c, .. } if *c as usize == client))
            .count();
        script.truncate(invoked);
    }
    runs += 1;
    if trimmed != current && fails_alike(&trimmed, invariant) {
        current = trimmed;
    }
    let last = run(&current).expect("the shrunk configuration is valid");
    assert_eq!(last.verdict.invariant_name(), Some(invariant));
    Ok(Shrunk {
        materialized: config.clone(),
        after: Sizes::of(&current, &last),
        shrunk: current,
        invariant,
        before,
        runs: runs + 1,
    })
}

fn fails_alike(candidate: &SimConfig, invariant: &str) -> bool {
    run(candidate).is_some_and(|report| report.verdict.invariant_name() == Some(invariant))
}
