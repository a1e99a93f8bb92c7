//! bpipe: a bounded pipe buffer with explicit overflow policies and exact accounting.
//!
//! The layers, lowest first (ARCHITECTURE.md is the map):
//! - `values` and `books`: values as users type them, and the counters;
//! - `batch`: whole items back to back in one buffer, what moves between the layers;
//! - `queue`: the bounded queue, its store, pressure, shedding and books;
//! - `input` (stdin → items → queue) and `output` (queue → stdout or workers);
//! - `report`: what bpipe says on stderr;
//! - `control`: the threads, signals, the control endpoint and how a run ends;
//! - `ctl`: `bpipectl`, the endpoint's client.
//!
//! `cli` parses the command line, `config` validates it, `error` and `exit` say how a run
//! failed and with which status. Modules are private: the binary calls [`run`].

#![recursion_limit = "256"] // serde_json::json! for the record of every figure

mod batch;
mod books;
mod cli;
mod config;
mod control;
mod ctl;
mod error;
mod exit;
mod input;
mod keys;
mod output;
mod queue;
mod report;
mod values;

pub use cli::Args;
pub use config::Config;
pub use control::signals::die_of;
pub use ctl::cli::CtlArgs;
pub use error::Error;
pub use exit::Exit;
pub use values::reserve::Reserving;
pub use values::reserve::set_aside as reserve_memory;

/// The command line, parsed: `Ok(None)` when clap printed the help or the version (bpipe has
/// nothing more to do); an error is said on stderr in one `bpipe:` line, status 2.
pub fn args() -> Result<Option<Args>, Error> {
    use clap::Parser;
    use clap::error::ErrorKind;
    match Args::try_parse() {
        Ok(args) => Ok(Some(args)),
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            let _ = e.print();
            Ok(None)
        }
        Err(e) => {
            let line = cli::one_line(&e);
            report::error(&line);
            Err(Error::Usage(line))
        }
    }
}

/// Runs bpipe as the command line asks: on the process's stdin and stdout, reporting on
/// stderr. By the time it returns, what went wrong has been said on stderr; the caller maps
/// the error to a status ([`Error::code`]).
pub fn run(args: &Args) -> Result<(), Error> {
    control::app::prepare();
    let config = Config::from_args(args).inspect_err(|e| report::error(e))?;
    control::app::run_stdio(&config)
}

/// Runs `bpipectl` on the process's command line; returns its exit status.
pub fn ctl() -> u8 {
    use clap::Parser;
    match CtlArgs::try_parse() {
        Ok(args) => ctl::run(args),
        Err(e) => {
            let _ = e.print();
            match e.use_stderr() {
                true => 2,
                false => 0,
            }
        }
    }
}

/// What the fuzz targets drive directly: the parsers, the framer, the queue and the rate
/// limiter. Not an API.
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::batch::Batch;
    pub use crate::books::tally::Tally;
    pub use crate::input::framing::{Framing, Overlong, frame_reads};
    pub use crate::output::rate::Limiter;
    pub use crate::queue::{Press, Queue, Take};
    pub use crate::values::rate::Rate;
}
