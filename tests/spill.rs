//! `--spill DIR`: lossless without holding the producer, in input order, within
//! `--spill-max`; the policy applies once the disk is full too; nothing is left in DIR.

mod util;

use std::time::Duration;

use util::*;

fn lines(n: usize) -> Vec<u8> {
    (0..n)
        .flat_map(|i| format!("{i:08} {}\n", "x".repeat(i * 7 % 90)).into_bytes())
        .collect()
}

/// Runs bpipe with `args` on `input`, the consumer stalled for `stall` then reading at
/// full speed; returns stdout, the final JSON record and the status code.
fn stalled_then_fast(
    args: &[&str],
    input: Vec<u8>,
    stall: Duration,
) -> (Vec<u8>, serde_json::Value, Option<i32>) {
    let run = run_stalled_for(with_json(args), input, stall);
    let record = last_record(&run.stderr);
    (run.stdout, record, run.status.code())
}

fn last_record(stderr: &str) -> serde_json::Value {
    let last = stderr.lines().rfind(|l| l.starts_with('{'));
    serde_json::from_str(last.expect("a record")).unwrap()
}

/// `bpipe ARGS --stats-format json --summary`.
fn with_json(args: &[&str]) -> std::process::Command {
    let mut cmd = bpipe(args);
    cmd.args(["--stats-format", "json", "--summary"]);
    cmd
}

fn balanced(r: &serde_json::Value) -> bool {
    let n = |k: &str| r[k].as_u64().unwrap();
    n("in_items") == n("out_items") + n("dropped_items") + n("undelivered_items")
        && n("in_bytes") == n("out_bytes") + n("dropped_bytes") + n("undelivered_bytes")
}

#[test]
fn block_with_a_spill_is_byte_exact_and_does_not_hold_the_producer() {
    let dir = temp_dir("spill-exact");
    let input = lines(300_000);
    let args = ["--cap-bytes", "256KiB", "--spill", dir.to_str().unwrap()];
    let (out, record, code) = stalled_then_fast(&args, input.clone(), Duration::from_millis(800));
    assert_eq!(code, Some(0), "{record}");
    assert!(out == input, "output differs from input");
    assert!(record["spilled_bytes"].as_u64() > Some(1 << 20), "{record}");
    // Held for at most the grace at the start of the stall, not for the stall.
    assert!(record["blocked_s"].as_f64() < Some(0.4), "{record}");
    assert_eq!(record["spill_depth_items"].as_u64(), Some(0));
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        0,
        "files left in DIR"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_full_spill_hands_over_to_the_policy_within_its_limit() {
    let dir = temp_dir("spill-bounded");
    let input = lines(300_000);
    for policy in ["block", "drop", "slide", "fail"] {
        let args = [
            "--policy",
            policy,
            "--cap-bytes",
            "64KiB",
            "--spill",
            dir.to_str().unwrap(),
            "--spill-max",
            "1MiB",
        ];
        let (out, record, code) =
            stalled_then_fast(&args, input.clone(), Duration::from_millis(500));
        assert!(balanced(&record), "{policy}: {record}");
        assert!(
            record["max_spill_bytes"].as_u64() <= Some(1 << 20),
            "{policy}: {record}"
        );
        assert!(
            record["spilled_bytes"].as_u64() > Some(0),
            "{policy}: {record}"
        );
        let got = items(&out, b'\n');
        assert!(
            is_subsequence(&got, &items(&input, b'\n')),
            "{policy}: out of order"
        );
        match policy {
            "block" => assert!(out == input, "block lost items"),
            "fail" => assert_eq!(code, Some(3), "{record}"),
            _ => assert!(
                record["dropped_items"].as_u64() > Some(0),
                "{policy}: {record}"
            ),
        }
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            0,
            "files left in DIR"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_consumer_that_keeps_up_never_touches_the_disk() {
    let dir = temp_dir("spill-untouched");
    let input = lines(200_000);
    for cap in ["1", "64"] {
        let args = [
            "--cap",
            cap,
            "--spill",
            dir.to_str().unwrap(),
            "--stats-format",
            "json",
            "--summary",
        ];
        let out = run(bpipe(&args), input.clone());
        assert!(out.stdout == input);
        let record: serde_json::Value =
            serde_json::from_str(out.stderr.lines().last().unwrap()).unwrap();
        assert_eq!(
            record["spilled_items"].as_u64(),
            Some(0),
            "--cap {cap}: {record}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_spill_dir_that_cannot_take_files_is_refused_before_reading() {
    let out = bpipe(&["--spill", "/nonexistent-dir"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("bpipe: --spill /nonexistent-dir: "),
        "{stderr}"
    );
}

#[test]
fn a_full_disk_warns_once_and_the_policy_takes_over_in_order() {
    // A 1 MiB tmpfs: needs root and a kernel that lets us mount.
    let dir = temp_dir("spill-enospc");
    let mounted = std::process::Command::new("mount")
        .args([
            "-t",
            "tmpfs",
            "-o",
            "size=1m",
            "tmpfs",
            dir.to_str().unwrap(),
        ])
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("skipped: cannot mount a small tmpfs here (needs root)");
        let _ = std::fs::remove_dir_all(&dir);
        return;
    }
    let mut runs = Vec::new();
    let input = lines(300_000);
    for policy in ["drop", "slide"] {
        let args = [
            "--policy",
            policy,
            "--cap-bytes",
            "64KiB",
            "--spill",
            dir.to_str().unwrap(),
        ];
        let run = run_stalled_for(with_json(&args), input.clone(), Duration::from_millis(500));
        runs.push((policy, run));
    }
    let _ = std::process::Command::new("umount").arg(&dir).status();
    let _ = std::fs::remove_dir_all(&dir);
    for (policy, run) in runs {
        let record = last_record(&run.stderr);
        // What reached the disk before it filled is delivered: slide does not empty a disk
        // that will take nothing more to make room.
        assert!(
            record["out_bytes"].as_u64() > Some(512 << 10),
            "{policy}: {record}"
        );
        a_full_disk_ran_its_course(run, &input);
    }
}

fn a_full_disk_ran_its_course(run: Run, input: &[u8]) {
    let (out, stderr, status) = (run.stdout, run.stderr, run.status);
    assert!(status.success(), "{stderr}");
    assert_eq!(
        stderr
            .matches("bpipe: --spill: No space left on device")
            .count(),
        1,
        "{stderr}"
    );
    let record = last_record(&stderr);
    assert!(balanced(&record), "{record}");
    assert!(record["dropped_items"].as_u64() > Some(0), "{record}");
    assert!(
        is_subsequence(&items(&out, b'\n'), &items(input, b'\n')),
        "out of order"
    );
}

#[test]
fn drop_and_slide_shed_nothing_while_the_disk_has_room() {
    // What the writer gives back when stdout fills goes to disk too, not to the policy.
    let dir = temp_dir("spill-no-shed");
    let input = lines(300_000);
    for policy in ["drop", "slide"] {
        let args = [
            "--policy",
            policy,
            "--cap",
            "64",
            "--spill",
            dir.to_str().unwrap(),
        ];
        let (out, record, code) =
            stalled_then_fast(&args, input.clone(), Duration::from_millis(500));
        assert_eq!(code, Some(0), "{record}");
        assert_eq!(
            record["dropped_items"].as_u64(),
            Some(0),
            "{policy}: {record}"
        );
        assert!(out == input, "{policy}: output differs from input");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Runs `input` through `--keep ERROR --spill DIR --spill-max 1MiB` and `args` under drop
/// and slide, the consumer stalled for `stall`: each run ends with status 0, exact books,
/// a subsequence of the input, and every ERROR line. Returns each policy's final record.
fn kept_through_a_full_spill(
    name: &str,
    input: &[u8],
    args: &[&str],
    stall: Duration,
) -> Vec<(&'static str, serde_json::Value)> {
    let dir = temp_dir(name);
    let errors = |data: &[u8]| {
        items(data, b'\n')
            .iter()
            .filter(|l| l.windows(5).any(|w| w == b"ERROR"))
            .count()
    };
    let mut records = Vec::new();
    for policy in ["drop", "slide"] {
        let mut all = vec!["--policy", policy, "--keep", "ERROR"];
        all.extend(args);
        all.extend(["--spill", dir.to_str().unwrap(), "--spill-max", "1MiB"]);
        let (out, record, code) = stalled_then_fast(&all, input.to_vec(), stall);
        assert_eq!(code, Some(0), "{record}");
        assert!(balanced(&record), "{policy}: {record}");
        assert!(
            is_subsequence(&items(&out, b'\n'), &items(input, b'\n')),
            "{policy}: out of order"
        );
        assert_eq!(errors(&out), errors(input), "{policy}: kept lines shed");
        records.push((policy, record));
    }
    std::fs::remove_dir_all(&dir).unwrap();
    records
}

#[test]
fn keep_holds_with_a_full_spill_and_only_unkept_lines_are_shed() {
    // Every 50th line is an ERROR line: 6000 of them.
    let input: Vec<u8> = (0..300_000)
        .flat_map(|i| match i % 50 {
            0 => format!("{i:08} ERROR\n").into_bytes(),
            _ => format!("{i:08} {}\n", "x".repeat(i * 7 % 90)).into_bytes(),
        })
        .collect();
    let args = ["--cap-bytes", "64KiB"];
    let stall = Duration::from_millis(500);
    for (policy, record) in kept_through_a_full_spill("spill-keep", &input, &args, stall) {
        // The kept lines a read waited with were counted as spared, once each.
        let kept = record["kept_items"].as_u64().unwrap();
        assert!(kept > 0 && kept <= 6000, "{policy}: {record}");
        assert!(
            record["dropped_items"].as_u64() > Some(0),
            "{policy}: {record}"
        );
        assert!(
            record["spilled_bytes"].as_u64() > Some(0),
            "{policy}: {record}"
        );
    }
}

#[test]
fn a_long_line_given_back_to_a_small_spill_sheds_no_kept_line_and_stays_in_bounds() {
    // 1024 lines of 64 bytes fill the consumer's pipe; the writer gives back the 3 MiB line
    // after them, and what follows it: more than a 1 MiB spill takes. The newest that fit go
    // to disk, all or none; the rest stays in memory for the policy, which spares kept lines.
    let line = |n: usize| {
        let kind = if n.is_multiple_of(5) {
            "ERROR"
        } else {
            "INFO "
        };
        format!("{kind} seq={n:07} {}\n", "p".repeat(45)).into_bytes()
    };
    let mut input: Vec<u8> = (0..1024).flat_map(line).collect();
    input.extend(format!("BIG {}\n", "q".repeat(3 << 20)).into_bytes());
    input.extend((1025..57025).flat_map(line));
    let args = ["--max-line", "4MiB", "--cap-bytes", "4MiB"];
    let stall = Duration::from_millis(600);
    for (policy, record) in kept_through_a_full_spill("spill-give-back", &input, &args, stall) {
        assert!(
            record["max_spill_bytes"].as_u64() <= Some(1 << 20),
            "{policy}: {record}"
        );
    }
}

#[test]
fn prometheus_shows_the_spill() {
    let dir = temp_dir("spill-prom");
    let prom = dir.join("bpipe.prom");
    let spill = dir.join("spill");
    std::fs::create_dir_all(&spill).unwrap();
    let args = [
        "--cap-bytes",
        "64KiB",
        "--spill",
        spill.to_str().unwrap(),
        "--stats-format",
        "prometheus",
        "--stats-file",
        prom.to_str().unwrap(),
    ];
    let run = run_stalled_for(bpipe(&args), lines(200_000), Duration::from_millis(500));
    assert!(run.status.success(), "{}", run.stderr);
    let text = std::fs::read_to_string(&prom).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(
        text.contains("bpipe_spill_capacity_bytes 1073741824\n"),
        "{text}"
    );
    let spilled = text
        .lines()
        .find_map(|l| l.strip_prefix("bpipe_spilled_bytes_total "))
        .expect("bpipe_spilled_bytes_total");
    assert!(spilled.parse::<f64>().unwrap() > 0.0, "{text}");
}
