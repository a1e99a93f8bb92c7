//! What a policy needs of a batch when `--keep` spares some items, and dead letters keep
//! the rest: the items' bytes as they go, and splits that keep each batch a run of
//! consecutive input items.

use super::Batch;
use crate::books::tally::Tally;

impl Batch {
    /// A batch of the items in `data`, which end at `ends` (read back from the spill).
    pub fn from_parts(data: Vec<u8>, ends: impl Iterator<Item = usize>) -> Batch {
        let len = data.len();
        Batch {
            data,
            filled: len,
            end: len,
            ends: ends.collect(),
            ..Batch::default()
        }
    }

    /// A batch of `items` items in `data`, each ending with `delim`: their ends are found
    /// when first needed.
    pub fn delimited(data: Vec<u8>, items: usize, delim: u8) -> Batch {
        let len = data.len();
        Batch {
            data,
            filled: len,
            end: len,
            unindexed: items,
            delim,
            ..Batch::default()
        }
    }

    /// The delimiter that ends every live item, when no item's end is recorded yet (so that
    /// the ends can be found again by it).
    pub fn unindexed_delim(&self) -> Option<u8> {
        (self.unindexed > 0 && self.ends.len() == self.first).then_some(self.delim)
    }

    /// The `i`th live item.
    pub fn item(&mut self, i: usize) -> Option<&[u8]> {
        self.index();
        let end = *self.ends.get(self.first + i)?;
        let start = match i {
            0 => self.start,
            _ => self.ends[self.first + i - 1],
        };
        Some(&self.data[start..end])
    }

    /// Index of the first live item that `spares` does not spare (`--keep`); `None` if it
    /// spares all.
    pub fn first_unkept(&mut self, spares: impl Fn(&[u8]) -> bool) -> Option<usize> {
        if self.kept {
            return None;
        }
        let found = self.iter().position(|item| !spares(item));
        self.kept = found.is_none();
        found
    }

    /// Index of the last live item that `spares` does not spare; `None` if it spares all.
    pub fn last_unkept(&mut self, spares: impl Fn(&[u8]) -> bool) -> Option<usize> {
        if self.kept {
            return None;
        }
        self.index();
        let n = self.items();
        let found = (0..n).rev().find(|&i| !spares(self.item(i).expect("live")));
        self.kept = found.is_none();
        found
    }

    /// Removes the last `n` items and returns them as a batch of their own (a copy of
    /// those items only).
    pub fn split_back(&mut self, n: usize) -> Batch {
        assert!(n <= self.items());
        self.index();
        let stay = self.items() - n;
        let from = match stay {
            0 => self.start,
            _ => self.ends[self.first + stay - 1],
        };
        let mut back = Batch {
            arrived: self.arrived,
            pos: self.pos + Tally::new(stay, from - self.start),
            kept: self.kept,
            spared: stay == 0 && std::mem::take(&mut self.spared),
            ..Batch::default()
        };
        back.append(&self.data[from..self.end]);
        back.ends
            .extend(self.ends[self.first + stay..].iter().map(|e| e - from));
        back.end = self.end - from;
        self.ends.truncate(self.first + stay);
        if self.filled == self.end {
            self.filled = from;
        }
        self.end = from;
        back
    }

    /// Removes the oldest item, handing its bytes to `gone` first.
    pub fn pop_front_with(&mut self, gone: impl FnOnce(&[u8])) -> Option<Tally> {
        gone(self.item(0)?);
        self.pop_front()
    }

    /// Removes the newest item, handing its bytes to `gone` first.
    pub fn pop_back_with(&mut self, gone: impl FnOnce(&[u8])) -> Option<Tally> {
        let last = self.items().checked_sub(1)?;
        gone(self.item(last)?);
        self.pop_back()
    }
}
