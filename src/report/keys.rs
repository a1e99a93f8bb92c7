//! Keys in records: how many are tracked and folded, and the keys that lost the most, in
//! text, JSON and Prometheus (the top keys only: the labels are bounded).

use std::fmt::Write as _;

use serde_json::{Value as Json, json};

use crate::keys::{Counts, KeyFigures, KeyRow};

/// How many keys a text record names.
const TEXT_TOP: usize = 3;

/// A key as text: escapes for what is not printable or not UTF-8.
pub fn name(row: &KeyRow) -> String {
    super::printable(&String::from_utf8_lossy(&row.key))
}

/// `keys 2, most dropped: api 980 of 1000 lines (12 over rate)`: three keys at most.
pub fn text_part(keys: &KeyFigures, noun: &str) -> String {
    let mut part = format!("keys {}", keys.tracked);
    if keys.folded > 0 {
        let _ = write!(part, " ({} folded into other)", keys.folded);
    }
    let shown: Vec<String> = keys
        .top
        .iter()
        .filter(|row| row.counts.dropped.items > 0)
        .take(TEXT_TOP)
        .map(|row| {
            let c = &row.counts;
            let mut one = format!(
                "{} {} of {} {noun}",
                name(row),
                c.dropped.items,
                c.input.items
            );
            if c.limited.items > 0 {
                let _ = write!(one, " ({} over rate)", c.limited.items);
            }
            one
        })
        .collect();
    if !shown.is_empty() {
        let _ = write!(part, ", most dropped: {}", shown.join("; "));
    }
    part
}

/// `keys_tracked`, `keys_folded` and `keys`: each top key's books.
pub fn json_part(keys: &KeyFigures, record: &mut serde_json::Map<String, Json>) {
    record.insert("keys_tracked".into(), keys.tracked.into());
    record.insert("keys_folded".into(), keys.folded.into());
    let rows = keys.top.iter().map(|row| {
        let c = &row.counts;
        json!({
            "key": name(row),
            "in_items": c.input.items,
            "in_bytes": c.input.bytes,
            "out_items": c.output.items,
            "out_bytes": c.output.bytes,
            "dropped_items": c.dropped.items,
            "dropped_bytes": c.dropped.bytes,
            "limited_items": c.limited.items,
            "undelivered_items": c.held().items,
        })
    });
    record.insert("keys".into(), Json::Array(rows.collect()));
    let rest = &keys.rest;
    record.insert(
        "keys_rest".into(),
        json!({
            "in_items": rest.input.items,
            "out_items": rest.output.items,
            "dropped_items": rest.dropped.items,
            "limited_items": rest.limited.items,
            "undelivered_items": rest.held().items,
        }),
    );
}

/// A per-key family: name, kind, help, and how to read it from a key's counts.
pub type KeyFamily = (&'static str, &'static str, &'static str, fn(&Counts) -> u64);

/// The per-key families, for the top keys only.
pub const FAMILIES: [KeyFamily; 4] = [
    (
        "bpipe_key_in_items_total",
        "counter",
        "Items read, by key (the keys that lost the most only).",
        |c| c.input.items,
    ),
    (
        "bpipe_key_out_items_total",
        "counter",
        "Items written whole, by key (the keys that lost the most only).",
        |c| c.output.items,
    ),
    (
        "bpipe_key_dropped_items_total",
        "counter",
        "Items shed, by key (the keys that lost the most only).",
        |c| c.dropped.items,
    ),
    (
        "bpipe_key_limited_items_total",
        "counter",
        "Of the items shed, those over their key's --rate-per-key.",
        |c| c.limited.items,
    ),
];

/// `key="..."`, escaped for a Prometheus label.
pub fn label(row: &KeyRow) -> String {
    let escaped = String::from_utf8_lossy(&row.key)
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n");
    format!("key=\"{escaped}\"")
}
