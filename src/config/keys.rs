//! The key settings: `--key`, `--key-field` and `--field-sep`, `--key-json`,
//! `--rate-per-key` and `--burst-per-key`, `--fair`, `--max-keys`.

use super::flags::{burst_of, usage};
use crate::cli::Args;
use crate::cli::keys::KeyArgs;
use crate::error::Error;
use crate::keys::{Fairness, KeyRules, KeySpec, Sep};
use crate::queue::policy::Policy;

/// Most `--max-keys`: what a key costs times this stays under a GiB.
const MAX_MAX_KEYS: u64 = 1_000_000;
/// Most `--top-keys`: a record names at most this many keys.
const MAX_TOP_KEYS: u64 = 1_000;
const DEFAULT_MAX_KEYS: u64 = 10_000;
const DEFAULT_TOP_KEYS: u64 = 10;

/// The key rules, if a key was given; `delim` is the items' delimiter (`None` for chunks).
pub(super) fn keys(
    args: &Args,
    delim: Option<u8>,
    policy: Policy,
) -> Result<Option<KeyRules>, Error> {
    let k = &args.keys;
    if k.field_sep.is_some() && k.key_field.is_none() {
        return usage(
            "--field-sep separates the fields of --key-field: e.g. --key-field 2 --field-sep ,",
        );
    }
    let Some(spec) = spec(k)? else {
        return no_key(k);
    };
    let Some(delim) = delim else {
        return usage(
            "keys are read from lines or records, not --chunk chunks: drop --chunk, \
                      e.g. --key-field 1",
        );
    };
    if args.spill.is_some() {
        return usage("--spill does not go with keys yet: drop --spill, or the key flags");
    }
    if k.fair && !policy.can_shed() {
        return usage(format!(
            "--fair chooses what to shed, but {} never sheds: use --policy slide or drop, \
             e.g. --policy slide --fair",
            policy.flags()
        ));
    }
    let max = k.max_keys.unwrap_or(DEFAULT_MAX_KEYS);
    let top = k.top_keys.unwrap_or(DEFAULT_TOP_KEYS);
    for (value, flag, most, example) in [
        (max, "--max-keys", MAX_MAX_KEYS, "10k"),
        (top, "--top-keys", MAX_TOP_KEYS, "20"),
    ] {
        if value == 0 || value > most {
            return usage(format!(
                "{flag} must be from 1 to {most}, e.g. {flag} {example}; got {value}"
            ));
        }
    }
    let rate = match (k.rate_per_key, k.burst_per_key.as_deref()) {
        (None, Some(_)) => {
            return usage(
                "--burst-per-key is the burst of --rate-per-key: e.g. --rate-per-key 100/s --burst-per-key 500",
            );
        }
        (None, None) => None,
        (Some(rate), None) => Some((rate, rate.amount)),
        (Some(rate), Some(text)) => Some((
            rate,
            burst_of(("--burst-per-key", "--rate-per-key"), rate, text)?,
        )),
    };
    Ok(Some(KeyRules {
        spec,
        delim,
        max: max as usize,
        top: top as usize,
        rate,
        fairness: match k.fair {
            true => Fairness::Heaviest,
            false => Fairness::Off,
        },
    }))
}

/// What an item's key is, if a key flag was given.
fn spec(k: &KeyArgs) -> Result<Option<KeySpec>, Error> {
    Ok(Some(match (&k.key, k.key_field, &k.key_json) {
        (Some(pattern), _, _) => KeySpec::regex(pattern).map_err(Error::Usage)?,
        (_, Some(n), _) => KeySpec::Field {
            n: n as usize,
            sep: field_sep(k.field_sep.as_deref())?,
        },
        (_, _, Some(name)) if name.is_empty() || name.contains(['"', '\\']) => {
            return usage(format!(
                "--key-json takes a field name without quotes or backslashes, e.g. \
                 --key-json service; got '{name}'"
            ));
        }
        (_, _, Some(name)) => KeySpec::Json(name.as_bytes().into()),
        (None, None, None) => return Ok(None),
    }))
}

/// No key: a flag that works by key is refused.
fn no_key(k: &KeyArgs) -> Result<Option<KeyRules>, Error> {
    let per_key = [
        (k.rate_per_key.is_some(), "--rate-per-key"),
        (k.fair, "--fair"),
        (k.max_keys.is_some(), "--max-keys"),
        (k.top_keys.is_some(), "--top-keys"),
    ];
    match per_key.iter().find(|(given, _)| *given) {
        Some((_, flag)) => usage(format!(
            "{flag} works by key: say what an item's key is with --key-field N, \
             --key PATTERN or --key-json NAME, e.g. --key-field 1"
        )),
        None => Ok(None),
    }
}

/// `--field-sep CHAR`: one byte (`\t` for a tab); none means runs of blanks.
fn field_sep(text: Option<&str>) -> Result<Sep, Error> {
    match text {
        None => Ok(Sep::Blanks),
        Some("\\t") => Ok(Sep::Byte(b'\t')),
        Some(text) if text.len() == 1 => Ok(Sep::Byte(text.as_bytes()[0])),
        Some(text) => usage(format!(
            "--field-sep takes one character, e.g. --field-sep , or --field-sep '\\t'; got '{text}'"
        )),
    }
}
