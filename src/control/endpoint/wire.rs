//! The control protocol, spoken by `bpipectl` and served by `control::endpoint`: one request
//! line of at most [`MAX_REQUEST`] bytes, then one answer — a first line `ok` or
//! `error: MESSAGE`, and after `ok` what was asked for — and the server closes.
//!
//! ```text
//! stats text|json      the current record
//! set NAME VALUE       a limit (see config::change::SETTINGS); the answer says from and to
//! pause | resume       stop writing, and go on
//! stop                 as SIGTERM: drain, final record
//! tap [sample P] [count N]
//!                      `ok`, then a copy of P % of the items going out (at most N), raw
//! ```

use crate::queue::tap::TapSpec;
use crate::report::StatsFormat;
use crate::values::rate::Rate;

/// How a refusal that is bad usage (a value the flag's parser refuses) begins, after
/// `error: `: the client exits 2 for it, as bpipe does for a bad flag.
pub const USAGE: &str = "usage: ";

/// The longest request line.
pub const MAX_REQUEST: usize = 4096;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    Stats(StatsFormat),
    Set {
        name: String,
        value: String,
    },
    Pause,
    Resume,
    Stop,
    /// A copy of the items going out, as `TapSpec` says.
    Tap(TapSpec),
    /// A tap ended, having copied and missed this many items. Made by the endpoint itself
    /// for the watch loop's record, never read from a client.
    TapEnded {
        copied: u64,
        dropped: u64,
    },
}

impl Request {
    /// A request line (without its newline).
    pub fn parse(line: &str) -> Result<Request, String> {
        let words: Vec<&str> = line.split_whitespace().collect();
        Ok(match words.as_slice() {
            ["stats"] | ["stats", "text"] => Request::Stats(StatsFormat::Text),
            ["stats", "json"] => Request::Stats(StatsFormat::Json),
            ["set", name, value] => Request::Set {
                name: (*name).to_string(),
                value: (*value).to_string(),
            },
            ["pause"] => Request::Pause,
            ["resume"] => Request::Resume,
            ["stop"] => Request::Stop,
            ["tap", rest @ ..] => tap(rest)?,
            _ => {
                let shown: String = line.chars().take(40).collect();
                return Err(format!(
                    "unknown request '{}': expected stats [json], set NAME VALUE, pause, resume or stop",
                    shown.escape_default()
                ));
            }
        })
    }

    /// The request as a line (without its newline).
    pub fn line(&self) -> String {
        match self {
            Request::Stats(StatsFormat::Json) => "stats json".into(),
            Request::Stats(_) => "stats text".into(),
            Request::Set { name, value } => format!("set {name} {value}"),
            Request::Pause => "pause".into(),
            Request::Resume => "resume".into(),
            Request::Stop => "stop".into(),
            Request::TapEnded { .. } => "tap-ended".into(),
            Request::Tap(spec) => {
                let mut line = format!("tap sample {}", spec.percent);
                if let Some(n) = spec.count {
                    line += &format!(" count {n}");
                }
                if let Some(rate) = spec.rate {
                    line += &format!(" rate {rate}");
                }
                line
            }
        }
    }
}

/// `tap [sample P] [count N]`.
fn tap(words: &[&str]) -> Result<Request, String> {
    let form = "expected tap [sample 1-100] [count N] [rate N/PERIOD]";
    let (mut percent, mut count, mut rate) = (100, None, None);
    for pair in words.chunks(2) {
        match pair {
            ["sample", p] => {
                percent = p
                    .trim_end_matches('%')
                    .parse()
                    .ok()
                    .filter(|p| (1..=100).contains(p))
                    .ok_or_else(|| format!("{form}; got sample {p}"))?;
            }
            ["count", n] => {
                count = Some(
                    n.parse()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or_else(|| format!("{form}; got count {n}"))?,
                );
            }
            ["rate", r] => rate = Some(Rate::parse(r)?),
            _ => return Err(form.into()),
        }
    }
    let spec = TapSpec {
        percent,
        count,
        rate,
    };
    spec.check()?;
    Ok(Request::Tap(spec))
}

/// An answer as it goes on the wire.
pub fn answer(result: &Result<String, String>) -> String {
    match result {
        Ok(body) if body.is_empty() => "ok\n".into(),
        Ok(body) => format!("ok\n{}\n", body.trim_end_matches('\n')),
        Err(message) => format!("error: {}\n", message.replace('\n', " ")),
    }
}

/// An answer read back: the body after `ok`, or the error's message.
pub fn read_answer(text: &str) -> Result<String, String> {
    match text.split_once('\n') {
        Some(("ok", body)) => Ok(body.trim_end_matches('\n').to_string()),
        _ if text.trim_end() == "ok" => Ok(String::new()),
        _ => Err(text
            .trim_end()
            .strip_prefix("error: ")
            .unwrap_or(if text.is_empty() {
                "no answer"
            } else {
                text.trim_end()
            })
            .to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_read_back_as_written() {
        for request in [
            Request::Stats(StatsFormat::Text),
            Request::Stats(StatsFormat::Json),
            Request::Set {
                name: "rate".into(),
                value: "100/s".into(),
            },
            Request::Pause,
            Request::Resume,
            Request::Stop,
            Request::Tap(TapSpec {
                percent: 10,
                count: Some(5),
                rate: Some(Rate::parse("100/s").unwrap()),
            }),
            Request::Tap(TapSpec {
                percent: 100,
                count: None,
                rate: None,
            }),
        ] {
            assert_eq!(Request::parse(&request.line()), Ok(request));
        }
        assert!(Request::parse("set rate").is_err());
        assert!(Request::parse("\u{1b}[2J").unwrap_err().contains("\\u{1b}"));
    }

    #[test]
    fn answers_read_back_as_written() {
        for result in [Ok(String::new()), Ok("a\nb".into()), Err("no".into())] {
            assert_eq!(read_answer(&answer(&result)), result);
        }
        assert_eq!(read_answer(""), Err("no answer".into()));
    }
}
