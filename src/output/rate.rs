//! The rate limiter that enforces `--rate` and `--burst` (their forms are in `values::rate`).
//!
//! The limiter is a token bucket kept as a schedule (GCRA): `next` is when the next unit
//! (item or byte) is due, and a unit may go once `now >= next - tolerance`, where the
//! tolerance lets `burst` units through at once. After an idle spell the schedule restarts at
//! `now`, so saved-up credit never exceeds `burst` (pv and mbuffer both let it through). While
//! a backlog is waiting, lateness of up to [`CATCH_UP`] is made up, so that sleeping a little
//! too long (timer slack, scheduling) does not lower the average rate.

use std::time::{Duration, Instant};

use crate::values::rate::{Rate, Unit};

/// Lateness made up while a backlog waits; anything later is forgiven, not bunched up.
pub const CATCH_UP: Duration = Duration::from_millis(20);

/// The token bucket, kept as a schedule. Pure arithmetic on the instants it is given, exact:
/// times are whole nanoseconds after the first instant seen, and the schedule keeps the
/// remainder of each step, so no rounding drifts the rate.
#[derive(Clone, Debug)]
pub struct Limiter {
    /// The rate is `amount` units per `per_ns` nanoseconds.
    amount: i128,
    per_ns: i128,
    burst: i128,
    unit: Unit,
    /// The first instant seen; `None` before the first unit.
    origin: Option<Instant>,
    /// When the next unit is due: `next_ns + next_rem / amount` nanoseconds after `origin`.
    next_ns: i128,
    next_rem: i128,
}

const CATCH_UP_NS: i128 = CATCH_UP.as_nanos() as i128;

impl Limiter {
    pub fn new(rate: Rate, burst: u64) -> Limiter {
        assert!(
            burst > 0 && rate.amount > 0 && !rate.per.is_zero(),
            "invalid rate or burst"
        );
        Limiter {
            amount: rate.amount.into(),
            per_ns: rate.per.as_nanos() as i128,
            burst: burst.into(),
            unit: rate.unit,
            origin: None,
            next_ns: 0,
            next_rem: 0,
        }
    }

    pub fn unit(&self) -> Unit {
        self.unit
    }

    /// How many of `want` units may go at `now`, or when to ask again. `after_idle` says the
    /// data just arrived after the queue was empty: credit saved up while idle is capped at
    /// `burst`. An item rate grants single items; a byte rate waits until a full burst (or
    /// all that is wanted, if less) may go, so that writes are not needlessly small.
    pub fn available(&mut self, want: u64, now: Instant, after_idle: bool) -> Result<u64, Instant> {
        let first = self.origin.is_none();
        let origin = *self.origin.get_or_insert(now);
        let now_ns = nanos_between(origin, now);
        let floor = if first || after_idle {
            now_ns
        } else {
            now_ns - CATCH_UP_NS
        };
        if self.next_ns < floor {
            (self.next_ns, self.next_rem) = (floor, 0);
        }
        let need: i128 = match self.unit {
            Unit::Items => 1,
            Unit::Bytes => want.clamp(1, self.burst as u64).into(),
        };
        // Unit k (from 0) is due once (k + 1 - burst) · per ≤ (now - next) · amount.
        let lead = (now_ns - self.next_ns) * self.amount - self.next_rem;
        let allowed = (lead.div_euclid(self.per_ns) + self.burst).max(0);
        if allowed >= need {
            return Ok(u64::try_from(allowed).unwrap_or(u64::MAX).min(want));
        }
        // The earliest time at which `need` units are due, rounded up to a whole nanosecond.
        let wanted = (need - self.burst) * self.per_ns + self.next_rem;
        let at_ns = self.next_ns - (-wanted).div_euclid(self.amount);
        Err(instant_at(origin, at_ns))
    }

    /// The limiter at a new `rate` and `burst` at `now` (an operator's change), keeping the
    /// tokens the bucket holds (at most the new burst): a change never refills the bucket
    /// (back and forth, or a larger burst, would let a burst through) nor empties it (a
    /// faster rate would wait out the old burst's schedule). A change of unit (items to
    /// bytes) starts anew.
    pub fn retuned(&self, rate: Rate, burst: u64, now: Instant) -> Limiter {
        let mut next = Limiter::new(rate, burst);
        let Some(origin) = self.origin.filter(|_| rate.unit == self.unit) else {
            return next;
        };
        let now_ns = nanos_between(origin, now);
        // Tokens now: the units that may go at once (negative: owed).
        let lead = (now_ns - self.next_ns) as f64 - self.next_rem as f64 / self.amount as f64;
        let tokens = self.burst as f64 + lead * self.amount as f64 / self.per_ns as f64;
        let tokens = tokens.min(next.burst as f64);
        let ahead = (next.burst as f64 - tokens) * next.per_ns as f64 / next.amount as f64;
        next.origin = Some(origin);
        next.next_ns = now_ns + ahead.ceil() as i128;
        next
    }

    /// Records that `units` went out.
    pub fn spend(&mut self, units: u64) {
        let step = i128::from(units) * self.per_ns + self.next_rem;
        self.next_ns += step.div_euclid(self.amount);
        self.next_rem = step.rem_euclid(self.amount);
    }
}

fn nanos_between(origin: Instant, t: Instant) -> i128 {
    match t.checked_duration_since(origin) {
        Some(after) => after.as_nanos() as i128,
        None => -((origin - t).as_nanos() as i128),
    }
}

fn instant_at(origin: Instant, ns: i128) -> Instant {
    let offset = Duration::from_nanos(ns.unsigned_abs().min(u64::MAX.into()) as u64);
    if ns >= 0 {
        // Far enough never to come (a rate of one item per ten years).
        origin
            .checked_add(offset)
            .unwrap_or(origin + crate::values::MAX_DURATION)
    } else {
        origin.checked_sub(offset).unwrap_or(origin)
    }
}
