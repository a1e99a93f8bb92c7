//! `--chunk` under plain `block`: bytes that need no looking at go from stdin to stdout by
//! splice whenever the queue is empty and the writer idle, and through the queue otherwise.
//! Whichever way each byte went, the output is the input and the books are exact, with a
//! consumer that keeps up, one that stalls, one that is slow but steady, and one that leaves.

mod util;

use std::io::Read;
use std::thread;
use std::time::Duration;

use util::*;

const ARGS: &[&str] = &["--chunk", "64KiB", "--stats-format", "json", "--summary"];

fn check(input: &[u8], stdout: &[u8], stderr: &str) {
    assert!(
        stdout == input,
        "the output is not the input ({} of {} bytes)",
        stdout.len(),
        input.len()
    );
    let record = last_record(stderr);
    assert_eq!(n(&record, "in_bytes"), input.len() as u64, "{record}");
    assert_eq!(n(&record, "out_bytes"), input.len() as u64, "{record}");
    assert_eq!(n(&record, "in_items"), n(&record, "out_items"), "{record}");
    assert_eq!(
        n(&record, "undelivered_items") + n(&record, "dropped_items"),
        0
    );
}

#[test]
fn the_output_is_the_input_and_the_books_exact_with_fast_and_stalled_consumers() {
    let input = noise(8 << 20, 11);
    for (name, ran) in [
        ("fast", run(bpipe(ARGS), input.clone())),
        ("stalled", run_stalled(bpipe(ARGS), input.clone())),
        (
            "stalled 300 ms",
            run_stalled_for(bpipe(ARGS), input.clone(), Duration::from_millis(300)),
        ),
    ] {
        assert!(ran.status.success(), "{name}: {}", ran.stderr);
        check(&input, &ran.stdout, &ran.stderr);
    }
}

#[test]
fn the_output_is_the_input_with_a_slow_but_steady_consumer() {
    let input = noise(4 << 20, 12);
    let mut fed = Fed::start(bpipe(ARGS), input.clone());
    // About 16 MiB/s: stdout fills and empties again and again.
    let mut stdout = fed.child.stdout.take().unwrap();
    let (mut got, mut buf) = (Vec::new(), vec![0; 16 << 10]);
    loop {
        match stdout.read(&mut buf).unwrap() {
            0 => break,
            k => got.extend_from_slice(&buf[..k]),
        }
        thread::sleep(Duration::from_millis(1));
    }
    let (status, errors) = fed.finish();
    assert!(status.success());
    check(&input, &got, &errors);
}

#[test]
fn a_consumer_that_leaves_gets_a_prefix_and_the_books_balance() {
    let input = noise(8 << 20, 13);
    for run in 0..20 {
        let mut fed = Fed::start(bpipe(ARGS), input.clone());
        let mut stdout = fed.child.stdout.take().unwrap();
        let mut got = vec![0; 1000 + run * 99_991];
        stdout.read_exact(&mut got).unwrap();
        drop(stdout);
        let (status, errors) = fed.finish();
        assert!(status.success(), "run {run}");
        let record = last_record(&errors);
        for unit in ["items", "bytes"] {
            let f = |what: &str| n(&record, &format!("{what}_{unit}"));
            assert_eq!(
                f("in"),
                f("out") + f("dropped") + f("undelivered"),
                "{record}"
            );
        }
        assert!(n(&record, "out_bytes") >= got.len() as u64, "{record}");
        assert!(
            got == input[..got.len()],
            "run {run}: not a prefix of the input"
        );
    }
}
