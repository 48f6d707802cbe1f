#!/usr/bin/env bash
# The modes and owners of host files that no test may change: /dev/null,
# /dev/zero, /dev/tty, /tmp and everything under /etc. The tests run as root,
# so a test that reaches a host file (an fchmod through an inherited fd once
# left /dev/null at mode 0200) damages the machine; .ci/run takes a snapshot
# before the suite and compares after it.
#
# usage: host-state.sh snapshot FILE    write the current state to FILE
#        host-state.sh compare FILE     exit 1, printing each difference, when
#                                       the current state differs from FILE
set -euo pipefail

# One line per path: octal mode (with setuid/setgid/sticky bits), uid, gid,
# file type, path. /etc is listed without crossing into other file systems.
state() {
    local p
    for p in /dev/null /dev/zero /dev/tty /tmp; do
        if [ -e "$p" ] || [ -L "$p" ]; then
            stat -c '%a %u %g %F %n' -- "$p"
        else
            echo "missing $p"
        fi
    done
    # Unreadable directories (when not run as root) are listed, not entered.
    { find /etc -xdev -printf '%m %U %G %y %p\n' 2>/dev/null || true; } | LC_ALL=C sort -k5
}

case "${1:-} ${2:+file}" in
"snapshot file")
    state > "$2"
    ;;
"compare file")
    work=$(mktemp -d "${TMPDIR:-/tmp}/host-state.XXXXXX")
    trap 'rm -rf "$work"' EXIT
    state > "$work/now"
    if ! diff -U0 "$2" "$work/now" > "$work/diff"; then
        echo "host files changed during the tests (- before, + after: mode uid gid type path):" >&2
        grep -v -e '^@@' -e '^---' -e '^+++' "$work/diff" >&2
        exit 1
    fi
    echo "host files unchanged (/dev/null, /dev/zero, /dev/tty, /tmp, /etc)"
    ;;
*)
    echo "usage: $0 snapshot FILE | compare FILE" >&2
    exit 2
    ;;
esac
