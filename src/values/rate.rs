//! Rate limits as users type them: the `--rate` and `--burst` forms (the limiter that
//! enforces them is the writer's, in `output::rate`).

use std::fmt;
use std::time::Duration;

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
            Err(_) => match super::units::parse_size(amount) {
                Ok(size) => (size, Unit::Bytes),
                Err(_) => return Err(bad()),
            },
        };
        if amount == 0 {
            return Err(format!(
                "the amount must be more than 0 ({RATE_FORMS}); got '{text}'"
            ));
        }
        if per > super::MAX_DURATION {
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
                .find(|(unit, _)| self.amount.is_multiple_of(*unit))
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
