//! What a run produces: its verdict, violations, probes and counters.

use serde::Serialize;

use paxos::{Ballot, NodeId, Slot};

/// The invariants the checkers hold a run to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Invariant {
    /// Two different values chosen for one slot.
    SingleChosenValue,
    /// Two different values accepted in one slot under one ballot.
    UniqueBallotValue,
    /// A node learned or applied a value other than the one chosen.
    LearnerAgreement,
    /// A replica applied slots out of order or with a gap.
    ReplicaOrder,
    /// Replicas disagree on a key's version -> value, or end in different states.
    ReplicaAgreement,
    /// An applied write did not raise its key's version by exactly one.
    VersionIncrement,
    /// An acceptor's promise went down (typically across a crash).
    PromiseMonotonic,
    /// An acceptor accepted a ballot below its promise.
    AcceptBelowPromise,
    /// A restarted acceptor forgot an acceptance it had reported.
    AcceptorDurability,
    /// A proposer reused or lowered a ballot (typically across a crash).
    BallotMonotonic,
    /// A chosen value kept fewer than a phase-2 quorum of intact copies on
    /// disk, and no live replica applied it.
    ChosenValueDurable,
    /// The client history has no linearization.
    Linearizability,
    /// After the heal phase began, work did not finish within the bound.
    Liveness,
    /// Validation admitted quorums that need not intersect, unasked.
    UnsafeQuorumsAdmitted,
    /// Too many leader changes in the heal phase's steady state.
    LeaderChangeBudget,
    /// Too many messages per chosen command in the heal phase's steady state.
    MessageBudget,
    /// Too many retries of one operation in the heal phase.
    RetryBudget,
    /// A checker added with `Simulation::observe` reported a violation.
    Observer,
}

impl Invariant {
    pub const ALL: [Invariant; 18] = [
        Invariant::SingleChosenValue,
        Invariant::UniqueBallotValue,
        Invariant::LearnerAgreement,
        Invariant::ReplicaOrder,
        Invariant::ReplicaAgreement,
        Invariant::VersionIncrement,
        Invariant::PromiseMonotonic,
        Invariant::AcceptBelowPromise,
        Invariant::AcceptorDurability,
        Invariant::BallotMonotonic,
        Invariant::ChosenValueDurable,
        Invariant::Linearizability,
        Invariant::Liveness,
        Invariant::UnsafeQuorumsAdmitted,
        Invariant::LeaderChangeBudget,
        Invariant::MessageBudget,
        Invariant::RetryBudget,
        Invariant::Observer,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Invariant::SingleChosenValue => "single-chosen-value",
            Invariant::UniqueBallotValue => "unique-ballot-value",
            Invariant::LearnerAgreement => "learner-agreement",
            Invariant::ReplicaOrder => "replica-order",
            Invariant::ReplicaAgreement => "replica-agreement",
            Invariant::VersionIncrement => "version-increment",
            Invariant::PromiseMonotonic => "promise-monotonic",
            Invariant::AcceptBelowPromise => "accept-below-promise",
            Invariant::AcceptorDurability => "acceptor-durability",
            Invariant::BallotMonotonic => "ballot-monotonic",
            Invariant::ChosenValueDurable => "chosen-value-durable",
            Invariant::Linearizability => "linearizability",
            Invariant::Liveness => "liveness",
            Invariant::UnsafeQuorumsAdmitted => "unsafe-quorums-admitted",
            Invariant::LeaderChangeBudget => "leader-change-budget",
            Invariant::MessageBudget => "message-budget",
            Invariant::RetryBudget => "retry-budget",
            Invariant::Observer => "observer",
        }
    }

    pub fn from_name(name: &str) -> Option<Invariant> {
        Invariant::ALL
            .into_iter()
            .find(|invariant| invariant.name() == name)
    }

    /// The invariant that catches `flaw` in the default campaign: the one
    /// the flaw tests expect, and the README's table lists.
    pub fn catching(flaw: paxos::Flaw) -> Invariant {
        use paxos::Flaw;
        match flaw {
            Flaw::PromiseNotPersisted => Invariant::PromiseMonotonic,
            // The value it helped choose has no durable copy there: the
            // first crash before a replica applied it shows that, before
            // the restart shows the forgotten acceptance.
            Flaw::AcceptNotPersisted => Invariant::ChosenValueDurable,
            Flaw::IgnorePromisedValues => Invariant::SingleChosenValue,
            Flaw::BallotReuseAfterRestart => Invariant::BallotMonotonic,
            Flaw::BallotWithoutNodeId => Invariant::UniqueBallotValue,
            Flaw::AcceptBelowPromise => Invariant::AcceptBelowPromise,
            // The checker's quorum is the specification's, not the flawed
            // one, so the first decision by a minority is already one no
            // quorum accepted.
            Flaw::MinorityQuorum => Invariant::LearnerAgreement,
            Flaw::DoubleCountVotes => Invariant::LearnerAgreement,
            Flaw::LearnAcrossBallots => Invariant::LearnerAgreement,
            Flaw::StaleLeaderRead => Invariant::Linearizability,
            Flaw::NoClientDedup => Invariant::Linearizability,
            Flaw::SkipGapFill => Invariant::ReplicaOrder,
            Flaw::DecideWithAll => Invariant::Liveness,
            Flaw::LearnWithPhase1Quorum => Invariant::LearnerAgreement,
            Flaw::EvenSizeMajority => Invariant::LearnerAgreement,
            Flaw::ValidationOffByOne => Invariant::UnsafeQuorumsAdmitted,
            Flaw::RoundFromPromise => Invariant::BallotMonotonic,
            Flaw::SameAsAlwaysTrue => Invariant::SingleChosenValue,
            Flaw::HeartbeatKeepsNoTimer => Invariant::LeaderChangeBudget,
            // A node that lost its promise accepts below it: usually the first
            // sign, before its next Promise shows the lower promise.
            Flaw::PromiseSentBeforePersist => Invariant::AcceptBelowPromise,
            Flaw::AcceptedSentBeforePersist => Invariant::ChosenValueDurable,
            Flaw::TrustCorruptRecord => Invariant::AcceptorDurability,
            Flaw::VoteWhileRecovering => Invariant::PromiseMonotonic,
        }
    }

    /// The flaws a campaign switches on to show `flaw` caught by
    /// [`Invariant::catching`]: the flaw itself, and for one that only
    /// breaks code the checkers might share (`same-as-always-true`), also
    /// the flaw whose violation it would silence in a checker that shared it.
    pub fn shown_with(flaw: paxos::Flaw) -> paxos::Flaws {
        use paxos::{Flaw, Flaws};
        let flaws = Flaws::NONE.with(flaw);
        match flaw {
            Flaw::SameAsAlwaysTrue => flaws.with(Flaw::IgnorePromisedValues),
            _ => flaws,
        }
    }
}

/// One side of a conflict: a value and what stands behind it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Evidence {
    pub value: String,
    pub ballot: Option<Ballot>,
    pub acceptors: Vec<NodeId>,
    pub note: String,
}

/// A broken invariant, located.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Violation {
    pub invariant: Invariant,
    /// The index of the event after which the check failed (0-based).
    pub event: u64,
    pub time_us: u64,
    pub slot: Option<Slot>,
    pub key: Option<String>,
    pub node: Option<NodeId>,
    pub message: String,
    pub evidence: Vec<Evidence>,
    /// The client operations the report implicates, as indices into the
    /// run's history (`RunReport::history.ops`): for a linearizability
    /// failure, the one that cannot be placed and the write it contradicts.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ops: Vec<usize>,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} at event {} (t={}us)",
            self.invariant.name(),
            self.event,
            self.time_us
        )?;
        if let Some(slot) = self.slot {
            write!(f, " slot {slot}")?;
        }
        if let Some(key) = &self.key {
            write!(f, " key {key}")?;
        }
        if let Some(node) = self.node {
            write!(f, " node {node}")?;
        }
        write!(f, ": {}", self.message)?;
        for evidence in &self.evidence {
            write!(f, "\n    {}", evidence.value)?;
            if let Some(ballot) = evidence.ballot {
                write!(f, " at ballot {ballot}")?;
            }
            if !evidence.acceptors.is_empty() {
                write!(f, " accepted by {:?}", evidence.acceptors)?;
            }
            if !evidence.note.is_empty() {
                write!(f, " ({})", evidence.note)?;
            }
        }
        Ok(())
    }
}

/// Which bound a run hit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LimitKind {
    /// `limits.steps_max` events handled.
    Steps,
    /// Virtual time past `limits.time_us_max`.
    Time,
    /// More than `limits.queued_events_max` events waiting at once.
    Queue,
    /// More than `limits.log_slots_max` slots in a node's log.
    Log,
}

/// How a run ended. Only [`Verdict::Pass`] is a pass: a run that was fully
/// checked and found sound. A run that hit a bound, was cut short or ran
/// without its checkers is never one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Violation(Box<Violation>),
    /// The linearizability search ran out of budget on `key`: not a pass.
    Inconclusive {
        key: String,
        steps: u64,
    },
    /// The run hit a bound before it finished: not a pass.
    Limit(LimitKind),
    /// The run was cut short after event `after_event`
    /// (`RunOptions::stop_after_event`), so the rest of it and the final
    /// checks never happened: not a pass.
    Stopped {
        after_event: u64,
    },
    /// The run went to its end with the checkers off
    /// (`RunOptions::checkers`): nothing was judged, so not a pass.
    Unchecked,
    /// Step `step` of the configuration's schedule named an event that was
    /// not pending there: the run cannot follow it, so it stopped. Not a
    /// pass; the schedule does not fit this configuration or this core.
    Diverged {
        step: u64,
        reason: String,
    },
}

impl Verdict {
    /// `pass`, `violation`, `inconclusive`, `limit`, `stopped`, `unchecked`
    /// or `schedule-diverged`.
    pub fn outcome(&self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Violation(_) => "violation",
            Verdict::Inconclusive { .. } => "inconclusive",
            Verdict::Limit(_) => "limit",
            Verdict::Stopped { .. } => "stopped",
            Verdict::Unchecked => "unchecked",
            Verdict::Diverged { .. } => "schedule-diverged",
        }
    }

    /// One word for how the run ended: `pass`, the invariant's name for a
    /// violation, or `inconclusive`, `limit`, `stopped`, `unchecked`.
    pub fn label(&self) -> &'static str {
        match self {
            Verdict::Violation(violation) => violation.invariant.name(),
            other => other.outcome(),
        }
    }

    /// [`Verdict::label`] for anything but a pass; `None` for a pass.
    pub fn invariant_name(&self) -> Option<&'static str> {
        (!self.is_pass()).then(|| self.label())
    }

    pub fn is_pass(&self) -> bool {
        matches!(self, Verdict::Pass)
    }
}

/// Coverage probes: named points a healthy campaign reaches at least once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProbePoint {
    Core(paxos::Probe),
    CrashBetweenPrepareAndAccept,
    DuplicateDelivered,
    MessageDropped,
    HealThenProgress,
    PausedNodeResumesWithBacklog,
    /// A configuration asked for quorums that need not intersect, and
    /// validation refused it, as it must (`admission`).
    UnsafeQuorumsRefused,
    /// A crash lost writes that were not yet durable.
    WriteLostAtCrash,
    /// A crash left part of a multi-record write durable.
    TornWrite,
    /// A send or reply waited for its write to be durable.
    MessageHeldUntilDurable,
}

impl ProbePoint {
    pub const ALL: [ProbePoint; 16] = [
        ProbePoint::Core(paxos::Probe::AdoptedValue),
        ProbePoint::Core(paxos::Probe::RejectedLowerBallot),
        ProbePoint::Core(paxos::Probe::BecameLeader),
        ProbePoint::CrashBetweenPrepareAndAccept,
        ProbePoint::DuplicateDelivered,
        ProbePoint::MessageDropped,
        ProbePoint::HealThenProgress,
        ProbePoint::Core(paxos::Probe::DedupHit),
        ProbePoint::Core(paxos::Probe::CasConflict),
        ProbePoint::PausedNodeResumesWithBacklog,
        ProbePoint::UnsafeQuorumsRefused,
        ProbePoint::WriteLostAtCrash,
        ProbePoint::TornWrite,
        ProbePoint::MessageHeldUntilDurable,
        ProbePoint::Core(paxos::Probe::CorruptRecordDetected),
        ProbePoint::Core(paxos::Probe::RecoveredFromPeers),
    ];

    pub fn name(self) -> &'static str {
        match self {
            ProbePoint::Core(probe) => probe.name(),
            ProbePoint::CrashBetweenPrepareAndAccept => "crash-between-prepare-and-accept",
            ProbePoint::DuplicateDelivered => "duplicate-delivered",
            ProbePoint::MessageDropped => "message-dropped",
            ProbePoint::HealThenProgress => "partition-heals-then-progress",
            ProbePoint::PausedNodeResumesWithBacklog => "paused-node-resumes-with-backlog",
            ProbePoint::UnsafeQuorumsRefused => "unsafe-quorums-refused",
            ProbePoint::WriteLostAtCrash => "write-lost-at-crash",
            ProbePoint::TornWrite => "torn-write",
            ProbePoint::MessageHeldUntilDurable => "message-held-until-durable",
        }
    }

    fn index(self) -> usize {
        ProbePoint::ALL
            .iter()
            .position(|probe| *probe == self)
            .expect("every probe is listed")
    }
}

/// Hit counts per probe.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Probes {
    hits: [u64; ProbePoint::ALL.len()],
}

impl Probes {
    pub fn hit(&mut self, probe: ProbePoint) {
        self.hits[probe.index()] += 1;
    }

    pub fn count(&self, probe: ProbePoint) -> u64 {
        self.hits[probe.index()]
    }

    pub fn add(&mut self, other: &Probes) {
        for (mine, theirs) in self.hits.iter_mut().zip(other.hits) {
            *mine += theirs;
        }
    }

    /// `(name, hits)` for every probe, in a fixed order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        ProbePoint::ALL
            .iter()
            .map(|probe| (probe.name(), self.count(*probe)))
    }
}

/// Counters of one run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    pub messages_sent: u64,
    pub messages_delivered: u64,
    pub messages_dropped: u64,
    pub messages_blocked: u64,
    pub messages_duplicated: u64,
    pub messages_lost_to_crash: u64,
    pub crashes: u64,
    pub restarts: u64,
    pub partitions: u64,
    pub pauses: u64,
    pub timers_fired: u64,
    pub client_requests: u64,
    /// Client operations invoked, completed (answered) and abandoned (the
    /// client gave up in the chaos phase: their outcome is unknown). Those
    /// neither completed nor abandoned were still in flight at the end.
    pub ops_invoked: u64,
    pub ops_completed: u64,
    pub ops_abandoned: u64,
    /// The most events that waited in the queue at once.
    pub events_queued_max: u64,
    pub slots_chosen: u64,
    /// Sends and replies held until their write was durable.
    pub messages_held: u64,
    /// Records lost in flight at a crash, and records damaged (corrupt or
    /// unreadable) at a restart.
    pub records_lost: u64,
    pub records_damaged: u64,
}
