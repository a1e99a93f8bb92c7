//! Answering a control request (`bpipectl`) in the watch loop, as a signal is answered: the
//! current record, a limit changed (checked by the command line's own parser), a pause, a
//! resume, a stop.

use crate::config::change::change;
use crate::control::endpoint::Asked;
use crate::control::endpoint::wire::{self, Request};
use crate::control::watch::Watch;
use crate::queue::{Flow, Limits, Queue};
use crate::report::monitor::{By, Change, Monitor};
use crate::values::rate::Unit;
use crate::values::schedule::{Schedule, local_second_of_day};

impl Watch {
    /// Answers `asked`; a stop returns the signal it stands for (SIGTERM).
    pub(super) fn answer(&self, monitor: &mut Monitor, queue: &Queue, asked: Asked) -> Option<i32> {
        let peer = asked.peer;
        let result = match &asked.request {
            Request::Stats(format) => Ok(monitor.record_now(queue, *format)),
            Request::Set { name, value } => {
                match change(&queue.limits(), self.started, name, value) {
                    // A value the flag's parser refuses is bad usage, as on the command line.
                    Err(refusal) => Err(format!("{}{refusal}", wire::USAGE)),
                    Ok(next) => {
                        let (before, after) = queue.retune(|limits| {
                            *limits = Limits {
                                flow: limits.flow,
                                ..next
                            }
                        });
                        Ok(told(
                            monitor,
                            after,
                            name,
                            shown(name, &before),
                            shown(name, &after),
                            By::Client(peer),
                        ))
                    }
                }
            }
            Request::Pause | Request::Resume => {
                let flow = match asked.request {
                    Request::Pause => Flow::Paused,
                    _ => Flow::Flowing,
                };
                let (before, after) = queue.retune(|limits| limits.flow = flow);
                monitor.paused(flow == Flow::Paused);
                Ok(told(
                    monitor,
                    after,
                    "flow",
                    flow_word(before.flow),
                    flow_word(after.flow),
                    By::Client(peer),
                ))
            }
            Request::Stop => {
                asked.answer(Ok("stopping: draining the queue".into()));
                return Some(libc::SIGTERM);
            }
            Request::Tap(spec) => {
                let (copies, counts) = queue.taps().add(*spec);
                asked.tap(copies, counts);
                return None;
            }
            Request::TapEnded { copied, dropped } => {
                monitor.tapped(peer, *copied, *dropped);
                return None;
            }
        };
        asked.answer(result);
        None
    }
}

impl Watch {
    /// Answers `asked` while a stop drains the queue: the record, or a refusal that says so.
    pub(super) fn answer_draining(&self, monitor: &mut Monitor, queue: &Queue, asked: Asked) {
        let result = match &asked.request {
            Request::Stats(format) => Ok(monitor.record_now(queue, *format)),
            _ => Err(format!(
                "stopping: draining the queue (for at most {}); signal it again to stop at once",
                humantime::format_duration(self.drain_timeout)
            )),
        };
        asked.answer(result);
    }
}

/// `--rate-schedule`: the rate of the entry whose time has come, if it is not the rate now;
/// returns when to look next.
pub(super) fn follow(
    schedule: &Schedule,
    monitor: &mut Monitor,
    queue: &Queue,
) -> std::time::Duration {
    let second = local_second_of_day();
    let rate = schedule
        .at(second / 60)
        .map(|rate| (rate, rate.default_burst()));
    if queue.limits().rate.map(|(r, _)| r) != rate.map(|(r, _)| r) {
        let (before, after) = queue.retune(|limits| limits.rate = rate);
        let (from, to) = (shown("rate", &before), shown("rate", &after));
        told(monitor, after, "rate", from, to, By::Schedule);
    }
    schedule.next_change(second)
}

/// Records a change (when something changed) and says it as the answer.
fn told(
    monitor: &mut Monitor,
    after: Limits,
    setting: &str,
    from: String,
    to: String,
    by: By,
) -> String {
    let line = format!("{setting} {from} -> {to}");
    if from != to {
        let change = Change {
            setting: setting.to_string(),
            from,
            to,
            by,
        };
        monitor.retuned(after, &change);
    }
    line
}

fn flow_word(flow: Flow) -> String {
    match flow {
        Flow::Flowing => "flowing",
        Flow::Paused => "paused",
    }
    .into()
}

/// Setting `name` of `limits` as the command line would give it.
fn shown(name: &str, limits: &Limits) -> String {
    let size = |n: u64| bytesize::ByteSize(n).display().iec().to_string();
    let off = || "off".to_string();
    match name {
        "rate" => limits.rate.map_or_else(off, |(rate, _)| rate.to_string()),
        "burst" => limits
            .rate
            .map_or_else(off, |(rate, burst)| match rate.unit {
                Unit::Items => burst.to_string(),
                Unit::Bytes => size(burst),
            }),
        "cap" => limits.bounds.items.to_string(),
        "cap-bytes" => size(limits.bounds.bytes as u64),
        "max-age" => limits
            .max_age
            .map_or_else(off, |age| humantime::format_duration(age).to_string()),
        // policy, block-timeout, on-timeout: the policy's flags say all three.
        _ => limits.policy.flags(),
    }
}
