//! Framing any bytes, cut into reads anywhere, never panics, never makes an item over the
//! bound, and (when splitting) loses nothing; lines frame the same whatever the cuts.
#![no_main]

use bpipe::fuzzing::{Framing, Overlong, frame_reads};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (u8, u8, Vec<u16>, Vec<u8>)| {
    let (max, mode, cuts, data) = input;
    let max = usize::from(max).max(1);
    let framing = match mode % 4 {
        0 => Framing::Delimited { delim: b'\n', max_item: max, overlong: Overlong::Split },
        1 => Framing::Delimited { delim: 0, max_item: max, overlong: Overlong::Split },
        2 => Framing::Delimited { delim: b'\n', max_item: max, overlong: Overlong::Drop },
        _ => Framing::Chunks { size: max },
    };
    let mut at: Vec<usize> = cuts.iter().map(|&c| usize::from(c) % (data.len() + 1)).collect();
    at.extend([0, data.len()]);
    at.sort_unstable();
    let reads: Vec<&[u8]> = at.windows(2).map(|w| &data[w[0]..w[1]]).collect();
    let (items, dropped) = frame_reads(framing, &reads);
    assert!(items.iter().all(|i| !i.is_empty() && i.len() <= max));
    let kept: usize = items.iter().map(Vec::len).sum();
    assert_eq!(kept as u64 + dropped.bytes, data.len() as u64);
    if !matches!(framing, Framing::Delimited { overlong: Overlong::Drop, .. }) {
        assert_eq!(items.concat(), data);
    }
    if !matches!(framing, Framing::Chunks { .. }) {
        assert_eq!(frame_reads(framing, &[&data]), (items, dropped));
    }
});
