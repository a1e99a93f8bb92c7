//! The reader: stdin → framer → queue.

use std::io::{self, ErrorKind, Read};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

use crate::batch::Batch;
use crate::input::files::Inputs;
use crate::input::framing::Framer;
use crate::input::pass::Pass;
use crate::queue::{Bound, Queue, Stop};

/// What the reader reads: bytes, and where to wait for them, so that a stop that comes while
/// the producer is quiet is heard then, not after one more read brings what the producer sent
/// later.
pub trait Source: Read {
    /// The descriptor to poll for data, if there is one (an input with none is always
    /// ready).
    fn ready_fd(&self) -> Option<BorrowedFd<'_>> {
        None
    }
}

impl Source for Inputs {
    fn ready_fd(&self) -> Option<BorrowedFd<'_>> {
        self.current().map(AsFd::as_fd)
    }
}

impl Source for io::Cursor<Vec<u8>> {}

/// Waits until `input` has data (or its end, or an error), or the queue is stopped: `false`
/// then.
fn wait_for_data(input: &impl Source, queue: &Queue) -> bool {
    let (Some(fd), Some(bell)) = (input.ready_fd(), queue.stop_bell()) else {
        return true;
    };
    let mut fds = [
        libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            fd: bell.as_fd().as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        },
    ];
    loop {
        // SAFETY: two valid pollfds.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) };
        if n < 0 && io::Error::last_os_error().kind() == ErrorKind::Interrupted {
            continue;
        }
        // A stop wins; anything else (data, the end, an error, a poll that failed) is for
        // the read to tell.
        return n <= 0 || fds[1].revents == 0;
    }
}

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

impl From<Stop> for ReadEnd {
    /// Why the queue refused a read or a push, as the reader's end.
    fn from(stop: Stop) -> ReadEnd {
        match stop {
            Stop::Stopped => ReadEnd::Stopped,
            Stop::Closed => ReadEnd::OutputClosed,
            Stop::Full(bound) => ReadEnd::Full(bound),
        }
    }
}

/// What is still in the reader's hand was read but will never be queued: counted read and
/// undelivered (an over-long item being dropped, dropped).
fn refuse_in_hand(framer: &mut Framer, batch: &mut Batch, queue: &Queue) {
    queue.discard_overlong(framer.finish(batch));
    queue.refuse(batch);
}

/// Reads `input` to its end, framing it and pushing items into `queue` after every read, so
/// a lone line is queued at once. Always marks the input finished, also on error.
pub fn run(
    input: &mut impl Source,
    mut framer: Framer,
    queue: &Queue,
    read_size: usize,
    pass: Option<Pass>,
) -> io::Result<ReadEnd> {
    let result = read_loop(input, &mut framer, queue, read_size, pass);
    queue.discard_overlong(framer.abandon());
    queue.finish_input();
    result
}

fn read_loop(
    input: &mut impl Source,
    framer: &mut Framer,
    queue: &Queue,
    read_size: usize,
    mut pass: Option<Pass>,
) -> io::Result<ReadEnd> {
    let mut batch = Batch::with_buffer(queue.spare_buffer(read_size));
    // After a read that filled what was asked, more is most likely there: read at once.
    let mut full = false;
    loop {
        if !full && !wait_for_data(input, queue) {
            return Ok(ReadEnd::Stopped);
        }
        if crate::values::reserve::spent() {
            // An allocation failed at the memory limit: take in no more, deliver what is
            // queued. An unfinished item in hand is counted undelivered, not cut.
            refuse_in_hand(framer, &mut batch, queue);
            return Err(io::Error::new(
                ErrorKind::OutOfMemory,
                "memory ran out (an allocation failed at the process's limit): stopped reading",
            ));
        }
        if let Err(stop) = queue.begin_read() {
            return Ok(ReadEnd::from(stop));
        }
        // Chunks never wait in the reader's hand: between reads the batch is empty.
        if let Some(through) = &mut pass
            && batch.is_empty()
            && batch.tail().is_empty()
        {
            match through.try_move(input, queue) {
                Ok(Some(n)) => {
                    full = n == read_size;
                    continue;
                }
                Ok(None) => {}
                Err(()) => pass = None,
            }
            // It may have waited for the writer: a stop that came meanwhile reads nothing.
            if let Err(stop) = queue.begin_read() {
                return Ok(ReadEnd::from(stop));
            }
        }
        let n = match batch.fill_from(input, read_size) {
            Ok(n) => {
                full = n == read_size;
                n
            }
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
                    refuse_in_hand(framer, &mut batch, queue);
                    return Ok(ReadEnd::Full(bound));
                }
            }
        }
        if n == 0 {
            return Ok(ReadEnd::Eof);
        }
    }
}
