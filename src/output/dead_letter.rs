//! `--dead-letter FILE`: shed items appended whole, in the order they were shed, up to
//! `--dead-letter-max`; past that, or after a write error, they are only counted.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::books::tally::Tally;

/// Bytes gathered before a write to the file (also written when the writer catches up, and
/// at the end).
const BUFFER: usize = 64 * 1024;

#[derive(Debug)]
pub struct DeadLetter {
    file: Option<File>,
    buffer: Vec<u8>,
    /// The items in `buffer`.
    buffered: Tally,
    /// Bytes the file may still take.
    room: u64,
    /// The first write error, to be told once.
    error: Option<io::Error>,
}

impl DeadLetter {
    /// Opens `path` for appending, created with mode 0600 if absent.
    pub fn open(path: &Path, max: u64) -> io::Result<DeadLetter> {
        let file = OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(path)?;
        Ok(DeadLetter {
            file: Some(file),
            buffer: Vec::new(),
            buffered: Tally::ZERO,
            room: max,
            error: None,
        })
    }

    /// Gathers a shed item if there is room for all of it; [`DeadLetter::flush`] writes it.
    pub fn take(&mut self, item: &[u8]) {
        if self.file.is_none() || item.len() as u64 > self.room {
            return;
        }
        self.room -= item.len() as u64;
        self.buffer.extend_from_slice(item);
        self.buffered += Tally::one(item.len());
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
                self.error = Some(e);
                self.file = None;
                Tally::ZERO
            }
        };
        self.buffer.clear();
        self.buffered = Tally::ZERO;
        written
    }

    /// The write error that stopped dead-lettering, once.
    pub fn take_error(&mut self) -> Option<io::Error> {
        self.error.take()
    }
}
