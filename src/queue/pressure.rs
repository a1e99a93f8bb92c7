//! Pressure: what the writer is doing as the policy sees it, and the times that decide when
//! an item is shed. A stall spell begins when stdout is first found full and ends when the
//! writer catches up (finds nothing waiting); it is pressure once it is older than the grace.
//! Also the reader's waits, for the time it was blocked, and since when `fail` stopped it.

use std::time::{Duration, Instant};

use super::bounds::Bound;
use super::state::Writer;

/// What the reader is doing, as the queue sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Reader {
    Running,
    /// Reading its input (and framing what came): a stop waits, briefly, for what it brings
    /// to be counted, so that the stop's record has it.
    Reading,
    /// Waiting (for room, for the writer to take its read, or for pressure) since then.
    Waiting(Instant),
    /// Waiting for the writer to catch up, to move bytes straight to stdout (`Queue::pass`):
    /// the writer wakes it when it does. Not the producer held by a full queue.
    Passing,
}

#[derive(Debug)]
pub(super) struct Pressure {
    pub(super) writer: Writer,
    /// When the writer's current stall spell began: stdout was first found full, and the
    /// writer has not caught up (found nothing waiting) since.
    pub(super) spell_since: Option<Instant>,
    /// Since when stdout was first found full or the rate first held the writer, in the
    /// spell going on: `--block-timeout` counts from here. Like the spell, it ends only when
    /// the writer catches up.
    pub(super) pressed_since: Option<Instant>,
    pub(super) reader: Reader,
    /// Time stdout was full, before the spell going on (since `stalled_since`).
    pub(super) stalled_total: Duration,
    pub(super) stalled_since: Option<Instant>,
    /// When `fail` stopped the reader, and which bound was reached.
    pub(super) full: Option<(Instant, Bound)>,
}

impl Pressure {
    pub(super) fn new() -> Pressure {
        Pressure {
            writer: Writer::Busy,
            spell_since: None,
            pressed_since: None,
            reader: Reader::Running,
            stalled_total: Duration::ZERO,
            stalled_since: None,
            full: None,
        }
    }

    /// Whether the reader waits (and must be woken when something it waits on changes).
    pub(super) fn reader_waits(&self) -> bool {
        matches!(self.reader, Reader::Waiting(_))
    }

    /// Stdout takes data again at `now`: the stall spell's time goes into the total.
    pub(super) fn end_stall(&mut self, now: Instant) {
        if let Some(since) = self.stalled_since.take() {
            self.stalled_total += now.saturating_duration_since(since);
        }
    }

    /// The writer takes or writes again: no longer held, its stall (if any) over; the spell
    /// goes on until it catches up.
    pub(super) fn busy(&mut self, now: Instant) {
        self.writer = Writer::Busy;
        self.end_stall(now);
    }

    /// The writer caught up (found nothing waiting): the spell, if any, is over.
    pub(super) fn idle(&mut self, now: Instant) {
        self.end_stall(now);
        self.writer = Writer::Idle;
        self.spell_since = None;
        self.pressed_since = None;
    }

    /// When the current spell's grace ends: `grace` after it began, or after bpipe was last
    /// `continued` after a stop, whichever is later.
    pub(super) fn grace_ends(
        &self,
        grace: Duration,
        continued: Option<Instant>,
    ) -> Option<Instant> {
        self.spell_since
            .map(|since| counted_from(since, continued))
            .and_then(|since| since.checked_add(grace))
    }

    /// Since when `--block-timeout` counts, as for the grace.
    pub(super) fn pressed(&self, continued: Option<Instant>) -> Option<Instant> {
        self.pressed_since
            .map(|since| counted_from(since, continued))
    }

    /// Stall figures at `now`: the stall going on, and all stalls together. Time bpipe was
    /// stopped (until it was `continued`) is no stall of the consumer's.
    pub(super) fn stalled(&self, now: Instant, continued: Option<Instant>) -> (Duration, Duration) {
        let current = self.stalled_since.map_or(Duration::ZERO, |since| {
            now.saturating_duration_since(counted_from(since, continued))
        });
        (current, self.stalled_total + current)
    }
}

/// When a time that began at `since` counts from: bpipe's last continue after a stop, if
/// that came later (time bpipe was stopped is not the consumer's).
fn counted_from(since: Instant, continued: Option<Instant>) -> Instant {
    since.max(continued.unwrap_or(since))
}
