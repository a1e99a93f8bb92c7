//! `bpipectl top`: every running bpipe of the user in one live table (ratatui), refreshed
//! in place, sorted by pressure (fill, then drops), fitted to the terminal's width by
//! leaving out the least telling columns first, as the live view does. Each refresh asks
//! every bpipe at once (`ls::look`, 100 ms each): one that does not answer is shown so and
//! never holds up the table. Rates are over the last refresh, not the whole run. `--once`
//! prints one table as plain lines, for scripts.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crossterm::event::{self, Event, KeyCode, KeyModifiers};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::widgets::{Row, Table, Widget};
use serde_json::Value;

use super::ls::{self, Looked};

/// A column: its heading, its width, how much it tells (the first to go is the least), and
/// its cell for a bpipe's record (with the rates over the last refresh).
struct Column {
    heading: &'static str,
    width: u16,
    priority: u8,
    cell: fn(&Value, &Rates) -> String,
}

/// Items in and out per second since the previous refresh.
#[derive(Clone, Copy, Default)]
struct Rates {
    input: f64,
    output: f64,
}

fn n(r: &Value, key: &str) -> f64 {
    r[key].as_f64().unwrap_or(0.0)
}

/// How full bpipe is against its caps, 0 to 1 and over: what is queued and what the reader
/// and writer hold (a read waiting whole for a stalled writer is pressure too).
pub fn fill(r: &Value) -> f64 {
    let items = n(r, "depth_items") + n(r, "in_hand_items");
    let bytes = n(r, "depth_bytes") + n(r, "in_hand_bytes");
    (items / n(r, "cap_items").max(1.0)).max(bytes / n(r, "cap_bytes").max(1.0))
}

fn compact(x: f64) -> String {
    match x {
        x if x >= 1e9 => format!("{:.1}G", x / 1e9),
        x if x >= 1e6 => format!("{:.1}M", x / 1e6),
        x if x >= 1e4 => format!("{:.0}k", x / 1e3),
        x => format!("{x:.0}"),
    }
}

const COLUMNS: &[Column] = &[
    Column {
        heading: "NAME",
        width: 12,
        priority: 9,
        cell: |r, _| {
            r["name"]
                .as_str()
                .unwrap_or("-")
                .chars()
                .filter(|c| !c.is_control())
                .collect()
        },
    },
    Column {
        heading: "PID",
        width: 8,
        priority: 8,
        cell: |r, _| r["pid"].to_string(),
    },
    Column {
        heading: "FILL",
        width: 14,
        priority: 9,
        cell: |r, _| {
            let f = fill(r).min(1.0);
            let bar = (f * 8.0).round() as usize;
            format!(
                "{}{} {:>3.0}%",
                "#".repeat(bar),
                "-".repeat(8 - bar),
                fill(r) * 100.0
            )
        },
    },
    Column {
        heading: "POLICY",
        width: 8,
        priority: 5,
        cell: |r, _| r["policy"].as_str().unwrap_or("?").into(),
    },
    Column {
        heading: "DEPTH",
        width: 7,
        priority: 6,
        cell: |r, _| compact(n(r, "depth_items")),
    },
    Column {
        heading: "IN/s",
        width: 7,
        priority: 4,
        cell: |_, rates| compact(rates.input),
    },
    Column {
        heading: "OUT/s",
        width: 7,
        priority: 7,
        cell: |_, rates| compact(rates.output),
    },
    Column {
        heading: "DROPPED",
        width: 8,
        priority: 8,
        cell: |r, _| compact(n(r, "dropped_items")),
    },
    Column {
        heading: "P99",
        width: 8,
        priority: 3,
        cell: |r, _| format!("{:.3}s", n(r, "wait_p99_s")),
    },
    Column {
        heading: "STALLED",
        width: 8,
        priority: 6,
        cell: |r, _| match r["paused"].as_bool() {
            Some(true) => "paused".into(),
            _ => format!("{:.1}s", n(r, "stalled_s")),
        },
    },
    Column {
        heading: "BLOCKED",
        width: 8,
        priority: 2,
        cell: |r, _| format!("{:.1}s", n(r, "blocked_s")),
    },
    Column {
        heading: "WORKERS",
        width: 7,
        priority: 1,
        cell: |r, _| match r["workers"].as_array() {
            Some(_) => compact(n(r, "workers_running")),
            None => "-".into(),
        },
    },
    Column {
        heading: "SPILL",
        width: 7,
        priority: 1,
        cell: |r, _| compact(n(r, "spill_depth_items")),
    },
];

/// The columns that fit in `width`: the most telling, in their order.
fn fitting(width: u16) -> Vec<&'static Column> {
    let mut chosen: Vec<&Column> = COLUMNS.iter().collect();
    let used = |cols: &[&Column]| cols.iter().map(|c| c.width + 1).sum::<u16>();
    while used(&chosen) > width && chosen.len() > 1 {
        let least = (0..chosen.len())
            .min_by_key(|&i| (chosen[i].priority, usize::MAX - i))
            .unwrap();
        chosen.remove(least);
    }
    chosen
}

/// The table's state between refreshes: the counters seen last, for rates.
#[derive(Default)]
struct Top {
    last: HashMap<u32, (Instant, f64, f64)>,
}

impl Top {
    /// Looks at every bpipe: rows sorted by pressure, each with its rates.
    fn refresh(&mut self) -> Result<Vec<(u32, Looked, Rates)>, String> {
        let now = Instant::now();
        let mut rows: Vec<(u32, Looked, Rates)> = ls::look()?
            .into_iter()
            .map(|(pid, looked)| {
                let rates = match &looked {
                    Ok(r) => self.rates(pid, r, now),
                    Err(_) => Rates::default(),
                };
                (
                    pid,
                    looked.map(|mut r| {
                        r["pid"] = pid.into();
                        r
                    }),
                    rates,
                )
            })
            .collect();
        let pressure = |l: &Looked| {
            l.as_ref()
                .map_or((0.0, 0.0), |r| (fill(r), n(r, "dropped_items")))
        };
        rows.sort_by(|a, b| {
            pressure(&b.1)
                .partial_cmp(&pressure(&a.1))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        self.last
            .retain(|pid, _| rows.iter().any(|(p, _, _)| p == pid));
        Ok(rows)
    }

    /// Rates since the last look at `pid` (over its whole run the first time).
    fn rates(&mut self, pid: u32, r: &Value, now: Instant) -> Rates {
        let (input, output) = (n(r, "in_items"), n(r, "out_items"));
        let rates = match self.last.get(&pid) {
            Some(&(then, i, o)) if now > then => {
                let secs = (now - then).as_secs_f64();
                Rates {
                    input: (input - i).max(0.0) / secs,
                    output: (output - o).max(0.0) / secs,
                }
            }
            _ => Rates {
                input: n(r, "in_items_per_s"),
                output: n(r, "out_items_per_s"),
            },
        };
        self.last.insert(pid, (now, input, output));
        rates
    }
}

/// The table for `rows`, `width` wide.
fn table(rows: &[(u32, Looked, Rates)], width: u16) -> Table<'static> {
    let columns = fitting(width);
    let header = Row::new(columns.iter().map(|c| c.heading))
        .style(Style::new().add_modifier(Modifier::BOLD));
    let body = rows.iter().map(|(pid, looked, rates)| match looked {
        Ok(record) => Row::new(
            columns
                .iter()
                .map(|c| (c.cell)(record, rates))
                .collect::<Vec<_>>(),
        ),
        Err(_) => Row::new(columns.iter().map(|c| match c.heading {
            "PID" => pid.to_string(),
            "NAME" => "?".into(),
            "FILL" => "not answering".into(),
            _ => String::new(),
        })),
    });
    Table::new(body, columns.iter().map(|c| Constraint::Length(c.width)))
        .header(header)
        .column_spacing(1)
}

/// `--once`: one table, as plain lines as wide as the terminal (80 when it is none).
fn once() -> Result<(), String> {
    let width = crossterm::terminal::size().map_or(80, |(cols, _)| cols);
    let rows = Top::default().refresh()?;
    let area = Rect::new(0, 0, width, rows.len() as u16 + 1);
    let mut buffer = Buffer::empty(area);
    table(&rows, width).render(area, &mut buffer);
    for y in 0..area.height {
        let line: String = (0..width)
            .map(|x| buffer[(x, y)].symbol().to_string())
            .collect();
        super::say(line.trim_end());
    }
    Ok(())
}

/// Runs `top`: live until q, Esc or ^C, or `--once`.
pub fn run(every: Duration, one: bool) -> Result<(), String> {
    if one {
        return once();
    }
    // A stop signal ends the table as q does, so that the terminal is given back as it was.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    for signal in [libc::SIGTERM, libc::SIGHUP, libc::SIGINT] {
        let _ = signal_hook::flag::register(signal, std::sync::Arc::clone(&stop));
    }
    let mut terminal =
        ratatui::try_init().map_err(|e| format!("cannot draw on this terminal: {e}"))?;
    let result = live(&mut terminal, every, &stop);
    ratatui::restore();
    result
}

fn live(
    terminal: &mut ratatui::DefaultTerminal,
    every: Duration,
    stop: &std::sync::atomic::AtomicBool,
) -> Result<(), String> {
    let mut top = Top::default();
    loop {
        let rows = top.refresh()?;
        terminal
            .draw(|frame| {
                let area = frame.area();
                frame.render_widget(table(&rows, area.width), area);
            })
            .map_err(|e| e.to_string())?;
        let until = Instant::now() + every;
        while let Some(left) = until.checked_duration_since(Instant::now()) {
            if stop.load(std::sync::atomic::Ordering::Relaxed) {
                return Ok(());
            }
            // In slices, so that a stop signal is seen soon.
            if !event::poll(left.min(Duration::from_millis(100))).map_err(|e| e.to_string())? {
                continue;
            }
            if let Event::Key(key) = event::read().map_err(|e| e.to_string())? {
                let ctrl_c =
                    key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL);
                if matches!(key.code, KeyCode::Char('q') | KeyCode::Esc) || ctrl_c {
                    return Ok(());
                }
            }
        }
    }
}
