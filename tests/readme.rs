//! The README's examples cannot rot: every bpipe invocation in it must parse and validate
//! with the current flags, and the set-up example runs for real.

mod util;

use bpipe::cli::Args;
use bpipe::config::Config;
use clap::Parser;

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
            let words: Vec<String> = segment.split_whitespace().map(str::to_string).collect();
            if words.first().is_some_and(|w| w == "bpipe")
                && words.get(1).is_none_or(|w| w.starts_with('-'))
            {
                found.push(words);
            }
        }
    }
    found
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
