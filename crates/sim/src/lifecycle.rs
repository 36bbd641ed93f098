//! Node lifecycle and fault mechanics: what a crash, a restart, a pause, a
//! partition and the heal phase do to a run.
//!
//! The heal phase brings back a live core (`heal`): its nodes restarted,
//! resumed and reconnected, drops and duplicates off. The nodes outside it
//! stay out for the whole phase, as the heal core says: crashed and never
//! restarted, paused and never resumed, or running behind links cut both
//! ways or only from the core to them. A restart or resume still queued
//! for an excluded node does nothing.
//!
//! `faults` says what can go wrong and draws the random plan; `triggers`
//! holds the faults that wait for a protocol moment; this file carries a
//! fault out when it strikes. A crash drops a node's volatile state and
//! its disk's writes in flight, and keeps what was durable (`host`,
//! `disk`); a restart rebuilds the node from what it reads back, damaged
//! records named (`atlas`). A
//! pause holds the node's events back until it resumes. A partition cuts
//! links in the network until it heals.
//!
//! Every delayed consequence (a restart, a resume, a partition's end) is an
//! event carrying the incarnation or epoch it was scheduled for, so that
//! one overtaken by a later crash, pause or partition does nothing.

use paxos::{Node, NodeId};

use crate::event::Event;
use crate::faults::{self, FaultAction, Partition, ScheduledFault, Trigger};
use crate::heal::Exclusion;
use crate::report::ProbePoint;
use crate::simulation::{Phase, Simulation};
use crate::text;
use crate::timeline::NodeState;

impl Simulation {
    /// Put the run's faults in place: the configured ones and the random
    /// plan drawn from the fault stream, those at a time into the queue,
    /// those at a protocol moment armed as triggers; then the heal at the
    /// end of the chaos phase, with the core the same stream drew first.
    pub(crate) fn schedule_faults(&mut self) {
        let draws = faults::draw(&self.config);
        self.heal_core = draws.heal;
        // An explicit fault carries its index, so that the run can report
        // the ones that never fired; the random plan's carry none.
        let explicit = self.config.faults.iter().cloned().enumerate();
        let scheduled: Vec<(ScheduledFault, Option<usize>)> = explicit
            .map(|(index, fault)| (fault, Some(index)))
            .chain(draws.planned.into_iter().map(|fault| (fault, None)))
            .collect();
        for (fault, explicit) in scheduled {
            match fault.trigger {
                Trigger::At { time_us } => {
                    let action = fault.action;
                    self.schedule(time_us, Event::Fault { action, explicit });
                }
                _ => self.triggers.arm(fault, explicit),
            }
        }
        self.schedule(self.config.chaos_us, Event::Heal);
    }

    /// A fault falls due. Faults strike only in the chaos phase: one still
    /// queued when the heal begins does nothing, and has not fired.
    pub(crate) fn fault(&mut self, action: FaultAction, explicit: Option<usize>) {
        if self.phase != Phase::Chaos {
            return;
        }
        if let Some(index) = explicit {
            self.faults_fired[index] = true;
        }
        self.digest.fault();
        self.record(None, "fault", || text::fault(&action));
        match action {
            FaultAction::Crash { node, down_us } => {
                self.crash(node);
                if let Some(down_us) = down_us {
                    let incarnation = self.hosts[usize::from(node)].incarnation;
                    self.schedule_in(down_us, Event::Restart { node, incarnation });
                }
            }
            FaultAction::Restart { node } => self.restart(node),
            FaultAction::Partition {
                partition,
                duration_us,
            } => self.partition(partition, duration_us),
            FaultAction::Heal => {
                if self.network.partitioned() {
                    self.heal_partition();
                }
            }
            FaultAction::Pause { node, duration_us } => self.pause(node, duration_us),
            FaultAction::Corrupt { .. } | FaultAction::ReadError { .. } => {
                self.arm_damage(&action);
            }
        }
    }

    /// Crash node `id`: its volatile state is gone, its disk stays.
    fn crash(&mut self, id: NodeId) {
        let host = &mut self.hosts[usize::from(id)];
        if !host.is_up() {
            return;
        }
        if host.between_prepare_and_accept() {
            self.probes.hit(ProbePoint::CrashBetweenPrepareAndAccept);
        }
        host.crash();
        self.crash_disk(id);
        self.counters.crashes += 1;
        self.checker.on_crash(id);
        // Its applied slots and the writes it lost may have held a value.
        self.durability_check();
        let place = self.place();
        if let Some(recorder) = &mut self.recorder {
            recorder.crashed(id, place);
        }
        self.record(Some(id), "crash", String::new);
    }

    /// A restart scheduled by a crash falls due; a later crash made it
    /// stale, and a node the heal keeps out stays as it is.
    pub(crate) fn restart_due(&mut self, id: NodeId, incarnation: u64) {
        if self.hosts[usize::from(id)].incarnation == incarnation && !self.kept_out(id) {
            self.restart(id);
        }
    }

    /// Whether the heal phase keeps node `id` out of the core.
    fn kept_out(&self, id: NodeId) -> bool {
        self.phase == Phase::Heal && !self.heal_core.contains(id)
    }

    /// Rebuild node `id` from its disk, if it is down.
    fn restart(&mut self, id: NodeId) {
        if self.hosts[usize::from(id)].is_up() {
            return;
        }
        self.digest.restart(id);
        self.counters.restarts += 1;
        self.record(Some(id), "restart", String::new);
        let place = self.place();
        if let Some(recorder) = &mut self.recorder {
            // Recovery is instant today; a disk that takes time to read
            // would open a `NodeState::Recovering` span here.
            recorder.span_end(id, NodeState::Crashed, place);
        }
        let mut out = std::mem::take(&mut self.outputs);
        out.clear();
        self.damage_at_restart(id);
        let (durable, damage) = self.hosts[usize::from(id)].disk.read();
        if !damage.is_clean() {
            self.record(Some(id), "disk-read-damaged", || {
                crate::disk::describe_damage(&damage)
            });
        }
        let node = Node::recover_damaged(self.cluster.clone(), id, durable, &damage, &mut out);
        if self.options.checkers && self.violation.is_none() {
            let place = self.place();
            // A node that detected damage is judged once it has recovered,
            // on what it recovered (`recovered`); one that trusts its disk,
            // now, on its intact records.
            let judge_votes = !node.is_recovering();
            if let Err(violation) = self.checker.on_restart(place, &node, judge_votes) {
                self.violation = Some(violation);
            }
        }
        self.hosts[usize::from(id)].node = Some(node);
        self.carry_out(id, &mut out);
        self.outputs = out;
    }

    /// Node `id` finished recovering from its peers: it must now keep every
    /// promise and acceptance it ever reported.
    pub(crate) fn recovered(&mut self, id: NodeId) {
        self.record(Some(id), "recovered", String::new);
        if self.options.checkers && self.violation.is_none() {
            let place = self.place();
            let node = self.hosts[usize::from(id)]
                .node
                .as_ref()
                .expect("a live node recovers");
            if let Err(violation) = self.checker.check_votes_kept(place, node) {
                self.violation = Some(violation);
            }
        }
    }

    fn partition(&mut self, partition: Partition, duration_us: Option<u64>) {
        self.counters.partitions += 1;
        self.partition_epoch += 1;
        let place = self.place();
        if let Some(recorder) = &mut self.recorder {
            recorder.partition_began(&partition, self.cluster.nodes, place);
        }
        self.network.partition(partition);
        if let Some(duration_us) = duration_us {
            let epoch = self.partition_epoch;
            self.schedule_in(duration_us, Event::PartitionEnd { epoch });
        }
    }

    /// A partition's duration ran out; a later partition made it stale.
    pub(crate) fn partition_end_due(&mut self, epoch: u64) {
        if epoch == self.partition_epoch && self.network.partitioned() {
            self.heal_partition();
        }
    }

    fn heal_partition(&mut self) {
        self.network.heal();
        self.heal_progress_pending = true;
        let place = self.place();
        if let Some(recorder) = &mut self.recorder {
            recorder.partition_healed(place);
        }
        self.record(None, "heal", String::new);
    }

    /// Pause node `id` (a long GC, a stalled VM): it keeps its state but
    /// handles nothing until it resumes; events for it wait in its backlog.
    fn pause(&mut self, id: NodeId, duration_us: u64) {
        let host = &mut self.hosts[usize::from(id)];
        if !host.is_up() || host.is_paused() {
            return;
        }
        self.pause_epoch += 1;
        host.paused_epoch = Some(self.pause_epoch);
        self.counters.pauses += 1;
        let place = self.place();
        if let Some(recorder) = &mut self.recorder {
            recorder.span_start(id, NodeState::Paused, place);
        }
        let epoch = self.pause_epoch;
        self.schedule_in(duration_us, Event::Resume { node: id, epoch });
    }

    /// Hold `event` back if it needs a paused node; hand it back otherwise.
    pub(crate) fn defer_if_paused(&mut self, event: Event) -> Option<Event> {
        let Some(node) = event.node() else {
            return Some(event);
        };
        let host = &self.hosts[usize::from(node)];
        if !(host.is_up() && host.is_paused()) {
            return Some(event);
        }
        self.digest.deferred();
        self.record(Some(node), "deferred", || "paused".into());
        let place = self.place();
        if let Some(recorder) = &mut self.recorder
            && event.is_message()
        {
            recorder.held(node, self.event_sequence, place);
        }
        self.hosts[usize::from(node)].backlog.push(event);
        None
    }

    /// A pause's duration ran out; a crash or the heal made it stale.
    pub(crate) fn resume_due(&mut self, id: NodeId, epoch: u64) {
        if self.hosts[usize::from(id)].paused_epoch == Some(epoch) && !self.kept_out(id) {
            self.resume(id);
        }
    }

    /// Resume node `id`: its backlog goes back into the queue, in order, now.
    fn resume(&mut self, id: NodeId) {
        let host = &mut self.hosts[usize::from(id)];
        host.paused_epoch = None;
        let backlog = std::mem::take(&mut host.backlog);
        if !backlog.is_empty() {
            self.probes.hit(ProbePoint::PausedNodeResumesWithBacklog);
        }
        self.record(Some(id), "resume", || {
            format!("{} events waited", backlog.len())
        });
        let place = self.place();
        if let Some(recorder) = &mut self.recorder {
            recorder.span_end(id, NodeState::Paused, place);
        }
        for event in backlog {
            let message = event.is_message();
            let sequence = self.schedule(self.now_us, event);
            if let Some(recorder) = &mut self.recorder
                && message
            {
                recorder.released(id, sequence);
            }
        }
    }

    /// The heal phase: every partition healed, drops and duplicates off,
    /// the core's nodes restarted or resumed, the others kept out as the
    /// heal core says. From now on the liveness bound runs, over the core.
    pub(crate) fn begin_heal(&mut self) {
        if self.phase == Phase::Heal {
            return;
        }
        self.phase = Phase::Heal;
        self.heal_us = Some(self.now_us);
        self.liveness.on_heal(self.now_us, &self.heal_core);
        self.efficiency.on_heal();
        let core = self.heal_core.clone();
        self.record(None, "heal-phase", || core.describe());
        self.triggers.disarm();
        if self.network.partitioned() {
            self.heal_partition();
        }
        self.network.calm();
        let how = core.how;
        for id in 0..self.cluster.nodes {
            let excluded = !core.contains(id);
            let host = &self.hosts[usize::from(id)];
            match how {
                Exclusion::Crashed if excluded => self.crash(id),
                // Stays paused; `keep_out` makes the pause last.
                Exclusion::Paused if excluded && host.is_up() && host.is_paused() => {}
                _ if !host.is_up() => self.restart(id),
                _ if host.is_paused() => self.resume(id),
                _ => {}
            }
        }
        if !core.is_full() {
            self.keep_out(how, &core.core, &core.excluded);
        }
        self.wake_clients_for_heal();
        self.check_liveness();
    }

    /// Keep the running nodes outside the core out for good: paused with
    /// no resume, or behind cut links that no partition's end restores.
    fn keep_out(&mut self, how: Exclusion, core: &[NodeId], excluded: &[NodeId]) {
        let partition = match how {
            Exclusion::Crashed => return,
            Exclusion::Paused => {
                for id in excluded {
                    self.pause_for_good(*id);
                }
                return;
            }
            Exclusion::Cut => Partition::Split {
                side: excluded.to_vec(),
            },
            Exclusion::CutOneWay => Partition::OneWay {
                from: core.to_vec(),
                to: excluded.to_vec(),
            },
        };
        self.record(None, "keep-out", || text::partition(&partition));
        self.partition_epoch += 1;
        let place = self.place();
        if let Some(recorder) = &mut self.recorder {
            recorder.partition_began(&partition, self.cluster.nodes, place);
        }
        self.network.partition(partition);
    }

    /// Pause node `id` with no end: a resume already queued is stale.
    fn pause_for_good(&mut self, id: NodeId) {
        self.pause_epoch += 1;
        let host = &mut self.hosts[usize::from(id)];
        assert!(host.is_up(), "a node kept out paused is running");
        let was_paused = host.is_paused();
        host.paused_epoch = Some(self.pause_epoch);
        self.record(Some(id), "keep-out", || "paused for good".into());
        let place = self.place();
        if let Some(recorder) = &mut self.recorder
            && !was_paused
        {
            recorder.span_start(id, NodeState::Paused, place);
        }
    }
}
