//! JSON records (JSON Lines): every figure, `event` first, seconds rounded to the
//! microsecond, the policy as fields.

use serde_json::json;

use super::{Event, Snapshot};
use crate::queue::policy::{Policy, Shed};

/// Seconds to the microsecond: `1.517993`, not `1.5179925829999998`.
fn seconds(d: std::time::Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e6
}

pub fn json_record(event: Event, snap: &Snapshot<'_>) -> String {
    let s = &snap.stats;
    let in_hand = snap.in_hand();
    let rates = snap.rates();
    let round = |x: f64| (x * 1000.0).round() / 1000.0;
    let (policy, block_timeout, on_timeout) = match snap.policy {
        Policy::Block { timeout, then } => (
            "block",
            timeout.map(seconds),
            timeout.map(|_| then.to_string()),
        ),
        Policy::Shed(shed) => (
            match shed {
                Shed::Drop => "drop",
                Shed::Slide => "slide",
                Shed::Fail => "fail",
            },
            None,
            None,
        ),
    };
    let mut record = json!({
        "event": event.name(),
        "name": snap.name,
        "elapsed_s": seconds(snap.elapsed),
        "unit": snap.noun,
        "in_items": s.input.items,
        "in_bytes": s.input.bytes,
        "out_items": s.output.items,
        "out_bytes": s.output.bytes,
        "dropped_items": s.dropped.items,
        "dropped_bytes": s.dropped.bytes,
        "overlong_items": s.overlong.items,
        "undelivered_items": s.undelivered.items,
        "undelivered_bytes": s.undelivered.bytes,
        "torn_items": s.torn,
        "depth_items": s.depth.items,
        "depth_bytes": s.depth.bytes,
        "in_hand_items": in_hand.items,
        "in_hand_bytes": in_hand.bytes,
        "max_depth_items": s.max_depth.items,
        "max_depth_bytes": s.max_depth.bytes,
        "cap_items": snap.bounds.items,
        "cap_bytes": snap.bounds.bytes,
        "blocked_s": seconds(s.blocked),
        "expired_items": s.expired.items,
        "expired_bytes": s.expired.bytes,
        "dead_lettered_items": s.dead_lettered.items,
        "dead_lettered_bytes": s.dead_lettered.bytes,
        "discarded_items": s.discarded().items,
        "discarded_bytes": s.discarded().bytes,
        "spill_depth_items": s.spilled.items,
        "spill_depth_bytes": s.spilled.bytes,
        "spilled_items": s.spilled_total.items,
        "spilled_bytes": s.spilled_total.bytes,
        "max_spill_bytes": s.max_spilled.bytes,
        "spill_disk_bytes": s.spill_disk,
        "spill_max_bytes": snap.spill_max,
        "kept_items": s.kept,
        "markers": s.markers.items,
        "wait_p50_s": seconds(s.wait.p50),
        "wait_p99_s": seconds(s.wait.p99),
        "wait_max_s": seconds(s.wait.max),
        "interval_wait_p50_s": seconds(s.interval_wait.p50),
        "interval_wait_p99_s": seconds(s.interval_wait.p99),
        "interval_wait_max_s": seconds(s.interval_wait.max),
        "oldest_age_s": seconds(s.oldest_age),
        "stalled_s": seconds(s.stalled),
        "interval_s": seconds(snap.interval.0),
        "interval_stalled_share": round(rates.stalled_share),
        "in_items_per_s": round(rates.in_items),
        "in_bytes_per_s": round(rates.in_bytes),
        "out_items_per_s": round(rates.out_items),
        "out_bytes_per_s": round(rates.out_bytes),
        "policy": policy,
        "block_timeout_s": block_timeout,
        "on_timeout": on_timeout,
        "output_closed": snap.end == super::End::OutputClosed,
        "signal": snap.signal(),
    });
    if !snap.workers.is_empty() {
        let running = snap.workers.iter().filter(|w| w.running).count();
        record["workers_running"] = running.into();
        record["workers"] = super::workers::json_part(snap.workers);
    }
    record.to_string()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::books::stats::Stats;
    use crate::books::tally::Tally;
    use crate::report::text::tests::snapshot;

    #[test]
    fn json_records_carry_every_field_event_first() {
        let mut snap = snapshot(Stats {
            depth: Tally::new(3, 30),
            in_flight: Tally::new(1, 5),
            input: Tally::new(1000, 12_600),
            blocked: Duration::from_nanos(1_517_992_583),
            ..Stats::default()
        });
        snap.name = Some("a \"quoted\" name");
        snap.policy = Policy::Block {
            timeout: Some(Duration::from_millis(200)),
            then: Shed::Drop,
        };
        let line = json_record(Event::Tick, &snap);
        assert!(line.starts_with("{\"event\":\"tick\","), "{line}");
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["name"], "a \"quoted\" name");
        assert_eq!(value["in_items"], 1000);
        assert_eq!(value["depth_items"], 3);
        assert_eq!(value["in_hand_bytes"], 5);
        assert_eq!(value["cap_bytes"], 16 << 20);
        assert_eq!(value["blocked_s"], 1.517993);
        assert_eq!(value["policy"], "block");
        assert_eq!(value["block_timeout_s"], 0.2);
        assert_eq!(value["on_timeout"], "drop");
        assert_eq!(value["signal"], serde_json::Value::Null);
    }
}
