//! Every figure a record carries, declared once: its JSON name, its Prometheus metric where it
//! has one (family, label, kind, help), and how to read it from a [`Snapshot`]. The JSON and
//! Prometheus records walk this table; a new figure is one row here plus its place in the
//! ledger. (Text records and the live view choose their own words and read the same
//! snapshot.) Per-worker figures are in [`super::workers`].

use std::time::Duration;

use super::{End, Snapshot};
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

macro_rules! figure {
    ($json:expr, $metric:expr, |$s:ident| $read:expr) => {
        Figure {
            json: $json,
            metric: $metric,
            read: |$s| $read,
        }
    };
}

/// Every figure, in the order of JSON records.
pub static FIGURES: &[Figure] = &[
    figure!(Some("name"), None, |s| s
        .name
        .map_or(Value::Absent, |n| Value::Text(n.into()))),
    figure!(
        Some("elapsed_s"),
        metric(
            "bpipe_elapsed_seconds",
            "",
            Kind::Gauge,
            "Time since bpipe started."
        ),
        |s| Value::Time(s.elapsed)
    ),
    figure!(Some("unit"), None, |s| Value::Text(s.noun.into())),
    figure!(
        Some("in_items"),
        metric(
            "bpipe_items_total",
            "direction=\"in\"",
            Kind::Counter,
            ITEMS
        ),
        |s| Value::Count(s.stats.input.items)
    ),
    figure!(
        Some("in_bytes"),
        metric(
            "bpipe_bytes_total",
            "direction=\"in\"",
            Kind::Counter,
            BYTES
        ),
        |s| Value::Count(s.stats.input.bytes)
    ),
    figure!(
        Some("out_items"),
        metric(
            "bpipe_items_total",
            "direction=\"out\"",
            Kind::Counter,
            ITEMS
        ),
        |s| Value::Count(s.stats.output.items)
    ),
    figure!(
        Some("out_bytes"),
        metric(
            "bpipe_bytes_total",
            "direction=\"out\"",
            Kind::Counter,
            BYTES
        ),
        |s| Value::Count(s.stats.output.bytes)
    ),
    figure!(
        Some("dropped_items"),
        metric(
            "bpipe_items_total",
            "direction=\"dropped\"",
            Kind::Counter,
            ITEMS
        ),
        |s| Value::Count(s.stats.dropped.items)
    ),
    figure!(
        Some("dropped_bytes"),
        metric(
            "bpipe_bytes_total",
            "direction=\"dropped\"",
            Kind::Counter,
            BYTES
        ),
        |s| Value::Count(s.stats.dropped.bytes)
    ),
    figure!(Some("overlong_items"), None, |s| Value::Count(
        s.stats.overlong.items
    )),
    figure!(
        Some("undelivered_items"),
        metric(
            "bpipe_items_total",
            "direction=\"undelivered\"",
            Kind::Counter,
            ITEMS
        ),
        |s| Value::Count(s.stats.undelivered.items)
    ),
    figure!(
        Some("undelivered_bytes"),
        metric(
            "bpipe_bytes_total",
            "direction=\"undelivered\"",
            Kind::Counter,
            BYTES
        ),
        |s| Value::Count(s.stats.undelivered.bytes)
    ),
    figure!(Some("torn_items"), None, |s| Value::Count(s.stats.torn)),
    figure!(
        Some("depth_items"),
        metric("bpipe_queue_items", "", Kind::Gauge, "Items queued now."),
        |s| Value::Count(s.stats.depth.items)
    ),
    figure!(
        Some("depth_bytes"),
        metric("bpipe_queue_bytes", "", Kind::Gauge, "Bytes queued now."),
        |s| Value::Count(s.stats.depth.bytes)
    ),
    figure!(
        Some("in_hand_items"),
        metric(
            "bpipe_in_hand_items",
            "",
            Kind::Gauge,
            "Items the reader and writer hold outside the queue."
        ),
        |s| Value::Count(s.in_hand().items)
    ),
    figure!(Some("in_hand_bytes"), None, |s| Value::Count(
        s.in_hand().bytes
    )),
    figure!(Some("max_depth_items"), None, |s| Value::Count(
        s.stats.max_depth.items
    )),
    figure!(Some("max_depth_bytes"), None, |s| Value::Count(
        s.stats.max_depth.bytes
    )),
    figure!(
        Some("cap_items"),
        metric(
            "bpipe_queue_capacity_items",
            "",
            Kind::Gauge,
            "--cap: the most items the queue holds."
        ),
        |s| Value::Count(s.bounds.items as u64)
    ),
    figure!(
        Some("cap_bytes"),
        metric(
            "bpipe_queue_capacity_bytes",
            "",
            Kind::Gauge,
            "--cap-bytes: the most bytes the queue holds."
        ),
        |s| Value::Count(s.bounds.bytes as u64)
    ),
    figure!(
        Some("blocked_s"),
        metric(
            "bpipe_blocked_seconds_total",
            "",
            Kind::Counter,
            "Time the producer was held back (the reader waited for room)."
        ),
        |s| Value::Time(s.stats.blocked)
    ),
    figure!(
        Some("expired_items"),
        metric(
            "bpipe_expired_items_total",
            "",
            Kind::Counter,
            "Of the dropped items: older than --max-age when the writer came for them."
        ),
        |s| Value::Count(s.stats.expired.items)
    ),
    figure!(Some("expired_bytes"), None, |s| Value::Count(
        s.stats.expired.bytes
    )),
    figure!(
        Some("dead_lettered_items"),
        metric(
            "bpipe_dead_lettered_items_total",
            "",
            Kind::Counter,
            "Of the dropped items: appended to the --dead-letter file."
        ),
        |s| Value::Count(s.stats.dead_lettered.items)
    ),
    figure!(Some("dead_lettered_bytes"), None, |s| Value::Count(
        s.stats.dead_lettered.bytes
    )),
    figure!(Some("discarded_items"), None, |s| Value::Count(
        s.stats.discarded().items
    )),
    figure!(Some("discarded_bytes"), None, |s| Value::Count(
        s.stats.discarded().bytes
    )),
    figure!(
        Some("spill_depth_items"),
        spill_metric(
            "bpipe_spill_items",
            Kind::Gauge,
            "Items on disk now (--spill)."
        ),
        |s| Value::Count(s.stats.spilled.items)
    ),
    figure!(
        Some("spill_depth_bytes"),
        spill_metric(
            "bpipe_spill_bytes",
            Kind::Gauge,
            "Bytes of the items on disk now (--spill)."
        ),
        |s| Value::Count(s.stats.spilled.bytes)
    ),
    figure!(Some("spilled_items"), None, |s| Value::Count(
        s.stats.spilled_total.items
    )),
    figure!(
        Some("spilled_bytes"),
        spill_metric(
            "bpipe_spilled_bytes_total",
            Kind::Counter,
            "Bytes of the items that went to disk (--spill)."
        ),
        |s| Value::Count(s.stats.spilled_total.bytes)
    ),
    figure!(Some("max_spill_bytes"), None, |s| Value::Count(
        s.stats.max_spilled.bytes
    )),
    figure!(Some("spill_disk_bytes"), None, |s| Value::Count(
        s.stats.spill_disk
    )),
    figure!(
        Some("spill_max_bytes"),
        spill_metric("bpipe_spill_capacity_bytes", Kind::Gauge, "--spill-max."),
        |s| s.spill_max.map_or(Value::Absent, Value::Count)
    ),
    figure!(
        Some("kept_items"),
        metric(
            "bpipe_kept_items_total",
            "",
            Kind::Counter,
            "Items matching --keep that a policy looked at and spared."
        ),
        |s| Value::Count(s.stats.kept)
    ),
    figure!(
        Some("markers"),
        metric(
            "bpipe_markers_total",
            "",
            Kind::Counter,
            "Lines written by --mark-drops where items were shed."
        ),
        |s| Value::Count(s.stats.markers.items)
    ),
    figure!(
        Some("wait_p50_s"),
        metric(
            "bpipe_wait_seconds",
            "quantile=\"0.5\"",
            Kind::Summary,
            WAIT
        ),
        |s| Value::Time(s.stats.wait.p50)
    ),
    figure!(
        Some("wait_p99_s"),
        metric(
            "bpipe_wait_seconds",
            "quantile=\"0.99\"",
            Kind::Summary,
            WAIT
        ),
        |s| Value::Time(s.stats.wait.p99)
    ),
    figure!(
        None,
        metric("bpipe_wait_seconds", "_sum", Kind::Summary, WAIT),
        |s| Value::Time(s.stats.wait.sum)
    ),
    figure!(
        None,
        metric("bpipe_wait_seconds", "_count", Kind::Summary, WAIT),
        |s| Value::Count(s.stats.wait.items)
    ),
    figure!(
        Some("wait_max_s"),
        metric(
            "bpipe_wait_max_seconds",
            "",
            Kind::Gauge,
            "Longest time a delivered item waited in bpipe, over the run."
        ),
        |s| Value::Time(s.stats.wait.max)
    ),
    figure!(Some("interval_wait_p50_s"), None, |s| Value::Time(
        s.stats.interval_wait.p50
    )),
    figure!(Some("interval_wait_p99_s"), None, |s| Value::Time(
        s.stats.interval_wait.p99
    )),
    figure!(Some("interval_wait_max_s"), None, |s| Value::Time(
        s.stats.interval_wait.max
    )),
    figure!(
        Some("oldest_age_s"),
        metric(
            "bpipe_oldest_age_seconds",
            "",
            Kind::Gauge,
            "How long the oldest item bpipe holds has waited."
        ),
        |s| Value::Time(s.stats.oldest_age)
    ),
    figure!(
        Some("stalled_s"),
        metric(
            "bpipe_stalled_seconds_total",
            "",
            Kind::Counter,
            "Time stdout was not taking data while bpipe had data for it."
        ),
        |s| Value::Time(s.stats.stalled)
    ),
    figure!(Some("interval_s"), None, |s| Value::Time(s.interval.0)),
    figure!(Some("interval_stalled_share"), None, |s| Value::Ratio(
        s.rates().stalled_share
    )),
    figure!(Some("in_items_per_s"), None, |s| Value::Ratio(
        s.rates().in_items
    )),
    figure!(Some("in_bytes_per_s"), None, |s| Value::Ratio(
        s.rates().in_bytes
    )),
    figure!(Some("out_items_per_s"), None, |s| Value::Ratio(
        s.rates().out_items
    )),
    figure!(Some("out_bytes_per_s"), None, |s| Value::Ratio(
        s.rates().out_bytes
    )),
    figure!(Some("policy"), None, |s| Value::Text(
        policy_name(s.policy).into()
    )),
    figure!(Some("block_timeout_s"), None, |s| match s.policy {
        Policy::Block {
            timeout: Some(t), ..
        } => Value::Time(t),
        _ => Value::Absent,
    }),
    figure!(Some("on_timeout"), None, |s| match s.policy {
        Policy::Block {
            timeout: Some(_),
            then,
        } => Value::Text(then.to_string()),
        _ => Value::Absent,
    }),
    figure!(Some("output_closed"), None, |s| Value::Flag(
        s.end == End::OutputClosed
    )),
    figure!(Some("signal"), None, |s| s
        .signal()
        .map_or(Value::Absent, |n| Value::Count(n as u64))),
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
