//! Keys: what source an item comes from (`--key`, `--key-field`, `--key-json`), and per key
//! the books, a `--rate-per-key` bucket, and which key holds the most (`--fair`). Below the
//! queue: the queue owns one [`Keys`] under its lock and tells it of every item that comes,
//! goes out or is shed.

mod bucket;
mod json;
pub mod spec;
mod table;

use std::sync::Arc;
use std::time::Instant;

use crate::books::tally::Tally;
use crate::values::rate::Rate;

pub use self::spec::{KeySpec, Sep};
pub use self::table::Admit;
use self::table::Ask;
use self::table::Table;

/// The name of what folded keys counted.
pub const OTHER: &[u8] = b"other";

/// What keys are, and what is kept per key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRules {
    pub spec: KeySpec,
    /// The items' delimiter, left out of what is looked at.
    pub delim: u8,
    /// `--max-keys`.
    pub max: usize,
    /// `--top-keys`: how many keys records name.
    pub top: usize,
    /// `--rate-per-key` and `--burst-per-key`.
    pub rate: Option<(Rate, u64)>,
    pub fairness: Fairness,
}

/// Whether the policy sheds from the key holding the most.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fairness {
    /// Oldest or newest of all, as without keys.
    Off,
    /// `--fair`: from the key holding the most bytes.
    Heaviest,
}

/// One key's books: `input = output + dropped + undelivered` once nothing is held.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub input: Tally,
    pub output: Tally,
    pub dropped: Tally,
    /// Of `dropped`: over the key's rate.
    pub limited: Tally,
}

impl Counts {
    /// What came and is neither out nor shed: held now, undelivered at the end.
    pub fn held(&self) -> Tally {
        self.input.beyond(self.output).beyond(self.dropped)
    }

    pub(crate) fn add(&mut self, other: &Counts) {
        self.input += other.input;
        self.output += other.output;
        self.dropped += other.dropped;
        self.limited += other.limited;
    }
}

/// One key in a record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRow {
    pub key: Vec<u8>,
    pub counts: Counts,
}

/// What records say of keys.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyFigures {
    /// The `--top-keys` keys by items dropped.
    pub top: Vec<KeyRow>,
    /// Every other key's counts summed (`other` included when not named): with `top`, the
    /// whole.
    pub rest: Counts,
    pub tracked: u64,
    pub folded: u64,
}

/// The keys of a run: the rules and the table.
#[derive(Debug)]
pub struct Keys {
    rules: KeyRules,
    table: Table,
}

impl Keys {
    pub fn new(rules: KeyRules) -> Keys {
        Keys {
            table: Table::new(rules.max, rules.rate),
            rules,
        }
    }

    pub fn rules(&self) -> &KeyRules {
        &self.rules
    }

    /// The key of `item` (with its delimiter).
    pub fn key_of<'a>(&self, item: &'a [u8]) -> &'a [u8] {
        self.rules.spec.key(item, self.rules.delim)
    }

    /// Whether `item`, arriving at `now`, is within its key's rate (its tokens taken if so).
    /// Not counted in: [`Keys::count_in`] does that where the books admit it.
    pub fn ask(&mut self, item: &[u8], now: Instant) -> Admit {
        let key = self.rules.spec.key(item, self.rules.delim);
        self.table
            .arrive(key, Tally::one(item.len()), now, Ask::Bucket)
    }

    /// `item` is counted in on its key (the books in all admit it at the same time).
    pub fn count_in(&mut self, item: &[u8], now: Instant) {
        let key = self.rules.spec.key(item, self.rules.delim);
        self.table
            .arrive(key, Tally::one(item.len()), now, Ask::Count);
    }

    /// Over-long items the reader shed before they were items (`--max-line`): on the key
    /// [`spec::NO_KEY`], in and dropped.
    pub fn overlong(&mut self, gone: Tally, now: Instant) {
        self.table.arrive(spec::NO_KEY, gone, now, Ask::Count);
        self.table.shed(spec::NO_KEY, gone, false);
    }

    /// `item` was delivered.
    pub fn deliver(&mut self, item: &[u8]) {
        let key = self.rules.spec.key(item, self.rules.delim);
        self.table.deliver(key, Tally::one(item.len()));
    }

    /// `item` was shed (`limited`: for its key's rate).
    pub fn shed(&mut self, item: &[u8], limited: bool) {
        let key = self.rules.spec.key(item, self.rules.delim);
        self.table.shed(key, Tally::one(item.len()), limited);
    }

    /// The key holding the most bytes now (see `Table::heaviest`).
    pub fn heaviest(&mut self) -> Option<Arc<[u8]>> {
        self.table.heaviest()
    }

    pub fn figures(&self) -> KeyFigures {
        self.table.figures(self.rules.top)
    }
}
