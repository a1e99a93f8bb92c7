//! The README's examples cannot rot: every bpipe invocation in it must parse and validate
//! with the current flags, the set-up example runs for real, and each policy example runs
//! with stand-in producers and consumers and does what its comment promises.

mod util;

use bpipe::Args;
use bpipe::Config;
use clap::Parser;
use serde_json::Value;

/// Every `bpipe …` command in the README's shell examples: fenced `sh` blocks and indented
/// blocks, cut at pipes and `&&`/`||`.
fn invocations(readme: &str) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let mut fenced = false;
    for line in readme.lines() {
        if line.starts_with("```") {
            fenced = line.trim() == "```sh";
            continue;
        }
        let indented = line.starts_with("    ");
        if !(fenced || indented) || line.trim_start().starts_with('#') {
            continue;
        }
        let line = line.split(" # ").next().unwrap();
        for segment in line.split(['|', '&']) {
            let words = shell_words(segment);
            if words.first().is_some_and(|w| w == "bpipe")
                && words.get(1).is_none_or(|w| w.starts_with('-'))
            {
                found.push(words);
            }
        }
    }
    found
}

/// Words as a shell splits them, for the README's examples: whitespace outside single quotes
/// (a `--rate-schedule '08:00 1MiB/s, 18:00 off'` is one word).
fn shell_words(segment: &str) -> Vec<String> {
    let mut words = Vec::new();
    let (mut word, mut quoted, mut any) = (String::new(), false, false);
    for c in segment.chars() {
        match c {
            '\'' => (quoted, any) = (!quoted, true),
            c if c.is_whitespace() && !quoted => {
                if any {
                    words.push(std::mem::take(&mut word));
                }
                any = false;
            }
            c => (word, any) = (word + &c.to_string(), true),
        }
    }
    if any {
        words.push(word);
    }
    words
}

#[test]
fn every_readme_invocation_is_valid() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let found = invocations(&readme);
    assert!(
        found.len() >= 10,
        "found only {} invocations: {found:?}",
        found.len()
    );
    for words in found {
        let args = Args::try_parse_from(&words).unwrap_or_else(|e| panic!("{words:?}: {e}"));
        Config::from_args(&args).unwrap_or_else(|e| panic!("{words:?}: {e}"));
    }
}

#[test]
fn the_set_up_example_runs() {
    // README: `printf 'hello\n' | bpipe`
    let out = util::run(util::bpipe(&[]), b"hello\n".to_vec());
    assert_eq!(out.stdout, b"hello\n");
    assert_eq!(out.code(), Some(0));
}

/// The bpipe arguments of the README line holding `needle`, which must be there verbatim:
/// the tests below run what the README shows, with stand-in producers and consumers.
fn example(needle: &str) -> Vec<String> {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let line = readme
        .lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("the README no longer shows {needle:?}"));
    let segment = line
        .split(['|', '&'])
        .map(str::trim)
        .find(|segment| segment.starts_with("bpipe "))
        .expect("a bpipe invocation");
    segment
        .split_whitespace()
        .skip(1)
        .map(str::to_string)
        .collect()
}

/// Runs an example's arguments plus `extra`, returning the run and its final JSON record.
fn run_example(args: &[String], extra: &[&str], input: Vec<u8>, stall: bool) -> (util::Run, Value) {
    let mut all: Vec<&str> = args.iter().map(String::as_str).collect();
    all.extend(extra);
    all.extend(["--stats-format", "json", "--summary"]);
    let cmd = util::bpipe(&all);
    let out = if stall {
        util::run_stalled(cmd, input)
    } else {
        util::run(cmd, input)
    };
    let last = out
        .stderr
        .lines()
        .rfind(|l| l.starts_with('{'))
        .expect("a record");
    let record = serde_json::from_str(last).unwrap();
    (out, record)
}

fn seq(n: usize) -> Vec<u8> {
    (1..=n)
        .flat_map(|i| format!("{i}\n").into_bytes())
        .collect()
}

#[test]
fn the_usage_line_with_a_consumer_that_keeps_up_loses_nothing() {
    let args = example("| bpipe --cap 64 --policy slide | wc -l");
    let input = seq(200_000);
    let (out, record) = run_example(&args, &[], input.clone(), false);
    assert!(out.stdout == input, "lines were lost");
    assert_eq!(record["dropped_items"], 0);
}

#[test]
fn ci_log_tailing_keeps_the_freshest_lines() {
    let args = example("tail -F build.log | bpipe --policy slide --cap 1000 | slow-indexer");
    let input = util::numbered_lines(300_000);
    let (out, record) = run_example(&args, &[], input.clone(), true);
    let (got, all) = (util::items(&out.stdout, b'\n'), util::items(&input, b'\n'));
    assert!(util::is_subsequence(&got, &all));
    assert_eq!(got[got.len() - 1000..], all[all.len() - 1000..]);
    assert!(record["dropped_items"].as_u64() > Some(0), "{record}");
}

#[test]
fn metrics_sampling_stays_live_at_the_rate() {
    let args = example("metrics-firehose | bpipe --rate 100/s --policy drop --cap 100 | dashboard");
    let (out, record) = run_example(&args, &[], seq(50_000), false);
    let elapsed = record["elapsed_s"].as_f64().unwrap();
    let lines = util::items(&out.stdout, b'\n').len() as f64;
    // At most what the rate allows plus the queue; the producer is never held for it.
    assert!(
        lines <= 1.0 + 100.0 * elapsed + 100.0,
        "{lines} lines in {elapsed}s"
    );
    assert!(elapsed < 10.0, "the producer was held: {elapsed}s");
    assert_eq!(record["in_items"], 50_000);
}

#[test]
fn bulk_copy_buffers_by_bytes_not_by_the_default_item_cap() {
    let args = example("tar c big/ | bpipe --cap-bytes 256MiB | ssh host 'tar x'");
    let input = seq(300_000);
    let (out, record) = run_example(&args, &[], input.clone(), true);
    assert!(out.stdout == input, "not byte-exact");
    // A stalled consumer: far more than 65536 short lines waited in the queue.
    assert!(
        record["max_depth_items"].as_u64() > Some(65_536),
        "{record}"
    );
}

#[test]
fn fail_fast_stops_with_status_3_when_the_loader_falls_behind() {
    let args = example("events | bpipe --cap 10000 --policy fail | loader");
    let (out, record) = run_example(&args, &[], util::numbered_lines(300_000), true);
    assert_eq!(out.code(), Some(3), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("queue full: --cap 10000 items reached under --policy fail")
    );
    assert_eq!(record["dropped_items"], 0);
}

#[test]
fn a_block_timeout_sheds_the_newest_once_the_consumer_stalls() {
    let args = example("producer | bpipe --block-timeout 200ms --on-timeout drop | consumer");
    let input = util::numbered_lines(300_000);
    let (out, record) = run_example(&args, &[], input.clone(), true);
    assert_eq!(out.code(), Some(0), "{}", out.stderr);
    let (got, all) = (util::items(&out.stdout, b'\n'), util::items(&input, b'\n'));
    assert!(util::is_subsequence(&got, &all));
    assert_eq!(
        got[..1000],
        all[..1000],
        "drop sheds the newest, not the first"
    );
    assert!(record["dropped_items"].as_u64() > Some(0), "{record}");
}

#[test]
fn a_file_argument_is_read_as_pv_reads_it() {
    assert!(Args::try_parse_from(["bpipe", "big.log"]).is_ok());
    let path = std::env::temp_dir().join(format!("bpipe-readme-{}.log", std::process::id()));
    let input = util::numbered_lines(10_000);
    std::fs::write(&path, &input).unwrap();
    let out = util::run(util::bpipe(&[path.to_str().unwrap()]), Vec::new());
    std::fs::remove_file(&path).unwrap();
    assert!(out.stdout == input);
    assert_eq!(out.code(), Some(0));
}
