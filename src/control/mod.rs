//! Control: the program's threads, its signals and how a run ends.

mod answer;
pub mod app;
pub mod endpoint;
pub mod pipeline;
pub mod signals;
pub mod watch;
