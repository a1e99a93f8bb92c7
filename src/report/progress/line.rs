//! The live line's text: the fields that fit the width, and the queue's fill as a bar
//! (with a second bar for the disk under `--spill`) and a sparkline.

use std::collections::VecDeque;
use std::time::Duration;

use crate::report::Snapshot;

pub(super) const BAR_WIDTH: usize = 8;
const SPARK_UNICODE: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
const SPARK_ASCII: [char; 8] = ['_', '.', ',', '-', '=', '+', '*', '#'];

/// How full the queue is: items or bytes, whichever is fuller.
pub(super) fn fill(snap: &Snapshot<'_>) -> f64 {
    let held = snap.stats.depth;
    (held.items as f64 / snap.bounds.items as f64)
        .max(held.bytes as f64 / snap.bounds.bytes as f64)
        .clamp(0.0, 1.0)
}

/// Queue fill over the last half minute, a cell a second.
pub(super) fn sparkline(fills: &VecDeque<f64>, unicode: bool) -> String {
    let cells = if unicode { SPARK_UNICODE } else { SPARK_ASCII };
    fills
        .iter()
        .map(|f| cells[((f * 8.0) as usize).min(7)])
        .collect()
}

fn short(d: Duration) -> String {
    crate::report::short(d, true)
}

/// `999`, `10.0k`, `123k`, `1.23M`: a count that never takes more than five columns.
pub(super) fn compact(n: f64) -> String {
    let (value, unit) = match n {
        n if n < 1e3 => return format!("{n:.0}"),
        n if n < 1e6 => (n / 1e3, "k"),
        n if n < 1e9 => (n / 1e6, "M"),
        n if n < 1e12 => (n / 1e9, "G"),
        n => (n / 1e12, "T"),
    };
    match value {
        v if v < 10.0 => format!("{v:.2}{unit}"),
        v if v < 100.0 => format!("{v:.1}{unit}"),
        v => format!("{v:.0}{unit}"),
    }
}

/// `[######--] 75%`: one figure for both the bar's cells and the percentage shown.
fn bar(fill: f64) -> String {
    let percent = (fill * 100.0).floor() as usize;
    let cells = (percent * BAR_WIDTH) / 100;
    format!(
        "[{}{}] {percent}%",
        "#".repeat(cells),
        "-".repeat(BAR_WIDTH - cells)
    )
}

/// One field of the line: shown while its priority is within the cut (0 is kept longest);
/// one with a short form shrinks to it instead of going.
struct Field {
    priority: u8,
    text: String,
    short: Option<String>,
}

impl Field {
    fn new(priority: u8, text: String) -> Field {
        Field {
            priority,
            text,
            short: None,
        }
    }

    fn or_short(mut self, short: String) -> Field {
        self.short = Some(short);
        self
    }
}

/// `512B`, `1.50KiB`, `12.0MiB`: a size that never takes more than eight columns.
fn size(b: f64) -> String {
    match b {
        b if b < 1024.0 => format!("{b:.0}B"),
        b => {
            let (value, unit) = [
                (1u64 << 40, "TiB"),
                (1 << 30, "GiB"),
                (1 << 20, "MiB"),
                (1 << 10, "KiB"),
            ]
            .into_iter()
            .map(|(scale, unit)| (b / scale as f64, unit))
            .find(|(value, _)| *value >= 1.0)
            .expect("b >= 1024");
            format!(
                "{}{unit}",
                compact(value).trim_end_matches(['k', 'M', 'G', 'T'])
            )
        }
    }
}

/// The status line for `width` columns: the fields that fit, most valuable first, shown in
/// their usual order.
pub(super) fn line(
    snap: &Snapshot<'_>,
    rates: [f64; 4],
    spark: &str,
    width: usize,
    color: bool,
) -> String {
    let s = &snap.stats;
    let held = s.depth;
    let queue_bar = bar(fill(snap));
    let secs = snap.elapsed.as_secs();
    let [in_items, in_bytes, out_items, out_bytes] = rates;
    // In the order shown.
    let mut fields: Vec<Field> = Vec::new();
    if let Some(name) = snap.name {
        fields.push(Field::new(
            4,
            format!("[{}]", crate::report::printable(name)),
        ));
    }
    let percent = queue_bar[queue_bar.find(']').map_or(0, |i| i + 2)..].to_string();
    fields.push(Field::new(0, queue_bar).or_short(percent));
    if let Some(max) = snap.spill_max {
        // The disk tier's own bar, with what it holds: kept long while it holds anything,
        // and then never left out, only shortened to what waits there.
        // The fill is of what --spill-max bounds; the size, of what waits there.
        let disk_fill = (s.spill_disk as f64 / max.max(1) as f64).clamp(0.0, 1.0);
        let waiting = size(s.spilled.bytes as f64);
        let text = format!("disk {} {waiting}", bar(disk_fill));
        fields.push(match s.spill_disk > 0 {
            true => Field::new(1, text).or_short(format!("disk {waiting}")),
            false => Field::new(4, text),
        });
    }
    if s.dropped.items > 0 {
        fields.push(Field::new(
            0,
            format!("dropped {}", compact(s.dropped.items as f64)),
        ));
    }
    if let Some(top) = snap.keys.and_then(|k| k.top.first())
        && top.counts.dropped.items > 0
    {
        fields.push(Field::new(
            1,
            format!(
                "most dropped {} {}",
                crate::report::keys::name(top),
                compact(top.counts.dropped.items as f64)
            ),
        ));
    }
    if !snap.workers.is_empty() {
        let running = snap.workers.iter().filter(|w| w.running).count();
        let noun = if running == 1 { "worker" } else { "workers" };
        fields.push(Field::new(2, format!("{running} {noun}")));
    }
    fields.push(Field::new(
        2,
        format!(
            "{}/{} {}",
            compact(held.items as f64),
            compact(snap.bounds.items as f64),
            snap.noun
        ),
    ));
    if s.stalled_now.as_secs() >= 1 {
        fields.push(Field::new(
            1,
            format!("stalled {}s", s.stalled_now.as_secs()),
        ));
    }
    if !spark.is_empty() {
        fields.push(Field::new(4, spark.to_string()));
    }
    fields.push(Field::new(3, format!("in {}/s", compact(in_items))));
    fields.push(Field::new(3, format!("out {}/s", compact(out_items))));
    if s.interval_wait.items > 0 {
        fields.push(Field::new(
            4,
            format!("wait p99 {}", short(s.interval_wait.p99)),
        ));
    }
    fields.push(Field::new(
        5,
        format!("{}/s in {}/s out", size(in_bytes), size(out_bytes)),
    ));
    fields.push(Field::new(
        6,
        format!("total {}", compact(s.input.items as f64)),
    ));
    match snap.end {
        // A stop's drain: what is left goes out, for at most --drain-timeout.
        crate::report::RunState::Signal(_) => fields.push(Field::new(0, "draining".into())),
        crate::report::RunState::Paused => fields.push(Field::new(0, "paused".into())),
        _ => fields.push(Field::new(7, snap.policy.to_string())),
    }
    fields.push(Field::new(
        0,
        format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60),
    ));
    fit(&fields, width, color)
}

/// The fields that fit in `width` columns: those of the lowest priorities that fit (others
/// in their short form, if they have one); when even priority 0 does not fit, every field in
/// its short form, and if that is still too wide, whole fields from the left. Drops are red
/// when `color`.
fn fit(fields: &[Field], width: usize, color: bool) -> String {
    let shown = |cut: u8, squeeze: bool| -> Vec<&String> {
        fields
            .iter()
            .filter_map(|f| match (f.priority <= cut, &f.short) {
                (true, Some(short)) if squeeze => Some(short),
                (true, _) => Some(&f.text),
                (false, short) => short.as_ref(),
            })
            .collect()
    };
    let len = |kept: &[&String]| {
        kept.iter().map(|t| t.chars().count()).sum::<usize>() + 2 * kept.len().saturating_sub(1)
    };
    let paint = |t: &String| match color && t.starts_with("dropped ") {
        true => format!("\x1b[1;31m{t}\x1b[0m"),
        false => t.to_string(),
    };
    let kept = (0..=7)
        .rev()
        .map(|cut| shown(cut, false))
        .chain([shown(0, true)])
        .find(|kept| len(kept) <= width);
    match kept {
        Some(kept) => kept.iter().map(|t| paint(t)).collect::<Vec<_>>().join("  "),
        // Narrower than the fields that matter most: whole fields from the left (drops
        // still red).
        None => shown(0, true)
            .iter()
            .scan(0, |used, t| {
                *used += t.chars().count() + 2;
                (*used <= width + 2).then(|| paint(t))
            })
            .collect::<Vec<_>>()
            .join("  "),
    }
}
