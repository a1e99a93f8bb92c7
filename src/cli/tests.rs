use super::*;
use clap::CommandFactory;

#[test]
fn clap_definition_is_valid() {
    Args::command().debug_assert();
}

#[test]
fn policy_aliases() {
    let args = Args::try_parse_from(["bpipe", "--policy", "drop-oldest"]).unwrap();
    assert_eq!(args.policy, PolicyArg::Slide);
    let args = Args::try_parse_from(["bpipe", "-p", "drop-newest"]).unwrap();
    assert_eq!(args.policy, PolicyArg::Drop);
}

#[test]
fn burst_needs_a_rate() {
    assert!(Args::try_parse_from(["bpipe", "--burst", "10"]).is_err());
    let args = Args::try_parse_from(["bpipe", "-L", "10MiB/s", "--burst", "1MiB"]).unwrap();
    assert_eq!(args.burst.as_deref(), Some("1MiB"));
}

#[test]
fn the_names_pv_and_mbuffer_users_type() {
    for argv in [
        ["bpipe", "--buffer-size", "256M"],
        ["bpipe", "-B", "256M"],
        ["bpipe", "-m", "256M"],
        ["bpipe", "--cap-bytes", "256MiB"],
    ] {
        let args = Args::try_parse_from(argv).unwrap();
        assert_eq!(args.cap_bytes, Some(256 << 20), "{argv:?}");
    }
    for (alias, policy) in [
        ("drop-old", PolicyArg::Slide),
        ("drop-new", PolicyArg::Drop),
        ("drop-newest", PolicyArg::Drop),
    ] {
        let args = Args::try_parse_from(["bpipe", "--policy", alias]).unwrap();
        assert_eq!(args.policy, policy);
    }
    assert_eq!(
        Args::try_parse_from(["bpipe", "--cap", "10k"]).unwrap().cap,
        Some(10_000)
    );
}

#[test]
fn clear_refusals() {
    let error = |argv: &[&str]| Args::try_parse_from(argv).unwrap_err().to_string();
    assert!(error(&["bpipe", "--drops-exit", "0"]).contains("0 means success"));
    assert!(error(&["bpipe", "--drops-exit", "70"]).contains("a status bpipe already uses"));
    assert!(error(&["bpipe", "--drops-exit", "3"]).contains("a status bpipe already uses"));
    assert!(error(&["bpipe", "--drops-exit", "130"]).contains("death by a signal"));
    assert!(error(&["bpipe", "-q", "--progress"]).contains("cannot be used with"));
    assert!(error(&["bpipe", "--cap", "lots"]).contains("expected a count such as 64, 10k"));
}

#[test]
fn on_timeout_needs_block_timeout() {
    assert!(Args::try_parse_from(["bpipe", "--on-timeout", "drop"]).is_err());
}
