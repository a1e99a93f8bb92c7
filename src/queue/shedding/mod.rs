//! Shedding: what the policy acts with when an item must go. The policy itself and the
//! `--keep` patterns (the queue's rules), shedding item by item ([`shed`]), the
//! `--dead-letter` file shed items go to, and the `--mark-drops` markers the writer writes
//! where items were shed, with where the input stands for both.

pub mod dead_letter;
pub mod keep;
pub mod marker;
pub mod policy;
mod shed;

pub(super) use self::shed::{Side, Why};

use self::dead_letter::DeadLetter;
use crate::books::ledger::Ledger;
use crate::books::tally::Tally;

#[derive(Debug)]
pub(super) struct Shedding {
    /// `--dead-letter`: where shed items go.
    pub(super) dead: Option<DeadLetter>,
    /// Where the input stands after the last item taken by the writer: the next batch
    /// taken should start there, or there is a gap (`--mark-drops`).
    pub(super) taken_to: Tally,
}

impl Shedding {
    pub(super) fn new() -> Shedding {
        Shedding {
            dead: None,
            taken_to: Tally::ZERO,
        }
    }

    /// Writes the dead letters gathered: when the writer catches up or finishes, and at the
    /// end (a buffer's worth is written as soon as it gathers).
    pub(super) fn flush_dead(&mut self, books: &mut Ledger) {
        if let Some(dead) = self.dead.as_mut().filter(|d| d.has_some()) {
            books.dead_letter(dead.flush());
        }
    }

    /// What `--dead-letter` must tell the user (a write error, its limit), once.
    pub(super) fn dead_letter_notice(&mut self) -> Option<String> {
        self.dead.as_mut().and_then(|d| d.take_notice())
    }
}
