//! Workers that exit (what they never read is undelivered), restarts' back-off, and the
//! pool's end.

use std::time::{Duration, Instant};

use super::slot::{Slot, State};
use super::{Pool, What, poller};
use crate::books::tally::Tally;

impl Pool {
    /// The worker in slot `i` exited: what it never read is undelivered.
    pub(super) fn exited(&mut self, i: usize, code: i32) {
        let left = self.slots[i].unread();
        let mut lost = Tally::new(memchr::memchr_iter(self.delim, &left).count(), left.len());
        if self.cut == Some(i) && left.last() != Some(&self.delim) {
            // An item begun: booked once its last bytes have come (and gone nowhere).
            let tail = left.len()
                - left
                    .iter()
                    .rposition(|&b| b == self.delim)
                    .map_or(0, |p| p + 1);
            self.cut_lost = Tally::new(1, tail);
            lost.bytes -= tail as u64;
        }
        self.recalled += lost;
        let slot = &mut self.slots[i];
        slot.undelivered += lost.items + self.cut_lost.items;
        slot.items = slot.items.saturating_sub(lost.items);
        slot.bytes = slot.bytes.saturating_sub(lost.bytes);
        slot.status = Some(code);
        let failed = code != 0;
        slot.failures += u32::from(failed);
        // Before its input was closed: early, worth telling even with status 0.
        let early = matches!(slot.state, State::Running);
        let again = (failed && self.spec.restart).then(|| Instant::now() + backoff(slot.starts));
        slot.state = State::Exited {
            status: code,
            again,
        };
        let undelivered = slot.undelivered;
        self.tell(
            i,
            What::Exited {
                status: code,
                undelivered,
            },
            failed || early,
        );
        self.publish();
    }

    /// The end: writes out what is staged (waiting for each worker to take it, or exit),
    /// closes every stdin, sends `signal` if given, and waits for every worker.
    pub fn close_all(&mut self, signal: Option<i32>) {
        // Each stdin closes as soon as what is staged for it has gone.
        loop {
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
        for i in 0..self.slots.len() {
            if let Some(signal) = signal {
                self.slots[i].signal(signal);
            }
            if self.slots[i].alive()
                && let Some(status) = self.slots[i].wait()
            {
                self.exited(i, status);
            }
        }
        self.publish();
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        if self.slots.iter().any(Slot::alive) {
            self.close_all(None);
        }
    }
}

/// How long a failed worker waits before it is started again: 100 ms, doubling, at most 5 s.
fn backoff(starts: u32) -> Duration {
    Duration::from_millis(100 << starts.saturating_sub(1).min(6)).min(Duration::from_secs(5))
}
