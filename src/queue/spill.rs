//! `--spill DIR`: the disk tier. When the queue is full under pressure, reads go to segment
//! files in DIR instead of holding the producer; the writer reads them back in input order.
//! Segments are created unlinked (`O_TMPFILE`, or created and unlinked at once, mode 0600):
//! nothing is left behind, even after `SIGKILL`. A segment is freed once it is read.

use std::collections::VecDeque;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use self::record::{HEADER, Header, write_all_at};
use crate::batch::Batch;

/// Headers kept in memory for the reads back: 768 KiB of them, a GiB of spill in 64 KiB
/// batches.
const MAX_HEADERS: usize = 16384;

mod record;

pub use self::record::OnDisk;

/// Why a batch did not go to disk.
#[derive(Debug)]
pub enum Refused {
    /// The spill holds `--spill-max` already.
    Full,
    /// A write failed (`ENOSPC`, `EIO`): the spill takes nothing more.
    Failed(io::Error),
}

/// See [`Spill::mark`].
#[derive(Debug)]
pub struct Mark {
    segments: usize,
    written: u64,
    disk_bytes: u64,
    batches: usize,
    head: Option<Header>,
    headers: usize,
}

#[derive(Debug)]
struct Segment {
    /// Shared with the batch the writer has taken from it, if any ([`OnDisk`]).
    file: Arc<File>,
    /// Bytes written, and bytes read back.
    written: u64,
    read: u64,
}

/// Whether the spill takes reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Intake {
    Open,
    /// A read found the spill full: nothing more is taken until a segment is freed, so that
    /// what is shed is one run, not scattered among smaller reads that still fit.
    Full,
    /// A write (or read) failed: nothing more is taken; what is on disk is still read back.
    Failed,
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
    /// The headers of the batches after `head`, in order, as they were written: the first
    /// `headers.len()` of them, at most `MAX_HEADERS` (beyond, each is read from disk).
    headers: VecDeque<Header>,
    base: Instant,
    /// Whether the spill takes more.
    intake: Intake,
    /// What to tell the user once.
    notice: Option<String>,
}

impl Spill {
    /// A spill in `dir` of at most `max` bytes. Fails if `dir` cannot take a segment file.
    pub fn new(dir: &Path, max: u64) -> io::Result<Spill> {
        let probe = segment_file(dir)?;
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
            headers: VecDeque::new(),
            base: Instant::now(),
            intake: Intake::Open,
            notice: None,
        })
    }

    /// `--spill-max`.
    pub fn max(&self) -> u64 {
        self.max
    }

    /// Whether a write failed (the disk is full): nothing more is taken.
    pub fn has_failed(&self) -> bool {
        self.intake == Intake::Failed
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
        record_len(batch) <= self.room()
    }

    /// Bytes of records the spill would take now.
    pub fn room(&self) -> u64 {
        match self.intake {
            Intake::Open => self.max.saturating_sub(self.disk_bytes),
            Intake::Full | Intake::Failed => 0,
        }
    }

    /// Where the end of the spill stands, to go back to ([`Spill::rollback`]) if a run of
    /// batches cannot all be written.
    pub fn mark(&self) -> Mark {
        Mark {
            segments: self.segments.len(),
            written: self.segments.back().map_or(0, |s| s.written),
            disk_bytes: self.disk_bytes,
            batches: self.batches,
            head: self.head,
            headers: self.headers.len(),
        }
    }

    /// Forgets the batches written since `mark`, freeing their space.
    pub fn rollback(&mut self, mark: Mark) {
        self.segments.truncate(mark.segments);
        if let Some(last) = self.segments.back_mut()
            && last.written > mark.written
        {
            // What is cut was never taken: no batch taken from the segment reaches it.
            let _ = last.file.set_len(mark.written);
            last.written = mark.written;
        }
        (self.disk_bytes, self.batches, self.head) = (mark.disk_bytes, mark.batches, mark.head);
        self.headers.truncate(mark.headers);
    }

    /// When the oldest batch on disk arrived.
    pub fn oldest(&self) -> Option<Instant> {
        let head = self.head.as_ref()?;
        self.base.checked_add(Duration::from_nanos(head.arrived))
    }

    /// Writes `batch` at the end of the spill: its header and item ends (none when they can
    /// be found again by the delimiter), then its bytes as they are, in one write.
    pub fn push(&mut self, batch: &Batch) -> Result<(), Refused> {
        if !self.takes(batch) {
            if self.intake == Intake::Open && self.batches > 0 {
                self.intake = Intake::Full;
            }
            return Err(Refused::Full);
        }
        let arrived = batch.arrived.map_or(0, |t| {
            t.saturating_duration_since(self.base).as_nanos() as u64
        });
        let header = Header::of(batch, arrived);
        let front = header.front(batch);
        let start_new = self
            .segments
            .back()
            .is_none_or(|s| s.written >= self.segment_size);
        let result = (|| {
            if start_new {
                self.segments.push_back(Segment {
                    file: Arc::new(segment_file(&self.dir)?),
                    written: 0,
                    read: 0,
                });
            }
            let segment = self.segments.back_mut().expect("a segment");
            write_all_at(&segment.file, &[&front, batch.as_bytes()], segment.written)?;
            segment.written += header.record_len();
            Ok(())
        })();
        match result {
            Ok(()) => {
                self.disk_bytes += header.record_len();
                self.batches += 1;
                // Kept in memory while every header after the head is (the reads back take
                // them from here), up to MAX_HEADERS.
                if self.batches == 1 {
                    self.head = Some(header);
                } else if self.headers.len() + 2 == self.batches && self.headers.len() < MAX_HEADERS
                {
                    self.headers.push_back(header);
                }
                Ok(())
            }
            Err(e) => {
                // A segment begun for nothing is dropped (freeing what it took).
                if self.segments.back().is_some_and(|s| s.written == 0) {
                    self.segments.pop_back();
                }
                self.intake = Intake::Failed;
                self.notice = Some(format!(
                    "--spill: {}; the spill counts as full from now on",
                    crate::values::reason(&e)
                ));
                Err(Refused::Failed(e))
            }
        }
    }

    /// Takes the oldest batch off the spill with its bytes left on disk, and reads the next
    /// batch's header ahead. Its segment is kept until the batch is given back
    /// ([`Spill::release`]).
    pub fn take(&mut self) -> io::Result<Option<OnDisk>> {
        let Some(header) = self.head.take() else {
            return Ok(None);
        };
        // The first segment not read to the end (one before it may be kept for the writer).
        let segment = self
            .segments
            .iter_mut()
            .find(|s| s.read < s.written)
            .expect("a segment under the head");
        let disk = OnDisk {
            file: Arc::clone(&segment.file),
            header,
            at: segment.read,
            base: self.base,
            spare: None,
        };
        segment.read += header.record_len();
        self.batches -= 1;
        if let Some(next) = self.headers.pop_front() {
            self.head = Some(next);
        } else if self.batches > 0 {
            let next = self
                .segments
                .iter()
                .find(|s| s.read < s.written)
                .expect("a segment with batches");
            let mut raw = [0u8; HEADER];
            next.file.read_exact_at(&mut raw, next.read)?;
            self.head = Some(Header::decode(&raw));
        }
        Ok(Some(disk))
    }

    /// The writer is done with `disk`: segments read to the end that no batch taken from
    /// them still needs are freed. Disk space comes back a segment at a time.
    pub fn release(&mut self, disk: OnDisk) {
        drop(disk);
        while let Some(segment) = self.segments.front()
            && segment.read >= segment.written
            && Arc::strong_count(&segment.file) == 1
        {
            self.disk_bytes -= segment.written;
            self.reopen();
            self.segments.pop_front();
        }
    }

    /// Reads the oldest batch back into memory (into `buffer`'s allocation if it is large
    /// enough), freeing its segment once read to the end.
    pub fn pop(&mut self, buffer: Vec<u8>) -> io::Result<Option<Batch>> {
        let Some(disk) = self.take()? else {
            return Ok(None);
        };
        let mut disk = disk;
        disk.spare = Some(buffer);
        let batch = disk.load();
        self.release(disk);
        batch.map(Some)
    }

    /// A read failed: what is on disk is lost (the caller counts it undelivered), and the
    /// spill takes nothing more.
    pub fn lost(&mut self, error: &io::Error) {
        self.clear();
        self.intake = Intake::Failed;
        self.notice = Some(format!(
            "--spill: reading back failed: {}; what was on disk is undelivered",
            crate::values::reason(error)
        ));
    }

    /// Forgets what is on disk (the output closed: it is undelivered), freeing it.
    pub fn clear(&mut self) {
        self.segments.clear();
        (self.disk_bytes, self.batches, self.head) = (0, 0, None);
        self.headers.clear();
        self.reopen();
    }

    /// A segment was freed: a spill that was full takes reads again (not one that failed).
    fn reopen(&mut self) {
        if self.intake == Intake::Full {
            self.intake = Intake::Open;
        }
    }

    /// What to tell the user about the spill, once.
    pub fn take_notice(&mut self) -> Option<String> {
        self.notice.take()
    }
}

/// A new segment file in `dir`, private (mode 0600) and unlinked: `O_TMPFILE` where the
/// file system has it (`tempfile` would create it with the umask's mode), else created
/// and unlinked at once.
fn segment_file(dir: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let unlinked = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .mode(0o600)
        .custom_flags(libc::O_TMPFILE)
        .open(dir);
    match unlinked {
        Err(e) if matches!(e.raw_os_error(), Some(libc::EOPNOTSUPP | libc::EISDIR)) => {
            tempfile::tempfile_in(dir)
        }
        result => result,
    }
}

/// Bytes a batch takes on disk.
pub fn record_len(batch: &Batch) -> u64 {
    Header::of(batch, 0).record_len()
}

#[cfg(test)]
mod tests;
