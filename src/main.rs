use std::process::ExitCode;

use bpipe::{Args, Error};
use clap::Parser;

fn main() -> ExitCode {
    let args = Args::parse();
    match bpipe::run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            if let Error::Signal(number) = error {
                // Die of the signal, so that a calling shell sees what stopped bpipe.
                bpipe::die_of(number);
            }
            error.code().into()
        }
    }
}
