//! The worker pool's flags: `--workers N|MIN..MAX -- CMD [ARGS...]`.

use std::ffi::OsString;
use std::time::Duration;

use clap::{Args as ClapArgs, ValueHint};

#[derive(Debug, ClapArgs)]
pub struct WorkerArgs {
    /// Feed N copies of CMD (given after --, run without a shell) instead of stdout: each
    /// item goes whole to whichever worker's stdin takes data now. MIN..MAX starts MIN and
    /// adds one while the queue stays over half full for --scale-after, up to MAX. Each
    /// worker gets BPIPE_WORKER (its slot, from 1) in its environment.
    #[arg(
        help = "Feed N worker processes running CMD (after --), e.g. 4 or 1..8",
        long,
        value_name = "N|MIN..MAX",
        value_parser = parse_workers,
        value_hint = ValueHint::Other,
        help_heading = "Workers"
    )]
    pub workers: Option<(usize, usize)>,

    /// With --workers MIN..MAX: how long the queue must stay over half full before one more
    /// worker starts [default: 1s].
    #[arg(
        long,
        value_name = "DURATION",
        value_parser = humantime::parse_duration,
        value_hint = ValueHint::Other,
        help_heading = "Workers"
    )]
    pub scale_after: Option<Duration>,

    /// With --workers MIN..MAX: a worker that has read all it was given and been given
    /// nothing for this long has its stdin closed and is retired, down to MIN [default: 10s].
    #[arg(
        long,
        value_name = "DURATION",
        value_parser = humantime::parse_duration,
        value_hint = ValueHint::Other,
        help_heading = "Workers"
    )]
    pub idle_exit: Option<Duration>,

    /// Start a worker that failed (exited non-zero or by a signal other than SIGPIPE) again,
    /// after a back-off of 100 ms doubling up to --restart-backoff; after --restart-max
    /// failures in a row, no more.
    #[arg(long, help_heading = "Workers")]
    pub restart: bool,

    /// With --restart: failures in a row after which a worker is not started again, or
    /// 'never' to keep starting it (e.g. until a broker is back) [default: 10].
    #[arg(
        long,
        value_name = "N|never",
        value_parser = parse_restart_max,
        requires = "restart",
        value_hint = ValueHint::Other,
        help_heading = "Workers"
    )]
    pub restart_max: Option<RestartMax>,

    /// With --restart: the longest wait before a failed worker is started again (the wait
    /// doubles from 100 ms up to this) [default: 5s].
    #[arg(
        long,
        value_name = "DURATION",
        value_parser = humantime::parse_duration,
        requires = "restart",
        value_hint = ValueHint::Other,
        help_heading = "Workers"
    )]
    pub restart_backoff: Option<Duration>,

    /// Once the input has ended, how long the workers have to take what they were given and
    /// exit; then they are stopped (SIGTERM, then SIGKILL 2 s later) and count failed: for a
    /// client that hangs instead of exiting (mosquitto_pub after its broker restarted)
    /// [default: no limit].
    #[arg(
        long = "worker-exit-timeout",
        value_name = "DURATION",
        value_parser = humantime::parse_duration,
        value_hint = ValueHint::Other,
        help_heading = "Workers"
    )]
    pub exit_timeout: Option<Duration>,

    /// The workers' command and its arguments, after --.
    #[arg(last = true, value_name = "CMD", value_hint = ValueHint::CommandWithArguments)]
    pub command: Vec<OsString>,
}

/// `--restart-max`: a count of failures in a row, or never giving up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RestartMax {
    After(u32),
    Never,
}

/// `10` or `never`.
fn parse_restart_max(text: &str) -> Result<RestartMax, String> {
    match text.trim() {
        "never" => Ok(RestartMax::Never),
        n => match n.parse::<u32>() {
            Ok(n) if n > 0 => Ok(RestartMax::After(n)),
            _ => Err(format!(
                "expected a count of at least 1 or 'never', e.g. 10 or never, got '{text}'"
            )),
        },
    }
}

/// Most workers a pool may have.
pub const MAX_WORKERS: usize = 1024;

/// `4` or `1..8`.
fn parse_workers(text: &str) -> Result<(usize, usize), String> {
    let number = |t: &str| {
        t.trim()
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_WORKERS).contains(n))
            .ok_or_else(|| {
                format!("expected a count from 1 to {MAX_WORKERS} or MIN..MAX, e.g. 4 or 1..8, got '{text}'")
            })
    };
    let (min, max) = match text.split_once("..") {
        Some((min, max)) => (number(min)?, number(max)?),
        None => {
            let n = number(text)?;
            (n, n)
        }
    };
    if min > max {
        return Err(format!("MIN is more than MAX in '{text}': e.g. 1..8"));
    }
    Ok((min, max))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_ranges() {
        assert_eq!(parse_workers("4"), Ok((4, 4)));
        assert_eq!(parse_workers("1..8"), Ok((1, 8)));
        for bad in ["0", "8..1", "x", "1..", "..4", "2000", "-1"] {
            assert!(parse_workers(bad).is_err(), "{bad}");
        }
    }
}
