//! End-to-end tests of reporting: records, the drop warning, SIGUSR1, the live view.

mod util;

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::Stdio;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use serde_json::Value;
use util::{bpipe, numbered_lines, run, run_stalled, spawn, stderr_lines};

const DEADLINE: Duration = Duration::from_secs(20);

const FIELDS: &[&str] = &[
    "event",
    "name",
    "elapsed_s",
    "in_items",
    "in_bytes",
    "out_items",
    "out_bytes",
    "dropped_items",
    "dropped_bytes",
    "undelivered_items",
    "undelivered_bytes",
    "depth_items",
    "depth_bytes",
    "in_hand_items",
    "in_hand_bytes",
    "torn_items",
    "max_depth_items",
    "max_depth_bytes",
    "cap_items",
    "cap_bytes",
    "blocked_s",
    "policy",
];

fn parse_records(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// Checks a record has every field and its books balance.
fn check(record: &Value) {
    for field in FIELDS {
        assert!(record.get(field).is_some(), "no {field} in {record}");
    }
    for unit in ["items", "bytes"] {
        let n = |what: &str| record[format!("{what}_{unit}")].as_u64().unwrap();
        assert_eq!(
            n("in"),
            n("out") + n("dropped") + n("undelivered") + n("depth") + n("in_hand"),
            "{unit} do not add up in {record}"
        );
    }
}

#[test]
fn json_records_parse_carry_every_field_and_add_up() {
    let input = numbered_lines(200_000);
    let args = [
        "--stats-format",
        "json",
        "--stats-interval",
        "10ms",
        "--policy",
        "slide",
        "--cap",
        "500",
        "-N",
        "ingest",
    ];
    let out = run_stalled(bpipe(&args), input);
    assert_eq!(out.code(), Some(0), "{}", out.stderr);
    let records = parse_records(&out.stderr);
    records.iter().for_each(check);
    let last = records.last().unwrap();
    assert_eq!(last["event"], "final");
    assert_eq!(last["name"], "ingest");
    assert_eq!(last["policy"], "slide");
    assert_eq!(last["cap_items"], 500);
    assert_eq!(last["depth_items"], 0);
    assert_eq!(last["in_items"], 200_000);
    assert_eq!(records.iter().filter(|r| r["event"] == "final").count(), 1);
}

#[test]
fn the_drop_warning_is_printed_once_for_one_spell_of_drops() {
    // The consumer does not read; the producer writes far more than fits, twice.
    let mut child = spawn(bpipe(&["--policy", "drop", "--cap", "100"]));
    let mut stdin = child.stdin.take().unwrap();
    let rx = stderr_lines(&mut child);
    stdin.write_all(&numbered_lines(300_000)).unwrap();
    let warning = rx
        .recv_timeout(DEADLINE)
        .expect("no warning while dropping");
    assert!(
        warning.starts_with("bpipe: dropping under --policy drop: "),
        "{warning}"
    );
    stdin.write_all(&numbered_lines(300_000)).unwrap();
    drop(stdin);
    let mut stdout = Vec::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_end(&mut stdout)
        .unwrap();
    assert!(child.wait().unwrap().success());
    let rest: Vec<String> = rx.iter().collect();
    assert!(
        !rest.iter().any(|l| l.contains("dropping")),
        "a second warning: {rest:?}"
    );
    assert!(
        rest.last().unwrap().starts_with("bpipe: in 600000 lines"),
        "{rest:?}"
    );
}

#[test]
fn stats_file_gets_the_records_appended() {
    let path = std::env::temp_dir().join(format!("bpipe-stats-{}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let args = [
        "--stats-file",
        path.to_str().unwrap(),
        "--stats-format",
        "json",
    ];
    // The second run is quiet: stderr stays silent, but the file still gets its record.
    for quiet in [false, true] {
        let mut args = args.to_vec();
        if quiet {
            args.push("-q");
        }
        let out = run(bpipe(&args), b"a\nb\n".to_vec());
        assert_eq!(out.stdout, b"a\nb\n");
        assert_eq!(out.stderr, "", "records went to stderr");
    }
    let records = parse_records(&std::fs::read_to_string(&path).unwrap());
    std::fs::remove_file(&path).unwrap();
    assert_eq!(records.len(), 2);
    records.iter().for_each(check);
    assert!(
        records
            .iter()
            .all(|r| r["event"] == "final" && r["out_items"] == 2)
    );
}

#[test]
fn an_unwritable_stats_file_is_refused_before_reading() {
    let out = bpipe(&["--stats-file", "/nonexistent/dir/stats"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with("bpipe: --stats-file /nonexistent/dir/stats: "),
        "{stderr}"
    );
}

#[test]
fn drops_exit_tells_a_script_that_items_were_shed() {
    let args = ["--policy", "drop", "--cap", "10", "--drops-exit", "4", "-q"];
    let out = run_stalled(bpipe(&args), numbered_lines(300_000));
    assert_eq!(out.code(), Some(4), "{:?} {}", out.status, out.stderr);
    assert_eq!(out.stderr, "");
    let out = run(bpipe(&["--drops-exit", "4"]), b"fine\n".to_vec());
    assert_eq!(out.code(), Some(0));
    let out = bpipe(&["--drops-exit", "0"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn sigusr1_prints_a_record_and_the_stream_goes_on() {
    let mut child = spawn(bpipe(&["--stats-format", "json", "--summary"]));
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let rx = stderr_lines(&mut child);
    stdin.write_all(b"one\n").unwrap();
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(line, "one\n");
    // bpipe is running (it passed a line on), so its handler is in place.
    unsafe { libc::kill(child.id() as i32, libc::SIGUSR1) };
    let record: Value =
        serde_json::from_str(&rx.recv_timeout(DEADLINE).expect("no record")).unwrap();
    assert_eq!(record["event"], "tick");
    // The line is out, though the writer may not have counted it yet: then it is held.
    assert_eq!(record["in_items"], 1);
    check(&record);
    stdin.write_all(b"two\n").unwrap();
    drop(stdin);
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "two\n");
    assert!(child.wait().unwrap().success());
    let last: Value = serde_json::from_str(&rx.recv_timeout(DEADLINE).unwrap()).unwrap();
    assert_eq!(last["event"], "final");
    assert_eq!(last["out_items"], 2);
}

/// A pseudo-terminal: (controller, terminal side).
fn pty(cols: u16) -> (File, OwnedFd) {
    let (mut controller, mut terminal) = (0, 0);
    let size = libc::winsize {
        ws_row: 24,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
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
            File::from_raw_fd(controller),
            OwnedFd::from_raw_fd(terminal),
        )
    }
}

/// Runs bpipe with stderr on a terminal, feeding `input` and holding stdin open until
/// `until` shows on the screen; returns everything written to the terminal and stdout.
fn on_terminal(args: &[&str], input: &[u8], until: &str, cols: u16) -> (String, Vec<u8>) {
    let (mut screen, terminal) = pty(cols);
    let mut cmd = bpipe(args);
    cmd.env("TERM", "xterm");
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(terminal));
    let mut child = cmd.spawn().unwrap();
    drop(cmd); // the parent's copy of the terminal side, so the screen reaches EOF
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let reader = thread::spawn(move || {
        let mut out = Vec::new();
        stdout.read_to_end(&mut out).unwrap();
        out
    });
    stdin.write_all(input).unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut buf = [0; 4096];
        // Reading the controller fails with EIO once the terminal side is closed: the end.
        while let Ok(n) = screen.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let started = std::time::Instant::now();
    while !String::from_utf8_lossy(&seen).contains(until) {
        assert!(started.elapsed() < DEADLINE, "never showed {until:?}");
        seen.extend(rx.recv_timeout(DEADLINE).unwrap_or_else(|_| {
            panic!(
                "never showed {until:?}: {:?}",
                String::from_utf8_lossy(&seen)
            )
        }));
    }
    drop(stdin);
    assert!(child.wait().unwrap().success());
    seen.extend(rx.iter().flatten());
    (
        String::from_utf8_lossy(&seen).into_owned(),
        reader.join().unwrap(),
    )
}

/// The lines a terminal shows: escape sequences removed, split at carriage returns and
/// newlines.
fn shown_lines(screen: &str) -> Vec<String> {
    let mut plain = String::new();
    let mut chars = screen.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            // CSI: ESC [ parameters, then a final letter.
            if chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            continue;
        }
        plain.push(c);
    }
    // indicatif pads a frame with blanks to clear what was there: not part of the line.
    plain
        .split(['\r', '\n'])
        .map(|l| l.trim_end().to_string())
        .collect()
}

#[test]
fn the_live_view_fits_40_80_and_120_columns_and_clears_at_exit() {
    let input = numbered_lines(1000);
    for (cols, until, shows) in [
        (
            120u16,
            "total 1.00k",
            &["in ", "out ", "5.00k lines", "B/s in", "block"][..],
        ),
        (80, "out ", &["in ", "5.00k lines"][..]),
        (40, "00:00:0", &["%"][..]),
    ] {
        let (screen, stdout) = on_terminal(&["--cap", "5000", "-N", "web"], &input, until, cols);
        assert_eq!(stdout, input, "the live view touched stdout");
        let lines = shown_lines(&screen);
        // Frames of the live view (the final record is an ordinary line and may wrap).
        for line in lines.iter().filter(|l| !l.starts_with("bpipe")) {
            assert!(
                line.chars().count() < usize::from(cols),
                "{cols} columns: a line of {}: {line:?}",
                line.chars().count()
            );
        }
        let frames: Vec<&String> = lines.iter().filter(|l| l.contains("00:00:0")).collect();
        let last = frames.last().expect("a frame");
        for field in shows {
            assert!(
                last.contains(field),
                "{cols} columns: no {field:?} in {last:?}"
            );
        }
        if cols == 120 {
            assert!(last.starts_with("[web]  ["), "{last:?}");
        }
        // Cleared, then replaced by the final record (a terminal always gets it).
        let drawn = screen.rfind("00:00:0").unwrap();
        let summary = screen
            .rfind("bpipe[web]: in 1000 lines")
            .expect("a final record");
        assert!(summary > drawn);
        assert!(
            screen[drawn..summary].contains("\x1b[2K"),
            "not cleared: {screen:?}"
        );
    }
}

#[test]
fn no_progress_draws_nothing_on_a_terminal() {
    let input = numbered_lines(10);
    let (screen, stdout) = on_terminal(&["--no-progress"], &input, "", 200);
    assert_eq!(stdout, input);
    assert!(screen.starts_with("bpipe: in 10 lines"), "{screen:?}");
    assert!(!screen.contains("\x1b["), "{screen:?}");
}

#[test]
fn a_forced_live_view_off_a_terminal_is_plain_lines() {
    let mut child = spawn(bpipe(&["--progress"]));
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let rx = stderr_lines(&mut child);
    stdin.write_all(b"one\n").unwrap();
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let status = rx.recv_timeout(DEADLINE).expect("a status line");
    assert!(
        status.contains("00:00:0") && status.contains('%'),
        "{status:?}"
    );
    assert!(
        !status.contains('\x1b') && !status.contains('\r'),
        "{status:?}"
    );
    drop(stdin);
    assert!(child.wait().unwrap().success());
}
