#!/usr/bin/env bash
# Feed an MQTT topic through mosquitto_pub (Debian: apt-get install mosquitto-clients).
#
#   examples/mqtt.sh HOST PORT TOPIC < lines
#
# Traps of mosquitto_pub -l (mosquitto 2.0.11), measured by tests/brokers.rs:
# - At QoS 1 or 2 it exits 0 at the end of its input with what it has not had acknowledged
#   unsent: of 200 000 lines, 3 400 arrived. So this uses QoS 0, which on a link that stays
#   up delivers every line (1 000 000 of 1 000 000 through 4 workers).
# - It skips empty lines: they are counted out by bpipe and never published.
# - When the broker restarts, it reconnects, goes on reading, publishes nothing, and hangs
#   at the end of its input: --worker-exit-timeout stops it (bpipe's status is then 6). What
#   it read meanwhile is lost, and bpipe cannot know: the broker's own counters can.
# --rate keeps the clients from reading far ahead of what the broker takes.
set -euo pipefail
host=${1:?usage: mqtt.sh HOST PORT TOPIC}
port=${2:?usage: mqtt.sh HOST PORT TOPIC}
topic=${3:?usage: mqtt.sh HOST PORT TOPIC}
exec bpipe --workers 2 --rate 20000/s --restart --restart-max never \
  --worker-exit-timeout 10s -N mqtt-"$topic" --stats-format json \
  --stats-file mqtt-"$topic".stats.jsonl --stats-interval 10s \
  -- mosquitto_pub -h "$host" -p "$port" -t "$topic" -q 0 -l
