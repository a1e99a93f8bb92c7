//! The queue's rules: what refines its limits (`--keep`, `--mark-drops`, the stall grace,
//! whether it spills). Set before the run starts; read without the lock. The limits an
//! operator may change while it runs are [`Limits`], under the lock.

use std::time::{Duration, Instant};

use super::STALL_GRACE;
use super::bounds::Bounds;
use super::shedding::keep::Keep;
use super::shedding::marker::Marker;
use super::shedding::policy::Policy;
use crate::books::tally::Tally;
use crate::values::rate::Rate;

/// What a running bpipe's operator may change (`bpipectl set`, `pause`): the bounds, the
/// policy, `--max-age`, the rate, whether the writer is paused. Held under the queue's lock
/// (in `Inner`), so that a change and the trim it calls for are one step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limits {
    pub bounds: Bounds,
    pub policy: Policy,
    /// `--max-age`: older items are shed when the writer comes for them.
    pub max_age: Option<Duration>,
    /// `--rate` and `--burst`: the writer's limiter is made anew when they change.
    pub rate: Option<(Rate, u64)>,
    pub flow: Flow,
}

/// Whether the writer writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    Flowing,
    /// `bpipectl pause`: the writer writes nothing, as if stdout were full, until resumed.
    Paused,
}

impl Limits {
    /// Whether an item that arrived at `arrived` is past `--max-age` at `now`.
    pub fn expired(&self, arrived: Option<Instant>, now: Instant) -> bool {
        match (self.max_age, arrived) {
            (Some(age), Some(arrived)) => now.saturating_duration_since(arrived) > age,
            _ => false,
        }
    }
}

#[derive(Debug)]
pub struct Rules {
    /// How old a stall spell must be before it is pressure (see [`STALL_GRACE`]).
    pub(super) grace: Duration,
    /// `--keep`: items no policy sheds.
    pub(super) keep: Option<Keep>,
    /// `--mark-drops`: the writer is told of gaps (see `Batch::gap`) and marks them so.
    pub(super) marks: Option<Marker>,
    /// Whether the store has a disk tier (`--spill`).
    pub(super) spills: Spills,
    /// Whether items have keys (`--key` and the like).
    pub(super) keyed: Keyed,
}

/// Whether items have keys, counted and limited by key as they come.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Keyed {
    No,
    Yes,
}

/// Whether reads may go to disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Spills {
    No,
    ToDisk,
}

impl Rules {
    pub(super) fn new() -> Rules {
        Rules {
            grace: STALL_GRACE,
            keep: None,
            marks: None,
            spills: Spills::No,
            keyed: Keyed::No,
        }
    }

    /// `--mark-drops`: the marker for `gap`, appended to `out`.
    pub fn mark(&self, gap: Tally, out: &mut Vec<u8>) {
        if let Some(marker) = &self.marks {
            marker.render(gap, out);
        }
    }
}
