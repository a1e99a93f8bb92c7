//! Values as users type them and limits every layer shares: sizes, counts, rates, the
//! longest duration, and an I/O error as a person reads it. The lowest floor: nothing here
//! imports from the rest of bpipe.

use std::io;
use std::time::Duration;

pub mod rate;
pub mod reserve;
pub mod schedule;
pub mod stdio;
pub mod units;

/// Longest duration any flag takes: every deadline bpipe computes stays far from the edge of
/// what the clock can hold.
/// Ten years of 365.25 days, as humantime counts `10y`.
pub const MAX_DURATION: Duration = Duration::from_secs(10 * 365 * 24 * 3600 + 10 * 6 * 3600);

/// An I/O error as a person reads it: the OS's words without Rust's ` (os error N)`.
pub fn reason(error: &io::Error) -> String {
    let text = error.to_string();
    match text.find(" (os error ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}
