use super::*;

fn items(b: &Batch) -> Vec<&[u8]> {
    b.iter().collect()
}

#[test]
fn counts_and_bytes() {
    let b = Batch::from_items([&b"ab\n"[..], b"\n", b"cde\n"]);
    assert_eq!(b.tally(), Tally::new(3, 8));
    assert_eq!(b.as_bytes(), b"ab\n\ncde\n");
}

#[test]
fn pop_front_and_split_front_keep_order() {
    let mut b = Batch::from_items([&b"a\n"[..], b"bb\n", b"ccc\n", b"d\n"]);
    assert_eq!(b.pop_front(), Some(Tally::one(2)));
    let front = b.split_front(2);
    assert_eq!(items(&front), vec![&b"bb\n"[..], b"ccc\n"]);
    assert_eq!(items(&b), vec![&b"d\n"[..]]);
    assert_eq!(b.as_bytes(), b"d\n");
    assert_eq!(b.pop_front(), Some(Tally::one(2)));
    assert_eq!(b.pop_front(), None);
    assert!(b.is_empty());
    assert_eq!(b.bytes(), 0);
}

#[test]
fn fitting_prefix_respects_both_bounds() {
    let mut b = Batch::from_items([&b"aaaa"[..], b"bb", b"cccc"]);
    assert_eq!(b.fitting_prefix(10, 100), 3);
    assert_eq!(b.fitting_prefix(2, 100), 2);
    assert_eq!(b.fitting_prefix(10, 6), 2);
    assert_eq!(b.fitting_prefix(10, 5), 1);
    assert_eq!(b.fitting_prefix(10, 3), 0);
    assert_eq!(b.fitting_prefix(0, 100), 0);
}

#[test]
fn pop_back_sheds_the_newest() {
    let mut b = Batch::from_items([&b"a\n"[..], b"bb\n"]);
    b.pop_front();
    assert_eq!(b.pop_back(), Some(Tally::one(3)));
    assert_eq!(b.pop_back(), None);
    assert_eq!(b.bytes(), 0);
    let mut lazy = Batch::default();
    lazy.append(b"a\nbb\nccc\n");
    lazy.push_unindexed(3, b'\n', 9);
    assert_eq!(lazy.pop_back(), Some(Tally::one(4)));
    assert_eq!(items(&lazy), vec![&b"a\n"[..], b"bb\n"]);
}

#[test]
fn remove_written_keeps_the_items_not_begun() {
    let mut b = Batch::from_items([&b"aa\n"[..], b"bbb\n", b"c\n"]);
    let mut rest = Vec::new();
    assert_eq!(
        b.remove_written(5, &mut rest),
        (Tally::new(1, 3), Some(Tally::one(4)))
    );
    assert_eq!(rest, b"b\n");
    assert_eq!(items(&b), vec![&b"c\n"[..]]);
    let mut b = Batch::from_items([&b"aa\n"[..], b"c\n"]);
    assert_eq!(b.remove_written(3, &mut rest), (Tally::new(1, 3), None));
    assert_eq!(b.as_bytes(), b"c\n");
}

#[test]
fn written_prefix_counts_whole_items_only() {
    let mut b = Batch::from_items([&b"aaaa"[..], b"bb", b"cccc"]);
    assert_eq!(b.written_prefix(0), Tally::ZERO);
    assert_eq!(b.written_prefix(5), Tally::new(1, 4));
    assert_eq!(b.written_prefix(6), Tally::new(2, 6));
    assert_eq!(b.written_prefix(10), Tally::new(3, 10));
}

#[test]
fn take_items_leaves_the_tail() {
    let mut b = Batch::default();
    b.append(b"one\ntwo\nthr");
    b.push_unindexed(2, b'\n', 8);
    let taken = b.take_items(16, Vec::with_capacity).unwrap();
    assert_eq!(taken.as_bytes(), b"one\ntwo\n");
    assert_eq!(b.tail(), b"thr");
    assert!(b.is_empty());
    assert!(b.take_items(16, Vec::with_capacity).is_none());
    let mut taken = taken;
    assert_eq!(taken.pop_front(), Some(Tally::one(4)));
    assert_eq!(items(&taken), vec![&b"two\n"[..]]);
}

#[test]
fn unindexed_items_are_found_when_needed() {
    let mut b = Batch::default();
    b.append(b"a\nbb\nccc\n");
    b.push_unindexed(3, b'\n', 9);
    assert_eq!(items(&b), vec![&b"a\n"[..], b"bb\n", b"ccc\n"]);
    assert_eq!(b.fitting_prefix(10, 5), 2);
    assert_eq!(b.ends, [2, 5, 9]);
}

#[test]
fn a_short_read_in_a_big_buffer_is_copied_out() {
    let mut b = Batch::with_buffer(vec![0; 1 << 20]);
    b.append(b"one\nt");
    b.push_unindexed(1, b'\n', 4);
    let taken = b
        .take_items(16, |_| unreachable!("the big buffer stays"))
        .unwrap();
    assert_eq!(taken.as_bytes(), b"one\n");
    assert!(taken.data.len() < 4096);
    assert_eq!(b.data.len(), 1 << 20);
    assert_eq!(b.tail(), b"t");
}
