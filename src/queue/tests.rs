use std::sync::Arc;
use std::thread;
use std::time::Duration;

use super::*;
use crate::books::tally::Tally;
use crate::queue::clock::FakeClock;
use crate::queue::policy::Shed;

fn batch(items: &[&str]) -> Batch {
    Batch::from_items(items.iter().map(|s| s.as_bytes()))
}

fn queue(items: usize, bytes: usize, policy: Policy) -> Queue {
    Queue::new(Bounds { items, bytes }, policy)
        .unwrap()
        .with_grace(Duration::ZERO)
}

/// The writer finds stdout full: from now on, items that find the queue full are shed.
fn stall(q: &Queue) {
    assert_eq!(q.press(Press::Stalled), None, "no grace in these tests");
}

/// Takes everything as the writer would, returning the items as strings.
pub(in crate::queue) fn take_all(q: &Queue) -> Vec<String> {
    let (mut hand, mut out) = (Vec::new(), Vec::new());
    let mut written = Tally::ZERO;
    while let Next::Ready(_) = q.next(written, &mut hand) {
        written = q.take(Take::ALL, &mut hand).tally();
        out.extend(
            hand.iter()
                .flat_map(|b| b.iter().map(|i| String::from_utf8(i.to_vec()).unwrap())),
        );
    }
    out
}

fn drain(q: &Queue) -> Vec<String> {
    q.finish_input();
    take_all(q)
}

const DROP: Policy = Policy::Shed(Shed::Drop);
const SLIDE: Policy = Policy::Shed(Shed::Slide);
const FAIL: Policy = Policy::Shed(Shed::Fail);

#[test]
fn nothing_is_shed_while_the_writer_is_ready() {
    for policy in [DROP, SLIDE, FAIL, Policy::BLOCK] {
        let q = queue(3, 1000, policy);
        // Ten items do not fit a queue of three; the writer is ready, so they wait whole.
        assert_eq!(
            q.try_push(batch(&["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"])),
            Ok(Pushed::Parked)
        );
        assert_eq!(q.stats().parked, Tally::new(10, 10));
        assert!(q.stats().balanced());
        // The writer takes them whole, and the reader goes on.
        let mut hand = Vec::new();
        assert_eq!(
            q.next(Tally::ZERO, &mut hand),
            Next::Ready(Tally::new(10, 10))
        );
        assert_eq!(q.take(Take::ALL, &mut hand).tally(), Tally::new(10, 10));
        assert_eq!(q.retry(), Ok(Pushed::Done));
        let stats = q.stats();
        assert_eq!(stats.dropped, Tally::ZERO, "{policy}");
        assert_eq!(
            stats.max_depth,
            Tally::ZERO,
            "a handed-over read never waits"
        );
        assert!(stats.balanced());
    }
}

#[test]
fn a_parked_read_meets_the_policy_when_pressure_comes() {
    let q = queue(3, 1000, SLIDE);
    q.push(batch(&["a"])).unwrap();
    assert_eq!(q.try_push(batch(&["b", "c", "d", "e"])), Ok(Pushed::Parked));
    stall(&q);
    assert_eq!(q.retry(), Ok(Pushed::Done));
    assert_eq!(q.stats().dropped, Tally::new(2, 2));
    assert_eq!(drain(&q), ["c", "d", "e"]);
    assert!(q.stats().balanced());
}

#[test]
fn drop_sheds_the_newest_items() {
    let q = queue(3, 1000, DROP);
    stall(&q);
    q.push(batch(&["a", "b"])).unwrap();
    q.push(batch(&["c", "d", "e"])).unwrap();
    let stats = q.stats();
    assert_eq!(stats.dropped, Tally::new(2, 2));
    assert_eq!(stats.max_depth, Tally::new(3, 3));
    assert_eq!(drain(&q), ["a", "b", "c"]);
    assert!(q.stats().balanced());
}

#[test]
fn drop_on_the_byte_bound_keeps_later_items_that_fit() {
    let q = queue(100, 5, DROP);
    stall(&q);
    q.push(batch(&["aaa", "bbb", "c", "dd"])).unwrap();
    assert_eq!(q.stats().dropped, Tally::new(2, 5));
    assert_eq!(drain(&q), ["aaa", "c"]);
}

#[test]
fn slide_sheds_the_oldest_items() {
    let q = queue(3, 1000, SLIDE);
    stall(&q);
    q.push(batch(&["a", "b"])).unwrap();
    q.push(batch(&["c", "d", "e"])).unwrap();
    assert_eq!(q.stats().dropped, Tally::new(2, 2));
    assert_eq!(drain(&q), ["c", "d", "e"]);
    assert!(q.stats().balanced());
}

#[test]
fn slide_on_the_byte_bound_frees_just_enough() {
    let q = queue(100, 6, SLIDE);
    stall(&q);
    q.push(batch(&["aa", "bb", "cc"])).unwrap();
    q.push(batch(&["dddd"])).unwrap();
    assert_eq!(drain(&q), ["cc", "dddd"]);
    assert_eq!(q.stats().dropped, Tally::new(2, 4));
}

#[test]
fn a_throttled_writer_is_pressure_too() {
    let q = queue(1, 1000, DROP);
    q.press(Press::Throttled);
    q.push(batch(&["a", "b"])).unwrap();
    assert_eq!(q.stats().dropped, Tally::new(1, 1));
    q.press(Press::Resumed);
    assert_eq!(q.try_push(batch(&["c", "d"])), Ok(Pushed::Parked));
}

#[test]
fn fail_names_the_bound_and_counts_the_rest() {
    let q = queue(2, 1000, FAIL);
    stall(&q);
    assert_eq!(
        q.push(batch(&["a", "b", "c"])),
        Err(Stop::Full(Bound::Items(2)))
    );
    let q2 = queue(100, 3, FAIL);
    stall(&q2);
    assert_eq!(
        q2.push(batch(&["aa", "bb"])),
        Err(Stop::Full(Bound::Bytes(3)))
    );
    // fail sheds nothing: the rest of the read is undelivered.
    assert_eq!(q.stats().dropped, Tally::ZERO);
    assert_eq!(q.stats().undelivered, Tally::new(1, 1));
    assert_eq!(drain(&q), ["a", "b"]);
    assert!(q.stats().balanced());
}

#[test]
fn block_loses_nothing_and_keeps_order() {
    let q = Arc::new(queue(4, 10, Policy::BLOCK));
    let producer = {
        let q = Arc::clone(&q);
        thread::spawn(move || {
            for i in 0..1000 {
                let items: Vec<String> = (0..3).map(|j| format!("{}", i * 3 + j)).collect();
                let refs: Vec<&str> = items.iter().map(String::as_str).collect();
                q.push(batch(&refs)).unwrap();
            }
            q.finish_input();
        })
    };
    let (mut got, mut hand) = (Vec::new(), Vec::new());
    let mut written = Tally::ZERO;
    let limit = Take {
        items: 2,
        bytes: usize::MAX,
        batches: 2,
        split: true,
        disk: Disk::Load,
    };
    loop {
        match q.next(written, &mut hand) {
            Next::Done(_) => break,
            Next::Empty => {
                written = Tally::ZERO;
                thread::yield_now();
                continue;
            }
            Next::Ready(_) => {}
            Next::Paused => unreachable!("nothing pauses this queue"),
        }
        written = q.take(limit, &mut hand).tally();
        let depth = q.stats().depth;
        assert!(
            depth.items <= 4 && depth.bytes <= 10,
            "bound exceeded: {depth:?}"
        );
        got.extend(
            hand.iter()
                .flat_map(|b| b.iter().map(|i| String::from_utf8(i.to_vec()).unwrap())),
        );
    }
    producer.join().unwrap();
    let want: Vec<String> = (0..3000).map(|i| i.to_string()).collect();
    assert_eq!(got, want);
    let stats = q.stats();
    assert!(stats.balanced());
    assert_eq!(stats.dropped, Tally::ZERO);
}

#[test]
fn block_timeout_counts_only_time_under_pressure() {
    let policy = Policy::Block {
        timeout: Some(Duration::from_millis(1)),
        then: Shed::Drop,
    };
    let q = queue(1, 100, policy);
    q.push(batch(&["a"])).unwrap();
    // Shedding begins once the spell is --block-timeout old: the writer is told when.
    assert!(q.press(Press::Stalled).is_some());
    // Under pressure the wait times out, then what finds the queue full is shed at once.
    q.push(batch(&["b", "c"])).unwrap();
    q.push(batch(&["d"])).unwrap();
    let stats = q.stats();
    assert_eq!(stats.dropped, Tally::new(3, 3));
    assert!(!stats.blocked.is_zero(), "{stats:?}");
    // The consumer takes again: shedding ends; with the writer ready nothing times out.
    assert_eq!(take_all(&q), ["a"]);
    q.press(Press::Resumed);
    q.push(batch(&["e"])).unwrap();
    assert_eq!(q.try_push(batch(&["f"])), Ok(Pushed::Parked));
    assert_eq!(q.stats().dropped, Tally::new(3, 3));
}

#[test]
fn block_timeout_then_fail_stops() {
    let policy = Policy::Block {
        timeout: Some(Duration::from_millis(1)),
        then: Shed::Fail,
    };
    let q = queue(1, 100, policy);
    q.push(batch(&["a"])).unwrap();
    // Shedding begins once the spell is --block-timeout old: the writer is told when.
    assert!(q.press(Press::Stalled).is_some());
    assert_eq!(q.push(batch(&["b"])), Err(Stop::Full(Bound::Items(1))));
}

#[test]
fn stopping_input_wakes_a_blocked_reader_and_lets_the_writer_drain() {
    let q = Arc::new(queue(1, 100, Policy::BLOCK));
    q.push(batch(&["a"])).unwrap();
    let reader = {
        let q = Arc::clone(&q);
        thread::spawn(move || q.push(batch(&["b"])))
    };
    while q.stats().parked.is_zero() {
        thread::yield_now();
    }
    q.stop_input();
    assert_eq!(reader.join().unwrap(), Err(Stop::Stopped));
    // What was queued is still delivered; what the reader held is undelivered.
    assert_eq!(take_all(&q), ["a"]);
    let stats = q.stats();
    assert_eq!(stats.undelivered, Tally::new(1, 1));
    assert!(stats.balanced());
}

#[test]
fn abandoning_counts_everything_held_as_undelivered() {
    let q = queue(10, 100, Policy::BLOCK);
    q.push(batch(&["a", "b", "c"])).unwrap();
    let mut hand = Vec::new();
    q.next(Tally::ZERO, &mut hand);
    let limit = Take {
        batches: 1,
        items: 1,
        bytes: 100,
        split: true,
        disk: Disk::Load,
    };
    assert_eq!(q.take(limit, &mut hand).tally(), Tally::new(1, 1));
    q.abandon();
    // What was queued is undelivered at once; the writer settles its hand (one item of
    // two bytes, one of which went out) and the books are frozen.
    assert_eq!(q.stats().undelivered, Tally::new(2, 2));
    q.tell(Told::Settled {
        written: Tally::ZERO,
        torn: Some((Tally::new(1, 1), 0)),
        lost: Tally::ZERO,
    });
    let stats = q.freeze();
    assert_eq!(stats.undelivered, Tally::new(3, 3));
    assert!(stats.balanced());
    // Nothing afterwards changes the books.
    assert_eq!(q.next(Tally::new(1, 1), &mut hand), Next::Done(Tally::ZERO));
    q.tell(Told::Settled {
        written: Tally::ZERO,
        torn: None,
        lost: Tally::new(1, 1),
    });
    q.close_output();
    assert_eq!(q.stats(), stats);
}

#[test]
fn closed_output_wakes_a_blocked_reader_and_counts_undelivered() {
    let q = Arc::new(queue(1, 100, Policy::BLOCK));
    q.push(batch(&["a"])).unwrap();
    let reader = {
        let q = Arc::clone(&q);
        thread::spawn(move || q.push(batch(&["b", "c"])))
    };
    // Take "a" and pretend the write failed, while the reader may be waiting.
    let mut hand = Vec::new();
    q.next(Tally::ZERO, &mut hand);
    let taken = q.take(Take::ALL, &mut hand).tally();
    q.tell(Told::Settled {
        written: Tally::ZERO,
        torn: None,
        lost: taken,
    });
    q.close_output();
    // "b c" may have been parked, taken or not yet pushed: either way it is undelivered.
    let result = reader.join().unwrap();
    assert!(matches!(result, Err(Stop::Closed) | Ok(())), "{result:?}");
    let stats = q.stats();
    assert!(stats.balanced(), "{stats:?}");
    assert_eq!(stats.output, Tally::ZERO);
}

#[test]
fn a_batch_thinned_by_drop_does_not_keep_its_large_buffer() {
    // A 1 MiB line is shed, the short line after it kept: the queue must not hold the
    // megabyte for the two bytes it counts.
    let q = queue(10, 2 << 20, DROP);
    q.push(batch(&["a"])).unwrap();
    stall(&q);
    let big = "q".repeat(1 << 20);
    let q2 = queue(10, 1 << 20, DROP);
    stall(&q2);
    q2.push(batch(&["x"])).unwrap();
    q2.push(batch(&[&big, "z"])).unwrap();
    let inner = q2.lock();
    assert_eq!(inner.books.ledger.held(Place::Queued), Tally::new(2, 2));
    let held: usize = inner.store.batches.iter().map(|b| b.data.capacity()).sum();
    assert!(
        held < 128 * 1024,
        "the queue holds {held} bytes of buffers for 2 bytes"
    );
    drop(inner);
    assert_eq!(drain(&q), ["a"]);
}

/// A queue on a fake clock, with the real stall grace.
fn clocked(items: usize, policy: Policy) -> (Queue, FakeClock) {
    let clock = FakeClock::default();
    let q = Queue::new(Bounds { items, bytes: 100 }, policy)
        .unwrap()
        .with_clock(Arc::new(clock.clone()));
    (q, clock)
}

#[test]
fn block_timeout_runs_through_a_spell_of_short_stalls_and_keeps_the_bounds() {
    let policy = Policy::Block {
        timeout: Some(Duration::from_millis(200)),
        then: Shed::Drop,
    };
    let (q, clock) = clocked(2, policy);
    q.try_push(batch(&["a", "b"])).unwrap();
    let mut hand = Vec::new();
    q.next(Tally::ZERO, &mut hand);
    q.take(Take::ALL, &mut hand);
    assert_eq!(q.try_push(batch(&["c", "d"])), Ok(Pushed::Done));
    // A consumer that takes a little every 20 ms for 300 ms: stdout full, then room. The
    // writer never catches up, so the spell goes on.
    for _ in 0..15 {
        q.press(Press::Stalled);
        clock.advance(Duration::from_millis(20));
        q.press(Press::Resumed);
    }
    assert_eq!(q.press(Press::Stalled), None, "shedding has begun");
    // What finds the queue full is shed at once: the producer is not held.
    assert_eq!(q.try_push(batch(&["e"])), Ok(Pushed::Done));
    assert_eq!(q.stats().dropped, Tally::new(1, 1));
    // What the writer gives back is trimmed to the bounds at once.
    q.give_back(hand.drain(..));
    let stats = q.stats();
    assert!(stats.depth.items <= 2 && stats.balanced(), "{stats:?}");
    assert!(stats.max_depth.items <= 2, "{stats:?}");
}

#[test]
fn a_zero_block_timeout_waits_out_the_grace_like_any_policy() {
    let policy = Policy::Block {
        timeout: Some(Duration::ZERO),
        then: Shed::Drop,
    };
    // The fake clock stands still: the grace never ends.
    let (q, _clock) = clocked(1, policy);
    let q = Arc::new(q);
    q.push(batch(&["a"])).unwrap();
    q.press(Press::Stalled);
    let reader = {
        let q = Arc::clone(&q);
        thread::spawn(move || q.push(batch(&["b"])))
    };
    while q.stats().parked.is_zero() && !reader.is_finished() {
        thread::yield_now();
    }
    assert_eq!(q.stats().dropped, Tally::ZERO, "shed within the grace");
    assert_eq!(take_all(&q), ["a", "b"]);
    reader.join().unwrap().unwrap();
}

#[test]
fn time_bpipe_was_stopped_is_not_a_stall() {
    let (q, clock) = clocked(1, DROP);
    q.try_push(batch(&["a"])).unwrap();
    assert!(
        q.press(Press::Stalled).is_some(),
        "a spell, within its grace"
    );
    clock.advance(Duration::from_millis(50));
    // SIGSTOP, 300 ms, SIGCONT: the grace starts over.
    clock.stop(Duration::from_millis(300));
    assert_eq!(q.try_push(batch(&["b"])), Ok(Pushed::Parked));
    assert_eq!(q.stats().dropped, Tally::ZERO);
    // Still full 100 ms after: the consumer is behind.
    clock.advance(Duration::from_millis(100));
    assert_eq!(q.retry(), Ok(Pushed::Done));
    assert_eq!(q.stats().dropped, Tally::new(1, 1));
}

#[test]
fn time_bpipe_was_stopped_is_not_counted_as_a_stall_of_the_consumer() {
    // --stall-timeout reads stalled_now: a stop of bpipe's must not make it fire.
    let (q, clock) = clocked(1, DROP);
    q.try_push(batch(&["a"])).unwrap();
    q.press(Press::Stalled);
    clock.advance(Duration::from_millis(50));
    clock.stop(Duration::from_secs(2));
    assert!(
        q.stats().stalled_now < Duration::from_millis(50),
        "{:?}",
        q.stats()
    );
    clock.advance(Duration::from_millis(30));
    assert_eq!(q.stats().stalled_now, Duration::from_millis(30));
}
