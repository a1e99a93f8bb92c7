//! The run's side of the queue: the end of input, a stop, giving up, and what the spill and
//! dead letters must tell the user.

use std::time::{Duration, Instant};

use super::pressure::Reader;
use super::{Bound, Input, Output, Queue};
use crate::books::ledger::Place;

/// How long a stop waits for a read in progress to be counted: a read blocked on an idle
/// producer is not waited for (what it brings later counts as read and undelivered).
const STOP_WAIT: Duration = Duration::from_millis(100);

impl Queue {
    /// Gives up on delivering (a stop's drain timed out): what is queued or parked is
    /// undelivered now; the writer settles what it holds (it is woken) and stops.
    pub fn abandon(&self) {
        let mut inner = self.lock();
        if inner.output != Output::Abandoned {
            inner.output = Output::Abandoned;
            inner.close_output();
            self.waker.wake();
            self.room.notify_all();
        }
    }

    /// What `--dead-letter` must tell the user (a write error, its limit), once.
    pub fn dead_letter_notice(&self) -> Option<String> {
        self.lock().shedding.dead_letter_notice()
    }

    /// What `--spill` must tell the user (a write or read error), once.
    pub fn spill_notice(&self) -> Option<String> {
        self.lock().store.disk_notice()
    }

    /// The reader has reached the end of its input: the writer drains what is left.
    pub fn finish_input(&self) {
        let mut inner = self.lock();
        if inner.input == Input::Open {
            inner.input = Input::Finished;
        }
        if inner.pressure.reader == Reader::Reading {
            inner.pressure.reader = Reader::Running;
            // A stop may be waiting for the reader.
            self.room.notify_all();
        }
        self.waker.wake();
    }

    /// Stops the reading side (a signal asked bpipe to stop): the writer drains what is
    /// queued, and whatever the reader holds or still brings counts as undelivered. The
    /// reader reads no more (a reader waiting for input hears it on the stop bell); a read
    /// it is in the middle of (with data there) is waited for, at most [`STOP_WAIT`], and
    /// counted, so that the stop's record holds everything read.
    pub fn stop_input(&self) {
        let mut inner = self.lock();
        inner.input = Input::Stopped;
        inner.store.parked = None;
        inner.books.ledger.lose_all(Place::Parked);
        self.waker.wake();
        if let Some(bell) = &self.stop_bell {
            bell.wake();
        }
        self.room.notify_all();
        let _ = self
            .room
            .wait_timeout_while(inner, STOP_WAIT, |inner| {
                inner.pressure.reader == Reader::Reading
            })
            .unwrap_or_else(|e| e.into_inner());
    }

    /// A bell rung (without waiting) when items are dropped or `fail` stops the reader: what
    /// the watch would otherwise poll for.
    pub fn bell(&self) -> crossbeam_channel::Receiver<()> {
        let (ring, bell) = crossbeam_channel::bounded(1);
        self.lock().books.ledger.ring_on_drops(ring);
        bell
    }

    /// Since when `fail` has stopped the reader (the writer delivers what is queued), and
    /// which bound it met.
    pub fn full(&self) -> Option<(Instant, Bound)> {
        self.lock().pressure.full
    }

    /// Whether stdout was found closed (by a failed write or the consumer leaving).
    pub fn output_closed(&self) -> bool {
        self.lock().output == Output::Closed
    }
}
