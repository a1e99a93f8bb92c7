//! The command line's value parsers take any text without panicking, and what they accept
//! is usable.
#![no_main]

use bpipe::units::parse_size;
use bpipe::output::rate::{Rate, parse_burst};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = parse_size(text);
    if let Ok(rate) = Rate::parse(text) {
        assert!(rate.amount > 0 && !rate.per.is_zero());
        assert!(rate.default_burst() > 0);
        let _ = rate.to_string();
    }
    if let Ok((burst, _)) = parse_burst(text) {
        assert!(burst > 0);
    }
    let _ = humantime::parse_duration(text);
});
