//! A model test of the queue under a deterministic scheduler: any interleaving of the
//! reader's pushes, the writer's takes and writes, stdout filling up and draining, the rate
//! limit holding the writer, and the lifecycle (end of input, a stop, an abandon, a closed
//! output). After every step: the books balance; nothing is shed while the writer is ready;
//! order is kept; the bounds hold under drop and slide; `block` loses nothing.

use proptest::prelude::*;

use super::*;

#[derive(Clone, Debug)]
enum Op {
    /// The reader pushes a read of items with these extra lengths (or, while it waits,
    /// tries its parked read again).
    Read(Vec<usize>),
    /// The writer comes for work and takes at most this many items.
    Take(usize),
    /// Stdout takes this many of the items in hand (and the rest of a cut item), then is full
    /// after `cut` bytes of the next one: the writer gives back the rest and stalls.
    Stall(usize, usize),
    /// Stdout takes everything in hand.
    WriteAll,
    /// Stdout has room again.
    Resume,
    /// The rate limit holds the writer.
    Throttle,
    StopInput,
    Abandon,
    CloseOutput,
}

fn op() -> impl Strategy<Value = Op> {
    let read = proptest::collection::vec(0usize..12, 1..20).prop_map(Op::Read);
    prop_oneof![
        6 => read,
        4 => (1usize..30).prop_map(Op::Take),
        3 => (0usize..8, 0usize..6).prop_map(|(n, cut)| Op::Stall(n, cut)),
        3 => Just(Op::WriteAll),
        3 => Just(Op::Resume),
        1 => Just(Op::Throttle),
        1 => prop_oneof![Just(Op::StopInput), Just(Op::Abandon), Just(Op::CloseOutput)],
    ]
}

fn policies() -> impl Strategy<Value = Policy> {
    prop_oneof![
        Just(Policy::BLOCK),
        Just(Policy::Shed(Shed::Drop)),
        Just(Policy::Shed(Shed::Slide)),
        Just(Policy::Shed(Shed::Fail)),
    ]
}

fn id(item: &[u8]) -> usize {
    let digits = item.iter().take_while(|b| b.is_ascii_digit()).count();
    std::str::from_utf8(&item[..digits])
        .unwrap()
        .parse()
        .unwrap()
}

/// The writer's side, as the real writer keeps it.
#[derive(Default)]
struct Hand {
    batches: Vec<Batch>,
    /// Whole items written since the last `next`.
    written: Tally,
    /// An item cut by a full stdout: its size and id, finished before anything else.
    cut: Option<(Tally, usize)>,
}

struct Model {
    q: Queue,
    policy: Policy,
    bounds: Bounds,
    hand: Hand,
    next_id: usize,
    out: Vec<usize>,
    reader_waiting: bool,
    reader_done: bool,
    pressure: bool,
    ended: bool,
}

impl Model {
    fn step(&mut self, op: Op) {
        match op {
            Op::Read(extras) => {
                if self.reader_done {
                    return;
                }
                let result = if self.reader_waiting {
                    self.q.retry()
                } else {
                    let items: Vec<Vec<u8>> = extras
                        .iter()
                        .map(|&extra| {
                            let mut item = format!("{}:", self.next_id).into_bytes();
                            self.next_id += 1;
                            item.resize((item.len() + extra).min(16), b'x');
                            item
                        })
                        .collect();
                    self.q
                        .try_push(Batch::from_items(items.iter().map(Vec::as_slice)))
                };
                match result {
                    Ok(Pushed::Done) => self.reader_waiting = false,
                    Ok(Pushed::Parked) => self.reader_waiting = true,
                    Err(_) => self.reader_done = true,
                }
            }
            Op::Take(n) if self.hand.batches.is_empty() && self.hand.cut.is_none() => {
                let written = std::mem::take(&mut self.hand.written);
                match self.q.next(written, &mut self.hand.batches) {
                    Next::Ready(_) => {
                        self.pressure = false;
                        let limit = Take {
                            items: n,
                            bytes: usize::MAX,
                            batches: 4,
                            split: true,
                        };
                        self.q.take(limit, &mut self.hand.batches);
                    }
                    Next::Empty => self.pressure = false,
                    Next::Done => self.ended = true,
                }
            }
            Op::Take(_) => {}
            Op::WriteAll => {
                if let Some((item, id)) = self.hand.cut.take() {
                    self.hand.written += item;
                    self.out.push(id);
                }
                for batch in &self.hand.batches {
                    self.hand.written += batch.tally();
                    self.out.extend(batch.iter().map(id));
                }
                // Written batches stay in hand until the next `next` recycles them.
                self.hand.batches.retain(|_| false);
            }
            Op::Stall(n, cut) => {
                if let Some((item, id)) = self.hand.cut.take() {
                    self.hand.written += item;
                    self.out.push(id);
                }
                let mut back = std::mem::take(&mut self.hand.batches);
                let mut left = n;
                while left > 0 && !back.is_empty() {
                    let first = &mut back[0];
                    let ids: Vec<usize> = first.iter().map(id).take(left).collect();
                    for id in ids {
                        self.out.push(id);
                        self.hand.written += first.pop_front().unwrap();
                        left -= 1;
                    }
                    if back[0].is_empty() {
                        back.remove(0);
                    }
                }
                if let Some(first) = back.first_mut() {
                    let len = first.iter().next().unwrap().len();
                    if cut > 0 && cut < len {
                        let cut_id = id(first.iter().next().unwrap());
                        let (whole, item) = first.remove_written(cut, &mut Vec::new());
                        assert_eq!(whole, Tally::ZERO);
                        self.hand.cut = item.map(|t| (t, cut_id));
                        if first.is_empty() {
                            back.remove(0);
                        }
                    }
                }
                self.q.stalled();
                self.q.give_back(back.into_iter());
                self.pressure = true;
            }
            Op::Resume => {
                self.q.resumed();
                self.pressure = false;
            }
            Op::Throttle => {
                self.q.throttled();
                self.pressure = true;
            }
            Op::StopInput => self.q.stop_input(),
            Op::Abandon => {
                // The writer is woken and settles its hand: a cut item is torn.
                self.q.abandon();
                let mut lost = Tally::ZERO;
                for batch in self.hand.batches.drain(..) {
                    lost += batch.tally();
                }
                let torn = self.hand.cut.take().map(|(item, _)| (item, 1));
                let written = std::mem::take(&mut self.hand.written);
                self.q.settle_hand(written, torn, lost);
            }
            Op::CloseOutput => {
                let mut lost = self.hand.cut.take().map(|c| c.0).unwrap_or_default();
                for batch in self.hand.batches.drain(..) {
                    lost += batch.tally();
                }
                let written = std::mem::take(&mut self.hand.written);
                self.q.settle_hand(written, None, lost);
                self.q.close_output();
            }
        }
    }

    fn check(&self, before: &Stats, op: &Op) -> Result<(), TestCaseError> {
        let stats = self.q.stats();
        prop_assert!(stats.balanced(), "unbalanced after {op:?}: {stats:?}");
        if !self.pressure && !matches!(op, Op::Stall(..) | Op::Throttle) {
            prop_assert_eq!(
                stats.dropped,
                before.dropped,
                "shed while the writer was ready: {:?}",
                op
            );
        }
        if matches!(self.policy, Policy::Shed(Shed::Drop | Shed::Slide)) {
            prop_assert!(stats.depth.items as usize <= self.bounds.items, "{stats:?}");
            prop_assert!(stats.depth.bytes as usize <= self.bounds.bytes, "{stats:?}");
        }
        prop_assert!(stats.parked.items <= 20);
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    #[test]
    fn any_interleaving_keeps_the_invariants(
        ops in proptest::collection::vec(op(), 1..80),
        policy in policies(),
        cap in 1usize..12,
        cap_bytes in 16usize..200,
    ) {
        let bounds = Bounds { items: cap, bytes: cap_bytes };
        let mut m = Model {
            q: Queue::new(bounds, policy).unwrap().with_grace(std::time::Duration::ZERO),
            policy,
            bounds,
            hand: Hand::default(),
            next_id: 0,
            out: Vec::new(),
            reader_waiting: false,
            reader_done: false,
            pressure: false,
            ended: false,
        };
        let lifecycle = ops.iter().any(|op| {
            matches!(op, Op::StopInput | Op::Abandon | Op::CloseOutput)
        });
        for op in ops {
            let before = m.q.stats();
            m.step(op.clone());
            m.check(&before, &op)?;
        }
        // The end: input finishes, stdout drains, the writer takes everything.
        m.q.finish_input();
        m.step(Op::Resume);
        for _ in 0..10_000 {
            if m.reader_waiting && !m.reader_done {
                m.step(Op::Read(Vec::new()));
            }
            m.step(Op::WriteAll);
            let before = m.q.stats();
            m.step(Op::Take(usize::MAX));
            m.check(&before, &Op::Take(usize::MAX))?;
            if m.ended {
                break;
            }
        }
        prop_assert!(m.ended, "the writer never finished");
        let stats = m.q.stats();
        prop_assert!(stats.balanced(), "{stats:?}");
        prop_assert_eq!(stats.depth + stats.in_flight + stats.parked, Tally::ZERO);
        prop_assert!(m.out.windows(2).all(|w| w[0] < w[1]), "out of order: {:?}", m.out);
        if !lifecycle {
            prop_assert_eq!(stats.output.items as usize, m.out.len());
            if policy == Policy::BLOCK {
                prop_assert_eq!(&m.out, &(0..m.next_id).collect::<Vec<_>>(), "block lost items");
            }
        }
    }
}
