//! The books: every counter bpipe keeps, in items and bytes.

pub mod ledger;
pub mod stats;
pub mod tally;
pub mod wait;
