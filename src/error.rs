//! How a run fails: one enum, each error knowing its exit status (as uutils' `UError::code`
//! does). `Display` is the message after `bpipe: `; [`crate::exit`] names the statuses.

use std::fmt;
use std::io;

use crate::exit::Exit;
use crate::queue::Bound;
use crate::queue::policy::Policy;
use crate::values::reason;

/// What went wrong, or how a run ended other than well.
#[derive(Debug)]
pub enum Error {
    /// A value the parsers accepted that bpipe cannot use, or a file it cannot use: said
    /// before anything is read.
    Usage(String),
    /// The queue or a thread could not be set up.
    Start(io::Error),
    /// Reading the input failed (`what`: stdin, or input files).
    Read {
        what: &'static str,
        error: io::Error,
    },
    /// Writing stdout failed (other than the consumer leaving).
    Write(io::Error),
    /// The queue was full under `fail`: which bound, under which policy.
    QueueFull { bound: Bound, policy: Policy },
    /// `--on-stall fail`: the consumer took nothing for `--stall-timeout`.
    Stalled,
    /// `--workers`: a worker failed (exited non-zero or by a signal).
    WorkerFailed,
    /// A signal (its number) stopped bpipe.
    Signal(i32),
    /// `--drops-exit CODE`: items were dropped.
    Dropped(u8),
    /// Records were lost: the stats file or stderr failed or blocked.
    RecordsLost,
}

impl Error {
    /// The exit status this error ends bpipe with.
    pub fn code(&self) -> Exit {
        match self {
            Error::Usage(_) => Exit::Usage,
            Error::Start(_) | Error::Read { .. } | Error::Write(_) | Error::RecordsLost => {
                Exit::Error
            }
            Error::QueueFull { .. } => Exit::QueueFull,
            Error::Stalled => Exit::Stalled,
            Error::WorkerFailed => Exit::WorkerFailed,
            Error::Signal(number) => Exit::Signal(*number),
            Error::Dropped(code) => Exit::Dropped(*code),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(message) => f.write_str(message),
            Error::Start(e) => write!(f, "cannot start: {e}"),
            Error::Read { what, error } => write!(f, "reading {what}: {}", reason(error)),
            Error::Write(e) => write!(f, "writing stdout: {}", reason(e)),
            Error::QueueFull { bound, policy } => {
                write!(f, "queue full: {bound} reached under {}", policy.flags())
            }
            Error::Stalled => f.write_str("stdout took nothing for --stall-timeout"),
            Error::WorkerFailed => f.write_str("a worker failed"),
            Error::Signal(number) => write!(f, "stopped by signal {number}"),
            Error::Dropped(_) => f.write_str("items were dropped (--drops-exit)"),
            Error::RecordsLost => {
                f.write_str("records were lost: the stats file or stderr failed or blocked")
            }
        }
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_knows_its_status() {
        assert_eq!(Error::Usage("x".into()).code().code(), 2);
        assert_eq!(Error::Write(io::Error::other("x")).code().code(), 1);
        let full = Error::QueueFull {
            bound: Bound::Items(64),
            policy: Policy::BLOCK,
        };
        assert_eq!(full.code().code(), 3);
        assert_eq!(
            full.to_string(),
            "queue full: --cap 64 items reached under --policy block"
        );
        assert_eq!(Error::Stalled.code().code(), 5);
        assert_eq!(Error::WorkerFailed.code().code(), 6);
        assert_eq!(Error::Signal(15).code().code(), 143);
        assert_eq!(Error::Dropped(4).code().code(), 4);
    }
}
