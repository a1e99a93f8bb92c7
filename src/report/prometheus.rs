//! Records in the Prometheus text exposition format, for node_exporter's textfile collector:
//! the whole file is replaced at every record (see [`crate::report::out::Replace`]).

use std::fmt::Write as _;

use super::Snapshot;
use super::figures::{FIGURES, Metric, Shown};
use crate::output::pool::slot::Figures;

/// `name="…"` with Prometheus' escapes, or nothing without `-N`.
fn labels(snap: &Snapshot<'_>, more: &str) -> String {
    let mut all: Vec<String> = Vec::new();
    if let Some(name) = snap.name {
        let escaped = name
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n");
        all.push(format!("name=\"{escaped}\""));
    }
    if !more.is_empty() {
        all.push(more.to_string());
    }
    match all.is_empty() {
        true => String::new(),
        false => format!("{{{}}}", all.join(",")),
    }
}

/// The order of the families in a record (as the README lists them); `WORKERS` stands for
/// the per-worker families.
const ORDER: &[&str] = &[
    "bpipe_items_total",
    "bpipe_bytes_total",
    "bpipe_expired_items_total",
    "bpipe_limited_items_total",
    "bpipe_dead_lettered_items_total",
    "bpipe_spill_bytes",
    "bpipe_spill_items",
    "bpipe_spilled_bytes_total",
    "bpipe_spill_capacity_bytes",
    WORKERS,
    "bpipe_kept_items_total",
    "bpipe_markers_total",
    "bpipe_queue_items",
    "bpipe_queue_bytes",
    "bpipe_queue_capacity_items",
    "bpipe_queue_capacity_bytes",
    "bpipe_in_hand_items",
    "bpipe_wait_seconds",
    "bpipe_wait_max_seconds",
    "bpipe_oldest_age_seconds",
    "bpipe_stalled_seconds_total",
    "bpipe_blocked_seconds_total",
    "bpipe_elapsed_seconds",
    KEYS,
];
const WORKERS: &str = "workers";
const KEYS: &str = "keys";

/// The record: each family of the figures table, in [`ORDER`], its HELP and TYPE once, then
/// its samples; the workers' where they belong.
pub fn prometheus_record(snap: &Snapshot<'_>) -> String {
    let mut out = String::new();
    let shown = |m: &Metric| m.shown == Shown::Always || snap.spill_max.is_some();
    for &name in ORDER {
        if name == WORKERS {
            if !snap.workers.is_empty() {
                workers(&mut out, snap);
            }
            continue;
        }
        if name == KEYS {
            if let Some(keys) = snap.keys {
                key_families(&mut out, snap, keys);
            }
            continue;
        }
        let metrics = FIGURES
            .iter()
            .filter_map(|f| f.metric.as_ref().map(|m| (f, m)));
        let samples: Vec<(&Metric, f64)> = metrics
            .filter(|(_, m)| m.family == name && shown(m))
            .filter_map(|(f, m)| (f.read)(snap).number().map(|v| (m, v)))
            .collect();
        let Some((family, _)) = samples.first() else {
            continue;
        };
        let samples: Vec<(&str, f64)> = samples.iter().map(|(m, v)| (m.label, *v)).collect();
        metric(
            &mut out,
            snap,
            (name, family.kind.name(), family.help),
            &samples,
        );
    }
    out
}

/// A family: its HELP and TYPE, then each sample (`(labels or suffix, value)`).
fn metric(
    out: &mut String,
    snap: &Snapshot<'_>,
    (name, kind, help): (&str, &str, &str),
    samples: &[(&str, f64)],
) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
    for (label, value) in samples {
        let suffix = if label.starts_with('_') { *label } else { "" };
        let label = if label.starts_with('_') { "" } else { *label };
        let _ = writeln!(out, "{name}{suffix}{} {value}", labels(snap, label));
    }
}

/// A per-worker family: name, kind, help, and how to read it from a worker's figures.
type WorkerFamily<'a> = (&'a str, &'a str, &'a str, &'a dyn Fn(&Figures) -> f64);

/// `--workers`: how many run, and each worker's figures by its `worker` label.
fn workers(out: &mut String, snap: &Snapshot<'_>) {
    let running = snap.workers.iter().filter(|w| w.running).count();
    metric(
        out,
        snap,
        (
            "bpipe_workers_running",
            "gauge",
            "Workers running now (--workers).",
        ),
        &[("", running as f64)],
    );
    let slots: Vec<String> = snap
        .workers
        .iter()
        .map(|w| format!("worker=\"{}\"", w.slot))
        .collect();
    let each = |f: &dyn Fn(&Figures) -> f64| {
        slots
            .iter()
            .zip(snap.workers)
            .map(|(label, w)| (label.as_str(), f(w)))
            .collect::<Vec<_>>()
    };
    let families: [WorkerFamily; 3] = [
        (
            "bpipe_worker_items_total",
            "counter",
            "Items each worker was given whole and did not leave unread (--workers).",
            &|w| w.items as f64,
        ),
        (
            "bpipe_worker_undelivered_items_total",
            "counter",
            "Items a worker exited without reading (--workers).",
            &|w| w.undelivered as f64,
        ),
        (
            "bpipe_worker_taking_ratio",
            "gauge",
            "Share of a worker's time that its pipe had room (--workers).",
            &|w| w.taking_share,
        ),
    ];
    for (name, kind, help, read) in families {
        metric(out, snap, (name, kind, help), &each(read));
    }
}

/// `--key`: how many keys are tracked and folded, and the top keys' books by `key` label.
fn key_families(out: &mut String, snap: &Snapshot<'_>, keys: &crate::keys::KeyFigures) {
    let gauges = [
        (
            "bpipe_keys_tracked",
            "gauge",
            "Keys tracked now (at most --max-keys).",
            keys.tracked,
        ),
        (
            "bpipe_keys_folded_total",
            "counter",
            "Keys folded into 'other' to keep within --max-keys.",
            keys.folded,
        ),
    ];
    for (name, kind, help, value) in gauges {
        metric(out, snap, (name, kind, help), &[("", value as f64)]);
    }
    let labels: Vec<String> = keys.top.iter().map(super::keys::label).collect();
    for (name, kind, help, read) in super::keys::FAMILIES {
        let mut samples: Vec<(&str, f64)> = labels
            .iter()
            .zip(&keys.top)
            .map(|(label, row)| (label.as_str(), read(&row.counts) as f64))
            .collect();
        // The keys not named, summed: with them, the whole.
        samples.push(("rest=\"true\"", read(&keys.rest) as f64));
        metric(out, snap, (name, kind, help), &samples);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::books::stats::Stats;
    use crate::books::tally::Tally;
    use crate::report::text::tests::snapshot;

    #[test]
    fn every_metric_has_help_and_type_and_the_name_is_a_label() {
        let mut snap = snapshot(Stats {
            input: Tally::new(10, 100),
            output: Tally::new(7, 70),
            ..Stats::default()
        });
        snap.name = Some("in\"gest");
        let text = prometheus_record(&snap);
        assert!(
            text.contains("bpipe_items_total{name=\"in\\\"gest\",direction=\"in\"} 10\n"),
            "{text}"
        );
        assert!(
            text.contains("bpipe_wait_seconds_count{name=\"in\\\"gest\"} 0\n"),
            "{text}"
        );
        let names: Vec<&str> = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| l.split(['{', ' ']).next().unwrap())
            .collect();
        for name in names {
            let family = name.trim_end_matches("_sum").trim_end_matches("_count");
            assert!(
                text.contains(&format!("# TYPE {family} ")),
                "no TYPE for {name}"
            );
        }
    }

    #[test]
    fn every_family_of_the_table_has_its_place_in_the_record() {
        for figure in FIGURES {
            if let Some(m) = &figure.metric {
                assert!(
                    ORDER.contains(&m.family),
                    "{} has no place in ORDER",
                    m.family
                );
            }
        }
    }
}
