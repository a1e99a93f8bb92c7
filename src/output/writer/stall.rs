//! When stdout stops taking data: waiting for room, giving back what was not begun, and
//! settling the hand when the write fails or the queue is given up on.

use std::io;

use super::{Progress, Recall, Rest, Short, Writer};
use crate::books::tally::Tally;
use crate::output::sink::Relay;
use crate::output::wait::{Wait, Woke};
use crate::queue::{Flow, Press, Told};

impl<S: Relay, W: Wait> Writer<'_, S, W> {
    /// Stdout is full: waits until it takes data again (or fails: the next write says how).
    /// Once the spell's grace is over, and where the policy may shed them, the items not yet
    /// begun go back to the queue, and the writer waits with only the rest of a cut item.
    pub(super) fn wait_for_room(&mut self, at: &mut Progress) -> Result<(), Short> {
        let mut grace = self.queue.press(Press::Stalled);
        loop {
            if grace.is_none()
                && self.queue.limits().policy.can_shed()
                && at.first < self.hand.len()
            {
                self.give_back(at);
            }
            match self.wait.wait(self.sink.fd(), true, grace) {
                // A pool's housekeeping, with no worker able to take data yet.
                Woke::Room if !self.sink.tend(self.queue.standing().fill).unwrap_or(true) => {
                    self.settle_recalls(Recall::AsDelivered);
                }
                Woke::Room | Woke::Hangup => {
                    self.queue.press(Press::Resumed);
                    // What waited in hand past --max-age goes back, for the queue to expire.
                    let now = self.wait.now();
                    let limits = self.queue.limits();
                    let old = self.hand[at.first.min(self.hand.len())..]
                        .iter()
                        .any(|b| limits.expired(b.arrived, now));
                    if old && at.cut != Some(Rest::Marker) {
                        self.give_back(at);
                    }
                    return Ok(());
                }
                Woke::Rung if self.queue.standing().abandoned => return Err(self.abandoned(at)),
                Woke::Timeout if grace.is_some() => grace = self.queue.press(Press::Stalled),
                Woke::Rung | Woke::Timeout => {}
            }
        }
    }

    /// `bpipectl pause`: writes nothing, as if stdout were full (the policy acts once the
    /// spell's grace is over), until the flow resumes or the queue is given up on; a
    /// consumer that leaves meanwhile is noticed at once, and a pool is tended.
    pub(super) fn paused(&mut self) -> io::Result<()> {
        let mut grace = self.queue.press(Press::Stalled);
        loop {
            match self.wait.wait(self.sink.fd(), false, grace) {
                Woke::Hangup => return Err(self.hung_up()),
                Woke::Timeout if grace.is_some() => grace = self.queue.press(Press::Stalled),
                Woke::Room => self.tend()?,
                Woke::Rung | Woke::Timeout => {}
            }
            if self.queue.limits().flow == Flow::Flowing || self.queue.standing().abandoned {
                self.queue.press(Press::Resumed);
                return Ok(());
            }
        }
    }

    /// Gives the items not yet begun back to the queue, keeping the rest of a cut item.
    pub(super) fn give_back(&mut self, at: &mut Progress) {
        // While a marker is being written, the batch it marks stays: were the policy to
        // shed its first items, a second marker would follow the first for one gap.
        if at.cut == Some(Rest::Marker) {
            if at.first + 1 < self.hand.len() {
                let back = self.hand.split_off(at.first + 1);
                self.queue.give_back(back.into_iter());
            }
            return;
        }
        let mut back = self.hand.split_off(at.first);
        if at.offset > 0 {
            if self.queue.keyed() {
                let whole = back[0].written_prefix(at.offset);
                let cut = u64::from(at.offset as u64 > whole.bytes);
                self.queue.tell(Told::WentOut(&back[0], whole.items + cut));
            }
            let (whole, cut) = back[0].remove_written(at.offset, &mut self.rest);
            if let Some(arrived) = back[0].arrived.filter(|_| whole.items > 0) {
                self.waits.push((
                    self.wait.now().saturating_duration_since(arrived),
                    whole.items,
                ));
            }
            at.done += whole;
            at.cut = cut.map(Rest::Item);
            at.rest_at = 0;
            if back[0].is_empty() {
                self.hand.push(back.remove(0));
            }
        }
        at.first = self.hand.len();
        at.offset = 0;
        self.queue.give_back(back.into_iter());
    }

    /// A failed write: settles the hand and says why.
    pub(super) fn failed(&mut self, error: io::Error, at: &mut Progress) -> Short {
        self.settle(at);
        Short::Failed(error)
    }

    /// The queue was abandoned: settles the hand and stops.
    pub(super) fn abandoned(&mut self, at: &mut Progress) -> Short {
        self.settle(at);
        Short::Abandoned
    }

    /// Tells the books what became of the hand: what went out whole, the item cut short
    /// (and how many of its bytes went out), what did not go out.
    pub(super) fn settle(&mut self, at: &mut Progress) {
        // A marker cut short is not an item.
        let mut torn = match at.cut {
            Some(Rest::Item(item)) => {
                let unwritten = (self.rest.len() - at.rest_at) as u64;
                Some((item, item.bytes - unwritten))
            }
            Some(Rest::Marker) | None => None,
        };
        let mut lost = Tally::ZERO;
        let mut scratch = Vec::new();
        if self.queue.keyed() {
            for batch in &self.hand[..at.first.min(self.hand.len())] {
                self.queue.tell(Told::WentOut(batch, batch.items() as u64));
            }
        }
        for (i, batch) in self.hand.iter_mut().enumerate().skip(at.first) {
            if i == at.first && at.offset > 0 {
                if self.queue.keyed() {
                    let whole = batch.written_prefix(at.offset).items;
                    self.queue.tell(Told::WentOut(batch, whole));
                }
                let (whole, cut) = batch.remove_written(at.offset, &mut scratch);
                at.done += whole;
                torn = cut.map(|item| (item, item.bytes - scratch.len() as u64));
            }
            lost += batch.tally();
        }
        self.queue.tell(Told::Waited(&mut self.waits));
        self.queue.tell(Told::Settled {
            written: at.done.beyond(at.reported),
            torn,
            lost,
        });
        *at = Progress {
            first: self.hand.len(),
            ..Progress::default()
        };
        self.rest.clear();
    }
}
