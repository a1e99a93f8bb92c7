//! Rate limits: the `--rate` and `--burst` forms, and the limiter that enforces them.
//!
//! The limiter is a token bucket kept as a schedule (GCRA): `next` is when the next unit
//! (item or byte) is due, and a unit may go once `now >= next - tolerance`, where the
//! tolerance lets `burst` units through at once. After an idle spell the schedule restarts at
//! `now`, so saved-up credit never exceeds `burst` (pv and mbuffer both let it through). While
//! a backlog is waiting, lateness of up to [`CATCH_UP`] is made up, so that sleeping a little
//! too long (timer slack, scheduling) does not lower the average rate.

use std::fmt;
use std::time::{Duration, Instant};

/// Lateness made up while a backlog waits; anything later is forgiven, not bunched up.
pub const CATCH_UP: Duration = Duration::from_millis(20);
/// Default burst for a byte rate: this much of the rate, within the bounds below.
const BYTE_BURST_SHARE: Duration = Duration::from_millis(20);
const MAX_DEFAULT_BYTE_BURST: u64 = 64 * 1024;

/// What a rate counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Items,
    Bytes,
}

/// `amount` units per `per`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    pub amount: u64,
    pub per: Duration,
    pub unit: Unit,
}

const RATE_FORMS: &str = "expected N/PERIOD or SIZE/PERIOD, e.g. 1000/s, 50/100ms, 30/min, \
                          10MiB/s, 512KiB/250ms; a bare number is items per second";

impl Rate {
    /// Parses `1000/s`, `50/100ms`, `30/min`, `2/h`, `10MiB/s`, `512KiB/250ms` or `1000`.
    pub fn parse(text: &str) -> Result<Rate, String> {
        let bad = || format!("{RATE_FORMS}; got '{text}'");
        let (amount, period) = text.trim().split_once('/').unwrap_or((text.trim(), "s"));
        let period = period.trim();
        let per = if period.starts_with(|c: char| c.is_ascii_digit()) {
            humantime::parse_duration(period)
        } else {
            humantime::parse_duration(&format!("1{period}"))
        }
        .map_err(|_| bad())?;
        let amount = amount.trim();
        let (amount, unit) = match amount.parse::<u64>() {
            Ok(n) => (n, Unit::Items),
            Err(_) => match crate::units::parse_size(amount) {
                Ok(size) => (size, Unit::Bytes),
                Err(_) => return Err(bad()),
            },
        };
        if amount == 0 {
            return Err(format!(
                "the amount must be more than 0 ({RATE_FORMS}); got '{text}'"
            ));
        }
        if per > crate::config::MAX_DURATION {
            return Err(format!(
                "the period must be at most 10 years ({RATE_FORMS}); got '{text}'"
            ));
        }
        if per.is_zero() {
            return Err(format!(
                "the period must be longer than 0 ({RATE_FORMS}); got '{text}'"
            ));
        }
        Ok(Rate { amount, per, unit })
    }

    /// Units per second.
    pub fn per_second(&self) -> f64 {
        self.amount as f64 / self.per.as_secs_f64()
    }

    /// The burst when `--burst` is not given: one item, or for a byte rate 20 ms of it
    /// (at least one byte, at most 64 KiB): small enough that an idle stream does not burst,
    /// large enough for writes of a sensible size.
    pub fn default_burst(&self) -> u64 {
        match self.unit {
            Unit::Items => 1,
            Unit::Bytes => ((self.per_second() * BYTE_BURST_SHARE.as_secs_f64()) as u64)
                .clamp(1, MAX_DEFAULT_BYTE_BURST),
        }
    }
}

/// Exact, so that it parses back to the same rate: `10MiB/s`, `1500/100ms`, `1234567B/s`.
impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.unit {
            Unit::Items => write!(f, "{}", self.amount)?,
            Unit::Bytes => {
                let (unit, name) = [
                    (1 << 40, "TiB"),
                    (1 << 30, "GiB"),
                    (1 << 20, "MiB"),
                    (1 << 10, "KiB"),
                ]
                .into_iter()
                .find(|(unit, _)| self.amount % unit == 0)
                .unwrap_or((1, "B"));
                write!(f, "{}{name}", self.amount / unit)?;
            }
        }
        match self.per.as_secs_f64() {
            1.0 => f.write_str("/s"),
            60.0 => f.write_str("/min"),
            3600.0 => f.write_str("/h"),
            _ => write!(
                f,
                "/{}",
                humantime::format_duration(self.per)
                    .to_string()
                    .replace(' ', "")
            ),
        }
    }
}

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
            .unwrap_or(origin + crate::config::MAX_DURATION)
    } else {
        origin.checked_sub(offset).unwrap_or(origin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(text: &str) -> Rate {
        Rate::parse(text).unwrap()
    }

    #[test]
    fn parses_every_form() {
        let items = |amount, ms| Rate {
            amount,
            per: Duration::from_millis(ms),
            unit: Unit::Items,
        };
        let bytes = |amount, ms| Rate {
            amount,
            per: Duration::from_millis(ms),
            unit: Unit::Bytes,
        };
        assert_eq!(rate("1000/s"), items(1000, 1000));
        assert_eq!(rate("50/100ms"), items(50, 100));
        assert_eq!(rate("30/min"), items(30, 60_000));
        assert_eq!(rate("2/h"), items(2, 3_600_000));
        assert_eq!(rate("5/2s"), items(5, 2000));
        assert_eq!(rate("1000"), items(1000, 1000));
        assert_eq!(rate("10MiB/s"), bytes(10 << 20, 1000));
        assert_eq!(rate("512KiB/250ms"), bytes(512 << 10, 250));
        assert_eq!(rate("1MB/s"), bytes(1_000_000, 1000));
        // A bare K is 1024, as with pv -L 2k.
        assert_eq!(rate("2k"), bytes(2048, 1000));
        assert_eq!(rate("2K/s"), bytes(2048, 1000));
    }

    #[test]
    fn rejects_what_it_cannot_use() {
        for bad in [
            "0/s",
            "fast",
            "10/0s",
            "10/fortnight",
            "/s",
            "-5/s",
            "MiB/s",
            "",
            "0MiB/s",
            "1/300000000000y",
        ] {
            assert!(Rate::parse(bad).is_err(), "{bad} was accepted");
        }
        assert!(
            Rate::parse("0/s")
                .unwrap_err()
                .starts_with("the amount must be more than 0")
        );
        assert!(
            Rate::parse("10/0s")
                .unwrap_err()
                .starts_with("the period must be longer than 0")
        );
        assert!(Rate::parse("fast").unwrap_err().contains("e.g. 1000/s"));
    }

    #[test]
    fn bursts() {
        assert_eq!(rate("100/s").default_burst(), 1);
        assert_eq!(rate("1MiB/s").default_burst(), (1 << 20) / 50);
        assert_eq!(rate("1GiB/s").default_burst(), 64 << 10);
        assert_eq!(rate("10/s").default_burst(), 1);
        assert_eq!(Rate::parse("1B/s").unwrap().default_burst(), 1);
    }

    #[test]
    fn display_round_trips() {
        for text in [
            "50/100ms",
            "10MiB/s",
            "30/min",
            "2/h",
            "1234567B/s",
            "1MB/s",
            "7/1h 30m",
            "3KiB/250ms",
        ] {
            let parsed = rate(text);
            let shown = parsed.to_string();
            assert_eq!(Rate::parse(&shown), Ok(parsed), "{text} shows as {shown}");
        }
        assert_eq!(rate("10MiB/s").to_string(), "10MiB/s");
        assert_eq!(rate("1MB/s").to_string(), "1000000B/s");
        assert_eq!(rate("50/100ms").to_string(), "50/100ms");
    }
}
