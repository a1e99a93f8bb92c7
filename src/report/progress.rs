//! The live status line on a terminal, drawn with indicatif.

use std::time::{Duration, Instant};

use bytesize::ByteSize;
use indicatif::{HumanCount, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::books::tally::Tally;
use crate::report::Snapshot;

/// How often the line is redrawn.
pub const REFRESH: Duration = Duration::from_millis(100);
/// Weight of the newest sample in the smoothed rates.
const SMOOTHING: f64 = 0.3;

/// The live view: a bar of queue fill, rates, totals, drops, policy and elapsed time.
pub struct LiveView {
    bar: ProgressBar,
    last: Option<(Instant, Tally, Tally)>,
    /// Smoothed rates, per second: items in, bytes in, items out.
    rates: [f64; 3],
}

impl LiveView {
    /// `forced` draws even where indicatif would not (not detected as a terminal);
    /// `color` highlights the bar and drops.
    pub fn new(forced: bool, color: bool) -> LiveView {
        let hz = (1000 / REFRESH.as_millis()) as u8;
        let target = if forced {
            ProgressDrawTarget::term_like_with_hz(Box::new(console::Term::stderr()), hz)
        } else {
            ProgressDrawTarget::stderr_with_hz(hz)
        };
        // Drops first (the prefix), so that a narrow terminal cuts the rates, not them.
        let template = if color {
            "{bar:20.cyan/blue} {prefix:.red.bold}{wide_msg} {elapsed_precise}"
        } else {
            "[{bar:20}] {prefix}{wide_msg} {elapsed_precise}"
        };
        let style = ProgressStyle::with_template(template)
            .expect("a valid template")
            .progress_chars(if color { "█▌ " } else { "#- " });
        let bar = ProgressBar::with_draw_target(Some(1000), target).with_style(style);
        LiveView {
            bar,
            last: None,
            rates: [0.0; 3],
        }
    }

    /// Redraws with the figures of `snap`, taken at `now`.
    pub fn update(&mut self, snap: &Snapshot<'_>, now: Instant) {
        let stats = &snap.stats;
        if let Some((then, input, output)) = self.last {
            let secs = now.duration_since(then).as_secs_f64();
            if secs > 0.0 {
                let fresh = [
                    (stats.input.items - input.items) as f64 / secs,
                    (stats.input.bytes - input.bytes) as f64 / secs,
                    (stats.output.items - output.items) as f64 / secs,
                ];
                for (rate, fresh) in self.rates.iter_mut().zip(fresh) {
                    *rate += SMOOTHING * (fresh - *rate);
                }
            }
        }
        self.last = Some((now, stats.input, stats.output));
        let held = stats.depth;
        let fill = (held.items as f64 / snap.bounds.items as f64)
            .max(held.bytes as f64 / snap.bounds.bytes as f64)
            .min(1.0);
        self.bar.set_position((fill * 1000.0) as u64);
        let [in_items, in_bytes, out_items] = self.rates;
        self.bar.set_message(format!(
            "{:>3.0}% {}/{} {noun} {}/{} | in {}/s {}/s | out {}/s | total {} | {}",
            fill * 100.0,
            HumanCount(held.items),
            HumanCount(snap.bounds.items as u64),
            ByteSize(held.bytes).display().iec(),
            ByteSize(snap.bounds.bytes as u64).display().iec(),
            HumanCount(in_items as u64),
            ByteSize(in_bytes as u64).display().iec(),
            HumanCount(out_items as u64),
            HumanCount(stats.input.items),
            snap.policy,
            noun = snap.noun,
        ));
        self.bar.set_prefix(if stats.dropped.items > 0 {
            format!("dropped {} | ", HumanCount(stats.dropped.items))
        } else {
            String::new()
        });
    }

    /// Runs `print` with the line cleared, then redraws it: for records printed meanwhile.
    pub fn suspend<R>(&self, print: impl FnOnce() -> R) -> R {
        self.bar.suspend(print)
    }

    /// Removes the line.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
