//! The pipeline: a reader thread and a writer thread around one queue, and how it ended.

use std::io::{self, ErrorKind};
use std::sync::Arc;
use std::thread;

use crossbeam_channel::{Receiver, RecvTimeoutError};

use crate::books::stats::Stats;
use crate::config::Config;
use crate::input::framing::Framer;
use crate::input::pass::Pass;
use crate::input::reader::{self, ReadEnd, Source};
use crate::output::rate::Limiter;
use crate::output::sink::Relay;
use crate::output::wait::Poller;
use crate::output::writer;
use crate::queue::dead_letter::DeadLetter;
use crate::queue::spill::Spill;
use crate::queue::{Bound, Queue};

/// How a run ended.
#[derive(Debug)]
pub enum End {
    /// All input was read and everything queued was written.
    Drained,
    /// The consumer closed stdout; reading stopped.
    OutputClosed,
    /// The queue was full under `fail`; what was queued has been written.
    Full(Bound),
    /// Reading stdin failed; what was read before has been written.
    ReadFailed(io::Error),
    /// Writing stdout failed.
    WriteFailed(io::Error),
    /// A signal stopped bpipe (its number); what was queued was drained or abandoned.
    Stopped(i32),
    /// `--on-stall fail`: the consumer took nothing for `--stall-timeout`.
    Stalled,
}

/// The end of a run with its final counters.
#[derive(Debug)]
pub struct Outcome {
    pub end: End,
    pub stats: Stats,
    /// `--key`: the keys' final figures.
    pub keys: Option<crate::keys::KeyFigures>,
    /// A write that failed while a stop drained the queue.
    pub drain_error: Option<io::Error>,
}

/// Runs bpipe from `input` to `output` until the input is drained or the output fails,
/// calling `watch` on this thread meanwhile: it gets the queue and a channel that becomes
/// ready (disconnected) when the writer is done, and returns then, or with a signal number
/// when a signal stopped bpipe (after draining, or abandoning, the queue). Fails only if the
/// queue or a thread cannot be set up.
///
/// When the output closes, this returns without waiting for the reader thread, which may be
/// blocked reading from an idle producer: the process is expected to exit soon after.
pub fn run<R, S>(
    config: &Config,
    dead_letter: Option<DeadLetter>,
    spill: Option<Spill>,
    mut input: R,
    mut output: S,
    watch: impl FnOnce(&Queue, &Receiver<()>) -> Option<End>,
) -> io::Result<Outcome>
where
    R: Source + Send + 'static,
    S: Relay + Send + 'static,
{
    let queue = Queue::new(config.bounds, config.policy)?
        .with_max_age(config.max_age)
        .with_rate(config.rate)
        .with_keep(config.keep.clone())
        .with_keys(config.keys.clone())
        .with_marks(config.marker.clone())
        .with_dead_letter(dead_letter)
        .with_spill(spill);
    let queue = Arc::new(queue);
    let reader = {
        let queue = Arc::clone(&queue);
        let framer = Framer::new(config.framing);
        let read_size = config.read_size;
        let pass = match (config.passes_through(), output.fd()) {
            (Some(chunk), Some(out)) => out
                .try_clone_to_owned()
                .ok()
                .and_then(|out| Pass::new(out, chunk, read_size)),
            _ => None,
        };
        thread::Builder::new()
            .name("bpipe-reader".into())
            .spawn(move || reader::run(&mut input, framer, &queue, read_size, pass))?
    };
    let (done_tx, done) = crossbeam_channel::bounded::<()>(0);
    let settle_wait = output.settle_time();
    let writer = {
        let queue = Arc::clone(&queue);
        let limiter = config.rate.map(|(rate, burst)| Limiter::new(rate, burst));
        thread::Builder::new()
            .name("bpipe-writer".into())
            .spawn(move || {
                let mut wait = Poller::new(&queue);
                let result = writer::run(&mut output, &queue, &mut wait, limiter);
                // Close stdout now, so the consumer sees the end without waiting for bpipe.
                drop(output);
                drop(done_tx);
                result
            })?
    };
    let stopped = watch(&queue, &done);
    if let Some(end) = stopped {
        // The writer settles what it holds and stops at once, unless a write to a file or
        // terminal is stuck; then what it holds is counted undelivered without it.
        let settled = matches!(
            done.recv_timeout(settle_wait),
            Err(RecvTimeoutError::Disconnected)
        );
        let written = match settled {
            true => writer
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p)),
            false => Ok(()),
        };
        return Ok(Outcome {
            end,
            stats: queue.freeze(),
            keys: queue.key_figures(),
            drain_error: written.err().filter(|e| e.kind() != ErrorKind::BrokenPipe),
        });
    }
    let written = writer
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    Ok(Outcome {
        end: ended(&queue, written, reader),
        stats: queue.freeze(),
        keys: queue.key_figures(),
        drain_error: None,
    })
}

/// How a run that was not stopped ended: by the writer's result, and the reader's unless the
/// consumer left while the reader may be blocked on an idle producer (it is not waited for).
fn ended(
    queue: &Queue,
    written: io::Result<()>,
    reader: thread::JoinHandle<io::Result<ReadEnd>>,
) -> End {
    let closed = match &written {
        Err(e) => e.kind() == ErrorKind::BrokenPipe,
        Ok(()) => queue.output_closed(),
    };
    match written {
        Err(e) if !closed => End::WriteFailed(e),
        // `fail` stopped the reader before the consumer left: its verdict stands, whether or
        // not its thread has ended yet.
        _ if closed && !reader.is_finished() => match queue.full() {
            Some((_, bound)) => End::Full(bound),
            None => End::OutputClosed,
        },
        // A reader that stopped on `fail` (or failed) before the consumer left keeps its
        // verdict.
        _ => match reader.join() {
            Ok(Ok(ReadEnd::Full(bound))) => End::Full(bound),
            Ok(Err(e)) => End::ReadFailed(e),
            Ok(Ok(_)) if closed => End::OutputClosed,
            Ok(Ok(ReadEnd::OutputClosed)) => End::OutputClosed,
            Ok(Ok(ReadEnd::Eof | ReadEnd::Stopped)) => End::Drained,
            Err(panic) => std::panic::resume_unwind(panic),
        },
    }
}

/// A `watch` for [`run`] that reports nothing: waits for the writer.
#[cfg(test)]
pub fn wait(_: &Queue, done: &Receiver<()>) -> Option<End> {
    let _ = done.recv();
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::sink::Always;
    use std::io::{Cursor, Read, Write};
    use std::sync::Mutex;
    use std::time::Duration;

    /// An in-memory stdout the test can read after the writer thread is done with it.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn config(args: &[&str]) -> Config {
        crate::config::parse(args).unwrap()
    }

    #[test]
    fn runs_in_memory_end_to_end() {
        let input: Vec<u8> = (0..50_000)
            .flat_map(|i| format!("line {i}\n").into_bytes())
            .collect();
        let out = Shared::default();
        let outcome = run(
            &config(&["--cap", "7"]),
            None,
            None,
            Cursor::new(input.clone()),
            Always(out.clone()),
            wait,
        )
        .unwrap();
        assert!(matches!(outcome.end, End::Drained), "{:?}", outcome.end);
        assert_eq!(*out.0.lock().unwrap(), input);
        assert_eq!(outcome.stats.output.items, 50_000);
        assert!(outcome.stats.balanced());
        assert!(outcome.stats.max_depth.items <= 7);
    }

    #[test]
    fn a_read_error_ends_the_run_after_delivering_what_came_before() {
        struct Failing(Option<Vec<u8>>);
        impl Source for Failing {}
        impl Read for Failing {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                match self.0.take() {
                    Some(data) => {
                        buf[..data.len()].copy_from_slice(&data);
                        Ok(data.len())
                    }
                    None => Err(io::Error::other("disk on fire")),
                }
            }
        }
        let out = Shared::default();
        let outcome = run(
            &config(&[]),
            None,
            None,
            Failing(Some(b"a\npartial".to_vec())),
            Always(out.clone()),
            wait,
        )
        .unwrap();
        assert!(matches!(&outcome.end, End::ReadFailed(e) if e.to_string() == "disk on fire"));
        assert_eq!(*out.0.lock().unwrap(), b"a\npartial");
        assert!(outcome.stats.balanced());
    }

    #[test]
    fn a_stop_reads_no_more_and_its_record_has_all_that_was_read() {
        // An endless producer whose reads take a while (most of the reader's time is spent
        // in them); a rate that holds the writer, so that slide sheds and the reader runs.
        // After the stop, the input counted must not grow.
        struct Endless;
        impl Source for Endless {}
        impl Read for Endless {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                std::thread::sleep(Duration::from_millis(2));
                for pair in buf.chunks_mut(2) {
                    pair[0] = b'y';
                    if let Some(end) = pair.get_mut(1) {
                        *end = b'\n';
                    }
                }
                Ok(buf.len() - buf.len() % 2)
            }
        }
        let config = config(&["--rate", "100/s", "--policy", "slide", "--cap", "100"]);
        let mut config = config;
        config.read_size = 256;
        let mut at_stop = None;
        let outcome = run(
            &config,
            None,
            None,
            Endless,
            Always(Shared::default()),
            |queue, done| {
                std::thread::sleep(Duration::from_millis(50));
                queue.stop_input();
                at_stop = Some(queue.stats());
                // As a drain would, give a read in flight the time to land.
                std::thread::sleep(Duration::from_millis(20));
                queue.abandon();
                let _ = done.recv();
                Some(End::Stopped(libc::SIGTERM))
            },
        )
        .unwrap();
        let at_stop = at_stop.unwrap();
        assert_eq!(outcome.stats.input, at_stop.input, "read after the stop");
        assert!(outcome.stats.balanced(), "{:?}", outcome.stats);
    }
}
