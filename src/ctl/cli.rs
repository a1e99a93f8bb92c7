//! `bpipectl`'s command line (clap derive), apart so that its man page and completions are
//! made from it as bpipe's are.

use clap::{Parser, Subcommand};

/// Look at and change running bpipes: list them, read their figures, change a limit, pause,
/// resume or stop one. Talks to the control socket each bpipe serves (see bpipe --control),
/// which only the same user may use.
#[derive(Debug, Parser)]
#[command(
    name = "bpipectl",
    version,
    after_help = "TARGET is a bpipe's PID, its -N name, or the path of its control socket.\n\n\
Examples:\n  \
bpipectl ls\n  \
bpipectl stats ingest --json\n  \
bpipectl set ingest rate 100/s\n  \
bpipectl set 4242 policy slide\n  \
bpipectl pause ingest; bpipectl resume ingest\n\n\
Exit status: 0 done; 1 the bpipe could not be reached or could not do it (the message says \
why); 2 bad usage, a value refused included (nothing changed)."
)]
pub struct CtlArgs {
    #[command(subcommand)]
    pub verb: Verb,
}

#[derive(Debug, Subcommand)]
pub enum Verb {
    /// List this user's running bpipes, one line each (not answering within 100 ms: said so).
    Ls {
        /// One JSON object per bpipe, as `stats --json` gives it, with its pid.
        #[arg(long)]
        json: bool,
    },
    /// Every running bpipe in one live table, sorted by pressure, refreshed in place (q, Esc
    /// or ^C quits); rates over the last refresh. A bpipe that does not answer within
    /// 100 ms is shown so.
    Top {
        /// Refresh every DURATION.
        #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_interval)]
        interval: std::time::Duration,
        /// Print one table as plain lines and exit (for scripts).
        #[arg(long)]
        once: bool,
    },
    /// Print a bpipe's current record.
    Stats {
        target: String,
        /// As --stats-format json gives it.
        #[arg(long)]
        json: bool,
    },
    /// Change a limit at once: rate, burst, cap, cap-bytes, policy, block-timeout,
    /// on-timeout or max-age, each as its bpipe flag takes it (rate, max-age and
    /// block-timeout also take off).
    Set {
        target: String,
        #[arg(value_parser = clap::builder::PossibleValuesParser::new(crate::config::change::SETTINGS))]
        setting: String,
        value: String,
    },
    /// Stop writing: the queue fills and the policy applies, as with a stalled consumer.
    Pause { target: String },
    /// Write again after a pause.
    Resume { target: String },
    /// Stop as on SIGTERM: stop reading, drain the queue, print the final record.
    Stop { target: String },
    /// Print a copy of the items going out now (lossy: a tap that reads slower than the pipe
    /// is dropped from, and the pipe never waits for it); the bpipe records what it copied
    /// and dropped when the tap ends.
    Tap {
        target: String,
        /// Copy this share of the items, e.g. 10% [default: all].
        #[arg(long, value_name = "PERCENT", value_parser = parse_percent)]
        sample: Option<u32>,
        /// End after this many items.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
        count: Option<u64>,
        /// Copy at most this many items a period, e.g. 100/s.
        #[arg(long, value_name = "RATE", value_parser = crate::values::rate::Rate::parse)]
        rate: Option<crate::values::rate::Rate>,
    },
}

/// A refresh interval, from 100ms to 1h.
fn parse_interval(text: &str) -> Result<std::time::Duration, String> {
    let d = humantime::parse_duration(text).map_err(|e| format!("{e}; e.g. 1s or 500ms"))?;
    match d {
        d if d < std::time::Duration::from_millis(100) => {
            Err(format!("'{text}' is under 100ms; e.g. 1s or 500ms"))
        }
        d if d > std::time::Duration::from_secs(3600) => Err(format!("'{text}' is over 1h")),
        d => Ok(d),
    }
}

/// `10%` or `10`: a share from 1 to 100 percent.
fn parse_percent(text: &str) -> Result<u32, String> {
    text.trim_end_matches('%')
        .parse()
        .ok()
        .filter(|p| (1..=100).contains(p))
        .ok_or_else(|| format!("expected a share from 1% to 100%, e.g. 10%, got '{text}'"))
}
