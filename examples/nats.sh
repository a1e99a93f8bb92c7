#!/usr/bin/env bash
# Feed a NATS subject through examples/nats-pub, a client of NATS's text protocol with
# Python's standard library only (no nats CLI is packaged for Debian).
#
#   examples/nats.sh HOST:PORT SUBJECT < lines
#
# nats-pub confirms each chunk with PING/PONG before it reads the next, so its exit status
# says whether the server took every line it read; when the server goes away it exits 1
# saying how many lines it had read unconfirmed (at most one 64 KiB chunk), and bpipe starts
# it again until the server is back. Core NATS keeps nothing: a subscriber that is away or
# falls behind (a slow consumer is cut off) misses what was published meanwhile. For a
# durable backlog use JetStream.
set -euo pipefail
server=${1:?usage: nats.sh HOST:PORT SUBJECT}
subject=${2:?usage: nats.sh HOST:PORT SUBJECT}
here=$(dirname "$0")
exec bpipe --workers 4 --restart --restart-max never --restart-backoff 5s \
  -N nats-"$subject" --stats-format json --stats-file nats-"$subject".stats.jsonl \
  --stats-interval 10s -- "$here/nats-pub" --server "$server" "$subject"
