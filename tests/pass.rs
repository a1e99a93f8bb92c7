//! `--chunk` under plain `block`: bytes that need no looking at go from stdin to stdout by
//! splice whenever the queue is empty and the writer idle, and through the queue otherwise.
//! Whichever way each byte went, the output is the input and the books are exact, with a
//! consumer that keeps up, one that stalls, one that is slow but steady, and one that leaves.

mod util;

use std::io::Read;
use std::thread;
use std::time::Duration;

use util::*;

const ARGS: &[&str] = &["--chunk", "64KiB", "--stats-format", "json", "--summary"];

fn check(input: &[u8], stdout: &[u8], stderr: &str) {
    assert!(
        stdout == input,
        "the output is not the input ({} of {} bytes)",
        stdout.len(),
        input.len()
    );
    let record = last_record(stderr);
    assert_eq!(n(&record, "in_bytes"), input.len() as u64, "{record}");
    assert_eq!(n(&record, "out_bytes"), input.len() as u64, "{record}");
    assert_eq!(n(&record, "in_items"), n(&record, "out_items"), "{record}");
    assert_eq!(
        n(&record, "undelivered_items") + n(&record, "dropped_items"),
        0
    );
}

#[test]
fn the_output_is_the_input_and_the_books_exact_with_fast_and_stalled_consumers() {
    let input = noise(8 << 20, 11);
    for (name, ran) in [
        ("fast", run(bpipe(ARGS), input.clone())),
        ("stalled", run_stalled(bpipe(ARGS), input.clone())),
        (
            "stalled 300 ms",
            run_stalled_for(bpipe(ARGS), input.clone(), Duration::from_millis(300)),
        ),
    ] {
        assert!(ran.status.success(), "{name}: {}", ran.stderr);
        check(&input, &ran.stdout, &ran.stderr);
    }
}

#[test]
fn the_output_is_the_input_with_a_slow_but_steady_consumer() {
    let input = noise(4 << 20, 12);
    let mut fed = Fed::start(bpipe(ARGS), input.clone());
    // About 16 MiB/s: stdout fills and empties again and again.
    let mut stdout = fed.child.stdout.take().unwrap();
    let (mut got, mut buf) = (Vec::new(), vec![0; 16 << 10]);
    loop {
        match stdout.read(&mut buf).unwrap() {
            0 => break,
            k => got.extend_from_slice(&buf[..k]),
        }
        thread::sleep(Duration::from_millis(1));
    }
    let (status, errors) = fed.finish();
    assert!(status.success());
    check(&input, &got, &errors);
}

#[test]
fn a_consumer_that_leaves_gets_a_prefix_and_the_books_balance() {
    let input = noise(8 << 20, 13);
    for run in 0..20 {
        let mut fed = Fed::start(bpipe(ARGS), input.clone());
        let mut stdout = fed.child.stdout.take().unwrap();
        let mut got = vec![0; 1000 + run * 99_991];
        stdout.read_exact(&mut got).unwrap();
        drop(stdout);
        let (status, errors) = fed.finish();
        assert!(status.success(), "run {run}");
        let record = last_record(&errors);
        for unit in ["items", "bytes"] {
            let f = |what: &str| n(&record, &format!("{what}_{unit}"));
            assert_eq!(
                f("in"),
                f("out") + f("dropped") + f("undelivered"),
                "{record}"
            );
        }
        assert!(n(&record, "out_bytes") >= got.len() as u64, "{record}");
        assert!(
            got == input[..got.len()],
            "run {run}: not a prefix of the input"
        );
    }
}

/// Sends `signal` to bpipe once the feed has written `after` bytes, and waits for it to end.
fn signal_after_fed(fed: Fed, after: usize, signal: i32) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while fed.written() < after {
        assert!(
            std::time::Instant::now() < deadline,
            "the feed never got that far"
        );
        thread::sleep(Duration::from_millis(5));
    }
    // SAFETY: kill only sends a signal to our own child.
    unsafe { libc::kill(fed.child.id() as i32, signal) };
    let (tx, rx) = std::sync::mpsc::channel();
    thread::spawn(move || tx.send(fed.finish()).unwrap());
    rx.recv_timeout(Duration::from_secs(20))
        .expect("bpipe did not end")
        .0
}

#[test]
fn a_socket_as_stdout_that_takes_nothing_does_not_hold_a_stop() {
    use std::os::unix::process::ExitStatusExt;
    // A socket is not a pipe: a splice into it would wait for its reader, whatever the flags
    // (TCP takes RWF_NOWAIT, so bpipe leaves the socket blocking).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let theirs = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (ours, _) = listener.accept().unwrap();
    let mut cmd = bpipe(&["--chunk", "64KiB", "--drain-timeout", "1s"]);
    cmd.stdout(std::process::Stdio::from(std::os::fd::OwnedFd::from(
        theirs,
    )));
    let fed = Fed::start_with_stdout(cmd, noise(32 << 20, 14));
    let status = signal_after_fed(fed, 8 << 20, libc::SIGTERM);
    assert_eq!(status.signal(), Some(libc::SIGTERM), "{status:?}");
    drop(ours);
}

#[test]
fn a_terminal_as_stdin_ends_at_its_first_end_of_input() {
    // A splice from a terminal would take its ^D away from the read that must see it.
    let (mut keyboard, terminal) = pty(80);
    let mut cmd = bpipe(&["--chunk", "64KiB"]);
    cmd.stdin(std::process::Stdio::from(terminal))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().unwrap();
    drop(cmd);
    let mut stdout = child.stdout.take().unwrap();
    std::io::Write::write_all(&mut keyboard, b"hello\n\x04").unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    thread::spawn(move || {
        let mut got = Vec::new();
        stdout.read_to_end(&mut got).unwrap();
        tx.send(got).unwrap();
    });
    let got = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("bpipe did not end at ^D");
    assert_eq!(got, b"hello\n");
    assert!(child.wait().unwrap().success());
    drop(keyboard);
}
