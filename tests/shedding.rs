//! `--keep`, `--mark-drops` and `--dead-letter` end to end: kept lines always arrive, every
//! gap in the output has one marker of its size, and output and dead letters together hold
//! every input line exactly once.

mod util;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::thread;
use std::time::Duration;

use util::*;

/// `n` log-like lines, unique by their sequence number, one in six an ERROR (as the
/// reference generator makes them).
fn log_lines(n: usize) -> Vec<u8> {
    let levels = ["DEBUG", "INFO", "INFO", "INFO", "WARN", "ERROR"];
    let mut out = Vec::new();
    for i in 0..n {
        let level = levels[((i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize % 6];
        let body = "x".repeat(20 + i * 13 % 120);
        writeln!(
            out,
            "2026-11-22T14:00:00Z {level} svc[{}] seq={i} {body}",
            i % 97
        )
        .unwrap();
    }
    out
}

/// `cmd` with files limited to `bytes`: a write past it fails part-way with EFBIG, as one
/// on a full disk fails with ENOSPC (SIGXFSZ ignored, which survives exec).
fn with_file_size_limit(mut cmd: std::process::Command, bytes: u64) -> std::process::Command {
    use std::os::unix::process::CommandExt;
    // SAFETY: setrlimit and signal are async-signal-safe.
    unsafe {
        cmd.pre_exec(move || {
            let limit = libc::rlimit {
                rlim_cur: bytes,
                rlim_max: bytes,
            };
            libc::setrlimit(libc::RLIMIT_FSIZE, &limit);
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        });
    }
    cmd
}

fn temp_path(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("bpipe-{name}-{}", std::process::id()))
}

/// Checks `out` against `input` and the dead letters: markers sit exactly where lines are
/// missing and tell how many; output and dead letters hold every line once. Returns the
/// number of markers.
fn check_gaps(input: &[u8], out: &[u8], dead: &[u8]) -> usize {
    let lines = items(input, b'\n');
    let at: HashMap<&[u8], usize> = lines.iter().enumerate().map(|(i, l)| (*l, i)).collect();
    let (mut next, mut marked, mut markers) = (0, None::<usize>, 0);
    for line in items(out, b'\n') {
        if let Some(rest) = line.strip_prefix(b"bpipe: ") {
            let text = String::from_utf8_lossy(rest);
            assert!(marked.is_none(), "two markers in a row: {text}");
            marked = Some(text.split(' ').next().unwrap().parse().unwrap());
            assert!(text.contains(" dropped here (slide)"), "{text}");
            markers += 1;
            continue;
        }
        let i = at[line];
        assert!(i >= next, "line {i} out of order");
        assert_eq!(
            marked.take().unwrap_or(0),
            i - next,
            "marker before line {i}"
        );
        next = i + 1;
    }
    assert_eq!(
        marked.unwrap_or(0),
        lines.len() - next,
        "the trailing marker"
    );
    let mut seen: Vec<&[u8]> = items(out, b'\n')
        .into_iter()
        .filter(|l| !l.starts_with(b"bpipe: "))
        .chain(items(dead, b'\n'))
        .collect();
    seen.sort_unstable();
    let mut all = lines.clone();
    all.sort_unstable();
    assert!(
        seen == all,
        "output and dead letters do not hold every line once"
    );
    markers
}

#[test]
fn errors_always_arrive_and_every_gap_is_marked_and_dead_lettered() {
    let input = log_lines(200_000);
    let dead = temp_path("dead-letters");
    let _ = std::fs::remove_file(&dead);
    let mut child = spawn(bpipe(&[
        "--policy",
        "slide",
        "--cap",
        "100",
        "--keep",
        "ERROR",
        "--mark-drops",
        "--dead-letter",
        dead.to_str().unwrap(),
        "--stats-format",
        "json",
        "--summary",
    ]));
    let mut stdin = child.stdin.take().unwrap();
    let feeder = {
        let input = input.clone();
        thread::spawn(move || stdin.write_all(&input).unwrap())
    };
    // Stalled, then slow: 64 KiB reads 5 ms apart.
    let mut stdout = child.stdout.take().unwrap();
    thread::sleep(Duration::from_millis(500));
    let (mut out, mut chunk) = (Vec::new(), vec![0u8; 64 * 1024]);
    loop {
        let n = stdout.read(&mut chunk).unwrap();
        if n == 0 {
            break;
        }
        out.extend_from_slice(&chunk[..n]);
        thread::sleep(Duration::from_millis(5));
    }
    feeder.join().unwrap();
    let stderr = all_stderr(&mut child);
    assert!(child.wait().unwrap().success(), "{stderr}");
    let record: serde_json::Value = serde_json::from_str(stderr.lines().last().unwrap()).unwrap();
    let dead_letters = std::fs::read(&dead).unwrap();
    std::fs::remove_file(&dead).unwrap();
    let markers = check_gaps(&input, &out, &dead_letters);
    let errors: Vec<&[u8]> = items(&input, b'\n')
        .into_iter()
        .filter(|l| l.windows(5).any(|w| w == b"ERROR"))
        .collect();
    assert!(errors.len() > 30_000, "{} ERROR lines", errors.len());
    let delivered: std::collections::HashSet<&[u8]> = items(&out, b'\n').into_iter().collect();
    for line in errors {
        assert!(delivered.contains(line), "an ERROR line was shed");
    }
    // The books: everything shed went to the file, and the markers were counted.
    let dropped = record["dropped_items"].as_u64().unwrap();
    assert!(dropped > 0, "nothing was shed: {record}");
    assert_eq!(record["dead_lettered_items"].as_u64(), Some(dropped));
    assert_eq!(record["discarded_items"].as_u64(), Some(0));
    assert_eq!(record["markers"].as_u64(), Some(markers as u64));
    assert!(record["kept_items"].as_u64().unwrap() > 0, "{record}");
    let out_items = record["out_items"].as_u64().unwrap();
    assert_eq!(record["in_items"].as_u64(), Some(out_items + dropped));
}

#[test]
fn drop_counts_each_kept_line_spared_once_at_most() {
    // A read whose first line is kept waits while drop sheds newer unkept lines for it, and
    // is tried again and again: its line is counted spared once.
    let input = log_lines(16_000);
    let errors = items(&input, b'\n')
        .iter()
        .filter(|l| l.windows(5).any(|w| w == b"ERROR"))
        .count() as u64;
    let args = [
        "--policy",
        "drop",
        "--keep",
        "ERROR",
        "--cap-bytes",
        "1MiB",
        "--stats-format",
        "json",
        "--summary",
    ];
    let run = run_stalled_for(bpipe(&args), input, Duration::from_millis(500));
    let record: serde_json::Value =
        serde_json::from_str(run.stderr.lines().last().unwrap()).unwrap();
    let kept = record["kept_items"].as_u64().unwrap();
    assert!(
        kept > 0 && kept <= errors,
        "{kept} spared of {errors}: {record}"
    );
    let out = items(&run.stdout, b'\n');
    let delivered = out.iter().filter(|l| l.windows(5).any(|w| w == b"ERROR"));
    assert_eq!(delivered.count() as u64, errors, "an ERROR line was shed");
}

#[test]
fn a_consumer_that_keeps_up_sees_no_marker_and_no_dead_letter() {
    let input = log_lines(50_000);
    let dead = temp_path("no-dead-letters");
    let _ = std::fs::remove_file(&dead);
    for cap in ["1", "64"] {
        let out = run(
            bpipe(&[
                "--policy",
                "slide",
                "--cap",
                cap,
                "--keep",
                "ERROR",
                "--mark-drops",
                "--dead-letter",
                dead.to_str().unwrap(),
            ]),
            input.clone(),
        );
        assert!(out.status.success(), "{}", out.stderr);
        assert!(out.stdout == input, "--cap {cap}: output differs");
        assert_eq!(std::fs::read(&dead).unwrap(), b"");
    }
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&dead).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    std::fs::remove_file(&dead).unwrap();
}

#[test]
fn the_dead_letter_file_stops_at_its_limit_and_a_failing_one_never_stops_the_pipe() {
    // A stalled consumer sheds most of 100k lines; 4 KiB of them go to the file.
    let dead = temp_path("dead-letter-max");
    let _ = std::fs::remove_file(&dead);
    let args = [
        "--policy",
        "drop",
        "--cap",
        "10",
        "--dead-letter",
        dead.to_str().unwrap(),
        "--dead-letter-max",
        "4KiB",
        "--stats-format",
        "json",
    ];
    let out = run_stalled(bpipe(&args), log_lines(100_000));
    let record: serde_json::Value =
        serde_json::from_str(out.stderr.lines().last().unwrap()).unwrap();
    let file = std::fs::read(&dead).unwrap();
    std::fs::remove_file(&dead).unwrap();
    assert!(
        file.len() <= 4096 && file.len() > 3000,
        "{} bytes",
        file.len()
    );
    assert_eq!(
        record["dead_lettered_bytes"].as_u64(),
        Some(file.len() as u64)
    );
    let dropped = record["dropped_bytes"].as_u64().unwrap();
    let discarded = record["discarded_bytes"].as_u64().unwrap();
    assert_eq!(dropped, file.len() as u64 + discarded);
    // A file that cannot be written (past the file-size limit: as a full disk fails a
    // write): one warning, the pipe goes on, status 0.
    let full = temp_path("dead-letters-full");
    let args = [
        "--policy",
        "drop",
        "--cap",
        "10",
        "--dead-letter",
        full.to_str().unwrap(),
    ];
    let out = run_stalled(with_file_size_limit(bpipe(&args), 1000), log_lines(100_000));
    let _ = std::fs::remove_file(&full);
    assert_eq!(out.code(), Some(0), "{}", out.stderr);
    let warnings = out.stderr.matches("bpipe: --dead-letter: ").count();
    assert_eq!(warnings, 1, "{}", out.stderr);
    assert!(out.count("dropped") > 0);
}

#[test]
fn keep_with_a_block_timeout_waits_for_room_rather_than_spinning() {
    // Every line kept: once the timeout fires there is nothing to shed, and the read must
    // wait for the writer (it once spun holding the queue's lock, deaf to signals).
    let input: Vec<u8> = (1..=100_000)
        .flat_map(|i| format!("{i} ERROR\n").into_bytes())
        .collect();
    for then in ["slide", "drop"] {
        let args = [
            "--block-timeout",
            "100ms",
            "--on-timeout",
            then,
            "--cap",
            "10",
            "--keep",
            "ERROR",
        ];
        // A consumer stalled for 300 ms, then reading: the producer is held meanwhile.
        let mut child = spawn(bpipe(&args));
        // A spinning bpipe would hang the test: kill it after 20 s, and the test fails.
        let (done, finished) = std::sync::mpsc::channel::<()>();
        let pid = child.id() as i32;
        let watchdog = thread::spawn(move || {
            if finished.recv_timeout(Duration::from_secs(20)).is_err() {
                // SAFETY: the child is not reaped before `done` is sent.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        });
        let mut stdin = child.stdin.take().unwrap();
        let feeder = {
            let input = input.clone();
            thread::spawn(move || {
                let _ = stdin.write_all(&input);
            })
        };
        thread::sleep(Duration::from_millis(300));
        let out = all_stdout(&mut child);
        feeder.join().unwrap();
        let stderr = all_stderr(&mut child);
        let status = child.try_wait().unwrap();
        let status = match status {
            Some(status) => status,
            None => child.wait().unwrap(),
        };
        let _ = done.send(());
        watchdog.join().unwrap();
        assert!(status.success(), "{then}: {stderr}");
        assert!(out == input, "{then}: a kept line was lost");
    }
}

#[test]
fn keep_where_nothing_is_ever_shed_is_refused() {
    let out = bpipe(&["--keep", "ERROR"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("bpipe: --keep spares items from shedding, but --policy block never"),
        "{stderr}"
    );
}

#[test]
fn the_dead_letter_file_must_be_a_file_of_its_own() {
    let dir = temp_path("dead-letter-own");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("in");
    std::fs::write(&input, "a\nb\n").unwrap();
    let fifo = dir.join("fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    let stats = dir.join("stats");
    let (input, fifo, stats) = (
        input.to_str().unwrap(),
        fifo.to_str().unwrap(),
        stats.to_str().unwrap(),
    );
    for (args, says) in [
        (&["--dead-letter", input, input][..], "is also"),
        (
            &["--dead-letter", stats, "--stats-file", stats],
            "is also --stats-file",
        ),
        (&["--dead-letter", fifo], "not a regular file"),
    ] {
        let out = bpipe(args)
            .args(["--policy", "drop"])
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.starts_with("bpipe: --dead-letter "), "{stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    assert_eq!(std::fs::read(dir.join("in")).unwrap(), b"a\nb\n");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_last_line_without_its_newline_is_dead_lettered_as_a_whole_line() {
    let dead = temp_path("dead-letter-tail");
    let _ = std::fs::remove_file(&dead);
    let args = [
        "--policy",
        "drop",
        "--cap",
        "4",
        "--dead-letter",
        dead.to_str().unwrap(),
    ];
    // The last line comes after the consumer has been stalled long enough to be behind.
    let mut child = spawn(bpipe(&args));
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&log_lines(50_000)).unwrap();
    thread::sleep(Duration::from_millis(300));
    stdin.write_all(b"tail without a newline").unwrap();
    drop(stdin);
    thread::sleep(Duration::from_millis(300));
    let out = all_stdout(&mut child);
    let stderr = all_stderr(&mut child);
    assert!(child.wait().unwrap().success(), "{stderr}");
    let file = std::fs::read(&dead).unwrap();
    std::fs::remove_file(&dead).unwrap();
    // Shed in the order shed (not input order), each whole with its newline.
    assert!(!out.ends_with(b"tail without a newline"));
    let whole = b"\ntail without a newline\n";
    assert!(
        file.windows(whole.len()).any(|w| w == whole),
        "the last line was not shed"
    );
    assert!(file.ends_with(b"\n"));
}

#[test]
fn a_dead_letter_file_that_fills_holds_whole_lines_and_the_books_agree() {
    // A full disk (here the file-size limit, which fails a write part-way just as ENOSPC
    // does): what reached the file is cut back to whole lines, and exactly those count.
    let dead = temp_path("dead-letters-fill");
    let args = [
        "--policy",
        "drop",
        "--cap",
        "10",
        "--dead-letter",
        dead.to_str().unwrap(),
        "--stats-format",
        "json",
        "--summary",
    ];
    let cmd = with_file_size_limit(bpipe(&args), 100_000);
    let out = run_stalled(cmd, numbered_lines(200_000));
    assert_eq!(out.code(), Some(0), "{}", out.stderr);
    assert!(out.stderr.contains("File too large"), "{}", out.stderr);
    let record: serde_json::Value =
        serde_json::from_str(out.stderr.lines().last().unwrap()).unwrap();
    let file = std::fs::read(&dead).unwrap();
    std::fs::remove_file(&dead).unwrap();
    assert!(file.ends_with(b"\n"), "a torn last line");
    let lines = file.iter().filter(|&&b| b == b'\n').count() as u64;
    assert_eq!(
        record["dead_lettered_items"].as_u64(),
        Some(lines),
        "{record}"
    );
    assert_eq!(
        record["dead_lettered_bytes"].as_u64(),
        Some(file.len() as u64),
        "{record}"
    );
    let n = |key: &str| record[key].as_u64().unwrap();
    assert_eq!(
        n("dropped_items"),
        n("dead_lettered_items") + n("discarded_items"),
        "{record}"
    );
}
