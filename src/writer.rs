//! The writer: queue → stdout, several batches per `writev` under load, at once when idle.

use std::io::{self, ErrorKind, IoSlice, Write};

use crate::batch::Batch;
use crate::queue::Queue;
use crate::tally::Tally;

/// How many bytes of queued batches one write may gather.
const GATHER_BYTES: usize = 256 * 1024;
/// How many batches one write may gather (well under `IOV_MAX`).
const GATHER_BATCHES: usize = 64;

/// Writes everything the queue yields until the input is finished and drained. On a write
/// error the queue is closed (what was not written is counted undelivered) and the error is
/// returned; a broken pipe is returned like any other error for the caller to judge.
pub fn run(output: &mut impl Write, queue: &Queue) -> io::Result<()> {
    let mut batches: Vec<Batch> = Vec::with_capacity(GATHER_BATCHES);
    let mut written = Tally::ZERO;
    while queue.pop(written, &mut batches, GATHER_BYTES) {
        let total: Tally = batches.iter().fold(Tally::ZERO, |t, b| t + b.tally());
        if let Err((error, bytes)) = write_batches(output, &batches) {
            let (done, lost) = split_written(&mut batches, bytes);
            queue.close_output(done, lost);
            return Err(error);
        }
        written = total;
    }
    Ok(())
}

/// Writes all the batches' items in order; on error returns it with how many bytes went out.
fn write_batches(output: &mut impl Write, batches: &[Batch]) -> Result<(), (io::Error, usize)> {
    let mut slices: Vec<IoSlice<'_>> = batches.iter().map(|b| IoSlice::new(b.as_bytes())).collect();
    let mut slices = &mut slices[..];
    let mut done = 0;
    while !slices.is_empty() {
        match output.write_vectored(slices) {
            Ok(0) => return Err((ErrorKind::WriteZero.into(), done)),
            Ok(n) => {
                done += n;
                IoSlice::advance_slices(&mut slices, n);
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err((e, done)),
        }
    }
    output.flush().map_err(|e| (e, done))
}

/// Splits the batches' items into those wholly written in the first `bytes` bytes and the
/// rest (a partly written item counts as not delivered).
fn split_written(batches: &mut [Batch], mut bytes: usize) -> (Tally, Tally) {
    let (mut done, mut lost) = (Tally::ZERO, Tally::ZERO);
    for batch in batches {
        let whole = batch.written_prefix(bytes);
        bytes = bytes.saturating_sub(batch.bytes());
        done += whole;
        let mut rest = batch.tally();
        rest -= whole;
        lost += rest;
    }
    (done, lost)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_written_counts_partial_items_as_lost() {
        let mut batches = vec![
            Batch::from_items([&b"aa"[..], b"bb"]),
            Batch::from_items([&b"cc"[..], b"dd"]),
        ];
        assert_eq!(
            split_written(&mut batches, 5),
            (Tally::new(2, 4), Tally::new(2, 4))
        );
        assert_eq!(
            split_written(&mut batches, 6),
            (Tally::new(3, 6), Tally::new(1, 2))
        );
        assert_eq!(
            split_written(&mut batches, 0),
            (Tally::ZERO, Tally::new(4, 8))
        );
    }

    /// Accepts `limit` bytes, one at a time, then fails like a closed pipe.
    struct Trickle {
        got: Vec<u8>,
        limit: usize,
    }

    impl Write for Trickle {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.got.len() >= self.limit {
                return Err(ErrorKind::BrokenPipe.into());
            }
            self.got.push(buf[0]);
            Ok(1)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn short_writes_are_resumed_and_errors_account_for_every_item() {
        use crate::policy::Policy;
        use crate::queue::{Bounds, Queue};
        let q = Queue::new(Bounds {
            items: 10,
            bytes: 100,
        });
        q.push(Batch::from_items([&b"ab\n"[..], b"cd\n"]), Policy::BLOCK)
            .unwrap();
        q.push(Batch::from_items([&b"ef\n"[..]]), Policy::BLOCK)
            .unwrap();
        q.finish_input();
        let mut out = Trickle {
            got: Vec::new(),
            limit: 4,
        };
        let err = run(&mut out, &q).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BrokenPipe);
        assert_eq!(out.got, b"ab\nc");
        let stats = q.stats();
        assert_eq!(stats.output, Tally::new(1, 3));
        assert_eq!(stats.undelivered, Tally::new(2, 6));
        assert!(stats.balanced());
    }
}
