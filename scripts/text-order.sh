#!/usr/bin/env bash
# Regenerates mactux-cli/text-order.ld, the order in which the linker places
# the runtime code that a task's start-up and common calls run: together, at
# the start of the text, so that they fault in as a few 64 KiB windows instead
# of being spread over the whole binary (docs/architecture.md, "Code layout").
#
# It builds the binary as the suite does, with a link map, single-steps
# `mactux run` of a few programs (scripts/text-order/stepper.c: every
# instruction the first process runs inside the mactux binary, in the order
# it first runs), and turns the addresses into input-section patterns
# (scripts/text-order/generate.py). Takes a few minutes; rerun it after large
# changes to the start-up path or a compiler upgrade. A stale order is only
# slower, never wrong.
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d)
trap 'MACTUX_STATE_DIR=$work/state "$work/mactux" daemon stop >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

cargo rustc --profile suite -p mactux-cli --bin mactux -- \
    -C panic=abort -C target-feature=+crt-static -C link-arg=-Wl,-z,pack-relative-relocs -C "link-arg=-Wl,-Map=$work/map"
cp target/suite/mactux "$work/mactux"
cc -O2 -Wall -o "$work/stepper" scripts/text-order/stepper.c
printf 'int main(void) { return 0; }\n' > "$work/true.c"
cc -O2 -static -o "$work/true-static" "$work/true.c"

export MACTUX_STATE_DIR=$work/state
# Without rewriting: a site being rewritten is an int3 for a moment, whose
# SIGTRAP the single-stepper cannot tell from its own steps (it would
# swallow it and the task would run into a half-written instruction).
export MACTUX_REWRITE=0
"$work/mactux" run /bin/true # starts the daemon outside the traced runs
i=0
for cmd in "/bin/true" "$work/true-static" "/bin/sh -c 'exec ls -l / >/dev/null'"; do
    i=$((i + 1))
    echo "text-order: stepping mactux run $cmd" >&2
    eval "\"$work/stepper\" \"$work/offsets.$i\" \"$work/mactux\" run $cmd"
done
python3 scripts/text-order/generate.py "$work/map" "$work/mactux" mactux-cli/text-order.ld "$work"/offsets.*
