//! `--rate-per-key`: one token bucket per key, full when the key is first seen.

use std::time::Instant;

use crate::values::rate::{Rate, Unit};

#[derive(Clone, Copy, Debug)]
pub struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    /// A bucket holding `burst` tokens at `now` (none without a rate: it is never asked).
    pub fn full(rate: Option<(Rate, u64)>, now: Instant) -> Bucket {
        Bucket {
            tokens: rate.map_or(0.0, |(_, burst)| burst as f64),
            at: now,
        }
    }

    /// Takes what an item of `len` bytes costs (one token, or a token a byte), if the
    /// bucket holds it; a full bucket lets any one item through, owing the rest.
    pub fn take(&mut self, (rate, burst): (Rate, u64), len: u64, now: Instant) -> bool {
        let burst = burst as f64;
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate.per_second()).min(burst);
        self.at = self.at.max(now);
        let cost = match rate.unit {
            Unit::Items => 1.0,
            Unit::Bytes => len as f64,
        };
        if self.tokens >= cost.min(burst) {
            self.tokens -= cost;
            true
        } else {
            false
        }
    }
}
