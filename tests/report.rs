//! End-to-end tests of reporting: records, the drop warning, SIGUSR1, the live view.

mod util;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::Stdio;
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
