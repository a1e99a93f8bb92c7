//! Writing, pacing and sinks: the writer, where it writes, the rate limit, and how it waits.

pub mod pool;
pub mod rate;
pub mod sink;
pub mod throttle;
pub mod wait;
pub mod writer;
