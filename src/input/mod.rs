//! Reading and framing: stdin → items, a batch per read.

pub mod files;
pub mod framing;
pub mod pass;
pub mod reader;
