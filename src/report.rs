//! What bpipe tells the user on stderr: the summary at exit and error lines.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::time::Duration;

use bytesize::ByteSize;

use crate::stats::Stats;
use crate::tally::Tally;

/// Writes `bpipe: <message>` to stderr, ignoring a stderr that cannot be written.
pub fn error(message: impl std::fmt::Display) {
    let _ = writeln!(io::stderr().lock(), "bpipe: {message}");
}

/// Writes one line to stderr as it is.
pub fn error_line(line: &str) {
    let _ = writeln!(io::stderr().lock(), "{line}");
}

fn tally(t: Tally, noun: &str) -> String {
    format!("{} {noun} {}", t.items, ByteSize(t.bytes).display().iec())
}

/// The one-line summary printed at exit, e.g.
/// `bpipe: in 1000 lines 12.3 KiB, out 990 lines 12.0 KiB, dropped 10 lines 310 B (slide),
/// undelivered 0 lines 0 B, max depth 64 lines 2.0 KiB, 1.20s`.
pub fn summary(stats: &Stats, noun: &str, policy: &str, elapsed: Duration, closed: bool) -> String {
    let mut line = format!(
        "bpipe: in {}, out {}, dropped {} ({policy}",
        tally(stats.input, noun),
        tally(stats.output, noun),
        tally(stats.dropped, noun),
    );
    if stats.overlong.items > 0 {
        let _ = write!(line, "; {} over --max-line", stats.overlong.items);
    }
    let _ = write!(
        line,
        "), undelivered {}, max depth {}, ",
        tally(stats.undelivered, noun),
        tally(stats.max_depth, noun),
    );
    if closed {
        line.push_str("output closed after ");
    }
    let _ = write!(line, "{:.2}s", elapsed.as_secs_f64());
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_names_every_figure() {
        let stats = Stats {
            input: Tally::new(1000, 12_600),
            output: Tally::new(990, 12_290),
            dropped: Tally::new(10, 310),
            overlong: Tally::new(1, 100),
            max_depth: Tally::new(64, 2048),
            ..Stats::default()
        };
        assert_eq!(
            summary(&stats, "lines", "slide", Duration::from_millis(1200), false),
            "bpipe: in 1000 lines 12.3 KiB, out 990 lines 12.0 KiB, dropped 10 lines 310 B \
             (slide; 1 over --max-line), undelivered 0 lines 0 B, max depth 64 lines 2.0 KiB, 1.20s"
        );
    }
}
