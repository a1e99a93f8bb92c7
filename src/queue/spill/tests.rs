use std::time::{Duration, Instant};

use super::*;

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
