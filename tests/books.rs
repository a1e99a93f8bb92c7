//! The books on every exit path, many times over: a consumer that vanishes, a signal with a
//! stalled consumer. Each run checks `in = out + dropped + undelivered` from the final JSON
//! record, `out_bytes` against what stdout received, and that only whole lines arrived but
//! for at most one torn line, which the record reports.

mod util;

use std::io::{Read, Write};
use std::thread;
use std::time::Duration;

use serde_json::Value;
use util::*;

const RUNS: usize = 50;
const DEADLINE: Duration = Duration::from_secs(20);

fn assert_balanced(record: &Value) {
    for unit in ["items", "bytes"] {
        let f = |what: &str| n(record, &format!("{what}_{unit}"));
        assert_eq!(
            f("in"),
            f("out") + f("dropped") + f("undelivered"),
            "{unit} unbalanced: {record}"
        );
    }
    assert_eq!(n(record, "depth_items") + n(record, "in_hand_items"), 0);
}

#[test]
fn a_consumer_that_vanishes_leaves_the_books_balanced() {
    let input = numbered_lines(300_000);
    for run in 0..RUNS {
        let mut fed = Fed::start(
            bpipe(&["--stats-format", "json", "--summary"]),
            input.clone(),
        );
        // Read a little, at a point that differs run by run, then leave.
        let mut stdout = fed.child.stdout.take().unwrap();
        let mut got = vec![0; 1000 + run * 997];
        stdout.read_exact(&mut got).unwrap();
        drop(stdout);
        let (status, errors) = fed.finish();
        assert!(status.success(), "run {run}");
        let record = last_record(&errors);
        assert_balanced(&record);
        assert_eq!(record["output_closed"], true);
        assert!(n(&record, "out_bytes") >= got.len() as u64, "{record}");
        assert_eq!(
            got,
            input[..got.len()],
            "run {run}: not a prefix of the input"
        );
    }
}

#[test]
fn a_signal_with_a_stalled_consumer_balances_and_tears_at_most_one_line_openly() {
    let input = numbered_lines(20_000);
    let all = items(&input, b'\n');
    for (run, signal) in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP]
        .into_iter()
        .cycle()
        .take(RUNS)
        .enumerate()
    {
        let policy = ["block", "slide", "drop"][run % 3];
        let mut child = spawn(bpipe(&[
            "--stats-format",
            "json",
            "--drain-timeout",
            "0",
            "--policy",
            policy,
            "--cap",
            "100",
            "--stats-interval",
            "10ms",
        ]));
        let mut stdin = child.stdin.take().unwrap();
        let feed = input.clone();
        // Under block the producer is held: it writes from a thread of its own.
        let feeder = thread::spawn(move || {
            let _ = stdin.write_all(&feed);
        });
        let records = stderr_lines(&mut child);
        // Let bpipe fill stdout's pipe and its queue (a stalled consumer), then stop it.
        wait_for_pressure(&records);
        // SAFETY: signals our own child.
        unsafe { libc::kill(child.id() as i32, signal) };
        // Only now does the consumer read: everything bpipe wrote is in the pipe.
        let mut got = Vec::new();
        child.stdout.take().unwrap().read_to_end(&mut got).unwrap();
        child.wait().unwrap();
        feeder.join().unwrap();
        let mut last = Value::Null;
        while let Ok(line) = records.recv_timeout(DEADLINE) {
            last = serde_json::from_str(&line).unwrap();
        }
        assert_eq!(last["event"], "final", "run {run}");
        assert_balanced(&last);
        assert_eq!(n(&last, "out_bytes"), got.len() as u64, "run {run}: {last}");
        let lines = items(&got, b'\n');
        let torn = lines.last().is_some_and(|l| !l.ends_with(b"\n"));
        assert_eq!(n(&last, "torn_items"), u64::from(torn), "run {run}: {last}");
        let whole = &lines[..lines.len() - usize::from(torn)];
        assert!(
            is_subsequence(whole, &all),
            "run {run}: not whole input lines"
        );
        assert_eq!(n(&last, "out_items"), whole.len() as u64);
    }
}

/// Waits until bpipe's ticks show a stalled consumer's pressure: items shed (drop, slide),
/// or the reader held back (block).
fn wait_for_pressure(records: &std::sync::mpsc::Receiver<String>) {
    loop {
        let line = records.recv_timeout(DEADLINE).expect("records");
        let tick: Value = serde_json::from_str(&line).unwrap();
        if n(&tick, "dropped_items") > 0 || tick["blocked_s"].as_f64() > Some(0.2) {
            return;
        }
    }
}

/// bpipe's JSON ticks, until one says every line was read.
fn wait_until_read(records: &std::sync::mpsc::Receiver<String>, lines: u64) {
    loop {
        let line = records.recv_timeout(DEADLINE).expect("records");
        let tick: Value = serde_json::from_str(&line).unwrap();
        if tick["in_items"] == lines {
            return;
        }
    }
}

#[test]
fn a_stop_drains_what_is_held_before_it_ends() {
    // Twenty thousand lines wait in bpipe for a consumer that has not read yet; a signal
    // comes; then the consumer reads: every line must arrive (the drain did its work).
    let input = numbered_lines(20_000);
    let mut child = spawn(bpipe(&[
        "--stats-format",
        "json",
        "--stats-interval",
        "10ms",
    ]));
    let mut stdin = child.stdin.take().unwrap();
    let feed = input.clone();
    let feeder = thread::spawn(move || stdin.write_all(&feed).map(|()| stdin));
    let records = stderr_lines(&mut child);
    wait_until_read(&records, 20_000);
    // SAFETY: signals our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let mut got = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut got).unwrap();
    child.wait().unwrap();
    drop(feeder.join().unwrap());
    assert!(got == input, "the drain lost lines");
    let mut last = Value::Null;
    while let Ok(line) = records.recv_timeout(DEADLINE) {
        last = serde_json::from_str(&line).unwrap();
    }
    assert_eq!(last["event"], "final");
    assert_eq!(last["undelivered_items"], 0);
    assert_balanced(&last);
}

#[test]
fn a_block_timeout_holds_the_producer_no_longer_against_a_slow_but_steady_consumer() {
    // The consumer reads 16 KiB every 20 ms and never catches up: stdout takes a little now
    // and then, but the spell of pressure goes on, so once it is 200 ms old what finds the
    // queue full is shed (the producer is not held for ever), and the queue keeps its cap.
    let input = numbered_lines(300_000);
    let mut child = spawn(bpipe(&[
        "--cap",
        "1000",
        "--block-timeout",
        "200ms",
        "--on-timeout",
        "drop",
        "--stats-format",
        "json",
        "--stats-interval",
        "100ms",
    ]));
    let mut stdin = child.stdin.take().unwrap();
    let feed = input.clone();
    let feeder = thread::spawn(move || stdin.write_all(&feed).unwrap());
    let records = stderr_lines(&mut child);
    let mut stdout = child.stdout.take().unwrap();
    let mut got = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let n = stdout.read(&mut chunk).unwrap();
        if n == 0 {
            break;
        }
        got.extend_from_slice(&chunk[..n]);
        thread::sleep(Duration::from_millis(20));
    }
    feeder.join().unwrap();
    child.wait().unwrap();
    let mut last = Value::Null;
    while let Ok(line) = records.recv_timeout(DEADLINE) {
        last = serde_json::from_str(&line).unwrap();
        assert!(n(&last, "depth_items") <= 1000, "over --cap: {last}");
    }
    assert_eq!(last["event"], "final");
    assert_balanced(&last);
    assert!(
        n(&last, "dropped_items") > 0,
        "the producer was held: {last}"
    );
    assert!(n(&last, "max_depth_items") <= 1000, "over --cap: {last}");
    let (out, all) = (items(&got, b'\n'), items(&input, b'\n'));
    assert!(
        is_subsequence(&out, &all),
        "not a subsequence of whole input lines"
    );
}

#[test]
fn shedding_after_a_block_timeout_ends_when_the_consumer_takes_again() {
    // Phase one overflows a stalled consumer: the timeout sheds (slide keeps the last line,
    // the marker). Once the consumer has the marker it reads at full speed, and phase two
    // must arrive whole.
    let args = [
        "--cap",
        "10",
        "--block-timeout",
        "100ms",
        "--on-timeout",
        "slide",
    ];
    let mut child = spawn(bpipe(&args));
    let mut stdin = child.stdin.take().unwrap();
    let mut phase_one = numbered_lines(100_000);
    phase_one.extend_from_slice(b"marker\n");
    let phase_two: Vec<u8> = (0..20_000)
        .flat_map(|i| format!("two {i}\n").into_bytes())
        .collect();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let second = phase_two.clone();
    let feeder = thread::spawn(move || {
        stdin.write_all(&phase_one).unwrap();
        rx.recv().unwrap();
        stdin.write_all(&second).unwrap();
    });
    let stdout = child.stdout.take().unwrap();
    thread::sleep(Duration::from_millis(500)); // a stalled consumer, long past the timeout
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
    for line in lines.by_ref() {
        if line.unwrap() == "marker" {
            break;
        }
    }
    tx.send(()).unwrap();
    feeder.join().unwrap();
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    child.wait().unwrap();
    let want: Vec<String> = (0..20_000).map(|i| format!("two {i}")).collect();
    assert!(
        rest == want,
        "phase two was shed: {} of {} lines",
        rest.len(),
        want.len()
    );
}
