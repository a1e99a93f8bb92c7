//! The reader: stdin → framer → queue.

use std::io::{self, ErrorKind, Read};

use crate::batch::Batch;
use crate::input::framing::Framer;
use crate::queue::{Bound, Queue, Stop};

/// How the reader finished without an I/O error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadEnd {
    /// End of input: everything read was queued or shed.
    Eof,
    /// Stdout closed: reading stopped.
    OutputClosed,
    /// The queue was full under `fail`.
    Full(Bound),
    /// Told to stop (a signal).
    Stopped,
}

/// Reads `input` to its end, framing it and pushing items into `queue` after every read, so
/// a lone line is queued at once. Always marks the input finished, also on error.
pub fn run(
    input: &mut impl Read,
    mut framer: Framer,
    queue: &Queue,
    read_size: usize,
) -> io::Result<ReadEnd> {
    let result = read_loop(input, &mut framer, queue, read_size);
    queue.finish_input();
    result
}

fn read_loop(
    input: &mut impl Read,
    framer: &mut Framer,
    queue: &Queue,
    read_size: usize,
) -> io::Result<ReadEnd> {
    let mut batch = Batch::with_buffer(queue.spare_buffer(read_size));
    loop {
        match queue.begin_read() {
            Ok(()) => {}
            Err(Stop::Stopped) => return Ok(ReadEnd::Stopped),
            Err(Stop::Closed) => return Ok(ReadEnd::OutputClosed),
            Err(Stop::Full(bound)) => return Ok(ReadEnd::Full(bound)),
        }
        let n = match batch.fill_from(input, read_size) {
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => {
                // Deliver what came before the error, the unfinished item included.
                queue.discard_overlong(framer.finish(&mut batch));
                if let Some(items) = batch.take_items(0, Vec::with_capacity) {
                    let _ = queue.push(items);
                }
                return Err(e);
            }
        };
        let overlong = if n == 0 {
            framer.finish(&mut batch)
        } else {
            framer.frame(&mut batch)
        };
        queue.discard_overlong(overlong);
        if let Some(items) = batch.take_items(read_size, |len| queue.spare_buffer(len)) {
            match queue.push(items) {
                Ok(()) => {}
                Err(Stop::Closed) => return Ok(ReadEnd::OutputClosed),
                Err(Stop::Stopped) => return Ok(ReadEnd::Stopped),
                Err(Stop::Full(bound)) => {
                    // What is still in hand was read but will never be queued: count it.
                    queue.discard_overlong(framer.finish(&mut batch));
                    queue.refuse(batch.tally());
                    return Ok(ReadEnd::Full(bound));
                }
            }
        }
        if n == 0 {
            return Ok(ReadEnd::Eof);
        }
    }
}
