//! One place in the pool: the worker in it, what is staged for it, and its figures.

use std::io::{self, IoSlice};
use std::os::fd::BorrowedFd;
use std::time::{Duration, Instant};

use super::feed::Feed;

/// Where a slot's worker stands.
#[derive(Debug)]
pub enum State {
    /// No worker (not started, or retired).
    Vacant,
    /// Running and fed.
    Running,
    /// Its stdin is closed (idle, or the end of input): waiting for it to exit.
    Closing,
    /// Exited (its status is the slot's); with `--restart`, started again at `again`.
    Exited { again: Option<Instant> },
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

pub struct Slot {
    pub number: usize,
    pub state: State,
    feed: Option<Box<dyn Feed>>,
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
    /// Failures in a row (for `--restart`'s back-off).
    pub streak: u32,
    /// The epoll events asked for now.
    pub interest: u32,
    /// Its process group (the first worker's pid), kept after it exits, for a stop.
    group: Option<u32>,
    launched: Instant,
}

impl Slot {
    pub fn vacant(number: usize) -> Slot {
        Slot {
            number,
            state: State::Vacant,
            feed: None,
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
            streak: 0,
            interest: 0,
            group: None,
            launched: Instant::now(),
        }
    }

    /// A worker starts here.
    pub fn start(&mut self, feed: Box<dyn Feed>) {
        let now = Instant::now();
        self.group = feed.pid();
        self.launched = now;
        self.feed = Some(feed);
        self.state = State::Running;
        self.stage.clear();
        (self.started, self.full_since, self.last_took) = (Some(now), None, now);
        self.drained_since = None;
        self.starts += 1;
    }

    /// Whether it takes new items now: running, nothing staged.
    pub fn ready(&self) -> bool {
        matches!(self.state, State::Running) && self.stage.is_empty()
    }

    pub fn alive(&self) -> bool {
        matches!(self.state, State::Running | State::Closing)
    }

    /// Whether its input is open.
    pub fn open(&self) -> bool {
        self.feed.as_ref().is_some_and(|f| f.open())
    }

    pub fn fd(&self) -> Option<BorrowedFd<'_>> {
        self.feed.as_ref()?.fd()
    }

    /// What becomes readable when its worker exits, if anything.
    pub fn exit_fd(&self) -> Option<BorrowedFd<'_>> {
        self.feed.as_ref()?.exit_fd()
    }

    /// Writes to its pipe without waiting.
    pub fn write(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let feed = self.feed.as_mut().ok_or(io::ErrorKind::BrokenPipe)?;
        let result = feed.write(bufs);
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
        let stage = std::mem::take(&mut self.stage);
        let mut at = 0;
        while at < stage.len() {
            match self.write(&[IoSlice::new(&stage[at..])]) {
                Ok(n) => at += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        self.stage = stage;
        // One move of what is left, however many writes went.
        self.stage.drain(..at);
        self.stage.is_empty()
    }

    /// Closes its stdin: the worker sees the end of its input.
    pub fn close(&mut self) {
        if let Some(feed) = &mut self.feed {
            feed.close();
        }
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
        if let Some(feed) = &self.feed {
            feed.wait_for_room(timeout);
        }
    }

    /// Its exit status, if it has exited.
    pub fn exited(&mut self) -> Option<i32> {
        self.feed.as_mut()?.exited()
    }

    /// It exited: what it left unread (then its staged bytes); its pipe is freed.
    pub fn unread(&mut self) -> Vec<u8> {
        let mut left = self.feed.take().map(|mut f| f.unread()).unwrap_or_default();
        left.append(&mut self.stage);
        self.stop_clocks();
        left
    }

    /// Whether the worker has read everything it was given.
    pub fn drained(&self) -> bool {
        self.stage.is_empty() && self.feed.as_ref().is_some_and(|f| f.drained())
    }

    /// Sends signal `signal` to the worker's process group, if any of it runs.
    pub fn signal(&self, signal: i32) {
        if let Some(group) = self.group.filter(|_| self.group_alive()) {
            // SAFETY: kill(2) on a process group this pool started.
            unsafe { libc::kill(-(group as libc::pid_t), signal) };
        }
    }

    /// Whether anything of the worker's process group still runs.
    pub fn group_alive(&self) -> bool {
        // SAFETY: kill(2) with signal 0 only checks.
        self.group
            .is_some_and(|g| unsafe { libc::kill(-(g as libc::pid_t), 0) } == 0)
    }

    /// Whether the worker ran long enough that a failure starts `--restart`'s count anew.
    pub fn lived_long(&self) -> bool {
        self.launched.elapsed() >= Duration::from_secs(5)
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
            pid: self.feed.as_ref().and_then(|f| f.pid()),
            failures: self.failures,
        }
    }
}
