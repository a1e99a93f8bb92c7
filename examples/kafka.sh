#!/usr/bin/env bash
# Feed a Kafka topic at the pace it takes, through kcat (Debian: apt-get install kcat).
#
#   examples/kafka.sh BROKER:PORT TOPIC < lines
#
# Four kcat producers take whole lines from one bpipe. Each kcat waits at its end until
# every message it took is acknowledged (acks=all), and exits non-zero when it cannot
# deliver (all brokers down past message.timeout.ms), which makes bpipe's status 6. A
# producer that fails is started again (every 100 ms doubling to 30 s, until the broker is
# back); while none can take data, bpipe's queue fills and then spills to disk (up to 4 GiB)
# rather than hold the producer or shed. But what bpipe had put in a failed producer's pipe
# (up to 64 KiB a start) is counted undelivered and not sent again. bpipe's books end at the
# clients' stdin: what a kcat had read when it failed is the broker's to tell (the topic's
# offsets), not bpipe's. Records go to ./kafka-TOPIC.stats.jsonl.
set -euo pipefail
broker=${1:?usage: kafka.sh BROKER:PORT TOPIC}
topic=${2:?usage: kafka.sh BROKER:PORT TOPIC}
spill=$(mktemp -d)
trap 'rm -rf "$spill"' EXIT
exec bpipe --workers 4 --restart --restart-max never --restart-backoff 30s \
  --spill "$spill" --spill-max 4GiB -N kafka-"$topic" \
  --stats-file kafka-"$topic".stats.jsonl --stats-format json --stats-interval 10s \
  -- kcat -P -b "$broker" -t "$topic" -X acks=all -X message.timeout.ms=60000
# What to watch (bpipectl top, or the stats file): undelivered_items (lines a worker never
# read: it died), workers[].failures and "exited" records (a client that keeps failing),
# taking_share near 0 (a stuck client), spill_depth_items (how far behind the broker is).
