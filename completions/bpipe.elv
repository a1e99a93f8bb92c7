
use builtin;
use str;

set edit:completion:arg-completer[bpipe] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'bpipe'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'bpipe'= {
            cand --cap 'Most items the queue holds, e.g. 64, 10k [default: 65536; --cap-bytes / 8 with --cap-bytes]'
            cand -B 'Most bytes the queue holds, e.g. 512K, 64MiB [default: 16MiB]'
            cand --cap-bytes 'Most bytes the queue holds, e.g. 512K, 64MiB [default: 16MiB]'
            cand --buffer-size 'Most bytes the queue holds, e.g. 512K, 64MiB [default: 16MiB]'
            cand -p 'What to do with an item that finds the queue full'
            cand --policy 'What to do with an item that finds the queue full'
            cand --block-timeout 'With block: hold the producer at most this long under pressure, e.g. 200ms'
            cand --on-timeout 'What --block-timeout falls back to'
            cand --chunk 'No framing: items are chunks of at most SIZE bytes, e.g. 64KiB'
            cand --max-line 'Most bytes one line may hold, e.g. 64KiB [default: 1MiB]'
            cand -L 'Most items or bytes written per period: 1000/s counts lines, 2k/s or 10MiB/s bytes'
            cand --rate 'Most items or bytes written per period: 1000/s counts lines, 2k/s or 10MiB/s bytes'
            cand --rate-schedule '--rate by the time of day, e.g. ''08:00 1MiB/s, 18:00 off'''
            cand --burst 'How much may go at once after an idle spell, e.g. 10 or 64KiB'
            cand --max-age 'Shed items that waited longer than this, e.g. 5s'
            cand --keep 'Never shed items matching this regex (repeatable), e.g. ''ERROR|FATAL'''
            cand --mark-drops 'Write a marker line where items were shed [TEMPLATE: {items} {unit} {bytes} {policy} {name}]'
            cand --dead-letter 'Append shed items to FILE'
            cand --dead-letter-max 'Most bytes --dead-letter appends in one run, e.g. 1GiB'
            cand --spill 'Spill to segment files in DIR when the queue is full and the consumer behind'
            cand --spill-max 'Most bytes the spill holds on disk (at least 1MiB), e.g. 4GiB'
            cand --stall-timeout 'Warn when the consumer takes nothing this long, e.g. 30s'
            cand --on-stall 'What --stall-timeout does: warn, or fail (stop, status 5)'
            cand --drain-timeout 'On SIGINT/SIGTERM/SIGHUP: time to write out the queue, e.g. 2s'
            cand -N 'Label records, e.g. -N ingest'
            cand --name 'Label records, e.g. -N ingest'
            cand --control 'Serve bpipectl at PATH [default: a private per-user directory]'
            cand --stats-interval 'Print a record every DURATION, e.g. 10s [default: at exit only]'
            cand --stats-format 'Format of stats records: text lines, JSON Lines, or Prometheus text (with --stats-file, which it replaces at every record)'
            cand --stats-file 'Append records to PATH instead of stderr (prometheus: replace), e.g. stats.jsonl'
            cand --drops-exit 'Exit with CODE if anything was dropped, e.g. 4'
            cand --key 'Each item''s key: the first group of PATTERN, e.g. ''service=(\w+)'''
            cand --key-field 'Each item''s key: its Nth field (from 1), e.g. 1'
            cand --field-sep 'With --key-field: one character that ends each field (as cut -d does), e.g. '','' or ''\t'' for a tab [default: runs of spaces and tabs, as awk does]'
            cand --key-json 'Each item''s key: the string field NAME of a JSON object, e.g. service'
            cand --rate-per-key 'Most items or bytes of one key per period, e.g. 100/s; the rest is shed'
            cand --burst-per-key 'How much of one key may come at once after a quiet spell [default: one period''s worth of --rate-per-key]'
            cand --max-keys 'Most keys tracked; past that, the least recently seen key is folded into ''other'' [default: 10k]'
            cand --top-keys 'How many keys records name, those that lost the most first (Prometheus labels too) [default: 10]'
            cand --workers 'Feed N worker processes running CMD (after --), e.g. 4 or 1..8'
            cand --scale-after 'With --workers MIN..MAX: how long the queue must stay over half full before one more worker starts [default: 1s]'
            cand --idle-exit 'With --workers MIN..MAX: a worker that has read all it was given and been given nothing for this long has its stdin closed and is retired, down to MIN [default: 10s]'
            cand --restart-max 'With --restart: failures in a row after which a worker is not started again, or ''never'' to keep starting it (e.g. until a broker is back) [default: 10]'
            cand --restart-backoff 'With --restart: the longest wait before a failed worker is started again (the wait doubles from 100 ms up to this) [default: 5s]'
            cand --worker-exit-timeout 'Once the input has ended, how long the workers have to take what they were given and exit; then they are stopped (SIGTERM, then SIGKILL 2 s later) and count failed: for a client that hangs instead of exiting (mosquitto_pub after its broker restarted) [default: no limit]'
            cand -0 'Items are NUL-terminated records instead of lines (e.g. from find -print0)'
            cand --null 'Items are NUL-terminated records instead of lines (e.g. from find -print0)'
            cand -q 'Print nothing on stderr but errors: no live view, records or summary (records asked for with --stats-file are still written there)'
            cand --quiet 'Print nothing on stderr but errors: no live view, records or summary (records asked for with --stats-file are still written there)'
            cand --summary 'Print the final record even for a clean run'
            cand --no-control 'Serve no control socket: bpipectl can neither see nor change this bpipe'
            cand --progress 'Draw the live status line even where bpipe would not'
            cand --no-progress 'Never draw the live status line [default: drawn when stderr is a terminal]'
            cand --fair 'When the policy sheds, shed from the key holding the most bytes: slide sheds its oldest item, drop the incoming item if it is that key''s, else that key''s newest. A quiet key keeps its items while a firehose pays. --keep still wins'
            cand --restart 'Start a worker that failed (exited non-zero or by a signal other than SIGPIPE) again, after a back-off of 100 ms doubling up to --restart-backoff; after --restart-max failures in a row, no more'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
    ]
    $completions[$command]
}
