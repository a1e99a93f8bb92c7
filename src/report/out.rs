//! Where records go, without ever holding the data path or the exit: a thread of its own
//! writes them, each line in one `write()` (so that bpipes sharing a file or a terminal never
//! interleave within a line; files are opened `O_APPEND`), and the monitor hands lines over
//! without waiting. A destination that blocks (a FIFO nobody reads) or fails loses records,
//! and says so: [`Records::finish`] reports it.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError};

use crate::values::stdio::standard_stream;

/// Lines waiting for their thread; more are lost (and counted as lost).
const BACKLOG: usize = 4096;

/// A destination for lines, written by a thread of its own.
pub struct Records {
    lines: Option<Sender<Vec<u8>>>,
    /// Disconnected when the thread is done.
    done: Receiver<()>,
    lost: Arc<AtomicBool>,
}

/// Refuses a file that is one of bpipe's own standard streams: records would mix with the
/// data (stdout), or with themselves (stderr).
fn not_a_standard_stream(meta: &std::fs::Metadata) -> io::Result<()> {
    match standard_stream(meta) {
        Some(stream) => Err(io::Error::other(format!(
            "it is bpipe's {stream}: give the records a file of their own, e.g. --stats-file \
             stats.jsonl"
        ))),
        None => Ok(()),
    }
}

/// Opens `path` for appending. A FIFO with no reader is refused at once, not waited on, and
/// so is one of bpipe's own standard streams.
pub fn open_file(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ENXIO) => io::Error::other("a FIFO that no process is reading"),
            _ => e,
        })?;
    not_a_standard_stream(&file.metadata()?)?;
    // Records are written by their own thread: blocking writes are fine from here on.
    // SAFETY: F_GETFL/F_SETFL on a descriptor we own.
    unsafe {
        use std::os::fd::AsRawFd;
        let flags = libc::fcntl(file.as_raw_fd(), libc::F_GETFL);
        if flags >= 0 {
            libc::fcntl(file.as_raw_fd(), libc::F_SETFL, flags & !libc::O_NONBLOCK);
        }
    }
    Ok(file)
}

/// Stderr written with plain `write(2)`, not through std's `Stderr`: a write blocked on a full
/// stderr then holds no lock that another thread's error line would wait for (and takes no
/// descriptor of its own).
pub struct RawStderr;

impl Write for RawStderr {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // SAFETY: writes from a live slice; stderr is open (std reopens a closed one).
        let n = unsafe { libc::write(libc::STDERR_FILENO, buf.as_ptr().cast(), buf.len()) };
        match n {
            0.. => Ok(n as usize),
            _ => Err(io::Error::last_os_error()),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A file replaced whole by each message: written beside it, then renamed over it, so that
/// a reader (node_exporter's textfile collector) never sees half of one.
pub struct Replace {
    path: std::path::PathBuf,
}

impl Replace {
    /// Refuses a path that is not a regular file (a FIFO, a device, a directory): renaming
    /// over it would destroy it; a symbolic link, which the rename would replace rather than
    /// write through (`/dev/stdout` is one); and one of bpipe's own standard streams.
    pub fn new(path: &Path) -> io::Result<Replace> {
        if let Ok(meta) = std::fs::symlink_metadata(path) {
            let kind = meta.file_type();
            if kind.is_symlink() {
                return Err(io::Error::other(
                    "a symbolic link, and --stats-format prometheus replaces the file whole: \
                     give the path it points to",
                ));
            }
            if !kind.is_file() {
                return Err(io::Error::other(
                    "not a regular file, and --stats-format prometheus replaces it whole",
                ));
            }
            not_a_standard_stream(&meta)?;
        }
        let replace = Replace {
            path: path.to_path_buf(),
        };
        // Fail now, before reading, if the directory cannot take the file.
        replace.write_file(b"")?;
        Ok(replace)
    }

    /// Writes a new file of a name no one else has (created exclusively: a link planted
    /// in the directory is never followed), readable by all as textfiles are, and renames
    /// it over the path.
    fn write_file(&self, text: &[u8]) -> io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let dir = match self.path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let mut file = tempfile::Builder::new()
            .prefix(".bpipe-")
            .permissions(std::fs::Permissions::from_mode(0o644))
            .tempfile_in(dir)?;
        file.write_all(text)?;
        file.persist(&self.path).map_err(|e| e.error)?;
        Ok(())
    }
}

impl Write for Replace {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_file(buf)?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Records {
    /// Writes to `out`; `what` names it in the one warning a failure gives.
    pub fn spawn(mut out: Box<dyn Write + Send>, what: &'static str) -> io::Result<Records> {
        let (tx, rx) = crossbeam_channel::bounded::<Vec<u8>>(BACKLOG);
        let (done_tx, done) = crossbeam_channel::bounded::<()>(0);
        let lost = Arc::new(AtomicBool::new(false));
        let failed = Arc::clone(&lost);
        thread::Builder::new()
            .name("bpipe-records".into())
            .spawn(move || {
                for line in rx {
                    if let Err(e) = out.write_all(&line) {
                        failed.store(true, Ordering::Relaxed);
                        if what != "stderr" {
                            crate::report::error(format!("{what}: {e}; no more records there"));
                        }
                        break;
                    }
                }
                drop(done_tx);
            })?;
        Ok(Records {
            lines: Some(tx),
            done,
            lost,
        })
    }

    /// Hands `line` (a newline is added) to the thread; never waits.
    pub fn send(&self, line: &str) {
        let mut bytes = Vec::with_capacity(line.len() + 1);
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
        self.send_bytes(bytes);
    }

    /// Hands `text` over as it is, to be written in one piece.
    pub fn send_whole(&self, text: &str) {
        self.send_bytes(text.as_bytes().to_vec());
    }

    fn send_bytes(&self, bytes: Vec<u8>) {
        if let Some(tx) = &self.lines {
            match tx.try_send(bytes) {
                Ok(()) => {}
                Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                    self.lost.store(true, Ordering::Relaxed);
                }
            }
        }
    }

    /// Waits at most `wait` for every line to be written. Returns false if any was lost.
    pub fn finish(&mut self, wait: Duration) -> bool {
        self.lines = None;
        let written = matches!(
            self.done.recv_timeout(wait),
            Err(RecvTimeoutError::Disconnected)
        );
        written && !self.lost.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<usize>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().push(buf.len());
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn each_line_goes_out_in_one_write() {
        let out = Shared::default();
        let mut records = Records::spawn(Box::new(out.clone()), "test").unwrap();
        records.send("{\"a\":1}");
        records.send("two");
        assert!(records.finish(Duration::from_secs(5)));
        assert_eq!(*out.0.lock().unwrap(), [8, 4]);
    }

    /// Never returns from a write.
    struct Stuck;

    impl Write for Stuck {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            loop {
                thread::park();
            }
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_stuck_destination_neither_blocks_the_sender_nor_the_end() {
        let mut records = Records::spawn(Box::new(Stuck), "test").unwrap();
        for _ in 0..BACKLOG * 2 {
            records.send("a record");
        }
        assert!(!records.finish(Duration::from_millis(10)));
    }
}
