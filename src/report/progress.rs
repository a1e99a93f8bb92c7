//! The live status line on a terminal, drawn with indicatif. bpipe composes the line itself
//! for the terminal's width, now: fields are left out, lowest value first, as it narrows (a
//! number is never cut, the line never wraps), and the bar and its percentage come from one
//! figure. Forced onto a file or a dumb terminal (`--progress`), it is a plain line a second.

use std::collections::VecDeque;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::report::Snapshot;

/// How often the line is redrawn.
pub const REFRESH: Duration = Duration::from_millis(100);
/// Rates are measured over this window: long enough that a steady consumer reads steady.
const WINDOW: Duration = Duration::from_secs(2);
/// A forced line on a non-terminal is written this often.
const PLAIN_EVERY: Duration = Duration::from_secs(1);
/// The line when the width is unknown.
const DEFAULT_WIDTH: usize = 80;
const BAR_WIDTH: usize = 8;

/// Counters at one moment, for rates.
#[derive(Clone, Copy)]
struct Sample {
    at: Instant,
    in_items: u64,
    in_bytes: u64,
    out_items: u64,
    out_bytes: u64,
}

enum Draw {
    /// A redrawn line on a terminal.
    Live { bar: ProgressBar, color: bool },
    /// Plain lines (a file, `TERM=dumb`): printed by the monitor.
    Plain { last: Option<Instant> },
}

/// The sparkline's span: one cell a second.
const SPARK_CELLS: usize = 30;
const SPARK_UNICODE: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
const SPARK_ASCII: [char; 8] = ['_', '.', ',', '-', '=', '+', '*', '#'];

/// The live view.
pub struct LiveView {
    draw: Draw,
    samples: VecDeque<Sample>,
    /// Queue fill, one a second, newest last: the sparkline.
    fills: VecDeque<f64>,
    last_fill: Option<Instant>,
    unicode: bool,
}

impl LiveView {
    /// `forced` draws even where stderr is not a terminal (then as plain lines, as with
    /// `dumb`); `color` highlights the bar and drops.
    pub fn new(forced: bool, color: bool, dumb: bool) -> LiveView {
        let terminal = std::io::stderr().is_terminal();
        let draw = if forced && (!terminal || dumb) {
            Draw::Plain { last: None }
        } else {
            let hz = (1000 / REFRESH.as_millis()) as u8;
            let target =
                ProgressDrawTarget::term_like_with_hz(Box::new(console::Term::stderr()), hz);
            let style = ProgressStyle::with_template("{msg}").expect("a valid template");
            let bar = ProgressBar::with_draw_target(None, target).with_style(style);
            Draw::Live { bar, color }
        };
        let utf8 = ["LC_ALL", "LC_CTYPE", "LANG"]
            .iter()
            .find_map(|v| std::env::var(v).ok().filter(|v| !v.is_empty()))
            .is_some_and(|v| v.to_ascii_lowercase().replace('-', "").contains("utf8"));
        LiveView {
            unicode: utf8 && color,
            draw,
            samples: VecDeque::new(),
            fills: VecDeque::new(),
            last_fill: None,
        }
    }

    /// Takes the figures of `snap` at `now`; returns a plain line to print, if one is due.
    pub fn update(&mut self, snap: &Snapshot<'_>, now: Instant) -> Option<String> {
        let s = &snap.stats;
        self.samples.push_back(Sample {
            at: now,
            in_items: s.input.items,
            in_bytes: s.input.bytes,
            out_items: s.output.items,
            out_bytes: s.sent_bytes,
        });
        while self.samples.len() > 2 && now - self.samples[1].at >= WINDOW {
            self.samples.pop_front();
        }
        if self
            .last_fill
            .is_none_or(|t| now - t >= Duration::from_secs(1))
        {
            self.last_fill = Some(now);
            self.fills.push_back(fill(snap));
            if self.fills.len() > SPARK_CELLS {
                self.fills.pop_front();
            }
        }
        let spark = sparkline(&self.fills, self.unicode);
        let rates = self.rates();
        match &mut self.draw {
            Draw::Live { bar, color } => {
                let width = console::Term::stderr()
                    .size_checked()
                    .map_or(DEFAULT_WIDTH, |(_, w)| w as usize);
                bar.set_message(line(snap, rates, &spark, width.saturating_sub(1), *color));
                None
            }
            Draw::Plain { last } => {
                if last.is_some_and(|t| now - t < PLAIN_EVERY) {
                    return None;
                }
                *last = Some(now);
                Some(line(snap, rates, &spark, usize::MAX, false))
            }
        }
    }

    /// Per second over the window: items in, bytes in, items out, bytes out (as written,
    /// partial writes included).
    fn rates(&self) -> [f64; 4] {
        let (Some(first), Some(last)) = (self.samples.front(), self.samples.back()) else {
            return [0.0; 4];
        };
        let secs = (last.at - first.at).as_secs_f64();
        if secs <= 0.0 {
            return [0.0; 4];
        }
        [
            (last.in_items - first.in_items) as f64 / secs,
            (last.in_bytes - first.in_bytes) as f64 / secs,
            (last.out_items - first.out_items) as f64 / secs,
            (last.out_bytes - first.out_bytes) as f64 / secs,
        ]
    }

    /// Runs `print` with the line cleared, then redraws it: for records printed meanwhile.
    pub fn suspend<R>(&self, print: impl FnOnce() -> R) -> R {
        match &self.draw {
            Draw::Live { bar, .. } => bar.suspend(print),
            Draw::Plain { .. } => print(),
        }
    }

    /// Removes the line.
    pub fn finish(&self) {
        if let Draw::Live { bar, .. } = &self.draw {
            bar.finish_and_clear();
        }
    }
}

/// What the monitor sends the live view's thread.
pub enum Frame {
    /// New figures: counters and elapsed time.
    Update(Box<crate::books::stats::Stats>, Duration),
    /// A line to print above the live one.
    Print(String),
}

/// The parts of a snapshot that do not change.
pub struct Fixed {
    pub name: Option<String>,
    pub noun: &'static str,
    pub policy: crate::queue::policy::Policy,
    pub bounds: crate::queue::Bounds,
}

/// The live view on a thread of its own, so that a terminal that blocks (paused with Ctrl-S,
/// or not read) holds only this thread, never the monitor that hears signals. Frames are
/// handed over without waiting; one that finds the thread busy is skipped.
pub struct Drawer {
    frames: Option<crossbeam_channel::Sender<Frame>>,
    done: crossbeam_channel::Receiver<()>,
}

impl Drawer {
    pub fn spawn(mut live: LiveView, fixed: Fixed) -> std::io::Result<Drawer> {
        let (tx, rx) = crossbeam_channel::bounded::<Frame>(64);
        let (done_tx, done) = crossbeam_channel::bounded::<()>(0);
        std::thread::Builder::new()
            .name("bpipe-live".into())
            .spawn(move || {
                for frame in rx {
                    match frame {
                        Frame::Update(stats, elapsed) => {
                            let stats = *stats;
                            let snap = Snapshot {
                                name: fixed.name.as_deref(),
                                noun: fixed.noun,
                                policy: fixed.policy,
                                bounds: fixed.bounds,
                                spill_max: None,
                                stats,
                                elapsed,
                                end: crate::report::End::Running,
                                interval: (Duration::ZERO, stats),
                            };
                            if let Some(line) = live.update(&snap, Instant::now()) {
                                crate::report::error_line(&line);
                            }
                        }
                        Frame::Print(line) => live.suspend(|| crate::report::error_line(&line)),
                    }
                }
                live.finish();
                drop(done_tx);
            })?;
        Ok(Drawer {
            frames: Some(tx),
            done,
        })
    }

    /// Hands `frame` over; false if the thread is behind (a blocked terminal).
    pub fn send(&self, frame: Frame) -> bool {
        self.frames
            .as_ref()
            .is_some_and(|tx| tx.try_send(frame).is_ok())
    }

    /// Clears the line, waiting at most `wait` for the thread.
    pub fn finish(&mut self, wait: Duration) {
        self.frames = None;
        let _ = self.done.recv_timeout(wait);
    }
}

/// How full the queue is: items or bytes, whichever is fuller.
fn fill(snap: &Snapshot<'_>) -> f64 {
    let held = snap.stats.depth;
    (held.items as f64 / snap.bounds.items as f64)
        .max(held.bytes as f64 / snap.bounds.bytes as f64)
        .clamp(0.0, 1.0)
}

/// Queue fill over the last half minute, a cell a second.
fn sparkline(fills: &VecDeque<f64>, unicode: bool) -> String {
    let cells = if unicode { SPARK_UNICODE } else { SPARK_ASCII };
    fills
        .iter()
        .map(|f| cells[((f * 8.0) as usize).min(7)])
        .collect()
}

fn short(d: Duration) -> String {
    super::short(d, true)
}

/// `999`, `10.0k`, `123k`, `1.23M`: a count that never takes more than five columns.
fn compact(n: f64) -> String {
    let (value, unit) = match n {
        n if n < 1e3 => return format!("{n:.0}"),
        n if n < 1e6 => (n / 1e3, "k"),
        n if n < 1e9 => (n / 1e6, "M"),
        n if n < 1e12 => (n / 1e9, "G"),
        n => (n / 1e12, "T"),
    };
    match value {
        v if v < 10.0 => format!("{v:.2}{unit}"),
        v if v < 100.0 => format!("{v:.1}{unit}"),
        v => format!("{v:.0}{unit}"),
    }
}

/// The status line for `width` columns: the fields that fit, most valuable first, shown in
/// their usual order.
fn line(snap: &Snapshot<'_>, rates: [f64; 4], spark: &str, width: usize, color: bool) -> String {
    let s = &snap.stats;
    let held = s.depth;
    let fill = fill(snap);
    // One figure for both: the bar's cells and the percentage shown.
    let percent = (fill * 100.0).floor() as usize;
    let cells = (percent * BAR_WIDTH) / 100;
    let bar = format!(
        "[{}{}] {percent}%",
        "#".repeat(cells),
        "-".repeat(BAR_WIDTH - cells)
    );
    let secs = snap.elapsed.as_secs();
    let [in_items, in_bytes, out_items, out_bytes] = rates;
    let size = |b: f64| match b {
        b if b < 1024.0 => format!("{b:.0}B"),
        b => {
            let (value, unit) = [
                (1u64 << 40, "TiB"),
                (1 << 30, "GiB"),
                (1 << 20, "MiB"),
                (1 << 10, "KiB"),
            ]
            .into_iter()
            .map(|(scale, unit)| (b / scale as f64, unit))
            .find(|(value, _)| *value >= 1.0)
            .expect("b >= 1024");
            format!(
                "{}{unit}",
                compact(value).trim_end_matches(['k', 'M', 'G', 'T'])
            )
        }
    };
    // (priority, text) in the order shown; priority 0 is kept longest.
    let mut fields: Vec<(u8, String)> = Vec::new();
    if let Some(name) = snap.name {
        fields.push((3, format!("[{}]", super::printable(name))));
    }
    fields.push((0, bar));
    if s.dropped.items > 0 {
        fields.push((0, format!("dropped {}", compact(s.dropped.items as f64))));
    }
    fields.push((
        1,
        format!(
            "{}/{} {}",
            compact(held.items as f64),
            compact(snap.bounds.items as f64),
            snap.noun
        ),
    ));
    if s.stalled_now.as_secs() >= 1 {
        fields.push((1, format!("stalled {}s", s.stalled_now.as_secs())));
    }
    if !spark.is_empty() {
        fields.push((3, spark.to_string()));
    }
    fields.push((2, format!("in {}/s", compact(in_items))));
    fields.push((2, format!("out {}/s", compact(out_items))));
    if s.interval_wait.items > 0 {
        fields.push((3, format!("wait p99 {}", short(s.interval_wait.p99))));
    }
    fields.push((
        4,
        format!("{}/s in {}/s out", size(in_bytes), size(out_bytes)),
    ));
    fields.push((5, format!("total {}", compact(s.input.items as f64))));
    fields.push((6, snap.policy.to_string()));
    fields.push((
        0,
        format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60),
    ));
    for cut in (0..=6).rev() {
        let kept: Vec<&String> = fields
            .iter()
            .filter(|(p, _)| *p <= cut)
            .map(|(_, t)| t)
            .collect();
        let len = kept.iter().map(|t| t.chars().count()).sum::<usize>() + 2 * (kept.len() - 1);
        if len <= width || cut == 0 {
            let shown: Vec<String> = kept
                .iter()
                .map(|t| match color && t.starts_with("dropped ") {
                    true => format!("\x1b[1;31m{t}\x1b[0m"),
                    false => t.to_string(),
                })
                .collect();
            // Narrower than the fields that matter most: whole fields from the left.
            return match len <= width {
                true => shown.join("  "),
                false => kept
                    .iter()
                    .scan(0, |used, t| {
                        *used += t.chars().count() + 2;
                        (*used <= width + 2).then(|| t.to_string())
                    })
                    .collect::<Vec<_>>()
                    .join("  "),
            };
        }
    }
    unreachable!("cut 0 always returns")
}

#[cfg(test)]
mod tests;
