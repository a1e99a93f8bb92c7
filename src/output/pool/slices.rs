//! A writer's gathered slices seen as one run of bytes: where an item ends, and parts of it.

use std::io::IoSlice;

/// The bytes of `bufs`, in order.
pub struct Slices<'a, 'b>(pub &'a [IoSlice<'b>]);

impl Slices<'_, '_> {
    pub fn len(&self) -> usize {
        self.0.iter().map(|s| s.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|s| s.is_empty())
    }

    /// The byte at `at`.
    pub fn byte(&self, mut at: usize) -> Option<u8> {
        for s in self.0 {
            if at < s.len() {
                return Some(s[at]);
            }
            at -= s.len();
        }
        None
    }

    /// Where the first `delim` at or after `from`, and before `until`, is.
    pub fn find(&self, delim: u8, from: usize, until: usize) -> Option<usize> {
        let mut base = 0;
        for s in self.0 {
            let end = base + s.len();
            if base >= until {
                break;
            }
            if from < end {
                let skip = from.saturating_sub(base);
                let stop = s.len().min(until - base);
                if skip < stop
                    && let Some(i) = memchr::memchr(delim, &s[skip..stop])
                {
                    return Some(base + skip + i);
                }
            }
            base = end;
        }
        None
    }

    /// Calls `f` on each piece of the bytes from `start` to `end`.
    pub fn each(&self, start: usize, end: usize, mut f: impl FnMut(&[u8])) {
        let mut base = 0;
        for s in self.0 {
            let (lo, hi) = (start.max(base), end.min(base + s.len()));
            if lo < hi {
                f(&s[lo - base..hi - base]);
            }
            base += s.len();
        }
    }

    /// How many `delim` the bytes from `start` to `end` hold.
    pub fn count(&self, delim: u8, start: usize, end: usize) -> u64 {
        let mut n = 0;
        self.each(start, end, |piece| {
            n += memchr::memchr_iter(delim, piece).count() as u64;
        });
        n
    }

    /// The first `len` bytes, as slices for a vectored write.
    pub fn head(&self, len: usize) -> Vec<IoSlice<'_>> {
        let mut out = Vec::with_capacity(self.0.len());
        let mut left = len;
        for s in self.0 {
            let take = s.len().min(left);
            out.push(IoSlice::new(&s[..take]));
            left -= take;
            if left == 0 {
                break;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_counts_and_cuts_across_slices() {
        let parts = [b"ab\nc".as_slice(), b"", b"d\ne", b"f\n"];
        let bufs: Vec<IoSlice<'_>> = parts.iter().map(|p| IoSlice::new(p)).collect();
        let s = Slices(&bufs);
        assert_eq!(s.len(), 9);
        assert_eq!((s.byte(4), s.byte(9)), (Some(b'd'), None));
        assert_eq!(s.find(b'\n', 0, 9), Some(2));
        assert_eq!(s.find(b'\n', 3, 9), Some(5));
        assert_eq!(s.find(b'\n', 6, 9), Some(8));
        assert_eq!(s.find(b'\n', 9, 9), None);
        // Not looked for past `until`.
        assert_eq!(s.find(b'\n', 3, 5), None);
        assert_eq!(s.find(b'\n', 3, 6), Some(5));
        assert_eq!(s.count(b'\n', 0, 9), 3);
        assert_eq!(s.count(b'\n', 3, 8), 1);
        let head: Vec<u8> = s.head(6).iter().flat_map(|s| s.to_vec()).collect();
        assert_eq!(head, b"ab\ncd\n");
    }
}
