//! Where the writer's bytes go, and whether it takes them now.
//!
//! What "stdout takes data now" means (README, "When is an item shed?"):
//! - a pipe or socket takes data while it has room: bpipe writes with `RWF_NOWAIT`, so a
//!   write never waits, and a full pipe is a consumer that is behind. On kernels without
//!   `RWF_NOWAIT` for pipes, stdout is switched to `O_NONBLOCK` while bpipe runs and its
//!   flags are restored before it is closed;
//! - a file, a terminal, `/dev/null` always take data: a write may take its time, but it is
//!   never counted as the consumer falling behind.

use std::fs::File;
use std::io::{self, IoSlice, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::fs::FileTypeExt;

/// The writer's output.
pub trait Sink {
    /// Writes what can go now without waiting; `WouldBlock` when nothing can.
    fn write_now(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize>;
    /// Moves `len` bytes of `file`, from `offset`, as many as go now without waiting and
    /// without copying them through memory (`splice`); `Unsupported` when the sink cannot.
    fn splice_now(&mut self, _file: &File, _offset: u64, _len: usize) -> io::Result<usize> {
        Err(io::ErrorKind::Unsupported.into())
    }
    /// What to poll for room (readable or writable) and for a reader that left, if anything.
    fn fd(&self) -> Option<BorrowedFd<'_>>;
}

/// How a sink's end came.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Finish {
    /// At the end of the input, with everything handed over.
    Complete,
    /// Cut short (a stop, a failure, an abandon).
    Cut,
}

/// A sink that hands items on to processes of its own (a pool of workers): it has work of
/// its own, may give items back, and ends by waiting for them. A plain output needs none of
/// it: the defaults.
pub trait Relay: Sink {
    /// Whether the sink has work of its own even when the writer has nothing for it (a
    /// pool's workers to watch): then the idle writer polls `fd` for room too, and calls
    /// [`Relay::tend`] when it is ready.
    fn busy(&self) -> bool {
        false
    }
    /// Does that work, given how full the queue is (0 to 1); says whether a write may go
    /// now. A plain output always may once polled ready.
    fn tend(&mut self, _fill: f64) -> io::Result<bool> {
        Ok(true)
    }
    /// Items the sink took but could not hand on after all (a worker exited without reading
    /// them): undelivered. Taken once.
    fn recalled(&mut self) -> crate::books::tally::Tally {
        crate::books::tally::Tally::ZERO
    }
    /// At the end: hands on what the sink still holds, waiting as long as that takes.
    fn finish(&mut self, _how: Finish) -> io::Result<()> {
        Ok(())
    }
    /// The run was given up on (a stop's drain, or `fail`'s, timed out).
    fn abandon(&mut self) {}
    /// How long a stop waits for the writer to settle what it holds (a pool: for its workers
    /// to exit).
    fn settle_time(&self) -> std::time::Duration {
        std::time::Duration::from_secs(1)
    }
}

/// How a stdout is written without waiting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// `pwritev2(RWF_NOWAIT)`: per call, nothing shared is changed.
    NoWait,
    /// `O_NONBLOCK` on the open file description, restored (to these flags) on drop.
    NonBlocking(libc::c_int),
    /// Plain writes: the output always takes data.
    Always,
}

/// Stdout (or any descriptor bpipe owns).
#[derive(Debug)]
pub struct Stdout {
    file: File,
    mode: Mode,
}

impl Stdout {
    pub fn new(file: File) -> Stdout {
        let pipe = file
            .metadata()
            .is_ok_and(|m| m.file_type().is_fifo() || m.file_type().is_socket());
        let mode = if !pipe {
            Mode::Always
        } else if pwritev2(&file, &[IoSlice::new(&[])]).is_ok() {
            Mode::NoWait
        } else {
            non_blocking(&file)
        };
        Stdout { file, mode }
    }
}

/// Switches `file` to `O_NONBLOCK`, keeping its flags to restore; or, if it cannot, leaves it
/// blocking (then it always takes data, as far as bpipe can tell).
fn non_blocking(file: &File) -> Mode {
    // SAFETY: F_GETFL/F_SETFL on a descriptor we own.
    let flags = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_GETFL) };
    let set = flags >= 0
        && unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK) } >= 0;
    if set {
        Mode::NonBlocking(flags)
    } else {
        Mode::Always
    }
}

impl Drop for Stdout {
    fn drop(&mut self) {
        if let Mode::NonBlocking(flags) = self.mode {
            // SAFETY: restores the flags found at the start, before the File closes.
            unsafe { libc::fcntl(self.file.as_raw_fd(), libc::F_SETFL, flags) };
        }
    }
}

fn pwritev2(file: &File, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
    // Linux's IOV_MAX.
    let count = bufs.len().min(1024) as libc::c_int;
    // SAFETY: IoSlice is ABI-compatible with iovec; the slices outlive the call.
    let n = unsafe {
        libc::pwritev2(
            file.as_raw_fd(),
            bufs.as_ptr().cast(),
            count,
            -1,
            libc::RWF_NOWAIT,
        )
    };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

impl Sink for Stdout {
    fn write_now(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self.mode {
            Mode::NoWait => match pwritev2(&self.file, bufs) {
                // The kernel takes RWF_NOWAIT on anonymous pipes only: a FIFO opened by name
                // (or /dev/stdout) refuses it at the first write that carries data.
                Err(e) if e.raw_os_error() == Some(libc::EOPNOTSUPP) => {
                    self.mode = non_blocking(&self.file);
                    self.write_now(bufs)
                }
                result => result,
            },
            Mode::NonBlocking(_) | Mode::Always => self.file.write_vectored(bufs),
        }
    }

    /// A pipe or socket only: a file or terminal always takes data, and is written.
    fn splice_now(&mut self, file: &File, offset: u64, len: usize) -> io::Result<usize> {
        if self.mode == Mode::Always {
            return Err(io::ErrorKind::Unsupported.into());
        }
        let mut offset = offset as libc::loff_t;
        // SAFETY: both descriptors are open for the call; the offset is ours.
        let n = unsafe {
            libc::splice(
                file.as_raw_fd(),
                &mut offset,
                self.file.as_raw_fd(),
                std::ptr::null_mut(),
                len,
                libc::SPLICE_F_NONBLOCK,
            )
        };
        match n {
            0.. => Ok(n as usize),
            _ => match io::Error::last_os_error() {
                // A file system or descriptor that cannot splice.
                e if e.raw_os_error() == Some(libc::EINVAL) => {
                    Err(io::ErrorKind::Unsupported.into())
                }
                e => Err(e),
            },
        }
    }

    fn fd(&self) -> Option<BorrowedFd<'_>> {
        Some(self.file.as_fd())
    }
}

impl Relay for Stdout {}

/// Any `Write` that always takes data (a buffer in tests).
#[cfg(test)]
pub struct Always<W>(pub W);

#[cfg(test)]
impl<W: Write> Relay for Always<W> {}

#[cfg(test)]
impl<W: Write> Sink for Always<W> {
    fn write_now(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.0.write_vectored(bufs)
    }

    fn fd(&self) -> Option<BorrowedFd<'_>> {
        None
    }
}
