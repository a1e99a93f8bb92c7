//! `bpipectl top` under a pseudo-terminal at 40, 80 and 120 columns, with three bpipes
//! running, one stalled: the table fits, shows each, the stalled one first; q quits.

mod util;

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use util::*;

/// A bpipe named `name` in `runtime`'s private directory, fed `input`, its output to
/// `stdout`.
fn named(runtime: &Path, name: &str, args: &[&str], input: Vec<u8>, stdout: Stdio) -> Fed {
    let mut cmd = bpipe(&[&["-q", "-N", name], args].concat());
    cmd.env("XDG_RUNTIME_DIR", runtime).stdout(stdout);
    Fed::start_with_stdout(cmd, input)
}

fn ctl_in(runtime: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin!("bpipectl"));
    cmd.args(args).env_clear().env("XDG_RUNTIME_DIR", runtime);
    cmd
}

/// Reads what `child` writes on the pty's controller until `done` holds of it.
fn read_until(controller: &mut std::fs::File, done: impl Fn(&str) -> bool) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    let mut reader = controller.try_clone().unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = reader.read(&mut buf) {
            if tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done(&String::from_utf8_lossy(&seen)) {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(bytes) => seen.extend(bytes),
            Err(_) => panic!("never done: {}", String::from_utf8_lossy(&seen)),
        }
    }
    String::from_utf8_lossy(&seen).into_owned()
}

#[test]
fn top_fits_40_80_and_120_columns_and_puts_the_stalled_bpipe_first() {
    let runtime = temp_dir("top");
    let stalled_args = ["--policy", "slide", "--cap", "100"];
    // Its stdout is a pipe nobody reads: stalled.
    let stalled = named(
        &runtime,
        "stalled",
        &stalled_args,
        numbered_lines(200_000),
        Stdio::piped(),
    );
    // A steady one, paced: it runs through the test.
    let fast = named(
        &runtime,
        "fast",
        &["--rate", "10/s"],
        numbered_lines(2000),
        Stdio::null(),
    );
    let mut idle_cmd = bpipe(&["-q", "-N", "idle"]);
    idle_cmd
        .env("XDG_RUNTIME_DIR", &runtime)
        .stdin(Stdio::piped())
        .stdout(Stdio::null());
    let idle = idle_cmd.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = ctl_in(&runtime, &["ls"]).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        // The stalled one full: its fill at 100% or over (what the reader holds counts).
        let full = text
            .lines()
            .find(|l| l.contains("stalled"))
            .and_then(|l| {
                l.split_whitespace()
                    .find_map(|w| w.strip_suffix('%')?.parse::<u32>().ok())
            })
            .is_some_and(|fill| fill >= 100);
        if full && text.contains("idle") {
            break;
        }
        assert!(Instant::now() < deadline, "{text}");
        std::thread::sleep(Duration::from_millis(20));
    }
    for cols in [40u16, 80, 120] {
        let (mut controller, terminal) = pty(cols);
        let out = std::fs::File::from(terminal);
        let mut cmd = ctl_in(&runtime, &["top", "--once"]);
        cmd.stdout(out).stderr(Stdio::null());
        let status = cmd.status().unwrap();
        assert!(status.success());
        let text = read_until(&mut controller, |t| t.contains("idle"));
        let lines: Vec<&str> = text.lines().map(|l| l.trim_end_matches('\r')).collect();
        assert!(
            lines.iter().all(|l| l.chars().count() <= cols as usize),
            "{cols}: {text}"
        );
        assert!(lines[0].starts_with("NAME"), "{cols}: {text}");
        assert!(
            lines[1].starts_with("stalled"),
            "the stalled bpipe first at {cols}: {text}"
        );
        assert!(lines[1].contains("########"), "{cols}: {text}");
        for name in ["fast", "idle"] {
            assert!(text.contains(name), "{name} at {cols}: {text}");
        }
        if cols >= 80 {
            assert!(lines[0].contains("DROPPED"), "{cols}: {text}");
        }
    }
    // Live: drawn on the alternate screen, q quits.
    let (mut controller, terminal) = pty(80);
    let terminal = std::fs::File::from(terminal);
    let mut cmd = ctl_in(&runtime, &["top", "--interval", "200ms"]);
    cmd.env("TERM", "xterm")
        .stdin(terminal.try_clone().unwrap())
        .stdout(terminal.try_clone().unwrap())
        .stderr(terminal);
    let mut child = cmd.spawn().unwrap();
    read_until(&mut controller, |t| {
        t.contains("stalled") && t.contains("idle")
    });
    std::io::Write::write_all(&mut controller, b"q").unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "q did not quit top");
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(status.success());
    for mut fed in [stalled, fast] {
        // SAFETY: a signal to our own child.
        unsafe { libc::kill(fed.child.id() as i32, libc::SIGKILL) };
        drop(fed.child.stdout.take());
        let _ = fed.finish();
    }
    let mut idle = idle;
    drop(idle.stdin.take());
    let _ = idle.wait();
}
