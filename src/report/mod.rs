//! What bpipe says about its counters: stats records (text or JSON Lines), the drop warning,
//! and error lines. Formatting only; [`crate::report::monitor`] decides when.

pub mod monitor;
pub mod out;
pub mod progress;

use std::fmt::Write as _;
use std::io::{self, Write};
use std::time::Duration;

use bytesize::ByteSize;
use serde_json::json;

use crate::books::stats::Stats;
use crate::books::tally::Tally;
use crate::queue::Bounds;

/// Writes `bpipe: <message>` to stderr, ignoring a stderr that cannot be written.
pub fn error(message: impl std::fmt::Display) {
    let _ = writeln!(io::stderr().lock(), "bpipe: {message}");
}

/// An I/O error as a person reads it: the OS's words without Rust's ` (os error N)`.
pub fn reason(error: &io::Error) -> String {
    let text = error.to_string();
    match text.find(" (os error ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
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
    /// At exit.
    Final,
}

impl Event {
    fn name(self) -> &'static str {
        match self {
            Event::Tick => "tick",
            Event::Drop => "drop",
            Event::Stop { .. } => "stop",
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
    pub policy: &'a str,
    pub bounds: Bounds,
    pub stats: Stats,
    pub elapsed: Duration,
    /// Stdout was closed by the consumer.
    pub output_closed: bool,
    /// The signal that stopped bpipe, if one did.
    pub signal: Option<i32>,
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

    fn prefix(&self) -> String {
        match self.name {
            Some(name) => format!("bpipe[{}]:", printable(name)),
            None => "bpipe:".to_string(),
        }
    }
}

/// `text` with control characters (newlines, escape sequences) escaped, so that a record
/// stays one line and a terminal shows it as it is.
fn printable(text: &str) -> String {
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

fn size(bytes: u64) -> String {
    ByteSize(bytes).display().iec().to_string()
}

fn tally(t: Tally, noun: &str) -> String {
    format!("{} {noun} {}", t.items, size(t.bytes))
}

/// A record in `format`.
pub fn record(event: Event, snap: &Snapshot<'_>, json: bool) -> String {
    if json {
        json_record(event, snap)
    } else {
        text_record(event, snap)
    }
}

/// One greppable line with exact counts, e.g.
/// `bpipe[ingest]: in 1000 lines 12.3 KiB, out 990 lines 12.0 KiB, dropped 10 lines 310 B
/// (slide), undelivered 0 lines 0 B, depth 0/65536 lines 0 B/16.0 MiB, max depth 64 lines
/// 2.0 KiB, 1.20s`. A drop warning reads `bpipe: dropping under --policy slide: …`.
pub fn text_record(event: Event, snap: &Snapshot<'_>) -> String {
    let stats = &snap.stats;
    let noun = snap.noun;
    if event == Event::Drop {
        return format!(
            "{} dropping under --policy {}: {} dropped so far",
            snap.prefix(),
            snap.policy,
            tally(stats.dropped, noun),
        );
    }
    if let Event::Stop { drain } = event {
        // What the reader held is undelivered at once; the rest is drained, or undelivered
        // too when the drain gives up: the final record adds these up.
        let mut line = format!(
            "{} stopping on signal {}: draining {} (at most {}; signal again to stop at once)",
            snap.prefix(),
            snap.signal.unwrap_or_default(),
            tally(snap.held(), noun),
            humantime::format_duration(drain),
        );
        if !stats.undelivered.is_zero() {
            let _ = write!(line, "; {} undelivered", tally(stats.undelivered, noun));
        }
        return line;
    }
    let mut line = format!(
        "{} in {}, out {}, dropped {} ({}",
        snap.prefix(),
        tally(stats.input, noun),
        tally(stats.output, noun),
        tally(stats.dropped, noun),
        snap.policy,
    );
    if stats.overlong.items > 0 {
        let _ = write!(line, "; {} over --max-line", stats.overlong.items);
    }
    if stats.torn > 0 {
        let _ = write!(line, "; {} cut short", stats.torn);
    }
    // Text shows the queue against its bounds; JSON's depth adds what is being written.
    let queued = stats.depth;
    let _ = write!(
        line,
        "), undelivered {}, depth {}/{} {noun} {}/{}, max depth {}, ",
        tally(stats.undelivered, noun),
        queued.items,
        snap.bounds.items,
        size(queued.bytes),
        size(snap.bounds.bytes as u64),
        tally(stats.max_depth, noun),
    );
    if let Some(signal) = snap.signal {
        let _ = write!(line, "stopped by signal {signal} after ");
    } else if snap.output_closed {
        line.push_str("output closed after ");
    }
    let _ = write!(line, "{:.2}s", snap.elapsed.as_secs_f64());
    line
}

/// One JSON object (JSON Lines).
pub fn json_record(event: Event, snap: &Snapshot<'_>) -> String {
    let s = &snap.stats;
    let in_hand = snap.in_hand();
    json!({
        "event": event.name(),
        "name": snap.name,
        "elapsed_s": snap.elapsed.as_secs_f64(),
        "unit": snap.noun,
        "in_items": s.input.items,
        "in_bytes": s.input.bytes,
        "out_items": s.output.items,
        "out_bytes": s.output.bytes,
        "dropped_items": s.dropped.items,
        "dropped_bytes": s.dropped.bytes,
        "overlong_items": s.overlong.items,
        "undelivered_items": s.undelivered.items,
        "undelivered_bytes": s.undelivered.bytes,
        "torn_items": s.torn,
        "depth_items": s.depth.items,
        "depth_bytes": s.depth.bytes,
        "in_hand_items": in_hand.items,
        "in_hand_bytes": in_hand.bytes,
        "max_depth_items": s.max_depth.items,
        "max_depth_bytes": s.max_depth.bytes,
        "cap_items": snap.bounds.items,
        "cap_bytes": snap.bounds.bytes,
        "blocked_s": s.blocked.as_secs_f64(),
        "policy": snap.policy,
        "output_closed": snap.output_closed,
        "signal": snap.signal,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(stats: Stats) -> Snapshot<'static> {
        Snapshot {
            name: None,
            noun: "lines",
            policy: "slide",
            bounds: Bounds {
                items: 64,
                bytes: 16 << 20,
            },
            stats,
            elapsed: Duration::from_millis(1200),
            output_closed: false,
            signal: None,
        }
    }

    fn stats() -> Stats {
        Stats {
            input: Tally::new(1000, 12_600),
            output: Tally::new(990, 12_290),
            dropped: Tally::new(10, 310),
            overlong: Tally::new(1, 100),
            max_depth: Tally::new(64, 2048),
            ..Stats::default()
        }
    }

    #[test]
    fn text_records_name_every_figure() {
        assert_eq!(
            text_record(Event::Final, &snapshot(stats())),
            "bpipe: in 1000 lines 12.3 KiB, out 990 lines 12.0 KiB, dropped 10 lines 310 B \
             (slide; 1 over --max-line), undelivered 0 lines 0 B, depth 0/64 lines 0 B/16.0 MiB, \
             max depth 64 lines 2.0 KiB, 1.20s"
        );
        let mut named = snapshot(stats());
        named.name = Some("ingest");
        named.output_closed = true;
        let line = text_record(Event::Final, &named);
        assert!(line.starts_with("bpipe[ingest]: in 1000 lines"), "{line}");
        assert!(line.ends_with("output closed after 1.20s"), "{line}");
        let mut stopping = snapshot(Stats {
            depth: Tally::new(5, 50),
            ..stats()
        });
        stopping.signal = Some(15);
        assert_eq!(
            text_record(
                Event::Stop {
                    drain: Duration::from_secs(5)
                },
                &stopping
            ),
            "bpipe: stopping on signal 15: draining 5 lines 50 B (at most 5s; signal again to \
             stop at once)"
        );
        assert_eq!(
            text_record(Event::Drop, &snapshot(stats())),
            "bpipe: dropping under --policy slide: 10 lines 310 B dropped so far"
        );
    }

    #[test]
    fn a_name_with_control_characters_stays_on_one_line() {
        let mut snap = snapshot(stats());
        snap.name = Some("evil\n\x1b[2Jname");
        let line = text_record(Event::Final, &snap);
        assert!(
            line.starts_with("bpipe[evil\\n\\u{1b}[2Jname]: in"),
            "{line}"
        );
        assert!(!line.contains('\n') && !line.contains('\x1b'));
    }

    #[test]
    fn json_records_carry_every_field() {
        let mut snap = snapshot(Stats {
            depth: Tally::new(3, 30),
            in_flight: Tally::new(1, 5),
            ..stats()
        });
        snap.name = Some("a \"quoted\" name");
        let value: serde_json::Value =
            serde_json::from_str(&json_record(Event::Tick, &snap)).unwrap();
        assert_eq!(value["event"], "tick");
        assert_eq!(value["name"], "a \"quoted\" name");
        assert_eq!(value["in_items"], 1000);
        assert_eq!(value["depth_items"], 3);
        assert_eq!(value["depth_bytes"], 30);
        assert_eq!(value["in_hand_items"], 1);
        assert_eq!(value["in_hand_bytes"], 5);
        assert_eq!(value["cap_bytes"], 16 << 20);
        assert_eq!(value["policy"], "slide");
        assert_eq!(value["elapsed_s"], 1.2);
    }
}
