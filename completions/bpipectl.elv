
use builtin;
use str;

set edit:completion:arg-completer[bpipectl] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'bpipectl'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'bpipectl'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand ls 'List this user''s running bpipes, one line each (not answering within 100 ms: said so)'
            cand top 'Every running bpipe in one live table, sorted by pressure, refreshed in place (q, Esc or ^C quits); rates over the last refresh. A bpipe that does not answer within 100 ms is shown so'
            cand stats 'Print a bpipe''s current record'
            cand set 'Change a limit at once: rate, burst, cap, cap-bytes, policy, block-timeout, on-timeout or max-age, each as its bpipe flag takes it (rate, max-age and block-timeout also take off)'
            cand pause 'Stop writing: the queue fills and the policy applies, as with a stalled consumer'
            cand resume 'Write again after a pause'
            cand stop 'Stop as on SIGTERM: stop reading, drain the queue, print the final record'
            cand tap 'Print a copy of the items going out now (lossy: a tap that reads slower than the pipe is dropped from, and the pipe never waits for it); the bpipe records what it copied and dropped when the tap ends'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'bpipectl;ls'= {
            cand --json 'One JSON object per bpipe, as `stats --json` gives it, with its pid'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'bpipectl;top'= {
            cand --interval 'Refresh every DURATION'
            cand --once 'Print one table as plain lines and exit (for scripts)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'bpipectl;stats'= {
            cand --json 'As --stats-format json gives it'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'bpipectl;set'= {
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'bpipectl;pause'= {
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'bpipectl;resume'= {
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'bpipectl;stop'= {
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'bpipectl;tap'= {
            cand --sample 'Copy this share of the items, e.g. 10% [default: all]'
            cand --count 'End after this many items'
            cand --rate 'Copy at most this many items a period, e.g. 100/s'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'bpipectl;help'= {
            cand ls 'List this user''s running bpipes, one line each (not answering within 100 ms: said so)'
            cand top 'Every running bpipe in one live table, sorted by pressure, refreshed in place (q, Esc or ^C quits); rates over the last refresh. A bpipe that does not answer within 100 ms is shown so'
            cand stats 'Print a bpipe''s current record'
            cand set 'Change a limit at once: rate, burst, cap, cap-bytes, policy, block-timeout, on-timeout or max-age, each as its bpipe flag takes it (rate, max-age and block-timeout also take off)'
            cand pause 'Stop writing: the queue fills and the policy applies, as with a stalled consumer'
            cand resume 'Write again after a pause'
            cand stop 'Stop as on SIGTERM: stop reading, drain the queue, print the final record'
            cand tap 'Print a copy of the items going out now (lossy: a tap that reads slower than the pipe is dropped from, and the pipe never waits for it); the bpipe records what it copied and dropped when the tap ends'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'bpipectl;help;ls'= {
        }
        &'bpipectl;help;top'= {
        }
        &'bpipectl;help;stats'= {
        }
        &'bpipectl;help;set'= {
        }
        &'bpipectl;help;pause'= {
        }
        &'bpipectl;help;resume'= {
        }
        &'bpipectl;help;stop'= {
        }
        &'bpipectl;help;tap'= {
        }
        &'bpipectl;help;help'= {
        }
    ]
    $completions[$command]
}
