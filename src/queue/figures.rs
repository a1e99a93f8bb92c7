//! The queue's figures for reports: the books, with times in queue, ages, stalls and the
//! bytes sent; frozen at the end.

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::{Inner, Queue};
use crate::books::ledger::Place;
use crate::books::stats::Stats;

impl Queue {
    /// A consistent copy of the counters, with the figures of the interval since the last
    /// [`Queue::next_interval`].
    pub fn stats(&self) -> Stats {
        let inner = self.lock();
        inner
            .frozen
            .unwrap_or_else(|| self.figures(&inner, inner.books.stats()))
    }

    /// `stats` with the figures that are not books: waits, ages, stalls, the bytes sent.
    fn figures(&self, inner: &Inner, mut stats: Stats) -> Stats {
        let now = self.now();
        (stats.wait, stats.interval_wait) = inner.waits.figures();
        let oldest = [
            inner.hand_arrived,
            inner.batches.front().and_then(|b| b.arrived),
            inner.parked.as_ref().and_then(|b| b.arrived),
            inner.spill.as_ref().and_then(|s| s.oldest()),
        ]
        .into_iter()
        .flatten()
        .min();
        stats.oldest_age = oldest.map_or(Duration::ZERO, |t| now.saturating_duration_since(t));
        stats.stalled_now = inner
            .stalled_since
            .map_or(Duration::ZERO, |t| now.saturating_duration_since(t));
        stats.stalled = inner.stalled_total + stats.stalled_now;
        if let Some(since) = inner.reader_waiting_since {
            stats.blocked += now.saturating_duration_since(since);
        }
        stats.sent_bytes = self.sent.load(Ordering::Relaxed);
        stats.spill_disk = inner.spill.as_ref().map_or(0, |s| s.disk_bytes());
        stats
    }

    /// A record was taken: the next interval's figures start now.
    pub fn next_interval(&self) {
        self.lock().waits.next_interval();
    }

    /// The writer wrote `bytes` (whole items or not).
    pub fn sent(&self, bytes: usize) {
        self.sent.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// Settles what is left in the writer's hand as undelivered and freezes the books: the
    /// final counters. Later changes are refused.
    pub fn freeze(&self) -> Stats {
        let mut inner = self.lock();
        inner.books.lose_all(Place::InHand);
        inner.flush_dead();
        let books = inner.books.freeze();
        let stats = self.figures(&inner, books);
        *inner.frozen.get_or_insert(stats)
    }
}
