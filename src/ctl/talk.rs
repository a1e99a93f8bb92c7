//! Finding a bpipe's control socket and asking it one thing. A socket is used only if it
//! belongs to this user (another user's is refused before connecting); one that nothing
//! answers on in the private directory is stale and removed.

use std::io::{Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::control::endpoint::dir;
use crate::control::endpoint::wire::{self, Request};

/// The most an answer may be (a record with many workers is a few KiB).
const MAX_ANSWER: u64 = 1 << 20;

/// This user's running bpipes: (PID, socket), stale sockets removed.
pub fn sockets() -> Result<Vec<(u32, PathBuf)>, String> {
    let Some(dir) = dir::existing()? else {
        return Ok(Vec::new());
    };
    dir::clean_stale(&dir);
    Ok(dir::sockets(&dir))
}

/// Asks the bpipe at `path` for `request`, waiting at most `wait` for each step.
pub fn ask(path: &Path, request: &Request, wait: Duration) -> Result<String, String> {
    let shown = path.display();
    let mut stream = connect(path, wait)?;
    stream
        .write_all(format!("{}\n", request.line()).as_bytes())
        .map_err(|e| format!("{shown}: {}", crate::values::reason(&e)))?;
    let mut text = String::new();
    stream
        .take(MAX_ANSWER)
        .read_to_string(&mut text)
        .map_err(|e| format!("{shown}: not answering ({})", crate::values::reason(&e)))?;
    wire::read_answer(&text)
}

/// Connects to the bpipe at `path` (this user's socket, answered by this user), each step
/// given at most `wait`.
fn connect(path: &Path, wait: Duration) -> Result<UnixStream, String> {
    let shown = path.display();
    let meta = std::fs::symlink_metadata(path)
        .map_err(|e| format!("{shown}: {}", crate::values::reason(&e)))?;
    if !meta.file_type().is_socket() {
        return Err(format!("{shown} is not a control socket"));
    }
    if meta.uid() != rustix::process::geteuid().as_raw() {
        return Err(format!(
            "{shown} belongs to another user (uid {}): refused",
            meta.uid()
        ));
    }
    let stream = UnixStream::connect(path).map_err(|e| {
        // Nothing listens: stale, whatever process has its PID now (in the private
        // directory only: a path given is the user's to remove).
        let private = dir::existing().ok().flatten();
        if e.kind() == std::io::ErrorKind::ConnectionRefused && path.parent() == private.as_deref()
        {
            let _ = std::fs::remove_file(path);
        }
        format!("{shown}: not answering ({})", crate::values::reason(&e))
    })?;
    // Who answers, checked after connecting: a socket swapped since the check above would
    // be another user's.
    let peer = rustix::net::sockopt::socket_peercred(&stream)
        .map_err(|e| format!("{shown}: cannot tell who answers: {e}"))?;
    if peer.uid != rustix::process::geteuid() {
        return Err(format!(
            "{shown}: answered by another user (uid {}): refused",
            peer.uid.as_raw()
        ));
    }
    let _ = stream.set_read_timeout(Some(wait));
    let _ = stream.set_write_timeout(Some(wait));
    Ok(stream)
}

/// `tap`: streams the copies to stdout until the tap ends, bpipe ends, or stdout is closed.
pub fn tap(target: &str, request: &Request) -> Result<(), String> {
    let path = resolve(target)?;
    let mut stream = connect(&path, Duration::from_secs(3))?;
    let shown = path.display();
    stream
        .write_all(format!("{}\n", request.line()).as_bytes())
        .map_err(|e| format!("{shown}: {}", crate::values::reason(&e)))?;
    let _ = stream.set_read_timeout(None);
    // The answer's first line: `ok`, or why not.
    let mut first = Vec::new();
    let mut byte = [0u8; 1];
    while first.last() != Some(&b'\n') && first.len() < 4096 {
        match stream.read(&mut byte) {
            Ok(1) => first.push(byte[0]),
            _ => break,
        }
    }
    wire::read_answer(&String::from_utf8_lossy(&first))?;
    let mut out = std::io::stdout().lock();
    // A closed stdout (| head) ends the tap; that is no failure.
    let _ = std::io::copy(&mut stream, &mut out);
    let _ = out.flush();
    Ok(())
}

/// The socket of TARGET: a path (with a `/`), a PID, or a `-N` name (asked of each bpipe;
/// two that match are an error that lists them).
pub fn resolve(target: &str) -> Result<PathBuf, String> {
    if target.contains('/') {
        return Ok(PathBuf::from(target));
    }
    let found = sockets()?;
    if let Ok(pid) = target.parse::<u32>() {
        return found
            .into_iter()
            .find(|(p, _)| *p == pid)
            .map(|(_, path)| path)
            .ok_or_else(|| format!("no bpipe of yours with PID {pid} serves a control socket (bpipectl ls lists them)"));
    }
    let named: Vec<(u32, PathBuf)> = found
        .into_iter()
        .filter(|(_, path)| named(path, target))
        .collect();
    match named.as_slice() {
        [] => Err(format!(
            "no running bpipe of yours is named '{target}' (bpipectl ls lists them)"
        )),
        [(_, path)] => Ok(path.clone()),
        many => Err(format!(
            "{} bpipes are named '{target}': give a PID instead ({})",
            many.len(),
            many.iter()
                .map(|(pid, _)| pid.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// Whether the bpipe at `path` is named `name`: as it says, or, if it does not answer (busy,
/// stopped), as its socket's file name says.
fn named(path: &Path, name: &str) -> bool {
    let request = Request::Stats(crate::report::StatsFormat::Json);
    match ask(path, &request, Duration::from_millis(100)) {
        Ok(record) => serde_json::from_str::<serde_json::Value>(&record)
            .ok()
            .is_some_and(|v| v.get("name").and_then(|n| n.as_str()) == Some(name)),
        Err(_) => dir::pid_of(path).is_some_and(|pid| {
            let file = path.file_name().and_then(|f| f.to_str());
            file == Some(dir::socket_name(pid, Some(name)).as_str())
        }),
    }
}
