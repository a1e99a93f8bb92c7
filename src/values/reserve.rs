//! What bpipe does at the memory limit: a reserve of address space set aside at the start
//! and given back the moment an allocation fails, so that the allocation is tried again and
//! succeeds, and bpipe can stop reading, deliver what it holds and say so, instead of
//! aborting with nothing said. The reserve is never touched, so it costs no resident memory;
//! it counts only against a limit on address space (`ulimit -v`, `prlimit --as`). A cgroup's
//! `memory.max` ends a process with SIGKILL, which nothing can answer.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io;
use std::ptr::null_mut;
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

/// The reserve: room for what bpipe needs to finish (a read buffer of up to the default
/// `--max-line`, the final record, the threads' last allocations).
pub const RESERVE: usize = 4 << 20;

static HELD: AtomicPtr<u8> = AtomicPtr::new(null_mut());
static SPENT: AtomicBool = AtomicBool::new(false);

fn layout() -> Layout {
    Layout::from_size_align(RESERVE, 4096).expect("a valid layout")
}

/// Sets the reserve aside (once; not again once spent).
pub fn set_aside() {
    if SPENT.load(Ordering::Relaxed) || !HELD.load(Ordering::Relaxed).is_null() {
        return;
    }
    // SAFETY: a non-zero size, and the block is freed with the same layout.
    let block = unsafe { System.alloc(layout()) };
    if HELD
        .compare_exchange(null_mut(), block, Ordering::AcqRel, Ordering::Relaxed)
        .is_err()
        && !block.is_null()
    {
        // SAFETY: allocated just above with this layout, and never shared.
        unsafe { System.dealloc(block, layout()) };
    }
}

/// Whether an allocation failed and the reserve was given back: bpipe must stop taking in.
pub fn spent() -> bool {
    SPENT.load(Ordering::Relaxed)
}

/// Gives the reserve back; false if there was none left to give.
fn release() -> bool {
    let block = HELD.swap(null_mut(), Ordering::AcqRel);
    if block.is_null() {
        return false;
    }
    // SAFETY: the block came from `set_aside` with this layout; the swap made it ours alone.
    unsafe { System.dealloc(block, layout()) };
    SPENT.store(true, Ordering::Relaxed);
    true
}

/// The system's allocator, but an allocation that fails gives the reserve back and is tried
/// once more. bpipe's binary installs it as the global allocator.
pub struct Reserving;

// SAFETY: every call is passed to `System` as is; only a null result leads to a retry.
unsafe impl GlobalAlloc for Reserving {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        let block = unsafe { System.alloc(layout) };
        match block.is_null() && release() {
            // SAFETY: as above.
            true => unsafe { System.alloc(layout) },
            false => block,
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        let block = unsafe { System.alloc_zeroed(layout) };
        match block.is_null() && release() {
            // SAFETY: as above.
            true => unsafe { System.alloc_zeroed(layout) },
            false => block,
        }
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(block, layout) }
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract, passed on; a failed realloc leaves `block` as it was.
        let moved = unsafe { System.realloc(block, layout, new_size) };
        match moved.is_null() && release() {
            // SAFETY: as above.
            true => unsafe { System.realloc(block, layout, new_size) },
            false => moved,
        }
    }
}

/// The least address space bpipe starts in: its code, the C library, its threads' stacks and
/// the reserve. Under a smaller limit (`ulimit -v`) some allocation or thread would fail at
/// a point where nothing could be said; it is refused at once instead.
const MIN_ADDRESS_SPACE: u64 = 32 << 20;

/// Why bpipe cannot start under the process's limit on address space, if it cannot.
pub fn too_little_address_space() -> Option<io::Error> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit fills a struct we own.
    let known = unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut limit) } == 0;
    match known && limit.rlim_cur != libc::RLIM_INFINITY {
        true => too_small(limit.rlim_cur),
        false => None,
    }
}

/// Why bpipe cannot start under a limit of `limit` bytes of address space, if it cannot.
fn too_small(limit: u64) -> Option<io::Error> {
    (limit < MIN_ADDRESS_SPACE).then(|| {
        io::Error::other(format!(
            "the limit on address space (ulimit -v) is {}; bpipe needs at least {}",
            bytesize::ByteSize(limit).display().iec(),
            bytesize::ByteSize(MIN_ADDRESS_SPACE).display().iec()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_on_address_space_too_small_to_start_in_is_refused_in_words() {
        let refusal = too_small(16 << 20).expect("refused");
        assert_eq!(
            refusal.to_string(),
            "the limit on address space (ulimit -v) is 16.0 MiB; bpipe needs at least 32.0 MiB"
        );
        assert!(too_small(MIN_ADDRESS_SPACE).is_none());
    }
}
