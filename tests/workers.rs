//! `--workers N -- CMD`: whole items to whichever worker takes data, demand over rotation,
//! a pool that grows and shrinks, and workers that fail.

mod util;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::Command;
use std::time::{Duration, Instant};

use util::*;

const SH: &str = "/bin/sh";

/// Lines of many lengths, some longer than a pipe holds, each numbered: `000123-xxx…`.
fn mixed_lines(n: usize) -> Vec<u8> {
    let lengths = [3, 40, 700, 9_000, 150_000];
    (0..n)
        .flat_map(|i| {
            let len = lengths[(i * 7 + i / 3) % lengths.len()];
            format!("{i:06}-{}\n", "x".repeat(len)).into_bytes()
        })
        .collect()
}

/// The JSON records of a stats file.
fn records(path: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The sum of the numbers the workers printed (`wc -l` each).
fn sum_of_counts(stdout: &[u8]) -> u64 {
    std::str::from_utf8(stdout)
        .unwrap()
        .split_whitespace()
        .map(|n| n.parse::<u64>().unwrap())
        .sum()
}

fn balanced(r: &serde_json::Value) -> bool {
    let n = |k: &str| r[k].as_u64().unwrap();
    n("in_items") == n("out_items") + n("dropped_items") + n("undelivered_items")
        && n("in_bytes") == n("out_bytes") + n("dropped_bytes") + n("undelivered_bytes")
}

/// `bpipe OPTIONS --stats-format json --stats-file STATS --workers N -- sh -c SCRIPT`, with a
/// PATH for the script's commands.
fn pool(options: &[&str], stats: &std::path::Path, workers: &str, script: &str) -> Command {
    let mut args = options.to_vec();
    args.extend([
        "--stats-format",
        "json",
        "--stats-file",
        stats.to_str().unwrap(),
        "--workers",
        workers,
        "--",
        SH,
        "-c",
        script,
    ]);
    let mut cmd = bpipe(&args);
    cmd.env("PATH", "/usr/bin:/bin");
    cmd
}

#[test]
fn every_worker_gets_whole_lines_and_together_they_get_all() {
    let dir = temp_dir("workers-whole");
    let input = mixed_lines(1500);
    let script = format!("exec cat > {}/out$BPIPE_WORKER", dir.display());
    for cap in ["1", "65536"] {
        let out = run(
            bpipe(&[
                "-q",
                "--cap",
                cap,
                "--workers",
                "4",
                "--",
                SH,
                "-c",
                &script,
            ]),
            input.clone(),
        );
        assert!(out.status.success(), "{}", out.stderr);
        let mut got: Vec<Vec<u8>> = Vec::new();
        for w in 1..=4 {
            let data = std::fs::read(dir.join(format!("out{w}"))).unwrap_or_default();
            assert!(
                data.is_empty() || data.ends_with(b"\n"),
                "worker {w} got a cut line"
            );
            for line in items(&data, b'\n') {
                let (number, rest) = line.split_at(7);
                assert!(
                    number.ends_with(b"-") && rest.iter().all(|&b| b == b'x' || b == b'\n'),
                    "worker {w}: not a whole line: {:?}",
                    String::from_utf8_lossy(&line[..line.len().min(40)])
                );
                got.push(line.to_vec());
            }
        }
        let mut want: Vec<Vec<u8>> = items(&input, b'\n').iter().map(|l| l.to_vec()).collect();
        got.sort();
        want.sort();
        assert!(
            got == want,
            "cap {cap}: the workers' lines are not the input's"
        );
    }
}

#[test]
fn a_stuck_worker_gets_little_and_the_others_take_the_rest() {
    let dir = temp_dir("workers-demand");
    let gate = dir.join("gate");
    let made = std::process::Command::new("mkfifo").arg(&gate).status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("skipped: mkfifo is not available");
        return;
    }
    // Worker 1 reads nothing until the test opens the gate; the others count their lines.
    let script = format!(
        "if [ \"$BPIPE_WORKER\" = 1 ]; then read -r _ < {}; fi; echo \"$BPIPE_WORKER $(wc -l)\"",
        gate.display()
    );
    let stats = dir.join("stats.json");
    let mut child = spawn(pool(&["-q"], &stats, "4", &script));
    let lines = 200_000;
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(&numbered_lines(lines));
    });
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut counts = HashMap::new();
    let mut line = String::new();
    // The three others finish (their input is closed once everything else is delivered)
    // while worker 1 is still stuck; then the gate opens.
    while counts.len() < 3 {
        line.clear();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "bpipe ended early"
        );
        let (w, n) = line.trim().split_once(' ').unwrap();
        counts.insert(w.to_string(), n.parse::<u64>().unwrap());
    }
    assert!(!counts.contains_key("1"), "the stuck worker finished first");
    std::fs::write(&gate, "go\n").unwrap();
    line.clear();
    stdout.read_line(&mut line).unwrap();
    let (w, n) = line.trim().split_once(' ').unwrap();
    counts.insert(w.to_string(), n.parse::<u64>().unwrap());
    feeder.join().unwrap();
    assert!(child.wait().unwrap().success());
    let total: u64 = counts.values().sum();
    assert_eq!(total, lines as u64);
    // At most its pipe's worth (64 KiB of 7-byte lines) and one line.
    assert!(counts["1"] <= 65_536 / 7 + 1, "{counts:?}");
    let last = records(&stats).pop().unwrap();
    assert!(balanced(&last), "{last}");
    assert_eq!(last["workers"][0]["items"].as_u64(), Some(counts["1"]));
}

#[test]
fn a_worker_that_dies_is_reported_and_the_others_finish() {
    let dir = temp_dir("workers-die");
    let stats = dir.join("stats.json");
    let script = "if [ \"$BPIPE_WORKER\" = 2 ]; then head -n 10 >/dev/null; exit 7; fi; wc -l";
    let lines = 300_000;
    let out = run(pool(&[], &stats, "3", script), numbered_lines(lines));
    assert_eq!(out.status.code(), Some(6), "{}", out.stderr);
    assert!(
        out.stderr.contains("worker 2 exited with status 7"),
        "{}",
        out.stderr
    );
    let counted = sum_of_counts(&out.stdout);
    let records = records(&stats);
    let last = records.last().unwrap();
    assert!(balanced(last), "{last}");
    assert_eq!(last["in_items"], lines);
    let workers = last["workers"].as_array().unwrap();
    let taken = |w: usize| workers[w]["items"].as_u64().unwrap();
    // The survivors counted what they were given; worker 2 read some and left the rest,
    // which is undelivered, exactly.
    assert_eq!(counted, taken(0) + taken(2));
    assert_eq!(last["out_items"].as_u64().unwrap(), counted + taken(1));
    assert_eq!(
        last["undelivered_items"], workers[1]["undelivered_items"],
        "{last}"
    );
    assert_eq!(workers[1]["status"], 7);
    let exit = records
        .iter()
        .find(|r| r["event"] == "worker" && r["action"] == "exit" && r["worker"] == 2)
        .expect("an exit record");
    assert_eq!(exit["status"], 7);
}

#[test]
fn the_pool_grows_under_pressure_and_shrinks_when_idle() {
    let dir = temp_dir("workers-scale");
    let stats = dir.join("stats.json");
    // Each worker is a slow consumer: bpipe itself, at 2000 lines a second.
    let slow = format!(
        "exec {} -q --rate 2000/s --cap 10 >/dev/null",
        assert_cmd::cargo::cargo_bin!("bpipe").display()
    );
    let cmd = bpipe(&[
        "-q",
        "--cap",
        "1000",
        "--stats-format",
        "json",
        "--stats-file",
        stats.to_str().unwrap(),
        "--workers",
        "1..3",
        "--scale-after",
        "200ms",
        "--idle-exit",
        "500ms",
        "--",
        SH,
        "-c",
        &slow,
    ]);
    let mut child = spawn(cmd);
    let mut stdin = child.stdin.take().unwrap();
    // About 20000 lines a second for two seconds; then the input stays open, idle.
    let chunk = numbered_lines(2_000);
    for _ in 0..20 {
        stdin.write_all(&chunk).unwrap();
        std::thread::sleep(Duration::from_millis(100));
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    let retired = |r: &serde_json::Value| r["event"] == "worker" && r["action"] == "retire";
    while records(&stats).iter().filter(|r| retired(r)).count() < 2 {
        assert!(Instant::now() < deadline, "{:?}", records(&stats));
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(stdin);
    assert!(child.wait().unwrap().success());
    let events: Vec<(String, u64)> = records(&stats)
        .iter()
        .filter(|r| r["event"] == "worker")
        .map(|r| {
            let action = r["action"].as_str().unwrap().to_string();
            (action, r["workers_running"].as_u64().unwrap())
        })
        .collect();
    let starts: Vec<u64> = events
        .iter()
        .filter(|(a, _)| a == "start")
        .map(|&(_, n)| n)
        .collect();
    assert_eq!(starts, [1, 2, 3], "{events:?}");
    // Two retire (while the input is still open), and exit; the last one runs to the end.
    let actions: Vec<&str> = events.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(
        actions.iter().filter(|&&a| a == "retire").count(),
        2,
        "{events:?}"
    );
    let exits: Vec<u64> = events
        .iter()
        .filter(|(a, _)| a == "exit")
        .map(|&(_, n)| n)
        .collect();
    assert_eq!(exits, [2, 1, 0], "{events:?}");
    let last = records(&stats).pop().unwrap();
    assert!(balanced(&last), "{last}");
    assert_eq!(last["out_items"], 40_000);
}

#[test]
fn bad_worker_options_are_refused_before_reading() {
    for (args, expect) in [
        (
            &["--workers", "2"][..],
            "--workers needs a command after --",
        ),
        (&["--workers", "0", "--", "cat"][..], "--workers"),
        (
            &["--workers", "2", "--idle-exit", "1s", "--", "cat"][..],
            "--idle-exit needs a pool that can grow and shrink",
        ),
        (&["--scale-after", "1s"][..], "--scale-after needs workers"),
        (
            &["--workers", "3..1", "--", "cat"][..],
            "MIN is more than MAX",
        ),
        (
            &["--chunk", "1KiB", "--workers", "2", "--", "cat"][..],
            "--chunk has none",
        ),
        (
            &["--workers", "2", "--", "/no/such/command"][..],
            "cannot run '/no/such/command' (the command after --)",
        ),
    ] {
        let out = run(bpipe(args), b"not read\n".to_vec());
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(expect), "{args:?}: {}", out.stderr);
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn a_stop_is_passed_on_to_the_workers_and_what_they_never_read_is_undelivered() {
    let dir = temp_dir("workers-stop");
    let stats = dir.join("stats.json");
    // Each worker reads one line, says so, and then reads nothing more.
    let script = "if read -r _; then echo ready; else echo \"eof or error\"; fi; exec sleep 1000";
    let cmd = pool(&["-q", "--drain-timeout", "0"], &stats, "2", script);
    let mut child = spawn(cmd);
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(&numbered_lines(100_000));
    });
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    for _ in 0..2 {
        line.clear();
        stdout.read_line(&mut line).unwrap();
        assert_eq!(line, "ready\n", "a worker could not read a line");
    }
    // SAFETY: kill(2) on a child we spawned and have not reaped.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let status = child.wait().unwrap();
    feeder.join().unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(libc::SIGTERM));
    let last = records(&stats).pop().unwrap();
    assert!(balanced(&last), "{last}");
    // Exactly what the workers read is delivered; what sat in their pipes is not.
    assert_eq!(last["out_items"], 2, "{last}");
    for w in last["workers"].as_array().unwrap() {
        assert_eq!(w["status"], 143, "{w}");
        assert_eq!(
            w["failures"], 0,
            "dying of the stop passed on is no failure: {w}"
        );
        assert_eq!(w["running"], false);
    }
}

#[test]
fn a_failed_worker_is_restarted_with_restart_and_the_status_still_says_it_failed() {
    let dir = temp_dir("workers-restart");
    let stats = dir.join("stats.json");
    let flag = dir.join("failed-once");
    // The first start fails at once; the next one counts its lines.
    let script = format!(
        "if [ ! -e {0} ]; then : > {0}; exit 3; fi; wc -l",
        flag.display()
    );
    let lines = 50_000;
    let cmd = pool(&["-q", "--restart"], &stats, "1", &script);
    let out = run(cmd, numbered_lines(lines));
    assert_eq!(out.status.code(), Some(6), "{}", out.stderr);
    assert!(
        out.stderr.contains("worker 1 exited with status 3"),
        "{}",
        out.stderr
    );
    let counted = sum_of_counts(&out.stdout);
    let last = records(&stats).pop().unwrap();
    assert!(balanced(&last), "{last}");
    let w = &last["workers"][0];
    assert_eq!(
        (w["starts"].as_u64(), w["failures"].as_u64()),
        (Some(2), Some(1))
    );
    // The second worker counted all but what the first was given and never read.
    assert_eq!(
        counted + w["undelivered_items"].as_u64().unwrap(),
        lines as u64
    );
    assert_eq!(last["out_items"].as_u64(), Some(counted));
}

#[test]
fn when_the_workers_output_closes_bpipe_ends_as_for_a_closed_stdout() {
    // `bpipe --workers 2 -- cat | head -n 1`: the workers die of SIGPIPE; that is the end,
    // not a failure.
    let mut cmd = bpipe(&["--workers", "2", "--", "/bin/cat"]);
    cmd.env("PATH", "/usr/bin:/bin");
    let mut child = spawn(cmd);
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        // A producer that would go on for ever, stopped by the closed pipe.
        let chunk = numbered_lines(10_000);
        while stdin.write_all(&chunk).is_ok() {}
    });
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    drop(stdout);
    let status = child.wait().unwrap();
    feeder.join().unwrap();
    assert_eq!(status.code(), Some(0));
}

/// A signal that comes while the workers are still being started is bpipe's to handle: a
/// record for SIGUSR1, a drain for SIGTERM, never a death by the default action that leaves
/// workers orphaned. (The handlers were installed after the last worker started.)
#[test]
fn signals_while_the_workers_start_are_handled_not_fatal() {
    use std::os::unix::process::ExitStatusExt;
    for (signal, dies) in [(libc::SIGUSR1, false), (libc::SIGTERM, true)] {
        let dir = temp_dir(&format!("workers-early-{signal}"));
        let pids = dir.join("pids");
        let script = format!("echo $$ >> {}; exec cat >/dev/null", pids.display());
        let mut cmd = bpipe(&["-q", "--workers", "200", "--", SH, "-c", &script]);
        cmd.env("PATH", std::env::var_os("PATH").unwrap_or_default());
        let mut child = spawn(cmd);
        // Spawning has begun, with up to 199 workers to go.
        let started = Instant::now();
        while std::fs::metadata(&pids).map_or(true, |m| m.len() == 0) {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "no worker started"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        // SAFETY: kill(2) on a child we spawned and have not reaped.
        unsafe { libc::kill(child.id() as libc::pid_t, signal) };
        drop(child.stdin.take());
        let stderr = all_stderr(&mut child);
        let status = child.wait().unwrap();
        let started: Vec<i32> = std::fs::read_to_string(&pids)
            .unwrap()
            .lines()
            .filter_map(|l| l.parse().ok())
            .collect();
        // SAFETY: kill(2) with signal 0 only asks whether the process exists.
        let alive = started
            .iter()
            .filter(|&&pid| unsafe { libc::kill(pid, 0) } == 0)
            .count();
        // Whatever happened, no worker outlives the test.
        for pid in &started {
            // SAFETY: each worker leads a process group of its own.
            unsafe { libc::kill(-pid, libc::SIGKILL) };
        }
        match dies {
            false => assert_eq!(status.code(), Some(0), "{status:?}: {stderr}"),
            true => assert_eq!(status.signal(), Some(libc::SIGTERM), "{status:?}: {stderr}"),
        }
        assert_eq!(
            alive, 0,
            "workers left running after bpipe ended ({signal})"
        );
    }
}

/// The final JSON record of a run of `--workers N` on `input` (a file), through workers that
/// read nothing and exit once bpipe has read all of it.
fn through_a_worker_that_reads_nothing(input: Vec<u8>, workers: &str) -> serde_json::Value {
    let dir = temp_dir(&format!("reads-nothing-{}-{workers}", input.len()));
    let (data, gate) = (dir.join("in"), dir.join("gate"));
    std::fs::write(&data, &input).unwrap();
    let wait = r#"while [ ! -e "$0" ]; do sleep 0.01; done"#;
    let gate_arg = gate.to_str().unwrap();
    let args = [
        "--workers",
        workers,
        "--stats-format",
        "json",
        "--summary",
        "--",
        "sh",
        "-c",
        wait,
        gate_arg,
    ];
    let mut cmd = bpipe(&args);
    cmd.env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .stdin(std::fs::File::open(&data).unwrap())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    // bpipe has read all of its stdin when the file's offset is at its end, or it has
    // closed it (at the end of its input).
    let fdinfo = format!("/proc/{}/fdinfo/0", child.id());
    let deadline = Instant::now() + Duration::from_secs(20);
    let offset = || {
        let info = std::fs::read_to_string(&fdinfo).ok()?;
        info.lines().next()?.split_whitespace().nth(1)?.parse().ok()
    };
    while offset().is_some_and(|at: usize| at < input.len()) {
        assert!(Instant::now() < deadline, "bpipe did not read its input");
        std::thread::sleep(Duration::from_millis(1));
    }
    std::fs::write(&gate, "").unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stderr.lines().last().expect("a final record");
    serde_json::from_str(last).unwrap()
}

#[test]
fn a_long_line_a_worker_never_read_is_undelivered_not_delivered() {
    // Lines longer than a pipe and a stage, with and without their newline, longer than
    // --max-line (three pieces in the books): the workers read none of it.
    let long = |n: usize, end: &str| format!("{}{end}", "x".repeat(n)).into_bytes();
    let mut mixed = (1..=1000)
        .flat_map(|i| format!("{i}\n").into_bytes())
        .collect::<Vec<_>>();
    mixed.extend(long(300_000, ""));
    for (input, workers, items) in [
        (long(300_000, ""), "1", 1),
        (long(131_073, ""), "1", 1),
        (mixed, "2", 1001),
        (long(3_000_000, "\n"), "1", 3),
    ] {
        let bytes = input.len() as u64;
        let last = through_a_worker_that_reads_nothing(input, workers);
        assert!(balanced(&last), "{last}");
        assert_eq!(last["out_items"], 0, "{last}");
        assert_eq!(last["out_bytes"], 0, "{last}");
        assert_eq!(last["undelivered_items"], items, "{last}");
        assert_eq!(last["undelivered_bytes"], bytes, "{last}");
        for w in last["workers"].as_array().unwrap() {
            assert_eq!(w["bytes"], 0, "a worker that read nothing: {w}");
        }
    }
}

#[test]
fn a_last_line_without_its_newline_that_the_worker_read_is_delivered() {
    // Found by a hostile trial of the fix above: an unterminated last line read whole was
    // counted undelivered.
    for input in [b"abc".to_vec(), vec![b'x'; 1_048_577]] {
        let args = [
            "--workers",
            "1",
            "--stats-format",
            "json",
            "--summary",
            "--",
        ];
        let mut args = args.to_vec();
        args.extend([SH, "-c", "exec cat >/dev/null"]);
        let out = run(bpipe(&args), input);
        let last: serde_json::Value =
            serde_json::from_str(out.stderr.lines().last().unwrap()).unwrap();
        assert!(balanced(&last), "{last}");
        assert_eq!(last["undelivered_items"], 0, "{last}");
        assert_eq!(last["out_items"], last["in_items"], "{last}");
    }
}

#[test]
fn a_failed_worker_gets_a_final_record_on_stderr_without_asking() {
    // Stderr is not a terminal and nothing was shed: only the failure makes the run worth a
    // record, as the README's "When records appear" says of an error.
    let mut cmd = bpipe(&["--workers", "2", "--", SH, "-c", "cat >/dev/null; exit 7"]);
    cmd.env("PATH", "/usr/bin:/bin");
    let out = run(cmd, numbered_lines(1000));
    assert_eq!(out.status.code(), Some(6), "{}", out.stderr);
    let last = out.stderr.lines().last().unwrap_or("");
    assert!(last.starts_with("bpipe: in 1000 lines"), "{}", out.stderr);
}

#[test]
fn restart_and_exit_flags_refuse_what_they_cannot_do_before_reading() {
    for (args, says) in [
        (
            &["--worker-exit-timeout", "0"][..],
            "--worker-exit-timeout must be",
        ),
        (
            &["--worker-exit-timeout", "584542046090y"][..],
            "--worker-exit-timeout must be",
        ),
        (
            &["--restart", "--restart-backoff", "1ns"][..],
            "--restart-backoff must be",
        ),
        (&["--restart", "--restart-max", "0"][..], "'never'"),
    ] {
        let mut all = vec!["--workers", "1"];
        all.extend_from_slice(args);
        all.extend(["--", "cat"]);
        let out = bpipe(&all)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}

#[test]
fn a_worker_that_hangs_at_the_end_is_stopped_after_the_exit_timeout() {
    let run = run(
        bpipe(&[
            "--workers",
            "1",
            "--worker-exit-timeout",
            "200ms",
            "--stats-format",
            "json",
            "--summary",
            "--",
            SH,
            "-c",
            "cat >/dev/null; sleep 1000",
        ]),
        numbered_lines(100),
    );
    assert_eq!(
        run.code(),
        Some(6),
        "a worker stopped counts failed: {}",
        run.stderr
    );
    let record = last_record(&run.stderr);
    assert_eq!(
        n(&record, "in_items"),
        n(&record, "out_items") + n(&record, "undelivered_items")
    );
}
