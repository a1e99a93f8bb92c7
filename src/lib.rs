//! bpipe: a bounded pipe buffer with explicit overflow policies and exact accounting.
//!
//! One thread ([`reader`]) reads stdin, cuts it into items ([`framing`]) and pushes them, a
//! batch per read, into a bounded [`queue`] where the overflow [`policy`] acts; another
//! ([`writer`]) writes them to stdout. Every item is counted in [`stats`]:
//! `in = out + dropped + undelivered` (+ what is still queued), in items and in bytes.

pub mod app;
pub mod batch;
pub mod cli;
pub mod clock;
pub mod config;
pub mod exit;
pub mod framing;
pub mod monitor;
pub mod pipeline;
pub mod policy;
pub mod progress;
pub mod queue;
pub mod rate;
pub mod reader;
pub mod report;
pub mod signals;
pub mod stats;
pub mod tally;
pub mod throttle;
pub mod writer;
