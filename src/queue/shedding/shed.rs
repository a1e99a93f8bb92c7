//! Shedding item by item: the oldest or newest item that `--keep` does not spare, each
//! shed item's bytes to the `--dead-letter` file, and the books told. A batch stays a run
//! of consecutive input items: kept items next to a shed one are split off into a batch of
//! their own (marked kept, so that no pattern runs on them twice), which keeps every gap at
//! a batch boundary for `--mark-drops`.

use std::time::Instant;

use super::dead_letter::DeadLetter;
use super::keep::Keep;
use super::policy::Shed;
use crate::batch::Batch;
use crate::books::ledger::{Ledger, Place};
use crate::books::tally::Tally;
use crate::keys::Keys;
use crate::queue::{Inner, Pushed, Queue, Stop};

/// Which end of a batch an item is shed from.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(in crate::queue) enum Side {
    Front,
    Back,
}

/// Why items are shed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Why {
    /// The policy made room.
    Policy,
    /// Older than `--max-age` when the writer came for them.
    Expired,
    /// Over their key's `--rate-per-key` when they came.
    Limited,
}

/// Sheds the item that `pop` removes from `batch`, its bytes to `dead`, counted on its key.
fn shed_one(
    books: &mut Ledger,
    dead: &mut Option<DeadLetter>,
    keys: &mut Option<Keys>,
    from: Place,
    pop: impl FnOnce(&mut dyn FnMut(&[u8])) -> Option<Tally>,
) -> Tally {
    let gone = pop(&mut |item| {
        if let Some(dead) = dead.as_mut() {
            dead.take(item);
        }
        if let Some(keys) = keys.as_mut() {
            keys.shed(item, false);
        }
    })
    .unwrap_or_default();
    books.shed(from, gone);
    flush_full(books, dead);
    gone
}

/// Writes the dead letters once a buffer's worth has gathered.
fn flush_full(books: &mut Ledger, dead: &mut Option<DeadLetter>) {
    if let Some(dead) = dead.as_mut().filter(|d| d.is_full()) {
        books.dead_letter(dead.flush());
    }
}

impl Inner {
    /// Writes the dead letters gathered (see [`super::Shedding::flush_dead`]).
    pub(in crate::queue) fn flush_dead(&mut self) {
        self.shedding.flush_dead(&mut self.books.ledger);
    }

    /// The first item of `batch` (out of the queue), shed.
    pub(in crate::queue) fn shed_front(&mut self, batch: &mut Batch, from: Place) -> Tally {
        shed_one(
            &mut self.books.ledger,
            &mut self.shedding.dead,
            &mut self.keys,
            from,
            |gone| batch.pop_front_with(gone),
        )
    }

    /// All of `batch` (out of the queue) shed, for `why`.
    pub(in crate::queue) fn shed_all(&mut self, batch: Batch, from: Place, why: Why) {
        if let Some(dead) = self.shedding.dead.as_mut() {
            for item in batch.iter() {
                dead.take(item);
            }
        }
        if let Some(keys) = self.keys.as_mut() {
            for item in batch.iter() {
                keys.shed(item, why == Why::Limited);
            }
        }
        match why {
            Why::Expired => self.books.ledger.expire(from, batch.tally()),
            Why::Policy => self.books.ledger.shed(from, batch.tally()),
            Why::Limited => self.books.ledger.limit(from, batch.tally()),
        }
        flush_full(&mut self.books.ledger, &mut self.shedding.dead);
    }

    /// Sheds the first or last item of queued batch `idx` (dropping the batch if that
    /// empties it).
    pub(in crate::queue) fn shed_queued(&mut self, idx: usize, side: Side) -> Tally {
        let batches = &mut self.store.batches;
        let batch = &mut batches[idx];
        let gone = shed_one(
            &mut self.books.ledger,
            &mut self.shedding.dead,
            &mut self.keys,
            Place::Queued,
            |g| match side {
                Side::Front => batch.pop_front_with(g),
                Side::Back => batch.pop_back_with(g),
            },
        );
        if batches[idx].is_empty() {
            batches.remove(idx);
        }
        gone
    }

    /// Sheds the oldest queued item that `keep` does not spare.
    pub(in crate::queue) fn drop_oldest(&mut self, keep: Option<&Keep>) -> Tally {
        let Some(keep) = keep else {
            return match self.store.batches.is_empty() {
                true => Tally::ZERO,
                false => self.shed_queued(0, Side::Front),
            };
        };
        // Every batch before `kept_front` is kept; the scan extends it while it finds more.
        debug_assert!(
            self.store
                .batches
                .iter()
                .take(self.store.kept_front)
                .all(|b| b.kept)
        );
        let mut idx = self.store.kept_front.min(self.store.batches.len());
        while idx < self.store.batches.len() {
            match self.unkept_front(idx, keep) {
                Some(at) => {
                    self.store.kept_front = self.store.kept_front.max(at);
                    return self.shed_queued(at, Side::Front);
                }
                None => {
                    idx += 1;
                    self.store.kept_front = self.store.kept_front.max(idx);
                }
            }
        }
        Tally::ZERO
    }

    /// Looks in queued batch `idx` for the first item `keep` does not spare. None when the
    /// batch is all kept (marked so, its items counted spared once). Otherwise the kept items
    /// before it go into a batch of their own, marked kept, and the index of the batch that
    /// now begins with the unkept item is returned.
    fn unkept_front(&mut self, idx: usize, keep: &Keep) -> Option<usize> {
        let batch = &mut self.store.batches[idx];
        if batch.kept {
            return None;
        }
        let Some(first) = batch.first_unkept(|item| keep.spares(item)) else {
            self.books
                .ledger
                .spare(batch.items() - usize::from(batch.spared));
            return None;
        };
        if first == 0 {
            return Some(idx);
        }
        let mut spared = batch.split_front(first);
        spared.kept = true;
        self.books.ledger.spare(first - usize::from(spared.spared));
        self.store.batches.insert(idx, spared);
        Some(idx + 1)
    }

    /// The first item of a read waiting to be placed is kept and was spared: counted once,
    /// however often the read is tried again.
    pub(in crate::queue) fn spare_front(&mut self, batch: &mut Batch) {
        if !batch.spared {
            self.books.ledger.spare(1);
            batch.spared = true;
        }
    }

    /// Sheds the newest queued item that `keep` does not spare.
    pub(in crate::queue) fn drop_newest(&mut self, keep: Option<&Keep>) -> Tally {
        // Every batch from `len - kept_back` on is kept; the scan extends it.
        debug_assert!(
            self.store
                .batches
                .iter()
                .rev()
                .take(self.store.kept_back)
                .all(|b| b.kept)
        );
        let len = self.store.batches.len();
        let mut idx = match keep {
            Some(_) => len - self.store.kept_back.min(len),
            None => len,
        };
        while idx > 0 {
            idx -= 1;
            let batch = &mut self.store.batches[idx];
            let after = match keep {
                None => 0,
                Some(_) if batch.kept => {
                    self.store.kept_back = self.store.kept_back.max(self.store.batches.len() - idx);
                    continue;
                }
                Some(keep) => match batch.last_unkept(|item| keep.spares(item)) {
                    Some(j) => batch.items() - j - 1,
                    None => {
                        self.books
                            .ledger
                            .spare(batch.items() - usize::from(batch.spared));
                        self.store.kept_back =
                            self.store.kept_back.max(self.store.batches.len() - idx);
                        continue;
                    }
                },
            };
            if after > 0 {
                let mut spared = batch.split_back(after);
                spared.kept = true;
                self.books.ledger.spare(after - usize::from(spared.spared));
                self.store.batches.insert(idx + 1, spared);
                self.store.kept_back = self.store.kept_back.max(self.store.batches.len() - idx - 1);
            }
            return self.shed_queued(idx, Side::Back);
        }
        Tally::ZERO
    }

    /// `--max-age`: sheds the items that arrived before `limit`, but those `keep` spares.
    pub(in crate::queue) fn expire(&mut self, limit: Instant, keep: Option<&Keep>) -> bool {
        let old = |b: &Batch| b.arrived.is_some_and(|t| t < limit);
        let mut idx = 0;
        while idx < self.store.batches.len() && old(&self.store.batches[idx]) {
            let Some(keep) = keep else {
                let batch = self.store.batches.remove(idx).expect("a batch");
                self.shed_all(batch, Place::Queued, Why::Expired);
                continue;
            };
            let Some(at) = self.unkept_front(idx, keep) else {
                idx += 1;
                continue;
            };
            idx = at;
            let batch = &mut self.store.batches[idx];
            let run = batch.iter().take_while(|item| !keep.spares(item)).count();
            let gone = batch.split_front(run);
            if batch.is_empty() {
                self.store.batches.remove(idx);
            }
            self.shed_all(gone, Place::Queued, Why::Expired);
        }
        // Batches were split and removed at the front: the hints start over.
        (self.store.kept_front, self.store.kept_back) = (0, 0);
        let on_disk = self.store.on_disk();
        let parked_old = !on_disk && self.store.parked.as_ref().is_some_and(old);
        if idx == self.store.batches.len() && parked_old {
            let mut batch = self.store.parked.take().expect("parked");
            let run = match keep {
                None => batch.items(),
                Some(keep) => batch.iter().take_while(|item| !keep.spares(item)).count(),
            };
            if run == batch.items() {
                self.shed_all(batch, Place::Parked, Why::Expired);
                return true;
            }
            let gone = batch.split_front(run);
            self.shed_all(gone, Place::Parked, Why::Expired);
            if !batch.is_empty() {
                self.store.parked = Some(batch);
            }
            return true;
        }
        false
    }
}

impl Queue {
    /// Places `batch` under pressure where `keep` spares some items: the oldest (slide) or
    /// newest (drop) unkept item goes to make room; an item kept that finds only kept items
    /// queued waits, with the rest of its read, for room.
    pub(in crate::queue) fn settle_kept(
        &self,
        inner: &mut Inner,
        mut batch: Batch,
        shed: Shed,
        keep: &Keep,
    ) -> Result<Pushed, Stop> {
        loop {
            batch = match self.queue_if_it_fits(inner, batch) {
                Some(batch) => batch,
                None => return Ok(Pushed::Done),
            };
            let (room_items, room_bytes) = self.room_in(inner);
            if shed == Shed::Slide && !inner.drop_oldest(Some(keep)).is_zero() {
                continue;
            }
            let fit = batch.fitting_prefix(room_items, room_bytes);
            if fit > 0 {
                // A front counted spared while it waited goes in a batch of its own, marked
                // kept, so that no later look counts it again.
                let spared = batch.spared;
                let mut front = batch.split_front(if spared { 1 } else { fit });
                front.kept |= spared;
                inner.enqueue(front);
                self.wake_writer(inner);
                continue;
            }
            // The first item left does not fit.
            let front = batch.item(0).expect("an item left");
            if !keep.spares(front) {
                inner.shed_front(&mut batch, Place::Parked);
            } else if shed == Shed::Drop && !inner.drop_newest(Some(keep)).is_zero() {
                inner.spare_front(&mut batch);
            } else {
                inner.store.parked = Some(batch);
                self.wake_writer(inner);
                return Ok(Pushed::Parked);
            }
        }
    }
}
