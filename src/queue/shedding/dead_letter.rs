//! `--dead-letter FILE`: shed items appended whole, in the order they were shed, up to
//! `--dead-letter-max`; past that, or after a write error, they are only counted.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use bytesize::ByteSize;

use crate::books::tally::Tally;
use crate::values::stdio::is_dev_null;

/// Bytes gathered before a write to the file (also written when the writer catches up, and
/// at the end).
const BUFFER: usize = 64 * 1024;

#[derive(Debug)]
pub struct DeadLetter {
    delim: Option<u8>,
    /// `None` after a write error: nothing more is taken.
    file: Option<File>,
    buffer: Vec<u8>,
    /// The items in `buffer`.
    buffered: Tally,
    /// Where each item in `buffer` ends (its delimiter included), and its size: after a
    /// write that failed part-way, what reached the file is cut back to whole items and
    /// exactly those are counted.
    ends: Vec<(usize, u64)>,
    /// The file's length as bpipe wrote it (a regular file; `None` for `/dev/null`).
    len: Option<u64>,
    /// Bytes the file may still take; once an item did not fit, none more is taken.
    room: u64,
    full: bool,
    max: u64,
    /// What to tell the user, once: a write error, or the limit reached.
    notice: Option<String>,
}

impl DeadLetter {
    /// Opens `path` for appending, created with mode 0600 if absent. Only a regular file or
    /// `/dev/null` will do (not another device: `/dev/kmsg` would log shed items, `/dev/full`
    /// fail them): its writes happen while shedding,
    /// and a FIFO's reader or a paused terminal could hold them up (opened without
    /// waiting, so a FIFO with no reader is refused, not waited for).
    /// `delim` ends an item that has none (a last line without its newline), so the file
    /// stays whole lines; `None` for chunks.
    pub fn open(path: &Path, max: u64, delim: Option<u8>) -> io::Result<DeadLetter> {
        let file = OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
            .map_err(|e| match e.raw_os_error() {
                // A FIFO with no reader.
                Some(libc::ENXIO) => io::Error::other("not a regular file"),
                _ => e,
            })?;
        let meta = file.metadata()?;
        if !(meta.is_file() || is_dev_null(&meta)) {
            return Err(io::Error::other("not a regular file (or /dev/null)"));
        }
        Ok(DeadLetter {
            delim,
            file: Some(file),
            buffer: Vec::new(),
            buffered: Tally::ZERO,
            ends: Vec::new(),
            len: meta.is_file().then_some(meta.len()),
            room: max,
            full: false,
            max,
            notice: None,
        })
    }

    /// Gathers a shed item if there is room for all of it; [`DeadLetter::flush`] writes it.
    pub fn take(&mut self, item: &[u8]) {
        if self.file.is_none() || self.full {
            return;
        }
        if item.len() as u64 > self.room {
            self.full = true;
            self.notice = Some(format!(
                "{} written, --dead-letter-max reached; shed items are only counted from now on",
                ByteSize(self.max - self.room).display().iec()
            ));
            return;
        }
        self.room -= item.len() as u64;
        self.buffer.extend_from_slice(item);
        self.buffered += Tally::one(item.len());
        if let Some(delim) = self.delim.filter(|&d| item.last() != Some(&d)) {
            self.buffer.push(delim);
        }
        self.ends.push((self.buffer.len(), item.len() as u64));
    }

    /// Whether a buffer's worth has gathered.
    pub fn is_full(&self) -> bool {
        self.buffer.len() >= BUFFER
    }

    /// Whether anything has gathered.
    pub fn has_some(&self) -> bool {
        !self.buffer.is_empty()
    }

    /// Writes what is gathered; returns the items that went into the file. After an error
    /// (a full disk), what reached the file is cut back to whole items, exactly those count,
    /// and nothing more is taken. bpipe must be the file's only writer.
    pub fn flush(&mut self) -> Tally {
        let Some(file) = self.file.as_mut() else {
            return Tally::ZERO;
        };
        let (done, failed) = write_what_goes(file, &self.buffer);
        let written = match failed {
            None => {
                self.len = self.len.map(|len| len + done as u64);
                self.buffered
            }
            Some(e) => {
                let whole = self.ends.partition_point(|&(end, _)| end <= done);
                let whole_end = whole.checked_sub(1).map_or(0, |i| self.ends[i].0);
                if let Some(len) = self.len.as_mut() {
                    *len += whole_end as u64;
                    if done > whole_end {
                        // The torn item goes: the file holds whole items only.
                        let _ = file.set_len(*len);
                    }
                }
                self.notice = Some(format!(
                    "{}; shed items are only counted from now on",
                    crate::values::reason(&e)
                ));
                self.file = None;
                let bytes: u64 = self.ends[..whole].iter().map(|&(_, bytes)| bytes).sum();
                Tally {
                    items: whole as u64,
                    bytes,
                }
            }
        };
        self.buffer.clear();
        self.ends.clear();
        self.buffered = Tally::ZERO;
        written
    }

    /// The file's device and inode: it must not be an input, stdout or the stats file.
    pub fn identity(&self) -> Option<(u64, u64)> {
        use std::os::unix::fs::MetadataExt;
        let meta = self.file.as_ref()?.metadata().ok()?;
        Some((meta.dev(), meta.ino()))
    }

    /// What to tell the user about the file, once.
    pub fn take_notice(&mut self) -> Option<String> {
        self.notice.take()
    }
}

/// Writes `bytes` to `file` as far as it takes them: how many went, and the error that
/// stopped it, if one did.
fn write_what_goes(file: &mut File, bytes: &[u8]) -> (usize, Option<io::Error>) {
    let mut done = 0;
    while done < bytes.len() {
        match file.write(&bytes[done..]) {
            Ok(0) => return (done, Some(io::ErrorKind::WriteZero.into())),
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (done, Some(e)),
        }
    }
    (done, None)
}
