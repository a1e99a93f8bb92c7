//! Control: the program's threads, its signals and how a run ends.

pub mod app;
pub mod pipeline;
pub mod signals;
pub mod watch;
