//! Every figure a record carries, declared once: its JSON name, its Prometheus metric where it
//! has one (family, label, kind, help), and how to read it from a [`Snapshot`]. The JSON and
//! Prometheus records walk this table; a new figure is one row here plus its place in the
//! ledger. (Text records and the live view choose their own words and read the same
//! snapshot.) Per-worker figures are in [`super::workers`].

use std::time::Duration;

use super::{RunState, Snapshot};
use crate::queue::policy::Policy;

/// A figure's value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A count of items, bytes or events.
    Count(u64),
    /// A length of time (JSON: seconds to the microsecond).
    Time(Duration),
    /// A rate or share (JSON: to three decimals).
    Ratio(f64),
    Text(String),
    Flag(bool),
    /// Not given (JSON `null`; no Prometheus sample).
    Absent,
}

impl Value {
    /// For Prometheus: a plain number.
    pub fn number(&self) -> Option<f64> {
        match *self {
            Value::Count(n) => Some(n as f64),
            Value::Time(d) => Some(d.as_secs_f64()),
            Value::Ratio(x) => Some(x),
            Value::Text(_) | Value::Flag(_) | Value::Absent => None,
        }
    }
}

/// A Prometheus metric's kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Summary,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Summary => "summary",
        }
    }
}

/// When a metric is exposed at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shown {
    Always,
    /// With `--spill` only.
    WithSpill,
}

/// Where a figure goes in Prometheus: a sample of a family.
#[derive(Clone, Copy, Debug)]
pub struct Metric {
    pub family: &'static str,
    /// Labels of the sample (`direction="in"`), or a suffix of the family (`_sum`).
    pub label: &'static str,
    pub kind: Kind,
    /// The family's help (the same on every sample of it).
    pub help: &'static str,
    pub shown: Shown,
}

/// One figure.
pub struct Figure {
    /// Its JSON field, if JSON records carry it.
    pub json: Option<&'static str>,
    pub metric: Option<Metric>,
    pub read: fn(&Snapshot<'_>) -> Value,
}

const fn metric(
    family: &'static str,
    label: &'static str,
    kind: Kind,
    help: &'static str,
) -> Option<Metric> {
    Some(Metric {
        family,
        label,
        kind,
        help,
        shown: Shown::Always,
    })
}

const fn spill_metric(family: &'static str, kind: Kind, help: &'static str) -> Option<Metric> {
    Some(Metric {
        family,
        label: "",
        kind,
        help,
        shown: Shown::WithSpill,
    })
}

const ITEMS: &str = "Items read (in), written whole (out), shed by the policy (dropped), never delivered (undelivered).";
const BYTES: &str = "Bytes of the items counted in bpipe_items_total.";
const WAIT: &str = "Time delivered items waited in bpipe, from read to write, over the run.";

/// A figure in JSON records only.
const fn json(name: &'static str, read: fn(&Snapshot<'_>) -> Value) -> Figure {
    Figure {
        json: Some(name),
        metric: None,
        read,
    }
}

/// A figure in JSON and Prometheus records.
const fn both(
    name: &'static str,
    metric: Option<Metric>,
    read: fn(&Snapshot<'_>) -> Value,
) -> Figure {
    Figure {
        json: Some(name),
        metric,
        read,
    }
}

/// A sample of `bpipe_items_total` by direction.
const fn items_by(direction: &'static str) -> Option<Metric> {
    metric("bpipe_items_total", direction, Kind::Counter, ITEMS)
}

/// A sample of `bpipe_bytes_total` by direction.
const fn bytes_by(direction: &'static str) -> Option<Metric> {
    metric("bpipe_bytes_total", direction, Kind::Counter, BYTES)
}

/// Every figure, in the order of JSON records.
#[rustfmt::skip]
pub static FIGURES: &[Figure] = &[
    json("name", |s| s.name.map_or(Value::Absent, |n| Value::Text(n.into()))),
    both("elapsed_s", metric("bpipe_elapsed_seconds", "", Kind::Gauge, "Time since bpipe started."),
        |s| Value::Time(s.elapsed)),
    json("unit", |s| Value::Text(s.noun.into())),
    both("in_items", items_by("direction=\"in\""),
        |s| Value::Count(s.stats.input.items)),
    both("in_bytes", bytes_by("direction=\"in\""),
        |s| Value::Count(s.stats.input.bytes)),
    both("out_items", items_by("direction=\"out\""),
        |s| Value::Count(s.stats.output.items)),
    both("out_bytes", bytes_by("direction=\"out\""),
        |s| Value::Count(s.stats.output.bytes)),
    both("dropped_items", items_by("direction=\"dropped\""),
        |s| Value::Count(s.stats.dropped.items)),
    both("dropped_bytes", bytes_by("direction=\"dropped\""),
        |s| Value::Count(s.stats.dropped.bytes)),
    json("overlong_items", |s| Value::Count(s.stats.overlong.items)),
    both("undelivered_items", items_by("direction=\"undelivered\""),
        |s| Value::Count(s.stats.undelivered.items)),
    both("undelivered_bytes", bytes_by("direction=\"undelivered\""),
        |s| Value::Count(s.stats.undelivered.bytes)),
    json("torn_items", |s| Value::Count(s.stats.torn)),
    both("depth_items", metric("bpipe_queue_items", "", Kind::Gauge, "Items queued now."),
        |s| Value::Count(s.stats.depth.items)),
    both("depth_bytes", metric("bpipe_queue_bytes", "", Kind::Gauge, "Bytes queued now."),
        |s| Value::Count(s.stats.depth.bytes)),
    both("in_hand_items", metric("bpipe_in_hand_items", "", Kind::Gauge,
        "Items the reader and writer hold outside the queue."),
        |s| Value::Count(s.in_hand().items)),
    json("in_hand_bytes", |s| Value::Count(s.in_hand().bytes)),
    json("max_depth_items", |s| Value::Count(s.stats.max_depth.items)),
    json("max_depth_bytes", |s| Value::Count(s.stats.max_depth.bytes)),
    both("cap_items", metric("bpipe_queue_capacity_items", "", Kind::Gauge,
        "--cap: the most items the queue holds."),
        |s| Value::Count(s.bounds.items as u64)),
    both("cap_bytes", metric("bpipe_queue_capacity_bytes", "", Kind::Gauge,
        "--cap-bytes: the most bytes the queue holds."),
        |s| Value::Count(s.bounds.bytes as u64)),
    both("blocked_s", metric("bpipe_blocked_seconds_total", "", Kind::Counter,
        "Time the producer was held back (the reader waited for room)."),
        |s| Value::Time(s.stats.blocked)),
    both("expired_items", metric("bpipe_expired_items_total", "", Kind::Counter,
        "Of the dropped items: older than --max-age when the writer came for them."),
        |s| Value::Count(s.stats.expired.items)),
    json("expired_bytes", |s| Value::Count(s.stats.expired.bytes)),
    both("limited_items", metric("bpipe_limited_items_total", "", Kind::Counter,
        "Of the dropped items: over their key's --rate-per-key when they came."),
        |s| Value::Count(s.stats.limited.items)),
    json("limited_bytes", |s| Value::Count(s.stats.limited.bytes)),
    both("dead_lettered_items", metric("bpipe_dead_lettered_items_total", "", Kind::Counter,
        "Of the dropped items: appended to the --dead-letter file."),
        |s| Value::Count(s.stats.dead_lettered.items)),
    json("dead_lettered_bytes", |s| Value::Count(s.stats.dead_lettered.bytes)),
    json("discarded_items", |s| Value::Count(s.stats.discarded().items)),
    json("discarded_bytes", |s| Value::Count(s.stats.discarded().bytes)),
    both("spill_depth_items", spill_metric("bpipe_spill_items", Kind::Gauge,
        "Items on disk now (--spill)."),
        |s| Value::Count(s.stats.spilled.items)),
    both("spill_depth_bytes", spill_metric("bpipe_spill_bytes", Kind::Gauge,
        "Bytes of the items on disk now (--spill)."),
        |s| Value::Count(s.stats.spilled.bytes)),
    json("spilled_items", |s| Value::Count(s.stats.spilled_total.items)),
    both("spilled_bytes", spill_metric("bpipe_spilled_bytes_total", Kind::Counter,
        "Bytes of the items that went to disk (--spill)."),
        |s| Value::Count(s.stats.spilled_total.bytes)),
    json("max_spill_bytes", |s| Value::Count(s.stats.max_spilled.bytes)),
    json("spill_disk_bytes", |s| Value::Count(s.stats.spill_disk)),
    both("spill_max_bytes", spill_metric("bpipe_spill_capacity_bytes", Kind::Gauge, "--spill-max."),
        |s| s.spill_max.map_or(Value::Absent, Value::Count)),
    both("kept_items", metric("bpipe_kept_items_total", "", Kind::Counter,
        "Items matching --keep that a policy looked at and spared."),
        |s| Value::Count(s.stats.kept)),
    both("markers", metric("bpipe_markers_total", "", Kind::Counter,
        "Lines written by --mark-drops where items were shed."),
        |s| Value::Count(s.stats.markers.items)),
    both("wait_p50_s", metric("bpipe_wait_seconds", "quantile=\"0.5\"", Kind::Summary, WAIT),
        |s| Value::Time(s.stats.wait.p50)),
    both("wait_p99_s", metric("bpipe_wait_seconds", "quantile=\"0.99\"", Kind::Summary, WAIT),
        |s| Value::Time(s.stats.wait.p99)),
    Figure { json: None, metric: metric("bpipe_wait_seconds", "_sum", Kind::Summary, WAIT),
        read: |s| Value::Time(s.stats.wait.sum) },
    Figure { json: None, metric: metric("bpipe_wait_seconds", "_count", Kind::Summary, WAIT),
        read: |s| Value::Count(s.stats.wait.items) },
    both("wait_max_s", metric("bpipe_wait_max_seconds", "", Kind::Gauge,
        "Longest time a delivered item waited in bpipe, over the run."),
        |s| Value::Time(s.stats.wait.max)),
    json("interval_wait_p50_s", |s| Value::Time(s.stats.interval_wait.p50)),
    json("interval_wait_p99_s", |s| Value::Time(s.stats.interval_wait.p99)),
    json("interval_wait_max_s", |s| Value::Time(s.stats.interval_wait.max)),
    both("oldest_age_s", metric("bpipe_oldest_age_seconds", "", Kind::Gauge,
        "How long the oldest item bpipe holds has waited."),
        |s| Value::Time(s.stats.oldest_age)),
    both("stalled_s", metric("bpipe_stalled_seconds_total", "", Kind::Counter,
        "Time stdout was not taking data while bpipe had data for it."),
        |s| Value::Time(s.stats.stalled)),
    json("interval_s", |s| Value::Time(s.interval.0)),
    json("interval_stalled_share", |s| Value::Ratio(s.rates().stalled_share)),
    json("in_items_per_s", |s| Value::Ratio(s.rates().in_items)),
    json("in_bytes_per_s", |s| Value::Ratio(s.rates().in_bytes)),
    json("out_items_per_s", |s| Value::Ratio(s.rates().out_items)),
    json("out_bytes_per_s", |s| Value::Ratio(s.rates().out_bytes)),
    json("policy", |s| Value::Text(policy_name(s.policy).into())),
    json("block_timeout_s", |s| match s.policy {
        Policy::Block { timeout: Some(t), .. } => Value::Time(t),
        _ => Value::Absent,
    }),
    json("on_timeout", |s| match s.policy {
        Policy::Block { timeout: Some(_), then } => Value::Text(then.to_string()),
        _ => Value::Absent,
    }),
    json("output_closed", |s| Value::Flag(s.end == RunState::OutputClosed)),
    json("paused", |s| Value::Flag(s.end == RunState::Paused)),
    json("signal", |s| s.signal().map_or(Value::Absent, |n| Value::Count(n as u64))),
];

/// The policy's name in records.
fn policy_name(policy: Policy) -> &'static str {
    use crate::queue::policy::Shed;
    match policy {
        Policy::Block { .. } => "block",
        Policy::Shed(Shed::Drop) => "drop",
        Policy::Shed(Shed::Slide) => "slide",
        Policy::Shed(Shed::Fail) => "fail",
    }
}
