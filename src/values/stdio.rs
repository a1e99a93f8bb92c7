//! Which of bpipe's own standard streams a file is, so that a file argument that names one
//! (`/dev/stdout`, `/proc/self/fd/1`, the file stdout is redirected to) is refused rather than
//! mixed into the data; and whether a device is `/dev/null`, the one device a file argument
//! may be.

use std::fs::Metadata;
use std::os::unix::fs::{FileTypeExt, MetadataExt};

/// `/dev/null`: the character device 1:3.
pub fn is_dev_null(meta: &Metadata) -> bool {
    meta.file_type().is_char_device() && meta.rdev() == libc::makedev(1, 3)
}

/// The name of bpipe's standard stream (`stdin`, `stdout`, `stderr`) that `meta` is the file
/// of, if any; never `/dev/null`, which may well be all three.
pub fn standard_stream(meta: &Metadata) -> Option<&'static str> {
    if is_dev_null(meta) {
        return None;
    }
    let id = (meta.dev(), meta.ino());
    [(0, "stdin"), (1, "stdout"), (2, "stderr")]
        .into_iter()
        .find(|(fd, _)| {
            let path = format!("/proc/self/fd/{fd}");
            std::fs::metadata(path).is_ok_and(|m| (m.dev(), m.ino()) == id)
        })
        .map(|(_, name)| name)
}
