//! `bpipectl`, the client of the control endpoint (`control::endpoint`): it finds a bpipe's
//! socket (`talk.rs`), asks it one thing, and prints the answer. Floor 6: above control,
//! whose protocol and directory it uses.

pub mod cli;
mod ls;
mod talk;
mod top;

use std::io::Write;
use std::time::Duration;

use crate::control::endpoint::wire::{self, Request};
use crate::queue::tap::TapSpec;
use crate::report::StatsFormat;
use cli::{CtlArgs, Verb};

/// How long one bpipe is given to answer one request (ls gives each 100 ms).
const WAIT: Duration = Duration::from_secs(3);

/// Runs `bpipectl` as `args` ask; what went wrong is said on stderr. Returns the status.
pub fn run(args: CtlArgs) -> u8 {
    let result = match args.verb {
        Verb::Ls { json } => ls::run(json),
        Verb::Stats { target, json } => {
            let format = match json {
                true => StatsFormat::Json,
                false => StatsFormat::Text,
            };
            one(&target, &Request::Stats(format))
        }
        Verb::Set {
            target,
            setting,
            value,
        } => one(
            &target,
            &Request::Set {
                name: setting,
                value,
            },
        ),
        Verb::Pause { target } => one(&target, &Request::Pause),
        Verb::Resume { target } => one(&target, &Request::Resume),
        Verb::Stop { target } => one(&target, &Request::Stop),
        Verb::Top { interval, once } => top::run(interval, once),
        Verb::Tap {
            target,
            sample,
            count,
            rate,
        } => talk::tap(
            &target,
            &Request::Tap(TapSpec {
                percent: sample.unwrap_or(100),
                count,
                rate,
            }),
        ),
    };
    match result {
        Ok(()) => 0,
        Err(message) => {
            let (message, status) = match message.strip_prefix(wire::USAGE) {
                Some(usage) => (usage.to_string(), 2),
                None => (message, 1),
            };
            let message = crate::report::printable(&message);
            let _ = writeln!(std::io::stderr(), "bpipectl: {message}");
            status
        }
    }
}

/// Asks the bpipe TARGET for `request` and prints its answer.
fn one(target: &str, request: &Request) -> Result<(), String> {
    let path = talk::resolve(target)?;
    let answer = talk::ask(&path, request, WAIT)?;
    if !answer.is_empty() {
        say(&answer);
    }
    Ok(())
}

/// A line on stdout, its control characters escaped (a bpipe's name, or whatever answered,
/// must not drive the terminal); a closed or full stdout ends nothing but the printing.
pub fn say(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    for line in text.split('\n') {
        let _ = writeln!(out, "{}", crate::report::printable(line));
    }
}
