//! The queue's figures for reports: the books, with times in queue, ages, stalls and the
//! bytes sent; frozen at the end.

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::pressure::Reader;
use super::{Inner, Queue};
use crate::books::ledger::Place;
use crate::books::stats::Stats;

impl Queue {
    /// A consistent copy of the counters, with the figures of the interval since the last
    /// [`Queue::next_interval`].
    pub fn stats(&self) -> Stats {
        let inner = self.lock();
        inner
            .books
            .frozen
            .unwrap_or_else(|| self.figures(&inner, inner.books.ledger.stats()))
    }

    /// `stats` with the figures that are not books: waits, ages, stalls, the bytes sent.
    fn figures(&self, inner: &Inner, mut stats: Stats) -> Stats {
        let now = self.now();
        (stats.wait, stats.interval_wait) = inner.books.waits.figures();
        let oldest = [
            inner.books.hand_arrived,
            inner.store.batches.front().and_then(|b| b.arrived),
            inner.store.parked.as_ref().and_then(|b| b.arrived),
            inner.store.oldest_on_disk(),
        ]
        .into_iter()
        .flatten()
        .min();
        stats.oldest_age = oldest.map_or(Duration::ZERO, |t| now.saturating_duration_since(t));
        (stats.stalled_now, stats.stalled) = inner.pressure.stalled(now, self.clock.continued());
        if let Reader::Waiting(since) = inner.pressure.reader {
            stats.blocked += now.saturating_duration_since(since);
        }
        stats.sent_bytes = self.sent.load(Ordering::Relaxed);
        stats.spill_disk = inner.store.disk_bytes();
        stats
    }

    /// `--key`: the keys tracked and folded, and the keys that lost the most.
    pub fn key_figures(&self) -> Option<crate::keys::KeyFigures> {
        let inner = self.lock();
        match &inner.books.frozen_keys {
            Some(frozen) => Some(frozen.clone()),
            None => inner.keys.as_ref().map(crate::keys::Keys::figures),
        }
    }

    /// A record was taken: the next interval's figures start now.
    pub fn next_interval(&self) {
        self.lock().books.waits.next_interval();
    }

    /// Settles what is left in the writer's hand as undelivered and freezes the books: the
    /// final counters. Later changes are refused.
    pub fn freeze(&self) -> Stats {
        let mut inner = self.lock();
        inner.books.ledger.lose_all(Place::InHand);
        inner.flush_dead();
        let books = inner.books.ledger.freeze();
        // The keys are frozen with the books: a reader still pushing changes neither.
        if inner.books.frozen_keys.is_none() {
            inner.books.frozen_keys = inner.keys.as_ref().map(crate::keys::Keys::figures);
        }
        let stats = self.figures(&inner, books);
        *inner.books.frozen.get_or_insert(stats)
    }
}
