//! One worker of the pool: its process, the pipe to its stdin, and what it was given.
//!
//! bpipe keeps a copy of the pipe's read end, so that when the worker exits it can read
//! back what the worker never read and count those items undelivered, exactly.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, IoSlice, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Where a slot's worker stands.
#[derive(Debug)]
pub enum State {
    /// No worker (not started, or retired).
    Vacant,
    /// Running and fed.
    Running,
    /// Its stdin is closed (idle, or the end of input): waiting for it to exit.
    Closing,
    /// Exited with this status; with `--restart`, started again at `again`.
    Exited {
        status: ExitStatus,
        again: Option<Instant>,
    },
}

/// One worker's figures, for records.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Figures {
    pub slot: usize,
    pub running: bool,
    pub items: u64,
    pub bytes: u64,
    pub undelivered: u64,
    /// Share of its running time that its pipe had room (it was keeping up).
    pub taking_share: f64,
    pub starts: u32,
    /// Its last exit status, as the shell shows it (128+N for signal N).
    pub status: Option<i32>,
    /// Its process id while it runs (for passing a stop signal on).
    pub pid: Option<u32>,
    /// How many times it failed (exited non-zero or by a signal).
    pub failures: u32,
}

#[derive(Debug)]
pub struct Slot {
    pub number: usize,
    pub state: State,
    child: Option<Child>,
    pub stdin: Option<File>,
    /// The read end of the same pipe, kept to read back what the worker left unread.
    held: Option<File>,
    /// The rest of an item the pipe did not take whole: written before anything else.
    pub stage: Vec<u8>,
    pub items: u64,
    pub bytes: u64,
    pub undelivered: u64,
    pub last_took: Instant,
    /// Since when it has had nothing left to read (seen at the pool's ticks).
    pub drained_since: Option<Instant>,
    /// Time its pipe was full, and since when it is now.
    full_total: Duration,
    full_since: Option<Instant>,
    started: Option<Instant>,
    lived: Duration,
    pub starts: u32,
    pub status: Option<i32>,
    pub failures: u32,
    /// The epoll events asked for now.
    pub interest: u32,
}

impl Slot {
    pub fn vacant(number: usize) -> Slot {
        Slot {
            number,
            state: State::Vacant,
            child: None,
            stdin: None,
            held: None,
            stage: Vec::new(),
            items: 0,
            bytes: 0,
            undelivered: 0,
            last_took: Instant::now(),
            drained_since: None,
            full_total: Duration::ZERO,
            full_since: None,
            started: None,
            lived: Duration::ZERO,
            starts: 0,
            status: None,
            failures: 0,
            interest: 0,
        }
    }

    /// Starts `command` here, with `BPIPE_WORKER` set to the slot's number.
    pub fn start(&mut self, command: &[OsString]) -> io::Result<()> {
        let (read, write) = pipe()?;
        let held = File::from(read.try_clone()?);
        let stdin = File::from(write);
        // The read end is the worker's stdin too (one open file): it stays blocking.
        non_blocking(&stdin)?;
        let child = Command::new(&command[0])
            .args(&command[1..])
            .env("BPIPE_WORKER", self.number.to_string())
            .stdin(Stdio::from(read))
            .spawn()?;
        let now = Instant::now();
        (self.child, self.stdin, self.held) = (Some(child), Some(stdin), Some(held));
        self.state = State::Running;
        self.stage.clear();
        (self.started, self.full_since, self.last_took) = (Some(now), None, now);
        self.drained_since = None;
        self.starts += 1;
        Ok(())
    }

    /// Whether it takes new items now: running, nothing staged.
    pub fn ready(&self) -> bool {
        matches!(self.state, State::Running) && self.stage.is_empty()
    }

    pub fn alive(&self) -> bool {
        matches!(self.state, State::Running | State::Closing)
    }

    /// Writes to its pipe without waiting.
    pub fn write(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let stdin = self.stdin.as_mut().ok_or(io::ErrorKind::BrokenPipe)?;
        let result = stdin.write_vectored(bufs);
        match &result {
            Ok(_) => {
                self.last_took = Instant::now();
                self.drained_since = None;
                if let Some(since) = self.full_since.take() {
                    self.full_total += since.elapsed();
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.full_since.get_or_insert_with(Instant::now);
            }
            Err(_) => {}
        }
        result
    }

    /// Writes what is staged, as far as the pipe takes it now; true once all has gone.
    pub fn flush(&mut self) -> bool {
        while !self.stage.is_empty() {
            let stage = std::mem::take(&mut self.stage);
            let result = self.write(&[IoSlice::new(&stage)]);
            self.stage = stage;
            match result {
                Ok(n) => drop(self.stage.drain(..n)),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
        true
    }

    /// Closes its stdin: the worker sees the end of its input.
    pub fn close(&mut self) {
        self.stdin = None;
        if matches!(self.state, State::Running) {
            self.state = State::Closing;
        }
        self.stop_clocks();
    }

    /// Its time fed ends (closed or exited).
    fn stop_clocks(&mut self) {
        if let Some(started) = self.started.take() {
            self.lived += started.elapsed();
        }
        if let Some(since) = self.full_since.take() {
            self.full_total += since.elapsed();
        }
    }

    /// Waits at most `timeout` for its pipe to have room.
    pub fn wait_for_room(&self, timeout: Duration) {
        let Some(stdin) = &self.stdin else { return };
        let mut fd = libc::pollfd {
            fd: stdin.as_raw_fd(),
            events: libc::POLLOUT,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        unsafe { libc::poll(&mut fd, 1, timeout.as_millis() as libc::c_int) };
    }

    /// Its exit status, if it has exited (reaped now).
    pub fn exited(&mut self) -> Option<ExitStatus> {
        let child = self.child.as_mut()?;
        let status = child.try_wait().ok().flatten()?;
        self.child = None;
        Some(status)
    }

    /// Waits for it to exit.
    pub fn wait(&mut self) -> Option<ExitStatus> {
        let status = self.child.as_mut()?.wait().ok();
        self.child = None;
        status
    }

    /// It exited: reads back what it left unread (then its staged bytes), and frees its pipe.
    pub fn unread(&mut self) -> Vec<u8> {
        let mut left = Vec::new();
        if let Some(mut held) = self.held.take().filter(|h| non_blocking(h).is_ok()) {
            let mut buf = [0u8; 64 * 1024];
            while let Ok(n @ 1..) = held.read(&mut buf) {
                left.extend_from_slice(&buf[..n]);
            }
        }
        left.append(&mut self.stage);
        self.stdin = None;
        self.stop_clocks();
        left
    }

    /// Whether the worker has read everything it was given (its pipe is empty).
    pub fn drained(&self) -> bool {
        let (Some(held), true) = (&self.held, self.stage.is_empty()) else {
            return false;
        };
        let mut unread: libc::c_int = 0;
        // SAFETY: FIONREAD into a c_int, on the pipe's read end this process holds.
        let ok = unsafe { libc::ioctl(held.as_raw_fd(), libc::FIONREAD, &mut unread) } == 0;
        ok && unread == 0
    }

    /// Sends signal `signal` to the worker, if it runs.
    pub fn signal(&self, signal: i32) {
        if let Some(child) = &self.child {
            // SAFETY: kill(2) on the pid of a child not yet reaped.
            unsafe { libc::kill(child.id() as libc::pid_t, signal) };
        }
    }

    pub fn figures(&self) -> Figures {
        let now = Instant::now();
        let lived = self.lived + self.started.map_or(Duration::ZERO, |t| now - t);
        let full = self.full_total + self.full_since.map_or(Duration::ZERO, |t| now - t);
        Figures {
            slot: self.number,
            running: self.alive(),
            items: self.items,
            bytes: self.bytes,
            undelivered: self.undelivered,
            taking_share: match lived.is_zero() {
                true => 1.0,
                false => 1.0 - (full.as_secs_f64() / lived.as_secs_f64()).min(1.0),
            },
            starts: self.starts,
            status: self.status,
            pid: self.child.as_ref().map(Child::id),
            failures: self.failures,
        }
    }
}

/// The shell's number for an exit status: the code, or 128+N for signal N.
pub fn shell_status(status: ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
}

/// A pipe, both ends closed on exec: (read, write).
fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills two descriptors, owned at once.
    unsafe {
        if libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok((OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])))
    }
}

fn non_blocking(file: &File) -> io::Result<()> {
    // SAFETY: F_GETFL/F_SETFL on a descriptor this process owns.
    unsafe {
        let flags = libc::fcntl(file.as_raw_fd(), libc::F_GETFL);
        if flags < 0 || libc::fcntl(file.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}
