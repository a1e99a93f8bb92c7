//! `bpipectl tap`: copies of the items going out, for an operator to look at. Lossy by
//! design: the writer offers each tap what it wrote, sampled, without waiting; a tap whose
//! channel is full (its reader slower than the pipe) is dropped from, and counted. Nothing is
//! spent while there is no tap but one atomic load a write.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crossbeam_channel::{Receiver, Sender, TrySendError, bounded};

use crate::batch::Batch;
use crate::values::rate::{Rate, Unit};

/// What a tap copies: `percent` % of the items, at most `rate` of them (an item rate), and
/// at most `count` in all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TapSpec {
    pub percent: u32,
    pub count: Option<u64>,
    pub rate: Option<Rate>,
}

impl TapSpec {
    /// Checks a tap's rate: it counts items.
    pub fn check(&self) -> Result<(), String> {
        match self.rate {
            Some(rate) if rate.unit != Unit::Items => {
                Err(format!("a tap's rate counts items, e.g. 100/s; got {rate}"))
            }
            _ => Ok(()),
        }
    }
}

/// Copies (a batch, 64 KiB or so, or a gathered sample) a tap may have waiting before it is
/// dropped from: about 1 MiB a tap, and a bpipe serves at most eight connections.
const TAP_DEPTH: usize = 16;

/// What a tap copied, and what it missed for being slow.
#[derive(Debug, Default)]
pub struct TapCounts {
    pub copied: AtomicU64,
    pub dropped: AtomicU64,
}

#[derive(Debug)]
struct Tap {
    out: Sender<Vec<u8>>,
    /// One item in `every` of each hundred is copied (1..=100)…
    percent: u32,
    acc: u32,
    /// …until this many were (none: no end).
    left: Option<u64>,
    /// `--rate`: items copied in the current period, and when it began.
    rate: Option<(Rate, u64, Option<std::time::Instant>)>,
    counts: Arc<TapCounts>,
    /// A sample gathered and not yet sent, its items, and since when.
    pending: Vec<u8>,
    pending_items: u64,
    pending_since: Option<std::time::Instant>,
}

/// How much of a sample gathers before it is sent (unless the writer goes idle first, or it
/// has waited [`GATHER_WAIT`]).
const GATHER: usize = 32 * 1024;
const GATHER_WAIT: std::time::Duration = std::time::Duration::from_millis(200);

/// The taps of a queue.
#[derive(Debug, Default)]
pub struct Taps {
    any: AtomicBool,
    taps: Mutex<Vec<Tap>>,
}

impl Taps {
    /// A new tap of `percent` of the items, at most `count` of them: where its copies come,
    /// and its counts. Its end is the channel's (after `count` items, or when the receiver
    /// is dropped).
    pub fn add(&self, spec: TapSpec) -> (Receiver<Vec<u8>>, Arc<TapCounts>) {
        let (out, copies) = bounded(TAP_DEPTH);
        let counts = Arc::new(TapCounts::default());
        let tap = Tap {
            out,
            percent: spec.percent.clamp(1, 100),
            acc: 0,
            left: spec.count,
            rate: spec.rate.map(|rate| (rate, 0, None)),
            counts: Arc::clone(&counts),
            pending: Vec::new(),
            pending_items: 0,
            pending_since: None,
        };
        let mut taps = self.taps.lock().unwrap_or_else(|e| e.into_inner());
        taps.push(tap);
        self.any.store(true, Ordering::Release);
        (copies, counts)
    }

    /// Whether any tap is open (the writer's one look when there is none).
    pub fn any(&self) -> bool {
        self.any.load(Ordering::Acquire)
    }

    /// The writer has nothing more to write for now: what each tap gathered goes to it (an
    /// idle pipe does not sit on a tap's copies).
    pub fn flush(&self) {
        let mut taps = self.taps.lock().unwrap_or_else(|e| e.into_inner());
        taps.retain_mut(Tap::flush);
        self.any.store(!taps.is_empty(), Ordering::Release);
    }

    /// The writer is done: what each tap gathered goes to it, and its channel ends, so that
    /// its client gets the end of the stream.
    pub fn close(&self) {
        self.flush();
        self.taps.lock().unwrap_or_else(|e| e.into_inner()).clear();
        self.any.store(false, Ordering::Release);
    }

    /// The writer wrote `batches`: each tap gets its sample, if it has room.
    pub fn offer(&self, batches: &[Batch]) {
        let mut taps = self.taps.lock().unwrap_or_else(|e| e.into_inner());
        taps.retain_mut(|tap| tap.offer(batches));
        self.any.store(!taps.is_empty(), Ordering::Release);
    }
}

impl Tap {
    /// Offers `batches`; false once the tap is over (its count reached, or its reader gone).
    fn offer(&mut self, batches: &[Batch]) -> bool {
        for batch in batches {
            let n = batch.items() as u64;
            // All of a batch: one copy of it as it is (under the allocator's mmap
            // threshold, so that copies are recycled, not mapped and faulted in anew).
            if self.percent == 100 && self.rate.is_none() && self.left.is_none_or(|l| l >= n) {
                self.left = self.left.map(|l| l - n);
                if !self.flush() || !self.send(batch.as_bytes().to_vec(), n) {
                    return false;
                }
                continue;
            }
            for item in batch.iter() {
                if self.left == Some(0) {
                    break;
                }
                self.acc += self.percent;
                if self.acc >= 100 && self.within_rate() {
                    self.acc -= 100;
                    self.pending.extend_from_slice(item);
                    self.pending_items += 1;
                    self.pending_since
                        .get_or_insert_with(std::time::Instant::now);
                    self.left = self.left.map(|l| l - 1);
                }
            }
            // A sample gathers to a good size before it is sent: a send per write would wake
            // the tap's thread as often as the writer writes.
            let old = self
                .pending_since
                .is_some_and(|t| t.elapsed() >= GATHER_WAIT);
            if (self.pending.len() >= GATHER || old || self.left == Some(0)) && !self.flush() {
                return false;
            }
        }
        self.left != Some(0)
    }

    /// Whether one more item is within the tap's rate (counted if so): at most `amount` in
    /// each period of the rate, the period starting at the first item copied in it.
    fn within_rate(&mut self) -> bool {
        let Some((rate, used, since)) = &mut self.rate else {
            return true;
        };
        let now = std::time::Instant::now();
        if since.is_none_or(|t| now.duration_since(t) >= rate.per) {
            (*used, *since) = (0, Some(now));
        }
        *used += 1;
        *used <= rate.amount
    }

    /// Sends what was gathered; false once the tap's reader is gone.
    fn flush(&mut self) -> bool {
        self.pending_since = None;
        let items = std::mem::take(&mut self.pending_items);
        let copy = std::mem::replace(&mut self.pending, Vec::with_capacity(GATHER));
        self.send(copy, items)
    }

    /// Sends `copy` of `items` items, or counts them dropped if the tap has no room; false
    /// once its reader is gone.
    fn send(&self, copy: Vec<u8>, items: u64) -> bool {
        if items == 0 {
            return true;
        }
        match self.out.try_send(copy) {
            Ok(()) => self.counts.copied.fetch_add(items, Ordering::Relaxed),
            Err(TrySendError::Full(_)) => self.counts.dropped.fetch_add(items, Ordering::Relaxed),
            Err(TrySendError::Disconnected(_)) => return false,
        };
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(range: std::ops::Range<u32>) -> Batch {
        let items: Vec<Vec<u8>> = range.map(|i| format!("{i}\n").into_bytes()).collect();
        Batch::from_items(items.iter().map(Vec::as_slice))
    }

    #[test]
    fn a_tap_gets_its_share_up_to_its_count_then_ends() {
        let taps = Taps::default();
        let (copies, counts) = taps.add(TapSpec {
            percent: 10,
            count: Some(3),
            rate: None,
        });
        assert!(taps.any());
        taps.offer(&[lines(0..20)]);
        taps.offer(&[lines(20..40)]);
        assert!(!taps.any(), "over once its count was copied");
        let got: Vec<u8> = copies.iter().flatten().collect();
        assert_eq!(got, b"9\n19\n29\n");
        assert_eq!(counts.copied.load(Ordering::Relaxed), 3);
    }

    #[test]
    fn a_tap_with_a_rate_copies_at_most_that_many_a_period() {
        let taps = Taps::default();
        let rate = Some(Rate::parse("5/h").unwrap());
        let (copies, counts) = taps.add(TapSpec {
            percent: 100,
            count: None,
            rate,
        });
        taps.offer(&[lines(0..20)]);
        taps.offer(&[lines(20..40)]);
        taps.flush();
        let got: Vec<u8> = copies.try_iter().flatten().collect();
        assert_eq!(got, b"0\n1\n2\n3\n4\n");
        assert_eq!(counts.copied.load(Ordering::Relaxed), 5);
        let bytes = taps.add(TapSpec {
            percent: 100,
            count: None,
            rate: Some(Rate::parse("1KiB/s").unwrap()),
        });
        drop(bytes);
        assert!(
            TapSpec {
                percent: 1,
                count: None,
                rate: Some(Rate::parse("1KiB/s").unwrap())
            }
            .check()
            .is_err()
        );
    }

    #[test]
    fn a_tap_that_does_not_read_is_dropped_from_and_counted_and_a_gone_one_ends() {
        let taps = Taps::default();
        let (copies, counts) = taps.add(TapSpec {
            percent: 100,
            count: None,
            rate: None,
        });
        for _ in 0..TAP_DEPTH + 5 {
            taps.offer(&[lines(0..10)]);
        }
        assert_eq!(counts.copied.load(Ordering::Relaxed), 10 * TAP_DEPTH as u64);
        assert_eq!(counts.dropped.load(Ordering::Relaxed), 50);
        drop(copies);
        taps.offer(&[lines(0..1)]);
        assert!(!taps.any());
    }
}
