//! Helpers for running the bpipe binary in tests.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;

/// A `bpipe` command with a cleared environment, so a user's settings cannot change outcomes.
pub fn bpipe(args: &[&str]) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin!("bpipe"));
    cmd.args(args).env_clear();
    cmd
}

/// A fresh directory for one test, under the system's temp dir.
pub fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("bpipe-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// What a finished run left behind.
#[derive(Debug)]
pub struct Run {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Run {
    /// The figure after `label` in the summary line, e.g. `count("dropped")`; 0 when the
    /// record leaves the clause out (it does for zero figures).
    pub fn count(&self, label: &str) -> u64 {
        let line = self.summary();
        let Some(at) = line.find(&format!(" {label} ")) else {
            return 0;
        };
        let figure = line[at + label.len() + 2..].split(' ').next().unwrap();
        figure
            .parse()
            .unwrap_or_else(|_| panic!("bad figure for {label} in {line}"))
    }

    /// The final text record (run with --summary where a clean run must show one).
    pub fn summary(&self) -> &str {
        self.stderr
            .lines()
            .rfind(|l| {
                l.starts_with("bpipe") && l.contains("]: in ") || l.starts_with("bpipe: in ")
            })
            .expect("a summary line")
    }

    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }
}

/// Spawns `cmd` with piped stdio.
pub fn spawn(mut cmd: Command) -> Child {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd.spawn().expect("spawn bpipe")
}

/// A bpipe being fed: its input written from a thread of its own (a closed pipe ends the
/// feed, as EPIPE stops a producer), its stderr read to the end from another. Stdout is the
/// test's to read.
pub struct Fed {
    pub child: Child,
    feeder: Option<thread::JoinHandle<()>>,
    errors: thread::JoinHandle<String>,
    written: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Fed {
    /// Spawns `cmd` with piped stdio and feeds it `input`.
    pub fn start(cmd: Command, input: Vec<u8>) -> Fed {
        Fed::feed(spawn(cmd), input)
    }

    /// Spawns `cmd` with stdin and stderr piped, stdout as `cmd` has it, and feeds it.
    pub fn start_with_stdout(mut cmd: Command, input: Vec<u8>) -> Fed {
        cmd.stdin(Stdio::piped()).stderr(Stdio::piped());
        Fed::feed(cmd.spawn().expect("spawn bpipe"), input)
    }

    /// Bytes of the input written so far.
    pub fn written(&self) -> usize {
        self.written.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn feed(mut child: Child, input: Vec<u8>) -> Fed {
        let written = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut stdin = child.stdin.take().unwrap();
        let count = std::sync::Arc::clone(&written);
        let feeder = thread::spawn(move || {
            for piece in input.chunks(64 << 10) {
                if stdin.write_all(piece).is_err() {
                    break;
                }
                count.fetch_add(piece.len(), std::sync::atomic::Ordering::Relaxed);
            }
        });
        let mut stderr = child.stderr.take().unwrap();
        let errors = thread::spawn(move || {
            let mut text = String::new();
            stderr.read_to_string(&mut text).unwrap();
            text
        });
        Fed {
            child,
            feeder: Some(feeder),
            errors,
            written,
        }
    }

    /// Waits until the whole input is written (or the pipe closed).
    pub fn wait_fed(&mut self) {
        if let Some(feeder) = self.feeder.take() {
            feeder.join().unwrap();
        }
    }

    /// Waits for bpipe and the feed: its status and all it wrote on stderr.
    pub fn finish(mut self) -> (ExitStatus, String) {
        let status = self.child.wait().unwrap();
        self.wait_fed();
        (status, self.errors.join().unwrap())
    }
}

/// The last line of `stderr`, a JSON record (the final one, with --stats-format json).
pub fn last_record(stderr: &str) -> serde_json::Value {
    let line = stderr.lines().last().expect("a final record");
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"))
}

/// A count in a JSON record.
pub fn n(record: &serde_json::Value, key: &str) -> u64 {
    record[key]
        .as_u64()
        .unwrap_or_else(|| panic!("no {key} in {record}"))
}

/// When the consumer on bpipe's stdout reads.
#[derive(Clone, Copy)]
enum Consumer {
    /// From the start.
    AtOnce,
    /// Once all of stdin was written and closed.
    AfterInput,
    /// After a stall of this long.
    After(std::time::Duration),
    /// Never: stdout stays open, unread, until bpipe exits.
    Never,
}

/// Writes `input` from its own thread (ignoring a closed pipe, as a producer that gets
/// EPIPE would stop), reads stdout and stderr to the end, waits.
pub fn run(cmd: Command, input: Vec<u8>) -> Run {
    run_with(cmd, input, Consumer::AtOnce)
}

/// Like [`run`], but reads stdout only after all of stdin was written and closed: a consumer
/// that does not read while the producer runs.
pub fn run_stalled(cmd: Command, input: Vec<u8>) -> Run {
    run_with(cmd, input, Consumer::AfterInput)
}

/// Like [`run`], but the consumer stalls for `stall` first, then reads at full speed.
pub fn run_stalled_for(cmd: Command, input: Vec<u8>, stall: std::time::Duration) -> Run {
    run_with(cmd, input, Consumer::After(stall))
}

/// Like [`run`], but the consumer never reads: bpipe must end by itself.
pub fn run_unread(cmd: Command, input: Vec<u8>) -> Run {
    run_with(cmd, input, Consumer::Never)
}

fn run_with(cmd: Command, input: Vec<u8>, consumer: Consumer) -> Run {
    let mut fed = Fed::start(cmd, input);
    let mut out = fed.child.stdout.take().unwrap();
    let mut stdout = Vec::new();
    match consumer {
        Consumer::AtOnce => {}
        Consumer::AfterInput => fed.wait_fed(),
        Consumer::After(stall) => thread::sleep(stall),
        Consumer::Never => {
            let status = fed.child.wait().unwrap();
            drop(out);
            let (_, stderr) = fed.finish();
            return Run {
                status,
                stdout,
                stderr,
            };
        }
    }
    out.read_to_end(&mut stdout).unwrap();
    let (status, stderr) = fed.finish();
    Run {
        status,
        stdout,
        stderr,
    }
}

/// Streams the child's stderr, line by line, into a channel.
pub fn stderr_lines(child: &mut Child) -> std::sync::mpsc::Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    thread::spawn(move || {
        use std::io::BufRead;
        for line in stderr.lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    rx
}

/// Deterministic pseudo-random bytes (xorshift), so tests need no data files.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// `n` numbered lines of varying length: `line 0 ...\n`.
pub fn numbered_lines(n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..n {
        writeln!(out, "line {i} {}", "x".repeat(i % 50)).unwrap();
    }
    out
}

/// Splits after each `delim`, keeping it (the last item may lack it).
pub fn items(data: &[u8], delim: u8) -> Vec<&[u8]> {
    data.split_inclusive(|&b| b == delim).collect()
}

/// Whether `sub` is a subsequence of `all`.
pub fn is_subsequence(sub: &[&[u8]], all: &[&[u8]]) -> bool {
    let mut rest = all.iter();
    sub.iter()
        .all(|item| rest.any(|candidate| candidate == item))
}

/// Everything the child writes to stderr, to its end.
pub fn all_stderr(child: &mut Child) -> String {
    let mut text = String::new();
    child
        .stderr
        .take()
        .expect("stderr piped")
        .read_to_string(&mut text)
        .unwrap();
    text
}

/// Everything the child writes to stdout, to its end.
pub fn all_stdout(child: &mut Child) -> Vec<u8> {
    let mut out = Vec::new();
    child
        .stdout
        .take()
        .expect("stdout piped")
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// A pseudo-terminal: (controller, terminal side).
pub fn pty(cols: u16) -> (std::fs::File, std::os::fd::OwnedFd) {
    let (mut controller, mut terminal) = (0, 0);
    let size = libc::winsize {
        ws_row: 24,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: openpty fills two descriptors that we own at once.
    let rc = unsafe {
        libc::openpty(
            &mut controller,
            &mut terminal,
            std::ptr::null_mut(),
            std::ptr::null(),
            &size,
        )
    };
    assert_eq!(rc, 0, "openpty failed");
    unsafe {
        (
            std::os::fd::FromRawFd::from_raw_fd(controller),
            std::os::fd::FromRawFd::from_raw_fd(terminal),
        )
    }
}
