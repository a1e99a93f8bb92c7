//! The keys seen, at most `--max-keys` of them: per key the books (in, out, dropped, of
//! which over the key's rate), a token bucket for `--rate-per-key`, and the order they
//! were last seen in. A new key past the bound folds the least recently seen one (one
//! holding nothing, if one of the last few does) into `other`. Every count lands on a key
//! or on `other`, so that the keys' books add up to the whole.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use super::bucket::Bucket;
use super::{Counts, KeyFigures, KeyRow};
use crate::books::tally::Tally;
use crate::values::rate::Rate;

/// No slot (the ends of the recency list).
const NIL: u32 = u32::MAX;
/// How many of the least recently seen keys are looked at for one holding nothing.
const FOLD_LOOK: usize = 8;

/// Whether an arriving item asks its key's bucket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ask {
    /// Counted in only.
    Count,
    /// `--rate-per-key` asked only: the item is counted in when it is admitted (under the
    /// same lock as the books in all).
    Bucket,
}

/// Whether an arriving item is within its key's rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admit {
    Pass,
    OverRate,
}

#[derive(Debug)]
struct Slot {
    key: Arc<[u8]>,
    counts: Counts,
    bucket: Bucket,
    /// Recency list: the slot seen just before and just after this one.
    newer: u32,
    older: u32,
}

#[derive(Debug)]
pub struct Table {
    max: usize,
    rate: Option<(Rate, u64)>,
    index: HashMap<Arc<[u8]>, u32>,
    slots: Vec<Slot>,
    /// Most and least recently seen.
    newest: u32,
    oldest: u32,
    other: Counts,
    folded: u64,
    /// The key holding the most bytes, as far as arrivals tell (see [`Table::heaviest`]).
    heaviest: Option<u32>,
}

impl Table {
    pub fn new(max: usize, rate: Option<(Rate, u64)>) -> Table {
        assert!(max > 0 && max < NIL as usize);
        Table {
            max,
            rate,
            index: HashMap::new(),
            slots: Vec::new(),
            newest: NIL,
            oldest: NIL,
            other: Counts::default(),
            folded: 0,
            heaviest: None,
        }
    }

    /// `item` (items and bytes) with `key` arrives at `now`: its key made the most recently
    /// seen, and the item counted in (`Ask::Count`) or, for one item, its key's bucket asked
    /// for it (`Ask::Bucket`).
    pub fn arrive(&mut self, key: &[u8], item: Tally, now: Instant, ask: Ask) -> Admit {
        let slot = match self.index.get(key) {
            Some(&slot) => {
                self.unlink(slot);
                slot
            }
            None => self.admit(key, now),
        };
        self.link_newest(slot);
        let rate = self.rate;
        let entry = &mut self.slots[slot as usize];
        if ask != Ask::Bucket {
            entry.counts.input += item;
        }
        let admit = match (rate, ask) {
            (Some(rate), Ask::Bucket) if !entry.bucket.take(rate, item.bytes, now) => {
                Admit::OverRate
            }
            _ => Admit::Pass,
        };
        let held = entry.counts.held().bytes;
        let heavier = self
            .heaviest
            .is_none_or(|h| self.slots[h as usize].counts.held().bytes < held);
        if heavier {
            self.heaviest = Some(slot);
        }
        admit
    }

    /// `item` (items and bytes) with `key` was delivered.
    pub fn deliver(&mut self, key: &[u8], item: Tally) {
        self.leave(key, |c| c.output += item);
    }

    /// `item` (items and bytes) with `key` was shed; `limited` if for its key's rate.
    pub fn shed(&mut self, key: &[u8], item: Tally, limited: bool) {
        self.leave(key, |c| {
            c.dropped += item;
            if limited {
                c.limited += item;
            }
        });
    }

    /// Counts an item leaving on its key while the key holds items, else on `other` (it
    /// arrived before its key was folded).
    fn leave(&mut self, key: &[u8], count: impl FnOnce(&mut Counts)) {
        let slot = self.index.get(key).copied();
        let counts = match slot {
            Some(slot) if self.slots[slot as usize].counts.held().items > 0 => {
                &mut self.slots[slot as usize].counts
            }
            Some(slot) if self.other.held().items == 0 => &mut self.slots[slot as usize].counts,
            _ => &mut self.other,
        };
        count(counts);
        if slot.is_some() && slot == self.heaviest && counts.held().items == 0 {
            self.heaviest = None;
        }
    }

    /// The key holding the most bytes (queued, in the reader's or the writer's hand). Kept
    /// as items arrive, and looked for anew only when the last one found holds nothing:
    /// between two looks a key that shrank may stay in front of one that did not grow.
    pub fn heaviest(&mut self) -> Option<Arc<[u8]>> {
        if self.heaviest.is_none() {
            self.heaviest = (0..self.slots.len() as u32)
                .filter(|&s| self.slots[s as usize].counts.held().items > 0)
                .max_by_key(|&s| self.slots[s as usize].counts.held().bytes);
        }
        self.heaviest
            .map(|s| Arc::clone(&self.slots[s as usize].key))
    }

    /// A slot for a new key: a new one under the bound, else one folded into `other`.
    fn admit(&mut self, key: &[u8], now: Instant) -> u32 {
        let key: Arc<[u8]> = Arc::from(key);
        let rate = self.rate;
        let fresh = |key: Arc<[u8]>| Slot {
            key,
            counts: Counts::default(),
            bucket: Bucket::full(rate, now),
            newer: NIL,
            older: NIL,
        };
        if self.slots.len() < self.max {
            if self.slots.len() == self.slots.capacity() {
                // Grown by doubling up to the bound, never past it.
                let more = self.slots.len().max(16).min(self.max - self.slots.len());
                self.slots.reserve_exact(more);
            }
            self.slots.push(fresh(Arc::clone(&key)));
            let slot = (self.slots.len() - 1) as u32;
            self.index.insert(key, slot);
            return slot;
        }
        let victim = self.fold_victim();
        self.unlink(victim);
        let old = std::mem::replace(&mut self.slots[victim as usize], fresh(Arc::clone(&key)));
        self.index.remove(&old.key);
        self.other.add(&old.counts);
        self.folded += 1;
        if self.heaviest == Some(victim) {
            self.heaviest = None;
        }
        self.index.insert(key, victim);
        victim
    }

    /// The least recently seen key that holds nothing, among the last [`FOLD_LOOK`]; else
    /// the least recently seen.
    fn fold_victim(&self) -> u32 {
        let mut slot = self.oldest;
        for _ in 0..FOLD_LOOK {
            if slot == NIL {
                break;
            }
            let entry = &self.slots[slot as usize];
            if entry.counts.held().items == 0 {
                return slot;
            }
            slot = entry.newer;
        }
        self.oldest
    }

    fn unlink(&mut self, slot: u32) {
        let (newer, older) = {
            let s = &self.slots[slot as usize];
            (s.newer, s.older)
        };
        match newer {
            NIL => self.newest = older,
            n => self.slots[n as usize].older = older,
        }
        match older {
            NIL => self.oldest = newer,
            o => self.slots[o as usize].newer = newer,
        }
    }

    fn link_newest(&mut self, slot: u32) {
        let old_newest = self.newest;
        {
            let s = &mut self.slots[slot as usize];
            s.newer = NIL;
            s.older = old_newest;
        }
        match old_newest {
            NIL => self.oldest = slot,
            n => self.slots[n as usize].newer = slot,
        }
        self.newest = slot;
    }

    /// The `top` keys by items dropped (then by items in), `other` among them.
    pub fn figures(&self, top: usize) -> KeyFigures {
        let mut rows: Vec<(&[u8], &Counts)> =
            self.slots.iter().map(|s| (&s.key[..], &s.counts)).collect();
        if self.other.input.items > 0 {
            rows.push((super::OTHER, &self.other));
        }
        let rank =
            |row: &(&[u8], &Counts)| std::cmp::Reverse((row.1.dropped.items, row.1.input.items));
        if rows.len() > top && top > 0 {
            rows.select_nth_unstable_by_key(top - 1, rank);
        }
        let mut rest = Counts::default();
        for (_, counts) in rows.iter().skip(top) {
            rest.add(counts);
        }
        rows.truncate(top);
        rows.sort_by_key(rank);
        KeyFigures {
            top: rows
                .into_iter()
                .map(|(key, counts)| KeyRow {
                    key: key.to_vec(),
                    counts: *counts,
                })
                .collect(),
            rest,
            tracked: self.slots.len() as u64,
            folded: self.folded,
        }
    }

    /// Every key's counts summed, `other` included: the books of the whole.
    #[cfg(test)]
    pub fn total(&self) -> Counts {
        let mut sum = self.other;
        for slot in &self.slots {
            sum.add(&slot.counts);
        }
        sum
    }
}

#[cfg(test)]
mod tests;
