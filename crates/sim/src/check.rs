//! Checkers that run after every event, over their own record of the run.
//!
//! The safety checker never trusts what a node believes was chosen. It keeps
//! "ghost state": every acceptance `(slot, ballot, value, acceptor)` as it
//! leaves an acceptor in an `Accepted` message. A value is chosen once a
//! phase-2 quorum of distinct acceptors accepted it in one ballot, and stays
//! chosen even if those acceptors later crash and forget. Each event costs
//! O(1) amortized work: only that event's outputs are looked at.
//!
//! The checker shares no logic with the core it checks, only plain data
//! types (`Command`, `Ballot`, `Op` as values): a bug in the core's own
//! comparison, vote set or quorum arithmetic must not silence the check
//! that would catch it. So it names values by its own `ValueId` (the
//! writing request's `(client, seq)`), counts acceptors in its own
//! `Acceptors` set, and takes its quorum sizes from the specification
//! (`quorum_sizes`: the configuration's plain fields, a majority where
//! none is given), all in `spec`; never `paxos::Config::quorum_phase2()`,
//! `Command::same_as` or `paxos::NodeSet`.
//!
//! `feed` is the one place a node's outputs reach the checker, for the
//! simulator and the explorer alike; `fingerprint` hashes the ghost state,
//! for the explorer, which must tell checker states apart.

use std::collections::BTreeMap;

use paxos::{Ballot, Command, Key, Node, NodeId, Op, OpResult, Slot};

pub use crate::spec::{Acceptors, ValueId, quorum_sizes};

use crate::report::{Evidence, Invariant, Violation};

mod feed;
mod fingerprint;

/// The acceptances of one ballot in one slot.
#[derive(Clone, Debug)]
struct BallotVotes {
    ballot: Ballot,
    value: ValueId,
    /// Kept to describe the value in a report.
    command: Command,
    acceptors: Acceptors,
}

#[derive(Clone, Debug, Default)]
struct SlotGhost {
    /// Few ballots per slot in practice; a short vector beats a map.
    ballots: Vec<BallotVotes>,
    chosen: Option<BallotVotes>,
}

/// Where a violation happened, filled in by the caller.
#[derive(Clone, Copy, Debug, Default)]
pub struct Place {
    pub event: u64,
    pub time_us: u64,
}

#[derive(Clone, Debug)]
struct ReplicaGhost {
    applied_next: Slot,
    versions: BTreeMap<Key, u64>,
}

/// Safety invariants checked as events happen.
#[derive(Clone, Debug)]
pub struct SafetyChecker {
    quorum_phase2: usize,
    slots: Vec<SlotGhost>,
    /// Per acceptor, the highest ballot it has promised or accepted.
    promised_max: Vec<Ballot>,
    /// Per proposer, the highest ballot it sent a Prepare for, and whether
    /// it restarted since (then even the same ballot would be a reuse).
    prepared_max: Vec<(Ballot, bool)>,
    replicas: Vec<ReplicaGhost>,
    /// Per key, the value each version was written with (index version - 1).
    key_versions: BTreeMap<Key, Vec<Command>>,
    /// Slots chosen so far, by the ghost's count.
    pub slots_chosen: u64,
}

type Check = Result<(), Box<Violation>>;

impl SafetyChecker {
    pub fn new(nodes: u8, quorum_phase2: usize) -> SafetyChecker {
        assert!(quorum_phase2 >= 1);
        SafetyChecker {
            quorum_phase2,
            slots: Vec::new(),
            promised_max: vec![Ballot::ZERO; usize::from(nodes)],
            prepared_max: vec![(Ballot::ZERO, false); usize::from(nodes)],
            replicas: vec![
                ReplicaGhost {
                    applied_next: 0,
                    versions: BTreeMap::new(),
                };
                usize::from(nodes)
            ],
            key_versions: BTreeMap::new(),
            slots_chosen: 0,
        }
    }

    fn slot(&mut self, slot: Slot) -> &mut SlotGhost {
        let index = usize::try_from(slot).expect("slot fits in memory");
        if index >= self.slots.len() {
            self.slots.resize_with(index + 1, SlotGhost::default);
        }
        &mut self.slots[index]
    }

    /// The value chosen in `slot`, by the ghost's record.
    pub fn chosen(&self, slot: Slot) -> Option<ValueId> {
        let ghost = self.slots.get(usize::try_from(slot).ok()?)?;
        ghost.chosen.as_ref().map(|votes| votes.value)
    }

    /// Node `proposer` sent `Prepare(ballot)`. A proposer never lowers a
    /// ballot, and never reuses one across a crash; a resend of the same
    /// Prepare within one life is fine.
    pub fn on_prepare(&mut self, place: Place, proposer: NodeId, ballot: Ballot) -> Check {
        let (prepared_max, restarted) = &mut self.prepared_max[usize::from(proposer)];
        let reused = *restarted && ballot == *prepared_max && ballot != Ballot::ZERO;
        if ballot < *prepared_max || reused {
            let what = if reused { "reused" } else { "lowered to" };
            return Err(violation(
                Invariant::BallotMonotonic,
                place,
                format!(
                    "proposer {proposer} {what} ballot {ballot} after preparing {prepared_max}{}",
                    if *restarted {
                        " before its restart"
                    } else {
                        ""
                    }
                ),
            )
            .node(proposer));
        }
        *prepared_max = ballot;
        *restarted = false;
        Ok(())
    }

    /// Node `acceptor` sent `Promise(ballot)`.
    pub fn on_promise(&mut self, place: Place, acceptor: NodeId, ballot: Ballot) -> Check {
        let promised = &mut self.promised_max[usize::from(acceptor)];
        if ballot < *promised {
            return Err(violation(
                Invariant::PromiseMonotonic,
                place,
                format!("acceptor {acceptor} promised {ballot} after promising {promised}"),
            )
            .node(acceptor));
        }
        *promised = ballot;
        Ok(())
    }

    /// Node `acceptor` sent `Accepted(ballot, slot, command)`. Returns
    /// whether this acceptance chose a value.
    pub fn on_accepted(
        &mut self,
        place: Place,
        acceptor: NodeId,
        ballot: Ballot,
        slot: Slot,
        command: &Command,
    ) -> Result<bool, Box<Violation>> {
        let promised = self.promised_max[usize::from(acceptor)];
        if ballot < promised {
            return Err(violation(
                Invariant::AcceptBelowPromise,
                place,
                format!(
                    "acceptor {acceptor} accepted ballot {ballot} below its promise {promised}"
                ),
            )
            .node(acceptor)
            .slot(slot));
        }
        self.promised_max[usize::from(acceptor)] = ballot;
        let quorum = self.quorum_phase2;
        let value = ValueId::of(command);
        let ghost = self.slot(slot);
        let index = match ghost
            .ballots
            .iter()
            .position(|votes| votes.ballot == ballot)
        {
            Some(index) => index,
            None => {
                ghost.ballots.push(BallotVotes {
                    ballot,
                    value,
                    command: command.clone(),
                    acceptors: Acceptors::default(),
                });
                ghost.ballots.len() - 1
            }
        };
        let votes = &mut ghost.ballots[index];
        if votes.value != value {
            let mut other = votes.clone();
            other.acceptors = Acceptors::default();
            other.acceptors.insert(acceptor);
            other.value = value;
            other.command = command.clone();
            return Err(violation(
                Invariant::UniqueBallotValue,
                place,
                format!("two values accepted in slot {slot} under the same ballot {ballot}"),
            )
            .slot(slot)
            .evidence(evidence_of(votes, "accepted first"))
            .evidence(evidence_of(&other, "accepted later")));
        }
        votes.acceptors.insert(acceptor);
        if votes.acceptors.len() < quorum {
            return Ok(false);
        }
        let votes = votes.clone();
        match &ghost.chosen {
            None => {
                ghost.chosen = Some(votes);
                self.slots_chosen += 1;
                Ok(true)
            }
            Some(chosen) if chosen.value == votes.value => Ok(false),
            Some(chosen) => Err(violation(
                Invariant::SingleChosenValue,
                place,
                format!("two different values chosen in slot {slot}"),
            )
            .slot(slot)
            .evidence(evidence_of(chosen, "chosen first"))
            .evidence(evidence_of(&votes, "chosen second"))),
        }
    }

    /// Node `node` learned (durably recorded) `command` as chosen in `slot`.
    pub fn on_learned(
        &mut self,
        place: Place,
        node: NodeId,
        slot: Slot,
        command: &Command,
    ) -> Check {
        self.agree_with_chosen(place, node, slot, command, "learned")
    }

    fn agree_with_chosen(
        &mut self,
        place: Place,
        node: NodeId,
        slot: Slot,
        command: &Command,
        verb: &str,
    ) -> Check {
        let value = ValueId::of(command);
        let ghost = self.slot(slot);
        match &ghost.chosen {
            Some(chosen) if chosen.value == value => Ok(()),
            Some(chosen) => Err(violation(
                Invariant::LearnerAgreement,
                place,
                format!("node {node} {verb} a value in slot {slot} other than the chosen one"),
            )
            .node(node)
            .slot(slot)
            .evidence(evidence_of(chosen, "chosen"))
            .evidence(Evidence {
                value: describe(command),
                ballot: None,
                acceptors: Vec::new(),
                note: format!("{verb} by node {node}"),
            })),
            None => {
                let accepted: Vec<Evidence> = ghost
                    .ballots
                    .iter()
                    .map(|votes| evidence_of(votes, "accepted, short of a quorum"))
                    .collect();
                let mut report = violation(
                    Invariant::LearnerAgreement,
                    place,
                    format!(
                        "node {node} {verb} a value in slot {slot} that no quorum accepted in one ballot"
                    ),
                )
                .node(node)
                .slot(slot)
                .evidence(Evidence {
                    value: describe(command),
                    ballot: None,
                    acceptors: Vec::new(),
                    note: format!("{verb} by node {node}"),
                });
                for evidence in accepted {
                    report = report.evidence(evidence);
                }
                Err(report)
            }
        }
    }

    /// Replica `node` applied `command` in `slot` with `result`.
    pub fn on_applied(
        &mut self,
        place: Place,
        node: NodeId,
        slot: Slot,
        command: &Command,
        result: Option<&OpResult>,
    ) -> Check {
        let replica = &mut self.replicas[usize::from(node)];
        if slot != replica.applied_next {
            let expected = replica.applied_next;
            return Err(violation(
                Invariant::ReplicaOrder,
                place,
                format!("replica {node} applied slot {slot}, expected slot {expected} next"),
            )
            .node(node)
            .slot(slot));
        }
        replica.applied_next = slot + 1;
        self.agree_with_chosen(place, node, slot, command, "applied")?;
        let Command::Client(request) = command else {
            return Ok(());
        };
        let version = match result {
            Some(OpResult::Put { version }) | Some(OpResult::CasOk { version }) => *version,
            _ => return Ok(()),
        };
        let key = request.op.key();
        let replica = &mut self.replicas[usize::from(node)];
        let version_before = replica.versions.get(key).copied().unwrap_or(0);
        if version != version_before + 1 {
            return Err(violation(
                Invariant::VersionIncrement,
                place,
                format!(
                    "replica {node} moved {key} from version {version_before} to {version} in one write"
                ),
            )
            .node(node)
            .slot(slot)
            .key(key));
        }
        replica.versions.insert(key.clone(), version);
        let versions = self.key_versions.entry(key.clone()).or_default();
        let index = usize::try_from(version - 1).expect("version fits");
        if index == versions.len() {
            versions.push(command.clone());
            return Ok(());
        }
        let first = &versions[index];
        if write_value(first) == write_value(command) {
            return Ok(());
        }
        Err(violation(
            Invariant::ReplicaAgreement,
            place,
            format!("replicas disagree on {key} version {version}"),
        )
        .node(node)
        .slot(slot)
        .key(key)
        .evidence(Evidence {
            value: describe(first),
            ballot: None,
            acceptors: Vec::new(),
            note: "applied first elsewhere".into(),
        })
        .evidence(Evidence {
            value: describe(command),
            ballot: None,
            acceptors: Vec::new(),
            note: format!("applied by replica {node}"),
        }))
    }

    /// Node `node` crashed: its replica will replay from its durable log.
    pub fn on_crash(&mut self, node: NodeId) {
        let replica = &mut self.replicas[usize::from(node)];
        replica.applied_next = 0;
        replica.versions.clear();
    }

    /// Node `node` restarted: its replica replays from its log, and (with
    /// `judge_votes`) its recovered state must keep every promise and
    /// acceptance it ever reported. A node that found damaged records and
    /// recovers from its peers is judged when it has, with
    /// [`SafetyChecker::check_votes_kept`]. O(acceptances) per restart;
    /// restarts are rare.
    pub fn on_restart(&mut self, place: Place, node: &Node, judge_votes: bool) -> Check {
        let id = node.id();
        if judge_votes {
            self.check_votes_kept(place, node)?;
        }
        self.prepared_max[usize::from(id)].1 = true;
        let replica = &mut self.replicas[usize::from(id)];
        replica.applied_next = node.applied_upto();
        replica.versions = node
            .kv()
            .entries()
            .map(|(key, (_, version))| (key.clone(), *version))
            .collect();
        Ok(())
    }

    /// Node `node`'s durable state keeps every promise and acceptance it
    /// ever reported (`promise-monotonic`, `acceptor-durability`).
    pub fn check_votes_kept(&self, place: Place, node: &Node) -> Check {
        let id = node.id();
        let promised_max = self.promised_max[usize::from(id)];
        if node.promised() < promised_max {
            return Err(violation(
                Invariant::PromiseMonotonic,
                place,
                format!(
                    "acceptor {id} restarted with promise {} after promising {promised_max}",
                    node.promised()
                ),
            )
            .node(id));
        }
        for (slot, ghost) in self.slots.iter().enumerate() {
            let reported = ghost
                .ballots
                .iter()
                .filter(|votes| votes.acceptors.contains(id))
                .map(|votes| votes.ballot)
                .max();
            let Some(reported) = reported else { continue };
            let kept = node
                .durable()
                .accepted
                .get(&(slot as Slot))
                .map(|(ballot, _)| *ballot);
            if kept.is_none_or(|kept| kept < reported) {
                return Err(violation(
                    Invariant::AcceptorDurability,
                    place,
                    format!(
                        "acceptor {id} restarted without its acceptance at ballot {reported} in slot {slot}"
                    ),
                )
                .node(id)
                .slot(slot as Slot));
            }
        }
        Ok(())
    }

    /// [`SafetyChecker::final_agreement`] if `nodes` converged: every node
    /// up and every replica at the same applied prefix (the simulator's
    /// schedule mode and the explorer's terminal states). Otherwise there
    /// is nothing to compare yet.
    pub fn agreement_if_converged<'a>(
        &self,
        place: Place,
        nodes: impl ExactSizeIterator<Item = Option<&'a Node>>,
    ) -> Check {
        let count = nodes.len();
        let nodes: Vec<&Node> = nodes.flatten().collect();
        let converged = nodes.len() == count
            && nodes
                .windows(2)
                .all(|pair| pair[0].applied_upto() == pair[1].applied_upto());
        if !converged {
            return Ok(());
        }
        self.final_agreement(place, &nodes)
    }

    /// At the end of a converged run: every replica holds the same state.
    pub fn final_agreement(&self, place: Place, nodes: &[&Node]) -> Check {
        let Some((first, rest)) = nodes.split_first() else {
            return Ok(());
        };
        for other in rest {
            let mine: Vec<_> = first.kv().entries().collect();
            let theirs: Vec<_> = other.kv().entries().collect();
            if mine.len() != theirs.len() {
                return Err(violation(
                    Invariant::ReplicaAgreement,
                    place,
                    format!(
                        "caught-up replicas {} and {} hold {} and {} keys",
                        first.id(),
                        other.id(),
                        mine.len(),
                        theirs.len()
                    ),
                ));
            }
            for ((key, (value, version)), (_, (other_value, other_version))) in
                mine.iter().zip(&theirs)
            {
                if version != other_version || value != other_value {
                    return Err(violation(
                        Invariant::ReplicaAgreement,
                        place,
                        format!(
                            "caught-up replicas {} and {} disagree on {key}: version {version} vs {other_version}",
                            first.id(),
                            other.id()
                        ),
                    )
                    .key(key));
                }
            }
        }
        Ok(())
    }
}

/// The value a write command writes, for comparing replicas.
fn write_value(command: &Command) -> Option<&paxos::Value> {
    match command {
        Command::Client(request) => match &request.op {
            Op::Put { value, .. } | Op::Cas { value, .. } => Some(value),
            Op::Get { .. } => None,
        },
        Command::Noop => None,
    }
}

/// A short description of a command for reports, values as JSON.
pub fn describe(command: &Command) -> String {
    match command {
        Command::Noop => "no-op".into(),
        Command::Client(request) => crate::text::request(request.client, request.seq, &request.op),
    }
}

fn evidence_of(votes: &BallotVotes, note: &str) -> Evidence {
    Evidence {
        value: describe(&votes.command),
        ballot: Some(votes.ballot),
        acceptors: votes.acceptors.iter().collect(),
        note: note.into(),
    }
}

pub(crate) fn violation(invariant: Invariant, place: Place, message: String) -> Box<Violation> {
    Box::new(Violation {
        invariant,
        event: place.event,
        time_us: place.time_us,
        slot: None,
        key: None,
        node: None,
        message,
        evidence: Vec::new(),
        ops: Vec::new(),
    })
}

trait Locate {
    fn slot(self, slot: Slot) -> Self;
    fn key(self, key: &str) -> Self;
    fn node(self, node: NodeId) -> Self;
    fn evidence(self, evidence: Evidence) -> Self;
}

impl Locate for Box<Violation> {
    fn slot(mut self, slot: Slot) -> Self {
        self.slot = Some(slot);
        self
    }
    fn key(mut self, key: &str) -> Self {
        self.key = Some(key.to_string());
        self
    }
    fn node(mut self, node: NodeId) -> Self {
        self.node = Some(node);
        self
    }
    fn evidence(mut self, evidence: Evidence) -> Self {
        self.evidence.push(evidence);
        self
    }
}
