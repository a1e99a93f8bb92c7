//! Items with keys (`--key` and the like): each is counted in on its key as it comes, those
//! over their key's `--rate-per-key` are shed at once (a limit that held the producer would
//! hold every key), and what goes out is counted on its key.

use super::shedding::Why;
use super::{Inner, Queue, Stop};
use crate::batch::Batch;
use crate::books::ledger::Place;
use crate::keys::{Admit, Fairness};

impl Queue {
    /// [`Queue::push`] for items with keys: counted on their keys, and the runs of items over
    /// their key's rate shed between the runs pushed, in input order.
    pub(super) fn push_keyed(&self, batch: Batch) -> Result<(), Stop> {
        let mut runs = self.arrive(batch).into_iter();
        for (run, admit) in runs.by_ref() {
            let pushed = match admit {
                Admit::Pass => self.push_plain(run),
                Admit::OverRate => self.shed_limited(run),
            };
            if let Err(stop) = pushed {
                // The runs after it were read and will never be delivered.
                for (run, _) in runs {
                    self.refuse(&run);
                }
                return Err(stop);
            }
        }
        Ok(())
    }

    /// Cuts `batch` into runs within and over their keys' rates (one run, not copied, when
    /// all are within). Its items are counted in on their keys where the books admit them.
    fn arrive(&self, mut batch: Batch) -> Vec<(Batch, Admit)> {
        let now = self.now();
        let mut inner = self.lock();
        let keys = match inner.keys.as_mut() {
            Some(keys) if keys.rules().rate.is_some() => keys,
            _ => return vec![(batch, Admit::Pass)],
        };
        let keep = self.rules.keep.as_ref();
        // --keep wins: a kept item is never limited.
        let admits: Vec<Admit> = batch
            .iter()
            .map(|item| match keep.is_some_and(|k| k.spares(item)) {
                true => Admit::Pass,
                false => keys.ask(item, now),
            })
            .collect();
        drop(inner);
        let mut runs = Vec::new();
        let mut rest = &admits[..];
        while let Some(&admit) = rest.first() {
            let n = rest.iter().take_while(|&&a| a == admit).count();
            rest = &rest[n..];
            let run = match rest.is_empty() {
                true => std::mem::take(&mut batch),
                false => batch.split_front(n),
            };
            runs.push((run, admit));
        }
        runs
    }

    /// Counts `batch` in and sheds it whole: its items are over their keys' rates.
    fn shed_limited(&self, mut batch: Batch) -> Result<(), Stop> {
        let mut inner = self.lock();
        self.arrive_in(&mut inner, &mut batch)?;
        inner.shed_all(batch, Place::Parked, Why::Limited);
        Ok(())
    }
}

impl Inner {
    /// The reader's `batch` is counted in: in all, and each item on its key.
    pub(super) fn admit(&mut self, batch: &Batch) {
        self.books.ledger.admit(batch.tally());
        let now = batch.arrived.unwrap_or_else(std::time::Instant::now);
        self.count_keys_in(batch, now);
    }

    /// Each item of `batch`, read at `now`, counted in on its key.
    pub(super) fn count_keys_in(&mut self, batch: &Batch, now: std::time::Instant) {
        if let Some(keys) = self.keys.as_mut() {
            for item in batch.iter() {
                keys.count_in(item, now);
            }
        }
    }

    /// The writer wrote `done` whole: each item counted out on its key.
    pub(super) fn deliver_keys(&mut self, done: &[Batch]) {
        if self.keys.is_none() {
            return;
        }
        for batch in done {
            self.deliver_first(batch, batch.items() as u64);
        }
    }

    /// The first `n` items of `batch` went out: each counted out on its key.
    pub(super) fn deliver_first(&mut self, batch: &Batch, n: u64) {
        if let Some(keys) = self.keys.as_mut() {
            for item in batch.iter().take(n as usize) {
                keys.deliver(item);
            }
        }
    }

    /// Whether the policy sheds from the heaviest key (`--fair`).
    pub(super) fn fair(&self) -> bool {
        self.keys
            .as_ref()
            .is_some_and(|k| k.rules().fairness == Fairness::Heaviest)
    }
}

#[cfg(test)]
mod tests;
