//! Where control sockets live: one directory per user, private to them — `$XDG_RUNTIME_DIR/bpipe`,
//! else `bpipe-UID` under the temp dir — made `0700` if missing, and refused unless it is a
//! real directory (not a symlink), owned by this user and closed to everyone else. A socket is
//! named `PID.sock` or `PID-NAME.sock` (`-N NAME`, its unsafe characters replaced).

use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Where this user's control sockets go.
fn path() -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR").filter(|d| Path::new(d).is_absolute()) {
        Some(runtime) => Path::new(&runtime).join("bpipe"),
        None => std::env::temp_dir().join(format!("bpipe-{}", rustix::process::geteuid().as_raw())),
    }
}

/// The directory of this user's control sockets, checked, if there is one (the client makes
/// none: no directory, no bpipe).
pub fn existing() -> Result<Option<PathBuf>, String> {
    let dir = path();
    match fs::symlink_metadata(&dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        _ => check(&dir).map(|()| Some(dir)),
    }
}

/// The directory of this user's control sockets, made if missing, checked. (The last bpipe
/// to leave removes it: see `Endpoint`'s drop.)
pub fn private() -> Result<PathBuf, String> {
    let dir = path();
    match fs::DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(format!("{}: {}", dir.display(), crate::report::reason(&e))),
    }
    check(&dir)?;
    Ok(dir)
}

/// Refuses `dir` unless it is a directory (not a symlink to one), owned by this user, that
/// no one else may enter or write to.
pub fn check(dir: &Path) -> Result<(), String> {
    let shown = dir.display();
    let meta =
        fs::symlink_metadata(dir).map_err(|e| format!("{shown}: {}", crate::report::reason(&e)))?;
    if meta.file_type().is_symlink() {
        return Err(format!(
            "{shown} is a symlink; remove it (bpipe makes its own directory)"
        ));
    }
    if !meta.is_dir() {
        return Err(format!("{shown} is not a directory"));
    }
    if meta.uid() != rustix::process::geteuid().as_raw() {
        return Err(format!(
            "{shown} belongs to another user (uid {})",
            meta.uid()
        ));
    }
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(format!(
            "{shown} is open to other users (mode {:o}); make it private: chmod 700 {shown}",
            meta.permissions().mode() & 0o777
        ));
    }
    Ok(())
}

/// The socket's file name for process `pid` named `name`.
pub fn socket_name(pid: u32, name: Option<&str>) -> String {
    match name {
        None => format!("{pid}.sock"),
        Some(name) => {
            let safe: String = name
                .chars()
                .take(48)
                .map(|c| {
                    if c.is_ascii_alphanumeric() || "._-".contains(c) {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            format!("{pid}-{safe}.sock")
        }
    }
}

/// The PID a socket's file name gives, if it is one of bpipe's.
pub fn pid_of(path: &Path) -> Option<u32> {
    let name = path.file_name()?.to_str()?.strip_suffix(".sock")?;
    name.split('-').next()?.parse().ok()
}

/// The control sockets in `dir`, by PID.
pub fn sockets(dir: &Path) -> Vec<(u32, PathBuf)> {
    let mut found: Vec<(u32, PathBuf)> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter_map(|path| Some((pid_of(&path)?, path)))
        .collect();
    found.sort();
    found
}

/// Whether process `pid` is gone (so its socket is stale).
pub fn gone(pid: u32) -> bool {
    let Some(pid) = rustix::process::Pid::from_raw(pid as i32) else {
        return true;
    };
    matches!(
        rustix::process::test_kill_process(pid),
        Err(rustix::io::Errno::SRCH)
    )
}

/// Removes the sockets in `dir` whose process is gone (left by `SIGKILL`).
pub fn clean_stale(dir: &Path) {
    for (pid, path) in sockets(dir) {
        if gone(pid) {
            let _ = fs::remove_file(path);
        }
    }
}
