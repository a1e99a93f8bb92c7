//! Writing, pacing and sinks: the writer, the rate limit and the clock it waits on.

pub mod clock;
pub mod rate;
pub mod throttle;
pub mod writer;
