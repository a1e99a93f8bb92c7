//! The worker pool in records: one line per start, retirement or exit, and each worker's
//! figures in ticks and the final record.

use serde_json::json;

use crate::output::pool::slot::Figures;
use crate::output::pool::{Event, What};

/// `worker 2 exited with status 1 (12 lines undelivered); 3 running`.
pub fn text_event(prefix: &str, event: &Event, noun: &str) -> String {
    let what = match &event.what {
        What::Started => "started".to_string(),
        What::Retired => "idle: its input closed (retiring)".to_string(),
        What::Exited {
            status,
            undelivered: 0,
        } => format!("exited with status {status}"),
        What::Exited {
            status,
            undelivered,
        } => format!(
            "exited with status {status} ({} undelivered)",
            super::count(*undelivered, noun)
        ),
        What::Failed(reason) => format!("could not start: {reason}"),
        What::GaveUp(failures) => {
            let times = if *failures == 1 { "time" } else { "times" };
            format!("failed {failures} {times} in a row: not restarted again (--restart-max)")
        }
    };
    format!(
        "{prefix} worker {} {what}; {} running",
        event.slot, event.running
    )
}

pub fn json_event(name: Option<&str>, elapsed_s: f64, event: &Event) -> String {
    let (action, status, undelivered, reason) = match &event.what {
        What::Started => ("start", None, None, None),
        What::Retired => ("retire", None, None, None),
        What::Exited {
            status,
            undelivered,
        } => ("exit", Some(*status), Some(*undelivered), None),
        What::Failed(reason) => ("fail", None, None, Some(reason.as_str())),
        What::GaveUp(_) => ("give-up", None, None, None),
    };
    json!({
        "event": "worker",
        "name": name,
        "elapsed_s": elapsed_s,
        "worker": event.slot,
        "action": action,
        "status": status,
        "undelivered_items": undelivered,
        "reason": reason,
        "workers_running": event.running,
    })
    .to_string()
}

/// `workers 2 running: #1 1234 (kept up 98%), #2 1200 (kept up 12%, exited 1)`: how many
/// items each took, and the share of its time that its pipe had room.
pub fn text_part(workers: &[Figures]) -> String {
    let running = workers.iter().filter(|w| w.running).count();
    let each: Vec<String> = workers
        .iter()
        .map(|w| {
            let mut s = format!(
                "#{} {} (kept up {:.0}%",
                w.slot,
                w.items,
                w.taking_share * 100.0
            );
            if w.undelivered > 0 {
                s.push_str(&format!(", {} undelivered", w.undelivered));
            }
            if let Some(status) = w.status.filter(|_| !w.running) {
                s.push_str(&format!(", exited {status}"));
            }
            match w.failures {
                0 => {}
                1 => s.push_str(", failed once"),
                n => s.push_str(&format!(", failed {n} times")),
            }
            s.push(')');
            s
        })
        .collect();
    format!("workers {running} running: {}", each.join(", "))
}

pub fn json_part(workers: &[Figures]) -> serde_json::Value {
    let round = |x: f64| (x * 1000.0).round() / 1000.0;
    workers
        .iter()
        .map(|w| {
            json!({
                "worker": w.slot,
                "running": w.running,
                "items": w.items,
                "bytes": w.bytes,
                "undelivered_items": w.undelivered,
                "taking_share": round(w.taking_share),
                "starts": w.starts,
                "failures": w.failures,
                "status": w.status,
            })
        })
        .collect()
}
