//! A model test of the queue under a deterministic scheduler: any interleaving of the
//! reader's pushes, the writer's takes and writes, stdout filling up and draining, the rate
//! limit holding the writer, and the lifecycle (end of input, a stop, an abandon, a closed
//! output). After every step: the books balance; nothing is shed while the writer is ready;
//! order is kept; the bounds hold under drop and slide; `block` loses nothing. With
//! `--keep`, `--mark-drops` and `--dead-letter` on: no kept item is ever shed, every gap in
//! the output has one marker of its size, and output and dead letters hold every item once.
//! An operator may pause and resume the writer and change the cap at any step (`tune.rs`).

use proptest::prelude::*;

use super::*;
use crate::books::stats::Stats;
use crate::books::tally::Tally;
use crate::queue::marker::Marker;
use crate::queue::spill::Spill;

#[derive(Clone, Debug)]
enum Op {
    /// The reader pushes a read of items with these extra lengths (or, while it waits,
    /// tries its parked read again).
    Read(Vec<usize>),
    /// The writer comes for work and takes at most this many items (`false`), or the oldest
    /// batch on disk, its bytes left there, if the queue gives it (`true`).
    Take(usize, bool),
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
    /// `bpipectl pause` (`true`) or `resume`.
    Pause(bool),
    /// `bpipectl set cap N`.
    SetCap(usize),
}

fn op() -> impl Strategy<Value = Op> {
    let read = proptest::collection::vec(0usize..12, 1..20).prop_map(Op::Read);
    prop_oneof![
        6 => read,
        4 => (1usize..30, any::<bool>()).prop_map(|(n, disk)| Op::Take(n, disk)),
        3 => (0usize..8, 0usize..6).prop_map(|(n, cut)| Op::Stall(n, cut)),
        3 => Just(Op::WriteAll),
        3 => Just(Op::Resume),
        1 => Just(Op::Throttle),
        1 => prop_oneof![Just(Op::StopInput), Just(Op::Abandon), Just(Op::CloseOutput)],
        1 => any::<bool>().prop_map(Op::Pause),
        1 => (1usize..12).prop_map(Op::SetCap),
    ]
}

fn policies() -> impl Strategy<Value = Policy> {
    prop_oneof![
        Just(Policy::BLOCK),
        Just(Policy::Shed(Shed::Drop)),
        Just(Policy::Shed(Shed::Slide)),
        Just(Policy::Shed(Shed::Fail)),
        // --block-timeout 0: the policy it names, once under pressure.
        Just(Policy::Block {
            timeout: Some(std::time::Duration::ZERO),
            then: Shed::Drop,
        }),
        Just(Policy::Block {
            timeout: Some(std::time::Duration::ZERO),
            then: Shed::Slide,
        }),
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
    /// A batch taken with its bytes on disk (its segment is kept until it is released).
    disk: Option<OnDisk>,
    /// Whole items written since the last `next`.
    written: Tally,
    /// An item cut by a full stdout: its size and id, finished before anything else.
    cut: Option<(Tally, usize)>,
}

struct Model {
    q: Queue,
    /// `--keep K` (items whose id is a multiple of 3 hold a K), marks and dead letters on.
    keep: bool,
    /// `--spill` is on.
    spills: bool,
    /// Before which item of `out` a marker was written, and the gap it told.
    marks: Vec<(usize, u64)>,
    policy: Policy,
    bounds: Bounds,
    hand: Hand,
    next_id: usize,
    out: Vec<usize>,
    reader_waiting: bool,
    reader_done: bool,
    pressure: bool,
    ended: bool,
    /// What the writer was told to mark after the last item (`Next::Done`).
    trailing: u64,
}

impl Model {
    fn step(&mut self, op: Op) {
        match op {
            Op::Read(extras) => self.read(&extras),
            Op::Take(n, disk)
                if self.hand.batches.is_empty()
                    && self.hand.cut.is_none()
                    && self.hand.disk.is_none() =>
            {
                self.take(n, disk)
            }
            Op::Take(..) => {}
            Op::WriteAll => self.write_all(),
            Op::Stall(n, cut) => self.stall(n, cut),
            Op::Resume => {
                self.q.press(Press::Resumed);
                self.pressure = false;
            }
            Op::Throttle => {
                self.q.press(Press::Throttled);
                self.pressure = true;
            }
            Op::StopInput => self.q.stop_input(),
            Op::Abandon => self.abandon(),
            Op::CloseOutput => self.close_output(),
            Op::Pause(paused) => {
                let flow = if paused { Flow::Paused } else { Flow::Flowing };
                self.q.retune(|limits| limits.flow = flow);
            }
            Op::SetCap(items) => {
                self.q.retune(|limits| limits.bounds.items = items);
                // `block` holds the producer until the depth is under a lowered cap (with a
                // timeout it sheds once under pressure): it must not grow meanwhile.
                let depth = self.q.stats().depth.items as usize;
                self.bounds.items = match self.policy {
                    Policy::Shed(_) => items,
                    Policy::Block { .. } => items.max(depth.min(self.bounds.items)),
                };
            }
        }
    }

    /// The reader pushes a read of items with these extra lengths, or tries its parked read
    /// again.
    fn read(&mut self, extras: &[usize]) {
        if self.reader_done {
            return;
        }
        let result = if self.reader_waiting {
            self.q.retry()
        } else {
            let items: Vec<Vec<u8>> = extras
                .iter()
                .map(|&extra| {
                    let k = if self.keep && self.next_id.is_multiple_of(3) {
                        "K"
                    } else {
                        ""
                    };
                    let mut item = format!("{}:{k}", self.next_id).into_bytes();
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

    /// The writer comes for work and takes at most `n` items, or a batch on disk (`disk`).
    fn take(&mut self, n: usize, disk: bool) {
        let written = std::mem::take(&mut self.hand.written);
        match self.q.next(written, &mut self.hand.batches) {
            Next::Ready(_) => {
                self.pressure = false;
                let limit = Take {
                    items: n,
                    bytes: usize::MAX,
                    batches: 4,
                    split: true,
                    disk: if disk { Disk::Splice } else { Disk::Load },
                };
                if let Taken::Disk(d) = self.q.take(limit, &mut self.hand.batches) {
                    self.hand.disk = Some(d);
                }
            }
            Next::Empty => self.pressure = false,
            // As a full stdout: the writer presses, and waits.
            Next::Paused => {
                self.q.press(Press::Stalled);
                self.pressure = true;
            }
            Next::Done(gap) => {
                self.trailing += gap.items;
                self.ended = true;
            }
        }
    }

    /// Stdout takes everything in hand.
    fn write_all(&mut self) {
        self.load_disk();
        if let Some((item, id)) = self.hand.cut.take() {
            self.hand.written += item;
            self.out.push(id);
        }
        for batch in &mut self.hand.batches {
            self.hand.written += batch.tally();
            if !batch.gap.is_zero() {
                self.marks.push((self.out.len(), batch.gap.items));
                batch.gap = Tally::ZERO;
            }
            self.out.extend(batch.iter().map(id));
        }
        // Written batches stay in hand until the next `next` recycles them.
        self.hand.batches.retain(|_| false);
    }

    /// Stdout takes `n` items in hand, then is full `cut` bytes into the next.
    fn stall(&mut self, n: usize, cut: usize) {
        self.load_disk();
        if let Some((item, id)) = self.hand.cut.take() {
            self.hand.written += item;
            self.out.push(id);
        }
        let mut back = std::mem::take(&mut self.hand.batches);
        let mut left = n;
        while left > 0 && !back.is_empty() {
            let first = &mut back[0];
            if !first.gap.is_zero() {
                self.marks.push((self.out.len(), first.gap.items));
                first.gap = Tally::ZERO;
            }
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
                if !first.gap.is_zero() {
                    self.marks.push((self.out.len(), first.gap.items));
                    first.gap = Tally::ZERO;
                }
                let (whole, item) = first.remove_written(cut, &mut Vec::new());
                assert_eq!(whole, Tally::ZERO);
                self.hand.cut = item.map(|t| (t, cut_id));
                if first.is_empty() {
                    back.remove(0);
                }
            }
        }
        self.q.press(Press::Stalled);
        self.q.give_back(back.into_iter());
        self.pressure = true;
    }

    /// The queue is abandoned: the writer settles its hand, a cut item torn.
    fn abandon(&mut self) {
        // The writer is woken and settles its hand: a cut item is torn.
        self.q.abandon();
        self.load_disk();
        let mut lost = Tally::ZERO;
        for batch in self.hand.batches.drain(..) {
            lost += batch.tally();
        }
        let torn = self.hand.cut.take().map(|(item, _)| (item, 1));
        let written = std::mem::take(&mut self.hand.written);
        self.q.tell(Told::Settled {
            written,
            torn,
            lost,
        });
    }

    /// Stdout is gone: the writer settles its hand, and the queue is closed.
    fn close_output(&mut self) {
        self.load_disk();
        let mut lost = self.hand.cut.take().map(|c| c.0).unwrap_or_default();
        for batch in self.hand.batches.drain(..) {
            lost += batch.tally();
        }
        let written = std::mem::take(&mut self.hand.written);
        self.q.tell(Told::Settled {
            written,
            torn: None,
            lost,
        });
        self.q.close_output();
    }

    /// The writer looks at a batch it took on disk (to write it, or as the real writer does
    /// once stdout is full): loaded into memory, its segment released.
    fn load_disk(&mut self) {
        if let Some(mut disk) = self.hand.disk.take() {
            let batch = disk.load().expect("a spilled batch reads back");
            self.q.tell(Told::Released(disk));
            self.hand.batches.insert(0, batch);
        }
    }

    fn check(&self, before: &Stats, op: &Op) -> Result<(), TestCaseError> {
        let stats = self.q.stats();
        prop_assert!(stats.balanced(), "unbalanced after {op:?}: {stats:?}");
        // A cap lowered by an operator is met at once, pressure or not.
        if !self.pressure && !matches!(op, Op::Stall(..) | Op::Throttle | Op::SetCap(_)) {
            prop_assert_eq!(
                stats.dropped,
                before.dropped,
                "shed while the writer was ready: {:?}",
                op
            );
        }
        // Kept items the writer gave back may hold the queue over its bounds; a read brought
        // back from disk (at most 19 items of 16 bytes here) may too.
        let over = if self.spills { (19, 19 * 16) } else { (0, 0) };
        let sheds = match self.policy {
            Policy::Shed(shed) => shed,
            Policy::Block { timeout: None, .. } => Shed::Fail,
            Policy::Block { then, .. } => then,
        };
        if matches!(sheds, Shed::Drop | Shed::Slide) && !self.keep {
            let (items, bytes) = (self.bounds.items + over.0, self.bounds.bytes + over.1);
            prop_assert!(stats.depth.items as usize <= items, "{stats:?}");
            prop_assert!(stats.depth.bytes as usize <= bytes, "{stats:?}");
        }
        prop_assert!(stats.parked.items <= 20);
        Ok(())
    }
}

impl Model {
    /// No kept item shed; output and dead letters hold every item once; every gap marked.
    fn check_kept(&self, stats: &Stats, dead: &[u8], lifecycle: bool) -> Result<(), TestCaseError> {
        // Items have no delimiter: the dead letters are ids followed by ':' and filler.
        let mut shed = Vec::new();
        let mut rest = dead;
        while !rest.is_empty() {
            let n = rest.iter().take_while(|b| b.is_ascii_digit()).count();
            let item_id = id(rest);
            prop_assert!(rest.get(n + 1) != Some(&b'K'), "kept item {} shed", item_id);
            let len = rest[n..].iter().take_while(|b| !b.is_ascii_digit()).count();
            shed.push(item_id);
            rest = &rest[n + len..];
        }
        prop_assert_eq!(shed.len() as u64, stats.dead_lettered.items);
        prop_assert_eq!(stats.dead_lettered, stats.dropped);
        // A stop, a closed output or `fail` leaves items undelivered: gaps with no marker.
        if lifecycle || !stats.undelivered.is_zero() {
            return Ok(());
        }
        let mut all: Vec<usize> = self.out.iter().chain(&shed).copied().collect();
        all.sort_unstable();
        prop_assert_eq!(all, (0..self.next_id).collect::<Vec<_>>());
        let mut marks = self.marks.iter().peekable();
        let mut last: Option<usize> = None;
        for (i, &item) in self.out.iter().enumerate() {
            let gap = (item - last.map_or(0, |l| l + 1)) as u64;
            let mark = marks.next_if(|(at, _)| *at == i).map(|m| m.1);
            prop_assert_eq!(mark.unwrap_or(0), gap, "marker before item {}", item);
            last = Some(item);
        }
        prop_assert!(marks.next().is_none(), "a marker after the last item");
        let tail = (self.next_id - last.map_or(0, |l| l + 1)) as u64;
        prop_assert_eq!(self.trailing, tail);
        Ok(())
    }
}

fn dead_letter_path() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static CASE: AtomicUsize = AtomicUsize::new(0);
    let case = CASE.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("bpipe-model-{}-{case}", std::process::id()))
}

/// One case of the model: `ops`, then the end of input and a writer that takes everything.
fn run_case(
    ops: Vec<Op>,
    policy: Policy,
    (cap, cap_bytes): (usize, usize),
    keep: bool,
    spill_max: Option<u64>,
) -> Result<(), TestCaseError> {
    let bounds = Bounds {
        items: cap,
        bytes: cap_bytes,
    };
    let dead_path = dead_letter_path();
    let mut q = Queue::new(bounds, policy)
        .unwrap()
        .with_grace(std::time::Duration::ZERO);
    if keep {
        let marker = Marker::new(
            "{items}",
            ("item", "items"),
            policy.to_string(),
            None,
            b'\n',
        );
        q = q
            .with_keep(Some(Keep::new(&["K".into()], b'\n').unwrap()))
            .with_marks(Some(marker.unwrap()))
            .with_dead_letter(Some(DeadLetter::open(&dead_path, u64::MAX, None).unwrap()));
    }
    // A disk tier.
    let spill_dir = std::env::temp_dir();
    let spills = spill_max.is_some();
    if let Some(max) = spill_max.filter(|_| spills) {
        q = q.with_spill(Some(Spill::new(&spill_dir, max).unwrap()));
    }
    let mut m = Model {
        q,
        spills,
        keep,
        marks: Vec::new(),
        policy,
        bounds,
        hand: Hand::default(),
        next_id: 0,
        out: Vec::new(),
        reader_waiting: false,
        reader_done: false,
        pressure: false,
        ended: false,
        trailing: 0,
    };
    let lifecycle = ops
        .iter()
        .any(|op| matches!(op, Op::StopInput | Op::Abandon | Op::CloseOutput));
    for op in ops {
        let before = m.q.stats();
        m.step(op.clone());
        m.check(&before, &op)?;
    }
    // The end: input finishes, the writer flows, stdout drains, it takes everything.
    m.q.finish_input();
    m.step(Op::Pause(false));
    m.step(Op::Resume);
    for _ in 0..10_000 {
        if m.reader_waiting && !m.reader_done {
            m.step(Op::Read(Vec::new()));
        }
        m.step(Op::WriteAll);
        let before = m.q.stats();
        m.step(Op::Take(usize::MAX, true));
        m.check(&before, &Op::Take(usize::MAX, true))?;
        if m.ended {
            break;
        }
    }
    prop_assert!(m.ended, "the writer never finished");
    // As the program ends: the final counters (dead letters written).
    let stats = m.q.freeze();
    prop_assert!(stats.balanced(), "{stats:?}");
    prop_assert_eq!(
        stats.depth + stats.in_flight + stats.parked + stats.spilled,
        Tally::ZERO
    );
    prop_assert!(
        m.out.windows(2).all(|w| w[0] < w[1]),
        "out of order: {:?}",
        m.out
    );
    if keep {
        // Each kept item is counted spared once at most.
        let kept_in = (0..m.next_id).filter(|id| id % 3 == 0).count() as u64;
        prop_assert!(
            stats.kept <= kept_in,
            "{} spared of {}",
            stats.kept,
            kept_in
        );
        let dead = std::fs::read(&dead_path).unwrap();
        let _ = std::fs::remove_file(&dead_path);
        m.check_kept(&stats, &dead, lifecycle)?;
    }
    if !lifecycle {
        prop_assert_eq!(stats.output.items as usize, m.out.len());
        if policy == Policy::BLOCK {
            prop_assert_eq!(
                &m.out,
                &(0..m.next_id).collect::<Vec<_>>(),
                "block lost items"
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    #[test]
    fn any_interleaving_keeps_the_invariants(
        ops in proptest::collection::vec(op(), 1..80),
        policy in policies(),
        cap in 1usize..12,
        cap_bytes in 16usize..200,
        keep in any::<bool>(),
        spill_max in prop_oneof![Just(None), (64u64..2000).prop_map(Some)],
    ) {
        run_case(ops, policy, (cap, cap_bytes), keep, spill_max)?;
    }
}

/// Found by the model: a kept item at the front of a read that waited, counted spared then,
/// was queued inside a batch queued whole (or taken by the writer and given back), and
/// counted spared again when `drop` looked at that batch (5 spared of 4 kept).
#[test]
fn a_kept_front_counted_while_it_waited_is_not_counted_again() {
    use Op::*;
    let ops = vec![
        Read(vec![5, 6, 10, 5]),
        Stall(0, 0),
        Read(vec![0, 0, 5, 0, 0]),
        Read(vec![3, 0, 0, 10, 7, 8, 5]),
        Take(2, false),
        Throttle,
        Read(vec![0]),
    ];
    run_case(ops, Policy::Shed(Shed::Drop), (6, 28), true, None).unwrap();
    let ops = vec![
        Stall(0, 0),
        Read(vec![0, 0, 0, 5, 0, 0, 5, 0, 0, 8]),
        Take(4, false),
        Stall(0, 0),
        Read(vec![0]),
    ];
    run_case(ops, Policy::Shed(Shed::Drop), (4, 21), true, None).unwrap();
}
