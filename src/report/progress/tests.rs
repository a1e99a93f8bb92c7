use super::line::{BAR_WIDTH, compact};
use super::*;
use crate::books::stats::Stats;
use crate::books::tally::Tally;
use crate::report::text::tests::snapshot;

fn busy() -> Snapshot<'static> {
    let mut snap = snapshot(Stats {
        input: Tally::new(1_234_567, 80 << 20),
        output: Tally::new(1_000_000, 64 << 20),
        dropped: Tally::new(1532, 180_000),
        depth: Tally::new(48, 4096),
        ..Stats::default()
    });
    snap.name = Some("ingest");
    snap
}

#[test]
fn the_line_fits_the_width_dropping_low_value_fields_first() {
    let rates = [10_000.0, 1e6, 9_000.0, 0.9e6];
    assert_eq!(
        line(&busy(), rates, "", 119, false),
        "[ingest]  [######--] 75%  dropped 1.53k  48/64 lines  in 10.0k/s  out 9.00k/s  \
         977KiB/s in 879KiB/s out  00:00:01"
    );
    assert_eq!(
        line(&busy(), rates, "", 79, false),
        "[ingest]  [######--] 75%  dropped 1.53k  48/64 lines  in 10.0k/s  out 9.00k/s  00:00:01"
            .replace("[ingest]  ", "")
    );
    assert_eq!(
        line(&busy(), rates, "", 39, false),
        "[######--] 75%  dropped 1.53k  00:00:01"
    );
    for width in 10..200 {
        let text = line(&busy(), rates, "", width, false);
        assert!(text.chars().count() <= width, "{width}: {text}");
    }
}

#[test]
fn a_sparkline_of_fill_and_the_stall() {
    let fills: VecDeque<f64> = [0.0, 0.3, 0.6, 1.0].into_iter().collect();
    assert_eq!(sparkline(&fills, true), "▁▃▅█");
    assert_eq!(sparkline(&fills, false), "_,=#");
    let mut snap = busy();
    snap.stats.stalled_now = Duration::from_secs(12);
    let text = line(&snap, [0.0; 4], "_,=#", 119, false);
    assert!(
        text.contains("stalled 12s") && text.contains("_,=#"),
        "{text}"
    );
    assert!(line(&snap, [0.0; 4], "_,=#", 79, false).contains("stalled 12s"));
}

#[test]
fn compact_counts_take_five_columns_at_most() {
    let shown: Vec<String> = [0.0, 999.0, 1000.0, 12_345.0, 123_456.0, 1.5e6, 2e12]
        .into_iter()
        .map(compact)
        .collect();
    assert_eq!(
        shown,
        ["0", "999", "1.00k", "12.3k", "123k", "1.50M", "2.00T"]
    );
}

#[test]
fn the_bar_and_its_percentage_agree() {
    for items in 0..=64 {
        let snap = snapshot(Stats {
            depth: Tally::new(items, 10),
            ..Stats::default()
        });
        let text = line(&snap, [0.0; 4], "", 200, false);
        let cells = text.chars().filter(|&c| c == '#').count();
        let percent: usize = text[text.find(']').unwrap() + 1..text.find('%').unwrap()]
            .trim()
            .parse()
            .unwrap();
        assert_eq!(cells, percent * BAR_WIDTH / 100, "{text}");
    }
}

#[test]
fn a_spill_has_a_second_bar_for_the_disk_kept_while_it_holds_anything() {
    let mut snap = busy();
    snap.spill_max = Some(1 << 30);
    let text = line(&snap, [0.0; 4], "", 200, false);
    assert!(
        text.contains("[######--] 75%  disk [--------] 0% 0B"),
        "{text}"
    );
    snap.stats.spilled = Tally::new(5000, 250 << 20);
    snap.stats.spill_disk = 256 << 20;
    let text = line(&snap, [0.0; 4], "", 200, false);
    assert!(text.contains("disk [##------] 25% 250MiB"), "{text}");
    // Narrower, it goes after the queue's bar, drops and the time, before the rest.
    let narrow = line(&snap, [0.0; 4], "", 85, false);
    assert!(narrow.contains("disk [##------] 25%"), "{narrow}");
    assert!(narrow.chars().count() <= 85, "{narrow}");
    // At 40 columns (37 for the line) what waits on disk is still said, shortened; with
    // drops too, the bars shrink to their figures and the time goes.
    let narrowest = line(&snap, [0.0; 4], "", 37, false);
    assert_eq!(narrowest, "75%  disk 250MiB  dropped 1.53k");
    snap.stats.dropped = Tally::ZERO;
    let narrowest = line(&snap, [0.0; 4], "", 37, false);
    assert_eq!(narrowest, "[######--] 75%  disk 250MiB  00:00:01");
    snap.stats.dropped = Tally::new(1532, 180_000);
    // A full disk and a stall on 80 columns: both are still shown.
    snap.stats.spill_disk = 1 << 30;
    snap.stats.stalled_now = std::time::Duration::from_secs(3);
    let eighty = line(&snap, [0.0; 4], "", 80, false);
    assert!(eighty.contains("disk [########] 100% 250MiB"), "{eighty}");
    assert!(eighty.contains("stalled 3s"), "{eighty}");
}

#[test]
fn a_pool_shows_how_many_workers_run() {
    use crate::output::pool::slot::Figures;
    let figures: Vec<Figures> = (1..=3)
        .map(|slot| Figures {
            slot,
            running: slot != 2,
            ..Figures::default()
        })
        .collect();
    let snap = Snapshot {
        workers: &figures,
        ..busy()
    };
    let text = line(&snap, [0.0; 4], "", 200, false);
    assert!(text.contains("  2 workers  "), "{text}");
    let one = Snapshot {
        workers: &figures[..1],
        ..busy()
    };
    assert!(line(&one, [0.0; 4], "", 200, false).contains("  1 worker  "));
}

#[test]
fn a_drain_after_a_stop_signal_is_shown_in_place_of_the_policy() {
    let mut snap = busy();
    snap.end = crate::report::RunState::Signal(2);
    let text = line(&snap, [0.0; 4], "", 200, false);
    assert!(text.ends_with("draining  00:00:01"), "{text}");
    assert!(line(&snap, [0.0; 4], "", 37, false).contains("draining"));
    snap.end = crate::report::RunState::Running;
    assert!(line(&snap, [0.0; 4], "", 200, false).ends_with("slide  00:00:01"));
}

#[test]
fn drops_stay_red_when_even_the_main_fields_do_not_fit() {
    let text = line(&busy(), [0.0; 4], "", 30, true);
    assert!(text.contains("\x1b[1;31mdropped 1.53k\x1b[0m"), "{text:?}");
}
