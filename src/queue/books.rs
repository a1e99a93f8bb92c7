//! The queue's books: the ledger (where every item is) and the histogram of time in queue,
//! with when the oldest batch in the writer's hand arrived, and the final counters once
//! frozen. Times come from the queue's clock, which the writer reads too.

use std::time::Instant;

use crate::books::ledger::Ledger;
use crate::books::stats::Stats;
use crate::books::wait::Waits;

#[derive(Debug, Default)]
pub(super) struct Books {
    pub(super) ledger: Ledger,
    /// Time in queue of what was delivered.
    pub(super) waits: Waits,
    /// When the oldest batch in the writer's hand arrived.
    pub(super) hand_arrived: Option<Instant>,
    /// The final counters, once frozen.
    pub(super) frozen: Option<Stats>,
    /// The keys' final figures, frozen with them.
    pub(super) frozen_keys: Option<crate::keys::KeyFigures>,
}
