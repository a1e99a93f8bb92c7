//! End-to-end tests of the live view on a pseudo-terminal: its width, its clearing, and a
//! stop by ^C typed at the terminal.

mod util;

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::Stdio;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use util::{bpipe, numbered_lines, pty, spawn, stderr_lines};

const DEADLINE: Duration = Duration::from_secs(20);

/// What the terminal shows, as it comes, from a thread of its own: reading the controller
/// fails with EIO once the terminal side is closed, the end.
fn watch(mut screen: File) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut buf = [0; 4096];
        while let Ok(n) = screen.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    rx
}

/// Runs bpipe with stderr on a terminal, feeding `input` and holding stdin open until
/// `until` shows on the screen; returns everything written to the terminal and stdout.
fn on_terminal(args: &[&str], input: &[u8], until: &str, cols: u16) -> (String, Vec<u8>) {
    let (screen, terminal) = pty(cols);
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
    let rx = watch(screen);
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
            // (The policy, the lowest field, fits 120 columns only while no wait p99 shows:
            // which fields fit is the unit tests' to check.)
            &["in ", "out ", "5.00k lines", "B/s in"][..],
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

/// What a terminal `cols` wide shows once `stream` has been written to it: its rows, as a
/// VT100 would keep them (a character written in the last column wraps only when the next
/// one comes; `\r`, `\n`, cursor up and down, and erasing in line or display).
fn screen_rows(stream: &str, cols: usize) -> Vec<String> {
    let mut rows: Vec<Vec<char>> = vec![Vec::new()];
    let (mut row, mut col, mut pending_wrap) = (0usize, 0usize, false);
    let mut chars = stream.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\x1b' if chars.peek() == Some(&'[') => {
                chars.next();
                let mut params = String::new();
                let mut fin = ' ';
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        fin = c;
                        break;
                    }
                    params.push(c);
                }
                let n: usize = params.trim_start_matches('?').parse().unwrap_or(0);
                pending_wrap = false;
                match fin {
                    'A' => row = row.saturating_sub(n.max(1)),
                    'B' => row += n.max(1),
                    'G' => col = n.saturating_sub(1),
                    'K' if n == 2 => rows[row].clear(),
                    'K' => rows[row].truncate(col),
                    'J' => {
                        rows[row].truncate(col);
                        rows.truncate(row + 1);
                    }
                    _ => {}
                }
            }
            '\x1b' => {}
            '\r' => (col, pending_wrap) = (0, false),
            '\n' => (row, pending_wrap) = (row + 1, false),
            c => {
                if pending_wrap {
                    (row, col, pending_wrap) = (row + 1, 0, false);
                }
                while rows.len() <= row {
                    rows.push(Vec::new());
                }
                let line = &mut rows[row];
                if line.len() <= col {
                    line.resize(col + 1, ' ');
                }
                line[col] = c;
                match col + 1 == cols {
                    true => pending_wrap = true,
                    false => col += 1,
                }
            }
        }
        while rows.len() <= row {
            rows.push(Vec::new());
        }
    }
    rows.into_iter()
        .map(|r| r.into_iter().collect::<String>().trim_end().to_string())
        .collect()
}

#[test]
fn a_typed_ctrl_c_leaves_no_frame_behind_and_the_drain_is_shown() {
    use std::os::unix::process::CommandExt;
    let cols = 60u16;
    let (screen, terminal) = pty(cols);
    let mut keyboard = screen.try_clone().unwrap();
    let mut cmd = bpipe(&["--rate", "20/s", "--drain-timeout", "1s", "-N", "web"]);
    cmd.env("TERM", "xterm");
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(terminal));
    // bpipe in a session of its own whose controlling terminal is the pty, so that ^C typed
    // there is a SIGINT to it and is echoed as a terminal does.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 || libc::ioctl(2, libc::TIOCSCTTY, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    drop(cmd);
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    thread::spawn(move || {
        let mut out = Vec::new();
        let _ = stdout.read_to_end(&mut out);
    });
    stdin.write_all(&numbered_lines(1000)).unwrap();
    let rx = watch(screen);
    let mut seen = Vec::new();
    let wait_for = |text: &str, seen: &mut Vec<u8>| {
        while !String::from_utf8_lossy(seen).contains(text) {
            let more = rx.recv_timeout(DEADLINE);
            seen.extend(more.unwrap_or_else(|_| panic!("never showed {text:?}")));
        }
    };
    // A frame with the rates in it: the line is as wide as it gets.
    wait_for("00:00:01", &mut seen);
    keyboard.write_all(b"\x03").unwrap();
    wait_for("draining", &mut seen);
    let status = child.wait().unwrap();
    drop(stdin);
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(libc::SIGINT), "{status:?}");
    seen.extend(rx.iter().flatten());
    let stream = String::from_utf8_lossy(&seen);
    assert!(stream.contains("^C"), "no echo: {stream:?}");
    let rows = screen_rows(&stream, usize::from(cols));
    assert!(
        rows.iter().all(|r| !r.contains("00:00:0")),
        "a frame was left on the screen: {rows:#?}"
    );
    assert!(
        rows.iter().any(|r| r.contains("stopping on signal 2")),
        "{rows:#?}"
    );
    assert!(
        rows.iter().any(|r| r.contains("bpipe[web]: in 1000 lines")),
        "{rows:#?}"
    );
}
