//! The program: stdin and stdout in, summary and exit status out.

use std::fs::File;
use std::io;
use std::os::fd::AsFd;

use crate::config::Config;
use crate::exit::Exit;
use crate::pipeline::{self, End};
use crate::report;

/// Duplicates a standard stream as a plain `File`: unbuffered, so bpipe's own batching
/// decides every syscall (std's stdout would line-buffer on top of it).
fn raw(stream: impl AsFd, name: &str) -> Result<File, String> {
    stream
        .as_fd()
        .try_clone_to_owned()
        .map(File::from)
        .map_err(|e| format!("{name}: {e}"))
}

/// Runs bpipe on the process's stdin and stdout and reports the outcome on stderr.
pub fn run_stdio(config: &Config) -> Exit {
    let (input, output) = match (raw(io::stdin(), "stdin"), raw(io::stdout(), "stdout")) {
        (Ok(input), Ok(output)) => (input, output),
        (Err(e), _) | (_, Err(e)) => {
            report::error(e);
            return Exit::Error;
        }
    };
    let outcome = pipeline::run(config, input, output);
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
