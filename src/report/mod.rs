//! What bpipe says about its counters: stats records (text or JSON Lines), the drop warning,
//! and error lines. Formatting only; [`crate::report::monitor`] decides when.

mod figures;
mod json;
pub mod keys;
pub mod monitor;
pub mod out;
pub mod progress;
mod prometheus;
mod text;
pub mod workers;

pub use json::json_record;
pub use prometheus::prometheus_record;
pub use text::text_record;

use std::io;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bytesize::ByteSize;

use crate::books::stats::Stats;
use crate::books::tally::Tally;
use crate::queue::Bounds;
use crate::queue::policy::Policy;

/// Writes `bpipe: <message>` to stderr, ignoring a stderr that cannot be written: one line,
/// whatever the message quotes (a newline in an argument is shown as `\n`).
pub fn error(message: impl std::fmt::Display) {
    let message = message.to_string().replace('\n', "\\n");
    error_line(&format!("bpipe: {message}"));
}

/// How long a line for stderr may wait for stderr to take it.
const STDERR_WAIT: Duration = Duration::from_secs(1);

/// Writes `line` and a newline to stderr, ignoring a stderr that fails, and giving up on one
/// that does not take it within a second: never through std's stderr lock (a thread blocked
/// writing records may hold it), and never waiting without end (a full stderr pipe would
/// make bpipe hang, deaf to signals).
pub fn error_line(line: &str) {
    let text = format!("{line}\n");
    let deadline = Instant::now() + STDERR_WAIT;
    let mut done = 0;
    while done < text.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        let mut poll = libc::pollfd {
            fd: libc::STDERR_FILENO,
            events: libc::POLLOUT,
            revents: 0,
        };
        let millis = libc::c_int::try_from(left.as_millis()).unwrap_or(libc::c_int::MAX);
        // SAFETY: one valid pollfd.
        match unsafe { libc::poll(&mut poll, 1, millis) } {
            n if n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted => {
                continue;
            }
            n if n <= 0 => return,
            _ if poll.revents & libc::POLLOUT == 0 => return,
            _ => {}
        }
        match io::Write::write(&mut out::RawStderr, &text.as_bytes()[done..]) {
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

pub use crate::values::reason;

/// A stall's length as messages give it: whole seconds, or milliseconds below one.
pub fn stall_length(d: Duration) -> String {
    let rounded = match d.as_secs() {
        0 => Duration::from_millis(d.as_millis() as u64),
        secs => Duration::from_secs(secs),
    };
    humantime::format_duration(rounded).to_string()
}

/// What bpipe tells the user on stderr, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reporting {
    /// Print nothing but errors.
    pub quiet: bool,
    /// Print the final record on stderr even when nothing noteworthy happened.
    pub summary: bool,
    pub name: Option<String>,
    /// When to draw the live view.
    pub live: Live,
    pub interval: Option<Duration>,
    pub format: StatsFormat,
    pub file: Option<PathBuf>,
    pub drops_exit: Option<u8>,
    /// `--stall-timeout` and what a stall that long does.
    pub stall: Option<(Duration, OnStall)>,
}

/// When the live view is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Live {
    /// When stderr is a terminal (and `TERM` is not `dumb`).
    OnTerminal,
    /// Always (`--progress`): plain lines where stderr is no terminal.
    Always,
    /// Never (`--no-progress`).
    Never,
}

/// How records are written (`--stats-format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatsFormat {
    /// One greppable line per record.
    Text,
    /// One JSON object per line.
    Json,
    /// The Prometheus text format, the `--stats-file` replaced whole at every record.
    Prometheus,
}

/// What a stall of `--stall-timeout` does (`--on-stall`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnStall {
    /// Say so once a stall, and once when the consumer resumes.
    Warn,
    /// Stop as a closed output would (status 5).
    Fail,
}

/// Why a record is printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// Periodic (`--stats-interval`) or asked for (SIGUSR1).
    Tick,
    /// Items started being dropped after a quiet spell.
    Drop,
    /// A signal asked bpipe to stop; it drains the queue for at most `drain`.
    Stop { drain: Duration },
    /// `--stall-timeout`: stdout has taken nothing for that long while items wait.
    Stall,
    /// The stalled consumer took data again, after `after`.
    Resume { after: Duration },
    /// At exit.
    Final,
}

impl Event {
    fn name(self) -> &'static str {
        match self {
            Event::Tick => "tick",
            Event::Drop => "drop",
            Event::Stop { .. } => "stop",
            Event::Stall => "stall",
            Event::Resume { .. } => "resume",
            Event::Final => "final",
        }
    }
}

/// Everything a record shows.
#[derive(Clone, Debug)]
pub struct Snapshot<'a> {
    pub name: Option<&'a str>,
    /// What an item is called: lines, records or chunks.
    pub noun: &'a str,
    pub policy: Policy,
    pub bounds: Bounds,
    /// `--spill-max`, if there is a spill.
    pub spill_max: Option<u64>,
    /// `--workers`: each worker's figures (none without a pool).
    pub workers: &'a [crate::output::pool::slot::Figures],
    /// `--key`: the keys' figures (none without keys).
    pub keys: Option<&'a crate::keys::KeyFigures>,
    pub stats: Stats,
    pub elapsed: Duration,
    pub end: RunState,
    /// The interval this record closes: its length, and the counters at its start.
    pub interval: (Duration, Stats),
}

/// Per second over the record's interval: items and bytes in and out, and the share of it
/// that stdout was not taking data.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Rates {
    pub in_items: f64,
    pub in_bytes: f64,
    pub out_items: f64,
    pub out_bytes: f64,
    pub stalled_share: f64,
}

/// How the run stands, as a record tells it: running, or over and how (as far as a record
/// says it). Why a run ended is control's `pipeline::End`; its failures, `error::Error`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunState {
    Running,
    Finished,
    OutputClosed,
    /// `--on-stall fail` ended it: the consumer took nothing for `--stall-timeout`.
    Stalled,
    /// Running, with the writer paused by `bpipectl pause`.
    Paused,
    Signal(i32),
}

impl Snapshot<'_> {
    /// Items bpipe holds: queued, in the reader's hand, or taken by the writer and not yet
    /// written.
    pub fn held(&self) -> Tally {
        self.stats.depth + self.in_hand()
    }

    /// Items the reader and writer hold outside the queue: a read waiting whole for the
    /// writer, and what the writer is writing.
    pub fn in_hand(&self) -> Tally {
        self.stats.in_flight + self.stats.parked
    }

    /// The signal that stopped bpipe, if one did.
    pub fn signal(&self) -> Option<i32> {
        match self.end {
            RunState::Signal(number) => Some(number),
            _ => None,
        }
    }

    /// Rates over the interval this record closes.
    pub fn rates(&self) -> Rates {
        let (length, start) = self.interval;
        let secs = length.as_secs_f64();
        if secs <= 0.0 {
            return Rates::default();
        }
        let s = &self.stats;
        let per = |now: u64, then: u64| now.saturating_sub(then) as f64 / secs;
        Rates {
            in_items: per(s.input.items, start.input.items),
            in_bytes: per(s.input.bytes, start.input.bytes),
            out_items: per(s.output.items, start.output.items),
            out_bytes: per(s.sent_bytes, start.sent_bytes),
            stalled_share: ((s.stalled.saturating_sub(start.stalled)).as_secs_f64() / secs)
                .min(1.0),
        }
    }

    /// `1 line`, `2 lines`.
    pub fn count(&self, n: u64) -> String {
        count(n, self.noun)
    }

    fn prefix(&self) -> String {
        prefix(self.name)
    }
}

/// `1 line`, `2 lines`, for a plural `noun`.
pub fn count(n: u64, noun: &str) -> String {
    let noun = match n {
        1 => noun.strip_suffix('s').unwrap_or(noun),
        _ => noun,
    };
    format!("{n} {noun}")
}

/// `bpipe:`, or `bpipe[NAME]:` with `-N`.
pub fn prefix(name: Option<&str>) -> String {
    match name {
        Some(name) => format!("bpipe[{}]:", printable(name)),
        None => "bpipe:".to_string(),
    }
}

/// `text` with control characters (newlines, escape sequences) escaped, so that a record
/// stays one line and a terminal shows it as it is.
pub fn printable(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let escaped = c.is_control().then(|| c.escape_default());
            escaped
                .into_iter()
                .flatten()
                .chain((!c.is_control()).then_some(c))
        })
        .collect()
}

/// A duration in the unit that reads best: `850us`, `12.5ms`, `1.20s`; `narrow` keeps one
/// digit fewer (`12ms`, `1.2s`) for the live view.
fn short(d: Duration, narrow: bool) -> String {
    let secs = d.as_secs_f64();
    let digits = usize::from(!narrow);
    match secs {
        s if s < 1e-3 => format!("{}us", d.as_micros()),
        s if s < 1.0 => format!("{:.*}ms", digits, s * 1e3),
        s => format!("{:.*}s", digits + 1, s),
    }
}

fn size(bytes: u64) -> String {
    ByteSize(bytes).display().iec().to_string()
}

/// A record in `format`.
pub fn record(event: Event, snap: &Snapshot<'_>, format: StatsFormat) -> String {
    match format {
        StatsFormat::Text => text_record(event, snap),
        StatsFormat::Json => json_record(event, snap),
        StatsFormat::Prometheus => prometheus_record(snap),
    }
}
