//! What bpipe reads: stdin, or files in order, as `cat` and `pv` read them (`-` is stdin).

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// The inputs, opened; read as one stream.
pub struct Inputs {
    files: VecDeque<File>,
}

impl Inputs {
    /// Opens every path before anything is read, so that a missing or unreadable file is
    /// refused up front (`PATH: reason`). `stdin` gives the standard input for `-` and when
    /// no path is given.
    pub fn open(paths: &[PathBuf], stdin: File) -> Result<Inputs, String> {
        if paths.is_empty() {
            return Ok(Inputs {
                files: VecDeque::from([stdin]),
            });
        }
        let mut files = VecDeque::new();
        for path in paths {
            let file = if path == Path::new("-") {
                stdin.try_clone()
            } else {
                File::open(path).and_then(|file| match file.metadata()?.is_dir() {
                    true => Err(io::Error::from_raw_os_error(libc::EISDIR)),
                    false => Ok(file),
                })
            };
            files.push_back(
                file.map_err(|e| format!("{}: {}", path.display(), crate::values::reason(&e)))?,
            );
        }
        Ok(Inputs { files })
    }
}

impl Inputs {
    /// The file being read now, if any is left.
    pub fn current(&self) -> Option<&File> {
        self.files.front()
    }

    /// Each input's device and inode (stdin's too, however it is named).
    pub fn identities(&self) -> Vec<(u64, u64)> {
        use std::os::unix::fs::MetadataExt;
        let id = |file: &File| file.metadata().ok().map(|m| (m.dev(), m.ino()));
        self.files.iter().filter_map(id).collect()
    }
}

impl Read for Inputs {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while let Some(file) = self.files.front_mut() {
            match file.read(buf)? {
                0 if !buf.is_empty() => {
                    // Closed as soon as it is done, like cat.
                    self.files.pop_front();
                }
                n => return Ok(n),
            }
        }
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn files_are_read_in_order_as_one_stream() {
        let dir = std::env::temp_dir().join(format!("bpipe-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (a, b) = (dir.join("a"), dir.join("b"));
        File::create(&a).unwrap().write_all(b"one\ntw").unwrap();
        File::create(&b).unwrap().write_all(b"o\nthree\n").unwrap();
        let stdin = File::open("/dev/null").unwrap();
        let mut inputs = Inputs::open(&[a.clone(), b.clone()], stdin).unwrap();
        let mut all = String::new();
        inputs.read_to_string(&mut all).unwrap();
        assert_eq!(all, "one\ntwo\nthree\n");
        let missing = dir.join("missing");
        let stdin = File::open("/dev/null").unwrap();
        let error = Inputs::open(&[a, missing.clone()], stdin).err().unwrap();
        assert_eq!(
            error,
            format!("{}: No such file or directory", missing.display())
        );
        let stdin = File::open("/dev/null").unwrap();
        let error = Inputs::open(std::slice::from_ref(&dir), stdin)
            .err()
            .unwrap();
        assert_eq!(error, format!("{}: Is a directory", dir.display()));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
