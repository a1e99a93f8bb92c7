//! What the monitor says of a running bpipe's operator (`bpipectl`): the current record on
//! request, and a record of each change (`event: "control"`: what changed, from what to
//! what, and the client's PID).

use serde_json::json;

use super::Monitor;
use crate::queue::{Limits, Queue};
use crate::report::{self, Event, RunState, StatsFormat};

/// A change an operator made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// As `bpipectl set` names it (`rate`, `cap`…), or `flow` for pause and resume.
    pub setting: String,
    pub from: String,
    pub to: String,
    pub by: By,
}

/// Who made a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum By {
    /// `bpipectl` (or another client), with its PID.
    Client(u32),
    /// `--rate-schedule`, as an entry's time came.
    Schedule,
}

impl Monitor {
    /// The current record in `format`, for `bpipectl stats`: its interval figures run from
    /// the last record, which this one does not end.
    pub fn record_now(&mut self, queue: &Queue, format: StatsFormat) -> String {
        if let Some(pool) = &self.pool {
            self.figures = pool.figures();
        }
        self.keys = queue.key_figures();
        let snap = self.snapshot(queue.stats(), self.state);
        report::record(Event::Tick, &snap, format)
    }

    /// `bpipectl pause` (`true`) or `resume`: records and the live view say so.
    pub fn paused(&mut self, paused: bool) {
        self.state = match (paused, self.state) {
            (true, RunState::Running) => RunState::Paused,
            (false, RunState::Paused) => RunState::Running,
            (_, state) => state,
        };
    }

    /// A tap by client `peer` ended: what it copied and missed (its reader slower than the
    /// pipe), said as a record.
    pub fn tapped(&mut self, peer: u32, copied: u64, dropped: u64) {
        let elapsed = self.started.elapsed();
        let line = match self.format {
            StatsFormat::Json => json!({
                "event": "tap",
                "name": self.fixed.name,
                "elapsed_s": (elapsed.as_secs_f64() * 1e6).round() / 1e6,
                "peer_pid": peer,
                "copied_items": copied,
                "dropped_items": dropped,
            })
            .to_string(),
            StatsFormat::Prometheus if self.file.is_some() => return,
            _ => {
                let missed = match dropped {
                    0 => String::new(),
                    n => format!(
                        ", {} dropped (it read slower than the pipe)",
                        report::count(n, self.fixed.noun)
                    ),
                };
                format!(
                    "{} tap by bpipectl, pid {peer}, ended: {} copied{missed}",
                    report::prefix(self.fixed.name.as_deref()),
                    report::count(copied, self.fixed.noun),
                )
            }
        };
        self.send_line(&line);
    }

    /// A line to the stats file, or stderr unless quiet.
    fn send_line(&self, line: &str) {
        match &self.file {
            Some(file) => file.send(line),
            None if self.quiet => {}
            None => self.say(line),
        }
    }

    /// An operator changed the limits to `limits`: later records show them, and a record
    /// says what changed (to the stats file, or stderr unless quiet).
    pub fn retuned(&mut self, limits: Limits, change: &Change) {
        self.fixed.policy = limits.policy;
        self.fixed.bounds = limits.bounds;
        let elapsed = self.started.elapsed();
        let line = match self.format {
            StatsFormat::Json => json!({
                "event": "control",
                "name": self.fixed.name,
                "elapsed_s": (elapsed.as_secs_f64() * 1e6).round() / 1e6,
                "setting": change.setting,
                "from": change.from,
                "to": change.to,
                "by": match change.by {
                    By::Client(_) => "bpipectl",
                    By::Schedule => "--rate-schedule",
                },
                "peer_pid": match change.by {
                    By::Client(pid) => Some(pid),
                    By::Schedule => None,
                },
            })
            .to_string(),
            // Prometheus files hold figures only.
            StatsFormat::Prometheus if self.file.is_some() => return,
            _ => format!(
                "{} {} {} -> {} (by {})",
                report::prefix(self.fixed.name.as_deref()),
                change.setting,
                change.from,
                change.to,
                match change.by {
                    By::Client(pid) => format!("bpipectl, pid {pid}"),
                    By::Schedule => "--rate-schedule".into(),
                }
            ),
        };
        self.send_line(&line);
    }
}
