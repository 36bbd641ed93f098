//! How a run ends: the final checks on a run that ended without a
//! violation (liveness, the core's agreement, linearizability, the steady
//! state's messages per command), the liveness checker's deadlines, and
//! the report a run leaves.

use paxos::Node;

use crate::event::Event;
use crate::history_check::{self, HistoryVerdict};
use crate::liveness::{self, Progress};
use crate::report::Verdict;
use crate::simulation::{RunReport, Simulation};

impl Simulation {
    pub(crate) fn report(mut self, mut verdict: Verdict) -> RunReport {
        if let Verdict::Violation(violation) = &mut verdict {
            // The storage faults that came before it, for the reader.
            for fault in self.storage_faults.drain(..) {
                violation.evidence.push(crate::report::Evidence {
                    value: "storage fault".into(),
                    ballot: None,
                    acceptors: Vec::new(),
                    note: fault,
                });
            }
        }
        let mut counters = self.counters;
        counters.slots_chosen = self.checker.slots_chosen;
        counters.ops_completed = self
            .workload
            .history
            .ops
            .iter()
            .filter(|op| op.complete.is_some())
            .count() as u64;
        counters.ops_invoked = self.workload.history.ops.len() as u64;
        counters.ops_abandoned = self.workload.abandoned;
        let timeline = self.recorder.take().map(|recorder| {
            let history = &self.workload.history;
            recorder.finish(&verdict, history, self.events, self.now_us, self.heal_us)
        });
        RunReport {
            config: self.config.clone(),
            verdict,
            events: self.events,
            digest: self.digest.value(),
            time_us: self.now_us,
            counters,
            probes: self.probes,
            history: std::mem::take(&mut self.workload.history),
            trace: std::mem::take(&mut self.trace),
            timeline,
            heal_us: self.heal_us,
            heal_core: self.heal_us.map(|_| self.heal_core.clone()),
            efficiency: self.efficiency.figures(),
            applied_upto: self
                .hosts
                .iter()
                .map(|host| host.node.as_ref().map(Node::applied_upto))
                .collect(),
            unfired_faults: (self.faults_fired.iter().enumerate())
                .filter(|(_, fired)| !**fired)
                .map(|(index, _)| index)
                .collect(),
        }
    }

    /// The run is over: the loop stops after this event.
    pub(crate) fn finish(&mut self) {
        self.finished = true;
    }

    /// The checks on a run that ended without a violation: liveness (the
    /// run must not have gone quiet with its core unconverged), agreement
    /// of the core's replicas, linearizability of the clients' history,
    /// then the steady state's messages per command.
    pub(crate) fn final_verdict(&mut self) -> Verdict {
        if !self.options.checkers {
            // Nothing was judged, so nothing passed.
            return Verdict::Unchecked;
        }
        let place = self.place();
        let core = &self.heal_core.core;
        if !(self.workload.done() && liveness::converged(&self.hosts, core)) {
            let why = "the run went quiet";
            let violation = self
                .liveness
                .violation(why, place, &self.workload, &self.hosts);
            return Verdict::Violation(violation);
        }
        let nodes: Vec<&Node> = core
            .iter()
            .filter_map(|id| self.hosts[usize::from(*id)].node.as_ref())
            .collect();
        if let Err(violation) = self.checker.final_agreement(place, &nodes) {
            return Verdict::Violation(violation);
        }
        match history_check::check_history(
            &self.workload.history,
            place,
            self.config.limits.linearizability_steps_max,
        ) {
            HistoryVerdict::Linearizable => {}
            HistoryVerdict::Violation(violation, failure) => {
                if let Some(recorder) = &mut self.recorder {
                    recorder.key_failure(*failure);
                }
                return Verdict::Violation(violation);
            }
            HistoryVerdict::Inconclusive { key, steps } => {
                return Verdict::Inconclusive { key, steps };
            }
        }
        match self.efficiency.check_at_end(place) {
            Ok(()) => Verdict::Pass,
            Err(violation) => Verdict::Violation(violation),
        }
    }

    /// Ask the liveness checker, and look again when its bound could next
    /// expire.
    pub(crate) fn check_liveness(&mut self) {
        match self
            .liveness
            .check(self.now_us, &self.workload, &self.hosts)
        {
            Progress::Done => {}
            Progress::Waiting { deadline_us } => {
                self.schedule(deadline_us, Event::Deadline);
            }
            Progress::Stuck { why } => {
                let place = self.place();
                let violation = self
                    .liveness
                    .violation(why, place, &self.workload, &self.hosts);
                self.violation = Some(violation);
            }
        }
    }
}
