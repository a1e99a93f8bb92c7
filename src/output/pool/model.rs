//! A model of the pool under a deterministic scheduler: the writer offers gathers of whole
//! items, model workers read what they like from pipes of a few bytes, and some exit
//! midway. Every interleaving must keep each item whole in one worker, in input order per
//! worker, and every item read or recalled (undelivered) exactly once.

use std::collections::VecDeque;
use std::io::{self, ErrorKind, IoSlice};
use std::os::fd::BorrowedFd;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use proptest::prelude::*;

use super::feed::{Feed, Launcher};
use super::{Pool, Spec};
use crate::books::tally::Tally;
use crate::output::sink::{Finish, Relay, Sink};

/// A model worker: a pipe of `cap` bytes, what it has read, whether it exited.
#[derive(Default)]
struct Worker {
    cap: usize,
    pipe: VecDeque<u8>,
    read: Vec<u8>,
    open: bool,
    exit: Option<i32>,
}

#[derive(Clone)]
struct Model(Arc<Mutex<Worker>>);

impl Model {
    fn with<R>(&self, f: impl FnOnce(&mut Worker) -> R) -> R {
        f(&mut self.0.lock().unwrap())
    }

    /// The worker reads up to `n` bytes.
    fn read(&self, n: usize) {
        self.with(|w| {
            if w.exit.is_none() {
                let n = n.min(w.pipe.len());
                let taken: Vec<u8> = w.pipe.drain(..n).collect();
                w.read.extend(taken);
            }
        });
    }
}

impl Feed for Model {
    fn write(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.with(|w| {
            let room = w.cap - w.pipe.len();
            if !w.open {
                return Err(ErrorKind::BrokenPipe.into());
            }
            if room == 0 {
                return Err(ErrorKind::WouldBlock.into());
            }
            let mut n = 0;
            for b in bufs.iter().flat_map(|b| b.iter()).take(room) {
                w.pipe.push_back(*b);
                n += 1;
            }
            Ok(n)
        })
    }
    fn open(&self) -> bool {
        self.with(|w| w.open)
    }
    fn close(&mut self) {
        self.with(|w| w.open = false);
    }
    fn exited(&mut self) -> Option<i32> {
        // A worker whose input closed reads to the end and exits.
        self.with(|w| {
            if !w.open && w.exit.is_none() {
                let rest: Vec<u8> = w.pipe.drain(..).collect();
                w.read.extend(rest);
                w.exit = Some(0);
            }
            w.exit
        })
    }
    fn unread(&mut self) -> Vec<u8> {
        self.with(|w| {
            w.open = false;
            w.pipe.drain(..).collect()
        })
    }
    fn drained(&self) -> bool {
        self.with(|w| w.pipe.is_empty())
    }
    fn fd(&self) -> Option<BorrowedFd<'_>> {
        None
    }
    fn wait_for_room(&self, _: Duration) {
        self.read(usize::MAX);
    }
    fn pid(&self) -> Option<u32> {
        None
    }
}

#[derive(Clone, Debug)]
enum Op {
    /// The writer offers up to this many items.
    Write(usize),
    /// Worker `.0` reads up to `.1` bytes.
    Read(usize, usize),
    /// Worker `.0` exits with status `.1`.
    Exit(usize, i32),
    /// The pool's housekeeping.
    Tend,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (1usize..6).prop_map(Op::Write),
        4 => (0usize..4, 1usize..200).prop_map(|(w, n)| Op::Read(w, n)),
        1 => (0usize..4, 0i32..2).prop_map(|(w, s)| Op::Exit(w, s)),
        1 => Just(Op::Tend),
    ]
}

/// Items `i:xxx…\n` of the given lengths.
fn input(lengths: &[usize]) -> Vec<Vec<u8>> {
    lengths
        .iter()
        .enumerate()
        .map(|(i, &len)| format!("{i}:{}\n", "x".repeat(len)).into_bytes())
        .collect()
}

/// The numbers of the whole items in a worker's stream, and whether it ends in the middle of
/// one.
fn numbers(stream: &[u8]) -> (Vec<usize>, bool) {
    let mut out = Vec::new();
    let whole = stream
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    for line in stream[..whole]
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
    {
        let text = std::str::from_utf8(line).unwrap();
        let (n, rest) = text
            .split_once(':')
            .expect("an item starts with its number");
        assert!(rest.bytes().all(|b| b == b'x'), "a glued item: {text}");
        out.push(n.parse().unwrap());
    }
    (out, whole < stream.len())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn any_interleaving_keeps_items_whole_and_counted_once(
        lengths in proptest::collection::vec(prop_oneof![3 => 0usize..20, 1 => 20usize..300], 1..40),
        caps in proptest::collection::vec(4usize..64, 4),
        workers in 1usize..=4,
        ops in proptest::collection::vec(op(), 1..200),
    ) {
        let items = input(&lengths);
        let all: Vec<u8> = items.concat();
        let models: Arc<Mutex<Vec<Model>>> = Arc::default();
        let launch: Launcher = {
            let models = Arc::clone(&models);
            let caps = caps.clone();
            Box::new(move |slot| {
                let model = Model(Arc::new(Mutex::new(Worker {
                    cap: caps[slot - 1],
                    open: true,
                    ..Worker::default()
                })));
                models.lock().unwrap().push(model.clone());
                Ok(Box::new(model) as Box<dyn Feed>)
            })
        };
        let spec = Spec {
            command: vec!["model".into()],
            min: workers,
            max: workers,
            scale_after: Duration::from_secs(3600),
            idle_exit: Duration::from_secs(3600),
            restart: super::Restart::Never,
            exit_timeout: None,
        };
        let mut pool = Pool::with_launcher(spec, (b'\n', usize::MAX), None, launch).unwrap();
        let mut at = 0; // bytes of the input the pool has taken
        let mut recalled = Tally::ZERO;
        let mut gone = false;
        let model = |i: usize| models.lock().unwrap()[i % workers].clone();
        for op in ops.iter().cycle().take(ops.len() * 4) {
            if at == all.len() || gone {
                break;
            }
            match *op {
                Op::Write(n) => {
                    // A gather of whole items from where the writer stands (or the rest of
                    // one it began).
                    let end = (0..n).fold(at, |end, _| {
                        all[end..].iter().position(|&b| b == b'\n').map_or(all.len(), |p| end + p + 1)
                    });
                    match pool.write_now(&[IoSlice::new(&all[at..end])]) {
                        Ok(n) => at += n,
                        Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                        Err(e) if e.kind() == ErrorKind::BrokenPipe => gone = true,
                        Err(e) => panic!("{e}"),
                    }
                }
                Op::Read(w, n) => model(w).read(n),
                Op::Exit(w, status) => model(w).with(|m| {
                    m.exit.get_or_insert(status);
                }),
                Op::Tend => {
                    if pool.tend(1.0).is_err() {
                        gone = true;
                    }
                }
            }
            recalled += pool.recalled();
        }
        // The end: workers read what they have left; the rest of the input is not offered.
        if !gone {
            pool.finish(Finish::Complete).unwrap();
        }
        recalled += pool.recalled();
        let mut seen = vec![0u32; items.len()];
        let mut read = Tally::ZERO;
        for m in models.lock().unwrap().iter() {
            let stream = m.with(|w| w.read.clone());
            let (numbers, torn) = numbers(&stream);
            // In input order, each whole.
            prop_assert!(numbers.windows(2).all(|p| p[0] < p[1]), "{numbers:?}");
            for &n in &numbers {
                seen[n] += 1;
                prop_assert_eq!(&stream_item(&stream, n), &items[n]);
            }
            read += Tally::new(numbers.len(), stream.len());
            if torn {
                prop_assert!(m.with(|w| w.exit.is_some()), "a live worker got a cut item");
            }
        }
        // What the pool took was read or recalled, once: nothing lost, nothing twice.
        let offered = all[..at].iter().filter(|&&b| b == b'\n').count() as u64;
        prop_assert!(seen.iter().all(|&s| s <= 1), "{seen:?}");
        prop_assert_eq!(read.items + recalled.items, offered + u64::from(at > 0 && !all[..at].ends_with(b"\n")));
        prop_assert_eq!(read.bytes + recalled.bytes, at as u64);
    }
}

/// Item `n` as it appears in `stream`.
fn stream_item(stream: &[u8], n: usize) -> Vec<u8> {
    let prefix = format!("{n}:");
    let start = stream
        .split_inclusive(|&b| b == b'\n')
        .find(|l| l.starts_with(prefix.as_bytes()))
        .unwrap();
    start.to_vec()
}
