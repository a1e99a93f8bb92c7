//! Time in queue, ages and stalls, on a fake clock shared by the queue and the writer: the
//! figures are checked exactly.

use std::os::fd::BorrowedFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;
use crate::output::sink::Always;
use crate::queue::clock::{Clock, FakeClock};
use crate::queue::policy::Policy;
use crate::queue::{Bounds, Press, Pushed};

const US: Duration = Duration::from_micros(1);

/// One read: its items, and how long they sit in the queue before the writer comes.
struct Read {
    items: usize,
    sits: Duration,
}

/// The writer's waits on the fake clock: each time it is idle, the next read arrives and
/// sits for its time before the writer is woken.
struct Reads<'q> {
    q: &'q Queue,
    clock: FakeClock,
    reads: std::vec::IntoIter<Read>,
}

impl Wait for Reads<'_> {
    fn now(&self) -> Instant {
        self.clock.now()
    }
    fn wait(&mut self, _: Option<BorrowedFd<'_>>, room: bool, _: Option<Instant>) -> Woke {
        assert!(!room, "stdout always takes data here");
        match self.reads.next() {
            Some(read) => {
                let items = vec![&b"x\n"[..]; read.items];
                assert_eq!(self.q.try_push(Batch::from_items(items)), Ok(Pushed::Done));
                self.clock.advance(read.sits);
            }
            None => self.q.finish_input(),
        }
        Woke::Rung
    }
}

fn clocked_queue(clock: &FakeClock) -> Queue {
    Queue::new(
        Bounds {
            items: 1000,
            bytes: 1 << 20,
        },
        Policy::BLOCK,
    )
    .unwrap()
    .with_clock(Arc::new(clock.clone()))
}

#[test]
fn time_in_queue_is_measured_from_the_read_to_the_write_exactly() {
    // 98 items wait 40 µs, one 170 µs, one 250 µs: p50 40 µs, p99 170 µs (the 99th of
    // 100), max 250 µs. Under 256 µs the histogram's buckets are one microsecond wide.
    let clock = FakeClock::default();
    let q = clocked_queue(&clock);
    let reads = vec![
        Read {
            items: 98,
            sits: 40 * US,
        },
        Read {
            items: 1,
            sits: 170 * US,
        },
        Read {
            items: 1,
            sits: 250 * US,
        },
    ];
    let mut wait = Reads {
        q: &q,
        clock: clock.clone(),
        reads: reads.into_iter(),
    };
    run(&mut Always(io::sink()), &q, &mut wait, None).unwrap();
    let stats = q.stats();
    assert_eq!(stats.output.items, 100);
    assert_eq!(stats.wait.items, 100);
    assert_eq!(
        (stats.wait.p50, stats.wait.p99, stats.wait.max),
        (40 * US, 170 * US, 250 * US)
    );
    // Nothing was taken since the start: the interval's figures are the run's.
    assert_eq!(stats.interval_wait, stats.wait);
    q.next_interval();
    assert_eq!(q.stats().interval_wait.items, 0);
    assert_eq!(q.stats().wait, stats.wait);
}

#[test]
fn long_waits_are_within_the_histograms_resolution() {
    let clock = FakeClock::default();
    let q = clocked_queue(&clock);
    let reads = vec![
        Read {
            items: 1,
            sits: Duration::from_millis(1500),
        },
        Read {
            items: 1,
            sits: Duration::from_secs(3600),
        },
    ];
    let mut wait = Reads {
        q: &q,
        clock: clock.clone(),
        reads: reads.into_iter(),
    };
    run(&mut Always(io::sink()), &q, &mut wait, None).unwrap();
    let figures = q.stats().wait;
    let near = |got: Duration, want: Duration| {
        (got.as_secs_f64() / want.as_secs_f64() - 1.0).abs() <= 0.01
    };
    assert!(
        near(figures.p50, Duration::from_millis(1500)),
        "{figures:?}"
    );
    assert_eq!(figures.max, Duration::from_secs(3600));
    assert!(near(figures.p99, Duration::from_secs(3600)), "{figures:?}");
}

#[test]
fn the_oldest_age_is_that_of_the_first_item_waiting_wherever_it_waits() {
    let clock = FakeClock::default();
    let q = Queue::new(
        Bounds {
            items: 2,
            bytes: 100,
        },
        Policy::BLOCK,
    )
    .unwrap()
    .with_clock(Arc::new(clock.clone()));
    assert_eq!(q.stats().oldest_age, Duration::ZERO);
    q.try_push(Batch::from_items([&b"a\n"[..]])).unwrap();
    clock.advance(Duration::from_secs(3));
    // Two more do not fit a queue of two: they wait in the reader's hand.
    let parked = q.try_push(Batch::from_items([&b"b\n"[..], b"c\n"]));
    assert_eq!(parked, Ok(Pushed::Parked));
    clock.advance(Duration::from_secs(2));
    assert_eq!(q.stats().oldest_age, Duration::from_secs(5));
    // In the writer's hand it is still the oldest.
    let mut hand = Vec::new();
    let one = Take {
        batches: 1,
        ..Take::ALL
    };
    q.take(one, &mut hand);
    clock.advance(Duration::from_millis(250));
    assert_eq!(q.stats().oldest_age, Duration::from_millis(5250));
    // Once it is written, the parked read is the oldest.
    let written = hand[0].tally();
    assert!(matches!(q.next(written, &mut hand), Next::Ready(_)));
    assert_eq!(q.stats().oldest_age, Duration::from_millis(2250));
}

#[test]
fn stalled_time_adds_up_spells_of_a_full_stdout() {
    let clock = FakeClock::default();
    let q = clocked_queue(&clock);
    q.try_push(Batch::from_items([&b"a\n"[..]])).unwrap();
    let mut hand = Vec::new();
    q.take(Take::ALL, &mut hand);
    q.press(Press::Stalled);
    clock.advance(Duration::from_secs(2));
    assert_eq!(q.stats().stalled_now, Duration::from_secs(2));
    q.press(Press::Resumed);
    clock.advance(Duration::from_secs(5));
    q.press(Press::Stalled);
    clock.advance(Duration::from_secs(1));
    let stats = q.stats();
    assert_eq!(stats.stalled_now, Duration::from_secs(1));
    assert_eq!(stats.stalled, Duration::from_secs(3));
}

#[test]
fn max_age_sheds_what_waited_longer_when_the_writer_comes() {
    let clock = FakeClock::default();
    let q = clocked_queue(&clock).with_max_age(Some(Duration::from_secs(3)));
    q.try_push(Batch::from_items([&b"old\n"[..], b"old\n"]))
        .unwrap();
    clock.advance(Duration::from_secs(2));
    q.try_push(Batch::from_items([&b"new\n"[..]])).unwrap();
    // At 3 s the first read is as old as allowed, not older: it goes.
    clock.advance(Duration::from_secs(1));
    let mut hand = Vec::new();
    q.take(
        Take {
            batches: 1,
            ..Take::ALL
        },
        &mut hand,
    );
    assert_eq!(hand.len(), 1);
    assert_eq!(hand[0].items(), 2);
    let written = hand[0].tally();
    q.next(written, &mut hand);
    // The second read arrived at 2 s; at 5.001 s it is older than allowed.
    clock.advance(Duration::from_millis(2001));
    q.take(Take::ALL, &mut hand);
    assert!(hand.is_empty(), "a line 3.001 s old went out");
    let stats = q.stats();
    assert_eq!(stats.expired.items, 1);
    assert_eq!(stats.dropped.items, 1);
    assert!(stats.balanced());
}
