//! The man page and shell completions are generated from the same clap definition as
//! `--help`, and committed. This test regenerates them and fails when the committed copies
//! are stale, so they cannot drift. To refresh them:
//!
//!     UPDATE_GENERATED=1 cargo test --test generated
//!
//! (A test-driven writer rather than build.rs or a hidden flag: clap_mangen and
//! clap_complete stay dev-dependencies, out of the release binary and of a plain build.)

use std::path::Path;

use bpipe::{Args, CtlArgs};
use clap::CommandFactory;
use clap_complete::Shell;
use roff::{Roff, bold, italic, roman};

/// The sections a man reader expects beyond what clap knows: (title, paragraphs), where a
/// paragraph is a list of (term, text); an empty term makes a plain paragraph.
const SECTIONS: &[(&str, &[(&str, &str)])] = &[
    (
        "POLICIES",
        &[
            (
                "",
                "When an item finds the queue full while the consumer is behind, --policy decides. A consumer is behind when stdout (a pipe or socket) has stayed full for 100ms without bpipe catching up, or when the rate limit holds the writer; a consumer that keeps up never loses an item, whatever --cap. While the writer is ready, a read that does not fit waits whole for it.",
            ),
            (
                "block",
                "The default. bpipe stops reading until there is room, so the producer waits on the pipe. Output is byte-identical to input. Pick it for lossless bulk copies.",
            ),
            (
                "drop (drop-newest)",
                "The incoming item is discarded and counted. Pick it to keep the start of each burst, or to sample a firehose with --rate.",
            ),
            (
                "slide (drop-oldest)",
                "The oldest queued items are discarded to make room, and counted. Pick it for live views and CI log tailing, where only the freshest lines matter.",
            ),
            (
                "fail",
                "bpipe stops reading, writes out what is queued, names the bound that was hit and exits 3. Pick it for ingestion that must never fall behind silently.",
            ),
            (
                "--block-timeout D --on-timeout P",
                "Block, but hold the producer at most D in a spell of pressure: once the spell is D old, apply P (drop, slide or fail) to every item that finds the queue full until bpipe catches up (writes out all it holds). A consumer that takes a little now and then does not end the spell. Against a full stdout the 100ms grace comes first: a D under 100ms acts as 100ms. Time bpipe itself was stopped (SIGSTOP until SIGCONT) does not count.",
            ),
            (
                "",
                "A line longer than --cap-bytes waits whole for a ready writer, and is shed whole only under pressure. A line longer than --max-line is cut into pieces under block and fail, and dropped whole (counted as over --max-line) under drop and slide, so the output holds only whole lines.",
            ),
        ],
    ),
    (
        "RATE FORMS",
        &[
            (
                "N/PERIOD",
                "Items per period: 1000/s, 50/100ms, 30/min, 2/h. A bare number is items per second. In --chunk mode the items are chunks.",
            ),
            ("SIZE/PERIOD", "Bytes per period: 10MiB/s, 512KiB/250ms."),
            (
                "--burst N|SIZE",
                "How much may go at once after an idle spell. Default: one item, or for a byte rate 20ms of it (at most 64KiB), so an idle stream does not burst. An item larger than the burst is spread over time at the rate.",
            ),
        ],
    ),
    (
        "RECORDS",
        &[
            (
                "",
                "On a terminal, a live status line on stderr shows queue fill, rates, totals, drops, the policy and elapsed time; it is cleared at exit. --no-progress turns it off, --progress forces it on; NO_COLOR turns colour off.",
            ),
            (
                "",
                "Every --stats-interval and on SIGUSR1 bpipe prints a record. At exit it prints the final record on a terminal, with --summary, --stats-interval or --stats-file, and otherwise only when something is worth reading: items dropped or undelivered, a signal, an error, the queue full under fail. When items start being dropped after a quiet spell, one warning line says so. Records go to stderr, or to --stats-file; -q silences stderr but for errors.",
            ),
            (
                "text",
                "bpipe[NAME]: in N lines SIZE, out N lines SIZE, dropped N lines SIZE (POLICY), undelivered N lines SIZE, depth N/CAP lines SIZE/CAPSIZE, in hand N lines SIZE, max depth N lines SIZE, wait p50 T p99 T max T, oldest T, blocked Ts, stalled Ts (SHARE%), expired N lines, dead-lettered N lines SIZE, kept N lines, N markers, output closed | stopped by signal N, ELAPSEDs, then N lines/s SIZE/s over the run (final), or in and out rates over the interval (periodic). Clauses that would read zero are left out; depth, in hand and oldest appear in periodic records only.",
            ),
            (
                "json",
                "One object per line with event (tick, drop, stop, stall, resume, final), name, elapsed_s, unit, in_items, in_bytes, out_items, out_bytes, dropped_items, dropped_bytes, overlong_items, undelivered_items, undelivered_bytes, torn_items, depth_items, depth_bytes, in_hand_items, in_hand_bytes, max_depth_items, max_depth_bytes, cap_items, cap_bytes, blocked_s, expired_items, expired_bytes, dead_lettered_items, dead_lettered_bytes, discarded_items, discarded_bytes, spill_depth_items, spill_depth_bytes, spilled_items, spilled_bytes, max_spill_bytes, spill_disk_bytes, spill_max_bytes, kept_items, markers, wait_p50_s, wait_p99_s, wait_max_s, interval_wait_p50_s, interval_wait_p99_s, interval_wait_max_s, oldest_age_s, stalled_s, interval_s, interval_stalled_share, in_items_per_s, in_bytes_per_s, out_items_per_s, out_bytes_per_s, policy, block_timeout_s, on_timeout, output_closed, paused (by bpipectl) and signal; event first, seconds to the microsecond. In the final record the interval is the whole run.",
            ),
            (
                "workers",
                "With --workers, every record adds workers_running and workers: one object per worker with worker (its slot), running, items, bytes, undelivered_items, taking_share, starts, failures and status. A worker that starts, is retired or exits is one record of its own with event worker, name, elapsed_s, worker, action (start, retire, exit, fail, give-up), status, undelivered_items, reason and workers_running; in text, one line.",
            ),
            (
                "",
                "At every moment in = out + dropped + undelivered + depth + in hand, in items and in bytes; at exit depth and in hand are 0.",
            ),
        ],
    ),
    (
        "SIGNALS",
        &[
            (
                "SIGINT, SIGTERM, SIGHUP",
                "Stop reading, write out what is queued for at most --drain-timeout (default 5s; 0 gives up at once), count the rest undelivered, print the final record, then die of the same signal (a shell shows 128 plus its number). A second signal gives up at once.",
            ),
            ("SIGUSR1", "Print a record now and carry on."),
            (
                "SIGPIPE",
                "A consumer that exits is noticed at once, even while the producer is idle; what bpipe held counts as undelivered, and it exits 0.",
            ),
        ],
    ),
    (
        "EXIT STATUS",
        &[
            (
                "0",
                "Input drained to the end, or the consumer closed the pipe.",
            ),
            (
                "1",
                "A read or write failed (other than a closed pipe), memory ran out (an allocation failed at the limit on address space: bpipe stopped reading and delivered what it held), or records were lost (a --stats-file or stderr that failed or blocked).",
            ),
            ("2", "Bad command line; nothing was read."),
            (
                "3",
                "The queue was full under --policy fail (or --on-timeout fail).",
            ),
            (
                "5",
                "--on-stall fail: stdout took nothing for --stall-timeout.",
            ),
            (
                "6",
                "--workers: a worker failed (exited non-zero or was killed by a signal, other than SIGPIPE or the stop bpipe passed on), even if --restart started it again.",
            ),
            ("70", "An internal error (a bug); please report it."),
            (
                "CODE",
                "--drops-exit CODE was given and items were dropped.",
            ),
            (
                "128+N",
                "Stopped by signal N (SIGINT, SIGTERM, SIGHUP): after the drain and the final record, bpipe dies of the same signal, so a shell shows 130, 143 or 129.",
            ),
        ],
    ),
    (
        "EXAMPLES",
        &[
            (
                "tail -F app.log | bpipe --policy slide --cap 1000 | slow-indexer",
                "Tail a CI log into a slow tool, keeping the freshest lines.",
            ),
            (
                "metrics | bpipe --rate 100/s --policy drop --cap 100 | dashboard",
                "Sample a firehose down to 100 lines a second.",
            ),
            (
                "tar c data/ | bpipe --cap-bytes 256MiB | ssh host 'tar x'",
                "A lossless bulk copy through a large buffer.",
            ),
            (
                "events | bpipe --cap 10000 --policy fail | loader",
                "Fail fast when the loader falls 10000 events behind.",
            ),
            (
                "producer | bpipe -N ingest --stats-format json --stats-interval 10s --stats-file stats.jsonl | consumer",
                "Records for a dashboard.",
            ),
        ],
    ),
];

/// `bpipe [--cap N] [-B|--cap-bytes SIZE] … [FILE]...`: every option with its value's
/// placeholder (clap_mangen's own synopsis leaves them out).
fn synopsis(cmd: &clap::Command) -> Roff {
    let mut roff = Roff::new();
    roff.control("SH", ["SYNOPSIS"]);
    let mut line = vec![bold("bpipe")];
    for arg in cmd.get_arguments() {
        if arg.is_positional() {
            continue;
        }
        let mut names = Vec::new();
        if let Some(short) = arg.get_short() {
            names.push(format!("-{short}"));
        }
        if let Some(long) = arg.get_long() {
            names.push(format!("--{long}"));
        }
        line.push(roman(" ["));
        line.push(bold(names.join("|")));
        let takes_value = arg.get_action().takes_values();
        if let Some(value) = arg
            .get_value_names()
            .and_then(|v| v.first())
            .filter(|_| takes_value)
        {
            // A value that must follow '=' is optional: --mark-drops[=TEMPLATE].
            match arg.is_require_equals_set() {
                true => line.push(roman(format!("[={value}]"))),
                false => {
                    line.push(roman(" "));
                    line.push(italic(value.to_string()));
                }
            }
        }
        line.push(roman("]"));
    }
    line.push(roman(" ["));
    line.push(italic("FILE"));
    line.push(roman("]... [-- "));
    line.push(italic("CMD"));
    line.push(roman(" ["));
    line.push(italic("ARGS"));
    line.push(roman("]...]"));
    roff.text(line);
    roff
}

fn man_page() -> String {
    let man = clap_mangen::Man::new(Args::command()).date("");
    let mut out = Vec::new();
    man.render_title(&mut out).unwrap();
    man.render_name_section(&mut out).unwrap();
    synopsis(&Args::command()).to_writer(&mut out).unwrap();
    man.render_description_section(&mut out).unwrap();
    man.render_options_section(&mut out).unwrap();
    let mut roff = Roff::new();
    for (title, paragraphs) in SECTIONS {
        roff.control("SH", [*title]);
        for (term, text) in *paragraphs {
            if term.is_empty() {
                roff.control("PP", []).text([roman(*text)]);
            } else {
                roff.control("TP", [])
                    .text([bold(*term)])
                    .text([roman(*text)]);
            }
        }
    }
    roff.control("SH", ["SEE ALSO"]).text([
        bold("bpipectl"),
        roman("(1), "),
        bold("pv"),
        roman("(1), "),
        bold("mbuffer"),
        roman("(1), "),
        bold("buffer"),
        roman("(1), "),
        bold("parallel"),
        roman("(1)"),
    ]);
    roff.to_writer(&mut out).unwrap();
    man.render_version_section(&mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// Where bash completion comes to the workers' command: after `--`, the command is completed
/// as a command (as `sudo` does, by bash-completion's `_command_offset` where it is loaded),
/// then its own arguments, never bpipe's flags. clap_complete's bash script knows no `--`.
const BASH_AFTER_DASHES: &str = r#"
    # After --: the workers' command and its arguments, never bpipe's own flags.
    for (( i = 1; i < COMP_CWORD; i++ )); do
        if [[ "${COMP_WORDS[i]}" == "--" ]]; then
            if declare -F _command_offset >/dev/null; then
                _command_offset $(( i + 1 ))
            elif (( i + 1 == COMP_CWORD )); then
                COMPREPLY=( $(compgen -c -- "${cur}") )
            else
                COMPREPLY=( $(compgen -f -- "${cur}") )
            fi
            return 0
        fi
    done
"#;

fn completion(shell: Shell) -> String {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Args::command(), "bpipe", &mut out);
    let script = String::from_utf8(out).unwrap();
    match shell {
        Shell::Bash => {
            let at = script
                .find("    opts=\"\"\n")
                .expect("clap_complete's bash layout")
                + 12;
            format!("{}{}{}", &script[..at], BASH_AFTER_DASHES, &script[at..])
        }
        _ => script,
    }
}

#[test]
fn bash_completes_the_workers_command_after_dashes_not_bpipes_flags() {
    let script = completion(Shell::Bash);
    let complete = |words: &str| {
        let probe = format!(
            "{script}\nCOMP_WORDS=({words}); COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))\n\
             _bpipe bpipe \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"\n\
             printf '%s\\n' \"${{COMPREPLY[@]}}\""
        );
        std::process::Command::new("bash")
            .args(["--norc", "-c", &probe])
            .output()
            .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let Ok(before) = complete("bpipe --ca") else {
        eprintln!("skipped: no bash to run the completion script");
        return;
    };
    assert!(before.lines().any(|l| l == "--cap"), "{before}");
    let after = complete("bpipe --workers 2 -- gzip -").unwrap();
    assert!(!after.contains("--cap"), "bpipe's flags after --: {after}");
    let command = complete("bpipe --workers 2 -- gzi").unwrap();
    assert!(!command.contains("--cap"), "{command}");
}

/// `bpipectl`'s man page: clap_mangen's, with every subcommand's page after it.
fn ctl_man_page() -> String {
    let cmd = CtlArgs::command();
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut out).unwrap();
    let mut cmd = cmd;
    cmd.build();
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let mut roff = Roff::new();
        roff.control(
            "SH",
            [format!("BPIPECTL {}", sub.get_name().to_uppercase()).as_str()],
        );
        let mut usage = sub.clone().bin_name(format!("bpipectl {}", sub.get_name()));
        roff.text([bold(
            usage
                .render_usage()
                .to_string()
                .trim_start_matches("Usage: "),
        )]);
        roff.control("PP", []);
        roff.text([roman(
            sub.get_about().map(|a| a.to_string()).unwrap_or_default(),
        )]);
        roff.to_writer(&mut out).unwrap();
    }
    String::from_utf8(out).unwrap()
}

fn ctl_completion(shell: Shell) -> String {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut CtlArgs::command(), "bpipectl", &mut out);
    String::from_utf8(out).unwrap()
}

/// Compares `path` with `contents`; rewrites it when asked to, else fails when stale.
fn ensure(path: &str, contents: &str) -> Option<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    if std::fs::read_to_string(&path).is_ok_and(|old| old == contents) {
        return None;
    }
    if std::env::var_os("UPDATE_GENERATED").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, contents).unwrap();
        return None;
    }
    Some(path.display().to_string())
}

#[test]
fn man_page_and_completions_are_up_to_date() {
    let mut files = vec![("man/bpipe.1".to_string(), man_page())];
    for (shell, name) in [
        (Shell::Bash, "bpipe.bash"),
        (Shell::Zsh, "_bpipe"),
        (Shell::Fish, "bpipe.fish"),
        (Shell::Elvish, "bpipe.elv"),
        (Shell::PowerShell, "_bpipe.ps1"),
    ] {
        files.push((format!("completions/{name}"), completion(shell)));
    }
    files.push(("man/bpipectl.1".to_string(), ctl_man_page()));
    for (shell, name) in [
        (Shell::Bash, "bpipectl.bash"),
        (Shell::Zsh, "_bpipectl"),
        (Shell::Fish, "bpipectl.fish"),
        (Shell::Elvish, "bpipectl.elv"),
        (Shell::PowerShell, "_bpipectl.ps1"),
    ] {
        files.push((format!("completions/{name}"), ctl_completion(shell)));
    }
    let stale: Vec<String> = files
        .iter()
        .filter_map(|(path, text)| ensure(path, text))
        .collect();
    assert!(
        stale.is_empty(),
        "stale generated files: {stale:?}\nrefresh them with: UPDATE_GENERATED=1 cargo test --test generated"
    );
}

#[test]
fn completing_policy_offers_the_policy_names() {
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        let script = completion(shell);
        assert!(
            script.contains("block") && script.contains("slide"),
            "{shell}"
        );
        assert!(
            script.contains("drop") && script.contains("fail"),
            "{shell}"
        );
    }
    assert!(completion(Shell::Bash).contains(
        "--policy)\n                    COMPREPLY=($(compgen -W \"block drop slide fail\""
    ));
}

#[test]
fn the_man_page_has_the_sections_a_reader_expects() {
    let page = man_page();
    for section in [
        "NAME",
        "SYNOPSIS",
        "DESCRIPTION",
        "OPTIONS",
        "POLICIES",
        "RATE FORMS",
        "RECORDS",
        "SIGNALS",
        "EXIT STATUS",
        "EXAMPLES",
        "SEE ALSO",
    ] {
        assert!(
            page.contains(&format!(".SH {section}"))
                || page.contains(&format!(".SH \"{section}\"")),
            "no {section}"
        );
    }
    // One section per title (clap's REPORTING options and ours are apart), placeholders in
    // the synopsis, and nothing that is not installed in SEE ALSO.
    for title in [".SH REPORTING", ".SH RECORDS", ".SH SYNOPSIS"] {
        assert_eq!(page.matches(title).count(), 1, "{title}");
    }
    assert!(
        page.contains("\\fB\\-\\-cap\\fR \\fIN\\fR"),
        "no placeholder in the synopsis"
    );
    assert!(!page.contains("README"));
}

#[test]
fn values_that_are_not_paths_complete_to_nothing() {
    let bash = completion(Shell::Bash);
    for flag in ["--cap", "--rate", "--chunk", "--burst", "--block-timeout"] {
        let at = bash.find(&format!("                {flag})")).expect(flag);
        let case = &bash[at..at + 300];
        assert!(
            !case.contains("compgen -f"),
            "{flag} completes file names: {case}"
        );
    }
    let at = bash.find("                --stats-file)").unwrap();
    assert!(
        bash[at..at + 600].contains("compgen -f"),
        "--stats-file should offer files"
    );
}
