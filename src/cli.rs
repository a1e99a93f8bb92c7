//! The command line, as clap sees it. Validation beyond what clap checks lives in
//! [`crate::config`].

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum, ValueHint};

use crate::values::rate::Rate;
use crate::values::schedule::Schedule;
use crate::values::units::{parse_count, parse_size};

/// Default `--cap`: items the queue may hold.
pub const DEFAULT_CAP: usize = 65_536;
/// Default `--cap-bytes`.
pub const DEFAULT_CAP_BYTES: u64 = 16 << 20;
/// Default `--max-line` (lowered to `--cap-bytes` when that is smaller).
pub const DEFAULT_MAX_LINE: u64 = 1 << 20;

const AFTER_LONG_HELP: &str = "\
Exit status: 0 input drained, or the consumer left; 1 a read or write failed, memory ran \
out, or records were lost; 2 bad usage (nothing was read); 3 queue full under --policy fail; 5 consumer stalled under --on-stall fail; 6 a --workers worker failed; CODE with \
--drops-exit CODE when anything was dropped; 128+N stopped by signal N (SIGINT 130, SIGTERM \
143, SIGHUP 129: bpipe dies of the signal after draining); 70 internal error.

Signals: SIGINT, SIGTERM, SIGHUP drain the queue (see --drain-timeout), report, exit; \
SIGUSR1 prints a record now.

Rate forms: N/PERIOD counts items (1000/s, 50/100ms, 30/min, 2/h; a bare number is items per \
second); SIZE/PERIOD counts bytes (10MiB/s, 2K/s, 512KiB/250ms).

Sizes: K, M, G, T and KiB, MiB… are powers of 1024; KB, MB… powers of 1000. Counts (--cap, \
--burst with an item rate) take k, M, G as powers of 1000: --cap 10k.

Examples:
  producer | bpipe --cap 64 --policy slide | consumer
  bpipe big.log | slow-tool
  tail -F app.log | bpipe --rate 100/s --policy drop --cap 100 | indexer
  tar c data/ | bpipe --cap-bytes 256MiB --rate 10MiB/s | ssh host 'tar x'
  producer | bpipe --workers 1..8 -- sh -c 'exec gzip > part-$BPIPE_WORKER.gz'";

/// A bounded pipe buffer with explicit overflow policies and exact accounting.
///
/// bpipe sits between a producer and a consumer. It reads stdin into a bounded queue of
/// items (lines by default) and writes them to stdout. When the queue is full, --policy
/// decides: block the producer, drop the newest item, slide out the oldest, or fail. At exit
/// a summary on stderr accounts for every item: in = out + dropped + undelivered.
#[derive(Debug, Parser)]
#[command(
    name = "bpipe",
    version,
    max_term_width = 100,
    after_help = "Rate and size forms, signals, exit statuses, examples: bpipe --help, or man bpipe.",
    after_long_help = AFTER_LONG_HELP
)]
pub struct Args {
    /// Files to read in order, as cat and pv do; - is stdin [default: stdin]. All are opened
    /// before anything is read: a missing one is an error (status 2).
    #[arg(value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub files: Vec<PathBuf>,

    /// Most items the queue holds (lines, records or chunks), e.g. 64, 10k, 1M [default:
    /// 65536, or --cap-bytes / 8 if that is more, when only --cap-bytes is given, so that
    /// the byte bound binds]. Whichever bound is reached first, this or --cap-bytes, makes the queue full.
    #[arg(
        help = "Most items the queue holds, e.g. 64, 10k [default: 65536; --cap-bytes / 8 with --cap-bytes]",
        long,
        value_name = "N",
        value_parser = parse_count,
        value_hint = ValueHint::Other,
        help_heading = "Queue"
    )]
    pub cap: Option<u64>,

    /// Most bytes the queue holds, e.g. 512K, 64MiB, 1GB [default: 16MiB]. Also
    /// --buffer-size and -m, the names pv and mbuffer use for their buffer.
    #[arg(
        help = "Most bytes the queue holds, e.g. 512K, 64MiB [default: 16MiB]",
        short = 'B',
        long,
        visible_alias = "buffer-size",
        short_alias = 'm',
        value_name = "SIZE",
        value_parser = parse_size,
        value_hint = ValueHint::Other,
        help_heading = "Queue"
    )]
    pub cap_bytes: Option<u64>,

    /// What to do with an item that finds the queue full.
    #[arg(short, long, value_enum, default_value_t = PolicyArg::Block, help_heading = "Queue")]
    pub policy: PolicyArg,

    /// With --policy block: hold the producer at most this long in a spell of pressure
    /// (e.g. 200ms, 2s), then apply --on-timeout until bpipe catches up. A spell begins when
    /// stdout is full past the 100 ms grace (or the rate holds the writer) and ends only when
    /// bpipe has written out all it holds: a consumer taking a little now and then does not
    /// end it. Under 100 ms acts as 100 ms against a full stdout.
    #[arg(
        help = "With block: hold the producer at most this long under pressure, e.g. 200ms",
        long,
        value_name = "DURATION",
        value_parser = humantime::parse_duration,
        value_hint = ValueHint::Other,
        help_heading = "Queue"
    )]
    pub block_timeout: Option<Duration>,

    /// What --block-timeout falls back to.
    #[arg(
        long,
        value_enum,
        value_name = "POLICY",
        default_value_t = ShedArg::Fail,
        requires = "block_timeout",
        help_heading = "Queue"
    )]
    pub on_timeout: ShedArg,

    /// Items are NUL-terminated records instead of lines (e.g. from find -print0).
    #[arg(short = '0', long, conflicts_with = "chunk", help_heading = "Framing")]
    pub null: bool,

    /// No framing: items are chunks of at most SIZE bytes, e.g. 64KiB.
    #[arg(
        long,
        value_name = "SIZE",
        value_parser = parse_size,
        value_hint = ValueHint::Other,
        help_heading = "Framing"
    )]
    pub chunk: Option<u64>,

    /// Most bytes one line or record may hold [default: 1MiB]. A longer one is cut into
    /// pieces under block and fail, dropped whole (and counted) under drop and slide. A line
    /// longer than --cap-bytes, within this, waits whole for a ready writer.
    #[arg(
        help = "Most bytes one line may hold, e.g. 64KiB [default: 1MiB]",
        long,
        value_name = "SIZE",
        value_parser = parse_size,
        value_hint = ValueHint::Other,
        conflicts_with = "chunk",
        help_heading = "Framing"
    )]
    pub max_line: Option<u64>,

    /// Most items or bytes written per period: N/PERIOD (items, e.g. 1000/s, 50/100ms, 30/min,
    /// 2/h) or SIZE/PERIOD (bytes, e.g. 10MiB/s, 512KiB/250ms). A bare number is items per
    /// second: -L 1000 is 1000 lines a second, where pv's -L 1000 is bytes (write -L 1000B/s
    /// or -L 1k for bytes). In --chunk mode the items are chunks.
    #[arg(
        help = "Most items or bytes written per period: 1000/s counts lines, 2k/s or 10MiB/s bytes",
        short = 'L',
        long,
        value_name = "RATE",
        value_parser = Rate::parse,
        value_hint = ValueHint::Other,
        help_heading = "Rate"
    )]
    pub rate: Option<Rate>,

    /// --rate by the time of day (local time): the rate of the last entry at or before now,
    /// the day wrapping round, switched as each entry's time comes (and shown in a record),
    /// e.g. '08:00 1MiB/s, 18:00 off'. bpipectl set rate overrides it until the next entry.
    #[arg(
        help = "--rate by the time of day, e.g. '08:00 1MiB/s, 18:00 off'",
        long,
        value_name = "SCHEDULE",
        value_parser = Schedule::parse,
        conflicts_with = "rate",
        value_hint = ValueHint::Other,
        help_heading = "Rate"
    )]
    pub rate_schedule: Option<Schedule>,

    /// How much may go at once after an idle spell, in the rate's unit: a count for an item
    /// rate (10, 5k), a size for a byte rate (64KiB) [default: 1 item; for a byte rate 20ms
    /// of it, at most 64KiB].
    #[arg(
        help = "How much may go at once after an idle spell, e.g. 10 or 64KiB",
        long,
        value_name = "N|SIZE",
        value_hint = ValueHint::Other,
        requires = "rate",
        help_heading = "Rate"
    )]
    pub burst: Option<String>,

    /// Shed an item that has waited longer than this when the writer comes for it (counted
    /// dropped, and apart as expired), e.g. 5s: for consumers to whom stale data is
    /// worthless. Works with every policy, block included.
    #[arg(
        help = "Shed items that waited longer than this, e.g. 5s",
        long,
        value_name = "DURATION",
        value_parser = humantime::parse_duration,
        value_hint = ValueHint::Other,
        help_heading = "Queue"
    )]
    pub max_age: Option<Duration>,

    /// Never shed an item matching PATTERN (a regex, matched against the item's bytes
    /// without its delimiter; repeatable): drop and slide shed the newest or oldest item
    /// that is not kept instead, and an item kept that finds only kept items queued waits
    /// for room. Patterns run only when something must be shed. Not with --chunk.
    #[arg(
        help = "Never shed items matching this regex (repeatable), e.g. 'ERROR|FATAL'",
        long,
        value_name = "PATTERN",
        value_hint = ValueHint::Other,
        help_heading = "Shedding"
    )]
    pub keep: Vec<String>,

    /// Where items were shed, write one line before the next item delivered (and one at
    /// the end): TEMPLATE may use {items}, {unit}, {bytes}, {policy} and {name}
    /// [default: 'bpipe: {items} {unit} ({bytes}) dropped here ({policy})']. Not an item:
    /// counted apart as markers. Not with --chunk.
    #[arg(
        help = "Write a marker line where items were shed [TEMPLATE: {items} {unit} {bytes} {policy} {name}]",
        long,
        value_name = "TEMPLATE",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = crate::queue::marker::DEFAULT,
        value_hint = ValueHint::Other,
        help_heading = "Shedding"
    )]
    pub mark_drops: Option<String>,

    /// Append shed items, whole and in the order they were shed, to FILE (created with mode
    /// 0600), up to --dead-letter-max; past that they are only counted. A write error warns
    /// once and stops dead-lettering, never the pipe.
    #[arg(
        help = "Append shed items to FILE",
        long,
        value_name = "FILE",
        value_hint = ValueHint::FilePath,
        help_heading = "Shedding"
    )]
    pub dead_letter: Option<PathBuf>,

    /// Most bytes --dead-letter appends in one run, e.g. 1GiB.
    #[arg(
        long,
        value_name = "SIZE",
        value_parser = parse_size,
        default_value = "256MiB",
        requires = "dead_letter",
        value_hint = ValueHint::Other,
        help_heading = "Shedding"
    )]
    pub dead_letter_max: u64,

    /// When the queue is full and the consumer behind, put what is read in segment files in
    /// DIR (unlinked: nothing is left behind) instead of holding the producer or shedding;
    /// the writer reads them back in input order. The policy applies once the spill holds
    /// --spill-max too.
    #[arg(
        help = "Spill to segment files in DIR when the queue is full and the consumer behind",
        long,
        value_name = "DIR",
        value_hint = ValueHint::DirPath,
        help_heading = "Queue"
    )]
    pub spill: Option<PathBuf>,

    /// Most bytes the spill holds on disk (at least 1MiB), e.g. 4GiB.
    #[arg(
        long,
        value_name = "SIZE",
        value_parser = parse_size,
        default_value = "1GiB",
        requires = "spill",
        value_hint = ValueHint::Other,
        help_heading = "Queue"
    )]
    pub spill_max: u64,

    /// When stdout has taken nothing for this long while items wait, warn once (or with
    /// --on-stall fail, stop as a closed output would, status 5), e.g. 30s.
    #[arg(
        help = "Warn when the consumer takes nothing this long, e.g. 30s",
        long,
        value_name = "DURATION",
        value_parser = humantime::parse_duration,
        value_hint = ValueHint::Other,
        help_heading = "Reporting"
    )]
    pub stall_timeout: Option<Duration>,

    /// What --stall-timeout does: warn, or fail (stop, status 5).
    #[arg(
        long,
        value_enum,
        value_name = "ACTION",
        default_value_t = OnStall::Warn,
        requires = "stall_timeout",
        help_heading = "Reporting"
    )]
    pub on_stall: OnStall,

    /// On SIGINT, SIGTERM or SIGHUP: how long to spend writing out what is queued before
    /// giving up on it (0: give up at once). A second signal gives up at once too.
    #[arg(
        help = "On SIGINT/SIGTERM/SIGHUP: time to write out the queue, e.g. 2s",
        long,
        value_name = "DURATION",
        default_value = "5s",
        value_parser = humantime::parse_duration,
        value_hint = ValueHint::Other,
        help_heading = "Queue"
    )]
    pub drain_timeout: Duration,

    /// Print nothing on stderr but errors: no live view, records or summary (records asked
    /// for with --stats-file are still written there).
    #[arg(short, long, conflicts_with = "progress", help_heading = "Reporting")]
    pub quiet: bool,

    /// Print the final record on stderr even when nothing noteworthy happened. By default it
    /// is printed on a terminal, with --stats-interval, and otherwise only when items were
    /// shed or undelivered, a signal stopped bpipe, or an error or --policy fail ended the
    /// run (pv prints nothing in logs; cron mails every line).
    #[arg(
        help = "Print the final record even for a clean run",
        long,
        conflicts_with = "quiet",
        help_heading = "Reporting"
    )]
    pub summary: bool,

    /// Label every record, e.g. -N ingest, to tell two bpipes in one pipeline apart.
    #[arg(
        help = "Label records, e.g. -N ingest",
        short = 'N',
        long,
        value_name = "NAME",
        value_hint = ValueHint::Other,
        help_heading = "Reporting"
    )]
    pub name: Option<String>,

    /// Serve bpipectl on a Unix socket at PATH [default: in a directory private to the user,
    /// $XDG_RUNTIME_DIR/bpipe/ or bpipe-UID under the temp dir, named by PID and -N name].
    /// Only the same user may use it.
    #[arg(
        help = "Serve bpipectl at PATH [default: a private per-user directory]",
        long,
        value_name = "PATH",
        value_hint = ValueHint::FilePath,
        conflicts_with = "no_control",
        help_heading = "Control"
    )]
    pub control: Option<PathBuf>,

    /// Serve no control socket: bpipectl can neither see nor change this bpipe.
    #[arg(long, help_heading = "Control")]
    pub no_control: bool,

    /// Draw the live status line even where bpipe would not (TERM=dumb, or stderr not
    /// detected as a terminal).
    #[arg(
        help = "Draw the live status line even where bpipe would not",
        long,
        overrides_with = "no_progress",
        help_heading = "Reporting"
    )]
    pub progress: bool,

    /// Never draw the live status line [default: drawn when stderr is a terminal].
    #[arg(long, overrides_with = "progress", help_heading = "Reporting")]
    pub no_progress: bool,

    /// Print a stats record every DURATION, e.g. 10s [default: only at exit]. Independently,
    /// one warning line says when items start being dropped after a quiet spell.
    #[arg(
        help = "Print a record every DURATION, e.g. 10s [default: at exit only]",
        long,
        value_name = "DURATION",
        value_parser = humantime::parse_duration,
        value_hint = ValueHint::Other,
        help_heading = "Reporting"
    )]
    pub stats_interval: Option<Duration>,

    /// Format of stats records: text lines, JSON Lines, or Prometheus text (with
    /// --stats-file, which it replaces at every record).
    #[arg(
        long,
        value_enum,
        value_name = "FORMAT",
        default_value_t = FormatArg::Text,
        help_heading = "Reporting"
    )]
    pub stats_format: FormatArg,

    /// Append stats records to PATH instead of stderr, e.g. /var/log/bpipe.jsonl (replaced
    /// whole at every record under --stats-format prometheus).
    #[arg(
        help = "Append records to PATH instead of stderr (prometheus: replace), e.g. stats.jsonl",
        long,
        value_name = "PATH",
        value_hint = ValueHint::FilePath,
        help_heading = "Reporting"
    )]
    pub stats_file: Option<PathBuf>,

    /// Exit with CODE (1-255) instead of 0 if any item was dropped, e.g. 4, so that a script
    /// can tell.
    #[arg(
        help = "Exit with CODE if anything was dropped, e.g. 4",
        long,
        value_name = "CODE",
        value_parser = parse_drops_exit,
        value_hint = ValueHint::Other,
        help_heading = "Reporting"
    )]
    pub drops_exit: Option<u8>,

    #[command(flatten)]
    pub keys: keys::KeyArgs,

    #[command(flatten)]
    pub pool: workers::WorkerArgs,
}

/// `--on-stall` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OnStall {
    /// Say so once a stall.
    Warn,
    /// Stop as a closed output would, and exit with status 5.
    Fail,
}

/// `--stats-format` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// One greppable line per record.
    Text,
    /// One JSON object per line.
    Json,
    /// The Prometheus text format, the --stats-file replaced whole at every record (for
    /// node_exporter's textfile collector).
    Prometheus,
}

/// `--policy` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PolicyArg {
    /// Wait for room: the producer is held back. Lossless.
    Block,
    /// Discard the incoming item (also: drop-new, drop-newest).
    #[value(aliases = ["drop-newest", "drop-new"])]
    Drop,
    /// Discard the oldest queued item to make room (also: drop-old, drop-oldest).
    #[value(aliases = ["drop-oldest", "drop-old"])]
    Slide,
    /// Deliver what is queued, then exit with status 3.
    Fail,
}

/// `--drops-exit`: a status a script can tell from success.
fn parse_drops_exit(text: &str) -> Result<u8, String> {
    match text.trim().parse::<u8>() {
        Ok(0) => Err("0 means success; give a status from 1 to 255, e.g. 4".into()),
        Ok(code @ (1 | 2 | 3 | 5 | 6 | 70)) => Err(format!(
            "{code} is a status bpipe already uses (see EXIT STATUS in the man page); give \
             another from 4 to 127, e.g. 4"
        )),
        Ok(code) if code >= 128 => Err(format!(
            "{code} looks like death by a signal to a shell; give a status from 4 to 127 that \
             bpipe does not use (not 5, 6 or 70), e.g. 4"
        )),
        Ok(code) => Ok(code),
        Err(_) => Err(format!(
            "expected a status from 1 to 255, e.g. 4, got '{text}'"
        )),
    }
}

/// `--on-timeout` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ShedArg {
    /// Discard the incoming item (also: drop-new, drop-newest).
    #[value(aliases = ["drop-newest", "drop-new"])]
    Drop,
    /// Discard the oldest queued item to make room (also: drop-old, drop-oldest).
    #[value(aliases = ["drop-oldest", "drop-old"])]
    Slide,
    /// Deliver what is queued, then exit with status 3.
    Fail,
}

mod errors;
pub mod keys;
pub mod workers;

pub use errors::one_line;

#[cfg(test)]
mod tests;
