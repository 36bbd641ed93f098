//! The liveness checker: once the heal phase begins, every operation
//! completes, and after the last one the core's replicas converge, each
//! within a bound.
//!
//! Safety is checked all run long (`check`); liveness can only be asked of a
//! run once the faults have stopped, and only of the live core the heal
//! brings back (`heal`): the nodes kept out need not catch up. From the
//! heal on, this checker keeps its own record (when the heal began, which
//! core, when the last client finished) and reads the nodes only to ask
//! whether the core converged. It does not schedule anything itself: it
//! answers with the next moment its bound could expire, and the driver puts
//! a deadline event in the queue for then.

use paxos::NodeId;

use crate::check::Place;
use crate::heal::HealCore;
use crate::host::Host;
use crate::report::{Invariant, Violation};
use crate::workload::Workload;

/// The liveness checker's own record of the run.
pub(crate) struct LivenessChecker {
    /// How long an operation, or the convergence after the last one, may take.
    bound_us: u64,
    /// When the heal phase began; `None` before.
    heal_us: Option<u64>,
    /// The core the heal brought back, as reports name it.
    core: Option<HealCore>,
    /// When the last client finished its operations.
    clients_done_us: Option<u64>,
}

/// What the checker found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Progress {
    /// The clients are done and the replicas converged: nothing to wait for.
    Done,
    /// Something is still awaited; look again at `deadline_us`.
    Waiting { deadline_us: u64 },
    /// The bound expired; `why` says what was awaited.
    Stuck { why: &'static str },
}

impl LivenessChecker {
    pub(crate) fn new(bound_us: u64) -> LivenessChecker {
        LivenessChecker {
            bound_us,
            heal_us: None,
            core: None,
            clients_done_us: None,
        }
    }

    /// The heal phase began with `core`: from now on the bound runs.
    pub(crate) fn on_heal(&mut self, now_us: u64, core: &HealCore) {
        assert!(self.heal_us.is_none(), "the heal phase begins once");
        self.heal_us = Some(now_us);
        self.core = Some(core.clone());
    }

    /// The last client finished its operations.
    pub(crate) fn on_clients_done(&mut self, now_us: u64) {
        self.clients_done_us = Some(now_us);
    }

    /// Every operation completes within the bound of the later of its
    /// invocation and the heal, and once the clients are done the core's
    /// replicas converge within the bound of the later of that and the heal.
    pub(crate) fn check(&self, now_us: u64, workload: &Workload, hosts: &[Host]) -> Progress {
        let core = self
            .core
            .as_ref()
            .expect("the deadline is set when healing");
        if workload.done() && converged(hosts, &core.core) {
            return Progress::Done;
        }
        let heal_us = self.heal_us.expect("the deadline is set when healing");
        let waiting_since_us = match workload.oldest_outstanding_us() {
            Some(invoke_us) => invoke_us.max(heal_us),
            None if workload.done() => self.clients_done_us.unwrap_or(heal_us).max(heal_us),
            None => {
                // Every client is between operations: nothing waits yet.
                return Progress::Waiting {
                    deadline_us: now_us + self.bound_us,
                };
            }
        };
        let deadline_us = waiting_since_us.saturating_add(self.bound_us);
        if now_us < deadline_us {
            return Progress::Waiting { deadline_us };
        }
        let why = if workload.done() {
            "the core's replicas did not converge"
        } else {
            "an operation stayed outstanding"
        };
        Progress::Stuck { why }
    }

    /// The violation for `why`, with what a reader needs to see where the
    /// run stood: the pending operations, who believes it leads, how far
    /// each replica applied.
    pub(crate) fn violation(
        &self,
        why: &str,
        place: Place,
        workload: &Workload,
        hosts: &[Host],
    ) -> Box<Violation> {
        let outstanding = workload.outstanding();
        let leaders: Vec<String> = hosts
            .iter()
            .enumerate()
            .filter_map(|(id, host)| {
                let node = host.node.as_ref()?;
                let ballot = node.ballot()?;
                Some(format!("n{id} {} at ballot {ballot}", node.role_name()))
            })
            .collect();
        let applied: Vec<String> = hosts
            .iter()
            .enumerate()
            .map(|(id, host)| match &host.node {
                Some(node) => format!("n{id}:{}", node.applied_upto()),
                None => format!("n{id}:down"),
            })
            .collect();
        let pending: Vec<String> = outstanding
            .iter()
            .map(|(client, seq, attempt)| format!("client {client} seq {seq} (attempt {attempt})"))
            .collect();
        let heal_us = self.heal_us.unwrap_or(0);
        let core = self
            .core
            .as_ref()
            .map_or("not drawn yet".into(), HealCore::describe);
        Box::new(Violation {
            invariant: Invariant::Liveness,
            event: place.event,
            time_us: place.time_us,
            slot: None,
            key: None,
            node: None,
            message: format!(
                "{why} for longer than the bound of {}us (the heal phase began at {heal_us}us \
                 with {core}); pending: [{}]; nodes believing they lead or campaign: [{}]; \
                 applied: [{}]",
                self.bound_us,
                pending.join(", "),
                leaders.join(", "),
                applied.join(" ")
            ),
            evidence: Vec::new(),
            // The outstanding operations, as history indices.
            ops: outstanding
                .iter()
                .filter_map(|&(client, seq, _)| {
                    (workload.history.ops.iter())
                        .rposition(|op| op.client == client && op.seq == seq)
                })
                .collect(),
        })
    }
}

/// Every node of `core` up and running, and every one of its replicas has
/// applied the same prefix with nothing learned beyond it.
pub(crate) fn converged(hosts: &[Host], core: &[NodeId]) -> bool {
    let mut applied = None;
    for id in core {
        let host = &hosts[usize::from(*id)];
        let Some(node) = &host.node else { return false };
        if host.is_paused() {
            return false;
        }
        let upto = node.applied_upto();
        if *applied.get_or_insert(upto) != upto {
            return false;
        }
        if node.durable().chosen.range(upto..).next().is_some() {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SimConfig;
    use crate::knobs::Pins;
    use crate::workload::ClientEffect;

    const BOUND_US: u64 = 1_000;

    /// A drawn workload whose client 0 has invoked one operation at `invoke_us`.
    fn one_outstanding(invoke_us: u64) -> Workload {
        let config = SimConfig::draw(1, &Pins::default());
        let nodes = config.cluster.nodes;
        let mut workload = Workload::new(config.seed, config.workload, nodes);
        let effect = workload.issue(0, invoke_us);
        assert!(matches!(effect, ClientEffect::Send { .. }), "{effect:?}");
        workload
    }

    #[test]
    fn an_operation_gets_the_bound_from_the_later_of_its_invocation_and_the_heal() {
        let mut checker = LivenessChecker::new(BOUND_US);
        checker.on_heal(5_000, &HealCore::full(0));
        let workload = one_outstanding(100);
        let waiting = Progress::Waiting { deadline_us: 6_000 };
        assert_eq!(checker.check(5_000, &workload, &[]), waiting);
        assert_eq!(checker.check(5_999, &workload, &[]), waiting);
        let why = "an operation stayed outstanding";
        assert_eq!(
            checker.check(6_000, &workload, &[]),
            Progress::Stuck { why }
        );
    }

    #[test]
    fn clients_between_operations_are_looked_at_again_a_bound_later() {
        let mut checker = LivenessChecker::new(BOUND_US);
        checker.on_heal(0, &HealCore::full(0));
        let config = SimConfig::draw(1, &Pins::default());
        let workload = Workload::new(config.seed, config.workload, config.cluster.nodes);
        assert_eq!(
            checker.check(700, &workload, &[]),
            Progress::Waiting { deadline_us: 1_700 }
        );
    }

    #[test]
    fn the_violation_says_what_was_pending_and_since_when() {
        let mut checker = LivenessChecker::new(BOUND_US);
        let core = HealCore {
            core: vec![0, 2],
            excluded: vec![1],
            how: crate::heal::Exclusion::Paused,
        };
        checker.on_heal(50, &core);
        let workload = one_outstanding(100);
        let place = Place {
            event: 7,
            time_us: 1_100,
        };
        let violation = checker.violation("stuck", place, &workload, &[]);
        assert_eq!(violation.invariant, Invariant::Liveness);
        assert_eq!((violation.event, violation.time_us), (7, 1_100));
        assert!(
            violation.message.starts_with(
                "stuck for longer than the bound of 1000us (the heal phase began at 50us \
                 with core [0, 2]; n1 paused)"
            ),
            "{}",
            violation.message
        );
        assert!(
            violation.message.contains("pending: [client 0 seq"),
            "{}",
            violation.message
        );
    }
}
