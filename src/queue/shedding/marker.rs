//! `--mark-drops[=TEMPLATE]`: the line written where items were shed, e.g.
//! `bpipe: 1532 lines (180.2 KiB) dropped here (slide)`.

use bytesize::ByteSize;

use crate::books::tally::Tally;

/// The default template.
pub const DEFAULT: &str = "bpipe: {items} {unit} ({bytes}) dropped here ({policy})";

/// What a template may say.
const PLACES: [&str; 5] = ["{items}", "{unit}", "{bytes}", "{policy}", "{name}"];

/// A checked template and what it fills in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Marker {
    template: String,
    /// The item's name, singular and plural: `line`, `lines`.
    unit: (&'static str, &'static str),
    policy: String,
    name: String,
    delim: u8,
}

impl Marker {
    /// Checks `template`: only known placeholders, and no delimiter (a marker is one line).
    pub fn new(
        template: &str,
        unit: (&'static str, &'static str),
        policy: String,
        name: Option<&str>,
        delim: u8,
    ) -> Result<Marker, String> {
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            let place = &rest[open..];
            match PLACES.iter().find(|p| place.starts_with(*p)) {
                Some(p) => rest = &place[p.len()..],
                None => {
                    return Err(format!(
                        "--mark-drops: unknown placeholder in '{template}'; use {}",
                        PLACES.join(", ")
                    ));
                }
            }
        }
        if template.trim().is_empty() {
            return Err(
                "--mark-drops: an empty marker cannot be told from an empty line; \
                 e.g. --mark-drops='# {items} {unit} dropped'"
                    .into(),
            );
        }
        if template.as_bytes().contains(&delim) {
            return Err(format!(
                "--mark-drops: a marker is one item: the template may not hold the delimiter \
                 ({})",
                if delim == 0 { "NUL" } else { "newline" }
            ));
        }
        Ok(Marker {
            template: template.to_string(),
            unit,
            policy,
            name: name.unwrap_or("").to_string(),
            delim,
        })
    }

    /// Appends the marker for `gap`, terminated like the items, to `out`.
    pub fn render(&self, gap: Tally, out: &mut Vec<u8>) {
        let unit = if gap.items == 1 {
            self.unit.0
        } else {
            self.unit.1
        };
        let text = self
            .template
            .replace("{items}", &gap.items.to_string())
            .replace("{unit}", unit)
            .replace("{bytes}", &ByteSize(gap.bytes).display().iec().to_string())
            .replace("{policy}", &self.policy)
            .replace("{name}", &self.name);
        out.extend_from_slice(text.as_bytes());
        out.push(self.delim);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marker(template: &str) -> Result<Marker, String> {
        Marker::new(
            template,
            ("line", "lines"),
            "slide".into(),
            Some("web"),
            b'\n',
        )
    }

    #[test]
    fn the_default_names_count_size_and_policy() {
        let mut out = Vec::new();
        marker(DEFAULT)
            .unwrap()
            .render(Tally::new(1532, 184_525), &mut out);
        assert_eq!(out, b"bpipe: 1532 lines (180.2 KiB) dropped here (slide)\n");
        out.clear();
        marker(DEFAULT).unwrap().render(Tally::new(1, 7), &mut out);
        assert_eq!(out, b"bpipe: 1 line (7 B) dropped here (slide)\n");
        out.clear();
        marker("# {name}: gap of {items}")
            .unwrap()
            .render(Tally::new(3, 9), &mut out);
        assert_eq!(out, b"# web: gap of 3\n");
    }

    #[test]
    fn unknown_placeholders_and_delimiters_are_refused() {
        assert!(
            marker("{count} gone")
                .unwrap_err()
                .contains("unknown placeholder")
        );
        assert!(marker("a\nb").unwrap_err().contains("one item"));
    }
}
