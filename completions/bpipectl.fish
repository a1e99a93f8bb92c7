# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_bpipectl_global_optspecs
    string join \n h/help V/version
end

function __fish_bpipectl_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_bpipectl_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_bpipectl_using_subcommand
    set -l cmd (__fish_bpipectl_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c bpipectl -n "__fish_bpipectl_needs_command" -s h -l help -d 'Print help'
complete -c bpipectl -n "__fish_bpipectl_needs_command" -s V -l version -d 'Print version'
complete -c bpipectl -n "__fish_bpipectl_needs_command" -f -a "ls" -d 'List this user\'s running bpipes, one line each (not answering within 100 ms: said so)'
complete -c bpipectl -n "__fish_bpipectl_needs_command" -f -a "top" -d 'Every running bpipe in one live table, sorted by pressure, refreshed in place (q, Esc or ^C quits); rates over the last refresh. A bpipe that does not answer within 100 ms is shown so'
complete -c bpipectl -n "__fish_bpipectl_needs_command" -f -a "stats" -d 'Print a bpipe\'s current record'
complete -c bpipectl -n "__fish_bpipectl_needs_command" -f -a "set" -d 'Change a limit at once: rate, burst, cap, cap-bytes, policy, block-timeout, on-timeout or max-age, each as its bpipe flag takes it (rate, max-age and block-timeout also take off)'
complete -c bpipectl -n "__fish_bpipectl_needs_command" -f -a "pause" -d 'Stop writing: the queue fills and the policy applies, as with a stalled consumer'
complete -c bpipectl -n "__fish_bpipectl_needs_command" -f -a "resume" -d 'Write again after a pause'
complete -c bpipectl -n "__fish_bpipectl_needs_command" -f -a "stop" -d 'Stop as on SIGTERM: stop reading, drain the queue, print the final record'
complete -c bpipectl -n "__fish_bpipectl_needs_command" -f -a "tap" -d 'Print a copy of the items going out now (lossy: a tap that reads slower than the pipe is dropped from, and the pipe never waits for it); the bpipe records what it copied and dropped when the tap ends'
complete -c bpipectl -n "__fish_bpipectl_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c bpipectl -n "__fish_bpipectl_using_subcommand ls" -l json -d 'One JSON object per bpipe, as `stats --json` gives it, with its pid'
complete -c bpipectl -n "__fish_bpipectl_using_subcommand ls" -s h -l help -d 'Print help'
complete -c bpipectl -n "__fish_bpipectl_using_subcommand top" -l interval -d 'Refresh every DURATION' -r
complete -c bpipectl -n "__fish_bpipectl_using_subcommand top" -l once -d 'Print one table as plain lines and exit (for scripts)'
complete -c bpipectl -n "__fish_bpipectl_using_subcommand top" -s h -l help -d 'Print help'
complete -c bpipectl -n "__fish_bpipectl_using_subcommand stats" -l json -d 'As --stats-format json gives it'
complete -c bpipectl -n "__fish_bpipectl_using_subcommand stats" -s h -l help -d 'Print help'
complete -c bpipectl -n "__fish_bpipectl_using_subcommand set" -s h -l help -d 'Print help'
complete -c bpipectl -n "__fish_bpipectl_using_subcommand pause" -s h -l help -d 'Print help'
complete -c bpipectl -n "__fish_bpipectl_using_subcommand resume" -s h -l help -d 'Print help'
complete -c bpipectl -n "__fish_bpipectl_using_subcommand stop" -s h -l help -d 'Print help'
complete -c bpipectl -n "__fish_bpipectl_using_subcommand tap" -l sample -d 'Copy this share of the items, e.g. 10% [default: all]' -r
complete -c bpipectl -n "__fish_bpipectl_using_subcommand tap" -l count -d 'End after this many items' -r
complete -c bpipectl -n "__fish_bpipectl_using_subcommand tap" -l rate -d 'Copy at most this many items a period, e.g. 100/s' -r
complete -c bpipectl -n "__fish_bpipectl_using_subcommand tap" -s h -l help -d 'Print help'
complete -c bpipectl -n "__fish_bpipectl_using_subcommand help; and not __fish_seen_subcommand_from ls top stats set pause resume stop tap help" -f -a "ls" -d 'List this user\'s running bpipes, one line each (not answering within 100 ms: said so)'
complete -c bpipectl -n "__fish_bpipectl_using_subcommand help; and not __fish_seen_subcommand_from ls top stats set pause resume stop tap help" -f -a "top" -d 'Every running bpipe in one live table, sorted by pressure, refreshed in place (q, Esc or ^C quits); rates over the last refresh. A bpipe that does not answer within 100 ms is shown so'
complete -c bpipectl -n "__fish_bpipectl_using_subcommand help; and not __fish_seen_subcommand_from ls top stats set pause resume stop tap help" -f -a "stats" -d 'Print a bpipe\'s current record'
complete -c bpipectl -n "__fish_bpipectl_using_subcommand help; and not __fish_seen_subcommand_from ls top stats set pause resume stop tap help" -f -a "set" -d 'Change a limit at once: rate, burst, cap, cap-bytes, policy, block-timeout, on-timeout or max-age, each as its bpipe flag takes it (rate, max-age and block-timeout also take off)'
complete -c bpipectl -n "__fish_bpipectl_using_subcommand help; and not __fish_seen_subcommand_from ls top stats set pause resume stop tap help" -f -a "pause" -d 'Stop writing: the queue fills and the policy applies, as with a stalled consumer'
complete -c bpipectl -n "__fish_bpipectl_using_subcommand help; and not __fish_seen_subcommand_from ls top stats set pause resume stop tap help" -f -a "resume" -d 'Write again after a pause'
complete -c bpipectl -n "__fish_bpipectl_using_subcommand help; and not __fish_seen_subcommand_from ls top stats set pause resume stop tap help" -f -a "stop" -d 'Stop as on SIGTERM: stop reading, drain the queue, print the final record'
complete -c bpipectl -n "__fish_bpipectl_using_subcommand help; and not __fish_seen_subcommand_from ls top stats set pause resume stop tap help" -f -a "tap" -d 'Print a copy of the items going out now (lossy: a tap that reads slower than the pipe is dropped from, and the pipe never waits for it); the bpipe records what it copied and dropped when the tap ends'
complete -c bpipectl -n "__fish_bpipectl_using_subcommand help; and not __fish_seen_subcommand_from ls top stats set pause resume stop tap help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
