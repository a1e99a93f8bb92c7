use std::time::{Duration, Instant};

use super::*;
use crate::keys::Counts;

fn rate(text: &str, burst: u64) -> Option<(Rate, u64)> {
    Some((Rate::parse(text).unwrap(), burst))
}

#[test]
fn a_new_key_past_the_bound_folds_the_least_recently_seen_and_books_add_up() {
    let mut table = Table::new(3, None);
    let now = Instant::now();
    for key in ["a", "b", "c", "a", "d"] {
        table.arrive(key.as_bytes(), Tally::one(2), now, Ask::Count);
    }
    let figures = table.figures(10);
    assert_eq!(figures.tracked, 3);
    assert_eq!(figures.folded, 1);
    let names: Vec<_> = figures.top.iter().map(|r| r.key.clone()).collect();
    assert!(!names.contains(&b"b".to_vec()), "b was seen least recently");
    assert!(names.contains(&OTHER_NAME.to_vec()));
    // b's item leaves after b was folded: counted on other, which held it.
    table.deliver(b"b", Tally::one(2));
    table.shed(b"a", Tally::one(2), false);
    let figures = table.figures(10);
    let other = figures.top.iter().find(|r| r.key == OTHER_NAME).unwrap();
    assert_eq!(other.counts.held(), Tally::ZERO);
    let total = table.total();
    assert_eq!(total.input, Tally::new(5, 10));
    assert_eq!(total.output + total.dropped + total.held(), total.input);
}

const OTHER_NAME: &[u8] = crate::keys::OTHER;

#[test]
fn folding_prefers_a_key_that_holds_nothing() {
    let mut table = Table::new(2, None);
    let now = Instant::now();
    table.arrive(b"busy", Tally::one(1), now, Ask::Count);
    table.arrive(b"idle", Tally::one(1), now, Ask::Count);
    table.deliver(b"idle", Tally::one(1));
    table.arrive(b"new", Tally::one(1), now, Ask::Count);
    let keys: Vec<_> = table.figures(10).top.into_iter().map(|r| r.key).collect();
    assert!(keys.contains(&b"busy".to_vec()), "{keys:?}");
    assert!(!keys.contains(&b"idle".to_vec()), "{keys:?}");
}

#[test]
fn heaviest_is_the_key_holding_the_most_bytes() {
    let mut table = Table::new(10, None);
    let now = Instant::now();
    table.arrive(b"quiet", Tally::one(10), now, Ask::Count);
    for _ in 0..5 {
        table.arrive(b"noisy", Tally::one(10), now, Ask::Count);
    }
    assert_eq!(table.heaviest().as_deref(), Some(&b"noisy"[..]));
    for _ in 0..5 {
        table.shed(b"noisy", Tally::one(10), false);
    }
    assert_eq!(table.heaviest().as_deref(), Some(&b"quiet"[..]));
    table.deliver(b"quiet", Tally::one(10));
    assert_eq!(table.heaviest(), None);
}

#[test]
fn each_key_has_its_own_bucket() {
    let mut table = Table::new(10, rate("10/s", 2));
    let now = Instant::now();
    let admits = |table: &mut Table, key: &[u8], at| {
        (0..5)
            .filter(|_| table.arrive(key, Tally::one(1), at, Ask::Bucket) == Admit::Pass)
            .count()
    };
    assert_eq!(admits(&mut table, b"a", now), 2, "the burst");
    assert_eq!(admits(&mut table, b"b", now), 2, "b is not held by a");
    let later = now + Duration::from_millis(100);
    assert_eq!(admits(&mut table, b"a", later), 1, "one token in 100 ms");
}

#[test]
fn a_byte_bucket_lets_one_large_item_through_when_full() {
    let mut table = Table::new(10, rate("100B/s", 100));
    let now = Instant::now();
    assert_eq!(
        table.arrive(b"k", Tally::one(1000), now, Ask::Bucket),
        Admit::Pass
    );
    assert_eq!(
        table.arrive(
            b"k",
            Tally::one(1),
            now + Duration::from_secs(1),
            Ask::Bucket
        ),
        Admit::OverRate
    );
    let counts = Counts::default();
    assert_eq!(counts.held(), Tally::ZERO);
}

#[test]
fn a_million_keys_keep_the_bound() {
    let mut table = Table::new(1000, None);
    let now = Instant::now();
    for i in 0..100_000u32 {
        let key = i.to_string();
        table.arrive(key.as_bytes(), Tally::one(1), now, Ask::Count);
        if i % 2 == 0 {
            table.deliver(key.as_bytes(), Tally::one(1));
        }
    }
    let figures = table.figures(10);
    assert_eq!(figures.tracked, 1000);
    assert_eq!(figures.folded, 99_000);
    assert!(table.index.len() == 1000 && table.slots.len() == 1000);
    let total = table.total();
    assert_eq!(total.input.items, 100_000);
    assert_eq!(total.output.items, 50_000);
    assert_eq!(total.held().items, 50_000);
}
