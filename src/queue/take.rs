//! The writer's side of the queue: coming for work, taking it, and giving back what stdout
//! would not take. What the writer tells the queue meanwhile is in `told.rs`.

use super::pressure::Reader;
use super::spill::OnDisk;
use super::{Disk, Flow, Inner, Input, Queue, Take, Writer};
use crate::batch::Batch;
use crate::books::ledger::Place;
use crate::books::tally::Tally;

/// Bytes brought back from disk at once, at most (what one write gathers).
const UNSPILL_BYTES: usize = 256 * 1024;

/// What the writer finds when it comes for work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// This much waits (queued, and parked in the reader's hand).
    Ready(Tally),
    /// Nothing waits: the writer is idle until the queue's waker fires.
    Empty,
    /// `bpipectl pause`: the writer writes nothing until the flow resumes (the waker fires).
    Paused,
    /// Nothing ever will: the input is finished and drained, or the output closed. With
    /// `--mark-drops`, what was shed after the last item delivered, for the writer to mark
    /// (nothing on a stop or a closed output).
    Done(Tally),
}

/// What a take gave the writer.
#[derive(Debug)]
pub enum Taken {
    /// These items, now in the writer's hand.
    Items(Tally),
    /// The oldest batch on disk, its bytes still there, for the writer to splice.
    Disk(OnDisk),
}

#[cfg(test)]
impl Taken {
    /// What was taken, in memory or on disk.
    pub fn tally(&self) -> Tally {
        match self {
            Taken::Items(tally) => *tally,
            Taken::Disk(disk) => disk.tally(),
        }
    }
}

impl Queue {
    /// Records `written` as delivered and recycles the batches in `hand` (those just written),
    /// then says what waits. Marks the writer idle when nothing does.
    pub fn next(&self, written: Tally, hand: &mut Vec<Batch>) -> Next {
        let mut inner = self.lock();
        self.settle(&mut inner, written, hand);
        if inner.closed() {
            inner.flush_dead();
            inner.pressure.writer = Writer::Done;
            return Next::Done(Tally::ZERO);
        }
        if inner.limits.flow == Flow::Paused
            && !(inner.store.is_empty() && inner.input != Input::Open)
        {
            return Next::Paused;
        }
        if !inner.store.is_empty() {
            let books = &inner.books.ledger;
            let waiting = [Place::Queued, Place::Parked, Place::Spilled].map(|p| books.held(p));
            return Next::Ready(waiting[0] + waiting[1] + waiting[2]);
        }
        if inner.input != Input::Open {
            inner.flush_dead();
            inner.pressure.writer = Writer::Done;
            return Next::Done(self.trailing_gap(&mut inner));
        }
        // Caught up: the spell, if any, is over, and dead letters gathered are written.
        inner.flush_dead();
        inner.pressure.idle(self.now());
        if inner.pressure.reader == Reader::Passing {
            self.room.notify_all();
        }
        Next::Empty
    }

    /// Takes what waits: with [`Disk::Splice`], the oldest batch on disk with its bytes left
    /// there, if the writer may have it (see [`Queue::take_spilled`]); otherwise items into
    /// `hand` (see [`Take`]), oldest first, the parked batch after the queue. The writer is
    /// busy from now on.
    pub fn take(&self, limit: Take, hand: &mut Vec<Batch>) -> Taken {
        let mut inner = self.lock();
        if limit.disk == Disk::Splice
            && let Some(disk) = self.take_spilled(&mut inner)
        {
            return Taken::Disk(disk);
        }
        self.busy(&mut inner);
        self.unspill(&mut inner);
        if let Some(limit) = inner
            .limits
            .max_age
            .and_then(|age| self.now().checked_sub(age))
            && inner.expire(limit, self.rules.keep.as_ref())
        {
            self.wake_reader(&inner);
        }
        let (taken, wake) = self.take_items(&mut inner, limit, hand);
        // Woken after the lock is let go, so that the reader does not wake only to wait for
        // it (a handoff per read at a small --cap).
        drop(inner);
        if wake {
            self.room.notify_one();
        }
        Taken::Items(taken)
    }

    /// Takes items into `hand` within `limit`: whole batches, or split where it allows.
    /// Says too whether the reader, waiting for room, must be woken.
    fn take_items(&self, inner: &mut Inner, limit: Take, hand: &mut Vec<Batch>) -> (Tally, bool) {
        let mut taken = Tally::ZERO;
        let mut took_parked = false;
        while hand.len() < limit.batches {
            let room_items = limit.items.saturating_sub(taken.items as usize);
            let room_bytes = limit.bytes.saturating_sub(taken.bytes as usize);
            let parked = inner.store.batches.is_empty();
            // The parked read comes after what is on disk: the next take brings that back.
            if parked && inner.store.on_disk() {
                break;
            }
            let Some(front) = (match parked {
                false => inner.store.batches.front_mut(),
                true => inner.store.parked.as_mut(),
            }) else {
                break;
            };
            let mut count = front.items();
            if count > room_items || front.bytes() > room_bytes {
                if !limit.split {
                    if !taken.is_zero() {
                        break;
                    }
                } else {
                    count = front.fitting_prefix(room_items, room_bytes);
                    if count == 0 && !taken.is_zero() {
                        break;
                    }
                    count = count.max(1);
                }
            }
            let batch = if count < front.items() {
                front.split_front(count)
            } else if parked {
                took_parked = true;
                inner.store.parked.take().expect("front exists")
            } else {
                inner.store.kept_front = inner.store.kept_front.saturating_sub(1);
                inner.store.kept_back = inner.store.kept_back.min(inner.store.batches.len() - 1);
                inner.store.batches.pop_front().expect("front exists")
            };
            let mut batch = batch;
            if self.rules.marks.is_some() {
                batch.gap = batch.pos.beyond(inner.shedding.taken_to);
                inner.shedding.taken_to = batch.pos + batch.tally();
            }
            let from = if parked { Place::Parked } else { Place::Queued };
            inner.books.ledger.shift(from, Place::InHand, batch.tally());
            inner.books.hand_arrived = match (inner.books.hand_arrived, batch.arrived) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            taken += batch.tally();
            hand.push(batch);
        }
        let wake = !taken.is_zero()
            && (took_parked || self.reader_may_go(inner))
            && inner.pressure.reader_waits();
        (taken, wake)
    }

    /// With nothing queued, brings the oldest batches on disk back (they are next in
    /// order): one, and more while they fit in the queue, up to what one write gathers. Wakes
    /// a reader waiting for room on disk. A read error loses what is on disk.
    fn unspill(&self, inner: &mut Inner) {
        if !inner.store.batches.is_empty() || !inner.store.on_disk() {
            return;
        }
        let mut brought = 0;
        while brought < UNSPILL_BYTES {
            let buffer = inner.store.spare().unwrap_or_default();
            let spill = inner.store.disk().expect("a spill");
            match spill.pop(buffer) {
                Ok(Some(batch)) => {
                    brought += batch.bytes();
                    inner.books.ledger.unspill(batch.tally());
                    inner.store.batches.push_back(batch);
                    inner.store.kept_back = 0;
                }
                Ok(None) => break,
                Err(e) => {
                    spill.lost(&e);
                    inner.books.ledger.lose_all(Place::Spilled);
                    break;
                }
            }
            let (items, bytes) = self.room_in(inner);
            if items == 0 || bytes < UNSPILL_BYTES / 4 {
                break;
            }
        }
        self.wake_reader(inner);
    }

    /// Whether a reader waiting for room should be woken: once its parked batch fits, and
    /// (unless the queue is empty) a quarter of the queue is free, so that a full queue moving
    /// one batch at a time does not cost two context switches per batch.
    fn reader_may_go(&self, inner: &Inner) -> bool {
        let Some(parked) = &inner.store.parked else {
            return false;
        };
        let (items, bytes) = self.room_in(inner);
        parked.items() <= items
            && parked.bytes() <= bytes
            && (inner.store.batches.is_empty()
                || (items >= inner.limits.bounds.items / 4
                    && bytes >= inner.limits.bounds.bytes / 4))
    }

    /// The writer gives `back` what it took and has not begun to write (oldest first) and
    /// waits for stdout with nothing else in hand; under pressure the policy applies to the
    /// queue as if those items had just arrived.
    pub fn give_back(&self, back: impl DoubleEndedIterator<Item = Batch>) {
        let mut inner = self.lock();
        if inner.closed() {
            return;
        }
        let mut back = back.peekable();
        if let Some(first) = back.peek() {
            // The gap before the first, if the writer had not yet marked it, is marked anew
            // when it is taken again.
            inner.shedding.taken_to = first.pos.beyond(first.gap);
        }
        for mut batch in back.rev() {
            batch.gap = Tally::ZERO;
            inner.books.ledger.give_back(batch.tally());
            inner.store.batches.push_front(batch);
            inner.store.kept_front = 0;
        }
        if let Some(shed) = self.shedding(&inner, self.now())
            && !self.spill_overflow(&mut inner)
        {
            self.trim(&mut inner, shed);
        }
        // Under a policy that never sheds, a give-back is for --max-age, and the writer takes
        // again at once: not a depth the queue held.
        if inner.limits.policy.can_shed() {
            inner.books.ledger.measure();
        }
        self.wake_reader(&inner);
    }

    /// Counts `written` as delivered and keeps the buffers of `done` for the reader.
    fn settle(&self, inner: &mut Inner, written: Tally, done: &mut Vec<Batch>) {
        inner.books.hand_arrived = None;
        inner.deliver_keys(done);
        for batch in done.drain(..) {
            inner.store.recycle(batch);
        }
        inner.books.ledger.deliver(written);
    }

    /// The writer takes or writes again: no longer held, its stall (if any) over.
    pub(super) fn busy(&self, inner: &mut Inner) {
        inner.pressure.busy(self.now());
    }

    /// `--mark-drops` at the end of the input: what was shed after the last item delivered
    /// (nothing once marked; nothing on a stop or a closed output).
    fn trailing_gap(&self, inner: &mut Inner) -> Tally {
        if self.rules.marks.is_none() || inner.closed() || inner.input != Input::Finished {
            return Tally::ZERO;
        }
        let books = inner.books.ledger.stats();
        let gap = books
            .input
            .beyond(inner.shedding.taken_to)
            .beyond(books.undelivered);
        inner.shedding.taken_to = books.input;
        gap
    }
}
