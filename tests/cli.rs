//! End-to-end tests of the bpipe binary: real processes, real pipes.

mod util;

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, Write};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use util::{bpipe, is_subsequence, items, noise, numbered_lines, run, run_stalled, spawn};

/// Generous deadline for things that should happen at once: only a hang exceeds it.
const DEADLINE: Duration = Duration::from_secs(20);

fn assert_passthrough(args: &[&str], input: Vec<u8>) {
    let mut args = args.to_vec();
    args.push("--summary");
    let out = run(bpipe(&args), input.clone());
    assert_eq!(out.code(), Some(0), "stderr: {}", out.stderr);
    assert!(
        out.stdout == input,
        "output differs from input ({} vs {} bytes)",
        out.stdout.len(),
        input.len()
    );
    assert_eq!(out.count("dropped"), 0);
    assert_eq!(out.count("undelivered"), 0);
}

#[test]
fn block_passes_text_through_byte_for_byte() {
    let input = numbered_lines(200_000);
    assert_passthrough(&[], input.clone());
    // A tiny queue splits batches at every bound and still loses nothing.
    assert_passthrough(&["--cap", "3", "--cap-bytes", "100"], input);
}

#[test]
fn block_passes_binary_through_byte_for_byte() {
    let input = noise(3 << 20, 7);
    assert_passthrough(&[], input.clone());
    assert_passthrough(&["--chunk", "1000", "--cap", "5"], input.clone());
    assert_passthrough(&["-0"], input);
}

#[test]
fn block_passes_nul_records_and_crlf_untouched() {
    let mut input = Vec::new();
    for i in 0..50_000 {
        write!(input, "record {i}\r\nwith newline\0").unwrap();
    }
    input.extend_from_slice(b"last record has no terminator");
    let out = run(bpipe(&["-0", "--summary"]), input.clone());
    assert_eq!(out.stdout, input);
    assert_eq!(out.count("in"), 50_001);
    assert!(out.summary().contains(" records "), "{}", out.summary());
}

#[test]
fn a_huge_line_without_newline_passes_through_in_pieces() {
    let input = vec![b'x'; 5 << 20];
    let out = run(bpipe(&["--max-line", "64KiB", "--summary"]), input.clone());
    assert_eq!(out.code(), Some(0));
    assert!(out.stdout == input);
    // Cut into 64 KiB pieces: memory never held the whole line.
    assert_eq!(out.count("in"), 80);
    assert!(out.summary().contains("max depth"));
}

#[test]
fn a_lone_line_is_passed_on_at_once() {
    let mut child = spawn(bpipe(&[]));
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"hello\n").unwrap();
    stdin.flush().unwrap();
    // stdin stays open: bpipe must not wait for more input or for EOF.
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        tx.send(line).unwrap();
    });
    let line = rx.recv_timeout(DEADLINE).expect("the line was held back");
    assert_eq!(line, "hello\n");
    drop(stdin);
    assert!(child.wait().unwrap().success());
}

#[test]
fn drop_keeps_a_subsequence_and_the_counts_add_up() {
    let input = numbered_lines(300_000);
    let out = run_stalled(bpipe(&["--cap", "100", "--policy", "drop"]), input.clone());
    assert_eq!(out.code(), Some(0), "stderr: {}", out.stderr);
    let (got, all) = (items(&out.stdout, b'\n'), items(&input, b'\n'));
    assert!(
        is_subsequence(&got, &all),
        "output is not a subsequence of whole input lines"
    );
    assert_eq!(out.count("in"), all.len() as u64);
    assert_eq!(out.count("out"), got.len() as u64);
    assert_eq!(out.count("in"), out.count("out") + out.count("dropped"));
    assert!(
        out.count("dropped") > 0,
        "nothing was shed: {}",
        out.summary()
    );
    // drop sheds the newest: the first line always gets through.
    assert_eq!(got[0], all[0]);
}

#[test]
fn slide_keeps_a_subsequence_with_the_freshest_lines() {
    let input = numbered_lines(300_000);
    let out = run_stalled(bpipe(&["--cap", "100", "--policy", "slide"]), input.clone());
    assert_eq!(out.code(), Some(0), "stderr: {}", out.stderr);
    let (got, all) = (items(&out.stdout, b'\n'), items(&input, b'\n'));
    assert!(is_subsequence(&got, &all));
    assert_eq!(out.count("in"), out.count("out") + out.count("dropped"));
    assert_eq!(out.count("out"), got.len() as u64);
    assert!(out.count("dropped") > 0);
    // slide sheds the oldest: the last 100 lines always get through.
    assert_eq!(&got[got.len() - 100..], &all[all.len() - 100..]);
}

#[test]
fn shedding_drops_an_overlong_line_whole() {
    let mut input = b"short\n".to_vec();
    input.extend(vec![b'y'; 100_000]);
    input.extend_from_slice(b"\nafter\n");
    let out = run(bpipe(&["--policy", "slide", "--max-line", "1KiB"]), input);
    assert_eq!(out.stdout, b"short\nafter\n");
    assert_eq!(out.count("dropped"), 1);
    assert!(
        out.summary().contains("1 over --max-line"),
        "{}",
        out.summary()
    );
}

#[test]
fn fail_delivers_what_was_queued_and_exits_3() {
    let input = numbered_lines(300_000);
    let out = run_stalled(bpipe(&["--cap", "10", "--policy", "fail"]), input.clone());
    assert_eq!(out.code(), Some(3), "stderr: {}", out.stderr);
    assert!(
        out.stderr
            .contains("bpipe: queue full: --cap 10 items reached"),
        "{}",
        out.stderr
    );
    let (got, all) = (items(&out.stdout, b'\n'), items(&input, b'\n'));
    // Everything before the overflow, in order, nothing after it.
    assert_eq!(got, &all[..got.len()]);
    assert_eq!(out.count("out"), got.len() as u64);
    // fail sheds nothing: what was read after the queue filled is undelivered.
    assert_eq!(out.count("dropped"), 0);
    assert_eq!(out.count("in"), out.count("out") + out.count("undelivered"));
    assert!(!out.stderr.contains("dropping"), "{}", out.stderr);
}

#[test]
fn fail_keeps_its_status_when_the_consumer_leaves_afterwards() {
    let mut child = spawn(bpipe(&["--policy", "fail", "--cap", "3"]));
    let mut stdin = child.stdin.take().unwrap();
    let feeder = thread::spawn(move || {
        let _ = stdin.write_all(&numbered_lines(100_000));
    });
    let stdout = child.stdout.take().unwrap();
    // The consumer reads nothing for a while (bpipe meets the full queue and stops reading,
    // holding what it queued for it), then leaves without reading.
    thread::sleep(Duration::from_millis(500));
    drop(stdout);
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    feeder.join().unwrap();
    assert_eq!(status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("queue full: --cap 3 items"), "{stderr}");
}

#[test]
fn a_fifo_opened_by_name_gets_the_output() {
    // RWF_NOWAIT is refused on a named FIFO: bpipe must fall back, not fail.
    let dir = std::env::temp_dir().join(format!("bpipe-fifo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("out");
    let path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid C string.
    assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o600) }, 0);
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).unwrap())
    };
    let input = numbered_lines(50_000);
    let mut child = bpipe(&["--policy", "slide", "--cap", "10"])
        .stdin(Stdio::piped())
        .stdout(std::fs::OpenOptions::new().write(true).open(&fifo).unwrap())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&input).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        reader.join().unwrap() == input,
        "the FIFO did not get the input"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn block_timeout_falls_back_to_its_policy() {
    let input = numbered_lines(300_000);
    let args = [
        "--cap",
        "10",
        "--block-timeout",
        "10ms",
        "--on-timeout",
        "drop",
    ];
    let out = run_stalled(bpipe(&args), input.clone());
    assert_eq!(out.code(), Some(0), "stderr: {}", out.stderr);
    assert!(is_subsequence(
        &items(&out.stdout, b'\n'),
        &items(&input, b'\n')
    ));
    assert!(out.count("dropped") > 0);
    assert_eq!(out.count("in"), out.count("out") + out.count("dropped"));
    assert!(
        out.summary().contains("(block 10ms, then drop)"),
        "{}",
        out.summary()
    );
}

#[test]
fn a_closed_pipe_downstream_ends_quietly_with_status_0() {
    // Like `endless producer | bpipe --summary | head -1`.
    let mut child = spawn(bpipe(&["--summary"]));
    let mut stdin = child.stdin.take().unwrap();
    let feeder = thread::spawn(move || {
        let chunk = numbered_lines(1000);
        while stdin.write_all(&chunk).is_ok() {}
    });
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert_eq!(first, "line 0 \n");
    // The reader above is dropped: the pipe is closed.
    let (tx, rx) = mpsc::channel();
    let mut stderr = child.stderr.take().unwrap();
    thread::spawn(move || {
        let mut text = String::new();
        stderr.read_to_string(&mut text).unwrap();
        tx.send((child.wait().unwrap(), text)).unwrap();
    });
    let (status, stderr) = rx.recv_timeout(DEADLINE).expect("bpipe did not stop");
    assert_eq!(status.code(), Some(0), "stderr: {stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
        "{stderr}"
    );
    assert!(stderr.contains(", output closed, "), "{stderr}");
    // The producer is released too (bpipe closed its stdin).
    feeder.join().unwrap();
}

#[test]
fn a_read_error_is_reported_with_status_1() {
    let dir = std::env::temp_dir();
    let out = bpipe(&[]).stdin(File::open(dir).unwrap()).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("bpipe: reading stdin: Is a directory"),
        "{stderr}"
    );
}

/// Runs bpipe with `args` on a file as stdin; returns status, stderr and how far stdin was
/// read (the offset is shared with bpipe's descriptor).
fn reject(args: &[&str]) -> (Option<i32>, String, u64) {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let run = RUNS.fetch_add(1, Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("bpipe-reject-{}-{run}", std::process::id()));
    std::fs::write(&path, b"some input\n").unwrap();
    let mut file = File::open(&path).unwrap();
    let out = bpipe(args)
        .stdin(Stdio::from(file.try_clone().unwrap()))
        .output()
        .unwrap();
    let offset = file.stream_position().unwrap();
    std::fs::remove_file(&path).unwrap();
    (
        out.status.code(),
        String::from_utf8(out.stderr).unwrap(),
        offset,
    )
}

#[test]
fn bad_values_are_rejected_before_reading() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["--cap", "0"],
            "bpipe: --cap must be at least 1 item, e.g. --cap 64\n",
        ),
        (
            &["--cap-bytes", "0"],
            "bpipe: --cap-bytes must be at least 1 byte, e.g. --cap-bytes 16MiB\n",
        ),
        (
            &["--chunk", "0"],
            "bpipe: --chunk must be at least 1 byte, e.g. --chunk 64KiB\n",
        ),
        (
            &["--policy", "slide", "--block-timeout", "1s"],
            "bpipe: --block-timeout works only with --policy block, e.g. --policy block \
             --block-timeout 200ms --on-timeout drop\n",
        ),
        (
            &["--rate", "10/s", "--burst", "0"],
            "bpipe: --burst must be at least 1, e.g. --burst 10 or --burst 64KiB\n",
        ),
        (
            &["--rate", "10MiB/s", "--burst", "10"],
            "bpipe: --burst 10 is a count, but --rate 10MiB/s counts bytes: give a size, \
             e.g. --burst 64KiB\n",
        ),
        (
            &["no-such-file"],
            "bpipe: no-such-file: No such file or directory\n",
        ),
        (
            &["--policy", "slide", "--keep", "ERROR", "--keep", "a(b"],
            "bpipe: --keep 'a(b': unclosed group\n",
        ),
        (
            &["--keep", "ERROR", "--chunk", "4KiB"],
            "bpipe: --keep matches lines or records, not --chunk chunks: drop --chunk, \
             e.g. --keep 'ERROR|FATAL'\n",
        ),
        (
            &["--mark-drops", "--chunk", "4KiB"],
            "bpipe: --mark-drops writes a line between items, not between --chunk chunks: \
             drop --chunk, e.g. --mark-drops\n",
        ),
        (
            &["--mark-drops={count} gone"],
            "bpipe: --mark-drops: unknown placeholder in '{count} gone'; use {items}, {unit}, \
             {bytes}, {policy}, {name}\n",
        ),
        (
            &["--dead-letter", "/nonexistent-dir/shed.log"],
            "bpipe: --dead-letter /nonexistent-dir/shed.log: No such file or directory\n",
        ),
        (
            &["--stats-file", "-"],
            "bpipe: --stats-file - would be a file named '-': records go to stderr without \
             --stats-file; give a path, e.g. --stats-file stats.jsonl\n",
        ),
        (
            &["--max-age", "0s"],
            "bpipe: --max-age must be more than 0, e.g. --max-age 5s\n",
        ),
        (
            &["--stall-timeout", "0s", "--on-stall", "fail"],
            "bpipe: --stall-timeout must be more than 0, e.g. --stall-timeout 30s\n",
        ),
    ];
    for (args, message) in cases {
        let (code, stderr, offset) = reject(args);
        assert_eq!(code, Some(2), "{args:?}");
        assert_eq!(&stderr, message, "{args:?}");
        assert_eq!(offset, 0, "{args:?} read stdin");
    }
}

#[test]
fn malformed_flags_get_one_line_before_reading() {
    for args in [
        &["--cap", "many"][..],
        &["--cap-bytes", "lots"],
        &["--policy", "sometimes"],
        &["--block-timeout", "soon"],
        &["--on-timeout", "drop"],
        &["--chunk", "1KiB", "-0"],
        &["--bogus"],
    ] {
        let (code, stderr, offset) = reject(args);
        assert_eq!(code, Some(2), "{args:?}");
        assert!(stderr.starts_with("bpipe: "), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: one line: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(offset, 0, "{args:?} read stdin");
    }
}

#[test]
fn quiet_prints_no_summary() {
    let out = run(bpipe(&["-q"]), b"a\n".to_vec());
    assert_eq!(out.stdout, b"a\n");
    assert_eq!(out.stderr, "");
}

#[test]
fn a_rate_limit_delivers_everything_in_order_and_not_too_early() {
    use std::time::Instant;
    let input = numbered_lines(100);
    let started = Instant::now();
    let out = run(bpipe(&["--rate", "200/s"]), input.clone());
    let took = started.elapsed();
    assert_eq!(out.code(), Some(0), "stderr: {}", out.stderr);
    assert_eq!(out.stdout, input);
    // 100 lines at 200/s with a burst of 1: the last is due 99/200 s after the first.
    assert!(
        took >= Duration::from_millis(495),
        "finished after {took:?}"
    );

    let input = noise(50 * 1024, 3);
    let started = Instant::now();
    let out = run(
        bpipe(&["--rate", "100KiB/s", "--burst", "2KiB"]),
        input.clone(),
    );
    let took = started.elapsed();
    assert_eq!(out.stdout, input);
    assert!(
        took >= Duration::from_millis(480),
        "finished after {took:?}"
    );
}

#[test]
fn bad_rates_and_bursts_are_rejected_before_reading() {
    for (args, says) in [
        (&["--rate", "0/s"][..], "the amount must be more than 0"),
        (
            &["--rate", "fast"],
            "e.g. 1000/s, 50/100ms, 30/min, 10MiB/s",
        ),
        (&["--rate", "10/0s"], "the period must be longer than 0"),
    ] {
        let (code, stderr, offset) = reject(args);
        assert_eq!(code, Some(2), "{args:?}");
        assert!(
            stderr.starts_with("bpipe: invalid value"),
            "{args:?}: {stderr}"
        );
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert_eq!(offset, 0, "{args:?} read stdin");
    }
    let (code, stderr, _) = reject(&["--rate", "10/s", "--burst", "4KiB"]);
    assert_eq!(code, Some(2));
    assert!(stderr.starts_with("bpipe: --burst 4KiB is a size, but --rate 10/s counts items"));
}
