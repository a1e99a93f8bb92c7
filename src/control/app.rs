//! The program: stdin and stdout in, reports on stderr, an exit status out.

use std::fs::File;
use std::os::fd::{FromRawFd, RawFd};
use std::time::Instant;

use crate::config::{Config, Control};
use crate::control::endpoint::Endpoint;
use crate::control::pipeline::{self, End, Outcome};
use crate::control::signals::{self, Signal};
use crate::control::watch::Watch;
use crate::error::Error;
use crate::exit::Exit;
use crate::input::files::Inputs;
use crate::input::framing::Framing;
use crate::output::pool::{Event as PoolEvent, Pool};
use crate::output::sink::Stdout;
use crate::queue::dead_letter::DeadLetter;
use crate::queue::spill::Spill;
use crate::report;
use crate::report::monitor::Monitor;
use crate::report::progress::Fixed;
use crate::values::stdio::standard_stream;
use crossbeam_channel::Receiver;

/// Takes a standard stream as a plain `File`: unbuffered, so bpipe's own batching decides
/// every syscall, and closed when bpipe is done with it, so that a producer sees a closed
/// pipe as soon as bpipe stops reading, and a consumer sees EOF as soon as it stops writing.
///
/// (Rust's runtime reopens a standard descriptor that was closed at startup on /dev/null, so
/// all three are always open here.)
fn take(fd: RawFd) -> File {
    // SAFETY: the descriptor is open (see above), and bpipe never uses std's stdin or stdout,
    // so this File is its only owner.
    unsafe { File::from_raw_fd(fd) }
}

/// Allocations this large are mapped on their own and unmapped when freed.
const MMAP_THRESHOLD: i32 = 128 * 1024;

/// Makes large buffers go back to the system when freed. glibc otherwise raises its mmap
/// threshold after the first large free and serves later large buffers (a long line's
/// batch) from the heap, where they stay: peak memory then ran to twice the documented
/// bound. Buffers below the threshold (reads of 64 KiB) are recycled by the queue anyway.
fn return_large_buffers() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; called before other threads start.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
    }
}

/// Makes a panic in any thread end the process at once, with a message and status 70
/// ([`Exit::Internal`]), rather than leave the other threads waiting for it.
fn exit_on_panic() {
    std::panic::set_hook(Box::new(|info| {
        crate::control::endpoint::remove_socket();
        report::error(format!("internal error (a bug; please report it): {info}"));
        std::process::exit(Exit::Internal.code().into());
    }));
}

/// Opens `--dead-letter`, if given, and checks that it is none of the files bpipe reads or
/// writes otherwise: shed items written to an input would be read again, and records
/// written into it would mix with them.
fn open_dead_letter(config: &Config) -> Result<Option<DeadLetter>, String> {
    use std::os::unix::fs::MetadataExt;
    let Some((path, max)) = &config.dead_letter else {
        return Ok(None);
    };
    let delim = match config.framing {
        Framing::Delimited { delim, .. } => Some(delim),
        Framing::Chunks { .. } => None,
    };
    let shown = path.display();
    let dead = DeadLetter::open(path, *max, delim)
        .map_err(|e| format!("--dead-letter {shown}: {}", report::reason(&e)))?;
    // One of bpipe's own streams (a device such as /dev/null may well be all of them).
    let meta = std::fs::metadata(path)
        .ok()
        .filter(std::fs::Metadata::is_file);
    if let Some(stream) = meta.as_ref().and_then(standard_stream) {
        return Err(format!(
            "--dead-letter {shown} is also {stream}: give the shed items a file of their own"
        ));
    }
    let id = |meta: std::fs::Metadata| (meta.dev(), meta.ino());
    let mut others: Vec<(String, Option<(u64, u64)>)> = Vec::new();
    for input in &config.inputs {
        others.push((
            input.display().to_string(),
            std::fs::metadata(input).ok().map(id),
        ));
    }
    if let Some(file) = &config.report.file {
        let meta = std::fs::metadata(file).ok().map(id);
        others.push(("--stats-file".into(), meta));
    }
    let identity = dead.identity().filter(|_| meta.is_some());
    match others
        .iter()
        .find(|(_, other)| other.is_some() && *other == identity)
    {
        Some((what, _)) => Err(format!(
            "--dead-letter {shown} is also {what}: give the shed items a file of their own"
        )),
        None => Ok(Some(dead)),
    }
}

/// `--stats-file` must not be one of the inputs (stdin included): its records would be read
/// back as data.
fn stats_file_is_no_input(config: &Config, input: &Inputs) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let Some(file) = &config.report.file else {
        return Ok(());
    };
    let Ok(meta) = std::fs::metadata(file) else {
        return Ok(());
    };
    match input.identities().contains(&(meta.dev(), meta.ino())) {
        true => Err(format!(
            "--stats-file {} is also an input: give the records a file of their own",
            file.display()
        )),
        false => Ok(()),
    }
}

/// `--workers`: starts the pool (before anything is read), and a channel for its events.
fn start_pool(config: &Config) -> Result<Option<(Pool, Receiver<PoolEvent>)>, String> {
    let Some(spec) = &config.pool else {
        return Ok(None);
    };
    let items = match config.framing {
        Framing::Delimited {
            delim, max_item, ..
        } => (delim, max_item),
        Framing::Chunks { .. } => unreachable!("--workers is refused with --chunk"),
    };
    let (tx, rx) = crossbeam_channel::unbounded();
    let shown = spec.command[0].to_string_lossy().into_owned();
    match Pool::start(spec.clone(), items, Some(tx)) {
        Ok(pool) => Ok(Some((pool, rx))),
        Err(e) => Err(format!(
            "cannot run '{shown}' (the command after --): {}",
            report::reason(&e)
        )),
    }
}

/// What a run opens before anything is read.
struct Opened {
    input: Inputs,
    /// Removes its socket when dropped, at the end of the run.
    endpoint: Option<Endpoint>,
    dead_letter: Option<DeadLetter>,
    spill: Option<Spill>,
    pool: Option<(Pool, Receiver<PoolEvent>)>,
}

/// Opens the inputs, `--dead-letter`, `--spill` and starts `--workers`: each failure is a
/// usage error, before anything is read. Signals are caught from before the first worker
/// starts (a stop while they start is drained; none is left orphaned), and not before the
/// inputs are open: opening a FIFO may wait, and dying of a signal then loses nothing.
fn open(config: &Config) -> Result<(Opened, Receiver<Signal>), Error> {
    let input = Inputs::open(&config.inputs, take(0)).map_err(|e| {
        // `--mark-drops '# {items}'` leaves the template as a file name.
        let template = config
            .inputs
            .iter()
            .any(|p| p.to_string_lossy().contains('{'));
        match template {
            true => Error::Usage(format!(
                "{e} (a --mark-drops template needs '=': --mark-drops='...')"
            )),
            false => Error::Usage(e),
        }
    })?;
    stats_file_is_no_input(config, &input).map_err(Error::Usage)?;
    let dead_letter = open_dead_letter(config).map_err(Error::Usage)?;
    let spill = match &config.spill {
        None => None,
        Some((dir, max)) => Some(Spill::new(dir, *max).map_err(|e| {
            Error::Usage(format!(
                "--spill {}: cannot create a segment file there: {}",
                dir.display(),
                report::reason(&e)
            ))
        })?),
    };
    let signals = signals::listen();
    // After the signal handlers: a socket seen means a SIGTERM is caught (and it is removed).
    let endpoint = open_endpoint(config)?;
    let pool = start_pool(config).map_err(Error::Usage)?;
    let opened = Opened {
        endpoint,
        input,
        dead_letter,
        spill,
        pool,
    };
    Ok((opened, signals))
}

/// Below this many descriptors (`ulimit -n`), the default control socket is left out: the
/// few there are go to the data, the writer's waker and signals.
const CONTROL_MIN_FILES: u64 = 64;

/// The control endpoint: a refusal at `--control PATH` is a usage error; where the private
/// directory cannot be used, bpipe says so once (unless `-q`) and runs without one.
fn open_endpoint(config: &Config) -> Result<Option<Endpoint>, Error> {
    let files = rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
    if config.control == Control::Private && files.is_some_and(|n| n < CONTROL_MIN_FILES) {
        if !config.report.quiet {
            report::error(format!(
                "no control socket (bpipectl cannot reach this bpipe): ulimit -n is under \
                 {CONTROL_MIN_FILES}, and the descriptors go to the data (--control PATH serves \
                 one all the same)"
            ));
        }
        return Ok(None);
    }
    match Endpoint::open(&config.control, config.report.name.as_deref()) {
        Ok(endpoint) => Ok(endpoint),
        Err(refusal) if matches!(config.control, Control::At(_)) => Err(Error::Usage(refusal)),
        Err(refusal) => {
            if !config.report.quiet {
                report::error(format!(
                    "no control socket (bpipectl cannot reach this bpipe): {refusal}"
                ));
            }
            Ok(None)
        }
    }
}

/// Sets the process up before anything else runs: a panic ends it at once, large buffers go
/// back to the system when freed, and a continue after a stop is noted.
pub fn prepare() {
    exit_on_panic();
    return_large_buffers();
    signals::watch_continues();
}

/// Runs bpipe on the process's stdin and stdout with `config`, reporting on stderr. By the
/// time it returns, what went wrong has been said on stderr; the caller maps the error to a
/// status ([`Error::code`]).
pub fn run_stdio(config: &Config) -> Result<(), Error> {
    let started = Instant::now();
    if let Some(refusal) = crate::values::reserve::too_little_address_space() {
        let error = Error::Start(refusal);
        report::error(&error);
        return Err(error);
    }
    crate::values::reserve::set_aside();
    let (opened, signals) = open(config).inspect_err(|e| report::error(e))?;
    let mut watch = Watch {
        signals,
        drain_timeout: config.drain_timeout,
        pool: None,
        asked: opened
            .endpoint
            .as_ref()
            .map_or_else(crossbeam_channel::never, Endpoint::asked),
        started: crate::config::change::Started {
            overlong: config.overlong(),
            fairness: config
                .keys
                .as_ref()
                .map_or(crate::keys::Fairness::Off, |k| k.fairness),
        },
        schedule: config.rate_schedule.clone(),
    };
    let fixed = Fixed {
        name: config.report.name.clone(),
        noun: config.item_noun(),
        policy: config.policy,
        bounds: config.bounds,
        spill_max: config.spill.as_ref().map(|(_, max)| *max),
    };
    let mut monitor =
        Monitor::new(&config.report, fixed, started).inspect_err(|e| report::error(e))?;
    let Opened {
        endpoint: _endpoint,
        input,
        dead_letter,
        spill,
        pool,
    } = opened;
    let mut shared = None;
    let ran = match pool {
        Some((pool, events)) => {
            shared = Some(pool.shared());
            monitor.watch_workers(events, pool.shared());
            watch.pool = Some(pool.stop());
            pipeline::run(config, dead_letter, spill, input, pool, |queue, done| {
                watch.run(&mut monitor, queue, done)
            })
        }
        None => {
            let output = Stdout::new(take(1));
            pipeline::run(config, dead_letter, spill, input, output, |queue, done| {
                watch.run(&mut monitor, queue, done)
            })
        }
    };
    let outcome = match ran {
        Ok(outcome) => outcome,
        Err(e) => {
            let error = Error::Start(e);
            monitor.error(&error);
            monitor.close();
            return Err(error);
        }
    };
    monitor.drain_worker_events();
    let workers = shared.map(|s| s.lock().unwrap_or_else(|e| e.into_inner()).clone());
    let worker_failed = workers.iter().flatten().any(|w| w.failures > 0);
    conclude(config, &mut monitor, outcome, worker_failed)
}

/// How the run ended, as an error if it did not end well: said on stderr before the final
/// record that it explains.
fn conclude(
    config: &Config,
    monitor: &mut Monitor,
    outcome: Outcome,
    worker_failed: bool,
) -> Result<(), Error> {
    if let Some(e) = &outcome.drain_error {
        monitor.error(format!("writing stdout while draining: {e}"));
    }
    let failed = !matches!(
        outcome.end,
        End::Drained | End::OutputClosed | End::Stopped(_)
    );
    let record_end = match outcome.end {
        End::OutputClosed => report::RunState::OutputClosed,
        End::Stalled => report::RunState::Stalled,
        End::Stopped(signal) => report::RunState::Signal(signal),
        _ => report::RunState::Finished,
    };
    let result = match outcome.end {
        End::Drained | End::OutputClosed if worker_failed => Err(Error::WorkerFailed),
        End::Drained | End::OutputClosed => match config.report.drops_exit {
            Some(code) if outcome.stats.dropped.items > 0 => Err(Error::Dropped(code)),
            _ => Ok(()),
        },
        // The policy as it stood at the end (an operator may have changed it).
        End::Full(bound) => Err(Error::QueueFull {
            bound,
            policy: monitor.policy(),
        }),
        End::ReadFailed(error) => Err(Error::Read {
            what: if config.inputs.is_empty() {
                "stdin"
            } else {
                "input"
            },
            error,
        }),
        End::WriteFailed(e) => Err(Error::Write(e)),
        End::Stopped(signal) => Err(Error::Signal(signal)),
        End::Stalled => Err(Error::Stalled),
    };
    if let Err(e @ (Error::QueueFull { .. } | Error::Read { .. } | Error::Write(_))) = &result {
        monitor.error(e);
    }
    // The final record after the error that explains it (a failed worker is one).
    monitor.set_keys(outcome.keys.clone());
    monitor.finish(
        outcome.stats,
        record_end,
        failed || worker_failed || outcome.drain_error.is_some(),
    );
    match (monitor.close(), result) {
        (false, Ok(()) | Err(Error::Dropped(_))) => {
            // Said on stderr, which may be what failed: then nothing more can be said.
            report::error(Error::RecordsLost);
            Err(Error::RecordsLost)
        }
        (_, result) => result,
    }
}
