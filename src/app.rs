//! The program: stdin and stdout in, summary and exit status out.

use std::fs::File;
use std::os::fd::{FromRawFd, RawFd};

use crate::config::Config;
use crate::exit::Exit;
use crate::pipeline::{self, End};
use crate::report;

/// Takes a standard stream as a plain `File`: unbuffered, so bpipe's own batching decides
/// every syscall, and closed when bpipe is done with it, so that a producer sees a closed
/// pipe as soon as bpipe stops reading, and a consumer sees EOF as soon as it stops writing.
///
/// (Rust's runtime reopens a standard descriptor that was closed at startup on /dev/null, so
/// all three are always open here.)
fn take(fd: RawFd) -> File {
    // SAFETY: the descriptor is open (see above), and bpipe never uses std's stdin or stdout,
    // so this File is its only owner.
    unsafe { File::from_raw_fd(fd) }
}

/// Runs bpipe on the process's stdin and stdout and reports the outcome on stderr.
pub fn run_stdio(config: &Config) -> Exit {
    let outcome = pipeline::run(config, take(0), take(1));
    let closed = matches!(outcome.end, End::OutputClosed);
    if !config.quiet {
        let policy = config.policy.to_string();
        report::error_line(&report::summary(
            &outcome.stats,
            config.item_noun(),
            &policy,
            outcome.elapsed,
            closed,
        ));
    }
    match outcome.end {
        End::Drained | End::OutputClosed => Exit::Success,
        End::Full(bound) => {
            report::error(format!("queue full: {bound} reached under --policy fail"));
            Exit::QueueFull
        }
        End::ReadFailed(e) => {
            report::error(format!("reading stdin: {e}"));
            Exit::Error
        }
        End::WriteFailed(e) => {
            report::error(format!("writing stdout: {e}"));
            Exit::Error
        }
    }
}
