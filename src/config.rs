//! Validated settings, built from the parsed command line. Nothing here knows about clap.

use std::path::PathBuf;
use std::time::Duration;

use crate::cli::Args;
use crate::error::Error;
use crate::input::framing::Framing;
use crate::queue::Bounds;
use crate::queue::keep::Keep;
use crate::queue::marker::Marker;
use crate::queue::policy::Policy;
use crate::report::Reporting;
use crate::values::rate::Rate;

/// Bytes asked of one `read`: a full default pipe buffer.
const READ_SIZE: usize = 64 * 1024;
/// Largest `read` in `--chunk` mode, however large the chunk.
const MAX_CHUNK_READ: usize = 1024 * 1024;

/// Shortest `--stats-interval`: records more often than this are noise, not information.
const MIN_STATS_INTERVAL: Duration = Duration::from_millis(10);

/// Where the control socket goes (`--control PATH`, `--no-control`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Control {
    /// In the user's private directory, named by PID and `-N` name.
    Private,
    At(PathBuf),
    Off,
}

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
    /// `--key` and the rest of the key flags.
    pub keys: Option<crate::keys::KeyRules>,
    /// `--dead-letter` and `--dead-letter-max`.
    pub dead_letter: Option<(PathBuf, u64)>,
    /// `--spill` and `--spill-max`.
    pub spill: Option<(PathBuf, u64)>,
    /// `--workers N -- CMD`: a pool of worker processes instead of stdout.
    pub pool: Option<crate::output::pool::Spec>,
    pub control: Control,
    /// `--rate-schedule` (its rate at the start is `rate`).
    pub rate_schedule: Option<crate::values::schedule::Schedule>,
}

impl Config {
    /// How lines longer than `--max-line` are framed (chunks are never split further).
    pub fn overlong(&self) -> crate::input::framing::Overlong {
        match self.framing {
            Framing::Delimited { overlong, .. } => overlong,
            Framing::Chunks { .. } => crate::input::framing::Overlong::Drop,
        }
    }

    /// The `--chunk` size, when the reader may move bytes straight to stdout (`input::pass`):
    /// plain `block`, and nothing that must look at the bytes on their way out.
    pub fn passes_through(&self) -> Option<usize> {
        let Framing::Chunks { size } = self.framing else {
            return None;
        };
        let plain = self.policy == Policy::BLOCK
            && self.rate.is_none()
            && self.max_age.is_none()
            && self.keep.is_none()
            && self.marker.is_none()
            && self.spill.is_none()
            && self.pool.is_none();
        plain.then_some(size)
    }
}

/// A config from a command line (`argv` without the program's name), for tests.
#[cfg(test)]
pub fn parse(argv: &[&str]) -> Result<Config, Error> {
    use clap::Parser;
    let args = Args::try_parse_from(std::iter::once("bpipe").chain(argv.iter().copied()))
        .map_err(|e| Error::Usage(e.to_string()))?;
    Config::from_args(&args)
}

use self::flags::{
    bounds, burst, check_reporting, framing, keep, marker, policy, pool, reporting, usage,
};

impl Config {
    pub fn from_args(args: &Args) -> Result<Config, Error> {
        let (bounds, cap_bytes_arg) = bounds(args)?;
        let policy = policy(args)?;
        let (framing, read_size) = framing(args, policy, cap_bytes_arg)?;
        check_reporting(args)?;
        let delim = match framing {
            Framing::Delimited { delim, .. } => Some(delim),
            Framing::Chunks { .. } => None,
        };
        let keep = keep(args, delim, policy)?;
        let marker = marker(args, delim, policy)?;
        let keys = keys::keys(args, delim, policy)?;
        if args.spill.is_some() && args.spill_max < 1 << 20 {
            return usage("--spill-max must be at least 1MiB, e.g. --spill-max 4GiB");
        }
        let pool = pool(args)?;
        if args.max_age.is_some_and(|d| d.is_zero()) {
            return usage("--max-age must be more than 0, e.g. --max-age 5s");
        }
        if args.stall_timeout.is_some_and(|d| d.is_zero()) {
            return usage("--stall-timeout must be more than 0, e.g. --stall-timeout 30s");
        }
        let scheduled = args.rate_schedule.as_ref().map(|schedule| {
            let minute = crate::values::schedule::local_second_of_day() / 60;
            schedule.at(minute)
        });
        let rate = match (args.rate.or(scheduled.flatten()), args.burst.as_deref()) {
            (None, _) => None,
            (Some(rate), None) => Some((rate, rate.default_burst())),
            (Some(rate), Some(text)) => Some((rate, burst(rate, text)?)),
        };
        let control = match (&args.control, args.no_control) {
            (_, true) => Control::Off,
            (Some(path), false) => Control::At(path.clone()),
            (None, false) => Control::Private,
        };
        Ok(Config {
            rate_schedule: args.rate_schedule.clone(),
            control,
            framing,
            rate,
            inputs: args.files.clone(),
            bounds,
            policy,
            read_size,
            drain_timeout: args.drain_timeout,
            max_age: args.max_age.filter(|d| !d.is_zero()),
            keep,
            marker,
            keys,
            dead_letter: args
                .dead_letter
                .clone()
                .map(|path| (path, args.dead_letter_max)),
            spill: args.spill.clone().map(|dir| (dir, args.spill_max)),
            pool,
            report: reporting(args),
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

pub mod change;
mod flags;
mod keys;
#[cfg(test)]
mod tests;
