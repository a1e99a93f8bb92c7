//! The reader's side of the queue: admitting a read's items, and the policy where they do not
//! fit.

use std::time::{Duration, Instant};

use super::pressure::Reader;
use super::rules::Keyed;
use super::rules::Spills;
use super::shedding::{Side, Why};
use super::spilling::Offered;
use super::{Flow, Inner, Input, Queue, Stop, Writer};
use crate::batch::Batch;
use crate::books::ledger::Place;
use crate::books::tally::Tally;
use crate::queue::policy::Shed;

/// How long the reader waits, at most, for the writer to catch up before it moves bytes
/// straight to stdout (see [`Queue::pass`]) …
const PASS_WAIT: Duration = Duration::from_millis(10);
/// … looking again this often (a writer that stalls does not wake it).
const PASS_POLL: Duration = Duration::from_millis(1);

/// Where a pushed batch went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pushed {
    /// Queued, handed to the writer, or shed: the reader may go on.
    Done,
    /// Parked: it waits whole in the reader's hand until [`Queue::retry`] settles it.
    Parked,
}

impl Queue {
    /// Queues the items of `batch`, waiting while they do not fit and the writer is ready;
    /// under pressure the policy sheds (see the module doc). Every item is counted as input
    /// and ends up queued, taken by the writer, dropped, or (on a stop) undelivered.
    pub fn push(&self, batch: Batch) -> Result<(), Stop> {
        match self.rules.keyed {
            Keyed::Yes => self.push_keyed(batch),
            Keyed::No => self.push_plain(batch),
        }
    }

    /// [`Queue::push`] without keys.
    pub(super) fn push_plain(&self, batch: Batch) -> Result<(), Stop> {
        let mut inner = self.lock();
        let mut pushed = self.offer(&mut inner, batch);
        while pushed == Ok(Pushed::Parked) {
            let now = self.now();
            // Wake when shedding may begin (the spell's grace ends, or `--block-timeout` runs
            // out), or, with a disk tier, when the grace ends (reads go to disk then).
            let sheds = self.sheds_from(&inner, now);
            let spills = match (self.rules.spills, inner.pressure.writer) {
                (Spills::ToDisk, Writer::Stalled) => self.grace_ends(&inner),
                _ => None,
            };
            inner.pressure.reader = Reader::Waiting(now);
            // Only a deadline still to come is worth waiting for: once shedding has begun and
            // the read still waits (`--keep` found only kept items to shed), it waits for the
            // writer like any other.
            let deadline = sheds.into_iter().chain(spills).filter(|&t| t > now).min();
            inner = match deadline {
                Some(deadline) => {
                    self.room
                        .wait_timeout(inner, deadline.saturating_duration_since(now))
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
                None => self.room.wait(inner).unwrap_or_else(|e| e.into_inner()),
            };
            inner.pressure.reader = Reader::Running;
            inner
                .books
                .ledger
                .blocked(self.now().saturating_duration_since(now));
            pushed = self.settle_parked(&mut inner);
        }
        pushed.map(|_| ())
    }

    /// Counts `batch` in and tries to place it without waiting: the non-blocking half of
    /// [`Queue::push`], for a scheduler that drives the queue step by step.
    /// Items with keys are counted on them, but not limited by `--rate-per-key`.
    pub fn try_push(&self, batch: Batch) -> Result<Pushed, Stop> {
        let mut inner = self.lock();
        self.offer(&mut inner, batch)
    }

    /// Tries again to place a parked batch (what a waiting reader does when woken).
    pub fn retry(&self) -> Result<Pushed, Stop> {
        let mut inner = self.lock();
        self.settle_parked(&mut inner)
    }

    /// The reader is about to read: `Err` if it must not (a stop, a closed output), so that
    /// a stop never has it read once more.
    pub fn begin_read(&self) -> Result<(), Stop> {
        let mut inner = self.lock();
        if inner.closed() {
            return Err(Stop::Closed);
        }
        if inner.input == Input::Stopped {
            return Err(Stop::Stopped);
        }
        inner.pressure.reader = Reader::Reading;
        Ok(())
    }

    fn offer(&self, inner: &mut Inner, mut batch: Batch) -> Result<Pushed, Stop> {
        debug_assert!(inner.store.parked.is_none(), "one push at a time");
        inner.pressure.reader = Reader::Running;
        self.arrive_in(inner, &mut batch)?;
        inner.store.parked = Some(batch);
        self.settle_parked(inner)
    }

    /// `batch` arrives: stamped with when and where in the input, counted in (in all and on
    /// its keys), and counted undelivered at once if bpipe stops or stdout is gone.
    pub(super) fn arrive_in(&self, inner: &mut Inner, batch: &mut Batch) -> Result<(), Stop> {
        batch.arrived = Some(self.now());
        batch.pos = inner.books.ledger.input();
        inner.admit(batch);
        if inner.closed() || inner.input == Input::Stopped {
            // A stop may be waiting for this read to be counted.
            self.room.notify_all();
            inner.books.ledger.lose(Place::Parked, batch.tally());
            return Err(if inner.closed() {
                Stop::Closed
            } else {
                Stop::Stopped
            });
        }
        Ok(())
    }

    /// Places the parked batch if it can go now: into the queue if it fits, to the policy
    /// under pressure. Leaves it parked otherwise, and tells an idle writer to take it.
    fn settle_parked(&self, inner: &mut Inner) -> Result<Pushed, Stop> {
        if inner.closed() {
            // `close_output` counted anything parked as undelivered.
            return Err(Stop::Closed);
        }
        if inner.input == Input::Stopped {
            // `stop_input` counted anything parked as undelivered.
            return Err(Stop::Stopped);
        }
        // The batch stays parked in the books until it is queued or shed.
        let Some(batch) = inner.store.parked.take() else {
            // The writer took it.
            return Ok(Pushed::Done);
        };
        let shedding = self.shedding(inner, self.now());
        let mut batch = match self.spill_parked(inner, batch, shedding) {
            Offered::Placed(placed) => return placed,
            Offered::Declined(batch) => batch,
        };
        if let Some(shed) = shedding {
            // What the writer gave back when stdout filled may hold the queue over its bounds.
            self.trim(inner, shed);
        }
        if let Some(shed @ (Shed::Slide | Shed::Drop)) = shedding
            && inner.fair()
        {
            return self.settle_fair(inner, batch, shed);
        }
        if let (Some(shed @ (Shed::Slide | Shed::Drop)), Some(keep)) = (shedding, &self.rules.keep)
        {
            return self.settle_kept(inner, batch, shed, keep);
        }
        if shedding == Some(Shed::Slide) {
            self.slide_in(inner, batch);
            return Ok(Pushed::Done);
        }
        loop {
            batch = match self.queue_if_it_fits(inner, batch) {
                Some(batch) => batch,
                None => return Ok(Pushed::Done),
            };
            let (room_items, room_bytes) = self.room_in(inner);
            let Some(shed) = shedding else {
                inner.store.parked = Some(batch);
                self.wake_writer(inner);
                return Ok(Pushed::Parked);
            };
            let fit = batch.fitting_prefix(room_items, room_bytes);
            if fit > 0 {
                inner.enqueue(batch.split_front(fit));
                self.wake_writer(inner);
            }
            // The first item left does not fit.
            match shed {
                Shed::Drop if room_items <= fit => {
                    inner.shed_all(batch, Place::Parked, Why::Policy);
                    return Ok(Pushed::Done);
                }
                Shed::Drop => {
                    inner.shed_front(&mut batch, Place::Parked);
                }
                Shed::Fail => {
                    // `fail` stops reading: the rest of this read is undelivered, not shed.
                    inner.books.ledger.lose(Place::Parked, batch.tally());
                    let bound = self.full_bound(inner);
                    if inner.pressure.full.is_none() {
                        inner.pressure.full = Some((self.now(), bound));
                        // The watch drains for --drain-timeout from now.
                        inner.books.ledger.ring();
                    }
                    return Err(Stop::Full(bound));
                }
                Shed::Slide => unreachable!("slide is handled above"),
            }
        }
    }

    /// Queues `batch` whole if it fits (an empty one needs no room); gives it back if not.
    pub(super) fn queue_if_it_fits(&self, inner: &mut Inner, batch: Batch) -> Option<Batch> {
        let (room_items, room_bytes) = self.room_in(inner);
        if batch.items() > room_items || batch.bytes() > room_bytes {
            return Some(batch);
        }
        if !batch.is_empty() {
            inner.enqueue(batch);
            self.wake_writer(inner);
        }
        None
    }

    /// Queues `batch` whole under `slide`: first its own oldest items go if it alone is larger
    /// than the queue, then the oldest queued items until it fits. Never splits the batch, so
    /// a full queue does not turn each arriving item into a batch of its own.
    pub(super) fn slide_in(&self, inner: &mut Inner, mut batch: Batch) {
        let bounds = inner.limits.bounds;
        while batch.items() > bounds.items || batch.bytes() > bounds.bytes {
            inner.shed_front(&mut batch, Place::Parked);
        }
        loop {
            let (room_items, room_bytes) = self.room_in(inner);
            if batch.items() <= room_items && batch.bytes() <= room_bytes {
                break;
            }
            if inner.drop_oldest(None).is_zero() {
                debug_assert!(false, "a batch did not fit in an empty queue");
                break;
            }
        }
        if !batch.is_empty() {
            inner.enqueue(batch);
            self.wake_writer(inner);
        }
    }

    /// Sheds queued items until the queue is within its bounds: the oldest under slide, the
    /// newest under drop (fail stops at the next push that does not fit).
    pub(super) fn trim(&self, inner: &mut Inner, shed: Shed) {
        let over = |inner: &Inner| {
            let depth = inner.books.ledger.held(Place::Queued);
            depth.items > inner.limits.bounds.items as u64
                || depth.bytes > inner.limits.bounds.bytes as u64
        };
        let fair = inner.fair();
        while over(inner) {
            let side = match shed {
                Shed::Slide => Side::Front,
                _ => Side::Back,
            };
            if fair
                && !inner
                    .shed_heaviest(side, self.rules.keep.as_ref())
                    .is_zero()
            {
                continue;
            }
            let gone = match shed {
                Shed::Slide => inner.drop_oldest(self.rules.keep.as_ref()),
                Shed::Drop => inner.drop_newest(self.rules.keep.as_ref()),
                Shed::Fail => return,
            };
            if gone.is_zero() {
                return;
            }
        }
    }

    /// Counts over-long items (`--max-line`) the reader shed before they could be queued.
    pub fn discard_overlong(&self, gone: Tally) {
        if gone.is_zero() {
            return;
        }
        let now = self.now();
        let mut inner = self.lock();
        inner.books.ledger.discard_overlong(gone);
        if let Some(keys) = inner.keys.as_mut() {
            keys.overlong(gone, now);
        }
    }

    /// Counts items the reader had framed when `fail` stopped it: read, never delivered.
    pub fn refuse(&self, gone: &Batch) {
        if gone.is_empty() {
            return;
        }
        let now = self.now();
        let mut inner = self.lock();
        inner.books.ledger.refuse(gone.tally());
        inner.count_keys_in(gone, now);
    }

    /// Moves bytes straight to stdout with `move_` (`input::pass`), if nothing is queued,
    /// parked or on disk and the writer is idle (caught up, holding nothing), and counts
    /// what it moved as read and delivered at once, having waited nothing. `move_` runs under
    /// the queue's lock, so that the books have what it moved before anyone can read them
    /// (a consumer that leaves ends the run at once). While the writer is still busy with
    /// what it was given, and stdout takes it, this waits for it to catch up, at most
    /// [`PASS_WAIT`]: otherwise a reader that reads on while the writer writes never finds
    /// the two of them caught up. A writer that stalls, or is throttled, ends the wait, and
    /// `None` says to read as usual.
    pub fn pass(&self, move_: impl FnOnce() -> Option<Tally>) -> Option<Tally> {
        let mut inner = self.lock();
        let deadline = Instant::now() + PASS_WAIT;
        loop {
            if inner.closed()
                || inner.input != Input::Open
                || inner.store.parked.is_some()
                || inner.store.on_disk()
                || inner.limits.rate.is_some()
                || inner.limits.flow == Flow::Paused
            {
                return None;
            }
            match inner.pressure.writer {
                Writer::Idle if inner.store.batches.is_empty() => break,
                // Catching up: taking what was queued, or writing it, and stdout takes it.
                Writer::Idle | Writer::Busy => {}
                Writer::Stalled | Writer::Throttled | Writer::Done => return None,
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            inner.pressure.reader = Reader::Passing;
            inner = self
                .room
                .wait_timeout(inner, (deadline - now).min(PASS_POLL))
                .unwrap_or_else(|e| e.into_inner())
                .0;
            inner.pressure.reader = Reader::Reading;
        }
        let moved = move_()?;
        inner.books.ledger.pass(moved);
        inner.books.waits.record(Duration::ZERO, moved.items);
        self.sent
            .fetch_add(moved.bytes, std::sync::atomic::Ordering::Relaxed);
        Some(moved)
    }

    /// A buffer for the reader to read into: a recycled one if there is one, else a new one
    /// of `len` bytes.
    pub fn spare_buffer(&self, len: usize) -> Vec<u8> {
        let spare = self.lock().store.spare();
        spare.unwrap_or_else(|| vec![0; len])
    }
}
