//! The rule "shed only under pressure", end to end: with a consumer that keeps up nothing is
//! shed whatever the caps; with a stalled consumer the output is what stdout's pipe took
//! before the stall, then exactly the items the policy kept; a throttled writer sheds too;
//! a slow consumer does not hold the producer under a shedding policy.

mod util;

use std::io::{Read, Write};
use std::thread;
use std::time::Duration;

use util::*;

/// `n` lines `1\n` .. `n\n`, as `seq 1 n` writes them.
fn seq(n: usize) -> Vec<u8> {
    (1..=n)
        .flat_map(|i| format!("{i}\n").into_bytes())
        .collect()
}

/// The runs of consecutive numbers in `got`, e.g. `1..=12774, 199937..=200000`.
fn runs(got: &[usize]) -> String {
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for &n in got {
        match runs.last_mut() {
            Some((_, end)) if *end + 1 == n => *end = n,
            _ => runs.push((n, n)),
        }
    }
    let shown: Vec<String> = runs
        .iter()
        .take(8)
        .map(|(a, b)| format!("{a}..={b}"))
        .collect();
    format!("{} ({} runs)", shown.join(", "), runs.len())
}

fn numbers(out: &[u8]) -> Vec<usize> {
    std::str::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect()
}

#[test]
fn a_consumer_that_keeps_up_loses_nothing_whatever_the_caps() {
    let lines = seq(300_000);
    let records: Vec<u8> = lines
        .iter()
        .map(|&b| if b == b'\n' { 0 } else { b })
        .collect();
    // Lines longer than the queue's bytes: each waits whole for the writer.
    let long: Vec<u8> = (0..20_000)
        .flat_map(|i| format!("{i} {}\n", "x".repeat(100 + i % 400)).into_bytes())
        .collect();
    // --block-timeout 0 behaves as the policy it names: a consumer is not behind before the
    // grace, whatever the timeout.
    for policy in [
        &["--policy", "slide"][..],
        &["--policy", "drop"],
        &["--policy", "fail"],
        &["--block-timeout", "0", "--on-timeout", "drop"],
        &["--block-timeout", "1ms", "--on-timeout", "slide"],
        &["--block-timeout", "0"],
    ] {
        for (caps, input) in [
            (&["--cap", "64"][..], &lines),
            (&["--cap", "1"], &lines),
            (&["--cap-bytes", "64"], &lines),
            (&["--cap-bytes", "100"], &long),
            (&["-0", "--cap", "64"], &records),
            (&["--chunk", "1KiB", "--cap", "64"], &lines),
        ] {
            let mut args = caps.to_vec();
            args.extend(policy);
            args.push("--summary");
            let out = run(bpipe(&args), input.clone());
            assert_eq!(out.code(), Some(0), "{args:?}: {}", out.stderr);
            assert_eq!(out.count("dropped"), 0, "{args:?}: {}", out.summary());
            assert!(out.stdout == *input, "{args:?}: output differs from input");
        }
    }
}

/// Runs bpipe on `input` and starts reading its stdout only once it has read and queued or
/// shed every line (its JSON records say so): a consumer stalled for the whole input.
/// Returns stdout and the final record.
fn stalled(args: &[&str], input: Vec<u8>) -> (Vec<u8>, serde_json::Value) {
    stalled_until(args, input, |_| true)
}

/// Like [`stalled`], and the consumer stays away until a tick also satisfies `ready`.
fn stalled_until(
    args: &[&str],
    input: Vec<u8>,
    ready: impl Fn(&serde_json::Value) -> bool,
) -> (Vec<u8>, serde_json::Value) {
    let lines = input.iter().filter(|&&b| b == b'\n').count() as u64;
    let mut args = args.to_vec();
    args.extend(["--stats-format", "json", "--stats-interval", "10ms"]);
    let mut child = spawn(bpipe(&args));
    let mut stdin = child.stdin.take().unwrap();
    let feeder = thread::spawn(move || stdin.write_all(&input).unwrap());
    let records = stderr_lines(&mut child);
    let mut last: serde_json::Value;
    loop {
        let line = records
            .recv_timeout(Duration::from_secs(20))
            .expect("records");
        last = serde_json::from_str(&line).unwrap();
        if last["in_items"] == lines && ready(&last) {
            break;
        }
    }
    feeder.join().unwrap();
    let stdout = all_stdout(&mut child);
    assert!(child.wait().unwrap().success());
    while let Ok(line) = records.recv_timeout(Duration::from_secs(20)) {
        last = serde_json::from_str(&line).unwrap();
    }
    assert_eq!(last["event"], "final");
    (stdout, last)
}

fn balanced(record: &serde_json::Value) -> bool {
    let n = |key: &str| record[key].as_u64().unwrap();
    n("in_items") == n("out_items") + n("dropped_items") + n("undelivered_items")
}

#[test]
fn a_stalled_consumer_gets_what_the_pipe_took_then_the_last_items_under_slide() {
    let n = 200_000;
    let (stdout, last) = stalled(&["--cap", "64", "--policy", "slide"], seq(n));
    let got = numbers(&stdout);
    // A prefix (what stdout's pipe took before the stall), then exactly the last 64 lines.
    let prefix = got.len() - 64;
    let want: Vec<usize> = (1..=prefix).chain((n - 63)..=n).collect();
    assert!(got == want, "got {}", runs(&got));
    assert!(balanced(&last), "{last}");
}

#[test]
fn a_stalled_consumer_gets_what_the_pipe_took_then_the_next_items_under_drop() {
    let (stdout, last) = stalled(&["--cap", "64", "--policy", "drop"], seq(200_000));
    let got = numbers(&stdout);
    // The prefix the pipe took and the 64 lines after it: one unbroken run from 1.
    assert!(
        got == (1..=got.len()).collect::<Vec<_>>(),
        "got {}",
        runs(&got)
    );
    assert!(last["dropped_items"].as_u64() > Some(0));
    assert!(balanced(&last), "{last}");
}

#[test]
fn a_throttled_writer_sheds_instead_of_holding_the_producer() {
    // 1000 lines/s with a fast consumer: the rate is the pressure.
    let n = 200_000;
    let args = [
        "-L",
        "1000/s",
        "--policy",
        "drop",
        "--cap",
        "10",
        "--stats-format",
        "json",
    ];
    let out = run(bpipe(&args), seq(n));
    assert_eq!(out.code(), Some(0), "{}", out.stderr);
    let last: serde_json::Value = serde_json::from_str(out.stderr.lines().last().unwrap()).unwrap();
    let elapsed = last["elapsed_s"].as_f64().unwrap();
    let got = numbers(&out.stdout);
    // What the rate allowed over the run (the first line goes at once), plus the queue.
    let allowed = 1.0 + 1000.0 * elapsed + 10.0;
    assert!(
        (got.len() as f64) <= allowed,
        "{} lines in {elapsed}s",
        got.len()
    );
    assert_eq!(last["in_items"], n);
    assert!(balanced(&last), "{last}");
    // Had the producer been held, 200 000 lines would have taken 200 s.
    assert!(elapsed < 60.0, "the producer was held: {elapsed}s");
}

#[test]
fn a_slow_consumer_does_not_hold_the_producer_under_slide() {
    let n = 100_000;
    let mut child = spawn(bpipe(&["--cap", "100", "--policy", "slide"]));
    let mut stdin = child.stdin.take().unwrap();
    let input = seq(n);
    let feeder = thread::spawn(move || {
        stdin.write_all(&input).unwrap();
    });
    let mut stdout = child.stdout.take().unwrap();
    let mut out = Vec::new();
    let mut chunk = [0u8; 512];
    // Reads 512 bytes every 2 ms (about 250 KiB/s) until the producer is done, then all.
    while !feeder.is_finished() {
        let got = stdout.read(&mut chunk).unwrap();
        out.extend_from_slice(&chunk[..got]);
        thread::sleep(Duration::from_millis(2));
    }
    stdout.read_to_end(&mut out).unwrap();
    feeder.join().unwrap();
    assert!(child.wait().unwrap().success());
    // The producer finished although the consumer had read a fraction: nothing held it.
    let whole = out.len() - out.iter().rev().take_while(|&&b| b != b'\n').count();
    let got = numbers(&out[..whole]);
    assert!(got.windows(2).all(|w| w[0] < w[1]), "out of order");
    assert_eq!(got.last(), Some(&n), "slide keeps the freshest line");
    assert!(got.len() < n, "nothing was shed");
}

#[test]
fn max_age_sheds_what_waited_too_long() {
    // A consumer stalled far longer than the age: what stdout's pipe took before the stall
    // (64 KiB, beyond bpipe's reach) and at most the rest of one line arrive; what the
    // queue held waited too long and is counted expired (apart from what drop shed).
    let old = |tick: &serde_json::Value| tick["oldest_age_s"].as_f64() > Some(0.3);
    let args = ["--max-age", "200ms", "--policy", "drop"];
    let (stdout, last) = stalled_until(&args, seq(200_000), old);
    assert!(stdout.len() <= 65_536 + 8, "{} bytes arrived", stdout.len());
    assert!(balanced(&last), "{last}");
    let expired = last["expired_items"].as_u64().unwrap();
    assert!(expired >= 60_000, "{last}");
    assert!(expired <= last["dropped_items"].as_u64().unwrap());
    let got =
        numbers(&stdout[..stdout.len() - stdout.iter().rev().take_while(|&&b| b != b'\n').count()]);
    assert_eq!(
        got,
        (1..=got.len()).collect::<Vec<_>>(),
        "not the first lines, in order"
    );
}

#[test]
fn the_stall_watchdog_fails_a_consumer_that_stops_and_spares_one_that_moves() {
    // A consumer that never reads: status 5, books balanced, one message.
    let args = [
        "--stall-timeout",
        "300ms",
        "--on-stall",
        "fail",
        "--stats-format",
        "json",
    ];
    let Run { status, stderr, .. } = run_unread(bpipe(&args), seq(300_000));
    assert_eq!(status.code(), Some(5), "{stderr}");
    assert!(
        stderr.contains("bpipe: consumer stalled for 0s,")
            || stderr.contains("bpipe: consumer stalled for"),
        "{stderr}"
    );
    assert!(
        stderr.contains("lines waiting; stopping (--on-stall fail)"),
        "{stderr}"
    );
    let last: serde_json::Value =
        serde_json::from_str(stderr.lines().rfind(|l| l.starts_with('{')).unwrap()).unwrap();
    assert!(balanced(&last), "{last}");
    // Stdout never closed: the record does not say it did.
    assert_eq!(last["output_closed"], false, "{last}");
    let Run { stderr, .. } = run_unread(
        bpipe(&["--stall-timeout", "300ms", "--on-stall", "fail"]),
        seq(300_000),
    );
    let text = stderr.lines().last().unwrap();
    assert!(
        text.contains("consumer stalled (--on-stall fail)"),
        "{stderr}"
    );
    assert!(!text.contains("output closed"), "{stderr}");
    // A consumer that is slow but never stops for the timeout gets no warning.
    let mut child = spawn(bpipe(&["--stall-timeout", "1s"]));
    let mut stdin = child.stdin.take().unwrap();
    let feeder = thread::spawn(move || stdin.write_all(&seq(100_000)).unwrap());
    let mut stdout = child.stdout.take().unwrap();
    let mut chunk = [0u8; 32 * 1024];
    while stdout.read(&mut chunk).unwrap() > 0 {
        thread::sleep(Duration::from_millis(20));
    }
    feeder.join().unwrap();
    let stderr = all_stderr(&mut child);
    assert!(child.wait().unwrap().success());
    assert!(!stderr.contains("stalled for"), "{stderr}");
}

#[test]
fn fail_behind_a_consumer_that_never_reads_ends_after_the_drain_timeout() {
    // fail stops reading, gets --drain-timeout to deliver what is queued (as a stop does),
    // then counts the rest undelivered, names the bound and exits 3: it does not wait for a
    // consumer that never reads.
    let args = [
        "--policy",
        "fail",
        "--cap",
        "10",
        "--drain-timeout",
        "200ms",
        "--stats-format",
        "json",
    ];
    let Run { status, stderr, .. } = run_unread(bpipe(&args), seq(300_000));
    assert_eq!(status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("bpipe: queue full: --cap 10 items reached under --policy fail"),
        "{stderr}"
    );
    let last: serde_json::Value =
        serde_json::from_str(stderr.lines().rfind(|l| l.starts_with('{')).unwrap()).unwrap();
    assert!(balanced(&last), "{last}");
    assert!(last["undelivered_items"].as_u64() > Some(0), "{last}");
}

#[test]
fn a_stall_and_the_resume_are_told_once_each_and_recorded_in_the_stats_file() {
    let stats = std::env::temp_dir().join(format!("bpipe-stall-{}", std::process::id()));
    let _ = std::fs::remove_file(&stats);
    let args = [
        "--stall-timeout",
        "200ms",
        "--stats-format",
        "json",
        "--stats-file",
        stats.to_str().unwrap(),
    ];
    // Stalled for 700 ms, then reading to the end.
    let run = run_stalled_for(bpipe(&args), seq(300_000), Duration::from_millis(700));
    let stderr = run.stderr;
    assert!(run.status.success(), "{stderr}");
    assert_eq!(run.stdout, seq(300_000));
    assert_eq!(
        stderr.matches("bpipe: consumer stalled for ").count(),
        1,
        "{stderr}"
    );
    assert_eq!(
        stderr.matches("bpipe: consumer resumed after ").count(),
        1,
        "{stderr}"
    );
    let text = std::fs::read_to_string(&stats).unwrap();
    std::fs::remove_file(&stats).unwrap();
    let events: Vec<String> = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["event"].to_string())
        .collect();
    assert_eq!(events, ["\"stall\"", "\"resume\"", "\"final\""], "{text}");
}

#[test]
fn the_stall_watchdog_fires_whatever_else_wakes_the_watch() {
    // Records every 20 ms wake the watch far more often than the stall watch looks: they
    // must not keep putting its look off.
    let args = [
        "--stall-timeout",
        "300ms",
        "--on-stall",
        "fail",
        "--stats-interval",
        "20ms",
    ];
    let (tx, rx) = std::sync::mpsc::channel();
    thread::spawn(move || tx.send(run_unread(bpipe(&args), seq(300_000))).unwrap());
    let Run { status, stderr, .. } = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the watchdog never fired");
    assert_eq!(status.code(), Some(5), "{stderr}");
    assert!(stderr.contains("stopping (--on-stall fail)"), "{stderr}");
}
