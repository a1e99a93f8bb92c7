//! Overflow policies: what happens to an item that finds the queue full.

use std::fmt;
use std::time::Duration;

/// How an item that does not fit is shed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shed {
    /// Discard the incoming item (drop-newest).
    Drop,
    /// Discard the oldest queued items until the incoming one fits (drop-oldest).
    Slide,
    /// Stop reading: deliver what is queued, then exit with an error.
    Fail,
}

/// The overflow policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// Wait for room: the producer is held back through the pipe. With a timeout, once a wait
    /// has lasted that long, `then` applies to every item that finds the queue full until the
    /// consumer takes something again.
    Block {
        timeout: Option<Duration>,
        then: Shed,
    },
    /// Shed at once.
    Shed(Shed),
}

impl Policy {
    pub const BLOCK: Policy = Policy::Block {
        timeout: None,
        then: Shed::Fail,
    };

    /// Whether this policy may ever discard an item.
    pub fn can_shed(self) -> bool {
        match self {
            Policy::Block { timeout: None, .. } => false,
            Policy::Block { then, .. } | Policy::Shed(then) => then != Shed::Fail,
        }
    }

    /// Whether this policy may ever stop the run with the queue full (`fail`, or `block`
    /// with `--on-timeout fail`).
    pub fn can_fail(self) -> bool {
        match self {
            Policy::Block { timeout: None, .. } => false,
            Policy::Block { then, .. } | Policy::Shed(then) => then == Shed::Fail,
        }
    }
}

impl Policy {
    /// The policy as the flags that ask for it, e.g. `--policy block --block-timeout 200ms
    /// --on-timeout fail`.
    pub fn flags(self) -> String {
        match self {
            Policy::Block { timeout: None, .. } => "--policy block".into(),
            Policy::Block {
                timeout: Some(t),
                then,
            } => format!(
                "--policy block --block-timeout {} --on-timeout {then}",
                humantime::format_duration(t)
            ),
            Policy::Shed(shed) => format!("--policy {shed}"),
        }
    }
}

impl fmt::Display for Shed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Shed::Drop => "drop",
            Shed::Slide => "slide",
            Shed::Fail => "fail",
        })
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Policy::Block { timeout: None, .. } => f.write_str("block"),
            Policy::Block {
                timeout: Some(t),
                then,
            } => {
                write!(f, "block {}, then {then}", humantime::format_duration(*t))
            }
            Policy::Shed(shed) => shed.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(Policy::BLOCK.to_string(), "block");
        assert_eq!(Policy::Shed(Shed::Slide).to_string(), "slide");
        let timed = Policy::Block {
            timeout: Some(Duration::from_millis(200)),
            then: Shed::Drop,
        };
        assert_eq!(timed.to_string(), "block 200ms, then drop");
    }

    #[test]
    fn only_shedding_policies_can_shed() {
        assert!(!Policy::BLOCK.can_shed());
        assert!(!Policy::Shed(Shed::Fail).can_shed());
        assert!(Policy::Shed(Shed::Drop).can_shed());
        let timed = |then| Policy::Block {
            timeout: Some(Duration::from_secs(1)),
            then,
        };
        assert!(timed(Shed::Slide).can_shed());
        assert!(!timed(Shed::Fail).can_shed());
    }

    #[test]
    fn only_fail_can_fail_and_plain_block_never_does() {
        assert!(!Policy::BLOCK.can_fail());
        assert!(Policy::Shed(Shed::Fail).can_fail());
        assert!(!Policy::Shed(Shed::Slide).can_fail());
        let timed = |then| Policy::Block {
            timeout: Some(Duration::from_secs(1)),
            then,
        };
        assert!(timed(Shed::Fail).can_fail());
        assert!(!timed(Shed::Drop).can_fail());
    }
}
