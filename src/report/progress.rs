//! The live status line on a terminal, drawn with indicatif. bpipe composes the line itself
//! for the terminal's width, now: fields are left out, lowest value first, as it narrows (a
//! number is never cut, the line never wraps), and the bar and its percentage come from one
//! figure. Forced onto a file or a dumb terminal (`--progress`), it is a plain line a second.

use std::collections::VecDeque;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::report::Snapshot;

mod line;
use line::{fill, line, sparkline};

/// How often the line is redrawn.
pub const REFRESH: Duration = Duration::from_millis(100);
/// Rates are measured over this window: long enough that a steady consumer reads steady.
const WINDOW: Duration = Duration::from_secs(2);
/// A forced line on a non-terminal is written this often.
const PLAIN_EVERY: Duration = Duration::from_secs(1);
/// The line when the width is unknown.
const DEFAULT_WIDTH: usize = 80;

/// The terminal's width, as stderr's terminal reports it: its columns even where it reports
/// no rows (console's size asks for both, and a line drawn 80 wide would wrap).
fn columns() -> Option<usize> {
    let mut size = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ fills a winsize we own; a failure leaves it zero.
    unsafe { libc::ioctl(libc::STDERR_FILENO, libc::TIOCGWINSZ, &mut size) };
    (size.ws_col > 0).then_some(usize::from(size.ws_col))
}

/// How many columns the live line leaves free at the right: indicatif fills a line to the
/// width it is told, leaving the cursor in the last column, where a terminal's `^C` echo
/// would wrap onto a new line and leave the frame above it. Two columns short, the echo
/// stays on the line that the next frame or the clearing overwrites.
const ECHO_ROOM: usize = 2;

/// Stderr's terminal as indicatif sees it: `ECHO_ROOM` columns narrower than it is, and
/// always at least one row high (a terminal reporting 0 rows would otherwise get nothing).
#[derive(Debug)]
struct Narrowed(console::Term);

impl indicatif::TermLike for Narrowed {
    fn width(&self) -> u16 {
        let cols = columns().unwrap_or(DEFAULT_WIDTH);
        u16::try_from(cols.saturating_sub(ECHO_ROOM).max(1)).unwrap_or(u16::MAX)
    }

    fn height(&self) -> u16 {
        self.0.size().0.max(1)
    }

    fn move_cursor_up(&self, n: usize) -> std::io::Result<()> {
        self.0.move_cursor_up(n)
    }

    fn move_cursor_down(&self, n: usize) -> std::io::Result<()> {
        self.0.move_cursor_down(n)
    }

    fn move_cursor_right(&self, n: usize) -> std::io::Result<()> {
        self.0.move_cursor_right(n)
    }

    fn move_cursor_left(&self, n: usize) -> std::io::Result<()> {
        self.0.move_cursor_left(n)
    }

    fn write_line(&self, s: &str) -> std::io::Result<()> {
        self.0.write_line(s)
    }

    fn write_str(&self, s: &str) -> std::io::Result<()> {
        self.0.write_str(s)
    }

    fn clear_line(&self) -> std::io::Result<()> {
        self.0.clear_line()
    }

    fn flush(&self) -> std::io::Result<()> {
        std::io::Write::flush(&mut &self.0)
    }
}

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
            let target = ProgressDrawTarget::term_like_with_hz(
                Box::new(Narrowed(console::Term::buffered_stderr())),
                hz,
            );
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
                let width = columns().unwrap_or(DEFAULT_WIDTH).saturating_sub(ECHO_ROOM);
                // Redrawn only when the line changes: an idle run's line changes once a second.
                let text = line(snap, rates, &spark, width, *color);
                if bar.message() != text {
                    bar.set_message(text);
                }
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
    /// New figures: counters, elapsed time, the workers' figures (`--workers`), and whether
    /// the run goes on or drains after a stop signal.
    Update(
        Box<crate::books::stats::Stats>,
        Duration,
        Vec<crate::output::pool::slot::Figures>,
        Option<crate::keys::KeyRow>,
        crate::report::RunState,
    ),
    /// A line to print above the live one.
    Print(String),
}

/// The parts of a snapshot that do not change.
#[derive(Clone, Debug)]
pub struct Fixed {
    pub name: Option<String>,
    pub noun: &'static str,
    pub policy: crate::queue::policy::Policy,
    pub bounds: crate::queue::Bounds,
    /// `--spill-max`, if there is a spill.
    pub spill_max: Option<u64>,
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
                        Frame::Update(stats, elapsed, workers, top, end) => {
                            let stats = *stats;
                            let keys = top.map(|row| crate::keys::KeyFigures {
                                top: vec![row],
                                ..Default::default()
                            });
                            let snap = Snapshot {
                                name: fixed.name.as_deref(),
                                noun: fixed.noun,
                                policy: fixed.policy,
                                bounds: fixed.bounds,
                                spill_max: fixed.spill_max,
                                workers: &workers,
                                keys: keys.as_ref(),
                                stats,
                                elapsed,
                                end,
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

#[cfg(test)]
mod tests;
