//! Time in queue: how long delivered items waited in bpipe, from the read that brought them
//! to the write that delivered them, in fixed-size log-bucket histograms (hdrhistogram):
//! memory stays flat whatever the input. Items of one read share one arrival time.

use std::time::Duration;

use hdrhistogram::Histogram;

/// Longest wait told apart (longer ones count as this long): a year, in microseconds.
const MAX_US: u64 = 365 * 24 * 3600 * 1_000_000;

/// p50, p99 and max of the waits recorded, and how many.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WaitFigures {
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
    pub items: u64,
    /// All waits added up (to the histogram's resolution).
    pub sum: Duration,
}

/// Waits over the whole run and since the last record.
#[derive(Debug)]
pub struct Waits {
    run: Histogram<u64>,
    interval: Histogram<u64>,
    /// The longest waits exactly (the histogram rounds up to its bucket's top, which could
    /// tell of a wait longer than the run): microseconds.
    run_max: u64,
    interval_max: u64,
}

impl Default for Waits {
    fn default() -> Waits {
        // Two significant figures: 1% resolution at any scale, a few KiB each.
        let histogram = || Histogram::new_with_bounds(1, MAX_US, 2).expect("valid bounds");
        Waits {
            run: histogram(),
            interval: histogram(),
            run_max: 0,
            interval_max: 0,
        }
    }
}

fn figures(h: &Histogram<u64>, max: u64) -> WaitFigures {
    if h.is_empty() {
        return WaitFigures::default();
    }
    let us = |v: u64| Duration::from_micros(v.min(max));
    WaitFigures {
        p50: us(h.value_at_quantile(0.5)),
        p99: us(h.value_at_quantile(0.99)),
        max: us(max),
        items: h.len(),
        sum: Duration::from_secs_f64(h.mean() * h.len() as f64 / 1e6),
    }
}

impl Waits {
    /// `items` were delivered after waiting `wait`.
    pub fn record(&mut self, wait: Duration, items: u64) {
        if items == 0 {
            return;
        }
        let us = (wait.as_micros() as u64).clamp(1, MAX_US);
        // Within bounds by the clamp: recording cannot fail.
        let _ = self.run.record_n(us, items);
        let _ = self.interval.record_n(us, items);
        self.run_max = self.run_max.max(us);
        self.interval_max = self.interval_max.max(us);
    }

    /// (whole run, since the last [`Waits::next_interval`]).
    pub fn figures(&self) -> (WaitFigures, WaitFigures) {
        (
            figures(&self.run, self.run_max),
            figures(&self.interval, self.interval_max),
        )
    }

    /// Starts a new interval.
    pub fn next_interval(&mut self) {
        self.interval.reset();
        self.interval_max = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_figures_from_known_waits() {
        let mut w = Waits::default();
        // 98 items waited 1 ms, one 50 ms, one 2 s.
        w.record(Duration::from_millis(1), 98);
        w.record(Duration::from_millis(50), 1);
        w.record(Duration::from_secs(2), 1);
        let (run, interval) = w.figures();
        assert_eq!(run, interval);
        assert_eq!(run.items, 100);
        // Two significant figures: within 1%.
        let close = |got: Duration, want: Duration| {
            (got.as_secs_f64() - want.as_secs_f64()).abs() <= want.as_secs_f64() * 0.01
        };
        assert!(close(run.p50, Duration::from_millis(1)), "{run:?}");
        assert!(close(run.p99, Duration::from_millis(50)), "{run:?}");
        // The longest wait is kept exactly: never longer than any item waited.
        assert_eq!(run.max, Duration::from_secs(2));
        w.next_interval();
        w.record(Duration::from_millis(7), 3);
        let (run, interval) = w.figures();
        assert_eq!(run.items, 103);
        assert_eq!(interval.items, 3);
        assert!(close(interval.max, Duration::from_millis(7)));
    }

    #[test]
    fn memory_is_flat_whatever_the_waits() {
        let mut w = Waits::default();
        let before = w.run.distinct_values();
        for i in 0..100_000u64 {
            w.record(Duration::from_micros(i * 7919 % 10_000_000), 1);
        }
        assert_eq!(w.run.distinct_values(), before);
        w.record(Duration::from_secs(100 * 365 * 24 * 3600), 1);
        // A wait beyond the range counts as a year (to the histogram's 1%).
        let max = w.figures().0.max.as_secs_f64();
        assert!((max / (MAX_US as f64 / 1e6) - 1.0).abs() < 0.01, "{max}");
    }
}
