//! What the writer tells the queue: how stdout stands ([`Press`]), and what became of what
//! it took ([`Told`]); and what it asks of the queue besides work ([`Standing`]).

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::Limits;
use super::spill::OnDisk;
use super::{Inner, Output, Queue, Rules, Writer};
use crate::books::ledger::Place;
use crate::books::tally::Tally;

/// How stdout (or the rate) stands, as the writer finds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Press {
    /// Stdout is full: a stall spell begins, or goes on.
    Stalled,
    /// The rate limit holds the writer: items that find the queue full are shed.
    Throttled,
    /// Stdout takes data again (or the rate allows it).
    Resumed,
}

/// What became of what the writer took: the books' one door on the writer's side.
#[derive(Debug)]
pub enum Told<'a> {
    /// These items were written whole (before the writer comes back with [`Queue::next`]).
    Delivered(Tally),
    /// Items went out whole after these waits (`(wait, items)`, as the writer noted each
    /// batch's last byte going out). Empties the list.
    Waited(&'a mut Vec<(Duration, u64)>),
    /// This many bytes went out (whole items or not), for live rates.
    Sent(usize),
    /// A marker of this many bytes went out (`--mark-drops`).
    Marked(usize),
    /// What the writer held when it stopped: `written` went out whole, `torn` (an item and
    /// how many of its bytes) went out in part, `lost` did not go out.
    Settled {
        written: Tally,
        torn: Option<(Tally, u64)>,
        lost: Tally,
    },
    /// The first `.1` items of this batch went out (the last may be cut, its rest to go):
    /// for their keys' books (`--key`), before the writer removes them.
    WentOut(&'a crate::batch::Batch, u64),
    /// Items counted delivered to a worker that exited before reading them (`--workers`).
    Recalled(Tally),
    /// The writer is done with a batch it took from disk (its bytes went out, or it loaded
    /// them): its segment may be freed, and a read waiting for room on disk may go.
    Released(OnDisk),
}

/// How the queue stands, for a writer that waits.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Standing {
    /// How full the queue is, counting what the writer holds and the read waiting for
    /// room: items or bytes, whichever is fuller (0 to 1, or more).
    pub fill: f64,
    /// Whether the queue was given up on (the writer stops at once).
    pub abandoned: bool,
}

impl Queue {
    /// The writer found stdout (or the rate) so. For [`Press::Stalled`]: when the spell's
    /// grace ends (`None` if it has): until then nothing is shed for it.
    pub fn press(&self, press: Press) -> Option<Instant> {
        let mut inner = self.lock();
        if inner.pressure.writer == Writer::Done {
            return None;
        }
        let now = self.now();
        match press {
            Press::Stalled => {
                inner.pressure.writer = Writer::Stalled;
                inner.pressure.stalled_since.get_or_insert(now);
                inner.pressure.spell_since.get_or_insert(now);
                inner.pressure.pressed_since.get_or_insert(now);
                self.wake_reader(&inner);
                // The writer looks again when shedding may begin (it gives back then).
                return self
                    .sheds_from(&inner, now)
                    .or(self.grace_ends(&inner))
                    .filter(|&end| end > now);
            }
            Press::Throttled => {
                inner.pressure.writer = Writer::Throttled;
                inner.pressure.pressed_since.get_or_insert(now);
                self.wake_reader(&inner);
            }
            Press::Resumed => inner.pressure.busy(now),
        }
        None
    }

    /// The writer tells the books what became of what it took.
    pub fn tell(&self, told: Told<'_>) {
        match told {
            // Lock-free: counted as bytes go out.
            Told::Sent(bytes) => {
                self.sent.fetch_add(bytes as u64, Ordering::Relaxed);
            }
            Told::Waited(waits) if waits.is_empty() => {}
            told => self.book(&mut self.lock(), told),
        }
    }

    fn book(&self, inner: &mut Inner, told: Told<'_>) {
        let ledger = &mut inner.books.ledger;
        match told {
            Told::Delivered(written) => ledger.deliver(written),
            Told::Waited(waits) => {
                for (wait, items) in waits.drain(..) {
                    inner.books.waits.record(wait, items);
                }
            }
            Told::Marked(bytes) => ledger.mark(bytes),
            Told::Settled {
                written,
                torn,
                lost,
            } => {
                ledger.deliver(written);
                if let Some((item, bytes)) = torn {
                    ledger.tear(item, bytes);
                }
                ledger.lose(Place::InHand, lost);
            }
            Told::Recalled(t) => ledger.recall(t),
            Told::WentOut(batch, n) => inner.deliver_first(batch, n),
            Told::Released(mut disk) => {
                if let Some(buffer) = disk.spare.take() {
                    inner.store.give_spare(buffer);
                }
                match inner.store.disk() {
                    Some(spill) => spill.release(disk),
                    None => drop(disk),
                }
                self.wake_reader(inner);
            }
            Told::Sent(_) => unreachable!("counted without the lock"),
        }
    }

    /// How the queue stands: how full, and whether it was given up on.
    pub fn standing(&self) -> Standing {
        let inner = self.lock();
        let depth = [Place::Queued, Place::InHand, Place::Parked]
            .into_iter()
            .fold(Tally::ZERO, |sum, place| {
                sum + inner.books.ledger.held(place)
            });
        let bounds = inner.limits.bounds;
        Standing {
            fill: (depth.items as f64 / bounds.items as f64)
                .max(depth.bytes as f64 / bounds.bytes as f64),
            abandoned: inner.output == Output::Abandoned,
        }
    }

    /// Whether items have keys: the writer tells what went out item by item then
    /// ([`Told::WentOut`]).
    pub fn keyed(&self) -> bool {
        self.rules.keyed == super::rules::Keyed::Yes
    }

    /// The queue's rules, for the writer to mark gaps with.
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// The limits as they stand (an operator may change them): for the writer to look at
    /// items with (`--max-age`, whether the policy may shed what it gives back).
    pub fn limits(&self) -> Limits {
        self.lock().limits
    }

    /// Stdout is gone: what is still queued or parked will never be delivered. The writer
    /// settles its hand first ([`Told::Settled`]). Wakes a waiting reader.
    pub fn close_output(&self) {
        let mut inner = self.lock();
        if inner.output == Output::Abandoned {
            return;
        }
        inner.close_output();
        self.room.notify_all();
    }
}
