//! The flags of keys: what an item's key is, and what is done per key.

use clap::{Args as ClapArgs, ValueHint};

use crate::values::rate::Rate;
use crate::values::units::parse_count;

#[derive(Debug, ClapArgs)]
pub struct KeyArgs {
    /// Each item's key is the first capture group of the first match of PATTERN (a regex
    /// run on the item's bytes without its delimiter), or the whole match if it has no
    /// group, e.g. '^(\S+)' or 'service=(\w+)'. An item with no match has the key '-'.
    /// Keys are cut to 64 bytes. Not with --chunk.
    #[arg(
        help = "Each item's key: the first group of PATTERN, e.g. 'service=(\\w+)'",
        long,
        value_name = "PATTERN",
        value_hint = ValueHint::Other,
        group = "key_source",
        help_heading = "Keys"
    )]
    pub key: Option<String>,

    /// Each item's key is its Nth field (from 1, as in cut and awk), fields separated by
    /// runs of blanks or by --field-sep. An item with fewer fields has the key '-'.
    #[arg(
        help = "Each item's key: its Nth field (from 1), e.g. 1",
        long,
        value_name = "N",
        value_parser = parse_field,
        group = "key_source",
        help_heading = "Keys"
    )]
    pub key_field: Option<u32>,

    /// With --key-field: one character that ends each field (as cut -d does), e.g. ',' or
    /// '\t' for a tab [default: runs of spaces and tabs, as awk does].
    #[arg(
        long,
        value_name = "CHAR",
        value_hint = ValueHint::Other,
        help_heading = "Keys"
    )]
    pub field_sep: Option<String>,

    /// Each item's key is the string value of top-level field NAME of a JSON object (JSON
    /// Lines), read only as far as that field, escapes kept as written. An item that is not
    /// an object, lacks the field, or whose value is not a string has the key '-'.
    #[arg(
        help = "Each item's key: the string field NAME of a JSON object, e.g. service",
        long,
        value_name = "NAME",
        value_hint = ValueHint::Other,
        group = "key_source",
        help_heading = "Keys"
    )]
    pub key_json: Option<String>,

    /// Most items or bytes of one key per period (the forms of --rate): an item over its
    /// key's rate is shed at once, never holding the producer or other keys; counted
    /// dropped, and apart as limited, on its key.
    #[arg(
        help = "Most items or bytes of one key per period, e.g. 100/s; the rest is shed",
        long,
        value_name = "RATE",
        value_parser = Rate::parse,
        value_hint = ValueHint::Other,
        help_heading = "Keys"
    )]
    pub rate_per_key: Option<Rate>,

    /// How much of one key may come at once after a quiet spell [default: one period's
    /// worth of --rate-per-key].
    #[arg(
        long,
        value_name = "N|SIZE",
        value_hint = ValueHint::Other,
        help_heading = "Keys"
    )]
    pub burst_per_key: Option<String>,

    /// When the policy sheds, shed from the key holding the most bytes: slide sheds its
    /// oldest item, drop the incoming item if it is that key's, else that key's newest. A
    /// quiet key keeps its items while a firehose pays. --keep still wins.
    #[arg(long, help_heading = "Keys")]
    pub fair: bool,

    /// Most keys tracked; past that, the least recently seen key is folded into 'other'
    /// [default: 10k].
    #[arg(
        long,
        value_name = "N",
        value_parser = parse_count,
        value_hint = ValueHint::Other,
        help_heading = "Keys"
    )]
    pub max_keys: Option<u64>,

    /// How many keys records name, those that lost the most first (Prometheus labels too)
    /// [default: 10].
    #[arg(
        long,
        value_name = "N",
        value_parser = parse_count,
        value_hint = ValueHint::Other,
        help_heading = "Keys"
    )]
    pub top_keys: Option<u64>,
}

/// `--key-field N`: a field number from 1.
fn parse_field(text: &str) -> Result<u32, String> {
    match text.trim().parse::<u32>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!(
            "expected a field number from 1 (as cut -f and awk's $N count), e.g. 1; got '{text}'"
        )),
    }
}
