use std::process::ExitCode;

use bpipe::cli::Args;
use bpipe::config::Config;
use bpipe::control::{app, signals};
use bpipe::exit::Exit;
use clap::Parser;

fn main() -> ExitCode {
    app::exit_on_panic();
    app::return_large_buffers();
    let args = Args::parse();
    let exit = match Config::from_args(&args) {
        Ok(config) => app::run_stdio(&config),
        Err(e) => {
            bpipe::report::error(e);
            Exit::Usage
        }
    };
    if let Exit::Signal(number) = exit {
        // Die of the signal, so that a calling shell sees what stopped bpipe.
        signals::die_of(number);
    }
    exit.into()
}
