//! What bounds the queue, and how much the writer takes at once.

use std::fmt;

use bytesize::ByteSize;

/// The queue's two bounds; whichever is reached first makes it full.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bounds {
    pub items: usize,
    pub bytes: usize,
}

/// Which bound was reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bound {
    Items(usize),
    Bytes(usize),
    /// `--spill-max`, with the queue full too.
    Spill(u64),
    /// The spill's disk failed or filled (`ENOSPC`) before `--spill-max`.
    Disk,
}

impl fmt::Display for Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Bound::Items(n) => write!(f, "--cap {n} items"),
            Bound::Bytes(n) => write!(f, "--cap-bytes {}", ByteSize(n as u64).display().iec()),
            Bound::Spill(n) => write!(f, "--spill-max {}", ByteSize(n).display().iec()),
            Bound::Disk => f.write_str("the free space of the --spill disk"),
        }
    }
}

/// How much the writer takes from the queue at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Take {
    /// At most this many items…
    pub items: usize,
    /// …and bytes (but always at least one item)…
    pub bytes: usize,
    /// …in at most this many batches.
    pub batches: usize,
    /// Whether a batch may be split to meet the limits exactly; if not, whole batches are
    /// taken while they fit, and at least one whatever its size.
    pub split: bool,
    /// How the writer takes what is on disk.
    pub disk: Disk,
}

/// How the writer takes batches on disk (`--spill`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disk {
    /// Loaded into memory, as every other batch.
    Load,
    /// The oldest, whole, its bytes left on disk for the writer to splice (when the queue
    /// may give it so: see `Queue::take`).
    Splice,
}

impl Take {
    /// Everything, whole batches only.
    pub const ALL: Take = Take {
        items: usize::MAX,
        bytes: usize::MAX,
        batches: usize::MAX,
        split: false,
        disk: Disk::Load,
    };
}
