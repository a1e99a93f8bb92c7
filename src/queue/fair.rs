//! `--fair`: when the policy must shed, it sheds from the key holding the most bytes, as
//! `fq` does for flows, so that a quiet key keeps its items while a firehose pays for the
//! overflow. `slide` sheds that key's oldest item, `drop` the incoming item if it is that
//! key's, else that key's newest. `--keep` still wins: a kept item is never shed. Where the
//! heaviest key has nothing that may go, the policy sheds as it does without `--fair`.

use super::push::Pushed;
use super::shedding::Side;
use super::shedding::keep::Keep;
use super::{Inner, Queue, Stop};
use crate::batch::Batch;
use crate::books::ledger::Place;
use crate::books::tally::Tally;
use crate::keys::Keys;
use crate::queue::policy::Shed;

/// Whether `item` has the key `heavy` and `keep` does not spare it: what `--fair` may shed.
fn sheddable(keys: &Keys, heavy: &[u8], keep: Option<&Keep>, item: &[u8]) -> bool {
    keys.key_of(item) == heavy && !keep.is_some_and(|k| k.spares(item))
}

impl Inner {
    /// Whether `item` is the heaviest key's and `keep` does not spare it.
    fn heavy(&mut self, item: &[u8], keep: Option<&Keep>) -> bool {
        let Some(keys) = self.keys.as_mut() else {
            return false;
        };
        let heaviest = keys.heaviest();
        heaviest.is_some_and(|h| sheddable(keys, &h, keep, item))
    }

    /// Sheds the oldest ([`Side::Front`]) or newest queued item of the heaviest key that
    /// `keep` does not spare; zero if none is queued.
    pub(super) fn shed_heaviest(&mut self, side: Side, keep: Option<&Keep>) -> Tally {
        let Some(keys) = self.keys.as_mut() else {
            return Tally::ZERO;
        };
        let Some(heavy) = keys.heaviest() else {
            return Tally::ZERO;
        };
        let keys = &*keys;
        let is_heavy = |item: &[u8]| sheddable(keys, &heavy, keep, item);
        let batches = &self.store.batches;
        let found = match side {
            Side::Front => (0..batches.len())
                .find_map(|b| batches[b].iter().position(is_heavy).map(|i| (b, i))),
            Side::Back => (0..batches.len()).rev().find_map(|b| {
                let last = batches[b]
                    .iter()
                    .enumerate()
                    .filter(|(_, item)| is_heavy(item));
                last.last().map(|(i, _)| (b, i))
            }),
        };
        let Some((mut b, i)) = found else {
            return Tally::ZERO;
        };
        // The item goes to an end of its batch: what is on the other side of it goes into a
        // batch of its own, so that every batch stays a run of consecutive items.
        let batch = &mut self.store.batches[b];
        match side {
            Side::Front if i > 0 => {
                let before = batch.split_front(i);
                self.store.batches.insert(b, before);
                b += 1;
            }
            Side::Back if i + 1 < batch.items() => {
                let after = batch.split_back(batch.items() - i - 1);
                self.store.batches.insert(b + 1, after);
            }
            _ => {}
        }
        (self.store.kept_front, self.store.kept_back) = (0, 0);
        self.shed_queued(b, side)
    }
}

impl Queue {
    /// Places `batch` under pressure with `--fair`: item by item, what fits is queued, and
    /// for what does not, the heaviest key's oldest (slide) or newest (drop) item goes.
    pub(super) fn settle_fair(
        &self,
        inner: &mut Inner,
        mut batch: Batch,
        shed: Shed,
    ) -> Result<Pushed, Stop> {
        let side = match shed {
            Shed::Slide => Side::Front,
            Shed::Drop | Shed::Fail => Side::Back,
        };
        loop {
            batch = match self.queue_if_it_fits(inner, batch) {
                Some(batch) => batch,
                None => return Ok(Pushed::Done),
            };
            let (room_items, room_bytes) = self.room_in(inner);
            let fit = batch.fitting_prefix(room_items, room_bytes);
            if fit > 0 {
                inner.enqueue(batch.split_front(fit));
                self.wake_writer(inner);
                continue;
            }
            // The first item left does not fit.
            if !self.make_room(inner, &mut batch, side) {
                inner.store.parked = Some(batch);
                self.wake_writer(inner);
                return Ok(Pushed::Parked);
            }
        }
    }

    /// Sheds one item so that the first of `batch` may fit: the heaviest key's, or where it
    /// has none that may go, as without `--fair`. False if nothing may go (all kept).
    fn make_room(&self, inner: &mut Inner, batch: &mut Batch, side: Side) -> bool {
        let keep = self.rules.keep.as_ref();
        let front = batch.item(0).expect("an item left");
        let kept = keep.is_some_and(|k| k.spares(front));
        let heavy = inner.heavy(front, keep);
        if heavy && side == Side::Back {
            return !inner.shed_front(batch, Place::Parked).is_zero();
        }
        if !inner.shed_heaviest(side, keep).is_zero() {
            return true;
        }
        if heavy || (!kept && side == Side::Back) {
            return !inner.shed_front(batch, Place::Parked).is_zero();
        }
        if side == Side::Front && !inner.drop_oldest(keep).is_zero() {
            return true;
        }
        if !kept {
            return !inner.shed_front(batch, Place::Parked).is_zero();
        }
        side == Side::Back && !inner.drop_newest(keep).is_zero()
    }
}
