//! The flags, one setting at a time: each function turns what clap parsed into a setting
//! of [`Config`](super::Config), or says in one line which flag is wrong and a form it takes.

use std::time::Duration;

use super::{MAX_CHUNK_READ, MIN_STATS_INTERVAL, READ_SIZE};
use crate::cli::{
    Args, DEFAULT_CAP, DEFAULT_CAP_BYTES, DEFAULT_MAX_LINE, FormatArg, PolicyArg, ShedArg,
};
use crate::error::Error;
use crate::input::framing::{Framing, Overlong};
use crate::queue::Bounds;
use crate::queue::keep::Keep;
use crate::queue::marker::Marker;
use crate::queue::policy::{Policy, Shed};
use crate::report::{Live, OnStall, Reporting, StatsFormat};
use crate::values::rate::{Rate, Unit};
use crate::values::units::{is_plain_number, parse_count, parse_size};

/// `--workers` and the command after `--` (a command alone is one worker).
pub(super) fn pool(args: &Args) -> Result<Option<crate::output::pool::Spec>, Error> {
    let w = &args.pool;
    let (min, max) = match (w.workers, w.command.is_empty()) {
        (None, true) => {
            let flags = [
                (w.restart, "--restart"),
                (w.scale_after.is_some(), "--scale-after"),
                (w.idle_exit.is_some(), "--idle-exit"),
                (w.exit_timeout.is_some(), "--worker-exit-timeout"),
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
    if let Some(d) = w.exit_timeout
        && (d < Duration::from_millis(1) || d > crate::values::MAX_DURATION)
    {
        return usage(format!(
            "--worker-exit-timeout must be from 1ms to 10 years, e.g. --worker-exit-timeout 30s; got {}",
            humantime::format_duration(d)
        ));
    }
    Ok(Some(crate::output::pool::Spec {
        command: w.command.clone(),
        min,
        max,
        scale_after: w.scale_after.unwrap_or(Duration::from_secs(1)),
        idle_exit: w.idle_exit.unwrap_or(Duration::from_secs(10)),
        restart: restart(w)?,
        exit_timeout: w.exit_timeout,
    }))
}

/// `--restart`, `--restart-max` and `--restart-backoff`.
fn restart(w: &crate::cli::workers::WorkerArgs) -> Result<crate::output::pool::Restart, Error> {
    use crate::cli::workers::RestartMax;
    use crate::output::pool::Restart;
    if !w.restart {
        return Ok(Restart::Never);
    }
    let backoff = w.restart_backoff.unwrap_or(Duration::from_secs(5));
    if backoff < Duration::from_millis(100) || backoff > crate::values::MAX_DURATION {
        return usage(format!(
            "--restart-backoff must be from 100ms to 10 years, e.g. --restart-backoff 30s; got {}",
            humantime::format_duration(backoff)
        ));
    }
    Ok(Restart::Failed {
        give_up: match w.restart_max {
            None => Some(10),
            Some(RestartMax::After(n)) => Some(n),
            Some(RestartMax::Never) => None,
        },
        backoff,
    })
}

pub(super) fn usage<T>(message: impl Into<String>) -> Result<T, Error> {
    Err(Error::Usage(message.into()))
}

/// `--burst TEXT` in the unit of `rate`: a count for an item rate, a size for a byte rate.
pub(super) fn burst(rate: Rate, text: &str) -> Result<u64, Error> {
    burst_of(("--burst", "--rate"), rate, text)
}

/// A burst flag (`names.0`) in the unit of the rate of flag `names.1`.
pub(super) fn burst_of((flag, of): (&str, &str), rate: Rate, text: &str) -> Result<u64, Error> {
    let burst = match rate.unit {
        Unit::Items if parse_size(text).is_ok() && parse_count(text).is_err() => {
            return usage(format!(
                "{flag} {text} is a size, but {of} {rate} counts items: give a count, \
                 e.g. {flag} 10"
            ));
        }
        Unit::Bytes if is_plain_number(text) => {
            return usage(format!(
                "{flag} {text} is a count, but {of} {rate} counts bytes: give a size, \
                 e.g. {flag} 64KiB"
            ));
        }
        Unit::Items => parse_count(text),
        Unit::Bytes => parse_size(text),
    };
    match burst {
        Ok(0) => usage(format!(
            "{flag} must be at least 1, e.g. {flag} 10 or {flag} 64KiB"
        )),
        Ok(burst) => Ok(burst),
        Err(e) => usage(format!("{flag}: {e}")),
    }
}

pub(super) fn size(bytes: u64) -> String {
    bytesize::ByteSize(bytes).display().iec().to_string()
}

/// `--cap` and `--cap-bytes`: the queue's bounds, and `--cap-bytes` as given (or its
/// default) for the checks that compare with it.
pub(super) fn bounds(args: &Args) -> Result<(Bounds, u64), Error> {
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
    Ok((
        Bounds {
            items: cap,
            bytes: cap_bytes,
        },
        cap_bytes_arg,
    ))
}

/// `--policy`, with `--block-timeout` and `--on-timeout`.
pub(super) fn policy(args: &Args) -> Result<Policy, Error> {
    Ok(match (args.policy, args.block_timeout) {
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
    })
}

/// How the input is cut into items, and how much is read at once.
pub(super) fn framing(
    args: &Args,
    policy: Policy,
    cap_bytes_arg: u64,
) -> Result<(Framing, usize), Error> {
    Ok(if let Some(chunk) = args.chunk {
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
            // Not bounded by --cap-bytes: a line longer than the queue waits whole for a
            // ready writer, and is shed whole only under pressure.
            Some(max) => usize::try_from(max).unwrap_or(usize::MAX),
            None => DEFAULT_MAX_LINE as usize,
        };
        // --max-age and --rate-per-key may shed any piece of a cut line: a line is shed whole
        // or not at all.
        let sheds = args.max_age.is_some() || args.keys.rate_per_key.is_some();
        let overlong = if policy.can_shed() || sheds {
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
    })
}

/// What reporting needs beyond clap's checks: a stats file that is one, and durations
/// within bounds.
pub(super) fn check_reporting(args: &Args) -> Result<(), Error> {
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
    Ok(())
}

/// `--keep`, which needs lines or records and a policy that sheds.
pub(super) fn keep(args: &Args, delim: Option<u8>, policy: Policy) -> Result<Option<Keep>, Error> {
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
    let limits = args.max_age.is_some() || args.keys.rate_per_key.is_some();
    if keep.is_some() && !policy.can_shed() && !limits {
        return usage(format!(
            "--keep spares items from shedding, but {} never sheds: use --policy slide or \
             drop, or --block-timeout 200ms --on-timeout slide",
            policy.flags()
        ));
    }
    Ok(keep)
}

/// `--mark-drops`, which needs lines or records.
pub(super) fn marker(
    args: &Args,
    delim: Option<u8>,
    policy: Policy,
) -> Result<Option<Marker>, Error> {
    Ok(match (args.mark_drops.as_deref(), delim) {
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
    })
}

/// The reporting settings.
pub(super) fn reporting(args: &Args) -> Reporting {
    Reporting {
        quiet: args.quiet,
        summary: args.summary,
        name: args.name.clone(),
        live: match (args.progress, args.no_progress) {
            (true, _) => Live::Always,
            (_, true) => Live::Never,
            _ => Live::OnTerminal,
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
    }
}
