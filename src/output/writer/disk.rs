//! Batches the writer takes from the spill with their bytes left on disk: spliced to a
//! pipe without being copied through memory. Once the pipe is full, or the sink cannot
//! splice, the batch is loaded and goes on as any batch in hand does (waiting for room,
//! given back to the policy, settled on failure).

use std::io::{self, ErrorKind};

use super::{Progress, Short, Writer};
use crate::books::tally::Tally;
use crate::output::sink::Relay;
use crate::output::wait::Wait;
use crate::queue::{Disk, OnDisk, Told};

impl<S: Relay, W: Wait> Writer<'_, S, W> {
    /// How the writer takes batches on disk: by splice unless a rate paces the writer or the
    /// sink has refused to splice.
    pub(super) fn disk(&self) -> Disk {
        match self.splices && self.limiter.is_none() {
            true => Disk::Splice,
            false => Disk::Load,
        }
    }

    /// Writes `disk`; returns the items written whole and not yet told to the books.
    pub(super) fn write_spilled(&mut self, mut disk: OnDisk) -> Result<Tally, Short> {
        let (_, offset, len) = disk.bytes_at();
        let mut done = 0;
        let failure: Option<io::Error> = loop {
            if done == len {
                return Ok(self.spliced(disk));
            }
            let (file, ..) = disk.bytes_at();
            match self.sink.splice_now(file, offset + done as u64, len - done) {
                Ok(0) => break Some(ErrorKind::WriteZero.into()),
                Ok(n) => {
                    self.queue.tell(Told::Sent(n));
                    done += n;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => break None,
                Err(e) if e.kind() == ErrorKind::Unsupported => {
                    self.splices = false;
                    break None;
                }
                Err(e) => break Some(e),
            }
        };
        // In memory from here on, `done` bytes of it written.
        let tally = disk.tally();
        let loaded = disk.load();
        self.queue.tell(Told::Released(disk));
        let batch = match loaded {
            Ok(batch) => batch,
            Err(e) => {
                // What went out of it cannot be told apart without its bytes.
                self.queue.tell(Told::Settled {
                    written: Tally::ZERO,
                    torn: None,
                    lost: tally,
                });
                return Err(Short::Failed(e));
            }
        };
        self.hand.push(batch);
        let mut at = Progress {
            first: self.hand.len() - 1,
            offset: done,
            ..Progress::default()
        };
        match failure {
            Some(error) => Err(self.failed(error, &mut at)),
            None => self.write_hand(at),
        }
    }

    /// All of `disk` went out: its time in queue is noted, its segment may be freed.
    fn spliced(&mut self, disk: OnDisk) -> Tally {
        let tally = disk.tally();
        if let Some(arrived) = disk.arrived() {
            let wait = self.wait.now().saturating_duration_since(arrived);
            self.waits.push((wait, tally.items));
        }
        self.queue.tell(Told::Released(disk));
        self.delivered += tally;
        tally
    }
}
