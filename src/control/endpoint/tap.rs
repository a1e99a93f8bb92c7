//! Streaming a tap to its client: `ok`, then the copies as the writer offers them, until the
//! tap's count is reached (the channel ends), the client leaves, or bpipe ends. Writes wait
//! on the client only here, never in the writer: a client that reads slowly is dropped from.
//! When it ends, the watch loop is told what it copied and missed, for a record.

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::sync::atomic::Ordering;

use crossbeam_channel::{Receiver, Sender};

use super::wire::Request;
use super::{ANSWER_WAIT, Asked};
use crate::queue::tap::TapCounts;

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
    if ok {
        for copy in copies {
            if client.write_all(&copy).is_err() {
                break;
            }
        }
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
