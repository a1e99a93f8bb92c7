//! Records in the Prometheus text exposition format, for node_exporter's textfile collector:
//! the whole file is replaced at every record (see [`crate::report::out::Replace`]).

use std::fmt::Write as _;

use super::Snapshot;

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

pub fn prometheus_record(snap: &Snapshot<'_>) -> String {
    let s = &snap.stats;
    let mut out = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, samples: &[(&str, f64)]| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        for (label, value) in samples {
            let suffix = if label.starts_with('_') { *label } else { "" };
            let label = if label.starts_with('_') { "" } else { *label };
            let _ = writeln!(out, "{name}{suffix}{} {value}", labels(snap, label));
        }
    };
    let directions = |f: &dyn Fn(crate::books::tally::Tally) -> u64| {
        [
            ("direction=\"in\"", f(s.input) as f64),
            ("direction=\"out\"", f(s.output) as f64),
            ("direction=\"dropped\"", f(s.dropped) as f64),
            ("direction=\"undelivered\"", f(s.undelivered) as f64),
        ]
    };
    metric(
        "bpipe_items_total",
        "counter",
        "Items read (in), written whole (out), shed by the policy (dropped), never delivered (undelivered).",
        &directions(&|t| t.items),
    );
    metric(
        "bpipe_bytes_total",
        "counter",
        "Bytes of the items counted in bpipe_items_total.",
        &directions(&|t| t.bytes),
    );
    metric(
        "bpipe_expired_items_total",
        "counter",
        "Of the dropped items: older than --max-age when the writer came for them.",
        &[("", s.expired.items as f64)],
    );
    metric(
        "bpipe_dead_lettered_items_total",
        "counter",
        "Of the dropped items: appended to the --dead-letter file.",
        &[("", s.dead_lettered.items as f64)],
    );
    if let Some(max) = snap.spill_max {
        metric(
            "bpipe_spill_bytes",
            "gauge",
            "Bytes of the items on disk now (--spill).",
            &[("", s.spilled.bytes as f64)],
        );
        metric(
            "bpipe_spill_items",
            "gauge",
            "Items on disk now (--spill).",
            &[("", s.spilled.items as f64)],
        );
        metric(
            "bpipe_spilled_bytes_total",
            "counter",
            "Bytes of the items that went to disk (--spill).",
            &[("", s.spilled_total.bytes as f64)],
        );
        metric(
            "bpipe_spill_capacity_bytes",
            "gauge",
            "--spill-max.",
            &[("", max as f64)],
        );
    }
    if !snap.workers.is_empty() {
        let running = snap.workers.iter().filter(|w| w.running).count();
        metric(
            "bpipe_workers_running",
            "gauge",
            "Workers running now (--workers).",
            &[("", running as f64)],
        );
        let slots: Vec<String> = snap
            .workers
            .iter()
            .map(|w| format!("worker=\"{}\"", w.slot))
            .collect();
        let each = |f: &dyn Fn(&crate::output::pool::slot::Figures) -> f64| {
            slots
                .iter()
                .zip(snap.workers)
                .map(|(label, w)| (label.as_str(), f(w)))
                .collect::<Vec<_>>()
        };
        metric(
            "bpipe_worker_items_total",
            "counter",
            "Items each worker was given whole and did not leave unread (--workers).",
            &each(&|w| w.items as f64),
        );
        metric(
            "bpipe_worker_undelivered_items_total",
            "counter",
            "Items a worker exited without reading (--workers).",
            &each(&|w| w.undelivered as f64),
        );
        metric(
            "bpipe_worker_taking_ratio",
            "gauge",
            "Share of a worker's time that its pipe had room (--workers).",
            &each(&|w| w.taking_share),
        );
    }
    metric(
        "bpipe_kept_items_total",
        "counter",
        "Items matching --keep that a policy looked at and spared.",
        &[("", s.kept as f64)],
    );
    metric(
        "bpipe_markers_total",
        "counter",
        "Lines written by --mark-drops where items were shed.",
        &[("", s.markers.items as f64)],
    );
    let in_hand = snap.in_hand();
    metric(
        "bpipe_queue_items",
        "gauge",
        "Items queued now.",
        &[("", s.depth.items as f64)],
    );
    metric(
        "bpipe_queue_bytes",
        "gauge",
        "Bytes queued now.",
        &[("", s.depth.bytes as f64)],
    );
    metric(
        "bpipe_queue_capacity_items",
        "gauge",
        "--cap: the most items the queue holds.",
        &[("", snap.bounds.items as f64)],
    );
    metric(
        "bpipe_queue_capacity_bytes",
        "gauge",
        "--cap-bytes: the most bytes the queue holds.",
        &[("", snap.bounds.bytes as f64)],
    );
    metric(
        "bpipe_in_hand_items",
        "gauge",
        "Items the reader and writer hold outside the queue.",
        &[("", in_hand.items as f64)],
    );
    metric(
        "bpipe_wait_seconds",
        "summary",
        "Time delivered items waited in bpipe, from read to write, over the run.",
        &[
            ("quantile=\"0.5\"", s.wait.p50.as_secs_f64()),
            ("quantile=\"0.99\"", s.wait.p99.as_secs_f64()),
            ("_sum", s.wait.sum.as_secs_f64()),
            ("_count", s.wait.items as f64),
        ],
    );
    metric(
        "bpipe_wait_max_seconds",
        "gauge",
        "Longest time a delivered item waited in bpipe, over the run.",
        &[("", s.wait.max.as_secs_f64())],
    );
    metric(
        "bpipe_oldest_age_seconds",
        "gauge",
        "How long the oldest item bpipe holds has waited.",
        &[("", s.oldest_age.as_secs_f64())],
    );
    metric(
        "bpipe_stalled_seconds_total",
        "counter",
        "Time stdout was not taking data while bpipe had data for it.",
        &[("", s.stalled.as_secs_f64())],
    );
    metric(
        "bpipe_blocked_seconds_total",
        "counter",
        "Time the producer was held back (the reader waited for room).",
        &[("", s.blocked.as_secs_f64())],
    );
    metric(
        "bpipe_elapsed_seconds",
        "gauge",
        "Time since bpipe started.",
        &[("", snap.elapsed.as_secs_f64())],
    );
    out
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
}
