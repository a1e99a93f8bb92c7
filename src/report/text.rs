//! Text records: one greppable line each, exact counts, zero clauses left out, e.g.
//! `bpipe[ingest]: in 1000 lines 12.3 KiB, out 990 lines 12.0 KiB, dropped 10 lines 310 B
//! (slide), max depth 64 lines 2.0 KiB, 1.20s, 825 lines/s 10.0 KiB/s`.

use std::fmt::Write as _;

use super::{Event, RunState, Snapshot, size};

/// The record of `event`; a drop warning reads `bpipe: dropping under --policy slide: …`.
pub fn text_record(event: Event, snap: &Snapshot<'_>) -> String {
    if let Some(line) = event_line(event, snap) {
        return line;
    }
    let mut parts = counts(event, snap);
    times(event, snap, &mut parts);
    extras(event, snap, &mut parts);
    ending(event, snap, &mut parts);
    format!("{} {}", snap.prefix(), parts.join(", "))
}

/// The line of an event that is not a record of the counters: a stall, a resume, the drop
/// warning, a stop.
fn event_line(event: Event, snap: &Snapshot<'_>) -> Option<String> {
    let s = &snap.stats;
    let prefix = snap.prefix();
    match event {
        Event::Stall => {
            let waiting = s.depth + s.in_flight + s.parked + s.spilled;
            return Some(format!(
                "{prefix} consumer stalled for {}, {} waiting",
                super::stall_length(s.stalled_now),
                snap.count(waiting.items)
            ));
        }
        Event::Resume { after } => {
            return Some(format!(
                "{prefix} consumer resumed after {}",
                super::stall_length(after)
            ));
        }
        Event::Drop => {
            // Items past --max-age are shed whatever the policy: name the cause that acts.
            let by_policy = s.dropped.items - s.expired.items - s.overlong.items - s.limited.items;
            let cause = match (by_policy, s.expired.items, s.limited.items) {
                (0, 0, 0) => "--max-line".to_string(),
                (0, 0, _) => "--rate-per-key".to_string(),
                (0, _, _) => "--max-age".to_string(),
                _ => snap.policy.flags(),
            };
            return Some(format!(
                "{prefix} dropping under {cause}: {} {} dropped so far",
                snap.count(s.dropped.items),
                size(s.dropped.bytes),
            ));
        }
        Event::Stop { drain } => {
            // What the reader held is undelivered at once; the rest is drained, or
            // undelivered too when the drain gives up: the final record adds these up.
            let held = snap.held();
            if held.is_zero() && s.undelivered.is_zero() {
                return Some(format!(
                    "{prefix} stopping on signal {}: nothing to drain",
                    snap.signal().unwrap_or_default()
                ));
            }
            let mut line = format!(
                "{prefix} stopping on signal {}: draining {} {} (at most {}; signal again to \
                 stop at once)",
                snap.signal().unwrap_or_default(),
                snap.count(held.items),
                size(held.bytes),
                humantime::format_duration(drain),
            );
            if !s.undelivered.is_zero() {
                let _ = write!(
                    line,
                    "; {} {} undelivered",
                    snap.count(s.undelivered.items),
                    size(s.undelivered.bytes)
                );
            }
            return Some(line);
        }
        Event::Tick | Event::Final => {}
    }
    None
}

/// In, out, dropped, undelivered; the depth and what is in hand (ticks).
fn counts(event: Event, snap: &Snapshot<'_>) -> Vec<String> {
    let s = &snap.stats;
    let mut parts = vec![
        format!("in {} {}", snap.count(s.input.items), size(s.input.bytes)),
        format!(
            "out {} {}",
            snap.count(s.output.items),
            size(s.output.bytes)
        ),
    ];
    if !s.dropped.is_zero() {
        let mut why = snap.policy.to_string();
        if s.overlong.items > 0 {
            let _ = write!(why, "; {} over --max-line", s.overlong.items);
        }
        if s.expired.items > 0 {
            let _ = write!(why, "; {} past --max-age", s.expired.items);
        }
        if s.limited.items > 0 {
            let _ = write!(why, "; {} over --rate-per-key", s.limited.items);
        }
        parts.push(format!(
            "dropped {} {} ({why})",
            snap.count(s.dropped.items),
            size(s.dropped.bytes)
        ));
    }
    if !s.undelivered.is_zero() {
        let mut part = format!(
            "undelivered {} {}",
            snap.count(s.undelivered.items),
            size(s.undelivered.bytes)
        );
        if s.torn > 0 {
            let _ = write!(part, " ({} cut short)", s.torn);
        }
        parts.push(part);
    }
    if event == Event::Tick {
        parts.push(format!(
            "depth {}/{} {} {}/{}",
            s.depth.items,
            snap.bounds.items,
            snap.noun,
            size(s.depth.bytes),
            size(snap.bounds.bytes as u64),
        ));
        let in_hand = snap.in_hand();
        if !in_hand.is_zero() {
            parts.push(format!(
                "in hand {} {}",
                snap.count(in_hand.items),
                size(in_hand.bytes)
            ));
        }
    }
    parts
}

/// The high-water mark, times in queue, blocked and stalled.
fn times(event: Event, snap: &Snapshot<'_>, parts: &mut Vec<String>) {
    let s = &snap.stats;
    if !s.max_depth.is_zero() {
        parts.push(format!(
            "max depth {} {}",
            snap.count(s.max_depth.items),
            size(s.max_depth.bytes)
        ));
    }
    if s.wait.items > 0 {
        parts.push(format!(
            "wait p50 {} p99 {} max {}",
            short(s.wait.p50),
            short(s.wait.p99),
            short(s.wait.max)
        ));
    }
    if event == Event::Tick && !s.oldest_age.is_zero() {
        parts.push(format!("oldest {}", short(s.oldest_age)));
    }
    if s.blocked.as_millis() > 0 {
        parts.push(format!("blocked {:.2}s", s.blocked.as_secs_f64()));
    }
    if s.stalled.as_millis() > 0 {
        let share = snap.rates().stalled_share * 100.0;
        parts.push(format!(
            "stalled {:.2}s ({share:.0}%)",
            s.stalled.as_secs_f64()
        ));
    }
}

/// What refines the policy (expired, dead letters, spill, keep, markers) and the workers.
fn extras(event: Event, snap: &Snapshot<'_>, parts: &mut Vec<String>) {
    let s = &snap.stats;
    if !s.expired.is_zero() {
        parts.push(format!("expired {}", snap.count(s.expired.items)));
    }
    if !s.dead_lettered.is_zero() {
        let mut part = format!(
            "dead-lettered {} {}",
            snap.count(s.dead_lettered.items),
            size(s.dead_lettered.bytes)
        );
        if !s.discarded().is_zero() {
            let _ = write!(part, " ({} discarded)", s.discarded().items);
        }
        parts.push(part);
    }
    if !s.spilled_total.is_zero() {
        let mut part = format!(
            "spilled {} {}",
            snap.count(s.spilled_total.items),
            size(s.spilled_total.bytes)
        );
        if event == Event::Tick {
            let _ = write!(part, " (on disk now {})", size(s.spilled.bytes));
        }
        parts.push(part);
    }
    if s.kept > 0 {
        parts.push(format!("kept {}", snap.count(s.kept)));
    }
    if s.markers.items > 0 {
        let noun = if s.markers.items == 1 {
            "marker"
        } else {
            "markers"
        };
        parts.push(format!("{} {noun}", s.markers.items));
    }
    if let Some(keys) = snap.keys {
        parts.push(super::keys::text_part(keys, snap.noun));
    }
    if !snap.workers.is_empty() {
        parts.push(super::workers::text_part(snap.workers));
    }
}

/// How the run ended, the time, and the rates.
fn ending(event: Event, snap: &Snapshot<'_>, parts: &mut Vec<String>) {
    let s = &snap.stats;
    match snap.end {
        RunState::OutputClosed if !snap.workers.is_empty() => parts.push("no worker left".into()),
        RunState::OutputClosed => parts.push("output closed".into()),
        RunState::Stalled => parts.push("consumer stalled (--on-stall fail)".into()),
        RunState::Signal(number) => parts.push(format!("stopped by signal {number}")),
        RunState::Paused => parts.push("paused (bpipectl)".into()),
        RunState::Running | RunState::Finished => {}
    }
    let secs = snap.elapsed.as_secs_f64();
    parts.push(format!("{secs:.2}s"));
    if event == Event::Tick {
        // Rates of the interval since the last record, in and out.
        let rates = snap.rates();
        parts.push(format!(
            "in {:.0} {}/s {}/s, out {:.0} {}/s {}/s",
            rates.in_items,
            snap.noun,
            size(rates.in_bytes as u64),
            rates.out_items,
            snap.noun,
            size(rates.out_bytes as u64),
        ));
    } else if secs > 0.0 && s.output.items > 0 {
        parts.push(format!(
            "{:.0} {}/s {}/s",
            s.output.items as f64 / secs,
            snap.noun,
            size((s.output.bytes as f64 / secs) as u64),
        ));
    }
}

fn short(d: std::time::Duration) -> String {
    super::short(d, false)
}

#[cfg(test)]
pub(crate) mod tests;
