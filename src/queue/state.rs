//! The lifecycle states of the queue's two sides, and why the reader stops.

use super::Bound;

/// Why the reader must stop pushing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// The writer is gone (stdout closed): nothing more can be delivered.
    Closed,
    /// The queue was full under `fail`.
    Full(Bound),
    /// bpipe was told to stop reading (a signal).
    Stopped,
}

/// What the writer is doing, as the policy sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Writer {
    /// Waiting for items: what the reader brings goes to it next, whatever the caps.
    Idle,
    /// Writing, and stdout takes what it is given.
    Busy,
    /// Stdout is not taking data: a write would wait for the consumer.
    Stalled,
    /// The rate limit holds the writer.
    Throttled,
    /// Finished: the input is drained or the output closed.
    Done,
}

/// The reading side's lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Input {
    Open,
    /// End of input (or a read error): the writer drains what is left.
    Finished,
    /// Told to stop (a signal): what the reader still brings is undelivered.
    Stopped,
}

/// The writing side's lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Output {
    Open,
    /// Closed (a failed write, or the consumer left): nothing more is delivered.
    Closed,
    /// Given up on (drain timeout): the books are settled and later writes not counted.
    Abandoned,
}
