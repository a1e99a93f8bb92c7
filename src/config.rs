//! Validated settings, built from the parsed command line. Nothing here knows about clap.

use std::path::PathBuf;
use std::time::Duration;

use crate::cli::{
    Args, DEFAULT_CAP, DEFAULT_CAP_BYTES, DEFAULT_MAX_LINE, FormatArg, PolicyArg, ShedArg,
};
use crate::error::Error;
use crate::input::framing::{Framing, Overlong};
use crate::queue::Bounds;
use crate::queue::keep::Keep;
use crate::queue::marker::Marker;
use crate::queue::policy::{Policy, Shed};
use crate::report::{OnStall, StatsFormat};
use crate::values::rate::{Rate, Unit};
use crate::values::units::{is_plain_number, parse_count, parse_size};

/// Bytes asked of one `read`: a full default pipe buffer.
const READ_SIZE: usize = 64 * 1024;
/// Largest `read` in `--chunk` mode, however large the chunk.
const MAX_CHUNK_READ: usize = 1024 * 1024;

/// Shortest `--stats-interval`: records more often than this are noise, not information.
const MIN_STATS_INTERVAL: Duration = Duration::from_millis(10);

/// Everything bpipe needs to run, checked for consistency.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Files to read in order (`-` is stdin); none: stdin.
    pub inputs: Vec<PathBuf>,
    pub framing: Framing,
    pub bounds: Bounds,
    pub policy: Policy,
    /// Bytes asked of each read.
    pub read_size: usize,
    /// The output rate limit and its burst, if any.
    pub rate: Option<(Rate, u64)>,
    pub report: Reporting,
    /// How long a stop (signal) may spend draining the queue.
    pub drain_timeout: Duration,
    /// `--max-age`: items that waited longer are shed when the writer comes for them.
    pub max_age: Option<Duration>,
    /// `--keep`: items no policy sheds.
    pub keep: Option<Keep>,
    /// `--mark-drops`: the line written where items were shed.
    pub marker: Option<Marker>,
    /// `--dead-letter` and `--dead-letter-max`.
    pub dead_letter: Option<(PathBuf, u64)>,
    /// `--spill` and `--spill-max`.
    pub spill: Option<(PathBuf, u64)>,
    /// `--workers N -- CMD`: a pool of worker processes instead of stdout.
    pub pool: Option<crate::output::pool::Spec>,
}

/// What bpipe tells the user on stderr, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reporting {
    /// Print nothing but errors.
    pub quiet: bool,
    /// Print the final record on stderr even when nothing noteworthy happened.
    pub summary: bool,
    pub name: Option<String>,
    /// Draw the live view: `Some(true)` forced, `Some(false)` never, `None` on a terminal.
    pub progress: Option<bool>,
    pub interval: Option<Duration>,
    pub format: StatsFormat,
    pub file: Option<PathBuf>,
    pub drops_exit: Option<u8>,
    /// `--stall-timeout` and what a stall that long does.
    pub stall: Option<(Duration, OnStall)>,
}

/// A config from a command line (`argv` without the program's name), for tests.
#[cfg(test)]
pub fn parse(argv: &[&str]) -> Result<Config, Error> {
    use clap::Parser;
    let args = Args::try_parse_from(std::iter::once("bpipe").chain(argv.iter().copied()))
        .map_err(|e| Error::Usage(e.to_string()))?;
    Config::from_args(&args)
}

/// `--workers` and the command after `--` (a command alone is one worker).
fn pool(args: &Args) -> Result<Option<crate::output::pool::Spec>, Error> {
    let w = &args.pool;
    let (min, max) = match (w.workers, w.command.is_empty()) {
        (None, true) => {
            let flags = [
                (w.restart, "--restart"),
                (w.scale_after.is_some(), "--scale-after"),
                (w.idle_exit.is_some(), "--idle-exit"),
            ];
            if let Some((_, flag)) = flags.iter().find(|(given, _)| *given) {
                return usage(format!(
                    "{flag} needs workers: e.g. bpipe --workers 1..8 {flag} ... -- CMD"
                ));
            }
            return Ok(None);
        }
        (Some(_), true) => {
            return usage("--workers needs a command after --, e.g. bpipe --workers 4 -- wc -l");
        }
        (None, false) => (1, 1),
        (Some(range), false) => range,
    };
    if args.chunk.is_some() {
        return usage(
            "--workers hands out whole lines or records; --chunk has none (use lines or -0)",
        );
    }
    if min == max {
        for (given, flag) in [
            (w.scale_after, "--scale-after"),
            (w.idle_exit, "--idle-exit"),
        ] {
            if given.is_some() {
                return usage(format!(
                    "{flag} needs a pool that can grow and shrink: --workers MIN..MAX, e.g. 1..8"
                ));
            }
        }
    }
    Ok(Some(crate::output::pool::Spec {
        command: w.command.clone(),
        min,
        max,
        scale_after: w.scale_after.unwrap_or(Duration::from_secs(1)),
        idle_exit: w.idle_exit.unwrap_or(Duration::from_secs(10)),
        restart: w.restart,
    }))
}

fn usage<T>(message: impl Into<String>) -> Result<T, Error> {
    Err(Error::Usage(message.into()))
}

/// `--burst TEXT` in the unit of `rate`: a count for an item rate, a size for a byte rate.
fn burst(rate: Rate, text: &str) -> Result<u64, Error> {
    let burst = match rate.unit {
        Unit::Items if parse_size(text).is_ok() && parse_count(text).is_err() => {
            return usage(format!(
                "--burst {text} is a size, but --rate {rate} counts items: give a count, \
                 e.g. --burst 10"
            ));
        }
        Unit::Bytes if is_plain_number(text) => {
            return usage(format!(
                "--burst {text} is a count, but --rate {rate} counts bytes: give a size, \
                 e.g. --burst 64KiB"
            ));
        }
        Unit::Items => parse_count(text),
        Unit::Bytes => parse_size(text),
    };
    match burst {
        Ok(0) => usage("--burst must be at least 1, e.g. --burst 10 or --burst 64KiB"),
        Ok(burst) => Ok(burst),
        Err(e) => usage(format!("--burst: {e}")),
    }
}

fn size(bytes: u64) -> String {
    bytesize::ByteSize(bytes).display().iec().to_string()
}

impl Config {
    pub fn from_args(args: &Args) -> Result<Config, Error> {
        let given_bytes = args.cap_bytes;
        let cap_bytes_arg = given_bytes.unwrap_or(DEFAULT_CAP_BYTES);
        // With only --cap-bytes, the byte bound binds for any item of 8 bytes or more; the
        // bookkeeping of smaller ones (8 bytes each) at most doubles the memory.
        let cap = match (args.cap, given_bytes) {
            (Some(cap), _) => cap,
            (None, Some(bytes)) => (bytes / 8).max(DEFAULT_CAP as u64),
            (None, None) => DEFAULT_CAP as u64,
        };
        if cap == 0 {
            return usage("--cap must be at least 1 item, e.g. --cap 64");
        }
        if cap_bytes_arg == 0 {
            return usage("--cap-bytes must be at least 1 byte, e.g. --cap-bytes 16MiB");
        }
        let cap = usize::try_from(cap).unwrap_or(usize::MAX);
        let cap_bytes = usize::try_from(cap_bytes_arg).unwrap_or(usize::MAX);
        let policy = match (args.policy, args.block_timeout) {
            (PolicyArg::Block, timeout) => Policy::Block {
                timeout,
                then: match args.on_timeout {
                    ShedArg::Drop => Shed::Drop,
                    ShedArg::Slide => Shed::Slide,
                    ShedArg::Fail => Shed::Fail,
                },
            },
            (_, Some(_)) => {
                return usage(
                    "--block-timeout works only with --policy block, \
                     e.g. --policy block --block-timeout 200ms --on-timeout drop",
                );
            }
            (PolicyArg::Drop, None) => Policy::Shed(Shed::Drop),
            (PolicyArg::Slide, None) => Policy::Shed(Shed::Slide),
            (PolicyArg::Fail, None) => Policy::Shed(Shed::Fail),
        };
        let (framing, read_size) = if let Some(chunk) = args.chunk {
            if chunk == 0 {
                return usage("--chunk must be at least 1 byte, e.g. --chunk 64KiB");
            }
            if chunk > cap_bytes_arg {
                return usage(format!(
                    "--chunk {} exceeds --cap-bytes {}: a chunk must fit in the queue",
                    size(chunk),
                    size(cap_bytes_arg)
                ));
            }
            let size = chunk as usize;
            (
                Framing::Chunks { size },
                size.clamp(READ_SIZE, MAX_CHUNK_READ),
            )
        } else {
            let max_item = match args.max_line {
                Some(0) => {
                    return usage("--max-line must be at least 1 byte, e.g. --max-line 1MiB");
                }
                Some(max) if max > cap_bytes_arg => {
                    return usage(format!(
                        "--max-line {} exceeds --cap-bytes {}: a line must fit in the queue; \
                         raise --cap-bytes or lower --max-line",
                        size(max),
                        size(cap_bytes_arg)
                    ));
                }
                Some(max) => max as usize,
                None => cap_bytes.min(DEFAULT_MAX_LINE as usize),
            };
            // --max-age may shed any piece of a cut line: a line is shed whole or not at all.
            let overlong = if policy.can_shed() || args.max_age.is_some() {
                Overlong::Drop
            } else {
                Overlong::Split
            };
            let delim = if args.null { 0 } else { b'\n' };
            (
                Framing::Delimited {
                    delim,
                    max_item,
                    overlong,
                },
                READ_SIZE,
            )
        };
        if args.stats_file.as_deref() == Some(std::path::Path::new("-")) {
            return usage(
                "--stats-file - would be a file named '-': records go to stderr without \
                 --stats-file; give a path, e.g. --stats-file stats.jsonl",
            );
        }
        if args.stats_format == FormatArg::Prometheus && args.stats_file.is_none() {
            return usage(
                "--stats-format prometheus writes a file: add --stats-file, e.g. \
                 --stats-file /var/lib/node_exporter/textfile/bpipe.prom",
            );
        }
        if args.stats_interval.is_some_and(|d| d < MIN_STATS_INTERVAL) {
            return usage("--stats-interval must be at least 10ms, e.g. --stats-interval 10s");
        }
        for (flag, value) in [
            ("--block-timeout", args.block_timeout),
            ("--drain-timeout", Some(args.drain_timeout)),
            ("--stats-interval", args.stats_interval),
            ("--max-age", args.max_age),
            ("--stall-timeout", args.stall_timeout),
        ] {
            if value.is_some_and(|d| d > crate::values::MAX_DURATION) {
                return usage(format!("{flag} must be at most 10 years, e.g. {flag} 5s"));
            }
        }
        let delim = match framing {
            Framing::Delimited { delim, .. } => Some(delim),
            Framing::Chunks { .. } => None,
        };
        let keep = match (args.keep.is_empty(), delim) {
            (true, _) => None,
            (false, None) => {
                return usage(
                    "--keep matches lines or records, not --chunk chunks: drop --chunk, \
                     e.g. --keep 'ERROR|FATAL'",
                );
            }
            (false, Some(delim)) => Some(Keep::new(&args.keep, delim).map_err(Error::Usage)?),
        };
        if keep.is_some() && !policy.can_shed() && args.max_age.is_none() {
            return usage(format!(
                "--keep spares items from shedding, but {} never sheds: use --policy slide or \
                 drop, or --block-timeout 200ms --on-timeout slide",
                policy.flags()
            ));
        }
        let marker = match (args.mark_drops.as_deref(), delim) {
            (None, _) => None,
            (Some(_), None) => {
                return usage(
                    "--mark-drops writes a line between items, not between --chunk chunks: \
                     drop --chunk, e.g. --mark-drops",
                );
            }
            (Some(template), Some(delim)) => {
                let unit = match delim {
                    b'\n' => ("line", "lines"),
                    _ => ("record", "records"),
                };
                let shed = match policy {
                    Policy::Shed(shed) | Policy::Block { then: shed, .. } => shed.to_string(),
                };
                let shed = match (policy, args.max_age) {
                    (Policy::Block { timeout: None, .. }, Some(_)) => "max-age".to_string(),
                    _ => shed,
                };
                Some(
                    Marker::new(template, unit, shed, args.name.as_deref(), delim)
                        .map_err(Error::Usage)?,
                )
            }
        };
        if args.spill.is_some() && args.spill_max < 1 << 20 {
            return usage("--spill-max must be at least 1MiB, e.g. --spill-max 4GiB");
        }
        let pool = pool(args)?;
        if args.max_age.is_some_and(|d| d.is_zero()) {
            return usage("--max-age must be more than 0, e.g. --max-age 5s");
        }
        let rate = match (args.rate, args.burst.as_deref()) {
            (None, _) => None,
            (Some(rate), None) => Some((rate, rate.default_burst())),
            (Some(rate), Some(text)) => Some((rate, burst(rate, text)?)),
        };
        Ok(Config {
            framing,
            rate,
            inputs: args.files.clone(),
            bounds: Bounds {
                items: cap,
                bytes: cap_bytes,
            },
            policy,
            read_size,
            drain_timeout: args.drain_timeout,
            max_age: args.max_age.filter(|d| !d.is_zero()),
            keep,
            marker,
            dead_letter: args
                .dead_letter
                .clone()
                .map(|path| (path, args.dead_letter_max)),
            spill: args.spill.clone().map(|dir| (dir, args.spill_max)),
            pool,
            report: Reporting {
                quiet: args.quiet,
                summary: args.summary,
                name: args.name.clone(),
                progress: match (args.progress, args.no_progress) {
                    (true, _) => Some(true),
                    (_, true) => Some(false),
                    _ => None,
                },
                interval: args.stats_interval,
                format: match args.stats_format {
                    FormatArg::Text => StatsFormat::Text,
                    FormatArg::Json => StatsFormat::Json,
                    FormatArg::Prometheus => StatsFormat::Prometheus,
                },
                file: args.stats_file.clone(),
                drops_exit: args.drops_exit,
                stall: args.stall_timeout.map(|d| match args.on_stall {
                    crate::cli::OnStall::Warn => (d, OnStall::Warn),
                    crate::cli::OnStall::Fail => (d, OnStall::Fail),
                }),
            },
        })
    }

    /// What one item is called in messages.
    pub fn item_noun(&self) -> &'static str {
        match self.framing {
            Framing::Delimited { delim: b'\n', .. } => "lines",
            Framing::Delimited { .. } => "records",
            Framing::Chunks { .. } => "chunks",
        }
    }
}

#[cfg(test)]
mod tests;
