//! Feeding real brokers through their own clients as bpipe's workers: Kafka (kcat, against
//! librdkafka's mock cluster), MQTT (mosquitto and mosquitto_pub) and NATS (nats-server and
//! examples/nats-pub). A million lines go through `bpipe --workers 4`, are read back with the
//! broker's consumer and compared as a multiset; then the broker goes away mid-stream and
//! comes back, and the outcome is counted line for line. Each test skips, saying so, where
//! its broker or client is not installed.

mod broker;
mod util;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::Duration;

use broker::*;
use util::*;

const LINES: usize = 1_000_000;

/// Runs `bpipe ARGS -- CLIENT` on `input`, fed in 16 pieces; before piece 6, `outage` runs
/// (on the feeding thread: the feed waits for it, the workers do not). Returns the final
/// JSON record and bpipe's stderr.
fn feed(
    args: &[&str],
    client: &[&str],
    input: &[u8],
    outage: impl FnOnce(),
) -> (serde_json::Value, String) {
    let mut all = vec!["--stats-format", "json", "--summary", "--workers", "4"];
    all.extend_from_slice(args);
    all.push("--");
    all.extend_from_slice(client);
    let mut cmd = bpipe(&all);
    cmd.env("PATH", std::env::var_os("PATH").unwrap());
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let errors = thread::spawn(move || std::io::read_to_string(stderr).unwrap());
    let pieces: Vec<&[u8]> = split_lines(input, 16);
    let mut outage = Some(outage);
    for (i, piece) in pieces.iter().enumerate() {
        if i == 5 {
            (outage.take().unwrap())();
        }
        stdin.write_all(piece).unwrap();
    }
    drop(stdin);
    let status = child.wait().unwrap();
    let stderr = errors.join().unwrap();
    assert!(status.code().is_some(), "bpipe died of a signal: {stderr}");
    (last_record(&stderr), stderr)
}

/// `input` in about `n` pieces, each whole lines.
fn split_lines(input: &[u8], n: usize) -> Vec<&[u8]> {
    let mut pieces = Vec::new();
    let mut rest = input;
    let size = input.len() / n + 1;
    while !rest.is_empty() {
        let cut = rest[size.min(rest.len() - 1)..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(rest.len(), |p| size.min(rest.len() - 1) + p + 1);
        pieces.push(&rest[..cut]);
        rest = &rest[cut..];
    }
    pieces
}

/// What the clients said on stderr (bpipe passes it on), not bpipe's own lines.
fn clients_said(stderr: &str) -> String {
    let theirs: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.starts_with("bpipe") && !l.starts_with('{'))
        .take(5)
        .collect();
    theirs.join(" | ")
}

/// bpipe's books for a run where everything reached the workers.
fn all_handed_over(record: &serde_json::Value, stderr: &str) {
    assert_eq!(n(record, "in_items"), LINES as u64, "{stderr}");
    assert_eq!(n(record, "out_items"), LINES as u64, "{stderr}");
    assert_eq!(
        n(record, "dropped_items") + n(record, "undelivered_items"),
        0,
        "{stderr}"
    );
}

/// The mock Kafka cluster of librdkafka, living in a kcat that consumes nothing; its port.
fn kafka() -> (Process, u16) {
    let mut cmd = Command::new("kcat");
    cmd.args([
        "-b",
        "127.0.0.1:1",
        "-X",
        "test.mock.num.brokers=1",
        "-C",
        "-t",
        "keepalive",
        "-d",
        "mock",
    ]);
    let (child, said) = spawn_ready(&mut cmd, "bootstrap.servers=");
    let line = said.last().unwrap();
    let at =
        line.find("bootstrap.servers=127.0.0.1:").unwrap() + "bootstrap.servers=127.0.0.1:".len();
    let port: u16 = line[at..]
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap();
    wait_listening(port);
    (Process(child), port)
}

fn kafka_consume(port: u16, topic: &str) -> Vec<u8> {
    let out = Command::new("kcat")
        .args([
            "-C",
            "-b",
            &format!("127.0.0.1:{port}"),
            "-t",
            topic,
            "-e",
            "-o",
            "beginning",
            "-q",
        ])
        .output()
        .unwrap();
    out.stdout
}

#[test]
fn kafka_through_kcat_every_line_once_and_through_a_frozen_broker() {
    if !have(&["kcat"], "kafka") {
        return;
    }
    let (broker, port) = kafka();
    let server = format!("127.0.0.1:{port}");
    let input = short_numbered(LINES);
    let client = ["kcat", "-P", "-b", &server, "-t", "lines", "-X", "acks=all"];
    let (record, stderr) = feed(&[], &client, &input, || {});
    all_handed_over(&record, &stderr);
    assert_eq!(
        compare(&input, &kafka_consume(port, "lines")),
        (0, 0),
        "every line once; the clients said: {}",
        clients_said(&stderr)
    );

    // The broker freezes for 3 s mid-stream (SIGSTOP, as a partition or a GC pause would).
    let client = [
        "kcat", "-P", "-b", &server, "-t", "frozen", "-X", "acks=all",
    ];
    let (record, stderr) = feed(&[], &client, &input, || {
        broker.signal(libc::SIGSTOP);
        thread::sleep(Duration::from_secs(3));
        broker.signal(libc::SIGCONT);
    });
    all_handed_over(&record, &stderr);
    let outcome = compare(&input, &kafka_consume(port, "frozen"));
    let said = clients_said(&stderr);
    eprintln!("kafka, broker frozen 3 s: {outcome:?} (missing, extra)");
    assert_eq!(
        outcome,
        (0, 0),
        "kcat waits out a frozen broker: every line once; the clients said: {said}"
    );
}

/// mosquitto_pub on the broker at port `p`, publishing each line to `topic` at QoS 0.
fn mqtt_client<'a>(p: &'a str, topic: &'a str) -> [&'a str; 10] {
    [
        "mosquitto_pub",
        "-h",
        "127.0.0.1",
        "-p",
        p,
        "-t",
        topic,
        "-q",
        "0",
        "-l",
    ]
}

/// A mosquitto on `port`, started anew each call (the fault case restarts it).
fn mosquitto(port: u16, dir: &std::path::Path) -> Process {
    let conf = dir.join("mosquitto.conf");
    std::fs::write(
        &conf,
        format!("listener {port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 10000000\n"),
    )
    .unwrap();
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("mosquitto.log"))
        .unwrap();
    let broker = Process::spawn(Command::new("mosquitto").arg("-c").arg(&conf).stderr(log));
    wait_listening(port);
    broker
}

/// A mosquitto_sub reading `topic` at QoS 1, once it has subscribed; its payloads when it
/// ends. `None` if it ended first (no broker there).
fn mqtt_subscriber(
    port: u16,
    topic: &str,
    count: usize,
) -> Option<(Process, mpsc::Receiver<Vec<u8>>)> {
    // stdbuf: -d's lines must come as they are written, to tell when it has subscribed.
    let mut child = Command::new("stdbuf")
        .args([
            "-oL",
            "mosquitto_sub",
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .args(["-t", topic, "-q", "1", "-d", "-C", &count.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let (tx, rx) = mpsc::channel();
    let (ready, subscribed) = mpsc::channel();
    thread::spawn(move || {
        let (mut got, mut line) = (Vec::new(), Vec::new());
        let mut ready = Some(ready);
        while out.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
            // -d's own lines: 'Client null received SUBACK', 'Subscribed (mid: 1): 1', ...
            if line.starts_with(b"Client ") || line.starts_with(b"Subscribed (") {
                if line.windows(15).any(|w| w == b"received SUBACK") {
                    ready.take().map(|r| r.send(()));
                }
            } else {
                got.extend_from_slice(&line);
            }
            line.clear();
        }
        let _ = tx.send(got);
    });
    match subscribed.recv_timeout(Duration::from_secs(10)) {
        Ok(()) => Some((Process(child), rx)),
        Err(_) => None,
    }
}

/// A mosquitto_sub on `topic` started again whenever it ends (it does when its broker goes
/// away), until `stop` is set; all it read.
fn mqtt_resubscriber(port: u16, topic: &str, stop: Arc<AtomicBool>) -> thread::JoinHandle<Vec<u8>> {
    let topic = topic.to_string();
    let first = mqtt_subscriber(port, &topic, LINES).expect("mosquitto_sub subscribed");
    thread::spawn(move || {
        let mut all = Vec::new();
        let (mut sub, mut rx) = first;
        loop {
            match rx.recv_timeout(Duration::from_millis(50)) {
                Ok(got) => all.extend(got),
                Err(_) if stop.load(Ordering::Relaxed) => {
                    sub.stop();
                    all.extend(rx.recv().unwrap_or_default());
                    return all;
                }
                Err(_) => continue,
            }
            // It ended: the broker went away. Subscribe again once it is back.
            loop {
                if stop.load(Ordering::Relaxed) {
                    return all;
                }
                if let Some(next) = mqtt_subscriber(port, &topic, LINES) {
                    (sub, rx) = next;
                    break;
                }
                thread::sleep(Duration::from_millis(20));
            }
        }
    })
}

#[test]
fn mqtt_through_mosquitto_pub_every_line_once_and_a_broker_restart_counted() {
    if !have(
        &["mosquitto", "mosquitto_pub", "mosquitto_sub", "stdbuf"],
        "mqtt",
    ) {
        return;
    }
    let dir = temp_dir("mqtt");
    let port = free_port();
    let mut broker = mosquitto(port, &dir);
    let input = numbered(LINES);
    let p = port.to_string();
    // QoS 0: mosquitto_pub -l at QoS 1 or 2 exits 0 at the end of its input with what it has
    // not had acknowledged unsent (README, "Feeding a broker").
    let client = mqtt_client(&p, "lines");
    let (sub, got) = mqtt_subscriber(port, "lines", LINES).expect("mosquitto_sub subscribed");
    let (record, stderr) = feed(&[], &client, &input, || {});
    all_handed_over(&record, &stderr);
    let got = got
        .recv_timeout(Duration::from_secs(60))
        .expect("every line read back");
    drop(sub);
    assert_eq!(compare(&input, &got), (0, 0), "every line once");

    // The broker goes away mid-stream and is back 1 s later.
    let client = mqtt_client(&p, "again");
    let stop = Arc::new(AtomicBool::new(false));
    let sub = mqtt_resubscriber(port, "again", Arc::clone(&stop));
    let (record, _) = feed(
        // mosquitto_pub reconnects, reads on, publishes nothing and hangs at the end of its
        // input (mosquitto 2.0.11): --worker-exit-timeout ends it.
        &[
            "--restart",
            "--restart-max",
            "never",
            "--worker-exit-timeout",
            "3s",
        ],
        &client,
        &input,
        || {
            broker.stop();
            thread::sleep(Duration::from_secs(1));
            broker = mosquitto(port, &dir);
        },
    );
    // What the broker still had to send goes out within a moment; the rest was lost.
    thread::sleep(Duration::from_secs(2));
    stop.store(true, Ordering::Relaxed);
    let got = sub.join().unwrap();
    let (missing, extra) = compare(&input, &got);
    eprintln!(
        "mqtt, broker restarted: {missing} missing, {extra} extra; bpipe counted {} \
         undelivered",
        n(&record, "undelivered_items")
    );
    assert_eq!(extra, 0, "QoS 0: no line twice, none made up");
    assert_eq!(
        n(&record, "in_items"),
        n(&record, "out_items") + n(&record, "undelivered_items")
    );
    assert!(missing < LINES, "lines after the restart arrive");
}

/// A nats-server on `port`.
fn nats(port: u16) -> Process {
    let broker = Process::spawn(
        Command::new("nats-server")
            .args(["-a", "127.0.0.1", "-p", &port.to_string()])
            .stderr(Stdio::null()),
    );
    wait_listening(port);
    broker
}

/// examples/nats-sub on `subject`, once it has subscribed; what it read, once it has been
/// idle for 3 s.
fn nats_subscriber(port: u16, subject: &str) -> thread::JoinHandle<Vec<u8>> {
    let mut cmd = Command::new(example("nats-sub"));
    cmd.args(["--server", &format!("127.0.0.1:{port}"), subject])
        .env("NATS_SUB_IDLE", "3");
    let (child, _) = spawn_ready(&mut cmd, "nats-sub: subscribed");
    read_all(child)
}

#[test]
fn nats_through_nats_pub_every_line_once_and_a_server_restart_counted() {
    if !have(&["nats-server", "python3"], "nats") {
        return;
    }
    let port = free_port();
    let mut server = nats(port);
    let input = numbered(LINES);
    let address = format!("127.0.0.1:{port}");
    let pub_ = example("nats-pub");
    let pub_ = pub_.to_str().unwrap();
    let sub = nats_subscriber(port, "lines");
    let (record, stderr) = feed(&[], &[pub_, "--server", &address, "lines"], &input, || {});
    all_handed_over(&record, &stderr);
    assert_eq!(
        compare(&input, &sub.join().unwrap()),
        (0, 0),
        "every line once"
    );

    // The server goes away mid-stream and is back 1 s later; the clients exit 1 and are
    // started again until it is.
    let sub = nats_subscriber(port, "again");
    let restart = [
        "--restart",
        "--restart-max",
        "never",
        "--restart-backoff",
        "500ms",
    ];
    let (record, stderr) = feed(
        &restart,
        &[pub_, "--server", &address, "again"],
        &input,
        || {
            server.stop();
            thread::sleep(Duration::from_secs(1));
            server = nats(port);
        },
    );
    let got = sub.join().unwrap();
    let (missing, extra) = compare(&input, &got);
    let unconfirmed: u64 = stderr
        .lines()
        .filter_map(|l| l.strip_prefix("nats-pub: "))
        .filter_map(|l| l.split("; ").nth(1)?.split(' ').next()?.parse::<u64>().ok())
        .sum();
    let undelivered = n(&record, "undelivered_items");
    eprintln!(
        "nats, server restarted: {missing} missing, {extra} extra; the clients said \
         {unconfirmed} unconfirmed, bpipe counted {undelivered} undelivered"
    );
    assert_eq!(
        extra,
        0,
        "no line twice, none made up: {:?}",
        strangers(&input, &got)
    );
    assert_eq!(
        n(&record, "in_items"),
        n(&record, "out_items") + undelivered
    );
    assert!(missing < LINES, "lines after the restart arrive");
}
