complete -c bpipe -l cap -d 'Most items the queue holds, e.g. 64, 10k [default: 65536; --cap-bytes / 8 with --cap-bytes]' -r -f
complete -c bpipe -s B -l cap-bytes -l buffer-size -d 'Most bytes the queue holds, e.g. 512K, 64MiB [default: 16MiB]' -r -f
complete -c bpipe -s p -l policy -d 'What to do with an item that finds the queue full' -r -f -a "block\t'Wait for room: the producer is held back. Lossless'
drop\t'Discard the incoming item (also: drop-new, drop-newest)'
slide\t'Discard the oldest queued item to make room (also: drop-old, drop-oldest)'
fail\t'Deliver what is queued, then exit with status 3'"
complete -c bpipe -l block-timeout -d 'With block: hold the producer at most this long under pressure, e.g. 200ms' -r -f
complete -c bpipe -l on-timeout -d 'What --block-timeout falls back to' -r -f -a "drop\t'Discard the incoming item (also: drop-new, drop-newest)'
slide\t'Discard the oldest queued item to make room (also: drop-old, drop-oldest)'
fail\t'Deliver what is queued, then exit with status 3'"
complete -c bpipe -l chunk -d 'No framing: items are chunks of at most SIZE bytes, e.g. 64KiB' -r -f
complete -c bpipe -l max-line -d 'Most bytes one line may hold, e.g. 64KiB [default: 1MiB]' -r -f
complete -c bpipe -s L -l rate -d 'Most items or bytes written per period: 1000/s counts lines, 2k/s or 10MiB/s bytes' -r -f
complete -c bpipe -l rate-schedule -d '--rate by the time of day, e.g. \'08:00 1MiB/s, 18:00 off\'' -r -f
complete -c bpipe -l burst -d 'How much may go at once after an idle spell, e.g. 10 or 64KiB' -r -f
complete -c bpipe -l max-age -d 'Shed items that waited longer than this, e.g. 5s' -r -f
complete -c bpipe -l keep -d 'Never shed items matching this regex (repeatable), e.g. \'ERROR|FATAL\'' -r -f
complete -c bpipe -l mark-drops -d 'Write a marker line where items were shed [TEMPLATE: {items} {unit} {bytes} {policy} {name}]' -r -f
complete -c bpipe -l dead-letter -d 'Append shed items to FILE' -r -F
complete -c bpipe -l dead-letter-max -d 'Most bytes --dead-letter appends in one run, e.g. 1GiB' -r -f
complete -c bpipe -l spill -d 'Spill to segment files in DIR when the queue is full and the consumer behind' -r -f -a "(__fish_complete_directories)"
complete -c bpipe -l spill-max -d 'Most bytes the spill holds on disk (at least 1MiB), e.g. 4GiB' -r -f
complete -c bpipe -l stall-timeout -d 'Warn when the consumer takes nothing this long, e.g. 30s' -r -f
complete -c bpipe -l on-stall -d 'What --stall-timeout does: warn, or fail (stop, status 5)' -r -f -a "warn\t'Say so once a stall'
fail\t'Stop as a closed output would, and exit with status 5'"
complete -c bpipe -l drain-timeout -d 'On SIGINT/SIGTERM/SIGHUP: time to write out the queue, e.g. 2s' -r -f
complete -c bpipe -s N -l name -d 'Label records, e.g. -N ingest' -r -f
complete -c bpipe -l control -d 'Serve bpipectl at PATH [default: a private per-user directory]' -r -F
complete -c bpipe -l stats-interval -d 'Print a record every DURATION, e.g. 10s [default: at exit only]' -r -f
complete -c bpipe -l stats-format -d 'Format of stats records: text lines, JSON Lines, or Prometheus text (with --stats-file, which it replaces at every record)' -r -f -a "text\t'One greppable line per record'
json\t'One JSON object per line'
prometheus\t'The Prometheus text format, the --stats-file replaced whole at every record (for node_exporter\'s textfile collector)'"
complete -c bpipe -l stats-file -d 'Append records to PATH instead of stderr (prometheus: replace), e.g. stats.jsonl' -r -F
complete -c bpipe -l drops-exit -d 'Exit with CODE if anything was dropped, e.g. 4' -r -f
complete -c bpipe -l key -d 'Each item\'s key: the first group of PATTERN, e.g. \'service=(\\w+)\'' -r -f
complete -c bpipe -l key-field -d 'Each item\'s key: its Nth field (from 1), e.g. 1' -r
complete -c bpipe -l field-sep -d 'With --key-field: one character that ends each field (as cut -d does), e.g. \',\' or \'\\t\' for a tab [default: runs of spaces and tabs, as awk does]' -r -f
complete -c bpipe -l key-json -d 'Each item\'s key: the string field NAME of a JSON object, e.g. service' -r -f
complete -c bpipe -l rate-per-key -d 'Most items or bytes of one key per period, e.g. 100/s; the rest is shed' -r -f
complete -c bpipe -l burst-per-key -d 'How much of one key may come at once after a quiet spell [default: one period\'s worth of --rate-per-key]' -r -f
complete -c bpipe -l max-keys -d 'Most keys tracked; past that, the least recently seen key is folded into \'other\' [default: 10k]' -r -f
complete -c bpipe -l top-keys -d 'How many keys records name, those that lost the most first (Prometheus labels too) [default: 10]' -r -f
complete -c bpipe -l workers -d 'Feed N worker processes running CMD (after --), e.g. 4 or 1..8' -r -f
complete -c bpipe -l scale-after -d 'With --workers MIN..MAX: how long the queue must stay over half full before one more worker starts [default: 1s]' -r -f
complete -c bpipe -l idle-exit -d 'With --workers MIN..MAX: a worker that has read all it was given and been given nothing for this long has its stdin closed and is retired, down to MIN [default: 10s]' -r -f
complete -c bpipe -l restart-max -d 'With --restart: failures in a row after which a worker is not started again, or \'never\' to keep starting it (e.g. until a broker is back) [default: 10]' -r -f
complete -c bpipe -l restart-backoff -d 'With --restart: the longest wait before a failed worker is started again (the wait doubles from 100 ms up to this) [default: 5s]' -r -f
complete -c bpipe -l worker-exit-timeout -d 'Once the input has ended, how long the workers have to take what they were given and exit; then they are stopped (SIGTERM, then SIGKILL 2 s later) and count failed: for a client that hangs instead of exiting (mosquitto_pub after its broker restarted) [default: no limit]' -r -f
complete -c bpipe -s 0 -l null -d 'Items are NUL-terminated records instead of lines (e.g. from find -print0)'
complete -c bpipe -s q -l quiet -d 'Print nothing on stderr but errors: no live view, records or summary (records asked for with --stats-file are still written there)'
complete -c bpipe -l summary -d 'Print the final record even for a clean run'
complete -c bpipe -l no-control -d 'Serve no control socket: bpipectl can neither see nor change this bpipe'
complete -c bpipe -l progress -d 'Draw the live status line even where bpipe would not'
complete -c bpipe -l no-progress -d 'Never draw the live status line [default: drawn when stderr is a terminal]'
complete -c bpipe -l fair -d 'When the policy sheds, shed from the key holding the most bytes: slide sheds its oldest item, drop the incoming item if it is that key\'s, else that key\'s newest. A quiet key keeps its items while a firehose pays. --keep still wins'
complete -c bpipe -l restart -d 'Start a worker that failed (exited non-zero or by a signal other than SIGPIPE) again, after a back-off of 100 ms doubling up to --restart-backoff; after --restart-max failures in a row, no more'
complete -c bpipe -s h -l help -d 'Print help (see more with \'--help\')'
complete -c bpipe -s V -l version -d 'Print version'
