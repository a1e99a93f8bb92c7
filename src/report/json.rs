//! JSON records (JSON Lines): every figure, `event` first, seconds rounded to the
//! microsecond, the policy as fields.

use serde_json::{Map, Value as Json, json};

use super::figures::{FIGURES, Value};
use super::{Event, Snapshot};

/// Seconds to the microsecond: `1.517993`, not `1.5179925829999998`.
fn seconds(d: std::time::Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e6
}

fn json_value(value: Value) -> Json {
    match value {
        Value::Count(n) => n.into(),
        Value::Time(d) => seconds(d).into(),
        Value::Ratio(x) => ((x * 1000.0).round() / 1000.0).into(),
        Value::Text(text) => text.into(),
        Value::Flag(flag) => flag.into(),
        Value::Absent => Json::Null,
    }
}

pub fn json_record(event: Event, snap: &Snapshot<'_>) -> String {
    let mut record = Map::new();
    record.insert("event".into(), event.name().into());
    for figure in FIGURES {
        if let Some(name) = figure.json {
            record.insert(name.into(), json_value((figure.read)(snap)));
        }
    }
    if !snap.workers.is_empty() {
        let running = snap.workers.iter().filter(|w| w.running).count();
        record.insert("workers_running".into(), json!(running));
        record.insert("workers".into(), super::workers::json_part(snap.workers));
    }
    if let Some(keys) = snap.keys {
        super::keys::json_part(keys, &mut record);
    }
    Json::Object(record).to_string()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::books::stats::Stats;
    use crate::books::tally::Tally;
    use crate::queue::policy::{Policy, Shed};
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
