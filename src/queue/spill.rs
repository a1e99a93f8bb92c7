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

/// Bytes of the header before each batch: items, bytes, position (items, bytes), arrival
/// (nanoseconds after the spill began), flags; then each item's end (8 bytes), then the data.
const HEADER: usize = 6 * 8;

/// Why a batch did not go to disk.
#[derive(Debug)]
pub enum Refused {
    /// The spill holds `--spill-max` already.
    Full,
    /// A write failed (`ENOSPC`, `EIO`): the spill takes nothing more.
    Failed(io::Error),
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
    base: Instant,
    /// After a write error nothing more is taken; what is on disk is still read back.
    failed: bool,
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
            base: Instant::now(),
            failed: false,
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
        !self.failed && self.disk_bytes + record_len(batch) <= self.max
    }

    /// Writes `batch` at the end of the spill.
    pub fn push(&mut self, batch: &mut Batch) -> Result<(), Refused> {
        if self.failed || self.disk_bytes + record_len(batch) > self.max {
            return Err(Refused::Full);
        }
        let record = self.encode(batch);
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
            segment.file.write_all_at(&record, segment.written)?;
            segment.written += record.len() as u64;
            Ok(())
        })();
        match result {
            Ok(()) => {
                self.disk_bytes += record.len() as u64;
                self.batches += 1;
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

    /// Reads the oldest batch back (into `buffer`'s allocation if it is large enough), and
    /// frees its segment once read to the end.
    pub fn pop(&mut self, buffer: Vec<u8>) -> io::Result<Option<Batch>> {
        let only = self.segments.len() == 1;
        let Some(segment) = self.segments.front_mut() else {
            return Ok(None);
        };
        if segment.read >= segment.written {
            return Ok(None);
        }
        let mut header = [0u8; HEADER];
        segment.file.read_exact_at(&mut header, segment.read)?;
        let field = |i: usize| u64::from_le_bytes(header[i * 8..i * 8 + 8].try_into().unwrap());
        let (items, bytes) = (field(0) as usize, field(1) as usize);
        let mut ends = vec![0u8; items * 8];
        segment
            .file
            .read_exact_at(&mut ends, segment.read + HEADER as u64)?;
        let mut data = buffer;
        data.clear();
        data.resize(bytes, 0);
        let at = segment.read + (HEADER + ends.len()) as u64;
        segment.file.read_exact_at(&mut data, at)?;
        let len = (HEADER + ends.len() + bytes) as u64;
        segment.read += len;
        self.batches -= 1;
        // Disk space comes back a segment at a time, once it is read to the end.
        if segment.read >= segment.written {
            self.disk_bytes -= segment.written;
            if only {
                // The only segment: start it over (freeing its blocks).
                segment.file.set_len(0)?;
                (segment.read, segment.written) = (0, 0);
            } else {
                self.segments.pop_front();
            }
        }
        let ends = ends
            .chunks_exact(8)
            .map(|e| u64::from_le_bytes(e.try_into().unwrap()) as usize);
        let mut batch = Batch::from_parts(data, ends);
        batch.pos = Tally {
            items: field(2),
            bytes: field(3),
        };
        batch.arrived = self.base.checked_add(Duration::from_nanos(field(4)));
        batch.kept = field(5) & 1 == 1;
        Ok(Some(batch))
    }

    fn encode(&self, batch: &mut Batch) -> Vec<u8> {
        let arrived = batch.arrived.map_or(0, |t| {
            t.saturating_duration_since(self.base).as_nanos() as u64
        });
        let mut record = Vec::with_capacity(record_len(batch) as usize);
        for field in [
            batch.items() as u64,
            batch.bytes() as u64,
            batch.pos.items,
            batch.pos.bytes,
            arrived,
            u64::from(batch.kept),
        ] {
            record.extend_from_slice(&field.to_le_bytes());
        }
        let mut end = 0u64;
        for len in batch.iter().map(<[u8]>::len) {
            end += len as u64;
            record.extend_from_slice(&end.to_le_bytes());
        }
        record.extend_from_slice(batch.as_bytes());
        record
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
        (self.disk_bytes, self.batches) = (0, 0);
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
