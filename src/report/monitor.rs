//! The monitor: looks at the counters while bpipe runs and decides what to report when —
//! the live view, periodic records, the drop warning, stalls, worker events — and prints the
//! final record. It decides nothing about the run: control's watch loop calls it.

use std::io::{self, IsTerminal, Write};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, after, never, tick};

use crate::books::stats::Stats;
use crate::error::Error;
use crate::keys::KeyFigures;
use crate::output::pool;
use crate::output::pool::slot::Figures;
use crate::queue::Queue;
use crate::report::out::{self, Records};
use crate::report::progress::{self, Drawer, Fixed, Frame, LiveView};
use crate::report::{self, Event, OnStall, RunState, Snapshot};
use crate::report::{Live, Reporting, StatsFormat};

/// Without `--stats-interval`, drops must pause this long before a new warning.
const QUIET_SPELL: Duration = Duration::from_secs(10);
/// How often the counters are looked at for the drop warning when nothing else wakes us.
const POLL: Duration = Duration::from_millis(100);

/// The reporting side of a run.
pub struct Monitor {
    /// What every record says of the run (name, unit, policy, bounds).
    fixed: Fixed,
    format: StatsFormat,
    /// Nothing on stderr but errors.
    quiet: bool,
    /// Print the final record on stderr whatever happened: on a terminal, with --summary or
    /// --stats-interval. Otherwise it is printed when something noteworthy happened.
    always_summary: bool,
    interval: Option<Duration>,
    /// Lines for stderr: records (without a stats file), warnings, errors.
    stderr: Records,
    /// `--stats-file`, if given: every record goes there, `-q` or not.
    file: Option<Records>,
    live: Option<Drawer>,
    started: Instant,
    /// `--stall-timeout`, and what a stall that long does.
    stall: Option<(Duration, OnStall)>,
    /// While a stall that was told lasts: how long it has lasted.
    stall_told: Option<Duration>,
    /// How long stdout had taken nothing at the last look (`--stall-timeout`).
    stalled_seen: Duration,
    /// When the last record was taken, and its counters: the next one's interval starts.
    last_record: (Instant, Stats),
    /// Drops seen at the last look, and when they last grew.
    dropped: u64,
    dropping_since: Option<Instant>,
    /// The last look found new drops, or `fail` holding the reader: look again soon.
    pressed: bool,
    /// `--workers`: what happens to workers, and their figures (as last read).
    pool: Option<PoolWatch>,
    figures: Vec<Figures>,
    /// `--key`: the keys' figures, as last read.
    keys: Option<KeyFigures>,
    /// Running, or draining after a stop signal (the live view says which).
    state: RunState,
}

/// How long the end of a run waits for its records to be written.
const RECORDS_WAIT: Duration = Duration::from_secs(1);

impl Monitor {
    /// Sets up reporting as `report` asks, for a run that `fixed` describes; fails if
    /// `--stats-file` cannot be opened, or a thread cannot be started.
    /// A stats file that cannot be opened is a usage error (nothing was read); a thread
    /// that cannot be started, a start error.
    pub fn new(report: &Reporting, fixed: Fixed, started: Instant) -> Result<Monitor, Error> {
        let file = match &report.file {
            Some(path) => {
                let named = |e: io::Error| {
                    Error::Usage(format!(
                        "--stats-file {}: {}",
                        path.display(),
                        report::reason(&e)
                    ))
                };
                let out: Box<dyn Write + Send> = match report.format {
                    StatsFormat::Prometheus => Box::new(out::Replace::new(path).map_err(named)?),
                    _ => Box::new(out::open_file(path).map_err(named)?),
                };
                Some(Records::spawn(out, "--stats-file").map_err(Error::Start)?)
            }
            None => None,
        };
        // No TERM (or an empty one) says no more about the terminal than TERM=dumb does.
        let dumb = std::env::var_os("TERM").is_none_or(|t| t.is_empty() || t == "dumb");
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let live = match report.live {
            _ if report.quiet => None,
            Live::Always => Some(LiveView::new(true, !no_color && !dumb, dumb)),
            Live::Never => None,
            Live::OnTerminal if io::stderr().is_terminal() && !dumb => {
                Some(LiveView::new(false, !no_color, false))
            }
            Live::OnTerminal => None,
        };
        let live = match live {
            Some(view) => Some(Drawer::spawn(view, fixed.clone()).map_err(Error::Start)?),
            None => None,
        };
        Ok(Monitor {
            fixed,
            format: report.format,
            quiet: report.quiet,
            always_summary: report.summary
                || report.interval.is_some()
                || io::stderr().is_terminal(),
            interval: report.interval,
            stderr: Records::spawn(Box::new(out::RawStderr), "stderr").map_err(Error::Start)?,
            file,
            live,
            started,
            stall: report.stall,
            stall_told: None,
            stalled_seen: Duration::ZERO,
            last_record: (started, Stats::default()),
            dropped: 0,
            dropping_since: None,
            pressed: false,
            pool: None,
            figures: Vec::new(),
            keys: None,
            state: RunState::Running,
        })
    }

    fn snapshot(&self, stats: Stats, end: RunState) -> Snapshot<'_> {
        let (since, start) = self.last_record;
        Snapshot {
            interval: (since.elapsed(), start),
            name: self.fixed.name.as_deref(),
            noun: self.fixed.noun,
            policy: self.fixed.policy,
            bounds: self.fixed.bounds,
            spill_max: self.fixed.spill_max,
            workers: &self.figures,
            keys: self.keys.as_ref(),
            stats,
            elapsed: self.started.elapsed(),
            end,
        }
    }

    /// A record: to the stats file if there is one, else to stderr unless quiet.
    /// The final record's interval is the whole run: a last tick a moment before the end
    /// would leave it a few milliseconds of noise.
    fn emit(&mut self, event: Event, mut stats: Stats, end: RunState) {
        if let Some(pool) = &self.pool {
            self.figures = pool.figures();
        }
        let mut snap = self.snapshot(stats, end);
        if event == Event::Final {
            stats.interval_wait = stats.wait;
            snap = Snapshot {
                stats,
                interval: (snap.elapsed, Stats::default()),
                ..snap
            };
        }
        let line = report::record(event, &snap, self.format);
        match &self.file {
            Some(file) if self.format == StatsFormat::Prometheus => file.send_whole(&line),
            Some(file) => file.send(&line),
            None if self.quiet => {}
            None => self.say(&line),
        }
    }

    /// A line on stderr, above the live view if there is one.
    fn say(&self, line: &str) {
        match &self.live {
            // Printed by the live view's thread, between two frames.
            Some(live) => {
                live.send(Frame::Print(line.to_string()));
            }
            None => self.stderr.send(line),
        }
    }

    /// An error line (`bpipe: …`), printed even when quiet.
    pub fn error(&self, message: impl std::fmt::Display) {
        self.say(&format!(
            "{} {message}",
            report::prefix(self.fixed.name.as_deref())
        ));
    }

    /// The policy as it stands (as started, or as an operator last set it).
    pub fn policy(&self) -> crate::queue::policy::Policy {
        self.fixed.policy
    }

    /// Ticks for the live view's refresh (never without one).
    pub fn refresh(&self) -> Receiver<Instant> {
        match self.live {
            Some(_) => tick(progress::REFRESH),
            None => never(),
        }
    }

    /// Ticks for `--stats-interval` records (never without it).
    pub fn records(&self) -> Receiver<Instant> {
        self.interval.map_or_else(never, tick)
    }

    /// What rings when the counters need a look that nothing else gives: items dropped
    /// (for the drop warning) or `fail` stopping the reader (its drain). An operator may
    /// change the policy, so it rings under any. Never with the live view, whose refresh
    /// looks already.
    pub fn bell(&self, queue: &Queue) -> Receiver<()> {
        match self.live {
            None => queue.bell(),
            Some(_) => never(),
        }
    }

    /// Whether the last look found new drops or `fail` holding the reader: the watch looks
    /// again every [`POLL`] rather than at each ring of the bell.
    pub fn pressed(&self) -> bool {
        self.pressed
    }

    /// When to look at the counters next when nothing else looks: every [`POLL`] while
    /// pressed (see [`Monitor::bell`]) or while a stall already told lasts (to tell its end);
    /// for a stall not yet told, only when the stall seen last could reach
    /// `--stall-timeout` (one that begins after a look reaches it no sooner than a timeout
    /// after that look). The live view's refresh looks already; a run with none of these is
    /// not woken at all.
    pub fn next_look(&self) -> Receiver<Instant> {
        if self.live.is_some() {
            return never();
        }
        if self.pressed || self.stall_told.is_some() {
            return after(POLL);
        }
        match self.stall {
            Some((timeout, _)) => after(timeout.saturating_sub(self.stalled_seen).max(POLL)),
            None => never(),
        }
    }

    /// The pool's events (never without workers).
    pub fn worker_events(&self) -> Receiver<pool::Event> {
        self.pool.as_ref().map_or_else(never, |p| p.events.clone())
    }

    /// The writer has finished: notices left, and a stall that ended with the run told as
    /// ended.
    pub fn ended(&mut self, queue: &Queue) {
        self.warn_of_dead_letters(queue);
        self.watch_for_stalls(queue.stats());
    }

    /// A signal stops the run: the stop record says how long the drain may take, and the
    /// live view goes on through the drain, saying so.
    pub fn stopping(&mut self, queue: &Queue, signal: i32, drain: Duration) {
        self.keys = queue.key_figures();
        self.state = RunState::Signal(signal);
        self.emit(
            Event::Stop { drain },
            queue.stats(),
            RunState::Signal(signal),
        );
    }

    /// A periodic (or asked-for) record; its interval figures start anew.
    pub fn tick(&mut self, queue: &Queue) {
        let stats = queue.stats();
        self.keys = queue.key_figures();
        // A periodic record says a pause, not a stop's drain (the stop record said that).
        let state = match self.state {
            RunState::Paused => RunState::Paused,
            _ => RunState::Running,
        };
        self.emit(Event::Tick, stats, state);
        queue.next_interval();
        self.last_record = (Instant::now(), stats);
    }

    /// Redraws the live view, warns when drops begin after a quiet spell, and watches for a
    /// stalled consumer: returns true when `--on-stall fail` must stop the run.
    pub fn look(&mut self, queue: &Queue) -> bool {
        let stats = queue.stats();
        self.keys = queue.key_figures();
        let now = Instant::now();
        if let Some(live) = &self.live {
            let workers = self
                .pool
                .as_ref()
                .map(PoolWatch::figures)
                .unwrap_or_default();
            live.send(Frame::Update(
                Box::new(stats),
                self.started.elapsed(),
                workers,
                self.keys.as_ref().and_then(|k| k.top.first().cloned()),
                self.state,
            ));
        }
        let seen = self.dropped;
        self.warn_of_drops(stats, now);
        self.pressed = stats.dropped.items > seen || queue.full().is_some();
        self.warn_of_dead_letters(queue);
        self.watch_for_stalls(stats)
    }

    /// `--dead-letter`: a write error or its limit reached, told once.
    fn warn_of_dead_letters(&mut self, queue: &Queue) {
        if let Some(notice) = queue.dead_letter_notice() {
            self.error(format!("--dead-letter: {notice}"));
        }
        if let Some(notice) = queue.spill_notice() {
            self.error(notice);
        }
    }

    /// `--stall-timeout`: one warning a stall (or the end of the run under `fail`), and one
    /// line when the consumer resumes; both as records in a stats file too.
    fn watch_for_stalls(&mut self, stats: Stats) -> bool {
        let Some((timeout, then)) = self.stall else {
            return false;
        };
        let fail = then == OnStall::Fail;
        self.stalled_seen = stats.stalled_now;
        if stats.stalled_now < timeout {
            if let Some(after) = self.stall_told.take() {
                self.tell_of_stall(Event::Resume { after }, stats, false);
            }
            return false;
        }
        if self.stall_told.is_none() {
            self.tell_of_stall(Event::Stall, stats, fail);
        }
        self.stall_told = Some(stats.stalled_now);
        fail
    }

    /// A stall or a resume: on stderr (unless quiet, but for `fail`), and as a record in
    /// the stats file (JSON or text).
    fn tell_of_stall(&mut self, event: Event, stats: Stats, fail: bool) {
        let snap = self.snapshot(stats, RunState::Running);
        let mut line = report::record(event, &snap, StatsFormat::Text);
        if fail {
            line.push_str("; stopping (--on-stall fail)");
        }
        if !self.quiet || fail {
            self.error(
                line.trim_start_matches(&snap.prefix())
                    .trim_start()
                    .to_string(),
            );
        }
        if let Some(file) = &self.file
            && self.format != StatsFormat::Prometheus
        {
            file.send(&report::record(event, &snap, self.format));
        }
    }

    /// Warns when drops begin after a quiet spell (or, at the end, if a short run dropped
    /// items before any look saw them).
    fn warn_of_drops(&mut self, stats: Stats, now: Instant) {
        if stats.dropped.items > self.dropped {
            let quiet = self.interval.unwrap_or(QUIET_SPELL).max(QUIET_SPELL);
            if self
                .dropping_since
                .is_none_or(|last| now.duration_since(last) >= quiet)
            {
                self.emit(Event::Drop, stats, RunState::Running);
            }
            self.dropping_since = Some(now);
            self.dropped = stats.dropped.items;
        }
    }

    /// The keys' final figures, for the final record.
    pub fn set_keys(&mut self, keys: Option<KeyFigures>) {
        self.keys = keys;
    }

    /// Clears the live view and prints the final record: always to a stats file; on stderr
    /// when asked for (a terminal, --summary, --stats-interval) or when something noteworthy
    /// happened: items shed or undelivered, a signal, or `failed` (an error or `fail`).
    pub fn finish(&mut self, stats: Stats, end: RunState, failed: bool) {
        if let Some(mut live) = self.live.take() {
            live.finish(RECORDS_WAIT);
        }
        self.warn_of_drops(stats, Instant::now());
        let noteworthy = failed
            || !stats.dropped.is_zero()
            || !stats.undelivered.is_zero()
            || matches!(end, RunState::Signal(_));
        if self.file.is_some() || self.always_summary || noteworthy {
            self.emit(Event::Final, stats, end);
        }
    }

    /// Waits (at most a second) for every record and message to be written. Returns false
    /// if any was lost: a stats file that failed or blocked, or a stderr that did.
    pub fn close(&mut self) -> bool {
        let file = self.file.as_mut().is_none_or(|f| f.finish(RECORDS_WAIT));
        let stderr = self.stderr.finish(RECORDS_WAIT);
        file && (stderr || self.file.is_some())
    }
}

mod control;
mod workers;
pub use control::{By, Change};
use workers::PoolWatch;
