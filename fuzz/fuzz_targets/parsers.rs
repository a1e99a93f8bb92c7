//! Every value the command line accepts, for every flag that takes one, is usable: it passes
//! validation or is refused with a message, and what passes drives the queue and the rate
//! limiter without a panic (no deadline overflows, no zero bounds).
#![no_main]

use std::time::{Duration, Instant};

use bpipe::fuzzing::{Batch, Limiter, Press, Queue, Rate, Take, Tally};
use bpipe::{Args, Config};
use clap::Parser;
use libfuzzer_sys::fuzz_target;

const FLAGS: &[&[&str]] = &[
    &["--cap"],
    &["--cap-bytes"],
    &["--chunk"],
    &["--max-line"],
    &["--rate"],
    &["--burst", "--rate", "10MiB/s"],
    &["--burst", "--rate", "100/s"],
    &["--block-timeout"],
    &["--block-timeout", "--on-timeout", "drop"],
    &["--drain-timeout"],
    &["--stats-interval"],
];

fuzz_target!(|text: &str| {
    for flag in FLAGS {
        let mut argv = vec!["bpipe", flag[0], text];
        argv.extend_from_slice(&flag[1..]);
        let Ok(args) = Args::try_parse_from(&argv) else {
            continue;
        };
        let Ok(config) = Config::from_args(&args) else {
            continue;
        };
        exercise(&config);
    }
    if let Ok(rate) = Rate::parse(text) {
        assert_eq!(Rate::parse(&rate.to_string()), Ok(rate), "{rate} does not parse back");
    }
});

fn exercise(config: &Config) {
    let queue = Queue::new(config.bounds, config.policy).expect("an eventfd");
    let item = vec![b'x'; config.framing.max_item().min(1 << 16)];
    let _ = queue.try_push(Batch::from_items([&item[..], &item[..]]));
    queue.press(Press::Stalled);
    let _ = queue.retry();
    let mut hand = Vec::new();
    let _ = queue.next(Tally::ZERO, &mut hand);
    let _ = queue.take(Take::ALL, &mut hand);
    if let Some((rate, burst)) = config.rate {
        let mut limiter = Limiter::new(rate, burst);
        let now = Instant::now();
        for (want, at) in [(1, now), (u64::MAX, now), (1, now + Duration::from_secs(3600))] {
            match limiter.available(want, at, false) {
                Ok(n) => limiter.spend(n),
                Err(when) => assert!(when >= at),
            }
        }
    }
}
