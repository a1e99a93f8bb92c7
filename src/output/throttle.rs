//! Pacing the writer: a [`Limiter`] on a [`Clock`].

use crate::output::clock::Clock;
use crate::output::rate::{Limiter, Unit};

/// The writer's rate limit: waits (never spins) until units may go.
#[derive(Debug)]
pub struct Throttle<C> {
    limiter: Limiter,
    clock: C,
}

impl<C: Clock> Throttle<C> {
    pub fn new(limiter: Limiter, clock: C) -> Throttle<C> {
        Throttle { limiter, clock }
    }

    pub fn unit(&self) -> Unit {
        self.limiter.unit()
    }

    pub fn clock(&self) -> &C {
        &self.clock
    }

    /// Sleeps until some of `want` units may go, then says how many (without spending them).
    /// Sleeps only as long as the next units need.
    pub fn wait(&mut self, want: u64, mut after_idle: bool) -> u64 {
        loop {
            match self.limiter.available(want, self.clock.now(), after_idle) {
                Ok(n) => return n,
                Err(at) => self.clock.sleep_until(at),
            }
            after_idle = false;
        }
    }

    /// Records that `units` went out.
    pub fn spend(&mut self, units: u64) {
        self.limiter.spend(units);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::clock::FakeClock;
    use crate::output::rate::Rate;
    use std::time::Duration;

    fn throttle(rate: &str, burst: Option<u64>) -> Throttle<FakeClock> {
        let rate = Rate::parse(rate).unwrap();
        let burst = burst.unwrap_or(rate.default_burst());
        Throttle::new(Limiter::new(rate, burst), FakeClock::new())
    }

    /// Sends `units` one grant at a time as a backlog would; returns the time it took.
    fn send(t: &mut Throttle<FakeClock>, mut units: u64, after_idle: bool) -> Duration {
        let start = t.clock().now;
        let mut first = after_idle;
        while units > 0 {
            let n = t.wait(units, first);
            assert!(n > 0 && n <= units);
            t.spend(n);
            units -= n;
            first = false;
        }
        t.clock().now - start
    }

    #[test]
    fn items_go_at_the_rate() {
        let mut t = throttle("1000/s", None);
        // The first item goes at once, each next one 1 ms later.
        assert_eq!(send(&mut t, 1000, true), Duration::from_millis(999));
    }

    #[test]
    fn a_burst_goes_at_once_then_the_rate_applies() {
        let mut t = throttle("100/s", Some(10));
        assert_eq!(t.wait(50, true), 10);
        t.spend(10);
        let start = t.clock().now;
        assert_eq!(t.wait(40, false), 1);
        assert_eq!(t.clock().now - start, Duration::from_millis(10));
        // Fifty in all: ten at once, then one every 10 ms.
        let mut t = throttle("100/s", Some(10));
        assert_eq!(send(&mut t, 50, true), Duration::from_millis(400));
    }

    #[test]
    fn credit_saved_while_idle_is_capped_at_the_burst() {
        let mut t = throttle("1000/s", Some(5));
        send(&mut t, 100, true);
        t.clock.advance(Duration::from_secs(10));
        // Ten idle seconds earn no more than the burst.
        assert_eq!(t.wait(1_000_000, true), 5);
        let mut t = throttle("1000/s", None);
        send(&mut t, 100, true);
        t.clock.advance(Duration::from_secs(10));
        assert_eq!(t.wait(1_000_000, true), 1);
    }

    #[test]
    fn oversleeping_does_not_lower_the_rate() {
        let mut t = throttle("20000/s", None);
        t.clock.overshoot = Duration::from_micros(80);
        let took = send(&mut t, 100_000, true);
        let ideal = Duration::from_secs_f64(99_999.0 / 20_000.0);
        assert!(took >= ideal, "{took:?} < {ideal:?}");
        assert!(
            took - ideal < Duration::from_millis(1),
            "{took:?} vs {ideal:?}"
        );
    }

    #[test]
    fn byte_rates_wait_for_a_full_burst_before_writing() {
        // 1 MiB/s: default burst 20 ms = 20971 bytes.
        let mut t = throttle("1MiB/s", None);
        assert_eq!(t.wait(1 << 20, true), 20_971);
        t.spend(20_971);
        let before = t.clock().now;
        assert_eq!(t.wait(1 << 20, false), 20_971);
        let waited = t.clock().now - before;
        assert!((waited.as_secs_f64() - 0.02).abs() < 1e-5, "{waited:?}");
        // Less than a burst wanted: only that much is waited for.
        t.spend(20_971);
        let before = t.clock().now;
        assert_eq!(t.wait(100, false), 100);
        assert!(t.clock().now - before < Duration::from_micros(100));
    }

    #[test]
    fn a_huge_amount_is_spread_at_the_rate() {
        let mut t = throttle("100KiB/s", Some(10 * 1024));
        let took = send(&mut t, 1 << 20, true);
        // All but the first burst at 100 KiB/s.
        let ideal = ((1 << 20) - 10 * 1024) as f64 / (100.0 * 1024.0);
        assert!(
            (took.as_secs_f64() - ideal).abs() < 1e-3,
            "{took:?} vs {ideal}"
        );
    }

    #[test]
    fn an_idle_throttle_never_spins() {
        let mut t = throttle("2/h", None);
        assert_eq!(send(&mut t, 3, true), Duration::from_secs(3600));
        // Two sleeps of 30 minutes, not thousands of short ones.
        assert_eq!(t.clock().sleeps, 2);
    }
}
