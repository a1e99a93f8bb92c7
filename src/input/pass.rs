//! Pass-through: with `--chunk` under plain `block`, and nothing that must look at the
//! bytes (no `--rate`, `--keep`, markers, `--max-age`, spill or workers), bytes go from the
//! input to stdout by `splice(2)`, as `pv -q` moves them, whenever the queue is empty and
//! the writer idle. They are counted read and delivered at once, having waited nothing. The
//! moment stdout is full (the splice would wait) the reader reads as usual, into the queue,
//! where the pressure rule and the policy apply as to any read.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

use crate::books::tally::Tally;
use crate::input::reader::Source;
use crate::queue::Queue;

/// Where passed bytes go, and how they count.
#[derive(Debug)]
pub struct Pass {
    /// Stdout (a descriptor of its own).
    out: OwnedFd,
    /// `--chunk`: each read (here, each splice) is cut into items of at most this size.
    chunk: usize,
    /// Most bytes one splice moves: the read size.
    most: usize,
    /// The input last looked at, and whether it may be spliced from.
    input: Option<(i32, bool)>,
}

/// Whether `fd` is a pipe (FIFO): the only kind of descriptor `SPLICE_F_NONBLOCK` keeps a
/// splice from waiting on. A socket or terminal would hold the splice (and the queue's lock)
/// until it moves, and a terminal's end of input would be taken by the splice from the read
/// that must see it.
fn is_pipe(fd: i32) -> bool {
    file_type(fd) == Some(libc::S_IFIFO)
}

fn file_type(fd: i32) -> Option<libc::mode_t> {
    let mut stat = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: fstat fills the struct on success, and it is read only then.
    match unsafe { libc::fstat(fd, stat.as_mut_ptr()) } {
        0 => Some(unsafe { stat.assume_init() }.st_mode & libc::S_IFMT),
        _ => None,
    }
}

impl Pass {
    /// A pass to `out`, or none unless `out` is a pipe (see [`is_pipe`]).
    pub fn new(out: OwnedFd, chunk: usize, most: usize) -> Option<Pass> {
        is_pipe(out.as_raw_fd()).then_some(Pass {
            out,
            chunk,
            most,
            input: None,
        })
    }

    /// Whether bytes may be spliced from `fd`: a pipe, or a regular file (whose reads never
    /// wait on anyone, and whose end stays its end).
    fn takes_from(&mut self, fd: i32) -> bool {
        match self.input {
            Some((seen, ok)) if seen == fd => ok,
            _ => {
                let ok = matches!(file_type(fd), Some(libc::S_IFIFO | libc::S_IFREG));
                self.input = Some((fd, ok));
                ok
            }
        }
    }

    /// Moves what the input has to stdout if the queue lets it (see the module): the bytes
    /// moved, or `Ok(None)` when the reader must read as usual this time (the queue is not
    /// empty, stdout is full, the input is at its end or must be read to tell an error).
    /// An `Err` means splicing cannot work here (neither side a pipe): stop trying.
    pub fn try_move(&mut self, input: &impl Source, queue: &Queue) -> Result<Option<usize>, ()> {
        let Some(from) = input.ready_fd() else {
            return Err(());
        };
        if !self.takes_from(from.as_raw_fd()) {
            return Err(());
        }
        let mut unusable = false;
        let moved = queue.pass(|| {
            // SAFETY: both descriptors are open for the call; no offsets (both move on).
            let n = unsafe {
                libc::splice(
                    from.as_raw_fd(),
                    std::ptr::null_mut(),
                    self.out.as_raw_fd(),
                    std::ptr::null_mut(),
                    self.most,
                    libc::SPLICE_F_NONBLOCK | libc::SPLICE_F_MOVE,
                )
            };
            if n > 0 {
                let n = n as usize;
                return Some(Tally::new(n.div_ceil(self.chunk), n));
            }
            // At the input's end (a read says so), stdout full or nothing there after all (a
            // read waits or queues), a consumer gone (the writer tells it), an input error
            // (the read reports it): read as usual. Neither side a pipe, or a descriptor that
            // cannot splice: stop trying.
            let error = io::Error::last_os_error().raw_os_error();
            unusable =
                n < 0 && matches!(error, Some(libc::EINVAL | libc::ENOSYS | libc::EOPNOTSUPP));
            None
        });
        match (moved, unusable) {
            (Some(t), _) => Ok(Some(t.bytes as usize)),
            (None, true) => Err(()),
            (None, false) => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::fs::File;
    use std::io::{Read, Write};
    use std::os::fd::FromRawFd;

    use super::*;
    use crate::input::files::Inputs;
    use crate::queue::policy::Policy;
    use crate::queue::{Bounds, Next, Press};

    fn pipe() -> (File, File) {
        let mut fds = [0; 2];
        // SAFETY: pipe2 fills two descriptors that we own at once.
        assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
        unsafe { (File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])) }
    }

    /// An input pipe holding `data`, a queue (its writer not caught up yet), and a pass of
    /// chunks of 4 bytes to `out`.
    fn rig(data: &[u8], out: File) -> (Inputs, Queue, Pass) {
        let (in_r, mut in_w) = pipe();
        in_w.write_all(data).unwrap();
        let bounds = Bounds {
            items: 64,
            bytes: 1 << 20,
        };
        let queue = Queue::new(bounds, Policy::BLOCK).unwrap();
        let pass = Pass::new(out.into(), 4, 64 << 10).expect("a pipe");
        (Inputs::open(&[], in_r).unwrap(), queue, pass)
    }

    /// The writer finds nothing waiting: it is idle.
    fn catch_up(queue: &Queue) {
        assert!(matches!(
            queue.next(Tally::ZERO, &mut Vec::new()),
            Next::Empty
        ));
    }

    #[test]
    fn an_idle_writer_and_an_empty_queue_let_bytes_through_counted_read_and_delivered() {
        let (mut out_r, out_w) = pipe();
        let (input, queue, mut pass) = rig(b"0123456789", out_w);
        // The writer has not caught up yet (it starts busy): nothing moves.
        assert_eq!(pass.try_move(&input, &queue), Ok(None));
        assert_eq!(queue.stats().input, Tally::ZERO);
        catch_up(&queue);
        assert_eq!(pass.try_move(&input, &queue), Ok(Some(10)));
        let mut got = [0; 10];
        out_r.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"0123456789");
        let stats = queue.stats();
        // 10 bytes in chunks of at most 4: 3 items, in and out at once.
        assert_eq!(
            (stats.input, stats.output),
            (Tally::new(3, 10), Tally::new(3, 10))
        );
        assert_eq!(stats.sent_bytes, 10);
        assert!(stats.balanced());
    }

    #[test]
    fn a_stalled_writer_keeps_bytes_for_the_queue() {
        let (_out_r, out_w) = pipe();
        let (input, queue, mut pass) = rig(b"abc", out_w);
        catch_up(&queue);
        queue.press(Press::Stalled);
        assert_eq!(pass.try_move(&input, &queue), Ok(None));
        assert_eq!(queue.stats().input, Tally::ZERO);
    }

    #[test]
    fn a_full_stdout_leaves_the_bytes_to_be_read() {
        let (_out_r, mut out_w) = pipe();
        // SAFETY: F_SETFL on a descriptor we own.
        unsafe { libc::fcntl(out_w.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK) };
        while out_w.write(&[0; 4096]).is_ok() {}
        let (input, queue, mut pass) = rig(b"abc", out_w);
        catch_up(&queue);
        assert_eq!(pass.try_move(&input, &queue), Ok(None));
        assert_eq!(queue.stats().input, Tally::ZERO);
    }
}
