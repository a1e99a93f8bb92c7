//! The run's watch: one loop over the writer's end, signals, ticks and worker events. It
//! decides how a run ends early — a stop signal (stop reading, drain for at most
//! `--drain-timeout`, a second signal cuts it short, then abandon), `fail`'s drain given the
//! same timeout, `--on-stall fail` — and passes a stop on to the workers. What is said on
//! stderr about it is the monitor's (report/).

use std::sync::atomic::Ordering;
use std::time::Duration;

use crossbeam_channel::{Receiver, after, never, select};

use crate::control::answer;
use crate::control::endpoint::Asked;
use crate::control::pipeline::End;
use crate::control::signals::{self, Signal};
use crate::output::pool;
use crate::queue::Flow;
use crate::queue::Queue;
use crate::report::monitor::Monitor;
use crate::values::schedule::Schedule;

/// What the watch controls besides the queue.
pub struct Watch {
    /// Signals: asking for a record now, or for bpipe to stop.
    pub signals: Receiver<Signal>,
    /// How long a stop (or `fail`) may spend draining the queue.
    pub drain_timeout: Duration,
    /// `--workers`: where a stop signal is left for the pool to pass on.
    pub pool: Option<pool::Stop>,
    /// The control endpoint's requests (never without one).
    pub asked: Receiver<Asked>,
    /// How lines longer than `--max-line` are framed: whether a policy may be changed to
    /// one that sheds.
    pub started: crate::config::change::Started,
    /// `--rate-schedule`.
    pub schedule: Option<Schedule>,
}

impl Watch {
    /// Leaves `signal` for the pool to pass on once the queue is drained.
    fn stop_pool(&self, signal: i32) {
        if let Some(stop) = &self.pool {
            stop.store(signal, Ordering::Relaxed);
        }
    }

    /// Watches until `done` is ready or disconnected (the writer has finished), reporting
    /// through `monitor`, or until the run must end early (how, returned): a signal asking bpipe to stop (then
    /// the input stops, and the writer drains the queue for at most `--drain-timeout`), or
    /// `--on-stall fail`.
    pub fn run(&self, monitor: &mut Monitor, queue: &Queue, done: &Receiver<()>) -> Option<End> {
        let (refresh, records) = (monitor.refresh(), monitor.records());
        let workers = monitor.worker_events();
        let mut signals = self.signals.clone();
        let bell = monitor.bell(queue);
        // Made anew only when it fires: other events must not keep putting the look off.
        let mut poll = monitor.next_look();
        let mut timetable = self.schedule.as_ref().map_or_else(never, |s| {
            after(s.next_change(crate::values::schedule::local_second_of_day()))
        });
        let stop = loop {
            // While pressed the poll looks; the bell would ring at every drop.
            let rung = if monitor.pressed() {
                never()
            } else {
                bell.clone()
            };
            let stalled = select! {
                recv(workers) -> event => {
                    if let Ok(event) = event {
                        monitor.tell_of_worker(&event);
                    }
                    false
                }
                recv(done) -> _ => {
                    monitor.ended(queue);
                    // A stop signal that came with the end (^C reaches the whole pipeline:
                    // the consumer leaving may end the writer first) is still how it ended.
                    return signals::stop_caught().map(End::Stopped);
                }
                recv(refresh) -> _ => monitor.look(queue),
                recv(rung) -> _ => {
                    let stalled = monitor.look(queue);
                    poll = monitor.next_look();
                    stalled
                }
                recv(poll) -> _ => {
                    let stalled = monitor.look(queue);
                    poll = monitor.next_look();
                    stalled
                }
                recv(records) -> _ => {
                    monitor.tick(queue);
                    false
                }
                recv(timetable) -> _ => {
                    if let Some(schedule) = &self.schedule {
                        timetable = after(answer::follow(schedule, monitor, queue));
                    }
                    false
                }
                recv(self.asked) -> asked => {
                    if let Some(stop) = asked.ok().and_then(|a| self.answer(monitor, queue, a)) {
                        break stop;
                    }
                    false
                }
                recv(signals) -> signal => match signal {
                    Ok(Signal::Report) => {
                        monitor.tick(queue);
                        false
                    }
                    Ok(Signal::Stop(number)) => break number,
                    // No signals can come (their handlers could not be set up).
                    Err(_) => {
                        signals = never();
                        false
                    }
                },
            };
            if stalled {
                // --on-stall fail: stop as a closed output would (workers are told to stop).
                self.stop_pool(libc::SIGTERM);
                queue.abandon();
                return Some(End::Stalled);
            }
            // `fail` stopped reading: what is queued gets --drain-timeout, as on a stop.
            if queue
                .full()
                .is_some_and(|(since, _)| since.elapsed() >= self.drain_timeout)
            {
                queue.abandon();
            }
        };
        self.drain(monitor, queue, done, stop, &signals);
        Some(End::Stopped(stop))
    }

    /// Signal `stop` stops the run: the input stops, the pool is told, and the writer drains
    /// the queue until it is done, `--drain-timeout` passes or a second of `signals` comes;
    /// then what is left is abandoned.
    fn drain(
        &self,
        monitor: &mut Monitor,
        queue: &Queue,
        done: &Receiver<()>,
        stop: i32,
        signals: &Receiver<Signal>,
    ) {
        queue.stop_input();
        // A paused writer drains too: a stop is not a pause.
        queue.retune(|limits| limits.flow = Flow::Flowing);
        monitor.paused(false);
        self.stop_pool(stop);
        monitor.stopping(queue, stop, self.drain_timeout);
        let refresh = monitor.refresh();
        let deadline = after(self.drain_timeout);
        loop {
            select! {
                recv(done) -> _ => return,
                recv(deadline) -> _ => break,
                recv(refresh) -> _ => {
                    monitor.look(queue);
                }
                recv(self.asked) -> asked => {
                    if let Ok(asked) = asked {
                        self.answer_draining(monitor, queue, asked);
                    }
                }
                recv(signals) -> signal => match signal {
                    Ok(Signal::Report) => monitor.tick(queue),
                    Ok(Signal::Stop(_)) | Err(_) => break,
                },
            }
        }
        queue.abandon();
    }
}
