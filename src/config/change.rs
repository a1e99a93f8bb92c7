//! `bpipectl set NAME VALUE`: a limit of a running bpipe, parsed by the command line's own
//! parser (clap's value parsers, then the checks of `flags.rs`), so that a value is taken or
//! refused with the same words as at the start.

use crate::keys::Fairness;
use clap::Parser;

use super::flags::{bounds, burst, policy, usage};
use crate::cli::{Args, PolicyArg, ShedArg};
use crate::error::Error;
use crate::input::framing::Overlong;
use crate::queue::Limits;
use crate::queue::policy::{Policy, Shed};

/// What `bpipectl set` can change, as it is named there (each the flag of the same name).
pub const SETTINGS: &[&str] = &[
    "rate",
    "burst",
    "cap",
    "cap-bytes",
    "policy",
    "block-timeout",
    "on-timeout",
    "max-age",
];

/// Values that turn a setting off, where it can be off.
const OFF: &[&str] = &["off", "none"];

/// What a running bpipe was started with that bounds what may change.
#[derive(Clone, Copy, Debug)]
pub struct Started {
    /// How it frames lines longer than `--max-line`.
    pub overlong: Overlong,
    /// `--fair`: its policy must keep shedding.
    pub fairness: Fairness,
}

/// The limits with `name` set to `value`, for a bpipe `started` so.
pub fn change(
    current: &Limits,
    started: Started,
    name: &str,
    value: &str,
) -> Result<Limits, Error> {
    let overlong = started.overlong;
    if !SETTINGS.contains(&name) {
        return usage(format!(
            "set: no setting '{name}'; settings: {}",
            SETTINGS.join(", ")
        ));
    }
    let off = OFF.contains(&value);
    let mut next = *current;
    match name {
        "rate" if off => next.rate = None,
        "max-age" if off => next.max_age = None,
        "block-timeout" if off => next.policy = with_timeout(current.policy, None)?,
        "burst" => {
            let Some((rate, _)) = current.rate else {
                return usage(
                    "set burst: this bpipe has no rate; set rate first, e.g. rate 1000/s",
                );
            };
            next.rate = Some((rate, burst(rate, value)?));
        }
        _ => {
            let args = parsed(name, value)?;
            match name {
                "rate" => {
                    let rate = args.rate.expect("--rate was given");
                    // The burst carries over within a unit; across, the new rate's default.
                    let burst = match current.rate {
                        Some((old, burst)) if old.unit == rate.unit => burst,
                        _ => rate.default_burst(),
                    };
                    next.rate = Some((rate, burst));
                }
                "cap" | "cap-bytes" => next.bounds = resized(args, current)?,
                "policy" => next.policy = with_policy(args.policy, current.policy)?,
                "block-timeout" => {
                    next.policy = with_timeout(current.policy, args.block_timeout)?;
                }
                "on-timeout" => next.policy = with_fallback(current.policy, args.on_timeout)?,
                "max-age" => match args.max_age {
                    Some(age) if age.is_zero() => {
                        return usage("--max-age must be more than 0, e.g. --max-age 5s");
                    }
                    age => next.max_age = age,
                },
                _ => unreachable!("checked against SETTINGS"),
            }
        }
    }
    if started.fairness == Fairness::Heaviest && !next.policy.can_shed() {
        return usage(format!(
            "set {name}: this bpipe was started with --fair, which chooses what a policy sheds; \
             {} never sheds: use slide or drop",
            next.policy.flags()
        ));
    }
    if overlong == Overlong::Split && (next.policy.can_shed() || next.max_age.is_some()) {
        return usage(format!(
            "set {name}: this bpipe passes lines longer than --max-line on in pieces (it started \
             under --policy block), and shedding could tear one; start it with a policy that \
             may shed (e.g. --policy block --block-timeout 1h --on-timeout drop) to change \
             this while it runs"
        ));
    }
    Ok(next)
}

/// `--NAME VALUE` through the command line's parser, as a refusal says it.
fn parsed(name: &str, value: &str) -> Result<Args, Error> {
    let flag = format!("--{name}");
    let mut argv = vec!["bpipe", flag.as_str(), value];
    // --on-timeout needs --block-timeout beside it on the command line.
    if name == "on-timeout" {
        argv.extend(["--block-timeout", "1s"]);
    }
    Args::try_parse_from(argv).map_err(|e| Error::Usage(crate::cli::one_line(&e)))
}

/// `--cap` or `--cap-bytes` changed, the other as it is.
fn resized(mut args: Args, current: &Limits) -> Result<crate::queue::Bounds, Error> {
    let items = current.bounds.items as u64;
    let bytes = current.bounds.bytes as u64;
    args.cap.get_or_insert(items);
    args.cap_bytes.get_or_insert(bytes);
    Ok(bounds(&args)?.0)
}

/// The policy's flags as the command line gives them.
fn as_args(policy: Policy) -> (PolicyArg, Option<std::time::Duration>, ShedArg) {
    let shed = |shed| match shed {
        Shed::Drop => ShedArg::Drop,
        Shed::Slide => ShedArg::Slide,
        Shed::Fail => ShedArg::Fail,
    };
    match policy {
        Policy::Block { timeout, then } => (PolicyArg::Block, timeout, shed(then)),
        Policy::Shed(Shed::Drop) => (PolicyArg::Drop, None, ShedArg::Fail),
        Policy::Shed(Shed::Slide) => (PolicyArg::Slide, None, ShedArg::Fail),
        Policy::Shed(Shed::Fail) => (PolicyArg::Fail, None, ShedArg::Fail),
    }
}

/// Through `flags::policy`, from the flags as they would be.
fn checked(
    arg: PolicyArg,
    timeout: Option<std::time::Duration>,
    then: ShedArg,
) -> Result<Policy, Error> {
    let mut args =
        Args::try_parse_from(["bpipe"]).map_err(|e| Error::Usage(crate::cli::one_line(&e)))?;
    (args.policy, args.block_timeout, args.on_timeout) = (arg, timeout, then);
    policy(&args)
}

/// `--policy` changed: a block timeout and its fallback carry over to `block`.
fn with_policy(arg: PolicyArg, current: Policy) -> Result<Policy, Error> {
    let (_, timeout, then) = as_args(current);
    match arg {
        PolicyArg::Block => checked(arg, timeout, then),
        _ => checked(arg, None, ShedArg::Fail),
    }
}

/// `--block-timeout` changed (`None`: off).
fn with_timeout(current: Policy, timeout: Option<std::time::Duration>) -> Result<Policy, Error> {
    let (arg, _, then) = as_args(current);
    checked(arg, timeout, then)
}

/// `--on-timeout` changed.
fn with_fallback(current: Policy, then: ShedArg) -> Result<Policy, Error> {
    let (arg, timeout, _) = as_args(current);
    if timeout.is_none() {
        return usage(
            "set on-timeout: this bpipe has no --block-timeout; set block-timeout first, e.g. block-timeout 200ms",
        );
    }
    checked(arg, timeout, then)
}
