
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'bpipe' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'bpipe'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'bpipe' {
            [CompletionResult]::new('--cap', '--cap', [CompletionResultType]::ParameterName, 'Most items the queue holds, e.g. 64, 10k [default: 65536; --cap-bytes / 8 with --cap-bytes]')
            [CompletionResult]::new('-B', '-B ', [CompletionResultType]::ParameterName, 'Most bytes the queue holds, e.g. 512K, 64MiB [default: 16MiB]')
            [CompletionResult]::new('--cap-bytes', '--cap-bytes', [CompletionResultType]::ParameterName, 'Most bytes the queue holds, e.g. 512K, 64MiB [default: 16MiB]')
            [CompletionResult]::new('--buffer-size', '--buffer-size', [CompletionResultType]::ParameterName, 'Most bytes the queue holds, e.g. 512K, 64MiB [default: 16MiB]')
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'What to do with an item that finds the queue full')
            [CompletionResult]::new('--policy', '--policy', [CompletionResultType]::ParameterName, 'What to do with an item that finds the queue full')
            [CompletionResult]::new('--block-timeout', '--block-timeout', [CompletionResultType]::ParameterName, 'With block: hold the producer at most this long under pressure, e.g. 200ms')
            [CompletionResult]::new('--on-timeout', '--on-timeout', [CompletionResultType]::ParameterName, 'What --block-timeout falls back to')
            [CompletionResult]::new('--chunk', '--chunk', [CompletionResultType]::ParameterName, 'No framing: items are chunks of at most SIZE bytes, e.g. 64KiB')
            [CompletionResult]::new('--max-line', '--max-line', [CompletionResultType]::ParameterName, 'Most bytes one line may hold, e.g. 64KiB [default: 1MiB]')
            [CompletionResult]::new('-L', '-L ', [CompletionResultType]::ParameterName, 'Most items or bytes written per period: 1000/s counts lines, 2k/s or 10MiB/s bytes')
            [CompletionResult]::new('--rate', '--rate', [CompletionResultType]::ParameterName, 'Most items or bytes written per period: 1000/s counts lines, 2k/s or 10MiB/s bytes')
            [CompletionResult]::new('--rate-schedule', '--rate-schedule', [CompletionResultType]::ParameterName, '--rate by the time of day, e.g. ''08:00 1MiB/s, 18:00 off''')
            [CompletionResult]::new('--burst', '--burst', [CompletionResultType]::ParameterName, 'How much may go at once after an idle spell, e.g. 10 or 64KiB')
            [CompletionResult]::new('--max-age', '--max-age', [CompletionResultType]::ParameterName, 'Shed items that waited longer than this, e.g. 5s')
            [CompletionResult]::new('--keep', '--keep', [CompletionResultType]::ParameterName, 'Never shed items matching this regex (repeatable), e.g. ''ERROR|FATAL''')
            [CompletionResult]::new('--mark-drops', '--mark-drops', [CompletionResultType]::ParameterName, 'Write a marker line where items were shed [TEMPLATE: {items} {unit} {bytes} {policy} {name}]')
            [CompletionResult]::new('--dead-letter', '--dead-letter', [CompletionResultType]::ParameterName, 'Append shed items to FILE')
            [CompletionResult]::new('--dead-letter-max', '--dead-letter-max', [CompletionResultType]::ParameterName, 'Most bytes --dead-letter appends in one run, e.g. 1GiB')
            [CompletionResult]::new('--spill', '--spill', [CompletionResultType]::ParameterName, 'Spill to segment files in DIR when the queue is full and the consumer behind')
            [CompletionResult]::new('--spill-max', '--spill-max', [CompletionResultType]::ParameterName, 'Most bytes the spill holds on disk (at least 1MiB), e.g. 4GiB')
            [CompletionResult]::new('--stall-timeout', '--stall-timeout', [CompletionResultType]::ParameterName, 'Warn when the consumer takes nothing this long, e.g. 30s')
            [CompletionResult]::new('--on-stall', '--on-stall', [CompletionResultType]::ParameterName, 'What --stall-timeout does: warn, or fail (stop, status 5)')
            [CompletionResult]::new('--drain-timeout', '--drain-timeout', [CompletionResultType]::ParameterName, 'On SIGINT/SIGTERM/SIGHUP: time to write out the queue, e.g. 2s')
            [CompletionResult]::new('-N', '-N ', [CompletionResultType]::ParameterName, 'Label records, e.g. -N ingest')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Label records, e.g. -N ingest')
            [CompletionResult]::new('--control', '--control', [CompletionResultType]::ParameterName, 'Serve bpipectl at PATH [default: a private per-user directory]')
            [CompletionResult]::new('--stats-interval', '--stats-interval', [CompletionResultType]::ParameterName, 'Print a record every DURATION, e.g. 10s [default: at exit only]')
            [CompletionResult]::new('--stats-format', '--stats-format', [CompletionResultType]::ParameterName, 'Format of stats records: text lines, JSON Lines, or Prometheus text (with --stats-file, which it replaces at every record)')
            [CompletionResult]::new('--stats-file', '--stats-file', [CompletionResultType]::ParameterName, 'Append records to PATH instead of stderr (prometheus: replace), e.g. stats.jsonl')
            [CompletionResult]::new('--drops-exit', '--drops-exit', [CompletionResultType]::ParameterName, 'Exit with CODE if anything was dropped, e.g. 4')
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'Each item''s key: the first group of PATTERN, e.g. ''service=(\w+)''')
            [CompletionResult]::new('--key-field', '--key-field', [CompletionResultType]::ParameterName, 'Each item''s key: its Nth field (from 1), e.g. 1')
            [CompletionResult]::new('--field-sep', '--field-sep', [CompletionResultType]::ParameterName, 'With --key-field: one character that ends each field (as cut -d does), e.g. '','' or ''\t'' for a tab [default: runs of spaces and tabs, as awk does]')
            [CompletionResult]::new('--key-json', '--key-json', [CompletionResultType]::ParameterName, 'Each item''s key: the string field NAME of a JSON object, e.g. service')
            [CompletionResult]::new('--rate-per-key', '--rate-per-key', [CompletionResultType]::ParameterName, 'Most items or bytes of one key per period, e.g. 100/s; the rest is shed')
            [CompletionResult]::new('--burst-per-key', '--burst-per-key', [CompletionResultType]::ParameterName, 'How much of one key may come at once after a quiet spell [default: one period''s worth of --rate-per-key]')
            [CompletionResult]::new('--max-keys', '--max-keys', [CompletionResultType]::ParameterName, 'Most keys tracked; past that, the least recently seen key is folded into ''other'' [default: 10k]')
            [CompletionResult]::new('--top-keys', '--top-keys', [CompletionResultType]::ParameterName, 'How many keys records name, those that lost the most first (Prometheus labels too) [default: 10]')
            [CompletionResult]::new('--workers', '--workers', [CompletionResultType]::ParameterName, 'Feed N worker processes running CMD (after --), e.g. 4 or 1..8')
            [CompletionResult]::new('--scale-after', '--scale-after', [CompletionResultType]::ParameterName, 'With --workers MIN..MAX: how long the queue must stay over half full before one more worker starts [default: 1s]')
            [CompletionResult]::new('--idle-exit', '--idle-exit', [CompletionResultType]::ParameterName, 'With --workers MIN..MAX: a worker that has read all it was given and been given nothing for this long has its stdin closed and is retired, down to MIN [default: 10s]')
            [CompletionResult]::new('--restart-max', '--restart-max', [CompletionResultType]::ParameterName, 'With --restart: failures in a row after which a worker is not started again, or ''never'' to keep starting it (e.g. until a broker is back) [default: 10]')
            [CompletionResult]::new('--restart-backoff', '--restart-backoff', [CompletionResultType]::ParameterName, 'With --restart: the longest wait before a failed worker is started again (the wait doubles from 100 ms up to this) [default: 5s]')
            [CompletionResult]::new('--worker-exit-timeout', '--worker-exit-timeout', [CompletionResultType]::ParameterName, 'Once the input has ended, how long the workers have to take what they were given and exit; then they are stopped (SIGTERM, then SIGKILL 2 s later) and count failed: for a client that hangs instead of exiting (mosquitto_pub after its broker restarted) [default: no limit]')
            [CompletionResult]::new('-0', '-0', [CompletionResultType]::ParameterName, 'Items are NUL-terminated records instead of lines (e.g. from find -print0)')
            [CompletionResult]::new('--null', '--null', [CompletionResultType]::ParameterName, 'Items are NUL-terminated records instead of lines (e.g. from find -print0)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors: no live view, records or summary (records asked for with --stats-file are still written there)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors: no live view, records or summary (records asked for with --stats-file are still written there)')
            [CompletionResult]::new('--summary', '--summary', [CompletionResultType]::ParameterName, 'Print the final record even for a clean run')
            [CompletionResult]::new('--no-control', '--no-control', [CompletionResultType]::ParameterName, 'Serve no control socket: bpipectl can neither see nor change this bpipe')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'Draw the live status line even where bpipe would not')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never draw the live status line [default: drawn when stderr is a terminal]')
            [CompletionResult]::new('--fair', '--fair', [CompletionResultType]::ParameterName, 'When the policy sheds, shed from the key holding the most bytes: slide sheds its oldest item, drop the incoming item if it is that key''s, else that key''s newest. A quiet key keeps its items while a firehose pays. --keep still wins')
            [CompletionResult]::new('--restart', '--restart', [CompletionResultType]::ParameterName, 'Start a worker that failed (exited non-zero or by a signal other than SIGPIPE) again, after a back-off of 100 ms doubling up to --restart-backoff; after --restart-max failures in a row, no more')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
