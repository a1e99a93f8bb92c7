//! What an item's key is: `--key REGEX`, `--key-field N` (with `--field-sep`) or
//! `--key-json NAME`. A key is a slice of the item's bytes (no copy, no decoding), cut to
//! [`MAX_KEY`] bytes; an item with none has the key [`NO_KEY`].

use std::fmt;

use regex::bytes::Regex;

/// The longest key kept: longer keys are cut here, so that what a key costs is bounded.
pub const MAX_KEY: usize = 64;

/// The key of items that have none: no match, no such field, not a JSON string.
pub const NO_KEY: &[u8] = b"-";

/// How fields are separated for `--key-field`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sep {
    /// Runs of spaces and tabs, leading ones ignored (as `awk` does).
    Blanks,
    /// One byte: each one ends a field (as `cut -d` does).
    Byte(u8),
}

/// Where the key is found in an item.
#[derive(Clone)]
pub enum KeySpec {
    /// The first capture group of the first match, or the whole match if it has none.
    Regex(Regex),
    /// The `n`th field (1-based).
    Field { n: usize, sep: Sep },
    /// The value of a top-level string field of a JSON object, as written (escapes kept).
    Json(Box<[u8]>),
}

impl KeySpec {
    /// `--key PATTERN`; an error says what is wrong on one line.
    pub fn regex(pattern: &str) -> Result<KeySpec, String> {
        let regex = Regex::new(pattern).map_err(|e| {
            let text = e.to_string();
            let last = text.lines().rev().find(|l| !l.trim().is_empty());
            format!(
                "--key '{pattern}': {}",
                last.unwrap_or("").trim().trim_start_matches("error: ")
            )
        })?;
        Ok(KeySpec::Regex(regex))
    }

    /// The key of `item` (its delimiter, `delim`, left out), at most [`MAX_KEY`] bytes.
    pub fn key<'a>(&self, item: &'a [u8], delim: u8) -> &'a [u8] {
        let item = item.strip_suffix(&[delim]).unwrap_or(item);
        let key = match self {
            KeySpec::Regex(regex) => regex.captures(item).and_then(|c| {
                let group = c.get(1).or_else(|| c.get(0))?;
                Some(group.as_bytes())
            }),
            KeySpec::Field { n, sep } => field(item, *n, *sep),
            KeySpec::Json(name) => super::json::string_field(item, name),
        };
        match key {
            Some(key) if !key.is_empty() => cut(key),
            _ => NO_KEY,
        }
    }
}

/// `key` cut to [`MAX_KEY`] bytes, at a character's start where it is UTF-8 there (a cut
/// never leaves half a character; bytes that are not UTF-8 are cut where they fall).
fn cut(key: &[u8]) -> &[u8] {
    if key.len() <= MAX_KEY {
        return key;
    }
    let continuation = |b: u8| b & 0xC0 == 0x80;
    let at = (MAX_KEY - 3..=MAX_KEY)
        .rev()
        .find(|&i| !continuation(key[i]))
        .unwrap_or(MAX_KEY);
    &key[..at]
}

/// The `n`th field of `item` (1-based); `None` past the last.
fn field(item: &[u8], n: usize, sep: Sep) -> Option<&[u8]> {
    let skip = n.checked_sub(1)?;
    match sep {
        Sep::Byte(b) => {
            let (mut from, mut found) = (0, 0);
            for end in memchr::memchr_iter(b, item).take(skip) {
                (from, found) = (end + 1, found + 1);
            }
            if found < skip {
                return None;
            }
            let rest = &item[from..];
            Some(&rest[..memchr::memchr(b, rest).unwrap_or(rest.len())])
        }
        Sep::Blanks => {
            let mut rest = item;
            for i in 0..=skip {
                let start = rest.iter().position(|&c| c != b' ' && c != b'\t')?;
                rest = &rest[start..];
                let end = memchr::memchr2(b' ', b'\t', rest).unwrap_or(rest.len());
                if i == skip {
                    return Some(&rest[..end]);
                }
                rest = &rest[end..];
            }
            None
        }
    }
}

impl PartialEq for KeySpec {
    fn eq(&self, other: &KeySpec) -> bool {
        match (self, other) {
            (KeySpec::Regex(a), KeySpec::Regex(b)) => a.as_str() == b.as_str(),
            (KeySpec::Field { n, sep }, KeySpec::Field { n: m, sep: s }) => n == m && sep == s,
            (KeySpec::Json(a), KeySpec::Json(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for KeySpec {}

impl fmt::Debug for KeySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySpec::Regex(regex) => f.debug_tuple("Regex").field(&regex.as_str()).finish(),
            KeySpec::Field { n, sep } => f
                .debug_struct("Field")
                .field("n", n)
                .field("sep", sep)
                .finish(),
            KeySpec::Json(name) => f
                .debug_tuple("Json")
                .field(&String::from_utf8_lossy(name))
                .finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(spec: &KeySpec, item: &str) -> String {
        String::from_utf8_lossy(spec.key(item.as_bytes(), b'\n')).into_owned()
    }

    #[test]
    fn fields_are_counted_from_one_as_awk_and_cut_do() {
        let blanks = KeySpec::Field {
            n: 2,
            sep: Sep::Blanks,
        };
        assert_eq!(key(&blanks, "  web\t api  x\n"), "api");
        assert_eq!(key(&blanks, "web\n"), "-");
        let comma = KeySpec::Field {
            n: 2,
            sep: Sep::Byte(b','),
        };
        assert_eq!(key(&comma, "a,,c\n"), "-", "an empty field is no key");
        assert_eq!(key(&comma, "a,b,c\n"), "b");
        assert_eq!(
            key(
                &KeySpec::Field {
                    n: 1,
                    sep: Sep::Blanks
                },
                "\n"
            ),
            "-"
        );
    }

    #[test]
    fn a_regex_key_is_its_first_group_or_its_match() {
        let group = KeySpec::regex(r"service=(\w+)").unwrap();
        assert_eq!(key(&group, "at=1 service=db x\n"), "db");
        assert_eq!(key(&group, "nothing here\n"), "-");
        let whole = KeySpec::regex(r"^\S+").unwrap();
        assert_eq!(key(&whole, "web: hello\n"), "web:");
        let optional = KeySpec::regex(r"x(y)?").unwrap();
        assert_eq!(
            key(&optional, "x\n"),
            "x",
            "an unmatched group gives the match"
        );
        assert!(KeySpec::regex("(").unwrap_err().starts_with("--key '(': "));
    }

    #[test]
    fn keys_are_cut_to_the_longest_kept_and_need_not_be_utf8() {
        let spec = KeySpec::Field {
            n: 1,
            sep: Sep::Blanks,
        };
        let long = "k".repeat(200);
        assert_eq!(key(&spec, &long).len(), MAX_KEY);
        assert_eq!(spec.key(b"\xff\xfe rest\n", b'\n'), b"\xff\xfe");
        let wide = format!("a{}", "é".repeat(40));
        let cut = spec.key(wide.as_bytes(), b'\n');
        assert!(
            std::str::from_utf8(cut).is_ok() && cut.len() == 63,
            "{cut:?}"
        );
    }
}
