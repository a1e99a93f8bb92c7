//! The monitor's side of `--workers`: the pool's events as records, and its figures in every
//! record.

use crossbeam_channel::Receiver;

use super::Monitor;
use crate::output::pool::{self, slot::Figures};
use crate::report;
use crate::report::StatsFormat;

/// What the monitor sees of a worker pool: its events and its figures.
pub(super) struct PoolWatch {
    pub(super) events: Receiver<pool::Event>,
    shared: pool::Shared,
}

impl PoolWatch {
    pub(super) fn figures(&self) -> Vec<Figures> {
        self.shared
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl Monitor {
    /// `--workers`: the pool's events become records, and its figures part of every record.
    pub fn watch_workers(&mut self, events: Receiver<pool::Event>, shared: pool::Shared) {
        self.pool = Some(PoolWatch { events, shared });
    }

    /// A worker started, was retired or exited: a line on stderr (unless quiet; a failure
    /// always), and a record in the stats file.
    pub fn tell_of_worker(&mut self, event: &pool::Event) {
        let prefix = report::prefix(self.fixed.name.as_deref());
        if event.notable && !self.quiet || event.failed {
            self.say(&report::workers::text_event(
                &prefix,
                event,
                self.fixed.noun,
            ));
        }
        match &self.file {
            Some(file) if self.format == StatsFormat::Json => {
                let elapsed = (self.started.elapsed().as_secs_f64() * 1e6).round() / 1e6;
                file.send(&report::workers::json_event(
                    self.fixed.name.as_deref(),
                    elapsed,
                    event,
                ));
            }
            Some(file) if self.format == StatsFormat::Text => {
                file.send(&report::workers::text_event(
                    &prefix,
                    event,
                    self.fixed.noun,
                ));
            }
            _ => {}
        }
    }

    /// Any events left (at the end of the run).
    pub fn drain_worker_events(&mut self) {
        let events: Vec<pool::Event> = match &self.pool {
            Some(pool) => pool.events.try_iter().collect(),
            None => return,
        };
        for event in &events {
            self.tell_of_worker(event);
        }
    }
}
