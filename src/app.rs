//! The program: stdin and stdout in, reports on stderr, an exit status out.

use std::fs::File;
use std::os::fd::{FromRawFd, RawFd};
use std::thread;
use std::time::Instant;

use crossbeam_channel::Receiver;
use signal_hook::consts::SIGUSR1;
use signal_hook::iterator::Signals;

use crate::config::Config;
use crate::exit::Exit;
use crate::monitor::Monitor;
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

/// SIGUSR1 asks for a record now (pv and mbuffer die of it). The signal is caught from here
/// on; each one arrives as a message.
fn record_requests() -> Receiver<()> {
    let (tx, rx) = crossbeam_channel::unbounded();
    match Signals::new([SIGUSR1]) {
        Ok(mut signals) => {
            thread::Builder::new()
                .name("bpipe-signals".into())
                .spawn(move || {
                    for _ in signals.forever() {
                        if tx.send(()).is_err() {
                            break;
                        }
                    }
                })
                .expect("spawning the signal thread");
        }
        Err(e) => report::error(format!("cannot catch SIGUSR1: {e}")),
    }
    rx
}

/// Runs bpipe on the process's stdin and stdout and reports on stderr.
pub fn run_stdio(config: &Config) -> Exit {
    let started = Instant::now();
    let requests = record_requests();
    let mut monitor = match Monitor::new(config, started, requests) {
        Ok(monitor) => monitor,
        Err(e) => {
            let path = config.report.file.as_deref().unwrap_or("".as_ref());
            report::error(format!("--stats-file {}: {e}", path.display()));
            return Exit::Usage;
        }
    };
    let outcome = pipeline::run(config, take(0), take(1), |queue, done| {
        monitor.watch(queue, done)
    });
    monitor.finish(outcome.stats, matches!(outcome.end, End::OutputClosed));
    match outcome.end {
        End::Drained | End::OutputClosed => match config.report.drops_exit {
            Some(code) if outcome.stats.dropped.items > 0 => Exit::Dropped(code),
            _ => Exit::Success,
        },
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
