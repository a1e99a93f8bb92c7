//! The writer: queue → stdout, several batches per `writev` under load, at once when idle.

use std::io::{self, ErrorKind, IoSlice, Write};

use crate::books::tally::Tally;
use crate::input::batch::Batch;
use crate::output::clock::Clock;
use crate::output::rate::Unit;
use crate::output::throttle::Throttle;
use crate::queue::{Queue, Ready, Take};

/// How many bytes of queued batches one write may gather.
const GATHER_BYTES: usize = 256 * 1024;
/// How many batches one write may gather (well under `IOV_MAX`).
const GATHER_BATCHES: usize = 64;
/// What one unthrottled write takes from the queue.
const GATHER: Take = Take {
    items: usize::MAX,
    bytes: GATHER_BYTES,
    batches: GATHER_BATCHES,
    split: false,
};

/// Writes everything the queue yields until the input is finished and drained, paced by
/// `throttle` if given. On a write error the queue is closed (what was not written is counted
/// undelivered) and the error is returned; a broken pipe is returned like any other error for
/// the caller to judge.
pub fn run<C: Clock>(
    output: &mut impl Write,
    queue: &Queue,
    mut throttle: Option<&mut Throttle<C>>,
) -> io::Result<()> {
    let mut batches: Vec<Batch> = Vec::with_capacity(GATHER_BATCHES);
    let mut written = Tally::ZERO;
    loop {
        let taken = match throttle.as_deref_mut() {
            None => {
                if !queue.pop(written, &mut batches, GATHER) {
                    return Ok(());
                }
                batches.iter().fold(Tally::ZERO, |t, b| t + b.tally())
            }
            Some(throttle) => {
                let Some(ready) = queue.wait_ready(written, &mut batches) else {
                    return Ok(());
                };
                take_paced(queue, throttle, ready, &mut batches)
            }
        };
        let result = match throttle.as_deref_mut() {
            Some(throttle) if throttle.unit() == Unit::Bytes => {
                write_batches(output, &batches, throttle)
            }
            _ => write_batches(output, &batches, &mut Unpaced),
        };
        if let Err((error, bytes)) = result {
            let (done, lost) = split_written(&mut batches, bytes);
            queue.close_output(done, lost);
            return Err(error);
        }
        written = taken;
    }
}

/// Waits for the rate to allow some of what is queued, then takes that much: exactly the
/// items allowed, or whole items within the bytes allowed (at least one, however large; it is
/// then paced as it is written). Items wait in the queue, not in the writer's hands, so that
/// a policy can still shed them.
fn take_paced<C: Clock>(
    queue: &Queue,
    throttle: &mut Throttle<C>,
    ready: Ready,
    into: &mut Vec<Batch>,
) -> Tally {
    let unit = throttle.unit();
    let want = match unit {
        Unit::Items => ready.depth.items,
        Unit::Bytes => ready.depth.bytes,
    };
    let allowed = usize::try_from(throttle.wait(want, ready.after_idle)).unwrap_or(usize::MAX);
    let limit = match unit {
        Unit::Items => Take {
            items: allowed,
            ..GATHER
        },
        Unit::Bytes => Take {
            bytes: allowed,
            ..GATHER
        },
    };
    let taken = queue.take(
        Take {
            split: true,
            ..limit
        },
        into,
    );
    if unit == Unit::Items {
        throttle.spend(taken.items);
    }
    taken
}

/// Decides how much one write may send, and hears how much it did.
trait Pace {
    /// How many of `remaining` bytes may be written now (at least one; may wait first).
    fn allow(&mut self, remaining: usize) -> usize;
    fn wrote(&mut self, bytes: usize);
}

/// No rate limit (or one counted in items, settled when they are taken).
struct Unpaced;

impl Pace for Unpaced {
    fn allow(&mut self, remaining: usize) -> usize {
        remaining
    }
    fn wrote(&mut self, _: usize) {}
}

/// A byte rate: a large item is written in pieces as the bucket allows.
impl<C: Clock> Pace for Throttle<C> {
    fn allow(&mut self, remaining: usize) -> usize {
        let allowed = self.wait(remaining as u64, false);
        usize::try_from(allowed).unwrap_or(usize::MAX)
    }
    fn wrote(&mut self, bytes: usize) {
        self.spend(bytes as u64);
    }
}

/// Writes all the batches' items in order, as `pace` allows; on error returns it with how
/// many bytes went out.
fn write_batches(
    output: &mut impl Write,
    batches: &[Batch],
    pace: &mut impl Pace,
) -> Result<(), (io::Error, usize)> {
    let mut parts: Vec<&[u8]> = batches.iter().map(Batch::as_bytes).collect();
    let total: usize = parts.iter().map(|p| p.len()).sum();
    let mut slices: Vec<IoSlice<'_>> = Vec::with_capacity(parts.len());
    let (mut done, mut first) = (0, 0);
    while done < total {
        let mut room = pace.allow(total - done);
        slices.clear();
        for part in &parts[first..] {
            if room == 0 {
                break;
            }
            let len = part.len().min(room);
            slices.push(IoSlice::new(&part[..len]));
            room -= len;
        }
        match output.write_vectored(&slices) {
            Ok(0) => return Err((ErrorKind::WriteZero.into(), done)),
            Ok(mut n) => {
                pace.wrote(n);
                done += n;
                while n > 0 {
                    let part = parts[first];
                    if n >= part.len() {
                        n -= part.len();
                        first += 1;
                    } else {
                        parts[first] = &part[n..];
                        n = 0;
                    }
                }
                while first < parts.len() && parts[first].is_empty() {
                    first += 1;
                }
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
        use crate::output::clock::SystemClock;
        use crate::queue::policy::Policy;
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
        let err = run(&mut out, &q, None::<&mut Throttle<SystemClock>>).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BrokenPipe);
        assert_eq!(out.got, b"ab\nc");
        let stats = q.stats();
        assert_eq!(stats.output, Tally::new(1, 3));
        assert_eq!(stats.undelivered, Tally::new(2, 6));
        assert!(stats.balanced());
    }

    /// Records each write's size.
    struct Writes(Vec<usize>, Vec<u8>);

    impl Write for Writes {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.push(buf.len());
            self.1.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_huge_item_under_a_byte_rate_is_spread_over_time() {
        use crate::output::clock::FakeClock;
        use crate::output::rate::{Limiter, Rate};
        use crate::queue::policy::Policy;
        use crate::queue::{Bounds, Queue};

        let q = Queue::new(Bounds {
            items: 10,
            bytes: 2 << 20,
        });
        let item = vec![b'x'; 1 << 20];
        q.push(Batch::from_items([&item[..]]), Policy::BLOCK)
            .unwrap();
        q.finish_input();
        let rate = Rate::parse("100KiB/s").unwrap();
        let mut throttle = Throttle::new(Limiter::new(rate, 10 * 1024), FakeClock::new());
        let start = throttle.clock().now;
        let mut out = Writes(Vec::new(), Vec::new());
        run(&mut out, &q, Some(&mut throttle)).unwrap();
        assert_eq!(out.1, item);
        assert!(
            out.0.iter().all(|&n| n <= 10 * 1024),
            "a write exceeded the burst"
        );
        let took = (throttle.clock().now - start).as_secs_f64();
        let ideal = ((1 << 20) - 10 * 1024) as f64 / (100.0 * 1024.0);
        assert!((took - ideal).abs() < 1e-3, "{took} vs {ideal}");
        assert_eq!(q.stats().output, Tally::new(1, 1 << 20));
    }

    #[test]
    fn an_item_rate_takes_only_what_may_go() {
        use crate::output::clock::FakeClock;
        use crate::output::rate::{Limiter, Rate};
        use crate::queue::policy::{Policy, Shed};
        use crate::queue::{Bounds, Queue};

        // Items wait in the queue, not in the writer's hands: with 2/s, after the first item
        // goes, slide can still replace what is queued.
        let q = Queue::new(Bounds {
            items: 100,
            bytes: 1000,
        });
        let lines: Vec<String> = (0..10).map(|i| format!("{i}\n")).collect();
        q.push(
            Batch::from_items(lines.iter().map(|l| l.as_bytes())),
            Policy::Shed(Shed::Slide),
        )
        .unwrap();
        q.finish_input();
        let mut throttle = Throttle::new(
            Limiter::new(Rate::parse("2/s").unwrap(), 1),
            FakeClock::new(),
        );
        let start = throttle.clock().now;
        let mut out = Writes(Vec::new(), Vec::new());
        run(&mut out, &q, Some(&mut throttle)).unwrap();
        assert_eq!(out.1, lines.concat().as_bytes());
        // One item per write, 0.5 s apart.
        assert_eq!(out.0.len(), 10);
        assert_eq!((throttle.clock().now - start).as_millis(), 4500);
    }
}
