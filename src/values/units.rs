//! Sizes and counts as users type them: the thin layer where coreutils conventions differ
//! from bytesize's (a bare `K` is 1024 for `dd`, `head -c`, `pv -L`; bytesize reads 1000).

use bytesize::ByteSize;

const SIZE_FORMS: &str = "a size such as 512, 64K, 16MiB or 1GB (K, M, G, T are powers of \
                          1024, as are KiB, MiB…; KB, MB… are powers of 1000)";

/// Parses a size: `512` (bytes), `512B`; `64K`, `16M`, `1G`, `2T` and `64KiB`, `16MiB`…
/// (powers of 1024); `64KB`, `16MB`… (powers of 1000). A fraction is allowed (`1.5M`).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let bad = || format!("expected {SIZE_FORMS}, got '{text}'");
    let normalized = match trimmed.char_indices().last() {
        // A bare unit letter after a number: binary, as coreutils reads it.
        Some((at, unit))
            if "kKmMgGtTpP".contains(unit)
                && trimmed[..at].ends_with(|c: char| c.is_ascii_digit() || c == ' ') =>
        {
            format!("{}{}iB", &trimmed[..at], unit.to_ascii_uppercase())
        }
        _ => trimmed.to_string(),
    };
    if !normalized.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(bad());
    }
    normalized
        .parse::<ByteSize>()
        .map(|size| size.as_u64())
        .map_err(|_| bad())
}

/// Parses a count: `64`, or with a count suffix `10k`, `1M`, `2G` (powers of 1000, as counts
/// are); a fraction is allowed where the result is whole (`1.5k`).
pub fn parse_count(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let bad = || format!("expected a count such as 64, 10k or 1M, got '{text}'");
    let (number, scale) = match trimmed.char_indices().last() {
        Some((at, unit)) if "kKmMgGtT".contains(unit) => {
            let scale = match unit.to_ascii_lowercase() {
                'k' => 1e3,
                'm' => 1e6,
                'g' => 1e9,
                _ => 1e12,
            };
            (&trimmed[..at], scale)
        }
        _ => (trimmed, 1.0),
    };
    if let Ok(n) = number.parse::<u64>() {
        return n.checked_mul(scale as u64).ok_or_else(bad);
    }
    let value = number.parse::<f64>().map_err(|_| bad())? * scale;
    let whole = value.is_finite() && value >= 0.0 && value.fract() == 0.0 && value < 1.8e19;
    if !whole || !number.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(bad());
    }
    Ok(value as u64)
}

/// Whether `text` is a plain number, with no unit: a count, not a size.
pub fn is_plain_number(text: &str) -> bool {
    text.trim().parse::<u64>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("512"), Ok(512));
        assert_eq!(parse_size("512B"), Ok(512));
        assert_eq!(parse_size("64KiB"), Ok(64 << 10));
        assert_eq!(parse_size("16MiB"), Ok(16 << 20));
        assert_eq!(parse_size("1GB"), Ok(1_000_000_000));
        assert_eq!(parse_size("64KB"), Ok(64_000));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("-1").is_err());
        assert!(parse_size("").is_err());
    }

    #[test]
    fn a_bare_unit_letter_is_binary_as_in_coreutils_and_pv() {
        assert_eq!(parse_size("16M"), Ok(16 << 20));
        assert_eq!(parse_size("2k"), Ok(2048));
        assert_eq!(parse_size("2K"), Ok(2048));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("1T"), Ok(1 << 40));
        assert_eq!(parse_size("1.5M"), Ok(3 << 19));
        assert!(parse_size("M").is_err());
        assert!(parse_size("K").is_err());
    }

    #[test]
    fn counts_take_count_suffixes() {
        assert_eq!(parse_count("64"), Ok(64));
        assert_eq!(parse_count("10k"), Ok(10_000));
        assert_eq!(parse_count("10K"), Ok(10_000));
        assert_eq!(parse_count("1M"), Ok(1_000_000));
        assert_eq!(parse_count("2G"), Ok(2_000_000_000));
        assert_eq!(parse_count("1.5k"), Ok(1500));
        for bad in [
            "",
            "k",
            "ten",
            "-1",
            "1.5",
            "1.0005k",
            "64KiB",
            "99999999999999999999T",
        ] {
            assert_eq!(
                parse_count(bad),
                Err(format!(
                    "expected a count such as 64, 10k or 1M, got '{bad}'"
                ))
            );
        }
    }
}
