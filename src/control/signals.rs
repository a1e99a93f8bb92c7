//! Signals, turned into messages: SIGUSR1 asks for a record, SIGINT, SIGTERM and SIGHUP ask
//! bpipe to stop. SIGPIPE needs nothing: Rust ignores it, so a closed stdout is an `EPIPE`
//! error that bpipe reports, never a silent death.

use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use crossbeam_channel::Receiver;
use signal_hook::consts::{SIGCONT, SIGHUP, SIGINT, SIGTERM, SIGUSR1};
use signal_hook::iterator::Signals;

use crate::queue::clock;
use crate::report;

/// What a signal asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// Print a record now (SIGUSR1).
    Report,
    /// Stop reading, drain, report and exit with 128 + this signal number.
    Stop(i32),
}

/// Restores the default action of `signal` and raises it: the process dies of it, as a
/// calling shell expects of a stop by SIGINT, SIGTERM or SIGHUP.
pub fn die_of(signal: i32) {
    let _ = signal_hook::low_level::emulate_default_handler(signal);
}

/// Notes when bpipe is continued after a stop (SIGCONT), for the queue's clock: time bpipe
/// was stopped is not a stall of the consumer's. SIGCONT still continues bpipe, as always.
pub fn watch_continues() {
    clock::watch_continues();
    // SAFETY: the action reads the clock and stores an atomic: async-signal-safe.
    if let Err(e) = unsafe { signal_hook::low_level::register(SIGCONT, clock::note_continued) } {
        report::error(format!("cannot watch for SIGCONT: {e}"));
    }
}

/// The last stop signal caught, set by the handler itself: what a message may not have
/// told yet when the run ends another way at the same moment.
fn last_stop() -> &'static Arc<AtomicUsize> {
    static LAST: OnceLock<Arc<AtomicUsize>> = OnceLock::new();
    LAST.get_or_init(|| Arc::new(AtomicUsize::new(0)))
}

/// The stop signal caught so far, if any (see [`listen`]).
pub fn stop_caught() -> Option<i32> {
    match last_stop().load(Ordering::SeqCst) {
        0 => None,
        n => i32::try_from(n).ok(),
    }
}

/// Catches the signals from now on and delivers them as messages; a stop signal is also
/// noted at once ([`stop_caught`]).
pub fn listen() -> Receiver<Signal> {
    for signal in [SIGINT, SIGTERM, SIGHUP] {
        let _ = signal_hook::flag::register_usize(signal, Arc::clone(last_stop()), signal as usize);
    }
    let (tx, rx) = crossbeam_channel::unbounded();
    match Signals::new([SIGUSR1, SIGINT, SIGTERM, SIGHUP]) {
        Ok(mut signals) => {
            let spawned = thread::Builder::new()
                .name("bpipe-signals".into())
                .spawn(move || {
                    for signal in signals.forever() {
                        let message = if signal == SIGUSR1 {
                            Signal::Report
                        } else {
                            Signal::Stop(signal)
                        };
                        if tx.send(message).is_err() {
                            break;
                        }
                    }
                });
            if let Err(e) = spawned {
                report::error(format!("cannot catch signals: {e}"));
            }
        }
        Err(e) => report::error(format!("cannot catch signals: {e}")),
    }
    rx
}
