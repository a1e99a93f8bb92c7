//! The queue's time source: the monotonic clock, or in tests a clock that moves only when
//! told, so that times in queue, ages and stalls are checked exactly.

use std::fmt;
use std::time::Instant;

/// Where the queue reads the time.
pub trait Clock: Send + Sync + fmt::Debug {
    fn now(&self) -> Instant;
}

/// The monotonic clock (`Instant::now`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Monotonic;

impl Clock for Monotonic {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// A clock that stands still until [`FakeClock::advance`]; clones share one time.
#[cfg(test)]
#[derive(Clone, Debug)]
pub struct FakeClock(std::sync::Arc<std::sync::Mutex<Instant>>);

#[cfg(test)]
impl Default for FakeClock {
    fn default() -> FakeClock {
        FakeClock(std::sync::Arc::new(std::sync::Mutex::new(Instant::now())))
    }
}

#[cfg(test)]
impl FakeClock {
    pub fn advance(&self, by: std::time::Duration) {
        *self.0.lock().unwrap() += by;
    }
}

#[cfg(test)]
impl Clock for FakeClock {
    fn now(&self) -> Instant {
        *self.0.lock().unwrap()
    }
}
