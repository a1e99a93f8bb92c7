use std::time::{Duration, Instant};

use super::*;
use crate::books::tally::Tally;

fn batch(lines: &[&str], pos: usize, arrived: Instant, kept: bool) -> Batch {
    let data: Vec<u8> = lines.concat().into_bytes();
    let ends = lines.iter().scan(0, |end, l| {
        *end += l.len();
        Some(*end)
    });
    let mut batch = Batch::from_parts(data, ends);
    batch.pos = Tally::new(pos, pos * 10);
    batch.arrived = Some(arrived);
    batch.kept = kept;
    batch
}

fn items(batch: &Batch) -> Vec<String> {
    batch
        .iter()
        .map(|i| String::from_utf8(i.to_vec()).unwrap())
        .collect()
}

#[test]
fn batches_come_back_whole_in_order_and_the_oldest_age_follows_the_head() {
    let mut spill = Spill::new(&std::env::temp_dir(), 1 << 20).unwrap();
    let t0 = Instant::now();
    let ages = [
        t0,
        t0 + Duration::from_millis(5),
        t0 + Duration::from_secs(2),
    ];
    let input = [
        batch(&["a\n", "bb\n"], 0, ages[0], false),
        batch(&["ccc\n"], 7, ages[1], true),
        batch(&["d\n", "e\n", "f\n"], 8, ages[2], false),
    ];
    assert_eq!(spill.oldest(), None);
    for b in &input {
        spill.push(b).unwrap();
    }
    assert!(spill.disk_bytes() > 0);
    for (b, age) in input.iter().zip(ages) {
        let near = |t: Option<Instant>| {
            t.is_some_and(|t| t.max(age) - t.min(age) < Duration::from_micros(1))
        };
        assert!(near(spill.oldest()), "{:?} vs {age:?}", spill.oldest());
        let back = spill.pop(Vec::new()).unwrap().expect("a batch");
        assert_eq!(items(&back), items(b));
        assert_eq!((back.pos, back.kept), (b.pos, b.kept));
        assert!(near(back.arrived));
    }
    assert!(spill.pop(Vec::new()).unwrap().is_none());
    assert_eq!((spill.oldest(), spill.disk_bytes()), (None, 0));
    assert!(spill.is_empty());
}

#[test]
fn the_disk_bound_refuses_a_batch_that_would_pass_it() {
    let line = "x".repeat(99) + "\n";
    let one = batch(&[&line], 0, Instant::now(), false);
    let record = record_len(&one);
    let mut spill = Spill::new(&std::env::temp_dir(), 3 * record).unwrap();
    for _ in 0..3 {
        spill.push(&one).unwrap();
    }
    assert!(matches!(spill.push(&one), Err(Refused::Full)));
    assert!(!spill.takes(&one));
    // Once full, nothing is taken until a segment is freed, however small.
    let tiny = batch(&["\n"], 1, Instant::now(), false);
    assert!(!spill.takes(&tiny));
    assert_eq!(spill.disk_bytes(), 3 * record);
    spill.pop(Vec::new()).unwrap().expect("a batch");
    // Space comes back once the segment is read to the end, not batch by batch.
    assert!(!spill.takes(&one));
    spill.pop(Vec::new()).unwrap();
    spill.pop(Vec::new()).unwrap();
    assert!(spill.takes(&one));
}

#[test]
fn lines_not_yet_indexed_go_to_disk_without_their_ends_and_come_back_the_same() {
    let data = b"one\ntwo\nthree\n".to_vec();
    let lazy = Batch::delimited(data.clone(), 3, b'\n');
    let indexed = Batch::from_parts(data, [4, 8, 14].into_iter());
    assert_eq!(record_len(&indexed) - record_len(&lazy), 3 * 8);
    let mut spill = Spill::new(&std::env::temp_dir(), 1 << 20).unwrap();
    spill.push(&lazy).unwrap();
    spill.push(&indexed).unwrap();
    for _ in 0..2 {
        let back = spill.pop(Vec::new()).unwrap().expect("a batch");
        assert_eq!(items(&back), ["one\n", "two\n", "three\n"]);
    }
}

#[test]
fn a_batch_taken_keeps_its_segment_until_it_is_released() {
    let big = "x".repeat((1 << 20) - 1) + "\n";
    let mut spill = Spill::new(&std::env::temp_dir(), 8 << 20).unwrap();
    let t0 = Instant::now();
    spill.push(&batch(&[&big], 0, t0, false)).unwrap();
    // The first segment is full: the next batch starts a second one.
    spill.push(&batch(&["b\n"], 1, t0, false)).unwrap();
    let all = spill.disk_bytes();
    let mut first = spill.take().unwrap().expect("the first batch");
    assert_eq!(first.tally(), Tally::new(1, 1 << 20));
    let second = spill.take().unwrap().expect("the second batch");
    assert!(spill.is_empty());
    // Read to the end, but still lent to the writer: nothing is freed.
    assert_eq!(spill.disk_bytes(), all);
    spill.push(&batch(&["c\n"], 2, t0, false)).unwrap();
    assert_eq!(items(&first.load().unwrap()), [big.as_str()]);
    spill.release(first);
    let (file, at, len) = second.bytes_at();
    let mut bytes = vec![0; len];
    file.read_exact_at(&mut bytes, at).unwrap();
    assert_eq!(bytes, b"b\n");
    // The second segment holds the third batch still: only the first is freed.
    assert!(spill.disk_bytes() < all);
    spill.release(second);
    assert_eq!(items(&spill.pop(Vec::new()).unwrap().unwrap()), ["c\n"]);
    assert_eq!(spill.disk_bytes(), 0);
}

#[test]
fn a_rollback_forgets_what_was_written_since_the_mark() {
    let mut spill = Spill::new(&std::env::temp_dir(), 1 << 20).unwrap();
    let t0 = Instant::now();
    spill.push(&batch(&["a\n"], 0, t0, false)).unwrap();
    let (bytes, mark) = (spill.disk_bytes(), spill.mark());
    spill.push(&batch(&["b\n"], 1, t0, false)).unwrap();
    spill.push(&batch(&["c\n"], 2, t0, false)).unwrap();
    spill.rollback(mark);
    assert_eq!(spill.disk_bytes(), bytes);
    spill.push(&batch(&["d\n"], 3, t0, false)).unwrap();
    let mut got = Vec::new();
    while let Some(back) = spill.pop(Vec::new()).unwrap() {
        got.extend(items(&back));
    }
    assert_eq!(got, ["a\n", "d\n"]);
    assert_eq!(spill.disk_bytes(), 0);
}

#[test]
fn headers_come_from_memory_up_to_a_bound_then_from_disk_and_rollback_forgets_them() {
    let mut spill = Spill::new(&std::env::temp_dir(), 64 << 20).unwrap();
    let t0 = Instant::now();
    let n = MAX_HEADERS + 10;
    for i in 0..n {
        spill
            .push(&batch(&[&format!("{i}\n")], i, t0, false))
            .unwrap();
    }
    // The head and the next MAX_HEADERS are known without reading the disk; the rest not.
    assert_eq!(spill.headers.len(), MAX_HEADERS);
    let mark = spill.mark();
    spill.push(&batch(&["gone\n"], n, t0, false)).unwrap();
    spill.rollback(mark);
    assert_eq!(spill.headers.len(), MAX_HEADERS);
    for i in 0..n {
        let back = spill.pop(Vec::new()).unwrap().expect("a batch");
        assert_eq!(items(&back), [format!("{i}\n")], "batch {i}");
        assert_eq!(back.pos, Tally::new(i, i * 10));
    }
    assert!(spill.pop(Vec::new()).unwrap().is_none());
    // Empty again: headers are kept in memory again.
    spill.push(&batch(&["a\n"], 0, t0, false)).unwrap();
    spill.push(&batch(&["b\n"], 1, t0, false)).unwrap();
    assert_eq!(spill.headers.len(), 1);
}
