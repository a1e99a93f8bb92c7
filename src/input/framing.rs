//! Framing: cutting the byte stream into items (lines, NUL-terminated records or chunks).
//!
//! The framer works in place on the reader's [`Batch`]: it marks where items end and leaves
//! the unfinished item at the end of the buffer for the next read. It never holds more than
//! one item's worth of unfinished bytes (`max_item`), so one endless line cannot grow memory.

use memchr::{memchr, memchr_iter, memrchr};

use crate::batch::Batch;
use crate::books::tally::Tally;

/// How the stream is cut into items.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// Items end with `delim` (included in the item); the last may lack it.
    Delimited {
        delim: u8,
        max_item: usize,
        overlong: Overlong,
    },
    /// No framing: each read is cut into items of at most `size` bytes.
    Chunks { size: usize },
}

/// What happens to an item longer than `max_item`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overlong {
    /// Cut it into items of `max_item` bytes (the last piece holds the delimiter). Lossless.
    Split,
    /// Drop it whole, counted, so that the output holds only whole items.
    Drop,
}

impl Framing {
    /// The most bytes one item can hold.
    pub fn max_item(&self) -> usize {
        match *self {
            Framing::Delimited { max_item, .. } => max_item,
            Framing::Chunks { size } => size,
        }
    }
}

/// Cuts a stream into items across any read boundaries.
#[derive(Debug)]
pub struct Framer {
    framing: Framing,
    /// Leading bytes of the unfinished item already searched (no delimiter there).
    scanned: usize,
    /// Dropping an over-long item: its bytes are counted dropped as they are read (so that
    /// an endless line shows in the books while it goes on), the item once it ends.
    discarding: bool,
}

impl Framer {
    pub fn new(framing: Framing) -> Framer {
        Framer {
            framing,
            scanned: 0,
            discarding: false,
        }
    }

    /// Marks the items completed by bytes appended to `batch` since the last call. Returns
    /// the over-long items dropped meanwhile (only with [`Overlong::Drop`]).
    pub fn frame(&mut self, batch: &mut Batch) -> Tally {
        match self.framing {
            Framing::Chunks { size } => {
                let mut start = batch.end;
                let len = batch.filled;
                while start < len {
                    start = len.min(start + size);
                    batch.push_end(start);
                }
                Tally::ZERO
            }
            Framing::Delimited {
                delim,
                max_item,
                overlong,
            } => self.frame_delimited(batch, delim, max_item, overlong),
        }
    }

    fn frame_delimited(
        &mut self,
        batch: &mut Batch,
        delim: u8,
        max: usize,
        overlong: Overlong,
    ) -> Tally {
        let mut dropped = Tally::ZERO;
        let mut start = batch.end;
        let mut pos = start + self.scanned;
        if !self.discarding && batch.filled - start < max {
            // Fast path: nothing here can be over-long, so count the items instead of
            // recording each one's end (the batch finds them if a policy ever needs them).
            if let Some(last) = memrchr(delim, &batch.data[pos..batch.filled]) {
                let end = pos + last + 1;
                let count = memchr_iter(delim, &batch.data[pos..end]).count();
                batch.push_unindexed(count, delim, end);
                start = end;
            }
            self.scanned = batch.filled - start;
            return dropped;
        }
        while let Some(i) = memchr(delim, &batch.data[pos..batch.filled]) {
            let end = pos + i + 1;
            let len = end - start;
            // The end of an item being dropped (its bytes before these are counted), or an
            // over-long item whole in this read.
            let ending = std::mem::take(&mut self.discarding);
            if ending || (len > max && overlong == Overlong::Drop) {
                dropped += Tally::one(len);
                batch.remove(start..end);
                pos = start;
            } else {
                while end - start > max {
                    start += max;
                    batch.push_end(start);
                }
                batch.push_end(end);
                start = end;
                pos = end;
            }
        }
        // What is left has no delimiter: keep it for the next read, within the bound.
        let tail = batch.filled - start;
        if self.discarding || (overlong == Overlong::Drop && tail > max) {
            self.discarding = true;
            dropped += Tally::new(0, tail);
            batch.truncate(start);
        } else if overlong == Overlong::Split {
            // Cut as soon as a piece is full: a delimiter after it would make the item too
            // long anyway, so the cut is the same whatever the read boundaries.
            while batch.filled - start >= max {
                start += max;
                batch.push_end(start);
            }
        }
        self.scanned = batch.filled - start;
        dropped
    }

    /// An over-long item cut short (bpipe stops reading in the middle of it): its bytes are
    /// counted already; the item, once, here.
    pub fn abandon(&mut self) -> Tally {
        match std::mem::take(&mut self.discarding) {
            true => Tally::one(0),
            false => Tally::ZERO,
        }
    }

    /// At end of input: the unfinished item, if any, becomes the last item. Returns an
    /// over-long item dropped at the end.
    pub fn finish(&mut self, batch: &mut Batch) -> Tally {
        self.scanned = 0;
        let start = batch.end;
        let tail = batch.filled - start;
        if std::mem::take(&mut self.discarding) {
            batch.truncate(start);
            return Tally::one(tail);
        }
        if tail > 0 {
            batch.push_end(batch.filled);
        }
        Tally::ZERO
    }
}

/// Frames a whole input arriving in `reads`, as the reader would: returns the items and the
/// over-long items dropped. For tests and fuzzing.
pub fn frame_reads(framing: Framing, reads: &[&[u8]]) -> (Vec<Vec<u8>>, Tally) {
    let mut framer = Framer::new(framing);
    let mut batch = Batch::default();
    let mut items = Vec::new();
    let mut dropped = Tally::ZERO;
    let collect = |batch: &mut Batch, items: &mut Vec<Vec<u8>>| {
        if let Some(done) = batch.take_items(0, Vec::with_capacity) {
            items.extend(done.iter().map(<[u8]>::to_vec));
        }
    };
    for read in reads {
        batch.append(read);
        dropped += framer.frame(&mut batch);
        collect(&mut batch, &mut items);
    }
    dropped += framer.finish(&mut batch);
    collect(&mut batch, &mut items);
    (items, dropped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn lines(max_item: usize, overlong: Overlong) -> Framing {
        Framing::Delimited {
            delim: b'\n',
            max_item,
            overlong,
        }
    }

    fn owned(items: &[&[u8]]) -> Vec<Vec<u8>> {
        items.iter().map(|i| i.to_vec()).collect()
    }

    #[test]
    fn lines_split_across_reads() {
        let (items, _) = frame_reads(lines(100, Overlong::Split), &[b"ab", b"c\nd", b"e\n"]);
        assert_eq!(items, owned(&[b"abc\n", b"de\n"]));
    }

    #[test]
    fn last_line_without_newline_is_delivered_at_eof() {
        let (items, _) = frame_reads(lines(100, Overlong::Split), &[b"a\nlast"]);
        assert_eq!(items, owned(&[b"a\n", b"last"]));
    }

    #[test]
    fn empty_lines_are_items() {
        let (items, _) = frame_reads(lines(100, Overlong::Split), &[b"\n\n", b"\nx\n"]);
        assert_eq!(items, owned(&[b"\n", b"\n", b"\n", b"x\n"]));
    }

    #[test]
    fn nul_records_keep_newlines_and_crlf() {
        let framing = Framing::Delimited {
            delim: 0,
            max_item: 100,
            overlong: Overlong::Split,
        };
        let (items, _) = frame_reads(framing, &[b"a\r\nb\0c", b"\0"]);
        assert_eq!(items, owned(&[b"a\r\nb\0", b"c\0"]));
    }

    #[test]
    fn overlong_line_is_cut_into_pieces_when_splitting() {
        let (items, dropped) = frame_reads(lines(4, Overlong::Split), &[b"abcdefghij\nxy", b"z\n"]);
        assert_eq!(items, owned(&[b"abcd", b"efgh", b"ij\n", b"xyz\n"]));
        assert_eq!(dropped, Tally::ZERO);
    }

    #[test]
    fn overlong_piece_is_cut_before_its_delimiter_arrives() {
        // Memory stays bounded: a full piece never waits for the rest of its line.
        let mut framer = Framer::new(lines(4, Overlong::Split));
        let mut batch = Batch::default();
        batch.append(b"abcdefgh");
        framer.frame(&mut batch);
        assert_eq!(batch.items(), 2);
        assert!(batch.tail().is_empty());
    }

    #[test]
    fn overlong_line_is_dropped_whole_when_dropping() {
        let (items, dropped) = frame_reads(
            lines(5, Overlong::Drop),
            &[b"ok\nabcd", b"efgh", b"ij\nfine\nabcde\nx"],
        );
        assert_eq!(items, owned(&[b"ok\n", b"fine\n", b"x"]));
        assert_eq!(dropped, Tally::new(2, 11 + 6));
    }

    #[test]
    fn overlong_last_line_without_newline_is_dropped_at_eof() {
        let (items, dropped) = frame_reads(lines(4, Overlong::Drop), &[b"a\n", b"abcdefg"]);
        assert_eq!(items, owned(&[b"a\n"]));
        assert_eq!(dropped, Tally::new(1, 7));
    }

    #[test]
    fn dropping_holds_no_more_than_one_item_and_counts_its_bytes_as_they_come() {
        let mut framer = Framer::new(lines(4, Overlong::Drop));
        let mut batch = Batch::default();
        for _ in 0..10 {
            batch.append(b"xxxxxxxx");
            // Bytes of an endless line show in the books as it goes on; the item, at its end.
            assert_eq!(framer.frame(&mut batch), Tally::new(0, 8));
            assert!(batch.filled <= 8);
        }
        batch.append(b"\n");
        assert_eq!(framer.frame(&mut batch), Tally::new(1, 1));
        // One cut short by a stop is counted once, when bpipe stops reading.
        batch.append(b"yyyyyyyy");
        assert_eq!(framer.frame(&mut batch), Tally::new(0, 8));
        assert_eq!(framer.abandon(), Tally::one(0));
        assert_eq!(framer.abandon(), Tally::ZERO);
    }

    #[test]
    fn chunks_are_at_most_size_and_never_wait() {
        let (items, _) = frame_reads(Framing::Chunks { size: 4 }, &[b"abcdefghij", b"k"]);
        assert_eq!(items, owned(&[b"abcd", b"efgh", b"ij", b"k"]));
    }

    /// The items an input must frame to, computed the obvious way.
    fn model(input: &[u8], max: usize, overlong: Overlong) -> (Vec<Vec<u8>>, Tally) {
        let mut items = Vec::new();
        let mut dropped = Tally::ZERO;
        for line in input.split_inclusive(|&b| b == b'\n') {
            match overlong {
                _ if line.len() <= max => items.push(line.to_vec()),
                Overlong::Split => items.extend(line.chunks(max).map(<[u8]>::to_vec)),
                Overlong::Drop => dropped += Tally::one(line.len()),
            }
        }
        (items, dropped)
    }

    /// Cuts `input` at the given offsets (taken modulo its length).
    fn cut<'a>(input: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
        let mut at: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
        at.push(0);
        at.push(input.len());
        at.sort_unstable();
        at.windows(2).map(|w| &input[w[0]..w[1]]).collect()
    }

    proptest! {
        #[test]
        fn any_read_boundaries_frame_to_the_same_items(
            input in proptest::collection::vec(prop_oneof![Just(b'\n'), Just(b'a'), any::<u8>()], 0..300),
            cuts in proptest::collection::vec(any::<usize>(), 0..20),
            max in 1usize..40,
            drop in any::<bool>(),
        ) {
            let overlong = if drop { Overlong::Drop } else { Overlong::Split };
            let got = frame_reads(lines(max, overlong), &cut(&input, &cuts));
            prop_assert_eq!(got, model(&input, max, overlong));
        }

        #[test]
        fn chunks_concatenate_to_the_input(
            input in proptest::collection::vec(any::<u8>(), 0..300),
            cuts in proptest::collection::vec(any::<usize>(), 0..20),
            size in 1usize..40,
        ) {
            let (items, _) = frame_reads(Framing::Chunks { size }, &cut(&input, &cuts));
            prop_assert!(items.iter().all(|i| !i.is_empty() && i.len() <= size));
            prop_assert_eq!(items.concat(), input);
        }
    }
}
