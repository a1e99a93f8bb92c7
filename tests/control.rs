//! bpipectl against running bpipes: changes take effect at once and keep the books, pause and
//! resume lose nothing, and the endpoint is the user's alone and leaves nothing behind.

mod util;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use util::*;

fn bpipectl(args: &[&str]) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin!("bpipectl"));
    cmd.args(args).env_clear();
    cmd
}

/// Runs bpipectl: its status and what it printed (stdout, then stderr).
fn ctl(args: &[&str]) -> (bool, String) {
    let out = bpipectl(args).output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

/// Waits until the socket at `path` answers.
fn wait_for(path: &Path) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while UnixStream::connect(path).is_err() {
        assert!(
            Instant::now() < deadline,
            "no control socket at {}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The current JSON record of the bpipe at `sock`.
fn stats(sock: &Path) -> serde_json::Value {
    let (ok, text) = ctl(&["stats", sock.to_str().unwrap(), "--json"]);
    assert!(ok, "{text}");
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// Polls the record until `ready` holds of it.
fn until(sock: &Path, ready: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let record = stats(sock);
        if ready(&record) {
            return record;
        }
        assert!(Instant::now() < deadline, "never ready: {record}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn balanced(r: &serde_json::Value) -> bool {
    n(r, "in_items") == n(r, "out_items") + n(r, "dropped_items") + n(r, "undelivered_items")
}

fn socket(dir: &Path) -> PathBuf {
    dir.join("ctl.sock")
}

/// `cmd` fed `input`, its stdout read to the end on a thread (joined for all it wrote).
fn fed_and_read(mut cmd: Command, input: Vec<u8>) -> (Fed, std::thread::JoinHandle<Vec<u8>>) {
    cmd.stdout(Stdio::piped());
    let mut fed = Fed::start_with_stdout(cmd, input);
    let reader = read_all(fed.child.stdout.take().unwrap());
    (fed, reader)
}

/// All that `stdout` gives, read on a thread of its own.
fn read_all(mut stdout: std::process::ChildStdout) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut all = Vec::new();
        stdout.read_to_end(&mut all).unwrap();
        all
    })
}

/// `cmd` started with its stdin the test's to write (after a pause, say) and its stdout read
/// to the end on a thread.
fn paused_later(mut cmd: Command) -> (std::process::Child, std::thread::JoinHandle<Vec<u8>>) {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let reader = read_all(child.stdout.take().unwrap());
    (child, reader)
}

/// A bpipe whose stdin the test holds open (it reads nothing until released).
fn held(mut cmd: Command) -> std::process::Child {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd.spawn().unwrap()
}

/// Ends a bpipe from [`held`]: its input ends; its status and stderr.
fn release(mut child: std::process::Child) -> (std::process::ExitStatus, String) {
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    (
        out.status,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_lowered_rate_applies_within_one_token_and_a_raised_one_too() {
    let dir = temp_dir("ctl-rate");
    let sock = socket(&dir);
    let mut cmd = bpipe(&[
        "--rate",
        "1000/s",
        "--control",
        sock.to_str().unwrap(),
        "-q",
    ]);
    cmd.stdout(Stdio::piped());
    let mut fed = Fed::start_with_stdout(cmd, numbered_lines(100_000));
    wait_for(&sock);
    let (lines, arrivals) = std::sync::mpsc::channel();
    let stdout = fed.child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if line.is_err() || lines.send(Instant::now()).is_err() {
                break;
            }
        }
    });
    std::thread::sleep(Duration::from_millis(300));
    for (rate, per_s) in [("100/s", 100.0), ("1000/s", 1000.0)] {
        let (ok, text) = ctl(&["set", sock.to_str().unwrap(), "rate", rate]);
        assert!(ok, "{text}");
        let changed = Instant::now();
        std::thread::sleep(Duration::from_millis(600));
        let times: Vec<Instant> = arrivals.try_iter().collect();
        let window = times
            .iter()
            .filter(|t| **t > changed && **t <= changed + Duration::from_millis(500))
            .count() as f64;
        // Never more than the new rate allows after the change, plus one burst (and one
        // line the writer had begun).
        assert!(
            window <= per_s * 0.5 + 2.0,
            "{window} lines in 500 ms at {rate}"
        );
        assert!(window > 0.0, "nothing at {rate}");
    }
    let (ok, text) = ctl(&["stop", sock.to_str().unwrap()]);
    assert!(ok, "{text}");
    // As on SIGTERM: it drains (for --drain-timeout), says so, and dies of the signal.
    let (status, _) = fed.finish();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(libc::SIGTERM)
    );
    reader.join().unwrap();
    assert!(!sock.exists(), "the socket outlived bpipe");
}

#[test]
fn a_lowered_cap_under_slide_sheds_the_excess_at_once_and_counts_it() {
    let dir = temp_dir("ctl-cap");
    let sock = socket(&dir);
    let args = [
        "--policy",
        "slide",
        "--cap",
        "1000",
        "--control",
        sock.to_str().unwrap(),
    ];
    let mut cmd = bpipe(&args);
    cmd.arg("--stats-format").arg("json");
    // A consumer that never reads: the queue fills to its cap.
    let mut fed = Fed::start(cmd, numbered_lines(200_000));
    wait_for(&sock);
    until(&sock, |r| n(r, "depth_items") == 1000);
    let (ok, text) = ctl(&["set", sock.to_str().unwrap(), "cap", "10"]);
    assert!(ok && text.contains("cap 1000 -> 10"), "{text}");
    let record = stats(&sock);
    assert!(n(&record, "depth_items") <= 10, "{record}");
    assert_eq!(record["cap_items"], 10, "{record}");
    assert!(n(&record, "dropped_items") >= 990, "{record}");
    let _ = ctl(&["stop", sock.to_str().unwrap()]);
    drop(fed.child.stdout.take());
    let (_, stderr) = fed.finish();
    let control = stderr
        .lines()
        .find(|l| l.contains("\"control\""))
        .expect("a control record");
    let control: serde_json::Value = serde_json::from_str(control).unwrap();
    assert_eq!(
        (
            control["setting"].as_str(),
            control["from"].as_str(),
            control["to"].as_str()
        ),
        (Some("cap"), Some("1000"), Some("10"))
    );
    assert!(control["peer_pid"].as_u64().is_some());
    assert!(balanced(&last_record(&stderr)), "{stderr}");
}

#[test]
fn switching_block_to_drop_releases_a_held_producer() {
    let dir = temp_dir("ctl-policy");
    let sock = socket(&dir);
    // A block that may shed (its timeout far off) frames long lines whole: its policy can
    // be changed while it runs.
    let args = [
        "--policy",
        "block",
        "--block-timeout",
        "1h",
        "--on-timeout",
        "drop",
        "--cap",
        "100",
        "--control",
        sock.to_str().unwrap(),
        "--stats-format",
        "json",
    ];
    let input = numbered_lines(100_000);
    let len = input.len();
    let mut fed = Fed::start(bpipe(&args), input);
    wait_for(&sock);
    // Held: the queue full, the producer not done.
    until(&sock, |r| {
        n(r, "depth_items") + n(r, "in_hand_items") >= 100
    });
    assert!(fed.written() < len);
    let (ok, text) = ctl(&["set", sock.to_str().unwrap(), "policy", "drop"]);
    assert!(ok, "{text}");
    fed.wait_fed();
    assert_eq!(fed.written(), len, "the producer was released");
    let _ = ctl(&["stop", sock.to_str().unwrap()]);
    drop(fed.child.stdout.take());
    let (_, stderr) = fed.finish();
    let last = last_record(&stderr);
    assert!(n(&last, "dropped_items") > 0 && balanced(&last), "{last}");
}

#[test]
fn pause_then_resume_under_block_is_byte_identical() {
    let dir = temp_dir("ctl-pause");
    let sock = socket(&dir);
    let input = numbered_lines(300_000);
    let cmd = bpipe(&["--cap", "1000", "--control", sock.to_str().unwrap(), "-q"]);
    let (mut child, reader) = paused_later(cmd);
    wait_for(&sock);
    // Paused before any input: none of it can have gone by.
    let (ok, text) = ctl(&["pause", sock.to_str().unwrap()]);
    assert!(ok && text.contains("flow flowing -> paused"), "{text}");
    let mut stdin = child.stdin.take().unwrap();
    let feed = input.clone();
    let feeder = std::thread::spawn(move || stdin.write_all(&feed).unwrap());
    // Paused: nothing goes out while the queue fills.
    let held = until(&sock, |r| {
        n(r, "depth_items") + n(r, "in_hand_items") >= 1000
    });
    assert_eq!(n(&held, "out_items"), 0, "{held}");
    assert_eq!(held["paused"], true, "{held}");
    let (ok, text) = ctl(&["resume", sock.to_str().unwrap()]);
    assert!(ok, "{text}");
    feeder.join().unwrap();
    let status = child.wait().unwrap();
    assert!(status.success());
    assert!(reader.join().unwrap() == input, "output differs from input");
}

#[test]
fn bad_values_are_refused_with_the_command_lines_words() {
    let dir = temp_dir("ctl-bad");
    let sock = socket(&dir);
    let child = held(bpipe(&["--control", sock.to_str().unwrap(), "-q"]));
    wait_for(&sock);
    let s = sock.to_str().unwrap();
    for (setting, value, says) in [
        ("rate", "5x", "invalid value '5x' for '--rate <RATE>'"),
        ("cap", "0", "--cap must be at least 1 item"),
        ("burst", "10", "has no rate"),
        // Plain block passes long lines on in pieces: no policy may shed them.
        ("policy", "slide", "started under --policy block"),
    ] {
        let (ok, text) = ctl(&["set", s, setting, value]);
        assert!(
            !ok && text.starts_with("bpipectl: ") && text.contains(says),
            "{setting} {value}: {text}"
        );
        assert_eq!(text.lines().count(), 1, "{text}");
    }
    // A refused value is bad usage, as on the command line: status 2.
    let refused = bpipectl(&["set", s, "cap", "0"]).output().unwrap();
    assert_eq!(refused.status.code(), Some(2));
    let (ok, text) = ctl(&["set", s, "colour", "red"]);
    assert!(!ok && text.contains("colour"), "{text}");
    let (status, _) = release(child);
    assert!(status.success());
}

/// Sends `request` raw and reads the answer.
fn raw(sock: &Path, request: &[u8]) -> String {
    let mut stream = UnixStream::connect(sock).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let _ = stream.write_all(request);
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer
}

#[test]
fn garbage_silence_and_a_thousand_connections_neither_block_the_pipe_nor_get_in() {
    let dir = temp_dir("ctl-hostile");
    let sock = socket(&dir);
    let input = numbered_lines(200_000);
    let cmd = bpipe(&[
        "--control",
        sock.to_str().unwrap(),
        "-q",
        "--rate",
        "100000/s",
    ]);
    let (fed, reader) = fed_and_read(cmd, input.clone());
    wait_for(&sock);
    // Silent clients hold connections; the pipe goes on regardless, and a request meanwhile
    // gets one line (busy, or its answer).
    let silent: Vec<UnixStream> = (0..1000)
        .filter_map(|_| UnixStream::connect(&sock).ok())
        .collect();
    let meanwhile = raw(&sock, b"stats\n");
    assert_eq!(
        meanwhile.lines().count(),
        2.min(meanwhile.lines().count()).max(1),
        "{meanwhile}"
    );
    drop(silent);
    // Once they are gone (each had a second to speak), requests are served again.
    let deadline = Instant::now() + Duration::from_secs(10);
    let garbage = loop {
        let answer = raw(&sock, &vec![b'x'; 1 << 20]);
        if !answer.starts_with("error: busy") || Instant::now() > deadline {
            break answer;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(garbage.starts_with("error: request too long"), "{garbage}");
    assert_eq!(garbage.lines().count(), 1);
    let escape = raw(&sock, b"\x1b[2J\n");
    assert!(escape.starts_with("error: unknown request"), "{escape}");
    assert!(!escape.contains('\x1b'), "{escape}");
    let (status, _) = fed.finish();
    assert!(status.success());
    assert!(reader.join().unwrap() == input, "output differs from input");
}

#[test]
fn a_socket_of_another_user_is_refused_by_the_client() {
    if !is_root() {
        eprintln!("skipped: needs root to make a socket of another user");
        return;
    }
    let dir = temp_dir("ctl-other");
    let path = dir.join("other.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    std::os::unix::fs::chown(&path, Some(65534), Some(65534)).unwrap();
    let (ok, text) = ctl(&["stats", path.to_str().unwrap()]);
    assert!(!ok && text.contains("belongs to another user"), "{text}");
}

#[test]
fn a_connection_from_another_user_is_refused_by_the_server() {
    let python = Path::new("/usr/bin/python3");
    if !is_root() || Command::new("setpriv").arg("--help").output().is_err() || !python.exists() {
        eprintln!("skipped: needs root, setpriv and /usr/bin/python3 to connect as another user");
        return;
    }
    let dir = temp_dir("ctl-intruder");
    let sock = socket(&dir);
    let child = held(bpipe(&["--control", sock.to_str().unwrap(), "-q"]));
    wait_for(&sock);
    // As if the socket's mode had slipped: the peer's uid is still checked.
    std::fs::set_permissions(&sock, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    // The refusal may come before the request is sent (then the send finds a closed socket).
    let script = format!(
        "import socket\ns = socket.socket(socket.AF_UNIX)\ns.connect({:?})\n\
         try:\n    s.sendall(b'stats json\\n')\nexcept OSError:\n    pass\n\
         print(s.recv(65536).decode())",
        sock.to_str().unwrap()
    );
    let out = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "/usr/bin/python3",
            "-c",
            &script,
        ])
        .output()
        .unwrap();
    let answer = String::from_utf8_lossy(&out.stdout);
    assert!(
        answer.starts_with("error: permission denied"),
        "{answer} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!answer.contains("in_items"));
    let _ = release(child);
}

fn is_root() -> bool {
    rustix_uid() == 0
}

fn rustix_uid() -> u32 {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() }
}

/// A bpipe with its private directory under `runtime`.
fn in_runtime(runtime: &Path, args: &[&str]) -> Command {
    let mut cmd = bpipe(args);
    cmd.env("XDG_RUNTIME_DIR", runtime);
    cmd
}

#[test]
fn a_symlinked_or_open_directory_is_refused_and_bpipe_runs_without_it() {
    let runtime = temp_dir("ctl-dirs");
    let elsewhere = temp_dir("ctl-dirs-target");
    std::os::unix::fs::symlink(&elsewhere, runtime.join("bpipe")).unwrap();
    let out = run(in_runtime(&runtime, &[]), b"a\n".to_vec());
    assert!(out.status.success());
    assert_eq!(out.stdout, b"a\n");
    assert!(out.stderr.contains("is a symlink"), "{}", out.stderr);
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
    std::fs::remove_file(runtime.join("bpipe")).unwrap();
    std::fs::create_dir(runtime.join("bpipe")).unwrap();
    std::fs::set_permissions(
        runtime.join("bpipe"),
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap();
    let out = run(in_runtime(&runtime, &[]), b"a\n".to_vec());
    assert!(out.stderr.contains("open to other users"), "{}", out.stderr);
    let mut ls = bpipectl(&["ls"]);
    ls.env("XDG_RUNTIME_DIR", &runtime);
    let out = ls.output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("open to other users"));
}

#[test]
fn no_socket_is_left_on_any_exit_and_a_killed_ones_is_cleaned() {
    let runtime = temp_dir("ctl-exits");
    let private = runtime.join("bpipe");
    let left = || std::fs::read_dir(&private).map(|d| d.count()).unwrap_or(0);
    // Normal end, a closed output, fail.
    let _ = run(in_runtime(&runtime, &["-q"]), numbered_lines(1000));
    assert_eq!(left(), 0, "after a normal exit");
    let mut fed = Fed::start(in_runtime(&runtime, &["-q"]), numbered_lines(100_000));
    drop(fed.child.stdout.take());
    let (status, _) = fed.finish();
    assert!(status.success());
    assert_eq!(left(), 0, "after a closed output");
    let args = ["-q", "--policy", "fail", "--cap", "10"];
    let out = run_stalled_for(
        in_runtime(&runtime, &args),
        numbered_lines(100_000),
        Duration::from_millis(300),
    );
    assert_eq!(out.code(), Some(3));
    assert_eq!(left(), 0, "after fail");
    // A signal, then SIGKILL.
    for signal in [libc::SIGTERM, libc::SIGKILL] {
        let child = held(in_runtime(&runtime, &["-q"]));
        let deadline = Instant::now() + Duration::from_secs(20);
        while left() == 0 {
            assert!(Instant::now() < deadline);
            std::thread::sleep(Duration::from_millis(5));
        }
        // SAFETY: a signal to our own child.
        unsafe { libc::kill(child.id() as i32, signal) };
        let _ = release(child);
        if signal == libc::SIGTERM {
            assert_eq!(left(), 0, "after SIGTERM");
        }
    }
    assert_eq!(left(), 1, "SIGKILL leaves its socket");
    let mut ls = bpipectl(&["ls"]);
    ls.env("XDG_RUNTIME_DIR", &runtime);
    assert!(ls.output().unwrap().status.success());
    assert_eq!(left(), 0, "the client cleans a stale socket");
}

#[test]
fn ls_finds_bpipes_by_name_and_two_of_a_name_are_an_error() {
    let runtime = temp_dir("ctl-ls");
    let children: Vec<_> = ["ingest", "twin", "twin"]
        .into_iter()
        .map(|name| held(in_runtime(&runtime, &["-q", "-N", name])))
        .collect();
    let env_ctl = |args: &[&str]| {
        let mut cmd = bpipectl(args);
        cmd.env("XDG_RUNTIME_DIR", &runtime);
        let out = cmd.output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while env_ctl(&["ls"]).1.lines().count() < 4 {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(10));
    }
    let (ok, text) = env_ctl(&["ls", "--json"]);
    assert!(ok);
    assert_eq!(text.lines().count(), 3, "{text}");
    let (ok, text) = env_ctl(&["stats", "ingest"]);
    assert!(ok && text.starts_with("bpipe[ingest]:"), "{text}");
    let (ok, text) = env_ctl(&["stats", "twin"]);
    assert!(!ok && text.contains("2 bpipes are named 'twin'"), "{text}");
    let (ok, text) = env_ctl(&["stats", "nobody"]);
    assert!(!ok && text.contains("no running bpipe"), "{text}");
    for child in children {
        let _ = release(child);
    }
}

#[test]
fn a_stop_while_paused_drains_what_is_queued() {
    let dir = temp_dir("ctl-stop-paused");
    let sock = socket(&dir);
    let input = numbered_lines(10_000);
    let cmd = bpipe(&["--control", sock.to_str().unwrap(), "-q"]);
    // Held: the input is not all there until the pause is in place.
    let (mut child, reader) = paused_later(cmd);
    let mut stdin = child.stdin.take().unwrap();
    wait_for(&sock);
    let (ok, text) = ctl(&["pause", sock.to_str().unwrap()]);
    assert!(ok, "{text}");
    stdin.write_all(&input).unwrap();
    until(&sock, |r| n(r, "in_items") == 10_000);
    let (ok, text) = ctl(&["stop", sock.to_str().unwrap()]);
    assert!(ok, "{text}");
    let status = child.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(libc::SIGTERM)
    );
    assert!(
        reader.join().unwrap() == input,
        "the stop did not drain the paused queue"
    );
}

#[test]
fn a_slow_client_gets_a_second_in_all_and_a_gone_one_changes_nothing() {
    let dir = temp_dir("ctl-slow");
    let sock = socket(&dir);
    let child = held(bpipe(&["--control", sock.to_str().unwrap(), "-q"]));
    wait_for(&sock);
    // A byte every 300 ms: more than a second for the line, however lively.
    let mut slow = UnixStream::connect(&sock).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut answer = String::new();
    for byte in b"stats\n" {
        if slow.write_all(&[*byte]).is_err() {
            break;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    let _ = slow.read_to_string(&mut answer);
    assert!(
        answer.starts_with("error: no request within 1s"),
        "{answer}"
    );
    // Asked while bpipe was stopped, by a client that gave up: not carried out later.
    let pid = child.id() as i32;
    // SAFETY: signals to our own child.
    unsafe { libc::kill(pid, libc::SIGSTOP) };
    let mut gone = UnixStream::connect(&sock).unwrap();
    gone.write_all(b"set cap 7\n").unwrap();
    drop(gone);
    unsafe { libc::kill(pid, libc::SIGCONT) };
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(stats(&sock)["cap_items"], 65536);
    let (status, _) = release(child);
    assert!(status.success());
}

#[test]
fn the_private_directory_goes_with_the_last_bpipe_and_a_dead_socket_with_any_pid_is_cleaned() {
    let runtime = temp_dir("ctl-dir-gone");
    let private = runtime.join("bpipe");
    let out = run(in_runtime(&runtime, &["-q"]), numbered_lines(10));
    assert!(out.status.success());
    assert!(!private.exists(), "the directory outlived the last bpipe");
    // A socket nothing listens on, named by a PID that is alive (this test's).
    std::fs::create_dir(&private).unwrap();
    std::fs::set_permissions(
        &private,
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap();
    let dead = private.join(format!("{}.sock", std::process::id()));
    drop(std::os::unix::net::UnixListener::bind(&dead).unwrap());
    let mut ls = bpipectl(&["ls"]);
    ls.env("XDG_RUNTIME_DIR", &runtime);
    let _ = ls.output().unwrap();
    assert!(!dead.exists(), "a socket nothing listens on was left");
}

/// The local time `minutes` from now, as HH:MM (as `date` has it, with bpipe's environment).
fn local_time_in(minutes: i64) -> String {
    let out = Command::new("date")
        .env_clear()
        .arg("+%H %M")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let mut parts = text.split_whitespace().map(|p| p.parse::<i64>().unwrap());
    let now = parts.next().unwrap() * 60 + parts.next().unwrap();
    let at = (now + minutes).rem_euclid(24 * 60);
    format!("{:02}:{:02}", at / 60, at % 60)
}

#[test]
fn a_rate_schedule_starts_with_the_entry_before_now() {
    let dir = temp_dir("ctl-schedule");
    let sock = socket(&dir);
    let schedule = format!(
        "{} off, {} 10/s, {} 99/s",
        local_time_in(5),
        local_time_in(-3),
        local_time_in(-30)
    );
    let args = [
        "--rate-schedule",
        &schedule,
        "--control",
        sock.to_str().unwrap(),
        "-q",
    ];
    let child = held(bpipe(&args));
    wait_for(&sock);
    let (ok, text) = ctl(&["set", sock.to_str().unwrap(), "rate", "20/s"]);
    assert!(
        ok && text.contains("rate 10/s -> 20/s"),
        "{schedule}: {text}"
    );
    let (status, _) = release(child);
    assert!(status.success());
    let bad = run(bpipe(&["--rate-schedule", "25:00 1/s"]), Vec::new());
    assert_eq!(bad.code(), Some(2));
    assert!(bad.stderr.contains("not a time of day"), "{}", bad.stderr);
}

#[test]
fn a_tap_copies_what_goes_out_and_neither_changes_nor_slows_it() {
    let dir = temp_dir("ctl-tap");
    let sock = socket(&dir);
    let input = numbered_lines(200_000);
    let args = [
        "--rate",
        "50000/s",
        "--control",
        sock.to_str().unwrap(),
        "--stats-format",
        "json",
    ];
    let (fed, reader) = fed_and_read(bpipe(&args), input.clone());
    wait_for(&sock);
    // A tap that never reads: dropped from, and the pipe goes on.
    let mut idle = UnixStream::connect(&sock).unwrap();
    idle.write_all(b"tap\n").unwrap();
    let out = bpipectl(&[
        "tap",
        sock.to_str().unwrap(),
        "--sample",
        "10%",
        "--count",
        "100",
    ])
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let numbers: Vec<u64> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.split_whitespace().nth(1).unwrap().parse().unwrap())
        .collect();
    assert_eq!(numbers.len(), 100);
    // One line in ten of what went out, in order.
    assert!(numbers.windows(2).all(|w| w[1] == w[0] + 10), "{numbers:?}");
    drop(idle);
    let (status, stderr) = fed.finish();
    assert!(status.success());
    assert!(reader.join().unwrap() == input, "output differs from input");
    let taps: Vec<serde_json::Value> = stderr
        .lines()
        .filter(|l| l.contains("\"tap\""))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(taps.iter().any(|t| t["copied_items"] == 100), "{stderr}");
}
