//! Clap's errors as one `bpipe:` line, as every refusal of bpipe's is: the message and its
//! details, without the usage block and clap's tip (`use '-- -o'`, which would make bpipe run
//! `-o` as a worker). A flag that pv or mbuffer users type first gets bpipe's way of saying it.

use clap::error::{ContextKind, ContextValue, ErrorKind};

/// Flags of pv and mbuffer that bpipe does not take, and what bpipe does instead.
const HABITS: &[(&str, &str)] = &[
    (
        "-l",
        "lines are already what bpipe counts (pv's -l); drop -l",
    ),
    (
        "--line-mode",
        "lines are already what bpipe counts; drop --line-mode",
    ),
    (
        "-r",
        "for a rate limit use -L RATE, e.g. -L 1000/s or -L 10MiB/s",
    ),
    (
        "-R",
        "for a rate limit use -L RATE, e.g. -L 10MiB/s (pv's -R PID: bpipe takes no PID)",
    ),
    (
        "-W",
        "to stop when the consumer stops taking data use --stall-timeout 30s --on-stall fail",
    ),
    (
        "-o",
        "bpipe writes to stdout: redirect it, e.g. bpipe > FILE",
    ),
    (
        "-s",
        "bpipe shows no ETA, so it needs no size; the live view shows what went through",
    ),
    (
        "--size",
        "bpipe shows no ETA, so it needs no size; drop --size",
    ),
    (
        "-c",
        "for records a program can read use --stats-format json",
    ),
    (
        "-n",
        "for records a program can read use --stats-format json",
    ),
    (
        "--numeric",
        "for records a program can read use --stats-format json",
    ),
    (
        "-P",
        "bpipe has no start threshold: it never sits on data; drop -P",
    ),
];

/// `error` as one line, without `bpipe: `.
pub fn one_line(error: &clap::Error) -> String {
    if error.kind() == ErrorKind::UnknownArgument
        && let Some(ContextValue::String(flag)) = error.get(ContextKind::InvalidArg)
    {
        let name = flag.split('=').next().unwrap_or(flag);
        if let Some((_, hint)) = HABITS.iter().find(|(habit, _)| *habit == name) {
            return format!("unknown flag {name}: {hint}");
        }
    }
    let text = error.render().to_string();
    let mut lines = text.lines().map(str::trim).filter(|line| {
        !(line.is_empty()
            || line.starts_with("Usage:")
            || line.starts_with("For more information")
            || line.starts_with("tip:"))
    });
    let first = lines.next().unwrap_or_default();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    let rest: Vec<&str> = lines.collect();
    let mut line = match rest.is_empty() {
        true => first.to_string(),
        false => format!("{first} {}", rest.join(", ")),
    };
    if error.kind() == ErrorKind::UnknownArgument {
        line.push_str("; see bpipe --help");
    }
    line
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::Args;

    fn line(args: &[&str]) -> String {
        let argv = std::iter::once("bpipe").chain(args.iter().copied());
        one_line(&Args::try_parse_from(argv).unwrap_err())
    }

    #[test]
    fn every_error_is_one_line_naming_the_flag() {
        for (args, says) in [
            (
                &["--cap", "many"][..],
                "invalid value 'many' for '--cap <N>'",
            ),
            (
                &["--bogus"],
                "unexpected argument '--bogus' found; see bpipe --help",
            ),
            (
                &["--policy", "sometimes"],
                "[possible values: block, drop, slide, fail]",
            ),
            (&["--on-timeout", "drop"], "--block-timeout <DURATION>"),
            (
                &["--chunk", "1KiB", "-0"],
                "'--chunk <SIZE>' cannot be used with '--null'",
            ),
        ] {
            let line = line(args);
            assert!(!line.contains('\n'), "{args:?}: {line}");
            assert!(line.contains(says), "{args:?}: {line}");
            assert!(!line.contains("tip:") && !line.contains("Usage:"), "{line}");
        }
    }

    #[test]
    fn pv_and_mbuffer_habits_get_bpipes_way() {
        assert!(line(&["-l"]).contains("lines are already what bpipe counts"));
        assert!(line(&["-o", "out.txt"]).contains("redirect it"));
        assert!(line(&["-W"]).contains("--stall-timeout"));
        assert!(line(&["-s", "1G"]).contains("no ETA"));
        assert!(line(&["-P", "90"]).contains("never sits on data"));
    }
}
