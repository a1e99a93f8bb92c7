//! Pacing by `--rate`: how much the writer takes from the queue, and how much of it it
//! writes at once, waiting (interruptibly) for the rate to allow it.

use super::{GATHER, Progress, Short, Writer};
use crate::books::tally::Tally;
use crate::output::sink::Relay;
use crate::output::throttle;
use crate::output::wait::{Wait, Woke};
use crate::queue::{Press, Take};
use crate::values::rate::Unit;

/// A byte grant from this size on takes whole batches (one of 64 KiB or so is then in hand at
/// most about two grants' time); a smaller one, of a slow rate, takes exactly what it may, so
/// that the rest waits in the queue where a policy can shed it.
const WHOLE_FROM: usize = 32 * 1024;

impl<S: Relay, W: Wait> Writer<'_, S, W> {
    /// How much to take: everything (within a gather), or what the rate allows, waiting for
    /// it; items wait in the queue, not in the writer's hands, so that a policy can still
    /// shed them.
    pub(super) fn grant(&mut self, waiting: Tally, after_idle: bool) -> Result<Take, Woke> {
        let Some(limiter) = self.limiter.as_mut() else {
            return Ok(Take {
                disk: self.disk(),
                ..GATHER
            });
        };
        let unit = limiter.unit();
        let want = match unit {
            Unit::Items => waiting.items,
            Unit::Bytes => waiting.bytes,
        };
        let queue = self.queue;
        let allowed =
            throttle::grant(limiter, want, after_idle, self.wait, self.sink.fd(), || {
                queue.press(Press::Throttled);
            })?;
        let allowed = usize::try_from(allowed).unwrap_or(usize::MAX);
        Ok(match unit {
            Unit::Items => Take {
                items: allowed,
                split: true,
                ..GATHER
            },
            // A grant of a good size takes whole batches, at least one whatever its size: the
            // few bytes over the grant are spent all the same, so the rate's schedule carries
            // them and the long-run rate is exact; `allow` still paces each write. Splitting
            // a batch (and indexing its items) for a grant a little short of it is what made
            // a rate that never binds cost a fifth more.
            Unit::Bytes => Take {
                bytes: allowed,
                split: allowed < WHOLE_FROM,
                ..GATHER
            },
        })
    }

    /// How many of `remaining` bytes may be written now: all, or what a byte rate allows.
    pub(super) fn allow(&mut self, remaining: usize, at: &mut Progress) -> Result<usize, Short> {
        let Some(limiter) = self.limiter.as_mut().filter(|l| l.unit() == Unit::Bytes) else {
            return Ok(remaining);
        };
        let queue = self.queue;
        loop {
            match throttle::grant(
                limiter,
                remaining as u64,
                false,
                self.wait,
                self.sink.fd(),
                || {
                    queue.press(Press::Throttled);
                },
            ) {
                Ok(n) => {
                    queue.press(Press::Resumed);
                    return Ok(usize::try_from(n).unwrap_or(usize::MAX));
                }
                // The write will say what became of the sink.
                Err(Woke::Hangup) => return Ok(remaining),
                Err(_) if queue.standing().abandoned => return Err(self.abandoned(at)),
                Err(_) => {}
            }
        }
    }
}
