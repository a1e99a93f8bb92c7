//! What a slot feeds: a worker process through a pipe (or, in tests, a model of one).
//!
//! bpipe keeps a copy of the pipe's read end, so that when the worker exits it can read
//! back what the worker never read and count those items undelivered, exactly.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, IoSlice, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A worker as the pool sees it.
pub trait Feed: Send {
    /// Writes to its input without waiting; `WouldBlock` when its pipe is full.
    fn write(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize>;
    /// Whether its input is still open.
    fn open(&self) -> bool;
    /// Closes its input: it sees the end.
    fn close(&mut self);
    /// Its exit status as the shell shows it (128+N for signal N), once it has exited.
    fn exited(&mut self) -> Option<i32>;
    /// Once it has exited: what it left unread in its pipe.
    fn unread(&mut self) -> Vec<u8>;
    /// Whether it has read all it was given.
    fn drained(&self) -> bool;
    /// What to poll for room, if anything.
    fn fd(&self) -> Option<BorrowedFd<'_>>;
    /// Waits at most `timeout` for its pipe to have room.
    fn wait_for_room(&self, timeout: Duration);
    /// Its pid, which is also its process group's (the pool signals the group).
    fn pid(&self) -> Option<u32>;
    /// What becomes readable when it exits (a pidfd), if anything: without one, the pool
    /// looks for exits at every tick.
    fn exit_fd(&self) -> Option<BorrowedFd<'_>> {
        None
    }
}

/// Starts a worker in a slot (numbered from 1).
pub type Launcher = Box<dyn FnMut(usize) -> io::Result<Box<dyn Feed>> + Send>;

/// A launcher of `command`, with `BPIPE_WORKER` set to the slot's number.
pub fn processes(command: Vec<OsString>) -> Launcher {
    Box::new(move |number| Ok(Box::new(Process::spawn(&command, number)?) as Box<dyn Feed>))
}

/// A worker process and the pipe to its stdin.
pub struct Process {
    child: Option<Child>,
    stdin: Option<File>,
    /// The read end of the same pipe, kept to read back what the worker left unread.
    held: Option<File>,
    /// Readable once the worker has exited (none where the kernel has no pidfds).
    exit: Option<OwnedFd>,
}

impl Process {
    fn spawn(command: &[OsString], number: usize) -> io::Result<Process> {
        let (read, write) = pipe()?;
        let held = File::from(read.try_clone()?);
        let stdin = File::from(write);
        // The read end is the worker's stdin too (one open file): it stays blocking.
        non_blocking(&stdin)?;
        // A process group of its own: a terminal's ^C reaches bpipe, which drains the queue
        // into the workers before passing the signal on (to the whole group, so a shell's
        // children go too).
        let child = Command::new(&command[0])
            .args(&command[1..])
            .process_group(0)
            .env("BPIPE_WORKER", number.to_string())
            .stdin(Stdio::from(read))
            .spawn()?;
        Ok(Process {
            exit: pidfd(child.id()),
            child: Some(child),
            stdin: Some(stdin),
            held: Some(held),
        })
    }
}

impl Feed for Process {
    fn write(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let stdin = self.stdin.as_mut().ok_or(io::ErrorKind::BrokenPipe)?;
        stdin.write_vectored(bufs)
    }

    fn open(&self) -> bool {
        self.stdin.is_some()
    }

    fn close(&mut self) {
        self.stdin = None;
    }

    fn exited(&mut self) -> Option<i32> {
        let status = self.child.as_mut()?.try_wait().ok().flatten()?;
        self.child = None;
        // Closing it takes it out of the pool's epoll set: it would stay readable.
        self.exit = None;
        Some(shell_status(status))
    }

    fn unread(&mut self) -> Vec<u8> {
        let mut left = Vec::new();
        if let Some(mut held) = self.held.take().filter(|h| non_blocking(h).is_ok()) {
            let mut buf = [0u8; 64 * 1024];
            while let Ok(n @ 1..) = held.read(&mut buf) {
                left.extend_from_slice(&buf[..n]);
            }
        }
        self.stdin = None;
        left
    }

    fn drained(&self) -> bool {
        let Some(held) = &self.held else {
            return false;
        };
        let mut unread: libc::c_int = 0;
        // SAFETY: FIONREAD into a c_int, on the pipe's read end this process holds.
        let ok = unsafe { libc::ioctl(held.as_raw_fd(), libc::FIONREAD, &mut unread) } == 0;
        ok && unread == 0
    }

    fn fd(&self) -> Option<BorrowedFd<'_>> {
        self.stdin.as_ref().map(|s| s.as_fd())
    }

    fn wait_for_room(&self, timeout: Duration) {
        let Some(stdin) = &self.stdin else { return };
        let mut fd = libc::pollfd {
            fd: stdin.as_raw_fd(),
            events: libc::POLLOUT,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        unsafe { libc::poll(&mut fd, 1, timeout.as_millis() as libc::c_int) };
    }

    fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    fn exit_fd(&self) -> Option<BorrowedFd<'_>> {
        self.exit.as_ref().map(AsFd::as_fd)
    }
}

/// A descriptor that becomes readable when child `pid` exits (Linux 5.3 and later).
fn pidfd(pid: u32) -> Option<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor, owned at once.
    // The child is not yet reaped (only the pool waits for it), so the pid is still its.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if fd < 0 {
        return None;
    }
    // SAFETY: a new descriptor nothing else owns.
    Some(unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) })
}

/// The shell's number for an exit status: the code, or 128+N for signal N.
fn shell_status(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
}

/// A pipe, both ends closed on exec: (read, write).
fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills two descriptors, owned at once.
    unsafe {
        if libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok((OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])))
    }
}

fn non_blocking(file: &File) -> io::Result<()> {
    // SAFETY: F_GETFL/F_SETFL on a descriptor this process owns.
    unsafe {
        let flags = libc::fcntl(file.as_raw_fd(), libc::F_GETFL);
        if flags < 0 || libc::fcntl(file.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}
