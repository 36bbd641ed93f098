//! Admission: whether a configuration runs, judged against the
//! specification and not only by the core's own validation.
//!
//! Validation must refuse quorums that need not intersect (`q1 + q2 <= n`)
//! unless the configuration opts in with `allow_unsafe_quorums`. A share of
//! the swarm asks for such pairs on purpose, to hold validation to that.
//! The specification decides from the configuration's plain fields alone
//! (`check::quorum_sizes`) what validation must do, and each outcome has
//! its name:
//! - asked for, and refused: the seed's correct outcome,
//!   [`Admission::Refused`], which a campaign counts as a pass and in the
//!   probe `unsafe-quorums-refused`;
//! - asked for, and admitted: the violation `unsafe-quorums-admitted`,
//!   reported by the run before its first event ([`admitted_unsafe`]);
//! - refused for any other reason: an invalid configuration, an error.

use crate::check::Place;
use crate::config::SimConfig;
use crate::report::{Invariant, ProbePoint, Probes, Violation};
use crate::simulation::{RunOptions, RunReport, Simulation};
use crate::spec::quorum_sizes;

/// What became of a configuration.
pub enum Admission {
    /// Validation admitted it: run it.
    Run(Box<Simulation>),
    /// It asks for quorums that need not intersect, and validation refused
    /// it, as it must. `probes` counts the refusal.
    Refused { reason: String, probes: Probes },
}

/// Whether the specification says validation must refuse `config`: its
/// quorums need not intersect and it does not opt in.
pub fn refusal_expected(config: &SimConfig) -> bool {
    cluster_refusal_expected(&config.cluster)
}

/// [`refusal_expected`] for a cluster alone (the explorer has no `SimConfig`).
pub(crate) fn cluster_refusal_expected(cluster: &paxos::Config) -> bool {
    let (phase1, phase2) = quorum_sizes(cluster);
    phase1 + phase2 <= usize::from(cluster.nodes) && !cluster.allow_unsafe_quorums
}

/// Set up `config`'s run, or name its expected refusal; an `Err` is an
/// invalid configuration.
pub fn admit(config: SimConfig, options: RunOptions) -> Result<Admission, String> {
    // Refused for its quorums alone: with the opt-in, it would be valid.
    let refused_for_quorums = refusal_expected(&config).then(|| {
        let mut opted_in = config.clone();
        opted_in.cluster.allow_unsafe_quorums = true;
        opted_in.validate().is_ok()
    });
    match Simulation::new(config, options) {
        Ok(simulation) => Ok(Admission::Run(Box::new(simulation))),
        Err(reason) if refused_for_quorums == Some(true) => {
            let mut probes = Probes::default();
            probes.hit(ProbePoint::UnsafeQuorumsRefused);
            Ok(Admission::Refused { reason, probes })
        }
        Err(reason) => Err(reason),
    }
}

/// Run `config` with default options: `Ok(None)` when it was refused as
/// expected.
pub fn run_admitted(config: SimConfig) -> Result<Option<RunReport>, String> {
    match admit(config, RunOptions::default())? {
        Admission::Run(simulation) => Ok(Some(simulation.run())),
        Admission::Refused { .. } => Ok(None),
    }
}

/// The violation of a configuration validation admitted although the
/// specification says it must not have.
/// The simulator and the explorer both report it before their first event.
pub(crate) fn admitted_unsafe(cluster: &paxos::Config) -> Option<Box<Violation>> {
    if !cluster_refusal_expected(cluster) {
        return None;
    }
    let (phase1, phase2) = quorum_sizes(cluster);
    let nodes = cluster.nodes;
    let place = Place::default();
    Some(Box::new(Violation {
        invariant: Invariant::UnsafeQuorumsAdmitted,
        event: place.event,
        time_us: place.time_us,
        slot: None,
        key: None,
        node: None,
        message: format!(
            "validation admitted quorums q1={phase1} and q2={phase2}, which need not intersect \
             in {nodes} nodes (q1 + q2 <= {nodes}), without allow_unsafe_quorums"
        ),
        evidence: Vec::new(),
        ops: Vec::new(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::knobs::Pins;
    use paxos::{Flaw, Flaws};

    fn disjoint(flaws: Flaws) -> SimConfig {
        let pins = Pins {
            nodes: Some(4),
            quorum_phase1: Some(2),
            quorum_phase2: Some(2),
            flaws,
            ..Pins::default()
        };
        SimConfig::draw(1, &pins)
    }

    #[test]
    fn unsafe_quorums_are_refused_as_expected() {
        let config = disjoint(Flaws::NONE);
        assert!(refusal_expected(&config));
        let Ok(Admission::Refused { reason, probes }) = admit(config, RunOptions::default()) else {
            panic!("expected the refusal");
        };
        assert!(reason.contains("need not intersect"), "{reason}");
        assert_eq!(probes.count(ProbePoint::UnsafeQuorumsRefused), 1);
    }

    #[test]
    fn unsafe_quorums_validation_admits_are_a_violation() {
        let config = disjoint(Flaws::NONE.with(Flaw::ValidationOffByOne));
        let report = run_admitted(config).unwrap().expect("admitted by the flaw");
        let crate::Verdict::Violation(violation) = report.verdict else {
            panic!("{:?}", report.verdict);
        };
        assert_eq!(violation.invariant, Invariant::UnsafeQuorumsAdmitted);
        assert_eq!((violation.event, report.events), (0, 0));
    }

    #[test]
    fn opting_in_or_other_faults_are_not_an_expected_refusal() {
        let mut opted_in = disjoint(Flaws::NONE);
        opted_in.cluster.allow_unsafe_quorums = true;
        assert!(!refusal_expected(&opted_in));
        assert!(matches!(
            admit(opted_in, RunOptions::default()),
            Ok(Admission::Run(_))
        ));
        let mut also_broken = disjoint(Flaws::NONE);
        also_broken.workload.clients = 0;
        assert!(admit(also_broken, RunOptions::default()).is_err());
    }
}
