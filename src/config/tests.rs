use super::*;
use crate::input::framing::Overlong;
use crate::queue::policy::Shed;
use clap::Parser;

fn config(args: &[&str]) -> Result<Config, Error> {
    let mut argv = vec!["bpipe"];
    argv.extend_from_slice(args);
    Config::from_args(&Args::try_parse_from(argv).expect("clap accepts"))
}

fn error(args: &[&str]) -> String {
    config(args).unwrap_err().to_string()
}

#[test]
fn defaults() {
    let c = config(&[]).unwrap();
    assert_eq!(
        c.bounds,
        Bounds {
            items: 65_536,
            bytes: 16 << 20
        }
    );
    assert_eq!(c.policy, Policy::BLOCK);
    assert_eq!(
        c.framing,
        Framing::Delimited {
            delim: b'\n',
            max_item: 1 << 20,
            overlong: Overlong::Split
        }
    );
}

#[test]
fn the_byte_bound_binds_when_it_is_the_one_given() {
    let c = config(&["--cap-bytes", "256MiB"]).unwrap();
    assert_eq!(c.bounds.bytes, 256 << 20);
    assert_eq!(c.bounds.items, (256 << 20) / 8);
    // A small one keeps the default item cap; a --cap given is kept as given.
    assert_eq!(
        config(&["--cap-bytes", "64K"]).unwrap().bounds.items,
        65_536
    );
    assert_eq!(
        config(&["--cap-bytes", "256M", "--cap", "10"])
            .unwrap()
            .bounds
            .items,
        10
    );
    assert_eq!(
        config(&["--cap-bytes", "16M"]).unwrap().bounds.bytes,
        16 << 20
    );
}

#[test]
fn max_line_is_1mib_whatever_the_cap_bytes() {
    // A line longer than the queue waits whole for a ready writer: --cap-bytes bounds what
    // waits for a consumer that is behind, not how long a line may be.
    let c = config(&["--cap-bytes", "4KiB"]).unwrap();
    assert_eq!(c.framing.max_item(), 1 << 20);
    let c = config(&["--cap-bytes", "1MiB", "--max-line", "2MiB"]).unwrap();
    assert_eq!(c.framing.max_item(), 2 << 20);
}

#[test]
fn shedding_policies_drop_overlong_lines() {
    let c = config(&["--policy", "slide", "-0"]).unwrap();
    assert_eq!(
        c.framing,
        Framing::Delimited {
            delim: 0,
            max_item: 1 << 20,
            overlong: Overlong::Drop
        }
    );
    let c = config(&["--block-timeout", "1s", "--on-timeout", "drop"]).unwrap();
    assert_eq!(
        c.policy,
        Policy::Block {
            timeout: Some(Duration::from_secs(1)),
            then: Shed::Drop
        }
    );
    assert!(matches!(
        c.framing,
        Framing::Delimited {
            overlong: Overlong::Drop,
            ..
        }
    ));
}

#[test]
fn unusable_values_name_the_flag_and_the_accepted_form() {
    assert!(error(&["--cap", "0"]).starts_with("--cap must be at least 1"));
    assert!(error(&["--cap-bytes", "0"]).starts_with("--cap-bytes must be at least 1"));
    assert!(error(&["--chunk", "0"]).starts_with("--chunk must be at least 1"));
    assert!(error(&["--max-line", "0"]).starts_with("--max-line must be at least 1"));
    assert!(
        error(&["--cap-bytes", "1KiB", "--chunk", "2KiB"]).starts_with("--chunk 2.0 KiB exceeds")
    );
    assert!(
        error(&["--policy", "drop", "--block-timeout", "1s"])
            .starts_with("--block-timeout works only with --policy block")
    );
    assert!(
        error(&["--block-timeout", "18446744073709551615s"])
            .starts_with("--block-timeout must be at most 10 years")
    );
    assert!(error(&["--drain-timeout", "11y"]).starts_with("--drain-timeout must be at most"));
    assert!(error(&["--stats-interval", "1ns"]).starts_with("--stats-interval must be at least"));
}

#[test]
fn max_age_drops_an_overlong_line_whole_rather_than_a_piece_of_it() {
    let c = config(&["--max-age", "5s"]).unwrap();
    assert!(matches!(
        c.framing,
        Framing::Delimited {
            overlong: Overlong::Drop,
            ..
        }
    ));
    assert!(config(&["--max-age", "10y"]).is_ok());
}

#[test]
fn rate_and_burst() {
    assert_eq!(config(&[]).unwrap().rate, None);
    let c = config(&["-L", "100/s"]).unwrap();
    assert_eq!(c.rate, Some((Rate::parse("100/s").unwrap(), 1)));
    let c = config(&["--rate", "10MiB/s", "--burst", "1MiB"]).unwrap();
    assert_eq!(c.rate, Some((Rate::parse("10MiB/s").unwrap(), 1 << 20)));
    let c = config(&["--rate", "100/s", "--burst", "25"]).unwrap();
    assert_eq!(c.rate.unwrap().1, 25);
    assert_eq!(
        config(&["--rate", "100/s", "--burst", "5k"])
            .unwrap()
            .rate
            .unwrap()
            .1,
        5000
    );
    // Each unit refuses the other's form alike.
    assert_eq!(
        error(&["--rate", "100/s", "--burst", "1KiB"]),
        "--burst 1KiB is a size, but --rate 100/s counts items: give a count, e.g. --burst 10"
    );
    assert_eq!(
        error(&["--rate", "10MiB/s", "--burst", "10"]),
        "--burst 10 is a count, but --rate 10MiB/s counts bytes: give a size, e.g. --burst 64KiB"
    );
    assert!(error(&["--rate", "1/s", "--burst", "lots"]).starts_with("--burst: expected a count"));
}

#[test]
fn chunk_reads_are_sized_to_the_chunk_within_limits() {
    assert_eq!(config(&["--chunk", "1KiB"]).unwrap().read_size, 64 << 10);
    assert_eq!(config(&["--chunk", "256KiB"]).unwrap().read_size, 256 << 10);
    assert_eq!(config(&["--chunk", "8MiB"]).unwrap().read_size, 1 << 20);
}
