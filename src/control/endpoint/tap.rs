//! Streaming a tap to its client: `ok`, then the copies as the writer offers them, until the
//! tap's count is reached (the channel ends), the client leaves, or bpipe ends. Writes wait
//! on the client only here, never in the writer: a client that reads slowly is dropped from.
//! When it ends, the watch loop is told what it copied and missed, for a record.

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::sync::atomic::Ordering;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use super::wire::Request;
use super::{ANSWER_WAIT, Asked};
use crate::queue::tap::TapCounts;

/// How often a tap with nothing to copy looks whether its client is still there.
const LOOK_EVERY: std::time::Duration = std::time::Duration::from_millis(500);

pub(super) fn stream(
    mut client: UnixStream,
    copies: &Receiver<Vec<u8>>,
    counts: &TapCounts,
    ask: &Sender<Asked>,
    peer: u32,
    replied: fn(),
) {
    // A tap may wait long for items; the client is never rushed to read.
    let _ = client.set_write_timeout(None);
    let ok = client.write_all(b"ok\n").is_ok();
    replied();
    let mut going = ok;
    while going {
        going = match copies.recv_timeout(LOOK_EVERY) {
            Ok(copy) => client.write_all(&copy).is_ok(),
            // Nothing to copy (a stalled pipe): a client that has left ends the tap.
            Err(RecvTimeoutError::Timeout) => super::still_there(&client),
            Err(RecvTimeoutError::Disconnected) => false,
        };
    }
    let ended = Request::TapEnded {
        copied: counts.copied.load(Ordering::Relaxed),
        dropped: counts.dropped.load(Ordering::Relaxed),
    };
    let (reply, _) = crossbeam_channel::bounded(1);
    let _ = ask.send_timeout(
        Asked {
            request: ended,
            peer,
            reply,
        },
        ANSWER_WAIT,
    );
}
