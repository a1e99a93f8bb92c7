//! `bpipectl ls`: every running bpipe of the user, one line each, from each one's current
//! record; one that does not answer within [`LOOK_WAIT`] is listed as not answering, and
//! never holds up the rest (each is asked on a thread of its own).

use std::time::Duration;

use serde_json::{Value, json};

use super::talk;
use crate::control::endpoint::wire::Request;
use crate::report::StatsFormat;

/// How long a bpipe has to answer.
pub const LOOK_WAIT: Duration = Duration::from_millis(100);

/// A bpipe's record, or why it did not answer.
pub type Looked = Result<Value, String>;

/// Each running bpipe: its PID and its record, or why it did not answer.
pub fn look() -> Result<Vec<(u32, Looked)>, String> {
    let sockets = talk::sockets()?;
    let request = Request::Stats(StatsFormat::Json);
    Ok(std::thread::scope(|scope| {
        let asked: Vec<_> = sockets
            .iter()
            .map(|(pid, path)| {
                let request = &request;
                (
                    *pid,
                    scope.spawn(move || talk::ask(path, request, LOOK_WAIT)),
                )
            })
            .collect();
        asked
            .into_iter()
            .map(|(pid, handle)| {
                let answer = handle
                    .join()
                    .unwrap_or_else(|_| Err("internal error".into()));
                let record = answer.and_then(|text| {
                    serde_json::from_str::<Value>(&text)
                        .map_err(|e| format!("unreadable record: {e}"))
                });
                (pid, record)
            })
            .collect()
    }))
}

pub fn run(json: bool) -> Result<(), String> {
    let found = look()?;
    if json {
        for (pid, record) in found {
            let line = match record {
                Ok(mut record) => {
                    record["pid"] = json!(pid);
                    record
                }
                Err(why) => json!({"pid": pid, "answering": false, "error": why}),
            };
            super::say(&line.to_string());
        }
        return Ok(());
    }
    super::say(&format!(
        "{:>8}  {:<12} {:<14} {:>5} {:>10} {:>10} {:>10} {:>9}",
        "PID", "NAME", "POLICY", "FILL", "DEPTH", "OUT/s", "DROPPED", "WAIT p99"
    ));
    for (pid, record) in found {
        match record {
            Ok(r) => super::say(&row(pid, &r)),
            Err(why) => super::say(&format!("{pid:>8}  not answering: {why}")),
        }
    }
    Ok(())
}

/// One bpipe's line.
fn row(pid: u32, r: &Value) -> String {
    let n = |key: &str| r[key].as_f64().unwrap_or(0.0);
    let fill = super::top::fill(r);
    let name = r["name"].as_str().unwrap_or("-");
    format!(
        "{pid:>8}  {:<12} {:<14} {:>4.0}% {:>10} {:>10.0} {:>10} {:>8.3}s",
        name.chars().take(12).collect::<String>(),
        r["policy"].as_str().unwrap_or("?"),
        fill * 100.0,
        n("depth_items"),
        n("out_items_per_s"),
        n("dropped_items"),
        n("wait_p99_s"),
    )
}
