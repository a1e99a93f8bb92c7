//! The bounded queue between the reader and the writer, where the overflow policy acts.
//!
//! The rule (README, "When is an item shed?"): an item is shed only under pressure, when it
//! finds the queue full *and* the writer cannot pass data on now, because stdout is not
//! taking it ([`Writer::Stalled`]) or the rate limit holds the writer
//! ([`Writer::Throttled`]). While the writer is ready, a read that does not fit waits whole
//! in the reader's hand (`parked`), where the writer takes it next; `--cap` and
//! `--cap-bytes` bound what waits for a consumer that is behind.
//!
//! A `Mutex` + `Condvar` rather than a channel: `slide` must take items back from the front,
//! and both bounds must be checked against the state the counters live in. The reader waits
//! on the condvar; the writer waits in `poll` on the queue's [`Waker`] (and on stdout), so
//! that one wait covers new items, a stop, and a consumer that leaves.

mod bounds;
pub mod clock;
pub mod dead_letter;
mod figures;
pub mod keep;
pub mod marker;
pub mod policy;
mod push;
mod shed;
pub mod spill;
mod spilling;
mod state;
mod take;
mod wake;

#[cfg(test)]
mod model;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::io;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use self::clock::{Clock, Monotonic};
use self::keep::Keep;
use self::policy::{Policy, Shed};
use self::spill::Spill;
use crate::batch::Batch;
use crate::books::ledger::{Ledger, Place};
use crate::books::stats::Stats;
use crate::books::tally::Tally;
use crate::books::wait::Waits;
use crate::queue::dead_letter::DeadLetter;
use crate::queue::marker::Marker;

pub use self::bounds::{Bound, Bounds, Take};
pub use self::push::Pushed;
pub use self::spill::OnDisk;
use self::state::{Input, Output};
pub use self::state::{Stop, Writer};
pub use self::take::Next;
pub use self::wake::Waker;

/// Buffers kept for reuse: enough for the reader and writer to trade buffers in a steady
/// stream without touching the allocator (fresh pages cost page faults and zeroing).
const MAX_SPARES: usize = 16;
/// Larger buffers (left by a long line) are freed rather than kept.
const MAX_SPARE_LEN: usize = 256 * 1024;
/// Smaller buffers (a short read's copy) are not worth keeping.
const MIN_SPARE_LEN: usize = 16 * 1024;

#[derive(Debug)]
struct Inner {
    batches: VecDeque<Batch>,
    /// The reader's batch that did not fit and waits whole (see the module doc).
    parked: Option<Batch>,
    spares: Vec<Vec<u8>>,
    books: Ledger,
    /// Number of times the writer has taken from the queue: a block timeout sheds until
    /// this moves on.
    pops: u64,
    /// Set by a block timeout: shed while `pops` still equals this.
    shedding_at: Option<u64>,
    input: Input,
    output: Output,
    writer: Writer,
    /// When the writer's current stall spell began: stdout was first found full, and the
    /// writer has not caught up (found nothing waiting) since.
    spell_since: Option<Instant>,
    /// While stdout is full or the rate holds the writer: since when.
    pressed_since: Option<Instant>,
    reader_waiting: bool,
    /// While the reader waits: since when (for live figures of the time it was blocked).
    reader_waiting_since: Option<Instant>,
    /// Time in queue of what was delivered.
    waits: Waits,
    /// When the oldest batch in the writer's hand arrived.
    hand_arrived: Option<Instant>,
    /// Time stdout was full, before the spell going on (since `stalled_since`).
    stalled_total: Duration,
    stalled_since: Option<Instant>,
    /// The final counters, once frozen.
    frozen: Option<Stats>,
    /// `--dead-letter`: where shed items go.
    dead: Option<DeadLetter>,
    /// `--spill`: the disk tier, after the queue in order and before the parked read.
    spill: Option<Spill>,
    /// When `fail` stopped the reader.
    full_since: Option<Instant>,
    /// How many batches at the front, and at the back, are known kept (`--keep`): a policy
    /// looking for an unkept item starts past them, so a queue filling up with kept items
    /// does not cost a scan of all of them for each item shed.
    kept_front: usize,
    kept_back: usize,
    /// Where the input stands after the last item taken by the writer: the next batch
    /// taken should start there, or there is a gap (`--mark-drops`).
    taken_to: Tally,
    /// `--keep`: the input item after the last kept one counted as spared at the front of
    /// a read waiting to be placed (see [`Inner::spare_front`]).
    spared_to: u64,
}

/// The bounded queue. The reader calls [`Queue::push`] and [`Queue::finish_input`]; the
/// writer calls [`Queue::next`], reports stdout's state, and on failure
/// [`Queue::close_output`].
#[derive(Debug)]
pub struct Queue {
    bounds: Bounds,
    policy: Policy,
    inner: Mutex<Inner>,
    /// The reader waits here for room, for the writer to take its batch, or for pressure.
    room: Condvar,
    /// Wakes the writer out of its `poll`.
    waker: Waker,
    /// How old a stall spell must be before it is pressure (see [`STALL_GRACE`]).
    grace: Duration,
    /// Bytes written so far, counted by the writer as they go out (for live rates).
    sent: AtomicU64,
    /// `--max-age`: older items are shed when the writer comes for them.
    max_age: Option<Duration>,
    /// Where arrival times, ages and stalls are read.
    clock: Arc<dyn Clock>,
    /// `--keep`: items no policy sheds.
    keep: Option<Keep>,
    /// `--mark-drops`: the writer is told of gaps (see [`Batch::gap`]) and marks them so.
    marks: Option<Marker>,
    /// `--spill` is on.
    spills: bool,
}

/// How long stdout may stay full, without the writer catching up, before the consumer counts
/// as behind. A consumer that keeps up can still leave the pipe full for a moment when it is
/// not scheduled (two busy cores, four threads); the producer is held for at most this long
/// at the start of a spell, and the policy then sheds without holding it until the writer
/// catches up.
pub const STALL_GRACE: Duration = Duration::from_millis(100);

impl Queue {
    /// A queue bounded by `bounds` where `policy` sheds. Fails only if the writer's wake-up
    /// descriptor cannot be made (out of descriptors).
    pub fn new(bounds: Bounds, policy: Policy) -> io::Result<Queue> {
        assert!(
            bounds.items > 0 && bounds.bytes > 0,
            "queue bounds must be positive"
        );
        Ok(Queue {
            bounds,
            policy,
            inner: Mutex::new(Inner {
                batches: VecDeque::new(),
                parked: None,
                spares: Vec::new(),
                books: Ledger::default(),
                pops: 0,
                shedding_at: None,
                input: Input::Open,
                output: Output::Open,
                writer: Writer::Busy,
                spell_since: None,
                pressed_since: None,
                reader_waiting: false,
                reader_waiting_since: None,
                waits: Waits::default(),
                hand_arrived: None,
                stalled_total: Duration::ZERO,
                stalled_since: None,
                frozen: None,
                dead: None,
                spill: None,
                full_since: None,
                kept_front: 0,
                kept_back: 0,
                taken_to: Tally::ZERO,
                spared_to: 0,
            }),
            room: Condvar::new(),
            waker: Waker::new()?,
            grace: STALL_GRACE,
            sent: AtomicU64::new(0),
            max_age: None,
            clock: Arc::new(Monotonic),
            keep: None,
            marks: None,
            spills: false,
        })
    }

    /// Items older than `age` when the writer comes for them are shed (expired).
    pub fn with_max_age(mut self, age: Option<Duration>) -> Queue {
        self.max_age = age;
        self
    }

    /// The same queue with another [`STALL_GRACE`] (zero in tests that drive the writer).
    pub fn with_grace(mut self, grace: Duration) -> Queue {
        self.grace = grace;
        self
    }

    /// Items that `keep` spares are never shed by the policy.
    pub fn with_keep(mut self, keep: Option<Keep>) -> Queue {
        self.keep = keep;
        self
    }

    /// Reads that find the queue full under pressure go to `spill`.
    pub fn with_spill(mut self, spill: Option<Spill>) -> Queue {
        self.spills = spill.is_some();
        self.lock().spill = spill;
        self
    }

    /// Shed items go to `dead`.
    pub fn with_dead_letter(self, dead: Option<DeadLetter>) -> Queue {
        self.lock().dead = dead;
        self
    }

    /// Batches taken after a gap carry its size, for the writer to mark with `marks`.
    pub fn with_marks(mut self, marks: Option<Marker>) -> Queue {
        self.marks = marks;
        self
    }

    /// The same queue on another clock (a fake one in tests). The writer must read the
    /// same clock (its [`Wait`](crate::output::wait::Wait)'s `now`).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Queue {
        self.clock = clock;
        self
    }

    /// The time, on the queue's clock.
    pub fn now(&self) -> Instant {
        self.clock.now()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere must not turn into a second panic here: the counters stay usable.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// What wakes the writer: poll it for reading.
    pub fn waker(&self) -> &Waker {
        &self.waker
    }

    fn room_in(&self, inner: &Inner) -> (usize, usize) {
        let depth = inner.books.held(Place::Queued);
        (
            self.bounds.items.saturating_sub(depth.items as usize),
            self.bounds.bytes.saturating_sub(depth.bytes as usize),
        )
    }

    fn full_bound(&self, inner: &Inner) -> Bound {
        if inner.books.held(Place::Queued).items as usize >= self.bounds.items {
            Bound::Items(self.bounds.items)
        } else {
            Bound::Bytes(self.bounds.bytes)
        }
    }

    /// How an item that finds the queue full is shed at `now`; `None` while it waits (the
    /// writer is ready, or `block` has not timed out).
    fn shedding(&self, inner: &Inner, now: Instant) -> Option<Shed> {
        match self.policy {
            Policy::Shed(shed) if self.under_pressure(inner, now) => Some(shed),
            Policy::Block { then, .. }
                if inner.shedding_at == Some(inner.pops) && inner.writer.under_pressure() =>
            {
                Some(then)
            }
            _ => None,
        }
    }

    /// Whether the writer cannot pass data on: the rate holds it, or stdout is full and has
    /// been since a spell that began at least the grace ago.
    fn under_pressure(&self, inner: &Inner, now: Instant) -> bool {
        match inner.writer {
            Writer::Throttled => true,
            Writer::Stalled => self.grace_ends(inner).is_none_or(|end| end <= now),
            _ => false,
        }
    }

    /// When the current spell's grace ends.
    fn grace_ends(&self, inner: &Inner) -> Option<Instant> {
        inner
            .spell_since
            .and_then(|since| since.checked_add(self.grace))
    }

    /// Wakes the reader if it waits: something it waits on may have changed.
    fn wake_reader(&self, inner: &Inner) {
        if inner.reader_waiting {
            self.room.notify_one();
        }
    }

    /// Wakes the writer if it waits for items.
    fn wake_writer(&self, inner: &Inner) {
        if inner.writer == Writer::Idle {
            self.waker.wake();
        }
    }
}

impl Inner {
    /// Queues a batch from the reader's hand. A batch the policy thinned out (a long line
    /// shed, a short one kept) is copied out of its large buffer first: memory stays within
    /// the bytes counted.
    fn enqueue(&mut self, mut batch: Batch) {
        if batch.is_sparse() {
            batch = batch.compacted();
        }
        self.books
            .shift(Place::Parked, Place::Queued, batch.tally());
        self.batches.push_back(batch);
        self.kept_back = 0;
    }

    /// Keeps a batch's buffer for the reader's next read, if it is of a size worth keeping.
    fn recycle(&mut self, batch: Batch) {
        let buffer = batch.into_buffer();
        if self.spares.len() < MAX_SPARES && (MIN_SPARE_LEN..=MAX_SPARE_LEN).contains(&buffer.len())
        {
            self.spares.push(buffer);
        }
    }

    /// Stdout is gone for good: what is queued or parked will never be delivered.
    fn close_output(&mut self) {
        self.books.lose_all(Place::Queued);
        self.books.lose_all(Place::Parked);
        self.books.lose_all(Place::Spilled);
        if let Some(spill) = self.spill.as_mut() {
            spill.clear();
        }
        self.batches.clear();
        (self.kept_front, self.kept_back) = (0, 0);
        self.parked = None;
        if self.output != Output::Abandoned {
            self.output = Output::Closed;
        }
        self.writer = Writer::Done;
    }

    fn closed(&self) -> bool {
        matches!(self.output, Output::Closed | Output::Abandoned)
    }
}
