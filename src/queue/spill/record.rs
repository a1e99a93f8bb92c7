//! A batch on disk: its header, its item ends (unless they can be found again by the
//! delimiter), then its bytes as they are. And a batch taken off the spill with its bytes
//! still on disk ([`OnDisk`]), for the writer to splice to stdout without copying them.

use std::fs::File;
use std::io::{self, IoSlice};
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::batch::Batch;
use crate::books::tally::Tally;

/// Bytes of the header before each batch.
pub(super) const HEADER: usize = 6 * 8;

/// Flags in the header's last field.
const KEPT: u64 = 1;
/// No item ends are stored: every item ends with the delimiter in bits 8 to 15.
const BY_DELIM: u64 = 2;
/// Its first item was counted spared (`Batch::spared`).
const SPARED: u64 = 1 << 16;

/// A batch's header on disk.
#[derive(Clone, Copy, Debug)]
pub(super) struct Header {
    pub items: usize,
    pub bytes: usize,
    pub pos: Tally,
    /// Nanoseconds after the spill began.
    pub arrived: u64,
    pub kept: bool,
    pub spared: bool,
    /// The delimiter that ends every item, when no ends are stored.
    pub delim: Option<u8>,
}

impl Header {
    pub fn of(batch: &Batch, arrived: u64) -> Header {
        Header {
            items: batch.items(),
            bytes: batch.bytes(),
            pos: batch.pos,
            arrived,
            kept: batch.kept,
            spared: batch.spared,
            delim: batch.unindexed_delim(),
        }
    }

    pub fn encode(&self) -> [u8; HEADER] {
        let by_delim = self.delim.map_or(0, |d| BY_DELIM | (u64::from(d) << 8));
        let flags = (u64::from(self.kept) * KEPT) | (u64::from(self.spared) * SPARED) | by_delim;
        let fields = [
            self.items as u64,
            self.bytes as u64,
            self.pos.items,
            self.pos.bytes,
            self.arrived,
            flags,
        ];
        let mut out = [0u8; HEADER];
        for (chunk, field) in out.chunks_exact_mut(8).zip(fields) {
            chunk.copy_from_slice(&field.to_le_bytes());
        }
        out
    }

    pub fn decode(raw: &[u8; HEADER]) -> Header {
        let field = |i: usize| u64::from_le_bytes(raw[i * 8..i * 8 + 8].try_into().unwrap());
        let flags = field(5);
        Header {
            items: field(0) as usize,
            bytes: field(1) as usize,
            pos: Tally {
                items: field(2),
                bytes: field(3),
            },
            arrived: field(4),
            kept: flags & KEPT != 0,
            spared: flags & SPARED != 0,
            delim: (flags & BY_DELIM != 0).then_some((flags >> 8) as u8),
        }
    }

    /// Bytes of item ends stored after the header.
    pub fn ends_len(&self) -> usize {
        match self.delim {
            Some(_) => 0,
            None => 8 * self.items,
        }
    }

    /// Bytes the record takes on disk.
    pub fn record_len(&self) -> u64 {
        (HEADER + self.ends_len() + self.bytes) as u64
    }

    /// The header and item ends, ready to be written before the batch's bytes.
    pub fn front(&self, batch: &Batch) -> Vec<u8> {
        let mut front = Vec::with_capacity(HEADER + self.ends_len());
        front.extend_from_slice(&self.encode());
        if self.delim.is_none() {
            let mut end = 0u64;
            for len in batch.iter().map(<[u8]>::len) {
                end += len as u64;
                front.extend_from_slice(&end.to_le_bytes());
            }
        }
        front
    }
}

/// The oldest batch taken off the spill, its bytes left in its segment: the writer splices
/// them out ([`OnDisk::bytes_at`]), or loads the batch ([`OnDisk::load`]) when it must
/// look at its items. Its segment is not freed before it is given back to the spill.
#[derive(Debug)]
pub struct OnDisk {
    pub(super) file: Arc<File>,
    pub(super) header: Header,
    /// Where the record starts in the file.
    pub(super) at: u64,
    pub(super) base: Instant,
    /// A recycled buffer to load it into, if the writer must (given back on release).
    pub(in crate::queue) spare: Option<Vec<u8>>,
}

impl OnDisk {
    pub fn tally(&self) -> Tally {
        Tally::new(self.header.items, self.header.bytes)
    }

    /// When its items were read.
    pub fn arrived(&self) -> Option<Instant> {
        self.base
            .checked_add(Duration::from_nanos(self.header.arrived))
    }

    /// The file, and where in it the batch's bytes are: `(file, offset, len)`.
    pub fn bytes_at(&self) -> (&File, u64, usize) {
        let data = self.at + (HEADER + self.header.ends_len()) as u64;
        (&self.file, data, self.header.bytes)
    }

    /// Reads the batch into memory (into a recycled buffer, if the queue gave it one).
    pub fn load(&mut self) -> io::Result<Batch> {
        let mut data = self.spare.take().unwrap_or_default();
        let header = &self.header;
        let (file, at, len) = self.bytes_at();
        data.clear();
        data.resize(len, 0);
        file.read_exact_at(&mut data, at)?;
        let mut batch = match header.delim {
            Some(delim) => Batch::delimited(data, header.items, delim),
            None => {
                let mut ends = vec![0u8; header.ends_len()];
                file.read_exact_at(&mut ends, self.at + HEADER as u64)?;
                let ends = ends
                    .chunks_exact(8)
                    .map(|e| u64::from_le_bytes(e.try_into().unwrap()) as usize);
                Batch::from_parts(data, ends)
            }
        };
        batch.pos = header.pos;
        batch.arrived = self.arrived();
        batch.kept = header.kept;
        batch.spared = header.spared;
        Ok(batch)
    }
}

/// Writes all of `bufs` at `offset`: one `pwritev` unless the file takes less.
pub(super) fn write_all_at(file: &File, bufs: &[&[u8]], mut offset: u64) -> io::Result<()> {
    let mut slices: Vec<IoSlice<'_>> = bufs.iter().map(|b| IoSlice::new(b)).collect();
    let mut slices = &mut slices[..];
    IoSlice::advance_slices(&mut slices, 0);
    while !slices.is_empty() {
        // SAFETY: IoSlice is ABI-compatible with iovec; the slices outlive the call.
        let n = unsafe {
            libc::pwritev(
                file.as_raw_fd(),
                slices.as_ptr().cast(),
                slices.len().min(1024) as libc::c_int,
                offset as libc::off_t,
            )
        };
        match n {
            n if n < 0 => {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
            0 => return Err(io::ErrorKind::WriteZero.into()),
            n => {
                offset += n as u64;
                IoSlice::advance_slices(&mut slices, n as usize);
            }
        }
    }
    Ok(())
}
