use std::process::ExitCode;

use bpipe::Error;

/// At the memory limit bpipe stops reading and finishes, rather than aborting.
#[global_allocator]
static ALLOCATOR: bpipe::Reserving = bpipe::Reserving;

fn main() -> ExitCode {
    // First, so that even an allocation that fails while bpipe starts finds it.
    bpipe::reserve_memory();
    let ran = match bpipe::args() {
        Ok(Some(args)) => bpipe::run(&args),
        Ok(None) => Ok(()),
        Err(error) => Err(error),
    };
    match ran {
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
