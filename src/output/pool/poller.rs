//! The pool's one pollable descriptor: an epoll set of the workers' pipes (room, when asked
//! for), their pidfds (an exit), and a timer that ticks every [`TICK`] for the pool's
//! housekeeping while it has any (see `Pool::tend_now`): an idle pool sleeps.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::time::Duration;

/// How often exits are reaped and the pool resized.
pub const TICK: Duration = Duration::from_millis(100);
const TIMER: u64 = u64::MAX;
/// Keys of pidfds: the slot's number with this bit set.
const EXIT: u64 = 1 << 62;

pub struct Epoll {
    fd: OwnedFd,
    timer: OwnedFd,
    ticking: bool,
}

/// What the epoll set says now.
pub struct Ready {
    /// A pipe asked for has room.
    pub room: bool,
    /// The timer ticked.
    pub tick: bool,
    /// A worker exited.
    pub exit: bool,
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
            let mut epoll = Epoll {
                fd,
                timer,
                ticking: false,
            };
            epoll.tick(true)?;
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

    /// Starts (`true`) or stops the timer; nothing if it already is so.
    pub fn tick(&mut self, on: bool) -> io::Result<()> {
        if on == self.ticking {
            return Ok(());
        }
        let every = libc::timespec {
            tv_sec: 0,
            tv_nsec: if on {
                TICK.as_nanos() as libc::c_long
            } else {
                0
            },
        };
        let spec = libc::itimerspec {
            it_interval: every,
            it_value: every,
        };
        // SAFETY: a timerfd this set owns and a live itimerspec.
        check(unsafe {
            libc::timerfd_settime(self.timer.as_raw_fd(), 0, &spec, std::ptr::null_mut())
        })?;
        self.ticking = on;
        Ok(())
    }

    /// Adds slot `key`'s pidfd: readable once its worker has exited (and until the pidfd is
    /// closed, which takes it out of the set).
    pub fn add_exit(&self, fd: BorrowedFd<'_>, key: u64) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_ADD, fd, EXIT | key, libc::EPOLLIN as u32)
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
            exit: false,
        };
        for event in events.iter().take(n.max(0) as usize) {
            let (key, flags) = (event.u64, event.events);
            match key {
                TIMER => {
                    let mut expirations = [0u8; 8];
                    // SAFETY: reads 8 bytes into a buffer of 8 from a nonblocking timerfd.
                    unsafe {
                        libc::read(self.timer.as_raw_fd(), expirations.as_mut_ptr().cast(), 8)
                    };
                    ready.tick = true;
                }
                key if key & EXIT != 0 => ready.exit = true,
                _ => ready.room |= flags & (libc::EPOLLOUT as u32) != 0,
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
