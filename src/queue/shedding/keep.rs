//! `--keep PATTERN`: items a policy never sheds. Patterns are matched only when something
//! must be shed, against the item without its delimiter, with the `regex` crate's bytes API
//! (input need not be UTF-8).

use std::fmt;

use regex::bytes::RegexSet;

/// The patterns of `--keep`, compiled into one set.
#[derive(Clone)]
pub struct Keep {
    patterns: Vec<String>,
    set: RegexSet,
    /// The items' delimiter, left out of what is matched.
    delim: u8,
}

impl Keep {
    /// Compiles `patterns`; an error names the pattern and says what is wrong with it, on
    /// one line.
    pub fn new(patterns: &[String], delim: u8) -> Result<Keep, String> {
        for pattern in patterns {
            if let Err(e) = regex::bytes::Regex::new(pattern) {
                return Err(format!("--keep '{pattern}': {}", one_line(&e)));
            }
        }
        let set = RegexSet::new(patterns).map_err(|e| format!("--keep: {}", one_line(&e)))?;
        Ok(Keep {
            patterns: patterns.to_vec(),
            set,
            delim,
        })
    }

    /// Whether `item` (with its delimiter, if it has one) matches a pattern.
    pub fn spares(&self, item: &[u8]) -> bool {
        let item = item.strip_suffix(&[self.delim]).unwrap_or(item);
        self.set.is_match(item)
    }
}

/// A regex error, whose text spans several lines (the pattern, a caret, the error), as the
/// last line's message alone: `unclosed group`.
fn one_line(error: &regex::Error) -> String {
    let text = error.to_string();
    let last = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    last.trim().trim_start_matches("error: ").to_string()
}

impl fmt::Debug for Keep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Keep").field(&self.patterns).finish()
    }
}

impl PartialEq for Keep {
    fn eq(&self, other: &Keep) -> bool {
        self.patterns == other.patterns && self.delim == other.delim
    }
}

impl Eq for Keep {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_pattern_spares_an_item_and_the_delimiter_is_not_matched() {
        let keep = Keep::new(&["ERROR".into(), "^FATAL$".into()], b'\n').unwrap();
        assert!(keep.spares(b"x ERROR y\n"));
        assert!(keep.spares(b"FATAL\n"));
        assert!(!keep.spares(b"INFO\n"));
        // Bytes that are not UTF-8 are matched all the same.
        assert!(keep.spares(b"\xff\xfeERROR\n"));
    }

    #[test]
    fn a_bad_pattern_is_named_with_the_error_on_one_line() {
        let e = Keep::new(&["ok".into(), "(".into()], b'\n').unwrap_err();
        assert_eq!(e, "--keep '(': unclosed group");
    }
}
