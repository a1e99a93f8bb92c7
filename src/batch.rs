//! A batch: whole items stored back to back in one buffer.
//!
//! The queue holds batches rather than single items so that a 64 KiB read costs one
//! allocation and one queue operation however many lines it holds. Item boundaries are
//! kept as end offsets so that a policy can still shed one item at a time.

use std::io::{self, Read};

use crate::books::tally::Tally;

mod sift;

/// Whole items in one buffer, plus (while the reader is filling it) a partial item at the
/// end that the framer has not closed yet.
///
/// Item boundaries are found lazily: the framer may only count the delimiters of a read
/// (`unindexed`), and their offsets are looked up when a policy first needs to split the
/// batch. On the lossless fast path nobody ever needs them.
#[derive(Debug, Default)]
pub struct Batch {
    /// The buffer: live items from `start` to `end`, then any partial tail up to `filled`.
    /// All of it is initialized, so that a recycled buffer is read into without zeroing.
    pub(crate) data: Vec<u8>,
    /// Bytes of `data` in use.
    pub(crate) filled: usize,
    /// Offset in `data` where the first live item starts.
    pub(crate) start: usize,
    /// Offset in `data` where the last live item ends.
    pub(crate) end: usize,
    /// End offset (exclusive) of each indexed item, ascending; live from `first`.
    pub(crate) ends: Vec<usize>,
    /// Index in `ends` of the first live item.
    pub(crate) first: usize,
    /// Items after the last indexed one, each ending with `delim`, not yet in `ends`.
    pub(crate) unindexed: usize,
    pub(crate) delim: u8,
    /// When its items were read (queued by the reader): for time in queue.
    pub arrived: Option<std::time::Instant>,
    /// Where the first live item stands in the input: the items and bytes read before it.
    /// A batch holds consecutive input items, so a jump between batches is a gap (shed).
    pub pos: Tally,
    /// Every live item matches `--keep` (known once a policy has looked).
    pub kept: bool,
    /// Its first live item matches `--keep` and was counted spared while it waited: no
    /// later look counts it again.
    pub spared: bool,
    /// Items shed just before this batch that the writer has yet to mark (`--mark-drops`).
    pub gap: Tally,
}

impl Batch {
    /// An empty batch reading into `buffer` (whose contents do not matter).
    pub fn with_buffer(buffer: Vec<u8>) -> Batch {
        Batch {
            data: buffer,
            ..Batch::default()
        }
    }

    /// Gives the buffer back for reuse.
    pub fn into_buffer(self) -> Vec<u8> {
        self.data
    }

    /// Appends bytes after `filled`.
    pub(crate) fn append(&mut self, bytes: &[u8]) {
        let to = self.filled + bytes.len();
        grow(&mut self.data, to);
        self.data[self.filled..to].copy_from_slice(bytes);
        self.filled = to;
    }

    /// Removes `range` (within the unfinished tail) from the buffer.
    pub(crate) fn remove(&mut self, range: std::ops::Range<usize>) {
        debug_assert!(range.start >= self.end && range.end <= self.filled);
        self.data.copy_within(range.end..self.filled, range.start);
        self.filled -= range.len();
    }

    /// Forgets the unfinished tail from `len` on.
    pub(crate) fn truncate(&mut self, len: usize) {
        debug_assert!(len >= self.end && len <= self.filled);
        self.filled = len;
    }

    /// A batch holding `items` as they are, for tests and callers that already have items.
    pub fn from_items<'a>(items: impl IntoIterator<Item = &'a [u8]>) -> Batch {
        let mut batch = Batch::default();
        for item in items {
            batch.append(item);
            batch.push_end(batch.filled);
        }
        batch
    }

    /// Closes an item ending at `end` (indexed).
    pub(crate) fn push_end(&mut self, end: usize) {
        self.index();
        self.ends.push(end);
        self.end = end;
    }

    /// Closes `count` items ending with `delim`, the last at `end`, without recording where
    /// each ends.
    pub(crate) fn push_unindexed(&mut self, count: usize, delim: u8, end: usize) {
        debug_assert!(self.unindexed == 0 || self.delim == delim);
        self.unindexed += count;
        self.delim = delim;
        self.end = end;
    }

    /// Records where every item ends (a no-op once done).
    pub(crate) fn index(&mut self) {
        if self.unindexed == 0 {
            return;
        }
        let from = self
            .ends
            .last()
            .copied()
            .unwrap_or(self.start)
            .max(self.start);
        let region = &self.data[from..self.end];
        self.ends
            .extend(memchr::memchr_iter(self.delim, region).map(|i| from + i + 1));
        debug_assert_eq!(self.ends.last(), Some(&self.end));
        self.unindexed = 0;
    }

    /// Number of live items.
    pub fn items(&self) -> usize {
        self.ends.len() - self.first + self.unindexed
    }

    pub fn is_empty(&self) -> bool {
        self.items() == 0
    }

    /// Bytes held by live items.
    pub fn bytes(&self) -> usize {
        self.end - self.start
    }

    pub fn tally(&self) -> Tally {
        Tally::new(self.items(), self.bytes())
    }

    /// The live items' bytes, back to back.
    pub fn as_bytes(&self) -> &[u8] {
        &self.data[self.start..self.end]
    }

    /// The live items, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        let indexed = &self.ends[self.first..];
        let lazy_from = indexed.last().copied().unwrap_or(self.start);
        let lazy = if self.unindexed == 0 {
            &[][..]
        } else {
            &self.data[lazy_from..self.end]
        };
        let lazy_ends = memchr::memchr_iter(self.delim, lazy).map(move |i| lazy_from + i + 1);
        let mut from = self.start;
        indexed.iter().copied().chain(lazy_ends).map(move |end| {
            let item = &self.data[from..end];
            from = end;
            item
        })
    }

    /// Bytes after the last item: the partial item the framer has not closed.
    pub(crate) fn tail(&self) -> &[u8] {
        &self.data[self.end..self.filled]
    }

    /// Appends at most `max` bytes read from `input`; returns how many (0 at end of input).
    pub(crate) fn fill_from(&mut self, input: &mut impl Read, max: usize) -> io::Result<usize> {
        let to = self.filled + max;
        grow(&mut self.data, to);
        let n = input.read(&mut self.data[self.filled..to])?;
        self.filled += n;
        Ok(n)
    }

    /// Takes the live items out as a batch of their own, leaving `self` holding only the
    /// partial tail, with room for `spare` more bytes. `None` when there are no whole items.
    ///
    /// The bulk of the data is moved, not copied: `self` continues in a buffer from `buffer`
    /// (given the size it needs). But when the items fill only a little of a large buffer (a
    /// short read), they are copied out instead and `self` keeps its buffer: memory is bounded
    /// by the bytes queued, not by the buffers that once held them.
    pub(crate) fn take_items(
        &mut self,
        spare: usize,
        buffer: impl FnOnce(usize) -> Vec<u8>,
    ) -> Option<Batch> {
        if self.is_empty() {
            return None;
        }
        let tail = self.filled - self.end;
        if self.data.len() > self.end + self.end / 8 + 4096 {
            let mut items = Batch::default();
            items.append(&self.data[self.start..self.end]);
            let base = self.start;
            items
                .ends
                .extend(self.ends[self.first..].iter().map(|e| e - base));
            items.end = self.end - base;
            items.unindexed = self.unindexed;
            items.delim = self.delim;
            self.data.copy_within(self.end..self.filled, 0);
            *self = Batch {
                filled: tail,
                ..Batch::with_buffer(std::mem::take(&mut self.data))
            };
            return Some(items);
        }
        let mut rest = Batch::with_buffer(buffer(tail + spare));
        rest.append(self.tail());
        let mut items = std::mem::replace(self, rest);
        items.filled = items.end;
        Some(items)
    }

    /// Number of leading items that fit in `room_items` items and `room_bytes` bytes.
    pub fn fitting_prefix(&mut self, room_items: usize, room_bytes: usize) -> usize {
        if self.items() <= room_items && self.bytes() <= room_bytes {
            return self.items();
        }
        self.index();
        let n = self.items().min(room_items);
        let start = self.start;
        self.ends[self.first..self.first + n].partition_point(|&end| end - start <= room_bytes)
    }

    /// Items wholly contained in the first `bytes` bytes of the live items.
    pub fn written_prefix(&mut self, bytes: usize) -> Tally {
        if bytes >= self.bytes() {
            return self.tally();
        }
        self.index();
        let start = self.start;
        let n = self.ends[self.first..].partition_point(|&end| end - start <= bytes);
        let end = if n == 0 {
            start
        } else {
            self.ends[self.first + n - 1]
        };
        Tally::new(n, end - start)
    }

    /// Removes the oldest item; returns its size.
    pub fn pop_front(&mut self) -> Option<Tally> {
        self.index();
        let end = *self.ends.get(self.first)?;
        let len = end - self.start;
        self.first += 1;
        self.start = end;
        self.pos += Tally::one(len);
        self.spared = false;
        Some(Tally::one(len))
    }

    /// Whether the buffer is far larger than the items left in it (the rest was shed): such
    /// a batch would hold memory the books do not count.
    pub fn is_sparse(&self) -> bool {
        self.data.capacity() > 2 * self.bytes() + 64 * 1024
    }

    /// The same items in a buffer of their own size.
    pub fn compacted(mut self) -> Batch {
        let n = self.items();
        self.split_front(n)
    }

    /// Removes the newest item; returns its size.
    pub fn pop_back(&mut self) -> Option<Tally> {
        self.index();
        if self.ends.len() <= self.first {
            return None;
        }
        let end = self.ends.pop().expect("an item");
        let start = match self.ends.len() {
            n if n > self.first => self.ends[n - 1],
            _ => self.start,
        };
        self.end = start;
        if self.filled == end {
            self.filled = start;
        }
        Some(Tally::one(end - start))
    }

    /// Removes what the first `bytes` bytes of the live items hold: the items wholly in them
    /// (returned as a tally), and the item cut by them, whose unwritten rest is appended to
    /// `rest` (its size is returned with it). What stays is the items not yet begun.
    pub fn remove_written(&mut self, bytes: usize, rest: &mut Vec<u8>) -> (Tally, Option<Tally>) {
        let whole = self.written_prefix(bytes);
        for _ in 0..whole.items {
            self.pop_front();
        }
        let into = bytes - whole.bytes as usize;
        if into == 0 {
            return (whole, None);
        }
        let start = self.start;
        let cut = self.pop_front().expect("a cut item");
        rest.extend_from_slice(&self.data[start + into..start + cut.bytes as usize]);
        (whole, Some(cut))
    }

    /// Removes the first `n` items and returns them as a batch of their own (a copy: callers
    /// split only at the queue's edge, where the copy is small against the wait it replaces).
    pub fn split_front(&mut self, n: usize) -> Batch {
        assert!(n <= self.items());
        let mut front = Batch {
            arrived: self.arrived,
            pos: self.pos,
            kept: self.kept,
            ..Batch::default()
        };
        if n == 0 {
            return front;
        }
        front.gap = std::mem::take(&mut self.gap);
        front.spared = std::mem::take(&mut self.spared);
        self.index();
        let end = self.ends[self.first + n - 1];
        front.append(&self.data[self.start..end]);
        let base = self.start;
        front.ends.extend(
            self.ends[self.first..self.first + n]
                .iter()
                .map(|e| e - base),
        );
        front.end = end - base;
        self.first += n;
        self.start = end;
        self.pos += front.tally();
        front
    }
}

/// Makes `data` at least `len` long, allocating exactly that (not double, as `Vec` would):
/// memory is bounded by the bytes held, not by the sizes buffers once grew to.
fn grow(data: &mut Vec<u8>, len: usize) {
    if data.len() < len {
        data.reserve_exact(len - data.len());
        data.resize(len, 0);
    }
}

#[cfg(test)]
mod tests;
