use std::cell::RefCell;
use std::os::fd::BorrowedFd;
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::*;
use crate::output::sink::{Always, Sink};
use crate::output::wait::FakeWait;
use crate::queue::policy::{Policy, Shed};
use crate::queue::{Bounds, Pushed};
use crate::values::rate::Rate;

fn queue(items: usize, bytes: usize, policy: Policy) -> Queue {
    Queue::new(Bounds { items, bytes }, policy)
        .unwrap()
        .with_grace(Duration::ZERO)
}

fn lines(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("{i}\n")).collect()
}

fn batch(lines: &[String]) -> Batch {
    Batch::from_items(lines.iter().map(|l| l.as_bytes()))
}

/// Accepts `limit` bytes, one at a time, then fails like a closed pipe.
struct Trickle {
    got: Vec<u8>,
    limit: usize,
}

impl Relay for Trickle {}

impl Sink for Trickle {
    fn write_now(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        if self.got.len() >= self.limit {
            return Err(ErrorKind::BrokenPipe.into());
        }
        let first = bufs.iter().find(|b| !b.is_empty()).unwrap();
        self.got.push(first[0]);
        Ok(1)
    }
    fn fd(&self) -> Option<BorrowedFd<'_>> {
        None
    }
}

#[test]
fn short_writes_are_resumed_and_errors_account_for_every_item() {
    let q = queue(10, 100, Policy::BLOCK);
    q.push(Batch::from_items([&b"ab\n"[..], b"cd\n"])).unwrap();
    q.push(Batch::from_items([&b"ef\n"[..]])).unwrap();
    q.finish_input();
    let mut out = Trickle {
        got: Vec::new(),
        limit: 4,
    };
    let err = run(&mut out, &q, &mut FakeWait::new(), None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BrokenPipe);
    assert_eq!(out.got, b"ab\nc");
    let stats = q.stats();
    // One whole line out, and one byte of the next: out_bytes is what was written, and the
    // torn line is counted on its own and as undelivered.
    assert_eq!(stats.output, Tally::new(1, 4));
    assert_eq!(stats.torn, 1);
    assert_eq!(stats.undelivered, Tally::new(2, 5));
    assert!(stats.balanced());
}

/// A pipe of `capacity` bytes that a consumer empties whenever the writer waits for room;
/// before it does, `stalled` runs (the reader's turn, in a deterministic order).
struct Pipe {
    held: Vec<u8>,
    read: Vec<u8>,
    capacity: usize,
}

struct Turns<F: FnMut()> {
    pipe: Rc<RefCell<Pipe>>,
    stalled: F,
    stalls: usize,
}

struct PipeSink(Rc<RefCell<Pipe>>);

impl Relay for PipeSink {}

impl Sink for PipeSink {
    fn write_now(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let mut pipe = self.0.borrow_mut();
        let room = pipe.capacity - pipe.held.len();
        if room == 0 {
            return Err(ErrorKind::WouldBlock.into());
        }
        let mut n = 0;
        for buf in bufs {
            let len = buf.len().min(room - n);
            pipe.held.extend_from_slice(&buf[..len]);
            n += len;
        }
        Ok(n)
    }
    fn fd(&self) -> Option<BorrowedFd<'_>> {
        None
    }
}

impl<F: FnMut()> Wait for Turns<F> {
    fn now(&self) -> Instant {
        Instant::now()
    }
    fn wait(&mut self, _: Option<BorrowedFd<'_>>, room: bool, _: Option<Instant>) -> Woke {
        assert!(room, "the queue never runs dry in these tests");
        self.stalls += 1;
        (self.stalled)();
        let mut pipe = self.pipe.borrow_mut();
        let held = std::mem::take(&mut pipe.held);
        pipe.read.extend(held);
        Woke::Room
    }
}

/// Runs the writer against a pipe of `capacity` bytes; `stalled` runs at each stall.
fn through_pipe(q: &Queue, capacity: usize, stalled: impl FnMut()) -> (String, usize) {
    let (out, stalls, _) = through_pipe_as(q, capacity, stalled, PipeSink);
    (out, stalls)
}

/// [`through_pipe`], writing by the sink `sink` makes of the pipe; returns the sink too.
fn through_pipe_as<S: Relay>(
    q: &Queue,
    capacity: usize,
    stalled: impl FnMut(),
    sink: impl FnOnce(Rc<RefCell<Pipe>>) -> S,
) -> (String, usize, S) {
    let pipe = Rc::new(RefCell::new(Pipe {
        held: Vec::new(),
        read: Vec::new(),
        capacity,
    }));
    let mut turns = Turns {
        pipe: Rc::clone(&pipe),
        stalled,
        stalls: 0,
    };
    let mut sink = sink(Rc::clone(&pipe));
    run(&mut sink, q, &mut turns, None).unwrap();
    let mut pipe = pipe.borrow_mut();
    let held = std::mem::take(&mut pipe.held);
    pipe.read.extend(held);
    let out = String::from_utf8(pipe.read.clone()).unwrap();
    (out, turns.stalls, sink)
}

#[test]
fn a_full_stdout_gets_back_what_was_not_begun_and_slide_keeps_the_freshest() {
    let q = queue(3, 1000, Policy::Shed(Shed::Slide));
    // Ten lines do not fit a queue of three, and the writer is ready: they wait whole.
    assert_eq!(q.try_push(batch(&lines(0..10))), Ok(Pushed::Parked));
    let mut turn = 0;
    let (out, stalls) = through_pipe(&q, 9, || {
        turn += 1;
        if turn == 1 {
            // The pipe took "0\n".."3\n" and half of "4\n"; 5..9 went back, and under
            // pressure slide kept the freshest three. Two more arrive.
            assert_eq!(q.try_push(batch(&lines(10..12))), Ok(Pushed::Done));
            q.finish_input();
        }
    });
    assert_eq!(out, "0\n1\n2\n3\n4\n9\n10\n11\n");
    assert!(stalls >= 1);
    let stats = q.stats();
    assert_eq!(stats.dropped.items, 4);
    assert!(stats.balanced(), "{stats:?}");
}

#[test]
fn under_drop_the_items_after_the_stall_are_the_next_that_fit() {
    let q = queue(3, 1000, Policy::Shed(Shed::Drop));
    assert_eq!(q.try_push(batch(&lines(0..10))), Ok(Pushed::Parked));
    let mut turn = 0;
    let (out, _) = through_pipe(&q, 8, || {
        turn += 1;
        if turn == 1 {
            assert_eq!(q.try_push(batch(&lines(10..12))), Ok(Pushed::Done));
            q.finish_input();
        }
    });
    assert_eq!(out, "0\n1\n2\n3\n4\n5\n6\n");
    assert!(q.stats().balanced());
}

#[test]
fn block_keeps_its_hand_and_loses_nothing() {
    let q = queue(2, 1000, Policy::BLOCK);
    assert_eq!(q.try_push(batch(&lines(0..10))), Ok(Pushed::Parked));
    let mut turn = 0;
    let (out, stalls) = through_pipe(&q, 5, || {
        turn += 1;
        if turn == 1 {
            // Nothing can be shed under block: the writer keeps what it holds, and the
            // queue stays within its cap.
            assert_eq!(q.try_push(batch(&lines(10..11))), Ok(Pushed::Done));
            assert_eq!(q.stats().depth.items, 1);
        }
        if turn == 3 {
            q.finish_input();
        }
    });
    assert_eq!(out, lines(0..11).concat());
    assert!(stalls >= 3);
    let stats = q.stats();
    assert_eq!(stats.dropped, Tally::ZERO);
    assert!(stats.balanced());
}

/// Records each write's size.
struct Writes(Vec<usize>, Vec<u8>);

impl io::Write for Writes {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.push(buf.len());
        self.1.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_huge_item_under_a_byte_rate_is_spread_over_time() {
    let q = queue(10, 2 << 20, Policy::BLOCK);
    let item = vec![b'x'; 1 << 20];
    q.push(Batch::from_items([&item[..]])).unwrap();
    q.finish_input();
    let limiter = Limiter::new(Rate::parse("100KiB/s").unwrap(), 10 * 1024);
    let mut wait = FakeWait::new();
    let start = wait.now;
    let mut out = Always(Writes(Vec::new(), Vec::new()));
    run(&mut out, &q, &mut wait, Some(limiter)).unwrap();
    assert_eq!(out.0.1, item);
    assert!(
        out.0.0.iter().all(|&n| n <= 10 * 1024),
        "a write exceeded the burst"
    );
    let took = (wait.now - start).as_secs_f64();
    let ideal = ((1 << 20) - 10 * 1024) as f64 / (100.0 * 1024.0);
    assert!((took - ideal).abs() < 1e-3, "{took} vs {ideal}");
    assert_eq!(q.stats().output, Tally::new(1, 1 << 20));
}

#[test]
fn an_item_rate_takes_only_what_may_go() {
    // Items wait in the queue, not in the writer's hands: with 2/s, after the first item
    // goes, slide can still replace what is queued.
    let q = queue(100, 1000, Policy::Shed(Shed::Slide));
    let lines = lines(0..10);
    q.push(batch(&lines)).unwrap();
    q.finish_input();
    let limiter = Limiter::new(Rate::parse("2/s").unwrap(), 1);
    let mut wait = FakeWait::new();
    let start = wait.now;
    let mut out = Always(Writes(Vec::new(), Vec::new()));
    run(&mut out, &q, &mut wait, Some(limiter)).unwrap();
    assert_eq!(out.0.1, lines.concat().as_bytes());
    // One item per write, 0.5 s apart.
    assert_eq!(out.0.0.len(), 10);
    assert_eq!((wait.now - start).as_millis(), 4500);
}

/// Waits on a fake clock; when the writer is idle, the next read arrives ten seconds later.
struct IdleThenRead<'q> {
    q: &'q Queue,
    reads: Vec<Batch>,
    now: Instant,
}

impl Wait for IdleThenRead<'_> {
    fn now(&self) -> Instant {
        self.now
    }
    fn wait(&mut self, _: Option<BorrowedFd<'_>>, _: bool, until: Option<Instant>) -> Woke {
        match until {
            Some(until) => {
                self.now = self.now.max(until);
                Woke::Timeout
            }
            None => {
                self.now += Duration::from_secs(10);
                match self.reads.pop() {
                    Some(read) => assert_eq!(self.q.try_push(read), Ok(Pushed::Done)),
                    None => self.q.finish_input(),
                }
                Woke::Rung
            }
        }
    }
}

#[test]
fn after_an_idle_spell_only_the_burst_goes_at_once() {
    // 1000/s with a burst of one: ten idle seconds earn no backlog of credit, so the first
    // write after them carries one item, not the 20 ms of catch-up a busy writer may use.
    let q = queue(1000, 100_000, Policy::BLOCK);
    q.push(batch(&lines(0..5))).unwrap();
    let mut wait = IdleThenRead {
        q: &q,
        reads: vec![batch(&lines(5..105))],
        now: Instant::now(),
    };
    let limiter = Limiter::new(Rate::parse("1000/s").unwrap(), 1);
    let mut out = Always(Writes(Vec::new(), Vec::new()));
    run(&mut out, &q, &mut wait, Some(limiter)).unwrap();
    assert_eq!(out.0.1, lines(0..105).concat().as_bytes());
    assert!(
        out.0.0.iter().all(|&n| n <= 4),
        "a write carried a burst: {:?}",
        out.0.0
    );
}

mod spilled;
