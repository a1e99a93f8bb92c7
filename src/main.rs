use std::process::ExitCode;

use bpipe::cli::Args;
use bpipe::config::Config;
use bpipe::exit::Exit;
use clap::Parser;

fn main() -> ExitCode {
    let args = Args::parse();
    match Config::from_args(&args) {
        Ok(config) => bpipe::control::app::run_stdio(&config).into(),
        Err(e) => {
            bpipe::report::error(e);
            Exit::Usage.into()
        }
    }
}
