
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'bpipectl' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'bpipectl'
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
        'bpipectl' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List this user''s running bpipes, one line each (not answering within 100 ms: said so)')
            [CompletionResult]::new('top', 'top', [CompletionResultType]::ParameterValue, 'Every running bpipe in one live table, sorted by pressure, refreshed in place (q, Esc or ^C quits); rates over the last refresh. A bpipe that does not answer within 100 ms is shown so')
            [CompletionResult]::new('stats', 'stats', [CompletionResultType]::ParameterValue, 'Print a bpipe''s current record')
            [CompletionResult]::new('set', 'set', [CompletionResultType]::ParameterValue, 'Change a limit at once: rate, burst, cap, cap-bytes, policy, block-timeout, on-timeout or max-age, each as its bpipe flag takes it (rate, max-age and block-timeout also take off)')
            [CompletionResult]::new('pause', 'pause', [CompletionResultType]::ParameterValue, 'Stop writing: the queue fills and the policy applies, as with a stalled consumer')
            [CompletionResult]::new('resume', 'resume', [CompletionResultType]::ParameterValue, 'Write again after a pause')
            [CompletionResult]::new('stop', 'stop', [CompletionResultType]::ParameterValue, 'Stop as on SIGTERM: stop reading, drain the queue, print the final record')
            [CompletionResult]::new('tap', 'tap', [CompletionResultType]::ParameterValue, 'Print a copy of the items going out now (lossy: a tap that reads slower than the pipe is dropped from, and the pipe never waits for it); the bpipe records what it copied and dropped when the tap ends')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'bpipectl;ls' {
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'One JSON object per bpipe, as `stats --json` gives it, with its pid')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'bpipectl;top' {
            [CompletionResult]::new('--interval', '--interval', [CompletionResultType]::ParameterName, 'Refresh every DURATION')
            [CompletionResult]::new('--once', '--once', [CompletionResultType]::ParameterName, 'Print one table as plain lines and exit (for scripts)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'bpipectl;stats' {
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'As --stats-format json gives it')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'bpipectl;set' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'bpipectl;pause' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'bpipectl;resume' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'bpipectl;stop' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'bpipectl;tap' {
            [CompletionResult]::new('--sample', '--sample', [CompletionResultType]::ParameterName, 'Copy this share of the items, e.g. 10% [default: all]')
            [CompletionResult]::new('--count', '--count', [CompletionResultType]::ParameterName, 'End after this many items')
            [CompletionResult]::new('--rate', '--rate', [CompletionResultType]::ParameterName, 'Copy at most this many items a period, e.g. 100/s')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'bpipectl;help' {
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List this user''s running bpipes, one line each (not answering within 100 ms: said so)')
            [CompletionResult]::new('top', 'top', [CompletionResultType]::ParameterValue, 'Every running bpipe in one live table, sorted by pressure, refreshed in place (q, Esc or ^C quits); rates over the last refresh. A bpipe that does not answer within 100 ms is shown so')
            [CompletionResult]::new('stats', 'stats', [CompletionResultType]::ParameterValue, 'Print a bpipe''s current record')
            [CompletionResult]::new('set', 'set', [CompletionResultType]::ParameterValue, 'Change a limit at once: rate, burst, cap, cap-bytes, policy, block-timeout, on-timeout or max-age, each as its bpipe flag takes it (rate, max-age and block-timeout also take off)')
            [CompletionResult]::new('pause', 'pause', [CompletionResultType]::ParameterValue, 'Stop writing: the queue fills and the policy applies, as with a stalled consumer')
            [CompletionResult]::new('resume', 'resume', [CompletionResultType]::ParameterValue, 'Write again after a pause')
            [CompletionResult]::new('stop', 'stop', [CompletionResultType]::ParameterValue, 'Stop as on SIGTERM: stop reading, drain the queue, print the final record')
            [CompletionResult]::new('tap', 'tap', [CompletionResultType]::ParameterValue, 'Print a copy of the items going out now (lossy: a tap that reads slower than the pipe is dropped from, and the pipe never waits for it); the bpipe records what it copied and dropped when the tap ends')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'bpipectl;help;ls' {
            break
        }
        'bpipectl;help;top' {
            break
        }
        'bpipectl;help;stats' {
            break
        }
        'bpipectl;help;set' {
            break
        }
        'bpipectl;help;pause' {
            break
        }
        'bpipectl;help;resume' {
            break
        }
        'bpipectl;help;stop' {
            break
        }
        'bpipectl;help;tap' {
            break
        }
        'bpipectl;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
