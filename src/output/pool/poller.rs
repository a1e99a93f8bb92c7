//! The pool's one pollable descriptor: an epoll set of the workers' pipes (room, when asked
//! for) and a timer that ticks every [`TICK`] for the pool's housekeeping.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::time::Duration;

/// How often exits are reaped and the pool resized.
pub const TICK: Duration = Duration::from_millis(100);
const TIMER: u64 = u64::MAX;

pub struct Epoll {
    fd: OwnedFd,
    timer: OwnedFd,
}

/// What the epoll set says now.
pub struct Ready {
    /// A pipe asked for has room.
    pub room: bool,
    /// The timer ticked.
    pub tick: bool,
}

fn check(n: libc::c_int) -> io::Result<libc::c_int> {
    match n {
        n if n < 0 => Err(io::Error::last_os_error()),
        n => Ok(n),
    }
}

impl Epoll {
    pub fn new() -> io::Result<Epoll> {
        // SAFETY: plain syscalls; the descriptors returned are owned at once.
        unsafe {
            let fd = OwnedFd::from_raw_fd(check(libc::epoll_create1(libc::EPOLL_CLOEXEC))?);
            let timer = OwnedFd::from_raw_fd(check(libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_CLOEXEC | libc::TFD_NONBLOCK,
            ))?);
            let every = libc::timespec {
                tv_sec: 0,
                tv_nsec: TICK.as_nanos() as libc::c_long,
            };
            let spec = libc::itimerspec {
                it_interval: every,
                it_value: every,
            };
            check(libc::timerfd_settime(
                timer.as_raw_fd(),
                0,
                &spec,
                std::ptr::null_mut(),
            ))?;
            let epoll = Epoll { fd, timer };
            epoll.ctl(
                libc::EPOLL_CTL_ADD,
                epoll.timer.as_fd(),
                TIMER,
                libc::EPOLLIN as u32,
            )?;
            Ok(epoll)
        }
    }

    fn ctl(&self, op: libc::c_int, fd: BorrowedFd<'_>, key: u64, events: u32) -> io::Result<()> {
        let mut event = libc::epoll_event { events, u64: key };
        // SAFETY: valid descriptors and a live event struct.
        check(unsafe { libc::epoll_ctl(self.fd.as_raw_fd(), op, fd.as_raw_fd(), &mut event) })?;
        Ok(())
    }

    /// Adds a pipe, asking for nothing yet.
    pub fn add(&self, fd: BorrowedFd<'_>, key: u64) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_ADD, fd, key, 0)
    }

    pub fn modify(&self, fd: BorrowedFd<'_>, key: u64, events: u32) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_MOD, fd, key, events)
    }

    /// What is ready now, without waiting; clears the timer.
    pub fn ready(&self) -> Ready {
        let mut events = [libc::epoll_event { events: 0, u64: 0 }; 16];
        // SAFETY: a valid epoll descriptor and buffer.
        let n = unsafe { libc::epoll_wait(self.fd.as_raw_fd(), events.as_mut_ptr(), 16, 0) };
        let mut ready = Ready {
            room: false,
            tick: false,
        };
        for event in events.iter().take(n.max(0) as usize) {
            match event.u64 {
                TIMER => {
                    let mut expirations = [0u8; 8];
                    // SAFETY: reads 8 bytes into a buffer of 8 from a nonblocking timerfd.
                    unsafe {
                        libc::read(self.timer.as_raw_fd(), expirations.as_mut_ptr().cast(), 8)
                    };
                    ready.tick = true;
                }
                _ => ready.room |= event.events & (libc::EPOLLOUT as u32) != 0,
            }
        }
        ready
    }
}

impl AsFd for Epoll {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
