//! bpipe: a bounded pipe buffer with explicit overflow policies and exact accounting.
//!
//! The layers, in the order data passes through them:
//! - [`input`]: reading stdin and framing it into items (lines, records, chunks), a batch per
//!   read;
//! - [`queue`]: the bounded queue and its overflow [`queue::policy`];
//! - [`output`]: writing to stdout, pacing by a rate limit;
//! - [`control`]: the threads, signals and how a run ends;
//! - [`report`]: what bpipe says on stderr (live view, records, summary);
//! - [`books`]: the counters, `in = out + dropped + undelivered` (+ what is still held).
//!
//! [`cli`] parses the command line, [`config`] validates it, [`exit`] names the statuses.

#![recursion_limit = "256"] // serde_json::json! for the record of every figure

pub mod batch;
pub mod books;
pub mod cli;
pub mod config;
pub mod control;
pub mod error;
pub mod exit;
pub mod input;
pub mod output;
pub mod queue;
pub mod report;
pub mod values;
