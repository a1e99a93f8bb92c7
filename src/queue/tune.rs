//! An operator's changes to a running queue (`bpipectl set`, `pause`, `resume`), applied
//! under the lock in one step with what they call for: a cap lowered below the depth is met
//! by the policy at once (`slide` sheds the oldest, `drop` the newest queued, with a spill
//! the overflow goes to disk; `block` and `fail` hold the producer until the depth is under
//! it, `block` with a timeout sheds once the timeout is over); the reader and the writer are
//! woken to look at the new limits.

use std::sync::atomic::Ordering;

use super::policy::{Policy, Shed};
use super::{Limits, Queue};
use crate::values::rate::Rate;

impl Queue {
    /// Changes the limits with `change`; returns them as they were and as they are.
    pub fn retune(&self, change: impl FnOnce(&mut Limits)) -> (Limits, Limits) {
        let mut inner = self.lock();
        let before = inner.limits;
        change(&mut inner.limits);
        let after = inner.limits;
        // A shedding policy meets a lowered cap at once; `block` with a timeout once its
        // timeout is over (as it would meet an arriving item).
        let shed = match after.policy {
            Policy::Shed(shed) => Some(shed),
            Policy::Block { .. } => self.shedding(&inner, self.now()),
        };
        if let Some(shed @ (Shed::Slide | Shed::Drop)) = shed
            && !self.spill_overflow(&mut inner)
        {
            self.trim(&mut inner, shed);
        }
        // Only a new rate makes the writer's limiter anew (a fresh bucket: its burst).
        if after.rate != before.rate {
            self.tuned.fetch_add(1, Ordering::Release);
        }
        self.room.notify_all();
        drop(inner);
        self.waker.wake();
        (before, after)
    }

    /// The taps (`bpipectl tap`), which the writer offers what it wrote.
    pub fn taps(&self) -> &super::tap::Taps {
        &self.taps
    }

    /// The rate, if it changed since the writer last looked (`seen`, which is updated). One
    /// atomic load when it did not.
    pub fn rate_changed(&self, seen: &mut u64) -> Option<Option<(Rate, u64)>> {
        let now = self.tuned.load(Ordering::Acquire);
        if now == *seen {
            return None;
        }
        *seen = now;
        Some(self.lock().limits.rate)
    }
}
