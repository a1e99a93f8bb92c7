//! The bounded queue between the reader and the writer, where the overflow policy acts.
//!
//! A `Mutex` + `Condvar` queue of [`Batch`]es rather than a channel: `slide` must take items
//! from the front that a channel would not give back, and both bounds (items and bytes) must
//! be checked against the same state the counters live in. Each side waits on its own
//! condition and is woken only when it is actually waiting, so the hot path makes no
//! futex calls.

pub mod policy;

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Instant;

use bytesize::ByteSize;

use self::policy::{Policy, Shed};
use crate::books::stats::Stats;
use crate::books::tally::Tally;
use crate::input::batch::Batch;

/// The queue's two bounds; whichever is reached first makes it full.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bounds {
    pub items: usize,
    pub bytes: usize,
}

/// Which bound was reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bound {
    Items(usize),
    Bytes(usize),
}

impl fmt::Display for Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Bound::Items(n) => write!(f, "--cap {n} items"),
            Bound::Bytes(n) => write!(f, "--cap-bytes {}", ByteSize(n as u64).display().iec()),
        }
    }
}

/// How much the writer takes from the queue at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Take {
    /// At most this many items…
    pub items: usize,
    /// …and bytes (but always at least one item)…
    pub bytes: usize,
    /// …in at most this many batches.
    pub batches: usize,
    /// Whether a batch may be split to meet the limits exactly; if not, whole batches are
    /// taken while they fit, and at least one whatever its size.
    pub split: bool,
}

impl Take {
    /// Everything, whole batches only.
    pub const ALL: Take = Take {
        items: usize::MAX,
        bytes: usize::MAX,
        batches: usize::MAX,
        split: false,
    };
}

/// What is waiting when the writer comes for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ready {
    pub depth: Tally,
    /// The queue had run dry and the writer waited: the data is fresh after an idle spell.
    pub after_idle: bool,
}

/// Why the reader must stop pushing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// The writer is gone (stdout closed): nothing more can be delivered.
    Closed,
    /// The queue was full under `fail`.
    Full(Bound),
    /// bpipe was told to stop reading (a signal).
    Stopped,
}

/// Buffers kept for reuse: enough for the reader and writer to trade buffers in a steady
/// stream without touching the allocator (fresh pages cost page faults and zeroing).
const MAX_SPARES: usize = 16;
/// Larger buffers (left by a long line) are freed rather than kept.
const MAX_SPARE_LEN: usize = 256 * 1024;
/// Smaller buffers (a short read's copy) are not worth keeping.
const MIN_SPARE_LEN: usize = 16 * 1024;

#[derive(Debug, Default)]
struct Inner {
    batches: VecDeque<Batch>,
    spares: Vec<Vec<u8>>,
    stats: Stats,
    /// Number of times the writer has taken from the queue: a wait that outlasts
    /// `--block-timeout` sheds until this moves on.
    pops: u64,
    /// Set by a block timeout: shed without waiting while `pops` still equals this.
    shedding_at: Option<u64>,
    input_done: bool,
    /// Reading was stopped (a signal): what the reader still brings is undelivered.
    input_stopped: bool,
    output_closed: bool,
    /// Given up on: the counters were settled and later writes are not counted.
    abandoned: bool,
    /// The writer has drained everything and finished.
    writer_done: bool,
    /// Stdout's reader is gone: close the output when the writer next comes for work.
    consumer_gone: bool,
    reader_waiting: bool,
    /// Room the waiting reader needs before it can queue anything.
    reader_needs: Tally,
    writer_waiting: bool,
}

/// The bounded queue. The reader calls [`Queue::push`] and [`Queue::finish_input`]; the
/// writer calls [`Queue::pop`] and, if stdout fails, [`Queue::close_output`].
#[derive(Debug)]
pub struct Queue {
    bounds: Bounds,
    inner: Mutex<Inner>,
    room: Condvar,
    ready: Condvar,
}

impl Inner {
    fn enqueue(&mut self, batch: Batch, ready: &Condvar) {
        self.stats.depth += batch.tally();
        self.stats.max_depth = self.stats.max_depth.max(self.stats.depth);
        self.batches.push_back(batch);
        if self.writer_waiting {
            ready.notify_one();
        }
    }

    /// Stdout is gone for good: what is queued will never be delivered.
    fn close_output(&mut self) {
        let queued = self.stats.depth;
        self.stats.undelivered += queued;
        self.stats.depth = Tally::ZERO;
        self.batches.clear();
        self.output_closed = true;
    }

    /// Discards the oldest queued item.
    fn drop_oldest(&mut self) -> Tally {
        let Some(front) = self.batches.front_mut() else {
            return Tally::ZERO;
        };
        let gone = front.pop_front().unwrap_or_default();
        if front.is_empty() {
            self.batches.pop_front();
        }
        self.stats.depth -= gone;
        gone
    }
}

impl Queue {
    pub fn new(bounds: Bounds) -> Queue {
        assert!(
            bounds.items > 0 && bounds.bytes > 0,
            "queue bounds must be positive"
        );
        Queue {
            bounds,
            inner: Mutex::new(Inner::default()),
            room: Condvar::new(),
            ready: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere must not turn into a second panic here: the counters stay usable.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A consistent copy of the counters.
    pub fn stats(&self) -> Stats {
        self.lock().stats
    }

    fn room_in(&self, inner: &Inner) -> (usize, usize) {
        let depth = inner.stats.depth;
        (
            self.bounds.items.saturating_sub(depth.items as usize),
            self.bounds.bytes.saturating_sub(depth.bytes as usize),
        )
    }

    /// Whether to wake a reader waiting for room: once there is room for what it holds, and
    /// (unless the queue is empty) for a quarter of the queue, so that a full queue moving
    /// one batch at a time does not cost two context switches per batch.
    fn reader_may_go(&self, inner: &Inner) -> bool {
        let (items, bytes) = self.room_in(inner);
        let needs = inner.reader_needs;
        items as u64 >= needs.items
            && bytes as u64 >= needs.bytes
            && (inner.batches.is_empty()
                || (items >= self.bounds.items / 4 && bytes >= self.bounds.bytes / 4))
    }

    fn full_bound(&self, inner: &Inner) -> Bound {
        if inner.stats.depth.items as usize >= self.bounds.items {
            Bound::Items(self.bounds.items)
        } else {
            Bound::Bytes(self.bounds.bytes)
        }
    }

    /// Queues the items of `batch`, applying `policy` to those that do not fit. Every item
    /// is counted as input and ends up queued, dropped or (on a stop) undelivered/dropped.
    /// Each item must fit in an empty queue (the framer's `max_item` sees to that).
    pub fn push(&self, mut batch: Batch, policy: Policy) -> Result<(), Stop> {
        let mut inner = self.lock();
        inner.stats.input += batch.tally();
        let timeout = match policy {
            Policy::Block { timeout, .. } => timeout,
            Policy::Shed(_) => None,
        };
        let mut deadline: Option<(Instant, u64)> = None;
        loop {
            if inner.output_closed || inner.input_stopped {
                inner.stats.undelivered += batch.tally();
                return Err(if inner.output_closed {
                    Stop::Closed
                } else {
                    Stop::Stopped
                });
            }
            // How an item that does not fit is shed now; `None` while block still waits.
            let shedding = match policy {
                Policy::Shed(shed) => Some(shed),
                Policy::Block { then, .. } if inner.shedding_at == Some(inner.pops) => Some(then),
                Policy::Block { .. } => None,
            };
            if shedding == Some(Shed::Slide) {
                self.slide_in(&mut inner, batch);
                return Ok(());
            }
            let (room_items, room_bytes) = self.room_in(&inner);
            // A batch that will wait for room anyway waits to go whole, if it can: splitting
            // it would cost finding each item's end and a copy, and gain the producer nothing.
            let fits_empty =
                batch.items() <= self.bounds.items && batch.bytes() <= self.bounds.bytes;
            let fit = if shedding.is_none() && fits_empty && !batch.is_empty() {
                let whole = batch.items() <= room_items && batch.bytes() <= room_bytes;
                if whole { batch.items() } else { 0 }
            } else {
                batch.fitting_prefix(room_items, room_bytes)
            };
            if fit == batch.items() {
                if fit > 0 {
                    inner.enqueue(batch, &self.ready);
                }
                return Ok(());
            }
            if fit > 0 {
                inner.enqueue(batch.split_front(fit), &self.ready);
            }
            // The first item left does not fit.
            let Some(shed) = shedding else {
                let since = Instant::now();
                inner.reader_waiting = true;
                inner.reader_needs = if fit == 0 && fits_empty {
                    batch.tally()
                } else {
                    Tally::new(1, 1)
                };
                inner = match timeout {
                    None => self.room.wait(inner).unwrap_or_else(|e| e.into_inner()),
                    Some(timeout) => {
                        // The wait restarts whenever the consumer makes progress.
                        let pops = inner.pops;
                        let until = match deadline {
                            Some((until, at)) if at == pops => until,
                            _ => deadline.insert((since + timeout, pops)).0,
                        };
                        let left = until.saturating_duration_since(since);
                        let (mut guard, result) = self
                            .room
                            .wait_timeout(inner, left)
                            .unwrap_or_else(|e| e.into_inner());
                        if result.timed_out() && guard.pops == pops {
                            guard.shedding_at = Some(pops);
                        }
                        guard
                    }
                };
                inner.reader_waiting = false;
                inner.stats.blocked += since.elapsed();
                continue;
            };
            match shed {
                Shed::Drop if room_items == 0 => {
                    inner.stats.dropped += batch.tally();
                    return Ok(());
                }
                Shed::Drop => {
                    let gone = batch.pop_front().unwrap_or_default();
                    inner.stats.dropped += gone;
                }
                Shed::Slide => unreachable!("slide is handled above"),
                Shed::Fail => {
                    inner.stats.dropped += batch.tally();
                    return Err(Stop::Full(self.full_bound(&inner)));
                }
            }
        }
    }

    /// Queues `batch` whole under `slide`: first its own oldest items go if it alone is larger
    /// than the queue, then the oldest queued items until it fits. Never splits the batch, so
    /// a full queue does not turn each arriving item into a batch of its own.
    fn slide_in(&self, inner: &mut Inner, mut batch: Batch) {
        while batch.items() > self.bounds.items || batch.bytes() > self.bounds.bytes {
            let gone = batch.pop_front().unwrap_or_default();
            inner.stats.dropped += gone;
        }
        loop {
            let (room_items, room_bytes) = self.room_in(inner);
            if batch.items() <= room_items && batch.bytes() <= room_bytes {
                break;
            }
            let gone = inner.drop_oldest();
            inner.stats.dropped += gone;
            if gone.is_zero() {
                debug_assert!(false, "a batch did not fit in an empty queue");
                break;
            }
        }
        if !batch.is_empty() {
            inner.enqueue(batch, &self.ready);
        }
    }

    /// Counts items read but shed before they could be queued (over-long items, or what
    /// was left in hand when `fail` stopped the reader).
    pub fn discard(&self, gone: Tally, overlong: bool) {
        if gone.is_zero() {
            return;
        }
        let mut inner = self.lock();
        inner.stats.input += gone;
        inner.stats.dropped += gone;
        if overlong {
            inner.stats.overlong += gone;
        }
    }

    /// The reader has reached the end of its input: the writer drains what is left.
    pub fn finish_input(&self) {
        let mut inner = self.lock();
        inner.input_done = true;
        self.ready.notify_all();
    }

    /// A buffer for the reader to read into: a recycled one if there is one, else a new one
    /// of `len` bytes.
    pub fn spare_buffer(&self, len: usize) -> Vec<u8> {
        let spare = self.lock().spares.pop();
        spare.unwrap_or_else(|| vec![0; len])
    }

    /// Records `written` as delivered and recycles the batches left in `into` (those just
    /// written), then waits for work and takes some into `into` (see [`Take`]). Returns false
    /// once the input is finished and the queue is empty.
    pub fn pop(&self, written: Tally, into: &mut Vec<Batch>, limit: Take) -> bool {
        let mut inner = self.lock();
        self.settle(&mut inner, written, into);
        let (mut inner, ready) = self.wait_for_items(inner);
        if ready.is_some() {
            self.take_locked(&mut inner, limit, into);
        }
        ready.is_some()
    }

    /// Like [`Queue::pop`] without the taking: records and recycles, waits for work, and says
    /// what is waiting. `None` once the input is finished and the queue is empty.
    pub fn wait_ready(&self, written: Tally, done: &mut Vec<Batch>) -> Option<Ready> {
        let mut inner = self.lock();
        self.settle(&mut inner, written, done);
        let (inner, after_idle) = self.wait_for_items(inner);
        after_idle.map(|after_idle| Ready {
            depth: inner.stats.depth,
            after_idle,
        })
    }

    /// Takes items into `into` (see [`Take`]); returns what was taken, nothing if the queue
    /// is empty.
    pub fn take(&self, limit: Take, into: &mut Vec<Batch>) -> Tally {
        let mut inner = self.lock();
        self.take_locked(&mut inner, limit, into)
    }

    /// Counts `written` as delivered and keeps the buffers of `done` for the reader.
    fn settle(&self, inner: &mut Inner, written: Tally, done: &mut Vec<Batch>) {
        for batch in done.drain(..) {
            let buffer = batch.into_buffer();
            if inner.spares.len() < MAX_SPARES
                && (MIN_SPARE_LEN..=MAX_SPARE_LEN).contains(&buffer.len())
            {
                inner.spares.push(buffer);
            }
        }
        if !inner.abandoned {
            inner.stats.output += written;
            inner.stats.in_flight -= written;
        }
    }

    /// Waits until the queue holds something; `None` when it never will again, else whether
    /// the writer had to wait for it (the queue had run dry).
    fn wait_for_items<'a>(
        &'a self,
        mut inner: MutexGuard<'a, Inner>,
    ) -> (MutexGuard<'a, Inner>, Option<bool>) {
        let mut waited = false;
        loop {
            if inner.consumer_gone && !inner.output_closed && !inner.writer_done {
                inner.close_output();
                self.room.notify_all();
            }
            if !inner.batches.is_empty() {
                break;
            }
            if inner.input_done || inner.output_closed {
                inner.writer_done = true;
                return (inner, None);
            }
            waited = true;
            inner.writer_waiting = true;
            inner = self.ready.wait(inner).unwrap_or_else(|e| e.into_inner());
            inner.writer_waiting = false;
        }
        (inner, Some(waited))
    }

    fn take_locked(&self, inner: &mut Inner, limit: Take, into: &mut Vec<Batch>) -> Tally {
        let mut taken = Tally::ZERO;
        while into.len() < limit.batches {
            let room_items = limit.items.saturating_sub(taken.items as usize);
            let room_bytes = limit.bytes.saturating_sub(taken.bytes as usize);
            let Some(front) = inner.batches.front_mut() else {
                break;
            };
            let mut count = front.items();
            if count > room_items || front.bytes() > room_bytes {
                if !limit.split {
                    if !taken.is_zero() {
                        break;
                    }
                } else {
                    count = front.fitting_prefix(room_items, room_bytes);
                    if count == 0 && !taken.is_zero() {
                        break;
                    }
                    count = count.max(1);
                }
            }
            let batch = if count == front.items() {
                inner.batches.pop_front().expect("front exists")
            } else {
                front.split_front(count)
            };
            taken += batch.tally();
            into.push(batch);
        }
        inner.stats.depth -= taken;
        inner.stats.in_flight += taken;
        if !taken.is_zero() {
            inner.pops += 1;
            if inner.reader_waiting && self.reader_may_go(inner) {
                self.room.notify_one();
            }
        }
        taken
    }

    /// Stops the reading side (a signal asked bpipe to stop): the writer drains what is
    /// queued, and whatever the reader still brings counts as undelivered.
    pub fn stop_input(&self) {
        let mut inner = self.lock();
        inner.input_stopped = true;
        inner.input_done = true;
        self.ready.notify_all();
        self.room.notify_all();
    }

    /// Gives up on delivering: everything held, queued or being written, counts as
    /// undelivered from now on, and nothing more is counted. Returns the final counters.
    pub fn abandon(&self) -> Stats {
        let mut inner = self.lock();
        if !inner.abandoned {
            let in_flight = inner.stats.in_flight;
            inner.stats.undelivered += in_flight;
            inner.stats.in_flight = Tally::ZERO;
            inner.close_output();
            inner.abandoned = true;
            self.ready.notify_all();
            self.room.notify_all();
        }
        inner.stats
    }

    /// The consumer has gone (stdout's pipe has no reader). The writer closes the output
    /// the next time it comes for work, or at once if it is waiting for some; if it is
    /// writing, its write fails by itself.
    pub fn consumer_gone(&self) {
        let mut inner = self.lock();
        inner.consumer_gone = true;
        self.ready.notify_all();
    }

    /// Whether stdout was found closed (by a failed write or the consumer leaving).
    pub fn output_closed(&self) -> bool {
        let inner = self.lock();
        inner.output_closed && !inner.abandoned
    }

    /// Stdout is gone: `written` of the batches in hand reached it, `lost` did not; whatever is
    /// still queued will never be delivered. Wakes a reader waiting for room.
    pub fn close_output(&self, written: Tally, lost: Tally) {
        let mut inner = self.lock();
        inner.stats.output += written;
        inner.stats.undelivered += lost;
        inner.stats.in_flight = Tally::ZERO;
        inner.close_output();
        self.room.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::thread;
    use std::time::Duration;

    fn batch(items: &[&str]) -> Batch {
        Batch::from_items(items.iter().map(|s| s.as_bytes()))
    }

    fn queue(items: usize, bytes: usize) -> Queue {
        Queue::new(Bounds { items, bytes })
    }

    /// Pops everything queued, returning the items as strings.
    fn drain(q: &Queue) -> Vec<String> {
        q.finish_input();
        let mut out = Vec::new();
        let mut into = Vec::new();
        let mut written = Tally::ZERO;
        while q.pop(written, &mut into, Take::ALL) {
            written = Tally::ZERO;
            for b in &into {
                written += b.tally();
                out.extend(b.iter().map(|i| String::from_utf8(i.to_vec()).unwrap()));
            }
        }
        out
    }

    const DROP: Policy = Policy::Shed(Shed::Drop);
    const SLIDE: Policy = Policy::Shed(Shed::Slide);
    const FAIL: Policy = Policy::Shed(Shed::Fail);

    #[test]
    fn drop_sheds_the_newest_items() {
        let q = queue(3, 1000);
        q.push(batch(&["a", "b"]), DROP).unwrap();
        q.push(batch(&["c", "d", "e"]), DROP).unwrap();
        let stats = q.stats();
        assert_eq!(stats.dropped, Tally::new(2, 2));
        assert_eq!(stats.max_depth, Tally::new(3, 3));
        assert_eq!(drain(&q), ["a", "b", "c"]);
        assert!(q.stats().balanced());
    }

    #[test]
    fn drop_on_the_byte_bound_keeps_later_items_that_fit() {
        let q = queue(100, 5);
        q.push(batch(&["aaa", "bbb", "c", "dd"]), DROP).unwrap();
        assert_eq!(q.stats().dropped, Tally::new(2, 5));
        assert_eq!(drain(&q), ["aaa", "c"]);
    }

    #[test]
    fn slide_sheds_the_oldest_items() {
        let q = queue(3, 1000);
        q.push(batch(&["a", "b"]), SLIDE).unwrap();
        q.push(batch(&["c", "d", "e"]), SLIDE).unwrap();
        assert_eq!(q.stats().dropped, Tally::new(2, 2));
        assert_eq!(drain(&q), ["c", "d", "e"]);
        assert!(q.stats().balanced());
    }

    #[test]
    fn slide_on_the_byte_bound_frees_just_enough() {
        let q = queue(100, 6);
        q.push(batch(&["aa", "bb", "cc"]), SLIDE).unwrap();
        q.push(batch(&["dddd"]), SLIDE).unwrap();
        assert_eq!(drain(&q), ["cc", "dddd"]);
        assert_eq!(q.stats().dropped, Tally::new(2, 4));
    }

    #[test]
    fn fail_names_the_bound_and_counts_the_rest() {
        let q = queue(2, 1000);
        assert_eq!(
            q.push(batch(&["a", "b", "c"]), FAIL),
            Err(Stop::Full(Bound::Items(2)))
        );
        let q2 = queue(100, 3);
        assert_eq!(
            q2.push(batch(&["aa", "bb"]), FAIL),
            Err(Stop::Full(Bound::Bytes(3)))
        );
        assert_eq!(q.stats().dropped, Tally::new(1, 1));
        assert_eq!(drain(&q), ["a", "b"]);
        assert!(q.stats().balanced());
    }

    #[test]
    fn block_loses_nothing_and_keeps_order() {
        let q = Arc::new(queue(4, 10));
        let producer = {
            let q = Arc::clone(&q);
            thread::spawn(move || {
                for i in 0..1000 {
                    let items: Vec<String> = (0..3).map(|j| format!("{}", i * 3 + j)).collect();
                    let refs: Vec<&str> = items.iter().map(String::as_str).collect();
                    q.push(batch(&refs), Policy::BLOCK).unwrap();
                }
                q.finish_input();
            })
        };
        let mut got = Vec::new();
        let mut into = Vec::new();
        let mut written = Tally::ZERO;
        while q.pop(written, &mut into, Take::ALL) {
            written = Tally::ZERO;
            for b in &into {
                let depth = q.stats().depth;
                assert!(
                    depth.items <= 4 && depth.bytes <= 10,
                    "bound exceeded: {depth:?}"
                );
                written += b.tally();
                got.extend(b.iter().map(|i| String::from_utf8(i.to_vec()).unwrap()));
            }
        }
        producer.join().unwrap();
        let want: Vec<String> = (0..3000).map(|i| i.to_string()).collect();
        assert_eq!(got, want);
        let stats = q.stats();
        assert!(stats.balanced());
        assert_eq!(stats.dropped, Tally::ZERO);
        assert!(stats.max_depth.items <= 4 && stats.max_depth.bytes <= 10);
    }

    #[test]
    fn block_timeout_sheds_until_the_consumer_moves() {
        let q = queue(1, 100);
        let policy = Policy::Block {
            timeout: Some(Duration::from_millis(1)),
            then: Shed::Drop,
        };
        q.push(batch(&["a"]), policy).unwrap();
        // No consumer: the wait times out, then everything that finds the queue full is shed
        // at once (no second wait).
        q.push(batch(&["b", "c"]), policy).unwrap();
        let stats = q.stats();
        assert_eq!(stats.dropped, Tally::new(2, 2));
        assert!(stats.blocked >= Duration::from_millis(1));
        assert_eq!(drain(&q), ["a"]);
    }

    #[test]
    fn block_timeout_then_fail_stops() {
        let q = queue(1, 100);
        let policy = Policy::Block {
            timeout: Some(Duration::from_millis(1)),
            then: Shed::Fail,
        };
        q.push(batch(&["a"]), policy).unwrap();
        assert_eq!(
            q.push(batch(&["b"]), policy),
            Err(Stop::Full(Bound::Items(1)))
        );
    }

    #[test]
    fn stopping_input_wakes_a_blocked_reader_and_lets_the_writer_drain() {
        let q = Arc::new(queue(1, 100));
        q.push(batch(&["a"]), Policy::BLOCK).unwrap();
        let reader = {
            let q = Arc::clone(&q);
            thread::spawn(move || q.push(batch(&["b"]), Policy::BLOCK))
        };
        q.stop_input();
        assert_eq!(reader.join().unwrap(), Err(Stop::Stopped));
        // What was queued is still delivered; what came after the stop is undelivered.
        assert_eq!(drain(&q), ["a"]);
        let stats = q.stats();
        assert_eq!(stats.undelivered, Tally::new(1, 1));
        assert!(stats.balanced());
    }

    #[test]
    fn abandoning_counts_everything_held_as_undelivered() {
        let q = queue(10, 100);
        q.push(batch(&["a", "b", "c"]), Policy::BLOCK).unwrap();
        let mut into = Vec::new();
        assert!(q.pop(
            Tally::ZERO,
            &mut into,
            Take {
                batches: 1,
                items: 1,
                bytes: 100,
                split: true
            }
        ));
        let stats = q.abandon();
        assert_eq!(stats.undelivered, Tally::new(3, 3));
        assert!(stats.balanced());
        // A write that finishes afterwards changes nothing.
        assert!(!q.pop(into[0].tally(), &mut into, Take::ALL));
        assert_eq!(q.stats(), stats);
    }

    #[test]
    fn a_gone_consumer_closes_an_idle_output() {
        let q = queue(10, 100);
        q.push(batch(&["a"]), Policy::BLOCK).unwrap();
        q.consumer_gone();
        // The writer closes the output when it next comes for work.
        assert!(!q.pop(Tally::ZERO, &mut Vec::new(), Take::ALL));
        assert!(q.output_closed());
        assert_eq!(q.push(batch(&["b"]), Policy::BLOCK), Err(Stop::Closed));
        let stats = q.stats();
        assert_eq!(stats.undelivered, Tally::new(2, 2));
        assert!(stats.balanced());
    }

    #[test]
    fn closed_output_wakes_a_blocked_reader_and_counts_undelivered() {
        let q = Arc::new(queue(1, 100));
        q.push(batch(&["a"]), Policy::BLOCK).unwrap();
        let reader = {
            let q = Arc::clone(&q);
            thread::spawn(move || q.push(batch(&["b", "c"]), Policy::BLOCK))
        };
        // Take "a" and pretend the write failed, while the reader may be waiting.
        let mut into = Vec::new();
        assert!(q.pop(Tally::ZERO, &mut into, Take::ALL));
        q.close_output(Tally::ZERO, into[0].tally());
        // "b" may have been queued before the close: either way it is undelivered.
        assert_eq!(reader.join().unwrap(), Err(Stop::Closed));
        let stats = q.stats();
        assert_eq!(stats.undelivered, Tally::new(3, 3));
        assert!(stats.balanced());
    }

    mod model {
        //! Property tests over the queue: any interleaving of pushes and takes, under each
        //! policy, keeps the books balanced, keeps order, never exceeds either bound, and
        //! `block` never loses an item.

        use super::*;
        use proptest::prelude::*;

        #[derive(Clone, Debug)]
        enum Op {
            /// Push a batch of items with these extra lengths.
            Push(Vec<usize>),
            /// The writer takes at most this many items and "writes" them.
            Take(usize),
        }

        fn ops() -> impl Strategy<Value = Vec<Op>> {
            let push = proptest::collection::vec(0usize..12, 1..20).prop_map(Op::Push);
            let take = (1usize..30).prop_map(Op::Take);
            proptest::collection::vec(prop_oneof![3 => push, 2 => take], 1..60)
        }

        fn policies() -> impl Strategy<Value = Policy> {
            prop_oneof![
                Just(Policy::BLOCK),
                Just(Policy::Shed(Shed::Drop)),
                Just(Policy::Shed(Shed::Slide)),
                Just(Policy::Shed(Shed::Fail)),
            ]
        }

        fn id(item: &[u8]) -> usize {
            let digits = item.iter().take_while(|b| b.is_ascii_digit()).count();
            std::str::from_utf8(&item[..digits])
                .unwrap()
                .parse()
                .unwrap()
        }

        /// Takes up to `n` items as the writer would; returns their ids.
        fn take(q: &Queue, n: usize) -> Vec<usize> {
            let mut into = Vec::new();
            let limit = Take {
                items: n,
                bytes: usize::MAX,
                batches: usize::MAX,
                split: true,
            };
            let taken = q.take(limit, &mut into);
            // Record them as written, as the writer's next call would.
            q.settle(&mut q.lock(), taken, &mut Vec::new());
            into.iter()
                .flat_map(|b| b.iter().map(id).collect::<Vec<_>>())
                .collect()
        }

        fn check(q: &Queue, bounds: Bounds) -> Result<(), TestCaseError> {
            let stats = q.stats();
            prop_assert!(stats.balanced(), "unbalanced: {stats:?}");
            prop_assert!(
                stats.depth.items as usize <= bounds.items,
                "items bound: {stats:?}"
            );
            prop_assert!(
                stats.depth.bytes as usize <= bounds.bytes,
                "bytes bound: {stats:?}"
            );
            prop_assert!(stats.max_depth.items as usize <= bounds.items);
            prop_assert!(stats.max_depth.bytes as usize <= bounds.bytes);
            Ok(())
        }

        proptest! {
            #[test]
            fn any_interleaving_keeps_the_invariants(
                ops in ops(),
                policy in policies(),
                cap in 1usize..12,
                cap_bytes in 16usize..200,
            ) {
                let bounds = Bounds { items: cap, bytes: cap_bytes };
                let q = Arc::new(Queue::new(bounds));
                // Under block a push waits for room, so a consumer runs beside the pushes,
                // taking a few items at a time.
                let consumer = (policy == Policy::BLOCK).then(|| {
                    let q = Arc::clone(&q);
                    thread::spawn(move || {
                        let (mut into, mut got) = (Vec::new(), Vec::new());
                        let mut written = Tally::ZERO;
                        let limit = Take { items: 3, bytes: usize::MAX, batches: 4, split: true };
                        while q.pop(written, &mut into, limit) {
                            written = into.iter().fold(Tally::ZERO, |t, b| t + b.tally());
                            got.extend(into.iter().flat_map(|b| b.iter().map(id)));
                        }
                        got
                    })
                });
                let (mut next_id, mut out, mut last_pushed) = (0, Vec::new(), None);
                let mut failed = false;
                for op in ops {
                    match op {
                        Op::Push(extras) => {
                            if failed {
                                continue;
                            }
                            let items: Vec<Vec<u8>> = extras
                                .iter()
                                .map(|&extra| {
                                    let mut item = format!("{next_id}:").into_bytes();
                                    next_id += 1;
                                    item.resize((item.len() + extra).min(16), b'x');
                                    item
                                })
                                .collect();
                            last_pushed = Some(next_id - 1);
                            let batch = Batch::from_items(items.iter().map(Vec::as_slice));
                            match q.push(batch, policy) {
                                Ok(()) => {}
                                Err(Stop::Full(_)) => failed = true,
                                Err(stop) => prop_assert!(false, "unexpected {stop:?}"),
                            }
                        }
                        Op::Take(n) if consumer.is_none() => out.extend(take(&q, n)),
                        Op::Take(_) => {}
                    }
                    check(&q, bounds)?;
                }
                match consumer {
                    Some(consumer) => {
                        q.finish_input();
                        out = consumer.join().unwrap();
                    }
                    None => out.extend(take(&q, usize::MAX)),
                }
                check(&q, bounds)?;
                // Order kept: ids only ever increase.
                prop_assert!(out.windows(2).all(|w| w[0] < w[1]), "out of order: {out:?}");
                let stats = q.stats();
                prop_assert_eq!(stats.output.items as usize, out.len());
                prop_assert_eq!(stats.depth, Tally::ZERO);
                if policy == Policy::BLOCK {
                    prop_assert_eq!(out, (0..next_id).collect::<Vec<_>>(), "block lost items");
                } else if policy == Policy::Shed(Shed::Slide) {
                    // The freshest item is never the one shed.
                    prop_assert_eq!(out.last().copied(), last_pushed);
                }
            }
        }
    }
}
