//! `--stats-format prometheus`: a file replaced whole at every record, for node_exporter's
//! textfile collector, that promtool accepts and that never destroys what it should not.

mod util;

use std::fs::File;
use std::process::Stdio;

use util::{bpipe, numbered_lines, run, temp_dir};

#[test]
fn prometheus_records_replace_the_stats_file_and_promtool_accepts_them() {
    let dir = temp_dir("prom");
    let path = dir.join("bpipe.prom");
    let out = run(
        bpipe(&[
            "-N",
            "ingest",
            "--stats-format",
            "prometheus",
            "--stats-file",
            path.to_str().unwrap(),
            "--workers",
            "2",
            "--",
            "/bin/sh",
            "-c",
            "exec cat >/dev/null",
        ]),
        numbered_lines(1000),
    );
    assert_eq!(out.code(), Some(0), "{}", out.stderr);
    // Workers too, each by its slot.
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains("bpipe_workers_running{name=\"ingest\"} 0\n"),
        "{text}"
    );
    assert!(
        text.contains("bpipe_worker_items_total{name=\"ingest\",worker=\"2\"}"),
        "{text}"
    );
    let text = std::fs::read_to_string(&path).unwrap();
    // Replaced whole (one copy of each metric), the last record's figures.
    assert_eq!(text.matches("# TYPE bpipe_items_total counter").count(), 1);
    assert!(
        text.contains("bpipe_items_total{name=\"ingest\",direction=\"out\"} 1000\n"),
        "{text}"
    );
    // No temporary file is left beside it.
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["bpipe.prom"]);
    match std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(File::open(&path).unwrap())
        .output()
    {
        Ok(check) => assert!(
            check.status.success(),
            "promtool: {}",
            String::from_utf8_lossy(&check.stderr)
        ),
        Err(_) => eprintln!("skipped: promtool is not installed (Debian package prometheus)"),
    }
    std::fs::remove_dir_all(&dir).unwrap();
    // Without a file it is refused before reading.
    let refused = bpipe(&["--stats-format", "prometheus"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
}

#[test]
fn a_fifo_or_device_is_refused_and_a_planted_link_is_not_followed() {
    let dir = temp_dir("prom-hostile");
    let fifo = dir.join("fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    let out = bpipe(&[
        "--stats-format",
        "prometheus",
        "--stats-file",
        fifo.to_str().unwrap(),
    ])
    .stdin(Stdio::null())
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not a regular file"), "{stderr}");
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
    // A link planted where a fixed temporary name would be: its target is untouched.
    let victim = dir.join("victim");
    std::fs::write(&victim, "precious").unwrap();
    std::os::unix::fs::symlink(&victim, dir.join("bpipe.prom.tmp")).unwrap();
    let path = dir.join("bpipe.prom");
    let args = [
        "--stats-format",
        "prometheus",
        "--stats-file",
        path.to_str().unwrap(),
    ];
    let out = run(bpipe(&args), numbered_lines(10));
    assert_eq!(out.code(), Some(0), "{}", out.stderr);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .contains("bpipe_items_total")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_symbolic_link_is_refused_not_replaced() {
    // The rename that replaces the file whole would replace the link itself, and the file it
    // points to would never be updated (or, for /dev/stdout, the system's link destroyed).
    let dir = temp_dir("prom-link");
    let target = dir.join("target.prom");
    std::fs::write(&target, "old").unwrap();
    let link = dir.join("link.prom");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let args = [
        "--stats-format",
        "prometheus",
        "--stats-file",
        link.to_str().unwrap(),
    ];
    let out = run(bpipe(&args), numbered_lines(10));
    assert_eq!(out.code(), Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("symbolic link"), "{}", out.stderr);
    assert!(out.stdout.is_empty(), "read before refusing");
    let kind = std::fs::symlink_metadata(&link).unwrap().file_type();
    assert!(kind.is_symlink(), "the link was replaced");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "old");
    std::fs::remove_dir_all(&dir).unwrap();
}
