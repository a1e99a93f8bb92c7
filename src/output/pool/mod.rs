//! `--workers N -- CMD`: the writer's output is a pool of worker processes. Items go whole
//! to whichever worker's stdin takes data now (demand, not rotation): a write goes to a
//! worker whose pipe has room, and if the pipe takes only part of an item, the rest is
//! staged for that worker alone; a worker with something staged takes nothing new. So a
//! slow or stuck worker holds at most its pipe and one item, and never the others. The pool
//! is "full" (the writer is under pressure) only when every worker is.
//!
//! One epoll descriptor stands for the pool in the writer's `poll`: it is readable when a
//! worker's pipe has room that the pool waits for, when a worker exits (its pidfd), or at
//! the pool's tick (100 ms), when workers are started or retired (`MIN..MAX`) and restarted
//! (`--restart`). The tick runs only while the pool has housekeeping to do: an idle pool
//! sleeps until something is written or a worker exits.

pub mod feed;
#[cfg(test)]
mod model;
mod poller;
mod scale;
pub mod slices;
pub mod slot;

use std::ffi::OsString;
use std::io::{self, ErrorKind};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;

use crate::books::tally::Tally;
use feed::Launcher;
use poller::Epoll;
use slot::{Figures, Slot, State};

/// How the pool is run (`--workers`, `--scale-after`, `--idle-exit`, `--restart`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spec {
    pub command: Vec<OsString>,
    pub min: usize,
    pub max: usize,
    pub scale_after: Duration,
    pub idle_exit: Duration,
    pub restart: Restart,
    /// `--worker-exit-timeout`: how long workers have, once the input ended, to take what
    /// they were given and exit.
    pub exit_timeout: Option<Duration>,
}

/// Whether a worker that failed is started again (`--restart`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Restart {
    Never,
    /// After a back-off doubling from 100 ms to `backoff`; not after `give_up` failures in a
    /// row (`None`: ever again, `--restart-max never`).
    Failed {
        give_up: Option<u32>,
        backoff: Duration,
    },
}

/// What happened to a worker, for a record.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub slot: usize,
    pub what: What,
    /// Workers running after it.
    pub running: usize,
    /// Worth a line on stderr: not the pool's ordinary start and end (which go to the stats
    /// file only).
    pub notable: bool,
    /// A failure: told even with `-q`, and the exit status says so.
    pub failed: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub enum What {
    Started,
    /// Idle for `--idle-exit`: its stdin was closed.
    Retired,
    /// Exited with this status (shell form); the items it never read are undelivered.
    Exited {
        status: i32,
        undelivered: u64,
    },
    /// Could not be started.
    Failed(String),
    /// `--restart` gave up after this many failures in a row.
    GaveUp(u32),
}

/// Where the rest of an item begun goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cut {
    /// To the worker in this slot, whatever else waits.
    To(usize),
    /// Nowhere: that worker exited (a worker started in its slot must not get it).
    Lost,
    /// The input's last item, without its delimiter, given whole to this worker.
    Last(usize),
}

/// The most a worker may have staged (besides one gather) before the rest of an item waits.
const STAGE_MAX: usize = 64 * 1024;

/// The pool's figures, shared with the reporter.
pub type Shared = Arc<Mutex<Vec<Figures>>>;

/// The signal that stopped bpipe (0: none yet): passed on to the workers after the drain.
pub type Stop = Arc<AtomicI32>;

pub struct Pool {
    spec: Spec,
    launch: Launcher,
    delim: u8,
    slots: Vec<Slot>,
    epoll: Epoll,
    /// An item begun and not finished: where the rest of it goes.
    cut: Option<Cut>,
    /// Bytes of the item begun given so far, and of those, how many its worker read before
    /// it exited (`Cut::Lost`): what is owed back is booked at the item's end.
    cut_len: u64,
    cut_read: u64,
    /// The books count a line longer than `--max-line` as pieces of this many bytes.
    max_item: u64,
    next: usize,
    /// The writer found every worker full: the pool waits for any pipe's room.
    want_room: bool,
    recalled: Tally,
    events: Option<Sender<Event>>,
    shared: Shared,
    over_half_since: Option<Instant>,
    stop: Stop,
    /// Something was written, or tried, since the last tick.
    active: bool,
    /// A worker has no pidfd: exits are looked for at every tick, which never stops.
    polls_exits: bool,
}

impl Pool {
    /// Starts `spec.min` workers, for items ending with `delim` (pieces of `max_item` bytes
    /// in the books). Fails (before anything is read) if the first cannot start.
    pub fn start(
        spec: Spec,
        (delim, max_item): (u8, usize),
        events: Option<Sender<Event>>,
    ) -> io::Result<Pool> {
        let launch = feed::processes(spec.command.clone());
        Pool::with_launcher(spec, (delim, max_item), events, launch)
    }

    /// The same, with workers from `launch`.
    pub fn with_launcher(
        spec: Spec,
        (delim, max_item): (u8, usize),
        events: Option<Sender<Event>>,
        launch: Launcher,
    ) -> io::Result<Pool> {
        let epoll = Epoll::new()?;
        let slots = (1..=spec.max).map(Slot::vacant).collect();
        let mut pool = Pool {
            spec,
            launch,
            delim,
            slots,
            epoll,
            cut: None,
            cut_len: 0,
            cut_read: 0,
            max_item: (max_item as u64).max(1),
            next: 0,
            want_room: false,
            recalled: Tally::ZERO,
            events,
            shared: Shared::default(),
            over_half_since: None,
            stop: Stop::default(),
            active: false,
            polls_exits: false,
        };
        for i in 0..pool.spec.min {
            let feed = (pool.launch)(i + 1)?;
            pool.slots[i].start(feed);
            pool.watch(i)?;
            pool.tell(i, What::Started, false);
        }
        pool.publish();
        Ok(pool)
    }

    /// The figures the reporter reads.
    pub fn shared(&self) -> Shared {
        Arc::clone(&self.shared)
    }

    /// The run was given up on (a drain that timed out): workers are stopped, not waited for.
    pub fn give_up(&self) {
        let _ = self
            .stop
            .compare_exchange(0, libc::SIGTERM, Ordering::Relaxed, Ordering::Relaxed);
    }

    /// Where the reporter puts the signal that stopped bpipe.
    pub fn stop(&self) -> Stop {
        Arc::clone(&self.stop)
    }

    /// Workers being fed (not those whose input was closed).
    fn running(&self) -> usize {
        self.slots
            .iter()
            .filter(|s| matches!(s.state, State::Running))
            .count()
    }

    fn tell(&self, slot: usize, what: What, notable: bool) {
        self.tell_failure(slot, what, notable, false);
    }

    fn tell_failure(&self, slot: usize, what: What, notable: bool, failed: bool) {
        if let Some(events) = &self.events {
            let _ = events.send(Event {
                slot: slot + 1,
                what,
                running: self.slots.iter().filter(|s| s.alive()).count(),
                notable,
                failed,
            });
        }
    }

    fn publish(&self) {
        let figures = self
            .slots
            .iter()
            .filter(|s| s.starts > 0)
            .map(Slot::figures);
        *self.shared.lock().unwrap_or_else(|e| e.into_inner()) = figures.collect();
    }

    fn watch(&mut self, i: usize) -> io::Result<()> {
        let slot = &mut self.slots[i];
        slot.interest = 0;
        match slot.exit_fd() {
            Some(exit) => self.epoll.add_exit(exit, i as u64)?,
            None => self.polls_exits = true,
        }
        match slot.fd() {
            Some(fd) => self.epoll.add(fd, i as u64),
            None => Ok(()),
        }
    }

    /// The writer wrote or tried to: the tick runs again, if it had stopped.
    fn stir(&mut self) {
        self.active = true;
        let _ = self.epoll.tick(true);
    }

    /// Whether the tick has nothing to do until something is written or a worker exits:
    /// no write since the last tick, no pipe waited for, nothing to scale, retire or restart.
    fn may_sleep(&self) -> bool {
        let scaling = self.spec.min != self.spec.max
            && (self.over_half_since.is_some() || self.running() > self.spec.min);
        let restarting = self
            .slots
            .iter()
            .any(|s| matches!(s.state, State::Exited { again: Some(_), .. }));
        !(self.polls_exits || self.active || self.want_room || scaling || restarting)
    }

    /// Asks for room on the pipes the pool waits for, and no others (a pipe with room
    /// nobody waits for would keep the writer awake).
    fn update_interest(&mut self) {
        for (i, slot) in self.slots.iter_mut().enumerate() {
            let Some(fd) = slot.fd() else { continue };
            let want =
                matches!(slot.state, State::Running) && (self.want_room || !slot.stage.is_empty());
            let events = if want { libc::EPOLLOUT as u32 } else { 0 };
            if events != slot.interest && self.epoll.modify(fd, i as u64, events).is_ok() {
                slot.interest = events;
            }
        }
    }

    /// Whether any worker is running or will be started again.
    fn any_left(&self) -> bool {
        self.slots
            .iter()
            .any(|s| s.alive() || matches!(s.state, State::Exited { again: Some(_), .. }))
    }

    /// Reaps workers that exited, flushes what is staged; true if a write may go now.
    fn tend_now(&mut self, fill: f64) -> io::Result<bool> {
        let ready = self.epoll.ready();
        let mut room = ready.room;
        for i in 0..self.slots.len() {
            if self.slots[i].alive() {
                if !self.slots[i].stage.is_empty() && self.slots[i].flush() {
                    room = true;
                }
                if let Some(status) = self.slots[i].exited() {
                    self.exited(i, status);
                    room = true;
                }
            }
        }
        if ready.tick {
            self.scale(fill);
            room |= self.restart_due();
            self.publish();
            if self.may_sleep() {
                self.epoll.tick(false)?;
            }
            self.active = false;
        }
        self.update_interest();
        if !self.any_left() {
            return Err(ErrorKind::BrokenPipe.into());
        }
        Ok(room)
    }
}

mod end;
mod write;
