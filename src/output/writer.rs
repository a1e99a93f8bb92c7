//! The writer: queue → stdout. It takes what waits, writes what stdout takes now, and when
//! stdout is full gives back what it has not begun, so that those items wait in the queue
//! where the policy can still shed them; then it waits for room with nothing in hand but the
//! rest of an item it had begun (items are never torn on purpose).

use std::io::{self, ErrorKind, IoSlice};
use std::time::Duration;

use crate::batch::Batch;
use crate::books::tally::Tally;
use crate::output::rate::Limiter;
use crate::output::sink::{Finish, Relay};
use crate::output::wait::{Wait, Woke};
use crate::queue::{Disk, Next, Queue, Take, Taken, Told};
use crate::values::rate::Unit;

/// How many bytes of queued batches one write may gather.
const GATHER_BYTES: usize = 256 * 1024;
/// How many batches one write may gather (well under `IOV_MAX`).
const GATHER_BATCHES: usize = 64;
/// What one unthrottled write takes from the queue.
const GATHER: Take = Take {
    items: usize::MAX,
    bytes: GATHER_BYTES,
    batches: GATHER_BATCHES,
    split: false,
    disk: Disk::Load,
};

/// Writes everything the queue yields until the input is finished and drained, paced by
/// `limiter` if given. On a write error the queue is closed (what was not written is counted
/// undelivered) and the error is returned; a consumer that left is a `BrokenPipe` error, for
/// the caller to judge. Returns at once, `Ok`, when the queue is abandoned.
pub fn run(
    sink: &mut impl Relay,
    queue: &Queue,
    wait: &mut impl Wait,
    limiter: Option<Limiter>,
) -> io::Result<()> {
    let mut writer = Writer {
        sink,
        queue,
        wait,
        limiter,
        hand: Vec::with_capacity(GATHER_BATCHES),
        rest: Vec::new(),
        waits: Vec::with_capacity(GATHER_BATCHES),
        owed: Tally::ZERO,
        delivered: Tally::ZERO,
        splices: true,
        tuned: 0,
    };
    let result = writer.run();
    // However the run ended, a pool's workers are seen off (and what they never read is
    // recalled) before the books are settled.
    if queue.standing().abandoned {
        writer.sink.abandon();
    }
    let _ = writer.sink.finish(Finish::Cut);
    writer.settle_recalls(Recall::All);
    queue.taps().close();
    result
}

struct Writer<'a, S, W> {
    sink: &'a mut S,
    queue: &'a Queue,
    wait: &'a mut W,
    limiter: Option<Limiter>,
    /// Batches taken from the queue: being written, or written and kept for recycling.
    hand: Vec<Batch>,
    /// The unwritten rest of an item that stdout took part of before it filled up.
    rest: Vec<u8>,
    /// Time in queue of what went out whole since the last look at the queue: `(wait,
    /// items)`, taken when a batch's last byte went out.
    waits: Vec<(Duration, u64)>,
    /// Items the sink gave back as undelivered (a worker exited), not yet booked, and what
    /// the books have counted delivered that a recall may take from.
    owed: Tally,
    delivered: Tally,
    /// Batches on disk may be spliced to the sink (until it refuses).
    splices: bool,
    /// The queue's count of rate changes when the writer last looked.
    tuned: u64,
}

/// How much of what the sink recalled is booked now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Recall {
    /// As far as the books have counted it delivered.
    AsDelivered,
    /// All of it (the end of the run).
    All,
}

/// Why writing the hand stopped short (the hand is settled in the books by then).
enum Short {
    /// The write failed.
    Failed(io::Error),
    /// The queue was abandoned (a stop's drain timed out).
    Abandoned,
}

/// What `Writer::rest` holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rest {
    /// The rest of this item, which stdout took part of before it filled up.
    Item(Tally),
    /// A `--mark-drops` marker being written.
    Marker,
}

/// Where the writer stands in its hand.
#[derive(Default)]
struct Progress {
    /// Items written whole…
    done: Tally,
    /// …of which the books have been told (as each batch's last byte goes out, so that a
    /// slow consumer's figures move with it, not once a whole hand has gone).
    reported: Tally,
    /// Index of the first batch not wholly written…
    first: usize,
    /// …and how many of its bytes were.
    offset: usize,
    /// An item begun and given back in part: its rest is in `Writer::rest`, from `rest_at`.
    cut: Option<Rest>,
    rest_at: usize,
}

impl<S: Relay, W: Wait> Writer<'_, S, W> {
    fn run(&mut self) -> io::Result<()> {
        let mut written = Tally::ZERO;
        let mut after_idle = false;
        loop {
            self.queue.tell(Told::Waited(&mut self.waits));
            // What was written since the last look, for `bpipectl tap`.
            if self.queue.taps().any() {
                self.queue.taps().offer(&self.hand);
            }
            if let Some(rate) = self.queue.rate_changed(&mut self.tuned) {
                let now = self.wait.now();
                self.limiter = rate.map(|(rate, burst)| match &self.limiter {
                    Some(old) => old.retuned(rate, burst, now),
                    None => Limiter::new(rate, burst),
                });
            }
            let waiting = match self.queue.next(written, &mut self.hand) {
                Next::Done(gap) => {
                    self.queue.taps().flush();
                    self.mark_the_end(gap)?;
                    return self
                        .sink
                        .finish(Finish::Complete)
                        .inspect_err(|_| self.queue.close_output());
                }
                Next::Empty => {
                    written = Tally::ZERO;
                    if self.queue.taps().any() {
                        self.queue.taps().flush();
                    }
                    match self.wait.wait(self.sink.fd(), self.sink.busy(), None) {
                        Woke::Hangup => return Err(self.hung_up()),
                        Woke::Room => self.tend()?,
                        Woke::Rung | Woke::Timeout => {}
                    }
                    after_idle = true;
                    continue;
                }
                Next::Paused => {
                    written = Tally::ZERO;
                    self.paused()?;
                    continue;
                }
                Next::Ready(waiting) => waiting,
            };
            written = Tally::ZERO;
            let limit = match self.grant(waiting, after_idle) {
                Ok(limit) => limit,
                Err(Woke::Hangup) => return Err(self.hung_up()),
                // Rung: a stop or an abandon; look again.
                Err(_) => continue,
            };
            after_idle = false;
            let result = match self.queue.take(limit, &mut self.hand) {
                Taken::Disk(disk) => self.write_spilled(disk),
                Taken::Items(taken) => {
                    if let Some(limiter) = self.limiter.as_mut().filter(|l| l.unit() == Unit::Items)
                    {
                        limiter.spend(taken.items);
                    }
                    self.write_hand(Progress::default())
                }
            };
            match result {
                Ok(done) => written = done,
                Err(Short::Abandoned) => return Ok(()),
                Err(Short::Failed(error)) => {
                    self.queue.close_output();
                    return Err(error);
                }
            }
        }
    }

    /// `--mark-drops`: a marker for what was shed after the last item delivered.
    fn mark_the_end(&mut self, gap: Tally) -> io::Result<()> {
        if gap.is_zero() {
            return Ok(());
        }
        self.queue.rules().mark(gap, &mut self.rest);
        let at = Progress {
            cut: Some(Rest::Marker),
            ..Progress::default()
        };
        match self.write_hand(at) {
            Ok(_) | Err(Short::Abandoned) => Ok(()),
            Err(Short::Failed(error)) => {
                self.queue.close_output();
                Err(error)
            }
        }
    }

    /// The consumer left while the writer held nothing.
    /// A relay's housekeeping (a pool's exits and restarts), and what it recalled booked; a
    /// relay with no one left closes the output.
    fn tend(&mut self) -> io::Result<()> {
        let tended = self.sink.tend(self.queue.standing().fill);
        self.settle_recalls(Recall::AsDelivered);
        tended
            .map(|_| ())
            .inspect_err(|_| self.queue.close_output())
    }

    fn hung_up(&mut self) -> io::Error {
        self.queue.close_output();
        ErrorKind::BrokenPipe.into()
    }

    /// Writes the hand from `at`; returns the items written whole. A batch taken after a
    /// gap is written after its marker (`--mark-drops`), which is written as the rest of a
    /// cut item is, with `Tally::ZERO` for the item.
    fn write_hand(&mut self, mut at: Progress) -> Result<Tally, Short> {
        loop {
            if let Some(batch) = self.hand.get_mut(at.first)
                && at.cut.is_none()
                && at.offset == 0
                && !batch.gap.is_zero()
            {
                let gap = std::mem::take(&mut batch.gap);
                self.queue.rules().mark(gap, &mut self.rest);
                at.cut = Some(Rest::Marker);
                at.rest_at = 0;
            }
            let pending: usize = if at.cut.is_some() {
                self.rest.len() - at.rest_at
            } else if at.first < self.hand.len() {
                let later: usize = self.hand[at.first..].iter().map(Batch::bytes).sum();
                later - at.offset
            } else {
                return Ok(at.done.beyond(at.reported));
            };
            let mut room = self.allow(pending, &mut at)?;
            let mut slices = [IoSlice::new(&[]); GATHER_BATCHES];
            let mut count = 0;
            if at.cut.is_some() {
                slices[0] = IoSlice::new(&self.rest[at.rest_at..at.rest_at + room]);
                count = 1;
            } else {
                let mut skip = at.offset;
                for (i, batch) in self.hand[at.first..].iter().enumerate() {
                    if i > 0 && !batch.gap.is_zero() {
                        // Its marker goes first, in a write of its own.
                        break;
                    }
                    let bytes = &batch.as_bytes()[skip..];
                    skip = 0;
                    let len = bytes.len().min(room);
                    slices[count] = IoSlice::new(&bytes[..len]);
                    count += 1;
                    room -= len;
                    if room == 0 || count == GATHER_BATCHES {
                        break;
                    }
                }
            }
            let result = self.sink.write_now(&slices[..count]);
            match result {
                Ok(0) => return Err(self.failed(ErrorKind::WriteZero.into(), &mut at)),
                Ok(n) => {
                    self.queue.tell(Told::Sent(n));
                    if let Some(limiter) = self.limiter.as_mut().filter(|l| l.unit() == Unit::Bytes)
                    {
                        limiter.spend(n as u64);
                    }
                    self.advance(&mut at, n);
                    self.report(&mut at);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => self.wait_for_room(&mut at)?,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(self.failed(e, &mut at)),
            }
        }
    }

    /// Tells the books of the items written whole since the last report, and of their
    /// time in queue.
    fn report(&mut self, at: &mut Progress) {
        if at.done != at.reported {
            let done = at.done.beyond(at.reported);
            self.queue.tell(Told::Delivered(done));
            self.delivered += done;
            self.queue.tell(Told::Waited(&mut self.waits));
            at.reported = at.done;
        }
        self.settle_recalls(Recall::AsDelivered);
    }

    /// Books what the sink recalled (items a worker never read) as undelivered: as far as
    /// the books have counted them delivered already, or all of it at the end.
    fn settle_recalls(&mut self, how: Recall) {
        self.owed += self.sink.recalled();
        let now = match how {
            Recall::All => self.owed,
            Recall::AsDelivered => Tally {
                items: self.owed.items.min(self.delivered.items),
                bytes: self.owed.bytes.min(self.delivered.bytes),
            },
        };
        if !now.is_zero() {
            self.queue.tell(Told::Recalled(now));
            self.owed = self.owed.beyond(now);
            self.delivered = self.delivered.beyond(now);
        }
    }

    /// Moves `at` on by `n` bytes written.
    fn advance(&mut self, at: &mut Progress, mut n: usize) {
        if let Some(rest) = at.cut {
            at.rest_at += n;
            if at.rest_at == self.rest.len() {
                match rest {
                    Rest::Marker => self.queue.tell(Told::Marked(self.rest.len())),
                    Rest::Item(item) => at.done += item,
                }
                at.cut = None;
                self.rest.clear();
                at.rest_at = 0;
            }
            return;
        }
        while n > 0 {
            let left = self.hand[at.first].bytes() - at.offset;
            if n < left {
                at.offset += n;
                return;
            }
            n -= left;
            let batch = &self.hand[at.first];
            if let Some(arrived) = batch.arrived {
                let wait = self.wait.now().saturating_duration_since(arrived);
                self.waits.push((wait, batch.items() as u64));
            }
            at.done += batch.tally();
            at.first += 1;
            at.offset = 0;
        }
    }
}

mod disk;
mod pace;
mod stall;

#[cfg(test)]
mod clocked;
#[cfg(test)]
mod tests;
