//! Time in queue end to end, with timestamped lines through pipes of one page: the p99 that
//! bpipe reports is what a slow consumer sees, and `--max-age` lets nothing out that waited
//! in bpipe longer than the age.

mod util;

use std::io::{Read, Write};
use std::thread;
use std::time::{Duration, Instant};

use util::*;

/// A pipe of one page each way, so that little time is spent outside bpipe.
fn small_pipe() -> (std::fs::File, std::fs::File) {
    use std::os::fd::FromRawFd;
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills two descriptors that we then own.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    unsafe { libc::fcntl(fds[1], libc::F_SETPIPE_SZ, 4096) };
    unsafe {
        (
            std::fs::File::from_raw_fd(fds[0]),
            std::fs::File::from_raw_fd(fds[1]),
        )
    }
}

#[test]
fn the_reported_p99_time_in_queue_is_what_a_slow_consumer_sees() {
    let base = Instant::now();
    let (stdin_read, mut stdin_write) = small_pipe();
    let (stdout_read, stdout_write) = small_pipe();
    let child = bpipe(&["--cap", "1000", "--stats-format", "json", "--summary"])
        .stdin(stdin_read)
        .stdout(stdout_write)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Timestamped lines of 100 bytes, for 3 s of a 100 KiB/s consumer.
    let producer = thread::spawn(move || {
        for _ in 0..3_000 {
            let line = format!("{:<99}\n", base.elapsed().as_micros());
            if stdin_write.write_all(line.as_bytes()).is_err() {
                break;
            }
        }
    });
    // About 100 KiB/s: 1 KiB reads, 10 ms apart.
    let mut latencies: Vec<f64> = ages(stdout_read, base, Duration::from_millis(10))
        .into_iter()
        .map(|(age, _)| age)
        .collect();
    producer.join().unwrap();
    let output = child.wait_with_output().unwrap();
    let record = last_record(&output.stderr);
    latencies.sort_by(f64::total_cmp);
    let seen = latencies[latencies.len() * 99 / 100];
    let reported = record["wait_p99_s"].as_f64().unwrap();
    assert!(
        (reported - seen).abs() <= 0.1 * seen,
        "bpipe reported p99 {reported}s, the consumer saw {seen}s"
    );
}

/// Reads `from` to the end, `pause` after each read: each line's age when it was read, by
/// the microseconds since `base` it starts with, and its length.
fn ages(mut from: impl Read, base: Instant, pause: Duration) -> Vec<(f64, usize)> {
    let mut ages = Vec::new();
    let (mut pending, mut chunk) = (Vec::new(), [0u8; 1024]);
    loop {
        let n = from.read(&mut chunk).unwrap();
        if n == 0 {
            return ages;
        }
        pending.extend_from_slice(&chunk[..n]);
        let now = base.elapsed().as_micros() as f64;
        while let Some(end) = pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            let stamp = std::str::from_utf8(&line)
                .unwrap()
                .split_whitespace()
                .next();
            let sent: f64 = stamp.unwrap().parse().unwrap();
            ages.push(((now - sent) / 1e6, line.len()));
        }
        thread::sleep(pause);
    }
}

fn last_record(stderr: &[u8]) -> serde_json::Value {
    let text = String::from_utf8_lossy(stderr);
    serde_json::from_str(text.lines().rfind(|l| l.starts_with('{')).unwrap()).unwrap()
}

#[test]
fn max_age_under_block_lets_nothing_out_that_waited_longer() {
    // A consumer that stalls for 1.5 s, then reads at full speed, behind a queue of 2000
    // lines (about 60 KiB) and --max-age 200ms under block. What stdin's and stdout's pipes
    // held at the resume (one page each, plus the line the producer was writing and the
    // start of a line the reader had read but not yet framed) is beyond bpipe's reach: those are the only lines that may arrive older than the age (with
    // 200 ms of slack for scheduling). Without --max-age the 2000 queued lines would.
    let base = Instant::now();
    let (stdin_read, mut stdin_write) = small_pipe();
    let (stdout_read, stdout_write) = small_pipe();
    let args = [
        "--cap",
        "2000",
        "--max-age",
        "200ms",
        "--stats-format",
        "json",
    ];
    let child = bpipe(&args)
        .arg("--summary")
        .stdin(stdin_read)
        .stdout(stdout_write)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let producer = thread::spawn(move || {
        let mut lines = 0u64;
        while base.elapsed() < Duration::from_millis(2500) {
            let line = format!("{:<29}\n", base.elapsed().as_micros());
            stdin_write.write_all(line.as_bytes()).unwrap();
            lines += 1;
            if lines.is_multiple_of(16) {
                thread::sleep(Duration::from_micros(500));
            }
        }
        lines
    });
    thread::sleep(Duration::from_millis(1500));
    let ages = ages(stdout_read, base, Duration::ZERO);
    let lines = producer.join().unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    let record = last_record(&output.stderr);
    let stale: usize = ages
        .iter()
        .filter(|(age, _)| *age > 0.4)
        .map(|(_, len)| len)
        .sum();
    assert!(
        stale <= 2 * 4096 + 2 * 30,
        "{stale} bytes arrived older than the age allows: {record}"
    );
    // The queue's lines expired, and every line is accounted for.
    let expired = record["expired_items"].as_u64().unwrap();
    assert!(expired >= 1000, "{record}");
    assert_eq!(record["in_items"].as_u64(), Some(lines));
    assert_eq!(record["out_items"].as_u64(), Some(ages.len() as u64));
    assert_eq!(record["dropped_items"].as_u64(), Some(expired));
    assert_eq!(lines, ages.len() as u64 + expired, "{record}");
}

#[test]
fn max_age_under_block_keeps_the_queue_within_its_cap() {
    // The writer keeps its hand while stdout is full under block; what waited too long goes
    // when stdout takes data again. The queue never holds more than --cap.
    let args = [
        "--cap",
        "1",
        "--max-age",
        "10s",
        "--stats-format",
        "json",
        "--summary",
    ];
    let input: Vec<u8> = (1..=200_000)
        .flat_map(|i| format!("{i}\n").into_bytes())
        .collect();
    let run = util::run_stalled_for(bpipe(&args), input, Duration::from_millis(500));
    let (out, stderr) = (run.stdout, run.stderr);
    assert!(run.status.success(), "{stderr}");
    let record = last_record(stderr.as_bytes());
    assert!(record["max_depth_items"].as_u64() <= Some(1), "{record}");
    assert_eq!(record["out_items"].as_u64(), Some(200_000));
    assert_eq!(out.len(), record["out_bytes"].as_u64().unwrap() as usize);
}
