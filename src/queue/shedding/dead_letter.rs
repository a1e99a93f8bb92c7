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
    }

    /// Whether a buffer's worth has gathered.
    pub fn is_full(&self) -> bool {
        self.buffer.len() >= BUFFER
    }

    /// Whether anything has gathered.
    pub fn has_some(&self) -> bool {
        !self.buffer.is_empty()
    }

    /// Writes what is gathered; returns the items that went into the file. After an error,
    /// nothing more is taken, and the items of the failed write count as not dead-lettered
    /// (even if part of them reached the file).
    pub fn flush(&mut self) -> Tally {
        let Some(file) = self.file.as_mut() else {
            return Tally::ZERO;
        };
        let written = match file.write_all(&self.buffer) {
            Ok(()) => self.buffered,
            Err(e) => {
                self.notice = Some(format!(
                    "{}; shed items are only counted from now on",
                    crate::values::reason(&e)
                ));
                self.file = None;
                Tally::ZERO
            }
        };
        self.buffer.clear();
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
