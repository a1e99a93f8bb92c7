//! The writer's one way to wait: for stdout to take data, for the queue's waker, for a rate
//! deadline, all at once in `ppoll`, so that every wait notices a departed consumer and a
//! stop. Behind a trait so that pacing is tested on a fake clock, exactly.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::time::{Duration, Instant};

use crate::queue::Queue;

/// Why a wait ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Woke {
    /// Stdout can take data.
    Room,
    /// Stdout's reader is gone (or stdout failed): the next write says how.
    Hangup,
    /// The queue rang: news for the writer.
    Rung,
    /// The deadline passed.
    Timeout,
}

pub trait Wait {
    fn now(&self) -> Instant;
    /// Waits until `sink` can take data (if `room`), `sink` hangs up, the queue rings, or
    /// `until` passes.
    fn wait(&mut self, sink: Option<BorrowedFd<'_>>, room: bool, until: Option<Instant>) -> Woke;
}

/// Waits in `ppoll` on the queue's waker and the sink; reads the time on the queue's clock,
/// so that times in queue are measured on one clock.
pub struct Poller<'a> {
    queue: &'a Queue,
}

impl<'a> Poller<'a> {
    pub fn new(queue: &'a Queue) -> Poller<'a> {
        Poller { queue }
    }
}

impl Wait for Poller<'_> {
    fn now(&self) -> Instant {
        self.queue.now()
    }

    fn wait(&mut self, sink: Option<BorrowedFd<'_>>, room: bool, until: Option<Instant>) -> Woke {
        use std::os::fd::AsFd;
        let mut fds = [
            libc::pollfd {
                fd: self.queue.waker().as_fd().as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                // A negative descriptor is ignored by poll.
                fd: sink.map_or(-1, |fd| fd.as_raw_fd()),
                // Room on a pipe is POLLOUT; on a worker pool's epoll descriptor, POLLIN.
                events: if room {
                    libc::POLLOUT | libc::POLLIN
                } else {
                    0
                },
                revents: 0,
            },
        ];
        loop {
            let left = until.map(|t| t.saturating_duration_since(Instant::now()));
            let timespec = left.map(|left| libc::timespec {
                tv_sec: left.as_secs().min(i32::MAX as u64) as libc::time_t,
                tv_nsec: left.subsec_nanos() as libc::c_long,
            });
            let timeout = timespec
                .as_ref()
                .map_or(std::ptr::null(), |t| t as *const _);
            // SAFETY: two valid pollfds; the timespec, if any, lives across the call.
            let n = unsafe { libc::ppoll(fds.as_mut_ptr(), 2, timeout, std::ptr::null()) };
            if n < 0 {
                if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                // Cannot poll (should not happen): do not spin; let the caller look again.
                std::thread::sleep(Duration::from_millis(1));
                return Woke::Timeout;
            }
            if fds[0].revents != 0 {
                self.queue.waker().clear();
                return Woke::Rung;
            }
            let sink = fds[1].revents;
            if sink & (libc::POLLERR | libc::POLLHUP | libc::POLLNVAL) != 0 {
                return Woke::Hangup;
            }
            if sink & (libc::POLLOUT | libc::POLLIN) != 0 {
                return Woke::Room;
            }
            if n == 0 {
                return Woke::Timeout;
            }
        }
    }
}

/// A clock that moves only when waited on, optionally oversleeping like a real one; the sink
/// always has room.
#[cfg(test)]
#[derive(Clone, Debug)]
pub struct FakeWait {
    pub now: Instant,
    /// Added to every timed wait, as timer slack and scheduling add to real ones.
    pub overshoot: Duration,
    pub waits: usize,
}

#[cfg(test)]
impl Default for FakeWait {
    fn default() -> FakeWait {
        FakeWait::new()
    }
}

#[cfg(test)]
impl FakeWait {
    pub fn new() -> FakeWait {
        FakeWait {
            now: Instant::now(),
            overshoot: Duration::ZERO,
            waits: 0,
        }
    }
}

#[cfg(test)]
impl Wait for FakeWait {
    fn now(&self) -> Instant {
        self.now
    }

    fn wait(&mut self, _: Option<BorrowedFd<'_>>, room: bool, until: Option<Instant>) -> Woke {
        self.waits += 1;
        match until {
            Some(until) if !room => {
                self.now = self.now.max(until) + self.overshoot;
                Woke::Timeout
            }
            _ => Woke::Room,
        }
    }
}
