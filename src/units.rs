//! Sizes and counts as users type them.

use bytesize::ByteSize;

/// Parses a size such as `64KiB`, `16MiB`, `1GB` or `512` (bytes).
pub fn parse_size(text: &str) -> Result<u64, String> {
    text.trim()
        .parse::<ByteSize>()
        .map(|size| size.as_u64())
        .map_err(|_| format!("expected a size such as 512, 64KiB, 16MiB or 1GB, got '{text}'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("512"), Ok(512));
        assert_eq!(parse_size("64KiB"), Ok(64 << 10));
        assert_eq!(parse_size("16MiB"), Ok(16 << 20));
        assert_eq!(parse_size("1GB"), Ok(1_000_000_000));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("-1").is_err());
    }
}
