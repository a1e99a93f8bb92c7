//! The queue's time source: the monotonic clock, or in tests a clock that moves only when
//! told, so that times in queue, ages and stalls are checked exactly. It also says when bpipe
//! was last continued after a stop (Ctrl-Z and `fg`, SIGSTOP and SIGCONT): the monotonic
//! clock runs on while a process is stopped, and that time is not the consumer's.

use std::fmt;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Where the queue reads the time.
pub trait Clock: Send + Sync + fmt::Debug {
    fn now(&self) -> Instant;
    /// When bpipe was last continued after being stopped, if it was.
    fn continued(&self) -> Option<Instant> {
        None
    }
}

/// The monotonic clock (`Instant::now`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Monotonic;

/// When SIGCONT last came, in nanoseconds after [`BASE`] (0: never).
static CONTINUED: AtomicU64 = AtomicU64::new(0);
static BASE: OnceLock<Instant> = OnceLock::new();

/// Makes [`note_continued`] usable: call before its signal handler is installed.
pub fn watch_continues() {
    BASE.get_or_init(Instant::now);
}

/// bpipe was continued after a stop, now. Async-signal-safe (a clock read and an atomic
/// store), for a SIGCONT handler.
pub fn note_continued() {
    if let Some(base) = BASE.get() {
        let since = Instant::now().saturating_duration_since(*base);
        let nanos = u64::try_from(since.as_nanos()).unwrap_or(u64::MAX).max(1);
        CONTINUED.store(nanos, Ordering::Relaxed);
    }
}

impl Clock for Monotonic {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn continued(&self) -> Option<Instant> {
        let nanos = CONTINUED.load(Ordering::Relaxed);
        let base = BASE.get()?;
        (nanos > 0).then(|| *base + Duration::from_nanos(nanos))
    }
}

/// A clock that stands still until [`FakeClock::advance`]; clones share one time.
#[cfg(test)]
#[derive(Clone, Debug)]
pub struct FakeClock(std::sync::Arc<std::sync::Mutex<(Instant, Option<Instant>)>>);

#[cfg(test)]
impl Default for FakeClock {
    fn default() -> FakeClock {
        FakeClock(std::sync::Arc::new(std::sync::Mutex::new((
            Instant::now(),
            None,
        ))))
    }
}

#[cfg(test)]
impl FakeClock {
    pub fn advance(&self, by: Duration) {
        self.0.lock().unwrap().0 += by;
    }

    /// bpipe is stopped for `by`, then continued.
    pub fn stop(&self, by: Duration) {
        let mut time = self.0.lock().unwrap();
        time.0 += by;
        time.1 = Some(time.0);
    }
}

#[cfg(test)]
impl Clock for FakeClock {
    fn now(&self) -> Instant {
        self.0.lock().unwrap().0
    }

    fn continued(&self) -> Option<Instant> {
        self.0.lock().unwrap().1
    }
}
