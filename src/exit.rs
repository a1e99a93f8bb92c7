//! Exit statuses: one place, so scripts can rely on them.

use std::process::ExitCode;

/// bpipe's exit statuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Input drained to the end, or the consumer closed the pipe (like `pv` and `head`).
    Success,
    /// A read or write failed (other than a closed pipe).
    Error,
    /// Bad command line; nothing was read.
    Usage,
    /// The queue was full under `--policy fail` (or `--on-timeout fail`).
    QueueFull,
    /// `--drops-exit CODE` was given and items were dropped.
    Dropped(u8),
    /// Stopped by this signal: 128 + its number, as shells report it (130 for SIGINT). bpipe
    /// dies of the signal itself once it has drained, so a shell sees the signal.
    Signal(i32),
    /// `--on-stall fail`: the consumer took nothing for `--stall-timeout`.
    Stalled,
    /// `--workers`: a worker failed (exited non-zero or by a signal).
    WorkerFailed,
    /// An internal error (a bug): a thread panicked. Like sysexits' `EX_SOFTWARE`.
    Internal,
}

impl Exit {
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Error => 1,
            Exit::Usage => 2,
            Exit::QueueFull => 3,
            Exit::Dropped(code) => code,
            Exit::Signal(number) => u8::try_from(128 + number).unwrap_or(u8::MAX),
            Exit::Stalled => 5,
            Exit::WorkerFailed => 6,
            Exit::Internal => 70,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_distinct_and_stable() {
        let all = [Exit::Success, Exit::Error, Exit::Usage, Exit::QueueFull];
        assert_eq!(all.map(Exit::code), [0, 1, 2, 3]);
        assert_eq!(Exit::Dropped(4).code(), 4);
        assert_eq!(Exit::Signal(2).code(), 130);
        assert_eq!(Exit::Signal(15).code(), 143);
        assert_eq!(Exit::Stalled.code(), 5);
        assert_eq!(Exit::WorkerFailed.code(), 6);
        assert_eq!(Exit::Internal.code(), 70);
    }
}
