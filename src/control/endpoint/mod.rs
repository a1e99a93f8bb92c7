//! The control endpoint: a Unix socket per running bpipe (`bpipectl` talks to it), in a
//! directory private to the user (`dir.rs`), `0600`, and served only to a peer of the same
//! user (`SO_PEERCRED`): another user gets one refusal line and nothing else. One thread
//! waits in `accept` (no polling); each connection gets a thread of its own, at most
//! [`MAX_CONNECTIONS`] at once, and [`REQUEST_WAIT`] to send its one request line, so a
//! client that connects and sends nothing, or garbage, or a thousand connections, neither
//! blocks the pipe nor grows its memory. Requests go to the watch loop, which answers them
//! as it answers signals. The socket is removed when the [`Endpoint`] is dropped, and at a
//! panic; one left by `SIGKILL` is removed by the next bpipe or `bpipectl`.

pub mod dir;
mod tap;
pub mod wire;

use std::io::{self, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, bounded};

use crate::config::Control;
use crate::queue::tap::TapCounts;
use wire::{MAX_REQUEST, Request};

/// Connections served at once; more are told so and closed.
pub const MAX_CONNECTIONS: usize = 8;
/// How long a client has to send its request, and to take the answer.
pub const REQUEST_WAIT: Duration = Duration::from_secs(1);
/// How long a connection waits for the watch loop to answer.
const ANSWER_WAIT: Duration = Duration::from_secs(2);

/// A request from a client, for the watch loop to answer.
pub struct Asked {
    pub request: Request,
    /// The client's PID, for the record of a change.
    pub peer: u32,
    reply: Sender<Reply>,
}

/// What the watch loop answers.
pub enum Reply {
    /// A line or record, or a refusal.
    Said(Result<String, String>),
    /// `tap`: the copies to stream, and their counts.
    Tap(Receiver<Vec<u8>>, Arc<TapCounts>),
}

impl Asked {
    pub fn answer(self, result: Result<String, String>) {
        let _ = self.reply.send(Reply::Said(result));
    }

    /// Answers `tap` with the copies to stream.
    pub fn tap(self, copies: Receiver<Vec<u8>>, counts: Arc<TapCounts>) {
        let _ = self.reply.send(Reply::Tap(copies, counts));
    }
}

/// The socket being served; removed when dropped.
pub struct Endpoint {
    path: PathBuf,
    /// The private directory it is in (removed with the last socket), if it is.
    dir: Option<PathBuf>,
    asked: Receiver<Asked>,
}

/// Requests handed to the watch loop whose answer is not yet written: bpipe waits for them
/// (a little) before it exits, so that the answer to `stop` reaches its client.
static REPLYING: AtomicUsize = AtomicUsize::new(0);
/// The longest an exit waits for answers being written.
const REPLY_WAIT: Duration = Duration::from_millis(500);

/// Taps still streaming their copies: bpipe waits for them (at most [`REPLY_WAIT`]) before
/// it exits, so that a tap gets the end of the stream.
static STREAMING: AtomicUsize = AtomicUsize::new(0);

/// The socket to remove at a panic (whose hook exits at once, without unwinding).
static SOCKET: OnceLock<Mutex<Option<PathBuf>>> = OnceLock::new();

/// Removes the control socket, if any: for the panic hook.
pub fn remove_socket() {
    if let Some(path) = SOCKET.get().and_then(|s| s.lock().ok()?.take()) {
        let _ = std::fs::remove_file(path);
    }
}

impl Endpoint {
    /// Opens the endpoint at `place` for a bpipe named `name`; `None` when off. Fails with a
    /// message naming what is wrong.
    pub fn open(place: &Control, name: Option<&str>) -> Result<Option<Endpoint>, String> {
        let name = dir::socket_name(std::process::id(), name);
        let (path, dir, listener) = match place {
            Control::Off => return Ok(None),
            Control::At(path) => (path.clone(), None, bind(path)?),
            Control::Private => {
                let dir = dir::private()?;
                dir::clean_stale(&dir);
                let path = dir.join(&name);
                // Another bpipe leaving may have removed the directory since: once more.
                let listener = match bind(&path) {
                    Err(_) if !dir.exists() => bind(&dir::private()?.join(&name))?,
                    bound => bound?,
                };
                (path, Some(dir), listener)
            }
        };
        *SOCKET
            .get_or_init(Mutex::default)
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(path.clone());
        let (ask, asked) = bounded(MAX_CONNECTIONS);
        thread::Builder::new()
            .name("control".into())
            .spawn(move || accept(&listener, &ask))
            .map_err(|e| format!("cannot start the control thread: {e}"))?;
        Ok(Some(Endpoint { path, dir, asked }))
    }

    /// Requests, as clients make them.
    pub fn asked(&self) -> Receiver<Asked> {
        self.asked.clone()
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        let until = Instant::now() + REPLY_WAIT;
        let busy = || REPLYING.load(Ordering::Acquire) + STREAMING.load(Ordering::Acquire) > 0;
        while busy() && Instant::now() < until {
            thread::sleep(Duration::from_millis(1));
        }
        let _ = std::fs::remove_file(&self.path);
        remove_socket();
        // Only if empty: the last bpipe to leave takes the directory with it.
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// Binds a socket at `path`, `0600`. A socket file already there is taken over only if
/// nothing answers on it (a stale one); anything else there is refused.
fn bind(path: &Path) -> Result<UnixListener, String> {
    use std::os::unix::fs::FileTypeExt;
    let shown = path.display();
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        let live = UnixStream::connect(path).is_ok();
        if !meta.file_type().is_socket() || live {
            return Err(format!(
                "--control {shown}: already exists{}; give another path",
                if live {
                    " and something answers on it"
                } else {
                    ""
                }
            ));
        }
        let _ = std::fs::remove_file(path);
    }
    let listener = UnixListener::bind(path)
        .map_err(|e| format!("--control {shown}: {}", crate::values::reason(&e)))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| format!("--control {shown}: {}", crate::values::reason(&e)))?;
    Ok(listener)
}

/// Accepts connections for ever (the thread ends with the process).
fn accept(listener: &UnixListener, ask: &Sender<Asked>) {
    let serving = Arc::new(AtomicUsize::new(0));
    for stream in listener.incoming() {
        let mut stream = match stream {
            Ok(stream) => stream,
            // Out of descriptors, say: try again later rather than spin.
            Err(_) => {
                thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        if serving.load(Ordering::Acquire) >= MAX_CONNECTIONS {
            let _ = stream.set_write_timeout(Some(REQUEST_WAIT));
            let _ = stream.write_all(b"error: busy: too many control connections at once\n");
            continue;
        }
        serving.fetch_add(1, Ordering::AcqRel);
        let (ask, serving) = (ask.clone(), Arc::clone(&serving));
        let spawned = thread::Builder::new()
            .name("control-conn".into())
            .spawn(move || {
                serve(stream, &ask);
                serving.fetch_sub(1, Ordering::AcqRel);
            });
        if spawned.is_err() {
            // The counter stays as it was: the closure that would lower it never ran.
            thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Serves one connection: checks the peer, reads one request, has it answered.
fn serve(mut stream: UnixStream, ask: &Sender<Asked>) {
    let _ = stream.set_read_timeout(Some(REQUEST_WAIT));
    let _ = stream.set_write_timeout(Some(REQUEST_WAIT));
    let mut handed = false;
    let reply = match peer(&stream) {
        Err(refusal) => Reply::Said(Err(refusal)),
        Ok(pid) => match read_request(&stream) {
            Err(e) => Reply::Said(Err(e)),
            Ok(_) if !still_there(&stream) => return,
            Ok(request) => {
                REPLYING.fetch_add(1, Ordering::AcqRel);
                handed = true;
                match ask_watch(ask, request, pid) {
                    Err(e) => Reply::Said(Err(e)),
                    Ok(Reply::Tap(copies, counts)) => {
                        // Its `ok` is written at once; then it streams, not waited for.
                        STREAMING.fetch_add(1, Ordering::AcqRel);
                        tap::stream(stream, &copies, &counts, ask, pid, replied);
                        STREAMING.fetch_sub(1, Ordering::AcqRel);
                        return;
                    }
                    Ok(reply) => reply,
                }
            }
        },
    };
    if let Reply::Said(result) = reply {
        let _ = stream.write_all(wire::answer(&result).as_bytes());
    }
    if handed {
        replied();
    }
}

/// An answer handed to the watch loop was written (or its client is gone).
fn replied() {
    let _ = REPLYING.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
}

/// The peer's PID, if it is this user's.
fn peer(stream: &UnixStream) -> Result<u32, String> {
    let cred = rustix::net::sockopt::socket_peercred(stream)
        .map_err(|e| format!("cannot tell who is asking: {e}"))?;
    if cred.uid != rustix::process::geteuid() {
        return Err("permission denied: this bpipe belongs to another user".into());
    }
    Ok(cred.pid.as_raw_nonzero().get() as u32)
}

/// Reads one request line, all of it within [`REQUEST_WAIT`] of the connection (a client
/// that sends a byte a second gets no more time than one that sends nothing).
fn read_request(mut stream: &UnixStream) -> Result<Request, String> {
    let deadline = Instant::now() + REQUEST_WAIT;
    let late = || format!("no request within {}s", REQUEST_WAIT.as_secs());
    let mut line = Vec::new();
    let mut buf = [0u8; 512];
    while !line.contains(&b'\n') && line.len() <= MAX_REQUEST {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            return Err(late());
        }
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => line.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err(late());
            }
            Err(e) => return Err(format!("reading the request: {e}")),
        }
    }
    let end = line.iter().position(|&b| b == b'\n').unwrap_or(line.len());
    if end > MAX_REQUEST {
        return Err(format!("request too long (at most {MAX_REQUEST} bytes)"));
    }
    let text =
        std::str::from_utf8(&line[..end]).map_err(|_| "the request is not UTF-8".to_string())?;
    Request::parse(text.trim_end_matches('\r'))
}

/// Whether the client is still there to be answered: one that has closed its end (it gave
/// up while bpipe was stopped, say) has its request dropped, not carried out unseen. (One
/// that only shut down its writing half, as `socat` does, is still there: POLLHUP is set
/// only when both halves are shut.)
pub(super) fn still_there(stream: &UnixStream) -> bool {
    use std::os::fd::AsRawFd;
    let mut fd = libc::pollfd {
        fd: stream.as_raw_fd(),
        events: 0,
        revents: 0,
    };
    // SAFETY: one valid pollfd, no waiting.
    let ready = unsafe { libc::poll(&mut fd, 1, 0) };
    !(ready > 0 && fd.revents & libc::POLLHUP != 0)
}

/// Hands `request` to the watch loop and waits for its answer.
fn ask_watch(ask: &Sender<Asked>, request: Request, peer: u32) -> Result<Reply, String> {
    let (reply, answer) = bounded(1);
    let asked = Asked {
        request,
        peer,
        reply,
    };
    ask.send_timeout(asked, ANSWER_WAIT)
        .map_err(|_| "bpipe is not answering (busy, or ending)".to_string())?;
    answer
        .recv_timeout(ANSWER_WAIT)
        .map_err(|_| "bpipe is not answering (busy, or ending)".to_string())
}
