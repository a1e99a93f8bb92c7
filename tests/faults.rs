//! End-to-end tests of faults and signals: real processes, real pipes, real signals. Times
//! here are deadlines for hangs, never figures.

mod util;

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use serde_json::Value;
use util::{all_stderr, bpipe, numbered_lines, run, spawn, stderr_lines};

const DEADLINE: Duration = Duration::from_secs(20);

fn signal(child: &Child, number: i32) {
    // SAFETY: kill only sends a signal to our own child.
    unsafe { libc::kill(child.id() as i32, number) };
}

/// Waits for the child with a deadline; returns its exit code.
fn wait(mut child: Child) -> Option<i32> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || tx.send(child.wait().unwrap()).unwrap());
    rx.recv_timeout(DEADLINE)
        .expect("bpipe did not exit")
        .code()
}

/// Waits for the child with a deadline; returns the signal it died of, if it did.
fn died_of(mut child: Child) -> Option<i32> {
    use std::os::unix::process::ExitStatusExt;
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || tx.send(child.wait().unwrap()).unwrap());
    rx.recv_timeout(DEADLINE)
        .expect("bpipe did not exit")
        .signal()
}

fn json(line: &str) -> Value {
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"))
}

fn balanced(record: &Value) -> bool {
    let n = |field: &str| record[field].as_u64().unwrap();
    n("in_items")
        == n("out_items")
            + n("dropped_items")
            + n("undelivered_items")
            + n("depth_items")
            + n("in_hand_items")
}

#[test]
fn sigint_drains_the_queue_reports_and_dies_of_the_signal() {
    let mut child = spawn(bpipe(&["--stats-format", "json"]));
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let errors = stderr_lines(&mut child);
    stdin.write_all(b"one\ntwo\n").unwrap();
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    // The producer is still there (stdin open) when the signal comes.
    signal(&child, libc::SIGINT);
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert_eq!(line + &rest, "one\ntwo\n");
    assert_eq!(died_of(child), Some(libc::SIGINT));
    assert_eq!(
        json(&errors.recv_timeout(DEADLINE).unwrap())["event"],
        "stop"
    );
    let last = json(&errors.recv_timeout(DEADLINE).unwrap());
    assert_eq!(last["event"], "final");
    assert_eq!(last["signal"], 2);
    assert_eq!(last["out_items"], 2);
    assert!(balanced(&last));
    drop(stdin);
}

/// bpipe with a consumer that never reads and a producer that wrote more than fits in the
/// pipe, so that the writer is stuck in write() when the signal comes.
fn stalled(args: &[&str]) -> (Child, mpsc::Receiver<String>) {
    let mut child = spawn(bpipe(args));
    let mut stdin = child.stdin.take().unwrap();
    let errors = stderr_lines(&mut child);
    stdin.write_all(&numbered_lines(20_000)).unwrap();
    // Keep the producer open (but idle) for the rest of the test.
    thread::spawn(move || {
        let _keep = stdin;
        thread::sleep(DEADLINE);
    });
    (child, errors)
}

#[test]
fn sigterm_gives_up_on_a_stalled_consumer_after_the_drain_timeout() {
    let args = ["--stats-format", "json", "--drain-timeout", "100ms"];
    let (child, errors) = stalled(&args);
    signal(&child, libc::SIGTERM);
    let stop = json(&errors.recv_timeout(DEADLINE).unwrap());
    assert_eq!(
        (&stop["event"], &stop["signal"]),
        (&"stop".into(), &15.into())
    );
    let code = died_of(child);
    let last = json(&errors.recv_timeout(DEADLINE).unwrap());
    assert_eq!(code, Some(libc::SIGTERM));
    assert_eq!(last["signal"], 15);
    assert!(last["undelivered_items"].as_u64().unwrap() > 0, "{last}");
    assert_eq!(last["depth_items"], 0);
    assert!(balanced(&last));
}

#[test]
fn a_second_signal_cuts_the_drain_short() {
    let (child, errors) = stalled(&["--drain-timeout", "1h"]);
    signal(&child, libc::SIGTERM);
    let stopping = errors.recv_timeout(DEADLINE).unwrap();
    assert!(
        stopping.starts_with("bpipe: stopping on signal 15: draining "),
        "{stopping}"
    );
    assert!(
        stopping.contains("(at most 1h; signal again to stop at once)"),
        "{stopping}"
    );
    signal(&child, libc::SIGINT);
    // Without the second signal this would take an hour.
    assert_eq!(died_of(child), Some(libc::SIGTERM));
    let last = errors.recv_timeout(DEADLINE).unwrap();
    assert!(last.contains(", stopped by signal 15, "), "{last}");
}

#[test]
fn drain_timeout_zero_drops_the_queue_at_once() {
    let args = ["--stats-format", "json", "--drain-timeout", "0s"];
    let (child, errors) = stalled(&args);
    signal(&child, libc::SIGHUP);
    assert_eq!(died_of(child), Some(libc::SIGHUP));
    assert_eq!(
        json(&errors.recv_timeout(DEADLINE).unwrap())["event"],
        "stop"
    );
    let last = json(&errors.recv_timeout(DEADLINE).unwrap());
    assert_eq!(last["signal"], 1);
    assert!(balanced(&last));
}

#[test]
fn a_consumer_that_leaves_is_noticed_while_the_producer_is_idle() {
    let mut child = spawn(bpipe(&["--summary"]));
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"only line\n").unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    drop(stdout);
    // The producer stays open and silent: bpipe must not wait for it to write again.
    let errors = stderr_lines(&mut child);
    assert_eq!(wait(child), Some(0));
    let last = errors.recv_timeout(DEADLINE).unwrap();
    assert!(last.contains(", output closed, "), "{last}");
    drop(stdin);
}

#[test]
fn a_producer_that_dies_mid_line_has_its_partial_line_delivered() {
    let out = run(bpipe(&["--summary"]), b"whole\nhalf a li".to_vec());
    assert_eq!(out.stdout, b"whole\nhalf a li");
    assert_eq!(out.count("in"), 2);
    assert_eq!(out.count("out"), 2);
}

#[test]
fn a_stalled_consumer_holds_the_producer_and_reporting_goes_on() {
    let mut child = spawn(bpipe(&["--cap-bytes", "1MiB", "--stats-format", "json"]));
    let mut stdin = child.stdin.take().unwrap();
    let errors = stderr_lines(&mut child);
    let input = numbered_lines(1_000_000);
    let (progress_tx, progress) = mpsc::channel();
    let feeder = {
        let input = input.clone();
        thread::spawn(move || {
            for chunk in input.chunks(64 * 1024) {
                stdin.write_all(chunk).unwrap();
                let _ = progress_tx.send(chunk.len());
            }
        })
    };
    // Wait until the producer has written a little more than the queue holds.
    let mut written = 0;
    while written < 1 << 20 {
        written += progress
            .recv_timeout(DEADLINE)
            .expect("the producer never got going");
    }
    // The writer is stuck in write(): a record still comes, and shows the bound held.
    signal(&child, libc::SIGUSR1);
    let tick = json(
        &errors
            .recv_timeout(DEADLINE)
            .expect("no record while stalled"),
    );
    assert!(
        tick["depth_bytes"].as_u64().unwrap() <= (1 << 20) + 256 * 1024,
        "{tick}"
    );
    assert!(tick["in_bytes"].as_u64().unwrap() < 3 << 20, "{tick}");
    written += progress.try_iter().sum::<usize>();
    assert!(
        written < input.len() / 4,
        "the producer was not held: {written} bytes written"
    );
    // The consumer comes back: everything arrives, byte for byte.
    let mut out = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut out).unwrap();
    feeder.join().unwrap();
    assert!(out == input, "output differs");
    assert_eq!(wait(child), Some(0));
}

#[test]
fn a_write_error_is_reported_with_the_os_error_and_status_1() {
    let full = OpenOptions::new().write(true).open("/dev/full").unwrap();
    let mut child = bpipe(&[])
        .stdin(Stdio::piped())
        .stdout(full)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let _ = stdin.write_all(b"a line\n");
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("bpipe: writing stdout: No space left on device"),
        "{stderr}"
    );
}

#[test]
fn stdin_kinds_behave() {
    // A regular file and /dev/null are plain inputs.
    let out = bpipe(&["-q"]).stdin(Stdio::null()).output().unwrap();
    assert_eq!((out.status.code(), out.stdout.len()), (Some(0), 0));
    // /dev/zero is one endless line: cut into pieces under block, memory bounded.
    let zero = std::fs::File::open("/dev/zero").unwrap();
    let mut child = bpipe(&["-q", "--max-line", "4KiB"])
        .stdin(zero)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = vec![0; 1 << 20];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    assert!(first.iter().all(|&b| b == 0));
    // Its reader gone, bpipe ends quietly.
    assert_eq!(wait(child), Some(0));
}

#[test]
fn a_throttled_writer_notices_a_departed_consumer_at_once() {
    // One line per 5 s: the consumer takes the first and leaves; bpipe must not wait for the
    // rate's next slot to find out.
    let mut child = spawn(bpipe(&["--rate", "1/5s"]));
    let mut stdin = child.stdin.take().unwrap();
    let producer = thread::spawn(move || while stdin.write_all(b"y\n").is_ok() {});
    let started = std::time::Instant::now();
    let mut first = [0u8; 2];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    // The consumer is gone (stdout dropped).
    let status = child.wait().unwrap();
    producer.join().unwrap();
    assert!(status.success());
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "waited for the rate: {:?}",
        started.elapsed()
    );
}

#[test]
fn a_stats_fifo_without_a_reader_is_refused_before_reading() {
    let dir = std::env::temp_dir().join(format!("bpipe-statsfifo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("stats");
    let path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid C string.
    assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o600) }, 0);
    let out = run(
        bpipe(&["--stats-file", fifo.to_str().unwrap()]),
        b"a\n".to_vec(),
    );
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(out.code(), Some(2), "{}", out.stderr);
    assert!(
        out.stderr.contains("a FIFO that no process is reading"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn a_stats_file_that_fails_says_so_in_the_exit_status() {
    let out = run(bpipe(&["--stats-file", "/dev/full"]), b"a\n".to_vec());
    assert_eq!(out.stdout, b"a\n");
    assert_eq!(out.code(), Some(1), "{}", out.stderr);
    assert!(
        out.stderr.contains("--stats-file: No space left on device"),
        "{}",
        out.stderr
    );
}

#[test]
fn quiet_silences_every_record_on_stderr() {
    let mut child = spawn(bpipe(&["-q", "--stats-interval", "10ms"]));
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    stdin.write_all(b"one\n").unwrap();
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    signal(&child, libc::SIGUSR1);
    thread::sleep(Duration::from_millis(50)); // several intervals
    drop(stdin);
    let stderr = all_stderr(&mut child);
    assert!(child.wait().unwrap().success());
    assert_eq!(stderr, "", "records on stderr under -q");
}

#[test]
fn too_few_descriptors_for_signals_still_runs_without_spinning() {
    use std::os::unix::process::CommandExt;
    let mut cmd = bpipe(&[]);
    // SAFETY: setrlimit is async-signal-safe; the child has stdin, stdout, stderr and room
    // for one more descriptor (the writer's eventfd), not for the signal socket pair.
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 4,
                rlim_max: 4,
            };
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
            Ok(())
        });
    }
    let input = numbered_lines(20_000);
    let out = run(cmd, input.clone());
    assert!(
        out.stderr.contains("cannot catch signals"),
        "{}",
        out.stderr
    );
    assert_eq!(out.code(), Some(0), "{}", out.stderr);
    assert!(out.stdout == input);
}

#[test]
fn a_stats_file_that_is_bpipes_own_stdout_or_stderr_is_refused_before_reading() {
    // Records would mix into the data (or into stderr's own lines).
    for (path, stream) in [
        ("/dev/stdout", "stdout"),
        ("/dev/stderr", "stderr"),
        ("/proc/self/fd/1", "stdout"),
    ] {
        for format in ["text", "json"] {
            let args = ["--stats-format", format, "--stats-file", path];
            let out = run(bpipe(&args), b"a\n".to_vec());
            assert_eq!(out.code(), Some(2), "{args:?}: {}", out.stderr);
            assert!(out.stdout.is_empty(), "{args:?}: read before refusing");
            assert!(
                out.stderr.contains(&format!("bpipe's {stream}")),
                "{args:?}: {}",
                out.stderr
            );
        }
    }
}

#[test]
fn a_dead_letter_device_other_than_dev_null_is_refused_before_reading() {
    for device in ["/dev/full", "/dev/zero", "/dev/urandom"] {
        let args = ["--policy", "drop", "--dead-letter", device];
        let out = run(bpipe(&args), b"a\n".to_vec());
        assert_eq!(out.code(), Some(2), "{device}: {}", out.stderr);
        assert!(out.stderr.contains("not a regular file"), "{}", out.stderr);
        assert!(out.stdout.is_empty(), "{device}: read before refusing");
    }
    let args = ["--policy", "drop", "--dead-letter", "/dev/null"];
    let out = run(bpipe(&args), b"a\n".to_vec());
    assert_eq!(out.code(), Some(0), "{}", out.stderr);
    assert_eq!(out.stdout, b"a\n");
}

/// A pipe whose write end is full (nobody reads the read end, which is returned to keep it
/// open): a stderr that blocks every write.
fn full_pipe() -> (std::fs::File, std::fs::File) {
    use std::os::fd::FromRawFd;
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills two descriptors we then own.
    assert_eq!(
        unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) },
        0
    );
    // SAFETY: both descriptors were just created and are owned here only.
    let (read, mut write) = unsafe {
        (
            std::fs::File::from_raw_fd(fds[0]),
            std::fs::File::from_raw_fd(fds[1]),
        )
    };
    while write.write(&[b'x'; 4096]).is_ok() {}
    // Blocking again, as a shell's stderr would be.
    // SAFETY: F_SETFL on a descriptor we own.
    unsafe { libc::fcntl(fds[1], libc::F_SETFL, 0) };
    (read, write)
}

/// Kills a child (by its pid) that outlives the test's wait for it: dropped while the test
/// unwinds; forgotten once the child was reaped.
struct KillOnDrop(i32);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        // SAFETY: SIGKILL to our own child, not yet reaped.
        unsafe { libc::kill(self.0, libc::SIGKILL) };
    }
}

/// bpipe --summary with a stderr that blocks every write, stdin piped.
fn with_blocked_stderr() -> (std::process::Child, KillOnDrop, std::fs::File) {
    let (keep, stderr) = full_pipe();
    let mut cmd = bpipe(&["--summary"]);
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::from(stderr));
    let child = cmd.spawn().unwrap();
    let guard = KillOnDrop(child.id() as i32);
    (child, guard, keep)
}

#[test]
fn a_stderr_that_blocks_ends_bpipe_with_status_1_and_signals_still_work() {
    // The data is delivered, records cannot be: status 1 ("records were lost"), in bounded
    // time, never a hang deaf to signals.
    let (mut child, guard, _keep) = with_blocked_stderr();
    child.stdin.take().unwrap().write_all(b"1\n2\n3\n").unwrap();
    let code = wait(child);
    std::mem::forget(guard);
    assert_eq!(code, Some(1));
    // A stop while stderr blocks: it drains and dies of the signal.
    let (mut child, guard, _keep) = with_blocked_stderr();
    let stdin = child.stdin.take().unwrap();
    thread::sleep(Duration::from_millis(200));
    signal(&child, libc::SIGTERM);
    let signal = died_of(child);
    std::mem::forget(guard);
    assert_eq!(signal, Some(libc::SIGTERM));
    drop(stdin);
}

#[test]
fn a_stats_file_that_is_an_input_or_a_dead_letter_file_that_is_stderr_is_refused() {
    let dir = std::env::temp_dir().join(format!("bpipe-files-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("in.txt");
    std::fs::write(&input, "a\n").unwrap();
    let shown = input.to_str().unwrap();
    let out = run(bpipe(&["--stats-file", shown, shown]), Vec::new());
    assert_eq!(out.code(), Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("is also an input"), "{}", out.stderr);
    // Stdin, named - or not.
    for args in [&["--stats-file", shown, "-"][..], &["--stats-file", shown]] {
        let status = bpipe(args)
            .stdin(std::fs::File::open(&input).unwrap())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(2), "{args:?}");
    }
    assert_eq!(std::fs::read_to_string(&input).unwrap(), "a\n");
    // Dead letters into the file stderr goes to would mix with the records.
    let log = dir.join("stderr.log");
    let stderr = std::fs::File::create(&log).unwrap();
    let status = bpipe(&["--policy", "drop", "--dead-letter", log.to_str().unwrap()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(2));
    let said = std::fs::read_to_string(&log).unwrap();
    assert!(said.contains("is also stderr"), "{said}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn at_the_memory_limit_bpipe_stops_reading_delivers_what_it_holds_and_says_so() {
    use std::os::unix::process::CommandExt;
    // Endless input, paced output and a cap far above the limit: the queue grows until an
    // allocation fails under a 300 MiB limit on address space.
    let mut cmd = bpipe(&[
        "--chunk",
        "1MiB",
        "--cap",
        "100000",
        "--cap-bytes",
        "3GiB",
        "--rate",
        "100/s",
        "--stats-format",
        "json",
        "--summary",
    ]);
    cmd.stdin(std::fs::File::open("/dev/zero").unwrap());
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    // SAFETY: setrlimit is async-signal-safe and touches only the child.
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 300 << 20,
                rlim_max: 300 << 20,
            };
            match libc::setrlimit(libc::RLIMIT_AS, &limit) {
                0 => Ok(()),
                _ => Err(std::io::Error::last_os_error()),
            }
        });
    }
    let mut child = cmd.spawn().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let out = thread::spawn(move || {
        let mut n = 0u64;
        let mut buf = vec![0; 1 << 16];
        while let Ok(k @ 1..) = stdout.read(&mut buf) {
            assert!(buf[..k].iter().all(|&b| b == 0));
            n += k as u64;
        }
        n
    });
    let stderr = all_stderr(&mut child);
    assert_eq!(wait(child), Some(1), "{stderr}");
    let written = out.join().unwrap();
    assert!(
        stderr.contains("bpipe: reading stdin: memory ran out"),
        "{stderr}"
    );
    let last: Value = serde_json::from_str(stderr.lines().last().unwrap()).unwrap();
    assert_eq!(last["event"], "final", "{stderr}");
    assert_eq!(last["out_bytes"], written);
    let n = |k: &str| last[k].as_u64().unwrap();
    assert_eq!(
        n("in_items"),
        n("out_items") + n("dropped_items") + n("undelivered_items")
    );
    assert!(written > 0, "nothing was delivered");
}

#[test]
fn a_stop_signal_that_comes_as_the_consumer_leaves_is_how_the_run_ended() {
    // ^C at a terminal reaches the whole pipeline: bpipe is signalled and its consumer dies
    // at the same moment. Whichever bpipe notices first, it ends by the signal.
    for run in 0..20 {
        let mut child = spawn(bpipe(&["--stats-format", "json"]));
        let mut stdin = child.stdin.take().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        stdin.write_all(&numbered_lines(20_000)).unwrap();
        let mut got = [0u8; 1000];
        stdout.read_exact(&mut got).unwrap();
        signal(&child, libc::SIGINT);
        drop(stdout);
        assert_eq!(died_of(child), Some(libc::SIGINT), "run {run}");
        drop(stdin);
    }
}

#[test]
fn an_endless_line_being_dropped_shows_in_every_record_and_is_counted_at_a_stop() {
    let mut cmd = bpipe(&[
        "--policy",
        "slide",
        "--stats-format",
        "json",
        "--stats-interval",
        "20ms",
    ]);
    cmd.stdin(std::fs::File::open("/dev/zero").unwrap())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let rx = stderr_lines(&mut child);
    let tick: Value = loop {
        let line = rx.recv_timeout(DEADLINE).expect("a record");
        let record: Value = serde_json::from_str(&line).unwrap();
        if record["in_bytes"].as_u64() > Some(0) {
            break record;
        }
    };
    assert_eq!(tick["in_bytes"], tick["dropped_bytes"], "{tick}");
    assert_eq!(tick["in_items"], 0, "not ended yet: {tick}");
    signal(&child, libc::SIGTERM);
    let last: Value = serde_json::from_str(&rx.iter().last().unwrap()).unwrap();
    assert_eq!(last["event"], "final");
    assert_eq!(last["in_items"], 1, "{last}");
    assert_eq!(last["dropped_items"], 1, "{last}");
    assert_eq!(last["in_bytes"], last["dropped_bytes"], "{last}");
    assert_eq!(died_of(child), Some(libc::SIGTERM));
}
