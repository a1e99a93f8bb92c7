//! Pacing the writer: waits, interruptibly, until the rate limit lets units go.

use std::os::fd::BorrowedFd;

use crate::output::rate::Limiter;
use crate::output::wait::{Wait, Woke};

/// Waits until some of `want` units may go and says how many (without spending them), or
/// returns what interrupted the wait: the sink hung up, or the queue rang. `held` is called
/// once if the rate makes the writer wait.
pub fn grant(
    limiter: &mut Limiter,
    want: u64,
    mut after_idle: bool,
    wait: &mut impl Wait,
    sink: Option<BorrowedFd<'_>>,
    mut held: impl FnMut(),
) -> Result<u64, Woke> {
    let mut holding = false;
    loop {
        match limiter.available(want, wait.now(), after_idle) {
            Ok(n) => return Ok(n),
            Err(at) => {
                if !holding {
                    held();
                    holding = true;
                }
                match wait.wait(sink, false, Some(at)) {
                    Woke::Timeout | Woke::Room => {}
                    interrupted => return Err(interrupted),
                }
            }
        }
        after_idle = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::wait::FakeWait;
    use crate::values::rate::Rate;
    use std::time::Duration;

    fn limiter(rate: &str, burst: Option<u64>) -> Limiter {
        let rate = Rate::parse(rate).unwrap();
        Limiter::new(rate, burst.unwrap_or(rate.default_burst()))
    }

    /// Sends `units` one grant at a time as a backlog would; returns the time it took.
    fn send(l: &mut Limiter, w: &mut FakeWait, mut units: u64, after_idle: bool) -> Duration {
        let start = w.now;
        let mut first = after_idle;
        while units > 0 {
            let n = grant(l, units, first, w, None, || {}).unwrap();
            assert!(n > 0 && n <= units);
            l.spend(n);
            units -= n;
            first = false;
        }
        w.now - start
    }

    #[test]
    fn a_changed_rate_or_burst_keeps_the_tokens_the_bucket_holds() {
        let rate = |r: &str| Rate::parse(r).unwrap();
        // Saturated at 100/s with a burst of 1000: the bucket is empty.
        let (mut l, mut w) = (limiter("100/s", Some(1000)), FakeWait::new());
        assert_eq!(grant(&mut l, 5000, true, &mut w, None, || {}), Ok(1000));
        l.spend(1000);
        // Back and forth, a larger burst, a lower rate: the next item is still not due.
        for _ in 0..10 {
            l = l.retuned(rate("100/s"), 1, w.now);
            l = l.retuned(rate("101/s"), 1000, w.now);
        }
        let mut l = l.retuned(rate("10/s"), 1000, w.now);
        assert!(l.available(5000, w.now, false).is_err());
        // The lower rate from the next item on: 10 items at 10/s take about a second.
        let took = send(&mut l, &mut w, 10, false);
        assert!(took >= Duration::from_millis(900), "{took:?}");
        // A faster rate applies at once, without waiting out the old burst's schedule.
        let mut l = l.retuned(rate("1000/s"), 1000, w.now);
        let took = send(&mut l, &mut w, 10, false);
        assert!(took <= Duration::from_millis(20), "{took:?}");
    }

    #[test]
    fn items_go_at_the_rate() {
        let (mut l, mut w) = (limiter("1000/s", None), FakeWait::new());
        // The first item goes at once, each next one 1 ms later.
        assert_eq!(send(&mut l, &mut w, 1000, true), Duration::from_millis(999));
    }

    #[test]
    fn a_burst_goes_at_once_then_the_rate_applies() {
        let (mut l, mut w) = (limiter("100/s", Some(10)), FakeWait::new());
        assert_eq!(grant(&mut l, 50, true, &mut w, None, || {}), Ok(10));
        l.spend(10);
        let start = w.now;
        let mut held = 0;
        assert_eq!(grant(&mut l, 40, false, &mut w, None, || held += 1), Ok(1));
        assert_eq!(held, 1);
        assert_eq!(w.now - start, Duration::from_millis(10));
        // Fifty in all: ten at once, then one every 10 ms.
        let (mut l, mut w) = (limiter("100/s", Some(10)), FakeWait::new());
        assert_eq!(send(&mut l, &mut w, 50, true), Duration::from_millis(400));
    }

    #[test]
    fn credit_saved_while_idle_is_capped_at_the_burst() {
        let (mut l, mut w) = (limiter("1000/s", Some(5)), FakeWait::new());
        send(&mut l, &mut w, 100, true);
        w.now += Duration::from_secs(10);
        // Ten idle seconds earn no more than the burst.
        assert_eq!(grant(&mut l, 1_000_000, true, &mut w, None, || {}), Ok(5));
        let (mut l, mut w) = (limiter("1000/s", None), FakeWait::new());
        send(&mut l, &mut w, 100, true);
        w.now += Duration::from_secs(10);
        assert_eq!(grant(&mut l, 1_000_000, true, &mut w, None, || {}), Ok(1));
    }

    #[test]
    fn oversleeping_does_not_lower_the_rate() {
        let (mut l, mut w) = (limiter("20000/s", None), FakeWait::new());
        w.overshoot = Duration::from_micros(80);
        let took = send(&mut l, &mut w, 100_000, true);
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
        let (mut l, mut w) = (limiter("1MiB/s", None), FakeWait::new());
        assert_eq!(
            grant(&mut l, 1 << 20, true, &mut w, None, || {}),
            Ok(20_971)
        );
        l.spend(20_971);
        let before = w.now;
        assert_eq!(
            grant(&mut l, 1 << 20, false, &mut w, None, || {}),
            Ok(20_971)
        );
        let waited = w.now - before;
        assert!((waited.as_secs_f64() - 0.02).abs() < 1e-5, "{waited:?}");
        // Less than a burst wanted: only that much is waited for.
        l.spend(20_971);
        let before = w.now;
        assert_eq!(grant(&mut l, 100, false, &mut w, None, || {}), Ok(100));
        assert!(w.now - before < Duration::from_micros(100));
    }

    #[test]
    fn a_huge_amount_is_spread_at_the_rate() {
        let (mut l, mut w) = (limiter("100KiB/s", Some(10 * 1024)), FakeWait::new());
        let took = send(&mut l, &mut w, 1 << 20, true);
        // All but the first burst at 100 KiB/s.
        let ideal = ((1 << 20) - 10 * 1024) as f64 / (100.0 * 1024.0);
        assert!(
            (took.as_secs_f64() - ideal).abs() < 1e-3,
            "{took:?} vs {ideal}"
        );
    }

    #[test]
    fn an_idle_throttle_never_spins() {
        let (mut l, mut w) = (limiter("2/h", None), FakeWait::new());
        assert_eq!(send(&mut l, &mut w, 3, true), Duration::from_secs(3600));
        // Two waits of 30 minutes, not thousands of short ones.
        assert_eq!(w.waits, 2);
    }

    #[test]
    fn a_hang_up_or_a_ring_ends_the_wait() {
        struct Interrupting(Woke);
        impl Wait for Interrupting {
            fn now(&self) -> std::time::Instant {
                std::time::Instant::now()
            }
            fn wait(
                &mut self,
                _: Option<BorrowedFd<'_>>,
                _: bool,
                _: Option<std::time::Instant>,
            ) -> Woke {
                self.0
            }
        }
        for woke in [Woke::Hangup, Woke::Rung] {
            let mut l = limiter("1/h", None);
            let mut w = Interrupting(woke);
            assert_eq!(grant(&mut l, 1, true, &mut w, None, || {}), Ok(1));
            l.spend(1);
            assert_eq!(grant(&mut l, 1, false, &mut w, None, || {}), Err(woke));
        }
    }
}
