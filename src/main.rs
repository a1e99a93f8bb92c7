use std::process::ExitCode;

use bpipe::cli::Args;
use bpipe::config::Config;
use bpipe::control::{app, signals};
use bpipe::error::Error;
use clap::Parser;

fn main() -> ExitCode {
    app::exit_on_panic();
    app::return_large_buffers();
    let args = Args::parse();
    let ran = Config::from_args(&args)
        .inspect_err(|e| bpipe::report::error(e))
        .and_then(|config| app::run_stdio(&config));
    match ran {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            if let Error::Signal(number) = error {
                // Die of the signal, so that a calling shell sees what stopped bpipe.
                signals::die_of(number);
            }
            error.code().into()
        }
    }
}
