//! The event queue: a priority queue ordered by `(time_us, sequence)`.
//!
//! The heap holds only 24-byte keys `(time_us, sequence, index)`; the events
//! themselves wait in a slab at `index`, whose entries are reused (`free`
//! lists the empty ones), so sifting moves small keys, not whole messages,
//! and a long run allocates no more once the slab has grown to its peak.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

pub struct EventQueue<E> {
    heap: BinaryHeap<Reverse<(u64, u64, u32)>>,
    slab: Vec<Option<E>>,
    free: Vec<u32>,
    sequence: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> EventQueue<E> {
        EventQueue {
            heap: BinaryHeap::new(),
            slab: Vec::new(),
            free: Vec::new(),
            sequence: 0,
        }
    }
}

impl<E> EventQueue<E> {
    /// Add `event` at `time_us`, after every event already at that time.
    /// Returns its sequence number, unique in this queue.
    pub fn push(&mut self, time_us: u64, event: E) -> u64 {
        self.sequence += 1;
        let index = match self.free.pop() {
            Some(index) => {
                assert!(self.slab[index as usize].is_none());
                self.slab[index as usize] = Some(event);
                index
            }
            None => {
                self.slab.push(Some(event));
                u32::try_from(self.slab.len() - 1).expect("fewer than 2^32 pending events")
            }
        };
        self.heap.push(Reverse((time_us, self.sequence, index)));
        self.sequence
    }

    /// The earliest event and its time; ties in insertion order.
    pub fn pop(&mut self) -> Option<(u64, E)> {
        self.pop_with_sequence()
            .map(|(time_us, _, event)| (time_us, event))
    }

    /// The earliest event, its time and the sequence number `push` gave it.
    pub fn pop_with_sequence(&mut self) -> Option<(u64, u64, E)> {
        let Reverse((time_us, sequence, index)) = self.heap.pop()?;
        let event = self.slab[index as usize]
            .take()
            .expect("a queued entry holds its event");
        self.free.push(index);
        Some((time_us, sequence, event))
    }

    /// The earliest pending event `matches` picks (ties in insertion
    /// order), for a schedule that names the next event itself. O(pending).
    pub fn find(&self, matches: impl Fn(&E) -> bool) -> Option<&E> {
        let (_, _, index) = self.earliest(matches)?;
        self.slab[index as usize].as_ref()
    }

    /// Take the earliest pending event `matches` picks out of the queue.
    pub fn take(&mut self, matches: impl Fn(&E) -> bool) -> Option<(u64, E)> {
        let key = self.earliest(matches)?;
        self.heap.retain(|Reverse(entry)| *entry != key);
        let (time_us, _, index) = key;
        let event = self.slab[index as usize]
            .take()
            .expect("a queued entry holds its event");
        self.free.push(index);
        Some((time_us, event))
    }

    fn earliest(&self, matches: impl Fn(&E) -> bool) -> Option<(u64, u64, u32)> {
        self.heap
            .iter()
            .map(|Reverse(key)| *key)
            .filter(|(_, _, index)| self.slab[*index as usize].as_ref().is_some_and(&matches))
            .min()
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_in_time_then_insertion_order() {
        let mut queue = EventQueue::default();
        queue.push(5, "b");
        queue.push(1, "a");
        queue.push(5, "c");
        queue.push(3, "x");
        let order: Vec<_> = std::iter::from_fn(|| queue.pop()).collect();
        assert_eq!(order, vec![(1, "a"), (3, "x"), (5, "b"), (5, "c")]);
        assert!(queue.is_empty());
    }

    #[test]
    fn slab_entries_are_reused() {
        let mut queue = EventQueue::default();
        for round in 0..100u64 {
            queue.push(round, round);
            queue.push(round, round + 1);
            assert_eq!(queue.pop(), Some((round, round)));
            assert_eq!(queue.pop(), Some((round, round + 1)));
        }
        assert_eq!(queue.slab.len(), 2);
    }
}
