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

mod books;
mod bounds;
pub mod clock;
mod fair;
mod figures;
mod keyed;
mod lifecycle;
mod pressure;
mod push;
mod rules;
pub mod shedding;
pub mod spill;
mod spilling;
mod state;
mod store;
mod take;
pub mod tap;
mod told;
mod tune;
mod wake;

#[cfg(test)]
mod model;
#[cfg(test)]
mod tests;

use std::io;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use self::books::Books;
use self::clock::{Clock, Monotonic};
use self::pressure::Pressure;
use self::rules::Spills;
use self::shedding::Shedding;
use self::shedding::dead_letter::DeadLetter;
use self::shedding::keep::Keep;
use self::shedding::marker::Marker;
use self::shedding::policy::{Policy, Shed};
use self::spill::Spill;
use self::store::Store;
use crate::batch::Batch;
use crate::books::ledger::Place;
use crate::keys::{KeyRules, Keys};
use crate::values::rate::Rate;

pub use self::bounds::{Bound, Bounds, Disk, Take};
pub use self::push::Pushed;
pub use self::rules::{Flow, Limits, Rules};
pub use self::shedding::{dead_letter, keep, marker, policy};
pub use self::spill::OnDisk;
use self::state::{Input, Output};
pub use self::state::{Stop, Writer};
pub use self::take::{Next, Taken};
pub use self::told::{Press, Told};
pub use self::wake::Waker;

/// The state behind the queue's lock: a few parts, each owning what changes together.
#[derive(Debug)]
struct Inner {
    /// What is held, and where: memory, the reader's parked read, the disk tier.
    store: Store,
    /// The writer's state and the times that make pressure.
    pressure: Pressure,
    /// Dead letters and where the input stands for markers and `--keep`.
    shedding: Shedding,
    /// The ledger and the times in queue.
    books: Books,
    /// What an operator may change while bpipe runs: bounds, policy, `--max-age`.
    limits: Limits,
    /// `--key` and what hangs on it: per-key books, rates, the heaviest key.
    keys: Option<Keys>,
    input: Input,
    output: Output,
}

/// The bounded queue. The reader calls [`Queue::push`] and [`Queue::finish_input`]; the
/// writer calls [`Queue::next`], reports stdout's state, and on failure
/// [`Queue::close_output`].
#[derive(Debug)]
pub struct Queue {
    rules: Rules,
    inner: Mutex<Inner>,
    /// The reader waits here for room, for the writer to take its batch, or for pressure.
    room: Condvar,
    /// Wakes the writer out of its `poll`.
    waker: Waker,
    /// Bumped when the rate changes: the writer looks (see `tune.rs`).
    tuned: AtomicU64,
    /// `bpipectl tap`: copies of what goes out.
    taps: tap::Taps,
    /// Rung once by a stop: the reader waits for input on it too (none where no descriptor
    /// was left for it: the reader then reads without waiting on it).
    stop_bell: Option<Waker>,
    /// Bytes written so far, counted by the writer as they go out (for live rates).
    sent: AtomicU64,
    /// Where arrival times, ages and stalls are read.
    clock: Arc<dyn Clock>,
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
            rules: Rules::new(),
            inner: Mutex::new(Inner {
                store: Store::new(),
                pressure: Pressure::new(),
                shedding: Shedding::new(),
                books: Books::default(),
                limits: Limits {
                    bounds,
                    policy,
                    max_age: None,
                    rate: None,
                    flow: Flow::Flowing,
                },
                keys: None,
                input: Input::Open,
                output: Output::Open,
            }),
            room: Condvar::new(),
            waker: Waker::new()?,
            tuned: AtomicU64::new(0),
            taps: tap::Taps::default(),
            stop_bell: Waker::new().ok(),
            sent: AtomicU64::new(0),
            clock: Arc::new(Monotonic),
        })
    }

    /// The writer is paced by `rate` (and its burst).
    pub fn with_rate(self, rate: Option<(Rate, u64)>) -> Queue {
        self.lock().limits.rate = rate;
        self
    }

    /// Items older than `age` when the writer comes for them are shed (expired).
    pub fn with_max_age(self, age: Option<Duration>) -> Queue {
        self.lock().limits.max_age = age;
        self
    }

    /// The same queue with another [`STALL_GRACE`] (zero in tests that drive the writer).
    pub fn with_grace(mut self, grace: Duration) -> Queue {
        self.rules.grace = grace;
        self
    }

    /// Items that `keep` spares are never shed by the policy.
    pub fn with_keep(mut self, keep: Option<Keep>) -> Queue {
        self.rules.keep = keep;
        self
    }

    /// Reads that find the queue full under pressure go to `spill`.
    pub fn with_spill(mut self, spill: Option<Spill>) -> Queue {
        if spill.is_some() {
            self.rules.spills = Spills::ToDisk;
        }
        self.lock().store.set_disk(spill);
        self
    }

    /// Items have keys: counted, limited and shed by key.
    pub fn with_keys(mut self, keys: Option<KeyRules>) -> Queue {
        if keys.is_some() {
            self.rules.keyed = rules::Keyed::Yes;
        }
        self.lock().keys = keys.map(Keys::new);
        self
    }

    /// Shed items go to `dead`.
    pub fn with_dead_letter(self, dead: Option<DeadLetter>) -> Queue {
        self.lock().shedding.dead = dead;
        self
    }

    /// Batches taken after a gap carry its size, for the writer to mark with `marks`.
    pub fn with_marks(mut self, marks: Option<Marker>) -> Queue {
        self.rules.marks = marks;
        self
    }

    /// The same queue on another clock (a fake one in tests). The writer must read the
    /// same clock (the writer's waits read [`Queue::now`]).
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

    /// What tells a reader waiting for input that bpipe stops: readable once it does.
    pub fn stop_bell(&self) -> Option<&Waker> {
        self.stop_bell.as_ref()
    }

    fn room_in(&self, inner: &Inner) -> (usize, usize) {
        let depth = inner.books.ledger.held(Place::Queued);
        (
            inner
                .limits
                .bounds
                .items
                .saturating_sub(depth.items as usize),
            inner
                .limits
                .bounds
                .bytes
                .saturating_sub(depth.bytes as usize),
        )
    }

    fn full_bound(&self, inner: &Inner) -> Bound {
        let bounds = inner.limits.bounds;
        if inner.books.ledger.held(Place::Queued).items as usize >= bounds.items {
            Bound::Items(bounds.items)
        } else {
            Bound::Bytes(bounds.bytes)
        }
    }

    /// How an item that finds the queue full is shed at `now`; `None` while it waits (the
    /// writer is ready, or the spell is younger than the grace or `--block-timeout`).
    fn shedding(&self, inner: &Inner, now: Instant) -> Option<Shed> {
        self.sheds_from(inner, now)
            .filter(|&from| from <= now)
            .map(|_| match inner.limits.policy {
                Policy::Shed(shed) | Policy::Block { then: shed, .. } => shed,
            })
    }

    /// From when items that find the queue full meet the policy, as the writer stands:
    /// under pressure (at once for the rate; for a full stdout, once the spell is older than
    /// the grace), and under `block`, once the spell is `--block-timeout` old too. A spell
    /// is not ended by stdout taking a little now and then, only by the writer catching up,
    /// so a consumer that is slow but steady does not hold the producer for ever. `None`
    /// while the writer is ready, and always under `block` without a timeout.
    fn sheds_from(&self, inner: &Inner, now: Instant) -> Option<Instant> {
        let pressure = &inner.pressure;
        let pressed = pressure.pressed(self.clock.continued()).unwrap_or(now);
        let from = match pressure.writer {
            Writer::Throttled => pressed,
            Writer::Stalled => self.grace_ends(inner).unwrap_or(now),
            Writer::Idle | Writer::Busy | Writer::Done => return None,
        };
        match inner.limits.policy {
            Policy::Shed(_) => Some(from),
            Policy::Block {
                timeout: Some(timeout),
                ..
            } => Some(from.max(pressed.checked_add(timeout)?)),
            Policy::Block { timeout: None, .. } => None,
        }
    }

    /// Whether the writer cannot pass data on: the rate holds it, or stdout is full and has
    /// been since a spell that began at least the grace ago.
    fn under_pressure(&self, inner: &Inner, now: Instant) -> bool {
        match inner.pressure.writer {
            Writer::Throttled => true,
            Writer::Stalled => self.grace_ends(inner).is_none_or(|end| end <= now),
            _ => false,
        }
    }

    /// When the current spell's grace ends.
    fn grace_ends(&self, inner: &Inner) -> Option<Instant> {
        inner
            .pressure
            .grace_ends(self.rules.grace, self.clock.continued())
    }

    /// Wakes the reader if it waits: something it waits on may have changed.
    fn wake_reader(&self, inner: &Inner) {
        if inner.pressure.reader_waits() {
            self.room.notify_one();
        }
    }

    /// Wakes the writer if it waits for items.
    fn wake_writer(&self, inner: &Inner) {
        if inner.pressure.writer == Writer::Idle {
            self.waker.wake();
        }
    }
}

impl Inner {
    /// Queues a batch from the reader's hand (see [`Store::enqueue`]).
    fn enqueue(&mut self, batch: Batch) {
        self.books
            .ledger
            .shift(Place::Parked, Place::Queued, batch.tally());
        self.store.enqueue(batch);
    }

    /// Stdout is gone for good: what is queued or parked will never be delivered.
    fn close_output(&mut self) {
        self.books.ledger.lose_all(Place::Queued);
        self.books.ledger.lose_all(Place::Parked);
        self.books.ledger.lose_all(Place::Spilled);
        self.store.clear();
        if self.output != Output::Abandoned {
            self.output = Output::Closed;
        }
        self.pressure.writer = Writer::Done;
    }

    fn closed(&self) -> bool {
        matches!(self.output, Output::Closed | Output::Abandoned)
    }
}
