//! `--spill DIR`: the disk tier. When the queue is full under pressure, reads go to segment
//! files in DIR instead of holding the producer; the writer reads them back in input order.
//! Segments are created unlinked (`O_TMPFILE`, or created and unlinked at once, mode 0600):
//! nothing is left behind, even after `SIGKILL`. A segment is freed once it is read.

use std::collections::VecDeque;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::books::tally::Tally;
use crate::input::batch::Batch;

/// Bytes of the header before each batch (see [`Header`]); then each item's end (8 bytes),
/// then the data.
const HEADER: usize = 6 * 8;

/// Why a batch did not go to disk.
#[derive(Debug)]
pub enum Refused {
    /// The spill holds `--spill-max` already.
    Full,
    /// A write failed (`ENOSPC`, `EIO`): the spill takes nothing more.
    Failed(io::Error),
}

/// A batch's header on disk.
#[derive(Clone, Copy, Debug)]
struct Header {
    items: usize,
    bytes: usize,
    pos: Tally,
    /// Nanoseconds after the spill began.
    arrived: u64,
    kept: bool,
}

impl Header {
    fn of(batch: &Batch, arrived: u64) -> Header {
        Header {
            items: batch.items(),
            bytes: batch.bytes(),
            pos: batch.pos,
            arrived,
            kept: batch.kept,
        }
    }

    fn encode(&self) -> [u8; HEADER] {
        let fields = [
            self.items as u64,
            self.bytes as u64,
            self.pos.items,
            self.pos.bytes,
            self.arrived,
            u64::from(self.kept),
        ];
        let mut out = [0u8; HEADER];
        for (chunk, field) in out.chunks_exact_mut(8).zip(fields) {
            chunk.copy_from_slice(&field.to_le_bytes());
        }
        out
    }

    fn decode(raw: &[u8; HEADER]) -> Header {
        let field = |i: usize| u64::from_le_bytes(raw[i * 8..i * 8 + 8].try_into().unwrap());
        Header {
            items: field(0) as usize,
            bytes: field(1) as usize,
            pos: Tally {
                items: field(2),
                bytes: field(3),
            },
            arrived: field(4),
            kept: field(5) & 1 == 1,
        }
    }

    /// Bytes the record takes on disk.
    fn record_len(&self) -> u64 {
        (HEADER + 8 * self.items + self.bytes) as u64
    }
}

#[derive(Debug)]
struct Segment {
    file: File,
    /// Bytes written, and bytes read back.
    written: u64,
    read: u64,
}

#[derive(Debug)]
pub struct Spill {
    dir: PathBuf,
    /// Most bytes on disk (headers included).
    max: u64,
    segment_size: u64,
    segments: VecDeque<Segment>,
    /// Bytes the segments take on disk now (headers, and what was read back but not yet
    /// freed, included): what `max` bounds. And the batches not yet read back.
    disk_bytes: u64,
    batches: usize,
    /// The header of the oldest batch on disk, read ahead: its age, and the next read.
    head: Option<Header>,
    base: Instant,
    /// After a write error nothing more is taken; what is on disk is still read back.
    failed: bool,
    /// A read found the spill full: nothing more is taken until a segment is freed, so that
    /// what is shed is one run, not scattered among smaller reads that still fit.
    room_gone: bool,
    /// What to tell the user once.
    notice: Option<String>,
}

impl Spill {
    /// A spill in `dir` of at most `max` bytes. Fails if `dir` cannot take a segment file.
    pub fn new(dir: &Path, max: u64) -> io::Result<Spill> {
        let probe = tempfile::tempfile_in(dir)?;
        // A disk with no room at all is refused now rather than at the first spill.
        probe.write_all_at(&[0; 4096], 0)?;
        drop(probe);
        Ok(Spill {
            dir: dir.to_path_buf(),
            max,
            segment_size: (max / 8).clamp(1 << 20, 64 << 20),
            segments: VecDeque::new(),
            disk_bytes: 0,
            batches: 0,
            head: None,
            base: Instant::now(),
            failed: false,
            room_gone: false,
            notice: None,
        })
    }

    /// `--spill-max`.
    pub fn max(&self) -> u64 {
        self.max
    }

    /// Whether a write failed (the disk is full): nothing more is taken.
    pub fn has_failed(&self) -> bool {
        self.failed
    }

    pub fn is_empty(&self) -> bool {
        self.batches == 0
    }

    /// Bytes on disk now, headers included.
    pub fn disk_bytes(&self) -> u64 {
        self.disk_bytes
    }

    /// Whether `batch` would go to disk now (room, and no write error so far).
    pub fn takes(&self, batch: &Batch) -> bool {
        !self.failed && !self.room_gone && self.disk_bytes + record_len(batch) <= self.max
    }

    /// When the oldest batch on disk arrived.
    pub fn oldest(&self) -> Option<Instant> {
        let head = self.head.as_ref()?;
        self.base.checked_add(Duration::from_nanos(head.arrived))
    }

    /// Writes `batch` at the end of the spill: its header and item ends, then its bytes as
    /// they are (two writes, no copy).
    pub fn push(&mut self, batch: &Batch) -> Result<(), Refused> {
        if !self.takes(batch) {
            self.room_gone |= self.batches > 0 && !self.failed;
            return Err(Refused::Full);
        }
        let arrived = batch.arrived.map_or(0, |t| {
            t.saturating_duration_since(self.base).as_nanos() as u64
        });
        let header = Header::of(batch, arrived);
        let mut front = Vec::with_capacity(HEADER + 8 * batch.items());
        front.extend_from_slice(&header.encode());
        let mut end = 0u64;
        for len in batch.iter().map(<[u8]>::len) {
            end += len as u64;
            front.extend_from_slice(&end.to_le_bytes());
        }
        let start_new = self
            .segments
            .back()
            .is_none_or(|s| s.written >= self.segment_size);
        let result = (|| {
            if start_new {
                self.segments.push_back(Segment {
                    file: tempfile::tempfile_in(&self.dir)?,
                    written: 0,
                    read: 0,
                });
            }
            let segment = self.segments.back_mut().expect("a segment");
            segment.file.write_all_at(&front, segment.written)?;
            let at = segment.written + front.len() as u64;
            segment.file.write_all_at(batch.as_bytes(), at)?;
            segment.written = at + batch.bytes() as u64;
            Ok(())
        })();
        match result {
            Ok(()) => {
                self.disk_bytes += header.record_len();
                self.batches += 1;
                if self.batches == 1 {
                    self.head = Some(header);
                }
                Ok(())
            }
            Err(e) => {
                // A segment begun for nothing is dropped (freeing what it took).
                if self.segments.back().is_some_and(|s| s.written == 0) {
                    self.segments.pop_back();
                }
                self.failed = true;
                self.notice = Some(format!(
                    "--spill: {}; the spill counts as full from now on",
                    crate::report::reason(&e)
                ));
                Err(Refused::Failed(e))
            }
        }
    }

    /// Reads the oldest batch back (into `buffer`'s allocation if it is large enough), frees
    /// its segment once read to the end, and reads the next batch's header ahead.
    pub fn pop(&mut self, buffer: Vec<u8>) -> io::Result<Option<Batch>> {
        let Some(header) = self.head else {
            return Ok(None);
        };
        let only = self.segments.len() == 1;
        let segment = self.segments.front_mut().expect("a segment under the head");
        let mut ends = vec![0u8; header.items * 8];
        segment
            .file
            .read_exact_at(&mut ends, segment.read + HEADER as u64)?;
        let mut data = buffer;
        data.clear();
        data.resize(header.bytes, 0);
        let at = segment.read + (HEADER + ends.len()) as u64;
        segment.file.read_exact_at(&mut data, at)?;
        segment.read += header.record_len();
        self.batches -= 1;
        // Disk space comes back a segment at a time, once it is read to the end.
        if segment.read >= segment.written {
            self.disk_bytes -= segment.written;
            self.room_gone = false;
            if only {
                // The only segment: start it over (freeing its blocks).
                segment.file.set_len(0)?;
                (segment.read, segment.written) = (0, 0);
            } else {
                self.segments.pop_front();
            }
        }
        self.head = None;
        if self.batches > 0 {
            let segment = self.segments.front().expect("a segment with batches");
            let mut raw = [0u8; HEADER];
            segment.file.read_exact_at(&mut raw, segment.read)?;
            self.head = Some(Header::decode(&raw));
        }
        let ends = ends
            .chunks_exact(8)
            .map(|e| u64::from_le_bytes(e.try_into().unwrap()) as usize);
        let mut batch = Batch::from_parts(data, ends);
        batch.pos = header.pos;
        batch.arrived = self.base.checked_add(Duration::from_nanos(header.arrived));
        batch.kept = header.kept;
        Ok(Some(batch))
    }

    /// A read failed: what is on disk is lost (the caller counts it undelivered), and the
    /// spill takes nothing more.
    pub fn lost(&mut self, error: &io::Error) {
        self.clear();
        self.failed = true;
        self.notice = Some(format!(
            "--spill: reading back failed: {}; what was on disk is undelivered",
            crate::report::reason(error)
        ));
    }

    /// Forgets what is on disk (the output closed: it is undelivered), freeing it.
    pub fn clear(&mut self) {
        self.segments.clear();
        (self.disk_bytes, self.batches, self.head) = (0, 0, None);
        self.room_gone = false;
    }

    /// What to tell the user about the spill, once.
    pub fn take_notice(&mut self) -> Option<String> {
        self.notice.take()
    }
}

/// Bytes a batch takes on disk.
fn record_len(batch: &Batch) -> u64 {
    (HEADER + 8 * batch.items() + batch.bytes()) as u64
}

#[cfg(test)]
mod tests;
