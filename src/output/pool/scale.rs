//! Growing and shrinking the pool (`--workers MIN..MAX`) and restarting failed workers.

use std::time::Instant;

use super::slot::State;
use super::{Pool, What};

impl Pool {
    /// At a tick: one more worker once the queue has stayed over half full for
    /// `--scale-after`; retires workers that took nothing for `--idle-exit`, down to MIN.
    pub(super) fn scale(&mut self, fill: f64) {
        let now = Instant::now();
        if self.spec.min == self.spec.max {
            return;
        }
        if fill > 0.5 {
            let since = *self.over_half_since.get_or_insert(now);
            if now - since >= self.spec.scale_after && self.running() < self.spec.max {
                self.over_half_since = Some(now);
                // A slot never used, or one whose worker ended well (retired, or exited
                // with status 0): a failed one is --restart's to start again, or no one's.
                if let Some(i) = self.slots.iter().position(|s| match s.state {
                    State::Vacant => true,
                    State::Exited { again, .. } => again.is_none() && s.streak == 0,
                    _ => false,
                }) {
                    self.launch(i);
                }
            }
        } else {
            self.over_half_since = None;
        }
        for i in 0..self.slots.len() {
            let slot = &mut self.slots[i];
            // Idle: done with all it was given, and given nothing since, for --idle-exit (a
            // worker whose pipe is full is busy, not idle).
            if matches!(slot.state, State::Running) && slot.drained() {
                slot.drained_since.get_or_insert(now);
            } else {
                slot.drained_since = None;
            }
            let idle = self.cut != Some(super::Cut::To(i))
                && slot
                    .drained_since
                    .is_some_and(|t| now - t >= self.spec.idle_exit);
            if idle && self.running() > self.spec.min {
                self.slots[i].close();
                self.tell(i, What::Retired, true);
            }
        }
    }

    /// Starts the failed workers whose back-off is over; true if one started.
    pub(super) fn restart_due(&mut self) -> bool {
        let now = Instant::now();
        let due: Vec<usize> = (0..self.slots.len())
            .filter(|&i| {
                matches!(self.slots[i].state, State::Exited { again: Some(t), .. } if t <= now)
            })
            .collect();
        for &i in &due {
            self.launch(i);
        }
        !due.is_empty()
    }

    /// Starts a worker in slot `i`, telling either way.
    fn launch(&mut self, i: usize) {
        self.launch_quietly(i);
        self.publish();
    }

    fn launch_quietly(&mut self, i: usize) {
        match (self.launch)(i + 1).map(|feed| self.slots[i].start(feed)) {
            Ok(()) => match self.watch(i) {
                Ok(()) => self.tell(i, What::Started, true),
                Err(e) => self.tell_failure(i, What::Failed(e.to_string()), true, true),
            },
            Err(e) => {
                // Not started: a failure too (and not tried again by scaling, as a failed
                // slot is not).
                let slot = &mut self.slots[i];
                slot.failures += 1;
                slot.streak += 1;
                slot.status = Some(127);
                slot.state = State::Exited { again: None };
                self.tell_failure(i, What::Failed(crate::values::reason(&e)), true, true);
            }
        }
    }
}
