use std::time::Duration;

use crate::batch::Batch;
use crate::books::tally::Tally;
use crate::keys::{Fairness, KeyRules, KeySpec};
use crate::queue::policy::{Policy, Shed};
use crate::queue::{Bounds, Press, Pushed, Queue};

fn batch(items: &str) -> Batch {
    Batch::from_items(items.split(' ').map(|s| s.as_bytes()))
}

/// A queue of `cap` items keyed by the first byte of each item, shedding fairly.
fn fair(cap: usize, shed: Shed) -> Queue {
    let rules = KeyRules {
        spec: KeySpec::regex("^.").unwrap(),
        delim: b'\n',
        max: 100,
        top: 10,
        rate: None,
        fairness: Fairness::Heaviest,
    };
    let q = Queue::new(
        Bounds {
            items: cap,
            bytes: 1 << 20,
        },
        Policy::Shed(shed),
    )
    .unwrap()
    .with_grace(Duration::ZERO)
    .with_keys(Some(rules));
    assert_eq!(q.press(Press::Stalled), None);
    q
}

fn drain(q: &Queue) -> String {
    q.finish_input();
    crate::queue::tests::take_all(q).join(" ")
}

#[test]
fn slide_sheds_the_oldest_of_the_key_holding_the_most() {
    let q = fair(4, Shed::Slide);
    assert_eq!(q.try_push(batch("n1 n2 n3 q1")), Ok(Pushed::Done));
    assert_eq!(q.try_push(batch("n4 n5")), Ok(Pushed::Done));
    assert_eq!(q.try_push(batch("q2")), Ok(Pushed::Done));
    assert_eq!(drain(&q), "q1 n4 n5 q2");
    let keys = q.key_figures().unwrap();
    let quiet = keys.top.iter().find(|r| r.key == b"q").unwrap();
    assert_eq!(quiet.counts.dropped, Tally::ZERO);
    assert_eq!(quiet.counts.output.items, 2);
}

#[test]
fn drop_sheds_the_incoming_item_of_the_heaviest_key_else_its_newest() {
    let q = fair(4, Shed::Drop);
    assert_eq!(q.try_push(batch("n1 n2 q1 n3")), Ok(Pushed::Done));
    assert_eq!(
        q.try_push(batch("n4")),
        Ok(Pushed::Done),
        "n4 is the heaviest's"
    );
    assert_eq!(q.try_push(batch("q2")), Ok(Pushed::Done), "n3 makes room");
    assert_eq!(drain(&q), "n1 n2 q1 q2");
}
