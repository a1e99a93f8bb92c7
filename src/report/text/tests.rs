use std::time::Duration;

use super::*;
use crate::books::stats::Stats;
use crate::books::tally::Tally;
use crate::queue::Bounds;
use crate::queue::policy::{Policy, Shed};

pub(crate) fn snapshot(stats: Stats) -> Snapshot<'static> {
    Snapshot {
        name: None,
        noun: "lines",
        policy: Policy::Shed(Shed::Slide),
        bounds: Bounds {
            items: 64,
            bytes: 16 << 20,
        },
        spill_max: None,
        workers: &[],
        keys: None,
        stats,
        elapsed: Duration::from_millis(1200),
        end: RunState::Finished,
        interval: (Duration::from_millis(1200), Stats::default()),
    }
}

fn stats() -> Stats {
    Stats {
        input: Tally::new(1000, 12_600),
        output: Tally::new(990, 12_290),
        dropped: Tally::new(10, 310),
        overlong: Tally::new(1, 100),
        max_depth: Tally::new(64, 2048),
        ..Stats::default()
    }
}

#[test]
fn text_records_name_every_figure_that_is_not_zero() {
    assert_eq!(
        text_record(Event::Final, &snapshot(stats())),
        "bpipe: in 1000 lines 12.3 KiB, out 990 lines 12.0 KiB, dropped 10 lines 310 B \
         (slide; 1 over --max-line), max depth 64 lines 2.0 KiB, 1.20s, 825 lines/s \
         10.0 KiB/s"
    );
    let clean = Stats {
        input: Tally::new(1, 6),
        output: Tally::new(1, 6),
        ..Stats::default()
    };
    assert_eq!(
        text_record(Event::Final, &snapshot(clean)),
        "bpipe: in 1 line 6 B, out 1 line 6 B, 1.20s, 1 lines/s 5 B/s"
    );
    let mut named = snapshot(Stats {
        undelivered: Tally::new(2, 20),
        torn: 1,
        blocked: Duration::from_millis(2060),
        ..stats()
    });
    named.name = Some("ingest");
    named.end = RunState::OutputClosed;
    let line = text_record(Event::Final, &named);
    assert!(line.starts_with("bpipe[ingest]: in 1000 lines"), "{line}");
    assert!(
        line.contains(", undelivered 2 lines 20 B (1 cut short), "),
        "{line}"
    );
    assert!(
        line.contains(", blocked 2.06s, output closed, 1.20s"),
        "{line}"
    );
}

#[test]
fn ticks_show_the_queue_and_what_is_in_hand() {
    let line = text_record(
        Event::Tick,
        &snapshot(Stats {
            depth: Tally::new(3, 30),
            in_flight: Tally::new(1, 5),
            input: Tally::new(1004, 12_635),
            ..stats()
        }),
    );
    assert!(
        line.contains(", depth 3/64 lines 30 B/16.0 MiB, in hand 1 line 5 B, "),
        "{line}"
    );
}

#[test]
fn waits_stalls_and_expiry_are_shown_when_there_are_any() {
    use crate::books::wait::WaitFigures;
    let mut snap = snapshot(Stats {
        wait: WaitFigures {
            p50: Duration::from_micros(850),
            p99: Duration::from_micros(12_500),
            max: Duration::from_millis(1200),
            items: 990,
            sum: Duration::from_secs(2),
        },
        stalled: Duration::from_millis(600),
        expired: Tally::new(4, 40),
        oldest_age: Duration::from_millis(30),
        ..stats()
    });
    let line = text_record(Event::Final, &snap);
    assert!(
        line.contains(", wait p50 850us p99 12.5ms max 1.20s, "),
        "{line}"
    );
    assert!(
        line.contains(", stalled 0.60s (50%), expired 4 lines, "),
        "{line}"
    );
    assert!(!line.contains("oldest"), "{line}");
    snap.end = RunState::Running;
    assert!(text_record(Event::Tick, &snap).contains(", oldest 30.0ms, "));
}

#[test]
fn warnings_and_stops() {
    let mut stopping = snapshot(Stats {
        depth: Tally::new(5, 50),
        undelivered: Tally::new(1, 10),
        ..stats()
    });
    stopping.end = RunState::Signal(15);
    assert_eq!(
        text_record(
            Event::Stop {
                drain: Duration::from_secs(5)
            },
            &stopping
        ),
        "bpipe: stopping on signal 15: draining 5 lines 50 B (at most 5s; signal again to \
         stop at once); 1 line 10 B undelivered"
    );
    assert_eq!(
        text_record(Event::Drop, &snapshot(stats())),
        "bpipe: dropping under --policy slide: 10 lines 310 B dropped so far"
    );
}

#[test]
fn a_name_with_control_characters_stays_on_one_line() {
    let mut snap = snapshot(stats());
    snap.name = Some("evil\n\x1b[2Jname");
    let line = text_record(Event::Final, &snap);
    assert!(
        line.starts_with("bpipe[evil\\n\\u{1b}[2Jname]: in"),
        "{line}"
    );
    assert!(!line.contains('\n') && !line.contains('\x1b'));
}
