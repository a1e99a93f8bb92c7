//! Keys end to end (`--key`, `--key-field`, `--key-json`, `--rate-per-key`, `--fair`,
//! `--max-keys`): a quiet source keeps its lines beside a firehose, each key's rate holds,
//! the books add up per key and in all, a million keys stay within the stated memory, and
//! input no key can be read from has the key '-'.

mod util;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::process::Stdio;
use std::thread;
use std::time::{Duration, Instant};

use util::*;

/// The `keys` of the final JSON record, by key.
fn keys(record: &serde_json::Value) -> HashMap<String, serde_json::Value> {
    record["keys"]
        .as_array()
        .unwrap_or_else(|| panic!("no keys in {record}"))
        .iter()
        .map(|k| (k["key"].as_str().unwrap().to_string(), k.clone()))
        .collect()
}

/// Each key's books balance, and the keys named with the rest (`keys_rest`) are the whole.
fn check_books(record: &serde_json::Value) {
    check_each_key(record);
    let counts = [
        "in_items",
        "out_items",
        "dropped_items",
        "undelivered_items",
    ];
    let mut sum = counts.map(|f| n(&record["keys_rest"], f));
    for k in keys(record).values() {
        for (s, f) in sum.iter_mut().zip(counts) {
            *s += n(k, f);
        }
    }
    let whole = counts.map(|f| n(record, f));
    assert_eq!(sum, whole, "the keys add up to the whole: {record}");
}

/// Each key named balances: `in = out + dropped + undelivered`.
fn check_each_key(record: &serde_json::Value) {
    for (key, k) in keys(record) {
        let [i, o, d, u] = [
            "in_items",
            "out_items",
            "dropped_items",
            "undelivered_items",
        ]
        .map(|f| n(&k, f));
        assert_eq!(i, o + d + u, "{key}: {k}");
    }
}

/// Reads `child`'s stderr to the end on a thread of its own.
fn read_stderr(child: &mut std::process::Child) -> thread::JoinHandle<String> {
    let mut stderr = child.stderr.take().unwrap();
    thread::spawn(move || {
        let mut text = String::new();
        stderr.read_to_string(&mut text).unwrap();
        text
    })
}

/// Lines per key (the first field) in `out`.
fn per_key(out: &[u8]) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for line in items(out, b'\n') {
        let text = String::from_utf8_lossy(line);
        let key = text.split_whitespace().next().unwrap_or("").to_string();
        *counts.entry(key).or_default() += 1;
    }
    counts
}

#[test]
fn a_quiet_source_keeps_every_line_beside_a_firehose_under_fair_slide() {
    let dead = temp_dir("keys-fair").join("dead");
    let mut cmd = bpipe(&[
        "--cap",
        "64",
        "--policy",
        "slide",
        "--fair",
        "--key-field",
        "1",
        "--stats-format",
        "json",
        "--summary",
    ]);
    cmd.arg("--dead-letter").arg(&dead);
    let mut child = spawn(cmd);
    // Every 10 ms one quiet line and 100 noisy ones: 100 and 10 000 lines a second.
    let mut stdin = child.stdin.take().unwrap();
    let feeder = thread::spawn(move || {
        for round in 0..150 {
            let mut chunk = format!("quiet {round}\n");
            for i in 0..100 {
                chunk += &format!("noisy {} {}\n", round * 100 + i, "x".repeat(40));
            }
            if stdin.write_all(chunk.as_bytes()).is_err() {
                break;
            }
            thread::sleep(Duration::from_millis(10));
        }
    });
    let errors = read_stderr(&mut child);
    // A consumer slow but steady: 2 KiB every 10 ms (about 4 000 noisy lines a second).
    let mut stdout = child.stdout.take().unwrap();
    let mut out = Vec::new();
    let mut buf = [0; 2048];
    loop {
        match stdout.read(&mut buf).unwrap() {
            0 => break,
            n => out.extend_from_slice(&buf[..n]),
        }
        thread::sleep(Duration::from_millis(10));
    }
    feeder.join().unwrap();
    assert!(child.wait().unwrap().success());
    let record = last_record(&errors.join().unwrap());
    let lines = per_key(&out);
    assert_eq!(lines.get("quiet"), Some(&150), "every quiet line arrives");
    assert!(
        n(&record, "dropped_items") > 0,
        "the firehose was shed: {record}"
    );
    let shed = std::fs::read(&dead).unwrap();
    assert!(
        items(&shed, b'\n').iter().all(|l| l.starts_with(b"noisy ")),
        "only noisy lines were shed"
    );
    check_books(&record);
    let by_key = keys(&record);
    assert_eq!(n(&by_key["quiet"], "dropped_items"), 0);
    assert_eq!(n(&by_key["noisy"], "out_items") as usize, lines["noisy"]);
}

#[test]
fn each_key_keeps_to_its_rate_and_keys_under_it_lose_nothing() {
    let mut child = spawn(bpipe(&[
        "--rate-per-key",
        "10/s",
        "--key-field",
        "1",
        "--top-keys",
        "100",
        "--stats-format",
        "json",
        "--summary",
    ]));
    let mut stdin = child.stdin.take().unwrap();
    let started = Instant::now();
    // 50 busy keys, a line each every 10 ms (100/s each), and 5 calm keys at 5/s, for 3 s.
    let feeder = thread::spawn(move || {
        for round in 0..300 {
            let mut chunk = String::new();
            for k in 0..50 {
                chunk += &format!("busy{k} {round}\n");
            }
            if round % 20 == 0 {
                for k in 0..5 {
                    chunk += &format!("calm{k} {round}\n");
                }
            }
            stdin.write_all(chunk.as_bytes()).unwrap();
            thread::sleep(Duration::from_millis(10));
        }
    });
    let out = all_stdout(&mut child);
    feeder.join().unwrap();
    let elapsed = started.elapsed().as_secs_f64();
    assert!(child.wait().unwrap().success());
    let record = last_record(&all_stderr(&mut child));
    let lines = per_key(&out);
    // The allowance: rate × time + burst (one period's worth: 10).
    let allowance = (10.0 * elapsed + 10.0).floor() as usize;
    for k in 0..50 {
        let got = lines[&format!("busy{k}")];
        assert!(got <= allowance, "busy{k}: {got} lines in {elapsed:.2}s");
        assert!(got >= 20, "busy{k} got its rate: {got}");
    }
    for k in 0..5 {
        assert_eq!(lines[&format!("calm{k}")], 15, "calm{k} is under its rate");
    }
    assert_eq!(n(&record, "limited_items"), n(&record, "dropped_items"));
    check_books(&record);
}

#[test]
fn a_million_keys_stay_within_max_keys_and_the_stated_memory() {
    let mut input = Vec::new();
    for i in 0..1_000_000u32 {
        writeln!(input, "key-{i:07} {}", "v".repeat(20)).unwrap();
    }
    let rss = |extra: &[&str]| {
        let mut args = vec!["--stats-format", "json", "--summary", "--cap-bytes", "1MiB"];
        args.extend_from_slice(extra);
        let mut child = spawn(bpipe(&args));
        let mut stdin = child.stdin.take().unwrap();
        let feed = input.clone();
        let (close, closing) = std::sync::mpsc::channel::<()>();
        // Stdin stays open until the peak is read: bpipe is still there, all written.
        let feeder = thread::spawn(move || {
            stdin.write_all(&feed).unwrap();
            let _ = closing.recv();
        });
        let errors = read_stderr(&mut child);
        let mut stdout = child.stdout.take().unwrap();
        let mut out = vec![0; input.len()];
        stdout.read_exact(&mut out).unwrap();
        let peak = peak_rss(child.id());
        close.send(()).unwrap();
        feeder.join().unwrap();
        let mut rest = Vec::new();
        stdout.read_to_end(&mut rest).unwrap();
        assert!(child.wait().unwrap().success());
        let stderr = errors.join().unwrap();
        assert!(
            out == input && rest.is_empty(),
            "block is byte-identical, keys or not"
        );
        (peak, last_record(&stderr))
    };
    let (plain, _) = rss(&[]);
    let (keyed, record) = rss(&["--key-field", "1", "--max-keys", "10k"]);
    assert_eq!(n(&record, "keys_tracked"), 10_000);
    assert_eq!(n(&record, "keys_folded"), 990_000);
    check_books(&record);
    let other = &keys(&record)["other"];
    assert_eq!(
        n(other, "in_items"),
        990_000,
        "what folded keys counted: {other}"
    );
    // The README's bound: 600 bytes a key tracked (10k keys: 5.7 MiB).
    let extra = keyed.saturating_sub(plain);
    assert!(
        extra <= 10_000 * 600,
        "keys took {extra} bytes over a plain run ({plain} → {keyed})"
    );
}

/// The largest resident set process `pid` has had since it started, in bytes (VmHWM).
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kb: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb * 1024
}

#[test]
fn items_without_a_key_share_the_key_dash() {
    let cases: [(&[&str], &[u8]); 4] = [
        (&["--key", "service=(\\w+)"], b"no service here\n"),
        (&["--key-json", "svc"], b"{\"svc\": 42}\n"),
        (&["--key-json", "svc"], b"\xff\xfe not json\n"),
        (&["--key-field", "3"], b"two fields\n"),
    ];
    for (flags, line) in cases {
        let mut args = vec!["--stats-format", "json", "--summary"];
        args.extend_from_slice(flags);
        let run = run(bpipe(&args), line.to_vec());
        assert!(run.status.success(), "{flags:?}: {}", run.stderr);
        let record = last_record(&run.stderr);
        assert!(keys(&record).contains_key("-"), "{flags:?}: {record}");
    }
}

#[test]
fn over_long_lines_shed_by_the_framer_count_on_the_key_dash() {
    let mut input = b"short a\n".to_vec();
    input.extend(vec![b'z'; 5000]);
    input.extend(b"\nshort b\n");
    let run = run(
        bpipe(&[
            "--max-line",
            "1KiB",
            "--policy",
            "drop",
            "--key-field",
            "1",
            "--stats-format",
            "json",
            "--summary",
        ]),
        input,
    );
    assert!(run.status.success(), "{}", run.stderr);
    let record = last_record(&run.stderr);
    let dash = &keys(&record)["-"];
    assert_eq!((n(dash, "in_items"), n(dash, "dropped_items")), (1, 1));
    check_books(&record);
}

#[test]
fn key_flags_refuse_what_they_cannot_do_before_reading() {
    for (args, says) in [
        (&["--key", "("][..], "--key '('"),
        (&["--key-field", "0"][..], "--key-field"),
        (
            &["--key-field", "1", "--field-sep", "ab"][..],
            "--field-sep",
        ),
        (&["--key-json", "a\"b"][..], "--key-json"),
        (&["--key-field", "1", "--chunk", "4KiB"][..], "--chunk"),
        (&["--key-field", "1", "--fair"][..], "--fair"),
        (&["--fair"][..], "--fair works by key"),
        (&["--max-keys", "5"][..], "--max-keys"),
        (&["--rate-per-key", "10/s"][..], "--rate-per-key"),
        (&["--key-field", "1", "--max-keys", "0"][..], "--max-keys"),
        (
            &[
                "--key-field",
                "1",
                "--rate-per-key",
                "1MiB/s",
                "--burst-per-key",
                "5",
            ][..],
            "--burst-per-key",
        ),
        (&["--key-field", "1", "--key", "x"][..], "--key"),
        (&["--key-field", "x"][..], "e.g. 1"),
        (&["--field-sep", ","][..], "--field-sep separates"),
        (
            &["--key-field", "1", "--burst-per-key", "5"][..],
            "--burst-per-key is the burst",
        ),
        (
            &["--key-field", "1", "--top-keys", "5000"][..],
            "--top-keys must be from 1 to 1000",
        ),
    ] {
        let mut cmd = bpipe(args);
        cmd.stdin(Stdio::null());
        let out = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert_eq!(
            stderr
                .lines()
                .filter(|l| l.starts_with("bpipe: ") || l.starts_with("error:"))
                .count()
                .max(1),
            1,
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn a_per_key_rate_never_tears_a_line_longer_than_max_line() {
    // Under block, such a line would go in pieces; a piece over its key's rate would tear
    // it. With --rate-per-key it is shed whole instead, as under a shedding policy.
    let mut input = Vec::new();
    for i in 0..40 {
        writeln!(
            input,
            "k{} {}",
            i % 2,
            "x".repeat(if i % 5 == 0 { 9000 } else { 100 })
        )
        .unwrap();
    }
    let run = run(
        bpipe(&[
            "--key-field",
            "1",
            "--max-line",
            "4KiB",
            "--rate-per-key",
            "5000B/s",
            "--stats-format",
            "json",
            "--summary",
        ]),
        input.clone(),
    );
    assert!(run.status.success(), "{}", run.stderr);
    let sent = items(&input, b'\n');
    let got = items(&run.stdout, b'\n');
    assert!(is_subsequence(&got, &sent), "whole input lines only");
    check_books(&last_record(&run.stderr));
}

#[test]
fn the_books_add_up_per_key_when_the_consumer_leaves() {
    let mut input = Vec::new();
    for i in 0..200_000 {
        writeln!(input, "k{} line {i}", i % 7).unwrap();
    }
    for rate in [&["--rate-per-key", "1000/s"][..], &[][..]] {
        let mut args = vec!["--key-field", "1", "--stats-format", "json", "--summary"];
        args.extend_from_slice(rate);
        let mut fed = Fed::start(bpipe(&args), input.clone());
        let mut out = fed.child.stdout.take().unwrap();
        let mut first = [0; 16];
        out.read_exact(&mut first).unwrap();
        drop(out);
        let (status, stderr) = fed.finish();
        assert!(status.success(), "a closed pipe is normal: {stderr}");
        check_books(&last_record(&stderr));
    }
}

#[test]
fn keep_wins_over_the_per_key_rate() {
    let mut input = Vec::new();
    for i in 0..1000 {
        let level = if i % 10 == 0 { "ERROR" } else { "INFO" };
        writeln!(input, "svc {level} {i}").unwrap();
    }
    let run = run(
        bpipe(&[
            "--key-field",
            "1",
            "--rate-per-key",
            "1/h",
            "--keep",
            "ERROR",
            "--stats-format",
            "json",
            "--summary",
        ]),
        input,
    );
    assert!(run.status.success(), "{}", run.stderr);
    let errors = items(&run.stdout, b'\n')
        .iter()
        .filter(|l| l.windows(5).any(|w| w == b"ERROR"))
        .count();
    assert_eq!(errors, 100, "every kept line arrives");
    check_books(&last_record(&run.stderr));
}
