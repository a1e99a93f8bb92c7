//! `--key-json NAME`: the value of a top-level string field of a JSON object, found by
//! reading only as far as that field (values before it are skipped, not parsed). Anything
//! that is not such an object, or whose field is not a string, has no key.

/// The bytes between the quotes of `name`'s value in `item` (escapes kept as written), if
/// `item` is an object with that field and its value is a string.
pub fn string_field<'a>(item: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    let mut at = Cursor {
        bytes: item,
        pos: 0,
    };
    at.blanks();
    at.eat(b'{')?;
    loop {
        at.blanks();
        let field = at.string()?;
        at.blanks();
        at.eat(b':')?;
        at.blanks();
        if field == name {
            return at.string();
        }
        at.value()?;
        at.blanks();
        match at.next()? {
            b',' => {}
            _ => return None,
        }
    }
}

struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn next(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    fn eat(&mut self, want: u8) -> Option<()> {
        (self.next()? == want).then_some(())
    }

    fn blanks(&mut self) {
        while matches!(self.bytes.get(self.pos), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.pos += 1;
        }
    }

    /// A string, its opening quote next: its bytes between the quotes.
    fn string(&mut self) -> Option<&'a [u8]> {
        self.eat(b'"')?;
        let from = self.pos;
        loop {
            match self.next()? {
                b'"' => return Some(&self.bytes[from..self.pos - 1]),
                b'\\' => {
                    self.next()?;
                }
                _ => {}
            }
        }
    }

    /// Skips one value: a string, or anything up to the `,` or closing bracket that ends
    /// it at this depth (brackets inside strings do not count).
    fn value(&mut self) -> Option<()> {
        let mut depth = 0usize;
        loop {
            match *self.bytes.get(self.pos)? {
                b'"' => {
                    self.string()?;
                    continue;
                }
                b'{' | b'[' => depth += 1,
                b'}' | b']' if depth == 0 => return Some(()),
                b'}' | b']' => depth -= 1,
                b',' if depth == 0 => return Some(()),
                _ => {}
            }
            self.pos += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::string_field;

    fn field(item: &str, name: &str) -> Option<String> {
        string_field(item.as_bytes(), name.as_bytes())
            .map(|v| String::from_utf8_lossy(v).into_owned())
    }

    #[test]
    fn a_top_level_string_field_is_found_past_other_values() {
        let item = r#" {"a": [1, {"svc": "no"}], "b": "x,}\"", "svc" : "api", "c": 1}"#;
        assert_eq!(field(item, "svc").as_deref(), Some("api"));
        assert_eq!(
            field(r#"{"svc":"a\"b"}"#, "svc").as_deref(),
            Some(r#"a\"b"#)
        );
    }

    #[test]
    fn anything_else_has_no_key() {
        for item in [
            r#"{"svc": 42}"#,
            r#"{"svc": null}"#,
            r#"{"other": "x"}"#,
            r#"["svc", "x"]"#,
            r#"{"a": {"svc": "nested"}}"#,
            r#"{"svc" "x"}"#,
            r#"{"svc": "unterminated"#,
            "",
            "not json",
            "{",
        ] {
            assert_eq!(field(item, "svc"), None, "{item}");
        }
    }
}
