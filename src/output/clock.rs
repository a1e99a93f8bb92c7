//! Time, behind a trait so that rate limiting can be tested with a fake clock, exactly.

use std::time::Instant;

/// A source of time that can also wait.
pub trait Clock: Send {
    fn now(&self) -> Instant;
    /// Returns at `deadline` or (for a real clock) a little after it.
    fn sleep_until(&mut self, deadline: Instant);
}

/// The real clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn sleep_until(&mut self, deadline: Instant) {
        let wait = deadline.saturating_duration_since(Instant::now());
        if !wait.is_zero() {
            std::thread::sleep(wait);
        }
    }
}

/// A clock that only moves when slept on, optionally oversleeping like a real one.
#[cfg(test)]
#[derive(Clone, Debug)]
pub struct FakeClock {
    pub now: Instant,
    /// Added to every sleep, as timer slack and scheduling add to real ones.
    pub overshoot: std::time::Duration,
    pub sleeps: usize,
}

#[cfg(test)]
impl Default for FakeClock {
    fn default() -> FakeClock {
        FakeClock::new()
    }
}

#[cfg(test)]
impl FakeClock {
    pub fn new() -> FakeClock {
        FakeClock {
            now: Instant::now(),
            overshoot: std::time::Duration::ZERO,
            sleeps: 0,
        }
    }

    pub fn advance(&mut self, by: std::time::Duration) {
        self.now += by;
    }
}

#[cfg(test)]
impl Clock for FakeClock {
    fn now(&self) -> Instant {
        self.now
    }

    fn sleep_until(&mut self, deadline: Instant) {
        self.sleeps += 1;
        self.now = self.now.max(deadline) + self.overshoot;
    }
}
