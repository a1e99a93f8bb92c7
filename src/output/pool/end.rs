//! Workers that exit (what they never read is undelivered), restarts' back-off, and the
//! pool's end.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::slot::{Slot, State};
use super::{Cut, Pool, Restart, What, poller};
use crate::books::tally::Tally;
use crate::output::sink::Finish;

impl Pool {
    /// The worker in slot `i` exited: what it never read is undelivered.
    pub(super) fn exited(&mut self, i: usize, code: i32) {
        // A restart or the pool's size may be due: the tick runs again.
        self.stir();
        let left = self.slots[i].unread();
        // The unread part of an item begun (no delimiter after it) is owed back as that
        // item's pieces, once it ends; whole items left unread, now.
        let tail = left.len()
            - left
                .iter()
                .rposition(|&b| b == self.delim)
                .map_or(0, |p| p + 1);
        let whole = left.len() - tail;
        self.recalled += Tally::new(
            memchr::memchr_iter(self.delim, &left[..whole]).count(),
            whole,
        );
        let lines = memchr::memchr_iter(self.delim, &left[..whole]).count() as u64;
        // The item begun is undelivered if its worker did not read all of it; it counts in
        // the worker's items once given whole (the input's last line).
        let (mut begun, mut counted) = (0, 0);
        match self.cut {
            Some(Cut::To(cut)) if cut == i => {
                self.cut = Some(Cut::Lost);
                self.cut_read = self.cut_len.saturating_sub(tail as u64);
                begun = 1;
            }
            Some(Cut::Last(cut)) if cut == i => {
                self.cut_read = self.cut_len.saturating_sub(tail as u64);
                (begun, counted) = (u64::from(tail > 0), u64::from(tail > 0));
                self.settle_lost(Finish::Complete);
            }
            _ => {}
        }
        let slot = &mut self.slots[i];
        let undelivered = lines + begun;
        slot.undelivered += undelivered;
        slot.items = slot.items.saturating_sub(lines + counted);
        slot.bytes = slot.bytes.saturating_sub(left.len() as u64);
        slot.status = Some(code);
        // A worker whose own output was closed (SIGPIPE) failed no more than bpipe does
        // when its stdout closes.
        // Nor does one that died of the stop signal bpipe passed on.
        let stop = self.stop.load(Ordering::Relaxed);
        let stopped = stop != 0 && (code == 128 + stop || code == 128 + libc::SIGKILL);
        let failed = code != 0 && code != 128 + libc::SIGPIPE && !stopped;
        slot.failures += u32::from(failed);
        // Failures in a row: one after a worker that ran a while starts the count again.
        slot.streak = match (failed, slot.lived_long()) {
            (false, _) => 0,
            (true, true) => 1,
            (true, false) => slot.streak + 1,
        };
        // Before its input was closed: early, worth telling even with status 0.
        let early = matches!(slot.state, State::Running);
        let (restart, gave_up) = match self.spec.restart {
            _ if !failed => (None, false),
            Restart::Never => (None, false),
            Restart::Failed { give_up, backoff } => match give_up {
                Some(max) if slot.streak >= max => (None, slot.streak == max),
                _ => (Some(backoff), false),
            },
        };
        let again = restart.map(|max| Instant::now() + backoff(slot.streak, max));
        slot.state = State::Exited { again };
        let streak = slot.streak;
        self.tell_failure(
            i,
            What::Exited {
                status: code,
                undelivered,
            },
            failed || early && code != 128 + libc::SIGPIPE,
            failed,
        );
        if gave_up {
            self.tell_failure(i, What::GaveUp(streak), true, true);
        }
        self.publish();
    }

    /// The item begun, whose worker exited, is over (`Complete`: it ended, or the input
    /// did; `Cut`: a stop): the books counted its pieces delivered as they went, and those
    /// its worker did not read whole are owed back, with their bytes.
    pub(super) fn settle_lost(&mut self, how: Finish) {
        let max = self.max_item;
        let (len, read) = (self.cut_len, self.cut_read.min(self.cut_len));
        let given = match how {
            Finish::Complete => len.div_ceil(max),
            Finish::Cut => len / max,
        };
        // Pieces its worker read whole: all of them when it read the whole item.
        let read_whole = match read == len {
            true => given,
            false => read / max,
        };
        let items = given.saturating_sub(read_whole);
        let end = match how {
            Finish::Complete => len,
            Finish::Cut => given * max,
        };
        let bytes = end.saturating_sub(read_whole * max);
        self.recalled += Tally { items, bytes };
        (self.cut, self.cut_len, self.cut_read) = (None, 0, 0);
    }

    /// The end: writes out what is staged (waiting for each worker to take it, or exit),
    /// closing each stdin once what is staged for it has gone, and waits for every worker.
    /// A stop, before or meanwhile, closes them all at once and is passed on.
    /// A worker still there `--worker-exit-timeout` after the end began is stopped, as on a
    /// signal (SIGTERM, then SIGKILL), and counts failed.
    pub fn close_all(&mut self) {
        let deadline = self
            .spec
            .exit_timeout
            .and_then(|d| Instant::now().checked_add(d));
        let late = || deadline.is_some_and(|d| Instant::now() >= d);
        while self.stop.load(Ordering::Relaxed) == 0 && !late() {
            let mut waiting = None;
            for i in 0..self.slots.len() {
                let slot = &mut self.slots[i];
                if !slot.alive() || !slot.open() {
                    continue;
                }
                if slot.flush() {
                    slot.close();
                } else if let Some(status) = slot.exited() {
                    self.exited(i, status);
                } else {
                    waiting = Some(i);
                }
            }
            match waiting {
                Some(i) => self.slots[i].wait_for_room(poller::TICK),
                None => break,
            }
        }
        self.wait_all(deadline);
        self.publish();
    }

    /// Waits for every worker to exit, or for a stop: then what is staged is not waited for
    /// (it is undelivered), and the signal is passed on.
    fn wait_all(&mut self, deadline: Option<Instant>) {
        loop {
            let mut stop = self.stop.load(Ordering::Relaxed);
            if stop == 0 && deadline.is_some_and(|d| Instant::now() >= d) {
                stop = libc::SIGTERM;
            }
            if stop != 0 {
                for slot in self.slots.iter_mut().filter(|s| s.alive()) {
                    slot.close();
                }
                return self.pass_on(stop);
            }
            if !self.slots.iter().any(Slot::alive) {
                return;
            }
            self.reap();
            std::thread::sleep(POLL);
        }
    }

    /// Books the workers that have exited.
    fn reap(&mut self) {
        for i in 0..self.slots.len() {
            if self.slots[i].alive()
                && let Some(status) = self.slots[i].exited()
            {
                self.exited(i, status);
            }
        }
    }

    /// Passes a stop signal on to the workers; those still running after [`KILL_AFTER`]
    /// are killed.
    fn pass_on(&mut self, signal: i32) {
        for slot in &self.slots {
            slot.signal(signal);
        }
        // Each worker's whole process group: a member that outlives its leader is killed too.
        let deadline = Instant::now() + KILL_AFTER;
        while Instant::now() < deadline {
            self.reap();
            if !self.slots.iter().any(|s| s.alive() || s.group_alive()) {
                return;
            }
            std::thread::sleep(POLL);
        }
        for slot in &self.slots {
            slot.signal(libc::SIGKILL);
        }
        while self.slots.iter().any(Slot::alive) {
            self.reap();
            std::thread::sleep(POLL);
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        if self.slots.iter().any(Slot::alive) {
            self.close_all();
        }
    }
}

/// How long a failed worker waits before it is started again: 100 ms, doubling with each
/// failure in a row, at most `max` (`--restart-backoff`).
fn backoff(streak: u32, max: Duration) -> Duration {
    let doubled = Duration::from_millis(100).saturating_mul(1 << streak.saturating_sub(1).min(30));
    doubled.min(max)
}

/// How long workers have to exit after a stop signal is passed on, before they are killed.
const KILL_AFTER: Duration = Duration::from_secs(2);

/// How often the end looks at the workers.
const POLL: Duration = Duration::from_millis(10);
