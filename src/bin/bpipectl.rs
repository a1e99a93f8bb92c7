//! `bpipectl`: look at and change running bpipes (see `bpipectl --help`).

use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(bpipe::ctl())
}
