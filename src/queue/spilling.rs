//! The queue's side of `--spill`: which reads go to disk, and what the policy does once the
//! disk is full too. Order is kept: once anything is on disk, every later read goes there
//! (or waits, or is shed) until the writer has read the disk back.

use super::keep::Keep;
use super::policy::Shed;
use super::shedding::Why;
use super::spill::{OnDisk, Refused, Spill, record_len};
use super::{Bound, Inner, Pushed, Queue, Stop};
use crate::batch::Batch;
use crate::books::ledger::Place;

/// What became of a read offered to the spill.
pub(super) enum Offered {
    /// Placed (on disk, parked to wait for it, shed or refused by `fail`).
    Placed(Result<Pushed, Stop>),
    /// Not for the disk: the queue takes it as before.
    Declined(Batch),
}

impl Queue {
    /// The writer gave back what it held and the queue is over its bounds under pressure:
    /// with a spill, its newest batches go to disk rather than to the policy (when the disk
    /// is empty: order), as many as the disk has room for, all or none; or the queue holds
    /// them (when the disk already holds newer items, which the queue's must precede, or
    /// when only its oldest batch is left). False when the policy must trim the queue after
    /// all (the disk is full).
    pub(super) fn spill_overflow(&self, inner: &mut Inner) -> bool {
        let Some(spill) = inner.store.disk_ref() else {
            return false;
        };
        if !spill.is_empty() {
            return true;
        }
        let over = |inner: &Inner| {
            let depth = inner.books.ledger.held(Place::Queued);
            depth.items > inner.limits.bounds.items as u64
                || depth.bytes > inner.limits.bounds.bytes as u64
        };
        // The newest batches that bring the queue within its bounds, as far as they fit.
        let mut room = spill.room();
        let mut tail = Vec::new();
        let mut full = false;
        while over(inner) && inner.store.batches.len() > 1 {
            let len = record_len(inner.store.batches.back().expect("a batch"));
            if len > room {
                full = true;
                break;
            }
            room -= len;
            tail.push(inner.store.batches.pop_back().expect("a batch"));
        }
        let spill = inner.store.disk().expect("a spill");
        let mark = spill.mark();
        let written = tail.iter().rev().all(|batch| spill.push(batch).is_ok());
        if !written {
            // A write failed midway (the disk is full): none of them stays on disk.
            spill.rollback(mark);
        }
        for batch in tail.into_iter().rev() {
            if written {
                inner
                    .books
                    .ledger
                    .shift(Place::Queued, Place::Spilled, batch.tally());
                inner.store.recycle(batch);
            } else {
                inner.store.batches.push_back(batch);
            }
        }
        inner.store.kept_back = 0;
        // Over its bounds by its oldest batch alone, the queue holds it.
        written && !full
    }

    /// Places `batch` on disk if it belongs there: the queue is full and the writer is
    /// under pressure, or something is on disk already.
    pub(super) fn spill_parked(
        &self,
        inner: &mut Inner,
        batch: Batch,
        shedding: Option<Shed>,
    ) -> Offered {
        loop {
            let Some(spill) = inner.store.disk() else {
                return Offered::Declined(batch);
            };
            let on_disk = !spill.is_empty();
            let (room_items, room_bytes) = self.room_in(inner);
            let fits = batch.items() <= room_items && batch.bytes() <= room_bytes;
            let pressure = self.under_pressure(inner, self.now());
            if !on_disk && (fits || !pressure) {
                return Offered::Declined(batch);
            }
            let spill = inner.store.disk().expect("a spill");
            match spill.push(&batch) {
                Ok(()) => {
                    inner
                        .books
                        .ledger
                        .shift(Place::Parked, Place::Spilled, batch.tally());
                    inner.store.recycle(batch);
                    self.wake_writer(inner);
                    return Offered::Placed(Ok(Pushed::Done));
                }
                Err(Refused::Full | Refused::Failed(_)) if !on_disk => {
                    return Offered::Declined(batch);
                }
                Err(Refused::Full | Refused::Failed(_)) => {}
            }
            // The disk is full and holds older items: this read may not pass them.
            if let (Some(Shed::Drop | Shed::Slide), Some(keep)) = (shedding, &self.rules.keep) {
                return Offered::Placed(Ok(self.shed_unkept_lead(inner, batch, keep)));
            }
            let failed = inner.store.disk_ref().is_some_and(Spill::has_failed);
            match shedding {
                // After a write error the disk takes nothing more: shedding what is there
                // would make no room, so the read is shed instead, as under drop.
                Some(Shed::Slide) if !failed => {
                    // The oldest are on disk (the queue is empty while anything is).
                    let spill = inner.store.disk().expect("a spill");
                    match spill.pop(Vec::new()) {
                        Ok(Some(oldest)) => inner.shed_all(oldest, Place::Spilled, Why::Policy),
                        Ok(None) => return Offered::Declined(batch),
                        Err(e) => {
                            spill.lost(&e);
                            inner.books.ledger.lose_all(Place::Spilled);
                        }
                    }
                }
                Some(Shed::Drop | Shed::Slide) => {
                    inner.shed_all(batch, Place::Parked, Why::Policy);
                    return Offered::Placed(Ok(Pushed::Done));
                }
                Some(Shed::Fail) => {
                    inner.books.ledger.lose(Place::Parked, batch.tally());
                    let bound = match inner.store.disk_ref() {
                        Some(spill) if spill.has_failed() => Bound::Disk,
                        spill => Bound::Spill(spill.map_or(0, |s| s.max())),
                    };
                    inner.pressure.full.get_or_insert((self.now(), bound));
                    return Offered::Placed(Err(Stop::Full(bound)));
                }
                // Block: wait for the writer to read the disk back.
                _ => {
                    inner.store.parked = Some(batch);
                    self.wake_writer(inner);
                    return Offered::Placed(Ok(Pushed::Parked));
                }
            }
        }
    }
}

impl Queue {
    /// `--keep` with the disk full of older items: what is on disk cannot be sifted
    /// without reading it back into memory, so the read's own leading unkept items are shed
    /// (under `slide` as under `drop`), and from its first kept item on it waits for room.
    fn shed_unkept_lead(&self, inner: &mut Inner, mut batch: Batch, keep: &Keep) -> Pushed {
        while let Some(front) = batch.item(0) {
            if keep.spares(front) {
                inner.spare_front(&mut batch);
                inner.store.parked = Some(batch);
                self.wake_writer(inner);
                return Pushed::Parked;
            }
            inner.shed_front(&mut batch, Place::Parked);
        }
        Pushed::Done
    }

    /// The writer's way to what is on disk without copying it: with nothing queued ahead of
    /// it, takes the oldest batch on disk into the writer's hand, its bytes left on disk for
    /// the writer to splice to stdout. `None` when the queue holds batches, nothing is on
    /// disk, or items must be looked at on their way out (`--max-age`, `--mark-drops`): then
    /// [`Queue::take`] brings them back into memory.
    pub(super) fn take_spilled(&self, inner: &mut Inner) -> Option<OnDisk> {
        if inner.limits.max_age.is_some() || self.rules.marks.is_some() {
            return None;
        }
        if !inner.store.batches.is_empty() || inner.closed() {
            return None;
        }
        let spill = inner.store.disk()?;
        let mut disk = match spill.take() {
            Ok(disk) => disk?,
            Err(e) => {
                spill.lost(&e);
                inner.books.ledger.lose_all(Place::Spilled);
                return None;
            }
        };
        self.busy(inner);
        // A buffer to load it into, should the writer have to.
        disk.spare = inner.store.spare();
        inner
            .books
            .ledger
            .shift(Place::Spilled, Place::InHand, disk.tally());
        inner.books.hand_arrived = disk.arrived();
        Some(disk)
    }
}
