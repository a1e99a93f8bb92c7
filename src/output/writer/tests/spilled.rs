//! Batches on disk go out by splice where the sink can, and through memory where it
//! cannot or once it is full: the output is the same, whole and in order.

use std::fs::File;
use std::os::unix::fs::FileExt;

use super::*;
use crate::queue::Press;
use crate::queue::spill::Spill;

/// A pipe that also splices from a file (as much as it has room for), or refuses to.
struct SplicePipe {
    pipe: Rc<RefCell<Pipe>>,
    splices: bool,
    spliced: usize,
}

impl Relay for SplicePipe {}

impl Sink for SplicePipe {
    fn write_now(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        PipeSink(Rc::clone(&self.pipe)).write_now(bufs)
    }
    fn splice_now(&mut self, file: &File, offset: u64, len: usize) -> io::Result<usize> {
        if !self.splices {
            return Err(ErrorKind::Unsupported.into());
        }
        let mut pipe = self.pipe.borrow_mut();
        let n = len.min(pipe.capacity - pipe.held.len());
        if n == 0 {
            return Err(ErrorKind::WouldBlock.into());
        }
        let mut bytes = vec![0; n];
        file.read_exact_at(&mut bytes, offset)?;
        pipe.held.extend(bytes);
        self.spliced += n;
        Ok(n)
    }
    fn fd(&self) -> Option<BorrowedFd<'_>> {
        None
    }
}

/// Lines 0..40 through a queue of two items with a spill, the writer stalled while they
/// arrive; then out through a pipe of `capacity` bytes. Returns the output and the bytes
/// spliced.
fn spilled_then_written(capacity: usize, splices: bool) -> (String, usize) {
    let spill = Spill::new(&std::env::temp_dir(), 1 << 20).unwrap();
    let q = queue(2, 1000, Policy::BLOCK).with_spill(Some(spill));
    q.press(Press::Stalled);
    for i in (0..40).step_by(4) {
        assert_eq!(q.try_push(batch(&lines(i..i + 4))), Ok(Pushed::Done));
    }
    assert_eq!(q.stats().spilled.items, 40);
    q.finish_input();
    let (out, _, sink) = through_pipe_as(
        &q,
        capacity,
        || {},
        |pipe| SplicePipe {
            pipe,
            splices,
            spliced: 0,
        },
    );
    let stats = q.stats();
    assert_eq!(stats.output.items, 40);
    assert_eq!(stats.spilled_total.items, 40);
    assert!(stats.balanced(), "{stats:?}");
    (out, sink.spliced)
}

#[test]
fn what_was_spilled_is_spliced_out_and_a_full_pipe_takes_the_rest_from_memory() {
    let all = lines(0..40).concat();
    // Room for everything: every spilled byte is spliced.
    let (out, spliced) = spilled_then_written(1 << 20, true);
    assert_eq!((out.as_str(), spliced), (all.as_str(), all.len()));
    // Room for 5 bytes at a time: batches are cut mid-line, loaded and finished from memory.
    let (out, spliced) = spilled_then_written(5, true);
    assert_eq!(out, all);
    assert!(spliced > 0 && spliced < all.len(), "{spliced}");
    // A sink that cannot splice gets everything through memory.
    let (out, spliced) = spilled_then_written(5, false);
    assert_eq!((out.as_str(), spliced), (all.as_str(), 0));
}
