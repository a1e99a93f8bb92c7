//! Writing to the pool: a gather goes to a worker whose pipe takes data now, and the rest of
//! an item its pipe took in part is staged for it alone.

use std::io::{self, ErrorKind, IoSlice};
use std::os::fd::{AsFd, BorrowedFd};

use super::slices::Slices;
use super::{Cut, Pool, STAGE_MAX};

/// How far the rest of an item is looked into at once: a pipe's worth and a stage.
const LOOK_AHEAD: usize = 4 * STAGE_MAX;
use crate::books::tally::Tally;
use crate::output::sink::{Finish, Relay, Sink};

impl Pool {
    /// The rest of the item begun: up to its end, to the worker it began with (or nowhere,
    /// if that worker exited). Waits (`WouldBlock`) while that worker has `STAGE_MAX`
    /// staged: a line longer than a pipe goes at the worker's pace, not into memory.
    fn rest_of_item(&mut self, cut: Cut, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let s = Slices(bufs);
        // Looked for no further than one write and a stage can take: a long item's rest
        // is not scanned again at every write.
        let until = s.len().min(LOOK_AHEAD);
        let end = s.find(self.delim, 0, until).map_or(until, |p| p + 1);
        let ends = s.byte(end - 1) == Some(self.delim);
        let i = match cut {
            Cut::To(i) if self.slots[i].alive() && self.slots[i].open() => i,
            _ => {
                self.cut_len += end as u64;
                if ends {
                    self.settle_lost(Finish::Complete);
                }
                return Ok(end);
            }
        };
        let slot = &mut self.slots[i];
        if slot.stage.len() >= STAGE_MAX && !slot.flush() {
            self.want_room = true;
            self.update_interest();
            return Err(ErrorKind::WouldBlock.into());
        }
        let mut written = 0;
        if slot.stage.is_empty() {
            match slot.write(&s.head(end)) {
                Ok(n) => written = n,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {}
                Err(e) => return Err(e),
            }
        }
        // At most STAGE_MAX more is staged; the rest of a long item waits for the worker.
        let taken = end.min(written + STAGE_MAX);
        s.each(written, taken, |piece| slot.stage.extend_from_slice(piece));
        slot.bytes += taken as u64;
        self.cut_len += taken as u64;
        if ends && taken == end {
            self.cut = None;
            slot.items += 1;
        }
        Ok(taken)
    }

    /// Slot `i`'s pipe took `n` bytes of `bufs`: the rest of the item they end in is staged
    /// for it. Returns the bytes taken.
    pub(super) fn taken(&mut self, i: usize, bufs: &[IoSlice<'_>], n: usize) -> usize {
        let s = Slices(bufs);
        let whole = s.byte(n - 1) == Some(self.delim);
        let end = match whole {
            true => n,
            false => {
                // A long item: at most STAGE_MAX of it is staged; the rest follows at the
                // worker's pace.
                let until = s.len().min(n + STAGE_MAX);
                s.find(self.delim, n, until).map_or(until, |p| p + 1)
            }
        };
        if s.byte(end - 1) != Some(self.delim) {
            self.cut = Some(Cut::To(i));
            // The item begun starts after the last delimiter before `end`.
            let mut start = 0;
            while let Some(at) = s.find(self.delim, start, end) {
                start = at + 1;
            }
            (self.cut_len, self.cut_read) = ((end - start) as u64, 0);
        }
        let slot = &mut self.slots[i];
        s.each(n, end, |piece| slot.stage.extend_from_slice(piece));
        slot.items += s.count(self.delim, 0, end);
        slot.bytes += end as u64;
        if !slot.stage.is_empty() {
            slot.flush();
        }
        end
    }
}

impl Sink for Pool {
    fn write_now(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        if Slices(bufs).is_empty() {
            return Ok(0);
        }
        self.stir();
        if let Some(cut) = self.cut {
            return self.rest_of_item(cut, bufs);
        }
        let n = self.slots.len();
        let mut any = false;
        for k in 0..n {
            let i = (self.next + k) % n;
            any |= self.slots[i].alive();
            if !self.slots[i].ready() {
                continue;
            }
            match self.slots[i].write(bufs) {
                Ok(0) => {}
                Ok(written) => {
                    self.next = i + 1;
                    let taken = self.taken(i, bufs, written);
                    if self.want_room {
                        self.want_room = false;
                        self.update_interest();
                    }
                    return Ok(taken);
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {}
                // A pipe bpipe holds both ends of does not break; anything else ends the
                // worker's feed as if it had exited.
                Err(_) => self.slots[i].close(),
            }
        }
        if !any && !self.any_left() {
            return Err(ErrorKind::BrokenPipe.into());
        }
        self.want_room = true;
        self.update_interest();
        Err(ErrorKind::WouldBlock.into())
    }

    fn fd(&self) -> Option<BorrowedFd<'_>> {
        Some(self.epoll.as_fd())
    }
}

impl Relay for Pool {
    fn busy(&self) -> bool {
        true
    }

    fn tend(&mut self, fill: f64) -> io::Result<bool> {
        self.tend_now(fill)
    }

    fn recalled(&mut self) -> Tally {
        std::mem::take(&mut self.recalled)
    }

    fn finish(&mut self, how: Finish) -> io::Result<()> {
        match (how, self.cut) {
            // The input ended: the item begun (a last line without its delimiter) is whole.
            (Finish::Complete, Some(Cut::To(i))) => {
                self.cut = Some(Cut::Last(i));
                self.slots[i].items += 1;
            }
            // The item begun went nowhere since its worker exited: owed back now.
            (_, Some(Cut::Lost)) => self.settle_lost(how),
            _ => {}
        }
        self.close_all();
        Ok(())
    }

    fn abandon(&mut self) {
        self.give_up();
    }

    fn settle_time(&self) -> std::time::Duration {
        // Workers get a stop signal, and time to exit, before bpipe does.
        std::time::Duration::from_secs(5)
    }
}
