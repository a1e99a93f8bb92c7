//! The counters: one place that the queue updates and the reporter reads.

use std::time::Duration;

use crate::books::tally::Tally;
use crate::books::wait::WaitFigures;

/// A consistent snapshot of everything bpipe counts. At any moment
/// `input = output + dropped + undelivered + depth + in_flight + parked`, in items and in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Items framed from stdin.
    pub input: Tally,
    /// Items written to stdout in full.
    pub output: Tally,
    /// Items shed by the policy, including over-long items dropped by the framer.
    pub dropped: Tally,
    /// Of `dropped`: over-long items dropped whole (longer than `--max-line`).
    pub overlong: Tally,
    /// Items queued or being written when stdout closed (or bpipe was stopped).
    pub undelivered: Tally,
    /// Items in the queue now.
    pub depth: Tally,
    /// Items taken from the queue and being written now.
    pub in_flight: Tally,
    /// Items of one read that did not fit in the queue and wait in the reader's hand, for
    /// the writer to take them whole or for the policy to act (at most one read).
    pub parked: Tally,
    /// High-water mark of `depth`, items and bytes each on its own.
    pub max_depth: Tally,
    /// Items cut short by a write that failed or was given up on: their written bytes are in
    /// `output.bytes`, the items and their other bytes in `undelivered` (at most one a run).
    pub torn: u64,
    /// Bytes written to stdout so far, as they go out (partial writes included): for live
    /// rates. Not part of the books.
    pub sent_bytes: u64,
    /// Of `dropped`: items older than `--max-age` when the writer came for them.
    pub expired: Tally,
    /// Of `dropped`: items over their key's `--rate-per-key` when they came.
    pub limited: Tally,
    /// Items on disk now (`--spill`), all that went there, and the high-water mark.
    pub spilled: Tally,
    pub spilled_total: Tally,
    pub max_spilled: Tally,
    /// Bytes the spill takes on disk now, bpipe's headers and space read back but not yet
    /// freed included: what `--spill-max` bounds. Not part of the books.
    pub spill_disk: u64,
    /// Of `dropped`: items appended to the `--dead-letter` file (the rest were discarded).
    pub dead_lettered: Tally,
    /// Items matching `--keep` that a policy looked at and spared, each counted once.
    pub kept: u64,
    /// `--mark-drops` lines written, and their bytes: not items, not in the books.
    pub markers: Tally,
    /// Time in queue of delivered items: over the run, and since the last record.
    pub wait: WaitFigures,
    pub interval_wait: WaitFigures,
    /// How long the oldest item bpipe holds has waited (zero when it holds none).
    pub oldest_age: Duration,
    /// Time stdout was not taking data (full) while bpipe had data for it: in all, and the
    /// spell going on now.
    pub stalled: Duration,
    pub stalled_now: Duration,
    /// Time the reader spent waiting for room.
    pub blocked: Duration,
}

impl Stats {
    /// Whether the books balance: every item that came in is accounted for exactly once.
    pub fn balanced(&self) -> bool {
        self.input
            == self.output
                + self.dropped
                + self.undelivered
                + self.depth
                + self.in_flight
                + self.parked
                + self.spilled
            && self.dead_lettered.items <= self.dropped.items
            && self.expired.items <= self.dropped.items
    }

    /// Of `dropped`: what did not go to the dead-letter file.
    pub fn discarded(&self) -> Tally {
        self.dropped.beyond(self.dead_lettered)
    }
}
