//! `--rate-schedule '08:00 1MiB/s, 18:00 off'`: a rate by the time of day (local time), as
//! rclone's `--bwlimit` timetable. The rate at a moment is that of the last entry at or
//! before it, the day wrapping round (before the first entry, the last one's applies).

use std::fmt;
use std::time::Duration;

use crate::values::rate::Rate;

/// Minutes in a day.
const DAY: u32 = 24 * 60;

/// Entries sorted by their minute of the day; each a rate, or `None` (off).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    entries: Vec<(u32, Option<Rate>)>,
}

impl Schedule {
    /// Parses `HH:MM RATE|off, ...` (at least one entry, each time once).
    pub fn parse(text: &str) -> Result<Schedule, String> {
        let form = "expected 'HH:MM RATE, HH:MM RATE...', e.g. '08:00 1MiB/s, 18:00 off'";
        let mut entries = Vec::new();
        for entry in text.split(',').map(str::trim) {
            let mut words = entry.split_whitespace();
            let (Some(time), Some(rate), None) = (words.next(), words.next(), words.next()) else {
                return Err(format!("{form}; got '{entry}'"));
            };
            let minute = minute_of_day(time).ok_or_else(|| {
                format!("'{time}' is not a time of day (HH:MM, 00:00 to 23:59); {form}")
            })?;
            let rate = match rate {
                "off" | "none" => None,
                rate => Some(Rate::parse(rate)?),
            };
            if entries.iter().any(|(m, _)| *m == minute) {
                return Err(format!("{time} is given twice; {form}"));
            }
            entries.push((minute, rate));
        }
        entries.sort_by_key(|(minute, _)| *minute);
        Ok(Schedule { entries })
    }

    /// The rate at `minute` of the day.
    pub fn at(&self, minute: u32) -> Option<Rate> {
        let last = self.entries.last().expect("at least one entry");
        self.entries
            .iter()
            .rev()
            .find(|(m, _)| *m <= minute)
            .unwrap_or(last)
            .1
    }

    /// How long from `second` of the day until the next entry begins.
    pub fn next_change(&self, second: u32) -> Duration {
        let minute = second / 60;
        let next = self
            .entries
            .iter()
            .map(|(m, _)| *m)
            .find(|m| *m > minute)
            .unwrap_or(self.entries[0].0 + DAY);
        Duration::from_secs(u64::from(next * 60 - second))
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (minute, rate)) in self.entries.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            write!(f, "{sep}{:02}:{:02} ", minute / 60, minute % 60)?;
            match rate {
                Some(rate) => write!(f, "{rate}")?,
                None => f.write_str("off")?,
            }
        }
        Ok(())
    }
}

fn minute_of_day(time: &str) -> Option<u32> {
    let (h, m) = time.split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60 && time.len() <= 5).then_some(h * 60 + m)
}

/// The second of the day now, in local time (the zone of the system, or `TZ`).
pub fn local_second_of_day() -> u32 {
    // SAFETY: time and localtime_r fill the structs they are given.
    unsafe {
        let now = libc::time(std::ptr::null_mut());
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&now, &mut tm).is_null() {
            return (now.rem_euclid(86_400)) as u32;
        }
        (tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec.min(59)) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_entry_at_or_before_applies_and_the_day_wraps() {
        let s = Schedule::parse("18:00 off, 08:00 1MiB/s").unwrap();
        assert_eq!(s.to_string(), "08:00 1MiB/s, 18:00 off");
        let mib = Rate::parse("1MiB/s").unwrap();
        assert_eq!(s.at(8 * 60), Some(mib));
        assert_eq!(s.at(17 * 60 + 59), Some(mib));
        assert_eq!(s.at(18 * 60), None);
        // Before 08:00, yesterday's 18:00 entry.
        assert_eq!(s.at(7 * 60), None);
        assert_eq!(
            s.next_change(7 * 3600 + 59 * 60 + 30),
            Duration::from_secs(30)
        );
        assert_eq!(s.next_change(18 * 3600), Duration::from_secs(14 * 3600));
        assert_eq!(
            Schedule::parse("12:00 100/s")
                .unwrap()
                .next_change(12 * 3600),
            Duration::from_secs(24 * 3600)
        );
    }

    #[test]
    fn bad_schedules_say_the_form() {
        for bad in [
            "",
            "8 100/s",
            "24:00 1/s",
            "08:00",
            "08:00 1/s 2",
            "08:00 5x",
            "1:00 1/s, 01:00 2/s",
        ] {
            let e = Schedule::parse(bad).unwrap_err();
            assert!(
                e.contains("HH:MM") || e.contains("expected N/PERIOD"),
                "{bad}: {e}"
            );
        }
    }
}
