//! The store: what the queue holds, and where. Batches in memory (oldest first), the
//! reader's read that did not fit (`parked`, after everything else in order), spare buffers
//! for the reader's next reads, and with `--spill` a disk tier between the two: once
//! anything is on disk, later reads go there until the writer has read the disk back.
//!
//! Whether there is a disk tier is asked here and nowhere else: the rest of the queue asks
//! the store what is on disk ([`Store::on_disk`]) or for the disk itself ([`Store::disk`]).

use std::collections::VecDeque;
use std::time::Instant;

use super::spill::Spill;
use crate::batch::Batch;

/// Buffers kept for reuse: enough for the reader and writer to trade buffers in a steady
/// stream without touching the allocator (fresh pages cost page faults and zeroing).
const MAX_SPARES: usize = 16;
/// Larger buffers (left by a long line) are freed rather than kept.
const MAX_SPARE_LEN: usize = 256 * 1024;
/// Smaller buffers (a short read's copy) are not worth keeping.
const MIN_SPARE_LEN: usize = 16 * 1024;

/// The store's tiers.
#[derive(Debug)]
pub(super) enum Tier {
    /// Memory only.
    Memory,
    /// Memory, then a disk tier (`--spill`).
    Disk(Box<Spill>),
}

#[derive(Debug)]
pub(super) struct Store {
    pub(super) batches: VecDeque<Batch>,
    /// The reader's batch that did not fit and waits whole (see the queue's module doc).
    pub(super) parked: Option<Batch>,
    spares: Vec<Vec<u8>>,
    tier: Tier,
    /// How many batches at the front, and at the back, are known kept (`--keep`): a policy
    /// looking for an unkept item starts past them, so a queue filling up with kept items
    /// does not cost a scan of all of them for each item shed.
    pub(super) kept_front: usize,
    pub(super) kept_back: usize,
}

impl Store {
    pub(super) fn new() -> Store {
        Store {
            batches: VecDeque::new(),
            parked: None,
            spares: Vec::new(),
            tier: Tier::Memory,
            kept_front: 0,
            kept_back: 0,
        }
    }

    /// Adds the disk tier.
    pub(super) fn set_disk(&mut self, spill: Option<Spill>) {
        self.tier = match spill {
            Some(spill) => Tier::Disk(Box::new(spill)),
            None => Tier::Memory,
        };
    }

    /// The disk tier, if there is one.
    pub(super) fn disk(&mut self) -> Option<&mut Spill> {
        match &mut self.tier {
            Tier::Disk(spill) => Some(spill),
            Tier::Memory => None,
        }
    }

    /// The disk tier, to look at.
    pub(super) fn disk_ref(&self) -> Option<&Spill> {
        match &self.tier {
            Tier::Disk(spill) => Some(spill),
            Tier::Memory => None,
        }
    }

    /// Whether anything is on disk.
    pub(super) fn on_disk(&self) -> bool {
        self.disk_ref().is_some_and(|s| !s.is_empty())
    }

    /// Bytes on disk now (headers included).
    pub(super) fn disk_bytes(&self) -> u64 {
        self.disk_ref().map_or(0, Spill::disk_bytes)
    }

    /// When the oldest item on disk arrived.
    pub(super) fn oldest_on_disk(&self) -> Option<Instant> {
        self.disk_ref().and_then(Spill::oldest)
    }

    /// What the disk tier must tell the user (a write or read error), once.
    pub(super) fn disk_notice(&mut self) -> Option<String> {
        self.disk().and_then(Spill::take_notice)
    }

    /// Whether anything waits: queued, parked or on disk.
    pub(super) fn is_empty(&self) -> bool {
        self.batches.is_empty() && self.parked.is_none() && !self.on_disk()
    }

    /// Queues a batch from the reader's hand. A batch the policy thinned out (a long line
    /// shed, a short one kept) is copied out of its large buffer first: memory stays within
    /// the bytes counted.
    pub(super) fn enqueue(&mut self, mut batch: Batch) {
        if batch.is_sparse() {
            batch = batch.compacted();
        }
        self.batches.push_back(batch);
        self.kept_back = 0;
    }

    /// Keeps a batch's buffer for the reader's next read, if it is of a size worth keeping.
    pub(super) fn recycle(&mut self, batch: Batch) {
        let buffer = batch.into_buffer();
        if self.spares.len() < MAX_SPARES && (MIN_SPARE_LEN..=MAX_SPARE_LEN).contains(&buffer.len())
        {
            self.spares.push(buffer);
        }
    }

    /// Keeps a buffer the writer did not need, if there is room for it.
    pub(super) fn give_spare(&mut self, buffer: Vec<u8>) {
        if self.spares.len() < MAX_SPARES {
            self.spares.push(buffer);
        }
    }

    /// A recycled buffer, if there is one.
    pub(super) fn spare(&mut self) -> Option<Vec<u8>> {
        self.spares.pop()
    }

    /// Nothing will be delivered: everything held goes.
    pub(super) fn clear(&mut self) {
        if let Some(spill) = self.disk() {
            spill.clear();
        }
        self.batches.clear();
        (self.kept_front, self.kept_back) = (0, 0);
        self.parked = None;
    }
}
