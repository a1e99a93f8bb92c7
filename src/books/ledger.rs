//! The ledger: the one place where counters change. Every item read is in exactly one place
//! at a time, and moves between places only through the named transitions below, each of
//! which keeps `in = out + dropped + undelivered + queued + parked + in hand` (checked after
//! every transition in debug builds). A frozen ledger (the final record is being taken)
//! refuses all later changes.

use std::time::Duration;

use crossbeam_channel::Sender;

use crate::books::stats::Stats;
use crate::books::tally::Tally;

/// Where an item is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// Read, waiting whole in the reader's hand.
    Parked,
    /// In the queue.
    Queued,
    /// Taken by the writer.
    InHand,
    /// On disk (`--spill`).
    Spilled,
}

/// The counter of what is held in `place`.
fn at(stats: &mut Stats, place: Place) -> &mut Tally {
    match place {
        Place::Parked => &mut stats.parked,
        Place::Queued => &mut stats.depth,
        Place::InHand => &mut stats.in_flight,
        Place::Spilled => &mut stats.spilled,
    }
}

#[derive(Debug, Default)]
pub struct Ledger {
    stats: Stats,
    frozen: bool,
    /// Rung (without waiting) when items are dropped, so that a warning need not be polled
    /// for.
    bell: Option<Sender<()>>,
}

impl Ledger {
    /// Rings `bell` from now on when items are dropped.
    pub fn ring_on_drops(&mut self, bell: Sender<()>) {
        self.bell = Some(bell);
    }

    /// Rings the bell, if any (once is enough: a full bell is left as it is).
    pub fn ring(&self) {
        if let Some(bell) = &self.bell {
            let _ = bell.try_send(());
        }
    }

    /// A consistent copy of the counters.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// What is held in `place` now (read without copying the whole record: the queue asks
    /// on every take).
    pub fn held(&self, place: Place) -> Tally {
        let s = &self.stats;
        match place {
            Place::Parked => s.parked,
            Place::Queued => s.depth,
            Place::InHand => s.in_flight,
            Place::Spilled => s.spilled,
        }
    }

    /// Items and bytes read so far: where the next read stands in the input.
    pub fn input(&self) -> Tally {
        self.stats.input
    }

    /// Runs one transition, unless frozen, and checks the books after it.
    fn change(&mut self, transition: impl FnOnce(&mut Stats)) {
        self.change_unmeasured(transition);
    }

    /// Takes the queue's depth into its high-water mark.
    pub fn measure(&mut self) {
        self.stats.max_depth = self.stats.max_depth.max(self.stats.depth);
    }

    /// A transition whose depth is not a high-water mark yet (the policy trims it next).
    fn change_unmeasured(&mut self, transition: impl FnOnce(&mut Stats)) {
        if self.frozen {
            return;
        }
        transition(&mut self.stats);
        debug_assert!(self.stats.balanced(), "unbalanced books: {:?}", self.stats);
    }

    /// A read's items come in, into the reader's hand.
    pub fn admit(&mut self, t: Tally) {
        self.change(|s| {
            s.input += t;
            s.parked += t;
        });
    }

    /// Items read and delivered at once, never held (moved by the reader straight to
    /// stdout).
    pub fn pass(&mut self, t: Tally) {
        self.change(|s| {
            s.input += t;
            s.output += t;
        });
    }

    /// Items read and shed before they were ever held: over-long items (`--max-line`).
    pub fn discard_overlong(&mut self, t: Tally) {
        self.change(|s| {
            s.input += t;
            s.dropped += t;
            s.overlong += t;
        });
        self.ring();
    }

    /// Items read that will never be delivered, though they were never held: what the reader
    /// had framed when `fail` stopped it.
    pub fn refuse(&mut self, t: Tally) {
        self.change(|s| {
            s.input += t;
            s.undelivered += t;
        });
    }

    /// Takes `t` out of `from` and puts it where `into` says, unless frozen.
    fn move_out(&mut self, from: Place, t: Tally, into: impl FnOnce(&mut Stats)) {
        self.change(|s| {
            *at(s, from) -= t;
            into(s);
        });
    }

    /// The writer found items older than `--max-age`: shed, counted apart as expired.
    pub fn expire(&mut self, from: Place, t: Tally) {
        self.move_out(from, t, |s| {
            s.dropped += t;
            s.expired += t;
        });
        self.ring();
    }

    /// The reader found items over their key's `--rate-per-key`: shed, counted apart as
    /// limited.
    pub fn limit(&mut self, from: Place, t: Tally) {
        self.move_out(from, t, |s| {
            s.dropped += t;
            s.limited += t;
        });
        self.ring();
    }

    /// Items move from one place to another: queued from the reader's hand, taken by the
    /// writer, given back by it.
    pub fn shift(&mut self, from: Place, to: Place, t: Tally) {
        self.move_out(from, t, |s| *at(s, to) += t);
        // Only queuing raises the queue's high-water mark (a give-back is measured once the
        // policy has trimmed it).
        if to == Place::Queued {
            self.measure();
        }
        if to == Place::Spilled {
            self.stats.spilled_total += t;
            self.stats.max_spilled = self.stats.max_spilled.max(self.stats.spilled);
        }
    }

    /// The writer gives back what it had not begun: the queue may hold more than its
    /// bounds until the policy trims it, and only then is its depth measured.
    pub fn give_back(&mut self, t: Tally) {
        self.change_unmeasured(|s| {
            s.in_flight -= t;
            s.depth += t;
        });
    }

    /// A batch comes back from disk to the queue, next in order (not a depth the queue was
    /// filled to: it came because the queue was empty).
    pub fn unspill(&mut self, t: Tally) {
        self.change_unmeasured(|s| {
            s.spilled -= t;
            s.depth += t;
        });
    }

    /// The policy sheds items.
    pub fn shed(&mut self, from: Place, t: Tally) {
        self.move_out(from, t, |s| s.dropped += t);
        self.ring();
    }

    /// Shed items went into the dead-letter file.
    pub fn dead_letter(&mut self, t: Tally) {
        self.change(|s| s.dead_lettered += t);
    }

    /// A policy looked at items that `--keep` spares and left them.
    pub fn spare(&mut self, items: usize) {
        self.change(|s| s.kept += items as u64);
    }

    /// The writer wrote a drop marker: counted apart from items.
    pub fn mark(&mut self, bytes: usize) {
        self.change(|s| s.markers += Tally::one(bytes));
    }

    /// The writer wrote items whole.
    pub fn deliver(&mut self, t: Tally) {
        self.change(|s| {
            s.in_flight -= t;
            s.output += t;
        });
    }

    /// Items the writer delivered to a worker that exited before it read them (`--workers`):
    /// undelivered after all.
    pub fn recall(&mut self, t: Tally) {
        self.change(|s| {
            s.output -= t;
            s.undelivered += t;
        });
    }

    /// Items will never be delivered (stdout closed, a stop, a drain that timed out).
    pub fn lose(&mut self, from: Place, t: Tally) {
        self.move_out(from, t, |s| s.undelivered += t);
    }

    /// Everything held in `from` will never be delivered.
    pub fn lose_all(&mut self, from: Place) {
        let t = self.held(from);
        self.lose(from, t);
    }

    /// The writer wrote the first `written` bytes of `item` and no more: its written bytes are
    /// output bytes, the item itself and the rest of its bytes undelivered.
    pub fn tear(&mut self, item: Tally, written: u64) {
        debug_assert!(item.items == 1 && written < item.bytes);
        self.change(|s| {
            s.in_flight -= item;
            s.output.bytes += written;
            s.undelivered += Tally {
                items: 1,
                bytes: item.bytes - written,
            };
            s.torn += 1;
        });
    }

    /// The reader waited this long for room.
    pub fn blocked(&mut self, wait: Duration) {
        self.change(|s| s.blocked += wait);
    }

    /// No more changes: the final counters are what they are now.
    pub fn freeze(&mut self) -> Stats {
        self.frozen = true;
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_transition_keeps_the_books() {
        let mut l = Ledger::default();
        l.admit(Tally::new(5, 50));
        l.shift(Place::Parked, Place::Queued, Tally::new(4, 40));
        l.shed(Place::Parked, Tally::new(1, 10));
        l.shift(Place::Queued, Place::InHand, Tally::new(3, 30));
        l.deliver(Tally::new(1, 10));
        l.tear(Tally::new(1, 10), 4);
        l.lose(Place::InHand, Tally::new(1, 10));
        l.lose_all(Place::Queued);
        l.discard_overlong(Tally::new(2, 3));
        let s = l.stats();
        assert!(s.balanced());
        assert_eq!(s.input, Tally::new(7, 53));
        assert_eq!(s.output, Tally::new(1, 14));
        assert_eq!(s.undelivered, Tally::new(3, 26));
        assert_eq!(s.dropped, Tally::new(3, 13));
        assert_eq!((s.torn, s.max_depth), (1, Tally::new(4, 40)));
    }

    #[test]
    fn a_frozen_ledger_refuses_changes() {
        let mut l = Ledger::default();
        l.admit(Tally::new(1, 1));
        let frozen = l.freeze();
        l.lose_all(Place::Parked);
        l.admit(Tally::new(1, 1));
        assert_eq!(l.stats(), frozen);
    }
}
