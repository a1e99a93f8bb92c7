//! Brokers for tests/brokers.rs: a real server on a free loopback port, its client as
//! bpipe's workers, and its consumer to read back what arrived. A broker that is not
//! installed skips its test with a message (`.ci/run` installs them where it can).

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Whether `program` is on the PATH; says the test is skipped if not.
pub fn have(programs: &[&str], test: &str) -> bool {
    for program in programs {
        let found = std::env::var_os("PATH").is_some_and(|paths| {
            std::env::split_paths(&paths).any(|dir| dir.join(program).is_file())
        });
        if !found {
            eprintln!("skipped: {test}: {program} is not installed (apt-get install it)");
            return false;
        }
    }
    true
}

/// A loopback port nobody listens on now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until something listens on `port` (at most 10 s).
pub fn wait_listening(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {port}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A process killed when dropped.
pub struct Process(pub Child);

impl Process {
    pub fn spawn(cmd: &mut Command) -> Process {
        Process(cmd.spawn().unwrap_or_else(|e| panic!("{cmd:?}: {e}")))
    }

    pub fn signal(&self, signal: i32) {
        // SAFETY: kill(2) on a child we have not reaped.
        unsafe { libc::kill(self.0.id() as i32, signal) };
    }

    pub fn stop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The `examples/` script `name`.
pub fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name)
}

/// `n` distinct lines, none empty (mosquitto_pub -l skips empty lines).
pub fn numbered(n: usize) -> Vec<u8> {
    (0..n)
        .flat_map(|i| format!("line-{i:07}-{}\n", "x".repeat(i % 50)).into_bytes())
        .collect()
}

/// `n` distinct short lines (librdkafka's mock cluster keeps about 4 MiB a partition).
pub fn short_numbered(n: usize) -> Vec<u8> {
    (0..n)
        .flat_map(|i| format!("{i:07}\n").into_bytes())
        .collect()
}

/// Up to three lines of `got` that are not in `sent` (for a failure's message).
pub fn strangers(sent: &[u8], got: &[u8]) -> Vec<String> {
    let sent: std::collections::HashSet<&[u8]> = sent.split(|&b| b == b'\n').collect();
    let mut seen = std::collections::HashSet::new();
    got.split(|&b| b == b'\n')
        .filter(|l| !l.is_empty() && (!sent.contains(l) || !seen.insert(*l)))
        .take(3)
        .map(|l| String::from_utf8_lossy(&l[..l.len().min(80)]).into_owned())
        .collect()
}

/// What arrived, against what was sent: (lines missing, lines that arrived twice or were
/// never sent). Lines are compared as a multiset (brokers do not keep one order across
/// partitions or workers).
pub fn compare(sent: &[u8], got: &[u8]) -> (usize, usize) {
    let mut sent: Vec<&[u8]> = sent
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    // An empty line that arrived is an extra: none was sent.
    let mut got: Vec<&[u8]> = got.split(|&b| b == b'\n').collect();
    if got.last().is_some_and(|l| l.is_empty()) {
        got.pop();
    }
    sent.sort_unstable();
    got.sort_unstable();
    let (mut i, mut j, mut missing, mut extra) = (0, 0, 0, 0);
    while i < sent.len() || j < got.len() {
        match (sent.get(i), got.get(j)) {
            (Some(a), Some(b)) if a == b => (i, j) = (i + 1, j + 1),
            (Some(a), Some(b)) if a < b => (i, missing) = (i + 1, missing + 1),
            (Some(_), None) => (i, missing) = (i + 1, missing + 1),
            _ => (j, extra) = (j + 1, extra + 1),
        }
    }
    (missing, extra)
}

/// Reads `child`'s stdout to the end on a thread of its own.
pub fn read_all(mut child: Child) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut out = Vec::new();
        child.stdout.take().unwrap().read_to_end(&mut out).unwrap();
        let _ = child.wait();
        out
    })
}

/// Spawns `cmd` with stdout piped and stderr as given, and waits until a line of its
/// stderr contains `ready` (or its stdout, with `Ready::Stdout`), which is then dropped.
pub fn spawn_ready(cmd: &mut Command, ready: &str) -> (Child, Vec<String>) {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let mut seen = Vec::new();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    loop {
        let mut line = String::new();
        assert!(
            err.read_line(&mut line).unwrap() > 0,
            "{cmd:?} said: {seen:?}"
        );
        let done = line.contains(ready);
        seen.push(line);
        if done {
            break;
        }
    }
    // The rest of stderr is drained, so that the child never blocks on it.
    std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
    (child, seen)
}
