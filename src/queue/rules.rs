//! The queue's rules: its bounds and policy, and what refines them (`--max-age`, `--keep`,
//! `--mark-drops`, the stall grace). Set before the run starts; read without the lock.

use std::time::{Duration, Instant};

use super::STALL_GRACE;
use super::bounds::Bounds;
use super::shedding::keep::Keep;
use super::shedding::marker::Marker;
use super::shedding::policy::Policy;
use crate::books::tally::Tally;

#[derive(Debug)]
pub struct Rules {
    pub(super) bounds: Bounds,
    pub(super) policy: Policy,
    /// How old a stall spell must be before it is pressure (see [`STALL_GRACE`]).
    pub(super) grace: Duration,
    /// `--max-age`: older items are shed when the writer comes for them.
    pub(super) max_age: Option<Duration>,
    /// `--keep`: items no policy sheds.
    pub(super) keep: Option<Keep>,
    /// `--mark-drops`: the writer is told of gaps (see `Batch::gap`) and marks them so.
    pub(super) marks: Option<Marker>,
    /// Whether the store has a disk tier (`--spill`).
    pub(super) spills: Spills,
}

/// Whether reads may go to disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Spills {
    No,
    ToDisk,
}

impl Rules {
    pub(super) fn new(bounds: Bounds, policy: Policy) -> Rules {
        Rules {
            bounds,
            policy,
            grace: STALL_GRACE,
            max_age: None,
            keep: None,
            marks: None,
            spills: Spills::No,
        }
    }

    /// Whether the writer should give back what it has not begun when stdout stays full:
    /// only where the policy may shed it. (Under `block` the queue stays within its bounds;
    /// `--max-age` gets what the writer holds when stdout takes data again: see
    /// [`Rules::expired`].)
    pub fn sheds(&self) -> bool {
        self.policy.can_shed()
    }

    /// Whether an item that arrived at `arrived` is past `--max-age` at `now`.
    pub fn expired(&self, arrived: Option<Instant>, now: Instant) -> bool {
        match (self.max_age, arrived) {
            (Some(age), Some(arrived)) => now.saturating_duration_since(arrived) > age,
            _ => false,
        }
    }

    /// `--mark-drops`: the marker for `gap`, appended to `out`.
    pub fn mark(&self, gap: Tally, out: &mut Vec<u8>) {
        if let Some(marker) = &self.marks {
            marker.render(gap, out);
        }
    }
}
