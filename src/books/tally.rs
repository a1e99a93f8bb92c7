//! A count of items together with the bytes they hold: the unit of all accounting.

use std::ops::{AddAssign, SubAssign};

/// Items and the bytes they hold. Every counter bpipe keeps is one of these, so that
/// `in = out + dropped + undelivered` can be checked in items and in bytes at once.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub items: u64,
    pub bytes: u64,
}

impl Tally {
    pub const ZERO: Tally = Tally { items: 0, bytes: 0 };

    /// One item of `bytes` bytes.
    pub fn one(bytes: usize) -> Tally {
        Tally {
            items: 1,
            bytes: bytes as u64,
        }
    }

    pub fn new(items: usize, bytes: usize) -> Tally {
        Tally {
            items: items as u64,
            bytes: bytes as u64,
        }
    }

    pub fn is_zero(self) -> bool {
        self.items == 0 && self.bytes == 0
    }

    /// What `self` has beyond `other`, in each field (zero where it has less).
    pub fn beyond(self, other: Tally) -> Tally {
        Tally {
            items: self.items.saturating_sub(other.items),
            bytes: self.bytes.saturating_sub(other.bytes),
        }
    }

    /// The larger of the two in each field: for high-water marks.
    pub fn max(self, other: Tally) -> Tally {
        Tally {
            items: self.items.max(other.items),
            bytes: self.bytes.max(other.bytes),
        }
    }
}

impl AddAssign for Tally {
    fn add_assign(&mut self, other: Tally) {
        self.items += other.items;
        self.bytes += other.bytes;
    }
}

impl SubAssign for Tally {
    fn sub_assign(&mut self, other: Tally) {
        self.items -= other.items;
        self.bytes -= other.bytes;
    }
}

impl std::ops::Add for Tally {
    type Output = Tally;
    fn add(mut self, other: Tally) -> Tally {
        self += other;
        self
    }
}
